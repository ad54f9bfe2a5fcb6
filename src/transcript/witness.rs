//! Witness sign-offs: each witness signs the ceremony head with their own
//! key, and the signature is kept in the transcript as a record.
//!
//! What a witness signs is a short text that names the head in hex and in
//! words ([`crate::words`]) and names the witness, wrapped in the DSSE
//! pre-authentication encoding under its own payload type, so that it can
//! never be mistaken for a handover receipt (which is signed the same way):
//!
//! ```text
//! DSSEv1 48 application/vnd.ceremony.witness-signoff.v1+text 274 ceremony witness sign-off
//! head: sha256:<64 hex digits>
//! words: <32 words>
//! witness: <name>
//! ```
//!
//! `transcript head FILE --witness NAME` prints exactly these bytes; the
//! witness signs them with `ssh-keygen -Y sign -n ceremony-witness-signoff`
//! or `minisign -S`, and `transcript sign-off` attaches the signature as a
//! `sign-off` record. The signature schemes, their canonical forms and the
//! TRUSTFILE that lists the witnesses' keys are the handover receipts' own
//! ([`crate::handover::scheme`], [`crate::handover::trust`]): one verifier,
//! [`crate::handover::verify`], checks both, with this module's SSHSIG
//! namespace.
//!
//! The head a witness signs is the *ceremony head*: the hash of the last
//! record before the run of sign-offs it joins. Every witness of a ceremony
//! therefore signs the same head, the one read aloud at its end, and a
//! sign-off moved to another place no longer matches the head there
//! ([`super::verify`] refuses it). A sign-off verifies only if the witness
//! it names is the name of the TRUSTFILE line whose key made it (one of its
//! principals, for `sshsig`), and, after a scripted ceremony, a witness in
//! its roster.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Entry, Record, Role, Verified};
use crate::handover::dsse::{Envelope, Signature};
use crate::handover::{Scheme, TrustFile, VerifyPolicy};
use crate::words::Digest;

/// The DSSE payload type of a sign-off statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.ceremony.witness-signoff.v1+text";

/// The SSHSIG namespace of sign-offs: `ssh-keygen -Y sign -n
/// ceremony-witness-signoff`. PROTOCOL.sshsig: a signature made for one
/// purpose is not accepted for another.
pub const NAMESPACE: &str = "ceremony-witness-signoff";

/// Whether `name` can name a participant: 1 to 64 characters of ASCII
/// letters, digits and `.`, `_`, `@`, `-`, starting with a letter or digit.
/// Names are printed, signed and written in the paper log: nothing in them
/// may be mistaken for something else.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

/// The statement a witness signs (the DSSE payload).
pub fn statement(head: &Digest, witness: &str) -> Vec<u8> {
    format!(
        "ceremony witness sign-off\nhead: {}\nwords: {}\nwitness: {witness}\n",
        head.to_prefixed_hex(),
        head.words()
    )
    .into_bytes()
}

/// The exact bytes a witness signs: the PAE of [`statement`].
pub fn to_sign(head: &Digest, witness: &str) -> Vec<u8> {
    envelope(head, witness).pae()
}

fn envelope(head: &Digest, witness: &str) -> Envelope {
    Envelope::unsigned(PAYLOAD_TYPE, statement(head, witness))
}

