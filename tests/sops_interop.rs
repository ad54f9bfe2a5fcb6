//! Interoperability with the real `sops` binary (3.11): what we write, sops
//! reads, and the reverse. Nothing here is skipped: without `sops` on PATH
//! these tests fail and say how to install it.

use std::path::Path;

use ceremony::clock::SystemClock;
use ceremony::sops::{self, CryptRule, EncryptOptions, Format, MacCheck};

use crate::util::sops::{R1, R2, key_groups, run_sops, sops_identities, sops_keyring};

fn sops_decrypt(dir: &Path, name: &str, bytes: &[u8], key: &str) -> Vec<u8> {
    std::fs::write(dir.join(name), bytes).unwrap();
    let run = run_sops(dir, Some(key), &["decrypt", name]);
    assert_eq!(
        run.code(),
        0,
        "sops decrypt {name} failed: {}",
        run.stderr_text()
    );
    run.output.stdout
}

fn sops_encrypt(dir: &Path, name: &str, plain: &[u8], extra: &[&str]) -> Vec<u8> {
    std::fs::write(dir.join(name), plain).unwrap();
    // The comment-regex options (like --mac-only-encrypted) are global flags
    // in 3.11 and need the legacy `sops --encrypt` form.
    let legacy = extra.iter().any(|a| a.contains("comment-regex"));
    let mut args = vec![if legacy { "--encrypt" } else { "encrypt" }, "--age", R1];
    args.extend_from_slice(extra);
    args.push(name);
    let run = run_sops(dir, None, &args);
    assert_eq!(
        run.code(),
        0,
        "sops encrypt {name} failed: {}",
        run.stderr_text()
    );
    run.output.stdout
}

/// Hides what is random in an encrypted file (ciphertexts, age payloads,
/// timestamps) so two encryptions of the same input can be compared byte for
/// byte. The age payload's line count is hidden too: the Rust age crate adds
/// a random "grease" stanza to every header (valid age, ignored by Go age),
/// so our `enc` blocks are longer than those of sops.
fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let armor = regex::Regex::new(
        r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----",
    )
    .unwrap();
    let text = armor.replace_all(&text, "AGE-ARMOR");
    let enc = regex::Regex::new(r"ENC\[AES256_GCM,[^\]]*\]").unwrap();
    let b64 = regex::Regex::new(r"[A-Za-z0-9+/]{20,}={0,2}").unwrap();
    let lm = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    let text = enc.replace_all(&text, "ENC[…]");
    let text = b64.replace_all(&text, "B64");
    lm.replace_all(&text, "TIME").into_owned()
}

const MULTI_DOC_YAML: &str = "\
# head comment
apiVersion: v1
kind: Secret
metadata:
    name: one
data:
    # inside data
    password: aHVudGVyMg==
    list:
        - a
        # in list
        - 7
    nested:
        deep: true
        when: 2024-01-02T03:04:05Z
        ratio: 0.5
    empty: \"\"
    quoted: \"123\"
    multi: |
        line one
        line two
---
kind: ConfigMap
data:
    key: value
";

const JSON_DOC: &str = "{\n\t\"name\": \"demo\",\n\t\"count\": 42,\n\t\"ratio\": 1.5,\n\t\"enabled\": true,\n\t\"nothing\": null,\n\t\"html\": \"a\\u003cb \\u0026 c\\u003ed\",\n\t\"list\": [\n\t\t\"x\",\n\t\t1,\n\t\t{\n\t\t\t\"inner\": \"value\"\n\t\t}\n\t],\n\t\"nested\": {\n\t\t\"secret\": \"s3cr3t\",\n\t\t\"public_unencrypted\": \"visible\"\n\t}\n}\n";

const DOTENV_DOC: &str = "# dotenv comment\nDB_USER=admin\nDB_PASSWORD=hunter2\nEMPTY=\nQUOTED=\"quoted value\"\nMULTI=line1\\nline2\nPUBLIC_unencrypted=not-secret\n";

const INI_DOC: &str = "; database section comment\n[database]\nuser     = admin\npassword = hunter2\nport     = 5432\n\n[server]\nhost_unencrypted = example.com\ntoken            = abc123\n";

const K8S_SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
    name: app-credentials
    namespace: default
type: Opaque
data:
    password: czNjcjN0
stringData:
    api-token: tok_0123
";

fn binary_doc() -> Vec<u8> {
    let mut b = b"raw bytes: \x00\x01\xfe\xff\n".to_vec();
    b.extend((0u8..=255).rev());
    b
}

