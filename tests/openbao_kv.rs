//! Receipts from what OpenBao stores: the runtime side imports the
//! bootstrap values into a KV v2 mount of a real OpenBao 2.7.2 server
//! ([`Bao`]), exports each secret with `bao kv get -format=json` (the file's
//! path is the KV path), builds the receipt with `handover receipt --kv`,
//! signs it with transit, and the operator's `handover verify --deep`
//! passes, reporting each item's version as OpenBao holds it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::util::handover::{AUTHORITY, Handover, ITEMS, failed_lines, not_checked_lines};
use crate::util::openbao::Bao;

/// The KV secrets (path under the mount, `key=value` pairs) that hold the
/// four challenge items: the values `Handover` sealed (`data` values
/// decoded, as an import stores them).
const KV: [(&str, &[&str]); 3] = [
    ("apps/db", &["password=hunter2", "user=admin"]),
    ("default/api-token", &["token=secret-token"]),
    (
        "flux-system/git-credentials",
        &["identity=ssh-private-key-text"],
    ),
];

/// `bao kv get -format=json -mount=secret PATH` into `DIR/PATH.json`.
fn export(h: &Handover, bao: &Bao, dir: &str, path: &str, extra: &[&str]) {
    let mut args = vec!["kv", "get", "-format=json", "-mount=secret"];
    args.extend_from_slice(extra);
    args.push(path);
    let json = bao.ok(&args);
    let file = h.s.path(&format!("{dir}/{path}.json"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, json).unwrap();
}

/// The detail of the report line `check subject …`.
fn line_of<'a>(text: &'a str, check: &str, subject: &str) -> &'a str {
    text.lines()
        .find(|l| {
            let mut words = l.split_whitespace();
            words.nth(1) == Some(check) && words.next() == Some(subject)
        })
        .unwrap_or_else(|| panic!("no {check} {subject} line in:\n{text}"))
}

#[test]
fn kv_v2_receipt_reports_openbao_versions_and_verifies_deep() {
    let h = Handover::new();
    let bao = Bao::start_unsealed(&h.s.path("bao"));
    bao.ok(&["secrets", "enable", "-path=secret", "-version=2", "kv"]);
    bao.ok(&["secrets", "enable", "transit"]);
    bao.ok(&["write", "-f", "transit/keys/receipts", "type=ecdsa-p256"]);

    // apps/db is written twice: its version 2 holds the handed-over values.
    bao.ok(&[
        "kv",
        "put",
        "-mount=secret",
        "apps/db",
        "password=before",
        "user=admin",
    ]);
    for (path, pairs) in KV {
        let mut args = vec!["kv", "put", "-mount=secret", path];
        args.extend_from_slice(pairs);
        bao.ok(&args);
    }
    for (path, _) in KV {
        export(&h, &bao, "kv", path, &[]);
    }
    // Something else in the export directory is named, not ignored.
    h.s.write("kv/README.txt", "exported with bao kv get -format=json\n");
    h.s.write("kv/other.json", "{}");

    let out =
        h.s.ceremony(&[
            "handover",
            "receipt",
            "--challenge",
            "challenge.json",
            "--kv",
            "kv",
            "--kv-mount",
            "secret",
            "--authority",
            AUTHORITY,
            "--unsigned",
            "--out",
            "receipt.json",
        ])
        .success();
    let notes = out.stderr_text();
    assert!(notes.contains("README.txt: skipped"), "{notes}");
    assert!(
        notes.contains("other.json: skipped (its path does not end in <namespace>/<name>.json"),
        "{notes}"
    );

    // The runtime side signs the PAE with transit and attaches it.
    let input = format!("input={}", STANDARD.encode(h.s.read("receipt.json.pae")));
    let signature = bao.ok(&["write", "-field=signature", "transit/sign/receipts", &input]);
    h.s.write("receipt.sig", signature);
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "transit",
        "--signature",
        "receipt.sig",
    ])
    .success();
    // The operator trusts the transit key from its `bao read` output.
    h.s.write(
        "receipts.json",
        bao.ok(&["read", "-format=json", "transit/keys/receipts"]),
    );
    let trust =
        h.s.ceremony(&[
            "handover",
            "trust",
            "from-transit",
            "receipts.json",
            "--authority",
            AUTHORITY,
        ])
        .success()
        .stdout_text();
    h.s.write("trust.txt", trust);

    let deep = h.deep_args();
    let deep: Vec<&str> = deep.iter().map(String::as_str).collect();
    let out = h.verify("receipt.json", "trust.txt", &deep).success();
    let text = out.stdout_text();
    assert!(failed_lines(&text).is_empty(), "{text}");
    assert!(not_checked_lines(&text).is_empty(), "{text}");
    for id in ITEMS {
        assert!(line_of(&text, "commitment", id).starts_with('✓'), "{text}");
    }
    for (id, stored) in [
        ("apps/db/password", "secret/data/apps/db version 2"),
        ("apps/db/user", "secret/data/apps/db version 2"),
        (
            "default/api-token/token",
            "secret/data/default/api-token version 1",
        ),
        (
            "flux-system/git-credentials/identity",
            "secret/data/flux-system/git-credentials version 1",
        ),
    ] {
        let line = line_of(&text, "item", id);
        assert!(
            line.starts_with('✓') && line.ends_with(&format!("stored at {stored}")),
            "{line}"
        );
    }
    // The JSON report says the same.
    let mut args = deep.clone();
    args.push("--json");
    let out = h.verify("receipt.json", "trust.txt", &args).success();
    let report: serde_json::Value = serde_json::from_str(&out.stdout_text()).unwrap();
    let item = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "item" && c["subject"] == "apps/db/password")
        .unwrap();
    assert_eq!(item["detail"], "stored at secret/data/apps/db version 2");

    // An export of the older version says version 1, and --deep finds
    // that its value is not the sealed one.
    export(&h, &bao, "kv-v1", "apps/db", &["-version=1"]);
    for (path, _) in &KV[1..] {
        export(&h, &bao, "kv-v1", path, &[]);
    }
    h.s.ceremony(&[
        "handover",
        "receipt",
        "--challenge",
        "challenge.json",
        "--kv",
        "kv-v1",
        "--authority",
        AUTHORITY,
        "--unsigned",
        "--out",
        "old.json",
    ])
    .success();
    let input = format!("input={}", STANDARD.encode(h.s.read("old.json.pae")));
    let signature = bao.ok(&["write", "-field=signature", "transit/sign/receipts", &input]);
    h.s.write("old.sig", signature);
    h.s.ceremony(&[
        "handover",
        "attach-signature",
        "old.json",
        "--scheme",
        "transit",
        "--signature",
        "old.sig",
    ])
    .success();
    let out = h
        .verify("old.json", "trust.txt", &deep)
        .fails_with(4, "handover NOT verified: 1 check(s) failed");
    let text = out.stdout_text();
    assert!(
        line_of(&text, "item", "apps/db/password").ends_with("secret/data/apps/db version 1"),
        "{text}"
    );
    let failed = failed_lines(&text);
    assert_eq!(failed.len(), 1, "{text}");
    assert_eq!(
        failed[0].split_whitespace().take(3).collect::<Vec<_>>(),
        ["✗", "commitment", "apps/db/password"],
        "{text}"
    );
    // No value reaches the receipt or the report.
    for value in ["hunter2", "before", "secret-token", "ssh-private-key-text"] {
        assert!(!text.contains(value));
        assert!(
            !h.s.read("receipt.json")
                .windows(value.len())
                .any(|w| w == value.as_bytes())
        );
    }
}
