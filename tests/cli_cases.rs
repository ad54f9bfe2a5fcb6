//! The command line as data: each `tests/cmd/<group>/<case>.toml` runs the
//! real `ceremony` binary once, with trycmd (as rage does in
//! `rage/tests/cmd/rage/*.toml`), and pins its exit code, stdout and stderr.
//! The groups are the command groups, plus `top/` for the command itself
//! (help, version, completions, arguments that look like private keys).
//!
//! # A case
//!
//! ```toml
//! # What the case shows, in a sentence or two (and the exit code's name).
//! bin.name = "ceremony"
//! args = "root init --yes --custodians custodians.toml --threshold 2 --out root --system-root system-offline"
//! fs.base = "../fixture"
//! fs.sandbox = true
//! status.code = 6
//! stdout = ""
//! stderr = """
//! error: root already holds a root (root.json): a root is created once and never regenerated; nothing was changed
//! hint: to replace it anyway, pass --replace-existing-root-and-break-trust (recorded in the new root.json)
//! """
//! ```
//!
//! Every case pins all three of `status.code`, `stdout` and `stderr`, and
//! runs in a sandbox, a temporary copy of its working directory
//! (`fs.sandbox = true`: without it trycmd would run the command in the
//! source tree). [`every_case_pins_its_outcome`] refuses a case that
//! leaves one out. The working directory is, in this order:
//!
//! - `<case>.in/`, beside the case, for inputs of its own (a malformed
//!   custodians file, a truncated shareset.json, a non-empty directory);
//! - or `fs.base = "../fixture"`: `tests/cmd/fixture/`, the inputs many
//!   cases share: a test root (`root/root.json` only), the custodians it was
//!   made for, a share set, two transcripts, fake `/sys` + `/proc` trees of an
//!   air-gapped and of an online machine (`system-offline/`,
//!   `system-online/`, for the hidden `--system-root` flag), and the
//!   `bootstrap/` trees that `bootstrap verify` cases check. Its generated
//!   half is made by `tests/cmd/fixture/make.sh`, whose header says what is
//!   there; all of it is public, and the private keys it was made with were
//!   deleted. Never seal a real secret to that root;
//! - or, for a case that needs no input, an empty directory.
//!
//! `[..]` matches the rest of a line and a line of its own `...` any number
//! of lines: use them only for what differs between runs or machines (the
//! preflight's hardening checks, a temporary path), never to avoid pinning
//! wording. A case whose arguments hold something that looks like a private
//! key must pin stdout and stderr without either, so that the key provably
//! appears in neither (checked too).
//!
//! To add a refusal, copy the nearest case, change `args` and the comment,
//! set `status.code`, `stdout = ""` and `stderr = ""`, and run
//! `TRYCMD=overwrite cargo test --test tests cli_cases` (add
//! `-- trycmd=NAME` to run only the cases whose name holds NAME). Then read
//! the diff of `tests/cmd` line by line before committing: overwrite writes
//! whatever the binary printed, a wrong exit code included (it turns a
//! `status.code` into nothing at all when the command now succeeds, which
//! [`every_case_pins_its_outcome`] refuses), and replaces the whole text
//! of a case that failed, so a `[..]` in it must be put back where the
//! text really varies. Each changed line is a change of what operators
//! see; accept it only if it is one you mean. `TRYCMD=dump` writes what
//! every case printed to `target/trycmd` instead, changing nothing.
//!
//! The cases see none of the caller's keys: `HOME`, `XDG_CONFIG_HOME` and
//! the `SOPS_AGE_*` variables are set empty (which the tool reads as
//! unset), help is wrapped at 100 columns whatever the terminal, and there
//! is no colour. trycmd gives a command no terminal, so what needs one
//! (a secret refused on a terminal, a prompt) is tested with tmux in
//! `passphrase_tty`; what it cannot see (files left behind or not written,
//! modes) is tested in Rust at the end of this module.
//!
//! A case that pins the documented behaviour where the tool does otherwise
//! goes in [`KNOWN_BUGS`], so that [`cli_cases`] skips it until the bug is
//! fixed; then it comes off the list.

use std::path::{Path, PathBuf};

use crate::util::{Scratch, ceremony_bin};

/// Where the cases are.
const CMD: &str = "tests/cmd";

