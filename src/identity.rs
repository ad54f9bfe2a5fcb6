//! Loading the private keys that open share files, bundles and SOPS files:
//! the one identity loader of the crate.
//!
//! Accepted, as the stock `age -d -i` and `sops` accept them: age identity
//! files (`AGE-SECRET-KEY-1…` lines, plugin identities `AGE-PLUGIN-NAME-1…`
//! as `age-plugin-yubikey --identity` prints them, `#` comments, blank
//! lines) and OpenSSH ed25519 private keys, passphrase-protected or not. A
//! passphrase is asked for through age's own [`age::Callbacks`], which the
//! command-line edge implements with a terminal prompt; the library never
//! prompts by itself. The same callbacks answer a plugin's questions (PIN,
//! "insert your token"), through [`crate::plugin`].
//!
//! Plugin identities of one plugin, from all the sources of one call, become
//! one [`crate::plugin::PluginIdentity`] (one program run per file opened,
//! as age does), and come after every other identity: a token is asked only
//! when no key file opened the file. A plugin whose program is not installed
//! is an error when the identities are loaded, before anything is opened.
//!
//! [`sops_identities`] adds the places sops looks for keys (`cmd/sops`'s age
//! key source): `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`,
//! `$XDG_CONFIG_HOME/sops/age/keys.txt` (or `~/.config/sops/age/keys.txt`),
//! `SOPS_AGE_SSH_PRIVATE_KEY_FILE` and `~/.ssh/id_ed25519`.

use std::ffi::OsString;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::class::Class;
use crate::fsio::{self, FsError};
use crate::plugin::{PluginError, PluginIdentity, PluginUi};

/// An age identity: what opens a share file, a bundle or a SOPS data key.
pub type Identity = Box<dyn age::Identity + Send + Sync>;

/// The first line of an OpenSSH private key file.
const OPENSSH_PRIVATE_KEY: &[u8] = b"-----BEGIN OPENSSH PRIVATE KEY-----";

/// An identity source that could not be used. Never carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A line of an identity file is not an age identity. The line's text is
    /// never quoted: it may be a damaged key.
    #[error(
        "{source_name}: line {line} is not an age identity (AGE-SECRET-KEY-1…, or a plugin's AGE-PLUGIN-…)"
    )]
    BadLine {
        /// The file (or `SOPS_AGE_KEY`).
        source_name: String,
        /// 1-based line.
        line: usize,
    },
    /// An age identity that could not be loaded for X25519
    /// (`crate::x25519`).
    #[error("{source_name}: line {line}: {why}")]
    Unloadable {
        /// The file (or `SOPS_AGE_KEY`).
        source_name: String,
        /// 1-based line.
        line: usize,
        /// Why.
        why: crate::x25519::KeyError,
    },
    /// Neither an age identity file nor a supported SSH private key.
    #[error(
        "{source_name}: not an age identity file (AGE-SECRET-KEY-1…) or an OpenSSH ed25519 private key"
    )]
    Unrecognised {
        /// The file as given.
        source_name: String,
    },
    /// An SSH key type age cannot use here.
    #[error("{source_name}: this SSH key type is not supported; use an ssh-ed25519 key")]
    UnsupportedSshKey {
        /// The file as given.
        source_name: String,
    },
    /// An environment variable holds something that is not UTF-8.
    #[error("{variable} is not valid UTF-8")]
    NotUtf8 {
        /// The variable.
        variable: &'static str,
    },
    /// No identity anywhere.
    #[error("no age identity given")]
    NoIdentity,
    /// An identity file could not be read.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A plugin identity's program is not installed.
    #[error("{source_name}")]
    Plugin {
        /// The file (or `SOPS_AGE_KEY`) with the first identity of the plugin.
        source_name: String,
        /// Why.
        source: PluginError,
    },
}

