//! Faults every command must survive, run by the normal suite:
//!
//! - **Output going nowhere**: every command, run so that it gets as far as
//!   writing its output, with stdout on `/dev/full` and on a pipe whose
//!   reader is gone, and with stderr on `/dev/full` and closed. The rules
//!   are `src/cli/output.rs`'s: notes are dropped, a listing cut by a closed
//!   pipe keeps the command's own exit code, a product (a secret, a sealed
//!   file, JSON) that is not delivered is exit 8. Never exit 101 (a panic),
//!   never a signal, and the transcript records the exit code the process
//!   really had.
//! - **kill -9 at random points** of every writing command: each target is
//!   absent (or as it was) or complete and valid, the transcript verifies,
//!   and after one more successful run nothing is left over (`fsio` removes
//!   the leftovers of a killed writer).
//! - **A full disk**, on a small tmpfs filled to leave 0, 1, 2, … pages
//!   free: each writing command fails with exit 8 and the operating
//!   system's reason, leaves nothing half-written and the transcript as it
//!   was, until there is room and the same command succeeds. Mounting needs
//!   root (or `CAP_SYS_ADMIN`): where it is impossible these tests say so on
//!   stderr and pass, unless `CEREMONY_REQUIRE_TMPFS=1` (which `.ci/run`
//!   sets when it runs as root) makes that a failure.
//!
//! The assertions are on outcomes only (exit codes, files, transcripts);
//! the random delays of the kill tests only decide where a kill lands.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use ceremony::transcript::{self, Entry};
use rand::Rng;

use crate::util::custodians::offline_root;
use crate::util::handover::{DB_YAML, GIT_YAML};
use crate::util::sops::{R1, R2, sops_identities, sops_vector};
use crate::util::{Scratch, ceremony_bin, fake_system, hermetic, require};

const SECRET_HEX: &str = "5d4c1f0e9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f302112030405";

// ---------------------------------------------------------------------------
// The fixture: one of everything the commands read.

/// A root (alice, bob, carol; 2 of 3), a share set of a known secret,
/// bootstrap manifests in clear (`plain/`), sealed to the root (`sealed/`)
/// and to the test key `key1.agekey` (`sealed-r1/`), a challenge, receipts,
/// a transcript, Vault init output: everything made by the real binary.
struct Fixture {
    s: Scratch,
    sys: String,
    online: String,
    key1: String,
    next: Cell<usize>,
}

/// The manifests of a bootstrap tree (two files, two directories), in the
/// form the SOPS emitter writes them, so that an opened file equals its
/// plaintext byte for byte.
fn manifests() -> Vec<(String, String)> {
    let reindent = |text: &str| text.replace("\n  ", "\n    ");
    vec![
        ("apps/db.yaml".to_owned(), reindent(DB_YAML)),
        ("flux/git.yaml".to_owned(), reindent(GIT_YAML)),
    ]
}

/// [`manifests`] and ten more in three more directories, so that an
/// in-place seal of the tree takes long enough for many kills to land in
/// it.
fn many_manifests() -> Vec<(String, String)> {
    let mut files = manifests();
    for i in 0..10 {
        files.push((
            format!("team-{}/app-{i}.yaml", i % 3),
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n    name: app-{i}\n    namespace: team-{}\nstringData:\n    token: token-{i}-{}\n",
                i % 3,
                "x".repeat(200 * i)
            ),
        ));
    }
    files
}

impl Fixture {
    fn new() -> Self {
        let s = Scratch::new();
        let sys = offline_root(&s, &[]).to_str().unwrap().to_owned();
        let online = fake_system(s.dir.path(), true).to_str().unwrap().to_owned();
        let fx = Self {
            s,
            sys,
            online,
            key1: sops_vector("key1.agekey").to_str().unwrap().to_owned(),
            next: Cell::new(0),
        };
        fx.s.write("secret.bin", hex::decode(SECRET_HEX).unwrap());
        fx.ok(&fx.share_args("set"));
        // A root with one byte of root.json changed: `root verify` fails.
        copy_dir(&fx.s.path("root"), &fx.s.path("bad-root"));
        let manifest = String::from_utf8(fx.s.read("bad-root/root.json")).unwrap();
        let edited = manifest.replacen("\"threshold\": 2", "\"threshold\": 3", 1);
        assert_ne!(edited, manifest);
        fx.s.write("bad-root/root.json", edited);
        for tree in ["plain", "sealed", "sealed-r1"] {
            write_tree(&fx.s.path(tree), &manifests());
        }
        fx.ok(&args(&[
            "bootstrap",
            "seal",
            "--in-place",
            "--root",
            "root",
            "sealed",
        ]));
        fx.ok(&args(&[
            "bootstrap",
            "seal",
            "--in-place",
            "--recipient",
            R1,
            "sealed-r1",
        ]));
        fx.ok(&args(&[
            "handover",
            "challenge",
            "--root",
            "root",
            "--bootstrap",
            "sealed",
            "--authority",
            "openbao-prod",
            "--out",
            "challenge.json",
        ]));
        fx.s.ssh_key("signer");
        let key = ceremony::handover::sign::Ed25519SigningKey::from_openssh(
            &ceremony::secret::SecretBytes::new(fx.s.read("signer")),
        )
        .unwrap();
        fx.s.write(
            "trust",
            format!("{}\n", key.ed25519_trust_line("openbao-prod", "signer")),
        );
        // A TRUSTFILE that trusts someone else.
        fx.s.ssh_key("stranger");
        let stranger = ceremony::handover::sign::Ed25519SigningKey::from_openssh(
            &ceremony::secret::SecretBytes::new(fx.s.read("stranger")),
        )
        .unwrap();
        fx.s.write(
            "stranger-trust",
            format!(
                "{}\n",
                stranger.ed25519_trust_line("openbao-prod", "stranger")
            ),
        );
        fx.ok(&fx.receipt_args("signed.json", &["--key", "signer"]));
        fx.ok(&fx.receipt_args("unsigned.json", &["--unsigned"]));
        require("ssh-keygen");
        fx.s.tool(
            "ssh-keygen",
            &[
                "-Y",
                "sign",
                "-q",
                "-f",
                "signer",
                "-n",
                crate::util::handover::NAMESPACE,
                "unsigned.json.pae",
            ],
        )
        .success();
        // A transcript of two commands.
        for _ in 0..2 {
            fx.ok(&args(&[
                "--transcript",
                "t.jsonl",
                "preflight",
                "--system-root",
                &fx.sys,
            ]));
        }
        require("python3");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/vault_shamir.py");
        let init =
            fx.s.tool("python3", &[script.to_str().unwrap(), SECRET_HEX, "3", "2"])
                .success();
        fx.s.write("init.json", &init.output.stdout);
        fx
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.s.path(rel)
    }

    /// A name not used yet: `STEM-N`.
    fn fresh(&self, stem: &str) -> String {
        let n = self.next.get();
        self.next.set(n + 1);
        format!("{stem}-{n}")
    }

