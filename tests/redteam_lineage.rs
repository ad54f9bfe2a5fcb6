//! Red-team tests of root versions through the command line. Each test
//! asserts what the documentation promises; those that fail today are
//! `#[ignore = "finding: …"]`. Run them with
//! `cargo test --test tests redteam_lineage -- --include-ignored`.

use ceremony::root::RootSecret;

use crate::util::custodians::{Key, offline_root, rebuild_secret, root_init, write_custodians};
use crate::util::{Run, Scratch};

/// `ceremony [--transcript T] root COMMAND --yes --root ROOT EXTRA <quorum bundles>`.
fn change_in(
    s: &Scratch,
    system: &str,
    transcript: Option<&str>,
    root: &str,
    command: &str,
    extra: &[&str],
    quorum: &[&str],
) -> Run {
    let mut args: Vec<String> = Vec::new();
    if let Some(t) = transcript {
        args.extend(["--transcript".into(), t.into()]);
    }
    args.extend(
        ["root", command, "--yes", "--root", root]
            .iter()
            .map(|a| a.to_string()),
    );
    args.extend(extra.iter().map(|a| a.to_string()));
    for n in quorum {
        args.extend([
            format!("{root}/shares/{n}.age"),
            "-i".into(),
            format!("{n}.key"),
        ]);
    }
    args.extend(["--system-root".into(), system.into()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ceremony(&refs)
}

fn version_of(bytes: &[u8]) -> u64 {
    ceremony::root::RootManifest::from_json(bytes)
        .unwrap()
        .body
        .version()
}

/// Finding: `root rotate` swaps in a directory made only of the files it
/// knows (root.json, history/, shares/). Everything else in the root
/// directory is deleted without a word. The ceremony scripts put the
/// transcript at `$root.transcript.jsonl`: called with `ROOT/` (a
/// trailing slash, as tab completion writes it) that is
/// `ROOT/.transcript.jsonl`, inside the root, and the rotation erases
/// the whole transcript; the next record starts a new chain from genesis
/// that `transcript verify` accepts.
#[test]
fn rt_a_rotation_keeps_or_refuses_files_it_does_not_know_in_the_root_directory() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap();
    // What rotate-signing-key.sh does with root=root/ before rotating.
    let transcript = "root/.transcript.jsonl";
    s.ceremony(&["--transcript", transcript, "root", "verify", "root"])
        .success();
    s.write("root/NOTES.txt", "witness notes\n");
    assert_eq!(s.read(transcript).split(|b| *b == b'\n').count(), 2);

    // Refused before anything is asked or written, naming both files.
    change_in(
        &s,
        system,
        Some(transcript),
        "root",
        "rotate",
        &["--key", "signing-key"],
        &["alice", "bob"],
    )
    .fails_with(
        6,
        "holds files that are not part of the root: .transcript.jsonl, NOTES.txt",
    );
    assert!(s.path("root/NOTES.txt").exists());
    let report = s
        .ceremony(&["transcript", "verify", transcript])
        .success()
        .stdout_text();
    assert!(report.contains("root verify"), "{report}");
    assert!(
        report.contains("root rotate"),
        "the refusal is recorded: {report}"
    );
    s.ceremony(&["root", "verify", "root"]).success();
    assert_eq!(
        crate::util::custodians::root_manifest(&s, "root")
            .body
            .version(),
        1
    );
}

/// Finding: with ROOT a symbolic link to the real directory (a root kept
/// on removable media, linked from the home directory), the rotation
/// exchanges the *link* with the staged directory: the new version is
/// written beside the link (the workstation's disk, maybe a tmpfs), the
/// link is removed, and the real directory keeps the old version and the
/// old bundles, which still verify by themselves.
#[test]
fn rt_a_rotation_through_a_symlinked_root_writes_the_real_directory() {
    let s = Scratch::new();
    write_custodians(
        &s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Age), ("carol", Key::Age)],
    );
    let system = crate::util::fake_system(s.dir.path(), false);
    std::fs::create_dir(s.path("media")).unwrap();
    root_init(&s, "media/root", &system, &[]).success();
    std::os::unix::fs::symlink("media/root", s.path("root")).unwrap();

    change_in(
        &s,
        system.to_str().unwrap(),
        None,
        "root",
        "rotate",
        &["--key", "unseal-key"],
        &["alice", "bob"],
    )
    .success();

    let through_link = version_of(&s.read("root/root.json"));
    let on_media = version_of(&s.read("media/root/root.json"));
    let still_link = s
        .path("root")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink();
    assert!(
        on_media == 2 && still_link,
        "ROOT says version {through_link}, the real directory media/root holds version {on_media}, \
         ROOT is still a symlink: {still_link}"
    );
}

