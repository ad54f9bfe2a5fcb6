//! Writes the seeds that need the library to make: SOPS files sealed to the
//! test recipient, share documents, bundles, Vault init output, and the
//! ed25519 and transit signatures over the fixed envelope; and the fixed
//! TRUSTFILE. Run by `tests/fuzz/make-corpus.sh`, which adds what the
//! `ceremony` binary and the real signing tools write.
//!
//! usage: make_corpus CORPUS_DIR FIXTURES_DIR
//!
//! Every key is a throwaway: the ed25519 and transit keys come from fixed
//! seeds, so that the TRUSTFILE stays the same from one run to the next.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ceremony::handover::Envelope;
use ceremony::handover::statement::PAYLOAD_TYPE;
use ceremony::secret::SecretBytes;
use ceremony::shares::{SetId, ShamirShare, ShareDocument, Threshold, shamir};
use ceremony::sops::{self, CryptRule, EncryptOptions, Format};
use ed25519_dalek::Signer;

/// Seeds of the two Ed25519 keys the TRUSTFILE lists for `ed25519` and
/// `transit`.
const ED25519_SEED: [u8; 32] = [0x11; 32];
const TRANSIT_SEED: [u8; 32] = [0x22; 32];

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [corpus, fixtures] = &args[..] else {
        eprintln!("usage: make_corpus CORPUS_DIR FIXTURES_DIR");
        std::process::exit(2);
    };
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir).expect("corpus dir");
        fs::write(dir.join(name), bytes).expect("write seed");
    };

    trust_and_signatures(fixtures, &put);
    sops_files(&put);
    shares(&put);
    vault(&put);
    x25519_stanzas(&put);
}

fn trust_and_signatures(fixtures: &Path, put: &dyn Fn(&str, &str, &[u8])) {
    let ed = ed25519_dalek::SigningKey::from_bytes(&ED25519_SEED);
    let transit = ed25519_dalek::SigningKey::from_bytes(&TRANSIT_SEED);
    let ssh = fs::read_to_string(fixtures.join("sshsig.key.pub")).expect("sshsig.key.pub");
    let ssh: Vec<&str> = ssh.split_whitespace().collect();
    let minisign = fs::read_to_string(fixtures.join("minisign.pub")).expect("minisign.pub");
    let minisign = minisign.lines().nth(1).expect("minisign.pub line 2");
    let trust = format!(
        "# The fuzz targets' TRUSTFILE: one throwaway key per scheme (tests/fuzz/fixtures/README.md).\n\
         ed25519 {} fuzz-ed25519\n\
         sshsig fuzz@example namespaces=\"ceremony-handover-receipt\" {} {} fuzz-sshsig\n\
         minisign {minisign} fuzz-minisign\n\
         transit fuzz-transit v1 {}\n",
        B64.encode(ed.verifying_key().as_bytes()),
        ssh[0],
        ssh[1],
        B64.encode(transit.verifying_key().as_bytes()),
    );
    fs::write(fixtures.join("trust.txt"), &trust).expect("trust.txt");
    put("trustfile", "fuzz-trust.txt", trust.as_bytes());

    let payload = fs::read(fixtures.join("payload.json")).expect("payload.json");
    let envelope = Envelope::unsigned(PAYLOAD_TYPE, payload);
    let pae = envelope.pae();
    fs::write(fixtures.join("pae.bin"), &pae).expect("pae.bin");

    let sig = ed.sign(&pae).to_bytes();
    put("sig_ed25519", "raw.sig", &sig);
    put(
        "sig_ed25519",
        "base64.txt",
        format!("{}\n", B64.encode(sig)).as_bytes(),
    );
    let sig = transit.sign(&pae).to_bytes();
    put(
        "sig_transit",
        "v1.txt",
        format!("vault:v1:{}\n", B64.encode(sig)).as_bytes(),
    );
    put(
        "sig_transit",
        "v2.txt",
        format!("vault:v2:{}", B64.encode(sig)).as_bytes(),
    );

    // A signed envelope of each of those, for the envelope target.
    let mut signed = envelope.clone();
    ceremony::handover::attach_signature(
        &mut signed,
        ceremony::handover::Scheme::Ed25519,
        &ed.sign(&pae).to_bytes(),
    )
    .expect("attach ed25519");
    let signed_json = signed.to_json().expect("to_json");
    put(
        "dsse_envelope",
        "ed25519-signed.json",
        signed_json.as_bytes(),
    );
    put(
        "dsse_envelope",
        "unsigned.json",
        envelope.to_json().expect("to_json").as_bytes(),
    );
}

