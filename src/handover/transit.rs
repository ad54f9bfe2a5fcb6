//! Vault/OpenBao transit signing keys: which ones a receipt may be signed
//! with, how their public keys are pinned in a TRUSTFILE, how each key
//! type's `vault:v<N>:<base64>` signature is read and checked, and turning
//! `bao read -format=json transit/keys/NAME` into a TRUSTFILE line.
//!
//! What transit signs (OpenBao `internal/builtin/logical/transit/
//! path_sign_verify.go` and `sdk/helper/keysutil/policy.go`
//! `SignWithOptions`, checked against OpenBao 2.7.2): the `input` bytes,
//! here the DSSE PAE of the receipt.
//!
//! - `ed25519`: plain Ed25519 over the input (`hash_algorithm` is ignored).
//!   The signature is standard base64 of 64 bytes.
//! - `ecdsa-p256`, `ecdsa-p384`: with `prehashed=false` (the default) the
//!   input is first hashed with `hash_algorithm` (default `sha2-256`, for
//!   both curves), then Go's `ecdsa.Sign` signs the digest. With
//!   `marshaling_algorithm=asn1` (the default) the signature is the ASN.1
//!   DER `SEQUENCE { r INTEGER, s INTEGER }` in standard base64; with
//!   `jws` it is `r ‖ s`, each left-padded to the curve's size (32 or 48
//!   bytes), in **URL-safe base64 without padding**.
//! - RSA (`rsa-2048`, `-3072`, `-4096`), `ecdsa-p521` and the symmetric
//!   types are refused with [`UnsupportedKeyType`].
//!
//! The signature text does not say how it was made, so the TRUSTFILE line
//! pins it: key type, marshaling and hash. A verifier then reads exactly one
//! form: DER must be canonical (it must re-encode to the same bytes), base64
//! must be canonical in the alphabet the marshaling uses, and a signature in
//! the other marshaling is refused with an error that says so.
//!
//! High-S ECDSA signatures are accepted. Go's `ecdsa.Sign` does not
//! normalise S, so about half of transit's signatures have S > n/2, and
//! transit's own `verify` accepts both; refusing them would refuse honest
//! receipts. The consequence, documented in `docs/handover-signatures.md`
//! §4: anyone can turn an ECDSA signature (r, s) into (r, n − s), a second
//! valid signature over the same PAE. It changes no signed byte; ceremony
//! never identifies a receipt by its signature bytes.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::scheme;

/// A transit key type ceremony verifies receipts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// `ed25519`.
    Ed25519,
    /// `ecdsa-p256` (NIST P-256).
    EcdsaP256,
    /// `ecdsa-p384` (NIST P-384).
    EcdsaP384,
}

impl KeyType {
    /// Every supported type.
    pub const ALL: [KeyType; 3] = [KeyType::Ed25519, KeyType::EcdsaP256, KeyType::EcdsaP384];

    /// transit's name for the type (`type=` of `transit/keys/:name`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
        }
    }

    /// The size of r and of s, in bytes; also half a JWS signature.
    fn scalar_size(self) -> usize {
        match self {
            KeyType::Ed25519 => 32,
            KeyType::EcdsaP256 => 32,
            KeyType::EcdsaP384 => 48,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transit key type that exists but cannot sign receipts ceremony
/// verifies (RSA, P-521, symmetric keys), or no transit type at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "transit key type {found:?} is not supported for receipts{}; ceremony verifies transit keys of type ed25519, ecdsa-p256 and ecdsa-p384 (create one with `bao write -f transit/keys/NAME type=ecdsa-p256`)",
    why(found)
)]
pub struct UnsupportedKeyType {
    /// The type given.
    pub found: String,
}

fn why(found: &str) -> &'static str {
    if found.starts_with("rsa-") {
        " (RSA receipt signatures are refused, see docs/handover-signatures.md §3)"
    } else if found == "ecdsa-p521" {
        " (P-521 is not implemented)"
    } else if TRANSIT_NO_SIGNING.contains(&found) {
        " (it cannot sign)"
    } else {
        ""
    }
}

/// transit key types that encrypt or MAC but do not sign.
const TRANSIT_NO_SIGNING: &[&str] = &[
    "aes128-gcm96",
    "aes256-gcm96",
    "chacha20-poly1305",
    "xchacha20-poly1305",
    "hmac",
];

impl FromStr for KeyType {
    type Err = UnsupportedKeyType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnsupportedKeyType {
                found: s.chars().take(40).collect(),
            })
    }
}

/// How transit wrote an ECDSA signature (`marshaling_algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Marshaling {
    /// `asn1`, transit's default: DER `SEQUENCE { r, s }`, standard base64.
    #[default]
    Asn1,
    /// `jws`: `r ‖ s` at the curve's size, URL-safe base64 without padding.
    Jws,
}

