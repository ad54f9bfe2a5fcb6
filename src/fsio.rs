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
//! cut. A file replaced on a local file system is held open until then, so
//! that it is freed only once the rename is on the disk (without a journal,
//! freed blocks can be taken at once). A crash leaves either the old state
//! or the new one, never half a file.
//! Existing files are never replaced unless the caller says so.
//!
//! Output directories (a share set, a root) are staged whole in a hidden
//! temporary directory beside the target and renamed into place at the end, so
//! a failure half-way leaves no partial set of shares behind.
//!
//! # Many files at once
//!
//! A tree rewritten in place (`bootstrap seal --in-place`, `updatekeys`,
//! `rotate`) goes through a [`Batch`]. Each file is still written to a
//! temporary file beside it, made durable, checked against what was read
//! and renamed over its target, so a crash leaves it old or new, and no
//! file is renamed before its new content is on the disk. What changes is
//! how many waits for the disk there are:
//!
//! * The threads that seal only write the temporary files. Where the file
//!   system can be trusted to (ext4, xfs, btrfs, f2fs on Linux 5.8 or later,
//!   where `syncfs` waits for every write-back and reports a failed one:
//!   [`Flush::for_dir`]), they are made durable in rounds: once a round's
//!   worth of them is written on a file system (an eighth of a large
//!   batch, 32 to 64 files), one `syncfs(2)` makes them durable together,
//!   and they are renamed, by one of the batch's threads while the rest is
//!   sealed, one round after another; the last round at the end. A failed
//!   `syncfs` fails its round and every later file of the batch on that
//!   file system. Anywhere else (FUSE, NFS, overlay, an older kernel) the
//!   batch's own threads ([`FLUSHERS`]) `fsync` each file as soon as it is
//!   written and rename it, many at once, so the flushes overlap each other
//!   and the sealing.
//! * Replacing a file frees the old one, which on some file systems waits
//!   for the disk (for a discard, on ext4 without a journal mounted with
//!   `discard`) with the directory locked. Where files are flushed by
//!   `syncfs`, each rename therefore holds the old file open, and once the
//!   rename is durable (the next round's `syncfs`, or the final directory
//!   flush: so that no name can point to the old file after a power cut)
//!   the batch's reaper threads close them, outside any lock, while the
//!   sealing goes on ([`Reaper`]).
//! * Each directory is flushed once, after the last rename into it
//!   ([`Batch::run`]), instead of after each file, and only then is any
//!   file reported done.
//! * The leftovers of a directory are swept once per batch, before its
//!   first file is written.
//!
//! `syncfs` also writes back whatever else is dirty on the file system
//! (another program's files): that can cost time, never correctness. A
//! failed `syncfs` fails every file of the batch on that file system that
//! an earlier round has not renamed, each left as it was; those of earlier
//! rounds are in place, made durable before their rename. Every file is
//! old or new, never partial, and the command fails. `docs/performance.md`
//! has the measurements and what a crash at each step leaves.
//!
//! The transcript is the one file appended to ([`LockedAppend`]): under an
//! exclusive lock, read through its cap, and cut back to its previous length
//! if the append or its flush fails (a full disk), so a failed append never
//! leaves a torn last line that would stop every later append.
//!
//! # Leftovers of a killed write
//!
//! A write that fails cleans up after itself; a process that is killed
//! (`kill -9`, a power cut) cannot, and leaves its temporary file
//! (`.ceremony-….tmp`) or staging directory (`.ceremony-staging-…`) beside
//! the target. They hold what was being written: sealed files, encrypted
//! shares, public manifests, and for `bootstrap open --out-dir` decrypted
//! files (mode 0600, in a 0700 directory). None is ever read back or used:
//! the target only ever appears by rename. Still, a half-written sealed file
//! or a staged plaintext is not something to leave lying around, so:
//!
//! * Each leftover is named after its writer:
//!   `.ceremony-[staging-]PID-START-HOST-RANDOM[.tmp]`, where `START` is the
//!   process's start time (clock ticks since boot, `/proc/PID/stat`) and
//!   `HOST` eight hex digits of SHA-256 over the boot id and the pid
//!   namespace. A pid alone would not do: pids are reused.
//! * The next write into the same directory (every [`write_new`],
//!   [`replace`], [`replace_if_unchanged`] and [`StagedDir`]) removes a
//!   leftover only when it is provably ours and stale: its name parses, it
//!   was made on this boot in this pid namespace, it is owned by our
//!   effective user, it is of the kind its name says (a regular file or a
//!   directory, never a symbolic link), and its writer is gone (no process
//!   with that pid, one with another start time, or a zombie). A leftover
//!   of a writer that is still running, of another boot or machine (a
//!   shared directory), of another user, or with a name we did not make is
//!   left alone and listed as kept, with the reason ([`KeptBecause`]).
//! * Nothing is overwritten before it is unlinked: on journaling and
//!   copy-on-write file systems an overwrite does not reach the old blocks
//!   either (the threat model's "known residue").
//! * The library prints nothing: what was removed and what was kept is
//!   returned ([`Written::leftovers`], [`StagedDir::leftovers`]) for the
//!   command line to say on stderr.
//!
//! Where the process's start time cannot be read (no `/proc`), leftovers
//! are named without a writer and are never removed automatically; they are
//! still listed as kept.
//!
//! # Hard links
//!
//! Replacing a file replaces one name. If the file had other names (hard
//! links), they keep the old content: for an in-place seal, the cleartext.
//! [`replace_if_unchanged`] does not refuse, because this module cannot
//! know whether the old content matters (a receipt gaining a signature, a
//! sealed file moving to new recipients); it returns how many other names
//! keep it ([`Written::old_content_links`]), and the count is known from
//! the [`Stamp`] before any work is done ([`Stamp::hard_links`]), so a
//! caller that must not leave a copy behind refuses up front.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

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
    /// An append failed (a full disk); the file was cut back to exactly
    /// what it held before, so nothing of the failed append is left.
    #[error("{path}: appending failed; the file was left as it was")]
    AppendUndone {
        /// The file.
        path: PathBuf,
        /// Why the append failed.
        source: std::io::Error,
    },
    /// An append failed, and so did cutting the file back to its previous
    /// length: its last line may be incomplete.
    #[error(
        "{path}: appending failed ({failure}), and cutting the file back to its previous {len} bytes failed too: its last line may be incomplete; truncate it to {len} bytes by hand"
    )]
    AppendTorn {
        /// The file.
        path: PathBuf,
        /// Its length before the append.
        len: u64,
        /// Why the append failed.
        failure: std::io::Error,
        /// Why cutting it back failed.
        source: std::io::Error,
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
            FsError::Io { .. } | FsError::AppendUndone { .. } | FsError::AppendTorn { .. } => {
                Class::Io
            }
        }
    }

    /// What to do next, where there is one thing to do.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            FsError::ChangedSinceRead { .. } => {
                Some("run the command again once nobody else is writing the file")
            }
            FsError::TooLarge { .. } => Some("check that this is the right file"),
            FsError::AppendUndone { .. } => Some(
                "free space on the file system (or fix the error named) and run the command again",
            ),
            _ => None,
        }
    }

    /// The operating-system error behind this one, if any.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            FsError::Io { source, .. } | FsError::AppendUndone { source, .. } => Some(source),
            FsError::AppendTorn { failure, .. } => Some(failure),
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

/// Reads a secret from a stream (`name` names it in errors: `stdin`), at
/// most [`Cap::Secret`], into one wiped buffer sized up front, so that no
/// reallocation leaves an unwiped copy behind.
pub fn read_secret(
    reader: impl std::io::Read,
    name: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, FsError> {
    use std::io::Read;
    let cap = Cap::Secret.bytes();
    let mut buffer =
        zeroize::Zeroizing::new(Vec::with_capacity(usize::try_from(cap).unwrap_or(0) + 1));
    reader
        .take(cap + 1)
        .read_to_end(&mut buffer)
        .map_err(|source| FsError::Io {
            path: name.into(),
            action: "reading",
            source,
        })?;
    if buffer.len() as u64 > cap {
        return Err(FsError::TooLarge {
            path: name.into(),
            limit: cap,
            what: Cap::Secret.what(),
        });
    }
    Ok(buffer)
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

/// What a write did besides writing its target. Must be used: the
/// leftovers it found are for the operator to hear about.
#[must_use = "the leftovers a write found must be reported (cli::output::leftovers)"]
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// Leftovers of killed earlier writes found in the target's directory
    /// (see the module doc).
    pub leftovers: Leftovers,
    /// How many other names (hard links) the replaced file had: each still
    /// holds the old content, which this write did not replace. Always 0
    /// for a new file.
    pub old_content_links: u64,
}

/// Leftovers of killed writes found in a directory before writing into it
/// (see the module doc).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leftovers {
    /// Removed: ours, and their writer is gone.
    pub removed: Vec<PathBuf>,
    /// Left alone, each with the reason: for the operator to look at.
    pub kept: Vec<Kept>,
}

/// A leftover that was left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The temporary file or staging directory.
    pub path: PathBuf,
    /// Why it was not removed.
    pub why: KeptBecause,
}

/// Why a leftover was not removed: nothing proved that it is ours and that
/// its writer is gone (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeptBecause {
    /// A process with its writer's pid and start time is running, or
    /// whether it is gone cannot be told.
    WriterMayBeRunning {
        /// The writer's pid, as its name gives it.
        pid: u32,
    },
    /// Made on another boot, another machine (a shared directory) or in
    /// another pid namespace: its pid means nothing here.
    OtherHost,
    /// Its name does not say which process made it (another version of
    /// this tool, or a system without `/proc`).
    NoWriter,
    /// This process cannot tell whether any writer is gone (no `/proc`).
    CannotTell,
    /// Owned by another user.
    OtherUser,
    /// Not of the kind its name says (a symbolic link, or a directory named
    /// as a temporary file): not something this tool made.
    WrongKind,
    /// Removing it failed (the operating system's reason).
    NotRemoved(String),
}

impl std::fmt::Display for KeptBecause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeptBecause::WriterMayBeRunning { pid } => {
                write!(
                    f,
                    "the process that made it (pid {pid}) may still be running"
                )
            }
            KeptBecause::OtherHost => {
                f.write_str("it was made on another boot, machine or pid namespace")
            }
            KeptBecause::NoWriter => f.write_str("its name does not say which process made it"),
            KeptBecause::CannotTell => f.write_str(
                "this system does not show whether the process that made it is gone (no /proc)",
            ),
            KeptBecause::OtherUser => f.write_str("it belongs to another user"),
            KeptBecause::WrongKind => f.write_str("it is not of the kind its name says"),
            KeptBecause::NotRemoved(reason) => write!(f, "removing it failed: {reason}"),
        }
    }
}

impl Leftovers {
    /// Nothing was found.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.kept.is_empty()
    }

    /// Adds what another write found: several writes into one directory
    /// (the files of a tree, a check before the real write) each list the
    /// leftovers they left alone, and one removed by one write is not there
    /// for the next.
    pub fn merge(&mut self, other: Leftovers) {
        for path in other.removed {
            if !self.removed.contains(&path) {
                self.removed.push(path);
            }
        }
        for kept in other.kept {
            if !self.kept.iter().any(|k| k.path == kept.path) {
                self.kept.push(kept);
            }
        }
        let removed = &self.removed;
        self.kept.retain(|k| !removed.contains(&k.path));
        self.removed.sort();
        self.kept.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// Writes `bytes` to a new file at `path` atomically with `mode`. Fails if
/// `path` exists (checked again by the kernel at rename time, not just before).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<Written, FsError> {
    write_atomic(path, bytes, mode, false)
}

/// Writes `bytes` to `path` atomically with `mode`, replacing an existing file
/// (used by in-place sealing, where the caller asked for it).
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> Result<Written, FsError> {
    write_atomic(path, bytes, mode, true)
}

