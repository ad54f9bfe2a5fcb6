//! Verifying a handover: a receipt against its challenge, a TRUSTFILE, and
//! optionally the sealed files and their decrypted values.
//!
//! Every check is run and reported, in the order of `docs/handover.md` §5:
//! the envelope and its signature; the statement; challenge id, nonce,
//! authority and root; expiry; each subject digest; each item acknowledged
//! exactly once (and, with `--deep`, its commitment); each bootstrap Secret
//! retired. Nothing in a receipt whose signature does not verify is
//! evaluated: those checks are reported as skipped, so an unauthenticated
//! receipt can never show a ✓ on its contents. Checks that depend only on the
//! challenge and the operator's own files (expiry) always run.
//!
//! Without `--deep` the commitments are not recomputed; each item still gets
//! a `commitment` line, marked [`Status::NotChecked`], so the report says
//! what it did not check.
//!
//! A handover passes only if no check failed and none was skipped; a check
//! that was not requested (a commitment without `--deep`) does not fail it.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::challenge::{Challenge, ChallengeError};
use super::dsse::Envelope;
use super::receipt::{PREDICATE_TYPE_V1, ReceiptPredicate, Values};
use super::statement::{Sha256Digest, Statement};
use super::trust::TrustFile;
use super::verify;
use crate::sops::{self, Format};

pub use crate::report::{Check, Report, Status};

/// The detail of a commitment line without `--deep`.
pub const COMMITMENT_NOT_REQUESTED: &str = "not checked (needs --deep)";

/// The SHA-256 of each sealed file by challenge path, or why it could not
/// be read.
pub type Digests = BTreeMap<String, Result<Sha256Digest, String>>;

/// What a verification is given.
#[derive(Debug)]
pub struct VerifyRequest<'a> {
    /// The challenge the operator made.
    pub challenge: &'a Challenge,
    /// The receipt file's bytes (a DSSE envelope).
    pub receipt: &'a [u8],
    /// The keys trusted to sign receipts.
    pub trust: &'a TrustFile,
    /// With `--bootstrap DIR`: the SHA-256 of `DIR/<path>` for each challenge
    /// path, or why it could not be read.
    pub bootstrap: Option<&'a Digests>,
    /// With `--deep`: commitments recomputed from the decrypted sealed files.
    pub deep: Option<&'a Values>,
    /// The time the expiry is checked against.
    pub now: OffsetDateTime,
}

/// Why `--deep` could not open the sealed files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeepError {
    /// A sealed file did not decrypt (wrong key, tampered value, bad MAC).
    #[error("{path}")]
    Open {
        /// The file.
        path: String,
        /// The engine's error (never a value).
        source: sops::Error,
    },
    /// A decrypted file's Secrets cannot be read.
    #[error(transparent)]
    Values(#[from] super::receipt::ReceiptError),
    /// From the challenge.
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
}

/// Decrypts the sealed files with the bootstrap identity (checking each
/// file's MAC) and recomputes every value's commitment under the challenge
/// nonce. `sealed` is `(challenge path, file bytes)`.
pub fn deep_values(
    challenge: &Challenge,
    sealed: &[(String, Vec<u8>)],
    identities: &[sops::Identity],
) -> Result<Values, DeepError> {
    let nonce = challenge.nonce_bytes()?;
    let mut values = Values::default();
    for (path, bytes) in sealed {
        let opened = sops::open_file(bytes, Format::Yaml, identities, sops::MacCheck::Verify)
            .map_err(|source| DeepError::Open {
                path: path.clone(),
                source,
            })?;
        values.add_branches(&nonce, path, opened.plaintext())?;
    }
    Ok(values)
}

struct Builder {
    checks: Vec<Check>,
}

impl Builder {
    fn push(&mut self, check: &'static str, subject: impl Into<String>, ok: bool, detail: String) {
        self.checks.push(Check {
            check: check.into(),
            subject: subject.into(),
            status: if ok { Status::Pass } else { Status::Fail },
            detail: detail.into(),
        });
    }

