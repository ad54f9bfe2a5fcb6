//! `ceremony run SCRIPT`: walks a ceremony script with the people in the
//! room. The walk itself (what each outcome means, what comes next, what
//! is recorded) is the library's ([`ceremony::script::walk`]); this module
//! shows each step, runs the ceremony binary itself for it (with the
//! script's argument list, never a shell), asks for confirmations and
//! decisions on the terminal or reads them from an answers file, and
//! appends every record.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use ceremony::clock::SystemClock;
use ceremony::fsio::{self, Cap};
use ceremony::script::walk::{Next, Walk};
use ceremony::script::{self, Planned, PlannedStep, Recorder, Roster, Script, Values};
use ceremony::transcript::{self, Role};
use ceremony::words::Digest;
use clap::CommandFactory;

use super::CliError;
use super::args::{Cli, RunArgs};
use super::output::{self, Listing, note};

mod answers;

use answers::{Answers, ask_confirm, ask_decision};

/// Whether the command `argv` names takes the air-gap flags: then the
/// run's own `--allow-online` (and the testing `--system-root`) go to it.
/// Read from the one flag definition, so no list here can fall behind it.
fn takes_gate(argv: &[String]) -> bool {
    let mut command = Cli::command();
    // Commands get their flags when built (clap `defer`, see `args`).
    command.build();
    for arg in argv {
        match command.find_subcommand(arg) {
            Some(sub) => command = sub.clone(),
            None => break,
        }
    }
    command
        .get_arguments()
        .any(|a| a.get_id().as_str() == "system_root")
}

fn gate_flags(args: &RunArgs) -> Vec<String> {
    let mut flags = Vec::new();
    if args.preflight.allow_online {
        flags.push("--allow-online".to_owned());
    }
    if let Some(dir) = &args.preflight.system_root {
        flags.push(format!("--system-root={}", dir.display()));
    }
    flags
}

/// Runs `ceremony run`.
pub fn run(args: &RunArgs, transcript_path: Option<&Path>) -> Result<()> {
    let bytes = fsio::read_input(&args.script, Cap::Document)?;
    let script = Script::parse(&args.script, &bytes).map_err(script::Error::from)?;
    let values = Values::new(&script, &args.sets)?;
    let transcript_text = transcript_path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "TRANSCRIPT".to_owned());
    if args.plan {
        return print_plan(&script, &script.plan(&values, &transcript_text), args);
    }
    let Some(path) = transcript_path else {
        return Err(CliError::Usage(
            "ceremony run records the ceremony: give --transcript FILE (before or after `run`)"
                .into(),
        )
        .into());
    };
    let operator = args.operator.as_deref().unwrap_or_default();
    let roster = Roster::new(&script, operator, &args.witnesses, &args.custodians)?;
    let mut answers = Answers::open(args.answers.as_deref())?;
    let gate = gate_flags(args);
    // A transcript that does not verify is never extended: found now,
    // before anyone is asked anything.
    let mut recorder = Recorder::open(path)?;

    let (mut walk, start) = Walk::start(&script, roster, &values, &transcript_text);
    let total = walk.steps().len();
    recorder.append(start, &SystemClock)?;
    note!(
        "Ceremony {} (script {} version {}, sha256 {}): {total} step(s). Operator {}; witnesses {}{}.",
        script.title,
        script.name,
        script.version,
        script.sha256().to_hex(),
        walk.roster().operator(),
        walk.roster().of(Role::Witness).join(", "),
        match walk.roster().of(Role::Custodian) {
            c if c.is_empty() => String::new(),
            c => format!("; custodians {}", c.join(", ")),
        }
    );
    let outcome = walk_steps(&mut walk, &mut answers, &mut recorder, &gate, total);
    // Whatever happened, the ceremony's end is recorded: a stop, an answer
    // out of step, a command that could not start.
    let end = recorder.append(walk.end(), &SystemClock);
    outcome?;
    end?;
    if let Some(stopped) = walk.stopped() {
        return Err(stopped.into());
    }
    finish(&recorder, &script)?;
    match &args.trust {
        Some(trust) => {
            collect_sign_offs(&mut recorder, &mut answers, walk.roster(), trust, &script)
        }
        None => Ok(()),
    }
}

