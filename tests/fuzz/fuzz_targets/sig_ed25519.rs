//! `ceremony::handover::sign::attach_signature(_, Scheme::Ed25519, _)` of a
//! ed25519 signature file to the fixed receipt envelope, then
//! `ceremony::handover::verify::verify` against the fixed TRUSTFILE.
#![no_main]
use ceremony::handover::Scheme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ceremony_fuzz::sig_targets::attach_and_verify(Scheme::Ed25519, data));
