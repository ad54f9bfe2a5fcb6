//! Every file format ceremony writes, frozen: each test builds one format
//! through the library (the report through the binary) from fixed inputs,
//! a [`FixedClock`] and fixed keys, and snapshots it with insta
//! (`tests/snapshots/tests__formats__*.snap`), as frost does for its
//! serialisations. A change of a field, its name, its order or its value
//! is a diff of a `.snap` file in review.
//!
//! What cannot be fixed (ids, nonces, x coordinates, Shamir shares, keys
//! the library generates, commitments over them, ciphertexts, signatures)
//! is replaced by a named insta redaction, never dropped. Each redaction
//! first checks the value: [`computed`] that it equals what the test
//! computes on its own (a digest of the file next to it, a key's
//! fingerprint), [`random`] that it has the documented encoding (32 hex
//! digits, standard base64 of 32 bytes…), [`coordinate`] that it is an x
//! coordinate. The snapshot then says what stood there, `[root id: 16
//! random bytes, hex]`. The rest is exact, and [`pretty`] and [`compact`]
//! check that the file is exactly serde_json's pretty (two-space indent,
//! final newline) or compact form of what was snapshotted, so the
//! snapshot freezes the encoding as well.
//!
//! No `cargo insta` is needed. `cargo test --test tests formats::` fails
//! on any difference, prints it, and writes what it got next to the
//! snapshot as `<name>.snap.new` (ignored by git); a missing snapshot fails
//! the same way. In CI (`CI=true`) nothing is written and a difference only
//! fails. To accept a change you mean, read the printed diff (or
//! `cargo insta review`, if you have it), then rerun with
//! `INSTA_UPDATE=always cargo test --test tests formats::`, which rewrites
//! the `.snap` files, delete the `.snap.new` files, and read `git diff
//! tests/snapshots` before committing. A snapshot diff is a format change:
//! readers of the files already written must still read them
//! (`docs/formats/`), or the format tag must change with it.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ceremony::clock::FixedClock;
use ceremony::handover::challenge::{Challenge, ChallengePlan};
use ceremony::handover::receipt::{self, ReceiptPlan, Values};
use ceremony::handover::{Ed25519SigningKey, Statement, TrustFile, sign_ed25519, verify};
use ceremony::identity::Identity;
use ceremony::preflight::{self, AirGapped};
use ceremony::root::{self, InitPlan, Thresholds};
use ceremony::secret::SecretBytes;
use ceremony::shares::{self, Custodians, KeyId, SplitPlan};
use ceremony::sops::{self, CryptRule, EncryptOptions, Format};
use ceremony::transcript::{self, Entry};
use insta::internals::{Content, Redaction};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::util::custodians::offline_root;
use crate::util::{Scratch, fake_system};

/// The time every fixed clock says.
const NOW: OffsetDateTime = datetime!(2026-12-01 08:42:53 UTC);

/// Test identities, made with `age-keygen` for these tests only and used
/// nowhere else: alice, bob and carol, and the bootstrap recipient of the
/// handover tests.
const ALICE: &str = "AGE-SECRET-KEY-1E2SD0W49UGVHHL94VDTEXFG6CDW776CRFD2U66QFG2S9PV6ERRSQ9LJEF8";
const BOB: &str = "AGE-SECRET-KEY-1ECCME5DXSGYSRUEAQNFU29GACNCZC2UTVU0REX0TYWH8SKC333AQG7DSPH";
const CAROL: &str = "AGE-SECRET-KEY-12AGCKK4MHS4VCFC052LHJQPHG3K9W4NPN8G3YHLNDM7VWWXY36GSMQ4ZR8";
const BOOTSTRAP: &str =
    "AGE-SECRET-KEY-16CXRZH74ZHDSTML08G43VGVMFH2JYXKJW782GFCM6YUYH7NSX7JQA4S520";

/// The root id of the handover formats (any lowercase hex will do).
const ROOT_ID: &str = "0123456789abcdef0123456789abcdef";

// ---------------------------------------------------------------------------
// Redactions

