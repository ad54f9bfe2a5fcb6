//! Finding the manifest files a command works on: the one directory walker.
//!
//! Commands take files and directories; a directory is walked recursively,
//! in sorted order (so reports are stable from run to run). Every entry a
//! walk does not take is returned with the reason, because a file passed
//! over silently could be a Secret in clear. What a walk takes depends on
//! the command ([`Policy`]):
//!
//! * **Suffixes**: the formats the command reads (`.yaml`, `.yml`, `.json`,
//!   `.env`, `.ini` for the bootstrap commands; YAML only for a handover).
//! * **Hidden entries**: hidden directories (`.git`) are never walked;
//!   hidden files are taken only where a hidden Secret must be found
//!   (`bootstrap verify`); `.sops.yaml` is configuration, never a manifest.
//! * **Symbolic links** (Git stores them as links, so a repository can hold
//!   one): links to directories are never followed (no loops, nothing
//!   outside the tree). Links to files are followed by commands that only
//!   read (verify, open: kustomize and Flux read through them too), skipped
//!   by commands that rewrite files (replacing a link would cut it), and
//!   refused by a handover (every file it names must be in the directory).
//! * **Kustomization files** are left alone by `seal`: kustomize must read
//!   them in clear.
//!
//! A walk only lists; reading goes through [`crate::fsio::read_input`],
//! which refuses FIFOs, devices and oversized files by name.

use std::path::{Path, PathBuf};

use crate::fsio::FsError;

/// The formats the bootstrap commands walk into (sops's stores, except
/// binary: a walk must not seal every file it meets).
pub const BOOTSTRAP_SUFFIXES: &[&str] = &[".yaml", ".yml", ".json", ".env", ".ini"];

/// The manifests a handover reads.
pub const YAML_SUFFIXES: &[&str] = &[".yaml", ".yml"];

/// The sops configuration file.
pub const SOPS_CONFIG_NAME: &str = ".sops.yaml";

/// What a walk does with a symbolic link to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileLinks {
    /// Read through it.
    Follow,
    /// List it as skipped.
    Skip,
    /// Fail the walk.
    Refuse,
}

/// How a walk treats what it meets.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// File name suffixes taken.
    pub suffixes: &'static [&'static str],
    /// Symbolic links to files.
    pub file_links: FileLinks,
    /// Take hidden files (`.x.yaml`) too.
    pub hidden_files: bool,
    /// Leave kustomization files alone.
    pub skip_kustomization: bool,
}

/// A file a command will work on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The path to open.
    pub path: PathBuf,
    /// Found by walking a directory (not named on the command line).
    /// Such a file is skipped, not failed, where a named one would fail
    /// (no `.sops.yaml` rule covers it, it is not sealed).
    pub walked: bool,
    /// Its path below the directory named on the command line (its file
    /// name for a file named itself).
    pub relative: PathBuf,
}

impl Target {
    /// The relative path with `/` separators, if it is UTF-8.
    pub fn relative_slash(&self) -> Option<String> {
        let parts: Option<Vec<&str>> = self
            .relative
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect();
        parts.map(|p| p.join("/"))
    }
}

/// An entry a walk did not take, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The entry.
    pub path: PathBuf,
    /// Why, in words.
    pub reason: String,
}

/// What a walk found.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// The files to work on, in order.
    pub targets: Vec<Target>,
    /// Everything passed over, with the reason.
    pub skipped: Vec<Skipped>,
}

/// A walk that could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalkError {
    /// A path or directory could not be read.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A symbolic link where the command refuses them.
    #[error("{path}: is a symbolic link; give the files themselves")]
    Link {
        /// The link.
        path: PathBuf,
    },
}

impl WalkError {
    /// Its class, for the exit code.
    pub fn class(&self) -> crate::class::Class {
        match self {
            WalkError::Fs(e) => e.class(),
            WalkError::Link { .. } => crate::class::Class::Input,
        }
    }
}

fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> FsError + 'a {
    move |source| FsError::Io {
        path: path.to_owned(),
        action,
        source,
    }
}

fn has_suffix(path: &Path, suffixes: &[&str]) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    suffixes.iter().any(|s| name.ends_with(s))
}

fn is_kustomization(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    )
}

