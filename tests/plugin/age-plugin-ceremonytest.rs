//! `age-plugin-ceremonytest`: an age plugin with a software key, for the
//! tests only (tests/plugins.rs puts it on PATH for the commands it runs).
//! It speaks the real plugin protocol through the `age-plugin` crate, so
//! ceremony, the `age` CLI and sops run it exactly as they run
//! `age-plugin-yubikey`; only the key is a file instead of a token.
//!
//! ```text
//! age-plugin-ceremonytest --generate      # an identity file, with "# recipient: age1ceremonytest1…"
//! age-plugin-ceremonytest --age-plugin=recipient-v1 | identity-v1   (started by an age client)
//! ```
//!
//! The recipient is `age1ceremonytest1…` (an X25519 public key) and the
//! identity `AGE-PLUGIN-CEREMONYTEST-1…` (its secret key: unlike a
//! YubiKey's, this identity is the key itself). A file key is wrapped as age
//! wraps it to an X25519 recipient, in a stanza tagged `ceremonytest`.
//!
//! What a token does, and what a broken or hostile plugin does, is asked
//! for through the environment, which the plugin inherits from the age
//! client that starts it:
//!
//! | variable | what the plugin does |
//! |---|---|
//! | `CEREMONYTEST_PIN=PIN` | asks for a PIN (`request-secret`) before it unwraps, and refuses a wrong one |
//! | `CEREMONYTEST_TOUCH=1` | says "Touch your ceremonytest token" (`msg`) before it unwraps |
//! | `CEREMONYTEST_INSERT=1` | asks "Insert your ceremonytest token" (`confirm`: inserted / skip) first |
//! | `CEREMONYTEST_PROBE=FILE` | writes to FILE what it may do: internet and unix sockets, no_new_privs, seccomp, its cwd, stdio and one inherited variable |
//! | `CEREMONYTEST_MODE=MODE` | misbehaves, see [`Mode`] |

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::time::Duration;

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{Callbacks, PluginHandler, run_state_machine};
use bech32::{FromBase32, ToBase32};

const NAME: &str = "ceremonytest";
const TAG: &str = "ceremonytest";

/// How the plugin misbehaves (`CEREMONYTEST_MODE`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As a plugin should.
    Normal,
    /// Never answers (sleeps an hour), encrypting or decrypting.
    Silent,
    /// Writes `A` without end and without a newline.
    FloodOutput,
    /// Sends messages without end.
    FloodMessages,
    /// Writes a line that is not the protocol.
    Garbage,
    /// Exits before answering.
    Die,
    /// Unwraps to a file key that is not the file's.
    WrongKey,
    /// Answers with a file key of 5 bytes.
    BadLength,
    /// Refuses with a message full of terminal escape sequences.
    EscapeError,
    /// Refuses with a message that holds something like a private key.
    KeyInError,
    /// Refuses to encrypt ("this token is locked").
    Refuse,
    /// Starts a process that keeps its stdout open, and exits.
    Orphan,
}

fn mode() -> Mode {
    match std::env::var("CEREMONYTEST_MODE").as_deref() {
        Ok("silent") => Mode::Silent,
        Ok("flood-output") => Mode::FloodOutput,
        Ok("flood-messages") => Mode::FloodMessages,
        Ok("garbage") => Mode::Garbage,
        Ok("die") => Mode::Die,
        Ok("wrong-key") => Mode::WrongKey,
        Ok("bad-length") => Mode::BadLength,
        Ok("escape-error") => Mode::EscapeError,
        Ok("key-in-error") => Mode::KeyInError,
        Ok("refuse") => Mode::Refuse,
        Ok("orphan") => Mode::Orphan,
        _ => Mode::Normal,
    }
}

fn x25519_identity(secret: &[u8]) -> Option<age::x25519::Identity> {
    let text = bech32::encode(
        "age-secret-key-",
        secret.to_base32(),
        bech32::Variant::Bech32,
    )
    .ok()?
    .to_uppercase();
    text.parse().ok()
}

fn x25519_recipient(public: &[u8]) -> Option<age::x25519::Recipient> {
    bech32::encode("age", public.to_base32(), bech32::Variant::Bech32)
        .ok()?
        .parse()
        .ok()
}

fn bech32_bytes(text: &str) -> Vec<u8> {
    let (_, data, _) = bech32::decode(text).expect("bech32");
    Vec::<u8>::from_base32(&data).expect("base32")
}

fn generate() {
    let identity = age::x25519::Identity::generate();
    let secret = bech32_bytes(identity.to_string().expose_secret());
    let public = bech32_bytes(&identity.to_public().to_string());
    println!("# A software key for ceremony's tests: this identity IS the key.");
    age_plugin::print_new_identity(NAME, &secret, &public);
}

