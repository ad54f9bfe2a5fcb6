//! `ceremony::shares::Custodians::parse`: the custodians TOML file.
#![no_main]
use std::collections::BTreeSet;

use ceremony::shares::Custodians;
use ceremony_fuzz::assert_no_private_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Custodians::parse(text) {
        Ok(custodians) => {
            assert!(!custodians.is_empty());
            let mut names = BTreeSet::new();
            for c in custodians.iter() {
                assert!(
                    names.insert(c.name.as_str().to_ascii_lowercase()),
                    "a name twice"
                );
                assert!(c.line >= 1 && c.line <= text.lines().count().max(1));
                let described = c.key.describe();
                assert_eq!(described.kind(), c.key.kind());
                // As manifests record it: the description reads back equal.
                let json = serde_json::to_string(&described).expect("a description serializes");
                let again: ceremony::shares::custodians::RecipientDescription =
                    serde_json::from_str(&json).expect("a recorded description reads back");
                assert_eq!(again, described);
            }
            for secret in ["bootstrap", "unseal", "signing"] {
                if let Some(k) = custodians.threshold_for(secret) {
                    assert!(k >= 2 && k <= custodians.len());
                }
            }
        }
        Err(e) => {
            assert!(
                e.line >= 1 && e.line <= text.lines().count() + 1,
                "line {}",
                e.line
            );
            assert_no_private_key("Custodians::parse", data, &e);
        }
    }
});
