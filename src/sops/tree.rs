//! The document tree every store parses into and emits from.
//!
//! sops models a file as a list of branches (one per YAML document), each an
//! *ordered* list of `(key, value)` items where a comment is an item of its own
//! (sops: `sops.go`, `TreeBranch`, `TreeItem`, `Comment`). Order is part of the
//! format: the MAC hashes leaves in walk order, and emitters write items back
//! in the order they were read.
//!
//! Leaf text is held in [`SecretBytes`] because after decryption it is the
//! plaintext of a secret. Numbers and booleans are plain Rust values; they are
//! short-lived and their `Debug` output is redacted like the rest.

use std::fmt;

use crate::secret::SecretBytes;

/// One document: an ordered mapping whose items may be comments.
#[derive(Clone, Debug, Default)]
pub struct Branch {
    /// Items in file order.
    pub items: Vec<Item>,
    /// Whether this mapping's `<<` entry is an ordinary key (it was quoted,
    /// `"<<"`) rather than a YAML merge key. sops keeps both as the string
    /// `<<` and writes both back as a merge (`!!merge <<:`), which turns a
    /// key into a merge; the YAML store writes this one quoted instead.
    pub(crate) literal_merge_key: bool,
}

impl Branch {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks up the first entry named `key` (comments are skipped).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items.iter().find_map(|item| match item {
            Item::Entry { key: k, value } if k == key => Some(value),
            _ => None,
        })
    }

    /// Removes every entry named `key` and returns the first one removed.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let mut removed = None;
        let mut kept = Vec::with_capacity(self.items.len());
        for item in self.items.drain(..) {
            match item {
                Item::Entry { key: k, value } if k == key => {
                    if removed.is_none() {
                        removed = Some(value);
                    }
                }
                other => kept.push(other),
            }
        }
        self.items = kept;
        removed
    }

    /// Appends an entry.
    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.items.push(Item::Entry {
            key: key.into(),
            value,
        });
    }
}

/// An item of a mapping.
#[derive(Clone, Debug)]
pub enum Item {
    /// `key: value`. Keys are always cleartext in a sops file.
    Entry {
        /// The mapping key.
        key: String,
        /// Its value.
        value: Value,
    },
    /// A comment line: the text after `#` (or `;` in INI), leading spaces kept.
    Comment(SecretBytes),
}

/// An element of a list.
#[derive(Clone, Debug)]
pub enum ListElement {
    /// A value.
    Value(Value),
    /// A comment line inside the list.
    Comment(SecretBytes),
}

/// A value in the tree (sops: the dynamic types accepted by `walkValue`).
#[derive(Clone)]
pub enum Value {
    /// A string; may hold arbitrary bytes in the binary and dotenv stores.
    Str(SecretBytes),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A timestamp (sops 3.10+ `type:time`).
    Time(GoTime),
    /// Null: never encrypted, never part of the MAC.
    Null,
    /// A nested mapping.
    Branch(Branch),
    /// A sequence.
    List(Vec<ListElement>),
}

impl Value {
    /// A string value from text.
    pub fn str(text: &str) -> Self {
        Value::Str(SecretBytes::from_slice(text.as_bytes()))
    }

    /// The type name used in errors and inspection (never the content).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "str",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Time(_) => "time",
            Value::Null => "null",
            Value::Branch(_) => "map",
            Value::List(_) => "list",
        }
    }
}

impl fmt::Debug for Value {
    // Leaves may be plaintext secrets: show the shape, never the content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Branch(b) => f.debug_tuple("Branch").field(b).finish(),
            Value::List(l) => f.debug_tuple("List").field(l).finish(),
            Value::Null => f.write_str("Null"),
            other => write!(f, "{}(<redacted>)", other.kind()),
        }
    }
}

/// A timestamp kept as the text Go's `time.Time.MarshalText` gives for it
/// (RFC 3339 with up to nanosecond fraction, trailing zeros dropped, `Z` for a
/// zero offset). That text is what sops encrypts and hashes for `type:time`,
/// and what go-yaml writes for an unencrypted timestamp, so keeping it avoids a
/// lossy trip through another time library.
#[derive(Clone, PartialEq, Eq)]
pub struct GoTime(String);

