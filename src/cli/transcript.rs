//! `ceremony transcript …`: check a ceremony transcript (its chain, the
//! head the witnesses wrote down, their sign-offs, the root's signatures),
//! attach a witness's sign-off, seal the head with the root signing key,
//! and render the ceremony record.

use std::path::Path;

use anyhow::Result;
use ceremony::clock::SystemClock;
use ceremony::fsio;
use ceremony::handover::TrustFile;
use ceremony::root::RootDir;
use ceremony::transcript::{self, CheckOptions, ExpectedSigner, witness};
use ceremony::words::Digest;

use super::args::{
    TranscriptCommand, TranscriptHeadArgs, TranscriptReportArgs, TranscriptSignArgs,
    TranscriptSignOffArgs, TranscriptVerifyArgs,
};
use super::output::{self, Listing, note};
use super::{CliError, root};

/// Runs one `transcript` subcommand.
pub fn run(command: TranscriptCommand) -> Result<()> {
    match command {
        TranscriptCommand::Verify(args) => verify(&args),
        TranscriptCommand::Sign(args) => sign(&args),
        TranscriptCommand::Head(args) => head(&args),
        TranscriptCommand::SignOff(args) => sign_off(&args),
        TranscriptCommand::Report(args) => report(&args),
    }
}

fn read(path: &Path) -> Result<String> {
    Ok(transcript::read_text(path)?)
}

/// The transcript, verified: a broken chain is a failed check (exit 4).
fn read_verified(path: &Path) -> Result<transcript::Verified> {
    let text = read(path)?;
    Ok(transcript::verify(&text)
        .map_err(|e| CliError::NotVerified(format!("{}: {e}", path.display())))?)
}

/// The witnesses' TRUSTFILE.
pub fn load_witnesses(path: &Path) -> Result<TrustFile> {
    let bytes = fsio::read(path)?;
    TrustFile::parse(path, &bytes)
        .map_err(|e| anyhow::Error::new(ceremony::handover::Error::from(e)))
}

fn parse_digest(text: &str, flag: &str) -> Result<Digest> {
    Digest::parse(text).map_err(|e| CliError::Usage(format!("{flag}: {e}")).into())
}

/// Prints a head for reading aloud: the hex, then the words, 8 to a line.
pub fn print_head(out: &mut Listing, digest: &Digest) -> Result<(), CliError> {
    out.line(&format!("head {}", digest.to_prefixed_hex()))?;
    for line in digest.word_lines() {
        out.line(&line)?;
    }
    Ok(())
}

fn verify(args: &TranscriptVerifyArgs) -> Result<()> {
    let text = read(&args.file)?;
    let root = args.root.as_deref().map(RootDir::load).transpose()?;
    let expect = args
        .expect_head
        .as_deref()
        .map(|t| parse_digest(t, "--expect-head"))
        .transpose()?;
    let witnesses = args.witnesses.as_deref().map(load_witnesses).transpose()?;
    let keys = root
        .as_ref()
        .map(|r| r.lineage().signing_keys())
        .unwrap_or_default();
    let signer = root.as_ref().map(|r| ExpectedSigner {
        root_id: r.root_id(),
        keys: &keys,
    });
    let options = CheckOptions {
        signer,
        expect_head: expect.as_ref(),
        witnesses: witnesses.as_ref(),
    };
    let (verified, report) = transcript::check_with(&text, &options);
    output::report(&report, "transcript verify", args.json)?;
    if let (Some(v), false) = (&verified, args.json) {
        if let Ok(head) = Digest::parse(&v.head) {
            let mut out = Listing::new();
            print_head(&mut out, &head)?;
            out.finish()?;
        }
    }
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

fn ceremony_head(verified: &transcript::Verified) -> Result<Digest> {
    Digest::parse(&verified.ceremony_head)
        .map_err(|e| CliError::Input(format!("the ceremony head: {e}")).into())
}

fn head(args: &TranscriptHeadArgs) -> Result<()> {
    let verified = read_verified(&args.file)?;
    let digest = ceremony_head(&verified)?;
    match &args.witness {
        Some(name) => {
            if !witness::valid_name(name) {
                return Err(witness::SignOffError::Name(name.clone()).into());
            }
            output::product(&witness::to_sign(&digest, name))?;
            note!(
                "Witness {name}: sign these bytes with `ssh-keygen -Y sign -n {} -f KEY FILE` or `minisign -S -s KEY -m FILE`, then attach the signature with `ceremony transcript sign-off`.",
                witness::NAMESPACE
            );
        }
        None => {
            let mut out = Listing::new();
            print_head(&mut out, &digest)?;
            out.finish()?;
        }
    }
    Ok(())
}

fn sign_off(args: &TranscriptSignOffArgs) -> Result<()> {
    let expected = args
        .head
        .as_deref()
        .map(|given| parse_digest(given, "--head"))
        .transpose()?;
    let trust = args.witnesses.as_deref().map(load_witnesses).transpose()?;
    let signature = fsio::read(&args.signature)?;
    let source_name = args.signature.display().to_string();
    let request = witness::SignOffRequest {
        witness: &args.witness,
        signature_file: &signature,
        source_name: &source_name,
        expected_head: expected.as_ref(),
        trust: trust.as_ref(),
        after: None,
    };
    let attached = witness::attach_sign_off(&args.file, &request, &SystemClock)?;
    if let Some(by) = &attached.verified_by {
        note!("The signature verifies: {by}.");
    }
    note!(
        "Witness {} signed off the head {} of {} (record {}).",
        args.witness,
        attached.head,
        args.file.display(),
        attached.record.seq
    );
    Ok(())
}

fn report(args: &TranscriptReportArgs) -> Result<()> {
    let verified = read_verified(&args.file)?;
    let ceremonies = witness::ceremonies(&verified);
    let trust = args.witnesses.as_deref().map(load_witnesses).transpose()?;
    let checked = trust
        .as_ref()
        .map(|t| witness::check_sign_offs(&verified, &ceremonies, t));
    let text = transcript::report::markdown(
        &verified,
        &ceremonies,
        checked.as_ref(),
        &args.file.display().to_string(),
    );
    output::product(text.as_bytes())?;
    Ok(())
}
