//! A root's history: every version of `root.json`, each following the one
//! before it, so that whoever holds the first version can check every later
//! one offline.
//!
//! A root directory holds its current version as `root.json` and every
//! earlier one, byte for byte as it was written, as
//! `history/root.<version>.json`. Nothing is ever rewritten: a new version
//! only adds the current `root.json` to the history and takes its place.
//!
//! Version N+1 follows version N when it has the same root id, names N by
//! number and SHA-256, is signed by N's signing key (by both keys when it
//! rotates the signing key), and says what it changed: every difference of
//! a root secret's public value, of the custodians or of a threshold must
//! be declared, and every declared change must have happened. A key that is
//! rotated is kept as *retiring* until it is retired, and a retiring key
//! cannot be rotated again (OpenBao's static seal knows one previous key).
//! Format: `docs/formats/root.md`.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::manifest::{Change, ManifestError, RootBody, RootManifest};
use super::{MANIFEST_FILE, RootSecret};
use crate::fsio::{self, Cap, FsError};
use crate::shares::custodians::RecipientDescription;

/// The directory of earlier versions inside a root directory.
pub const HISTORY_DIR: &str = "history";

/// Where version `version` is kept once it is no longer current.
pub fn history_file(version: u64) -> String {
    format!("{HISTORY_DIR}/root.{version}.json")
}

/// One version of a root, as read from its file.
#[derive(Clone, Debug)]
pub struct Version {
    /// The file it was read from, relative to the root directory.
    pub file: String,
    /// SHA-256 of the file's bytes, hex: what the next version names.
    pub sha256: String,
    /// The bytes as read and verified: what a new version keeps in its
    /// history (never a second read, which could see other bytes).
    pub bytes: Vec<u8>,
    /// The parsed, self-verified manifest.
    pub manifest: RootManifest,
}

impl Version {
    /// Parses one version's bytes.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self, LineageError> {
        let manifest = RootManifest::from_json(bytes).map_err(|source| LineageError::Manifest {
            file: file.to_owned(),
            source,
        })?;
        Ok(Self {
            file: file.to_owned(),
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.to_vec(),
            manifest,
        })
    }

    /// The version number.
    pub fn number(&self) -> u64 {
        self.manifest.body.version()
    }
}

/// Every version of a root, first to current, each checked against the
/// one before.
#[derive(Clone, Debug)]
pub struct Lineage {
    /// Versions 1 to N-1.
    history: Vec<Version>,
    /// Version N.
    current: Version,
}

impl Lineage {
    /// Reads `DIR/history/root.*.json` and `DIR/root.json` and checks every
    /// link. Fails at the first problem, naming the file.
    /// Every version's structure is checked too (its share sets and
    /// custodians agree with each other and its public values), so that no
    /// command acts on a version `root verify` would reject.
    pub fn read(dir: &Path) -> Result<Self, LineageError> {
        let lineage = Self::read_links(dir)?;
        for version in lineage.versions() {
            let mut report = crate::report::Report::new();
            super::check_structure(&version.manifest.body, &mut report);
            if let Some(failure) = report.failures().next() {
                return Err(LineageError::Structure {
                    file: version.file.clone(),
                    problem: format!("{} {}: {}", failure.check, failure.subject, failure.detail),
                });
            }
        }
        Ok(lineage)
    }

    /// [`Lineage::read`] without the structure of each version, which
    /// `root verify` checks itself to report every problem.
    pub(crate) fn read_links(dir: &Path) -> Result<Self, LineageError> {
        let current = read_version(dir, MANIFEST_FILE)?;
        let count = current.number();
        check_history_names(dir, count)?;
        let mut history = Vec::new();
        for number in 1..count {
            let file = history_file(number);
            let version = read_version(dir, &file)?;
            if version.number() != number {
                return Err(LineageError::Misplaced {
                    file,
                    found: version.number(),
                });
            }
            history.push(version);
        }
        let lineage = Self { history, current };
        let versions: Vec<&Version> = lineage.versions().collect();
        for pair in versions.windows(2) {
            if let [previous, next] = pair {
                check_link(previous, next).map_err(|reason| LineageError::Link {
                    file: next.file.clone(),
                    version: next.number(),
                    reason,
                })?;
            }
        }
        // OpenBao binds a key id to one key for the life of its storage: an
        // id is never given to another key, however long ago it was used.
        let mut ids: Vec<(&str, &str)> = Vec::new();
        for version in &versions {
            let body = &version.manifest.body;
            let retiring = body.retiring.as_ref().and_then(|r| r.unseal.as_ref());
            for info in std::iter::once(&body.unseal).chain(retiring) {
                match ids.iter().find(|(id, _)| *id == info.key_id) {
                    Some((_, kcv)) if *kcv != info.key_check_value => {
                        return Err(LineageError::Link {
                            file: version.file.clone(),
                            version: version.number(),
                            reason: LinkError::Undeclared(format!(
                                "it gives the unseal key id {:?} to another key than an earlier version did",
                                info.key_id
                            )),
                        });
                    }
                    Some(_) => {}
                    None => ids.push((&info.key_id, &info.key_check_value)),
                }
            }
        }
        Ok(lineage)
    }

