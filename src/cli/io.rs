//! Reading inputs and writing outputs at the edge: files named on the command
//! line, stdin, identities, and the rule that a secret never lands on a
//! terminal unless the operator asks for it.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use ceremony::fsio;
use zeroize::Zeroizing;

use super::exit;
use super::prompt::TerminalCallbacks;

/// Failures that belong to the command line itself.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Refused to print a secret to a terminal.
    #[error(
        "refusing to print a secret to a terminal: redirect stdout to a file or pipe (for example `> key.txt` on an encrypted disk), or pass --allow-terminal if it may stay on screen"
    )]
    SecretToTerminal,
    /// The machine is online and --allow-online was not given.
    #[error(
        "this machine is online (see the preflight checks above): disconnect it, or pass --allow-online to proceed anyway (recorded)"
    )]
    Online,
    /// A bad argument value that clap cannot check.
    #[error("{0}")]
    Usage(String),
    /// Refused: would break a promise (overwrite, regenerate a root).
    #[error("{0}")]
    Refused(String),
    /// A verification report with failures.
    #[error("{0}")]
    Verification(String),
    /// A bad input that is not a library format.
    #[error("{0}")]
    Input(String),
}

impl CliError {
    /// Its exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::SecretToTerminal | CliError::Online | CliError::Refused(_) => exit::REFUSED,
            CliError::Verification(_) => exit::VERIFICATION,
            CliError::Usage(_) => exit::USAGE,
            CliError::Input(_) => exit::INPUT,
        }
    }
}

/// Reads a file named on the command line.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    Ok(fsio::read(path)?)
}

/// Largest secret accepted on input. Keys are 32 bytes; a file this large is
/// almost certainly the wrong file.
const MAX_SECRET: u64 = 1 << 16;

/// Reads a secret from a file or `-` (stdin) into a wiping buffer. Refuses
/// input longer than [`MAX_SECRET`] rather than silently cutting it.
pub fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(MAX_SECRET as usize + 1));
    let name = if path.as_os_str() == "-" {
        // Typed at a terminal, the secret would be echoed on screen.
        if std::io::stdin().is_terminal() {
            return Err(CliError::Input(
                "refusing to read a secret typed at a terminal (it would be echoed): pipe it in or pass a file".into(),
            )
            .into());
        }
        std::io::stdin()
            .lock()
            .take(MAX_SECRET + 1)
            .read_to_end(&mut buffer)
            .context("reading the secret from stdin")?;
        "stdin".to_owned()
    } else {
        let file = std::fs::File::open(path).map_err(|source| fsio::FsError::Io {
            path: path.to_owned(),
            action: "reading",
            source,
        })?;
        file.take(MAX_SECRET + 1)
            .read_to_end(&mut buffer)
            .map_err(|source| fsio::FsError::Io {
                path: path.to_owned(),
                action: "reading",
                source,
            })?;
        path.display().to_string()
    };
    if buffer.len() as u64 > MAX_SECRET {
        return Err(CliError::Input(format!(
            "{name}: more than {MAX_SECRET} bytes; this is not a key or an init output"
        ))
        .into());
    }
    Ok(buffer)
}

/// Loads every `-i` identity file.
pub fn load_identities(paths: &[std::path::PathBuf]) -> Result<Vec<Box<dyn age::Identity>>> {
    let mut all = Vec::new();
    for path in paths {
        let bytes = Zeroizing::new(read_file(path)?);
        let ids = ceremony::identity::load_identity_file(
            &path.display().to_string(),
            &bytes,
            TerminalCallbacks,
        )?;
        all.extend(ids);
    }
    Ok(all)
}

/// Writes secret text to stdout, refusing a terminal unless allowed.
pub fn emit_secret(text: &[u8], allow_terminal: bool) -> Result<()> {
    let stdout = std::io::stdout();
    if stdout.is_terminal() && !allow_terminal {
        return Err(CliError::SecretToTerminal.into());
    }
    let mut out = stdout.lock();
    out.write_all(text).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// Escapes control characters (ESC, CR, BEL, …) so that text read from a
/// file (a path, a key name, a receipt field) cannot drive the operator's
/// terminal with escape sequences when a report quotes it.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
