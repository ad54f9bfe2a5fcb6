//! The three secrets of the root of trust, each its own fixed-size type.
//!
//! A [`BootstrapKey`] can only become an age identity, an [`UnsealKey`] only
//! an OpenBao static-seal key, a [`SigningSeed`] only an ed25519 signing key:
//! handing one where another is expected is a compile error, not a wrong key
//! in production. All three are 32 bytes, generated together in memory only
//! ([`RootSecrets::generate`]), and each is split among the custodians with
//! its own threshold.

use bech32::{ToBase32, Variant};
use zeroize::{Zeroize, Zeroizing};

use super::manifest::{Retiring, RootBody};
use crate::secret::{SecretArray, SecretBytes, SecretText};

/// Length of every root secret.
pub const ROOT_KEY_LEN: usize = 32;

/// Which root secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RootSecret {
    /// The age X25519 identity that bootstrap manifests in Git are sealed to.
    Bootstrap,
    /// The 32-byte unseal key of the runtime authority (OpenBao static seal).
    Unseal,
    /// The ed25519 key that signs root.json and ceremony transcripts.
    Signing,
}

impl RootSecret {
    /// All three, in manifest order.
    pub const ALL: [RootSecret; 3] = [
        RootSecret::Bootstrap,
        RootSecret::Unseal,
        RootSecret::Signing,
    ];

    /// The share-set label in root.json and in every share.
    pub fn label(self) -> &'static str {
        match self {
            RootSecret::Bootstrap => "bootstrap-key",
            RootSecret::Unseal => "unseal-key",
            RootSecret::Signing => "signing-key",
        }
    }

    /// The key of its threshold in a custodians file's `[threshold]` table.
    pub fn threshold_name(self) -> &'static str {
        match self {
            RootSecret::Bootstrap => "bootstrap",
            RootSecret::Unseal => "unseal",
            RootSecret::Signing => "signing",
        }
    }

    /// The share-set label of this secret while it is retiring (the
    /// signing key never retires: the new one is endorsed by the old).
    pub fn previous_label(self) -> Option<&'static str> {
        match self {
            RootSecret::Bootstrap => Some("previous-bootstrap-key"),
            RootSecret::Unseal => Some("previous-unseal-key"),
            RootSecret::Signing => None,
        }
    }

    /// Parses a label back.
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }
}

/// A rebuilt root secret that disagrees with the manifest's public value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its {what}")]
pub struct Mismatch {
    /// What differs, in words.
    pub what: &'static str,
}

/// One of the three root keys, as the type system sees it.
pub trait RootKey: Sized {
    /// Which secret this is.
    const SECRET: RootSecret;

    /// Wraps rebuilt bytes.
    fn from_array(bytes: SecretArray<ROOT_KEY_LEN>) -> Self;

    /// The bytes, for splitting.
    fn as_array(&self) -> &SecretArray<ROOT_KEY_LEN>;

    /// Checks the key against the public value root.json records for it.
    fn check_against(&self, body: &RootBody) -> Result<(), Mismatch>;
}

/// A root key the runtime keeps using for a while after it is replaced:
/// the bootstrap identity (Flux, until Git is moved) and the unseal key
/// (OpenBao, until it has rewrapped). The signing key is not one.
pub trait Retirable: RootKey {
    /// Checks the key against what root.json records of it as retiring.
    fn check_retiring(&self, retiring: &Retiring) -> Result<(), Mismatch>;
}

/// The age prefix of secret keys (bech32 human-readable part).
const AGE_SECRET_HRP: &str = "age-secret-key-";

/// The bootstrap age identity's 32 raw X25519 bytes.
pub struct BootstrapKey(SecretArray<ROOT_KEY_LEN>);

impl BootstrapKey {
    /// The identity text (`AGE-SECRET-KEY-1…`), exactly as `age-keygen`
    /// writes it.
    pub fn identity_text(&self) -> Result<SecretText, EncodingError> {
        let mut encoded = bech32::encode(
            AGE_SECRET_HRP,
            self.0.expose_secret().to_base32(),
            Variant::Bech32,
        )
        .map_err(|_| EncodingError)?;
        let text = SecretText::new(encoded.to_uppercase());
        encoded.zeroize();
        Ok(text)
    }

    /// The identity, to open what is sealed to the bootstrap recipient.
    pub fn identity(&self) -> Result<crate::x25519::Identity, EncodingError> {
        crate::x25519::Identity::from_secret(self.0.expose_secret()).map_err(|_| EncodingError)
    }

    /// The age crate's form of the identity.
    #[cfg(test)]
    fn age_identity(&self) -> Result<age::x25519::Identity, EncodingError> {
        let text = self.identity_text()?;
        std::str::FromStr::from_str(text.expose_secret()).map_err(|_| EncodingError)
    }

    /// The public recipient (`age1…`) bootstrap manifests are sealed to.
    pub fn recipient(&self) -> Result<String, EncodingError> {
        self.identity()?.recipient().map_err(|_| EncodingError)
    }
}

impl Retirable for BootstrapKey {
    fn check_retiring(&self, retiring: &Retiring) -> Result<(), Mismatch> {
        match (&retiring.bootstrap_recipient, self.recipient()) {
            (Some(expected), Ok(found)) if *expected == found => Ok(()),
            _ => Err(Mismatch {
                what: "recipient differs from retiring.bootstrap_recipient",
            }),
        }
    }
}

