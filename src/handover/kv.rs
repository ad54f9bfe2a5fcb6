//! Receipts from what OpenBao stores: KV v2 secrets as `bao kv get
//! -format=json` prints them, one file per secret.
//!
//! The runtime side keeps the handed-over values in a KV v2 mount, not in
//! Secret manifests. It exports each KV secret that holds bootstrap items:
//!
//! ```text
//! bao kv get -format=json -mount=secret apps/db > kv/apps/db.json
//! ```
//!
//! The output does not name the path it was read from, so **the file's
//! path is the KV path**: `DIR/<path>.json` holds the secret at `<path>` of
//! the mount (`--kv-mount`, default `secret`). The last two components of
//! `<path>` are the Secret's namespace and name (`apps/db` → Secret `db` in
//! namespace `apps`; `bootstrap/apps/db` too, with the prefix kept in the
//! authority path). Each key of the KV secret is the item's key; the
//! authority path in the receipt is the KV v2 API path `<mount>/data/<path>`
//! and the item's version is the secret's `metadata.version`, so every item
//! carries the version OpenBao actually holds.
//!
//! A KV value is a JSON string; its UTF-8 bytes are the item's value bytes
//! (the commitment's message, `docs/handover.md` §4), for `data` and
//! `stringData` items alike: the import stores the decoded value, as `bao
//! kv put PATH key=value` does. Files that are not `*.json`, and JSON files
//! whose path does not end in a Secret's `<namespace>/<name>`, are skipped
//! and named ([`KvDir::skipped`]), never passed over silently.
//!
//! Values are copied from the file (held in [`SecretBytes`]) straight into
//! wiping buffers; serde_json's scratch buffer for escaped strings is not
//! wiped (known limit).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use super::Error;
use super::items::SecretName;
use crate::fsio::{self, Cap};
use crate::secret::SecretBytes;
use crate::walk::{self, FileLinks, Skipped};

/// How a KV export directory is walked: `*.json`, no hidden files, no
/// symbolic links (every file it names must be in the directory).
pub const WALK: walk::Policy = walk::Policy {
    suffixes: &[".json"],
    file_links: FileLinks::Refuse,
    hidden_files: false,
    skip_kustomization: false,
};

/// The default KV v2 mount, as `bao secrets enable -version=2 -path=secret kv`
/// (and `bao server -dev`) make it.
pub const DEFAULT_MOUNT: &str = "secret";

/// One KV v2 secret version, as `bao kv get -format=json` prints it.
pub struct KvSecret {
    /// `data.metadata.version`, from 1.
    pub version: u64,
    /// `data.data`: each key and its value's bytes, in file order.
    pub data: Vec<(String, SecretBytes)>,
}

impl fmt::Debug for KvSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvSecret")
            .field("version", &self.version)
            .field(
                "keys",
                &self
                    .data
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a file is not a usable `bao kv get -format=json` export. Messages
/// never quote a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// Not JSON, a repeated key, or not the shape of the output.
    #[error(
        "not the JSON of `bao kv get -format=json` ({problem}); export each KV v2 secret with `bao kv get -format=json -mount=MOUNT PATH > DIR/PATH.json`"
    )]
    Json {
        /// What is wrong, without any value.
        problem: String,
    },
    /// No `data.metadata.version`: a KV v1 mount, or another command's
    /// output.
    #[error(
        "no data.metadata.version: this is not a KV v2 secret (`bao kv get` on a KV v1 mount, or another command's output); the authority's versions come from KV v2 metadata"
    )]
    NotKvV2,
    /// The version read is deleted or destroyed: it holds no values.
    #[error(
        "version {version} of this secret is {state}: it holds no values; a receipt acknowledges values the authority holds"
    )]
    NoData {
        /// The version.
        version: u64,
        /// `deleted` or `destroyed`.
        state: &'static str,
    },
    /// A value that is not a JSON string.
    #[error("the value of key {key:?} is {found}, not a string; handed-over values are strings")]
    NotAString {
        /// The key, cut to 80 characters.
        key: String,
        /// What it is.
        found: &'static str,
    },
}

