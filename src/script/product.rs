//! A step's product: what a `run` step with `stdout = FILE` prints (an
//! emitted Secret, a receipt), kept in that file.
//!
//! It is kept only when the step succeeded as the script expects (exit 0)
//! and left its own record in the transcript, owner-only, and never over
//! an existing file (nor a symbolic link): a failed step or a full disk
//! leaves no file, or a half-written one, that someone could take for the
//! product.

use std::path::Path;

/// The most a step's product may hold (an emitted Secret is a few KiB);
/// the output is read up to one byte more, to tell.
pub const MAX_PRODUCT_BYTES: u64 = 16 << 20;

/// Why the step cannot run with `target` as its product's file, if it
/// cannot: checked before the step runs.
pub fn product_target_problem(target: &Path) -> Option<String> {
    // Not `exists()`, which follows a link: a dangling link would pass,
    // and the product be refused only after the step ran.
    std::fs::symlink_metadata(target).is_ok().then(|| {
        format!(
            "{} already exists: the step writes a new file, never over one",
            target.display()
        )
    })
}

/// What became of a step's product.
#[derive(Debug, PartialEq, Eq)]
pub enum Kept {
    /// Written to its file.
    Written,
    /// Not written: the step did not succeed as expected.
    NotWritten,
}

/// How a step's command ended, as far as its product goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepEnd {
    /// The exit code it ended with.
    pub exit_code: u8,
    /// The exit code the script expects.
    pub expect: u8,
    /// Whether it left its own record in the transcript.
    pub recorded: bool,
}

/// Keeps `captured`, the step's output, in `target` if the step exited
/// with `expect`, that is 0, and it left its record; the problem, in
/// words, when it cannot be kept (too large, or the write failed: nothing
/// is left behind then).
pub fn keep_product(target: &Path, captured: &[u8], end: StepEnd) -> Result<Kept, String> {
    if captured.len() as u64 > MAX_PRODUCT_BYTES {
        return Err(format!(
            "its output is larger than {MAX_PRODUCT_BYTES} bytes"
        ));
    }
    if end.exit_code != end.expect || end.exit_code != 0 || !end.recorded {
        return Ok(Kept::NotWritten);
    }
    crate::fsio::write_new(target, captured, 0o600)
        .map(|_| Kept::Written)
        .map_err(|e| {
            format!(
                "its output could not be written: {}",
                crate::error::chain_text(&e)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn ended(exit_code: u8, expect: u8, recorded: bool) -> StepEnd {
        StepEnd {
            exit_code,
            expect,
            recorded,
        }
    }

    #[test]
    fn a_product_is_kept_only_after_success_owner_only_and_never_over_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret.yaml");
        let product = b"kind: Secret\n";
        assert_eq!(product_target_problem(&target), None);
        for end in [ended(1, 0, true), ended(3, 3, true), ended(0, 0, false)] {
            assert_eq!(keep_product(&target, product, end), Ok(Kept::NotWritten));
        }
        assert!(
            !target.exists(),
            "a step that failed or left no record leaves no file"
        );
        assert_eq!(
            keep_product(&target, product, ended(0, 0, true)),
            Ok(Kept::Written)
        );
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&target).unwrap(), product);
        assert!(
            product_target_problem(&target)
                .unwrap()
                .contains("already exists")
        );
        let again = keep_product(&target, b"other\n", ended(0, 0, true)).unwrap_err();
        assert!(again.contains("could not be written"), "{again}");
        assert_eq!(std::fs::read(&target).unwrap(), product);
    }

    #[test]
    fn a_dangling_link_at_the_target_is_refused_before_the_step_runs() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret.yaml");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &target).unwrap();
        assert!(
            product_target_problem(&target)
                .unwrap()
                .contains("already exists")
        );
    }

    #[test]
    fn a_product_too_large_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("big");
        let big = vec![b'x'; MAX_PRODUCT_BYTES as usize + 1];
        let problem = keep_product(&target, &big, ended(0, 0, true)).unwrap_err();
        assert!(problem.contains("larger than"), "{problem}");
        assert!(!target.exists());
    }
}