    /// Whether an unseal key id was used by any version.
    pub fn unseal_key_id_used(&self, key_id: &str) -> bool {
        self.versions().any(|v| {
            let body = &v.manifest.body;
            body.unseal.key_id == key_id
                || body
                    .retiring
                    .as_ref()
                    .and_then(|r| r.unseal.as_ref())
                    .is_some_and(|u| u.key_id == key_id)
        })
    }

    /// A lineage of one version (`root init`'s).
    pub fn single(version: Version) -> Self {
        Self {
            history: Vec::new(),
            current: version,
        }
    }

    /// Every version, first to current.
    pub fn versions(&self) -> impl Iterator<Item = &Version> {
        self.history.iter().chain(std::iter::once(&self.current))
    }

    /// The current version.
    pub fn current(&self) -> &Version {
        &self.current
    }

    /// The versions before the current one.
    pub fn history(&self) -> &[Version] {
        &self.history
    }

    /// The first version, the one `root init` wrote.
    pub fn first(&self) -> &Version {
        self.history.first().unwrap_or(&self.current)
    }

    /// Checks that the first version is byte for byte `anchor`, the copy
    /// of the first root.json kept out of band.
    pub fn check_anchor(&self, anchor_file: &str, anchor: &[u8]) -> Result<(), LineageError> {
        let sha256 = hex::encode(Sha256::digest(anchor));
        if sha256 == self.first().sha256 {
            Ok(())
        } else {
            Err(LineageError::Anchor {
                file: anchor_file.to_owned(),
                found: sha256,
                expected: self.first().sha256.clone(),
            })
        }
    }

    /// Every signing key the root has had, first to current: its base64
    /// public key, which versions it signed as their own key, in words
    /// (`versions 1–2, replaced in version 3`, `version 3 on, current`),
    /// and when the version that replaced it was made.
    pub fn signing_keys(&self) -> Vec<crate::transcript::SignerKey> {
        let mut keys: Vec<(String, u64, u64)> = Vec::new();
        for version in self.versions() {
            let key = &version.manifest.body.signing_public_key;
            match keys.last_mut() {
                Some((last, _, to)) if last == key => *to = version.number(),
                _ => keys.push((key.clone(), version.number(), version.number())),
            }
        }
        let current = self.current.number();
        let made_at = |number: u64| {
            self.versions()
                .find(|v| v.number() == number)
                .map(|v| v.manifest.body.created_at.clone())
        };
        keys.into_iter()
            .map(|(public_key, from, to)| {
                let versions = if to == current {
                    format!("version {from} on, current")
                } else if from == to {
                    format!("version {from}, replaced in version {}", to + 1)
                } else {
                    format!("versions {from}–{to}, replaced in version {}", to + 1)
                };
                crate::transcript::SignerKey {
                    public_key,
                    versions,
                    replaced_at: (to != current).then(|| made_at(to + 1)).flatten(),
                }
            })
            .collect()
    }
}

fn read_version(dir: &Path, file: &str) -> Result<Version, LineageError> {
    let bytes = fsio::read_input(&dir.join(file), Cap::Document).map_err(|source| {
        match &source {
            // A gap in the history is the history's problem; a missing
            // root.json is the plain file error it always was.
            FsError::Io { source: io, .. }
                if io.kind() == std::io::ErrorKind::NotFound && file != MANIFEST_FILE =>
            {
                LineageError::Missing {
                    file: file.to_owned(),
                }
            }
            _ => LineageError::Read { source },
        }
    })?;
    Version::parse(file, &bytes)
}

