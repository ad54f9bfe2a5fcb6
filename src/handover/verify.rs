//! Checking a receipt envelope's signatures against a TRUSTFILE.
//!
//! Only the DSSE PAE of the envelope (`"DSSEv1" SP LEN(type) SP type SP
//! LEN(body) SP body`, spec §4) is ever checked; the JSON text is not. The
//! signatures' `keyid` fields are not authenticated (DSSE `envelope.md`), so
//! they only say how to read `sig` and which key the signer claims to be; the
//! verifier always tries the trusted keys themselves and, after a signature
//! verifies, insists that any claim in `keyid` names the key that verified.
//!
//! Order of checks for one signature, after minisign's `verify` (STYLE §7):
//! 1. decode: the `keyid` scheme, the canonical `sig` bytes, and for schemes
//!    whose signature names its key, that `keyid` says the same;
//! 2. key: is the signer's key (SSH key, minisign key id, transit version)
//!    one the TRUSTFILE lists;
//! 3. algorithm: e.g. minisign legacy `Ed` only if the policy allows it;
//! 4. signature over the PAE bytes;
//! 5. signed metadata: the SSHSIG namespace; minisign's trusted comment is
//!    covered by its global signature, which is checked with step 4.
//!
//! Transit ECDSA signatures (P-256, P-384) are read in exactly the form the
//! key's TRUSTFILE line pins (DER or JWS, canonical), and high-S values are
//! accepted because transit makes them ([`super::transit`] says why).
//!
//! Every Ed25519 check, whatever the scheme, is `verify_strict`: besides a
//! canonical S it refuses small-order keys and small-order R values, which no
//! honest signer produces and which lax verifiers accept for forged
//! signatures. ssh-key and minisign-verify verify laxly, so for SSHSIG and
//! minisign the verifier rebuilds the signed bytes and checks the Ed25519
//! signatures itself as well (spec §5, §6).
//!
//! An envelope passes when every signature decodes and at least one verifies
//! by a trusted key. Signatures by keys this TRUSTFILE does not list are
//! tolerated beside a good one (another verifier may trust them); malformed
//! ones are not, since nobody can have checked them.

use blake2::{Blake2b512, Digest};
use sha2::{Sha256, Sha512};

use super::dsse::Envelope;
use super::scheme::{self, Decoded, Malformed, Scheme};
use super::transit::{EncodingProblem, SignatureProblem, TransitKey};
use super::trust::{KeyMaterial, TrustFile, TrustedKey};

/// The SSHSIG namespace of handover receipts: `ssh-keygen -Y sign -n
/// ceremony-handover-receipt`. PROTOCOL.sshsig: the namespace keeps a
/// signature made for one purpose (a git commit, a file) from being accepted
/// for another.
pub const RECEIPT_NAMESPACE: &str = "ceremony-handover-receipt";

/// Choices a verifier can make. [`VerifyPolicy::default`] is what receipts use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// The SSHSIG namespace a signature must carry.
    pub sshsig_namespace: String,
    /// Accept minisign's legacy `Ed` signatures (`minisign -S -l`), which sign
    /// the message itself rather than its BLAKE2b-512 hash. minisign-verify
    /// refuses them unless asked, and so do we.
    pub allow_legacy_minisign: bool,
    /// The runtime authority the envelope speaks for: only a key whose
    /// TRUSTFILE line names it (`authorities=…`) may sign for it. `None`
    /// checks signatures alone (no handover is judged then).
    pub authority: Option<String>,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            sshsig_namespace: RECEIPT_NAMESPACE.to_owned(),
            allow_legacy_minisign: false,
            authority: None,
        }
    }
}

/// Who vouched for the envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBy {
    /// The scheme of the signature that verified.
    pub scheme: Scheme,
    /// The trusted key's name from the TRUSTFILE.
    pub key_name: String,
    /// The trusted key's fingerprint, minisign key id or transit version.
    pub key: String,
    /// The TRUSTFILE line of the trusted key.
    pub trust_line: usize,
    /// Which signature in the envelope verified, from 0.
    pub signature_index: usize,
    /// For minisign: the trusted comment, which the signature covers.
    pub trusted_comment: Option<String>,
    /// The authorities the TRUSTFILE trusts the key for.
    pub authorities: Vec<String>,
}