/// Finding: `transcript verify --root` accepts a signature by any key
/// the root ever had, as a pass. A signing key replaced because it
/// leaked can sign, after its replacement, a transcript that records the
/// replacement itself, and the verifier prints ✓ (the runbook: "after
/// step 2 the old key signs nothing the history accepts").
#[test]
fn rt_a_replaced_signing_key_cannot_seal_a_transcript_after_its_replacement() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap();
    // The attacker keeps a copy of version 1 and a quorum of its bundles
    // (or simply the leaked signing key).
    s.tool("cp", &["-r", "root", "v1"]).success();
    let t = "t.jsonl";
    change_in(
        &s,
        system,
        Some(t),
        "root",
        "rotate",
        &["--key", "signing-key"],
        &["alice", "bob"],
    )
    .success();
    s.ceremony(&["--transcript", t, "root", "verify", "root"])
        .success();

    // Sealed with the old key, after the rotation the transcript records.
    let old = rebuild_secret(
        &s,
        "v1",
        RootSecret::Signing,
        &[("alice", "alice.key"), ("bob", "bob.key")],
    );
    let old_key =
        ed25519_dalek::SigningKey::from_bytes(&<[u8; 32]>::try_from(old.expose_secret()).unwrap());
    let text = String::from_utf8(s.read(t)).unwrap();
    let head = ceremony::transcript::verify(&text).unwrap().head;
    let root_id = crate::util::custodians::root_manifest(&s, "root")
        .body
        .root_id;
    let entry = ceremony::transcript::signature_entry(&head, &root_id, &old_key);
    ceremony::transcript::append(&s.path(t), entry, &ceremony::clock::SystemClock).unwrap();
    assert!(
        text.contains("rotate"),
        "the transcript records the rotation"
    );

    let run = s.ceremony(&["transcript", "verify", t, "--root", "root"]);
    assert_ne!(
        run.code(),
        0,
        "a signature by the replaced key, over a transcript of its own replacement, passed:\n{}",
        run.stdout_text()
    );
}

/// Finding: root.json and every history file are read with the 64 MiB
/// cap of a bootstrap manifest (`Cap::Manifest`), not the 1 MiB the
/// threat model gives root.json, and parsed whole into a
/// `serde_json::Value` before any check: a hostile 60 MiB root.json (or
/// history/root.1.json) costs about a gigabyte of memory per file.
#[test]
fn rt_root_json_is_capped_at_one_mebibyte() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("root")).unwrap();
    let mut big = String::from("{\"format\": \"ceremony.root.v1\", \"pad\": [");
    big.push_str(&"0,".repeat(1 << 20));
    big.push_str("0]}\n");
    s.write("root/root.json", &big);
    let run = s.ceremony(&["root", "verify", "root"]);
    assert!(
        run.stdout_text().contains("larger than") || run.stderr_text().contains("larger than"),
        "a {} byte root.json was parsed: {}{}",
        big.len(),
        run.stdout_text(),
        run.stderr_text()
    );
}

/// Sound: a rollback (an old root.json with its shorter history) is
/// caught by --head; a history that is a symlink to a directory is read
/// through, and a FIFO or directory in place of a history file is
/// refused without hanging.
#[test]
fn rt_sound_hostile_history_entries_are_refused() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap();
    change_in(
        &s,
        system,
        None,
        "root",
        "rotate",
        &["--key", "unseal-key"],
        &["alice", "bob"],
    )
    .success();
    // A FIFO in place of history/root.1.json.
    let v1 = s.read("root/history/root.1.json");
    std::fs::remove_file(s.path("root/history/root.1.json")).unwrap();
    s.tool("mkfifo", &["root/history/root.1.json"]).success();
    assert_ne!(s.ceremony(&["root", "verify", "root"]).code(), 0);
    std::fs::remove_file(s.path("root/history/root.1.json")).unwrap();
    // A directory in its place.
    std::fs::create_dir(s.path("root/history/root.1.json")).unwrap();
    assert_ne!(s.ceremony(&["root", "verify", "root"]).code(), 0);
    std::fs::remove_dir(s.path("root/history/root.1.json")).unwrap();
    // A leading zero.
    s.write("root/history/root.01.json", &v1);
    assert_ne!(s.ceremony(&["root", "verify", "root"]).code(), 0);
    std::fs::remove_file(s.path("root/history/root.01.json")).unwrap();
    s.write("root/history/root.1.json", &v1);
    s.ceremony(&["root", "verify", "root"]).success();
}