/// Only `root.1.json` … `root.<count-1>.json` may be in the history: a
/// version from elsewhere, or one left over from a later history, is not
/// silently ignored.
fn check_history_names(dir: &Path, count: u64) -> Result<(), LineageError> {
    let history = dir.join(HISTORY_DIR);
    let entries = match std::fs::read_dir(&history) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LineageError::Read {
                source: FsError::Io {
                    path: history,
                    action: "listing",
                    source,
                },
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| LineageError::Read {
            source: FsError::Io {
                path: history.clone(),
                action: "listing",
                source,
            },
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let number = name
            .strip_prefix("root.")
            .and_then(|n| n.strip_suffix(".json"))
            // Digits only, no leading zero: `u64::from_str` alone would
            // also take `+1`, and the name would not be the version's.
            .filter(|n| {
                !n.starts_with('0') && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
            })
            .and_then(|n| n.parse::<u64>().ok());
        if !number.is_some_and(|n| n >= 1 && n < count) {
            return Err(LineageError::Unexpected {
                file: format!("{HISTORY_DIR}/{name}"),
                current: count,
            });
        }
    }
    Ok(())
}

/// Why a root's history does not hold together. Every variant names the
/// file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineageError {
    /// A file could not be read.
    #[error(transparent)]
    Read {
        /// The failure.
        source: FsError,
    },
    /// A version the current one descends from is not there.
    #[error("{file} is missing: the root's history has a gap")]
    Missing {
        /// The file.
        file: String,
    },
    /// A version is not a valid manifest by itself.
    #[error("{file}")]
    Manifest {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// A history file holds another version than its name says.
    #[error(
        "{file} holds version {found}: the history was reordered or a file was copied over another"
    )]
    Misplaced {
        /// The file.
        file: String,
        /// The version it holds.
        found: u64,
    },
    /// A file in the history that is not a version before the current one.
    #[error(
        "{file} is not a version before the current one (version {current}): the history does not belong together"
    )]
    Unexpected {
        /// The file.
        file: String,
        /// The current version.
        current: u64,
    },
    /// A version is not consistent in itself.
    #[error("{file}: {problem}")]
    Structure {
        /// The file.
        file: String,
        /// The first problem.
        problem: String,
    },
    /// A version does not follow the one before it.
    #[error("{file} (version {version}) does not follow version {}: {reason}", version.saturating_sub(1))]
    Link {
        /// The later version's file.
        file: String,
        /// Its number.
        version: u64,
        /// Why.
        reason: LinkError,
    },
    /// The first version is not the pinned copy.
    #[error(
        "the root's first version has SHA-256 {expected}, but {file} has {found}: this is not the root the anchor pins"
    )]
    Anchor {
        /// The anchor file.
        file: String,
        /// Its SHA-256.
        found: String,
        /// The first version's.
        expected: String,
    },
}

impl LineageError {
    /// The class of this error, for the exit code.
    pub fn class(&self) -> crate::class::Class {
        use crate::class::Class;
        match self {
            LineageError::Read { source } => source.class(),
            LineageError::Manifest {
                source: ManifestError::Malformed { .. },
                ..
            } => Class::Input,
            _ => Class::Verification,
        }
    }
}

/// Why one version does not follow another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Another root.
    #[error("it is root {found}, not root {expected}")]
    RootId {
        /// Its root id.
        found: String,
        /// The previous version's.
        expected: String,
    },
    /// It names another version as its predecessor.
    #[error("it says it follows version {named}")]
    Number {
        /// The version it names.
        named: u64,
    },
    /// The predecessor it names has other bytes.
    #[error("it names a version with SHA-256 {named}, but that version's file has {actual}")]
    Hash {
        /// The hash it names.
        named: String,
        /// The hash of the file.
        actual: String,
    },
    /// Not signed by the previous version's signing key.
    #[error("it is not signed by the signing key of the version before it")]
    NotEndorsed,
    /// A root secret's public value changed without a declared change, or
    /// a declared change did not happen.
    #[error("{0}")]
    Undeclared(String),
    /// A rule of retiring keys is broken.
    #[error("{0}")]
    Retiring(String),
}

/// What one secret looks like from outside: the values root.json records.
fn public_value(body: &RootBody, which: RootSecret) -> String {
    match which {
        RootSecret::Bootstrap => body.bootstrap_recipient.clone(),
        RootSecret::Unseal => body.unseal.key_check_value.clone(),
        RootSecret::Signing => body.signing_public_key.clone(),
    }
}

fn rotation_of(which: RootSecret) -> Change {
    match which {
        RootSecret::Bootstrap => Change::RotateBootstrapKey,
        RootSecret::Unseal => Change::RotateUnsealKey,
        RootSecret::Signing => Change::RotateSigningKey,
    }
}

/// Who holds shares of each secret (names and keys, in order), and how
/// many it takes: what a reshare changes. Every secret's set counts, by
/// its label, so a key swapped in any one of them is a change.
type Custody<'a> = Vec<(
    &'static str,
    usize,
    Vec<(&'a str, &'a RecipientDescription)>,
)>;

fn custody(body: &RootBody) -> Custody<'_> {
    RootSecret::ALL
        .iter()
        .map(|which| {
            let set = body.share_set(*which);
            (
                which.label(),
                set.map_or(0, |s| s.threshold),
                set.map(|s| {
                    s.custodians
                        .iter()
                        .map(|c| (c.name.as_str(), &c.recipient))
                        .collect()
                })
                .unwrap_or_default(),
            )
        })
        .collect()
}

