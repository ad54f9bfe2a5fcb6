//! A SOPS engine, byte-compatible with the files `sops` 3.11 reads and
//! writes, for age master keys.
//!
//! # The file model in a page
//!
//! (Full detail: `docs/sops-engine.md`; this is the sops `sops.go` package
//! doc redone for this crate.)
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
//!   share ([`keygroups`], [`recipient`]).
//! * All of that is recorded in a `sops` **metadata** block appended to the
//!   file ([`metadata`], wire form in `stores/wire.rs`). Master keys of
//!   types this crate does not use (pgp, kms, …) are kept verbatim.
//!
//! # API
//!
//! [`encrypt`], [`decrypt`], [`update_keys`], [`rotate`] (and
//! [`rotate_edited`], which changes the plaintext on the way) work on bytes and
//! never touch the file system; [`inspect`] needs no key. Decrypted output is
//! returned as [`SecretBytes`].
//!
//! # Security
//!
//! * Nothing secret appears in an [`Error`] or in `Debug` output.
//! * [`decrypt`] checks the MAC unless told [`MacCheck::Skip`]; every value
//!   is always checked against its own tag.
//! * The MAC covers *values*, not keys: renaming a key that the rule leaves
//!   in cleartext is not detected. This is sops' design, kept for
//!   compatibility; callers needing more must check structure themselves.

pub mod cipher;
pub mod config;
mod error;
pub mod keygroups;
pub mod mac;
pub mod metadata;
pub mod recipient;
pub mod rules;
pub mod stores;
pub mod tree;
mod walk;

use std::fmt;
use std::path::Path;

pub use error::{Error, KeyPath};
pub use keygroups::Identity;
pub use metadata::{AgeEntry, KeyGroup, Metadata, OpaqueKeys, SOPS_VERSION};
pub use recipient::{KeyGroups, KeyGroupsError, Recipient, RecipientError};
pub use rules::CryptRule;
pub use walk::LeafReport;

use crate::clock::Clock;
use crate::identity::Keyring;
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
    /// Who can open it. One group: every recipient alone. Two or more: the
    /// data key is Shamir-split across groups.
    pub key_groups: KeyGroups,
    /// The crypt rule; `None` gives sops' default (`_unencrypted` suffix).
    pub rule: Option<CryptRule>,
    /// MAC over encrypted values only (`--mac-only-encrypted`).
    pub mac_only_encrypted: bool,
}

impl EncryptOptions {
    /// These key groups, default rule.
    pub fn new(key_groups: KeyGroups) -> Self {
        Self {
            key_groups,
            rule: None,
            mac_only_encrypted: false,
        }
    }

    /// One key group of these recipients (each parsed), default rule.
    pub fn for_recipients<I, S>(recipients: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let parsed = recipients
            .into_iter()
            .enumerate()
            .map(|(index, r)| {
                Recipient::parse(r.as_ref()).map_err(|why| Error::InvalidRecipient {
                    group: 0,
                    index,
                    why,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(
            KeyGroups::single(parsed).map_err(|_| Error::NoKeys)?,
        ))
    }
}

/// How the stores lay out the files they write: `.sops.yaml`'s `stores:`
/// block (sops: `config/config.go` `StoresConfig`), read by
/// [`config::SopsConfig::stores`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// The YAML emitter's indent (`stores: yaml: indent:`; 4 by default, as
    /// `0` is too).
    pub yaml_indent: usize,
    /// The JSON indent: `None` for one tab per level (sops's `-1`, the
    /// default), `Some(n)` for `n` spaces (`stores: json: indent:`).
    pub json_indent: Option<usize>,
    /// The same for binary files, which are JSON when sealed
    /// (`stores: json_binary: indent:`).
    pub json_binary_indent: Option<usize>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            yaml_indent: stores::DEFAULT_YAML_INDENT,
            json_indent: None,
            json_binary_indent: None,
        }
    }
}

