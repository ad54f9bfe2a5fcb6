//! The signature targets: a signature file of one scheme attached to the
//! fixed receipt envelope and verified against the fixed TRUSTFILE.

use ceremony::handover::sign::AttachError;
use ceremony::handover::{Envelope, Scheme, attach_signature, verify};

use crate::{envelope, trust};

/// Holds: an attached signature is stored in its canonical form, so
/// attaching what was stored again is a duplicate; the envelope writes and
/// reads back to one that verifies the same; a signature that verifies
/// names its scheme and stops verifying when one payload byte changes.
pub fn attach_and_verify(scheme: Scheme, data: &[u8]) {
    let mut env = envelope();
    match attach_signature(&mut env, scheme, data) {
        Ok(()) => {}
        Err(AttachError::Malformed { .. }) => return,
        Err(e) => panic!("attaching to an unsigned envelope: {e}"),
    }
    assert_eq!(env.signatures.len(), 1);
    let stored = env.signatures[0].sig.clone();
    match attach_signature(&mut env.clone(), scheme, &stored) {
        Err(AttachError::Duplicate { index: 0 }) => {}
        other => panic!("the stored form is not canonical: attaching it again gave {other:?}"),
    }
    let result = verify(&env, trust());
    let json = env.to_json().expect("to_json");
    let again = Envelope::from_json(json.as_bytes()).unwrap_or_else(|e| {
        panic!("an envelope with an attached signature does not read back: {e}")
    });
    assert_eq!(again, env);
    assert_eq!(verify(&again, trust()), result);
    if let Ok(by) = result {
        assert_eq!(by.scheme, scheme);
        assert_eq!(by.signature_index, 0);
        tampered_payload_fails(&env);
    }
}

/// Panics when an envelope that verifies still verifies with any one
/// payload byte or its payload type changed.
pub fn tampered_payload_fails(env: &Envelope) {
    let positions = [
        0,
        env.payload.len() / 2,
        env.payload.len().saturating_sub(1),
    ];
    for at in positions {
        let mut bad = env.clone();
        if let Some(b) = bad.payload.get_mut(at) {
            *b ^= 0x01;
            assert!(
                verify(&bad, trust()).is_err(),
                "verifies with payload byte {at} changed"
            );
        }
    }
    let mut bad = env.clone();
    bad.payload_type.push(' ');
    assert!(
        verify(&bad, trust()).is_err(),
        "verifies with another payloadType"
    );
}