/// Replaces `path` with `bytes`, keeping its permission bits, unless the
/// file no longer matches `read`: a concurrent edit is never silently
/// overwritten. The new content is written and flushed first, and the
/// check is made right before the rename, so the window left (no rename
/// compares) is the rename itself.
///
/// Only this name is replaced: [`Written::old_content_links`] says how many
/// other names still hold the old content (`read.hard_links() - 1`; the
/// check before the rename makes sure no name was added since).
pub fn replace_if_unchanged(path: &Path, bytes: &[u8], read: Stamp) -> Result<Written, FsError> {
    let unchanged = || still_as_read(path, read);
    unchanged()?;
    write_with_check(path, bytes, read.permissions(), true, &unchanged)
}

/// Whether `path` is still the file `read` describes.
fn still_as_read(path: &Path, read: Stamp) -> Result<(), FsError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if Stamp::of(&meta) == read => Ok(()),
        Ok(_) => Err(FsError::ChangedSinceRead {
            path: path.to_owned(),
        }),
        Err(source) => Err(FsError::Io {
            path: path.to_owned(),
            action: "reading",
            source,
        }),
    }
}

/// `path` itself (a symbolic link is not followed) held open with `O_PATH`:
/// no access to its content, and never blocking, whatever it is.
fn open_held(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)
}

/// [`still_as_read`], holding the file open ([`open_held`]): a rename over
/// it then does not free it, and it is freed when this is closed.
fn hold_if_still_as_read(path: &Path, read: Stamp) -> Result<File, FsError> {
    let held = open_held(path).map_err(io(path, "reading"))?;
    let meta = held.metadata().map_err(io(path, "reading"))?;
    if Stamp::of(&meta) != read {
        return Err(FsError::ChangedSinceRead {
            path: path.to_owned(),
        });
    }
    Ok(held)
}

/// Many files replaced in one go (`bootstrap seal --in-place` over a
/// tree), each as [`replace_if_unchanged`] replaces it: a temporary file
/// beside it, made durable, checked against what was read, renamed over
/// it. The callers (several threads) only write the temporary files; the
/// batch makes them durable many at a time (a `syncfs(2)` per round of
/// files on a file system, or overlapped `fsync`s by its own threads),
/// renames them, and flushes each directory once, at the end, instead of
/// after every file. See "Many files at once" in the module doc.
///
/// A batch exists only inside [`Batch::run`], which returns once every
/// accepted file is renamed into place and every directory flushed, with
/// the files for which that failed.
pub struct Batch {
    /// Forced by tests; otherwise chosen per directory ([`Flush::for_dir`]).
    flush: Option<Flush>,
    /// To the batch's threads (files flushed one by one, and rounds);
    /// `None` once the work is over.
    queue: Mutex<Option<std::sync::mpsc::SyncSender<Job>>>,
    /// Files of file systems flushed whole, closed, waiting for their
    /// round or the end, by file system (device).
    deferred: Mutex<BTreeMap<u64, Vec<Pending<tempfile::TempPath>>>>,
    /// Per file system flushed whole: a directory opened before any file
    /// of the batch was written on it (a failed write-back since is
    /// reported by `syncfs` on it).
    devices: Mutex<BTreeMap<u64, File>>,
    dirs: Mutex<BTreeMap<PathBuf, BatchDir>>,
    failures: Mutex<Vec<(PathBuf, FsError)>>,
    /// How many deferred files make a round ([`Round`]); `usize::MAX` for
    /// a small batch, flushed in one go at the end.
    round: usize,
    /// Rounds handed to the batch's threads.
    rounds: AtomicUsize,
    /// File systems whose `syncfs` failed in a round, with the error: every
    /// later file on them fails too.
    failed: Mutex<BTreeMap<u64, std::io::Error>>,
    /// Held while a round reads `failed`, flushes and records its failure:
    /// rounds of one file system flush through one open file, whose
    /// error cursor the first `syncfs` after a failure moves on, so two at
    /// once could each see the other's error, or neither its own.
    round_flush: Mutex<()>,
    /// Files renamed over, held open, by file system, whose renames no
    /// `syncfs` or directory flush has made durable yet: they are freed
    /// only after one has ([`Reaper`]).
    awaiting_sync: Mutex<BTreeMap<u64, Vec<File>>>,
    /// Set when no flusher thread could be started: each writer then
    /// flushes and renames its own files.
    flush_inline: AtomicBool,
    /// To the threads that close the replaced files ([`Reaper`]); `None`
    /// for a small batch, or if none could be started.
    reaper: Option<std::sync::mpsc::SyncSender<File>>,
    /// Tests: the `syncfs` call of this number fails.
    #[cfg(test)]
    syncfs_fails_at: Option<usize>,
    #[cfg(test)]
    syncfs_calls: AtomicUsize,
    /// Tests: where to keep the most files held open at once.
    #[cfg(test)]
    most_held: Option<&'static AtomicUsize>,
}

/// What a batch's own threads are handed.
enum Job {
    /// A file of a file system flushed file by file: flush it, rename it.
    Flush(Pending<tempfile::NamedTempFile>),
    /// A round of files of a file system flushed whole.
    Round(Round),
}

/// The files written on a file system flushed whole since its last round,
/// made durable by one `syncfs` and renamed into place while the rest of
/// the batch is sealed, instead of all at the end. Renaming over a file
/// frees the old one, and freeing can wait for the disk (below,
/// [`Reaper`]): begun early, those waits overlap the sealing.
struct Round {
    device: u64,
    /// The batch's descriptor on that file system, duplicated: the same
    /// open file, opened before any file of the batch was written there,
    /// so a `syncfs` on it reports every failed write-back since the last
    /// `syncfs` on it, and no failure goes unreported between rounds.
    handle: File,
    files: Vec<Pending<tempfile::TempPath>>,
}

/// A batch of fewer files than this is flushed in one go at the end, by
/// the threads that seal it: rounds, and their threads, would not pay.
const ROUNDS_FROM: usize = 64;

/// The files of a round: an eighth of the batch, within these bounds.
/// Measured on ext4 without a journal, mounted with `discard`
/// (`docs/performance.md`): rounds of 37 files took `rotate` of 300 files
/// from 66 ms to 41 ms (rounds of 150: 57 ms; of 18: 43 ms), rounds of 62
/// took 1,000 files from 226 ms to 127 ms.
const ROUND_FILES: std::ops::RangeInclusive<usize> = 32..=64;

/// The threads that free the files a batch replaced. A rename over a file
/// frees the old one when it drops its last name, and freeing can wait for
/// the disk: on ext4 without a journal mounted with `discard`, for the
/// discard of the old file's blocks, while the rename still holds its
/// directory locked, so every other rename and every new temporary file in
/// that directory waits too (300 renames over existing files took
/// 23-25 ms here, one after another or sixteen at a time). So each rename
/// holds the old file open ([`hold_if_still_as_read`]; 300 renames then
/// took 2 ms) and, once the rename is durable, hands it here, and these
/// threads close them, outside any directory lock, while the batch seals
/// and renames the rest: four at a time, which the disk takes a little
/// faster than one after another.
///
/// Not before the rename is durable: without a journal, blocks freed are
/// free at once (and discarded, with `discard`), and the batch's next
/// files may take them; a power cut before the rename reached the disk
/// would then leave the name on an old file whose blocks hold something
/// else. The next round's `syncfs` makes a round's renames durable (it
/// writes back the directories too), and the final directory flushes the
/// last ones'; that costs no flush of its own, where a directory `fsync`
/// per round cost a journal commit each (`rotate` of 300 files on a
/// journalled ext4, 10 runs: 38 ms without them, 45 ms with).
struct Reaper {
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Threads of a [`Reaper`].
const REAPERS: usize = 4;

/// Replaced files waiting to be closed, at most: each is a descriptor.
const REAPING: usize = 64;

/// Replaced files held open until their renames are durable, at most, in
/// all (each is a descriptor): the next round's `syncfs` frees them well
/// before, unless many file systems each keep a round's worth.
const HELD: usize = 256;

impl Reaper {
    /// The reaper and the way to it; `None` if no thread could be started
    /// (each rename then frees its old file itself).
    fn start() -> Option<(Reaper, std::sync::mpsc::SyncSender<File>)> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<File>(REAPING);
        let receiver = Arc::new(Mutex::new(receiver));
        let threads: Vec<_> = (0..REAPERS)
            .filter_map(|_| {
                let receiver = Arc::clone(&receiver);
                std::thread::Builder::new()
                    .name("reaper".into())
                    .spawn(move || {
                        loop {
                            let next = locked(&receiver).recv();
                            let Ok(old) = next else { break };
                            drop(old);
                        }
                    })
                    .ok()
            })
            .collect();
        (!threads.is_empty()).then_some((Reaper { threads }, sender))
    }

    /// Waits for every file handed over to be closed (the sender gone).
    fn finish(self) {
        for thread in self.threads {
            // They only close files; a panic there is not the batch's.
            let _ = thread.join();
        }
    }
}

/// How a batch is set up; tests stand in for a system that will not start
/// a thread, or a disk whose write-back fails.
#[derive(Clone, Copy)]
struct Setup {
    /// Whether the batch starts its flusher threads.
    flushers: bool,
    /// The batch's `syncfs` call of this number fails (the first is 0),
    /// as one whose write-back failed: the calls after it succeed.
    #[cfg(test)]
    syncfs_fails_at: Option<usize>,
    /// Where the batch keeps the most replaced files it held open at once.
    #[cfg(test)]
    most_held: Option<&'static AtomicUsize>,
}

impl Setup {
    const REAL: Setup = Setup {
        flushers: true,
        #[cfg(test)]
        syncfs_fails_at: None,
        #[cfg(test)]
        most_held: None,
    };
}

/// How a batch makes the files of one directory durable before renaming
/// them (see the module doc for the choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flush {
    /// `fsync` each file, by the batch's threads, as soon as it is written.
    EachFile,
    /// One `syncfs` on the file system once every file is written.
    FileSystem,
}

impl Flush {
    /// `syncfs` only where it is known to write back and wait on
    /// everything and to report a failed write-back: Linux 5.8 or later,
    /// and a local file system whose `sync_fs` commits it. Anywhere else
    /// (FUSE, NFS, overlay, an older kernel…), each file's own `fsync`.
    fn for_dir(dir: &File) -> Flush {
        #[allow(clippy::unnecessary_cast)]
        const WHOLE: [i64; 5] = [
            libc::EXT4_SUPER_MAGIC as i64, // also ext2 and ext3
            libc::XFS_SUPER_MAGIC as i64,
            libc::BTRFS_SUPER_MAGIC as i64,
            libc::F2FS_SUPER_MAGIC as i64,
            // Nothing reaches a disk: syncfs and fsync both do nothing.
            libc::TMPFS_MAGIC as i64,
        ];
        match file_system_type(dir) {
            Some(kind) if WHOLE.contains(&kind) && syncfs_reports_errors() => Flush::FileSystem,
            _ => Flush::EachFile,
        }
    }
}

/// A file written to its temporary name, waiting to be made durable and
/// renamed.
struct Pending<T> {
    temp: T,
    path: PathBuf,
    read: Stamp,
    parent: PathBuf,
    device: u64,
}

#[derive(Default)]
struct BatchDir {
    /// Set once its leftovers are swept, with how it is flushed.
    ready: Arc<OnceLock<(Flush, u64)>>,
    /// The files renamed into it.
    written: Vec<PathBuf>,
}

/// How many `fsync`s a [`Batch`] keeps in flight where it flushes file by
/// file. They mostly wait on the disk, and the file system commits
/// concurrent ones together.
pub const FLUSHERS: usize = 16;

/// Written files waiting for a flusher, at most: each holds a file open.
const QUEUED: usize = 2 * FLUSHERS;

