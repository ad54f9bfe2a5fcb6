//! `shareset.json`: the public record of one split.
//!
//! It names the set, the secret's label, k of n, each custodian with their
//! public key, x coordinate and a commitment to their share, and a key check
//! value of the secret. With it a custodian can prove their share is intact
//! (`unseal verify`) and a quorum can be checked before the rebuilt secret is
//! used (`unseal combine`), without the manifest revealing anything secret.
//! Format: `docs/formats/shareset.md`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::custodians::{CustodianName, RecipientDescription};
use super::shamir::Threshold;

/// The format tag of version 1 share-set manifests.
pub const SHARESET_FORMAT_V1: &str = "ceremony.shareset.v1";

/// A random 128-bit identifier of one split. A reshare makes a new one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetId([u8; 16]);

impl SetId {
    /// A fresh random id.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetId({self})")
    }
}

impl FromStr for SetId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bytes = hex::decode(s).map_err(|_| format!("set id {s:?} is not 32 hex digits"))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| format!("set id {s:?} is not 32 hex digits"))?;
        Ok(Self(bytes))
    }
}

impl Serialize for SetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for SetId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where the shares came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Split by `ceremony unseal share` or `root init`.
    Ceremony,
    /// Unseal shares printed by `vault|bao operator init` (or a rekey),
    /// wrapped by `unseal wrap`: the server combines them itself.
    VaultOperatorInit,
    /// Recovery key shares of an auto-unseal (static seal) server, from
    /// `operator init -recovery-shares` (or a recovery rekey): they do not
    /// unseal, they authorise `generate-root` and rekeys.
    VaultRecoveryKeys,
    /// The single unseal key of a server initialised with one share
    /// (`-key-shares=1`), split by ceremony: a quorum rebuilds it and gives
    /// it whole to `operator unseal`.
    VaultSingleKey,
}

impl Origin {
    /// Whether the server combines these shares itself, with the threshold
    /// it chose: their threshold cannot change without a rekey.
    pub fn server_combines(self) -> bool {
        matches!(self, Origin::VaultOperatorInit | Origin::VaultRecoveryKeys)
    }

    /// Whether the secret came from Vault/OpenBao (and is not a static-seal
    /// key of ceremony's).
    pub fn from_vault(self) -> bool {
        !matches!(self, Origin::Ceremony)
    }
}

/// One custodian's public entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianEntry {
    /// The custodian's name.
    pub name: String,
    /// How their share is encrypted.
    pub recipient: RecipientDescription,
    /// Their share's x coordinate (public in Shamir's scheme).
    pub x: u8,
    /// `sha256:<hex>` commitment to their share document.
    pub commitment: String,
    /// Their share file, relative to the manifest's directory.
    pub file: String,
}

/// The public manifest of a share set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareSet {
    /// Always [`SHARESET_FORMAT_V1`].
    pub format: String,
    /// This split.
    pub set_id: SetId,
    /// What the secret is.
    pub label: String,
    /// RFC 3339 UTC time of the split.
    pub created_at: String,
    /// Who made the shares.
    pub origin: Origin,
    /// Shares needed.
    pub threshold: usize,
    /// Shares made.
    pub shares: usize,
    /// Length of the secret in bytes.
    pub secret_length: usize,
    /// `hmac-sha256:<hex>` key check value of the secret.
    pub key_check_value: String,
    /// A key id for the runtime authority (OpenBao static seal), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The set this one was reshared from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_set_id: Option<SetId>,
    /// One entry per custodian, in the order of the custodians file.
    pub custodians: Vec<CustodianEntry>,
}