    /// A fresh copy of a file or directory of the fixture; returns its name.
    fn copy_of(&self, rel: &str) -> String {
        let (stem, ext) = match rel.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
            _ => (rel, String::new()),
        };
        let name = format!("{}{ext}", self.fresh(stem));
        copy_any(&self.path(rel), &self.path(&name));
        name
    }

    /// The hermetic `ceremony ARGS` command, in the fixture's directory.
    fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(ceremony_bin());
        hermetic(&mut cmd, self.s.dir.path())
            .args(args)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[String]) -> Output {
        self.command(args).output().expect("run ceremony")
    }

    /// Runs `ceremony ARGS`, asserting success.
    fn ok(&self, args: &[String]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ceremony {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn share_args(&self, out: &str) -> Vec<String> {
        args(&[
            "unseal",
            "share",
            "--yes",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            out,
            "--secret-file",
            "secret.bin",
            "--system-root",
            &self.sys,
        ])
    }

    fn root_init_args(&self, out: &str) -> Vec<String> {
        args(&[
            "root",
            "init",
            "--yes",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            out,
            "--system-root",
            &self.sys,
        ])
    }

    fn reshare_args(&self, out: &str) -> Vec<String> {
        args(&[
            "unseal",
            "reshare",
            "--yes",
            "--shareset",
            "set/shareset.json",
            "set/alice.share.age",
            "set/bob.share.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--out",
            out,
            "--system-root",
            &self.sys,
        ])
    }

    fn wrap_args(&self, out: &str) -> Vec<String> {
        args(&[
            "unseal",
            "wrap",
            "--yes",
            "--custodians",
            "custodians.toml",
            "--threshold",
            "2",
            "--init-file",
            "init.json",
            "--out",
            out,
            "--system-root",
            &self.sys,
        ])
    }

    /// `root/shares/alice.age` and `bob.age`, their keys, and the system root.
    fn quorum(&self) -> Vec<String> {
        args(&[
            "--root",
            "root",
            "root/shares/alice.age",
            "root/shares/bob.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "--system-root",
            &self.sys,
        ])
    }

    fn sign_args(&self, transcript: &str) -> Vec<String> {
        let mut all = args(&["transcript", "sign", transcript]);
        all.extend(self.quorum());
        all
    }

    fn receipt_args(&self, out: &str, extra: &[&str]) -> Vec<String> {
        let mut all = args(&[
            "handover",
            "receipt",
            "--challenge",
            "challenge.json",
            "--values",
            "plain",
            "--authority",
            "openbao-prod",
            "--out",
            out,
        ]);
        all.extend(args(extra));
        all
    }

    fn attach_args(&self, receipt: &str) -> Vec<String> {
        args(&[
            "handover",
            "attach-signature",
            receipt,
            "--scheme",
            "sshsig",
            "--signature",
            "unsigned.json.pae.sig",
        ])
    }

    /// `unseal combine` of alice's and bob's shares of `SET/` gives the
    /// fixture's secret back.
    fn assert_set_opens(&self, set: &str) {
        let out = self.ok(&args(&[
            "unseal",
            "combine",
            "--shareset",
            &format!("{set}/shareset.json"),
            &format!("{set}/alice.share.age"),
            &format!("{set}/bob.share.age"),
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "--system-root",
            &self.sys,
        ]));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            SECRET_HEX,
            "{set}"
        );
    }

    /// Every manifest of `files` under `TREE/` is its plaintext, or sealed
    /// to R1 and opening to exactly that plaintext.
    fn assert_tree_whole(&self, tree: &Path, files: &[(String, String)]) {
        let identities = sops_identities("key1.agekey");
        for (rel, plain) in files {
            let path = tree.join(rel);
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (a file went missing)", path.display()));
            if bytes == plain.as_bytes() {
                continue;
            }
            let opened = ceremony::sops::decrypt(
                &bytes,
                ceremony::sops::Format::Yaml,
                &identities,
                ceremony::sops::MacCheck::Verify,
            )
            .unwrap_or_else(|e| {
                panic!(
                    "{}: neither the plaintext nor a sealed file that opens: {e}",
                    path.display()
                )
            });
            assert_eq!(
                opened.expose_secret(),
                plain.as_bytes(),
                "{}",
                path.display()
            );
        }
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn copy_any(from: &Path, to: &Path) {
    if from.is_dir() {
        copy_dir(from, to);
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        copy_any(&entry.path(), &to.join(entry.file_name()));
    }
}

/// Every `.ceremony-*` entry under `dir` (what a write leaves while it
/// works, and a killed write leaves behind), recursively.
/// Writes each `(path under tree, content)`, making directories as needed.
fn write_tree(tree: &Path, files: &[(String, String)]) {
    for (rel, plain) in files {
        let path = tree.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, plain).unwrap();
    }
}

fn leftovers_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".ceremony-")
        {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(leftovers_under(&path));
        }
    }
    found
}

fn assert_no_leftovers(dir: &Path, after: &str) {
    let found = leftovers_under(dir);
    assert!(found.is_empty(), "left over after {after}: {found:#?}");
}

/// The transcript at `path` verifies and ends in a newline; returns its
/// records.
fn transcript_records(path: &Path) -> Vec<transcript::Record> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).expect("transcript is UTF-8"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{}: the last line is incomplete:\n{text}",
        path.display()
    );
    transcript::verify(&text)
        .unwrap_or_else(|e| panic!("{}: does not verify: {e}\n{text}", path.display()))
        .records
}

