//! Handover receipts: the signature and envelope layer.
//!
//! A handover receipt is an in-toto Statement v1 ([`statement`]) inside a
//! DSSE envelope ([`dsse`]), signed over the DSSE pre-authentication encoding
//! by one of four schemes ([`scheme`]): plain Ed25519, OpenSSH SSHSIG,
//! minisign, or Vault/OpenBao transit Ed25519. A TRUSTFILE ([`trust`]) lists
//! the keys a verifier accepts; [`mod@verify`] checks an envelope against it;
//! [`sign`] signs with a local OpenSSH Ed25519 key or attaches a signature
//! made elsewhere.
//!
//! The receipt's predicate (challenge, items, commitments) is built on top of
//! this layer and is not defined here. Formats and decisions are documented
//! in `docs/handover-signatures.md`; the facts they rely on are in
//! `shared/specs/runtime-and-signatures.md` §4–§7.
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

pub mod dsse;
pub mod scheme;
pub mod sign;
pub mod statement;
pub mod trust;
pub mod verify;

pub use dsse::{Envelope, pae};
pub use scheme::Scheme;
pub use sign::{Ed25519SigningKey, attach_signature, sign_ed25519, sign_sshsig};
pub use statement::Statement;
pub use trust::TrustFile;
pub use verify::{
    RECEIPT_NAMESPACE, VerifiedBy, VerifyError, VerifyPolicy, verify, verify_with_policy,
};

/// Any error of the handover signature layer, for the crate-wide error type.
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
}