/// A manifest that is not well formed. `place` is a JSON path or line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{place}: {message}")]
pub struct ShareSetError {
    /// Where (e.g. `line 3` or `custodians[2].x`).
    pub place: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl ShareSet {
    /// The share file name of a custodian: `<name>.share.age`.
    pub fn file_name_for(name: &CustodianName) -> String {
        format!("{}.share.age", name.as_str())
    }

    /// Parses and validates a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ShareSetError> {
        #[derive(Deserialize)]
        struct Tag {
            format: Option<String>,
        }
        let problem = |place: String, message: String| ShareSetError { place, message };
        let tag: Tag = serde_json::from_slice(bytes).map_err(|e| {
            problem(
                format!("line {}", e.line()),
                format!("not a share-set manifest: {e}"),
            )
        })?;
        match tag.format.as_deref() {
            Some(SHARESET_FORMAT_V1) => {}
            other => {
                return Err(problem(
                    "format".into(),
                    format!(
                        "{other:?} is not a supported share-set format (expected {SHARESET_FORMAT_V1:?})"
                    ),
                ));
            }
        }
        let set: ShareSet = serde_json::from_slice(bytes)
            .map_err(|e| problem(format!("line {}", e.line()), e.to_string()))?;
        set.validate()?;
        Ok(set)
    }

    /// Checks the invariants a manifest must hold.
    pub fn validate(&self) -> Result<(), ShareSetError> {
        self.validate_with(&Self::file_name_for)
    }

    /// Checks the invariants, with `file_for` giving each custodian's
    /// expected file name (share sets inside a root keep their shares in
    /// per-custodian bundles).
    pub fn validate_with(
        &self,
        file_for: &dyn Fn(&CustodianName) -> String,
    ) -> Result<(), ShareSetError> {
        let problem = |place: &str, message: String| ShareSetError {
            place: place.to_owned(),
            message,
        };
        Threshold::new(self.threshold, self.shares)
            .map_err(|e| problem("threshold", e.to_string()))?;
        if self.custodians.len() != self.shares {
            return Err(problem(
                "custodians",
                format!(
                    "{} custodians listed but shares = {}",
                    self.custodians.len(),
                    self.shares
                ),
            ));
        }
        if self.secret_length == 0 {
            return Err(problem("secret_length", "must be at least 1".into()));
        }
        if let Some(id) = &self.key_id {
            super::KeyId::parse(id).map_err(|e| problem("key_id", e.to_string()))?;
        }
        if !self.key_check_value.starts_with("hmac-sha256:") {
            return Err(problem(
                "key_check_value",
                "must start with hmac-sha256:".into(),
            ));
        }
        let mut names = BTreeSet::new();
        let mut xs = BTreeSet::new();
        for (i, c) in self.custodians.iter().enumerate() {
            let place = |field: &str| format!("custodians[{i}].{field}");
            let name =
                CustodianName::new(&c.name).map_err(|m| problem(&place("name"), m.to_string()))?;
            if !names.insert(c.name.to_ascii_lowercase()) {
                return Err(problem(
                    &place("name"),
                    format!("{:?} appears twice", c.name),
                ));
            }
            if c.x == 0 || !xs.insert(c.x) {
                return Err(problem(
                    &place("x"),
                    format!("x = {} is zero or used twice", c.x),
                ));
            }
            if c.file != file_for(&name) {
                return Err(problem(
                    &place("file"),
                    format!("expected {:?}", file_for(&name)),
                ));
            }
            if !c.commitment.starts_with("sha256:") || c.commitment.len() != 7 + 64 {
                return Err(problem(
                    &place("commitment"),
                    "must be sha256:<64 hex digits>".into(),
                ));
            }
        }
        Ok(())
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The entry of the custodian with this name.
    pub fn custodian(&self, name: &str) -> Option<&CustodianEntry> {
        self.custodians.iter().find(|c| c.name == name)
    }

    /// The custodians whose share file has the file name of `file` (a path
    /// as the operator gave it): whose share it most likely holds. Only a
    /// hint: what a file holds is known once it is opened.
    pub fn entries_for_file<'a>(
        &'a self,
        file: &'a str,
    ) -> impl Iterator<Item = &'a CustodianEntry> + 'a {
        let name = std::path::Path::new(file).file_name();
        self.custodians
            .iter()
            .filter(move |c| name.is_some() && std::path::Path::new(&c.file).file_name() == name)
    }
}
