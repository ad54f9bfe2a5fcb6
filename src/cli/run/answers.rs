//! Where `ceremony run` gets its answers: the terminal (asked with
//! prompts), or one per line from a file or stdin.

use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ceremony::fsio;
use ceremony::script::walk::{Answer, Decision};
use ceremony::script::{self, PlannedStep, Roster, SignOffs};
use ceremony::transcript::Role;

use super::super::CliError;
use super::super::output::{self, note};

/// The longest answer line read (bytes).
const MAX_ANSWER_BYTES: u64 = 8 * 1024;

/// Where confirmations and decisions come from.
pub(super) enum Answers {
    /// Asked on the terminal.
    Terminal,
    /// One per line, all read up front from a regular file.
    File { lines: std::vec::IntoIter<String> },
    /// One per line, read from stdin as each question comes.
    Stdin,
}

impl Answers {
    pub(super) fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) if p == Path::new("-") => Ok(Answers::Stdin),
            Some(p) => {
                let bytes = fsio::read(p)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| CliError::Input(format!("{}: not UTF-8 text", p.display())))?;
                let lines: Vec<String> = text.lines().map(str::to_owned).collect();
                Ok(Answers::File {
                    lines: lines.into_iter(),
                })
            }
            None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
                Ok(Answers::Terminal)
            }
            None => Err(CliError::Usage(
                "ceremony run asks the witnesses to confirm and decide, and there is no terminal to ask on: give --answers FILE (or - for stdin)".into(),
            )
            .into()),
        }
    }

    /// What a step's command reads as stdin: the terminal or our own
    /// stdin, except when our stdin carries the answers.
    pub(super) fn child_stdin(&self) -> std::process::Stdio {
        match self {
            Answers::Stdin => std::process::Stdio::null(),
            _ => std::process::Stdio::inherit(),
        }
    }

    /// The next answer from a file or stdin, for `step`.
    pub(super) fn next(&mut self, step: &str, question: &str) -> Result<Answer> {
        // Said before waiting, so that whoever feeds stdin knows what is asked.
        note!("awaiting answer for step {step}: {question}");
        match self.read_answer()? {
            Some(answer) => Ok(answer.for_step(step, question)?),
            None => Err(script::Error::Answer(format!(
                "the answers ended before step {step} was answered ({question})"
            ))
            .into()),
        }
    }

    /// Whether they are asked on the terminal.
    pub(super) fn is_terminal(&self) -> bool {
        matches!(self, Answers::Terminal)
    }

    /// The next sign-off: which witness, and their signature file; `None`
    /// when no more come now (the answers end, or the operator says so).
    pub(super) fn next_sign_off(
        &mut self,
        sign_offs: &SignOffs<'_>,
    ) -> Result<Option<(String, PathBuf)>> {
        if self.is_terminal() {
            return ask_sign_off(sign_offs);
        }
        // Said before waiting, so that whoever feeds stdin knows what is asked.
        note!(
            "awaiting answer for sign-off: {} of {} witness sign-off(s) so far",
            sign_offs.count(),
            sign_offs.needed()
        );
        match self.read_answer()? {
            Some(answer) => Ok(Some(answer.into_sign_off()?)),
            None => Ok(None),
        }
    }

    /// The next answer line of a file or stdin, blank lines and comments
    /// passed over; `None` at the end.
    fn read_answer(&mut self) -> Result<Option<Answer>> {
        loop {
            let line = match self {
                Answers::Terminal => unreachable_terminal()?,
                Answers::File { lines } => lines.next(),
                Answers::Stdin => read_stdin_line()?,
            };
            let Some(line) = line else {
                return Ok(None);
            };
            if let Some(answer) = Answer::parse(&line)? {
                return Ok(Some(answer));
            }
        }
    }
}

fn unreachable_terminal() -> Result<Option<String>> {
    Err(anyhow::anyhow!(
        "internal: terminal answers are asked, not read"
    ))
}