impl GoTime {
    /// The canonical RFC 3339 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the forms go-yaml v3 resolves as a timestamp (`resolve.go`,
    /// `allowedTimestampFormats`): `2006-1-2T15:4:5.999999999Z07:00` (also with
    /// a lower-case `t`), `2006-1-2 15:4:5.999999999` (UTC) and `2006-1-2`.
    pub fn parse_yaml(text: &str) -> Option<Self> {
        parse_time(text, true)
    }

    /// Parses RFC 3339 as Go's `time.Time.UnmarshalText` does (used for
    /// decrypted `type:time` values and for `lastmodified`).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        parse_time(text, false)
    }

    /// RFC 3339 at second precision (Go's `time.RFC3339` layout), the form of
    /// `lastmodified` and the MAC's additional data.
    pub fn to_rfc3339_seconds(&self) -> String {
        // The canonical text is `date T hh:mm:ss [.frac] zone`; drop the fraction.
        let s = &self.0;
        match (s.find('.'), s.get(19..)) {
            (Some(19), Some(_)) => {
                let zone_at = s[20..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map(|i| i + 20)
                    .unwrap_or(s.len());
                format!("{}{}", &s[..19], &s[zone_at..])
            }
            _ => s.clone(),
        }
    }
}

impl fmt::Debug for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GoTime(<redacted>)")
    }
}

fn take_digits(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n < min || n > max {
        return None;
    }
    let v = s[..n].parse().ok()?;
    Some((v, &s[n..]))
}

fn parse_time(text: &str, yaml: bool) -> Option<GoTime> {
    let (year, rest) = take_digits(text, 4, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = if yaml {
        take_digits(rest, 1, 2)?
    } else {
        take_digits(rest, 2, 2)?
    };
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = if yaml {
        take_digits(rest, 1, 2)?
    } else {
        take_digits(rest, 2, 2)?
    };
    let month_t = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month_t, u8::try_from(day).ok()?)
            .ok()?;
    let date_text = format!("{:04}-{:02}-{:02}", date.year(), month, day);
    if rest.is_empty() {
        return if yaml {
            Some(GoTime(format!("{date_text}T00:00:00Z")))
        } else {
            None
        };
    }
    let sep = rest.chars().next()?;
    let rest = &rest[sep.len_utf8()..];
    let space_form = sep == ' ';
    if !(sep == 'T' || (yaml && (sep == 't' || space_form))) {
        return None;
    }
    let width = if yaml { (1, 2) } else { (2, 2) };
    let (hour, rest) = take_digits(rest, width.0, width.1)?;
    let rest = rest.strip_prefix(':')?;
    let (minute, rest) = take_digits(rest, width.0, width.1)?;
    let rest = rest.strip_prefix(':')?;
    let (second, mut rest) = take_digits(rest, width.0, width.1)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut frac = String::new();
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        frac = r[..n].trim_end_matches('0').to_string();
        rest = &r[n..];
    }
    let zone = if (space_form && rest.is_empty()) || rest == "Z" || (yaml && rest == "z") {
        "Z".to_string()
    } else {
        let sign = rest.get(..1)?;
        if sign != "+" && sign != "-" {
            return None;
        }
        let (oh, r) = take_digits(&rest[1..], 2, 2)?;
        let r = r.strip_prefix(':')?;
        let (om, r) = take_digits(r, 2, 2)?;
        if !r.is_empty() || oh > 23 || om > 59 {
            return None;
        }
        if oh == 0 && om == 0 {
            "Z".to_string()
        } else {
            format!("{sign}{oh:02}:{om:02}")
        }
    };
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(GoTime(format!(
        "{date_text}T{hour:02}:{minute:02}:{second:02}{frac}{zone}"
    )))
}

