//! `ceremony handover …` through the binary: each signature scheme made by
//! its real tool and attached to a receipt, and one rejection test per way a
//! receipt can be wrong, each with its own message.

use ceremony::handover::challenge::Challenge;
use ceremony::handover::report::{Status, VerifyRequest, verify_handover};
use ceremony::handover::{Envelope, TrustFile};

use crate::util::handover::{
    Handover, ITEMS, NAMESPACE, failed_lines, minisign_keygen, not_checked_lines,
    python_transit_sign, seal,
};
use crate::util::require;

/// The shape every passing report without `--deep` has.
fn assert_passes(out: &crate::util::Run) {
    let text = out.stdout_text();
    assert!(failed_lines(&text).is_empty(), "{text}");
    assert!(!text.lines().any(|l| l.starts_with('-')), "{text}");
    for id in ITEMS {
        assert!(text.contains(&format!("✓ item {id}")), "{text}");
    }
    // One "not checked" commitment line per item, right after the item.
    let not_checked = not_checked_lines(&text);
    assert_eq!(not_checked.len(), ITEMS.len(), "{text}");
    for (line, id) in not_checked.iter().zip(ITEMS) {
        assert!(
            line.starts_with(&format!("· commitment {id} "))
                && line.ends_with("not checked (needs --deep)"),
            "{line}"
        );
    }
    assert!(
        out.stderr_text()
            .contains("commitments not recomputed (needs --deep)"),
        "{}",
        out.stderr_text()
    );
    for secret in [
        "apps/db",
        "default/api-token",
        "flux-system/git-credentials",
    ] {
        assert!(text.contains(&format!("✓ retired {secret}")), "{text}");
    }
    assert!(out.stderr_text().contains("Handover verified"));
}

/// Exactly one ✗ line, for `check`, containing `message`; exit 4.
fn assert_rejected_once(out: crate::util::Run, check: &str, message: &str) {
    let out = out.fails_with(4, "handover NOT verified");
    let text = out.stdout_text();
    let failed = failed_lines(&text);
    assert_eq!(failed.len(), 1, "expected one failure:\n{text}");
    assert!(
        failed[0].starts_with(&format!("✗ {check}")) && failed[0].contains(message),
        "expected ✗ {check} … {message}:\n{text}"
    );
}

