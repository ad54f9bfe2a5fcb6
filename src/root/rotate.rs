//! Day N: a new version of the root (design §7.8).
//!
//! Every change of a root (a new unseal key, bootstrap identity or signing
//! key, new custodians or thresholds, dropping a retiring key) is one new
//! version, made the same way: a quorum's bundles rebuild every secret the
//! root holds (behind the preflight gate), the new secrets are drawn in
//! memory, every secret is split anew among the custodians (so every
//! custodian gets a new bundle and the old bundles stop counting), and the
//! new manifest names the current one by SHA-256 and is signed by its
//! signing key. Before anything is returned the new version is checked the
//! way `root verify` will check it, so a rotation can never write a version
//! the verifier rejects. [`super::RootDir::advance`] writes it.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::OsRng;

use super::lineage::{self, Version};
use super::manifest::{self, Change, Link, PreviousVersion, Retiring, RootBody, UnsealInfo};
use super::secrets::{BootstrapKey, RootKey, SigningSeed, UnsealKey};
use super::{
    Bundle, Error, MANIFEST_FILE, PreflightRecord, RootDir, RootSecret, Thresholds,
    bundle_file_for, rebuild, rebuild_retiring,
};
use crate::clock::Clock;
use crate::preflight::AirGapped;
use crate::secret::{SecretArray, SecretBytes, SecretText};
use crate::shares::{self, Custodians, KeyId, Origin, SetId, SplitPlan, Threshold};

/// What a new version is to change.
#[derive(Clone, Debug, Default)]
pub struct ChangePlan {
    /// Secrets to replace with new ones.
    pub rotate: BTreeSet<RootSecret>,
    /// Retiring keys to drop (the bootstrap identity or the unseal key).
    pub retire: BTreeSet<RootSecret>,
    /// New custodians; `None` keeps the current ones (and their keys).
    pub custodians: Option<Custodians>,
    /// New thresholds; `None` keeps the current ones.
    pub thresholds: Option<Thresholds>,
    /// The key id of a new unseal key; by default dated.
    pub unseal_key_id: Option<KeyId>,
    /// Why, in the operator's words.
    pub note: Option<String>,
}

/// Why a plan cannot be carried out. None of these touched anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Nothing would change.
    #[error("nothing to change: name a key to rotate or retire, or new custodians or thresholds")]
    Nothing,
    /// The signing key never retires.
    #[error("the signing key is not kept after rotation, so it cannot be retired")]
    SigningNeverRetires,
    /// Nothing of that kind is retiring.
    #[error("no {label} is retiring in the current version")]
    NothingRetiring {
        /// The secret.
        label: &'static str,
    },
    /// A retiring key would be lost while the runtime may still need it.
    #[error(
        "a previous {label} is still retiring: retire it before rotating again (OpenBao and Flux keep only one previous key)"
    )]
    StillRetiring {
        /// The secret.
        label: &'static str,
    },
    /// A key rotated and retired in one version.
    #[error("the {label} cannot be rotated and its previous one retired in the same version")]
    RotateAndRetire {
        /// The secret.
        label: &'static str,
    },
    /// A key id for an unseal key that stays.
    #[error("--unseal-key-id names the key id of a new unseal key; the unseal key is not rotated")]
    KeyIdWithoutRotation,
    /// A new unseal key must have a new key id.
    #[error(
        "the key id {0:?} was used by an unseal key of this root already; OpenBao binds an id to one key"
    )]
    KeyIdReused(String),
    /// The note is too long or has control characters.
    #[error(
        "the note has more than 200 characters, or a control, bidi, zero-width or separator character"
    )]
    Note,
    /// A current threshold does not fit the new custodians.
    #[error("the {label}'s threshold {k} does not fit {n} custodians: give new thresholds")]
    ThresholdDoesNotFit {
        /// The secret.
        label: &'static str,
        /// The threshold.
        k: usize,
        /// The number of custodians.
        n: usize,
    },
}

