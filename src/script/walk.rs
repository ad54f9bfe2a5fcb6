//! Walking a ceremony: what each step's outcome becomes in the transcript,
//! and what comes next.
//!
//! [`Walk`] is the ceremony's state. `ceremony run` asks it for the step to
//! do ([`Walk::current`]), does it (runs the command, or asks the
//! participant to confirm), and hands back what happened ([`Walk::ran`],
//! [`Walk::confirmed`]); each returns the `step` record to append. A step
//! whose outcome is not the one the script expects stops the walk until the
//! operator gives a reason and a witness decides ([`Walk::decide`]): an
//! accepted exception goes on (past the step, or to run it again changed),
//! a refused one ends the ceremony. Answers come from a terminal or, one per
//! line, from a file or stdin ([`Answer::parse`]); either way they name the
//! step they answer, and one for another step is refused, so a stale
//! answer can never confirm the wrong thing.

use serde::Deserialize;

use super::{Error, Planned, PlannedStep, Roster, Script, Values};
use crate::transcript::{Entry, ExceptionKind, Role, StepAction};

/// The longest reason an operator may give (characters).
pub const MAX_REASON_CHARS: usize = 500;

/// What comes after an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// On to [`Walk::current`] (the next step, or the same one changed).
    Go,
    /// Not the expected outcome: an exception must be decided
    /// ([`Walk::decide`]) before anything else.
    Decide,
    /// The ceremony stopped: append [`Walk::end`] and stop.
    Stop,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Ready,
    Deciding,
    Stopped(String),
}

/// A ceremony in progress.
#[derive(Clone, Debug)]
pub struct Walk {
    script: String,
    steps: Vec<PlannedStep>,
    index: usize,
    /// Arguments that replace the current step's, after an accepted
    /// `changed` exception.
    changed: Option<Vec<String>>,
    roster: Roster,
    state: State,
    step_records: u32,
    exceptions: u32,
}

/// The decision on a step that did not go as the script says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The operator stops the ceremony.
    Stop,
    /// The operator asks to go on (past the step, or with `run` instead),
    /// for `reason`; the witness accepts or refuses.
    Exception {
        /// The operator's reason.
        reason: String,
        /// Arguments to run the step with instead.
        run: Option<Vec<String>>,
        /// The witness who decides.
        witness: String,
        /// Their decision.
        accepted: bool,
    },
}

impl Walk {
    /// Begins the ceremony of `script` with `roster` and `values`; returns
    /// the walk and the `ceremony-start` record.
    pub fn start(
        script: &Script,
        roster: Roster,
        values: &Values,
        transcript: &str,
    ) -> (Self, Entry) {
        let entry = Entry::CeremonyStart {
            script: script.name.clone(),
            script_version: script.version,
            script_sha256: script.sha256().to_prefixed_hex(),
            title: script.title.clone(),
            participants: roster.participants().to_vec(),
            params: values.to_params(),
            sign_offs: script.sign_offs,
        };
        let walk = Self {
            script: script.name.clone(),
            steps: script.plan(values, transcript),
            index: 0,
            changed: None,
            roster,
            state: State::Ready,
            step_records: 0,
            exceptions: 0,
        };
        (walk, entry)
    }

    /// Every planned step, in order.
    pub fn steps(&self) -> &[PlannedStep] {
        &self.steps
    }

    /// The step to do now (1-based position, step); `None` once every step
    /// is done or the ceremony stopped.
    pub fn current(&self) -> Option<(usize, &PlannedStep)> {
        match self.state {
            State::Stopped(_) => None,
            _ => self.steps.get(self.index).map(|s| (self.index + 1, s)),
        }
    }

