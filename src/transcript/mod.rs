//! The ceremony transcript: an append-only, hash-chained log of every command
//! run during a ceremony, of the scripted ceremony around them (who was in
//! the room, each step, each exception), and of the witnesses' sign-offs.
//!
//! Each line of the file is one JSON record. A record names the hash of the
//! record before it (`prev`), so changing, removing or reordering any earlier
//! line breaks the chain at that point. The chain alone does not stop someone
//! from cutting records off the end or rewriting the whole file; three things
//! do: the witnesses read the head hash aloud as words ([`crate::words`]) and
//! write it down, so `transcript verify --expect-head` can prove later that
//! nothing was dropped or added after it; each witness signs the head with
//! their own key ([`witness`]); and a quorum can sign the head with the root
//! signing key (`transcript sign`), which `transcript verify --root` checks
//! against `root.json`.
//!
//! What is recorded: the time, the tool version, the command line and its
//! outcome (exit code and error message); for a scripted ceremony
//! ([`crate::script`]) its script, participants, steps, exceptions with the
//! operator's reason and the witness's decision, and its end. Command lines
//! never carry secrets (secrets are prompted, read from files, or
//! generated), and error messages never quote them, so a transcript is
//! public. Format: `docs/formats/transcript.md`; the Markdown record of it:
//! [`report`].

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::clock::Clock;
use crate::report::{Report, Status};
use crate::words::Digest;

pub mod report;
pub mod witness;

/// The format tag of version 1 records.
pub const TRANSCRIPT_FORMAT_V1: &str = "ceremony.transcript.v1";

/// The `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation of head signatures.
const SIGNING_CONTEXT: &[u8] = b"ceremony.transcript.v1 head\n";

/// What a record is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A command that ran.
    Command {
        /// The arguments after the program name.
        argv: Vec<String>,
        /// Its exit code.
        exit_code: u8,
        /// `ok`, or the error message.
        outcome: String,
    },
    /// The root signing key's signature over the previous record's hash.
    Signature {
        /// The root whose signing key signed.
        root_id: String,
        /// Base64 of the ed25519 public key.
        public_key: String,
        /// Base64 of the signature over the context and `prev`.
        signature: String,
    },
    /// A scripted ceremony begins (`ceremony run`): what is run, by whom.
    CeremonyStart {
        /// The script's `name`.
        script: String,
        /// The script's `version`.
        script_version: u32,
        /// `sha256:<hex>` of the script file's bytes.
        script_sha256: String,
        /// The script's title.
        title: String,
        /// Everyone in the room, in the order given.
        participants: Vec<Participant>,
        /// The values given for the script's parameters.
        params: Vec<Param>,
        /// How many witnesses must sign off the head at the end.
        sign_offs: u32,
    },
    /// One step of the ceremony, and what came of it.
    Step {
        /// The step's id in the script (`id#N` for the Nth of a
        /// `for_each` step).
        step: String,
        /// The step's title.
        title: String,
        /// What the step is.
        action: StepAction,
        /// What the script expects: `exit 0`, `confirmed`.
        expected: String,
        /// What happened: `exit 0`, `confirmed by bob`, `refused by bob`,
        /// `exit 5: <message>`.
        outcome: String,
        /// Whether the outcome is the expected one.
        as_expected: bool,
        /// For a command, the `seq` of its command record (the record just
        /// before this one); `null` if it left none.
        command_seq: Option<u64>,
        /// The names of the participants present.
        present: Vec<String>,
    },
    /// A step that did not go as the script says, with the operator's
    /// reason and a witness's decision.
    Exception {
        /// The step's id.
        step: String,
        /// What the operator asks for.
        exception: ExceptionKind,
        /// The operator's reason, in their words.
        reason: String,
        /// For `changed`: the arguments run instead; empty otherwise.
        argv: Vec<String>,
        /// The witness who decided.
        witness: String,
        /// Whether the witness accepted it. A refused exception ends the
        /// ceremony.
        accepted: bool,
    },
    /// The ceremony ended.
    CeremonyEnd {
        /// The script's `name`.
        script: String,
        /// Every step went through (as expected, or by accepted exception).
        completed: bool,
        /// How many step records it made.
        steps: u32,
        /// How many exceptions it recorded.
        exceptions: u32,
    },
    /// A witness's signature over the ceremony head: the hash of the last
    /// record before this run of sign-offs ([`witness`]).
    SignOff {
        /// `sha256:<hex>`: the head the witness signed.
        head: String,
        /// The witness's name, as the signed statement gives it.
        witness: String,
        /// `sshsig:SHA256:…` or `minisign:<KEYID>`, as handover receipts write it.
        keyid: String,
        /// Base64 of the signature in its canonical form (the SSHSIG blob,
        /// or the four-line minisign signature file).
        signature: String,
    },
}

