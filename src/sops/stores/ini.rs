//! INI store (sops: `stores/ini/store.go` on gopkg.in/ini.v1).
//!
//! Each section is a top-level key whose value is a branch of strings. A
//! section's comment becomes the first comment of its branch; a key's comment
//! comes after the key. Output follows go-ini's `WriteTo`: `key = value` with
//! the `=` signs aligned within a section, comments written as `; text`, and a
//! blank line after every section. The metadata goes in a final `[sops]`
//! section (sops writes it in map order, which is random; we sort).

use std::collections::HashMap;

use super::super::tree::{Branch, Item, Value};
use super::super::{Error, Format};
use zeroize::Zeroizing;

use super::val_to_string;
use super::wiping::{WipingString, capacity_for};
use crate::secret::SecretBytes;

/// A key of a section being written: name, value, comment.
type KeyLine = (String, Zeroizing<String>, Option<Zeroizing<String>>);

/// Flattened metadata pairs of a `[sops]` section.
type FlatMeta = Vec<(String, String)>;

const DEFAULT_SECTION: &str = "DEFAULT";

fn strip_comment_char(c: &str) -> &str {
    // sops stripCommentChar: TrimLeft of the marker and spaces.
    if c.starts_with(';') {
        c.trim_start_matches([';', ' '])
    } else if c.starts_with('#') {
        c.trim_start_matches(['#', ' '])
    } else {
        c
    }
}

/// The lines of the file, each with its `\n`, as go-ini's reader takes
/// them (`ReadBytes('\n')`: a lone CR does not end a line), numbered from 1
/// for errors.
struct Lines<'a> {
    rest: std::str::SplitInclusive<'a, char>,
    number: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let line = self.rest.next()?;
        self.number += 1;
        Some(line)
    }
}

fn error_at(line: usize, reason: &str) -> Error {
    Error::Parse {
        format: Format::Ini,
        line: Some(line),
        reason: reason.into(),
    }
}

/// go-ini's `hasSurroundedQuote`: `quote` at both ends and nowhere between.
fn has_surrounded_quote(value: &str, quote: char) -> bool {
    value.len() >= 2
        && value.starts_with(quote)
        && value.ends_with(quote)
        && value[1..].find(quote) == Some(value.len() - 2)
}

/// go-ini's `cleanComment`: from the first `#` or `;` on.
fn clean_comment(text: &str) -> Option<&str> {
    text.find(['#', ';']).map(|i| &text[i..])
}

/// go-ini's `readValue`, with the options sops loads INI files with:
/// `"""` and backtick quotes (to the *last* closing quote on the line, or
/// on as many lines as it takes; text after it is dropped), a trailing `\`
/// continuing the value on the next lines, an inline comment from the first
/// `#` or `;`, then one pair of surrounding `"` or `'` removed. An inline
/// comment goes to `comment`, after what is already there.
fn read_value(
    raw: &str,
    lines: &mut Lines<'_>,
    comment: &mut WipingString,
) -> Result<Zeroizing<String>, Error> {
    let first_line = lines.number;
    let line = raw.trim_start();
    if line.is_empty() {
        return Ok(Zeroizing::new(String::new()));
    }
    let quote = if line.len() > 3 && line.starts_with("\"\"\"") {
        "\"\"\""
    } else if line.starts_with('`') {
        "`"
    } else {
        ""
    };
    if !quote.is_empty() {
        let rest = &line[quote.len()..];
        if let Some(end) = rest.rfind(quote) {
            return Ok(Zeroizing::new(rest[..end].to_string()));
        }
        // readMultilines: line breaks kept, to the line with a closing quote.
        let mut value = WipingString::with_capacity(rest.len());
        value.push_str(rest);
        loop {
            let Some(next) = lines.next() else {
                return Err(error_at(first_line, "a quoted value has no closing quote"));
            };
            if let Some(end) = next.rfind(quote) {
                value.push_str(&next[..end]);
                if let Some(c) = clean_comment(&next[end..]) {
                    comment.push_str(c.trim());
                }
                return Ok(value.into_string());
            }
            value.push_str(next);
        }
    }
    let mut line = line.trim();
    if let Some(start) = line.strip_suffix('\\') {
        // readContinuationLines: each next line trimmed and appended, to an
        // empty line or one that does not end in `\`; no comment, no quotes.
        let mut value = WipingString::with_capacity(start.len());
        value.push_str(start);
        while let Some(next) = lines.next() {
            let next = next.trim();
            if next.is_empty() {
                break;
            }
            value.push_str(next);
            if !value.ends_with_byte(b'\\') {
                break;
            }
            value.pop_ascii();
        }
        return Ok(value.into_string());
    }
    if let Some(i) = line.find(['#', ';']) {
        comment.push_str(&line[i..]);
        line = line[..i].trim();
    }
    if has_surrounded_quote(line, '\'') || has_surrounded_quote(line, '"') {
        line = &line[1..line.len() - 1];
    }
    Ok(Zeroizing::new(line.to_string()))
}

