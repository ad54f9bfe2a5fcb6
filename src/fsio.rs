//! The only module that writes files, and the one way inputs are read.
//!
//! Every input is read through [`read_input`]: it must be a regular file (a
//! FIFO would block forever, `/dev/zero` would never end) no larger than a
//! cap chosen for what it is ([`Cap`]), checked before anything is read.
//!
//! Every file the tool makes is written the same way: into a temporary file in
//! the target's own directory (rename only works within one file system),
//! with its final mode from creation, flushed with `fsync`, then moved into
//! place, and the directory itself flushed so the rename survives a power
//! cut. A crash leaves either the old state or the new one, never half a file.
//! Existing files are never replaced unless the caller says so.
//!
//! Output directories (a share set, a root) are staged whole in a hidden
//! temporary directory beside the target and renamed into place at the end, so
//! a failure half-way leaves no partial set of shares behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::class::Class;

/// Mode of files holding secrets, even encrypted ones: owner read/write only.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of public manifests.
pub const PUBLIC_MODE: u32 = 0o644;

/// A write that could not be completed; nothing was left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// The target exists and the caller asked not to replace it.
    #[error(
        "{path}: already exists; choose another path or move the existing one away (nothing was written)"
    )]
    Exists {
        /// The target.
        path: PathBuf,
    },
    /// The output directory exists and is not empty.
    #[error(
        "{path}: directory exists and is not empty; choose a new directory (nothing was written)"
    )]
    DirectoryNotEmpty {
        /// The target.
        path: PathBuf,
    },
    /// The parent directory does not exist.
    #[error("{path}: its parent directory does not exist; create it first")]
    MissingParent {
        /// The target.
        path: PathBuf,
    },
    /// The input is not a regular file (a FIFO, a device, a directory…).
    #[error("{path}: is a {kind}, not a regular file; name the file itself")]
    NotRegular {
        /// The input.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The input is larger than its cap.
    #[error("{path}: larger than {limit} bytes, the most accepted for {what}")]
    TooLarge {
        /// The input.
        path: PathBuf,
        /// The cap.
        limit: u64,
        /// What the input was read as.
        what: &'static str,
    },
    /// The file changed (or was replaced) between reading it and writing
    /// its replacement: someone else is editing it.
    #[error("{path}: changed while it was being rewritten; the file was left as it is now")]
    ChangedSinceRead {
        /// The file.
        path: PathBuf,
    },
    /// An operating-system error.
    #[error("{path}: {action} failed")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl FsError {
    /// The class of this error.
    pub fn class(&self) -> Class {
        match self {
            FsError::Exists { .. }
            | FsError::DirectoryNotEmpty { .. }
            | FsError::ChangedSinceRead { .. } => Class::Refused,
            FsError::MissingParent { .. }
            | FsError::NotRegular { .. }
            | FsError::TooLarge { .. } => Class::Input,
            FsError::Io { .. } => Class::Io,
        }
    }

    /// What to do next, where there is one thing to do.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            FsError::ChangedSinceRead { .. } => {
                Some("run the command again once nobody else is writing the file")
            }
            FsError::TooLarge { .. } => Some("check that this is the right file"),
            _ => None,
        }
    }

    /// The operating-system error behind this one, if any.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            FsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The most bytes read from one input, by what the input is. A file over
/// its cap is refused before it is read (`docs/threat-model.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// A manifest or SOPS file: 64 MiB. Kubernetes stores at most 1.5 MiB
    /// per object, but sealing multiplies a file's size by up to seven, and
    /// a multi-document file holds many objects.
    Manifest,
    /// A small structured file: share, bundle, shareset.json, root.json,
    /// custodians, identity, challenge, receipt, TRUSTFILE, signature,
    /// `.sops.yaml`, init JSON: 1 MiB.
    Document,
    /// A ceremony transcript: 64 MiB.
    Transcript,
    /// A raw secret to split: 64 KiB.
    Secret,
}

impl Cap {
    /// The cap in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            Cap::Manifest => 64 << 20,
            Cap::Document => 1 << 20,
            Cap::Transcript => 64 << 20,
            Cap::Secret => 64 << 10,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Cap::Manifest => "a manifest",
            Cap::Document => "this kind of file",
            Cap::Transcript => "a transcript",
            Cap::Secret => "a secret",
        }
    }
}

