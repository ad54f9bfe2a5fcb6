//! `ceremony unseal …`: key ceremonies with custodians' Shamir shares.

use std::path::Path;

use anyhow::Result;
use ceremony::clock::{Clock, SystemClock};
use ceremony::fsio::{self, Cap, StagedDir};
use ceremony::preflight::AirGapped;
use ceremony::secret::{SecretArray, SecretBytes};
use ceremony::shares::vault::{InitOutput, Keys, Which};
use ceremony::shares::{
    self, Custodians, KeyId, Origin, ShareSet, SplitOutput, SplitPlan, Threshold,
};
use zeroize::Zeroizing;

use super::args::{
    CombineArgs, OpenArgs, ReshareArgs, SecretForm, ShareArgs, ShareForm, UnsealCommand,
    VerifyArgs, WrapArgs, WrapKeys,
};
use super::output::{self, SecretStdout, note, printable};
use super::root::{identities, print_openings, read_files};
use super::{CliError, preflight, prompt};

/// Length of a freshly generated unseal key: OpenBao's static seal takes
/// exactly 32 bytes (AES-256-GCM).
pub const UNSEAL_KEY_LEN: usize = 32;

/// Runs one `unseal` subcommand.
pub fn run(command: UnsealCommand) -> Result<()> {
    match command {
        UnsealCommand::Share(args) => share(&args),
        UnsealCommand::Combine(args) => combine(&args),
        UnsealCommand::Verify(args) => verify(&args),
        UnsealCommand::Reshare(args) => reshare(&args),
        UnsealCommand::Wrap(args) => wrap(&args),
        UnsealCommand::Open(args) => open(&args),
    }
}

/// `--allow-shared-custodian-key`, said out loud when given.
pub fn shared_keys(allow: bool) -> shares::SharedKeys {
    if allow {
        note!(
            "WARNING: --allow-shared-custodian-key: a key may hold the shares of several custodians, so fewer people than the threshold may rebuild the secret; this is recorded"
        );
        shares::SharedKeys::Allow
    } else {
        shares::SharedKeys::Refuse
    }
}

/// A threshold given on the command line, checked against the custodians.
fn threshold_flag(k: usize, custodians: &Custodians) -> Result<Threshold> {
    Threshold::new(k, custodians.len())
        .map_err(|e| CliError::Usage(format!("--threshold {k}: {e}")).into())
}

/// Writes a split to `out` whole, or not at all.
pub fn write_split(out: &Path, split: &SplitOutput) -> Result<()> {
    write_splits(out, &[(None, split)])
}

/// Writes several splits into `out` (each in its subdirectory, or at the
/// top), all of them or none.
fn write_splits(out: &Path, splits: &[(Option<&str>, &SplitOutput)]) -> Result<()> {
    let staged = StagedDir::new(out)?;
    output::leftovers(staged.leftovers());
    for (dir, split) in splits {
        let at = |name: &str| match dir {
            Some(dir) => format!("{dir}/{name}"),
            None => name.to_owned(),
        };
        for (name, bytes) in &split.files {
            staged.add(&at(name), bytes, fsio::SECRET_MODE)?;
        }
        staged.add(
            &at("shareset.json"),
            &split.shareset.to_json(),
            fsio::PUBLIC_MODE,
        )?;
    }
    staged.commit()?;
    Ok(())
}

/// Refuses an output directory that cannot be written (it exists and is
/// not empty, its parent is missing) before anyone types a passphrase or
/// anything is decrypted. Staging it sweeps its parent, so what that found
/// is said now, even if the command stops before writing.
fn check_out_dir(out: &Path) -> Result<()> {
    let staged = StagedDir::new(out)?;
    output::leftovers(staged.leftovers());
    Ok(())
}

fn describe_plan(custodians: &Custodians, k: usize) -> String {
    let names: Vec<String> = custodians
        .iter()
        .map(|c| format!("{} ({})", c.name, c.key.kind()))
        .collect();
    format!("{k} of {}: {}", custodians.len(), names.join(", "))
}

fn report_split(out: &Path, split: &SplitOutput) {
    let set = &split.shareset;
    note!(
        "Wrote share set {} ({} of {}, label {:?}) to {}:",
        set.set_id,
        set.threshold,
        set.shares,
        set.label,
        out.display()
    );
    for entry in &set.custodians {
        note!(
            "  {:<24} x = {:<3} {}",
            entry.file,
            entry.x,
            entry.commitment
        );
    }
    note!(
        "  shareset.json            key check value {}",
        set.key_check_value
    );
}

