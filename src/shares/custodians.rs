//! The custodians file: who receives a share, and how their share is encrypted.
//!
//! ```toml
//! [[custodian]]
//! name = "alice"
//! age = "age1…"
//!
//! [[custodian]]
//! name = "bob"
//! ssh = "ssh-ed25519 AAAA… bob@laptop"
//!
//! [[custodian]]
//! name = "carol"
//! passphrase = true   # prompted twice at the ceremony; age scrypt
//!
//! [[custodian]]
//! name = "dave"
//! age = "age1yubikey1…"   # a plugin recipient: the key is on a token
//! ```
//!
//! The format is documented in `docs/formats/custodians.md`. Every error names
//! the line it found, so an operator can fix the file before the ceremony
//! rather than during it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::str::FromStr;

use serde::Deserialize;

/// The secrets a `[threshold]` table may name (the root's three).
const KNOWN_THRESHOLDS: [&str; 3] = ["bootstrap", "unseal", "signing"];

/// A custodian's name. It is also the stem of their share file name, so it is
/// restricted to characters that are safe in a path on every file system.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustodianName(String);

impl CustodianName {
    /// Longest accepted name.
    pub const MAX_LEN: usize = 64;

    /// Validates a name: 1–64 characters of `A-Z a-z 0-9 . _ -`, starting with
    /// a letter or digit (so it can never be `.`, `..` or a hidden file).
    pub fn new(name: &str) -> Result<Self, CustodianNameError> {
        let first_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if name.is_empty() || name.len() > Self::MAX_LEN || !first_ok || !rest_ok {
            return Err(CustodianNameError {
                shown: name.chars().take(80).collect(),
            });
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A custodian name that is not allowed (it becomes a file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "custodian name {shown:?} is not allowed: use 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
)]
pub struct CustodianNameError {
    /// The name, cut to 80 characters.
    pub shown: String,
}

impl std::fmt::Display for CustodianName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a custodian's share is encrypted. All are stock age recipient
/// types, so `age -d` opens the share file (for a plugin recipient, with the
/// plugin installed).
#[derive(Clone)]
pub enum CustodianKey {
    /// An age X25519 recipient (`age1…`).
    Age(age::x25519::Recipient),
    /// An OpenSSH ed25519 public key; the custodian decrypts with their
    /// private key (`age -d -i ~/.ssh/id_ed25519`).
    SshEd25519(age::ssh::Recipient),
    /// An age plugin recipient (`age1NAME1…`, e.g. `age1yubikey1…`): the key
    /// is on a hardware token, used through the program `age-plugin-NAME`
    /// (`crate::plugin`).
    Plugin(age::plugin::Recipient),
    /// A passphrase typed by the custodian at the ceremony (age scrypt).
    Passphrase,
}

impl CustodianKey {
    /// The kind, as reports name it: `age`, `ssh-ed25519`, `passphrase`, or
    /// for a plugin recipient its program, `age-plugin-NAME`.
    pub fn kind(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::Age(_) => "age".into(),
            Self::SshEd25519(_) => "ssh-ed25519".into(),
            Self::Plugin(r) => crate::plugin::binary_name(r.plugin()).into(),
            Self::Passphrase => "passphrase".into(),
        }
    }

    /// The public description kept in `shareset.json` and `root.json`.
    pub fn describe(&self) -> RecipientDescription {
        match self {
            Self::Age(r) => RecipientDescription::Age {
                recipient: r.to_string(),
            },
            Self::SshEd25519(r) => RecipientDescription::SshEd25519 {
                public_key: r.to_string(),
            },
            Self::Plugin(r) => RecipientDescription::Plugin {
                plugin: r.plugin().to_owned(),
                recipient: r.to_string(),
            },
            Self::Passphrase => RecipientDescription::Passphrase,
        }
    }
}

impl std::fmt::Debug for CustodianKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Public keys only; nothing here is secret, but keep it short.
        match self {
            Self::Age(r) => write!(f, "Age({r})"),
            Self::SshEd25519(r) => write!(f, "SshEd25519({r})"),
            Self::Plugin(r) => write!(f, "Plugin({r})"),
            Self::Passphrase => f.write_str("Passphrase"),
        }
    }
}

