//! `ceremony::script::Script::parse`, `Values`, `Script::plan` and
//! `walk::Answer::parse`: a ceremony script (`ceremonies/*.toml`) and the
//! answers a ceremony reads from a file or stdin.
#![no_main]
use std::path::Path;

use ceremony::script::walk::Answer;
use ceremony::script::{Planned, Script, Values};
use ceremony_fuzz::assert_no_private_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = String::from_utf8_lossy(data).lines().count().max(1);
    match Script::parse(Path::new("s.toml"), data) {
        Ok(script) => {
            assert!(script.step_count() >= 1);
            assert!(script.sign_offs >= 1 && script.sign_offs <= script.witnesses);
            // With the defaults alone (when every parameter has one), every
            // step expands, and no run step runs a script or names a transcript.
            if let Ok(values) = Values::new(&script, &[]) {
                for step in script.plan(&values, "t.jsonl") {
                    if let Planned::Run { argv, .. } = &step.action {
                        let first = argv.first().expect("a command");
                        assert_ne!(first, "run");
                        assert!(!first.starts_with('-'));
                    }
                }
            }
        }
        Err(e) => {
            assert!(e.line >= 1 && e.line <= lines + 1, "line {}", e.line);
            assert_no_private_key("Script::parse", data, &e);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines().take(64) {
            if let Err(e) = Answer::parse(line) {
                assert_no_private_key("Answer::parse", line.as_bytes(), &e);
            }
        }
    }
});