/// Plaintext files whose every value carries the canary.
const PLAIN: &[(&str, Format, &str)] = &[
    (
        "secret.yaml",
        Format::Yaml,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\ntype: Opaque\n\
         # a comment S3CR3T-comment\n\
         stringData:\n  password: S3CR3T-hunter2-hunter2\n  url: \"postgres://u:S3CR3T-pw@db/x\"\n\
         data:\n  token: UzNDUjNULXRva2VuLXRva2Vu\n",
    ),
    (
        "list.yaml",
        Format::Yaml,
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: a\n    \
         stringData:\n      k: S3CR3T-a-value-1\n  - kind: ConfigMap\n    metadata: {name: c}\n    data: {x: y}\n",
    ),
    (
        "anchors.yaml",
        Format::Yaml,
        "base: &base\n  password: S3CR3T-anchored-1\n  n: 1\nderived:\n  <<: *base\n  extra: [1, 2.5, true, null, 2024-01-02T03:04:05Z]\n\
         block: |\n  S3CR3T line one\n  line two\n---\nkind: Secret\nstringData: {k: S3CR3T-second-doc}\n",
    ),
    (
        "types.yaml",
        Format::Yaml,
        "int: -42\nfloat: 1.5e-07\nwhole: 1.0\nbool: false\nnothing: ~\ntime: 2024-01-02T03:04:05.5+01:00\n\
         empty: \"\"\nquoted: '1.0'\nbinary: !!binary UzNDUjNU\nlist: [a, [b, c], {d: S3CR3T-e}]\nkey_unencrypted: S3CR3T-clear\n",
    ),
    (
        "secret.json",
        Format::Json,
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\"name\": \"j\"},\n  \
         \"stringData\": {\"password\": \"S3CR3T-json-value\", \"n\": 42, \"f\": 1.5, \"b\": true, \"z\": null},\n  \
         \"list\": [1, \"S3CR3T-in-list\", {\"a\": [\"<&>\"]}]\n}\n",
    ),
    (
        "app.env",
        Format::Dotenv,
        "# comment S3CR3T-comment\nPASSWORD=S3CR3T-dotenv-value\nEMPTY=\nQUOTED=\"S3CR3T quoted\"\nESCAPED=S3CR3T\\nnext\nKEY_unencrypted=clear\n",
    ),
    (
        "config.ini",
        Format::Ini,
        "; comment S3CR3T-comment\n[database]\npassword = S3CR3T-ini-value\nuser = admin\n\n[other]\nkey = S3CR3T-other-value\n",
    ),
    (
        "blob.bin",
        Format::Binary,
        "S3CR3T-binary\x00\x01\x02 bytes",
    ),
];

fn format_index(format: Format) -> u8 {
    ceremony_fuzz::sops_targets::FORMATS
        .iter()
        .position(|f| *f == format)
        .expect("a format") as u8
}

fn target_suffix(format: Format) -> &'static str {
    match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
        Format::Dotenv => "dotenv",
        Format::Ini => "ini",
        Format::Binary => "binary",
    }
}

fn sops_files(put: &dyn Fn(&str, &str, &[u8])) {
    let clock = ceremony_fuzz::clock();
    let secret_rule =
        CryptRule::from_field("encrypted_regex", "^(data|stringData)$").expect("rule");
    for (name, format, text) in PLAIN {
        let suffix = target_suffix(*format);
        if *format != Format::Binary {
            put(&format!("sops_plain_{suffix}"), name, text.as_bytes());
        }
        let mut selected = vec![format_index(*format)];
        selected.extend_from_slice(text.as_bytes());
        put("sops_roundtrip", name, &selected);
        let mut opts = ceremony_fuzz::encrypt_options();
        let sealed = sops::encrypt(text.as_bytes(), *format, &opts, &clock).expect("encrypt");
        put(&format!("sops_encrypted_{suffix}"), name, &sealed);
        let mut with_format = vec![format_index(*format)];
        with_format.extend_from_slice(&sealed);
        put("bootstrap_check", &format!("sealed-{name}"), &with_format);
        let mut plain = vec![format_index(*format)];
        plain.extend_from_slice(text.as_bytes());
        put("bootstrap_check", &format!("plain-{name}"), &plain);
        if matches!(format, Format::Yaml | Format::Json) {
            let mut k = vec![format_index(*format)];
            k.extend_from_slice(text.as_bytes());
            put("kube_objects", name, &k);
            // Sealed as `bootstrap seal` seals a Secret manifest.
            opts.rule = Some(secret_rule.clone());
            let sealed = sops::encrypt(text.as_bytes(), *format, &opts, &clock).expect("encrypt");
            if *format == Format::Yaml {
                put("sealed_items", name, &sealed);
            }
            put(
                &format!("sops_encrypted_{suffix}"),
                &format!("regex-{name}"),
                &sealed,
            );
            let mut with_rule = vec![format_index(*format) + 5];
            with_rule.extend_from_slice(&sealed);
            put("bootstrap_check", &format!("rule-{name}"), &with_rule);
        }
    }
    // Two key groups: a Shamir-split data key, both test identities needed.
    let groups = sops::KeyGroups::new(
        vec![
            vec![sops::Recipient::parse(ceremony_fuzz::R1).expect("R1")],
            vec![
                sops::Recipient::parse(
                    "age12a458a4jmra67m0zqq2hku42sklv57z02ga5n8zht3fegthlxp6qw2cx9n",
                )
                .expect("R2"),
            ],
        ],
        2,
    )
    .expect("groups");
    let opts = EncryptOptions::new(groups);
    let sealed =
        sops::encrypt(PLAIN[0].2.as_bytes(), Format::Yaml, &opts, &clock).expect("encrypt");
    put("sops_encrypted_yaml", "shamir-secret.yaml", &sealed);
    let opts = EncryptOptions {
        mac_only_encrypted: true,
        ..ceremony_fuzz::encrypt_options()
    };
    let sealed =
        sops::encrypt(PLAIN[3].2.as_bytes(), Format::Yaml, &opts, &clock).expect("encrypt");
    put("sops_encrypted_yaml", "maconly-types.yaml", &sealed);
}