/// Why an envelope's signatures were not accepted.
///
/// Messages name keys by fingerprint or id, never by key bytes, and say as
/// little about a failed signature as the distinction needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The envelope carries no signatures.
    #[error("the receipt is unsigned: it has no signatures (sign it, or attach a signature)")]
    NoSignatures,
    /// A signature cannot be read.
    #[error("signature {index}: malformed: {problem}")]
    Malformed {
        /// Position in `signatures`, from 0.
        index: usize,
        /// What is wrong.
        problem: Malformed,
    },
    /// The signer's key is not in the TRUSTFILE.
    #[error("signature {index} ({scheme}): untrusted key: {}", untrusted(*scheme, signer.as_deref()))]
    UntrustedKey {
        /// Position in `signatures`, from 0.
        index: usize,
        /// Its scheme.
        scheme: Scheme,
        /// The signer as the signature or `keyid` names it, if it does.
        signer: Option<String>,
    },
    /// The signature names a trusted key but does not verify with it: it was
    /// made by another key, or over other bytes (the envelope was changed).
    #[error(
        "signature {index} ({scheme}): bad signature: it does not verify with trusted key {key_name}; it was made by another key or the receipt was altered"
    )]
    BadSignature {
        /// Position in `signatures`, from 0.
        index: usize,
        /// Its scheme.
        scheme: Scheme,
        /// The trusted key(s) tried.
        key_name: String,
    },
    /// A genuine SSHSIG signature, but made for another namespace.
    #[error(
        "signature {index} (sshsig) by {key_name}: wrong namespace: expected {expected:?}, found {found:?} (sign with `ssh-keygen -Y sign -n {expected}`)"
    )]
    SshsigNamespaceMismatch {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The trusted key's name.
        key_name: String,
        /// The namespace receipts use.
        expected: String,
        /// The namespace in the signature.
        found: String,
    },
    /// The TRUSTFILE line limits the key to namespaces that exclude receipts.
    #[error(
        "signature {index} (sshsig) by {key_name}: the TRUSTFILE allows this key only for namespaces {allowed:?}, not {namespace:?}"
    )]
    SshsigNamespaceNotAllowed {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The trusted key's name.
        key_name: String,
        /// The receipt namespace.
        namespace: String,
        /// The line's `namespaces=` list.
        allowed: Vec<String>,
    },
    /// The minisign signature's key id is not that of any trusted minisign key.
    #[error(
        "signature {index} (minisign): key id mismatch: signed by key id {found}, trusted minisign key ids are [{}]",
        trusted.join(", ")
    )]
    MinisignKeyIdMismatch {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The key id in the signature.
        found: String,
        /// The key ids in the TRUSTFILE.
        trusted: Vec<String>,
    },
    /// A legacy minisign signature while the policy refuses them.
    #[error(
        "signature {index} (minisign) by {key_name}: legacy (non-prehashed) minisign signature refused; sign without `-l`"
    )]
    MinisignLegacy {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The trusted key's name.
        key_name: String,
    },
    /// The transit signature's key version is not a trusted one.
    #[error(
        "signature {index} (transit): version mismatch: signed with key version v{found}, trusted transit keys are [{}]",
        trusted.join(", ")
    )]
    TransitVersionMismatch {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The version in `vault:v<N>:…`.
        found: u32,
        /// The trusted transit keys, `name vN`.
        trusted: Vec<String>,
    },
    /// A transit signature that is not in the form the trusted key's
    /// TRUSTFILE line expects (another key type, the other ECDSA
    /// marshaling, non-canonical DER).
    #[error("signature {index} (transit) for {key_name} (line {trust_line}): {problem}")]
    TransitEncoding {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The trusted key's name, `name vN`.
        key_name: String,
        /// Its TRUSTFILE line.
        trust_line: usize,
        /// What is wrong.
        problem: EncodingProblem,
    },
    /// The signature verified, but `keyid` names a different key.
    #[error(
        "signature {index}: keyid {claimed:?} does not name the key that made the signature ({actual:?})"
    )]
    KeyIdMismatch {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The keyid in the envelope.
        claimed: String,
        /// The keyid of the key that verified.
        actual: String,
    },
    /// A genuine signature by a trusted key, but the TRUSTFILE does not
    /// trust that key for this authority.
    #[error(
        "signature {index} by {key_name} ({file_line}): this key is not trusted to sign for authority {authority:?}; {}",
        allowed_text(allowed)
    )]
    NotForAuthority {
        /// Position in `signatures`, from 0.
        index: usize,
        /// The trusted key's name.
        key_name: String,
        /// `line N` of the TRUSTFILE.
        file_line: String,
        /// The authority the receipt speaks for.
        authority: String,
        /// The authorities its line names.
        allowed: Vec<String>,
    },
    /// Several signatures, none verified; each one's reason.
    #[error("no signature verified by a trusted key: {}", list(.failures))]
    NoneVerified {
        /// One error per signature, in envelope order.
        failures: Vec<VerifyError>,
    },
}

fn untrusted(scheme: Scheme, signer: Option<&str>) -> String {
    match signer {
        // The name comes from the unverified signature or keyid: say so.
        Some(signer) => format!("it names {signer}, which is not in the TRUSTFILE"),
        None => format!("no trusted {scheme} key verifies it"),
    }
}

fn allowed_text(allowed: &[String]) -> String {
    if allowed.is_empty() {
        "its TRUSTFILE line names no authority: add authorities=NAME in front of it".to_owned()
    } else {
        format!("its TRUSTFILE line allows only {}", allowed.join(", "))
    }
}