const HEX_16_BYTES: &str = "^[0-9a-f]{32}$";
const SHA256_PREFIXED: &str = "^sha256:[0-9a-f]{64}$";
const HMAC_PREFIXED: &str = "^hmac-sha256:[0-9a-f]{64}$";
const BASE64_32_BYTES: &str = "^[A-Za-z0-9+/]{43}=$";
const BASE64_64_BYTES: &str = "^[A-Za-z0-9+/]{86}==$";
const HEX_32_BYTES: &str = "^[0-9a-f]{64}$";
const AGE_RECIPIENT: &str = "^age1[02-9ac-hj-np-z]{58}$";

/// A random value of a documented encoding: checks the encoding, then
/// names it.
fn random(name: &'static str, pattern: &'static str) -> Redaction {
    let re = regex::Regex::new(pattern).expect("pattern");
    insta::dynamic_redaction(move |value: Content, path| {
        let text = value.as_str().unwrap_or_default();
        assert!(
            re.is_match(text),
            "{path}: {value:?} is not {name} ({pattern})"
        );
        format!("[{name}]")
    })
}

/// A value the test computes itself: checks it, then names it.
fn computed(name: &'static str, expected: impl Into<String>) -> Redaction {
    let expected = expected.into();
    insta::dynamic_redaction(move |value: Content, path| {
        assert_eq!(value.as_str(), Some(expected.as_str()), "{path}: {name}");
        format!("[{name}]")
    })
}

/// A Shamir x coordinate: random, in 1..=255.
fn coordinate() -> Redaction {
    insta::dynamic_redaction(|value: Content, path| {
        let x = value.as_u64();
        assert!(
            x.is_some_and(|x| (1..=255).contains(&x)),
            "{path}: {value:?} is not an x coordinate"
        );
        "[x coordinate: random, 1..=255]"
    })
}

/// Strings in which each of `names` (`(value, name)`) is replaced by its
/// name, for reports whose details quote ids and digests.
fn quoting(names: Vec<(String, String)>) -> Redaction {
    insta::dynamic_redaction(move |value: Content, _| {
        let mut text = value.as_str().unwrap_or_default().to_owned();
        for (value, name) in &names {
            text = text.replace(value.as_str(), &format!("[{name}]"));
        }
        text
    })
}

/// `bytes` as JSON, asserting they are exactly serde_json's pretty form
/// of it with a final newline: what every file of ours looks like.
fn pretty(what: &str, bytes: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut again = serde_json::to_vec_pretty(&value).expect("serialise");
    again.push(b'\n');
    assert_eq!(
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&again),
        "{what} is not pretty JSON (two-space indent) with a final newline"
    );
    value
}

/// `bytes` as JSON, asserting they are exactly serde_json's compact form.
fn compact(what: &str, bytes: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    let again = serde_json::to_vec(&value).expect("serialise");
    assert_eq!(
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&again),
        "{what} is not compact JSON"
    );
    value
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------
// Fixed inputs

fn identity(key: &str) -> Vec<Identity> {
    ceremony::identity::parse_identity_file("test key", key.as_bytes(), age::NoCallbacks)
        .expect("test identity")
}

fn recipient(key: &str) -> String {
    use std::str::FromStr;
    age::x25519::Identity::from_str(key)
        .expect("test identity")
        .to_public()
        .to_string()
}

/// alice, bob and carol, each with their test age key.
fn custodians() -> Custodians {
    let mut text = String::new();
    for (name, key) in [("alice", ALICE), ("bob", BOB), ("carol", CAROL)] {
        text.push_str(&format!(
            "[[custodian]]\nname = \"{name}\"\nage = \"{}\"\n\n",
            recipient(key)
        ));
    }
    Custodians::parse(&text).expect("custodians")
}

/// The gate, passed on a fake air-gapped machine; the process is not
/// hardened, so the record holds the three machine checks only. With
/// `allow_online` the gate never refuses (a test machine is online), and
/// root.json records that the override was given; no check was overridden,
/// as the fake machine is offline.
fn gate(dir: &Path) -> AirGapped {
    preflight::run(&preflight::Options {
        allow_online: true,
        harden_process: false,
        system_root: fake_system(dir, false),
    })
    .gate()
    .expect("an air-gapped fake system passes")
}

