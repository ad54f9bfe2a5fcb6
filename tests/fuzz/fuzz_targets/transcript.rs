//! `ceremony::transcript::verify` and `check`: a ceremony transcript, with
//! and without the demo root as the expected signer.
#![no_main]
use ceremony::transcript::{self, ExpectedSigner, GENESIS, SignerKey};
use libfuzzer_sys::fuzz_target;

/// The signing key of the root whose signed transcript is a seed.
const ROOT_ID: &str = include_str!("../fixtures/transcript-root-id.txt");
const ROOT_KEY: &str = include_str!("../fixtures/transcript-root-key.txt");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let verified = transcript::verify(text);
    if let Ok(v) = &verified {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(v.records.len(), lines.len());
        match lines.last() {
            Some(last) => assert_eq!(v.head, transcript::line_hash(last)),
            None => assert_eq!(v.head, GENESIS),
        }
        for (i, r) in v.records.iter().enumerate() {
            assert_eq!(r.seq, i as u64);
        }
    }
    let (plain, report) = transcript::check(text, None);
    assert_eq!(plain.is_some(), verified.is_ok());
    if verified.is_err() {
        assert!(!report.passed());
    }
    let keys = [SignerKey {
        public_key: ROOT_KEY.trim().to_owned(),
        versions: "version 1".to_owned(),
        replaced_at: None,
    }];
    let signer = ExpectedSigner {
        root_id: ROOT_ID.trim(),
        keys: &keys,
    };
    let (signed, report) = transcript::check(text, Some(signer));
    assert_eq!(signed.is_some(), verified.is_ok());
    if report.passed() {
        assert!(verified.is_ok());
    }
    // The Markdown record renders any transcript that verifies.
    if let Ok(v) = &verified {
        let ceremonies = transcript::witness::ceremonies(v);
        let text = transcript::report::markdown(v, &ceremonies, None, "t.jsonl");
        assert!(text.starts_with("# Ceremony record: t.jsonl"));
    }
});
