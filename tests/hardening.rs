//! The promises under hostile input and careless use, one test per way
//! they were found broken: wrapped cleartext Secrets, closed and full
//! output streams, inputs that never end, FIFOs, pasted private keys, one
//! key for two custodians, scripts without consent, and the preflight in a
//! network namespace of its own.
//!
//! Each test names the promise it holds the tool to. Faults of the file
//! system (a full disk, kill -9) are in `faults.rs`.

use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

use crate::util::custodians::{Key, offline_root, write_custodians};
use crate::util::{Run, Scratch, ceremony_bin, hermetic, require};

/// A root in `root/` (three age custodians, offline) and its custodians'
/// keys, ready for bootstrap and unseal commands.
fn with_root() -> (Scratch, String) {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    (s, system.to_str().expect("utf-8").to_owned())
}

/// `unseal share` of a random secret to `custodians.toml`, 2 of them
/// needed, into `set/`, then `extra`.
fn share_to_custodians_file(s: &Scratch, extra: &[&str]) -> Run {
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    s.ceremony(&args)
}

fn verify(s: &Scratch, path: &str) -> Run {
    s.ceremony(&["bootstrap", "verify", "--root", "root", path])
}

/// Nothing secret reaches Git in clear, however the Secret is wrapped:
/// kubectl and kustomize apply the Secret inside a `kind: List`, reached
/// through a YAML merge key, or in a JSON List.
#[test]
fn verify_sees_secrets_inside_lists_merge_keys_and_json() {
    let (s, _) = with_root();
    std::fs::create_dir(s.path("repo")).unwrap();
    s.write(
        "repo/list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: listed\n  stringData:\n    token: in-clear-1\n",
    );
    s.write(
        "repo/merge.yaml",
        "base: &secret\n  apiVersion: v1\n  kind: Secret\n---\n<<: {apiVersion: v1, kind: Secret}\nmetadata:\n  name: merged\nstringData:\n  token: in-clear-2\n",
    );
    s.write(
        "repo/list.json",
        r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"json"},"data":{"token":"aW4tY2xlYXItMw=="}}]}"#,
    );
    let run = verify(&s, "repo").fails_with(4, "3 of 3 file(s) checked");
    let out = run.stdout_text();
    for needle in [
        "repo/list.json: items[0].data:token",
        "repo/list.yaml: items[0].stringData:token",
        "repo/merge.yaml: stringData:token",
    ] {
        assert!(out.contains(needle), "{needle:?} not in:\n{out}");
    }
    assert!(!out.contains("in-clear"), "a value in the report:\n{out}");

    // Sealed, each file passes: the Secret rule reaches into the List.
    s.ceremony(&["bootstrap", "seal", "--in-place", "--root", "root", "repo"])
        .success();
    verify(&s, "repo").success();
}

/// A listing cut short by a closed pipe keeps the command's own outcome,
/// and a product (a secret) not delivered is a failure.
#[test]
fn a_closed_stdout_never_turns_a_failure_into_success() {
    let (s, system) = with_root();
    std::fs::create_dir(s.path("repo")).unwrap();
    s.write(
        "repo/db.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n",
    );
    let closed = |args: &[&str]| -> i32 {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let mut command = Command::new(ceremony_bin());
        hermetic(&mut command, s.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::null());
        command.status().expect("run").code().unwrap_or(-1)
    };
    assert_eq!(
        closed(&["bootstrap", "verify", "--root", "root", "repo"]),
        4,
        "a failed verify stays a failure"
    );
    let emit = [
        "root",
        "emit",
        "flux-age-secret",
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
    ];
    assert_eq!(closed(&emit), 8, "an undelivered secret is an io failure");
}

/// Writing to a full disk is an io failure (exit 8), never a panic.
#[test]
fn stdout_on_a_full_disk_is_exit_8_never_a_panic() {
    let (s, _) = with_root();
    for args in [
        &["root", "show", "root"][..],
        &["root", "verify", "root"][..],
        &["root", "verify", "--json", "root"][..],
        &["preflight", "--allow-online"][..],
        &["--help"][..],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut command = Command::new(ceremony_bin());
        let status = hermetic(&mut command, s.dir.path())
            .args(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::null())
            .status()
            .expect("run");
        assert_eq!(status.code(), Some(8), "{args:?}");
    }
}

