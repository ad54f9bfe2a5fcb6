//! `ceremony handover …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{IdentityArgs, PreflightArgs};

/// `ceremony handover …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum HandoverCommand {
    /// Offline: list the sealed bootstrap files and their items, with a fresh nonce, for the runtime authority to answer.
    Challenge(HandoverChallengeArgs),
    /// Runtime side: build a receipt from the decrypted manifests or OpenBao KV v2 exports, signed with --key or written --unsigned.
    Receipt(HandoverReceiptArgs),
    /// Add a signature made elsewhere (ssh-keygen -Y sign, minisign -S, transit, ed25519) to a receipt.
    AttachSignature(HandoverAttachArgs),
    /// Offline: check a receipt against its challenge and a TRUSTFILE, printing every check.
    Verify(HandoverVerifyArgs),
    /// Make TRUSTFILE lines (from-transit: from `bao read -format=json transit/keys/NAME`).
    #[command(subcommand)]
    Trust(HandoverTrustCommand),
}

/// `handover trust …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum HandoverTrustCommand {
    /// Print the TRUSTFILE line for a transit key version, from the JSON of `bao read -format=json transit/keys/NAME`.
    FromTransit(HandoverFromTransitArgs),
}

// `handover trust from-transit`
#[derive(Args, Debug)]
pub struct HandoverFromTransitArgs {
    /// The saved output of `bao read -format=json transit/keys/NAME`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The runtime authority this key signs receipts for, e.g. openbao-prod.
    #[arg(long, value_name = "NAME")]
    pub authority: String,
    /// The key version to trust [default: the key's latest_version].
    #[arg(long = "key-version", value_name = "N")]
    pub key_version: Option<u32>,
    /// ECDSA keys: the marshaling_algorithm the runtime signs with, asn1 (transit's default) or jws.
    #[arg(long, value_name = "ALGORITHM")]
    pub marshaling: Option<String>,
    /// ECDSA keys: the hash_algorithm the runtime signs with, sha2-256 (transit's default), sha2-384 or sha2-512.
    #[arg(long, value_name = "ALGORITHM")]
    pub hash: Option<String>,
}

// `handover challenge`
#[derive(Args, Debug)]
pub struct HandoverChallengeArgs {
    /// The root directory whose bootstrap recipient sealed the files.
    #[arg(long, value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// The directory of sealed bootstrap manifests (*.yaml, *.yml; hidden files are skipped).
    #[arg(long, value_name = "DIR")]
    pub bootstrap: PathBuf,
    /// The runtime authority expected to answer, e.g. openbao-prod.
    #[arg(long, value_name = "NAME")]
    pub authority: String,
    /// How long the challenge is valid: 30m, 24h, 7d (at most 30d).
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub expires: String,
    /// Challenge only this item and the file that holds it (repeatable): a handover of
    /// values that changed, e.g. after `bootstrap set`. Default: every item.
    #[arg(long = "item", value_name = "NAMESPACE/NAME/KEY")]
    pub items: Vec<String>,
    /// Where to write the challenge (must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

// `handover receipt`
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("signing").required(true).args(["key", "unsigned"])))]
#[command(group(clap::ArgGroup::new("source").required(true).args(["values", "kv"])))]
pub struct HandoverReceiptArgs {
    /// The challenge to answer.
    #[arg(long, value_name = "FILE")]
    pub challenge: PathBuf,
    /// The directory of decrypted manifests; items are matched by namespace/name/key.
    #[arg(long, value_name = "DIR")]
    pub values: Option<PathBuf>,
    /// The directory of `bao kv get -format=json` outputs, one per KV v2 secret: DIR/PATH.json is the secret at PATH of --kv-mount, and PATH ends in the Secret's NAMESPACE/NAME; each item's version is the secret's metadata.version.
    #[arg(long, value_name = "DIR")]
    pub kv: Option<PathBuf>,
    /// The KV v2 mount the --kv secrets were read from; items are stored at MOUNT/data/PATH [default: secret].
    #[arg(long, value_name = "MOUNT", requires = "kv")]
    pub kv_mount: Option<String>,
    /// This authority's name; must equal the challenge's.
    #[arg(long, value_name = "NAME")]
    pub authority: String,
    /// Sign with this unencrypted OpenSSH ed25519 private key (plain ed25519 DSSE signature).
    #[arg(long, value_name = "ED25519_KEY")]
    pub key: Option<PathBuf>,
    /// Write the receipt unsigned, and the exact bytes to sign (DSSE PAE) to FILE.pae.
    #[arg(long)]
    pub unsigned: bool,
    /// Where to write the receipt (must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// With --values: where each item was stored; placeholders {namespace}, {name}, {key}.
    #[arg(
        long,
        value_name = "TEMPLATE",
        default_value = "secret/data/{namespace}/{name}",
        conflicts_with = "kv"
    )]
    pub path_template: String,
    /// With --values: the version every item was stored as (--kv takes each item's from OpenBao).
    #[arg(
        long = "item-version",
        value_name = "N",
        default_value_t = 1,
        conflicts_with = "kv"
    )]
    pub item_version: u64,
    /// A bootstrap Secret that was NOT deleted (repeatable); it is left out of `retired`.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub not_retired: Vec<String>,
}

// `handover attach-signature`
#[derive(Args, Debug)]
pub struct HandoverAttachArgs {
    /// The receipt to add the signature to (rewritten in place).
    #[arg(value_name = "RECEIPT")]
    pub receipt: PathBuf,
    /// ed25519, sshsig, minisign or transit.
    #[arg(long, value_name = "SCHEME")]
    pub scheme: String,
    /// The signature file over the receipt's .pae bytes.
    #[arg(long, value_name = "FILE")]
    pub signature: PathBuf,
}

// `handover verify`
#[derive(Args, Debug)]
pub struct HandoverVerifyArgs {
    /// The challenge the receipt answers.
    #[arg(long, value_name = "FILE")]
    pub challenge: PathBuf,
    /// The receipt.
    #[arg(long, value_name = "FILE")]
    pub receipt: PathBuf,
    /// The keys trusted to sign receipts.
    #[arg(long, value_name = "TRUSTFILE")]
    pub trust: PathBuf,
    /// The sealed bootstrap files, to check each subject digest against.
    #[arg(long, value_name = "DIR")]
    pub bootstrap: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Rebuild the bootstrap key from a quorum, decrypt the sealed files and recompute every commitment.
    #[arg(long, requires_all = ["root", "bootstrap", "shares"])]
    pub deep: bool,
    /// The root directory (with --deep).
    #[arg(long, value_name = "ROOTDIR", requires = "deep")]
    pub root: Option<PathBuf>,
    /// Custodians' bundle files (with --deep), at least the bootstrap threshold.
    #[arg(value_name = "SHARE_FILE", requires = "deep")]
    pub shares: Vec<PathBuf>,
    #[command(flatten)]
    pub identities: IdentityArgs,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}
