//! Inputs the fuzz targets (`tests/fuzz/`, `docs/fuzzing.md`) found to
//! break a parser, replayed through the same library calls: each must give a
//! value or an error, not a panic, and what the target asserted must hold.
//!
//! One test per target, over every file of `tests/fuzz/regressions/<target>/`.
//! removes the `ignore`. `cargo test --test tests fuzz_regressions --
//! --include-ignored` runs them all.

use std::path::PathBuf;

/// Every saved input of one target, with its file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("a regression input");
            (path.display().to_string(), bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no inputs in {}", dir.display());
    out
}

/// The bech32 payload of every `AGE-SECRET-KEY-1…` in `input` (40 characters
/// or more): what the fuzz targets' private-key check looks for.
fn age_secret_keys(input: &[u8]) -> Vec<String> {
    let upper = String::from_utf8_lossy(input).to_ascii_uppercase();
    let marker = "AGE-SECRET-KEY-1";
    upper
        .match_indices(marker)
        .map(|(at, _)| {
            upper[at + marker.len()..]
                .chars()
                .take_while(|c| "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".contains(*c))
                .collect::<String>()
        })
        .filter(|payload| payload.len() >= 40)
        .collect()
}

/// Panics when `message` shows 16 characters or more of a private key that
/// `input` holds.
fn assert_no_key_shown(file: &str, input: &[u8], message: &str) {
    let upper = message.to_ascii_uppercase();
    for key in age_secret_keys(input) {
        for piece in key.as_bytes().windows(16) {
            let piece = std::str::from_utf8(piece).expect("ASCII");
            assert!(
                !upper.contains(piece),
                "{file}: the error shows the pasted private key: {message}"
            );
        }
    }
}

#[test]
fn trustfile() {
    for (file, bytes) in inputs("trustfile") {
        match ceremony::handover::TrustFile::parse("trust.txt", &bytes) {
            Ok(_) => {}
            Err(e) => assert_no_key_shown(&file, &bytes, &format!("{e} {e:?}")),
        }
    }
}

#[test]
fn custodians() {
    for (file, bytes) in inputs("custodians") {
        let text = String::from_utf8_lossy(&bytes);
        match ceremony::shares::Custodians::parse(&text) {
            Ok(_) => {}
            Err(e) => assert_no_key_shown(&file, &bytes, &format!("{e} {e:?}")),
        }
    }
}

#[test]
fn sops_config() {
    for (file, bytes) in inputs("sops_config") {
        let path = std::path::Path::new("/fuzz/repo/.sops.yaml");
        match ceremony::sops::config::SopsConfig::parse(path, &bytes) {
            Ok(_) => {}
            Err(e) => assert_no_key_shown(&file, &bytes, &format!("{e} {e:?}")),
        }
    }
}

/// The fuzz target `sops_roundtrip`: the first byte picks the format (0
/// YAML, 1 JSON, 2 dotenv, 3 INI, 4 binary); what parses is sealed to the
/// SOPS test recipient and must open again with the test identity.
#[test]
fn sops_roundtrip() {
    use ceremony::sops::{self, EncryptOptions, Format, MacCheck};
    const FORMATS: [Format; 5] = [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ];
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sops");
    let key = std::fs::read(vectors.join("key1.agekey")).expect("key1.agekey");
    let identities = ceremony::identity::parse_identity_file("key1.agekey", &key, age::NoCallbacks)
        .expect("the test identity");
    let opts = EncryptOptions::for_recipients([
        "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q",
    ])
    .expect("R1");
    let clock = ceremony::clock::FixedClock(time::macros::datetime!(2026-01-02 03:04:05 UTC));
    for (file, bytes) in inputs("sops_roundtrip") {
        let Some((&selector, plain)) = bytes.split_first() else {
            continue;
        };
        let format = FORMATS[usize::from(selector) % FORMATS.len()];
        let Ok(mut branches) = sops::parse_plain(plain, format) else {
            continue;
        };
        let Ok(sealed) = sops::encrypt_tree(&mut branches, format, &opts, &clock) else {
            continue;
        };
        // A leaf the rule leaves in clear may start with `ENC[`: the
        // user's text, not a damaged value.
        let inspection = sops::inspect(&sealed, format)
            .unwrap_or_else(|e| panic!("{file}: inspect of what encrypt wrote: {e}"));
        for leaf in &inspection.leaves {
            assert!(
                !leaf.malformed,
                "{file}: {:?} reported malformed",
                leaf.path
            );
        }
        let opened = match sops::decrypt(&sealed, format, &identities, MacCheck::Verify) {
            Ok(opened) => opened,
            Err(e) => panic!("{file}: the {format} file encrypt wrote does not decrypt: {e}"),
        };
        // Every key, comment and string comes back as it was, in its place
        // (an INI key quoted on the way out must be unquoted on the way in;
        // a comment after an explicit `? key` stays before the next key; an
        // INI value is cut at its comment before its quotes are looked at).
        let before = sops::parse_plain(plain, format).expect("parsed once already");
        let after = sops::parse_plain(opened.expose_secret(), format)
            .unwrap_or_else(|e| panic!("{file}: what decrypt wrote does not parse: {e}"));
        let ini = format == Format::Ini;
        assert_eq!(
            keys(&before, ini),
            keys(&after, ini),
            "{file}: the keys, comments or strings moved"
        );
    }
}