impl Entry {
    /// Records that vouch for what came before them rather than add to it:
    /// a root signature or a witness sign-off. After the head was read
    /// aloud, only these may follow it.
    pub fn is_attestation(&self) -> bool {
        matches!(self, Entry::Signature { .. } | Entry::SignOff { .. })
    }
}

/// A participant of a scripted ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
}

/// The roles of a ceremony.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs the workstation, reads each step out, gives reasons for exceptions.
    Operator,
    /// Watches, confirms manual actions, decides on exceptions, signs the head.
    Witness,
    /// Holds a share of the root.
    Custodian,
}

impl Role {
    /// The role in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Witness => "witness",
            Role::Custodian => "custodian",
        }
    }
}

/// A value given for a script parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// The parameter's name.
    pub name: String,
    /// Its values (one, or several for a list).
    pub values: Vec<String>,
}

/// What a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepAction {
    /// A ceremony command.
    Run,
    /// A manual action that a participant confirms.
    Confirm,
}

/// What an exception asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionKind {
    /// Go on past a step whose outcome was not the expected one.
    Failed,
    /// Run the step again with other arguments.
    Changed,
}

impl ExceptionKind {
    /// The kind in words.
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Failed => "failed",
            ExceptionKind::Changed => "changed",
        }
    }
}

/// One line of the transcript. (Unknown fields are refused by the canonical
/// form check in [`verify`]: serde cannot deny them through `flatten`.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Always [`TRANSCRIPT_FORMAT_V1`].
    pub format: String,
    /// 0, 1, 2, … in file order.
    pub seq: u64,
    /// `sha256:<hex>` of the previous record's line, or [`GENESIS`].
    pub prev: String,
    /// RFC 3339 UTC.
    pub time: String,
    /// `ceremony <version>`.
    pub tool: String,
    /// The content.
    #[serde(flatten)]
    pub entry: Entry,
}

/// A transcript that does not hold together.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranscriptError {
    /// A line is not a record.
    #[error("line {line}: not a transcript record ({reason})")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The chain breaks: a line was changed, removed, inserted or reordered.
    #[error(
        "line {line}: the chain breaks here (expected {field} {expected}, found {found}): a record before or at this line was changed, removed or inserted"
    )]
    Broken {
        /// 1-based line.
        line: usize,
        /// Which field.
        field: &'static str,
        /// What it should be.
        expected: String,
        /// What it is.
        found: String,
    },
    /// A signature record does not verify.
    #[error("line {line}: the signature over the transcript head does not verify{detail}")]
    BadSignature {
        /// 1-based line.
        line: usize,
        /// Context.
        detail: String,
    },
    /// A record that cannot stand where it is: a sign-off of another head
    /// (moved, or signed over something else), a step outside a ceremony.
    #[error("line {line}: {problem}")]
    Misplaced {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(String),
    /// The file is not UTF-8 text, so no transcript.
    #[error("{}: not UTF-8 text", path.display())]
    NotText {
        /// The file.
        path: std::path::PathBuf,
    },
}

impl TranscriptError {
    /// Its class, for the exit code.
    pub fn class(&self) -> crate::class::Class {
        use crate::class::Class;
        match self {
            TranscriptError::Io(_) => Class::Io,
            TranscriptError::NotText { .. } => Class::Input,
            _ => Class::Verification,
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            TranscriptError::Broken { .. } | TranscriptError::Misplaced { .. } => Some(
                "compare the transcript with the head the witnesses wrote down; restore it from their copy",
            ),
            _ => None,
        }
    }
}

/// Reads the transcript at `path` as text: a regular file of at most
/// [`crate::fsio::Cap::Transcript`], UTF-8.
pub fn read_text(path: &Path) -> Result<String, crate::Error> {
    let bytes = crate::fsio::read_input(path, crate::fsio::Cap::Transcript)?;
    String::from_utf8(bytes).map_err(|_| {
        TranscriptError::NotText {
            path: path.to_owned(),
        }
        .into()
    })
}

