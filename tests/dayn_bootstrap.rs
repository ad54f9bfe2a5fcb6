//! Day N for the bootstrap identity (design §7.8): a new one in a new root
//! version, Git moved to it with new data keys, Flux fed both identities
//! during the switch, then the old one retired. Proven with the real sops
//! and the real age: old files open with the old key, the moved ones only
//! with the new.

use base64::Engine;

use crate::util::custodians::offline_root;
use crate::util::{Run, Scratch, require};

const SECRETS: [(&str, &str); 3] = [
    ("db.yaml", "db-password"),
    ("api.yaml", "api-token"),
    ("nested/tls.yaml", "tls-key"),
];

fn manifest(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {}\n  namespace: apps\ntype: Opaque\nstringData:\n  value: {value}\n",
        name.replace(['/', '.'], "-")
    )
}

/// The quorum's bundles and keys, as `--bundle … -i …` or as trailing
/// `BUNDLE -i KEY` arguments.
fn quorum(flag: bool) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["alice", "carol"] {
        if flag {
            out.push("--bundle".into());
        }
        out.push(format!("root/shares/{name}.age"));
        out.push("-i".into());
        out.push(format!("{name}.key"));
    }
    out
}

fn ceremony(s: &Scratch, args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ceremony(&args)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

/// The Flux Secret `root emit flux-age-secret` prints now, and each of its
/// `.agekey` entries written out as an identity file `KEY.agekey` in the
/// scratch directory (what the kustomize-controller does with them).
fn emit_flux(s: &Scratch, system: &str) -> Vec<String> {
    let mut args = strings(&["root", "emit", "flux-age-secret", "--root", "root"]);
    args.extend(quorum(false));
    args.extend(strings(&["--system-root", system]));
    let secret = ceremony(s, &args).success().stdout_text();
    let mut entries = Vec::new();
    for line in secret.lines() {
        let Some((key, value)) = line.trim().split_once(": ") else {
            continue;
        };
        if !key.ends_with(".agekey") {
            continue;
        }
        let identity = base64::engine::general_purpose::STANDARD
            .decode(value)
            .expect("base64 data");
        s.write(key, identity);
        entries.push(key.to_owned());
    }
    entries
}

/// The real sops, with only `key` as its identity.
fn sops_decrypt(s: &Scratch, key: &str, file: &str) -> Run {
    require("sops");
    let key = s.path(key);
    s.tool_env(
        "sops",
        &["-d", file],
        &[
            ("SOPS_AGE_KEY_FILE", key.to_str().unwrap()),
            ("SOPS_DISABLE_VERSION_CHECK", "1"),
        ],
    )
}

/// The data key of a sops file, as the real age opens its stanza with `key`.
fn data_key(s: &Scratch, file: &str, key: &str) -> Vec<u8> {
    let text = String::from_utf8(s.read(file)).unwrap();
    let start = text.find("-----BEGIN AGE ENCRYPTED FILE-----").unwrap();
    let end = text.find("-----END AGE ENCRYPTED FILE-----").unwrap();
    let armored: String = text[start..end]
        .lines()
        .map(|l| l.trim().trim_start_matches("enc: |").trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    s.write(
        "stanza.age",
        format!("{armored}\n-----END AGE ENCRYPTED FILE-----\n"),
    );
    let out = s.tool("age", &["-d", "-i", key, "stanza.age"]).success();
    out.output.stdout
}

#[test]
fn a_rotated_bootstrap_identity_moves_git_with_new_data_keys_and_flux_keeps_working() {
    require("age");
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap().to_owned();
    std::fs::create_dir_all(s.path("tree/nested")).unwrap();
    for (file, value) in SECRETS {
        s.write(&format!("tree/{file}"), manifest(file, value));
    }
    s.ceremony(&["bootstrap", "seal", "--in-place", "--root", "root", "tree"])
        .success();
    s.ceremony(&["bootstrap", "verify", "--root", "root", "tree"])
        .success();
    let first = emit_flux(&s, &system);
    assert_eq!(first, ["age.agekey"]);
    std::fs::rename(s.path("age.agekey"), s.path("old.key")).unwrap();
    std::fs::create_dir(s.path("git-history")).unwrap();
    std::fs::copy(s.path("tree/db.yaml"), s.path("git-history/db.yaml")).unwrap();
    let old_data_key = data_key(&s, "tree/db.yaml", "old.key");

    // The new identity, in a new version of the root.
    let mut rotate = strings(&[
        "root",
        "rotate",
        "--yes",
        "--root",
        "root",
        "--key",
        "bootstrap-key",
        "--note",
        "bootstrap identity exposed",
    ]);
    rotate.extend(quorum(false));
    rotate.extend(strings(&["--system-root", &system]));
    ceremony(&s, &rotate).success();

    // Git is still sealed to the old one: verify says so, file by file.
    let refused = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "tree"])
        .fails_with(4, "in 3 of 3 file(s) checked");
    assert_eq!(
        refused
            .stdout_text()
            .matches("the old key still opens this file")
            .count(),
        3,
        "{}",
        refused.stdout_text()
    );

    // During the switch Flux gets both identities; each opens its files.
    let both = emit_flux(&s, &system);
    assert_eq!(both, ["age.agekey", "age.previous.agekey"]);
    assert_eq!(s.read("age.previous.agekey"), s.read("old.key"));
    std::fs::rename(s.path("age.agekey"), s.path("new.key")).unwrap();
    let mut flux = s.read("new.key");
    flux.extend(s.read("age.previous.agekey"));
    s.write("flux.keys", flux);
    assert!(
        sops_decrypt(&s, "flux.keys", "tree/db.yaml")
            .success()
            .stdout_text()
            .contains("db-password")
    );
    assert_ne!(sops_decrypt(&s, "new.key", "tree/db.yaml").code(), 0);

    // Git moves to the new identity; a quorum rebuilds the old one in memory
    // to open the files, and every file gets a new data key.
    let mut update = strings(&["bootstrap", "updatekeys", "--root", "root", "tree"]);
    update.extend(quorum(true));
    update.extend(strings(&["--system-root", &system]));
    let updated = ceremony(&s, &update).success();
    assert!(
        updated
            .stderr_text()
            .contains("3 of the updated lost a recipient and got a new data key"),
        "{}",
        updated.stderr_text()
    );
    s.ceremony(&["bootstrap", "verify", "--root", "root", "tree"])
        .success();
    for (file, value) in SECRETS {
        let file = format!("tree/{file}");
        let opened = sops_decrypt(&s, "new.key", &file).success().stdout_text();
        assert!(opened.contains(value), "{file}: {opened}");
        assert_ne!(
            sops_decrypt(&s, "old.key", &file).code(),
            0,
            "{file} still opens with the old key"
        );
        assert!(opened.contains(value));
    }
    // The data key is new: the old one (which the old key could read from
    // any copy of the file) is not the one the new file is sealed with.
    let new_data_key = data_key(&s, "tree/db.yaml", "new.key");
    assert_eq!(new_data_key.len(), old_data_key.len());
    assert!(
        new_data_key != old_data_key,
        "the moved file keeps its old data key"
    );
    // A copy from before the move (Git history) still opens with the old
    // key: why a compromised value must be changed, not only re-sealed.
    assert!(
        sops_decrypt(&s, "old.key", "git-history/db.yaml")
            .success()
            .stdout_text()
            .contains("db-password")
    );

    // Once Git is moved, the old identity is retired and Flux gets the new one alone.
    let mut retire = strings(&[
        "root",
        "retire",
        "--yes",
        "--root",
        "root",
        "--key",
        "bootstrap-key",
    ]);
    retire.extend(quorum(false));
    retire.extend(strings(&["--system-root", &system]));
    ceremony(&s, &retire).success();
    assert_eq!(emit_flux(&s, &system), ["age.agekey"]);
    assert_eq!(s.read("age.agekey"), s.read("new.key"));
    s.ceremony(&["bootstrap", "verify", "--root", "root", "tree"])
        .success();
    s.ceremony(&["root", "verify", "root"]).success();
}

