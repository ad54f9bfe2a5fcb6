//! The command-line edge: the one home of clap, anyhow, prompts and
//! stdout/stderr. Each command module turns its arguments into library
//! calls and renders what comes back; the rules live in the library.
//!
//! Notes and progress go to stderr; stdout carries only what a command is
//! asked for (a secret, a manifest, a report), so it can be piped. How
//! each kind of output fails is in [`output`].

mod args;
mod bootstrap;
mod completions;
mod demo;
mod exit;
mod handover;
mod output;
mod preflight;
mod prompt;
mod root;
mod rotate;
mod run;
mod transcript;
mod unseal;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use output::note;

/// Failures that belong to the command line itself: its arguments, its
/// terminal, its output. Every other failure is a library error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A value clap cannot check.
    #[error("{0}")]
    Usage(String),
    /// An input the command line reads itself (a secret to split, stdin)
    /// that cannot be used.
    #[error("{0}")]
    Input(String),
    /// The operator answered no.
    #[error("cancelled; nothing was written")]
    Cancelled,
    /// A question that needs an answer, and no terminal to ask on.
    #[error("this command asks for confirmation and there is no terminal to ask on")]
    NoConsent,
    /// A secret would have been printed to a terminal.
    #[error("refusing to print a secret to a terminal")]
    SecretToTerminal,
    /// A secret would have gone to `ceremony run`'s own output: the step
    /// that emits it names no `stdout` file.
    #[error(
        "refusing to emit a secret from a ceremony step that names no stdout file: it would go to the run's own output"
    )]
    SecretFromStep,
    /// An argument that looks like a private key.
    #[error("argument {position} looks like a private key; it was not used, printed or recorded")]
    PrivateKeyArgument {
        /// 1-based position after the program name.
        position: usize,
    },
    /// Writing to stdout failed (a full disk, a closed pipe for a product).
    #[error("writing to stdout failed")]
    Output {
        /// The OS error.
        source: std::io::Error,
    },
    /// A check report that did not pass.
    #[error("{0}")]
    NotVerified(String),
}

impl CliError {
    fn class(&self) -> ceremony::class::Class {
        use ceremony::class::Class;
        match self {
            CliError::Usage(_) | CliError::Cancelled | CliError::PrivateKeyArgument { .. } => {
                Class::Usage
            }
            CliError::Input(_) => Class::Input,
            CliError::NoConsent | CliError::SecretToTerminal | CliError::SecretFromStep => {
                Class::Refused
            }
            CliError::Output { .. } => Class::Io,
            CliError::NotVerified(_) => Class::Verification,
        }
    }

    fn hint(&self) -> Option<&'static str> {
        Some(match self {
            CliError::NoConsent => {
                "pass --yes to proceed without a terminal (recorded in the transcript)"
            }
            CliError::SecretToTerminal => {
                "redirect stdout to a file or pipe (for example `> key.txt` on an encrypted disk), or pass --allow-terminal if it may stay on screen"
            }
            CliError::SecretFromStep => {
                "give the step `stdout = \"PATH\"` in the script: the secret is written to that new file, owner-only (docs/formats/script.md)"
            }
            CliError::PrivateKeyArgument { .. } => {
                "give keys in files (-i FILE); treat a key that was typed on a command line as exposed (shell history)"
            }
            _ => return None,
        })
    }
}

