//! `ceremony root …` end to end: a root made once, offline, with three kinds
//! of custodians; the real `age`; the Phase 2 emitters; tamper and secrecy
//! checks; the air-gap gate against fake /sys and /proc trees.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ceremony::root::{RootManifest, RootSecret};

use crate::util::custodians::{
    Key, bootstrap_key, rebuild_secret, root_init, root_manifest, write_custodians,
};
use crate::util::tmux::Tmux;
use crate::util::{Scratch, ceremony_bin, fake_system, require};

const PASSPHRASE: &str = "a long passphrase for carol";

/// Three kinds of custodians: alice (age), bob (ssh-ed25519), and carol
/// (passphrase, or age when the test has no terminal); the unseal key's
/// threshold comes from the file.
fn custodians(s: &Scratch, third_passphrase: bool) {
    let carol = if third_passphrase {
        Key::Passphrase
    } else {
        Key::Age
    };
    write_custodians(
        s,
        "custodians.toml",
        "[threshold]\nunseal = 2\n",
        &[("alice", Key::Age), ("bob", Key::Ssh), ("carol", carol)],
    );
}

/// `root init` on an air-gapped (fake) system; no passphrase custodian.
fn init_offline(s: &Scratch) {
    custodians(s, false);
    root_init(s, "root", &fake_system(s.dir.path(), false), &[]).success();
}

#[test]
fn three_kinds_of_custodians_end_to_end_with_real_age_and_flux_secret() {
    require("age");
    let s = Scratch::new();
    custodians(&s, true);
    let sys = fake_system(s.dir.path(), false);
    let t = Tmux::start(
        s.dir.path(),
        &format!(
            "{} root init --custodians custodians.toml --threshold 2 --out root --system-root {} --yes > init.out 2> init.err",
            ceremony_bin().display(),
            sys.display()
        ),
    );
    t.wait_for("choose a passphrase", 1);
    t.type_line(PASSPHRASE);
    t.wait_for("type it again", 1);
    t.type_line(PASSPHRASE);
    assert_eq!(
        t.exit_code(),
        0,
        "{}\n{}",
        t.screen(),
        String::from_utf8_lossy(&s.read("init.err"))
    );

    // The real age opens the age custodian's bundle.
    let out = s
        .tool("age", &["-d", "-i", "alice.key", "root/shares/alice.age"])
        .success();
    let bundle: serde_json::Value = serde_json::from_slice(&out.output.stdout).unwrap();
    assert_eq!(bundle["format"], "ceremony.root-shares.v1");
    assert_eq!(bundle["custodian"], "alice");
    assert_eq!(bundle["shares"].as_array().unwrap().len(), 3);
    // ... and the ssh custodian's with the ssh key.
    s.tool("age", &["-d", "-i", "bob", "root/shares/bob.age"])
        .success();
    // ... and the passphrase custodian's with the passphrase.
    let t = Tmux::start(s.dir.path(), "age -d -o carol.json root/shares/carol.age");
    t.wait_for("passphrase", 1);
    t.type_line(PASSPHRASE);
    assert_eq!(t.exit_code(), 0, "{}", t.screen());

    // Two custodians emit the Flux secret; its identity's public key is root.json's recipient.
    let out = s
        .ceremony(&[
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
            "bob",
            "--allow-online",
        ])
        .success();
    let secret = out.stdout_text();
    assert!(
        secret.contains("kind: Secret\n")
            && secret.contains("  name: sops-age\n")
            && secret.contains("  namespace: flux-system\n"),
        "{secret}"
    );
    let line = secret
        .lines()
        .find(|l| l.trim_start().starts_with("age.agekey:"))
        .unwrap();
    let identity = B64.decode(line.split(": ").nth(1).unwrap().trim()).unwrap();
    s.write("emitted.agekey", &identity);
    let public = s.tool("age-keygen", &["-y", "emitted.agekey"]).success();
    assert_eq!(
        public.stdout_text().trim(),
        root_manifest(&s, "root").body.bootstrap_recipient
    );

    // The passphrase custodian counts towards a quorum too.
    let t = Tmux::start(
        s.dir.path(),
        &format!(
            "{} root emit openbao-static-seal --root root root/shares/alice.age root/shares/carol.age -i alice.key --allow-online > seal.yaml",
            ceremony_bin().display()
        ),
    );
    t.wait_for("Passphrase for root/shares/carol.age", 1);
    t.type_line(PASSPHRASE);
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    let seal = String::from_utf8(s.read("seal.yaml")).unwrap();
    let line = seal
        .lines()
        .find(|l| l.trim_start().starts_with("unseal.key:"))
        .unwrap();
    let key = B64.decode(line.split(": ").nth(1).unwrap().trim()).unwrap();
    assert_eq!(key.len(), 32);
    let m = root_manifest(&s, "root");
    assert_eq!(
        ceremony::shares::key_check_value(&ceremony::secret::SecretBytes::new(key)),
        m.body.unseal.key_check_value
    );
    assert!(seal.contains(&format!("current_key_id = \"{}\"", m.body.unseal.key_id)));
}

