//! `ceremony demo`: the main job end to end, with throwaway custodians in a
//! temporary directory, printing each step. Every step calls the same
//! library code as the real commands; only the custodians' keys are
//! generated on the spot, and the demo runs with `--allow-online` so that it
//! works on any machine (said out loud, and recorded in root.json).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ceremony::clock::SystemClock;
use ceremony::fsio;
use ceremony::identity::{self, Identity};
use ceremony::preflight::{self, AirGapped};
use ceremony::root::{self, BootstrapKey, RootDir, RootKey, Thresholds, UnsealKey, dir};
use ceremony::shares::{self, Custodians, KeyId};

use super::CliError;
use super::args::DemoArgs;
use super::output::{self, Listing, report_lines};

mod custodians;
mod gitops;

/// Writes one line of the demo to stdout.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        $out.line(&format!($($arg)*))?
    };
}
use say;

/// A throwaway custodian: name, identity file, recipient.
struct DemoCustodian {
    name: &'static str,
    identity: PathBuf,
    recipient: String,
}

struct Demo {
    out: DemoOut,
    /// Where the demo writes: a temporary directory, or with `--keep` the
    /// staging directory of the one to keep.
    dir: PathBuf,
    clock: SystemClock,
    step: usize,
}

/// The demo's stdout. With `--keep`, every line names the files where they
/// will be once the staged directory is moved into place, not in the
/// hidden staging directory they are written to.
struct DemoOut {
    out: Listing,
    /// The staging directory and the directory to keep, as text.
    renamed: Option<(String, String)>,
}

impl DemoOut {
    fn line(&mut self, text: &str) -> Result<(), CliError> {
        match &self.renamed {
            Some((staging, kept)) => self.out.line(&text.replace(staging.as_str(), kept)),
            None => self.out.line(text),
        }
    }

