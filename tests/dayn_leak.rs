//! Day N, a credential leak (design §7.8, issue 12 scenario 3,
//! `docs/runbooks/credential-leak.md`): one bootstrap Secret value leaks;
//! `bootstrap set` seals its new value (a quorum rebuilds the bootstrap
//! identity in memory to open the file), the real sops opens the file to
//! the new value, a challenge names just that item, the runtime side
//! stores the new value in a real OpenBao KV v2 mount and answers with a
//! receipt signed by transit, and `handover verify --deep` proves that the
//! authority holds the new value, and only that item. With the authority
//! still holding the old value, it fails on exactly that item.
//!
//! The other tests here drive `bootstrap set` itself: how it reads the
//! value (pipe, newline, terminal) and what it refuses, each time leaving
//! the file as it was.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use ceremony::root::RootSecret;
use ceremony::sops::{self, Format, MacCheck};

use crate::util::custodians::{bootstrap_key, offline_root, rebuild_secret};
use crate::util::handover::{AUTHORITY, failed_lines, not_checked_lines};
use crate::util::openbao::Bao;
use crate::util::tmux::Tmux;
use crate::util::{Run, Scratch, ceremony_bin, require};

const OLD: &str = "old-db-password";
const NEW: &str = "n3w-db-passw0rd";

/// The Secret whose `password` leaks, and two that do not.
const DB_YAML: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
type: Opaque
data:
  password: b2xkLWRiLXBhc3N3b3Jk
stringData:
  user: admin
";

const API_YAML: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: api-token
stringData:
  token: api-token-v1
";

const GIT_YAML: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: git-credentials
  namespace: flux-system
stringData:
  identity: ssh-private-key-text
";

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

/// The real sops, with `key` as its only identity.
fn sops_decrypt(s: &Scratch, key: &str, file: &str) -> Run {
    require("sops");
    let key = s.path(key);
    s.tool_env(
        "sops",
        &["-d", file],
        &[
            ("SOPS_AGE_KEY_FILE", key.to_str().unwrap()),
            ("SOPS_DISABLE_VERSION_CHECK", "1"),
        ],
    )
}

/// The data key of a sealed file, as the library opens it with `ids`.
fn data_key(s: &Scratch, file: &str, ids: &[ceremony::identity::Identity]) -> Vec<u8> {
    let opened = sops::open_file(&s.read(file), Format::Yaml, ids, MacCheck::Verify).unwrap();
    opened.data_key().expose_secret().to_vec()
}

/// `bao kv get -format=json -mount=secret PATH` (of `version`, if given)
/// into `DIR/PATH.json`: what the runtime side carries to the workstation.
fn export(s: &Scratch, bao: &Bao, dir: &str, path: &str, version: Option<&str>) {
    let mut args = vec!["kv", "get", "-format=json", "-mount=secret"];
    let flag = version.map(|v| format!("-version={v}"));
    if let Some(flag) = &flag {
        args.push(flag);
    }
    args.push(path);
    let file = s.path(&format!("{dir}/{path}.json"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, bao.ok(&args)).unwrap();
}

/// `handover receipt --kv DIR` for challenge.json, signed by OpenBao's
/// transit key `receipts` and attached: a receipt as the runtime side
/// sends it.
fn signed_receipt(s: &Scratch, bao: &Bao, kv: &str, out: &str) -> Run {
    let made = s
        .ceremony(&[
            "handover",
            "receipt",
            "--challenge",
            "challenge.json",
            "--kv",
            kv,
            "--authority",
            AUTHORITY,
            "--unsigned",
            "--out",
            out,
        ])
        .success();
    let input = format!("input={}", STANDARD.encode(s.read(&format!("{out}.pae"))));
    let signature = bao.ok(&["write", "-field=signature", "transit/sign/receipts", &input]);
    s.write(&format!("{out}.sig"), signature);
    s.ceremony(&[
        "handover",
        "attach-signature",
        out,
        "--scheme",
        "transit",
        "--signature",
        &format!("{out}.sig"),
    ])
    .success();
    made
}

/// The report lines whose check is `check` (`✓ item apps/db/password …`).
fn lines_of<'a>(text: &'a str, check: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(check))
        .collect()
}