#[test]
fn challenge_lists_files_and_items_without_a_key() {
    let h = Handover::new();
    let challenge = Challenge::from_json(&h.s.read("challenge.json")).unwrap();
    let paths: Vec<_> = challenge.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["apps/db.yaml", "flux/git.yaml"]);
    let ids: Vec<_> = challenge.items().map(|(_, i)| i.id.as_str()).collect();
    assert_eq!(ids, ITEMS);
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        h.s.read("bootstrap/apps/db.yaml"),
    ));
    assert_eq!(challenge.files[0].sha256, digest);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(h.s.path("challenge.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // No value, sealed or plain, is in the challenge.
    let text = String::from_utf8(h.s.read("challenge.json")).unwrap();
    for value in ["aHVudGVyMg", "hunter2", "admin", "ENC["] {
        assert!(!text.contains(value), "{value} leaked");
    }
    // A second challenge never reuses the nonce or id.
    h.s.ceremony(&[
        "handover",
        "challenge",
        "--root",
        "root",
        "--bootstrap",
        "bootstrap",
        "--authority",
        "openbao-prod",
        "--expires",
        "30m",
        "--out",
        "challenge2.json",
    ])
    .success();
    let second = Challenge::from_json(&h.s.read("challenge2.json")).unwrap();
    assert_ne!(second.nonce, challenge.nonce);
    assert_ne!(second.challenge_id, challenge.challenge_id);
    // The output is never overwritten.
    h.s.ceremony(&[
        "handover",
        "challenge",
        "--root",
        "root",
        "--bootstrap",
        "bootstrap",
        "--authority",
        "openbao-prod",
        "--out",
        "challenge.json",
    ])
    .fails_with(6, "already exists");
}

#[test]
fn challenge_refuses_cleartext_values_and_files_sealed_to_another_key() {
    let h = Handover::new();
    std::fs::create_dir(h.s.path("plain")).unwrap();
    h.s.write("plain/db.yaml", crate::util::handover::DB_YAML);
    h.s.ceremony(&[
        "handover",
        "challenge",
        "--root",
        "root",
        "--bootstrap",
        "plain",
        "--authority",
        "openbao-prod",
        "--out",
        "c.json",
    ])
    // The same policy as `bootstrap verify`, with the same exit code.
    .fails_with(4, "does not pass `bootstrap verify`")
    .fails_with(4, "data:password: value in clear");

    let stranger = h.s.age_key("stranger");
    std::fs::create_dir(h.s.path("other")).unwrap();
    h.s.write(
        "other/db.yaml",
        seal(&stranger, crate::util::handover::DB_YAML),
    );
    h.s.ceremony(&[
        "handover",
        "challenge",
        "--root",
        "root",
        "--bootstrap",
        "other",
        "--authority",
        "openbao-prod",
        "--out",
        "c.json",
    ])
    .fails_with(4, "is missing (root.json's bootstrap recipient)");

    // The same Secret in two sealed files.
    let recipient = h.recipient();
    std::fs::create_dir(h.s.path("twice")).unwrap();
    h.s.write(
        "twice/a.yaml",
        seal(&recipient, crate::util::handover::GIT_YAML),
    );
    let renamed = crate::util::handover::GIT_YAML.replace("identity:", "known_hosts:");
    h.s.write("twice/b.yaml", seal(&recipient, &renamed));
    h.s.ceremony(&[
        "handover",
        "challenge",
        "--root",
        "root",
        "--bootstrap",
        "twice",
        "--authority",
        "openbao-prod",
        "--out",
        "c.json",
    ])
    .fails_with(3, "Secret flux-system/git-credentials appears twice");
    assert!(!h.s.path("c.json").exists());

    h.s.ceremony(&[
        "handover",
        "challenge",
        "--root",
        "root",
        "--bootstrap",
        "bootstrap",
        "--authority",
        "openbao-prod",
        "--expires",
        "90d",
        "--out",
        "c.json",
    ])
    .fails_with(2, "is not a duration");
}

#[test]
fn ed25519_key_receipt_verifies() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("receipt.json", &["--key", "runtime"]).success();
    let out = h
        .verify("receipt.json", "trust.txt", &["--bootstrap", "bootstrap"])
        .success();
    assert_passes(&out);
    assert!(out.stdout_text().contains("✓ signature"));
    assert!(out.stdout_text().contains("equals the sealed file"));
    // JSON report carries the same checks.
    let out = h.verify("receipt.json", "trust.txt", &["--json"]).success();
    let report: serde_json::Value = serde_json::from_str(&out.stdout_text()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["checks"][0]["check"], "receipt");
    // Every check passed, except the commitments, not checked without --deep.
    let checks = report["checks"].as_array().unwrap();
    assert!(
        checks.iter().all(|c| c["status"] == "pass"
            || (c["check"] == "commitment" && c["status"] == "not_checked")),
        "{report}"
    );
    assert_eq!(
        checks
            .iter()
            .filter(|c| c["status"] == "not_checked")
            .count(),
        ITEMS.len()
    );
}

#[test]
fn sshsig_from_ssh_keygen_attached_and_verified() {
    require("ssh-keygen");
    let h = Handover::new();
    let public = h.s.ssh_key("runtime");
    h.s.write(
        "trust.txt",
        format!(
            "authorities=openbao-prod sshsig runtime@openbao namespaces=\"{NAMESPACE}\" {public}\n"
        ),
    );
    h.receipt("receipt.json", &["--unsigned"]).success();
    // Unsigned receipts never verify.
    assert_rejected_once(
        h.verify("receipt.json", "trust.txt", &[]),
        "signature",
        "unsigned",
    );
    h.s.tool(
        "ssh-keygen",
        &[
            "-Y",
            "sign",
            "-f",
            "runtime",
            "-n",
            NAMESPACE,
            "receipt.json.pae",
        ],
    )
    .success();
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "sshsig",
        "--signature",
        "receipt.json.pae.sig",
    ])
    .success();
    let out = h.verify("receipt.json", "trust.txt", &[]).success();
    assert_passes(&out);
    assert!(
        out.stdout_text()
            .contains("sshsig signature by runtime@openbao")
    );
}