impl ChangePlan {
    /// The changes this plan makes to `body`, in root.json order, after
    /// checking it can be carried out.
    pub fn changes(&self, body: &RootBody) -> Result<Vec<Change>, PlanError> {
        let retiring = body.retiring();
        let is_retiring = |which: RootSecret| match which {
            RootSecret::Bootstrap => retiring.bootstrap_recipient.is_some(),
            RootSecret::Unseal => retiring.unseal.is_some(),
            RootSecret::Signing => false,
        };
        let mut changes = BTreeSet::new();
        for which in &self.rotate {
            if self.retire.contains(which) {
                return Err(PlanError::RotateAndRetire {
                    label: which.label(),
                });
            }
            if is_retiring(*which) {
                return Err(PlanError::StillRetiring {
                    label: which.label(),
                });
            }
            changes.insert(match which {
                RootSecret::Bootstrap => Change::RotateBootstrapKey,
                RootSecret::Unseal => Change::RotateUnsealKey,
                RootSecret::Signing => Change::RotateSigningKey,
            });
        }
        for which in &self.retire {
            if *which == RootSecret::Signing {
                return Err(PlanError::SigningNeverRetires);
            }
            if !is_retiring(*which) {
                return Err(PlanError::NothingRetiring {
                    label: which.label(),
                });
            }
            changes.insert(match which {
                RootSecret::Bootstrap => Change::RetirePreviousBootstrapKey,
                _ => Change::RetirePreviousUnsealKey,
            });
        }
        if self.custodians.is_some() || self.thresholds.is_some() {
            changes.insert(Change::Reshare);
        }
        if self.unseal_key_id.is_some() && !self.rotate.contains(&RootSecret::Unseal) {
            return Err(PlanError::KeyIdWithoutRotation);
        }
        if let Some(note) = &self.note {
            if note.chars().count() > manifest::MAX_NOTE_LEN
                || note.chars().any(crate::text::is_hidden)
            {
                return Err(PlanError::Note);
            }
        }
        if changes.is_empty() {
            return Err(PlanError::Nothing);
        }
        Ok(changes.into_iter().collect())
    }
}

/// A new version, ready to be written: its manifest and one bundle per
/// custodian (`(relative path, armored age bytes)`).
pub struct NextVersion {
    /// The version it follows.
    pub previous: Version,
    /// The new manifest, signed.
    pub manifest: manifest::RootManifest,
    /// The new bundles.
    pub bundles: Vec<(String, Vec<u8>)>,
}

/// One secret to split into the new version.
struct ToSplit {
    label: &'static str,
    secret: SecretBytes,
    threshold: Threshold,
    key_id: Option<KeyId>,
    previous_set_id: Option<SetId>,
}

