//! The `ceremony` command. Everything it does lives in the library; this file
//! only hands the arguments to [`cli::run`] and turns the outcome into an exit
//! code (`docs/exit-codes.md`).

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