/// What the plugin may do where it runs, written to `path`.
#[allow(unsafe_code)]
fn probe(path: &str) {
    let mut out = String::new();
    for (name, family) in [
        ("inet", libc::AF_INET),
        ("inet6", libc::AF_INET6),
        ("unix", libc::AF_UNIX),
    ] {
        // SAFETY: integer arguments; a descriptor that opens is closed.
        let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        if fd >= 0 {
            // SAFETY: `fd` was just opened here.
            unsafe { libc::close(fd) };
            out.push_str(&format!("{name}: opened\n"));
        } else {
            let e = io::Error::last_os_error();
            out.push_str(&format!(
                "{name}: refused errno {}\n",
                e.raw_os_error().unwrap_or(0)
            ));
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for field in ["NoNewPrivs", "Seccomp"] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .map(str::trim)
            .unwrap_or("?");
        out.push_str(&format!("{field}: {value}\n"));
    }
    let cwd = std::env::current_dir().map(|d| d.display().to_string());
    out.push_str(&format!("cwd: {}\n", cwd.unwrap_or_default()));
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        out.push_str(&format!("fd{fd}: {target}\n"));
    }
    let marker = std::env::var("CEREMONYTEST_MARKER").unwrap_or_default();
    out.push_str(&format!("marker: {marker}\n"));
    std::fs::write(path, out).expect("probe file");
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrapper;
    type IdentityV1 = Unwrapper;

    fn recipient_v1(self) -> io::Result<Wrapper> {
        Ok(Wrapper::default())
    }

    fn identity_v1(self) -> io::Result<Unwrapper> {
        Ok(Unwrapper::default())
    }
}

#[derive(Default)]
struct Wrapper {
    recipients: Vec<age::x25519::Recipient>,
}

impl RecipientPluginV1 for Wrapper {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        match x25519_recipient(bytes).filter(|_| plugin_name == NAME) {
            Some(r) => {
                self.recipients.push(r);
                Ok(())
            }
            None => Err(recipient::Error::Recipient {
                index,
                message: "not a ceremonytest recipient".into(),
            }),
        }
    }

    fn add_identity(&mut self, index: usize, _: &str, _: &[u8]) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "encrypting to an identity is not supported".into(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        match mode() {
            Mode::Silent => std::thread::sleep(Duration::from_secs(3600)),
            Mode::Refuse => {
                return Ok(Err(vec![recipient::Error::Recipient {
                    index: 0,
                    message: "this token is locked".into(),
                }]));
            }
            _ => {}
        }
        use age::Recipient as _;
        let mut out = Vec::new();
        for file_key in &file_keys {
            let mut stanzas = Vec::new();
            for r in &self.recipients {
                let (wrapped, _) = r
                    .wrap_file_key(file_key)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                stanzas.extend(wrapped.into_iter().map(|mut s| {
                    s.tag = TAG.to_owned();
                    s
                }));
            }
            out.push(stanzas);
        }
        Ok(Ok(out))
    }
}

#[derive(Default)]
struct Unwrapper {
    identities: Vec<age::x25519::Identity>,
}

fn refuse(index: usize, message: &str) -> identity::Error {
    identity::Error::Identity {
        index,
        message: message.to_owned(),
    }
}

/// Writes a raw protocol stanza (`-> TAG ARGS` and a base64 body).
fn raw_stanza(out: &mut impl Write, tag: &str, args: &[&str], body: &[u8]) -> io::Result<()> {
    use base64::Engine;
    let mut text = format!("-> {tag}");
    for a in args {
        text.push(' ');
        text.push_str(a);
    }
    text.push('\n');
    let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(body);
    let mut rest = encoded.as_str();
    while rest.len() >= 64 {
        let (line, tail) = rest.split_at(64);
        text.push_str(line);
        text.push('\n');
        rest = tail;
    }
    text.push_str(rest);
    text.push('\n');
    out.write_all(text.as_bytes())?;
    out.flush()
}