/// The public form of a custodian's key, as recorded in manifests.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RecipientDescription {
    /// An age X25519 recipient.
    Age {
        /// The `age1…` string.
        recipient: String,
    },
    /// An OpenSSH ed25519 public key.
    SshEd25519 {
        /// `ssh-ed25519 AAAA…` (without comment).
        public_key: String,
    },
    /// An age plugin recipient (a key on a hardware token).
    Plugin {
        /// The plugin's name (`yubikey`): its program is `age-plugin-NAME`.
        plugin: String,
        /// The `age1NAME1…` string.
        recipient: String,
    },
    /// An age scrypt passphrase.
    Passphrase,
}

impl RecipientDescription {
    /// The kind, as reports name it: `age`, `ssh-ed25519`, `passphrase`, or
    /// `age-plugin-NAME`.
    pub fn kind(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::Age { .. } => "age".into(),
            Self::SshEd25519 { .. } => "ssh-ed25519".into(),
            Self::Plugin { plugin, .. } => crate::plugin::binary_name(plugin).into(),
            Self::Passphrase => "passphrase".into(),
        }
    }

    /// The public key the custodian's identity answers to, as
    /// [`crate::identity::Keyring`] knows identities by it: `age1…`,
    /// `ssh-ed25519 AAAA…`, a plugin's `age1NAME1…`; none for a passphrase.
    pub fn public_key(&self) -> Option<&str> {
        match self {
            Self::Age { recipient } | Self::Plugin { recipient, .. } => Some(recipient),
            Self::SshEd25519 { public_key } => Some(public_key),
            Self::Passphrase => None,
        }
    }
}

/// One custodian: a name and a key.
#[derive(Clone, Debug)]
pub struct Custodian {
    /// Their unique name.
    pub name: CustodianName,
    /// How their share is encrypted.
    pub key: CustodianKey,
    /// The line of the `[[custodian]]` header in the custodians file.
    pub line: usize,
}

/// A parsed and validated custodians file.
#[derive(Clone, Debug)]
pub struct Custodians {
    custodians: Vec<Custodian>,
    thresholds: BTreeMap<String, usize>,
}

/// A custodians file that could not be used. `line` is 1-based.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct CustodiansError {
    /// Where the problem is (1-based; 1 when the file as a whole is wrong).
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    custodian: Vec<toml::Spanned<RawCustodian>>,
    /// Optional per-secret thresholds, e.g. `[threshold] unseal = 3`.
    #[serde(default)]
    threshold: BTreeMap<String, toml::Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustodian {
    name: toml::Spanned<String>,
    age: Option<toml::Spanned<String>>,
    ssh: Option<toml::Spanned<String>>,
    passphrase: Option<toml::Spanned<bool>>,
}

/// Whether one key may hold the shares of several custodians.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedKeys {
    /// No (the normal case): one person would hold several shares, and the
    /// threshold would mean less than it says.
    Refuse,
    /// Yes, because the operator said so out loud
    /// (`--allow-shared-custodian-key`, recorded in the transcript).
    Allow,
}

impl Custodians {
    /// Parses the text of a custodians file; one key for two custodians is
    /// refused.
    pub fn parse(text: &str) -> Result<Self, CustodiansError> {
        Self::parse_with(text, SharedKeys::Refuse)
    }

