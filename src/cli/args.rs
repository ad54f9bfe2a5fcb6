//! The command line as typed: clap definitions, raw and unvalidated. Each
//! command module turns these into a checked request before doing anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Offline key ceremonies for the root of trust of a Kubernetes secret system.
#[derive(Parser, Debug)]
#[command(name = "ceremony", version, about, long_about = None)]
pub struct Cli {
    /// Append this command and its outcome to a hash-chained ceremony transcript.
    #[arg(long, global = true, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Phase 0: create, inspect and verify the root of trust; Phase 2 emitters.
    #[command(subcommand)]
    Root(RootCommand),
    /// Key ceremonies with custodians' Shamir shares.
    #[command(subcommand)]
    Unseal(UnsealCommand),
    /// Check that this machine is air-gapped and harden this process; print each check.
    Preflight(PreflightArgs),
    /// Verify a ceremony transcript, or seal its head with the root signing key.
    #[command(subcommand)]
    Transcript(TranscriptCommand),
    /// Walk through a whole ceremony with throwaway custodians in a temporary directory.
    Demo(DemoArgs),
    /// Bootstrap → runtime handover: challenge, receipt, signatures, verification.
    #[command(subcommand)]
    Handover(HandoverCommand),
    /// Phase 1: seal bootstrap manifests with SOPS to the root, open, verify, update keys, rotate.
    #[command(subcommand)]
    Bootstrap(BootstrapCommand),
}

/// `ceremony unseal …`
#[derive(Subcommand, Debug)]
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

/// The air-gap gate that runs before a root is made or a secret rebuilt.
#[derive(Args, Debug, Clone, Default)]
pub struct PreflightArgs {
    /// Proceed even though this machine is online (said in the output and recorded in manifests).
    #[arg(long)]
    pub allow_online: bool,
    /// Read /sys and /proc under this directory instead of / (for testing the checks).
    #[arg(long, value_name = "DIR", hide = true)]
    pub system_root: Option<PathBuf>,
}

/// `ceremony root …`
#[derive(Subcommand, Debug)]
pub enum RootCommand {
    /// Generate the root of trust (once), split it among custodians, write root.json.
    Init(RootInitArgs),
    /// Summarise root.json (or print it with --json).
    Show(RootShowArgs),
    /// Check root.json's signature, structure and commitments, and the custodian files.
    Verify(RootVerifyArgs),
    /// Phase 2: rebuild a root secret from a quorum and print the Kubernetes Secret for it.
    #[command(subcommand)]
    Emit(EmitCommand),
}

/// `root init`
#[derive(Args, Debug)]
pub struct RootInitArgs {
    /// The custodians file; its [threshold] table may set bootstrap/unseal/signing thresholds.
    #[arg(long, value_name = "FILE")]
    pub custodians: PathBuf,
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

/// `root show`
#[derive(Args, Debug)]
pub struct RootShowArgs {
    /// The root directory.
    #[arg(value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// Print root.json itself.
    #[arg(long)]
    pub json: bool,
}

/// `root verify`
#[derive(Args, Debug)]
pub struct RootVerifyArgs {
    /// The root directory.
    #[arg(value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `root emit …`
#[derive(Subcommand, Debug)]
pub enum EmitCommand {
    /// The Flux `sops-age` Secret holding the bootstrap age identity.
    FluxAgeSecret(EmitFluxArgs),
    /// The OpenBao static seal Secret holding the unseal key, and its seal stanza.
    OpenbaoStaticSeal(EmitSealArgs),
}

/// What every emitter takes.
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

/// `root emit flux-age-secret`
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

/// `root emit openbao-static-seal`
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

/// `ceremony transcript …`
#[derive(Subcommand, Debug)]
pub enum TranscriptCommand {
    /// Check the chain of a transcript (and its signatures against root.json).
    Verify(TranscriptVerifyArgs),
    /// Rebuild the root signing key from a quorum and sign the transcript's head.
    Sign(TranscriptSignArgs),
}

/// `transcript verify`
#[derive(Args, Debug)]
pub struct TranscriptVerifyArgs {
    /// The transcript file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Require every signature record to be by this root's signing key.
    #[arg(long, value_name = "ROOTDIR")]
    pub root: Option<PathBuf>,
}

/// `transcript sign`
#[derive(Args, Debug)]
pub struct TranscriptSignArgs {
    /// The transcript file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub common: EmitCommon,
}

/// Identities that open share files.
#[derive(Args, Debug, Clone, Default)]
pub struct IdentityArgs {
    /// An age identity file or OpenSSH ed25519 private key (repeatable).
    /// Passphrase shares are prompted for on the terminal.
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,
}

/// `unseal share`
#[derive(Args, Debug)]
pub struct ShareArgs {
    /// The custodians file (TOML, one [[custodian]] each).
    #[arg(long, value_name = "FILE")]
    pub custodians: PathBuf,
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
}

/// `unseal combine`
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

/// `unseal verify`
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
}

/// `unseal reshare`
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

/// `unseal wrap`
#[derive(Args, Debug)]
pub struct WrapArgs {
    /// The custodians file; one custodian per unseal share, in order.
    #[arg(long, value_name = "FILE")]
    pub custodians: PathBuf,
    /// The unseal threshold given to `operator init`.
    #[arg(long, value_name = "K")]
    pub threshold: usize,
    /// New directory for shareset.json and the share files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Read the init JSON from this file instead of stdin.
    #[arg(long, value_name = "PATH")]
    pub init_file: Option<PathBuf>,
    /// Label recorded in the manifest.
    #[arg(long, default_value = "vault-unseal-key")]
    pub label: String,
    /// Do not ask for confirmation before writing.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub preflight: PreflightArgs,
}

/// How `unseal open` shows a share.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareForm {
    /// Vault/OpenBao base64 (y bytes then x), to type into `operator unseal`.
    Vault,
    /// Vault/OpenBao hex.
    VaultHex,
}

