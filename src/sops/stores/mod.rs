//! File formats: each store turns bytes into branches and back, and places
//! the metadata block where sops 3.11 puts it (sops: `stores/*/store.go`).
//!
//! Stores never open files and never see keys. Every store converts the
//! metadata through one generic JSON value so there is a single serde type
//! for it (`wire.rs`).

pub mod wire;

mod dotenv;
mod flatten;
mod ini;
mod json;
mod wiping;
mod yaml;

use serde_json::Value as Json;

use super::tree::{Branch, Item, ListElement, Value};
use super::{Error, Format, StoreOptions};
use wire::WireMetadata;

/// The YAML indent sops uses unless configured.
pub(crate) const DEFAULT_YAML_INDENT: usize = yaml::DEFAULT_INDENT;

/// The key under which the metadata lives.
pub(crate) const SOPS_KEY: &str = "sops";

/// Parses a plaintext file.
pub(crate) fn load_plain(format: Format, input: &[u8]) -> Result<Vec<Branch>, Error> {
    let branches = match format {
        Format::Yaml => yaml::parse(input, yaml::Mode::Seal)?,
        Format::Json => vec![json::parse(input)?],
        Format::Dotenv => vec![dotenv::parse(input)?],
        Format::Ini => vec![ini::parse(input)?],
        Format::Binary => {
            let mut b = Branch::new();
            b.push(
                "data",
                Value::Str(crate::secret::SecretBytes::from_slice(input)),
            );
            vec![b]
        }
    };
    // sops refuses to encrypt a file that already carries metadata (exit 203).
    let has_metadata = branches.iter().any(|b| {
        b.items.iter().any(|i| match i {
            Item::Entry { key, .. } => {
                key == SOPS_KEY || (format == Format::Dotenv && key.starts_with("sops_"))
            }
            Item::Comment(_) => false,
        })
    });
    if has_metadata && format != Format::Binary {
        return Err(Error::AlreadyEncrypted);
    }
    Ok(branches)
}

/// Parses an encrypted file into its branches (metadata removed) and the
/// metadata's wire form.
pub(crate) fn load_encrypted(
    format: Format,
    input: &[u8],
) -> Result<(Vec<Branch>, WireMetadata), Error> {
    let (mut branches, meta) = match format {
        Format::Yaml => {
            let mut branches = yaml::parse(input, yaml::Mode::Open)?;
            // The metadata is read from the first document and removed from all.
            let meta = branches.first().and_then(|b| b.get(SOPS_KEY).cloned());
            for b in &mut branches {
                b.remove(SOPS_KEY);
            }
            (branches, meta.map(|m| value_to_json(&m)).transpose()?)
        }
        Format::Json | Format::Binary => {
            let mut b = json::parse(input)?;
            let meta = b.remove(SOPS_KEY);
            (vec![b], meta.map(|m| value_to_json(&m)).transpose()?)
        }
        Format::Dotenv => {
            let (b, flat) = dotenv::parse_encrypted(input)?;
            (
                vec![b],
                if flat.is_empty() {
                    None
                } else {
                    Some(flatten::unflatten(&flat)?)
                },
            )
        }
        Format::Ini => {
            let (b, flat) = ini::parse_encrypted(input)?;
            (vec![b], flat.map(|f| flatten::unflatten(&f)).transpose()?)
        }
    };
    let meta = meta.ok_or(Error::MetadataNotFound)?;
    let wire: WireMetadata = serde_json::from_value(meta).map_err(|e| Error::InvalidMetadata {
        field: "sops".into(),
        reason: e.to_string(),
    })?;
    if let (Format::Binary, [only]) = (format, branches.as_mut_slice()) {
        only.items.retain(|i| matches!(i, Item::Entry { .. }));
    }
    Ok((branches, wire))
}

