//! `ceremony::root::RootManifest::from_json`: `root.json`.
//!
//! Holds: an accepted file is byte for byte its canonical form. And, to get
//! past the signature for every body (the fuzzer cannot forge Ed25519): the
//! body the input holds, signed with a fixed throwaway key, is written and
//! read back to an equal manifest.
#![no_main]
use ceremony::root::{RootBody, RootManifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = RootManifest::from_json(data) {
        assert_eq!(
            manifest.to_json(),
            data,
            "an accepted root.json is not canonical"
        );
        manifest
            .verify_signature()
            .expect("an accepted root.json verifies");
        let _ = manifest.signing_key_fingerprint();
    }
    resign(data);
});

fn resign(data: &[u8]) {
    use base64::Engine;
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Some(object) = value.as_object_mut() else {
        return;
    };
    object.remove("signature");
    let Ok(mut body) = serde_json::from_value::<RootBody>(value) else {
        return;
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    body.signing_public_key =
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes());
    body.format = ceremony::root::manifest::ROOT_FORMAT_V1.to_owned();
    let manifest = body.sign(&key, None);
    let json = manifest.to_json();
    let again = RootManifest::from_json(&json)
        .unwrap_or_else(|e| panic!("a signed manifest to_json wrote does not read back: {e}"));
    assert_eq!(again, manifest);
}
