//! The domain view of the `sops` metadata block: key groups, the crypt rule,
//! the MAC and its timestamp, the writer's version.
//!
//! Conversion to and from the wire form (`stores/wire.rs`) applies the
//! loading rules of sops `stores/stores.go` `ToInternal` (spec §3.4): at most
//! one crypt rule, `_unencrypted` by default, top-level key lists forming a
//! single group when present, else `key_groups`.

use serde_json::Value as Json;

use super::Error;
use super::rules::CryptRule;
use super::stores::wire::{WireAge, WireKeyGroup, WireMetadata};
use super::tree::GoTime;

/// The version this crate writes: the sops release whose format it follows.
pub const SOPS_VERSION: &str = "3.11.0";

/// One age recipient entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeEntry {
    /// The recipient as written (`age1…`, `ssh-ed25519 …`).
    pub recipient: String,
    /// ASCII-armored age file holding the data key or this group's share.
    pub enc: String,
}

/// Master keys of types this crate cannot use, kept verbatim so a rewrite
/// (update keys, rotate) does not drop them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpaqueKeys {
    /// `pgp` entries.
    pub pgp: Vec<Json>,
    /// `kms` entries.
    pub kms: Vec<Json>,
    /// `gcp_kms` entries.
    pub gcp_kms: Vec<Json>,
    /// `hckms` entries.
    pub hckms: Vec<Json>,
    /// `azure_kv` entries.
    pub azure_kv: Vec<Json>,
    /// `hc_vault` entries.
    pub hc_vault: Vec<Json>,
}

impl OpaqueKeys {
    /// Whether there is no entry of any opaque type.
    pub fn is_empty(&self) -> bool {
        self.pgp.is_empty()
            && self.kms.is_empty()
            && self.gcp_kms.is_empty()
            && self.hckms.is_empty()
            && self.azure_kv.is_empty()
            && self.hc_vault.is_empty()
    }

    /// Number of opaque entries.
    pub fn len(&self) -> usize {
        self.pgp.len()
            + self.kms.len()
            + self.gcp_kms.len()
            + self.hckms.len()
            + self.azure_kv.len()
            + self.hc_vault.len()
    }
}

/// A key group: every master key in it encrypts the same secret (the data key
/// with one group, this group's Shamir share with several).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    /// age entries, in file order.
    pub age: Vec<AgeEntry>,
    /// Other key types, kept verbatim.
    pub opaque: OpaqueKeys,
}

impl KeyGroup {
    /// Whether the group holds no key at all.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.opaque.is_empty()
    }
}

/// The metadata of a sops file.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// One group, or two or more for Shamir.
    pub key_groups: Vec<KeyGroup>,
    /// Groups needed to rebuild the data key; 0 means "all groups".
    pub shamir_threshold: usize,
    /// RFC 3339 text of the last write.
    pub lastmodified: String,
    /// The encrypted MAC (`ENC[…]`).
    pub mac: String,
    /// The crypt rule; `None` only for binary files, where sops records none
    /// (the default suffix still applies when reading).
    pub rule: Option<CryptRule>,
    /// MAC over encrypted values only.
    pub mac_only_encrypted: bool,
    /// Writer's version.
    pub version: String,
}

impl Metadata {
    /// The rule in force (the default suffix when none is recorded).
    pub fn effective_rule(&self) -> CryptRule {
        self.rule.clone().unwrap_or_default()
    }

