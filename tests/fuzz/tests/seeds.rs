//! The committed seeds reach the paths they are there for: every signature
//! scheme has a seed that verifies against the fixed TRUSTFILE, and every
//! SOPS format has a sealed seed that opens with the test identities. Run
//! with `cargo test` in `tests/fuzz` (a normal build, no fuzzing).

use std::path::PathBuf;

use ceremony::handover::{Scheme, attach_signature, verify};
use ceremony::sops::{self, Format, MacCheck};

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("entry").path();
            (
                path.display().to_string(),
                std::fs::read(&path).expect("seed"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_scheme_has_a_seed_that_verifies() {
    for (scheme, target) in [
        (Scheme::Ed25519, "sig_ed25519"),
        (Scheme::Sshsig, "sig_sshsig"),
        (Scheme::Minisign, "sig_minisign"),
        (Scheme::Transit, "sig_transit"),
    ] {
        let verified: Vec<String> = seeds(target)
            .into_iter()
            .filter(|(_, bytes)| {
                let mut env = ceremony_fuzz::envelope();
                attach_signature(&mut env, scheme, bytes).is_ok()
                    && verify(&env, ceremony_fuzz::trust()).is_ok()
            })
            .map(|(name, _)| name)
            .collect();
        assert!(!verified.is_empty(), "no {target} seed verifies");
    }
}

#[test]
fn every_format_has_a_sealed_seed_that_opens() {
    for (format, target) in [
        (Format::Yaml, "sops_encrypted_yaml"),
        (Format::Json, "sops_encrypted_json"),
        (Format::Dotenv, "sops_encrypted_dotenv"),
        (Format::Ini, "sops_encrypted_ini"),
        (Format::Binary, "sops_encrypted_binary"),
    ] {
        let opened = seeds(target)
            .iter()
            .filter(|(_, bytes)| {
                sops::decrypt(bytes, format, ceremony_fuzz::identities(), MacCheck::Verify).is_ok()
            })
            .count();
        assert!(
            opened > 0,
            "no {target} seed opens with the test identities"
        );
    }
}

/// The private-key oracle compares what an error shows with the input
/// both escaped as `Debug` escapes them: a `\n` before key-like letters
/// in a quoted input is not key text (a false crash of `recipients`).
#[test]
fn the_private_key_oracle_reads_escapes_as_the_message_shows_them() {
    let (name, bytes) = seeds("recipients")
        .into_iter()
        .find(|(name, _)| name.ends_with("escaped-newline-before-key-text"))
        .expect("the seed");
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    let error = ceremony::sops::Recipient::parse_list(text).expect_err(&name);
    ceremony_fuzz::assert_no_private_key("Recipient::parse_list", &bytes, &error);
}

/// Every X25519 stanza seed (the Go age's, the age crate's, ceremony's)
/// opens with the test identity, with both implementations: the target
/// starts from stanzas that reach the file key.
#[test]
fn every_x25519_stanza_seed_opens_with_both_identities() {
    use age::secrecy::ExposeSecret;
    let text = include_str!("../../vectors/sops/key1.agekey");
    let line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("a key");
    let age: age::x25519::Identity = line.parse().expect("parses");
    let ours = ceremony::x25519::Identity::from_line(line, &age).expect("loads");
    let seeds = seeds("x25519_stanza");
    assert_eq!(seeds.len(), 3);
    for (name, bytes) in seeds {
        let (_, stanza) = age_core::format::read::age_stanza(&bytes).expect(&name);
        let stanza = age_core::format::Stanza::from(stanza);
        for identity in [&age as &dyn age::Identity, &ours] {
            let key = identity.unwrap_stanza(&stanza).expect(&name).expect(&name);
            let _ = key.expose_secret();
        }
    }
}

/// The `sops_roundtrip` target holds for every input it once failed on
/// (`regressions/sops_roundtrip`), the target's own checks included.
#[test]
fn the_roundtrip_target_passes_its_regressions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regressions/sops_roundtrip");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 9, "{inputs:?}");
    for path in inputs {
        let data = std::fs::read(&path).expect("regression input");
        let Some((format, rest)) =
            ceremony_fuzz::select(&data, ceremony_fuzz::sops_targets::FORMATS.len())
        else {
            panic!("{}: empty", path.display());
        };
        ceremony_fuzz::sops_targets::roundtrip(ceremony_fuzz::sops_targets::FORMATS[format], rest);
    }
}
