//! `ceremony root …`: Phase 0 and the Phase 2 emitters.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{IdentityArgs, PreflightArgs};

/// `ceremony root …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum RootCommand {
    /// Generate the root of trust (once), split it among custodians, write root.json.
    Init(RootInitArgs),
    /// Summarise root.json (or print it with --json).
    Show(RootShowArgs),
    /// Check root.json and its history (signatures, each version following the last), structure, custodian files.
    Verify(RootVerifyArgs),
    /// Phase 2: rebuild a root secret from a quorum and print the Kubernetes Secret for it.
    #[command(subcommand)]
    Emit(EmitCommand),
    /// Day N: replace root keys with new ones, in a new version of the root.
    Rotate(RootRotateArgs),
    /// Day N: share every root secret anew (new custodians, keys or thresholds).
    Reshare(RootReshareArgs),
    /// Day N: drop a retiring key the runtime no longer needs, in a new version.
    Retire(RootRetireArgs),
}

/// A root key that can be rotated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RootKeyArg {
    /// The bootstrap age identity (Flux's SOPS key).
    #[value(name = "bootstrap-key")]
    Bootstrap,
    /// The unseal key (OpenBao static seal).
    #[value(name = "unseal-key")]
    Unseal,
    /// The root signing key (root.json, transcripts).
    #[value(name = "signing-key")]
    Signing,
}

/// A root key that is kept as retiring after rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RetiringKeyArg {
    /// The previous bootstrap age identity.
    #[value(name = "bootstrap-key")]
    Bootstrap,
    /// The previous unseal key.
    #[value(name = "unseal-key")]
    Unseal,
}

// What every change of the root takes: the root, a quorum of current
// bundles, and why.
#[derive(Args, Debug)]
pub struct RootChangeCommon {
    /// The root directory (every version in it is checked first).
    #[arg(long, value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// Bundles of the current version (ROOTDIR/shares/<name>.age): enough for every threshold.
    #[arg(value_name = "BUNDLE", required = true)]
    pub bundles: Vec<PathBuf>,
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// Why, recorded in the new root.json (at most 200 characters).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

// New custodians or thresholds for a change of the root.
#[derive(Args, Debug, Default)]
pub struct CustodyArgs {
    /// A new custodians file (its [threshold] table may set new thresholds).
    #[arg(long, value_name = "FILE")]
    pub custodians: Option<PathBuf>,
    /// New threshold for every secret the custodians file does not set.
    #[arg(long, value_name = "K")]
    pub threshold: Option<usize>,
    /// Accept one key for several custodians (one person would hold several shares; recorded).
    #[arg(long)]
    pub allow_shared_custodian_key: bool,
}

// `root rotate`
#[derive(Args, Debug)]
pub struct RootRotateArgs {
    #[command(flatten)]
    pub common: RootChangeCommon,
    /// The key to replace (repeatable). A replaced bootstrap or unseal key stays as retiring.
    #[arg(long = "key", value_enum, value_name = "KEY", required = true)]
    pub keys: Vec<RootKeyArg>,
    /// Key id of the new unseal key (OpenBao current_key_id); default: the date and a fingerprint.
    #[arg(long, value_name = "ID")]
    pub unseal_key_id: Option<String>,
    #[command(flatten)]
    pub custody: CustodyArgs,
}

// `root reshare`
#[derive(Args, Debug)]
pub struct RootReshareArgs {
    #[command(flatten)]
    pub common: RootChangeCommon,
    #[command(flatten)]
    pub custody: CustodyArgs,
}

// `root retire`
#[derive(Args, Debug)]
pub struct RootRetireArgs {
    #[command(flatten)]
    pub common: RootChangeCommon,
    /// The retiring key to drop (repeatable).
    #[arg(long = "key", value_enum, value_name = "KEY", required = true)]
    pub keys: Vec<RetiringKeyArg>,
}

// `root init`
#[derive(Args, Debug)]
pub struct RootInitArgs {
    /// The custodians file; its [threshold] table may set bootstrap/unseal/signing thresholds.
    #[arg(long, value_name = "FILE")]
    pub custodians: PathBuf,
    /// Accept one key for several custodians (one person would hold several shares; recorded).
    #[arg(long)]
    pub allow_shared_custodian_key: bool,
    /// Threshold for every secret the custodians file does not set.
    #[arg(long, value_name = "K")]
    pub threshold: Option<usize>,
    /// The root directory to create (must not exist or be empty).
    #[arg(long, value_name = "ROOTDIR")]
    pub out: PathBuf,
    /// Key id of the unseal key (OpenBao static seal current_key_id); default: the date and a fingerprint.
    #[arg(long, value_name = "ID")]
    pub unseal_key_id: Option<String>,
    /// Replace an existing root. The old directory is moved aside, and the new root.json records it.
    /// A root MUST NOT be regenerated in normal operation.
    #[arg(long)]
    pub replace_existing_root_and_break_trust: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

// `root show`
#[derive(Args, Debug)]
pub struct RootShowArgs {
    /// The root directory.
    #[arg(value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// Print root.json itself.
    #[arg(long)]
    pub json: bool,
}

// `root verify`
#[derive(Args, Debug)]
pub struct RootVerifyArgs {
    /// The root directory.
    #[arg(value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// The root's first root.json as kept out of band: the history must start with exactly it.
    #[arg(long, value_name = "FILE")]
    pub anchor: Option<PathBuf>,
    /// The SHA-256 of the latest root.json as the ceremony log recorded it (hex, or its words): root.json must have it.
    #[arg(long, value_name = "SHA256")]
    pub head: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `root emit …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum EmitCommand {
    /// The Flux `sops-age` Secret holding the bootstrap age identity.
    FluxAgeSecret(EmitFluxArgs),
    /// The OpenBao static seal Secret holding the unseal key, and its seal stanza.
    OpenbaoStaticSeal(EmitSealArgs),
}

// What every emitter takes.
#[derive(Args, Debug)]
pub struct EmitCommon {
    /// The root directory (its root.json is checked before anything is rebuilt).
    #[arg(long, value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// Custodians' bundle files (ROOTDIR/shares/<name>.age), at least the threshold.
    #[arg(value_name = "SHARE_FILE", required = true)]
    pub shares: Vec<PathBuf>,
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// Print the Secret even though stdout is a terminal.
    #[arg(long)]
    pub allow_terminal: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

// `root emit flux-age-secret`
#[derive(Args, Debug)]
pub struct EmitFluxArgs {
    #[command(flatten)]
    pub common: EmitCommon,
    /// Secret name.
    #[arg(long, default_value = "sops-age")]
    pub name: String,
    /// Secret namespace.
    #[arg(long, default_value = "flux-system")]
    pub namespace: String,
    /// Data key (Flux reads entries ending in .agekey).
    #[arg(long, default_value = "age.agekey")]
    pub key: String,
}

// `root emit openbao-static-seal`
#[derive(Args, Debug)]
pub struct EmitSealArgs {
    #[command(flatten)]
    pub common: EmitCommon,
    /// Secret name.
    #[arg(long, default_value = "openbao-static-seal")]
    pub name: String,
    /// Secret namespace.
    #[arg(long, default_value = "openbao")]
    pub namespace: String,
}
