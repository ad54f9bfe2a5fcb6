//! `ceremony::shares::ShareSet::from_json`: `shareset.json`.
#![no_main]
use ceremony::shares::ShareSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = ShareSet::from_json(data) {
        set.validate().expect("a parsed share set validates");
        let json = set.to_json();
        let again = ShareSet::from_json(&json)
            .unwrap_or_else(|e| panic!("a share set to_json wrote does not read back: {e}"));
        assert_eq!(again, set);
        assert_eq!(again.to_json(), json, "to_json is not stable");
        for c in &set.custodians {
            assert!(set.custodian(&c.name).is_some());
        }
    }
});
