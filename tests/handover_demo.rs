//! `ceremony demo` ends with a handover: a challenge, a signed receipt and
//! its deep verification. The files it leaves behind verify with the real
//! `handover verify` command.

mod common;

use common::Scratch;

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
        "✓ retired openbao/openbao-admin",
        "✓ handover verified",
        "Demo complete.",
    ] {
        assert!(
            out.contains(expected),
            "demo output lacks {expected:?}:\n{out}"
        );
    }
    assert!(!out.contains('✗'), "{out}");
    // Throwaway values are still not printed.
    for value in ["throwaway-demo-password", "ZGVtby1vbmx5", "demo-only"] {
        assert!(!out.contains(value), "{value} printed");
    }
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
        run.stdout_text().contains("✓ subject apps.yaml"),
        "{}",
        run.stdout_text()
    );
}