fn exit_code_of(record: &transcript::Record) -> u8 {
    match &record.entry {
        Entry::Command { exit_code, .. } => *exit_code,
        other => panic!("not a command record: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// stdout and stderr that cannot be written

/// What a command writes to stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    /// A secret, a sealed or opened file, JSON, a script: all or exit 8.
    Product,
    /// A report or summary: stops quietly on a closed pipe.
    Listing,
    /// Nothing: its notes go to stderr.
    Notes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    StdoutFull,
    StdoutClosedPipe,
    StderrFull,
    StderrClosed,
}

const FAULTS: [Fault; 4] = [
    Fault::StdoutFull,
    Fault::StdoutClosedPipe,
    Fault::StderrFull,
    Fault::StderrClosed,
];

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

/// A pipe whose read end is already closed: every write fails with EPIPE.
/// The reader is a process that has exited (and been reaped) before the
/// command starts, so no write can get in before it is gone.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn true");
    let writer = reader.stdin.take().expect("the write end");
    reader.wait().expect("wait for true");
    Stdio::from(writer)
}

fn run_with_fault(fx: &Fixture, args: &[String], fault: Option<Fault>) -> Output {
    let mut cmd = match fault {
        Some(Fault::StderrClosed) => {
            // `2>&-`: the shell closes fd 2 and execs the binary.
            let mut cmd = Command::new("sh");
            hermetic(&mut cmd, fx.s.dir.path())
                .arg("-c")
                .arg("exec \"$0\" \"$@\" 2>&-")
                .arg(ceremony_bin())
                .args(args)
                .env("SOPS_DISABLE_VERSION_CHECK", "1")
                .stdin(Stdio::null());
            cmd
        }
        _ => fx.command(args),
    };
    match fault {
        None | Some(Fault::StderrClosed) => {}
        Some(Fault::StdoutFull) => {
            cmd.stdout(dev_full());
        }
        Some(Fault::StdoutClosedPipe) => {
            cmd.stdout(closed_pipe());
        }
        Some(Fault::StderrFull) => {
            cmd.stderr(dev_full());
        }
    }
    cmd.output().expect("run ceremony")
}

/// Runs every case normally and under every fault, and checks the outcome
/// against the rules of `src/cli/output.rs`.
fn check_matrix(fx: &Fixture, cases: &[Case]) {
    let record = fx.path("record.jsonl");
    for case in cases {
        for fault in std::iter::once(None).chain(FAULTS.map(Some)) {
            let mut all = Vec::new();
            if case.recorded {
                all.extend(args(&["--transcript", "record.jsonl"]));
            }
            let command = (case.args)(fx);
            assert!(
                command.join(" ").starts_with(case.command),
                "{command:?} is not {}",
                case.command
            );
            all.extend(command);
            let before = transcript_records(&record).len();
            let out = run_with_fault(fx, &all, fault);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let context =
                format!("ceremony {all:?} with {fault:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
            let Some(code) = out.status.code() else {
                panic!("{context}\nkilled by a signal: {:?}", out.status);
            };
            assert_ne!(code, 101, "{context}\npanicked");
            let expected = match (fault, case.out) {
                (Some(Fault::StdoutFull), Out::Product | Out::Listing) => 8,
                (Some(Fault::StdoutClosedPipe), Out::Product) => 8,
                _ => case.code,
            };
            assert_eq!(code, expected, "{context}");
            let stdout_fault = matches!(fault, Some(Fault::StdoutFull | Fault::StdoutClosedPipe));
            if stdout_fault && expected == 8 {
                // `--help` and `--version` too: one line, not silence.
                let said: Vec<&str> = stderr
                    .lines()
                    .filter(|l| l.starts_with("error: "))
                    .collect();
                assert!(
                    said.len() == 1 && said[0].contains("writing to stdout failed"),
                    "{context}\nno one message says why"
                );
            }
            if !stdout_fault && case.out != Out::Notes {
                // With stderr gone, stdout is still delivered.
                assert!(!out.stdout.is_empty(), "{context}\nnothing on stdout");
            }
            let records = transcript_records(&record);
            if case.recorded {
                assert_eq!(records.len(), before + 1, "{context}\nnot recorded");
                let recorded = exit_code_of(records.last().unwrap());
                assert_eq!(
                    i32::from(recorded),
                    code,
                    "{context}\nthe transcript records another exit code"
                );
            } else {
                assert_eq!(records.len(), before, "{context}\nrecorded");
            }
        }
    }
    // Every file the commands wrote was whole: nothing is left over.
    assert_no_leftovers(fx.s.dir.path(), "the output matrix");
}

/// One command of the matrix. `args` is called for each run, so a command
/// that writes gets a fresh target (or a fresh copy of what it rewrites)
/// every time.
struct Case {
    /// The subcommand it covers (`root init`), which its arguments start
    /// with; empty for the program's own `--help` and `--version`.
    command: &'static str,
    out: Out,
    /// Its exit code when nothing goes wrong.
    code: i32,
    /// Parsed and run, so recorded in the transcript (not `--help`, not a
    /// usage error clap reports).
    recorded: bool,
    args: MakeArgs,
}

type MakeArgs = Box<dyn Fn(&Fixture) -> Vec<String>>;

fn case(
    command: &'static str,
    out: Out,
    code: i32,
    make: impl Fn(&Fixture) -> Vec<String> + 'static,
) -> Case {
    Case {
        command,
        out,
        code,
        recorded: true,
        args: Box::new(make),
    }
}

fn fixed(command: &'static str, out: Out, code: i32, list: &'static [&'static str]) -> Case {
    case(command, out, code, move |_| args(list))
}

/// Not recorded: clap answers before the command runs.
fn unrecorded(case: Case) -> Case {
    Case {
        recorded: false,
        ..case
    }
}

/// `root`, `unseal`, `preflight` and `demo`.
fn root_and_unseal_cases() -> Vec<Case> {
    let emit = |which: &'static str, command: &'static str| {
        case(command, Out::Product, 0, move |fx| {
            let mut all = args(&["root", "emit", which]);
            all.extend(fx.quorum());
            all
        })
    };
    let combine = |shares: &'static [&'static str], out: Out, code: i32| {
        case("unseal combine", out, code, move |fx| {
            let mut all = args(&[
                "unseal",
                "combine",
                "--shareset",
                "set/shareset.json",
                "--system-root",
                &fx.sys,
            ]);
            for name in shares {
                all.push(format!("set/{name}.share.age"));
                all.push("-i".into());
                all.push(format!("{name}.key"));
            }
            all
        })
    };
    // Each run changes a fresh copy of the root.
    let change = |command: &'static str, extra: &'static [&'static str]| {
        case(command, Out::Notes, 0, move |fx| {
            let root = fx.copy_of("root");
            let mut all: Vec<String> = command.split(' ').map(str::to_owned).collect();
            all.extend(args(&["--yes", "--root", &root]));
            all.extend(args(extra));
            for name in ["alice", "bob"] {
                all.push(format!("{root}/shares/{name}.age"));
                all.push("-i".into());
                all.push(format!("{name}.key"));
            }
            all.extend(args(&["--system-root", &fx.sys]));
            all
        })
    };
    vec![
        case("root init", Out::Notes, 0, |fx| {
            fx.root_init_args(&fx.fresh("root"))
        }),
        fixed("root show", Out::Listing, 0, &["root", "show", "root"]),
        fixed(
            "root show",
            Out::Product,
            0,
            &["root", "show", "root", "--json"],
        ),
        fixed("root verify", Out::Listing, 0, &["root", "verify", "root"]),
        fixed(
            "root verify",
            Out::Product,
            0,
            &["root", "verify", "root", "--json"],
        ),
        // One byte of root.json changed: the report, then exit 4.
        fixed(
            "root verify",
            Out::Listing,
            4,
            &["root", "verify", "bad-root"],
        ),
        emit("flux-age-secret", "root emit flux-age-secret"),
        emit("openbao-static-seal", "root emit openbao-static-seal"),
        change("root rotate", &["--key", "unseal-key"]),
        change("root reshare", &["--threshold", "3"]),
        // Nothing is retiring in a fresh root: refused before the gate.
        Case {
            code: 6,
            ..change("root retire", &["--key", "unseal-key"])
        },
        case("unseal share", Out::Notes, 0, |fx| {
            fx.share_args(&fx.fresh("set"))
        }),
        combine(&["alice", "bob"], Out::Product, 0),
        // One share of two: refused before anything is printed.
        combine(&["alice"], Out::Notes, 5),
        fixed(
            "unseal verify",
            Out::Listing,
            0,
            &[
                "unseal",
                "verify",
                "--shareset",
                "set/shareset.json",
                "set/alice.share.age",
                "-i",
                "alice.key",
            ],
        ),
        fixed(
            "unseal verify",
            Out::Product,
            0,
            &[
                "unseal",
                "verify",
                "--json",
                "--shareset",
                "set/shareset.json",
                "set/alice.share.age",
                "-i",
                "alice.key",
            ],
        ),
        case("unseal reshare", Out::Notes, 0, |fx| {
            fx.reshare_args(&fx.fresh("reshared"))
        }),
        case("unseal wrap", Out::Notes, 0, |fx| {
            fx.wrap_args(&fx.fresh("wrapped"))
        }),
        fixed(
            "unseal open",
            Out::Product,
            0,
            &["unseal", "open", "set/alice.share.age", "-i", "alice.key"],
        ),
        case("preflight", Out::Listing, 0, |fx| {
            args(&["preflight", "--system-root", &fx.sys])
        }),
        case("preflight", Out::Product, 0, |fx| {
            args(&["preflight", "--json", "--system-root", &fx.sys])
        }),
        // Online: the report, then refused.
        case("preflight", Out::Listing, 6, |fx| {
            args(&["preflight", "--system-root", &fx.online])
        }),
        fixed("demo", Out::Listing, 0, &["demo"]),
        case("demo", Out::Listing, 0, |fx| {
            args(&["demo", "--keep", &fx.fresh("demo")])
        }),
    ]
}

/// `bootstrap`.
fn bootstrap_cases() -> Vec<Case> {
    let in_place = |command: &'static str, extra: &'static [&'static str], out: Out| {
        case(command, out, 0, move |fx| {
            let mut all: Vec<String> = command.split(' ').map(str::to_owned).collect();
            all.extend(args(extra));
            match command {
                "bootstrap seal" => all.extend(args(&["--in-place", "--root", "root"])),
                _ => all.extend(args(&["-i", &fx.key1])),
            }
            if command == "bootstrap updatekeys" {
                all.extend(args(&["--recipient", &format!("{R1},{R2}")]));
            }
            let tree = if command == "bootstrap seal" {
                "plain"
            } else {
                "sealed-r1"
            };
            all.push(fx.copy_of(tree));
            all
        })
    };
    vec![
        fixed(
            "bootstrap seal",
            Out::Product,
            0,
            &["bootstrap", "seal", "--recipient", R1, "plain/apps/db.yaml"],
        ),
        in_place("bootstrap seal", &[], Out::Notes),
        in_place("bootstrap seal", &["--json"], Out::Product),
        case("bootstrap open", Out::Product, 0, |fx| {
            args(&[
                "bootstrap",
                "open",
                "-i",
                &fx.key1,
                "sealed-r1/apps/db.yaml",
            ])
        }),
        case("bootstrap open", Out::Notes, 0, |fx| {
            args(&[
                "bootstrap",
                "open",
                "-i",
                &fx.key1,
                "--out-dir",
                &fx.fresh("opened"),
                "sealed-r1",
            ])
        }),
        fixed(
            "bootstrap verify",
            Out::Listing,
            0,
            &["bootstrap", "verify", "--all", "--root", "root", "sealed"],
        ),
        fixed(
            "bootstrap verify",
            Out::Product,
            0,
            &["bootstrap", "verify", "--json", "--root", "root", "sealed"],
        ),
        // Secrets in clear: the offenders, then exit 4.
        fixed(
            "bootstrap verify",
            Out::Listing,
            4,
            &["bootstrap", "verify", "--root", "root", "plain"],
        ),
        in_place("bootstrap updatekeys", &[], Out::Notes),
        in_place("bootstrap updatekeys", &["--json"], Out::Product),
        in_place("bootstrap rotate", &[], Out::Notes),
        in_place("bootstrap rotate", &["--json"], Out::Product),
        // Every case runs with stdin on /dev/null, so set reads an empty
        // value and refuses it (exit 3) after its notes: the item and the
        // identity are checked first. Its write is rotate's
        // (fsio::replace_if_unchanged), covered above and below.
        case("bootstrap set", Out::Notes, 3, |fx| {
            args(&[
                "bootstrap",
                "set",
                &fx.copy_of("sealed-r1/apps/db.yaml"),
                "--item",
                "apps/db/password",
                "-i",
                &fx.key1,
            ])
        }),
    ]
}

/// `handover`, `transcript`, and what clap prints.
fn handover_and_transcript_cases() -> Vec<Case> {
    let verify = |extra: &'static [&'static str], out: Out, code: i32| {
        case("handover verify", out, code, move |_| {
            let mut all = args(&[
                "handover",
                "verify",
                "--challenge",
                "challenge.json",
                "--receipt",
                "signed.json",
            ]);
            all.extend(args(extra));
            all
        })
    };
    vec![
        case("handover trust from-transit", Out::Product, 0, |fx| {
            use base64::Engine;
            let public = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
            let key = serde_json::json!({
                "data": {
                    "name": "receipts",
                    "type": "ed25519",
                    "derived": false,
                    "latest_version": 1,
                    "min_decryption_version": 1,
                    "keys": {"1": {"name": "ed25519", "public_key":
                        base64::engine::general_purpose::STANDARD.encode(public.to_bytes())}}
                }
            });
            fx.s.write("transit-key.json", key.to_string());
            args(&[
                "handover",
                "trust",
                "from-transit",
                "transit-key.json",
                "--authority",
                "openbao-prod",
            ])
        }),
        case("handover challenge", Out::Notes, 0, |fx| {
            args(&[
                "handover",
                "challenge",
                "--root",
                "root",
                "--bootstrap",
                "sealed",
                "--authority",
                "openbao-prod",
                "--out",
                &format!("{}.json", fx.fresh("challenge")),
            ])
        }),
        case("handover receipt", Out::Notes, 0, |fx| {
            fx.receipt_args(
                &format!("{}.json", fx.fresh("receipt")),
                &["--key", "signer"],
            )
        }),
        case("handover receipt", Out::Notes, 0, |fx| {
            fx.receipt_args(&format!("{}.json", fx.fresh("receipt")), &["--unsigned"])
        }),
        case("handover attach-signature", Out::Notes, 0, |fx| {
            fx.attach_args(&fx.copy_of("unsigned.json"))
        }),
        verify(&["--trust", "trust"], Out::Listing, 0),
        verify(&["--trust", "trust", "--json"], Out::Product, 0),
        verify(
            &["--trust", "trust", "--bootstrap", "sealed"],
            Out::Listing,
            0,
        ),
        // A TRUSTFILE without the signer: the report, then exit 4.
        verify(&["--trust", "stranger-trust"], Out::Listing, 4),
        fixed(
            "transcript verify",
            Out::Listing,
            0,
            &["transcript", "verify", "t.jsonl"],
        ),
        fixed(
            "transcript verify",
            Out::Product,
            0,
            &["transcript", "verify", "--json", "t.jsonl"],
        ),
        // Not signed by the root: the report, then exit 4.
        fixed(
            "transcript verify",
            Out::Listing,
            4,
            &["transcript", "verify", "t.jsonl", "--root", "root"],
        ),
        case("transcript sign", Out::Notes, 0, |fx| {
            fx.sign_args(&fx.copy_of("t.jsonl"))
        }),
        fixed(
            "transcript head",
            Out::Listing,
            0,
            &["transcript", "head", "t.jsonl"],
        ),
        fixed(
            "transcript head",
            Out::Product,
            0,
            &["transcript", "head", "t.jsonl", "--witness", "wanda"],
        ),
        fixed(
            "transcript report",
            Out::Product,
            0,
            &["transcript", "report", "t.jsonl"],
        ),
        // Not a signature file: refused before anything is appended (exit 3).
        case("transcript sign-off", Out::Notes, 3, |fx| {
            args(&[
                "transcript",
                "sign-off",
                &fx.copy_of("t.jsonl"),
                "--witness",
                "wanda",
                "--signature",
                "t.jsonl",
            ])
        }),
        // `run` records the ceremony itself, never its own invocation.
        unrecorded(case("run", Out::Listing, 0, |_| {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/ceremonies/root-init.toml");
            args(&[
                "run",
                script,
                "--plan",
                "--set",
                "custodians=custodians.toml",
                "--set",
                "root=new-root",
            ])
        })),
        fixed("completions", Out::Product, 0, &["completions", "bash"]),
        fixed("manpage", Out::Product, 0, &["manpage"]),
        unrecorded(fixed("", Out::Product, 0, &["--help"])),
        unrecorded(fixed("", Out::Product, 0, &["--version"])),
        unrecorded(fixed(
            "root init",
            Out::Product,
            0,
            &["root", "init", "--help"],
        )),
        unrecorded(fixed(
            "root init",
            Out::Notes,
            2,
            &["root", "init", "--no-such-flag"],
        )),
    ]
}

#[test]
fn root_unseal_preflight_and_demo_survive_stdout_and_stderr_faults() {
    check_matrix(&Fixture::new(), &root_and_unseal_cases());
}

#[test]
fn bootstrap_commands_survive_stdout_and_stderr_faults() {
    check_matrix(&Fixture::new(), &bootstrap_cases());
}

#[test]
fn handover_transcript_and_help_survive_stdout_and_stderr_faults() {
    check_matrix(&Fixture::new(), &handover_and_transcript_cases());
}

/// Every command that `ceremony --help` and each group's `--help` list
/// has a row in one of the matrices above: a new command needs one.
#[test]
fn the_matrices_cover_every_command() {
    let mut covered: Vec<String> = root_and_unseal_cases()
        .into_iter()
        .chain(bootstrap_cases())
        .chain(handover_and_transcript_cases())
        .map(|case| case.command.to_owned())
        .filter(|command| !command.is_empty())
        .collect();
    covered.sort();
    covered.dedup();
    let s = Scratch::new();
    let mut found = Vec::new();
    let mut groups = vec![Vec::<String>::new()];
    while let Some(group) = groups.pop() {
        let mut all: Vec<&str> = group.iter().map(String::as_str).collect();
        all.push("--help");
        let help = s.ceremony(&all).success().stdout_text();
        let commands: Vec<String> = help
            .split("Commands:")
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .skip(1)
                    .take_while(|l| l.starts_with("  "))
                    // A wrapped description is indented further.
                    .filter(|l| !l.starts_with("   "))
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|name| *name != "help")
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if commands.is_empty() {
            found.push(group.join(" "));
        }
        for name in commands {
            let mut sub = group.clone();
            sub.push(name);
            groups.push(sub);
        }
    }
    found.sort();
    assert_eq!(covered, found, "commands without a row in the matrices");
}

