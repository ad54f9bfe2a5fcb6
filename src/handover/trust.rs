//! TRUSTFILE: the public keys whose signatures on a receipt are accepted.
//!
//! One key per line; blank lines and lines starting with `#` are ignored.
//! Fields are separated by spaces or tabs. A line starts with the runtime
//! authorities the key may sign receipts for, then its scheme:
//!
//! ```text
//! authorities=openbao-prod[,openbao-dr] <scheme> …
//! ed25519  <base64 of the 32-byte public key> [name]
//! sshsig   <allowed_signers line: principals [options] ssh-ed25519 <key> [comment]>
//! minisign <base64 public key: the second line of minisign.pub> [name]
//! transit  <transit key name> v<N> [ed25519] <base64 of the 32-byte public key>
//! transit  <transit key name> v<N> ecdsa-p256|ecdsa-p384 <base64 DER SubjectPublicKeyInfo>
//!          [marshaling=asn1|jws] [hash=sha2-256|sha2-384|sha2-512]
//! ```
//!
//! A key whose line names no authority verifies signatures but vouches for
//! no handover: `handover verify` requires the challenge's authority to be
//! named, so a key trusted for one authority cannot sign for another.
//!
//! `sshsig` lines follow `ssh-keygen(1)` ALLOWED SIGNERS; the options
//! ceremony understands are `namespaces="a,b"` (exact names, no wildcards),
//! and it refuses `cert-authority`, `valid-after` and `valid-before` rather
//! than ignore a restriction it does not enforce. `transit` trust pins the key
//! name, version and public key, as `GET transit/keys/:name` reports them
//! (`keys["<N>"].public_key`: base64 for ed25519, PEM for ECDSA, whose body
//! is the base64 written here), and for ECDSA how transit signs
//! (`marshaling_algorithm`, `hash_algorithm`; defaults `asn1` and
//! `sha2-256`, transit's own). [`super::transit`] reads the keys and makes
//! these lines from `bao read -format=json transit/keys/NAME`.
//!
//! The file format is documented for operators in
//! `docs/handover-signatures.md`. Errors name the file and the 1-based line and
//! say what to change.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ssh_key::public::KeyData;

use super::scheme::{self, Scheme};
use super::transit::{self, HashAlgorithm, KeyType, Marshaling, TransitKey, UnsupportedKeyType};

/// A parsed TRUSTFILE.
#[derive(Clone, Debug)]
pub struct TrustFile {
    source: PathBuf,
    keys: Vec<TrustedKey>,
}

/// One trusted key, from one TRUSTFILE line.
#[derive(Clone)]
pub struct TrustedKey {
    /// The 1-based line it came from.
    pub line: usize,
    /// A human name: the given name, the SSH principals, the transit key
    /// name and version, or else the key's fingerprint or id.
    pub name: String,
    /// The runtime authorities this key may sign receipts for
    /// (`authorities=a,b` in front of the line); none if the line names
    /// none, and then it signs for no handover.
    pub authorities: Vec<String>,
    pub(crate) key: KeyMaterial,
}

#[derive(Clone)]
pub(crate) enum KeyMaterial {
    Ed25519(ed25519_dalek::VerifyingKey),
    Sshsig {
        key: KeyData,
        /// `None`: the line has no `namespaces=` option, so `ssh-keygen`
        /// would accept the key for any namespace; the verifier still
        /// requires the receipt namespace.
        namespaces: Option<Vec<String>>,
        /// The same key as `key`, checked not to be weak, for the strict
        /// Ed25519 check the verifier runs itself.
        ed25519: ed25519_dalek::VerifyingKey,
    },
    Minisign {
        key: minisign_verify::PublicKey,
        key_id: [u8; 8],
        /// The Ed25519 key inside `key`, checked not to be weak, for the
        /// strict Ed25519 checks the verifier runs itself.
        ed25519: ed25519_dalek::VerifyingKey,
    },
    Transit {
        version: u32,
        key: TransitKey,
    },
}

impl TrustedKey {
    /// The key's scheme.
    pub fn scheme(&self) -> Scheme {
        match self.key {
            KeyMaterial::Ed25519(_) => Scheme::Ed25519,
            KeyMaterial::Sshsig { .. } => Scheme::Sshsig,
            KeyMaterial::Minisign { .. } => Scheme::Minisign,
            KeyMaterial::Transit { .. } => Scheme::Transit,
        }
    }

