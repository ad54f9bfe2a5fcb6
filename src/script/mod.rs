//! Ceremony scripts as data: who is in the room, each step, and what ends
//! the ceremony (`ceremonies/*.toml`, format in `docs/formats/script.md`).
//!
//! A script names the roles it needs (one operator, at least so many
//! witnesses and custodians), its parameters (paths and notes the operator
//! gives with `--set NAME=VALUE`), its steps, and how many witnesses sign
//! off the head at the end. A step is either a ceremony command, run as an
//! argument list (never through a shell), with the exit code it must end
//! with, or a manual action that a participant confirms.
//!
//! This module parses a script ([`Script::parse`]), checks the roster
//! ([`Roster`]) and the values ([`Values`]), expands every step into the
//! exact arguments it will run before anything runs ([`Script::plan`]),
//! and walks the ceremony ([`walk::Walk`]): for each step it turns what
//! happened into the transcript record, and decides what comes next. It
//! runs nothing and asks nobody: `ceremony run` does that and hands the
//! answers in. Scripts and answers never hold secrets: a literal that looks
//! like a private key is refused, and a secret a step needs is prompted for
//! by the command itself.
//!
//! Variables: `{name}` in an argument, an output path or a text is the
//! value of parameter `name` (or of a `for_each` variable, or `{transcript}`,
//! the transcript's path); `{name...}` in an argument makes one argument per
//! value of a list parameter, with the text around it repeated
//! (`"--bundle={bundles...}"`); `{{` and `}}` are literal braces.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::transcript::witness::valid_name;
use crate::transcript::{Param, Participant, Role};
use crate::words::Digest;

mod product;
mod recorder;
pub mod walk;

pub use product::{Kept, MAX_PRODUCT_BYTES, StepEnd, keep_product, product_target_problem};
pub use recorder::{Recorder, SignOffs, find_command_record};

/// The format tag of version 1 scripts.
pub const SCRIPT_FORMAT_V1: &str = "ceremony.script.v1";

/// The largest script accepted (bytes): scripts are short, hand-written files.
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;

/// The variable every script may use: the transcript's path.
pub const TRANSCRIPT_VARIABLE: &str = "transcript";

/// A script that cannot be used: where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {problem}", file.display())]
pub struct ScriptError {
    /// The script file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, and what to change.
    pub problem: String,
}

/// Values, roles or answers that do not fit the script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The script itself.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// A `--set` value, or one missing.
    #[error("{0}")]
    Value(String),
    /// The people given for the roles.
    #[error("{0}")]
    Roster(String),
    /// An answer that does not answer the question asked.
    #[error("{0}")]
    Answer(String),
    /// Something other than the ceremony and its steps' commands wrote to
    /// the transcript while the ceremony ran ([`Recorder`]).
    #[error("{0}")]
    Interfered(String),
    /// The ceremony stopped: a step's outcome was not the expected one and
    /// no witness accepted an exception.
    #[error("the ceremony stopped at step {step}: {why}")]
    Stopped {
        /// The step.
        step: String,
        /// Why.
        why: String,
    },
}

impl Error {
    /// Its class, for the exit code.
    pub fn class(&self) -> crate::class::Class {
        use crate::class::Class;
        match self {
            Error::Script(_) => Class::Input,
            Error::Value(_) | Error::Roster(_) | Error::Answer(_) => Class::Usage,
            Error::Stopped { .. } => Class::Stopped,
            Error::Interfered(_) => Class::Verification,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Error::Script(_) => "fix the script at that line (docs/formats/script.md)",
            Error::Value(_) => {
                "give each parameter the script declares ([params] in the script) with --set NAME=VALUE; `ceremony run SCRIPT --plan --set …` shows every step as it would run"
            }
            Error::Roster(_) => {
                "name the people present with --operator, --witness and --custodian"
            }
            Error::Answer(_) => {
                "answer the question the ceremony asks, for the step it names (docs/witness-guide.md)"
            }
            Error::Stopped { .. } => {
                "the transcript records where and why; `ceremony transcript report` shows it. Fix the cause, then run the ceremony again or continue by hand"
            }
            Error::Interfered(_) => {
                "nothing but the ceremony may write to its transcript while it runs: find what did, and start the ceremony again on a transcript that holds only ceremonies"
            }
        })
    }
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(String),
    List(String),
}

