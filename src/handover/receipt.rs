//! The handover receipt predicate, and building a receipt from decrypted
//! manifests.
//!
//! A receipt is an in-toto Statement v1 ([`super::statement`]) in a DSSE
//! envelope ([`super::dsse`]). Its subjects are the challenge's sealed files
//! with their SHA-256; its predicate, of type [`PREDICATE_TYPE_V1`], says
//! which challenge it answers, where the authority stored each item and a
//! commitment to each value, which bootstrap Secrets were retired, and when.
//! Specified in `docs/handover.md` §3. Unknown fields are refused.
//!
//! [`build_statement`] is what a simple runtime-side job (and the tests) use:
//! it takes the decrypted manifests ([`Values::from_manifests`]) or the
//! OpenBao KV v2 exports ([`Values::from_kv`], [`super::kv`]; each value
//! then carries its own KV path and version), commits to each value under
//! the challenge nonce and drops the value at once.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::challenge::{self, Challenge, ChallengeError, format_time};
use super::items::{self, Commitment, ItemError, SecretName};
use super::statement::{Sha256Digest, Statement, Subject};
use crate::secret::SecretBytes;
use crate::sops::{self, Format};

/// The in-toto `predicateType` of a version 1 handover receipt.
pub const PREDICATE_TYPE_V1: &str = "https://ceremony.dev/handover-receipt/v1";

/// The default authority path: OpenBao/Vault KV v2 under `secret/`.
pub const DEFAULT_PATH_TEMPLATE: &str = "secret/data/{namespace}/{name}";

/// The receipt predicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptPredicate {
    /// The challenge answered.
    pub challenge_id: String,
    /// SHA-256 of the challenge nonce's 32 bytes, lowercase hex.
    pub nonce_sha256: String,
    /// The challenge's root id.
    pub root_id: String,
    /// The authority that received the items.
    pub authority: String,
    /// One acknowledgement per item.
    pub items: Vec<ReceivedItem>,
    /// The bootstrap Secrets the authority deleted.
    pub retired: Vec<SecretName>,
    /// When the handover completed, RFC 3339 UTC.
    pub completed_at: String,
}

/// The authority's acknowledgement of one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedItem {
    /// `namespace/name/key` from the challenge.
    pub id: String,
    /// Where the authority stored it, e.g. `secret/data/apps/db`.
    pub authority_path: String,
    /// The authority's version of the stored value, from 1.
    pub version: u64,
    /// HMAC-SHA256(key = nonce, message = value bytes), lowercase hex.
    pub commitment: String,
}