    /// What identifies the key itself: an SSH fingerprint, a minisign key
    /// id, or a transit version.
    pub fn key_label(&self) -> String {
        match &self.key {
            KeyMaterial::Ed25519(vk) => scheme::ed25519_fingerprint(vk.as_bytes()),
            KeyMaterial::Sshsig { key, .. } => scheme::ssh_fingerprint(key),
            KeyMaterial::Minisign { key_id, .. } => scheme::minisign_key_id_hex(key_id),
            KeyMaterial::Transit { version, key } => format!("v{version} {}", key.label()),
        }
    }
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedKey")
            .field("line", &self.line)
            .field("scheme", &self.scheme())
            .field("name", &self.name)
            .field("authorities", &self.authorities)
            .field("key", &self.key_label())
            .finish()
    }
}

/// Why a TRUSTFILE could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustFileError {
    /// A line is wrong.
    #[error("{}:{line}: {problem}", file.display())]
    Line {
        /// The TRUSTFILE.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and how to fix it.
        problem: LineProblem,
    },
    /// The file is not UTF-8 text.
    #[error("{}: not UTF-8 text; a TRUSTFILE lists public keys as text", file.display())]
    NotText {
        /// The TRUSTFILE.
        file: PathBuf,
    },
    /// The file lists no keys, so nothing could ever verify.
    #[error("{}: lists no keys; add one line per trusted key (see docs/handover-signatures.md)", file.display())]
    Empty {
        /// The TRUSTFILE.
        file: PathBuf,
    },
}

/// What is wrong with one TRUSTFILE line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineProblem {
    /// The `authorities=` list is not a list of authority names.
    #[error("authorities=: {problem}")]
    Authorities {
        /// What is wrong.
        problem: String,
    },
    /// The line holds private key material, which is never quoted back.
    #[error(
        "this line holds a private key; a TRUSTFILE lists public keys only: remove it, and treat the key as exposed if the file was shared"
    )]
    PrivateKey,
    /// The first field is not a scheme.
    #[error("unknown scheme {found:?}; start the line with ed25519, sshsig, minisign or transit")]
    UnknownScheme {
        /// The first field.
        found: String,
    },
    /// A required field is missing.
    #[error("missing {what}; the line should read `{usage}`")]
    Missing {
        /// The missing field.
        what: &'static str,
        /// The line's expected shape.
        usage: &'static str,
    },
    /// A field is not canonical standard base64.
    #[error("{what} is not standard base64 (RFC 4648, with padding)")]
    Base64 {
        /// The field.
        what: &'static str,
    },
    /// A decoded key has the wrong length.
    #[error("{what} must decode to {expected} bytes, found {found}")]
    KeyLength {
        /// The field.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Found length.
        found: usize,
    },
    /// The bytes are not a valid Ed25519 public key.
    #[error("{what} is not a valid Ed25519 public key (or is a weak, small-order one)")]
    Ed25519Point {
        /// The field.
        what: &'static str,
    },
    /// Extra fields after a complete transit line.
    #[error(
        "unexpected text after the public key; a transit line is `transit <name> v<N> <base64 public key>`"
    )]
    TransitTrailing,
    /// A transit key type ceremony does not verify (RSA, P-521, …).
    #[error(transparent)]
    TransitKeyType(#[from] UnsupportedKeyType),
    /// A transit public key that does not parse.
    #[error(transparent)]
    TransitKey(#[from] transit::KeyError),
    /// An option after a transit ECDSA key that is unknown, repeated or
    /// unsupported, or an option after an ed25519 key.
    #[error(
        "{problem}; after an ecdsa-p256 or ecdsa-p384 key a transit line takes marshaling=asn1|jws and hash=sha2-256|sha2-384|sha2-512, each at most once"
    )]
    TransitOption {
        /// What is wrong.
        problem: String,
    },
    /// The transit version is not `v<N>`.
    #[error("transit key version {found:?} must be `v` and a number from 1, e.g. `v3`")]
    TransitVersion {
        /// The field found.
        found: String,
    },
    /// The allowed_signers part does not parse.
    #[error(
        "not an OpenSSH allowed_signers line ({reason}); expected `sshsig <principals> [namespaces=\"…\"] ssh-ed25519 <base64 key> [comment]`"
    )]
    AllowedSigners {
        /// What the parser reported.
        reason: String,
    },
    /// The SSH key is not Ed25519.
    #[error("SSH key type {found} is not supported; use an ssh-ed25519 key")]
    SshKeyType {
        /// The key type found.
        found: String,
    },
    /// An allowed_signers option ceremony does not enforce.
    #[error(
        "allowed_signers option {option:?} is not supported; remove it (only namespaces=\"…\" is enforced)"
    )]
    SshOption {
        /// The option.
        option: String,
    },
    /// A namespace pattern ceremony cannot match exactly.
    #[error(
        "namespace {found:?} is not an exact name; list namespaces without wildcards, negation or spaces, e.g. namespaces=\"ceremony-handover-receipt\""
    )]
    SshNamespace {
        /// The namespace entry.
        found: String,
    },
    /// The minisign key does not parse.
    #[error(
        "not a minisign public key; copy the second line of minisign.pub (base64 starting `RW`)"
    )]
    Minisign,
}

