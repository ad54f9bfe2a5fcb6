//! Custodians on hardware tokens: age plugins (`age-plugin-yubikey` and
//! others), through the `age` crate's own plugin client
//! ([`age::plugin::RecipientPluginV1`], [`age::plugin::IdentityPluginV1`]).
//!
//! A plugin recipient is `age1NAME1…` and a plugin identity
//! `AGE-PLUGIN-NAME-1…`; both name a program, `age-plugin-NAME`, that the
//! age library finds on `PATH` and starts, and that does the key operation
//! (on the token) for it. ceremony starts that program itself, so what it is
//! and what it may do are documented in `docs/custodian-yubikey.md` and
//! `docs/threat-model.md`. In short:
//!
//! * It runs as a child of ceremony with ceremony's whole environment, in a
//!   new empty temporary directory, with its stdin and stdout on pipes to
//!   ceremony and its stderr on `/dev/null` (the age library's choice).
//! * It inherits the seccomp filter (`crate::preflight::forbid_inet_sockets`)
//!   and `no_new_privs`: it cannot open an internet socket either, nor gain
//!   privileges through a setuid program. Unix sockets stay open to it, as
//!   `age-plugin-yubikey` needs for `pcscd`.
//! * It talks to the person at the terminal only through ceremony: its
//!   messages ("touch your YubiKey") and questions (PIN, "insert your
//!   token") reach a [`PluginUi`] that the command line implements on
//!   stderr and the terminal, never on stdout. What it sends is shown
//!   without control characters, cut short, and withheld when it looks like
//!   a private key.
//!
//! This module also guards against a plugin that misbehaves, because the age
//! library waits for it as long as it takes and reads whatever it writes:
//!
//! * one plugin runs at a time (their prompts would mix on the terminal);
//! * a plugin that is silent for longer than the timeout (60 s by default,
//!   [`configure`]) while ceremony is not waiting for the person at the
//!   terminal, that writes more than 16 MiB, or that sends more than 100
//!   messages in one operation is stopped (SIGKILL, with every process it
//!   started: ceremony makes itself their subreaper), and the operation fails
//!   with a [`PluginError`] saying why;
//! * a plugin that was stopped is not started again for the same identity;
//! * `AGEDEBUG=plugin` is refused: with it the age library prints everything
//!   it exchanges with the plugin, file keys and PINs included, to stderr.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use age::secrecy::SecretString;
use age_core::format::{FileKey, Stanza};

use crate::class::Class;

/// How long a plugin may be silent, by default, while ceremony waits for it
/// (not for the person at the terminal): a YubiKey waits 15 s for a touch.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest timeout [`configure`] takes.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Messages one operation may show: a token says a few things.
const MAX_MESSAGES: u32 = 100;
/// Bytes a plugin (with everything it started) may write during one
/// operation; its answers are a few hundred bytes.
const MAX_OUTPUT: u64 = 16 << 20;
/// How often the watchdog looks.
const POLL: Duration = Duration::from_millis(20);
/// Every how many polls it looks for the plugin's processes again.
const SCAN_EVERY: u32 = 10;
/// Characters of a plugin's message that are shown.
const MAX_SHOWN: usize = 300;

/// Recipient types the Go age 1.3 knows natively, whose Bech32 form looks
/// like a plugin's: the age crate here does not implement them, and no
/// plugin program stands in for them.
const NATIVE_LOOKALIKES: [&str; 3] = ["pq", "tag", "tagpq"];

/// What a plugin may ask of the person at the terminal. The command line
/// implements it on stderr and the terminal; any [`age::Callbacks`] is one.
pub trait PluginUi: Send + Sync {
    /// Shows a message ("Touch your YubiKey").
    fn message(&self, text: &str);
    /// Asks a question with one or two answers; `None` if it cannot be asked.
    fn confirm(&self, text: &str, yes: &str, no: Option<&str>) -> Option<bool>;
    /// Asks for a value that is not secret; `None` if it cannot be asked.
    fn public_string(&self, description: &str) -> Option<String>;
    /// Asks for a secret (a PIN); `None` if it cannot be asked.
    fn secret(&self, description: &str) -> Option<SecretString>;
}