/// Why a receipt could not be built or its predicate read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// From the challenge.
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    /// The predicate is not JSON of the expected shape.
    #[error("receipt predicate: {reason}")]
    Json {
        /// What serde_json reported.
        reason: String,
    },
    /// A predicate field is malformed.
    #[error("receipt predicate field `{field}` is invalid: {problem}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A values file could not be read as a decrypted manifest.
    #[error("{file}")]
    ValuesFile {
        /// The file.
        file: String,
        /// The engine's error.
        source: sops::Error,
    },
    /// A values file holds a Secret that cannot be handed over.
    #[error("{file}")]
    ValuesItem {
        /// The file.
        file: String,
        /// Why.
        source: ItemError,
    },
    /// A challenge item has no value in the values directory.
    #[error(
        "no value for item {id} in the decrypted manifests; a receipt acknowledges every item of the challenge"
    )]
    MissingValue {
        /// The item.
        id: String,
    },
    /// The same item in two values files.
    #[error("item {id} has a value in both {first} and {second}")]
    DuplicateValue {
        /// The item.
        id: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// The value sits under another field than the challenge says.
    #[error(
        "item {id} is under {found} in the decrypted manifests, but under {expected} in the challenge"
    )]
    FieldMismatch {
        /// The item.
        id: String,
        /// The challenge's field.
        expected: &'static str,
        /// The values' field.
        found: &'static str,
    },
    /// The receipt is for another authority than the challenge.
    #[error("the challenge is for authority {expected:?}, not {found:?}")]
    WrongAuthority {
        /// The challenge's authority.
        expected: String,
        /// What was given.
        found: String,
    },
    /// The challenge has expired.
    #[error("the challenge expired at {expires_at}; ask the operator for a new one")]
    Expired {
        /// Its expiry.
        expires_at: String,
    },
    /// `--not-retired` names a Secret the challenge does not list.
    #[error("Secret {secret} is not in the challenge")]
    UnknownSecret {
        /// The Secret.
        secret: String,
    },
    /// The authority path template is not usable.
    #[error(
        "authority path template {template:?}: {problem} (placeholders: {{namespace}}, {{name}}, {{key}})"
    )]
    Template {
        /// The template.
        template: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A KV export file could not be read.
    #[error("{file}: {source}")]
    KvFile {
        /// The file, relative to the KV directory.
        file: String,
        /// Why.
        source: super::kv::KvError,
    },
    /// `--kv-mount` is not a mount path.
    #[error("--kv-mount: {problem}")]
    KvMount {
        /// What is wrong.
        problem: String,
    },
    /// Building the statement failed.
    #[error(transparent)]
    Statement(#[from] super::statement::StatementError),
}

impl ReceiptPredicate {
    /// Reads a predicate from the statement's JSON value, strictly.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ReceiptError> {
        let predicate: Self =
            serde_json::from_value(value.clone()).map_err(|e| ReceiptError::Json {
                reason: e.to_string(),
            })?;
        predicate.validate()?;
        Ok(predicate)
    }

    /// Field formats (not agreement with a challenge: that is the verify
    /// report's job, item by item).
    pub fn validate(&self) -> Result<(), ReceiptError> {
        let field = |field, problem: &str| ReceiptError::Field {
            field,
            problem: problem.to_owned(),
        };
        if Sha256Digest::from_hex(&self.nonce_sha256).is_none() {
            return Err(field("nonce_sha256", "must be 64 lowercase hex digits"));
        }
        challenge::parse_time("completed_at", &self.completed_at)?;
        for item in &self.items {
            if Commitment::from_hex(&item.commitment).is_none() {
                return Err(ReceiptError::Field {
                    field: "items.commitment",
                    problem: format!("{}: must be 64 lowercase hex digits", item.id),
                });
            }
            if item.authority_path.is_empty() {
                return Err(ReceiptError::Field {
                    field: "items.authority_path",
                    problem: format!("{}: is empty", item.id),
                });
            }
            if item.version == 0 {
                return Err(ReceiptError::Field {
                    field: "items.version",
                    problem: format!("{}: versions start at 1", item.id),
                });
            }
        }
        Ok(())
    }

    /// `completed_at`.
    pub fn completed_at(&self) -> Result<OffsetDateTime, ChallengeError> {
        challenge::parse_time("completed_at", &self.completed_at)
    }
}

/// Commitments to the values found in decrypted manifests or KV exports,
/// by item id. The values themselves are dropped (and wiped) as soon as
/// they are committed.
#[derive(Debug, Default)]
pub struct Values {
    found: BTreeMap<String, Found>,
    secrets: BTreeSet<SecretName>,
}

#[derive(Debug)]
struct Found {
    /// The manifest field; `None` for a KV value, which has none.
    field: Option<items::Field>,
    commitment: Commitment,
    file: String,
    /// Where the authority holds it, for a value read from the authority
    /// itself (KV): its path and version.
    stored: Option<Stored>,
}

/// Where and as which version the authority stores a value, when the
/// value was read from the authority (a KV v2 export).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The KV v2 API path, `<mount>/data/<path>`.
    pub authority_path: String,
    /// The KV secret's `metadata.version`.
    pub version: u64,
}

impl Values {
    /// Reads decrypted manifests (`(file name, bytes)`) and commits to every
    /// Secret value under `nonce`. Files are YAML (`.yaml`, `.yml`).
    pub fn from_manifests(
        nonce: &[u8; 32],
        files: &[(String, SecretBytes)],
    ) -> Result<Self, ReceiptError> {
        let mut values = Self::default();
        for (file, bytes) in files {
            let branches = sops::stores::load_plain(Format::Yaml, bytes.expose_secret()).map_err(
                |source| ReceiptError::ValuesFile {
                    file: file.clone(),
                    source,
                },
            )?;
            values.add_branches(nonce, file, &branches)?;
        }
        Ok(values)
    }