    /// Every age recipient, group by group.
    pub fn recipients(&self) -> Vec<(usize, String)> {
        self.key_groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.age.iter().map(move |a| (g, a.recipient.clone())))
            .collect()
    }

    /// Builds the domain metadata from the wire form (sops `ToInternal`).
    pub fn from_wire(w: WireMetadata) -> Result<Self, Error> {
        if GoTime::parse_rfc3339(&w.lastmodified).is_none() {
            return Err(Error::InvalidMetadata {
                field: "lastmodified".into(),
                reason: "not an RFC 3339 time".into(),
            });
        }
        let rules: Vec<(&str, &String)> = [
            ("unencrypted_suffix", &w.unencrypted_suffix),
            ("encrypted_suffix", &w.encrypted_suffix),
            ("unencrypted_regex", &w.unencrypted_regex),
            ("encrypted_regex", &w.encrypted_regex),
            ("unencrypted_comment_regex", &w.unencrypted_comment_regex),
            ("encrypted_comment_regex", &w.encrypted_comment_regex),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_ref().filter(|s| !s.is_empty()).map(|s| (name, s)))
        .collect();
        let rule = match rules.as_slice() {
            [] => CryptRule::default(),
            [(field, value)] => CryptRule::from_field(field, value)?,
            _ => return Err(Error::ConflictingRules),
        };
        let top = WireKeyGroup {
            pgp: w.pgp,
            kms: w.kms,
            gcp_kms: w.gcp_kms,
            hckms: w.hckms,
            azure_kv: w.azure_kv,
            hc_vault: w.hc_vault,
            age: w.age,
        };
        let top = group_from_wire(top);
        let key_groups = if !top.is_empty() {
            vec![top]
        } else if !w.key_groups.is_empty() {
            w.key_groups.into_iter().map(group_from_wire).collect()
        } else {
            return Err(Error::NoKeys);
        };
        Ok(Self {
            key_groups,
            shamir_threshold: usize::try_from(w.shamir_threshold).unwrap_or(usize::MAX),
            lastmodified: w.lastmodified,
            mac: w.mac,
            rule: Some(rule),
            mac_only_encrypted: w.mac_only_encrypted,
            version: w.version,
        })
    }

    /// The wire form, in sops 3.11's field order.
    pub fn to_wire(&self) -> WireMetadata {
        let mut w = WireMetadata {
            lastmodified: self.lastmodified.clone(),
            mac: self.mac.clone(),
            mac_only_encrypted: self.mac_only_encrypted,
            version: self.version.clone(),
            ..WireMetadata::default()
        };
        if let Some(rule) = &self.rule {
            let v = Some(rule.value().to_string());
            match rule {
                CryptRule::UnencryptedSuffix(_) => w.unencrypted_suffix = v,
                CryptRule::EncryptedSuffix(_) => w.encrypted_suffix = v,
                CryptRule::UnencryptedRegex(_) => w.unencrypted_regex = v,
                CryptRule::EncryptedRegex(_) => w.encrypted_regex = v,
                CryptRule::UnencryptedCommentRegex(_) => w.unencrypted_comment_regex = v,
                CryptRule::EncryptedCommentRegex(_) => w.encrypted_comment_regex = v,
            }
        }
        match self.key_groups.as_slice() {
            [single] => {
                let g = group_to_wire(single);
                w.pgp = g.pgp;
                w.kms = g.kms;
                w.gcp_kms = g.gcp_kms;
                w.hckms = g.hckms;
                w.azure_kv = g.azure_kv;
                w.hc_vault = g.hc_vault;
                w.age = g.age;
            }
            groups => {
                w.key_groups = groups.iter().map(group_to_wire).collect();
                w.shamir_threshold = self.shamir_threshold as u64;
            }
        }
        w
    }

    /// Decrypt-time version check (spec §9): sops parses `version` as semver
    /// (or a `1.` prefix) to decide on a KMS workaround, so anything else
    /// fails to decrypt there; we refuse it the same way.
    pub fn check_version(&self) -> Result<(), Error> {
        let v = self.version.as_str();
        if v.starts_with("1.") {
            return Ok(());
        }
        let core = v.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        let ok = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(())
        } else {
            Err(Error::UnsupportedVersion {
                version: v.to_string(),
            })
        }
    }
}

fn group_from_wire(g: WireKeyGroup) -> KeyGroup {
    KeyGroup {
        age: g
            .age
            .into_iter()
            .map(|a| AgeEntry {
                recipient: a.recipient,
                enc: a.enc,
            })
            .collect(),
        opaque: OpaqueKeys {
            pgp: g.pgp,
            kms: g.kms,
            gcp_kms: g.gcp_kms,
            hckms: g.hckms,
            azure_kv: g.azure_kv,
            hc_vault: g.hc_vault,
        },
    }
}

fn group_to_wire(g: &KeyGroup) -> WireKeyGroup {
    WireKeyGroup {
        pgp: g.opaque.pgp.clone(),
        kms: g.opaque.kms.clone(),
        gcp_kms: g.opaque.gcp_kms.clone(),
        hckms: g.opaque.hckms.clone(),
        azure_kv: g.opaque.azure_kv.clone(),
        hc_vault: g.opaque.hc_vault.clone(),
        age: g
            .age
            .iter()
            .map(|a| WireAge {
                recipient: a.recipient.clone(),
                enc: a.enc.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(json: &str) -> WireMetadata {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn single_group_from_top_level_lists_and_default_rule() {
        let m = Metadata::from_wire(wire(
            r#"{"age":[{"recipient":"age1x","enc":"E"}],"pgp":[{"fp":"AB","enc":"P","created_at":"2020-01-01T00:00:00Z"}],
                "lastmodified":"2026-11-26T13:24:10Z","mac":"m","version":"3.11.0"}"#,
        ))
        .unwrap();
        assert_eq!(m.key_groups.len(), 1);
        assert_eq!(m.key_groups[0].opaque.pgp.len(), 1);
        assert_eq!(m.effective_rule().field(), "unencrypted_suffix");
        let back = serde_json::to_value(m.to_wire()).unwrap();
        let keys: Vec<&String> = back.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "age",
                "lastmodified",
                "mac",
                "pgp",
                "unencrypted_suffix",
                "version"
            ]
        );
        assert_eq!(back["pgp"][0]["fp"], "AB");
    }

    #[test]
    fn two_rules_or_no_keys_are_refused() {
        let e = Metadata::from_wire(wire(
            r#"{"age":[{"recipient":"a","enc":"e"}],"lastmodified":"2026-11-26T13:24:10Z",
                "encrypted_regex":"a","unencrypted_suffix":"_u","version":"3.11.0"}"#,
        ));
        assert!(matches!(e, Err(Error::ConflictingRules)));
        let e = Metadata::from_wire(wire(
            r#"{"lastmodified":"2026-11-26T13:24:10Z","version":"3.11.0","kms":null}"#,
        ));
        assert!(matches!(e, Err(Error::NoKeys)));
    }

    #[test]
    fn version_check_follows_sops() {
        let mut m = Metadata::from_wire(wire(
            r#"{"age":[{"recipient":"a","enc":"e"}],"lastmodified":"2026-11-26T13:24:10Z","version":"3.11.0"}"#,
        ))
        .unwrap();
        for ok in ["3.11.0", "1.0", "99.0.0"] {
            m.version = ok.into();
            m.check_version().unwrap();
        }
        for bad in ["abc", "3.0", ""] {
            m.version = bad.into();
            assert!(m.check_version().is_err(), "{bad}");
        }
    }
}
