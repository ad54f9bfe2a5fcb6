//! The operator's OpenBao workflows against the real OpenBao 2.7.2 server
//! (`tests/util/openbao.rs`): every share ceremony wraps, opens or rebuilds
//! is given to the real `bao`, and the server says whether it worked.
//!
//! ceremony never talks to the server; the tests carry files between them
//! as an operator would.

use std::path::Path;

use crate::util::custodians::{Key, write_custodians};
use crate::util::openbao::Bao;
use crate::util::{Scratch, fake_system};

/// `n` age custodians `c0…`, in `custodians.toml`.
fn custodians(s: &Scratch, n: usize) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let list: Vec<(&str, Key)> = names.iter().map(|n| (n.as_str(), Key::Age)).collect();
    write_custodians(s, "custodians.toml", "", &list);
    names
}

/// The air-gapped fake system root the gate reads.
fn offline(s: &Scratch) -> String {
    fake_system(s.dir.path(), false)
        .to_str()
        .expect("utf-8")
        .to_owned()
}

/// `bao operator init ARGS -format=json`, saved as `file`.
fn init(bao: &mut Bao, s: &Scratch, file: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["operator", "init"];
    all.extend_from_slice(args);
    let json = bao.json(&all);
    s.write(file, json.to_string());
    bao.token = json["root_token"].as_str().map(str::to_owned);
    json
}

/// `unseal wrap` of `file` into `out`.
fn wrap(s: &Scratch, file: &str, out: &str, threshold: &str, extra: &[&str]) {
    let system = offline(s);
    let mut args = vec![
        "unseal",
        "wrap",
        "--yes",
        "--custodians",
        "custodians.toml",
        "--threshold",
        threshold,
        "--out",
        out,
        "--init-file",
        file,
        "--system-root",
        &system,
    ];
    args.extend_from_slice(extra);
    s.ceremony(&args).success();
}

/// What custodian `name` types into `operator unseal`: their share, opened
/// with `unseal open --emit vault`.
fn opened_share(s: &Scratch, set: &str, name: &str) -> String {
    let share = format!("{set}/{name}.share.age");
    let key = format!("{name}.key");
    s.ceremony(&["unseal", "open", &share, "-i", &key, "--emit", "vault"])
        .success()
        .stdout_text()
        .trim()
        .to_owned()
}

/// Custodians `names` unseal the server with their opened shares.
fn unseal_with(bao: &Bao, s: &Scratch, set: &str, names: &[String]) {
    for name in names {
        assert!(bao.sealed(), "sealed before {name}'s share");
        bao.ok(&["operator", "unseal", &opened_share(s, set, name)]);
    }
    assert!(!bao.sealed(), "unsealed by {names:?}:\n{}", bao.log());
}

/// The shareset's `origin`.
fn origin(s: &Scratch, set: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_slice(&s.read(&format!("{set}/shareset.json"))).unwrap();
    json["origin"].as_str().unwrap().to_owned()
}

/// Shamir unseal end to end, 5/3 and 10/7: `operator init` → `unseal
/// wrap` → each custodian `unseal open --emit vault` → `operator unseal`.
#[test]
fn wrapped_init_shares_unseal_the_real_server() {
    for (n, k) in [(5usize, 3usize), (10, 7)] {
        let s = Scratch::new();
        let names = custodians(&s, n);
        let mut bao = Bao::start(&s.path("bao"), "", "");
        let (shares, threshold) = (n.to_string(), k.to_string());
        init(
            &mut bao,
            &s,
            "init.json",
            &["-key-shares", &shares, "-key-threshold", &threshold],
        );
        wrap(&s, "init.json", "set", &threshold, &[]);
        assert_eq!(origin(&s, "set"), "vault-operator-init");
        // Any k custodians: the last k.
        unseal_with(&bao, &s, "set", &names[n - k..]);
        // After a restart, another quorum.
        bao.restart("", "");
        unseal_with(&bao, &s, "set", &names[..k]);
    }
}