/// Reads and verifies the transcript at `path` ([`read_text`], [`verify`]).
pub fn read_verified(path: &Path) -> Result<Verified, crate::Error> {
    Ok(verify(&read_text(path)?)?)
}

impl Record {
    /// The hash of its line, which the next record's `prev` carries.
    pub fn hash(&self) -> Result<String, TranscriptError> {
        let line = serde_json::to_string(self).map_err(|e| TranscriptError::Io(e.to_string()))?;
        Ok(line_hash(&line))
    }
}

/// The hash that the next record's `prev` must carry: SHA-256 of the line.
pub fn line_hash(line: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(line.as_bytes())))
}

/// A verified transcript.
#[derive(Debug)]
pub struct Verified {
    /// Every record in order.
    pub records: Vec<Record>,
    /// The hash of the last line (what the next record names).
    pub head: String,
    /// The hash of the last line that is not an attestation (a witness
    /// sign-off or a root signature): what a witness signs now
    /// ([`witness`]), the head read aloud at the end of the ceremony, even
    /// when the root signed the transcript before the witnesses did;
    /// [`GENESIS`] for an empty transcript.
    pub ceremony_head: String,
}

impl Verified {
    /// The hash of line `seq` (0-based), recomputed from the chain: the
    /// `prev` of the next record, or the head for the last one.
    pub fn hash_of(&self, seq: usize) -> Option<&str> {
        match self.records.get(seq + 1) {
            Some(next) => Some(next.prev.as_str()),
            None if seq + 1 == self.records.len() => Some(self.head.as_str()),
            None => None,
        }
    }
}

/// Checks every line: format, sequence, chain, and each signature record
/// against its own public key. (Whether that key is the root's is for the
/// caller to compare with `root.json`.)
///
/// Also where each record stands: a sign-off must sign the ceremony head at
/// its place (so a sign-off moved elsewhere, even with the chain rebuilt
/// around it, is refused), a step must follow the command it names, and
/// step, exception and end records belong inside a ceremony.
pub fn verify(text: &str) -> Result<Verified, TranscriptError> {
    let mut prev = GENESIS.to_owned();
    let mut ceremony_head = GENESIS.to_owned();
    // The root signatures since the last record that is not an
    // attestation: sign-offs made by earlier versions of this tool signed
    // the last of them, and still stand there.
    let mut signed_heads: Vec<String> = Vec::new();
    let mut open_ceremony: Option<String> = None;
    let mut records: Vec<Record> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let record: Record =
            serde_json::from_str(line).map_err(|e| TranscriptError::Malformed {
                line: n,
                reason: e.to_string(),
            })?;
        if record.format != TRANSCRIPT_FORMAT_V1 {
            return Err(TranscriptError::Malformed {
                line: n,
                reason: format!("format {:?}", record.format),
            });
        }
        if record.seq != i as u64 {
            return Err(TranscriptError::Broken {
                line: n,
                field: "seq",
                expected: i.to_string(),
                found: record.seq.to_string(),
            });
        }
        if record.prev != prev {
            return Err(TranscriptError::Broken {
                line: n,
                field: "prev",
                expected: prev,
                found: record.prev,
            });
        }
        // A record is only accepted in the exact bytes this tool writes, so
        // the hash of a line is the hash of its content.
        let canonical = serde_json::to_string(&record).unwrap_or_default();
        if canonical != line {
            return Err(TranscriptError::Malformed {
                line: n,
                reason: "not in canonical form".into(),
            });
        }
        if let Entry::Signature {
            public_key,
            signature,
            ..
        } = &record.entry
        {
            verify_head_signature(&record.prev, public_key, signature)
                .map_err(|detail| TranscriptError::BadSignature { line: n, detail })?;
        }
        let misplaced = |problem: String| TranscriptError::Misplaced { line: n, problem };
        match &record.entry {
            Entry::SignOff { head, witness, .. }
                if *head != ceremony_head && signed_heads.last() != Some(head) =>
            {
                return Err(misplaced(format!(
                    "the sign-off of {witness} signs head {head}, but the head at this place is {ceremony_head}: it was moved, or signed over another transcript"
                )));
            }
            Entry::CeremonyStart { script, .. } => open_ceremony = Some(script.clone()),
            Entry::Step { command_seq, .. } => {
                if open_ceremony.is_none() {
                    return Err(misplaced("a step record outside a ceremony".into()));
                }
                if let Some(seq) = command_seq {
                    let before = records.last();
                    let names_it = before
                        .is_some_and(|r| r.seq == *seq && matches!(r.entry, Entry::Command { .. }));
                    if !names_it {
                        return Err(misplaced(format!(
                            "the step names command record {seq}, which is not the command record just before it"
                        )));
                    }
                }
            }
            Entry::Exception { .. } if open_ceremony.is_none() => {
                return Err(misplaced("an exception record outside a ceremony".into()));
            }
            Entry::CeremonyEnd { script, .. } => {
                if open_ceremony.as_deref() != Some(script.as_str()) {
                    return Err(misplaced(format!(
                        "the end of ceremony {script}, which did not begin here"
                    )));
                }
                open_ceremony = None;
            }
            _ => {}
        }
        prev = line_hash(line);
        match record.entry {
            Entry::SignOff { .. } => {}
            Entry::Signature { .. } => signed_heads.push(prev.clone()),
            _ => {
                ceremony_head = prev.clone();
                signed_heads.clear();
            }
        }
        records.push(record);
    }
    Ok(Verified {
        records,
        head: prev,
        ceremony_head,
    })
}

