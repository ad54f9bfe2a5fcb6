//! `ceremony bootstrap …` through the binary, against the real `sops` 3.11:
//! what we seal sops opens, what sops sealed we open to the same bytes, trees
//! sealed, re-keyed and rotated in place, `.sops.yaml` creation rules with
//! key groups, tamper exit codes, and `verify` without any key.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use base64::Engine;

use crate::util::custodians::{offline_root, root_manifest};
use crate::util::sops::{R1, R2, run_sops, sops_vector, sops_vectors_dir};
use crate::util::tmux::Tmux;
use crate::util::{Run, Scratch, ceremony_bin};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\n    namespace: apps\ntype: Opaque\ndata:\n    password: aHVudGVyMg==\nstringData:\n    token: tok_0123456789\n";
const SECOND_SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n    name: git\nstringData:\n    password: s3cr3t\n";
const CONFIG_JSON: &str =
    "{\n\t\"endpoint\": \"https://example.invalid\",\n\t\"api_key\": \"k-123\"\n}\n";

/// The path of one of the vectors' key files, as an argument.
fn key_arg(name: &str) -> String {
    sops_vector(name).display().to_string()
}

fn mkdirs(s: &Scratch, rel: &str) {
    std::fs::create_dir_all(s.path(rel)).expect("mkdir");
}

/// A root made offline with three age custodians, 2 of 3; returns the
/// bootstrap recipient and writes the bootstrap identity (rebuilt by alice
/// and bob) to `bootstrap.agekey`.
fn make_root(s: &Scratch) -> String {
    offline_root(s, &[]);
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
            "bob.key",
            "--allow-online",
        ])
        .success();
    let text = out.stdout_text();
    let encoded = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("age.agekey: "))
        .expect("age.agekey entry");
    let identity = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    s.write("bootstrap.agekey", &identity);
    root_manifest(s, "root").body.bootstrap_recipient
}

fn json_of(run: &Run) -> serde_json::Value {
    serde_json::from_slice(&run.output.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not JSON ({e}):\n{}",
            run.description,
            run.stdout_text()
        )
    })
}

/// Whether a `bootstrap verify` report on stdout lists the problem
/// `FILE: KEY_PATH: REASON` (`-` as the key path for the whole file): a line
/// whose subject is the file (and key path) and whose detail starts with
/// the reason.
fn lists(out: &str, problem: &str) -> bool {
    let mut parts = problem.splitn(3, ": ");
    let (Some(file), Some(key_path), Some(reason)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("not FILE: KEY_PATH: REASON: {problem:?}");
    };
    let subject = if key_path == "-" {
        file.to_owned()
    } else {
        format!("{file}: {key_path}")
    };
    out.lines().any(|line| {
        line.starts_with('✗')
            && line
                .split_once(&format!(" {subject} "))
                .is_some_and(|(_, detail)| detail.trim_start().starts_with(reason))
    })
}

/// The checks of a report JSON with `check` == `kind`.
fn checks_of<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["check"] == kind)
        .collect()
}

