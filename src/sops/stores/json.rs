//! JSON store (sops: `stores/json/store.go`).
//!
//! Reading keeps key order and duplicate keys and, as sops 3.11 does, reads
//! **every number as a float** (Go's token decoder without `UseNumber`), so `42` is encrypted as
//! `type:float`. Writing reproduces Go: values escaped by `json.Marshal`
//! (HTML-safe: `<`, `>`, `&`, U+2028, U+2029 escaped), then `json.Indent`
//! with one tab per level, and a final newline.

use std::cell::{Cell, RefCell};

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use zeroize::Zeroizing;

use super::super::tree::NumberText;
use super::super::tree::{Branch, Item, ListElement, Value, json_format_float};
use super::super::{Error, Format};
use super::wiping::{WipingBuf, capacity_for};
use crate::secret::SecretBytes;

pub(super) fn parse(input: &[u8]) -> Result<Branch, Error> {
    let numbers = number_texts(input);
    let state = State {
        numbers,
        next_number: Cell::new(0),
        problem: RefCell::new(None),
    };
    let mut de = serde_json::Deserializer::from_slice(input);
    let parsed = Node { state: &state }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(Value::Branch(b)) => Ok(b),
        Ok(_) => Err(Error::NotAMapping { document: 0 }),
        Err(e) => Err(Error::Parse {
            format: Format::Json,
            line: Some(e.line()),
            reason: state.problem.take().unwrap_or_else(|| reason(&e)),
        }),
    }
}

/// What to say about a parse error. serde_json's own messages name the
/// problem, never the input; the two that sops would get past by changing
/// the data say so.
fn reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    // serde_json reports a lone leading surrogate as an escape cut short.
    if message.contains("surrogate") || message.starts_with("unexpected end of hex escape") {
        "a \\u escape is a lone UTF-16 surrogate, which is no character: sops 3.11 would replace \
         it with U+FFFD and so change the value; write a valid surrogate pair or the character"
            .into()
    } else if message.starts_with("trailing characters") {
        "there is more after the JSON document: sops 3.11 would drop it silently; remove it or \
         make it part of the document"
            .into()
    } else {
        e.classify_str().into()
    }
}

/// The reader's state, shared by every level of the tree it builds.
struct State {
    /// The text of every number in the input, in order (see
    /// [`number_texts`]), to tell whether a float64 holds it exactly.
    numbers: Vec<NumberText>,
    next_number: Cell<usize>,
    /// A refusal of ours (a rounded number), kept apart from serde_json's
    /// message, which would add its own position text.
    problem: RefCell<Option<String>>,
}

