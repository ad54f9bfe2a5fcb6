//! Day N against the real OpenBao 2.7.2 (`tests/util/openbao.rs`), as the
//! runbooks tell the operator to do it (docs/runbooks/rotate-unseal-key.md,
//! docs/runbooks/cluster-loss.md; issue 12, scenarios 1 and 6):
//!
//! - the root's unseal key is rotated under a running static-seal server
//!   and the old key retired, with the server's own answer at each step;
//! - a cluster is lost and rebuilt from a raft snapshot, the static seal
//!   and the Flux key emitted again from a quorum, the Git tree opened by
//!   the real sops and a new handover verified against the restored
//!   server's transit key.
//!
//! ceremony never talks to the server: the tests carry its output to `bao`
//! as an operator would, through the files a Kubernetes Secret volume
//! would hold ([`mount_static_seal`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::util::custodians::offline_root;
use crate::util::handover::{AUTHORITY, Handover, ITEMS, failed_lines};
use crate::util::openbao::{Bao, mount_static_seal};
use crate::util::{Run, Scratch, require};

/// `BUNDLE -i KEY` for each custodian of `quorum` (root/shares/NAME.age,
/// NAME.key), then the fake air-gapped system root.
fn quorum_args(quorum: &[&str], system: &str) -> Vec<String> {
    let mut args = Vec::new();
    for name in quorum {
        args.extend([
            format!("root/shares/{name}.age"),
            "-i".to_owned(),
            format!("{name}.key"),
        ]);
    }
    args.extend(["--system-root".to_owned(), system.to_owned()]);
    args
}

/// `ceremony root emit WHAT --root root` with `quorum`: the Secret's text.
fn emit(s: &Scratch, system: &str, what: &str, quorum: &[&str]) -> String {
    let mut args: Vec<String> = ["root", "emit", what, "--root", "root"]
        .map(str::to_owned)
        .to_vec();
    args.extend(quorum_args(quorum, system));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ceremony(&args).success().stdout_text()
}

/// `ceremony root COMMAND --yes --root root --key KEY` with `quorum`.
fn change(s: &Scratch, system: &str, command: &str, key: &str, quorum: &[&str]) -> Run {
    let mut args: Vec<String> = ["root", command, "--yes", "--root", "root", "--key", key]
        .map(str::to_owned)
        .to_vec();
    args.extend(quorum_args(quorum, system));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ceremony(&args)
}

/// `root/root.json`, as JSON.
fn root_json(s: &Scratch) -> serde_json::Value {
    serde_json::from_slice(&s.read("root/root.json")).expect("root.json")
}

/// The key check value as docs/formats/shareset.md defines it, computed
/// here rather than by ceremony: HMAC-SHA256 keyed by the key over
/// `ceremony.key-check-value.v1`.
fn key_check_value(key: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(b"ceremony.key-check-value.v1");
    format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
}

/// The value of `  KEY: VALUE` in a Secret's text, unquoted, if present.
fn field(secret: &str, key: &str) -> Option<String> {
    let prefix = format!("  {key}: ");
    secret
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_matches('"').to_owned())
}

/// A base64 `data` entry of a Secret, decoded.
fn data(secret: &str, key: &str) -> Option<Vec<u8>> {
    field(secret, key).map(|v| STANDARD.decode(v).expect("base64"))
}