    /// Reads KV v2 exports (`bao kv get -format=json`, [`super::kv`]) of
    /// the secrets under `mount` and commits to every value under `nonce`.
    /// Each value keeps its KV path and version for the receipt.
    pub fn from_kv(
        nonce: &[u8; 32],
        mount: &str,
        files: &[super::kv::KvFile],
    ) -> Result<Self, ReceiptError> {
        super::kv::check_mount(mount).map_err(|problem| ReceiptError::KvMount { problem })?;
        let mut values = Self::default();
        for file in files {
            let secret =
                super::kv::parse_kv_get(&file.bytes).map_err(|source| ReceiptError::KvFile {
                    file: file.file.clone(),
                    source,
                })?;
            if !values.secrets.insert(file.secret.clone()) {
                return Err(ReceiptError::ValuesItem {
                    file: file.file.clone(),
                    source: ItemError::DuplicateSecret {
                        secret: file.secret.to_string(),
                    },
                });
            }
            let stored = Stored {
                authority_path: format!("{mount}/data/{}", file.kv_path),
                version: secret.version,
            };
            for (key, bytes) in &secret.data {
                let id = items::item_id(&file.secret.namespace, &file.secret.name, key);
                values.insert(
                    id,
                    Found {
                        field: None,
                        commitment: items::commit(nonce, bytes),
                        file: file.file.clone(),
                        stored: Some(stored.clone()),
                    },
                )?;
            }
        }
        Ok(values)
    }

    fn insert(&mut self, id: String, found: Found) -> Result<(), ReceiptError> {
        if let Some(first) = self.found.get(&id) {
            return Err(ReceiptError::DuplicateValue {
                id,
                first: first.file.clone(),
                second: found.file,
            });
        }
        self.found.insert(id, found);
        Ok(())
    }

    /// Commits to every Secret value in decrypted branches (e.g. a sealed
    /// file opened with the bootstrap key).
    pub fn add_branches(
        &mut self,
        nonce: &[u8; 32],
        file: &str,
        branches: &[sops::tree::Branch],
    ) -> Result<(), ReceiptError> {
        let item_error = |source| ReceiptError::ValuesItem {
            file: file.to_owned(),
            source,
        };
        for doc in items::secret_documents(branches).map_err(item_error)? {
            // As in the challenge: one definition per Secret.
            if !self.secrets.insert(doc.secret.clone()) {
                return Err(item_error(ItemError::DuplicateSecret {
                    secret: doc.secret.to_string(),
                }));
            }
            for (item, value) in doc.entries {
                let bytes = items::value_bytes(&item, value).map_err(item_error)?;
                self.insert(
                    item.id(),
                    Found {
                        field: Some(item.field),
                        commitment: items::commit(nonce, &bytes),
                        file: file.to_owned(),
                        stored: None,
                    },
                )?;
            }
        }
        Ok(())
    }

    /// The commitment to one item's value and the manifest field it was
    /// under (`None` for a value read from KV, which has no field).
    pub fn get(&self, id: &str) -> Option<(Option<items::Field>, Commitment)> {
        self.found.get(id).map(|f| (f.field, f.commitment))
    }

    /// Where the authority stores one item, if the value was read from the
    /// authority itself (KV).
    pub fn stored(&self, id: &str) -> Option<&Stored> {
        self.found.get(id).and_then(|f| f.stored.as_ref())
    }

    /// Ids of values that no challenge item asked for.
    pub fn unasked<'a>(&'a self, challenge: &'a Challenge) -> impl Iterator<Item = &'a str> {
        let asked: BTreeSet<&str> = challenge.items().map(|(_, i)| i.id.as_str()).collect();
        self.found
            .keys()
            .map(String::as_str)
            .filter(move |id| !asked.contains(id))
    }
}

/// Choices the runtime side makes when building a receipt.
#[derive(Clone, Debug)]
pub struct ReceiptPlan {
    /// The authority's name; must equal the challenge's.
    pub authority: String,
    /// Authority path per item, with `{namespace}`, `{name}`, `{key}`;
    /// for values from manifests (a KV value carries its own).
    pub path_template: String,
    /// The version every item from manifests was stored as (a KV value
    /// carries its own, from OpenBao's metadata).
    pub version: u64,
    /// Secrets the authority did *not* delete (left out of `retired`).
    pub not_retired: Vec<SecretName>,
    /// When the handover completed.
    pub completed_at: OffsetDateTime,
}