/// A root made by the library for the three custodians, 2 of 3.
fn made_root(dir: &Path) -> root::InitOutput {
    let custodians = custodians();
    let plan = InitPlan {
        thresholds: Thresholds::resolve(&custodians, Some(2)).expect("thresholds"),
        unseal_key_id: None,
        replaces: None,
    };
    root::init(
        &custodians,
        &plan,
        &BTreeMap::new(),
        &gate(dir),
        &FixedClock(NOW),
    )
    .expect("root init")
}

/// The 32-byte secret the share-set tests split: fixed, so its key check
/// value is too.
fn fixed_secret() -> SecretBytes {
    SecretBytes::from_slice(&[0x5a; 32])
}

fn split() -> shares::SplitOutput {
    let secret = fixed_secret();
    let plan = SplitPlan {
        label: "unseal-key".into(),
        threshold: 2,
        key_id: Some(KeyId::dated(NOW.date(), &shares::key_check_value(&secret))),
        previous_set_id: None,
    };
    shares::split_among(
        &secret,
        &custodians(),
        &plan,
        &BTreeMap::new(),
        &FixedClock(NOW),
    )
    .expect("split")
}

// ---------------------------------------------------------------------------
// Phase 0: root.json, shareset.json, share files, custodian bundles

#[test]
fn root_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = made_root(dir.path());
    let bytes = output.manifest.to_json();
    let value = pretty("root.json", &bytes);
    let body = &output.manifest.body;
    let system_root = fake_system(dir.path(), false);
    let bundle_digests: Vec<String> = output
        .bundles
        .iter()
        .map(|(_, sealed)| sha256_hex(sealed))
        .collect();
    insta::assert_json_snapshot!("root_json", value, {
        ".root_id" => random("root id: 16 random bytes, hex", HEX_16_BYTES),
        ".tool_version" => computed("tool version: ceremony and the crate version",
            format!("ceremony {}", env!("CARGO_PKG_VERSION"))),
        ".bootstrap_recipient" => random("bootstrap recipient: age X25519 of the random bootstrap key", AGE_RECIPIENT),
        ".unseal.key_id" => computed("unseal key id: the clock's date and the first 8 hex of the key check value",
            KeyId::dated(NOW.date(), &body.unseal.key_check_value).to_string()),
        ".unseal.key_check_value" => random("key check value of the random unseal key", HMAC_PREFIXED),
        ".signing_public_key" => random("signing public key: ed25519, base64", BASE64_32_BYTES),
        ".share_sets[].set_id" => random("set id: 16 random bytes, hex", HEX_16_BYTES),
        ".share_sets[].key_check_value" => random("key check value of the random secret", HMAC_PREFIXED),
        ".share_sets[].key_id" => computed("unseal key id, as above", body.unseal.key_id.clone()),
        ".share_sets[].custodians[].x" => coordinate(),
        ".share_sets[].custodians[].commitment" => random("commitment to the random share", SHA256_PREFIXED),
        ".custodian_files[0].sha256" => computed("sha256 of shares/alice.age", bundle_digests[0].clone()),
        ".custodian_files[1].sha256" => computed("sha256 of shares/bob.age", bundle_digests[1].clone()),
        ".custodian_files[2].sha256" => computed("sha256 of shares/carol.age", bundle_digests[2].clone()),
        ".preflight.system_root" => computed("the fake system root: a temporary directory",
            system_root.to_str().expect("utf-8").to_owned()),
        ".signature.value" => random("ed25519 signature by the signing key, base64", BASE64_64_BYTES),
    });
    // What was snapshotted is what verifies.
    ceremony::root::RootManifest::from_json(&bytes).expect("root.json reads back");
}

