//! `ceremony unseal …` end to end: the real binary, the real `age`, real
//! ssh-ed25519 keys, and every bad input with its error and exit code.

use std::os::unix::fs::PermissionsExt;

use crate::util::custodians::{Key, write_custodians};
use crate::util::{Run, Scratch, require};

const SECRET_HEX: &str = "5d4c1f0e9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f302112030405";

/// Three custodians (two age, one ssh-ed25519) and a known secret, split 2 of 3 into `set/`.
fn split_three(s: &Scratch) {
    write_custodians(
        s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Age), ("carol", Key::Ssh)],
    );
    s.write("secret.bin", hex::decode(SECRET_HEX).unwrap());
    s.ceremony(&[
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
        "--label",
        "test-key",
    ])
    .success();
}

fn combine(s: &Scratch, args: &[&str]) -> Run {
    let mut all = vec![
        "unseal",
        "combine",
        "--allow-online",
        "--shareset",
        "set/shareset.json",
    ];
    all.extend_from_slice(args);
    s.ceremony(&all)
}

#[test]
fn real_age_opens_every_share_file_and_modes_are_tight() {
    require("age");
    let s = Scratch::new();
    split_three(&s);
    for (file, key) in [
        ("alice", "alice.key"),
        ("bob", "bob.key"),
        ("carol", "carol"),
    ] {
        let path = format!("set/{file}.share.age");
        let text = String::from_utf8(s.read(&path)).unwrap();
        assert!(
            text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "{path} is armored"
        );
        let mode = std::fs::metadata(s.path(&path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{path}");
        let out = s.tool("age", &["-d", "-i", key, &path]).success();
        let doc: serde_json::Value = serde_json::from_slice(&out.output.stdout).unwrap();
        assert_eq!(doc["format"], "ceremony.share.v1");
        assert_eq!(doc["custodian"], file);
        assert_eq!(doc["label"], "test-key");
        // A custodian's key opens only their own share.
        let other = if file == "alice" {
            "bob.key"
        } else {
            "alice.key"
        };
        assert_ne!(s.tool("age", &["-d", "-i", other, &path]).code(), 0);
    }
    let set: serde_json::Value = serde_json::from_slice(&s.read("set/shareset.json")).unwrap();
    assert_eq!(set["format"], "ceremony.shareset.v1");
    assert_eq!(set["threshold"], 2);
    assert_eq!(set["shares"], 3);
    assert_eq!(set["custodians"][2]["recipient"]["type"], "ssh-ed25519");
    let listing = std::fs::read_dir(s.path("set")).unwrap().count();
    assert_eq!(
        listing, 4,
        "three shares and the manifest, no temporary files"
    );
    // The manifest holds nothing secret: neither the key nor a share.
    let manifest = String::from_utf8(s.read("set/shareset.json")).unwrap();
    assert!(!manifest.contains(SECRET_HEX));
}

#[test]
fn any_two_custodians_rebuild_the_secret_in_every_form() {
    let s = Scratch::new();
    split_three(&s);
    for pair in [("alice", "bob"), ("alice", "carol"), ("bob", "carol")] {
        let key = |n: &str| {
            if n == "carol" {
                "carol".to_owned()
            } else {
                format!("{n}.key")
            }
        };
        let (f1, f2) = (
            format!("set/{}.share.age", pair.0),
            format!("set/{}.share.age", pair.1),
        );
        let (k1, k2) = (key(pair.0), key(pair.1));
        let out = combine(&s, &[&f1, &f2, "-i", &k1, "-i", &k2]).success();
        assert_eq!(out.stdout_text().trim(), SECRET_HEX, "{pair:?}");
    }
    let out = combine(
        &s,
        &[
            "set/alice.share.age",
            "set/bob.share.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "--emit",
            "base64",
        ],
    )
    .success();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(out.stdout_text().trim())
        .unwrap();
    assert_eq!(hex::encode(decoded), SECRET_HEX);

    let out = combine(
        &s,
        &[
            "set/alice.share.age",
            "set/bob.share.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "--emit",
            "openbao-static-seal",
            "--namespace",
            "vault-system",
        ],
    )
    .success();
    let manifest = out.stdout_text();
    assert!(manifest.contains("kind: Secret\n"), "{manifest}");
    assert!(manifest.contains("  namespace: vault-system\n"));
    assert!(manifest.contains("current_key    = \"file:///openbao/static-seal/unseal.key\""));
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("unseal.key:"))
        .unwrap();
    let b64 = line.split(':').nth(1).unwrap().trim();
    assert_eq!(
        hex::encode(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        ),
        SECRET_HEX
    );
    let set: serde_json::Value = serde_json::from_slice(&s.read("set/shareset.json")).unwrap();
    let key_id = set["key_id"].as_str().unwrap();
    assert!(manifest.contains(&format!("current_key_id = \"{key_id}\"")));
}

#[test]
fn all_three_shares_are_checked_for_consistency() {
    let s = Scratch::new();
    split_three(&s);
    let out = combine(
        &s,
        &[
            "set/alice.share.age",
            "set/bob.share.age",
            "set/carol.share.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "-i",
            "carol",
        ],
    )
    .success();
    assert_eq!(out.stdout_text().trim(), SECRET_HEX);
}

#[test]
fn too_few_shares_exit_5_and_print_nothing() {
    let s = Scratch::new();
    split_three(&s);
    let run =
        combine(&s, &["set/alice.share.age", "-i", "alice.key"]).fails_with(5, "1 valid share(s)");
    assert!(run.output.stdout.is_empty());
    // A share nobody can open does not count, and says why.
    let run = combine(
        &s,
        &[
            "set/alice.share.age",
            "set/bob.share.age",
            "-i",
            "alice.key",
        ],
    )
    .fails_with(
        5,
        "set/bob.share.age: none of the given identities opens this share",
    );
    assert!(run.output.stdout.is_empty());
}

#[test]
fn same_share_twice_is_refused() {
    let s = Scratch::new();
    split_three(&s);
    std::fs::copy(s.path("set/alice.share.age"), s.path("copy.age")).unwrap();
    combine(&s, &["set/alice.share.age", "copy.age", "-i", "alice.key"])
        .fails_with(3, "copy.age: same share as set/alice.share.age");
}

#[test]
fn share_of_another_set_is_refused() {
    let s = Scratch::new();
    split_three(&s);
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "other",
        "--secret-file",
        "secret.bin",
    ])
    .success();
    combine(
        &s,
        &[
            "set/alice.share.age",
            "other/bob.share.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
        ],
    )
    .fails_with(4, "other/bob.share.age: this share belongs to set");
}