/// What a file looked like when it was read: enough to tell, before it is
/// replaced, whether someone wrote to it (or replaced it) in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    mode: u32,
    links: u64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            mode: meta.mode(),
            links: meta.nlink(),
        }
    }

    /// The file's permission bits when it was read.
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }

    /// How many names the file had: more than one means another name keeps
    /// the old content when this one is replaced.
    pub fn hard_links(&self) -> u64 {
        self.links
    }
}

fn kind_of(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// Reads an input whole, refusing anything but a regular file and anything
/// over `cap`. Symbolic links are followed; what they point to must pass
/// the same checks. The buffer is sized from the file, so a caller that
/// wraps it in a wiping type leaves no reallocated copy behind.
pub fn read_input(path: &Path, cap: Cap) -> Result<Vec<u8>, FsError> {
    read_stamped(path, cap).map(|(bytes, _)| bytes)
}

/// [`read_input`], also returning the file's [`Stamp`] (taken from the open
/// file before reading) for a later [`replace_if_unchanged`].
pub fn read_stamped(path: &Path, cap: Cap) -> Result<(Vec<u8>, Stamp), FsError> {
    use std::io::Read;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer forever. Regular files ignore the flag.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io(path, "reading"))?;
    let meta = file.metadata().map_err(io(path, "reading"))?;
    if !meta.file_type().is_file() {
        return Err(FsError::NotRegular {
            path: path.to_owned(),
            kind: kind_of(&meta.file_type()),
        });
    }
    let limit = cap.bytes();
    if meta.len() > limit {
        return Err(FsError::TooLarge {
            path: path.to_owned(),
            limit,
            what: cap.what(),
        });
    }
    let stamp = Stamp::of(&meta);
    let capacity = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
    let mut bytes = Vec::with_capacity(capacity);
    // A file that grows while it is read is still cut off at the cap.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path, "reading"))?;
    if bytes.len() as u64 > limit {
        bytes.fill(0);
        return Err(FsError::TooLarge {
            path: path.to_owned(),
            limit,
            what: cap.what(),
        });
    }
    Ok((bytes, stamp))
}

fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> FsError + 'a {
    move |source| FsError::Io {
        path: path.to_owned(),
        action,
        source,
    }
}

fn parent_of(path: &Path) -> Result<PathBuf, FsError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(FsError::MissingParent {
            path: path.to_owned(),
        });
    }
    Ok(parent)
}

/// Reads a small structured file ([`Cap::Document`]).
pub fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    read_input(path, Cap::Document)
}

/// Writes `bytes` to a new file at `path` atomically with `mode`. Fails if
/// `path` exists (checked again by the kernel at rename time, not just before).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    write_atomic(path, bytes, mode, false)
}

/// Writes `bytes` to `path` atomically with `mode`, replacing an existing file
/// (used by in-place sealing, where the caller asked for it).
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    write_atomic(path, bytes, mode, true)
}

/// Replaces `path` with `bytes`, keeping its permission bits, unless the
/// file no longer matches `read`: a concurrent edit is never silently
/// overwritten. The new content is written and flushed first, and the
/// check is made right before the rename, so the window left (no rename
/// compares) is the rename itself.
pub fn replace_if_unchanged(path: &Path, bytes: &[u8], read: Stamp) -> Result<(), FsError> {
    let unchanged = || match fs::symlink_metadata(path) {
        Ok(meta) if Stamp::of(&meta) == read => Ok(()),
        Ok(_) => Err(FsError::ChangedSinceRead {
            path: path.to_owned(),
        }),
        Err(source) => Err(FsError::Io {
            path: path.to_owned(),
            action: "reading",
            source,
        }),
    };
    unchanged()?;
    write_with_check(path, bytes, read.permissions(), true, &unchanged)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<(), FsError> {
    write_with_check(path, bytes, mode, overwrite, &|| Ok(()))
}

fn write_with_check(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: bool,
    before_rename: &dyn Fn() -> Result<(), FsError>,
) -> Result<(), FsError> {
    let parent = parent_of(path)?;
    if !overwrite && path.symlink_metadata().is_ok() {
        return Err(FsError::Exists {
            path: path.to_owned(),
        });
    }
    let mut temp = tempfile::Builder::new()
        .prefix(".ceremony-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(&parent)
        .map_err(io(path, "creating a temporary file"))?;
    // tempfile applies the mode at creation but the umask may have masked
    // bits; set it explicitly so the final file has exactly `mode`.
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io(path, "setting permissions"))?;
    temp.write_all(bytes).map_err(io(path, "writing"))?;
    temp.as_file().sync_all().map_err(io(path, "flushing"))?;
    before_rename()?;
    if overwrite {
        temp.persist(path).map_err(|e| FsError::Io {
            path: path.to_owned(),
            action: "renaming into place",
            source: e.error,
        })?;
    } else {
        temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                FsError::Exists {
                    path: path.to_owned(),
                }
            } else {
                FsError::Io {
                    path: path.to_owned(),
                    action: "renaming into place",
                    source: e.error,
                }
            }
        })?;
    }
    sync_dir(&parent)
}

fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "flushing the directory"))
}

/// A directory being assembled beside its final place. Dropping it without
/// [`StagedDir::commit`] removes everything written so far.
pub struct StagedDir {
    target: PathBuf,
    staging: Option<tempfile::TempDir>,
}

impl StagedDir {
    /// Starts staging `target`, which must not exist or be an empty directory.
    pub fn new(target: &Path) -> Result<Self, FsError> {
        check_target_dir(target)?;
        let parent = parent_of(target)?;
        let staging = tempfile::Builder::new()
            .prefix(".ceremony-staging-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(&parent)
            .map_err(io(target, "creating a staging directory"))?;
        Ok(Self {
            target: target.to_owned(),
            staging: Some(staging),
        })
    }

    /// Starts staging a directory that will take the place of `target` once
    /// the caller has moved `target` itself away (replacing a root): the
    /// target is not required to be empty now, but it is checked again at
    /// [`StagedDir::commit`].
    pub fn beside(target: &Path) -> Result<Self, FsError> {
        let parent = parent_of(target)?;
        let staging = tempfile::Builder::new()
            .prefix(".ceremony-staging-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(&parent)
            .map_err(io(target, "creating a staging directory"))?;
        Ok(Self {
            target: target.to_owned(),
            staging: Some(staging),
        })
    }

    fn dir(&self) -> Result<&Path, FsError> {
        self.staging
            .as_ref()
            .map(|d| d.path())
            .ok_or_else(|| FsError::Io {
                path: self.target.clone(),
                action: "staging",
                source: std::io::Error::other("staging directory already committed"),
            })
    }

    /// Adds a file (a relative path, parents created) with `mode`.
    pub fn add(&self, relative: &str, bytes: &[u8], mode: u32) -> Result<(), FsError> {
        let path = self.dir()?.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io(&path, "creating a directory"))?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(io(&path, "creating"))?;
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io(&path, "setting permissions"))?;
        file.write_all(bytes).map_err(io(&path, "writing"))?;
        file.sync_all().map_err(io(&path, "flushing"))?;
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    /// Moves the finished directory into place. The target is checked again:
    /// if something appeared there meanwhile, the rename fails instead of
    /// mixing two sets of files.
    pub fn commit(mut self) -> Result<PathBuf, FsError> {
        check_target_dir(&self.target)?;
        let staging = self.staging.take().ok_or_else(|| FsError::Io {
            path: self.target.clone(),
            action: "staging",
            source: std::io::Error::other("staging directory already committed"),
        })?;
        // Until `keep`, dropping `staging` on an error removes everything in it.
        sync_dir(staging.path())?;
        fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o700))
            .map_err(io(staging.path(), "setting permissions"))?;
        let staged = staging.keep();
        // rename(2) replaces an empty directory and fails on a non-empty one.
        if let Err(source) = fs::rename(&staged, &self.target) {
            let _ = fs::remove_dir_all(&staged);
            return Err(if self.target.is_dir() {
                FsError::DirectoryNotEmpty {
                    path: self.target.clone(),
                }
            } else {
                FsError::Io {
                    path: self.target.clone(),
                    action: "moving the staged directory into place",
                    source,
                }
            });
        }
        // The directory is in place; a failed flush of its parent is
        // reported, but nothing is left to clean up.
        sync_dir(&parent_of(&self.target)?)?;
        Ok(self.target.clone())
    }
}

