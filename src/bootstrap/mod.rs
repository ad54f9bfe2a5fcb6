//! Phase 1: the bootstrap manifests that go to Git, sealed with SOPS to the
//! root's bootstrap recipient so that `sops` and Flux open them.
//!
//! * [`plan`]: for each file, who it is sealed to and with which rule —
//!   recipients named on the command line win, otherwise the governing
//!   `.sops.yaml` creation rule's; the rule's crypt options apply either way,
//!   as in sops.
//! * [`seal`]: the work on one file — seal, open, update its keys, rotate
//!   its data key — including "is it sealed already" and "does it need
//!   rewriting". A Secret manifest gets the Secret rule
//!   ([`crate::kube::SECRET_ENCRYPTED_REGEX`]) unless a rule says otherwise.
//! * [`policy`]: `bootstrap verify`, the promise that nothing secret
//!   reaches Git in clear, checked without any key. The handover challenge
//!   applies the same policy before it lists a file.
//! * [`batch`]: running one of those over a tree, a thread per core, each
//!   file all-or-nothing.
//! * [`set`]: a new value for one item of a sealed Secret (a leaked
//!   credential replaced), under a new data key.
//!
//! Files are found with the one walker ([`crate::walk`]), read through
//! [`crate::fsio::read_input`] and rewritten with
//! [`crate::fsio::replace_if_unchanged`] (`set`, one file) or its batch
//! form [`crate::fsio::Batch::replace_if_unchanged`] (`seal --in-place`,
//! `updatekeys`, `rotate`: one batch per command), so a file that fails, or
//! that someone edits meanwhile, is left exactly as it was. Where ceremony
//! differs from `sops`: `docs/bootstrap.md`.

pub mod batch;
pub mod config;
pub mod plan;
pub mod policy;
pub mod seal;
pub mod set;

use std::path::PathBuf;

use crate::class::Class;
use crate::fsio::FsError;
use crate::identity::IdentityError;
use crate::walk::WalkError;

pub use batch::{Outcome, Summary};
pub use config::Configs;
pub use plan::{PerTarget, Plan, Planned, Plans};
pub use policy::RootPolicy;
pub use seal::Done;

/// How the commands that rewrite files walk a tree: symbolic links are
/// skipped (replacing one would cut it), hidden files are tool
/// configuration.
pub const REWRITE_WALK: crate::walk::Policy = crate::walk::Policy {
    suffixes: crate::walk::BOOTSTRAP_SUFFIXES,
    file_links: crate::walk::FileLinks::Skip,
    hidden_files: false,
    skip_kustomization: false,
};

/// Why a bootstrap operation on a file (or a whole command) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SOPS engine refused the file.
    #[error("{file}")]
    Sops {
        /// The file.
        file: PathBuf,
        /// The engine's error (never a value).
        #[source]
        source: crate::sops::Error,
    },
    /// A `.sops.yaml` could not be used.
    #[error(transparent)]
    Config(crate::sops::Error),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Finding the files failed.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// No identity to open files with.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Nobody to seal a file to.
    #[error("{file}: no recipients")]
    NoRecipients {
        /// The file.
        file: PathBuf,
    },
    /// A file named on the command line that no `.sops.yaml` rule covers.
    #[error("{file}: {reason}")]
    NotCovered {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
    /// A cleartext file to seal in place has other names (hard links):
    /// sealing would replace this name only, and the others would keep
    /// the cleartext.
    #[error(
        "{file}: has {others} other name(s) (hard links): sealing in place would replace this name only, and the others would keep the cleartext; the file was left as it was (list them: `find / -xdev -samefile {file}`)",
        others = links.saturating_sub(1)
    )]
    HardLinked {
        /// The file.
        file: PathBuf,
        /// How many names it has, this one included.
        links: u64,
    },
    /// Some files of a tree command failed; each was left as it was.
    #[error("{failed} of {total} file(s) failed; the failed files were left as they were")]
    Batch {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
        /// The class of the first failure, which the command exits with.
        class: Class,
    },
}

impl Error {
    /// Its class, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::Sops { source, .. } | Error::Config(source) => source.class(),
            Error::Fs(e) => e.class(),
            Error::Walk(e) => e.class(),
            Error::Identity(e) => e.class(),
            Error::NoRecipients { .. } => Class::Usage,
            Error::NotCovered { .. } => Class::Input,
            Error::HardLinked { .. } => Class::Refused,
            Error::Batch { class, .. } => *class,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Sops { source, .. } | Error::Config(source) => source.hint(),
            Error::Fs(e) => e.hint(),
            Error::Identity(e) => e.hint(),
            Error::NoRecipients { .. } => Some(
                "pass --root ROOTDIR or --recipient AGE_RECIPIENT, or add a .sops.yaml creation rule with age recipients for this path",
            ),
            Error::NotCovered { .. } => Some(
                "add a .sops.yaml rule whose path_regex matches the file, or pass the recipients on the command line",
            ),
            Error::HardLinked { .. } => Some(
                "remove the file's other names (each would keep the cleartext), then seal again; they are on the file's own file system, so search from its mount point if that is not /",
            ),
            Error::Batch { .. } => Some("each failure is listed above with its reason"),
            _ => None,
        }
    }

    fn sops(file: &std::path::Path, source: crate::sops::Error) -> Self {
        Error::Sops {
            file: file.to_owned(),
            source,
        }
    }
}
