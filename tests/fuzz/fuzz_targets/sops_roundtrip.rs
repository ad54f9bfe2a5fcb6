//! `parse_plain`, `encrypt_tree`, `inspect`, `decrypt`, `parse_plain`: a
//! plaintext file of any format (first byte: YAML, JSON, dotenv, INI,
//! binary) sealed to the test recipient and opened again.
#![no_main]
use ceremony_fuzz::sops_targets::{FORMATS, roundtrip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((format, rest)) = ceremony_fuzz::select(data, FORMATS.len()) {
        roundtrip(FORMATS[format], rest);
    }
});
