//! `ceremony demo`: the main job end to end, with throwaway custodians in a
//! temporary directory, printing each step. Every step calls the same
//! library code as the real commands; only the custodians' keys are
//! generated on the spot, and the demo runs with `--allow-online` so that it
//! works on any machine (said out loud, and recorded in root.json).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ceremony::bootstrap::{Configs, Plan, RootPolicy, policy, seal};
use ceremony::clock::{Clock, SystemClock};
use ceremony::fsio;
use ceremony::handover::challenge::{Challenge, ChallengePlan};
use ceremony::handover::receipt::{self, ReceiptPlan, Values};
use ceremony::handover::report::{self as handover_report, VerifyRequest};
use ceremony::handover::{self as ho, TrustFile, sealed, sign};
use ceremony::identity::{self, Identity};
use ceremony::preflight::{self, AirGapped};
use ceremony::root::{self, BootstrapKey, RootDir, RootKey, Thresholds, UnsealKey, dir};
use ceremony::secret::SecretBytes;
use ceremony::shares::{self, Custodians, KeyId, SplitPlan};
use ceremony::sops::{self, Format, KeyGroups, MacCheck, Recipient};

use super::args::DemoArgs;
use super::output::{Listing, report_lines};
use super::unseal;

/// Writes one line of the demo to stdout.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        $out.line(&format!($($arg)*))?
    };
}

/// A throwaway custodian: name, identity file, recipient.
struct DemoCustodian {
    name: &'static str,
    identity: PathBuf,
    recipient: String,
}

struct Demo {
    out: Listing,
    dir: PathBuf,
    clock: SystemClock,
    step: usize,
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
    let dir: PathBuf = match &args.keep {
        Some(dir) => {
            std::fs::create_dir(dir).with_context(|| {
                format!(
                    "{}: creating the demo directory (it must not exist)",
                    dir.display()
                )
            })?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("ceremony-demo-")
                .tempdir()
                .context("creating a temporary directory")?;
            temp.path().to_owned()
        }
    };
    let mut demo = Demo {
        out: Listing::new(),
        dir,
        clock: SystemClock,
        step: 0,
    };
    say!(
        demo.out,
        "ceremony demo: throwaway custodians and keys in {}",
        demo.dir.display()
    );
    say!(
        demo.out,
        "(nothing here is a real secret; a real ceremony runs offline with real custodians)"
    );
    let (root, gate, custodians, parsed) = phase0(&mut demo)?;
    let bootstrap = emitters(&mut demo, &root, &gate, &custodians)?;
    unseal_steps(&mut demo, &gate, &custodians, &parsed)?;
    let sealed_files = bootstrap_steps(&mut demo, &root, &bootstrap)?;
    handover_steps(&mut demo, &root, &bootstrap, sealed_files)?;
    say!(
        demo.out,
        "\nDemo complete. Files are in {}{}",
        demo.dir.display(),
        if args.keep.is_some() {
            ""
        } else {
            " (removed on exit)"
        }
    );
    demo.out.finish()?;
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
    fsio::write_new(&custodians_file, toml.as_bytes(), fsio::PUBLIC_MODE)?;
    let parsed = shares::load_custodians(&custodians_file)?;

    demo.step("preflight: is this machine air-gapped? (ceremony preflight)")?;
    let preflight = preflight::run(&preflight::Options {
        allow_online: true,
        ..preflight::Options::default()
    });
    for line in report_lines(preflight.report(), "  ") {
        say!(demo.out, "{line}");
    }
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
    let target = dir::Target::check(&root_dir, dir::Replace::Never, &demo.clock)?;
    let root = target.write(&output)?;
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
    let (_, report) = root::verify_dir(&root_dir);
    for line in report_lines(&report, "  ") {
        say!(demo.out, "{line}");
    }
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
    let flux = root::emit::flux_age_secret(&bootstrap, &fields)?;
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
        unseal_key.as_array(),
        &KeyId::parse(&body.unseal.key_id)?,
        &root::emit::SecretFields::new("openbao-static-seal", "openbao")?,
    );
    say!(demo.out, "  openbao-static-seal:");
    print_elided(&mut demo.out, &seal)?;
    Ok(bootstrap)
}