/// Expands the paths named on the command line. A path that does not exist
/// stops the walk before anything is done.
pub fn collect(paths: &[PathBuf], policy: Policy) -> Result<Found, WalkError> {
    let mut found = Found::default();
    for path in paths {
        let meta = std::fs::symlink_metadata(path).map_err(io(path, "reading"))?;
        if meta.is_dir() {
            walk_dir(path, path, policy, &mut found)?;
        } else if meta.file_type().is_symlink() && path.is_dir() {
            found.skipped.push(Skipped {
                path: path.clone(),
                reason: "symbolic link to a directory: name the directory itself".into(),
            });
        } else if meta.file_type().is_symlink() && policy.file_links != FileLinks::Follow {
            if policy.file_links == FileLinks::Refuse {
                return Err(WalkError::Link { path: path.clone() });
            }
            found.skipped.push(Skipped {
                path: path.clone(),
                reason: "symbolic link: name its target instead".into(),
            });
        } else {
            let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
            found.targets.push(Target {
                path: path.clone(),
                walked: false,
                relative,
            });
        }
    }
    Ok(found)
}

fn walk_dir(top: &Path, dir: &Path, policy: Policy, found: &mut Found) -> Result<(), WalkError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir, "listing"))?
        .collect::<Result<_, _>>()
        .map_err(io(dir, "listing"))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().map_err(io(&path, "reading"))?;
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        let mut skip = |reason: String| {
            found.skipped.push(Skipped {
                path: path.clone(),
                reason,
            })
        };
        if file_type.is_dir() {
            if hidden {
                skip("hidden directory (.git, …): not walked".into());
            } else {
                walk_dir(top, &path, policy, found)?;
            }
            continue;
        }
        if name == SOPS_CONFIG_NAME {
            skip("sops configuration, not a manifest".into());
            continue;
        }
        if hidden && !policy.hidden_files {
            skip("hidden file: name it to include it".into());
            continue;
        }
        if !has_suffix(&path, policy.suffixes) {
            let names: Vec<&str> = policy.suffixes.iter().map(|s| &s[1..]).collect();
            skip(format!("not a {} file", names.join("/")));
            continue;
        }
        if file_type.is_symlink() {
            if path.is_dir() {
                skip("symbolic link to a directory: not walked".into());
                continue;
            }
            match policy.file_links {
                FileLinks::Follow => {}
                FileLinks::Skip => {
                    skip("symbolic link: name its target instead".into());
                    continue;
                }
                FileLinks::Refuse => return Err(WalkError::Link { path }),
            }
        }
        if policy.skip_kustomization && is_kustomization(&path) {
            skip("kustomization file: kustomize and Flux must read it in clear".into());
            continue;
        }
        let relative = path.strip_prefix(top).unwrap_or(&path).to_owned();
        found.targets.push(Target {
            path,
            walked: true,
            relative,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Policy = Policy {
        suffixes: BOOTSTRAP_SUFFIXES,
        file_links: FileLinks::Follow,
        hidden_files: true,
        skip_kustomization: false,
    };

    #[test]
    fn every_entry_not_taken_is_listed_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("apps/.git")).unwrap();
        std::fs::write(d.join("apps/db.yaml"), "a: 1\n").unwrap();
        std::fs::write(d.join("apps/.hidden.yaml"), "a: 1\n").unwrap();
        std::fs::write(d.join("apps/notes.txt"), "x").unwrap();
        std::fs::write(d.join(".sops.yaml"), "creation_rules: []\n").unwrap();
        std::os::unix::fs::symlink(d.join("apps/db.yaml"), d.join("link.yaml")).unwrap();

        let found = collect(&[d.to_owned()], READ).unwrap();
        let taken: Vec<String> = found
            .targets
            .iter()
            .map(|t| t.relative_slash().unwrap())
            .collect();
        assert_eq!(taken, ["apps/.hidden.yaml", "apps/db.yaml", "link.yaml"]);
        assert_eq!(found.skipped.len(), 3, "{:?}", found.skipped);

        let rewrite = Policy {
            file_links: FileLinks::Skip,
            hidden_files: false,
            ..READ
        };
        let found = collect(&[d.to_owned()], rewrite).unwrap();
        assert_eq!(found.targets.len(), 1);
        assert!(
            found
                .skipped
                .iter()
                .any(|s| s.reason.starts_with("symbolic link"))
        );

        let handover = Policy {
            suffixes: YAML_SUFFIXES,
            file_links: FileLinks::Refuse,
            hidden_files: false,
            skip_kustomization: false,
        };
        assert!(matches!(
            collect(&[d.to_owned()], handover),
            Err(WalkError::Link { .. })
        ));
    }
}
