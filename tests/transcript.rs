//! The ceremony transcript: every command appended to a hash chain, the head
//! sealed by the root signing key, any edit caught.

use std::path::Path;

use crate::util::custodians::{Key, root_init, write_custodians};
use crate::util::{Scratch, fake_system};

/// Two age custodians, alice and bob; returns an air-gapped system root.
fn setup(s: &Scratch) -> String {
    write_custodians(
        s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Age)],
    );
    fake_system(s.dir.path(), false)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_ceremony_leaves_a_signed_tamper_evident_transcript() {
    let s = Scratch::new();
    let sys = setup(&s);
    s.ceremony(&[
        "--transcript",
        "t.jsonl",
        "preflight",
        "--system-root",
        &sys,
    ])
    .success();
    root_init(&s, "root", Path::new(&sys), &["--transcript", "t.jsonl"]).success();
    // A failing command is recorded with its exit code and message.
    s.ceremony(&[
        "--transcript",
        "t.jsonl",
        "root",
        "emit",
        "flux-age-secret",
        "--root",
        "root",
        "root/shares/alice.age",
        "-i",
        "alice.key",
        "--system-root",
        &sys,
    ])
    .fails_with(5, "1 valid share(s)");
    let text = String::from_utf8(s.read("t.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 3);
    let third: serde_json::Value = serde_json::from_str(text.lines().nth(2).unwrap()).unwrap();
    assert_eq!(third["exit_code"], 5);
    assert!(
        third["outcome"]
            .as_str()
            .unwrap()
            .contains("1 valid share(s)")
    );

    let run = s.ceremony(&["transcript", "verify", "t.jsonl"]).success();
    assert!(
        run.stdout_text()
            .contains("3 record(s), chain intact, 0 signature(s)"),
        "{}",
        run.stdout_text()
    );
    // Not yet signed by the root: --root requires a signature.
    s.ceremony(&["transcript", "verify", "t.jsonl", "--root", "root"])
        .fails_with(4, "no record is signed");

    // A quorum seals the head.
    s.ceremony(&[
        "transcript",
        "sign",
        "t.jsonl",
        "--root",
        "root",
        "root/shares/alice.age",
        "root/shares/bob.age",
        "-i",
        "alice.key",
        "-i",
        "bob.key",
        "--system-root",
        &sys,
    ])
    .success();
    let run = s
        .ceremony(&["transcript", "verify", "t.jsonl", "--root", "root"])
        .success();
    assert!(
        run.stdout_text().contains("1 signature(s)"),
        "{}",
        run.stdout_text()
    );
    // Without --root the signer is only named, not trusted.
    let run = s.ceremony(&["transcript", "verify", "t.jsonl"]).success();
    assert!(
        run.stdout_text().contains("pass --root to check"),
        "{}",
        run.stdout_text()
    );
    // A command after the signature is not covered by it.
    let before = s.read("t.jsonl");
    s.ceremony(&[
        "--transcript",
        "t.jsonl",
        "preflight",
        "--system-root",
        &sys,
    ])
    .success();
    s.ceremony(&["transcript", "verify", "t.jsonl", "--root", "root"])
        .fails_with(4, "1 record(s) after the last signature");
    s.write("t.jsonl", &before);

    // Another root's key is not this root's.
    root_init(&s, "other", Path::new(&sys), &[]).success();
    s.ceremony(&["transcript", "verify", "t.jsonl", "--root", "other"])
        .fails_with(4, "not a signing key of root");

    // Any edit of an earlier record breaks the chain.
    let signed = String::from_utf8(s.read("t.jsonl")).unwrap();
    let edited = signed.replacen("\"exit_code\":5", "\"exit_code\":0", 1);
    assert_ne!(edited, signed);
    s.write("t.jsonl", &edited);
    s.ceremony(&["transcript", "verify", "t.jsonl"])
        .fails_with(4, "line 4: the chain breaks here");
    // ... and a broken transcript is not extended. The preflight itself
    // passed: only its record is missing (exit 9, not-recorded).
    s.ceremony(&[
        "--transcript",
        "t.jsonl",
        "preflight",
        "--system-root",
        &sys,
    ])
    .fails_with(
        9,
        "error: the command succeeded, but it was not recorded in the transcript: t.jsonl: line 4: the chain breaks here",
    );
    assert_eq!(s.read("t.jsonl"), edited.as_bytes());
}