/// Steps 6-10: the same Shamir sharing for any secret.
fn unseal_steps(
    demo: &mut Demo,
    gate: &AirGapped,
    custodians: &[DemoCustodian],
    parsed: &Custodians,
) -> Result<()> {
    demo.step("the same Shamir sharing for any secret: split a fresh key, 2 of 3 (unseal share)")?;
    let secret = SecretBytes::random(unseal::UNSEAL_KEY_LEN);
    let plan = SplitPlan {
        label: "unseal-key".into(),
        threshold: 2,
        key_id: Some(KeyId::parse("demo-1")?),
        previous_set_id: None,
    };
    let split = shares::split_among(&secret, parsed, &plan, &BTreeMap::new(), &demo.clock)?;
    let set_dir = demo.dir.join("unseal");
    unseal::write_split(&set_dir, &split)?;
    say!(
        demo.out,
        "  share set {} written to {}",
        split.shareset.set_id,
        set_dir.display()
    );
    for entry in &split.shareset.custodians {
        say!(
            demo.out,
            "  {:<20} x = {:<3} commitment {}",
            entry.file,
            entry.x,
            entry.commitment
        );
    }
    say!(
        demo.out,
        "  key check value {}",
        split.shareset.key_check_value
    );

    demo.step("each custodian verifies their own share (unseal verify)")?;
    let set = shares::load_shareset(&set_dir.join("shareset.json"))?;
    for c in custodians {
        let file = set_dir.join(format!("{}.share.age", c.name));
        let opened = shares::open_share(
            &file.display().to_string(),
            &fsio::read(&file)?,
            &load_identity(&c.identity)?,
            &|_| None,
        )?;
        let entry = shares::check_share(&set, &opened)?;
        say!(
            demo.out,
            "  ✓ {} holds x = {} and it matches the manifest",
            entry.name,
            entry.x
        );
    }

    demo.step("alice and carol rebuild the key (unseal combine)")?;
    let quorum = ["alice", "carol"];
    let rebuilt = rebuild(&set, &set_dir, custodians, &quorum, gate)?;
    say!(
        demo.out,
        "  ✓ rebuilt {} bytes; equal to the generated key: {}",
        rebuilt.len(),
        rebuilt.ct_eq(&secret)
    );
    say!(
        demo.out,
        "  (the real command prints it only to a pipe or file, never to a terminal)"
    );

    demo.step("one share alone is not enough")?;
    match rebuild(&set, &set_dir, custodians, &["bob"], gate) {
        Err(e) => say!(demo.out, "  ✓ refused: {e:#}"),
        Ok(_) => bail!("one share rebuilt the key: the threshold is broken"),
    }

    demo.step("reshare to dave, erin and frank, 3 of 3 (unseal reshare)")?;
    let new_custodians = make_custodians(&demo.dir, &["dave", "erin", "frank"])?;
    let new_toml: String = new_custodians
        .iter()
        .map(|c| {
            format!(
                "[[custodian]]\nname = \"{}\"\nage = \"{}\"\n\n",
                c.name, c.recipient
            )
        })
        .collect();
    let new_file = demo.dir.join("new-custodians.toml");
    fsio::write_new(&new_file, new_toml.as_bytes(), fsio::PUBLIC_MODE)?;
    let new_parsed = shares::load_custodians(&new_file)?;
    let resplit = shares::reshare(
        &set,
        &rebuilt,
        &new_parsed,
        3,
        &BTreeMap::new(),
        &demo.clock,
    )?;
    let new_dir = demo.dir.join("unseal-reshared");
    unseal::write_split(&new_dir, &resplit)?;
    say!(
        demo.out,
        "  new set {} (previous {}), same key check value: {}",
        resplit.shareset.set_id,
        set.set_id,
        resplit.shareset.key_check_value == set.key_check_value
    );
    let new_set = shares::load_shareset(&new_dir.join("shareset.json"))?;
    let again = rebuild(
        &new_set,
        &new_dir,
        &new_custodians,
        &["dave", "erin", "frank"],
        gate,
    )?;
    say!(
        demo.out,
        "  ✓ the new custodians rebuild the same key: {}",
        again.ct_eq(&secret)
    );
    Ok(())
}

