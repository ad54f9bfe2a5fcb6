//! Custodians on hardware tokens, through the real age plugin protocol: the
//! test plugin `age-plugin-ceremonytest` (a software key, tests/plugin/) on
//! PATH for the commands run here, and the real `age`, `sops` and a real
//! terminal (tmux) beside ceremony. What only a real token can show is in
//! docs/custodian-yubikey.md ("What the tests do not cover").

use std::time::{Duration, Instant};

use crate::util::plugin::{self, NAME};
use crate::util::tmux::Tmux;
use crate::util::{Run, Scratch, ceremony_bin, fake_system, require};

const SECRET: &[u8; 32] = b"plugin-custodian-secret-32-bytes";

fn custodians(s: &Scratch, entries: &[(&str, String)]) {
    let mut text = String::new();
    for (name, key) in entries {
        text.push_str(&format!("[[custodian]]\nname = \"{name}\"\n{key}\n\n"));
    }
    s.write("custodians.toml", text);
}

fn with_plugin<'a>(extra: &[(&'a str, &'a str)], path: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![("PATH", path)];
    env.extend_from_slice(extra);
    env
}

/// `ceremony ARGS` with the plugin on PATH and `extra` in the environment.
fn ceremony(s: &Scratch, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let path = plugin::path();
    s.ceremony_env(args, &with_plugin(extra, &path))
}

/// Any tool with the plugin on PATH.
fn tool(s: &Scratch, program: &str, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let path = plugin::path();
    s.tool_env(program, args, &with_plugin(extra, &path))
}

/// alice on a token, bob with an age key; their 2-of-2 split of SECRET in set/.
fn token_split(s: &Scratch) -> String {
    let alice = plugin::token(s, "alice");
    let bob = s.age_key("bob");
    custodians(
        s,
        &[
            ("alice", format!("age = \"{alice}\"")),
            ("bob", format!("age = \"{bob}\"")),
        ],
    );
    s.write("secret.bin", SECRET);
    ceremony(
        s,
        &[
            "unseal",
            "share",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "set",
            "--secret-file",
            "secret.bin",
        ],
        &[],
    )
    .success();
    alice
}