/// The root whose signing keys every signature record must be by.
#[derive(Clone, Copy, Debug)]
pub struct ExpectedSigner<'a> {
    /// Its root id.
    pub root_id: &'a str,
    /// Every signing key in the root's history, first to current. A
    /// transcript signed before a rotation of the signing key still
    /// verifies, and says with which key.
    pub keys: &'a [SignerKey],
}

/// One signing key of a root's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerKey {
    /// Base64 of the ed25519 public key (root.json `signing_public_key`).
    pub public_key: String,
    /// Which versions it signed as their own key, in words.
    pub versions: String,
    /// When the version that replaced it was made (RFC 3339 UTC, as
    /// transcripts write times), if it was replaced.
    pub replaced_at: Option<String>,
}

/// What `transcript verify` is asked to check beyond the chain.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions<'a> {
    /// Every root signature must be by this root, at least one is needed,
    /// and no record may follow the last one.
    pub signer: Option<ExpectedSigner<'a>>,
    /// The head the witnesses read aloud and wrote down: a record must
    /// have it, and only attestations may follow it.
    pub expect_head: Option<&'a Digest>,
    /// The witnesses' keys: every sign-off must verify by one, each
    /// ceremony must have its required sign-offs, and nothing but
    /// attestations may follow the last sign-off.
    pub witnesses: Option<&'a crate::handover::TrustFile>,
}

/// `transcript verify` with root signatures only: [`check_with`].
pub fn check(text: &str, signer: Option<ExpectedSigner<'_>>) -> (Option<Verified>, Report) {
    check_with(
        text,
        &CheckOptions {
            signer,
            ..CheckOptions::default()
        },
    )
}

