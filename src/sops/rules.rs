//! Which leaves get encrypted: the six crypt rules (sops: `sops.go`,
//! `shouldBeEncrypted`).
//!
//! At most one rule applies to a file. Each looks at every element of the
//! leaf's path (all ancestor keys plus the leaf's own key), so a match on an
//! ancestor decides for the whole subtree. The comment rules look instead at
//! the *active comment stack*: per nesting level, the comments seen since the
//! last non-comment item.
//!
//! Regexes are RE2 in sops and `regex` here; both are unanchored searches with
//! the same syntax for the features sops users write (`^…$`, alternation,
//! classes). The `regex` crate matches bytes, as Go's `regexp.Match` does.

use std::sync::{Arc, Mutex, PoisonError};

use regex::bytes::Regex;

use super::Error;
use crate::secret::SecretBytes;

/// The suffix sops uses when no rule is given.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// A compiled rule and the text it was compiled from (written back to the
/// metadata verbatim).
#[derive(Clone, Debug)]
pub enum CryptRule {
    /// Encrypt unless some path element ends with the suffix.
    UnencryptedSuffix(String),
    /// Encrypt only if some path element ends with the suffix.
    EncryptedSuffix(String),
    /// Encrypt unless some path element matches.
    UnencryptedRegex(Pattern),
    /// Encrypt only if some path element matches.
    EncryptedRegex(Pattern),
    /// Encrypt unless a comment in the active stack matches.
    UnencryptedCommentRegex(Pattern),
    /// Encrypt only if a comment in the active stack (other than the one being
    /// judged) matches.
    EncryptedCommentRegex(Pattern),
}

/// A regex with its source text. Clones share the compiled regex (and its
/// match caches): a tree's files each carry the rule of their creation
/// rule or metadata, and a copy per file would cost its own caches.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    regex: Arc<Regex>,
}

impl Pattern {
    /// Compiles `source`; `rule` names the metadata field for the error.
    pub fn new(rule: &'static str, source: &str) -> Result<Self, Error> {
        // A tree of files sealed alike names the same few patterns in every
        // file: each is compiled once per process, and the last few are
        // kept (a compiled regex costs tens of microseconds and kilobytes).
        const KEPT: usize = 16;
        static COMPILED: Mutex<Vec<(String, Arc<Regex>)>> = Mutex::new(Vec::new());
        let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, regex)) = compiled.iter().find(|(s, _)| s == source) {
            return Ok(Self {
                source: source.to_string(),
                regex: Arc::clone(regex),
            });
        }
        let regex = Arc::new(Regex::new(source).map_err(|e| Error::InvalidRegex {
            rule,
            reason: e.to_string(),
        })?);
        if compiled.len() == KEPT {
            compiled.remove(0);
        }
        compiled.push((source.to_string(), Arc::clone(&regex)));
        Ok(Self {
            source: source.to_string(),
            regex,
        })
    }

    /// The regex as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Unanchored search, like Go's `regexp.Match`.
    pub fn is_match(&self, bytes: &[u8]) -> bool {
        self.regex.is_match(bytes)
    }
}

impl Default for CryptRule {
    fn default() -> Self {
        CryptRule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_string())
    }
}

impl CryptRule {
    /// Builds a rule from its metadata field name and value.
    pub fn from_field(field: &str, value: &str) -> Result<Self, Error> {
        Ok(match field {
            "unencrypted_suffix" => CryptRule::UnencryptedSuffix(value.to_string()),
            "encrypted_suffix" => CryptRule::EncryptedSuffix(value.to_string()),
            "unencrypted_regex" => {
                CryptRule::UnencryptedRegex(Pattern::new("unencrypted_regex", value)?)
            }
            "encrypted_regex" => CryptRule::EncryptedRegex(Pattern::new("encrypted_regex", value)?),
            "unencrypted_comment_regex" => CryptRule::UnencryptedCommentRegex(Pattern::new(
                "unencrypted_comment_regex",
                value,
            )?),
            "encrypted_comment_regex" => {
                CryptRule::EncryptedCommentRegex(Pattern::new("encrypted_comment_regex", value)?)
            }
            _ => {
                return Err(Error::InvalidMetadata {
                    field: field.to_string(),
                    reason: "not a crypt rule".into(),
                });
            }
        })
    }

    /// The metadata field this rule is stored under.
    pub fn field(&self) -> &'static str {
        match self {
            CryptRule::UnencryptedSuffix(_) => "unencrypted_suffix",
            CryptRule::EncryptedSuffix(_) => "encrypted_suffix",
            CryptRule::UnencryptedRegex(_) => "unencrypted_regex",
            CryptRule::EncryptedRegex(_) => "encrypted_regex",
            CryptRule::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            CryptRule::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }

    /// The value written in the metadata.
    pub fn value(&self) -> &str {
        match self {
            CryptRule::UnencryptedSuffix(s) | CryptRule::EncryptedSuffix(s) => s,
            CryptRule::UnencryptedRegex(p)
            | CryptRule::EncryptedRegex(p)
            | CryptRule::UnencryptedCommentRegex(p)
            | CryptRule::EncryptedCommentRegex(p) => p.as_str(),
        }
    }

