//! The one error type of the SOPS engine.
//!
//! Variants carry public context only: a key path (keys are cleartext in
//! every sops file), a line number, a group index, a field name. No variant
//! holds plaintext, key bytes, a share or a MAC value. Cryptographic failures
//! are deliberately coarse, but the four an operator must tell apart are
//! distinct: a value failing its tag ([`Error::ValueDecryption`]), the file
//! MAC not matching ([`Error::MacMismatch`]), no identity opening the data key
//! ([`Error::NoIdentityOpened`]) and too few key groups
//! ([`Error::NotEnoughKeyGroups`]).

use super::Format;
use crate::class::Class;
use crate::shares::ShamirError;

/// Why a sops operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input could not be parsed in the given format.
    #[error("cannot parse {format} input{}: {reason}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Parse {
        /// The format being read.
        format: Format,
        /// 1-based line, where known.
        line: Option<usize>,
        /// What the parser objected to (structure, never a value).
        reason: String,
    },
    /// A YAML file with no document at all: empty, or only comments (sops
    /// refuses it: "File cannot be completely empty", or "EOF").
    #[error(
        "the YAML input has no document (it is empty or only comments); sops 3.11 refuses such a file too"
    )]
    NoDocument,
    /// A document is not a mapping (sequences and scalars are refused).
    #[error("document {document} is not a mapping; sops files must be mappings at the top level")]
    NotAMapping {
        /// 0-based document index.
        document: usize,
    },
    /// A mapping key is not a string (sops exit 23).
    #[error("non-string key at line {line}; only string keys are supported")]
    NonStringKey {
        /// 1-based line.
        line: usize,
    },
    /// The same key appears twice in one mapping.
    #[error("duplicate key {key:?} at line {line}")]
    DuplicateKey {
        /// The key.
        key: KeyPath,
        /// 1-based line of the second occurrence.
        line: usize,
    },
    /// A value cannot be represented (for example an integer above i64::MAX,
    /// or a nested value in dotenv).
    #[error("unsupported value at {path:?}: {reason}")]
    UnsupportedValue {
        /// Key path joined with `:`.
        path: KeyPath,
        /// What is unsupported.
        reason: &'static str,
    },
    /// The plaintext already carries sops metadata (sops exit 203).
    #[error("the file is already encrypted (it has a sops metadata block)")]
    AlreadyEncrypted,
    /// No sops metadata block in an encrypted file.
    #[error("sops metadata not found")]
    MetadataNotFound,
    /// A metadata field is missing or malformed.
    #[error("invalid sops metadata field {field:?}: {reason}")]
    InvalidMetadata {
        /// Field name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The `version` field is not one sops can decrypt (spec §9).
    #[error("unsupported sops version {version:?} in metadata")]
    UnsupportedVersion {
        /// The recorded version.
        version: String,
    },
    /// More than one crypt rule is set.
    #[error("more than one of the encrypted/unencrypted suffix/regex rules is set")]
    ConflictingRules,
    /// A rule regex does not compile.
    #[error("invalid {rule}: {reason}")]
    InvalidRegex {
        /// Rule name.
        rule: &'static str,
        /// Compiler message about the pattern.
        reason: String,
    },
    /// No key group, or a group with no recipient.
    #[error("no master keys: at least one recipient per key group is needed")]
    NoKeys,
    /// A recipient string is not an age or ssh recipient, or not one
    /// that can be sealed to.
    #[error("recipient {index} of key group {group}: {why}")]
    InvalidRecipient {
        /// 0-based group.
        group: usize,
        /// 0-based recipient within the group.
        index: usize,
        /// What is wrong with it.
        why: super::RecipientError,
    },
    /// age refused to encrypt the data key.
    #[error("could not encrypt the data key with age")]
    KeyWrap,
    /// No identity opened any entry of the (single) key group.
    #[error("no identity could open the data key")]
    NoIdentityOpened,
    /// An age plugin (a hardware token) failed to seal or open the data key,
    /// or its program is not installed.
    #[error(transparent)]
    Plugin(#[from] crate::plugin::PluginError),
    /// Too few key groups opened for the Shamir threshold (sops exit 128).
    #[error(
        "only {recovered} key group(s) opened but {threshold} are needed; groups that failed: {failed_groups:?}"
    )]
    NotEnoughKeyGroups {
        /// Groups that opened.
        recovered: usize,
        /// Groups needed.
        threshold: usize,
        /// 0-based indices of the groups that did not open.
        failed_groups: Vec<usize>,
    },
    /// A group opened but its payload is not a share.
    #[error("key group {group} holds a malformed Shamir share")]
    InvalidShare {
        /// 0-based group.
        group: usize,
    },
    /// Shamir split or combination refused.
    #[error("Shamir: {0}")]
    Shamir(#[from] ShamirError),
    /// The recovered data key has the wrong length.
    #[error("data key has {len} bytes, expected 32")]
    DataKeyLength {
        /// Its length.
        len: usize,
    },
    /// Encrypting a value failed.
    #[error("value encryption failed")]
    Encryption,
    /// A value that should be encrypted is not an `ENC[…]` string.
    #[error("value at {path:?} is not a well-formed ENC[AES256_GCM,…] value")]
    MalformedEncryptedValue {
        /// Key path joined with `:`.
        path: KeyPath,
    },
    /// A value failed its AEAD tag: wrong key, moved or tampered (sops exit 25).
    #[error("value at {path:?} failed to decrypt (authentication failed)")]
    ValueDecryption {
        /// Key path joined with `:`.
        path: KeyPath,
    },
    /// An encrypted value has an unknown `type:`.
    #[error("value at {path:?} has unknown type {value_type:?}")]
    UnknownValueType {
        /// Key path.
        path: KeyPath,
        /// The type text.
        value_type: String,
    },
    /// A decrypted value does not parse as its `type:`.
    #[error("value at {path:?} does not parse as type {value_type}")]
    MalformedPlaintext {
        /// Key path.
        path: KeyPath,
        /// Its declared type.
        value_type: &'static str,
    },
    /// A leaf of the wrong kind where the walk needed another.
    #[error("unexpected leaf at {path:?}")]
    UnexpectedLeaf {
        /// Key path.
        path: KeyPath,
    },
    /// Under `unencrypted_comment_regex`, an encrypted comment would match.
    #[error("an encrypted comment at {path:?} matches unencrypted_comment_regex")]
    EncryptedCommentMatchesRule {
        /// Key path of the enclosing mapping.
        path: KeyPath,
    },
    /// The stored MAC could not be decrypted (wrong data key or a changed
    /// `lastmodified`; sops exit 51).
    #[error("cannot decrypt the file MAC (data key or lastmodified changed)")]
    MacUndecryptable,
    /// The file has no MAC at all (an empty or missing `mac`; sops shows
    /// "no MAC" and exits 51 unless told `--ignore-mac`).
    #[error(
        "the file has no MAC: nothing shows whether its values were changed, removed or reordered"
    )]
    MacMissing,
    /// The MAC does not match the content (sops exit 51).
    #[error("MAC mismatch: the file content was changed after it was encrypted")]
    MacMismatch,
    /// Opaque master keys (pgp, kms, …) cannot follow a new data key or new
    /// shares, and dropping them silently would remove someone's access.
    #[error("the file has {count} non-age master key(s) that this engine cannot re-encrypt")]
    OpaqueKeysNeedRewrap {
        /// How many such entries.
        count: usize,
    },
    /// A `.sops.yaml` is not valid YAML or not a mapping.
    #[error("{file}: not a valid sops configuration: {reason}")]
    ConfigSyntax {
        /// The configuration file.
        file: String,
        /// What is wrong (structure only).
        reason: String,
    },
    /// A field of a `.sops.yaml` creation rule is missing, mistyped or unknown.
    #[error("{file}: creation_rules[{rule}]: {field}: {reason}")]
    ConfigField {
        /// The configuration file.
        file: String,
        /// 0-based index of the rule in `creation_rules`.
        rule: usize,
        /// The field (for example `key_groups[1].age`).
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A creation rule names master keys of a type this engine cannot seal to.
    #[error(
        "{file}: creation_rules[{rule}] lists {key_type} keys; ceremony seals only to age recipients: \
         give this path a rule with age recipients only (or seal it with sops)"
    )]
    ConfigKeyType {
        /// The configuration file.
        file: String,
        /// 0-based index of the rule.
        rule: usize,
        /// The sops field (`pgp`, `kms`, …).
        key_type: String,
    },
    /// A `.sops.yaml` exists but none of its creation rules matches the file
    /// (sops: "no matching creation rules found").
    #[error(
        "{file}: no creation rule matches {path:?}; add a rule whose path_regex matches it, or pass the recipients on the command line"
    )]
    NoMatchingRule {
        /// The configuration file.
        file: String,
        /// The path as it was matched (relative to the configuration's directory).
        path: String,
    },
}