/// `transcript verify`: the chain, then each record, then what `options`
/// asks for, as a report.
pub fn check_with(text: &str, options: &CheckOptions<'_>) -> (Option<Verified>, Report) {
    let mut report = Report::new();
    let verified = match verify(text) {
        Ok(v) => v,
        Err(e) => {
            report.record("chain", "", false, e.to_string());
            return (None, report);
        }
    };
    let signer = options.signer;
    let mut signatures = 0;
    let mut unsigned_after = 0;
    // The latest record time so far, signature records included.
    let mut latest = String::new();
    let ceremonies = witness::ceremonies(&verified);
    let sign_offs = options
        .witnesses
        .map(|trust| witness::check_sign_offs(&verified, &ceremonies, trust));
    for record in &verified.records {
        if record.time > latest {
            latest = record.time.clone();
        }
        let subject = format!("{:>4} {}", record.seq, record.time);
        if !matches!(record.entry, Entry::Signature { .. }) {
            unsigned_after += 1;
        }
        match &record.entry {
            Entry::Command {
                argv, exit_code, ..
            } => {
                report.push(
                    "record",
                    subject,
                    Status::Pass,
                    format!("exit {exit_code:<3} ceremony {}", argv.join(" ")),
                );
            }
            Entry::CeremonyStart {
                script,
                script_version,
                participants,
                ..
            } => {
                let who: Vec<String> = participants
                    .iter()
                    .map(|p| format!("{} ({})", p.name, p.role.as_str()))
                    .collect();
                report.push(
                    "ceremony",
                    subject,
                    Status::Pass,
                    format!("{script} v{script_version} begins with {}", who.join(", ")),
                );
            }
            Entry::Step {
                step,
                outcome,
                as_expected,
                ..
            } => report.push(
                "step",
                subject,
                if *as_expected {
                    Status::Pass
                } else {
                    Status::Warn
                },
                format!(
                    "{step}: {outcome}{}",
                    if *as_expected { "" } else { " (unexpected)" }
                ),
            ),
            Entry::Exception {
                step,
                exception,
                reason,
                witness,
                accepted,
                ..
            } => report.push(
                "exception",
                subject,
                Status::Warn,
                format!(
                    "{step} ({}): {} by {witness}: {reason}",
                    exception.as_str(),
                    if *accepted { "accepted" } else { "refused" }
                ),
            ),
            Entry::CeremonyEnd {
                script,
                completed,
                steps,
                exceptions,
            } => report.push(
                "ceremony",
                subject,
                if *completed {
                    Status::Pass
                } else {
                    Status::Warn
                },
                format!(
                    "{script} {} after {steps} step(s), {exceptions} exception(s)",
                    if *completed { "completed" } else { "stopped" }
                ),
            ),
            Entry::SignOff { witness, head, .. } => {
                let checked = sign_offs
                    .as_ref()
                    .and_then(|s| s.by_seq.get(&record.seq).cloned());
                match checked {
                    Some(Ok(by)) => report.record(
                        "sign-off",
                        subject,
                        true,
                        format!("{witness} signed head {head} ({by})"),
                    ),
                    Some(Err(why)) => report.record(
                        "sign-off",
                        subject,
                        false,
                        format!("the sign-off claiming {witness} is refused: {why}"),
                    ),
                    None => report.push(
                        "sign-off",
                        subject,
                        Status::Warn,
                        format!(
                            "claims {witness} signed head {head} (pass --witnesses to check it)"
                        ),
                    ),
                }
            }
            Entry::Signature {
                root_id,
                public_key,
                ..
            } => {
                signatures += 1;
                unsigned_after = 0;
                let known = signer.and_then(|expected| {
                    expected
                        .keys
                        .iter()
                        .find(|key| key.public_key == *public_key)
                        .filter(|_| root_id == expected.root_id)
                });
                match (signer, known) {
                    (Some(expected), None) => {
                        report.record(
                            "signature",
                            subject,
                            false,
                            format!(
                                "signed by a key that is not a signing key of root {}",
                                expected.root_id
                            ),
                        );
                    }
                    // A replaced key may have leaked: what it signs over
                    // records from after its replacement is not the
                    // root's word. (Times are the transcript's own; a
                    // record's time cannot be changed without breaking the
                    // chain, so the latest time so far bounds the head.)
                    (Some(_), Some(key))
                        if key
                            .replaced_at
                            .as_ref()
                            .is_some_and(|at| latest.as_str() >= at.as_str()) =>
                    {
                        report.record(
                            "signature",
                            subject,
                            false,
                            format!(
                                "signed by the signing key of root {root_id} of {}, over records made after its replacement ({}): a replaced key seals nothing after it was replaced",
                                key.versions,
                                key.replaced_at.as_deref().unwrap_or_default()
                            ),
                        );
                    }
                    (Some(_), Some(key)) => report.record(
                        "signature",
                        subject,
                        true,
                        format!("signed by the signing key of root {root_id} ({})", key.versions),
                    ),
                    (None, _) => report.push(
                        "signature",
                        subject,
                        Status::Warn,
                        format!(
                            "signed by key {} (claims root {root_id}; pass --root to check it is the root's)",
                            key_fingerprint(public_key)
                        ),
                    ),
                }
            }
        }
    }
    report.record(
        "chain",
        "",
        true,
        format!(
            "{} record(s), chain intact, {signatures} signature(s); head {}",
            verified.records.len(),
            verified.head
        ),
    );
    if let Some(expected) = signer {
        if signatures == 0 {
            report.record(
                "signed",
                "",
                false,
                format!(
                    "no record is signed by the signing key of root {}",
                    expected.root_id
                ),
            );
        } else if unsigned_after > 0 {
            report.record(
                "signed",
                "",
                false,
                format!(
                    "{unsigned_after} record(s) after the last signature: sign the transcript again"
                ),
            );
        }
    } else if unsigned_after > 0 && signatures > 0 {
        report.push(
            "signed",
            "",
            Status::Warn,
            format!("{unsigned_after} record(s) after the last signature are not covered by it"),
        );
    }
    if let Some(result) = &sign_offs {
        for line in &result.summary {
            report.record(
                "witnessed",
                line.subject.clone(),
                line.passed,
                line.detail.clone(),
            );
        }
    }
    if let Some(expected) = options.expect_head {
        let (passed, detail) = expect_head(&verified, expected);
        report.record("expected head", "", passed, detail);
    }
    (Some(verified), report)
}

