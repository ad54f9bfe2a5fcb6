//! Scripted ceremonies (`ceremony run`, `ceremonies/*.toml`) run end to
//! end against throwaway custodians and witnesses, each step recorded in
//! the transcript; the head read aloud (`--expect-head`) and the witnesses'
//! sign-offs (signed with the real `ssh-keygen` and `minisign`) checked.

use crate::util::custodians::{Key, offline_root, write_custodians};
use crate::util::witnesses::{self, WALT, WANDA, confirm, records, witnessed};
use crate::util::{Scratch, fake_system};

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn quorum() -> Vec<String> {
    strings(&[
        "bundle=root/shares/alice.age",
        "bundle=root/shares/bob.age",
        "identity=alice.key",
        "identity=bob.key",
    ])
}

fn sha256_hex(bytes: &[u8]) -> String {
    ceremony::words::Digest::of(bytes).to_hex()
}

/// The step records of the transcript: (step, as_expected).
fn steps(s: &Scratch) -> Vec<(String, bool)> {
    records(s, "t.jsonl")
        .iter()
        .filter(|r| r["kind"] == "step")
        .map(|r| {
            (
                r["step"].as_str().unwrap().to_owned(),
                r["as_expected"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Rewrites the chain (`seq`, `prev`) of `lines` as an attacker who can
/// edit the file would, so that only what the records themselves say can
/// give the edit away.
fn rechain(lines: &[serde_json::Value]) -> String {
    let mut prev = ceremony::transcript::GENESIS.to_owned();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let mut line = line.clone();
        line["seq"] = serde_json::json!(i);
        line["prev"] = serde_json::json!(prev);
        let text = serde_json::to_string(&line).unwrap();
        prev = ceremony::transcript::line_hash(&text);
        out.push_str(&text);
        out.push('\n');
    }
    out
}

#[test]
fn root_init_runs_with_a_changed_step_a_witness_accepted_and_is_signed_off() {
    let s = Scratch::new();
    witnesses::make(&s);
    write_custodians(
        &s,
        "custodians.toml",
        "[threshold]\nbootstrap = 2\nunseal = 2\nsigning = 2\n",
        &[("alice", Key::Age), ("bob", Key::Age), ("carol", Key::Ssh)],
    );
    // The operator typed the custodians file's name wrong: root init fails,
    // and runs again changed, because a witness accepted it.
    let answers = vec![
        confirm("offline"),
        r#"{ step = "init", exception = "the custodians file is custodians.toml, wrong.toml was a typo", run = ["root", "init", "--yes", "--custodians", "custodians.toml", "--out", "root"], accepted_by = "wanda" }"#.to_owned(),
        confirm("record"),
        confirm("shares-open"),
    ];
    let run = witnesses::run(
        &s,
        "root-init",
        &["alice", "bob", "carol"],
        &strings(&["custodians=wrong.toml", "root=root"]),
        &answers,
    )
    .success();
    assert!(s.path("root/root.json").is_file());
    let stderr = run.stderr_text();
    assert!(stderr.contains("The ceremony is over"), "{stderr}");
    // The head printed at the end (after the steps' own output, such as
    // `root show`'s words) is the one `transcript head` gives.
    let printed = witnesses::words_of(&run.stdout_text());
    let printed: Vec<&str> = printed.split(' ').collect();
    let words = printed[printed.len() - 32..].join(" ");
    assert_eq!(words, witnesses::head_words(&s, "t.jsonl"));

    assert_eq!(
        steps(&s),
        [
            ("offline".to_owned(), true),
            ("preflight".to_owned(), true),
            ("init".to_owned(), false),
            ("init".to_owned(), true),
            ("verify".to_owned(), true),
            ("show".to_owned(), true),
            ("record".to_owned(), true),
            ("shares-open".to_owned(), true),
        ]
    );
    let all = records(&s, "t.jsonl");
    let start = &all[0];
    assert_eq!(start["kind"], "ceremony-start");
    assert_eq!(start["script"], "root-init");
    assert_eq!(
        start["script_sha256"],
        format!(
            "sha256:{}",
            sha256_hex(&std::fs::read(witnesses::script("root-init")).unwrap())
        )
    );
    assert_eq!(start["participants"][0]["name"], "olga");
    assert_eq!(start["participants"][0]["role"], "operator");
    let exception = all.iter().find(|r| r["kind"] == "exception").unwrap();
    assert_eq!(exception["exception"], "changed");
    assert_eq!(exception["accepted"], true);
    assert_eq!(exception["witness"], WANDA);
    // Each run step names the command record just before it, which ran
    // with the script's arguments and the run's air-gap flags.
    let failed = all
        .iter()
        .find(|r| r["kind"] == "step" && r["as_expected"] == false)
        .unwrap();
    let seq = failed["command_seq"].as_u64().unwrap() as usize;
    assert_eq!(all[seq]["kind"], "command");
    assert_eq!(all[seq]["exit_code"], 8);
    assert!(all[seq]["argv"].to_string().contains("wrong.toml"));
    assert!(all[seq]["argv"].to_string().contains("--system-root="));
    assert!(failed["present"].to_string().contains("carol"));
    let end = all.last().unwrap();
    assert_eq!(end["kind"], "ceremony-end");
    assert_eq!(end["completed"], true);
    assert_eq!(end["exceptions"], 1);

    let words = witnessed(&s, "t.jsonl");
    // The record for the audit file.
    let report = s
        .ceremony(&[
            "transcript",
            "report",
            "t.jsonl",
            "--witnesses",
            "witnesses.trust",
        ])
        .success()
        .stdout_text();
    for needle in [
        "## Ceremony 1: Phase 0: create the root of trust",
        "| olga | operator |",
        "| wanda | witness |",
        "| **Accepted** | wanda |",
        "the custodians file is custodians.toml, wrong.toml was a typo",
        "### Sign-offs (1 required)",
        "| wanda |",
        "| walt |",
        "yes: sshsig key SHA256:",
        "yes: minisign key",
        words
            .split(' ')
            .take(8)
            .collect::<Vec<_>>()
            .join(" ")
            .as_str(),
    ] {
        assert!(report.contains(needle), "{needle:?} not in\n{report}");
    }

    // `root show` reads the root.json digest as words, and `root verify
    // --head` takes them back.
    let show = s
        .ceremony(&["root", "show", "root"])
        .success()
        .stdout_text();
    let digest = sha256_hex(&s.read("root/root.json"));
    assert!(
        show.contains(&format!("root.json sha256    {digest}")),
        "{show}"
    );
    let root_words = witnesses::words_of(&show);
    assert_eq!(
        root_words,
        ceremony::words::Digest::parse(&digest).unwrap().words()
    );
    s.ceremony(&["root", "verify", "root", "--head", &root_words])
        .success();
}

#[test]
fn a_truncated_transcript_passes_without_the_head_read_aloud_and_fails_with_it() {
    let s = Scratch::new();
    witnesses::make(&s);
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap();
    let c = |args: &[&str]| {
        let mut all = vec!["--transcript", "t.jsonl"];
        all.extend_from_slice(args);
        s.ceremony(&all).success();
    };
    c(&["preflight", "--system-root", system]);
    c(&["root", "verify", "root"]);
    c(&["root", "show", "root"]);
    let words = witnesses::head_words(&s, "t.jsonl");
    witnesses::sign_off_both(&s, "t.jsonl");
    let full = String::from_utf8(s.read("t.jsonl")).unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec!["transcript", "verify", "t.jsonl"];
        args.extend_from_slice(extra);
        s.ceremony(&args)
    };
    verify(&["--expect-head", &words, "--witnesses", "witnesses.trust"]).success();

    // Cut after the second record, sign-offs and all: the chain still holds.
    let cut: String = full.lines().take(2).map(|l| format!("{l}\n")).collect();
    s.write("t.jsonl", &cut);
    verify(&[]).success();
    let out = verify(&["--expect-head", &words]).fails_with(4, "no record has the head");
    assert!(
        out.stdout_text().contains("✗ expected head"),
        "{}",
        out.stdout_text()
    );
    // The hex works as well as the words.
    let hex = ceremony::words::Digest::parse(&words)
        .unwrap()
        .to_prefixed_hex();
    verify(&["--expect-head", &hex]).fails_with(4, "records were cut off");
    // Cutting only the sign-offs keeps the head, but no witness vouches.
    let unsigned: String = full.lines().take(3).map(|l| format!("{l}\n")).collect();
    s.write("t.jsonl", &unsigned);
    verify(&["--expect-head", &words]).success();
    verify(&["--witnesses", "witnesses.trust"]).fails_with(4, "no witness signed off");

    // A record added after the head was read is caught too.
    s.write("t.jsonl", &full);
    c(&["root", "show", "root"]);
    verify(&["--expect-head", &words]).fails_with(4, "1 record(s) were added after the head");
    verify(&["--witnesses", "witnesses.trust"])
        .fails_with(4, "1 record(s) after the last witness sign-off");
    // A head that is not 32 PGP words, with the place of the slip.
    let skipped: Vec<&str> = words
        .split(' ')
        .enumerate()
        .filter(|(i, _)| *i != 5)
        .map(|(_, w)| w)
        .collect();
    verify(&["--expect-head", &skipped.join(" ")]).fails_with(2, "word 6");
}

/// A record the ceremony did not make (a command run in another shell on
/// the workstation while the ceremony waits for a witness) would sit inside
/// the ceremony, under the head read aloud and signed off, as if it were a
/// step of it: the ceremony stops at once, and says which record.
#[test]
fn a_record_written_by_another_process_during_the_ceremony_stops_it() {
    let s = Scratch::new();
    witnesses::make(&s);
    let sets = strings(&["custodians=custodians.toml", "root=root"]);
    let mut live = witnesses::Live::start(&s, "root-init", &["alice", "bob"], &sets);
    live.wait_for_question("offline");
    // Any command with --transcript appends its record, failed or not.
    let _ = s.ceremony(&["--transcript", "t.jsonl", "root", "show", "elsewhere"]);
    let intruder = records(&s, "t.jsonl").len() - 1;
    live.answer("offline", &confirm("offline"));
    let run = live.finish().fails_with(4, "was not made by this ceremony");
    assert!(
        run.stderr_text().contains(&format!("record {intruder}")),
        "{}",
        run.stderr_text()
    );
    // Nothing was recorded after it: no step, no end, no head to read aloud.
    let after = records(&s, "t.jsonl");
    assert_eq!(after.len(), intruder + 1, "{after:?}");
    assert!(!run.stderr_text().contains("The ceremony is over"));
}

/// A secret a step emits goes to the new file its script names
/// (`stdout = …`). A script whose emit step names none would send the
/// Secret to the run's own output, which is not a terminal when the
/// operator keeps a log of the ceremony (`ceremony run … | tee log`): the
/// step is refused, and nothing secret reaches that output.
#[test]
fn a_step_without_a_stdout_file_cannot_emit_a_secret_into_the_runs_output() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    s.write(
        "emit.toml",
        r#"format = "ceremony.script.v1"
name = "emit"
version = 1
title = "Emit the unseal key"

[roles]
operator = 1
witnesses = 1

[params.bundle]
about = "bundles"
list = true

[params.identity]
about = "identities"
list = true

[[step]]
id = "emit"
title = "Emit the static seal"
run = ["root", "emit", "openbao-static-seal", "--root", "root", "{bundle...}", "--identity={identity...}", "--allow-terminal"]

[end]
sign_offs = 1
"#,
    );
    s.write("answers.txt", "{ step = \"emit\", stop = true }\n");
    let mut args = strings(&[
        "--transcript",
        "t.jsonl",
        "run",
        "emit.toml",
        "--operator",
        "olga",
        "--witness",
        WANDA,
        "--answers",
        "answers.txt",
        "--system-root",
        system.to_str().unwrap(),
    ]);
    for set in quorum() {
        args.push("--set".into());
        args.push(set);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = s.ceremony(&args).fails_with(10, "stopped at step emit");
    assert!(
        !run.stdout_text().contains("kind: Secret") && !run.stdout_text().contains("static"),
        "{}",
        run.stdout_text()
    );
    assert!(
        run.stderr_text().contains("names no stdout file"),
        "{}",
        run.stderr_text()
    );
}

#[test]
fn sign_offs_by_untrusted_keys_over_other_heads_or_moved_are_refused() {
    let s = Scratch::new();
    witnesses::make(&s);
    let system = fake_system(s.dir.path(), false);
    let system = system.to_str().unwrap();
    let c = |args: &[&str]| {
        let mut all = vec!["--transcript", "t.jsonl"];
        all.extend_from_slice(args);
        s.ceremony(&all).success();
    };
    c(&["preflight", "--system-root", system]);
    c(&["preflight", "--system-root", system]);

    // An untrusted key: refused on attach, and on verify if attached anyway.
    s.ssh_key("mallory");
    let file = witnesses::statement(&s, "t.jsonl", WANDA);
    let forged = witnesses::ssh_sign(&s, "mallory", &file);
    witnesses::attach(&s, "t.jsonl", WANDA, &forged).fails_with(4, "untrusted key");
    s.ceremony(&[
        "transcript",
        "sign-off",
        "t.jsonl",
        "--witness",
        WANDA,
        "--signature",
        &forged,
    ])
    .success();
    s.ceremony(&[
        "transcript",
        "verify",
        "t.jsonl",
        "--witnesses",
        "witnesses.trust",
    ])
    .fails_with(
        4,
        "the sign-off claiming wanda is refused: signature 0 (sshsig): untrusted key",
    );
    // Without a TRUSTFILE it is only a claim.
    let out = s.ceremony(&["transcript", "verify", "t.jsonl"]).success();
    assert!(out.stdout_text().contains("pass --witnesses to check it"));

    // A trusted key's signature over another head: walt signed before the
    // last record was added.
    let s = Scratch::new();
    witnesses::make(&s);
    let c = |args: &[&str]| {
        let mut all = vec!["--transcript", "t.jsonl"];
        all.extend_from_slice(args);
        s.ceremony(&all).success();
    };
    c(&["completions", "bash"]);
    let old_words = witnesses::head_words(&s, "t.jsonl");
    let file = witnesses::statement(&s, "t.jsonl", WALT);
    let early = witnesses::minisign_sign(&s, &file);
    c(&["completions", "zsh"]);
    s.ceremony(&[
        "transcript",
        "sign-off",
        "t.jsonl",
        "--witness",
        WALT,
        "--signature",
        &early,
        "--head",
        &old_words,
    ])
    .fails_with(4, "is not the ceremony head");
    witnesses::attach(&s, "t.jsonl", WALT, &early).fails_with(4, "bad signature");
    s.ceremony(&[
        "transcript",
        "sign-off",
        "t.jsonl",
        "--witness",
        WALT,
        "--signature",
        &early,
    ])
    .success();
    // A second sign-off of the same head by the same witness: refused.
    let before = s.read("t.jsonl");
    s.ceremony(&[
        "transcript",
        "sign-off",
        "t.jsonl",
        "--witness",
        WALT,
        "--signature",
        &early,
    ])
    .fails_with(2, "walt has already signed off this head");
    assert_eq!(s.read("t.jsonl"), before, "nothing was attached");
    s.ceremony(&[
        "transcript",
        "verify",
        "t.jsonl",
        "--witnesses",
        "witnesses.trust",
    ])
    .fails_with(
        4,
        "the sign-off claiming walt is refused: signature 0 (minisign): bad signature",
    );
    // Wanda's genuine signature, but claimed for walt: the key is not his.
    let s2 = Scratch::new();
    witnesses::make(&s2);
    s2.ceremony(&["--transcript", "t.jsonl", "completions", "bash"])
        .success();
    let file = witnesses::statement(&s2, "t.jsonl", WALT);
    let sig = witnesses::ssh_sign(&s2, WANDA, &file);
    witnesses::attach(&s2, "t.jsonl", WALT, &sig).fails_with(4, "not by walt");

    // A sign-off moved to another place, the chain rebuilt around it: its
    // head is not the head there.
    let s = Scratch::new();
    witnesses::make(&s);
    let c = |args: &[&str]| {
        let mut all = vec!["--transcript", "t.jsonl"];
        all.extend_from_slice(args);
        s.ceremony(&all).success();
    };
    c(&["completions", "bash"]);
    c(&["completions", "zsh"]);
    witnesses::sign_off_both(&s, "t.jsonl");
    s.ceremony(&[
        "transcript",
        "verify",
        "t.jsonl",
        "--witnesses",
        "witnesses.trust",
    ])
    .success();
    let lines = records(&s, "t.jsonl");
    // Wanda's sign-off (record 2) moved before record 1.
    let moved = rechain(&[
        lines[0].clone(),
        lines[2].clone(),
        lines[1].clone(),
        lines[3].clone(),
    ]);
    s.write("t.jsonl", &moved);
    s.ceremony(&["transcript", "verify", "t.jsonl"])
        .fails_with(4, "line 2: the sign-off of wanda signs head");
    // Swapping the two sign-offs keeps both on their head: still valid.
    let swapped = rechain(&[
        lines[0].clone(),
        lines[1].clone(),
        lines[3].clone(),
        lines[2].clone(),
    ]);
    s.write("t.jsonl", &swapped);
    s.ceremony(&[
        "transcript",
        "verify",
        "t.jsonl",
        "--witnesses",
        "witnesses.trust",
    ])
    .success();
}

/// The head the ceremony log recorded for the root in `root/`: its words.
fn root_head(s: &Scratch) -> String {
    ceremony::words::Digest::of(&s.read("root/root.json")).words()
}

#[test]
fn unseal_split_and_reshare_run_end_to_end() {
    let s = Scratch::new();
    witnesses::make(&s);
    write_custodians(
        &s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Ssh), ("carol", Key::Age)],
    );
    let answers = vec![confirm("offline"), confirm("hand-out")];
    witnesses::run(
        &s,
        "unseal-split",
        &["alice", "bob", "carol"],
        &strings(&[
            "custodians=custodians.toml",
            "threshold=2",
            "out=unseal",
            "verifier=alice",
            "verifier_key=alice.key",
            "verifier=bob",
            "verifier_key=bob",
        ]),
        &answers,
    )
    .success();
    assert_eq!(
        steps(&s)
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        [
            "offline",
            "share",
            "verify-share#1",
            "verify-share#2",
            "hand-out"
        ]
    );
    assert!(steps(&s).iter().all(|(_, ok)| *ok));
    witnessed(&s, "t.jsonl");

    // The same transcript goes on with the reshare: a second ceremony,
    // signed off on its own head.
    write_custodians(
        &s,
        "new.toml",
        "",
        &[("dave", Key::Age), ("erin", Key::Age)],
    );
    let answers = vec![confirm("offline"), confirm("destroy-old")];
    witnesses::run(
        &s,
        "unseal-reshare",
        &["alice", "bob", "dave", "erin"],
        &strings(&[
            "old=unseal",
            "share=unseal/alice.share.age",
            "share=unseal/carol.share.age",
            "identity=alice.key",
            "identity=carol.key",
            "custodians=new.toml",
            "threshold=2",
            "out=unseal2",
            "verifier=dave",
            "verifier_key=dave.key",
            "verifier=erin",
            "verifier_key=erin.key",
        ]),
        &answers,
    )
    .success();
    assert!(s.path("unseal2/erin.share.age").is_file());
    witnessed(&s, "t.jsonl");
    let report = s
        .ceremony(&["transcript", "report", "t.jsonl"])
        .success()
        .stdout_text();
    assert!(
        report.contains("## Ceremony 1: Split an unseal key among custodians"),
        "{report}"
    );
    assert!(
        report.contains("## Ceremony 2: Reshare an unseal key among new custodians"),
        "{report}"
    );
    assert!(
        report.contains("not checked (no TRUSTFILE given)"),
        "{report}"
    );
}

#[test]
fn rotate_signing_key_runs_end_to_end() {
    let s = Scratch::new();
    witnesses::make(&s);
    offline_root(&s, &[]);
    std::fs::copy(s.path("root/root.json"), s.path("first.json")).unwrap();
    let mut sets = strings(&["root=root", "first=first.json"]);
    sets.push(format!("head={}", root_head(&s)));
    sets.extend(quorum());
    witnesses::run(
        &s,
        "rotate-signing-key",
        &["alice", "bob"],
        &sets,
        &[confirm("record")],
    )
    .success();
    let root = crate::util::custodians::root_manifest(&s, "root");
    assert_eq!(root.body.version(), 2);
    witnessed(&s, "t.jsonl");
}

#[test]
fn custodian_changes_run_end_to_end_with_and_without_new_secrets() {
    for (script, step) in [
        ("custodian-change", "reshare"),
        ("custodian-change-rotate", "rotate"),
    ] {
        let s = Scratch::new();
        witnesses::make(&s);
        offline_root(&s, &[]);
        write_custodians(
            &s,
            "new.toml",
            "[threshold]\nbootstrap = 2\nunseal = 2\nsigning = 2\n",
            &[("dave", Key::Age), ("erin", Key::Age), ("frank", Key::Ssh)],
        );
        let before = crate::util::custodians::root_manifest(&s, "root");
        let mut sets = strings(&["root=root", "custodians=new.toml"]);
        sets.push(format!("head={}", root_head(&s)));
        sets.extend(quorum());
        let mut answers = vec![confirm("record")];
        if script == "custodian-change-rotate" {
            answers.push(confirm("runtime"));
        }
        witnesses::run(
            &s,
            script,
            &["alice", "bob", "dave", "erin", "frank"],
            &sets,
            &answers,
        )
        .success();
        assert!(
            steps(&s).iter().any(|(id, ok)| id == step && *ok),
            "{script}"
        );
        let after = crate::util::custodians::root_manifest(&s, "root");
        let names: Vec<&str> = after.body.share_sets[0]
            .custodians
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["dave", "erin", "frank"], "{script}");
        let same = after.body.bootstrap_recipient == before.body.bootstrap_recipient;
        assert_eq!(same, script == "custodian-change", "{script}");
        witnessed(&s, "t.jsonl");
    }
}

