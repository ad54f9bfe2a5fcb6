//! `ceremony bootstrap …`: Phase 1, sealing the bootstrap manifests that go
//! to Git with SOPS, so that `sops` and Flux can open them with the root's
//! bootstrap identity.
//!
//! Every file operation is the engine's (`ceremony::sops`); this module finds
//! files, chooses recipients and crypt rules, writes results through `fsio`
//! and reports. The rules it applies, and where they differ from `sops`, are
//! in `docs/bootstrap.md`.
//!
//! Tree commands (`seal --in-place`, `updatekeys`, `rotate`, `open
//! --out-dir`) decide everything about a file before touching it and write
//! each file atomically, so a file that fails is left exactly as it was; the
//! others still go through, and the command reports every failure and exits
//! non-zero.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use ceremony::fsio;
use ceremony::secret::SecretBytes;
use ceremony::sops::config::{self as sops_config, SopsConfig};
use ceremony::sops::kubernetes::{self, ObjectKind};
use ceremony::sops::{self, CryptRule, EncryptOptions, Format, Identity};
use serde_json::json;
use zeroize::Zeroizing;

use super::args::{
    BootstrapCommand, BootstrapIdentityArgs, BootstrapOpenArgs, BootstrapRecipientArgs,
    BootstrapRotateArgs, BootstrapSealArgs, BootstrapUpdateKeysArgs, BootstrapVerifyArgs,
};
use super::exit;
use super::io::{CliError, printable};

/// Suffixes a directory walk picks up: the formats sops has stores for,
/// except binary (a walk must not seal every file it meets).
const TREE_SUFFIXES: [&str; 5] = [".yaml", ".yml", ".json", ".env", ".ini"];

/// Failures of the bootstrap commands that are not a library error.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// No identity at all to open a file with.
    #[error(
        "no age identity given: pass -i IDENTITY_FILE, or set SOPS_AGE_KEY_FILE (a file) or SOPS_AGE_KEY (the key itself)"
    )]
    NoIdentity,
    /// A failure decided before the batch ran (its plan), carried into the
    /// batch with its exit code.
    #[error("{message}")]
    Planned {
        /// The error chain, formatted.
        message: String,
        /// Its exit code.
        code: u8,
    },
    /// Some files of a tree command failed; each was left untouched.
    #[error(
        "{failed} of {total} file(s) failed (listed above); the failed files were left as they were"
    )]
    Batch {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
        /// The exit code of the first failure.
        code: u8,
    },
}

impl BootstrapError {
    /// Its exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            BootstrapError::NoIdentity => exit::DECRYPTION,
            BootstrapError::Batch { code, .. } | BootstrapError::Planned { code, .. } => *code,
        }
    }
}

/// Runs one `bootstrap` subcommand.
pub fn run(command: BootstrapCommand) -> Result<()> {
    match command {
        BootstrapCommand::Seal(args) => seal(&args),
        BootstrapCommand::Open(args) => open(&args),
        BootstrapCommand::Verify(args) => verify(&args),
        BootstrapCommand::Updatekeys(args) => update_keys(&args),
        BootstrapCommand::Rotate(args) => rotate(&args),
    }
}

// ---------------------------------------------------------------------------
// Finding files

/// A file a command will work on.
#[derive(Clone, Debug)]
struct Target {
    path: PathBuf,
    /// Found by walking a directory (not named on the command line). Such a
    /// file is skipped, not failed, when no `.sops.yaml` rule covers it.
    walked: bool,
    /// Its name under `open --out-dir`.
    relative: PathBuf,
}

/// How a walk treats what it meets.
#[derive(Clone, Copy)]
struct WalkPolicy {
    /// Read through symbolic links to files (verify, open); commands that
    /// rewrite files skip links, since replacing a link would cut it.
    follow_file_links: bool,
    /// Leave kustomization files alone (seal): kustomize must read them.
    skip_kustomization: bool,
    /// Take hidden files (`.x.yaml`) too (verify: a hidden Secret must be
    /// checked). Commands that rewrite files skip them: `.pre-commit-config.yaml`
    /// and the like are tool configuration, not manifests.
    hidden_files: bool,
}

/// The sops configuration file, never a manifest.
const SOPS_CONFIG_NAME: &str = ".sops.yaml";

#[derive(Default)]
struct Found {
    targets: Vec<Target>,
    skipped: Vec<(PathBuf, String)>,
}

fn has_tree_suffix(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    TREE_SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn is_kustomization(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    )
}

/// Expands the command line's paths. A path that does not exist stops the
/// command before anything is changed.
fn collect(paths: &[PathBuf], policy: WalkPolicy) -> Result<Found> {
    let mut found = Found::default();
    for path in paths {
        let meta = std::fs::symlink_metadata(path).map_err(|source| fsio::FsError::Io {
            path: path.clone(),
            action: "reading",
            source,
        })?;
        if meta.is_dir() {
            walk_dir(path, path, policy, &mut found)?;
        } else if meta.file_type().is_symlink() && !policy.follow_file_links {
            found.skipped.push((
                path.clone(),
                "symbolic link: name its target instead".into(),
            ));
        } else if path.is_dir() {
            found.skipped.push((
                path.clone(),
                "symbolic link to a directory: name the directory itself".into(),
            ));
        } else {
            let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
            found.targets.push(Target {
                path: path.clone(),
                walked: false,
                relative,
            });
        }
    }
    Ok(found)
}