impl<C: age::Callbacks> PluginUi for C {
    fn message(&self, text: &str) {
        self.display_message(text);
    }
    fn confirm(&self, text: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        age::Callbacks::confirm(self, text, yes, no)
    }
    fn public_string(&self, description: &str) -> Option<String> {
        self.request_public_string(description)
    }
    fn secret(&self, description: &str) -> Option<SecretString> {
        self.request_passphrase(description)
    }
}

struct Settings {
    ui: Arc<dyn PluginUi>,
    timeout: Duration,
}

static SETTINGS: RwLock<Option<Settings>> = RwLock::new(None);

/// One plugin at a time, in the whole process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Sets who plugins talk to when encrypting (identities take theirs when
/// they are loaded) and how long a plugin may be silent. Until this is
/// called, plugins get no answers and the timeout is [`DEFAULT_TIMEOUT`].
pub fn configure(ui: Arc<dyn PluginUi>, timeout: Duration) {
    let timeout = timeout.clamp(Duration::from_secs(1), MAX_TIMEOUT);
    if let Ok(mut settings) = SETTINGS.write() {
        *settings = Some(Settings { ui, timeout });
    }
}

fn settings() -> (Arc<dyn PluginUi>, Duration) {
    match SETTINGS.read().as_deref() {
        Ok(Some(s)) => (Arc::clone(&s.ui), s.timeout),
        _ => (Arc::new(age::NoCallbacks), DEFAULT_TIMEOUT),
    }
}

/// Which way a plugin was working.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Encrypting to a plugin recipient.
    Encrypt,
    /// Decrypting with a plugin identity.
    Decrypt,
}

/// A plugin that could not be used, or failed. Carries the program's name
/// and, at most, a cleaned-up text the plugin sent: never key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The program is not on `PATH`.
    #[error("the age plugin program {binary} is not installed (it is not on PATH)")]
    Missing {
        /// `age-plugin-NAME`.
        binary: String,
    },
    /// `AGEDEBUG=plugin` is set.
    #[error(
        "AGEDEBUG=plugin is set: the age library would print everything ceremony and {binary} exchange, file keys and PINs included, to stderr"
    )]
    Debugging {
        /// `age-plugin-NAME`.
        binary: String,
    },
    /// The plugin answered with an error.
    #[error("{binary} refused: {message}")]
    Refused {
        /// `age-plugin-NAME`.
        binary: String,
        /// Encrypting or decrypting.
        op: Op,
        /// What it said, cleaned up ([`clean`]).
        message: String,
    },
    /// The plugin was silent too long and was stopped.
    #[error("{binary} did not answer for {seconds} s and was stopped")]
    Silent {
        /// `age-plugin-NAME`.
        binary: String,
        /// Encrypting or decrypting.
        op: Op,
        /// The timeout.
        seconds: u64,
    },
    /// The plugin wrote too much and was stopped.
    #[error("{binary} wrote more than 16 MiB and was stopped")]
    TooMuchOutput {
        /// `age-plugin-NAME`.
        binary: String,
        /// Encrypting or decrypting.
        op: Op,
    },
    /// The plugin sent too many messages and was stopped.
    #[error("{binary} sent more than {MAX_MESSAGES} messages and was stopped")]
    TooManyMessages {
        /// `age-plugin-NAME`.
        binary: String,
        /// Encrypting or decrypting.
        op: Op,
    },
    /// The plugin broke the protocol: it stopped before answering, sent
    /// something else, or answered with a key of the wrong size.
    #[error("{binary} broke the age plugin protocol: {detail}")]
    Protocol {
        /// `age-plugin-NAME`.
        binary: String,
        /// Encrypting or decrypting.
        op: Op,
        /// What happened (ceremony's words, not the plugin's).
        detail: &'static str,
    },
}