    /// Parses the text of a custodians file.
    pub fn parse_with(text: &str, shared: SharedKeys) -> Result<Self, CustodiansError> {
        // A private key pasted anywhere (a name, a passphrase field, a
        // threshold key) is refused by line before parsing: every later
        // error may quote what it found, and none may quote a key.
        if let Some(index) = text.lines().position(crate::sops::recipient::looks_private) {
            return Err(CustodiansError {
                line: index + 1,
                message: "this line holds a PRIVATE key: a custodians file lists public keys only (age-keygen -y, or the .pub file); remove it, and treat the pasted key as exposed".into(),
            });
        }
        let at = |span: Range<usize>| line_of(text, span.start);
        let raw: RawFile = toml::from_str(text).map_err(|e| CustodiansError {
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: format!("{} (see docs/formats/custodians.md)", e.message()),
        })?;
        if raw.custodian.is_empty() {
            return Err(CustodiansError {
                line: 1,
                message: "no [[custodian]] entries: list at least two custodians".into(),
            });
        }

        let mut custodians = Vec::with_capacity(raw.custodian.len());
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for entry in raw.custodian {
            let header_line = at(entry.span());
            let raw = entry.into_inner();
            let name_line = at(raw.name.span());
            let name =
                CustodianName::new(raw.name.get_ref()).map_err(|message| CustodiansError {
                    line: name_line,
                    message: message.to_string(),
                })?;
            // Names become file names; compare case-insensitively so two
            // custodians cannot collide on a case-insensitive file system.
            if let Some(first) = seen.insert(name.as_str().to_ascii_lowercase(), name_line) {
                return Err(CustodiansError {
                    line: name_line,
                    message: format!(
                        "custodian name {:?} is already used on line {first} (names are compared ignoring case): give each custodian a unique name",
                        name.as_str()
                    ),
                });
            }
            let key = match (raw.age, raw.ssh, raw.passphrase) {
                (Some(age), None, None) => {
                    parse_age(age.get_ref()).map_err(|message| CustodiansError {
                        line: at(age.span()),
                        message,
                    })?
                }
                (None, Some(ssh), None) => {
                    parse_ssh(ssh.get_ref()).map_err(|message| CustodiansError {
                        line: at(ssh.span()),
                        message,
                    })?
                }
                (None, None, Some(flag)) if *flag.get_ref() => CustodianKey::Passphrase,
                (None, None, Some(flag)) => {
                    return Err(CustodiansError {
                        line: at(flag.span()),
                        message: format!(
                            "custodian {:?} has passphrase = false: set passphrase = true, or give an age or ssh key instead",
                            name.as_str()
                        ),
                    });
                }
                (None, None, None) => {
                    return Err(CustodiansError {
                        line: header_line,
                        message: format!(
                            "custodian {:?} has no key: add exactly one of age = \"age1…\" (an age or plugin recipient), ssh = \"ssh-ed25519 …\" or passphrase = true",
                            name.as_str()
                        ),
                    });
                }
                _ => {
                    return Err(CustodiansError {
                        line: header_line,
                        message: format!(
                            "custodian {:?} has more than one key: keep exactly one of age, ssh or passphrase",
                            name.as_str()
                        ),
                    });
                }
            };
            custodians.push(Custodian {
                name,
                key,
                line: header_line,
            });
        }

        if shared == SharedKeys::Refuse {
            check_distinct_keys(&custodians)?;
        }

        let mut thresholds = BTreeMap::new();
        for (secret, value) in raw.threshold {
            let line = at(value.span());
            if !KNOWN_THRESHOLDS.contains(&secret.as_str()) {
                return Err(CustodiansError {
                    line,
                    message: format!(
                        "unknown threshold {secret:?}: the secrets are {}",
                        KNOWN_THRESHOLDS.join(", ")
                    ),
                });
            }
            let k = *value.get_ref();
            if k < 2 || k > custodians.len() as i64 {
                return Err(CustodiansError {
                    line,
                    message: format!(
                        "threshold for {secret:?} is {k}, but it must be between 2 and the number of custodians ({})",
                        custodians.len()
                    ),
                });
            }
            thresholds.insert(secret, k as usize);
        }

        Ok(Self {
            custodians,
            thresholds,
        })
    }