/// The file names of the `skipped` checks of a report JSON.
fn skipped_names(report: &serde_json::Value) -> Vec<String> {
    checks_of(report, "skipped")
        .iter()
        .map(|c| {
            Path::new(c["subject"].as_str().expect("subject"))
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| {
            let s = e.as_str().or_else(|| e["path"].as_str()).expect("path");
            Path::new(s)
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// The part of a sealed YAML file above its `sops:` block.
fn body(text: &str) -> &str {
    text.split("\nsops:\n").next().expect("body")
}

// ---------------------------------------------------------------------------
// seal / open interop

#[test]
fn seal_to_stdout_opens_with_sops_in_every_format() {
    let s = Scratch::new();
    let cases = [
        ("k8s-secret.plain.yaml", "k8s-secret.enc.yaml", "s.yaml"),
        ("nested.plain.yaml", "nested.enc.yaml", "n.yaml"),
        ("basic.plain.json", "basic.enc.json", "b.json"),
        ("app.plain.env", "app.enc.env", "a.env"),
        ("config.plain.ini", "config.enc.ini", "c.ini"),
        ("binary.plain.bin", "binary.enc.bin", "x.bin"),
    ];
    for (plain, enc, name) in cases {
        std::fs::copy(sops_vector(plain), s.path(name)).expect("copy");
        let out = s
            .ceremony(&["bootstrap", "seal", "--recipient", R1, name])
            .success();
        let sealed = format!("sealed-{name}");
        s.write(&sealed, &out.output.stdout);
        // sops re-emits some values in its own normal form (README of the
        // fixtures), so compare with what sops gives for its own file.
        let ours = run_sops(s.dir.path(), Some("key1.agekey"), &["-d", &sealed]).success();
        let theirs = run_sops(
            sops_vectors_dir(),
            Some("key1.agekey"),
            &["-d", &sops_vector(enc).display().to_string()],
        )
        .success();
        assert_eq!(
            ours.output.stdout, theirs.output.stdout,
            "{name}: sops -d of our sealed file differs from sops -d of sops' own"
        );
    }
    // A Secret keeps kind and metadata in clear; data and stringData are sealed.
    let sealed = String::from_utf8(s.read("sealed-s.yaml")).expect("utf8");
    assert!(sealed.contains("name: app-credentials"), "{sealed}");
    assert!(
        sealed.contains("encrypted_regex: ^(data|stringData)$"),
        "{sealed}"
    );
    assert!(!sealed.contains("czNjcjN0LXBhc3N3b3Jk"), "{sealed}");
    // A non-Secret file gets sops' default rule.
    let sealed = String::from_utf8(s.read("sealed-n.yaml")).expect("utf8");
    assert!(
        sealed.contains("unencrypted_suffix: _unencrypted"),
        "{sealed}"
    );
}

#[test]
fn seal_multi_document_secrets_for_sops() {
    let s = Scratch::new();
    s.write(
        "two.yaml",
        format!("{SECRET}---\n{SECOND_SECRET}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n    name: settings\ndata:\n    level: info\n"),
    );
    let out = s
        .ceremony(&["bootstrap", "seal", "--recipient", R1, "two.yaml"])
        .success();
    s.write("two.enc.yaml", &out.output.stdout);
    let text = out.stdout_text();
    assert!(!text.contains("s3cr3t") && !text.contains("tok_0123456789"));
    assert!(text.contains("name: git"));
    let opened = run_sops(s.dir.path(), Some("key1.agekey"), &["-d", "two.enc.yaml"]).success();
    assert_eq!(opened.output.stdout, s.read("two.yaml"));
}

#[test]
fn open_every_fixture_equals_sops_decrypt() {
    let s = Scratch::new();
    let mut count = 0;
    for entry in std::fs::read_dir(sops_vectors_dir()).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if !name.contains(".enc.") {
            continue;
        }
        let keyfile = if name.starts_with("shamir") {
            "both.agekey"
        } else {
            "key1.agekey"
        };
        let ours = s
            .ceremony(&[
                "bootstrap",
                "open",
                "-i",
                &key_arg(keyfile),
                &path.display().to_string(),
            ])
            .success();
        let theirs = run_sops(
            sops_vectors_dir(),
            Some(keyfile),
            &["-d", &path.display().to_string()],
        )
        .success();
        assert_eq!(
            ours.output.stdout, theirs.output.stdout,
            "{name}: bootstrap open and sops -d differ"
        );
        count += 1;
    }
    assert_eq!(count, 9, "every sealed fixture was opened");
}

#[test]
fn open_reads_sops_age_key_file_and_sops_age_key() {
    let s = Scratch::new();
    let enc = sops_vector("two-recipients.enc.yaml");
    let want = std::fs::read(sops_vector("two-recipients.plain.yaml")).expect("plain");
    let enc = enc.display().to_string();
    let by_file = s
        .ceremony_env(
            &["bootstrap", "open", &enc],
            &[("SOPS_AGE_KEY_FILE", &key_arg("key2.agekey"))],
        )
        .success();
    assert_eq!(by_file.output.stdout, want);
    let text = std::fs::read_to_string(sops_vector("key1.agekey")).expect("key");
    let by_value = s
        .ceremony_env(&["bootstrap", "open", &enc], &[("SOPS_AGE_KEY", &text)])
        .success();
    assert_eq!(by_value.output.stdout, want);
    // No identity anywhere: exit 7, nothing printed.
    let none = s
        .ceremony(&["bootstrap", "open", &enc])
        .fails_with(7, "SOPS_AGE_KEY_FILE");
    assert!(none.output.stdout.is_empty());
    // The wrong identity: exit 7 too, with a hint.
    let enc = sops_vector("k8s-secret.enc.yaml").display().to_string();
    s.ceremony(&["bootstrap", "open", "-i", &key_arg("key2.agekey"), &enc])
        .fails_with(7, "no identity could open the data key");
}

#[test]
fn open_refuses_a_terminal_unless_allow_terminal() {
    let s = Scratch::new();
    let enc = sops_vector("k8s-secret.enc.yaml").display().to_string();
    let open = format!(
        "env -u SOPS_AGE_KEY_FILE -u SOPS_AGE_KEY {} bootstrap open -i {} {enc}",
        ceremony_bin().display(),
        key_arg("key1.agekey")
    );
    let t = Tmux::start(s.dir.path(), &open);
    assert_eq!(t.exit_code(), 6, "{}", t.screen());
    t.wait_for("refusing to print a secret to a terminal", 1);
    let screen = t.screen();
    for plain in ["tok_0123456789abcdef", "czNjcjN0LXBhc3N3b3Jk", "YWRtaW4="] {
        assert!(!screen.contains(plain), "plaintext on screen:\n{screen}");
    }
    // Redirected, no flag is needed.
    let t = Tmux::start(s.dir.path(), &format!("{open} > opened.yaml"));
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    assert!(String::from_utf8_lossy(&s.read("opened.yaml")).contains("tok_0123456789abcdef"));
    // Asked for: printed.
    let t = Tmux::start(s.dir.path(), &format!("{open} --allow-terminal"));
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    t.wait_for("tok_0123456789abcdef", 1);
}

#[test]
fn open_out_dir_opens_a_tree_all_or_nothing() {
    let s = Scratch::new();
    mkdirs(&s, "tree/sub");
    for name in ["k8s-secret.enc.yaml", "basic.enc.json", "app.enc.env"] {
        std::fs::copy(sops_vector(name), s.path(&format!("tree/sub/{name}"))).expect("copy");
    }
    s.write("tree/plain.yaml", "a: b\n");
    s.ceremony(&[
        "bootstrap",
        "open",
        "-i",
        &key_arg("key1.agekey"),
        "--out-dir",
        "opened",
        "tree",
    ])
    .success();
    assert_eq!(
        s.read("opened/sub/k8s-secret.enc.yaml"),
        std::fs::read(sops_vector("k8s-secret.plain.yaml")).expect("plain")
    );
    let mode = std::fs::metadata(s.path("opened/sub/app.enc.env"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!s.path("opened/plain.yaml").exists());
    // One file that does not open: nothing is written at all.
    std::fs::copy(
        sops_vector("shamir.enc.yaml"),
        s.path("tree/shamir.enc.yaml"),
    )
    .expect("copy");
    s.ceremony(&[
        "bootstrap",
        "open",
        "-i",
        &key_arg("key1.agekey"),
        "--out-dir",
        "opened2",
        "tree",
    ])
    .fails_with(7, "shamir.enc.yaml");
    assert!(!s.path("opened2").exists());
}

// ---------------------------------------------------------------------------
// tamper

#[test]
fn open_exits_51_on_mac_mismatch_and_prints_nothing() {
    let s = Scratch::new();
    let text = std::fs::read_to_string(sops_vector("k8s-secret.enc.yaml")).expect("fixture");
    // metadata.name is in clear but covered by the MAC.
    s.write(
        "renamed.yaml",
        text.replace("name: app-credentials", "name: app-credentialz"),
    );
    let run = s
        .ceremony(&[
            "bootstrap",
            "open",
            "-i",
            &key_arg("key1.agekey"),
            "renamed.yaml",
        ])
        .fails_with(51, "MAC mismatch");
    assert!(run.output.stdout.is_empty());
    assert!(run.stderr_text().contains("renamed.yaml"));
    assert!(
        run.stderr_text()
            .contains("hint: the sealed file was changed")
    );
    // A changed lastmodified makes the MAC undecryptable: 51 as well.
    let stamp = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("lastmodified: "))
        .expect("lastmodified");
    s.write(
        "restamped.yaml",
        text.replace(stamp, "\"2020-01-01T00:00:00Z\""),
    );
    let run = s
        .ceremony(&[
            "bootstrap",
            "open",
            "-i",
            &key_arg("key1.agekey"),
            "restamped.yaml",
        ])
        .fails_with(51, "MAC");
    assert!(run.output.stdout.is_empty());
}

#[test]
fn open_exits_25_when_a_value_fails_its_tag() {
    let s = Scratch::new();
    let text = std::fs::read_to_string(sops_vector("k8s-secret.enc.yaml")).expect("fixture");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("password: ENC["))
        .expect("password line");
    let start = line.find("data:").expect("data") + 5;
    let mut bytes = line.as_bytes().to_vec();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    let tampered = text.replace(line, &String::from_utf8(bytes).expect("utf8"));
    s.write("tampered.yaml", tampered);
    let run = s
        .ceremony(&[
            "bootstrap",
            "open",
            "-i",
            &key_arg("key1.agekey"),
            "tampered.yaml",
        ])
        .fails_with(25, "data:password");
    assert!(run.output.stdout.is_empty());
}

// ---------------------------------------------------------------------------
// seal --in-place over trees

#[test]
fn seal_in_place_tree_reports_already_sealed_and_skipped_files() {
    let s = Scratch::new();
    mkdirs(&s, "repo/apps/db");
    mkdirs(&s, "repo/.git");
    s.write("repo/apps/db/secret.yaml", SECRET);
    s.write("repo/apps/config.json", CONFIG_JSON);
    s.write(
        "repo/apps/kustomization.yaml",
        "resources:\n    - db/secret.yaml\n",
    );
    s.write("repo/README.md", "# repo\n");
    s.write("repo/.git/hidden.yaml", "a: b\n");
    std::fs::copy(
        sops_vector("k8s-secret.enc.yaml"),
        s.path("repo/apps/sealed.yaml"),
    )
    .expect("copy");
    std::fs::set_permissions(
        s.path("repo/apps/db/secret.yaml"),
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    let run = s
        .ceremony(&[
            "bootstrap",
            "seal",
            "--in-place",
            "--json",
            "--recipient",
            R1,
            "repo",
        ])
        .success();
    let summary = json_of(&run);
    assert_eq!(names(&summary["sealed"]), ["config.json", "secret.yaml"]);
    assert_eq!(names(&summary["already_sealed"]), ["sealed.yaml"]);
    let skipped = names(&summary["skipped"]);
    assert!(skipped.contains(&"README.md".to_owned()), "{skipped:?}");
    assert!(
        skipped.contains(&"kustomization.yaml".to_owned()),
        "{skipped:?}"
    );
    assert!(summary["errors"].as_array().expect("errors").is_empty());
    assert!(run.stderr_text().contains("already sealed"));
    // Untouched: the hidden directory, the kustomization, the sealed file.
    assert_eq!(s.read("repo/.git/hidden.yaml"), b"a: b\n");
    assert_eq!(
        s.read("repo/apps/sealed.yaml"),
        std::fs::read(sops_vector("k8s-secret.enc.yaml")).expect("fixture")
    );
    let mode = std::fs::metadata(s.path("repo/apps/db/secret.yaml"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "the original mode is kept");
    let opened = run_sops(
        &s.path("repo"),
        Some("key1.agekey"),
        &["-d", "apps/db/secret.yaml"],
    )
    .success();
    assert_eq!(opened.output.stdout, SECRET.as_bytes());
    let opened = run_sops(
        &s.path("repo"),
        Some("key1.agekey"),
        &["-d", "apps/config.json"],
    )
    .success();
    assert_eq!(opened.output.stdout, CONFIG_JSON.as_bytes());
    // Running again changes nothing.
    let again = s
        .ceremony(&[
            "bootstrap",
            "seal",
            "--in-place",
            "--json",
            "--recipient",
            R1,
            "repo",
        ])
        .success();
    assert!(
        json_of(&again)["sealed"]
            .as_array()
            .expect("sealed")
            .is_empty()
    );
}

#[test]
fn seal_in_place_leaves_a_failing_file_untouched_and_exits_non_zero() {
    let s = Scratch::new();
    mkdirs(&s, "tree");
    s.write("tree/good.yaml", SECRET);
    let broken = "apiVersion: v1\nkind: Secret\ndata: [unclosed\n";
    s.write("tree/broken.yaml", broken);
    let run = s
        .ceremony(&[
            "bootstrap",
            "seal",
            "--in-place",
            "--json",
            "--recipient",
            R1,
            "tree",
        ])
        .fails_with(3, "broken.yaml");
    let summary = json_of(&run);
    assert_eq!(names(&summary["sealed"]), ["good.yaml"]);
    assert_eq!(names(&summary["errors"]), ["broken.yaml"]);
    assert_eq!(s.read("tree/broken.yaml"), broken.as_bytes());
    let leftovers: Vec<_> = std::fs::read_dir(s.path("tree"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary files left: {leftovers:?}");
}

#[test]
fn seal_to_stdout_refuses_an_already_sealed_file() {
    let s = Scratch::new();
    let enc = sops_vector("k8s-secret.enc.yaml").display().to_string();
    let run = s
        .ceremony(&["bootstrap", "seal", "--recipient", R1, &enc])
        .fails_with(6, "already encrypted");
    assert!(run.output.stdout.is_empty());
    s.write("x.yaml", "a: b\n");
    s.ceremony(&["bootstrap", "seal", "x.yaml"])
        .fails_with(2, "no recipients");
}

// ---------------------------------------------------------------------------
// .sops.yaml

#[test]
fn sops_yaml_rules_with_key_groups_and_shamir_threshold() {
    let s = Scratch::new();
    mkdirs(&s, "repo/secrets");
    mkdirs(&s, "repo/other");
    s.write(
        "repo/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    shamir_threshold: 2\n    key_groups:\n      - age:\n          - {R1}\n      - age:\n          - {R2}\n  - path_regex: \\.json$\n    age: '{R2}'\n    encrypted_regex: ^api_key$\n"
        ),
    );
    s.write("repo/secrets/db.yaml", SECRET);
    s.write("repo/other/config.json", CONFIG_JSON);
    s.write("repo/other/notes.yaml", "note: not covered by any rule\n");
    let run = s
        .ceremony(&["bootstrap", "seal", "--in-place", "--json", "repo"])
        .success();
    let summary = json_of(&run);
    assert_eq!(names(&summary["sealed"]), ["config.json", "db.yaml"]);
    assert_eq!(names(&summary["skipped"]), [".sops.yaml", "notes.yaml"]);
    assert!(run.stderr_text().contains("no creation rule matches"));
    assert_eq!(
        s.read("repo/other/notes.yaml"),
        b"note: not covered by any rule\n"
    );

    // Two groups, both needed: one key is not enough for sops.
    let db = String::from_utf8(s.read("repo/secrets/db.yaml")).expect("utf8");
    assert!(db.contains("shamir_threshold: 2"), "{db}");
    let both = run_sops(
        &s.path("repo"),
        Some("both.agekey"),
        &["-d", "secrets/db.yaml"],
    )
    .success();
    assert_eq!(both.output.stdout, SECRET.as_bytes());
    let one = run_sops(
        &s.path("repo"),
        Some("key1.agekey"),
        &["-d", "secrets/db.yaml"],
    );
    assert_ne!(one.code(), 0, "one of two groups must not open the file");
    // The JSON rule: only api_key encrypted, to R2.
    let json = String::from_utf8(s.read("repo/other/config.json")).expect("utf8");
    assert!(json.contains("https://example.invalid"), "{json}");
    assert!(!json.contains("k-123"), "{json}");
    let opened = run_sops(
        &s.path("repo"),
        Some("key2.agekey"),
        &["-d", "other/config.json"],
    )
    .success();
    assert_eq!(opened.output.stdout, CONFIG_JSON.as_bytes());

    // A file named on the command line that no rule covers is an error, as in sops.
    s.ceremony(&["bootstrap", "seal", "repo/other/notes.yaml"])
        .fails_with(3, "no creation rule matches");
    // Flags win over the rule's recipients; the rule's crypt option still applies.
    s.write("repo/other/flagged.json", CONFIG_JSON);
    let out = s
        .ceremony(&[
            "bootstrap",
            "seal",
            "--recipient",
            R1,
            "repo/other/flagged.json",
        ])
        .success();
    let text = out.stdout_text();
    assert!(text.contains(R1) && !text.contains(R2), "{text}");
    assert!(text.contains("https://example.invalid"), "{text}");
}

#[test]
fn sops_yaml_with_other_key_types_is_refused() {
    let s = Scratch::new();
    mkdirs(&s, "repo");
    s.write(
        "repo/.sops.yaml",
        "creation_rules:\n  - path_regex: .*\n    pgp: 85D77543B3D624B63CEA9E6DBC17301B491B3F21\n",
    );
    s.write("repo/s.yaml", SECRET);
    let run = s
        .ceremony(&["bootstrap", "seal", "repo/s.yaml"])
        .fails_with(3, "ceremony seals only to age");
    assert!(run.stderr_text().contains("creation_rules[0]"));
    assert!(run.stderr_text().contains("pgp"));
    assert_eq!(s.read("repo/s.yaml"), SECRET.as_bytes());
}

// ---------------------------------------------------------------------------
// updatekeys / rotate

#[test]
fn updatekeys_and_rotate_a_tree_then_sops_opens_each_file() {
    let s = Scratch::new();
    mkdirs(&s, "tree/a");
    s.write("tree/a/one.yaml", SECRET);
    s.write("tree/two.yaml", SECOND_SECRET);
    s.write("tree/three.json", CONFIG_JSON);
    s.ceremony(&["bootstrap", "seal", "--in-place", "--recipient", R1, "tree"])
        .success();
    let before = String::from_utf8(s.read("tree/a/one.yaml")).expect("utf8");

    // updatekeys needs the current data key.
    s.ceremony(&[
        "bootstrap",
        "updatekeys",
        "--recipient",
        R1,
        "--recipient",
        R2,
        "tree",
    ])
    .fails_with(7, "SOPS_AGE_KEY_FILE");
    let run = s
        .ceremony(&[
            "bootstrap",
            "updatekeys",
            "--json",
            "--recipient",
            &format!("{R1},{R2}"),
            "-i",
            &key_arg("key1.agekey"),
            "tree",
        ])
        .success();
    assert_eq!(
        names(&json_of(&run)["updated"]),
        ["one.yaml", "three.json", "two.yaml"]
    );
    let after = String::from_utf8(s.read("tree/a/one.yaml")).expect("utf8");
    assert_eq!(body(&after), body(&before), "values untouched");
    let stamp = |t: &str| {
        t.lines()
            .find(|l| {
                l.trim_start().starts_with("lastmodified:") || l.trim_start().starts_with("mac:")
            })
            .map(str::to_owned)
    };
    assert_eq!(stamp(&after), stamp(&before), "lastmodified untouched");
    for (file, plain) in [
        ("a/one.yaml", SECRET),
        ("two.yaml", SECOND_SECRET),
        ("three.json", CONFIG_JSON),
    ] {
        let opened = run_sops(&s.path("tree"), Some("key2.agekey"), &["-d", file]).success();
        assert_eq!(opened.output.stdout, plain.as_bytes(), "{file}");
    }
    // Already current: nothing rewritten.
    let again = s
        .ceremony(&[
            "bootstrap",
            "updatekeys",
            "--json",
            "--recipient",
            R1,
            "--recipient",
            R2,
            "-i",
            &key_arg("key1.agekey"),
            "tree",
        ])
        .success();
    assert_eq!(
        json_of(&again)["unchanged"].as_array().expect("list").len(),
        3
    );

    // rotate: a new data key, new ciphertexts, same plaintext for sops.
    let run = s
        .ceremony_env(
            &["bootstrap", "rotate", "--json", "tree"],
            &[("SOPS_AGE_KEY_FILE", &key_arg("key2.agekey"))],
        )
        .success();
    assert_eq!(json_of(&run)["rotated"].as_array().expect("list").len(), 3);
    let rotated = String::from_utf8(s.read("tree/a/one.yaml")).expect("utf8");
    assert_ne!(body(&rotated), body(&after), "values re-encrypted");
    for (file, plain) in [
        ("a/one.yaml", SECRET),
        ("two.yaml", SECOND_SECRET),
        ("three.json", CONFIG_JSON),
    ] {
        for k in ["key1.agekey", "key2.agekey"] {
            let opened = run_sops(&s.path("tree"), Some(k), &["-d", file]).success();
            assert_eq!(opened.output.stdout, plain.as_bytes(), "{file} with {k}");
        }
    }
}

// ---------------------------------------------------------------------------
// verify

#[test]
fn verify_lists_offenders_with_file_and_key_path() {
    let s = Scratch::new();
    let root_recipient = make_root(&s);
    mkdirs(&s, "repo/apps");
    s.write("repo/apps/good.yaml", SECRET);
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--root",
        "root",
        "repo/apps/good.yaml",
    ])
    .success();
    // The identity rebuilt from a quorum opens what was sealed to the root.
    let opened = s
        .ceremony(&[
            "bootstrap",
            "open",
            "-i",
            "bootstrap.agekey",
            "repo/apps/good.yaml",
        ])
        .success();
    assert_eq!(opened.output.stdout, SECRET.as_bytes());
    let clean = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .success();
    assert!(clean.stderr_text().contains(&root_recipient));

    // Offenders of every kind.
    s.write("repo/apps/plain-secret.yaml", SECOND_SECRET);
    s.write("repo/apps/wrong-recipient.yaml", SECRET);
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--recipient",
        R1,
        "repo/apps/wrong-recipient.yaml",
    ])
    .success();
    let good = String::from_utf8(s.read("repo/apps/good.yaml")).expect("utf8");
    let leaked = good
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("token: ENC[") {
                "    token: tok_in_clear".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    s.write("repo/apps/leaked.yaml", leaked);
    let malformed = good
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("password: ENC[") {
                "    password: ENC[AES256_GCM,data:broken".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    s.write("repo/apps/malformed.yaml", malformed);
    s.write(
        "repo/apps/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n    name: x\ndata:\n    a: b\n",
    );

    let run = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .fails_with(4, "offender(s)");
    let out = run.stdout_text();
    for needle in [
        "repo/apps/plain-secret.yaml: -: Secret \"git\" is not sealed",
        "repo/apps/plain-secret.yaml: stringData:password: value in clear",
        &format!("repo/apps/wrong-recipient.yaml: sops:age: recipient {root_recipient} is missing"),
        &format!("repo/apps/wrong-recipient.yaml: sops:age: recipient {R1} is neither"),
        "repo/apps/leaked.yaml: stringData:token: value in clear",
        "repo/apps/malformed.yaml: data:password: malformed ENC",
    ] {
        assert!(lists(&out, needle), "missing {needle:?} in:\n{out}");
    }
    // Files that pass are not listed (only with --all).
    assert!(!out.contains("good.yaml"), "{out}");
    assert!(!out.contains("configmap.yaml"), "{out}");
    let all = s
        .ceremony(&["bootstrap", "verify", "--all", "--root", "root", "repo"])
        .fails_with(4, "offender(s)");
    assert!(
        all.stdout_text()
            .lines()
            .any(|l| l.starts_with("✓ sealed repo/apps/good.yaml")),
        "{}",
        all.stdout_text()
    );
    // Never a value in the report.
    assert!(
        !out.contains("s3cr3t") && !out.contains("tok_in_clear"),
        "{out}"
    );

    let run = s
        .ceremony(&["bootstrap", "verify", "--json", "--root", "root", "repo"])
        .fails_with(4, "offender(s)");
    let report = json_of(&run);
    assert_eq!(report["format"], "ceremony.report.v1");
    assert_eq!(report["command"], "bootstrap verify");
    assert_eq!(report["passed"], false);
    assert!(checks_of(&report, "in clear").iter().any(|c| {
        c["status"] == "fail"
            && c["subject"]
                .as_str()
                .is_some_and(|f| f.ends_with("leaked.yaml: stringData:token"))
    }));
    assert!(
        checks_of(&report, "sealed")
            .iter()
            .any(|c| c["status"] == "pass" && c["subject"] == "repo/apps/good.yaml"),
        "{report}"
    );
}

#[test]
fn verify_lists_skipped_paths_checks_hidden_files_and_fails_when_nothing_was_checked() {
    let s = Scratch::new();
    make_root(&s);
    mkdirs(&s, "repo/apps");
    mkdirs(&s, "repo/.git");
    s.write("repo/.git/config", "[core]\n");
    s.write("repo/apps/good.yaml", SECRET);
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--root",
        "root",
        "repo/apps/good.yaml",
    ])
    .success();
    // A backup in clear has a suffix verify does not read: listed, not silent.
    s.write("repo/apps/secret.yml.bak", SECOND_SECRET);
    let run = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .success();
    let err = run.stderr_text();
    assert!(err.contains("1 file(s) checked, 2 skipped"), "{err}");
    let out = run.stdout_text();
    assert!(
        out.contains("skipped repo/apps/secret.yml.bak")
            && out.contains("not a yaml/yml/json/env/ini file"),
        "{out}"
    );
    assert!(
        out.contains("skipped repo/.git") && out.contains("hidden directory"),
        "{out}"
    );
    let run = s
        .ceremony(&["bootstrap", "verify", "--json", "--root", "root", "repo"])
        .success();
    let report = json_of(&run);
    assert_eq!(report["passed"], true);
    assert_eq!(checks_of(&report, "sealed").len(), 1);
    assert_eq!(skipped_names(&report), [".git", "secret.yml.bak"]);

    // A hidden manifest is checked, not skipped.
    s.write("repo/apps/.hidden.yaml", SECOND_SECRET);
    let run = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .fails_with(4, "offender(s) in 1 of 2 file(s) checked, 2 skipped");
    assert!(
        lists(
            &run.stdout_text(),
            "repo/apps/.hidden.yaml: -: Secret \"git\" is not sealed"
        ),
        "{}",
        run.stdout_text()
    );
    // seal leaves hidden files alone, and says so.
    let run = s
        .ceremony(&[
            "bootstrap",
            "seal",
            "--in-place",
            "--json",
            "--root",
            "root",
            "repo",
        ])
        .success();
    let summary = json_of(&run);
    assert!(
        names(&summary["skipped"]).contains(&".hidden.yaml".to_owned()),
        "{summary}"
    );
    assert_eq!(s.read("repo/apps/.hidden.yaml"), SECOND_SECRET.as_bytes());

    // Nothing checked at all: a failure, not "✓ 0 file(s)".
    mkdirs(&s, "backup");
    s.write("backup/secret.yml.bak", SECOND_SECRET);
    let run = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "backup"])
        .fails_with(4, "no file was checked, 1 skipped");
    assert!(run.stdout_text().contains("backup/secret.yml.bak"));
    let run = s
        .ceremony(&["bootstrap", "verify", "--json", "--root", "root", "backup"])
        .fails_with(4, "no file was checked");
    let report = json_of(&run);
    // Nothing failed, so the report itself passes; the command does not.
    assert_eq!(checks_of(&report, "sealed").len(), 0);
    assert_eq!(skipped_names(&report), ["secret.yml.bak"]);
}

