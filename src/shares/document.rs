//! The share document: what one custodian holds, self-describing and
//! versioned, so a share found in a drawer years later says what it belongs to.
//!
//! The document is JSON and only ever exists in clear in memory: on disk it is
//! the plaintext of an age file (see [`super::sharefile`]). Its format is
//! documented in `docs/formats/share.md`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::shamir::{ShamirShare, Threshold};
use super::shareset::SetId;
use crate::secret::SecretBytes;

/// The format tag of version 1 share documents.
pub const SHARE_FORMAT_V1: &str = "ceremony.share.v1";

/// One custodian's share of one secret.
#[derive(Clone, Debug)]
pub struct ShareDocument {
    /// The share set this share belongs to.
    pub set_id: SetId,
    /// What the secret is (for example `unseal-key`).
    pub label: String,
    /// Who holds it.
    pub custodian: String,
    /// k of n.
    pub threshold: Threshold,
    /// The Shamir point.
    pub share: ShamirShare,
    /// Random bytes that make the public commitment hiding: without them a
    /// commitment to a short y could be brute-forced.
    pub blinding: SecretBytes,
}

/// The serialised form. It carries secret bytes (base64), so it wipes itself.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub(crate) struct Wire {
    format: String,
    set_id: String,
    label: String,
    custodian: String,
    threshold: usize,
    shares: usize,
    x: u8,
    y: String,
    blinding: String,
    checksum: String,
}

/// Why a decrypted share document cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentError {
    /// Not JSON of the expected shape.
    #[error("the decrypted content is not a ceremony share document ({0})")]
    Malformed(String),
    /// A newer or unknown format.
    #[error(
        "share format {found:?} is not supported by this version (expected {SHARE_FORMAT_V1:?}): use the ceremony version that made it"
    )]
    UnknownFormat {
        /// The format tag found.
        found: String,
    },
    /// The checksum does not match the content.
    #[error("the share's checksum does not match its content: the share is corrupted")]
    Checksum,
}