#[test]
fn minisign_from_the_minisign_cli_attached_and_verified() {
    require("minisign");
    let h = Handover::new();
    minisign_keygen(h.s.dir.path(), "m");
    let public = String::from_utf8(h.s.read("m.pub")).unwrap();
    let b64 = public.lines().nth(1).unwrap();
    h.s.write(
        "trust.txt",
        format!("authorities=openbao-prod minisign {b64} ops team\n"),
    );
    h.receipt("receipt.json", &["--unsigned"]).success();
    h.s.tool(
        "minisign",
        &[
            "-S",
            "-s",
            "m.key",
            "-m",
            "receipt.json.pae",
            "-x",
            "receipt.minisig",
            "-t",
            "openbao-prod handover",
        ],
    )
    .success();
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "minisign",
        "--signature",
        "receipt.minisig",
    ])
    .success();
    let out = h.verify("receipt.json", "trust.txt", &[]).success();
    assert_passes(&out);
    assert!(out.stdout_text().contains("minisign signature by ops team"));
    assert!(out.stdout_text().contains("\"openbao-prod handover\""));
}

#[test]
fn transit_signature_from_python_attached_and_verified() {
    let h = Handover::new();
    h.receipt("receipt.json", &["--unsigned"]).success();
    let seed: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(7));
    let (sig, public) = python_transit_sign(h.s.dir.path(), seed, 3, &h.s.read("receipt.json.pae"));
    h.s.write("transit.sig", &sig);
    h.s.write(
        "trust.txt",
        format!("authorities=openbao-prod transit receipts v3 {public}\n"),
    );
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "transit",
        "--signature",
        "transit.sig",
    ])
    .success();
    let out = h.verify("receipt.json", "trust.txt", &[]).success();
    assert_passes(&out);
    assert!(
        out.stdout_text()
            .contains("transit signature by receipts v3")
    );
}

#[test]
fn raw_ed25519_signature_from_python_attached_and_verified() {
    let h = Handover::new();
    h.receipt("receipt.json", &["--unsigned"]).success();
    // Python's Ed25519 over the PAE; the transit text's last field is the
    // raw 64-byte signature in base64, which is what an ed25519 signer gives.
    let seed: [u8; 32] = std::array::from_fn(|i| 200u8.wrapping_add(i as u8));
    let (transit, public) =
        python_transit_sign(h.s.dir.path(), seed, 1, &h.s.read("receipt.json.pae"));
    let raw_b64 = transit.rsplit(':').next().unwrap();
    h.s.write("ed25519.sig", format!("{raw_b64}\n"));
    h.s.write(
        "trust.txt",
        format!("authorities=openbao-prod ed25519 {public} runtime job\n"),
    );
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "ed25519",
        "--signature",
        "ed25519.sig",
    ])
    .success();
    let out = h.verify("receipt.json", "trust.txt", &[]).success();
    assert_passes(&out);
    assert!(
        out.stdout_text()
            .contains("ed25519 signature by runtime job")
    );
    // The same signature twice is refused.
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "ed25519",
        "--signature",
        "ed25519.sig",
    ])
    .fails_with(3, "already has this signature");
}

// ---- rejections, each with its own message --------------------------------

#[test]
fn missing_extra_and_duplicated_items_are_rejected() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("unsigned.json", &["--unsigned"]).success();

    h.tamper_and_sign("unsigned.json", "missing.json", "runtime", |p, _| {
        p["items"].as_array_mut().unwrap().remove(1);
    });
    assert_rejected_once(
        h.verify("missing.json", "trust.txt", &[]),
        "item apps/db/user",
        "missing item: not acknowledged by the receipt",
    );

    h.tamper_and_sign("unsigned.json", "extra.json", "runtime", |p, _| {
        let mut extra = p["items"][0].clone();
        extra["id"] = "apps/db/extra".into();
        p["items"].as_array_mut().unwrap().push(extra);
    });
    assert_rejected_once(
        h.verify("extra.json", "trust.txt", &[]),
        "item apps/db/extra",
        "extra item: acknowledged by the receipt but not in the challenge",
    );

    h.tamper_and_sign("unsigned.json", "twice.json", "runtime", |p, _| {
        let again = p["items"][0].clone();
        p["items"].as_array_mut().unwrap().push(again);
    });
    assert_rejected_once(
        h.verify("twice.json", "trust.txt", &[]),
        "item apps/db/password",
        "acknowledged 2 times",
    );
}