#[test]
fn custodian_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = made_root(dir.path());
    let (file, sealed) = &output.bundles[0];
    assert_eq!(file, "shares/alice.age");
    let plaintext = shares::sharefile::open_bytes(sealed, &identity(ALICE), &|_| None, file)
        .expect("alice opens her bundle");
    let value = pretty("the decrypted bundle", &plaintext);
    let body = &output.manifest.body;
    let set_ids: Vec<String> = body
        .share_sets
        .iter()
        .map(|s| s.set_id.to_string())
        .collect();
    insta::assert_json_snapshot!("custodian_bundle", value, {
        ".root_id" => computed("root id of root.json", body.root_id.clone()),
        ".shares[0].set_id" => computed("set id of the bootstrap-key share set", set_ids[0].clone()),
        ".shares[1].set_id" => computed("set id of the unseal-key share set", set_ids[1].clone()),
        ".shares[2].set_id" => computed("set id of the signing-key share set", set_ids[2].clone()),
        ".shares[].x" => coordinate(),
        ".shares[].y" => random("share y: 32 random bytes, base64", BASE64_32_BYTES),
        ".shares[].blinding" => random("blinding: 32 random bytes, base64", BASE64_32_BYTES),
        ".shares[].checksum" => random("checksum of the share: sha256, hex", HEX_32_BYTES),
    });
}

#[test]
fn shareset_json() {
    let output = split();
    let bytes = output.shareset.to_json();
    let value = pretty("shareset.json", &bytes);
    insta::assert_json_snapshot!("shareset_json", value, {
        ".set_id" => random("set id: 16 random bytes, hex", HEX_16_BYTES),
        ".custodians[].x" => coordinate(),
        ".custodians[].commitment" => random("commitment to the random share", SHA256_PREFIXED),
    });
}

#[test]
fn share_document() {
    let output = split();
    let (file, sealed) = &output.files[1];
    assert_eq!(file, "bob.share.age");
    let plaintext = shares::sharefile::open_bytes(sealed, &identity(BOB), &|_| None, file)
        .expect("bob opens his share");
    let value = pretty("the decrypted share", &plaintext);
    insta::assert_json_snapshot!("share_document", value, {
        ".set_id" => computed("set id of shareset.json", output.shareset.set_id.to_string()),
        ".x" => coordinate(),
        ".y" => random("share y: 32 random bytes, base64", BASE64_32_BYTES),
        ".blinding" => random("blinding: 32 random bytes, base64", BASE64_32_BYTES),
        ".checksum" => random("checksum of the share: sha256, hex", HEX_32_BYTES),
    });
}

// ---------------------------------------------------------------------------
// Handover: challenge.json, the receipt statement and its DSSE envelope

/// The plaintext manifest handed over: two Secrets, three items.
const DB_YAML: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
data:
  password: aHVudGVyMg==
stringData:
  user: admin
---
apiVersion: v1
kind: Secret
metadata:
  name: api-token
  namespace: apps
stringData:
  token: not-a-real-token
";

/// `apps/db.yaml` sealed to the bootstrap test recipient as `bootstrap
/// seal` seals it (only `data` and `stringData`).
fn sealed_db() -> Vec<u8> {
    let mut opts = EncryptOptions::for_recipients([recipient(BOOTSTRAP)]).expect("recipient");
    opts.rule =
        Some(CryptRule::from_field("encrypted_regex", "^(data|stringData)$").expect("rule"));
    sops::encrypt(DB_YAML.as_bytes(), Format::Yaml, &opts, &FixedClock(NOW)).expect("seal")
}

fn challenge(sealed: &[u8]) -> Challenge {
    let recipient = recipient(BOOTSTRAP);
    let plan = ChallengePlan {
        root_id: ROOT_ID,
        bootstrap_recipient: &recipient,
        authority: "openbao-prod",
        now: NOW,
        validity: time::Duration::hours(24),
    };
    Challenge::create(&plan, &[("apps/db.yaml".to_owned(), sealed.to_vec())]).expect("challenge")
}

#[test]
fn challenge_json() {
    let sealed = sealed_db();
    let challenge = challenge(&sealed);
    let value = pretty(
        "challenge.json",
        &challenge.to_json().expect("challenge json"),
    );
    insta::assert_json_snapshot!("challenge_json", value, {
        ".challenge_id" => random("challenge id: 16 random bytes, hex", HEX_16_BYTES),
        ".nonce" => random("nonce: 32 random bytes, base64", BASE64_32_BYTES),
        ".files[0].sha256" => computed("sha256 of the sealed apps/db.yaml", sha256_hex(&sealed)),
    });
}