#[test]
fn edited_manifest_is_caught() {
    let s = Scratch::new();
    split_three(&s);
    let original = String::from_utf8(s.read("set/shareset.json")).unwrap();
    let set: serde_json::Value = serde_json::from_str(&original).unwrap();

    // A commitment changed: the share no longer matches.
    let commitment = set["custodians"][0]["commitment"].as_str().unwrap();
    let mut forged = commitment.to_owned();
    forged.replace_range(10..11, if &commitment[10..11] == "0" { "1" } else { "0" });
    s.write("set/shareset.json", original.replace(commitment, &forged));
    s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/alice.share.age",
        "-i",
        "alice.key",
    ])
    .fails_with(4, "does not match its commitment");

    // The key check value changed: the rebuilt secret is refused, nothing printed.
    let kcv = set["key_check_value"].as_str().unwrap();
    let mut forged = kcv.to_owned();
    forged.replace_range(20..21, if &kcv[20..21] == "a" { "b" } else { "a" });
    s.write("set/shareset.json", original.replace(kcv, &forged));
    let run = combine(
        &s,
        &[
            "set/alice.share.age",
            "set/bob.share.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
        ],
    )
    .fails_with(4, "does not match the key check value");
    assert!(run.output.stdout.is_empty());

    // x moved: named with the file.
    let x = set["custodians"][1]["x"].as_u64().unwrap();
    let new_x = if x == 255 { 254 } else { x + 1 };
    let edited = original.replacen(&format!("\"x\": {x},"), &format!("\"x\": {new_x},"), 1);
    if edited != original && !original.contains(&format!("\"x\": {new_x},")) {
        s.write("set/shareset.json", edited);
        s.ceremony(&[
            "unseal",
            "verify",
            "--shareset",
            "set/shareset.json",
            "set/bob.share.age",
            "-i",
            "bob.key",
        ])
        .fails_with(4, "set/bob.share.age: share of custodian \"bob\"");
    }

    // A key id that would inject YAML into an emitted Secret is refused.
    let key_id = set["key_id"].as_str().unwrap();
    s.write(
        "set/shareset.json",
        original.replace(
            &format!("\"key_id\": \"{key_id}\""),
            "\"key_id\": \"x\\n  evil: true\"",
        ),
    );
    s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/bob.share.age",
        "-i",
        "bob.key",
    ])
    .fails_with(3, "set/shareset.json: key_id: key id");

    // Not a manifest at all.
    s.write(
        "set/shareset.json",
        "{\"format\": \"ceremony.shareset.v1\", \"set_id\": 7}",
    );
    s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/bob.share.age",
        "-i",
        "bob.key",
    ])
    .fails_with(3, "set/shareset.json: line 1");
}

