//! `root.json`: the public, signed manifest of the root of trust.
//!
//! It records what the root is (its id, the bootstrap recipient, the unseal
//! key's id and key check value, the signing public key), how each secret is
//! shared (one share set per secret, with per-custodian commitments), the
//! custodians' bundle files with their SHA-256, and the preflight report of
//! the machine it was made on. It is signed by the root signing key.
//!
//! The file is kept in one canonical form (pretty JSON as written), so that
//! any edited byte is caught: either the content changed and the signature
//! fails, or only the layout changed and the canonical check fails.
//! Format: `docs/formats/root.md`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer;
use serde::{Deserialize, Serialize};

use super::secrets::RootSecret;
use crate::preflight::{Preflight, Status};
use crate::shares::ShareSet;

/// The format tag of version 1 root manifests.
pub const ROOT_FORMAT_V1: &str = "ceremony.root.v1";

/// Domain separation of the manifest signature.
const SIGNING_CONTEXT: &[u8] = b"ceremony.root.v1 signature\n";

/// The unseal key's public facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsealInfo {
    /// The key id for OpenBao's `seal "static"` (`current_key_id`).
    pub key_id: String,
    /// Its key check value.
    pub key_check_value: String,
}

/// One custodian's bundle file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianFile {
    /// The custodian.
    pub name: String,
    /// Path relative to the root directory (`shares/<name>.age`).
    pub file: String,
    /// SHA-256 of the encrypted file, hex.
    pub sha256: String,
}

/// A root that was replaced by this one (recorded, never silent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replaced {
    /// The old root's id (or `unknown` if its manifest was unreadable).
    pub root_id: String,
    /// Where the old root directory was moved.
    pub moved_to: String,
}

/// The preflight report of the machine that made the root, as root.json
/// records it (its own wire form, so the report type can change without
/// changing the file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightRecord {
    /// Every check, in order.
    pub checks: Vec<PreflightCheckRecord>,
    /// Whether the operator passed `--allow-online`.
    pub allow_online: bool,
    /// The system root read, when not `/` (tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_root: Option<String>,
}

/// One preflight check in root.json.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightCheckRecord {
    /// `network-interfaces`, `default-route`, `swap`, …
    pub name: String,
    /// The result.
    pub outcome: PreflightOutcome,
    /// What was found.
    pub detail: String,
}

/// The result of one preflight check in root.json.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreflightOutcome {
    /// Fine.
    Pass,
    /// Worth knowing.
    Warn,
    /// Failed (a root is never made after a failed gate; kept for reading).
    Fail,
    /// Failed, overridden by `--allow-online`.
    Overridden,
}

impl PreflightRecord {
    /// The record of a preflight run.
    pub fn of(preflight: &Preflight) -> Self {
        Self {
            checks: preflight
                .report()
                .checks
                .iter()
                .map(|c| PreflightCheckRecord {
                    name: c.check.clone(),
                    outcome: match c.status {
                        Status::Pass => PreflightOutcome::Pass,
                        Status::Fail | Status::Skipped => PreflightOutcome::Fail,
                        Status::Overridden => PreflightOutcome::Overridden,
                        Status::Warn | Status::NotChecked => PreflightOutcome::Warn,
                    },
                    detail: c.detail.clone(),
                })
                .collect(),
            allow_online: preflight.allow_online(),
            system_root: preflight.system_root().map(str::to_owned),
        }
    }

    /// Whether the root was made on a machine the operator said was online.
    pub fn went_online(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.outcome == PreflightOutcome::Overridden)
    }
}

/// Everything in root.json except the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootBody {
    /// Always [`ROOT_FORMAT_V1`].
    pub format: String,
    /// Random 128-bit id, hex.
    pub root_id: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// `ceremony <version>` that made it.
    pub tool_version: String,
    /// The age recipient bootstrap manifests are sealed to.
    pub bootstrap_recipient: String,
    /// The unseal key.
    pub unseal: UnsealInfo,
    /// The root signing key, base64 of the 32-byte ed25519 public key.
    pub signing_public_key: String,
    /// One share set per secret: bootstrap-key, unseal-key, signing-key.
    pub share_sets: Vec<ShareSet>,
    /// One bundle per custodian.
    pub custodian_files: Vec<CustodianFile>,
    /// The preflight report of the machine that made the root.
    pub preflight: PreflightRecord,
    /// Set only when an existing root was explicitly replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replaced>,
}

/// The signature block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootSignature {
    /// Always `ed25519`.
    pub algorithm: String,
    /// Base64 of the 64-byte signature.
    pub value: String,
}

/// A signed manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootManifest {
    /// The signed content.
    pub body: RootBody,
    /// The signature over it.
    pub signature: RootSignature,
}

