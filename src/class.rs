//! What kind of failure an error is.
//!
//! Every module's error type says which [`Class`] it belongs to; the command
//! line turns a class into a stable exit code (`docs/exit-codes.md`), which
//! runbooks in `ceremonies/` branch on. This module imports nothing from the
//! rest of the crate, so every layer can name a class without an import
//! cycle through [`crate::error`].

/// The class of a failure, for a stable exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Class {
    /// A value given on the command line is wrong (checked after parsing).
    Usage,
    /// A file or argument is malformed: fix the input and retry.
    Input,
    /// Something checked did not match (commitment, key check value,
    /// signature, manifest): the material is wrong or was tampered with.
    Verification,
    /// Fewer valid shares than the threshold.
    NotEnoughShares,
    /// The tool refused something unsafe (overwrite, print a secret to a
    /// terminal, run online, proceed without consent).
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
    /// A scripted ceremony stopped: a step's outcome was not the expected
    /// one, and no witness accepted an exception.
    Stopped,
    /// A failure that is not the input's fault (a bug, or the system
    /// refusing something it should not, such as the clock).
    Internal,
}