/// A sign-off that cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignOffError {
    /// Not a name ceremony accepts.
    #[error(
        "{0:?} is not a witness name: use 1 to 64 letters, digits, `.`, `_`, `@` or `-`, starting with a letter or digit"
    )]
    Name(String),
    /// The signature file is not a signature of its scheme.
    #[error(transparent)]
    Signature(#[from] crate::handover::sign::AttachError),
    /// The signature file is neither an SSH signature nor a minisign one.
    #[error(
        "the signature file is neither an SSH signature (`-----BEGIN SSH SIGNATURE-----`) nor a minisign signature (`untrusted comment: …`)"
    )]
    UnknownScheme,
    /// Only SSHSIG and minisign: a witness signs with a key of their own.
    #[error("witnesses sign with sshsig (ssh-keygen -Y sign) or minisign, not {0}")]
    SchemeNotForWitnesses(Scheme),
    /// The head the witness read is no longer the transcript's.
    #[error(
        "{}: the head the witness signed ({given}) is not the ceremony head of the transcript ({now}): something was added or cut off since it was read",
        transcript.display()
    )]
    HeadMoved {
        /// The transcript.
        transcript: std::path::PathBuf,
        /// The head the witness read.
        given: Digest,
        /// Its ceremony head now.
        now: Digest,
    },
    /// This witness signed this head off already.
    #[error("{}: {witness} has already signed off this head", transcript.display())]
    AlreadySigned {
        /// The transcript.
        transcript: std::path::PathBuf,
        /// The witness.
        witness: String,
    },
    /// The signature does not verify against the witnesses' TRUSTFILE.
    #[error(
        "{source_name}: the sign-off of {witness} does not verify: {why}; nothing was attached"
    )]
    DoesNotVerify {
        /// The signature file.
        source_name: String,
        /// The witness.
        witness: String,
        /// Why.
        why: String,
    },
}

impl SignOffError {
    /// Its class, for the exit code.
    pub fn class(&self) -> crate::class::Class {
        match self {
            SignOffError::Name(_) | SignOffError::SchemeNotForWitnesses(_) => {
                crate::class::Class::Usage
            }
            SignOffError::Signature(_) | SignOffError::UnknownScheme => crate::class::Class::Input,
            SignOffError::AlreadySigned { .. } => crate::class::Class::Usage,
            SignOffError::HeadMoved { .. } | SignOffError::DoesNotVerify { .. } => {
                crate::class::Class::Verification
            }
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            SignOffError::Signature(_) | SignOffError::UnknownScheme => Some(
                "give the file `ssh-keygen -Y sign -n ceremony-witness-signoff` or `minisign -S` wrote (docs/witness-guide.md)",
            ),
            _ => None,
        }
    }
}

/// The scheme of a signature file as the signing tools write it.
pub fn detect_scheme(signature_file: &[u8]) -> Result<Scheme, SignOffError> {
    let text = String::from_utf8_lossy(signature_file);
    let text = text.trim_start();
    if text.starts_with("-----BEGIN SSH SIGNATURE-----") || signature_file.starts_with(b"SSHSIG") {
        Ok(Scheme::Sshsig)
    } else if text.starts_with("untrusted comment:") {
        Ok(Scheme::Minisign)
    } else {
        Err(SignOffError::UnknownScheme)
    }
}

/// The `sign-off` record for `witness`'s signature file over `head`, in
/// the canonical form handover receipts use. The signature is not checked
/// here ([`verify_sign_off`] does, against a TRUSTFILE).
pub fn sign_off_entry(
    head: &Digest,
    witness: &str,
    scheme: Scheme,
    signature_file: &[u8],
) -> Result<Entry, SignOffError> {
    if !valid_name(witness) {
        return Err(SignOffError::Name(witness.to_owned()));
    }
    if !matches!(scheme, Scheme::Sshsig | Scheme::Minisign) {
        return Err(SignOffError::SchemeNotForWitnesses(scheme));
    }
    let mut envelope = envelope(head, witness);
    crate::handover::attach_signature(&mut envelope, scheme, signature_file)?;
    let signature = envelope
        .signatures
        .pop()
        .ok_or(SignOffError::UnknownScheme)?;
    Ok(Entry::SignOff {
        head: head.to_prefixed_hex(),
        witness: witness.to_owned(),
        keyid: signature.keyid.unwrap_or_default(),
        signature: B64.encode(&signature.sig),
    })
}

/// A sign-off attached to a transcript.
#[derive(Debug)]
pub struct Attached {
    /// The head signed off.
    pub head: Digest,
    /// Its record.
    pub record: Record,
    /// Who signed, in words, when a TRUSTFILE checked it.
    pub verified_by: Option<String>,
}

