//! The handover challenge: what the operator expects the runtime authority
//! to acknowledge, made offline from the sealed bootstrap files.
//!
//! A challenge lists every sealed file (path and SHA-256) and every item in
//! it (`namespace/name/key` and its field), read without decrypting
//! anything, plus a fresh random challenge id and nonce, an expiry and the
//! root id. Format `ceremony.handover-challenge.v1`, specified in
//! `docs/handover.md` §2; unknown formats and unknown fields are refused.
//!
//! The nonce is the HMAC key of every commitment in the receipt. It is not a
//! secret: a commitment proves that the authority holds the value the
//! operator sealed, and is checked by someone who can decrypt the sealed
//! files (`verify --deep`). It does make brute-forcing low-entropy values
//! from a receipt possible for whoever also holds the challenge, which is why
//! the receipt carries only the nonce's hash.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::items::{self, Field, ItemError, ItemName, ItemRef, SecretName};
use super::statement::Sha256Digest;
use crate::sops::{self, Format};

/// The `format` of a version 1 challenge.
pub const CHALLENGE_FORMAT_V1: &str = "ceremony.handover-challenge.v1";

/// Longest accepted `--expires`: a challenge is meant for one handover, not
/// to be kept around.
pub const MAX_VALIDITY_SECONDS: i64 = 30 * 24 * 3600;

/// A handover challenge, as written to `challenge.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// Always [`CHALLENGE_FORMAT_V1`].
    pub format: String,
    /// 16 random bytes, lowercase hex.
    pub challenge_id: String,
    /// The root whose bootstrap recipient sealed the files.
    pub root_id: String,
    /// The runtime authority expected to answer, e.g. `openbao-prod`.
    pub authority: String,
    /// 32 random bytes, standard base64: the HMAC key of the commitments.
    pub nonce: String,
    /// RFC 3339 UTC, seconds.
    pub created_at: String,
    /// RFC 3339 UTC, seconds; a receipt must be completed by then and the
    /// challenge is not accepted after it.
    pub expires_at: String,
    /// The sealed files, sorted by path.
    pub files: Vec<ChallengeFile>,
}

/// One sealed file of a challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeFile {
    /// Path relative to the bootstrap directory, `/`-separated.
    pub path: String,
    /// SHA-256 of the sealed file's bytes, lowercase hex.
    pub sha256: String,
    /// Every item of every Secret in the file, in file order.
    pub items: Vec<ChallengeItem>,
}

/// One item of a challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeItem {
    /// `namespace/name/key`.
    pub id: String,
    /// The Secret's namespace.
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
    /// The key.
    pub key: String,
    /// `data` or `stringData`: decides the committed bytes.
    pub field: Field,
}

impl ChallengeItem {
    /// The Secret this item belongs to.
    pub fn secret(&self) -> SecretName {
        SecretName {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// Why a challenge could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// Not JSON of the expected shape (unknown or missing field, wrong type).
    #[error("not a handover challenge: {reason}")]
    Json {
        /// What serde_json reported.
        reason: String,
    },
    /// A format this version does not know.
    #[error(
        "unknown challenge format {found:?}; this ceremony reads {CHALLENGE_FORMAT_V1:?} (a newer ceremony may read it)"
    )]
    UnknownFormat {
        /// The `format` found.
        found: String,
    },
    /// A field is malformed.
    #[error("challenge field `{field}` is invalid: {problem}")]
    Field {
        /// The field.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A sealed file cannot be read as a SOPS-encrypted YAML file.
    #[error("{path}: not a sealed (SOPS-encrypted) YAML file")]
    NotSealed {
        /// The file.
        path: String,
        /// The engine's error (structure only, never a value).
        source: sops::Error,
    },
    /// A sealed file is not sealed to the root's bootstrap recipient.
    #[error(
        "{path}: not sealed to root {root_id}'s bootstrap recipient {recipient}; the quorum of this root could not check it"
    )]
    NotSealedToRoot {
        /// The file.
        path: String,
        /// The root.
        root_id: String,
        /// Its recipient.
        recipient: String,
    },
    /// A Secret in a sealed file cannot be handed over.
    #[error("{path}")]
    Item {
        /// The file.
        path: String,
        /// Why.
        source: ItemError,
    },
    /// A sealed file holds no Secret.
    #[error("{path}: holds no Secret; only sealed Secret manifests can be handed over")]
    NoSecrets {
        /// The file.
        path: String,
    },
    /// Nothing to hand over.
    #[error("no sealed files were given; the bootstrap directory must hold the sealed Secrets")]
    NoFiles,
    /// Items asked for (`--item`) that no sealed file holds.
    #[error("not in any sealed file of the bootstrap directory: {}", ids.join(", "))]
    ItemsNotFound {
        /// Each item asked for and not found, `namespace/name/key`.
        ids: Vec<String>,
    },
    /// `--expires` is not a duration this tool reads.
    #[error("{text:?} is not a duration like 30m, 24h or 7d (at most 30d)")]
    BadDuration {
        /// What was given.
        text: String,
    },
    /// The clock is outside the range timestamps can be written in.
    #[error("the system clock gives a time that cannot be written as RFC 3339")]
    Clock,
}