/// Parses the command line, runs it, prints any error with its hint, records
/// it in the transcript, and returns the exit code.
pub fn main() -> ExitCode {
    // Before anything else runs: from here on this process cannot open an
    // internet socket. Where the filter cannot be installed, the preflight
    // gate reports it (and refuses unless --allow-online).
    if let Err(e) = ceremony::preflight::forbid_inet_sockets() {
        note!("warning: the no-network filter could not be installed: {e}");
    }
    let argv: Vec<OsString> = std::env::args_os().collect();
    if let Err(err) = configure_plugins() {
        report_error(&err);
        return ExitCode::from(exit::USAGE);
    }
    if let Err(err) = ceremony::x25519::check_environment() {
        report_error(&anyhow::Error::new(err));
        return ExitCode::from(exit::USAGE);
    }
    if let Some(position) = private_key_argument(&argv) {
        let err = anyhow::Error::new(CliError::PrivateKeyArgument { position });
        report_error(&err);
        return ExitCode::from(exit::USAGE);
    }
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            // `--help` and `--version` are the product: if they cannot be
            // written, that is a failure (exit 8), said on stderr like any
            // other. (A usage error that cannot be printed keeps exit 2.)
            if let (Err(source), exit::OK) = (e.print(), code) {
                report_error(&anyhow::Error::new(CliError::Output { source }));
                return ExitCode::from(exit::IO);
            }
            return ExitCode::from(code);
        }
    };
    // `run` records the ceremony itself (its start, every step, its end),
    // so its own invocation gets no command record after the head.
    let transcript = match cli.command {
        Command::Run(_) => None,
        _ => cli.transcript.clone(),
    };
    let made = made_by(&cli.command);
    let (code, outcome) = match run(cli) {
        Ok(()) => (exit::OK, "ok".to_owned()),
        Err(err) => {
            report_error(&err);
            (exit_code_of(&err), message_of(&err))
        }
    };
    let Some(path) = transcript else {
        return ExitCode::from(code);
    };
    // Arguments never carry secrets (they are prompted, read from files or
    // generated; one that looks like a key was refused above), and error
    // messages never quote them.
    let entry = ceremony::transcript::Entry::Command {
        argv: argv
            .iter()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        exit_code: code,
        outcome,
    };
    match ceremony::transcript::append(&path, entry, &ceremony::clock::SystemClock) {
        Ok(record) => {
            note!(
                "transcript: record {} appended to {}",
                record.seq,
                path.display()
            );
            ExitCode::from(code)
        }
        Err(e) if code == exit::OK => {
            // The work is done and stays done: a runbook must not read this
            // as a failure to retry (a second root, a second share set), so
            // it has its own exit code, and the message says what was made.
            let file = output::printable(&path.display().to_string());
            let why = output::printable(&e.to_string());
            // A file system error names the file already; a chain error
            // (a line that does not verify) does not.
            let why = if why.starts_with(&file) {
                why
            } else {
                format!("{file}: {why}")
            };
            note!(
                "error: {}, but it was not recorded in the transcript: {why}",
                made.as_deref().unwrap_or("the command succeeded")
            );
            let first = if made.is_some() {
                "do not run the command again"
            } else {
                "its outcome stands"
            };
            note!(
                "hint: {first}: write it and its outcome in the paper log by hand, then fix {file} (the message says what failed) before the next command"
            );
            ExitCode::from(exit::NOT_RECORDED)
        }
        Err(e) => {
            // The command's own failure stays its exit code.
            note!("error: transcript {}: {e}", path.display());
            ExitCode::from(code)
        }
    }
}