/// A string with `{variables}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    fn parse(text: &str, allow_list: bool) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut lists = 0;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("{{") {
                literal.push('{');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("}}") {
                literal.push('}');
                rest = after;
            } else if c == '{' {
                let end = rest.find('}').ok_or_else(|| {
                    format!("{text:?}: a `{{` without its `}}` (write `{{{{` for a literal brace)")
                })?;
                let inner = rest.get(1..end).unwrap_or_default();
                let (name, list) = match inner.strip_suffix("...") {
                    Some(name) => (name, true),
                    None => (inner, false),
                };
                if !is_identifier(name) {
                    return Err(format!(
                        "{text:?}: `{{{inner}}}` is not a variable (names are lower-case letters, digits and `_`)"
                    ));
                }
                if list && !allow_list {
                    return Err(format!(
                        "{text:?}: `{{{inner}}}` expands to several arguments, which only a `run` argument can take"
                    ));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                if list {
                    lists += 1;
                    pieces.push(Piece::List(name.to_owned()));
                } else {
                    pieces.push(Piece::Var(name.to_owned()));
                }
                rest = rest.get(end + 1..).unwrap_or_default();
            } else if c == '}' {
                return Err(format!(
                    "{text:?}: a `}}` without its `{{` (write `}}}}` for a literal brace)"
                ));
            } else {
                literal.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or_default();
            }
        }
        if lists > 1 {
            return Err(format!("{text:?}: one `{{name...}}` per argument at most"));
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }

    fn variables(&self) -> impl Iterator<Item = (&str, bool)> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(name) => Some((name.as_str(), false)),
            Piece::List(name) => Some((name.as_str(), true)),
            Piece::Text(_) => None,
        })
    }

    /// The text with every variable replaced; a list variable gives one
    /// string per value.
    fn expand(&self, scope: &Scope<'_>) -> Vec<String> {
        let mut prefix = String::new();
        let mut suffix = String::new();
        let mut list: Option<&[String]> = None;
        for piece in &self.pieces {
            let target = if list.is_some() {
                &mut suffix
            } else {
                &mut prefix
            };
            match piece {
                Piece::Text(text) => target.push_str(text),
                Piece::Var(name) => target.push_str(scope.one(name)),
                Piece::List(name) => list = Some(scope.all(name)),
            }
        }
        match list {
            None => vec![prefix],
            Some(values) => values
                .iter()
                .map(|v| format!("{prefix}{v}{suffix}"))
                .collect(),
        }
    }

    fn expand_one(&self, scope: &Scope<'_>) -> String {
        self.expand(scope).concat()
    }
}

/// Why `arg` may not be an argument of a step, if it may not: the flags
/// that belong to the run itself. `--transcript` (every step is recorded in
/// the ceremony's own transcript) and the air-gap flags (`--allow-online`,
/// the testing `--system-root`), which the operator gives once, to `ceremony
/// run`, and which it passes on to every step that checks the air gap: a
/// script, a value or a changed step that gave them would skip that check
/// for one step, unseen in the run's own command line. The one home of
/// this rule, for scripts ([`Script::parse`]) and changed steps
/// ([`walk::Walk::decide`]).
pub(crate) fn reserved_flag(arg: &str) -> Option<String> {
    const RUN_FLAGS: [(&str, &str); 3] = [
        (
            "--transcript",
            "leave --transcript out: the step is recorded in the ceremony's own transcript",
        ),
        (
            "--allow-online",
            "--allow-online is the operator's, given once to `ceremony run`, which passes it on to every step that checks the air gap",
        ),
        (
            "--system-root",
            "--system-root is the operator's, given once to `ceremony run`, which passes it on to every step that checks the air gap",
        ),
    ];
    RUN_FLAGS.iter().find_map(|(flag, why)| {
        let is_it = arg == *flag
            || arg
                .strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('='));
        is_it.then(|| (*why).to_owned())
    })
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A parameter of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// Its name (`--set NAME=…`).
    pub name: String,
    /// What it is, for the operator.
    pub about: String,
    /// Whether it takes several values (`--set NAME=a --set NAME=b`).
    pub list: bool,
    /// Its value when none is given; `None`: it must be given.
    pub default: Option<Vec<String>>,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ActionSpec {
    Run {
        argv: Vec<Template>,
        expect: u8,
        stdout: Option<Template>,
    },
    Confirm {
        text: Template,
        by: Role,
    },
}

