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
//!
//! A root has versions. Version 1 is the `ceremony.root.v1` manifest `root
//! init` wrote; every later version (`ceremony.root.v2`) names the version
//! before it by number and SHA-256, says what changed, and is signed by the
//! previous version's signing key too when that key changed. Whether one
//! version really follows another is [`super::lineage`]'s to check; this
//! module only reads, writes and self-verifies one manifest.
//! Format: `docs/formats/root.md`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer;
use serde::{Deserialize, Serialize};

use super::secrets::RootSecret;
use crate::preflight::{Preflight, Status};
use crate::shares::ShareSet;

/// The format tag of a root's first version.
pub const ROOT_FORMAT_V1: &str = "ceremony.root.v1";

/// The format tag of every later version.
pub const ROOT_FORMAT_V2: &str = "ceremony.root.v2";

/// Domain separation of the manifest signatures, one per format: a
/// signature over one format never verifies as the other.
const SIGNING_CONTEXT_V1: &[u8] = b"ceremony.root.v1 signature\n";
const SIGNING_CONTEXT_V2: &[u8] = b"ceremony.root.v2 signature\n";

/// The longest operator note a version may carry.
pub const MAX_NOTE_LEN: usize = 200;

/// What a new version changed. Serialised in kebab case
/// (`rotate-unseal-key`, …); a version lists its changes in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// A new bootstrap age identity; the old one is kept as retiring.
    RotateBootstrapKey,
    /// A new unseal key; the old one is kept as retiring.
    RotateUnsealKey,
    /// A new root signing key, endorsed by the old one.
    RotateSigningKey,
    /// The same secrets shared anew: new custodians, keys or thresholds.
    Reshare,
    /// The retiring bootstrap identity is dropped.
    RetirePreviousBootstrapKey,
    /// The retiring unseal key is dropped.
    RetirePreviousUnsealKey,
}

impl Change {
    /// The kebab-case name, as in root.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::RotateBootstrapKey => "rotate-bootstrap-key",
            Change::RotateUnsealKey => "rotate-unseal-key",
            Change::RotateSigningKey => "rotate-signing-key",
            Change::Reshare => "reshare",
            Change::RetirePreviousBootstrapKey => "retire-previous-bootstrap-key",
            Change::RetirePreviousUnsealKey => "retire-previous-unseal-key",
        }
    }
}

/// Where a version stands in its root's history (absent in version 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// This version's number, 2 or more.
    pub version: u64,
    /// The version before it.
    pub previous: PreviousVersion,
    /// What changed, in [`Change`] order, at least one.
    pub changes: Vec<Change>,
    /// Why, in the operator's words (at most [`MAX_NOTE_LEN`] characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The version a new one follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousVersion {
    /// Its number.
    pub version: u64,
    /// SHA-256 of its root.json bytes, hex.
    pub sha256: String,
}

/// Keys being replaced that the runtime still needs for a while: OpenBao
/// opens what it stored under the previous unseal key until it has
/// rewrapped it, and Flux decrypts files sealed to the previous bootstrap
/// identity until the Git tree is moved to the new one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retiring {
    /// The previous bootstrap identity's recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_recipient: Option<String>,
    /// The previous unseal key (`previous_key_id` of the static seal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseal: Option<UnsealInfo>,
}

impl Retiring {
    /// Whether nothing is retiring.
    pub fn is_empty(&self) -> bool {
        self.bootstrap_recipient.is_none() && self.unseal.is_none()
    }
}

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
                    name: c.check.to_string(),
                    outcome: match c.status {
                        Status::Pass => PreflightOutcome::Pass,
                        Status::Fail | Status::Skipped => PreflightOutcome::Fail,
                        Status::Overridden => PreflightOutcome::Overridden,
                        Status::Warn | Status::NotChecked => PreflightOutcome::Warn,
                    },
                    detail: c.detail.to_string(),
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

/// Everything in root.json except the signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootBody {
    /// [`ROOT_FORMAT_V1`] for version 1, [`ROOT_FORMAT_V2`] after.
    pub format: String,
    /// Random 128-bit id, hex; the same in every version of a root.
    pub root_id: String,
    /// Version 2 on: its number, the version before, what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Link>,
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
    /// Keys being replaced that the runtime still needs (version 2 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring: Option<Retiring>,
    /// One share set per secret: bootstrap-key, unseal-key, signing-key,
    /// then previous-bootstrap-key and previous-unseal-key while retiring.
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
    /// The signature by this version's own signing key.
    pub signature: RootSignature,
    /// When this version rotated the signing key: the signature by the
    /// previous version's key over the same bytes, which hands trust on.
    pub previous_key_signature: Option<RootSignature>,
}

