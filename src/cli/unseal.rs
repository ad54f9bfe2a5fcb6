//! `ceremony unseal …`: key ceremonies with custodians' Shamir shares.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ceremony::fsio::{self, StagedDir};
use ceremony::secret::{SecretBytes, SecretText};
use ceremony::shares::{
    self, CustodianKey, Custodians, OpenedShare, Origin, ShamirShare, ShareSet, SplitOutput,
    SplitPlan, Threshold,
};
use zeroize::Zeroizing;

use super::args::{
    CombineArgs, OpenArgs, ReshareArgs, SecretForm, ShareArgs, ShareForm, UnsealCommand,
    VerifyArgs, WrapArgs,
};
use super::io::{self, CliError};
use super::{preflight, prompt};

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

/// Length of a freshly generated unseal key: OpenBao's static seal takes
/// exactly 32 bytes (AES-256-GCM).
pub const UNSEAL_KEY_LEN: usize = 32;

pub fn load_custodians(path: &Path) -> Result<Custodians> {
    let bytes = io::read_file(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Input(format!("{}: not UTF-8 text", path.display())))?;
    Custodians::parse(&text).map_err(|source| {
        shares::Error::Custodians {
            file: path.display().to_string(),
            source,
        }
        .into()
    })
}

pub fn load_shareset(path: &Path) -> Result<ShareSet> {
    let bytes = io::read_file(path)?;
    ShareSet::from_json(&bytes).map_err(|source| {
        shares::Error::ShareSet {
            file: path.display().to_string(),
            source,
        }
        .into()
    })
}

/// Prompts every passphrase custodian for a new passphrase, in file order.
pub fn collect_passphrases(custodians: &Custodians) -> Result<BTreeMap<String, SecretText>> {
    let mut passphrases = BTreeMap::new();
    for custodian in custodians.iter() {
        if matches!(custodian.key, CustodianKey::Passphrase) {
            let name = custodian.name.as_str();
            passphrases.insert(name.to_owned(), prompt::new_passphrase(name)?);
        }
    }
    Ok(passphrases)
}

/// Writes a split to `out` whole, or not at all.
pub fn write_split(out: &Path, split: &SplitOutput) -> Result<()> {
    let staged = StagedDir::new(out)?;
    for (name, bytes) in &split.files {
        staged.add(name, bytes, fsio::SECRET_MODE)?;
    }
    staged.add(
        "shareset.json",
        &split.shareset.to_json(),
        fsio::PUBLIC_MODE,
    )?;
    staged.commit()?;
    Ok(())
}

fn describe_plan(custodians: &Custodians, k: usize) -> String {
    let names: Vec<String> = custodians
        .iter()
        .map(|c| {
            let how = match c.key {
                CustodianKey::Age(_) => "age",
                CustodianKey::SshEd25519(_) => "ssh-ed25519",
                CustodianKey::Passphrase => "passphrase",
            };
            format!("{} ({how})", c.name)
        })
        .collect();
    format!("{k} of {}: {}", custodians.len(), names.join(", "))
}

fn report_split(out: &Path, split: &SplitOutput) {
    let set = &split.shareset;
    eprintln!(
        "Wrote share set {} ({} of {}, label {:?}) to {}:",
        set.set_id,
        set.threshold,
        set.shares,
        set.label,
        out.display()
    );
    for entry in &set.custodians {
        eprintln!(
            "  {:<24} x = {:<3} {}",
            entry.file, entry.x, entry.commitment
        );
    }
    eprintln!(
        "  shareset.json            key check value {}",
        set.key_check_value
    );
}

fn default_key_id(secret: &SecretBytes) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let kcv = shares::key_check_value(secret);
    let short = kcv
        .trim_start_matches("hmac-sha256:")
        .get(..8)
        .unwrap_or("0");
    format!(
        "{:04}{:02}{:02}-{short}",
        today.year(),
        u8::from(today.month()),
        today.day()
    )
}