/// Writes a plaintext file.
pub(crate) fn emit_plain(
    format: Format,
    branches: &[Branch],
    layout: &StoreOptions,
) -> Result<Vec<u8>, Error> {
    match format {
        Format::Yaml => yaml::emit(branches, layout.yaml_indent),
        Format::Json => json::emit(single(branches)?, layout.json_indent),
        Format::Dotenv => dotenv::emit(single(branches)?, &[]),
        Format::Ini => ini::emit(single(branches)?, None),
        Format::Binary => {
            let data = single(branches)?.get("data");
            match data {
                Some(Value::Str(s)) => Ok(s.expose_secret().to_vec()),
                _ => Err(Error::UnsupportedValue {
                    path: "data".into(),
                    reason: "a binary file needs a string `data` value",
                }),
            }
        }
    }
}

/// Writes an encrypted file with its metadata.
pub(crate) fn emit_encrypted(
    format: Format,
    branches: &[Branch],
    meta: &WireMetadata,
    layout: &StoreOptions,
) -> Result<Vec<u8>, Error> {
    let json = metadata_json(meta, format)?;
    match format {
        Format::Yaml => {
            let meta_value = json_to_value(&json);
            let with_meta: Vec<Branch> = branches
                .iter()
                .map(|b| {
                    let mut b = b.clone();
                    b.push(SOPS_KEY, meta_value.clone());
                    b
                })
                .collect();
            yaml::emit(&with_meta, layout.yaml_indent)
        }
        Format::Json | Format::Binary => {
            let mut b = single(branches)?.clone();
            b.push(SOPS_KEY, json_to_value(&json));
            let indent = if format == Format::Json {
                layout.json_indent
            } else {
                layout.json_binary_indent
            };
            json::emit(&b, indent)
        }
        Format::Dotenv => dotenv::emit(single(branches)?, &flatten::flatten(&json)),
        Format::Ini => ini::emit(single(branches)?, Some(&flatten::flatten(&json))),
    }
}

fn single(branches: &[Branch]) -> Result<&Branch, Error> {
    match branches {
        [b] => Ok(b),
        _ => Err(Error::UnsupportedValue {
            path: String::new().into(),
            reason: "this format holds exactly one document",
        }),
    }
}

/// The metadata as a generic value. sops 3.11 writes a group's `hc_vault`
/// and `age` even when empty: go-yaml prints the nil slice as `[]`, Go's JSON
/// as `null` (which the flattened stores then drop).
fn metadata_json(meta: &WireMetadata, format: Format) -> Result<Json, Error> {
    let mut json = serde_json::to_value(meta).map_err(|e| Error::InvalidMetadata {
        field: "sops".into(),
        reason: e.to_string(),
    })?;
    if format != Format::Yaml {
        if let Some(Json::Array(groups)) = json.get_mut("key_groups") {
            for g in groups {
                if let Json::Object(map) = g {
                    for k in ["hc_vault", "age"] {
                        if map
                            .get(k)
                            .is_some_and(|v| v.as_array().is_some_and(Vec::is_empty))
                        {
                            map.insert(k.to_string(), Json::Null);
                        }
                    }
                }
            }
        }
    }
    Ok(json)
}

/// Generic JSON → tree value (metadata only, so no secrets here).
fn json_to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::str(s),
        Json::Array(a) => Value::List(
            a.iter()
                .map(|v| ListElement::Value(json_to_value(v)))
                .collect(),
        ),
        Json::Object(o) => {
            let mut b = Branch::new();
            for (k, v) in o {
                b.push(k.clone(), json_to_value(v));
            }
            Value::Branch(b)
        }
    }
}