fn read_stdin_line() -> Result<Option<String>> {
    let mut line = Vec::new();
    let stdin = std::io::stdin();
    let mut limited = stdin.lock().take(MAX_ANSWER_BYTES + 1);
    let n = limited
        .read_until(b'\n', &mut line)
        .context("reading an answer from stdin")?;
    if n == 0 {
        return Ok(None);
    }
    if line.len() as u64 > MAX_ANSWER_BYTES {
        return Err(CliError::Input(format!(
            "an answer on stdin is longer than {MAX_ANSWER_BYTES} bytes"
        ))
        .into());
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| CliError::Input("an answer on stdin is not UTF-8".into()).into())
}

/// On the terminal: which witness signs off now, and their signature
/// file; `None` when no more sign off now.
fn ask_sign_off(sign_offs: &SignOffs<'_>) -> Result<Option<(String, PathBuf)>> {
    const NO_MORE: &str = "no more sign-offs now";
    let mut names = sign_offs.missing();
    names.push(NO_MORE);
    let who = select("Which witness signs off now?", &names)?;
    if who == NO_MORE {
        return Ok(None);
    }
    let path: String = dialoguer::Input::new()
        .with_prompt(format!(
            "{who}: your signature file (NAME.signoff.sig or .minisig)"
        ))
        .interact_text()
        .map_err(|_| CliError::Cancelled)?;
    Ok(Some((who, PathBuf::from(path.trim()))))
}

pub(super) fn ask_confirm(
    answers: &mut Answers,
    roster: &Roster,
    step: &PlannedStep,
    text: &str,
    role: Role,
) -> Result<(String, bool)> {
    if matches!(answers, Answers::Terminal) {
        let names = roster.of(role);
        let who = select(&format!("Who confirms, as {}?", role.as_str()), &names)?;
        let yes = dialoguer::Confirm::new()
            .with_prompt(format!("{who}: {}  Done?", output::printable(text)))
            .default(false)
            .interact()
            .map_err(|_| CliError::Cancelled)?;
        return Ok((who, yes));
    }
    let question = format!("confirmed by a {}", role.as_str());
    Ok(answers.next(&step.id, &question)?.into_confirmation()?)
}

pub(super) fn ask_decision(
    answers: &mut Answers,
    roster: &Roster,
    step: &PlannedStep,
    is_run: bool,
) -> Result<Decision> {
    if !matches!(answers, Answers::Terminal) {
        let question = "an exception: the operator's reason and a witness's decision, or stop";
        return Ok(answers.next(&step.id, question)?.into_decision()?);
    }
    let mut choices = vec!["stop the ceremony", "go on past this step, as an exception"];
    if is_run {
        choices.push("run it again with other arguments, as an exception");
    }
    let choice = dialoguer::Select::new()
        .with_prompt(format!("Operator {}: what now?", roster.operator()))
        .items(&choices)
        .default(0)
        .interact()
        .map_err(|_| CliError::Cancelled)?;
    if choice == 0 {
        return Ok(Decision::Stop);
    }
    let reason: String = dialoguer::Input::new()
        .with_prompt(format!("Operator {}: the reason", roster.operator()))
        .interact_text()
        .map_err(|_| CliError::Cancelled)?;
    let run = if choice == 2 {
        let line: String = dialoguer::Input::new()
            .with_prompt("The arguments to run instead, after `ceremony` (separated by spaces)")
            .interact_text()
            .map_err(|_| CliError::Cancelled)?;
        Some(line.split_whitespace().map(str::to_owned).collect())
    } else {
        None
    };
    let witnesses = roster.of(Role::Witness);
    let witness = select("Which witness decides?", &witnesses)?;
    let accepted = dialoguer::Confirm::new()
        .with_prompt(format!(
            "Witness {witness}: do you accept this exception (\"{}\")?",
            output::printable(&reason)
        ))
        .default(false)
        .interact()
        .map_err(|_| CliError::Cancelled)?;
    Ok(Decision::Exception {
        reason,
        run,
        witness,
        accepted,
    })
}

fn select(prompt: &str, names: &[&str]) -> Result<String> {
    let index = dialoguer::Select::new()
        .with_prompt(prompt)
        .items(names)
        .default(0)
        .interact()
        .map_err(|_| CliError::Cancelled)?;
    Ok(names.get(index).copied().unwrap_or_default().to_owned())
}