/// Shows the plan, asks for confirmation and collects passphrases: the
/// common head of `share`, `reshare` and `wrap`.
fn confirm_plan(
    intro: &str,
    custodians: &Custodians,
    k: usize,
    yes: bool,
) -> Result<std::collections::BTreeMap<String, ceremony::secret::SecretText>> {
    note!("{intro}, {}", describe_plan(custodians, k));
    prompt::confirm("Proceed?", yes)?;
    prompt::passphrases_for(custodians)
}

fn share(args: &ShareArgs) -> Result<()> {
    let clock = SystemClock;
    let custodians = shares::load_custodians(
        &args.custodians,
        shared_keys(args.allow_shared_custodian_key),
    )?;
    // Refuse a bad threshold or output directory before anyone types a passphrase.
    let threshold = threshold_flag(args.threshold, &custodians)?;
    let key_id = args.key_id.as_deref().map(KeyId::parse).transpose()?;
    check_out_dir(&args.out)?;
    preflight::gate(&args.preflight)?;
    let secret = match &args.secret_file {
        Some(path) => read_secret(path)?,
        None => SecretBytes::random(UNSEAL_KEY_LEN),
    };
    if secret.len() < 16 {
        note!(
            "warning: the secret is only {} bytes; its key check value lets anyone holding shareset.json test guesses. Split only high-entropy keys.",
            secret.len()
        );
    }
    let key_id = key_id
        .unwrap_or_else(|| KeyId::dated(clock.now().date(), &shares::key_check_value(&secret)));
    let plan = SplitPlan {
        label: args.label.clone(),
        threshold: threshold.k(),
        key_id: Some(key_id),
        previous_set_id: None,
    };
    let passphrases = confirm_plan(
        &format!("Splitting {:?}", args.label),
        &custodians,
        threshold.k(),
        args.yes,
    )?;
    let split = shares::split_among(&secret, &custodians, &plan, &passphrases, &clock)?;
    write_split(&args.out, &split)?;
    report_split(&args.out, &split);
    Ok(())
}

/// Reads a secret to split from a file or `-` (stdin), in a wiping buffer.
fn read_secret(path: &Path) -> Result<SecretBytes> {
    let bytes = if path.as_os_str() == "-" {
        read_stdin_secret()?
    } else {
        Zeroizing::new(fsio::read_input(path, Cap::Secret)?)
    };
    if bytes.is_empty() {
        return Err(CliError::Input(format!(
            "{}: the secret is empty; there is nothing to split",
            path.display()
        ))
        .into());
    }
    Ok(SecretBytes::from_slice(&bytes))
}

/// Reads stdin up to the secret cap. Typed at a terminal, a secret would be
/// echoed, so a terminal is refused.
fn read_stdin_secret() -> Result<Zeroizing<Vec<u8>>> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Err(CliError::Input(
            "refusing to read a secret typed at a terminal (it would be echoed): pipe it in or pass a file".into(),
        )
        .into());
    }
    Ok(fsio::read_secret(std::io::stdin().lock(), "stdin")?)
}

/// Opens every share file it can, after the gate, and rebuilds the secret
/// of `set`.
pub fn rebuild_from(
    set: &ShareSet,
    paths: &[std::path::PathBuf],
    identity_files: &[std::path::PathBuf],
    gate: &AirGapped,
) -> Result<SecretBytes> {
    note!(
        "Opening shares of set {} ({:?}, {} of {}):",
        set.set_id,
        set.label,
        set.threshold,
        set.shares
    );
    let keyring =
        ceremony::identity::Keyring::load_files(identity_files, prompt::TerminalCallbacks)?;
    let files = read_files(paths)?;
    let quorum = shares::open_shares(set, &files, &keyring, &prompt::ask_passphrase)?;
    print_openings(&quorum.openings);
    let secret = shares::rebuild(set, &quorum.opened, gate)?;
    note!(
        "  ✓ rebuilt secret matches key check value {}",
        set.key_check_value
    );
    Ok(secret)
}