impl PluginError {
    /// Its class, for the exit code: a missing program is like a missing
    /// file (io); a plugin that refuses a recipient is an input error; one
    /// that fails to decrypt, however it fails, is a decryption error; one
    /// that breaks while encrypting is io.
    pub fn class(&self) -> Class {
        match self {
            PluginError::Missing { .. } => Class::Io,
            PluginError::Debugging { .. } => Class::Refused,
            PluginError::Refused { op, .. } => match op {
                Op::Encrypt => Class::Input,
                Op::Decrypt => Class::Decryption,
            },
            PluginError::Silent { op, .. }
            | PluginError::TooMuchOutput { op, .. }
            | PluginError::TooManyMessages { op, .. }
            | PluginError::Protocol { op, .. } => match op {
                Op::Encrypt => Class::Io,
                Op::Decrypt => Class::Decryption,
            },
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            PluginError::Missing { .. } => Some(
                "install the plugin so that it is on PATH (for a YubiKey: age-plugin-yubikey, with pcscd running; see docs/custodian-yubikey.md)",
            ),
            PluginError::Debugging { .. } => {
                Some("unset AGEDEBUG before running ceremony with a plugin")
            }
            PluginError::Silent { .. } => Some(
                "if the token needs longer (a slow touch or insertion), set CEREMONY_PLUGIN_TIMEOUT to more seconds",
            ),
            _ => None,
        }
    }

    /// The plugin program it concerns.
    pub fn binary(&self) -> &str {
        match self {
            PluginError::Missing { binary }
            | PluginError::Debugging { binary }
            | PluginError::Refused { binary, .. }
            | PluginError::Silent { binary, .. }
            | PluginError::TooMuchOutput { binary, .. }
            | PluginError::TooManyMessages { binary, .. }
            | PluginError::Protocol { binary, .. } => binary,
        }
    }
}

/// The program that serves plugin `name`.
pub fn binary_name(name: &str) -> String {
    format!("age-plugin-{name}")
}

/// Parses a plugin recipient (`age1NAME1…`, Bech32 with the plugin's name
/// in its human-readable part). `None` for anything else, including the
/// recipient types the Go age knows natively (`age1pq1…`, `age1tag1…`,
/// `age1tagpq1…`).
/// Kept in lower case, Bech32's canonical form (mixed case is not Bech32).
pub fn parse_recipient(text: &str) -> Option<age::plugin::Recipient> {
    let text = text.trim();
    let upper = text.bytes().any(|b| b.is_ascii_uppercase());
    let lower = text.bytes().any(|b| b.is_ascii_lowercase());
    if upper && lower {
        return None;
    }
    let recipient: age::plugin::Recipient = text.to_ascii_lowercase().parse().ok()?;
    let name = recipient.plugin().to_ascii_lowercase();
    (!NATIVE_LOOKALIKES.contains(&name.as_str())).then_some(recipient)
}

/// Parses a plugin identity line (`AGE-PLUGIN-NAME-1…`).
pub fn parse_identity(text: &str) -> Option<age::plugin::Identity> {
    text.trim().parse().ok()
}

/// Fails with [`PluginError::Missing`] unless plugin `name`'s program is
/// on `PATH`.
pub fn require_installed(name: &str) -> Result<(), PluginError> {
    age::plugin::RecipientPluginV1::new(name, &[], &[], age::NoCallbacks)
        .map(drop)
        .map_err(|_| PluginError::Missing {
            binary: binary_name(name),
        })
}

/// The [`PluginError`] inside an error of the age library, if a plugin
/// guard of this module put it there.
pub fn in_encrypt_error(error: &age::EncryptError) -> Option<&PluginError> {
    match error {
        age::EncryptError::Io(e) => e.get_ref()?.downcast_ref(),
        _ => None,
    }
}

/// The [`PluginError`] inside a decryption error, if a plugin guard of this
/// module put it there.
pub fn in_decrypt_error(error: &age::DecryptError) -> Option<&PluginError> {
    match error {
        age::DecryptError::Io(e) => e.get_ref()?.downcast_ref(),
        _ => None,
    }
}

/// The [`PluginError`] inside an I/O error (the age library's stream
/// readers and writers turn its errors into I/O errors).
pub fn in_io_error(error: &std::io::Error) -> Option<&PluginError> {
    error.get_ref()?.downcast_ref()
}

