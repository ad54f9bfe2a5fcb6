//! What a document is, as Kubernetes sees it: a core `Secret`, another
//! object, or not a Kubernetes object at all.
//!
//! Bootstrap sealing treats Secret manifests specially: by default only their
//! `data` and `stringData` are encrypted (`encrypted_regex:
//! ^(data|stringData)$`, the rule Flux's documentation gives), so `kind`,
//! `metadata` and `type` stay readable to Git, reviewers and kustomize. The
//! verifier also needs to know which documents are Secrets to insist that
//! their values are sealed whatever a file's own rule says.
//!
//! Only cleartext `kind` / `apiVersion` values are read. In a file sealed
//! with sops' default rule those are encrypted too, so the kind is
//! [`ObjectKind::Hidden`]: the whole document is encrypted then, which is
//! the stronger state.

use super::tree::{Branch, Value};

/// The `encrypted_regex` used for Secret manifests unless `.sops.yaml` sets
/// a rule.
pub const SECRET_ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// The keys of a Secret whose values are secret.
pub const SECRET_VALUE_KEYS: [&str; 2] = ["data", "stringData"];

/// What one document is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// `apiVersion: v1`, `kind: Secret`.
    Secret {
        /// `metadata.name`, when it is a cleartext string.
        name: Option<String>,
    },
    /// Another Kubernetes object (it has a cleartext `kind` and `apiVersion`).
    Other {
        /// Its `kind`.
        kind: String,
    },
    /// `kind` or `apiVersion` is an encrypted value: unknown without a key.
    Hidden,
    /// Not a Kubernetes object (no `kind` / `apiVersion` strings).
    NotKubernetes,
}

impl ObjectKind {
    /// Whether this is a core Secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, ObjectKind::Secret { .. })
    }
}

/// Classifies one document (its top-level mapping).
pub fn classify(branch: &Branch) -> ObjectKind {
    let kind = text_of(branch.get("kind"));
    let api_version = text_of(branch.get("apiVersion"));
    match (kind, api_version) {
        (Some(Text::Encrypted), _) | (_, Some(Text::Encrypted)) => ObjectKind::Hidden,
        (Some(Text::Clear(kind)), Some(Text::Clear(api))) => {
            if kind == "Secret" && api == "v1" {
                let name = match branch.get("metadata") {
                    Some(Value::Branch(meta)) => match text_of(meta.get("name")) {
                        Some(Text::Clear(n)) => Some(n),
                        _ => None,
                    },
                    _ => None,
                };
                ObjectKind::Secret { name }
            } else {
                ObjectKind::Other { kind }
            }
        }
        _ => ObjectKind::NotKubernetes,
    }
}

/// Classifies every document.
pub fn classify_all(branches: &[Branch]) -> Vec<ObjectKind> {
    branches.iter().map(classify).collect()
}

enum Text {
    Clear(String),
    Encrypted,
}

fn text_of(value: Option<&Value>) -> Option<Text> {
    match value {
        Some(Value::Str(s)) => {
            let bytes = s.expose_secret();
            if super::cipher::is_encrypted_text(bytes) {
                Some(Text::Encrypted)
            } else {
                // `kind`, `apiVersion` and `metadata.name` are not secret in a
                // manifest; anything that is not UTF-8 is not a kind either.
                std::str::from_utf8(bytes)
                    .ok()
                    .map(|t| Text::Clear(t.to_owned()))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::Format;
    use crate::sops::stores;

    fn kinds(yaml: &str) -> Vec<ObjectKind> {
        classify_all(&stores::load_plain(Format::Yaml, yaml.as_bytes()).unwrap())
    }

    #[test]
    fn secret_other_and_plain_documents() {
        let got = kinds(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  a: b\n---\n\
             apiVersion: v1\nkind: ConfigMap\n---\nfoo: bar\n",
        );
        assert_eq!(
            got,
            vec![
                ObjectKind::Secret {
                    name: Some("db".into())
                },
                ObjectKind::Other {
                    kind: "ConfigMap".into()
                },
                ObjectKind::NotKubernetes
            ]
        );
    }

    #[test]
    fn a_secret_kind_of_another_api_group_is_not_a_core_secret() {
        let got = kinds("apiVersion: example.com/v1\nkind: Secret\n");
        assert_eq!(
            got,
            vec![ObjectKind::Other {
                kind: "Secret".into()
            }]
        );
    }

    #[test]
    fn an_encrypted_kind_is_hidden() {
        let got =
            kinds("apiVersion: v1\nkind: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n");
        assert_eq!(got, vec![ObjectKind::Hidden]);
    }
}