// ---------------------------------------------------------------------------
// kill -9 at random points

/// Runs `ceremony ARGS` (from `make(label)`, which may also reset what the
/// command rewrites) once to completion, then `runs` times killed with
/// SIGKILL after a random delay within about the time a whole run takes,
/// calling `check(label)` after each; then once more to completion, after
/// which nothing may be left over under `dir`.
fn kill_at_random(
    fx: &Fixture,
    dir: &Path,
    runs: usize,
    mut make: impl FnMut(&str) -> Vec<String>,
    mut check: impl FnMut(&str),
) {
    let started = Instant::now();
    fx.ok(&make("whole"));
    // Only where the kills land depends on this; nothing is asserted on it.
    let whole = started.elapsed();
    check("whole");
    let mut rng = rand::thread_rng();
    let mut killed = 0;
    for i in 0..runs {
        let label = format!("kill-{i}");
        let mut child = fx
            .command(&make(&label))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ceremony");
        std::thread::sleep(whole.mul_f64(rng.gen_range(0.0..1.2)));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        match status.code() {
            // Finished before the kill.
            Some(code) => assert_eq!(code, 0, "{label}: {status:?}"),
            None => killed += 1,
        }
        check(&label);
    }
    assert!(killed > 0, "no run was killed");
    fx.ok(&make("last"));
    check("last");
    assert_no_leftovers(dir, "a successful run after the kills");
}

#[test]
fn a_killed_root_init_leaves_no_root_or_a_whole_one() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.path("roots")).unwrap();
    let mut all = args(&["--transcript", "roots/t.jsonl"]);
    kill_at_random(
        &fx,
        &fx.path("roots"),
        30,
        |label| {
            all.truncate(2);
            all.extend(fx.root_init_args(&format!("roots/root-{label}")));
            all.clone()
        },
        |label| {
            let root = fx.path(&format!("roots/root-{label}"));
            if root.exists() {
                let (_, report) = ceremony::root::verify_dir(&root, Default::default());
                assert!(report.passed(), "{}: {report:?}", root.display());
            }
            transcript_records(&fx.path("roots/t.jsonl"));
        },
    );
}