/// The receipt for the challenge: its statement, and its envelope signed
/// with a fresh ed25519 key.
fn receipt() -> (Vec<u8>, Challenge, Statement, String, Ed25519SigningKey) {
    let sealed = sealed_db();
    let challenge = challenge(&sealed);
    let nonce = challenge.nonce_bytes().expect("nonce");
    let values = Values::from_manifests(
        &nonce,
        &[(
            "apps/db.yaml".to_owned(),
            SecretBytes::from_slice(DB_YAML.as_bytes()),
        )],
    )
    .expect("values");
    let plan = ReceiptPlan {
        authority: "openbao-prod".into(),
        path_template: receipt::DEFAULT_PATH_TEMPLATE.into(),
        version: 1,
        not_retired: vec![],
        completed_at: datetime!(2026-12-01 09:15:00 UTC),
    };
    let statement = receipt::build_statement(&challenge, &values, &plan).expect("statement");
    let mut envelope = statement.to_envelope().expect("envelope");
    let key = Ed25519SigningKey::generate("openbao-prod receipt key");
    sign_ed25519(&mut envelope, &key).expect("sign");
    let trust = TrustFile::parse(
        "trust",
        key.ed25519_trust_line("openbao-prod", "openbao-prod")
            .as_bytes(),
    )
    .expect("trustfile");
    verify::verify(&envelope, &trust).expect("the receipt verifies");
    let json = envelope.to_json().expect("envelope json");
    (sealed, challenge, statement, json, key)
}

#[test]
fn receipt_statement() {
    let (sealed, challenge, statement, _, _) = receipt();
    let nonce = challenge.nonce_bytes().expect("nonce");
    let commitment = |value: &[u8]| {
        ceremony::handover::items::commit(&nonce, &SecretBytes::from_slice(value)).to_hex()
    };
    let value = compact(
        "the statement payload",
        &statement.to_payload().expect("payload"),
    );
    insta::assert_json_snapshot!("receipt_statement", value, {
        ".subject[0].digest.sha256" => computed("sha256 of the sealed apps/db.yaml", sha256_hex(&sealed)),
        ".predicate.challenge_id" => computed("challenge id of challenge.json", challenge.challenge_id.clone()),
        ".predicate.nonce_sha256" => computed("sha256 of the challenge nonce's bytes", sha256_hex(&nonce)),
        ".predicate.items[0].commitment" => computed("commitment to apps/db/password under the nonce", commitment(b"hunter2")),
        ".predicate.items[1].commitment" => computed("commitment to apps/db/user under the nonce", commitment(b"admin")),
        ".predicate.items[2].commitment" => computed("commitment to apps/api-token/token under the nonce", commitment(b"not-a-real-token")),
    });
}

#[test]
fn receipt_envelope() {
    let (_, _, statement, json, key) = receipt();
    let value = pretty("the receipt envelope", json.as_bytes());
    let payload = B64.encode(statement.to_payload().expect("payload"));
    insta::assert_json_snapshot!("receipt_envelope", value, {
        ".payload" => computed("base64 of the statement payload (receipt_statement)", payload),
        ".signatures[0].keyid" => computed("ed25519: and the SSH fingerprint of the signing key",
            format!("ed25519:{}", key.fingerprint())),
        ".signatures[0].sig" => random("ed25519 signature over the PAE, base64", BASE64_64_BYTES),
    });
}

// ---------------------------------------------------------------------------
// The transcript

