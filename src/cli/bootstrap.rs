//! `ceremony bootstrap …`: Phase 1. Every rule is the library's
//! ([`ceremony::bootstrap`]); this module turns flags into plans, shows
//! progress and renders results.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result};
use ceremony::bootstrap::{
    self, Configs, Outcome, PerTarget, Planned, Plans, REWRITE_WALK, RootPolicy, Summary, batch,
    plan, seal,
};
use ceremony::clock::SystemClock;
use ceremony::fsio;
use ceremony::identity::{self, Identity, Keyring, ProcessEnvironment};
use ceremony::root::{BootstrapKey, RootDir};
use ceremony::secret::SecretBytes;
use ceremony::sops::Recipient;
use ceremony::walk::{self, FileLinks, Target};
use serde_json::json;

use super::CliError;
use super::args::{
    BootstrapCommand, BootstrapIdentityArgs, BootstrapOpenArgs, BootstrapQuorumArgs,
    BootstrapRecipientArgs, BootstrapRotateArgs, BootstrapSealArgs, BootstrapUpdateKeysArgs,
    BootstrapVerifyArgs,
};
use super::output::{self, SecretStdout, note, printable};
use super::prompt::TerminalCallbacks;

mod set;

/// Runs one `bootstrap` subcommand.
pub fn run(command: BootstrapCommand) -> Result<()> {
    match command {
        BootstrapCommand::Seal(args) => seal(&args),
        BootstrapCommand::Open(args) => open(&args),
        BootstrapCommand::Verify(args) => verify(&args),
        BootstrapCommand::Updatekeys(args) => update_keys(&args),
        BootstrapCommand::Rotate(args) => rotate(&args),
        BootstrapCommand::Set(args) => set::run(&args),
    }
}

