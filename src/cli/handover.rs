//! `ceremony handover …`: the bootstrap → runtime handover (seed §7.3, §7.9).
//!
//! `challenge` and `verify` run on the air-gapped workstation; `receipt` and
//! `attach-signature` are for the runtime side (or for tests and simple
//! jobs). The protocol and formats are in `docs/handover.md`; this module
//! only reads arguments, calls [`ceremony::handover`], and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ceremony::clock::{Clock, SystemClock};
use ceremony::fsio::{self, Cap};
use ceremony::handover::challenge::{self, Challenge, ChallengePlan};
use ceremony::handover::items::{ItemRef, SecretName};
use ceremony::handover::receipt::{self, ReceiptPlan, Values};
use ceremony::handover::report::{self, VerifyRequest};
use ceremony::handover::{self as ho, Envelope, Scheme, TrustFile, sealed, sign};
use ceremony::report::Status;
use ceremony::root::{BootstrapKey, RootDir};
use ceremony::secret::SecretBytes;

use super::args::{
    HandoverAttachArgs, HandoverChallengeArgs, HandoverCommand, HandoverFromTransitArgs,
    HandoverReceiptArgs, HandoverTrustCommand, HandoverVerifyArgs,
};
use super::output::{self, note, printable};
use super::{CliError, preflight, root};

/// Runs one `handover` subcommand.
pub fn run(command: HandoverCommand) -> Result<()> {
    match command {
        HandoverCommand::Challenge(args) => challenge(&args),
        HandoverCommand::Receipt(args) => receipt(&args),
        HandoverCommand::AttachSignature(args) => attach(&args),
        HandoverCommand::Verify(args) => verify(&args),
        HandoverCommand::Trust(HandoverTrustCommand::FromTransit(args)) => from_transit(&args),
    }
}

fn lib(e: impl Into<ho::Error>) -> anyhow::Error {
    anyhow::Error::new(e.into())
}

fn load_challenge(path: &Path) -> Result<Challenge> {
    let bytes = fsio::read(path)?;
    Challenge::from_json(&bytes)
        .map_err(lib)
        .with_context(|| format!("reading the challenge {}", path.display()))
}

