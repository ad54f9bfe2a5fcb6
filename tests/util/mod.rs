//! Shared test harness: run the real `ceremony` binary and the real tools
//! (age, ssh-keygen, sops, tmux) in a scratch directory.
#![allow(dead_code)]

pub mod handover;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn ceremony_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ceremony"))
}

/// The SOPS test vectors kept in the repository: files made by the real
/// sops 3.11 and age, with the test keys that open them
/// (`tests/vectors/sops/README.md`; `make.sh` there makes them again).
pub fn sops_vectors_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops"))
}

/// One file of [`sops_vectors_dir`].
pub fn sops_vector(name: &str) -> PathBuf {
    sops_vectors_dir().join(name)
}

/// Fails the test with an install hint when a required tool is missing: these
/// tests exist to run the real tools, so skipping would hide a gap.
pub fn require(tool: &str, install: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{tool}` is not installed: {install} (.ci/run does this)"
    );
}

/// A scratch directory with helpers.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, content).expect("write");
        p
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).expect("read")
    }

    /// Runs `ceremony ARGS` in the scratch directory with no stdin.
    pub fn ceremony(&self, args: &[&str]) -> Run {
        self.ceremony_with_stdin(args, b"")
    }

    pub fn ceremony_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        run_in(
            self.dir.path(),
            Command::new(ceremony_bin()).args(args),
            stdin,
        )
    }

    /// Runs any program in the scratch directory.
    pub fn tool(&self, program: &str, args: &[&str]) -> Run {
        run_in(self.dir.path(), Command::new(program).args(args), b"")
    }

    /// Runs any program in the scratch directory with extra environment.
    pub fn tool_env(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        run_in_env(self.dir.path(), Command::new(program).args(args), b"", env)
    }

    /// Makes an age identity `NAME.key`; returns its recipient.
    pub fn age_key(&self, name: &str) -> String {
        require("age-keygen", "apt-get install -y age");
        let key = format!("{name}.key");
        self.tool("age-keygen", &["-o", &key]).success();
        let out = self.tool("age-keygen", &["-y", &key]).success();
        out.stdout_text().trim().to_owned()
    }

    /// Makes an unencrypted ssh-ed25519 key `NAME` / `NAME.pub`; returns the public line.
    pub fn ssh_key(&self, name: &str) -> String {
        require("ssh-keygen", "apt-get install -y openssh-client");
        self.tool(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", name],
        )
        .success();
        String::from_utf8(self.read(&format!("{name}.pub")))
            .expect("utf8")
            .trim()
            .to_owned()
    }
}

fn run_in(dir: &Path, command: &mut Command, stdin: &[u8]) -> Run {
    run_in_env(dir, command, stdin, &[])
}

fn run_in_env(dir: &Path, command: &mut Command, stdin: &[u8], env: &[(&str, &str)]) -> Run {
    use std::io::Write;
    let mut child = command
        .current_dir(dir)
        // Hermetic: no identity from the machine's home or environment.
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin);
    }
    let output = child.wait_with_output().expect("wait");
    Run {
        description: format!("{command:?}"),
        output,
    }
}

/// The outcome of one command.
pub struct Run {
    pub description: String,
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts exit 0 and returns self.
    pub fn success(self) -> Self {
        assert!(
            self.output.status.success(),
            "{} failed with {}\nstdout:\n{}\nstderr:\n{}",
            self.description,
            self.code(),
            self.stdout_text(),
            self.stderr_text()
        );
        self
    }

    /// Asserts the exit code and that stderr contains `needle`.
    pub fn fails_with(self, code: i32, needle: &str) -> Self {
        assert_eq!(
            self.code(),
            code,
            "{}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.description,
            self.stdout_text(),
            self.stderr_text()
        );
        assert!(
            self.stderr_text().contains(needle),
            "{}: stderr lacks {needle:?}:\n{}",
            self.description,
            self.stderr_text()
        );
        self
    }
}

/// A program running in a detached tmux session, so that it has a real
/// terminal: passphrase prompts are answered the way a person answers them.
pub struct Tmux {
    session: String,
    done: PathBuf,
}

impl Tmux {
    /// Starts `command` (a shell command line) in `dir`. Its exit code is
    /// written to a file when it ends, so tests can wait for it.
    pub fn start(dir: &Path, command: &str) -> Self {
        require("tmux", "apt-get install -y tmux");
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let session = format!("ceremony-test-{}-{n}", std::process::id());
        let done = dir.join(format!(".exit-{n}"));
        let script = format!(
            "cd '{}' && {command}; echo $? > '{}'; sleep 30",
            dir.display(),
            done.display()
        );
        // Parallel tests may race to start the tmux server; a failed start
        // is retried rather than failing the test.
        let mut started = false;
        for attempt in 0..5 {
            let status = Command::new("tmux")
                .args([
                    "new-session",
                    "-d",
                    "-x",
                    "220",
                    "-y",
                    "50",
                    "-s",
                    &session,
                    "sh",
                    "-c",
                    &script,
                ])
                .env_remove("TMUX")
                .status()
                .expect("tmux");
            if status.success() {
                started = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200 * (attempt + 1)));
        }
        assert!(started, "tmux new-session failed five times");
        Self { session, done }
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `text` has appeared `times` times on screen.
    pub fn wait_for(&self, text: &str, times: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if self.screen().matches(text).count() >= times {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("timed out waiting for {text:?}; screen:\n{}", self.screen());
    }

    /// Types `text` and Enter.
    pub fn type_line(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "Enter"])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits for the program to end and returns its exit code.
    pub fn exit_code(&self) -> i32 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&self.done) {
                if let Ok(code) = text.trim().parse() {
                    return code;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("timed out waiting for exit; screen:\n{}", self.screen());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

/// A fake system root with `/sys/class/net` and `/proc/net` trees, online
/// (eth0 up, default route) or air-gapped (loopback only).
pub fn fake_system(dir: &Path, online: bool) -> PathBuf {
    let root = dir.join(if online { "sys-online" } else { "sys-offline" });
    let lo = root.join("sys/class/net/lo");
    std::fs::create_dir_all(&lo).expect("mkdir");
    std::fs::write(lo.join("operstate"), "unknown\n").expect("write");
    std::fs::write(lo.join("flags"), "0x9\n").expect("write");
    let eth = root.join("sys/class/net/eth0");
    std::fs::create_dir_all(&eth).expect("mkdir");
    std::fs::write(
        eth.join("operstate"),
        if online { "up\n" } else { "down\n" },
    )
    .expect("write");
    std::fs::write(
        eth.join("flags"),
        if online { "0x1003\n" } else { "0x1002\n" },
    )
    .expect("write");
    std::fs::create_dir_all(root.join("proc/net")).expect("mkdir");
    let mut route = String::from(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
    );
    if online {
        route.push_str("eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
    }
    std::fs::write(root.join("proc/net/route"), route).expect("write");
    std::fs::write(root.join("proc/net/ipv6_route"), "").expect("write");
    std::fs::write(
        root.join("proc/swaps"),
        "Filename\tType\tSize\tUsed\tPriority\n",
    )
    .expect("write");
    root
}