impl Marshaling {
    /// transit's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Marshaling::Asn1 => "asn1",
            Marshaling::Jws => "jws",
        }
    }
}

impl FromStr for Marshaling {
    type Err = OptionValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "asn1" => Ok(Marshaling::Asn1),
            "jws" => Ok(Marshaling::Jws),
            _ => Err(OptionValue {
                option: "marshaling",
                found: s.chars().take(40).collect(),
                expected: "asn1 or jws",
            }),
        }
    }
}

/// The hash transit applied to the input before signing it with ECDSA
/// (`hash_algorithm`, with `prehashed=false`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `sha2-256`, transit's default for every key type.
    #[default]
    Sha2_256,
    /// `sha2-384`.
    Sha2_384,
    /// `sha2-512`.
    Sha2_512,
}

impl HashAlgorithm {
    /// transit's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha2_256 => "sha2-256",
            HashAlgorithm::Sha2_384 => "sha2-384",
            HashAlgorithm::Sha2_512 => "sha2-512",
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha2_256 => Sha256::digest(message).to_vec(),
            HashAlgorithm::Sha2_384 => Sha384::digest(message).to_vec(),
            HashAlgorithm::Sha2_512 => Sha512::digest(message).to_vec(),
        }
    }
}

impl FromStr for HashAlgorithm {
    type Err = OptionValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha2-256" => Ok(HashAlgorithm::Sha2_256),
            "sha2-384" => Ok(HashAlgorithm::Sha2_384),
            "sha2-512" => Ok(HashAlgorithm::Sha2_512),
            // sha1 and sha2-224 are weaker than the curves they would be
            // used with; sha3-* would need another hash crate. transit's
            // default is sha2-256.
            _ => Err(OptionValue {
                option: "hash",
                found: s.chars().take(40).collect(),
                expected: "sha2-256, sha2-384 or sha2-512",
            }),
        }
    }
}

/// An option value that ceremony does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}={found:?} is not supported; use {expected}")]
pub struct OptionValue {
    /// The option.
    pub option: &'static str,
    /// What was given.
    pub found: String,
    /// What is accepted.
    pub expected: &'static str,
}

/// A transit ECDSA public key with what its signatures look like.
#[derive(Clone)]
pub struct EcdsaKey {
    curve: Curve,
    /// The DER SubjectPublicKeyInfo, as pinned.
    spki: Vec<u8>,
    /// How its signatures are written.
    pub marshaling: Marshaling,
    /// The hash transit applies before signing.
    pub hash: HashAlgorithm,
}

#[derive(Clone)]
enum Curve {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

/// The public half of a transit signing key version.
#[derive(Clone)]
#[non_exhaustive]
pub enum TransitKey {
    /// Ed25519, checked not to be a weak (small-order) point.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// ECDSA P-256 or P-384.
    Ecdsa(EcdsaKey),
}

impl fmt::Debug for TransitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Why a transit public key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not canonical standard base64.
    #[error("the transit public key is not standard base64 (RFC 4648, with padding)")]
    Base64,
    /// Not a DER SubjectPublicKeyInfo of the named curve (or off the curve).
    #[error(
        "the transit public key is not an {key_type} public key (base64 of the DER SubjectPublicKeyInfo, the PEM body of `public_key`)"
    )]
    NotSpki {
        /// The type the line names.
        key_type: KeyType,
    },
    /// A valid key, but not in its one DER form (e.g. a compressed point).
    #[error(
        "the {key_type} public key is not in the DER form transit reports (uncompressed point); copy it from `bao read transit/keys/NAME` or use `ceremony handover trust from-transit`"
    )]
    NotCanonical {
        /// The type.
        key_type: KeyType,
    },
    /// An Ed25519 key of the wrong length.
    #[error("the transit ed25519 public key must decode to 32 bytes, found {found}")]
    Ed25519Length {
        /// Length found.
        found: usize,
    },
    /// Not an Ed25519 point, or a weak one.
    #[error(
        "the transit public key is not a valid Ed25519 public key (or is a weak, small-order one)"
    )]
    Ed25519Point,
}