/// An input that never ends, or never arrives, is refused by what it is:
/// a character device, a FIFO, or a file larger than its cap.
#[test]
fn devices_fifos_and_huge_files_are_refused_not_read() {
    let (s, _) = with_root();
    std::fs::create_dir(s.path("repo")).unwrap();
    symlink("/dev/zero", s.path("repo/zero.yaml")).unwrap();
    let fifo = s.path("repo/fifo.yaml");
    require("mkfifo");
    s.tool("mkfifo", &[fifo.to_str().unwrap()]).success();
    let run = verify(&s, "repo").fails_with(4, "offender(s)");
    let out = run.stdout_text();
    assert!(
        out.contains("is a character device, not a regular file"),
        "{out}"
    );
    assert!(out.contains("is a FIFO, not a regular file"), "{out}");

    // As a file named on the command line.
    s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "repo/fifo.yaml",
        "repo/zero.yaml",
    ])
    .fails_with(3, "is a FIFO, not a regular file");

    // A signature file is small: a large one is refused before it is read.
    let big = s.path("big.sig");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(2 << 20).unwrap();
    s.write("receipt.json", "{}");
    s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "ed25519",
        "--signature",
        "big.sig",
    ])
    .fails_with(3, "larger than 1048576 bytes");
    s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "ed25519",
        "--signature",
        "/dev/zero",
    ])
    .fails_with(3, "is a character device, not a regular file");
}

/// A private key pasted on the command line is refused without being
/// printed or recorded: it would be in the shell history, the transcript
/// and on the screen.
#[test]
fn a_pasted_private_key_is_never_echoed_or_recorded() {
    let (s, _) = with_root();
    let key = age::x25519::Identity::generate();
    let key = secrecy::ExposeSecret::expose_secret(&key.to_string()).to_owned();
    s.write("db.yaml", "a: b\n");
    for args in [
        vec!["bootstrap", "seal", "--recipient", &key, "db.yaml"],
        vec![
            "--transcript",
            "t.jsonl",
            "bootstrap",
            "seal",
            "-i",
            &key,
            "db.yaml",
        ],
        vec![
            "unseal",
            "share",
            "--threshold",
            &key,
            "--out",
            "x",
            "--custodians",
            "c",
        ],
    ] {
        let run = s.ceremony(&args).fails_with(2, "looks like a private key");
        let bech = &key["AGE-SECRET-KEY-1".len()..];
        for text in [run.stdout_text(), run.stderr_text()] {
            assert!(!text.contains(bech), "{args:?} echoed the key");
            assert!(!text.to_lowercase().contains(&bech.to_lowercase()));
        }
    }
    assert!(!s.path("t.jsonl").exists(), "nothing was recorded");
}