fn walk_dir(top: &Path, dir: &Path, policy: WalkPolicy, found: &mut Found) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| fsio::FsError::Io {
            path: dir.to_owned(),
            action: "listing",
            source,
        })?
        .collect::<std::result::Result<_, _>>()
        .map_err(|source| fsio::FsError::Io {
            path: dir.to_owned(),
            action: "listing",
            source,
        })?;
    // Sorted, so that summaries and reports are stable from run to run.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().map_err(|source| fsio::FsError::Io {
            path: path.clone(),
            action: "reading",
            source,
        })?;
        // Every entry not taken is listed with its reason: a file a command
        // passes over silently could be a Secret in clear.
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if file_type.is_dir() {
            if hidden {
                found
                    .skipped
                    .push((path, "hidden directory (.git, …): not walked".into()));
            } else {
                walk_dir(top, &path, policy, found)?;
            }
            continue;
        }
        if entry.file_name() == SOPS_CONFIG_NAME {
            found
                .skipped
                .push((path, "sops configuration, not a manifest".into()));
            continue;
        }
        if hidden && !policy.hidden_files {
            found
                .skipped
                .push((path, "hidden file: name it to include it".into()));
            continue;
        }
        if !has_tree_suffix(&path) {
            found.skipped.push((
                path,
                format!("not a {} file", TREE_SUFFIXES.map(|s| &s[1..]).join("/")),
            ));
            continue;
        }
        if file_type.is_symlink() {
            // Links to directories are never followed (no loops); links to
            // files only when reading.
            if !policy.follow_file_links || path.is_dir() {
                found
                    .skipped
                    .push((path, "symbolic link: name its target instead".into()));
                continue;
            }
        }
        if policy.skip_kustomization && is_kustomization(&path) {
            found.skipped.push((
                path,
                "kustomization file: kustomize and Flux must read it in clear".into(),
            ));
            continue;
        }
        let relative = path.strip_prefix(top).unwrap_or(&path).to_owned();
        found.targets.push(Target {
            path,
            walked: true,
            relative,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Recipients and rules

/// Finds and caches `.sops.yaml` files (one parse per file per run).
struct Configs {
    forced: Option<SopsConfig>,
    by_dir: HashMap<PathBuf, Option<PathBuf>>,
    parsed: HashMap<PathBuf, SopsConfig>,
}

impl Configs {
    fn new(forced: Option<&Path>) -> Result<Self> {
        let forced = match forced {
            Some(path) => Some(load_config(path)?),
            None => None,
        };
        Ok(Self {
            forced,
            by_dir: HashMap::new(),
            parsed: HashMap::new(),
        })
    }

    /// The configuration that governs `file`, if any.
    fn for_file(&mut self, file: &Path) -> Result<Option<&SopsConfig>> {
        if self.forced.is_some() {
            return Ok(self.forced.as_ref());
        }
        let dir = sops_config::absolute_clean(file)
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default();
        let found = self
            .by_dir
            .entry(dir)
            .or_insert_with(|| sops_config::find_for_file(file))
            .clone();
        let Some(path) = found else {
            return Ok(None);
        };
        if !self.parsed.contains_key(&path) {
            let config = load_config(&path)?;
            self.parsed.insert(path.clone(), config);
        }
        Ok(self.parsed.get(&path))
    }
}

fn load_config(path: &Path) -> Result<SopsConfig> {
    let bytes = fsio::read(path)?;
    Ok(SopsConfig::parse(path, &bytes)?)
}

/// Recipients named on the command line (`--root`, `--recipient`).
fn flag_recipients(args: &BootstrapRecipientArgs) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for root in &args.roots {
        let manifest = super::root::load_manifest(root)
            .with_context(|| format!("{}: loading the root", root.display()))?;
        out.push(manifest.body.bootstrap_recipient);
    }
    for r in &args.recipients {
        for part in r.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            // Checked once here rather than failing every file of a tree.
            if !sops_config::is_recipient(part) {
                return Err(CliError::Usage(format!(
                    "--recipient {part:?} is not an age recipient (age1…) or an ssh-ed25519 public key"
                ))
                .into());
            }
            out.push(part.to_owned());
        }
    }
    let mut unique: Vec<String> = Vec::with_capacity(out.len());
    for r in out {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    Ok(unique)
}

/// How one file is to be sealed.
#[derive(Clone, Debug)]
struct Plan {
    key_groups: Vec<Vec<String>>,
    shamir_threshold: usize,
    /// The rule `.sops.yaml` sets; `None` leaves the choice to the content.
    rule: Option<CryptRule>,
    mac_only_encrypted: bool,
}

/// Why a file gets no plan.
enum NoPlan {
    /// A walked file that no creation rule covers: skipped.
    NotCovered(String),
    /// Anything else: the file fails.
    Error(anyhow::Error),
}

/// Chooses recipients and rule for `target`: recipients from the command
/// line win; otherwise the `.sops.yaml` rule's. The rule's crypt options
/// apply in both cases, as in sops.
fn plan_for(target: &Target, flags: &[String], configs: &mut Configs) -> Result<Plan, NoPlan> {
    let config = configs.for_file(&target.path).map_err(NoPlan::Error)?;
    let rule = match config.map(|c| c.rule_for(&target.path)).transpose() {
        Ok(rule) => rule.flatten(),
        Err(e @ sops::Error::NoMatchingRule { .. }) => {
            if target.walked {
                return Err(NoPlan::NotCovered(e.to_string()));
            }
            return Err(NoPlan::Error(e.into()));
        }
        Err(e) => return Err(NoPlan::Error(e.into())),
    };
    let (key_groups, shamir_threshold) = if !flags.is_empty() {
        (vec![flags.to_vec()], 0)
    } else if let Some(r) = rule.filter(|r| !r.key_groups.is_empty()) {
        (r.key_groups.clone(), r.shamir_threshold)
    } else {
        return Err(NoPlan::Error(
            CliError::Usage(
                "no recipients: pass --root ROOTDIR or --recipient AGE_RECIPIENT, or add a .sops.yaml creation rule with age recipients for this path".into(),
            )
            .into(),
        ));
    };
    Ok(Plan {
        key_groups,
        shamir_threshold,
        rule: rule.and_then(|r| r.crypt_rule.clone()),
        mac_only_encrypted: rule.is_some_and(|r| r.mac_only_encrypted),
    })
}

/// The rule for a Secret manifest: only `data` and `stringData` encrypted.
fn secret_rule() -> Result<CryptRule> {
    Ok(CryptRule::from_field(
        "encrypted_regex",
        kubernetes::SECRET_ENCRYPTED_REGEX,
    )?)
}

/// Seals `plain`, or returns `None` if it is sealed already.
fn seal_bytes(plain: &[u8], format: Format, plan: &Plan) -> Result<Option<Vec<u8>>> {
    let rule = match &plan.rule {
        Some(rule) => Some(rule.clone()),
        None => {
            let inspected = match sops::inspect_plain(plain, format, &CryptRule::default()) {
                Ok(i) => i,
                Err(sops::Error::AlreadyEncrypted) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            // A file with any Secret document gets the Secret rule, so that
            // its kind and metadata stay readable to kustomize and Flux.
            if inspected.documents.iter().any(ObjectKind::is_secret) {
                Some(secret_rule()?)
            } else {
                None
            }
        }
    };
    let opts = EncryptOptions {
        key_groups: plan.key_groups.clone(),
        shamir_threshold: plan.shamir_threshold,
        rule,
        mac_only_encrypted: plan.mac_only_encrypted,
    };
    match sops::encrypt(plain, format, &opts) {
        Ok(sealed) => Ok(Some(sealed)),
        Err(sops::Error::AlreadyEncrypted) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------
// Identities

/// Loads identities from `-i` files, then `SOPS_AGE_KEY_FILE`, then
/// `SOPS_AGE_KEY`, as sops reads them.
/// Collects identities from every source sops reads (`cmd/sops` age key
/// source): `-i` files, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`,
/// `$XDG_CONFIG_HOME/sops/age/keys.txt` (or `~/.config/sops/age/keys.txt`),
/// `SOPS_AGE_SSH_PRIVATE_KEY_FILE` and `~/.ssh/id_ed25519`. Files named
/// explicitly must exist; the default locations are used when present.
fn load_identities(args: &BootstrapIdentityArgs) -> Result<Vec<Identity>> {
    let mut out = Vec::new();
    let mut files: Vec<(PathBuf, bool)> =
        args.identities.iter().map(|f| (f.clone(), true)).collect();
    for var in ["SOPS_AGE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"] {
        if let Some(file) = std::env::var_os(var).filter(|f| !f.is_empty()) {
            files.push((PathBuf::from(file), true));
        }
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = config_home {
        files.push((dir.join("sops/age/keys.txt"), false));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        files.push((PathBuf::from(home).join(".ssh/id_ed25519"), false));
    }
    for (file, required) in &files {
        if !required && !file.is_file() {
            continue;
        }
        let bytes = Zeroizing::new(fsio::read(file)?);
        if bytes.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----") {
            out.push(ssh_identity(file, &bytes)?);
            continue;
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            CliError::Input(format!("{}: not a text age identity file", file.display()))
        })?;
        let ids = sops::parse_identities(text)
            .with_context(|| format!("{}: reading age identities", file.display()))?;
        out.extend(ids);
    }
    if let Some(key) = std::env::var_os("SOPS_AGE_KEY") {
        // sops reads the key from the environment; so do we, but the copy
        // we make is wiped. The environment itself is outside our control.
        let key = Zeroizing::new(
            key.into_string()
                .map_err(|_| CliError::Input("SOPS_AGE_KEY is not valid UTF-8".into()))?,
        );
        if !key.trim().is_empty() {
            let ids =
                sops::parse_identities(&key).context("SOPS_AGE_KEY: reading age identities")?;
            out.extend(ids);
        }
    }
    if out.is_empty() {
        return Err(BootstrapError::NoIdentity.into());
    }
    Ok(out)
}

/// An OpenSSH ed25519 private key as an age identity (sops accepts these for
/// files sealed to an `ssh-ed25519` recipient). A passphrase-protected key
/// is asked for on the terminal when it is first needed.
fn ssh_identity(file: &Path, bytes: &[u8]) -> Result<Identity> {
    let name = file.display().to_string();
    match age::ssh::Identity::from_buffer(std::io::BufReader::new(bytes), Some(name.clone())) {
        Ok(age::ssh::Identity::Unencrypted(key)) => {
            Ok(Box::new(age::ssh::Identity::Unencrypted(key)))
        }
        Ok(age::ssh::Identity::Encrypted(key)) => Ok(Box::new(
            age::ssh::Identity::Encrypted(key).with_callbacks(super::prompt::TerminalCallbacks),
        )),
        _ => Err(CliError::Input(format!(
            "{name}: not a supported OpenSSH private key; use an ssh-ed25519 key or an age identity"
        ))
        .into()),
    }
}

// ---------------------------------------------------------------------------
// Batches

/// Runs `work` on a file that has a plan; a file without one is skipped or
/// failed with the reason its planning gave.
fn with_plan(
    planned: Option<&Result<Plan, NoPlan>>,
    work: impl FnOnce(&Plan) -> Outcome,
) -> Outcome {
    match planned {
        Some(Ok(plan)) => work(plan),
        Some(Err(NoPlan::NotCovered(reason))) => Outcome::Skipped(reason.clone()),
        Some(Err(NoPlan::Error(e))) => Outcome::Failed(
            BootstrapError::Planned {
                message: format!("{e:#}"),
                code: super::exit_code_of(e),
            }
            .into(),
        ),
        None => Outcome::Failed(anyhow::anyhow!("internal: no plan")),
    }
}

/// What happened to one file of a tree command.
enum Outcome {
    /// Changed (sealed, updated, rotated, opened).
    Done,
    /// Nothing to do (already sealed, recipients already current, …).
    Unchanged,
    /// Not a file this command works on.
    Skipped(String),
    /// Failed; the file was left untouched.
    Failed(anyhow::Error),
}

/// Names of a batch's lists in its summary.
struct Labels {
    done: &'static str,
    unchanged: &'static str,
    /// Past tense for the human summary line.
    done_text: &'static str,
    unchanged_text: &'static str,
}

/// Runs `work` on every target with a few threads, showing a progress bar
/// when stderr is a terminal, and returns the outcomes in target order.
fn run_batch<F>(targets: &[Target], work: F) -> Vec<Outcome>
where
    F: Fn(usize, &Target) -> Outcome + Sync,
{
    let bar = progress_bar(targets.len());
    let slots: Vec<Mutex<Option<Outcome>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    // Each file costs an age wrap and an fsync; a few threads hide the
    // fsync latency. Files are independent, so order does not matter.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(targets.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let (Some(target), Some(slot)) = (targets.get(i), slots.get(i)) else {
                        break;
                    };
                    let outcome = work(i, target);
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(outcome);
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Outcome::Failed(anyhow::anyhow!("internal: a worker did not finish"))
            })
        })
        .collect()
}