/// Tree value → generic JSON, for reading the metadata block.
fn value_to_json(value: &Value) -> Result<Json, Error> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::Str(s) => {
            Json::String(String::from_utf8(s.expose_secret().to_vec()).map_err(|_| {
                Error::InvalidMetadata {
                    field: "sops".into(),
                    reason: "metadata text is not UTF-8".into(),
                }
            })?)
        }
        Value::Time(t) => Json::String(t.as_str().to_string()),
        Value::List(l) => Json::Array(
            l.iter()
                .filter_map(|e| match e {
                    ListElement::Value(v) => Some(value_to_json(v)),
                    ListElement::Comment(_) => None,
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Branch(b) => {
            let mut map = serde_json::Map::new();
            for item in &b.items {
                if let Item::Entry { key, value } = item {
                    map.insert(key.clone(), value_to_json(value)?);
                }
            }
            Json::Object(map)
        }
    })
}

/// sops `ValToString`, used by dotenv and INI for non-string values.
fn val_to_string(value: &Value, path: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    Ok(zeroize::Zeroizing::new(match value {
        Value::Str(s) => s.expose_secret().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Float(f) => {
            // Go: FormatFloat(v, 'G', -1) and, if that reads as an integer,
            // FormatFloat(v, 'f', 1).
            let g = super::tree::yaml_format_float(*f).to_uppercase();
            let g = match g.as_str() {
                ".INF" => "+INF".to_string(),
                "-.INF" => "-INF".to_string(),
                ".NAN" => "NAN".to_string(),
                _ => g,
            };
            if g.contains('.') || g.contains('E') || !f.is_finite() {
                g.into_bytes()
            } else {
                format!("{f:.1}").into_bytes()
            }
        }
        Value::Time(t) => super::tree::GoTime::to_rfc3339_seconds(t).into_bytes(),
        Value::Null => b"<nil>".to_vec(),
        Value::Branch(_) | Value::List(_) => {
            return Err(Error::UnsupportedValue {
                path: path.into(),
                reason: "nested values are not supported in this format",
            });
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_store_round_trips_any_bytes() {
        let bytes: Vec<u8> = (0u8..=255).collect();
        let branches = load_plain(Format::Binary, &bytes).unwrap();
        assert_eq!(
            emit_plain(Format::Binary, &branches, &StoreOptions::default()).unwrap(),
            bytes
        );
    }

    #[test]
    fn plaintext_with_metadata_is_refused() {
        assert!(matches!(
            load_plain(Format::Yaml, b"a: 1\nsops: x\n"),
            Err(Error::AlreadyEncrypted)
        ));
        assert!(matches!(
            load_plain(Format::Dotenv, b"A=1\nsops_mac=x\n"),
            Err(Error::AlreadyEncrypted)
        ));
    }

    #[test]
    fn plaintext_output_is_written_into_one_reserved_buffer() {
        // The returned Vec is the emitter's wiping buffer, moved out: a
        // capacity equal to the reserved one means it never had to grow.
        let fixtures =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops"));
        let mut checked = 0;
        for (name, format) in [
            ("k8s-secret.plain.yaml", Format::Yaml),
            ("nested.plain.yaml", Format::Yaml),
            ("basic.plain.json", Format::Json),
            ("app.plain.env", Format::Dotenv),
            ("config.plain.ini", Format::Ini),
        ] {
            let Ok(input) = std::fs::read(fixtures.join(name)) else {
                continue;
            };
            let branches = load_plain(format, &input).unwrap();
            let out = emit_plain(format, &branches, &StoreOptions::default()).unwrap();
            assert_eq!(
                out.capacity(),
                wiping::capacity_for(&branches),
                "{name}: the output buffer grew"
            );
            checked += 1;
        }
        assert_eq!(checked, 5, "fixtures not found in {}", fixtures.display());
    }

    #[test]
    fn missing_metadata_is_reported() {
        assert!(matches!(
            load_encrypted(Format::Yaml, b"a: 1\n"),
            Err(Error::MetadataNotFound)
        ));
        assert!(matches!(
            load_encrypted(Format::Dotenv, b"A=1\n"),
            Err(Error::MetadataNotFound)
        ));
        assert!(matches!(
            load_encrypted(Format::Ini, b"[a]\nb = 1\n"),
            Err(Error::MetadataNotFound)
        ));
    }
}