/// Shows the plan, asks for confirmation, collects passphrases, splits and
/// writes the set whole: the common tail of `share` and `reshare`.
fn confirm_split_and_write(
    intro: &str,
    secret: &SecretBytes,
    custodians: &Custodians,
    plan: &SplitPlan,
    out: &Path,
    yes: bool,
) -> Result<SplitOutput> {
    eprintln!("{intro}, {}", describe_plan(custodians, plan.threshold));
    if !prompt::confirm("Proceed?", yes)? {
        return Err(CliError::Usage("cancelled; nothing was written".into()).into());
    }
    let passphrases = collect_passphrases(custodians)?;
    let split = shares::split_among(secret, custodians, plan, &passphrases)?;
    write_split(out, &split)?;
    report_split(out, &split);
    Ok(split)
}

fn share(args: &ShareArgs) -> Result<()> {
    let custodians = load_custodians(&args.custodians)?;
    // Refuse a bad threshold or output directory before anyone types a passphrase.
    Threshold::new(args.threshold, custodians.len()).map_err(shares::Error::from)?;
    if let Some(id) = &args.key_id {
        ceremony::root::emit::check_key_id(id).map_err(|e| CliError::Usage(e.to_string()))?;
    }
    StagedDir::new(&args.out)?;
    preflight::gate(&args.preflight)?;
    let secret = match &args.secret_file {
        Some(path) => {
            let bytes = io::read_secret(path)?;
            if bytes.is_empty() {
                return Err(CliError::Input(format!(
                    "{}: the secret is empty; there is nothing to split",
                    path.display()
                ))
                .into());
            }
            SecretBytes::from_slice(&bytes)
        }
        None => SecretBytes::random(UNSEAL_KEY_LEN),
    };
    if secret.len() < 16 {
        eprintln!(
            "warning: the secret is only {} bytes; its key check value lets anyone holding shareset.json test guesses. Split only high-entropy keys.",
            secret.len()
        );
    }
    let plan = SplitPlan {
        label: args.label.clone(),
        threshold: args.threshold,
        key_id: Some(
            args.key_id
                .clone()
                .unwrap_or_else(|| default_key_id(&secret)),
        ),
        previous_set_id: None,
    };
    confirm_split_and_write(
        &format!("Splitting {:?}", args.label),
        &secret,
        &custodians,
        &plan,
        &args.out,
        args.yes,
    )?;
    Ok(())
}

