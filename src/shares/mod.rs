//! Splitting a secret among custodians: the Shamir engine, the share
//! documents each custodian receives, and the public share-set manifest.

pub mod gf256;
pub mod shamir;

pub use shamir::{ShamirError, ShamirShare, Threshold};