/// Whether opening a file checks its MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacCheck {
    /// Check it (always, unless the operator says otherwise out loud).
    Verify,
    /// Do not: the file's values are still checked against their own tags,
    /// but a removed, added or reordered value goes unnoticed.
    Skip,
}

/// Encrypts a plaintext file (sops `encrypt`).
pub fn encrypt(
    plain: &[u8],
    format: Format,
    opts: &EncryptOptions,
    clock: &dyn Clock,
) -> Result<Vec<u8>, Error> {
    encrypt_with(plain, format, opts, &StoreOptions::default(), clock)
}

/// [`encrypt`] with the layout a `.sops.yaml` asks for.
pub fn encrypt_with(
    plain: &[u8],
    format: Format,
    opts: &EncryptOptions,
    layout: &StoreOptions,
    clock: &dyn Clock,
) -> Result<Vec<u8>, Error> {
    let mut branches = stores::load_plain(format, plain)?;
    encrypt_tree_with(&mut branches, format, opts, layout, clock)
}

/// Encrypts an already parsed plaintext tree (see [`parse_plain`]).
pub fn encrypt_tree(
    branches: &mut [tree::Branch],
    format: Format,
    opts: &EncryptOptions,
    clock: &dyn Clock,
) -> Result<Vec<u8>, Error> {
    encrypt_tree_with(branches, format, opts, &StoreOptions::default(), clock)
}

/// [`encrypt_tree`] with the layout a `.sops.yaml` asks for.
pub fn encrypt_tree_with(
    branches: &mut [tree::Branch],
    format: Format,
    opts: &EncryptOptions,
    layout: &StoreOptions,
    clock: &dyn Clock,
) -> Result<Vec<u8>, Error> {
    // sops records no rule for binary files (cmd/sops/main.go
    // getEncryptConfig); the default suffix still applies on reading.
    let rule = match (&opts.rule, format) {
        (Some(r), _) => Some(r.clone()),
        (None, Format::Binary) => None,
        (None, _) => Some(CryptRule::default()),
    };
    let data_key = keygroups::generate_data_key();
    let (key_groups, shamir_threshold) = keygroups::seal_data_key(&data_key, &opts.key_groups)?;
    let mut meta = Metadata {
        key_groups,
        shamir_threshold,
        lastmodified: String::new(),
        mac: String::new(),
        rule,
        mac_only_encrypted: opts.mac_only_encrypted,
        version: SOPS_VERSION.to_string(),
    };
    seal_tree(branches, &data_key, &mut meta, clock)?;
    stores::emit_encrypted(format, branches, &meta.to_wire(), layout)
}

/// Parses a plaintext file into its tree. Fails with
/// [`Error::AlreadyEncrypted`] when the file carries sops metadata, which
/// makes this the "is it sealed already?" test too.
pub fn parse_plain(plain: &[u8], format: Format) -> Result<Vec<tree::Branch>, Error> {
    stores::load_plain(format, plain)
}

