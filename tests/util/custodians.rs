//! Custodians and the root made from them: the set-up most tests start
//! from, each step written once.
//!
//! [`write_custodians`] makes every custodian's key with the real tool and
//! writes the custodians file; [`root_init`] runs `ceremony root init` on a
//! fake system root; [`offline_root`] does both for the usual three age
//! custodians; [`rebuild_secret`] rebuilds a root secret from a quorum's
//! bundles with the library, as `root emit` would.

use std::path::{Path, PathBuf};

use ceremony::root::RootKey;
use ceremony::root::{self, RootManifest, RootSecret};
use ceremony::secret::SecretBytes;

use super::{Run, Scratch, fake_system};

/// How a custodian's share is encrypted to them.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    /// An age identity `NAME.key` made by `age-keygen`.
    Age,
    /// An unencrypted ssh-ed25519 key `NAME` / `NAME.pub` made by `ssh-keygen`.
    Ssh,
    /// A passphrase, typed at the prompt (`passphrase = true`).
    Passphrase,
}

/// Makes each custodian's key in the scratch directory and writes `file`:
/// `header` (a `[threshold]` table, or nothing), then one `[[custodian]]`
/// table per custodian, in order.
pub fn write_custodians(s: &Scratch, file: &str, header: &str, custodians: &[(&str, Key)]) {
    let mut text = String::from(header);
    for (name, key) in custodians {
        if !text.is_empty() {
            text.push('\n');
        }
        let line = match key {
            Key::Age => format!("age = \"{}\"", s.age_key(name)),
            Key::Ssh => format!("ssh = \"{}\"", s.ssh_key(name)),
            Key::Passphrase => "passphrase = true".to_owned(),
        };
        text.push_str(&format!("[[custodian]]\nname = \"{name}\"\n{line}\n"));
    }
    s.write(file, text);
}

/// `ceremony root init --custodians custodians.toml --threshold 2 --out OUT
/// --system-root SYSTEM`, then `extra`.
pub fn root_init(s: &Scratch, out: &str, system: &Path, extra: &[&str]) -> Run {
    let system = system.to_str().expect("utf-8 path");
    let mut args = vec![
        "root",
        "init",
        "--yes",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        out,
        "--system-root",
        system,
    ];
    args.extend_from_slice(extra);
    s.ceremony(&args)
}

/// alice, bob and carol, each with an age key, and a root made from them
/// two of three, offline (an air-gapped fake system root), in `root/`:
/// `root init` with `extra` must succeed. Returns the system root.
pub fn offline_root(s: &Scratch, extra: &[&str]) -> PathBuf {
    write_custodians(
        s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Age), ("carol", Key::Age)],
    );
    let system = fake_system(s.dir.path(), false);
    root_init(s, "root", &system, extra).success();
    system
}

/// The manifest of the root in `dir` (`DIR/root.json`).
pub fn root_manifest(s: &Scratch, dir: &str) -> RootManifest {
    RootManifest::from_json(&s.read(&format!("{dir}/root.json"))).expect("root.json")
}

/// Rebuilds `which` of the root in `dir` with the library, as a quorum
/// would: each `(custodian, identity file)` opens `DIR/shares/CUSTODIAN.age`.
pub fn rebuild_secret(
    s: &Scratch,
    dir: &str,
    which: RootSecret,
    quorum: &[(&str, &str)],
) -> SecretBytes {
    let manifest = root_manifest(s, dir);
    let mut bundles = Vec::new();
    for (name, key) in quorum {
        let file = format!("{dir}/shares/{name}.age");
        let ids =
            ceremony::identity::parse_identity_file(key, &s.read(key), age::NoCallbacks).unwrap();
        let bundle = root::open_bundle(&file, &s.read(&file), &ids, &|_| None).unwrap();
        bundles.push((file, bundle));
    }
    // Rebuilding needs the preflight gate; the override is what a test
    // machine (online) needs, exactly as `--allow-online` gives it.
    let gate = ceremony::preflight::run(&ceremony::preflight::Options {
        allow_online: true,
        harden_process: false,
        ..Default::default()
    })
    .gate()
    .unwrap();
    fn bytes<K: RootKey>(
        body: &root::RootBody,
        bundles: &[(String, root::Bundle)],
        gate: &ceremony::preflight::AirGapped,
    ) -> SecretBytes {
        root::rebuild::<K>(body, bundles, gate)
            .unwrap()
            .as_array()
            .to_secret_bytes()
    }
    match which {
        RootSecret::Bootstrap => bytes::<root::BootstrapKey>(&manifest.body, &bundles, &gate),
        RootSecret::Unseal => bytes::<root::UnsealKey>(&manifest.body, &bundles, &gate),
        RootSecret::Signing => bytes::<root::SigningSeed>(&manifest.body, &bundles, &gate),
    }
}

/// The bootstrap age identity of rebuilt bootstrap key bytes.
pub fn bootstrap_key(bytes: &SecretBytes) -> root::BootstrapKey {
    root::BootstrapKey::from_array(
        ceremony::secret::SecretArray::from_slice(bytes.expose_secret()).unwrap(),
    )
}
