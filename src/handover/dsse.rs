//! The DSSE envelope that carries a handover receipt, and its pre-authentication
//! encoding (PAE).
//!
//! Spec: DSSE v1 (github.com/secure-systems-lab/dsse), `protocol.md` and
//! `envelope.md`. Every signature covers
//! [`pae`]`(payloadType, payload)`, never the base64 text of the JSON, so the
//! envelope's encoding can change without touching what was signed.
//!
//! This module only models and encodes the envelope. It knows nothing about
//! signature schemes or trust; see [`super::scheme`] and [`mod@super::verify`].
//!
//! Decisions that are stricter than DSSE (documented in
//! `docs/handover-signatures.md`):
//!
//! - Unknown fields in the envelope or in a signature are rejected. DSSE lets
//!   producers extend the envelope, but ceremony is the only producer of
//!   receipts and an unknown field would be unsigned content a reader might
//!   mistake for part of the receipt.
//! - `payload` and `sig` must be standard base64 with canonical padding
//!   (RFC 4648 §4). DSSE also allows URL-safe and unpadded forms; accepting
//!   one encoding only means one receipt has one byte form.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The DSSE envelope: a typed payload and the signatures over its PAE bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// What the payload is, e.g. [`super::statement::PAYLOAD_TYPE`]. Signed
    /// (it is part of the PAE).
    pub payload_type: String,
    /// The payload bytes (decoded from base64). Signed.
    pub payload: Vec<u8>,
    /// Signatures over [`Envelope::pae`]. May be empty for an unsigned receipt.
    pub signatures: Vec<Signature>,
}

/// One DSSE signature entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    /// Which key claims to have signed. DSSE: "NOT authenticated": anyone who
    /// can edit the envelope can change it, so a verifier uses it only as a
    /// hint and as a consistency check after the cryptographic check.
    pub keyid: Option<String>,
    /// The signature bytes, encoded per scheme (see `docs/handover-signatures.md`).
    pub sig: Vec<u8>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads can be long; the length and type are what a reader of a
        // debug log needs. Nothing here is secret.
        f.debug_struct("Envelope")
            .field("payload_type", &self.payload_type)
            .field("payload_len", &self.payload.len())
            .field("signatures", &self.signatures)
            .finish()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("keyid", &self.keyid)
            .field("sig_len", &self.sig.len())
            .finish()
    }
}

/// Why an envelope could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The text is not a DSSE envelope as ceremony writes it (bad JSON, a
    /// missing or unknown field, a wrong type).
    #[error("not a DSSE envelope: {reason}")]
    Json {
        /// What serde_json reported, with line and column.
        reason: String,
    },
    /// `payload` is not canonical standard base64.
    #[error(
        "DSSE envelope field `payload` is not canonical standard base64 (RFC 4648 with padding)"
    )]
    PayloadBase64,
    /// A signature's `sig` is not canonical standard base64.
    #[error(
        "DSSE signature {index}: field `sig` is not canonical standard base64 (RFC 4648 with padding)"
    )]
    SigBase64 {
        /// Position of the signature in `signatures`, from 0.
        index: usize,
    },
    /// `payloadType` is empty.
    #[error("DSSE envelope field `payloadType` is empty")]
    EmptyPayloadType,
}

/// The pre-authentication encoding that every signature covers.
///
/// DSSE `protocol.md`: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`,
/// SP one 0x20 byte, LEN the byte length in ASCII decimal without leading
/// zeros. Lengths are of the UTF-8 bytes of `payload_type`, not its chars.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        6 + 1 + type_len.len() + 1 + payload_type.len() + 1 + body_len.len() + 1 + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// An envelope with no signatures yet.
    pub fn unsigned(payload_type: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            payload_type: payload_type.into(),
            payload,
            signatures: Vec::new(),
        }
    }

    /// The exact bytes a signer must sign (and a verifier checks): the PAE of
    /// this envelope's type and payload.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Parses the JSON form. Strict: see the module documentation.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        crate::json::reject_duplicate_keys(bytes).map_err(|e| EnvelopeError::Json {
            reason: e.to_string(),
        })?;
        let wire: wire::Envelope =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Json {
                reason: e.to_string(),
            })?;
        wire.into_envelope()
    }

    /// The JSON form: pretty-printed, fields in DSSE's documented order,
    /// ending in a newline. [`Envelope::from_json`] reads it back to an equal
    /// envelope and the same text.
    pub fn to_json(&self) -> Result<String, EnvelopeError> {
        let wire = wire::Envelope::from_envelope(self);
        let mut text = serde_json::to_string_pretty(&wire).map_err(|e| EnvelopeError::Json {
            reason: e.to_string(),
        })?;
        text.push('\n');
        Ok(text)
    }
}

