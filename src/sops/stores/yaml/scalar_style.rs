//! How go-yaml v3 writes one scalar: the style it picks for a string
//! (plain, single-quoted, double-quoted or `|` literal block; `encode.go`
//! `stringv`, then `yaml_emitter_analyze_scalar` and the emitter's style
//! selection), double-quote escaping, `!!binary` for bytes that are not
//! UTF-8, and the text of non-string values.
//!
//! Block context only: the writer emits no flow collection apart from the
//! empty `{}` and `[]`. Where a scalar goes (columns, `key:`, `- `, block
//! scalar lines) is `emit.rs`.

use std::fmt::Write as _;

use base64::Engine;
use zeroize::Zeroizing;

use super::resolve::{Resolved, resolve};
use crate::sops::tree::{Value, yaml_format_float};

#[derive(Debug, PartialEq)]
struct ScalarAnalysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_printable(c: char) -> bool {
    // go-yaml is_printable, with the emitter in unicode mode.
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}')
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

/// go-yaml `is_break`: the line breaks YAML knows.
pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml `yaml_emitter_analyze_scalar` (block context only).
fn analyze(value: &str) -> ScalarAnalysis {
    // Most values written are `ENC[…]` strings, base64 and the like:
    // printable ASCII without a blank. Then only an indicator at either end
    // matters (no `#` or `:` has a blank before or after it), and the
    // character walk below is not needed (it was 4% of a `rotate`).
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()) {
        return ScalarAnalysis {
            multiline: false,
            block_plain_allowed: !has_end_indicator(value),
            single_quoted_allowed: true,
            block_allowed: true,
        };
    }
    analyze_chars(value)
}

/// For a value of printable ASCII without a blank: whether go-yaml's
/// analysis finds a block indicator in it, which can only be at its start
/// or its end.
fn has_end_indicator(value: &str) -> bool {
    let bytes = value.as_bytes();
    value.starts_with("---")
        || value.starts_with("...")
        || value.ends_with(':')
        || match bytes {
            [b'?' | b':' | b'-'] => true,
            [first, ..] => matches!(
                first,
                b'#' | b','
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'&'
                    | b'*'
                    | b'!'
                    | b'|'
                    | b'>'
                    | b'\''
                    | b'"'
                    | b'%'
                    | b'@'
                    | b'`'
            ),
            [] => false,
        }
}