    fn skip(&mut self, check: &'static str, subject: impl Into<String>, why: &str) {
        self.checks.push(Check {
            check: check.into(),
            subject: subject.into(),
            status: Status::Skipped,
            detail: format!("not checked: {why}").into(),
        });
    }

    /// A commitment line without `--deep`: reported, but not a failure.
    fn commitment_not_requested(&mut self, id: &str) {
        self.checks.push(Check {
            check: "commitment".into(),
            subject: id.to_owned(),
            status: Status::NotChecked,
            detail: COMMITMENT_NOT_REQUESTED.into(),
        });
    }
}

/// Runs every check. Never fails: each problem is a line of the report.
pub fn verify_handover(req: &VerifyRequest<'_>) -> Report {
    let mut b = Builder { checks: Vec::new() };
    let content = authenticated_content(req, &mut b);
    let skipped = |why: &str, b: &mut Builder, checks: &[&'static str]| {
        for check in checks {
            b.skip(check, "", why);
        }
    };
    match &content {
        Ok((_, predicate)) => identity_checks(req.challenge, predicate, &mut b),
        Err(why) => skipped(why, &mut b, &["challenge id", "nonce", "authority", "root"]),
    }

    // Depends only on the challenge: always checked.
    match req.challenge.expires_at() {
        Ok(expires) if req.now <= expires => b.push(
            "expiry",
            "",
            true,
            format!("challenge valid until {}", req.challenge.expires_at),
        ),
        Ok(_) => b.push(
            "expiry",
            "",
            false,
            format!(
                "challenge expired at {} (now {}); the handover must be redone with a new challenge",
                req.challenge.expires_at,
                super::challenge::format_time(req.now).unwrap_or_default()
            ),
        ),
        Err(e) => b.push("expiry", "", false, e.to_string()),
    }

    match &content {
        Ok((statement, predicate)) => content_checks(req, statement, predicate, &mut b),
        Err(why) => skip_content(req, why, &mut b),
    }

    Report { checks: b.checks }
}

/// Envelope, signature, statement: the gate in front of every content check.
fn authenticated_content(
    req: &VerifyRequest<'_>,
    b: &mut Builder,
) -> Result<(Statement, ReceiptPredicate), String> {
    let envelope = match Envelope::from_json(req.receipt) {
        Ok(e) => {
            b.push(
                "receipt",
                "",
                true,
                format!("DSSE envelope with {} signature(s)", e.signatures.len()),
            );
            e
        }
        Err(e) => {
            b.push("receipt", "", false, e.to_string());
            b.skip("signature", "", "the receipt is not a DSSE envelope");
            return Err("the receipt could not be read".into());
        }
    };
    let policy = verify::VerifyPolicy {
        authority: Some(req.challenge.authority.clone()),
        ..verify::VerifyPolicy::default()
    };
    match verify::verify_with_policy(&envelope, req.trust, &policy) {
        Ok(by) => {
            let comment = by
                .trusted_comment
                .map(|c| format!(", trusted comment {c:?}"))
                .unwrap_or_default();
            b.push(
                "signature",
                "",
                true,
                format!(
                    "{} signature by {} ({}), {} line {}{comment}",
                    by.scheme,
                    by.key_name,
                    by.key,
                    req.trust.source().display(),
                    by.trust_line
                ),
            );
        }
        Err(e) => {
            b.push("signature", "", false, e.to_string());
            return Err(
                "the receipt's signature did not verify, so nothing in it is trusted".into(),
            );
        }
    }
    let statement = match Statement::from_envelope(&envelope) {
        Ok(s) => s,
        Err(e) => {
            b.push("statement", "", false, e.to_string());
            return Err("the receipt's statement could not be read".into());
        }
    };
    if statement.predicate_type != PREDICATE_TYPE_V1 {
        b.push(
            "statement",
            "",
            false,
            format!(
                "predicate type {:?} is not {PREDICATE_TYPE_V1:?}",
                statement.predicate_type
            ),
        );
        return Err("the receipt's predicate is of another type".into());
    }
    match ReceiptPredicate::from_value(&statement.predicate) {
        Ok(p) => {
            b.push(
                "statement",
                "",
                true,
                format!("in-toto Statement v1, predicate {PREDICATE_TYPE_V1}"),
            );
            Ok((statement, p))
        }
        Err(e) => {
            b.push("statement", "", false, e.to_string());
            Err("the receipt's predicate could not be read".into())
        }
    }
}