#[test]
fn damaged_share_file_is_reported_with_its_name() {
    let s = Scratch::new();
    split_three(&s);
    let text = String::from_utf8(s.read("set/alice.share.age")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Flip one base64 character in the body of the armor.
    let body = &mut lines[3];
    let c = body.remove(10);
    body.insert(10, if c == 'A' { 'B' } else { 'A' });
    s.write("set/alice.share.age", lines.join("\n") + "\n");
    let run = s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/alice.share.age",
        "-i",
        "alice.key",
    ]);
    assert!(
        matches!(run.code(), 3 | 4 | 7),
        "exit {}: {}",
        run.code(),
        run.stderr_text()
    );
    assert!(
        run.stderr_text().contains("set/alice.share.age:"),
        "{}",
        run.stderr_text()
    );
    s.write("set/bob.share.age", "hello\n");
    s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/bob.share.age",
        "-i",
        "bob.key",
    ])
    .fails_with(3, "set/bob.share.age: not an age-encrypted file");
}

#[test]
fn verify_proves_one_share_without_the_others() {
    let s = Scratch::new();
    split_three(&s);
    let out = s
        .ceremony(&[
            "unseal",
            "verify",
            "--shareset",
            "set/shareset.json",
            "set/carol.share.age",
            "-i",
            "carol",
        ])
        .success();
    assert!(
        out.stdout_text().contains("share of carol"),
        "{}",
        out.stdout_text()
    );
    assert!(out.stdout_text().contains("matches its commitment"));
    s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "set/shareset.json",
        "set/carol.share.age",
        "-i",
        "alice.key",
    ])
    .fails_with(7, "none of the given identities opens this share");
}

#[test]
fn reshare_keeps_the_secret_and_check_value_with_a_new_set() {
    let s = Scratch::new();
    split_three(&s);
    write_custodians(
        &s,
        "new.toml",
        "",
        &[("dave", Key::Age), ("erin", Key::Age), ("frank", Key::Age)],
    );
    s.ceremony(&[
        "unseal",
        "reshare",
        "--yes",
        "--allow-online",
        "--shareset",
        "set/shareset.json",
        "set/alice.share.age",
        "set/carol.share.age",
        "-i",
        "alice.key",
        "-i",
        "carol",
        "--custodians",
        "new.toml",
        "--threshold",
        "3",
        "--out",
        "new",
    ])
    .success();
    let old: serde_json::Value = serde_json::from_slice(&s.read("set/shareset.json")).unwrap();
    let new: serde_json::Value = serde_json::from_slice(&s.read("new/shareset.json")).unwrap();
    assert_ne!(old["set_id"], new["set_id"]);
    assert_eq!(old["key_check_value"], new["key_check_value"]);
    assert_eq!(old["key_id"], new["key_id"]);
    assert_eq!(new["previous_set_id"], old["set_id"]);
    assert_eq!(new["threshold"], 3);
    let out = s
        .ceremony(&[
            "unseal",
            "combine",
            "--allow-online",
            "--shareset",
            "new/shareset.json",
            "new/dave.share.age",
            "new/erin.share.age",
            "new/frank.share.age",
            "-i",
            "dave.key",
            "-i",
            "erin.key",
            "-i",
            "frank.key",
        ])
        .success();
    assert_eq!(out.stdout_text().trim(), SECRET_HEX);
    // Two of three is no longer enough.
    s.ceremony(&[
        "unseal",
        "combine",
        "--allow-online",
        "--shareset",
        "new/shareset.json",
        "new/dave.share.age",
        "new/erin.share.age",
        "-i",
        "dave.key",
        "-i",
        "erin.key",
    ])
    .fails_with(5, "2 valid share(s)");
}

