//! `ceremony::shares::vault::InitShares::parse`: the JSON of `vault|bao
//! operator init` (first byte: the threshold the operator states).
#![no_main]
use ceremony::shares::shamir;
use ceremony::shares::vault::InitShares;
use ceremony_fuzz::{assert_hidden, secret_json_strings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&stated, json)) = data.split_first() else {
        return;
    };
    let stated = usize::from(stated % 16);
    match InitShares::parse("init.json", json, stated) {
        Ok(init) => {
            let t = init.threshold();
            assert_eq!(t.k(), stated);
            assert_eq!(init.shares().len(), t.n());
            let again = shamir::combine_checked(init.shares(), t.k()).expect("the shares combine");
            assert!(again.ct_eq(init.secret()), "the shares rebuild another key");
        }
        Err(e) => {
            let (secrets, rest) =
                secret_json_strings(json, &["unseal_keys_b64", "unseal_keys_hex", "root_token"]);
            assert_hidden("InitShares::parse", &e, &e.to_string(), &secrets, &rest);
        }
    }
});