/// Checks that `next` follows `previous`. Each version is already valid on
/// its own (parsed, canonical, self-signed; its structure is checked by
/// `root verify`); this checks what binds the two.
pub fn check_link(previous: &Version, next: &Version) -> Result<(), LinkError> {
    let (before, after) = (&previous.manifest.body, &next.manifest.body);
    if after.root_id != before.root_id {
        return Err(LinkError::RootId {
            found: after.root_id.clone(),
            expected: before.root_id.clone(),
        });
    }
    let Some(link) = &after.lineage else {
        // A version 1 after another version: its number says so too.
        return Err(LinkError::Number { named: 0 });
    };
    if link.previous.version != before.version() {
        return Err(LinkError::Number {
            named: link.previous.version,
        });
    }
    if link.previous.sha256 != previous.sha256 {
        return Err(LinkError::Hash {
            named: link.previous.sha256.clone(),
            actual: previous.sha256.clone(),
        });
    }
    let previous_key = before.verifying_key().map_err(|_| LinkError::NotEndorsed)?;
    next.manifest
        .verify_endorsement(&previous_key)
        .map_err(|_| LinkError::NotEndorsed)?;

    let declared = |change: Change| link.changes.contains(&change);
    for which in RootSecret::ALL {
        let changed = public_value(before, which) != public_value(after, which);
        let change = rotation_of(which);
        match (changed, declared(change)) {
            (true, false) => {
                return Err(LinkError::Undeclared(format!(
                    "it changes the {} without declaring {}",
                    which.label(),
                    change.as_str()
                )));
            }
            (false, true) => {
                return Err(LinkError::Undeclared(format!(
                    "it declares {} but the {} is the same",
                    change.as_str(),
                    which.label()
                )));
            }
            _ => {}
        }
    }
    // OpenBao binds a key id to a key: a new key needs a new id, and the
    // same key keeps its id.
    let new_unseal = declared(Change::RotateUnsealKey);
    if new_unseal == (after.unseal.key_id == before.unseal.key_id) {
        return Err(LinkError::Undeclared(if new_unseal {
            format!(
                "its new unseal key reuses the key id {:?}",
                after.unseal.key_id
            )
        } else {
            "it changes the unseal key id of the same key".to_owned()
        }));
    }
    if custody(before) != custody(after) && !declared(Change::Reshare) {
        return Err(LinkError::Undeclared(
            "it changes the custodians or a threshold without declaring reshare".to_owned(),
        ));
    }

    let (was, is) = (before.retiring(), after.retiring());
    check_retiring(
        "bootstrap identity",
        Change::RotateBootstrapKey,
        Change::RetirePreviousBootstrapKey,
        &link.changes,
        (&was.bootstrap_recipient, &is.bootstrap_recipient),
        &before.bootstrap_recipient,
    )?;
    check_retiring(
        "unseal key",
        Change::RotateUnsealKey,
        Change::RetirePreviousUnsealKey,
        &link.changes,
        (&was.unseal, &is.unseal),
        &before.unseal,
    )?;
    if let Some(retired) = &is.unseal {
        if retired.key_id == after.unseal.key_id {
            return Err(LinkError::Retiring(
                "the retiring unseal key and the current one have the same key id".to_owned(),
            ));
        }
    }
    Ok(())
}

/// One retirable key's rule: rotating it makes the old current one
/// retiring (only if nothing was retiring), retiring it drops what was
/// retiring, and otherwise what is retiring stays as it was.
fn check_retiring<T: PartialEq + Clone>(
    what: &str,
    rotate: Change,
    retire: Change,
    changes: &[Change],
    (was, is): (&Option<T>, &Option<T>),
    previous_current: &T,
) -> Result<(), LinkError> {
    let (rotated, retired) = (changes.contains(&rotate), changes.contains(&retire));
    let problem = match (rotated, retired) {
        (true, true) => Some(format!(
            "it rotates the {what} and retires the previous one at once"
        )),
        (true, false) if was.is_some() => Some(format!(
            "it rotates the {what} while an earlier one is still retiring: retire that one first"
        )),
        (true, false) if is.as_ref() != Some(previous_current) => Some(format!(
            "its retiring {what} is not the one the version before used"
        )),
        (false, true) if was.is_none() => {
            Some(format!("it retires a {what} that was not retiring"))
        }
        (false, true) if is.is_some() => Some(format!(
            "it declares {} but a {what} is still retiring",
            retire.as_str()
        )),
        (false, false) if was != is => Some(format!(
            "it changes the retiring {what} without declaring it"
        )),
        _ => None,
    };
    problem.map_or(Ok(()), |p| Err(LinkError::Retiring(p)))
}