impl TransitKey {
    /// Reads a public key of `key_type` from base64: the 32 raw bytes for
    /// ed25519, the DER SubjectPublicKeyInfo for ECDSA.
    pub fn from_base64(
        key_type: KeyType,
        b64: &str,
        marshaling: Marshaling,
        hash: HashAlgorithm,
    ) -> Result<Self, KeyError> {
        let bytes = STANDARD.decode(b64).map_err(|_| KeyError::Base64)?;
        match key_type {
            KeyType::Ed25519 => {
                let raw: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::Ed25519Length { found: bytes.len() })?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map_err(|_| KeyError::Ed25519Point)?;
                // A small-order key "verifies" forged signatures under lax
                // rules; no honest signer has one.
                if key.is_weak() {
                    return Err(KeyError::Ed25519Point);
                }
                Ok(TransitKey::Ed25519(key))
            }
            KeyType::EcdsaP256 | KeyType::EcdsaP384 => {
                let not_spki = KeyError::NotSpki { key_type };
                let (curve, again) = match key_type {
                    KeyType::EcdsaP384 => {
                        let key =
                            p384::PublicKey::from_public_key_der(&bytes).map_err(|_| not_spki)?;
                        let again = key
                            .to_public_key_der()
                            .map_err(|_| KeyError::NotSpki { key_type })?;
                        (Curve::P384(key.into()), again)
                    }
                    _ => {
                        let key =
                            p256::PublicKey::from_public_key_der(&bytes).map_err(|_| not_spki)?;
                        let again = key
                            .to_public_key_der()
                            .map_err(|_| KeyError::NotSpki { key_type })?;
                        (Curve::P256(key.into()), again)
                    }
                };
                // One pinned form per key: what transit reports (Go's
                // x509.MarshalPKIXPublicKey, an uncompressed point).
                if again.as_bytes() != bytes.as_slice() {
                    return Err(KeyError::NotCanonical { key_type });
                }
                Ok(TransitKey::Ecdsa(EcdsaKey {
                    curve,
                    spki: bytes,
                    marshaling,
                    hash,
                }))
            }
        }
    }

    /// Reads the `public_key` of `transit/keys/:name` for `key_type`: base64
    /// for ed25519, a PEM `PUBLIC KEY` block for ECDSA.
    pub fn from_transit(
        key_type: KeyType,
        public_key: &str,
        marshaling: Marshaling,
        hash: HashAlgorithm,
    ) -> Result<Self, KeyError> {
        match key_type {
            KeyType::Ed25519 => Self::from_base64(key_type, public_key.trim(), marshaling, hash),
            KeyType::EcdsaP256 | KeyType::EcdsaP384 => {
                let not_spki = KeyError::NotSpki { key_type };
                let der = match key_type {
                    KeyType::EcdsaP384 => p384::PublicKey::from_public_key_pem(public_key)
                        .and_then(|k| k.to_public_key_der()),
                    _ => p256::PublicKey::from_public_key_pem(public_key)
                        .and_then(|k| k.to_public_key_der()),
                }
                .map_err(|_| not_spki)?;
                Self::from_base64(key_type, &STANDARD.encode(der.as_bytes()), marshaling, hash)
            }
        }
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        match self {
            TransitKey::Ed25519(_) => KeyType::Ed25519,
            TransitKey::Ecdsa(EcdsaKey {
                curve: Curve::P256(_),
                ..
            }) => KeyType::EcdsaP256,
            TransitKey::Ecdsa(EcdsaKey {
                curve: Curve::P384(_),
                ..
            }) => KeyType::EcdsaP384,
        }
    }

    /// A fingerprint: for ed25519 the OpenSSH one of the same key; for
    /// ECDSA `SHA256:` and the unpadded base64 of SHA-256 over the DER
    /// SubjectPublicKeyInfo.
    pub fn fingerprint(&self) -> String {
        match self {
            TransitKey::Ed25519(key) => scheme::ed25519_fingerprint(key.as_bytes()),
            TransitKey::Ecdsa(key) => {
                format!(
                    "SHA256:{}",
                    STANDARD_NO_PAD.encode(Sha256::digest(&key.spki))
                )
            }
        }
    }

    /// What the verifier reports: `ed25519 SHA256:…` or `ecdsa-p256
    /// SHA256:…` (for ECDSA also marshaling and hash).
    pub fn label(&self) -> String {
        match self {
            TransitKey::Ed25519(_) => format!("ed25519 {}", self.fingerprint()),
            TransitKey::Ecdsa(key) => format!(
                "{} {} {} {}",
                self.key_type(),
                self.fingerprint(),
                key.marshaling.as_str(),
                key.hash.as_str()
            ),
        }
    }

    /// The fields of a TRUSTFILE line after `transit <name> v<N>`. An
    /// ed25519 key keeps the short form every ceremony version reads
    /// (`<base64>`); ECDSA writes type, key, marshaling and hash.
    pub fn trust_fields(&self) -> String {
        match self {
            TransitKey::Ed25519(key) => STANDARD.encode(key.as_bytes()),
            TransitKey::Ecdsa(key) => format!(
                "{} {} marshaling={} hash={}",
                self.key_type(),
                STANDARD.encode(&key.spki),
                key.marshaling.as_str(),
                key.hash.as_str()
            ),
        }
    }

    /// Checks the base64 part of `vault:v<N>:<base64>` as a signature by
    /// this key over `message`.
    pub(crate) fn verify(&self, message: &[u8], encoded: &str) -> Result<(), SignatureProblem> {
        match self {
            TransitKey::Ed25519(key) => {
                let bytes: [u8; 64] = STANDARD
                    .decode(encoded)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or(SignatureProblem::Encoding(EncodingProblem::Ed25519))?;
                // verify_strict: canonical S, no small-order R (as for
                // every Ed25519 check of ours).
                key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .map_err(|_| SignatureProblem::Bad)
            }
            TransitKey::Ecdsa(key) => key.verify(self.key_type(), message, encoded),
        }
    }
}