#[test]
fn wrong_nonce_and_wrong_challenge_are_rejected() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("unsigned.json", &["--unsigned"]).success();
    h.tamper_and_sign("unsigned.json", "nonce.json", "runtime", |p, _| {
        p["nonce_sha256"] = "00".repeat(32).into();
    });
    assert_rejected_once(
        h.verify("nonce.json", "trust.txt", &[]),
        "nonce",
        "the receipt's nonce does not match the challenge's",
    );
    h.tamper_and_sign("unsigned.json", "id.json", "runtime", |p, _| {
        p["challenge_id"] = "ff".repeat(16).into();
    });
    assert_rejected_once(
        h.verify("id.json", "trust.txt", &[]),
        "challenge id",
        "the receipt answers challenge ffff",
    );
}

#[test]
fn expired_challenge_is_rejected() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("unsigned.json", &["--unsigned"]).success();
    // The same challenge, made two hours ago with one hour of validity; the
    // receipt completed within that hour.
    let mut challenge: serde_json::Value =
        serde_json::from_slice(&h.s.read("challenge.json")).unwrap();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    challenge["created_at"] = fmt(now - time::Duration::hours(2)).into();
    challenge["expires_at"] = fmt(now - time::Duration::hours(1)).into();
    h.s.write(
        "challenge.json",
        serde_json::to_vec_pretty(&challenge).unwrap(),
    );
    h.tamper_and_sign("unsigned.json", "late.json", "runtime", |p, _| {
        p["completed_at"] = fmt(now - time::Duration::minutes(90)).into();
    });
    assert_rejected_once(
        h.verify("late.json", "trust.txt", &[]),
        "expiry",
        "challenge expired at",
    );
    // A receipt completed after the expiry is refused on its own count too.
    h.tamper_and_sign("unsigned.json", "after.json", "runtime", |p, _| {
        p["completed_at"] = fmt(now - time::Duration::minutes(30)).into();
    });
    let out = h
        .verify("after.json", "trust.txt", &[])
        .fails_with(4, "NOT verified");
    assert!(
        out.stdout_text().contains("✗ completed"),
        "{}",
        out.stdout_text()
    );
    // And the runtime side refuses to answer an expired challenge at all.
    h.receipt("new.json", &["--unsigned"])
        .fails_with(6, "the challenge expired");
}

#[test]
fn untrusted_key_is_rejected() {
    let h = Handover::new();
    h.s.ssh_key("stranger");
    let trusted = h.s.ssh_key("runtime");
    h.s.write(
        "trust.txt",
        format!(
            "authorities=openbao-prod sshsig runtime@openbao namespaces=\"{NAMESPACE}\" {trusted}\n"
        ),
    );
    h.receipt("receipt.json", &["--unsigned"]).success();
    h.s.tool(
        "ssh-keygen",
        &[
            "-Y",
            "sign",
            "-f",
            "stranger",
            "-n",
            NAMESPACE,
            "receipt.json.pae",
        ],
    )
    .success();
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "sshsig",
        "--signature",
        "receipt.json.pae.sig",
    ])
    .success();
    let out = h
        .verify("receipt.json", "trust.txt", &[])
        .fails_with(4, "NOT verified");
    let text = out.stdout_text();
    let failed = failed_lines(&text);
    assert_eq!(failed.len(), 1, "{text}");
    assert!(
        failed[0].starts_with("✗ signature") && failed[0].contains("untrusted key"),
        "{text}"
    );
    // Nothing in an unauthenticated receipt gets a ✓.
    assert!(
        !text.contains("✓ item") && text.contains("- item apps/db/password"),
        "{text}"
    );
    assert!(text.contains("not checked: the receipt's signature did not verify"));
}