#[test]
fn a_leaked_value_is_replaced_in_git_and_the_authority_proven_to_hold_the_new_one() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]).to_str().unwrap().to_owned();
    for (file, text) in [
        ("tree/apps/db.yaml", DB_YAML),
        ("tree/apps/api.yaml", API_YAML),
        ("tree/flux/git.yaml", GIT_YAML),
    ] {
        std::fs::create_dir_all(s.path(file).parent().unwrap()).unwrap();
        s.write(file, text);
    }
    s.ceremony(&["bootstrap", "seal", "--in-place", "--root", "root", "tree"])
        .success();
    // What Git holds from before the leak.
    std::fs::create_dir(s.path("git-history")).unwrap();
    std::fs::copy(s.path("tree/apps/db.yaml"), s.path("git-history/db.yaml")).unwrap();
    let api_before = s.read("tree/apps/api.yaml");
    let git_before = s.read("tree/flux/git.yaml");
    // The bootstrap identity as Flux holds it, for the real sops; and as
    // the library opens files with it, for the data keys.
    let secret = rebuild_secret(
        &s,
        "root",
        RootSecret::Bootstrap,
        &[("alice", "alice.key"), ("bob", "bob.key")],
    );
    let key = bootstrap_key(&secret);
    s.write(
        "flux.key",
        format!("{}\n", key.identity_text().unwrap().expose_secret()),
    );
    let ids: Vec<ceremony::identity::Identity> = vec![Box::new(key.identity().unwrap())];
    let old_data_key = data_key(&s, "tree/apps/db.yaml", &ids);

    // `apps/db/password` leaked; it was changed at its source. A quorum
    // (alice, carol) opens the file; the new value comes on stdin, with the
    // newline `echo` adds.
    let mut set = strings(&[
        "bootstrap",
        "set",
        "tree/apps/db.yaml",
        "--item",
        "apps/db/password",
        "--root",
        "root",
        "--system-root",
        &system,
    ]);
    for name in ["alice", "carol"] {
        set.extend(strings(&["--bundle", &format!("root/shares/{name}.age")]));
        set.extend(strings(&["-i", &format!("{name}.key")]));
    }
    let args: Vec<&str> = set.iter().map(String::as_str).collect();
    let out = s
        .ceremony_with_stdin(&args, format!("{NEW}\n").as_bytes())
        .success();
    let notes = out.stderr_text();
    assert!(out.output.stdout.is_empty(), "{}", out.stdout_text());
    assert!(
        notes.contains("removed one trailing \\n from stdin"),
        "{notes}"
    );
    assert!(
        notes.contains("apps/db/password set (data); the file has a new data key"),
        "{notes}"
    );
    let sealed = String::from_utf8(s.read("tree/apps/db.yaml")).unwrap();
    for value in [NEW, OLD, &STANDARD.encode(NEW), &STANDARD.encode(OLD)] {
        assert!(!notes.contains(value), "{notes}");
        assert!(!sealed.contains(value), "{sealed}");
    }
    // Only that file changed; it has a new data key.
    assert_eq!(s.read("tree/apps/api.yaml"), api_before);
    assert_eq!(s.read("tree/flux/git.yaml"), git_before);
    let new_data_key = data_key(&s, "tree/apps/db.yaml", &ids);
    assert_eq!(new_data_key.len(), 32);
    assert_ne!(new_data_key, old_data_key, "the old data key was kept");
    s.ceremony(&["bootstrap", "verify", "--root", "root", "tree"])
        .success();

    // The real sops opens it (MAC checked) to the new value; the other
    // value of the Secret is as it was.
    let opened = sops_decrypt(&s, "flux.key", "tree/apps/db.yaml")
        .success()
        .stdout_text();
    assert!(
        opened.contains(&format!("password: {}", STANDARD.encode(NEW))),
        "{opened}"
    );
    assert!(opened.contains("user: admin"), "{opened}");
    assert!(!opened.contains(&STANDARD.encode(OLD)), "{opened}");
    // Git history still opens to the old value: why the credential itself
    // must be changed, not only re-sealed.
    assert!(
        sops_decrypt(&s, "flux.key", "git-history/db.yaml")
            .success()
            .stdout_text()
            .contains(&STANDARD.encode(OLD))
    );

    // A challenge for just that item. A misspelt one is named.
    let challenge = |item: &str, out: &str| {
        s.ceremony(&[
            "handover",
            "challenge",
            "--root",
            "root",
            "--bootstrap",
            "tree",
            "--authority",
            AUTHORITY,
            "--item",
            item,
            "--out",
            out,
        ])
    };
    challenge("apps/db/pasword", "typo.json").fails_with(
        3,
        "not in any sealed file of the bootstrap directory: apps/db/pasword",
    );
    assert!(!s.path("typo.json").exists());
    challenge("apps/db/password", "challenge.json").success();
    let json: serde_json::Value = serde_json::from_slice(&s.read("challenge.json")).unwrap();
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{json}");
    assert_eq!(files[0]["path"], "apps/db.yaml");
    assert_eq!(
        files[0]["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            s.read("tree/apps/db.yaml")
        ))
    );
    let items = files[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{json}");
    assert_eq!(items[0]["id"], "apps/db/password");
    assert_eq!(items[0]["field"], "data");

    // The runtime side: OpenBao held the old value (version 1); the new
    // one is patched in from stdin (version 2), never on a command line.
    let bao = Bao::start_unsealed(&s.path("bao"));
    bao.ok(&["secrets", "enable", "-path=secret", "-version=2", "kv"]);
    bao.ok(&["secrets", "enable", "transit"]);
    bao.ok(&["write", "-f", "transit/keys/receipts", "type=ecdsa-p256"]);
    let old_pair = format!("password={OLD}");
    bao.ok(&[
        "kv",
        "put",
        "-mount=secret",
        "apps/db",
        &old_pair,
        "user=admin",
    ]);
    let patched = bao.bao_with_stdin(
        &["kv", "patch", "-mount=secret", "apps/db", "password=-"],
        NEW.as_bytes(),
    );
    assert!(
        patched.status.success(),
        "{}",
        String::from_utf8_lossy(&patched.stderr)
    );
    export(&s, &bao, "kv", "apps/db", None);
    let receipt = signed_receipt(&s, &bao, "kv", "receipt.json");
    assert!(
        receipt
            .stderr_text()
            .contains("apps/db/user: in the values but not in the challenge; not acknowledged"),
        "{}",
        receipt.stderr_text()
    );
    s.write(
        "receipts.json",
        bao.ok(&["read", "-format=json", "transit/keys/receipts"]),
    );
    let trust = s
        .ceremony(&[
            "handover",
            "trust",
            "from-transit",
            "receipts.json",
            "--authority",
            AUTHORITY,
        ])
        .success()
        .stdout_text();
    s.write("trust.txt", trust);

    // The operator, offline: the quorum rebuilds the bootstrap key and
    // recomputes the commitment from the sealed (new) value.
    let verify = |receipt: &str| {
        s.ceremony(&[
            "handover",
            "verify",
            "--challenge",
            "challenge.json",
            "--receipt",
            receipt,
            "--trust",
            "trust.txt",
            "--bootstrap",
            "tree",
            "--deep",
            "--root",
            "root",
            "root/shares/alice.age",
            "root/shares/bob.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "--system-root",
            &system,
        ])
    };
    let out = verify("receipt.json").success();
    let text = out.stdout_text();
    assert!(failed_lines(&text).is_empty(), "{text}");
    assert!(not_checked_lines(&text).is_empty(), "{text}");
    let item_lines = lines_of(&text, "item");
    assert_eq!(item_lines.len(), 1, "{text}");
    assert!(
        item_lines[0].starts_with("✓ item apps/db/password")
            && item_lines[0].ends_with("stored at secret/data/apps/db version 2"),
        "{text}"
    );
    let commitments = lines_of(&text, "commitment");
    assert_eq!(commitments.len(), 1, "{text}");
    assert!(
        commitments[0].starts_with("✓ commitment apps/db/password"),
        "{text}"
    );
    assert_eq!(lines_of(&text, "subject").len(), 1, "{text}");
    for other in ["apps/db/user", "api-token", "git-credentials", "api.yaml"] {
        assert!(!text.contains(other), "{other} in:\n{text}");
    }
    assert!(
        out.stderr_text().contains("Handover verified: challenge")
            && out
                .stderr_text()
                .contains("1 item(s), every commitment recomputed"),
        "{}",
        out.stderr_text()
    );

    // The authority still holding the old value (its version 1): the
    // receipt is genuine and signed, and --deep fails on exactly that item.
    export(&s, &bao, "kv-old", "apps/db", Some("1"));
    signed_receipt(&s, &bao, "kv-old", "old.json");
    // Without --deep it passes: the signature and the items are in order,
    // only the commitments say which value the authority holds.
    let shallow = s
        .ceremony(&[
            "handover",
            "verify",
            "--challenge",
            "challenge.json",
            "--receipt",
            "old.json",
            "--trust",
            "trust.txt",
            "--bootstrap",
            "tree",
        ])
        .success();
    assert!(
        shallow
            .stderr_text()
            .contains("commitments not recomputed (needs --deep)"),
        "{}",
        shallow.stderr_text()
    );
    let out = verify("old.json").fails_with(4, "handover NOT verified: 1 check(s) failed");
    let text = out.stdout_text();
    let failed = failed_lines(&text);
    assert_eq!(failed.len(), 1, "{text}");
    assert_eq!(
        failed[0].split_whitespace().take(3).collect::<Vec<_>>(),
        ["✗", "commitment", "apps/db/password"],
        "{text}"
    );
    assert!(
        lines_of(&text, "item")[0].ends_with("stored at secret/data/apps/db version 1"),
        "{text}"
    );
    // No value reaches a receipt or a report.
    for value in [NEW, OLD] {
        for file in ["receipt.json", "old.json", "challenge.json"] {
            assert!(
                !String::from_utf8_lossy(&s.read(file)).contains(value),
                "{value} in {file}"
            );
        }
        assert!(!text.contains(value));
    }
}