fn progress_bar(total: usize) -> indicatif::ProgressBar {
    if total < 2 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}

/// Prints a batch's report (per-file lines on stderr; the JSON summary on
/// stdout with `--json`) and turns failures into the command's error.
fn finish_batch(
    labels: &Labels,
    targets: &[Target],
    outcomes: Vec<Outcome>,
    skipped: Vec<(PathBuf, String)>,
    json: bool,
) -> Result<()> {
    let mut done = Vec::new();
    let mut unchanged = Vec::new();
    let mut skipped_json = Vec::new();
    let mut errors = Vec::new();
    let mut first_code = None;
    for (path, reason) in &skipped {
        eprintln!(
            "skipped         {}: {}",
            printable(&path.display().to_string()),
            printable(reason)
        );
        skipped_json.push(json!({"path": path.display().to_string(), "reason": reason}));
    }
    for (target, outcome) in targets.iter().zip(outcomes) {
        let name = target.path.display().to_string();
        let shown = printable(&name);
        match outcome {
            Outcome::Done => done.push(name),
            Outcome::Unchanged => {
                eprintln!("{:<15} {shown}", labels.unchanged_text);
                unchanged.push(name);
            }
            Outcome::Skipped(reason) => {
                eprintln!("skipped         {shown}: {}", printable(&reason));
                skipped_json.push(json!({"path": name, "reason": reason}));
            }
            Outcome::Failed(err) => {
                let code = super::exit_code_of(&err);
                first_code.get_or_insert(code);
                eprintln!(
                    "error           {shown}: {}",
                    printable(&format!("{err:#}"))
                );
                errors.push(json!({"path": name, "error": format!("{err:#}"), "exit_code": code}));
            }
        }
    }
    eprintln!(
        "{} {}, {} {}, {} skipped, {} failed",
        done.len(),
        labels.done_text,
        unchanged.len(),
        labels.unchanged_text,
        skipped_json.len(),
        errors.len()
    );
    if json {
        let mut summary = serde_json::Map::new();
        summary.insert(labels.done.into(), json!(done));
        summary.insert(labels.unchanged.into(), json!(unchanged));
        summary.insert("skipped".into(), json!(skipped_json));
        summary.insert("errors".into(), json!(errors));
        print_json(&serde_json::Value::Object(summary))?;
    }
    match first_code {
        None => Ok(()),
        Some(code) => Err(BootstrapError::Batch {
            failed: errors.len(),
            total: targets.len(),
            code,
        }
        .into()),
    }
}

