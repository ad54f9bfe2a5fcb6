//! `ceremony demo` ends with a handover: a challenge, a signed receipt and
//! its deep verification. The files it leaves behind verify with the real
//! `handover verify` command.

use crate::util::Scratch;

#[test]
fn demo_ends_with_a_verified_handover() {
    let s = Scratch::new();
    let out = s
        .ceremony(&["demo", "--keep", "demo"])
        .success()
        .stdout_text();
    for expected in [
        "operator: a handover challenge, offline (handover challenge)",
        "runtime side: import, retire the bootstrap copies, sign a receipt",
        "✓ signature",
        "✓ commitment apps/db/password",
        "✓ retired flux-system/flux-git-auth",
        "✓ handover verified",
        "Demo complete.",
    ] {
        assert!(
            out.contains(expected),
            "demo output lacks {expected:?}:\n{out}"
        );
    }
    // The only ✗ lines are the deliberately unsealed Secret that bootstrap
    // verify catches before the handover; the handover itself is all ✓.
    let handover = &out[out.find("handover challenge, offline").unwrap()..];
    assert!(!handover.contains('✗'), "{handover}");
    let run = s
        .ceremony(&[
            "handover",
            "verify",
            "--challenge",
            "demo/challenge.json",
            "--receipt",
            "demo/receipt.json",
            "--trust",
            "demo/trust.txt",
            "--bootstrap",
            "demo/bootstrap",
        ])
        .success();
    assert!(
        run.stdout_text().contains("✓ subject db-secret.yaml"),
        "{}",
        run.stdout_text()
    );
}
