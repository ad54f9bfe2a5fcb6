//! `bootstrap verify`: nothing secret reaches Git in clear, checked without
//! any key.
//!
//! A file passes when:
//! * it holds no Secret ([`crate::kube`] finds them in documents, Lists and
//!   merge keys) and no `.sops.yaml` rule with a `path_regex` covers it; or
//! * it is a SOPS file of a version sops decrypts, whose every value the
//!   file's own rule says is encrypted is encrypted (and well formed), whose
//!   every Secret value is encrypted whatever that rule says, with no
//!   non-age master key, and sealed to exactly the root's bootstrap
//!   recipient plus the recipients the governing creation rule lists (with
//!   the rule's key groups and threshold).
//!
//! The handover challenge applies the same [`RootPolicy`] to every file it
//! lists, so a file the handover accepts always passes `bootstrap verify`.
//!
//! Every problem is a failed check naming the file, the key path (`-` for
//! the whole file, `sops:…` for metadata) and what to do; the values
//! themselves are never read.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Error;
use super::config::Configs;
use crate::fsio::{self, Cap};
use crate::kube::{self, Object, Sealing};
use crate::report::{Report, Status};
use crate::sops::config::CreationRule;
use crate::sops::{self, Format, Inspection, Recipient};
use crate::walk::{self, FileLinks, Found};

/// What sealed files are checked against.
#[derive(Clone, Debug)]
pub struct RootPolicy {
    /// root.json's bootstrap recipient.
    pub root_recipient: Recipient,
    /// The bootstrap recipient a rotation is replacing, while it retires:
    /// a file still sealed to it is still open to the old key.
    pub retiring_recipient: Option<Recipient>,
}

impl RootPolicy {
    /// The policy of a root's current version.
    pub fn of(body: &crate::root::RootBody) -> Result<Self, crate::sops::RecipientError> {
        Ok(Self {
            root_recipient: Recipient::parse(&body.bootstrap_recipient)?,
            retiring_recipient: body
                .retiring()
                .bootstrap_recipient
                .as_deref()
                .map(Recipient::parse)
                .transpose()?,
        })
    }
}

/// How `bootstrap verify` walks: through file links (it only reads),
/// hidden files included (a hidden Secret must be checked too).
pub const VERIFY_WALK: walk::Policy = walk::Policy {
    suffixes: walk::BOOTSTRAP_SUFFIXES,
    file_links: FileLinks::Follow,
    hidden_files: true,
    skip_kustomization: false,
};

/// The outcome of `bootstrap verify` over paths.
#[derive(Debug)]
pub struct Verified {
    /// One check per problem, one passing check per clean file, and one
    /// not-checked line per entry the walk passed over.
    pub report: Report,
    /// How many files were checked.
    pub files_checked: usize,
    /// How many files had problems.
    pub files_failed: usize,
}

/// Checks every file under `paths`.
pub fn verify_paths(
    paths: &[PathBuf],
    policy: &RootPolicy,
    configs: &mut Configs,
) -> Result<Verified, Error> {
    let Found { targets, skipped } = walk::collect(paths, VERIFY_WALK)?;
    let mut report = Report::new();
    let mut files_failed = 0;
    for target in &targets {
        let file = check_file(&target.path, policy, configs);
        if !file.passed() {
            files_failed += 1;
        }
        report.extend(file);
    }
    for s in skipped {
        report.push(
            "skipped",
            s.path.display().to_string(),
            Status::NotChecked,
            s.reason,
        );
    }
    Ok(Verified {
        report,
        files_checked: targets.len(),
        files_failed,
    })
}