/// Whether the head the witnesses wrote down is in the transcript with
/// nothing but attestations after it: records cut off after it, or added
/// after it (other than sign-offs and root signatures), are caught here.
fn expect_head(verified: &Verified, expected: &Digest) -> (bool, String) {
    let wanted = expected.to_prefixed_hex();
    if verified.records.is_empty() && wanted == GENESIS {
        return (true, "the transcript is empty, as it was".into());
    }
    let at =
        (0..verified.records.len()).find(|&seq| verified.hash_of(seq) == Some(wanted.as_str()));
    let Some(at) = at else {
        return (
            false,
            format!(
                "no record has the head {wanted} that was read aloud: records were cut off or the transcript was rewritten (its head is now {})",
                verified.head
            ),
        );
    };
    let added = verified
        .records
        .iter()
        .skip(at + 1)
        .filter(|r| !r.entry.is_attestation())
        .count();
    if added > 0 {
        return (
            false,
            format!(
                "{added} record(s) were added after the head {wanted} was read aloud (record {at})"
            ),
        );
    }
    let after = verified.records.len() - at - 1;
    (
        true,
        format!("record {at} has the head that was read aloud; {after} attestation(s) after it"),
    )
}

/// SHA-256 fingerprint of a base64 ed25519 public key, as `root show` prints.
pub fn key_fingerprint(public_key: &str) -> String {
    let raw = B64.decode(public_key).unwrap_or_default();
    format!(
        "SHA256:{}",
        B64.encode(Sha256::digest(raw)).trim_end_matches('=')
    )
}

fn verify_head_signature(head: &str, public_key: &str, signature: &str) -> Result<(), String> {
    let key: [u8; 32] = B64
        .decode(public_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ": the public key is not 32 bytes of base64".to_owned())?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| ": invalid public key".to_owned())?;
    let sig: [u8; 64] = B64
        .decode(signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| ": the signature is not 64 bytes of base64".to_owned())?;
    key.verify_strict(
        &signed_bytes(head),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .map_err(|_| String::new())
}

fn signed_bytes(head: &str) -> Vec<u8> {
    let mut bytes = SIGNING_CONTEXT.to_vec();
    bytes.extend_from_slice(head.as_bytes());
    bytes
}

/// Appends one record to the transcript at `path` (created 0644 if absent),
/// after verifying what is already there: a broken transcript is never
/// extended. The file is locked for the whole read-verify-append, so two
/// ceremonies writing at once cannot fork the chain. It must be a regular
/// file of at most [`crate::fsio::Cap::Transcript`] (a FIFO is refused, not
/// waited on), and an append that fails (a full disk) leaves the file
/// exactly as it was, so the transcript still verifies and the next append,
/// once there is room, goes through.
pub fn append(path: &Path, entry: Entry, clock: &dyn Clock) -> Result<Record, TranscriptError> {
    append_checked(path, entry, None, clock)
}

/// As [`append`], but only if the current head is `expected_head`: a
/// signature over a head that moved on would never verify.
pub fn append_if_head(
    path: &Path,
    entry: Entry,
    expected_head: &str,
    clock: &dyn Clock,
) -> Result<Record, TranscriptError> {
    append_checked(path, entry, Some(expected_head), clock)
}

