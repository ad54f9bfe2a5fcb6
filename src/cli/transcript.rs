//! `ceremony transcript …`: check a ceremony transcript, and seal its head
//! with the root signing key rebuilt from a quorum.

use anyhow::Result;
use ceremony::root::{self, RootSecret};
use ceremony::transcript::{self, Entry};

use super::args::{TranscriptCommand, TranscriptSignArgs, TranscriptVerifyArgs};
use super::io::{self, CliError};

/// Runs one `transcript` subcommand.
pub fn run(command: TranscriptCommand) -> Result<()> {
    match command {
        TranscriptCommand::Verify(args) => verify(&args),
        TranscriptCommand::Sign(args) => sign(&args),
    }
}

fn read(path: &std::path::Path) -> Result<String> {
    String::from_utf8(io::read_file(path)?)
        .map_err(|_| CliError::Input(format!("{}: not UTF-8 text", path.display())).into())
}

fn verify(args: &TranscriptVerifyArgs) -> Result<()> {
    let text = read(&args.file)?;
    let verified = transcript::verify(&text)
        .map_err(|e| CliError::Verification(format!("{}: {e}", args.file.display())))?;
    let expected_key = match &args.root {
        Some(dir) => Some(super::root::load_manifest(dir)?),
        None => None,
    };
    let mut signatures = 0;
    let mut unsigned_after = 0;
    for record in &verified.records {
        match &record.entry {
            Entry::Command {
                argv, exit_code, ..
            } => {
                unsigned_after += 1;
                // Arguments come from the file: escape control characters.
                let argv: Vec<String> = argv.iter().map(|a| a.escape_debug().to_string()).collect();
                println!(
                    "{:>4} {} exit {exit_code:<3} ceremony {}",
                    record.seq,
                    record.time,
                    argv.join(" ")
                );
            }
            Entry::Signature {
                root_id,
                public_key,
                ..
            } => {
                if let Some(manifest) = &expected_key {
                    if *public_key != manifest.body.signing_public_key
                        || *root_id != manifest.body.root_id
                    {
                        return Err(CliError::Verification(format!(
                            "{}: record {} is signed by a key that is not the signing key of root {}",
                            args.file.display(),
                            record.seq,
                            manifest.body.root_id
                        ))
                        .into());
                    }
                }
                signatures += 1;
                unsigned_after = 0;
                if expected_key.is_some() {
                    println!(
                        "{:>4} {} ✓ signed by the signing key of root {root_id}",
                        record.seq, record.time
                    );
                } else {
                    println!(
                        "{:>4} {} signed by key {} (claims root {}; pass --root to check it is the root's)",
                        record.seq,
                        record.time,
                        fingerprint(public_key),
                        root_id.escape_debug()
                    );
                }
            }
        }
    }
    println!(
        "✓ {} record(s), chain intact, {signatures} signature(s); head {}",
        verified.records.len(),
        verified.head
    );
    if unsigned_after > 0 && signatures > 0 {
        println!("! {unsigned_after} record(s) after the last signature are not covered by it");
        if args.root.is_some() {
            return Err(CliError::Verification(format!(
                "{}: {unsigned_after} record(s) after the last signature: sign the transcript again",
                args.file.display()
            ))
            .into());
        }
    }
    if args.root.is_some() && signatures == 0 {
        return Err(CliError::Verification(format!(
            "{}: no record is signed by the root signing key",
            args.file.display()
        ))
        .into());
    }
    Ok(())
}

/// SHA-256 fingerprint of a base64 ed25519 public key, as `root show` prints.
fn fingerprint(public_key: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(public_key)
        .unwrap_or_default();
    let digest = sha2::Sha256::digest(raw);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD
            .encode(digest)
            .trim_end_matches('=')
    )
}

fn sign(args: &TranscriptSignArgs) -> Result<()> {
    let text = read(&args.file)?;
    let head = transcript::verify(&text)
        .map_err(|e| CliError::Verification(format!("{}: {e}", args.file.display())))?
        .head;
    let (manifest, seed) = super::root::rebuild_quiet(&args.common, RootSecret::Signing)?;
    let key = root::secrets::signing_key(&seed).map_err(CliError::Input)?;
    let entry = transcript::signature_entry(&head, &manifest.body.root_id, &key);
    let record = transcript::append_if_head(&args.file, entry, &head)
        .map_err(|e| CliError::Verification(format!("{}: {e}", args.file.display())))?;
    eprintln!(
        "Signed the head {head} of {} with the signing key of root {} (record {}).",
        args.file.display(),
        manifest.body.root_id,
        record.seq
    );
    Ok(())
}
