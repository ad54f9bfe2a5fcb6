//! # ceremony
//!
//! Offline key ceremonies for the root of trust of a Kubernetes secret system.
//!
//! The library holds every capability of the `ceremony` tool and never prints,
//! prompts or exits; the command-line edge in `src/cli/` does that. See
//! `docs/` for the threat model, the file formats and the runbooks.

#![deny(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod error;
pub mod fsio;
pub mod handover;
pub mod identity;
pub mod preflight;
pub mod root;
pub mod secret;
pub mod shares;
pub mod sops;
pub mod transcript;
