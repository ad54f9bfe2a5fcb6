//! Known-answer tests against files made by the real sops 3.11 and age
//! (`tests/vectors/sops/`, see its README): every fixture decrypts to what
//! `sops decrypt` prints, the data keys and MAC plaintexts match
//! `expected.json` (computed independently by `verify_fixtures.py`), and
//! single-byte tampering anywhere that matters is refused.

use ceremony::sops::{self, Error, Format, MacCheck};

use crate::util::sops::{read_sops_vector, sops_expected, sops_identities};

/// What `sops decrypt` prints for each fixture. The README lists where that
/// differs from `*.plain.*`: sops re-emits values in its own normal form.
fn sops_output(enc: &str) -> Vec<u8> {
    match enc {
        "nested.enc.yaml" => String::from_utf8(read_sops_vector("nested.plain.yaml"))
            .unwrap()
            .replace("whole_float: 1.0", "whole_float: 1")
            .into_bytes(),
        "basic.enc.json" => String::from_utf8(read_sops_vector("basic.plain.json"))
            .unwrap()
            .replace("\"ratio\": 1.0", "\"ratio\": 1")
            .replace("a<b & c>d", "a\\u003cb \\u0026 c\\u003ed")
            .into_bytes(),
        "config.enc.ini" => b"; database section comment\n[database]\nuser     = admin\npassword = hunter2\nport     = 5432\n\n[server]\nhost_unencrypted = example.com\ntoken            = abc123\n".to_vec(),
        other => {
            let plain = other.replace(".enc.", ".plain.");
            read_sops_vector(&plain)
        }
    }
}

const SINGLE_KEY_FIXTURES: &[&str] = &[
    "k8s-secret.enc.yaml",
    "nested.enc.yaml",
    "two-recipients.enc.yaml",
    "maconly.enc.yaml",
    "basic.enc.json",
    "app.enc.env",
    "binary.enc.bin",
    "config.enc.ini",
];

fn format_of(name: &str) -> Format {
    Format::from_path(std::path::Path::new(name))
}

#[test]
fn every_fixture_decrypts_to_what_sops_prints() {
    let key1 = sops_identities("key1.agekey");
    for name in SINGLE_KEY_FIXTURES {
        let out = sops::decrypt(
            &read_sops_vector(name),
            format_of(name),
            &key1,
            MacCheck::Verify,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(out.expose_secret()),
            String::from_utf8_lossy(&sops_output(name)),
            "{name}"
        );
        assert_eq!(out.expose_secret(), sops_output(name).as_slice(), "{name}");
    }
    let both = sops_identities("both.agekey");
    let out = sops::decrypt(
        &read_sops_vector("shamir.enc.yaml"),
        Format::Yaml,
        &both,
        MacCheck::Verify,
    )
    .unwrap();
    assert_eq!(
        out.expose_secret(),
        read_sops_vector("shamir.plain.yaml").as_slice()
    );
}

#[test]
fn two_recipient_file_opens_with_either_key() {
    for key in ["key1.agekey", "key2.agekey"] {
        let out = sops::decrypt(
            &read_sops_vector("two-recipients.enc.yaml"),
            Format::Yaml,
            &sops_identities(key),
            MacCheck::Verify,
        )
        .unwrap();
        assert_eq!(
            out.expose_secret(),
            read_sops_vector("two-recipients.plain.yaml").as_slice(),
            "{key}"
        );
    }
}