/// A server initialised with one key: ceremony splits the key itself, and
/// a quorum rebuilds it whole for `operator unseal`.
#[test]
fn a_single_unseal_key_is_split_and_rebuilt_for_operator_unseal() {
    let s = Scratch::new();
    let names = custodians(&s, 3);
    let mut bao = Bao::start(&s.path("bao"), "", "");
    init(
        &mut bao,
        &s,
        "init.json",
        &["-key-shares", "1", "-key-threshold", "1"],
    );
    wrap(&s, "init.json", "set", "2", &[]);
    assert_eq!(origin(&s, "set"), "vault-single-key");
    let system = offline(&s);
    let key = s
        .ceremony(&[
            "unseal",
            "combine",
            "--shareset",
            "set/shareset.json",
            &format!("set/{}.share.age", names[0]),
            &format!("set/{}.share.age", names[2]),
            "-i",
            &format!("{}.key", names[0]),
            "-i",
            &format!("{}.key", names[2]),
            "--emit",
            "base64",
            "--system-root",
            &system,
        ])
        .success()
        .stdout_text();
    assert!(bao.sealed());
    // As docs/runtime-openbao.md pipes it: the key never in argv.
    let out = bao.bao_with_stdin(&["write", "sys/unseal", "key=-"], key.trim().as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!bao.sealed());
    // It is not a static-seal key, and says so.
    s.ceremony(&[
        "unseal",
        "combine",
        "--shareset",
        "set/shareset.json",
        &format!("set/{}.share.age", names[0]),
        "-i",
        &format!("{}.key", names[0]),
        "--emit",
        "openbao-static-seal",
        "--system-root",
        &system,
    ])
    .fails_with(6, "not a static-seal key");
}

/// The static seal: a key split by `unseal share` with a key id, emitted
/// as the Secret's key file, auto-unseals a restarted server; after a
/// reshare to new custodians the key id is the same and so is the key.
#[test]
fn a_static_seal_key_and_its_reshare_auto_unseal_the_real_server() {
    let s = Scratch::new();
    let names = custodians(&s, 3);
    let system = offline(&s);
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "seal",
        "--key-id",
        "static-1",
        "--system-root",
        &system,
    ])
    .success();
    let emit = |set: &str, who: &[&str]| -> String {
        let mut args = vec![
            "unseal".to_owned(),
            "combine".to_owned(),
            "--shareset".to_owned(),
            format!("{set}/shareset.json"),
        ];
        for name in who {
            args.push(format!("{set}/{name}.share.age"));
            args.push("-i".to_owned());
            args.push(format!("{name}.key"));
        }
        args.extend(
            ["--emit", "openbao-static-seal", "--system-root", &system]
                .iter()
                .map(|a| a.to_string()),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.ceremony(&args).success().stdout_text()
    };
    let secret = emit("seal", &[&names[0], &names[1]]);
    let stanza = write_key_file(&s, &secret, "key-1");
    let mut bao = Bao::start(&s.path("bao"), &stanza, "");
    init(
        &mut bao,
        &s,
        "init.json",
        &["-recovery-shares", "3", "-recovery-threshold", "2"],
    );
    assert!(!bao.sealed(), "auto-unsealed at init");
    bao.ok(&["secrets", "enable", "-path=kv", "kv-v2"]);
    bao.ok(&["kv", "put", "kv/app", "password=kept"]);

    // Reshare to new custodians: the same key, the same key id.
    write_custodians(
        &s,
        "new.toml",
        "",
        &[("d0", Key::Age), ("d1", Key::Age), ("d2", Key::Age)],
    );
    s.ceremony(&[
        "unseal",
        "reshare",
        "--yes",
        "--shareset",
        "seal/shareset.json",
        &format!("seal/{}.share.age", names[1]),
        &format!("seal/{}.share.age", names[2]),
        "-i",
        &format!("{}.key", names[1]),
        "-i",
        &format!("{}.key", names[2]),
        "--custodians",
        "new.toml",
        "--threshold",
        "2",
        "--out",
        "reshared",
        "--system-root",
        &system,
    ])
    .success();
    let again = emit("reshared", &["d0", "d2"]);
    assert!(again.contains("current_key_id = \"static-1\""), "{again}");
    let stanza = write_key_file(&s, &again, "key-2");
    bao.restart(&stanza, "");
    assert!(!bao.sealed(), "the reshared key unseals:\n{}", bao.log());
    let read = bao.json(&["kv", "get", "kv/app"]);
    assert_eq!(read["data"]["data"]["password"], "kept");
}