/// Opens every share file it can; shares no identity opens are skipped with a
/// note (not every custodian is present at every ceremony), but a share that
/// opens and is wrong stops everything.
pub fn open_shares(
    set: &ShareSet,
    paths: &[PathBuf],
    identity_files: &[PathBuf],
) -> Result<Vec<OpenedShare>> {
    let identities = io::load_identities(identity_files)?;
    let mut opened = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        let bytes = io::read_file(path)?;
        match shares::open_share(&file, &bytes, &identities, &prompt::ask_passphrase) {
            Ok(share) => {
                let entry = shares::check_share(set, &share)?;
                eprintln!("  ✓ {file}: share of {} (x = {})", entry.name, entry.x);
                opened.push(share);
            }
            Err(e) if e.class() == ceremony::error::Class::Decryption => {
                eprintln!("  - {e}; skipped");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(opened)
}

/// Rebuilds the secret of `set` from share files.
pub fn rebuild_from(
    set: &ShareSet,
    paths: &[PathBuf],
    identity_files: &[PathBuf],
) -> Result<SecretBytes> {
    eprintln!(
        "Opening shares of set {} ({:?}, {} of {}):",
        set.set_id, set.label, set.threshold, set.shares
    );
    let opened = open_shares(set, paths, identity_files)?;
    let secret = shares::rebuild(set, &opened)?;
    eprintln!(
        "  ✓ rebuilt secret matches key check value {}",
        set.key_check_value
    );
    Ok(secret)
}

fn combine(args: &CombineArgs) -> Result<()> {
    let set = load_shareset(&args.shareset)?;
    // Check where the secret would go before anyone decrypts anything.
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) && !args.allow_terminal {
        return Err(CliError::SecretToTerminal.into());
    }
    if args.emit == SecretForm::OpenbaoStaticSeal {
        let field = |e: ceremony::root::emit::FieldError| CliError::Usage(e.to_string());
        ceremony::root::emit::check_name(&args.secret_name).map_err(field)?;
        ceremony::root::emit::check_namespace(&args.namespace).map_err(field)?;
    }
    preflight::gate(&args.preflight)?;
    let secret = rebuild_from(&set, &args.shares, &args.identities.identities)?;
    let text: Zeroizing<String> = match args.emit {
        SecretForm::Hex => Zeroizing::new(format!("{}\n", secret.to_hex().as_str())),
        SecretForm::Base64 => Zeroizing::new(format!("{}\n", secret.to_base64().as_str())),
        SecretForm::OpenbaoStaticSeal => {
            let key_id = set.key_id.clone().unwrap_or_else(|| set.set_id.to_string());
            if secret.len() != UNSEAL_KEY_LEN {
                return Err(CliError::Input(format!(
                    "the secret is {} bytes; OpenBao's static seal needs exactly {UNSEAL_KEY_LEN}",
                    secret.len()
                ))
                .into());
            }
            ceremony::root::emit::openbao_static_seal(
                &secret,
                &key_id,
                &args.secret_name,
                &args.namespace,
            )
            .map_err(|e| CliError::Input(format!("{}: {e}", args.shareset.display())))?
        }
    };
    io::emit_secret(text.as_bytes(), args.allow_terminal)
}

fn verify(args: &VerifyArgs) -> Result<()> {
    let set = load_shareset(&args.shareset)?;
    let identities = io::load_identities(&args.identities.identities)?;
    let file = args.share.display().to_string();
    let bytes = io::read_file(&args.share)?;
    let share = shares::open_share(&file, &bytes, &identities, &prompt::ask_passphrase)?;
    let entry = shares::check_share(&set, &share)?;
    println!(
        "✓ {file}: share of {} (x = {}) in set {} ({:?}, {} of {}) opens and matches its commitment {}",
        entry.name, entry.x, set.set_id, set.label, set.threshold, set.shares, entry.commitment
    );
    Ok(())
}

fn reshare(args: &ReshareArgs) -> Result<()> {
    let old = load_shareset(&args.shareset)?;
    let custodians = load_custodians(&args.custodians)?;
    Threshold::new(args.threshold, custodians.len()).map_err(shares::Error::from)?;
    StagedDir::new(&args.out)?;
    preflight::gate(&args.preflight)?;
    let secret = rebuild_from(&old, &args.shares, &args.identities.identities)?;
    let plan = SplitPlan {
        label: old.label.clone(),
        threshold: args.threshold,
        key_id: old.key_id.clone(),
        previous_set_id: Some(old.set_id),
    };
    confirm_split_and_write(
        &format!("Resharing {:?}", old.label),
        &secret,
        &custodians,
        &plan,
        &args.out,
        args.yes,
    )?;
    eprintln!(
        "The old set {} still opens the same secret: destroy its share files once the new custodians have verified theirs.",
        old.set_id
    );
    Ok(())
}

/// The parts of `operator init -format=json` that `wrap` reads. Everything
/// else (the root token above all) is ignored and never stored.
#[derive(serde::Deserialize)]
struct VaultInit {
    unseal_keys_b64: Vec<String>,
    #[serde(default)]
    unseal_shares: Option<usize>,
    #[serde(default)]
    unseal_threshold: Option<usize>,
}

impl Drop for VaultInit {
    fn drop(&mut self) {
        for key in &mut self.unseal_keys_b64 {
            zeroize::Zeroize::zeroize(key);
        }
    }
}

fn wrap(args: &WrapArgs) -> Result<()> {
    let custodians = load_custodians(&args.custodians)?;
    StagedDir::new(&args.out)?;
    let source = match &args.init_file {
        Some(path) => path.display().to_string(),
        None => "stdin".to_owned(),
    };
    let bytes = io::read_secret(args.init_file.as_deref().unwrap_or(Path::new("-")))?;
    let bad = |reason: String| shares::Error::VaultInit {
        file: source.clone(),
        reason,
    };
    // serde_json's messages may quote the input; say only where it failed.
    let init: VaultInit = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not the JSON of `operator init -format=json` (line {}, column {}): it needs unseal_keys_b64",
            e.line(),
            e.column()
        ))
    })?;
    let n = init.unseal_keys_b64.len();
    if init.unseal_shares.is_some_and(|s| s != n) {
        return Err(bad(format!(
            "unseal_shares says {:?} but {n} keys are listed",
            init.unseal_shares
        ))
        .into());
    }
    if let Some(k) = init.unseal_threshold {
        if k != args.threshold {
            return Err(bad(format!(
                "unseal_threshold is {k} but --threshold is {}: give the threshold used at init",
                args.threshold
            ))
            .into());
        }
    }
    if n < 2 {
        return Err(bad("there is a single unseal key, which is the whole key and not a share: encrypt it with age directly".into()).into());
    }
    if n != custodians.len() {
        return Err(bad(format!(
            "{n} unseal shares but {} custodians in {}: list one custodian per share, in order",
            custodians.len(),
            args.custodians.display()
        ))
        .into());
    }
    let threshold = Threshold::new(args.threshold, n).map_err(shares::Error::from)?;
    let mut points = Vec::with_capacity(n);
    for (i, b64) in init.unseal_keys_b64.iter().enumerate() {
        let raw = Zeroizing::new(
            B64.decode(b64.trim())
                .map_err(|_| bad(format!("unseal_keys_b64[{i}] is not base64")))?,
        );
        // A share of Vault's 32-byte root key is 33 bytes; PGP-encrypted
        // entries (operator init -pgp-keys) are hundreds.
        if raw.len() > 65 {
            return Err(bad(format!(
                "unseal_keys_b64[{i}] is {} bytes, too long for a share: these look PGP-encrypted; run operator init without -pgp-keys",
                raw.len()
            ))
            .into());
        }
        points.push(
            ShamirShare::from_vault_bytes(&raw)
                .map_err(|e| bad(format!("unseal_keys_b64[{i}]: {e}")))?,
        );
    }
    preflight::gate(&args.preflight)?;
    // All n shares are known, so they are checked to lie on one polynomial
    // and the root key is rebuilt, in memory only, for the key check value.
    let secret =
        shares::shamir::combine_checked(&points, threshold.k()).map_err(|e| bad(e.to_string()))?;
    eprintln!(
        "Wrapping {n} unseal shares ({}) for {}",
        args.label,
        describe_plan(&custodians, args.threshold)
    );
    if !prompt::confirm("Proceed?", args.yes)? {
        return Err(CliError::Usage("cancelled; nothing was written".into()).into());
    }
    let passphrases = collect_passphrases(&custodians)?;
    let plan = SplitPlan {
        label: args.label.clone(),
        threshold: args.threshold,
        key_id: None,
        previous_set_id: None,
    };
    let split = shares::distribute(
        &secret,
        points,
        threshold,
        &custodians,
        &plan,
        Origin::VaultOperatorInit,
        &passphrases,
    )?;
    write_split(&args.out, &split)?;
    report_split(&args.out, &split);
    eprintln!("Delete the init output now: the share files replace it.");
    Ok(())
}

fn open(args: &OpenArgs) -> Result<()> {
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) && !args.allow_terminal {
        return Err(CliError::SecretToTerminal.into());
    }
    let identities = io::load_identities(&args.identities.identities)?;
    let file = args.share.display().to_string();
    let bytes = io::read_file(&args.share)?;
    let share = shares::open_share(&file, &bytes, &identities, &prompt::ask_passphrase)?;
    let doc = &share.document;
    eprintln!(
        "Share of {} (x = {}) in set {} ({:?}, {} of {}):",
        doc.custodian,
        doc.share.x(),
        doc.set_id,
        doc.label,
        doc.threshold.k(),
        doc.threshold.n()
    );
    let vault = doc.share.to_vault_bytes();
    let text = Zeroizing::new(match args.emit {
        ShareForm::Vault => format!("{}\n", vault.to_base64().as_str()),
        ShareForm::VaultHex => format!("{}\n", vault.to_hex().as_str()),
    });
    // Showing it on screen is the point of `open`, but it stays a choice the
    // custodian makes with --allow-terminal, as for every secret.
    io::emit_secret(text.as_bytes(), args.allow_terminal).context("printing the share")
}
