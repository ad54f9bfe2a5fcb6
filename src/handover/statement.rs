//! The in-toto Statement v1 that a handover receipt's envelope carries.
//!
//! Spec: in-toto Statement v1 (github.com/in-toto/attestation,
//! `spec/v1/statement.md`). A statement binds
//! subjects (here: the sealed bootstrap files, by SHA-256) to a typed
//! predicate. The receipt predicate itself is defined by the receipt layer;
//! this module keeps it as generic JSON.
//!
//! Stricter than in-toto, on purpose: ceremony writes and reads its own
//! receipts, so unknown fields are rejected rather than ignored, every
//! subject must carry exactly one digest (`sha256`, lowercase hex), and
//! subject names must be non-empty and unique. See
//! `docs/handover-signatures.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::dsse::Envelope;

/// The DSSE `payloadType` of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE_V1: &str = "https://in-toto.io/Statement/v1";

/// A SHA-256 digest of a subject.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// Lowercase hex, as in-toto's `DigestSet` wants it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        // in-toto field_types.md: hex digests are lowercase. `hex` would also
        // take uppercase, which would give one digest two spellings.
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

/// One thing the statement is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// The subject's name, e.g. the sealed file's path relative to the
    /// ceremony directory.
    pub name: String,
    /// Its SHA-256 digest.
    pub sha256: Sha256Digest,
}

/// An in-toto Statement v1.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// What the statement is about. Never empty.
    pub subjects: Vec<Subject>,
    /// A URI naming the predicate's schema and version.
    pub predicate_type: String,
    /// The predicate, opaque to this module.
    pub predicate: serde_json::Value,
}

/// Why a statement could not be read or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The envelope does not say it carries an in-toto statement.
    #[error("envelope payloadType is {found:?}, expected {PAYLOAD_TYPE:?}")]
    PayloadType {
        /// The `payloadType` found.
        found: String,
    },
    /// The payload is not a statement as ceremony writes it.
    #[error("in-toto statement: {reason}")]
    Json {
        /// What serde_json reported.
        reason: String,
    },
    /// `_type` is not Statement v1.
    #[error("in-toto statement `_type` is {found:?}, expected {STATEMENT_TYPE_V1:?}")]
    StatementType {
        /// The `_type` found.
        found: String,
    },
    /// No subjects.
    #[error("in-toto statement has no subjects; it must name at least one")]
    NoSubjects,
    /// A subject has an empty name.
    #[error("in-toto statement subject {index} has an empty name")]
    EmptySubjectName {
        /// Position in `subject`, from 0.
        index: usize,
    },
    /// Two subjects share a name.
    #[error("in-toto statement names subject {name:?} twice")]
    DuplicateSubject {
        /// The repeated name.
        name: String,
    },
    /// A subject's digest set is not exactly one lowercase hex sha256.
    #[error(
        "in-toto statement subject {name:?}: digest must be exactly {{\"sha256\": <64 lowercase hex digits>}}"
    )]
    Digest {
        /// The subject's name.
        name: String,
    },
    /// `predicateType` is empty.
    #[error("in-toto statement `predicateType` is empty")]
    EmptyPredicateType,
}

impl Statement {
    /// Checks the rules in the module documentation.
    pub fn validate(&self) -> Result<(), StatementError> {
        if self.subjects.is_empty() {
            return Err(StatementError::NoSubjects);
        }
        let mut seen = BTreeSet::new();
        for (index, subject) in self.subjects.iter().enumerate() {
            if subject.name.is_empty() {
                return Err(StatementError::EmptySubjectName { index });
            }
            if !seen.insert(subject.name.as_str()) {
                return Err(StatementError::DuplicateSubject {
                    name: subject.name.clone(),
                });
            }
        }
        if self.predicate_type.is_empty() {
            return Err(StatementError::EmptyPredicateType);
        }
        Ok(())
    }

    /// The payload bytes: compact JSON in the field order of the in-toto spec.
    pub fn to_payload(&self) -> Result<Vec<u8>, StatementError> {
        self.validate()?;
        serde_json::to_vec(&wire::Statement::from_statement(self)).map_err(|e| {
            StatementError::Json {
                reason: e.to_string(),
            }
        })
    }

    /// Parses and validates payload bytes.
    pub fn from_payload(bytes: &[u8]) -> Result<Self, StatementError> {
        // Two readers must never see two different statements in one
        // signed payload.
        crate::json::reject_duplicate_keys(bytes).map_err(|e| StatementError::Json {
            reason: e.to_string(),
        })?;
        let wire: wire::Statement =
            serde_json::from_slice(bytes).map_err(|e| StatementError::Json {
                reason: e.to_string(),
            })?;
        let statement = wire.into_statement()?;
        statement.validate()?;
        Ok(statement)
    }

    /// An unsigned envelope carrying this statement.
    pub fn to_envelope(&self) -> Result<Envelope, StatementError> {
        Ok(Envelope::unsigned(PAYLOAD_TYPE, self.to_payload()?))
    }

