//! The three secrets of the root of trust, generated together, in memory only.

use std::str::FromStr;

use bech32::{ToBase32, Variant};
use zeroize::Zeroizing;

use crate::secret::{SecretBytes, SecretText};

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

    /// Parses a label back.
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }
}

/// The age secret-key prefix (bech32 human-readable part).
const AGE_SECRET_HRP: &str = "age-secret-key-";

/// The root's secrets, 32 bytes each.
pub struct RootSecrets {
    bootstrap: SecretBytes,
    unseal: SecretBytes,
    signing: SecretBytes,
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
            bootstrap: SecretBytes::random(32),
            unseal: SecretBytes::random(32),
            signing: SecretBytes::random(32),
        }
    }

    /// The bytes of one secret, for splitting.
    pub fn get(&self, which: RootSecret) -> &SecretBytes {
        match which {
            RootSecret::Bootstrap => &self.bootstrap,
            RootSecret::Unseal => &self.unseal,
            RootSecret::Signing => &self.signing,
        }
    }
}

/// The age identity text (`AGE-SECRET-KEY-1…`) of 32 raw key bytes, exactly
/// as `age-keygen` writes it.
pub fn bootstrap_identity_text(raw: &SecretBytes) -> Result<SecretText, String> {
    let mut encoded = bech32::encode(
        AGE_SECRET_HRP,
        raw.expose_secret().to_base32(),
        Variant::Bech32,
    )
    .map_err(|_| "the bootstrap key cannot be encoded".to_owned())?;
    let text = SecretText::new(encoded.to_uppercase());
    zeroize::Zeroize::zeroize(&mut encoded);
    Ok(text)
}

/// The age identity of 32 raw key bytes.
pub fn bootstrap_identity(raw: &SecretBytes) -> Result<age::x25519::Identity, String> {
    let text = bootstrap_identity_text(raw)?;
    age::x25519::Identity::from_str(text.expose_secret()).map_err(|e| e.to_owned())
}

/// The public recipient (`age1…`) of 32 raw bootstrap key bytes.
pub fn bootstrap_recipient(raw: &SecretBytes) -> Result<String, String> {
    Ok(bootstrap_identity(raw)?.to_public().to_string())
}

/// The ed25519 signing key of a 32-byte seed.
pub fn signing_key(seed: &SecretBytes) -> Result<ed25519_dalek::SigningKey, String> {
    let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
        seed.expose_secret()
            .try_into()
            .map_err(|_| "the signing key seed is not 32 bytes".to_owned())?,
    );
    Ok(ed25519_dalek::SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_text_is_what_age_parses_and_prints() {
        let raw = SecretBytes::random(32);
        let text = bootstrap_identity_text(&raw).unwrap();
        assert!(text.expose_secret().starts_with("AGE-SECRET-KEY-1"));
        let identity = bootstrap_identity(&raw).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(identity.to_string().expose_secret(), text.expose_secret());
        assert!(bootstrap_recipient(&raw).unwrap().starts_with("age1"));
    }

    #[test]
    fn labels_round_trip() {
        for s in RootSecret::ALL {
            assert_eq!(RootSecret::from_label(s.label()), Some(s));
        }
    }
}