#[test]
fn verify_escapes_control_characters_in_key_names() {
    let s = Scratch::new();
    make_root(&s);
    mkdirs(&s, "repo");
    s.write(
        "repo/evil.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: x\nstringData:\n    \"pass\\e[31mword\": hunter2\n",
    );
    let run = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .fails_with(4, "offender(s)");
    let out = run.stdout_text();
    assert!(!run.output.stdout.contains(&0x1b), "raw ESC in {out:?}");
    assert!(
        lists(
            &out,
            "repo/evil.yaml: stringData:pass\\u{1b}[31mword: value in clear"
        ),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "{out}");
}

#[test]
fn verify_expects_the_root_plus_the_sops_yaml_recipients() {
    let s = Scratch::new();
    let root_recipient = make_root(&s);
    mkdirs(&s, "repo/bootstrap");
    s.write(
        "repo/.sops.yaml",
        format!("creation_rules:\n  - path_regex: ^bootstrap/\n    age: {root_recipient},{R1}\n"),
    );
    s.write("repo/bootstrap/db.yaml", SECRET);
    s.write("repo/bootstrap/root-only.yaml", SECOND_SECRET);
    // Sealed by the rule: root + R1.
    s.ceremony(&["bootstrap", "seal", "--in-place", "repo/bootstrap/db.yaml"])
        .success();
    // Sealed with --root: flags win, so R1 is missing.
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--root",
        "root",
        "repo/bootstrap/root-only.yaml",
    ])
    .success();
    let run = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .fails_with(4, "1 offender(s)");
    assert!(
        lists(
            &run.stdout_text(),
            &format!(
                "repo/bootstrap/root-only.yaml: sops:age: recipient {R1} is missing (listed by .sops.yaml creation_rules[0]"
            )
        ),
        "{}",
        run.stdout_text()
    );
    // updatekeys with the rule's recipients fixes it; sops still opens it.
    s.ceremony(&[
        "bootstrap",
        "updatekeys",
        "-i",
        "bootstrap.agekey",
        "repo/bootstrap",
    ])
    .success();
    s.ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .success();
    let opened = run_sops(
        &s.path("repo"),
        Some("key1.agekey"),
        &["-d", "bootstrap/root-only.yaml"],
    )
    .success();
    assert_eq!(opened.output.stdout, SECOND_SECRET.as_bytes());
    // A plain file under a path_regex rule is an offender too.
    s.write("repo/bootstrap/new.yaml", "token: fresh\n");
    s.ceremony(&["bootstrap", "verify", "--root", "root", "repo"])
        .fails_with(4, "offender");
}

