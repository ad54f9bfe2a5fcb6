//! Witnesses for the scripted ceremonies (`ceremony run`): an ssh-ed25519
//! key made by `ssh-keygen` (wanda) and a minisign key (walt), their
//! TRUSTFILE, and sign-offs made with the real `ssh-keygen -Y sign` and
//! `minisign -S` over the bytes `transcript head --witness` prints.

use std::path::Path;

use super::handover::minisign_keygen;
use super::{Run, Scratch, fake_system};

/// The SSHSIG namespace of sign-offs.
pub const NAMESPACE: &str = "ceremony-witness-signoff";

/// The two witnesses' names.
pub const WANDA: &str = "wanda";
pub const WALT: &str = "walt";

/// Makes wanda's ssh key (`wanda`), walt's minisign key (`walt.key`,
/// `walt.pub`) and `witnesses.trust` listing both.
pub fn make(s: &Scratch) {
    let ssh = s.ssh_key(WANDA);
    minisign_keygen(s.dir.path(), WALT);
    let pub_text = String::from_utf8(s.read("walt.pub")).unwrap();
    let minisign_key = pub_text.lines().nth(1).unwrap().trim().to_owned();
    s.write(
        "witnesses.trust",
        format!(
            "# the witnesses of the ceremony\nsshsig {WANDA} namespaces=\"{NAMESPACE}\" {ssh}\nminisign {minisign_key} {WALT}\n"
        ),
    );
}

/// The statement `witness` signs, written to `WITNESS.signoff`.
pub fn statement(s: &Scratch, transcript: &str, witness: &str) -> String {
    let out = s
        .ceremony(&["transcript", "head", transcript, "--witness", witness])
        .success();
    let file = format!("{witness}.signoff");
    std::fs::write(s.path(&file), &out.output.stdout).unwrap();
    file
}

/// Signs `file` with the ssh key `key`: `FILE.sig`.
pub fn ssh_sign(s: &Scratch, key: &str, file: &str) -> String {
    // ssh-keygen will not write over an earlier signature.
    let _ = std::fs::remove_file(s.path(&format!("{file}.sig")));
    s.tool(
        "ssh-keygen",
        &["-Y", "sign", "-n", NAMESPACE, "-f", key, file],
    )
    .success();
    format!("{file}.sig")
}

/// Signs `file` with walt's minisign key: `FILE.minisig`.
pub fn minisign_sign(s: &Scratch, file: &str) -> String {
    let _ = std::fs::remove_file(s.path(&format!("{file}.minisig")));
    s.tool("minisign", &["-S", "-s", "walt.key", "-m", file])
        .success();
    format!("{file}.minisig")
}

/// `transcript sign-off` of `signature` for `witness`, checked against
/// `witnesses.trust`.
pub fn attach(s: &Scratch, transcript: &str, witness: &str, signature: &str) -> Run {
    s.ceremony(&[
        "transcript",
        "sign-off",
        transcript,
        "--witness",
        witness,
        "--signature",
        signature,
        "--witnesses",
        "witnesses.trust",
    ])
}

/// Both witnesses sign off the ceremony head of `transcript`.
pub fn sign_off_both(s: &Scratch, transcript: &str) {
    let file = statement(s, transcript, WANDA);
    let sig = ssh_sign(s, WANDA, &file);
    attach(s, transcript, WANDA, &sig).success();
    let file = statement(s, transcript, WALT);
    let sig = minisign_sign(s, &file);
    attach(s, transcript, WALT, &sig).success();
}

/// The ceremony head's 32 words, as `transcript head` prints them.
pub fn head_words(s: &Scratch, transcript: &str) -> String {
    let out = s.ceremony(&["transcript", "head", transcript]).success();
    words_of(&out.stdout_text())
}

