//! `ceremony::bootstrap::policy::check_bytes`: what `bootstrap verify` says
//! about one file from Git (first byte picks the format), against the test
//! recipient, with and without a creation rule.
#![no_main]
use std::path::Path;
use std::sync::OnceLock;

use ceremony::bootstrap::policy::{RootPolicy, check_bytes};
use ceremony::sops::config::{CreationRule, SopsConfig};
use ceremony::sops::{self, Recipient};
use ceremony_fuzz::sops_targets::FORMATS;
use ceremony_fuzz::{R1, secret_values};
use libfuzzer_sys::fuzz_target;

fn rule() -> &'static CreationRule {
    static RULE: OnceLock<CreationRule> = OnceLock::new();
    RULE.get_or_init(|| {
        let text = format!(
            "creation_rules:\n  - path_regex: '.*'\n    encrypted_regex: '^(data|stringData)$'\n    age: {R1}\n"
        );
        let config = SopsConfig::parse(Path::new("/fuzz/.sops.yaml"), text.as_bytes())
            .expect("the fixed .sops.yaml parses");
        config.rules()[0].clone()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = ceremony_fuzz::select(data, 2 * FORMATS.len()) else {
        return;
    };
    let format = FORMATS[which % FORMATS.len()];
    let policy = RootPolicy {
        root_recipient: Recipient::parse(R1).expect("R1"),
        retiring_recipient: None,
    };
    let with_rule = which >= FORMATS.len();
    let report = check_bytes("bootstrap/x", rest, format, &policy, with_rule.then(rule));
    // A plaintext Secret is flagged, never printed.
    let tree = sops::parse_plain(rest, format)
        .ok()
        .or_else(|| sops::inspect(rest, format).ok().map(|i| i.tree));
    if let Some(tree) = tree {
        let secrets = secret_values(&tree, rest);
        let text = format!("{report:?}");
        secrets.assert_hidden_in("check_bytes", &text);
        if !secrets.values.is_empty() {
            assert!(
                !report.passed(),
                "a cleartext Secret value passed bootstrap verify"
            );
        }
    }
});
