//! Phase 0: the root of trust.
//!
//! `root init` generates three secrets in memory (the bootstrap age identity,
//! the unseal key, the root signing key), splits each among the custodians,
//! gives each custodian one age file holding all their shares, and writes a
//! public manifest signed by the root signing key. The root is made once and
//! never regenerated (design §7.2.1); replacing one takes an explicit flag and
//! is recorded in the new manifest.
//!
//! Phase 2 emitters rebuild a secret from a quorum, check it against the
//! manifest, and format the Kubernetes Secret the cluster needs
//! ([`emit`]).

pub mod bundle;
pub mod dir;
pub mod emit;
pub mod lineage;
pub mod manifest;
pub mod rotate;
pub mod secrets;

#[cfg(test)]
mod redteam_tests;

use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

pub use bundle::Bundle;
pub use dir::{RootDir, Target};
pub use lineage::{Lineage, LineageError, Version};
pub use manifest::{Change, ManifestError, PreflightRecord, Replaced, RootBody, RootManifest};
pub use rotate::{ChangePlan, NextVersion};
pub use secrets::{
    BootstrapKey, Retirable, RootKey, RootSecret, RootSecrets, SigningSeed, UnsealKey,
};

use crate::class::Class;
use crate::clock::Clock;
use crate::preflight::AirGapped;
use crate::report::{Report, Status};
use crate::secret::{SecretArray, SecretText};
use crate::shares::{
    self, CustodianName, Custodians, KeyId, OpenedShare, Origin, SetId, SplitPlan, Threshold,
    sharefile,
};

/// The manifest's file name inside a root directory.
pub const MANIFEST_FILE: &str = "root.json";

/// A custodian's bundle path inside a root directory.
pub fn bundle_file_for(name: &CustodianName) -> String {
    format!("shares/{}.age", name.as_str())
}

/// Errors of root handling; none carries secret bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From the share layer.
    #[error(transparent)]
    Shares(#[from] shares::Error),
    /// From the file layer.
    #[error(transparent)]
    Fs(#[from] crate::fsio::FsError),
    /// The manifest is not acceptable.
    #[error("{file}")]
    Manifest {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// A bundle of another root.
    #[error("{file}: these shares belong to root {found}, not to root {expected}")]
    WrongRoot {
        /// The bundle file.
        file: String,
        /// Its root.
        found: String,
        /// The manifest's root.
        expected: String,
    },
    /// A bundle made for another version of the root.
    #[error(
        "{file}: this bundle was made for version {found} of the root, which is now at version {current}"
    )]
    StaleBundle {
        /// The bundle file.
        file: String,
        /// Its version.
        found: u64,
        /// The root's current version.
        current: u64,
    },
    /// The root's history does not hold together.
    #[error(transparent)]
    Lineage(#[from] LineageError),
    /// A root directory holding files that are not part of the root.
    #[error("{path} holds files that are not part of the root: {}; a new version replaces the directory whole, so they would be lost; nothing was changed", files.join(", "))]
    ForeignFiles {
        /// The root directory.
        path: std::path::PathBuf,
        /// The files, relative to it.
        files: Vec<String>,
    },
    /// A change that cannot be made.
    #[error(transparent)]
    Plan(#[from] rotate::PlanError),
    /// A bundle without a share of the wanted secret.
    #[error("{file}: holds no share of the {label}")]
    MissingShare {
        /// The bundle file.
        file: String,
        /// The secret's label.
        label: String,
    },
    /// The rebuilt secret disagrees with a public value of the manifest.
    #[error("the rebuilt {label} does not match root.json (nothing was output)")]
    Mismatch {
        /// The secret.
        label: &'static str,
        /// What differs.
        source: secrets::Mismatch,
    },
    /// The manifest lacks something every root has.
    #[error("root.json: {0}")]
    Incomplete(String),
    /// The `--threshold` given does not fit the custodians.
    #[error("--threshold")]
    ThresholdFlag {
        /// Why.
        #[source]
        source: shares::ShamirError,
    },
    /// No threshold for one of the secrets.
    #[error("no threshold for the {label}")]
    NoThreshold {
        /// The secret's label.
        label: &'static str,
        /// Its key in the `[threshold]` table.
        name: &'static str,
    },
    /// The directory already holds a root.
    #[error(
        "{path} already holds a root (root.json): a root is created once and never regenerated; nothing was changed"
    )]
    RootExists {
        /// The root directory.
        path: std::path::PathBuf,
    },
    /// A replacement was interrupted: the old root is aside, no root is in
    /// place.
    #[error(
        "{path} holds no root, but {aside} does: a replacement of the root was interrupted; nothing was changed"
    )]
    InterruptedReplace {
        /// The root directory.
        path: std::path::PathBuf,
        /// Where the old root is.
        aside: std::path::PathBuf,
    },
    /// Writing the new root failed after the old one was moved aside.
    #[error("writing the new root failed; {whereabouts}")]
    Replace {
        /// Where the old root is now.
        whereabouts: String,
        /// The failure.
        #[source]
        source: crate::fsio::FsError,
    },
    /// The bootstrap key could not be encoded (a bug).
    #[error(transparent)]
    Encoding(#[from] secrets::EncodingError),
}

