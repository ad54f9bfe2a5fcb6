//! `ceremony run`.

use std::path::PathBuf;

use clap::Args;

use super::PreflightArgs;

// `ceremony run`
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The ceremony script (ceremonies/*.toml; format in docs/formats/script.md).
    #[arg(value_name = "SCRIPT")]
    pub script: PathBuf,
    /// The operator: runs the workstation and gives the reason for any exception.
    #[arg(long, value_name = "NAME", required_unless_present = "plan")]
    pub operator: Option<String>,
    /// A witness present (repeatable).
    #[arg(long = "witness", value_name = "NAME")]
    pub witnesses: Vec<String>,
    /// A custodian present (repeatable).
    #[arg(long = "custodian", value_name = "NAME")]
    pub custodians: Vec<String>,
    /// A value for a script parameter (repeat for a list parameter).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Read confirmations and decisions from FILE (`-`: stdin), one per line, instead of asking on the terminal.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// The witnesses' TRUSTFILE: once the ceremony ends, collect their sign-offs (on the terminal, or from the answers), each checked against it before it is attached.
    #[arg(long = "witnesses", value_name = "TRUSTFILE")]
    pub trust: Option<PathBuf>,
    /// Print every step as it would run, and run nothing.
    #[arg(long)]
    pub plan: bool,
    /// Passed on to every step that checks the air gap.
    #[command(flatten)]
    pub preflight: PreflightArgs,
}
