//! `ceremony::shares::ShareDocument::from_json`: a decrypted share file.
//!
//! Also, for input shaped like a share document whose checksum is wrong
//! (the fuzzer cannot forge SHA-256), the same fields are built into a
//! document through the public API, written with `to_json` and read back:
//! that reaches the round trip for every field value, not only the seeds'.
#![no_main]
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ceremony::secret::SecretBytes;
use ceremony::shares::{SetId, ShamirShare, ShareDocument, Threshold};
use ceremony_fuzz::{assert_hidden, secret_json_strings};
use libfuzzer_sys::fuzz_target;

fn round_trip(doc: &ShareDocument) {
    let json = doc.to_json().expect("to_json");
    let again = ShareDocument::from_json(&json)
        .unwrap_or_else(|e| panic!("a document to_json wrote does not read back: {e}"));
    assert_eq!(
        *again.to_json().expect("to_json"),
        *json,
        "to_json is not stable"
    );
    assert_eq!(again.commitment(), doc.commitment());
}

fuzz_target!(|data: &[u8]| {
    match ShareDocument::from_json(data) {
        Ok(doc) => round_trip(&doc),
        Err(e) => {
            let (secrets, rest) = secret_json_strings(data, &["y", "blinding"]);
            assert_hidden(
                "ShareDocument::from_json",
                &e,
                &e.to_string(),
                &secrets,
                &rest,
            );
            if let Some(doc) = rebuild(data) {
                round_trip(&doc);
            }
        }
    }
});

/// The document the fields describe, when each is valid on its own.
fn rebuild(data: &[u8]) -> Option<ShareDocument> {
    let v: serde_json::Value = serde_json::from_slice(data).ok()?;
    let text = |k: &str| v.get(k)?.as_str().map(str::to_owned);
    let number = |k: &str| v.get(k)?.as_u64().and_then(|n| usize::try_from(n).ok());
    let set_id: SetId = text("set_id")?.parse().ok()?;
    let threshold = Threshold::new(number("threshold")?, number("shares")?).ok()?;
    let x = u8::try_from(number("x")?).ok()?;
    let y = B64.decode(text("y")?).ok()?;
    let blinding = B64.decode(text("blinding")?).ok()?;
    let share = ShamirShare::new(x, SecretBytes::new(y)).ok()?;
    Some(ShareDocument {
        set_id,
        label: text("label")?,
        custodian: text("custodian")?,
        threshold,
        share,
        blinding: SecretBytes::new(blinding),
    })
}