/// The serde shape of the envelope, kept apart from [`Envelope`] so the
/// domain type holds decoded bytes and the wire type holds base64 text.
mod wire {
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Envelope {
        pub(super) payload: String,
        #[serde(rename = "payloadType")]
        pub(super) payload_type: String,
        pub(super) signatures: Vec<Signature>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Signature {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(super) keyid: Option<String>,
        pub(super) sig: String,
    }

    impl Envelope {
        pub(super) fn from_envelope(env: &super::Envelope) -> Self {
            Self {
                payload: STANDARD.encode(&env.payload),
                payload_type: env.payload_type.clone(),
                signatures: env
                    .signatures
                    .iter()
                    .map(|s| Signature {
                        keyid: s.keyid.clone(),
                        sig: STANDARD.encode(&s.sig),
                    })
                    .collect(),
            }
        }

        pub(super) fn into_envelope(self) -> Result<super::Envelope, EnvelopeError> {
            if self.payload_type.is_empty() {
                return Err(EnvelopeError::EmptyPayloadType);
            }
            // `STANDARD` requires canonical padding and zero trailing bits, so
            // each byte string has exactly one accepted text form.
            let payload = STANDARD
                .decode(self.payload.as_bytes())
                .map_err(|_| EnvelopeError::PayloadBase64)?;
            let signatures = self
                .signatures
                .into_iter()
                .enumerate()
                .map(|(index, s)| {
                    let sig = STANDARD
                        .decode(s.sig.as_bytes())
                        .map_err(|_| EnvelopeError::SigBase64 { index })?;
                    Ok(super::Signature {
                        keyid: s.keyid,
                        sig,
                    })
                })
                .collect::<Result<Vec<_>, EnvelopeError>>()?;
            Ok(super::Envelope {
                payload_type: self.payload_type,
                payload,
                signatures,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("application/vnd.in-toto+json", b"{}"),
            b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec()
        );
    }

    #[test]
    fn pae_of_empty_type_and_body() {
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn pae_counts_bytes_not_chars() {
        // "é" is two UTF-8 bytes.
        assert_eq!(pae("é", b"ab"), "DSSEv1 2 é 2 ab".as_bytes().to_vec());
    }

    #[test]
    fn json_round_trips_byte_for_byte() {
        let env = Envelope {
            payload_type: "application/vnd.in-toto+json".into(),
            payload: b"{\"a\":1}".to_vec(),
            signatures: vec![
                Signature {
                    keyid: Some("ed25519:SHA256:abc".into()),
                    sig: vec![1, 2, 3],
                },
                Signature {
                    keyid: None,
                    sig: vec![0xff; 64],
                },
            ],
        };
        let text = env.to_json().unwrap();
        let back = Envelope::from_json(text.as_bytes()).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.to_json().unwrap(), text);
        assert!(text.ends_with("}\n"));
        assert!(!text.contains("\"keyid\": null"));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let top = r#"{"payload":"e30=","payloadType":"t","signatures":[],"extra":1}"#;
        assert!(matches!(
            Envelope::from_json(top.as_bytes()),
            Err(EnvelopeError::Json { .. })
        ));
        let inner = r#"{"payload":"e30=","payloadType":"t","signatures":[{"sig":"AA==","x":1}]}"#;
        assert!(matches!(
            Envelope::from_json(inner.as_bytes()),
            Err(EnvelopeError::Json { .. })
        ));
    }

    #[test]
    fn duplicate_fields_are_rejected() {
        let dup = r#"{"payload":"e30=","payload":"e30=","payloadType":"t","signatures":[]}"#;
        assert!(matches!(
            Envelope::from_json(dup.as_bytes()),
            Err(EnvelopeError::Json { .. })
        ));
    }

    #[test]
    fn non_canonical_base64_is_rejected() {
        for payload in ["e30", "e31=", "e3-_", "e30=\\n", " e30="] {
            let text = format!(r#"{{"payload":"{payload}","payloadType":"t","signatures":[]}}"#);
            assert!(
                matches!(
                    Envelope::from_json(text.as_bytes()),
                    Err(EnvelopeError::PayloadBase64)
                ),
                "{payload:?}"
            );
        }
        let sig = r#"{"payload":"e30=","payloadType":"t","signatures":[{"sig":"AB=="}]}"#;
        assert!(matches!(
            Envelope::from_json(sig.as_bytes()),
            Err(EnvelopeError::SigBase64 { index: 0 })
        ));
    }

    #[test]
    fn missing_signatures_field_is_rejected() {
        let text = r#"{"payload":"e30=","payloadType":"t"}"#;
        assert!(Envelope::from_json(text.as_bytes()).is_err());
    }

    #[test]
    fn empty_payload_type_is_rejected() {
        let text = r#"{"payload":"e30=","payloadType":"","signatures":[]}"#;
        assert!(matches!(
            Envelope::from_json(text.as_bytes()),
            Err(EnvelopeError::EmptyPayloadType)
        ));
    }
}
