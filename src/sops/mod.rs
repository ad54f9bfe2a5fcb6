//! A SOPS engine, byte-compatible with the files `sops` 3.11 reads and
//! writes, for age master keys.
//!
//! # The file model in a page
//!
//! (Full detail: `shared/specs/sops-format.md`; this is the sops `sops.go`
//! package doc redone for this crate.)
//!
//! * A file is parsed by a **store** (YAML, JSON, dotenv, INI or binary,
//!   chosen by suffix: [`Format::from_path`]) into **branches**: ordered
//!   mappings whose items are `key: value` entries or comments
//!   ([`tree`]). YAML gives one branch per document; the others one branch.
//! * Keys and structure stay in cleartext. Each **leaf** (string, int, float,
//!   bool, timestamp, comment) that the file's **crypt rule** selects
//!   ([`rules`]) is replaced by
//!   `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`: AES-256-GCM under the
//!   32-byte **data key**, with a fresh 32-byte nonce and the leaf's key path
//!   (`a:b:c:`) as additional data ([`cipher`]).
//! * A **MAC** (SHA-512 over the plaintext leaves in walk order, upper-case
//!   hex) is encrypted with the data key and the `lastmodified` stamp as
//!   additional data ([`mac`]). It detects changed, removed, added or
//!   reordered values; it does not cover key names (values are bound to their
//!   keys by their additional data instead).
//! * The data key is encrypted to every **age recipient**; with several
//!   **key groups** it is first split with Shamir and each group gets one
//!   share ([`keygroups`]).
//! * All of that is recorded in a `sops` **metadata** block appended to the
//!   file ([`metadata`], wire form in `stores/wire.rs`). Master keys of
//!   types this crate does not use (pgp, kms, …) are kept verbatim.
//!
//! # API
//!
//! [`encrypt`], [`decrypt`], [`update_keys`], [`rotate`] work on bytes and
//! never touch the file system; [`inspect`] needs no key. Decrypted output is
//! returned as [`SecretBytes`].
//!
//! # Security
//!
//! * Nothing secret appears in an [`Error`] or in `Debug` output.
//! * [`decrypt`] checks the MAC unless `ignore_mac` is set; every value is
//!   always checked against its own tag.
//! * The MAC covers *values*, not keys: renaming a key that the rule leaves
//!   in cleartext is not detected. This is sops' design, kept for
//!   compatibility; callers needing more must check structure themselves.

pub mod cipher;
pub mod config;
mod error;
pub mod keygroups;
pub mod kubernetes;
pub mod mac;
pub mod metadata;
pub mod rules;
pub mod stores;
pub mod tree;
mod walk;

use std::fmt;
use std::path::Path;

pub use error::Error;
pub use keygroups::{Identity, parse_identities};
pub use metadata::{AgeEntry, KeyGroup, Metadata, OpaqueKeys, SOPS_VERSION};
pub use rules::CryptRule;
pub use walk::LeafReport;

use crate::secret::SecretBytes;

/// A file format (sops: `cmd/sops/formats/formats.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.json`.
    Json,
    /// `.env`.
    Dotenv,
    /// `.ini`.
    Ini,
    /// Anything else: the whole file is one string.
    Binary,
}

impl Format {
    /// The format sops infers from a file name's suffix.
    pub fn from_path(path: &Path) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Format::Yaml
        } else if name.ends_with(".json") {
            Format::Json
        } else if name.ends_with(".env") {
            Format::Dotenv
        } else if name.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Ini => "INI",
            Format::Binary => "binary",
        })
    }
}

/// How to encrypt a file.
#[derive(Clone, Debug)]
pub struct EncryptOptions {
    /// age recipients per key group. One group: every recipient can decrypt
    /// alone. Two or more: the data key is Shamir-split across groups.
    pub key_groups: Vec<Vec<String>>,
    /// Groups needed to decrypt; 0 means all (only used with ≥ 2 groups).
    pub shamir_threshold: usize,
    /// The crypt rule; `None` gives sops' default (`_unencrypted` suffix).
    pub rule: Option<CryptRule>,
    /// MAC over encrypted values only (`--mac-only-encrypted`).
    pub mac_only_encrypted: bool,
}

impl EncryptOptions {
    /// One key group with these recipients, default rule.
    pub fn for_recipients<I, S>(recipients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            key_groups: vec![recipients.into_iter().map(Into::into).collect()],
            shamir_threshold: 0,
            rule: None,
            mac_only_encrypted: false,
        }
    }
}