#[derive(Serialize)]
struct FileView<'a> {
    #[serde(flatten)]
    body: &'a RootBody,
    signature: &'a RootSignature,
}

/// Why a manifest is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not a root manifest of a known version.
    #[error("{place}: {message}")]
    Malformed {
        /// Where.
        place: String,
        /// What.
        message: String,
    },
    /// The bytes differ from the canonical form of their content.
    #[error(
        "root.json is not byte-for-byte as ceremony wrote it (first difference at byte {offset}): it was edited"
    )]
    NotCanonical {
        /// The first differing byte.
        offset: usize,
    },
    /// The signature does not verify.
    #[error("the signature does not verify with the root signing key: root.json was altered")]
    BadSignature,
}

impl RootBody {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = SIGNING_CONTEXT.to_vec();
        // Serialising plain data to a Vec cannot fail.
        bytes.extend(serde_json::to_vec(self).unwrap_or_default());
        bytes
    }

    /// The share set of one secret.
    pub fn share_set(&self, which: RootSecret) -> Option<&ShareSet> {
        self.share_sets.iter().find(|s| s.label == which.label())
    }

    /// The signing public key.
    pub fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, ManifestError> {
        let bad = || ManifestError::Malformed {
            place: "signing_public_key".into(),
            message: "not base64 of a 32-byte ed25519 public key".into(),
        };
        let bytes: [u8; 32] = B64
            .decode(&self.signing_public_key)
            .map_err(|_| bad())?
            .try_into()
            .map_err(|_| bad())?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
    }

    /// Signs the body.
    pub fn sign(self, key: &ed25519_dalek::SigningKey) -> RootManifest {
        let signature = key.sign(&self.signed_bytes());
        RootManifest {
            body: self,
            signature: RootSignature {
                algorithm: "ed25519".into(),
                value: B64.encode(signature.to_bytes()),
            },
        }
    }
}

impl RootManifest {
    /// The canonical file bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let view = FileView {
            body: &self.body,
            signature: &self.signature,
        };
        let mut out = serde_json::to_vec_pretty(&view).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Parses root.json, checks it is in canonical form and that its
    /// signature verifies with its own signing key.
    ///
    /// The key is the manifest's own: this proves the file is intact and was
    /// made by whoever held the root signing key. Pin the root id and key
    /// fingerprint (`root show`) out of band to know it is *your* root.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let malformed =
            |place: String, message: String| ManifestError::Malformed { place, message };
        let mut value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| malformed(format!("line {}", e.line()), format!("not JSON: {e}")))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| malformed("root".into(), "not a JSON object".into()))?;
        match object.get("format").and_then(|f| f.as_str()) {
            Some(ROOT_FORMAT_V1) => {}
            other => {
                return Err(malformed(
                    "format".into(),
                    format!(
                        "{other:?} is not a supported root format (expected {ROOT_FORMAT_V1:?})"
                    ),
                ));
            }
        }
        let signature = object
            .remove("signature")
            .ok_or_else(|| malformed("signature".into(), "missing".into()))?;
        let signature: RootSignature = serde_json::from_value(signature)
            .map_err(|e| malformed("signature".into(), e.to_string()))?;
        let body: RootBody = serde_json::from_value(value)
            .map_err(|e| malformed("manifest".into(), e.to_string()))?;
        let manifest = RootManifest { body, signature };
        let canonical = manifest.to_json();
        if canonical != bytes {
            let offset = canonical
                .iter()
                .zip(bytes)
                .position(|(a, b)| a != b)
                .unwrap_or(canonical.len().min(bytes.len()));
            return Err(ManifestError::NotCanonical { offset });
        }
        manifest.verify_signature()?;
        Ok(manifest)
    }

    /// Checks the signature with the manifest's signing key.
    pub fn verify_signature(&self) -> Result<(), ManifestError> {
        if self.signature.algorithm != "ed25519" {
            return Err(ManifestError::Malformed {
                place: "signature.algorithm".into(),
                message: format!(
                    "{:?} is not supported (expected \"ed25519\")",
                    self.signature.algorithm
                ),
            });
        }
        let key = self.body.verifying_key()?;
        let bytes: [u8; 64] = B64
            .decode(&self.signature.value)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ManifestError::BadSignature)?;
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        key.verify_strict(&self.body.signed_bytes(), &signature)
            .map_err(|_| ManifestError::BadSignature)
    }

    /// SHA-256 fingerprint of the signing public key, for pinning.
    pub fn signing_key_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let raw = B64
            .decode(&self.body.signing_public_key)
            .unwrap_or_default();
        format!(
            "SHA256:{}",
            B64.encode(Sha256::digest(raw)).trim_end_matches('=')
        )
    }
}
