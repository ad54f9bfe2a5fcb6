//! A custodian's bundle: all of one custodian's root shares in one age file,
//! `shares/<name>.age`, which the stock `age -d` opens.
//!
//! The plaintext is JSON: `{"format": "ceremony.root-shares.v1", "root_id",
//! ["root_version",] "custodian", "shares": [<share document>, …]}`, each
//! share document as in `docs/formats/share.md`; `root_version` is absent
//! for version 1.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::shares::ShareDocument;
use crate::shares::document::{DocumentError, Wire};

/// The format tag of version 1 bundles.
pub const BUNDLE_FORMAT_V1: &str = "ceremony.root-shares.v1";

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct BundleWire {
    format: String,
    root_id: String,
    /// Absent in the bundles of version 1, which `root init` wrote before
    /// roots had versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root_version: Option<u64>,
    custodian: String,
    shares: Vec<Wire>,
}

/// One custodian's shares of one root.
#[derive(Debug)]
pub struct Bundle {
    /// The root they belong to.
    pub root_id: String,
    /// The version of the root they were made for.
    pub root_version: u64,
    /// The custodian.
    pub custodian: String,
    /// One share document per root secret.
    pub shares: Vec<ShareDocument>,
}

impl Bundle {
    /// Serialises into a wiping buffer.
    pub fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, DocumentError> {
        let wire = BundleWire {
            format: BUNDLE_FORMAT_V1.into(),
            root_id: self.root_id.clone(),
            // Version 1 bundles stay exactly as `root init` always wrote them.
            root_version: (self.root_version != 1).then_some(self.root_version),
            custodian: self.custodian.clone(),
            shares: self.shares.iter().map(ShareDocument::to_wire).collect(),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(16 * 1024));
        serde_json::to_writer_pretty(&mut *out, &wire)
            .map_err(|_| DocumentError::Malformed("the bundle could not be serialised".into()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Parses a decrypted bundle; every share document is checked.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DocumentError> {
        // Only the category of a serde error is reported: its message could
        // quote share bytes.
        let wire: BundleWire = serde_json::from_slice(bytes).map_err(|e| {
            DocumentError::Malformed(format!(
                "not a root share bundle (line {}: {:?} error)",
                e.line(),
                e.classify()
            ))
        })?;
        if wire.format != BUNDLE_FORMAT_V1 {
            return Err(DocumentError::UnknownFormat {
                found: wire.format.clone(),
            });
        }
        let shares = wire
            .shares
            .iter()
            .map(ShareDocument::from_wire)
            .collect::<Result<Vec<_>, _>>()?;
        if wire.root_version.is_some_and(|v| v < 2) {
            return Err(DocumentError::Malformed(
                "root_version is 2 or more when present".into(),
            ));
        }
        Ok(Self {
            root_id: wire.root_id.clone(),
            root_version: wire.root_version.unwrap_or(1),
            custodian: wire.custodian.clone(),
            shares,
        })
    }
}