/// The stanza without its `previous_key…` lines: what an operator who
/// copies only the current key would configure.
fn current_only(stanza: &str) -> String {
    stanza
        .lines()
        .filter(|l| !l.trim_start().starts_with("previous_key"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `bao kv get -field=password kv/app`: the data written before any key change.
fn read_back(bao: &Bao) -> String {
    bao.ok(&["kv", "get", "-field=password", "kv/app"])
}

/// Scenario 1, unseal key exposure: rotate the root's unseal key under a
/// live static-seal server, let OpenBao rewrap, retire the old key. At
/// each restart the real server says whether the emitted Secret works:
/// the new key alone too early stays sealed (and is recovered), both keys
/// unseal and rewrap, then the new key alone unseals and the old key alone
/// no longer does. A raft snapshot taken under the old key cannot be
/// restored once it is retired; one taken after the rewrap can.
#[test]
fn an_exposed_unseal_key_is_rotated_and_retired_under_a_live_server() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap();

    // Day 0: the Secret of version 1, mounted where the server reads it.
    let first = emit(&s, system, "openbao-static-seal", &["alice", "bob"]);
    let manifest = root_json(&s);
    let old_id = field(&first, "key-id").expect("key-id");
    let old_key = data(&first, "unseal.key").expect("unseal.key");
    assert_eq!(old_id, manifest["unseal"]["key_id"]);
    assert_eq!(
        key_check_value(&old_key),
        manifest["unseal"]["key_check_value"]
    );
    // (Messages never quote a Secret: it holds the key.)
    assert!(data(&first, "previous-unseal.key").is_none());
    let old_stanza = mount_static_seal(&first, &s.path("mount-v1"));

    let mut bao = Bao::start(&s.path("bao"), &old_stanza, "");
    let init = bao.json(&[
        "operator",
        "init",
        "-recovery-shares",
        "3",
        "-recovery-threshold",
        "2",
    ]);
    bao.token = init["root_token"].as_str().map(str::to_owned);
    bao.wait_active();
    bao.ok(&["secrets", "enable", "-path=kv", "kv-v2"]);
    bao.ok(&["kv", "put", "kv/app", "password=kept"]);
    // The last backup before the exposure is found: under the old key.
    bao.snapshot_save(&s.path("before-rotation.snap"));

    // The key is exposed: version 2 has a new one, the old one retiring.
    let run = change(&s, system, "rotate", "unseal-key", &["alice", "carol"]).success();
    assert!(
        run.stderr_text()
            .contains("version 1 → 2: rotate-unseal-key"),
        "{}",
        run.stderr_text()
    );
    let both = emit(&s, system, "openbao-static-seal", &["bob", "carol"]);
    let manifest = root_json(&s);
    let new_id = field(&both, "key-id").expect("key-id");
    let new_key = data(&both, "unseal.key").expect("unseal.key");
    assert_ne!(new_id, old_id, "OpenBao binds a key id to one key");
    assert!(new_key != old_key, "the rotation kept the key");
    assert_eq!(new_id, manifest["unseal"]["key_id"]);
    assert_eq!(
        key_check_value(&new_key),
        manifest["unseal"]["key_check_value"]
    );
    // The previous key is the one the server was initialised with, and
    // version 2 records it as retiring.
    assert_eq!(field(&both, "previous-key-id").as_deref(), Some(&*old_id));
    assert!(
        data(&both, "previous-unseal.key").as_deref() == Some(&*old_key),
        "previous-unseal.key is not the key the server was initialised with"
    );
    assert_eq!(manifest["retiring"]["unseal"]["key_id"], *old_id);
    assert_eq!(
        manifest["retiring"]["unseal"]["key_check_value"],
        key_check_value(&old_key)
    );
    let both_stanza = mount_static_seal(&both, &s.path("mount-v2"));
    assert!(
        both_stanza.contains(&format!("previous_key_id = \"{old_id}\""))
            && both_stanza.contains(&format!("current_key_id = \"{new_id}\"")),
        "{both_stanza}"
    );

    // The mistake the runbook warns about: the new key alone, before any
    // restart with both. The stored keys are still under the old one.
    bao.restart(&current_only(&both_stanza), "");
    let reason = bao.assert_stays_sealed();
    assert!(
        reason.contains(&format!("unknown key id for data: `{old_id}`")),
        "{reason}"
    );

    // Both keys: OpenBao unseals with the previous one and rewraps under
    // the current one during post-unseal, which is done once it is active.
    bao.restart(&both_stanza, "");
    bao.wait_active();
    let log = bao.log();
    let recovery = log.find("core.autoseal: upgrading recovery key");
    let stored = log.find("core.autoseal: upgrading stored keys");
    assert!(
        recovery.is_some() && stored.is_some() && recovery < stored,
        "no rewrap in the log:\n{log}"
    );
    assert_eq!(
        read_back(&bao).trim(),
        "kept",
        "the early mistake cost nothing"
    );
    // The exposed key could open any copy of the storage made before the
    // rewrap, and so the root key inside it: replace the root key and the
    // encryption key as well, now wrapped under the new seal key only, and
    // take the backup that the next steps rely on.
    bao.ok(&["write", "-f", "sys/rotate/root"]);
    bao.ok(&["operator", "rotate"]);
    bao.snapshot_save(&s.path("after-rewrap.snap"));

    // Version 3 forgets the old key; the Secret holds the new one only.
    let run = change(&s, system, "retire", "unseal-key", &["alice", "bob"]).success();
    assert!(
        run.stderr_text()
            .contains("version 2 → 3: retire-previous-unseal-key"),
        "{}",
        run.stderr_text()
    );
    assert!(root_json(&s).get("retiring").is_none());
    let last = emit(&s, system, "openbao-static-seal", &["carol", "alice"]);
    assert_eq!(field(&last, "key-id").as_deref(), Some(&*new_id));
    assert!(
        data(&last, "unseal.key").as_deref() == Some(&*new_key),
        "retiring the old key changed the current one"
    );
    assert!(
        !last.contains("previous"),
        "the retired key is still emitted"
    );
    // The old Secret's files go, as when the Secret is replaced.
    std::fs::remove_dir_all(s.path("mount-v1")).unwrap();
    std::fs::remove_dir_all(s.path("mount-v2")).unwrap();
    let last_stanza = mount_static_seal(&last, &s.path("mount-v3"));

    bao.restart(&last_stanza, "");
    bao.wait_active();
    assert!(
        !bao.log().contains("upgrading stored keys"),
        "the rewrap was already done:\n{}",
        bao.log()
    );
    assert_eq!(read_back(&bao).trim(), "kept");
    // A backup from before the rewrap holds the root key under the old
    // key: once that is retired, the server refuses to restore it.
    let refused = bao.bao(&[
        "operator",
        "raft",
        "snapshot",
        "restore",
        s.path("before-rotation.snap").to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("could not verify hash file"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // The backup taken after the rewrap restores.
    bao.ok(&["kv", "put", "kv/app", "password=changed-since"]);
    bao.snapshot_restore(&s.path("after-rewrap.snap"));
    assert_eq!(read_back(&bao).trim(), "kept");

    // Whoever kept the exposed key (the first Secret) cannot unseal.
    let exposed = mount_static_seal(&first, &s.path("exposed"));
    bao.restart(&exposed, "");
    let reason = bao.assert_stays_sealed();
    assert!(
        reason.contains(&format!("unknown key id for data: `{new_id}`")),
        "{reason}"
    );
}

/// Scenario 6, cluster loss (design 7.8: rebuild cluster, reapply Git
/// intent, restore runtime authority backend, resume), as a drill. Before:
/// a static-seal server from the root holds the handed-over values in KV
/// and the transit key that signs receipts; the operator keeps a raft
/// snapshot off the cluster and the transit public key in the TRUSTFILE.
/// Then the server and its storage are destroyed. After: a fresh server,
/// its seal emitted again from another quorum, restores the snapshot and
/// cold-boots on it; the Git tree opens with the Flux key emitted again
/// (the real sops); a new handover challenge is answered from the restored
/// KV, signed by the restored transit key, and verifies with `--deep`.
#[test]
fn a_lost_cluster_is_restored_from_a_snapshot_and_the_root() {
    require("sops");
    // The root, alice/bob/carol 2 of 3, and the Git tree: bootstrap/
    // sealed in place by `ceremony bootstrap seal` to the root's recipient.
    let h = Handover::new();
    let (s, system) = (&h.s, h.system.as_str());

    // Day 0 on the runtime side.
    let day0 = emit(s, system, "openbao-static-seal", &["alice", "bob"]);
    let stanza = mount_static_seal(&day0, &s.path("cluster/seal"));
    let mut bao = Bao::start(&s.path("cluster/bao"), &stanza, "");
    let init = bao.json(&[
        "operator",
        "init",
        "-recovery-shares",
        "3",
        "-recovery-threshold",
        "2",
    ]);
    let root_token = init["root_token"].as_str().unwrap().to_owned();
    bao.token = Some(root_token.clone());
    bao.wait_active();
    // The bootstrap values the first handover moved into KV (those of
    // tests/util/handover.rs; `--deep` below proves they are the sealed ones).
    bao.ok(&["secrets", "enable", "-path=secret", "kv-v2"]);
    for (path, json) in HANDED_OVER {
        let out = bao.bao_with_stdin(&["kv", "put", path, "-"], json.as_bytes());
        assert!(out.status.success(), "kv put {path}: {out:?}");
    }
    bao.ok(&["secrets", "enable", "transit"]);
    bao.ok(&["write", "-f", "transit/keys/receipts", "type=ecdsa-p256"]);
    // What the operator records about the authority: its receipt key.
    let trusted = trust_line(&bao, s, "day0-receipts.json");
    s.write("trust.txt", &trusted);
    // The backup, kept off the cluster.
    std::fs::create_dir(s.path("offsite")).unwrap();
    bao.snapshot_save(&s.path("offsite/openbao.snap"));

    // The cluster is lost: the server, its storage, the seal Secret.
    bao.destroy();
    std::fs::remove_dir_all(s.path("cluster")).unwrap();

    // Rebuild: the seal Secret from another quorum of custodians.
    let again = emit(s, system, "openbao-static-seal", &["bob", "carol"]);
    assert_eq!(field(&again, "key-id"), field(&day0, "key-id"));
    let stanza = mount_static_seal(&again, &s.path("rebuilt/seal"));
    let mut bao = Bao::start(&s.path("rebuilt/bao"), &stanza, "");
    // A snapshot is restored into an initialised, unsealed server; this
    // init's root token and recovery keys exist only to do that.
    let scratch = bao.json(&[
        "operator",
        "init",
        "-recovery-shares",
        "1",
        "-recovery-threshold",
        "1",
    ]);
    bao.token = scratch["root_token"].as_str().map(str::to_owned);
    bao.wait_active();
    // Without -force, OpenBao checks the snapshot against this seal's key
    // first: a wrong Secret is refused here, not found out later.
    bao.snapshot_restore(&s.path("offsite/openbao.snap"));
    // The restored state is the old one: its token, not the scratch one.
    assert!(
        !bao.bao(&["token", "lookup"]).status.success(),
        "the scratch init's token survived the restore"
    );
    bao.token = Some(root_token);
    // And the server cold-boots on it with the emitted seal alone.
    bao.restart(&stanza, "");
    bao.wait_active();
    let app = bao.json(&["kv", "get", "secret/apps/db"]);
    assert_eq!(app["data"]["data"]["user"], "admin");
    assert_eq!(
        trust_line(&bao, s, "restored-receipts.json"),
        trusted,
        "the restored transit key is the one the TRUSTFILE pins"
    );

    // Reapply Git intent: the tree is sealed to this root, nothing in
    // clear; Flux's key from a quorum; the tree opened by sops.
    s.ceremony(&["bootstrap", "verify", "--root", "root", "bootstrap"])
        .success();
    let flux = emit(s, system, "flux-age-secret", &["carol", "alice"]);
    assert!(data(&flux, "age.previous.agekey").is_none());
    let identity = data(&flux, "age.agekey").expect("age.agekey");
    assert!(identity.starts_with(b"AGE-SECRET-KEY-1"));
    let key_file = s.path("flux.agekey");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        // Owner-only, as the operator writes an identity.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_file)
            .unwrap();
        file.write_all(&identity).unwrap();
    }
    for rel in ["apps/db.yaml", "flux/git.yaml"] {
        let sealed = format!("bootstrap/{rel}");
        let plain = s
            .tool_env(
                "sops",
                &["-d", &sealed],
                &[("SOPS_AGE_KEY_FILE", key_file.to_str().unwrap())],
            )
            .success()
            .stdout_text();
        // sops writes nested maps with four spaces where the manifests had
        // two; line by line, without the indentation, it is what was sealed.
        // (Compared without printing: these are the bootstrap secrets.)
        let sealed_values = String::from_utf8(s.read(&format!("values/{rel}"))).unwrap();
        let lines = |t: &str| t.lines().map(str::trim).collect::<Vec<_>>().join("\n");
        assert!(
            lines(&plain) == lines(&sealed_values),
            "sops -d {sealed} does not give the manifest that was sealed"
        );
        // Without the key, sops cannot: the emitted key is what opened it.
        assert_ne!(s.tool("sops", &["-d", &sealed]).code(), 0);
    }

    // Resume: a new handover, answered by the restored authority.
    s.ceremony(&[
        "handover",
        "challenge",
        "--root",
        "root",
        "--bootstrap",
        "bootstrap",
        "--authority",
        AUTHORITY,
        "--out",
        "restored-challenge.json",
    ])
    .success();
    // The runtime side answers from what the restored KV holds: one
    // `bao kv get` export per Secret the challenge names (its path under
    // the mount is NAMESPACE/NAME, the file's path).
    let challenge: serde_json::Value =
        serde_json::from_slice(&s.read("restored-challenge.json")).unwrap();
    let mut secrets = std::collections::BTreeSet::new();
    for file in challenge["files"].as_array().unwrap() {
        for item in file["items"].as_array().unwrap() {
            secrets.insert(format!(
                "{}/{}",
                item["namespace"].as_str().unwrap(),
                item["name"].as_str().unwrap()
            ));
        }
    }
    assert_eq!(secrets.len(), HANDED_OVER.len());
    for path in &secrets {
        let export = bao.ok(&["kv", "get", "-format=json", "-mount=secret", path]);
        let file = s.path(&format!("kv/{path}.json"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, export).unwrap();
    }
    s.ceremony(&[
        "handover",
        "receipt",
        "--challenge",
        "restored-challenge.json",
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
    let pae = STANDARD.encode(s.read("receipt.json.pae"));
    let signature = bao.ok(&[
        "write",
        "-field=signature",
        "transit/sign/receipts",
        &format!("input={pae}"),
    ]);
    s.write("receipt.sig", signature);
    s.ceremony(&[
        "handover",
        "attach-signature",
        "receipt.json",
        "--scheme",
        "transit",
        "--signature",
        "receipt.sig",
    ])
    .success();
    let mut args: Vec<String> = [
        "handover",
        "verify",
        "--challenge",
        "restored-challenge.json",
        "--receipt",
        "receipt.json",
        "--trust",
        "trust.txt",
        "--bootstrap",
        "bootstrap",
        "--deep",
        "--root",
        "root",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(quorum_args(&["bob", "alice"], system));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s.ceremony(&args).success();
    let report = out.stdout_text();
    assert!(failed_lines(&report).is_empty(), "{report}");
    assert!(
        report.contains("transit signature by receipts v1"),
        "{report}"
    );
    assert!(
        report.contains("stored at secret/data/apps/db version 1"),
        "{report}"
    );
    for id in ITEMS {
        assert!(report.contains(&format!("✓ commitment {id}")), "{report}");
    }
}

/// The values the first handover stored in KV v2 at `secret/`, one entry
/// per Secret at `NAMESPACE/NAME` (what `handover receipt --kv` reads a
/// Secret's items from), as JSON for `bao kv put PATH -`: the bytes each
/// Secret key holds (a `data` value decoded).
const HANDED_OVER: [(&str, &str); 3] = [
    ("secret/apps/db", r#"{"password":"hunter2","user":"admin"}"#),
    ("secret/default/api-token", r#"{"token":"secret-token"}"#),
    (
        "secret/flux-system/git-credentials",
        r#"{"identity":"ssh-private-key-text"}"#,
    ),
];

/// The TRUSTFILE line of the transit key `receipts`, as the operator makes
/// it: `bao read -format=json transit/keys/receipts` saved to `file`, then
/// `ceremony handover trust from-transit`.
fn trust_line(bao: &Bao, s: &Scratch, file: &str) -> String {
    s.write(
        file,
        bao.ok(&["read", "-format=json", "transit/keys/receipts"]),
    );
    s.ceremony(&[
        "handover",
        "trust",
        "from-transit",
        file,
        "--authority",
        AUTHORITY,
    ])
    .success()
    .stdout_text()
}