#[test]
fn a_token_custodians_share_opens_with_real_age_and_what_age_seals_opens_with_ceremony() {
    require("age");
    let s = Scratch::new();
    let alice = token_split(&s);
    assert!(alice.starts_with("age1ceremonytest1"), "{alice}");

    // The manifest records the custodian's kind and plugin.
    let set: serde_json::Value = serde_json::from_slice(&s.read("set/shareset.json")).unwrap();
    let recipient = &set["custodians"][0]["recipient"];
    assert_eq!(recipient["type"], "plugin");
    assert_eq!(recipient["plugin"], NAME);
    assert_eq!(recipient["recipient"], alice.as_str());
    assert_eq!(set["custodians"][1]["recipient"]["type"], "age");

    // The stock age opens ceremony's share file with the same plugin.
    tool(
        &s,
        "age",
        &[
            "-d",
            "-i",
            "alice.token",
            "-o",
            "alice.json",
            "set/alice.share.age",
        ],
        &[],
    )
    .success();
    let doc: serde_json::Value = serde_json::from_slice(&s.read("alice.json")).unwrap();
    assert_eq!(doc["custodian"], "alice");
    assert_eq!(doc["set_id"], set["set_id"]);

    // A file the stock age encrypts to the token opens with ceremony: the
    // same share, sealed again by age, verifies and combines.
    tool(
        &s,
        "age",
        &["-r", &alice, "-a", "-o", "resealed.age", "alice.json"],
        &[],
    )
    .success();
    let header = String::from_utf8(s.read("resealed.age")).unwrap();
    assert!(header.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    ceremony(
        &s,
        &[
            "unseal",
            "verify",
            "--shareset",
            "set/shareset.json",
            "resealed.age",
            "-i",
            "alice.token",
        ],
        &[],
    )
    .success();
    let combined = ceremony(
        &s,
        &[
            "unseal",
            "combine",
            "--allow-online",
            "--shareset",
            "set/shareset.json",
            "resealed.age",
            "set/bob.share.age",
            "-i",
            "alice.token",
            "-i",
            "bob.key",
            "--emit",
            "hex",
        ],
        &[],
    )
    .success();
    assert_eq!(combined.stdout_text().trim(), hex::encode(SECRET));
}

#[test]
fn root_init_records_token_custodians_and_root_emit_takes_their_identities() {
    let s = Scratch::new();
    let alice = plugin::token(&s, "alice");
    let bob = plugin::token(&s, "bob");
    let carol = s.age_key("carol");
    custodians(
        &s,
        &[
            ("alice", format!("age = \"{alice}\"")),
            ("bob", format!("age = \"{bob}\"")),
            ("carol", format!("age = \"{carol}\"")),
        ],
    );
    let system = fake_system(s.dir.path(), false);
    ceremony(
        &s,
        &[
            "root",
            "init",
            "--yes",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "root",
            "--system-root",
            system.to_str().unwrap(),
        ],
        &[],
    )
    .success();
    let manifest: serde_json::Value = serde_json::from_slice(&s.read("root/root.json")).unwrap();
    for set in manifest["share_sets"].as_array().unwrap() {
        assert_eq!(set["custodians"][0]["recipient"]["type"], "plugin");
        assert_eq!(set["custodians"][1]["recipient"]["recipient"], bob.as_str());
        assert_eq!(set["custodians"][2]["recipient"]["type"], "age");
    }
    let shown = ceremony(&s, &["root", "show", "root"], &[]).success();
    assert!(
        shown.stdout_text().contains("age-plugin-ceremonytest"),
        "{}",
        shown.stdout_text()
    );
    ceremony(&s, &["root", "verify", "root"], &[]).success();

    // Two tokens make a quorum; a token and a key file make the same Secret.
    let emit = |quorum: &[(&str, &str)]| {
        let mut args = vec![
            "root",
            "emit",
            "openbao-static-seal",
            "--allow-online",
            "--root",
            "root",
        ];
        let files: Vec<String> = quorum
            .iter()
            .map(|(name, _)| format!("root/shares/{name}.age"))
            .collect();
        args.extend(files.iter().map(String::as_str));
        for (_, identity) in quorum {
            args.extend(["-i", identity]);
        }
        ceremony(&s, &args, &[]).success().stdout_text()
    };
    let by_tokens = emit(&[("alice", "alice.token"), ("bob", "bob.token")]);
    let mixed = emit(&[("carol", "carol.key"), ("bob", "bob.token")]);
    assert!(by_tokens.contains("kind: Secret"), "{by_tokens}");
    assert_eq!(by_tokens, mixed);

    // Day N: a new unseal key, split again to the same custodians (the
    // plugin recipients read back from root.json), opened by the tokens.
    ceremony(
        &s,
        &[
            "root",
            "rotate",
            "--yes",
            "--allow-online",
            "--root",
            "root",
            "--key",
            "unseal-key",
            "root/shares/alice.age",
            "root/shares/bob.age",
            "-i",
            "alice.token",
            "-i",
            "bob.token",
        ],
        &[],
    )
    .success();
    let v2: serde_json::Value = serde_json::from_slice(&s.read("root/root.json")).unwrap();
    assert_eq!(v2["lineage"]["version"], 2);
    assert_eq!(
        v2["share_sets"][0]["custodians"][0]["recipient"],
        manifest["share_sets"][0]["custodians"][0]["recipient"]
    );
    let rotated = emit(&[("alice", "alice.token"), ("bob", "bob.token")]);
    assert!(rotated.contains("kind: Secret"), "{rotated}");
    assert_ne!(rotated, by_tokens);
    assert_eq!(
        rotated,
        emit(&[("carol", "carol.key"), ("alice", "alice.token")])
    );
}

#[test]
fn bootstrap_open_and_sops_take_a_plugin_identity_from_sops_age_key_file() {
    require("sops");
    let s = Scratch::new();
    let token = plugin::token(&s, "operator");
    s.write(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo\n  namespace: default\nstringData:\n  password: opened-by-a-token\n",
    );
    let key_file = s.path("operator.token");
    let key_file = key_file.to_str().unwrap();
    let sops_env = [
        ("SOPS_AGE_KEY_FILE", key_file),
        ("SOPS_DISABLE_VERSION_CHECK", "1"),
    ];

    // ceremony seals to the token's recipient; ceremony and sops 3.11 open it.
    let sealed = ceremony(
        &s,
        &["bootstrap", "seal", "--recipient", &token, "secret.yaml"],
        &[],
    )
    .success();
    s.write("sealed.yaml", sealed.stdout_text());
    assert!(
        sealed
            .stdout_text()
            .contains(&format!("recipient: {token}"))
    );
    assert!(!sealed.stdout_text().contains("opened-by-a-token"));
    let opened = ceremony(&s, &["bootstrap", "open", "sealed.yaml"], &sops_env).success();
    assert!(opened.stdout_text().contains("password: opened-by-a-token"));
    let by_sops = tool(&s, "sops", &["-d", "sealed.yaml"], &sops_env).success();
    assert!(
        by_sops
            .stdout_text()
            .contains("password: opened-by-a-token")
    );

    // sops seals to the token; ceremony opens it (the key in the file alone).
    let by_sops = tool(
        &s,
        "sops",
        &[
            "-e",
            "--age",
            &token,
            "--encrypted-regex",
            "^(data|stringData)$",
            "secret.yaml",
        ],
        &sops_env,
    )
    .success();
    s.write("by-sops.yaml", by_sops.stdout_text());
    let opened = ceremony(&s, &["bootstrap", "open", "by-sops.yaml"], &sops_env).success();
    assert!(opened.stdout_text().contains("password: opened-by-a-token"));

    // Without the identity it does not open (exit 7), and says what to pass.
    ceremony(&s, &["bootstrap", "open", "by-sops.yaml"], &[])
        .fails_with(7, "no age identity given");
}

fn probe(text: &str, field: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}: ")))
        .unwrap_or_else(|| panic!("{field} missing from the probe:\n{text}"))
        .to_owned()
}