/// Encrypts a plaintext file (sops `encrypt`).
pub fn encrypt(plain: &[u8], format: Format, opts: &EncryptOptions) -> Result<Vec<u8>, Error> {
    let mut branches = stores::load_plain(format, plain)?;
    // sops records no rule for binary files (cmd/sops/main.go
    // getEncryptConfig); the default suffix still applies on reading.
    let rule = match (&opts.rule, format) {
        (Some(r), _) => Some(r.clone()),
        (None, Format::Binary) => None,
        (None, _) => Some(CryptRule::default()),
    };
    let data_key = keygroups::generate_data_key();
    let (key_groups, shamir_threshold) =
        keygroups::seal_data_key(&data_key, &opts.key_groups, opts.shamir_threshold)?;
    let mut meta = Metadata {
        key_groups,
        shamir_threshold,
        lastmodified: String::new(),
        mac: String::new(),
        rule,
        mac_only_encrypted: opts.mac_only_encrypted,
        version: SOPS_VERSION.to_string(),
    };
    seal_tree(&mut branches, &data_key, &mut meta)?;
    stores::emit_encrypted(format, &branches, &meta.to_wire())
}

fn seal_tree(
    branches: &mut [tree::Branch],
    data_key: &SecretBytes,
    meta: &mut Metadata,
) -> Result<(), Error> {
    let mac_hex = walk::encrypt_branches(
        branches,
        data_key,
        &meta.effective_rule(),
        meta.mac_only_encrypted,
    )?;
    meta.lastmodified = mac::now_lastmodified()?;
    meta.mac = mac::seal_mac(data_key, &mac_hex, &meta.lastmodified)?;
    Ok(())
}

/// A sops file opened with its data key: the decrypted tree, the metadata,
/// the recovered data key and the MAC recomputed over the plaintext.
///
/// # Security
///
/// This holds the data key. It is for audits and known-answer tests (and for
/// operations built on top of them); drop it as soon as it is not needed.
pub struct OpenedFile {
    encrypted: Vec<tree::Branch>,
    plain: Vec<tree::Branch>,
    meta: Metadata,
    data_key: SecretBytes,
    computed_mac: zeroize::Zeroizing<String>,
}

impl fmt::Debug for OpenedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedFile")
            .field("meta", &self.meta)
            .field("data_key", &self.data_key)
            .finish_non_exhaustive()
    }
}

impl OpenedFile {
    /// The metadata block.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The recovered 32-byte data key.
    pub fn data_key(&self) -> &SecretBytes {
        &self.data_key
    }

    /// The MAC recomputed over the decrypted tree (upper-case hex).
    pub fn computed_mac(&self) -> &str {
        &self.computed_mac
    }

    /// The decrypted branches (one per YAML document).
    pub fn plaintext(&self) -> &[tree::Branch] {
        &self.plain
    }
}

/// Opens a sops file: loads the metadata, checks `version`, recovers the data
/// key with `identities`, decrypts every value and (unless `ignore_mac`)
/// checks the MAC.
pub fn open_file(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    ignore_mac: bool,
) -> Result<OpenedFile, Error> {
    let (encrypted, wire) = stores::load_encrypted(format, input)?;
    let meta = Metadata::from_wire(wire)?;
    meta.check_version()?;
    let data_key = keygroups::open_data_key(&meta, identities)?;
    let mut plain = encrypted.clone();
    let computed_mac = walk::decrypt_branches(
        &mut plain,
        &data_key,
        &meta.effective_rule(),
        meta.mac_only_encrypted,
    )?;
    if !ignore_mac {
        mac::verify_mac(&data_key, &meta.mac, &meta.lastmodified, &computed_mac)?;
    }
    Ok(OpenedFile {
        encrypted,
        plain,
        meta,
        data_key,
        computed_mac,
    })
}

/// Decrypts a sops file to its plaintext bytes (sops `decrypt`). With
/// `ignore_mac` the MAC is not checked (each value still is).
pub fn decrypt(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    ignore_mac: bool,
) -> Result<SecretBytes, Error> {
    let opened = open_file(input, format, identities, ignore_mac)?;
    Ok(SecretBytes::new(stores::emit_plain(format, &opened.plain)?))
}

/// Re-encrypts the existing data key to a new set of key groups, leaving
/// every value, the MAC and `lastmodified` untouched (sops `updatekeys`).
///
/// The file is fully decrypted first so a wrong key or a tampered file is
/// refused before anything is rewritten. Non-age master keys are kept
/// verbatim when the file keeps a single group (they still encrypt the same
/// data key); with several groups the shares change, so such keys make this
/// fail with [`Error::OpaqueKeysNeedRewrap`] rather than be dropped.
pub fn update_keys(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    key_groups: &[Vec<String>],
    shamir_threshold: usize,
) -> Result<Vec<u8>, Error> {
    let opened = open_file(input, format, identities, false)?;
    let mut meta = opened.meta;
    let opaque: Vec<OpaqueKeys> = meta.key_groups.iter().map(|g| g.opaque.clone()).collect();
    let (mut groups, threshold) =
        keygroups::seal_data_key(&opened.data_key, key_groups, shamir_threshold)?;
    match (opaque.as_slice(), groups.as_mut_slice()) {
        ([old], [new]) => new.opaque = old.clone(),
        (old, _) => {
            let count: usize = old.iter().map(OpaqueKeys::len).sum();
            if count > 0 {
                return Err(Error::OpaqueKeysNeedRewrap { count });
            }
        }
    }
    meta.key_groups = groups;
    meta.shamir_threshold = threshold;
    stores::emit_encrypted(format, &opened.encrypted, &meta.to_wire())
}