fn challenge(args: &HandoverChallengeArgs) -> Result<()> {
    let validity = challenge::parse_duration(&args.expires)
        .map_err(|e| CliError::Usage(format!("--expires: {e}")))?;
    // --item: parsed before anything is read, so a typo is a usage error;
    // items not in the directory are named all at once, later.
    let only = args
        .items
        .iter()
        .map(|s| ItemRef::parse(s).map_err(|e| CliError::Usage(format!("--item: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let root = RootDir::load(&args.root)?;
    let dir = sealed::read_dir(&args.bootstrap)?;
    for s in &dir.skipped {
        note!(
            "  - {}: skipped ({})",
            printable(&s.path.display().to_string()),
            printable(&s.reason)
        );
    }
    // A handover never vouches for a file `bootstrap verify` would reject.
    sealed::check_policy(&args.bootstrap, &dir, &root)?;
    let body = &root.manifest().body;
    let plan = ChallengePlan {
        root_id: &body.root_id,
        bootstrap_recipient: &body.bootstrap_recipient,
        authority: &args.authority,
        now: SystemClock.now(),
        validity,
    };
    let mut challenge = Challenge::create(&plan, &dir.files).map_err(lib)?;
    let all_items = challenge.items().count();
    if !only.is_empty() {
        challenge = challenge.only(&only).map_err(lib)?;
    }
    let json = challenge.to_json().map_err(lib)?;
    // Owner-only: the nonce is not secret, but with a receipt it lets
    // guesses of low-entropy values be tested (docs/handover.md §4).
    output::leftovers(&fsio::write_new(&args.out, &json, fsio::SECRET_MODE)?.leftovers);
    note!(
        "Challenge {} for {} (root {}), valid until {}:",
        challenge.challenge_id,
        challenge.authority,
        challenge.root_id,
        challenge.expires_at
    );
    for file in &challenge.files {
        note!("  {}  sha256 {}", file.path, file.sha256);
        for item in &file.items {
            note!("    {} ({})", item.id, item.field.as_str());
        }
    }
    if !only.is_empty() {
        note!(
            "  (only the {} item(s) asked for with --item, of {all_items} in {})",
            challenge.items().count(),
            printable(&args.bootstrap.display().to_string())
        );
    }
    note!("Written to {}", args.out.display());
    Ok(())
}

fn receipt(args: &HandoverReceiptArgs) -> Result<()> {
    if args.kv_mount.is_some() && args.kv.is_none() {
        return Err(CliError::Usage("--kv-mount applies to --kv DIR only".into()).into());
    }
    let challenge = load_challenge(&args.challenge)?;
    let nonce = challenge.nonce_bytes().map_err(lib)?;
    let not_retired = args
        .not_retired
        .iter()
        .map(|s| SecretName::parse(s).map_err(|e| CliError::Usage(format!("--not-retired: {e}"))))
        .collect::<Result<std::collections::BTreeSet<_>, _>>()?
        .into_iter()
        .collect::<Vec<_>>();

    // With --unsigned two files are written; refuse before writing either if
    // one is in the way (fsio still refuses at write time: a race).
    let pae_path = {
        let mut path = args.out.clone().into_os_string();
        path.push(".pae");
        PathBuf::from(path)
    };
    for path in std::iter::once(&args.out).chain(args.unsigned.then_some(&pae_path)) {
        if path.symlink_metadata().is_ok() {
            return Err(fsio::FsError::Exists { path: path.clone() }.into());
        }
    }
    // Read the signing key before any value, so a wrong key path fails early.
    let key = match &args.key {
        Some(path) => {
            let bytes = SecretBytes::new(fsio::read(path)?);
            Some(
                sign::Ed25519SigningKey::from_openssh(&bytes)
                    .map_err(lib)
                    .with_context(|| format!("reading the signing key {}", path.display()))?,
            )
        }
        None => None,
    };
    // Files the walk passes over are named, never ignored silently.
    let skipped = |skipped: &[ceremony::walk::Skipped]| {
        for s in skipped {
            note!(
                "  - {}: skipped ({})",
                printable(&s.path.display().to_string()),
                printable(&s.reason)
            );
        }
    };
    let values = match (&args.values, &args.kv) {
        (Some(dir), _) => {
            let (files, passed) = sealed::read_values(dir)?;
            skipped(&passed);
            Values::from_manifests(&nonce, &files).map_err(lib)?
        }
        (None, Some(dir)) => {
            let exports = ho::kv::read_dir(dir)?;
            skipped(&exports.skipped);
            let mount = args.kv_mount.as_deref().unwrap_or(ho::kv::DEFAULT_MOUNT);
            Values::from_kv(&nonce, mount, &exports.files)
                .map_err(lib)
                .with_context(|| format!("reading the KV exports in {}", dir.display()))?
        }
        (None, None) => {
            return Err(CliError::Usage("give --values DIR or --kv DIR".into()).into());
        }
    };
    for id in values.unasked(&challenge) {
        note!(
            "  - {}: in the values but not in the challenge; not acknowledged",
            printable(id)
        );
    }
    let plan = ReceiptPlan {
        authority: args.authority.clone(),
        path_template: args.path_template.clone(),
        version: args.item_version,
        not_retired,
        completed_at: SystemClock.now(),
    };
    let statement = receipt::build_statement(&challenge, &values, &plan).map_err(lib)?;
    let mut envelope = statement.to_envelope().map_err(lib)?;
    if let Some(key) = &key {
        sign::sign_ed25519(&mut envelope, key).map_err(lib)?;
    }
    let json = envelope.to_json().map_err(lib)?;
    match &key {
        Some(_) => output::leftovers(
            &fsio::write_new(&args.out, json.as_bytes(), fsio::PUBLIC_MODE)?.leftovers,
        ),
        None => write_unsigned(&args.out, json.as_bytes(), &pae_path, &envelope.pae())?,
    }
    note!(
        "Receipt for challenge {}: {} item(s), {} Secret(s) retired",
        challenge.challenge_id,
        challenge.items().count(),
        challenge
            .secrets()
            .iter()
            .filter(|s| !plan.not_retired.contains(s))
            .count()
    );
    match &key {
        Some(key) => note!(
            "  signed (ed25519) by {}; trust it with: {}",
            key.fingerprint(),
            key.ed25519_trust_line(&args.authority, "")
        ),
        None => {
            note!(
                "  unsigned; sign the exact bytes in {} and add the signature with `ceremony handover attach-signature`",
                pae_path.display()
            );
        }
    }
    note!("Written to {}", args.out.display());
    Ok(())
}

/// Writes an unsigned receipt and the exact bytes to sign (`.pae`) together
/// or, when either write fails, neither: the `.pae` is written first (it is
/// only derived from the receipt), and removed again if the receipt cannot
/// be written, so that a rerun after freeing space is not refused. (A kill
/// between the two writes leaves the `.pae` alone: the rerun names it.)
fn write_unsigned(receipt: &Path, json: &[u8], pae_path: &Path, pae: &[u8]) -> Result<()> {
    output::leftovers(&fsio::write_new(pae_path, pae, fsio::PUBLIC_MODE)?.leftovers);
    match fsio::write_new(receipt, json, fsio::PUBLIC_MODE) {
        Ok(written) => {
            output::leftovers(&written.leftovers);
            Ok(())
        }
        Err(err) => {
            // Only a file that still holds exactly what this run wrote is
            // removed: never one put there meanwhile by someone else.
            if fsio::read(pae_path).is_ok_and(|now| now == pae) {
                if let Err(e) = std::fs::remove_file(pae_path) {
                    note!(
                        "note: could not remove {} after the failure: {e}; remove it before running again",
                        printable(&pae_path.display().to_string())
                    );
                }
            }
            Err(err.into())
        }
    }
}

fn attach(args: &HandoverAttachArgs) -> Result<()> {
    let scheme: Scheme = args
        .scheme
        .parse()
        .map_err(|e: ho::scheme::UnknownScheme| CliError::Usage(e.to_string()))?;
    // Both inputs are read (and checked to be small regular files) before
    // either is parsed.
    let signature = fsio::read(&args.signature)?;
    let (bytes, stamp) = fsio::read_stamped(&args.receipt, Cap::Document)?;
    let mut envelope = Envelope::from_json(&bytes)
        .map_err(lib)
        .with_context(|| format!("reading the receipt {}", args.receipt.display()))?;
    sign::attach_signature(&mut envelope, scheme, &signature)
        .map_err(lib)
        .with_context(|| format!("attaching {}", args.signature.display()))?;
    let json = envelope.to_json().map_err(lib)?;
    // The operator named this receipt to change it; the write is atomic and
    // refused if the receipt changed meanwhile.
    output::leftovers(
        &fsio::replace_if_unchanged(&args.receipt, json.as_bytes(), stamp)?.leftovers,
    );
    note!(
        "Added a {scheme} signature to {} ({} signature(s)); it is checked by `handover verify`",
        args.receipt.display(),
        envelope.signatures.len()
    );
    Ok(())
}

/// Prints the TRUSTFILE line for a transit key version (stdout, a product:
/// `>> TRUSTFILE`); what it trusts goes to stderr.
fn from_transit(args: &HandoverFromTransitArgs) -> Result<()> {
    use ceremony::handover::transit::{FromTransit, KeyVersion};
    challenge::check_authority(&args.authority)
        .map_err(|e| CliError::Usage(format!("--authority: {e}")))?;
    let usage = |flag: &str, e: &dyn std::fmt::Display| CliError::Usage(format!("--{flag}: {e}"));
    let choice = FromTransit {
        version: args.key_version,
        marshaling: args
            .marshaling
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| usage("marshaling", &e))?,
        hash: args
            .hash
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| usage("hash", &e))?,
    };
    let bytes = fsio::read(&args.file)?;
    let key = KeyVersion::from_key_json(&bytes, &choice)
        .map_err(lib)
        .with_context(|| format!("reading the transit key {}", args.file.display()))?;
    let line = key.trust_line(&args.authority);
    // Read back before reporting success (STYLE §6): the line must parse
    // to the same key.
    let again = TrustFile::parse("the new line", line.as_bytes()).map_err(lib)?;
    if again.keys().len() != 1
        || again.keys().iter().any(|k| {
            k.key_label() != format!("v{} {}", key.version, key.key.label())
                || k.authorities != [args.authority.as_str()]
        })
    {
        return Err(anyhow::anyhow!(
            "the TRUSTFILE line made for the transit key does not read back to the same key"
        ));
    }
    output::product(format!("{line}\n").as_bytes())?;
    note!(
        "Transit key {} v{} ({}), trusted to sign receipts for {}; add the line above to the TRUSTFILE",
        printable(&key.name),
        key.version,
        key.key.label(),
        args.authority
    );
    Ok(())
}

/// Rebuilds the bootstrap identity from a quorum, after the air-gap gate
/// (the same steps as `root emit`).
fn bootstrap_identity(
    args: &HandoverVerifyArgs,
    root_dir: &Path,
    challenge: &Challenge,
) -> Result<ceremony::identity::Identity> {
    let root = RootDir::load(root_dir)?;
    sealed::check_root(&root, challenge)?;
    let gate = preflight::gate(&args.preflight)?;
    let identities = root::identities(&args.identities.identities)?;
    let key = root::open_and_rebuild::<BootstrapKey>(&root, &args.shares, &identities, &gate)?;
    Ok(Box::new(key.identity()?))
}

fn verify(args: &HandoverVerifyArgs) -> Result<()> {
    let challenge = load_challenge(&args.challenge)?;
    let receipt = fsio::read(&args.receipt)?;
    let trust = TrustFile::parse(&args.trust, &fsio::read(&args.trust)?).map_err(lib)?;

    let (sealed_files, digests) = match &args.bootstrap {
        Some(dir) => {
            let (files, digests) = sealed::files_for(dir, &challenge);
            (files, Some(digests))
        }
        None => (Vec::new(), None),
    };
    let deep = match (&args.deep, &args.root) {
        (true, Some(root_dir)) => {
            if sealed_files.len() != challenge.files.len() {
                return Err(CliError::Usage(
                    "--deep needs every sealed file of the challenge in --bootstrap DIR".into(),
                )
                .into());
            }
            let identity = bootstrap_identity(args, root_dir, &challenge)?;
            Some(
                report::deep_values(&challenge, &sealed_files, std::slice::from_ref(&identity))
                    .map_err(lib)
                    .context("opening the sealed files with the rebuilt bootstrap key")?,
            )
        }
        _ => None,
    };

    let report = ho::verify_handover(&VerifyRequest {
        challenge: &challenge,
        receipt: &receipt,
        trust: &trust,
        bootstrap: digests.as_ref(),
        deep: deep.as_ref(),
        now: SystemClock.now(),
    });
    output::report(&report, "handover verify", args.json)?;
    let failed = report.failures().count();
    let skipped = report.count(Status::Skipped);
    // Without --deep every item's commitment line is "not checked"; say so
    // in the summary too, so a pass is not read as covering the values.
    let commitments = if report.count(Status::NotChecked) > 0 {
        "; commitments not recomputed (needs --deep)"
    } else {
        ""
    };
    if !report.passed() {
        return Err(CliError::NotVerified(format!(
            "handover NOT verified: {failed} check(s) failed, {skipped} skipped{commitments} ({})",
            args.receipt.display()
        ))
        .into());
    }
    note!(
        "Handover verified: challenge {}, {} item(s){}",
        challenge.challenge_id,
        challenge.items().count(),
        if deep.is_some() {
            ", every commitment recomputed from the sealed values"
        } else {
            commitments
        }
    );
    Ok(())
}