/// A rotation swaps the whole root directory at once: killed anywhere, the
/// root is there, whole, at the old version or the new one, with the
/// bundles of that version.
#[test]
fn a_killed_root_rotate_leaves_the_old_version_or_the_new_one() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.path("rotations")).unwrap();
    let transcript = "rotations/t.jsonl";
    kill_at_random(
        &fx,
        &fx.path("rotations"),
        30,
        |label| {
            let root = format!("rotations/root-{label}");
            copy_any(&fx.path("root"), &fx.path(&root));
            let mut all = args(&[
                "--transcript",
                transcript,
                "root",
                "rotate",
                "--yes",
                "--root",
                &root,
                "--key",
                "unseal-key",
            ]);
            for name in ["alice", "bob"] {
                all.push(format!("{root}/shares/{name}.age"));
                all.push("-i".into());
                all.push(format!("{name}.key"));
            }
            all.extend(args(&["--system-root", &fx.sys]));
            all
        },
        |label| {
            let root = fx.path(&format!("rotations/root-{label}"));
            let (lineage, report) = ceremony::root::verify_dir(&root, Default::default());
            assert!(report.passed(), "{}: {report:?}", root.display());
            let version = lineage.expect("a root").current().number();
            assert!(
                version == 1 || version == 2,
                "{}: version {version}",
                root.display()
            );
            transcript_records(&fx.path(transcript));
        },
    );
}

#[test]
fn a_killed_unseal_share_or_reshare_leaves_no_set_or_a_whole_one() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.path("sets")).unwrap();
    for (stem, make) in [
        (
            "share",
            Fixture::share_args as fn(&Fixture, &str) -> Vec<String>,
        ),
        ("reshare", Fixture::reshare_args),
    ] {
        let transcript = format!("sets/{stem}.jsonl");
        kill_at_random(
            &fx,
            &fx.path("sets"),
            30,
            |label| {
                let mut all = args(&["--transcript", &transcript]);
                all.extend(make(&fx, &format!("sets/{stem}-{label}")));
                all
            },
            |label| {
                let set = format!("sets/{stem}-{label}");
                if fx.path(&set).exists() {
                    fx.assert_set_opens(&set);
                }
                transcript_records(&fx.path(&transcript));
            },
        );
    }
}

#[test]
fn a_killed_in_place_seal_leaves_each_file_clear_or_sealed() {
    let fx = Fixture::new();
    let tree = fx.path("kill-tree");
    kill_at_random(
        &fx,
        &tree,
        30,
        |_| {
            // Back to clear text: every run seals the whole tree again.
            write_tree(&tree, &many_manifests());
            args(&[
                "--transcript",
                "seal.jsonl",
                "bootstrap",
                "seal",
                "--in-place",
                "--recipient",
                R1,
                "kill-tree",
            ])
        },
        |_| {
            fx.assert_tree_whole(&tree, &many_manifests());
            transcript_records(&fx.path("seal.jsonl"));
        },
    );
}

/// 200 Secret manifests in two directories: a batch large enough to be
/// made durable and renamed in rounds while the rest is sealed.
fn large_batch() -> Vec<(String, String)> {
    (0..200)
        .map(|i| {
            (
                format!("dir-{}/secret-{i:03}.yaml", i % 2),
                format!(
                    "apiVersion: v1\nkind: Secret\nmetadata:\n    name: s-{i}\nstringData:\n    token: t-{i}\n"
                ),
            )
        })
        .collect()
}

#[test]
fn a_killed_large_batch_leaves_each_file_clear_or_sealed() {
    let fx = Fixture::new();
    let tree = fx.path("kill-large");
    let files = large_batch();
    kill_at_random(
        &fx,
        &tree,
        30,
        |_| {
            write_tree(&tree, &files);
            args(&[
                "bootstrap",
                "seal",
                "--in-place",
                "--recipient",
                R1,
                "kill-large",
            ])
        },
        |label| {
            fx.assert_tree_whole(&tree, &files);
            if label == "whole" || label == "last" {
                // Runs that succeeded: every file sealed, none left clear.
                for (rel, plain) in &files {
                    let now = std::fs::read(tree.join(rel)).unwrap();
                    assert_ne!(now, plain.as_bytes(), "{label}: {rel} is still clear");
                }
            }
        },
    );
}

/// A batch writes its temporary files before it renames them (a batch
/// this small, every one of them before the first rename): killed in
/// between, it leaves them beside their targets, every target whole, and
/// the next run removes each one, says so, and seals the tree.
#[test]
fn a_batch_killed_before_its_renames_leaves_leftovers_the_next_run_removes_and_names() {
    let fx = Fixture::new();
    let tree = fx.path("killed-batch");
    let reset = || write_tree(&tree, &many_manifests());
    let seal = args(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--recipient",
        R1,
        "killed-batch",
    ]);
    // Killed as soon as a temporary file shows; a run that finishes first
    // (or is killed after its renames) is tried again.
    let mut left = Vec::new();
    for _ in 0..50 {
        reset();
        let mut child = fx
            .command(&seal)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ceremony");
        while leftovers_under(&tree).is_empty() && child.try_wait().unwrap().is_none() {}
        let _ = child.kill();
        let _ = child.wait();
        fx.assert_tree_whole(&tree, &many_manifests());
        left = leftovers_under(&tree);
        if !left.is_empty() {
            break;
        }
    }
    assert!(
        !left.is_empty(),
        "no run was killed while it had temporary files"
    );
    let out = fx.ok(&seal);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for path in &left {
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(
            stderr.lines().any(
                |l| l.starts_with("note: removed a leftover of a killed run: ")
                    && l.contains(&*name)
            ),
            "{name} is not said to be removed:\n{stderr}"
        );
    }
    assert_no_leftovers(&tree, "the run after the kill");
    fx.assert_tree_whole(&tree, &many_manifests());
    for (rel, plain) in many_manifests() {
        let sealed = std::fs::read(tree.join(&rel)).unwrap();
        assert_ne!(sealed, plain.as_bytes(), "{rel} is still clear");
    }
}

#[test]
fn a_killed_transcript_append_leaves_a_transcript_that_verifies() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.path("tr")).unwrap();
    std::fs::copy(fx.path("t.jsonl"), fx.path("tr/signed.jsonl")).unwrap();
    let count = Cell::new(transcript_records(&fx.path("tr/signed.jsonl")).len());
    kill_at_random(
        &fx,
        &fx.path("tr"),
        30,
        |_| fx.sign_args("tr/signed.jsonl"),
        |label| {
            // The signature is there whole, or not at all.
            let records = transcript_records(&fx.path("tr/signed.jsonl"));
            assert!(
                records.len() == count.get() || records.len() == count.get() + 1,
                "{label}: {} records after {}",
                records.len(),
                count.get()
            );
            if records.len() > count.get() {
                assert!(matches!(
                    records.last().unwrap().entry,
                    Entry::Signature { .. }
                ));
            }
            count.set(records.len());
        },
    );
    let sys = fx.sys.clone();
    kill_at_random(
        &fx,
        &fx.path("tr"),
        30,
        |_| {
            args(&[
                "--transcript",
                "tr/commands.jsonl",
                "preflight",
                "--system-root",
                &sys,
            ])
        },
        |_| {
            transcript_records(&fx.path("tr/commands.jsonl"));
        },
    );
}

/// The pid namespace and boot token fsio puts in a leftover's name.
fn host_token() -> String {
    use sha2::{Digest, Sha256};
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let namespace = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let mut hash = Sha256::new();
    hash.update(boot.trim().as_bytes());
    hash.update(b"\n");
    hash.update(namespace.as_os_str().as_encoded_bytes());
    hex::encode(&hash.finalize()[..4])
}

/// A stale leftover (its writer has exited and was reaped) and a live one
/// (pid 1 is running), named as fsio names them, in `dir`.
fn plant_leftovers(dir: &Path) -> (PathBuf, PathBuf) {
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let host = host_token();
    let stale = dir.join(format!(".ceremony-staging-{dead}-1-{host}-AbCd1234"));
    std::fs::create_dir_all(stale.join("shares")).unwrap();
    std::fs::write(stale.join("shares/alice.age"), "half a share set").unwrap();
    let stat = std::fs::read_to_string("/proc/1/stat").unwrap();
    let start = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_owned();
    let live = dir.join(format!(".ceremony-1-{start}-{host}-AbCd1234.tmp"));
    std::fs::write(&live, "being written").unwrap();
    (stale, live)
}