/// Once the ceremony has ended: the witnesses' sign-offs, each checked
/// against the TRUSTFILE at `trust` and attached, until the script has
/// as many as it requires, or no more come now (the answers end, or the
/// operator says so on the terminal); the others sign off later with the
/// commands printed.
fn collect_sign_offs(
    recorder: &mut Recorder,
    answers: &mut Answers,
    roster: &Roster,
    trust: &Path,
    script: &Script,
) -> Result<()> {
    let trust = super::transcript::load_witnesses(trust)?;
    let mut sign_offs = script::SignOffs::new(script.sign_offs, roster, &trust);
    while !sign_offs.complete() {
        let next = answers.next_sign_off(&sign_offs)?;
        let Some((witness, signature)) = next else {
            break;
        };
        let attached = fsio::read(&signature)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| {
                let source_name = signature.display().to_string();
                Ok(sign_offs.attach(recorder, &witness, &bytes, &source_name, &SystemClock)?)
            });
        match attached {
            Ok(attached) => note!(
                "  ✓ {witness} signed off (record {}, {}): {} of {}",
                attached.record.seq,
                attached.verified_by.unwrap_or_default(),
                sign_offs.count(),
                sign_offs.needed()
            ),
            // On a terminal a sign-off that does not verify is asked again.
            Err(e) if answers.is_terminal() => note!("  ✗ {e:#}"),
            Err(e) => return Err(e),
        }
    }
    if !sign_offs.complete() {
        note!(
            "{} of {} sign-off(s) attached: the other witnesses sign off with the commands above.",
            sign_offs.count(),
            sign_offs.needed()
        );
    }
    Ok(())
}

fn walk_steps(
    walk: &mut Walk,
    answers: &mut Answers,
    recorder: &mut Recorder,
    gate: &[String],
    total: usize,
) -> Result<()> {
    while let Some((n, step)) = walk.current() {
        let step = step.clone();
        let mut argv = walk.current_argv().unwrap_or_default().to_vec();
        if takes_gate(&argv) {
            argv.extend(gate.iter().cloned());
        }
        show(n, total, &step, &argv);
        let (entry, next) = match &step.action {
            Planned::Run { expect, stdout, .. } => {
                let ran = run_step(recorder, &argv, stdout.as_deref(), *expect, answers)?;
                walk.ran(
                    ran.exit_code,
                    ran.command_seq,
                    &ran.outcome,
                    ran.problem.as_deref(),
                )?
            }
            Planned::Confirm { text, by } => {
                let (who, yes) = ask_confirm(answers, walk.roster(), &step, text, *by)?;
                walk.confirmed(&who, yes)?
            }
        };
        recorder.append(entry, &SystemClock)?;
        if next == Next::Decide {
            note!("  ✗ step {} did not go as the script expects.", step.id);
            let is_run = matches!(step.action, Planned::Run { .. });
            loop {
                let decision = ask_decision(answers, walk.roster(), &step, is_run)?;
                match walk.decide(decision) {
                    Ok((entry, next)) => {
                        if let Some(entry) = entry {
                            recorder.append(entry, &SystemClock)?;
                        }
                        if next == Next::Stop {
                            return Ok(());
                        }
                        break;
                    }
                    // On a terminal, a decision that does not fit is asked again.
                    Err(e) if matches!(answers, Answers::Terminal) => note!("{e}"),
                    Err(e) => return Err(e.into()),
                }
            }
        } else {
            note!("  ✓ {}", step.id);
        }
    }
    Ok(())
}

fn show(n: usize, total: usize, step: &PlannedStep, argv: &[String]) {
    note!("");
    note!(
        "[{n}/{total}] {}: {}",
        step.id,
        output::printable(&step.title)
    );
    if let Some(text) = &step.note {
        note!("  {}", output::printable(text));
    }
    match &step.action {
        Planned::Run { stdout, .. } => {
            let target = stdout
                .as_ref()
                .map(|p| format!(" > {}", p.display()))
                .unwrap_or_default();
            note!(
                "  $ ceremony {}{}",
                output::printable(&argv.join(" ")),
                output::printable(&target)
            );
        }
        Planned::Confirm { text, by } => {
            note!("  {} confirms: {}", by.as_str(), output::printable(text));
        }
    }
}

struct Ran {
    exit_code: u8,
    command_seq: Option<u64>,
    outcome: String,
    problem: Option<String>,
}