fn field_error(field: &str, problem: impl Into<String>) -> ChallengeError {
    ChallengeError::Field {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Parses `30m`, `24h`, `7d` (also `s`) into seconds, 1 s to 30 days.
pub fn parse_duration(text: &str) -> Result<time::Duration, ChallengeError> {
    let bad = || ChallengeError::BadDuration {
        text: text.to_owned(),
    };
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = (text.get(..split).ok_or_else(bad)?, text.get(split..));
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        Some("s") => 1,
        Some("m") => 60,
        Some("h") => 3600,
        Some("d") => 86_400,
        _ => return Err(bad()),
    };
    let seconds = n.checked_mul(unit).ok_or_else(bad)?;
    if !(1..=MAX_VALIDITY_SECONDS).contains(&seconds) {
        return Err(bad());
    }
    Ok(time::Duration::seconds(seconds))
}

/// RFC 3339 UTC with whole seconds, as every timestamp of a handover is written.
pub fn format_time(t: OffsetDateTime) -> Result<String, ChallengeError> {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|_| ChallengeError::Clock)?
        .format(&Rfc3339)
        .map_err(|_| ChallengeError::Clock)
}

/// Parses an RFC 3339 timestamp of a challenge or receipt.
pub fn parse_time(field: &str, text: &str) -> Result<OffsetDateTime, ChallengeError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| field_error(field, format!("not an RFC 3339 time ({e})")))
}

/// Whether a path is one this tool writes: relative, `/`-separated, no empty,
/// `.` or `..` component. Keeps `DIR/path` inside `DIR`.
pub fn is_clean_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks an authority name: 1–128 characters of `[A-Za-z0-9._:@/-]`.
pub fn check_authority(name: &str) -> Result<(), ChallengeError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'/' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(field_error(
            "authority",
            format!("{name:?} must be 1-128 characters of letters, digits and ._:@/-"),
        ))
    }
}

/// What `challenge` is made from.
#[derive(Debug)]
pub struct ChallengePlan<'a> {
    /// The root's id (root.json `root_id`).
    pub root_id: &'a str,
    /// The root's bootstrap recipient: every file must be sealed to it.
    pub bootstrap_recipient: &'a str,
    /// The runtime authority's name.
    pub authority: &'a str,
    /// Now.
    pub now: OffsetDateTime,
    /// How long the challenge is valid.
    pub validity: time::Duration,
}