fn cases() -> Vec<(&'static str, Format, Vec<u8>)> {
    vec![
        ("doc.yaml", Format::Yaml, MULTI_DOC_YAML.as_bytes().to_vec()),
        ("doc.json", Format::Json, JSON_DOC.as_bytes().to_vec()),
        ("doc.env", Format::Dotenv, DOTENV_DOC.as_bytes().to_vec()),
        ("doc.ini", Format::Ini, INI_DOC.as_bytes().to_vec()),
        ("doc.bin", Format::Binary, binary_doc()),
    ]
}

#[test]
fn files_we_encrypt_decrypt_with_sops_to_the_original() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, plain) in cases() {
        let enc = sops::encrypt(
            &plain,
            format,
            &EncryptOptions::for_recipients([R1, R2]).unwrap(),
            &SystemClock,
        )
        .unwrap();
        for key in ["key1.agekey", "key2.agekey"] {
            let out = sops_decrypt(dir.path(), name, &enc, key);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&plain),
                "{name}"
            );
            assert_eq!(out, plain, "{name} with {key}");
        }
        // And our own decryption agrees.
        let ours = sops::decrypt(
            &enc,
            format,
            &sops_identities("key1.agekey"),
            MacCheck::Verify,
        )
        .unwrap();
        assert_eq!(ours.expose_secret(), plain.as_slice(), "{name}");
    }
}

#[test]
fn our_layout_matches_sops_byte_for_byte_apart_from_random_parts() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, plain) in cases() {
        if format == Format::Ini {
            // sops writes the [sops] section in random (Go map) order.
            continue;
        }
        let theirs = sops_encrypt(dir.path(), name, &plain, &[]);
        let ours = sops::encrypt(
            &plain,
            format,
            &EncryptOptions::for_recipients([R1]).unwrap(),
            &SystemClock,
        )
        .unwrap();
        assert_eq!(normalise(&ours), normalise(&theirs), "{name}");
    }
    let theirs = sops_encrypt(
        dir.path(),
        "secret.yaml",
        K8S_SECRET.as_bytes(),
        &["--encrypted-regex", "^(data|stringData)$"],
    );
    let ours = sops::encrypt(
        K8S_SECRET.as_bytes(),
        Format::Yaml,
        &k8s_options(),
        &SystemClock,
    )
    .unwrap();
    assert_eq!(normalise(&ours), normalise(&theirs));
}

fn k8s_options() -> EncryptOptions {
    EncryptOptions {
        rule: Some(CryptRule::from_field("encrypted_regex", "^(data|stringData)$").unwrap()),
        ..EncryptOptions::for_recipients([R1]).unwrap()
    }
}

#[test]
fn kubernetes_secret_with_encrypted_regex_keeps_metadata_clear() {
    let dir = tempfile::tempdir().unwrap();
    let enc = sops::encrypt(
        K8S_SECRET.as_bytes(),
        Format::Yaml,
        &k8s_options(),
        &SystemClock,
    )
    .unwrap();
    let text = String::from_utf8(enc.clone()).unwrap();
    assert!(text.contains("    name: app-credentials\n"), "{text}");
    assert!(text.contains("type: Opaque\n"));
    assert!(text.contains("    password: ENC[AES256_GCM,"));
    assert!(text.contains("    api-token: ENC[AES256_GCM,"));
    assert!(text.contains("    encrypted_regex: ^(data|stringData)$\n"));
    assert!(!text.contains("unencrypted_suffix"));
    assert_eq!(
        sops_decrypt(dir.path(), "secret.yaml", &enc, "key1.agekey"),
        K8S_SECRET.as_bytes()
    );
}

#[test]
fn two_key_groups_with_a_threshold_open_with_sops_only_with_both_keys() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EncryptOptions {
        key_groups: key_groups(&[&[R1], &[R2]], 2),
        rule: None,
        mac_only_encrypted: false,
    };
    let enc = sops::encrypt(MULTI_DOC_YAML.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
    let text = String::from_utf8(enc.clone()).unwrap();
    assert!(text.contains("sops:\n    shamir_threshold: 2\n    key_groups:\n        - hc_vault: []\n          age:\n            - recipient: "));
    assert_eq!(
        sops_decrypt(dir.path(), "groups.yaml", &enc, "both.agekey"),
        MULTI_DOC_YAML.as_bytes()
    );
    let code = run_sops(dir.path(), Some("key1.agekey"), &["decrypt", "groups.yaml"]).code();
    assert_eq!(code, 128, "one group of two must not be enough");
    // The same holds in JSON, where the empty hc_vault list is written null.
    let enc = sops::encrypt(JSON_DOC.as_bytes(), Format::Json, &opts, &SystemClock).unwrap();
    assert!(String::from_utf8_lossy(&enc).contains("\"hc_vault\": null"));
    assert_eq!(
        sops_decrypt(dir.path(), "groups.json", &enc, "both.agekey"),
        JSON_DOC.as_bytes()
    );
    // And in dotenv, with the flattened key_groups.
    let enc = sops::encrypt(DOTENV_DOC.as_bytes(), Format::Dotenv, &opts, &SystemClock).unwrap();
    assert_eq!(
        sops_decrypt(dir.path(), "groups.env", &enc, "both.agekey"),
        DOTENV_DOC.as_bytes()
    );
}