/// Poison is no reason to lose a batch's bookkeeping: every critical
/// section here leaves its data consistent.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Batch {
    /// Runs `work` with a new batch sized for about `files` files, then
    /// finishes the batch: every file `work` handed over is made durable
    /// and renamed (or failed), then every directory renamed into is
    /// flushed, each once. Returns `work`'s result and the files that
    /// failed after [`Batch::replace_if_unchanged`] accepted them, with
    /// their errors: a file that failed before its rename was left as it
    /// was; one whose directory could not be flushed is in place, but may
    /// be back to its old content after a power cut.
    pub fn run<R>(files: usize, work: impl FnOnce(&Batch) -> R) -> (R, Vec<(PathBuf, FsError)>) {
        Self::run_flushing(None, files, work)
    }

    fn run_flushing<R>(
        flush: Option<Flush>,
        files: usize,
        work: impl FnOnce(&Batch) -> R,
    ) -> (R, Vec<(PathBuf, FsError)>) {
        Self::run_with(flush, Setup::REAL, files, work)
    }

    fn run_with<R>(
        flush: Option<Flush>,
        setup: Setup,
        files: usize,
        work: impl FnOnce(&Batch) -> R,
    ) -> (R, Vec<(PathBuf, FsError)>) {
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUED);
        let receiver = Mutex::new(receiver);
        let large = files >= ROUNDS_FROM;
        let (reaper, to_reaper) = large.then(Reaper::start).flatten().unzip();
        let mut batch = Batch {
            flush,
            queue: Mutex::new(Some(sender)),
            deferred: Mutex::default(),
            devices: Mutex::default(),
            dirs: Mutex::default(),
            failures: Mutex::default(),
            round: if large {
                (files / 8).clamp(*ROUND_FILES.start(), *ROUND_FILES.end())
            } else {
                usize::MAX
            },
            rounds: AtomicUsize::new(0),
            failed: Mutex::default(),
            round_flush: Mutex::default(),
            awaiting_sync: Mutex::default(),
            flush_inline: AtomicBool::new(false),
            reaper: to_reaper,
            #[cfg(test)]
            syncfs_fails_at: setup.syncfs_fails_at,
            #[cfg(test)]
            syncfs_calls: AtomicUsize::new(0),
            #[cfg(test)]
            most_held: setup.most_held,
        };
        let flush = || {
            loop {
                let next = locked(&receiver).recv();
                let Ok(job) = next else { break };
                batch.do_job(job);
            }
        };
        let flush = &flush;
        let result = std::thread::scope(|scope| {
            // Flushers wait for jobs. One waits from the start and starts
            // the others when the first file to flush by itself comes:
            // where whole file systems are flushed none comes (a round is
            // done by this one), and starting sixteen threads (and joining
            // them) takes 0.3-0.8 ms, next to the 40 ms of a batch of 300
            // files.
            let (batch, receiver) = (&batch, &receiver);
            let first = setup.flushers.then(|| {
                std::thread::Builder::new().spawn_scoped(scope, move || {
                    loop {
                        let next = locked(receiver).recv();
                        let Ok(job) = next else { return };
                        let a_file = matches!(job, Job::Flush(_));
                        batch.do_job(job);
                        if a_file {
                            break;
                        }
                    }
                    // A flusher the system will not start is one fewer: this
                    // one goes on.
                    for _ in 1..files.clamp(1, FLUSHERS) {
                        let _ = std::thread::Builder::new().spawn_scoped(scope, flush);
                    }
                    flush();
                })
            });
            if first.is_none_or(|started| started.is_err()) {
                // No flusher at all: the writers flush their own files.
                batch.flush_inline.store(true, Ordering::Relaxed);
            }
            // The flushers stop once the queue is closed and empty, even
            // if `work` panics.
            struct Close<'a>(&'a Batch);
            impl Drop for Close<'_> {
                fn drop(&mut self) {
                    locked(&self.0.queue).take();
                }
            }
            let _close = Close(batch);
            work(batch)
        });
        batch.flush_file_systems();
        batch.flush_dirs();
        // Every rename is durable now: the replaced files still open are
        // closed before the batch returns.
        let held = std::mem::take(&mut *locked(&batch.awaiting_sync));
        batch.release(held.into_values().flatten().collect());
        batch.reaper.take();
        if let Some(reaper) = reaper {
            reaper.finish();
        }
        let failures = batch
            .failures
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        (result, failures)
    }

    /// Checks that `path` is still as `read`, and writes `bytes` to a
    /// temporary file beside it with the same permissions, for the batch to
    /// make durable, check again and rename; a failure from then on is
    /// returned by [`Batch::run`]. [`Written::leftovers`] is the
    /// directory's sweep for the first write into each directory, and
    /// empty for the others; [`Written::old_content_links`] is what `read`
    /// says (the check before the rename makes sure no name was added or
    /// removed since).
    pub fn replace_if_unchanged(
        &self,
        path: &Path,
        bytes: &[u8],
        read: Stamp,
    ) -> Result<Written, FsError> {
        still_as_read(path, read)?;
        let parent = parent_of(path)?;
        let ready = locked(&self.dirs)
            .entry(parent.clone())
            .or_default()
            .ready
            .clone();
        let mut leftovers = Leftovers::default();
        let mut opening = Ok(());
        // The other writers into this directory wait for this.
        let &(flush, device) = ready.get_or_init(|| {
            leftovers = sweep_leftovers(&parent);
            match self.prepare_dir(&parent) {
                Ok(ready) => ready,
                Err(e) => {
                    opening = Err(e);
                    (Flush::EachFile, 0)
                }
            }
        });
        opening.map_err(io(path, "opening its directory"))?;
        let temp = write_temp(&parent, path, bytes, read.permissions())?;
        let written = Written {
            leftovers,
            old_content_links: read.hard_links().saturating_sub(1),
        };
        let pending = Pending {
            temp,
            path: path.to_owned(),
            read,
            parent,
            device,
        };
        if flush == Flush::FileSystem {
            self.defer(pending);
            return Ok(written);
        }
        if self.flush_inline.load(Ordering::Relaxed) {
            self.flush_and_rename(pending);
            return Ok(written);
        }
        let queue = locked(&self.queue).clone();
        // Waits while the flushers are behind. A send that fails hands the
        // file back, and dropping it removes it.
        if queue.is_none_or(|queue| queue.send(Job::Flush(pending)).is_err()) {
            return Err(FsError::Io {
                path: path.to_owned(),
                action: "writing",
                source: std::io::Error::other("the batch is already finished"),
            });
        }
        Ok(written)
    }

    /// Keeps a written file of a file system flushed whole for its round,
    /// and hands the round over once it is full.
    fn defer(&self, pending: Pending<tempfile::NamedTempFile>) {
        let device = pending.device;
        let pending = Pending {
            temp: pending.temp.into_temp_path(),
            path: pending.path,
            read: pending.read,
            parent: pending.parent,
            device,
        };
        let round = {
            let mut deferred = locked(&self.deferred);
            let files = deferred.entry(device).or_default();
            files.push(pending);
            (files.len() >= self.round)
                .then(|| self.take_round(files, device))
                .flatten()
        };
        if let Some(round) = round {
            self.start_round(round);
        }
    }

    /// Takes the files of `device` deferred so far, for a round; `None`
    /// (and nothing taken) where there is nobody to hand them to, or no
    /// descriptor of the batch's on it.
    fn take_round(
        &self,
        files: &mut Vec<Pending<tempfile::TempPath>>,
        device: u64,
    ) -> Option<Round> {
        if self.flush_inline.load(Ordering::Relaxed) {
            return None;
        }
        let handle = locked(&self.devices).get(&device)?.try_clone().ok()?;
        Some(Round {
            device,
            handle,
            files: std::mem::take(files),
        })
    }

    /// Hands a round to the batch's threads; if they are gone, its files
    /// go back to wait for the final flush.
    fn start_round(&self, round: Round) {
        let queue = locked(&self.queue).clone();
        let refused = match queue {
            Some(queue) => queue.send(Job::Round(round)).err().map(|e| e.0),
            None => Some(Job::Round(round)),
        };
        match refused {
            Some(Job::Round(round)) => locked(&self.deferred)
                .entry(round.device)
                .or_default()
                .extend(round.files),
            Some(Job::Flush(_)) => unreachable!("a round was sent"),
            None => {
                self.rounds.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn do_job(&self, job: Job) {
        match job {
            Job::Flush(pending) => self.flush_and_rename(pending),
            Job::Round(round) => self.write_back(round),
        }
    }

    /// Makes a round's files durable with one `syncfs` and renames them,
    /// while the rest of the batch is sealed; the same `syncfs` makes the
    /// renames before it durable, and the files they replaced are freed.
    /// A failed `syncfs` fails the round (each file left as it was) and
    /// every later file of the file system too: the error it reported is
    /// not reported again to a later `syncfs` on the same open file, and
    /// not every failure is reported once per open file anyway (one
    /// `syncfs` can clear a block device's error flag for the next).
    fn write_back(&self, round: Round) {
        let Round {
            device,
            handle,
            files,
        } = round;
        let (failure, renamed_before) = {
            let _in_order = locked(&self.round_flush);
            // Renamed before this `syncfs`, so made durable by it.
            let renamed_before = locked(&self.awaiting_sync)
                .remove(&device)
                .unwrap_or_default();
            let earlier = locked(&self.failed).get(&device).map(copy_error);
            let failure = earlier.or_else(|| self.sync_durably(&handle).err());
            if let Some(error) = &failure {
                locked(&self.failed)
                    .entry(device)
                    .or_insert_with(|| copy_error(error));
            }
            (failure, renamed_before)
        };
        let failed = match failure {
            None => {
                self.release(renamed_before);
                BTreeMap::new()
            }
            Some(error) => {
                // Freed at the end, after the directory flushes.
                self.await_sync(device, renamed_before);
                BTreeMap::from([(device, error)])
            }
        };
        let held = self.rename_flushed(files, &failed);
        self.await_sync(device, held);
    }

    /// Keeps files renamed over on `device` until their renames are
    /// durable. Past [`HELD`] files held in all, this device's are made
    /// durable now (a `syncfs` of its own) and freed, so that no batch
    /// holds more descriptors than that, whatever its file systems.
    fn await_sync(&self, device: u64, held: Vec<File>) {
        let over = {
            let mut awaiting = locked(&self.awaiting_sync);
            awaiting.entry(device).or_default().extend(held);
            let total: usize = awaiting.values().map(Vec::len).sum();
            #[cfg(test)]
            if let Some(most) = self.most_held {
                most.fetch_max(total, Ordering::Relaxed);
            }
            (total > HELD).then(|| awaiting.remove(&device)).flatten()
        };
        let Some(files) = over else { return };
        let synced = {
            let _in_order = locked(&self.round_flush);
            let handle = locked(&self.devices)
                .get(&device)
                .map(File::try_clone)
                .transpose();
            let earlier = locked(&self.failed).get(&device).map(copy_error);
            let synced = match (earlier, handle) {
                (Some(error), _) | (None, Err(error)) => Err(error),
                (None, Ok(None)) => Err(std::io::Error::other("no descriptor on the file system")),
                (None, Ok(Some(handle))) => self.sync_durably(&handle),
            };
            if let Err(error) = &synced {
                locked(&self.failed)
                    .entry(device)
                    .or_insert_with(|| copy_error(error));
            }
            synced
        };
        match synced {
            Ok(()) => self.release(files),
            // Not durable: kept to the end, after the directory flushes.
            // The file system's later files fail, so no more come.
            Err(_) => locked(&self.awaiting_sync)
                .entry(device)
                .or_default()
                .extend(files),
        }
    }

    /// Frees files renamed over, once their renames are durable: by the
    /// reaper where there is one, else here, several at a time.
    fn release(&self, held: Vec<File>) {
        match &self.reaper {
            Some(reaper) => {
                for old in held {
                    // A reaper gone hands the file back, and dropping it
                    // closes it here.
                    let _ = reaper.send(old);
                }
            }
            None => each_in_parallel(held, REAPERS, drop),
        }
    }

    /// `syncfs(2)` on the file system holding `dir`, then a flush of the
    /// disk's write cache: on ext4 without a journal, `syncfs` sends its
    /// one cache flush before it writes the block device's buffers (inode
    /// tables, bitmaps, directories), so those can still be in a volatile
    /// cache when it returns. `fdatasync` of a directory ends with a cache
    /// flush of its own there, and costs no journal commit where the
    /// `syncfs` has just made one.
    fn sync_durably(&self, dir: &File) -> std::io::Result<()> {
        self.syncfs(dir)?;
        dir.sync_data()
    }

    /// `syncfs(2)` for the batch (tests make it fail).
    fn syncfs(&self, dir: &File) -> std::io::Result<()> {
        #[cfg(test)]
        {
            let call = self.syncfs_calls.fetch_add(1, Ordering::Relaxed);
            if self.syncfs_fails_at == Some(call) {
                return Err(std::io::Error::from_raw_os_error(libc::EIO));
            }
        }
        syncfs(dir)
    }

    /// How a directory's files are flushed, and its device; for a file
    /// system flushed whole, its first directory is kept open.
    fn prepare_dir(&self, dir: &Path) -> std::io::Result<(Flush, u64)> {
        let handle = open_dir(dir)?;
        let device = handle.metadata()?.dev();
        let flush = self.flush.unwrap_or_else(|| Flush::for_dir(&handle));
        if flush == Flush::FileSystem {
            locked(&self.devices).entry(device).or_insert(handle);
        }
        Ok((flush, device))
    }

    /// Flushes one written file, checks its target once more and renames
    /// it into place; on any failure the temporary file is removed and the
    /// target left as it is.
    fn flush_and_rename(&self, pending: Pending<tempfile::NamedTempFile>) {
        let Pending {
            temp, path, read, ..
        } = pending;
        // No old file held open here: this is the way for NFS and FUSE,
        // where a file held open across its rename is kept by another name
        // (NFS renames it to `.nfs…` until it is closed).
        let renamed = temp
            .as_file()
            .sync_all()
            .map_err(io(&path, "flushing"))
            .and_then(|()| still_as_read(&path, read))
            .and_then(|()| persist(temp, &path, true));
        self.record(renamed, path, pending.parent);
    }

    fn record(&self, renamed: Result<(), FsError>, path: PathBuf, parent: PathBuf) {
        match renamed {
            Ok(()) => locked(&self.dirs)
                .entry(parent)
                .or_default()
                .written
                .push(path),
            Err(e) => locked(&self.failures).push((path, e)),
        }
    }

    /// Flushes each file system holding deferred files once (`syncfs`),
    /// then renames its files into place, each checked once more. A file
    /// system whose flush fails, now or in a round, fails all of its files,
    /// each left as it was.
    fn flush_file_systems(&self) {
        let deferred = std::mem::take(&mut *locked(&self.deferred));
        if deferred.values().all(Vec::is_empty) {
            return;
        }
        let mut failed: BTreeMap<u64, std::io::Error> = locked(&self.devices)
            .iter()
            .filter_map(|(&device, dir)| self.sync_durably(dir).err().map(|e| (device, e)))
            .collect();
        for (&device, error) in locked(&self.failed).iter() {
            failed.entry(device).or_insert_with(|| copy_error(error));
        }
        for (device, mut files) in deferred {
            // A round's worth at a time, so that what is held stays within
            // bounds ([`Batch::await_sync`]).
            while !files.is_empty() {
                let rest = files.split_off(files.len().min(*ROUND_FILES.end()));
                let held = self.rename_flushed(files, &failed);
                // Freed once the directories are flushed, at the end.
                self.await_sync(device, held);
                files = rest;
            }
        }
    }

    /// Renames files made durable by a `syncfs` into place, one after
    /// another, each checked once more, except those of a file system in
    /// `failed`, which are left as they were (their temporary files
    /// removed). Returns the files renamed over, held open so that no
    /// rename waits for the disk to free one ([`Reaper`]).
    fn rename_flushed(
        &self,
        files: Vec<Pending<tempfile::TempPath>>,
        failed: &BTreeMap<u64, std::io::Error>,
    ) -> Vec<File> {
        let mut held = Vec::new();
        for pending in files {
            let Pending {
                temp,
                path,
                read,
                parent,
                device,
            } = pending;
            let renamed = match failed.get(&device) {
                Some(error) => Err(FsError::Io {
                    path: path.clone(),
                    action: "flushing",
                    source: copy_error(error),
                }),
                None => hold_if_still_as_read(&path, read).and_then(|old| {
                    temp.persist(&path).map_err(|e| FsError::Io {
                        path: path.clone(),
                        action: "renaming into place",
                        source: e.error,
                    })?;
                    held.push(old);
                    Ok(())
                }),
            };
            self.record(renamed, path, parent);
        }
        held
    }

    /// Flushes every directory a file was renamed into, each once, several
    /// at a time; the files of one that fails are failures of the batch.
    fn flush_dirs(&self) {
        let dirs: Vec<(PathBuf, Vec<PathBuf>)> = std::mem::take(&mut *locked(&self.dirs))
            .into_iter()
            .filter(|(_, dir)| !dir.written.is_empty())
            .map(|(path, dir)| (path, dir.written))
            .collect();
        each_in_parallel(dirs, FLUSHERS, |(dir, files)| {
            let Err(error) = open_dir(&dir).and_then(|d| d.sync_all()) else {
                return;
            };
            let mut failures = locked(&self.failures);
            for file in files {
                failures.push((
                    file.clone(),
                    FsError::Io {
                        path: file,
                        action: "flushing its directory",
                        source: copy_error(&error),
                    },
                ));
            }
        });
    }
}

/// Runs `each` on every item, on up to `threads` threads at once (on this
/// thread when there is one item).
fn each_in_parallel<T: Send>(items: Vec<T>, threads: usize, each: impl Fn(T) + Sync) {
    let threads = threads.min(items.len());
    if threads <= 1 {
        items.into_iter().for_each(each);
        return;
    }
    let queue = Mutex::new(items.into_iter());
    let work = || {
        loop {
            let next = locked(&queue).next();
            let Some(item) = next else { break };
            each(item);
        }
    };
    std::thread::scope(|scope| {
        // A thread the system will not start is one fewer at work: this
        // one works too, so every item is done all the same.
        for _ in 1..threads {
            let _ = std::thread::Builder::new().spawn_scoped(scope, work);
        }
        work();
    });
}

/// `syncfs(2)` on the file system holding `dir`.
#[allow(unsafe_code)]
fn syncfs(dir: &File) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: an open descriptor, borrowed for the call; nothing else is
    // passed.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The file system type (`statfs` `f_type`) of the one holding `dir`.
#[allow(unsafe_code)]
fn file_system_type(dir: &File) -> Option<i64> {
    use std::os::unix::io::AsRawFd;
    let mut buf = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: an open descriptor and a buffer of the size fstatfs writes,
    // which outlives the call.
    if unsafe { libc::fstatfs(dir.as_raw_fd(), buf.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstatfs succeeded and filled the buffer (zeroed before, so
    // every byte is initialised either way).
    let buf = unsafe { buf.assume_init() };
    #[allow(clippy::unnecessary_cast)]
    Some(buf.f_type as i64)
}

/// Whether `syncfs` reports a failed write-back: since Linux 5.8 (before,
/// it returned success regardless).
fn syncfs_reports_errors() -> bool {
    static REPORTS: OnceLock<bool> = OnceLock::new();
    *REPORTS.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|release| kernel_version(&release))
            .is_some_and(|version| version >= (5, 8))
    })
}

/// `(major, minor)` of a kernel release string such as `6.1.0-18-amd64`.
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut numbers = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some((major, minor))
}

/// An `io::Error` like `error`, for each of several files it befell.
fn copy_error(error: &std::io::Error) -> std::io::Error {
    match error.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(error.kind(), error.to_string()),
    }
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<Written, FsError> {
    write_with_check(path, bytes, mode, overwrite, &|| Ok(()))
}

fn write_with_check(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: bool,
    before_rename: &dyn Fn() -> Result<(), FsError>,
) -> Result<Written, FsError> {
    let parent = parent_of(path)?;
    if !overwrite && path.symlink_metadata().is_ok() {
        return Err(FsError::Exists {
            path: path.to_owned(),
        });
    }
    let leftovers = sweep_leftovers(&parent);
    let dir = open_dir(&parent).map_err(io(&parent, "flushing the directory"))?;
    // On a local file system the replaced file is held open until the
    // rename is durable, and freed only then: without a journal its blocks
    // are free at once, and a power cut before the directory reached the
    // disk would leave the name on an old file whose blocks something else
    // may have taken. Not on NFS, where a file held open across its rename
    // is kept under a `.nfs…` name until it is closed.
    let hold = overwrite && Flush::for_dir(&dir) == Flush::FileSystem;
    let (old_content_links, replaced) =
        write_durably(&parent, path, bytes, mode, overwrite, hold, before_rename)?;
    dir.sync_all()
        .map_err(io(&parent, "flushing the directory"))?;
    drop(replaced);
    Ok(Written {
        leftovers,
        old_content_links,
    })
}

/// Writes `bytes` to a temporary file in `parent` with `mode`, flushes it
/// (`fsync`), runs `before_rename`, and renames it to `path`. Everything
/// but flushing the directory: the caller does that, once per file
/// ([`write_with_check`]) or once per directory ([`Batch`]). Returns how
/// many other names the replaced file had, and with `hold` the replaced
/// file, held open (`O_PATH`) so that it is freed when the caller drops
/// it.
fn write_durably(
    parent: &Path,
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: bool,
    hold: bool,
    before_rename: &dyn Fn() -> Result<(), FsError>,
) -> Result<(u64, Option<File>), FsError> {
    let temp = write_temp(parent, path, bytes, mode)?;
    temp.as_file().sync_all().map_err(io(path, "flushing"))?;
    before_rename()?;
    let mut old_content_links = 0;
    let mut replaced = None;
    if overwrite {
        // Right before the rename, as the check above: what the rename
        // unlinks from this name.
        let old = open_held(path);
        let meta = old.as_ref().ok().and_then(|old| old.metadata().ok());
        if let Some(meta) = meta.filter(|meta| meta.file_type().is_file()) {
            old_content_links = meta.nlink().saturating_sub(1);
        }
        replaced = old.ok().filter(|_| hold);
    }
    persist(temp, path, overwrite)?;
    Ok((old_content_links, replaced))
}

/// A new temporary file in `parent` holding `bytes`, with exactly `mode`,
/// not flushed yet. Dropped, it is removed.
fn write_temp(
    parent: &Path,
    path: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<tempfile::NamedTempFile, FsError> {
    let mut temp = tempfile::Builder::new()
        .prefix(&leftover_prefix(TEMP_PREFIX))
        .suffix(TEMP_SUFFIX)
        .rand_bytes(RANDOM_CHARS)
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(parent)
        .map_err(io(path, "creating a temporary file"))?;
    // tempfile applies the mode at creation but the umask may have masked
    // bits; set it explicitly so the final file has exactly `mode`.
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io(path, "setting permissions"))?;
    temp.write_all(bytes).map_err(io(path, "writing"))?;
    Ok(temp)
}

/// Renames a temporary file to `path`, over an existing file only if
/// `overwrite`; on failure the temporary file is removed.
fn persist(temp: tempfile::NamedTempFile, path: &Path, overwrite: bool) -> Result<(), FsError> {
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
    Ok(())
}

/// Temporary files: `.ceremony-TAG-RANDOM.tmp`.
const TEMP_PREFIX: &str = ".ceremony-";
const TEMP_SUFFIX: &str = ".tmp";
/// Staging directories: `.ceremony-staging-TAG-RANDOM`.
const STAGING_PREFIX: &str = ".ceremony-staging-";
/// Random characters at the end of a leftover's name (alphanumeric).
const RANDOM_CHARS: usize = 8;

/// The process that writes: enough to tell later, from a leftover's name
/// alone, whether the process that made it is still running.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Writer {
    pid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat`, field 22).
    start: u64,
    /// Eight hex digits of SHA-256 over the boot id and the pid namespace.
    host: String,
}

impl Writer {
    /// This process, or `None` where `/proc` does not tell (then leftovers
    /// are named without a writer and never removed automatically).
    fn current() -> Option<&'static Writer> {
        static CURRENT: OnceLock<Option<Writer>> = OnceLock::new();
        CURRENT.get_or_init(Writer::read_current).as_ref()
    }

    fn read_current() -> Option<Writer> {
        // The pid as the mounted /proc numbers it, which is the numbering
        // liveness is later checked in; refuse to tag if it disagrees with
        // our own (a /proc of another pid namespace).
        let pid: u32 = fs::read_link("/proc/self").ok()?.to_str()?.parse().ok()?;
        if pid != std::process::id() {
            return None;
        }
        let (_, start) = parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
        Some(Writer {
            pid,
            start,
            host: host_token()?,
        })
    }

    fn tag(&self) -> String {
        format!("{}-{}-{}", self.pid, self.start, self.host)
    }

    /// `PID-START-HOST-RANDOM`, exactly as [`Writer::tag`] and
    /// [`RANDOM_CHARS`] make it.
    fn parse(rest: &str) -> Option<Writer> {
        let mut parts = rest.split('-');
        let (pid, start, host, random) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let ok = parts.next().is_none()
            && decimal(pid)
            && !pid.starts_with('0')
            && decimal(start)
            && host.len() == 8
            && host.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && random.len() == RANDOM_CHARS
            && random.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return None;
        }
        Some(Writer {
            // A pid the kernel can name: 1..=i32::MAX.
            pid: pid.parse().ok().filter(|&p| i32::try_from(p).is_ok())?,
            start: start.parse().ok()?,
            host: host.to_owned(),
        })
    }

    /// Whether the process this names is gone: no such pid, another
    /// process under it (another start time), or a zombie (it has exited;
    /// only its exit status is left). Anything unclear is "not gone".
    ///
    /// Whether the pid exists is asked of the kernel (signal 0), not of
    /// `/proc` alone: with `hidepid`, `/proc` hides processes it will not
    /// let us trace, and a ceremony is not traceable (the preflight marks
    /// it not dumpable), so a missing `/proc/PID` proves nothing.
    fn is_gone(&self) -> bool {
        match process_exists(self.pid) {
            Some(false) => return true,
            Some(true) => {}
            None => return false,
        }
        match fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            // It exists, but /proc does not show it.
            Err(_) => false,
            Ok(stat) => match parse_stat(&stat) {
                Some((_, start)) if start != self.start => true,
                Some((state, _)) => matches!(state, 'Z' | 'X' | 'x'),
                None => false,
            },
        }
    }
}

/// Whether a process with this pid exists (`kill(pid, 0)`: `ESRCH` means
/// none, `EPERM` one we may not signal); `None` if the kernel says
/// something else.
#[allow(unsafe_code)]
fn process_exists(pid: u32) -> Option<bool> {
    // 0 and negative pids name process groups, not a process.
    let pid = libc::pid_t::try_from(pid).ok().filter(|&p| p > 0)?;
    // SAFETY: kill with signal 0 sends nothing; it only checks that the
    // pid exists and may be signalled. No memory is passed.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return Some(true);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Some(false),
        Some(libc::EPERM) => Some(true),
        _ => None,
    }
}

/// The state and start time of a `/proc/PID/stat` line. The command name
/// (field 2) is in parentheses and may hold spaces and parentheses itself,
/// so the fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 is the state; field 22 the start time.
    let start = fields.nth(22 - 4)?.parse().ok()?;
    Some((state, start))
}

/// Eight hex digits naming this boot and pid namespace: a pid and start
/// time mean something only within both.
fn host_token() -> Option<String> {
    use sha2::{Digest, Sha256};
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let namespace = fs::read_link("/proc/self/ns/pid").ok()?;
    let mut hash = Sha256::new();
    hash.update(boot.trim().as_bytes());
    hash.update(b"\n");
    hash.update(namespace.as_os_str().as_encoded_bytes());
    hash.finalize().get(..4).map(hex::encode)
}

/// The name prefix of a new leftover-to-be: `PREFIX` and this process's
/// tag, or `PREFIX` alone when it has none.
fn leftover_prefix(prefix: &str) -> String {
    match Writer::current() {
        Some(me) => format!("{prefix}{}-", me.tag()),
        None => prefix.to_owned(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LeftoverKind {
    TempFile,
    StagingDir,
}

/// Whether `name` is one of our leftovers' names, and the writer it names
/// (`None`: named without a writer, or by another version).
fn leftover_name(name: &str) -> Option<(LeftoverKind, Option<Writer>)> {
    if let Some(rest) = name.strip_prefix(STAGING_PREFIX) {
        return Some((LeftoverKind::StagingDir, Writer::parse(rest)));
    }
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    Some((LeftoverKind::TempFile, Writer::parse(rest)))
}

/// Removes the leftovers in `dir` that are provably ours and stale, and
/// lists the others (see the module doc). Never fails: a leftover that
/// cannot be removed is listed as kept, and a directory that cannot be
/// listed fails the write that follows, with its own error.
fn sweep_leftovers(dir: &Path) -> Leftovers {
    let mut found = Leftovers::default();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    let me = Writer::current();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((kind, writer)) = name.to_str().and_then(leftover_name) else {
            continue;
        };
        let path = entry.path();
        let stale = match (me, writer) {
            // Our own, in progress (another thread of this process).
            (Some(me), Some(w)) if w == *me => continue,
            (Some(me), Some(w)) if w.host != me.host => Err(KeptBecause::OtherHost),
            (Some(_), Some(w)) if !w.is_gone() => {
                Err(KeptBecause::WriterMayBeRunning { pid: w.pid })
            }
            (Some(_), Some(_)) => Ok(()),
            (None, _) => Err(KeptBecause::CannotTell),
            (Some(_), None) => Err(KeptBecause::NoWriter),
        };
        let removed = stale.and_then(|()| removable(&path, kind)).and_then(|()| {
            match kind {
                LeftoverKind::TempFile => fs::remove_file(&path),
                LeftoverKind::StagingDir => fs::remove_dir_all(&path),
            }
            .map_err(|e| KeptBecause::NotRemoved(e.to_string()))
        });
        match removed {
            Ok(()) => found.removed.push(path),
            // Gone meanwhile (another writer removed it first): nothing
            // is left to say about it.
            Err(_) if vanished(&path) => {}
            Err(why) => found.kept.push(Kept { path, why }),
        }
    }
    if !found.removed.is_empty() {
        // The removals are not what this write promises; a failed flush
        // only means they may come back after a power cut.
        let _ = sync_dir(dir);
    }
    found.removed.sort();
    found.kept.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

fn vanished(path: &Path) -> bool {
    matches!(path.symlink_metadata(), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// Of the kind its name says (never a symbolic link) and owned by our
/// effective user.
fn removable(path: &Path, kind: LeftoverKind) -> Result<(), KeptBecause> {
    let meta = path
        .symlink_metadata()
        .map_err(|e| KeptBecause::NotRemoved(e.to_string()))?;
    let kind_matches = match kind {
        LeftoverKind::TempFile => meta.file_type().is_file(),
        LeftoverKind::StagingDir => meta.file_type().is_dir(),
    };
    if !kind_matches {
        Err(KeptBecause::WrongKind)
    } else if meta.uid() != effective_uid() {
        Err(KeptBecause::OtherUser)
    } else {
        Ok(())
    }
}

#[allow(unsafe_code)]
fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory of ours and
    // cannot fail.
    unsafe { libc::geteuid() }
}

/// Opens a directory to flush, lock or `syncfs` it: `O_DIRECTORY`, so that
/// something else swapped in at its path (a FIFO would block the open) is
/// refused at once.
fn open_dir(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(dir)
}

fn sync_dir(dir: &Path) -> Result<(), FsError> {
    open_dir(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "flushing the directory"))
}

/// A directory being assembled beside its final place. Dropping it without
/// [`StagedDir::commit`] removes everything written so far.
pub struct StagedDir {
    target: PathBuf,
    staging: Option<tempfile::TempDir>,
    leftovers: Leftovers,
}

impl StagedDir {
    /// Starts staging `target`, which must not exist or be an empty directory.
    pub fn new(target: &Path) -> Result<Self, FsError> {
        check_target_dir(target)?;
        Self::beside(target)
    }

    /// Starts staging a directory that will take the place of `target` once
    /// the caller has moved `target` itself away (replacing a root): the
    /// target is not required to be empty now, but it is checked again at
    /// [`StagedDir::commit`].
    pub fn beside(target: &Path) -> Result<Self, FsError> {
        let parent = parent_of(target)?;
        let leftovers = sweep_leftovers(&parent);
        let staging = tempfile::Builder::new()
            .prefix(&leftover_prefix(STAGING_PREFIX))
            .rand_bytes(RANDOM_CHARS)
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(&parent)
            .map_err(io(target, "creating a staging directory"))?;
        Ok(Self {
            target: target.to_owned(),
            staging: Some(staging),
            leftovers,
        })
    }

    /// Leftovers of killed earlier writes found beside the target when
    /// staging started (see the module doc).
    pub fn leftovers(&self) -> &Leftovers {
        &self.leftovers
    }

    /// Where the directory is being assembled, for a caller that builds a
    /// whole tree in it with functions that take paths (the demo writes a
    /// root, share sets and sealed files with the library's own calls).
    /// Whatever is written there appears at the target only on
    /// [`StagedDir::commit`], and is removed with the rest if it never
    /// comes. Paths in errors then name this hidden directory, not the
    /// target.
    pub fn path(&self) -> Result<&Path, FsError> {
        self.dir()
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
    /// `relative` must stay inside the directory: no root, no `..`.
    /// Errors name the file as it will be once committed
    /// (`TARGET/RELATIVE`), not the hidden staging directory.
    pub fn add(&self, relative: &str, bytes: &[u8], mode: u32) -> Result<(), FsError> {
        use std::path::Component;
        let shown = self.target.join(relative);
        let inside = !relative.is_empty()
            && Path::new(relative)
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(FsError::Io {
                path: shown,
                action: "staging",
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a relative path inside the directory",
                ),
            });
        }
        let path = self.dir()?.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io(&shown, "creating a directory"))?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(io(&shown, "creating"))?;
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io(&shown, "setting permissions"))?;
        file.write_all(bytes).map_err(io(&shown, "writing"))?;
        file.sync_all().map_err(io(&shown, "flushing"))?;
        if let Some(parent) = path.parent() {
            sync_dir(parent).map_err(|e| match e {
                FsError::Io { action, source, .. } => FsError::Io {
                    path: shown.clone(),
                    action,
                    source,
                },
                other => other,
            })?;
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

impl StagedDir {
    /// Puts the finished directory in the place of the existing `target`
    /// in one step: the two are swapped atomically (`renameat2` with
    /// `RENAME_EXCHANGE`), so at every moment `target` is either the old
    /// directory whole or the new one whole, kill -9 included. `unchanged`
    /// runs right before the swap and can refuse it (the old directory
    /// changed since it was read). The old directory is then removed; if
    /// that fails, its path is returned (a leftover the next write beside
    /// it removes). A file system that cannot swap is refused, not worked
    /// around with two renames that would leave a moment without `target`.
    pub fn swap_into_place(
        mut self,
        unchanged: &dyn Fn() -> Result<(), FsError>,
    ) -> Result<Option<PathBuf>, FsError> {
        let staging = self.staging.take().ok_or_else(|| FsError::Io {
            path: self.target.clone(),
            action: "staging",
            source: std::io::Error::other("staging directory already committed"),
        })?;
        sync_dir(staging.path())?;
        fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o700))
            .map_err(io(staging.path(), "setting permissions"))?;
        // Another swap of the same target between our check and our
        // exchange would pass its own check and be thrown away by ours:
        // the two run under an exclusive lock on the parent directory,
        // taken without waiting (a second writer is told, not queued).
        let parent = parent_of(&self.target)?;
        let _lock = DirLock::try_exclusive(&parent)?;
        unchanged()?;
        exchange(staging.path(), &self.target)?;
        // From here on the staging path holds the old directory.
        let old = staging.keep();
        sync_dir(&parent_of(&self.target)?)?;
        match fs::remove_dir_all(&old) {
            Ok(()) => Ok(None),
            Err(_) => Ok(Some(old)),
        }
    }
}

/// An exclusive `flock` on a directory, released on drop.
struct DirLock {
    _dir: File,
}

impl DirLock {
    #[allow(unsafe_code)]
    fn try_exclusive(dir: &Path) -> Result<Self, FsError> {
        use std::os::unix::io::AsRawFd;
        let file = open_dir(dir).map_err(io(dir, "opening the directory to lock it"))?;
        // SAFETY: a valid open descriptor, owned by `file` for the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Self { _dir: file });
        }
        let source = std::io::Error::last_os_error();
        Err(FsError::Io {
            path: dir.to_owned(),
            action: if source.raw_os_error() == Some(libc::EWOULDBLOCK) {
                "locking (another ceremony is replacing a directory here right now; let it finish, then run this again)"
            } else {
                "locking"
            },
            source,
        })
    }
}

/// Swaps two paths atomically.
#[allow(unsafe_code)]
fn exchange(a: &Path, b: &Path) -> Result<(), FsError> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| FsError::Io {
            path: p.to_owned(),
            action: "swapping directories",
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in the path"),
        })
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let source = std::io::Error::last_os_error();
    let unsupported = matches!(
        source.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    );
    Err(FsError::Io {
        path: b.to_owned(),
        action: if unsupported {
            "swapping in the new directory (this file system cannot swap two directories atomically; use ext4, xfs, btrfs or tmpfs)"
        } else {
            "swapping in the new directory"
        },
        source,
    })
}

/// An append-only file held under an exclusive lock: its current contents
/// are read under the lock, so what is appended is decided from exactly what
/// is there (no two writers can append after the same last line).
pub struct LockedAppend {
    path: PathBuf,
    file: File,
    contents: String,
    cap: Cap,
}

impl LockedAppend {
    /// Opens (creating with `mode` if absent) without following a symlink,
    /// takes an exclusive lock and reads the contents as UTF-8, at most
    /// `cap`. Anything but a regular file is refused, checked before it is
    /// opened (opening a device can do something: a tape rewinds) and again
    /// on the open file; the open does not wait (`O_NONBLOCK`), so a FIFO
    /// cannot hang the command.
    pub fn open(path: &Path, mode: u32, cap: Cap) -> Result<Self, FsError> {
        use std::io::Read;
        let not_regular = |file_type: &fs::FileType| FsError::NotRegular {
            path: path.to_owned(),
            kind: if file_type.is_symlink() {
                "symbolic link"
            } else {
                kind_of(file_type)
            },
        };
        let created = match path.symlink_metadata() {
            Ok(meta) if meta.file_type().is_file() => false,
            Ok(meta) => return Err(not_regular(&meta.file_type())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(source) => {
                return Err(FsError::Io {
                    path: path.to_owned(),
                    action: "opening",
                    source,
                });
            }
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(io(path, "opening"))?;
        // Replaced between the check and the open.
        let meta = file.metadata().map_err(io(path, "opening"))?;
        if !meta.file_type().is_file() {
            return Err(not_regular(&meta.file_type()));
        }
        // A new file's name must survive a power cut too. (Also when it
        // is empty: it may have been made between the check and the open.)
        if created || meta.len() == 0 {
            sync_dir(&parent_of(path)?)?;
        }
        lock_exclusive(&file).map_err(io(path, "locking"))?;
        // The length under the lock: nobody appends while we hold it.
        let len = file.metadata().map_err(io(path, "reading"))?.len();
        let limit = cap.bytes();
        let too_large = || FsError::TooLarge {
            path: path.to_owned(),
            limit,
            what: cap.what(),
        };
        if len > limit {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
        (&file)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(io(path, "reading"))?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        let contents = String::from_utf8(bytes).map_err(|_| FsError::Io {
            path: path.to_owned(),
            action: "reading",
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        })?;
        Ok(Self {
            path: path.to_owned(),
            file,
            contents,
            cap,
        })
    }

    /// What the file held when it was locked.
    pub fn contents(&self) -> &str {
        &self.contents
    }

    /// Appends `line` (which must end in a newline) with one write, then
    /// flushes it to disk. If either fails (a full disk), the file is cut
    /// back to what it held and flushed again, so a failed append leaves
    /// nothing behind ([`FsError::AppendUndone`]). An append that would take
    /// the file over its cap is refused: the file could no longer be read.
    /// The lock is released when `self` is dropped.
    pub fn append(mut self, line: &str) -> Result<(), FsError> {
        let len = self.contents.len() as u64;
        let limit = self.cap.bytes();
        if len.saturating_add(line.len() as u64) > limit {
            return Err(FsError::TooLarge {
                path: self.path,
                limit,
                what: self.cap.what(),
            });
        }
        append_or_restore(&mut self.file, len, line.as_bytes()).map_err(|e| match e {
            AppendFailure::Undone(source) => FsError::AppendUndone {
                path: self.path.clone(),
                source,
            },
            AppendFailure::Torn { failure, restore } => FsError::AppendTorn {
                path: self.path.clone(),
                len,
                failure,
                source: restore,
            },
        })
    }
}

/// What [`append_or_restore`] needs of a file: a seam for the tests, which
/// make each step fail in turn.
trait AppendTarget: Write {
    fn flush_to_disk(&self) -> std::io::Result<()>;
    fn cut_to(&self, len: u64) -> std::io::Result<()>;
}

impl AppendTarget for File {
    fn flush_to_disk(&self) -> std::io::Result<()> {
        self.sync_all()
    }

    fn cut_to(&self, len: u64) -> std::io::Result<()> {
        self.set_len(len)
    }
}

#[derive(Debug)]
enum AppendFailure {
    /// The append failed; the file is back to its previous length.
    Undone(std::io::Error),
    /// The append failed and so did cutting the file back.
    Torn {
        failure: std::io::Error,
        restore: std::io::Error,
    },
}

/// Writes and flushes `bytes` at the end of `file` (`len` bytes long); on
/// any failure, cuts it back to `len` and flushes that.
fn append_or_restore(
    file: &mut impl AppendTarget,
    len: u64,
    bytes: &[u8],
) -> Result<(), AppendFailure> {
    let failure = match file.write_all(bytes).and_then(|()| file.flush_to_disk()) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    match file.cut_to(len).and_then(|()| file.flush_to_disk()) {
        Ok(()) => Err(AppendFailure::Undone(failure)),
        Err(restore) => Err(AppendFailure::Torn { failure, restore }),
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

    #[test]
    fn a_secret_from_a_stream_is_capped_and_named() {
        let cap = Cap::Secret.bytes() as usize;
        let at_cap = vec![7u8; cap];
        assert_eq!(&*read_secret(&at_cap[..], "stdin").unwrap(), &at_cap[..]);
        let over = vec![7u8; cap + 1];
        match read_secret(&over[..], "stdin") {
            Err(FsError::TooLarge { path, limit, .. }) => {
                assert_eq!(path, Path::new("stdin"));
                assert_eq!(limit, cap as u64);
            }
            other => panic!("{other:?}"),
        }
        struct Broken;
        impl std::io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("gone"))
            }
        }
        let err = read_secret(Broken, "stdin").unwrap_err();
        assert!(err.to_string().contains("stdin"), "{err}");
        assert_eq!(err.class(), Class::Io);
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Names in `dir` that a write of ours left behind.
    fn ours_left_in(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| leftover_name(name).is_some())
            .collect()
    }

    /// `n` files in `dir` (`000.yaml`…), each holding `old`.
    fn old_files(dir: &Path, n: usize) -> Vec<PathBuf> {
        let files: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("{i:03}.yaml"))).collect();
        for file in &files {
            fs::write(file, "old").unwrap();
        }
        files
    }

    /// Hands `file` to the batch, to become `new`.
    fn hand_new(batch: &Batch, file: &Path) {
        let (_, stamp) = read_stamped(file, Cap::Manifest).unwrap();
        let _ = batch.replace_if_unchanged(file, b"new", stamp).unwrap();
    }

    /// Every file `new`, and nothing of ours left in `dir`.
    fn assert_all_new(dir: &Path, files: &[PathBuf]) {
        for file in files {
            assert_eq!(fs::read(file).unwrap(), b"new", "{}", file.display());
        }
        assert!(ours_left_in(dir).is_empty());
    }

    #[test]
    fn a_fifo_swapped_in_before_a_rename_is_refused_not_waited_on() {
        use std::os::unix::fs::FileTypeExt;
        // The old file is held open (O_PATH) and checked right before its
        // rename: a FIFO in its place by then is refused, never opened for
        // reading (which would wait for a writer forever).
        let dir = tempfile::tempdir().unwrap();
        let files = old_files(dir.path(), 2);
        // Flushed whole at the end, so the renames come after the swap.
        let ((), failures) = Batch::run_flushing(Some(Flush::FileSystem), 2, |batch| {
            files.iter().for_each(|file| hand_new(batch, file));
            fs::remove_file(&files[1]).unwrap();
            let made = std::process::Command::new("mkfifo")
                .arg(&files[1])
                .status()
                .unwrap();
            assert!(made.success());
        });
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, files[1]);
        assert!(matches!(failures[0].1, FsError::ChangedSinceRead { .. }));
        let kind = files[1].symlink_metadata().unwrap().file_type();
        assert!(kind.is_fifo());
        assert_all_new(dir.path(), &files[..1]);
    }

    #[test]
    fn a_fifo_where_a_directory_was_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("d");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let error = open_dir(&fifo).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOTDIR));
        assert!(sync_dir(&fifo).is_err());
        assert!(open_dir(dir.path()).is_ok());
    }

    /// With no flusher thread (the system would not start one), the
    /// writers flush and rename their own files, more of them than the
    /// queue to the flushers holds, instead of waiting on a queue nobody
    /// reads.
    #[test]
    fn a_batch_without_flusher_threads_still_replaces_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..2 * QUEUED)
            .map(|i| dir.path().join(format!("{i}.yaml")))
            .collect();
        for file in &files {
            fs::write(file, "old").unwrap();
        }
        let ((), failures) = Batch::run_with(
            Some(Flush::EachFile),
            Setup {
                flushers: false,
                ..Setup::REAL
            },
            files.len(),
            |batch| {
                for (i, file) in files.iter().enumerate() {
                    let (_, stamp) = read_stamped(file, Cap::Manifest).unwrap();
                    let written = batch
                        .replace_if_unchanged(file, format!("new {i}").as_bytes(), stamp)
                        .unwrap();
                    assert_eq!(written.old_content_links, 0);
                }
            },
        );
        assert!(failures.is_empty(), "{failures:?}");
        for (i, file) in files.iter().enumerate() {
            assert_eq!(fs::read_to_string(file).unwrap(), format!("new {i}"));
        }
        assert!(ours_left_in(dir.path()).is_empty());
    }

    #[test]
    fn a_batch_replaces_every_file_keeping_its_mode_either_way_it_flushes() {
        for flush in [Flush::EachFile, Flush::FileSystem] {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("a"), dir.path().join("b"));
            fs::create_dir(&a).unwrap();
            fs::create_dir(&b).unwrap();
            // Enough files for rounds: 128 files, rounds of 32.
            let files: Vec<PathBuf> = (0..2 * ROUNDS_FROM)
                .map(|i| [&a, &b][i % 2].join(format!("{i}.yaml")))
                .collect();
            for (i, file) in files.iter().enumerate() {
                fs::write(file, format!("old {i}")).unwrap();
                let mode = if i % 3 == 0 { 0o600 } else { 0o640 };
                fs::set_permissions(file, fs::Permissions::from_mode(mode)).unwrap();
            }
            let ((links, rounds), failures) =
                Batch::run_flushing(Some(flush), files.len(), |batch| {
                    let links = files
                        .iter()
                        .enumerate()
                        .map(|(i, file)| {
                            let (_, stamp) = read_stamped(file, Cap::Manifest).unwrap();
                            let written = batch
                                .replace_if_unchanged(file, format!("new {i}").as_bytes(), stamp)
                                .unwrap();
                            written.old_content_links
                        })
                        .sum::<u64>();
                    (links, batch.rounds.load(Ordering::Relaxed))
                });
            assert!(failures.is_empty(), "{flush:?}: {failures:?}");
            // Every 32 files, where the file system is flushed whole.
            let expected = if flush == Flush::FileSystem { 4 } else { 0 };
            assert_eq!(rounds, expected, "{flush:?}");
            assert_eq!(links, 0);
            for (i, file) in files.iter().enumerate() {
                assert_eq!(fs::read_to_string(file).unwrap(), format!("new {i}"));
                let mode = if i % 3 == 0 { 0o600 } else { 0o640 };
                assert_eq!(mode_of(file), mode, "{flush:?}: {}", file.display());
            }
            assert!(ours_left_in(&a).is_empty() && ours_left_in(&b).is_empty());
        }
    }

    #[test]
    fn a_round_is_renamed_into_place_while_the_batch_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let files = old_files(dir.path(), ROUNDS_FROM);
        let (seen, failures) = Batch::run_flushing(Some(Flush::FileSystem), files.len(), |batch| {
            let hand = |file: &PathBuf| hand_new(batch, file);
            let (first, rest) = files.split_at(*ROUND_FILES.start());
            first.iter().for_each(hand);
            // The first round is in place before the rest is even written
            // (waiting for the batch's thread, a minute at most).
            let mut seen = false;
            for _ in 0..6000 {
                if first.iter().all(|f| fs::read(f).unwrap() == b"new") {
                    seen = true;
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            rest.iter().for_each(hand);
            seen
        });
        assert!(
            seen,
            "the first round was not renamed before the batch ended"
        );
        assert!(failures.is_empty(), "{failures:?}");
        assert_all_new(dir.path(), &files);
    }

    #[test]
    fn a_failed_round_fails_itself_and_every_later_file_and_keeps_the_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        // 200 files: rounds of 32; the third round's syncfs fails, and
        // only that one: the later rounds and the final flush fail because
        // it did.
        let files = old_files(dir.path(), 200);
        let setup = Setup {
            syncfs_fails_at: Some(2),
            ..Setup::REAL
        };
        let ((), failures) =
            Batch::run_with(Some(Flush::FileSystem), setup, files.len(), |batch| {
                files.iter().for_each(|file| hand_new(batch, file));
            });
        let mut failed: Vec<&Path> = failures.iter().map(|(path, _)| path.as_path()).collect();
        failed.sort();
        let later: Vec<&Path> = files[64..].iter().map(PathBuf::as_path).collect();
        assert_eq!(failed, later);
        for (_, error) in &failures {
            assert!(
                matches!(error, FsError::Io { action: "flushing", source, .. }
                    if source.raw_os_error() == Some(libc::EIO)),
                "{error:?}"
            );
        }
        for (i, file) in files.iter().enumerate() {
            let expected: &[u8] = if i < 64 { b"new" } else { b"old" };
            assert_eq!(fs::read(file).unwrap(), expected, "{}", file.display());
        }
        assert!(ours_left_in(dir.path()).is_empty());
    }

    #[test]
    fn a_batch_holds_a_bounded_number_of_replaced_files_open() {
        let dir = tempfile::tempdir().unwrap();
        // With no flusher thread there are no rounds: every file is renamed
        // at the end, and what those renames replace must not all be held.
        let files = old_files(dir.path(), 3 * HELD);
        let most: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        let setup = Setup {
            flushers: false,
            most_held: Some(most),
            ..Setup::REAL
        };
        let ((), failures) =
            Batch::run_with(Some(Flush::FileSystem), setup, files.len(), |batch| {
                files.iter().for_each(|file| hand_new(batch, file));
            });
        // Held past the bound by one round's renames at most, then freed.
        let most = most.load(Ordering::Relaxed);
        assert!(
            (HELD..=HELD + ROUND_FILES.end()).contains(&most),
            "{most} held at once"
        );
        assert!(failures.is_empty(), "{failures:?}");
        assert_all_new(dir.path(), &files);
    }

    #[test]
    fn a_batch_leaves_a_file_changed_before_its_rename_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, changed) = (dir.path().join("kept.yaml"), dir.path().join("edited.yaml"));
        fs::write(&kept, "old").unwrap();
        fs::write(&changed, "old").unwrap();
        // Flushed whole at the end, so the rename comes after the edit.
        let ((), failures) = Batch::run_flushing(Some(Flush::FileSystem), 2, |batch| {
            for file in [&kept, &changed] {
                let (_, stamp) = read_stamped(file, Cap::Manifest).unwrap();
                let written = batch.replace_if_unchanged(file, b"sealed", stamp).unwrap();
                assert!(written.leftovers.is_empty());
            }
            fs::write(&changed, "someone else's edit").unwrap();
        });
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, changed);
        assert!(matches!(failures[0].1, FsError::ChangedSinceRead { .. }));
        assert_eq!(fs::read_to_string(&changed).unwrap(), "someone else's edit");
        assert_eq!(fs::read_to_string(&kept).unwrap(), "sealed");
        assert!(ours_left_in(dir.path()).is_empty());

        // Changed before the batch even writes it: refused on the spot.
        let (_, stamp) = read_stamped(&kept, Cap::Manifest).unwrap();
        fs::write(&kept, "edited again").unwrap();
        let (refused, failures) = Batch::run(1, |batch| {
            batch.replace_if_unchanged(&kept, b"sealed again", stamp)
        });
        assert!(matches!(refused, Err(FsError::ChangedSinceRead { .. })));
        assert!(failures.is_empty());
        assert_eq!(fs::read_to_string(&kept).unwrap(), "edited again");
        assert!(ours_left_in(dir.path()).is_empty());
    }

    #[test]
    fn a_batch_sweeps_each_directory_once_and_says_so_on_its_first_write() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir
            .path()
            .join(leftover(TEMP_PREFIX, &dead_writer(), TEMP_SUFFIX));
        fs::write(&stale, b"half a sealed file").unwrap();
        let files: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("{i}"))).collect();
        for file in &files {
            fs::write(file, b"old").unwrap();
        }
        let (reports, failures) = Batch::run(files.len(), |batch| {
            files
                .iter()
                .map(|file| {
                    let (_, stamp) = read_stamped(file, Cap::Manifest).unwrap();
                    batch
                        .replace_if_unchanged(file, b"new", stamp)
                        .unwrap()
                        .leftovers
                })
                .collect::<Vec<_>>()
        });
        assert!(failures.is_empty());
        assert_eq!(reports[0].removed, vec![stale.clone()]);
        assert!(reports[1..].iter().all(Leftovers::is_empty), "{reports:?}");
        assert!(!stale.exists());
    }

    #[test]
    fn each_in_parallel_does_every_item_once() {
        for count in [0, 1, 2, FLUSHERS, 5 * FLUSHERS + 3] {
            let done = Mutex::new(Vec::new());
            let threads = Mutex::new(std::collections::HashSet::new());
            each_in_parallel((0..count).collect(), FLUSHERS, |i: usize| {
                locked(&done).push(i);
                locked(&threads).insert(std::thread::current().id());
            });
            let mut done = done.into_inner().unwrap();
            done.sort_unstable();
            assert_eq!(done, (0..count).collect::<Vec<_>>(), "{count} items");
            let threads = threads.into_inner().unwrap();
            // One item is done on the calling thread, several on several.
            if count == 1 {
                assert!(threads.contains(&std::thread::current().id()));
            }
            assert!(threads.len() <= FLUSHERS.min(count.max(1)), "{count} items");
        }
    }

    #[test]
    fn whole_file_systems_are_flushed_only_where_syncfs_is_trusted() {
        assert_eq!(kernel_version("6.1.0-18-amd64\n"), Some((6, 1)));
        assert_eq!(kernel_version("5.8.0"), Some((5, 8)));
        assert_eq!(kernel_version("4.19.325-fc"), Some((4, 19)));
        assert_eq!(kernel_version("garbage"), None);
        assert!((4, 19) < (5, 8) && (5, 10) >= (5, 8) && (6, 0) >= (5, 8));
        // procfs has no sync_fs: each file is flushed by itself.
        let proc = File::open("/proc").unwrap();
        assert_eq!(Flush::for_dir(&proc), Flush::EachFile);
    }

    #[test]
    fn write_new_is_0600_and_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.age");
        let written = write_new(&path, b"one", SECRET_MODE).unwrap();
        assert!(written.leftovers.is_empty());
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

        // A path that would leave the staging directory is refused.
        let escaping = StagedDir::new(&dir.path().join("third")).unwrap();
        for bad in ["", "/etc/passwd", "../x", "a/../../x"] {
            assert!(escaping.add(bad, b"x", SECRET_MODE).is_err(), "{bad:?}");
        }
        drop(escaping);
        assert!(!dir.path().join("x").exists());

        // A non-empty target is refused up front.
        assert!(matches!(
            StagedDir::new(&target),
            Err(FsError::DirectoryNotEmpty { .. })
        ));
    }

    /// A leftover name as `writer` would make it.
    fn leftover(prefix: &str, writer: &Writer, suffix: &str) -> String {
        format!("{prefix}{}-AbCd1234{suffix}", writer.tag())
    }

    /// This process under another start time: a pid that was reused.
    fn dead_writer() -> Writer {
        let me = Writer::current().expect("this test needs /proc");
        Writer {
            start: me.start + 1,
            ..me.clone()
        }
    }

    #[test]
    fn leftover_names_carry_the_writer_and_parse_back() {
        let me = Writer::current().expect("this test needs /proc");
        assert_eq!(me.pid, std::process::id());
        let name = leftover(TEMP_PREFIX, me, TEMP_SUFFIX);
        assert_eq!(
            leftover_name(&name),
            Some((LeftoverKind::TempFile, Some(me.clone())))
        );
        let name = leftover(STAGING_PREFIX, me, "");
        assert_eq!(
            leftover_name(&name),
            Some((LeftoverKind::StagingDir, Some(me.clone())))
        );
        // Names of another version (random only) are recognised, without a
        // writer; anything else is not ours at all.
        assert_eq!(
            leftover_name(".ceremony-x7Yz01.tmp"),
            Some((LeftoverKind::TempFile, None))
        );
        assert_eq!(
            leftover_name(".ceremony-staging-x7Yz01"),
            Some((LeftoverKind::StagingDir, None))
        );
        for other in [
            "ceremony-1-2-deadbeef-AbCd1234.tmp",
            ".ceremony-1-2-deadbeef-AbCd1234",
            "root.json",
        ] {
            assert_eq!(leftover_name(other), None, "{other}");
        }
        for bad in [
            "1-2-deadbeef-AbCd123",
            "1-2-DEADBEEF-AbCd1234",
            "+1-2-deadbeef-AbCd1234",
            "1-2-deadbeef-AbCd1234-5",
            "99999999999-2-deadbeef-AbCd1234",
            "2147483648-2-deadbeef-AbCd1234",
            "0-2-deadbeef-AbCd1234",
            "01-2-deadbeef-AbCd1234",
        ] {
            assert_eq!(Writer::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn proc_stat_is_read_from_the_last_parenthesis() {
        let fields: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        let line = format!("42 (a) (b c) {} {}\n", "S", fields[1..].join(" "));
        assert_eq!(parse_stat(&line), Some(('S', 22)));
        assert_eq!(parse_stat("42 (x) Z 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_write_removes_stale_leftovers_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let me = Writer::current().expect("this test needs /proc");
        let dead = dead_writer();
        // Stale and ours: removed, a staging directory with its contents.
        let stale_tmp = dir.path().join(leftover(TEMP_PREFIX, &dead, TEMP_SUFFIX));
        fs::write(&stale_tmp, b"half a sealed file").unwrap();
        let stale_dir = dir.path().join(leftover(STAGING_PREFIX, &dead, ""));
        fs::create_dir_all(stale_dir.join("shares")).unwrap();
        fs::write(stale_dir.join("shares/a.age"), b"x").unwrap();
        // pid 1 is running: kept.
        let init_start = parse_stat(&fs::read_to_string("/proc/1/stat").unwrap())
            .unwrap()
            .1;
        let running = Writer {
            pid: 1,
            start: init_start,
            host: me.host.clone(),
        };
        let live = dir
            .path()
            .join(leftover(TEMP_PREFIX, &running, TEMP_SUFFIX));
        fs::write(&live, b"").unwrap();
        // Another boot or pid namespace: kept.
        let elsewhere = Writer {
            host: "00000000".into(),
            ..dead.clone()
        };
        let other_host = dir.path().join(leftover(STAGING_PREFIX, &elsewhere, ""));
        fs::create_dir(&other_host).unwrap();
        // Of another version, not a regular file, or a symlink: kept, and
        // the symlink not followed.
        let untagged = dir.path().join(".ceremony-x7Yz01.tmp");
        fs::write(&untagged, b"").unwrap();
        let wrong_kind = dir.path().join(leftover(
            TEMP_PREFIX,
            &Writer {
                start: dead.start + 1,
                ..dead.clone()
            },
            TEMP_SUFFIX,
        ));
        fs::create_dir(&wrong_kind).unwrap();
        let precious = dir.path().join("precious");
        fs::create_dir(&precious).unwrap();
        fs::write(precious.join("keep"), b"k").unwrap();
        let link = dir.path().join(leftover(
            STAGING_PREFIX,
            &Writer {
                start: dead.start + 2,
                ..dead.clone()
            },
            "",
        ));
        std::os::unix::fs::symlink(&precious, &link).unwrap();

        let written = write_new(&dir.path().join("out"), b"new", PUBLIC_MODE).unwrap();
        let mut removed = vec![stale_tmp.clone(), stale_dir.clone()];
        removed.sort();
        assert_eq!(written.leftovers.removed, removed);
        // Each kept with the reason the operator is told.
        let mut kept = vec![
            Kept {
                path: live.clone(),
                why: KeptBecause::WriterMayBeRunning { pid: 1 },
            },
            Kept {
                path: other_host.clone(),
                why: KeptBecause::OtherHost,
            },
            Kept {
                path: untagged.clone(),
                why: KeptBecause::NoWriter,
            },
            Kept {
                path: wrong_kind.clone(),
                why: KeptBecause::WrongKind,
            },
            Kept {
                path: link.clone(),
                why: KeptBecause::WrongKind,
            },
        ];
        kept.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(written.leftovers.kept, kept);
        assert_eq!(written.old_content_links, 0);
        assert!(!stale_tmp.exists() && !stale_dir.exists());
        for k in &kept {
            assert!(k.path.symlink_metadata().is_ok(), "{}", k.path.display());
        }
        assert_eq!(fs::read(precious.join("keep")).unwrap(), b"k");

        // A staged directory sweeps too, and reports what it found.
        fs::write(&stale_tmp, b"again").unwrap();
        let staged = StagedDir::new(&dir.path().join("set")).unwrap();
        assert_eq!(staged.leftovers().removed, vec![stale_tmp.clone()]);
        assert_eq!(staged.leftovers().kept, kept);
        // Its own staging directory is named after this process, so a
        // concurrent write of this process leaves it alone.
        let staging: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                leftover_name(&e.file_name().to_string_lossy())
                    == Some((LeftoverKind::StagingDir, Some(me.clone())))
            })
            .collect();
        assert_eq!(staging.len(), 1);
        let again = write_new(&dir.path().join("out2"), b"x", PUBLIC_MODE).unwrap();
        assert!(again.leftovers.removed.is_empty());
        assert_eq!(again.leftovers.kept, kept);
        staged.commit().unwrap();

        // Merged over several writes, each leftover is listed once, and one
        // that a write removed is not also listed as kept by another.
        let mut all = written.leftovers.clone();
        all.merge(again.leftovers.clone());
        assert_eq!(all, written.leftovers);
        let mut first = Leftovers {
            removed: Vec::new(),
            kept: vec![Kept {
                path: stale_tmp.clone(),
                why: KeptBecause::WriterMayBeRunning { pid: 7 },
            }],
        };
        first.merge(Leftovers {
            removed: vec![stale_tmp.clone()],
            kept: kept.clone(),
        });
        assert_eq!(first.removed, vec![stale_tmp.clone()]);
        assert_eq!(first.kept, kept);
    }

    #[test]
    fn replacing_a_hard_linked_file_says_the_other_name_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.yaml");
        fs::write(&path, b"cleartext").unwrap();
        let (_, stamp) = read_stamped(&path, Cap::Manifest).unwrap();
        assert_eq!(stamp.hard_links(), 1);
        let written = replace_if_unchanged(&path, b"sealed", stamp).unwrap();
        assert_eq!(written.old_content_links, 0);

        let other = dir.path().join("backup.yaml");
        fs::hard_link(&path, &other).unwrap();
        let (_, stamp) = read_stamped(&path, Cap::Manifest).unwrap();
        assert_eq!(stamp.hard_links(), 2);
        let written = replace_if_unchanged(&path, b"sealed again", stamp).unwrap();
        assert_eq!(written.old_content_links, 1);
        assert_eq!(
            fs::read(&other).unwrap(),
            b"sealed",
            "the other name is not replaced"
        );
        let written = replace(&other, b"x", SECRET_MODE).unwrap();
        assert_eq!(written.old_content_links, 0);
    }

    /// A file whose writes, flushes and truncation fail on demand.
    #[derive(Default)]
    struct Flaky {
        bytes: std::cell::RefCell<Vec<u8>>,
        /// Accept this many bytes, then fail every write.
        room: Option<usize>,
        /// Fail this many flushes.
        fail_flush: std::cell::Cell<u32>,
        fail_cut: bool,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = match self.room {
                Some(0) => return Err(std::io::Error::from_raw_os_error(libc::ENOSPC)),
                Some(room) => room.min(buf.len()),
                None => buf.len(),
            };
            self.room = self.room.map(|r| r - n);
            self.bytes.borrow_mut().extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl AppendTarget for Flaky {
        fn flush_to_disk(&self) -> std::io::Result<()> {
            let left = self.fail_flush.get();
            if left == 0 {
                return Ok(());
            }
            self.fail_flush.set(left - 1);
            Err(std::io::Error::from_raw_os_error(libc::EIO))
        }
        fn cut_to(&self, len: u64) -> std::io::Result<()> {
            if self.fail_cut {
                return Err(std::io::Error::from_raw_os_error(libc::EIO));
            }
            self.bytes.borrow_mut().truncate(len as usize);
            Ok(())
        }
    }

    impl Flaky {
        /// Appends `line` to a file holding one line; returns what the
        /// file holds afterwards.
        fn run(mut self, line: &[u8]) -> (Vec<u8>, Result<(), AppendFailure>) {
            let before = b"line 1\n";
            *self.bytes.borrow_mut() = before.to_vec();
            let result = append_or_restore(&mut self, before.len() as u64, line);
            (self.bytes.into_inner(), result)
        }
    }

    #[test]
    fn a_failed_append_or_flush_is_cut_back() {
        let line = b"line 2\n";
        let (bytes, result) = Flaky::default().run(line);
        assert!(result.is_ok());
        assert_eq!(bytes, b"line 1\nline 2\n");
        // A short write, then a full disk.
        let (bytes, result) = Flaky {
            room: Some(3),
            ..Flaky::default()
        }
        .run(line);
        assert!(
            matches!(result, Err(AppendFailure::Undone(ref e)) if e.raw_os_error() == Some(libc::ENOSPC))
        );
        assert_eq!(bytes, b"line 1\n");
        // The write went through but the flush failed: cut back too, since
        // what reached the disk is unknown.
        let (bytes, result) = Flaky {
            fail_flush: std::cell::Cell::new(1),
            ..Flaky::default()
        }
        .run(line);
        assert!(
            matches!(result, Err(AppendFailure::Undone(ref e)) if e.raw_os_error() == Some(libc::EIO))
        );
        assert_eq!(bytes, b"line 1\n");
        // Cutting back fails, or its flush does: said, not hidden.
        for flaky in [
            Flaky {
                room: Some(3),
                fail_cut: true,
                ..Flaky::default()
            },
            Flaky {
                fail_flush: std::cell::Cell::new(2),
                ..Flaky::default()
            },
        ] {
            let (_, result) = flaky.run(line);
            assert!(
                matches!(result, Err(AppendFailure::Torn { .. })),
                "{result:?}"
            );
        }
    }

    #[test]
    fn locked_append_refuses_what_is_not_a_regular_file_and_reads_through_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Refused, and without waiting for a writer.
        assert!(matches!(
            LockedAppend::open(&fifo, PUBLIC_MODE, Cap::Transcript),
            Err(FsError::NotRegular { kind: "FIFO", .. })
        ));
        assert!(matches!(
            LockedAppend::open(Path::new("/dev/null"), PUBLIC_MODE, Cap::Transcript),
            Err(FsError::NotRegular {
                kind: "character device",
                ..
            })
        ));
        assert!(matches!(
            LockedAppend::open(dir.path(), PUBLIC_MODE, Cap::Transcript),
            Err(FsError::NotRegular {
                kind: "directory",
                ..
            })
        ));
        let file = dir.path().join("t.jsonl");
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(
            LockedAppend::open(&link, PUBLIC_MODE, Cap::Transcript),
            Err(FsError::NotRegular {
                kind: "symbolic link",
                ..
            })
        ));
        assert!(!file.exists(), "the symlink was not followed");

        // Read and appended up to the cap, never past it.
        let limit = Cap::Secret.bytes() as usize;
        fs::write(&file, "a".repeat(limit - 2) + "\n").unwrap();
        let locked = LockedAppend::open(&file, PUBLIC_MODE, Cap::Secret).unwrap();
        assert_eq!(locked.contents().len(), limit - 1);
        assert!(matches!(
            locked.append("bc\n"),
            Err(FsError::TooLarge { .. })
        ));
        let locked = LockedAppend::open(&file, PUBLIC_MODE, Cap::Secret).unwrap();
        locked.append("\n").unwrap();
        assert_eq!(fs::metadata(&file).unwrap().len(), limit as u64);
        fs::write(&file, "a".repeat(limit + 1)).unwrap();
        assert!(matches!(
            LockedAppend::open(&file, PUBLIC_MODE, Cap::Secret),
            Err(FsError::TooLarge { .. })
        ));
        fs::write(&file, b"\xff\n").unwrap();
        assert!(LockedAppend::open(&file, PUBLIC_MODE, Cap::Secret).is_err());
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