#[test]
fn no_secret_appears_in_any_file_or_output_of_root_init() {
    let s = Scratch::new();
    custodians(&s, false);
    let sys = fake_system(s.dir.path(), false);
    let run = root_init(&s, "root", &sys, &[]).success();
    let quorum = [("alice", "alice.key"), ("carol", "carol.key")];
    let mut needles = Vec::new();
    for which in RootSecret::ALL {
        let secret = rebuild_secret(&s, "root", which, &quorum);
        needles.push(hex::encode(secret.expose_secret()));
        needles.push(hex::encode_upper(secret.expose_secret()));
        needles.push(B64.encode(secret.expose_secret()));
        needles
            .push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.expose_secret()));
        let bech = bootstrap_key(&secret).identity_text().unwrap();
        needles.push(bech.expose_secret().to_owned());
        needles.push(bech.expose_secret().to_lowercase());
        // The bech32 data part alone, should a prefix be stripped somewhere.
        needles.push(bech.expose_secret()["AGE-SECRET-KEY-1".len()..].to_owned());
    }
    // The bootstrap key really is the root's: same recipient.
    let bootstrap = rebuild_secret(&s, "root", RootSecret::Bootstrap, &quorum);
    assert_eq!(
        bootstrap_key(&bootstrap).recipient().unwrap(),
        root_manifest(&s, "root").body.bootstrap_recipient
    );

    let mut haystacks: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), run.output.stdout.clone()),
        ("stderr".into(), run.output.stderr.clone()),
    ];
    for entry in walk(&s.path("root")) {
        haystacks.push((entry.display().to_string(), std::fs::read(&entry).unwrap()));
    }
    assert!(haystacks.len() >= 6, "root.json and three bundles at least");
    // Temporary files would show up beside the root.
    let stray: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ceremony"))
        .collect();
    assert!(stray.is_empty(), "temporary files left behind: {stray:?}");
    for (name, bytes) in &haystacks {
        let text = String::from_utf8_lossy(bytes);
        for needle in &needles {
            assert!(
                !text.contains(needle.as_str()),
                "a root secret appears in {name}"
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_edited_byte_of_root_json_is_caught() {
    let s = Scratch::new();
    init_offline(&s);
    let original = s.read("root/root.json");
    assert!(RootManifest::from_json(&original).is_ok());
    for i in 0..original.len() {
        for flip in [0x01u8, 0x20] {
            let mut edited = original.clone();
            edited[i] ^= flip;
            assert!(
                RootManifest::from_json(&edited).is_err(),
                "byte {i} ^ {flip:#x} went unnoticed"
            );
        }
    }
    // Through the command: exit 4 and a ✗ line.
    s.ceremony(&["root", "verify", "root"]).success();
    let mut edited = original.clone();
    let at = String::from_utf8_lossy(&original)
        .find("\"created_at\"")
        .unwrap()
        + 20;
    edited[at] ^= 0x01;
    s.write("root/root.json", &edited);
    let run = s
        .ceremony(&["root", "verify", "root"])
        .fails_with(4, "1 check(s) failed");
    assert!(
        run.stdout_text().contains("✗ signature"),
        "{}",
        run.stdout_text()
    );
    // Re-indented but otherwise identical: caught as not canonical.
    let value: serde_json::Value = serde_json::from_slice(&original).unwrap();
    s.write("root/root.json", serde_json::to_vec(&value).unwrap());
    let run = s
        .ceremony(&["root", "verify", "root"])
        .fails_with(4, "check(s) failed");
    assert!(
        run.stdout_text().contains("not byte-for-byte"),
        "{}",
        run.stdout_text()
    );
}

#[test]
fn a_changed_custodian_file_is_caught_by_verify() {
    let s = Scratch::new();
    init_offline(&s);
    let mut bytes = s.read("root/shares/bob.age");
    bytes[40] ^= 0x01;
    s.write("root/shares/bob.age", &bytes);
    let run = s
        .ceremony(&["root", "verify", "root", "--json"])
        .fails_with(4, "check(s) failed");
    let report: serde_json::Value = serde_json::from_str(&run.stdout_text()).unwrap();
    assert_eq!(report["command"], "root verify");
    assert_eq!(report["passed"], false);
    let bad: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| {
            format!(
                "{} {}",
                c["check"].as_str().unwrap(),
                c["subject"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(bad, vec!["custodian file shares/bob.age"]);

    // Custodians take their files away after the ceremony: absent is not a defect.
    std::fs::remove_file(s.path("root/shares/bob.age")).unwrap();
    let run = s.ceremony(&["root", "verify", "root"]).success();
    assert!(
        run.stdout_text()
            .contains("· custodian file shares/bob.age"),
        "{}",
        run.stdout_text()
    );
    assert!(run.stdout_text().contains("not checked"));
    // Present but unreadable is a failure, not a skip.
    std::fs::create_dir(s.path("root/shares/bob.age")).unwrap();
    let run = s
        .ceremony(&["root", "verify", "root"])
        .fails_with(4, "1 check(s) failed");
    assert!(
        run.stdout_text()
            .contains("✗ custodian file shares/bob.age"),
        "{}",
        run.stdout_text()
    );
}

#[test]
fn an_existing_root_is_never_regenerated_by_accident() {
    let s = Scratch::new();
    init_offline(&s);
    let before: Vec<(std::path::PathBuf, Vec<u8>)> = walk(&s.path("root"))
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let sys = fake_system(s.dir.path(), false);
    root_init(&s, "root", &sys, &[]).fails_with(6, "already holds a root");
    let after: Vec<(std::path::PathBuf, Vec<u8>)> = walk(&s.path("root"))
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    assert_eq!(before, after, "the existing root was touched");

    // The loud flag replaces it, moves the old one aside and records it.
    let old_id = root_manifest(&s, "root").body.root_id;
    root_init(
        &s,
        "root",
        &sys,
        &["--replace-existing-root-and-break-trust"],
    )
    .success();
    let m = root_manifest(&s, "root");
    assert_ne!(m.body.root_id, old_id);
    let replaced = m.body.replaces.expect("recorded");
    assert_eq!(replaced.root_id, old_id);
    assert!(s.path(&replaced.moved_to).join("root.json").exists());
    let show = s.ceremony(&["root", "show", "root"]).success();
    assert!(
        show.stdout_text()
            .contains(&format!("REPLACED root       {old_id}"))
    );
}

#[test]
fn online_machine_is_refused_unless_allowed_and_the_override_is_recorded() {
    let s = Scratch::new();
    custodians(&s, false);
    let online = fake_system(s.dir.path(), true);
    let run = root_init(&s, "root", &online, &[]).fails_with(6, "this machine is online");
    assert!(
        run.stderr_text()
            .lines()
            .any(|l| l.contains("✗ network-interfaces") && l.contains("interface(s) up: eth0 (up)")),
        "{}",
        run.stderr_text()
    );
    assert!(
        run.stderr_text()
            .contains("default route present: IPv4 via eth0")
    );
    assert!(!s.path("root").exists());

    let run = root_init(&s, "root", &online, &["--allow-online"]).success();
    assert!(run.stderr_text().contains("WARNING: --allow-online"));
    let m = root_manifest(&s, "root");
    assert!(m.body.preflight.allow_online);
    assert!(m.body.preflight.went_online());
    let show = s.ceremony(&["root", "show", "root"]).success();
    assert!(show.stdout_text().contains("ONLINE (--allow-online)"));

    // Rebuilding a secret is gated the same way.
    s.ceremony(&[
        "root",
        "emit",
        "openbao-static-seal",
        "--root",
        "root",
        "root/shares/alice.age",
        "root/shares/bob.age",
        "-i",
        "alice.key",
        "-i",
        "bob",
        "--system-root",
        online.to_str().unwrap(),
    ])
    .fails_with(6, "this machine is online");
    let offline = fake_system(s.dir.path(), false);
    s.ceremony(&[
        "root",
        "emit",
        "openbao-static-seal",
        "--root",
        "root",
        "root/shares/alice.age",
        "root/shares/bob.age",
        "-i",
        "alice.key",
        "-i",
        "bob",
        "--system-root",
        offline.to_str().unwrap(),
    ])
    .success();

    // The preflight command reports and exits the same way.
    let run = s
        .ceremony(&["preflight", "--system-root", offline.to_str().unwrap()])
        .success();
    assert!(
        run.stdout_text().contains("✓ network-interfaces"),
        "{}",
        run.stdout_text()
    );
    assert!(run.stdout_text().contains("✓ core-dumps"));
    s.ceremony(&["preflight", "--system-root", online.to_str().unwrap()])
        .fails_with(6, "online");
}

#[test]
fn thresholds_per_secret_come_from_the_custodians_file() {
    let s = Scratch::new();
    init_offline(&s);
    let m = root_manifest(&s, "root");
    let k = |w: RootSecret| m.body.share_set(w).unwrap().threshold;
    // [threshold] unseal = 2 in the file; --threshold 2 for the others.
    assert_eq!(
        (
            k(RootSecret::Bootstrap),
            k(RootSecret::Unseal),
            k(RootSecret::Signing)
        ),
        (2, 2, 2)
    );

    let s = Scratch::new();
    custodians(&s, false);
    let text = String::from_utf8(s.read("custodians.toml"))
        .unwrap()
        .replace("unseal = 2", "unseal = 3\nsigning = 3");
    s.write("custodians.toml", text);
    let sys = fake_system(s.dir.path(), false);
    root_init(&s, "root", &sys, &[]).success();
    let m = root_manifest(&s, "root");
    let k = |w: RootSecret| m.body.share_set(w).unwrap().threshold;
    assert_eq!(
        (
            k(RootSecret::Bootstrap),
            k(RootSecret::Unseal),
            k(RootSecret::Signing)
        ),
        (2, 3, 3)
    );
    // Two custodians cannot emit the unseal key now, but can emit the bootstrap key.
    s.ceremony(&[
        "root",
        "emit",
        "openbao-static-seal",
        "--allow-online",
        "--root",
        "root",
        "root/shares/alice.age",
        "root/shares/bob.age",
        "-i",
        "alice.key",
        "-i",
        "bob",
    ])
    .fails_with(5, "2 valid share(s)");
    s.ceremony(&[
        "root",
        "emit",
        "flux-age-secret",
        "--allow-online",
        "--root",
        "root",
        "root/shares/alice.age",
        "root/shares/bob.age",
        "-i",
        "alice.key",
        "-i",
        "bob",
    ])
    .success();
    // No threshold at all: a usage error naming the fix.
    s.write(
        "nothreshold.toml",
        String::from_utf8(s.read("custodians.toml"))
            .unwrap()
            .replace("[threshold]\nunseal = 3\nsigning = 3\n", ""),
    );
    s.ceremony(&[
        "root",
        "init",
        "--yes",
        "--custodians",
        "nothreshold.toml",
        "--out",
        "root2",
        "--allow-online",
    ])
    .fails_with(2, "no threshold for the bootstrap-key")
    .fails_with(
        2,
        "hint: pass --threshold K or set it in the custodians file's [threshold] table",
    );
}

#[test]
fn emitters_check_every_share_against_the_manifest() {
    let s = Scratch::new();
    init_offline(&s);
    // Another root with the same custodians.
    let sys = fake_system(s.dir.path(), false);
    root_init(&s, "other", &sys, &[]).success();
    let run = s
        .ceremony(&[
            "root",
            "emit",
            "flux-age-secret",
            "--allow-online",
            "--root",
            "root",
            "root/shares/alice.age",
            "other/shares/bob.age",
            "-i",
            "alice.key",
            "-i",
            "bob",
        ])
        .fails_with(4, "other/shares/bob.age: these shares belong to root");
    assert!(run.output.stdout.is_empty());
    s.ceremony(&[
        "root",
        "emit",
        "flux-age-secret",
        "--allow-online",
        "--root",
        "root",
        "root/shares/alice.age",
        "-i",
        "alice.key",
    ])
    .fails_with(5, "1 valid share(s)");
    // A manifest whose recipient was swapped (and re-signed by nobody) is refused before any decryption.
    let text = String::from_utf8(s.read("root/root.json")).unwrap();
    let other = String::from_utf8(s.read("other/root.json")).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&other).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
    s.write(
        "root/root.json",
        text.replace(
            ours["bootstrap_recipient"].as_str().unwrap(),
            theirs["bootstrap_recipient"].as_str().unwrap(),
        ),
    );
    s.ceremony(&[
        "root",
        "emit",
        "flux-age-secret",
        "--allow-online",
        "--root",
        "root",
        "root/shares/alice.age",
        "root/shares/bob.age",
        "-i",
        "alice.key",
        "-i",
        "bob",
    ])
    .fails_with(4, "signature does not verify");
}

#[test]
fn emitters_refuse_a_terminal_unless_asked() {
    let s = Scratch::new();
    init_offline(&s);
    let sys = fake_system(s.dir.path(), false);
    let emit = format!(
        "{} root emit openbao-static-seal --root root root/shares/alice.age root/shares/bob.age -i alice.key -i bob --system-root {}",
        ceremony_bin().display(),
        sys.display()
    );
    let t = Tmux::start(s.dir.path(), &emit);
    assert_eq!(t.exit_code(), 6, "{}", t.screen());
    t.wait_for("refusing to print a secret to a terminal", 1);
    assert!(!t.screen().contains("unseal.key:"));
    let t = Tmux::start(s.dir.path(), &format!("{emit} --allow-terminal"));
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    t.wait_for("unseal.key:", 1);
}