/// A tree sealed to an age key `op.key` (a plain identity, no quorum).
fn sealed_tree(s: &Scratch) -> String {
    let recipient = s.age_key("op");
    std::fs::create_dir(s.path("tree")).unwrap();
    s.write("tree/db.yaml", DB_YAML);
    s.write(
        "tree/list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: in-list\n    stringData:\n      token: t\n",
    );
    s.write("tree/plain.yaml", API_YAML);
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--recipient",
        &recipient,
        "tree/db.yaml",
        "tree/list.yaml",
    ])
    .success();
    recipient
}

fn set(s: &Scratch, file: &str, item: &str, extra: &[&str], stdin: &[u8]) -> Run {
    let mut args = vec!["bootstrap", "set", file, "--item", item, "-i", "op.key"];
    args.extend_from_slice(extra);
    s.ceremony_with_stdin(&args, stdin)
}

/// The item's value bytes as `bootstrap open` (MAC checked) gives them.
fn opened_value(s: &Scratch, file: &str, field: &str, key: &str) -> Vec<u8> {
    let out = s
        .ceremony(&["bootstrap", "open", "-i", "op.key", file])
        .success();
    let tree = sops::parse_plain(&out.output.stdout, Format::Yaml).unwrap();
    let Some(sops::tree::Value::Branch(values)) = tree[0].get(field) else {
        panic!("no {field}")
    };
    let Some(sops::tree::Value::Str(text)) = values.get(key) else {
        panic!("no {key}")
    };
    let text = text.expose_secret().to_vec();
    if field == "data" {
        STANDARD.decode(text).unwrap()
    } else {
        text
    }
}

