//! The command-line edge: the one home of clap, anyhow, prompts and
//! stdout/stderr. Each command module validates its arguments into a request,
//! calls the library, and prints the outcome.
//!
//! Human-readable progress goes to stderr; stdout carries only the data a
//! command is asked for (a secret, a manifest, a report), so it can be piped.

mod args;
mod bootstrap;
mod demo;
mod exit;
mod handover;
mod io;
mod preflight;
mod prompt;
mod root;
mod transcript;
mod unseal;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Parses the command line, runs it, prints any error chain, and returns the
/// exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let transcript = cli.transcript.clone();
    let (code, outcome) = match run(cli) {
        Ok(()) => (exit::OK, "ok".to_owned()),
        // A closed pipe (`ceremony … | head`) is not a failure of ours.
        Err(err) if is_broken_pipe(&err) => (exit::OK, "ok (output pipe closed)".to_owned()),
        Err(err) => {
            eprintln!("error: {err:#}");
            (exit_code_of(&err), format!("{err:#}"))
        }
    };
    if let Some(path) = transcript {
        // Arguments never carry secrets (they are prompted, read from files
        // or generated), and error messages never quote them.
        let argv: Vec<String> = std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let entry = ceremony::transcript::Entry::Command {
            argv,
            exit_code: code,
            outcome,
        };
        match ceremony::transcript::append(&path, entry) {
            Ok(record) => eprintln!(
                "transcript: record {} appended to {}",
                record.seq,
                path.display()
            ),
            Err(e) => {
                eprintln!("error: transcript {}: {e}", path.display());
                if code == exit::OK {
                    return ExitCode::from(exit::IO);
                }
            }
        }
    }
    ExitCode::from(code)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Root(command) => root::run(command),
        Command::Unseal(command) => unseal::run(command),
        Command::Preflight(args) => preflight::run(&args),
        Command::Transcript(command) => transcript::run(command),
        Command::Demo(args) => demo::run(args),
        Command::Handover(command) => handover::run(command),
        Command::Bootstrap(command) => bootstrap::run(command),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code of the first cause in the chain that has a class.
fn exit_code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ceremony::error::Error>() {
            return exit::for_class(e.class());
        }
        if let Some(e) = cause.downcast_ref::<ceremony::shares::Error>() {
            return exit::for_class(e.class());
        }
        if let Some(e) = cause.downcast_ref::<ceremony::root::Error>() {
            return exit::for_class(e.class());
        }
        if let Some(e) = cause.downcast_ref::<ceremony::handover::Error>() {
            return exit::for_class(e.class());
        }
        if let Some(e) = cause.downcast_ref::<ceremony::fsio::FsError>() {
            return exit::for_class(e.class());
        }
        if cause
            .downcast_ref::<ceremony::identity::IdentityError>()
            .is_some()
        {
            return exit::INPUT;
        }
        if let Some(e) = cause.downcast_ref::<io::CliError>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<ceremony::sops::Error>() {
            return exit::for_class(e.class());
        }
        if let Some(e) = cause.downcast_ref::<bootstrap::BootstrapError>() {
            return e.exit_code();
        }
    }
    exit::INTERNAL
}
