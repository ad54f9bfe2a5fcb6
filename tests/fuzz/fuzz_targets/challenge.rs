//! `ceremony::handover::Challenge::from_json`: `challenge.json`.
#![no_main]
use ceremony::handover::Challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(challenge) = Challenge::from_json(data) {
        let json = challenge.to_json().expect("to_json");
        let again = Challenge::from_json(&json)
            .unwrap_or_else(|e| panic!("a challenge to_json wrote does not read back: {e}"));
        assert_eq!(again, challenge);
        assert_eq!(again.to_json().expect("to_json"), json);
        let nonce = challenge
            .nonce_bytes()
            .expect("a valid challenge has a 32-byte nonce");
        assert_eq!(nonce.len(), 32);
        let _ = challenge.nonce_sha256();
        for file in &challenge.files {
            for item in &file.items {
                let _ = item.secret();
            }
        }
    }
});