/// The whole of go-yaml's analysis, character by character.
fn analyze_chars(value: &str) -> ScalarAnalysis {
    if value.is_empty() {
        return ScalarAnalysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    // One pass over the characters, looking one ahead; no copy of the
    // value is made (it may be a secret, and a copy would need wiping).
    let mut chars = value.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let followed_by_ws = next.is_none_or(|n| n == ' ' || n == '\t' || is_break(n));
        let last = next.is_none();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_ws => block_indicators = true,
                '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = ScalarAnalysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks {
        a.block_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// go-yaml v3 `isOldBool` (`encode.go`): a YAML 1.1 bool, which go-yaml
/// double-quotes so that a YAML 1.1 reader keeps it a string.
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// go-yaml v3 `isBase60Float` (`encode.go`): a YAML 1.1 sexagesimal
/// number, double-quoted for the same reason.
fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (head, frac) = match s.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (s, None),
    };
    if frac.is_some_and(|f| !f.chars().all(|c| c.is_ascii_digit() || c == '_')) {
        return false;
    }
    let mut parts = head.split(':');
    let first = parts.next().unwrap_or("");
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !first.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// A string scalar as go-yaml v3 writes it (`encode.go` stringv, then the
/// emitter's style selection).
fn choose_style(s: &str, simple_key: bool) -> Style {
    let can_plain = matches!(resolve(s), Resolved::Str) && !is_base60_float(s) && !is_old_bool(s);
    let requested = if s.contains('\n') {
        Style::Literal
    } else if can_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if let Style::Plain = style {
        if !a.block_plain_allowed || (s.is_empty() && simple_key) {
            style = Style::Single;
        }
    }
    if let Style::Single = style {
        if !a.single_quoted_allowed {
            style = Style::Double;
        }
    }
    if let Style::Literal = style {
        if !a.block_allowed || simple_key {
            style = Style::Double;
        }
    }
    style
}

/// `s` double-quoted, with go-yaml's escapes.
pub(super) fn double_quoted(s: &str) -> Zeroizing<String> {
    // An escape is at most 4 bytes per input byte (`\x1B` for one byte), so
    // this never reallocates.
    let mut out = Zeroizing::new(String::with_capacity(s.len() * 4 + 2));
    out.push('"');
    // go-yaml's `is_bom` looks at the start of the value whatever the
    // position asked (`yamlprivateh.go`), so behind a leading U+FEFF every
    // character is escaped.
    let escape_all = s.starts_with('\u{feff}');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if escape_all || !is_printable(c) || c == '\u{feff}' => {
                let v = c as u32;
                // Writing to a String cannot fail.
                let _ = if v <= 0xff {
                    write!(out, "\\x{v:02X}")
                } else if v <= 0xffff {
                    write!(out, "\\u{v:04X}")
                } else {
                    write!(out, "\\U{v:08X}")
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A scalar's text: either inline (the value itself, or a quoted copy that
/// is wiped), or a block header plus content lines.
pub(super) enum Scalar<'a> {
    Text(&'a str),
    Owned(Zeroizing<String>),
    Block { header: String, body: &'a str },
}

/// A string as go-yaml writes it. A `simple_key` (a mapping key written
/// as `key:`) is never a block scalar and never spans lines. `indent` is
/// the column of the node's indentation (where a line broken by U+2028 or
/// U+2029 inside a single-quoted scalar goes on) and `step` the emitter's
/// indent (the `|4` of a block scalar that starts with a space).
pub(super) fn string_scalar(
    bytes: &[u8],
    simple_key: bool,
    indent: usize,
    step: usize,
) -> Scalar<'_> {
    let Ok(s) = std::str::from_utf8(bytes) else {
        // go-yaml writes non-UTF-8 strings as !!binary.
        let prefix = "!!binary ";
        let mut out = Zeroizing::new(String::with_capacity(
            prefix.len() + bytes.len().div_ceil(3) * 4,
        ));
        out.push_str(prefix);
        base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut out);
        return Scalar::Owned(out);
    };
    match choose_style(s, simple_key) {
        Style::Plain => Scalar::Text(s),
        Style::Single => {
            // A break other than `\n` (U+2028, U+2029; a single-quoted
            // scalar has no `\n`) is written as it is, and go-yaml's
            // `yaml_emitter_write_indent` then pads the next line to the
            // node's indentation (`write_single_quoted_scalar`).
            let breaks = s.chars().filter(|&c| is_break(c)).count();
            let mut out = Zeroizing::new(String::with_capacity(
                s.len() * 2 + 2 + breaks.saturating_mul(indent),
            ));
            out.push('\'');
            let mut after_break = false;
            for c in s.chars() {
                if is_break(c) {
                    out.push(c);
                    after_break = true;
                    continue;
                }
                if after_break {
                    out.extend(std::iter::repeat_n(' ', indent));
                    after_break = false;
                }
                if c == '\'' {
                    out.push('\'');
                }
                out.push(c);
            }
            out.push('\'');
            Scalar::Owned(out)
        }
        Style::Double => Scalar::Owned(double_quoted(s)),
        Style::Literal => {
            let mut header = String::from("|");
            if s.starts_with(' ') || s.starts_with(is_break) {
                header.push_str(&step.to_string());
            }
            let trailing = s.chars().rev().take_while(|&c| is_break(c)).count();
            if trailing == 0 {
                header.push('-');
            } else if trailing > 1 || s.chars().count() == 1 {
                header.push('+');
            }
            Scalar::Block { header, body: s }
        }
    }
}

/// The text of a scalar value; a collection here is an empty one, written
/// in flow style. `indent` and `step` as for [`string_scalar`].
pub(super) fn value_scalar(v: &Value, indent: usize, step: usize) -> Scalar<'_> {
    match v {
        Value::Str(s) => string_scalar(s.expose_secret(), false, indent, step),
        Value::Int(i) => Scalar::Owned(Zeroizing::new(i.to_string())),
        Value::Float(f) => Scalar::Owned(Zeroizing::new(yaml_format_float(*f))),
        Value::Bool(b) => Scalar::Text(if *b { "true" } else { "false" }),
        Value::Time(t) => Scalar::Text(t.as_str()),
        Value::Null => Scalar::Text("null"),
        Value::Branch(_) => Scalar::Text("{}"),
        Value::List(_) => Scalar::Text("[]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for printable ASCII without a blank agrees with the
    /// character walk on every string of up to three characters drawn from
    /// the indicators, a letter, a digit and the dots and dashes of `---`
    /// and `...`, and on values as sops writes them.
    #[test]
    fn the_ascii_shortcut_agrees_with_the_whole_analysis() {
        let alphabet: Vec<char> = "#,[]{}&*!|>'\"%@`?:-.a0=/+_".chars().collect();
        let mut values = vec![String::new()];
        for len in 1..=3 {
            let mut at = vec![0; len];
            loop {
                values.push(at.iter().map(|&i| alphabet[i]).collect());
                let Some(k) = at.iter().rposition(|&i| i + 1 < alphabet.len()) else {
                    break;
                };
                at[k] += 1;
                at[k + 1..].iter_mut().for_each(|i| *i = 0);
            }
        }
        values.extend(
            [
                "ENC[AES256_GCM,data:bm9wZQ==,iv:aXY=,tag:dGFn,type:str]",
                "----",
                "....",
                "a:",
                "a:b",
                "a#b",
                "-a",
                "?a",
                ":a",
            ]
            .map(String::from),
        );
        assert!(values.len() > 18_000);
        for value in &values {
            assert_eq!(analyze(value), analyze_chars(value), "{value:?}");
        }
    }

    #[test]
    fn go_yaml_quoting() {
        let b = |s: &str| match string_scalar(s.as_bytes(), false, 4, 4) {
            Scalar::Text(t) => t.to_string(),
            Scalar::Owned(t) => t.to_string(),
            Scalar::Block { header, .. } => header,
        };
        assert_eq!(b("123"), "\"123\"");
        assert_eq!(b("yes"), "\"yes\"");
        assert_eq!(b(""), "\"\"");
        assert_eq!(b("2026-11-26T13:24:10Z"), "\"2026-11-26T13:24:10Z\"");
        assert_eq!(b("3.11.0"), "3.11.0");
        assert_eq!(b("^(data|stringData)$"), "^(data|stringData)$");
        assert_eq!(b("a: b"), "'a: b'");
        assert_eq!(b(" lead"), "' lead'");
        assert_eq!(b("tab\there"), "\"tab\\there\"");
        assert_eq!(b("x\n"), "|");
        assert_eq!(b("x"), "x");
        assert_eq!(b("x\ny"), "|-");
        assert_eq!(b("x\n\n"), "|+");
        assert_eq!(b("1:20"), "\"1:20\"");
        assert_eq!(b("null"), "\"null\"");
        assert_eq!(b("- x"), "'- x'");
        assert_eq!(b("#c"), "'#c'");
    }
}
