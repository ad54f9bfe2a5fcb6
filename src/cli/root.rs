//! `ceremony root …`: Phase 0 (init, show, verify) and the Phase 2 emitters.

use std::path::PathBuf;

use anyhow::Result;
use ceremony::clock::SystemClock;
use ceremony::identity::{self, Identity};
use ceremony::preflight::AirGapped;
use ceremony::root::{
    self, BootstrapKey, InitPlan, RootDir, RootKey, RootSecret, SigningSeed, Thresholds, UnsealKey,
    dir,
};
use ceremony::shares::{self, KeyId};

use super::args::{
    EmitCommand, EmitCommon, RootCommand, RootInitArgs, RootShowArgs, RootVerifyArgs,
};
use super::output::{self, Listing, SecretStdout, note};
use super::prompt::{self, TerminalCallbacks};
use super::{CliError, preflight};

/// Runs one `root` subcommand.
pub fn run(command: RootCommand) -> Result<()> {
    match command {
        RootCommand::Init(args) => init(&args),
        RootCommand::Show(args) => show(&args),
        RootCommand::Verify(args) => verify(&args),
        RootCommand::Emit(EmitCommand::FluxAgeSecret(args)) => {
            // Checked before any custodian is asked for a share.
            let fields = root::emit::FluxFields::new(&args.name, &args.namespace, &args.key)
                .map_err(usage)?;
            let stdout = SecretStdout::check(args.common.allow_terminal)?;
            let (_, key) = rebuild::<BootstrapKey>(&args.common)?;
            let text = root::emit::flux_age_secret(&key, &fields)?;
            stdout.write(text.as_bytes())?;
            Ok(())
        }
        RootCommand::Emit(EmitCommand::OpenbaoStaticSeal(args)) => {
            let fields =
                root::emit::SecretFields::new(&args.name, &args.namespace).map_err(usage)?;
            let stdout = SecretStdout::check(args.common.allow_terminal)?;
            let (root, key) = rebuild::<UnsealKey>(&args.common)?;
            let key_id = KeyId::parse(&root.manifest().body.unseal.key_id)?;
            let text = root::emit::openbao_static_seal(key.as_array(), &key_id, &fields);
            stdout.write(text.as_bytes())?;
            Ok(())
        }
    }
}

fn usage(e: ceremony::kube::NameError) -> CliError {
    CliError::Usage(e.to_string())
}

fn init(args: &RootInitArgs) -> Result<()> {
    let clock = SystemClock;
    let custodians = shares::load_custodians(
        &args.custodians,
        super::unseal::shared_keys(args.allow_shared_custodian_key),
    )?;
    let thresholds = Thresholds::resolve(&custodians, args.threshold)?;
    let unseal_key_id = args
        .unseal_key_id
        .as_deref()
        .map(KeyId::parse)
        .transpose()?;
    let replace = if args.replace_existing_root_and_break_trust {
        dir::Replace::BreakingTrust
    } else {
        dir::Replace::Never
    };
    // 7.2.1: the root MUST NOT be regenerated; checked before anything else.
    let target = dir::Target::check(&args.out, replace, &clock)?;

    let gate = preflight::gate(&args.preflight)?;
    note!(
        "Creating a root of trust for {} custodians:",
        custodians.len()
    );
    for which in RootSecret::ALL {
        let t = thresholds.of(which);
        note!("  {:<14} {} of {}", which.label(), t.k(), t.n());
    }
    if let Some(old) = target.replaces() {
        note!(
            "  WARNING: replacing the existing root {} in {}; it will be moved to {}",
            old.root_id,
            args.out.display(),
            old.moved_to
        );
    }
    prompt::confirm("Proceed?", args.yes)?;
    let passphrases = prompt::passphrases_for(&custodians)?;
    let plan = InitPlan {
        thresholds,
        unseal_key_id,
        replaces: target.replaces().cloned(),
    };
    // The new root exists in memory before the old one is touched; writing
    // it moves the old root aside and back again on any failure.
    let output = root::init(&custodians, &plan, &passphrases, &gate, &clock)?;
    let written = target.write(&output)?;

    let manifest = written.manifest();
    let body = &manifest.body;
    note!("Root {} written to {}", body.root_id, args.out.display());
    if let Some(old) = &body.replaces {
        note!("  the old root {} is in {}", old.root_id, old.moved_to);
    }
    note!("  bootstrap recipient  {}", body.bootstrap_recipient);
    note!("  unseal key id        {}", body.unseal.key_id);
    note!(
        "  signing key          {}",
        manifest.signing_key_fingerprint()
    );
    for file in &body.custodian_files {
        note!("  {:<22} sha256 {}", file.file, file.sha256);
    }
    note!(
        "Record the root id and signing key fingerprint in the ceremony log; hand each custodian their file."
    );
    Ok(())
}