#[test]
fn data_keys_and_mac_plaintexts_match_the_independent_checker() {
    let expected = sops_expected();
    let key1 = sops_identities("key1.agekey");
    let both = sops_identities("both.agekey");
    let mut checked = 0;
    for (name, want) in expected.as_object().unwrap() {
        let ids = if name == "shamir.enc.yaml" {
            &both
        } else {
            &key1
        };
        let opened = sops::open_file(
            &read_sops_vector(name),
            format_of(name),
            ids,
            MacCheck::Verify,
        )
        .unwrap();
        assert_eq!(
            opened.data_key().to_hex().as_str(),
            want["data_key_hex"].as_str().unwrap(),
            "{name}: data key"
        );
        assert_eq!(
            opened.computed_mac(),
            want["mac_plaintext"].as_str().unwrap(),
            "{name}: MAC plaintext"
        );
        assert_eq!(
            opened.metadata().lastmodified,
            want["lastmodified"].as_str().unwrap()
        );
        assert_eq!(
            opened.metadata().mac_only_encrypted,
            want["mac_only_encrypted"].as_bool().unwrap()
        );
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn inspection_lists_the_encrypted_values_with_their_aad_and_type() {
    for (name, want) in sops_expected().as_object().unwrap() {
        let report = sops::inspect(&read_sops_vector(name), format_of(name)).unwrap();
        let got: Vec<(String, String)> = report
            .leaves
            .iter()
            .filter(|l| l.encrypted && !l.is_comment)
            .map(|l| (format!("{}:", l.path.join(":")), l.value_type.clone()))
            .collect();
        let values: Vec<(String, String)> = want["values_in_document_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["aad"].as_str().unwrap().to_string(),
                    v["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(got, values, "{name}");
        // The checker lists list comments in its own order; compare as sets.
        let mut comments: Vec<String> = report
            .leaves
            .iter()
            .filter(|l| l.encrypted && l.is_comment)
            .map(|l| format!("{}:", l.path.join(":")))
            .collect();
        let mut want_comments: Vec<String> = want["comments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["aad"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        comments.sort();
        want_comments.sort();
        assert_eq!(comments, want_comments, "{name}");
    }
    let report = sops::inspect(&read_sops_vector("shamir.enc.yaml"), Format::Yaml).unwrap();
    assert_eq!(report.age_recipients.len(), 2);
    assert_eq!(report.shamir_threshold, 2);
    let report = sops::inspect(&read_sops_vector("k8s-secret.enc.yaml"), Format::Yaml).unwrap();
    assert_eq!(
        report.rule,
        (
            "encrypted_regex".to_string(),
            "^(data|stringData)$".to_string()
        )
    );
    assert!(
        report
            .leaves
            .iter()
            .any(|l| l.path == ["metadata", "name"] && !l.encrypted)
    );
}

#[test]
fn shamir_file_needs_both_groups() {
    let err = sops::decrypt(
        &read_sops_vector("shamir.enc.yaml"),
        Format::Yaml,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap_err();
    match err {
        Error::NotEnoughKeyGroups {
            recovered,
            threshold,
            failed_groups,
        } => {
            assert_eq!((recovered, threshold), (1, 2));
            assert_eq!(failed_groups, vec![1]);
        }
        other => panic!("expected NotEnoughKeyGroups, got {other:?}"),
    }
    let expected = sops_expected();
    let shares = expected["shamir.enc.yaml"]["shamir_shares_hex"].clone();
    // x coordinates are the last byte: 1 and 2 (sops >= 3.10).
    if let Some(shares) = shares.as_array() {
        let xs: Vec<&str> = shares.iter().map(|s| &s.as_str().unwrap()[64..]).collect();
        assert_eq!(xs, ["01", "02"]);
    }
}

#[test]
fn a_wrong_identity_is_reported_as_such() {
    let stranger = age::x25519::Identity::generate();
    let ids: Vec<ceremony::identity::Identity> = vec![Box::new(stranger)];
    let err = sops::decrypt(
        &read_sops_vector("nested.enc.yaml"),
        Format::Yaml,
        &ids,
        MacCheck::Verify,
    )
    .unwrap_err();
    assert!(matches!(err, Error::NoIdentityOpened), "{err:?}");
}

/// Replaces the character at `at` with another base64 character.
fn flip(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Byte ranges of the data, iv and tag fields of the first `ENC[` after
/// `anchor`.
fn enc_fields(text: &str, anchor: &str) -> Vec<(usize, usize)> {
    let start = text.find(anchor).unwrap() + anchor.len();
    let enc = start + text[start..].find("ENC[AES256_GCM,").unwrap();
    let mut out = Vec::new();
    for label in ["data:", "iv:", "tag:"] {
        let s = enc + text[enc..].find(label).unwrap() + label.len();
        let e = s + text[s..].find([',', ']']).unwrap();
        out.push((s, e));
    }
    out
}

#[test]
fn tampering_with_any_value_mac_or_lastmodified_byte_is_rejected() {
    let text = String::from_utf8(read_sops_vector("k8s-secret.enc.yaml")).unwrap();
    let key1 = sops_identities("key1.agekey");
    sops::decrypt(text.as_bytes(), Format::Yaml, &key1, MacCheck::Verify).unwrap();
    let mut tried = 0;
    for anchor in ["password: ", "mac: "] {
        for (s, e) in enc_fields(&text, anchor) {
            for at in s..e {
                if text.as_bytes()[at] == b'=' {
                    continue;
                }
                let bad = flip(&text, at);
                let err = sops::decrypt(bad.as_bytes(), Format::Yaml, &key1, MacCheck::Verify)
                    .unwrap_err();
                let expected_kind = matches!(
                    err,
                    Error::ValueDecryption { .. }
                        | Error::MalformedEncryptedValue { .. }
                        | Error::MacUndecryptable
                        | Error::MacMismatch
                );
                assert!(expected_kind, "{anchor} byte {at}: {err:?}");
                tried += 1;
            }
        }
    }
    // A changed lastmodified no longer opens the MAC.
    for (from, to) in [("13:24:10Z", "13:24:11Z"), ("2026-11-26T", "2026-11-27T")] {
        let bad = text.replacen(from, to, 1);
        let err = sops::decrypt(bad.as_bytes(), Format::Yaml, &key1, MacCheck::Verify).unwrap_err();
        assert!(matches!(err, Error::MacUndecryptable), "{err:?}");
    }
    assert!(tried > 200, "{tried}");
}

#[test]
fn a_value_failing_its_tag_is_distinct_from_a_mac_mismatch() {
    let text = String::from_utf8(read_sops_vector("k8s-secret.enc.yaml")).unwrap();
    let key1 = sops_identities("key1.agekey");
    // Swap the two values under `data`: each fails its AAD.
    let (pw, user) = (
        enc_fields(&text, "password: "),
        enc_fields(&text, "username: "),
    );
    let pw_enc = &text[pw[0].0 - "ENC[AES256_GCM,data:".len()..];
    let pw_enc = &pw_enc[..pw_enc.find(']').unwrap() + 1];
    let user_enc = &text[user[0].0 - "ENC[AES256_GCM,data:".len()..];
    let user_enc = &user_enc[..user_enc.find(']').unwrap() + 1];
    let swapped = text
        .replace(pw_enc, "@@PW@@")
        .replace(user_enc, pw_enc)
        .replace("@@PW@@", user_enc);
    let err = sops::decrypt(swapped.as_bytes(), Format::Yaml, &key1, MacCheck::Verify).unwrap_err();
    assert!(
        matches!(err, Error::ValueDecryption { ref path } if path == "data:password"),
        "{err:?}"
    );
    // Changing a cleartext value breaks only the MAC.
    let changed = text.replace("namespace: default", "namespace: kube-system");
    let err = sops::decrypt(changed.as_bytes(), Format::Yaml, &key1, MacCheck::Verify).unwrap_err();
    assert!(matches!(err, Error::MacMismatch), "{err:?}");
    // ...which --ignore-mac skips.
    sops::decrypt(changed.as_bytes(), Format::Yaml, &key1, MacCheck::Skip).unwrap();
}

#[test]
fn error_messages_carry_no_plaintext() {
    let text = String::from_utf8(read_sops_vector("nested.enc.yaml")).unwrap();
    let key1 = sops_identities("key1.agekey");
    let changed = text.replace(
        "url_unencrypted: postgres://localhost/db",
        "url_unencrypted: x",
    );
    let err = sops::decrypt(changed.as_bytes(), Format::Yaml, &key1, MacCheck::Verify).unwrap_err();
    let shown = format!("{err} {err:?}");
    for secret in ["hunter2", "demo-service", "52A2C35C"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

/// A key given twice in a sealed YAML file: sops refuses one at the top of
/// the first document (it reads that level into a struct to find its
/// metadata) and opens one deeper down, printing both; ours does the same,
/// checked against the real sops on the same files.
#[test]
fn a_duplicate_key_in_a_sealed_file_is_refused_or_opened_as_sops_does() {
    use crate::util::Scratch;
    use crate::util::sops::run_sops;
    let text = String::from_utf8(read_sops_vector("k8s-secret.enc.yaml")).unwrap();
    let key1 = sops_identities("key1.agekey");
    let line_of = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in the vector"))
            .to_owned()
    };
    let twice = |line: &str| text.replacen(&format!("{line}\n"), &format!("{line}\n{line}\n"), 1);
    let s = Scratch::new();
    let top = twice(&line_of("type: "));
    let nested = twice(&line_of("    password: "));
    s.write("top.enc.yaml", &top);
    s.write("nested.enc.yaml", &nested);

    let theirs = run_sops(
        &s.path("."),
        Some("key1.agekey"),
        &["decrypt", "--ignore-mac", "top.enc.yaml"],
    );
    assert_ne!(theirs.code(), 0, "sops opened a top-level duplicate");
    assert!(
        theirs.stderr_text().contains("already defined"),
        "{}",
        theirs.stderr_text()
    );
    let err = sops::decrypt(top.as_bytes(), Format::Yaml, &key1, MacCheck::Skip).unwrap_err();
    assert!(
        matches!(err, Error::DuplicateKey { ref key, .. } if key == "type"),
        "{err:?}"
    );

    let theirs = run_sops(
        &s.path("."),
        Some("key1.agekey"),
        &["decrypt", "--ignore-mac", "nested.enc.yaml"],
    );
    assert_eq!(theirs.code(), 0, "{}", theirs.stderr_text());
    let ours = sops::decrypt(nested.as_bytes(), Format::Yaml, &key1, MacCheck::Skip).unwrap();
    assert_eq!(
        String::from_utf8_lossy(ours.expose_secret()),
        theirs.stdout_text(),
        "the nested duplicate opens as sops prints it"
    );
}