fn append_checked(
    path: &Path,
    entry: Entry,
    expected_head: Option<&str>,
    clock: &dyn Clock,
) -> Result<Record, TranscriptError> {
    // The whole chain (`…: appending failed: No space left on device`):
    // the OS error is what the operator acts on.
    let io = |e: crate::fsio::FsError| TranscriptError::Io(crate::error::chain_text(&e));
    let locked =
        crate::fsio::LockedAppend::open(path, 0o644, crate::fsio::Cap::Transcript).map_err(io)?;
    let existing = locked.contents();
    if !existing.is_empty() && !existing.ends_with('\n') {
        return Err(TranscriptError::Malformed {
            line: existing.lines().count(),
            reason: "the last line is incomplete (no newline): the file was cut or edited".into(),
        });
    }
    let verified = verify(existing)?;
    if let Some(expected) = expected_head {
        if verified.head != expected {
            return Err(TranscriptError::Io(format!(
                "{}: the transcript changed while it was being signed (head {} is now {}): run the signing again",
                path.display(),
                expected,
                verified.head
            )));
        }
    }
    let record = Record {
        format: TRANSCRIPT_FORMAT_V1.into(),
        seq: verified.records.len() as u64,
        prev: verified.head,
        time: clock.now_rfc3339(),
        tool: format!("ceremony {}", env!("CARGO_PKG_VERSION")),
        entry,
    };
    let mut line =
        serde_json::to_string(&record).map_err(|e| TranscriptError::Io(e.to_string()))?;
    line.push('\n');
    // The new record must stand where it goes (a sign-off of this head, a
    // step after its command): a transcript is never made invalid.
    verify(&format!("{existing}{line}"))?;
    locked.append(&line).map_err(io)?;
    Ok(record)
}

