//! Running a per-file operation over many files.
//!
//! Files are independent, so a few threads work through them (each file
//! costs an age wrap and an fsync, and the threads hide the fsync latency).
//! Every file is all-or-nothing by itself; one that fails is left as it
//! was and the others still go through. The outcomes come back in input
//! order, and [`Summary`] turns them into the command's result: success
//! only if none failed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Error;
use super::seal::Done;
use crate::fsio::{Leftovers, Written};
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
/// returns the outcomes in target order.
pub fn run<F>(targets: &[Target], work: F, progress: &(dyn Fn() + Sync)) -> Vec<Outcome>
where
    F: Fn(usize, &Target) -> Outcome + Sync,
{
    let slots: Vec<Mutex<Option<Outcome>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(targets.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
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
            });
        }
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