impl ShareDocument {
    /// Serialises the document into a wiping buffer.
    pub fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, DocumentError> {
        let wire = self.to_wire();
        // Sized up front so the buffer holding secret base64 is never
        // reallocated, which would leave an unwiped copy behind.
        let mut out = Zeroizing::new(Vec::with_capacity(4096 + 2 * self.share.y().len()));
        serde_json::to_writer_pretty(&mut *out, &wire)
            .map_err(|_| DocumentError::Malformed("the share could not be serialised".into()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// The serialisable form (for embedding in a larger document).
    pub(crate) fn to_wire(&self) -> Wire {
        Wire {
            format: SHARE_FORMAT_V1.to_owned(),
            set_id: self.set_id.to_string(),
            label: self.label.clone(),
            custodian: self.custodian.clone(),
            threshold: self.threshold.k(),
            shares: self.threshold.n(),
            x: self.share.x(),
            y: B64.encode(self.share.y().expose_secret()),
            blinding: B64.encode(self.blinding.expose_secret()),
            checksum: hex::encode(self.checksum()),
        }
    }

    /// Parses and checks a decrypted document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DocumentError> {
        // Look at the format tag first so a future version gets a clear
        // "unsupported" rather than a confusing field error.
        #[derive(Deserialize)]
        struct Tag {
            format: String,
        }
        let tag: Tag = serde_json::from_slice(bytes).map_err(|e| {
            DocumentError::Malformed(format!("line {}: {:?} error", e.line(), e.classify()))
        })?;
        if tag.format != SHARE_FORMAT_V1 {
            return Err(DocumentError::UnknownFormat { found: tag.format });
        }
        let wire: Wire = serde_json::from_slice(bytes).map_err(|e| {
            DocumentError::Malformed(format!("line {}: {:?} error", e.line(), e.classify()))
        })?;
        Self::from_wire(&wire)
    }

    /// Checks and converts the serialised form.
    pub(crate) fn from_wire(wire: &Wire) -> Result<Self, DocumentError> {
        if wire.format != SHARE_FORMAT_V1 {
            return Err(DocumentError::UnknownFormat {
                found: wire.format.clone(),
            });
        }
        let set_id = wire
            .set_id
            .parse::<SetId>()
            .map_err(DocumentError::Malformed)?;
        let threshold = Threshold::new(wire.threshold, wire.shares)
            .map_err(|e| DocumentError::Malformed(e.to_string()))?;
        let y = Zeroizing::new(
            B64.decode(wire.y.as_bytes())
                .map_err(|_| DocumentError::Malformed("y is not base64".into()))?,
        );
        let blinding = SecretBytes::new(
            B64.decode(wire.blinding.as_bytes())
                .map_err(|_| DocumentError::Malformed("blinding is not base64".into()))?,
        );
        let share = ShamirShare::new(wire.x, SecretBytes::from_slice(&y))
            .map_err(|e| DocumentError::Malformed(e.to_string()))?;
        let document = Self {
            set_id,
            label: wire.label.clone(),
            custodian: wire.custodian.clone(),
            threshold,
            share,
            blinding,
        };
        let stated = hex::decode(&wire.checksum).map_err(|_| DocumentError::Checksum)?;
        if !bool::from(document.checksum().as_slice().ct_eq(&stated)) {
            return Err(DocumentError::Checksum);
        }
        Ok(document)
    }

    /// SHA-256 over every field, length-prefixed, so any change is caught even
    /// where the outer age layer is not (a share retyped from paper).
    fn checksum(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        feed(&mut h, b"ceremony.share.checksum.v1");
        feed(&mut h, self.set_id.to_string().as_bytes());
        feed(&mut h, self.label.as_bytes());
        feed(&mut h, self.custodian.as_bytes());
        feed(
            &mut h,
            &[
                self.threshold.k() as u8,
                self.threshold.n() as u8,
                self.share.x(),
            ],
        );
        feed(&mut h, self.share.y().expose_secret());
        feed(&mut h, self.blinding.expose_secret());
        h.finalize().into()
    }

    /// The public commitment to this share, as recorded in `shareset.json`:
    /// `sha256:<hex>` of a domain tag, the set id, the custodian, x, the
    /// blinding bytes and y. It binds the share without revealing it.
    pub fn commitment(&self) -> String {
        let mut h = Sha256::new();
        feed(&mut h, b"ceremony.share.commitment.v1");
        feed(&mut h, self.set_id.to_string().as_bytes());
        feed(&mut h, self.custodian.as_bytes());
        feed(&mut h, &[self.share.x()]);
        feed(&mut h, self.blinding.expose_secret());
        feed(&mut h, self.share.y().expose_secret());
        format!("sha256:{}", hex::encode(h.finalize()))
    }
}

/// Feeds `bytes` with a 64-bit big-endian length prefix, so field boundaries
/// cannot be shifted to forge a collision.
fn feed(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// The key check value of a secret: `hmac-sha256:<hex>` of a fixed domain tag
/// keyed by the secret. It lets a rebuilt secret be recognised without
/// storing it. For a high-entropy key (32 random bytes) it reveals nothing;
/// for a guessable secret it lets a guess be confirmed, so only split keys.
pub fn key_check_value(secret: &SecretBytes) -> String {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length; new_from_slice cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose_secret()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(b"ceremony.key-check-value.v1");
    format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time comparison of two check values or commitments (public
/// strings, but compared without an early exit as a matter of course).
pub fn same_check(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    fn document() -> ShareDocument {
        let threshold = Threshold::new(2, 3).unwrap();
        let shares =
            super::super::shamir::split(&SecretBytes::random(32), threshold, &mut OsRng).unwrap();
        ShareDocument {
            set_id: SetId::random(),
            label: "unseal-key".into(),
            custodian: "alice".into(),
            threshold,
            share: shares[0].clone(),
            blinding: SecretBytes::random(32),
        }
    }

    #[test]
    fn round_trips() {
        let doc = document();
        let json = doc.to_json().unwrap();
        let back = ShareDocument::from_json(&json).unwrap();
        assert_eq!(
            back.share.y().expose_secret(),
            doc.share.y().expose_secret()
        );
        assert_eq!(back.commitment(), doc.commitment());
    }

    #[test]
    fn any_changed_field_breaks_the_checksum() {
        let doc = document();
        let json = String::from_utf8(doc.to_json().unwrap().to_vec()).unwrap();
        let edited = json.replace("\"alice\"", "\"mallory\"");
        assert_eq!(
            ShareDocument::from_json(edited.as_bytes()).unwrap_err(),
            DocumentError::Checksum
        );
        let x = doc.share.x();
        let other_x = if x == 255 { 254 } else { x + 1 };
        let edited = json.replace(&format!("\"x\": {x},"), &format!("\"x\": {other_x},"));
        assert_eq!(
            ShareDocument::from_json(edited.as_bytes()).unwrap_err(),
            DocumentError::Checksum
        );
    }

    #[test]
    fn unknown_format_is_named() {
        let err = ShareDocument::from_json(br#"{"format":"ceremony.share.v9"}"#).unwrap_err();
        assert!(matches!(err, DocumentError::UnknownFormat { .. }));
        assert!(matches!(
            ShareDocument::from_json(b"hello").unwrap_err(),
            DocumentError::Malformed(_)
        ));
    }

    #[test]
    fn key_check_value_depends_on_every_byte() {
        let a = SecretBytes::from_slice(&[7u8; 32]);
        let mut b_bytes = [7u8; 32];
        b_bytes[31] ^= 1;
        let b = SecretBytes::from_slice(&b_bytes);
        assert_ne!(key_check_value(&a), key_check_value(&b));
        assert!(same_check(
            &key_check_value(&a),
            &key_check_value(&a.clone())
        ));
        assert!(!key_check_value(&a).contains(&hex::encode([7u8; 4])));
    }
}