impl EcdsaKey {
    fn verify(
        &self,
        key_type: KeyType,
        message: &[u8],
        encoded: &str,
    ) -> Result<(), SignatureProblem> {
        let size = key_type.scalar_size();
        let bytes = match self.marshaling {
            Marshaling::Asn1 => STANDARD.decode(encoded).ok(),
            Marshaling::Jws => URL_SAFE_NO_PAD.decode(encoded).ok(),
        };
        let wrong = || {
            SignatureProblem::Encoding(match self.marshaling {
                Marshaling::Asn1 => EncodingProblem::ExpectedDer {
                    key_type,
                    looks_like_jws: looks_like_jws(encoded, size),
                },
                Marshaling::Jws => EncodingProblem::ExpectedJws {
                    key_type,
                    size: 2 * size,
                    looks_like_der: looks_like_der(encoded),
                },
            })
        };
        let bytes = bytes.ok_or_else(wrong)?;
        let digest = self.hash.digest(message);
        macro_rules! check {
            ($curve:ident, $vk:expr) => {{
                let signature = match self.marshaling {
                    Marshaling::Asn1 => {
                        let sig =
                            $curve::ecdsa::Signature::from_der(&bytes).map_err(|_| wrong())?;
                        // DER has one encoding per value; check rather than
                        // trust the parser: bytes that re-encode differently
                        // are bytes nobody signed.
                        if sig.to_der().as_bytes() != bytes.as_slice() {
                            return Err(SignatureProblem::Encoding(
                                EncodingProblem::NonCanonicalDer { key_type },
                            ));
                        }
                        sig
                    }
                    Marshaling::Jws => {
                        if bytes.len() != 2 * size {
                            return Err(wrong());
                        }
                        $curve::ecdsa::Signature::from_slice(&bytes).map_err(|_| {
                            SignatureProblem::Encoding(EncodingProblem::ScalarRange { key_type })
                        })?
                    }
                };
                // High S is accepted on purpose (module docs).
                $vk.verify_prehash(&digest, &signature)
                    .map_err(|_| SignatureProblem::Bad)
            }};
        }
        match &self.curve {
            Curve::P256(vk) => check!(p256, vk),
            Curve::P384(vk) => check!(p384, vk),
        }
    }
}

/// URL-safe unpadded base64 of `2 × size` bytes: how transit writes a JWS
/// signature.
fn looks_like_jws(encoded: &str, size: usize) -> bool {
    URL_SAFE_NO_PAD
        .decode(encoded)
        .is_ok_and(|b| b.len() == 2 * size)
}

/// Standard base64 of something starting like a DER SEQUENCE.
fn looks_like_der(encoded: &str) -> bool {
    STANDARD
        .decode(encoded)
        .is_ok_and(|b| b.first() == Some(&0x30))
}

/// Why a transit signature did not verify by one trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureProblem {
    /// It is not in the form the key's TRUSTFILE line says.
    Encoding(EncodingProblem),
    /// It is in the right form but does not verify.
    Bad,
}