/// Generates a new data key, re-encrypts every value and the MAC under it,
/// and seals it to the same age recipients and groups (sops `rotate`).
/// Fails with [`Error::OpaqueKeysNeedRewrap`] if the file has master keys
/// this engine cannot re-encrypt.
pub fn rotate(input: &[u8], format: Format, identities: &[Identity]) -> Result<Vec<u8>, Error> {
    let opened = open_file(input, format, identities, false)?;
    let mut meta = opened.meta;
    let count: usize = meta.key_groups.iter().map(|g| g.opaque.len()).sum();
    if count > 0 {
        return Err(Error::OpaqueKeysNeedRewrap { count });
    }
    let recipients: Vec<Vec<String>> = meta
        .key_groups
        .iter()
        .map(|g| g.age.iter().map(|a| a.recipient.clone()).collect())
        .collect();
    let data_key = keygroups::generate_data_key();
    let (groups, threshold) =
        keygroups::seal_data_key(&data_key, &recipients, meta.shamir_threshold)?;
    meta.key_groups = groups;
    meta.shamir_threshold = threshold;
    let mut branches = opened.plain;
    seal_tree(&mut branches, &data_key, &mut meta)?;
    stores::emit_encrypted(format, &branches, &meta.to_wire())
}

/// What a sops file says about itself, read without any key.
#[derive(Clone, Debug)]
pub struct Inspection {
    /// Every leaf in walk order, with its path and whether it is encrypted.
    pub leaves: Vec<LeafReport>,
    /// age recipients per key group, in file order.
    pub age_recipients: Vec<Vec<String>>,
    /// Number of non-age master keys per group.
    pub opaque_keys: Vec<usize>,
    /// Shamir threshold recorded (0 if none).
    pub shamir_threshold: usize,
    /// The crypt rule's metadata field and value.
    pub rule: (String, String),
    /// `lastmodified` as written.
    pub lastmodified: String,
    /// `version` as written.
    pub version: String,
    /// Whether the MAC covers encrypted values only.
    pub mac_only_encrypted: bool,
    /// Whether sops would accept `version` when decrypting (spec §9).
    pub version_supported: bool,
    /// What each document is, from its cleartext `kind` and `apiVersion`.
    pub documents: Vec<kubernetes::ObjectKind>,
}

/// Lists leaves and recipients of an encrypted file without decrypting.
pub fn inspect(input: &[u8], format: Format) -> Result<Inspection, Error> {
    let (mut branches, wire) = stores::load_encrypted(format, input)?;
    let meta = Metadata::from_wire(wire)?;
    let rule = meta.effective_rule();
    let documents = kubernetes::classify_all(&branches);
    let leaves = walk::inspect_branches(&mut branches, &rule)?;
    Ok(Inspection {
        leaves,
        age_recipients: meta
            .key_groups
            .iter()
            .map(|g| g.age.iter().map(|a| a.recipient.clone()).collect())
            .collect(),
        opaque_keys: meta.key_groups.iter().map(|g| g.opaque.len()).collect(),
        shamir_threshold: meta.shamir_threshold,
        rule: (rule.field().to_string(), rule.value().to_string()),
        version_supported: meta.check_version().is_ok(),
        lastmodified: meta.lastmodified,
        version: meta.version,
        mac_only_encrypted: meta.mac_only_encrypted,
        documents,
    })
}

/// What a plaintext file holds, read without encrypting anything.
#[derive(Clone, Debug)]
pub struct PlainInspection {
    /// What each document is.
    pub documents: Vec<kubernetes::ObjectKind>,
    /// Every leaf in walk order; `rule_says_encrypted` is judged by the rule
    /// given to [`inspect_plain`] and `encrypted` is always false.
    pub leaves: Vec<LeafReport>,
}

/// Parses a plaintext file and lists its documents and leaves. Fails with
/// [`Error::AlreadyEncrypted`] when the file carries sops metadata, which
/// makes this the "is it sealed already?" test too.
pub fn inspect_plain(
    plain: &[u8],
    format: Format,
    rule: &CryptRule,
) -> Result<PlainInspection, Error> {
    let mut branches = stores::load_plain(format, plain)?;
    let documents = kubernetes::classify_all(&branches);
    let leaves = walk::inspect_branches(&mut branches, rule)?;
    Ok(PlainInspection { documents, leaves })
}