fn seal_tree(
    branches: &mut [tree::Branch],
    data_key: &SecretBytes,
    meta: &mut Metadata,
    clock: &dyn Clock,
) -> Result<(), Error> {
    let mac_hex = walk::encrypt_branches(
        branches,
        data_key,
        &meta.effective_rule(),
        meta.mac_only_encrypted,
    )?;
    meta.lastmodified = mac::lastmodified(clock);
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
    /// In a file of one key group, the entry that gave the data key and
    /// the identity that opened it.
    opened_by: Option<keygroups::OpenedBy>,
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

/// A sops file parsed and its metadata read, not yet opened: what a command
/// looks at (its recipients, its other master keys) before it decides what
/// to do with the file, so that deciding and doing read the file once.
pub struct SealedFile {
    format: Format,
    encrypted: Vec<tree::Branch>,
    meta: Metadata,
}

impl fmt::Debug for SealedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedFile")
            .field("format", &self.format)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

impl SealedFile {
    /// Parses a sops file and its metadata block. Fails with
    /// [`Error::MetadataNotFound`] on a file that has none.
    pub fn parse(input: &[u8], format: Format) -> Result<Self, Error> {
        let (encrypted, wire) = stores::load_encrypted(format, input)?;
        Ok(SealedFile {
            format,
            encrypted,
            meta: Metadata::from_wire(wire)?,
        })
    }

    /// The metadata block.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The age recipients per key group, in file order, as recorded.
    pub fn age_recipients(&self) -> Vec<Vec<String>> {
        self.meta
            .key_groups
            .iter()
            .map(|g| g.age.iter().map(|a| a.recipient.clone()).collect())
            .collect()
    }

    /// How many master keys of types this engine cannot use (pgp, kms, …)
    /// the file has, over all groups.
    pub fn opaque_key_count(&self) -> usize {
        self.meta.key_groups.iter().map(|g| g.opaque.len()).sum()
    }

    /// Opens the file: checks `version`, recovers the data key with
    /// `identities`, decrypts every value and (unless told
    /// [`MacCheck::Skip`]) checks the MAC.
    pub fn open(self, identities: &[Identity], mac_check: MacCheck) -> Result<OpenedFile, Error> {
        let SealedFile {
            encrypted, meta, ..
        } = self;
        meta.check_version()?;
        let (data_key, opened_by) = keygroups::open_data_key(&meta, identities)?;
        let mut plain = encrypted.clone();
        let computed_mac = walk::decrypt_branches(
            &mut plain,
            &data_key,
            &meta.effective_rule(),
            meta.mac_only_encrypted,
        )?;
        if mac_check == MacCheck::Verify {
            mac::verify_mac(&data_key, &meta.mac, &meta.lastmodified, &computed_mac)?;
        }
        Ok(OpenedFile {
            encrypted,
            plain,
            meta,
            data_key,
            opened_by,
            computed_mac,
        })
    }
}

/// Opens a sops file: [`SealedFile::parse`], then [`SealedFile::open`].
pub fn open_file(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    mac_check: MacCheck,
) -> Result<OpenedFile, Error> {
    SealedFile::parse(input, format)?.open(identities, mac_check)
}

/// Decrypts a sops file to its plaintext bytes (sops `decrypt`).
pub fn decrypt(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    mac_check: MacCheck,
) -> Result<SecretBytes, Error> {
    decrypt_with(
        input,
        format,
        identities,
        mac_check,
        &StoreOptions::default(),
    )
}

/// [`decrypt`] with the layout a `.sops.yaml` asks for (sops applies the
/// `stores:` block to what it prints, too).
pub fn decrypt_with(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    mac_check: MacCheck,
    layout: &StoreOptions,
) -> Result<SecretBytes, Error> {
    let opened = open_file(input, format, identities, mac_check)?;
    Ok(SecretBytes::new(stores::emit_plain(
        format,
        &opened.plain,
        layout,
    )?))
}

/// Re-encrypts the existing data key to a new set of key groups, leaving
/// every value, the MAC and `lastmodified` untouched (sops `updatekeys`):
/// [`SealedFile::update_keys`] on `input`.
pub fn update_keys(
    input: &[u8],
    format: Format,
    identities: &Keyring,
    key_groups: &KeyGroups,
    layout: &StoreOptions,
) -> Result<Vec<u8>, Error> {
    SealedFile::parse(input, format)?.update_keys(identities, key_groups, layout)
}

/// Generates a new data key, re-encrypts every value and the MAC under it,
/// and seals it to the same age recipients and groups (sops `rotate`).
/// Fails with [`Error::OpaqueKeysNeedRewrap`] if the file has master keys
/// this engine cannot re-encrypt.
pub fn rotate(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    clock: &dyn Clock,
) -> Result<Vec<u8>, Error> {
    rotate_to(
        input,
        format,
        identities,
        None,
        &StoreOptions::default(),
        clock,
    )
}

/// [`rotate`], sealing the new data key to `key_groups` instead of the
/// file's own groups (when given): [`SealedFile::rotate_to`] on `input`.
pub fn rotate_to(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    key_groups: Option<&KeyGroups>,
    layout: &StoreOptions,
    clock: &dyn Clock,
) -> Result<Vec<u8>, Error> {
    SealedFile::parse(input, format)?.rotate_to(identities, key_groups, layout, clock)
}

/// [`rotate_to`] with a change to the plaintext in between:
/// [`SealedFile::rotate_edited`] on `input`.
pub fn rotate_edited<E>(
    input: &[u8],
    format: Format,
    identities: &[Identity],
    key_groups: Option<&KeyGroups>,
    layout: &StoreOptions,
    clock: &dyn Clock,
    edit: impl FnOnce(&mut [tree::Branch]) -> Result<(), E>,
) -> Result<Vec<u8>, E>
where
    E: From<Error>,
{
    SealedFile::parse(input, format)?.rotate_edited(identities, key_groups, layout, clock, edit)
}

impl SealedFile {
    /// Re-encrypts the existing data key to a new set of key groups,
    /// leaving every value, the MAC and `lastmodified` untouched (sops
    /// `updatekeys`).
    ///
    /// The file is fully decrypted first so a wrong key or a tampered file
    /// is refused before anything is rewritten. Non-age master keys are
    /// kept verbatim when the file keeps a single group (they still encrypt
    /// the same data key); with several groups the shares change, so such
    /// keys make this fail with [`Error::OpaqueKeysNeedRewrap`] rather than
    /// be dropped.
    ///
    /// The entry that opened the file is kept as it is, not wrapped again,
    /// when its recipient stays and the identity that opened it is known
    /// (by `identities`) to answer to that recipient: it is then known to
    /// hold this data key for it. Every other entry is new. So adding a
    /// recipient changes one entry less in the file's history, and costs
    /// one key exchange less.
    pub fn update_keys(
        self,
        identities: &Keyring,
        key_groups: &KeyGroups,
        layout: &StoreOptions,
    ) -> Result<Vec<u8>, Error> {
        let format = self.format;
        let opened = self.open(identities, MacCheck::Verify)?;
        let mut meta = opened.meta;
        let opaque: Vec<OpaqueKeys> = meta.key_groups.iter().map(|g| g.opaque.clone()).collect();
        let proven = match (opened.opened_by, meta.key_groups.as_slice()) {
            // Sealed to that recipient alone, too: an entry whose age file
            // also has a stanza for someone else is wrapped anew.
            (Some(by), [group]) => group.age.get(by.entry).filter(|entry| {
                identities.public_key(by.identity) == Some(entry.recipient.as_str())
                    && keygroups::has_one_stanza(&entry.enc)
            }),
            _ => None,
        };
        let (mut groups, threshold) =
            keygroups::seal_data_key_keeping(&opened.data_key, key_groups, proven)?;
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
        stores::emit_encrypted(format, &opened.encrypted, &meta.to_wire(), layout)
    }

    /// Generates a new data key, re-encrypts every value and the MAC under
    /// it, and seals it to `key_groups`, or to the file's own recipients
    /// and groups when `None` (sops `rotate`). Sealing to other groups is
    /// what moving a file away from a recipient needs, since the recipient
    /// being removed could open the old data key and everything under it.
    /// Fails with [`Error::OpaqueKeysNeedRewrap`] if the file has master
    /// keys this engine cannot re-encrypt.
    pub fn rotate_to(
        self,
        identities: &[Identity],
        key_groups: Option<&KeyGroups>,
        layout: &StoreOptions,
        clock: &dyn Clock,
    ) -> Result<Vec<u8>, Error> {
        self.rotate_edited(identities, key_groups, layout, clock, |_| {
            Ok::<(), Error>(())
        })
    }

    /// [`SealedFile::rotate_to`] with a change to the plaintext in between:
    /// the file is opened (every tag and the MAC checked), `edit` changes
    /// the decrypted tree, and the result is sealed under a **new** data key
    /// with a new MAC and `lastmodified`, by the same code as every other
    /// rotation.
    ///
    /// This is how a value is replaced (`bootstrap set`): the new value
    /// never exists under the old data key, which whoever could read the
    /// old value may hold. `edit` sees plaintext, so its errors must not
    /// quote values; if it fails, nothing is sealed. What `edit` leaves in a
    /// leaf is encrypted or not by the file's own rule, as on any rotation:
    /// a caller that needs a leaf encrypted checks the result.
    pub fn rotate_edited<E>(
        self,
        identities: &[Identity],
        key_groups: Option<&KeyGroups>,
        layout: &StoreOptions,
        clock: &dyn Clock,
        edit: impl FnOnce(&mut [tree::Branch]) -> Result<(), E>,
    ) -> Result<Vec<u8>, E>
    where
        E: From<Error>,
    {
        let format = self.format;
        let opened = self.open(identities, MacCheck::Verify)?;
        let mut meta = opened.meta;
        let count: usize = meta.key_groups.iter().map(|g| g.opaque.len()).sum();
        if count > 0 {
            return Err(Error::OpaqueKeysNeedRewrap { count }.into());
        }
        let own;
        let groups = match key_groups {
            Some(groups) => groups,
            None => {
                let mut recipients = Vec::with_capacity(meta.key_groups.len());
                for (group, g) in meta.key_groups.iter().enumerate() {
                    let parsed =
                        g.age
                            .iter()
                            .enumerate()
                            .map(|(index, a)| {
                                Recipient::parse(&a.recipient)
                                    .map_err(|why| Error::InvalidRecipient { group, index, why })
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                    recipients.push(parsed);
                }
                own =
                    KeyGroups::new(recipients, meta.shamir_threshold).map_err(|_| Error::NoKeys)?;
                &own
            }
        };
        let mut branches = opened.plain;
        edit(&mut branches)?;
        let data_key = keygroups::generate_data_key();
        let (groups, threshold) = keygroups::seal_data_key(&data_key, groups)?;
        meta.key_groups = groups;
        meta.shamir_threshold = threshold;
        seal_tree(&mut branches, &data_key, &mut meta, clock)?;
        Ok(stores::emit_encrypted(
            format,
            &branches,
            &meta.to_wire(),
            layout,
        )?)
    }
}

/// What a sops file says about itself, read without any key.
#[derive(Clone, Debug)]
pub struct Inspection {
    /// The file's tree as stored: keys, cleartext values and `ENC[…]` text.
    pub tree: Vec<tree::Branch>,
    /// Every leaf in walk order, with its path and whether it is encrypted.
    pub leaves: Vec<LeafReport>,
    /// age recipients per key group, in file order, as recorded.
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
}

/// Lists leaves and recipients of an encrypted file without decrypting.
pub fn inspect(input: &[u8], format: Format) -> Result<Inspection, Error> {
    let sealed = SealedFile::parse(input, format)?;
    let age_recipients = sealed.age_recipients();
    let SealedFile {
        encrypted: branches,
        meta,
        ..
    } = sealed;
    let rule = meta.effective_rule();
    let mut walked = branches.clone();
    let leaves = walk::inspect_branches(&mut walked, &rule)?;
    Ok(Inspection {
        tree: branches,
        leaves,
        age_recipients,
        opaque_keys: meta.key_groups.iter().map(|g| g.opaque.len()).collect(),
        shamir_threshold: meta.shamir_threshold,
        rule: (rule.field().to_string(), rule.value().to_string()),
        version_supported: meta.check_version().is_ok(),
        lastmodified: meta.lastmodified,
        version: meta.version,
        mac_only_encrypted: meta.mac_only_encrypted,
    })
}

/// Lists the leaves of a plaintext tree as `rule` would treat them
/// (`encrypted` is always false).
pub fn inspect_plain(
    branches: &[tree::Branch],
    rule: &CryptRule,
) -> Result<Vec<LeafReport>, Error> {
    let mut walked = branches.to_vec();
    walk::inspect_branches(&mut walked, rule)
}