#[test]
fn rotate_bootstrap_key_runs_end_to_end() {
    let h = crate::util::handover::Handover::new();
    let s = &h.s;
    witnesses::make(s);
    // No .sops.yaml names the old recipient: `bootstrap seal` sealed to the
    // root itself, and updatekeys moves the files to the root's new one.
    std::fs::remove_file(s.path("bootstrap/.sops.yaml")).unwrap();
    let mut sets = strings(&["root=root", "tree=bootstrap"]);
    sets.push(format!("head={}", root_head(s)));
    sets.extend(quorum());
    let answers = vec![
        confirm("record"),
        "{ step = \"sops-yaml\", confirmed_by = \"olga\" }".to_owned(),
        "{ step = \"flux-both\", confirmed_by = \"olga\" }".to_owned(),
        confirm("reconciled"),
        confirm("flux-new"),
    ];
    let before = crate::util::custodians::root_manifest(s, "root")
        .body
        .bootstrap_recipient;
    witnesses::run(
        s,
        "rotate-bootstrap-key",
        &["alice", "bob"],
        &sets,
        &answers,
    )
    .success();
    let after = crate::util::custodians::root_manifest(s, "root");
    assert_ne!(after.body.bootstrap_recipient, before);
    assert!(
        after.body.retiring().bootstrap_recipient.is_none(),
        "retired"
    );
    // Every sealed file is now sealed to the new recipient.
    let db = String::from_utf8(s.read("bootstrap/apps/db.yaml")).unwrap();
    assert!(db.contains(&after.body.bootstrap_recipient));
    assert!(!db.contains(&before));
    witnessed(s, "t.jsonl");
}