/// A plugin's text made safe to show: control and bidirectional-override
/// characters become spaces, it is cut to 300 characters, and a text that
/// looks like it holds a private key is withheld.
pub fn clean(text: &str) -> String {
    if holds_key(text) {
        return "(withheld: the text looks like it holds a private key)".to_owned();
    }
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX_SHOWN {
            out.push('…');
            break;
        }
        out.push(if invisible(c) { ' ' } else { c });
    }
    out.trim().to_owned()
}

/// Whether `text` holds something like a private key: an age identity, a
/// plugin identity (`AGE-PLUGIN-NAME-1…`, not the program's name
/// `age-plugin-NAME`), a PEM or OpenSSH private key.
fn holds_key(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    if upper.contains("AGE-SECRET-KEY-") || upper.contains("PRIVATE KEY") {
        return true;
    }
    upper.match_indices("AGE-PLUGIN-").any(|(at, prefix)| {
        let rest = upper.get(at + prefix.len()..).unwrap_or_default();
        let word = rest
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_')))
            .next()
            .unwrap_or_default();
        word.contains("-1")
    })
}

/// The text of one of the age library's plugin errors without the program
/// name it starts with (`'age-plugin-x' couldn't use an identity: …`).
fn plugin_error_text(binary: &str, text: &str) -> String {
    // Fluent wraps the values it fills in in bidirectional isolation marks.
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{2068}' | '\u{2069}'))
        .collect();
    let text = text.as_str();
    let named = format!("'{binary}' ");
    match text
        .strip_prefix(&named)
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message.to_owned(),
        None => text.to_owned(),
    }
}

fn io(error: PluginError) -> std::io::Error {
    std::io::Error::other(error)
}

/// A recipient served by its plugin, under this module's guard.
pub struct PluginRecipient {
    inner: age::plugin::RecipientPluginV1<Guarded>,
    guard: Guard,
}

impl PluginRecipient {
    /// The plugin of `recipient`; fails if its program is not installed.
    pub fn new(recipient: &age::plugin::Recipient) -> Result<Self, PluginError> {
        let (ui, _) = settings();
        let guard = Guard::new(recipient.plugin(), Op::Encrypt);
        let inner = age::plugin::RecipientPluginV1::new(
            recipient.plugin(),
            std::slice::from_ref(recipient),
            &[],
            guard.callbacks(ui),
        )
        .map_err(|_| PluginError::Missing {
            binary: guard.binary.clone(),
        })?;
        Ok(Self { inner, guard })
    }
}

impl age::Recipient for PluginRecipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        self.guard
            .run(|| self.inner.wrap_file_key(file_key))
            .map_err(|e| age::EncryptError::Io(io(e)))?
            .map_err(|e| match self.guard.explain_encrypt_error(e) {
                Ok(plugin) => age::EncryptError::Io(io(plugin)),
                Err(other) => other,
            })
    }
}

/// Identities of one plugin, served by it under this module's guard.
pub struct PluginIdentity {
    inner: age::plugin::IdentityPluginV1<Guarded>,
    guard: Guard,
}

impl PluginIdentity {
    /// Plugin `name` with its `identities`; fails if its program is not
    /// installed. `ui` answers the plugin's questions.
    pub fn new(
        name: &str,
        identities: &[age::plugin::Identity],
        ui: Arc<dyn PluginUi>,
    ) -> Result<Self, PluginError> {
        let guard = Guard::new(name, Op::Decrypt);
        let inner = age::plugin::IdentityPluginV1::new(name, identities, guard.callbacks(ui))
            .map_err(|_| PluginError::Missing {
                binary: guard.binary.clone(),
            })?;
        Ok(Self { inner, guard })
    }

    /// The plugin program.
    pub fn binary(&self) -> &str {
        &self.guard.binary
    }
}