/// The quote go-ini's writer puts around a value.
fn value_quote(v: &str) -> &'static str {
    if v.contains(['\n', '`']) {
        "\"\"\""
    } else if v.contains(['#', ';']) {
        "`"
    } else if v.trim().len() != v.len() {
        "\""
    } else {
        ""
    }
}

/// Whether the writer writes `value` so that go-ini (and so sops, and this
/// store) reads it back as itself, with no comment and nothing after it.
/// Some values a file can hold cannot be: one ending in `\` (written bare,
/// it continues on the next line), one written bare between a pair of `'`
/// or `"` (the reader takes them off), one written between `"` and holding
/// one, one whose first line holds `"""` and which goes on over more lines.
fn value_writes_back(value: &str) -> bool {
    let quote = value_quote(value);
    let mut written = WipingString::with_capacity(value.len() + 2 * quote.len() + 1);
    for part in [quote, value, quote, "\n"] {
        written.push_str(part);
    }
    let written = written.into_string();
    let mut lines = Lines {
        rest: written.split_inclusive('\n'),
        number: 0,
    };
    let Some(first) = lines.next() else {
        return false;
    };
    let mut comment = WipingString::with_capacity(0);
    read_value(first, &mut lines, &mut comment)
        .is_ok_and(|read| *read == *value && comment.as_str().is_empty() && lines.next().is_none())
}

struct Section {
    name: String,
    comment: Option<Zeroizing<String>>,
    keys: Vec<Key>,
    /// Where each key's name is in `keys`: a key given again is found
    /// without a search through all of them.
    index: HashMap<String, usize>,
}

struct Key {
    name: String,
    value: Zeroizing<String>,
    comment: Zeroizing<String>,
}

/// A line's key and the offset just past its `=` or `:`, as go-ini's
/// `readKeyName` reads them: a key may be quoted with `"""`, `"` or a
/// backtick (as the writer quotes one holding `=`, `:`, `"` or a
/// backtick), and then the delimiter is the first one after the closing
/// quote. Blanks around the key go, inside the quotes too: the writer does
/// not quote them back, so a key read as " s" would be written as "s" and
/// no longer match the additional data its value was encrypted with.
fn read_key_name(line: &str) -> Result<(String, usize), &'static str> {
    const NOT_A_PAIR: &str = "line is neither a section, a comment nor key = value";
    let quote = if line.starts_with('"') {
        // go-ini counts the line's `\n` here.
        if line.len() > 6 && line.starts_with("\"\"\"") {
            "\"\"\""
        } else {
            "\""
        }
    } else if line.starts_with('`') {
        "`"
    } else {
        ""
    };
    if quote.is_empty() {
        let at = line.find(['=', ':']).ok_or(NOT_A_PAIR)?;
        if at == 0 {
            return Err("a key is empty");
        }
        return Ok((line[..at].trim().to_string(), at + 1));
    }
    let start = quote.len();
    let close = start
        + line[start..]
            .find(quote)
            .ok_or("a quoted key has no closing quote")?;
    let after = close + quote.len();
    let at = after + line[after..].find(['=', ':']).ok_or(NOT_A_PAIR)?;
    Ok((line[start..close].trim().to_string(), at + 1))
}