    /// The arguments the current run step runs with: the script's, or
    /// those of an accepted `changed` exception.
    pub fn current_argv(&self) -> Option<&[String]> {
        let (_, step) = self.current()?;
        match &step.action {
            Planned::Run { argv, .. } => Some(self.changed.as_deref().unwrap_or(argv)),
            Planned::Confirm { .. } => None,
        }
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    fn record(
        &mut self,
        step: &PlannedStep,
        action: StepAction,
        expected: String,
        outcome: String,
        as_expected: bool,
        command_seq: Option<u64>,
    ) -> (Entry, Next) {
        self.step_records += 1;
        let entry = Entry::Step {
            step: step.id.clone(),
            title: step.title.clone(),
            action,
            expected,
            outcome,
            as_expected,
            command_seq,
            present: self.roster.names(),
        };
        if as_expected {
            self.index += 1;
            self.changed = None;
            (entry, Next::Go)
        } else {
            self.state = State::Deciding;
            (entry, Next::Decide)
        }
    }

    fn ready(&self) -> Result<PlannedStep, Error> {
        match (&self.state, self.current()) {
            (State::Ready, Some((_, step))) => Ok(step.clone()),
            (State::Deciding, Some((_, step))) => Err(Error::Answer(format!(
                "step {} did not go as expected: decide on an exception first",
                step.id
            ))),
            _ => Err(Error::Answer("the ceremony has no step left to do".into())),
        }
    }

    /// The current run step's command exited with `exit_code`; its command
    /// record is `command_seq` (`None` if it left none), and `outcome` is
    /// that record's outcome (`ok` or the error). A `problem` after the
    /// command (its output could not be delivered) makes the outcome
    /// unexpected whatever the exit code.
    pub fn ran(
        &mut self,
        exit_code: u8,
        command_seq: Option<u64>,
        outcome: &str,
        problem: Option<&str>,
    ) -> Result<(Entry, Next), Error> {
        let step = self.ready()?;
        let Planned::Run { expect, .. } = &step.action else {
            return Err(Error::Answer(format!("step {} is not a command", step.id)));
        };
        let as_expected = exit_code == *expect && command_seq.is_some() && problem.is_none();
        let mut text = format!("exit {exit_code}");
        if let Some(problem) = problem {
            text.push_str(", but ");
            text.push_str(problem);
        } else if command_seq.is_none() {
            text.push_str(" (the command left no record in the transcript)");
        } else if outcome != "ok" {
            text.push_str(": ");
            text.push_str(outcome);
        }
        Ok(self.record(
            &step,
            StepAction::Run,
            format!("exit {expect}"),
            text,
            as_expected,
            command_seq,
        ))
    }

    /// A participant answered the current confirm step.
    pub fn confirmed(&mut self, by: &str, confirmed: bool) -> Result<(Entry, Next), Error> {
        let step = self.ready()?;
        let Planned::Confirm { by: role, .. } = &step.action else {
            return Err(Error::Answer(format!(
                "step {} runs a command; it is not confirmed by hand",
                step.id
            )));
        };
        if !self.roster.has(by, *role) {
            return Err(Error::Answer(format!(
                "step {} is confirmed by a {}; {by} is not one in this ceremony (present: {})",
                step.id,
                role.as_str(),
                self.roster.of(*role).join(", ")
            )));
        }
        let outcome = if confirmed {
            format!("confirmed by {by}")
        } else {
            format!("refused by {by}")
        };
        Ok(self.record(
            &step,
            StepAction::Confirm,
            format!("confirmed by a {}", role.as_str()),
            outcome,
            confirmed,
            None,
        ))
    }

    /// Decides on the step that did not go as expected. Returns the
    /// `exception` record (none for a plain stop) and what comes next.
    pub fn decide(&mut self, decision: Decision) -> Result<(Option<Entry>, Next), Error> {
        let Some((_, step)) = self.current() else {
            return Err(Error::Answer("the ceremony has no step left to do".into()));
        };
        let step = step.clone();
        if self.state != State::Deciding {
            return Err(Error::Answer(format!(
                "step {} went as expected: there is no exception to decide",
                step.id
            )));
        }
        match decision {
            Decision::Stop => {
                self.state = State::Stopped(
                    "its outcome was not the expected one, and the operator stopped the ceremony"
                        .to_owned(),
                );
                Ok((None, Next::Stop))
            }
            Decision::Exception {
                reason,
                run,
                witness,
                accepted,
            } => {
                check_reason(&reason)?;
                if !self.roster.has(&witness, Role::Witness) {
                    return Err(Error::Answer(format!(
                        "an exception is decided by a witness; {witness} is not one in this ceremony (witnesses: {})",
                        self.roster.of(Role::Witness).join(", ")
                    )));
                }
                if let Some(argv) = &run {
                    if matches!(step.action, Planned::Confirm { .. }) {
                        return Err(Error::Answer(format!(
                            "step {} is confirmed by hand: it cannot be run with other arguments",
                            step.id
                        )));
                    }
                    check_changed_argv(argv)?;
                }
                self.exceptions += 1;
                let kind = if run.is_some() {
                    ExceptionKind::Changed
                } else {
                    ExceptionKind::Failed
                };
                let entry = Entry::Exception {
                    step: step.id.clone(),
                    exception: kind,
                    reason,
                    argv: run.clone().unwrap_or_default(),
                    witness: witness.clone(),
                    accepted,
                };
                if !accepted {
                    self.state = State::Stopped(format!("witness {witness} refused the exception"));
                    return Ok((Some(entry), Next::Stop));
                }
                self.state = State::Ready;
                match run {
                    Some(argv) => self.changed = Some(argv),
                    None => {
                        self.index += 1;
                        self.changed = None;
                    }
                }
                Ok((Some(entry), Next::Go))
            }
        }
    }

    /// Why the ceremony stopped, with the step, if it did.
    pub fn stopped(&self) -> Option<Error> {
        match &self.state {
            State::Stopped(why) => Some(Error::Stopped {
                step: self
                    .steps
                    .get(self.index)
                    .map(|s| s.id.clone())
                    .unwrap_or_default(),
                why: why.clone(),
            }),
            _ => None,
        }
    }

    /// The `ceremony-end` record: completed when every step went through.
    pub fn end(&self) -> Entry {
        Entry::CeremonyEnd {
            script: self.script.clone(),
            completed: self.state == State::Ready && self.index >= self.steps.len(),
            steps: self.step_records,
            exceptions: self.exceptions,
        }
    }
}

fn check_reason(reason: &str) -> Result<(), Error> {
    if reason.trim().is_empty() {
        return Err(Error::Answer(
            "an exception needs the operator's reason, in words".into(),
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Error::Answer(format!(
            "the reason is longer than {MAX_REASON_CHARS} characters: write the details in the paper log"
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(Error::Answer(
            "the reason holds a control character: write it on one line".into(),
        ));
    }
    if crate::sops::recipient::looks_private(reason) {
        return Err(Error::Answer(
            "the reason looks like it holds a private key; it was not recorded. Never type a secret into a reason".into(),
        ));
    }
    Ok(())
}

fn check_changed_argv(argv: &[String]) -> Result<(), Error> {
    match argv.first().map(String::as_str) {
        None => {
            return Err(Error::Answer(
                "run = []: name the command to run instead".into(),
            ));
        }
        Some("run") => return Err(Error::Answer("a step cannot run a script".into())),
        Some(first) if first.starts_with('-') => {
            return Err(Error::Answer(format!(
                "run must start with a ceremony command, not {first:?}"
            )));
        }
        _ => {}
    }
    if let Some(why) = argv.iter().find_map(|a| super::reserved_flag(a)) {
        return Err(Error::Answer(why));
    }
    if argv
        .iter()
        .any(|a| crate::sops::recipient::looks_private(a))
    {
        return Err(Error::Answer(
            "an argument looks like a private key; it was not used or recorded".into(),
        ));
    }
    Ok(())
}

/// One answer, as a line of an answers file (or of stdin): a TOML inline
/// table naming the step it answers.
///
/// ```text
/// { step = "offline", confirmed_by = "bob" }
/// { step = "offline", refused_by = "bob" }
/// { step = "verify", exception = "the reason", accepted_by = "bob" }
/// { step = "verify", exception = "the reason", refused_by = "bob" }
/// { step = "verify", exception = "the reason", run = ["root", "verify", "r2"], accepted_by = "bob" }
/// { step = "verify", stop = true }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A confirm step, confirmed or refused by `by`.
    Confirm {
        /// The step.
        step: String,
        /// Who answered.
        by: String,
        /// Yes or no.
        confirmed: bool,
    },
    /// The decision on a step that did not go as expected.
    Decide {
        /// The step.
        step: String,
        /// The decision.
        decision: Decision,
    },
    /// After the ceremony's end: a witness's signature over its head
    /// (`{ sign_off = "wanda", signature = "wanda.signoff.sig" }`).
    SignOff {
        /// The witness.
        witness: String,
        /// Their signature file (ssh-keygen's or minisign's).
        signature: std::path::PathBuf,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAnswer {
    step: Option<String>,
    sign_off: Option<String>,
    signature: Option<String>,
    confirmed_by: Option<String>,
    refused_by: Option<String>,
    accepted_by: Option<String>,
    exception: Option<String>,
    run: Option<Vec<String>>,
    #[serde(default)]
    stop: bool,
}

/// A [`WireAnswer`] to a step.
struct WireStep {
    step: String,
    confirmed_by: Option<String>,
    refused_by: Option<String>,
    accepted_by: Option<String>,
    exception: Option<String>,
    run: Option<Vec<String>>,
    stop: bool,
}

#[derive(Deserialize)]
struct WireLine {
    answer: WireAnswer,
}

impl Answer {
    /// Parses one line. `None` for a blank line or a `#` comment.
    pub fn parse(line: &str) -> Result<Option<Self>, Error> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        if crate::sops::recipient::looks_private(line) {
            return Err(Error::Answer(
                "an answer looks like it holds a private key; it was not used or recorded".into(),
            ));
        }
        let bad = |why: String| Error::Answer(format!("the answer {line:?}: {why}"));
        let wire: WireLine = toml::from_str(&format!("answer = {line}")).map_err(|e| {
            bad(format!(
                "{} (write {{ step = \"ID\", … }}, docs/witness-guide.md)",
                e.message().trim_end()
            ))
        })?;
        let a = wire.answer;
        if let Some(witness) = a.sign_off {
            let only = a.step.is_none()
                && !a.stop
                && a.exception.is_none()
                && a.confirmed_by.is_none()
                && a.accepted_by.is_none()
                && a.refused_by.is_none()
                && a.run.is_none();
            return match (only, a.signature) {
                (true, Some(signature)) => Ok(Some(Answer::SignOff {
                    witness,
                    signature: signature.into(),
                })),
                _ => Err(bad(
                    "a sign-off is { sign_off = \"WITNESS\", signature = \"FILE\" }, and nothing else".into(),
                )),
            };
        }
        let Some(step) = a.step else {
            return Err(bad("give the step it answers: { step = \"ID\", … }".into()));
        };
        if a.signature.is_some() {
            return Err(bad("signature = goes with sign_off = only".into()));
        }
        let a = WireStep {
            step,
            confirmed_by: a.confirmed_by,
            refused_by: a.refused_by,
            accepted_by: a.accepted_by,
            exception: a.exception,
            run: a.run,
            stop: a.stop,
        };
        let answer = match (
            a.stop,
            a.exception,
            a.confirmed_by,
            a.accepted_by,
            a.refused_by,
        ) {
            (true, None, None, None, None) if a.run.is_none() => Answer::Decide {
                step: a.step,
                decision: Decision::Stop,
            },
            (false, None, Some(by), None, None) if a.run.is_none() => Answer::Confirm {
                step: a.step,
                by,
                confirmed: true,
            },
            (false, None, None, None, Some(by)) if a.run.is_none() => Answer::Confirm {
                step: a.step,
                by,
                confirmed: false,
            },
            (false, Some(reason), None, Some(witness), None) => Answer::Decide {
                step: a.step,
                decision: Decision::Exception {
                    reason,
                    run: a.run,
                    witness,
                    accepted: true,
                },
            },
            (false, Some(reason), None, None, Some(witness)) => Answer::Decide {
                step: a.step,
                decision: Decision::Exception {
                    reason,
                    run: a.run,
                    witness,
                    accepted: false,
                },
            },
            _ => {
                return Err(bad(
                    "give confirmed_by or refused_by (a confirm step), exception with accepted_by or refused_by (an exception), or stop = true".into(),
                ));
            }
        };
        Ok(Some(answer))
    }

    /// The step it answers (`sign-off` for a sign-off, which answers
    /// none).
    pub fn step(&self) -> &str {
        match self {
            Answer::Confirm { step, .. } | Answer::Decide { step, .. } => step,
            Answer::SignOff { .. } => "sign-off",
        }
    }

    /// This answer, if it is for `step`; `question` (what the ceremony
    /// asks) is for the error. Answers are read in order, one per
    /// question: one for another step means the answers and the ceremony
    /// have parted ways, and nothing after can be trusted to fit.
    pub fn for_step(self, step: &str, question: &str) -> Result<Self, Error> {
        if let Answer::SignOff { witness, .. } = &self {
            return Err(Error::Answer(format!(
                "the next answer is {witness}'s sign-off, but the ceremony asks about step {step} ({question}): sign-offs come after the ceremony's end"
            )));
        }
        if self.step() == step {
            return Ok(self);
        }
        Err(Error::Answer(format!(
            "the next answer is for step {}, but the ceremony asks about step {step} ({question}): the answers are out of step with the ceremony",
            self.step()
        )))
    }

    /// Who confirmed (or refused) a confirm step, and which: the answer to
    /// a confirm step must be one.
    pub fn into_confirmation(self) -> Result<(String, bool), Error> {
        match self {
            Answer::Confirm { by, confirmed, .. } => Ok((by, confirmed)),
            other => Err(Error::Answer(format!(
                "step {} asks for a confirmation (confirmed_by or refused_by), not an exception",
                other.step()
            ))),
        }
    }

    /// The decision on a step that did not go as expected: the answer
    /// there must be one.
    pub fn into_decision(self) -> Result<Decision, Error> {
        match self {
            Answer::Decide { decision, .. } => Ok(decision),
            other => Err(Error::Answer(format!(
                "step {} did not go as expected: answer with an exception or stop, not a confirmation",
                other.step()
            ))),
        }
    }

    /// A witness's sign-off, which is what the answers may hold once the
    /// ceremony has ended.
    pub fn into_sign_off(self) -> Result<(String, std::path::PathBuf), Error> {
        match self {
            Answer::SignOff { witness, signature } => Ok((witness, signature)),
            other => Err(Error::Answer(format!(
                "the ceremony has ended: the answers may only hold sign-offs now ({{ sign_off = \"WITNESS\", signature = \"FILE\" }}), not an answer for step {}",
                other.step()
            ))),
        }
    }
}