impl age::Identity for PluginIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        self.unwrap_stanzas(std::slice::from_ref(stanza))
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, age::DecryptError>> {
        match self.guard.run(|| self.inner.unwrap_stanzas(stanzas)) {
            Err(stopped) => Some(Err(age::DecryptError::Io(io(stopped)))),
            Ok(None) => None,
            Ok(Some(Ok(key))) => Some(Ok(key)),
            Ok(Some(Err(e))) => Some(Err(match self.guard.explain_decrypt_error(e) {
                Ok(plugin) => age::DecryptError::Io(io(plugin)),
                Err(other) => other,
            })),
        }
    }
}

/// Runs one plugin's operations, one at a time in the process, each under a
/// watchdog; remembers a plugin that had to be stopped.
struct Guard {
    binary: String,
    op: Op,
    slot: Arc<Mutex<Option<Arc<Watch>>>>,
    broken: Mutex<Option<PluginError>>,
}

impl Guard {
    fn new(name: &str, op: Op) -> Self {
        Self {
            binary: binary_name(name),
            op,
            slot: Arc::default(),
            broken: Mutex::new(None),
        }
    }

    fn callbacks(&self, ui: Arc<dyn PluginUi>) -> Guarded {
        Guarded {
            binary: self.binary.clone().into(),
            ui,
            slot: Arc::clone(&self.slot),
        }
    }

    /// Runs `work` (one call into the age library's plugin client) under
    /// the watchdog. `Err` when the plugin could not be run or had to be
    /// stopped: that is the whole story, whatever `work` returned.
    fn run<T>(&self, work: impl FnOnce() -> T) -> Result<T, PluginError> {
        if let Some(broken) = lock(&self.broken).clone() {
            return Err(broken);
        }
        if std::env::var_os("AGEDEBUG").is_some_and(|v| v == "plugin") {
            return Err(PluginError::Debugging {
                binary: self.binary.clone(),
            });
        }
        let _one = lock(&ONE_AT_A_TIME);
        let (_, timeout) = settings();
        let watch = Arc::new(Watch::new(&self.binary, self.op, timeout));
        *lock(&self.slot) = Some(Arc::clone(&watch));
        let dog = {
            let watch = Arc::clone(&watch);
            std::thread::Builder::new()
                .name("plugin-watchdog".into())
                .spawn(move || watch.patrol())
                .ok()
        };
        let out = work();
        lock(&watch.state).done = true;
        watch.wake.notify_all();
        if let Some(dog) = dog {
            let _ = dog.join();
        }
        *lock(&self.slot) = None;
        let stopped = lock(&watch.state).stopped.clone();
        match stopped {
            Some(reason) => {
                *lock(&self.broken) = Some(reason.clone());
                Err(reason)
            }
            None => Ok(out),
        }
    }

    /// A failure of the age library's plugin client in this module's words;
    /// `Err` gives back an error that is not the plugin's.
    fn explain_encrypt_error(
        &self,
        error: age::EncryptError,
    ) -> Result<PluginError, age::EncryptError> {
        match error {
            age::EncryptError::Plugin(errors) => Ok(self.refused(&errors)),
            age::EncryptError::MissingPlugin { .. } => Ok(PluginError::Missing {
                binary: self.binary.clone(),
            }),
            age::EncryptError::Io(e) if in_io_error(&e).is_none() => Ok(self.broke(&e)),
            other => Err(other),
        }
    }

    fn explain_decrypt_error(
        &self,
        error: age::DecryptError,
    ) -> Result<PluginError, age::DecryptError> {
        match error {
            age::DecryptError::Plugin(errors) => Ok(self.refused(&errors)),
            age::DecryptError::MissingPlugin { .. } => Ok(PluginError::Missing {
                binary: self.binary.clone(),
            }),
            // The age client's only use of it: a file key of the wrong size.
            age::DecryptError::DecryptionFailed => Ok(PluginError::Protocol {
                binary: self.binary.clone(),
                op: self.op,
                detail: "it answered with a file key of the wrong size",
            }),
            age::DecryptError::Io(e) if in_io_error(&e).is_none() => Ok(self.broke(&e)),
            other => Err(other),
        }
    }

