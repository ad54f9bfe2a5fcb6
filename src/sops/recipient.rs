//! Who a SOPS data key is sealed to: validated [`Recipient`]s, grouped into
//! [`KeyGroups`] (sops: `keys/keys.go` `MasterKey`, `sops.go` `KeyGroup`).

use std::fmt;
use std::str::FromStr;

/// An age recipient the engine can seal to: an X25519 recipient (`age1…`),
/// an age plugin recipient (`age1NAME1…`, sealed to through its program
/// `age-plugin-NAME`, as sops 3.10 and later do) or an OpenSSH
/// `ssh-ed25519` / `ssh-rsa` public key, as sops's age key source accepts.
/// Kept as the trimmed text the file records (a plugin recipient in lower
/// case), and for an X25519 recipient its 32 bytes too: a batch seals to
/// the same recipients file after file, and decoding the text again each
/// time was 2% of a `rotate`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Recipient(String, Option<[u8; 32]>);

/// Text that is not a recipient. Never quotes the text when it looks like a
/// private key: a key pasted into the wrong place must not be echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecipientError {
    /// A private key where a public one belongs.
    #[error(
        "this is a private key, not a recipient; it was not printed or recorded. Give its public key (age-keygen -y, or the .pub file) and treat this key as exposed"
    )]
    PrivateKey,
    /// A public key no private key protects (`crate::x25519`).
    #[error("{shown:?} cannot be sealed to: {why}")]
    SmallOrder {
        /// The text, cut to 100 characters.
        shown: String,
        /// Why.
        why: crate::x25519::KeyError,
    },
    /// Not a recipient of a supported type.
    #[error(
        "{shown:?} is not an age recipient (age1…, or a plugin's age1NAME1…) or an ssh-ed25519 public key"
    )]
    NotARecipient {
        /// The text, cut to 100 characters.
        shown: String,
    },
}

/// Whether `text` looks like private key material (an age identity, an age
/// plugin identity, a PEM/OpenSSH private key), anywhere in it.
pub fn looks_private(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    // `SECRET-KEY-1` also catches an age identity whose first characters
    // were cut off in the paste.
    upper.contains("SECRET-KEY-1") || upper.contains("AGE-PLUGIN-") || upper.contains("PRIVATE KEY")
}

impl Recipient {
    /// Parses one recipient (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, RecipientError> {
        if looks_private(text) {
            return Err(RecipientError::PrivateKey);
        }
        let text = text.trim();
        let small_order = |why| RecipientError::SmallOrder {
            shown: text.chars().take(100).collect(),
            why,
        };
        if let Ok(r) = age::x25519::Recipient::from_str(text) {
            let checked = crate::x25519::Recipient::new(&r).map_err(small_order)?;
            Ok(Self(text.to_owned(), Some(checked.to_bytes())))
        } else if let Ok(r) = age::ssh::Recipient::from_str(text) {
            crate::x25519::check_ssh(&r).map_err(small_order)?;
            Ok(Self(text.to_owned(), None))
        } else if let Some(plugin) = crate::plugin::parse_recipient(text) {
            Ok(Self(plugin.to_string(), None))
        } else {
            Err(RecipientError::NotARecipient {
                shown: text.chars().take(100).collect(),
            })
        }
    }

    /// Parses a comma-separated list, as sops's `--age` flag and `age:`
    /// field take it: parts trimmed, empty parts dropped, duplicates kept
    /// once.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, RecipientError> {
        let mut out: Vec<Self> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let recipient = Self::parse(part)?;
            if !out.contains(&recipient) {
                out.push(recipient);
            }
        }
        Ok(out)
    }

    /// The recipient as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The age recipient to encrypt to; for a plugin recipient, its
    /// program must be installed.
    pub(crate) fn to_age(&self) -> Result<Box<dyn age::Recipient + Send>, super::Error> {
        if let Some(public) = self.1 {
            let r =
                crate::x25519::Recipient::from_bytes(public).map_err(|_| super::Error::KeyWrap)?;
            return Ok(Box::new(r));
        }
        if let Ok(r) = age::ssh::Recipient::from_str(&self.0) {
            return Ok(Box::new(r));
        }
        // `parse` let in nothing else.
        let plugin = crate::plugin::parse_recipient(&self.0).ok_or(super::Error::KeyWrap)?;
        Ok(Box::new(crate::plugin::PluginRecipient::new(&plugin)?))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.0)
    }
}

impl PartialEq<str> for Recipient {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Key groups that cannot be built wrong: at least one group, no empty
/// group, and a threshold between 1 and the number of groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGroups {
    groups: Vec<Vec<Recipient>>,
    threshold: usize,
}

