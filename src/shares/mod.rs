//! Splitting a secret among custodians: the Shamir engine, the share
//! documents each custodian receives, and the public share-set manifest.
//!
//! The operations here are the library half of `ceremony unseal`:
//! [`split_among`] (share, and wrap of Vault shares via [`distribute`]),
//! [`open_share`] + [`check_share`] (verify), and [`rebuild`] (combine,
//! reshare). They return values; writing files is the caller's job through
//! [`crate::fsio`].

pub mod custodians;
pub mod document;
pub mod gf256;
pub mod keyid;
pub mod shamir;
pub mod sharefile;
pub mod shareset;
pub mod vault;

use std::collections::BTreeMap;

use rand::rngs::OsRng;

pub use custodians::{
    Custodian, CustodianKey, CustodianName, Custodians, CustodiansError, SharedKeys,
};
pub use document::{ShareDocument, key_check_value};
pub use keyid::{KeyId, KeyIdError};
pub use shamir::{ShamirError, ShamirShare, Threshold};
pub use sharefile::ShareFileError;
pub use shareset::{CustodianEntry, Origin, SetId, ShareSet, ShareSetError};

use crate::class::Class;
use crate::clock::Clock;
use crate::preflight::AirGapped;
use crate::secret::{SecretBytes, SecretText};

/// Errors of share handling. Each names the file or custodian involved and
/// never a share or secret byte.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The custodians file is invalid.
    #[error("{file}")]
    Custodians {
        /// The file.
        file: String,
        /// What is wrong, with its line.
        source: CustodiansError,
    },
    /// The share-set manifest is invalid.
    #[error("{file}")]
    ShareSet {
        /// The file.
        file: String,
        /// What is wrong and where.
        source: ShareSetError,
    },
    /// The Shamir layer refused.
    #[error(transparent)]
    Shamir(#[from] ShamirError),
    /// A share file could not be opened or parsed.
    #[error("{file}")]
    ShareFile {
        /// The file.
        file: String,
        /// Why.
        source: ShareFileError,
    },
    /// A share of another set.
    #[error(
        "{file}: this share belongs to set {found}, not to set {expected} of the manifest: bring a share of the right set"
    )]
    WrongSet {
        /// The file.
        file: String,
        /// Its set.
        found: String,
        /// The manifest's set.
        expected: String,
    },
    /// The share's custodian or fields do not appear in the manifest.
    #[error(
        "{file}: share of custodian {custodian:?} (x = {x}) does not match the manifest: {reason}"
    )]
    NotInManifest {
        /// The file.
        file: String,
        /// The custodian the share names.
        custodian: String,
        /// Its x coordinate.
        x: u8,
        /// What differs.
        reason: String,
    },
    /// The share opened but its commitment differs from the manifest's.
    #[error(
        "{file}: the share of custodian {custodian:?} does not match its commitment in the manifest: the share or the manifest was altered"
    )]
    CommitmentMismatch {
        /// The file.
        file: String,
        /// The custodian.
        custodian: String,
    },
    /// The same share given twice.
    #[error(
        "{file}: same share as {first} (custodian {custodian:?}, x = {x}); each share counts once"
    )]
    DuplicateShare {
        /// The second file.
        file: String,
        /// The first file with it.
        first: String,
        /// The custodian.
        custodian: String,
        /// The x coordinate.
        x: u8,
    },
    /// Fewer valid shares than the threshold.
    #[error(
        "{have} valid share(s) of set {set_id}, {need} needed: bring shares of {need_more} more custodian(s)"
    )]
    NotEnoughShares {
        /// Valid shares.
        have: usize,
        /// Threshold.
        need: usize,
        /// need - have.
        need_more: usize,
        /// The set.
        set_id: String,
    },
    /// A share beyond the threshold does not lie on the others' polynomial.
    #[error(
        "{file}: the share of custodian {custodian:?} (x = {x}) disagrees with the other shares: one of them is corrupted; try another quorum to find which"
    )]
    Disagrees {
        /// The file of the share that disagrees.
        file: String,
        /// Its custodian.
        custodian: String,
        /// Its x coordinate.
        x: u8,
    },
    /// The rebuilt secret does not match the key check value.
    #[error(
        "the rebuilt secret does not match the key check value of set {set_id}: a share or the manifest is wrong; nothing was output"
    )]
    KeyCheckMismatch {
        /// The set.
        set_id: String,
    },
    /// A passphrase custodian has no passphrase.
    #[error("no passphrase was entered for custodian {custodian:?}")]
    MissingPassphrase {
        /// The custodian.
        custodian: String,
    },
    /// Unseal shares from `vault|bao operator init` that cannot be wrapped.
    #[error("{file}: {reason}")]
    VaultInit {
        /// The input.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A Vault/OpenBao share set resharing to another threshold: the server
    /// combines its shares with the threshold it was initialised with.
    #[error(
        "set {set_id} holds shares made by `operator init` with threshold {threshold}; OpenBao combines them with that threshold itself, so shares of another threshold could never unseal it"
    )]
    VaultThreshold {
        /// The set.
        set_id: String,
        /// Its threshold.
        threshold: usize,
    },
    /// Reading an input failed.
    #[error(transparent)]
    Fs(#[from] crate::fsio::FsError),
    /// A static-seal Secret asked of a set that holds no static-seal key.
    #[error("set {set_id} {reason}")]
    NotAStaticSealKey {
        /// The set.
        set_id: String,
        /// Why.
        reason: &'static str,
    },
}