#[test]
fn the_plugin_ceremony_starts_cannot_open_inet_sockets_but_unix_ones() {
    require("age");
    let s = Scratch::new();
    token_split(&s);
    let file = s.path("probe.txt");
    let file = file.to_str().unwrap();
    let env = [
        ("CEREMONYTEST_PROBE", file),
        ("CEREMONYTEST_MARKER", "from-ceremony"),
    ];
    ceremony(
        &s,
        &[
            "unseal",
            "verify",
            "--shareset",
            "set/shareset.json",
            "set/alice.share.age",
            "-i",
            "alice.token",
        ],
        &env,
    )
    .success();
    let seen = String::from_utf8(s.read("probe.txt")).unwrap();
    let eafnosupport = format!("refused errno {}", libc::EAFNOSUPPORT);
    assert_eq!(probe(&seen, "inet"), eafnosupport, "{seen}");
    assert_eq!(probe(&seen, "inet6"), eafnosupport, "{seen}");
    // pcscd (for age-plugin-yubikey) is a unix socket: still allowed.
    assert_eq!(probe(&seen, "unix"), "opened", "{seen}");
    assert_eq!(probe(&seen, "NoNewPrivs"), "1", "{seen}");
    assert_eq!(probe(&seen, "Seccomp"), "2", "{seen}");
    // Its environment is ceremony's; stdin and stdout are the protocol's
    // pipes, stderr is /dev/null; it runs in a directory of its own.
    assert_eq!(probe(&seen, "marker"), "from-ceremony", "{seen}");
    assert!(probe(&seen, "fd0").starts_with("pipe:"), "{seen}");
    assert!(probe(&seen, "fd1").starts_with("pipe:"), "{seen}");
    assert_eq!(probe(&seen, "fd2"), "/dev/null", "{seen}");
    let cwd = probe(&seen, "cwd");
    assert!(
        !cwd.is_empty() && !cwd.starts_with(&s.dir.path().display().to_string()),
        "{seen}"
    );

    // The control: the stock age, which has no such filter, starts the
    // same plugin and it can open an internet socket.
    std::fs::remove_file(file).unwrap();
    tool(
        &s,
        "age",
        &[
            "-d",
            "-i",
            "alice.token",
            "-o",
            "x.json",
            "set/alice.share.age",
        ],
        &[("CEREMONYTEST_PROBE", file)],
    )
    .success();
    let seen = String::from_utf8(s.read("probe.txt")).unwrap();
    assert_eq!(probe(&seen, "inet"), "opened", "{seen}");
    assert_eq!(probe(&seen, "Seccomp"), "0", "{seen}");
}