/// The shortest decimal digits that round-trip `v` (which must be finite),
/// as `(negative, digits, dp)` with `|v| = 0.digits × 10^dp`; Go's
/// `strconv` works from the same decomposition.
fn shortest_digits(v: f64) -> (bool, String, i32) {
    // Rust's `{:e}` prints the shortest round-tripping digits, like Go's
    // `FormatFloat(v, _, -1, 64)`.
    let s = format!("{:e}", v.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0').to_string();
    let neg = v.is_sign_negative();
    if digits.is_empty() {
        return (neg, "0".to_string(), 1);
    }
    (neg, digits, exp + 1)
}

fn fmt_fixed(neg: bool, digits: &str, dp: i32, frac_digits: i32) -> String {
    let d = digits.as_bytes();
    let digit = |i: i32| -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| d.get(i))
            .map_or('0', |&b| b as char)
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp > 0 {
        for i in 0..dp {
            out.push(digit(i));
        }
    } else {
        out.push('0');
    }
    if frac_digits > 0 {
        out.push('.');
        for i in 0..frac_digits {
            out.push(digit(dp + i));
        }
    }
    out
}

fn fmt_exp(neg: bool, digits: &str, dp: i32, two_digit_exp: bool) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    if two_digit_exp {
        out.push_str(&format!("{:02}", exp.abs()));
    } else {
        out.push_str(&exp.abs().to_string());
    }
    out
}

fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an
/// exponent. This is the plaintext of a `type:float` value (sops
/// `aes/cipher.go` Encrypt, `sops.go` ToBytes).
pub fn go_format_float_f(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.to_string();
    }
    let (neg, digits, dp) = shortest_digits(v);
    let frac = (digits.len() as i32 - dp).max(0);
    fmt_fixed(neg, &digits, dp, frac)
}

/// Go `strconv.FormatFloat(v, 'g', -1, 64)` as go-yaml v3 writes floats
/// (`encode.go` floatv), with `.inf`, `-.inf` and `.nan`.
pub fn yaml_format_float(v: f64) -> String {
    if v.is_nan() {
        return ".nan".into();
    }
    if v == f64::INFINITY {
        return ".inf".into();
    }
    if v == f64::NEG_INFINITY {
        return "-.inf".into();
    }
    let (neg, digits, dp) = shortest_digits(v);
    let exp = dp - 1;
    // Go: with the shortest precision the %e/%f decision uses precision 6.
    if digits != "0" && !(-4..6).contains(&exp) {
        return fmt_exp(neg, &digits, dp, true);
    }
    let frac = (digits.len() as i32 - dp).max(0);
    fmt_fixed(neg, &digits, dp, frac)
}

/// Go `encoding/json` float output: `'f'` unless the magnitude is below 1e-6
/// or at least 1e21, then `'e'` with a one-digit-minimum exponent. `None` for
/// NaN and infinities, which Go's JSON encoder refuses.
pub fn json_format_float(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    let abs = v.abs();
    let (neg, digits, dp) = shortest_digits(v);
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        return Some(fmt_exp(neg, &digits, dp, false));
    }
    let frac = (digits.len() as i32 - dp).max(0);
    Some(fmt_fixed(neg, &digits, dp, frac))
}

/// Go `strconv.ParseFloat(s, 64)` for the inputs sops produces and reads.
pub fn go_parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" | "+Infinity" | "Infinity" | "infinity" => {
            Some(f64::INFINITY)
        }
        "-Inf" | "-inf" | "-Infinity" | "-infinity" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => {
            let cleaned = s.strip_prefix('+').unwrap_or(s);
            if cleaned.is_empty()
                || !cleaned
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
            {
                return None;
            }
            cleaned.parse().ok()
        }
    }
}

/// A number as written: sign, significant digits and power of ten, so that
/// `1.0`, `1e0` and `10e-1` are the same.
#[derive(PartialEq, Eq)]
pub(crate) struct NumberText {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl NumberText {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exp) = match rest.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut digits: String = int.chars().chain(frac.chars()).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut exponent = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
        let trimmed = digits.trim_start_matches('0').len();
        digits = digits.split_off(digits.len() - trimmed);
        while digits.ends_with('0') {
            digits.pop();
            exponent += 1;
        }
        if digits.is_empty() {
            exponent = 0;
        }
        Some(Self {
            negative,
            digits,
            exponent,
        })
    }

    /// The number Go writes back for `f` (the shortest digits that read
    /// back as `f`, as `FormatFloat(f, 'f', -1, 64)` gives them).
    pub(crate) fn of_float(f: f64) -> Option<Self> {
        Self::parse(&go_format_float_f(f))
    }
}

