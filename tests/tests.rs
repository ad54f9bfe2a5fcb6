//! The integration tests: one test binary, one module per area, one shared
//! harness (`util`). They run the real `ceremony` binary and the real tools
//! it must interoperate with (age, ssh-keygen, sops 3.11, minisign, tmux,
//! Python `cryptography`); `tests/run` installs those and runs this suite.

mod util;

mod bootstrap;
mod demo;
mod handover_cli;
mod handover_demo;
mod handover_e2e;
mod handover_signatures;
mod passphrase_tty;
mod root;
mod shamir_interop;
mod sops_interop;
mod sops_vectors;
mod transcript;
mod unseal;