/// Recipients named on the command line (`--root`, `--recipient`), each once.
fn flag_recipients(args: &BootstrapRecipientArgs) -> Result<Vec<Recipient>> {
    let mut out: Vec<Recipient> = Vec::new();
    for dir in &args.roots {
        let root = RootDir::load(dir)?;
        out.push(Recipient::parse(&root.manifest().body.bootstrap_recipient)?);
    }
    for text in &args.recipients {
        let parsed = Recipient::parse_list(text)
            .map_err(|e| CliError::Usage(format!("--recipient: {e}")))?;
        out.extend(parsed);
    }
    let mut unique: Vec<Recipient> = Vec::with_capacity(out.len());
    for r in out {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    Ok(unique)
}

fn sops_identities(args: &BootstrapIdentityArgs) -> Result<Keyring> {
    Ok(identity::sops_identities(
        &args.identities,
        &ProcessEnvironment,
        TerminalCallbacks,
    )?)
}

/// The root's bootstrap identities rebuilt from a quorum's bundles (opened
/// with `identities`), as identities that open SOPS files: the current one
/// and, while a rotation is under way, the retiring one. Nothing when no
/// bundle is given.
fn quorum_identities(
    root: Option<&std::path::Path>,
    quorum: &BootstrapQuorumArgs,
    identities: &[Identity],
) -> Result<Vec<Identity>> {
    if quorum.bundles.is_empty() {
        return Ok(Vec::new());
    }
    let root = root.ok_or_else(|| {
        CliError::Usage("--bundle needs the root it belongs to: --root ROOTDIR".into())
    })?;
    let root = RootDir::load(root)?;
    let gate = super::preflight::gate(&quorum.preflight)?;
    let bundles = super::root::open_bundles(&root, &quorum.bundles, identities)?;
    let current = super::root::rebuild_one::<BootstrapKey>(&root, &bundles, &gate)?;
    let retiring = super::root::rebuild_retiring::<BootstrapKey>(&root, &bundles, &gate)?;
    let mut out: Vec<Identity> = vec![Box::new(current.identity()?)];
    if let Some(key) = retiring {
        out.push(Box::new(key.identity()?));
    }
    Ok(out)
}

/// A progress bar on stderr when it is a terminal, for trees of files.
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

fn run_batch<F>(targets: &[Target], work: F) -> Vec<Outcome>
where
    F: Fn(usize, &Target) -> Outcome + Sync,
{
    let bar = progress_bar(targets.len());
    let outcomes = batch::run(targets, work, &|| bar.inc(1));
    bar.finish_and_clear();
    outcomes
}

/// [`run_batch`] for work that rewrites files: done means durable.
fn run_writing<F>(targets: &[Target], work: F) -> Vec<Outcome>
where
    F: Fn(usize, &Target, &fsio::Batch) -> Outcome + Sync,
{
    let bar = progress_bar(targets.len());
    let outcomes = batch::run_writing(targets, work, &|| bar.inc(1));
    bar.finish_and_clear();
    outcomes
}

/// What a batch's lists are called in its report.
struct Labels {
    /// JSON key of the changed files.
    done: &'static str,
    /// JSON key of the files left alone.
    unchanged: &'static str,
    /// Past tense for the human summary.
    done_text: &'static str,
    unchanged_text: &'static str,
    /// What another name (hard link) of a changed file still holds, and
    /// what that means: the write replaced one name only.
    other_names: &'static str,
}

/// Prints a batch's report (per-file lines on stderr, the JSON summary on
/// stdout with `--json`) and turns failures into the command's error.
fn finish_batch(labels: &Labels, summary: &Summary, as_json: bool) -> Result<()> {
    let shown = |p: &std::path::Path| printable(&p.display().to_string());
    for s in &summary.skipped {
        note!(
            "skipped         {}: {}",
            shown(&s.path),
            printable(&s.reason)
        );
    }
    for t in &summary.unchanged {
        note!("{:<15} {}", labels.unchanged_text, shown(&t.path));
    }
    let mut errors = Vec::new();
    output::leftovers(&summary.leftovers);
    for (t, links) in &summary.other_names {
        note!(
            "warning         {}: {links} other name(s) (hard links) of this file {}; list them with `find / -xdev -samefile {}`",
            shown(&t.path),
            labels.other_names,
            shown(&t.path)
        );
    }
    for (t, err) in &summary.failed {
        let message = ceremony::error::chain_text(err);
        note!(
            "error           {}: {}",
            shown(&t.path),
            printable(&message)
        );
        // The command's own error ends in a hint to read these lines, so
        // a file's hint is said here or nowhere.
        if let Some(hint) = err.hint() {
            note!("hint            {}: {hint}", shown(&t.path));
        }
        let code = super::exit::for_class(err.class());
        errors.push(
            json!({"path": t.path.display().to_string(), "error": message, "exit_code": code}),
        );
    }
    note!(
        "{} {}, {} {}, {} skipped, {} failed",
        summary.done.len(),
        labels.done_text,
        summary.unchanged.len(),
        labels.unchanged_text,
        summary.skipped.len(),
        summary.failed.len()
    );
    if !summary.rekeyed.is_empty() {
        note!(
            "{} of the {} lost a recipient and got a new data key (what the removed recipient could open is gone from them)",
            summary.rekeyed.len(),
            labels.done_text
        );
    }
    if as_json {
        let paths = |ts: &[Target]| -> Vec<String> {
            ts.iter().map(|t| t.path.display().to_string()).collect()
        };
        let skipped: Vec<_> = summary
            .skipped
            .iter()
            .map(|s| json!({"path": s.path.display().to_string(), "reason": s.reason}))
            .collect();
        let mut out = serde_json::Map::new();
        out.insert(labels.done.into(), json!(paths(&summary.done)));
        if !summary.rekeyed.is_empty() {
            out.insert("new_data_key".into(), json!(paths(&summary.rekeyed)));
        }
        out.insert(labels.unchanged.into(), json!(paths(&summary.unchanged)));
        out.insert("skipped".into(), json!(skipped));
        out.insert("errors".into(), json!(errors));
        output::json(&serde_json::Value::Object(out))?;
    }
    Ok(summary.result()?)
}

fn seal(args: &BootstrapSealArgs) -> Result<()> {
    let flags = flag_recipients(&args.recipients)?;
    let mut configs = Configs::new(args.recipients.config.as_deref())?;
    if !args.in_place {
        return seal_to_stdout(args, &flags, &mut configs);
    }
    let found = walk::collect(
        &args.paths,
        walk::Policy {
            skip_kustomization: true,
            ..REWRITE_WALK
        },
    )?;
    let planned = Plans::plan(&found.targets, &flags, &mut configs);
    let outcomes = run_writing(&found.targets, |i, target, writes| {
        planned.with(i, |plan| {
            seal::seal_in_place(&target.path, plan, &SystemClock, writes).into()
        })
    });
    let summary = Summary::new(&found.targets, outcomes, found.skipped);
    finish_batch(
        &Labels {
            done: "sealed",
            unchanged: "already_sealed",
            done_text: "sealed",
            unchanged_text: "already sealed",
            // Refused before sealing; a link made in the rename's own
            // window is all that can reach this.
            other_names: "still hold the cleartext",
        },
        &summary,
        args.json,
    )
}

fn seal_to_stdout(
    args: &BootstrapSealArgs,
    flags: &[Recipient],
    configs: &mut Configs,
) -> Result<()> {
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
    let Planned::Plan(plan) = plan::plan_for(&target, flags, configs)? else {
        return Err(
            CliError::Usage(format!("{}: no .sops.yaml rule covers it", path.display())).into(),
        );
    };
    let sealed = seal::seal_to_bytes(path, &plan, &SystemClock)
        .with_context(|| format!("{}: nothing was printed", path.display()))?;
    output::product(&sealed)?;
    Ok(())
}

fn open(args: &BootstrapOpenArgs) -> Result<()> {
    let mac_check = if args.ignore_mac {
        note!(
            "warning: --ignore-mac: the file MAC is not checked; a removed, added or reordered value will go unnoticed"
        );
        ceremony::sops::MacCheck::Skip
    } else {
        ceremony::sops::MacCheck::Verify
    };
    let Some(out_dir) = &args.out_dir else {
        // Unlike `sops -d`, a secret goes to a terminal only when asked
        // for; checked before any identity is read or anything decrypted.
        let stdout = SecretStdout::check(args.allow_terminal)?;
        let [path] = args.files.as_slice() else {
            return Err(CliError::Usage(
                "open prints one file; pass --out-dir DIR to open several files or directories"
                    .into(),
            )
            .into());
        };
        let identities = sops_identities(&args.identities)?;
        let plain = seal::open_with(path, &identities, mac_check).context("not opened")?;
        stdout.write(plain.expose_secret())?;
        return Ok(());
    };
    let identities = sops_identities(&args.identities)?;
    let found = walk::collect(
        &args.files,
        walk::Policy {
            file_links: FileLinks::Follow,
            ..REWRITE_WALK
        },
    )?;
    let opened: Vec<Mutex<Option<SecretBytes>>> =
        found.targets.iter().map(|_| Mutex::new(None)).collect();
    let outcomes = run_batch(&found.targets, |i, target| {
        match seal::open_with(&target.path, &identities, mac_check) {
            Ok(plain) => {
                if let Some(Ok(mut slot)) = opened.get(i).map(Mutex::lock) {
                    *slot = Some(plain);
                }
                Outcome::Done(fsio::Written::default())
            }
            Err(bootstrap::Error::Sops {
                source: ceremony::sops::Error::MetadataNotFound,
                ..
            }) if target.walked => Outcome::Skipped("not sealed".into()),
            Err(e) => Outcome::Failed(e),
        }
    });
    let summary = Summary::new(&found.targets, outcomes, found.skipped);
    if summary.failed.is_empty() {
        // All or nothing: the directory appears only with every file in it.
        let staged = fsio::StagedDir::new(out_dir)?;
        output::leftovers(staged.leftovers());
        for (target, slot) in found.targets.iter().zip(&opened) {
            let plain = slot.lock().ok().and_then(|mut s| s.take());
            if let Some(plain) = plain {
                staged
                    .add(&target.relative.to_string_lossy(), plain.expose_secret(), fsio::SECRET_MODE)
                    .context("writing the opened files (two inputs with the same name?); nothing was written")?;
            }
        }
        staged.commit()?;
    } else {
        note!("nothing was written to {}", out_dir.display());
    }
    finish_batch(
        &Labels {
            done: "opened",
            unchanged: "unchanged",
            done_text: "opened",
            unchanged_text: "unchanged",
            other_names: "",
        },
        &summary,
        false,
    )
}

fn update_keys(args: &BootstrapUpdateKeysArgs) -> Result<()> {
    let flags = flag_recipients(&args.recipients)?;
    let mut configs = Configs::new(args.recipients.config.as_deref())?;
    let mut identities = sops_identities(&args.identities)?;
    let root = match args.recipients.roots.as_slice() {
        [] => None,
        [one] => Some(one.as_path()),
        _ if args.quorum.bundles.is_empty() => None,
        _ => {
            return Err(CliError::Usage(
                "--bundle rebuilds the bootstrap identity of one root: give one --root".into(),
            )
            .into());
        }
    };
    identities.extend(quorum_identities(root, &args.quorum, &identities)?);
    let found = walk::collect(&args.paths, REWRITE_WALK)?;
    let planned = Plans::plan(&found.targets, &flags, &mut configs);
    let outcomes = run_writing(&found.targets, |i, target, writes| {
        planned.with(i, |plan| {
            seal::update_in_place(target, plan, &identities, &SystemClock, writes).into()
        })
    });
    let summary = Summary::new(&found.targets, outcomes, found.skipped);
    finish_batch(
        &Labels {
            done: "updated",
            unchanged: "unchanged",
            done_text: "updated",
            unchanged_text: "already current",
            other_names: "still hold it sealed to the old recipients (who can still open that copy)",
        },
        &summary,
        args.json,
    )
}

fn rotate(args: &BootstrapRotateArgs) -> Result<()> {
    let mut identities = sops_identities(&args.identities)?;
    identities.extend(quorum_identities(
        args.root.as_deref(),
        &args.quorum,
        &identities,
    )?);
    let found = walk::collect(&args.paths, REWRITE_WALK)?;
    let mut configs = Configs::new(args.config.as_deref())?;
    // Looked up before the batch (the lookup caches by directory).
    let layouts = PerTarget::new(&found.targets, |target| {
        plan::layout_for(&target.path, &mut configs)
    });
    let outcomes = run_writing(&found.targets, |i, target, writes| match layouts.take(i) {
        Ok(layout) => {
            seal::rotate_in_place(target, &layout, &identities, &SystemClock, writes).into()
        }
        Err(e) => Outcome::Failed(e),
    });
    let summary = Summary::new(&found.targets, outcomes, found.skipped);
    finish_batch(
        &Labels {
            done: "rotated",
            unchanged: "unchanged",
            done_text: "rotated",
            unchanged_text: "unchanged",
            other_names: "still hold it under the old data key: for that copy the rotation did not happen",
        },
        &summary,
        args.json,
    )
}

fn verify(args: &BootstrapVerifyArgs) -> Result<()> {
    let root = RootDir::load(&args.root)?;
    let policy = RootPolicy::of(&root.manifest().body)?;
    let mut configs = Configs::new(args.config.as_deref())?;
    let verified = bootstrap::policy::verify_paths(&args.paths, &policy, &mut configs)?;
    let show = if args.all {
        output::Show::All
    } else {
        output::Show::Problems
    };
    output::report_showing(&verified.report, "bootstrap verify", args.json, show)?;
    let skipped = verified.report.count(ceremony::report::Status::NotChecked);
    let skipped_text = if skipped == 0 {
        String::new()
    } else {
        format!(", {skipped} skipped (listed above)")
    };
    let files = verified.files_checked;
    if files == 0 {
        return Err(CliError::NotVerified(format!(
            "no file was checked{skipped_text}: name the manifests or the directories that hold them"
        ))
        .into());
    }
    if verified.report.passed() {
        note!(
            "✓ {files} file(s) checked{skipped_text}: every Secret is sealed, to {} and the .sops.yaml recipients",
            policy.root_recipient
        );
        Ok(())
    } else {
        Err(CliError::NotVerified(format!(
            "{} offender(s) in {} of {files} file(s) checked{skipped_text}",
            verified.report.failures().count(),
            verified.files_failed
        ))
        .into())
    }
}
