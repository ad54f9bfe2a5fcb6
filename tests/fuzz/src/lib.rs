//! What the fuzz targets share: the fixed test keys, the oracles that check
//! more than "no panic", and a structural comparison of SOPS trees.
//!
//! Every key here is a throwaway test key committed on purpose (see
//! `tests/vectors/sops/README.md` and `tests/fuzz/fixtures/README.md`);
//! nothing real is ever sealed to them.

use std::sync::OnceLock;

pub mod sig_targets;
pub mod sops_targets;

use ceremony::handover::{Envelope, TrustFile};
use ceremony::identity::{self, Identity};
use ceremony::sops::tree::{Branch, Item, ListElement, Value};
use ceremony::sops::{self, Recipient};

/// The text every secret value of a seed carries. A parser's error or
/// `Debug` output that shows it has shown a secret.
pub const CANARY: &str = "S3CR3T";

/// The SOPS test recipient `R1` of `tests/vectors/sops/key1.agekey`.
pub const R1: &str = "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q";

/// Both SOPS test identities (`tests/vectors/sops/both.agekey`), so that the
/// Shamir vector opens too.
pub fn identities() -> &'static [Identity] {
    static IDS: OnceLock<Vec<Identity>> = OnceLock::new();
    IDS.get_or_init(|| {
        let text = include_bytes!("../../vectors/sops/both.agekey");
        identity::parse_identity_file("both.agekey", text, age::NoCallbacks)
            .expect("the committed SOPS test identities parse")
    })
}

/// The TRUSTFILE every signature target verifies against: one throwaway key
/// per scheme (`fixtures/trust.txt`).
pub fn trust() -> &'static TrustFile {
    static TRUST: OnceLock<TrustFile> = OnceLock::new();
    TRUST.get_or_init(|| {
        TrustFile::parse("trust.txt", include_bytes!("../fixtures/trust.txt"))
            .expect("the committed fuzz TRUSTFILE parses")
    })
}

/// The unsigned receipt envelope the signature seeds sign
/// (`fixtures/payload.json`, a receipt statement from `ceremony demo`).
pub fn envelope() -> Envelope {
    Envelope::unsigned(
        ceremony::handover::statement::PAYLOAD_TYPE,
        include_bytes!("../fixtures/payload.json").to_vec(),
    )
}

/// A fixed clock, so that encrypting the same tree twice differs only in
/// randomness.
pub fn clock() -> ceremony::clock::FixedClock {
    ceremony::clock::FixedClock(time::macros::datetime!(2026-01-02 03:04:05 UTC))
}

/// Encryption options for one recipient, `R1`.
pub fn encrypt_options() -> sops::EncryptOptions {
    sops::EncryptOptions::for_recipients([R1]).expect("R1 is a recipient")
}

/// Splits off the first byte as a selector among `n` choices.
pub fn select(data: &[u8], n: usize) -> Option<(usize, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((usize::from(first) % n, rest))
}

// ---------------------------------------------------------------- oracles

/// The private keys an input holds: the bech32 payload of every
/// `AGE-SECRET-KEY-1…` (40 characters or more) and the base64 lines of every
/// `-----BEGIN … PRIVATE KEY-----` block: text that must never be echoed.
pub fn private_key_material(input: &[u8]) -> Vec<String> {
    private_keys(input).0
}

/// The private keys of `input` (see [`private_key_material`]), and the
/// input with exactly those occurrences blanked out.
fn private_keys(input: &[u8]) -> (Vec<String>, Vec<u8>) {
    let text = String::from_utf8_lossy(input).into_owned();
    let upper = text.to_ascii_uppercase();
    let mut keys = Vec::new();
    let mut cut: Vec<(usize, usize)> = Vec::new();
    let marker = "AGE-SECRET-KEY-1";
    let mut from = 0;
    while let Some(at) = upper[from..].find(marker) {
        let start = from + at + marker.len();
        let payload: String = upper[start..]
            .chars()
            .take_while(|c| "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".contains(*c))
            .collect();
        if payload.len() >= 40 {
            cut.push((from + at, start + payload.len()));
            keys.push(payload);
        }
        from = start;
    }
    let mut in_block = false;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim();
        if line.starts_with("-----BEGIN ") && line.ends_with("PRIVATE KEY-----") {
            in_block = true;
        } else if line.starts_with("-----END") {
            in_block = false;
        } else if in_block
            && line.len() >= 24
            && line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            cut.push((offset, offset + raw.len()));
            keys.push(line.to_owned());
        }
        offset += raw.len();
    }
    let mut rest = upper.into_bytes();
    for (start, end) in cut {
        rest[start..end].fill(1);
    }
    (keys, rest)
}

