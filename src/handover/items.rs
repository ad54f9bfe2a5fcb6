//! Bootstrap Secrets as handover items, and the commitment to one item's value.
//!
//! A sealed bootstrap file is a multi-document YAML file in which SOPS
//! encrypted only the values under `data` and `stringData`
//! (`encrypted_regex: ^(data|stringData)$`). Everything else, including each
//! key name under those two fields, stays in cleartext, so the items of a
//! handover can be listed without any key. The same walk over the decrypted
//! tree gives each item's value, from which [`commit`] makes the commitment a
//! receipt carries.
//!
//! An item is one key of one Secret, named `namespace/name/key`. Names are
//! checked against the Kubernetes rules (namespace: DNS label; name: DNS
//! subdomain; key: `[-._a-zA-Z0-9]+`), which contain no `/`, so an id splits
//! back into its three parts in exactly one way.
//!
//! The value bytes committed to are the bytes Kubernetes stores in the
//! Secret and the runtime authority receives: for `data`, the standard base64
//! text decoded; for `stringData`, the string's UTF-8 bytes. See
//! `docs/handover.md` §4.

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::kube::{self, Mapping, ObjectKind};
use crate::secret::SecretBytes;
use crate::sops::cipher::EncryptedValue;
use crate::sops::tree::{Branch, Value};

/// The namespace Kubernetes gives a Secret whose manifest names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Which field of the Secret an item sits under; it decides the value bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Field {
    /// `data`: the value is standard base64 of the bytes.
    #[serde(rename = "data")]
    Data,
    /// `stringData`: the value is the string itself.
    #[serde(rename = "stringData")]
    StringData,
}

impl Field {
    /// The manifest's field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Data => "data",
            Field::StringData => "stringData",
        }
    }
}

/// A Secret by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretName {
    /// The namespace.
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl SecretName {
    /// Parses `namespace/name` as given on the command line.
    pub fn parse(text: &str) -> Result<Self, ItemError> {
        let (namespace, name) = text
            .split_once('/')
            .ok_or_else(|| ItemError::BadSecretName {
                text: text.to_owned(),
            })?;
        check_namespace(namespace)?;
        check_name(name)?;
        Ok(Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// One item: a key of a Secret, and the field it sits under.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemName {
    /// The Secret.
    pub secret: SecretName,
    /// The key under `data` or `stringData`.
    pub key: String,
    /// Which of the two.
    pub field: Field,
}

impl ItemName {
    /// `namespace/name/key`.
    pub fn id(&self) -> String {
        item_id(&self.secret.namespace, &self.secret.name, &self.key)
    }
}

/// An item as the operator names it, `namespace/name/key`: which field it
/// sits under is the file's business, found when the item is looked up.
/// `bootstrap set --item` and `handover challenge --item` both read this,
/// so the two commands name an item the same way.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemRef {
    /// The Secret.
    pub secret: SecretName,
    /// The key under `data` or `stringData`.
    pub key: String,
}

impl ItemRef {
    /// Parses `namespace/name/key`, each part checked against Kubernetes'
    /// rules. None of them may contain `/`, so the split is unambiguous.
    pub fn parse(text: &str) -> Result<Self, ItemError> {
        let bad = || ItemError::BadItemName {
            text: text.chars().take(80).collect(),
        };
        let mut parts = text.split('/');
        let (Some(namespace), Some(name), Some(key), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        check_namespace(namespace)?;
        check_name(name)?;
        let secret = SecretName {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        check_key(&secret, key)?;
        Ok(Self {
            secret,
            key: key.to_owned(),
        })
    }

    /// `namespace/name/key`.
    pub fn id(&self) -> String {
        item_id(&self.secret.namespace, &self.secret.name, &self.key)
    }
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

/// `namespace/name/key`.
pub fn item_id(namespace: &str, name: &str, key: &str) -> String {
    format!("{namespace}/{name}/{key}")
}

/// A Secret document found in a tree, with its entries still in tree form.
#[derive(Debug)]
pub struct SecretDocument<'a> {
    /// 0-based YAML document index in its file.
    pub document: usize,
    /// Where it sits: a document of its own (no `items`), or an item of a
    /// List (what `bootstrap set` refuses to edit).
    pub location: kube::Location,
    /// Namespace and name.
    pub secret: SecretName,
    /// Each key under `data`, then under `stringData`, in file order.
    pub entries: Vec<(ItemName, &'a Value)>,
}

/// Why a manifest's Secrets cannot be handed over.
///
/// Messages name documents, Secrets and keys (cleartext in every sealed
/// file), never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// `kind` or `metadata` is encrypted, so the Secret cannot be named
    /// without a key.
    #[error(
        "document {document}: `{field}` is encrypted; seal Secrets with encrypted_regex ^(data|stringData)$ so that kind and metadata stay readable"
    )]
    EncryptedStructure {
        /// 0-based document index.
        document: usize,
        /// The field.
        field: &'static str,
    },
    /// A Secret without `metadata.name`.
    #[error("document {document}: a Secret without metadata.name")]
    MissingName {
        /// 0-based document index.
        document: usize,
    },
    /// A field that must be a string or mapping is something else.
    #[error("document {document}: `{field}` must be a {expected}, found {found}")]
    WrongShape {
        /// 0-based document index.
        document: usize,
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A namespace that is not a Kubernetes DNS label.
    #[error("namespace {found:?} is not a Kubernetes namespace (lowercase DNS label)")]
    BadNamespace {
        /// The text.
        found: String,
    },
    /// A name that is not a Kubernetes DNS subdomain.
    #[error("Secret name {found:?} is not a Kubernetes object name (lowercase DNS subdomain)")]
    BadName {
        /// The text.
        found: String,
    },
    /// A key that Kubernetes would refuse.
    #[error("Secret {secret}: key {key:?} is not a valid Secret key ([-._a-zA-Z0-9]+)")]
    BadKey {
        /// The Secret.
        secret: String,
        /// The key.
        key: String,
    },
    /// `namespace/name` expected.
    #[error("{text:?} is not NAMESPACE/NAME")]
    BadSecretName {
        /// What was given.
        text: String,
    },
    /// `namespace/name/key` expected.
    #[error("{text:?} is not NAMESPACE/NAME/KEY")]
    BadItemName {
        /// What was given (at most 80 characters).
        text: String,
    },
    /// The same Secret twice.
    #[error("Secret {secret} appears twice")]
    DuplicateSecret {
        /// The Secret.
        secret: String,
    },
    /// The same item twice (in one Secret under both fields, or in two files).
    #[error("item {id} appears twice")]
    DuplicateItem {
        /// The item id.
        id: String,
    },
    /// A Secret with nothing to hand over.
    #[error("Secret {secret} has no keys under data or stringData; there is nothing to hand over")]
    EmptySecret {
        /// The Secret.
        secret: String,
    },
    /// A sealed file holds a value in cleartext.
    #[error(
        "item {id} is in cleartext in the sealed file; every non-empty value must be encrypted before it is handed over"
    )]
    NotEncrypted {
        /// The item id.
        id: String,
    },
    /// A decrypted file still holds an encrypted value.
    #[error("item {id} is still encrypted; give the decrypted manifests")]
    StillEncrypted {
        /// The item id.
        id: String,
    },
    /// A value that is not a string (Kubernetes Secret values are strings).
    #[error("item {id}: the value is a {found}; Secret values must be strings")]
    NotAString {
        /// The item id.
        id: String,
        /// Its type.
        found: &'static str,
    },
    /// A `data` value that is not canonical standard base64.
    #[error("item {id}: the data value is not canonical standard base64 (RFC 4648, padded)")]
    DataNotBase64 {
        /// The item id.
        id: String,
    },
}

