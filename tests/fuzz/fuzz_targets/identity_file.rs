//! `ceremony::identity::parse_identity_file`: an age identity file or an
//! OpenSSH private key (no passphrase callbacks: a protected key must not
//! be asked for one while parsing).
#![no_main]
use ceremony::identity::parse_identity_file;
use ceremony_fuzz::assert_no_private_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    |data: &[u8]| match parse_identity_file("identity.txt", data, age::NoCallbacks) {
        Ok(ids) => {
            assert!(!ids.is_empty());
            let lines = String::from_utf8_lossy(data).lines().count().max(1);
            assert!(ids.len() <= lines);
        }
        // Messages name the file and a line number, never the line.
        Err(e) => assert_no_private_key("parse_identity_file", data, &e),
    }
);
