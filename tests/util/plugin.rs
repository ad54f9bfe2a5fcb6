//! The test plugin, `age-plugin-ceremonytest` (tests/plugin/, an example of
//! this package that `cargo test` builds): a software key behind the real
//! age plugin protocol. [`path`] is a `PATH` that has it, for the commands a
//! test runs (never for the test process itself); [`token`] makes a key.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::Scratch;

/// The plugin's name, as in `age1ceremonytest1…`.
pub const NAME: &str = "ceremonytest";

/// The built plugin: beside this test binary's directory, in `examples/`.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/tests-… → target/<profile>/examples/…
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let binary = profile.join("examples/age-plugin-ceremonytest");
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugin/age-plugin-ceremonytest.rs");
    let built = std::fs::metadata(&binary).and_then(|m| m.modified());
    let written = std::fs::metadata(&source).and_then(|m| m.modified());
    match (built, written) {
        (Ok(built), Ok(written)) if built >= written => binary,
        _ => panic!(
            "{} is missing or older than its source: `cargo test` builds it, but not when \
             --test selects the targets; run `cargo build --example age-plugin-ceremonytest`",
            binary.display()
        ),
    }
}

/// A directory holding only the plugin (a link to it), made once per run.
fn directory() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let binary = binary();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("plugin-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("plugin dir");
        let link = dir.join("age-plugin-ceremonytest");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&binary, &link).expect("link the plugin");
        dir
    })
}

/// `PATH` with the plugin first, for a command's environment.
pub fn path() -> String {
    format!(
        "{}:{}",
        directory().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Makes a token's identity file `NAME.token` with the plugin
/// (`--generate`, as `age-plugin-yubikey --identity` prints one); returns
/// its recipient `age1ceremonytest1…`.
pub fn token(s: &Scratch, name: &str) -> String {
    let out = s
        .tool(binary().to_str().expect("utf-8 path"), &["--generate"])
        .success();
    let text = out.stdout_text();
    s.write(&format!("{name}.token"), &text);
    text.lines()
        .find_map(|l| l.strip_prefix("# recipient: "))
        .expect("a recipient line")
        .trim()
        .to_owned()
}

/// A valid Bech32 recipient of a plugin `name` that is not installed.
pub fn recipient_of_missing_plugin(name: &str) -> String {
    use bech32::ToBase32;
    bech32::encode(
        &format!("age1{name}"),
        [9u8; 32].to_base32(),
        bech32::Variant::Bech32,
    )
    .expect("bech32")
}

/// A valid identity line of a plugin `name` that is not installed.
pub fn identity_of_missing_plugin(name: &str) -> String {
    use bech32::ToBase32;
    bech32::encode(
        &format!("age-plugin-{name}-"),
        [9u8; 32].to_base32(),
        bech32::Variant::Bech32,
    )
    .expect("bech32")
    .to_uppercase()
}