/// Whether `text` is all base64 (or hex) characters.
pub fn is_base64ish(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// The first `window`-character stretch of any of `secrets` that `message`
/// shows (compared case-insensitively, as bech32 is) and that `rest`, the
/// input with its secrets cut out, does not hold: text that also stands
/// elsewhere in the input may have been quoted from there.
pub fn shows_fragment(
    message: &str,
    secrets: &[String],
    window: usize,
    rest: &[u8],
) -> Option<String> {
    let message = message.to_ascii_uppercase();
    let rest = String::from_utf8_lossy(rest);
    // As `Debug` shows it too: `\0` before a digit reads like key text.
    // Escaped before it is upper-cased, as the message was: `\n` then
    // reads `\N`, which runs on into the letters after it.
    let rest_debug = format!("{rest:?}").to_ascii_uppercase();
    let rest = rest.to_ascii_uppercase();
    for secret in secrets {
        let secret = secret.to_ascii_uppercase();
        let pieces: Vec<&str> = if secret.len() < window {
            vec![secret.as_str()]
        } else {
            (0..=secret.len() - window)
                .filter_map(|i| secret.get(i..i + window))
                .collect()
        };
        for piece in pieces {
            // A stretch of key material mixes letters and digits; one of
            // letters only may be a word of the message itself
            // ("AlreadyEncrypted"), one of digits only a number.
            let mixed = secret.len() < window
                || piece.bytes().any(|b| b.is_ascii_digit())
                    && piece.bytes().any(|b| b.is_ascii_alphabetic());
            if mixed
                && !piece.is_empty()
                && message.contains(piece)
                && !rest.contains(piece)
                && !rest_debug.contains(piece)
            {
                return Some(piece.to_owned());
            }
        }
    }
    None
}

/// Panics when an error's text (Display and Debug) shows any of `secrets`,
/// 16 characters or more of one, that `rest` (the input with the secrets
/// cut out) does not also hold.
pub fn assert_hidden(
    what: &str,
    error: &dyn std::fmt::Debug,
    display: &str,
    secrets: &[String],
    rest: &[u8],
) {
    let debug = format!("{error:?}");
    for text in [display, debug.as_str()] {
        if let Some(piece) = shows_fragment(text, secrets, 16, rest) {
            panic!("{what}: the error shows secret input text {piece:?}: {text}");
        }
    }
}

/// Panics when an error shows a private key the input holds.
pub fn assert_no_private_key<E: std::fmt::Display + std::fmt::Debug>(
    what: &str,
    input: &[u8],
    error: &E,
) {
    let (keys, rest) = private_keys(input);
    if !keys.is_empty() {
        assert_hidden(what, error, &error.to_string(), &keys, &rest);
    }
}

/// The values of `fields` in JSON text that may be broken (see
/// [`json_strings_of`]), kept when they look like key material (16
/// characters or more of base64 or hex), and the input with them cut out.
pub fn secret_json_strings(input: &[u8], fields: &[&str]) -> (Vec<String>, Vec<u8>) {
    let mut out: Vec<String> = fields
        .iter()
        .flat_map(|f| json_strings_of(input, f))
        .collect();
    out.retain(|s| s.len() >= 16 && is_base64ish(s));
    let mut rest = String::from_utf8_lossy(input).into_owned();
    for s in &out {
        rest = rest.replace(&format!("\"{s}\""), "\u{1}");
    }
    (out, rest.into_bytes())
}

/// The string values of `"field": "…"` pairs, found leniently in text that
/// need not be valid JSON (a parser's error is checked on broken input too).
/// For a field holding a list of strings, every string of the list.
pub fn json_strings_of(input: &[u8], field: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(input);
    let needle = format!("\"{field}\"");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(&needle) {
        let mut rest = text[from + at + needle.len()..].trim_start();
        from += at + needle.len();
        let Some(r) = rest.strip_prefix(':') else {
            continue;
        };
        rest = r.trim_start();
        let list = rest.starts_with('[');
        if list {
            rest = &rest[1..];
        }
        loop {
            rest = rest.trim_start();
            let Some(r) = rest.strip_prefix('"') else {
                break;
            };
            let end = r.find('"').unwrap_or(r.len());
            out.push(r[..end].to_owned());
            rest = r.get(end + 1..).unwrap_or("");
            if !list {
                break;
            }
            rest = rest.trim_start();
            match rest.strip_prefix(',') {
                Some(r) => rest = r,
                None => break,
            }
        }
    }
    out
}

/// Panics when a SOPS engine error shows the canary outside the places that
/// may quote the input: key names and key paths are cleartext in every sops
/// file, so they are cut out of the message first.
pub fn assert_sops_error_hides_values(what: &str, error: &sops::Error, input: &[u8]) {
    use sops::Error as E;
    let mut display = error.to_string();
    let mut debug = format!("{error:?}");
    let quoted: Vec<String> = match error {
        E::DuplicateKey { key, .. } => vec![key.to_string()],
        E::UnsupportedValue { path, .. }
        | E::MalformedEncryptedValue { path }
        | E::ValueDecryption { path }
        | E::MalformedPlaintext { path, .. }
        | E::UnexpectedLeaf { path }
        | E::EncryptedCommentMatchesRule { path } => vec![path.to_string()],
        E::UnknownValueType { path, value_type } => vec![path.to_string(), value_type.clone()],
        // Metadata is public (its secrets are encrypted); a serde message
        // about it may quote it.
        E::InvalidMetadata { .. } | E::UnsupportedVersion { .. } => return,
        _ => Vec::new(),
    };
    for q in &quoted {
        display = display.replace(&format!("{q:?}"), "");
        display = display.replace(q.as_str(), "");
        debug = debug.replace(&format!("{q:?}"), "");
        debug = debug.replace(q.as_str(), "");
    }
    for text in [&display, &debug] {
        assert!(
            !text.contains(CANARY),
            "{what}: the error shows a value: {error} / {error:?}"
        );
    }
    assert_no_private_key(what, input, error);
}

// ---------------------------------------------------------------- trees

/// Calls `f` on every mapping key of the trees, depth first.
pub fn each_key(branches: &[Branch], f: &mut dyn FnMut(&str)) {
    fn value(v: &Value, f: &mut dyn FnMut(&str)) {
        match v {
            Value::Branch(b) => branch(b, f),
            Value::List(l) => {
                for e in l {
                    if let ListElement::Value(v) = e {
                        value(v, f);
                    }
                }
            }
            _ => {}
        }
    }
    fn branch(b: &Branch, f: &mut dyn FnMut(&str)) {
        for item in &b.items {
            if let Item::Entry { key, value: v } = item {
                f(key);
                value(v, f);
            }
        }
    }
    for b in branches {
        branch(b, f);
    }
}

/// The trees with every comment taken out.
pub fn without_comments(branches: &[Branch]) -> Vec<Branch> {
    fn value(v: &Value) -> Value {
        match v {
            Value::Branch(b) => Value::Branch(branch(b)),
            Value::List(l) => Value::List(
                l.iter()
                    .filter_map(|e| match e {
                        ListElement::Value(v) => Some(ListElement::Value(value(v))),
                        ListElement::Comment(_) => None,
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    fn branch(b: &Branch) -> Branch {
        let mut out = b.clone();
        out.items = b
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Entry { key, value: v } => Some(Item::Entry {
                    key: key.clone(),
                    value: value(v),
                }),
                Item::Comment(_) => None,
            })
            .collect();
        out
    }
    branches.iter().map(branch).collect()
}

/// Every comment's text, in document order.
pub fn comments_in_order(branches: &[Branch]) -> Vec<Vec<u8>> {
    fn value(v: &Value, out: &mut Vec<Vec<u8>>) {
        match v {
            Value::Branch(b) => branch(b, out),
            Value::List(l) => {
                for e in l {
                    match e {
                        ListElement::Value(v) => value(v, out),
                        ListElement::Comment(c) => out.push(c.expose_secret().to_vec()),
                    }
                }
            }
            _ => {}
        }
    }
    fn branch(b: &Branch, out: &mut Vec<Vec<u8>>) {
        for item in &b.items {
            match item {
                Item::Entry { value: v, .. } => value(v, out),
                Item::Comment(c) => out.push(c.expose_secret().to_vec()),
            }
        }
    }
    let mut out = Vec::new();
    for b in branches {
        branch(b, &mut out);
    }
    out
}

/// Panics when the `Debug` output of parsed trees shows the canary more
/// often than its keys do: leaf values and comments must be redacted.
pub fn assert_debug_redacts_values(what: &str, branches: &[Branch]) {
    let debug = format!("{branches:?}");
    let mut in_keys = 0;
    each_key(branches, &mut |k| {
        in_keys += format!("{k:?}").matches(CANARY).count();
    });
    let shown = debug.matches(CANARY).count();
    assert!(
        shown <= in_keys,
        "{what}: Debug of a parsed tree shows a value ({shown} canaries, {in_keys} in keys)"
    );
}

/// How strictly [`same_trees`] compares leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaves {
    /// Same kind and same content.
    Exact,
    /// Also equal: a float and an integer of the same value (sops writes
    /// `1.0` back as `1`, and go-yaml reads that as an integer), and two
    /// times that name the same instant at second precision.
    AsSopsWrites,
    /// As [`Leaves::AsSopsWrites`], and comments equal line by line up to
    /// the markers (`;`, `#`) and blanks they start with, in any mix:
    /// go-ini (and so sops and ceremony) writes a multi-line INI comment back
    /// with markers and blanks of its own, which the reader keeps.
    AsGoIniWrites,
}

/// Whether two parsed files have the same structure, keys, comments and
/// leaves. `None` when equal, else the path of the first difference.
pub fn same_trees(a: &[Branch], b: &[Branch], leaves: Leaves) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} documents against {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if let Some(d) = same_branch(x, y, leaves, &format!("doc{i}")) {
            return Some(d);
        }
    }
    None
}

fn same_branch(a: &Branch, b: &Branch, leaves: Leaves, path: &str) -> Option<String> {
    if a.items.len() != b.items.len() {
        return Some(format!(
            "{path}: {} items against {}",
            a.items.len(),
            b.items.len()
        ));
    }
    for (i, (x, y)) in a.items.iter().zip(&b.items).enumerate() {
        match (x, y) {
            (Item::Comment(c), Item::Comment(d)) => {
                if !same_comment(c.expose_secret(), d.expose_secret(), leaves) {
                    return Some(format!("{path}: comment {i} differs"));
                }
            }
            (Item::Entry { key: k, value: v }, Item::Entry { key: l, value: w }) => {
                if k != l {
                    return Some(format!("{path}: key {k:?} against {l:?}"));
                }
                if let Some(d) = same_value(v, w, leaves, &format!("{path}:{k}")) {
                    return Some(d);
                }
            }
            _ => return Some(format!("{path}: item {i} is an entry on one side only")),
        }
    }
    None
}

fn same_comment(a: &[u8], b: &[u8], leaves: Leaves) -> bool {
    if leaves != Leaves::AsGoIniWrites {
        return a == b;
    }
    let lines = |t: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(t)
            .split('\n')
            .map(|l| {
                l.trim_start_matches(|c: char| c == ';' || c == '#' || c.is_whitespace())
                    .trim_end()
                    .to_owned()
            })
            .collect()
    };
    lines(a) == lines(b)
}

