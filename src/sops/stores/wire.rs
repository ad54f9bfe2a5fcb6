//! The `sops` metadata block as it is serialised (sops: `stores/stores.go`,
//! type `Metadata` and its sub-structs), kept apart from the domain type in
//! `metadata.rs` so the file format stays fixed while the code changes.
//!
//! Field order here is the emit order of sops 3.11 (spec §3.1); serde keeps
//! it and `serde_json`'s `preserve_order` carries it through the generic
//! value every store converts to and from. Key types this crate does not use
//! (pgp, kms, gcp_kms, hckms, azure_kv, hc_vault) stay opaque JSON objects and
//! so survive a round trip byte for byte.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;

/// The whole metadata block.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WireMetadata {
    /// Quorum of key groups; omitted when 0.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "threshold_from_any"
    )]
    pub shamir_threshold: u64,
    /// Present only with two or more groups.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub key_groups: Vec<WireKeyGroup>,
    /// AWS KMS entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub kms: Vec<Json>,
    /// GCP KMS entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub gcp_kms: Vec<Json>,
    /// HuaweiCloud KMS entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub hckms: Vec<Json>,
    /// Azure Key Vault entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub azure_kv: Vec<Json>,
    /// HashiCorp Vault entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub hc_vault: Vec<Json>,
    /// age entries.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub age: Vec<WireAge>,
    /// RFC 3339 at second precision.
    #[serde(default)]
    pub lastmodified: String,
    /// The encrypted MAC.
    #[serde(default)]
    pub mac: String,
    /// PGP entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub pgp: Vec<Json>,
    /// Crypt rule fields; at most one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted_suffix: Option<String>,
    /// See `unencrypted_suffix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_suffix: Option<String>,
    /// See `unencrypted_suffix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted_regex: Option<String>,
    /// See `unencrypted_suffix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_regex: Option<String>,
    /// See `unencrypted_suffix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted_comment_regex: Option<String>,
    /// See `unencrypted_suffix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_comment_regex: Option<String>,
    /// MAC over encrypted values only.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "bool_from_any"
    )]
    pub mac_only_encrypted: bool,
    /// Version of the writer; a string (sops 1.x numbers are refused).
    #[serde(default)]
    pub version: String,
}

/// One key group. `hc_vault` and `age` are always written (sops 3.11 has no
/// `omitempty` on them): `[]` in YAML, `null` in JSON.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WireKeyGroup {
    /// PGP entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub pgp: Vec<Json>,
    /// AWS KMS entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub kms: Vec<Json>,
    /// GCP KMS entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub gcp_kms: Vec<Json>,
    /// HuaweiCloud KMS entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub hckms: Vec<Json>,
    /// Azure Key Vault entries (opaque).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub azure_kv: Vec<Json>,
    /// HashiCorp Vault entries (opaque).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub hc_vault: Vec<Json>,
    /// age entries.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub age: Vec<WireAge>,
}

/// One age entry: the recipient and the armored age file of the data key (or
/// of this group's Shamir share).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WireAge {
    /// `age1…` (or ssh) recipient as given.
    #[serde(default)]
    pub recipient: String,
    /// ASCII-armored age file.
    #[serde(default)]
    pub enc: String,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Accepts an integer, a whole float (`2.0`, as the flattened stores may
/// carry it) or a decimal string.
fn threshold_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::de::Error as _;
    let v = Json::deserialize(d)?;
    let n = match &v {
        Json::Null => return Ok(0),
        Json::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(whole)),
        Json::String(s) => s
            .parse::<u64>()
            .ok()
            .or_else(|| s.parse::<f64>().ok().and_then(whole)),
        _ => None,
    };
    n.ok_or_else(|| D::Error::custom("shamir_threshold is not a non-negative integer"))
}

fn whole(f: f64) -> Option<u64> {
    (f.fract() == 0.0 && (0.0..=255.0).contains(&f)).then_some(f as u64)
}

fn bool_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    use serde::de::Error as _;
    match Json::deserialize(d)? {
        Json::Null => Ok(false),
        Json::Bool(b) => Ok(b),
        Json::String(s) if s == "true" => Ok(true),
        Json::String(s) if s == "false" => Ok(false),
        _ => Err(D::Error::custom("mac_only_encrypted is not a boolean")),
    }
}