/// A witness's signature to attach ([`attach_sign_off`]).
#[derive(Clone, Copy, Debug)]
pub struct SignOffRequest<'a> {
    /// The witness.
    pub witness: &'a str,
    /// Their signature file (sshsig or minisign).
    pub signature_file: &'a [u8],
    /// What names the signature file in errors.
    pub source_name: &'a str,
    /// The ceremony head the witness read, if they gave it: refused if it
    /// is not the transcript's any more.
    pub expected_head: Option<&'a Digest>,
    /// The witnesses' TRUSTFILE, to check the signature against.
    pub trust: Option<&'a TrustFile>,
    /// The transcript's full head the caller left it at (`ceremony run`):
    /// nothing is attached after a record the caller did not see.
    pub after: Option<&'a str>,
}

/// Attaches a witness's signature over the ceremony head of the
/// transcript at `path` as a sign-off record. Refused, with nothing
/// written: when `expected_head` is not that head any more; when the
/// transcript moved on from `after`; when the witness signed it off
/// already; and, given `trust`, when the signature does not verify
/// against it. The record is appended only if the transcript did not move
/// meanwhile.
pub fn attach_sign_off(
    path: &Path,
    request: &SignOffRequest<'_>,
    clock: &dyn crate::clock::Clock,
) -> Result<Attached, crate::Error> {
    let witness = request.witness;
    let verified = crate::transcript::read_verified(path)?;
    if let Some(after) = request.after.filter(|after| *after != verified.head) {
        return Err(crate::transcript::TranscriptError::Io(format!(
            "{}: the transcript moved on from head {after} (it is now {}): nothing was attached",
            path.display(),
            verified.head
        ))
        .into());
    }
    let head = Digest::parse(&verified.ceremony_head).map_err(|e| {
        crate::transcript::TranscriptError::Malformed {
            line: verified.records.len(),
            reason: format!("its ceremony head: {e}"),
        }
    })?;
    if let Some(given) = request.expected_head.filter(|given| **given != head) {
        return Err(SignOffError::HeadMoved {
            transcript: path.to_owned(),
            given: *given,
            now: head,
        }
        .into());
    }
    let prefixed = head.to_prefixed_hex();
    let already = verified.records.iter().any(|r| {
        matches!(&r.entry, Entry::SignOff { head, witness: w, .. } if *head == prefixed && w == witness)
    });
    if already {
        return Err(SignOffError::AlreadySigned {
            transcript: path.to_owned(),
            witness: witness.to_owned(),
        }
        .into());
    }
    let scheme = detect_scheme(request.signature_file)?;
    let entry = sign_off_entry(&head, witness, scheme, request.signature_file)?;
    let verified_by = match (request.trust, &entry) {
        (
            Some(trust),
            Entry::SignOff {
                head,
                keyid,
                signature,
                ..
            },
        ) => Some(
            verify_sign_off(head, witness, keyid, signature, trust).map_err(|why| {
                SignOffError::DoesNotVerify {
                    source_name: request.source_name.to_owned(),
                    witness: witness.to_owned(),
                    why,
                }
            })?,
        ),
        _ => None,
    };
    let record = crate::transcript::append_if_head(path, entry, &verified.head, clock)?;
    Ok(Attached {
        head,
        record,
        verified_by,
    })
}

/// Checks one sign-off against the witnesses' TRUSTFILE: the signature by
/// a trusted key, over the statement of `head` and `witness`, and the
/// witness the name of that key's line. Returns who signed, in words.
pub fn verify_sign_off(
    head: &str,
    witness: &str,
    keyid: &str,
    signature: &str,
    trust: &TrustFile,
) -> Result<String, String> {
    verify_sign_off_by(head, witness, keyid, signature, trust).map(|by| signed_by(&by))
}

/// Who signed, in words.
fn signed_by(by: &crate::handover::verify::VerifiedBy) -> String {
    format!(
        "{} key {}, TRUSTFILE line {}",
        by.scheme, by.key, by.trust_line
    )
}

