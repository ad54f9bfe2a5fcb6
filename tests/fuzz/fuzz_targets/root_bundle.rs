//! `ceremony::root::Bundle::from_json`: a custodian's decrypted bundle of
//! root shares.
#![no_main]
use ceremony::root::Bundle;
use ceremony_fuzz::{assert_hidden, secret_json_strings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| match Bundle::from_json(data) {
    Ok(bundle) => {
        let json = bundle.to_json().expect("to_json");
        let again = Bundle::from_json(&json)
            .unwrap_or_else(|e| panic!("a bundle to_json wrote does not read back: {e}"));
        assert_eq!(
            *again.to_json().expect("to_json"),
            *json,
            "to_json is not stable"
        );
        assert_eq!(again.shares.len(), bundle.shares.len());
    }
    Err(e) => {
        let (secrets, rest) = secret_json_strings(data, &["y", "blinding"]);
        assert_hidden("Bundle::from_json", &e, &e.to_string(), &secrets, &rest);
    }
});