/// Checks one file: reads it, finds its `.sops.yaml` rule, and checks it.
pub fn check_file(path: &Path, policy: &RootPolicy, configs: &mut Configs) -> Report {
    let file = path.display().to_string();
    let mut report = Report::new();
    let bytes = match fsio::read_input(path, Cap::Manifest) {
        Ok(b) => Zeroizing::new(b),
        Err(e) => {
            report.record("unreadable", file.clone(), false, e.to_string());
            return report;
        }
    };
    let rule = match configs.rule_for(path) {
        Ok(lookup) => lookup.rule().cloned(),
        Err(e) => {
            report.record(
                "config",
                file.clone(),
                false,
                format!(
                    "its .sops.yaml cannot be used: {}",
                    crate::error::chain_text(&e)
                ),
            );
            return report;
        }
    };
    check_bytes(
        &file,
        &bytes,
        Format::from_path(path),
        policy,
        rule.as_ref(),
    )
}

/// Checks one file's bytes under the creation rule that governs it.
pub fn check_bytes(
    file: &str,
    bytes: &[u8],
    format: Format,
    policy: &RootPolicy,
    rule: Option<&CreationRule>,
) -> Report {
    let mut checks = Checks {
        file,
        report: Report::new(),
    };
    match sops::inspect(bytes, format) {
        Ok(inspection) => check_sealed(&mut checks, &inspection, policy, rule),
        Err(sops::Error::MetadataNotFound) => check_plain(&mut checks, bytes, format, rule),
        Err(e) => {
            let at = match &e {
                sops::Error::MalformedEncryptedValue { path }
                | sops::Error::UnsupportedValue { path, .. }
                | sops::Error::UnexpectedLeaf { path } => path.to_string(),
                sops::Error::InvalidMetadata { field, .. } => format!("sops:{field}"),
                _ => "-".into(),
            };
            checks.fail("malformed", &at, format!("malformed sealed file: {e}"));
        }
    }
    if checks.report.passed() {
        checks.report.record(
            "sealed",
            file,
            true,
            "every Secret value is sealed to the root",
        );
    }
    checks.report
}

struct Checks<'a> {
    file: &'a str,
    report: Report,
}

impl Checks<'_> {
    fn fail(&mut self, check: &'static str, key_path: &str, detail: impl Into<String>) {
        let subject = if key_path == "-" {
            self.file.to_owned()
        } else {
            format!("{}: {key_path}", self.file)
        };
        self.report.record(check, subject, false, detail.into());
    }
}

/// The key path of a Secret value, as reports name it: `data:password`, or
/// `items[1].data:password` inside a List.
fn value_path(object: &Object<'_>, field: &str, key: &str) -> String {
    let items = object.location.item_path();
    if items.is_empty() {
        format!("{field}:{key}")
    } else {
        format!("{items}.{field}:{key}")
    }
}

fn check_sealed(
    checks: &mut Checks<'_>,
    inspection: &Inspection,
    policy: &RootPolicy,
    rule: Option<&CreationRule>,
) {
    if !inspection.version_supported {
        checks.fail(
            "version",
            "sops:version",
            format!(
                "version {:?} is not one sops can decrypt",
                inspection.version
            ),
        );
    }
    let (rule_field, rule_value) = &inspection.rule;
    let mut reported: Vec<(usize, String)> = Vec::new();
    for leaf in &inspection.leaves {
        let what = if leaf.is_comment { "comment" } else { "value" };
        let path = if leaf.path.is_empty() {
            "-".to_owned()
        } else {
            leaf.path.join(":")
        };
        if leaf.malformed {
            checks.fail(
                "malformed",
                &path,
                format!("malformed ENC[…] {what}: damaged or edited by hand"),
            );
            reported.push((leaf.document, path));
        } else if leaf.rule_says_encrypted && !leaf.encrypted && !leaf.empty {
            checks.fail(
                "in clear",
                &path,
                format!(
                    "{what} in clear, but the file's rule {rule_field}: {rule_value:?} says it is encrypted"
                ),
            );
            reported.push((leaf.document, path));
        }
    }
    // A Secret's values must be sealed whatever rule the file was sealed with.
    let objects = kube::objects(&inspection.tree);
    let documents = inspection.tree.len();
    for object in objects.iter().filter(|o| o.is_secret()) {
        for value in kube::secret_values(object) {
            if kube::sealing(value.value) != Sealing::Clear {
                continue;
            }
            let path = value_path(object, value.field, value.key);
            if reported.contains(&(object.location.document, path.clone())) {
                continue;
            }
            checks.fail(
                "in clear",
                &path,
                format!(
                    "value in clear in {}: the file's rule {rule_field}: {rule_value:?} leaves Secret data unencrypted",
                    object.describe(documents)
                ),
            );
        }
    }
    check_recipients(checks, inspection, policy, rule);
}