    /// The custodians in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Custodian> {
        self.custodians.iter()
    }

    /// How many custodians there are.
    pub fn len(&self) -> usize {
        self.custodians.len()
    }

    /// Whether the list is empty (never true for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.custodians.is_empty()
    }

    /// Fails, naming the program, unless every plugin custodian's plugin
    /// program is installed (on `PATH`): checked before a split asks for
    /// anything, so that it does not fail halfway.
    pub fn require_plugins(&self) -> Result<(), crate::plugin::PluginError> {
        for custodian in &self.custodians {
            if let CustodianKey::Plugin(recipient) = &custodian.key {
                crate::plugin::require_installed(recipient.plugin())?;
            }
        }
        Ok(())
    }

    /// The threshold the file sets for the named secret, if any.
    pub fn threshold_for(&self, secret: &str) -> Option<usize> {
        self.thresholds.get(secret).copied()
    }

    /// The custodians a share set was made for, from their public entries:
    /// a rotation that keeps the custodians encrypts to the same keys.
    pub fn from_entries(
        entries: &[crate::shares::shareset::CustodianEntry],
    ) -> Result<Self, CustodiansError> {
        let mut custodians = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let bad = |message: String| CustodiansError {
                line: i + 1,
                message: format!("custodian {:?} in the manifest: {message}", entry.name),
            };
            let name = CustodianName::new(&entry.name).map_err(|e| bad(e.to_string()))?;
            let key = match &entry.recipient {
                RecipientDescription::Age { recipient } => {
                    let recipient = recipient
                        .parse()
                        .map_err(|_| bad("not an age recipient".into()))?;
                    crate::x25519::check_age(&recipient).map_err(|e| bad(e.to_string()))?;
                    CustodianKey::Age(recipient)
                }
                RecipientDescription::SshEd25519 { public_key } => {
                    let recipient = public_key
                        .parse()
                        .map_err(|_| bad("not an ssh-ed25519 public key".into()))?;
                    crate::x25519::check_ssh(&recipient).map_err(|e| bad(e.to_string()))?;
                    CustodianKey::SshEd25519(recipient)
                }
                RecipientDescription::Plugin { plugin, recipient } => {
                    let parsed = crate::plugin::parse_recipient(recipient)
                        .filter(|r| r.to_string() == *recipient)
                        .ok_or_else(|| bad("not an age plugin recipient".into()))?;
                    if parsed.plugin() != plugin {
                        return Err(bad(format!(
                            "the recipient is for plugin {:?}, the manifest says {plugin:?}",
                            parsed.plugin()
                        )));
                    }
                    CustodianKey::Plugin(parsed)
                }
                RecipientDescription::Passphrase => CustodianKey::Passphrase,
            };
            custodians.push(Custodian {
                name,
                key,
                line: i + 1,
            });
        }
        Ok(Self::from_list(custodians))
    }

    /// Builds a list directly (for carrying custodians over from a manifest).
    pub fn from_list(custodians: Vec<Custodian>) -> Self {
        Self {
            custodians,
            thresholds: BTreeMap::new(),
        }
    }
}

/// The same public key for two custodians means one person holds both
/// shares. Keys are compared as keys: an ssh key's comment does not count.
fn check_distinct_keys(custodians: &[Custodian]) -> Result<(), CustodiansError> {
    let identity = |key: &CustodianKey| -> Option<String> {
        match key {
            CustodianKey::Age(r) => Some(r.to_string()),
            // Bech32 is case-insensitive.
            CustodianKey::Plugin(r) => Some(r.to_string().to_ascii_lowercase()),
            CustodianKey::SshEd25519(r) => {
                let text = r.to_string();
                let mut words = text.split_whitespace();
                Some(format!(
                    "{} {}",
                    words.next().unwrap_or_default(),
                    words.next().unwrap_or_default()
                ))
            }
            CustodianKey::Passphrase => None,
        }
    };
    let mut seen: Vec<(String, &Custodian)> = Vec::new();
    for custodian in custodians {
        let Some(key) = identity(&custodian.key) else {
            continue;
        };
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(CustodiansError {
                line: custodian.line,
                message: format!(
                    "custodians {:?} (line {}) and {:?} have the same key: one person would hold two shares. Give each custodian their own key, or pass --allow-shared-custodian-key if this is intended (recorded)",
                    first.name.as_str(),
                    first.line,
                    custodian.name.as_str()
                ),
            });
        }
        seen.push((key, custodian));
    }
    Ok(())
}

