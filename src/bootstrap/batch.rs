//! Running a per-file operation over many files.
//!
//! Files are independent, so one thread per core works through them.
//! Work that rewrites files ([`run_writing`]) hands each new file to one
//! [`fsio::Batch`], whose own threads flush and rename them, many at a
//! time, while these threads go on sealing; each directory is flushed once
//! for the whole batch, and no file counts as done before its directory
//! is. Every file is all-or-nothing by itself; one
//! that fails is left as it was and the others still go through. The
//! outcomes come back in input order, and [`Summary`] turns them into the
//! command's result: success only if none failed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Error;
use super::seal::Done;
use crate::fsio::{self, Leftovers, Written};
use crate::walk::{Skipped, Target};

/// What happened to one file.
#[derive(Debug)]
pub enum Outcome {
    /// Changed (sealed, updated, rotated, opened), and what its write found
    /// ([`Written::default`] where nothing was written in place).
    Done(Written),
    /// Changed, and given a new data key because it lost a recipient; and
    /// what its write found.
    Rekeyed(Written),
    /// Nothing to do.
    Unchanged,
    /// Not a file this command works on.
    Skipped(String),
    /// Failed; the file was left untouched.
    Failed(Error),
}

impl From<Result<Done, Error>> for Outcome {
    fn from(result: Result<Done, Error>) -> Self {
        match result {
            Ok(Done::Changed(written)) => Outcome::Done(written),
            Ok(Done::Rekeyed(written)) => Outcome::Rekeyed(written),
            Ok(Done::Unchanged) => Outcome::Unchanged,
            Ok(Done::Skipped(reason)) => Outcome::Skipped(reason),
            Err(e) => Outcome::Failed(e),
        }
    }
}

/// Runs `work` on every target, calling `progress` after each file, and
/// returns the outcomes in target order. For work that writes nothing
/// (opening files); work that rewrites files goes through [`run_writing`].
pub fn run<F>(targets: &[Target], work: F, progress: &(dyn Fn() + Sync)) -> Vec<Outcome>
where
    F: Fn(usize, &Target) -> Outcome + Sync,
{
    run_on(targets, work, progress, cores())
}

/// Runs `work` on every target (one thread per core) inside one
/// [`fsio::Batch`], which flushes and renames the files `work` hands it
/// and flushes each directory once, before this returns: a file reported
/// [`Outcome::Done`] or [`Outcome::Rekeyed`] is durable. A file whose
/// flush, last check or rename failed after `work` handed it over is
/// reported failed, with that error.
pub fn run_writing<F>(targets: &[Target], work: F, progress: &(dyn Fn() + Sync)) -> Vec<Outcome>
where
    F: Fn(usize, &Target, &fsio::Batch) -> Outcome + Sync,
{
    let (mut outcomes, failed) = fsio::Batch::run(targets.len(), |writes| {
        run_on(
            targets,
            |i, target| work(i, target, writes),
            progress,
            cores(),
        )
    });
    let mut failed: HashMap<PathBuf, fsio::FsError> = failed.into_iter().collect();
    if !failed.is_empty() {
        for (target, outcome) in targets.iter().zip(outcomes.iter_mut()) {
            if matches!(outcome, Outcome::Done(_) | Outcome::Rekeyed(_)) {
                if let Some(error) = failed.remove(&target.path) {
                    *outcome = Outcome::Failed(Error::Fs(error));
                }
            }
        }
    }
    outcomes
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

fn run_on<F>(
    targets: &[Target],
    work: F,
    progress: &(dyn Fn() + Sync),
    threads: usize,
) -> Vec<Outcome>
where
    F: Fn(usize, &Target) -> Outcome + Sync,
{
    let slots: Vec<Mutex<Option<Outcome>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = threads.max(1).min(targets.len().max(1));
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (Some(target), Some(slot)) = (targets.get(i), slots.get(i)) else {
                break;
            };
            let outcome = work(i, target);
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(outcome);
            }
            progress();
        }
    };
    std::thread::scope(|scope| {
        // This thread is one of the workers; a thread the system will not
        // start is one fewer, and the others do its share.
        for _ in 1..workers {
            let _ = std::thread::Builder::new().spawn_scoped(scope, worker);
        }
        worker();
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten().unwrap_or_else(worker_lost))
        .collect()
}

/// A worker thread panicked before it stored its outcome. The library
/// never panics on input; this keeps even a bug from passing as success.
fn worker_lost() -> Outcome {
    Outcome::Failed(Error::Batch {
        failed: 1,
        total: 1,
        class: crate::class::Class::Internal,
    })
}

/// A tree command's result, file by file.
#[derive(Debug, Default)]
pub struct Summary {
    /// Files changed.
    pub done: Vec<Target>,
    /// Of those, the files that lost a recipient and got a new data key.
    pub rekeyed: Vec<Target>,
    /// Files with nothing to do.
    pub unchanged: Vec<Target>,
    /// Entries passed over, with the reason (from the walk and the work).
    pub skipped: Vec<Skipped>,
    /// Files that failed, with the error; each was left as it was.
    pub failed: Vec<(Target, Error)>,
    /// Leftovers of killed runs that the writes found beside the files,
    /// each once.
    pub leftovers: Leftovers,
    /// Files changed whose other names (hard links) still hold the old
    /// content, with how many there are: the change did not reach them.
    pub other_names: Vec<(Target, u64)>,
}

impl Summary {
    /// Sorts outcomes into the summary, after the walk's own skipped list.
    pub fn new(targets: &[Target], outcomes: Vec<Outcome>, walk_skipped: Vec<Skipped>) -> Self {
        let mut summary = Summary {
            skipped: walk_skipped,
            ..Summary::default()
        };
        for (target, outcome) in targets.iter().zip(outcomes) {
            match outcome {
                Outcome::Done(written) => summary.add_done(target, written),
                Outcome::Rekeyed(written) => {
                    summary.add_done(target, written);
                    summary.rekeyed.push(target.clone());
                }
                Outcome::Unchanged => summary.unchanged.push(target.clone()),
                Outcome::Skipped(reason) => summary.skipped.push(Skipped {
                    path: target.path.clone(),
                    reason,
                }),
                Outcome::Failed(e) => summary.failed.push((target.clone(), e)),
            }
        }
        summary
    }

    /// A changed file, and what its write found.
    fn add_done(&mut self, target: &Target, written: Written) {
        self.leftovers.merge(written.leftovers);
        if written.old_content_links > 0 {
            self.other_names
                .push((target.clone(), written.old_content_links));
        }
        self.done.push(target.clone());
    }

    /// Success, or [`Error::Batch`] with the class of the first failure.
    pub fn result(&self) -> Result<(), Error> {
        match self.failed.first() {
            None => Ok(()),
            Some((_, first)) => Err(Error::Batch {
                failed: self.failed.len(),
                total: self.done.len() + self.unchanged.len() + self.failed.len(),
                class: first.class(),
            }),
        }
    }
}
