//! Strict JSON: one key, one value.
//!
//! serde_json keeps the last of two equal keys (`{"a": 1, "a": 2}` reads as
//! `{"a": 2}`), and other readers keep the first. A signed document that two
//! readers see differently is a forgery waiting to happen, so every signed
//! or verified document of ours ([`crate::handover`] statements, envelopes
//! and challenges) is checked with [`reject_duplicate_keys`] before it is
//! read.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON document with a repeated key, or not JSON at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrictJsonError {
    /// An object has the same key twice.
    #[error(
        "the key {key:?} appears twice in one object (at {path}); a document with repeated keys is refused"
    )]
    DuplicateKey {
        /// The key, cut to 80 characters.
        key: String,
        /// Where the object is, `$.predicate.items[2]`.
        path: String,
    },
    /// Not JSON.
    #[error("not JSON (line {line}, column {column})")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

/// Refuses a document in which any object has a key twice.
pub fn reject_duplicate_keys(bytes: &[u8]) -> Result<(), StrictJsonError> {
    let found = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result = Strict {
        path: "$".into(),
        found: &found,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Some((path, key)) = found.into_inner() {
        return Err(StrictJsonError::DuplicateKey {
            key: key.chars().take(80).collect(),
            path,
        });
    }
    result.map_err(|e| StrictJsonError::Syntax {
        line: e.line(),
        column: e.column(),
    })
}

/// Walks any JSON value; the first repeated key is left in `found` (and
/// the walk stops with an error).
struct Strict<'a> {
    path: String,
    found: &'a RefCell<Option<(String, String)>>,
}

impl Strict<'_> {
    fn at(&self, path: String) -> Self {
        Self {
            path,
            found: self.found,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq
            .next_element_seed(self.at(format!("{}[{index}]", self.path)))?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            if !seen.insert(key.clone()) {
                *self.found.borrow_mut() = Some((self.path.clone(), key));
                return Err(de::Error::custom("repeated key"));
            }
            map.next_value_seed(self.at(path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_anywhere_is_refused_by_name_and_place() {
        assert!(reject_duplicate_keys(br#"{"a": [1, {"b": 2}], "c": "x"}"#).is_ok());
        let err = reject_duplicate_keys(
            br#"{"predicate": {"authority": "evil", "authority": "openbao-t"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            StrictJsonError::DuplicateKey {
                key: "authority".into(),
                path: "$.predicate".into()
            }
        );
        assert!(matches!(
            reject_duplicate_keys(br#"[{"x": 1}, {"x": 1, "x": 2}]"#),
            Err(StrictJsonError::DuplicateKey { .. })
        ));
        assert!(matches!(
            reject_duplicate_keys(b"{} trailing"),
            Err(StrictJsonError::Syntax { .. })
        ));
    }
}
