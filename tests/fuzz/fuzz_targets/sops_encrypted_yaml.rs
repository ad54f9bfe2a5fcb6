//! `ceremony::sops::inspect` and `ceremony::sops::decrypt` (with the SOPS
//! test identities) of an encrypted Yaml file.
#![no_main]
use ceremony::sops::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ceremony_fuzz::sops_targets::encrypted(Format::Yaml, data));
