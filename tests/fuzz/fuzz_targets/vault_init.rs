//! `ceremony::shares::vault::InitOutput::parse`: the JSON of `vault|bao
//! operator init` or of a rekey (first byte: the threshold the operator
//! states, and which keys to take).
#![no_main]
use ceremony::shares::shamir;
use ceremony::shares::vault::{InitOutput, Keys, Which};
use ceremony_fuzz::{assert_hidden, secret_json_strings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, json)) = data.split_first() else {
        return;
    };
    let stated = usize::from(first % 16);
    let which = match first / 16 % 3 {
        0 => Which::Auto,
        1 => Which::Unseal,
        _ => Which::Recovery,
    };
    match InitOutput::parse("init.json", json, which, stated) {
        Ok(init) => match &init.keys {
            Keys::Shares {
                shares,
                threshold,
                secret,
            } => {
                assert_eq!(
                    threshold.k(),
                    stated,
                    "the stated threshold is the real one"
                );
                assert_eq!(shares.len(), threshold.n());
                let again =
                    shamir::combine_checked(shares, threshold.k()).expect("the shares combine");
                assert!(again.ct_eq(secret), "the shares rebuild another key");
            }
            Keys::Single { key } => assert!(!key.is_empty(), "an empty single key"),
        },
        Err(e) => {
            let (secrets, rest) = secret_json_strings(
                json,
                &[
                    "unseal_keys_b64",
                    "unseal_keys_hex",
                    "recovery_keys_b64",
                    "recovery_keys_hex",
                    "keys_base64",
                    "keys",
                    "root_token",
                ],
            );
            assert_hidden("InitOutput::parse", &e, &e.to_string(), &secrets, &rest);
        }
    }
});