fn print_json(value: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("writing to stdout")?;
    writeln!(out).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// What a file looked like when it was read: enough to tell, before it is
/// replaced, whether someone wrote to it (or replaced it) in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Reads a file a command will rewrite, into a wiping buffer sized from the
/// file (no reallocation leaves a copy behind), with its [`Stamp`] taken
/// from the open file before reading.
fn read_stamped(path: &Path) -> Result<(Zeroizing<Vec<u8>>, Stamp)> {
    use std::io::Read;
    let io_error = |source| fsio::FsError::Io {
        path: path.to_owned(),
        action: "reading",
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let stamp = Stamp::of(&file.metadata().map_err(io_error)?);
    let capacity = usize::try_from(stamp.len).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.read_to_end(&mut bytes).map_err(io_error)?;
    Ok((bytes, stamp))
}

/// Replaces `path` with `bytes`, keeping its permission bits, unless the
/// file no longer matches `read` (length, times, inode): a concurrent edit
/// is never silently overwritten. The window between this last check and
/// the rename remains (no rename compares); it is microseconds, not the
/// seconds of an age wrap and an fsync.
fn replace_keeping_mode(path: &Path, bytes: &[u8], read: Stamp, doing: &'static str) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| fsio::FsError::Io {
        path: path.to_owned(),
        action: "reading",
        source,
    })?;
    if Stamp::of(&meta) != read {
        return Err(CliError::Refused(format!(
            "{}: changed while {doing}; run again (the file was left as it is now)",
            path.display()
        ))
        .into());
    }
    let mode = meta.permissions().mode() & 0o7777;
    fsio::replace(path, bytes, mode)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// seal

fn seal(args: &BootstrapSealArgs) -> Result<()> {
    let flags = flag_recipients(&args.recipients)?;
    let mut configs = Configs::new(args.recipients.config.as_deref())?;
    if !args.in_place {
        return seal_to_stdout(args, &flags, &mut configs);
    }
    let found = collect(
        &args.paths,
        WalkPolicy {
            follow_file_links: false,
            skip_kustomization: true,
            hidden_files: false,
        },
    )?;
    // Plans first (cheap, and .sops.yaml errors show before any write).
    let planned: Vec<Result<Plan, NoPlan>> = found
        .targets
        .iter()
        .map(|t| plan_for(t, &flags, &mut configs))
        .collect();
    let outcomes = run_batch(&found.targets, |i, target| {
        with_plan(planned.get(i), |plan| seal_in_place(&target.path, plan))
    });
    finish_batch(
        &Labels {
            done: "sealed",
            unchanged: "already_sealed",
            done_text: "sealed",
            unchanged_text: "already sealed",
        },
        &found.targets,
        outcomes,
        found.skipped,
        args.json,
    )
}

fn seal_in_place(path: &Path, plan: &Plan) -> Outcome {
    let result = (|| -> Result<Outcome> {
        let (plain, stamp) = read_stamped(path)?;
        match seal_bytes(&plain, Format::from_path(path), plan)? {
            None => Ok(Outcome::Unchanged),
            Some(sealed) => {
                replace_keeping_mode(path, &sealed, stamp, "sealing")?;
                Ok(Outcome::Done)
            }
        }
    })();
    result.unwrap_or_else(Outcome::Failed)
}

fn seal_to_stdout(args: &BootstrapSealArgs, flags: &[String], configs: &mut Configs) -> Result<()> {
    let [path] = args.paths.as_slice() else {
        return Err(CliError::Usage(
            "without --in-place, seal takes exactly one file and prints it; pass --in-place to seal several files or directories".into(),
        )
        .into());
    };
    if path.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is a directory: pass --in-place to seal every file in it",
            path.display()
        ))
        .into());
    }
    let target = Target {
        path: path.clone(),
        walked: false,
        relative: PathBuf::new(),
    };
    let plan = match plan_for(&target, flags, configs) {
        Ok(plan) => plan,
        Err(NoPlan::NotCovered(reason)) => return Err(CliError::Usage(reason).into()),
        Err(NoPlan::Error(e)) => return Err(e.context(path.display().to_string())),
    };
    let plain = Zeroizing::new(fsio::read(path)?);
    let sealed = seal_bytes(&plain, Format::from_path(path), &plan)
        .with_context(|| format!("{}: sealing", path.display()))?
        .ok_or(sops::Error::AlreadyEncrypted)
        .with_context(|| format!("{}: nothing was printed", path.display()))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&sealed).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(())
}

