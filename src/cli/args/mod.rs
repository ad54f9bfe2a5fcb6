//! The command line as typed: clap definitions, raw and unvalidated. Each
//! command module turns these into a checked request before doing anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod bootstrap;
mod handover;
mod root;
mod run;
mod transcript;
mod unseal;

pub use bootstrap::*;
pub use handover::*;
pub use root::*;
pub use run::*;
pub use transcript::*;
pub use unseal::*;

/// Offline key ceremonies for the root of trust of a Kubernetes secret system.
#[derive(Parser, Debug)]
#[command(name = "ceremony", version, about, long_about = None)]
pub struct Cli {
    /// Append this command and its outcome to a hash-chained ceremony transcript.
    #[arg(long, global = true, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
///
/// Every command enum here is `defer = true`: clap builds the flags of a
/// command only when that command is the one run (or its help is asked
/// for), not the flags and help texts of all of them at every start: most
/// of what parsing a one-file command used to cost.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Phase 0: create, inspect and verify the root of trust; Phase 2 emitters.
    #[command(subcommand)]
    Root(RootCommand),
    /// Key ceremonies with custodians' Shamir shares.
    #[command(subcommand)]
    Unseal(UnsealCommand),
    /// Check that this machine is air-gapped and harden this process; print each check.
    Preflight(PreflightRunArgs),
    /// Run a ceremony script step by step with its witnesses, recording each step.
    Run(RunArgs),
    /// Verify a ceremony transcript, its head and sign-offs; seal it; report it.
    #[command(subcommand)]
    Transcript(TranscriptCommand),
    /// Walk through a whole ceremony with throwaway custodians in a temporary directory.
    Demo(DemoArgs),
    /// Bootstrap → runtime handover: challenge, receipt, signatures, verification.
    #[command(subcommand)]
    Handover(HandoverCommand),
    /// Phase 1: seal bootstrap manifests with SOPS to the root, open, verify, update keys, rotate, set a value.
    #[command(subcommand)]
    Bootstrap(BootstrapCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout: `ceremony manpage > ceremony.1`.
    Manpage,
}

// `ceremony preflight`
#[derive(Args, Debug)]
pub struct PreflightRunArgs {
    #[command(flatten)]
    pub preflight: PreflightArgs,
    /// Print the report as JSON (docs/formats/report.md).
    #[arg(long)]
    pub json: bool,
}

// `ceremony completions`
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

// The air-gap gate that runs before a root is made or a secret rebuilt.
#[derive(Args, Debug, Clone, Default)]
pub struct PreflightArgs {
    /// Proceed even though this machine is online (said in the output and recorded in manifests).
    #[arg(long)]
    pub allow_online: bool,
    /// Read /sys and /proc under this directory instead of / (for testing the checks).
    #[arg(long, value_name = "DIR", hide = true)]
    pub system_root: Option<PathBuf>,
}

// Identities that open share files.
#[derive(Args, Debug, Clone, Default)]
pub struct IdentityArgs {
    /// An age identity file (AGE-SECRET-KEY-1… or a plugin's AGE-PLUGIN-… lines)
    /// or OpenSSH ed25519 private key (repeatable). Passphrase shares are
    /// prompted for on the terminal.
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,
}

// `demo`
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Keep the demo's files in this new directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}
