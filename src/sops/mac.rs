//! The file MAC (sops: `sops.go` `Tree.Encrypt`/`Tree.Decrypt`,
//! `cmd/sops/common/common.go` `EncryptTree`/`DecryptTree`).
//!
//! SHA-512 over the canonical plaintext bytes of every non-null, non-comment
//! leaf in walk order, with nothing in between: no keys, no lengths, no types.
//! Keys are bound only through each value's additional data, so renaming an
//! *unencrypted* key is not detected (a sops property, kept for
//! compatibility). With `mac_only_encrypted` the hash is seeded with
//! `SHA-256("sops")` and only encrypted leaves count.
//!
//! The hex digest (upper case) is itself encrypted with the data key and the
//! `lastmodified` text as additional data.

use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Error;
use super::cipher::{self, EncryptedValue, ValueType};
use super::tree::GoTime;
use crate::secret::SecretBytes;

/// Running MAC over leaves in walk order.
pub struct MacHasher {
    hash: Sha512,
    only_encrypted: bool,
}

impl MacHasher {
    /// Starts a MAC; seeds it for `mac_only_encrypted` files
    /// (`MACOnlyEncryptedInitialization` = SHA-256 of "sops").
    pub fn new(only_encrypted: bool) -> Self {
        let mut hash = Sha512::new();
        if only_encrypted {
            hash.update(Sha256::digest(b"sops"));
        }
        Self {
            hash,
            only_encrypted,
        }
    }

    /// Feeds one leaf's canonical bytes if the MAC covers it.
    pub fn feed(&mut self, canonical: &[u8], encrypted: bool) {
        if !self.only_encrypted || encrypted {
            self.hash.update(canonical);
        }
    }

    /// Upper-case hex of the digest (Go `%X`).
    pub fn finish(self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode_upper(self.hash.finalize()))
    }
}

/// The `lastmodified` stamp: now, UTC, at second precision.
pub fn lastmodified(clock: &dyn crate::clock::Clock) -> String {
    clock.now_rfc3339()
}

/// Encrypts the MAC with `lastmodified` as additional data (no trailing
/// colon).
pub fn seal_mac(key: &SecretBytes, mac_hex: &str, lastmodified: &str) -> Result<String, Error> {
    cipher::seal(
        key,
        mac_hex.as_bytes(),
        lastmodified.as_bytes(),
        ValueType::Str,
    )
}

/// Checks a computed MAC against the stored one. The stored MAC is opened
/// with `lastmodified` parsed and re-formatted at second precision, as sops
/// does (`DecryptTree`), so `…10.000Z` still verifies and an offset is kept.
pub fn verify_mac(
    key: &SecretBytes,
    stored_mac: &str,
    lastmodified: &str,
    computed_hex: &str,
) -> Result<(), Error> {
    // sops: `DecryptTree` reports an empty MAC as "no MAC".
    if stored_mac.trim().is_empty() {
        return Err(Error::MacMissing);
    }
    let aad = GoTime::parse_rfc3339(lastmodified)
        .ok_or(Error::InvalidMetadata {
            field: "lastmodified".into(),
            reason: "not an RFC 3339 time".into(),
        })?
        .to_rfc3339_seconds();
    let parsed = EncryptedValue::parse(stored_mac.as_bytes()).ok_or(Error::MacUndecryptable)?;
    let opened = cipher::open(key, &parsed, aad.as_bytes()).ok_or(Error::MacUndecryptable)?;
    if bool::from(opened.expose_secret().ct_eq(computed_hex.as_bytes())) {
        Ok(())
    } else {
        Err(Error::MacMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_mac_and_seeded_mac_differ() {
        let plain = MacHasher::new(false).finish();
        let seeded = MacHasher::new(true).finish();
        assert_eq!(plain.len(), 128);
        assert_eq!(plain.to_uppercase(), *plain);
        assert_ne!(plain, seeded);
    }

    #[test]
    fn only_encrypted_skips_plain_leaves() {
        let mut a = MacHasher::new(true);
        a.feed(b"x", true);
        a.feed(b"y", false);
        let mut b = MacHasher::new(true);
        b.feed(b"x", true);
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn mac_round_trip_and_lastmodified_binding() {
        let key = SecretBytes::from_slice(&[1u8; 32]);
        let lm = "2026-11-26T13:24:10Z";
        let sealed = seal_mac(&key, "ABCD", lm).unwrap();
        verify_mac(&key, &sealed, lm, "ABCD").unwrap();
        verify_mac(&key, &sealed, "2026-11-26T13:24:10.000Z", "ABCD").unwrap();
        assert!(matches!(
            verify_mac(&key, &sealed, lm, "ABCE"),
            Err(Error::MacMismatch)
        ));
        assert!(matches!(
            verify_mac(&key, &sealed, "2026-11-26T13:24:11Z", "ABCD"),
            Err(Error::MacUndecryptable)
        ));
    }

    #[test]
    fn lastmodified_is_rfc3339_seconds() {
        let lm = lastmodified(&crate::clock::SystemClock);
        assert_eq!(lm.len(), 20, "{lm}");
        assert!(lm.ends_with('Z'));
    }
}
