//! `ceremony::handover::dsse::Envelope::from_json`: a receipt envelope, then
//! `verify` against the fixed TRUSTFILE and the statement it carries.
#![no_main]
use ceremony::handover::{Envelope, Statement, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::from_json(data) else {
        return;
    };
    let json = envelope.to_json().expect("to_json");
    let again = Envelope::from_json(json.as_bytes())
        .unwrap_or_else(|e| panic!("an envelope to_json wrote does not read back: {e}"));
    assert_eq!(again, envelope);
    assert_eq!(
        again.to_json().expect("to_json"),
        json,
        "to_json is not stable"
    );
    let result = verify(&envelope, ceremony_fuzz::trust());
    assert_eq!(verify(&again, ceremony_fuzz::trust()), result);
    if let Ok(by) = &result {
        assert!(by.signature_index < envelope.signatures.len());
        ceremony_fuzz::sig_targets::tampered_payload_fails(&envelope);
    }
    let _ = Statement::from_envelope(&envelope);
});