/// A private key pasted where a public key belongs: say so and quote
/// nothing of it (the message goes to the terminal and the transcript).
fn refuse_private_key(text: &str) -> Result<(), String> {
    let t = text.trim_start();
    if t.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") || t.starts_with("-----BEGIN") {
        return Err(
            "this is a PRIVATE key: put the custodian's public key here (age-keygen -y, or the .pub file), and treat the pasted key as exposed".into(),
        );
    }
    Ok(())
}

/// An age X25519 recipient, or any plugin recipient by its Bech32 form
/// (`age1NAME1…`: the plugin checks the rest when it encrypts).
fn parse_age(text: &str) -> Result<CustodianKey, String> {
    refuse_private_key(text)?;
    if let Ok(recipient) = age::x25519::Recipient::from_str(text.trim()) {
        crate::x25519::check_age(&recipient)
            .map_err(|e| format!("{:?} cannot be a custodian's key: {e}", abbreviate(text)))?;
        return Ok(CustodianKey::Age(recipient));
    }
    if let Some(recipient) = crate::plugin::parse_recipient(text) {
        return Ok(CustodianKey::Plugin(recipient));
    }
    Err(format!(
        "{:?} is not an age recipient: expected age1… as printed by age-keygen -y, or a plugin recipient age1NAME1… (age-plugin-yubikey --list)",
        abbreviate(text)
    ))
}

fn parse_ssh(text: &str) -> Result<CustodianKey, String> {
    refuse_private_key(text)?;
    let text = text.trim();
    if !text.starts_with("ssh-ed25519 ") {
        return Err(format!(
            "{:?} is not an ssh-ed25519 public key: only ssh-ed25519 keys are accepted (copy the line from ~/.ssh/id_ed25519.pub)",
            abbreviate(text)
        ));
    }
    match age::ssh::Recipient::from_str(text) {
        Ok(r @ age::ssh::Recipient::SshEd25519(..)) => {
            crate::x25519::check_ssh(&r)
                .map_err(|e| format!("{:?} cannot be a custodian's key: {e}", abbreviate(text)))?;
            Ok(CustodianKey::SshEd25519(r))
        }
        _ => Err(format!(
            "{:?} is not a valid ssh-ed25519 public key: copy the whole line from ~/.ssh/id_ed25519.pub",
            abbreviate(text)
        )),
    }
}

