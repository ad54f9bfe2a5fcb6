//! A root directory on disk: `root.json` and `shares/<name>.age`.
//!
//! The one place that knows where a root's files are, that a root is
//! created once and never silently regenerated (design §7.2.1), and how an
//! explicit replacement moves the old root aside and puts it back if
//! anything fails.

use std::path::{Path, PathBuf};

use super::lineage::{HISTORY_DIR, Lineage, LineageError, history_file};
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
        // The real directory: through a symbolic link (a root on removable
        // media, linked from elsewhere) the swap must replace the directory,
        // not the link; and `.` names a directory that cannot be renamed.
        // The new version must be one this root accepts, before anything
        // is written: a version that would not load would leave no root.
        let new_bytes = next.manifest.to_json();
        let new_version = super::lineage::Version::parse(MANIFEST_FILE, &new_bytes)?;
        super::lineage::check_link(current, &new_version).map_err(|reason| LineageError::Link {
            file: MANIFEST_FILE.to_owned(),
            version: new_version.number(),
            reason,
        })?;
        let mut structure = crate::report::Report::new();
        super::check_structure(&new_version.manifest.body, &mut structure);
        if let Some(failure) = structure.failures().next() {
            return Err(LineageError::Structure {
                file: MANIFEST_FILE.to_owned(),
                problem: format!("{} {}: {}", failure.check, failure.subject, failure.detail),
            }
            .into());
        }
        let real = self.check_advanceable()?;
        let staged = StagedDir::beside(&real)?;
        let leftovers = staged.leftovers().clone();
        // The bytes verified at load, never a second read of the files.
        for version in self.lineage.history() {
            staged.add(&version.file, &version.bytes, fsio::PUBLIC_MODE)?;
        }
        staged.add(
            &history_file(current.number()),
            &current.bytes,
            fsio::PUBLIC_MODE,
        )?;
        for (file, bytes) in &next.bundles {
            staged.add(file, bytes, fsio::SECRET_MODE)?;
        }
        staged.add(MANIFEST_FILE, &new_bytes, fsio::PUBLIC_MODE)?;
        // Right before the swap, under the lock that keeps another rotation
        // of this root out: every version on disk is still the one
        // verified, and nothing else appeared in the directory.
        let unchanged = || -> Result<(), fsio::FsError> {
            for version in self.lineage.versions() {
                let path = real.join(&version.file);
                if fsio::read_input(&path, fsio::Cap::Document)? != version.bytes {
                    return Err(fsio::FsError::ChangedSinceRead { path });
                }
            }
            self.check_only_root_files(&real).map_err(|e| match e {
                Error::Fs(e) => e,
                _ => fsio::FsError::ChangedSinceRead { path: real.clone() },
            })
        };
        let superseded = staged.swap_into_place(&unchanged)?;
        let lineage = Lineage::read(&real)?;
        Ok(Advanced {
            root: RootDir {
                path: self.path.clone(),
                lineage,
            },
            leftovers,
            superseded,
        })
    }

    /// Checks, before anyone is asked for anything, that a new version can
    /// replace this directory: returns its real path (through symbolic
    /// links). The swap replaces the directory whole, so anything in it
    /// that is not part of the root (a transcript, notes) would be deleted
    /// with the old version: refused.
    pub fn check_advanceable(&self) -> Result<PathBuf, Error> {
        let real = std::fs::canonicalize(&self.path).map_err(|source| fsio::FsError::Io {
            path: self.path.clone(),
            action: "resolving",
            source,
        })?;
        self.check_only_root_files(&real)?;
        Ok(real)
    }

    /// Refuses a root directory that holds anything but `root.json`, the
    /// history of this lineage and the current version's bundles.
    fn check_only_root_files(&self, real: &Path) -> Result<(), Error> {
        let body = &self.manifest().body;
        let known_history: Vec<String> = self
            .lineage
            .history()
            .iter()
            .map(|v| v.file.clone())
            .collect();
        let known_shares: Vec<&str> = body
            .custodian_files
            .iter()
            .map(|c| c.file.as_str())
            .collect();
        let mut foreign = Vec::new();
        let list = |dir: &Path| -> Result<Vec<(String, std::fs::FileType)>, Error> {
            let entries = std::fs::read_dir(dir).map_err(|source| fsio::FsError::Io {
                path: dir.to_owned(),
                action: "listing",
                source,
            })?;
            let mut out = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| fsio::FsError::Io {
                    path: dir.to_owned(),
                    action: "listing",
                    source,
                })?;
                let kind = entry.file_type().map_err(|source| fsio::FsError::Io {
                    path: entry.path(),
                    action: "reading",
                    source,
                })?;
                out.push((entry.file_name().to_string_lossy().into_owned(), kind));
            }
            Ok(out)
        };
        for (name, kind) in list(real)? {
            let ok = match name.as_str() {
                MANIFEST_FILE => kind.is_file(),
                HISTORY_DIR | "shares" if kind.is_dir() => {
                    let known: &dyn Fn(&str) -> bool = if name == HISTORY_DIR {
                        &|f| known_history.iter().any(|k| k == f)
                    } else {
                        &|f| known_shares.contains(&f)
                    };
                    for (inner, inner_kind) in list(&real.join(&name))? {
                        let relative = format!("{name}/{inner}");
                        if !inner_kind.is_file() || !known(&relative) {
                            foreign.push(relative);
                        }
                    }
                    true
                }
                _ => false,
            };
            if !ok {
                foreign.push(name);
            }
        }
        if foreign.is_empty() {
            Ok(())
        } else {
            foreign.sort();
            Err(Error::ForeignFiles {
                path: self.path.clone(),
                files: foreign,
            })
        }
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