#[test]
fn the_next_write_removes_a_dead_writers_leftovers_and_keeps_a_live_ones() {
    let fx = Fixture::new();
    let (stale, live) = plant_leftovers(fx.s.dir.path());
    fx.ok(&fx.share_args("new-set"));
    assert!(
        !stale.exists(),
        "the dead writer's staging directory is gone"
    );
    assert!(live.exists(), "a running writer's file is left alone");
    fx.assert_set_opens("new-set");
}

/// Says on stderr, once each, that `stale` was removed and `live` kept
/// because its writer may still be running. (A walk lists them among the
/// hidden entries it skips too; that is not what is counted.)
fn assert_leftovers_said(stderr: &str, stale: &Path, live: &Path) {
    let said = |path: &Path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("note: ") && l.contains(&name))
            .collect();
        assert_eq!(lines.len(), 1, "{name} is not said once:\n{stderr}");
        lines[0].to_owned()
    };
    let removed = said(stale);
    assert!(
        removed.starts_with("note: removed a leftover of a killed run: "),
        "{removed}"
    );
    let kept = said(live);
    assert!(
        kept.starts_with("note: kept ") && kept.contains("(pid 1) may still be running"),
        "{kept}"
    );
}

#[test]
fn the_next_write_says_which_leftovers_it_removed() {
    let fx = Fixture::new();
    // A command that checks its output directory before it asks anything,
    // then writes it: both sweep, and each leftover is said once.
    let (stale, live) = plant_leftovers(fx.s.dir.path());
    let out = fx.ok(&fx.share_args("new-set"));
    assert_leftovers_said(&String::from_utf8_lossy(&out.stderr), &stale, &live);
    assert!(!stale.exists() && live.exists());

    // Two files of one directory sealed in place, each write sweeping it.
    let tree = fx.copy_of("plain");
    let (stale, live) = plant_leftovers(&fx.path(&format!("{tree}/apps")));
    std::fs::write(fx.path(&format!("{tree}/apps/db2.yaml")), DB_YAML).unwrap();
    let out = fx.ok(&args(&[
        "bootstrap",
        "seal",
        "--in-place",
        "--recipient",
        R1,
        &tree,
    ]));
    assert_leftovers_said(&String::from_utf8_lossy(&out.stderr), &stale, &live);
    assert!(!stale.exists() && live.exists());

    // A new root, and a new version of one.
    std::fs::create_dir(fx.path("roots")).unwrap();
    let (stale, live) = plant_leftovers(&fx.path("roots"));
    let out = fx.ok(&fx.root_init_args("roots/new-root"));
    assert_leftovers_said(&String::from_utf8_lossy(&out.stderr), &stale, &live);
    assert!(!stale.exists() && live.exists());
    let (stale, live) = plant_leftovers(&fx.path("roots"));
    let mut rotate = args(&[
        "root",
        "rotate",
        "--yes",
        "--root",
        "roots/new-root",
        "--key",
        "unseal-key",
    ]);
    for name in ["alice", "bob"] {
        rotate.push(format!("roots/new-root/shares/{name}.age"));
        rotate.push("-i".into());
        rotate.push(format!("{name}.key"));
    }
    rotate.extend(args(&["--system-root", &fx.sys]));
    let out = fx.ok(&rotate);
    assert_leftovers_said(&String::from_utf8_lossy(&out.stderr), &stale, &live);
    assert!(!stale.exists() && live.exists());

    // A handover receipt, unsigned (two files into one directory), then
    // signed in place.
    std::fs::create_dir(fx.path("receipts")).unwrap();
    let (stale, live) = plant_leftovers(&fx.path("receipts"));
    let out = fx.ok(&fx.receipt_args("receipts/receipt.json", &["--unsigned"]));
    assert_leftovers_said(&String::from_utf8_lossy(&out.stderr), &stale, &live);
    assert!(!stale.exists() && live.exists());
    assert!(fx.path("receipts/receipt.json.pae").exists());
}

#[test]
fn an_in_place_seal_refuses_a_plaintext_with_another_name() {
    let fx = Fixture::new();
    let tree = fx.copy_of("plain");
    let file = fx.path(&format!("{tree}/apps/db.yaml"));
    let plain = std::fs::read(&file).unwrap();
    let other = fx.path("db-backup.yaml");
    std::fs::hard_link(&file, &other).unwrap();
    let seal = args(&["bootstrap", "seal", "--in-place", "--recipient", R1, &tree]);
    let out = fx.run(&seal);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("1 other name(s) (hard links)"), "{stderr}");
    assert!(
        stderr.contains(&format!("find / -xdev -samefile {tree}/apps/db.yaml")),
        "no hint says how to find the other name:\n{stderr}"
    );
    assert!(stderr.contains("hint            "), "{stderr}");
    // Still one file under two names, in clear: nothing was sealed.
    assert_eq!(std::fs::read(&file).unwrap(), plain);
    assert_eq!(std::fs::read(&other).unwrap(), plain);
    // The other file of the tree went through.
    fx.assert_tree_whole(&fx.path(&tree), &manifests());
    assert_ne!(
        std::fs::read(fx.path(&format!("{tree}/flux/git.yaml"))).unwrap(),
        manifests()[1].1.as_bytes()
    );
    // Once the other name is gone, the seal goes through.
    std::fs::remove_file(&other).unwrap();
    fx.ok(&seal);
    assert_ne!(std::fs::read(&file).unwrap(), plain);
    fx.assert_tree_whole(&fx.path(&tree), &manifests());
}

#[test]
fn updatekeys_and_rotate_say_that_another_name_keeps_the_old_ciphertext() {
    let fx = Fixture::new();
    for (command, says) in [
        ("updatekeys", "still hold it sealed to the old recipients"),
        ("rotate", "for that copy the rotation did not happen"),
    ] {
        let tree = fx.copy_of("sealed-r1");
        let file = fx.path(&format!("{tree}/apps/db.yaml"));
        let before = std::fs::read(&file).unwrap();
        let other = fx.path(&format!("{tree}-db-copy.yaml"));
        std::fs::hard_link(&file, &other).unwrap();
        let mut all = args(&["bootstrap", command, "-i", &fx.key1]);
        if command == "updatekeys" {
            all.extend(args(&["--recipient", &format!("{R1},{R2}")]));
        }
        all.push(tree.clone());
        let out = fx.ok(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let warned: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("warning "))
            .collect();
        assert_eq!(warned.len(), 1, "{command}: {stderr}");
        assert!(
            warned[0].contains(&format!("{tree}/apps/db.yaml: 1 other name(s)"))
                && warned[0].contains(says)
                && warned[0].contains("find / -xdev -samefile"),
            "{command}: {stderr}"
        );
        // The name given was rewritten; the other still holds the old bytes.
        assert_ne!(std::fs::read(&file).unwrap(), before, "{command}");
        assert_eq!(std::fs::read(&other).unwrap(), before, "{command}");
    }
}

// ---------------------------------------------------------------------------
// A full disk

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    page: u64,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (mount(8) syntax) at `dir`, or says on
    /// stderr why it cannot and returns `None`, unless
    /// `CEREMONY_REQUIRE_TMPFS=1` makes that a failure.
    fn mount(dir: &Path, size: &str, test: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
            .arg("tmpfs")
            .arg(dir)
            .output();
        let why = match mounted {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            Err(e) => Some(format!("cannot run mount: {e}")),
        };
        if let Some(why) = why {
            let message = format!(
                "{test}: cannot mount a tmpfs at {} ({why}); the disk-full tests need root or CAP_SYS_ADMIN",
                dir.display()
            );
            assert!(
                std::env::var_os("CEREMONY_REQUIRE_TMPFS").is_none_or(|v| v != "1"),
                "{message}, and CEREMONY_REQUIRE_TMPFS=1 requires them to run"
            );
            eprintln!("SKIPPED {message}");
            return None;
        }
        let page = Command::new("getconf").arg("PAGESIZE").output().unwrap();
        let page = String::from_utf8(page.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Some(Tmpfs {
            dir: dir.to_owned(),
            page,
        })
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Free pages, as statfs(2) counts them.
    fn free_pages(&self) -> u64 {
        let out = Command::new("stat")
            .args(["-f", "-c", "%a"])
            .arg(&self.dir)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Fills the file system with a filler file, leaving exactly `pages`
    /// pages free.
    fn leave_free(&self, pages: u64) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0u8; self.page as usize];
        while file.write_all(&chunk).is_ok() {}
        let len = file.metadata().unwrap().len();
        // A failed write_all may have written part of a page.
        let full = len - len % self.page;
        file.set_len(full.saturating_sub(pages * self.page))
            .unwrap();
        drop(file);
        assert_eq!(
            self.free_pages(),
            pages,
            "the filler left another amount free"
        );
    }

    fn unfill(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.dir).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Appends records to the transcript at `path` until it ends `slack`
/// bytes before a page boundary: the next record needs a new page, and is
/// first written in part (a short write), which is what used to leave a
/// torn last line on a full disk.
fn pad_transcript(path: &Path, page: u64, slack: u64) {
    let len = || std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let pad = |n: usize| {
        let entry = Entry::Command {
            argv: vec!["pad".into(), "x".repeat(n)],
            exit_code: 0,
            outcome: "ok".into(),
        };
        transcript::append(path, entry, &ceremony::clock::SystemClock).unwrap();
    };
    for _ in 0..3 {
        let before = len();
        if before % page == page - slack {
            return;
        }
        pad(1);
        // A record with one byte of padding, and how far the boundary is.
        let shortest = len() - before;
        let now = len();
        let target = (now + shortest + slack).div_ceil(page) * page - slack;
        pad((target - now - shortest + 1) as usize);
    }
    assert_eq!(
        len() % page,
        page - slack,
        "could not pad {}",
        path.display()
    );
}

/// How one writing command is run on a full disk.
struct DiskFull<'a> {
    fx: &'a Fixture,
    tmpfs: &'a Tmpfs,
    /// The transcript on the tmpfs.
    transcript: PathBuf,
}