/// [`verify_sign_off`], returning the key that made it.
fn verify_sign_off_by(
    head: &str,
    witness: &str,
    keyid: &str,
    signature: &str,
    trust: &TrustFile,
) -> Result<crate::handover::verify::VerifiedBy, String> {
    let head = Digest::parse(head).map_err(|e| format!("the head it names: {e}"))?;
    let sig = B64
        .decode(signature)
        .map_err(|_| "the signature is not base64".to_owned())?;
    let mut envelope = envelope(&head, witness);
    envelope.signatures.push(Signature {
        keyid: Some(keyid.to_owned()),
        sig,
    });
    let policy = VerifyPolicy {
        sshsig_namespace: NAMESPACE.to_owned(),
        allow_legacy_minisign: false,
        authority: None,
    };
    let by = crate::handover::verify_with_policy(&envelope, trust, &policy)
        .map_err(|e| e.to_string())?;
    // As when it is attached (`sign_off_entry`): a TRUSTFILE shared with
    // handover receipts may hold a runtime's ed25519 or transit key, which
    // signs what its holder asks, and is never a witness's.
    if !matches!(by.scheme, Scheme::Sshsig | Scheme::Minisign) {
        return Err(format!(
            "it is signed by a {} key (TRUSTFILE line {}): witnesses sign with sshsig or minisign, with a key of their own",
            by.scheme, by.trust_line
        ));
    }
    let names_it = by.key_name == witness || by.key_name.split(',').any(|n| n == witness);
    if !names_it {
        return Err(format!(
            "it is signed by {} (TRUSTFILE line {}), not by {witness}",
            by.key_name, by.trust_line
        ));
    }
    Ok(by)
}

/// One scripted ceremony in a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ceremony {
    /// The script's name.
    pub script: String,
    /// The `seq` of its start record.
    pub start: u64,
    /// The `seq` and hash of its end record, if it has one.
    pub end: Option<(u64, String)>,
    /// Whether it completed.
    pub completed: bool,
    /// The witnesses of its roster.
    pub witnesses: Vec<String>,
    /// How many must sign off its head.
    pub sign_offs: u32,
}

/// Every scripted ceremony of a verified transcript, in order.
pub fn ceremonies(verified: &Verified) -> Vec<Ceremony> {
    let mut out: Vec<Ceremony> = Vec::new();
    for record in &verified.records {
        match &record.entry {
            Entry::CeremonyStart {
                script,
                participants,
                sign_offs,
                ..
            } => out.push(Ceremony {
                script: script.clone(),
                start: record.seq,
                end: None,
                completed: false,
                witnesses: participants
                    .iter()
                    .filter(|p| p.role == Role::Witness)
                    .map(|p| p.name.clone())
                    .collect(),
                sign_offs: *sign_offs,
            }),
            Entry::CeremonyEnd { completed, .. } => {
                if let Some(last) = out.last_mut() {
                    let hash = usize::try_from(record.seq)
                        .ok()
                        .and_then(|seq| verified.hash_of(seq))
                        .unwrap_or_default()
                        .to_owned();
                    last.end = Some((record.seq, hash));
                    last.completed = *completed;
                }
            }
            _ => {}
        }
    }
    out
}

/// The heads a witness's sign-off of ceremony `c` may sign: the hash of
/// its end record, which is read aloud, and that of each root signature
/// right after it (with only attestations between), which earlier
/// versions of this tool had witnesses sign. All vouch for the same
/// records. None for a ceremony without an end.
fn heads_of(verified: &Verified, c: &Ceremony) -> Vec<String> {
    let Some((end, hash)) = &c.end else {
        return Vec::new();
    };
    let mut heads = vec![hash.clone()];
    let after = usize::try_from(*end).map_or(usize::MAX, |e| e.saturating_add(1));
    for (seq, record) in verified.records.iter().enumerate().skip(after) {
        if !record.entry.is_attestation() {
            break;
        }
        if matches!(record.entry, Entry::Signature { .. }) {
            heads.extend(verified.hash_of(seq).map(str::to_owned));
        }
    }
    heads
}

