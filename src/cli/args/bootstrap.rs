//! `ceremony bootstrap …`: Phase 1.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `ceremony bootstrap …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
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
    /// Put a new value into one key of a sealed Secret, read from stdin or a hidden prompt.
    ///
    /// For a leaked credential: the value never touches the disk or the command line.
    ///
    /// The value is read from stdin. From a pipe or a file, exactly one trailing "\n" or
    /// "\r\n" is removed (what echo, a here-string or an editor adds), and the command says
    /// so; --keep-newline keeps it. From a terminal it is asked for twice, without echo. At
    /// most 64 KiB. Under data it is stored base64-encoded, as Kubernetes expects; under
    /// stringData as it is (UTF-8 text).
    ///
    /// The item must be an existing key of a Secret that is its own YAML document (not an
    /// item of a List, not reached through a merge key). The file is opened with -i
    /// identities and/or a quorum's bundles (--root ROOTDIR --bundle B -i KEY ...), and
    /// rewritten atomically with a new data key, sealed to the same recipients.
    Set(BootstrapSetArgs),
}

// Who a file is sealed to. Recipients given here win over `.sops.yaml`.
#[derive(Args, Debug, Clone, Default)]
pub struct BootstrapRecipientArgs {
    /// Seal to the bootstrap recipient of this root (its root.json is checked first). Repeatable.
    #[arg(long = "root", value_name = "ROOTDIR")]
    pub roots: Vec<PathBuf>,
    /// Seal to this age recipient (age1…, a plugin's age1NAME1…, or an ssh-ed25519 public key). Repeatable.
    #[arg(long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Use this .sops.yaml instead of the first one found above each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

// age identities that open SOPS files; `SOPS_AGE_KEY_FILE` and `SOPS_AGE_KEY` are read too.
#[derive(Args, Debug, Clone, Default)]
pub struct BootstrapIdentityArgs {
    /// An age identity file (AGE-SECRET-KEY-1… or a plugin's AGE-PLUGIN-… lines). Repeatable.
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,
}

// A quorum's bundles, to open files sealed to the root itself: the root's
// bootstrap identity (and, during a rotation, the retiring one) is rebuilt
// in memory, behind the air-gap gate, and never written anywhere.
#[derive(Args, Debug, Clone, Default)]
pub struct BootstrapQuorumArgs {
    /// A custodian's bundle of the root (ROOTDIR/shares/<name>.age; repeatable, -i opens it).
    #[arg(long = "bundle", value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,
    #[command(flatten)]
    pub preflight: super::PreflightArgs,
}

// `bootstrap seal`
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

// `bootstrap open`
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
    /// Do not check the file MAC (for a file that has none): a removed, added or
    /// reordered value goes unnoticed; each value is still checked against its own tag.
    #[arg(long)]
    pub ignore_mac: bool,
    /// The sealed file (or, with --out-dir, files and directories).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

// `bootstrap verify`
#[derive(Args, Debug)]
pub struct BootstrapVerifyArgs {
    /// The root whose bootstrap recipient every sealed file must name.
    #[arg(long, value_name = "ROOTDIR")]
    pub root: PathBuf,
    /// Use this .sops.yaml instead of the first one found above each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the report as JSON on stdout (docs/formats/report.md).
    #[arg(long)]
    pub json: bool,
    /// List the files that passed too (by default only problems and skipped paths are listed).
    #[arg(long)]
    pub all: bool,
    /// Files and directories to check.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

// `bootstrap updatekeys`
#[derive(Args, Debug)]
pub struct BootstrapUpdateKeysArgs {
    #[command(flatten)]
    pub recipients: BootstrapRecipientArgs,
    #[command(flatten)]
    pub identities: BootstrapIdentityArgs,
    #[command(flatten)]
    pub quorum: BootstrapQuorumArgs,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Sealed files and directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

// `bootstrap rotate`
#[derive(Args, Debug)]
pub struct BootstrapRotateArgs {
    #[command(flatten)]
    pub identities: BootstrapIdentityArgs,
    /// The root whose bundles --bundle gives.
    #[arg(long, value_name = "ROOTDIR", requires = "bundles")]
    pub root: Option<PathBuf>,
    /// Lay the rewritten file out as this .sops.yaml's `stores:` section
    /// says, instead of the first one found above each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub quorum: BootstrapQuorumArgs,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Sealed files and directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

// `bootstrap set`
#[derive(Args, Debug)]
pub struct BootstrapSetArgs {
    /// The item to change: the Secret's namespace (default if the manifest names none), its name, and the key.
    #[arg(long, value_name = "NAMESPACE/NAME/KEY")]
    pub item: String,
    /// Keep a trailing newline of piped input (by default exactly one "\n" or "\r\n" is removed).
    #[arg(long)]
    pub keep_newline: bool,
    #[command(flatten)]
    pub identities: BootstrapIdentityArgs,
    /// The root whose bundles --bundle gives.
    #[arg(long, value_name = "ROOTDIR", requires = "bundles")]
    pub root: Option<PathBuf>,
    /// Lay the rewritten file out as this .sops.yaml's `stores:` section
    /// says, instead of the first one found above each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub quorum: BootstrapQuorumArgs,
    /// The sealed manifest.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}