fn list(failures: &[VerifyError]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Verifies `envelope` against `trust` with the default policy.
pub fn verify(envelope: &Envelope, trust: &TrustFile) -> Result<VerifiedBy, VerifyError> {
    verify_with_policy(envelope, trust, &VerifyPolicy::default())
}

/// Verifies `envelope` against `trust`. See the module documentation for
/// what passes.
pub fn verify_with_policy(
    envelope: &Envelope,
    trust: &TrustFile,
    policy: &VerifyPolicy,
) -> Result<VerifiedBy, VerifyError> {
    if envelope.signatures.is_empty() {
        return Err(VerifyError::NoSignatures);
    }
    let decoded = envelope
        .signatures
        .iter()
        .enumerate()
        .map(|(index, sig)| {
            decode_signature(sig.keyid.as_deref(), &sig.sig)
                .map_err(|problem| VerifyError::Malformed { index, problem })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let pae = envelope.pae();
    let mut failures = Vec::new();
    for (index, (claim, sig)) in decoded.iter().enumerate() {
        let check = Check {
            index,
            pae: &pae,
            trust,
            policy,
        };
        match check.run(claim.as_deref(), sig) {
            Ok(by) => match &policy.authority {
                Some(authority) if !by.authorities.contains(authority) => {
                    failures.push(VerifyError::NotForAuthority {
                        index,
                        key_name: by.key_name,
                        file_line: format!("line {}", by.trust_line),
                        authority: authority.clone(),
                        allowed: by.authorities,
                    })
                }
                _ => return Ok(by),
            },
            Err(e) => failures.push(e),
        }
    }
    match failures.len() {
        1 => Err(failures.remove(0)),
        _ => Err(VerifyError::NoneVerified { failures }),
    }
}

/// Decodes one signature; returns the `keyid` claim still to be checked
/// against the verifying key (only plain Ed25519 has one).
fn decode_signature(
    keyid: Option<&str>,
    sig: &[u8],
) -> Result<(Option<String>, Decoded), Malformed> {
    let (scheme, claim) = scheme::split_keyid(keyid)?;
    let decoded = scheme::decode(scheme, sig)?;
    match scheme::implied_keyid(&decoded) {
        // The signature names its key, so `keyid` can be checked now and
        // must match exactly: it has one correct value.
        Some(expected) => {
            if keyid != Some(expected.as_str()) {
                return Err(Malformed::KeyIdDisagrees {
                    keyid: keyid.unwrap_or_default().to_owned(),
                    expected,
                });
            }
            Ok((None, decoded))
        }
        None => Ok((claim.map(str::to_owned), decoded)),
    }
}

struct Check<'a> {
    index: usize,
    pae: &'a [u8],
    trust: &'a TrustFile,
    policy: &'a VerifyPolicy,
}

impl Check<'_> {
    fn run(&self, claim: Option<&str>, sig: &Decoded) -> Result<VerifiedBy, VerifyError> {
        match sig {
            Decoded::Ed25519(signature) => self.ed25519(claim, signature),
            Decoded::Sshsig(sig) => self.sshsig(sig),
            Decoded::Minisign(sig) => self.minisign(sig),
            Decoded::Transit { version, signature } => self.transit(*version, signature),
        }
    }

    fn verified(&self, key: &TrustedKey, trusted_comment: Option<String>) -> VerifiedBy {
        VerifiedBy {
            scheme: key.scheme(),
            key_name: key.name.clone(),
            key: key.key_label(),
            trust_line: key.line,
            signature_index: self.index,
            trusted_comment,
            authorities: key.authorities.clone(),
        }
    }

    /// Plain Ed25519 (RFC 8032) over the PAE. The signature does not name its
    /// key, so every trusted ed25519 key is tried.
    fn ed25519(
        &self,
        claim: Option<&str>,
        signature: &ed25519_dalek::Signature,
    ) -> Result<VerifiedBy, VerifyError> {
        let candidates: Vec<(&TrustedKey, &ed25519_dalek::VerifyingKey)> = self
            .trust
            .keys_of(Scheme::Ed25519)
            .filter_map(|k| match &k.key {
                KeyMaterial::Ed25519(vk) => Some((k, vk)),
                _ => None,
            })
            .collect();
        // verify_strict also refuses small-order keys and R values, which
        // honest signers never produce.
        if let Some((key, vk)) = candidates
            .iter()
            .find(|(_, vk)| vk.verify_strict(self.pae, signature).is_ok())
        {
            let actual = scheme::ed25519_fingerprint(vk.as_bytes());
            if let Some(claim) = claim.filter(|c| *c != actual) {
                return Err(VerifyError::KeyIdMismatch {
                    index: self.index,
                    claimed: format!("ed25519:{claim}"),
                    actual: scheme::ed25519_keyid(vk.as_bytes()),
                });
            }
            return Ok(self.verified(key, None));
        }
        // Nothing verified. If keyid names a trusted key, the signature is bad
        // for that key; otherwise the signer is simply not trusted.
        let named = claim.and_then(|claim| {
            candidates
                .iter()
                .find(|(_, vk)| scheme::ed25519_fingerprint(vk.as_bytes()) == claim)
        });
        match named {
            Some((key, _)) => Err(VerifyError::BadSignature {
                index: self.index,
                scheme: Scheme::Ed25519,
                key_name: key.name.clone(),
            }),
            None => Err(VerifyError::UntrustedKey {
                index: self.index,
                scheme: Scheme::Ed25519,
                signer: claim.map(str::to_owned),
            }),
        }
    }

    /// SSHSIG (PROTOCOL.sshsig): the blob carries the signer's public key,
    /// which must be a trusted one; then the signature; then the namespace.
    fn sshsig(&self, sig: &ssh_key::SshSig) -> Result<VerifiedBy, VerifyError> {
        let embedded = sig.public_key();
        let candidates: Vec<(
            &TrustedKey,
            &Option<Vec<String>>,
            &ed25519_dalek::VerifyingKey,
        )> = self
            .trust
            .keys_of(Scheme::Sshsig)
            .filter_map(|k| match &k.key {
                KeyMaterial::Sshsig {
                    key,
                    namespaces,
                    ed25519,
                } if key == embedded => Some((k, namespaces, ed25519)),
                _ => None,
            })
            .collect();
        let Some((first, _, ed25519)) = candidates.first() else {
            return Err(VerifyError::UntrustedKey {
                index: self.index,
                scheme: Scheme::Sshsig,
                signer: Some(scheme::ssh_fingerprint(embedded)),
            });
        };
        // Verify over the namespace the signature claims, so that a genuine
        // signature made for another purpose is reported as such (below)
        // rather than as a forgery. ssh-key checks the key and namespace
        // arguments against the blob, then the signature over
        // "SSHSIG" ‖ namespace ‖ reserved ‖ hash alg ‖ H(PAE). Its Ed25519
        // check is lax, so the same bytes are checked strictly here too.
        let public = ssh_key::PublicKey::from(embedded.clone());
        let strict = sshsig_ed25519_strict(ed25519, sig, self.pae);
        if !strict || public.verify(sig.namespace(), self.pae, sig).is_err() {
            return Err(VerifyError::BadSignature {
                index: self.index,
                scheme: Scheme::Sshsig,
                key_name: first.name.clone(),
            });
        }
        let expected = &self.policy.sshsig_namespace;
        if sig.namespace() != expected {
            return Err(VerifyError::SshsigNamespaceMismatch {
                index: self.index,
                key_name: first.name.clone(),
                expected: expected.clone(),
                found: sig.namespace().to_owned(),
            });
        }
        // ssh-keygen(1) ALLOWED SIGNERS: namespaces= limits which namespaces
        // the key is accepted for; no option means any namespace.
        if let Some((key, _, _)) = candidates.iter().find(|(_, namespaces, _)| {
            namespaces
                .as_ref()
                .is_none_or(|list| list.iter().any(|ns| ns == expected))
        }) {
            return Ok(self.verified(key, None));
        }
        Err(VerifyError::SshsigNamespaceNotAllowed {
            index: self.index,
            key_name: first.name.clone(),
            namespace: expected.clone(),
            allowed: candidates
                .iter()
                .flat_map(|(_, ns, _)| ns.iter().flatten().cloned())
                .collect(),
        })
    }

    /// minisign: key id, algorithm, signature, trusted comment (minisign
    /// `verify`; spec §6).
    fn minisign(&self, sig: &scheme::MinisignSig) -> Result<VerifiedBy, VerifyError> {
        type Trusted<'k> = (
            &'k TrustedKey,
            &'k minisign_verify::PublicKey,
            &'k [u8; 8],
            &'k ed25519_dalek::VerifyingKey,
        );
        let trusted: Vec<Trusted<'_>> = self
            .trust
            .keys_of(Scheme::Minisign)
            .filter_map(|k| match &k.key {
                KeyMaterial::Minisign {
                    key,
                    key_id,
                    ed25519,
                } => Some((k, key, key_id, ed25519)),
                _ => None,
            })
            .collect();
        let Some((key, public, _, ed25519)) =
            trusted.iter().find(|(_, _, id, _)| **id == sig.key_id)
        else {
            return Err(VerifyError::MinisignKeyIdMismatch {
                index: self.index,
                found: scheme::minisign_key_id_hex(&sig.key_id),
                trusted: trusted
                    .iter()
                    .map(|(_, _, id, _)| scheme::minisign_key_id_hex(id))
                    .collect(),
            });
        };
        if sig.legacy && !self.policy.allow_legacy_minisign {
            return Err(VerifyError::MinisignLegacy {
                index: self.index,
                key_name: key.name.clone(),
            });
        }
        // The legacy gate is above, so let minisign-verify take either form.
        // It checks the key id again, then the signature over BLAKE2b-512(PAE)
        // (or the PAE itself for `Ed`), then the global signature over
        // signature ‖ trusted comment. Its Ed25519 check is lax, so both
        // signatures are checked strictly here too.
        let strict = minisign_ed25519_strict(ed25519, sig, self.pae);
        if !strict || public.verify(self.pae, &sig.parsed, true).is_err() {
            return Err(VerifyError::BadSignature {
                index: self.index,
                scheme: Scheme::Minisign,
                key_name: key.name.clone(),
            });
        }
        Ok(self.verified(key, Some(sig.parsed.trusted_comment().to_owned())))
    }

    /// Vault/OpenBao transit: a signature over the PAE by the key version
    /// named in `vault:v<N>:…` (spec §7), read and checked as the trusted
    /// key's TRUSTFILE line says (ed25519, or ECDSA with its marshaling and
    /// hash; [`super::transit`]). The key name is not in the signature, so
    /// every trusted transit key of that version is tried.
    fn transit(&self, version: u32, signature: &str) -> Result<VerifiedBy, VerifyError> {
        let trusted: Vec<(&TrustedKey, u32, &TransitKey)> = self
            .trust
            .keys_of(Scheme::Transit)
            .filter_map(|k| match &k.key {
                KeyMaterial::Transit { version, key } => Some((k, *version, key)),
                _ => None,
            })
            .collect();
        if trusted.is_empty() {
            return Err(VerifyError::UntrustedKey {
                index: self.index,
                scheme: Scheme::Transit,
                signer: Some(format!("transit key version v{version}")),
            });
        }
        let candidates: Vec<_> = trusted.iter().filter(|(_, v, _)| *v == version).collect();
        if candidates.is_empty() {
            return Err(VerifyError::TransitVersionMismatch {
                index: self.index,
                found: version,
                trusted: trusted.iter().map(|(k, _, _)| k.name.clone()).collect(),
            });
        }
        let mut bad = Vec::new();
        let mut encoding = None;
        for (key, _, transit_key) in &candidates {
            match transit_key.verify(self.pae, signature) {
                Ok(()) => return Ok(self.verified(key, None)),
                Err(SignatureProblem::Bad) => bad.push(key.name.as_str()),
                Err(SignatureProblem::Encoding(problem)) => {
                    encoding.get_or_insert((*key, problem));
                }
            }
        }
        // A signature in the form a trusted key expects that does not
        // verify is a bad signature; one that no candidate can even read
        // says why, for the first such key.
        match encoding {
            Some((key, problem)) if bad.is_empty() => Err(VerifyError::TransitEncoding {
                index: self.index,
                key_name: key.name.clone(),
                trust_line: key.line,
                problem,
            }),
            _ => Err(VerifyError::BadSignature {
                index: self.index,
                scheme: Scheme::Transit,
                key_name: bad.join(", "),
            }),
        }
    }
}

