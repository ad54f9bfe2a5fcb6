//! The ceremony's hold on its transcript while it runs.
//!
//! Between two of the ceremony's records, only a step's own command may
//! append one: a record made by anything else (a command in another shell,
//! a line written by hand) would stand inside the ceremony, under the head
//! the witnesses read aloud and sign, as if it were part of it. So a
//! [`Recorder`] remembers the head the ceremony left the transcript at,
//! and every append, and every look at the transcript, first checks that
//! it is still as the ceremony left it.

use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::transcript::{self, Entry, Record, Verified, witness};

/// The ceremony's transcript, and the head it left it at.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    head: String,
}

impl Recorder {
    /// Holds the transcript at `path` (which need not exist yet: the
    /// ceremony's start creates it). One that does not verify is refused
    /// now, before anyone is asked anything: it is never extended.
    pub fn open(path: &Path) -> Result<Self, crate::Error> {
        let head = if path.exists() {
            transcript::read_verified(path)?.head
        } else {
            transcript::GENESIS.to_owned()
        };
        Ok(Self {
            path: path.to_owned(),
            head,
        })
    }

    /// The transcript's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The transcript, verified; refused ([`super::Error::Interfered`]) if
    /// anything was appended since the ceremony's last record (or the
    /// record of its step's command).
    pub fn current(&self) -> Result<Verified, crate::Error> {
        if self.head == transcript::GENESIS && !self.path.exists() {
            return Ok(transcript::verify("")?);
        }
        let verified = transcript::read_verified(&self.path)?;
        if verified.head == self.head {
            return Ok(verified);
        }
        let last_ours = (0..verified.records.len())
            .find(|&seq| verified.hash_of(seq) == Some(self.head.as_str()));
        let what = match last_ours {
            Some(seq) => format!(
                "record {} was not made by this ceremony: something else wrote to the transcript while the ceremony ran",
                seq + 1
            ),
            None if self.head == transcript::GENESIS => "record 0 was not made by this ceremony: something else wrote to the transcript while the ceremony ran".to_owned(),
            None => "the ceremony's last record is no longer in it: the transcript was rewritten while the ceremony ran".to_owned(),
        };
        Err(super::Error::Interfered(format!(
            "{}: {what} (the ceremony left its head at {}, it is now {}); the ceremony stops here",
            self.path.display(),
            self.head,
            verified.head
        ))
        .into())
    }

    /// Appends one of the ceremony's own records.
    pub fn append(&mut self, entry: Entry, clock: &dyn Clock) -> Result<Record, crate::Error> {
        self.current()?;
        let record = transcript::append_if_head(&self.path, entry, &self.head, clock)?;
        self.head = record.hash()?;
        Ok(record)
    }

    /// Attaches a witness's sign-off of the ceremony's head, right after
    /// the ceremony's last record ([`witness::attach_sign_off`]).
    pub fn attach_sign_off(
        &mut self,
        request: &witness::SignOffRequest<'_>,
        clock: &dyn Clock,
    ) -> Result<witness::Attached, crate::Error> {
        self.current()?;
        let request = witness::SignOffRequest {
            after: Some(&self.head),
            ..*request
        };
        let attached = witness::attach_sign_off(&self.path, &request, clock)?;
        self.head = attached.record.hash()?;
        Ok(attached)
    }

    /// After a step's command ran, with the transcript as it now is:
    /// the command's one record (`command_seq`, see
    /// [`find_command_record`]) is the ceremony's too, if it is the last
    /// and follows the ceremony's own.
    pub fn took(&mut self, verified: &Verified, command_seq: Option<u64>) {
        let seq = command_seq.and_then(|s| usize::try_from(s).ok());
        if let Some(seq) = seq.filter(|&seq| seq + 1 == verified.records.len()) {
            let after_ours = verified
                .records
                .get(seq)
                .is_some_and(|r| r.prev == self.head);
            if after_ours {
                self.head = verified.head.clone();
            }
        }
    }
}

/// The witnesses' sign-offs a ceremony collects once it has ended: as
/// many as its script requires, each by a witness of its roster, each
/// checked against the witnesses' TRUSTFILE before it is attached.
#[derive(Debug)]
pub struct SignOffs<'a> {
    witnesses: Vec<&'a str>,
    trust: &'a crate::handover::TrustFile,
    needed: usize,
    signed: Vec<String>,
}

impl<'a> SignOffs<'a> {
    /// The sign-offs `sign_offs` (the script's number) requires of the
    /// witnesses of `roster`.
    pub fn new(
        sign_offs: u32,
        roster: &'a super::Roster,
        trust: &'a crate::handover::TrustFile,
    ) -> Self {
        SignOffs {
            witnesses: roster.of(crate::transcript::Role::Witness),
            trust,
            needed: usize::try_from(sign_offs).unwrap_or(usize::MAX),
            signed: Vec::new(),
        }
    }

    /// How many the script requires.
    pub fn needed(&self) -> usize {
        self.needed
    }

    /// How many are attached.
    pub fn count(&self) -> usize {
        self.signed.len()
    }

    /// Whether there are as many as the script requires.
    pub fn complete(&self) -> bool {
        self.signed.len() >= self.needed
    }