#[test]
fn pre_commit_hook_definition_runs_verify() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .expect(".pre-commit-hooks.yaml at the top level");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.trim_start()
                    .trim_start_matches("- ")
                    .strip_prefix(&format!("{name}:"))
            })
            .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("no {name} in .pre-commit-hooks.yaml"))
    };
    assert!(
        text.trim_start()
            .starts_with("- id: ceremony-bootstrap-verify")
    );
    assert_eq!(field("id"), "ceremony-bootstrap-verify");
    assert_eq!(field("language"), "system");
    let entry = field("entry");
    assert_eq!(entry, "ceremony bootstrap verify");
    let files = regex::Regex::new(&field("files")).expect("files is a regex");
    for yes in ["a.yaml", "b/c.yml", "d.json", "e.env", "f.ini"] {
        assert!(files.is_match(yes), "{yes}");
    }
    for no in ["README.md", "x.yaml.bak", "main.rs"] {
        assert!(!files.is_match(no), "{no}");
    }
    // If PyYAML is around, the file must parse as a list of one hook.
    let python = Command::new("python3")
        .args([
            "-c",
            "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert isinstance(d, list) and d[0]['id'] == 'ceremony-bootstrap-verify'",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"))
        .output();
    if let Ok(out) = python {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("No module named"),
            "{stderr}"
        );
    }

    // pre-commit runs `entry` + the hook's args + the staged file names.
    let s = Scratch::new();
    make_root(&s);
    s.write("staged.yaml", SECRET);
    let mut words = entry.split_whitespace();
    assert_eq!(words.next(), Some("ceremony"));
    let mut args: Vec<&str> = words.collect();
    args.extend(["--root", "root", "staged.yaml"]);
    s.ceremony(&args).fails_with(4, "offender");
}

