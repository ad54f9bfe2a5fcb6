//! INI store (sops: `stores/ini/store.go` on gopkg.in/ini.v1).
//!
//! Each section is a top-level key whose value is a branch of strings. A
//! section's comment becomes the first comment of its branch; a key's comment
//! comes after the key. Output follows go-ini's `WriteTo`: `key = value` with
//! the `=` signs aligned within a section, comments written as `; text`, and a
//! blank line after every section. The metadata goes in a final `[sops]`
//! section (sops writes it in map order, which is random; we sort).

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

/// go-ini's value reading: surrounding quotes removed, an unquoted value
/// cut at the first `#` or `;` (an inline comment).
fn read_value(raw: &str) -> (String, Option<String>) {
    let raw = raw.trim();
    for q in ["\"\"\"", "`", "\"", "'"] {
        if raw.len() >= 2 * q.len() && raw.starts_with(q) && raw.ends_with(q) {
            return (raw[q.len()..raw.len() - q.len()].to_string(), None);
        }
    }
    match raw.find(['#', ';']) {
        Some(i) => (raw[..i].trim().to_string(), Some(raw[i..].to_string())),
        None => (raw.to_string(), None),
    }
}

struct Section {
    name: String,
    comment: Option<String>,
    items: Vec<Item>,
}

/// A line's key and what follows its `=` or `:`, as go-ini's `readKeyName`
/// reads them: a key may be quoted with `"""`, `"` or a backtick (as the
/// writer quotes one holding `=`, `:`, `"` or a backtick), and then the
/// delimiter is the first one after the closing quote. Blanks around the
/// key go, inside the quotes too: the writer does not quote them back, so
/// a key read as " s" would be written as "s" and no longer match the
/// additional data its value was encrypted with.
fn read_key_name(line: &str) -> Result<(String, &str), &'static str> {
    const NOT_A_PAIR: &str = "line is neither a section, a comment nor key = value";
    let quote = if line.len() > 6 && line.starts_with("\"\"\"") {
        "\"\"\""
    } else if line.starts_with('"') {
        "\""
    } else if line.starts_with('`') {
        "`"
    } else {
        ""
    };
    if quote.is_empty() {
        let at = line.find(['=', ':']).ok_or(NOT_A_PAIR)?;
        let (key, rest) = line.split_at(at);
        return Ok((key.trim().to_string(), rest.get(1..).unwrap_or_default()));
    }
    let inner = line.get(quote.len()..).unwrap_or_default();
    let close = inner
        .find(quote)
        .ok_or("a quoted key has no closing quote")?;
    let (key, rest) = inner.split_at(close);
    let rest = rest.get(quote.len()..).unwrap_or_default();
    let at = rest.find(['=', ':']).ok_or(NOT_A_PAIR)?;
    Ok((
        key.trim().to_string(),
        rest.get(at + 1..).unwrap_or_default(),
    ))
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
        && read_key_name(&format!("{written} =")).is_ok_and(|(k, rest)| k == key && rest.is_empty())
}

fn parse_sections(input: &[u8]) -> Result<Vec<Section>, Error> {
    let text = std::str::from_utf8(input).map_err(|_| Error::Parse {
        format: Format::Ini,
        line: None,
        reason: "input is not UTF-8".into(),
    })?;
    let mut sections = vec![Section {
        name: DEFAULT_SECTION.into(),
        comment: None,
        items: Vec::new(),
    }];
    let mut pending: Vec<String> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(';') || line.starts_with('#') {
            pending.push(line.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .split_once(']')
                .map(|(n, _)| n.trim())
                .ok_or(Error::Parse {
                    format: Format::Ini,
                    line: Some(n + 1),
                    reason: "unclosed section header".into(),
                })?;
            let comment = (!pending.is_empty()).then(|| pending.join("\n"));
            pending.clear();
            sections.push(Section {
                name: name.to_string(),
                comment,
                items: Vec::new(),
            });
            continue;
        }
        let (key, after) = read_key_name(line).map_err(|reason| Error::Parse {
            format: Format::Ini,
            line: Some(n + 1),
            reason: reason.into(),
        })?;
        if !writes_back(&key) {
            return Err(Error::Parse {
                format: Format::Ini,
                line: Some(n + 1),
                reason: "a key that cannot be written back as INI (empty, starting with ; # or [, or holding a backtick with = : or \"): rename it".into(),
            });
        }
        let raw = after.trim_start();
        let (value, inline) = match raw.strip_prefix("\"\"\"") {
            // go-ini `readMultilines`: a `"""` value without its closing
            // quotes on this line goes on, line breaks kept, to the line
            // that has them.
            Some(first) if !first.contains("\"\"\"") => {
                let mut value = first.to_string();
                loop {
                    let Some((_, next)) = lines.next() else {
                        return Err(Error::Parse {
                            format: Format::Ini,
                            line: Some(n + 1),
                            reason: "a \"\"\" value has no closing \"\"\"".into(),
                        });
                    };
                    value.push('\n');
                    if let Some(end) = next.rfind("\"\"\"") {
                        value.push_str(&next[..end]);
                        break;
                    }
                    value.push_str(next);
                }
                (value, None)
            }
            _ => read_value(raw),
        };
        let mut comment_lines = std::mem::take(&mut pending);
        comment_lines.extend(inline);
        let section = sections.last_mut().ok_or(Error::Parse {
            format: Format::Ini,
            line: Some(n + 1),
            reason: "no section".into(),
        })?;
        section.items.push(Item::Entry {
            key,
            value: Value::Str(SecretBytes::new(value.into_bytes())),
        });
        if !comment_lines.is_empty() {
            let joined = comment_lines.join("\n");
            section.items.push(Item::Comment(SecretBytes::new(
                strip_comment_char(&joined).as_bytes().to_vec(),
            )));
        }
    }
    Ok(sections)
}

