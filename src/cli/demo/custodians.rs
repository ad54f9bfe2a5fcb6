//! Steps 6-10 of the demo: the same Shamir sharing for any secret.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};
use ceremony::fsio;
use ceremony::preflight::AirGapped;
use ceremony::secret::SecretBytes;
use ceremony::shares::{self, Custodians, KeyId, SplitPlan};

use super::super::unseal;
use super::{Demo, DemoCustodian, load_identity, make_custodians, say, write_new};

/// Steps 6-10: the same Shamir sharing for any secret.
pub(super) fn unseal_steps(
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
    write_new(&new_file, new_toml.as_bytes(), fsio::PUBLIC_MODE)?;
    let new_parsed = shares::load_custodians(&new_file, shares::SharedKeys::Refuse)?;
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

/// Rebuilds `set` from the share files of the named custodians.
fn rebuild(
    set: &shares::ShareSet,
    dir: &Path,
    custodians: &[DemoCustodian],
    names: &[&str],
    gate: &AirGapped,
) -> Result<SecretBytes> {
    let mut files = Vec::new();
    let mut identity_files = Vec::new();
    for c in custodians.iter().filter(|c| names.contains(&c.name)) {
        let file = dir.join(format!("{}.share.age", c.name));
        files.push((file.display().to_string(), fsio::read(&file)?));
        identity_files.push(c.identity.clone());
    }
    let keyring = ceremony::identity::Keyring::load_files(&identity_files, age::NoCallbacks)?;
    let quorum = shares::open_shares(set, &files, &keyring, &|_| None)?;
    Ok(shares::rebuild(set, &quorum.opened, gate)?)
}
