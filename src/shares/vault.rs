//! The output of `vault operator init -format=json` / `bao operator init`:
//! reading the unseal shares it prints, so `unseal wrap` can encrypt them
//! to custodians.
//!
//! Only the unseal shares are read. Everything else (the root token above
//! all) is ignored here and never stored. Every field that could hold key
//! material is wiped when the parsed value is dropped, and parser messages,
//! which could quote the input, are reduced to a line and column.
//!
//! All n shares are at hand, so their real threshold is known: the smallest
//! k for which the first k shares interpolate a polynomial every other share
//! lies on. A threshold stated anywhere (the JSON's `unseal_threshold`, the
//! operator's `--threshold`) that differs from it is refused, so a share
//! set is never recorded as "4 of 5" when any 3 rebuild the key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::{Zeroize, Zeroizing};

use super::Error;
use super::shamir::{self, ShamirShare, Threshold};
use crate::secret::SecretBytes;

/// The parts of the init JSON that are read.
#[derive(serde::Deserialize)]
struct Wire {
    unseal_keys_b64: Vec<String>,
    #[serde(default)]
    unseal_shares: Option<usize>,
    #[serde(default)]
    unseal_threshold: Option<usize>,
}

impl Drop for Wire {
    fn drop(&mut self) {
        for key in &mut self.unseal_keys_b64 {
            key.zeroize();
        }
    }
}

/// The unseal shares of an init output, checked to lie on one polynomial.
pub struct InitShares {
    shares: Vec<ShamirShare>,
    threshold: Threshold,
    secret: SecretBytes,
}

impl std::fmt::Debug for InitShares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "InitShares({} of {}, <redacted>)",
            self.threshold.k(),
            self.threshold.n()
        )
    }
}

impl InitShares {
    /// Parses the init JSON. `source_name` names it in errors; `stated` is
    /// the threshold the operator gives, which must be the real one.
    pub fn parse(source_name: &str, bytes: &[u8], stated: usize) -> Result<Self, Error> {
        let bad = |reason: String| Error::VaultInit {
            file: source_name.to_owned(),
            reason,
        };
        let wire: Wire = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "not the JSON of `operator init -format=json` (line {}, column {}): it needs unseal_keys_b64",
                e.line(),
                e.column()
            ))
        })?;
        let n = wire.unseal_keys_b64.len();
        if wire.unseal_shares.is_some_and(|s| s != n) {
            return Err(bad(format!(
                "unseal_shares says {:?} but {n} keys are listed",
                wire.unseal_shares
            )));
        }
        if n < 2 {
            return Err(bad("there is a single unseal key, which is the whole key and not a share: encrypt it with age directly".into()));
        }
        let mut shares = Vec::with_capacity(n);
        for (i, b64) in wire.unseal_keys_b64.iter().enumerate() {
            let raw = Zeroizing::new(
                B64.decode(b64.trim())
                    .map_err(|_| bad(format!("unseal_keys_b64[{i}] is not base64")))?,
            );
            // A share of Vault's 32-byte root key is 33 bytes; PGP-encrypted
            // entries (operator init -pgp-keys) are hundreds.
            if raw.len() > 65 {
                return Err(bad(format!(
                    "unseal_keys_b64[{i}] is {} bytes, too long for a share: these look PGP-encrypted; run operator init without -pgp-keys",
                    raw.len()
                )));
            }
            shares.push(
                ShamirShare::from_vault_bytes(&raw)
                    .map_err(|e| bad(format!("unseal_keys_b64[{i}]: {e}")))?,
            );
        }
        let (real, secret) = real_threshold(&shares).ok_or_else(|| {
            bad(
                "the unseal shares do not lie on one polynomial: they are not shares of one key"
                    .into(),
            )
        })?;
        // A threshold stated below the real one means a share disagrees with
        // the others at that threshold: damaged, or the wrong init output.
        let disagreement = |k: usize, what: &str| {
            let x = match shamir::combine_checked(&shares, k) {
                Err(shamir::ShamirError::Inconsistent { x }) => format!(" (x = {x})"),
                _ => String::new(),
            };
            bad(format!(
                "with {what} {k}, the share{x} does not agree with the other shares: one is damaged or altered, or the threshold is {real}"
            ))
        };
        if let Some(declared) = wire.unseal_threshold.filter(|&k| k != real) {
            if declared < real {
                return Err(disagreement(declared, "unseal_threshold"));
            }
            return Err(bad(format!(
                "unseal_threshold says {declared}, but any {real} of these {n} shares rebuild the key"
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
        let threshold = Threshold::new(real, n).map_err(Error::from)?;
        Ok(Self {
            shares,
            threshold,
            secret,
        })
    }

    /// The shares, in the order the init output lists them.
    pub fn shares(&self) -> &[ShamirShare] {
        &self.shares
    }

    /// Their real threshold.
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    /// The key they share (for the key check value of the share set).
    pub fn secret(&self) -> &SecretBytes {
        &self.secret
    }

    /// Hands the shares over, for distribution to custodians.
    pub fn into_shares(self) -> (Vec<ShamirShare>, Threshold, SecretBytes) {
        (self.shares, self.threshold, self.secret)
    }
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

    fn init_json(k: usize, n: usize, declared: Option<usize>) -> String {
        let secret = SecretBytes::random(32);
        let shares = shamir::split(&secret, Threshold::new(k, n).unwrap(), &mut OsRng).unwrap();
        let keys: Vec<String> = shares
            .iter()
            .map(|s| s.to_vault_bytes().to_base64().to_string())
            .collect();
        let mut json =
            serde_json::json!({"unseal_keys_b64": keys, "unseal_shares": n, "root_token": "s.x"});
        if let Some(t) = declared {
            json["unseal_threshold"] = t.into();
        }
        json.to_string()
    }

    #[test]
    fn the_real_threshold_is_found_and_a_wrong_one_refused() {
        let json = init_json(3, 5, None);
        let parsed = InitShares::parse("init.json", json.as_bytes(), 3).unwrap();
        assert_eq!(parsed.threshold(), Threshold::new(3, 5).unwrap());
        let err = InitShares::parse("init.json", json.as_bytes(), 4).unwrap_err();
        assert!(err.to_string().contains("any 3 of these 5"), "{err}");
        let json = init_json(3, 5, Some(4));
        let err = InitShares::parse("init.json", json.as_bytes(), 4).unwrap_err();
        assert!(err.to_string().contains("unseal_threshold says 4"), "{err}");
        let json = init_json(3, 5, Some(2));
        let err = InitShares::parse("init.json", json.as_bytes(), 2).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not agree with the other shares"),
            "{err}"
        );
        let json = init_json(5, 5, Some(5));
        assert!(InitShares::parse("init.json", json.as_bytes(), 5).is_ok());
    }

    #[test]
    fn parse_errors_never_quote_the_input() {
        let err = InitShares::parse("init.json", b"{\"unseal_keys_b64\": [\"c2VjcmV0", 2)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }
}
