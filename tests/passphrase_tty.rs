//! Passphrase custodians, through the real prompt on a real terminal (tmux):
//! no bypass, no environment variable, exactly what a custodian does.

use crate::util::custodians::{Key, write_custodians};
use crate::util::tmux::Tmux;
use crate::util::{Scratch, ceremony_bin, require};

const PASSPHRASE: &str = "correct horse battery staple";

fn setup(s: &Scratch) {
    write_custodians(
        s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("carol", Key::Passphrase)],
    );
    s.write("secret.bin", b"0123456789abcdef0123456789abcdef");
}

fn split(s: &Scratch) {
    let bin = ceremony_bin();
    let t = Tmux::start(
        s.dir.path(),
        &format!(
            "{} unseal share --allow-online --custodians custodians.toml --threshold 2 --out set --secret-file secret.bin --yes",
            bin.display()
        ),
    );
    t.wait_for("choose a passphrase", 1);
    t.type_line("too short");
    t.wait_for("too short; try again", 1);
    t.wait_for("choose a passphrase", 2);
    t.type_line(PASSPHRASE);
    t.wait_for("type it again", 1);
    t.type_line("a different passphrase");
    t.wait_for("The two entries differ", 1);
    t.wait_for("choose a passphrase", 3);
    t.type_line(PASSPHRASE);
    t.wait_for("type it again", 2);
    t.type_line(PASSPHRASE);
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    assert!(
        !t.screen().contains(PASSPHRASE),
        "the passphrase is never echoed"
    );
}

#[test]
fn passphrase_share_made_at_the_prompt_opens_with_real_age_and_combines() {
    require("age");
    let s = Scratch::new();
    setup(&s);
    split(&s);
    let set: serde_json::Value = serde_json::from_slice(&s.read("set/shareset.json")).unwrap();
    assert_eq!(set["custodians"][1]["recipient"]["type"], "passphrase");

    // The stock age opens it with the passphrase.
    let t = Tmux::start(s.dir.path(), "age -d -o carol.json set/carol.share.age");
    t.wait_for("passphrase", 1);
    t.type_line(PASSPHRASE);
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    let doc: serde_json::Value = serde_json::from_slice(&s.read("carol.json")).unwrap();
    assert_eq!(doc["custodian"], "carol");

    // ceremony combines it with alice's share; the secret goes to a file.
    let bin = ceremony_bin();
    let t = Tmux::start(
        s.dir.path(),
        &format!(
            "{} unseal combine --allow-online --shareset set/shareset.json set/alice.share.age set/carol.share.age -i alice.key --emit hex > out.hex",
            bin.display()
        ),
    );
    t.wait_for("Passphrase for set/carol.share.age", 1);
    t.type_line(PASSPHRASE);
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    assert_eq!(
        String::from_utf8(s.read("out.hex")).unwrap().trim(),
        hex::encode(b"0123456789abcdef0123456789abcdef")
    );

    // A wrong passphrase: verify says so and exits 7.
    let t = Tmux::start(
        s.dir.path(),
        &format!(
            "{} unseal verify --shareset set/shareset.json set/carol.share.age",
            bin.display()
        ),
    );
    t.wait_for("Passphrase for set/carol.share.age", 1);
    t.type_line("not the passphrase at all");
    assert_eq!(t.exit_code(), 7, "{}", t.screen());
    t.wait_for("the passphrase does not open this share", 1);
}

#[test]
fn secret_is_not_printed_to_a_terminal_unless_asked() {
    let s = Scratch::new();
    write_custodians(
        &s,
        "custodians.toml",
        "",
        &[("alice", Key::Age), ("bob", Key::Age)],
    );
    s.write("secret.bin", b"terminal-test-secret-0123456789ab");
    s.ceremony(&[
        "unseal",
        "share",
        "--yes",
        "--allow-online",
        "--custodians",
        "custodians.toml",
        "--threshold",
        "2",
        "--out",
        "set",
        "--secret-file",
        "secret.bin",
    ])
    .success();
    let bin = ceremony_bin();
    let combine = format!(
        "{} unseal combine --allow-online --shareset set/shareset.json set/alice.share.age set/bob.share.age -i alice.key -i bob.key",
        bin.display()
    );
    let t = Tmux::start(s.dir.path(), &combine);
    assert_eq!(t.exit_code(), 6, "{}", t.screen());
    t.wait_for("refusing to print a secret to a terminal", 1);
    assert!(!t.screen().contains(&hex::encode(b"terminal-test-secret")));

    let t = Tmux::start(s.dir.path(), &format!("{combine} --allow-terminal"));
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    t.wait_for(&hex::encode(b"terminal-test-secret"), 1);

    // A custodian's own share, too, reaches the screen only when asked.
    let open = format!(
        "{} unseal open set/alice.share.age -i alice.key",
        bin.display()
    );
    let t = Tmux::start(s.dir.path(), &open);
    assert_eq!(t.exit_code(), 6, "{}", t.screen());
    t.wait_for("refusing to print a secret to a terminal", 1);
    let t = Tmux::start(s.dir.path(), &format!("{open} --allow-terminal"));
    assert_eq!(t.exit_code(), 0, "{}", t.screen());
    t.wait_for("Share of alice", 1);
}