/// The words of printed word lines (`  1-8  word …`).
pub fn words_of(text: &str) -> String {
    text.lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .flat_map(|l| l.split_whitespace().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The path of a script in `ceremonies/`.
pub fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ceremonies")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

fn run_args(
    s: &Scratch,
    name: &str,
    custodians: &[&str],
    sets: &[String],
    answers: &str,
) -> Vec<String> {
    run_args_for(s, &script(name), custodians, sets, answers)
}

fn run_args_for(
    s: &Scratch,
    script: &str,
    custodians: &[&str],
    sets: &[String],
    answers: &str,
) -> Vec<String> {
    let system = fake_system(s.dir.path(), false);
    let mut args: Vec<String> = [
        "--transcript",
        "t.jsonl",
        "run",
        script,
        "--operator",
        "olga",
        "--witness",
        WANDA,
        "--witness",
        WALT,
        "--answers",
        answers,
        "--system-root",
        system.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for c in custodians {
        args.push("--custodian".into());
        args.push(c.to_string());
    }
    for set in sets {
        args.push("--set".into());
        args.push(set.clone());
    }
    args
}

/// `ceremony --transcript t.jsonl run SCRIPT` with olga operating, both
/// witnesses, `custodians`, the `--set` values and `answers.txt` (written
/// from `answers`), on an air-gapped fake system root.
pub fn run(
    s: &Scratch,
    name: &str,
    custodians: &[&str],
    sets: &[String],
    answers: &[String],
) -> Run {
    s.write("answers.txt", answers.join("\n") + "\n");
    let args = run_args(s, name, custodians, sets, "answers.txt");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ceremony(&args)
}

/// A ceremony running with its answers on stdin (`--answers -`), given one
/// by one as it asks for them: what happens between two steps (a receipt
/// made online, a file edited) happens in the test, as in the room.
pub struct Live {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Live {
    /// Starts `run` of script `name`.
    pub fn start(s: &Scratch, name: &str, custodians: &[&str], sets: &[String]) -> Self {
        Self::start_with(s, &script(name), custodians, sets, &[])
    }

    /// Starts `run` of the script at `script`, with `extra` arguments.
    pub fn start_with(
        s: &Scratch,
        script: &str,
        custodians: &[&str],
        sets: &[String],
        extra: &[&str],
    ) -> Self {
        use std::io::Read;
        use std::process::{Command, Stdio};
        let mut args = run_args_for(s, script, custodians, sets, "-");
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut child = super::hermetic(&mut Command::new(super::ceremony_bin()), s.dir.path())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ceremony run");
        let stdin = child.stdin.take();
        let mut readers = Vec::new();
        let mut pipe = |mut from: Box<dyn Read + Send>| {
            let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
            let into = text.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    into.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }));
            text
        };
        let stderr = pipe(Box::new(child.stderr.take().unwrap()));
        let stdout = pipe(Box::new(child.stdout.take().unwrap()));
        Self {
            child,
            stdin,
            stderr,
            readers,
            stdout,
        }
    }

    /// Waits until the ceremony asks about `step`.
    pub fn wait_for_question(&mut self, step: &str) {
        self.wait_for(&format!("awaiting answer for step {step}:"));
    }

    /// Waits until the ceremony asks for sign-off number `n` (from 1).
    pub fn wait_for_sign_off(&mut self, n: usize) {
        self.wait_for(&format!("awaiting answer for sign-off: {} of", n - 1));
    }

    /// Gives `answer` on stdin.
    pub fn say(&mut self, answer: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{answer}").expect("write an answer");
        stdin.flush().expect("flush");
    }

    fn wait_for(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            if self.stderr.lock().unwrap().contains(needle) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the ceremony ended ({status}) before {needle:?}:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for {needle:?}:\n{}",
            self.stderr.lock().unwrap()
        );
    }

    /// Waits for the question about `step`, then gives `answer`.
    pub fn answer(&mut self, step: &str, answer: &str) {
        self.wait_for_question(step);
        self.say(answer);
    }

    /// Closes stdin and waits for the end.
    pub fn finish(mut self) -> Run {
        self.stdin = None;
        let status = self.child.wait().expect("wait");
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let stdout = self.stdout.lock().unwrap().clone().into_bytes();
        let stderr = self.stderr.lock().unwrap().clone().into_bytes();
        Run {
            description: "ceremony run --answers -".into(),
            output: std::process::Output {
                status,
                stdout,
                stderr,
            },
        }
    }
}

/// `{ step = "ID", confirmed_by = "wanda" }`
pub fn confirm(step: &str) -> String {
    format!("{{ step = \"{step}\", confirmed_by = \"{WANDA}\" }}")
}

/// The records of `transcript`, parsed.
pub fn records(s: &Scratch, transcript: &str) -> Vec<serde_json::Value> {
    String::from_utf8(s.read(transcript))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every witness signs off, and the transcript verifies against the head
/// read aloud and the witnesses' keys; returns the words.
pub fn witnessed(s: &Scratch, transcript: &str) -> String {
    let words = head_words(s, transcript);
    sign_off_both(s, transcript);
    let out = s
        .ceremony(&[
            "transcript",
            "verify",
            transcript,
            "--expect-head",
            &words,
            "--witnesses",
            "witnesses.trust",
        ])
        .success();
    let text = out.stdout_text();
    assert!(text.contains("signed off by wanda, walt"), "{text}");
    words
}
