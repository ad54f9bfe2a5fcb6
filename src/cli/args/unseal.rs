//! `ceremony unseal …`: key ceremonies with custodians' shares.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{IdentityArgs, PreflightArgs};

/// `ceremony unseal …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum UnsealCommand {
    /// Split a secret (or a fresh 32-byte unseal key) among custodians, k of n.
    Share(ShareArgs),
    /// Rebuild the secret from k custodians' shares and print it to stdout.
    Combine(CombineArgs),
    /// Prove that one share opens and matches its commitment, without rebuilding the secret.
    Verify(VerifyArgs),
    /// Give the same secret to new custodians and/or a new threshold (new set id).
    Reshare(ReshareArgs),
    /// Encrypt the unseal shares printed by `vault|bao operator init -format=json` to custodians.
    Wrap(WrapArgs),
    /// Show one custodian their own share, e.g. in Vault's base64 form for `operator unseal`.
    Open(OpenArgs),
}

// `unseal share`
#[derive(Args, Debug)]
pub struct ShareArgs {
    /// The custodians file (TOML, one [[custodian]] each).
    #[arg(long, value_name = "FILE")]
    pub custodians: PathBuf,
    /// Accept one key for several custodians (one person would hold several shares; recorded).
    #[arg(long)]
    pub allow_shared_custodian_key: bool,
    /// Shares needed to rebuild the secret (2..=number of custodians).
    #[arg(long, value_name = "K")]
    pub threshold: usize,
    /// New directory for shareset.json and the share files (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Split the bytes of this file (`-` for stdin) instead of generating a fresh 32-byte key.
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// What the secret is, recorded in the manifest and every share.
    #[arg(long, value_name = "L", default_value = "unseal-key")]
    pub label: String,
    /// Key id for the runtime authority (OpenBao static seal); default: derived from the date.
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Do not ask for confirmation before writing.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

/// How a rebuilt secret is printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretForm {
    /// Lower-case hex.
    Hex,
    /// Standard base64.
    Base64,
    /// A Kubernetes Secret manifest for OpenBao's `seal "static"` (32-byte keys only).
    OpenbaoStaticSeal,
    /// The bytes as they are, which must be UTF-8 text (a root token).
    Text,
}

// `unseal combine`
#[derive(Args, Debug)]
pub struct CombineArgs {
    /// The share set's public manifest.
    #[arg(long, value_name = "FILE")]
    pub shareset: PathBuf,
    /// Share files (at least the threshold).
    #[arg(value_name = "SHARE_FILE", required = true)]
    pub shares: Vec<PathBuf>,
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// Output form.
    #[arg(long, value_enum, default_value = "hex")]
    pub emit: SecretForm,
    /// Name of the Kubernetes Secret (openbao-static-seal).
    #[arg(long, default_value = "openbao-static-seal")]
    pub secret_name: String,
    /// Namespace of the Kubernetes Secret (openbao-static-seal).
    #[arg(long, default_value = "openbao")]
    pub namespace: String,
    /// Print the secret even though stdout is a terminal (it will stay on screen).
    #[arg(long)]
    pub allow_terminal: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

// `unseal verify`
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The share set's public manifest.
    #[arg(long, value_name = "FILE")]
    pub shareset: PathBuf,
    /// The custodian's share file.
    #[arg(value_name = "SHARE_FILE")]
    pub share: PathBuf,
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// Print the report as JSON (docs/formats/report.md).
    #[arg(long)]
    pub json: bool,
}

// `unseal reshare`
#[derive(Args, Debug)]
pub struct ReshareArgs {
    /// The old share set's manifest.
    #[arg(long, value_name = "OLD")]
    pub shareset: PathBuf,
    /// Old share files (at least the old threshold).
    #[arg(value_name = "SHARE_FILE", required = true)]
    pub shares: Vec<PathBuf>,
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// The new custodians file.
    #[arg(long, value_name = "NEW")]
    pub custodians: PathBuf,
    /// Accept one key for several custodians (one person would hold several shares; recorded).
    #[arg(long)]
    pub allow_shared_custodian_key: bool,
    /// The new threshold.
    #[arg(long, value_name = "K")]
    pub threshold: usize,
    /// New directory for the new set.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Do not ask for confirmation before writing.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

// `unseal wrap`
#[derive(Args, Debug)]
pub struct WrapArgs {
    /// The custodians file; one custodian per unseal share, in order.
    #[arg(long, value_name = "FILE")]
    pub custodians: PathBuf,
    /// Accept one key for several custodians (one person would hold several shares; recorded).
    #[arg(long)]
    pub allow_shared_custodian_key: bool,
    /// The threshold given to `operator init` (or the rekey). For a single
    /// unseal key (-key-shares=1): the threshold of ceremony's own split of it.
    #[arg(long, value_name = "K")]
    pub threshold: usize,
    /// New directory for shareset.json and the share files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Read the init (or rekey) JSON from this file instead of stdin.
    #[arg(long, value_name = "PATH")]
    pub init_file: Option<PathBuf>,
    /// Which keys to wrap: unseal keys, recovery keys (auto-unseal servers), or auto (unseal keys if any).
    #[arg(long, value_enum, default_value = "auto")]
    pub keys: WrapKeys,
    /// Also split the initial root token among the same custodians, with the same threshold,
    /// into OUT/root-token/ (rebuild it with `unseal combine --emit text`).
    #[arg(long)]
    pub protect_root_token: bool,
    /// Label recorded in the manifest (default: by the keys wrapped).
    #[arg(long)]
    pub label: Option<String>,
    /// Do not ask for confirmation before writing.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

/// Which keys of an init or rekey output `unseal wrap` takes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrapKeys {
    /// The unseal keys if there are any, else the recovery keys.
    Auto,
    /// The unseal keys (unseal_keys_b64, or a rekey's keys_base64).
    Unseal,
    /// The recovery keys (recovery_keys_b64, or a recovery rekey's keys_base64).
    Recovery,
}

/// How `unseal open` shows a share.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareForm {
    /// Vault/OpenBao base64 (y bytes then x), to type into `operator unseal`.
    Vault,
    /// Vault/OpenBao hex.
    VaultHex,
}

// `unseal open`
#[derive(Args, Debug)]
pub struct OpenArgs {
    /// The custodian's share file.
    #[arg(value_name = "SHARE_FILE")]
    pub share: PathBuf,
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// Output form.
    #[arg(long, value_enum, default_value = "vault")]
    pub emit: ShareForm,
    /// Show the share on this terminal (to type it into `operator unseal`).
    #[arg(long)]
    pub allow_terminal: bool,
}