/// One step of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StepSpec {
    id: String,
    title: Template,
    note: Option<Template>,
    action: ActionSpec,
    /// `(variable, list parameter)`: the step runs once per value.
    for_each: Vec<(String, String)>,
}

/// A parsed, checked script.
#[derive(Clone, Debug)]
pub struct Script {
    file: PathBuf,
    sha256: Digest,
    /// Its name (`root-init`).
    pub name: String,
    /// Its version: a changed script gets a new one.
    pub version: u32,
    /// What the ceremony is.
    pub title: String,
    /// The runbook that explains it.
    pub runbook: Option<String>,
    /// At least this many witnesses.
    pub witnesses: u32,
    /// At least this many custodians.
    pub custodians: u32,
    /// How many witnesses sign off the head at the end.
    pub sign_offs: u32,
    /// The parameters, by name.
    pub params: Vec<ParamSpec>,
    steps: Vec<StepSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireScript {
    format: Spanned<String>,
    name: Spanned<String>,
    version: Spanned<i64>,
    title: Spanned<String>,
    runbook: Option<String>,
    roles: Spanned<WireRoles>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<WireParam>>,
    #[serde(default, rename = "step")]
    steps: Vec<Spanned<WireStep>>,
    end: Spanned<WireEnd>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRoles {
    operator: Spanned<i64>,
    witnesses: Spanned<i64>,
    #[serde(default)]
    custodians: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireParam {
    about: String,
    #[serde(default)]
    list: bool,
    default: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireStep {
    id: Spanned<String>,
    title: Spanned<String>,
    note: Option<Spanned<String>>,
    run: Option<Spanned<Vec<Spanned<String>>>>,
    expect: Option<Spanned<i64>>,
    stdout: Option<Spanned<String>>,
    confirm: Option<Spanned<String>>,
    by: Option<Spanned<String>>,
    for_each: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEnd {
    sign_offs: Spanned<i64>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Script {
    /// Parses and checks the script `file` whose bytes are `bytes`.
    pub fn parse(file: &Path, bytes: &[u8]) -> Result<Self, ScriptError> {
        let fail = |line: usize, problem: String| ScriptError {
            file: file.to_owned(),
            line,
            problem,
        };
        if bytes.len() > MAX_SCRIPT_BYTES {
            return Err(fail(
                1,
                format!("larger than {MAX_SCRIPT_BYTES} bytes: a script is a short file"),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            fail(
                line_of(&String::from_utf8_lossy(bytes), e.valid_up_to()),
                "not UTF-8 text: save the script as UTF-8".into(),
            )
        })?;
        // Checked before parsing, so that no later message can quote a key.
        if let Some(index) = text.lines().position(crate::sops::recipient::looks_private) {
            return Err(fail(
                index + 1,
                "this line holds a private key: a script never holds a secret (a step that needs one prompts for it); remove it, and treat the key as exposed".into(),
            ));
        }
        let at = |span: Range<usize>| line_of(text, span.start);
        let wire: WireScript = toml::from_str(text).map_err(|e| {
            fail(
                e.span().map_or(1, |s| line_of(text, s.start)),
                format!("{} (see docs/formats/script.md)", e.message().trim_end()),
            )
        })?;
        if wire.format.get_ref() != SCRIPT_FORMAT_V1 {
            return Err(fail(
                at(wire.format.span()),
                format!(
                    "format {:?} is not {SCRIPT_FORMAT_V1:?}: this ceremony reads version 1 scripts (a newer script needs a newer ceremony)",
                    wire.format.get_ref()
                ),
            ));
        }
        if !valid_name(wire.name.get_ref()) {
            return Err(fail(
                at(wire.name.span()),
                "name: use 1 to 64 letters, digits, `.`, `_`, `@` or `-`".into(),
            ));
        }
        let version = u32::try_from(*wire.version.get_ref())
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| {
                fail(
                    at(wire.version.span()),
                    "version: a whole number from 1".into(),
                )
            })?;
        if wire.title.get_ref().trim().is_empty() {
            return Err(fail(
                at(wire.title.span()),
                "title: say what the ceremony is".into(),
            ));
        }
        let count = |value: &Spanned<i64>, what: &str, min: i64| {
            u32::try_from(*value.get_ref())
                .ok()
                .filter(|v| i64::from(*v) >= min && *v <= 100)
                .ok_or_else(|| {
                    fail(
                        at(value.span()),
                        format!("{what}: a whole number from {min} to 100"),
                    )
                })
        };
        let roles = wire.roles.get_ref();
        if *roles.operator.get_ref() != 1 {
            return Err(fail(
                at(roles.operator.span()),
                "roles.operator: a ceremony has exactly one operator (operator = 1)".into(),
            ));
        }
        let witnesses = count(&roles.witnesses, "roles.witnesses", 1)?;
        let custodians = match &roles.custodians {
            Some(c) => count(c, "roles.custodians", 0)?,
            None => 0,
        };
        let sign_offs = count(&wire.end.get_ref().sign_offs, "end.sign_offs", 1)?;
        if sign_offs > witnesses {
            return Err(fail(
                at(wire.end.get_ref().sign_offs.span()),
                format!(
                    "end.sign_offs is {sign_offs}, but roles.witnesses asks for only {witnesses}: raise roles.witnesses"
                ),
            ));
        }

        let mut params = Vec::new();
        for (name, spanned) in &wire.params {
            let line = at(spanned.span());
            let p = spanned.get_ref();
            if !is_identifier(name) || name == TRANSCRIPT_VARIABLE {
                return Err(fail(
                    line,
                    format!(
                        "params.{name}: a parameter is named with lower-case letters, digits and `_` (and `transcript` is taken)"
                    ),
                ));
            }
            let default = match &p.default {
                None => None,
                Some(value) => {
                    let line = at(value.span());
                    let values = match value.get_ref() {
                        toml::Value::String(s) if !p.list => vec![s.clone()],
                        toml::Value::Array(items) if p.list => items
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| {
                                fail(line, format!("params.{name}.default: a list of strings"))
                            })?,
                        _ => {
                            return Err(fail(
                                line,
                                format!(
                                    "params.{name}.default: {}",
                                    if p.list {
                                        "a list of strings, as list = true"
                                    } else {
                                        "a string"
                                    }
                                ),
                            ));
                        }
                    };
                    if values.iter().any(|v| v.starts_with('-')) {
                        return Err(fail(
                            line,
                            format!(
                                "params.{name}.default: a value that begins with `-` would be read as an option by the step's command"
                            ),
                        ));
                    }
                    Some(values)
                }
            };
            params.push(ParamSpec {
                name: name.clone(),
                about: p.about.clone(),
                list: p.list,
                default,
            });
        }
        let is_list = |name: &str| params.iter().find(|p| p.name == name).map(|p| p.list);

        if wire.steps.is_empty() {
            return Err(fail(
                1,
                "no [[step]]: a ceremony has at least one step".into(),
            ));
        }
        let mut steps = Vec::new();
        let mut ids = BTreeSet::new();
        for spanned in &wire.steps {
            let line = at(spanned.span());
            let w = spanned.get_ref();
            let id = w.id.get_ref().clone();
            let id_line = at(w.id.span());
            if !valid_name(&id) || id.contains('#') {
                return Err(fail(
                    id_line,
                    format!("step id {id:?}: use letters, digits, `.`, `_` or `-`"),
                ));
            }
            if !ids.insert(id.clone()) {
                return Err(fail(
                    id_line,
                    format!("step id {id:?} is used twice: give each step its own id"),
                ));
            }
            let mut for_each = Vec::new();
            if let Some(each) = &w.for_each {
                for (var, param) in each.get_ref() {
                    let l = at(each.span());
                    if !is_identifier(var) || is_list(var).is_some() || var == TRANSCRIPT_VARIABLE {
                        return Err(fail(
                            l,
                            format!(
                                "for_each: {var:?} must be a new variable name (not a parameter)"
                            ),
                        ));
                    }
                    if is_list(param) != Some(true) {
                        return Err(fail(
                            l,
                            format!(
                                "for_each: {param:?} is not a list parameter (params.{param} with list = true)"
                            ),
                        ));
                    }
                    for_each.push((var.clone(), param.clone()));
                }
            }
            // What a variable may name in this step.
            let check_vars = |template: &Template, l: usize| -> Result<(), ScriptError> {
                for (name, list) in template.variables() {
                    let kind =
                        if name == TRANSCRIPT_VARIABLE || for_each.iter().any(|(v, _)| v == name) {
                            Some(false)
                        } else {
                            is_list(name)
                        };
                    match (kind, list) {
                        (None, _) => {
                            return Err(fail(
                                l,
                                format!(
                                    "{{{name}}} is not a parameter of this script: declare params.{name}, or fix the name"
                                ),
                            ));
                        }
                        (Some(true), false) => {
                            return Err(fail(
                                l,
                                format!(
                                    "{{{name}}} is a list: write {{{name}...}} in a run argument, or use for_each"
                                ),
                            ));
                        }
                        (Some(false), true) => {
                            return Err(fail(
                                l,
                                format!("{{{name}...}}: {name} is not a list parameter"),
                            ));
                        }
                        _ => {}
                    }
                }
                Ok(())
            };
            let template = |s: &Spanned<String>, list: bool| -> Result<Template, ScriptError> {
                let l = at(s.span());
                let t = Template::parse(s.get_ref(), list).map_err(|p| fail(l, p))?;
                check_vars(&t, l)?;
                Ok(t)
            };
            let title = template(&w.title, false)?;
            let note = w.note.as_ref().map(|n| template(n, false)).transpose()?;
            let action = match (&w.run, &w.confirm) {
                (Some(run), None) => {
                    if w.by.is_some() {
                        return Err(fail(
                            line,
                            format!("step {id}: `by` belongs to a confirm step"),
                        ));
                    }
                    let argv: Vec<Template> = run
                        .get_ref()
                        .iter()
                        .map(|a| template(a, true))
                        .collect::<Result<_, _>>()?;
                    let run_line = at(run.span());
                    let first = run.get_ref().first().map(|s| s.get_ref().as_str());
                    match first {
                        None => {
                            return Err(fail(
                                run_line,
                                format!(
                                    "step {id}: run = [] runs nothing: name a ceremony command"
                                ),
                            ));
                        }
                        Some(c) if c.starts_with('-') || c.contains('{') => {
                            return Err(fail(
                                run_line,
                                format!(
                                    "step {id}: run must start with a ceremony command (such as \"root\"), not {c:?}"
                                ),
                            ));
                        }
                        Some("run") => {
                            return Err(fail(
                                run_line,
                                format!("step {id}: a script cannot run another script"),
                            ));
                        }
                        _ => {}
                    }
                    if let Some(why) = run
                        .get_ref()
                        .iter()
                        .find_map(|a| reserved_flag(a.get_ref()))
                    {
                        return Err(fail(run_line, format!("step {id}: {why}")));
                    }
                    let expect = match &w.expect {
                        None => 0,
                        Some(e) => u8::try_from(*e.get_ref()).map_err(|_| {
                            fail(
                                at(e.span()),
                                "expect: an exit code from 0 to 255 (docs/exit-codes.md)".into(),
                            )
                        })?,
                    };
                    let stdout = w.stdout.as_ref().map(|s| template(s, false)).transpose()?;
                    ActionSpec::Run {
                        argv,
                        expect,
                        stdout,
                    }
                }
                (None, Some(text)) => {
                    if w.expect.is_some() || w.stdout.is_some() {
                        return Err(fail(
                            line,
                            format!("step {id}: expect and stdout belong to a run step"),
                        ));
                    }
                    let by = match &w.by {
                        None => Role::Witness,
                        Some(by) => match by.get_ref().as_str() {
                            "operator" => Role::Operator,
                            "witness" => Role::Witness,
                            "custodian" => Role::Custodian,
                            other => {
                                return Err(fail(
                                    at(by.span()),
                                    format!(
                                        "by = {other:?}: one of \"operator\", \"witness\", \"custodian\""
                                    ),
                                ));
                            }
                        },
                    };
                    ActionSpec::Confirm {
                        text: template(text, false)?,
                        by,
                    }
                }
                (Some(_), Some(_)) => {
                    return Err(fail(
                        line,
                        format!(
                            "step {id}: either run (a command) or confirm (a manual action), not both"
                        ),
                    ));
                }
                (None, None) => {
                    return Err(fail(
                        line,
                        format!("step {id}: say what it does: run = [\"…\"] or confirm = \"…\""),
                    ));
                }
            };
            if let ActionSpec::Confirm {
                by: Role::Custodian,
                ..
            } = &action
            {
                if custodians == 0 {
                    return Err(fail(
                        line,
                        format!("step {id}: confirmed by a custodian, but roles.custodians is 0"),
                    ));
                }
            }
            steps.push(StepSpec {
                id,
                title,
                note,
                action,
                for_each,
            });
        }
        Ok(Self {
            file: file.to_owned(),
            sha256: Digest::of(bytes),
            name: wire.name.into_inner(),
            version,
            title: wire.title.into_inner(),
            runbook: wire.runbook,
            witnesses,
            custodians,
            sign_offs,
            params,
            steps,
        })
    }

    /// The file it was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// SHA-256 of the file's bytes.
    pub fn sha256(&self) -> &Digest {
        &self.sha256
    }

    /// How many steps the script has (before `for_each` expands them).
    pub fn step_count(&self) -> usize {
        self.steps.len()
    }

    /// Every step with its arguments, paths and texts expanded: what will
    /// run, decided before anything runs.
    pub fn plan(&self, values: &Values, transcript: &str) -> Vec<PlannedStep> {
        let mut planned = Vec::new();
        for step in &self.steps {
            let rounds = step
                .for_each
                .iter()
                .map(|(_, param)| values.all(param).len())
                .max()
                .unwrap_or(0);
            let iterations: Vec<Option<usize>> = if step.for_each.is_empty() {
                vec![None]
            } else {
                (0..rounds).map(Some).collect()
            };
            for round in iterations {
                let bound: Vec<(String, String)> = match round {
                    None => Vec::new(),
                    Some(i) => step
                        .for_each
                        .iter()
                        .map(|(var, param)| {
                            (
                                var.clone(),
                                values.all(param).get(i).cloned().unwrap_or_default(),
                            )
                        })
                        .collect(),
                };
                let scope = Scope {
                    values,
                    transcript,
                    bound: &bound,
                };
                let action = match &step.action {
                    ActionSpec::Run {
                        argv,
                        expect,
                        stdout,
                    } => Planned::Run {
                        argv: argv.iter().flat_map(|a| a.expand(&scope)).collect(),
                        expect: *expect,
                        stdout: stdout.as_ref().map(|s| PathBuf::from(s.expand_one(&scope))),
                    },
                    ActionSpec::Confirm { text, by } => Planned::Confirm {
                        text: text.expand_one(&scope),
                        by: *by,
                    },
                };
                planned.push(PlannedStep {
                    id: match round {
                        None => step.id.clone(),
                        Some(i) => format!("{}#{}", step.id, i + 1),
                    },
                    title: step.title.expand_one(&scope),
                    note: step.note.as_ref().map(|n| n.expand_one(&scope)),
                    action,
                });
            }
        }
        planned
    }
}

struct Scope<'a> {
    values: &'a Values,
    transcript: &'a str,
    bound: &'a [(String, String)],
}

impl Scope<'_> {
    fn one(&self, name: &str) -> &str {
        if name == TRANSCRIPT_VARIABLE {
            return self.transcript;
        }
        if let Some((_, v)) = self.bound.iter().find(|(var, _)| var == name) {
            return v;
        }
        self.values
            .all(name)
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> &[String] {
        self.values.all(name)
    }
}

/// A step ready to run: every variable replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedStep {
    /// Its id (`id#N` for the Nth round of a `for_each` step).
    pub id: String,
    /// Its title.
    pub title: String,
    /// What to tell the room before it.
    pub note: Option<String>,
    /// What it does.
    pub action: Planned,
}

/// What a planned step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Planned {
    /// Runs `ceremony ARGV…`; as expected when it exits with `expect`.
    Run {
        /// The arguments after the program name.
        argv: Vec<String>,
        /// The expected exit code.
        expect: u8,
        /// Where its stdout goes (a new owner-only file), if not to the screen.
        stdout: Option<PathBuf>,
    },
    /// A participant of role `by` confirms `text` was done.
    Confirm {
        /// What they confirm.
        text: String,
        /// Who may.
        by: Role,
    },
}

/// The values of a script's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Values {
    values: BTreeMap<String, Vec<String>>,
}

impl Values {
    /// Checks `given` (`NAME=VALUE`, in order) against `script`: every
    /// name a parameter, a single value for a plain one, every parameter
    /// without a default given. Values are not secret (paths, notes); one
    /// that looks like a private key is refused.
    pub fn new(script: &Script, given: &[String]) -> Result<Self, Error> {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pair in given {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(Error::Value(format!("--set {pair:?}: write NAME=VALUE")));
            };
            let Some(spec) = script.params.iter().find(|p| p.name == name) else {
                let known: Vec<&str> = script.params.iter().map(|p| p.name.as_str()).collect();
                return Err(Error::Value(format!(
                    "--set {name}=…: script {} has no parameter {name:?} (it has: {})",
                    script.name,
                    known.join(", ")
                )));
            };
            if crate::sops::recipient::looks_private(value) {
                return Err(Error::Value(format!(
                    "--set {name}=…: the value looks like a private key; it was not used. Secrets are never parameters"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(Error::Value(format!(
                    "--set {name}=…: the value holds a control character"
                )));
            }
            // A value stands as a whole argument of a step (`{root}`,
            // `{bundle...}`): one that begins with `-` would be read as
            // an option of the step's command, not as the value.
            if value.starts_with('-') {
                return Err(Error::Value(format!(
                    "--set {name}={value}: a value that begins with `-` would be read as an option by the step's command; a path that begins with `-` is written ./{value}"
                )));
            }
            let entry = values.entry(name.to_owned()).or_default();
            if !spec.list && !entry.is_empty() {
                return Err(Error::Value(format!(
                    "--set {name}=… is given twice, and {name} takes one value"
                )));
            }
            entry.push(value.to_owned());
        }
        for spec in &script.params {
            if values.contains_key(&spec.name) {
                continue;
            }
            match &spec.default {
                Some(default) => {
                    values.insert(spec.name.clone(), default.clone());
                }
                None => {
                    return Err(Error::Value(format!(
                        "script {} needs --set {}=… ({})",
                        script.name, spec.name, spec.about
                    )));
                }
            }
        }
        // A `for_each` over several lists pairs their Nth values: the
        // lists must be of one length, or a round would lack a value.
        for step in &script.steps {
            let lengths: Vec<(&str, usize)> = step
                .for_each
                .iter()
                .map(|(_, p)| (p.as_str(), values.get(p).map_or(0, Vec::len)))
                .collect();
            if let Some(((first, n), (other, m))) = lengths.first().zip(
                lengths
                    .iter()
                    .find(|(_, m)| Some(m) != lengths.first().map(|(_, n)| n)),
            ) {
                return Err(Error::Value(format!(
                    "step {} pairs {first} and {other}, but {n} and {m} values are given: give one {other} for each {first}",
                    step.id
                )));
            }
        }
        Ok(Self { values })
    }

    /// Every value of `name` (empty for an unknown name).
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// As transcript records write them.
    pub fn to_params(&self) -> Vec<Param> {
        self.values
            .iter()
            .map(|(name, values)| Param {
                name: name.clone(),
                values: values.clone(),
            })
            .collect()
    }
}

/// Who is in the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    participants: Vec<Participant>,
}

impl Roster {
    /// Checks the people given against what `script` needs: one operator,
    /// enough witnesses (and enough for the sign-offs) and custodians,
    /// every name valid and no one twice.
    pub fn new(
        script: &Script,
        operator: &str,
        witnesses: &[String],
        custodians: &[String],
    ) -> Result<Self, Error> {
        let mut participants = vec![Participant {
            name: operator.to_owned(),
            role: Role::Operator,
        }];
        participants.extend(witnesses.iter().map(|name| Participant {
            name: name.clone(),
            role: Role::Witness,
        }));
        participants.extend(custodians.iter().map(|name| Participant {
            name: name.clone(),
            role: Role::Custodian,
        }));
        let mut seen = BTreeSet::new();
        for p in &participants {
            if !valid_name(&p.name) {
                return Err(Error::Roster(format!(
                    "{:?} is not a participant name: use 1 to 64 letters, digits, `.`, `_`, `@` or `-`",
                    p.name
                )));
            }
            if !seen.insert(p.name.to_ascii_lowercase()) {
                return Err(Error::Roster(format!(
                    "{} is named twice: each person has one role (a witness watches the operator, never themselves)",
                    p.name
                )));
            }
        }
        let need = |have: usize, min: u32, role: &str, flag: &str| {
            if have < usize::try_from(min).unwrap_or(usize::MAX) {
                Err(Error::Roster(format!(
                    "script {} needs at least {min} {role}(s), {have} given ({flag} NAME, once per person)",
                    script.name
                )))
            } else {
                Ok(())
            }
        };
        need(
            witnesses.len(),
            script.witnesses.max(script.sign_offs),
            "witness",
            "--witness",
        )?;
        need(
            custodians.len(),
            script.custodians,
            "custodian",
            "--custodian",
        )?;
        Ok(Self { participants })
    }

    /// Everyone, operator first.
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    /// Everyone's names.
    pub fn names(&self) -> Vec<String> {
        self.participants.iter().map(|p| p.name.clone()).collect()
    }

    /// The operator's name.
    pub fn operator(&self) -> &str {
        self.participants
            .first()
            .map(|p| p.name.as_str())
            .unwrap_or_default()
    }

    /// Whether `name` is present in `role`.
    pub fn has(&self, name: &str, role: Role) -> bool {
        self.participants
            .iter()
            .any(|p| p.name == name && p.role == role)
    }

    /// The names of role `role`.
    pub fn of(&self, role: Role) -> Vec<&str> {
        self.participants
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests;
