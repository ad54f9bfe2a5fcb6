//! `ceremony root …`: Phase 0 (init, show, verify) and the Phase 2 emitters.

use std::path::PathBuf;

use anyhow::Result;
use ceremony::clock::SystemClock;
use ceremony::identity::{self, Identity};
use ceremony::preflight::AirGapped;
use ceremony::root::{
    self, BootstrapKey, Bundle, InitPlan, Retirable, RootDir, RootKey, RootSecret, SigningSeed,
    Thresholds, UnsealKey, dir,
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
            let (root, bundles, gate) = open_quorum(&args.common)?;
            let key = rebuild_one::<BootstrapKey>(&root, &bundles, &gate)?;
            let retiring = rebuild_retiring::<BootstrapKey>(&root, &bundles, &gate)?;
            let text = root::emit::flux_age_secret(&key, retiring.as_ref(), &fields)?;
            stdout.write(text.as_bytes())?;
            Ok(())
        }
        RootCommand::Emit(EmitCommand::OpenbaoStaticSeal(args)) => {
            let fields =
                root::emit::SecretFields::new(&args.name, &args.namespace).map_err(usage)?;
            let stdout = SecretStdout::check(args.common.allow_terminal)?;
            let (root, bundles, gate) = open_quorum(&args.common)?;
            let key = rebuild_one::<UnsealKey>(&root, &bundles, &gate)?;
            let retiring = rebuild_retiring::<UnsealKey>(&root, &bundles, &gate)?;
            let body = &root.manifest().body;
            let key_id = KeyId::parse(&body.unseal.key_id)?;
            let previous_id = body
                .retiring()
                .unseal
                .map(|info| KeyId::parse(&info.key_id))
                .transpose()?;
            let previous = match (&retiring, &previous_id) {
                (Some(key), Some(key_id)) => Some(root::emit::SealKey {
                    key: key.as_array(),
                    key_id,
                }),
                _ => None,
            };
            let text = root::emit::openbao_static_seal(
                root::emit::SealKey {
                    key: key.as_array(),
                    key_id: &key_id,
                },
                previous,
                &fields,
            );
            stdout.write(text.as_bytes())?;
            Ok(())
        }
        RootCommand::Rotate(args) => super::rotate::rotate(&args),
        RootCommand::Reshare(args) => super::rotate::reshare(&args),
        RootCommand::Retire(args) => super::rotate::retire(&args),
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
    let (target, found) = dir::Target::check(&args.out, replace, &clock)?;
    output::leftovers(&found);

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
    let (written, found) = target.write(&output)?;
    output::leftovers(&found);

    let manifest = written.manifest();
    let body = &manifest.body;
    note!("Root {} written to {}", body.root_id, args.out.display());
    if let Some(old) = &body.replaces {
        note!("  the old root {} is in {}", old.root_id, old.moved_to);
    }
    print_written(manifest);
    note!(
        "Record the root id and signing key fingerprint in the ceremony log; hand each custodian their file."
    );
    Ok(())
}

/// What the witnesses record of a root version just written: its public
/// keys and the SHA-256 of every custodian's file.
pub fn print_written(manifest: &root::RootManifest) {
    let body = &manifest.body;
    note!("  bootstrap recipient  {}", body.bootstrap_recipient);
    note!("  unseal key id        {}", body.unseal.key_id);
    note!(
        "  signing key          {}",
        manifest.signing_key_fingerprint()
    );
    for file in &body.custodian_files {
        note!("  {:<22} sha256 {}", file.file, file.sha256);
    }
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
    out.line(&format!("root {} version {}", body.root_id, body.version()))?;
    // What the witnesses write down and `root verify --head` takes: the
    // digest of root.json's bytes, in hex and as words to read aloud.
    let current = root.lineage().current();
    out.line(&format!("  root.json sha256    {}", current.sha256))?;
    if let Ok(digest) = ceremony::words::Digest::parse(&current.sha256) {
        for line in digest.word_lines() {
            out.line(&format!("              {line}"))?;
        }
    }
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
    let retiring = body.retiring();
    if let Some(recipient) = &retiring.bootstrap_recipient {
        out.line(&format!("  retiring bootstrap  {recipient}"))?;
    }
    if let Some(unseal) = &retiring.unseal {
        out.line(&format!("  retiring unseal id  {}", unseal.key_id))?;
    }
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
    out.line("  history:")?;
    for version in root.lineage().versions() {
        let body = &version.manifest.body;
        let what = match &body.lineage {
            None => "created".to_owned(),
            Some(link) => {
                let changes: Vec<&str> = link.changes.iter().map(|c| c.as_str()).collect();
                match &link.note {
                    Some(note) => format!("{} ({})", changes.join(", "), output::printable(note)),
                    None => changes.join(", "),
                }
            }
        };
        out.line(&format!(
            "    version {:<3} {}  {}  sha256 {}",
            version.number(),
            body.created_at,
            what,
            version.sha256
        ))?;
    }
    out.finish()?;
    Ok(())
}