fn same_value(a: &Value, b: &Value, leaves: Leaves, path: &str) -> Option<String> {
    let lenient = leaves != Leaves::Exact;
    let equal = match (a, b) {
        (Value::Str(x), Value::Str(y)) => x.expose_secret() == y.expose_secret(),
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y || x.is_nan() && y.is_nan(),
        (Value::Float(x), Value::Int(y)) | (Value::Int(y), Value::Float(x)) => {
            lenient && *x == *y as f64
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => {
            x == y || lenient && x.to_rfc3339_seconds() == y.to_rfc3339_seconds()
        }
        (Value::Null, Value::Null) => true,
        (Value::Branch(x), Value::Branch(y)) => return same_branch(x, y, leaves, path),
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: list of {} against {}", x.len(), y.len()));
            }
            for (i, (e, f)) in x.iter().zip(y).enumerate() {
                match (e, f) {
                    (ListElement::Value(v), ListElement::Value(w)) => {
                        if let Some(d) = same_value(v, w, leaves, &format!("{path}[{i}]")) {
                            return Some(d);
                        }
                    }
                    (ListElement::Comment(c), ListElement::Comment(d)) => {
                        if !same_comment(c.expose_secret(), d.expose_secret(), leaves) {
                            return Some(format!("{path}[{i}]: comment differs"));
                        }
                    }
                    _ => return Some(format!("{path}[{i}]: comment on one side only")),
                }
            }
            true
        }
        _ => false,
    };
    if equal {
        None
    } else {
        Some(format!("{path}: {} against {}", a.kind(), b.kind()))
    }
}

