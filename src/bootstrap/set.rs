//! `bootstrap set`: a new value for one item of a sealed Secret, without
//! the plaintext ever reaching the disk.
//!
//! Day N, a credential leak (design §7.8, `docs/runbooks/credential-leak.md`):
//! the credential is changed at its source, and its new value replaces the
//! old one in the sealed bootstrap file. The value arrives here as bytes in
//! a wiping buffer (the command line reads it from stdin or a hidden
//! prompt), is encoded as Kubernetes expects it (standard base64 under
//! `data`, as is under `stringData`), put into the decrypted tree, and the
//! file is sealed again by [`sops::rotate_edited`]: the one rotation
//! pipeline, so the file also gets a **new data key**. Whoever saw the old
//! value may have seen it through the old data key (a decrypted copy, a
//! process that held the key); the new value is never encrypted under it.
//!
//! What can be set is narrow on purpose: an **existing** key of a Secret
//! that is **its own YAML document** and is written out there, not reached
//! through a List or a YAML merge key (`<<`). In those cases the value
//! Kubernetes ends up with depends on more of the file than one entry, and
//! guessing wrong would leave the leaked value in place while reporting
//! success. Items are named as the handover names them
//! ([`ItemRef`], [`items::secret_documents`]), so `bootstrap set --item X`
//! and `handover challenge --item X` mean the same value.
//!
//! Before the file is replaced the result is read back: the item must be
//! encrypted by the file's rule, and the file must open (MAC checked) with
//! the same identities to exactly the new value. The file is replaced with
//! [`fsio::replace_if_unchanged`], keeping its mode; a file edited
//! meanwhile, a symbolic link or a file with other names (hard links,
//! which would keep the old content) is left as it was.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::class::Class;
use crate::clock::Clock;
use crate::fsio::{self, Cap};
use crate::handover::items::{self, Field, ItemError, ItemName, ItemRef};
use crate::identity::Identity;
use crate::secret::SecretBytes;
use crate::sops::tree::{Branch, Item, Value};
use crate::sops::{self, Format, MacCheck};

/// The key YAML merge keys are stored under.
const MERGE_KEY: &str = "<<";

/// Why an item cannot be set. Messages name Secrets, keys and documents
/// (cleartext in every sealed file), never a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// Not a format that holds Kubernetes objects.
    #[error("a {format} file holds no Kubernetes Secret; only YAML and JSON manifests can be set")]
    NotManifest {
        /// The file's format (by suffix).
        format: Format,
    },
    /// The file's Secrets cannot be read as handover items.
    #[error(transparent)]
    Items(#[from] ItemError),
    /// No Secret of that namespace and name.
    #[error("no Secret {secret} in this file ({})", holds(found))]
    SecretNotFound {
        /// The Secret asked for.
        secret: String,
        /// The Secrets the file holds.
        found: Vec<String>,
    },
    /// The Secret has no such key.
    #[error(
        "Secret {secret} has no key {key:?} (its keys: {}); set replaces the value of an existing key",
        keys.join(", ")
    )]
    KeyNotFound {
        /// The Secret.
        secret: String,
        /// The key asked for (at most 80 characters).
        key: String,
        /// Its keys.
        keys: Vec<String>,
    },
    /// The same Secret defined twice in the file.
    #[error("Secret {secret} is defined more than once in this file")]
    DefinedTwice {
        /// The Secret.
        secret: String,
    },
    /// The Secret is an item of a List.
    #[error(
        "Secret {secret} is {place} of a List; set edits only a Secret that is its own YAML document"
    )]
    InList {
        /// The Secret.
        secret: String,
        /// Where: `document 2, items[0]`.
        place: String,
    },
    /// A merge key decides part of the Secret.
    #[error(
        "Secret {secret}: {place} holds a YAML merge key (<<), so its values may come from elsewhere in the file; set does not guess which one Kubernetes gets"
    )]
    MergeKey {
        /// The Secret.
        secret: String,
        /// `the Secret`, `data`, `stringData`.
        place: &'static str,
    },
    /// The key is there, but only through a merge.
    #[error(
        "Secret {secret}: {field}.{key} comes from a YAML merge key (<<), not from the Secret itself; set does not edit what a merge provides"
    )]
    Merged {
        /// The Secret.
        secret: String,
        /// `data` or `stringData`.
        field: &'static str,
        /// The key.
        key: String,
    },
    /// The current value is not a string.
    #[error("item {id}: the current value is a {found}; Secret values must be strings")]
    NotAString {
        /// The item.
        id: String,
        /// Its type.
        found: &'static str,
    },
    /// An empty new value.
    #[error("the new value of {id} is empty")]
    Empty {
        /// The item.
        id: String,
    },
    /// A `stringData` value that is not text.
    #[error("the new value of {id} is not UTF-8 text, and {id} is under stringData")]
    NotUtf8 {
        /// The item.
        id: String,
    },
    /// A value too large to encode (beyond any input the command reads).
    #[error("the new value of {id} is too large to encode")]
    TooLarge {
        /// The item.
        id: String,
    },
    /// The new value is the one the file holds.
    #[error("the new value of {id} is the value the file already holds; nothing was written")]
    Unchanged {
        /// The item.
        id: String,
    },
    /// The file's rule would leave the new value in cleartext.
    #[error("the file's encryption rule leaves {id} in cleartext; the new value was not written")]
    LeftInClear {
        /// The item.
        id: String,
    },
    /// The rewritten file does not open to the new value.
    #[error(
        "the rewritten file does not read back with the new value of {id}; nothing was written"
    )]
    ReadBack {
        /// The item.
        id: String,
    },
    /// A symbolic link: replacing it would cut the link.
    #[error("a symbolic link; set replaces a file, which would cut the link")]
    Symlink,
    /// Other names would keep the old content.
    #[error(
        "has {} other name(s) (hard links): set would replace this name only, and the others would keep the old value",
        links.saturating_sub(1)
    )]
    HardLinked {
        /// How many names it has, this one included.
        links: u64,
    },
}