/// Steps 11-13: seal bootstrap manifests to the root, check them without a
/// key, open one. Returns the sealed Secret manifests `(file name, bytes)`.
fn bootstrap_steps(
    demo: &mut Demo,
    root: &RootDir,
    bootstrap: &BootstrapKey,
) -> Result<Vec<(String, Vec<u8>)>> {
    demo.step("Phase 1: seal bootstrap manifests to the root's recipient (bootstrap seal)")?;
    let recipient = Recipient::parse(&root.manifest().body.bootstrap_recipient)?;
    let files: [(&str, String); 3] = [
        (
            "db-secret.yaml",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\n    namespace: apps\ntype: Opaque\nstringData:\n    password: {}\n",
                hex::encode(SecretBytes::random(12).expose_secret())
            ),
        ),
        (
            "git-auth.yaml",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n    name: flux-git-auth\n    namespace: flux-system\ndata:\n    password: {}\n",
                SecretBytes::random(16).to_base64().as_str()
            ),
        ),
        (
            "app-settings.env",
            format!(
                "LOG_LEVEL_unencrypted=info\nAPI_TOKEN={}\n",
                hex::encode(SecretBytes::random(12).expose_secret())
            ),
        ),
    ];
    let bootstrap_dir = demo.dir.join("bootstrap");
    fsio::StagedDir::new(&bootstrap_dir)?.commit()?;
    let plan = Plan::sealed_to(KeyGroups::single(vec![recipient.clone()])?);
    let mut sealed_paths = Vec::new();
    let mut sealed_secrets = Vec::new();
    for (name, plain) in &files {
        let path = bootstrap_dir.join(name);
        let sealed = seal::seal_bytes(
            plain.as_bytes(),
            Format::from_path(&path),
            &plan,
            &demo.clock,
        )?
        .context("the demo's plaintext was sealed already")?;
        fsio::write_new(&path, &sealed, fsio::SECRET_MODE)?;
        if name.ends_with(".yaml") {
            sealed_secrets.push((name.to_string(), sealed.clone()));
        }
        let inspection = sops::inspect(&sealed, Format::from_path(&path))?;
        let encrypted: Vec<String> = inspection
            .leaves
            .iter()
            .filter(|l| l.encrypted)
            .map(|l| l.path.join(":"))
            .collect();
        say!(
            demo.out,
            "  {:<17} rule {}: {:?}; encrypted: {}",
            name,
            inspection.rule.0,
            inspection.rule.1,
            encrypted.join(", ")
        );
        sealed_paths.push(path);
    }
    say!(
        demo.out,
        "  (sops 3.11 and Flux open these with the bootstrap identity; the plaintext never touched the disk)"
    );

    demo.step("check them with no key at all (bootstrap verify --root)")?;
    let policy = RootPolicy {
        root_recipient: recipient,
    };
    let mut configs = Configs::new(None)?;
    let verified = policy::verify_paths(&sealed_paths, &policy, &mut configs)?;
    if !verified.report.passed() {
        for line in report_lines(&verified.report, "  ") {
            say!(demo.out, "{line}");
        }
        bail!("bootstrap verify found problems in the demo's sealed files");
    }
    say!(
        demo.out,
        "  ✓ {} files: every Secret value sealed, sealed to the root only",
        verified.files_checked
    );
    // Written beside the bootstrap directory, not in it: the handover below
    // takes the bootstrap directory as it is.
    let stray = demo.dir.join("forgotten-secret.yaml");
    fsio::write_new(
        &stray,
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: forgotten\nstringData:\n  token: not-sealed\n",
        fsio::SECRET_MODE,
    )?;
    let caught = policy::verify_paths(std::slice::from_ref(&stray), &policy, &mut configs)?;
    say!(demo.out, "  a Secret someone forgot to seal is caught:");
    for line in report_lines(&caught.report, "  ") {
        say!(demo.out, "{line}");
    }
    if caught.report.passed() {
        bail!("bootstrap verify missed an unsealed Secret");
    }

    demo.step(
        "open one with the bootstrap identity alice and bob rebuilt in step 5 (bootstrap open)",
    )?;
    let identities: Vec<Identity> = vec![Box::new(bootstrap.identity()?)];
    let (name, original) = &files[0];
    let opened = seal::open(&bootstrap_dir.join(name), &identities)?;
    if opened.expose_secret() != original.as_bytes() {
        bail!("{name} did not open to the manifest that was sealed");
    }
    say!(
        demo.out,
        "  ✓ {name} opened (MAC checked) to exactly the manifest that was sealed"
    );
    say!(
        demo.out,
        "  (the real command prints it to stdout, like `sops -d`)"
    );
    Ok(sealed_secrets)
}