/// The cleartext values the Secrets of a file hold, and the text a report
/// about the file may show.
#[derive(Debug, Default)]
pub struct SecretValues {
    /// Values under a Secret's `data` or `stringData` that carry the
    /// canary, are not `ENC[…]` and stand only once in the input.
    pub values: Vec<String>,
    /// Keys and the kinds, names and namespaces of objects.
    pub public: Vec<String>,
}

/// The cleartext values a Secret in these trees holds under `data` and
/// `stringData`: what a report about the file must never print. Only values
/// that carry the [`CANARY`] count (a seed's secrets carry it; no message
/// template does), and only those that stand once in `input` (a value that
/// also stands elsewhere, in the metadata say, may be shown from there).
pub fn secret_values(branches: &[Branch], input: &[u8]) -> SecretValues {
    use ceremony::kube::{self, Text};
    let text = String::from_utf8_lossy(input);
    let mut public = Vec::new();
    each_key(branches, &mut |k| public.push(k.to_owned()));
    let mut values = Vec::new();
    for object in kube::objects(branches) {
        for field in ["kind", "apiVersion"] {
            if let Text::Clear(t) = object.fields.text(field) {
                public.push(t.to_owned());
            }
        }
        if let Some(meta) = object.fields.mapping("metadata") {
            for field in ["name", "namespace"] {
                if let Text::Clear(t) = meta.text(field) {
                    public.push(t.to_owned());
                }
            }
        }
        if !object.is_secret() {
            continue;
        }
        for field in kube::SECRET_VALUE_FIELDS {
            let Some(data) = object.fields.mapping(field) else {
                continue;
            };
            for (_, value) in data.entries() {
                if let Value::Str(s) = value {
                    let bytes = s.expose_secret();
                    if !sops::cipher::is_encrypted_text(bytes) {
                        values.push(String::from_utf8_lossy(bytes).into_owned());
                    }
                }
            }
        }
    }
    values.retain(|v| {
        v.contains(CANARY)
            && text.matches(v.as_str()).count() == 1
            && !public.iter().any(|p| p.contains(v.as_str()))
    });
    public.sort_by_key(|p| std::cmp::Reverse(p.len()));
    SecretValues { values, public }
}

impl SecretValues {
    /// Panics when `text` (a report or an error) shows one of the values
    /// whole, once the public text (names, kinds, keys) is taken out of it.
    pub fn assert_hidden_in(&self, what: &str, text: &str) {
        if self.values.is_empty() {
            return;
        }
        let mut rest = text.to_owned();
        for p in self.public.iter().filter(|p| !p.is_empty()) {
            rest = rest.replace(&format!("{p:?}"), "").replace(p.as_str(), "");
        }
        for v in &self.values {
            assert!(
                !rest.contains(v.as_str()),
                "{what}: a Secret's cleartext value is shown: {text}"
            );
        }
    }
}

/// Whether a recipient string parses: used to check that what a parser
/// accepted reads back.
pub fn is_recipient(text: &str) -> bool {
    Recipient::parse(text).is_ok()
}
