//! A root directory on disk: `root.json` and `shares/<name>.age`.
//!
//! The one place that knows where a root's files are, that a root is
//! created once and never silently regenerated (design §7.2.1), and how an
//! explicit replacement moves the old root aside and puts it back if
//! anything fails.

use std::path::{Path, PathBuf};

use super::lineage::{Lineage, LineageError, history_file};
use super::{Error, InitOutput, MANIFEST_FILE, NextVersion, Replaced, RootManifest};
use crate::clock::Clock;
use crate::fsio::{self, StagedDir};

/// A root directory whose versions were read and verified: each one
/// canonical and signed, each following the one before.
#[derive(Clone, Debug)]
pub struct RootDir {
    path: PathBuf,
    lineage: Lineage,
}

impl RootDir {
    /// Reads and checks `DIR/root.json` and every earlier version in
    /// `DIR/history/`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let lineage = Lineage::read(path).map_err(|e| match e {
            // A root.json that is not a manifest keeps its own error, with
            // the path as given.
            LineageError::Manifest { file, source } if file == MANIFEST_FILE => Error::Manifest {
                file: path.join(MANIFEST_FILE).display().to_string(),
                source,
            },
            LineageError::Read { source } => Error::Fs(source),
            other => Error::Lineage(other),
        })?;
        Ok(Self {
            path: path.to_owned(),
            lineage,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current, verified manifest.
    pub fn manifest(&self) -> &RootManifest {
        &self.lineage.current().manifest
    }

    /// Every version.
    pub fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    /// The root's id.
    pub fn root_id(&self) -> &str {
        &self.manifest().body.root_id
    }

    /// Writes a new version in place of the current one: the current
    /// root.json joins the history, the new one and the new bundles take
    /// their places, and the old bundles go. The whole directory is staged
    /// beside and swapped in at once, after checking the current root.json
    /// is still the one the new version follows; on any failure the root
    /// stays as it was.
    pub fn advance(&self, next: &NextVersion) -> Result<Advanced, Error> {
        let current = self.lineage.current();
        if next.previous.sha256 != current.sha256 {
            return Err(Error::Fs(fsio::FsError::ChangedSinceRead {
                path: self.path.join(MANIFEST_FILE),
            }));
        }
        let staged = StagedDir::beside(&self.path)?;
        let leftovers = staged.leftovers().clone();
        for version in self.lineage.history() {
            let bytes = fsio::read_input(&self.path.join(&version.file), fsio::Cap::Manifest)?;
            staged.add(&version.file, &bytes, fsio::PUBLIC_MODE)?;
        }
        let current_bytes = fsio::read_input(&self.path.join(MANIFEST_FILE), fsio::Cap::Manifest)?;
        staged.add(
            &history_file(current.number()),
            &current_bytes,
            fsio::PUBLIC_MODE,
        )?;
        for (file, bytes) in &next.bundles {
            staged.add(file, bytes, fsio::SECRET_MODE)?;
        }
        staged.add(MANIFEST_FILE, &next.manifest.to_json(), fsio::PUBLIC_MODE)?;
        // What is staged must read back as the next version of this root.
        let manifest_path = self.path.join(MANIFEST_FILE);
        let expected = current.sha256.clone();
        let unchanged = || -> Result<(), fsio::FsError> {
            let bytes = fsio::read_input(&manifest_path, fsio::Cap::Manifest)?;
            if hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)) == expected {
                Ok(())
            } else {
                Err(fsio::FsError::ChangedSinceRead {
                    path: manifest_path.clone(),
                })
            }
        };
        let superseded = staged.swap_into_place(&unchanged)?;
        Ok(Advanced {
            root: RootDir::load(&self.path)?,
            leftovers,
            superseded,
        })
    }
}

/// A root moved to its next version.
#[derive(Debug)]
pub struct Advanced {
    /// The root at its new version.
    pub root: RootDir,
    /// Leftovers of killed earlier writes found beside it.
    pub leftovers: fsio::Leftovers,
    /// The superseded directory, if it could not be removed after the swap
    /// (its bundles no longer count).
    pub superseded: Option<PathBuf>,
}

/// Where `root init` will write, decided before any secret exists.
#[derive(Debug)]
pub enum Target {
    /// A directory that does not exist yet, or is empty.
    New {
        /// The directory.
        path: PathBuf,
    },
    /// An existing root the operator explicitly asked to replace.
    Replacing {
        /// The directory.
        path: PathBuf,
        /// What the new manifest records about the old root.
        replaced: Replaced,
    },
}

/// Whether an existing root may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Never (the normal case).
    Never,
    /// Yes: `--replace-existing-root-and-break-trust`.
    BreakingTrust,
}