const USAGE_ED25519: &str = "ed25519 <base64 32-byte public key> [name]";
const USAGE_SSHSIG: &str =
    "sshsig <principals> [namespaces=\"…\"] ssh-ed25519 <base64 key> [comment]";
const USAGE_MINISIGN: &str = "minisign <base64 public key from minisign.pub> [name]";
const USAGE_TRANSIT: &str = "transit <name> v<N> <base64 32-byte ed25519 public key>` or `transit <name> v<N> ecdsa-p256|ecdsa-p384 <base64 DER SubjectPublicKeyInfo> [marshaling=asn1|jws] [hash=sha2-256|sha2-384|sha2-512]";

impl TrustFile {
    /// Parses TRUSTFILE text. `source` names the file in errors.
    pub fn parse(source: impl Into<PathBuf>, bytes: &[u8]) -> Result<Self, TrustFileError> {
        let source = source.into();
        let text = std::str::from_utf8(bytes).map_err(|_| TrustFileError::NotText {
            file: source.clone(),
        })?;
        let mut keys = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            // Checked before the line is parsed: every later error may quote
            // a field, and none may quote a private key.
            let parsed = if crate::sops::recipient::looks_private(trimmed) {
                Err(LineProblem::PrivateKey)
            } else {
                parse_line(line, trimmed)
            };
            let key = parsed.map_err(|problem| TrustFileError::Line {
                file: source.clone(),
                line,
                problem,
            })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(TrustFileError::Empty { file: source });
        }
        Ok(Self { source, keys })
    }

    /// The file the keys came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Every trusted key, in file order.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The trusted keys of one scheme, in file order.
    pub fn keys_of(&self, scheme: Scheme) -> impl Iterator<Item = &TrustedKey> {
        self.keys.iter().filter(move |k| k.scheme() == scheme)
    }
}

/// Splits off the first space- or tab-separated field.
fn next_field(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches([' ', '\t']);
    if text.is_empty() {
        return None;
    }
    match text.find([' ', '\t']) {
        Some(at) => Some((&text[..at], text[at..].trim_start_matches([' ', '\t']))),
        None => Some((text, "")),
    }
}

fn parse_line(line: usize, text: &str) -> Result<TrustedKey, LineProblem> {
    let (authorities, text) = match next_field(text) {
        Some((first, rest)) if first.starts_with(AUTHORITIES) => {
            (parse_authorities(&first[AUTHORITIES.len()..])?, rest)
        }
        _ => (Vec::new(), text),
    };
    let mut key = parse_key(line, text)?;
    key.authorities = authorities;
    Ok(key)
}

/// The field that names the authorities a key may sign for.
const AUTHORITIES: &str = "authorities=";