/// What a command leaves behind once it has succeeded, as the message
/// says it when the record of that success cannot be written; `None` for
/// a command whose work is only what it printed or checked.
fn made_by(command: &Command) -> Option<String> {
    use args::{BootstrapCommand, HandoverCommand, RootCommand, TranscriptCommand, UnsealCommand};
    let shown = |path: &std::path::Path| output::printable(&path.display().to_string());
    let all = |paths: &[std::path::PathBuf]| {
        paths
            .iter()
            .map(|p| shown(p))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(match command {
        Command::Root(RootCommand::Init(a)) => format!("the root was written to {}", shown(&a.out)),
        Command::Root(
            RootCommand::Rotate(args::RootRotateArgs { common, .. })
            | RootCommand::Reshare(args::RootReshareArgs { common, .. })
            | RootCommand::Retire(args::RootRetireArgs { common, .. }),
        ) => format!(
            "a new version of the root was written to {}",
            shown(&common.root)
        ),
        Command::Unseal(
            UnsealCommand::Share(args::ShareArgs { out, .. })
            | UnsealCommand::Reshare(args::ReshareArgs { out, .. })
            | UnsealCommand::Wrap(args::WrapArgs { out, .. }),
        ) => format!("the share set was written to {}", shown(out)),
        Command::Bootstrap(BootstrapCommand::Seal(a)) if a.in_place => {
            format!("the files were sealed in place ({})", all(&a.paths))
        }
        Command::Bootstrap(BootstrapCommand::Open(args::BootstrapOpenArgs {
            out_dir: Some(out),
            ..
        })) => format!("the opened files were written to {}", shown(out)),
        Command::Bootstrap(BootstrapCommand::Updatekeys(a)) => {
            format!(
                "the files were moved to their new recipients ({})",
                all(&a.paths)
            )
        }
        Command::Bootstrap(BootstrapCommand::Rotate(a)) => {
            format!("the files were given new data keys ({})", all(&a.paths))
        }
        Command::Handover(HandoverCommand::Challenge(a)) => {
            format!("the challenge was written to {}", shown(&a.out))
        }
        Command::Handover(HandoverCommand::Receipt(a)) => {
            format!("the receipt was written to {}", shown(&a.out))
        }
        Command::Handover(HandoverCommand::AttachSignature(a)) => {
            format!("the signature was added to {}", shown(&a.receipt))
        }
        Command::Transcript(TranscriptCommand::Sign(a)) => {
            format!("the head of {} was signed", shown(&a.file))
        }
        Command::Transcript(TranscriptCommand::SignOff(a)) => {
            format!("the sign-off was attached to {}", shown(&a.file))
        }
        Command::Demo(args::DemoArgs { keep: Some(dir) }) => {
            format!("the demo's files were written to {}", shown(dir))
        }
        _ => return None,
    })
}

/// age plugins (hardware tokens) talk to the terminal, and may be silent
/// for `CEREMONY_PLUGIN_TIMEOUT` seconds (60 by default) while ceremony
/// waits for them.
fn configure_plugins() -> anyhow::Result<()> {
    const VARIABLE: &str = "CEREMONY_PLUGIN_TIMEOUT";
    let max = ceremony::plugin::MAX_TIMEOUT.as_secs();
    let timeout = match std::env::var_os(VARIABLE) {
        None => ceremony::plugin::DEFAULT_TIMEOUT,
        Some(value) => match value.to_str().and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(seconds) if (1..=max).contains(&seconds) => {
                std::time::Duration::from_secs(seconds)
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "{VARIABLE} must be a whole number of seconds from 1 to {max}"
                ))
                .into());
            }
        },
    };
    ceremony::plugin::configure(std::sync::Arc::new(prompt::TerminalCallbacks), timeout);
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Root(command) => root::run(command),
        Command::Unseal(command) => unseal::run(command),
        Command::Preflight(args) => preflight::run(&args),
        Command::Transcript(command) => transcript::run(command),
        Command::Run(args) => run::run(&args, cli.transcript.as_deref()),
        Command::Demo(args) => demo::run(args),
        Command::Handover(command) => handover::run(command),
        Command::Bootstrap(command) => bootstrap::run(command),
        Command::Completions(args) => completions::completions(&args),
        Command::Manpage => completions::manpage(),
    }
}

/// The first argument that looks like private key material.
fn private_key_argument(argv: &[OsString]) -> Option<usize> {
    argv.iter()
        .skip(1)
        .position(|a| ceremony::sops::recipient::looks_private(&a.to_string_lossy()))
        .map(|i| i + 1)
}

/// The class and hint of the first cause in the chain that has one.
fn classify(err: &anyhow::Error) -> Option<(ceremony::class::Class, Option<&'static str>)> {
    err.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return Some((e.class(), e.hint()));
        }
        ceremony::error::classify(cause)
    })
}

fn exit_code_of(err: &anyhow::Error) -> u8 {
    classify(err).map_or(exit::INTERNAL, |(class, _)| exit::for_class(class))
}

/// The error chain as one line, each cause once.
fn message_of(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !text.is_empty() {
            parts.push(text);
        }
    }
    output::printable(&parts.join(": "))
}

fn report_error(err: &anyhow::Error) {
    note!("error: {}", message_of(err));
    let hint = err
        .chain()
        .filter_map(|cause| {
            cause
                .downcast_ref::<CliError>()
                .and_then(CliError::hint)
                .or_else(|| ceremony::error::classify(cause).and_then(|(_, hint)| hint))
        })
        .next();
    if let Some(hint) = hint {
        note!("hint: {hint}");
    }
}