impl Error {
    /// The class of this error, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::Custodians { .. } | Error::ShareSet { .. } | Error::VaultInit { .. } => {
                Class::Input
            }
            Error::Shamir(ShamirError::NotEnoughShares { .. }) => Class::NotEnoughShares,
            Error::Shamir(ShamirError::Inconsistent { .. }) => Class::Verification,
            Error::Shamir(_) => Class::Input,
            Error::ShareFile { source, .. } => match source {
                ShareFileError::NoPassphrase
                | ShareFileError::WrongPassphrase
                | ShareFileError::NoMatchingIdentity => Class::Decryption,
                ShareFileError::Document(document::DocumentError::Checksum)
                | ShareFileError::Damaged => Class::Verification,
                ShareFileError::Plugin(plugin) => plugin.class(),
                _ => Class::Input,
            },
            Error::WrongSet { .. }
            | Error::NotInManifest { .. }
            | Error::CommitmentMismatch { .. }
            | Error::Disagrees { .. }
            | Error::KeyCheckMismatch { .. } => Class::Verification,
            Error::DuplicateShare { .. } => Class::Input,
            Error::NotEnoughShares { .. } => Class::NotEnoughShares,
            Error::MissingPassphrase { .. } => Class::Input,
            Error::VaultThreshold { .. } | Error::NotAStaticSealKey { .. } => Class::Refused,
            Error::Fs(e) => e.class(),
        }
    }
}

impl Error {
    /// What to do next, where there is one thing to do.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Error::Custodians { .. } => "fix the named line (docs/formats/custodians.md)",
            Error::NotEnoughShares { .. } => "bring shares of more custodians",
            Error::CommitmentMismatch { .. } | Error::KeyCheckMismatch { .. } => {
                "stop: compare shareset.json with the copy the witnesses recorded before using any share"
            }
            Error::Disagrees { .. } => "try another quorum to find which share is corrupted",
            Error::WrongSet { .. } => "bring a share of the set this manifest describes",
            Error::VaultThreshold { .. } => {
                "keep the threshold; to change it, rekey the server (`bao operator rekey`) and wrap its new shares"
            }
            Error::ShareFile {
                source: ShareFileError::NoMatchingIdentity,
                ..
            } => "pass the custodian's key with -i",
            Error::ShareFile {
                source: ShareFileError::Plugin(plugin),
                ..
            } => return plugin.hint(),
            _ => return None,
        })
    }
}

/// What a split produces: the manifest and one encrypted file per custodian.
pub struct SplitOutput {
    /// The public manifest.
    pub shareset: ShareSet,
    /// `(file name, armored age bytes)` in custodian order.
    pub files: Vec<(String, Vec<u8>)>,
}

/// What describes a split besides the secret and the custodians.
#[derive(Clone, Debug)]
pub struct SplitPlan {
    /// What the secret is (`unseal-key`, …).
    pub label: String,
    /// Shares needed; n is the number of custodians.
    pub threshold: usize,
    /// Key id for the runtime authority, carried in the manifest.
    pub key_id: Option<KeyId>,
    /// The set this one replaces (reshare).
    pub previous_set_id: Option<SetId>,
}

/// Splits `secret` among `custodians`: any `plan.threshold` of them rebuild
/// it. `passphrases` holds the passphrase of each passphrase custodian by name.
pub fn split_among(
    secret: &SecretBytes,
    custodians: &Custodians,
    plan: &SplitPlan,
    passphrases: &BTreeMap<String, SecretText>,
    clock: &dyn Clock,
) -> Result<SplitOutput, Error> {
    let threshold = Threshold::new(plan.threshold, custodians.len())?;
    let points = shamir::split(secret, threshold, &mut OsRng)?;
    distribute(
        secret,
        points,
        threshold,
        custodians,
        plan,
        Origin::Ceremony,
        passphrases,
        clock,
    )
}