#[test]
fn fresh_unseal_key_is_32_random_bytes() {
    let s = Scratch::new();
    split_three(&s);
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "3",
        "--out",
        "gen",
    ])
    .success();
    let out = s
        .ceremony(&[
            "unseal",
            "combine",
            "--allow-online",
            "--shareset",
            "gen/shareset.json",
            "gen/alice.share.age",
            "gen/bob.share.age",
            "gen/carol.share.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "-i",
            "carol",
        ])
        .success();
    let key = hex::decode(out.stdout_text().trim()).unwrap();
    assert_eq!(key.len(), 32);
    assert_ne!(hex::encode(&key), SECRET_HEX);
    assert!(key.iter().any(|&b| b != key[0]));
}

#[test]
fn bad_inputs_get_clear_errors_and_write_nothing() {
    let s = Scratch::new();
    split_three(&s);
    let share = |args: &[&str]| {
        let mut all = vec![
            "unseal",
            "share",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--secret-file",
            "secret.bin",
        ];
        all.extend_from_slice(args);
        s.ceremony(&all)
    };
    // A bad flag value is a usage error (docs/exit-codes.md).
    share(&["--threshold", "1", "--out", "x1"]).fails_with(2, "threshold 1 of 3 is not allowed");
    share(&["--threshold", "4", "--out", "x2"]).fails_with(2, "threshold 4 of 3 is not allowed");
    assert!(!s.path("x1").exists() && !s.path("x2").exists());

    // Existing, non-empty output directory: refused, untouched.
    let before = s.read("set/shareset.json");
    share(&["--threshold", "2", "--out", "set"]).fails_with(6, "directory exists and is not empty");
    assert_eq!(s.read("set/shareset.json"), before);

    s.write("bad.toml", "[[custodian]]\nname = \"a\"\nage = \"age1qqq\"\n[[custodian]]\nname = \"b\"\npassphrase = true\n");
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "bad.toml",
        "--threshold",
        "2",
        "--out",
        "x3",
    ])
    .fails_with(3, "bad.toml: line 3: ");
    s.write("dup.toml", "[[custodian]]\nname = \"a\"\npassphrase = true\n[[custodian]]\nname = \"a\"\npassphrase = true\n");
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "dup.toml",
        "--threshold",
        "2",
        "--out",
        "x4",
    ])
    .fails_with(
        3,
        "dup.toml: line 5: custodian name \"a\" is already used on line 2",
    );
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "missing.toml",
        "--threshold",
        "2",
        "--out",
        "x5",
    ])
    .fails_with(8, "missing.toml: reading failed");
    s.write("empty.bin", "");
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "x6",
        "--secret-file",
        "empty.bin",
    ])
    .fails_with(3, "empty.bin: the secret is empty");
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "two",
        "--out",
        "x7",
    ])
    .fails_with(2, "invalid value 'two'");
    s.write("big.bin", vec![7u8; 70_000]);
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "x9",
        "--secret-file",
        "big.bin",
    ])
    .fails_with(
        3,
        "big.bin: larger than 65536 bytes, the most accepted for a secret",
    );
    assert!(!s.path("x9").exists());
    for dir in ["x3", "x4", "x5", "x6", "x7"] {
        assert!(!s.path(dir).exists(), "{dir} must not exist");
    }
    // A passphrase custodian without a terminal: refused before anything is written.
    write_custodians(
        &s,
        "pp.toml",
        "",
        &[("a", Key::Passphrase), ("b", Key::Age)],
    );
    let run = s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "pp.toml",
        "--threshold",
        "2",
        "--out",
        "x8",
    ]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr_text().contains("terminal"),
        "{}",
        run.stderr_text()
    );
    assert!(!s.path("x8").exists());
}

