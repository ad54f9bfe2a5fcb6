//! `ceremony root …`: Phase 0 (init, show, verify) and the Phase 2 emitters.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use ceremony::fsio::{self, StagedDir};
use ceremony::root::{self, Bundle, InitPlan, Replaced, RootManifest, RootSecret};
use ceremony::shares::{self, Threshold};

use super::args::{
    EmitCommand, EmitCommon, RootCommand, RootInitArgs, RootShowArgs, RootVerifyArgs,
};
use super::io::{self, CliError};
use super::{preflight, prompt, unseal};

/// Runs one `root` subcommand.
pub fn run(command: RootCommand) -> Result<()> {
    match command {
        RootCommand::Init(args) => init(&args),
        RootCommand::Show(args) => show(&args),
        RootCommand::Verify(args) => verify(&args),
        RootCommand::Emit(EmitCommand::FluxAgeSecret(args)) => {
            // Checked before any custodian is asked for a share.
            root::emit::check_name(&args.name).map_err(usage)?;
            root::emit::check_namespace(&args.namespace).map_err(usage)?;
            root::emit::check_data_key(&args.key).map_err(usage)?;
            let secret = rebuild(&args.common, RootSecret::Bootstrap)?;
            let identity = ceremony::root::secrets::bootstrap_identity_text(&secret.1)
                .map_err(CliError::Input)?;
            let text =
                root::emit::flux_age_secret(&identity, &args.name, &args.namespace, &args.key)
                    .map_err(usage)?;
            io::emit_secret(text.as_bytes(), args.common.allow_terminal)
        }
        RootCommand::Emit(EmitCommand::OpenbaoStaticSeal(args)) => {
            root::emit::check_name(&args.name).map_err(usage)?;
            root::emit::check_namespace(&args.namespace).map_err(usage)?;
            let (manifest, secret) = rebuild(&args.common, RootSecret::Unseal)?;
            let text = root::emit::openbao_static_seal(
                &secret,
                &manifest.body.unseal.key_id,
                &args.name,
                &args.namespace,
            )
            .map_err(|e| CliError::Input(format!("root.json: {e}")))?;
            io::emit_secret(text.as_bytes(), args.common.allow_terminal)
        }
    }
}

fn usage(e: root::emit::FieldError) -> CliError {
    CliError::Usage(e.to_string())
}

/// Loads and checks root.json of a root directory.
pub fn load_manifest(root_dir: &Path) -> Result<RootManifest> {
    let path = root_dir.join(root::MANIFEST_FILE);
    let bytes = io::read_file(&path)?;
    RootManifest::from_json(&bytes).map_err(|source| {
        ceremony::error::Error::from(root::Error::Manifest {
            file: path.display().to_string(),
            source,
        })
        .into()
    })
}

fn default_unseal_key_id() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let mut suffix = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut suffix);
    format!(
        "{:04}{:02}{:02}-{}",
        today.year(),
        u8::from(today.month()),
        today.day(),
        hex::encode(suffix)
    )
}

fn thresholds(
    args: &RootInitArgs,
    custodians: &shares::Custodians,
) -> Result<BTreeMap<RootSecret, usize>> {
    let mut out = BTreeMap::new();
    for which in RootSecret::ALL {
        let k = custodians
            .threshold_for(which.threshold_name())
            .or(args.threshold)
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "no threshold for the {}: pass --threshold K or set [threshold] {} = K in {}",
                    which.label(),
                    which.threshold_name(),
                    args.custodians.display()
                ))
            })?;
        Threshold::new(k, custodians.len()).map_err(shares::Error::from)?;
        out.insert(which, k);
    }
    Ok(out)
}