/// Reads the output of `bao kv get -format=json` (also the HTTP API's
/// `GET /v1/<mount>/data/<path>` body, which has the same `data`).
pub fn parse_kv_get(bytes: &SecretBytes) -> Result<KvSecret, KvError> {
    let bytes = bytes.expose_secret();
    crate::json::reject_duplicate_keys(bytes).map_err(|e| KvError::Json {
        problem: e.to_string(),
    })?;
    // serde's own messages can quote the offending value; keep only where.
    let wire: Wire = serde_json::from_slice(bytes).map_err(|e| KvError::Json {
        problem: format!(
            "unexpected shape at line {}, column {}",
            e.line(),
            e.column()
        ),
    })?;
    let data = wire.data.ok_or(KvError::NotKvV2)?;
    let metadata = data.metadata.ok_or(KvError::NotKvV2)?;
    let version = metadata
        .version
        .filter(|v| *v >= 1)
        .ok_or(KvError::NotKvV2)?;
    if metadata.destroyed == Some(true) {
        return Err(KvError::NoData {
            version,
            state: "destroyed",
        });
    }
    if metadata
        .deletion_time
        .as_deref()
        .is_some_and(|t| !t.is_empty())
    {
        return Err(KvError::NoData {
            version,
            state: "deleted",
        });
    }
    let entries = data.data.ok_or(KvError::NoData {
        version,
        state: "deleted",
    })?;
    let mut out = Vec::with_capacity(entries.0.len());
    for (key, value) in entries.0 {
        match value {
            KvValue::Text(bytes) => out.push((key, bytes)),
            KvValue::Other(found) => {
                return Err(KvError::NotAString {
                    key: key.chars().take(80).collect(),
                    found,
                });
            }
        }
    }
    Ok(KvSecret { version, data: out })
}

/// `bao kv get -format=json`: `{"request_id": …, "data": {"data": {…},
/// "metadata": {…}}, "warnings": …}`. Fields ceremony does not use are
/// skipped without being kept.
#[derive(Deserialize)]
struct Wire {
    data: Option<WireData>,
}

#[derive(Deserialize)]
struct WireData {
    data: Option<KvData>,
    metadata: Option<WireMetadata>,
}

#[derive(Deserialize)]
struct WireMetadata {
    version: Option<u64>,
    deletion_time: Option<String>,
    destroyed: Option<bool>,
}

/// `data.data`, read value by value into wiping buffers.
struct KvData(Vec<(String, KvValue)>);

enum KvValue {
    Text(SecretBytes),
    /// Not a string: what it is instead (never its value).
    Other(&'static str),
}

impl<'de> Deserialize<'de> for KvData {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = KvData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of KV keys and values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KvData, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    out.push((key, map.next_value::<KvValue>()?));
                }
                Ok(KvData(out))
            }
        }
        d.deserialize_map(Entries)
    }
}

