//! `ceremony::sops::parse_plain(_, Format::Yaml)`: the Yaml store's reader.
#![no_main]
use ceremony::sops::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ceremony_fuzz::sops_targets::plain(Format::Yaml, data));
