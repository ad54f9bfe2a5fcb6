//! `ceremony transcript …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::EmitCommon;

/// `ceremony transcript …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum TranscriptCommand {
    /// Check the chain of a transcript (and its signatures against root.json).
    Verify(TranscriptVerifyArgs),
    /// Rebuild the root signing key from a quorum and sign the transcript's head.
    Sign(TranscriptSignArgs),
}

// `transcript verify`
#[derive(Args, Debug)]
pub struct TranscriptVerifyArgs {
    /// The transcript file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Require every signature record to be by this root's signing key.
    #[arg(long, value_name = "ROOTDIR")]
    pub root: Option<PathBuf>,
    /// Print the report as JSON (docs/formats/report.md).
    #[arg(long)]
    pub json: bool,
}

// `transcript sign`
#[derive(Args, Debug)]
pub struct TranscriptSignArgs {
    /// The transcript file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub common: EmitCommon,
}