/// Exactly the root's recipient plus the recipients the rule lists, in the
/// rule's key groups; no other kind of master key.
fn check_recipients(
    checks: &mut Checks<'_>,
    inspection: &Inspection,
    policy: &RootPolicy,
    rule: Option<&CreationRule>,
) {
    let opaque: usize = inspection.opaque_keys.iter().sum();
    if opaque > 0 {
        checks.fail(
            "recipients",
            "sops",
            format!(
                "{opaque} non-age master key(s) (pgp, kms, …): bootstrap files must be sealed to age recipients only"
            ),
        );
    }
    let mut expected: Vec<&Recipient> = vec![&policy.root_recipient];
    let retiring = policy.retiring_recipient.as_ref();
    for r in rule.map(CreationRule::recipients).unwrap_or_default() {
        if Some(r) == retiring {
            // The rule would seal new files to the key being replaced.
            checks.fail(
                "recipients",
                "-",
                format!(
                    ".sops.yaml {} lists {r}, the bootstrap identity the root is retiring: replace it with root.json's bootstrap recipient {}",
                    rule.map(CreationRule::describe).unwrap_or_default(),
                    policy.root_recipient
                ),
            );
            continue;
        }
        if !expected.contains(&r) {
            expected.push(r);
        }
    }
    let actual: Vec<&String> = inspection.age_recipients.iter().flatten().collect();
    let metadata_path = if inspection.age_recipients.len() > 1 {
        "sops:key_groups"
    } else {
        "sops:age"
    };
    for want in &expected {
        if !actual.iter().any(|have| *want == have.as_str()) {
            let why = if *want == &policy.root_recipient {
                "root.json's bootstrap recipient".to_owned()
            } else {
                rule.map(|r| format!("listed by .sops.yaml {}", r.describe()))
                    .unwrap_or_default()
            };
            checks.fail(
                "recipients",
                metadata_path,
                format!("recipient {want} is missing ({why}): run `ceremony bootstrap updatekeys`"),
            );
        }
    }
    for have in actual {
        if retiring.is_some_and(|r| r == have.as_str()) {
            checks.fail(
                "recipients",
                metadata_path,
                format!(
                    "sealed to {have}, the bootstrap identity the root is retiring: the old key still opens this file; run `ceremony bootstrap updatekeys --root ROOTDIR` (it also gives the file a new data key)"
                ),
            );
            continue;
        }
        if !expected.iter().any(|want| *want == have.as_str()) {
            checks.fail(
                "recipients",
                metadata_path,
                format!(
                    "recipient {} is neither root.json's bootstrap recipient nor listed by .sops.yaml: run `ceremony bootstrap updatekeys`",
                    have.chars().take(100).collect::<String>()
                ),
            );
        }
    }
    let Some(groups) = rule
        .and_then(|r| r.key_groups.as_ref().map(|g| (r, g)))
        .filter(|(_, g)| g.groups().len() > 1)
    else {
        return;
    };
    let (rule, groups) = groups;
    if inspection.age_recipients.len() != groups.groups().len() {
        checks.fail(
            "key groups",
            "sops:key_groups",
            format!(
                "{} key group(s), but .sops.yaml {} has {}",
                inspection.age_recipients.len(),
                rule.describe(),
                groups.groups().len()
            ),
        );
    } else if inspection.shamir_threshold != groups.threshold() {
        checks.fail(
            "key groups",
            "sops:shamir_threshold",
            format!(
                "threshold {}, but .sops.yaml {} says {}",
                inspection.shamir_threshold,
                rule.describe(),
                groups.threshold()
            ),
        );
    }
}