// ---------------------------------------------------------------------------
// open

/// What to do after a failed open, by cause.
fn open_hint(err: &anyhow::Error) -> Option<&'static str> {
    let e = err.chain().find_map(|c| c.downcast_ref::<sops::Error>())?;
    Some(match e {
        sops::Error::MacMismatch | sops::Error::MacUndecryptable => {
            "the sealed file was changed after it was sealed: restore it from version control and find out who changed it"
        }
        sops::Error::ValueDecryption { .. } => {
            "that value was altered, moved to another key, or copied from another file: restore the file from version control"
        }
        sops::Error::NoIdentityOpened | sops::Error::NotEnoughKeyGroups { .. } => {
            "pass the identity the file is sealed to (-i FILE or SOPS_AGE_KEY_FILE)"
        }
        sops::Error::MetadataNotFound => "the file is not sealed; there is nothing to open",
        _ => return None,
    })
}

fn open_one(path: &Path, identities: &[Identity]) -> Result<SecretBytes> {
    let sealed = fsio::read(path)?;
    sops::decrypt(&sealed, Format::from_path(path), identities, false)
        .with_context(|| format!("{}: not opened", path.display()))
}

fn open(args: &BootstrapOpenArgs) -> Result<()> {
    // Unlike `sops -d`, a secret goes to a terminal only when asked for.
    // Checked before any identity is read or anything is decrypted.
    if args.out_dir.is_none() && std::io::stdout().is_terminal() && !args.allow_terminal {
        return Err(CliError::SecretToTerminal.into());
    }
    let identities = load_identities(&args.identities)?;
    let Some(out_dir) = &args.out_dir else {
        let [path] = args.files.as_slice() else {
            return Err(CliError::Usage(
                "open prints one file; pass --out-dir DIR to open several files or directories"
                    .into(),
            )
            .into());
        };
        let plain = open_one(path, &identities).inspect_err(|e| {
            if let Some(hint) = open_hint(e) {
                eprintln!("hint: {hint}");
            }
        })?;
        let mut out = std::io::stdout().lock();
        out.write_all(plain.expose_secret())
            .context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
        return Ok(());
    };
    let found = collect(
        &args.files,
        WalkPolicy {
            follow_file_links: true,
            skip_kustomization: false,
            hidden_files: false,
        },
    )?;
    let opened: Vec<Mutex<Option<SecretBytes>>> =
        found.targets.iter().map(|_| Mutex::new(None)).collect();
    let outcomes = run_batch(&found.targets, |i, target| {
        match open_one(&target.path, &identities) {
            Ok(plain) => {
                if let Some(slot) = opened.get(i) {
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(plain);
                    }
                }
                Outcome::Done
            }
            Err(e)
                if target.walked
                    && e.chain().any(|c| {
                        matches!(
                            c.downcast_ref::<sops::Error>(),
                            Some(sops::Error::MetadataNotFound)
                        )
                    }) =>
            {
                Outcome::Skipped("not sealed".into())
            }
            Err(e) => Outcome::Failed(e),
        }
    });
    let failed = outcomes.iter().any(|o| matches!(o, Outcome::Failed(_)));
    let mut write_error = None;
    if !failed {
        // All or nothing: the directory appears only with every file in it.
        let staged = fsio::StagedDir::new(out_dir)?;
        for (target, slot) in found.targets.iter().zip(&opened) {
            let plain = slot.lock().ok().and_then(|mut s| s.take());
            if let Some(plain) = plain {
                let relative = target.relative.to_string_lossy();
                if let Err(e) = staged.add(&relative, plain.expose_secret(), fsio::SECRET_MODE) {
                    write_error = Some(e);
                    break;
                }
            }
        }
        match write_error {
            Some(e) => {
                return Err(anyhow::Error::from(e).context(
                    "writing the opened files (two inputs with the same name?); nothing was written",
                ));
            }
            None => {
                staged.commit()?;
            }
        }
    } else {
        eprintln!("nothing was written to {}", out_dir.display());
    }
    finish_batch(
        &Labels {
            done: "opened",
            unchanged: "unchanged",
            done_text: "opened",
            unchanged_text: "unchanged",
        },
        &found.targets,
        outcomes,
        found.skipped,
        false,
    )
}

// ---------------------------------------------------------------------------
// updatekeys and rotate

