//! Adding signatures to a receipt envelope: signing here with an Ed25519
//! key from an OpenSSH private key file, or attaching a signature made
//! elsewhere (`ssh-keygen -Y sign`, `minisign -S`, Vault transit, any Ed25519
//! signer).
//!
//! Every signature covers [`Envelope::pae`] (DSSE, spec §4). The private key
//! lives in ssh-key's and ed25519-dalek's key types, which wipe themselves on
//! drop, and never appears in `Debug` output or errors.

use std::fmt;

use ssh_key::private::KeypairData;
use ssh_key::{HashAlg, PrivateKey, SshSig};

use super::dsse::{Envelope, Signature};
use super::scheme::{self, Malformed, Scheme};
use crate::secret::SecretBytes;

/// An Ed25519 signing key read from an unencrypted OpenSSH private key file
/// (`ssh-keygen -t ed25519 -N ''`).
pub struct Ed25519SigningKey {
    // Always holds an Ed25519 keypair (checked in `from_openssh`). Its
    // Ed25519PrivateKey zeroizes on drop (ssh-key private/ed25519.rs).
    key: PrivateKey,
    public: [u8; 32],
}

impl fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519SigningKey")
            .field("fingerprint", &self.fingerprint())
            .field("comment", &self.key.comment())
            .field("private", &"<redacted>")
            .finish()
    }
}

/// Why a key could not be loaded or a signature made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The file is not an OpenSSH private key.
    #[error(
        "not an OpenSSH private key file ({reason}); expected `-----BEGIN OPENSSH PRIVATE KEY-----` as written by `ssh-keygen -t ed25519`"
    )]
    NotOpensshKey {
        /// What the parser reported (never key material).
        reason: String,
    },
    /// The key is passphrase-protected.
    #[error(
        "the OpenSSH private key is encrypted; ceremony reads only unencrypted keys (`ssh-keygen -t ed25519 -N ''` on the air-gapped machine)"
    )]
    EncryptedKey,
    /// The key is not Ed25519.
    #[error("the OpenSSH private key is {found}, not ssh-ed25519")]
    NotEd25519 {
        /// The key's algorithm.
        found: String,
    },
    /// The file's public half does not belong to its private half.
    #[error(
        "the OpenSSH private key file is inconsistent: its public key does not match its private key"
    )]
    InconsistentKey,
    /// ssh-key could not build the SSHSIG.
    #[error("could not make an SSHSIG signature: {reason}")]
    Sshsig {
        /// What ssh-key reported.
        reason: String,
    },
    /// The public key could not be written in OpenSSH form.
    #[error("could not encode the OpenSSH public key: {reason}")]
    PublicKeyEncoding {
        /// What ssh-key reported.
        reason: String,
    },
    /// The new signature did not verify with the key's own public key.
    #[error(
        "the new signature does not verify with the signing key's public key; nothing was added"
    )]
    SelfCheck,
}

/// Why a signature could not be attached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// The file is not a signature of the given scheme.
    #[error("the {scheme} signature file is malformed: {problem}")]
    Malformed {
        /// The scheme given.
        scheme: Scheme,
        /// What is wrong.
        problem: Malformed,
    },
    /// The envelope already carries this exact signature.
    #[error("the envelope already has this signature (signature {index})")]
    Duplicate {
        /// Position of the existing copy, from 0.
        index: usize,
    },
}

impl Ed25519SigningKey {
    /// Reads an unencrypted OpenSSH Ed25519 private key file.
    pub fn from_openssh(file: &SecretBytes) -> Result<Self, SignError> {
        let key = PrivateKey::from_openssh(file.expose_secret()).map_err(|e| {
            SignError::NotOpensshKey {
                reason: e.to_string(),
            }
        })?;
        if key.is_encrypted() {
            return Err(SignError::EncryptedKey);
        }
        let keypair = match key.key_data() {
            KeypairData::Ed25519(keypair) => keypair,
            _ => {
                return Err(SignError::NotEd25519 {
                    found: key.algorithm().to_string(),
                });
            }
        };
        // The file stores the public key beside the private one. If the halves
        // disagree, signatures would not verify under the public key the
        // operator sees (`ssh-keygen -l`, our keyid and trust line).
        let derived = ed25519_dalek::SigningKey::from_bytes(keypair.private.as_ref());
        if derived.verifying_key().as_bytes() != keypair.public.as_ref() {
            return Err(SignError::InconsistentKey);
        }
        let public = keypair.public.0;
        Ok(Self { key, public })
    }