fn into_branch(sections: Vec<Section>) -> Branch {
    let mut branch = Branch::new();
    for s in sections {
        if s.name == DEFAULT_SECTION && s.items.is_empty() && s.comment.is_none() {
            continue;
        }
        let mut b = Branch::new();
        if let Some(c) = &s.comment {
            b.items.push(Item::Comment(SecretBytes::new(
                strip_comment_char(c).as_bytes().to_vec(),
            )));
        }
        b.items.extend(s.items);
        branch.push(s.name, Value::Branch(b));
    }
    branch
}

pub(super) fn parse(input: &[u8]) -> Result<Branch, Error> {
    Ok(into_branch(parse_sections(input)?))
}

/// Splits an encrypted file into its data and the flattened `[sops]`
/// section (`None` when there is none).
pub(super) fn parse_encrypted(input: &[u8]) -> Result<(Branch, Option<FlatMeta>), Error> {
    let mut sections = parse_sections(input)?;
    let meta = sections
        .iter()
        .position(|s| s.name == super::SOPS_KEY)
        .map(|i| sections.remove(i));
    let meta = meta.map(|s| {
        s.items
            .into_iter()
            .filter_map(|i| match i {
                Item::Entry {
                    key,
                    value: Value::Str(v),
                } => Some((key, String::from_utf8_lossy(v.expose_secret()).into_owned())),
                _ => None,
            })
            .collect()
    });
    Ok((into_branch(sections), meta))
}

fn comment_lines(out: &mut WipingString, text: &str) {
    for line in text.split('\n') {
        if line.starts_with('#') || line.starts_with(';') {
            out.push_str(&line[..1]);
            out.push(' ');
            out.push_str(line[1..].trim());
        } else {
            out.push_str("; ");
            out.push_str(line.trim());
        }
        out.push('\n');
    }
}

fn write_section(out: &mut WipingString, name: &str, comment: Option<&str>, keys: &[KeyLine]) {
    if name == DEFAULT_SECTION && keys.is_empty() {
        return;
    }
    // go-ini puts a blank line between sections, none after the last.
    if !out.is_empty() {
        out.push('\n');
    }
    if let Some(c) = comment {
        comment_lines(out, c);
    }
    if name != DEFAULT_SECTION {
        out.push('[');
        out.push_str(name);
        out.push_str("]\n");
    }
    let align = keys
        .iter()
        .map(|(k, _, _)| quoted(k).len())
        .max()
        .unwrap_or(0);
    for (k, v, c) in keys {
        if let Some(c) = c {
            comment_lines(out, c);
        }
        let k = quoted(k);
        out.push_str(&k);
        out.push_repeated(b' ', align - k.len());
        out.push_str(" = ");
        // Written piece by piece: no temporary copy of the value.
        let quote = if v.contains(['\n', '`']) {
            "\"\"\""
        } else if v.contains(['#', ';']) {
            "`"
        } else if v.trim().len() != v.len() {
            "\""
        } else {
            ""
        };
        out.push_str(quote);
        out.push_str(v);
        out.push_str(quote);
        out.push('\n');
    }
}

pub(super) fn emit(branch: &Branch, meta: Option<&[(String, String)]>) -> Result<Vec<u8>, Error> {
    let mut out = WipingString::with_capacity(capacity_for([branch]));
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
        for i in items {
            match i {
                // go-ini keeps one comment per key and writes it above the
                // key; sops attaches a comment to the key before it.
                Item::Comment(c) => {
                    if let Some(last) = keys.last_mut() {
                        last.2 = Some(Zeroizing::new(
                            String::from_utf8_lossy(c.expose_secret()).into_owned(),
                        ));
                    }
                }
                Item::Entry { key: k, value: v } => {
                    let text = val_to_string(v, &format!("{key}:{k}"))?;
                    keys.push((
                        k.clone(),
                        Zeroizing::new(String::from_utf8_lossy(&text).into_owned()),
                        None,
                    ));
                }
            }
        }
        write_section(&mut out, key, comment.as_deref().map(String::as_str), &keys);
    }
    if let Some(meta) = meta {
        let keys: Vec<KeyLine> = meta
            .iter()
            .map(|(k, v)| (k.clone(), Zeroizing::new(v.clone()), None))
            .collect();
        write_section(&mut out, super::SOPS_KEY, None, &keys);
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
        for (bad, line) in [
            (&b"[s]\n\"\"\"a`=b\"\"\" = 1\n"[..], 2),
            (b"\";x\" = 1\n", 1),
            (b"\"#x\" = 1\n", 1),
            (b"\"[x\" = 1\n", 1),
            (b"\"\" = 1\n", 1),
            (b"a = 1\n= 2\n", 2),
        ] {
            match parse(bad) {
                Err(Error::Parse {
                    line: at, reason, ..
                }) => {
                    assert_eq!(at, Some(line), "{reason}");
                    assert!(reason.contains("cannot be written back"), "{reason}");
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
            }
        }
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
