//! The flattened metadata of the dotenv and INI stores (sops:
//! `stores/flatten.go`): nested maps add `__map_<key>`, list elements add
//! `__list_<index>`, nulls are dropped, real newlines become the two
//! characters `\n`.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::Error;

/// Flattens the metadata value into sorted `(key, text)` pairs.
pub(super) fn flatten(json: &Json) -> Vec<(String, String)> {
    let mut out = BTreeMap::new();
    if let Json::Object(map) = json {
        for (k, v) in map {
            walk(k.clone(), v, &mut out);
        }
    }
    out.into_iter().collect()
}

fn walk(prefix: String, v: &Json, out: &mut BTreeMap<String, String>) {
    match v {
        Json::Null => {}
        Json::Bool(b) => {
            out.insert(prefix, b.to_string());
        }
        Json::Number(n) => {
            out.insert(prefix, n.to_string());
        }
        Json::String(s) => {
            out.insert(prefix, s.replace('\n', "\\n"));
        }
        Json::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                walk(format!("{prefix}__list_{i}"), e, out);
            }
        }
        Json::Object(o) => {
            for (k, e) in o {
                walk(format!("{prefix}__map_{k}"), e, out);
            }
        }
    }
}

/// Rebuilds the metadata value from flattened pairs (keys without any
/// `sops_` prefix).
pub(super) fn unflatten(pairs: &[(String, String)]) -> Result<Json, Error> {
    let mut root = Json::Object(serde_json::Map::new());
    for (key, value) in pairs {
        let mut parts = key.split("__");
        let top = parts.next().unwrap_or_default();
        let mut path: Vec<Step> = vec![Step::Key(top.to_string())];
        for p in parts {
            if let Some(i) = p.strip_prefix("list_") {
                let i: usize = i.parse().map_err(|_| bad(key))?;
                path.push(Step::Index(i));
            } else if let Some(k) = p.strip_prefix("map_") {
                path.push(Step::Key(k.to_string()));
            } else {
                return Err(bad(key));
            }
        }
        let text = value.replace("\\n", "\n");
        insert(&mut root, &path, Json::String(text)).ok_or_else(|| bad(key))?;
    }
    Ok(root)
}

fn bad(key: &str) -> Error {
    Error::InvalidMetadata {
        field: key.to_string(),
        reason: "malformed flattened metadata key".into(),
    }
}

enum Step {
    Key(String),
    Index(usize),
}

fn insert(node: &mut Json, path: &[Step], value: Json) -> Option<()> {
    let (first, rest) = path.split_first()?;
    let slot: &mut Json = match first {
        Step::Key(k) => {
            let map = node.as_object_mut()?;
            map.entry(k.clone()).or_insert(Json::Null)
        }
        Step::Index(i) => {
            let arr = node.as_array_mut()?;
            if *i > 10_000 {
                return None;
            }
            while arr.len() <= *i {
                arr.push(Json::Null);
            }
            arr.get_mut(*i)?
        }
    };
    match rest.first() {
        None => {
            *slot = value;
            Some(())
        }
        Some(next) => {
            if slot.is_null() {
                *slot = match next {
                    Step::Key(_) => Json::Object(serde_json::Map::new()),
                    Step::Index(_) => Json::Array(Vec::new()),
                };
            }
            insert(slot, rest, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_and_back() {
        let v: Json = serde_json::json!({
            "key_groups": [{"hc_vault": null, "age": [{"recipient": "r", "enc": "a\nb"}]}],
            "shamir_threshold": 2,
            "version": "3.11.0"
        });
        let flat = flatten(&v);
        assert_eq!(
            flat,
            vec![
                (
                    "key_groups__list_0__map_age__list_0__map_enc".to_string(),
                    "a\\nb".to_string()
                ),
                (
                    "key_groups__list_0__map_age__list_0__map_recipient".to_string(),
                    "r".to_string()
                ),
                ("shamir_threshold".to_string(), "2".to_string()),
                ("version".to_string(), "3.11.0".to_string()),
            ]
        );
        let back = unflatten(&flat).unwrap();
        assert_eq!(back["key_groups"][0]["age"][0]["enc"], "a\nb");
        assert_eq!(back["shamir_threshold"], "2");
    }
}