fn skip_content(req: &VerifyRequest<'_>, why: &str, b: &mut Builder) {
    let c = req.challenge;
    b.skip("completed", "", why);
    for f in &c.files {
        b.skip("subject", f.path.clone(), why);
    }
    for (_, i) in c.items() {
        b.skip("item", i.id.clone(), why);
        if req.deep.is_some() {
            b.skip("commitment", i.id.clone(), why);
        } else {
            b.commitment_not_requested(&i.id);
        }
    }
    for s in c.secrets() {
        b.skip("retired", s.to_string(), why);
    }
}

/// The receipt answers this challenge: id, nonce, authority, root.
fn identity_checks(c: &Challenge, p: &ReceiptPredicate, b: &mut Builder) {
    let same = p.challenge_id == c.challenge_id;
    b.push(
        "challenge id",
        "",
        same,
        if same {
            format!("answers challenge {}", c.challenge_id)
        } else {
            format!(
                "the receipt answers challenge {}, not {}",
                p.challenge_id, c.challenge_id
            )
        },
    );
    match c.nonce_sha256() {
        Ok(expected) if expected == p.nonce_sha256 => {
            b.push("nonce", "", true, "matches the challenge's nonce".into())
        }
        Ok(_) => b.push(
            "nonce",
            "",
            false,
            "the receipt's nonce does not match the challenge's (a receipt for another challenge, or a replay)"
                .into(),
        ),
        Err(e) => b.push("nonce", "", false, e.to_string()),
    }
    let same = p.authority == c.authority;
    b.push(
        "authority",
        "",
        same,
        if same {
            format!("received by {}", c.authority)
        } else {
            format!(
                "the receipt is from authority {:?}, the challenge names {:?}",
                p.authority, c.authority
            )
        },
    );
    let same = p.root_id == c.root_id;
    b.push(
        "root",
        "",
        same,
        if same {
            format!("root {}", c.root_id)
        } else {
            format!(
                "the receipt names root {}, the challenge root {}",
                p.root_id, c.root_id
            )
        },
    );
}

/// Completion time, subjects, items, retired Secrets.
fn content_checks(
    req: &VerifyRequest<'_>,
    statement: &Statement,
    p: &ReceiptPredicate,
    b: &mut Builder,
) {
    let c = req.challenge;
    match (p.completed_at(), c.created_at(), c.expires_at()) {
        (Ok(done), Ok(created), Ok(expires)) => {
            let ok = created <= done && done <= expires;
            b.push(
                "completed",
                "",
                ok,
                if ok {
                    format!("completed at {}", p.completed_at)
                } else {
                    format!(
                        "completed at {}, outside the challenge's window {} .. {}",
                        p.completed_at, c.created_at, c.expires_at
                    )
                },
            );
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            b.push("completed", "", false, e.to_string())
        }
    }

    subject_checks(req, statement, b);
    item_checks(req, p, b);
    retired_checks(c, p, b);
}