/// The directories of cases, globbed one by one: `tests/cmd/**/*.toml` would
/// also take the custodians files under `fixture/` and `<case>.in/` for cases.
const GROUPS: &[&str] = &[
    "top",
    "root",
    "unseal",
    "bootstrap",
    "handover",
    "transcript",
    "run",
    "preflight",
];

/// Cases that show a known bug, skipped by [`cli_cases`] until it is fixed
/// (each with a comment saying which bug). None today.
const KNOWN_BUGS: &[&str] = &[];

/// The cases' runner: the binary under test and a hermetic environment.
fn runner() -> trycmd::TestCases {
    let cases = trycmd::TestCases::new();
    cases
        .register_bin("ceremony", ceremony_bin())
        .default_bin_name("ceremony")
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "0")
        .env("HOME", "")
        .env("XDG_CONFIG_HOME", "")
        .env("SOPS_AGE_KEY", "")
        .env("SOPS_AGE_KEY_FILE", "")
        .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", "")
        .timeout(std::time::Duration::from_secs(60));
    cases
}

#[test]
fn cli_cases() {
    let cases = runner();
    for group in GROUPS {
        cases.case(format!("{CMD}/{group}/*.toml"));
    }
    for case in KNOWN_BUGS {
        cases.skip(case);
    }
    cases.run();
}

// ---------------------------------------------------------------------------
// The cases themselves: what trycmd does not check for us.

