//! The ceremony record: a transcript rendered as Markdown for the audit
//! file (`transcript report`). For each scripted ceremony: its script,
//! participants, parameters, steps, exceptions, the head read aloud at its
//! end and the witnesses' sign-offs; then the records outside any ceremony.
//!
//! Everything here is public (a transcript holds no secrets). Text that
//! came from the transcript (names, reasons, arguments, messages) is
//! escaped so that it renders as the text it is: it cannot add a table
//! column, a link, a heading or HTML to the record.

use std::fmt::Write as _;

use super::witness::{Ceremony, SignOffCheck};
use super::{Entry, Record, Verified};
use crate::words::Digest;

/// Escapes Markdown and HTML in `text`, and shows control characters as
/// escapes, so that it renders as itself on one line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // `#` and `!` matter only where no record's text can stand (a
            // line's start, before a `[`, which is escaped).
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || crate::text::is_hidden(c) => {
                out.push_str(&c.escape_unicode().to_string());
            }
            c => out.push(c),
        }
    }
    out
}

fn head_block(out: &mut String, head: &str) {
    match Digest::parse(head) {
        Ok(digest) => {
            let _ = writeln!(out, "`{}`, read aloud as:\n", digest.to_prefixed_hex());
            for line in digest.word_lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        Err(_) => {
            let _ = writeln!(out, "{}", escape(head));
        }
    }
    out.push('\n');
}

fn records_of<'a>(verified: &'a Verified, c: &Ceremony) -> &'a [Record] {
    let start = usize::try_from(c.start).unwrap_or(usize::MAX);
    let end = c
        .end
        .as_ref()
        .and_then(|(seq, _)| usize::try_from(*seq).ok())
        .map_or(verified.records.len(), |e| e + 1);
    verified.records.get(start..end).unwrap_or_default()
}

/// The Markdown record of `verified`, read from `source`. With `sign_offs`
/// (the TRUSTFILE check), each sign-off says whether it verified.
pub fn markdown(
    verified: &Verified,
    ceremonies: &[Ceremony],
    sign_offs: Option<&SignOffCheck>,
    source: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Ceremony record: {}\n", escape(source));
    let _ = writeln!(
        out,
        "{} record(s), chain intact; {} scripted ceremony(ies).\n",
        verified.records.len(),
        ceremonies.len()
    );
    out.push_str("Head of the transcript: ");
    head_block(&mut out, &verified.head);

    for (n, c) in ceremonies.iter().enumerate() {
        ceremony_section(&mut out, verified, c, n + 1, sign_offs);
    }

    let inside = |seq: u64| {
        ceremonies
            .iter()
            .any(|c| seq >= c.start && c.end.as_ref().is_none_or(|(end, _)| seq <= *end))
    };
    let outside: Vec<&Record> = verified
        .records
        .iter()
        .filter(|r| !inside(r.seq) && !matches!(r.entry, Entry::SignOff { .. }))
        .collect();
    let loose_sign_offs: Vec<&Record> = verified
        .records
        .iter()
        .filter(|r| {
            matches!(&r.entry, Entry::SignOff { head, .. }
                if !ceremonies.iter().any(|c| c.end.as_ref().is_some_and(|(_, h)| h == head)))
        })
        .collect();
    if !outside.is_empty() {
        out.push_str("## Records outside a scripted ceremony\n\n");
        out.push_str("| Record | Time | What | Outcome |\n|---:|---|---|---|\n");
        for r in outside {
            let (what, outcome) = match &r.entry {
                Entry::Command {
                    argv,
                    exit_code,
                    outcome,
                } => (
                    format!("ceremony {}", argv.join(" ")),
                    format!("exit {exit_code}: {outcome}"),
                ),
                // It verifies by the key it carries: whose key that is,
                // only `transcript verify --root` can say.
                Entry::Signature {
                    root_id,
                    public_key,
                    ..
                } => (
                    format!(
                        "signature claiming root {root_id}, by key {}",
                        super::key_fingerprint(public_key)
                    ),
                    "signs the record before it; not checked here against the root: `transcript verify --root ROOTDIR` does".to_owned(),
                ),
                other => (kind_of(other).to_owned(), String::new()),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                r.seq,
                escape(&r.time),
                escape(&what),
                escape(&outcome)
            );
        }
        out.push('\n');
    }
    if !loose_sign_offs.is_empty() {
        out.push_str("## Sign-offs outside a scripted ceremony\n\n");
        sign_off_table(&mut out, &loose_sign_offs, sign_offs);
    }
    out
}

