//! A step's product: what a `run` step with `stdout = FILE` prints (an
//! emitted Secret, a receipt), kept in that file.
//!
//! It is kept only when the step succeeded as the script expects (exit 0),
//! owner-only, and never over an existing file: a failed step or a full
//! disk leaves no file, or a half-written one, that someone could take for
//! the product.

use std::path::Path;

/// The most a step's product may hold (an emitted Secret is a few KiB);
/// the output is read up to one byte more, to tell.
pub const MAX_PRODUCT_BYTES: u64 = 16 << 20;

/// Why the step cannot run with `target` as its product's file, if it
/// cannot: checked before the step runs.
pub fn product_target_problem(target: &Path) -> Option<String> {
    target.exists().then(|| {
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

/// Keeps `captured`, the step's output, in `target` if the step exited
/// with `expect` and that is 0; the problem, in words, when it cannot be
/// kept (too large, or the write failed: nothing is left behind then).
pub fn keep_product(
    target: &Path,
    captured: &[u8],
    exit_code: u8,
    expect: u8,
) -> Result<Kept, String> {
    if captured.len() as u64 > MAX_PRODUCT_BYTES {
        return Err(format!(
            "its output is larger than {MAX_PRODUCT_BYTES} bytes"
        ));
    }
    if exit_code != expect || exit_code != 0 {
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

    #[test]
    fn a_product_is_kept_only_after_success_owner_only_and_never_over_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret.yaml");
        assert_eq!(product_target_problem(&target), None);
        assert_eq!(
            keep_product(&target, b"kind: Secret\n", 1, 0),
            Ok(Kept::NotWritten)
        );
        assert_eq!(
            keep_product(&target, b"kind: Secret\n", 3, 3),
            Ok(Kept::NotWritten)
        );
        assert!(!target.exists(), "a failed step leaves no file");
        assert_eq!(
            keep_product(&target, b"kind: Secret\n", 0, 0),
            Ok(Kept::Written)
        );
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&target).unwrap(), b"kind: Secret\n");
        assert!(
            product_target_problem(&target)
                .unwrap()
                .contains("already exists")
        );
        let again = keep_product(&target, b"other\n", 0, 0).unwrap_err();
        assert!(again.contains("could not be written"), "{again}");
        assert_eq!(std::fs::read(&target).unwrap(), b"kind: Secret\n");
    }

    #[test]
    fn a_product_too_large_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("big");
        let big = vec![b'x'; MAX_PRODUCT_BYTES as usize + 1];
        let problem = keep_product(&target, &big, 0, 0).unwrap_err();
        assert!(problem.contains("larger than"), "{problem}");
        assert!(!target.exists());
    }
}