/// A public key of small order is sealed to with a key anyone can work
/// out: the Go age refuses it, and so does ceremony, wherever a recipient
/// is read, before anything is written. (The age crate would panic on the
/// `age1…` one, and seal to the `ssh-ed25519` one.)
#[test]
fn a_recipient_no_key_protects_is_refused_wherever_it_is_read() {
    use bech32::ToBase32;
    require("age");
    let s = Scratch::new();
    let zero_age = bech32::encode("age", [0u8; 32].to_base32(), bech32::Variant::Bech32).unwrap();
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    let zero_ssh = ssh_key::PublicKey::from(ssh_key::public::KeyData::Ed25519(
        ssh_key::public::Ed25519PublicKey(identity_point),
    ))
    .to_openssh()
    .unwrap();
    const REFUSED: &str = "point of small order";

    // The Go age says the same of both.
    s.write("zero.pub", format!("{zero_ssh}\n"));
    s.write("plain.txt", "x");
    for args in [
        vec!["-r", zero_age.as_str(), "plain.txt"],
        vec!["-R", "zero.pub", "plain.txt"],
    ] {
        let age = s.tool("age", &args);
        assert_ne!(age.code(), 0, "age sealed to {args:?}");
        assert!(
            age.stderr_text().contains("low order point"),
            "{}",
            age.stderr_text()
        );
    }

    let plain =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n";
    s.write("db.yaml", plain);
    for zero in [&zero_age, &zero_ssh] {
        let run = s
            .ceremony(&["bootstrap", "seal", "--recipient", zero, "db.yaml"])
            .fails_with(2, REFUSED);
        assert!(run.stdout_text().is_empty(), "nothing sealed");
        s.write(
            ".sops.yaml",
            format!("creation_rules:\n  - age: >-\n      {zero}\n"),
        );
        s.ceremony(&["bootstrap", "seal", "--in-place", "db.yaml"])
            .fails_with(3, REFUSED);
        assert_eq!(s.read("db.yaml"), plain.as_bytes(), "left as it was");
        std::fs::remove_file(s.path(".sops.yaml")).unwrap();
    }

    // A sealed file whose `sops:` block lists one beside a real recipient:
    // rotating it would wrap the new data key to it.
    let real = s.age_key("k");
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--recipient",
        &real,
        "db.yaml",
    ])
    .success();
    let sealed = String::from_utf8(s.read("db.yaml")).unwrap();
    let entry: Vec<&str> = sealed
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("- recipient:"))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with("          "))
        .map(|(_, l)| l)
        .collect();
    let entry = entry.join("\n");
    let forged = entry.replace(&real, &zero_ssh);
    let tampered = sealed.replace(&entry, &format!("{entry}\n{forged}"));
    assert_ne!(tampered, sealed);
    s.write("db.yaml", &tampered);
    s.ceremony(&["bootstrap", "rotate", "-i", "k.key", "db.yaml"])
        .fails_with(3, REFUSED);
    assert_eq!(s.read("db.yaml"), tampered.as_bytes(), "left as it was");

    // A custodian's key.
    for line in [
        format!("age = \"{zero_age}\""),
        format!("ssh = \"{zero_ssh}\""),
    ] {
        s.write(
            "custodians.toml",
            format!("[[custodian]]\nname = \"mallory\"\n{line}\n[[custodian]]\nname = \"bob\"\nage = \"{real}\"\n"),
        );
        share_to_custodians_file(&s, &[]).fails_with(3, REFUSED);
        assert!(!s.path("set").exists());
    }
}

/// The X25519 code's CPU instructions are not the environment's to
/// choose: a variable that would choose them is refused before anything
/// runs.
#[test]
fn a_cpu_capability_override_is_refused_before_anything_runs() {
    let s = Scratch::new();
    let recipient = s.age_key("k");
    s.write("db.yaml", "a: b\n");
    for variable in ceremony::x25519::CPU_OVERRIDES {
        let run = s
            .ceremony_env(
                &["bootstrap", "seal", "--recipient", &recipient, "db.yaml"],
                &[(variable, "~0x200000200000000")],
            )
            .fails_with(2, &format!("{variable} is set"));
        assert!(run.stdout_text().is_empty());
    }
    s.ceremony(&["bootstrap", "seal", "--recipient", &recipient, "db.yaml"])
        .success();
}

/// The binary carries the AWS-LC that Cargo.lock pins: it loads no
/// libcrypto or libssl of the machine's.
#[test]
fn the_x25519_code_is_the_binarys_own() {
    require("readelf");
    let out = Command::new("readelf")
        .args(["--dynamic", "--wide"])
        .arg(ceremony_bin())
        .output()
        .expect("readelf");
    assert!(out.status.success());
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(
        !needed.is_empty(),
        "readelf listed no libraries:\n{dynamic}"
    );
    for line in needed {
        assert!(
            !line.contains("libcrypto") && !line.contains("libssl") && !line.contains("aws-lc"),
            "{line}"
        );
    }
}

/// One person must not hold two custodians' shares by accident.
#[test]
fn one_key_for_two_custodians_is_refused_unless_said_out_loud() {
    let s = Scratch::new();
    write_custodians(
        &s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Age)],
    );
    let text = String::from_utf8(s.read("custodians.toml")).unwrap();
    let alice = text
        .lines()
        .find(|l| l.starts_with("age = "))
        .unwrap()
        .to_owned();
    let bob_line = text
        .lines()
        .filter(|l| l.starts_with("age = "))
        .nth(1)
        .unwrap();
    s.write("custodians.toml", text.replace(bob_line, &alice));
    let share = |extra: &[&str]| share_to_custodians_file(&s, extra);
    share(&[]).fails_with(
        3,
        "custodians \"alice\" (line 1) and \"bob\" have the same key",
    );
    assert!(!s.path("set").exists());
    let run = share(&["--allow-shared-custodian-key"]).success();
    assert!(
        run.stderr_text()
            .contains("WARNING: --allow-shared-custodian-key")
    );
}