/// What a writing command leaves, checked after every run.
struct Written<'a> {
    /// Checks that what the command writes is whole and valid, or absent
    /// or as it was (never partial), and says whether the command's work
    /// is complete; `None` where that cannot be told and running the
    /// command again is harmless either way.
    complete: Box<dyn Fn() -> Option<bool> + 'a>,
    /// Puts things back as they were before the command, for the next
    /// try, after a run whose work was complete but could not be recorded.
    undo: Box<dyn Fn() + 'a>,
}

impl<'a> Written<'a> {
    /// A new file or directory at `rel`, checked by `valid` when present.
    fn new_at(fx: &'a Fixture, rel: &str, valid: impl Fn() + 'a) -> Self {
        let path = fx.path(rel);
        let undo_path = path.clone();
        Written {
            complete: Box::new(move || {
                path.exists().then(|| {
                    valid();
                    true
                })
            }),
            undo: Box::new(move || {
                if undo_path.is_dir() {
                    std::fs::remove_dir_all(&undo_path).unwrap();
                } else {
                    std::fs::remove_file(&undo_path).unwrap();
                }
            }),
        }
    }

    /// Something `check` looks at, done or not by `check`'s answer, that a
    /// rerun completes whatever state it is in.
    fn rerunnable(check: impl Fn() -> Option<bool> + 'a) -> Self {
        Written {
            complete: Box::new(check),
            undo: Box::new(|| {}),
        }
    }
}

impl DiskFull<'_> {
    /// Runs `command` (with `--transcript` on the tmpfs when `record`) with
    /// 0, 1, 2, … pages free until it succeeds. Every failure before must
    /// name the full disk and leave no `.ceremony-*` entry and the output
    /// whole or absent. Either the work was not done: exit 8, and the
    /// transcript is exactly as it was or has one more record (of that exit
    /// 8). Or the work was done and only recording it failed: exit 9
    /// (not-recorded, never 8, which a runbook may retry), said on stderr,
    /// and the transcript is exactly as it was. Then the success must be
    /// recorded and its work complete.
    fn until_it_fits(&self, command: &[String], record: bool, output: Written<'_>) {
        let mut all = Vec::new();
        if record {
            all.extend(args(&["--transcript", self.transcript.to_str().unwrap()]));
        }
        all.extend_from_slice(command);
        self.tmpfs.unfill();
        pad_transcript(&self.transcript, self.tmpfs.page, 100);
        for free in 0..256 {
            self.tmpfs.leave_free(free);
            let before = std::fs::read(&self.transcript).unwrap();
            let count = transcript_records(&self.transcript).len();
            let out = self.fx.run(&all);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let context = format!("ceremony {all:?} with {free} page(s) free\nstderr:\n{stderr}");
            let records = transcript_records(&self.transcript);
            assert_no_leftovers(&self.tmpfs.dir, &context);
            let complete = (output.complete)();
            if out.status.success() {
                assert!(free > 0, "{context}\nsucceeded on a full disk");
                assert_ne!(complete, Some(false), "{context}\nsucceeded, work not done");
                if record {
                    assert_eq!(records.len(), count + 1, "{context}");
                    assert_eq!(exit_code_of(records.last().unwrap()), 0, "{context}");
                }
                self.tmpfs.unfill();
                return;
            }
            assert!(
                stderr.contains("No space left on device"),
                "{context}\nthe full disk is not named"
            );
            if out.status.code() == Some(9) {
                assert!(record, "{context}\nnot recorded, without a transcript");
                assert_ne!(complete, Some(false), "{context}\nsucceeded, work not done");
                assert!(
                    stderr.contains("but it was not recorded in the transcript"),
                    "{context}\nnot said"
                );
                assert_eq!(
                    std::fs::read(&self.transcript).unwrap(),
                    before,
                    "{context}\nthe transcript changed"
                );
                if complete == Some(true) {
                    (output.undo)();
                }
                continue;
            }
            assert_eq!(out.status.code(), Some(8), "{context}");
            assert_ne!(
                complete,
                Some(true),
                "{context}\nthe work is done: only recording it may have failed, with exit 9"
            );
            if records.len() == count {
                assert_eq!(
                    std::fs::read(&self.transcript).unwrap(),
                    before,
                    "{context}\nthe transcript changed"
                );
            } else {
                assert!(record, "{context}\nthe transcript changed");
                assert_eq!(records.len(), count + 1, "{context}");
                assert_eq!(exit_code_of(records.last().unwrap()), 8, "{context}");
            }
        }
        panic!("ceremony {all:?} still fails with 256 pages free");
    }
}

/// A fixture and a 4 MiB tmpfs at `mnt/` holding its transcript, or
/// `None` where no tmpfs can be mounted.
fn full_disk(test: &str) -> Option<(Fixture, Tmpfs)> {
    let fx = Fixture::new();
    let tmpfs = Tmpfs::mount(&fx.path("mnt"), "4m", test)?;
    std::fs::copy(fx.path("t.jsonl"), fx.path("mnt/t.jsonl")).unwrap();
    Some((fx, tmpfs))
}

#[test]
fn a_full_disk_fails_root_init_and_unseal_writes_cleanly() {
    let Some((fx, tmpfs)) = full_disk("root and unseal") else {
        return;
    };
    let disk = DiskFull {
        fx: &fx,
        tmpfs: &tmpfs,
        transcript: fx.path("mnt/t.jsonl"),
    };
    disk.until_it_fits(
        &fx.root_init_args("mnt/root"),
        true,
        Written::new_at(&fx, "mnt/root", || {
            let (_, report) = ceremony::root::verify_dir(&fx.path("mnt/root"), Default::default());
            assert!(report.passed(), "{report:?}");
        }),
    );
    for (out, make) in [
        (
            "mnt/set",
            Fixture::share_args as fn(&Fixture, &str) -> Vec<String>,
        ),
        ("mnt/reshared", Fixture::reshare_args),
        ("mnt/wrapped", Fixture::wrap_args),
    ] {
        disk.until_it_fits(
            &make(&fx, out),
            true,
            Written::new_at(&fx, out, || fx.assert_set_opens(out)),
        );
    }
}