/// Key groups that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyGroupsError {
    /// No group, or a group with no recipient.
    #[error("no master keys: at least one recipient per key group is needed")]
    Empty,
    /// More groups needed than there are.
    #[error("shamir_threshold {threshold} is more than the {groups} key group(s)")]
    Threshold {
        /// The threshold asked for.
        threshold: usize,
        /// How many groups there are.
        groups: usize,
    },
    /// More groups than Shamir over GF(2^8) can share to.
    #[error("{groups} key groups: at most 255 are possible")]
    TooMany {
        /// How many groups.
        groups: usize,
    },
}

impl KeyGroups {
    /// One group: every recipient opens the file alone.
    pub fn single(recipients: Vec<Recipient>) -> Result<Self, KeyGroupsError> {
        Self::new(vec![recipients], 0)
    }

    /// Several groups with a sops `shamir_threshold` (0 means every group;
    /// it is ignored for a single group, as sops ignores it).
    pub fn new(
        groups: Vec<Vec<Recipient>>,
        shamir_threshold: usize,
    ) -> Result<Self, KeyGroupsError> {
        if groups.is_empty() || groups.iter().any(Vec::is_empty) {
            return Err(KeyGroupsError::Empty);
        }
        if groups.len() > 255 {
            return Err(KeyGroupsError::TooMany {
                groups: groups.len(),
            });
        }
        let threshold = match (groups.len(), shamir_threshold) {
            (1, _) => 1,
            (n, 0) => n,
            (n, k) if k > n => {
                return Err(KeyGroupsError::Threshold {
                    threshold: k,
                    groups: n,
                });
            }
            (_, k) => k,
        };
        Ok(Self { groups, threshold })
    }

    /// The groups, in order.
    pub fn groups(&self) -> &[Vec<Recipient>] {
        &self.groups
    }

    /// Groups needed to open a file (1 for a single group).
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// The `shamir_threshold` sops records: 0 for a single group.
    pub fn recorded_threshold(&self) -> usize {
        if self.groups.len() == 1 {
            0
        } else {
            self.threshold
        }
    }

    /// Every recipient, all groups together, each once, in order.
    pub fn recipients(&self) -> Vec<&Recipient> {
        let mut out: Vec<&Recipient> = Vec::new();
        for r in self.groups.iter().flatten() {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }

    /// Whether a file's recorded groups (recipient texts per group, and the
    /// recorded `shamir_threshold`) are exactly these, in any order within a
    /// group: then nothing needs rewriting.
    pub fn matches(&self, recorded: &[Vec<String>], recorded_threshold: usize) -> bool {
        let same_groups = recorded.len() == self.groups.len()
            && recorded.iter().zip(&self.groups).all(|(have, want)| {
                have.len() == want.len()
                    && want.iter().all(|r| have.iter().any(|h| r == h.as_str()))
            });
        let effective = if recorded.len() < 2 || recorded_threshold == 0 {
            recorded.len()
        } else {
            recorded_threshold
        };
        let want = if self.groups.len() < 2 {
            self.groups.len()
        } else {
            self.threshold
        };
        same_groups && effective == want
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q";
    const R2: &str = "age12a458a4jmra67m0zqq2hku42sklv57z02ga5n8zht3fegthlxp6qw2cx9n";

    #[test]
    fn a_pasted_private_key_is_refused_without_being_quoted() {
        let key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
        for text in [key, &key.to_lowercase(), &format!("{R1},{key}")] {
            let err = Recipient::parse_list(text).unwrap_err();
            assert_eq!(err, RecipientError::PrivateKey);
            assert!(!err.to_string().contains("QQQQ"));
        }
    }

    #[test]
    fn lists_are_split_trimmed_and_deduplicated() {
        let list = Recipient::parse_list(&format!(" {R1} ,,{R2},{R1}")).unwrap();
        assert_eq!(list.len(), 2);
        assert!(Recipient::parse("age1nope").is_err());
    }

    #[test]
    fn key_groups_cannot_be_built_wrong() {
        let r = |s: &str| Recipient::parse(s).unwrap();
        assert_eq!(KeyGroups::new(vec![], 0), Err(KeyGroupsError::Empty));
        assert_eq!(KeyGroups::new(vec![vec![]], 0), Err(KeyGroupsError::Empty));
        assert!(matches!(
            KeyGroups::new(vec![vec![r(R1)], vec![r(R2)]], 3),
            Err(KeyGroupsError::Threshold { .. })
        ));
        let all = KeyGroups::new(vec![vec![r(R1)], vec![r(R2)]], 0).unwrap();
        assert_eq!(all.threshold(), 2);
        let one = KeyGroups::single(vec![r(R1), r(R2)]).unwrap();
        assert_eq!(one.recorded_threshold(), 0);
        assert!(one.matches(&[vec![R2.into(), R1.into()]], 0));
        assert!(!one.matches(&[vec![R1.into()]], 0));
        assert!(all.matches(&[vec![R1.into()], vec![R2.into()]], 2));
        assert!(all.matches(&[vec![R1.into()], vec![R2.into()]], 0));
    }
}