#[test]
fn good_signature_by_another_key_is_rejected() {
    let h = Handover::new();
    h.receipt("receipt.json", &["--unsigned"]).success();
    let (sig, _) = python_transit_sign(h.s.dir.path(), [1; 32], 3, &h.s.read("receipt.json.pae"));
    let (_, trusted_public) =
        python_transit_sign(h.s.dir.path(), [2; 32], 3, &h.s.read("receipt.json.pae"));
    h.s.write("transit.sig", &sig);
    h.s.write(
        "trust.txt",
        format!("authorities=openbao-prod transit receipts v3 {trusted_public}\n"),
    );
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "transit",
        "--signature",
        "transit.sig",
    ])
    .success();
    let out = h
        .verify("receipt.json", "trust.txt", &[])
        .fails_with(4, "NOT verified");
    let failed = failed_lines(&out.stdout_text());
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].contains("bad signature") && failed[0].contains("made by another key"),
        "{failed:?}"
    );
}

#[test]
fn wrong_sshsig_namespace_is_rejected() {
    let h = Handover::new();
    let public = h.s.ssh_key("runtime");
    h.s.write(
        "trust.txt",
        format!("authorities=openbao-prod sshsig runtime@openbao {public}\n"),
    );
    h.receipt("receipt.json", &["--unsigned"]).success();
    h.s.tool(
        "ssh-keygen",
        &[
            "-Y",
            "sign",
            "-f",
            "runtime",
            "-n",
            "git",
            "receipt.json.pae",
        ],
    )
    .success();
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "sshsig",
        "--signature",
        "receipt.json.pae.sig",
    ])
    .success();
    assert_rejected_once(
        h.verify("receipt.json", "trust.txt", &[]),
        "signature",
        "wrong namespace: expected \"ceremony-handover-receipt\", found \"git\"",
    );
}

#[test]
fn subject_digest_mismatch_is_rejected() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("receipt.json", &["--key", "runtime"]).success();
    // The sealed file in the bootstrap directory is replaced by another
    // sealing of the same values: the receipt is not about these bytes.
    h.seal_values();
    let out = h
        .verify("receipt.json", "trust.txt", &["--bootstrap", "bootstrap"])
        .fails_with(4, "NOT verified");
    let failed = failed_lines(&out.stdout_text());
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[0].starts_with("✗ subject apps/db.yaml")
            && failed[0].contains("subject digest mismatch")
    );
    // A receipt naming another digest than the challenge's.
    h.receipt("unsigned.json", &["--unsigned"]).success();
    h.tamper_and_sign("unsigned.json", "digest.json", "runtime", |_, subjects| {
        subjects[1].sha256 = ceremony::handover::statement::Sha256Digest([9; 32]);
    });
    assert_rejected_once(
        h.verify("digest.json", "trust.txt", &[]),
        "subject flux/git.yaml",
        "subject digest mismatch: the receipt says sha256 0909",
    );
}

#[test]
fn bootstrap_secret_not_retired_is_rejected() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt(
        "receipt.json",
        &["--key", "runtime", "--not-retired", "apps/db"],
    )
    .success();
    assert_rejected_once(
        h.verify("receipt.json", "trust.txt", &[]),
        "retired apps/db",
        "bootstrap Secret not retired",
    );
}

#[test]
fn altered_commitment_is_rejected_by_deep() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("unsigned.json", &["--unsigned"]).success();
    h.tamper_and_sign("unsigned.json", "altered.json", "runtime", |p, _| {
        p["items"][2]["commitment"] = "5a".repeat(32).into();
    });
    // Without --deep the commitment cannot be checked: the receipt is
    // consistent with the challenge, and the report says what it left out.
    let out = h.verify("altered.json", "trust.txt", &[]).success();
    assert!(
        not_checked_lines(&out.stdout_text())
            .iter()
            .any(|l| l.starts_with("· commitment default/api-token/token ")
                && l.ends_with("not checked (needs --deep)")),
        "{}",
        out.stdout_text()
    );
    let deep = h.deep_args();
    let deep: Vec<&str> = deep.iter().map(String::as_str).collect();
    assert_rejected_once(
        h.verify("altered.json", "trust.txt", &deep),
        "commitment default/api-token/token",
        "commitment mismatch: the authority's value differs from the value sealed in apps/db.yaml",
    );
}

