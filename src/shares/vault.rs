//! The keys Vault/OpenBao print: `operator init -format=json` (unseal
//! shares, or recovery shares for an auto-unseal server) and the output of
//! a rekey (`operator rekey`, `keys_base64`), read so that `unseal wrap` can
//! encrypt them to custodians.
//!
//! Only the keys are read. The root token is returned separately
//! ([`InitOutput::root_token`]) so the caller can protect it on request;
//! it is never stored unless asked. Every field that could hold key
//! material is wiped when the parsed value is dropped, and parser messages,
//! which could quote the input, are reduced to a line and column.
//!
//! Shares: all n are at hand, so their real threshold is known, the
//! smallest k for which the first k shares interpolate a polynomial every
//! other share lies on. A threshold stated anywhere (the JSON's, the
//! operator's `--threshold`) that differs from it is refused, so a share
//! set is never recorded as "4 of 5" when any 3 rebuild the key.
//!
//! A single key (`-key-shares=1`) is the whole key, not a share: ceremony
//! splits it itself among the custodians ([`Keys::Single`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::{Zeroize, Zeroizing};

use super::Error;
use super::shamir::{self, ShamirShare, Threshold};
use super::shareset::Origin;
use crate::secret::{SecretBytes, SecretText};

/// The length of the one unseal key of a single-key init: the whole
/// 256-bit key.
const SINGLE_KEY_BYTES: usize = 32;

/// Which keys of the output to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Decide from the output: the unseal keys if there are any, else the
    /// recovery keys.
    Auto,
    /// The unseal keys (`unseal_keys_b64`, or a rekey's `keys_base64`).
    Unseal,
    /// The recovery keys (`recovery_keys_b64`, or a recovery rekey's
    /// `keys_base64`).
    Recovery,
}

/// The fields read, from an init output or a rekey output.
#[derive(serde::Deserialize, Default)]
struct Wire {
    #[serde(default)]
    unseal_keys_b64: Option<Vec<String>>,
    #[serde(default)]
    unseal_threshold: Option<usize>,
    #[serde(default)]
    recovery_keys_b64: Option<Vec<String>>,
    #[serde(default)]
    recovery_keys_threshold: Option<usize>,
    /// A rekey's new keys.
    #[serde(default)]
    keys_base64: Option<Vec<String>>,
    #[serde(default)]
    root_token: Option<String>,
}

impl Drop for Wire {
    fn drop(&mut self) {
        for list in [
            &mut self.unseal_keys_b64,
            &mut self.recovery_keys_b64,
            &mut self.keys_base64,
        ]
        .into_iter()
        .flatten()
        {
            for key in list.iter_mut() {
                key.zeroize();
            }
        }
        if let Some(token) = &mut self.root_token {
            token.zeroize();
        }
    }
}

/// What the keys are.
pub enum Keys {
    /// n shares the server combines with its own threshold.
    Shares {
        /// In the order the output lists them.
        shares: Vec<ShamirShare>,
        /// Their real threshold.
        threshold: Threshold,
        /// The key they share (for the key check value).
        secret: SecretBytes,
    },
    /// One key, the whole key: ceremony splits it.
    Single {
        /// The key.
        key: SecretBytes,
    },
}

impl Keys {
    /// How many keys the output holds: its shares, or 1.
    pub fn count(&self) -> usize {
        match self {
            Keys::Shares { shares, .. } => shares.len(),
            Keys::Single { .. } => 1,
        }
    }
}

/// The keys of an output, what they are for, and the root token if the
/// output has one.
pub struct InitOutput {
    /// The keys.
    pub keys: Keys,
    /// Where they came from, as the share set records it.
    pub origin: Origin,
    /// The initial root token, if this was an init output.
    pub root_token: Option<SecretText>,
}

