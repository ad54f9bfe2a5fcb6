//! Key ids: the name a runtime authority knows a key by (OpenBao's static
//! seal `current_key_id`). OpenBao binds the id at init, so an id, once
//! given to a key, stays with it through every reshare.

use std::fmt;

/// A key id: 1-64 of `A-Z a-z 0-9 . _ -`, starting and ending with a letter
/// or digit. The id is interpolated into an emitted manifest and a seal
/// stanza, so nothing outside this set (quotes, newlines) can get in.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

/// A key id that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "key id {shown:?} is not allowed: use 1-64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
)]
pub struct KeyIdError {
    /// The id, cut to 80 characters.
    pub shown: String,
}

impl KeyId {
    /// Validates an id.
    pub fn parse(text: &str) -> Result<Self, KeyIdError> {
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        let ok = !text.is_empty()
            && text.len() <= 64
            && edge(text.chars().next())
            && edge(text.chars().last())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(KeyIdError {
                shown: text.chars().take(80).collect(),
            })
        }
    }

    /// The default id of a new key: the day it was made and the first eight
    /// hex digits of its (public) key check value, `20261201-1a2b3c4d`.
    pub fn dated(day: time::Date, key_check_value: &str) -> Self {
        let short: String = key_check_value
            .trim_start_matches("hmac-sha256:")
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(8)
            .collect();
        let short = if short.is_empty() { "0".into() } else { short };
        Self(format!(
            "{:04}{:02}{:02}-{short}",
            day.year(),
            u8::from(day.month()),
            day.day()
        ))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_inject_yaml_are_refused() {
        assert!(KeyId::parse("20260101-ab").is_ok());
        for bad in ["x\"\n  evil: 1", "", "a b", "-lead", &"k".repeat(65)] {
            assert!(KeyId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_default_id_is_dated() {
        let day = time::macros::date!(2026 - 12 - 01);
        let id = KeyId::dated(day, "hmac-sha256:1a2b3c4d5e6f");
        assert_eq!(id.as_str(), "20261201-1a2b3c4d");
        assert!(KeyId::parse(id.as_str()).is_ok());
    }
}