/// Public keys in messages are cut short: the start is enough to find them.
fn abbreviate(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(32) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The 1-based line that contains byte `offset` of `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: &str = "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q";
    const SSH: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJCTXvRSkwKmhymOp+vAyVSkp2WgYNjf1ZdPFew1pVcN bob@host";

    #[test]
    fn one_key_for_two_custodians_is_refused_unless_allowed() {
        let twice = format!(
            "[[custodian]]\nname = \"alice\"\nage = \"{AGE}\"\n\n[[custodian]]\nname = \"bob\"\nage = \"{AGE}\"\n"
        );
        let e = err(&twice);
        assert_eq!(e.line, 5);
        assert!(e.message.contains("\"alice\" (line 1) and \"bob\""), "{e}");
        assert!(Custodians::parse_with(&twice, SharedKeys::Allow).is_ok());
        let other_comment = SSH.replace("bob@host", "laptop");
        let ssh_twice = format!(
            "[[custodian]]\nname = \"a\"\nssh = \"{SSH}\"\n[[custodian]]\nname = \"b\"\nssh = \"{other_comment}\"\n"
        );
        assert!(err(&ssh_twice).message.contains("same key"));
        let passphrases = "[[custodian]]\nname = \"a\"\npassphrase = true\n[[custodian]]\nname = \"b\"\npassphrase = true\n";
        assert!(Custodians::parse(passphrases).is_ok());
    }

    fn err(text: &str) -> CustodiansError {
        Custodians::parse(text).unwrap_err()
    }

    #[test]
    fn parses_all_three_kinds() {
        let text = format!(
            "[[custodian]]\nname = \"alice\"\nage = \"{AGE}\"\n\n[[custodian]]\nname = \"bob\"\nssh = \"{SSH}\"\n\n[[custodian]]\nname = \"carol\"\npassphrase = true\n"
        );
        let parsed = Custodians::parse(&text).unwrap();
        let kinds: Vec<_> = parsed.iter().map(|c| c.key.describe()).collect();
        assert!(matches!(kinds[0], RecipientDescription::Age { .. }));
        assert!(matches!(kinds[1], RecipientDescription::SshEd25519 { .. }));
        assert_eq!(kinds[2], RecipientDescription::Passphrase);
        assert_eq!(
            parsed.iter().map(|c| c.line).collect::<Vec<_>>(),
            vec![1, 5, 9]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let two_keys = format!(
            "[[custodian]]\nname = \"a\"\nage = \"{AGE}\"\n\n[[custodian]]\nname = \"b\"\nage = \"{AGE}\"\npassphrase = true\n"
        );
        let e = err(&two_keys);
        assert_eq!(e.line, 5);
        assert!(e.message.contains("more than one key"), "{e}");

        let bad_age = "[[custodian]]\nname = \"a\"\nage = \"age1nope\"\n";
        let e = err(bad_age);
        assert_eq!(e.line, 3);
        assert!(e.message.contains("is not an age recipient"), "{e}");

        let rsa = "[[custodian]]\nname = \"a\"\n\nssh = \"ssh-rsa AAAAB3NzaC1yc2E\"\n";
        let e = err(rsa);
        assert_eq!(e.line, 4);
        assert!(e.message.contains("only ssh-ed25519"), "{e}");

        let dup = format!(
            "[[custodian]]\nname = \"Ann\"\nage = \"{AGE}\"\n[[custodian]]\nname = \"ann\"\npassphrase = true\n"
        );
        let e = err(&dup);
        assert_eq!(e.line, 5);
        assert!(e.message.contains("line 2"), "{e}");

        let syntax = "[[custodian]]\nname = \"a\"\nage = age1\n";
        assert_eq!(err(syntax).line, 3);

        let unknown = "[[custodian]]\nname = \"a\"\npgp = \"x\"\n";
        let e = err(unknown);
        assert_eq!(e.line, 3, "{e}");

        let no_key = "\n[[custodian]]\nname = \"a\"\n";
        let e = err(no_key);
        assert_eq!(e.line, 2);
        assert!(e.message.contains("has no key"));

        assert!(err("").message.contains("no [[custodian]]"));
        assert!(
            err("[[custodian]]\nname = \"../x\"\npassphrase = true\n")
                .message
                .contains("not allowed")
        );
    }

    #[test]
    fn a_pasted_private_key_is_refused_and_not_quoted() {
        let key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
        let e = err(&format!("[[custodian]]\nname = \"a\"\nage = \"{key}\"\n"));
        assert_eq!(e.line, 3);
        assert!(e.message.contains("PRIVATE key"), "{e}");
        assert!(!e.message.contains("QQQQ"), "{e}");
        let e = err(
            "[[custodian]]\nname = \"a\"\nssh = \"-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA\"\n",
        );
        assert!(
            e.message.contains("PRIVATE key") && !e.message.contains("b3Bl"),
            "{e}"
        );
        let e = err(&format!(
            "[threshold]\nunsael = 2\n[[custodian]]\nname = \"a\"\nage = \"{AGE}\"\n[[custodian]]\nname = \"b\"\npassphrase = true\n"
        ));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unknown threshold \"unsael\""), "{e}");
    }

    #[test]
    fn plugin_recipients_are_custodian_keys_recorded_with_their_plugin() {
        use bech32::ToBase32;
        let yubikey = bech32::encode(
            "age1yubikey",
            [3u8; 33].to_base32(),
            bech32::Variant::Bech32,
        )
        .unwrap();
        let text = format!(
            "[[custodian]]\nname = \"alice\"\nage = \"{yubikey}\"\n[[custodian]]\nname = \"bob\"\nage = \"{AGE}\"\n"
        );
        let parsed = Custodians::parse(&text).unwrap();
        let alice = parsed.iter().next().unwrap();
        assert_eq!(alice.key.kind(), "age-plugin-yubikey");
        let described = alice.key.describe();
        assert_eq!(
            described,
            RecipientDescription::Plugin {
                plugin: "yubikey".into(),
                recipient: yubikey.clone()
            }
        );
        assert_eq!(
            serde_json::to_string(&described).unwrap(),
            format!(r#"{{"type":"plugin","plugin":"yubikey","recipient":"{yubikey}"}}"#)
        );
        // The other kinds keep their form byte for byte.
        assert_eq!(
            serde_json::to_string(&parsed.iter().nth(1).unwrap().key.describe()).unwrap(),
            format!(r#"{{"type":"age","recipient":"{AGE}"}}"#)
        );

        // Back from the manifest: the plugin name must be the recipient's.
        let entry = |recipient: RecipientDescription| crate::shares::CustodianEntry {
            name: "alice".into(),
            recipient,
            x: 1,
            commitment: String::new(),
            file: "alice.share.age".into(),
        };
        let back = Custodians::from_entries(&[entry(described.clone())]).unwrap();
        assert_eq!(back.iter().next().unwrap().key.describe(), described);
        let lying = RecipientDescription::Plugin {
            plugin: "tpm".into(),
            recipient: yubikey.clone(),
        };
        assert!(Custodians::from_entries(&[entry(lying)]).is_err());
        // A key of small order, which the custodians file would have
        // refused, is refused from a share set too.
        let zero = bech32::encode("age", [0u8; 32].to_base32(), bech32::Variant::Bech32).unwrap();
        let weak =
            Custodians::from_entries(&[entry(RecipientDescription::Age { recipient: zero })]);
        assert!(weak.unwrap_err().message.contains("small order"));

        // The same token twice (whatever the case) is one person.
        let twice = format!(
            "[[custodian]]\nname = \"a\"\nage = \"{yubikey}\"\n[[custodian]]\nname = \"b\"\nage = \"{}\"\n",
            yubikey.to_uppercase()
        );
        assert!(err(&twice).message.contains("same key"), "{}", err(&twice));

        // Not Bech32, or the Go age's native post-quantum type: refused.
        let mut damaged = yubikey.clone();
        damaged.replace_range(12..13, if &yubikey[12..13] == "q" { "p" } else { "q" });
        let pq = bech32::encode("age1pq", [3u8; 33].to_base32(), bech32::Variant::Bech32).unwrap();
        for bad in [damaged, pq] {
            let e = err(&format!("[[custodian]]\nname = \"a\"\nage = \"{bad}\"\n"));
            assert!(e.message.contains("is not an age recipient"), "{e}");
        }
    }

    #[test]
    fn thresholds_are_checked() {
        let text = format!(
            "[threshold]\nunseal = 3\n[[custodian]]\nname = \"a\"\nage = \"{AGE}\"\n[[custodian]]\nname = \"b\"\npassphrase = true\n"
        );
        let e = err(&text);
        assert_eq!(e.line, 2);
        let ok = text.replace("unseal = 3", "unseal = 2");
        assert_eq!(
            Custodians::parse(&ok).unwrap().threshold_for("unseal"),
            Some(2)
        );
    }
}