impl IdentityError {
    /// Its class, for the exit code.
    pub fn class(&self) -> Class {
        match self {
            IdentityError::NoIdentity => Class::Decryption,
            IdentityError::Fs(e) => e.class(),
            IdentityError::Plugin { source, .. } => source.class(),
            _ => Class::Input,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            IdentityError::NoIdentity => Some(
                "pass -i IDENTITY_FILE, or set SOPS_AGE_KEY_FILE (a file) or SOPS_AGE_KEY (the key itself)",
            ),
            IdentityError::Fs(e) => e.hint(),
            IdentityError::Plugin { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// Identities as they are read, before the plugin ones are gathered per
/// plugin.
#[derive(Default)]
struct Found {
    /// Each with the public key it answers to, when that was asked for
    /// ([`Keyring`]).
    native: Vec<(Identity, Option<String>)>,
    /// Per plugin name, in the order first seen: the source of its first
    /// identity, and its identities.
    plugins: Vec<(String, String, Vec<age::plugin::Identity>)>,
}

impl Found {
    fn add_plugin(&mut self, source_name: &str, identity: age::plugin::Identity) {
        let name = identity.plugin().to_owned();
        match self.plugins.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, _, list)) => list.push(identity),
            None => self
                .plugins
                .push((name, source_name.to_owned(), vec![identity])),
        }
    }

    fn extend(&mut self, other: Found) {
        self.native.extend(other.native);
        for (_, source_name, list) in other.plugins {
            for identity in list {
                self.add_plugin(&source_name, identity);
            }
        }
    }

    /// Every identity: the others first, then one per plugin.
    fn finish<C>(self, callbacks: C) -> Result<Vec<Identity>, IdentityError>
    where
        C: age::Callbacks,
    {
        Ok(self.finish_keyed(callbacks)?.identities)
    }

    /// [`Found::finish`], with the public keys known. A plugin identity's is
    /// not: the plugin alone knows which recipient a token key answers to.
    fn finish_keyed<C>(self, callbacks: C) -> Result<Keyring, IdentityError>
    where
        C: age::Callbacks,
    {
        let mut keyring = Keyring::default();
        for (identity, public_key) in self.native {
            keyring.push(identity, public_key);
        }
        if self.plugins.is_empty() {
            return Ok(keyring);
        }
        let ui: std::sync::Arc<dyn PluginUi> = std::sync::Arc::new(callbacks);
        for (name, source_name, list) in self.plugins {
            let plugin = PluginIdentity::new(&name, &list, std::sync::Arc::clone(&ui)).map_err(
                |source| IdentityError::Plugin {
                    source_name,
                    source,
                },
            )?;
            keyring.push(Box::new(plugin), None);
        }
        Ok(keyring)
    }
}

/// Parses an identity file's bytes: an OpenSSH ed25519 private key, or age
/// identity lines. `source_name` names it in errors and prompts.
pub fn parse_identity_file<C>(
    source_name: &str,
    bytes: &[u8],
    callbacks: C,
) -> Result<Vec<Identity>, IdentityError>
where
    C: age::Callbacks + Send + Sync + 'static,
{
    read_identity_file(source_name, bytes, callbacks.clone(), false)?.finish(callbacks)
}

/// Reads one identity file; each identity with its public key if
/// `public_keys` (working it out costs an age identity a scalar
/// multiplication).
fn read_identity_file<C>(
    source_name: &str,
    bytes: &[u8],
    callbacks: C,
    public_keys: bool,
) -> Result<Found, IdentityError>
where
    C: age::Callbacks + Send + Sync + 'static,
{
    if bytes.starts_with(OPENSSH_PRIVATE_KEY) {
        let identity = ssh_identity(source_name, bytes, callbacks, public_keys)?;
        return Ok(Found {
            native: vec![identity],
            ..Found::default()
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| IdentityError::Unrecognised {
        source_name: source_name.to_owned(),
    })?;
    parse_age_lines(source_name, text, public_keys)
}

/// Parses age identity lines (one `AGE-SECRET-KEY-1…` or `AGE-PLUGIN-…`
/// per line, `#` comments and blank lines ignored), as sops reads
/// `SOPS_AGE_KEY`.
fn parse_age_lines(
    source_name: &str,
    text: &str,
    public_keys: bool,
) -> Result<Found, IdentityError> {
    let mut out = Found::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Ok(identity) = age::x25519::Identity::from_str(line) {
            let public_key = public_keys.then(|| identity.to_public().to_string());
            let identity = crate::x25519::Identity::from_line(line, &identity).map_err(|why| {
                IdentityError::Unloadable {
                    source_name: source_name.to_owned(),
                    line: index + 1,
                    why,
                }
            })?;
            out.native.push((Box::new(identity), public_key));
        } else if let Some(identity) = crate::plugin::parse_identity(line) {
            out.add_plugin(source_name, identity);
        } else {
            return Err(IdentityError::BadLine {
                source_name: source_name.to_owned(),
                line: index + 1,
            });
        }
    }
    if out.native.is_empty() && out.plugins.is_empty() {
        return Err(IdentityError::Unrecognised {
            source_name: source_name.to_owned(),
        });
    }
    Ok(out)
}

/// An OpenSSH ed25519 private key as an age identity, with its public key
/// if `public_keys` (read from the key file; a passphrase-protected key
/// stores it in the clear). A passphrase-protected key asks `callbacks` for
/// its passphrase when it is first needed.
fn ssh_identity<C>(
    source_name: &str,
    bytes: &[u8],
    callbacks: C,
    public_keys: bool,
) -> Result<(Identity, Option<String>), IdentityError>
where
    C: age::Callbacks + Send + Sync + 'static,
{
    match age::ssh::Identity::from_buffer(BufReader::new(bytes), Some(source_name.to_owned())) {
        Ok(age::ssh::Identity::Unsupported(_)) => Err(IdentityError::UnsupportedSshKey {
            source_name: source_name.to_owned(),
        }),
        Ok(identity) => {
            let public_key = public_keys
                .then(|| age::ssh::Recipient::try_from(identity.clone()).ok())
                .flatten()
                .map(|recipient| recipient.to_string());
            Ok((Box::new(identity.with_callbacks(callbacks)), public_key))
        }
        Err(_) => Err(IdentityError::Unrecognised {
            source_name: source_name.to_owned(),
        }),
    }
}

/// Reads and parses identity files named on the command line (`-i`).
pub fn load_files<C>(paths: &[PathBuf], callbacks: C) -> Result<Vec<Identity>, IdentityError>
where
    C: age::Callbacks + Clone + Send + Sync + 'static,
{
    let mut out = Found::default();
    for path in paths {
        out.extend(load_file(path, callbacks.clone(), false)?);
    }
    out.finish(callbacks)
}

fn load_file<C>(path: &Path, callbacks: C, public_keys: bool) -> Result<Found, IdentityError>
where
    C: age::Callbacks + Send + Sync + 'static,
{
    let bytes = Zeroizing::new(fsio::read(path)?);
    read_identity_file(&path.display().to_string(), &bytes, callbacks, public_keys)
}

/// Identities, each with the public key it answers to where that is known:
/// `age1…` for an age identity, `ssh-ed25519 AAAA…` for an OpenSSH key, as
/// manifests record custodians' keys (a plugin identity's is not known).
/// With it a quorum tries on each file first the identity the manifest
/// names for it ([`crate::shares::open_shares`]) instead of every identity
/// on every file. It derefs to the identities, in the order
/// [`load_files`] gives them.
#[derive(Default)]
pub struct Keyring {
    identities: Vec<Identity>,
    public_keys: Vec<Option<String>>,
}

impl Keyring {
    /// Reads and parses identity files named on the command line (`-i`).
    pub fn load_files<C>(paths: &[PathBuf], callbacks: C) -> Result<Self, IdentityError>
    where
        C: age::Callbacks + Clone + Send + Sync + 'static,
    {
        let mut out = Found::default();
        for path in paths {
            out.extend(load_file(path, callbacks.clone(), true)?);
        }
        out.finish_keyed(callbacks)
    }

    /// [`parse_identity_file`], each identity with its public key.
    pub fn parse_identity_file<C>(
        source_name: &str,
        bytes: &[u8],
        callbacks: C,
    ) -> Result<Self, IdentityError>
    where
        C: age::Callbacks + Send + Sync + 'static,
    {
        read_identity_file(source_name, bytes, callbacks.clone(), true)?.finish_keyed(callbacks)
    }

    /// Adds an identity, and the public key it answers to if known.
    pub fn push(&mut self, identity: Identity, public_key: Option<String>) {
        self.identities.push(identity);
        self.public_keys.push(public_key);
    }

    /// The index of the first identity that answers to `public_key`.
    pub fn position(&self, public_key: &str) -> Option<usize> {
        self.public_keys
            .iter()
            .position(|k| k.as_deref() == Some(public_key))
    }

    /// The public key identity `index` answers to, where that is known.
    pub fn public_key(&self, index: usize) -> Option<&str> {
        self.public_keys.get(index)?.as_deref()
    }
}

/// Identities whose public keys are not known (rebuilt ones, plugins).
impl Extend<Identity> for Keyring {
    fn extend<I: IntoIterator<Item = Identity>>(&mut self, identities: I) {
        for identity in identities {
            self.push(identity, None);
        }
    }
}

impl std::ops::Deref for Keyring {
    type Target = [Identity];

    fn deref(&self) -> &[Identity] {
        &self.identities
    }
}

/// The environment sops reads its keys from, as a lookup (the process
/// environment in the tool, a map in tests).
pub trait Environment {
    /// The value of `name`, if set.
    fn var(&self, name: &str) -> Option<OsString>;
}

/// The process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

/// Every identity sops would use to open a file: the `-i` files first, then
/// `SOPS_AGE_KEY_FILE`, `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, the default
/// `keys.txt` and `~/.ssh/id_ed25519` (these two only when present), then
/// `SOPS_AGE_KEY`. Files named explicitly (by flag or variable) must exist.
/// Each with the public key it answers to, where that is known: a rewrite
/// keeps an entry of a file only where it knows the identity that opened
/// it is the entry's own recipient ([`crate::sops::SealedFile::update_keys`]).
pub fn sops_identities<C>(
    explicit: &[PathBuf],
    env: &dyn Environment,
    callbacks: C,
) -> Result<Keyring, IdentityError>
where
    C: age::Callbacks + Clone + Send + Sync + 'static,
{
    let non_empty = |name| env.var(name).filter(|v| !v.is_empty());
    let mut files: Vec<(PathBuf, bool)> = explicit.iter().map(|f| (f.clone(), true)).collect();
    for variable in ["SOPS_AGE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"] {
        if let Some(file) = non_empty(variable) {
            files.push((PathBuf::from(file), true));
        }
    }
    let config_home = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = config_home {
        files.push((dir.join("sops/age/keys.txt"), false));
    }
    if let Some(home) = non_empty("HOME") {
        files.push((PathBuf::from(home).join(".ssh/id_ed25519"), false));
    }
    let mut out = Found::default();
    for (file, required) in &files {
        if !required && !file.is_file() {
            continue;
        }
        out.extend(load_file(file, callbacks.clone(), true)?);
    }
    if let Some(key) = env.var("SOPS_AGE_KEY") {
        // sops reads the key from the environment; so do we, but the copy
        // made here is wiped. The environment itself is outside our control.
        let key = Zeroizing::new(key.into_string().map_err(|_| IdentityError::NotUtf8 {
            variable: "SOPS_AGE_KEY",
        })?);
        if !key.trim().is_empty() {
            out.extend(parse_age_lines("SOPS_AGE_KEY", &key, true)?);
        }
    }
    if out.native.is_empty() && out.plugins.is_empty() {
        return Err(IdentityError::NoIdentity);
    }
    out.finish_keyed(callbacks)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Env(HashMap<&'static str, OsString>);

    impl Environment for Env {
        fn var(&self, name: &str) -> Option<OsString> {
            self.0.get(name).cloned()
        }
    }

    fn key_text() -> String {
        use secrecy::ExposeSecret;
        age::x25519::Identity::generate()
            .to_string()
            .expose_secret()
            .to_owned()
    }

    #[test]
    fn a_bad_line_is_named_and_never_quoted() {
        let text = format!("# a comment\n\n{}\nAGE-SECRET-KEY-1NOTAKEY\n", key_text());
        let err = parse_identity_file("k.txt", text.as_bytes(), age::NoCallbacks).err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            message,
            "k.txt: line 4 is not an age identity (AGE-SECRET-KEY-1…, or a plugin's AGE-PLUGIN-…)"
        );
        assert!(parse_identity_file("e", b"# only comments\n", age::NoCallbacks).is_err());
    }

    #[test]
    fn a_keyring_knows_the_public_key_of_each_identity_as_manifests_record_it() {
        let dir = tempfile::tempdir().unwrap();
        let age_key = age::x25519::Identity::generate();
        let age_file = dir.path().join("age.txt");
        std::fs::write(
            &age_file,
            format!("# a comment\n{}\n", {
                use secrecy::ExposeSecret;
                age_key.to_string().expose_secret().to_owned()
            }),
        )
        .unwrap();
        let pair = ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]);
        let ssh = ssh_key::PrivateKey::from(pair);
        let ssh_file = dir.path().join("id_ed25519");
        std::fs::write(&ssh_file, ssh.to_openssh(ssh_key::LineEnding::LF).unwrap()).unwrap();
        let keyring =
            Keyring::load_files(&[age_file.clone(), ssh_file.clone()], age::NoCallbacks).unwrap();
        assert_eq!(keyring.len(), 2);
        // As a custodians file and shareset.json describe the custodians.
        let custodians = crate::shares::Custodians::parse_with(
            &format!(
                "[[custodian]]\nname = \"a\"\nage = \"{}\"\n[[custodian]]\nname = \"b\"\nssh = \"{}\"\n",
                age_key.to_public(),
                ssh.public_key().to_openssh().unwrap()
            ),
            crate::shares::SharedKeys::Refuse,
        )
        .unwrap();
        let described: Vec<String> = custodians
            .iter()
            .map(|c| c.key.describe().public_key().unwrap().to_owned())
            .collect();
        assert_eq!(keyring.position(&described[0]), Some(0));
        assert_eq!(keyring.position(&described[1]), Some(1));
        assert_eq!(keyring.position("age1nobody"), None);
        // The plain loader reads the same identities.
        assert_eq!(
            load_files(&[age_file, ssh_file], age::NoCallbacks)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn sops_sources_are_read_in_order_and_explicit_files_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.txt");
        std::fs::write(&file, key_text()).unwrap();
        let env = Env(HashMap::from([
            ("SOPS_AGE_KEY_FILE", file.clone().into_os_string()),
            ("SOPS_AGE_KEY", OsString::from(key_text())),
            ("HOME", dir.path().as_os_str().to_owned()),
        ]));
        let found = sops_identities(std::slice::from_ref(&file), &env, age::NoCallbacks).unwrap();
        assert_eq!(found.len(), 3);

        let missing = Env(HashMap::from([(
            "SOPS_AGE_KEY_FILE",
            OsString::from(dir.path().join("absent")),
        )]));
        assert!(sops_identities(&[], &missing, age::NoCallbacks).is_err());
        let nothing = Env(HashMap::new());
        assert!(matches!(
            sops_identities(&[], &nothing, age::NoCallbacks),
            Err(IdentityError::NoIdentity)
        ));
    }
}
