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

/// A secret of exactly `N` bytes (a key): wiped on drop, never printed.
///
/// The bytes live on the heap, so moving the value moves a pointer and
/// leaves no copy of the key behind on the stack.
#[derive(Clone)]
pub struct SecretArray<const N: usize>(Box<[u8; N]>);

impl<const N: usize> SecretArray<N> {
    /// Fills a new secret from the operating system's CSPRNG.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut out = Self(Box::new([0u8; N]));
        rand::rngs::OsRng.fill_bytes(out.0.as_mut_slice());
        out
    }

    /// Copies `bytes` if it is exactly `N` long. The caller remains
    /// responsible for wiping its own copy.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != N {
            return None;
        }
        let mut out = Self(Box::new([0u8; N]));
        out.0.copy_from_slice(bytes);
        Some(out)
    }

    /// The secret bytes. Every call site is a place where the secret is used.
    pub fn expose_secret(&self) -> &[u8; N] {
        &self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }

    /// A variable-length copy, for code that works on any secret (Shamir).
    pub fn to_secret_bytes(&self) -> SecretBytes {
        SecretBytes::from_slice(self.0.as_slice())
    }

    /// Standard padded base64 of the secret, in a wiping string.
    pub fn to_base64(&self) -> Zeroizing<String> {
        use base64::Engine;
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0.as_slice()))
    }
}

impl<const N: usize> Drop for SecretArray<N> {
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
    }
}

impl<const N: usize> fmt::Debug for SecretArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretArray<{N}>(<redacted>)")
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
    fn fixed_size_secrets_refuse_other_lengths_and_hide_their_bytes() {
        assert!(SecretArray::<32>::from_slice(&[1; 31]).is_none());
        let key = SecretArray::<4>::from_slice(b"\xde\xad\xbe\xef").unwrap();
        assert!(!format!("{key:?}").to_lowercase().contains("dead"));
        assert!(key.ct_eq(&key.clone()));
        assert!(!SecretArray::<32>::random().ct_eq(&SecretArray::<32>::random()));
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