/// A key path (`data:password`) or key as an error names it: where in
/// the file the problem is, never what the value is. A key that looks like
/// private key material (an age identity pasted as a key, a dotenv line
/// holding only a key) is not shown, in `Display` or `Debug`: errors end
/// up in terminals, logs and transcripts.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPath(String);

impl KeyPath {
    /// The path as the file has it, for code that compares or looks it
    /// up; never for display.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn shown(&self) -> &str {
        if super::recipient::looks_private(&self.0) {
            "(a key that looks like a private key; not shown)"
        } else {
            &self.0
        }
    }
}

impl From<String> for KeyPath {
    fn from(path: String) -> Self {
        Self(path)
    }
}

impl From<&str> for KeyPath {
    fn from(path: &str) -> Self {
        Self(path.to_owned())
    }
}

impl PartialEq<str> for KeyPath {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for KeyPath {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.shown())
    }
}

impl std::fmt::Debug for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.shown(), f)
    }
}

impl Error {
    /// The class of this error, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::ValueDecryption { .. } => Class::ValueDecryption,
            Error::MacMismatch | Error::MacUndecryptable | Error::MacMissing => Class::MacMismatch,
            Error::NoIdentityOpened | Error::NotEnoughKeyGroups { .. } => Class::Decryption,
            // The metadata authenticates nothing by itself: a share that is
            // not a share, or a data key of the wrong size, means the file was
            // altered.
            Error::InvalidShare { .. } | Error::DataKeyLength { .. } | Error::Shamir(_) => {
                Class::Verification
            }
            Error::AlreadyEncrypted | Error::OpaqueKeysNeedRewrap { .. } => Class::Refused,
            Error::KeyWrap | Error::Encryption => Class::Internal,
            Error::Plugin(e) => e.class(),
            Error::Parse { .. }
            | Error::NotAMapping { .. }
            | Error::NoDocument
            | Error::NonStringKey { .. }
            | Error::DuplicateKey { .. }
            | Error::UnsupportedValue { .. }
            | Error::MetadataNotFound
            | Error::InvalidMetadata { .. }
            | Error::UnsupportedVersion { .. }
            | Error::ConflictingRules
            | Error::InvalidRegex { .. }
            | Error::NoKeys
            | Error::InvalidRecipient { .. }
            | Error::MalformedEncryptedValue { .. }
            | Error::UnknownValueType { .. }
            | Error::MalformedPlaintext { .. }
            | Error::UnexpectedLeaf { .. }
            | Error::EncryptedCommentMatchesRule { .. }
            | Error::ConfigSyntax { .. }
            | Error::ConfigField { .. }
            | Error::ConfigKeyType { .. }
            | Error::NoMatchingRule { .. } => Class::Input,
        }
    }

    /// What to do next, where there is one thing to do.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Error::MacMismatch | Error::MacUndecryptable => {
                "the sealed file was changed after it was sealed: restore it from version control and find out who changed it"
            }
            Error::MacMissing => {
                "if you trust where the file came from, open it with --ignore-mac (each value is still checked against its own tag), then seal it again to give it a MAC"
            }
            Error::ValueDecryption { .. } => {
                "that value was altered, moved to another key, or copied from another file: restore the file from version control"
            }
            Error::NoIdentityOpened | Error::NotEnoughKeyGroups { .. } => {
                "pass the identity the file is sealed to (-i FILE or SOPS_AGE_KEY_FILE)"
            }
            Error::MetadataNotFound => "the file is not sealed; there is nothing to open",
            Error::Plugin(e) => return e.hint(),
            Error::AlreadyEncrypted => {
                "the file is sealed already; use `bootstrap updatekeys` to change its recipients"
            }
            _ => return None,
        })
    }
}
