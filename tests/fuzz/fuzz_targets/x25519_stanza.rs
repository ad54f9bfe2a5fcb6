//! `ceremony::x25519::Identity`, age's X25519 stanza opened with AWS-LC,
//! against the age crate's own identity: the same verdict (not ours, the
//! same file key, or an invalid header) for every stanza. The input is a
//! stanza as an age header writes it (`-> X25519 SHARE\nBODY\n`); the
//! identity is the SOPS test key `R1` (tests/vectors/sops/key1.agekey).
#![no_main]
use std::sync::OnceLock;

use age::secrecy::ExposeSecret;
use age_core::format::{Stanza, read::age_stanza};
use libfuzzer_sys::fuzz_target;

fn identities() -> &'static (age::x25519::Identity, ceremony::x25519::Identity) {
    static IDS: OnceLock<(age::x25519::Identity, ceremony::x25519::Identity)> = OnceLock::new();
    IDS.get_or_init(|| {
        let text = include_str!("../../vectors/sops/key1.agekey");
        let line = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .expect("key1.agekey has a key");
        let age: age::x25519::Identity = line.parse().expect("age parses it");
        let ours = ceremony::x25519::Identity::from_line(line, &age).expect("loads");
        (age, ours)
    })
}

/// The verdict, with the file key's bytes when it opened.
fn verdict(identity: &dyn age::Identity, stanza: &Stanza) -> Option<Result<[u8; 16], String>> {
    identity
        .unwrap_stanza(stanza)
        .map(|r| r.map(|key| *key.expose_secret()).map_err(|e| e.to_string()))
}

fuzz_target!(|data: &[u8]| {
    let Ok((_, stanza)) = age_stanza(data) else {
        return;
    };
    let stanza = Stanza::from(stanza);
    let (age, ours) = identities();
    assert_eq!(verdict(ours, &stanza), verdict(age, &stanza));
});