/// A key as the writer writes it, quoted as go-ini quotes one.
fn quoted(k: &str) -> String {
    if k.contains('"') || k.contains(['=', ':']) {
        format!("`{k}`")
    } else if k.contains('`') {
        format!("\"\"\"{k}\"\"\"")
    } else {
        k.to_string()
    }
}

/// Whether the writer writes `key` so that it reads back as itself. Some
/// keys a quoted key can hold cannot be: an empty one, one starting with
/// `;`, `#` or `[` (written bare, it reads as a comment or a section), one
/// with a backtick and `=`, `:` or `"`. go-ini writes them the same way, so
/// neither sops nor this store could read such a file back.
fn writes_back(key: &str) -> bool {
    let written = quoted(key);
    !key.is_empty()
        && !written.starts_with([';', '#', '['])
        && read_key_name(&format!("{written} =\n"))
            .is_ok_and(|(k, at)| k == key && at == written.len() + 2)
}

/// Whether go-ini can write this comment (as read, markers and all) back
/// so that it reads the same. sops strips the markers and blanks at its
/// start, and go-ini's writer fails on a line left empty (it looks at each
/// line's first byte), which happens when the first comment line is
/// nothing but markers and more lines follow: sops would seal such a file
/// and then fail to open it. A first line left with only tabs is written
/// as a bare `; `, which reads back as such a line: the file would open
/// once and then not seal again.
fn comment_writes_back(comment: &str) -> bool {
    let stripped = strip_comment_char(comment);
    let mut lines = stripped.split('\n');
    let first = lines.next().unwrap_or_default();
    stripped.is_empty() || !first.trim().is_empty() && !lines.any(str::is_empty)
}

const EMPTY_COMMENT_LINE: &str = "a comment that cannot be written back as INI: its first line is only # or ; marks (and blanks) (sops seals it, then writes it back so that it cannot be opened or sealed again); remove that line or give it text";

/// What a plaintext file is read for: only a file to be sealed has its
/// values checked to write back as themselves (a sealed file's values are
/// `ENC[…]`, or were written by whoever sealed it, and are written back as
/// sops would write them).
#[derive(Clone, Copy, PartialEq)]
enum Values {
    Checked,
    AsRead,
}