/// A script that did not say `--yes` is not taken to agree.
#[test]
fn without_a_terminal_a_command_that_asks_needs_yes() {
    let s = Scratch::new();
    write_custodians(
        &s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Age)],
    );
    s.ceremony(&[
        "unseal",
        "share",
        "--allow-online",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "set",
    ])
    .fails_with(6, "there is no terminal to ask on")
    .fails_with(6, "hint: pass --yes");
    assert!(!s.path("set").exists());
}

/// Replacing a root with stderr closed still leaves a complete root (the
/// old one moved aside, the new one in place), never neither.
#[test]
fn replacing_a_root_with_stderr_closed_loses_nothing() {
    let (s, system) = with_root();
    let old = std::fs::read(s.path("root/root.json")).unwrap();
    let mut command = Command::new(ceremony_bin());
    let status = hermetic(&mut command, s.dir.path())
        .args([
            "root",
            "init",
            "--yes",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "root",
            "--replace-existing-root-and-break-trust",
            "--system-root",
            &system,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        ))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    s.ceremony(&["root", "verify", "root"]).success();
    assert_ne!(std::fs::read(s.path("root/root.json")).unwrap(), old);
    let moved: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("root.replaced-")
        })
        .collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        std::fs::read(moved[0].path().join("root.json")).unwrap(),
        old
    );
}

/// Errors say each thing once, and never echo a huge argument whole.
#[test]
fn errors_say_each_cause_once_and_cut_long_input() {
    let s = Scratch::new();
    let run = s
        .ceremony(&["root", "show", "nowhere"])
        .fails_with(8, "nowhere/root.json: reading failed");
    assert_eq!(
        run.stderr_text()
            .matches("No such file or directory")
            .count(),
        1,
        "{}",
        run.stderr_text()
    );
    s.write("db.yaml", "a: b\n");
    let long = "x".repeat(100_000);
    let run = s
        .ceremony(&["bootstrap", "seal", "--recipient", &long, "db.yaml"])
        .fails_with(2, "is not an age recipient");
    assert!(
        run.stderr_text().len() < 1_000,
        "{}",
        run.stderr_text().len()
    );
}

/// The preflight asks about this process's own network namespace. In a
/// namespace with nothing up it passes without `--allow-online`; with a
/// veth pair up and a default route in it, it refuses.
#[test]
fn the_preflight_checks_the_namespace_it_runs_in() {
    require("unshare");
    require("ip");
    let alone = Command::new("unshare")
        .arg("-n")
        .arg(ceremony_bin())
        .arg("preflight")
        .output()
        .expect("unshare -n");
    if alone.status.code() == Some(1) && String::from_utf8_lossy(&alone.stderr).contains("unshare")
    {
        panic!(
            "unshare -n is not permitted here (needs root or user namespaces): {}",
            String::from_utf8_lossy(&alone.stderr)
        );
    }
    let out = String::from_utf8_lossy(&alone.stdout);
    assert_eq!(alone.status.code(), Some(0), "{out}");
    assert!(out.contains("✓ network-interfaces"), "{out}");
    assert!(out.contains("✓ inet-sockets"), "{out}");

    let ns = format!("ceremony-test-{}", std::process::id());
    let ip = |args: &[&str]| {
        let status = Command::new("ip").args(args).status().expect("ip");
        assert!(status.success(), "ip {args:?}");
    };
    ip(&["netns", "add", &ns]);
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = Command::new("ip")
                .args(["netns", "delete", &self.0])
                .status();
        }
    }
    let _cleanup = Cleanup(ns.clone());
    let (a, b) = (
        format!("cta{}", std::process::id() % 10000),
        format!("ctb{}", std::process::id() % 10000),
    );
    ip(&[
        "-n", &ns, "link", "add", &a, "type", "veth", "peer", "name", &b,
    ]);
    ip(&["-n", &ns, "addr", "add", "10.254.0.2/24", "dev", &a]);
    ip(&["-n", &ns, "link", "set", &a, "up"]);
    ip(&["-n", &ns, "link", "set", &b, "up"]);
    ip(&["-n", &ns, "route", "add", "default", "via", "10.254.0.1"]);
    let online = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(ceremony_bin())
        .arg("preflight")
        .output()
        .expect("ip netns exec");
    let out = String::from_utf8_lossy(&online.stdout);
    assert_eq!(online.status.code(), Some(6), "{out}");
    assert!(out.contains(&format!("{a} (")), "{out}");
    assert!(out.contains("✗ default-route"), "{out}");
}
