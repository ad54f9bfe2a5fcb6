//! The demo is the README's first command: it must run end to end.

use crate::util::Scratch;

#[test]
fn demo_walks_the_whole_ceremony() {
    let s = Scratch::new();
    let run = s.ceremony(&["demo", "--keep", "demo-files"]).success();
    let out = run.stdout_text();
    for expected in [
        "== Step 3: create the root of trust",
        "✓ signature",
        "✓ the rebuilt identity's recipient equals root.json's: true",
        "age.agekey: <base64, elided>",
        "unseal.key: <base64, elided>",
        "✓ rebuilt 32 bytes; equal to the generated key: true",
        "✓ refused: 1 valid share(s)",
        "same key check value: true",
        "✓ the new custodians rebuild the same key: true",
        "Demo complete.",
    ] {
        assert!(
            out.contains(expected),
            "demo output lacks {expected:?}:\n{out}"
        );
    }
    assert!(
        run.stderr_text().contains("--allow-online"),
        "the override is said out loud"
    );
    // What it left behind is a real root that the real command verifies.
    s.ceremony(&["root", "verify", "demo-files/root"]).success();
}