#[test]
fn errors_never_contain_the_secret() {
    let s = Scratch::new();
    split_three(&s);
    let runs = [
        combine(&s, &["set/alice.share.age", "-i", "alice.key"]),
        combine(
            &s,
            &[
                "set/alice.share.age",
                "set/alice.share.age",
                "-i",
                "alice.key",
            ],
        ),
        s.ceremony(&[
            "unseal",
            "verify",
            "--shareset",
            "set/shareset.json",
            "set/carol.share.age",
            "-i",
            "carol",
        ]),
    ];
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(hex::decode(SECRET_HEX).unwrap())
    };
    for run in runs {
        let all = run.stdout_text() + &run.stderr_text();
        assert!(!all.contains(SECRET_HEX) && !all.contains(&b64), "{all}");
    }
}

#[test]
fn wrap_takes_vault_operator_init_output() {
    require("python3");
    let s = Scratch::new();
    split_three(&s);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/vault_shamir.py");
    let init = s
        .tool("python3", &[script.to_str().unwrap(), SECRET_HEX, "3", "2"])
        .success();
    s.write("init.json", &init.output.stdout);
    let init_json: serde_json::Value = serde_json::from_slice(&init.output.stdout).unwrap();
    s.ceremony_with_stdin(
        &[
            "unseal",
            "wrap",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "wrapped",
        ],
        &init.output.stdout,
    )
    .success();
    let set = String::from_utf8(s.read("wrapped/shareset.json")).unwrap();
    assert!(set.contains("\"origin\": \"vault-operator-init\""));
    assert!(!set.contains("hvs."), "the root token is never stored");
    // Vault's shares, combined by us, give Vault's root key back.
    let out = s
        .ceremony(&[
            "unseal",
            "combine",
            "--allow-online",
            "--shareset",
            "wrapped/shareset.json",
            "wrapped/bob.share.age",
            "wrapped/carol.share.age",
            "-i",
            "bob.key",
            "-i",
            "carol",
        ])
        .success();
    assert_eq!(out.stdout_text().trim(), SECRET_HEX);
    // Each custodian can read back exactly the share Vault printed for them.
    let open = s
        .ceremony(&[
            "unseal",
            "open",
            "wrapped/bob.share.age",
            "-i",
            "bob.key",
            "--emit",
            "vault",
        ])
        .success();
    assert_eq!(
        open.stdout_text().trim(),
        init_json["unseal_keys_b64"][1].as_str().unwrap()
    );
    let open = s
        .ceremony(&[
            "unseal",
            "open",
            "wrapped/alice.share.age",
            "-i",
            "alice.key",
            "--emit",
            "vault-hex",
        ])
        .success();
    assert_eq!(
        open.stdout_text().trim(),
        init_json["unseal_keys_hex"][0].as_str().unwrap()
    );
    s.ceremony(&[
        "unseal",
        "verify",
        "--shareset",
        "wrapped/shareset.json",
        "wrapped/alice.share.age",
        "-i",
        "alice.key",
    ])
    .success();

    // Wrong threshold, PGP-encrypted keys, a corrupted share: each refused.
    s.ceremony_with_stdin(
        &[
            "unseal",
            "wrap",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "3",
            "--out",
            "w2",
        ],
        &init.output.stdout,
    )
    .fails_with(
        3,
        "--threshold is 3, but any 2 of these 3 shares rebuild the key",
    );
    let mut pgp = init_json.clone();
    pgp["unseal_keys_b64"][0] = serde_json::Value::String("wcBMA".repeat(40));
    s.ceremony_with_stdin(
        &[
            "unseal",
            "wrap",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "w3",
        ],
        pgp.to_string().as_bytes(),
    )
    .fails_with(3, "look PGP-encrypted");
    let mut bad = init_json.clone();
    let mut share0 = hex::decode(init_json["unseal_keys_hex"][0].as_str().unwrap()).unwrap();
    share0[0] ^= 0x40;
    use base64::Engine;
    bad["unseal_keys_b64"][0] =
        serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(&share0));
    s.ceremony_with_stdin(
        &[
            "unseal",
            "wrap",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "w4",
        ],
        bad.to_string().as_bytes(),
    )
    .fails_with(3, "does not agree with the other shares");
    s.ceremony_with_stdin(
        &[
            "unseal",
            "wrap",
            "--yes",
            "--allow-online",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "w5",
        ],
        b"not json",
    )
    .fails_with(3, "stdin: not the JSON of `operator init -format=json`");
    for dir in ["w2", "w3", "w4", "w5"] {
        assert!(!s.path(dir).exists());
    }
}