/// A transit signature that is not in the form its key's TRUSTFILE line
/// expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingProblem {
    /// ed25519: not standard base64 of 64 bytes.
    #[error(
        "not standard base64 of a 64-byte Ed25519 signature, as transit writes for ed25519 keys"
    )]
    Ed25519,
    /// ECDSA, `marshaling=asn1`: not a DER signature of the curve.
    #[error(
        "not an {key_type} signature in ASN.1 DER (standard base64), as the TRUSTFILE line expects (marshaling=asn1, transit's default){}",
        if *looks_like_jws {
            "; it is URL-safe base64 of an r‖s signature, as transit writes with marshaling_algorithm=jws: sign without it, or put marshaling=jws on the line"
        } else {
            ""
        }
    )]
    ExpectedDer {
        /// The key's type.
        key_type: KeyType,
        /// The text is what a JWS signature of this curve would be.
        looks_like_jws: bool,
    },
    /// ECDSA, `marshaling=asn1`: DER, but not in its canonical encoding.
    #[error("the {key_type} signature is ASN.1 but not in its one DER encoding")]
    NonCanonicalDer {
        /// The key's type.
        key_type: KeyType,
    },
    /// ECDSA, `marshaling=jws`: not `r ‖ s` of the curve's size.
    #[error(
        "not a {size}-byte r‖s (JWS) {key_type} signature in URL-safe base64 without padding, as the TRUSTFILE line expects (marshaling=jws){}",
        if *looks_like_der {
            "; it is an ASN.1 DER signature (transit's default marshaling): sign with marshaling_algorithm=jws, or drop marshaling=jws from the line"
        } else {
            ""
        }
    )]
    ExpectedJws {
        /// The key's type.
        key_type: KeyType,
        /// The expected length, `2 ×` the scalar size.
        size: usize,
        /// The text is standard base64 of something DER-shaped.
        looks_like_der: bool,
    },
    /// ECDSA: r or s is zero or not below the group order.
    #[error("the {key_type} signature's r or s is zero or not below the group order")]
    ScalarRange {
        /// The key's type.
        key_type: KeyType,
    },
}

/// A TRUSTFILE line, or the signature checks, need a transit key version
/// that `bao read` output describes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FromTransitError {
    /// Not JSON, or a key appears twice in one object.
    #[error("not the JSON of `bao read -format=json transit/keys/NAME`: {reason}")]
    Json {
        /// What is wrong.
        reason: String,
    },
    /// A field is missing or of the wrong type.
    #[error(
        "field {field} is missing or not {expected}; give the output of `bao read -format=json transit/keys/NAME`"
    )]
    Field {
        /// The field, e.g. `data.keys`.
        field: &'static str,
        /// Its expected JSON type.
        expected: &'static str,
    },
    /// The key's type cannot sign receipts ceremony verifies.
    #[error(transparent)]
    KeyType(#[from] UnsupportedKeyType),
    /// A derived key has one public key per context, none to pin.
    #[error(
        "transit key {name:?} is derived (derived=true): its signing key depends on a context, so there is no one public key to trust; use a key made without derived=true"
    )]
    Derived {
        /// The key name.
        name: String,
    },
    /// The key name could not be written into a TRUSTFILE line.
    #[error(
        "transit key name {name:?} cannot be written in a TRUSTFILE line (empty, or spaces or control characters)"
    )]
    Name {
        /// The name, cut to 80 characters.
        name: String,
    },
    /// The version asked for is not one of the key's.
    #[error(
        "transit key {name:?} has no version {version}; it has {}",
        list(available)
    )]
    NoVersion {
        /// The key name.
        name: String,
        /// The version asked for.
        version: u32,
        /// The versions listed under `keys`.
        available: Vec<u32>,
    },
    /// The version is older than transit itself still verifies.
    #[error(
        "transit key {name:?} version {version} is below its min_decryption_version {min}: transit no longer verifies its signatures"
    )]
    Retired {
        /// The key name.
        name: String,
        /// The version asked for.
        version: u32,
        /// `min_decryption_version`.
        min: u64,
    },
    /// marshaling or hash given for an ed25519 key.
    #[error("--{option} applies to ECDSA keys only; transit signs ed25519 over the input itself")]
    NotEcdsaOption {
        /// The option.
        option: &'static str,
    },
    /// The public key does not parse.
    #[error("version {version}: {problem}")]
    Key {
        /// The version.
        version: u32,
        /// What is wrong.
        problem: KeyError,
    },
}