/// Makes the next version of `root` from a quorum's opened `bundles`.
/// `passphrases` holds the passphrase of each passphrase custodian of the
/// new version. Writes nothing.
pub fn next_version(
    root: &RootDir,
    bundles: &[(String, Bundle)],
    plan: &ChangePlan,
    passphrases: &BTreeMap<String, SecretText>,
    gate: &AirGapped,
    clock: &dyn Clock,
) -> Result<NextVersion, Error> {
    let previous = root.lineage().current().clone();
    let body = &previous.manifest.body;
    let changes = plan.changes(body)?;
    let rotating = |which| plan.rotate.contains(&which);
    let retiring_now = |which| plan.retire.contains(&which);

    // Everything the current version holds, from the quorum.
    let bootstrap: BootstrapKey = rebuild(body, bundles, gate)?;
    let unseal: UnsealKey = rebuild(body, bundles, gate)?;
    let signing: SigningSeed = rebuild(body, bundles, gate)?;
    let old_bootstrap: Option<BootstrapKey> = rebuild_retiring(body, bundles, gate)?;
    let old_unseal: Option<UnsealKey> = rebuild_retiring(body, bundles, gate)?;

    // What the next version holds. A rotated key becomes the retiring one.
    let (bootstrap, old_bootstrap) = if rotating(RootSecret::Bootstrap) {
        (fresh::<BootstrapKey>(), Some(bootstrap))
    } else if retiring_now(RootSecret::Bootstrap) {
        (bootstrap, None)
    } else {
        (bootstrap, old_bootstrap)
    };
    let (unseal, old_unseal) = if rotating(RootSecret::Unseal) {
        (fresh::<UnsealKey>(), Some(unseal))
    } else if retiring_now(RootSecret::Unseal) {
        (unseal, None)
    } else {
        (unseal, old_unseal)
    };
    let (signing, previous_signing) = if rotating(RootSecret::Signing) {
        (fresh::<SigningSeed>(), Some(signing))
    } else {
        (signing, None)
    };

    let unseal_info = if rotating(RootSecret::Unseal) {
        let kcv = unseal.key_check_value();
        let key_id = plan
            .unseal_key_id
            .clone()
            .unwrap_or_else(|| KeyId::dated(clock.now().date(), &kcv));
        // Never an id any version used: OpenBao binds an id to one key.
        if root.lineage().unseal_key_id_used(key_id.as_str()) {
            return Err(PlanError::KeyIdReused(key_id.to_string()).into());
        }
        UnsealInfo {
            key_id: key_id.to_string(),
            key_check_value: kcv,
        }
    } else {
        body.unseal.clone()
    };
    let retiring = Retiring {
        bootstrap_recipient: old_bootstrap.as_ref().map(|k| k.recipient()).transpose()?,
        unseal: if rotating(RootSecret::Unseal) {
            Some(body.unseal.clone())
        } else if retiring_now(RootSecret::Unseal) {
            None
        } else {
            body.retiring().unseal
        },
    };

    let custodians = custodians_for(plan, body)?;
    let thresholds = match plan.thresholds {
        Some(t) => t,
        None => carried_thresholds(body, custodians.len())?,
    };

    // The set each new split replaces, for the record.
    let set_id_of = |label: &str| {
        body.share_sets
            .iter()
            .find(|s| s.label == label)
            .map(|s| s.set_id)
    };
    let key_id_of = |info: &UnsealInfo| KeyId::parse(&info.key_id).ok();
    let mut to_split = vec![
        ToSplit {
            label: RootSecret::Bootstrap.label(),
            secret: bootstrap.as_array().to_secret_bytes(),
            threshold: thresholds.bootstrap,
            key_id: None,
            previous_set_id: set_id_of(RootSecret::Bootstrap.label()),
        },
        ToSplit {
            label: RootSecret::Unseal.label(),
            secret: unseal.as_array().to_secret_bytes(),
            threshold: thresholds.unseal,
            key_id: key_id_of(&unseal_info),
            previous_set_id: set_id_of(RootSecret::Unseal.label()),
        },
        ToSplit {
            label: RootSecret::Signing.label(),
            secret: signing.as_array().to_secret_bytes(),
            threshold: thresholds.signing,
            key_id: None,
            previous_set_id: set_id_of(RootSecret::Signing.label()),
        },
    ];
    if let Some(key) = &old_bootstrap {
        to_split.push(ToSplit {
            label: "previous-bootstrap-key",
            secret: key.as_array().to_secret_bytes(),
            threshold: thresholds.bootstrap,
            key_id: None,
            // Just rotated: it was the current set; else it was retiring.
            previous_set_id: set_id_of(if rotating(RootSecret::Bootstrap) {
                RootSecret::Bootstrap.label()
            } else {
                "previous-bootstrap-key"
            }),
        });
    }
    if let (Some(key), Some(info)) = (&old_unseal, &retiring.unseal) {
        to_split.push(ToSplit {
            label: "previous-unseal-key",
            secret: key.as_array().to_secret_bytes(),
            threshold: thresholds.unseal,
            key_id: key_id_of(info),
            previous_set_id: set_id_of(if rotating(RootSecret::Unseal) {
                RootSecret::Unseal.label()
            } else {
                "previous-unseal-key"
            }),
        });
    }

    let mut share_sets = Vec::new();
    let mut documents_by_secret = Vec::new();
    for split in &to_split {
        let points = shares::shamir::split(&split.secret, split.threshold, &mut OsRng)
            .map_err(shares::Error::from)?;
        let (set, documents) = shares::prepare(
            &split.secret,
            points,
            split.threshold,
            &custodians,
            &SplitPlan {
                label: split.label.to_owned(),
                threshold: split.threshold.k(),
                key_id: split.key_id.clone(),
                previous_set_id: split.previous_set_id,
            },
            Origin::Ceremony,
            &bundle_file_for,
            clock,
        )?;
        share_sets.push(set);
        documents_by_secret.push(documents);
    }

    let version = body.version() + 1;
    let (new_bundles, custodian_files) = super::seal_bundles(
        &body.root_id,
        version,
        &custodians,
        &documents_by_secret,
        passphrases,
    )?;

    let signing_key = signing.signing_key();
    let next = RootBody {
        format: manifest::ROOT_FORMAT_V2.to_owned(),
        root_id: body.root_id.clone(),
        lineage: Some(Link {
            version,
            previous: PreviousVersion {
                version: body.version(),
                sha256: previous.sha256.clone(),
            },
            changes,
            note: plan.note.clone(),
        }),
        created_at: clock.now_rfc3339(),
        tool_version: format!("ceremony {}", env!("CARGO_PKG_VERSION")),
        bootstrap_recipient: bootstrap.recipient()?,
        unseal: unseal_info,
        signing_public_key: {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(signing_key.verifying_key().to_bytes())
        },
        retiring: (!retiring.is_empty()).then_some(retiring),
        share_sets,
        custodian_files,
        preflight: PreflightRecord::of(gate.preflight()),
        replaces: None,
    };
    let previous_key = previous_signing.as_ref().map(SigningSeed::signing_key);
    let manifest = next.sign(&signing_key, previous_key.as_ref());

    // Checked as `root verify` will: the bytes parse, are canonical and
    // self-signed, and follow the current version.
    let written = Version::parse(MANIFEST_FILE, &manifest.to_json())?;
    lineage::check_link(&previous, &written).map_err(|reason| lineage::LineageError::Link {
        file: MANIFEST_FILE.to_owned(),
        version,
        reason,
    })?;
    Ok(NextVersion {
        previous,
        manifest,
        bundles: new_bundles,
    })
}

