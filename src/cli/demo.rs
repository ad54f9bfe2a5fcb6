//! `ceremony demo`: the main job end to end, with throwaway custodians in a
//! temporary directory, printing each step. Every step calls the same code as
//! the real commands; only the custodians' keys are generated on the spot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ceremony::fsio;
use ceremony::preflight;
use ceremony::root::{self, RootSecret};
use ceremony::secret::SecretBytes;
use ceremony::shares::{self, Custodians, SplitPlan};

use super::args::DemoArgs;
use super::unseal;

/// A throwaway custodian: name, identity file, recipient.
struct DemoCustodian {
    name: &'static str,
    identity: PathBuf,
    recipient: String,
}

fn step(n: usize, title: &str) {
    println!("\n== Step {n}: {title}");
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
    println!(
        "ceremony demo: throwaway custodians and keys in {}",
        dir.display()
    );
    println!("(nothing here is a real secret; a real ceremony runs offline with real custodians)");

    step(1, "custodians bring their public keys");
    let custodians = make_custodians(&dir, &["alice", "bob", "carol"])?;
    let custodians_file = dir.join("custodians.toml");
    let mut toml = String::from("[threshold]\nbootstrap = 2\nunseal = 2\nsigning = 2\n\n");
    for c in &custodians {
        toml.push_str(&format!(
            "[[custodian]]\nname = \"{}\"\nage = \"{}\"\n\n",
            c.name, c.recipient
        ));
        println!("  {:<6} {}", c.name, c.recipient);
    }
    fsio::write_new(&custodians_file, toml.as_bytes(), fsio::PUBLIC_MODE)?;
    let parsed = Custodians::parse(&toml).map_err(|source| shares::Error::Custodians {
        file: custodians_file.display().to_string(),
        source,
    })?;

    step(
        2,
        "preflight: is this machine air-gapped? (ceremony preflight)",
    );
    let report = preflight::run(&preflight::Options {
        allow_online: true,
        ..preflight::Options::default()
    });
    super::preflight::print(&report);
    println!(
        "  The demo runs with --allow-online so that it works anywhere; a real root init on an"
    );
    println!("  online machine is refused without it, and the override is recorded in root.json.");

    step(
        3,
        "create the root of trust, 2 of 3 for each secret (root init)",
    );
    let plan = root::InitPlan {
        thresholds: RootSecret::ALL.into_iter().map(|w| (w, 2)).collect(),
        unseal_key_id: "demo-1".into(),
        preflight: report,
        replaces: None,
    };
    let output = root::init(&parsed, &plan, &BTreeMap::new())?;
    let root_dir = dir.join("root");
    super::root::write_root(&root_dir, &output)?;
    let body = &output.manifest.body;
    println!("  root {} in {}", body.root_id, root_dir.display());
    println!("  bootstrap recipient {}", body.bootstrap_recipient);
    println!("  unseal key id       {}", body.unseal.key_id);
    println!(
        "  signing key         {}",
        output.manifest.signing_key_fingerprint()
    );
    for f in &body.custodian_files {
        println!(
            "  {:<18} (age file for {}, sha256 {}…)",
            f.file,
            f.name,
            &f.sha256[..16]
        );
    }

    step(4, "check the root without any secret (root verify)");
    let (_, items) = root::verify_dir(&root_dir);
    for item in &items {
        println!(
            "  {} {:<34} {}",
            if item.ok { "✓" } else { "✗" },
            item.check,
            item.detail
        );
    }
    if items.iter().any(|i| !i.ok) {
        anyhow::bail!("root verify failed on the demo root");
    }

    step(
        5,
        "Phase 2: alice and bob emit the cluster's Secrets (root emit)",
    );
    let manifest = output.manifest.clone();
    let mut bundles = Vec::new();
    for c in custodians.iter().filter(|c| c.name != "carol") {
        let file = root_dir.join(format!("shares/{}.age", c.name));
        let ids = super::io::load_identities(std::slice::from_ref(&c.identity))?;
        let name = file.display().to_string();
        let bundle = root::open_bundle(&name, &fsio::read(&file)?, &ids, &|_| None)?;
        bundles.push((name, bundle));
    }
    let bootstrap = root::rebuild(&manifest.body, RootSecret::Bootstrap, &bundles)?;
    let identity =
        root::secrets::bootstrap_identity_text(&bootstrap).map_err(anyhow::Error::msg)?;
    let flux = root::emit::flux_age_secret(&identity, "sops-age", "flux-system", "age.agekey")?;
    println!("  flux-age-secret (the key's value elided here; the command prints it to a pipe):");
    print_elided(&flux);
    println!(
        "  ✓ the rebuilt identity's recipient equals root.json's: {}",
        root::secrets::bootstrap_recipient(&bootstrap).map_err(anyhow::Error::msg)?
            == manifest.body.bootstrap_recipient
    );
    let unseal_key = root::rebuild(&manifest.body, RootSecret::Unseal, &bundles)?;
    let seal = root::emit::openbao_static_seal(
        &unseal_key,
        &manifest.body.unseal.key_id,
        "openbao-static-seal",
        "openbao",
    )?;
    println!("  openbao-static-seal:");
    print_elided(&seal);

    step(
        6,
        "the same Shamir sharing for any secret: split a fresh key, 2 of 3 (unseal share)",
    );
    let secret = SecretBytes::random(unseal::UNSEAL_KEY_LEN);
    let plan = SplitPlan {
        label: "unseal-key".into(),
        threshold: 2,
        key_id: Some("demo-1".into()),
        previous_set_id: None,
    };
    let split = shares::split_among(&secret, &parsed, &plan, &BTreeMap::new())?;
    let set_dir = dir.join("unseal");
    unseal::write_split(&set_dir, &split)?;
    println!(
        "  share set {} written to {}",
        split.shareset.set_id,
        set_dir.display()
    );
    for entry in &split.shareset.custodians {
        println!(
            "  {:<20} x = {:<3} commitment {}",
            entry.file, entry.x, entry.commitment
        );
    }
    println!("  key check value {}", split.shareset.key_check_value);

    step(7, "each custodian verifies their own share (unseal verify)");
    let shareset = unseal::load_shareset(&set_dir.join("shareset.json"))?;
    for c in &custodians {
        let file = set_dir.join(format!("{}.share.age", c.name));
        let opened = unseal::open_shares(&shareset, &[file], std::slice::from_ref(&c.identity))?;
        let entry = shares::check_share(&shareset, &opened[0])?;
        println!(
            "  ✓ {} holds x = {} and it matches the manifest",
            entry.name, entry.x
        );
    }

    step(8, "alice and carol rebuild the key (unseal combine)");
    let files = share_files(&set_dir, &["alice", "carol"]);
    let ids = identities(&custodians, &["alice", "carol"]);
    let rebuilt = unseal::rebuild_from(&shareset, &files, &ids)?;
    println!(
        "  ✓ rebuilt {} bytes; equal to the generated key: {}",
        rebuilt.len(),
        rebuilt.ct_eq(&secret)
    );
    println!("  (the real command prints it only to a pipe or file, never to a terminal)");

    step(9, "one share alone is not enough");
    let alone = unseal::rebuild_from(
        &shareset,
        &share_files(&set_dir, &["bob"]),
        &identities(&custodians, &["bob"]),
    );
    match alone {
        Err(e) => println!("  ✓ refused: {e:#}"),
        Ok(_) => anyhow::bail!("one share rebuilt the key: the threshold is broken"),
    }

    step(
        10,
        "reshare to dave, erin and frank, 3 of 3 (unseal reshare)",
    );
    let new_custodians = make_custodians(&dir, &["dave", "erin", "frank"])?;
    let mut new_toml = String::new();
    for c in &new_custodians {
        new_toml.push_str(&format!(
            "[[custodian]]\nname = \"{}\"\nage = \"{}\"\n\n",
            c.name, c.recipient
        ));
    }
    let new_parsed = Custodians::parse(&new_toml).map_err(|source| shares::Error::Custodians {
        file: "new custodians".into(),
        source,
    })?;
    let rebuilt = unseal::rebuild_from(&shareset, &files, &ids)?;
    let plan = SplitPlan {
        label: shareset.label.clone(),
        threshold: 3,
        key_id: shareset.key_id.clone(),
        previous_set_id: Some(shareset.set_id),
    };
    let resplit = shares::split_among(&rebuilt, &new_parsed, &plan, &BTreeMap::new())?;
    let new_dir = dir.join("unseal-reshared");
    unseal::write_split(&new_dir, &resplit)?;
    println!(
        "  new set {} (previous {}), same key check value: {}",
        resplit.shareset.set_id,
        shareset.set_id,
        resplit.shareset.key_check_value == shareset.key_check_value
    );
    let new_set = unseal::load_shareset(&new_dir.join("shareset.json"))?;
    let again = unseal::rebuild_from(
        &new_set,
        &share_files(&new_dir, &["dave", "erin", "frank"]),
        &identities(&new_custodians, &["dave", "erin", "frank"]),
    )?;
    println!(
        "  ✓ the new custodians rebuild the same key: {}",
        again.ct_eq(&secret)
    );

    let sealed = bootstrap_steps(&dir, &manifest.body.bootstrap_recipient, &identity)?;
    let mut handover_step = 13;
    super::handover::demo(&dir, &manifest, &bootstrap, sealed, &mut |title| {
        handover_step += 1;
        step(handover_step, title);
    })?;

    println!(
        "\nDemo complete. Files are in {}{}",
        dir.display(),
        if args.keep.is_some() {
            ""
        } else {
            " (removed on exit)"
        }
    );
    Ok(())
}