#[test]
fn a_sops_yaml_that_still_names_the_retiring_identity_is_flagged() {
    let s = Scratch::new();
    let system = offline_root(&s, &[]);
    let system = system.to_str().unwrap().to_owned();
    let old = ceremony::root::RootManifest::from_json(&s.read("root/root.json"))
        .unwrap()
        .body
        .bootstrap_recipient;
    std::fs::create_dir(s.path("tree")).unwrap();
    s.write(
        "tree/.sops.yaml",
        format!("creation_rules:\n  - path_regex: .*\\.yaml$\n    age: {old}\n"),
    );
    s.write("tree/db.yaml", manifest("db.yaml", "v"));
    s.ceremony(&["bootstrap", "seal", "--in-place", "--root", "root", "tree"])
        .success();
    let mut rotate = strings(&[
        "root",
        "rotate",
        "--yes",
        "--root",
        "root",
        "--key",
        "bootstrap-key",
    ]);
    rotate.extend(quorum(false));
    rotate.extend(strings(&["--system-root", &system]));
    ceremony(&s, &rotate).success();
    let report = s
        .ceremony(&["bootstrap", "verify", "--root", "root", "tree"])
        .fails_with(4, "offender")
        .stdout_text();
    assert!(
        report.contains("the bootstrap identity the root is retiring: replace it"),
        "{report}"
    );
}
