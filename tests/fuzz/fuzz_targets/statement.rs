//! `ceremony::handover::statement::Statement::from_payload`: the in-toto
//! statement a receipt carries, and its receipt predicate
//! (`ReceiptPredicate::from_value`).
#![no_main]
use ceremony::handover::Statement;
use ceremony::handover::receipt::ReceiptPredicate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(statement) = Statement::from_payload(data) else {
        return;
    };
    let payload = statement.to_payload().expect("a parsed statement writes");
    let again = Statement::from_payload(&payload)
        .unwrap_or_else(|e| panic!("a payload to_payload wrote does not read back: {e}"));
    assert_eq!(again, statement);
    assert_eq!(again.to_payload().expect("to_payload"), payload);
    let envelope = statement.to_envelope().expect("to_envelope");
    assert_eq!(
        Statement::from_envelope(&envelope).expect("from_envelope"),
        statement
    );
    if let Ok(predicate) = ReceiptPredicate::from_value(&statement.predicate) {
        let value = serde_json::to_value(&predicate).expect("a predicate serialises");
        let again = ReceiptPredicate::from_value(&value)
            .unwrap_or_else(|e| panic!("a predicate does not read back: {e}"));
        assert_eq!(again, predicate);
        predicate
            .completed_at()
            .expect("a valid predicate has a time");
    }
});
