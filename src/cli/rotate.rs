//! `ceremony root rotate | reshare | retire`: day N, each a new version of
//! the root made by [`ceremony::root::rotate`]. This module only turns the
//! flags into a plan, asks, and says what happened and what comes next.

use std::collections::BTreeSet;

use anyhow::Result;
use ceremony::clock::SystemClock;
use ceremony::root::{self, Change, ChangePlan, RootDir, RootSecret, rotate as lib};
use ceremony::shares::{self, KeyId};

use super::args::{
    CustodyArgs, RetiringKeyArg, RootChangeCommon, RootKeyArg, RootReshareArgs, RootRetireArgs,
    RootRotateArgs,
};
use super::output::note;
use super::{preflight, prompt};

/// `root rotate`
pub fn rotate(args: &RootRotateArgs) -> Result<()> {
    let root = RootDir::load(&args.common.root)?;
    let mut plan = plan_custody(&args.custody, &root)?;
    plan.rotate = args
        .keys
        .iter()
        .map(|k| match k {
            RootKeyArg::Bootstrap => RootSecret::Bootstrap,
            RootKeyArg::Unseal => RootSecret::Unseal,
            RootKeyArg::Signing => RootSecret::Signing,
        })
        .collect();
    plan.unseal_key_id = args
        .unseal_key_id
        .as_deref()
        .map(KeyId::parse)
        .transpose()?;
    change(&args.common, root, plan)
}

/// `root reshare`
pub fn reshare(args: &RootReshareArgs) -> Result<()> {
    let root = RootDir::load(&args.common.root)?;
    let plan = plan_custody(&args.custody, &root)?;
    if plan.custodians.is_none() && plan.thresholds.is_none() {
        return Err(super::CliError::Usage(
            "root reshare needs --custodians FILE or --threshold K".into(),
        )
        .into());
    }
    change(&args.common, root, plan)
}

/// `root retire`
pub fn retire(args: &RootRetireArgs) -> Result<()> {
    let root = RootDir::load(&args.common.root)?;
    let plan = ChangePlan {
        retire: args
            .keys
            .iter()
            .map(|k| match k {
                RetiringKeyArg::Bootstrap => RootSecret::Bootstrap,
                RetiringKeyArg::Unseal => RootSecret::Unseal,
            })
            .collect::<BTreeSet<_>>(),
        ..ChangePlan::default()
    };
    change(&args.common, root, plan)
}

/// New custodians and thresholds from the flags, if any.
fn plan_custody(args: &CustodyArgs, root: &RootDir) -> Result<ChangePlan> {
    let body = &root.manifest().body;
    let custodians = args
        .custodians
        .as_ref()
        .map(|path| {
            shares::load_custodians(
                path,
                super::unseal::shared_keys(args.allow_shared_custodian_key),
            )
        })
        .transpose()?;
    let plan = ChangePlan {
        custodians,
        ..ChangePlan::default()
    };
    let who = lib::custodians_for(&plan, body)?;
    Ok(ChangePlan {
        thresholds: lib::thresholds_for(&who, args.threshold, body)?,
        ..plan
    })
}

/// Makes, confirms and writes the next version.
fn change(common: &RootChangeCommon, root: RootDir, mut plan: ChangePlan) -> Result<()> {
    let clock = SystemClock;
    plan.note = common.note.clone();
    let body = &root.manifest().body;
    // Every refusal of the plan comes before the gate and any prompt.
    let changes = plan.changes(body).map_err(root::Error::from)?;
    let custodians = lib::custodians_for(&plan, body)?;
    root.check_advanceable()?;
    let gate = preflight::gate(&common.preflight)?;

    let names: Vec<&str> = changes.iter().map(|c| c.as_str()).collect();
    note!(
        "Root {} version {} → {}: {}",
        body.root_id,
        body.version(),
        body.version() + 1,
        names.join(", ")
    );
    note!(
        "  every secret is split anew among {} custodians; each gets a new bundle, and the bundles of version {} stop counting",
        custodians.len(),
        body.version()
    );
    prompt::confirm("Proceed?", common.yes)?;

    let identities = super::root::identities(&common.identities.identities)?;
    let bundles = super::root::open_bundles(&root, &common.bundles, &identities)?;
    let passphrases = prompt::passphrases_for(&custodians)?;
    let next = lib::next_version(&root, &bundles, &plan, &passphrases, &gate, &clock)?;
    let advanced = root.advance(&next)?;
    super::output::leftovers(&advanced.leftovers);
    let written = advanced.root;
    if let Some(path) = advanced.superseded {
        note!(
            "note: the superseded directory could not be removed: {} (its bundles no longer count; remove it)",
            path.display()
        );
    }

    let manifest = written.manifest();
    let body = &manifest.body;
    note!(
        "Root {} is at version {} in {}",
        body.root_id,
        body.version(),
        written.path().display()
    );
    note!(
        "  version {} is kept as {}",
        body.version() - 1,
        root::lineage::history_file(body.version() - 1)
    );
    super::root::print_written(manifest);
    note!(
        "  root.json sha256     {}",
        written.lineage().current().sha256
    );
    note!(
        "Record the new root.json's sha256 in the ceremony log. Hand each custodian their new file; they destroy their old one."
    );
    for change in &changes {
        if let Some(next) = next_step(*change, written.path()) {
            note!("Next: {next}");
        }
    }
    Ok(())
}

/// What the operator does after each change, in words.
fn next_step(change: Change, root: &std::path::Path) -> Option<String> {
    let root = root.display();
    Some(match change {
        Change::RotateUnsealKey => format!(
            "emit the static seal with both keys (`ceremony root emit openbao-static-seal --root {root} …`), restart OpenBao with it, wait until it is active (its log says \"upgrading stored keys\"), rotate OpenBao's root key and take a new snapshot, then `ceremony root retire --key unseal-key` (docs/runbooks/rotate-unseal-key.md)"
        ),
        Change::RotateBootstrapKey => format!(
            "emit the Flux Secret with both identities (`ceremony root emit flux-age-secret --root {root} …`), move Git to the new one (`ceremony bootstrap updatekeys --root {root} TREE`, then `bootstrap rotate`), check with `bootstrap verify --root {root} TREE`, push and let Flux reconcile, then `ceremony root retire --key bootstrap-key` (docs/runbooks/rotate-bootstrap-key.md)"
        ),
        Change::RotateSigningKey => {
            "transcripts signed by the old key still verify against this root's history (`ceremony transcript verify --root`)".to_owned()
        }
        Change::RetirePreviousUnsealKey => format!(
            "emit the static seal again (`ceremony root emit openbao-static-seal --root {root} …`): it now holds the current key only"
        ),
        Change::RetirePreviousBootstrapKey => format!(
            "emit the Flux Secret again (`ceremony root emit flux-age-secret --root {root} …`): it now holds the new identity only"
        ),
        Change::Reshare => return None,
    })
}