/// Builds the share documents and the public manifest for given Shamir
/// `points` (one per custodian, in order), without encrypting anything.
/// Before anything is returned the points are combined again and checked
/// against `secret`, so a faulty split can never reach a custodian.
/// `file_for` names each custodian's file in the manifest.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    secret: &SecretBytes,
    points: Vec<ShamirShare>,
    threshold: Threshold,
    custodians: &Custodians,
    plan: &SplitPlan,
    origin: Origin,
    file_for: &dyn Fn(&CustodianName) -> String,
    clock: &dyn Clock,
) -> Result<(ShareSet, Vec<ShareDocument>), Error> {
    let set_id = SetId::random();
    let rebuilt = shamir::combine_checked(&points, threshold.k())?;
    if !rebuilt.ct_eq(secret) || points.len() != custodians.len() {
        return Err(Error::KeyCheckMismatch {
            set_id: set_id.to_string(),
        });
    }
    let mut entries = Vec::with_capacity(points.len());
    let mut documents = Vec::with_capacity(points.len());
    for (custodian, point) in custodians.iter().zip(points) {
        let document = ShareDocument {
            set_id,
            label: plan.label.clone(),
            custodian: custodian.name.as_str().to_owned(),
            threshold,
            share: point,
            blinding: SecretBytes::random(32),
        };
        entries.push(CustodianEntry {
            name: custodian.name.to_string(),
            recipient: custodian.key.describe(),
            x: document.share.x(),
            commitment: document.commitment(),
            file: file_for(&custodian.name),
        });
        documents.push(document);
    }
    let shareset = ShareSet {
        format: shareset::SHARESET_FORMAT_V1.to_owned(),
        set_id,
        label: plan.label.clone(),
        created_at: clock.now_rfc3339(),
        origin,
        threshold: threshold.k(),
        shares: threshold.n(),
        secret_length: secret.len(),
        key_check_value: key_check_value(secret),
        key_id: plan.key_id.as_ref().map(KeyId::to_string),
        previous_set_id: plan.previous_set_id,
        custodians: entries,
    };
    Ok((shareset, documents))
}

/// The passphrase of a passphrase custodian, or `None` for key custodians.
pub fn passphrase_for<'a>(
    custodian: &Custodian,
    passphrases: &'a BTreeMap<String, SecretText>,
) -> Result<Option<&'a SecretText>, Error> {
    match custodian.key {
        CustodianKey::Passphrase => passphrases
            .get(custodian.name.as_str())
            .map(Some)
            .ok_or_else(|| Error::MissingPassphrase {
                custodian: custodian.name.to_string(),
            }),
        _ => Ok(None),
    }
}

/// Whether the keys of a Vault/OpenBao output (read from `source`) can go
/// to `custodians` (listed in `custodians_file`): n shares need one
/// custodian each. Checked before anyone is asked for a passphrase.
pub fn check_wrap(
    source: &str,
    keys: &vault::Keys,
    custodians: &Custodians,
    custodians_file: &std::path::Path,
) -> Result<(), Error> {
    let count = keys.count();
    if count > 1 && count != custodians.len() {
        return Err(Error::VaultInit {
            file: source.to_owned(),
            reason: format!(
                "{count} shares but {} custodians in {}: list one custodian per share, in order",
                custodians.len(),
                custodians_file.display()
            ),
        });
    }
    Ok(())
}

/// Hands the keys of a Vault/OpenBao init or rekey output to `custodians`
/// ([`check_wrap`] first): n shares go one to each custodian, in order,
/// under their own threshold; a single key is split among them, any
/// `plan.threshold` rebuilding it (`unseal wrap`).
#[allow(clippy::too_many_arguments)]
pub fn wrap_keys(
    source: &str,
    keys: vault::Keys,
    origin: Origin,
    custodians: &Custodians,
    custodians_file: &std::path::Path,
    plan: &SplitPlan,
    passphrases: &BTreeMap<String, SecretText>,
    clock: &dyn Clock,
) -> Result<SplitOutput, Error> {
    check_wrap(source, &keys, custodians, custodians_file)?;
    let (secret, points, threshold) = match keys {
        vault::Keys::Shares {
            shares,
            threshold,
            secret,
        } => (secret, shares, threshold),
        vault::Keys::Single { key } => {
            let threshold = Threshold::new(plan.threshold, custodians.len())?;
            let points = shamir::split(&key, threshold, &mut OsRng)?;
            (key, points, threshold)
        }
    };
    distribute(
        &secret,
        points,
        threshold,
        custodians,
        plan,
        origin,
        passphrases,
        clock,
    )
}

