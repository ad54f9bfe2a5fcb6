//! Steps 11-16 of the demo: Phase 1 (seal, verify, open) and the handover.

use anyhow::{Context, Result, bail};
use ceremony::bootstrap::{Configs, Plan, RootPolicy, policy, seal};
use ceremony::clock::Clock;
use ceremony::fsio;
use ceremony::handover::challenge::{Challenge, ChallengePlan};
use ceremony::handover::receipt::{self, ReceiptPlan, Values};
use ceremony::handover::report::{self as handover_report, VerifyRequest};
use ceremony::handover::{self as ho, TrustFile, sealed, sign};
use ceremony::identity::Identity;
use ceremony::root::{BootstrapKey, RootDir};
use ceremony::secret::SecretBytes;
use ceremony::sops::{self, Format, KeyGroups, MacCheck, Recipient};

use super::{Demo, say, write_new};

/// Steps 11-13: seal bootstrap manifests to the root, check them without a
/// key, open one. Returns the sealed Secret manifests `(file name, bytes)`.
pub(super) fn bootstrap_steps(
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
        write_new(&path, &sealed, fsio::SECRET_MODE)?;
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
        retiring_recipient: None,
    };
    let mut configs = Configs::new(None)?;
    let verified = policy::verify_paths(&sealed_paths, &policy, &mut configs)?;
    if !verified.report.passed() {
        demo.out.report(&verified.report)?;
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
    write_new(
        &stray,
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: forgotten\nstringData:\n  token: not-sealed\n",
        fsio::SECRET_MODE,
    )?;
    let caught = policy::verify_paths(std::slice::from_ref(&stray), &policy, &mut configs)?;
    say!(demo.out, "  a Secret someone forgot to seal is caught:");
    demo.out.report(&caught.report)?;
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
pub(super) fn handover_steps(
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
    write_new(
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
    write_new(
        &receipt_path,
        envelope.to_json().map_err(ho::Error::from)?.as_bytes(),
        fsio::PUBLIC_MODE,
    )?;
    let trust_line = authority_key.ed25519_trust_line("openbao-demo", "openbao-demo receipts");
    let trust_path = demo.dir.join("trust.txt");
    write_new(
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
    demo.out.report(&report)?;
    if !report.passed() {
        bail!("the demo receipt did not verify");
    }
    say!(
        demo.out,
        "  ✓ handover verified: every bootstrap Secret received intact and retired"
    );
    Ok(())
}