/// A line of the witnesses' summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryLine {
    /// What it is about (a ceremony), or empty.
    pub subject: String,
    /// Whether it holds.
    pub passed: bool,
    /// Why.
    pub detail: String,
}

/// Every sign-off checked against the TRUSTFILE.
#[derive(Clone, Debug, Default)]
pub struct SignOffCheck {
    /// Per sign-off record (`seq`): who signed, or why it is refused.
    pub by_seq: BTreeMap<u64, Result<String, String>>,
    /// Per ceremony: whether it has the sign-offs it requires; and for the
    /// transcript, whether anything follows the last sign-off.
    pub summary: Vec<SummaryLine>,
}

/// Checks every sign-off of `verified` against `trust`, and what the
/// ceremonies in it require: see the module documentation.
pub fn check_sign_offs(
    verified: &Verified,
    ceremonies: &[Ceremony],
    trust: &TrustFile,
) -> SignOffCheck {
    let mut result = SignOffCheck::default();
    // Who signed which head (only sign-offs that verify), and with which
    // key: each counts once, by a key no other witness signed it with.
    let mut signed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut keys: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut last_sign_off = None;
    for record in &verified.records {
        let Entry::SignOff {
            head,
            witness,
            keyid,
            signature,
        } = &record.entry
        else {
            continue;
        };
        last_sign_off = Some(record.seq);
        let ceremony = ceremonies
            .iter()
            .rev()
            .find(|c| heads_of(verified, c).iter().any(|h| h == head));
        let mut checked = verify_sign_off_by(head, witness, keyid, signature, trust);
        if let (Ok(_), Some(c)) = (&checked, ceremony) {
            if !c.witnesses.iter().any(|w| w == witness) {
                checked = Err(format!(
                    "{witness} is not a witness of ceremony {} (record {}), whose head it signs",
                    c.script, c.start
                ));
            }
        }
        // Every head that vouches for a ceremony counts as its end's:
        // one key signing the end as one witness and a root signature
        // after it as another is still one key.
        let counted_head = ceremony
            .and_then(|c| c.end.as_ref())
            .map_or(head, |(_, end_hash)| end_hash);
        if let Ok(by) = &checked {
            let key = format!("{} key {}", by.scheme, by.key);
            let by_key = keys.entry(counted_head.clone()).or_default();
            match by_key.iter().find(|(k, w)| *k == key && w != witness) {
                Some((_, other)) => {
                    checked = Err(format!(
                        "it is made by {key}, which signed this head as {other} already: each witness signs with a key of their own"
                    ));
                }
                None => by_key.push((key, witness.clone())),
            }
        }
        let checked = checked.map(|by| signed_by(&by));
        if checked.is_ok() {
            let names = signed.entry(counted_head.clone()).or_default();
            if !names.contains(witness) {
                names.push(witness.clone());
            }
        }
        result.by_seq.insert(record.seq, checked);
    }
    for c in ceremonies {
        let subject = format!("{} (record {})", c.script, c.start);
        let Some((end, hash)) = &c.end else {
            result.summary.push(SummaryLine {
                subject,
                passed: false,
                detail: "the ceremony has no end record: it was interrupted, or its end was cut off; witnesses sign a ceremony that ended".into(),
            });
            continue;
        };
        let names = signed.get(hash).cloned().unwrap_or_default();
        let need = usize::try_from(c.sign_offs).unwrap_or(usize::MAX);
        let who = if names.is_empty() {
            "no witness".to_owned()
        } else {
            names.join(", ")
        };
        result.summary.push(SummaryLine {
            subject,
            passed: names.len() >= need,
            detail: format!(
                "head {hash} (after record {end}) signed off by {who}: {} of {} required",
                names.len(),
                c.sign_offs
            ),
        });
    }
    match last_sign_off {
        None => result.summary.push(SummaryLine {
            subject: String::new(),
            passed: false,
            detail: "no witness signed off the transcript".into(),
        }),
        Some(last) => {
            let after = verified
                .records
                .iter()
                .filter(|r| r.seq > last && !r.entry.is_attestation())
                .count();
            if after > 0 {
                result.summary.push(SummaryLine {
                    subject: String::new(),
                    passed: false,
                    detail: format!(
                        "{after} record(s) after the last witness sign-off: no witness vouched for them"
                    ),
                });
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        for good in ["bob", "alice.smith", "a-b_c@example.org", "7"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "-bob", "bob smith", "bob\n", "bøb", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_statement_names_head_words_and_witness() {
        let head = Digest::of(b"t");
        let text = String::from_utf8(statement(&head, "bob")).unwrap();
        assert_eq!(
            text,
            format!(
                "ceremony witness sign-off\nhead: {}\nwords: {}\nwitness: bob\n",
                head.to_prefixed_hex(),
                head.words()
            )
        );
        let pae = to_sign(&head, "bob");
        assert!(
            pae.starts_with(format!("DSSEv1 {} {PAYLOAD_TYPE} ", PAYLOAD_TYPE.len()).as_bytes())
        );
        assert!(pae.ends_with(text.as_bytes()));
        // Another witness or head, other bytes.
        assert_ne!(pae, to_sign(&head, "carol"));
        assert_ne!(pae, to_sign(&Digest::of(b"u"), "bob"));
    }

    #[test]
    fn only_witness_schemes_and_names() {
        let head = Digest::of(b"t");
        assert!(matches!(
            sign_off_entry(&head, "bob", Scheme::Ed25519, &[0; 64]),
            Err(SignOffError::SchemeNotForWitnesses(Scheme::Ed25519))
        ));
        assert!(matches!(
            sign_off_entry(&head, "bob carol", Scheme::Sshsig, b""),
            Err(SignOffError::Name(_))
        ));
        assert!(matches!(
            detect_scheme(b"hello"),
            Err(SignOffError::UnknownScheme)
        ));
    }

    use crate::clock::SystemClock;
    use crate::handover::Ed25519SigningKey;
    use crate::transcript::{Participant, append, verify};

    /// A finished ceremony of `witnesses` that needs `sign_offs`, in a new
    /// transcript; returns its path and ceremony head.
    fn ended_ceremony(
        dir: &std::path::Path,
        witnesses: &[&str],
        sign_offs: u32,
    ) -> (std::path::PathBuf, Digest) {
        let path = dir.join("t.jsonl");
        let mut participants = vec![Participant {
            name: "olga".into(),
            role: Role::Operator,
        }];
        participants.extend(witnesses.iter().map(|w| Participant {
            name: (*w).into(),
            role: Role::Witness,
        }));
        let start = Entry::CeremonyStart {
            script: "demo".into(),
            script_version: 1,
            script_sha256: super::super::GENESIS.into(),
            title: "Demo".into(),
            participants,
            params: Vec::new(),
            sign_offs,
        };
        append(&path, start, &SystemClock).unwrap();
        let end = Entry::CeremonyEnd {
            script: "demo".into(),
            completed: true,
            steps: 0,
            exceptions: 0,
        };
        append(&path, end, &SystemClock).unwrap();
        let head = verify(&std::fs::read_to_string(&path).unwrap())
            .unwrap()
            .ceremony_head;
        (path, Digest::parse(&head).unwrap())
    }

    /// The sign-off record of `witness` over `head`, signed with `key` in
    /// `scheme` (sshsig, or plain ed25519 as handover receipts are).
    fn signed(head: &Digest, witness: &str, key: &Ed25519SigningKey, ssh: bool) -> Entry {
        let mut envelope = envelope(head, witness);
        if ssh {
            crate::handover::sign_sshsig(&mut envelope, key, NAMESPACE).unwrap();
        } else {
            crate::handover::sign_ed25519(&mut envelope, key).unwrap();
        }
        let signature = envelope.signatures.pop().unwrap();
        Entry::SignOff {
            head: head.to_prefixed_hex(),
            witness: witness.into(),
            keyid: signature.keyid.unwrap(),
            signature: B64.encode(&signature.sig),
        }
    }

    fn checked(path: &std::path::Path, trust: &str) -> SignOffCheck {
        let verified = verify(&std::fs::read_to_string(path).unwrap()).unwrap();
        let trust = TrustFile::parse("witnesses.trust", trust.as_bytes()).unwrap();
        check_sign_offs(&verified, &ceremonies(&verified), &trust)
    }

    /// Witnesses sign with a key of their own, by ssh-keygen or minisign:
    /// a plain ed25519 key (a runtime's receipt key, in a TRUSTFILE shared
    /// with handover receipts) is not a witness's, whatever its line names.
    #[test]
    fn a_receipt_scheme_key_cannot_sign_off() {
        let dir = tempfile::tempdir().unwrap();
        let (path, head) = ended_ceremony(dir.path(), &["wanda"], 1);
        let runtime = Ed25519SigningKey::generate("runtime");
        append(&path, signed(&head, "wanda", &runtime, false), &SystemClock).unwrap();
        let trust = format!("{}\n", runtime.ed25519_trust_line("prod", "wanda"));
        let result = checked(&path, &trust);
        let why = result.by_seq.get(&2).unwrap().as_ref().unwrap_err();
        assert!(why.contains("sshsig or minisign"), "{why}");
        assert!(
            result.summary.iter().any(|l| !l.passed),
            "{:?}",
            result.summary
        );
    }

    /// Every sign-off a ceremony requires is by another witness's key: one
    /// key whose TRUSTFILE line names two witnesses (`sshsig wanda,walt …`)
    /// counts once, not once per name it signs as.
    #[test]
    fn one_key_signing_as_two_witnesses_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let (path, head) = ended_ceremony(dir.path(), &["wanda", "walt"], 2);
        let key = Ed25519SigningKey::generate("wanda@laptop");
        append(&path, signed(&head, "wanda", &key, true), &SystemClock).unwrap();
        append(&path, signed(&head, "walt", &key, true), &SystemClock).unwrap();
        let trust = format!(
            "sshsig wanda,walt namespaces=\"{NAMESPACE}\" {}\n",
            key.openssh_public_key().unwrap()
        );
        let result = checked(&path, &trust);
        assert!(result.by_seq.get(&2).unwrap().is_ok(), "{result:?}");
        let why = result.by_seq.get(&3).unwrap().as_ref().unwrap_err();
        assert!(why.contains("signed this head as wanda"), "{why}");
        let ceremony = &result.summary[0];
        assert!(
            !ceremony.passed && ceremony.detail.contains("1 of 2 required"),
            "{ceremony:?}"
        );
        // Two keys, two witnesses: both count.
        let dir = tempfile::tempdir().unwrap();
        let (path, head) = ended_ceremony(dir.path(), &["wanda", "walt"], 2);
        let other = Ed25519SigningKey::generate("walt@laptop");
        append(&path, signed(&head, "wanda", &key, true), &SystemClock).unwrap();
        append(&path, signed(&head, "walt", &other, true), &SystemClock).unwrap();
        let trust = format!(
            "{trust}sshsig walt namespaces=\"{NAMESPACE}\" {}\n",
            other.openssh_public_key().unwrap()
        )
        .replace("wanda,walt", "wanda");
        let result = checked(&path, &trust);
        assert!(result.summary.iter().all(|l| l.passed), "{result:?}");
    }

    /// The root may sign a transcript before its witnesses do: they still
    /// sign the head read aloud at the ceremony's end, and it counts. A
    /// sign-off of the root signature's own head (as earlier versions had
    /// witnesses sign) counts for the same ceremony.
    #[test]
    fn a_root_signature_before_the_sign_offs_leaves_the_head_they_sign() {
        let dir = tempfile::tempdir().unwrap();
        let (path, head) = ended_ceremony(dir.path(), &["wanda", "walt"], 2);
        let root_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let text = std::fs::read_to_string(&path).unwrap();
        let full_head = verify(&text).unwrap().head;
        let signature = crate::transcript::signature_entry(&full_head, "root", &root_key);
        append(&path, signature, &SystemClock).unwrap();
        let after_signature = verify(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            after_signature.ceremony_head,
            head.to_prefixed_hex(),
            "what witnesses sign is still the end's head"
        );

        let wanda = Ed25519SigningKey::generate("wanda@laptop");
        let walt = Ed25519SigningKey::generate("walt@laptop");
        append(&path, signed(&head, "wanda", &wanda, true), &SystemClock).unwrap();
        // walt signs the root signature's head, as earlier versions asked.
        let signature_head = Digest::parse(&after_signature.head).unwrap();
        append(
            &path,
            signed(&signature_head, "walt", &walt, true),
            &SystemClock,
        )
        .unwrap();
        let trust = format!(
            "sshsig wanda namespaces=\"{NAMESPACE}\" {}\nsshsig walt namespaces=\"{NAMESPACE}\" {}\n",
            wanda.openssh_public_key().unwrap(),
            walt.openssh_public_key().unwrap()
        );
        let result = checked(&path, &trust);
        assert!(result.by_seq.get(&3).unwrap().is_ok(), "{result:?}");
        assert!(result.by_seq.get(&4).unwrap().is_ok(), "{result:?}");
        let ceremony = &result.summary[0];
        assert!(
            ceremony.passed && ceremony.detail.contains("wanda, walt: 2 of 2 required"),
            "{ceremony:?}"
        );
        assert!(result.summary.iter().all(|l| l.passed), "{result:?}");

        // One key signing the end as wanda and the root signature as walt
        // is one key: it counts once.
        let dir2 = tempfile::tempdir().unwrap();
        let (path2, head2) = ended_ceremony(dir2.path(), &["wanda", "walt"], 2);
        append(&path2, signed(&head2, "wanda", &wanda, true), &SystemClock).unwrap();
        let text2 = std::fs::read_to_string(&path2).unwrap();
        let full2 = verify(&text2).unwrap().head;
        let signature = crate::transcript::signature_entry(&full2, "root", &root_key);
        append(&path2, signature, &SystemClock).unwrap();
        let signed_head = Digest::parse(
            &verify(&std::fs::read_to_string(&path2).unwrap())
                .unwrap()
                .head,
        )
        .unwrap();
        append(
            &path2,
            signed(&signed_head, "walt", &wanda, true),
            &SystemClock,
        )
        .unwrap();
        let shared = format!(
            "sshsig wanda,walt namespaces=\"{NAMESPACE}\" {}\n",
            wanda.openssh_public_key().unwrap()
        );
        let result = checked(&path2, &shared);
        let why = result.by_seq.get(&4).unwrap().as_ref().unwrap_err();
        assert!(why.contains("signed this head as wanda"), "{why}");
        assert!(
            result.summary[0].detail.contains("1 of 2 required"),
            "{:?}",
            result.summary
        );

        // A sign-off of any other head (here the start's) is still misplaced.
        let text = std::fs::read_to_string(&path).unwrap();
        let start_head = verify(&text).unwrap().hash_of(0).unwrap().to_owned();
        let stray = signed(&Digest::parse(&start_head).unwrap(), "wanda", &wanda, true);
        let mut line = serde_json::to_string(&crate::transcript::Record {
            format: crate::transcript::TRANSCRIPT_FORMAT_V1.into(),
            seq: 5,
            prev: verify(&text).unwrap().head,
            time: "2026-12-01T00:00:00Z".into(),
            tool: "ceremony test".into(),
            entry: stray,
        })
        .unwrap();
        line.push('\n');
        assert!(matches!(
            verify(&format!("{text}{line}")),
            Err(crate::transcript::TranscriptError::Misplaced { line: 6, .. })
        ));
    }
}