/// The bytes an SSHSIG signature signs (PROTOCOL.sshsig, spec §5):
/// `"SSHSIG"` ‖ string(namespace) ‖ string(reserved) ‖ string(hash alg) ‖
/// string(H(message)), where string = uint32 big-endian length ‖ bytes.
/// `None` for a hash algorithm PROTOCOL.sshsig does not define.
fn sshsig_signed_data(sig: &ssh_key::SshSig, message: &[u8]) -> Option<Vec<u8>> {
    let hash = match sig.hash_alg() {
        ssh_key::HashAlg::Sha256 => Sha256::digest(message).to_vec(),
        ssh_key::HashAlg::Sha512 => Sha512::digest(message).to_vec(),
        _ => return None,
    };
    let mut out = b"SSHSIG".to_vec();
    for field in [
        sig.namespace().as_bytes(),
        sig.reserved(),
        sig.hash_alg().as_str().as_bytes(),
        &hash,
    ] {
        out.extend_from_slice(&u32::try_from(field.len()).ok()?.to_be_bytes());
        out.extend_from_slice(field);
    }
    Some(out)
}

/// Whether the SSHSIG's Ed25519 signature verifies strictly by `key` over
/// the SSHSIG signed data of `message`.
fn sshsig_ed25519_strict(
    key: &ed25519_dalek::VerifyingKey,
    sig: &ssh_key::SshSig,
    message: &[u8],
) -> bool {
    if sig.signature().algorithm() != ssh_key::Algorithm::Ed25519 {
        return false;
    }
    let Ok(signature) = ed25519_dalek::Signature::from_slice(sig.signature_bytes()) else {
        return false;
    };
    sshsig_signed_data(sig, message)
        .is_some_and(|data| key.verify_strict(&data, &signature).is_ok())
}

