//! `ceremony handover …`: the bootstrap → runtime handover (seed §7.3, §7.9).
//!
//! `challenge` and `verify` run on the air-gapped workstation; `receipt` and
//! `attach-signature` are for the runtime side (or for tests and simple
//! jobs). The protocol and formats are in `docs/handover.md`; this module
//! only reads files, calls `ceremony::handover`, and prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ceremony::fsio;
use ceremony::handover::challenge::{self, Challenge, ChallengePlan};
use ceremony::handover::items::SecretName;
use ceremony::handover::receipt::{self, ReceiptPlan, Values};
use ceremony::handover::report::{self, Status, VerifyRequest};
use ceremony::handover::statement::Sha256Digest;
use ceremony::handover::{self as ho, Envelope, Scheme, TrustFile, sign};
use ceremony::root::{self, RootSecret};
use ceremony::secret::SecretBytes;
use sha2::Digest;

use super::args::{
    HandoverAttachArgs, HandoverChallengeArgs, HandoverCommand, HandoverReceiptArgs,
    HandoverVerifyArgs,
};
use super::io::{self, CliError, printable};
use super::preflight;

/// Runs one `handover` subcommand.
pub fn run(command: HandoverCommand) -> Result<()> {
    match command {
        HandoverCommand::Challenge(args) => challenge(&args),
        HandoverCommand::Receipt(args) => receipt(&args),
        HandoverCommand::AttachSignature(args) => attach(&args),
        HandoverCommand::Verify(args) => verify(&args),
    }
}

fn lib(e: impl Into<ho::Error>) -> anyhow::Error {
    anyhow::Error::new(e.into())
}