    /// Reads the statement out of an envelope, checking its `payloadType`.
    ///
    /// # Security
    ///
    /// This does not check signatures. Call [`super::verify::verify`] first
    /// and read the statement only from an envelope that passed.
    pub fn from_envelope(envelope: &Envelope) -> Result<Self, StatementError> {
        if envelope.payload_type != PAYLOAD_TYPE {
            return Err(StatementError::PayloadType {
                found: envelope.payload_type.clone(),
            });
        }
        Self::from_payload(&envelope.payload)
    }
}

mod wire {
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Statement {
        #[serde(rename = "_type")]
        pub(super) type_: String,
        pub(super) subject: Vec<Subject>,
        #[serde(rename = "predicateType")]
        pub(super) predicate_type: String,
        pub(super) predicate: serde_json::Value,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Subject {
        pub(super) name: String,
        // A map rather than a struct so that a digest set with another
        // algorithm gets our own clear error rather than serde's.
        pub(super) digest: BTreeMap<String, String>,
    }

    impl Statement {
        pub(super) fn from_statement(s: &super::Statement) -> Self {
            Self {
                type_: STATEMENT_TYPE_V1.to_owned(),
                subject: s
                    .subjects
                    .iter()
                    .map(|sub| Subject {
                        name: sub.name.clone(),
                        digest: BTreeMap::from([("sha256".to_owned(), sub.sha256.to_hex())]),
                    })
                    .collect(),
                predicate_type: s.predicate_type.clone(),
                predicate: s.predicate.clone(),
            }
        }

        pub(super) fn into_statement(self) -> Result<super::Statement, StatementError> {
            if self.type_ != STATEMENT_TYPE_V1 {
                return Err(StatementError::StatementType { found: self.type_ });
            }
            let subjects = self
                .subject
                .into_iter()
                .map(|sub| {
                    let digest = match (sub.digest.len(), sub.digest.get("sha256")) {
                        (1, Some(hex)) => Sha256Digest::from_hex(hex),
                        _ => None,
                    };
                    match digest {
                        Some(sha256) => Ok(super::Subject {
                            name: sub.name,
                            sha256,
                        }),
                        None => Err(StatementError::Digest { name: sub.name }),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(super::Statement {
                subjects,
                predicate_type: self.predicate_type,
                predicate: self.predicate,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Statement {
        Statement {
            subjects: vec![Subject {
                name: "bootstrap/vault-unseal.enc.yaml".into(),
                sha256: Sha256Digest([0xab; 32]),
            }],
            predicate_type: "https://example.invalid/predicate/v1".into(),
            predicate: serde_json::json!({"k": "v"}),
        }
    }

    #[test]
    fn round_trips_through_an_envelope() {
        let s = sample();
        let env = s.to_envelope().unwrap();
        assert_eq!(env.payload_type, PAYLOAD_TYPE);
        let text = String::from_utf8(env.payload.clone()).unwrap();
        assert!(text.starts_with(r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"#));
        assert_eq!(Statement::from_envelope(&env).unwrap(), s);
    }

    #[test]
    fn a_statement_with_a_repeated_key_is_refused() {
        let text = String::from_utf8(sample().to_payload().unwrap()).unwrap();
        let forged = text.replace(r#""k":"v""#, r#""k":"evil","k":"v""#);
        assert_ne!(forged, text);
        let err = Statement::from_payload(forged.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    #[test]
    fn rejects_wrong_type_and_payload_type() {
        let mut env = sample().to_envelope().unwrap();
        env.payload_type = "application/json".into();
        assert!(matches!(
            Statement::from_envelope(&env),
            Err(StatementError::PayloadType { .. })
        ));
        let text = String::from_utf8(sample().to_payload().unwrap())
            .unwrap()
            .replace("Statement/v1", "Statement/v0.1");
        assert!(matches!(
            Statement::from_payload(text.as_bytes()),
            Err(StatementError::StatementType { .. })
        ));
    }

    #[test]
    fn rejects_bad_digests() {
        let good = String::from_utf8(sample().to_payload().unwrap()).unwrap();
        let hex = "ab".repeat(32);
        for bad in [
            good.replace(&hex, &"AB".repeat(32)),
            good.replace(&hex, &"ab".repeat(31)),
            good.replace(&hex, &format!("{}zz", "ab".repeat(31))),
            good.replace("\"sha256\"", "\"sha512\""),
            good.replace(
                &format!("\"sha256\":\"{hex}\""),
                &format!("\"sha256\":\"{hex}\",\"sha1\":\"00\""),
            ),
        ] {
            assert!(
                matches!(
                    Statement::from_payload(bad.as_bytes()),
                    Err(StatementError::Digest { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_empty_and_duplicate_subjects_and_unknown_fields() {
        let mut s = sample();
        s.subjects.clear();
        assert!(matches!(s.to_payload(), Err(StatementError::NoSubjects)));
        let mut s = sample();
        s.subjects.push(s.subjects[0].clone());
        assert!(matches!(
            s.to_payload(),
            Err(StatementError::DuplicateSubject { .. })
        ));
        let good = String::from_utf8(sample().to_payload().unwrap()).unwrap();
        let extra = good.replacen('{', r#"{"extra":true,"#, 1);
        assert!(matches!(
            Statement::from_payload(extra.as_bytes()),
            Err(StatementError::Json { .. })
        ));
    }
}
