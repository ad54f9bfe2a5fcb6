//! Containers for secret bytes.
//!
//! Every secret the tool handles (a root key, an unseal key, a Shamir share's y
//! bytes, a passphrase) lives in one of these types. They wipe their memory on
//! drop, print `<redacted>` under `Debug`, have no `Display` and no `Serialize`,
//! and hand their bytes out only through a visible, greppable `expose_secret()`.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Secret bytes of any length: wiped on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`; the caller's buffer is moved, not copied.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes` into a new secret. The caller remains responsible for
    /// wiping its own copy.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// Fills a new secret of `len` bytes from the operating system's CSPRNG.
    pub fn random(len: usize) -> Self {
        use rand::RngCore;
        let mut bytes = vec![0u8; len];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret bytes. Every call site is a place where the secret is used.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes, for filling in place.
    pub fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret has no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality, so comparing a rebuilt secret with an expected
    /// one leaks nothing through timing beyond the lengths.
    pub fn ct_eq(&self, other: &SecretBytes) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Lower-case hex of the secret, itself held in a wiping string.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.0))
    }

    /// Standard padded base64 of the secret, in a wiping string.
    pub fn to_base64(&self) -> Zeroizing<String> {
        use base64::Engine;
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<redacted {} bytes>)", self.0.len())
    }
}

/// A secret string such as a passphrase or an identity's text form.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretText(String);

impl SecretText {
    /// Takes ownership of `text`.
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// The secret text.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let secret = SecretBytes::from_slice(b"\xde\xad\xbe\xef");
        let shown = format!("{secret:?}");
        assert!(!shown.to_lowercase().contains("dead"), "{shown}");
        assert!(shown.contains("redacted"));
        let text = SecretText::new("hunter2".into());
        assert!(!format!("{text:?}").contains("hunter2"));
    }

    #[test]
    fn random_secrets_differ() {
        let a = SecretBytes::random(32);
        let b = SecretBytes::random(32);
        assert_eq!(a.len(), 32);
        assert!(!a.ct_eq(&b));
        assert!(a.ct_eq(&a.clone()));
    }
}
