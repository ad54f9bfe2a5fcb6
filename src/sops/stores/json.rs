//! JSON store (sops: `stores/json/store.go`).
//!
//! Reading keeps key order and, as sops 3.11 does, reads **every number as a
//! float** (Go's token decoder without `UseNumber`), so `42` is encrypted as
//! `type:float`. Writing reproduces Go: values escaped by `json.Marshal`
//! (HTML-safe: `<`, `>`, `&`, U+2028, U+2029 escaped), then `json.Indent`
//! with one tab per level, and a final newline.

use serde_json::Value as Json;

use zeroize::Zeroizing;

use super::super::tree::{Branch, Item, ListElement, Value, json_format_float};
use super::super::{Error, Format};
use super::wiping::{WipingBuf, capacity_for};
use crate::secret::SecretBytes;

pub(super) fn parse(input: &[u8]) -> Result<Branch, Error> {
    let json: Json = serde_json::from_slice(input).map_err(|e| Error::Parse {
        format: Format::Json,
        line: Some(e.line()),
        reason: e.classify_str().to_string(),
    })?;
    match json {
        Json::Object(_) => match convert(json) {
            Value::Branch(b) => Ok(b),
            _ => Err(Error::NotAMapping { document: 0 }),
        },
        _ => Err(Error::NotAMapping { document: 0 }),
    }
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    // The parser's own message can quote input; keep only its category.
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "unexpected end of input",
        }
    }
}

fn convert(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        // sops 3.11: every JSON number is a float64.
        Json::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Value::Str(SecretBytes::new(s.into_bytes())),
        Json::Array(a) => Value::List(
            a.into_iter()
                .map(|v| ListElement::Value(convert(v)))
                .collect(),
        ),
        Json::Object(o) => {
            let mut b = Branch::new();
            for (k, v) in o {
                b.push(k, convert(v));
            }
            Value::Branch(b)
        }
    }
}

pub(super) fn emit(branch: &Branch) -> Result<Vec<u8>, Error> {
    let mut out = WipingBuf::with_capacity(capacity_for([branch]));
    write_branch(&mut out, branch, 0, &mut Vec::new())?;
    out.push(b'\n');
    Ok(out.into_vec())
}

fn indent(out: &mut WipingBuf, level: usize) {
    out.push(b'\n');
    out.push_repeated(b'\t', level);
}

fn write_branch(
    out: &mut WipingBuf,
    b: &Branch,
    level: usize,
    path: &mut Vec<String>,
) -> Result<(), Error> {
    let entries: Vec<(&String, &Value)> = b
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Entry { key, value } => Some((key, value)),
            Item::Comment(_) => None,
        })
        .collect();
    if entries.is_empty() {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    out.push(b'{');
    for (n, (k, v)) in entries.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        indent(out, level + 1);
        write_string(out, k.as_bytes());
        out.extend_from_slice(b": ");
        path.push((*k).clone());
        let r = write_value(out, v, level + 1, path);
        path.pop();
        r?;
    }
    indent(out, level);
    out.push(b'}');
    Ok(())
}

fn write_value(
    out: &mut WipingBuf,
    v: &Value,
    level: usize,
    path: &mut Vec<String>,
) -> Result<(), Error> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => {
            let s = json_format_float(*f).ok_or_else(|| Error::UnsupportedValue {
                path: path.join(":"),
                reason: "JSON cannot hold NaN or infinity",
            })?;
            out.extend_from_slice(s.as_bytes());
        }
        Value::Str(s) => write_string(out, s.expose_secret()),
        Value::Time(t) => write_string(out, t.as_str().as_bytes()),
        Value::Branch(b) => write_branch(out, b, level, path)?,
        Value::List(l) => {
            let values: Vec<&Value> = l
                .iter()
                .filter_map(|e| match e {
                    ListElement::Value(v) => Some(v),
                    ListElement::Comment(_) => None,
                })
                .collect();
            if values.is_empty() {
                out.extend_from_slice(b"[]");
                return Ok(());
            }
            out.push(b'[');
            for (n, v) in values.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                indent(out, level + 1);
                write_value(out, v, level + 1, path)?;
            }
            indent(out, level);
            out.push(b']');
        }
    }
    Ok(())
}

/// Go `encoding/json` string encoding with `escapeHTML` (Go 1.22+ also
/// writes `\b` and `\f` short forms). Invalid UTF-8 becomes U+FFFD.
pub(super) fn write_string(out: &mut WipingBuf, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Borrowed when the bytes are UTF-8; otherwise a repaired copy, wiped.
    let repaired;
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            repaired = Zeroizing::new(String::from_utf8_lossy(bytes).into_owned());
            repaired.as_str()
        }
    };
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u32 as u8;
                out.extend_from_slice(b"\\u00");
                // Both nibbles are below 16, the length of HEX.
                for nibble in [b >> 4, b & 0xf] {
                    if let Some(&digit) = HEX.get(usize::from(nibble)) {
                        out.push(digit);
                    }
                }
            }
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_matches_go_layout() {
        let input = "{\n\t\"name\": \"demo\",\n\t\"count\": 42,\n\t\"e\": {},\n\t\"l\": [],\n\t\"list\": [\n\t\t\"x\",\n\t\t1.5,\n\t\t{\n\t\t\t\"inner\": null\n\t\t}\n\t]\n}\n";
        let b = parse(input.as_bytes()).unwrap();
        assert!(matches!(b.get("count"), Some(Value::Float(f)) if *f == 42.0));
        assert_eq!(String::from_utf8(emit(&b).unwrap()).unwrap(), input);
    }

    #[test]
    fn strings_are_escaped_like_go() {
        let mut out = WipingBuf::with_capacity(1);
        write_string(&mut out, "a<b & c>d\u{2028}\u{1}é\"\\".as_bytes());
        assert_eq!(
            String::from_utf8(out.into_vec()).unwrap(),
            "\"a\\u003cb \\u0026 c\\u003ed\\u2028\\u0001é\\\"\\\\\""
        );
    }

    #[test]
    fn top_level_must_be_an_object() {
        assert!(matches!(parse(b"[1]"), Err(Error::NotAMapping { .. })));
        assert!(matches!(parse(b"{"), Err(Error::Parse { .. })));
    }
}