#[test]
fn pin_touch_and_insert_prompts_reach_the_terminal_never_stdout() {
    let s = Scratch::new();
    token_split(&s);
    let combine = format!(
        "PATH='{}' CEREMONYTEST_PIN=4242 CEREMONYTEST_TOUCH=1 CEREMONYTEST_INSERT=1 {} unseal combine --allow-online --shareset set/shareset.json set/alice.share.age set/bob.share.age -i alice.token -i bob.key --emit hex",
        plugin::path(),
        ceremony_bin().display()
    );
    let t = Tmux::start(s.dir.path(), &format!("{combine} > out.hex"));
    t.wait_for("Insert your ceremonytest token", 1);
    t.type_line(""); // the first answer: "It is inserted"
    t.wait_for("Enter the PIN of your ceremonytest token", 1);
    t.type_line("4242");
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    t.wait_for("age-plugin-ceremonytest: Touch your ceremonytest token", 1);
    assert!(!t.screen().contains("4242"), "the PIN is never echoed");
    // stdout holds the product and nothing the plugin said or asked.
    assert_eq!(
        String::from_utf8(s.read("out.hex")).unwrap(),
        format!("{}\n", hex::encode(SECRET))
    );

    // A wrong PIN: the plugin refuses and ceremony says so; alice's share
    // is skipped, and bob's alone is not a quorum (exit 5).
    let t = Tmux::start(
        s.dir.path(),
        &format!(
            "{} > out2.hex",
            combine.replace(" CEREMONYTEST_INSERT=1", "")
        ),
    );
    t.wait_for("Enter the PIN", 1);
    t.type_line("0000");
    assert_eq!(t.exit_code(), 5, "{}", t.screen());
    t.wait_for("age-plugin-ceremonytest refused: wrong PIN; skipped", 1);

    // "Skip it": the token is not used at all.
    let t = Tmux::start(s.dir.path(), &format!("{combine} > out3.hex"));
    t.wait_for("Insert your ceremonytest token", 1);
    t.send_keys(&["Down", "Enter"]);
    assert_eq!(t.exit_code(), 5, "{}", t.screen());
    t.wait_for("none of the given identities opens this share", 1);
    t.wait_for("Insert your ceremonytest token: Skip it", 1);
    assert!(!t.screen().contains("Enter the PIN"), "{}", t.screen());
    for out in ["out2.hex", "out3.hex"] {
        assert!(s.read(out).is_empty(), "{out}");
    }
}

#[test]
fn without_a_terminal_a_pin_is_not_asked_and_the_command_fails_at_once() {
    require("setsid");
    let s = Scratch::new();
    token_split(&s);
    let bin = ceremony_bin();
    // setsid: no controlling terminal, as in a script or CI.
    let run = tool(
        &s,
        "setsid",
        &[
            "-w",
            bin.to_str().unwrap(),
            "unseal",
            "verify",
            "--shareset",
            "set/shareset.json",
            "set/alice.share.age",
            "-i",
            "alice.token",
        ],
        &[("CEREMONYTEST_PIN", "4242"), ("CEREMONYTEST_INSERT", "1")],
    );
    run.fails_with(
        7,
        "age-plugin-ceremonytest refused: the token was not inserted",
    );
}

#[test]
fn a_missing_plugin_program_is_named_before_anything_is_asked_or_written() {
    let s = Scratch::new();
    let missing = plugin::recipient_of_missing_plugin("ceremonyabsent");
    custodians(
        &s,
        &[
            ("alice", format!("age = \"{missing}\"")),
            ("carol", "passphrase = true".to_owned()),
        ],
    );
    s.write("secret.bin", SECRET);
    // Checked before carol is asked for a passphrase (there is no
    // terminal here: that would fail differently).
    ceremony(
        &s,
        &[
            "unseal",
            "share",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "set",
            "--secret-file",
            "secret.bin",
        ],
        &[],
    )
    .fails_with(
        8,
        "the age plugin program age-plugin-ceremonyabsent is not installed (it is not on PATH)",
    )
    .fails_with(8, "hint: install the plugin so that it is on PATH");
    assert!(!s.path("set").exists());

    // An identity of a plugin that is not installed: named when loaded.
    token_split(&s);
    s.write(
        "absent.token",
        format!(
            "# a token of another kind\n{}\n",
            plugin::identity_of_missing_plugin("ceremonyabsent")
        ),
    );
    let run = ceremony(
        &s,
        &[
            "unseal",
            "verify",
            "--shareset",
            "set/shareset.json",
            "set/alice.share.age",
            "-i",
            "alice.token",
            "-i",
            "absent.token",
        ],
        &[],
    )
    .fails_with(
        8,
        "absent.token: the age plugin program age-plugin-ceremonyabsent is not installed",
    );
    assert!(!run.stderr_text().contains("AGE-PLUGIN-CEREMONYABSENT"));
}