/// The record that signs the current head with the root signing key.
pub fn signature_entry(head: &str, root_id: &str, key: &ed25519_dalek::SigningKey) -> Entry {
    use ed25519_dalek::Signer;
    Entry::Signature {
        root_id: root_id.to_owned(),
        public_key: B64.encode(key.verifying_key().to_bytes()),
        signature: B64.encode(key.sign(&signed_bytes(head)).to_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn command(argv: &[&str]) -> Entry {
        Entry::Command {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            exit_code: 0,
            outcome: "ok".into(),
        }
    }

    #[test]
    fn appends_chain_and_any_change_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, command(&["preflight"]), &SystemClock).unwrap();
        append(&path, command(&["root", "init"]), &SystemClock).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let head = verify(&std::fs::read_to_string(&path).unwrap())
            .unwrap()
            .head;
        append(&path, signature_entry(&head, "r", &key), &SystemClock).unwrap();
        append(&path, command(&["root", "verify", "r"]), &SystemClock).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let verified = verify(&text).unwrap();
        assert_eq!(verified.records.len(), 4);

        // Every single-byte change is caught: the chain breaks, or (for the
        // last record, which nothing follows yet) the head hash the witnesses
        // wrote down changes.
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let mut edited = bytes.to_vec();
            edited[i] ^= 0x01;
            if let Ok(edited) = String::from_utf8(edited) {
                match verify(&edited) {
                    Err(_) => {}
                    Ok(v) => assert_ne!(v.head, verified.head, "byte {i} went unnoticed"),
                }
            }
        }
        // Removing or swapping lines breaks the chain.
        let lines: Vec<&str> = text.lines().collect();
        let removed = [lines[0], lines[2], lines[3]].join("\n");
        assert!(matches!(
            verify(&removed),
            Err(TranscriptError::Broken { line: 2, .. })
        ));
        let swapped = [lines[1], lines[0], lines[2], lines[3]].join("\n");
        assert!(verify(&swapped).is_err());
        // A broken transcript is never extended.
        std::fs::write(&path, removed).unwrap();
        assert!(append(&path, command(&["x"]), &SystemClock).is_err());
    }

    #[test]
    fn an_incomplete_last_line_and_a_moved_head_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, command(&["a"]), &SystemClock).unwrap();
        let head = verify(&std::fs::read_to_string(&path).unwrap())
            .unwrap()
            .head;
        append(&path, command(&["b"]), &SystemClock).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let err = append_if_head(
            &path,
            signature_entry(&head, "r", &key),
            &head,
            &SystemClock,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("changed while it was being signed"),
            "{err}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.trim_end()).unwrap();
        assert!(matches!(
            append(&path, command(&["c"]), &SystemClock),
            Err(TranscriptError::Malformed { .. })
        ));
        // A symlink is not followed.
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(append(&link, command(&["d"]), &SystemClock).is_err());
    }

    #[test]
    fn a_transcript_that_is_not_a_regular_file_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("t.jsonl");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Refused at once: nothing waits for a writer on the other end.
        let err = append(&fifo, command(&["a"]), &SystemClock).unwrap_err();
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        // The operating system's reason is part of the message.
        let missing = dir.path().join("no/such/dir/t.jsonl");
        let err = append(&missing, command(&["a"]), &SystemClock).unwrap_err();
        assert!(
            err.to_string().contains("No such file or directory"),
            "{err}"
        );
    }

    #[test]
    fn a_signature_over_another_head_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, command(&["a"]), &SystemClock).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        // Signed over the genesis hash, but placed after record 0: refused
        // before it is written, and caught by verify if written by hand.
        let before = std::fs::read_to_string(&path).unwrap();
        let err = append(&path, signature_entry(GENESIS, "r", &key), &SystemClock).unwrap_err();
        assert!(
            matches!(err, TranscriptError::BadSignature { line: 2, .. }),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        let record = Record {
            format: TRANSCRIPT_FORMAT_V1.into(),
            seq: 1,
            prev: verify(&before).unwrap().head,
            time: SystemClock.now_rfc3339(),
            tool: "ceremony 0.1.0".into(),
            entry: signature_entry(GENESIS, "r", &key),
        };
        let forged = format!("{before}{}\n", serde_json::to_string(&record).unwrap());
        let err = verify(&forged).unwrap_err();
        assert!(
            matches!(err, TranscriptError::BadSignature { line: 2, .. }),
            "{err}"
        );
    }

    fn step(command_seq: Option<u64>) -> Entry {
        Entry::Step {
            step: "s".into(),
            title: "S".into(),
            action: StepAction::Run,
            expected: "exit 0".into(),
            outcome: "exit 0".into(),
            as_expected: true,
            command_seq,
            present: vec!["olga".into()],
        }
    }

    fn start() -> Entry {
        Entry::CeremonyStart {
            script: "demo".into(),
            script_version: 1,
            script_sha256: GENESIS.into(),
            title: "Demo".into(),
            participants: vec![Participant {
                name: "olga".into(),
                role: Role::Operator,
            }],
            params: Vec::new(),
            sign_offs: 1,
        }
    }

    #[test]
    fn ceremony_records_must_stand_where_they_belong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        // A step outside a ceremony is refused before it is written.
        assert!(matches!(
            append(&path, step(None), &SystemClock),
            Err(TranscriptError::Misplaced { line: 1, .. })
        ));
        append(&path, start(), &SystemClock).unwrap();
        append(&path, command(&["preflight"]), &SystemClock).unwrap();
        // A step must name the command record just before it.
        assert!(matches!(
            append(&path, step(Some(0)), &SystemClock),
            Err(TranscriptError::Misplaced { line: 3, .. })
        ));
        append(&path, step(Some(1)), &SystemClock).unwrap();
        let end = Entry::CeremonyEnd {
            script: "other".into(),
            completed: true,
            steps: 1,
            exceptions: 0,
        };
        assert!(append(&path, end, &SystemClock).is_err());
        let end = Entry::CeremonyEnd {
            script: "demo".into(),
            completed: true,
            steps: 1,
            exceptions: 0,
        };
        append(&path, end, &SystemClock).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let verified = verify(&text).unwrap();
        assert_eq!(verified.head, verified.ceremony_head);
        // A sign-off must sign the ceremony head at its place.
        let sign_off = |head: &str| Entry::SignOff {
            head: head.into(),
            witness: "wanda".into(),
            keyid: "sshsig:SHA256:x".into(),
            signature: String::new(),
        };
        assert!(matches!(
            append(&path, sign_off(GENESIS), &SystemClock),
            Err(TranscriptError::Misplaced { line: 5, .. })
        ));
        append(&path, sign_off(&verified.head), &SystemClock).unwrap();
        append(&path, sign_off(&verified.head), &SystemClock).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let after = verify(&text).unwrap();
        assert_eq!(after.ceremony_head, verified.head);
        assert_ne!(after.head, verified.head);
        assert_eq!(after.hash_of(3), Some(verified.head.as_str()));
        // The head read aloud, with only sign-offs after it, is found.
        let digest = Digest::parse(&verified.head).unwrap();
        let options = CheckOptions {
            expect_head: Some(&digest),
            ..CheckOptions::default()
        };
        let (_, report) = check_with(&text, &options);
        assert!(report.passed(), "{report:?}");
        let first_lines: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        let (_, report) = check_with(&first_lines, &options);
        assert!(!report.passed());
    }
}