fn share(label: &str, custodian: &str, k: usize, n: usize, x: u8, y: &[u8]) -> ShareDocument {
    ShareDocument {
        set_id: "00112233445566778899aabbccddeeff"
            .parse::<SetId>()
            .expect("set id"),
        label: label.to_owned(),
        custodian: custodian.to_owned(),
        threshold: Threshold::new(k, n).expect("threshold"),
        share: ShamirShare::new(x, SecretBytes::from_slice(y)).expect("share"),
        blinding: SecretBytes::from_slice(b"S3CR3T-blinding-bytes-32-bytes!!"),
    }
}

fn shares(put: &dyn Fn(&str, &str, &[u8])) {
    let doc = share(
        "unseal-key",
        "alice",
        2,
        3,
        1,
        b"S3CR3T-y-value-of-32-bytes-long!",
    );
    put(
        "share_document",
        "alice.json",
        &doc.to_json().expect("to_json"),
    );
    let doc = share("label \u{2028} \"q\" ü", "b", 5, 5, 255, &[0u8; 1]);
    put(
        "share_document",
        "edges.json",
        &doc.to_json().expect("to_json"),
    );
    let bundle = ceremony::root::Bundle {
        root_id: "0123456789abcdef0123456789abcdef".into(),
        root_version: 2,
        custodian: "alice".into(),
        shares: vec![
            share(
                "bootstrap-key",
                "alice",
                2,
                3,
                1,
                b"S3CR3T-bootstrap-share-32-bytes!",
            ),
            share(
                "unseal-key",
                "alice",
                2,
                3,
                1,
                b"S3CR3T-unseal-share-of-32-bytes!",
            ),
            share(
                "signing-key",
                "alice",
                2,
                3,
                1,
                b"S3CR3T-signing-share-of-32-byte!",
            ),
        ],
    };
    put(
        "root_bundle",
        "alice.json",
        &bundle.to_json().expect("to_json"),
    );
}

fn vault(put: &dyn Fn(&str, &str, &[u8])) {
    for (k, n) in [(3usize, 5usize), (2, 2), (5, 7)] {
        let secret = SecretBytes::random(32);
        let split = shamir::split(
            &secret,
            Threshold::new(k, n).expect("t"),
            &mut rand::rngs::OsRng,
        )
        .expect("split");
        let b64: Vec<String> = split
            .iter()
            .map(|s| s.to_vault_bytes().to_base64().to_string())
            .collect();
        let hex: Vec<String> = split
            .iter()
            .map(|s| s.to_vault_bytes().to_hex().to_string())
            .collect();
        let json = serde_json::json!({
            "unseal_keys_b64": b64,
            "unseal_keys_hex": hex,
            "unseal_shares": n,
            "unseal_threshold": k,
            "recovery_keys_b64": [],
            "recovery_keys_hex": [],
            "recovery_keys_shares": 0,
            "recovery_keys_threshold": 0,
            "root_token": "hvs.S3CR3T0123456789abcdef"
        });
        let mut bytes = vec![k as u8];
        bytes.extend(serde_json::to_vec_pretty(&json).expect("json"));
        put("vault_init", &format!("{k}-of-{n}.json"), &bytes);
    }
}

/// The X25519 stanza target's seeds: stanzas to the test recipient `R1`, as
/// an age header writes them, sealed by the age crate and by ceremony.
fn x25519_stanzas(put: &dyn Fn(&str, &str, &[u8])) {
    use base64::Engine;
    let age_recipient: age::x25519::Recipient = ceremony_fuzz::R1.parse().expect("R1");
    let ours = ceremony::x25519::Recipient::new(&age_recipient).expect("R1");
    let file_key = age_core::format::FileKey::new(Box::new([0x42; 16]));
    for (name, recipient) in [
        ("age-crate.txt", &age_recipient as &dyn age::Recipient),
        ("ceremony.txt", &ours as &dyn age::Recipient),
    ] {
        let (stanzas, _) = recipient.wrap_file_key(&file_key).expect("wraps");
        let stanza = &stanzas[0];
        let body = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&stanza.body);
        let text = format!("-> {} {}\n{body}\n", stanza.tag, stanza.args.join(" "));
        put("x25519_stanza", name, text.as_bytes());
    }
}
