//! A root's history through the command line: rotations, reshares and
//! retirements make new versions that `root verify` checks from the first
//! one; a missing, reordered, stray or wrongly signed version is refused.

use ceremony::root::RootManifest;

use crate::util::custodians::{Key, offline_root, write_custodians};
use crate::util::{Run, Scratch};

/// `ceremony root COMMAND --yes --root root EXTRA <bundles of quorum> …`.
fn change(s: &Scratch, system: &str, command: &str, extra: &[&str], quorum: &[&str]) -> Run {
    let mut args = vec!["root", command, "--yes", "--root", "root"];
    args.extend_from_slice(extra);
    let files: Vec<(String, String)> = quorum
        .iter()
        .map(|n| (format!("root/shares/{n}.age"), format!("{n}.key")))
        .collect();
    for (bundle, key) in &files {
        args.extend([bundle.as_str(), "-i", key.as_str()]);
    }
    args.extend(["--system-root", system]);
    s.ceremony(&args)
}

/// A root at version 4: unseal key rotated, retired, then bootstrap and
/// signing keys rotated together. Returns the system root.
fn rotated_root(s: &Scratch) -> String {
    let system = offline_root(s, &[]);
    let system = system.to_str().unwrap().to_owned();
    std::fs::copy(s.path("root/root.json"), s.path("first.json")).unwrap();
    let q = ["alice", "carol"];
    change(
        s,
        &system,
        "rotate",
        &["--key", "unseal-key", "--note", "drill"],
        &q,
    )
    .success();
    change(s, &system, "retire", &["--key", "unseal-key"], &q).success();
    change(
        s,
        &system,
        "rotate",
        &["--key", "bootstrap-key", "--key", "signing-key"],
        &q,
    )
    .success();
    system
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn every_version_verifies_from_the_first_and_old_bundles_stop_counting() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap();
    std::fs::copy(s.path("root/root.json"), s.path("first.json")).unwrap();
    std::fs::create_dir(s.path("v1")).unwrap();
    for name in ["alice", "bob"] {
        std::fs::copy(
            s.path(&format!("root/shares/{name}.age")),
            s.path(&format!("v1/{name}.age")),
        )
        .unwrap();
    }
    // A transcript signed with the first signing key.
    s.ceremony(&["--transcript", "t.jsonl", "root", "verify", "root"])
        .success();
    s.ceremony(&[
        "transcript",
        "sign",
        "t.jsonl",
        "--root",
        "root",
        "root/shares/alice.age",
        "-i",
        "alice.key",
        "root/shares/bob.age",
        "-i",
        "bob.key",
        "--system-root",
        system,
    ])
    .success();

    // Times are whole seconds: the rotation comes a second after the
    // signature, as it does in any real ceremony.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let q = ["alice", "carol"];
    let run = change(&s, system, "rotate", &["--key", "signing-key"], &q).success();
    assert!(
        run.stderr_text()
            .contains("version 1 → 2: rotate-signing-key")
    );
    // Bob lost his key: he gets a new one, the others keep theirs.
    let mut custodians = String::from_utf8(s.read("custodians.toml")).unwrap();
    let new_bob = s.age_key("bob2");
    let bob_line = custodians
        .lines()
        .skip_while(|l| *l != "name = \"bob\"")
        .nth(1)
        .unwrap()
        .to_owned();
    custodians = custodians.replace(&bob_line, &format!("age = \"{new_bob}\""));
    s.write("custodians-2.toml", custodians);
    change(
        &s,
        system,
        "reshare",
        &["--custodians", "custodians-2.toml"],
        &q,
    )
    .success();

    let verified = s
        .ceremony(&[
            "root",
            "verify",
            "root",
            "--anchor",
            "first.json",
            "--head",
            &sha256(&s.read("root/root.json")),
        ])
        .success()
        .stdout_text();
    assert!(verified.contains("version 2 (rotate-signing-key) follows version 1"));
    assert!(verified.contains("version 3 (reshare) follows version 2"));
    assert!(verified.contains("✓ anchor first.json"));
    assert!(verified.contains("✓ head"));
    let shown = s
        .ceremony(&["root", "show", "root"])
        .success()
        .stdout_text();
    assert_eq!(shown.matches("    version ").count(), 3, "{shown}");

    // Bob's new key opens his new bundle; his old key does not.
    s.tool(
        "age",
        &[
            "-d",
            "-i",
            "bob2.key",
            "-o",
            "/dev/null",
            "root/shares/bob.age",
        ],
    )
    .success();
    assert_ne!(
        s.tool(
            "age",
            &[
                "-d",
                "-i",
                "bob.key",
                "-o",
                "/dev/null",
                "root/shares/bob.age"
            ]
        )
        .code(),
        0
    );
    // Bundles of version 1 no longer count.
    s.ceremony(&[
        "root",
        "emit",
        "openbao-static-seal",
        "--root",
        "root",
        "v1/alice.age",
        "-i",
        "alice.key",
        "v1/bob.age",
        "-i",
        "bob.key",
        "--system-root",
        system,
    ])
    .fails_with(
        4,
        "made for version 1 of the root, which is now at version 3",
    );
    // The transcript signed by the first key still verifies, and says so.
    let report = s
        .ceremony(&["transcript", "verify", "t.jsonl", "--root", "root"])
        .success()
        .stdout_text();
    assert!(
        report.contains("version 1, replaced in version 2"),
        "{report}"
    );
    // A head from the log that is not this root.json's.
    s.ceremony(&["root", "verify", "root", "--head", &"0".repeat(64)])
        .fails_with(4, "not the version the log names");
}