/// `unseal open`
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

/// `demo`
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Keep the demo's files in this new directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// `ceremony handover …`
#[derive(Subcommand, Debug)]
pub enum HandoverCommand {
    /// Offline: list the sealed bootstrap files and their items, with a fresh nonce, for the runtime authority to answer.
    Challenge(HandoverChallengeArgs),
    /// Runtime side: build a receipt from the decrypted manifests, signed with --key or written --unsigned.
    Receipt(HandoverReceiptArgs),
    /// Add a signature made elsewhere (ssh-keygen -Y sign, minisign -S, transit, ed25519) to a receipt.
    AttachSignature(HandoverAttachArgs),
    /// Offline: check a receipt against its challenge and a TRUSTFILE, printing every check.
    Verify(HandoverVerifyArgs),
}

/// `handover challenge`
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
    /// Where to write the challenge (must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `handover receipt`
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("signing").required(true).args(["key", "unsigned"])))]
pub struct HandoverReceiptArgs {
    /// The challenge to answer.
    #[arg(long, value_name = "FILE")]
    pub challenge: PathBuf,
    /// The directory of decrypted manifests; items are matched by namespace/name/key.
    #[arg(long, value_name = "DIR")]
    pub values: PathBuf,
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
    /// Where each item was stored; placeholders {namespace}, {name}, {key}.
    #[arg(
        long,
        value_name = "TEMPLATE",
        default_value = "secret/data/{namespace}/{name}"
    )]
    pub path_template: String,
    /// The version every item was stored as.
    #[arg(long = "item-version", value_name = "N", default_value_t = 1)]
    pub item_version: u64,
    /// A bootstrap Secret that was NOT deleted (repeatable); it is left out of `retired`.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub not_retired: Vec<String>,
}

/// `handover attach-signature`
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

/// `handover verify`
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

/// `ceremony bootstrap …`
#[derive(Subcommand, Debug)]
pub enum BootstrapCommand {
    /// Encrypt bootstrap manifests into SOPS files (to stdout, or --in-place over files and trees).
    Seal(BootstrapSealArgs),
    /// Decrypt a SOPS file to stdout (not a terminal unless --allow-terminal), or several into --out-dir.
    Open(BootstrapOpenArgs),
    /// Check without any private key that every Secret is sealed, to the right recipients.
    Verify(BootstrapVerifyArgs),
    /// Re-wrap the data key of every sealed file in a tree to the current recipients.
    Updatekeys(BootstrapUpdateKeysArgs),
    /// Give every sealed file in a tree a fresh data key and re-encrypt its values.
    Rotate(BootstrapRotateArgs),
}

/// Who a file is sealed to. Recipients given here win over `.sops.yaml`.
#[derive(Args, Debug, Clone, Default)]
pub struct BootstrapRecipientArgs {
    /// Seal to the bootstrap recipient of this root (its root.json is checked first). Repeatable.
    #[arg(long = "root", value_name = "ROOTDIR")]
    pub roots: Vec<PathBuf>,
    /// Seal to this age recipient (age1… or an ssh-ed25519 public key). Repeatable.
    #[arg(long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Use this .sops.yaml instead of the first one found above each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// age identities that open SOPS files; `SOPS_AGE_KEY_FILE` and `SOPS_AGE_KEY` are read too.
#[derive(Args, Debug, Clone, Default)]
pub struct BootstrapIdentityArgs {
    /// An age identity file (AGE-SECRET-KEY-1… lines). Repeatable.
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,
}

/// `bootstrap seal`
#[derive(Args, Debug)]
pub struct BootstrapSealArgs {
    #[command(flatten)]
    pub recipients: BootstrapRecipientArgs,
    /// Replace each file with its sealed form; directories are walked.
    #[arg(long)]
    pub in_place: bool,
    /// Print the --in-place summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The file to seal (to stdout), or with --in-place files and directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// `bootstrap open`
#[derive(Args, Debug)]
pub struct BootstrapOpenArgs {
    #[command(flatten)]
    pub identities: BootstrapIdentityArgs,
    /// Write each opened file under this new directory (mode 0600) instead of stdout;
    /// needed for several files or a directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Print the opened file even when stdout is a terminal (refused otherwise).
    #[arg(long)]
    pub allow_terminal: bool,
    /// The sealed file (or, with --out-dir, files and directories).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// `bootstrap verify`
#[derive(Args, Debug)]
pub struct BootstrapVerifyArgs {
    /// The root whose bootstrap recipient every sealed file must name.
    #[arg(long, value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// Use this .sops.yaml instead of the first one found above each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Files and directories to check.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// `bootstrap updatekeys`
#[derive(Args, Debug)]
pub struct BootstrapUpdateKeysArgs {
    #[command(flatten)]
    pub recipients: BootstrapRecipientArgs,
    #[command(flatten)]
    pub identities: BootstrapIdentityArgs,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Sealed files and directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// `bootstrap rotate`
#[derive(Args, Debug)]
pub struct BootstrapRotateArgs {
    #[command(flatten)]
    pub identities: BootstrapIdentityArgs,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Sealed files and directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}