impl Error {
    /// The class of this error, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::Shares(e) => e.class(),
            Error::Fs(e) => e.class(),
            Error::Manifest { source, .. } => match source {
                ManifestError::Malformed { .. } => Class::Input,
                _ => Class::Verification,
            },
            Error::WrongRoot { .. } | Error::Mismatch { .. } | Error::StaleBundle { .. } => {
                Class::Verification
            }
            Error::Lineage(e) => e.class(),
            Error::Plan(e) => match e {
                rotate::PlanError::NothingRetiring { .. }
                | rotate::PlanError::StillRetiring { .. }
                | rotate::PlanError::KeyIdReused(_) => Class::Refused,
                _ => Class::Usage,
            },
            Error::MissingShare { .. } | Error::Incomplete(_) => Class::Input,
            Error::NoThreshold { .. } | Error::ThresholdFlag { .. } => Class::Usage,
            Error::RootExists { .. }
            | Error::InterruptedReplace { .. }
            | Error::ForeignFiles { .. } => Class::Refused,
            Error::Replace { source, .. } => source.class(),
            Error::Encoding(_) => Class::Internal,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Shares(e) => e.hint(),
            Error::Fs(e) => e.hint(),
            Error::RootExists { .. } => Some(
                "to replace it anyway, pass --replace-existing-root-and-break-trust (recorded in the new root.json)",
            ),
            Error::InterruptedReplace { .. } => Some(
                "move the old root back into place (mv ROOT.replaced-… ROOT) and run the replacement again, or remove it if it is really to be abandoned",
            ),
            Error::NoThreshold { .. } => {
                Some("pass --threshold K or set it in the custodians file's [threshold] table")
            }
            Error::WrongRoot { .. } => Some("bring the bundles of this root"),
            Error::ForeignFiles { .. } => Some(
                "move them out of the root directory (a transcript belongs beside it, e.g. ROOT.transcript.jsonl, not in it), then run the command again",
            ),
            Error::StaleBundle { .. } => Some(
                "bring the bundles of the current version (ROOT/shares/<name>.age as written by the last rotation); an older bundle no longer counts",
            ),
            Error::Lineage(_) => Some(
                "compare the root directory's history/ with the copies the witnesses kept; never edit or reorder its files",
            ),
            Error::Mismatch { .. } => Some(
                "a share or root.json was altered: stop and compare root.json with the copy the witnesses recorded",
            ),
            _ => None,
        }
    }
}

/// The threshold of each root secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// The bootstrap age identity's.
    pub bootstrap: Threshold,
    /// The unseal key's.
    pub unseal: Threshold,
    /// The signing key's.
    pub signing: Threshold,
}

impl Thresholds {
    /// The threshold of one secret.
    pub fn of(&self, which: RootSecret) -> Threshold {
        match which {
            RootSecret::Bootstrap => self.bootstrap,
            RootSecret::Unseal => self.unseal,
            RootSecret::Signing => self.signing,
        }
    }