#[derive(Serialize)]
struct FileView<'a> {
    #[serde(flatten)]
    body: &'a RootBody,
    signature: &'a RootSignature,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_key_signature: Option<&'a RootSignature>,
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
        let context = if self.format == ROOT_FORMAT_V1 {
            SIGNING_CONTEXT_V1
        } else {
            SIGNING_CONTEXT_V2
        };
        let mut bytes = context.to_vec();
        // Serialising plain data to a Vec cannot fail.
        bytes.extend(serde_json::to_vec(self).unwrap_or_default());
        bytes
    }

    /// This version's number: 1 for the manifest `root init` wrote.
    pub fn version(&self) -> u64 {
        self.lineage.as_ref().map_or(1, |l| l.version)
    }

    /// What is retiring (nothing in version 1).
    pub fn retiring(&self) -> Retiring {
        self.retiring.clone().unwrap_or_default()
    }

    /// The share set of one secret.
    pub fn share_set(&self, which: RootSecret) -> Option<&ShareSet> {
        self.share_set_labelled(which.label())
    }

    /// The share set of a retiring secret.
    pub fn previous_share_set(&self, which: RootSecret) -> Option<&ShareSet> {
        which
            .previous_label()
            .and_then(|label| self.share_set_labelled(label))
    }

    fn share_set_labelled(&self, label: &str) -> Option<&ShareSet> {
        self.share_sets.iter().find(|s| s.label == label)
    }

    /// The signing public key.
    pub fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, ManifestError> {
        verifying_key(&self.signing_public_key)
    }

    /// Signs the body with its own signing key, and with the previous
    /// version's when the signing key changed.
    pub fn sign(
        self,
        key: &ed25519_dalek::SigningKey,
        previous_key: Option<&ed25519_dalek::SigningKey>,
    ) -> RootManifest {
        let bytes = self.signed_bytes();
        let signature_by = |key: &ed25519_dalek::SigningKey| RootSignature {
            algorithm: "ed25519".into(),
            value: B64.encode(key.sign(&bytes).to_bytes()),
        };
        RootManifest {
            signature: signature_by(key),
            previous_key_signature: previous_key.map(signature_by),
            body: self,
        }
    }
}

impl RootBody {
    /// The fields each format must and must not have: version 1 has no
    /// lineage, nothing retiring and one signature; version 2 on has a
    /// lineage with a version of 2 or more and at least one change.
    fn check_format_fields(
        &self,
        format: &str,
        has_previous_key_signature: bool,
    ) -> Result<(), ManifestError> {
        let malformed = |place: &str, message: &str| {
            Err(ManifestError::Malformed {
                place: place.into(),
                message: message.into(),
            })
        };
        if format == ROOT_FORMAT_V1 {
            if self.lineage.is_some() {
                return malformed("lineage", "a ceremony.root.v1 manifest has no lineage");
            }
            if self.retiring.is_some() {
                return malformed(
                    "retiring",
                    "a ceremony.root.v1 manifest has nothing retiring",
                );
            }
            if has_previous_key_signature {
                return malformed(
                    "previous_key_signature",
                    "a ceremony.root.v1 manifest has no previous key",
                );
            }
            return Ok(());
        }
        let Some(link) = &self.lineage else {
            return malformed(
                "lineage",
                "missing: every ceremony.root.v2 manifest has one",
            );
        };
        if link.version < 2 || link.previous.version.checked_add(1) != Some(link.version) {
            return malformed(
                "lineage.version",
                "a later version is numbered 2 or more and follows the version before it",
            );
        }
        if link.previous.sha256.len() != 64
            || !link
                .previous
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return malformed("lineage.previous.sha256", "not 64 lower-case hex digits");
        }
        if link.changes.is_empty()
            || !link
                .changes
                .windows(2)
                .all(|w| matches!(w, [a, b] if a < b))
        {
            return malformed(
                "lineage.changes",
                "at least one change, each once, in the documented order",
            );
        }
        if let Some(note) = &link.note {
            if note.chars().count() > MAX_NOTE_LEN || note.chars().any(crate::text::is_hidden) {
                return malformed(
                    "lineage.note",
                    "at most 200 characters, no control, format (bidi, zero-width) or separator characters",
                );
            }
        }
        if self.retiring.as_ref().is_some_and(Retiring::is_empty) {
            return malformed("retiring", "present but empty: leave it out");
        }
        let rotated_signing = link.changes.contains(&Change::RotateSigningKey);
        if rotated_signing != has_previous_key_signature {
            return malformed(
                "previous_key_signature",
                "present exactly when the version rotates the signing key",
            );
        }
        if self.replaces.is_some() {
            return malformed("replaces", "only a version 1 records a replaced root");
        }
        Ok(())
    }
}