    /// sops `shouldBeEncrypted(path, commentsStack, isComment)`.
    ///
    /// `comments` is the active comment stack, one `Vec` per nesting level;
    /// when `is_comment` is set, the last comment of the last level is the one
    /// being judged.
    pub fn should_encrypt(
        &self,
        path: &[String],
        comments: &[Vec<SecretBytes>],
        is_comment: bool,
    ) -> bool {
        match self {
            // An empty suffix disables the rule in sops (`!= ""` guards).
            CryptRule::UnencryptedSuffix(s) => {
                s.is_empty() || !path.iter().any(|k| k.ends_with(s.as_str()))
            }
            CryptRule::EncryptedSuffix(s) => {
                s.is_empty() || path.iter().any(|k| k.ends_with(s.as_str()))
            }
            CryptRule::UnencryptedRegex(p) => !path.iter().any(|k| p.is_match(k.as_bytes())),
            CryptRule::EncryptedRegex(p) => path.iter().any(|k| p.is_match(k.as_bytes())),
            CryptRule::UnencryptedCommentRegex(p) => !comments
                .iter()
                .flatten()
                .any(|c| p.is_match(c.expose_secret())),
            CryptRule::EncryptedCommentRegex(p) => {
                let last_level = comments.len().saturating_sub(1);
                let last_in_level = comments.last().map(|l| l.len().saturating_sub(1));
                comments.iter().enumerate().any(|(i, level)| {
                    level.iter().enumerate().any(|(j, c)| {
                        // The comment line that matches is itself left in
                        // cleartext (sops: "A special case").
                        let judged = is_comment && i == last_level && Some(j) == last_in_level;
                        !judged && p.is_match(c.expose_secret())
                    })
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(s: &str) -> SecretBytes {
        SecretBytes::from_slice(s.as_bytes())
    }

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_pattern_compiled_again_is_the_same_pattern() {
        // More patterns than are kept, so some are compiled a second time.
        for round in 0..2 {
            for i in 0..20 {
                let source = format!("^(data|key{i})$");
                let pattern = Pattern::new("encrypted_regex", &source).unwrap();
                assert_eq!(pattern.as_str(), source, "round {round}");
                assert!(pattern.is_match(b"data"));
                assert!(pattern.is_match(format!("key{i}").as_bytes()));
                assert!(!pattern.is_match(format!("key{i}x").as_bytes()));
            }
        }
        // Compiled once: the second is the first one's regex.
        let first = Pattern::new("encrypted_regex", "^(data|key-shared)$").unwrap();
        let second = Pattern::new("encrypted_regex", "^(data|key-shared)$").unwrap();
        assert!(Arc::ptr_eq(&first.regex, &second.regex));
        let bad = Pattern::new("encrypted_regex", "(unclosed");
        assert!(matches!(
            bad,
            Err(Error::InvalidRegex {
                rule: "encrypted_regex",
                ..
            })
        ));
        // An error is not kept: it stays an error.
        assert!(Pattern::new("encrypted_regex", "(unclosed").is_err());
    }

    #[test]
    fn suffix_rules_look_at_every_ancestor() {
        let r = CryptRule::default();
        assert!(r.should_encrypt(&path(&["db", "password"]), &[], false));
        assert!(!r.should_encrypt(&path(&["settings_unencrypted", "host"]), &[], false));
        let r = CryptRule::EncryptedSuffix("_secret".into());
        assert!(r.should_encrypt(&path(&["x_secret", "a"]), &[], false));
        assert!(!r.should_encrypt(&path(&["x", "a"]), &[], false));
    }

    #[test]
    fn regex_rules_search_each_key_separately() {
        let r = CryptRule::from_field("encrypted_regex", "^(data|stringData)$").unwrap();
        assert!(r.should_encrypt(&path(&["data", "password"]), &[], false));
        assert!(!r.should_encrypt(&path(&["metadata", "name"]), &[], false));
        // A top-level comment has the empty path and stays plain.
        assert!(!r.should_encrypt(&[], &[vec![sb("c")]], true));
        let r = CryptRule::from_field("unencrypted_regex", "pub").unwrap();
        assert!(!r.should_encrypt(&path(&["a", "is_public"]), &[], false));
        assert!(matches!(
            CryptRule::from_field("encrypted_regex", "("),
            Err(Error::InvalidRegex { .. })
        ));
    }

    #[test]
    fn comment_rules_use_the_stack_and_skip_the_judged_line() {
        let r = CryptRule::from_field("encrypted_comment_regex", "sops:enc").unwrap();
        let stack = vec![vec![sb(" sops:enc")]];
        // The matching comment itself stays plain...
        assert!(!r.should_encrypt(&[], &stack, true));
        // ...the value after it is encrypted...
        assert!(r.should_encrypt(&path(&["k"]), &stack, false));
        // ...and so is a later comment of the same run.
        let stack2 = vec![vec![sb(" sops:enc"), sb(" more")]];
        assert!(r.should_encrypt(&[], &stack2, true));
        let r = CryptRule::from_field("unencrypted_comment_regex", "plain").unwrap();
        assert!(!r.should_encrypt(&path(&["k"]), &[vec![sb("plain")]], false));
        assert!(r.should_encrypt(&path(&["k"]), &[vec![]], false));
    }
}