fn holds(found: &[String]) -> String {
    if found.is_empty() {
        "it holds no Secret".to_owned()
    } else {
        format!("it holds {}", found.join(", "))
    }
}

impl SetError {
    /// Its class, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            SetError::Unchanged { .. } | SetError::Symlink | SetError::HardLinked { .. } => {
                Class::Refused
            }
            SetError::ReadBack { .. } => Class::Internal,
            _ => Class::Input,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            SetError::SecretNotFound { .. } | SetError::KeyNotFound { .. } => {
                "name the item NAMESPACE/NAME/KEY: metadata.namespace (default if absent), metadata.name, and a key under data or stringData; they are readable in the sealed file"
            }
            SetError::InList { .. } => {
                "move the Secret into a YAML document of its own (after ---), seal it, then set"
            }
            SetError::MergeKey { .. } | SetError::Merged { .. } => {
                "write the Secret's fields out without <<, seal it, then set"
            }
            SetError::Empty { .. } => "give the new value on stdin or at the prompt",
            SetError::NotUtf8 { .. } => {
                "a stringData value is text; a binary value belongs under data"
            }
            SetError::Unchanged { .. } => {
                "change the credential at its source first, then set its new value"
            }
            SetError::LeftInClear { .. } => {
                "seal Secrets with encrypted_regex ^(data|stringData)$ (the default for a Secret without a .sops.yaml rule)"
            }
            SetError::Symlink => "name the file the link points to",
            SetError::HardLinked { .. } => {
                "remove the file's other names (find / -xdev -samefile FILE), then set"
            }
            _ => return None,
        })
    }
}

/// Why `bootstrap set` failed on a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file, or the item in it, cannot be set.
    #[error("{file}")]
    Item {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: SetError,
    },
    /// Reading, opening or writing the file, as for every bootstrap command.
    #[error(transparent)]
    Bootstrap(#[from] super::Error),
}

impl Error {
    /// Its class, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::Item { source, .. } => source.class(),
            Error::Bootstrap(e) => e.class(),
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Item { source, .. } => source.hint(),
            Error::Bootstrap(e) => e.hint(),
        }
    }

    fn item(file: &Path, source: SetError) -> Self {
        Error::Item {
            file: file.to_owned(),
            source,
        }
    }
}

impl From<fsio::FsError> for Error {
    fn from(e: fsio::FsError) -> Self {
        Error::Bootstrap(super::Error::Fs(e))
    }
}

/// Where an item sits in a file's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The item, with the field it is under.
    pub item: ItemName,
    /// 0-based YAML document.
    pub document: usize,
}