fn expand(template: &str, item: &super::challenge::ChallengeItem) -> Result<String, ReceiptError> {
    let bad = |problem| ReceiptError::Template {
        template: template.to_owned(),
        problem,
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open).unwrap_or_default());
        let after = rest.get(open + 1..).unwrap_or_default();
        let close = after.find('}').ok_or_else(|| bad("unclosed {"))?;
        match after.get(..close) {
            Some("namespace") => out.push_str(&item.namespace),
            Some("name") => out.push_str(&item.name),
            Some("key") => out.push_str(&item.key),
            _ => return Err(bad("unknown placeholder")),
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    if rest.contains('}') {
        return Err(bad("unmatched }"));
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(bad("gives an empty path"));
    }
    Ok(out)
}

/// Builds the receipt statement answering `challenge` from `values`.
///
/// Refuses an expired challenge, another authority, and any challenge item
/// without a value: a receipt acknowledges the whole handover or nothing.
pub fn build_statement(
    challenge: &Challenge,
    values: &Values,
    plan: &ReceiptPlan,
) -> Result<Statement, ReceiptError> {
    challenge.validate()?;
    if plan.authority != challenge.authority {
        return Err(ReceiptError::WrongAuthority {
            expected: challenge.authority.clone(),
            found: plan.authority.clone(),
        });
    }
    if plan.completed_at > challenge.expires_at()? {
        return Err(ReceiptError::Expired {
            expires_at: challenge.expires_at.clone(),
        });
    }
    if plan.version == 0 {
        return Err(ReceiptError::Field {
            field: "items.version",
            problem: "versions start at 1".into(),
        });
    }
    let secrets = challenge.secrets();
    for s in &plan.not_retired {
        if !secrets.contains(s) {
            return Err(ReceiptError::UnknownSecret {
                secret: s.to_string(),
            });
        }
    }
    let mut items = Vec::new();
    for (_, item) in challenge.items() {
        let (field, commitment) =
            values
                .get(&item.id)
                .ok_or_else(|| ReceiptError::MissingValue {
                    id: item.id.clone(),
                })?;
        // A KV value has no field; its bytes are the stored string's.
        if let Some(field) = field.filter(|f| *f != item.field) {
            return Err(ReceiptError::FieldMismatch {
                id: item.id.clone(),
                expected: item.field.as_str(),
                found: field.as_str(),
            });
        }
        let (authority_path, version) = match values.stored(&item.id) {
            Some(stored) => (stored.authority_path.clone(), stored.version),
            None => (expand(&plan.path_template, item)?, plan.version),
        };
        items.push(ReceivedItem {
            id: item.id.clone(),
            authority_path,
            version,
            commitment: commitment.to_hex(),
        });
    }
    let predicate = ReceiptPredicate {
        challenge_id: challenge.challenge_id.clone(),
        nonce_sha256: challenge.nonce_sha256()?,
        root_id: challenge.root_id.clone(),
        authority: challenge.authority.clone(),
        items,
        retired: secrets
            .into_iter()
            .filter(|s| !plan.not_retired.contains(s))
            .collect(),
        completed_at: format_time(plan.completed_at)?,
    };
    let subjects = challenge
        .files
        .iter()
        .map(|f| {
            Ok(Subject {
                name: f.path.clone(),
                sha256: Sha256Digest::from_hex(&f.sha256).ok_or_else(|| ReceiptError::Field {
                    field: "files.sha256",
                    problem: f.path.clone(),
                })?,
            })
        })
        .collect::<Result<Vec<_>, ReceiptError>>()?;
    let statement = Statement {
        subjects,
        predicate_type: PREDICATE_TYPE_V1.to_owned(),
        predicate: serde_json::to_value(&predicate).map_err(|e| ReceiptError::Json {
            reason: e.to_string(),
        })?,
    };
    statement.validate()?;
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handover::challenge::{ChallengeFile, ChallengeItem};
    use crate::handover::items::Field;

    fn challenge() -> Challenge {
        use base64::Engine;
        Challenge {
            format: challenge::CHALLENGE_FORMAT_V1.into(),
            challenge_id: "00112233445566778899aabbccddeeff".into(),
            root_id: "0123456789abcdef0123456789abcdef".into(),
            authority: "openbao-prod".into(),
            nonce: base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-02T00:00:00Z".into(),
            files: vec![ChallengeFile {
                path: "apps/db.enc.yaml".into(),
                sha256: "ab".repeat(32),
                items: vec![
                    ChallengeItem {
                        id: "apps/db/password".into(),
                        namespace: "apps".into(),
                        name: "db".into(),
                        key: "password".into(),
                        field: Field::Data,
                    },
                    ChallengeItem {
                        id: "apps/db/user".into(),
                        namespace: "apps".into(),
                        name: "db".into(),
                        key: "user".into(),
                        field: Field::StringData,
                    },
                ],
            }],
        }
    }

    fn values(yaml: &str) -> Values {
        Values::from_manifests(
            &[7u8; 32],
            &[("v.yaml".into(), SecretBytes::from_slice(yaml.as_bytes()))],
        )
        .unwrap()
    }

    const VALUES: &str = "kind: Secret\nmetadata:\n  name: db\n  namespace: apps\ndata:\n  password: aHVudGVyMg==\nstringData:\n  user: admin\n";

    fn plan() -> ReceiptPlan {
        ReceiptPlan {
            authority: "openbao-prod".into(),
            path_template: DEFAULT_PATH_TEMPLATE.into(),
            version: 1,
            not_retired: vec![],
            completed_at: time::macros::datetime!(2026-01-01 12:00 UTC),
        }
    }

    /// Freezes the predicate's wire form: a change here is a format change.
    #[test]
    fn predicate_wire_form_is_frozen() {
        let s = build_statement(&challenge(), &values(VALUES), &plan()).unwrap();
        let payload = String::from_utf8(s.to_payload().unwrap()).unwrap();
        let commit = |v: &[u8]| items::commit(&[7u8; 32], &SecretBytes::from_slice(v)).to_hex();
        let expected = format!(
            concat!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"apps/db.enc.yaml","digest":{{"sha256":"{ab}"}}}}],"#,
                r#""predicateType":"https://ceremony.dev/handover-receipt/v1","predicate":{{"challenge_id":"00112233445566778899aabbccddeeff","#,
                r#""nonce_sha256":"{nonce}","root_id":"0123456789abcdef0123456789abcdef","authority":"openbao-prod","#,
                r#""items":[{{"id":"apps/db/password","authority_path":"secret/data/apps/db","version":1,"commitment":"{c1}"}},"#,
                r#"{{"id":"apps/db/user","authority_path":"secret/data/apps/db","version":1,"commitment":"{c2}"}}],"#,
                r#""retired":[{{"namespace":"apps","name":"db"}}],"completed_at":"2026-01-01T12:00:00Z"}}}}"#
            ),
            ab = "ab".repeat(32),
            nonce = challenge().nonce_sha256().unwrap(),
            c1 = commit(b"hunter2"),
            c2 = commit(b"admin"),
        );
        assert_eq!(payload, expected);
        let back = ReceiptPredicate::from_value(&s.predicate).unwrap();
        assert_eq!(back.items.len(), 2);
    }

    #[test]
    fn refuses_missing_values_other_authority_expiry_and_unknown_secrets() {
        let only_password = "kind: Secret\nmetadata:\n  name: db\n  namespace: apps\ndata:\n  password: aHVudGVyMg==\n";
        assert!(matches!(
            build_statement(&challenge(), &values(only_password), &plan()),
            Err(ReceiptError::MissingValue { id }) if id == "apps/db/user"
        ));
        let mut p = plan();
        p.authority = "vault".into();
        assert!(matches!(
            build_statement(&challenge(), &values(VALUES), &p),
            Err(ReceiptError::WrongAuthority { .. })
        ));
        let mut p = plan();
        p.completed_at = time::macros::datetime!(2026-01-03 00:00 UTC);
        assert!(matches!(
            build_statement(&challenge(), &values(VALUES), &p),
            Err(ReceiptError::Expired { .. })
        ));
        let mut p = plan();
        p.not_retired = vec![SecretName::parse("apps/other").unwrap()];
        assert!(matches!(
            build_statement(&challenge(), &values(VALUES), &p),
            Err(ReceiptError::UnknownSecret { .. })
        ));
        let swapped = "kind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: hunter2\n  user: admin\n";
        assert!(matches!(
            build_statement(&challenge(), &values(swapped), &plan()),
            Err(ReceiptError::FieldMismatch { .. })
        ));
    }

    #[test]
    fn a_secret_defined_twice_in_the_values_is_refused() {
        let twice = format!(
            "{VALUES}---\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  other: x\n"
        );
        let err = Values::from_manifests(
            &[7u8; 32],
            &[("v.yaml".into(), SecretBytes::from_slice(twice.as_bytes()))],
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ReceiptError::ValuesItem {
                source: ItemError::DuplicateSecret { .. },
                ..
            }
        ));
    }

    fn kv_file(path: &str, json: &str) -> crate::handover::kv::KvFile {
        let (kv_path, secret) = crate::handover::kv::kv_path_of(path).unwrap();
        crate::handover::kv::KvFile {
            file: path.into(),
            kv_path,
            secret,
            bytes: SecretBytes::from_slice(json.as_bytes()),
        }
    }

    fn kv_json(version: u64, data: serde_json::Value) -> String {
        serde_json::json!({
            "data": {"data": data, "metadata": {"version": version, "deletion_time": "", "destroyed": false}}
        })
        .to_string()
    }

    /// Values from KV carry their own path and version; their bytes are the
    /// stored string's, so a `data` item stored decoded commits like the
    /// manifest's.
    #[test]
    fn kv_values_carry_their_path_and_version() {
        let files = [kv_file(
            "prod/apps/db.json",
            &kv_json(
                2,
                serde_json::json!({"password": "hunter2", "user": "admin", "extra": "x"}),
            ),
        )];
        let kv = Values::from_kv(&[7u8; 32], "kv", &files).unwrap();
        let from_manifest = values(VALUES);
        for id in ["apps/db/password", "apps/db/user"] {
            assert_eq!(kv.get(id).unwrap().1, from_manifest.get(id).unwrap().1);
        }
        assert_eq!(
            kv.unasked(&challenge()).collect::<Vec<_>>(),
            ["apps/db/extra"]
        );
        let s = build_statement(&challenge(), &kv, &plan()).unwrap();
        let p = ReceiptPredicate::from_value(&s.predicate).unwrap();
        for item in &p.items {
            assert_eq!(
                (item.authority_path.as_str(), item.version),
                ("kv/data/prod/apps/db", 2)
            );
        }
        // Two exports of one Secret, and a bad mount, are refused.
        let twice = [
            kv_file(
                "a/apps/db.json",
                &kv_json(1, serde_json::json!({"password": "x"})),
            ),
            kv_file(
                "b/apps/db.json",
                &kv_json(1, serde_json::json!({"user": "y"})),
            ),
        ];
        assert!(matches!(
            Values::from_kv(&[7u8; 32], "secret", &twice),
            Err(ReceiptError::ValuesItem {
                source: ItemError::DuplicateSecret { .. },
                ..
            })
        ));
        assert!(matches!(
            Values::from_kv(&[7u8; 32], "/secret", &files),
            Err(ReceiptError::KvMount { .. })
        ));
        let bad = [kv_file("apps/db.json", r#"{"data": {"password": "x"}}"#)];
        assert!(matches!(
            Values::from_kv(&[7u8; 32], "secret", &bad),
            Err(ReceiptError::KvFile { ref file, .. }) if file == "apps/db.json"
        ));
    }

    #[test]
    fn templates() {
        let c = challenge();
        let item = &c.files[0].items[0];
        assert_eq!(
            expand("kv/{namespace}/{name}#{key}", item).unwrap(),
            "kv/apps/db#password"
        );
        for bad in ["{nope}", "a{name", "a}b", ""] {
            assert!(expand(bad, item).is_err(), "{bad}");
        }
    }

    #[test]
    fn predicate_refuses_unknown_fields_and_bad_commitments() {
        let s = build_statement(&challenge(), &values(VALUES), &plan()).unwrap();
        let mut v = s.predicate.clone();
        v["extra"] = serde_json::json!(1);
        assert!(matches!(
            ReceiptPredicate::from_value(&v),
            Err(ReceiptError::Json { .. })
        ));
        let mut v = s.predicate.clone();
        v["items"][0]["commitment"] = serde_json::json!("00");
        assert!(matches!(
            ReceiptPredicate::from_value(&v),
            Err(ReceiptError::Field { .. })
        ));
    }
}
