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
pub mod emit;
pub mod manifest;
pub mod secrets;

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

pub use bundle::Bundle;
pub use manifest::{ManifestError, Replaced, RootBody, RootManifest};
pub use secrets::{RootSecret, RootSecrets};

use crate::error::Class;
use crate::preflight::Report;
use crate::secret::{SecretBytes, SecretText};
use crate::shares::{
    self, CustodianName, Custodians, OpenedShare, Origin, SetId, SplitPlan, Threshold, sharefile,
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
    /// The manifest is not acceptable.
    #[error("{file}: {source}")]
    Manifest {
        /// The file.
        file: String,
        /// Why.
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
    /// A bundle without a share of the wanted secret.
    #[error("{file}: holds no share of the {label}")]
    MissingShare {
        /// The bundle file.
        file: String,
        /// The secret's label.
        label: String,
    },
    /// The rebuilt secret disagrees with a public value of the manifest.
    #[error("the rebuilt {label} does not match root.json ({what}); nothing was output")]
    Mismatch {
        /// The secret.
        label: String,
        /// What differs.
        what: String,
    },
    /// The manifest lacks something every root has.
    #[error("root.json: {0}")]
    Incomplete(String),
}

impl Error {
    /// The class of this error, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::Shares(e) => e.class(),
            Error::Manifest { source, .. } => match source {
                ManifestError::Malformed { .. } => Class::Input,
                _ => Class::Verification,
            },
            Error::WrongRoot { .. } | Error::Mismatch { .. } => Class::Verification,
            Error::MissingShare { .. } | Error::Incomplete(_) => Class::Input,
        }
    }
}

/// What `root init` is asked to make.
#[derive(Clone, Debug)]
pub struct InitPlan {
    /// Threshold of each secret.
    pub thresholds: BTreeMap<RootSecret, usize>,
    /// Key id of the unseal key.
    pub unseal_key_id: String,
    /// The preflight report of this machine.
    pub preflight: Report,
    /// The root this one replaces, if the operator forced it.
    pub replaces: Option<Replaced>,
}

/// What `root init` produces; the caller writes it with [`crate::fsio`].
pub struct InitOutput {
    /// The signed manifest.
    pub manifest: RootManifest,
    /// `(relative path, armored age bytes)` per custodian.
    pub bundles: Vec<(String, Vec<u8>)>,
}