/// The manifests under `dir`, as sorted `/`-separated relative paths: every
/// `*.yaml` / `*.yml` file, recursively. Hidden entries (`.sops.yaml`,
/// `.git`) are skipped and reported; symlinks are refused, so nothing outside
/// `dir` is read by accident.
fn manifests_under(dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    fn walk(
        dir: &Path,
        rel: &str,
        found: &mut Vec<String>,
        skipped: &mut Vec<String>,
    ) -> Result<()> {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading the directory {}", dir.display()))?;
        for entry in entries {
            let entry =
                entry.with_context(|| format!("reading the directory {}", dir.display()))?;
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                CliError::Input(format!(
                    "{}: a file name that is not UTF-8",
                    entry.path().display()
                ))
            })?;
            let rel_path = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", entry.path().display()))?;
            if name.starts_with('.') {
                skipped.push(rel_path);
            } else if kind.is_symlink() {
                return Err(CliError::Input(format!(
                    "{}: is a symbolic link; give the files themselves",
                    entry.path().display()
                ))
                .into());
            } else if kind.is_dir() {
                walk(&entry.path(), &rel_path, found, skipped)?;
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                found.push(rel_path);
            } else {
                skipped.push(rel_path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    walk(dir, "", &mut found, &mut skipped)?;
    found.sort();
    skipped.sort();
    Ok((found, skipped))
}

/// `DIR/<relative path>`, for a path already checked to be clean.
fn under(dir: &Path, relative: &str) -> PathBuf {
    relative.split('/').fold(dir.to_owned(), |p, c| p.join(c))
}

fn load_challenge(path: &Path) -> Result<Challenge> {
    let bytes = io::read_file(path)?;
    Challenge::from_json(&bytes)
        .map_err(lib)
        .with_context(|| format!("reading the challenge {}", path.display()))
}

fn challenge(args: &HandoverChallengeArgs) -> Result<()> {
    let validity = challenge::parse_duration(&args.expires).map_err(lib)?;
    let manifest = super::root::load_manifest(&args.root)?;
    let (paths, skipped) = manifests_under(&args.bootstrap)?;
    for path in &skipped {
        eprintln!("  - {path}: skipped (hidden, or not .yaml/.yml)");
    }
    let mut sealed = Vec::new();
    for path in paths {
        let bytes = io::read_file(&under(&args.bootstrap, &path))?;
        sealed.push((path, bytes));
    }
    let plan = ChallengePlan {
        root_id: &manifest.body.root_id,
        bootstrap_recipient: &manifest.body.bootstrap_recipient,
        authority: &args.authority,
        now: time::OffsetDateTime::now_utc(),
        validity,
    };
    let challenge = Challenge::create(&plan, &sealed).map_err(lib)?;
    let json = challenge.to_json().map_err(lib)?;
    // Owner-only: the nonce is not secret, but with a receipt it lets
    // guesses of low-entropy values be tested (docs/handover.md §4).
    fsio::write_new(&args.out, &json, fsio::SECRET_MODE)?;
    eprintln!(
        "Challenge {} for {} (root {}), valid until {}:",
        challenge.challenge_id, challenge.authority, challenge.root_id, challenge.expires_at
    );
    for file in &challenge.files {
        eprintln!("  {}  sha256 {}", file.path, file.sha256);
        for item in &file.items {
            eprintln!("    {} ({})", item.id, item.field.as_str());
        }
    }
    eprintln!("Written to {}", args.out.display());
    Ok(())
}

fn receipt(args: &HandoverReceiptArgs) -> Result<()> {
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
        if path.exists() {
            return Err(fsio::FsError::Exists { path: path.clone() }.into());
        }
    }
    // Read the signing key before any value, so a wrong key path fails early.
    let key = match &args.key {
        Some(path) => {
            let bytes = SecretBytes::new(io::read_file(path)?);
            Some(
                sign::Ed25519SigningKey::from_openssh(&bytes)
                    .map_err(lib)
                    .with_context(|| format!("reading the signing key {}", path.display()))?,
            )
        }
        None => None,
    };
    let (paths, _) = manifests_under(&args.values)?;
    let mut files = Vec::new();
    for path in paths {
        let bytes = SecretBytes::new(io::read_file(&under(&args.values, &path))?);
        files.push((path, bytes));
    }
    let values = Values::from_manifests(&nonce, &files).map_err(lib)?;
    drop(files);
    for id in values.unasked(&challenge) {
        eprintln!("  - {id}: in the values but not in the challenge; not acknowledged");
    }
    let plan = ReceiptPlan {
        authority: args.authority.clone(),
        path_template: args.path_template.clone(),
        version: args.item_version,
        not_retired,
        completed_at: time::OffsetDateTime::now_utc(),
    };
    let statement = receipt::build_statement(&challenge, &values, &plan).map_err(lib)?;
    let mut envelope = statement.to_envelope().map_err(lib)?;
    if let Some(key) = &key {
        sign::sign_ed25519(&mut envelope, key).map_err(lib)?;
    }
    let json = envelope.to_json().map_err(lib)?;
    fsio::write_new(&args.out, json.as_bytes(), fsio::PUBLIC_MODE)?;
    eprintln!(
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
        Some(key) => eprintln!(
            "  signed (ed25519) by {}; trust it with: {}",
            key.fingerprint(),
            key.ed25519_trust_line("")
        ),
        None => {
            fsio::write_new(&pae_path, &envelope.pae(), fsio::PUBLIC_MODE)?;
            eprintln!(
                "  unsigned; sign the exact bytes in {} and add the signature with `ceremony handover attach-signature`",
                pae_path.display()
            );
        }
    }
    eprintln!("Written to {}", args.out.display());
    Ok(())
}

fn attach(args: &HandoverAttachArgs) -> Result<()> {
    let scheme: Scheme = args
        .scheme
        .parse()
        .map_err(|e: ho::scheme::UnknownScheme| CliError::Usage(e.to_string()))?;
    let mut envelope = Envelope::from_json(&io::read_file(&args.receipt)?)
        .map_err(lib)
        .with_context(|| format!("reading the receipt {}", args.receipt.display()))?;
    let signature = io::read_file(&args.signature)?;
    sign::attach_signature(&mut envelope, scheme, &signature)
        .map_err(lib)
        .with_context(|| format!("attaching {}", args.signature.display()))?;
    let json = envelope.to_json().map_err(lib)?;
    // The operator named this receipt to change it; the write is atomic.
    fsio::replace(&args.receipt, json.as_bytes(), fsio::PUBLIC_MODE)?;
    eprintln!(
        "Added a {scheme} signature to {} ({} signature(s)); it is checked by `handover verify`",
        args.receipt.display(),
        envelope.signatures.len()
    );
    Ok(())
}

/// Rebuilds the bootstrap identity from a quorum, after the air-gap gate
/// (the same steps as `root emit`).
fn bootstrap_identity(
    args: &HandoverVerifyArgs,
    root_dir: &Path,
    challenge: &Challenge,
) -> Result<ceremony::sops::Identity> {
    let manifest = super::root::load_manifest(root_dir)?;
    if manifest.body.root_id != challenge.root_id {
        return Err(CliError::Input(format!(
            "{} is root {}, but the challenge is for root {}",
            root_dir.display(),
            manifest.body.root_id,
            challenge.root_id
        ))
        .into());
    }
    preflight::gate(&args.preflight)?;
    let identities = io::load_identities(&args.identities.identities)?;
    eprintln!(
        "Opening shares of root {} for the bootstrap key:",
        manifest.body.root_id
    );
    let secret =
        super::root::open_and_rebuild(&manifest, RootSecret::Bootstrap, &args.shares, &identities)?;
    let identity = root::secrets::bootstrap_identity(&secret).map_err(CliError::Input)?;
    Ok(Box::new(identity))
}

fn verify(args: &HandoverVerifyArgs) -> Result<()> {
    let challenge = load_challenge(&args.challenge)?;
    let receipt = io::read_file(&args.receipt)?;
    let trust = TrustFile::parse(&args.trust, &io::read_file(&args.trust)?).map_err(lib)?;

    let mut sealed: Vec<(String, Vec<u8>)> = Vec::new();
    let mut digests = BTreeMap::new();
    if let Some(dir) = &args.bootstrap {
        for file in &challenge.files {
            let path = under(dir, &file.path);
            let digest = match fsio::read(&path) {
                Ok(bytes) => {
                    let digest = Sha256Digest(sha2::Sha256::digest(&bytes).into());
                    sealed.push((file.path.clone(), bytes));
                    Ok(digest)
                }
                Err(e) => Err(e.to_string()),
            };
            digests.insert(file.path.clone(), digest);
        }
    }
    let deep = match (&args.deep, &args.root) {
        (true, Some(root_dir)) => {
            if sealed.len() != challenge.files.len() {
                return Err(CliError::Input(
                    "--deep needs every sealed file of the challenge in --bootstrap DIR".into(),
                )
                .into());
            }
            let identity = bootstrap_identity(args, root_dir, &challenge)?;
            Some(
                report::deep_values(&challenge, &sealed, std::slice::from_ref(&identity))
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
        bootstrap: args.bootstrap.as_ref().map(|_| &digests),
        deep: deep.as_ref(),
        now: time::OffsetDateTime::now_utc(),
    });
    if args.json {
        let text = serde_json::to_string_pretty(&report).context("encoding the report")?;
        println!("{text}");
    } else {
        for check in &report.checks {
            let label = if check.subject.is_empty() {
                check.check.to_owned()
            } else {
                format!("{} {}", check.check, check.subject)
            };
            println!(
                "{} {:<40} {}",
                check.status.mark(),
                printable(&label),
                printable(&check.detail)
            );
        }
    }
    let failed = report.failures().count();
    let skipped = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .count();
    // Without --deep every item's commitment line is "not checked"; say so
    // in the summary too, so a pass is not read as covering the values.
    let commitments = if report.not_requested().next().is_some() {
        "; commitments not recomputed (needs --deep)"
    } else {
        ""
    };
    if !report.passed {
        return Err(CliError::Verification(format!(
            "handover NOT verified: {failed} check(s) failed, {skipped} skipped{commitments} ({})",
            args.receipt.display()
        ))
        .into());
    }
    eprintln!(
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

/// The handover steps of `ceremony demo`: seal two throwaway Secrets to the
/// demo root, make a challenge, answer it as the runtime authority would
/// (values decrypted in memory, receipt signed by a fresh key), and verify
/// it with `--deep` using the bootstrap key the quorum rebuilt earlier.
/// `step` prints each step's heading.
pub fn demo(
    dir: &Path,
    manifest: &ceremony::root::RootManifest,
    bootstrap_key: &SecretBytes,
    sealed: Vec<(String, Vec<u8>)>,
    step: &mut dyn FnMut(&str),
) -> Result<()> {
    use ceremony::sops::{self, Format};

    let body = &manifest.body;
    let mut sealed = sealed;
    sealed.sort();

    step("operator: a handover challenge, offline (handover challenge)");
    let challenge = Challenge::create(
        &ChallengePlan {
            root_id: &body.root_id,
            bootstrap_recipient: &body.bootstrap_recipient,
            authority: "openbao-demo",
            now: time::OffsetDateTime::now_utc(),
            validity: time::Duration::hours(24),
        },
        &sealed,
    )
    .map_err(lib)?;
    let challenge_path = dir.join("challenge.json");
    fsio::write_new(
        &challenge_path,
        &challenge.to_json().map_err(lib)?,
        fsio::PUBLIC_MODE,
    )?;
    println!(
        "  challenge {} for {}, valid until {}",
        challenge.challenge_id, challenge.authority, challenge.expires_at
    );
    for (file, item) in challenge.items() {
        println!("    {:<28} in {}", item.id, file.path);
    }

    step("runtime side: import, retire the bootstrap copies, sign a receipt (handover receipt)");
    let identity = root::secrets::bootstrap_identity(bootstrap_key).map_err(CliError::Input)?;
    let identities: Vec<sops::Identity> = vec![Box::new(identity)];
    let nonce = challenge.nonce_bytes().map_err(lib)?;
    let mut decrypted = Vec::new();
    for (name, bytes) in &sealed {
        decrypted.push((
            name.clone(),
            sops::decrypt(bytes, Format::Yaml, &identities, false)?,
        ));
    }
    let values = Values::from_manifests(&nonce, &decrypted).map_err(lib)?;
    drop(decrypted);
    let authority_key = sign::Ed25519SigningKey::generate("openbao-demo receipts");
    let statement = receipt::build_statement(
        &challenge,
        &values,
        &ReceiptPlan {
            authority: "openbao-demo".into(),
            path_template: receipt::DEFAULT_PATH_TEMPLATE.into(),
            version: 1,
            not_retired: Vec::new(),
            completed_at: time::OffsetDateTime::now_utc(),
        },
    )
    .map_err(lib)?;
    let mut envelope = statement.to_envelope().map_err(lib)?;
    sign::sign_ed25519(&mut envelope, &authority_key).map_err(lib)?;
    let receipt_path = dir.join("receipt.json");
    fsio::write_new(
        &receipt_path,
        envelope.to_json().map_err(lib)?.as_bytes(),
        fsio::PUBLIC_MODE,
    )?;
    let trust_line = authority_key.ed25519_trust_line("openbao-demo");
    let trust_path = dir.join("trust.txt");
    fsio::write_new(
        &trust_path,
        format!("{trust_line}\n").as_bytes(),
        fsio::PUBLIC_MODE,
    )?;
    println!(
        "  receipt.json: in-toto Statement in a DSSE envelope, predicate {}",
        receipt::PREDICATE_TYPE_V1
    );
    println!(
        "  signed by {}; trust.txt: {trust_line}",
        authority_key.fingerprint()
    );

    step("operator: verify the receipt, recomputing every commitment (handover verify --deep)");
    let trust = TrustFile::parse(&trust_path, &fsio::read(&trust_path)?).map_err(lib)?;
    let deep = report::deep_values(&challenge, &sealed, &identities).map_err(lib)?;
    let digests = sealed
        .iter()
        .map(|(name, bytes)| {
            (
                name.clone(),
                Ok(Sha256Digest(sha2::Sha256::digest(bytes).into())),
            )
        })
        .collect::<BTreeMap<_, _>>();
    let report = ho::verify_handover(&VerifyRequest {
        challenge: &challenge,
        receipt: &fsio::read(&receipt_path)?,
        trust: &trust,
        bootstrap: Some(&digests),
        deep: Some(&deep),
        now: time::OffsetDateTime::now_utc(),
    });
    for check in &report.checks {
        let label = format!("{} {}", check.check, check.subject);
        println!(
            "  {} {:<40} {}",
            check.status.mark(),
            label.trim_end(),
            check.detail
        );
    }
    if !report.passed {
        anyhow::bail!("the demo receipt did not verify");
    }
    println!("  ✓ handover verified: every bootstrap Secret received intact and retired");
    Ok(())
}