/// Runs `ceremony --transcript PATH ARGV…` (this very binary), then finds
/// the command record it appended.
fn run_step(
    recorder: &mut Recorder,
    argv: &[String],
    stdout: Option<&Path>,
    expect: u8,
    answers: &Answers,
) -> Result<Ran> {
    let path = recorder.path().to_owned();
    let path = path.as_path();
    let records_before = recorder.current()?.records.len();
    let exe = std::env::current_exe().context("finding the ceremony binary to run the step")?;
    let mut command = Command::new(exe);
    command
        .arg("--transcript")
        .arg(path)
        .args(argv)
        .stdin(answers.child_stdin())
        .stderr(Stdio::inherit());
    // A product (an emitted Secret) is captured and written only when the
    // step succeeds, owner-only and never over a file: nothing half-written.
    if let Some(target) = stdout {
        if let Some(problem) = script::product_target_problem(target) {
            return Ok(Ran {
                exit_code: 0,
                command_seq: None,
                outcome: String::new(),
                problem: Some(problem),
            });
        }
        command
            .stdout(Stdio::piped())
            .env_remove(output::STEP_WITHOUT_STDOUT_FILE);
    } else {
        // The run's own output: listings may go there, a secret may not.
        command
            .stdout(Stdio::inherit())
            .env(output::STEP_WITHOUT_STDOUT_FILE, "1");
    }
    let mut child = command.spawn().context("starting the step's command")?;
    let mut captured = zeroize::Zeroizing::new(Vec::new());
    if let Some(out) = child.stdout.take() {
        out.take(script::MAX_PRODUCT_BYTES + 1)
            .read_to_end(&mut captured)
            .context("reading the step's output")?;
    }
    let status = child.wait().context("waiting for the step's command")?;
    let exit_code = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(super::exit::INTERNAL);
    let verified = transcript::read_verified(path)?;
    let (command_seq, outcome) =
        script::find_command_record(&verified, records_before, path, argv, exit_code);
    recorder.took(&verified, command_seq);
    let mut problem = None;
    if let Some(target) = stdout {
        let end = script::StepEnd {
            exit_code,
            expect,
            recorded: command_seq.is_some(),
        };
        match script::keep_product(target, &captured, end) {
            Ok(script::Kept::Written) => note!("  written {} (owner-only)", target.display()),
            Ok(script::Kept::NotWritten) => {}
            Err(why) => problem = Some(why),
        }
    }
    Ok(Ran {
        exit_code,
        command_seq,
        outcome,
        problem,
    })
}

fn finish(recorder: &Recorder, script: &Script) -> Result<()> {
    let path = recorder.path();
    // The head read aloud is the ceremony's own: its end record, nothing after.
    let verified = recorder.current()?;
    let head = Digest::parse(&verified.ceremony_head)
        .map_err(|e| CliError::Input(format!("the ceremony head: {e}")))?;
    note!("");
    note!(
        "The ceremony is over. Every witness reads its head aloud and writes it down; {} of them sign it off:",
        script.sign_offs
    );
    let mut out = Listing::new();
    super::transcript::print_head(&mut out, &head)?;
    out.finish()?;
    let file = path.display();
    note!("Each witness (docs/witness-guide.md):");
    note!("  ceremony transcript head {file} --witness NAME > NAME.signoff");
    note!(
        "  ssh-keygen -Y sign -n {} -f KEY NAME.signoff     (or: minisign -S -s KEY -m NAME.signoff)",
        transcript::witness::NAMESPACE
    );
    note!(
        "  ceremony transcript sign-off {file} --witness NAME --signature NAME.signoff.sig --witnesses WITNESSES"
    );
    note!(
        "Then: ceremony transcript verify {file} --expect-head \"THE WORDS\" --witnesses WITNESSES"
    );
    Ok(())
}

fn print_plan(script: &Script, plan: &[PlannedStep], args: &RunArgs) -> Result<()> {
    let mut out = Listing::new();
    out.line(&format!(
        "{}: {} (version {}, sha256 {})",
        script.name,
        output::printable(&script.title),
        script.version,
        script.sha256().to_hex()
    ))?;
    let gate = gate_flags(args);
    for (i, step) in plan.iter().enumerate() {
        let line = match &step.action {
            Planned::Run {
                argv,
                expect,
                stdout,
            } => {
                let mut argv = argv.clone();
                if takes_gate(&argv) {
                    argv.extend(gate.iter().cloned());
                }
                let target = stdout
                    .as_ref()
                    .map(|p: &PathBuf| format!(" > {}", p.display()))
                    .unwrap_or_default();
                format!(
                    "ceremony {}{target}   (expect exit {expect})",
                    argv.join(" ")
                )
            }
            Planned::Confirm { text, by } => format!("{} confirms: {text}", by.as_str()),
        };
        out.line(&output::printable(&format!(
            "{:>3}. {}: {}",
            i + 1,
            step.id,
            step.title
        )))?;
        out.line(&format!("       {}", output::printable(&line)))?;
    }
    out.line(&format!("end: {} witness sign-off(s)", script.sign_offs))?;
    out.finish()?;
    Ok(())
}