fn show(args: &RootShowArgs) -> Result<()> {
    let root = RootDir::load(&args.root)?;
    let manifest = root.manifest();
    if args.json {
        output::product(&manifest.to_json())?;
        return Ok(());
    }
    let body = &manifest.body;
    let mut out = Listing::new();
    out.line(&format!("root {}", body.root_id))?;
    out.line(&format!(
        "  created             {} by {}",
        body.created_at, body.tool_version
    ))?;
    out.line(&format!(
        "  signing key         {}",
        manifest.signing_key_fingerprint()
    ))?;
    out.line(&format!(
        "  bootstrap recipient {}",
        body.bootstrap_recipient
    ))?;
    out.line(&format!("  unseal key id       {}", body.unseal.key_id))?;
    for set in &body.share_sets {
        out.line(&format!(
            "  {:<19} {} of {} (set {})",
            set.label, set.threshold, set.shares, set.set_id
        ))?;
    }
    out.line("  custodians:")?;
    for set in body.share_sets.first().iter() {
        for c in &set.custodians {
            out.line(&format!(
                "    {:<16} {:<12} {}",
                c.name,
                c.recipient.kind(),
                c.file
            ))?;
        }
    }
    let online = if body.preflight.went_online() {
        "ONLINE (--allow-online)"
    } else {
        "offline"
    };
    out.line(&format!("  made on a machine   {online}"))?;
    if let Some(r) = &body.replaces {
        out.line(&format!(
            "  REPLACED root       {} (moved to {})",
            r.root_id, r.moved_to
        ))?;
    }
    out.finish()?;
    Ok(())
}

fn verify(args: &RootVerifyArgs) -> Result<()> {
    let (_, report) = root::verify_dir(&args.root);
    output::report(&report, "root verify", args.json)?;
    if !report.passed() {
        return Err(output::not_verified(&report, &args.root.display().to_string()).into());
    }
    Ok(())
}

/// The identities given with `-i`, passphrase-protected SSH keys prompted
/// for on the terminal.
pub fn identities(paths: &[PathBuf]) -> Result<Vec<Identity>> {
    Ok(identity::load_files(paths, TerminalCallbacks)?)
}

/// Loads the root, passes the gate, opens the bundles and rebuilds one
/// secret, checked against root.json. Prints nothing secret.
pub fn rebuild<K: RootKey>(common: &EmitCommon) -> Result<(RootDir, K)> {
    let root = RootDir::load(&common.root)?;
    let gate = preflight::gate(&common.preflight)?;
    let identities = identities(&common.identities.identities)?;
    let key = open_and_rebuild::<K>(&root, &common.shares, &identities, &gate)?;
    Ok((root, key))
}

/// Opens custodians' bundles and rebuilds one root secret, printing which
/// bundles opened.
pub fn open_and_rebuild<K: RootKey>(
    root: &RootDir,
    shares: &[PathBuf],
    identities: &[Identity],
    gate: &AirGapped,
) -> Result<K> {
    let body = &root.manifest().body;
    let which = K::SECRET;
    if let Some(set) = body.share_set(which) {
        note!(
            "Opening shares of root {} for the {} ({} of {}):",
            body.root_id,
            which.label(),
            set.threshold,
            set.shares
        );
    }
    let files = read_files(shares)?;
    let quorum = root::open_bundles(&files, identities, &prompt::ask_passphrase)?;
    print_openings(&quorum.openings);
    let key = root::rebuild::<K>(body, &quorum.opened, gate)?;
    note!("  ✓ rebuilt {} matches root.json", which.label());
    Ok(key)
}

/// Reads share or bundle files, named as given.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    paths
        .iter()
        .map(|p| Ok((p.display().to_string(), ceremony::fsio::read(p)?)))
        .collect()
}

/// One line per file a custodian brought.
pub fn print_openings(openings: &[shares::Opening]) {
    for opening in openings {
        match opening {
            shares::Opening::Opened { file, custodian, x } => {
                let x = if *x == 0 {
                    String::new()
                } else {
                    format!(" (x = {x})")
                };
                note!(
                    "  ✓ {}: shares of {}{x}",
                    output::printable(file),
                    output::printable(custodian)
                );
            }
            shares::Opening::Skipped { reason, .. } => {
                note!("  - {}; skipped", output::printable(reason));
            }
        }
    }
}

/// The signing key rebuilt from a quorum (transcript sign).
pub fn rebuild_signing(common: &EmitCommon) -> Result<(RootDir, SigningSeed)> {
    rebuild::<SigningSeed>(common)
}