/// Kubernetes: namespaces are RFC 1123 DNS labels.
pub fn check_namespace(text: &str) -> Result<(), ItemError> {
    kube::check_namespace(text).map_err(|_| ItemError::BadNamespace {
        found: text.chars().take(80).collect(),
    })
}

/// Kubernetes: Secret names are RFC 1123 DNS subdomains.
pub fn check_name(text: &str) -> Result<(), ItemError> {
    kube::check_name(text).map_err(|_| ItemError::BadName {
        found: text.chars().take(80).collect(),
    })
}

/// Kubernetes: Secret keys match `[-._a-zA-Z0-9]+`, at most 253 bytes, and
/// are not `.` or `..`.
pub fn check_key(secret: &SecretName, key: &str) -> Result<(), ItemError> {
    kube::check_secret_key(key).map_err(|_| ItemError::BadKey {
        secret: secret.to_string(),
        key: key.chars().take(80).collect(),
    })
}

fn text_of(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Str(s) => Some(s.expose_secret()),
        _ => None,
    }
}

/// A cleartext string field of the manifest (name, namespace).
fn structure_text<'a>(
    document: usize,
    field: &'static str,
    value: &'a Value,
) -> Result<&'a str, ItemError> {
    let bytes = text_of(value).ok_or(ItemError::WrongShape {
        document,
        field,
        expected: "string",
        found: value.kind(),
    })?;
    if EncryptedValue::parse(bytes).is_some() {
        return Err(ItemError::EncryptedStructure { document, field });
    }
    std::str::from_utf8(bytes).map_err(|_| ItemError::WrongShape {
        document,
        field,
        expected: "UTF-8 string",
        found: "binary",
    })
}