fn parse_authorities(list: &str) -> Result<Vec<String>, LineProblem> {
    let mut out = Vec::new();
    for name in list.split(',') {
        super::challenge::check_authority(name).map_err(|e| LineProblem::Authorities {
            problem: e.to_string(),
        })?;
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

fn parse_key(line: usize, text: &str) -> Result<TrustedKey, LineProblem> {
    let (scheme, rest) = next_field(text).ok_or(LineProblem::UnknownScheme {
        found: String::new(),
    })?;
    let scheme: Scheme = scheme.parse().map_err(|_| LineProblem::UnknownScheme {
        found: scheme.to_owned(),
    })?;
    let (name, key) = match scheme {
        Scheme::Ed25519 => parse_ed25519(rest)?,
        Scheme::Sshsig => parse_sshsig(rest)?,
        Scheme::Minisign => parse_minisign(rest)?,
        Scheme::Transit => parse_transit(rest)?,
    };
    Ok(TrustedKey {
        line,
        name,
        authorities: Vec::new(),
        key,
    })
}

fn decode_ed25519_key(
    what: &'static str,
    b64: &str,
) -> Result<ed25519_dalek::VerifyingKey, LineProblem> {
    let bytes = STANDARD
        .decode(b64)
        .map_err(|_| LineProblem::Base64 { what })?;
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| LineProblem::KeyLength {
            what,
            expected: 32,
            found: bytes.len(),
        })?;
    ed25519_point(what, &bytes)
}

/// The Ed25519 public key `bytes`, if it is a curve point and not a weak one.
/// Every scheme's key goes through here, whatever its encoding.
fn ed25519_point(
    what: &'static str,
    bytes: &[u8; 32],
) -> Result<ed25519_dalek::VerifyingKey, LineProblem> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
        .map_err(|_| LineProblem::Ed25519Point { what })?;
    // A small-order key "verifies" forged signatures under lax rules; no
    // honest signer has one, so refuse to trust it at all.
    if key.is_weak() {
        return Err(LineProblem::Ed25519Point { what });
    }
    Ok(key)
}

fn parse_ed25519(rest: &str) -> Result<(String, KeyMaterial), LineProblem> {
    let (b64, name) = next_field(rest).ok_or(LineProblem::Missing {
        what: "the public key",
        usage: USAGE_ED25519,
    })?;
    let key = decode_ed25519_key("the ed25519 public key", b64)?;
    let name = if name.is_empty() {
        scheme::ed25519_fingerprint(key.as_bytes())
    } else {
        name.to_owned()
    };
    Ok((name, KeyMaterial::Ed25519(key)))
}

fn parse_minisign(rest: &str) -> Result<(String, KeyMaterial), LineProblem> {
    let (b64, name) = next_field(rest).ok_or(LineProblem::Missing {
        what: "the public key",
        usage: USAGE_MINISIGN,
    })?;
    // minisign README: base64 of "Ed" ‖ 8-byte key id ‖ 32-byte Ed25519 key.
    // We decode it ourselves only to learn the key id (minisign-verify keeps
    // it private) and to hold the line to strict base64.
    let bin = STANDARD.decode(b64).map_err(|_| LineProblem::Base64 {
        what: "the minisign public key",
    })?;
    if bin.len() != 42 || bin.get(..2) != Some(b"Ed") {
        return Err(LineProblem::Minisign);
    }
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(bin.get(2..10).ok_or(LineProblem::Minisign)?);
    let mut point = [0u8; 32];
    point.copy_from_slice(bin.get(10..42).ok_or(LineProblem::Minisign)?);
    let ed25519 = ed25519_point("the minisign public key", &point)?;
    let key = minisign_verify::PublicKey::from_base64(b64).map_err(|_| LineProblem::Minisign)?;
    let name = if name.is_empty() {
        scheme::minisign_key_id_hex(&key_id)
    } else {
        name.to_owned()
    };
    Ok((
        name,
        KeyMaterial::Minisign {
            key,
            key_id,
            ed25519,
        },
    ))
}