/// go-ini's `parse`, with the options sops loads INI files with
/// (`AllowNonUniqueSections`): a section header ends at its *last* `]` and
/// its name keeps its blanks; the comment lines above a section or a key,
/// and one after a header or a value, are that section's or key's comment;
/// a key given twice in a section keeps its first place and takes the
/// second value and comment; comment lines at the end of the file are
/// dropped.
fn parse_sections(input: &[u8], values: Values) -> Result<Vec<Section>, Error> {
    let text = std::str::from_utf8(input).map_err(|_| Error::Parse {
        format: Format::Ini,
        line: None,
        reason: "input is not UTF-8".into(),
    })?;
    // go-ini skips a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections = vec![Section {
        name: DEFAULT_SECTION.into(),
        comment: None,
        keys: Vec::new(),
        index: HashMap::new(),
    }];
    let mut comment = WipingString::with_capacity(256);
    let mut auto_increment = 1;
    let mut lines = Lines {
        rest: text.split_inclusive('\n'),
        number: 0,
    };
    while let Some(raw) = lines.next() {
        let n = lines.number;
        let line = raw.trim_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(';') || line.starts_with('#') {
            comment.push_str(line);
            continue;
        }
        if line.starts_with('[') {
            let close = line
                .rfind(']')
                .ok_or_else(|| error_at(n, "unclosed section header"))?;
            let name = &line[1..close];
            if name.is_empty() {
                return Err(error_at(n, "a section name is empty"));
            }
            if let Some(c) = clean_comment(&line[close + 1..]) {
                comment.push_str(c);
            }
            let trimmed = comment.as_str().trim();
            if values == Values::Checked && !comment_writes_back(trimmed) {
                return Err(error_at(n, EMPTY_COMMENT_LINE));
            }
            let section_comment = (!trimmed.is_empty()).then(|| Zeroizing::new(trimmed.into()));
            comment.clear();
            auto_increment = 1;
            sections.push(Section {
                name: name.to_string(),
                comment: section_comment,
                keys: Vec::new(),
                index: HashMap::new(),
            });
            continue;
        }
        let (mut name, at) = read_key_name(line).map_err(|reason| error_at(n, reason))?;
        if name == "-" {
            // go-ini numbers `-` keys #1, #2…: written back, they read as
            // comments, and writes_back refuses them below.
            name = format!("#{auto_increment}");
            auto_increment += 1;
        }
        if !writes_back(&name) {
            return Err(error_at(
                n,
                "a key that cannot be written back as INI (empty, `-`, starting with ; # or [, or holding a backtick with = : or \"): rename it",
            ));
        }
        let value = read_value(&line[at..], &mut lines, &mut comment)?;
        if values == Values::Checked && !value_writes_back(&value) {
            return Err(error_at(
                n,
                "a value that cannot be written back as INI so that it reads the same (it ends in \\, or holds the quote it would be written in, or holds \"\"\" and a line break): sops would change it on decrypt; rewrite it",
            ));
        }
        let key_comment = Zeroizing::new(comment.as_str().trim().to_string());
        if values == Values::Checked && !comment_writes_back(&key_comment) {
            return Err(error_at(n, EMPTY_COMMENT_LINE));
        }
        comment.clear();
        let section = sections
            .last_mut()
            .ok_or_else(|| error_at(n, "no section"))?;
        match section
            .index
            .get(&name)
            .and_then(|&at| section.keys.get_mut(at))
        {
            Some(key) => {
                key.value = value;
                key.comment = key_comment;
            }
            None => {
                section.index.insert(name.clone(), section.keys.len());
                section.keys.push(Key {
                    name,
                    value,
                    comment: key_comment,
                });
            }
        }
    }
    Ok(sections)
}

/// The tree sops makes of go-ini's sections: one branch per section, the
/// default one first even when empty; a section's comment first in its
/// branch, each key's comment after the key, their markers stripped.
fn into_branch(sections: Vec<Section>) -> Branch {
    // A comment that is only markers strips to nothing, which go-ini does
    // not write: sops's tree holds it empty, and it is gone from the file
    // sops writes, sealed or opened. It is left out here from the start.
    let comment = |c: &str| {
        let text = strip_comment_char(c);
        (!text.is_empty()).then(|| Item::Comment(SecretBytes::new(text.as_bytes().to_vec())))
    };
    let mut branch = Branch::new();
    for s in sections {
        let mut b = Branch::new();
        b.items
            .extend(s.comment.as_deref().and_then(|c| comment(c)));
        for key in s.keys {
            b.items.push(Item::Entry {
                key: key.name,
                value: Value::Str(SecretBytes::new(key.value.as_bytes().to_vec())),
            });
            b.items.extend(comment(&key.comment));
        }
        branch.push(s.name, Value::Branch(b));
    }
    branch
}

pub(super) fn parse(input: &[u8]) -> Result<Branch, Error> {
    Ok(into_branch(parse_sections(input, Values::Checked)?))
}

/// Splits an encrypted file into its data and the flattened `[sops]`
/// section (`None` when there is none).
pub(super) fn parse_encrypted(input: &[u8]) -> Result<(Branch, Option<FlatMeta>), Error> {
    let mut sections = parse_sections(input, Values::AsRead)?;
    let meta = sections
        .iter()
        .position(|s| s.name == super::SOPS_KEY)
        .map(|i| sections.remove(i));
    let meta = meta.map(|s| {
        s.keys
            .into_iter()
            .map(|k| (k.name, k.value.to_string()))
            .collect()
    });
    Ok((into_branch(sections), meta))
}