impl std::fmt::Debug for InitOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitOutput")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl InitOutput {
    /// Parses an init or rekey output. `source_name` names it in errors;
    /// `stated` is the threshold the operator gives (for shares: the real
    /// one; for a single key: the threshold of ceremony's split).
    pub fn parse(
        source_name: &str,
        bytes: &[u8],
        which: Which,
        stated: usize,
    ) -> Result<Self, Error> {
        let bad = |reason: String| Error::VaultInit {
            file: source_name.to_owned(),
            reason,
        };
        let wire: Wire = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "not the JSON of `operator init -format=json` or of a rekey (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let root_token = wire
            .root_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| SecretText::new(t.to_owned()));
        let non_empty = |list: &Option<Vec<String>>| list.as_ref().is_some_and(|l| !l.is_empty());
        let (field, list, declared, recovery) = match which {
            Which::Unseal | Which::Auto if non_empty(&wire.unseal_keys_b64) => (
                "unseal_keys_b64",
                wire.unseal_keys_b64.as_deref(),
                wire.unseal_threshold,
                false,
            ),
            Which::Recovery | Which::Auto if non_empty(&wire.recovery_keys_b64) => (
                "recovery_keys_b64",
                wire.recovery_keys_b64.as_deref(),
                wire.recovery_keys_threshold,
                true,
            ),
            _ if non_empty(&wire.keys_base64) => (
                "keys_base64",
                wire.keys_base64.as_deref(),
                None,
                which == Which::Recovery,
            ),
            _ => {
                let want = match which {
                    Which::Recovery => "recovery_keys_b64 (or a rekey's keys_base64)",
                    Which::Unseal => "unseal_keys_b64 (or a rekey's keys_base64)",
                    Which::Auto => "unseal_keys_b64, recovery_keys_b64 or keys_base64",
                };
                return Err(bad(format!("it lists no keys: it needs {want}")));
            }
        };
        let list = list.unwrap_or_default();
        let mut raw_keys = Vec::with_capacity(list.len());
        for (i, b64) in list.iter().enumerate() {
            let raw = Zeroizing::new(
                B64.decode(b64.trim())
                    .map_err(|_| bad(format!("{field}[{i}] is not base64")))?,
            );
            // A share of a 32-byte key is 33 bytes; PGP-encrypted entries
            // (operator init -pgp-keys) are hundreds.
            if raw.len() > 65 {
                return Err(bad(format!(
                    "{field}[{i}] is {} bytes, too long for a key: these look PGP-encrypted; run the command without -pgp-keys",
                    raw.len()
                )));
            }
            raw_keys.push(raw);
        }
        let origin = match (recovery, raw_keys.len()) {
            (true, _) => Origin::VaultRecoveryKeys,
            (false, 1) => Origin::VaultSingleKey,
            (false, _) => Origin::VaultOperatorInit,
        };
        if let [only] = raw_keys.as_slice() {
            if recovery {
                return Err(bad(
                    "a single recovery key is the whole key: ceremony splits only unseal keys given whole".into(),
                ));
            }
            // One unseal key is the server's whole 256-bit key: anything
            // else is a damaged or truncated output, and splitting it would
            // hand the custodians shares of a key that unseals nothing.
            if only.len() != SINGLE_KEY_BYTES {
                return Err(bad(format!(
                    "{field}[0] is {} bytes; a single unseal key is {SINGLE_KEY_BYTES}: the output is damaged or not of a single-key init",
                    only.len()
                )));
            }
            return Ok(Self {
                keys: Keys::Single {
                    key: SecretBytes::from_slice(only),
                },
                origin,
                root_token,
            });
        }
        let shares = raw_keys
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                ShamirShare::from_vault_bytes(raw).map_err(|e| bad(format!("{field}[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (threshold, secret) = checked_threshold(&shares, declared, stated, &bad)?;
        Ok(Self {
            keys: Keys::Shares {
                shares,
                threshold,
                secret,
            },
            origin,
            root_token,
        })
    }
}

/// The real threshold of `shares`, checked against the one the output
/// declares and the one the operator states.
fn checked_threshold(
    shares: &[ShamirShare],
    declared: Option<usize>,
    stated: usize,
    bad: &dyn Fn(String) -> Error,
) -> Result<(Threshold, SecretBytes), Error> {
    let n = shares.len();
    let (real, secret) = real_threshold(shares).ok_or_else(|| {
        bad("the shares do not lie on one polynomial: they are not shares of one key".into())
    })?;
    // A threshold stated below the real one means a share disagrees with
    // the others at that threshold: damaged, or the wrong output.
    let disagreement = |k: usize, what: &str| {
        let x = match shamir::combine_checked(shares, k) {
            Err(shamir::ShamirError::Inconsistent { x }) => format!(" (x = {x})"),
            _ => String::new(),
        };
        bad(format!(
            "with {what} {k}, the share{x} does not agree with the other shares: one is damaged or altered, or the threshold is {real}"
        ))
    };
    if let Some(declared) = declared.filter(|&k| k != real) {
        if declared < real {
            return Err(disagreement(declared, "the output's threshold"));
        }
        return Err(bad(format!(
            "the output's threshold says {declared}, but any {real} of these {n} shares rebuild the key"
        )));
    }
    if stated < real {
        return Err(disagreement(stated, "--threshold"));
    }
    if stated != real {
        return Err(bad(format!(
            "--threshold is {stated}, but any {real} of these {n} shares rebuild the key: give --threshold {real}"
        )));
    }
    Ok((Threshold::new(real, n).map_err(Error::from)?, secret))
}

/// The smallest k such that the first k shares determine a polynomial that
/// every other share lies on, and the secret it gives.
fn real_threshold(shares: &[ShamirShare]) -> Option<(usize, SecretBytes)> {
    (2..=shares.len()).find_map(|k| {
        shamir::combine_checked(shares, k)
            .ok()
            .map(|secret| (k, secret))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    fn keys(k: usize, n: usize) -> Vec<String> {
        let secret = SecretBytes::random(32);
        shamir::split(&secret, Threshold::new(k, n).unwrap(), &mut OsRng)
            .unwrap()
            .iter()
            .map(|s| s.to_vault_bytes().to_base64().to_string())
            .collect()
    }

    fn parse(json: &serde_json::Value, which: Which, stated: usize) -> Result<InitOutput, Error> {
        InitOutput::parse("init.json", json.to_string().as_bytes(), which, stated)
    }

    #[test]
    fn the_real_threshold_is_found_and_a_wrong_one_refused() {
        let json = serde_json::json!({"unseal_keys_b64": keys(3, 5), "unseal_shares": 5, "root_token": "s.x"});
        let parsed = parse(&json, Which::Auto, 3).unwrap();
        assert_eq!(parsed.origin, Origin::VaultOperatorInit);
        assert!(parsed.root_token.is_some());
        let Keys::Shares { threshold, .. } = parsed.keys else {
            panic!("shares");
        };
        assert_eq!(threshold, Threshold::new(3, 5).unwrap());
        let err = parse(&json, Which::Auto, 4).err().unwrap();
        assert!(err.to_string().contains("any 3 of these 5"), "{err}");
        let mut json = json;
        json["unseal_threshold"] = 2.into();
        let err = parse(&json, Which::Auto, 2).err().unwrap();
        assert!(
            err.to_string()
                .contains("does not agree with the other shares"),
            "{err}"
        );
    }

    #[test]
    fn recovery_keys_single_keys_and_rekey_output() {
        let init = serde_json::json!({"unseal_keys_b64": [], "unseal_shares": 1, "unseal_threshold": 1,
            "recovery_keys_b64": keys(2, 3), "recovery_keys_shares": 3, "recovery_keys_threshold": 2, "root_token": "s.x"});
        let parsed = parse(&init, Which::Auto, 2).unwrap();
        assert_eq!(parsed.origin, Origin::VaultRecoveryKeys);

        let single = serde_json::json!({"unseal_keys_b64": [B64.encode([7u8; 32])], "unseal_shares": 1, "unseal_threshold": 1});
        let parsed = parse(&single, Which::Auto, 2).unwrap();
        assert_eq!(parsed.origin, Origin::VaultSingleKey);
        assert!(matches!(parsed.keys, Keys::Single { ref key } if key.len() == 32));
        for wrong in [0usize, 1, 31, 33] {
            let short = serde_json::json!({"unseal_keys_b64": [B64.encode(vec![7u8; wrong])]});
            let err = parse(&short, Which::Auto, 2).err().unwrap().to_string();
            assert!(
                err.contains(&format!("is {wrong} bytes; a single unseal key is 32")),
                "{err}"
            );
        }

        let rekey = serde_json::json!({"nonce": "n", "keys": [], "keys_base64": keys(3, 4)});
        assert_eq!(
            parse(&rekey, Which::Unseal, 3).unwrap().origin,
            Origin::VaultOperatorInit
        );
        assert_eq!(
            parse(&rekey, Which::Recovery, 3).unwrap().origin,
            Origin::VaultRecoveryKeys
        );
        assert!(parse(&serde_json::json!({"unseal_keys_b64": []}), Which::Auto, 2).is_err());
    }

    #[test]
    fn parse_errors_never_quote_the_input() {
        let err = InitOutput::parse(
            "init.json",
            b"{\"unseal_keys_b64\": [\"c2VjcmV0",
            Which::Auto,
            2,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }
}