    /// Each secret's threshold from the custodians file's `[threshold]`
    /// table, else `default` (the `--threshold` flag).
    pub fn resolve(custodians: &Custodians, default: Option<usize>) -> Result<Self, Error> {
        let one = |which: RootSecret| -> Result<Threshold, Error> {
            let k = custodians
                .threshold_for(which.threshold_name())
                .or(default)
                .ok_or(Error::NoThreshold {
                    label: which.label(),
                    name: which.threshold_name(),
                })?;
            // A bad `--threshold` is a usage error; a bad `[threshold]`
            // value of the file was already refused with its line.
            Threshold::new(k, custodians.len()).map_err(|source| Error::ThresholdFlag { source })
        };
        Ok(Self {
            bootstrap: one(RootSecret::Bootstrap)?,
            unseal: one(RootSecret::Unseal)?,
            signing: one(RootSecret::Signing)?,
        })
    }
}

/// What `root init` is asked to make.
#[derive(Clone, Debug)]
pub struct InitPlan {
    /// Threshold of each secret.
    pub thresholds: Thresholds,
    /// Key id of the unseal key; by default dated ([`KeyId::dated`]).
    pub unseal_key_id: Option<KeyId>,
    /// The root this one replaces, if the operator forced it.
    pub replaces: Option<Replaced>,
}

/// What `root init` produces; [`RootDir`] writes it.
pub struct InitOutput {
    /// The signed manifest.
    pub manifest: RootManifest,
    /// `(relative path, armored age bytes)` per custodian.
    pub bundles: Vec<(String, Vec<u8>)>,
}

/// Generates a root and splits it among `custodians`. Only a machine that
/// passed the preflight gate can do this: `gate` is the proof.
pub fn init(
    custodians: &Custodians,
    plan: &InitPlan,
    passphrases: &std::collections::BTreeMap<String, SecretText>,
    gate: &AirGapped,
    clock: &dyn Clock,
) -> Result<InitOutput, Error> {
    let secrets = RootSecrets::generate();
    let root_id = SetId::random().to_string();
    let unseal_key_id = plan
        .unseal_key_id
        .clone()
        .unwrap_or_else(|| KeyId::dated(clock.now().date(), &secrets.unseal.key_check_value()));

    let mut share_sets = Vec::new();
    let mut documents_by_secret = Vec::new();
    for which in RootSecret::ALL {
        let threshold = plan.thresholds.of(which);
        let secret = secrets.bytes_of(which);
        let points =
            shares::shamir::split(&secret, threshold, &mut OsRng).map_err(shares::Error::from)?;
        let split_plan = SplitPlan {
            label: which.label().to_owned(),
            threshold: threshold.k(),
            key_id: (which == RootSecret::Unseal).then(|| unseal_key_id.clone()),
            previous_set_id: None,
        };
        let (set, documents) = shares::prepare(
            &secret,
            points,
            threshold,
            custodians,
            &split_plan,
            Origin::Ceremony,
            &bundle_file_for,
            clock,
        )?;
        share_sets.push(set);
        documents_by_secret.push(documents);
    }

    let (bundles, custodian_files) =
        seal_bundles(&root_id, 1, custodians, &documents_by_secret, passphrases)?;

    let signing = secrets.signing.signing_key();
    let body = RootBody {
        format: manifest::ROOT_FORMAT_V1.to_owned(),
        root_id,
        lineage: None,
        created_at: clock.now_rfc3339(),
        tool_version: format!("ceremony {}", env!("CARGO_PKG_VERSION")),
        bootstrap_recipient: secrets.bootstrap.recipient()?,
        unseal: manifest::UnsealInfo {
            key_id: unseal_key_id.to_string(),
            key_check_value: secrets.unseal.key_check_value(),
        },
        signing_public_key: {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(signing.verifying_key().to_bytes())
        },
        retiring: None,
        share_sets,
        custodian_files,
        preflight: PreflightRecord::of(gate.preflight()),
        replaces: plan.replaces.clone(),
    };
    let manifest = body.sign(&signing, None);
    // Read back before reporting success: the bytes we are about to write
    // must parse, be canonical and verify.
    RootManifest::from_json(&manifest.to_json()).map_err(|source| Error::Manifest {
        file: MANIFEST_FILE.into(),
        source,
    })?;
    Ok(InitOutput { manifest, bundles })
}

