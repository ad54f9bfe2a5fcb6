//! The whole handover, end to end: root init (offline) → bootstrap Secrets
//! sealed to the root's recipient → challenge → receipt from the decrypted
//! values → `verify --deep` with two custodians rebuilding the bootstrap key.
//! Then the same with one value changed on the runtime side: verification
//! fails on exactly that item.
//!
//! Sealing is `ceremony bootstrap seal --root root --in-place bootstrap`; the
//! values directory is decrypted from the sealed files with the rebuilt
//! bootstrap identity, so the receipt is made from what the cluster would
//! actually receive.

use ceremony::root::RootSecret;
use ceremony::sops::{self, Format, MacCheck};

use crate::util::custodians::{bootstrap_key, rebuild_secret};
use crate::util::handover::{Handover, ITEMS, failed_lines, not_checked_lines};

/// Decrypts bootstrap/<rel> into values/<rel> with the bootstrap identity
/// rebuilt from alice's and bob's bundles by the library.
fn decrypt_into_values(h: &Handover) {
    let secret = rebuild_secret(
        &h.s,
        "root",
        RootSecret::Bootstrap,
        &[("alice", "alice.key"), ("bob", "bob.key")],
    );
    let identities: Vec<ceremony::identity::Identity> =
        vec![Box::new(bootstrap_key(&secret).identity().unwrap())];
    for rel in ["apps/db.yaml", "flux/git.yaml"] {
        let plain = sops::decrypt(
            &h.s.read(&format!("bootstrap/{rel}")),
            Format::Yaml,
            &identities,
            MacCheck::Verify,
        )
        .unwrap();
        h.s.write(&format!("values/{rel}"), plain.expose_secret());
    }
}

#[test]
fn handover_end_to_end_with_deep_verification() {
    let h = Handover::new();
    // The runtime side receives exactly what was sealed.
    std::fs::remove_dir_all(h.s.path("values")).unwrap();
    std::fs::create_dir_all(h.s.path("values/apps")).unwrap();
    std::fs::create_dir_all(h.s.path("values/flux")).unwrap();
    decrypt_into_values(&h);

    let line = h.ed25519_key("openbao");
    h.s.write(
        "trust.txt",
        format!("# the runtime authority's receipt key\n{line}\n"),
    );
    h.receipt("receipt.json", &["--key", "openbao"]).success();

    let deep = h.deep_args();
    let deep: Vec<&str> = deep.iter().map(String::as_str).collect();
    let out = h.verify("receipt.json", "trust.txt", &deep).success();
    let text = out.stdout_text();
    assert!(failed_lines(&text).is_empty(), "{text}");
    assert!(not_checked_lines(&text).is_empty(), "{text}");
    for id in ITEMS {
        assert!(text.contains(&format!("✓ commitment {id}")), "{text}");
    }
    assert!(
        out.stderr_text()
            .contains("rebuilt bootstrap-key matches root.json")
    );
    assert!(out.stderr_text().contains("every commitment recomputed"));

    // The runtime side stored a different value for one item.
    let db = String::from_utf8(h.s.read("values/apps/db.yaml")).unwrap();
    let changed = db.replace("aHVudGVyMg==", "aHVudGVyMw==");
    assert_ne!(
        db, changed,
        "the decrypted manifest keeps data values as written"
    );
    h.write_values("apps/db.yaml", &changed);
    h.receipt("changed.json", &["--key", "openbao"]).success();
    // Without --deep the receipt is consistent with the challenge ...
    h.verify("changed.json", "trust.txt", &["--bootstrap", "bootstrap"])
        .success();
    // ... with --deep it fails on exactly that item.
    let out = h
        .verify("changed.json", "trust.txt", &deep)
        .fails_with(4, "handover NOT verified: 1 check(s) failed");
    let text = out.stdout_text();
    let failed = failed_lines(&text);
    assert_eq!(failed.len(), 1, "{text}");
    assert!(
        failed[0].starts_with("✗ commitment apps/db/password")
            && failed[0].contains("commitment mismatch"),
        "{text}"
    );
    // The JSON report says the same.
    let mut args = deep.clone();
    args.push("--json");
    let out = h
        .verify("changed.json", "trust.txt", &args)
        .fails_with(4, "NOT verified");
    let report: serde_json::Value = serde_json::from_str(&out.stdout_text()).unwrap();
    assert_eq!(report["passed"], false);
    let failed: Vec<_> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["check"], "commitment");
    assert_eq!(failed[0]["subject"], "apps/db/password");
    // No value ever reaches the output.
    for value in [
        "hunter",
        "aHVudGVy",
        "admin",
        "secret-token",
        "ssh-private-key-text",
    ] {
        assert!(!text.contains(value) && !out.stdout_text().contains(value));
        assert!(
            !h.s.read("receipt.json")
                .windows(value.len())
                .any(|w| w == value.as_bytes())
        );
    }
}

#[test]
fn deep_refuses_another_root_and_too_few_custodians() {
    let h = Handover::new();
    let line = h.ed25519_key("openbao");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("receipt.json", &["--key", "openbao"]).success();
    // One custodian is below the threshold of two.
    let system = h.system.clone();
    h.verify(
        "receipt.json",
        "trust.txt",
        &[
            "--bootstrap",
            "bootstrap",
            "--deep",
            "--root",
            "root",
            "root/shares/alice.age",
            "-i",
            "alice.key",
            "--system-root",
            &system,
        ],
    )
    .fails_with(5, "");
    // --deep without its inputs is a usage error.
    h.verify("receipt.json", "trust.txt", &["--deep"])
        .fails_with(2, "--root");
}