/// go-ini writes a comment line by line, each with a marker: its own
/// `#` or `;` and a blank, else `; `. A key's lines are trimmed, a
/// section's are not. (go-ini fails on an empty line; it is written as a
/// bare marker.)
fn comment_lines(out: &mut WipingString, text: &str, trim: bool) {
    for line in text.split('\n') {
        if line.starts_with('#') || line.starts_with(';') {
            out.push_str(&line[..1]);
            out.push(' ');
            out.push_str(line[1..].trim());
        } else {
            out.push_str("; ");
            out.push_str(if trim { line.trim() } else { line });
        }
        out.push('\n');
    }
}

/// A section as go-ini holds it for writing.
struct SectionOut<'a> {
    name: &'a str,
    comment: Option<Zeroizing<String>>,
    keys: Vec<KeyLine>,
}

fn write_section(out: &mut WipingString, first: bool, section: &SectionOut<'_>) {
    // go-ini writes no empty comment (one that was only markers).
    if let Some(c) = section.comment.as_ref().filter(|c| !c.is_empty()) {
        comment_lines(out, c, false);
    }
    // go-ini writes no header for a default section that comes first, and
    // nothing more when it has no keys.
    if !first || !section.name.eq_ignore_ascii_case(DEFAULT_SECTION) {
        out.push('[');
        out.push_str(section.name);
        out.push_str("]\n");
    } else if section.keys.is_empty() {
        return;
    }
    let align = section
        .keys
        .iter()
        .map(|(k, _, _)| quoted(k).len())
        .max()
        .unwrap_or(0);
    for (k, v, c) in &section.keys {
        if let Some(c) = c.as_ref().filter(|c| !c.is_empty()) {
            comment_lines(out, c, true);
        }
        let k = quoted(k);
        out.push_str(&k);
        out.push_repeated(b' ', align - k.len());
        out.push_str(" = ");
        // Written piece by piece: no temporary copy of the value.
        let quote = value_quote(v);
        out.push_str(quote);
        out.push_str(v);
        out.push_str(quote);
        out.push('\n');
    }
}