/// The custodians of the next version: the plan's new ones, or the
/// current ones with their keys, read back from root.json.
pub fn custodians_for(plan: &ChangePlan, body: &RootBody) -> Result<Custodians, Error> {
    if let Some(custodians) = &plan.custodians {
        return Ok(custodians.clone());
    }
    let set = body
        .share_set(RootSecret::Bootstrap)
        .ok_or_else(|| Error::Incomplete("no share set for the bootstrap-key".into()))?;
    Custodians::from_entries(&set.custodians)
        .map_err(|e| Error::Incomplete(format!("its custodians cannot be read back: {e}")))
}

/// New thresholds for a change of the root, when the custodians file's
/// `[threshold]` table or `default` (the `--threshold` flag) sets any: per
/// secret the table's value, else `default`, else the current one. `None`
/// when neither sets any: the current thresholds are kept.
pub fn thresholds_for(
    custodians: &Custodians,
    default: Option<usize>,
    body: &RootBody,
) -> Result<Option<Thresholds>, Error> {
    let from_file = |which: RootSecret| custodians.threshold_for(which.threshold_name());
    if default.is_none() && RootSecret::ALL.iter().all(|w| from_file(*w).is_none()) {
        return Ok(None);
    }
    let one = |which: RootSecret| -> Result<Threshold, Error> {
        let k = from_file(which)
            .or(default)
            .or_else(|| body.share_set(which).map(|s| s.threshold))
            .ok_or(Error::NoThreshold {
                label: which.label(),
                name: which.threshold_name(),
            })?;
        Threshold::new(k, custodians.len()).map_err(|source| Error::ThresholdFlag { source })
    };
    Ok(Some(Thresholds {
        bootstrap: one(RootSecret::Bootstrap)?,
        unseal: one(RootSecret::Unseal)?,
        signing: one(RootSecret::Signing)?,
    }))
}