fn combine(args: &CombineArgs) -> Result<()> {
    let set = shares::load_shareset(&args.shareset)?;
    // Where the secret goes, and what it becomes, are checked before anyone
    // decrypts anything.
    let stdout = SecretStdout::check(args.allow_terminal)?;
    let seal = match args.emit {
        SecretForm::OpenbaoStaticSeal => Some((
            set.static_seal_key_id()?,
            ceremony::root::emit::SecretFields::new(&args.secret_name, &args.namespace)
                .map_err(|e| CliError::Usage(e.to_string()))?,
        )),
        _ => None,
    };
    let gate = preflight::gate(&args.preflight)?;
    let secret = rebuild_from(&set, &args.shares, &args.identities.identities, &gate)?;
    let text: Zeroizing<String> = match (args.emit, seal) {
        (SecretForm::OpenbaoStaticSeal, Some((key_id, fields))) => {
            let key = SecretArray::<UNSEAL_KEY_LEN>::from_slice(secret.expose_secret())
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "the secret is {} bytes; OpenBao's static seal needs exactly {UNSEAL_KEY_LEN}",
                        secret.len()
                    ))
                })?;
            ceremony::root::emit::openbao_static_seal(
                ceremony::root::emit::SealKey {
                    key: &key,
                    key_id: &key_id,
                },
                None,
                &fields,
            )
        }
        (SecretForm::Base64, _) => Zeroizing::new(format!("{}\n", secret.to_base64().as_str())),
        (SecretForm::Text, _) => {
            let text = std::str::from_utf8(secret.expose_secret()).map_err(|_| {
                CliError::Usage("the secret is not UTF-8 text: use --emit hex or base64".into())
            })?;
            Zeroizing::new(format!("{text}\n"))
        }
        _ => Zeroizing::new(format!("{}\n", secret.to_hex().as_str())),
    };
    stdout.write(text.as_bytes())?;
    Ok(())
}

fn verify(args: &VerifyArgs) -> Result<()> {
    let set = shares::load_shareset(&args.shareset)?;
    let identities = identities(&args.identities.identities)?;
    let file = args.share.display().to_string();
    let bytes = fsio::read(&args.share)?;
    let share = shares::open_share(&file, &bytes, &identities, &prompt::ask_passphrase)?;
    let entry = shares::check_share(&set, &share)?;
    let mut report = ceremony::report::Report::new();
    report.record(
        "share",
        file,
        true,
        format!(
            "share of {} (x = {}) in set {} ({:?}, {} of {}) opens and matches its commitment {}",
            entry.name, entry.x, set.set_id, set.label, set.threshold, set.shares, entry.commitment
        ),
    );
    output::report(&report, "unseal verify", args.json)?;
    Ok(())
}

fn reshare(args: &ReshareArgs) -> Result<()> {
    let clock = SystemClock;
    let old = shares::load_shareset(&args.shareset)?;
    let custodians = shares::load_custodians(
        &args.custodians,
        shared_keys(args.allow_shared_custodian_key),
    )?;
    let threshold = threshold_flag(args.threshold, &custodians)?;
    check_out_dir(&args.out)?;
    shares::check_reshare(&old, threshold.k())?;
    let gate = preflight::gate(&args.preflight)?;
    let secret = rebuild_from(&old, &args.shares, &args.identities.identities, &gate)?;
    let passphrases = confirm_plan(
        &format!("Resharing {:?}", old.label),
        &custodians,
        threshold.k(),
        args.yes,
    )?;
    let split = shares::reshare(
        &old,
        &secret,
        &custodians,
        threshold.k(),
        &passphrases,
        &clock,
    )?;
    write_split(&args.out, &split)?;
    report_split(&args.out, &split);
    note!(
        "The old set {} still opens the same secret: destroy its share files once the new custodians have verified theirs.",
        old.set_id
    );
    Ok(())
}