#[test]
fn config_flag_names_the_sops_yaml_and_bad_recipients_stop_early() {
    let s = Scratch::new();
    mkdirs(&s, "elsewhere");
    mkdirs(&s, "tree");
    // Not found by the upward search from tree/, so only --config brings it in.
    s.write(
        "elsewhere/rules.yaml",
        format!("creation_rules:\n  - age: {R2}\n    encrypted_regex: ^token$\n"),
    );
    s.write(
        "tree/app.yaml",
        "token: t-1\nurl: https://example.invalid\n",
    );
    s.ceremony(&["bootstrap", "seal", "--in-place", "tree"])
        .fails_with(2, "no recipients");
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--config",
        "elsewhere/rules.yaml",
        "tree",
    ])
    .success();
    let sealed = String::from_utf8(s.read("tree/app.yaml")).expect("utf8");
    assert!(sealed.contains("url: https://example.invalid"), "{sealed}");
    assert!(sealed.contains(R2) && !sealed.contains("t-1"), "{sealed}");
    let opened = run_sops(&s.path("tree"), Some("key2.agekey"), &["-d", "app.yaml"]).success();
    assert_eq!(
        opened.output.stdout,
        b"token: t-1\nurl: https://example.invalid\n"
    );
    // A recipient that is not one fails before any file is read.
    s.write("tree/other.yaml", "a: b\n");
    s.ceremony(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--recipient",
        "age1nope",
        "tree",
    ])
    .fails_with(2, "not an age recipient");
    assert_eq!(s.read("tree/other.yaml"), b"a: b\n");
}