    /// The plugin's own errors. (The age crate does not export their type,
    /// only their text, which names the program itself.)
    fn refused<E: std::fmt::Display>(&self, errors: &[E]) -> PluginError {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| clean(&plugin_error_text(&self.binary, &e.to_string())))
            .filter(|m| !m.is_empty())
            .collect();
        let message = if messages.is_empty() {
            "(no reason given)".to_owned()
        } else {
            clean(&messages.join("; "))
        };
        PluginError::Refused {
            binary: self.binary.clone(),
            op: self.op,
            message,
        }
    }

    fn broke(&self, error: &std::io::Error) -> PluginError {
        use std::io::ErrorKind;
        let detail = match error.kind() {
            ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe => {
                "it stopped before it answered"
            }
            ErrorKind::InvalidData => "it sent something that is not an age plugin message",
            ErrorKind::NotFound | ErrorKind::PermissionDenied => "it could not be started",
            _ => "talking to it failed",
        };
        PluginError::Protocol {
            binary: self.binary.clone(),
            op: self.op,
            detail,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The callbacks the age library's plugin client calls: everything the
/// plugin says or asks goes through here to the [`PluginUi`], cleaned, and
/// the watchdog learns when ceremony waits for the person rather than for
/// the plugin.
#[derive(Clone)]
struct Guarded {
    binary: Arc<str>,
    ui: Arc<dyn PluginUi>,
    slot: Arc<Mutex<Option<Arc<Watch>>>>,
}

impl Guarded {
    /// The watch of the operation running on this thread. The age library
    /// also calls back from a thread of its own ("waiting on the plugin"),
    /// which must neither count nor pause anything.
    fn watch(&self) -> Option<Arc<Watch>> {
        lock(&self.slot)
            .clone()
            .filter(|w| w.thread == std::thread::current().id())
    }

    /// While the person is asked something, the plugin's silence is not
    /// counted; `None` once the plugin has been stopped.
    fn asking(&self) -> Option<Asking> {
        match self.watch() {
            Some(watch) => {
                let mut state = lock(&watch.state);
                if state.stopped.is_some() {
                    return None;
                }
                state.asking += 1;
                drop(state);
                Some(Asking(Some(watch)))
            }
            None => Some(Asking(None)),
        }
    }

    fn shown(&self, text: &str) -> String {
        format!("{}: {}", self.binary, clean(text))
    }
}

struct Asking(Option<Arc<Watch>>);

impl Drop for Asking {
    fn drop(&mut self) {
        if let Some(watch) = &self.0 {
            let mut state = lock(&watch.state);
            state.asking = state.asking.saturating_sub(1);
            state.since = Instant::now();
        }
    }
}

impl age::Callbacks for Guarded {
    fn display_message(&self, message: &str) {
        if let Some(watch) = self.watch() {
            if !watch.message() {
                return;
            }
        }
        self.ui.message(&self.shown(message));
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        let _asking = self.asking()?;
        let no = no.map(clean);
        self.ui
            .confirm(&self.shown(message), &clean(yes), no.as_deref())
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        let _asking = self.asking()?;
        self.ui.public_string(&self.shown(description))
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        let _asking = self.asking()?;
        self.ui.secret(&self.shown(description))
    }
}

/// One plugin operation under watch.
struct Watch {
    binary: String,
    op: Op,
    timeout: Duration,
    thread: ThreadId,
    /// ceremony's children before the operation: not the plugin's.
    before: HashSet<u32>,
    state: Mutex<WatchState>,
    wake: Condvar,
}

struct WatchState {
    /// Questions to the person in progress (the plugin waits for us).
    asking: u32,
    /// Since when ceremony has waited for the plugin.
    since: Instant,
    messages: u32,
    stopped: Option<PluginError>,
    done: bool,
}

impl Watch {
    fn new(binary: &str, op: Op, timeout: Duration) -> Self {
        processes::adopt_orphans();
        Self {
            binary: binary.to_owned(),
            op,
            timeout,
            thread: std::thread::current().id(),
            before: processes::children(),
            state: Mutex::new(WatchState {
                asking: 0,
                since: Instant::now(),
                messages: 0,
                stopped: None,
                done: false,
            }),
            wake: Condvar::new(),
        }
    }

    /// Counts a message; `false` (and the plugin stopped) past the limit.
    fn message(&self) -> bool {
        let mut state = lock(&self.state);
        if state.stopped.is_some() {
            return false;
        }
        state.messages += 1;
        state.since = Instant::now();
        if state.messages <= MAX_MESSAGES {
            return true;
        }
        drop(state);
        self.stop(PluginError::TooManyMessages {
            binary: self.binary.clone(),
            op: self.op,
        });
        false
    }

    /// Records why the plugin is stopped (the first reason wins) and kills
    /// it with everything it started.
    fn stop(&self, reason: PluginError) {
        lock(&self.state).stopped.get_or_insert(reason);
        // A process it started may start another as it dies: a few rounds.
        for _ in 0..5 {
            if processes::kill_all(&processes::descendants(&self.before)) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The watchdog: runs until the operation is done.
    fn patrol(&self) {
        let mut polls: u32 = 0;
        let mut plugin: Vec<u32> = Vec::new();
        loop {
            let state = lock(&self.state);
            let (state, _) = self
                .wake
                .wait_timeout(state, POLL)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if state.done {
                return;
            }
            let stopped = state.stopped.is_some();
            let silent = state.asking == 0 && state.since.elapsed() >= self.timeout;
            drop(state);
            if stopped {
                // Whatever it started since is stopped as well.
                processes::kill_all(&processes::descendants(&self.before));
                continue;
            }
            if silent {
                self.stop(PluginError::Silent {
                    binary: self.binary.clone(),
                    op: self.op,
                    seconds: self.timeout.as_secs(),
                });
                continue;
            }
            if polls % SCAN_EVERY == 0 {
                plugin = processes::descendants(&self.before);
            }
            polls = polls.wrapping_add(1);
            if processes::written(&plugin) > MAX_OUTPUT {
                self.stop(PluginError::TooMuchOutput {
                    binary: self.binary.clone(),
                    op: self.op,
                });
            }
        }
    }
}

/// ceremony's child processes, from `/proc` (Linux; elsewhere the watchdog
/// can only time out, not stop the plugin).
mod processes {
    use super::{HashMap, HashSet};

    /// Makes ceremony the subreaper of whatever its children start, so
    /// that a process a plugin leaves behind stays in reach (and, holding
    /// the plugin's stdout, cannot make ceremony wait forever).
    #[allow(unsafe_code)]
    pub fn adopt_orphans() {
        #[cfg(target_os = "linux")]
        {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer; it
                // changes only who inherits this process's orphans.
                let _ = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
            });
        }
    }

    /// `(pid, parent, state)` of every process.
    fn table() -> Vec<(u32, u32, char)> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                // "pid (comm) S ppid …": comm may hold anything, up to the last ')'.
                let rest = stat.get(stat.rfind(')')? + 1..)?;
                let mut fields = rest.split_whitespace();
                let state = fields.next()?.chars().next()?;
                let parent = fields.next()?.parse().ok()?;
                Some((pid, parent, state))
            })
            .collect()
    }

    /// ceremony's children now.
    pub fn children() -> HashSet<u32> {
        let me = std::process::id();
        table()
            .into_iter()
            .filter(|&(_, parent, _)| parent == me)
            .map(|(pid, _, _)| pid)
            .collect()
    }

    /// The live processes below ceremony that were not its children in
    /// `before`: the plugin and what it started.
    pub fn descendants(before: &HashSet<u32>) -> Vec<u32> {
        let me = std::process::id();
        let table = table();
        let mut below: HashMap<u32, Vec<(u32, char)>> = HashMap::new();
        for &(pid, parent, state) in &table {
            below.entry(parent).or_default().push((pid, state));
        }
        let mut out = Vec::new();
        let mut todo: Vec<u32> = below
            .get(&me)
            .into_iter()
            .flatten()
            .filter(|(pid, _)| !before.contains(pid))
            .map(|&(pid, state)| {
                if state != 'Z' {
                    out.push(pid);
                }
                pid
            })
            .collect();
        while let Some(pid) = todo.pop() {
            for &(child, state) in below.get(&pid).into_iter().flatten() {
                if out.len() > 4096 {
                    return out;
                }
                if state != 'Z' {
                    out.push(child);
                }
                todo.push(child);
            }
        }
        out
    }

    /// Sends SIGKILL to each; returns how many were sent.
    #[allow(unsafe_code)]
    pub fn kill_all(pids: &[u32]) -> usize {
        let mut sent = 0;
        for &pid in pids {
            let Ok(pid) = libc::pid_t::try_from(pid) else {
                continue;
            };
            if pid <= 1 {
                continue;
            }
            // SAFETY: kill takes integers. The pid is a live descendant of
            // this process seen a moment ago; ceremony never reaps the
            // plugin's processes, so a dead one stays a zombie and its pid
            // is not reused while it is ours.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                sent += 1;
            }
        }
        sent
    }

    /// Bytes the processes have written, all together (`wchar` of
    /// `/proc/PID/io`; a process whose count cannot be read counts 0).
    pub fn written(pids: &[u32]) -> u64 {
        pids.iter()
            .filter_map(|pid| {
                let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
                io.lines()
                    .find_map(|l| l.strip_prefix("wchar:"))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .fold(0u64, u64::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_recipients_parse_by_their_bech32_form() {
        use bech32::ToBase32;
        let make = |hrp: &str| {
            bech32::encode(hrp, [7u8; 33].to_base32(), bech32::Variant::Bech32).unwrap()
        };
        let yubikey = make("age1yubikey");
        let parsed = parse_recipient(&yubikey).unwrap();
        assert_eq!(parsed.plugin(), "yubikey");
        assert_eq!(parsed.to_string(), yubikey);
        // A damaged checksum, Bech32m, a native X25519 recipient, and the
        // Go age's native look-alikes are not plugin recipients.
        let mut damaged = yubikey.clone();
        damaged.pop();
        damaged.push(if yubikey.ends_with('q') { 'p' } else { 'q' });
        assert!(parse_recipient(&damaged).is_none());
        let m = bech32::encode(
            "age1yubikey",
            [7u8; 33].to_base32(),
            bech32::Variant::Bech32m,
        )
        .unwrap();
        assert!(parse_recipient(&m).is_none());
        assert!(parse_recipient(&make("age")).is_none());
        for native in ["age1pq", "age1tag", "age1tagpq"] {
            assert!(parse_recipient(&make(native)).is_none(), "{native}");
        }
        assert!(parse_recipient(&make("age1a/b")).is_none());
    }

    #[test]
    fn a_missing_program_is_named() {
        assert_eq!(
            require_installed("ceremony-no-such-plugin"),
            Err(PluginError::Missing {
                binary: "age-plugin-ceremony-no-such-plugin".into()
            })
        );
        let e = PluginError::Missing {
            binary: "age-plugin-yubikey".into(),
        };
        assert_eq!(e.class(), Class::Io);
        assert!(e.to_string().contains("age-plugin-yubikey"));
    }

    #[test]
    fn plugin_text_is_cleaned_before_it_is_shown() {
        assert_eq!(
            clean("\u{1b}[2JTouch\r\nyour key\u{202e}"),
            "[2JTouch  your key"
        );
        assert!(!clean("AGE-SECRET-KEY-1QQQQ").contains("QQQQ"));
        assert!(!clean("here: AGE-PLUGIN-YUBIKEY-1QQQQ").contains("QQQQ"));
        assert!(!clean("-----BEGIN OPENSSH PRIVATE KEY-----").contains("BEGIN"));
        // The program's name is not a key.
        assert_eq!(
            clean("run age-plugin-yubikey --list"),
            "run age-plugin-yubikey --list"
        );
        assert_eq!(
            plugin_error_text(
                "age-plugin-x",
                "'age-plugin-x' couldn't use an identity: wrong PIN"
            ),
            "wrong PIN"
        );
        let long = "x".repeat(1000);
        assert_eq!(clean(&long).chars().count(), MAX_SHOWN + 1);
    }
}