/// Finds `item` in a tree, sealed or decrypted (the structure is the same
/// cleartext in both): an existing key of a Secret that is its own
/// document, written out in it.
pub fn locate(branches: &[Branch], item: &ItemRef) -> Result<Located, SetError> {
    let docs = items::secret_documents(branches)?;
    let secret = item.secret.to_string();
    let mut matching = docs.iter().filter(|d| d.secret == item.secret);
    let (Some(doc), None) = (matching.next(), matching.next()) else {
        return Err(if docs.iter().any(|d| d.secret == item.secret) {
            SetError::DefinedTwice { secret }
        } else {
            SetError::SecretNotFound {
                secret,
                found: docs.iter().map(|d| d.secret.to_string()).collect(),
            }
        });
    };
    if !doc.location.items.is_empty() {
        return Err(SetError::InList {
            secret,
            place: format!(
                "document {}, {}",
                doc.document + 1,
                doc.location.item_path()
            ),
        });
    }
    let Some((name, _)) = doc.entries.iter().find(|(n, _)| n.key == item.key) else {
        return Err(SetError::KeyNotFound {
            secret,
            key: item.key.chars().take(80).collect(),
            keys: doc.entries.iter().map(|(n, _)| n.key.clone()).collect(),
        });
    };
    // The Secret's own entries only: what a merge provides is shared with
    // (or overridden by) another part of the file.
    let document = branches.get(doc.document).ok_or(SetError::SecretNotFound {
        secret: secret.clone(),
        found: Vec::new(),
    })?;
    if document.get(MERGE_KEY).is_some() {
        return Err(SetError::MergeKey {
            secret,
            place: "the Secret",
        });
    }
    let merged = || SetError::Merged {
        secret: secret.clone(),
        field: name.field.as_str(),
        key: name.key.clone(),
    };
    let Some(Value::Branch(values)) = document.get(name.field.as_str()) else {
        return Err(merged());
    };
    if values.get(MERGE_KEY).is_some() {
        return Err(SetError::MergeKey {
            secret,
            place: name.field.as_str(),
        });
    }
    if values.get(&name.key).is_none() {
        return Err(merged());
    }
    Ok(Located {
        item: name.clone(),
        document: doc.document,
    })
}

/// The item's value in a tree, where [`locate`] found it.
fn value_at<'a>(branches: &'a [Branch], at: &Located) -> Option<&'a Value> {
    match branches.get(at.document)?.get(at.item.field.as_str())? {
        Value::Branch(values) => values.get(&at.item.key),
        _ => None,
    }
}

fn value_at_mut<'a>(branches: &'a mut [Branch], at: &Located) -> Option<&'a mut Value> {
    let document = branches.get_mut(at.document)?;
    let field = first_entry_mut(document, at.item.field.as_str())?;
    let Value::Branch(values) = field else {
        return None;
    };
    first_entry_mut(values, &at.item.key)
}

/// The first entry named `key`, as [`Branch::get`] finds it.
fn first_entry_mut<'a>(branch: &'a mut Branch, key: &str) -> Option<&'a mut Value> {
    branch.items.iter_mut().find_map(|item| match item {
        Item::Entry { key: k, value } if k == key => Some(value),
        _ => None,
    })
}

/// The text the manifest holds for `value` under the item's field: standard
/// base64 for `data`, the text itself for `stringData`.
fn encoded(item: &ItemName, value: &SecretBytes) -> Result<SecretBytes, SetError> {
    let bytes = value.expose_secret();
    match item.field {
        Field::Data => {
            let too_large = || SetError::TooLarge { id: item.id() };
            let len = base64::encoded_len(bytes.len(), true).ok_or_else(too_large)?;
            // Encoded straight into a wiping buffer of exactly that size.
            let mut out = SecretBytes::new(vec![0u8; len]);
            let written = STANDARD
                .encode_slice(bytes, out.expose_secret_mut())
                .map_err(|_| too_large())?;
            if written != len {
                return Err(too_large());
            }
            Ok(out)
        }
        Field::StringData => {
            std::str::from_utf8(bytes).map_err(|_| SetError::NotUtf8 { id: item.id() })?;
            Ok(SecretBytes::from_slice(bytes))
        }
    }
}