#[test]
fn a_broken_or_hostile_plugin_fails_clearly_and_never_hangs() {
    let s = Scratch::new();
    token_split(&s);
    let secret_line = std::fs::read_to_string(s.path("alice.token"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-PLUGIN-"))
        .unwrap()
        .to_owned();
    let verify = [
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/alice.share.age",
        "-i",
        "alice.token",
    ];
    let cases: &[(&str, i32, &str)] = &[
        (
            "silent",
            7,
            "age-plugin-ceremonytest did not answer for 2 s and was stopped",
        ),
        (
            "orphan",
            7,
            "age-plugin-ceremonytest did not answer for 2 s and was stopped",
        ),
        (
            "flood-output",
            7,
            "age-plugin-ceremonytest wrote more than 16 MiB and was stopped",
        ),
        (
            "flood-messages",
            7,
            "age-plugin-ceremonytest sent more than 100 messages and was stopped",
        ),
        (
            "garbage",
            7,
            "broke the age plugin protocol: it sent something that is not an age plugin message",
        ),
        (
            "die",
            7,
            "broke the age plugin protocol: it stopped before it answered",
        ),
        (
            "bad-length",
            7,
            "broke the age plugin protocol: it answered with a file key of the wrong size",
        ),
        (
            "escape-error",
            7,
            "age-plugin-ceremonytest refused: [2J [31mtoken locked [0m reversed",
        ),
        (
            "key-in-error",
            7,
            "refused: (withheld: the text looks like it holds a private key)",
        ),
        // A key that is not the file's fails the header MAC, as a damaged file does.
        ("wrong-key", 4, "the encrypted content is damaged"),
    ];
    for (mode, code, needle) in cases {
        let started = Instant::now();
        let run = ceremony(
            &s,
            &verify,
            &[
                ("CEREMONYTEST_MODE", mode),
                ("CEREMONY_PLUGIN_TIMEOUT", "2"),
            ],
        );
        let took = started.elapsed();
        let stderr = run.stderr_text();
        assert!(took < Duration::from_secs(30), "{mode}: took {took:?}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{mode}: an escape reached stderr"
        );
        assert!(
            !stderr.contains('\u{202e}'),
            "{mode}: a bidi override reached stderr"
        );
        assert!(!stderr.contains("QQQQ"), "{mode}: {stderr}");
        assert!(!stderr.contains(&secret_line), "{mode}: {stderr}");
        assert!(
            run.stdout_text().is_empty(),
            "{mode}: {}",
            run.stdout_text()
        );
        run.fails_with(*code, needle);
    }

    // Encrypting: refused (the recipient: input, 3), silent or dead (io, 8);
    // nothing is written.
    for (mode, code, needle) in [
        (
            "refuse",
            3,
            "age-plugin-ceremonytest refused: this token is locked",
        ),
        (
            "silent",
            8,
            "age-plugin-ceremonytest did not answer for 2 s and was stopped",
        ),
        (
            "die",
            8,
            "broke the age plugin protocol: it stopped before it answered",
        ),
    ] {
        let run = ceremony(
            &s,
            &[
                "unseal",
                "share",
                "--yes",
                "--allow-online",
                "--custodians",
                "custodians.toml",
                "--threshold",
                "2",
                "--out",
                "again",
                "--secret-file",
                "secret.bin",
            ],
            &[
                ("CEREMONYTEST_MODE", mode),
                ("CEREMONY_PLUGIN_TIMEOUT", "2"),
            ],
        );
        run.fails_with(code, needle);
        assert!(!s.path("again").exists(), "{mode}");
    }
}

#[test]
fn agedebug_plugin_is_refused_and_the_timeout_must_be_seconds() {
    let s = Scratch::new();
    token_split(&s);
    let verify = [
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/alice.share.age",
        "-i",
        "alice.token",
    ];
    // With it, the age library would print the file key to stderr.
    let run =
        ceremony(&s, &verify, &[("AGEDEBUG", "plugin")]).fails_with(6, "AGEDEBUG=plugin is set");
    assert!(
        !run.stderr_text().contains("file-key"),
        "{}",
        run.stderr_text()
    );
    ceremony(&s, &verify, &[("CEREMONY_PLUGIN_TIMEOUT", "soon")]).fails_with(
        2,
        "CEREMONY_PLUGIN_TIMEOUT must be a whole number of seconds from 1 to 3600",
    );
    ceremony(&s, &verify, &[("CEREMONY_PLUGIN_TIMEOUT", "120")]).success();
}