fn verify(args: &RootVerifyArgs) -> Result<()> {
    let anchor = args
        .anchor
        .as_ref()
        .map(|p| -> Result<(String, Vec<u8>)> {
            Ok((
                p.display().to_string(),
                ceremony::fsio::read_input(p, ceremony::fsio::Cap::Manifest)?,
            ))
        })
        .transpose()?;
    // The head as the ceremony log has it: hex, or the words `root show`
    // prints.
    let head = args.head.as_deref().map(|text| {
        ceremony::words::Digest::parse(text)
            .map(|d| d.to_hex())
            .unwrap_or_else(|_| text.to_owned())
    });
    if let Some(head) = &head {
        if head.len() != 64 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CliError::Usage(
                "--head takes the 64 hex digits of a SHA-256, or its 32 words (as `root show` prints them)".into(),
            )
            .into());
        }
    }
    let options = root::VerifyOptions {
        anchor: anchor.as_ref().map(|(f, b)| (f.as_str(), b.as_slice())),
        head: head.as_deref(),
    };
    let (_, report) = root::verify_dir(&args.root, options);
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
    let (root, bundles, gate) = open_quorum(common)?;
    let key = rebuild_one::<K>(&root, &bundles, &gate)?;
    Ok((root, key))
}

/// A loaded root, the bundles opened for it, and the gate passed.
type OpenedQuorum = (RootDir, Vec<(String, Bundle)>, AirGapped);

/// Loads the root (every version checked), passes the gate and opens the
/// bundles given, printing which opened.
fn open_quorum(common: &EmitCommon) -> Result<OpenedQuorum> {
    let root = RootDir::load(&common.root)?;
    let gate = preflight::gate(&common.preflight)?;
    let identities = identities(&common.identities.identities)?;
    let bundles = open_bundles(&root, &common.shares, &identities)?;
    Ok((root, bundles, gate))
}

/// Opens custodians' bundles of `root`, printing which opened.
pub fn open_bundles(
    root: &RootDir,
    shares: &[PathBuf],
    identities: &[Identity],
) -> Result<Vec<(String, Bundle)>> {
    let body = &root.manifest().body;
    note!(
        "Opening bundles of root {} version {}:",
        body.root_id,
        body.version()
    );
    let files = read_files(shares)?;
    let quorum = root::open_bundles(&files, identities, &prompt::ask_passphrase)?;
    print_openings(&quorum.openings);
    Ok(quorum.opened)
}

/// Opens custodians' bundles and rebuilds one root secret, printing which
/// bundles opened.
pub fn open_and_rebuild<K: RootKey>(
    root: &RootDir,
    shares: &[PathBuf],
    identities: &[Identity],
    gate: &AirGapped,
) -> Result<K> {
    let bundles = open_bundles(root, shares, identities)?;
    rebuild_one::<K>(root, &bundles, gate)
}

/// Rebuilds one root secret from opened bundles, saying so.
pub fn rebuild_one<K: RootKey>(
    root: &RootDir,
    bundles: &[(String, Bundle)],
    gate: &AirGapped,
) -> Result<K> {
    let key = root::rebuild::<K>(&root.manifest().body, bundles, gate)?;
    note!("  ✓ rebuilt {} matches root.json", K::SECRET.label());
    Ok(key)
}

/// Rebuilds the retiring version of a root secret, if one is retiring.
pub fn rebuild_retiring<K: Retirable>(
    root: &RootDir,
    bundles: &[(String, Bundle)],
    gate: &AirGapped,
) -> Result<Option<K>> {
    let key = root::rebuild_retiring::<K>(&root.manifest().body, bundles, gate)?;
    if key.is_some() {
        note!(
            "  ✓ rebuilt the retiring {} (root.json keeps it until `root retire`)",
            K::SECRET.label()
        );
    }
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