fn init(args: &RootInitArgs) -> Result<()> {
    let custodians = unseal::load_custodians(&args.custodians)?;
    let thresholds = thresholds(args, &custodians)?;
    if let Some(id) = &args.unseal_key_id {
        root::emit::check_key_id(id).map_err(usage)?;
    }

    // 7.2.1: the root MUST NOT be regenerated. An existing root is refused
    // unless the operator names the loudly-named flag.
    let existing = args.out.join(root::MANIFEST_FILE);
    let mut replaces = None;
    let has_root = existing.exists();
    if has_root && !args.replace_existing_root_and_break_trust {
        return Err(CliError::Refused(format!(
            "{} already holds a root (root.json): a root is created once and never regenerated. Nothing was changed. \
             To replace it anyway, pass --replace-existing-root-and-break-trust (recorded in the new root.json)",
            args.out.display()
        ))
        .into());
    }
    if !has_root {
        StagedDir::new(&args.out)?;
    }

    let report = preflight::gate(&args.preflight)?;
    eprintln!(
        "Creating a root of trust for {} custodians:",
        custodians.len()
    );
    for which in RootSecret::ALL {
        eprintln!(
            "  {:<14} {} of {}",
            which.label(),
            thresholds[&which],
            custodians.len()
        );
    }
    if has_root {
        eprintln!(
            "  WARNING: replacing the existing root in {}",
            args.out.display()
        );
    }
    if !prompt::confirm("Proceed?", args.yes)? {
        return Err(CliError::Usage("cancelled; nothing was written".into()).into());
    }
    let passphrases = unseal::collect_passphrases(&custodians)?;

    if has_root {
        let old_id = load_manifest(&args.out)
            .map(|m| m.body.root_id)
            .unwrap_or_else(|_| "unknown".into());
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        replaces = Some(Replaced {
            root_id: old_id,
            moved_to: format!("{}.replaced-{stamp}", args.out.display()),
        });
    }

    let plan = InitPlan {
        thresholds,
        unseal_key_id: args
            .unseal_key_id
            .clone()
            .unwrap_or_else(default_unseal_key_id),
        preflight: report,
        replaces: replaces.clone(),
    };
    // The new root exists in memory before the old one is moved: a failure
    // here leaves the old root exactly where it was.
    let output = root::init(&custodians, &plan, &passphrases)?;
    if let Some(replaced) = &replaces {
        fsio::move_aside(&args.out, Path::new(&replaced.moved_to))
            .with_context(|| format!("moving the existing root {} aside", args.out.display()))?;
        eprintln!(
            "  moved the old root {} to {}",
            replaced.root_id, replaced.moved_to
        );
    }
    let written = write_root(&args.out, &output);
    if let Err(e) = written {
        let Some(replaced) = &replaces else {
            return Err(e.into());
        };
        // Put the old root back; the new one was never visible. The error
        // says where the old root is either way.
        let _ = std::fs::remove_dir(&args.out);
        let restored = fsio::move_aside(Path::new(&replaced.moved_to), &args.out);
        let whereabouts = match restored {
            Ok(()) => format!(
                "the old root {} is back in {}",
                replaced.root_id,
                args.out.display()
            ),
            Err(r) => format!(
                "the old root {} is still in {} ({r}); move it back by hand",
                replaced.root_id, replaced.moved_to
            ),
        };
        return Err(
            anyhow::Error::from(e).context(format!("writing the new root failed; {whereabouts}"))
        );
    }

    let body = &output.manifest.body;
    eprintln!("Root {} written to {}", body.root_id, args.out.display());
    eprintln!("  bootstrap recipient  {}", body.bootstrap_recipient);
    eprintln!("  unseal key id        {}", body.unseal.key_id);
    eprintln!(
        "  signing key          {}",
        output.manifest.signing_key_fingerprint()
    );
    for file in &body.custodian_files {
        eprintln!("  {:<22} sha256 {}", file.file, file.sha256);
    }
    eprintln!(
        "Record the root id and signing key fingerprint in the ceremony log; hand each custodian their file."
    );
    Ok(())
}

fn show(args: &RootShowArgs) -> Result<()> {
    let manifest = load_manifest(&args.root)?;
    if args.json {
        print!("{}", String::from_utf8_lossy(&manifest.to_json()));
        return Ok(());
    }
    let body = &manifest.body;
    println!("root {}", body.root_id);
    println!(
        "  created             {} by {}",
        body.created_at, body.tool_version
    );
    println!(
        "  signing key         {}",
        manifest.signing_key_fingerprint()
    );
    println!("  bootstrap recipient {}", body.bootstrap_recipient);
    println!("  unseal key id       {}", body.unseal.key_id);
    for set in &body.share_sets {
        println!(
            "  {:<19} {} of {} (set {})",
            set.label, set.threshold, set.shares, set.set_id
        );
    }
    println!("  custodians:");
    for set in body.share_sets.first().iter() {
        for c in &set.custodians {
            let kind = match &c.recipient {
                shares::custodians::RecipientDescription::Age { .. } => "age",
                shares::custodians::RecipientDescription::SshEd25519 { .. } => "ssh-ed25519",
                shares::custodians::RecipientDescription::Passphrase => "passphrase",
            };
            println!("    {:<16} {:<12} {}", c.name, kind, c.file);
        }
    }
    let online = if body.preflight.went_online() {
        "ONLINE (--allow-online)"
    } else {
        "offline"
    };
    println!("  made on a machine   {online}");
    if let Some(r) = &body.replaces {
        println!(
            "  REPLACED root       {} (moved to {})",
            r.root_id, r.moved_to
        );
    }
    Ok(())
}