#[test]
fn rotate_unseal_key_stops_when_the_witness_refuses_the_rewrap() {
    let s = Scratch::new();
    witnesses::make(&s);
    offline_root(&s, &[]);
    std::fs::create_dir(s.path("media")).unwrap();
    let mut sets = strings(&["root=root", "media=media"]);
    sets.push(format!("head={}", root_head(&s)));
    sets.extend(quorum());
    // OpenBao has not rewrapped: the witness refuses to confirm, the
    // operator asks to go on anyway, and the witness refuses that too.
    let answers = vec![
        format!("{{ step = \"rewrap\", refused_by = \"{WALT}\" }}"),
        format!(
            "{{ step = \"rewrap\", exception = \"the log line scrolled away, it surely rewrapped\", refused_by = \"{WANDA}\" }}"
        ),
    ];
    witnesses::run(&s, "rotate-unseal-key", &["alice", "bob"], &sets, &answers).fails_with(
        10,
        "the ceremony stopped at step rewrap: witness wanda refused the exception",
    );
    // The old key was not retired: both keys are in the root, and the
    // Secret with both was written owner-only.
    let root = crate::util::custodians::root_manifest(&s, "root");
    assert!(root.body.retiring().unseal.is_some());
    assert!(!s.path("media/static-seal.yaml").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.path("media/static-seal-both.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let all = records(&s, "t.jsonl");
    let end = all.last().unwrap();
    assert_eq!(end["kind"], "ceremony-end");
    assert_eq!(end["completed"], false);
    let exception = all.iter().find(|r| r["kind"] == "exception").unwrap();
    assert_eq!(exception["accepted"], false);
    let report = s
        .ceremony(&["transcript", "report", "t.jsonl"])
        .success()
        .stdout_text();
    assert!(report.contains("**Stopped**"), "{report}");
    assert!(report.contains("| **Refused** | wanda |"), "{report}");
    // A stopped ceremony ends, and its head can still be signed off; but
    // the exit codes and the record say it did not complete.
    witnesses::sign_off_both(&s, "t.jsonl");
}

#[test]
fn rotate_unseal_key_runs_end_to_end_when_the_witness_confirms_the_rewrap() {
    let s = Scratch::new();
    witnesses::make(&s);
    offline_root(&s, &[]);
    std::fs::create_dir(s.path("media")).unwrap();
    let mut sets = strings(&["root=root", "media=media"]);
    sets.push(format!("head={}", root_head(&s)));
    sets.extend(quorum());
    let before = crate::util::custodians::root_manifest(&s, "root")
        .body
        .unseal
        .key_id;
    witnesses::run(
        &s,
        "rotate-unseal-key",
        &["alice", "bob"],
        &sets,
        &[confirm("rewrap"), confirm("finish")],
    )
    .success();
    let root = crate::util::custodians::root_manifest(&s, "root");
    assert_ne!(root.body.unseal.key_id, before);
    assert!(root.body.retiring().unseal.is_none());
    let both = String::from_utf8(s.read("media/static-seal-both.yaml")).unwrap();
    let current = String::from_utf8(s.read("media/static-seal.yaml")).unwrap();
    assert!(both.contains(&before) && !current.contains(&before));
    witnessed(&s, "t.jsonl");
}

#[test]
fn cluster_loss_runs_end_to_end_with_the_receipt_made_while_it_waits() {
    let h = crate::util::handover::Handover::new();
    let s = &h.s;
    witnesses::make(s);
    let line = h.ed25519_key("openbao");
    s.write("trust.txt", format!("{line}\n"));
    std::fs::create_dir(s.path("media")).unwrap();
    let mut sets = strings(&[
        "root=root",
        "tree=bootstrap",
        "authority=openbao-prod",
        "trust=trust.txt",
        "media=media",
    ]);
    sets.push(format!("head={}", root_head(s)));
    sets.extend(quorum());
    let mut live = witnesses::Live::start(s, "cluster-loss", &["alice", "bob"], &sets);
    // Online, while the ceremony waits: the restored authority answers the
    // challenge the ceremony just made.
    live.wait_for_question("restored");
    s.ceremony(&[
        "handover",
        "receipt",
        "--challenge",
        "media/challenge.json",
        "--values",
        "values",
        "--authority",
        "openbao-prod",
        "--key",
        "openbao",
        "--out",
        "media/receipt.json",
    ])
    .success();
    live.answer("restored", &confirm("restored"));
    let run = live.finish().success();
    assert!(
        run.stderr_text().contains("The ceremony is over"),
        "{}",
        run.stderr_text()
    );
    assert!(steps(s).iter().all(|(_, ok)| *ok), "{:?}", steps(s));
    use std::os::unix::fs::PermissionsExt;
    for file in ["media/openbao-static-seal.yaml", "media/sops-age.yaml"] {
        let mode = std::fs::metadata(s.path(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let verify = records(s, "t.jsonl")
        .into_iter()
        .rfind(|r| r["kind"] == "command")
        .unwrap();
    assert!(
        verify["argv"].to_string().contains("\"--deep\""),
        "{verify}"
    );
    assert_eq!(verify["exit_code"], 0);
    witnessed(s, "t.jsonl");
}

/// Waits until the screen shows `second` after the last `first`.
fn wait_after(t: &crate::util::tmux::Tmux, first: &str, second: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        let screen = t.screen();
        if let Some(at) = screen.rfind(first) {
            if screen[at..].contains(second) {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "timed out waiting for {second:?} after {first:?}; screen:\n{}",
        t.screen()
    );
}

/// On the terminal: the first witness confirms the step whose header is `header`.
fn confirm_on_terminal(t: &crate::util::tmux::Tmux, header: &str) {
    wait_after(t, header, "Who confirms, as witness?");
    t.send_keys(&["Enter"]);
    wait_after(t, header, "Done?");
    t.send_keys(&["y"]);
}

#[test]
fn credential_leak_runs_end_to_end_on_a_terminal_with_the_value_typed_at_the_prompt() {
    let h = crate::util::handover::Handover::new();
    let s = &h.s;
    witnesses::make(s);
    let line = h.ed25519_key("openbao");
    s.write("trust.txt", format!("{line}\n"));
    let system = fake_system(s.dir.path(), false);
    let mut args = vec![
        crate::util::ceremony_bin().display().to_string(),
        "--transcript".into(),
        "t.jsonl".into(),
        "run".into(),
        witnesses::script("credential-leak"),
        "--operator".into(),
        "olga".into(),
        "--witness".into(),
        WANDA.into(),
        "--witness".into(),
        WALT.into(),
        "--custodian".into(),
        "alice".into(),
        "--custodian".into(),
        "bob".into(),
        "--system-root".into(),
        system.display().to_string(),
    ];
    let mut sets = strings(&[
        "root=root",
        "tree=bootstrap",
        "authority=openbao-prod",
        "trust=trust.txt",
        "leaked_file=bootstrap/apps/db.yaml",
        "leaked_item=apps/db/user",
    ]);
    sets.push(format!("head={}", root_head(s)));
    sets.extend(quorum());
    for set in sets {
        args.push("--set".into());
        args.push(format!("'{set}'"));
    }
    let t = crate::util::tmux::Tmux::start(s.dir.path(), &args.join(" "));
    confirm_on_terminal(&t, "[1/10] changed-at-source");
    // `bootstrap set` asks for the new value itself, twice, without echo.
    t.wait_for("New value for apps/db/user (not shown)", 1);
    t.type_line("new-db-user-7");
    t.wait_for("Type the new value for apps/db/user again", 1);
    t.type_line("new-db-user-7");
    confirm_on_terminal(&t, "[7/10] applied");
    // The runtime side answers the challenge with the new value.
    wait_after(&t, "[9/10] answered", "Who confirms, as witness?");
    h.write_values(
        "apps/db.yaml",
        &crate::util::handover::DB_YAML.replace("user: admin", "user: new-db-user-7"),
    );
    s.ceremony(&[
        "handover",
        "receipt",
        "--challenge",
        "leak-challenge.json",
        "--values",
        "values",
        "--authority",
        "openbao-prod",
        "--key",
        "openbao",
        "--out",
        "receipt.json",
    ])
    .success();
    t.send_keys(&["Enter"]);
    wait_after(&t, "[9/10] answered", "Done?");
    t.send_keys(&["y"]);
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    let screen = t.screen();
    assert!(!screen.contains("new-db-user-7"), "echoed:\n{screen}");
    assert!(steps(s).iter().all(|(_, ok)| *ok), "{:?}", steps(s));
    let transcript = String::from_utf8(s.read("t.jsonl")).unwrap();
    assert!(
        !transcript.contains("new-db-user-7"),
        "the secret is in the transcript"
    );
    witnessed(s, "t.jsonl");
}

/// With the witnesses' TRUSTFILE, `ceremony run` collects their sign-offs
/// once the ceremony has ended: each is checked before it is attached, one
/// that does not verify is refused (with the answers, the run fails), and
/// the transcript then verifies against the head read aloud and the keys.
#[test]
fn the_run_collects_the_witnesses_sign_offs_after_the_end() {
    let s = Scratch::new();
    witnesses::make(&s);
    s.write(
        "signed.toml",
        r#"format = "ceremony.script.v1"
name = "signed"
version = 1
title = "A ceremony the witnesses sign off"

[roles]
operator = 1
witnesses = 2

[[step]]
id = "offline"
title = "The workstation is air-gapped"
confirm = "This machine is offline."
by = "witness"

[end]
sign_offs = 2
"#,
    );
    let script = s.path("signed.toml").display().to_string();
    let extra = ["--witnesses", "witnesses.trust"];
    let mut live = witnesses::Live::start_with(&s, &script, &[], &[], &extra);
    live.answer("offline", &confirm("offline"));
    live.wait_for_sign_off(1);
    let words = witnesses::head_words(&s, "t.jsonl");
    let file = witnesses::statement(&s, "t.jsonl", WANDA);
    let wanda = witnesses::ssh_sign(&s, WANDA, &file);
    live.say(&format!(
        "{{ sign_off = \"{WANDA}\", signature = \"{wanda}\" }}"
    ));
    live.wait_for_sign_off(2);
    let file = witnesses::statement(&s, "t.jsonl", WALT);
    let walt = witnesses::minisign_sign(&s, &file);
    live.say(&format!(
        "{{ sign_off = \"{WALT}\", signature = \"{walt}\" }}"
    ));
    let run = live.finish().success();
    assert!(
        run.stderr_text().contains("2 of 2"),
        "{}",
        run.stderr_text()
    );
    s.ceremony(&[
        "transcript",
        "verify",
        "t.jsonl",
        "--expect-head",
        &words,
        "--witnesses",
        "witnesses.trust",
    ])
    .success();

    // walt's signature given as wanda's: refused, and nothing attached.
    let s = Scratch::new();
    witnesses::make(&s);
    s.write("signed.toml", std::fs::read(script).unwrap());
    let script = s.path("signed.toml").display().to_string();
    let mut live = witnesses::Live::start_with(&s, &script, &[], &[], &extra);
    live.answer("offline", &confirm("offline"));
    live.wait_for_sign_off(1);
    let before = s.read("t.jsonl");
    let file = witnesses::statement(&s, "t.jsonl", WALT);
    let walt = witnesses::minisign_sign(&s, &file);
    live.say(&format!(
        "{{ sign_off = \"{WANDA}\", signature = \"{walt}\" }}"
    ));
    live.finish().fails_with(4, "does not verify");
    assert_eq!(s.read("t.jsonl"), before, "nothing was attached");

    // The operator is no witness: refused too.
    let mut live = witnesses::Live::start_with(&s, &script, &[], &[], &extra);
    live.answer("offline", &confirm("offline"));
    live.wait_for_sign_off(1);
    let before = s.read("t.jsonl");
    live.say(&format!(
        "{{ sign_off = \"olga\", signature = \"{walt}\" }}"
    ));
    live.finish()
        .fails_with(2, "olga is not a witness of this ceremony");
    assert_eq!(s.read("t.jsonl"), before, "nothing was attached");
}