fn fresh<K: RootKey>() -> K {
    K::from_array(SecretArray::random())
}

/// The current thresholds, for custodians that keep them; each must fit
/// the (possibly new) number of custodians.
fn carried_thresholds(body: &RootBody, n: usize) -> Result<Thresholds, Error> {
    let one = |which: RootSecret| -> Result<Threshold, Error> {
        let k = body
            .share_set(which)
            .map(|s| s.threshold)
            .ok_or_else(|| Error::Incomplete(format!("no share set for the {}", which.label())))?;
        Threshold::new(k, n).map_err(|_| {
            Error::Plan(PlanError::ThresholdDoesNotFit {
                label: which.label(),
                k,
                n,
            })
        })
    };
    Ok(Thresholds {
        bootstrap: one(RootSecret::Bootstrap)?,
        unseal: one(RootSecret::Unseal)?,
        signing: one(RootSecret::Signing)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::identity::Identity;
    use crate::root::lineage::{LinkError, check_link};
    use crate::root::{InitPlan, Lineage, Retirable, RootManifest, init};
    use age::secrecy::ExposeSecret;

    /// Three age custodians, 2 of 3 for every secret, and their identities.
    struct Fixture {
        custodians: Custodians,
        identities: Vec<Identity>,
    }

    fn fixture() -> Fixture {
        let keys: Vec<age::x25519::Identity> =
            (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let mut text = String::from("[threshold]\nbootstrap = 2\nunseal = 2\nsigning = 2\n");
        for (i, key) in keys.iter().enumerate() {
            text.push_str(&format!(
                "[[custodian]]\nname = \"c{i}\"\nage = \"{}\"\n",
                key.to_public()
            ));
        }
        let identities = keys
            .iter()
            .map(|k| -> Identity {
                Box::new(
                    k.to_string()
                        .expose_secret()
                        .parse::<age::x25519::Identity>()
                        .unwrap(),
                )
            })
            .collect();
        Fixture {
            custodians: Custodians::parse(&text).unwrap(),
            identities,
        }
    }

    /// A root in memory: its lineage and the bundles of its current version.
    struct Root {
        dir: RootDir,
        files: Vec<(String, Vec<u8>)>,
        _tmp: tempfile::TempDir,
    }

    fn new_root(f: &Fixture) -> Root {
        let plan = InitPlan {
            thresholds: Thresholds::resolve(&f.custodians, None).unwrap(),
            unseal_key_id: None,
            replaces: None,
        };
        let out = init(
            &f.custodians,
            &plan,
            &BTreeMap::new(),
            &AirGapped::for_tests(),
            &SystemClock,
        )
        .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("root");
        let dir = super::super::dir::Target::check(
            &path,
            super::super::dir::Replace::Never,
            &SystemClock,
        )
        .unwrap()
        .0
        .write(&out)
        .unwrap()
        .0;
        Root {
            dir,
            files: out.bundles,
            _tmp: tmp,
        }
    }

    impl Root {
        fn opened(&self, f: &Fixture, which: &[usize]) -> Vec<(String, Bundle)> {
            let files: Vec<_> = which.iter().map(|i| self.files[*i].clone()).collect();
            crate::root::open_bundles(&files, &f.identities, &|_| None)
                .unwrap()
                .opened
        }

        fn next(&self, f: &Fixture, plan: &ChangePlan) -> Result<NextVersion, Error> {
            next_version(
                &self.dir,
                &self.opened(f, &[0, 2]),
                plan,
                &BTreeMap::new(),
                &AirGapped::for_tests(),
                &SystemClock,
            )
        }

        fn advance(self, f: &Fixture, plan: &ChangePlan) -> Root {
            let next = self.next(f, plan).unwrap();
            let advanced = self.dir.advance(&next).unwrap();
            assert!(advanced.superseded.is_none());
            Root {
                dir: advanced.root,
                files: next.bundles,
                _tmp: self._tmp,
            }
        }

        fn body(&self) -> &RootBody {
            &self.dir.manifest().body
        }
    }

    fn rotating(which: RootSecret) -> ChangePlan {
        ChangePlan {
            rotate: BTreeSet::from([which]),
            ..ChangePlan::default()
        }
    }

    fn retiring(which: RootSecret) -> ChangePlan {
        ChangePlan {
            retire: BTreeSet::from([which]),
            ..ChangePlan::default()
        }
    }

    #[test]
    fn a_rotated_unseal_key_is_new_and_the_old_one_retires_until_retired() {
        let f = fixture();
        let v1 = new_root(&f);
        let gate = AirGapped::for_tests();
        let old: UnsealKey = rebuild(v1.body(), &v1.opened(&f, &[0, 1]), &gate).unwrap();
        let old_info = v1.body().unseal.clone();

        let v2 = v1.advance(&f, &rotating(RootSecret::Unseal));
        let body = v2.body();
        assert_eq!(body.version(), 2);
        assert_eq!(
            body.lineage.as_ref().unwrap().changes,
            vec![Change::RotateUnsealKey]
        );
        assert_ne!(body.unseal, old_info);
        assert_eq!(body.retiring().unseal, Some(old_info.clone()));
        let bundles = v2.opened(&f, &[1, 2]);
        let new: UnsealKey = rebuild(body, &bundles, &gate).unwrap();
        assert_ne!(
            new.as_array().expose_secret(),
            old.as_array().expose_secret()
        );
        let previous: UnsealKey = rebuild_retiring(body, &bundles, &gate).unwrap().unwrap();
        assert_eq!(
            previous.as_array().expose_secret(),
            old.as_array().expose_secret()
        );
        // The other secrets are the same secrets.
        assert_eq!(
            body.bootstrap_recipient,
            v2.dir.lineage().first().manifest.body.bootstrap_recipient
        );

        let v3 = v2.advance(&f, &retiring(RootSecret::Unseal));
        assert!(v3.body().retiring.is_none());
        assert!(v3.body().previous_share_set(RootSecret::Unseal).is_none());
        let lineage = Lineage::read(v3.dir.path()).unwrap();
        assert_eq!(lineage.versions().count(), 3);
    }

    #[test]
    fn a_rotated_signing_key_is_endorsed_by_the_old_one() {
        let f = fixture();
        let v1 = new_root(&f);
        let old_key = v1.body().signing_public_key.clone();
        let v2 = v1.advance(&f, &rotating(RootSecret::Signing));
        assert_ne!(v2.body().signing_public_key, old_key);
        assert!(v2.dir.manifest().previous_key_signature.is_some());
        let keys = v2.dir.lineage().signing_keys();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].public_key, old_key);
        assert_eq!(keys[0].versions, "version 1, replaced in version 2");
        assert_eq!(
            keys[0].replaced_at.as_deref(),
            Some(v2.body().created_at.as_str())
        );
        assert_eq!(keys[1].versions, "version 2 on, current");
        assert_eq!(keys[1].replaced_at, None);
    }

    #[test]
    fn a_retired_bootstrap_identity_is_checked_against_what_retires() {
        let f = fixture();
        let v1 = new_root(&f);
        let old = v1.body().bootstrap_recipient.clone();
        let v2 = v1.advance(&f, &rotating(RootSecret::Bootstrap));
        assert_eq!(
            v2.body().retiring().bootstrap_recipient.as_deref(),
            Some(old.as_str())
        );
        let previous: BootstrapKey =
            rebuild_retiring(v2.body(), &v2.opened(&f, &[0, 1]), &AirGapped::for_tests())
                .unwrap()
                .unwrap();
        assert_eq!(previous.recipient().unwrap(), old);
        assert!(previous.check_retiring(&v2.body().retiring()).is_ok());
    }

    #[test]
    fn plans_that_would_lose_or_invent_a_key_are_refused_before_anything_is_made() {
        let f = fixture();
        let v1 = new_root(&f);
        let body = v1.body();
        let refused = |plan: ChangePlan| plan.changes(body).unwrap_err();
        assert_eq!(refused(ChangePlan::default()), PlanError::Nothing);
        assert_eq!(
            refused(retiring(RootSecret::Unseal)),
            PlanError::NothingRetiring {
                label: "unseal-key"
            }
        );
        assert_eq!(
            refused(retiring(RootSecret::Signing)),
            PlanError::SigningNeverRetires
        );
        assert_eq!(
            refused(ChangePlan {
                unseal_key_id: Some(KeyId::parse("k2").unwrap()),
                ..rotating(RootSecret::Bootstrap)
            }),
            PlanError::KeyIdWithoutRotation
        );
        assert_eq!(
            refused(ChangePlan {
                note: Some("a\nb".into()),
                ..rotating(RootSecret::Bootstrap)
            }),
            PlanError::Note
        );
        let same_id = ChangePlan {
            unseal_key_id: Some(KeyId::parse(&body.unseal.key_id).unwrap()),
            ..rotating(RootSecret::Unseal)
        };
        assert!(matches!(
            v1.next(&f, &same_id),
            Err(Error::Plan(PlanError::KeyIdReused(_)))
        ));

        let v2 = v1.advance(&f, &rotating(RootSecret::Unseal));
        assert_eq!(
            rotating(RootSecret::Unseal).changes(v2.body()).unwrap_err(),
            PlanError::StillRetiring {
                label: "unseal-key"
            }
        );
        let both = ChangePlan {
            rotate: BTreeSet::from([RootSecret::Unseal]),
            retire: BTreeSet::from([RootSecret::Unseal]),
            ..ChangePlan::default()
        };
        assert_eq!(
            both.changes(v2.body()).unwrap_err(),
            PlanError::RotateAndRetire {
                label: "unseal-key"
            }
        );
    }

    #[test]
    fn bundles_of_an_earlier_version_no_longer_count() {
        let f = fixture();
        let v1 = new_root(&f);
        let old_files = v1.files.clone();
        let v2 = v1.advance(&f, &rotating(RootSecret::Bootstrap));
        let stale = crate::root::open_bundles(&old_files, &f.identities, &|_| None)
            .unwrap()
            .opened;
        let err = rebuild::<UnsealKey>(v2.body(), &stale, &AirGapped::for_tests())
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                Error::StaleBundle {
                    found: 1,
                    current: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_reshare_to_new_custodians_keeps_every_secret() {
        let f = fixture();
        let v1 = new_root(&f);
        let gate = AirGapped::for_tests();
        let before: SigningSeed = rebuild(v1.body(), &v1.opened(&f, &[0, 1]), &gate).unwrap();
        let g = fixture();
        let plan = ChangePlan {
            custodians: Some(g.custodians.clone()),
            ..ChangePlan::default()
        };
        let next = v1.next(&f, &plan).unwrap();
        let dir = v1.dir.advance(&next).unwrap().root;
        let body = &dir.manifest().body;
        assert_eq!(
            body.lineage.as_ref().unwrap().changes,
            vec![Change::Reshare]
        );
        let opened = crate::root::open_bundles(&next.bundles, &g.identities, &|_| None)
            .unwrap()
            .opened;
        assert_eq!(opened.len(), 3, "the new custodians open their bundles");
        let after: SigningSeed = rebuild(body, &opened, &gate).unwrap();
        assert_eq!(
            after.as_array().expose_secret(),
            before.as_array().expose_secret()
        );
        // The old custodians' keys open none of the new bundles.
        let old = crate::root::open_bundles(&next.bundles, &f.identities, &|_| None).unwrap();
        assert!(old.opened.is_empty());
    }

    /// Re-signs `body` as a successor of `previous` with `key` (the real
    /// signing key, so only the rule under test can fail).
    fn forged(
        previous: &Version,
        body: RootBody,
        key: &ed25519_dalek::SigningKey,
        previous_key: Option<&ed25519_dalek::SigningKey>,
    ) -> Version {
        let manifest: RootManifest = body.sign(key, previous_key);
        Version::parse("root.json", &manifest.to_json()).unwrap_or_else(|e| {
            panic!("forged {} did not parse: {e}", previous.file);
        })
    }

    #[test]
    fn every_rule_of_a_link_is_enforced() {
        let f = fixture();
        let v1 = new_root(&f);
        let gate = AirGapped::for_tests();
        let signing: SigningSeed = rebuild(v1.body(), &v1.opened(&f, &[0, 1]), &gate).unwrap();
        let key = signing.signing_key();
        let first = v1.dir.lineage().current().clone();
        let next = v1.next(&f, &rotating(RootSecret::Unseal)).unwrap();
        let good = next.manifest.body.clone();
        assert_eq!(
            check_link(&first, &forged(&first, good.clone(), &key, None)),
            Ok(())
        );
        let broken = |change: &dyn Fn(&mut RootBody)| {
            let mut body = good.clone();
            change(&mut body);
            check_link(&first, &forged(&first, body, &key, None)).unwrap_err()
        };

        assert!(matches!(
            broken(&|b| b.root_id = "0".repeat(32)),
            LinkError::RootId { .. }
        ));
        assert!(matches!(
            broken(&|b| b.lineage.as_mut().unwrap().previous.sha256 = "0".repeat(64)),
            LinkError::Hash { .. }
        ));
        // A new bootstrap recipient nobody declared.
        let stranger = age::x25519::Identity::generate().to_public().to_string();
        let undeclared = broken(&|b| b.bootstrap_recipient = stranger.clone());
        assert!(
            undeclared
                .to_string()
                .contains("without declaring rotate-bootstrap-key"),
            "{undeclared}"
        );
        // A declared rotation that did not happen.
        let fake = broken(&|b| {
            b.lineage.as_mut().unwrap().changes =
                vec![Change::RotateBootstrapKey, Change::RotateUnsealKey]
        });
        assert!(fake.to_string().contains("is the same"), "{fake}");
        // A new key under the old key id.
        let reused = broken(&|b| b.unseal.key_id = first.manifest.body.unseal.key_id.clone());
        assert!(reused.to_string().contains("reuses the key id"), "{reused}");
        // The retiring key dropped without saying so.
        let dropped = broken(&|b| {
            b.retiring = None;
            b.share_sets.retain(|s| s.label != "previous-unseal-key");
        });
        assert!(matches!(dropped, LinkError::Retiring(_)), "{dropped}");
        // Another threshold, not declared as a reshare.
        let threshold = broken(&|b| {
            for set in &mut b.share_sets {
                set.threshold = 3;
            }
        });
        assert!(threshold.to_string().contains("reshare"), "{threshold}");

        // A successor signed by another key is not endorsed, whether it
        // claims the old key or a new one.
        let stranger_key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let claimed = forged(&first, good.clone(), &key, None);
        let mut manifest = claimed.manifest.clone();
        manifest.signature = good.clone().sign(&stranger_key, None).signature;
        assert!(Version::parse("root.json", &manifest.to_json()).is_err());
        let mut taken = good.clone();
        taken.lineage.as_mut().unwrap().changes =
            vec![Change::RotateUnsealKey, Change::RotateSigningKey];
        taken.signing_public_key = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .encode(stranger_key.verifying_key().to_bytes())
        };
        let takeover = forged(&first, taken, &stranger_key, Some(&stranger_key));
        assert_eq!(check_link(&first, &takeover), Err(LinkError::NotEndorsed));
    }
}