fn subject_checks(req: &VerifyRequest<'_>, statement: &Statement, b: &mut Builder) {
    let c = req.challenge;
    let subjects: BTreeMap<&str, &Sha256Digest> = statement
        .subjects
        .iter()
        .map(|s| (s.name.as_str(), &s.sha256))
        .collect();
    for f in &c.files {
        let Some(digest) = subjects.get(f.path.as_str()) else {
            b.push(
                "subject",
                f.path.clone(),
                false,
                "the sealed file is not a subject of the receipt".into(),
            );
            continue;
        };
        if digest.to_hex() != f.sha256 {
            b.push(
                "subject",
                f.path.clone(),
                false,
                format!(
                    "subject digest mismatch: the receipt says sha256 {}, the challenge {}",
                    digest.to_hex(),
                    f.sha256
                ),
            );
            continue;
        }
        match req.bootstrap.map(|dir| dir.get(&f.path)) {
            None => b.push(
                "subject",
                f.path.clone(),
                true,
                format!("sha256 {} as in the challenge (sealed files not given)", f.sha256),
            ),
            Some(Some(Ok(on_disk))) if on_disk.to_hex() == f.sha256 => b.push(
                "subject",
                f.path.clone(),
                true,
                format!("sha256 {} equals the sealed file", f.sha256),
            ),
            Some(Some(Ok(on_disk))) => b.push(
                "subject",
                f.path.clone(),
                false,
                format!(
                    "subject digest mismatch: the sealed file has sha256 {}, the receipt and challenge say {}",
                    on_disk.to_hex(),
                    f.sha256
                ),
            ),
            Some(Some(Err(why))) => b.push("subject", f.path.clone(), false, why.clone()),
            Some(None) => b.push(
                "subject",
                f.path.clone(),
                false,
                "the sealed file was not read".into(),
            ),
        }
    }
    let known: BTreeSet<&str> = c.files.iter().map(|f| f.path.as_str()).collect();
    for s in &statement.subjects {
        if !known.contains(s.name.as_str()) {
            b.push(
                "subject",
                s.name.clone(),
                false,
                "a subject of the receipt that the challenge does not list".into(),
            );
        }
    }
}