#[test]
fn identities_come_from_everywhere_sops_looks() {
    let s = Scratch::new();
    let plain = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: x\nstringData:\n    token: t0ken-value\n";
    s.write("secret.yaml", plain);

    // Sealed to an ssh-ed25519 key: opened with that private key, by -i,
    // by SOPS_AGE_SSH_PRIVATE_KEY_FILE, and from ~/.ssh/id_ed25519.
    let public = s.ssh_key("deploy");
    let sealed = s
        .ceremony(&["bootstrap", "seal", "--recipient", &public, "secret.yaml"])
        .success();
    s.write("sealed.yaml", &sealed.output.stdout);
    let opened = s
        .ceremony(&["bootstrap", "open", "sealed.yaml", "-i", "deploy"])
        .success();
    assert_eq!(opened.stdout_text(), plain);
    let path = s.path("deploy").display().to_string();
    let opened = s
        .ceremony_env(
            &["bootstrap", "open", "sealed.yaml"],
            &[("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &path)],
        )
        .success();
    assert_eq!(opened.stdout_text(), plain);
    std::fs::create_dir_all(s.path(".ssh")).unwrap();
    std::fs::copy(s.path("deploy"), s.path(".ssh/id_ed25519")).unwrap();
    let opened = s.ceremony(&["bootstrap", "open", "sealed.yaml"]).success();
    assert_eq!(opened.stdout_text(), plain);
    // The real sops opens it with the same key.
    let by_sops = s
        .tool_env(
            "sops",
            &["decrypt", "sealed.yaml"],
            &[
                ("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &path),
                ("SOPS_DISABLE_VERSION_CHECK", "1"),
            ],
        )
        .success();
    assert_eq!(by_sops.stdout_text(), plain);
    std::fs::remove_file(s.path(".ssh/id_ed25519")).unwrap();

    // Sealed to an age key: found in $XDG_CONFIG_HOME/sops/age/keys.txt.
    let recipient = s.age_key("agekey");
    let sealed = s
        .ceremony(&[
            "bootstrap",
            "seal",
            "--recipient",
            &recipient,
            "secret.yaml",
        ])
        .success();
    s.write("sealed2.yaml", &sealed.output.stdout);
    std::fs::create_dir_all(s.path("cfg/sops/age")).unwrap();
    std::fs::copy(s.path("agekey.key"), s.path("cfg/sops/age/keys.txt")).unwrap();
    let cfg = s.path("cfg").display().to_string();
    let opened = s
        .ceremony_env(
            &["bootstrap", "open", "sealed2.yaml"],
            &[("XDG_CONFIG_HOME", &cfg)],
        )
        .success();
    assert_eq!(opened.stdout_text(), plain);
    // A required file that is missing is an error, not silently skipped.
    s.ceremony(&["bootstrap", "open", "sealed2.yaml", "-i", "missing.key"])
        .fails_with(8, "missing.key");
}

/// `stores:` in `.sops.yaml` lays out what `bootstrap seal` writes as sops
/// lays out what it writes: the same indents, line for line.
#[test]
fn seal_rotate_and_set_follow_the_stores_indent_of_sops_yaml_as_sops_does() {
    let s = Scratch::new();
    mkdirs(&s, "tree");
    s.write(
        "tree/.sops.yaml",
        format!(
            "stores:\n  yaml:\n    indent: 2\ncreation_rules:\n  - path_regex: .*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {R1}\n"
        ),
    );
    let manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  labels:\n    app: db\nstringData:\n  password: hunter2\n  nested:\n    inner: v\n";
    s.write("tree/db.yaml", manifest);
    s.write("tree/by-sops.yaml", manifest);
    s.ceremony(&["bootstrap", "seal", "--in-place", "tree/db.yaml"])
        .success();
    let sops = run_sops(&s.path("tree"), None, &["-e", "-i", "by-sops.yaml"]);
    assert_eq!(sops.code(), 0, "{}", sops.stderr_text());
    // Indents only: ciphertexts, the MAC and the time differ by design.
    let shape = |text: String| -> Vec<usize> {
        text.lines()
            .take_while(|l| !l.starts_with("sops:"))
            .map(|l| l.len() - l.trim_start().len())
            .collect()
    };
    let ours = shape(String::from_utf8(s.read("tree/db.yaml")).unwrap());
    assert_eq!(
        ours,
        shape(String::from_utf8(s.read("tree/by-sops.yaml")).unwrap())
    );
    // sops's own default is 4: nested keys would be at 8.
    assert!(
        ours.contains(&4) && !ours.contains(&8),
        "indent 2 per level: {ours:?}"
    );

    // Every rewrite keeps that layout, as sops's do: a rotation, and a new
    // value for one item.
    let key = key_arg("key1.agekey");
    s.ceremony(&["bootstrap", "rotate", "-i", &key, "tree/db.yaml"])
        .success();
    let sops = run_sops(
        &s.path("tree"),
        Some("key1.agekey"),
        &["rotate", "-i", "by-sops.yaml"],
    );
    assert_eq!(sops.code(), 0, "{}", sops.stderr_text());
    let rotated = shape(String::from_utf8(s.read("tree/db.yaml")).unwrap());
    assert_eq!(rotated, ours, "bootstrap rotate keeps the indent");
    assert_eq!(
        rotated,
        shape(String::from_utf8(s.read("tree/by-sops.yaml")).unwrap())
    );
    s.ceremony_with_stdin(
        &[
            "bootstrap",
            "set",
            "tree/db.yaml",
            "--item",
            "default/db/password",
            "-i",
            &key,
        ],
        b"correct horse",
    )
    .success();
    assert_eq!(
        shape(String::from_utf8(s.read("tree/db.yaml")).unwrap()),
        ours,
        "bootstrap set keeps the indent"
    );
}
