//! Stable exit codes. Runbooks in `ceremonies/` branch on them, so a number,
//! once given a meaning, keeps it. Documented in `docs/exit-codes.md`.

use ceremony::class::Class;

/// Success.
pub const OK: u8 = 0;
/// A bug or an unexpected condition.
pub const INTERNAL: u8 = 1;
/// The command line was wrong (clap uses 2 as well).
pub const USAGE: u8 = 2;
/// An input file or value is malformed.
pub const INPUT: u8 = 3;
/// A check failed: commitment, key check value, signature, manifest.
pub const VERIFICATION: u8 = 4;
/// Fewer valid shares than the threshold.
pub const NOT_ENOUGH_SHARES: u8 = 5;
/// Refused: would overwrite, print a secret to a terminal, or run online.
pub const REFUSED: u8 = 6;
/// No identity or passphrase opened an encrypted file.
pub const DECRYPTION: u8 = 7;
/// A read or write failed.
pub const IO: u8 = 8;
/// The command succeeded and its work is done, but its `--transcript`
/// record could not be appended. Never a failure to retry.
pub const NOT_RECORDED: u8 = 9;
/// A scripted ceremony (`ceremony run`) stopped at a step whose outcome
/// was not the expected one, and no witness accepted an exception.
pub const STOPPED: u8 = 10;
/// A SOPS value failed its authentication tag (25, as in sops).
pub const VALUE_DECRYPTION: u8 = 25;
/// A SOPS file's MAC does not match (51, as in sops).
pub const MAC_MISMATCH: u8 = 51;

/// The exit code of a library error class.
pub fn for_class(class: Class) -> u8 {
    match class {
        Class::Usage => USAGE,
        Class::Input => INPUT,
        Class::Verification => VERIFICATION,
        Class::NotEnoughShares => NOT_ENOUGH_SHARES,
        Class::Refused => REFUSED,
        Class::Decryption => DECRYPTION,
        Class::Io => IO,
        Class::MacMismatch => MAC_MISMATCH,
        Class::ValueDecryption => VALUE_DECRYPTION,
        Class::Stopped => STOPPED,
        Class::Internal => INTERNAL,
        _ => INTERNAL,
    }
}