/// Encrypts given Shamir `points` (one per custodian, in order) into one
/// share file each and builds the manifest (see [`prepare`]).
#[allow(clippy::too_many_arguments)]
pub fn distribute(
    secret: &SecretBytes,
    points: Vec<ShamirShare>,
    threshold: Threshold,
    custodians: &Custodians,
    plan: &SplitPlan,
    origin: Origin,
    passphrases: &BTreeMap<String, SecretText>,
    clock: &dyn Clock,
) -> Result<SplitOutput, Error> {
    let (shareset, documents) = prepare(
        secret,
        points,
        threshold,
        custodians,
        plan,
        origin,
        &ShareSet::file_name_for,
        clock,
    )?;
    let mut files = Vec::with_capacity(documents.len());
    for (custodian, document) in custodians.iter().zip(&documents) {
        let file = ShareSet::file_name_for(&custodian.name);
        let passphrase = passphrase_for(custodian, passphrases)?;
        let sealed = sharefile::seal(document, &custodian.key, passphrase).map_err(|source| {
            Error::ShareFile {
                file: file.clone(),
                source,
            }
        })?;
        files.push((file, sealed));
    }
    Ok(SplitOutput { shareset, files })
}

/// Reads and parses a custodians file.
pub fn load_custodians(path: &std::path::Path, shared: SharedKeys) -> Result<Custodians, Error> {
    let bytes = crate::fsio::read(path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e
            .as_bytes()
            .iter()
            .take(valid)
            .filter(|&&b| b == b'\n')
            .count();
        Error::Custodians {
            file: path.display().to_string(),
            source: CustodiansError {
                line,
                message: "not UTF-8 text".to_owned(),
            },
        }
    })?;
    Custodians::parse_with(&text, shared).map_err(|source| Error::Custodians {
        file: path.display().to_string(),
        source,
    })
}

/// Reads and parses a `shareset.json`.
pub fn load_shareset(path: &std::path::Path) -> Result<ShareSet, Error> {
    let bytes = crate::fsio::read(path)?;
    ShareSet::from_json(&bytes).map_err(|source| Error::ShareSet {
        file: path.display().to_string(),
        source,
    })
}

/// What happened to one file a custodian brought to a quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// It opened and belongs here.
    Opened {
        /// The file.
        file: String,
        /// Whose it is.
        custodian: String,
        /// Its x coordinate (for a share; 0 for a bundle).
        x: u8,
    },
    /// No identity or passphrase given opens it: not every custodian is
    /// present at every ceremony, so it is passed over, not a failure.
    Skipped {
        /// The file.
        file: String,
        /// Why, in words.
        reason: String,
    },
}

/// The files custodians brought to a quorum: those that opened, and what
/// happened to each file.
#[derive(Debug)]
pub struct Quorum<T> {
    /// What opened, in the order given.
    pub opened: Vec<T>,
    /// One entry per file.
    pub openings: Vec<Opening>,
}

