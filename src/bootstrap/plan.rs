//! Who a file is sealed to, and with which rule.

use super::Error;
use super::config::{Configs, RuleLookup};
use crate::sops::{CryptRule, KeyGroups, Recipient, StoreOptions};
use crate::walk::Target;

/// How one file is to be sealed.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Who can open it.
    pub key_groups: KeyGroups,
    /// The rule `.sops.yaml` sets; `None` leaves the choice to the content
    /// (the Secret rule for a Secret manifest, sops's default otherwise).
    pub rule: Option<CryptRule>,
    /// `mac_only_encrypted` from the rule.
    pub mac_only_encrypted: bool,
    /// How the file is laid out (`stores:` indents of its `.sops.yaml`).
    pub layout: StoreOptions,
}

impl Plan {
    /// Sealed to `key_groups`, the rule chosen by content: what `bootstrap
    /// seal` does where no `.sops.yaml` applies.
    pub fn sealed_to(key_groups: KeyGroups) -> Self {
        Self {
            key_groups,
            rule: None,
            mac_only_encrypted: false,
            layout: StoreOptions::default(),
        }
    }
}

/// A file's plan, or why a walked file is left alone.
#[derive(Clone, Debug)]
pub enum Planned {
    /// Seal it this way.
    Plan(Plan),
    /// A file found by walking a directory that no creation rule covers:
    /// skipped, with the reason.
    NotCovered(String),
}

/// Chooses recipients and rule for `target`: `flags` (recipients named on
/// the command line) win; otherwise the `.sops.yaml` rule's. The rule's
/// crypt options apply in both cases, as in sops.
pub fn plan_for(
    target: &Target,
    flags: &[Recipient],
    configs: &mut Configs,
) -> Result<Planned, Error> {
    let rule = match configs.rule_for(&target.path)? {
        RuleLookup::Rule(rule) => Some(rule.clone()),
        RuleLookup::NoConfig => None,
        RuleLookup::NotCovered => {
            let reason = configs.not_covered_reason(&target.path);
            if target.walked {
                return Ok(Planned::NotCovered(reason));
            }
            return Err(Error::NotCovered {
                file: target.path.clone(),
                reason,
            });
        }
    };
    let key_groups = if !flags.is_empty() {
        KeyGroups::single(flags.to_vec()).map_err(|_| Error::NoRecipients {
            file: target.path.clone(),
        })?
    } else if let Some(groups) = rule.as_ref().and_then(|r| r.key_groups.clone()) {
        groups
    } else {
        return Err(Error::NoRecipients {
            file: target.path.clone(),
        });
    };
    let layout = layout_for(&target.path, configs)?;
    Ok(Planned::Plan(Plan {
        key_groups,
        rule: rule.as_ref().and_then(|r| r.crypt_rule.clone()),
        mac_only_encrypted: rule.is_some_and(|r| r.mac_only_encrypted),
        layout,
    }))
}

/// How a file written at `path` is laid out: sops lays out everything it
/// writes (a seal, a key update, a rotation, an edit) as the `stores:`
/// section of the governing `.sops.yaml` says, and so does every rewrite
/// here.
pub fn layout_for(path: &std::path::Path, configs: &mut Configs) -> Result<StoreOptions, Error> {
    Ok(configs
        .for_file(path)?
        .map(|c| c.stores())
        .unwrap_or_default())
}
