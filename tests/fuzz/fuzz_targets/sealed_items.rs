//! `ceremony::handover::challenge::sealed_items`: the items a handover
//! challenge lists for one sealed file, read without a key.
#![no_main]
use ceremony::handover::challenge::sealed_items;
use ceremony::sops::{self, Format};
use ceremony_fuzz::{R1, secret_values};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match sealed_items("bootstrap/x.yaml", data, "root-1", R1) {
        Ok(items) => {
            assert!(!items.is_empty());
            let inspected = sops::inspect(data, Format::Yaml).expect("a listed file inspects");
            assert!(inspected.age_recipients.iter().flatten().any(|r| r == R1));
            for item in &items {
                let id = item.id();
                assert_eq!(id.matches('/').count(), 2, "item id {id:?}");
            }
        }
        Err(e) => {
            if let Ok(i) = sops::inspect(data, Format::Yaml) {
                secret_values(&i.tree, data)
                    .assert_hidden_in("sealed_items", &format!("{e} {e:?}"));
            }
        }
    }
});