/// Opens every share file it can. A share no identity opens is skipped
/// (reported in the openings); a share that opens and does not belong to
/// `set` stops everything.
///
/// Each file is tried first with the identity whose public key `set` lists
/// for the custodian the file is named after (the manifest names each
/// custodian's file), and only if that one does not open it with the
/// others: a quorum of n files and n identities costs n decryptions, not
/// n², when the files keep their names. Which identity opens a file
/// decides nothing: the share inside is checked against the manifest
/// either way ([`check_share`]).
pub fn open_shares(
    set: &ShareSet,
    files: &[(String, Vec<u8>)],
    keyring: &crate::identity::Keyring,
    passphrase: &dyn Fn(&str) -> Option<SecretText>,
) -> Result<Quorum<OpenedShare>, Error> {
    let mut opened = Vec::new();
    let mut openings = Vec::new();
    for (file, bytes) in files {
        let first = set
            .entries_for_file(file)
            .find_map(|entry| keyring.position(entry.recipient.public_key()?));
        match open_share_first(file, bytes, keyring, first, passphrase) {
            Ok(share) => {
                let entry = check_share(set, &share)?;
                openings.push(Opening::Opened {
                    file: file.clone(),
                    custodian: entry.name.clone(),
                    x: entry.x,
                });
                opened.push(share);
            }
            Err(e) if e.class() == Class::Decryption => openings.push(Opening::Skipped {
                file: file.clone(),
                reason: crate::error::chain_text(&e),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(Quorum { opened, openings })
}

/// Decrypts one share file, trying the identity at `first` alone, then,
/// if it does not open the file, every other one.
fn open_share_first(
    file: &str,
    bytes: &[u8],
    identities: &[crate::identity::Identity],
    first: Option<usize>,
    passphrase: &dyn Fn(&str) -> Option<SecretText>,
) -> Result<OpenedShare, Error> {
    let all = || identities.iter().map(|i| i.as_ref() as &dyn age::Identity);
    let opened = match first.and_then(|i| identities.get(i).map(|id| (i, id))) {
        None => sharefile::open_with(bytes, all(), passphrase, file),
        Some((i, identity)) => {
            match sharefile::open_with(
                bytes,
                std::iter::once(identity.as_ref() as &dyn age::Identity),
                passphrase,
                file,
            ) {
                Err(ShareFileError::NoMatchingIdentity) => {
                    let others = all().enumerate().filter(|&(j, _)| j != i).map(|(_, id)| id);
                    sharefile::open_with(bytes, others, passphrase, file)
                }
                other => other,
            }
        }
    };
    let document = opened.map_err(|source| Error::ShareFile {
        file: file.to_owned(),
        source,
    })?;
    Ok(OpenedShare {
        file: file.to_owned(),
        document,
    })
}

/// Whether `old` may be reshared with `threshold` (see [`reshare`]); asked
/// before anyone opens a share.
pub fn check_reshare(old: &ShareSet, threshold: usize) -> Result<(), Error> {
    if old.origin.server_combines() && threshold != old.threshold {
        return Err(Error::VaultThreshold {
            set_id: old.set_id.to_string(),
            threshold: old.threshold,
        });
    }
    Ok(())
}

/// Splits the secret of `old` again, to `custodians` with `threshold`: a
/// new set id, the same secret, label, key id and origin. A set made by
/// Vault/OpenBao `operator init` keeps its threshold (the server combines
/// the shares itself).
pub fn reshare(
    old: &ShareSet,
    secret: &SecretBytes,
    custodians: &Custodians,
    threshold: usize,
    passphrases: &BTreeMap<String, SecretText>,
    clock: &dyn Clock,
) -> Result<SplitOutput, Error> {
    check_reshare(old, threshold)?;
    let plan = SplitPlan {
        label: old.label.clone(),
        threshold,
        key_id: old
            .key_id
            .as_deref()
            .map(KeyId::parse)
            .transpose()
            .map_err(|_| Error::ShareSet {
                file: "shareset.json".into(),
                source: ShareSetError {
                    place: "key_id".into(),
                    message: "not a valid key id".into(),
                },
            })?,
        previous_set_id: Some(old.set_id),
    };
    let t = Threshold::new(threshold, custodians.len())?;
    let points = shamir::split(secret, t, &mut OsRng)?;
    distribute(
        secret,
        points,
        t,
        custodians,
        &plan,
        old.origin,
        passphrases,
        clock,
    )
}

impl ShareSet {
    /// The key id to emit an OpenBao static-seal Secret with. Only a set
    /// that ceremony made holds a static-seal key, and its key id is fixed
    /// at the split (OpenBao binds it at init and stays sealed if it
    /// changes), so none is ever invented here.
    pub fn static_seal_key_id(&self) -> Result<KeyId, Error> {
        let refuse = |reason| Error::NotAStaticSealKey {
            set_id: self.set_id.to_string(),
            reason,
        };
        if self.origin.from_vault() {
            return Err(refuse(
                "holds Vault/OpenBao Shamir unseal shares, which are not a static-seal key: give the shares to `operator unseal` (`unseal open --emit vault`)",
            ));
        }
        let id = self.key_id.as_deref().ok_or_else(|| {
            refuse("records no key id: it cannot be used as an OpenBao static seal")
        })?;
        KeyId::parse(id).map_err(|_| refuse("records a key id that is not valid"))
    }
}

/// A share file opened and parsed, remembered with the name it came from.
#[derive(Debug)]
pub struct OpenedShare {
    /// The file as the operator named it.
    pub file: String,
    /// Its content.
    pub document: ShareDocument,
}

/// Decrypts one share file (see [`sharefile::open`]).
pub fn open_share(
    file: &str,
    bytes: &[u8],
    identities: &[crate::identity::Identity],
    passphrase: &dyn Fn(&str) -> Option<SecretText>,
) -> Result<OpenedShare, Error> {
    let document = sharefile::open(bytes, identities, passphrase, file).map_err(|source| {
        Error::ShareFile {
            file: file.to_owned(),
            source,
        }
    })?;
    Ok(OpenedShare {
        file: file.to_owned(),
        document,
    })
}

/// Checks one opened share against the manifest: same set, a listed
/// custodian with the same x, and the commitment. Returns its entry.
pub fn check_share<'a>(
    set: &'a ShareSet,
    share: &OpenedShare,
) -> Result<&'a CustodianEntry, Error> {
    let doc = &share.document;
    if doc.set_id != set.set_id {
        return Err(Error::WrongSet {
            file: share.file.clone(),
            found: doc.set_id.to_string(),
            expected: set.set_id.to_string(),
        });
    }
    let mismatch = |reason: String| Error::NotInManifest {
        file: share.file.clone(),
        custodian: doc.custodian.clone(),
        x: doc.share.x(),
        reason,
    };
    let entry = set
        .custodian(&doc.custodian)
        .ok_or_else(|| mismatch("no custodian of that name is listed".into()))?;
    if entry.x != doc.share.x() {
        return Err(mismatch(format!("the manifest gives x = {}", entry.x)));
    }
    if doc.label != set.label
        || doc.threshold.k() != set.threshold
        || doc.threshold.n() != set.shares
        || doc.share.y().len() != set.secret_length
    {
        return Err(mismatch("label, threshold or length differ".into()));
    }
    if !document::same_check(&doc.commitment(), &entry.commitment) {
        return Err(Error::CommitmentMismatch {
            file: share.file.clone(),
            custodian: doc.custodian.clone(),
        });
    }
    Ok(entry)
}

/// Rebuilds the secret of `set` from opened shares: each must pass
/// [`check_share`], none may repeat, at least k are needed, shares beyond k
/// must agree with the others, and the result must match the key check value.
/// Only behind the preflight gate (`_gate`).
pub fn rebuild(
    set: &ShareSet,
    shares: &[OpenedShare],
    _gate: &AirGapped,
) -> Result<SecretBytes, Error> {
    let mut by_x: BTreeMap<u8, &OpenedShare> = BTreeMap::new();
    let mut points = Vec::with_capacity(shares.len());
    for share in shares {
        check_share(set, share)?;
        let x = share.document.share.x();
        if let Some(first) = by_x.insert(x, share) {
            return Err(Error::DuplicateShare {
                file: share.file.clone(),
                first: first.file.clone(),
                custodian: share.document.custodian.clone(),
                x,
            });
        }
        points.push(share.document.share.clone());
    }
    if points.len() < set.threshold {
        return Err(Error::NotEnoughShares {
            have: points.len(),
            need: set.threshold,
            need_more: set.threshold - points.len(),
            set_id: set.set_id.to_string(),
        });
    }
    let secret = shamir::combine_checked(&points, set.threshold).map_err(|e| match e {
        ShamirError::Inconsistent { x } => match by_x.get(&x) {
            Some(share) => Error::Disagrees {
                file: share.file.clone(),
                custodian: share.document.custodian.clone(),
                x,
            },
            None => Error::Shamir(e),
        },
        other => Error::Shamir(other),
    })?;
    if !document::same_check(&key_check_value(&secret), &set.key_check_value) {
        return Err(Error::KeyCheckMismatch {
            set_id: set.set_id.to_string(),
        });
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AGE: &str = "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q";

    fn custodians(n: usize) -> Custodians {
        let text: String = (0..n)
            .map(|i| format!("[[custodian]]\nname = \"c{i}\"\nage = \"{AGE}\"\n"))
            .collect();
        // Nothing is encrypted here: one key for all keeps the tests fast.
        Custodians::parse_with(&text, SharedKeys::Allow).unwrap()
    }

    /// A split without encryption: the manifest and the opened shares.
    fn split(secret: &SecretBytes, k: usize, n: usize) -> (ShareSet, Vec<OpenedShare>) {
        let threshold = Threshold::new(k, n).unwrap();
        let points = shamir::split(secret, threshold, &mut OsRng).unwrap();
        let plan = SplitPlan {
            label: "test".into(),
            threshold: k,
            key_id: None,
            previous_set_id: None,
        };
        let (set, docs) = prepare(
            secret,
            points,
            threshold,
            &custodians(n),
            &plan,
            Origin::Ceremony,
            &ShareSet::file_name_for,
            &crate::clock::SystemClock,
        )
        .unwrap();
        let opened = docs
            .into_iter()
            .enumerate()
            .map(|(i, document)| OpenedShare {
                file: format!("c{i}.share.age"),
                document,
            })
            .collect();
        (set, opened)
    }

    #[test]
    fn wrapping_needs_one_custodian_per_share_and_splits_a_single_key() {
        let plan = SplitPlan {
            label: "vault-unseal-key".into(),
            threshold: 2,
            key_id: None,
            previous_set_id: None,
        };
        let key = SecretBytes::from_slice(&[5u8; 32]);
        let threshold = Threshold::new(2, 3).unwrap();
        let shares = shamir::split(&key, threshold, &mut OsRng).unwrap();
        let three = vault::Keys::Shares {
            shares,
            threshold,
            secret: key.clone(),
        };
        let file = std::path::Path::new("custodians.toml");
        let err = check_wrap("init.json", &three, &custodians(2), file).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("init.json: 3 shares but 2 custodians in custodians.toml"),
            "{text}"
        );
        check_wrap("init.json", &three, &custodians(3), file).unwrap();

        let single = vault::Keys::Single { key: key.clone() };
        check_wrap("init.json", &single, &custodians(4), file).unwrap();
        let split = wrap_keys(
            "init.json",
            single,
            Origin::VaultOperatorInit,
            &custodians(4),
            file,
            &plan,
            &BTreeMap::new(),
            &crate::clock::SystemClock,
        )
        .unwrap();
        assert_eq!(split.files.len(), 4, "the single key, split among 4");
        assert_eq!(split.shareset.threshold, 2);
    }

    /// An identity that counts the files it is tried on.
    struct Counting {
        inner: age::x25519::Identity,
        tries: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl age::Identity for Counting {
        fn unwrap_stanza(
            &self,
            stanza: &age_core::format::Stanza,
        ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
            self.inner.unwrap_stanza(stanza)
        }

        fn unwrap_stanzas(
            &self,
            stanzas: &[age_core::format::Stanza],
        ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
            self.tries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.unwrap_stanzas(stanzas)
        }
    }

    /// A secret split among `n` custodians with age keys, `threshold` of
    /// them needed: the keys (custodian `c{i}` has key `i`), the split,
    /// the secret.
    fn split_to_age_keys(
        n: usize,
        threshold: usize,
    ) -> (Vec<age::x25519::Identity>, SplitOutput, SecretBytes) {
        let keys: Vec<age::x25519::Identity> =
            (0..n).map(|_| age::x25519::Identity::generate()).collect();
        let text: String = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    "[[custodian]]\nname = \"c{i}\"\nage = \"{}\"\n",
                    k.to_public()
                )
            })
            .collect();
        let custodians = Custodians::parse_with(&text, SharedKeys::Refuse).unwrap();
        let secret = SecretBytes::random(32);
        let plan = SplitPlan {
            label: "test".into(),
            threshold,
            key_id: None,
            previous_set_id: None,
        };
        let split = split_among(
            &secret,
            &custodians,
            &plan,
            &BTreeMap::new(),
            &crate::clock::SystemClock,
        )
        .unwrap();
        (keys, split, secret)
    }

    #[test]
    fn each_share_is_tried_first_with_the_identity_the_manifest_names() {
        let n = 6;
        let (keys, split, secret) = split_to_age_keys(n, 3);
        let tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // The identities in the reverse order of the files.
        let mut keyring = crate::identity::Keyring::default();
        for key in keys.iter().rev() {
            let public = key.to_public().to_string();
            let counting = Counting {
                inner: key.clone(),
                tries: tries.clone(),
            };
            keyring.push(Box::new(counting), Some(public));
        }
        let quorum = |files: &[(String, Vec<u8>)]| {
            tries.store(0, std::sync::atomic::Ordering::Relaxed);
            let quorum = open_shares(&split.shareset, files, &keyring, &|_| None).unwrap();
            assert_eq!(quorum.opened.len(), n);
            let rebuilt =
                rebuild(&split.shareset, &quorum.opened, &AirGapped::for_tests()).unwrap();
            assert!(rebuilt.ct_eq(&secret));
            tries.load(std::sync::atomic::Ordering::Relaxed)
        };
        // Named as the manifest names them (in any directory): one try each.
        let named: Vec<(String, Vec<u8>)> = split
            .files
            .iter()
            .map(|(name, bytes)| (format!("brought/{name}"), bytes.clone()))
            .collect();
        assert_eq!(quorum(&named), n);
        // Renamed: every file still opens, with more tries.
        let renamed: Vec<(String, Vec<u8>)> = split
            .files
            .iter()
            .enumerate()
            .map(|(i, (_, bytes))| (format!("share-{i}.age"), bytes.clone()))
            .collect();
        assert!(quorum(&renamed) > n);
        // Named after another custodian: the wrong identity first, then the
        // right one, and the share is still the one inside.
        let swapped: Vec<(String, Vec<u8>)> = split
            .files
            .iter()
            .enumerate()
            .map(|(i, (_, bytes))| (split.files[(i + 1) % n].0.clone(), bytes.clone()))
            .collect();
        assert!(quorum(&swapped) > n);
    }

    #[test]
    fn a_share_whose_listed_identity_is_missing_is_opened_by_another_or_passed_over() {
        let (keys, split, secret) = split_to_age_keys(4, 3);
        // c0's key is not brought; the others are, and known by their keys.
        let mut keyring = crate::identity::Keyring::default();
        for key in &keys[1..] {
            keyring.push(Box::new(key.clone()), Some(key.to_public().to_string()));
        }
        assert_eq!(keyring.position(&keys[0].to_public().to_string()), None);
        let name = |i: usize| split.files[i].0.clone();
        let bytes = |i: usize| split.files[i].1.clone();
        // c1's share under c0's file name: the identity listed for that
        // name is missing, and c1's key, tried next, opens it. c0's share
        // under c1's name: c1's key is tried first and fails, and no other
        // opens it, so it is passed over.
        let files = vec![
            (name(0), bytes(1)),
            (name(1), bytes(0)),
            (name(2), bytes(2)),
            (name(3), bytes(3)),
        ];
        let quorum = open_shares(&split.shareset, &files, &keyring, &|_| None).unwrap();
        assert_eq!(quorum.opened.len(), 3);
        match &quorum.openings[0] {
            Opening::Opened {
                file, custodian, ..
            } => {
                assert_eq!(file, &name(0));
                assert_eq!(custodian, "c1", "what is inside counts, not the name");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&quorum.openings[1], Opening::Skipped { file, .. } if file == &name(1)),
            "{:?}",
            quorum.openings[1]
        );
        let rebuilt = rebuild(&split.shareset, &quorum.opened, &AirGapped::for_tests()).unwrap();
        assert!(rebuilt.ct_eq(&secret));
    }

    proptest! {
        // Failing seeds are kept beside this file (`*.proptest-regressions`),
        // inside src/: the repository's top level is fixed.
        #![proptest_config(ProptestConfig {
            cases: 48,
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
            )),
            ..ProptestConfig::default()
        })]

        /// Any k of the n opened shares rebuild the secret through the full
        /// checks (commitments, key check value).
        #[test]
        fn any_quorum_rebuilds(secret in proptest::collection::vec(any::<u8>(), 1..40), k in 2usize..6, extra in 0usize..4, skip in 0usize..10) {
            let n = k + extra;
            let secret = SecretBytes::new(secret);
            let (set, opened) = split(&secret, k, n);
            let start = skip % (n - k + 1);
            let rebuilt = rebuild(&set, &opened[start..start + k], &AirGapped::for_tests()).unwrap();
            prop_assert!(rebuilt.ct_eq(&secret));
        }

        /// A corrupted y byte is never combined into a wrong secret: with the
        /// commitment unchanged it is caught by the commitment; with a
        /// commitment forged to match (an attacker who can rewrite the
        /// manifest too) by the consistency check or the key check value.
        #[test]
        fn corrupted_share_is_refused(secret in proptest::collection::vec(any::<u8>(), 16..40), k in 2usize..5, extra in 0usize..3, flip in 1u8..=255, at in any::<prop::sample::Index>(), victim in any::<prop::sample::Index>()) {
            let n = k + extra;
            let secret = SecretBytes::new(secret);
            let (mut set, mut opened) = split(&secret, k, n);
            let v = victim.index(n);
            let doc = &mut opened[v].document;
            let mut y = doc.share.y().expose_secret().to_vec();
            let i = at.index(y.len());
            y[i] ^= flip;
            doc.share = ShamirShare::new(doc.share.x(), SecretBytes::new(y)).unwrap();
            let err = rebuild(&set, &opened, &AirGapped::for_tests()).unwrap_err();
            let is_commitment_mismatch = matches!(err, Error::CommitmentMismatch { .. });
            prop_assert!(is_commitment_mismatch, "{}", err);

            set.custodians[v].commitment = opened[v].document.commitment();
            let err = rebuild(&set, &opened, &AirGapped::for_tests()).unwrap_err();
            let caught = matches!(err, Error::KeyCheckMismatch { .. } | Error::Disagrees { .. });
            prop_assert!(caught, "{}", err);
        }

        /// The same share twice, or a share of another split of the same
        /// secret, is refused by name.
        #[test]
        fn duplicated_and_mixed_shares_are_refused(secret in proptest::collection::vec(any::<u8>(), 1..40), k in 2usize..5) {
            let secret = SecretBytes::new(secret);
            let (set, opened) = split(&secret, k, k + 1);
            let mut doubled: Vec<OpenedShare> = opened[..k - 1].iter().map(|o| OpenedShare { file: o.file.clone(), document: o.document.clone() }).collect();
            doubled.push(OpenedShare { file: "copy.age".into(), document: opened[0].document.clone() });
            let err = rebuild(&set, &doubled, &AirGapped::for_tests()).unwrap_err();
            let is_duplicate = matches!(err, Error::DuplicateShare { .. });
            prop_assert!(is_duplicate, "{}", err);

            let (_, theirs) = split(&secret, k, k + 1);
            let mut mixed: Vec<OpenedShare> = opened[..k - 1].iter().map(|o| OpenedShare { file: o.file.clone(), document: o.document.clone() }).collect();
            mixed.push(OpenedShare { file: "other.age".into(), document: theirs[k].document.clone() });
            let err = rebuild(&set, &mixed, &AirGapped::for_tests()).unwrap_err();
            let is_wrong_set = matches!(err, Error::WrongSet { .. });
            prop_assert!(is_wrong_set, "{}", err);
        }
    }
}