#[test]
fn any_flipped_byte_in_the_envelope_is_rejected() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("receipt.json", &["--key", "runtime"]).success();
    let receipt = h.s.read("receipt.json");
    let challenge = Challenge::from_json(&h.s.read("challenge.json")).unwrap();
    let trust = TrustFile::parse("trust.txt", line.as_bytes()).unwrap();
    let check = |bytes: &[u8]| {
        verify_handover(&VerifyRequest {
            challenge: &challenge,
            receipt: bytes,
            trust: &trust,
            bootstrap: None,
            deep: None,
            now: time::OffsetDateTime::now_utc(),
        })
    };
    assert!(check(&receipt).passed());
    // Every byte of the file, one bit each (bit position varies with the
    // offset so every bit position is exercised), through the whole pipeline.
    for i in 0..receipt.len() {
        let mut bytes = receipt.clone();
        bytes[i] ^= 1 << (i % 8);
        let report = check(&bytes);
        assert!(!report.passed(), "flipping byte {i} was accepted");
        // Nothing in the receipt's content is reported as good.
        assert!(
            report
                .checks
                .iter()
                .all(|c| c.status != Status::Pass
                    || ["receipt", "expiry"].contains(&c.check.as_ref())),
            "byte {i}: {report:?}"
        );
    }
    // And every byte of the decoded payload and signature.
    let envelope = Envelope::from_json(&receipt).unwrap();
    for i in 0..envelope.payload.len() + 64 {
        let mut e = envelope.clone();
        if i < e.payload.len() {
            e.payload[i] ^= 0x01;
        } else {
            e.signatures[0].sig[i - e.payload.len()] ^= 0x80;
        }
        assert!(
            !check(e.to_json().unwrap().as_bytes()).passed(),
            "payload/sig byte {i}"
        );
    }
    // Through the binary, a flipped byte exits 4.
    let mut bytes = receipt.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x04;
    h.s.write("flipped.json", &bytes);
    h.verify("flipped.json", "trust.txt", &[])
        .fails_with(4, "NOT verified");
}

#[test]
fn receipt_refuses_an_incomplete_handover_and_another_authority() {
    let h = Handover::new();
    // Nothing is written when one of the two outputs is in the way.
    h.s.write("r.json.pae", "in the way");
    h.receipt("r.json", &["--unsigned"])
        .fails_with(6, "already exists");
    assert!(!h.s.path("r.json").exists());
    std::fs::remove_file(h.s.path("r.json.pae")).unwrap();
    // One value missing from the decrypted manifests.
    h.write_values(
        "flux/git.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: other\n  namespace: flux-system\nstringData:\n  x: y\n",
    );
    h.receipt("r.json", &["--unsigned"])
        .fails_with(3, "no value for item flux-system/git-credentials/identity");
    h.s.ceremony(&[
        "handover",
        "receipt",
        "--challenge",
        "challenge.json",
        "--values",
        "values",
        "--authority",
        "vault",
        "--unsigned",
        "--out",
        "r.json",
    ])
    .fails_with(3, "the challenge is for authority \"openbao-prod\"");
    // --key or --unsigned is required.
    h.s.ceremony(&[
        "handover",
        "receipt",
        "--challenge",
        "challenge.json",
        "--values",
        "values",
        "--authority",
        "openbao-prod",
        "--out",
        "r.json",
    ])
    .fails_with(2, "--unsigned");
}

#[test]
fn unknown_challenge_format_is_refused() {
    let h = Handover::new();
    let text = String::from_utf8(h.s.read("challenge.json"))
        .unwrap()
        .replace("challenge.v1", "challenge.v9");
    h.s.write("challenge.json", text);
    h.s.write(
        "trust.txt",
        "authorities=openbao-prod ed25519 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n",
    );
    h.s.write("receipt.json", "{}");
    h.verify("receipt.json", "trust.txt", &[]).fails_with(
        3,
        "unknown challenge format \"ceremony.handover-challenge.v9\"",
    );
}

#[test]
fn report_lines_escape_control_characters_from_the_receipt() {
    let h = Handover::new();
    let line = h.ed25519_key("runtime");
    h.s.write("trust.txt", format!("{line}\n"));
    h.receipt("unsigned.json", &["--unsigned"]).success();
    h.tamper_and_sign("unsigned.json", "escape.json", "runtime", |p, _| {
        p["items"][0]["authority_path"] = "secret/\u{1b}[2J\u{1b}]0;owned\u{7}".into();
    });
    let out = h.verify("escape.json", "trust.txt", &[]).success();
    let text = out.stdout_text();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("secret/\\u{1b}[2J"), "{text}");
}