/// The bootstrap key's bytes could not be encoded as an age identity. Any
/// 32 bytes can, so this is a bug, never an input problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bootstrap key cannot be encoded as an age identity")]
pub struct EncodingError;

impl RootKey for BootstrapKey {
    const SECRET: RootSecret = RootSecret::Bootstrap;
    fn from_array(bytes: SecretArray<ROOT_KEY_LEN>) -> Self {
        Self(bytes)
    }
    fn as_array(&self) -> &SecretArray<ROOT_KEY_LEN> {
        &self.0
    }
    fn check_against(&self, body: &RootBody) -> Result<(), Mismatch> {
        if self
            .recipient()
            .is_ok_and(|r| r == body.bootstrap_recipient)
        {
            Ok(())
        } else {
            Err(Mismatch {
                what: "recipient differs from bootstrap_recipient",
            })
        }
    }
}

/// The unseal key of the runtime authority (OpenBao static seal,
/// AES-256-GCM: exactly 32 bytes).
pub struct UnsealKey(SecretArray<ROOT_KEY_LEN>);

impl UnsealKey {
    /// Standard base64, as the emitted Secret carries it.
    pub fn to_base64(&self) -> Zeroizing<String> {
        self.0.to_base64()
    }

    /// Its key check value, as root.json records it.
    pub fn key_check_value(&self) -> String {
        crate::shares::key_check_value(&self.0.to_secret_bytes())
    }
}

impl RootKey for UnsealKey {
    const SECRET: RootSecret = RootSecret::Unseal;
    fn from_array(bytes: SecretArray<ROOT_KEY_LEN>) -> Self {
        Self(bytes)
    }
    fn as_array(&self) -> &SecretArray<ROOT_KEY_LEN> {
        &self.0
    }
    fn check_against(&self, body: &RootBody) -> Result<(), Mismatch> {
        if crate::shares::document::same_check(
            &self.key_check_value(),
            &body.unseal.key_check_value,
        ) {
            Ok(())
        } else {
            Err(Mismatch {
                what: "key check value differs from unseal.key_check_value",
            })
        }
    }
}

impl Retirable for UnsealKey {
    fn check_retiring(&self, retiring: &Retiring) -> Result<(), Mismatch> {
        match &retiring.unseal {
            Some(info)
                if crate::shares::document::same_check(
                    &self.key_check_value(),
                    &info.key_check_value,
                ) =>
            {
                Ok(())
            }
            _ => Err(Mismatch {
                what: "key check value differs from retiring.unseal.key_check_value",
            }),
        }
    }
}

/// The seed of the root signing key (ed25519).
pub struct SigningSeed(SecretArray<ROOT_KEY_LEN>);

impl SigningSeed {
    /// The ed25519 signing key (which wipes itself on drop).
    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(self.0.expose_secret())
    }
}

impl RootKey for SigningSeed {
    const SECRET: RootSecret = RootSecret::Signing;
    fn from_array(bytes: SecretArray<ROOT_KEY_LEN>) -> Self {
        Self(bytes)
    }
    fn as_array(&self) -> &SecretArray<ROOT_KEY_LEN> {
        &self.0
    }
    fn check_against(&self, body: &RootBody) -> Result<(), Mismatch> {
        let matches = body
            .verifying_key()
            .is_ok_and(|public| self.signing_key().verifying_key() == public);
        if matches {
            Ok(())
        } else {
            Err(Mismatch {
                what: "public key differs from signing_public_key",
            })
        }
    }
}

/// The root's three secrets, made together.
pub struct RootSecrets {
    /// The bootstrap age identity.
    pub bootstrap: BootstrapKey,
    /// The unseal key.
    pub unseal: UnsealKey,
    /// The signing key seed.
    pub signing: SigningSeed,
}

impl std::fmt::Debug for RootSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootSecrets(<redacted>)")
    }
}

impl RootSecrets {
    /// Draws all three from the OS CSPRNG.
    pub fn generate() -> Self {
        Self {
            bootstrap: BootstrapKey(SecretArray::random()),
            unseal: UnsealKey(SecretArray::random()),
            signing: SigningSeed(SecretArray::random()),
        }
    }

    /// The bytes of one secret, for splitting.
    pub fn bytes_of(&self, which: RootSecret) -> SecretBytes {
        match which {
            RootSecret::Bootstrap => self.bootstrap.as_array().to_secret_bytes(),
            RootSecret::Unseal => self.unseal.as_array().to_secret_bytes(),
            RootSecret::Signing => self.signing.as_array().to_secret_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_text_is_what_age_parses_and_prints() {
        let key = BootstrapKey(SecretArray::random());
        let text = key.identity_text().unwrap();
        assert!(text.expose_secret().starts_with("AGE-SECRET-KEY-1"));
        use secrecy::ExposeSecret;
        assert_eq!(
            key.age_identity().unwrap().to_string().expose_secret(),
            text.expose_secret()
        );
        assert_eq!(
            key.recipient().unwrap(),
            key.age_identity().unwrap().to_public().to_string()
        );
    }

    #[test]
    fn labels_round_trip() {
        for s in RootSecret::ALL {
            assert_eq!(RootSecret::from_label(s.label()), Some(s));
        }
    }
}