/// Parses a base64 ed25519 public key as root.json records it.
pub fn verifying_key(base64: &str) -> Result<ed25519_dalek::VerifyingKey, ManifestError> {
    let bad = || ManifestError::Malformed {
        place: "signing_public_key".into(),
        message: "not base64 of a 32-byte ed25519 public key".into(),
    };
    let bytes: [u8; 32] = B64
        .decode(base64)
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

/// Checks one signature block over `bytes` with `key`.
fn check_signature(
    signature: &RootSignature,
    key: &ed25519_dalek::VerifyingKey,
    bytes: &[u8],
    place: &str,
) -> Result<(), ManifestError> {
    if signature.algorithm != "ed25519" {
        return Err(ManifestError::Malformed {
            place: format!("{place}.algorithm"),
            message: format!(
                "{:?} is not supported (expected \"ed25519\")",
                signature.algorithm
            ),
        });
    }
    let raw: [u8; 64] = B64
        .decode(&signature.value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(ManifestError::BadSignature)?;
    key.verify_strict(bytes, &ed25519_dalek::Signature::from_bytes(&raw))
        .map_err(|_| ManifestError::BadSignature)
}

impl RootManifest {
    /// The canonical file bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let view = FileView {
            body: &self.body,
            signature: &self.signature,
            previous_key_signature: self.previous_key_signature.as_ref(),
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
        let format = match object.get("format").and_then(|f| f.as_str()) {
            Some(f @ (ROOT_FORMAT_V1 | ROOT_FORMAT_V2)) => f.to_owned(),
            other => {
                return Err(malformed(
                    "format".into(),
                    format!(
                        "{other:?} is not a supported root format (expected {ROOT_FORMAT_V1:?} or {ROOT_FORMAT_V2:?})"
                    ),
                ));
            }
        };
        let signature = object
            .remove("signature")
            .ok_or_else(|| malformed("signature".into(), "missing".into()))?;
        let signature: RootSignature = serde_json::from_value(signature)
            .map_err(|e| malformed("signature".into(), e.to_string()))?;
        let previous_key_signature = object
            .remove("previous_key_signature")
            .map(|v| {
                serde_json::from_value::<RootSignature>(v)
                    .map_err(|e| malformed("previous_key_signature".into(), e.to_string()))
            })
            .transpose()?;
        let body: RootBody = serde_json::from_value(value)
            .map_err(|e| malformed("manifest".into(), e.to_string()))?;
        body.check_format_fields(&format, previous_key_signature.is_some())?;
        let manifest = RootManifest {
            body,
            signature,
            previous_key_signature,
        };
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

    /// Checks the signature with the manifest's own signing key. (The
    /// previous key's signature is checked against the previous version,
    /// by [`super::lineage`].)
    pub fn verify_signature(&self) -> Result<(), ManifestError> {
        let key = self.body.verifying_key()?;
        check_signature(
            &self.signature,
            &key,
            &self.body.signed_bytes(),
            "signature",
        )
    }

    /// Checks the signature that hands trust from the previous version's
    /// signing key to this one: the previous key's signature when this
    /// version rotated the key, else this version's own (the same key).
    pub fn verify_endorsement(
        &self,
        previous_key: &ed25519_dalek::VerifyingKey,
    ) -> Result<(), ManifestError> {
        let signature = self
            .previous_key_signature
            .as_ref()
            .unwrap_or(&self.signature);
        check_signature(
            signature,
            previous_key,
            &self.body.signed_bytes(),
            "previous_key_signature",
        )
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