/// The text of every number token, in order, outside strings. serde_json
/// reads the same tokens in the same order, so the n-th number it hands
/// over was written as the n-th text here.
fn number_texts(input: &[u8]) -> Vec<NumberText> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'"' => {
                i += 1;
                while let Some(&c) = input.get(i) {
                    i += if c == b'\\' { 2 } else { 1 };
                    if c == b'"' {
                        break;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while matches!(
                    input.get(i),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    i += 1;
                }
                let text = input
                    .get(start..i)
                    .and_then(|t| std::str::from_utf8(t).ok());
                if let Some(n) = text.and_then(NumberText::parse) {
                    out.push(n);
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// One value of the tree, read straight from the tokens: objects keep every
/// key in file order, duplicates too (sops reads JSON with a token decoder
/// and keeps both, and its MAC covers both), and every number is a float64
/// (3.11 reads no integers), refused where that float is not the number
/// written (sops would write back another one).
struct Node<'s> {
    state: &'s State,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Node<'_> {
    fn number<E: serde::de::Error>(&self, f: f64) -> Result<Value, E> {
        let index = self.state.next_number.get();
        self.state.next_number.set(index + 1);
        let exact = match (self.state.numbers.get(index), NumberText::of_float(f)) {
            (Some(written), Some(held)) => *written == held,
            _ => false,
        };
        if !exact {
            // The error gives the line; not the key path, which is the
            // input's text (and might be anything pasted there).
            let message = "a number here cannot be held exactly in a 64-bit float, which is how \
                 sops 3.11 reads every JSON number: it would come back as another number; \
                 write it as a string"
                .to_owned();
            *self.state.problem.borrow_mut() = Some(message.clone());
            return Err(E::custom(message));
        }
        Ok(Value::Float(f))
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<Value, E> {
        #[allow(clippy::cast_precision_loss)]
        self.number(i as f64)
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Value, E> {
        #[allow(clippy::cast_precision_loss)]
        self.number(u as f64)
    }

    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Value, E> {
        self.number(f)
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(SecretBytes::from_slice(s.as_bytes())))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        // Moved, not copied: the buffer is wiped with the value.
        Ok(Value::Str(SecretBytes::new(s.into_bytes())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(v) = seq.next_element_seed(Node { state: self.state })? {
            list.push(ListElement::Value(v));
        }
        Ok(Value::List(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut b = Branch::new();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(Node { state: self.state });
            b.push(key, v?);
        }
        Ok(Value::Branch(b))
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

/// Writes the branch as sops does: `json.Marshal`, then `json.Indent` with
/// one tab per level, or `spaces` spaces (`stores: json: indent:`).
pub(super) fn emit(branch: &Branch, spaces: Option<usize>) -> Result<Vec<u8>, Error> {
    let mut w = Writer {
        out: WipingBuf::with_capacity(capacity_for([branch])),
        indent: match spaces {
            None => (b'\t', 1),
            Some(n) => (b' ', n),
        },
    };
    w.write_branch(branch, 0, &mut Vec::new())?;
    w.out.push(b'\n');
    Ok(w.out.into_vec())
}

struct Writer {
    out: WipingBuf,
    /// The indent unit: the byte and how many of it per level.
    indent: (u8, usize),
}

impl Writer {
    fn newline(&mut self, level: usize) {
        self.out.push(b'\n');
        self.out
            .push_repeated(self.indent.0, self.indent.1.saturating_mul(level));
    }

    fn write_branch(
        &mut self,
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
            self.out.extend_from_slice(b"{}");
            return Ok(());
        }
        self.out.push(b'{');
        for (n, (k, v)) in entries.iter().enumerate() {
            if n > 0 {
                self.out.push(b',');
            }
            self.newline(level + 1);
            write_string(&mut self.out, k.as_bytes());
            self.out.extend_from_slice(b": ");
            path.push((*k).clone());
            let r = self.write_value(v, level + 1, path);
            path.pop();
            r?;
        }
        self.newline(level);
        self.out.push(b'}');
        Ok(())
    }

    fn write_value(
        &mut self,
        v: &Value,
        level: usize,
        path: &mut Vec<String>,
    ) -> Result<(), Error> {
        match v {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Value::Float(f) => {
                let s = json_format_float(*f).ok_or_else(|| Error::UnsupportedValue {
                    path: path.join(":").into(),
                    reason: "JSON cannot hold NaN or infinity",
                })?;
                self.out.extend_from_slice(s.as_bytes());
            }
            Value::Str(s) => write_string(&mut self.out, s.expose_secret()),
            Value::Time(t) => write_string(&mut self.out, t.as_str().as_bytes()),
            Value::Branch(b) => self.write_branch(b, level, path)?,
            Value::List(l) => {
                let values: Vec<&Value> = l
                    .iter()
                    .filter_map(|e| match e {
                        ListElement::Value(v) => Some(v),
                        ListElement::Comment(_) => None,
                    })
                    .collect();
                if values.is_empty() {
                    self.out.extend_from_slice(b"[]");
                    return Ok(());
                }
                self.out.push(b'[');
                for (n, v) in values.iter().enumerate() {
                    if n > 0 {
                        self.out.push(b',');
                    }
                    self.newline(level + 1);
                    self.write_value(v, level + 1, path)?;
                }
                self.newline(level);
                self.out.push(b']');
            }
        }
        Ok(())
    }
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
        assert_eq!(String::from_utf8(emit(&b, None).unwrap()).unwrap(), input);
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