impl IdentityPluginV1 for Unwrapper {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        match x25519_identity(bytes).filter(|_| plugin_name == NAME) {
            Some(id) => {
                self.identities.push(id);
                Ok(())
            }
            None => Err(refuse(index, "not a ceremonytest identity")),
        }
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let ours = |s: &Stanza| s.tag == TAG;
        let mut out = HashMap::new();
        if !files.iter().flatten().any(ours) {
            return Ok(out);
        }
        match mode() {
            Mode::Normal | Mode::Refuse => {}
            Mode::Silent => std::thread::sleep(Duration::from_secs(3600)),
            Mode::FloodOutput => {
                let chunk = [b'A'; 1 << 16];
                let mut stdout = io::stdout().lock();
                while stdout.write_all(&chunk).is_ok() {}
                std::process::exit(0);
            }
            Mode::FloodMessages => loop {
                if callbacks.message("spam")?.is_err() {
                    std::process::exit(0);
                }
            },
            Mode::Garbage => {
                let mut stdout = io::stdout().lock();
                stdout.write_all(b"this is not the age plugin protocol\n")?;
                stdout.flush()?;
                let mut sink = Vec::new();
                let _ = io::stdin().read_to_end(&mut sink);
                std::process::exit(0);
            }
            Mode::Die => std::process::exit(3),
            Mode::Orphan => {
                // The child keeps the plugin's stdout (the pipe to the age
                // client) open after the plugin is gone.
                let _ = std::process::Command::new("sleep")
                    .arg("3600")
                    .stdin(std::process::Stdio::null())
                    .spawn();
                std::process::exit(0);
            }
            Mode::BadLength => {
                let mut stdout = io::stdout().lock();
                raw_stanza(&mut stdout, "file-key", &["0"], &[1, 2, 3, 4, 5])?;
                let mut line = String::new();
                let mut stdin = io::BufReader::new(io::stdin());
                // The client's answer: "-> ok" and its empty body line.
                for _ in 0..2 {
                    line.clear();
                    io::BufRead::read_line(&mut stdin, &mut line)?;
                }
                raw_stanza(&mut stdout, "done", &[], &[])?;
                std::process::exit(0);
            }
            Mode::EscapeError => {
                out.insert(
                    0,
                    Err(vec![refuse(
                        0,
                        "\u{1b}[2J\u{1b}[31mtoken locked\u{1b}[0m\u{202e}reversed",
                    )]),
                );
                return Ok(out);
            }
            Mode::KeyInError => {
                out.insert(
                    0,
                    Err(vec![refuse(
                        0,
                        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
                    )]),
                );
                return Ok(out);
            }
            Mode::WrongKey => {
                for (i, file) in files.iter().enumerate() {
                    if file.iter().any(ours) {
                        out.insert(i, Ok(FileKey::new(Box::new([7; 16]))));
                    }
                }
                return Ok(out);
            }
        }
        if std::env::var_os("CEREMONYTEST_INSERT").is_some() {
            match callbacks.confirm(
                "Insert your ceremonytest token",
                "It is inserted",
                Some("Skip it"),
            )? {
                Ok(true) => {}
                Ok(false) => return Ok(out),
                Err(_) => {
                    out.insert(0, Err(vec![refuse(0, "the token was not inserted")]));
                    return Ok(out);
                }
            }
        }
        if let Ok(pin) = std::env::var("CEREMONYTEST_PIN") {
            match callbacks.request_secret("Enter the PIN of your ceremonytest token")? {
                Ok(typed) if typed.expose_secret() == pin => {}
                Ok(_) => {
                    out.insert(0, Err(vec![refuse(0, "wrong PIN")]));
                    return Ok(out);
                }
                Err(_) => {
                    out.insert(0, Err(vec![refuse(0, "a PIN is required")]));
                    return Ok(out);
                }
            }
        }
        if std::env::var_os("CEREMONYTEST_TOUCH").is_some() {
            let _ = callbacks.message("Touch your ceremonytest token")?;
        }
        use age::Identity as _;
        for (i, file) in files.iter().enumerate() {
            for stanza in file.iter().filter(|s| ours(s)) {
                let native = Stanza {
                    tag: "X25519".to_owned(),
                    args: stanza.args.clone(),
                    body: stanza.body.clone(),
                };
                if let Some(key) = self
                    .identities
                    .iter()
                    .find_map(|id| id.unwrap_stanza(&native))
                {
                    out.insert(
                        i,
                        key.map_err(|_| vec![refuse(0, "the stanza does not unwrap")]),
                    );
                    break;
                }
            }
        }
        Ok(out)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(machine) = args.iter().find_map(|a| a.strip_prefix("--age-plugin=")) {
        if let Ok(path) = std::env::var("CEREMONYTEST_PROBE") {
            probe(&path);
        }
        if mode() == Mode::Die && machine == "recipient-v1" {
            std::process::exit(3);
        }
        return run_state_machine(machine, Handler);
    }
    if args.iter().any(|a| a == "--generate") {
        generate();
        return Ok(());
    }
    eprintln!("usage: age-plugin-ceremonytest --generate (a test plugin of ceremony)");
    std::process::exit(2);
}