/// sops's `encodeTree` and go-ini's `WriteTo`: each top-level entry a
/// section (a branch's first comment is the section's; each later one is
/// the comment of the key before it, the last one wins), a key given twice
/// written once in its first place with its last value, `=` signs aligned
/// within a section, and a blank line after every section but the last.
pub(super) fn emit(branch: &Branch, meta: Option<&[(String, String)]>) -> Result<Vec<u8>, Error> {
    let mut sections = Vec::new();
    for item in &branch.items {
        let Item::Entry { key, value } = item else {
            continue;
        };
        let Value::Branch(section) = value else {
            return Err(Error::UnsupportedValue {
                path: key.clone().into(),
                reason: "INI top-level values must be sections",
            });
        };
        let mut items = section.items.iter().peekable();
        let mut comment = None;
        if let Some(Item::Comment(c)) = items.peek() {
            comment = Some(Zeroizing::new(
                String::from_utf8_lossy(c.expose_secret()).into_owned(),
            ));
            items.next();
        }
        let mut keys: Vec<KeyLine> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut last = None;
        for i in items {
            match i {
                Item::Comment(c) => {
                    if let Some(last) = last.and_then(|at: usize| keys.get_mut(at)) {
                        last.2 = Some(Zeroizing::new(
                            String::from_utf8_lossy(c.expose_secret()).into_owned(),
                        ));
                    }
                }
                Item::Entry { key: k, value: v } => {
                    let text = val_to_string(v, &format!("{key}:{k}"))?;
                    let text = Zeroizing::new(String::from_utf8_lossy(&text).into_owned());
                    if let Some(&at) = index.get(k.as_str()) {
                        if let Some(key) = keys.get_mut(at) {
                            key.1 = text;
                        }
                        last = Some(at);
                    } else {
                        index.insert(k, keys.len());
                        keys.push((k.clone(), text, None));
                        last = Some(keys.len() - 1);
                    }
                }
            }
        }
        sections.push(SectionOut {
            name: key,
            comment,
            keys,
        });
    }
    if let Some(meta) = meta {
        sections.push(SectionOut {
            name: super::SOPS_KEY,
            comment: None,
            keys: meta
                .iter()
                .map(|(k, v)| (k.clone(), Zeroizing::new(v.clone()), None))
                .collect(),
        });
    }
    let mut out = WipingString::with_capacity(capacity_for([branch]));
    for (i, section) in sections.iter().enumerate() {
        write_section(&mut out, i == 0, section);
        let skipped =
            i == 0 && section.keys.is_empty() && section.name.eq_ignore_ascii_case(DEFAULT_SECTION);
        if i + 1 < sections.len() && !skipped {
            out.push('\n');
        }
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the reader takes is one the writer writes back as itself;
    /// the others are refused, with the line, before anything is sealed.
    #[test]
    fn a_key_that_cannot_be_written_back_is_refused() {
        let good = b"[s]\n\"\"\"a`b\"\"\" = 1\n`c=d` = 2\n`g\"h` = 3\n\"i j\" = 4\na#b = 5\n";
        let branch = parse(good).unwrap();
        let written = emit(&branch, None).unwrap();
        let again = parse(&written).unwrap();
        assert_eq!(emit(&again, None).unwrap(), written);
        for (bad, line, why) in [
            (
                &b"[s]\n\"\"\"a`=b\"\"\" = 1\n"[..],
                2,
                "cannot be written back",
            ),
            (b"\";x\" = 1\n", 1, "cannot be written back"),
            (b"\"#x\" = 1\n", 1, "cannot be written back"),
            (b"\"[x\" = 1\n", 1, "cannot be written back"),
            (b"\"\" = 1\n", 1, "cannot be written back"),
            (b"[s]\n-=a\n", 2, "cannot be written back"),
            (b"a = 1\n= 2\n", 2, "a key is empty"),
        ] {
            match parse(bad) {
                Err(Error::Parse {
                    line: at, reason, ..
                }) => {
                    assert_eq!(at, Some(line), "{reason}");
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
            }
        }
    }

    fn section<'a>(branch: &'a Branch, name: &str) -> &'a Branch {
        branch
            .items
            .iter()
            .find_map(|i| match i {
                Item::Entry {
                    key,
                    value: Value::Branch(b),
                } if key == name => Some(b),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no section {name:?}"))
    }

    /// Keys and values, and comments as `#text`, in order.
    fn items(branch: &Branch) -> Vec<String> {
        branch
            .items
            .iter()
            .map(|i| match i {
                Item::Entry {
                    key,
                    value: Value::Str(v),
                } => format!("{key}={}", String::from_utf8_lossy(v.expose_secret())),
                Item::Entry { key, .. } => format!("{key}: not a string"),
                Item::Comment(c) => format!("#{}", String::from_utf8_lossy(c.expose_secret())),
            })
            .collect()
    }

    /// What go-ini (gopkg.in/ini.v1 `readValue`, sops's options) makes of
    /// values; `tests/sops_interop.rs` holds the same inputs to the real
    /// sops.
    #[test]
    fn values_read_as_go_ini_reads_them() {
        let input = concat!(
            "[v]\n",
            "inner=\"a \"b\" c\"#x\n",
            "single = 'sq'\n",
            "double = \"dq\"\n",
            "mixed = 'a'b'\n",
            "tick = `abc` dropped ; also dropped\n",
            "triple = \"\"\"x\"\"\"y\"\"\" dropped\n",
            "multi = \"\"\"one\n",
            "two\"\"\" ; after\n",
            "cont = a\\\\\n",
            "  b\\\\\n",
            " c\n",
            "\n",
            "vt = x\u{b}y\n",
            "crlf = v\r\n",
        );
        let branch = parse(input.as_bytes()).unwrap();
        assert_eq!(
            items(section(&branch, "v")),
            [
                "inner=\"a \"b\" c\"",
                "#x",
                "single=sq",
                "double=dq",
                "mixed='a'b'",
                "tick=abc",
                "triple=x\"\"\"y",
                "multi=one\ntwo",
                "#after",
                "cont=a\\b\\c",
                "vt=x\u{b}y",
                "crlf=v",
            ]
        );
    }

    /// A key given again is found by its name, not by a search through the
    /// section: 100,000 keys, each given twice, are read (and written) in
    /// one pass each, the second value kept in the first place.
    #[test]
    fn many_keys_given_twice_keep_their_first_place_and_last_value() {
        let n = 100_000;
        let mut input = String::from("[s]\n");
        for round in ["first", "second"] {
            for i in 0..n {
                input.push_str(&format!("k{i} = {round}{i}\n"));
            }
        }
        let branch = parse(input.as_bytes()).unwrap();
        let keys = items(section(&branch, "s"));
        assert_eq!(keys.len(), n);
        assert_eq!(keys[0], "k0=second0");
        assert_eq!(keys[n - 1], format!("k{}=second{}", n - 1, n - 1));
        let written = emit(&branch, None).unwrap();
        assert_eq!(written.iter().filter(|&&b| b == b'\n').count(), n + 1);
    }

    /// Section headers, comments and repeated keys, as go-ini reads them.
    #[test]
    fn sections_and_comments_read_as_go_ini_reads_them() {
        let input = "\u{feff}top = 1\n; one\n  # two  \n[ a ]  # after\nk = 1 ; first\nk = 2\nj = 3\n# dropped\n[b]c] ; sc\n# at the end\n";
        let branch = parse(input.as_bytes()).unwrap();
        let names: Vec<&str> = branch
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Entry { key, .. } => Some(key.as_str()),
                Item::Comment(_) => None,
            })
            .collect();
        assert_eq!(names, ["DEFAULT", " a ", "b]c"]);
        assert_eq!(items(section(&branch, "DEFAULT")), ["top=1"]);
        assert_eq!(
            items(section(&branch, " a ")),
            ["#one\n# two  \n# after", "k=2", "j=3"]
        );
        assert_eq!(items(section(&branch, "b]c")), ["#dropped\n; sc"]);
    }

    /// A value the writer cannot write so that it reads back the same is
    /// refused, with its line, before it is sealed; the writer's own quoting
    /// reads back for every other value.
    #[test]
    fn a_value_that_cannot_be_written_back_is_refused() {
        for good in [
            "plain",
            "",
            " lead",
            "trail ",
            "a#b",
            "a;b",
            "x\ny",
            "`t`",
            "\"q",
            "a\"\"\"b",
            "x\ny\"\"\"z",
            "c:\\dir\\x",
        ] {
            assert!(value_writes_back(good), "{good:?}");
        }
        for bad in [
            "ends\\",
            "\"q\"",
            "'s'",
            " \"in\" ",
            "a\"\"\"b\nc",
            "\"\"\"x",
        ] {
            assert!(!value_writes_back(bad), "{bad:?}");
        }
        match parse(b"[s]\nok = 1\nk = a\\\\\n") {
            Err(Error::Parse {
                line: Some(3),
                reason,
                ..
            }) => assert!(reason.contains("cannot be written back"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // A sealed file is read as it stands, to be written as sops would.
        assert!(parse_encrypted(b"[s]\nk = a\\\\\n").is_ok());
    }

    #[test]
    fn go_ini_layout() {
        let input = b"; database section comment\n[database]\nuser = admin\npassword = hunter2\nport = 5432\n\n[server]\nhost_unencrypted = example.com\ntoken = abc123\n";
        let b = parse(input).unwrap();
        let out = String::from_utf8(emit(&b, None).unwrap()).unwrap();
        assert_eq!(
            out,
            "; database section comment\n[database]\nuser     = admin\npassword = hunter2\nport     = 5432\n\n[server]\nhost_unencrypted = example.com\ntoken            = abc123\n"
        );
    }
}