/// Generates a root and splits it among `custodians`.
pub fn init(
    custodians: &Custodians,
    plan: &InitPlan,
    passphrases: &BTreeMap<String, SecretText>,
) -> Result<InitOutput, Error> {
    let secrets = RootSecrets::generate();
    let root_id = SetId::random().to_string();
    let mismatch = |label: &str, what: String| Error::Mismatch {
        label: label.to_owned(),
        what,
    };

    let mut share_sets = Vec::new();
    let mut documents_by_secret = Vec::new();
    for which in RootSecret::ALL {
        let k =
            plan.thresholds.get(&which).copied().ok_or_else(|| {
                Error::Incomplete(format!("no threshold for the {}", which.label()))
            })?;
        let threshold = Threshold::new(k, custodians.len()).map_err(shares::Error::from)?;
        let secret = secrets.get(which);
        let points =
            shares::shamir::split(secret, threshold, &mut OsRng).map_err(shares::Error::from)?;
        let split_plan = SplitPlan {
            label: which.label().to_owned(),
            threshold: k,
            key_id: (which == RootSecret::Unseal).then(|| plan.unseal_key_id.clone()),
            previous_set_id: None,
        };
        let (set, documents) = shares::prepare(
            secret,
            points,
            threshold,
            custodians,
            &split_plan,
            Origin::Ceremony,
            &bundle_file_for,
        )?;
        share_sets.push(set);
        documents_by_secret.push(documents);
    }

    let mut bundles = Vec::new();
    let mut custodian_files = Vec::new();
    for (i, custodian) in custodians.iter().enumerate() {
        let bundle = Bundle {
            root_id: root_id.clone(),
            custodian: custodian.name.to_string(),
            shares: documents_by_secret
                .iter()
                .map(|docs| docs[i].clone())
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

    let bootstrap = secrets.get(RootSecret::Bootstrap);
    let signing = secrets::signing_key(secrets.get(RootSecret::Signing))
        .map_err(|e| mismatch(RootSecret::Signing.label(), e))?;
    let body = RootBody {
        format: manifest::ROOT_FORMAT_V1.to_owned(),
        root_id,
        created_at: shares::now_rfc3339(),
        tool_version: format!("ceremony {}", env!("CARGO_PKG_VERSION")),
        bootstrap_recipient: secrets::bootstrap_recipient(bootstrap)
            .map_err(|e| mismatch(RootSecret::Bootstrap.label(), e))?,
        unseal: manifest::UnsealInfo {
            key_id: plan.unseal_key_id.clone(),
            key_check_value: shares::key_check_value(secrets.get(RootSecret::Unseal)),
        },
        signing_public_key: {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(signing.verifying_key().to_bytes())
        },
        share_sets,
        custodian_files,
        preflight: plan.preflight.clone(),
        replaces: plan.replaces.clone(),
    };
    let manifest = body.sign(&signing);
    // Read back before reporting success: the bytes we are about to write
    // must parse, be canonical and verify.
    RootManifest::from_json(&manifest.to_json()).map_err(|source| Error::Manifest {
        file: MANIFEST_FILE.into(),
        source,
    })?;
    Ok(InitOutput { manifest, bundles })
}

/// Decrypts one custodian's bundle.
pub fn open_bundle(
    file: &str,
    bytes: &[u8],
    identities: &[Box<dyn age::Identity>],
    passphrase: &dyn Fn(&str) -> Option<SecretText>,
) -> Result<Bundle, Error> {
    let wrap = |source| shares::Error::ShareFile {
        file: file.to_owned(),
        source,
    };
    let plaintext = sharefile::open_bytes(bytes, identities, passphrase, file).map_err(wrap)?;
    Bundle::from_json(&plaintext).map_err(|e| Error::from(wrap(e.into())))
}

/// Rebuilds one root secret from opened bundles, checking every share
/// against the manifest and the result against the manifest's public values.
pub fn rebuild(
    body: &RootBody,
    which: RootSecret,
    bundles: &[(String, Bundle)],
) -> Result<SecretBytes, Error> {
    let set = body
        .share_set(which)
        .ok_or_else(|| Error::Incomplete(format!("no share set for the {}", which.label())))?;
    let mut opened = Vec::new();
    for (file, bundle) in bundles {
        if bundle.root_id != body.root_id {
            return Err(Error::WrongRoot {
                file: file.clone(),
                found: bundle.root_id.clone(),
                expected: body.root_id.clone(),
            });
        }
        let document = bundle
            .shares
            .iter()
            .find(|d| d.label == which.label())
            .ok_or_else(|| Error::MissingShare {
                file: file.clone(),
                label: which.label().to_owned(),
            })?;
        opened.push(OpenedShare {
            file: file.clone(),
            document: document.clone(),
        });
    }
    let secret = shares::rebuild(set, &opened)?;
    let mismatch = |what: &str| Error::Mismatch {
        label: which.label().to_owned(),
        what: what.to_owned(),
    };
    match which {
        RootSecret::Bootstrap => {
            let recipient =
                secrets::bootstrap_recipient(&secret).map_err(|_| mismatch("not an age key"))?;
            if recipient != body.bootstrap_recipient {
                return Err(mismatch("its recipient differs from bootstrap_recipient"));
            }
        }
        RootSecret::Unseal => {
            if !shares::document::same_check(
                &shares::key_check_value(&secret),
                &body.unseal.key_check_value,
            ) {
                return Err(mismatch(
                    "its key check value differs from unseal.key_check_value",
                ));
            }
        }
        RootSecret::Signing => {
            let key = secrets::signing_key(&secret).map_err(|_| mismatch("not an ed25519 seed"))?;
            let public = body.verifying_key().map_err(|source| Error::Manifest {
                file: MANIFEST_FILE.into(),
                source,
            })?;
            if key.verifying_key() != public {
                return Err(mismatch("its public key differs from signing_public_key"));
            }
        }
    }
    Ok(secret)
}

/// One line of `root verify`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifyItem {
    /// What was checked.
    pub check: String,
    /// Whether it held.
    pub ok: bool,
    /// Details.
    pub detail: String,
    /// Not checked (the material is elsewhere); does not fail the report.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// Checks a root directory without any secret: the manifest's form and
/// signature, its structure, and the custodian files against their hashes.
pub fn verify_dir(root: &Path) -> (Option<RootManifest>, Vec<VerifyItem>) {
    let mut items = Vec::new();
    let mut item = |check: &str, ok: bool, detail: String| {
        items.push(VerifyItem {
            check: check.to_owned(),
            ok,
            detail,
            skipped: false,
        })
    };
    let path = root.join(MANIFEST_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            item("manifest", false, format!("{}: {e}", path.display()));
            return (None, items);
        }
    };
    let manifest = match RootManifest::from_json(&bytes) {
        Ok(m) => {
            item(
                "manifest",
                true,
                format!(
                    "{} is canonical, format {}",
                    path.display(),
                    manifest::ROOT_FORMAT_V1
                ),
            );
            item(
                "signature",
                true,
                format!(
                    "ed25519 by the root signing key {}",
                    m.signing_key_fingerprint()
                ),
            );
            m
        }
        Err(e) => {
            let check = match e {
                ManifestError::BadSignature => "signature",
                _ => "manifest",
            };
            item(check, false, format!("{}: {e}", path.display()));
            return (None, items);
        }
    };
    let body = &manifest.body;

    // Structure: one share set per secret, consistent with each other.
    let names: Vec<&str> = body
        .custodian_files
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for which in RootSecret::ALL {
        let check = format!("share set {}", which.label());
        match body.share_set(which) {
            None => item(&check, false, "missing".into()),
            Some(set) => {
                let problems = match set.validate_with(&bundle_file_for) {
                    Err(e) => Some(e.to_string()),
                    Ok(()) => {
                        let set_names: Vec<&str> =
                            set.custodians.iter().map(|c| c.name.as_str()).collect();
                        if set_names != names {
                            Some("its custodians differ from custodian_files".into())
                        } else if which == RootSecret::Unseal
                            && (set.key_check_value != body.unseal.key_check_value
                                || set.key_id.as_deref() != Some(body.unseal.key_id.as_str()))
                        {
                            Some("its key check value or key id differs from unseal".into())
                        } else if set.secret_length != 32 {
                            Some(format!("secret_length {} is not 32", set.secret_length))
                        } else {
                            None
                        }
                    }
                };
                match problems {
                    None => item(
                        &check,
                        true,
                        format!(
                            "set {}, {} of {}, commitments well formed",
                            set.set_id, set.threshold, set.shares
                        ),
                    ),
                    Some(p) => item(&check, false, p),
                }
            }
        }
    }
    let recipient_ok = std::str::FromStr::from_str(&body.bootstrap_recipient)
        .map(|_: age::x25519::Recipient| ())
        .is_ok();
    item(
        "bootstrap recipient",
        recipient_ok,
        body.bootstrap_recipient.clone(),
    );

    // Custodian files.
    let mut skipped = Vec::new();
    for file in &body.custodian_files {
        let path = root.join(&file.file);
        let check = format!("custodian file {}", file.file);
        let expected_path = CustodianName::new(&file.name)
            .map(|n| bundle_file_for(&n))
            .ok();
        if expected_path.as_deref() != Some(file.file.as_str()) {
            item(&check, false, "unexpected path".into());
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                let digest = hex::encode(Sha256::digest(&bytes));
                if digest == file.sha256 {
                    item(&check, true, format!("sha256 {digest}"));
                } else {
                    item(
                        &check,
                        false,
                        format!("sha256 {digest}, root.json says {}", file.sha256),
                    );
                }
            }
            // After the ceremony custodians take their files away; an absent
            // file is not a defect of the root, but it is said not checked.
            // Any other read error (permissions, a directory) is a failure.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                skipped.push(check.clone());
                item(
                    &check,
                    true,
                    "not in this directory (held by the custodian); not checked".into(),
                )
            }
            Err(e) => item(&check, false, format!("{}: {e}", path.display())),
        }
    }
    for it in items.iter_mut() {
        it.skipped = skipped.contains(&it.check);
    }
    (Some(manifest), items)
}
