//! `ceremony transcript …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::EmitCommon;

/// `ceremony transcript …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum TranscriptCommand {
    /// Check the chain of a transcript, its head, its sign-offs and its root signatures.
    Verify(TranscriptVerifyArgs),
    /// Rebuild the root signing key from a quorum and sign the transcript's head.
    Sign(TranscriptSignArgs),
    /// Print the ceremony head (hex and words), or the statement a witness signs.
    Head(TranscriptHeadArgs),
    /// Attach a witness's signature over the ceremony head (ssh-keygen -Y sign, or minisign).
    SignOff(TranscriptSignOffArgs),
    /// Print the transcript as a Markdown ceremony record for the audit file.
    Report(TranscriptReportArgs),
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
    /// The head as the witnesses wrote it down (its 32 words, or the hex): nothing may have been cut off or added after it.
    #[arg(long, value_name = "WORDS|SHA256")]
    pub expect_head: Option<String>,
    /// The witnesses' keys (a TRUSTFILE): every sign-off must verify, and every ceremony have its sign-offs.
    #[arg(long, value_name = "TRUSTFILE")]
    pub witnesses: Option<PathBuf>,
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

// `transcript head`
#[derive(Args, Debug)]
pub struct TranscriptHeadArgs {
    /// The transcript file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print the exact bytes this witness signs instead (redirect them to a file).
    #[arg(long, value_name = "NAME")]
    pub witness: Option<String>,
}

// `transcript sign-off`
#[derive(Args, Debug)]
pub struct TranscriptSignOffArgs {
    /// The transcript file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The witness whose signature it is (the name their statement gives).
    #[arg(long, value_name = "NAME")]
    pub witness: String,
    /// The signature file (`ssh-keygen -Y sign` writes FILE.sig; minisign writes FILE.minisig).
    #[arg(long, value_name = "FILE")]
    pub signature: PathBuf,
    /// The head the witness read and signed (words or hex): refused if it is not the ceremony head.
    #[arg(long, value_name = "WORDS|SHA256")]
    pub head: Option<String>,
    /// Check the signature against the witnesses' TRUSTFILE before attaching it.
    #[arg(long, value_name = "TRUSTFILE")]
    pub witnesses: Option<PathBuf>,
}

// `transcript report`
#[derive(Args, Debug)]
pub struct TranscriptReportArgs {
    /// The transcript file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The witnesses' TRUSTFILE: each sign-off says whether it verifies.
    #[arg(long, value_name = "TRUSTFILE")]
    pub witnesses: Option<PathBuf>,
}