fn item_checks(req: &VerifyRequest<'_>, p: &ReceiptPredicate, b: &mut Builder) {
    let c = req.challenge;
    let mut acks: BTreeMap<&str, Vec<&super::receipt::ReceivedItem>> = BTreeMap::new();
    for item in &p.items {
        acks.entry(item.id.as_str()).or_default().push(item);
    }
    for (file, item) in c.items() {
        let found = acks
            .get(item.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let ack = match found {
            [] => {
                b.push(
                    "item",
                    item.id.clone(),
                    false,
                    "missing item: not acknowledged by the receipt".into(),
                );
                None
            }
            [one] => {
                b.push(
                    "item",
                    item.id.clone(),
                    true,
                    format!("stored at {} version {}", one.authority_path, one.version),
                );
                Some(*one)
            }
            many => {
                b.push(
                    "item",
                    item.id.clone(),
                    false,
                    format!(
                        "acknowledged {} times; each item must be acknowledged exactly once",
                        many.len()
                    ),
                );
                None
            }
        };
        let Some(deep) = req.deep else {
            b.commitment_not_requested(&item.id);
            continue;
        };
        let Some(ack) = ack else {
            b.skip(
                "commitment",
                item.id.clone(),
                "the item is not acknowledged exactly once",
            );
            continue;
        };
        let claimed = super::items::Commitment::from_hex(&ack.commitment);
        match (deep.get(&item.id), claimed) {
            (Some((_, expected)), Some(claimed)) if expected.ct_eq(&claimed) => b.push(
                "commitment",
                item.id.clone(),
                true,
                format!("matches the value sealed in {}", file.path),
            ),
            (Some(_), _) => b.push(
                "commitment",
                item.id.clone(),
                false,
                format!(
                    "commitment mismatch: the authority's value differs from the value sealed in {}",
                    file.path
                ),
            ),
            (None, _) => b.push(
                "commitment",
                item.id.clone(),
                false,
                format!("the decrypted {} holds no value for this item", file.path),
            ),
        }
    }
    let asked: BTreeSet<&str> = c.items().map(|(_, i)| i.id.as_str()).collect();
    let mut reported = BTreeSet::new();
    for item in &p.items {
        if !asked.contains(item.id.as_str()) && reported.insert(item.id.as_str()) {
            b.push(
                "item",
                item.id.clone(),
                false,
                "extra item: acknowledged by the receipt but not in the challenge".into(),
            );
        }
    }
}

fn retired_checks(c: &Challenge, p: &ReceiptPredicate, b: &mut Builder) {
    let secrets = c.secrets();
    for s in &secrets {
        let n = p.retired.iter().filter(|r| *r == s).count();
        match n {
            0 => b.push(
                "retired",
                s.to_string(),
                false,
                "bootstrap Secret not retired: the receipt does not say it was deleted, so two authorities may hold its values".into(),
            ),
            1 => b.push("retired", s.to_string(), true, "bootstrap copy deleted".into()),
            n => b.push(
                "retired",
                s.to_string(),
                false,
                format!("listed {n} times as retired"),
            ),
        }
    }
    let mut reported = BTreeSet::new();
    for r in &p.retired {
        if !secrets.contains(r) && reported.insert(r) {
            b.push(
                "retired",
                r.to_string(),
                false,
                "retired by the receipt but not in the challenge".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handover::challenge::{CHALLENGE_FORMAT_V1, ChallengeFile, ChallengeItem};
    use crate::handover::items::{Field, SecretName};
    use crate::handover::receipt::{DEFAULT_PATH_TEMPLATE, ReceiptPlan, build_statement};
    use crate::handover::sign::{Ed25519SigningKey, sign_ed25519};
    use crate::secret::SecretBytes;

    fn challenge() -> Challenge {
        use base64::Engine;
        Challenge {
            format: CHALLENGE_FORMAT_V1.into(),
            challenge_id: "00112233445566778899aabbccddeeff".into(),
            root_id: "0123456789abcdef0123456789abcdef".into(),
            authority: "openbao-prod".into(),
            nonce: base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-02T00:00:00Z".into(),
            files: vec![ChallengeFile {
                path: "db.yaml".into(),
                sha256: "ab".repeat(32),
                items: vec![ChallengeItem {
                    id: "apps/db/password".into(),
                    namespace: "apps".into(),
                    name: "db".into(),
                    key: "password".into(),
                    field: Field::StringData,
                }],
            }],
        }
    }

    fn signed_receipt(not_retired: Vec<SecretName>) -> (Vec<u8>, TrustFile, Values) {
        let values = Values::from_manifests(
            &[7u8; 32],
            &[(
                "v.yaml".into(),
                SecretBytes::from_slice(
                    b"kind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: pw\n",
                ),
            )],
        )
        .unwrap();
        let statement = build_statement(
            &challenge(),
            &values,
            &ReceiptPlan {
                authority: "openbao-prod".into(),
                path_template: DEFAULT_PATH_TEMPLATE.into(),
                version: 1,
                not_retired,
                completed_at: time::macros::datetime!(2026-01-01 12:00 UTC),
            },
        )
        .unwrap();
        let key = Ed25519SigningKey::generate("test");
        let mut envelope = statement.to_envelope().unwrap();
        sign_ed25519(&mut envelope, &key).unwrap();
        let trust = TrustFile::parse(
            "trust.txt",
            key.ed25519_trust_line("openbao-prod", "runtime").as_bytes(),
        )
        .unwrap();
        (envelope.to_json().unwrap().into_bytes(), trust, values)
    }

    fn run(receipt: &[u8], trust: &TrustFile, deep: Option<&Values>) -> Report {
        verify_handover(&VerifyRequest {
            challenge: &challenge(),
            receipt,
            trust,
            bootstrap: None,
            deep,
            now: time::macros::datetime!(2026-01-01 13:00 UTC),
        })
    }

    /// A key trusted for one authority cannot sign for another, and a key
    /// whose line names no authority signs for none.
    #[test]
    fn a_trusted_key_signs_only_for_the_authorities_its_line_names() {
        let (receipt, trust, _) = signed_receipt(vec![]);
        assert!(run(&receipt, &trust, None).passed());
        let crate::handover::trust::KeyMaterial::Ed25519(key) = &trust.keys()[0].key else {
            panic!("an ed25519 line");
        };
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
        };
        let text = |prefix: &str| format!("{prefix}ed25519 {b64} runtime\n");
        for prefix in ["authorities=someone-else ", ""] {
            let other = TrustFile::parse("t", text(prefix).as_bytes()).unwrap();
            let report = run(&receipt, &other, None);
            assert!(!report.passed(), "{prefix:?}");
            let signature = report
                .checks
                .iter()
                .find(|c| c.check == "signature")
                .unwrap();
            assert_eq!(signature.status, Status::Fail);
            assert!(
                signature
                    .detail
                    .contains("not trusted to sign for authority \"openbao-prod\""),
                "{}",
                signature.detail
            );
        }
        let both =
            TrustFile::parse("t", text("authorities=openbao-dr,openbao-prod ").as_bytes()).unwrap();
        assert!(run(&receipt, &both, None).passed());
    }

    /// Freezes the order of the checks and the JSON shape of the report.
    #[test]
    fn order_and_json_shape_are_frozen() {
        let (receipt, trust, values) = signed_receipt(vec![]);
        let report = run(&receipt, &trust, Some(&values));
        assert!(report.passed(), "{report:?}");
        let order: Vec<String> = report
            .checks
            .iter()
            .map(|c| format!("{} {}", c.check, c.subject).trim_end().to_owned())
            .collect();
        assert_eq!(
            order,
            [
                "receipt",
                "signature",
                "statement",
                "challenge id",
                "nonce",
                "authority",
                "root",
                "expiry",
                "completed",
                "subject db.yaml",
                "item apps/db/password",
                "commitment apps/db/password",
                "retired apps/db",
            ]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["checks"][10],
            serde_json::json!({
                "check": "item",
                "subject": "apps/db/password",
                "status": "pass",
                "detail": "stored at secret/data/apps/db version 1",
            })
        );
        assert!(report.passed());
    }

    /// A receipt built from KV carries each item's own path and version;
    /// the item line reports it, and the commitment still matches the
    /// sealed value (the check order and JSON shape are the frozen ones).
    #[test]
    fn item_lines_report_each_items_own_version() {
        let (_, _, sealed) = signed_receipt(vec![]);
        let (kv_path, secret) = crate::handover::kv::kv_path_of("apps/db.json").unwrap();
        let kv = Values::from_kv(
            &[7u8; 32],
            "secret",
            &[crate::handover::kv::KvFile {
                file: "apps/db.json".into(),
                kv_path,
                secret,
                bytes: SecretBytes::from_slice(
                    br#"{"data": {"data": {"password": "pw"}, "metadata": {"version": 3}}}"#,
                ),
            }],
        )
        .unwrap();
        let plan = ReceiptPlan {
            authority: "openbao-prod".into(),
            path_template: DEFAULT_PATH_TEMPLATE.into(),
            version: 1,
            not_retired: vec![],
            completed_at: time::macros::datetime!(2026-01-01 12:00 UTC),
        };
        let statement = build_statement(&challenge(), &kv, &plan).unwrap();
        let key = Ed25519SigningKey::generate("test");
        let mut envelope = statement.to_envelope().unwrap();
        sign_ed25519(&mut envelope, &key).unwrap();
        let trust = TrustFile::parse(
            "trust.txt",
            key.ed25519_trust_line("openbao-prod", "runtime").as_bytes(),
        )
        .unwrap();
        let report = run(
            envelope.to_json().unwrap().as_bytes(),
            &trust,
            Some(&sealed),
        );
        assert!(report.passed(), "{report:?}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["checks"][10],
            serde_json::json!({
                "check": "item",
                "subject": "apps/db/password",
                "status": "pass",
                "detail": "stored at secret/data/apps/db version 3",
            })
        );
        assert_eq!(json["checks"][11]["check"], "commitment");
        assert_eq!(json["checks"][11]["status"], "pass");
    }

    #[test]
    fn a_failed_signature_skips_every_content_check() {
        let (receipt, _, _) = signed_receipt(vec![]);
        let other = Ed25519SigningKey::generate("other");
        let trust = TrustFile::parse(
            "t",
            other.ed25519_trust_line("openbao-prod", "x").as_bytes(),
        )
        .unwrap();
        let report = run(&receipt, &trust, None);
        assert!(!report.passed());
        let statuses: Vec<_> = report
            .checks
            .iter()
            .map(|c| (c.check.as_ref(), c.status))
            .collect();
        assert_eq!(statuses[0], ("receipt", Status::Pass));
        assert_eq!(statuses[1], ("signature", Status::Fail));
        for (check, status) in &statuses[2..] {
            if *check == "expiry" {
                assert_eq!(*status, Status::Pass);
            } else if *check == "commitment" {
                // Not asked for (no --deep): neither a pass nor a skip.
                assert_eq!(*status, Status::NotChecked);
            } else {
                assert_eq!(*status, Status::Skipped, "{check}");
            }
        }
    }

    #[test]
    fn a_failed_signature_with_deep_skips_the_commitments() {
        let (receipt, _, values) = signed_receipt(vec![]);
        let other = Ed25519SigningKey::generate("other");
        let trust = TrustFile::parse(
            "t",
            other.ed25519_trust_line("openbao-prod", "x").as_bytes(),
        )
        .unwrap();
        let report = run(&receipt, &trust, Some(&values));
        let commitment = report
            .checks
            .iter()
            .find(|c| c.check == "commitment")
            .unwrap();
        assert_eq!(commitment.status, Status::Skipped);
        assert_eq!(report.with_status(Status::NotChecked).count(), 0);
    }

    #[test]
    fn without_deep_each_commitment_is_reported_not_checked_and_passes() {
        let (receipt, trust, _) = signed_receipt(vec![]);
        let report = run(&receipt, &trust, None);
        assert!(report.passed(), "{report:?}");
        let lines: Vec<_> = report
            .checks
            .iter()
            .map(|c| (c.check.as_ref(), c.subject.as_str(), c.status))
            .collect();
        let at = lines
            .iter()
            .position(|l| *l == ("item", "apps/db/password", Status::Pass))
            .unwrap();
        assert_eq!(
            lines[at + 1],
            ("commitment", "apps/db/password", Status::NotChecked)
        );
        let not_requested: Vec<_> = report.with_status(Status::NotChecked).collect();
        assert_eq!(not_requested.len(), 1);
        assert_eq!(not_requested[0].detail, "not checked (needs --deep)");
        assert_eq!(Status::NotChecked.mark(), "·");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["checks"][at + 1]["status"], "not_checked");
        assert!(report.passed());
        // With --deep nothing is left unrequested.
        let (receipt, trust, values) = signed_receipt(vec![]);
        assert_eq!(
            run(&receipt, &trust, Some(&values))
                .with_status(Status::NotChecked)
                .count(),
            0
        );
    }

    #[test]
    fn without_deep_a_missing_item_still_gets_its_commitment_line() {
        let (receipt, trust, _) = signed_receipt(vec![]);
        let mut c = challenge();
        let mut extra = c.files[0].items[0].clone();
        extra.id = "apps/db/user".into();
        extra.key = "user".into();
        c.files[0].items.push(extra);
        let report = verify_handover(&VerifyRequest {
            challenge: &c,
            receipt: &receipt,
            trust: &trust,
            bootstrap: None,
            deep: None,
            now: time::macros::datetime!(2026-01-01 13:00 UTC),
        });
        assert!(!report.passed());
        let commitments: Vec<_> = report
            .checks
            .iter()
            .filter(|c| c.check == "commitment")
            .map(|c| (c.subject.as_str(), c.status))
            .collect();
        assert_eq!(
            commitments,
            [
                ("apps/db/password", Status::NotChecked),
                ("apps/db/user", Status::NotChecked)
            ]
        );
    }

    #[test]
    fn not_retired_fails_and_expiry_is_checked_against_now() {
        let (receipt, trust, _) = signed_receipt(vec![SecretName::parse("apps/db").unwrap()]);
        let report = run(&receipt, &trust, None);
        assert!(!report.passed());
        assert_eq!(report.failures().count(), 1);
        let late = verify_handover(&VerifyRequest {
            challenge: &challenge(),
            receipt: &receipt,
            trust: &trust,
            bootstrap: None,
            deep: None,
            now: time::macros::datetime!(2026-01-02 00:00:01 UTC),
        });
        let expiry = late.checks.iter().find(|c| c.check == "expiry").unwrap();
        assert_eq!(expiry.status, Status::Fail);
    }
}