    /// The witnesses who have not signed off yet.
    pub fn missing(&self) -> Vec<&'a str> {
        let signed = &self.signed;
        self.witnesses
            .iter()
            .copied()
            .filter(|w| !signed.iter().any(|s| s == w))
            .collect()
    }

    /// Attaches `witness`'s signature file (`source_name` names it) after
    /// the ceremony's last record: refused for anyone not a witness of the
    /// ceremony, and for a signature the TRUSTFILE does not verify.
    pub fn attach(
        &mut self,
        recorder: &mut Recorder,
        witness: &str,
        signature_file: &[u8],
        source_name: &str,
        clock: &dyn Clock,
    ) -> Result<witness::Attached, crate::Error> {
        if !self.witnesses.contains(&witness) {
            return Err(super::Error::Answer(format!(
                "{witness} is not a witness of this ceremony"
            ))
            .into());
        }
        let request = witness::SignOffRequest {
            witness,
            signature_file,
            source_name,
            expected_head: None,
            trust: Some(self.trust),
            after: None,
        };
        let attached = recorder.attach_sign_off(&request, clock)?;
        self.signed.push(witness.to_owned());
        Ok(attached)
    }
}

/// The record a step's command appended: the one record after the first
/// `before`, a command with exactly the arguments the ceremony ran
/// (`--transcript TRANSCRIPT` and the step's `argv`) and the exit code the
/// ceremony saw it end with. Its sequence number and recorded outcome;
/// `None` and an empty outcome when there is no such record.
///
/// A record that only looks like it (another program's, written while the
/// step ran and left none of its own) must match all of that to be taken
/// for the step's; `Recorder::current` catches any record beyond the one.
pub fn find_command_record(
    verified: &Verified,
    before: usize,
    transcript: &Path,
    argv: &[String],
    exit_code: u8,
) -> (Option<u64>, String) {
    if verified.records.len() != before + 1 {
        return (None, String::new());
    }
    let prefix = ["--transcript".to_owned(), transcript.display().to_string()];
    match verified.records.last().map(|r| (r.seq, &r.entry)) {
        Some((
            seq,
            Entry::Command {
                argv: recorded,
                exit_code: recorded_exit,
                outcome,
            },
        )) if *recorded_exit == exit_code
            && recorded.get(..2) == Some(&prefix[..])
            && recorded.get(2..) == Some(argv) =>
        {
            (Some(seq), outcome.clone())
        }
        _ => (None, String::new()),
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

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_record_made_by_anything_else_stops_the_ceremony() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut recorder = Recorder::open(&path).unwrap();
        recorder.append(command(&["one"]), &SystemClock).unwrap();
        recorder.append(command(&["two"]), &SystemClock).unwrap();
        assert_eq!(recorder.current().unwrap().records.len(), 2);

        transcript::append(&path, command(&["intruder"]), &SystemClock).unwrap();
        let err = recorder.current().unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                crate::Error::Script(super::super::Error::Interfered(_))
            ),
            "{err:?}"
        );
        assert!(
            text.contains("record 2 was not made by this ceremony"),
            "{text}"
        );
        assert_eq!(err.class(), crate::class::Class::Verification);
        assert!(
            recorder.append(command(&["three"]), &SystemClock).is_err(),
            "nothing is appended after it"
        );
        assert_eq!(
            transcript::read_verified(&path).unwrap().records.len(),
            3,
            "the transcript holds the intruder's record and nothing after"
        );
    }

    #[test]
    fn a_rewritten_transcript_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut recorder = Recorder::open(&path).unwrap();
        recorder.append(command(&["one"]), &SystemClock).unwrap();
        std::fs::remove_file(&path).unwrap();
        transcript::append(&path, command(&["other"]), &SystemClock).unwrap();
        let text = recorder.current().unwrap_err().to_string();
        assert!(text.contains("no longer in it"), "{text}");
    }

    #[test]
    fn the_one_record_of_a_steps_command_becomes_the_ceremonys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut recorder = Recorder::open(&path).unwrap();
        recorder.append(command(&["start"]), &SystemClock).unwrap();
        let before = recorder.current().unwrap().records.len();
        // What `ceremony --transcript PATH root verify` records.
        let step = argv(&["root", "verify"]);
        let path_text = path.display().to_string();
        transcript::append(
            &path,
            command(&["--transcript", &path_text, "root", "verify"]),
            &SystemClock,
        )
        .unwrap();
        let verified = transcript::read_verified(&path).unwrap();
        let none = (None, String::new());
        let other_args = argv(&["root", "init"]);
        assert_eq!(
            find_command_record(&verified, before, &path, &other_args, 0),
            none,
            "other arguments: not the step's record"
        );
        assert_eq!(
            find_command_record(&verified, before, &path, &step, 2),
            none,
            "another exit code than the command ended with: not its record"
        );
        let elsewhere = dir.path().join("other.jsonl");
        assert_eq!(
            find_command_record(&verified, before, &elsewhere, &step, 0),
            none,
            "a command recorded for another transcript: not the step's"
        );
        let (seq, outcome) = find_command_record(&verified, before, &path, &step, 0);
        assert_eq!((seq, outcome.as_str()), (Some(1), "ok"));
        recorder.took(&verified, seq);
        recorder
            .append(command(&["end"]), &SystemClock)
            .expect("the step's record is the ceremony's");
    }

    #[test]
    fn a_transcript_that_does_not_verify_is_refused_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "not a record\n").unwrap();
        assert!(Recorder::open(&path).is_err());
        std::fs::write(&path, b"\xff\n").unwrap();
        let err = Recorder::open(&path).unwrap_err();
        assert_eq!(err.class(), crate::class::Class::Input);
        assert!(
            err.to_string().ends_with("t.jsonl: not UTF-8 text"),
            "{err}"
        );
    }
}