/// Reads a sealed file's Secrets without a key: checks it is SOPS-encrypted
/// YAML sealed to `recipient`, and that every value is encrypted.
pub fn sealed_items(
    path: &str,
    bytes: &[u8],
    root_id: &str,
    recipient: &str,
) -> Result<Vec<ItemName>, ChallengeError> {
    let format = Format::from_path(std::path::Path::new(path));
    let not_sealed = |source| ChallengeError::NotSealed {
        path: path.to_owned(),
        source,
    };
    if format != Format::Yaml {
        return Err(not_sealed(sops::Error::Parse {
            format,
            line: None,
            reason: "only .yaml and .yml manifests are handed over".into(),
        }));
    }
    let (branches, wire) = sops::stores::load_encrypted(format, bytes).map_err(not_sealed)?;
    let meta = sops::Metadata::from_wire(wire).map_err(not_sealed)?;
    if !meta.recipients().iter().any(|(_, r)| r == recipient) {
        return Err(ChallengeError::NotSealedToRoot {
            path: path.to_owned(),
            root_id: root_id.to_owned(),
            recipient: recipient.to_owned(),
        });
    }
    let item_error = |source| ChallengeError::Item {
        path: path.to_owned(),
        source,
    };
    let docs = items::secret_documents(&branches).map_err(item_error)?;
    if docs.is_empty() {
        return Err(ChallengeError::NoSecrets {
            path: path.to_owned(),
        });
    }
    let mut out = Vec::new();
    for doc in docs {
        if doc.entries.is_empty() {
            return Err(item_error(ItemError::EmptySecret {
                secret: doc.secret.to_string(),
            }));
        }
        for (item, value) in doc.entries {
            items::check_sealed_value(&item, value).map_err(item_error)?;
            out.push(item);
        }
    }
    Ok(out)
}