/// Writes the key of an emitted static-seal Secret to `name` (mode 0600)
/// and returns the `seal "static"` stanza that reads it.
fn write_key_file(s: &Scratch, secret: &str, name: &str) -> String {
    use base64::Engine;
    use std::os::unix::fs::PermissionsExt;
    let key_id = secret
        .lines()
        .find_map(|l| l.trim().strip_prefix("key-id: "))
        .expect("key-id")
        .trim_matches('"')
        .to_owned();
    let b64 = secret
        .lines()
        .find_map(|l| l.trim().strip_prefix("unseal.key: "))
        .expect("unseal.key");
    let key = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(key.len(), 32);
    let path = s.write(name, &key);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    format!(
        "seal \"static\" {{\n  current_key_id = \"{key_id}\"\n  current_key = \"file://{}\"\n}}\n",
        path.display()
    )
}

/// Recovery keys of an auto-unseal server: wrapped, they keep their
/// origin and threshold; a quorum of them, opened by the custodians,
/// generates a new root token (generate-root with OTP).
#[test]
fn recovery_keys_generate_a_new_root_token() {
    let s = Scratch::new();
    let names = custodians(&s, 5);
    let stanza = {
        let key = s.write("static.key", [7u8; 32]);
        format!(
            "seal \"static\" {{\n  current_key_id = \"k\"\n  current_key = \"file://{}\"\n}}\n",
            key.display()
        )
    };
    // 2.7.2 refuses unauthenticated generate-root by default; the flow with
    // no token at all needs it enabled (docs/runbooks/openbao-generate-root.md).
    let unauthed = "  disable_unauthed_generate_root_endpoints = false";
    let mut bao = Bao::start(&s.path("bao"), &stanza, unauthed);
    init(
        &mut bao,
        &s,
        "init.json",
        &["-recovery-shares", "5", "-recovery-threshold", "3"],
    );
    wrap(&s, "init.json", "recovery", "3", &[]);
    assert_eq!(origin(&s, "recovery"), "vault-recovery-keys");
    // Their threshold is OpenBao's: a reshare may not change it.
    let system = offline(&s);
    s.ceremony(&[
        "unseal",
        "reshare",
        "--yes",
        "--shareset",
        "recovery/shareset.json",
        "recovery/c0.share.age",
        "-i",
        "c0.key",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "4",
        "--out",
        "x",
        "--system-root",
        &system,
    ])
    .fails_with(6, "OpenBao combines them with that threshold itself");

    // The initial root token is gone (revoked); a quorum makes a new one.
    bao.ok(&["token", "revoke", "-self"]);
    bao.token = None;
    let new_token = generate_root(&bao, &s, "recovery", &names[1..4]);
    bao.token = Some(new_token);
    let lookup = bao.json(&["token", "lookup"]);
    assert_eq!(lookup["data"]["policies"], serde_json::json!(["root"]));
}