/// Finds every Secret in a file ([`crate::kube::objects`]: documents, the
/// items of Lists, merge keys applied). Objects of other kinds are not part
/// of a handover and are skipped; an object whose kind is encrypted cannot
/// be named without a key and is refused.
pub fn secret_documents(branches: &[Branch]) -> Result<Vec<SecretDocument<'_>>, ItemError> {
    let mut out = Vec::new();
    for object in kube::objects(branches) {
        let document = object.location.document;
        match object.kind {
            ObjectKind::Secret => {}
            ObjectKind::Hidden => {
                return Err(ItemError::EncryptedStructure {
                    document,
                    field: "kind",
                });
            }
            _ => continue,
        }
        let metadata = match object.fields.get("metadata") {
            Some(Value::Branch(m)) => Mapping::new(m),
            Some(other) => {
                // An encrypted metadata block is a string ENC[…] here.
                if text_of(other).is_some_and(|t| EncryptedValue::parse(t).is_some()) {
                    return Err(ItemError::EncryptedStructure {
                        document,
                        field: "metadata",
                    });
                }
                return Err(ItemError::WrongShape {
                    document,
                    field: "metadata",
                    expected: "mapping",
                    found: other.kind(),
                });
            }
            None => return Err(ItemError::MissingName { document }),
        };
        let name = match metadata.get("name") {
            Some(v) => structure_text(document, "metadata.name", v)?,
            None => return Err(ItemError::MissingName { document }),
        };
        let namespace = match metadata.get("namespace") {
            Some(v) => structure_text(document, "metadata.namespace", v)?,
            None => DEFAULT_NAMESPACE,
        };
        check_namespace(namespace)?;
        check_name(name)?;
        let secret = SecretName {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        let mut entries = Vec::new();
        for field in [Field::Data, Field::StringData] {
            let values = match object.fields.get(field.as_str()) {
                None | Some(Value::Null) => continue,
                Some(Value::Branch(b)) => Mapping::new(b),
                Some(other) => {
                    return Err(ItemError::WrongShape {
                        document,
                        field: field.as_str(),
                        expected: "mapping",
                        found: other.kind(),
                    });
                }
            };
            for (key, value) in values.entries() {
                check_key(&secret, key)?;
                entries.push((
                    ItemName {
                        secret: secret.clone(),
                        key: key.to_owned(),
                        field,
                    },
                    value,
                ));
            }
        }
        // Kubernetes merges stringData over data; one key in both would make
        // two items for one stored value.
        let mut keys = BTreeSet::new();
        for (item, _) in &entries {
            if !keys.insert(item.key.as_str()) {
                return Err(ItemError::DuplicateItem { id: item.id() });
            }
        }
        out.push(SecretDocument {
            document,
            location: object.location.clone(),
            secret,
            entries,
        });
    }
    Ok(out)
}

/// Checks that a sealed file's value is encrypted (or empty: sops never
/// encrypts an empty string) and is a string.
pub fn check_sealed_value(item: &ItemName, value: &Value) -> Result<(), ItemError> {
    let bytes = text_of(value).ok_or(ItemError::NotAString {
        id: item.id(),
        found: value.kind(),
    })?;
    if bytes.is_empty() {
        return Ok(());
    }
    match EncryptedValue::parse(bytes) {
        Some(enc) if enc.value_type == "str" => Ok(()),
        Some(_) => Err(ItemError::NotAString {
            id: item.id(),
            found: "non-string encrypted value",
        }),
        None => Err(ItemError::NotEncrypted { id: item.id() }),
    }
}

/// The bytes a commitment is made over, from a decrypted value: `data` is
/// base64-decoded, `stringData` taken as its UTF-8 bytes.
pub fn value_bytes(item: &ItemName, value: &Value) -> Result<SecretBytes, ItemError> {
    let bytes = text_of(value).ok_or(ItemError::NotAString {
        id: item.id(),
        found: value.kind(),
    })?;
    if EncryptedValue::parse(bytes).is_some() {
        return Err(ItemError::StillEncrypted { id: item.id() });
    }
    match item.field {
        Field::StringData => Ok(SecretBytes::from_slice(bytes)),
        Field::Data => {
            // Decode straight into a wiping buffer.
            let mut out = SecretBytes::new(vec![0u8; bytes.len() / 4 * 3 + 3]);
            let len = STANDARD
                .decode_slice(bytes, out.expose_secret_mut())
                .map_err(|_| ItemError::DataNotBase64 { id: item.id() })?;
            Ok(SecretBytes::from_slice(
                out.expose_secret().get(..len).unwrap_or_default(),
            ))
        }
    }
}

/// HMAC-SHA256(key = nonce, message = value bytes): what a receipt says
/// about one item's value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Commitment(pub [u8; 32]);

impl Commitment {
    /// Lowercase hex, as receipts carry it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Exactly 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }

    /// Constant-time equality: a verifier comparing commitments leaks no
    /// prefix length through timing.
    pub fn ct_eq(&self, other: &Commitment) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({})", self.to_hex())
    }
}

/// The commitment to `value` under `nonce`.
pub fn commit(nonce: &[u8; 32], value: &SecretBytes) -> Commitment {
    let mut mac = hmac_sha256(nonce);
    mac.update(value.expose_secret());
    Commitment(mac.finalize().into_bytes().into())
}

#[allow(clippy::expect_used)]
fn hmac_sha256(key: &[u8; 32]) -> Hmac<Sha256> {
    // hmac 0.12: `new_from_slice` fails only for MACs with a fixed key size;
    // HMAC takes keys of any length, so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::{Format, stores};

    fn branches(yaml: &str) -> Vec<Branch> {
        stores::load_plain(Format::Yaml, yaml.as_bytes()).unwrap()
    }

    #[test]
    fn finds_secrets_and_skips_other_kinds() {
        let b = branches(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: aHVudGVyMg==\nstringData:\n  user: admin\n",
        );
        let docs = secret_documents(&b).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].document, 1);
        assert_eq!(docs[0].secret.to_string(), "default/db");
        let ids: Vec<_> = docs[0].entries.iter().map(|(i, _)| i.id()).collect();
        assert_eq!(ids, ["default/db/password", "default/db/user"]);
        let (item, value) = &docs[0].entries[0];
        assert_eq!(
            value_bytes(item, value).unwrap().expose_secret(),
            b"hunter2"
        );
        let (item, value) = &docs[0].entries[1];
        assert_eq!(value_bytes(item, value).unwrap().expose_secret(), b"admin");
    }

    #[test]
    fn item_refs_split_in_exactly_one_way() {
        let item = ItemRef::parse("apps/db/password").unwrap();
        assert_eq!(item.secret.to_string(), "apps/db");
        assert_eq!(item.key, "password");
        assert_eq!(item.id(), "apps/db/password");
        assert_eq!(
            ItemRef::parse("default/tls/tls.crt").unwrap().key,
            "tls.crt"
        );
        for bad in [
            "apps/db",
            "apps/db/",
            "apps/db/a/b",
            "/db/k",
            "Apps/db/k",
            "apps/db/a b",
            "",
        ] {
            assert!(ItemRef::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}/db", "a".repeat(200));
        match ItemRef::parse(&long).unwrap_err() {
            ItemError::BadItemName { text } => assert_eq!(text.chars().count(), 80),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_key_under_both_fields_is_refused() {
        let b = branches(
            "kind: Secret\nmetadata:\n  name: db\ndata:\n  k: YQ==\nstringData:\n  k: a\n",
        );
        assert_eq!(
            secret_documents(&b).unwrap_err(),
            ItemError::DuplicateItem {
                id: "default/db/k".into()
            }
        );
    }

    #[test]
    fn names_and_keys_follow_kubernetes() {
        for bad in ["Db", "a/b", "-a", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("a.b-c").is_ok());
        assert!(check_namespace("a.b").is_err());
        let s = SecretName::parse("ns/n").unwrap();
        for bad in ["a/b", "..", "", "a b"] {
            assert!(check_key(&s, bad).is_err(), "{bad}");
        }
        assert!(check_key(&s, "tls.crt").is_ok());
        assert!(SecretName::parse("nsn").is_err());
    }

    #[test]
    fn data_must_be_canonical_base64_and_values_strings() {
        let b = branches("kind: Secret\nmetadata:\n  name: db\ndata:\n  a: YQ\n  b: 5\n  c: ''\n");
        let docs = secret_documents(&b).unwrap();
        let e = &docs[0].entries;
        assert!(matches!(
            value_bytes(&e[0].0, e[0].1),
            Err(ItemError::DataNotBase64 { .. })
        ));
        assert!(matches!(
            value_bytes(&e[1].0, e[1].1),
            Err(ItemError::NotAString { .. })
        ));
        assert!(value_bytes(&e[2].0, e[2].1).unwrap().is_empty());
    }

    #[test]
    fn commitment_is_hmac_sha256_of_the_value_under_the_nonce() {
        // Independent vector, from Python:
        // hmac.new(bytes(range(32)), b"hunter2", hashlib.sha256).hexdigest()
        let nonce: [u8; 32] = std::array::from_fn(|i| i as u8);
        let c = commit(&nonce, &SecretBytes::from_slice(b"hunter2"));
        assert_eq!(
            c.to_hex(),
            "8629d712da366318588317f3f98c728c71d4819f843d95db8803c019c561c1e7"
        );
        assert_eq!(Commitment::from_hex(&c.to_hex()), Some(c));
        assert!(Commitment::from_hex(&c.to_hex().to_uppercase()).is_none());
    }
}