impl Challenge {
    /// Makes a challenge over `sealed` (`(relative path, file bytes)`), with
    /// a fresh id and nonce from the OS CSPRNG.
    pub fn create(
        plan: &ChallengePlan<'_>,
        sealed: &[(String, Vec<u8>)],
    ) -> Result<Self, ChallengeError> {
        check_authority(plan.authority)?;
        if sealed.is_empty() {
            return Err(ChallengeError::NoFiles);
        }
        let mut files = Vec::new();
        // One Secret, one manifest: a Secret defined twice would be applied
        // twice, the second overwriting the first.
        let mut secrets = BTreeSet::new();
        for (path, bytes) in sealed {
            if !is_clean_relative_path(path) {
                return Err(field_error(
                    "files.path",
                    format!("{path:?} is not a clean relative path"),
                ));
            }
            let items = sealed_items(path, bytes, plan.root_id, plan.bootstrap_recipient)?;
            let in_file: BTreeSet<&SecretName> = items.iter().map(|i| &i.secret).collect();
            for secret in in_file {
                if !secrets.insert(secret.clone()) {
                    return Err(ChallengeError::Item {
                        path: path.clone(),
                        source: ItemError::DuplicateSecret {
                            secret: secret.to_string(),
                        },
                    });
                }
            }
            files.push(ChallengeFile {
                path: path.clone(),
                sha256: hex::encode(Sha256::digest(bytes)),
                items: items
                    .into_iter()
                    .map(|i| ChallengeItem {
                        id: i.id(),
                        namespace: i.secret.namespace,
                        name: i.secret.name,
                        key: i.key,
                        field: i.field,
                    })
                    .collect(),
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut id = [0u8; 16];
        let mut nonce = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut id);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let challenge = Challenge {
            format: CHALLENGE_FORMAT_V1.to_owned(),
            challenge_id: hex::encode(id),
            root_id: plan.root_id.to_owned(),
            authority: plan.authority.to_owned(),
            nonce: STANDARD.encode(nonce),
            created_at: format_time(plan.now)?,
            expires_at: format_time(plan.now + plan.validity)?,
            files,
        };
        // Whatever is written must read back (STYLE §6).
        challenge.validate()?;
        Ok(challenge)
    }

    /// The same challenge for just `items` and the files that hold them:
    /// after some values changed (a leaked credential replaced with
    /// `bootstrap set`), a handover of those items alone, so the receipt
    /// speaks of the new values and of nothing else. Every item must be in
    /// the challenge; the ones that are not are named, all at once.
    ///
    /// The challenge was made over the whole directory first, so a subset
    /// obeys every rule a full challenge does (each file sealed to the
    /// root, every value encrypted, each Secret defined once).
    pub fn only(mut self, items: &[ItemRef]) -> Result<Self, ChallengeError> {
        let wanted: BTreeSet<String> = items.iter().map(ItemRef::id).collect();
        let present: BTreeSet<&str> = self.items().map(|(_, i)| i.id.as_str()).collect();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|id| !present.contains(id.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(ChallengeError::ItemsNotFound { ids: missing });
        }
        for file in &mut self.files {
            file.items.retain(|i| wanted.contains(&i.id));
        }
        self.files.retain(|f| !f.items.is_empty());
        // Whatever is written must read back (STYLE §6).
        self.validate()?;
        Ok(self)
    }

    /// Parses and validates `challenge.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ChallengeError> {
        crate::json::reject_duplicate_keys(bytes).map_err(|e| ChallengeError::Json {
            reason: e.to_string(),
        })?;
        // Check the format first, so a future version gets "unknown format"
        // rather than a complaint about a field it added.
        #[derive(Deserialize)]
        struct Head {
            format: Option<serde_json::Value>,
        }
        if let Ok(Head {
            format: Some(format),
        }) = serde_json::from_slice::<Head>(bytes)
        {
            if format != CHALLENGE_FORMAT_V1 {
                return Err(ChallengeError::UnknownFormat {
                    found: format
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| format.to_string()),
                });
            }
        }
        let challenge: Challenge =
            serde_json::from_slice(bytes).map_err(|e| ChallengeError::Json {
                reason: e.to_string(),
            })?;
        challenge.validate()?;
        Ok(challenge)
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<Vec<u8>, ChallengeError> {
        let mut out = serde_json::to_vec_pretty(self).map_err(|e| ChallengeError::Json {
            reason: e.to_string(),
        })?;
        out.push(b'\n');
        Ok(out)
    }

    /// The nonce's 32 bytes.
    pub fn nonce_bytes(&self) -> Result<[u8; 32], ChallengeError> {
        let bytes = STANDARD
            .decode(&self.nonce)
            .map_err(|_| field_error("nonce", "not canonical standard base64"))?;
        bytes
            .try_into()
            .map_err(|_| field_error("nonce", "must be 32 bytes"))
    }

    /// SHA-256 of the nonce's bytes, lowercase hex: what a receipt echoes.
    pub fn nonce_sha256(&self) -> Result<String, ChallengeError> {
        Ok(hex::encode(Sha256::digest(self.nonce_bytes()?)))
    }

    /// `created_at`.
    pub fn created_at(&self) -> Result<OffsetDateTime, ChallengeError> {
        parse_time("created_at", &self.created_at)
    }

    /// `expires_at`.
    pub fn expires_at(&self) -> Result<OffsetDateTime, ChallengeError> {
        parse_time("expires_at", &self.expires_at)
    }

    /// Every item, in challenge order.
    pub fn items(&self) -> impl Iterator<Item = (&ChallengeFile, &ChallengeItem)> {
        self.files
            .iter()
            .flat_map(|f| f.items.iter().map(move |i| (f, i)))
    }

    /// Every Secret, once each, in challenge order.
    pub fn secrets(&self) -> Vec<SecretName> {
        let mut seen = BTreeSet::new();
        self.items()
            .map(|(_, i)| i.secret())
            .filter(|s| seen.insert(s.clone()))
            .collect()
    }

    /// Checks every rule of `docs/handover.md` §2.
    pub fn validate(&self) -> Result<(), ChallengeError> {
        if self.format != CHALLENGE_FORMAT_V1 {
            return Err(ChallengeError::UnknownFormat {
                found: self.format.clone(),
            });
        }
        if !is_lower_hex(&self.challenge_id, 32) {
            return Err(field_error(
                "challenge_id",
                "must be 32 lowercase hex digits",
            ));
        }
        if self.root_id.is_empty() || !is_lower_hex(&self.root_id, self.root_id.len()) {
            return Err(field_error("root_id", "must be lowercase hex"));
        }
        check_authority(&self.authority)?;
        if STANDARD.encode(self.nonce_bytes()?) != self.nonce {
            return Err(field_error("nonce", "not canonical standard base64"));
        }
        let created = self.created_at()?;
        let expires = self.expires_at()?;
        if expires <= created {
            return Err(field_error("expires_at", "must be after created_at"));
        }
        if self.files.is_empty() {
            return Err(field_error("files", "lists no sealed file"));
        }
        let mut paths = BTreeSet::new();
        let mut ids = BTreeSet::new();
        let mut secret_files: std::collections::BTreeMap<SecretName, &str> = Default::default();
        for file in &self.files {
            if !is_clean_relative_path(&file.path) {
                return Err(field_error(
                    "files.path",
                    format!("{:?} is not a clean relative path", file.path),
                ));
            }
            if !paths.insert(file.path.as_str()) {
                return Err(field_error(
                    "files.path",
                    format!("{:?} is listed twice", file.path),
                ));
            }
            if Sha256Digest::from_hex(&file.sha256).is_none() {
                return Err(field_error(
                    "files.sha256",
                    format!("{}: must be 64 lowercase hex digits", file.path),
                ));
            }
            if file.items.is_empty() {
                return Err(field_error(
                    "files.items",
                    format!("{}: lists no item", file.path),
                ));
            }
            for item in &file.items {
                let secret = SecretName {
                    namespace: item.namespace.clone(),
                    name: item.name.clone(),
                };
                let checked = items::check_namespace(&item.namespace)
                    .and_then(|()| items::check_name(&item.name))
                    .and_then(|()| items::check_key(&secret, &item.key));
                if let Err(e) = checked {
                    return Err(field_error("files.items", format!("{}: {e}", file.path)));
                }
                if item.id != items::item_id(&item.namespace, &item.name, &item.key) {
                    return Err(field_error(
                        "files.items.id",
                        format!("{:?} is not namespace/name/key of its item", item.id),
                    ));
                }
                let file_of_secret = secret_files.entry(secret).or_insert(&file.path);
                if *file_of_secret != file.path {
                    return Err(field_error(
                        "files.items",
                        format!(
                            "Secret {}/{} has items in both {} and {}",
                            item.namespace, item.name, file_of_secret, file.path
                        ),
                    ));
                }
                if !ids.insert(item.id.as_str()) {
                    return Err(field_error(
                        "files.items.id",
                        format!("item {} is listed twice", item.id),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), time::Duration::minutes(30));
        assert_eq!(parse_duration("24h").unwrap(), time::Duration::hours(24));
        assert_eq!(parse_duration("7d").unwrap(), time::Duration::days(7));
        for bad in [
            "",
            "h",
            "0h",
            "-1h",
            "1.5h",
            "24",
            "31d",
            "1w",
            " 1h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clean_paths() {
        for good in ["a.yaml", "apps/db.enc.yaml"] {
            assert!(is_clean_relative_path(good), "{good}");
        }
        for bad in ["", "/a", "a//b", "../a", "a/./b", "a\\b", "a/"] {
            assert!(!is_clean_relative_path(bad), "{bad}");
        }
    }

    fn sample() -> Challenge {
        Challenge {
            format: CHALLENGE_FORMAT_V1.into(),
            challenge_id: "00112233445566778899aabbccddeeff".into(),
            root_id: "0123456789abcdef0123456789abcdef".into(),
            authority: "openbao-prod".into(),
            nonce: STANDARD.encode([7u8; 32]),
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-02T00:00:00Z".into(),
            files: vec![ChallengeFile {
                path: "apps/db.enc.yaml".into(),
                sha256: "ab".repeat(32),
                items: vec![ChallengeItem {
                    id: "apps/db/password".into(),
                    namespace: "apps".into(),
                    name: "db".into(),
                    key: "password".into(),
                    field: Field::Data,
                }],
            }],
        }
    }

    /// Freezes the wire form: a change here is a format change.
    #[test]
    fn wire_form_is_frozen() {
        let text = String::from_utf8(sample().to_json().unwrap()).unwrap();
        let expected = r#"{
  "format": "ceremony.handover-challenge.v1",
  "challenge_id": "00112233445566778899aabbccddeeff",
  "root_id": "0123456789abcdef0123456789abcdef",
  "authority": "openbao-prod",
  "nonce": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
  "created_at": "2026-01-01T00:00:00Z",
  "expires_at": "2026-01-02T00:00:00Z",
  "files": [
    {
      "path": "apps/db.enc.yaml",
      "sha256": "abababababababababababababababababababababababababababababababab",
      "items": [
        {
          "id": "apps/db/password",
          "namespace": "apps",
          "name": "db",
          "key": "password",
          "field": "data"
        }
      ]
    }
  ]
}
"#;
        assert_eq!(text, expected);
        assert_eq!(Challenge::from_json(text.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn unknown_format_and_fields_are_refused() {
        let text = String::from_utf8(sample().to_json().unwrap()).unwrap();
        let v2 = text.replace("challenge.v1", "challenge.v2");
        assert!(matches!(
            Challenge::from_json(v2.as_bytes()),
            Err(ChallengeError::UnknownFormat { .. })
        ));
        let extra = text.replacen('{', "{\"extra\": 1,", 1);
        assert!(matches!(
            Challenge::from_json(extra.as_bytes()),
            Err(ChallengeError::Json { .. })
        ));
        let inner = text.replace("\"field\": \"data\"", "\"field\": \"data\", \"x\": 1");
        assert!(matches!(
            Challenge::from_json(inner.as_bytes()),
            Err(ChallengeError::Json { .. })
        ));
    }

    #[test]
    fn a_challenge_narrows_to_the_items_asked_for() {
        let mut c = sample();
        c.files[0].items.push(ChallengeItem {
            id: "apps/db/user".into(),
            namespace: "apps".into(),
            name: "db".into(),
            key: "user".into(),
            field: Field::StringData,
        });
        let mut other = c.files[0].clone();
        other.path = "flux/git.yaml".into();
        other.items = vec![ChallengeItem {
            id: "flux-system/git/identity".into(),
            namespace: "flux-system".into(),
            name: "git".into(),
            key: "identity".into(),
            field: Field::StringData,
        }];
        c.files.push(other);
        c.validate().unwrap();
        let item = |id| ItemRef::parse(id).unwrap();

        let narrowed = c.clone().only(&[item("apps/db/user")]).unwrap();
        assert_eq!(
            narrowed.files.len(),
            1,
            "the file without the item is left out"
        );
        let ids: Vec<_> = narrowed.items().map(|(_, i)| i.id.as_str()).collect();
        assert_eq!(ids, ["apps/db/user"]);
        // Same challenge otherwise: id, nonce, expiry, the file's digest.
        assert_eq!(narrowed.challenge_id, c.challenge_id);
        assert_eq!(narrowed.nonce, c.nonce);
        assert_eq!(narrowed.files[0].sha256, c.files[0].sha256);

        let err = c
            .only(&[
                item("apps/db/user"),
                item("apps/db/pasword"),
                item("apps/x/k"),
            ])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "not in any sealed file of the bootstrap directory: apps/db/pasword, apps/x/k"
        );
    }

    #[test]
    fn inconsistent_challenges_are_refused() {
        let mut c = sample();
        c.files[0].items[0].id = "apps/db/other".into();
        assert!(c.validate().is_err());
        let mut c = sample();
        c.files[0].path = "../db.yaml".into();
        assert!(c.validate().is_err());
        let mut c = sample();
        c.nonce = STANDARD.encode([7u8; 31]);
        assert!(c.validate().is_err());
        let mut c = sample();
        c.expires_at = c.created_at.clone();
        assert!(c.validate().is_err());
        let mut c = sample();
        c.files.push(c.files[0].clone());
        assert!(c.validate().is_err());
        // The same Secret split over two files.
        let mut c = sample();
        let mut second = c.files[0].clone();
        second.path = "apps/other.yaml".into();
        second.items[0].key = "user".into();
        second.items[0].id = "apps/db/user".into();
        c.files.push(second);
        assert!(c.validate().unwrap_err().to_string().contains("in both"));
    }
}