/// Each custodian's bundle file and its public entry.
pub(crate) type SealedBundles = (Vec<(String, Vec<u8>)>, Vec<manifest::CustodianFile>);

/// Encrypts each custodian's bundle of one version: their share of every
/// secret (`documents_by_secret[secret][custodian]`), to their key. Returns
/// `(relative path, armored age bytes)` per custodian and the files' public
/// entries for root.json.
pub(crate) fn seal_bundles(
    root_id: &str,
    version: u64,
    custodians: &Custodians,
    documents_by_secret: &[Vec<shares::ShareDocument>],
    passphrases: &std::collections::BTreeMap<String, SecretText>,
) -> Result<SealedBundles, Error> {
    let mut bundles = Vec::new();
    let mut custodian_files = Vec::new();
    for (i, custodian) in custodians.iter().enumerate() {
        let bundle = Bundle {
            root_id: root_id.to_owned(),
            root_version: version,
            custodian: custodian.name.to_string(),
            shares: documents_by_secret
                .iter()
                .filter_map(|docs| docs.get(i).cloned())
                .collect(),
        };
        let file = bundle_file_for(&custodian.name);
        let passphrase = shares::passphrase_for(custodian, passphrases)?;
        let plaintext = bundle.to_json().map_err(|e| shares::Error::ShareFile {
            file: file.clone(),
            source: e.into(),
        })?;
        let sealed =
            sharefile::seal_bytes(&plaintext, &custodian.key, passphrase).map_err(|source| {
                shares::Error::ShareFile {
                    file: file.clone(),
                    source,
                }
            })?;
        custodian_files.push(manifest::CustodianFile {
            name: custodian.name.to_string(),
            file: file.clone(),
            sha256: hex::encode(Sha256::digest(&sealed)),
        });
        bundles.push((file, sealed));
    }
    Ok((bundles, custodian_files))
}

/// Decrypts one custodian's bundle.
pub fn open_bundle(
    file: &str,
    bytes: &[u8],
    identities: &[crate::identity::Identity],
    passphrase: &dyn Fn(&str) -> Option<SecretText>,
) -> Result<Bundle, Error> {
    let wrap = |source| shares::Error::ShareFile {
        file: file.to_owned(),
        source,
    };
    let plaintext = sharefile::open_bytes(bytes, identities, passphrase, file).map_err(wrap)?;
    Bundle::from_json(&plaintext).map_err(|e| Error::from(wrap(e.into())))
}