/// Prints an emitted manifest with every `data` value elided: even throwaway
/// keys are not shown on a terminal.
fn print_elided(text: &str) {
    let mut in_data = false;
    for line in text.lines() {
        if line == "data:" {
            in_data = true;
            println!("    {line}");
        } else if in_data && line.starts_with("  ") {
            let key = line.split(':').next().unwrap_or(line);
            println!("    {key}: <base64, elided>");
        } else {
            in_data = false;
            println!("    {line}");
        }
    }
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

fn share_files(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| dir.join(format!("{n}.share.age")))
        .collect()
}

fn identities(custodians: &[DemoCustodian], names: &[&str]) -> Vec<PathBuf> {
    custodians
        .iter()
        .filter(|c| names.contains(&c.name))
        .map(|c| c.identity.clone())
        .collect()
}

/// Phase 1 in the demo: seal bootstrap manifests to the root, check them
/// without a key, and open one with the identity the quorum rebuilt.
/// Steps 11-13; returns the sealed Secret manifests `(file name, bytes)` that
/// the handover steps hand to the runtime authority.
fn bootstrap_steps(
    dir: &Path,
    recipient: &str,
    identity: &ceremony::secret::SecretText,
) -> Result<Vec<(String, Vec<u8>)>> {
    step(
        11,
        "Phase 1: seal bootstrap manifests to the root's recipient (bootstrap seal)",
    );
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
    let bootstrap_dir = dir.join("bootstrap");
    fsio::StagedDir::new(&bootstrap_dir)?.commit()?;
    let mut sealed_paths = Vec::new();
    let mut sealed_secrets = Vec::new();
    for (name, plain) in &files {
        let path = bootstrap_dir.join(name);
        let sealed = super::bootstrap::seal_for_demo(&path, plain.as_bytes(), recipient)?;
        fsio::write_new(&path, &sealed, fsio::SECRET_MODE)?;
        if name.ends_with(".yaml") {
            sealed_secrets.push((name.to_string(), sealed.clone()));
        }
        let inspection =
            ceremony::sops::inspect(&sealed, ceremony::sops::Format::from_path(&path))?;
        let encrypted: Vec<String> = inspection
            .leaves
            .iter()
            .filter(|l| l.encrypted)
            .map(|l| l.path.join(":"))
            .collect();
        println!(
            "  {:<17} rule {}: {:?}; encrypted: {}",
            name,
            inspection.rule.0,
            inspection.rule.1,
            encrypted.join(", ")
        );
        sealed_paths.push(path);
    }
    println!(
        "  (sops 3.11 and Flux open these with the bootstrap identity; the plaintext never touched the disk)"
    );

    step(
        12,
        "check them with no key at all (bootstrap verify --root)",
    );
    let offenders = super::bootstrap::verify_for_demo(&sealed_paths, recipient)?;
    if !offenders.is_empty() {
        for o in &offenders {
            println!("  ✗ {}: {}: {}", o.file, o.key_path, o.reason);
        }
        anyhow::bail!("bootstrap verify found offenders in the demo's sealed files");
    }
    println!(
        "  ✓ {} files: every Secret value sealed, sealed to {recipient} only",
        sealed_paths.len()
    );
    // Written beside the bootstrap directory, not in it: the handover below
    // takes the bootstrap directory as it is.
    let stray = dir.join("forgotten-secret.yaml");
    fsio::write_new(
        &stray,
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: forgotten\nstringData:\n  token: not-sealed\n",
        fsio::SECRET_MODE,
    )?;
    let offenders = super::bootstrap::verify_for_demo(std::slice::from_ref(&stray), recipient)?;
    println!("  a Secret someone forgot to seal is caught:");
    for o in &offenders {
        println!("  ✗ forgotten-secret.yaml: {}: {}", o.key_path, o.reason);
    }
    if offenders.is_empty() {
        anyhow::bail!("bootstrap verify missed an unsealed Secret");
    }

    step(
        13,
        "open one with the bootstrap identity alice and bob rebuilt in step 5 (bootstrap open)",
    );
    let identities = ceremony::sops::parse_identities(identity.expose_secret())?;
    let (name, original) = &files[0];
    let path = bootstrap_dir.join(name);
    let opened = ceremony::sops::decrypt(
        &fsio::read(&path)?,
        ceremony::sops::Format::from_path(&path),
        &identities,
        false,
    )?;
    if opened.expose_secret() != original.as_bytes() {
        anyhow::bail!("{name} did not open to the manifest that was sealed");
    }
    println!("  ✓ {name} opened (MAC checked) to exactly the manifest that was sealed");
    println!("  (the real command prints it to stdout, like `sops -d`)");
    Ok(sealed_secrets)
}