impl Target {
    /// Checks where a new root goes. An existing root is refused unless
    /// `replace` says otherwise; a non-empty directory that holds no root
    /// is refused either way.
    /// Also returns the leftovers of killed earlier writes found (and
    /// removed or kept) beside it, for the caller to tell the operator.
    pub fn check(
        path: &Path,
        replace: Replace,
        clock: &dyn Clock,
    ) -> Result<(Self, fsio::Leftovers), Error> {
        let has_root = path.join(MANIFEST_FILE).symlink_metadata().is_ok();
        // A replacement killed between moving the old root aside and
        // moving the new one in leaves `ROOT.replaced-*` and no ROOT: a new
        // root made now would silently take the old one's place.
        if !has_root {
            if let Some(aside) = replaced_siblings(path).into_iter().next() {
                return Err(Error::InterruptedReplace {
                    path: path.to_owned(),
                    aside,
                });
            }
        }
        match (has_root, replace) {
            (false, _) => {
                // Refuses a non-empty directory and a missing parent now,
                // before anyone types a passphrase.
                let probe = StagedDir::new(path)?;
                Ok((
                    Target::New {
                        path: path.to_owned(),
                    },
                    probe.leftovers().clone(),
                ))
            }
            (true, Replace::Never) => Err(Error::RootExists {
                path: path.to_owned(),
            }),
            (true, Replace::BreakingTrust) => {
                let root_id = RootDir::load(path)
                    .map(|r| r.root_id().to_owned())
                    .unwrap_or_else(|_| "unknown".into());
                let moved_to = format!(
                    "{}.replaced-{}",
                    path.display(),
                    clock.now().unix_timestamp()
                );
                if Path::new(&moved_to).symlink_metadata().is_ok() {
                    return Err(Error::Fs(fsio::FsError::Exists {
                        path: PathBuf::from(moved_to),
                    }));
                }
                Ok((
                    Target::Replacing {
                        path: path.to_owned(),
                        replaced: Replaced { root_id, moved_to },
                    },
                    fsio::Leftovers::default(),
                ))
            }
        }
    }

    /// The root this one replaces, for the plan.
    pub fn replaces(&self) -> Option<&Replaced> {
        match self {
            Target::New { .. } => None,
            Target::Replacing { replaced, .. } => Some(replaced),
        }
    }

    /// Writes the new root whole: bundles 0600, root.json 0644, staged and
    /// renamed into place. When replacing, the old root is moved aside
    /// first and moved back if writing fails, so that at every moment the
    /// directory holds either the old root or the new one; the error says
    /// where the old root is.
    /// Returns the new root and the leftovers found beside it.
    pub fn write(self, output: &InitOutput) -> Result<(RootDir, fsio::Leftovers), Error> {
        let (path, replaced) = match self {
            Target::New { path } => {
                let staged = stage_root(&path, output, false)?;
                let found = staged.leftovers().clone();
                staged.commit()?;
                return Ok((RootDir::load(&path)?, found));
            }
            Target::Replacing { path, replaced } => (path, replaced),
        };
        let aside = PathBuf::from(&replaced.moved_to);
        // Staged first, beside the target: nothing is moved until the new
        // root is complete on disk.
        let staged = stage_root(&path, output, true)?;
        let found = staged.leftovers().clone();
        fsio::move_aside(&path, &aside)?;
        match staged.commit() {
            Ok(_) => Ok((RootDir::load(&path)?, found)),
            Err(source) => {
                let _ = std::fs::remove_dir(&path);
                let whereabouts = match fsio::move_aside(&aside, &path) {
                    Ok(()) => format!(
                        "the old root {} is back in {}",
                        replaced.root_id,
                        path.display()
                    ),
                    Err(r) => format!(
                        "the old root {} is still in {} ({r}); move it back by hand",
                        replaced.root_id, replaced.moved_to
                    ),
                };
                Err(Error::Replace {
                    whereabouts,
                    source,
                })
            }
        }
    }
}

/// `ROOT.replaced-*` entries beside `path` that hold a root.
fn replaced_siblings(path: &Path) -> Vec<PathBuf> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!("{}.replaced-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    found.sort();
    found
}

fn stage_root(path: &Path, output: &InitOutput, replacing: bool) -> Result<StagedDir, Error> {
    let staged = if replacing {
        StagedDir::beside(path)?
    } else {
        StagedDir::new(path)?
    };
    for (file, bytes) in &output.bundles {
        staged.add(file, bytes, fsio::SECRET_MODE)?;
    }
    staged.add(MANIFEST_FILE, &output.manifest.to_json(), fsio::PUBLIC_MODE)?;
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn an_interrupted_replacement_is_never_taken_for_an_empty_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        assert!(matches!(
            Target::check(&root, Replace::Never, &SystemClock),
            Ok((Target::New { .. }, _))
        ));
        let aside = dir.path().join("root.replaced-1700000000");
        std::fs::create_dir(&aside).unwrap();
        std::fs::write(aside.join(MANIFEST_FILE), "{}").unwrap();
        for replace in [Replace::Never, Replace::BreakingTrust] {
            let err = Target::check(&root, replace, &SystemClock).unwrap_err();
            assert!(matches!(err, Error::InterruptedReplace { .. }), "{err}");
        }
    }
}