/// Opens every bundle it can. A bundle no identity or passphrase opens is
/// skipped (reported in the openings: not every custodian is present); one
/// that opens but is damaged stops everything.
pub fn open_bundles(
    files: &[(String, Vec<u8>)],
    identities: &[crate::identity::Identity],
    passphrase: &dyn Fn(&str) -> Option<SecretText>,
) -> Result<shares::Quorum<(String, Bundle)>, Error> {
    let mut bundles = Vec::new();
    let mut openings = Vec::new();
    for (file, bytes) in files {
        match open_bundle(file, bytes, identities, passphrase) {
            Ok(bundle) => {
                openings.push(shares::Opening::Opened {
                    file: file.clone(),
                    custodian: bundle.custodian.clone(),
                    x: 0,
                });
                bundles.push((file.clone(), bundle));
            }
            Err(e) if e.class() == Class::Decryption => openings.push(shares::Opening::Skipped {
                file: file.clone(),
                reason: crate::error::chain_text(&e),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(shares::Quorum {
        opened: bundles,
        openings,
    })
}

/// Rebuilds one root secret from opened bundles, checking every share
/// against the manifest and the result against the manifest's public value
/// for it. The key type says which secret: `rebuild::<UnsealKey>(…)`.
pub fn rebuild<K: RootKey>(
    body: &RootBody,
    bundles: &[(String, Bundle)],
    gate: &AirGapped,
) -> Result<K, Error> {
    let which = K::SECRET;
    let set = body
        .share_set(which)
        .ok_or_else(|| Error::Incomplete(format!("no share set for the {}", which.label())))?;
    let key: K = rebuild_from(body, set, bundles, gate)?;
    key.check_against(body).map_err(|source| Error::Mismatch {
        label: which.label(),
        source,
    })?;
    Ok(key)
}

/// Rebuilds the retiring version of a root secret (the key the runtime
/// still needs during a rotation), checked against what root.json records
/// of it. `None` when nothing of that kind is retiring.
pub fn rebuild_retiring<K: Retirable>(
    body: &RootBody,
    bundles: &[(String, Bundle)],
    gate: &AirGapped,
) -> Result<Option<K>, Error> {
    let Some(set) = body.previous_share_set(K::SECRET) else {
        return Ok(None);
    };
    let key: K = rebuild_from(body, set, bundles, gate)?;
    key.check_retiring(&body.retiring())
        .map_err(|source| Error::Mismatch {
            label: set_label(K::SECRET),
            source,
        })?;
    Ok(Some(key))
}

fn set_label(which: RootSecret) -> &'static str {
    which.previous_label().unwrap_or(which.label())
}

fn rebuild_from<K: RootKey>(
    body: &RootBody,
    set: &shares::ShareSet,
    bundles: &[(String, Bundle)],
    gate: &AirGapped,
) -> Result<K, Error> {
    let mut opened = Vec::new();
    for (file, bundle) in bundles {
        if bundle.root_id != body.root_id {
            return Err(Error::WrongRoot {
                file: file.clone(),
                found: bundle.root_id.clone(),
                expected: body.root_id.clone(),
            });
        }
        if bundle.root_version != body.version() {
            return Err(Error::StaleBundle {
                file: file.clone(),
                found: bundle.root_version,
                current: body.version(),
            });
        }
        let document = bundle
            .shares
            .iter()
            .find(|d| d.label == set.label)
            .ok_or_else(|| Error::MissingShare {
                file: file.clone(),
                label: set.label.clone(),
            })?;
        opened.push(OpenedShare {
            file: file.clone(),
            document: document.clone(),
        });
    }
    let secret = shares::rebuild(set, &opened, gate)?;
    let bytes = SecretArray::from_slice(secret.expose_secret()).ok_or(Error::Mismatch {
        label: K::SECRET.label(),
        source: secrets::Mismatch {
            what: "length is not 32 bytes",
        },
    })?;
    Ok(K::from_array(bytes))
}

/// What `root verify` is given besides the directory.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// A copy of the root's first root.json kept out of band: `(its name,
    /// its bytes)`. The first version must be byte for byte this.
    pub anchor: Option<(&'a str, &'a [u8])>,
    /// The SHA-256 (hex) the current root.json must have: the head the
    /// ceremony log recorded, which an older version would not match.
    pub head: Option<&'a str>,
}

/// Checks a root directory without any secret: every version's form and
/// signature, that each version follows the one before, the current
/// version's structure, and the custodian files against their hashes. A
/// custodian file that is absent (taken home by its custodian) is reported
/// as not checked; any other problem fails the report.
pub fn verify_dir(root: &std::path::Path, options: VerifyOptions<'_>) -> (Option<Lineage>, Report) {
    let mut report = Report::new();
    let lineage = match Lineage::read_links(root) {
        Ok(lineage) => lineage,
        Err(e) => {
            let (check, place) = match &e {
                LineageError::Manifest {
                    file,
                    source: ManifestError::BadSignature,
                } => ("signature", file.clone()),
                LineageError::Manifest { file, .. } => ("manifest", file.clone()),
                LineageError::Read { .. } => ("manifest", MANIFEST_FILE.to_owned()),
                _ => ("lineage", String::new()),
            };
            let place = if place.is_empty() {
                String::new()
            } else {
                root.join(place).display().to_string()
            };
            report.record(check, place, false, crate::error::chain_text(&e));
            return (None, report);
        }
    };
    let current = lineage.current();
    report.record(
        "manifest",
        root.join(MANIFEST_FILE).display().to_string(),
        true,
        format!(
            "canonical, format {}, version {}",
            current.manifest.body.format,
            current.number()
        ),
    );
    report.record(
        "signature",
        "",
        true,
        format!(
            "ed25519 by the root signing key {}",
            current.manifest.signing_key_fingerprint()
        ),
    );
    for version in lineage.versions().skip(1) {
        let link = version.manifest.body.lineage.as_ref();
        let changes: Vec<&str> = link
            .map(|l| l.changes.iter().map(|c| c.as_str()).collect())
            .unwrap_or_default();
        report.record(
            "lineage",
            version.file.clone(),
            true,
            format!(
                "version {} ({}) follows version {}: names its SHA-256, signed by its key{}",
                version.number(),
                changes.join(", "),
                version.number().saturating_sub(1),
                if version.manifest.previous_key_signature.is_some() {
                    " and the new one"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some((file, bytes)) = options.anchor {
        match lineage.check_anchor(file, bytes) {
            Ok(()) => report.record(
                "anchor",
                file,
                true,
                format!(
                    "the first version is this file (sha256 {})",
                    lineage.first().sha256
                ),
            ),
            Err(e) => report.record("anchor", file, false, e.to_string()),
        }
    }
    if let Some(head) = options.head {
        let actual = &current.sha256;
        if head.eq_ignore_ascii_case(actual) {
            report.record(
                "head",
                "",
                true,
                format!("root.json has the recorded SHA-256 {actual}"),
            );
        } else {
            report.record(
                "head",
                "",
                false,
                format!(
                    "root.json has SHA-256 {actual}, not the recorded {}: this is not the version the log names",
                    head
                ),
            );
        }
    }
    for version in lineage.history() {
        let mut old = Report::new();
        check_structure(&version.manifest.body, &mut old);
        for check in old.checks.into_iter().filter(|c| c.status == Status::Fail) {
            report.push(
                check.check,
                format!("{} {}", version.file, check.subject),
                Status::Fail,
                check.detail,
            );
        }
    }
    check_structure(&current.manifest.body, &mut report);
    check_custodian_files(root, &current.manifest.body, &mut report);
    (Some(lineage), report)
}

/// The share sets a version must have: the three secrets, and the retiring
/// ones while they are retiring.
fn expected_share_sets(body: &RootBody) -> Vec<(&'static str, RootSecret)> {
    let retiring = body.retiring();
    let mut labels: Vec<(&'static str, RootSecret)> =
        RootSecret::ALL.iter().map(|w| (w.label(), *w)).collect();
    if retiring.bootstrap_recipient.is_some() {
        labels.push(("previous-bootstrap-key", RootSecret::Bootstrap));
    }
    if retiring.unseal.is_some() {
        labels.push(("previous-unseal-key", RootSecret::Unseal));
    }
    labels
}

/// One version's structure: one share set per secret, consistent with each
/// other and with the manifest's public values. Every set names the same
/// custodians with the same keys, in the order of `custodian_files`: a
/// rotation reads the custodians back from one set, and none may say
/// otherwise.
pub(crate) fn check_structure(body: &RootBody, report: &mut Report) {
    let names: Vec<&str> = body
        .custodian_files
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let expected = expected_share_sets(body);
    let labels: Vec<&str> = body.share_sets.iter().map(|s| s.label.as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(|(l, _)| *l).collect();
    if labels != wanted {
        report.record(
            "share set",
            "",
            false,
            format!(
                "the share sets are [{}], expected [{}]",
                labels.join(", "),
                wanted.join(", ")
            ),
        );
    }
    let retiring = body.retiring();
    for (label, which) in expected {
        let Some(set) = body.share_sets.iter().find(|s| s.label == label) else {
            report.record("share set", label, false, "missing");
            continue;
        };
        let is_previous = label != which.label();
        let problem = match set.validate_with(&bundle_file_for) {
            Err(e) => Some(e.to_string()),
            Ok(()) => {
                let set_names: Vec<&str> = set.custodians.iter().map(|c| c.name.as_str()).collect();
                let keys = |s: &shares::ShareSet| -> Vec<shares::custodians::RecipientDescription> {
                    s.custodians.iter().map(|c| c.recipient.clone()).collect()
                };
                let first_keys = body.share_sets.first().map(keys);
                let unseal = match (which, is_previous) {
                    (RootSecret::Unseal, false) => Some(&body.unseal),
                    (RootSecret::Unseal, true) => retiring.unseal.as_ref(),
                    _ => None,
                };
                let threshold_of_current = body.share_set(which).map(|s| s.threshold);
                if set_names != names {
                    Some("its custodians differ from custodian_files".to_owned())
                } else if first_keys != Some(keys(set)) {
                    Some("its custodians' keys differ from the other share sets'".to_owned())
                } else if unseal.is_some_and(|info| {
                    set.key_check_value != info.key_check_value
                        || set.key_id.as_deref() != Some(info.key_id.as_str())
                }) {
                    Some(format!(
                        "its key check value or key id differs from {}",
                        if is_previous {
                            "retiring.unseal"
                        } else {
                            "unseal"
                        }
                    ))
                } else if is_previous && threshold_of_current != Some(set.threshold) {
                    Some(format!(
                        "its threshold differs from the {}'s",
                        which.label()
                    ))
                } else if set.secret_length != secrets::ROOT_KEY_LEN {
                    Some(format!("secret_length {} is not 32", set.secret_length))
                } else if set.origin != Origin::Ceremony {
                    Some("its origin is not ceremony".to_owned())
                } else {
                    None
                }
            }
        };
        match problem {
            None => report.record(
                "share set",
                label,
                true,
                format!(
                    "set {}, {} of {}, commitments well formed",
                    set.set_id, set.threshold, set.shares
                ),
            ),
            Some(p) => report.record("share set", label, false, p),
        }
    }
    for (check, recipient) in [
        ("bootstrap recipient", Some(&body.bootstrap_recipient)),
        (
            "retiring bootstrap recipient",
            retiring.bootstrap_recipient.as_ref(),
        ),
    ] {
        let Some(recipient) = recipient else { continue };
        let ok = std::str::FromStr::from_str(recipient)
            .is_ok_and(|r: age::x25519::Recipient| crate::x25519::check_age(&r).is_ok());
        report.record(check, "", ok, recipient.clone());
    }
}

/// The current version's custodian files, where they are still present.
fn check_custodian_files(root: &std::path::Path, body: &RootBody, report: &mut Report) {
    for file in &body.custodian_files {
        let expected_path = CustodianName::new(&file.name)
            .map(|n| bundle_file_for(&n))
            .ok();
        if expected_path.as_deref() != Some(file.file.as_str()) {
            report.record(
                "custodian file",
                file.file.clone(),
                false,
                "unexpected path",
            );
            continue;
        }
        match crate::fsio::read(&root.join(&file.file)) {
            Ok(bytes) => {
                let digest = hex::encode(Sha256::digest(&bytes));
                if digest == file.sha256 {
                    report.record(
                        "custodian file",
                        file.file.clone(),
                        true,
                        format!("sha256 {digest}"),
                    );
                } else {
                    report.record(
                        "custodian file",
                        file.file.clone(),
                        false,
                        format!("sha256 {digest}, root.json says {}", file.sha256),
                    );
                }
            }
            // After the ceremony custodians take their files away; an absent
            // file is not a defect of the root, but it is said not checked.
            Err(crate::fsio::FsError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                report.push(
                    "custodian file",
                    file.file.clone(),
                    Status::NotChecked,
                    "not in this directory (held by the custodian); not checked",
                );
            }
            Err(e) => report.record("custodian file", file.file.clone(), false, e.to_string()),
        }
    }
}
