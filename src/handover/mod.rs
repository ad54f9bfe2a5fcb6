//! Handover receipts: proving offline that the runtime authority received
//! every bootstrap secret intact and that the bootstrap copies were retired
//! (seed §7.3 "Bootstrap → Runtime Authority: one-time handover", §7.9
//! "single authority at any time").
//!
//! The protocol (`docs/handover.md`): the operator makes a [`challenge`]
//! from the sealed bootstrap files without decrypting them; the runtime side
//! answers with a signed receipt whose predicate is defined in [`receipt`]
//! (built from decrypted values with [`receipt::build_statement`]); the
//! operator checks it with [`report::verify_handover`], optionally
//! recomputing every commitment from the sealed files ([`report::deep_values`]).
//! Items and commitments are defined in [`items`].
//!
//! # The signature and envelope layer
//!
//! A handover receipt is an in-toto Statement v1 ([`statement`]) inside a
//! DSSE envelope ([`dsse`]), signed over the DSSE pre-authentication encoding
//! by one of four schemes ([`scheme`]): plain Ed25519, OpenSSH SSHSIG,
//! minisign, or Vault/OpenBao transit (ed25519, ECDSA P-256 or P-384,
//! [`transit`]). A TRUSTFILE ([`trust`]) lists
//! the keys a verifier accepts; [`mod@verify`] checks an envelope against it;
//! [`sign`] signs with a local OpenSSH Ed25519 key or attaches a signature
//! made elsewhere.
//!
//! Formats and decisions are documented in `docs/handover-signatures.md`;
//! the specifications they follow are DSSE v1
//! (github.com/secure-systems-lab/dsse), the in-toto Statement v1,
//! OpenSSH's PROTOCOL.sshsig, minisign's signature format and the
//! Vault/OpenBao transit API.
//!
//! ```
//! use ceremony::handover::{dsse::Envelope, sign, trust::TrustFile, verify};
//!
//! let mut envelope = Envelope::unsigned("application/vnd.in-toto+json", b"{}".to_vec());
//! // What an external signer must sign:
//! assert_eq!(envelope.pae(), b"DSSEv1 28 application/vnd.in-toto+json 2 {}");
//! // An unsigned receipt does not verify.
//! let trust = TrustFile::parse(
//!     "trust.txt",
//!     b"ed25519 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg= lead\n",
//! )
//! .unwrap();
//! assert!(matches!(
//!     verify::verify(&envelope, &trust),
//!     Err(verify::VerifyError::NoSignatures)
//! ));
//! # let _ = sign::attach_signature;
//! ```

pub mod challenge;
pub mod dsse;
pub mod items;
pub mod kv;
pub mod receipt;
pub mod report;
pub mod scheme;
pub mod sealed;
pub mod sign;
pub mod statement;
pub mod transit;
pub mod trust;
pub mod verify;

pub use challenge::Challenge;
pub use dsse::{Envelope, pae};
pub use report::{Report, VerifyRequest, verify_handover};
pub use scheme::Scheme;
pub use sign::{Ed25519SigningKey, attach_signature, sign_ed25519, sign_sshsig};
pub use statement::Statement;
pub use trust::TrustFile;
pub use verify::{
    RECEIPT_NAMESPACE, VerifiedBy, VerifyError, VerifyPolicy, verify, verify_with_policy,
};

/// Any error of the handover layer, for the crate-wide error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading an envelope.
    #[error(transparent)]
    Envelope(#[from] dsse::EnvelopeError),
    /// Reading or building a statement.
    #[error(transparent)]
    Statement(#[from] statement::StatementError),
    /// Reading a TRUSTFILE.
    #[error(transparent)]
    TrustFile(#[from] trust::TrustFileError),
    /// Verifying signatures.
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    /// Signing.
    #[error(transparent)]
    Sign(#[from] sign::SignError),
    /// Attaching a signature.
    #[error(transparent)]
    Attach(#[from] sign::AttachError),
    /// Making or reading a challenge.
    #[error(transparent)]
    Challenge(#[from] challenge::ChallengeError),
    /// Building a receipt or reading its predicate.
    #[error(transparent)]
    Receipt(#[from] receipt::ReceiptError),
    /// Reading a transit key for a TRUSTFILE line.
    #[error(transparent)]
    FromTransit(#[from] transit::FromTransitError),
    /// Opening the sealed files for `--deep`.
    #[error(transparent)]
    Deep(#[from] report::DeepError),
    /// Reading the bootstrap directory.
    #[error(transparent)]
    Walk(#[from] crate::walk::WalkError),
    /// Reading a file.
    #[error(transparent)]
    Fs(#[from] crate::fsio::FsError),
    /// Reading `.sops.yaml`.
    #[error(transparent)]
    Bootstrap(#[from] crate::bootstrap::Error),
    /// A file name that cannot be a challenge path.
    #[error("{path}: a file name that is not clean UTF-8 cannot be handed over")]
    FileName {
        /// The file.
        path: std::path::PathBuf,
    },
    /// Files that `bootstrap verify` rejects.
    #[error("the bootstrap directory does not pass `bootstrap verify`: {}", failures.join("; "))]
    Policy {
        /// Each failure, `file: key path: reason`.
        failures: Vec<String>,
    },
    /// root.json's bootstrap recipient is not a recipient.
    #[error("root.json's bootstrap_recipient is not an age recipient")]
    RootRecipient,
    /// A root directory of another root than the challenge's.
    #[error("{dir} is root {found}, but the challenge is for root {expected}")]
    WrongRoot {
        /// The root directory.
        dir: std::path::PathBuf,
        /// Its root id.
        found: String,
        /// The challenge's.
        expected: String,
    },
}

impl Error {
    /// The class of this error, for the exit code.
    pub fn class(&self) -> crate::class::Class {
        use crate::class::Class;
        match self {
            Error::Verify(_) => Class::Verification,
            Error::Challenge(challenge::ChallengeError::Clock) => Class::Io,
            Error::Receipt(receipt::ReceiptError::Expired { .. }) => Class::Refused,
            Error::Deep(report::DeepError::Open { source, .. }) => match source {
                crate::sops::Error::MacMismatch => Class::MacMismatch,
                crate::sops::Error::NoIdentityOpened => Class::Decryption,
                _ => Class::Verification,
            },
            Error::Walk(e) => e.class(),
            Error::Fs(e) => e.class(),
            Error::Bootstrap(e) => e.class(),
            Error::Policy { .. } | Error::WrongRoot { .. } => Class::Verification,
            _ => Class::Input,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Policy { .. } => {
                Some("run `ceremony bootstrap verify` on the directory and fix what it lists")
            }
            Error::Receipt(receipt::ReceiptError::Expired { .. }) => {
                Some("ask the operator for a new challenge")
            }
            Error::Fs(e) => e.hint(),
            _ => None,
        }
    }
}