fn parse_transit(rest: &str) -> Result<(String, KeyMaterial), LineProblem> {
    let missing = |what| LineProblem::Missing {
        what,
        usage: USAGE_TRANSIT,
    };
    let (name, rest) = next_field(rest).ok_or(missing("the transit key name"))?;
    let (version_text, rest) = next_field(rest).ok_or(missing("the key version"))?;
    let version = version_text
        .strip_prefix('v')
        .and_then(scheme::parse_version)
        .ok_or_else(|| LineProblem::TransitVersion {
            found: version_text.to_owned(),
        })?;
    let (first, after) = next_field(rest).ok_or(missing("the public key"))?;
    // The short form `transit <name> v<N> <base64>` is an ed25519 key: 32
    // bytes in base64 always end in `=`, which no key type name does; a
    // lone last field that is not a type name is such a key too.
    let key = if first.parse::<KeyType>().is_err() && (first.ends_with('=') || after.is_empty()) {
        if !after.is_empty() {
            return Err(LineProblem::TransitTrailing);
        }
        TransitKey::Ed25519(decode_ed25519_key("the transit public key", first)?)
    } else {
        let key_type: KeyType = first.parse()?;
        let (b64, options) = next_field(after).ok_or(missing("the public key"))?;
        match key_type {
            KeyType::Ed25519 => {
                if !options.is_empty() {
                    return Err(LineProblem::TransitOption {
                        problem: format!("{options:?} after an ed25519 key"),
                    });
                }
                TransitKey::Ed25519(decode_ed25519_key("the transit public key", b64)?)
            }
            _ => {
                let (marshaling, hash) = parse_transit_options(options)?;
                TransitKey::from_base64(key_type, b64, marshaling, hash)?
            }
        }
    };
    Ok((
        format!("{name} v{version}"),
        KeyMaterial::Transit { version, key },
    ))
}

/// `marshaling=…` and `hash=…` after an ECDSA transit key, each at most
/// once; transit's defaults (`asn1`, `sha2-256`) when absent.
fn parse_transit_options(mut text: &str) -> Result<(Marshaling, HashAlgorithm), LineProblem> {
    let mut marshaling = None;
    let mut hash = None;
    let problem = |problem: String| LineProblem::TransitOption { problem };
    while let Some((option, rest)) = next_field(text) {
        text = rest;
        match option.split_once('=') {
            Some(("marshaling", value)) if marshaling.is_none() => {
                marshaling = Some(
                    value
                        .parse()
                        .map_err(|e: transit::OptionValue| problem(e.to_string()))?,
                );
            }
            Some(("hash", value)) if hash.is_none() => {
                hash = Some(
                    value
                        .parse()
                        .map_err(|e: transit::OptionValue| problem(e.to_string()))?,
                );
            }
            Some(("marshaling" | "hash", _)) => {
                return Err(problem(format!("{option:?} repeats an option")));
            }
            _ => return Err(problem(format!("unknown option {option:?}"))),
        }
    }
    Ok((marshaling.unwrap_or_default(), hash.unwrap_or_default()))
}