/// generate-root with OTP and no token at all (every token lost or
/// revoked): OpenBao 2.7.2 offers it only on the unauthenticated
/// `sys/generate-root/*` endpoints, which the listener must enable
/// (`disable_unauthed_generate_root_endpoints = false`); the CLI's
/// `operator generate-root` uses the authenticated `sys/generate-root-token`
/// endpoints instead, which need a token with `sudo` on them. The token is
/// decoded as OpenBao's `roottoken` package does: the raw base64 of the
/// encoded token XOR the OTP. Returns the new token.
fn generate_root(bao: &Bao, s: &Scratch, set: &str, quorum: &[String]) -> String {
    use base64::Engine;
    let started = bao.json(&["write", "-f", "sys/generate-root/attempt"]);
    let otp = started["data"]["otp"].as_str().expect("otp").to_owned();
    let nonce = started["data"]["nonce"].as_str().expect("nonce").to_owned();
    let mut last = serde_json::Value::Null;
    for name in quorum {
        let share = opened_share(s, set, name);
        // As the runbook has it: the share through stdin (`key=-`).
        let out = bao.bao_with_stdin(
            &[
                "write",
                "-format=json",
                "sys/generate-root/update",
                &format!("nonce={nonce}"),
                "key=-",
            ],
            share.as_bytes(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        last = serde_json::from_slice(&out.stdout).expect("update answers JSON");
    }
    assert_eq!(last["data"]["complete"], true, "{last}");
    let encoded = last["data"]["encoded_token"]
        .as_str()
        .expect("encoded token");
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .expect("base64 token");
    assert_eq!(raw.len(), otp.len());
    let token: Vec<u8> = raw.iter().zip(otp.as_bytes()).map(|(a, b)| a ^ b).collect();
    String::from_utf8(token).expect("a token is text")
}

/// Rekeyed shares: the output of `operator rekey` is wrapped as it is, and
/// the wrapped shares unseal the rekeyed server; the old ones no longer do.
#[test]
fn rekeyed_shares_are_wrapped_as_they_are_and_unseal() {
    let s = Scratch::new();
    let names = custodians(&s, 4);
    // 2.7.2 needs the unauthenticated rekey endpoints enabled for a rekey.
    let rekey = "  disable_unauthed_rekey_endpoints = false";
    let mut bao = Bao::start(&s.path("bao"), "", rekey);
    let old = init(
        &mut bao,
        &s,
        "init.json",
        &["-key-shares", "3", "-key-threshold", "2"],
    );
    for key in old["unseal_keys_b64"].as_array().unwrap().iter().take(2) {
        bao.ok(&["operator", "unseal", key.as_str().unwrap()]);
    }
    let started = bao.json(&[
        "operator",
        "rekey",
        "-init",
        "-key-shares",
        "4",
        "-key-threshold",
        "3",
    ]);
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    let mut done = serde_json::Value::Null;
    for key in old["unseal_keys_b64"].as_array().unwrap().iter().take(2) {
        done = bao.json(&["operator", "rekey", "-nonce", &nonce, key.as_str().unwrap()]);
    }
    assert!(done["keys_base64"].is_array(), "{done}");
    s.write("rekey.json", done.to_string());
    wrap(&s, "rekey.json", "set", "3", &["--keys", "unseal"]);
    bao.restart("", rekey);
    unseal_with(&bao, &s, "set", &names[1..]);
    bao.restart("", rekey);
    // The old shares are no longer the server's.
    for key in old["unseal_keys_b64"].as_array().unwrap().iter().take(2) {
        let _ = bao.bao(&["operator", "unseal", key.as_str().unwrap()]);
    }
    assert!(bao.sealed(), "the old shares still unseal");
}

/// The root token, split on request among the same custodians: a quorum
/// rebuilds it as text, and it is the server's root token.
#[test]
fn the_root_token_is_split_on_request_and_rebuilt_by_a_quorum() {
    let s = Scratch::new();
    let names = custodians(&s, 3);
    let mut bao = Bao::start(&s.path("bao"), "", "");
    let json = init(
        &mut bao,
        &s,
        "init.json",
        &["-key-shares", "3", "-key-threshold", "2"],
    );
    let run = {
        let system = offline(&s);
        s.ceremony(&[
            "unseal",
            "wrap",
            "--yes",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "set",
            "--init-file",
            "init.json",
            "--protect-root-token",
            "--system-root",
            &system,
        ])
        .success()
    };
    assert!(run.stderr_text().contains("The root token is split too"));
    assert!(Path::new(&s.path("set/root-token/shareset.json")).is_file());
    let system = offline(&s);
    let token = s
        .ceremony(&[
            "unseal",
            "combine",
            "--shareset",
            "set/root-token/shareset.json",
            &format!("set/root-token/{}.share.age", names[0]),
            &format!("set/root-token/{}.share.age", names[1]),
            "-i",
            &format!("{}.key", names[0]),
            "-i",
            &format!("{}.key", names[1]),
            "--emit",
            "text",
            "--system-root",
            &system,
        ])
        .success()
        .stdout_text();
    assert_eq!(token.trim(), json["root_token"].as_str().unwrap());
    unseal_with(&bao, &s, "set", &names[..2]);
    bao.token = Some(token.trim().to_owned());
    let lookup = bao.json(&["token", "lookup"]);
    assert_eq!(lookup["data"]["policies"], serde_json::json!(["root"]));
    // Without the flag, wrap says what to do with the token.
    let run = {
        let system = offline(&s);
        s.ceremony(&[
            "unseal",
            "wrap",
            "--yes",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            "set2",
            "--init-file",
            "init.json",
            "--system-root",
            &system,
        ])
        .success()
    };
    assert!(
        run.stderr_text()
            .contains("these share files do not replace"),
        "{}",
        run.stderr_text()
    );
}