/// An append-only file held under an exclusive lock: its current contents
/// are read under the lock, so what is appended is decided from exactly what
/// is there (no two writers can append after the same last line).
pub struct LockedAppend {
    path: PathBuf,
    file: File,
    contents: String,
}

impl LockedAppend {
    /// Opens (creating with `mode` if absent) without following a symlink,
    /// takes an exclusive lock and reads the contents as UTF-8.
    pub fn open(path: &Path, mode: u32) -> Result<Self, FsError> {
        use std::io::Read;
        let created = path.symlink_metadata().is_err();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io(path, "opening"))?;
        if created {
            sync_dir(&parent_of(path)?)?;
        }
        lock_exclusive(&file).map_err(io(path, "locking"))?;
        let mut contents = String::new();
        file.read_to_string(&mut contents)
            .map_err(io(path, "reading"))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            contents,
        })
    }

    /// What the file held when it was locked.
    pub fn contents(&self) -> &str {
        &self.contents
    }

    /// Appends `line` (which must end in a newline) with one write, then
    /// flushes it to disk. The lock is released when `self` is dropped.
    pub fn append(mut self, line: &str) -> Result<(), FsError> {
        self.file
            .write_all(line.as_bytes())
            .map_err(io(&self.path, "appending"))?;
        self.file.sync_all().map_err(io(&self.path, "flushing"))
    }
}

/// Takes an exclusive advisory lock (flock), released when the file is closed.
#[allow(unsafe_code)]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock takes a file descriptor we own for the call's duration
    // and an integer operation; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Renames `from` to `to` (same file system), refusing to replace anything at
/// `to`, and flushes the parent directory so the move survives a crash.
pub fn move_aside(from: &Path, to: &Path) -> Result<(), FsError> {
    if to.symlink_metadata().is_ok() {
        return Err(FsError::Exists {
            path: to.to_owned(),
        });
    }
    fs::rename(from, to).map_err(io(from, "moving aside"))?;
    sync_dir(&parent_of(to)?)
}

fn check_target_dir(target: &Path) -> Result<(), FsError> {
    match fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(FsError::DirectoryNotEmpty {
                    path: target.to_owned(),
                })
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if target.symlink_metadata().is_ok() {
                // A dangling symlink: refuse rather than follow it.
                Err(FsError::Exists {
                    path: target.to_owned(),
                })
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(FsError::Exists {
            path: target.to_owned(),
        }),
        Err(e) => Err(FsError::Io {
            path: target.to_owned(),
            action: "reading the output directory",
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn write_new_is_0600_and_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.age");
        write_new(&path, b"one", SECRET_MODE).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        let err = write_new(&path, b"two", SECRET_MODE).unwrap_err();
        assert!(matches!(err, FsError::Exists { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"one");
        // No temporary file left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn staged_dir_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let staged = StagedDir::new(&target).unwrap();
        staged.add("x.share.age", b"x", SECRET_MODE).unwrap();
        staged.add("shareset.json", b"{}", PUBLIC_MODE).unwrap();
        assert!(!target.exists(), "nothing visible before commit");
        staged.commit().unwrap();
        assert_eq!(mode_of(&target.join("x.share.age")), 0o600);
        assert_eq!(mode_of(&target.join("shareset.json")), 0o644);

        // Abandoned staging leaves nothing.
        let other = dir.path().join("other");
        {
            let staged = StagedDir::new(&other).unwrap();
            staged.add("y", b"y", SECRET_MODE).unwrap();
        }
        assert!(!other.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        // A non-empty target is refused up front.
        assert!(matches!(
            StagedDir::new(&target),
            Err(FsError::DirectoryNotEmpty { .. })
        ));
    }

    #[test]
    fn empty_existing_directory_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("empty");
        fs::create_dir(&target).unwrap();
        let staged = StagedDir::new(&target).unwrap();
        staged.add("f", b"f", SECRET_MODE).unwrap();
        staged.commit().unwrap();
        assert_eq!(fs::read(target.join("f")).unwrap(), b"f");
    }
}