#[test]
fn update_keys_and_rotate_keep_files_readable_by_sops() {
    let dir = tempfile::tempdir().unwrap();
    let enc = sops::encrypt(
        MULTI_DOC_YAML.as_bytes(),
        Format::Yaml,
        &EncryptOptions::for_recipients([R1]).unwrap(),
        &SystemClock,
    )
    .unwrap();
    let before = sops::open_file(
        &enc,
        Format::Yaml,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();

    let moved = sops::update_keys(
        &enc,
        Format::Yaml,
        &sops_keyring("key1.agekey"),
        &key_groups(&[&[R2]], 0),
        &sops::StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(
        sops_decrypt(dir.path(), "moved.yaml", &moved, "key2.agekey"),
        MULTI_DOC_YAML.as_bytes()
    );
    let code = run_sops(dir.path(), Some("key1.agekey"), &["decrypt", "moved.yaml"]).code();
    assert_ne!(code, 0, "the old recipient must be gone");
    let after = sops::open_file(
        &moved,
        Format::Yaml,
        &sops_identities("key2.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert!(
        before.data_key().ct_eq(after.data_key()),
        "updatekeys keeps the data key"
    );
    // Values, MAC and lastmodified are untouched.
    let body = |b: &[u8]| {
        let t = String::from_utf8_lossy(b).into_owned();
        t.lines()
            .filter(|l| l.contains("ENC[") || l.contains("lastmodified"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&enc), body(&moved));

    let rotated = sops::rotate(
        &moved,
        Format::Yaml,
        &sops_identities("key2.agekey"),
        &SystemClock,
    )
    .unwrap();
    assert_eq!(
        sops_decrypt(dir.path(), "rotated.yaml", &rotated, "key2.agekey"),
        MULTI_DOC_YAML.as_bytes()
    );
    let after_rotate = sops::open_file(
        &rotated,
        Format::Yaml,
        &sops_identities("key2.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert!(
        !after.data_key().ct_eq(after_rotate.data_key()),
        "rotate draws a new data key"
    );

    // Into two groups and back out, still readable by sops.
    let split = sops::update_keys(
        &rotated,
        Format::Yaml,
        &sops_keyring("key2.agekey"),
        &key_groups(&[&[R1], &[R2]], 2),
        &sops::StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(
        sops_decrypt(dir.path(), "split.yaml", &split, "both.agekey"),
        MULTI_DOC_YAML.as_bytes()
    );
    let rotated_split = sops::rotate(
        &split,
        Format::Yaml,
        &sops_identities("both.agekey"),
        &SystemClock,
    )
    .unwrap();
    assert_eq!(
        sops_decrypt(dir.path(), "rsplit.yaml", &rotated_split, "both.agekey"),
        MULTI_DOC_YAML.as_bytes()
    );
}

#[test]
fn update_keys_keeps_unknown_master_keys_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let enc = sops::encrypt(
        K8S_SECRET.as_bytes(),
        Format::Yaml,
        &EncryptOptions::for_recipients([R1]).unwrap(),
        &SystemClock,
    )
    .unwrap();
    // A pgp entry we cannot use (the metadata is outside the MAC, so adding
    // it by hand is how another sops user's key would look).
    let pgp = "    pgp:\n        - created_at: \"2026-01-01T00:00:00Z\"\n          enc: |-\n            -----BEGIN PGP MESSAGE-----\n\n            wcFMA0000000000000AQ/+fake\n            =abcd\n            -----END PGP MESSAGE-----\n          fp: 0123456789ABCDEF0123456789ABCDEF01234567\n";
    let text = String::from_utf8(enc).unwrap();
    let at = text.find("    unencrypted_suffix:").unwrap();
    let with_pgp = format!("{}{}{}", &text[..at], pgp, &text[at..]);
    let updated = sops::update_keys(
        with_pgp.as_bytes(),
        Format::Yaml,
        &sops_keyring("key1.agekey"),
        &key_groups(&[&[R1, R2]], 0),
        &sops::StoreOptions::default(),
    )
    .unwrap();
    let updated_text = String::from_utf8(updated.clone()).unwrap();
    assert!(updated_text.contains(pgp), "{updated_text}");
    assert_eq!(
        sops_decrypt(dir.path(), "pgp.yaml", &updated, "key2.agekey"),
        K8S_SECRET.as_bytes()
    );
    // Rotating would leave the pgp entry behind on the old key: refused.
    let err = sops::rotate(
        &updated,
        Format::Yaml,
        &sops_identities("key1.agekey"),
        &SystemClock,
    )
    .unwrap_err();
    assert!(
        matches!(err, sops::Error::OpaqueKeysNeedRewrap { count: 1 }),
        "{err:?}"
    );
}

/// The `enc` of the entry for `recipient` in a sealed file, as written.
fn entry_enc(file: &[u8], recipient: &str) -> String {
    let meta = sops::SealedFile::parse(file, Format::Yaml).unwrap();
    let group = &meta.metadata().key_groups[0];
    let entry = group.age.iter().find(|a| a.recipient == recipient);
    entry.unwrap().enc.clone()
}

/// The Kubernetes Secret sealed to R1 alone.
fn secret_sealed_to_r1() -> Vec<u8> {
    let options = EncryptOptions::for_recipients([R1]).unwrap();
    sops::encrypt(K8S_SECRET.as_bytes(), Format::Yaml, &options, &SystemClock).unwrap()
}

/// `file` moved to R1 and R2 with `keyring`; checks that the real sops
/// opens the result with either key.
fn update_to_both(dir: &Path, file: &[u8], keyring: &ceremony::identity::Keyring) -> Vec<u8> {
    let groups = key_groups(&[&[R1, R2]], 0);
    let layout = sops::StoreOptions::default();
    let updated = sops::update_keys(file, Format::Yaml, keyring, &groups, &layout).unwrap();
    for key in ["key1.agekey", "key2.agekey"] {
        assert_eq!(
            sops_decrypt(dir, "updated.yaml", &updated, key),
            K8S_SECRET.as_bytes(),
            "sops opens the file with {key}"
        );
    }
    updated
}

#[test]
fn update_keys_keeps_the_entry_its_own_recipient_opened() {
    let dir = tempfile::tempdir().unwrap();
    let enc = secret_sealed_to_r1();
    let updated = update_to_both(dir.path(), &enc, &sops_keyring("key1.agekey"));
    assert_eq!(
        entry_enc(&updated, R1),
        entry_enc(&enc, R1),
        "R1's own key opened its entry: kept as it was"
    );

    // Identities whose public keys are not known keep nothing.
    let mut unknown = ceremony::identity::Keyring::default();
    unknown.extend(sops_identities("key1.agekey"));
    let rewrapped = update_to_both(dir.path(), &enc, &unknown);
    assert_ne!(entry_enc(&rewrapped, R1), entry_enc(&enc, R1));
}

#[test]
fn update_keys_wraps_again_an_entry_that_another_recipients_key_opened() {
    // The metadata is outside the MAC: whoever can write the file can put
    // R2's name on the entry sealed to R1. Our key (R1's) opens it; kept,
    // it would tell sops and R2 that R2 can open the file, and R2 could not.
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(secret_sealed_to_r1()).unwrap();
    assert_eq!(text.matches(R1).count(), 1, "{text}");
    let mislabelled = text.replace(R1, R2);
    let updated = update_to_both(
        dir.path(),
        mislabelled.as_bytes(),
        &sops_keyring("key1.agekey"),
    );
    assert_ne!(
        entry_enc(&updated, R2),
        entry_enc(mislabelled.as_bytes(), R2)
    );
}

#[test]
fn update_keys_wraps_again_an_entry_also_sealed_to_someone_else() {
    // The entry R1's key opens, but its age file has a second stanza, for
    // R2: kept, the file would stay open to R2 through it whatever the
    // recipients become.
    let dir = tempfile::tempdir().unwrap();
    let enc = secret_sealed_to_r1();
    let opened = sops::open_file(
        &enc,
        Format::Yaml,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    let recipients: Vec<age::x25519::Recipient> =
        [R1, R2].iter().map(|r| r.parse().unwrap()).collect();
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .unwrap();
    let mut two = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut two, age::armor::Format::AsciiArmor).unwrap();
    let mut w = encryptor.wrap_output(armor).unwrap();
    std::io::Write::write_all(&mut w, opened.data_key().expose_secret()).unwrap();
    w.finish().and_then(|armor| armor.finish()).unwrap();
    let two = String::from_utf8(two).unwrap();

    let text = String::from_utf8(enc.clone()).unwrap();
    let old = entry_enc(&enc, R1);
    let begin = text.find("-----BEGIN AGE ENCRYPTED FILE-----").unwrap();
    let line_start = text[..begin].rfind('\n').unwrap() + 1;
    let indent = &text[line_start..begin];
    let block = |armored: &str| {
        armored
            .lines()
            .map(|l| format!("{indent}{l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let doctored = text.replace(&block(&old), &block(&two));
    assert_ne!(doctored, text, "the entry was replaced");
    assert_eq!(entry_enc(doctored.as_bytes(), R1), two);

    let updated = update_to_both(
        dir.path(),
        doctored.as_bytes(),
        &sops_keyring("key1.agekey"),
    );
    assert_ne!(entry_enc(&updated, R1), two, "wrapped anew");
}

#[test]
fn files_sops_encrypts_now_open_with_ours() {
    let dir = tempfile::tempdir().unwrap();
    let key1 = sops_identities("key1.agekey");
    let mut all = cases();
    all.push(("secret.yaml", Format::Yaml, K8S_SECRET.as_bytes().to_vec()));
    for (name, format, plain) in all {
        let extra: &[&str] = if name == "secret.yaml" {
            &["--encrypted-regex", "^(data|stringData)$"]
        } else {
            &[]
        };
        let theirs = sops_encrypt(dir.path(), name, &plain, extra);
        let ours = sops::decrypt(&theirs, format, &key1, MacCheck::Verify)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ours.expose_secret(), plain.as_slice(), "{name}");
    }
}

#[test]
fn mac_only_encrypted_interoperates() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EncryptOptions {
        mac_only_encrypted: true,
        ..EncryptOptions::for_recipients([R1]).unwrap()
    };
    let enc = sops::encrypt(K8S_SECRET.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
    assert!(
        String::from_utf8_lossy(&enc)
            .contains("    mac_only_encrypted: true\n    version: 3.11.0\n")
    );
    assert_eq!(
        sops_decrypt(dir.path(), "maconly.yaml", &enc, "key1.agekey"),
        K8S_SECRET.as_bytes()
    );
}

/// YAML that exercises go-yaml's emitter: quoting, block scalars, flow
/// collections, inline and foot comments, anchors, long keys, floats.
const TRICKY_YAML: &str = r###"# head
a: 1 # inline on a
b:
    c: 2
    # foot of b
# head of d
d: "quoted: yes"
e: 'single'
f: [1, two, 3.0]
g: {x: 1, y: [a, b]}
h: |-
    no trailing newline
i: >
    folded text
    continues
j: |+
    keep

k: "  leading spaces"
l: "trailing space "
m: "tab\there"
n: yes
o: ~
p: 0x1F
q: 1e3
r: "2024-01-02"
s: 2024-01-02
t: "- dash"
u: "key: value"
v: "#hash"
w: "multi\nline with trailing space \nend"
x: "emoji 😀"
"y": n
z:
    - - a
      - b
    - k: v
      list:
          - 1
          - 2
      map:
          deep: 1
    - |
        block in list
    -
        nested: after dash
long_key_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: 1
empty_map: {}
empty_list: []
nul: null
"": empty key
ü: unicode key
'quoted key': 1
bin: !!binary aGVsbG8=
str: !!str 123
anchor: &anc
    q: 1
alias: *anc
neg: -0.0
inf: .inf
big: 12345678901234.5
small: 0.000001
ex: 1.0e+06
"###;

/// Comments in every position go-yaml distinguishes (head, line, foot), in
/// two documents.
const COMMENTS_YAML: &str = r###"# first doc head

# after blank line
top: 1
list:
    # before first item
    - a # inline item
    - b
    # between
    - c: 1
      # inside item map
      d: 2
    # trailing list comment
nested:
    deeper:
        x: 1
        # foot of deeper, indented
    # foot of nested
# foot of doc at column 0
---
# second doc head
k: v # inline
seq: # inline after key
    - 1
map: # inline after map key
    a: b
# tail of second doc
"###;

#[test]
fn yaml_normal_form_matches_sops() {
    normal_form_matches_sops(TRICKY_YAML);
}

#[test]
fn yaml_comment_placement_matches_sops() {
    normal_form_matches_sops(COMMENTS_YAML);
}

/// Comments after an entry written with an explicit key (`? key` / `: value`,
/// which sops writes for a key of over 128 bytes): the entry starts at the
/// `?`, and so does the column that decides whose comment it is.
#[test]
fn yaml_comments_after_explicit_keys_match_sops() {
    let long = "k".repeat(130);
    normal_form_matches_sops(&format!(
        "? a\n: null\n#after a\nt: null\nm:\n    ? b\n    : 1\n    # after b\n    u: x\n\
         l:\n    - ? c\n      : 1\n      # after c\n      v: x\n    - z\n\
         {long}: 1\n# after the long key\nw: 2\nn:\n    {long}: 1\n    # after it, nested\n    y: 3\n"
    ));
}

/// A lone CR ends a line (YAML, go-yaml): a comment ends there, and the
/// key after it is on the next line.
#[test]
fn yaml_carriage_return_line_breaks_match_sops() {
    normal_form_matches_sops("a: 1\r#c\rb: 2 # d\r\n    # e\rm:\r    x: y\r    # f\rz: 3\r");
}

/// Comments at the start of a collection nested in a sequence (`- - x #
/// c`, `- - a: 1 # c`, three dashes deep) are that collection's head
/// comment, which go-yaml writes before the item's dash, or right after a
/// parent's dash on the same line; a comment after a dash with nothing
/// behind it goes after the null item. Each file by itself, sealed and
/// opened by both.
#[test]
fn yaml_comments_in_nested_sequences_match_sops() {
    for input in [
        "k:\n    - - x # c\n    - alpha\n",
        "k:\n    - - - x # c\n    - alpha\n",
        "k:\n    - - # c\n        a: 1\n    - alpha\n",
        "k:\n    - - a: 1 # c\n        b: 2\n    - alpha\n",
        "k:\n    - # c\n      - x\n    - alpha\n",
        "k:\n    - a: 1\n      l:\n        - - x # c\n",
        "k:\n    - - x\n      # c\n      - y\n",
        "k:\n    - # c\n      a: 1\n",
        "k:\n    - - # c\n      - x\n",
        "k:\n    - # c\n    - alpha\n",
        "k:\n    - # c\n      # d\n    - alpha\n",
    ] {
        normal_form_matches_sops(input);
    }
}

fn normal_form_matches_sops(input: &str) {
    // sops re-emits a file in its own normal form on the way through
    // encrypt + decrypt; ours must produce the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let theirs_enc = sops_encrypt(dir.path(), "tricky.yaml", input.as_bytes(), &[]);
    let theirs = sops_decrypt(dir.path(), "tricky.enc.yaml", &theirs_enc, "key1.agekey");
    let ours_enc = sops::encrypt(
        input.as_bytes(),
        Format::Yaml,
        &EncryptOptions::for_recipients([R1]).unwrap(),
        &SystemClock,
    )
    .unwrap();
    let ours = sops::decrypt(
        &ours_enc,
        Format::Yaml,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(ours.expose_secret()),
        String::from_utf8_lossy(&theirs)
    );
    assert_eq!(normalise(&ours_enc), normalise(&theirs_enc));
    // And sops reads what we wrote to the same plaintext.
    assert_eq!(
        sops_decrypt(dir.path(), "ours.enc.yaml", &ours_enc, "key1.agekey"),
        theirs
    );
}

const RULES_YAML: &str = "\
# sops:enc
token: abc
plain: visible
db_secret:
    password: hunter2
    # sops:enc
    # a second line
    user: admin
public_data:
    note: hello
list:
    # sops:enc
    - one
    - two
";

#[test]
fn every_crypt_rule_matches_sops() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [
        ("unencrypted_suffix", "--unencrypted-suffix", "_data"),
        ("encrypted_suffix", "--encrypted-suffix", "_secret"),
        (
            "unencrypted_regex",
            "--unencrypted-regex",
            "^(plain|public_data)$",
        ),
        (
            "encrypted_regex",
            "--encrypted-regex",
            "^(token|db_secret)$",
        ),
        (
            "unencrypted_comment_regex",
            "--unencrypted-comment-regex",
            "sops:enc",
        ),
        (
            "encrypted_comment_regex",
            "--encrypted-comment-regex",
            "sops:enc",
        ),
    ];
    for (field, flag, value) in rules {
        let theirs = sops_encrypt(
            dir.path(),
            "rules.yaml",
            RULES_YAML.as_bytes(),
            &[flag, value],
        );
        let opts = EncryptOptions {
            rule: Some(CryptRule::from_field(field, value).unwrap()),
            ..EncryptOptions::for_recipients([R1]).unwrap()
        };
        let ours = sops::encrypt(RULES_YAML.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
        assert_eq!(normalise(&ours), normalise(&theirs), "{field}");
        let from_sops = sops::decrypt(
            &theirs,
            Format::Yaml,
            &sops_identities("key1.agekey"),
            MacCheck::Verify,
        )
        .unwrap_or_else(|e| panic!("{field}: {e}"));
        let from_ours = sops_decrypt(dir.path(), "ours.yaml", &ours, "key1.agekey");
        assert_eq!(from_sops.expose_secret(), from_ours.as_slice(), "{field}");
    }
}

const TRICKY_JSON: &str = r#"{"big": 1234567890123456, "tiny": 1e-7, "huge": 1e21, "neg": -0.0, "exp": 1.5E3,
 "esc": "tab\tnl\ncr\r\u0001 \u00e9 \u2028 <&> \"q\" \\ / \ud83d\ude00",
 "empty_obj": {}, "empty_arr": [], "nested": [[1, [2]], {"a": {"b": []}}], "t": true, "f": false, "n": null,
 "k_unencrypted": {"x": 1.25}}
"#;

#[test]
fn json_normal_form_matches_sops() {
    let dir = tempfile::tempdir().unwrap();
    let theirs_enc = sops_encrypt(dir.path(), "tricky.json", TRICKY_JSON.as_bytes(), &[]);
    let theirs = sops_decrypt(dir.path(), "tricky.enc.json", &theirs_enc, "key1.agekey");
    let ours_enc = sops::encrypt(
        TRICKY_JSON.as_bytes(),
        Format::Json,
        &EncryptOptions::for_recipients([R1]).unwrap(),
        &SystemClock,
    )
    .unwrap();
    let ours = sops::decrypt(
        &ours_enc,
        Format::Json,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(ours.expose_secret()),
        String::from_utf8_lossy(&theirs)
    );
    assert_eq!(normalise(&ours_enc), normalise(&theirs_enc));
}

const TRICKY_ENV: &str =
    "#c1\n# c2\nA=b=c\nB= spaced \nC=\"x\"\nD=tab\there\nE=a\\\\nb\n\n\nF=ünï\n";

#[test]
fn dotenv_normal_form_matches_sops() {
    let dir = tempfile::tempdir().unwrap();
    let theirs_enc = sops_encrypt(dir.path(), "tricky.env", TRICKY_ENV.as_bytes(), &[]);
    let theirs = sops_decrypt(dir.path(), "tricky.enc.env", &theirs_enc, "key1.agekey");
    let ours_enc = sops::encrypt(
        TRICKY_ENV.as_bytes(),
        Format::Dotenv,
        &EncryptOptions::for_recipients([R1]).unwrap(),
        &SystemClock,
    )
    .unwrap();
    let ours = sops::decrypt(
        &ours_enc,
        Format::Dotenv,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(ours.expose_secret()),
        String::from_utf8_lossy(&theirs)
    );
    assert_eq!(normalise(&ours_enc), normalise(&theirs_enc));
}

/// Keys quoted as go-ini quotes them (`"""…"""` around a backtick, a
/// backtick around `=`, `:` or `"`) are in `[quoted]`: the delimiter is the
/// one after the closing quote.
const TRICKY_INI: &str = "; section comment\n# second line\n[first]\n; key comment\na = 1\nlonger_key = \"quoted value\"\nc = `back;tick`\n\n[second]\nx: colon style\ny = value ; inline\n\n[quoted]\n\"\"\"a`b\"\"\" = 1\n`c=d` = 2\n`e:f`: 3\n`g\"h` = 4\n\"i j\" = 5\n";

#[test]
fn ini_normal_form_matches_sops() {
    let dir = tempfile::tempdir().unwrap();
    ini_matches_sops(dir.path(), "tricky", TRICKY_INI);
}

/// `plain`, sealed by sops and by us: each opens to the same bytes with
/// either tool (`name` tells the files apart in `dir`).
fn ini_matches_sops(dir: &Path, name: &str, plain: &str) {
    let theirs_enc = sops_encrypt(dir, &format!("{name}.ini"), plain.as_bytes(), &[]);
    let theirs = sops_decrypt(dir, &format!("{name}.enc.ini"), &theirs_enc, "key1.agekey");
    let ours_enc = sops::encrypt(
        plain.as_bytes(),
        Format::Ini,
        &EncryptOptions::for_recipients([R1]).unwrap(),
        &SystemClock,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let ours = sops::decrypt(
        &ours_enc,
        Format::Ini,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(ours.expose_secret()),
        String::from_utf8_lossy(&theirs),
        "{name}: {plain:?}"
    );
    // sops reads ours, and we read sops's.
    assert_eq!(
        sops_decrypt(dir, &format!("{name}.ours.ini"), &ours_enc, "key1.agekey"),
        theirs,
        "{name}"
    );
    let back = sops::decrypt(
        &theirs_enc,
        Format::Ini,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert_eq!(back.expose_secret(), theirs.as_slice(), "{name}");
}

/// INI the way go-ini reads it, each file by itself: a value cut at a
/// comment before its quotes are looked at, quotes taken off only when they
/// are the value's only ones, `"""` and backtick values to their last
/// quote (over lines too), continuation lines, a lone CR and a vertical tab
/// inside a line, a header to its last `]` with its blanks, comments after
/// headers and values, a key given twice, a byte order mark, CRLF lines, a
/// default section with keys before a later `[DEFAULT]`, a comment line whose
/// text starts with tabs and a `#`, comments that are only markers.
const GO_INI_FILES: &[&str] = &[
    "[db]\nuser = admin\nQUOTED=\"quoted vTI\"kind\":\"command\"####TI\"kind\":\"x.com\u{b}token = abc\n",
    "[v]\nsingle = 'sq'\ndouble = \"dq\"\nspaced = \" sp \"\nmixed = 'a'b'\ninner = \"a\"b\"\n",
    "[v]\ntick = `abc` rest ; c\ntriple = \"\"\"x\"\"\"y\"\"\" tail\nmulti = \"\"\"one\ntwo\"\"\" ; after\n",
    "[v]\ncont = a\\\\\n  b\\\\\n c\n\nz = 1\n",
    "[v]\ncr = a\rb ; c\rd\nz = 1\n",
    "[ a ]\nk = v\n[b]c]  ; sc\nx = 1\n",
    "[s]\nk = 1 ; first\nj = 0\nk = 2 ; second\n",
    "\u{feff}k = v\r\n; c\r\nl = w\r\n",
    "DEFAULT_KEY = 1\n[DEFAULT]\nq = 2\n",
    "; top\n[s]\n",
    "; \t\t#sig \t\t0O\nk!u\u{8}\u{8}z\"k\":#####:##8\n",
    "[s]\nk = v ;\nj = 2 # #\n",
];

#[test]
fn ini_files_read_as_go_ini_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    for (i, plain) in GO_INI_FILES.iter().enumerate() {
        ini_matches_sops(dir.path(), &format!("go-ini-{i}"), plain);
    }
}

/// Files sops seals but cannot give back as they were: a value ending in
/// `\` (a continued line that a blank one ends) comes back joined to the
/// next line, one written between quotes it
/// holds comes back without them, a `-` key comes back as a comment (and
/// the MAC fails), and a comment whose first line is only a marker, with
/// more lines after it, makes go-ini's writer fail, so sops cannot open the
/// file it sealed (one whose first line is a marker and a tab is written
/// back as a bare marker, and fails so the next time). ceremony refuses to
/// seal them, naming the line.
#[test]
fn ini_files_sops_would_change_are_refused() {
    for (plain, line) in [
        ("[s]\nok = 1\nk = a\\\\\n\nnext = 2\n", 3),
        ("[s]\nk = `\"q\"`\n", 2),
        ("[s]\n- = a\n", 2),
        ("#\n# b\n[s]\nk = v\n", 3),
        ("[s]\nk = v\n#\n# b\nj = 2\n", 5),
        ("[s]\n;\t\nk = v ## x\n", 3),
    ] {
        match sops::encrypt(
            plain.as_bytes(),
            Format::Ini,
            &EncryptOptions::for_recipients([R1]).unwrap(),
            &SystemClock,
        ) {
            Err(sops::Error::Parse {
                line: at, reason, ..
            }) => {
                assert_eq!(at, Some(line), "{plain:?}: {reason}");
                assert!(reason.contains("cannot be written back"), "{reason}");
            }
            other => panic!("{plain:?}: {:?}", other.map(|_| "sealed")),
        }
    }
}

#[test]
fn three_groups_threshold_two_opens_with_any_two() {
    let dir = tempfile::tempdir().unwrap();
    // Groups 0 and 2 hold key1, group 1 holds key2: key1 alone opens two of
    // three groups (shares x = 1 and x = 3), key2 alone only one.
    let opts = EncryptOptions {
        key_groups: key_groups(&[&[R1], &[R2], &[R1]], 2),
        rule: None,
        mac_only_encrypted: false,
    };
    let enc = sops::encrypt(K8S_SECRET.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap();
    assert_eq!(
        sops_decrypt(dir.path(), "three.yaml", &enc, "key1.agekey"),
        K8S_SECRET.as_bytes()
    );
    let code = run_sops(dir.path(), Some("key2.agekey"), &["decrypt", "three.yaml"]).code();
    assert_eq!(code, 128);
    let ours = sops::decrypt(
        &enc,
        Format::Yaml,
        &sops_identities("key1.agekey"),
        MacCheck::Verify,
    )
    .unwrap();
    assert_eq!(ours.expose_secret(), K8S_SECRET.as_bytes());
    let err = sops::decrypt(
        &enc,
        Format::Yaml,
        &sops_identities("key2.agekey"),
        MacCheck::Verify,
    )
    .unwrap_err();
    assert!(
        matches!(err, sops::Error::NotEnoughKeyGroups { recovered: 1, threshold: 2, ref failed_groups } if failed_groups == &[0, 2]),
        "{err:?}"
    );
}
