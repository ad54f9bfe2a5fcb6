//! Who a file is sealed to, and with which rule.

use std::sync::Mutex;

use super::Error;
use super::batch::Outcome;
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

/// What is decided for each target of a batch before any file is touched
/// (its plan, its layout), so that `.sops.yaml` errors show before
/// anything is written; the thread that works on a file takes its part,
/// once.
pub struct PerTarget<T>(Vec<Mutex<Option<Result<T, Error>>>>);

impl<T> PerTarget<T> {
    /// `decide` for each of `targets`, in order.
    pub fn new(targets: &[Target], mut decide: impl FnMut(&Target) -> Result<T, Error>) -> Self {
        PerTarget(
            targets
                .iter()
                .map(|t| Mutex::new(Some(decide(t))))
                .collect(),
        )
    }

    /// What was decided for target `i`.
    pub fn take(&self, i: usize) -> Result<T, Error> {
        let taken = self
            .0
            .get(i)
            .and_then(|slot| slot.lock().ok().and_then(|mut p| p.take()));
        // Each index is decided once and taken once; reaching `None` is a bug.
        taken.unwrap_or(Err(Error::Batch {
            failed: 1,
            total: 1,
            class: crate::class::Class::Internal,
        }))
    }
}

/// The plan of every target of a batch ([`plan_for`]).
pub type Plans = PerTarget<Planned>;

impl PerTarget<Planned> {
    /// Plans each of `targets` ([`plan_for`]).
    pub fn plan(targets: &[Target], flags: &[Recipient], configs: &mut Configs) -> Self {
        Self::new(targets, |t| plan_for(t, flags, configs))
    }

    /// Runs `work` with the plan of target `i`; a file no rule covers is
    /// skipped, one whose planning failed fails.
    pub fn with(&self, i: usize, work: impl FnOnce(&Plan) -> Outcome) -> Outcome {
        match self.take(i) {
            Ok(Planned::Plan(plan)) => work(&plan),
            Ok(Planned::NotCovered(reason)) => Outcome::Skipped(reason),
            Err(e) => Outcome::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn target(name: &str) -> Target {
        Target {
            path: PathBuf::from(name),
            walked: true,
            relative: PathBuf::from(name),
        }
    }

    #[test]
    fn each_targets_part_is_taken_once_in_target_order() {
        let targets = [target("a.yaml"), target("b.yaml")];
        let mut seen = Vec::new();
        let parts = PerTarget::new(&targets, |t| {
            seen.push(t.path.clone());
            Ok(t.path.display().to_string())
        });
        assert_eq!(seen, [PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]);
        assert_eq!(parts.take(1).unwrap(), "b.yaml");
        assert_eq!(parts.take(0).unwrap(), "a.yaml");
        for again in [0, 1, 2] {
            match parts.take(again) {
                Err(Error::Batch { class, .. }) => {
                    assert_eq!(class, crate::class::Class::Internal)
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_walked_file_no_rule_covers_is_skipped_and_a_failed_plan_fails() {
        let parts: Plans = PerTarget::new(&[target("a.yaml"), target("b.yaml")], |t| {
            if t.path == Path::new("a.yaml") {
                Ok(Planned::NotCovered("no rule".into()))
            } else {
                Err(Error::NoRecipients {
                    file: t.path.clone(),
                })
            }
        });
        let unused = |_: &Plan| panic!("no plan to work with");
        assert!(matches!(parts.with(0, unused), Outcome::Skipped(r) if r == "no rule"));
        assert!(matches!(
            parts.with(1, unused),
            Outcome::Failed(Error::NoRecipients { .. })
        ));
    }
}