/// Parses `principals [options] keytype base64 [comment]` (ssh-keygen(1),
/// ALLOWED SIGNERS). The principals field may be double-quoted.
fn parse_sshsig(rest: &str) -> Result<(String, KeyMaterial), LineProblem> {
    let missing = |what| LineProblem::Missing {
        what,
        usage: USAGE_SSHSIG,
    };
    let rest = rest.trim();
    let (principals, after) = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted
            .find('"')
            .ok_or_else(|| LineProblem::AllowedSigners {
                reason: "unterminated quote in principals".into(),
            })?;
        (
            &quoted[..end],
            quoted[end + 1..].trim_start_matches([' ', '\t']),
        )
    } else {
        next_field(rest).ok_or(missing("the principals"))?
    };
    if principals.is_empty() {
        return Err(missing("the principals"));
    }
    if after.is_empty() {
        return Err(missing("the key type and key"));
    }
    // What remains is `[options] keytype base64 [comment]`. The options
    // field is present exactly when the first field is not a key type.
    // ssh-key parses both parts; it splits on single spaces, so tabs are
    // normalised first.
    let after = after.replace('\t', " ");
    let (options, key_text) = match next_field(&after) {
        Some((first, rest)) if first.parse::<ssh_key::Algorithm>().is_err() => (first, rest),
        _ => ("", after.as_str()),
    };
    let options = ssh_key::authorized_keys::ConfigOpts::new(options).map_err(|e| {
        LineProblem::AllowedSigners {
            reason: format!("options: {e}"),
        }
    })?;
    let public =
        ssh_key::PublicKey::from_openssh(key_text).map_err(|e| LineProblem::AllowedSigners {
            reason: format!("public key: {e}"),
        })?;
    let key = public.key_data().clone();
    let KeyData::Ed25519(point) = &key else {
        return Err(LineProblem::SshKeyType {
            found: public.algorithm().to_string(),
        });
    };
    let ed25519 = ed25519_point("the ssh-ed25519 public key", &point.0)?;
    let mut namespaces = None;
    for option in options.iter() {
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (option, None),
        };
        // ssh-keygen matches option names case-insensitively.
        if name.eq_ignore_ascii_case("namespaces") {
            let value = value
                .and_then(|v| v.strip_prefix('"'))
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| LineProblem::AllowedSigners {
                    reason: "namespaces= needs a double-quoted list".into(),
                })?;
            let mut list = Vec::new();
            for ns in value.split(',') {
                // ssh-keygen treats these as match_pattern_list() patterns;
                // we match exactly, so refuse anything that would be a
                // pattern there rather than give it a different meaning.
                if ns.is_empty() || ns.contains(['*', '?', '!', ' ', '\t', '"']) {
                    return Err(LineProblem::SshNamespace {
                        found: ns.to_owned(),
                    });
                }
                list.push(ns.to_owned());
            }
            namespaces = Some(list);
        } else {
            return Err(LineProblem::SshOption {
                option: name.to_owned(),
            });
        }
    }
    Ok((
        principals.to_owned(),
        KeyMaterial::Sshsig {
            key,
            namespaces,
            ed25519,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_PUB: &str = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
    const SSH_PUB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPObxzN39r9PvYeAmBeOlqc4FcIwCnWylkeXSdTDSJc+";
    const MINISIGN_PUB: &str = "RWQYgFlj6BCKcedQjU0BlNZJa2E1Y0QV7oqwV/VMQNYf7z+9+dxLy+uj";

    fn parse(text: &str) -> Result<TrustFile, TrustFileError> {
        TrustFile::parse("trust.txt", text.as_bytes())
    }

    fn problem_at(text: &str) -> (usize, LineProblem) {
        match parse(text) {
            Err(TrustFileError::Line { line, problem, .. }) => (line, problem),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn parses_every_scheme_with_comments_and_blank_lines() {
        let text = format!(
            "# receipts for the prod cluster\n\n\
             ed25519 {ED_PUB} lead operator\n\
             sshsig alice@example.org namespaces=\"ceremony-handover-receipt\" {SSH_PUB} alice\n\
             \tminisign {MINISIGN_PUB}\n\
             transit receipts v3 {ED_PUB}\n"
        );
        let trust = parse(&text).unwrap();
        let keys = trust.keys();
        assert_eq!(keys.len(), 4);
        assert_eq!(keys[0].scheme(), Scheme::Ed25519);
        assert_eq!(keys[0].name, "lead operator");
        assert_eq!(keys[0].line, 3);
        assert_eq!(keys[1].name, "alice@example.org");
        assert!(matches!(
            &keys[1].key,
            KeyMaterial::Sshsig { namespaces: Some(ns), .. } if ns == &["ceremony-handover-receipt"]
        ));
        assert_eq!(keys[2].name, "718A10E863598018");
        assert_eq!(keys[3].name, "receipts v3");
        assert_eq!(trust.keys_of(Scheme::Transit).count(), 1);
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = format!("# ok\ned25519 {ED_PUB}\n\nrsa AAAA\n");
        let err = parse(&text).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with("trust.txt:4: unknown scheme \"rsa\""),
            "{shown}"
        );
    }

    #[test]
    fn empty_file_is_an_error() {
        assert!(matches!(
            parse("# nothing\n\n"),
            Err(TrustFileError::Empty { .. })
        ));
    }

    #[test]
    fn ed25519_line_problems() {
        assert!(matches!(
            problem_at("ed25519\n"),
            (
                1,
                LineProblem::Missing {
                    what: "the public key",
                    ..
                }
            )
        ));
        assert!(matches!(
            problem_at("\ned25519 not*base64\n"),
            (2, LineProblem::Base64 { .. })
        ));
        assert_eq!(
            problem_at("ed25519 AAAA\n"),
            (
                1,
                LineProblem::KeyLength {
                    what: "the ed25519 public key",
                    expected: 32,
                    found: 3
                }
            )
        );
    }

    #[test]
    fn weak_ed25519_key_is_refused() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let line = format!("ed25519 {}\n", STANDARD.encode(identity));
        assert!(matches!(
            problem_at(&line),
            (1, LineProblem::Ed25519Point { .. })
        ));
    }

    /// Small-order Ed25519 points: the identity (order 1), y = -1 (order 2)
    /// and an order-8 point.
    const SMALL_ORDER: [[u8; 32]; 3] = {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut minus_one = [0xff; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let order8 = [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ];
        [identity, minus_one, order8]
    };

    #[test]
    fn small_order_points_are_weak() {
        for point in SMALL_ORDER {
            let key = ed25519_dalek::VerifyingKey::from_bytes(&point).unwrap();
            assert!(key.is_weak(), "{point:02x?}");
        }
    }

    #[test]
    fn weak_sshsig_key_is_refused_with_its_line() {
        for point in SMALL_ORDER {
            let ssh = ssh_key::PublicKey::from(KeyData::Ed25519(
                ssh_key::public::Ed25519PublicKey(point),
            ))
            .to_openssh()
            .unwrap();
            let text = format!("# receipts\ned25519 {ED_PUB} lead\nsshsig a@b {ssh}\n");
            assert_eq!(
                problem_at(&text),
                (
                    3,
                    LineProblem::Ed25519Point {
                        what: "the ssh-ed25519 public key"
                    }
                )
            );
            let shown = parse(&text).unwrap_err().to_string();
            assert!(
                shown.starts_with("trust.txt:3: the ssh-ed25519 public key is not a valid"),
                "{shown}"
            );
        }
    }

    #[test]
    fn weak_minisign_key_is_refused_with_its_line() {
        for point in SMALL_ORDER {
            let mut bin = b"Ed".to_vec();
            bin.extend_from_slice(&[0x18, 0x80, 0x59, 0x63, 0xe8, 0x10, 0x8a, 0x71]);
            bin.extend_from_slice(&point);
            let text = format!(
                "ed25519 {ED_PUB} lead\n\nminisign {} ops\n",
                STANDARD.encode(&bin)
            );
            assert_eq!(
                problem_at(&text),
                (
                    3,
                    LineProblem::Ed25519Point {
                        what: "the minisign public key"
                    }
                )
            );
            let shown = parse(&text).unwrap_err().to_string();
            assert!(
                shown.starts_with("trust.txt:3: the minisign public key is not a valid"),
                "{shown}"
            );
        }
    }

    #[test]
    fn weak_transit_key_is_refused_with_its_line() {
        for point in SMALL_ORDER {
            let text = format!(
                "ed25519 {ED_PUB}\ntransit k v1 {}\n",
                STANDARD.encode(point)
            );
            assert_eq!(
                problem_at(&text),
                (
                    2,
                    LineProblem::Ed25519Point {
                        what: "the transit public key"
                    }
                )
            );
        }
    }

    #[test]
    fn transit_line_problems() {
        assert!(matches!(
            problem_at(&format!("transit receipts 3 {ED_PUB}\n")),
            (1, LineProblem::TransitVersion { .. })
        ));
        assert!(matches!(
            problem_at(&format!("transit receipts v0 {ED_PUB}\n")),
            (1, LineProblem::TransitVersion { .. })
        ));
        assert!(matches!(
            problem_at("transit receipts v3\n"),
            (
                1,
                LineProblem::Missing {
                    what: "the public key",
                    ..
                }
            )
        ));
        assert_eq!(
            problem_at(&format!("transit receipts v3 {ED_PUB} extra\n")),
            (1, LineProblem::TransitTrailing)
        );
    }

    /// A P-256 public key as transit reports it (the PEM body: base64 of
    /// the DER SubjectPublicKeyInfo), from an `ecdsa-p256` key of OpenBao
    /// 2.7.2.
    const P256_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgsDyMKewrucLxXtJkoz1WjbBnIXo/4MTBZWfTp5v8nuYC2GXvc/vbjH9apQiIEYiH78AU2pEpVBLp3FaLaFewg==";

    #[test]
    fn transit_ecdsa_lines_pin_type_marshaling_and_hash() {
        let text = format!(
            "authorities=openbao-prod transit receipts v3 ed25519 {ED_PUB}\n\
             authorities=openbao-prod transit receipts v1 ecdsa-p256 {P256_SPKI}\n\
             transit jwt v2 ecdsa-p256 {P256_SPKI} hash=sha2-512 marshaling=jws\n"
        );
        let trust = parse(&text).unwrap();
        let keys = trust.keys();
        assert_eq!(keys.len(), 3);
        let transit = |k: &TrustedKey| match &k.key {
            KeyMaterial::Transit { version, key } => (*version, key.clone()),
            _ => panic!("a transit line"),
        };
        assert_eq!(transit(&keys[0]).1.key_type(), KeyType::Ed25519);
        let (version, key) = transit(&keys[1]);
        assert_eq!((version, key.key_type()), (1, KeyType::EcdsaP256));
        assert!(
            keys[1].key_label().starts_with("v1 ecdsa-p256 SHA256:"),
            "{:?}",
            keys[1]
        );
        assert!(keys[1].key_label().ends_with(" asn1 sha2-256"));
        assert!(keys[2].key_label().ends_with(" jws sha2-512"));
        assert_eq!(keys[2].name, "jwt v2");
        // What from-transit writes reads back to the same line.
        assert_eq!(
            key.trust_fields(),
            format!("ecdsa-p256 {P256_SPKI} marshaling=asn1 hash=sha2-256")
        );
    }

    #[test]
    fn transit_ecdsa_line_problems() {
        assert!(matches!(
            problem_at(&format!("transit k v1 rsa-2048 {P256_SPKI}\n")),
            (1, LineProblem::TransitKeyType(_))
        ));
        let shown = parse(&format!("transit k v1 rsa-4096 {P256_SPKI}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            shown.contains(
                "\"rsa-4096\" is not supported for receipts (RSA receipt signatures are refused"
            ),
            "{shown}"
        );
        assert!(matches!(
            problem_at(&format!("transit k v1 ecdsa-p384 {P256_SPKI}\n")),
            (
                1,
                LineProblem::TransitKey(transit::KeyError::NotSpki { .. })
            )
        ));
        for options in [
            "marshaling=der",
            "hash=sha3-256",
            "marshaling=asn1 marshaling=jws",
            "prehashed=true",
        ] {
            assert!(
                matches!(
                    problem_at(&format!("transit k v1 ecdsa-p256 {P256_SPKI} {options}\n")),
                    (1, LineProblem::TransitOption { .. })
                ),
                "{options}"
            );
        }
        assert!(matches!(
            problem_at(&format!("transit k v1 ed25519 {ED_PUB} hash=sha2-256\n")),
            (1, LineProblem::TransitOption { .. })
        ));
        assert!(matches!(
            problem_at("transit k v1 ecdsa-p256\n"),
            (
                1,
                LineProblem::Missing {
                    what: "the public key",
                    ..
                }
            )
        ));
    }

    #[test]
    fn sshsig_line_problems() {
        assert!(matches!(
            problem_at(&format!("sshsig a@b cert-authority {SSH_PUB}\n")),
            (1, LineProblem::SshOption { .. })
        ));
        assert!(matches!(
            problem_at(&format!("sshsig a@b valid-before=\"20300101\" {SSH_PUB}\n")),
            (1, LineProblem::SshOption { .. })
        ));
        assert!(matches!(
            problem_at(&format!("sshsig a@b namespaces=\"ceremony-*\" {SSH_PUB}\n")),
            (1, LineProblem::SshNamespace { .. })
        ));
        assert!(matches!(
            problem_at("sshsig a@b\n"),
            (1, LineProblem::Missing { .. })
        ));
        assert!(matches!(
            problem_at("sshsig a@b ssh-ed25519 AAAA!!\n"),
            (1, LineProblem::AllowedSigners { .. })
        ));
        let quoted = parse(&format!("sshsig \"a@b,c@d\" {SSH_PUB}\n")).unwrap();
        assert_eq!(quoted.keys()[0].name, "a@b,c@d");
    }

    #[test]
    fn minisign_line_problems() {
        assert_eq!(
            problem_at(&format!("minisign {ED_PUB}\n")),
            (1, LineProblem::Minisign)
        );
        assert!(matches!(
            problem_at("minisign\n"),
            (1, LineProblem::Missing { .. })
        ));
    }

    #[test]
    fn debug_shows_fingerprints_not_base64() {
        let trust = parse(&format!("ed25519 {ED_PUB} op\n")).unwrap();
        let shown = format!("{trust:?}");
        assert!(!shown.contains(ED_PUB), "{shown}");
        assert!(shown.contains("SHA256:"), "{shown}");
    }
}
