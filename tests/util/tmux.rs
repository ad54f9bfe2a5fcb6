//! A real terminal for the tests that need one: passphrase prompts, and the
//! refusal to print a secret to a terminal.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::require;

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
        require("tmux");
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

    /// Presses keys (tmux key names: `Down`, `Enter`, …).
    pub fn send_keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
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