impl<'de> Deserialize<'de> for KvValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = KvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<KvValue, E> {
                Ok(KvValue::Text(SecretBytes::from_slice(v.as_bytes())))
            }
            fn visit_string<E>(self, v: String) -> Result<KvValue, E> {
                let v = zeroize::Zeroizing::new(v);
                Ok(KvValue::Text(SecretBytes::from_slice(v.as_bytes())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<KvValue, E> {
                Ok(KvValue::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<KvValue, E> {
                Ok(KvValue::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<KvValue, E> {
                Ok(KvValue::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<KvValue, E> {
                Ok(KvValue::Other("a number"))
            }
            fn visit_unit<E>(self) -> Result<KvValue, E> {
                Ok(KvValue::Other("null"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<KvValue, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KvValue::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KvValue, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KvValue::Other("an object"))
            }
        }
        d.deserialize_any(Value)
    }
}

/// Checks a KV mount path as `--kv-mount` takes it: `/`-separated
/// non-empty components of printable non-space characters, no `.` or `..`,
/// no leading or trailing `/`.
pub fn check_mount(mount: &str) -> Result<(), String> {
    let clean = !mount.is_empty()
        && mount.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.chars().all(|ch| ch.is_ascii_graphic() && ch != '\\')
        });
    if clean {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a KV mount path (e.g. secret or kv/prod)",
            mount.chars().take(80).collect::<String>()
        ))
    }
}

/// One exported KV secret: the file, its KV path and Secret, and the
/// (still unparsed) bytes.
pub struct KvFile {
    /// The file's path below the directory, `/`-separated.
    pub file: String,
    /// The KV path below the mount: the file's path without `.json`.
    pub kv_path: String,
    /// The Secret it holds items of: the KV path's last two components.
    pub secret: SecretName,
    /// The file's bytes.
    pub bytes: SecretBytes,
}

/// What a KV export directory holds.
#[derive(Default)]
pub struct KvDir {
    /// The secrets, sorted by file.
    pub files: Vec<KvFile>,
    /// Everything passed over, with the reason.
    pub skipped: Vec<Skipped>,
}

/// The KV path and Secret of an export file's relative path, or why it
/// names no Secret.
pub fn kv_path_of(relative: &str) -> Result<(String, SecretName), String> {
    let kv_path = relative
        .strip_suffix(".json")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "not a .json file".to_owned())?;
    let parts: Vec<&str> = kv_path.split('/').collect();
    let secret = match parts.as_slice() {
        [.., namespace, name] => SecretName::parse(&format!("{namespace}/{name}"))
            .map_err(|e| format!("its path does not end in <namespace>/<name> of a Secret: {e}"))?,
        _ => {
            return Err(
                "its path does not end in <namespace>/<name>.json, so it names no Secret".into(),
            );
        }
    };
    Ok((kv_path.to_owned(), secret))
}

/// Reads every `*.json` under `dir` into wiping buffers; a file whose path
/// names no Secret is skipped with the reason.
pub fn read_dir(dir: &Path) -> Result<KvDir, Error> {
    let found = walk::collect(&[dir.to_owned()], WALK)?;
    let mut out = KvDir {
        files: Vec::new(),
        skipped: found.skipped,
    };
    for target in &found.targets {
        let relative = target.relative_slash().ok_or_else(|| Error::FileName {
            path: target.path.clone(),
        })?;
        match kv_path_of(&relative) {
            Ok((kv_path, secret)) => {
                let bytes = SecretBytes::new(fsio::read_input(&target.path, Cap::Manifest)?);
                out.files.push(KvFile {
                    file: relative,
                    kv_path,
                    secret,
                    bytes,
                });
            }
            Err(reason) => out.skipped.push(Skipped {
                path: PathBuf::from(&target.path),
                reason,
            }),
        }
    }
    out.files.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<KvSecret, KvError> {
        parse_kv_get(&SecretBytes::from_slice(json.as_bytes()))
    }

    /// What `bao kv get -format=json` printed for a secret written twice
    /// (OpenBao 2.7.2).
    const KV_GET: &str = r#"{
  "request_id": "5e1c7d5c-0f43-8a6c-3f59-2b0a2f5a9f0e",
  "lease_id": "",
  "lease_duration": 0,
  "renewable": false,
  "data": {
    "data": {
      "password": "hunter2",
      "user": "admin"
    },
    "metadata": {
      "created_time": "2026-12-01T10:00:00.000000000Z",
      "custom_metadata": null,
      "deletion_time": "",
      "destroyed": false,
      "version": 2
    }
  },
  "warnings": null
}"#;

    #[test]
    fn reads_values_and_version() {
        let kv = parse(KV_GET).unwrap();
        assert_eq!(kv.version, 2);
        let keys: Vec<_> = kv.data.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["password", "user"]);
        assert_eq!(kv.data[0].1.expose_secret(), b"hunter2");
        // Debug shows keys, never values.
        let shown = format!("{kv:?}");
        assert!(
            shown.contains("password") && !shown.contains("hunter2"),
            "{shown}"
        );
        // Escaped strings decode to their bytes.
        let escaped = KV_GET.replace("hunter2", "h\\u00fcnter\\n2");
        assert_eq!(
            parse(&escaped).unwrap().data[0].1.expose_secret(),
            "hünter\n2".as_bytes()
        );
    }

    #[test]
    fn refuses_what_is_not_a_kv_v2_value_set() {
        let v1 = r#"{"data": {"password": "hunter2"}}"#;
        assert_eq!(parse(v1).unwrap_err(), KvError::NotKvV2);
        let deleted = KV_GET.replace(
            r#""deletion_time": """#,
            r#""deletion_time": "2026-12-01T11:00:00Z""#,
        );
        assert_eq!(
            parse(&deleted).unwrap_err(),
            KvError::NoData {
                version: 2,
                state: "deleted"
            }
        );
        let destroyed = KV_GET.replace(r#""destroyed": false"#, r#""destroyed": true"#);
        assert!(matches!(
            parse(&destroyed),
            Err(KvError::NoData {
                state: "destroyed",
                ..
            })
        ));
        let number = KV_GET.replace(r#""hunter2""#, "12345");
        let err = parse(&number).unwrap_err();
        assert_eq!(
            err,
            KvError::NotAString {
                key: "password".into(),
                found: "a number"
            }
        );
        let twice = KV_GET.replace(r#""user": "admin""#, r#""password": "admin""#);
        assert!(matches!(parse(&twice), Err(KvError::Json { .. })));
        // A value never reaches an error message.
        let odd = KV_GET.replace(r#""data": {"#, r#""data": "hunter2", "x": {"#);
        let shown = parse(&odd).unwrap_err().to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn file_paths_name_kv_paths_and_secrets() {
        let (path, secret) = kv_path_of("apps/db.json").unwrap();
        assert_eq!(
            (path.as_str(), secret.to_string()),
            ("apps/db", "apps/db".into())
        );
        let (path, secret) = kv_path_of("bootstrap/prod/apps/db.json").unwrap();
        assert_eq!(path, "bootstrap/prod/apps/db");
        assert_eq!(secret.to_string(), "apps/db");
        for bad in ["db.json", "Apps/db.json", "apps/DB_1.json", ".json"] {
            assert!(kv_path_of(bad).is_err(), "{bad}");
        }
        for good in ["secret", "kv/prod"] {
            assert!(check_mount(good).is_ok(), "{good}");
        }
        for bad in ["", "/secret", "secret/", "a//b", "a/../b", "se cret"] {
            assert!(check_mount(bad).is_err(), "{bad:?}");
        }
    }
}