/// Whether both Ed25519 signatures of a minisign signature verify strictly
/// by `key` (minisign README, spec §6): the signature over BLAKE2b-512 of
/// `message` (`ED`) or `message` itself (legacy `Ed`), and the global
/// signature over signature ‖ trusted comment.
fn minisign_ed25519_strict(
    key: &ed25519_dalek::VerifyingKey,
    sig: &scheme::MinisignSig,
    message: &[u8],
) -> bool {
    let signed_ok = if sig.legacy {
        key.verify_strict(message, &sig.signature).is_ok()
    } else {
        let hash = Blake2b512::digest(message);
        key.verify_strict(&hash, &sig.signature).is_ok()
    };
    let mut global = sig.signature.to_bytes().to_vec();
    global.extend_from_slice(sig.parsed.trusted_comment().as_bytes());
    signed_ok && key.verify_strict(&global, &sig.global_signature).is_ok()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;
    use crate::handover::dsse::Signature;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn envelope() -> Envelope {
        Envelope::unsigned("application/vnd.in-toto+json", b"{\"a\":1}".to_vec())
    }

    fn trust_for(lines: &str) -> TrustFile {
        TrustFile::parse("trust.txt", lines.as_bytes()).unwrap()
    }

    fn ed25519_line(key: &SigningKey, name: &str) -> String {
        format!(
            "ed25519 {} {name}\n",
            STANDARD.encode(key.verifying_key().as_bytes())
        )
    }

    fn signed(keyid: Option<&str>, signer: &SigningKey) -> Envelope {
        let mut env = envelope();
        let sig = signer.sign(&env.pae()).to_bytes().to_vec();
        env.signatures.push(Signature {
            keyid: keyid.map(str::to_owned),
            sig,
        });
        env
    }

    #[test]
    fn ed25519_with_and_without_a_key_claim() {
        let alice = key(1);
        let trust = trust_for(&ed25519_line(&alice, "alice"));
        let by = verify(&signed(Some("ed25519"), &alice), &trust).unwrap();
        assert_eq!(
            (by.scheme, by.key_name.as_str()),
            (Scheme::Ed25519, "alice")
        );
        assert_eq!(by.trust_line, 1);
        let keyid = scheme::ed25519_keyid(alice.verifying_key().as_bytes());
        assert!(verify(&signed(Some(&keyid), &alice), &trust).is_ok());
    }

    #[test]
    fn keyid_is_required_and_must_name_a_scheme() {
        let alice = key(1);
        let trust = trust_for(&ed25519_line(&alice, "alice"));
        assert_eq!(
            verify(&signed(None, &alice), &trust),
            Err(VerifyError::Malformed {
                index: 0,
                problem: Malformed::MissingKeyId
            })
        );
        assert!(matches!(
            verify(&signed(Some("rsa"), &alice), &trust),
            Err(VerifyError::Malformed {
                problem: Malformed::KeyIdScheme { .. },
                ..
            })
        ));
    }

    #[test]
    fn transit_keyid_must_match_the_signature_version() {
        let transit = key(3);
        let mut env = envelope();
        let sig = transit.sign(&env.pae());
        env.signatures.push(Signature {
            keyid: Some("transit:v2".into()),
            sig: format!("vault:v3:{}", STANDARD.encode(sig.to_bytes())).into_bytes(),
        });
        let trust = trust_for(&format!(
            "transit k v3 {}\n",
            STANDARD.encode(transit.verifying_key().as_bytes())
        ));
        assert!(matches!(
            verify(&env, &trust),
            Err(VerifyError::Malformed {
                problem: Malformed::KeyIdDisagrees { .. },
                ..
            })
        ));
        env.signatures[0].keyid = Some("transit:v3".into());
        assert_eq!(verify(&env, &trust).unwrap().key_name, "k v3");
    }

    #[test]
    fn untrusted_scheme_reports_untrusted_key() {
        // A transit signature checked against a TRUSTFILE with no transit keys.
        let mut env = envelope();
        let sig = key(3).sign(&env.pae());
        env.signatures.push(Signature {
            keyid: Some("transit:v1".into()),
            sig: format!("vault:v1:{}", STANDARD.encode(sig.to_bytes())).into_bytes(),
        });
        let trust = trust_for(&ed25519_line(&key(1), "alice"));
        assert!(matches!(
            verify(&env, &trust),
            Err(VerifyError::UntrustedKey {
                scheme: Scheme::Transit,
                ..
            })
        ));
    }

    // --- strict Ed25519 for every scheme ---------------------------------
    //
    // Two kinds of signature a lax Ed25519 verifier may accept but
    // `verify_strict` refuses:
    // - S + L: a valid signature with the group order added to S (not
    //   canonical; every verifier here refuses it, kept as a regression test);
    // - small-order R: for the key A = B (secret scalar 1), R = identity and
    //   S = k mod L where k = SHA-512(R ‖ A ‖ M) satisfy [S]B = R + [k]A, so
    //   anyone can "sign" any message. ssh-key, minisign-verify and
    //   ed25519-dalek's `verify` accept these; `verify_strict` does not.

    /// The group order L, little-endian.
    const ORDER: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    /// The Ed25519 base point B, compressed: the public key of scalar 1.
    const BASE: [u8; 32] = {
        let mut b = [0x66; 32];
        b[0] = 0x58;
        b
    };

    /// The identity point, compressed: a small-order R.
    const IDENTITY: [u8; 32] = {
        let mut b = [0; 32];
        b[0] = 1;
        b
    };

    /// A little-endian integer of any length, reduced mod L.
    fn reduce_mod_l(le: &[u8]) -> [u8; 32] {
        let below_l = |x: &[u8; 33]| {
            if x[32] != 0 {
                return false;
            }
            for i in (0..32).rev() {
                if x[i] != ORDER[i] {
                    return x[i] < ORDER[i];
                }
            }
            false
        };
        let mut x = [0u8; 33];
        for &byte in le.iter().rev() {
            x.copy_within(0..32, 1);
            x[0] = byte;
            while !below_l(&x) {
                let mut borrow = 0i16;
                for (i, limb) in x.iter_mut().enumerate() {
                    let l = i16::from(ORDER.get(i).copied().unwrap_or(0));
                    let d = i16::from(*limb) - l - borrow;
                    borrow = i16::from(d < 0);
                    *limb = d.rem_euclid(256) as u8;
                }
            }
        }
        x[..32].try_into().unwrap()
    }

    /// `signature` with L added to S.
    fn add_order_to_s(signature: [u8; 64]) -> [u8; 64] {
        let mut out = signature;
        let mut carry = 0u16;
        for (s, l) in out[32..].iter_mut().zip(ORDER) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        out
    }

    /// A signature with the small-order R = identity that "verifies" over
    /// `message` for the key [`BASE`] under lax rules.
    fn small_order_r(message: &[u8]) -> [u8; 64] {
        let k = Sha512::new()
            .chain_update(IDENTITY)
            .chain_update(BASE)
            .chain_update(message)
            .finalize();
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&IDENTITY);
        out[32..].copy_from_slice(&reduce_mod_l(&k));
        out
    }

    /// An honest signature over `message` by the key [`BASE`] (secret
    /// scalar 1), with nonce r = 1: R = B, S = 1 + k mod L.
    fn honest_by_base(message: &[u8]) -> [u8; 64] {
        let k = Sha512::new()
            .chain_update(BASE)
            .chain_update(BASE)
            .chain_update(message)
            .finalize();
        let mut s = reduce_mod_l(&k).to_vec();
        s.push(0);
        for byte in s.iter_mut() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&BASE);
        out[32..].copy_from_slice(&reduce_mod_l(&s));
        out
    }

    fn lax_accepts(message: &[u8], signature: &[u8; 64]) -> bool {
        use ed25519_dalek::Verifier;
        let base = ed25519_dalek::VerifyingKey::from_bytes(&BASE).unwrap();
        base.verify(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }

    #[test]
    fn reduce_mod_l_agrees_with_signatures() {
        // S of an RFC 8032 signature is canonical, so reducing it is a no-op.
        let s = key(1).sign(b"m").to_bytes();
        assert_eq!(reduce_mod_l(&s[32..]), s[32..]);
        assert_eq!(reduce_mod_l(&ORDER), [0; 32]);
        assert_eq!(reduce_mod_l(&add_order_to_s(s)[32..]), s[32..]);
    }

    #[test]
    fn ed25519_small_order_r_and_non_canonical_s_are_refused() {
        let mut env = envelope();
        let forged = small_order_r(&env.pae());
        assert!(lax_accepts(&env.pae(), &forged), "the forgery is lax-valid");
        env.signatures.push(Signature {
            keyid: Some("ed25519".into()),
            sig: forged.to_vec(),
        });
        let trust = trust_for(&format!("ed25519 {} base\n", STANDARD.encode(BASE)));
        assert!(matches!(
            verify(&env, &trust),
            Err(VerifyError::UntrustedKey { .. })
        ));

        let alice = key(1);
        let mut env = envelope();
        let s_plus_l = add_order_to_s(alice.sign(&env.pae()).to_bytes());
        env.signatures.push(Signature {
            keyid: Some("ed25519".into()),
            sig: s_plus_l.to_vec(),
        });
        let trust = trust_for(&ed25519_line(&alice, "alice"));
        assert!(verify(&env, &trust).is_err());
    }

    #[test]
    fn transit_small_order_r_and_non_canonical_s_are_refused() {
        let transit = |sig: [u8; 64]| {
            let mut env = envelope();
            env.signatures.push(Signature {
                keyid: Some("transit:v1".into()),
                sig: format!("vault:v1:{}", STANDARD.encode(sig)).into_bytes(),
            });
            env
        };
        let forged = small_order_r(&envelope().pae());
        assert!(lax_accepts(&envelope().pae(), &forged));
        let trust = trust_for(&format!("transit k v1 {}\n", STANDARD.encode(BASE)));
        assert!(matches!(
            verify(&transit(forged), &trust),
            Err(VerifyError::BadSignature {
                scheme: Scheme::Transit,
                ..
            })
        ));

        let signer = key(3);
        let trust = trust_for(&format!(
            "transit k v1 {}\n",
            STANDARD.encode(signer.verifying_key().as_bytes())
        ));
        let good = signer.sign(&envelope().pae()).to_bytes();
        assert!(verify(&transit(good), &trust).is_ok());
        assert!(matches!(
            verify(&transit(add_order_to_s(good)), &trust),
            Err(VerifyError::BadSignature { .. })
        ));
    }

    fn sshsig_trust(public: [u8; 32]) -> TrustFile {
        let key = ssh_key::PublicKey::from(ssh_key::public::KeyData::Ed25519(
            ssh_key::public::Ed25519PublicKey(public),
        ));
        trust_for(&format!("sshsig ops {}\n", key.to_openssh().unwrap()))
    }

    /// An envelope with one SSHSIG signature by `public`, its Ed25519
    /// signature made by `sign` over the SSHSIG signed data; and the SshSig.
    fn sshsig_signed(
        public: [u8; 32],
        sign: impl Fn(&[u8]) -> [u8; 64],
    ) -> (Envelope, ssh_key::SshSig) {
        let mut env = envelope();
        let hash = ssh_key::HashAlg::Sha512;
        let data = ssh_key::SshSig::signed_data(RECEIPT_NAMESPACE, hash, &env.pae()).unwrap();
        let signature =
            ssh_key::Signature::new(ssh_key::Algorithm::Ed25519, sign(&data).to_vec()).unwrap();
        let sig = ssh_key::SshSig::new(
            ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(public)),
            RECEIPT_NAMESPACE,
            hash,
            signature,
        )
        .unwrap();
        assert_eq!(sshsig_signed_data(&sig, &env.pae()).unwrap(), data);
        let blob = scheme::sshsig_blob(&sig).unwrap();
        let keyid = scheme::implied_keyid(&scheme::decode(Scheme::Sshsig, &blob).unwrap());
        env.signatures.push(Signature { keyid, sig: blob });
        (env, sig)
    }

    #[test]
    fn sshsig_signed_data_matches_ssh_key_for_both_hashes() {
        let alice = key(1);
        let public = *alice.verifying_key().as_bytes();
        let (env, _) = sshsig_signed(public, |m| alice.sign(m).to_bytes());
        let trust = sshsig_trust(public);
        assert_eq!(verify(&env, &trust).unwrap().key_name, "ops");
        let sha256 = ssh_key::SshSig::signed_data("ns", ssh_key::HashAlg::Sha256, b"m").unwrap();
        let sig = ssh_key::SshSig::new(
            ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(public)),
            "ns",
            ssh_key::HashAlg::Sha256,
            ssh_key::Signature::new(ssh_key::Algorithm::Ed25519, vec![0; 64]).unwrap(),
        )
        .unwrap();
        assert_eq!(sshsig_signed_data(&sig, b"m").unwrap(), sha256);
    }

    #[test]
    fn sshsig_small_order_r_is_refused_though_ssh_key_accepts_it() {
        let (env, sig) = sshsig_signed(BASE, small_order_r);
        let public = ssh_key::PublicKey::from(sig.public_key().clone());
        assert!(
            public.verify(RECEIPT_NAMESPACE, &env.pae(), &sig).is_ok(),
            "ssh-key's own check accepts the forgery"
        );
        assert_eq!(
            verify(&env, &sshsig_trust(BASE)),
            Err(VerifyError::BadSignature {
                index: 0,
                scheme: Scheme::Sshsig,
                key_name: "ops".into()
            })
        );
    }

    #[test]
    fn sshsig_non_canonical_s_is_refused() {
        let alice = key(1);
        let public = *alice.verifying_key().as_bytes();
        let (env, _) = sshsig_signed(public, |m| add_order_to_s(alice.sign(m).to_bytes()));
        assert!(matches!(
            verify(&env, &sshsig_trust(public)),
            Err(VerifyError::BadSignature {
                scheme: Scheme::Sshsig,
                ..
            })
        ));
    }

    const MINISIGN_KEY_ID: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn minisign_trust(public: [u8; 32]) -> TrustFile {
        let mut bin = b"Ed".to_vec();
        bin.extend_from_slice(&MINISIGN_KEY_ID);
        bin.extend_from_slice(&public);
        trust_for(&format!("minisign {} ops\n", STANDARD.encode(bin)))
    }

    /// An envelope with one minisign signature, its signature made by `sign`
    /// and its global signature by `sign_global`; and the same signature as
    /// minisign-verify reads it.
    fn minisign_signed(
        legacy: bool,
        sign: impl Fn(&[u8]) -> [u8; 64],
        sign_global: impl Fn(&[u8]) -> [u8; 64],
    ) -> (Envelope, minisign_verify::Signature) {
        let mut env = envelope();
        let pae = env.pae();
        let signature = if legacy {
            sign(&pae)
        } else {
            sign(&Blake2b512::digest(&pae))
        };
        let comment = "timestamp:0\tfile:receipt";
        let mut global = signature.to_vec();
        global.extend_from_slice(comment.as_bytes());
        let mut line = if legacy {
            b"Ed".to_vec()
        } else {
            b"ED".to_vec()
        };
        line.extend_from_slice(&MINISIGN_KEY_ID);
        line.extend_from_slice(&signature);
        let text = format!(
            "{}\n{}\ntrusted comment: {comment}\n{}\n",
            scheme::MINISIGN_UNTRUSTED_COMMENT,
            STANDARD.encode(line),
            STANDARD.encode(sign_global(&global)),
        );
        let parsed = minisign_verify::Signature::decode(&text).unwrap();
        env.signatures.push(Signature {
            keyid: Some(format!(
                "minisign:{}",
                scheme::minisign_key_id_hex(&MINISIGN_KEY_ID)
            )),
            sig: text.into_bytes(),
        });
        (env, parsed)
    }

    fn legacy_policy() -> VerifyPolicy {
        VerifyPolicy {
            allow_legacy_minisign: true,
            ..VerifyPolicy::default()
        }
    }

    #[test]
    fn minisign_made_here_verifies_in_both_forms() {
        let alice = key(1);
        let public = *alice.verifying_key().as_bytes();
        let trust = minisign_trust(public);
        for legacy in [false, true] {
            let sign = |m: &[u8]| alice.sign(m).to_bytes();
            let (env, _) = minisign_signed(legacy, sign, sign);
            let by = verify_with_policy(&env, &trust, &legacy_policy()).unwrap();
            assert_eq!(
                by.trusted_comment.as_deref(),
                Some("timestamp:0\tfile:receipt")
            );
        }
    }

    #[test]
    fn minisign_small_order_r_is_refused_though_minisign_verify_accepts_it() {
        let trust = minisign_trust(BASE);
        for legacy in [false, true] {
            let (env, parsed) = minisign_signed(legacy, small_order_r, small_order_r);
            let lax = minisign_verify::PublicKey::from_base64(&{
                let mut bin = b"Ed".to_vec();
                bin.extend_from_slice(&MINISIGN_KEY_ID);
                bin.extend_from_slice(&BASE);
                STANDARD.encode(bin)
            })
            .unwrap();
            assert!(
                lax.verify(&env.pae(), &parsed, true).is_ok(),
                "minisign-verify accepts the forgery (legacy: {legacy})"
            );
            assert_eq!(
                verify_with_policy(&env, &trust, &legacy_policy()),
                Err(VerifyError::BadSignature {
                    index: 0,
                    scheme: Scheme::Minisign,
                    key_name: "ops".into()
                })
            );
        }
    }

    #[test]
    fn minisign_small_order_r_in_either_signature_is_refused() {
        let trust = minisign_trust(BASE);
        let (env, _) = minisign_signed(false, honest_by_base, honest_by_base);
        assert!(verify(&env, &trust).is_ok(), "the honest form verifies");
        type Sign = fn(&[u8]) -> [u8; 64];
        let forgeries: [(Sign, Sign); 2] = [
            (small_order_r, honest_by_base),
            (honest_by_base, small_order_r),
        ];
        for (sign, sign_global) in forgeries {
            let (env, parsed) = minisign_signed(false, sign, sign_global);
            let lax = minisign_verify::PublicKey::from_base64(&{
                let mut bin = b"Ed".to_vec();
                bin.extend_from_slice(&MINISIGN_KEY_ID);
                bin.extend_from_slice(&BASE);
                STANDARD.encode(bin)
            })
            .unwrap();
            assert!(lax.verify(&env.pae(), &parsed, false).is_ok());
            assert!(matches!(
                verify(&env, &trust),
                Err(VerifyError::BadSignature {
                    scheme: Scheme::Minisign,
                    ..
                })
            ));
        }
    }

    #[test]
    fn minisign_non_canonical_s_is_refused() {
        let alice = key(1);
        let trust = minisign_trust(*alice.verifying_key().as_bytes());
        for legacy in [false, true] {
            let sign = |m: &[u8]| add_order_to_s(alice.sign(m).to_bytes());
            let (env, _) = minisign_signed(legacy, sign, sign);
            assert!(matches!(
                verify_with_policy(&env, &trust, &legacy_policy()),
                Err(VerifyError::BadSignature {
                    scheme: Scheme::Minisign,
                    ..
                })
            ));
        }
    }

    #[test]
    fn every_error_message_says_what_happened() {
        let shown = [
            VerifyError::NoSignatures.to_string(),
            VerifyError::UntrustedKey {
                index: 0,
                scheme: Scheme::Ed25519,
                signer: None,
            }
            .to_string(),
            VerifyError::BadSignature {
                index: 0,
                scheme: Scheme::Minisign,
                key_name: "ops".into(),
            }
            .to_string(),
            VerifyError::SshsigNamespaceMismatch {
                index: 0,
                key_name: "a".into(),
                expected: RECEIPT_NAMESPACE.into(),
                found: "git".into(),
            }
            .to_string(),
            VerifyError::TransitVersionMismatch {
                index: 0,
                found: 3,
                trusted: vec!["k v2".into()],
            }
            .to_string(),
        ];
        for (text, needle) in shown.iter().zip([
            "unsigned",
            "untrusted key",
            "bad signature",
            "wrong namespace: expected \"ceremony-handover-receipt\", found \"git\"",
            "version mismatch: signed with key version v3, trusted transit keys are [k v2]",
        ]) {
            assert!(text.contains(needle), "{text}");
        }
    }
}