fn kind_of(entry: &Entry) -> &'static str {
    match entry {
        Entry::Command { .. } => "command",
        Entry::Signature { .. } => "root signature",
        Entry::CeremonyStart { .. } => "ceremony start",
        Entry::Step { .. } => "step",
        Entry::Exception { .. } => "exception",
        Entry::CeremonyEnd { .. } => "ceremony end",
        Entry::SignOff { .. } => "sign-off",
    }
}

fn ceremony_section(
    out: &mut String,
    verified: &Verified,
    c: &Ceremony,
    n: usize,
    sign_offs: Option<&SignOffCheck>,
) {
    let records = records_of(verified, c);
    let Some(Entry::CeremonyStart {
        script,
        script_version,
        script_sha256,
        title,
        participants,
        params,
        sign_offs: required,
    }) = records.first().map(|r| &r.entry)
    else {
        return;
    };
    let began = records.first().map(|r| r.time.as_str()).unwrap_or_default();
    let _ = writeln!(out, "## Ceremony {n}: {}\n", escape(title));
    let _ = writeln!(
        out,
        "Script {} version {script_version}, {}. Began {} (record {}).",
        escape(script),
        escape(script_sha256),
        escape(began),
        c.start
    );
    match (&c.end, c.completed) {
        (Some((seq, _)), true) => {
            let _ = writeln!(out, "Completed (record {seq}).\n");
        }
        (Some((seq, _)), false) => {
            let _ = writeln!(out, "**Stopped** before its last step (record {seq}).\n");
        }
        (None, _) => {
            out.push_str("**No end record**: interrupted, or its end was cut off.\n\n");
        }
    }

    out.push_str("### Participants\n\n| Name | Role |\n|---|---|\n");
    for p in participants {
        let _ = writeln!(out, "| {} | {} |", escape(&p.name), p.role.as_str());
    }
    out.push('\n');
    if !params.is_empty() {
        out.push_str("### Parameters\n\n| Name | Value |\n|---|---|\n");
        for p in params {
            let _ = writeln!(
                out,
                "| {} | {} |",
                escape(&p.name),
                escape(&p.values.join(", "))
            );
        }
        out.push('\n');
    }

    out.push_str("### Steps\n\n| Record | Time | Step | Action | Expected | Outcome |\n|---:|---|---|---|---|---|\n");
    let mut exceptions = Vec::new();
    for (i, r) in records.iter().enumerate() {
        match &r.entry {
            Entry::Step {
                step,
                title,
                action,
                expected,
                outcome,
                as_expected,
                command_seq,
                ..
            } => {
                let what = match (action, command_seq.and_then(|_| i.checked_sub(1))) {
                    (super::StepAction::Run, Some(before)) => {
                        match records.get(before).map(|r| &r.entry) {
                            Some(Entry::Command { argv, .. }) => {
                                format!("ran: ceremony {}", argv.join(" "))
                            }
                            _ => "ran a command".to_owned(),
                        }
                    }
                    (super::StepAction::Run, None) => "ran a command (not recorded)".to_owned(),
                    (super::StepAction::Confirm, _) => "confirmed by hand".to_owned(),
                };
                let mark = if *as_expected {
                    ""
                } else {
                    " **(unexpected)**"
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {}: {} | {} | {} | {}{mark} |",
                    r.seq,
                    escape(&r.time),
                    escape(step),
                    escape(title),
                    escape(&what),
                    escape(expected),
                    escape(outcome)
                );
            }
            Entry::Exception { .. } => exceptions.push(r),
            _ => {}
        }
    }
    out.push('\n');

    out.push_str("### Exceptions\n\n");
    if exceptions.is_empty() {
        out.push_str("None.\n");
    } else {
        // A table: the reason is the operator's own words and may say
        // anything, so the decision and the witness stand in cells of
        // their own, where no reason can reach.
        out.push_str("| Record | Step | Exception | Run instead | Operator's reason | Decision | Witness |\n|---:|---|---|---|---|---|---|\n");
    }
    for r in exceptions {
        if let Entry::Exception {
            step,
            exception,
            reason,
            argv,
            witness,
            accepted,
        } = &r.entry
        {
            let change = if argv.is_empty() {
                String::new()
            } else {
                escape(&format!("ceremony {}", argv.join(" ")))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {change} | {} | {} | {} |",
                r.seq,
                escape(step),
                exception.as_str(),
                escape(reason),
                if *accepted {
                    "**Accepted**"
                } else {
                    "**Refused**"
                },
                escape(witness)
            );
        }
    }
    out.push('\n');

    if let Some((_, hash)) = &c.end {
        out.push_str("### Head at the end, as read aloud\n\n");
        head_block(out, hash);
        let signs: Vec<&Record> = verified
            .records
            .iter()
            .filter(|r| matches!(&r.entry, Entry::SignOff { head, .. } if head == hash))
            .collect();
        let _ = writeln!(out, "### Sign-offs ({required} required)\n");
        if signs.is_empty() {
            out.push_str("None.\n\n");
        } else {
            sign_off_table(out, &signs, sign_offs);
        }
    }
}