fn list(versions: &[u32]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    versions
        .iter()
        .map(|v| format!("v{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A transit key version, read from `bao read -format=json
/// transit/keys/NAME`.
#[derive(Clone, Debug)]
pub struct KeyVersion {
    /// The transit key's name.
    pub name: String,
    /// Its version.
    pub version: u32,
    /// The version's public key.
    pub key: TransitKey,
}

/// What `from-transit` is asked for: which version, and for ECDSA how the
/// runtime side signs.
#[derive(Clone, Copy, Debug, Default)]
pub struct FromTransit {
    /// The version to trust; `None` is `latest_version`.
    pub version: Option<u32>,
    /// `marshaling_algorithm` the runtime side signs with (ECDSA only).
    pub marshaling: Option<Marshaling>,
    /// `hash_algorithm` the runtime side signs with (ECDSA only).
    pub hash: Option<HashAlgorithm>,
}

impl KeyVersion {
    /// Reads `bao read -format=json transit/keys/NAME` (or the HTTP API's
    /// `GET /v1/transit/keys/NAME` body, which has the same `data`).
    pub fn from_key_json(bytes: &[u8], choice: &FromTransit) -> Result<Self, FromTransitError> {
        crate::json::reject_duplicate_keys(bytes).map_err(|e| FromTransitError::Json {
            reason: e.to_string(),
        })?;
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| FromTransitError::Json {
                reason: e.to_string(),
            })?;
        let field = |field: &'static str, expected: &'static str| FromTransitError::Field {
            field,
            expected,
        };
        let data = doc
            .get("data")
            .and_then(serde_json::Value::as_object)
            .ok_or(field("data", "an object"))?;
        let name = data
            .get("name")
            .and_then(serde_json::Value::as_str)
            .ok_or(field("data.name", "a string"))?;
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FromTransitError::Name {
                name: name.chars().take(80).collect(),
            });
        }
        let key_type: KeyType = data
            .get("type")
            .and_then(serde_json::Value::as_str)
            .ok_or(field("data.type", "a string"))?
            .parse()?;
        if data.get("derived").and_then(serde_json::Value::as_bool) != Some(false) {
            return Err(FromTransitError::Derived {
                name: name.to_owned(),
            });
        }
        if key_type == KeyType::Ed25519 {
            if choice.marshaling.is_some() {
                return Err(FromTransitError::NotEcdsaOption {
                    option: "marshaling",
                });
            }
            if choice.hash.is_some() {
                return Err(FromTransitError::NotEcdsaOption { option: "hash" });
            }
        }
        let keys = data
            .get("keys")
            .and_then(serde_json::Value::as_object)
            .ok_or(field("data.keys", "an object"))?;
        let mut available: Vec<u32> = keys
            .keys()
            .filter_map(|k| scheme::parse_version(k))
            .collect();
        available.sort_unstable();
        let version = match choice.version {
            Some(v) => v,
            None => data
                .get("latest_version")
                .and_then(serde_json::Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or(field("data.latest_version", "a version number"))?,
        };
        let entry = keys
            .get(&version.to_string())
            .ok_or_else(|| FromTransitError::NoVersion {
                name: name.to_owned(),
                version,
                available: available.clone(),
            })?;
        let min = data
            .get("min_decryption_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if u64::from(version) < min {
            return Err(FromTransitError::Retired {
                name: name.to_owned(),
                version,
                min,
            });
        }
        let public_key = entry
            .get("public_key")
            .and_then(serde_json::Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or(field("data.keys.<version>.public_key", "a public key"))?;
        let key = TransitKey::from_transit(
            key_type,
            public_key,
            choice.marshaling.unwrap_or_default(),
            choice.hash.unwrap_or_default(),
        )
        .map_err(|problem| FromTransitError::Key { version, problem })?;
        Ok(Self {
            name: name.to_owned(),
            version,
            key,
        })
    }

    /// The TRUSTFILE line that trusts this key version for `authority`.
    pub fn trust_line(&self, authority: &str) -> String {
        format!(
            "authorities={authority} transit {} v{} {}",
            self.name,
            self.version,
            self.key.trust_fields()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::elliptic_curve::scalar::IsHigh;

    fn p256_key(seed: u8) -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap()
    }

    fn p256_transit(signer: &p256::ecdsa::SigningKey, marshaling: Marshaling) -> TransitKey {
        let der = signer.verifying_key().to_public_key_der().unwrap();
        TransitKey::from_base64(
            KeyType::EcdsaP256,
            &STANDARD.encode(der.as_bytes()),
            marshaling,
            HashAlgorithm::Sha2_256,
        )
        .unwrap()
    }

    fn sign_p256(signer: &p256::ecdsa::SigningKey, message: &[u8]) -> p256::ecdsa::Signature {
        signer.sign_prehash(&Sha256::digest(message)).unwrap()
    }

    /// `signature` with S replaced by n − S.
    fn flip_s(signature: &p256::ecdsa::Signature) -> p256::ecdsa::Signature {
        let (r, s) = signature.split_scalars();
        p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap()
    }

    #[test]
    fn der_and_jws_verify_only_as_pinned() {
        let signer = p256_key(7);
        let sig = sign_p256(&signer, b"pae");
        let der = STANDARD.encode(sig.to_der().as_bytes());
        let jws = URL_SAFE_NO_PAD.encode(sig.to_bytes());
        let asn1_key = p256_transit(&signer, Marshaling::Asn1);
        let jws_key = p256_transit(&signer, Marshaling::Jws);
        assert_eq!(asn1_key.verify(b"pae", &der), Ok(()));
        assert_eq!(jws_key.verify(b"pae", &jws), Ok(()));
        assert_eq!(asn1_key.verify(b"other", &der), Err(SignatureProblem::Bad));
        assert_eq!(
            asn1_key.verify(b"pae", &jws),
            Err(SignatureProblem::Encoding(EncodingProblem::ExpectedDer {
                key_type: KeyType::EcdsaP256,
                looks_like_jws: true
            }))
        );
        assert_eq!(
            jws_key.verify(b"pae", &der),
            Err(SignatureProblem::Encoding(EncodingProblem::ExpectedJws {
                key_type: KeyType::EcdsaP256,
                size: 64,
                looks_like_der: true
            }))
        );
        // r ‖ s in standard base64 is not what transit writes for jws.
        let std_jws = STANDARD.encode(sig.to_bytes());
        assert!(matches!(
            jws_key.verify(b"pae", &std_jws),
            Err(SignatureProblem::Encoding(
                EncodingProblem::ExpectedJws { .. }
            ))
        ));
    }

    #[test]
    fn non_canonical_der_is_refused() {
        let signer = p256_key(7);
        let sig = sign_p256(&signer, b"pae");
        let key = p256_transit(&signer, Marshaling::Asn1);
        let der = sig.to_der().as_bytes().to_vec();
        // Long-form length of the SEQUENCE: BER, not DER.
        let mut long = vec![0x30, 0x81];
        long.extend_from_slice(&der[1..]);
        // A redundant leading zero on r.
        let r_len = usize::from(der[3]);
        let mut padded = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
        padded.extend_from_slice(&der[4..]);
        // Trailing garbage.
        let mut trailing = der.clone();
        trailing.push(0);
        for bad in [long, padded, trailing] {
            let text = STANDARD.encode(&bad);
            assert!(
                matches!(
                    key.verify(b"pae", &text),
                    Err(SignatureProblem::Encoding(_))
                ),
                "{bad:02x?} (r is {r_len} bytes)"
            );
        }
    }

    /// Decision (module docs): transit does not normalise S, so high-S
    /// signatures are accepted, and so is the (r, n − s) twin of any
    /// signature.
    #[test]
    fn high_s_is_accepted_both_ways() {
        let signer = p256_key(9);
        let key = p256_transit(&signer, Marshaling::Asn1);
        let sig = sign_p256(&signer, b"pae");
        let twin = flip_s(&sig);
        assert_ne!(
            bool::from(sig.s().is_high()),
            bool::from(twin.s().is_high())
        );
        for s in [sig, twin] {
            assert_eq!(
                key.verify(b"pae", &STANDARD.encode(s.to_der().as_bytes())),
                Ok(())
            );
        }
    }

    #[test]
    fn sha2_384_and_p384() {
        let signer = p384::ecdsa::SigningKey::from_bytes(&[5u8; 48].into()).unwrap();
        let der = signer.verifying_key().to_public_key_der().unwrap();
        let b64 = STANDARD.encode(der.as_bytes());
        // transit hashes with sha2-256 unless told otherwise, for P-384 too.
        let sig: p384::ecdsa::Signature = signer.sign_prehash(&Sha256::digest(b"pae")).unwrap();
        let key = TransitKey::from_base64(
            KeyType::EcdsaP384,
            &b64,
            Marshaling::Jws,
            HashAlgorithm::Sha2_256,
        )
        .unwrap();
        assert_eq!(
            key.verify(b"pae", &URL_SAFE_NO_PAD.encode(sig.to_bytes())),
            Ok(())
        );
        let key384 = TransitKey::from_base64(
            KeyType::EcdsaP384,
            &b64,
            Marshaling::Jws,
            HashAlgorithm::Sha2_384,
        )
        .unwrap();
        assert_eq!(
            key384.verify(b"pae", &URL_SAFE_NO_PAD.encode(sig.to_bytes())),
            Err(SignatureProblem::Bad)
        );
        // A P-384 key is not a P-256 key.
        assert_eq!(
            TransitKey::from_base64(
                KeyType::EcdsaP256,
                &b64,
                Marshaling::Asn1,
                HashAlgorithm::Sha2_256
            )
            .unwrap_err(),
            KeyError::NotSpki {
                key_type: KeyType::EcdsaP256
            }
        );
    }

    #[test]
    fn compressed_points_are_not_the_pinned_form() {
        let signer = p256_key(7);
        let point = signer.verifying_key().to_encoded_point(true);
        // SPKI with the compressed point: same prefix as the uncompressed
        // form up to the BIT STRING.
        let mut spki = vec![0x30, 0x39, 0x30, 0x13];
        spki.extend_from_slice(&[
            0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
            0xce, 0x3d, 0x03, 0x01, 0x07,
        ]);
        spki.extend_from_slice(&[0x03, 0x22, 0x00]);
        spki.extend_from_slice(point.as_bytes());
        assert!(p256::PublicKey::from_public_key_der(&spki).is_ok());
        assert_eq!(
            TransitKey::from_base64(
                KeyType::EcdsaP256,
                &STANDARD.encode(&spki),
                Marshaling::Asn1,
                HashAlgorithm::Sha2_256
            )
            .unwrap_err(),
            KeyError::NotCanonical {
                key_type: KeyType::EcdsaP256
            }
        );
    }

    #[test]
    fn key_types_and_options() {
        assert_eq!("ecdsa-p384".parse::<KeyType>(), Ok(KeyType::EcdsaP384));
        let rsa = "rsa-2048".parse::<KeyType>().unwrap_err().to_string();
        assert!(rsa.contains("RSA receipt signatures are refused"), "{rsa}");
        assert!("ecdsa-p521".parse::<KeyType>().is_err());
        assert_eq!("jws".parse::<Marshaling>(), Ok(Marshaling::Jws));
        assert!("sha3-256".parse::<HashAlgorithm>().is_err());
        assert!("sha1".parse::<HashAlgorithm>().is_err());
    }

    fn key_json(key_type: &str, public_key: &str) -> String {
        serde_json::json!({
            "request_id": "x",
            "data": {
                "name": "receipts",
                "type": key_type,
                "derived": false,
                "latest_version": 2,
                "min_decryption_version": 1,
                "keys": {
                    "1": {"name": "P-256", "public_key": public_key},
                    "2": {"name": "P-256", "public_key": public_key},
                }
            },
            "warnings": null
        })
        .to_string()
    }

    #[test]
    fn from_key_json_makes_a_line_that_reads_back() {
        let signer = p256_key(7);
        let pem = signer
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let json = key_json("ecdsa-p256", &pem);
        let latest = KeyVersion::from_key_json(json.as_bytes(), &FromTransit::default()).unwrap();
        assert_eq!((latest.name.as_str(), latest.version), ("receipts", 2));
        let line = latest.trust_line("openbao-prod");
        assert!(
            line.starts_with("authorities=openbao-prod transit receipts v2 ecdsa-p256 MFkw"),
            "{line}"
        );
        assert!(line.ends_with(" marshaling=asn1 hash=sha2-256"), "{line}");
        let trust = super::super::TrustFile::parse("t", line.as_bytes()).unwrap();
        assert_eq!(trust.keys()[0].name, "receipts v2");

        let v1 = KeyVersion::from_key_json(
            json.as_bytes(),
            &FromTransit {
                version: Some(1),
                marshaling: Some(Marshaling::Jws),
                ..FromTransit::default()
            },
        )
        .unwrap();
        assert!(v1.trust_line("a").contains(" v1 ecdsa-p256 "));
        assert!(v1.trust_line("a").contains("marshaling=jws"));
        assert!(matches!(
            KeyVersion::from_key_json(
                json.as_bytes(),
                &FromTransit {
                    version: Some(3),
                    ..FromTransit::default()
                }
            ),
            Err(FromTransitError::NoVersion { version: 3, ref available, .. }) if available == &[1, 2]
        ));
    }

    #[test]
    fn from_key_json_refuses_what_it_cannot_pin() {
        let rsa = key_json("rsa-2048", "-----BEGIN PUBLIC KEY-----\n");
        assert!(matches!(
            KeyVersion::from_key_json(rsa.as_bytes(), &FromTransit::default()),
            Err(FromTransitError::KeyType(_))
        ));
        let ed = key_json("ed25519", "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=");
        let derived = ed.replace("\"derived\":false", "\"derived\":true");
        assert!(matches!(
            KeyVersion::from_key_json(derived.as_bytes(), &FromTransit::default()),
            Err(FromTransitError::Derived { .. })
        ));
        assert!(matches!(
            KeyVersion::from_key_json(
                ed.as_bytes(),
                &FromTransit {
                    marshaling: Some(Marshaling::Jws),
                    ..FromTransit::default()
                }
            ),
            Err(FromTransitError::NotEcdsaOption { .. })
        ));
        let line = KeyVersion::from_key_json(ed.as_bytes(), &FromTransit::default())
            .unwrap()
            .trust_line("openbao-prod");
        assert_eq!(
            line,
            "authorities=openbao-prod transit receipts v2 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
        );
        let twice = r#"{"data": {"name": "a", "name": "b"}}"#;
        assert!(matches!(
            KeyVersion::from_key_json(twice.as_bytes(), &FromTransit::default()),
            Err(FromTransitError::Json { .. })
        ));
    }
}
