//! `ceremony::handover::TrustFile::parse`: the TRUSTFILE of a verifier.
#![no_main]
use ceremony::handover::TrustFile;
use ceremony_fuzz::assert_no_private_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| match TrustFile::parse("trust.txt", data) {
    Ok(trust) => {
        let text = std::str::from_utf8(data).expect("an accepted TRUSTFILE is UTF-8");
        let lines = text.lines().count();
        assert!(!trust.keys().is_empty());
        assert!(trust.keys().len() <= lines);
        let mut last = 0;
        for key in trust.keys() {
            assert!(key.line > last && key.line <= lines, "line {}", key.line);
            last = key.line;
            let _ = key.key_label();
            let _ = format!("{key:?}");
            assert_eq!(
                trust
                    .keys_of(key.scheme())
                    .filter(|k| k.line == key.line)
                    .count(),
                1
            );
        }
    }
    Err(e) => assert_no_private_key("TrustFile::parse", data, &e),
});