/// A file with no sops metadata: it must hold no Secret, and no `.sops.yaml`
/// rule with a `path_regex` may cover it.
fn check_plain(checks: &mut Checks<'_>, bytes: &[u8], format: Format, rule: Option<&CreationRule>) {
    let tree = match sops::parse_plain(bytes, format) {
        Ok(tree) => tree,
        Err(e) => {
            checks.fail(
                "unparsable",
                "-",
                format!("cannot be parsed as {format}, so it cannot be checked: {e}"),
            );
            return;
        }
    };
    let objects = kube::objects(&tree);
    let mut secrets = 0;
    for object in objects.iter().filter(|o| o.is_secret()) {
        secrets += 1;
        let what = object.describe(tree.len());
        checks.fail(
            "not sealed",
            "-",
            format!("{what} is not sealed: run `ceremony bootstrap seal --in-place` on it"),
        );
        for value in kube::secret_values(object) {
            if kube::sealing(value.value) == Sealing::Clear {
                checks.fail(
                    "in clear",
                    &value_path(object, value.field, value.key),
                    format!("value in clear in {what} (the file is not sealed)"),
                );
            }
        }
    }
    if let (0, Some(rule)) = (secrets, rule.filter(|r| r.path_regex.is_some())) {
        checks.fail(
            "not sealed",
            "-",
            format!("not sealed, but .sops.yaml {} covers it", rule.describe()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::sops::KeyGroups;

    fn root() -> (RootPolicy, Recipient) {
        let id = age::x25519::Identity::generate();
        let r = Recipient::parse(&id.to_public().to_string()).unwrap();
        (
            RootPolicy {
                root_recipient: r.clone(),
                retiring_recipient: None,
            },
            r,
        )
    }

    fn failures(report: &Report) -> Vec<String> {
        report
            .failures()
            .map(|c| format!("{} {}", c.check, c.subject))
            .collect()
    }

    #[test]
    fn wrapped_cleartext_secrets_fail() {
        let (policy, _) = root();
        let cases = [
            (
                Format::Yaml,
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n  stringData: {token: clear}\n",
            ),
            (
                Format::Yaml,
                "base: &s {apiVersion: v1, kind: Secret}\n---\n<<: {apiVersion: v1, kind: Secret}\nmetadata: {name: m}\ndata: {k: dg==}\n",
            ),
            (
                Format::Json,
                r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"j"},"data":{"k":"dg=="}}]}"#,
            ),
        ];
        for (format, text) in cases {
            let report = check_bytes("f", text.as_bytes(), format, &policy, None);
            assert!(!report.passed(), "{text}");
            assert!(
                failures(&report).iter().any(|f| f.starts_with("in clear")),
                "{text}: {:?}",
                failures(&report)
            );
        }
        let plain = "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n";
        assert!(check_bytes("f", plain.as_bytes(), Format::Yaml, &policy, None).passed());
    }

    #[test]
    fn a_sealed_list_passes_and_another_recipient_fails() {
        let (policy, r) = root();
        let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n  stringData: {token: clear}\n";
        let plan = super::super::Plan::sealed_to(KeyGroups::single(vec![r]).unwrap());
        let sealed =
            super::super::seal::seal_bytes(list.as_bytes(), Format::Yaml, &plan, &SystemClock)
                .unwrap()
                .unwrap();
        let report = check_bytes("f", &sealed, Format::Yaml, &policy, None);
        assert!(report.passed(), "{:?}", failures(&report));

        let (other, _) = root();
        let report = check_bytes("f", &sealed, Format::Yaml, &other, None);
        assert_eq!(
            failures(&report),
            vec!["recipients f: sops:age", "recipients f: sops:age"]
        );
    }
}
