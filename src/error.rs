//! The crate-wide error: every module's error, one [`Class`] mapping and
//! one hint per failure.
//!
//! Each module keeps its own error type (named after the thing that went
//! wrong, with the file, line or key path it concerns and never a secret);
//! this type wraps them all, so that the command line asks one question —
//! [`Error::class`] — to choose the exit code, and one more —
//! [`Error::hint`] — to say what to do next, as rage pairs each error with a
//! recommendation.

pub use crate::class::Class;

/// Any failure of the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Share handling (`unseal`).
    #[error(transparent)]
    Shares(#[from] crate::shares::Error),
    /// Reading or writing files.
    #[error(transparent)]
    Fs(#[from] crate::fsio::FsError),
    /// The root of trust.
    #[error(transparent)]
    Root(#[from] crate::root::Error),
    /// Identities.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    /// The SOPS engine.
    #[error(transparent)]
    Sops(#[from] crate::sops::Error),
    /// Bootstrap sealing and verification.
    #[error(transparent)]
    Bootstrap(#[from] crate::bootstrap::Error),
    /// A new value for a sealed item (`bootstrap set`).
    #[error(transparent)]
    BootstrapSet(#[from] crate::bootstrap::set::Error),
    /// Handover challenges, receipts and signatures.
    #[error(transparent)]
    Handover(#[from] crate::handover::Error),
    /// Transcripts.
    #[error(transparent)]
    Transcript(#[from] crate::transcript::TranscriptError),
    /// Ceremony scripts and walking them.
    #[error(transparent)]
    Script(#[from] crate::script::Error),
    /// A witness's sign-off.
    #[error(transparent)]
    SignOff(#[from] crate::transcript::witness::SignOffError),
    /// The preflight gate refused.
    #[error(transparent)]
    Online(#[from] crate::preflight::Online),
    /// Walking a directory.
    #[error(transparent)]
    Walk(#[from] crate::walk::WalkError),
    /// A recipient given where a recipient belongs.
    #[error(transparent)]
    Recipient(#[from] crate::sops::RecipientError),
    /// A key id.
    #[error(transparent)]
    KeyId(#[from] crate::shares::KeyIdError),
    /// A Kubernetes name.
    #[error(transparent)]
    Name(#[from] crate::kube::NameError),
}

/// An error and its causes on one line, `a: b: c`: how a report or a
/// skipped entry names a failure.
pub fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A result of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The class of this error, for a stable exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::Shares(e) => e.class(),
            Error::Fs(e) => e.class(),
            Error::Root(e) => e.class(),
            Error::Identity(e) => e.class(),
            Error::Sops(e) => e.class(),
            Error::Bootstrap(e) => e.class(),
            Error::BootstrapSet(e) => e.class(),
            Error::Handover(e) => e.class(),
            Error::Transcript(e) => e.class(),
            Error::Script(e) => e.class(),
            Error::SignOff(e) => e.class(),
            Error::Online(e) => e.class(),
            Error::Walk(e) => e.class(),
            Error::Recipient(_) | Error::KeyId(_) | Error::Name(_) => Class::Usage,
        }
    }

    /// What to do next, when there is one thing to do.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Shares(e) => e.hint(),
            Error::Fs(e) => e.hint(),
            Error::Root(e) => e.hint(),
            Error::Identity(e) => e.hint(),
            Error::Sops(e) => e.hint(),
            Error::Bootstrap(e) => e.hint(),
            Error::BootstrapSet(e) => e.hint(),
            Error::Handover(e) => e.hint(),
            Error::Transcript(e) => e.hint(),
            Error::Script(e) => e.hint(),
            Error::SignOff(e) => e.hint(),
            Error::Online(e) => Some(e.hint()),
            _ => None,
        }
    }
}

/// The class and hint of any error of this library, whatever its type: the
/// one mapping the command line asks, for each cause of an error chain.
/// `None` for an error that is not the library's.
pub fn classify(
    error: &(dyn std::error::Error + 'static),
) -> Option<(Class, Option<&'static str>)> {
    macro_rules! classify_as {
        ($($t:ty),* $(,)?) => {
            $(
                if let Some(e) = error.downcast_ref::<$t>() {
                    return Some((e.class(), e.hint()));
                }
            )*
        };
    }
    classify_as!(
        Error,
        crate::shares::Error,
        crate::fsio::FsError,
        crate::root::Error,
        crate::identity::IdentityError,
        crate::sops::Error,
        crate::bootstrap::set::Error,
        crate::bootstrap::Error,
        crate::handover::Error,
        crate::transcript::TranscriptError,
        crate::script::Error,
        crate::transcript::witness::SignOffError,
        crate::plugin::PluginError,
    );
    if let Some(e) = error.downcast_ref::<crate::preflight::Online>() {
        return Some((e.class(), Some(e.hint())));
    }
    if error
        .downcast_ref::<crate::sops::RecipientError>()
        .is_some()
        || error.downcast_ref::<crate::shares::KeyIdError>().is_some()
        || error.downcast_ref::<crate::kube::NameError>().is_some()
    {
        return Some((Class::Usage, None));
    }
    if let Some(e) = error.downcast_ref::<crate::walk::WalkError>() {
        return Some((e.class(), None));
    }
    None
}