fn update_keys(args: &BootstrapUpdateKeysArgs) -> Result<()> {
    let flags = flag_recipients(&args.recipients)?;
    let mut configs = Configs::new(args.recipients.config.as_deref())?;
    let identities = load_identities(&args.identities)?;
    let found = collect(
        &args.paths,
        WalkPolicy {
            follow_file_links: false,
            skip_kustomization: false,
            hidden_files: false,
        },
    )?;
    let planned: Vec<Result<Plan, NoPlan>> = found
        .targets
        .iter()
        .map(|t| plan_for(t, &flags, &mut configs))
        .collect();
    let outcomes = run_batch(&found.targets, |i, target| {
        with_plan(planned.get(i), |plan| update_one(target, plan, &identities))
    });
    finish_batch(
        &Labels {
            done: "updated",
            unchanged: "unchanged",
            done_text: "updated",
            unchanged_text: "already current",
        },
        &found.targets,
        outcomes,
        found.skipped,
        args.json,
    )
}

/// Whether a file's key groups already are the plan's (same recipients per
/// group, same effective threshold), so that nothing needs rewriting.
fn groups_current(inspection: &sops::Inspection, plan: &Plan) -> bool {
    let same_groups = inspection.age_recipients.len() == plan.key_groups.len()
        && inspection
            .age_recipients
            .iter()
            .zip(&plan.key_groups)
            .all(|(have, want)| have.len() == want.len() && want.iter().all(|r| have.contains(r)));
    let effective = |t: usize, n: usize| if t == 0 || n < 2 { n } else { t };
    let groups = plan.key_groups.len();
    same_groups
        && inspection.opaque_keys.iter().all(|&n| n == 0)
        && effective(inspection.shamir_threshold, groups)
            == effective(plan.shamir_threshold, groups)
}

fn update_one(target: &Target, plan: &Plan, identities: &[Identity]) -> Outcome {
    let path = &target.path;
    let result = (|| -> Result<Outcome> {
        let (sealed, stamp) = read_stamped(path)?;
        let format = Format::from_path(path);
        let inspection = match sops::inspect(&sealed, format) {
            Ok(i) => i,
            Err(sops::Error::MetadataNotFound) if target.walked => {
                return Ok(Outcome::Skipped("not sealed".into()));
            }
            Err(e) => return Err(e.into()),
        };
        if groups_current(&inspection, plan) {
            return Ok(Outcome::Unchanged);
        }
        let updated = sops::update_keys(
            &sealed,
            format,
            identities,
            &plan.key_groups,
            plan.shamir_threshold,
        )?;
        replace_keeping_mode(path, &updated, stamp, "updating its keys")?;
        Ok(Outcome::Done)
    })();
    result.unwrap_or_else(Outcome::Failed)
}

fn rotate(args: &BootstrapRotateArgs) -> Result<()> {
    let identities = load_identities(&args.identities)?;
    let found = collect(
        &args.paths,
        WalkPolicy {
            follow_file_links: false,
            skip_kustomization: false,
            hidden_files: false,
        },
    )?;
    let outcomes = run_batch(&found.targets, |_, target| {
        let path = &target.path;
        let result = (|| -> Result<Outcome> {
            let (sealed, stamp) = read_stamped(path)?;
            let format = Format::from_path(path);
            match sops::rotate(&sealed, format, &identities) {
                Ok(rotated) => {
                    replace_keeping_mode(path, &rotated, stamp, "rotating")?;
                    Ok(Outcome::Done)
                }
                Err(sops::Error::MetadataNotFound) if target.walked => {
                    Ok(Outcome::Skipped("not sealed".into()))
                }
                Err(e) => Err(e.into()),
            }
        })();
        result.unwrap_or_else(Outcome::Failed)
    });
    finish_batch(
        &Labels {
            done: "rotated",
            unchanged: "unchanged",
            done_text: "rotated",
            unchanged_text: "unchanged",
        },
        &found.targets,
        outcomes,
        found.skipped,
        args.json,
    )
}

// ---------------------------------------------------------------------------
// verify

/// One problem found by `verify`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Offender {
    /// The file.
    pub file: String,
    /// The key path (`data:password`), `sops:…` for metadata, `-` for the
    /// whole file.
    pub key_path: String,
    /// What is wrong, never a value.
    pub reason: String,
}

fn key_path(path: &[String]) -> String {
    if path.is_empty() {
        "-".into()
    } else {
        path.join(":")
    }
}

fn describe_document(kinds: &[ObjectKind], document: usize) -> String {
    let which = if kinds.len() > 1 {
        format!("document {}, ", document + 1)
    } else {
        String::new()
    };
    match kinds.get(document) {
        Some(ObjectKind::Secret { name: Some(n) }) => format!("{which}Secret {n:?}"),
        Some(ObjectKind::Secret { name: None }) => format!("{which}Secret"),
        _ => which.trim_end_matches(", ").to_owned(),
    }
}

fn in_secret_values(path: &[String]) -> bool {
    path.first()
        .is_some_and(|k| kubernetes::SECRET_VALUE_KEYS.contains(&k.as_str()))
}

/// What verify checks sealed files against.
pub struct VerifyPolicy {
    /// root.json's bootstrap recipient.
    pub root_recipient: String,
}