/// Whether `f`, read from `text`, is the number written there: sops reads
/// such numbers as float64 and writes back the float, so where they differ
/// (`12345678901234567890`, `0.10000000000000000000001`) sops would change
/// the value.
pub(crate) fn float_is_exact(text: &str, f: f64) -> bool {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    match (NumberText::parse(&cleaned), NumberText::of_float(f)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_f_format_matches_strconv() {
        assert_eq!(go_format_float_f(1.0), "1");
        assert_eq!(go_format_float_f(0.75), "0.75");
        assert_eq!(go_format_float_f(1.5e21), "1500000000000000000000");
        assert_eq!(go_format_float_f(1.5e-7), "0.00000015");
        assert_eq!(go_format_float_f(-0.0), "-0");
        assert_eq!(go_format_float_f(f64::INFINITY), "+Inf");
        assert_eq!(go_format_float_f(f64::NAN), "NaN");
        assert_eq!(go_format_float_f(2.71), "2.71");
        assert_eq!(go_format_float_f(42.0), "42");
    }

    #[test]
    fn yaml_g_format_matches_go_yaml() {
        assert_eq!(yaml_format_float(1.5e21), "1.5e+21");
        assert_eq!(yaml_format_float(1.5e-7), "1.5e-07");
        assert_eq!(yaml_format_float(1.0), "1");
        assert_eq!(yaml_format_float(1e6), "1e+06");
        assert_eq!(yaml_format_float(123456.0), "123456");
        assert_eq!(yaml_format_float(0.0001), "0.0001");
        assert_eq!(yaml_format_float(0.00001), "1e-05");
        assert_eq!(yaml_format_float(-0.0), "-0");
        assert_eq!(yaml_format_float(f64::NEG_INFINITY), "-.inf");
    }

    #[test]
    fn json_format_matches_encoding_json() {
        assert_eq!(json_format_float(1e21).as_deref(), Some("1e+21"));
        assert_eq!(json_format_float(1e-7).as_deref(), Some("1e-7"));
        assert_eq!(json_format_float(1.0).as_deref(), Some("1"));
        assert_eq!(json_format_float(5432.0).as_deref(), Some("5432"));
        assert_eq!(json_format_float(1.5e-7).as_deref(), Some("1.5e-7"));
        assert_eq!(json_format_float(f64::NAN), None);
    }

    #[test]
    fn yaml_timestamps_normalise_like_go() {
        let t = |s| GoTime::parse_yaml(s).map(|t| t.as_str().to_string());
        assert_eq!(t("2024-01-02").as_deref(), Some("2024-01-02T00:00:00Z"));
        assert_eq!(
            t("2024-01-02T03:04:05Z").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(
            t("2024-1-2T3:4:5.500+02:00").as_deref(),
            Some("2024-01-02T03:04:05.5+02:00")
        );
        assert_eq!(
            t("2024-01-02 03:04:05").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(t("2024-02-30"), None);
        assert_eq!(t("20240102"), None);
        assert_eq!(t("2024-01-02é"), None);
        assert_eq!(t("2024-01-02T03:04:05Zé"), None);
        assert!(GoTime::parse_rfc3339("2024-01-02").is_none());
        let lm = GoTime::parse_rfc3339("2026-11-26T13:24:10.000Z").unwrap();
        assert_eq!(lm.to_rfc3339_seconds(), "2026-11-26T13:24:10Z");
        let lm = GoTime::parse_rfc3339("2026-11-26T13:24:10.25+02:00").unwrap();
        assert_eq!(lm.to_rfc3339_seconds(), "2026-11-26T13:24:10+02:00");
    }

    #[test]
    fn debug_redacts_leaves() {
        let v = Value::str("hunter2");
        assert!(!format!("{v:?}").contains("hunter2"));
        assert!(!format!("{:?}", Value::Int(31337)).contains("31337"));
    }
}