/// Puts `value` (the bytes Kubernetes is to store) into a decrypted tree as
/// `item`'s new value. Refuses an empty value and the value already there.
pub fn set_value(
    branches: &mut [Branch],
    item: &ItemRef,
    value: &SecretBytes,
) -> Result<Located, SetError> {
    if value.is_empty() {
        return Err(SetError::Empty { id: item.id() });
    }
    let at = locate(branches, item)?;
    let id = at.item.id();
    let current = value_at(branches, &at).ok_or(SetError::ReadBack { id: id.clone() })?;
    if !matches!(current, Value::Str(_)) {
        return Err(SetError::NotAString {
            id,
            found: current.kind(),
        });
    }
    // A current `data` value that is not canonical base64 cannot equal
    // the new one; comparing only makes sense when it decodes.
    if let Ok(old) = items::value_bytes(&at.item, current) {
        if old.ct_eq(value) {
            return Err(SetError::Unchanged { id });
        }
    }
    let text = encoded(&at.item, value)?;
    let slot = value_at_mut(branches, &at).ok_or(SetError::ReadBack { id })?;
    *slot = Value::Str(text);
    Ok(at)
}

/// What [`set_in_place`] did.
#[derive(Debug)]
pub struct Set {
    /// The item, with the field it is under.
    pub item: ItemName,
    /// What the write found and did besides (leftovers of killed writes).
    pub written: fsio::Written,
}

/// The formats whose trees hold Kubernetes objects.
fn manifest_format(path: &Path) -> Result<Format, Error> {
    match Format::from_path(path) {
        format @ (Format::Yaml | Format::Json) => Ok(format),
        format => Err(Error::item(path, SetError::NotManifest { format })),
    }
}

fn refuse_link(path: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::item(path, SetError::Symlink)),
        // Anything else (missing, not a regular file) is said by the read.
        _ => Ok(()),
    }
}

/// Checks, without any key, that `path` is a sealed manifest in which
/// `item` can be set: what the command line asks before it reads a secret
/// or rebuilds a key.
pub fn check_file(path: &Path, item: &ItemRef) -> Result<Located, Error> {
    refuse_link(path)?;
    let format = manifest_format(path)?;
    let (sealed, stamp) = fsio::read_stamped(path, Cap::Manifest)?;
    if stamp.hard_links() > 1 {
        return Err(Error::item(
            path,
            SetError::HardLinked {
                links: stamp.hard_links(),
            },
        ));
    }
    let inspection = sops::inspect(&sealed, format).map_err(|e| super::Error::sops(path, e))?;
    locate(&inspection.tree, item).map_err(|e| Error::item(path, e))
}

/// Checks that `identities` open `path` (every tag and the MAC checked):
/// what the command line asks before it reads the new value, so a wrong
/// key fails before anyone types a secret. The plaintext is dropped at
/// once, in wiping buffers.
pub fn check_opens(path: &Path, identities: &[Identity]) -> Result<(), Error> {
    let format = manifest_format(path)?;
    let sealed = Zeroizing::new(fsio::read_input(path, Cap::Manifest)?);
    sops::open_file(&sealed, format, identities, MacCheck::Verify)
        .map(drop)
        .map_err(|e| Error::Bootstrap(super::Error::sops(path, e)))
}

/// The steps inside the rotation fail in two ways.
enum Step {
    Sops(sops::Error),
    Set(SetError),
}

impl From<sops::Error> for Step {
    fn from(e: sops::Error) -> Self {
        Step::Sops(e)
    }
}

/// Sets `item` of the sealed file `path` to `value` (the bytes Kubernetes
/// is to store), under a new data key, and replaces the file if the result
/// reads back. `identities` must open the file (and so the result, which
/// is sealed to the same recipients).
///
/// `layout` is how the rewritten file is laid out
/// ([`super::plan::layout_for`]).
pub fn set_in_place(
    path: &Path,
    item: &ItemRef,
    value: &SecretBytes,
    layout: &sops::StoreOptions,
    identities: &[Identity],
    clock: &dyn Clock,
) -> Result<Set, Error> {
    refuse_link(path)?;
    let format = manifest_format(path)?;
    let (sealed, stamp) = fsio::read_stamped(path, Cap::Manifest)?;
    let sealed = Zeroizing::new(sealed);
    if stamp.hard_links() > 1 {
        return Err(Error::item(
            path,
            SetError::HardLinked {
                links: stamp.hard_links(),
            },
        ));
    }
    let mut located = None;
    let updated = sops::rotate_edited(
        &sealed,
        format,
        identities,
        None,
        layout,
        clock,
        |branches| {
            located = Some(set_value(branches, item, value).map_err(Step::Set)?);
            Ok::<(), Step>(())
        },
    )
    .map_err(|step| match step {
        Step::Sops(e) => Error::Bootstrap(super::Error::sops(path, e)),
        Step::Set(e) => Error::item(path, e),
    })?;
    let at = located.ok_or_else(|| Error::item(path, SetError::ReadBack { id: item.id() }))?;
    read_back(&updated, format, identities, &at, value).map_err(|e| Error::item(path, e))?;
    let written = fsio::replace_if_unchanged(path, &updated, stamp)?;
    Ok(Set {
        item: at.item,
        written,
    })
}