    /// A fresh key from the OS CSPRNG, e.g. for `ceremony demo`. A real
    /// authority's key is made and kept on the runtime side.
    pub fn generate(comment: &str) -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, seed.as_mut());
        let keypair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let public = keypair.public.0;
        let mut key = PrivateKey::from(keypair);
        key.set_comment(comment);
        Self { key, public }
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The key's SSH fingerprint, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        scheme::ed25519_fingerprint(&self.public)
    }

    /// The TRUSTFILE line that trusts this key's plain-ed25519 signatures
    /// for receipts of `authority`.
    pub fn ed25519_trust_line(&self, authority: &str, name: &str) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.public);
        let line = format!("authorities={authority} ed25519 {b64}");
        if name.is_empty() {
            line
        } else {
            format!("{line} {name}")
        }
    }

    /// The OpenSSH public key line (`ssh-ed25519 AAAA… comment`), e.g. to
    /// build an `sshsig` TRUSTFILE line.
    pub fn openssh_public_key(&self) -> Result<String, SignError> {
        let public = ssh_key::PublicKey::new(
            ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(self.public)),
            self.key.comment(),
        );
        public
            .to_openssh()
            .map_err(|e| SignError::PublicKeyEncoding {
                reason: e.to_string(),
            })
    }

    fn signing_key(&self) -> Result<ed25519_dalek::SigningKey, SignError> {
        // ed25519-dalek's SigningKey zeroizes on drop (feature `zeroize`).
        match self.key.key_data() {
            KeypairData::Ed25519(keypair) => Ok(ed25519_dalek::SigningKey::from_bytes(
                keypair.private.as_ref(),
            )),
            _ => Err(SignError::NotEd25519 {
                found: self.key.algorithm().to_string(),
            }),
        }
    }
}

/// Signs the envelope's PAE with plain Ed25519 and appends the signature
/// with keyid `ed25519:<SSH fingerprint>`.
pub fn sign_ed25519(envelope: &mut Envelope, key: &Ed25519SigningKey) -> Result<(), SignError> {
    use ed25519_dalek::Signer;

    let pae = envelope.pae();
    let signing = key.signing_key()?;
    let signature = signing.sign(&pae);
    // Read back before reporting success (STYLE §6, as minisign `sign` does).
    signing
        .verifying_key()
        .verify_strict(&pae, &signature)
        .map_err(|_| SignError::SelfCheck)?;
    envelope.signatures.push(Signature {
        keyid: Some(scheme::ed25519_keyid(&key.public_key())),
        sig: signature.to_bytes().to_vec(),
    });
    Ok(())
}

/// Signs the envelope's PAE as `ssh-keygen -Y sign -n <namespace>` would
/// (SHA-512, the ssh-keygen default) and appends the SSHSIG.
pub fn sign_sshsig(
    envelope: &mut Envelope,
    key: &Ed25519SigningKey,
    namespace: &str,
) -> Result<(), SignError> {
    let pae = envelope.pae();
    let sig = SshSig::sign(&key.key, namespace, HashAlg::Sha512, &pae).map_err(|e| {
        SignError::Sshsig {
            reason: e.to_string(),
        }
    })?;
    let public = ssh_key::PublicKey::from(sig.public_key().clone());
    public
        .verify(namespace, &pae, &sig)
        .map_err(|_| SignError::SelfCheck)?;
    let blob = scheme::sshsig_blob(&sig).map_err(|e| SignError::Sshsig {
        reason: e.to_string(),
    })?;
    envelope.signatures.push(Signature {
        keyid: Some(format!(
            "sshsig:{}",
            scheme::ssh_fingerprint(sig.public_key())
        )),
        sig: blob,
    });
    Ok(())
}

/// Attaches a signature made elsewhere over the envelope's PAE bytes.
///
/// The file is parsed and stored in the scheme's canonical form (see
/// [`super::scheme`]); it is not verified here, because the signer's key is
/// not known until a TRUSTFILE is given to [`super::verify::verify`].
pub fn attach_signature(
    envelope: &mut Envelope,
    scheme: Scheme,
    signature_file: &[u8],
) -> Result<(), AttachError> {
    let (sig, decoded) = scheme::normalise(scheme, signature_file)
        .map_err(|problem| AttachError::Malformed { scheme, problem })?;
    if let Some(index) = envelope.signatures.iter().position(|s| s.sig == sig) {
        return Err(AttachError::Duplicate { index });
    }
    let keyid = scheme::implied_keyid(&decoded).unwrap_or_else(|| scheme.as_str().to_owned());
    envelope.signatures.push(Signature {
        keyid: Some(keyid),
        sig,
    });
    Ok(())
}