#[test]
fn transcript_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("transcript.jsonl");
    let clock = FixedClock(NOW);
    transcript::append(
        &path,
        Entry::Command {
            argv: ["root", "init", "--custodians", "custodians.toml"]
                .map(str::to_owned)
                .to_vec(),
            exit_code: 6,
            outcome: "this command asks for confirmation and there is no terminal to ask on".into(),
        },
        &clock,
    )
    .expect("append a command");
    let text = std::fs::read_to_string(&path).expect("read");
    let head = transcript::verify(&text).expect("chain").head;
    // A fixed signing key: ed25519 signatures are deterministic, so the
    // signature record is exact too.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    transcript::append(
        &path,
        transcript::signature_entry(&head, ROOT_ID, &key),
        &clock,
    )
    .expect("append a signature");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.ends_with('\n'), "one record per line");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| compact("a transcript line", line.as_bytes()))
        .collect();
    let version = format!("ceremony {}", env!("CARGO_PKG_VERSION"));
    let first_line = text.lines().next().expect("record 0");
    // Record 0 is exact but for the tool version; record 1 chains to its
    // line, and signs that hash, so both change with the version too.
    insta::assert_json_snapshot!("transcript_records", lines, {
        "[].tool" => computed("tool version: ceremony and the crate version", version),
        "[1].prev" => computed("sha256 of record 0's line", transcript::line_hash(first_line)),
        "[1].signature" => random("ed25519 signature over the head by the fixed test key, base64", BASE64_64_BYTES),
    });
    let keys = [transcript::SignerKey {
        public_key: B64.encode(key.verifying_key().to_bytes()),
        versions: "version 1 on, current".to_owned(),
        replaced_at: None,
    }];
    let (_, report) = transcript::check(
        &text,
        Some(transcript::ExpectedSigner {
            root_id: ROOT_ID,
            keys: &keys,
        }),
    );
    assert!(
        report.passed(),
        "the snapshotted transcript verifies: {report:?}"
    );
}

// ---------------------------------------------------------------------------
// The report (docs/formats/report.md), through the binary

#[test]
fn report_json_of_root_verify() {
    let s = Scratch::new();
    offline_root(&s, &[]);
    let run = s.ceremony(&["root", "verify", "--json", "root"]).success();
    let value = pretty("root verify --json", run.output.stdout.as_slice());
    let manifest =
        ceremony::root::RootManifest::from_json(&s.read("root/root.json")).expect("root.json");
    let body = &manifest.body;
    let mut names = vec![
        (
            manifest.signing_key_fingerprint(),
            "signing key fingerprint".to_owned(),
        ),
        (
            body.bootstrap_recipient.clone(),
            "bootstrap recipient".to_owned(),
        ),
    ];
    for set in &body.share_sets {
        names.push((
            set.set_id.to_string(),
            format!("set id of the {}", set.label),
        ));
    }
    for file in &body.custodian_files {
        names.push((file.sha256.clone(), format!("sha256 of {}", file.file)));
    }
    insta::assert_json_snapshot!("report_root_verify", value, {
        ".checks[].detail" => quoting(names),
    });
}

// ---------------------------------------------------------------------------
// The Phase 2 emitters' Kubernetes Secrets (printed, then applied)

/// The fixed test keys of the emitters: 32 bytes of 0x11 and of 0x22,
/// which protect nothing. Their output is exact: no redaction.
fn fixed_key(byte: u8) -> ceremony::secret::SecretArray<32> {
    ceremony::secret::SecretArray::from_slice(&[byte; 32]).expect("32 bytes")
}

#[test]
fn emitted_flux_age_secret() {
    use ceremony::root::RootKey;
    let key = root::BootstrapKey::from_array(fixed_key(0x11));
    let fields =
        root::emit::FluxFields::new("sops-age", "flux-system", "age.agekey").expect("fields");
    let text = root::emit::flux_age_secret(&key, None, &fields).expect("emit");
    insta::assert_snapshot!("emitted_flux_age_secret", text.as_str());
}

#[test]
fn emitted_openbao_static_seal() {
    let key = fixed_key(0x22);
    let key_id = KeyId::parse("20261201-static").expect("key id");
    let fields = root::emit::SecretFields::new("openbao-static-seal", "openbao").expect("fields");
    let text = root::emit::openbao_static_seal(
        root::emit::SealKey {
            key: &key,
            key_id: &key_id,
        },
        None,
        &fields,
    );
    insta::assert_snapshot!("emitted_openbao_static_seal", text.as_str());
}
