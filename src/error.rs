//! The crate-wide error and the classes the command line maps to exit codes.

/// What kind of failure an error is, for a stable exit code
/// (`docs/exit-codes.md`). Scripts in `ceremonies/` branch on these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A file or argument is malformed: fix the input and retry.
    Input,
    /// Something checked did not match (commitment, key check value,
    /// signature, manifest): the material is wrong or was tampered with.
    Verification,
    /// Fewer valid shares than the threshold.
    NotEnoughShares,
    /// The tool refused to do something unsafe (overwrite, print a secret to
    /// a terminal, run online).
    Refused,
    /// No identity or passphrase opened an encrypted file.
    Decryption,
    /// The operating system failed a read or write.
    Io,
    /// A SOPS file's MAC does not match (sops uses 51 for this too).
    MacMismatch,
    /// A SOPS value failed its own authentication tag: moved to another key
    /// path, altered, or sealed under another data key (sops uses 25).
    ValueDecryption,
    /// A failure that is not the input's fault (a bug, or the system
    /// refusing something it should not, such as the clock).
    Internal,
}

/// Errors of the whole library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From share handling.
    #[error(transparent)]
    Shares(#[from] crate::shares::Error),
    /// From the file-output layer.
    #[error(transparent)]
    Fs(#[from] crate::fsio::FsError),
    /// From root handling.
    #[error(transparent)]
    Root(#[from] crate::root::Error),
    /// From loading identities.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
}

impl Error {
    /// The class of this error.
    pub fn class(&self) -> Class {
        match self {
            Error::Shares(e) => e.class(),
            Error::Fs(e) => e.class(),
            Error::Root(e) => e.class(),
            Error::Identity(_) => Class::Input,
        }
    }
}