fn sign_off_table(out: &mut String, records: &[&Record], check: Option<&SignOffCheck>) {
    out.push_str("| Record | Time | Witness | Head | Verified |\n|---:|---|---|---|---|\n");
    for r in records {
        if let Entry::SignOff { head, witness, .. } = &r.entry {
            let verified = match check.map(|c| c.by_seq.get(&r.seq)) {
                None => "not checked (no TRUSTFILE given)".to_owned(),
                Some(Some(Ok(by))) => format!("yes: {}", escape(by)),
                Some(Some(Err(why))) => format!("**no**: {}", escape(why)),
                Some(None) => "not checked".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {verified} |",
                r.seq,
                escape(&r.time),
                escape(witness),
                escape(head)
            );
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;

    #[test]
    fn transcript_text_cannot_add_markup() {
        assert_eq!(escape("a | b"), "a \\| b");
        assert_eq!(escape("<script>"), "\\<script\\>");
        assert_eq!(escape("[x](http://e)"), "\\[x\\](http://e)");
        assert_eq!(escape("line\nbreak"), "line\\u{a}break");
        assert_eq!(escape("plain text, ok."), "plain text, ok.");
    }

    /// The operator writes the reason, and a reason can say anything: that
    /// the exception was accepted, by whom. The decision and the witness
    /// stand apart from it, in cells of their own that no reason reaches.
    #[test]
    fn a_reason_cannot_read_as_the_decision() {
        use crate::transcript::{ExceptionKind, Participant, Role};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let clock = crate::clock::SystemClock;
        let start = Entry::CeremonyStart {
            script: "demo".into(),
            script_version: 1,
            script_sha256: super::super::GENESIS.into(),
            title: "Demo".into(),
            participants: vec![Participant {
                name: "walt".into(),
                role: Role::Witness,
            }],
            params: Vec::new(),
            sign_offs: 1,
        };
        super::super::append(&path, start, &clock).unwrap();
        let reason = "typo\". **Accepted** by witness wanda. (\"";
        let exception = Entry::Exception {
            step: "init".into(),
            exception: ExceptionKind::Failed,
            reason: reason.into(),
            argv: Vec::new(),
            witness: "walt".into(),
            accepted: false,
        };
        super::super::append(&path, exception, &clock).unwrap();
        let verified = super::super::verify(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ceremonies = super::super::witness::ceremonies(&verified);
        let md = markdown(&verified, &ceremonies, None, "t.jsonl");
        let row = md
            .lines()
            .find(|l| l.starts_with("| 1 |"))
            .unwrap_or_else(|| panic!("no table row for the exception:\n{md}"));
        // The cells, split at the pipes the escaping left alone.
        let cells: Vec<String> = row
            .replace("\\|", "\u{0}")
            .split('|')
            .map(|c| c.trim().replace('\u{0}', "\\|"))
            .collect();
        assert!(cells.contains(&escape(reason)), "{row}");
        assert!(cells.iter().any(|c| c == "**Refused**"), "{row}");
        assert!(cells.iter().any(|c| c == "walt"), "{row}");
    }

    /// A signature record verifies by the key it carries, whoever's it is:
    /// anyone can append one that names the real root. The record says
    /// which key signed and that it is not checked against the root here,
    /// never that the root signed.
    #[test]
    fn a_root_signature_is_shown_as_the_claim_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let clock = crate::clock::SystemClock;
        let command = Entry::Command {
            argv: vec!["preflight".into()],
            exit_code: 0,
            outcome: "ok".into(),
        };
        super::super::append(&path, command, &clock).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let head = super::super::verify(&text).unwrap().head;
        let anyone = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
        let forged = super::super::signature_entry(&head, "the-real-root", &anyone);
        super::super::append(&path, forged, &clock).unwrap();
        let verified = super::super::verify(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let md = markdown(&verified, &[], None, "t.jsonl");
        let fingerprint =
            super::super::key_fingerprint(&B64.encode(anyone.verifying_key().to_bytes()));
        let row = md.lines().find(|l| l.starts_with("| 1 |")).unwrap();
        assert!(
            row.contains(&escape(&fingerprint)) && row.contains("not checked"),
            "{row}"
        );
        assert!(!md.contains("root signature (root"), "{md}");
    }
}