/// Checks one file; returns its offenders.
fn verify_file(path: &Path, policy: &VerifyPolicy, configs: &mut Configs) -> Vec<Offender> {
    let file = path.display().to_string();
    let mut out = Vec::new();
    let mut offend = |key_path: String, reason: String| {
        out.push(Offender {
            file: file.clone(),
            key_path,
            reason,
        })
    };
    let bytes = match fsio::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) => {
            offend("-".into(), format!("cannot be read: {e}"));
            return out;
        }
    };
    let format = Format::from_path(path);
    let config = match configs.for_file(path) {
        Ok(c) => c,
        Err(e) => {
            offend("-".into(), format!("its .sops.yaml cannot be used: {e:#}"));
            return out;
        }
    };
    let rule = match config.map(|c| c.rule_for(path)).transpose() {
        Ok(r) => r.flatten(),
        Err(sops::Error::NoMatchingRule { .. }) => None,
        Err(e) => {
            offend("-".into(), format!("its .sops.yaml cannot be used: {e}"));
            return out;
        }
    };
    let inspection = match sops::inspect(&bytes, format) {
        Ok(i) => i,
        Err(sops::Error::MetadataNotFound) => {
            verify_plain(&bytes, format, rule, &mut offend);
            return out;
        }
        Err(e) => {
            let at = match &e {
                sops::Error::MalformedEncryptedValue { path }
                | sops::Error::UnsupportedValue { path, .. }
                | sops::Error::UnexpectedLeaf { path } => path.clone(),
                sops::Error::InvalidMetadata { field, .. } => format!("sops:{field}"),
                _ => "-".into(),
            };
            offend(at, format!("malformed sealed file: {e}"));
            return out;
        }
    };

    if !inspection.version_supported {
        offend(
            "sops:version".into(),
            format!(
                "version {:?} is not one sops can decrypt",
                inspection.version
            ),
        );
    }
    let (rule_field, rule_value) = &inspection.rule;
    let mut reported: Vec<(usize, Vec<String>)> = Vec::new();
    for leaf in &inspection.leaves {
        let what = if leaf.is_comment { "comment" } else { "value" };
        let mut doc = describe_document(&inspection.documents, leaf.document);
        if !doc.is_empty() {
            doc = format!(" ({doc})");
        }
        if leaf.malformed {
            offend(
                key_path(&leaf.path),
                format!("malformed ENC[…] {what}{doc}: damaged or edited by hand"),
            );
            reported.push((leaf.document, leaf.path.clone()));
        } else if leaf.rule_says_encrypted && !leaf.encrypted && !leaf.empty {
            offend(
                key_path(&leaf.path),
                format!(
                    "{what} in clear{doc}, but the file's rule {rule_field}: {rule_value:?} says it is encrypted"
                ),
            );
            reported.push((leaf.document, leaf.path.clone()));
        }
    }
    // A Secret's values must be sealed whatever rule the file was sealed with.
    for leaf in &inspection.leaves {
        let secret = inspection
            .documents
            .get(leaf.document)
            .is_some_and(ObjectKind::is_secret);
        if secret
            && in_secret_values(&leaf.path)
            && !leaf.encrypted
            && !leaf.empty
            && !leaf.is_comment
            && !reported.contains(&(leaf.document, leaf.path.clone()))
        {
            offend(
                key_path(&leaf.path),
                format!(
                    "value in clear in {}: the file's rule {rule_field}: {rule_value:?} leaves Secret data unencrypted",
                    describe_document(&inspection.documents, leaf.document)
                ),
            );
        }
    }

    // Recipients: exactly root.json's bootstrap recipient plus whatever the
    // .sops.yaml rule for this path lists.
    let opaque: usize = inspection.opaque_keys.iter().sum();
    if opaque > 0 {
        offend(
            "sops".into(),
            format!(
                "{opaque} non-age master key(s) (pgp, kms, …): bootstrap files must be sealed to age recipients only"
            ),
        );
    }
    let mut expected = vec![policy.root_recipient.clone()];
    if let Some(rule) = rule {
        for r in rule.recipients() {
            if !expected.contains(&r) {
                expected.push(r);
            }
        }
    }
    let actual: Vec<&String> = inspection.age_recipients.iter().flatten().collect();
    let metadata_path = if inspection.age_recipients.len() > 1 {
        "sops:key_groups"
    } else {
        "sops:age"
    };
    for want in &expected {
        if !actual.contains(&want) {
            let why = if *want == policy.root_recipient {
                "root.json's bootstrap recipient".to_owned()
            } else {
                rule.map(|r| format!("listed by .sops.yaml {}", r.describe()))
                    .unwrap_or_default()
            };
            offend(
                metadata_path.into(),
                format!("recipient {want} is missing ({why}): run `ceremony bootstrap updatekeys`"),
            );
        }
    }
    for have in actual {
        if !expected.contains(have) {
            offend(
                metadata_path.into(),
                format!(
                    "recipient {have} is neither root.json's bootstrap recipient nor listed by .sops.yaml: run `ceremony bootstrap updatekeys`"
                ),
            );
        }
    }
    if let Some(rule) = rule.filter(|r| r.key_groups.len() > 1) {
        if inspection.age_recipients.len() != rule.key_groups.len() {
            offend(
                "sops:key_groups".into(),
                format!(
                    "{} key group(s), but .sops.yaml {} has {}",
                    inspection.age_recipients.len(),
                    rule.describe(),
                    rule.key_groups.len()
                ),
            );
        } else if inspection.shamir_threshold != rule.shamir_threshold && rule.shamir_threshold != 0
        {
            offend(
                "sops:shamir_threshold".into(),
                format!(
                    "threshold {}, but .sops.yaml {} says {}",
                    inspection.shamir_threshold,
                    rule.describe(),
                    rule.shamir_threshold
                ),
            );
        }
    }
    out
}

/// Checks a file with no sops metadata: it must not hold a Secret, and no
/// `.sops.yaml` rule with a `path_regex` may cover it.
fn verify_plain(
    bytes: &[u8],
    format: Format,
    rule: Option<&sops_config::CreationRule>,
    offend: &mut dyn FnMut(String, String),
) {
    let rule_text = rule.map(|r| r.describe());
    let inspected = match secret_rule().and_then(|r| Ok(sops::inspect_plain(bytes, format, &r)?)) {
        Ok(i) => i,
        Err(e) => {
            offend(
                "-".into(),
                format!("cannot be parsed as {format}, so it cannot be checked: {e:#}"),
            );
            return;
        }
    };
    let mut flagged = false;
    for (document, kind) in inspected.documents.iter().enumerate() {
        if !kind.is_secret() {
            continue;
        }
        flagged = true;
        let doc = describe_document(&inspected.documents, document);
        offend(
            "-".into(),
            format!("{doc} is not sealed: run `ceremony bootstrap seal --in-place` on it"),
        );
        for leaf in inspected.leaves.iter().filter(|l| {
            l.document == document && in_secret_values(&l.path) && !l.empty && !l.is_comment
        }) {
            offend(
                key_path(&leaf.path),
                format!("value in clear in {doc} (the file is not sealed)"),
            );
        }
    }
    if let (false, Some(rule)) = (flagged, rule.filter(|r| r.path_regex.is_some())) {
        offend(
            "-".into(),
            format!(
                "not sealed, but .sops.yaml {} covers it",
                rule_text.unwrap_or_else(|| rule.describe())
            ),
        );
    }
}

