//! `ceremony transcript …`: check a ceremony transcript, and seal its head
//! with the root signing key rebuilt from a quorum.

use anyhow::Result;
use ceremony::clock::SystemClock;
use ceremony::fsio::{self, Cap};
use ceremony::root::RootDir;
use ceremony::transcript::{self, ExpectedSigner};

use super::args::{TranscriptCommand, TranscriptSignArgs, TranscriptVerifyArgs};
use super::output::{self, note};
use super::{CliError, root};

/// Runs one `transcript` subcommand.
pub fn run(command: TranscriptCommand) -> Result<()> {
    match command {
        TranscriptCommand::Verify(args) => verify(&args),
        TranscriptCommand::Sign(args) => sign(&args),
    }
}

fn read(path: &std::path::Path) -> Result<String> {
    String::from_utf8(fsio::read_input(path, Cap::Transcript)?)
        .map_err(|_| CliError::Input(format!("{}: not UTF-8 text", path.display())).into())
}

fn verify(args: &TranscriptVerifyArgs) -> Result<()> {
    let text = read(&args.file)?;
    let root = args.root.as_deref().map(RootDir::load).transpose()?;
    let keys = root
        .as_ref()
        .map(|r| r.lineage().signing_keys())
        .unwrap_or_default();
    let signer = root.as_ref().map(|r| ExpectedSigner {
        root_id: r.root_id(),
        keys: &keys,
    });
    let (_, report) = transcript::check(&text, signer);
    output::report(&report, "transcript verify", args.json)?;
    if !report.passed() {
        return Err(output::not_verified(&report, &args.file.display().to_string()).into());
    }
    Ok(())
}

fn sign(args: &TranscriptSignArgs) -> Result<()> {
    let text = read(&args.file)?;
    let head = transcript::verify(&text)
        .map_err(|e| CliError::NotVerified(format!("{}: {e}", args.file.display())))?
        .head;
    let (root, seed) = root::rebuild_signing(&args.common)?;
    let entry = transcript::signature_entry(&head, root.root_id(), &seed.signing_key());
    let record = transcript::append_if_head(&args.file, entry, &head, &SystemClock)?;
    note!(
        "Signed the head {head} of {} with the signing key of root {} (record {}).",
        args.file.display(),
        root.root_id(),
        record.seq
    );
    Ok(())
}