/// Steps 14-16: a challenge, a receipt signed as the runtime authority would
/// sign it, and its verification with every commitment recomputed.
fn handover_steps(
    demo: &mut Demo,
    root: &RootDir,
    bootstrap: &BootstrapKey,
    mut sealed: Vec<(String, Vec<u8>)>,
) -> Result<()> {
    sealed.sort();
    let body = &root.manifest().body;
    demo.step("operator: a handover challenge, offline (handover challenge)")?;
    let challenge = Challenge::create(
        &ChallengePlan {
            root_id: &body.root_id,
            bootstrap_recipient: &body.bootstrap_recipient,
            authority: "openbao-demo",
            now: demo.clock.now(),
            validity: time::Duration::hours(24),
        },
        &sealed,
    )
    .map_err(ho::Error::from)?;
    fsio::write_new(
        &demo.dir.join("challenge.json"),
        &challenge.to_json().map_err(ho::Error::from)?,
        fsio::PUBLIC_MODE,
    )?;
    say!(
        demo.out,
        "  challenge {} for {}, valid until {}",
        challenge.challenge_id,
        challenge.authority,
        challenge.expires_at
    );
    for (file, item) in challenge.items() {
        say!(demo.out, "    {:<28} in {}", item.id, file.path);
    }

    demo.step(
        "runtime side: import, retire the bootstrap copies, sign a receipt (handover receipt)",
    )?;
    let identities: Vec<Identity> = vec![Box::new(bootstrap.identity()?)];
    let nonce = challenge.nonce_bytes().map_err(ho::Error::from)?;
    let mut decrypted = Vec::new();
    for (name, bytes) in &sealed {
        decrypted.push((
            name.clone(),
            sops::decrypt(bytes, Format::Yaml, &identities, MacCheck::Verify)?,
        ));
    }
    let values = Values::from_manifests(&nonce, &decrypted).map_err(ho::Error::from)?;
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
            completed_at: demo.clock.now(),
        },
    )
    .map_err(ho::Error::from)?;
    let mut envelope = statement.to_envelope().map_err(ho::Error::from)?;
    sign::sign_ed25519(&mut envelope, &authority_key).map_err(ho::Error::from)?;
    let receipt_path = demo.dir.join("receipt.json");
    fsio::write_new(
        &receipt_path,
        envelope.to_json().map_err(ho::Error::from)?.as_bytes(),
        fsio::PUBLIC_MODE,
    )?;
    let trust_line = authority_key.ed25519_trust_line("openbao-demo");
    let trust_path = demo.dir.join("trust.txt");
    fsio::write_new(
        &trust_path,
        format!("{trust_line}\n").as_bytes(),
        fsio::PUBLIC_MODE,
    )?;
    say!(
        demo.out,
        "  receipt.json: in-toto Statement in a DSSE envelope, predicate {}",
        receipt::PREDICATE_TYPE_V1
    );
    say!(
        demo.out,
        "  signed by {}; trust.txt: {trust_line}",
        authority_key.fingerprint()
    );

    demo.step(
        "operator: verify the receipt, recomputing every commitment (handover verify --deep)",
    )?;
    let trust =
        TrustFile::parse(&trust_path, &fsio::read(&trust_path)?).map_err(ho::Error::from)?;
    let deep =
        handover_report::deep_values(&challenge, &sealed, &identities).map_err(ho::Error::from)?;
    let digests = sealed::digests_of(&sealed);
    let report = ho::verify_handover(&VerifyRequest {
        challenge: &challenge,
        receipt: &fsio::read(&receipt_path)?,
        trust: &trust,
        bootstrap: Some(&digests),
        deep: Some(&deep),
        now: demo.clock.now(),
    });
    for line in report_lines(&report, "  ") {
        say!(demo.out, "{line}");
    }
    if !report.passed() {
        bail!("the demo receipt did not verify");
    }
    say!(
        demo.out,
        "  ✓ handover verified: every bootstrap Secret received intact and retired"
    );
    Ok(())
}

/// Prints an emitted manifest with every `data` value elided: even throwaway
/// keys are not shown on a terminal.
fn print_elided(out: &mut Listing, text: &str) -> Result<()> {
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
        fsio::write_new(&path, text.as_bytes(), fsio::SECRET_MODE)?;
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

/// Rebuilds `set` from the share files of the named custodians.
fn rebuild(
    set: &shares::ShareSet,
    dir: &Path,
    custodians: &[DemoCustodian],
    names: &[&str],
    gate: &AirGapped,
) -> Result<SecretBytes> {
    let mut files = Vec::new();
    let mut identities = Vec::new();
    for c in custodians.iter().filter(|c| names.contains(&c.name)) {
        let file = dir.join(format!("{}.share.age", c.name));
        files.push((file.display().to_string(), fsio::read(&file)?));
        identities.extend(load_identity(&c.identity)?);
    }
    let quorum = shares::open_shares(set, &files, &identities, &|_| None)?;
    Ok(shares::rebuild(set, &quorum.opened, gate)?)
}
