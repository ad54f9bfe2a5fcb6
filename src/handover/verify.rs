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
//!    covered by its global signature, which minisign-verify checks with
//!    step 4 (its API does not separate them).
//!
//! An envelope passes when every signature decodes and at least one verifies
//! by a trusted key. Signatures by keys this TRUSTFILE does not list are
//! tolerated beside a good one (another verifier may trust them); malformed
//! ones are not, since nobody can have checked them.

use super::dsse::Envelope;
use super::scheme::{self, Decoded, Malformed, Scheme};
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
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            sshsig_namespace: RECEIPT_NAMESPACE.to_owned(),
            allow_legacy_minisign: false,
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
            Ok(by) => return Ok(by),
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
        let candidates: Vec<(&TrustedKey, &Option<Vec<String>>)> = self
            .trust
            .keys_of(Scheme::Sshsig)
            .filter_map(|k| match &k.key {
                KeyMaterial::Sshsig { key, namespaces } if key == embedded => Some((k, namespaces)),
                _ => None,
            })
            .collect();
        let Some((first, _)) = candidates.first() else {
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
        // "SSHSIG" ‖ namespace ‖ reserved ‖ hash alg ‖ H(PAE).
        let public = ssh_key::PublicKey::from(embedded.clone());
        if public.verify(sig.namespace(), self.pae, sig).is_err() {
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
        if let Some((key, _)) = candidates.iter().find(|(_, namespaces)| {
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
                .flat_map(|(_, ns)| ns.iter().flatten().cloned())
                .collect(),
        })
    }

    /// minisign: key id, algorithm, signature, trusted comment (minisign
    /// `verify`; spec §6).
    fn minisign(&self, sig: &scheme::MinisignSig) -> Result<VerifiedBy, VerifyError> {
        let trusted: Vec<(&TrustedKey, &minisign_verify::PublicKey, &[u8; 8])> = self
            .trust
            .keys_of(Scheme::Minisign)
            .filter_map(|k| match &k.key {
                KeyMaterial::Minisign { key, key_id } => Some((k, key, key_id)),
                _ => None,
            })
            .collect();
        let Some((key, public, _)) = trusted.iter().find(|(_, _, id)| **id == sig.key_id) else {
            return Err(VerifyError::MinisignKeyIdMismatch {
                index: self.index,
                found: scheme::minisign_key_id_hex(&sig.key_id),
                trusted: trusted
                    .iter()
                    .map(|(_, _, id)| scheme::minisign_key_id_hex(id))
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
        // signature ‖ trusted comment.
        public
            .verify(self.pae, &sig.parsed, true)
            .map_err(|_| VerifyError::BadSignature {
                index: self.index,
                scheme: Scheme::Minisign,
                key_name: key.name.clone(),
            })?;
        Ok(self.verified(key, Some(sig.parsed.trusted_comment().to_owned())))
    }

    /// Vault/OpenBao transit: plain Ed25519 over the PAE by the key version
    /// named in `vault:v<N>:…` (spec §7). The key name is not in the
    /// signature, so every trusted transit key of that version is tried.
    fn transit(
        &self,
        version: u32,
        signature: &ed25519_dalek::Signature,
    ) -> Result<VerifiedBy, VerifyError> {
        let trusted: Vec<(&TrustedKey, u32, &ed25519_dalek::VerifyingKey)> = self
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
        if let Some((key, _, _)) = candidates
            .iter()
            .find(|(_, _, vk)| vk.verify_strict(self.pae, signature).is_ok())
        {
            return Ok(self.verified(key, None));
        }
        Err(VerifyError::BadSignature {
            index: self.index,
            scheme: Scheme::Transit,
            key_name: candidates
                .iter()
                .map(|(k, _, _)| k.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
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