fn wrap(args: &WrapArgs) -> Result<()> {
    let clock = SystemClock;
    let custodians = shares::load_custodians(
        &args.custodians,
        shared_keys(args.allow_shared_custodian_key),
    )?;
    check_out_dir(&args.out)?;
    let (source, bytes) = match &args.init_file {
        Some(path) => (
            path.display().to_string(),
            Zeroizing::new(fsio::read_input(path, Cap::Document)?),
        ),
        None => ("stdin".to_owned(), read_stdin_secret()?),
    };
    let which = match args.keys {
        WrapKeys::Auto => Which::Auto,
        WrapKeys::Unseal => Which::Unseal,
        WrapKeys::Recovery => Which::Recovery,
    };
    let output = InitOutput::parse(&source, &bytes, which, args.threshold)?;
    drop(bytes);
    let root_token = match (&output.root_token, args.protect_root_token) {
        (Some(token), true) => Some(SecretBytes::from_slice(token.expose_secret().as_bytes())),
        (None, true) => {
            return Err(CliError::Usage(format!(
                "{source} holds no root token (only an init output does): drop --protect-root-token"
            ))
            .into());
        }
        (_, false) => None,
    };
    let label = args.label.clone().unwrap_or_else(|| {
        match output.origin {
            Origin::VaultRecoveryKeys => "vault-recovery-key",
            _ => "vault-unseal-key",
        }
        .to_owned()
    });
    let (k, intro) = match &output.keys {
        Keys::Shares {
            shares, threshold, ..
        } => (
            threshold.k(),
            format!("Wrapping {} {label} shares", shares.len()),
        ),
        Keys::Single { .. } => (
            threshold_flag(args.threshold, &custodians)?.k(),
            format!("Splitting the single {label}"),
        ),
    };
    shares::check_wrap(&source, &output.keys, &custodians, &args.custodians)?;
    preflight::gate(&args.preflight)?;
    let passphrases = confirm_plan(&intro, &custodians, k, args.yes)?;
    let plan = SplitPlan {
        label,
        threshold: k,
        key_id: None,
        previous_set_id: None,
    };
    let split = shares::wrap_keys(
        &source,
        output.keys,
        output.origin,
        &custodians,
        &args.custodians,
        &plan,
        &passphrases,
        &clock,
    )?;
    let token_split = match &root_token {
        Some(token) => Some(shares::split_among(
            token,
            &custodians,
            &SplitPlan {
                label: "root-token".into(),
                threshold: k,
                key_id: None,
                previous_set_id: None,
            },
            &passphrases,
            &clock,
        )?),
        None => None,
    };
    write_splits(
        &args.out,
        &[(None, &split)]
            .into_iter()
            .chain(token_split.as_ref().map(|t| (Some(ROOT_TOKEN_DIR), t)))
            .collect::<Vec<_>>(),
    )?;
    report_split(&args.out, &split);
    match &token_split {
        Some(t) => {
            report_split(&args.out.join(ROOT_TOKEN_DIR), t);
            note!(
                "The root token is split too: use it to configure authentication, then revoke it (`bao token revoke -self`). Until then a quorum rebuilds it with `ceremony unseal combine --shareset {}/{ROOT_TOKEN_DIR}/shareset.json … --emit text`.",
                args.out.display()
            );
        }
        None => note!(
            "The init output also holds the root token, which these share files do not replace: use it to configure authentication, then revoke it (`bao token revoke -self`); a new one can be made later with a quorum (`bao operator generate-root`, see docs/runbooks/openbao-generate-root.md). To keep it split among the custodians instead, run wrap again with --protect-root-token."
        ),
    }
    Ok(())
}

/// Where `unseal wrap --protect-root-token` puts the root token's share set.
const ROOT_TOKEN_DIR: &str = "root-token";

fn open(args: &OpenArgs) -> Result<()> {
    // Showing it on screen is the point of `open`, but it stays a choice the
    // custodian makes with --allow-terminal, as for every secret.
    let stdout = SecretStdout::check(args.allow_terminal)?;
    let identities = identities(&args.identities.identities)?;
    let file = args.share.display().to_string();
    let bytes = fsio::read(&args.share)?;
    let share = shares::open_share(&file, &bytes, &identities, &prompt::ask_passphrase)?;
    let doc = &share.document;
    note!(
        "Share of {} (x = {}) in set {} ({:?}, {} of {}):",
        printable(&doc.custodian),
        doc.share.x(),
        doc.set_id,
        printable(&doc.label),
        doc.threshold.k(),
        doc.threshold.n()
    );
    let vault = doc.share.to_vault_bytes();
    let text = Zeroizing::new(match args.emit {
        ShareForm::Vault => format!("{}\n", vault.to_base64().as_str()),
        ShareForm::VaultHex => format!("{}\n", vault.to_hex().as_str()),
    });
    stdout.write(text.as_bytes())?;
    Ok(())
}
