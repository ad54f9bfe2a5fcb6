//! `ceremony::sops::Recipient::parse_list`: `--age` recipients and the
//! `age:` field of `.sops.yaml`.
#![no_main]
use ceremony::sops::recipient::{Recipient, RecipientError, looks_private};
use ceremony_fuzz::assert_no_private_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Recipient::parse_list(text) {
        Ok(list) => {
            assert!(!looks_private(text) || list.is_empty());
            for (i, r) in list.iter().enumerate() {
                assert_eq!(
                    Recipient::parse(r.as_str()).as_ref(),
                    Ok(r),
                    "does not read back"
                );
                assert!(!list[..i].contains(r), "a duplicate was kept");
                assert_eq!(r.as_str(), r.as_str().trim());
            }
        }
        Err(e) => {
            assert_no_private_key("Recipient::parse_list", data, &e);
            match &e {
                RecipientError::PrivateKey => assert!(looks_private(text)),
                RecipientError::NotARecipient { shown } => {
                    assert!(shown.chars().count() <= 100);
                    assert!(!looks_private(shown));
                }
                _ => {}
            }
        }
    }
});
