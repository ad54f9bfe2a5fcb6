//! The SOPS test vectors kept in the repository, and the real `sops`.
//!
//! The vectors in `tests/vectors/sops` were made by the real sops 3.11 and
//! age (its README says how; `make.sh` there makes them again); the test
//! keys that open them are beside them.

use std::path::{Path, PathBuf};
use std::process::Command;

use ceremony::sops::{self, Identity};

use super::{Run, hermetic, require};

/// The recipient of the test key `key1.agekey`.
pub const R1: &str = "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q";
/// The recipient of the test key `key2.agekey`.
pub const R2: &str = "age12a458a4jmra67m0zqq2hku42sklv57z02ga5n8zht3fegthlxp6qw2cx9n";

/// `tests/vectors/sops`, found from the package root so that a clone of the
/// repository alone runs the tests.
pub fn sops_vectors_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops"))
}

/// One file of [`sops_vectors_dir`].
pub fn sops_vector(name: &str) -> PathBuf {
    sops_vectors_dir().join(name)
}

/// The bytes of one vector, failing the test with its path if unreadable.
pub fn read_sops_vector(name: &str) -> Vec<u8> {
    let path = sops_vector(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read vector {}: {e}", path.display()))
}

/// `expected.json`: the known answers for every `*.enc.*` vector, written by
/// `verify_fixtures.py` without sops (data key, Shamir shares, MAC
/// plaintext, every value with its AAD and type).
pub fn sops_expected() -> serde_json::Value {
    serde_json::from_slice(&read_sops_vector("expected.json")).expect("expected.json")
}

/// The identities of one of the vectors' key files (`key1.agekey`, …).
pub fn sops_identities(key_file: &str) -> Vec<Identity> {
    ceremony::identity::parse_identity_file(key_file, &read_sops_vector(key_file), age::NoCallbacks)
        .unwrap()
}

/// [`sops_identities`], each with the public key it answers to.
pub fn sops_keyring(key_file: &str) -> ceremony::identity::Keyring {
    ceremony::identity::Keyring::parse_identity_file(
        key_file,
        &read_sops_vector(key_file),
        age::NoCallbacks,
    )
    .unwrap()
}

/// Key groups of recipients (`shamir_threshold` as sops records it).
pub fn key_groups(groups: &[&[&str]], shamir_threshold: usize) -> sops::KeyGroups {
    let parsed = groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|r| sops::Recipient::parse(r).unwrap())
                .collect()
        })
        .collect();
    sops::KeyGroups::new(parsed, shamir_threshold).unwrap()
}

/// Runs the real sops in `dir`, away from any key store of the machine:
/// its only identity is the vectors' `key` file (`SOPS_AGE_KEY_FILE`), or
/// none.
pub fn run_sops(dir: &Path, key: Option<&str>, args: &[&str]) -> Run {
    require("sops");
    let mut cmd = Command::new("sops");
    hermetic(&mut cmd, dir)
        .args(args)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("XDG_CONFIG_HOME", dir)
        .stdin(std::process::Stdio::null());
    if let Some(k) = key {
        cmd.env("SOPS_AGE_KEY_FILE", sops_vector(k));
    }
    let output = cmd.output().expect("run sops");
    Run {
        description: format!("{cmd:?}"),
        output,
    }
}