#[test]
fn a_full_disk_fails_bootstrap_writes_cleanly() {
    let Some((fx, tmpfs)) = full_disk("bootstrap") else {
        return;
    };
    let disk = DiskFull {
        fx: &fx,
        tmpfs: &tmpfs,
        transcript: fx.path("mnt/t.jsonl"),
    };
    // Each file in clear or sealed and opening; done when all are sealed.
    let sealed = |rel: &'static str| {
        let fx = &fx;
        move || {
            fx.assert_tree_whole(&fx.path(rel), &manifests());
            Some(manifests().iter().all(|(file, plain)| {
                std::fs::read(fx.path(&format!("{rel}/{file}"))).unwrap() != plain.as_bytes()
            }))
        }
    };
    copy_dir(&fx.path("plain"), &fx.path("mnt/tree"));
    disk.until_it_fits(
        &args(&[
            "bootstrap",
            "seal",
            "--in-place",
            "--recipient",
            R1,
            "mnt/tree",
        ]),
        true,
        Written::rerunnable(sealed("mnt/tree")),
    );
    // Sealed before and after: whether a file was rewritten is not told,
    // and running again is harmless.
    let opens = |rel: &'static str| {
        let sealed = sealed(rel);
        move || {
            assert_eq!(sealed(), Some(true));
            None
        }
    };
    copy_dir(&fx.path("sealed-r1"), &fx.path("mnt/updated"));
    disk.until_it_fits(
        &args(&[
            "bootstrap",
            "updatekeys",
            "-i",
            &fx.key1,
            "--recipient",
            &format!("{R1},{R2}"),
            "mnt/updated",
        ]),
        true,
        Written::rerunnable(opens("mnt/updated")),
    );
    copy_dir(&fx.path("sealed-r1"), &fx.path("mnt/rotated"));
    disk.until_it_fits(
        &args(&["bootstrap", "rotate", "-i", &fx.key1, "mnt/rotated"]),
        true,
        Written::rerunnable(opens("mnt/rotated")),
    );
    disk.until_it_fits(
        &args(&[
            "bootstrap",
            "open",
            "-i",
            &fx.key1,
            "--out-dir",
            "mnt/opened",
            "sealed-r1",
        ]),
        true,
        Written::new_at(&fx, "mnt/opened", || {
            for (file, plain) in manifests() {
                assert_eq!(
                    std::fs::read(fx.path(&format!("mnt/opened/{file}"))).unwrap(),
                    plain.as_bytes(),
                    "{file}"
                );
            }
        }),
    );
}

#[test]
fn a_full_disk_fails_handover_and_transcript_writes_cleanly() {
    let Some((fx, tmpfs)) = full_disk("handover and transcript") else {
        return;
    };
    let transcript = fx.path("mnt/t.jsonl");
    let disk = DiskFull {
        fx: &fx,
        tmpfs: &tmpfs,
        transcript: transcript.clone(),
    };
    // Only the transcript is written.
    disk.until_it_fits(
        &args(&["preflight", "--system-root", &fx.sys]),
        true,
        Written::rerunnable(|| None),
    );
    disk.until_it_fits(
        &args(&[
            "handover",
            "challenge",
            "--root",
            "root",
            "--bootstrap",
            "sealed",
            "--authority",
            "openbao-prod",
            "--out",
            "mnt/challenge.json",
        ]),
        true,
        Written::new_at(&fx, "mnt/challenge.json", || {
            ceremony::handover::challenge::Challenge::from_json(&fx.s.read("mnt/challenge.json"))
                .unwrap();
        }),
    );
    disk.until_it_fits(
        &fx.receipt_args("mnt/receipt.json", &["--key", "signer"]),
        true,
        Written::new_at(&fx, "mnt/receipt.json", || {
            fx.ok(&args(&[
                "handover",
                "verify",
                "--challenge",
                "challenge.json",
                "--receipt",
                "mnt/receipt.json",
                "--trust",
                "trust",
            ]));
        }),
    );
    let unsigned = fx.s.read("unsigned.json");
    fx.s.write("mnt/unsigned.json", &unsigned);
    disk.until_it_fits(
        &fx.attach_args("mnt/unsigned.json"),
        true,
        Written {
            complete: Box::new(|| {
                let now = fx.s.read("mnt/unsigned.json");
                if now == unsigned {
                    return Some(false);
                }
                let envelope = ceremony::handover::Envelope::from_json(&now).unwrap();
                assert_eq!(envelope.signatures.len(), 1);
                Some(true)
            }),
            undo: Box::new(|| {
                fx.s.write("mnt/unsigned.json", &unsigned);
            }),
        },
    );
    // The signature is the product, appended to the transcript itself:
    // a failure leaves it exactly as it was.
    let signatures = || {
        transcript_records(&transcript)
            .iter()
            .filter(|r| matches!(r.entry, Entry::Signature { .. }))
            .count()
    };
    disk.until_it_fits(
        &fx.sign_args("mnt/t.jsonl"),
        false,
        Written::rerunnable(|| Some(signatures() == 1)),
    );
    // Signed by the root, and nothing after the signature.
    fx.ok(&args(&[
        "transcript",
        "verify",
        "mnt/t.jsonl",
        "--root",
        "root",
    ]));
}

#[test]
fn a_command_that_succeeded_but_was_not_recorded_says_so() {
    let Some((fx, tmpfs)) = full_disk("not recorded") else {
        return;
    };
    let transcript = fx.path("mnt/t.jsonl");
    pad_transcript(&transcript, tmpfs.page, 100);
    tmpfs.leave_free(0);
    // The root is written outside the full disk; only the record fails.
    let mut all = args(&["--transcript", "mnt/t.jsonl"]);
    all.extend(fx.root_init_args("new-root"));
    let before = std::fs::read(&transcript).unwrap();
    let out = fx.run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Not 8: the root exists, and a runbook that retries on 8 would be
    // refused, or make a second root elsewhere.
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    let (_, report) = ceremony::root::verify_dir(&fx.path("new-root"), Default::default());
    assert!(report.passed(), "the root is whole");
    assert!(
        stderr.contains(
            "error: the root was written to new-root, but it was not recorded in the transcript: "
        ) && stderr.contains("No space left on device"),
        "stderr does not say the root was written but not recorded, and why:\n{stderr}"
    );
    assert!(
        stderr.contains("hint: do not run the command again"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&transcript).unwrap(),
        before,
        "the failed append was undone"
    );
}

#[test]
fn a_full_disk_fails_an_unsigned_receipt_cleanly() {
    let Some((fx, tmpfs)) = full_disk("unsigned receipt") else {
        return;
    };
    let disk = DiskFull {
        fx: &fx,
        tmpfs: &tmpfs,
        transcript: fx.path("mnt/t.jsonl"),
    };
    let receipt = fx.path("mnt/receipt.json");
    let pae = fx.path("mnt/receipt.json.pae");
    disk.until_it_fits(
        &fx.receipt_args("mnt/receipt.json", &["--unsigned"]),
        true,
        Written {
            complete: Box::new(|| {
                assert_eq!(receipt.exists(), pae.exists(), "one of two files written");
                Some(receipt.exists())
            }),
            undo: Box::new(|| {
                std::fs::remove_file(&receipt).unwrap();
                std::fs::remove_file(&pae).unwrap();
            }),
        },
    );
}

#[test]
fn a_full_disk_fails_the_demo_cleanly() {
    let Some((fx, tmpfs)) = full_disk("demo") else {
        return;
    };
    let disk = DiskFull {
        fx: &fx,
        tmpfs: &tmpfs,
        transcript: fx.path("mnt/t.jsonl"),
    };
    disk.until_it_fits(
        &args(&["demo", "--keep", "mnt/demo"]),
        true,
        Written::new_at(&fx, "mnt/demo", || {
            fx.ok(&args(&["root", "verify", "mnt/demo/root"]));
        }),
    );
}

// ---------------------------------------------------------------------------
// Transcripts that are not files

#[test]
fn a_transcript_that_is_not_a_regular_file_or_too_large_is_refused_at_once() {
    let fx = Fixture::new();
    fx.s.tool("mkfifo", &["fifo.jsonl"]).success();
    std::fs::create_dir(fx.path("dir.jsonl")).unwrap();
    // Sparse: 64 MiB and one byte, none of it on disk.
    std::fs::File::create(fx.path("huge.jsonl"))
        .unwrap()
        .set_len(ceremony::fsio::Cap::Transcript.bytes() + 1)
        .unwrap();
    for (transcript, reason) in [
        ("fifo.jsonl", "is a FIFO"),
        ("/dev/null", "is a character device"),
        ("dir.jsonl", "is a directory"),
        ("huge.jsonl", "larger than 67108864 bytes"),
    ] {
        let mut child = fx
            .command(&args(&[
                "--transcript",
                transcript,
                "preflight",
                "--system-root",
                &fx.sys,
            ]))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A guard against a hang, not a timing assertion: a FIFO opened
        // for reading would wait for a writer forever.
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("--transcript {transcript}: the command hangs");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The command itself passed, and only its record is missing.
        assert_eq!(out.status.code(), Some(9), "{transcript}: {stderr}");
        assert!(stderr.contains(reason), "{transcript}: {stderr}");
        assert!(
            stderr.contains("error: the command succeeded, but it was not recorded"),
            "{transcript}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::metadata(fx.path("huge.jsonl")).unwrap().len(),
        ceremony::fsio::Cap::Transcript.bytes() + 1,
        "nothing was appended"
    );
}
