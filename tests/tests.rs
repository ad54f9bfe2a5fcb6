//! The integration tests, compiled as one test binary (`autotests = false`
//! and one `[[test]]` in Cargo.toml): one module per area, all sharing one
//! harness, [`util`]. They run the real `ceremony` binary and the real tools
//! it must interoperate with (age, ssh-keygen, sops 3.11, minisign, tmux,
//! Python `cryptography`, and the test age plugin built from tests/plugin/); `tests/run` installs those, then runs
//! `cargo test --locked`.
//!
//! To add tests, add a `#[test]` to the module of its area, or a new file
//! here declared below; set-up that a second module needs belongs in
//! `util`. `tests/run --test tests root::` (or `cargo test --test tests
//! root::`) runs one module.

mod util;

mod bootstrap;
mod ceremony_run;
mod cli_cases;
mod dayn_bootstrap;
mod dayn_leak;
mod dayn_openbao;
mod demo;
mod faults;
mod formats;
mod fuzz_regressions;
mod handover_cli;
mod handover_demo;
mod handover_e2e;
mod handover_signatures;
mod hardening;
mod lineage;
mod openbao;
mod openbao_kv;
mod openbao_transit;
mod passphrase_tty;
mod plugins;
mod redteam_lineage;
mod root;
mod shamir_interop;
mod sops_corpus;
mod sops_interop;
mod sops_vectors;
mod transcript;
mod unseal;