/// The rewritten file holds the new value encrypted, and opens (MAC
/// checked) to exactly that value.
fn read_back(
    updated: &[u8],
    format: Format,
    identities: &[Identity],
    at: &Located,
    value: &SecretBytes,
) -> Result<(), SetError> {
    let id = at.item.id();
    let failed = || SetError::ReadBack { id: id.clone() };
    let inspection = sops::inspect(updated, format).map_err(|_| failed())?;
    let sealed = value_at(&inspection.tree, at).ok_or_else(failed)?;
    match items::check_sealed_value(&at.item, sealed) {
        Ok(()) => {}
        Err(ItemError::NotEncrypted { .. }) => return Err(SetError::LeftInClear { id }),
        Err(_) => return Err(failed()),
    }
    let opened =
        sops::open_file(updated, format, identities, MacCheck::Verify).map_err(|_| failed())?;
    let again = locate(
        opened.plaintext(),
        &ItemRef {
            secret: at.item.secret.clone(),
            key: at.item.key.clone(),
        },
    )
    .map_err(|_| failed())?;
    let plain = value_at(opened.plaintext(), &again).ok_or_else(failed)?;
    match items::value_bytes(&again.item, plain) {
        Ok(bytes) if again == *at && bytes.ct_eq(value) => Ok(()),
        _ => Err(failed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::sops::{EncryptOptions, KeyGroups, Recipient};

    const TWO_SECRETS: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
data:
  password: aHVudGVyMg==
stringData:
  user: admin
---
apiVersion: v1
kind: Secret
metadata:
  name: api
stringData:
  token: old-token
";

    fn key() -> (EncryptOptions, Vec<Identity>) {
        let id = age::x25519::Identity::generate();
        let recipient = Recipient::parse(&id.to_public().to_string()).unwrap();
        let mut opts = EncryptOptions::new(KeyGroups::single(vec![recipient]).unwrap());
        opts.rule = Some(super::super::seal::secret_rule());
        (opts, vec![Box::new(id)])
    }

    fn item(id: &str) -> ItemRef {
        ItemRef::parse(id).unwrap()
    }

    fn plain(yaml: &str) -> Vec<Branch> {
        sops::parse_plain(yaml.as_bytes(), Format::Yaml).unwrap()
    }

    fn value_of(branches: &[Branch], id: &str) -> Vec<u8> {
        let at = locate(branches, &item(id)).unwrap();
        items::value_bytes(&at.item, value_at(branches, &at).unwrap())
            .unwrap()
            .expose_secret()
            .to_vec()
    }

    #[test]
    fn data_is_base64_and_string_data_as_is() {
        let mut tree = plain(TWO_SECRETS);
        let at = set_value(
            &mut tree,
            &item("apps/db/password"),
            &SecretBytes::from_slice(b"new\x00pass\xff"),
        )
        .unwrap();
        assert_eq!(at.item.field, Field::Data);
        let Value::Str(text) = value_at(&tree, &at).unwrap() else {
            panic!("not a string")
        };
        assert_eq!(text.expose_secret(), b"bmV3AHBhc3P/");
        assert_eq!(value_of(&tree, "apps/db/password"), b"new\x00pass\xff");

        let at = set_value(
            &mut tree,
            &item("default/api/token"),
            &SecretBytes::from_slice("nöw\n".as_bytes()),
        )
        .unwrap();
        assert_eq!(at.item.field, Field::StringData);
        assert_eq!(value_of(&tree, "default/api/token"), "nöw\n".as_bytes());
        // The others are as they were.
        assert_eq!(value_of(&tree, "apps/db/user"), b"admin");
    }

    #[test]
    fn refusals_name_the_item_and_never_a_value() {
        let mut tree = plain(TWO_SECRETS);
        let new = SecretBytes::from_slice(b"s3cr3t-new");
        let err = |tree: &mut Vec<Branch>, id: &str, value: &SecretBytes| {
            let e = set_value(tree, &item(id), value).unwrap_err();
            let text = e.to_string();
            assert!(
                !text.contains("s3cr3t") && !text.contains("hunter2"),
                "{text}"
            );
            e
        };
        assert!(matches!(
            err(&mut tree, "apps/db/pasword", &new),
            SetError::KeyNotFound { keys, .. } if keys == ["password", "user"]
        ));
        assert_eq!(
            err(&mut tree, "apps/web/password", &new).to_string(),
            "no Secret apps/web in this file (it holds apps/db, default/api)"
        );
        assert!(matches!(
            err(
                &mut tree,
                "apps/db/password",
                &SecretBytes::from_slice(b"hunter2")
            ),
            SetError::Unchanged { .. }
        ));
        assert!(matches!(
            err(&mut tree, "apps/db/password", &SecretBytes::from_slice(b"")),
            SetError::Empty { .. }
        ));
        assert!(matches!(
            err(&mut tree, "apps/db/user", &SecretBytes::from_slice(b"\xff")),
            SetError::NotUtf8 { .. }
        ));
        assert_eq!(value_of(&tree, "apps/db/password"), b"hunter2");
    }

    #[test]
    fn lists_merge_keys_and_twins_are_refused() {
        let list = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: db\n    stringData:\n      password: a\n";
        assert_eq!(
            locate(&plain(list), &item("default/db/password"))
                .unwrap_err()
                .to_string(),
            "Secret default/db is document 1, items[0] of a List; set edits only a Secret that is its own YAML document"
        );
        let merged_field = "base: &base\n  password: a\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  <<: *base\n  user: b\n";
        let merged_field = plain(merged_field);
        assert!(matches!(
            locate(&merged_field, &item("default/db/password")),
            Err(SetError::MergeKey {
                place: "stringData",
                ..
            })
        ));
        // Even the explicit key: the mapping has a merge.
        assert!(matches!(
            locate(&merged_field, &item("default/db/user")),
            Err(SetError::MergeKey { .. })
        ));
        let merged_secret = "common: &common\n  stringData:\n    password: a\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n<<: *common\n";
        assert!(matches!(
            locate(&plain(merged_secret), &item("default/db/password")),
            Err(SetError::MergeKey {
                place: "the Secret",
                ..
            })
        ));
        let twice = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  k: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  k: b\n";
        assert!(matches!(
            locate(&plain(twice), &item("default/db/k")),
            Err(SetError::DefinedTwice { .. })
        ));
        let number = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  k: 5\n";
        assert!(matches!(
            set_value(
                &mut plain(number),
                &item("default/db/k"),
                &SecretBytes::from_slice(b"x")
            ),
            Err(SetError::NotAString { found: "int", .. })
        ));
    }

    #[test]
    fn a_set_file_opens_to_the_new_value_under_a_new_data_key() {
        let (opts, ids) = key();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.yaml");
        let sealed =
            sops::encrypt(TWO_SECRETS.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
        std::fs::write(&path, &sealed).unwrap();
        let before = sops::open_file(&sealed, Format::Yaml, &ids, MacCheck::Verify).unwrap();

        let located = check_file(&path, &item("apps/db/password")).unwrap();
        assert_eq!(located.item.field, Field::Data);
        let done = set_in_place(
            &path,
            &item("apps/db/password"),
            &SecretBytes::from_slice(b"rotated"),
            &sops::StoreOptions::default(),
            &ids,
            &SystemClock,
        )
        .unwrap();
        assert_eq!(done.item.id(), "apps/db/password");

        let after_bytes = std::fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&after_bytes).contains("rotated"));
        let after = sops::open_file(&after_bytes, Format::Yaml, &ids, MacCheck::Verify).unwrap();
        assert!(!after.data_key().ct_eq(before.data_key()), "a new data key");
        assert_eq!(value_of(after.plaintext(), "apps/db/password"), b"rotated");
        assert_eq!(value_of(after.plaintext(), "apps/db/user"), b"admin");
        assert_eq!(
            value_of(after.plaintext(), "default/api/token"),
            b"old-token"
        );
        // The same value again is refused, and the file is left alone.
        let again = set_in_place(
            &path,
            &item("apps/db/password"),
            &SecretBytes::from_slice(b"rotated"),
            &sops::StoreOptions::default(),
            &ids,
            &SystemClock,
        )
        .unwrap_err();
        assert!(matches!(
            again,
            Error::Item {
                source: SetError::Unchanged { .. },
                ..
            }
        ));
        assert_eq!(std::fs::read(&path).unwrap(), after_bytes);
    }

    #[test]
    fn a_rule_that_leaves_the_key_in_clear_is_refused_before_writing() {
        let (mut opts, ids) = key();
        // A .sops.yaml rule that encrypts data only: stringData stays in
        // clear (bootstrap verify flags such a file; set must not add to it).
        opts.rule = Some(sops::CryptRule::from_field("encrypted_regex", "^data$").unwrap());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.yaml");
        let sealed =
            sops::encrypt(TWO_SECRETS.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
        std::fs::write(&path, &sealed).unwrap();
        let e = set_in_place(
            &path,
            &item("apps/db/user"),
            &SecretBytes::from_slice(b"new-user"),
            &sops::StoreOptions::default(),
            &ids,
            &SystemClock,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Item {
                    source: SetError::LeftInClear { .. },
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), sealed);
        // Under that rule the data value is encrypted, and can be set.
        set_in_place(
            &path,
            &item("apps/db/password"),
            &SecretBytes::from_slice(b"new-password"),
            &sops::StoreOptions::default(),
            &ids,
            &SystemClock,
        )
        .unwrap();
    }

    #[test]
    fn a_file_whose_structure_is_encrypted_cannot_be_named_without_a_key() {
        let (mut opts, _) = key();
        // sops's default rule encrypts kind and metadata too.
        opts.rule = None;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.yaml");
        let sealed =
            sops::encrypt(TWO_SECRETS.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
        std::fs::write(&path, &sealed).unwrap();
        assert!(matches!(
            check_file(&path, &item("apps/db/password")),
            Err(Error::Item {
                source: SetError::Items(ItemError::EncryptedStructure { .. }),
                ..
            })
        ));
        let env = dir.path().join("db.env");
        std::fs::write(&env, "A=1\n").unwrap();
        assert!(matches!(
            check_file(&env, &item("apps/db/password")),
            Err(Error::Item {
                source: SetError::NotManifest {
                    format: Format::Dotenv
                },
                ..
            })
        ));
    }

    #[test]
    fn a_json_manifest_is_set_the_same_way() {
        let (opts, ids) = key();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.json");
        let manifest = r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "apps"}, "data": {"password": "aHVudGVyMg=="}}"#;
        let sealed = sops::encrypt(manifest.as_bytes(), Format::Json, &opts, &SystemClock).unwrap();
        std::fs::write(&path, &sealed).unwrap();
        set_in_place(
            &path,
            &item("apps/db/password"),
            &SecretBytes::from_slice(b"json-new"),
            &sops::StoreOptions::default(),
            &ids,
            &SystemClock,
        )
        .unwrap();
        let after = sops::open_file(
            &std::fs::read(&path).unwrap(),
            Format::Json,
            &ids,
            MacCheck::Verify,
        )
        .unwrap();
        assert_eq!(value_of(after.plaintext(), "apps/db/password"), b"json-new");
    }

    #[test]
    fn links_are_refused() {
        let (opts, ids) = key();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.yaml");
        let sealed =
            sops::encrypt(TWO_SECRETS.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
        std::fs::write(&path, &sealed).unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let new = SecretBytes::from_slice(b"rotated");
        let e = set_in_place(
            &link,
            &item("apps/db/password"),
            &new,
            &sops::StoreOptions::default(),
            &ids,
            &SystemClock,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Item {
                    source: SetError::Symlink,
                    ..
                }
            ),
            "{e}"
        );
        let hard = dir.path().join("hard.yaml");
        std::fs::hard_link(&path, &hard).unwrap();
        let e = set_in_place(
            &path,
            &item("apps/db/password"),
            &new,
            &sops::StoreOptions::default(),
            &ids,
            &SystemClock,
        )
        .unwrap_err();
        assert_eq!(
            crate::error::chain_text(&e),
            format!(
                "{}: has 1 other name(s) (hard links): set would replace this name only, and the others would keep the old value",
                path.display()
            )
        );
        assert_eq!(std::fs::read(&path).unwrap(), sealed);
    }
}