    /// A report, indented, its paths named as [`DemoOut::line`] names
    /// them (before the columns are laid out, so that they line up).
    fn report(&mut self, report: &ceremony::report::Report) -> Result<(), CliError> {
        let mut shown = report.clone();
        if let Some((staging, kept)) = &self.renamed {
            for check in &mut shown.checks {
                check.subject = check.subject.replace(staging.as_str(), kept);
                check.detail = check.detail.replace(staging.as_str(), kept).into();
            }
        }
        for line in report_lines(&shown, "  ") {
            self.out.line(&line)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), CliError> {
        self.out.finish()
    }
}

impl Demo {
    fn step(&mut self, title: &str) -> Result<()> {
        self.step += 1;
        say!(self.out, "\n== Step {}: {title}", self.step);
        Ok(())
    }
}

pub fn run(args: DemoArgs) -> Result<()> {
    let temp;
    // With --keep, the directory is staged whole beside its place and moved
    // there at the end, as every output directory is: a demo that fails
    // (a full disk) or is killed leaves nothing half-written under that
    // name, and running it again needs no clean-up.
    let mut staged = None;
    let (dir, shown) = match &args.keep {
        Some(keep) => {
            let staging = fsio::StagedDir::new(keep)?;
            output::leftovers(staging.leftovers());
            let dir = staging.path()?.to_owned();
            staged = Some(staging);
            (dir, keep.clone())
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("ceremony-demo-")
                .tempdir()
                .context("creating a temporary directory")?;
            (temp.path().to_owned(), temp.path().to_owned())
        }
    };
    let renamed = (dir != shown).then(|| (dir.display().to_string(), shown.display().to_string()));
    let mut demo = Demo {
        out: DemoOut {
            out: Listing::new(),
            renamed,
        },
        dir,
        clock: SystemClock,
        step: 0,
    };
    let walked = walk_through(&mut demo, &shown);
    if let Some(staged) = staged {
        // An error names the hidden staging directory, which is removed
        // with everything in it when `staged` is dropped.
        walked.with_context(|| format!("nothing was kept in {}", shown.display()))?;
        staged.commit()?;
    } else {
        walked?;
    }
    say!(
        demo.out,
        "\nDemo complete. Files are in {}{}",
        shown.display(),
        if args.keep.is_some() {
            ""
        } else {
            " (removed on exit)"
        }
    );
    demo.out.finish()?;
    Ok(())
}

/// Every step, in `demo.dir`.
fn walk_through(demo: &mut Demo, shown: &Path) -> Result<()> {
    say!(
        demo.out,
        "ceremony demo: throwaway custodians and keys in {}",
        shown.display()
    );
    say!(
        demo.out,
        "(nothing here is a real secret; a real ceremony runs offline with real custodians)"
    );
    let (root, gate, custodians, parsed) = phase0(demo)?;
    let bootstrap = emitters(demo, &root, &gate, &custodians)?;
    custodians::unseal_steps(demo, &gate, &custodians, &parsed)?;
    let sealed_files = gitops::bootstrap_steps(demo, &root, &bootstrap)?;
    gitops::handover_steps(demo, &root, &bootstrap, sealed_files)?;
    Ok(())
}

/// Steps 1-4: custodians, preflight, root init, root verify.
fn phase0(demo: &mut Demo) -> Result<(RootDir, AirGapped, Vec<DemoCustodian>, Custodians)> {
    demo.step("custodians bring their public keys")?;
    let custodians = make_custodians(&demo.dir, &["alice", "bob", "carol"])?;
    let mut toml = String::from("[threshold]\nbootstrap = 2\nunseal = 2\nsigning = 2\n\n");
    for c in &custodians {
        toml.push_str(&format!(
            "[[custodian]]\nname = \"{}\"\nage = \"{}\"\n\n",
            c.name, c.recipient
        ));
        say!(demo.out, "  {:<6} {}", c.name, c.recipient);
    }
    let custodians_file = demo.dir.join("custodians.toml");
    write_new(&custodians_file, toml.as_bytes(), fsio::PUBLIC_MODE)?;
    let parsed = shares::load_custodians(&custodians_file, shares::SharedKeys::Refuse)?;

    demo.step("preflight: is this machine air-gapped? (ceremony preflight)")?;
    let preflight = preflight::run(&preflight::Options {
        allow_online: true,
        ..preflight::Options::default()
    });
    // On stderr, as the gate of every real command prints it.
    super::preflight::print(&preflight);
    say!(
        demo.out,
        "  The demo runs with --allow-online so that it works anywhere; a real root init on an"
    );
    say!(
        demo.out,
        "  online machine is refused without it, and the override is recorded in root.json."
    );
    let gate = preflight.gate()?;

    demo.step("create the root of trust, 2 of 3 for each secret (root init)")?;
    let plan = root::InitPlan {
        thresholds: Thresholds::resolve(&parsed, None)?,
        unseal_key_id: Some(KeyId::parse("demo-1")?),
        replaces: None,
    };
    let output = root::init(&parsed, &plan, &BTreeMap::new(), &gate, &demo.clock)?;
    let root_dir = demo.dir.join("root");
    let (target, _) = dir::Target::check(&root_dir, dir::Replace::Never, &demo.clock)?;
    let (root, _) = target.write(&output)?;
    let manifest = root.manifest();
    let body = &manifest.body;
    say!(
        demo.out,
        "  root {} in {}",
        body.root_id,
        root_dir.display()
    );
    say!(
        demo.out,
        "  bootstrap recipient {}",
        body.bootstrap_recipient
    );
    say!(demo.out, "  unseal key id       {}", body.unseal.key_id);
    say!(
        demo.out,
        "  signing key         {}",
        manifest.signing_key_fingerprint()
    );
    for f in &body.custodian_files {
        let short: String = f.sha256.chars().take(16).collect();
        say!(
            demo.out,
            "  {:<18} (age file for {}, sha256 {short}…)",
            f.file,
            f.name
        );
    }

    demo.step("check the root without any secret (root verify)")?;
    let (_, report) = root::verify_dir(&root_dir, root::VerifyOptions::default());
    demo.out.report(&report)?;
    if !report.passed() {
        bail!("root verify failed on the demo root");
    }
    Ok((root, gate, custodians, parsed))
}

/// Step 5: alice and bob rebuild the bootstrap and unseal keys and emit the
/// cluster's Secrets.
fn emitters(
    demo: &mut Demo,
    root: &RootDir,
    gate: &AirGapped,
    custodians: &[DemoCustodian],
) -> Result<BootstrapKey> {
    demo.step("Phase 2: alice and bob emit the cluster's Secrets (root emit)")?;
    let mut files = Vec::new();
    let mut identities = Vec::new();
    for c in custodians.iter().filter(|c| c.name != "carol") {
        let file = root.path().join(format!("shares/{}.age", c.name));
        files.push((file.display().to_string(), fsio::read(&file)?));
        identities.extend(load_identity(&c.identity)?);
    }
    let bundles = root::open_bundles(&files, &identities, &|_| None)?.opened;
    let body = &root.manifest().body;
    let bootstrap = root::rebuild::<BootstrapKey>(body, &bundles, gate)?;
    let fields = root::emit::FluxFields::new("sops-age", "flux-system", "age.agekey")?;
    let flux = root::emit::flux_age_secret(&bootstrap, None, &fields)?;
    say!(
        demo.out,
        "  flux-age-secret (the key's value elided here; the command prints it to a pipe):"
    );
    print_elided(&mut demo.out, &flux)?;
    say!(
        demo.out,
        "  ✓ the rebuilt identity's recipient equals root.json's: {}",
        bootstrap.recipient()? == body.bootstrap_recipient
    );
    let unseal_key = root::rebuild::<UnsealKey>(body, &bundles, gate)?;
    let seal = root::emit::openbao_static_seal(
        root::emit::SealKey {
            key: unseal_key.as_array(),
            key_id: &KeyId::parse(&body.unseal.key_id)?,
        },
        None,
        &root::emit::SecretFields::new("openbao-static-seal", "openbao")?,
    );
    say!(demo.out, "  openbao-static-seal:");
    print_elided(&mut demo.out, &seal)?;
    Ok(bootstrap)
}

/// Prints an emitted manifest with every `data` value elided: even throwaway
/// keys are not shown on a terminal.
fn print_elided(out: &mut DemoOut, text: &str) -> Result<()> {
    let mut in_data = false;
    for line in text.lines() {
        if line == "data:" {
            in_data = true;
            say!(out, "    {line}");
        } else if in_data && line.starts_with("  ") {
            let key = line.split(':').next().unwrap_or(line);
            say!(out, "    {key}: <base64, elided>");
        } else {
            in_data = false;
            say!(out, "    {line}");
        }
    }
    Ok(())
}

fn make_custodians(dir: &Path, names: &[&'static str]) -> Result<Vec<DemoCustodian>> {
    let mut out = Vec::new();
    for &name in names {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        let path = dir.join(format!("{name}.agekey"));
        let text = zeroize::Zeroizing::new(format!(
            "# throwaway demo identity of {name}\n{}\n",
            secrecy::ExposeSecret::expose_secret(&identity.to_string())
        ));
        write_new(&path, text.as_bytes(), fsio::SECRET_MODE)?;
        out.push(DemoCustodian {
            name,
            identity: path,
            recipient,
        });
    }
    Ok(out)
}

fn load_identity(path: &Path) -> Result<Vec<Identity>> {
    Ok(identity::load_files(&[path.to_owned()], age::NoCallbacks)?)
}

/// `fsio::write_new` for the demo's files, saying what leftovers of a killed
/// earlier demo it found in the directory, as every command does.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), fsio::FsError> {
    output::leftovers(&fsio::write_new(path, bytes, mode)?.leftovers);
    Ok(())
}