#[test]
fn a_missing_version_is_refused() {
    let s = Scratch::new();
    rotated_root(&s);
    std::fs::remove_file(s.path("root/history/root.2.json")).unwrap();
    s.ceremony(&["root", "verify", "root"])
        .fails_with(4, "history/root.2.json is missing");
    // Every command that loads the root refuses it too.
    s.ceremony(&["root", "show", "root"])
        .fails_with(4, "history/root.2.json is missing");
}

#[test]
fn reordered_versions_are_refused() {
    let s = Scratch::new();
    rotated_root(&s);
    let (one, two) = (
        s.read("root/history/root.1.json"),
        s.read("root/history/root.2.json"),
    );
    s.write("root/history/root.1.json", &two);
    s.write("root/history/root.2.json", &one);
    s.ceremony(&["root", "verify", "root"])
        .fails_with(4, "history/root.1.json holds version 2");
}

#[test]
fn a_stray_history_file_is_refused() {
    let s = Scratch::new();
    rotated_root(&s);
    std::fs::copy(s.path("root/root.json"), s.path("root/history/root.9.json")).unwrap();
    s.ceremony(&["root", "verify", "root"]).fails_with(
        4,
        "history/root.9.json is not a version before the current one",
    );
}

#[test]
fn a_version_dropped_from_the_middle_is_refused() {
    // Version 3 renumbered as 2 after 1: its hash link names the real 2.
    let s = Scratch::new();
    rotated_root(&s);
    std::fs::remove_file(s.path("root/history/root.3.json")).unwrap();
    s.ceremony(&["root", "verify", "root"])
        .fails_with(4, "history/root.3.json is missing");
}

#[test]
fn a_wrongly_signed_version_is_refused() {
    let s = Scratch::new();
    rotated_root(&s);
    let attacker = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let current = RootManifest::from_json(&s.read("root/root.json")).unwrap();

    // Signed by another key under the root's own public key.
    let mut body = current.body.clone();
    body.lineage.as_mut().unwrap().note = Some("edited".into());
    s.write(
        "root/root.json",
        body.sign(&attacker, Some(&attacker)).to_json(),
    );
    s.ceremony(&["root", "verify", "root"])
        .fails_with(4, "does not verify");

    // A successor that hands the root to the attacker's key, signed by it
    // twice: the previous version's key never endorsed it.
    let previous = s.read("root/history/root.3.json");
    let mut taken = RootManifest::from_json(&previous).unwrap().body;
    taken.format = "ceremony.root.v2".into();
    taken.lineage = Some(ceremony::root::manifest::Link {
        version: 4,
        previous: ceremony::root::manifest::PreviousVersion {
            version: 3,
            sha256: sha256(&previous),
        },
        changes: vec![ceremony::root::Change::RotateSigningKey],
        note: None,
    });
    taken.signing_public_key = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(attacker.verifying_key().to_bytes())
    };
    s.write(
        "root/root.json",
        taken.sign(&attacker, Some(&attacker)).to_json(),
    );
    s.ceremony(&["root", "verify", "root"]).fails_with(
        4,
        "is not signed by the signing key of the version before it",
    );
}

#[test]
fn an_anchor_of_another_root_is_refused() {
    let s = Scratch::new();
    rotated_root(&s);
    write_custodians(
        &s,
        "custodians.toml",
        "",
        &[("dave", Key::Age), ("erin", Key::Age)],
    );
    let system = crate::util::fake_system(s.dir.path(), false);
    crate::util::custodians::root_init(&s, "other", &system, &[]).success();
    s.ceremony(&["root", "verify", "root", "--anchor", "other/root.json"])
        .fails_with(4, "this is not the root the anchor pins");
    s.ceremony(&["root", "verify", "root", "--anchor", "first.json"])
        .success();
}