fn case_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for group in GROUPS {
        let dir = Path::new(CMD).join(group);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// An expected stream: inline, or in `<case>.stdout` / `<case>.stderr`.
fn expected_stream(case: &Path, table: &toml::Table, name: &str) -> Option<String> {
    match table.get(name) {
        Some(toml::Value::String(text)) => Some(text.clone()),
        Some(other) => panic!("{}: {name} is not a string: {other:?}", case.display()),
        None => std::fs::read_to_string(case.with_extension(name)).ok(),
    }
}

#[test]
fn every_case_pins_its_outcome() {
    let cases = case_files();
    assert!(cases.len() >= 90, "only {} cases found", cases.len());
    let mut problems = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).expect("read case");
        let table: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let mut problem = |what: &str| problems.push(format!("{}: {what}", case.display()));
        let get = |path: &[&str]| -> Option<&toml::Value> {
            let (first, rest) = path.split_first()?;
            rest.iter()
                .try_fold(table.get(*first)?, |value, key| value.get(*key))
        };
        if !text.starts_with('#') {
            problem("starts with a comment saying what it shows");
        }
        if get(&["bin", "name"]).and_then(toml::Value::as_str) != Some("ceremony") {
            problem(r#"bin.name = "ceremony""#);
        }
        if get(&["fs", "sandbox"]).and_then(toml::Value::as_bool) != Some(true) {
            problem("fs.sandbox = true (or the command runs in the source tree)");
        }
        if get(&["status", "code"])
            .and_then(toml::Value::as_integer)
            .is_none()
        {
            problem(
                "status.code = N: the exact exit code (`status = \"failed\"` takes any, and \
                 no status means success, which TRYCMD=overwrite writes when a refusal stops refusing)",
            );
        }
        let stdout = expected_stream(case, &table, "stdout");
        let stderr = expected_stream(case, &table, "stderr");
        for (name, stream) in [("stdout", &stdout), ("stderr", &stderr)] {
            if stream.is_none() {
                problem(&format!(
                    "{name} = \"…\": an unpinned stream is not checked"
                ));
            }
        }
        // A string is split as a shell would; private keys hold no quotes
        // or spaces, so splitting on whitespace finds them as well.
        let args: Vec<String> = match table.get("args") {
            Some(toml::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().expect("string argument").to_owned())
                .collect(),
            _ => Vec::new(),
        };
        // The parts of arguments that look like private keys, long enough
        // to be key material rather than a flag or the armour's words.
        let key_parts: Vec<String> = args
            .iter()
            .filter(|a| ceremony::sops::recipient::looks_private(a))
            .flat_map(|a| {
                a.split(|c: char| c.is_whitespace() || c == '=')
                    .filter(|part| part.len() >= 16)
                    .map(str::to_ascii_uppercase)
                    .collect::<Vec<_>>()
            })
            .collect();
        if !key_parts.is_empty() {
            for (name, stream) in [("stdout", &stdout), ("stderr", &stderr)] {
                let stream = stream.as_deref().unwrap_or_default();
                if stream.contains("[..]") || stream.lines().any(|l| l == "...") {
                    problem(&format!(
                        "its arguments look like a private key: pin {name} without wildcards"
                    ));
                }
                let upper = stream.to_ascii_uppercase();
                if key_parts.iter().any(|part| upper.contains(part.as_str())) {
                    problem(&format!("{name} echoes the private key argument"));
                }
            }
        }
    }
    // A `<case>.in/` without its case is dead data; so is a stray file.
    for group in GROUPS {
        let dir = Path::new(CMD).join(group);
        for entry in std::fs::read_dir(&dir).expect("read group") {
            let path = entry.expect("dir entry").path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("toml") => {}
                Some("in" | "stdout" | "stderr") if path.with_extension("toml").is_file() => {}
                _ => problems.push(format!(
                    "{}: not a case, nor a case's input",
                    path.display()
                )),
            }
        }
    }
    for bug in KNOWN_BUGS {
        if !Path::new(bug).is_file() {
            problems.push(format!("KNOWN_BUGS names {bug}, which does not exist"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_command_group_has_a_help_case() {
    for group in GROUPS {
        let help = Path::new(CMD).join(group).join("help.toml");
        assert!(help.is_file(), "{} is missing", help.display());
    }
    let emit = Path::new(CMD).join("root/emit-help.toml");
    assert!(emit.is_file(), "{} is missing", emit.display());
}

/// The shared fixture's root is a real, signed root: the library loads it.
#[test]
fn the_fixture_root_is_a_valid_root() {
    let dir = Path::new(CMD).join("fixture/root");
    let root = ceremony::root::RootDir::load(&dir).expect("tests/cmd/fixture/root/root.json");
    let body = &root.manifest().body;
    let names: Vec<&str> = body.share_sets[0]
        .custodians
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert!(
        !dir.join("shares").exists(),
        "commit only the public root.json"
    );
}

// ---------------------------------------------------------------------------
// What trycmd cannot see: files that must not be written.

/// A private key on the command line is refused before the transcript is
/// opened: no record carries it, and no transcript is even created.
#[test]
fn a_private_key_argument_is_not_recorded_in_the_transcript() {
    let s = Scratch::new();
    let key = "AGE-SECRET-KEY-1EPSSSC6VW423MPQTE768XDGVQ270FCV8GFF2ZFWD3VJSN5S0V2FQ5H6SM0";
    let run = s
        .ceremony(&[
            "--transcript",
            "t.jsonl",
            "bootstrap",
            "seal",
            "--recipient",
            key,
            "secret.yaml",
        ])
        .fails_with(2, "argument 6 looks like a private key");
    assert!(!run.stderr_text().contains(key) && !run.stdout_text().contains(key));
    assert!(!s.path("t.jsonl").exists(), "a transcript was written");

    // An existing transcript is left exactly as it was.
    s.ceremony(&["--transcript", "t.jsonl", "completions", "bash"])
        .success();
    let before = s.read("t.jsonl");
    s.ceremony(&["--transcript", "t.jsonl", "root", "show", key])
        .fails_with(2, "looks like a private key");
    assert_eq!(s.read("t.jsonl"), before);
}

/// Refusals write nothing: no root, no share set, no staging directory.
#[test]
fn refusals_leave_the_output_directory_untouched() {
    let s = Scratch::new();
    s.write(
        "custodians.toml",
        std::fs::read(Path::new(CMD).join("fixture/custodians.toml")).expect("custodians"),
    );
    let system = crate::util::fake_system(s.dir.path(), false);
    let system = system.to_str().expect("utf-8 path");
    let listing = |s: &Scratch| {
        let mut names: Vec<String> = std::fs::read_dir(s.dir.path())
            .expect("read scratch")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing(&s);
    // No --yes and no terminal.
    s.ceremony(&[
        "root",
        "init",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "root",
        "--system-root",
        system,
    ])
    .fails_with(6, "no terminal to ask on");
    s.ceremony(&[
        "unseal",
        "share",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "set",
        "--system-root",
        system,
    ])
    .fails_with(6, "no terminal to ask on");
    // A bad threshold (whatever its exit code, see KNOWN_BUGS).
    let run = s.ceremony(&[
        "root",
        "init",
        "--yes",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "1",
        "--out",
        "root",
        "--system-root",
        system,
    ]);
    assert_ne!(run.code(), 0, "{}", run.stderr_text());
    assert_eq!(listing(&s), before, "a refused command left files behind");
}
