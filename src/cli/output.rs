//! Everything the command line writes, and the rules for writing it.
//!
//! * **Notes** (progress, warnings, hints) go to stderr through [`note!`].
//!   A note that cannot be written (stderr closed or on a full disk) is
//!   dropped: there is nowhere left to say so, and it never decides the
//!   outcome.
//! * **Listings** (reports, summaries) go to stdout through [`Listing`].
//!   When the reader goes away (`ceremony … | head`), the listing stops
//!   quietly; the command still exits with its own outcome, so a closed
//!   pipe never turns a failure into success. Any other write error (a
//!   full disk) fails the command with exit 8.
//! * **Products** (a secret, a sealed or opened file, a manifest) go to
//!   stdout through [`product`]: every byte is delivered or the command
//!   fails with exit 8, a closed pipe included. A secret product also
//!   refuses a terminal unless the operator passed `--allow-terminal`
//!   ([`SecretStdout`]): the one home of that rule.
//!
//! Text that comes from input files (paths, names, reasons quoting them) is
//! passed through [`printable`] first, so a file cannot drive the
//! operator's terminal with escape sequences.

use std::io::{IsTerminal, Write};

use ceremony::report::Report;

use super::CliError;

/// Writes a note to stderr; a failure to write is dropped (see the module
/// doc).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use note;

/// stdout for a listing: stops quietly once the reader is gone.
pub struct Listing {
    out: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Listing {
    /// Locks stdout.
    pub fn new() -> Self {
        Self {
            out: std::io::stdout().lock(),
            closed: false,
        }
    }

    /// Writes one line.
    pub fn line(&mut self, text: &str) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        let result = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        self.settle(result)
    }

    /// Flushes; call once at the end.
    pub fn finish(mut self) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        let result = self.out.flush();
        self.settle(result)
    }

    fn settle(&mut self, result: std::io::Result<()>) -> Result<(), CliError> {
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(source) => Err(CliError::Output { source }),
        }
    }
}

/// Writes a product to stdout: all of it, or an error (exit 8).
pub fn product(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Output { source })
}

/// Says on stderr which leftovers of killed runs a write removed and which
/// it left alone, and why (`fsio`'s module doc). Each path is said once per
/// process: a command that checks its output directory first and writes
/// it later, or writes many files into one directory, finds the same
/// leftovers more than once, and printing what each write found as soon
/// as it returns means a command that fails later still says what was
/// removed.
pub fn leftovers(found: &ceremony::fsio::Leftovers) {
    use std::collections::BTreeSet;
    use std::path::PathBuf;
    use std::sync::Mutex;
    static SAID: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let Ok(mut said) = SAID.lock() else {
        return;
    };
    let shown = |p: &std::path::Path| printable(&p.display().to_string());
    for path in &found.removed {
        if said.insert(path.clone()) {
            note!("note: removed a leftover of a killed run: {}", shown(path));
        }
    }
    for kept in &found.kept {
        if said.insert(kept.path.clone()) {
            note!(
                "note: kept {}, which looks like a leftover of another run: {}; remove it by hand once you know nothing is writing it",
                shown(&kept.path),
                printable(&kept.why.to_string())
            );
        }
    }
}

/// Set by `ceremony run` for a step whose script names no `stdout` file:
/// its stdout is the run's own (a screen, or a log the operator keeps), and
/// no secret may go there, `--allow-terminal` or not. Not a secret itself.
pub const STEP_WITHOUT_STDOUT_FILE: &str = "CEREMONY_STEP_WITHOUT_STDOUT_FILE";

/// Permission to write a secret to stdout, checked before anything secret
/// exists: stdout is not a terminal, or the operator allowed one; and it is
/// not the output of `ceremony run` ([`STEP_WITHOUT_STDOUT_FILE`]).
pub struct SecretStdout(());

impl SecretStdout {
    /// Checks stdout now (before any share is opened).
    pub fn check(allow_terminal: bool) -> Result<Self, CliError> {
        if std::env::var_os(STEP_WITHOUT_STDOUT_FILE).is_some() {
            return Err(CliError::SecretFromStep);
        }
        if std::io::stdout().is_terminal() && !allow_terminal {
            return Err(CliError::SecretToTerminal);
        }
        Ok(Self(()))
    }

    /// Writes the secret.
    pub fn write(self, bytes: &[u8]) -> Result<(), CliError> {
        product(bytes)
    }
}

/// Pretty JSON and a newline, as a product (a consumer parses all of it).
pub fn json(value: &serde_json::Value) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    product(text.as_bytes())
}

/// Escapes control characters (ESC, CR, BEL, …) so that text read from a
/// file cannot drive the terminal, and the characters that reorder or hide
/// text (`ceremony::text::is_hidden`) so that what is shown is what is there.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else if ceremony::text::is_hidden(c) {
                // Bidi overrides, zero-widths: shown as what they are.
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The version of the report JSON (`docs/formats/report.md`).
pub const REPORT_FORMAT: &str = "ceremony.report.v1";

/// Which checks a report shows on a terminal (the JSON has every check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// Every check.
    All,
    /// Everything but the checks that passed (a report over many files).
    Problems,
}

/// Renders a report: one line per check (`✓ check subject   detail`), or
/// the report JSON. `command` names the command in the JSON.
pub fn report(report: &Report, command: &str, as_json: bool) -> Result<(), CliError> {
    report_showing(report, command, as_json, Show::All)
}

/// [`report`], choosing which checks a terminal shows.
pub fn report_showing(
    report: &Report,
    command: &str,
    as_json: bool,
    show: Show,
) -> Result<(), CliError> {
    if as_json {
        return json(&serde_json::json!({
            "format": REPORT_FORMAT,
            "command": command,
            "passed": report.passed(),
            "checks": report.checks,
        }));
    }
    let mut out = Listing::new();
    let shown = Report {
        checks: report
            .checks
            .iter()
            .filter(|c| show == Show::All || c.status != ceremony::report::Status::Pass)
            .cloned()
            .collect(),
    };
    for line in report_lines(&shown, "") {
        out.line(&line)?;
    }
    out.finish()
}

/// The error of a report that did not pass: what was checked, how many
/// checks failed, and the first failure's detail.
pub fn not_verified(report: &Report, what: &str) -> CliError {
    let failed = report.failures().count();
    let first = report
        .failures()
        .next()
        .map(|c| format!(": {}", c.detail))
        .unwrap_or_default();
    CliError::NotVerified(format!("{what}: {failed} check(s) failed{first}"))
}

/// The lines of a report as [`report`] prints them, each prefixed.
pub fn report_lines(report: &Report, prefix: &str) -> Vec<String> {
    report
        .checks
        .iter()
        .map(|check| {
            let label = if check.subject.is_empty() {
                check.check.to_string()
            } else {
                format!("{} {}", check.check, check.subject)
            };
            // Labels longer than the column still get two spaces before
            // the detail, so the two never run together.
            let label = printable(&label);
            let gap = if label.chars().count() >= 40 {
                "  "
            } else {
                " "
            };
            format!(
                "{prefix}{} {label:<40}{gap}{}",
                check.status.mark(),
                printable(&check.detail)
            )
            .trim_end()
            .to_owned()
        })
        .collect()
}