fn verify(args: &BootstrapVerifyArgs) -> Result<()> {
    let manifest = super::root::load_manifest(&args.root)
        .with_context(|| format!("{}: loading the root", args.root.display()))?;
    let policy = VerifyPolicy {
        root_recipient: manifest.body.bootstrap_recipient.clone(),
    };
    let mut configs = Configs::new(args.config.as_deref())?;
    let found = collect(
        &args.paths,
        WalkPolicy {
            follow_file_links: true,
            skip_kustomization: false,
            hidden_files: true,
        },
    )?;
    let mut offenders = Vec::new();
    for target in &found.targets {
        offenders.extend(verify_file(&target.path, &policy, &mut configs));
    }
    report_verify(
        &offenders,
        found.targets.len(),
        &found.skipped,
        &policy,
        &manifest.body.root_id,
        args.json,
    )
}

fn report_verify(
    offenders: &[Offender],
    files: usize,
    skipped: &[(PathBuf, String)],
    policy: &VerifyPolicy,
    root_id: &str,
    json: bool,
) -> Result<()> {
    let ok = offenders.is_empty() && files > 0;
    if json {
        let skipped_json: Vec<_> = skipped
            .iter()
            .map(|(path, reason)| json!({"path": path.display().to_string(), "reason": reason}))
            .collect();
        print_json(&json!({
            "root_id": root_id,
            "bootstrap_recipient": policy.root_recipient,
            "files_checked": files,
            "ok": ok,
            "offenders": offenders,
            "skipped": skipped_json,
        }))?;
    } else {
        let mut out = std::io::stdout().lock();
        for o in offenders {
            // Paths, key names and reasons come from the files checked:
            // escaped, so that a file cannot drive the terminal.
            writeln!(
                out,
                "{}: {}: {}",
                printable(&o.file),
                printable(&o.key_path),
                printable(&o.reason)
            )
            .context("writing to stdout")?;
        }
        out.flush().context("writing to stdout")?;
        for (path, reason) in skipped {
            eprintln!(
                "skipped         {}: {}",
                printable(&path.display().to_string()),
                printable(reason)
            );
        }
    }
    let bad_files = {
        let mut names: Vec<&str> = offenders.iter().map(|o| o.file.as_str()).collect();
        names.dedup();
        names.len()
    };
    let skipped_text = if skipped.is_empty() {
        String::new()
    } else {
        format!(", {} skipped (listed above)", skipped.len())
    };
    if files == 0 {
        return Err(CliError::Verification(format!(
            "no file was checked{skipped_text}: name the manifests or the directories that hold them"
        ))
        .into());
    }
    if ok {
        eprintln!(
            "✓ {files} file(s) checked{skipped_text}: every Secret is sealed, to {} and the .sops.yaml recipients",
            policy.root_recipient
        );
        Ok(())
    } else {
        Err(CliError::Verification(format!(
            "{} offender(s) in {bad_files} of {files} file(s) checked{skipped_text}",
            offenders.len()
        ))
        .into())
    }
}

// ---------------------------------------------------------------------------
// For the demo

/// Seals `plain` (named `name`, for its format) to `recipient` with the
/// rules `bootstrap seal` uses when no `.sops.yaml` applies.
pub fn seal_for_demo(name: &Path, plain: &[u8], recipient: &str) -> Result<Vec<u8>> {
    let plan = Plan {
        key_groups: vec![vec![recipient.to_owned()]],
        shamir_threshold: 0,
        rule: None,
        mac_only_encrypted: false,
    };
    seal_bytes(plain, Format::from_path(name), &plan)?
        .ok_or_else(|| sops::Error::AlreadyEncrypted.into())
}

/// Runs `bootstrap verify`'s checks on files; returns the offenders.
pub fn verify_for_demo(paths: &[PathBuf], root_recipient: &str) -> Result<Vec<Offender>> {
    let policy = VerifyPolicy {
        root_recipient: root_recipient.to_owned(),
    };
    let mut configs = Configs::new(None)?;
    Ok(paths
        .iter()
        .flat_map(|p| verify_file(p, &policy, &mut configs))
        .collect())
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn replace_refuses_a_file_changed_since_it_was_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.yaml");
        std::fs::write(&path, "a: 1\n").expect("write");
        let (bytes, stamp) = read_stamped(&path).expect("read");
        assert_eq!(bytes.as_slice(), b"a: 1\n");
        // Someone edits the file while it is being sealed.
        std::fs::write(&path, "a: 2\n").expect("write");
        let err = replace_keeping_mode(&path, b"sealed\n", stamp, "sealing")
            .expect_err("a changed file is not replaced");
        assert!(
            err.to_string().contains("changed while sealing; run again"),
            "{err}"
        );
        assert_eq!(super::super::exit_code_of(&err), exit::REFUSED);
        assert_eq!(std::fs::read(&path).expect("read"), b"a: 2\n");

        // Replaced by another file (new inode), same content and length.
        let (_, stamp) = read_stamped(&path).expect("read");
        let other = dir.path().join("other");
        std::fs::write(&other, "a: 2\n").expect("write");
        std::fs::rename(&other, &path).expect("rename");
        assert!(replace_keeping_mode(&path, b"sealed\n", stamp, "sealing").is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"a: 2\n");

        // Unchanged: replaced, mode kept.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let (_, stamp) = read_stamped(&path).expect("read");
        replace_keeping_mode(&path, b"sealed\n", stamp, "sealing").expect("replaced");
        assert_eq!(std::fs::read(&path).expect("read"), b"sealed\n");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }
}
