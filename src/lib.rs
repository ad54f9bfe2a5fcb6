//! # ceremony
//!
//! Offline key ceremonies for the root of trust of a Kubernetes secret
//! system. The library is the ceremony; the `ceremony` binary only turns
//! flags into calls of it and renders what it returns. Nothing here prints,
//! prompts, reads the command line or exits.
//!
//! One module per phase of the design (`docs/threat-model.md`):
//!
//! | phase | module |
//! |---|---|
//! | 0: the offline root | [`root`] (init, the manifest, rebuilding, Phase 2 emitters), [`preflight`] (the air-gap gate) |
//! | 0: custodians | [`shares`] (Shamir, share files, share sets, Vault/OpenBao init output) |
//! | 1: Git + GitOps | [`bootstrap`] (seal, open, update keys, rotate, verify) on the [`sops`] engine |
//! | 2→3: runtime authority | [`handover`] (challenge, receipt, signatures, verification) |
//! | all | [`transcript`] (the ceremony's hash-chained record, witness sign-offs), [`script`] (ceremonies as data, walked step by step) |
//!
//! And what they share, each in one place: [`kube`] (what is a Secret),
//! [`walk`] (which files a command reads), [`identity`] (loading keys),
//! [`plugin`] (age plugins: custodians on hardware tokens),
//! [`fsio`] (reading inputs, writing outputs), [`report`] (check reports),
//! [`secret`] (wiping secret types), [`x25519`] (recipients no key protects), [`words`] (hashes read aloud), [`clock`], and [`error`] with the
//! [`class`] of every failure.

#![deny(unsafe_code)]
#![deny(missing_docs)]
#![deny(unused_must_use)]
// Input reaches almost every module (files, manifests, signatures, the
// kernel's answers): no panic on an index out of range anywhere.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![deny(clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod bootstrap;
pub mod class;
pub mod clock;
pub mod error;
pub mod fsio;
pub mod handover;
pub mod identity;
pub mod json;
pub mod kube;
pub mod plugin;
pub mod preflight;
pub mod report;
pub mod root;
pub mod script;
pub mod secret;
pub mod shares;
pub mod sops;
pub mod text;
pub mod transcript;
pub mod walk;
pub mod words;
pub mod x25519;

pub use error::{Error, Result};