/// Every key and comment of a tree's mappings, with its depth, in order (a
/// comment as `#` and its text, a string value as `=` and its text). An INI
/// comment is taken line by line without the markers and blanks (in any mix)
/// before each line's text and the blanks after it, which go-ini (so sops,
/// and ceremony) writes back its own way.
fn keys(branches: &[ceremony::sops::tree::Branch], ini: bool) -> Vec<(usize, String)> {
    use ceremony::sops::tree::{Item, Value};
    fn walk(
        branch: &ceremony::sops::tree::Branch,
        depth: usize,
        ini: bool,
        out: &mut Vec<(usize, String)>,
    ) {
        for item in &branch.items {
            match item {
                Item::Entry { key, value } => {
                    out.push((depth, key.clone()));
                    match value {
                        Value::Branch(inner) => walk(inner, depth + 1, ini, out),
                        Value::Str(text) => out.push((
                            depth,
                            format!("={}", String::from_utf8_lossy(text.expose_secret())),
                        )),
                        _ => {}
                    }
                }
                Item::Comment(text) => {
                    let text = String::from_utf8_lossy(text.expose_secret()).into_owned();
                    let text = if ini {
                        text.split('\n')
                            .map(|l| {
                                l.trim_start_matches(|c: char| {
                                    c == ';' || c == '#' || c.is_whitespace()
                                })
                                .trim_end()
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    } else {
                        text
                    };
                    out.push((depth, format!("#{text}")));
                }
            }
        }
    }
    let mut out = Vec::new();
    for branch in branches {
        walk(branch, 0, ini, &mut out);
    }
    out
}

/// The fuzz target `sops_plain_json`: an error names the key path where the
/// input is wrong, but never a key that looks like a pasted private key.
#[test]
fn sops_plain_json() {
    use ceremony::sops::{self, Format};
    for (file, bytes) in inputs("sops_plain_json") {
        match sops::parse_plain(&bytes, Format::Json) {
            Ok(_) => {}
            Err(e) => assert_no_key_shown(&file, &bytes, &format!("{e} {e:?}")),
        }
    }
}

/// The fuzz target `sops_encrypted_yaml`: what `decrypt` accepts (the MAC
/// skipped, as `--ignore-mac` does) prints a file that reads back; a key
/// given twice at the top of the first document is refused, as sops refuses
/// it.
#[test]
fn sops_encrypted_yaml() {
    use ceremony::sops::{self, Error, Format, MacCheck};
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sops");
    let key = std::fs::read(vectors.join("key1.agekey")).expect("key1.agekey");
    let identities = ceremony::identity::parse_identity_file("key1.agekey", &key, age::NoCallbacks)
        .expect("the test identity");
    for (file, bytes) in inputs("sops_encrypted_yaml") {
        match sops::decrypt(&bytes, Format::Yaml, &identities, MacCheck::Skip) {
            Ok(plain) => match sops::parse_plain(plain.expose_secret(), Format::Yaml) {
                Ok(_) | Err(Error::AlreadyEncrypted) => {}
                Err(e) => panic!("{file}: what decrypt wrote does not read back: {e}"),
            },
            Err(e) => assert!(
                matches!(e, Error::DuplicateKey { ref key, .. } if key == "stringData"),
                "{file}: {e:?}"
            ),
        }
    }
}

/// The fuzz targets `sops_encrypted_binary` and `sops_encrypted_ini`: an
/// error about a sealed file shows neither the text of a key it stands
/// under (a number that a float cannot hold is named by its line) nor an
/// unknown `type:` that is not a type name (here a pasted private key).
#[test]
fn sops_encrypted_binary_and_ini() {
    use ceremony::sops::{self, Format, MacCheck};
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sops");
    let key = std::fs::read(vectors.join("key1.agekey")).expect("key1.agekey");
    let identities = ceremony::identity::parse_identity_file("key1.agekey", &key, age::NoCallbacks)
        .expect("the test identity");
    for (target, format) in [
        ("sops_encrypted_binary", Format::Binary),
        ("sops_encrypted_ini", Format::Ini),
    ] {
        for (file, bytes) in inputs(target) {
            let errors = [
                sops::inspect(&bytes, format).err(),
                sops::decrypt(&bytes, format, &identities, MacCheck::Skip).err(),
            ];
            for e in errors.into_iter().flatten() {
                let shown = format!("{e} {e:?}");
                assert_no_key_shown(&file, &bytes, &shown);
                assert!(!shown.contains("S3CR3T"), "{file}: {shown}");
            }
        }
    }
}
