//! The sealed bootstrap directory as a handover reads it.
//!
//! `handover challenge` lists what the directory holds and `handover verify`
//! compares the directory with the challenge. Both read it the same way:
//! every `*.yaml` / `*.yml` below it, by `/`-separated relative path; hidden
//! entries (`.sops.yaml`, `.git`) skipped and reported; symbolic links
//! refused, so nothing outside the directory is read by accident.
//!
//! Before a file is listed in a challenge it must pass the same policy as
//! `bootstrap verify` ([`crate::bootstrap::policy`]): a handover never
//! vouches for a file that `bootstrap verify` would reject.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Error;
use super::challenge::{Challenge, is_clean_relative_path};
use super::report::Digests;
use super::statement::Sha256Digest;
use crate::bootstrap::{Configs, RootPolicy, policy};
use crate::fsio::{self, Cap};
use crate::report::Report;
use crate::root::RootDir;
use crate::walk::{self, FileLinks, Skipped};

/// How a handover walks the bootstrap directory.
pub const WALK: walk::Policy = walk::Policy {
    suffixes: walk::YAML_SUFFIXES,
    file_links: FileLinks::Refuse,
    hidden_files: false,
    skip_kustomization: false,
};

/// The sealed files of a bootstrap directory.
#[derive(Debug, Default)]
pub struct SealedDir {
    /// `(relative path, bytes)`, sorted by path.
    pub files: Vec<(String, Vec<u8>)>,
    /// What the walk passed over.
    pub skipped: Vec<Skipped>,
}

/// `DIR/<relative path>`, for a path checked to be clean.
pub fn under(dir: &Path, relative: &str) -> PathBuf {
    relative.split('/').fold(dir.to_owned(), |p, c| p.join(c))
}

/// Reads every sealed manifest under `dir`.
pub fn read_dir(dir: &Path) -> Result<SealedDir, Error> {
    let found = walk::collect(&[dir.to_owned()], WALK)?;
    let mut files = Vec::with_capacity(found.targets.len());
    for target in &found.targets {
        let relative = target
            .relative_slash()
            .filter(|p| is_clean_relative_path(p))
            .ok_or_else(|| Error::FileName {
                path: target.path.clone(),
            })?;
        let bytes = fsio::read_input(&target.path, Cap::Manifest)?;
        files.push((relative, bytes));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(SealedDir {
        files,
        skipped: found.skipped,
    })
}

/// Decrypted manifests read into wiping buffers: `(relative path, bytes)`.
pub type ValueFiles = Vec<(String, crate::secret::SecretBytes)>;

/// Reads every decrypted manifest under `dir` (the runtime side's values,
/// for a receipt), straight into wiping buffers; also what the walk passed
/// over, for the caller to name.
pub fn read_values(dir: &Path) -> Result<(ValueFiles, Vec<Skipped>), Error> {
    let found = walk::collect(&[dir.to_owned()], WALK)?;
    let mut files = Vec::with_capacity(found.targets.len());
    for target in &found.targets {
        let relative = target.relative_slash().ok_or_else(|| Error::FileName {
            path: target.path.clone(),
        })?;
        let bytes = crate::secret::SecretBytes::new(fsio::read_input(&target.path, Cap::Manifest)?);
        files.push((relative, bytes));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((files, found.skipped))
}

/// Checks every file against the `bootstrap verify` policy for `root`, with
/// the `.sops.yaml` rules that govern it; refuses with the failures listed.
pub fn check_policy(dir: &Path, sealed: &SealedDir, root: &RootDir) -> Result<(), Error> {
    let policy = RootPolicy::of(&root.manifest().body).map_err(|_| Error::RootRecipient)?;
    let mut configs = Configs::new(None)?;
    let mut report = Report::new();
    for (relative, bytes) in &sealed.files {
        let path = under(dir, relative);
        let rule = configs.rule_for(&path)?.rule().cloned();
        let format = crate::sops::Format::from_path(&path);
        report.extend(policy::check_bytes(
            relative,
            bytes,
            format,
            &policy,
            rule.as_ref(),
        ));
    }
    if report.passed() {
        Ok(())
    } else {
        Err(Error::Policy {
            failures: report
                .failures()
                .map(|c| format!("{}: {}", c.subject, c.detail))
                .collect(),
        })
    }
}

/// The challenge's files as they are in `dir` now: their bytes (for
/// `--deep`) and each one's SHA-256, or why it could not be read.
pub fn files_for(dir: &Path, challenge: &Challenge) -> (Vec<(String, Vec<u8>)>, Digests) {
    let mut files = Vec::new();
    let mut digests = BTreeMap::new();
    for file in &challenge.files {
        let digest = match fsio::read_input(&under(dir, &file.path), Cap::Manifest) {
            Ok(bytes) => {
                let digest = Sha256Digest(Sha256::digest(&bytes).into());
                files.push((file.path.clone(), bytes));
                Ok(digest)
            }
            Err(e) => Err(e.to_string()),
        };
        digests.insert(file.path.clone(), digest);
    }
    (files, digests)
}

/// The SHA-256 of each sealed file, by path.
pub fn digests_of(files: &[(String, Vec<u8>)]) -> Digests {
    files
        .iter()
        .map(|(name, bytes)| (name.clone(), Ok(Sha256Digest(Sha256::digest(bytes).into()))))
        .collect()
}

/// Refuses a root directory that is not the root the challenge was made for.
pub fn check_root(root: &RootDir, challenge: &Challenge) -> Result<(), Error> {
    if root.root_id() == challenge.root_id {
        Ok(())
    } else {
        Err(Error::WrongRoot {
            dir: root.path().to_owned(),
            found: root.root_id().to_owned(),
            expected: challenge.root_id.clone(),
        })
    }
}
