//! A custodian's bundle: all of one custodian's root shares in one age file,
//! `shares/<name>.age`, which the stock `age -d` opens.
//!
//! The plaintext is JSON: `{"format": "ceremony.root-shares.v1", "root_id",
//! "custodian", "shares": [<share document>, …]}`, each share document as in
//! `docs/formats/share.md`.

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
    custodian: String,
    shares: Vec<Wire>,
}

/// One custodian's shares of one root.
#[derive(Debug)]
pub struct Bundle {
    /// The root they belong to.
    pub root_id: String,
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
        Ok(Self {
            root_id: wire.root_id.clone(),
            custodian: wire.custodian.clone(),
            shares,
        })
    }
}
