//! `ceremony::sops::config::SopsConfig::parse`: a `.sops.yaml`, then the
//! rule lookup for files inside and outside its directory.
#![no_main]
use std::path::Path;

use ceremony::sops::config::SopsConfig;
use ceremony_fuzz::{assert_no_private_key, is_recipient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("/fuzz/repo/.sops.yaml");
    match SopsConfig::parse(file, data) {
        Ok(config) => {
            if !config.has_rules() {
                assert!(config.rules().is_empty());
            }
            for (i, rule) in config.rules().iter().enumerate() {
                assert_eq!(rule.index, i);
                let _ = rule.describe();
                for r in rule.recipients() {
                    assert!(
                        is_recipient(r.as_str()),
                        "an accepted recipient does not parse"
                    );
                }
            }
            for path in [
                "/fuzz/repo/apps/db/secret.yaml",
                "/fuzz/repo/bootstrap/app.env",
                "/elsewhere/x.json",
                "/fuzz/repo/../repo/a.ini",
            ] {
                match config.rule_for(Path::new(path)) {
                    Ok(Some(rule)) => assert!(rule.index < config.rules().len()),
                    Ok(None) => assert!(!config.has_rules()),
                    Err(e) => assert_no_private_key("rule_for", data, &e),
                }
            }
        }
        Err(e) => assert_no_private_key("SopsConfig::parse", data, &e),
    }
});
