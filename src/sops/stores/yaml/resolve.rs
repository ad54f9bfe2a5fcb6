//! Plain scalar typing, as go-yaml v3 resolves an untagged plain scalar
//! (`resolve.go`): the YAML 1.2 core schema (null, bool, int, float) plus
//! go-yaml's extras, `0o`/`0b`/legacy-octal ints, `_` separators and plain
//! timestamps. `yes`/`no`/`on`/`off` stay strings.
//!
//! Used both ways: the reader types plain scalars with it, and the writer
//! quotes any string that would read back as something else. Tags and
//! quoting styles are the reader's business, not this file's.

use zeroize::Zeroizing;

use crate::sops::tree::GoTime;

/// What a plain scalar resolves to (go-yaml v3 `resolve`).
pub(super) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer that only fits u64: sops cannot walk it.
    Uint,
    Float(f64),
    Time(GoTime),
    Str,
}

fn go_parse_int(s: &str) -> Option<i128> {
    // strconv.ParseInt(s, 0, 64) on the text with `_` removed by the caller.
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = u128::from_str_radix(digits, radix).ok()?;
    let v = i128::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

fn is_yaml_style_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Types a plain scalar's text as go-yaml v3 `resolve` does for an
/// untagged plain scalar.
pub(super) fn resolve(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes().first().copied().unwrap_or(b' ');
    if first == b'.' {
        // Go's ParseFloat refuses what overflows, and go-yaml keeps the
        // text then; Rust's parse gives an infinity.
        return match s.parse::<f64>() {
            Ok(f) if is_yaml_style_float(s) && f.is_finite() => Resolved::Float(f),
            _ => Resolved::Str,
        };
    }
    if !(first.is_ascii_digit() || first == b'-' || first == b'+') {
        return Resolved::Str;
    }
    if let Some(t) = GoTime::parse_yaml(s) {
        return Resolved::Time(t);
    }
    let mut plain = Zeroizing::new(String::with_capacity(s.len()));
    plain.extend(s.chars().filter(|&c| c != '_'));
    if let Some(v) = go_parse_int(&plain) {
        if let Ok(i) = i64::try_from(v) {
            return Resolved::Int(i);
        }
        if u64::try_from(v).is_ok() {
            return Resolved::Uint;
        }
    }
    if is_yaml_style_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            if f.is_finite() {
                return Resolved::Float(f);
            }
        }
    }
    Resolved::Str
}

#[cfg(test)]
mod tests {
    use super::super::{Mode, parse};
    use crate::sops::Error;
    use crate::sops::tree::Value;

    #[test]
    fn scalars_resolve_like_go_yaml() {
        let v = parse(b"a: 0x1F\nb: 017\nc: 1_000\nd: yes\ne: 1.0\nf: 2024-01-02\ng: '5'\nh: ~\ni: .inf\nj: 08\n", Mode::Seal).unwrap();
        let b = &v[0];
        assert!(matches!(b.get("a"), Some(Value::Int(31))));
        assert!(matches!(b.get("b"), Some(Value::Int(15))));
        assert!(matches!(b.get("c"), Some(Value::Int(1000))));
        assert!(matches!(b.get("d"), Some(Value::Str(_))));
        assert!(matches!(b.get("e"), Some(Value::Float(f)) if *f == 1.0));
        assert!(matches!(b.get("f"), Some(Value::Time(_))));
        assert!(matches!(b.get("g"), Some(Value::Str(_))));
        assert!(matches!(b.get("h"), Some(Value::Null)));
        assert!(matches!(b.get("i"), Some(Value::Float(f)) if f.is_infinite()));
        assert!(matches!(b.get("j"), Some(Value::Float(f)) if *f == 8.0));
        assert!(matches!(
            parse(b"a: 18446744073709551615\n", Mode::Seal),
            Err(Error::UnsupportedValue { .. })
        ));
    }
}