fn verify(args: &RootVerifyArgs) -> Result<()> {
    let (_, items) = root::verify_dir(&args.root);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_default()
        );
    } else {
        for item in &items {
            let mark = match (item.ok, item.skipped) {
                (_, true) => "-",
                (true, false) => "✓",
                (false, false) => "✗",
            };
            println!("{mark} {:<36} {}", item.check, item.detail);
        }
    }
    let failed = items.iter().filter(|i| !i.ok).count();
    if failed > 0 {
        return Err(CliError::Verification(format!(
            "{failed} check(s) failed for {}",
            args.root.display()
        ))
        .into());
    }
    Ok(())
}

/// Opens the bundles and rebuilds one secret, after the air-gap gate.
/// Rebuilds a secret whose Secret manifest goes to stdout: stdout must not
/// be a terminal unless allowed.
fn rebuild(
    common: &EmitCommon,
    which: RootSecret,
) -> Result<(RootManifest, ceremony::secret::SecretBytes)> {
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) && !common.allow_terminal {
        return Err(CliError::SecretToTerminal.into());
    }
    rebuild_quiet(common, which)
}

/// Opens the bundles and rebuilds one secret after the air-gap gate,
/// printing nothing secret.
pub fn rebuild_quiet(
    common: &EmitCommon,
    which: RootSecret,
) -> Result<(RootManifest, ceremony::secret::SecretBytes)> {
    let manifest = load_manifest(&common.root)?;
    preflight::gate(&common.preflight)?;
    let identities = io::load_identities(&common.identities.identities)?;
    let set = manifest
        .body
        .share_set(which)
        .ok_or_else(|| root::Error::Incomplete(format!("no share set for the {}", which.label())))
        .map_err(ceremony::error::Error::from)?;
    eprintln!(
        "Opening shares of root {} for the {} ({} of {}):",
        manifest.body.root_id,
        which.label(),
        set.threshold,
        set.shares
    );
    let secret = open_and_rebuild(&manifest, which, &common.shares, &identities)?;
    Ok((manifest, secret))
}

/// Opens custodians' bundles and rebuilds one root secret, checked against
/// the manifest. A bundle no identity or passphrase opens is skipped with a
/// note (not every custodian is present); one that opens and is wrong stops
/// everything.
pub fn open_and_rebuild(
    manifest: &RootManifest,
    which: RootSecret,
    shares: &[std::path::PathBuf],
    identities: &[Box<dyn age::Identity>],
) -> Result<ceremony::secret::SecretBytes> {
    let mut bundles: Vec<(String, Bundle)> = Vec::new();
    for path in shares {
        let file = path.display().to_string();
        let bytes = io::read_file(path)?;
        match root::open_bundle(&file, &bytes, identities, &prompt::ask_passphrase) {
            Ok(bundle) => {
                eprintln!("  ✓ {file}: shares of {}", bundle.custodian);
                bundles.push((file, bundle));
            }
            Err(e) if e.class() == ceremony::error::Class::Decryption => {
                eprintln!("  - {e}; skipped")
            }
            Err(e) => return Err(ceremony::error::Error::from(e).into()),
        }
    }
    let secret =
        root::rebuild(&manifest.body, which, &bundles).map_err(ceremony::error::Error::from)?;
    eprintln!("  ✓ rebuilt {} matches root.json", which.label());
    Ok(secret)
}

/// Writes a new root directory whole: bundles 0600, root.json 0644.
pub fn write_root(dir: &Path, output: &root::InitOutput) -> Result<(), fsio::FsError> {
    let staged = StagedDir::new(dir)?;
    for (file, bytes) in &output.bundles {
        staged.add(file, bytes, fsio::SECRET_MODE)?;
    }
    staged.add(
        root::MANIFEST_FILE,
        &output.manifest.to_json(),
        fsio::PUBLIC_MODE,
    )?;
    staged.commit().map(|_| ())
}