#[test]
fn set_takes_the_value_from_stdin_as_documented() {
    let s = Scratch::new();
    sealed_tree(&s);
    // One "\r\n" is removed, and only one "\n" of two.
    set(&s, "tree/db.yaml", "apps/db/password", &[], b"crlf\r\n").success();
    assert_eq!(
        opened_value(&s, "tree/db.yaml", "data", "password"),
        b"crlf"
    );
    set(&s, "tree/db.yaml", "apps/db/user", &[], b"two\n\n").success();
    assert_eq!(
        opened_value(&s, "tree/db.yaml", "stringData", "user"),
        b"two\n"
    );
    // --keep-newline keeps it; a value without one is taken as it is.
    set(
        &s,
        "tree/db.yaml",
        "apps/db/user",
        &["--keep-newline"],
        b"kept\n",
    )
    .success();
    assert_eq!(
        opened_value(&s, "tree/db.yaml", "stringData", "user"),
        b"kept\n"
    );
    let out = set(&s, "tree/db.yaml", "apps/db/password", &[], b"\x00bin\xff").success();
    assert!(!out.stderr_text().contains("removed one trailing"));
    assert_eq!(
        opened_value(&s, "tree/db.yaml", "data", "password"),
        b"\x00bin\xff"
    );
    // The mode is kept.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        s.path("tree/db.yaml"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    set(&s, "tree/db.yaml", "apps/db/password", &[], b"again").success();
    let mode = std::fs::metadata(s.path("tree/db.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    // At most 64 KiB.
    let big = vec![b'a'; 64 * 1024 + 1];
    set(&s, "tree/db.yaml", "apps/db/password", &[], &big).fails_with(3, "stdin");
}

#[test]
fn set_refuses_what_it_cannot_set_and_leaves_the_file_as_it_was() {
    let s = Scratch::new();
    sealed_tree(&s);
    s.age_key("other");
    let before = s.read("tree/db.yaml");
    // (file, item, identity, stdin, exit code, what stderr says)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a [u8], i32, &'a str);
    let db = "tree/db.yaml";
    let cases: &[Case] = &[
        (
            db,
            "apps/db/pasword",
            "op.key",
            b"x",
            3,
            "tree/db.yaml: Secret apps/db has no key \"pasword\" (its keys: password, user)",
        ),
        (
            db,
            "apps/web/password",
            "op.key",
            b"x",
            3,
            "no Secret apps/web in this file (it holds apps/db)",
        ),
        (
            db,
            "apps/db",
            "op.key",
            b"x",
            2,
            "--item: \"apps/db\" is not NAMESPACE/NAME/KEY",
        ),
        (
            "tree/list.yaml",
            "default/in-list/token",
            "op.key",
            b"x",
            3,
            "Secret default/in-list is document 1, items[0] of a List",
        ),
        (
            "tree/plain.yaml",
            "default/api-token/token",
            "op.key",
            b"x",
            3,
            "sops metadata not found",
        ),
        (
            db,
            "apps/db/password",
            "op.key",
            b"\n",
            3,
            "the new value of apps/db/password is empty",
        ),
        (
            db,
            "apps/db/password",
            "op.key",
            OLD.as_bytes(),
            6,
            "the value the file already holds; nothing was written",
        ),
        (
            db,
            "apps/db/user",
            "op.key",
            b"\xff\xfe",
            3,
            "is not UTF-8 text",
        ),
        // Checked before the value is read: stdin is left alone.
        (
            db,
            "apps/db/password",
            "other.key",
            b"x\n",
            7,
            "tree/db.yaml: no identity could open the data key",
        ),
    ];
    for (file, item, identity, stdin, code, message) in cases {
        let args = ["bootstrap", "set", file, "--item", item, "-i", identity];
        let out = s
            .ceremony_with_stdin(&args, stdin)
            .fails_with(*code, message);
        assert!(out.output.stdout.is_empty());
        assert!(!out.stderr_text().contains(OLD), "{}", out.stderr_text());
        if *code == 7 {
            assert!(
                !out.stderr_text().contains("stdin"),
                "{}",
                out.stderr_text()
            );
        }
        assert_eq!(s.read(db), before, "{item}: the file changed");
    }
    // A symbolic link is not replaced (that would cut it).
    std::os::unix::fs::symlink("db.yaml", s.path("tree/link.yaml")).unwrap();
    set(&s, "tree/link.yaml", "apps/db/password", &[], b"x").fails_with(6, "a symbolic link");
    assert_eq!(s.read("tree/db.yaml"), before);
}

#[test]
fn set_asks_twice_on_a_terminal_without_echo() {
    let s = Scratch::new();
    sealed_tree(&s);
    let t = Tmux::start(
        s.dir.path(),
        &format!(
            "{} bootstrap set tree/db.yaml --item apps/db/user -i op.key",
            ceremony_bin().display()
        ),
    );
    t.wait_for("New value for apps/db/user (not shown)", 1);
    t.type_line("typed-value-1");
    t.wait_for("Type the new value for apps/db/user again", 1);
    t.type_line("typed-value-2");
    t.wait_for("The two entries differ; try again.", 1);
    t.wait_for("New value for apps/db/user (not shown)", 2);
    t.type_line("typed-value-1");
    t.wait_for("Type the new value for apps/db/user again", 2);
    t.type_line("typed-value-1");
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    let screen = t.screen();
    assert!(screen.contains("apps/db/user set (stringData)"), "{screen}");
    assert!(!screen.contains("typed-value"), "echoed:\n{screen}");
    assert_eq!(
        opened_value(&s, "tree/db.yaml", "stringData", "user"),
        b"typed-value-1"
    );
}
