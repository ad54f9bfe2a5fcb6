//! Kubernetes objects in a parsed manifest: the one place that decides what
//! is a Secret.
//!
//! Sealing (which rule a file gets), `bootstrap verify` (is every Secret
//! value encrypted?) and the handover (which items a challenge lists) all
//! ask this module, so they cannot disagree. It sees a manifest the way
//! `kubectl apply` and kustomize do:
//!
//! * every document of a multi-document stream (one [`Branch`] each);
//! * the items of a `kind: List` and of any `*List` kind (`SecretList`, …),
//!   recursively;
//! * YAML merge keys (`<<: *base`, `<<: [*a, *b]`), which the stores keep as
//!   an entry named `<<` holding the expanded mapping: a key given
//!   explicitly wins, then each merged mapping in order, as in YAML 1.1;
//! * JSON documents, which the JSON store parses into the same tree.
//!
//! A **Secret** is a mapping whose `kind` is `Secret` and whose
//! `apiVersion` is `v1` or absent (an object without `apiVersion` is not
//! applied by kubectl, but a careless manifest is flagged rather than
//! passed). A `Secret` kind of another API group is a custom resource, not
//! a core Secret. An object whose `kind` or `apiVersion` is encrypted is
//! [`ObjectKind::Hidden`]: unknown without a key (its whole content is then
//! encrypted, which is the stronger state).
//!
//! The name rules Kubernetes applies to what ceremony writes or reads
//! (namespaces, object names, Secret keys) live here too.

use crate::sops::cipher::is_encrypted_text;
use crate::sops::tree::{Branch, Item, ListElement, Value};

/// The `encrypted_regex` a Secret manifest is sealed with unless
/// `.sops.yaml` sets a rule: its values are encrypted, its kind and
/// metadata stay readable to kustomize and Flux.
pub const SECRET_ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// The fields of a Secret whose values are secret, in the order Kubernetes
/// merges them (`stringData` over `data`).
pub const SECRET_VALUE_FIELDS: [&str; 2] = ["data", "stringData"];

/// The key YAML merge keys are stored under.
const MERGE_KEY: &str = "<<";

/// How deep merged mappings and nested Lists are followed. Anchors cannot
/// refer to themselves, so real manifests stay far below this; the cap only
/// bounds the work a hostile file can ask for.
const MAX_NESTING: usize = 64;

/// A mapping seen with its merge keys applied.
#[derive(Clone, Copy, Debug)]
pub struct Mapping<'a> {
    branch: &'a Branch,
}

impl<'a> Mapping<'a> {
    /// A view of `branch`.
    pub fn new(branch: &'a Branch) -> Self {
        Self { branch }
    }

    /// The underlying mapping, without merges.
    pub fn branch(&self) -> &'a Branch {
        self.branch
    }

    /// The value of `key`: given explicitly, or else from the first merged
    /// mapping that has it.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        lookup(self.branch, key, 0)
    }

    /// The mapping under `key`, if that is a mapping.
    pub fn mapping(&self, key: &str) -> Option<Mapping<'a>> {
        match self.get(key) {
            Some(Value::Branch(b)) => Some(Mapping::new(b)),
            _ => None,
        }
    }

    /// Every effective entry, in order: explicit entries (except `<<`), then
    /// keys that only merged mappings provide, in merge order.
    pub fn entries(&self) -> Vec<(&'a str, &'a Value)> {
        let mut out: Vec<(&'a str, &'a Value)> = Vec::new();
        collect_entries(self.branch, &mut out, 0);
        out
    }

    /// A cleartext string value of `key`.
    pub fn text(&self, key: &str) -> Text<'a> {
        text_of(self.get(key))
    }
}

fn lookup<'a>(branch: &'a Branch, key: &str, depth: usize) -> Option<&'a Value> {
    if let Some(value) = branch.get(key) {
        return Some(value);
    }
    if depth >= MAX_NESTING {
        return None;
    }
    merged(branch).find_map(|m| lookup(m, key, depth + 1))
}

/// The mappings a `<<` entry merges in, in order.
fn merged(branch: &Branch) -> impl Iterator<Item = &Branch> {
    branch
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Entry { key, value } if key == MERGE_KEY => Some(value),
            _ => None,
        })
        .flat_map(|value| {
            let list: Vec<&Branch> = match value {
                Value::Branch(b) => vec![b],
                Value::List(elements) => elements
                    .iter()
                    .filter_map(|e| match e {
                        ListElement::Value(Value::Branch(b)) => Some(b),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            list
        })
}

fn collect_entries<'a>(branch: &'a Branch, out: &mut Vec<(&'a str, &'a Value)>, depth: usize) {
    for item in &branch.items {
        if let Item::Entry { key, value } = item {
            if key != MERGE_KEY && !out.iter().any(|(k, _)| *k == key.as_str()) {
                out.push((key.as_str(), value));
            }
        }
    }
    if depth < MAX_NESTING {
        for m in merged(branch) {
            collect_entries(m, out, depth + 1);
        }
    }
}

/// A string field as a manifest holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text<'a> {
    /// Cleartext UTF-8.
    Clear(&'a str),
    /// An `ENC[…]` value.
    Encrypted,
    /// Absent.
    Missing,
    /// Present but not a UTF-8 string (a number, a mapping, bytes).
    NotText,
}

fn text_of(value: Option<&Value>) -> Text<'_> {
    match value {
        None => Text::Missing,
        Some(Value::Str(s)) => {
            let bytes = s.expose_secret();
            if is_encrypted_text(bytes) {
                Text::Encrypted
            } else {
                // `kind`, `apiVersion` and `metadata` fields are not secret
                // in a manifest.
                std::str::from_utf8(bytes).map_or(Text::NotText, Text::Clear)
            }
        }
        Some(_) => Text::NotText,
    }
}

/// What one object is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// A core Secret.
    Secret,
    /// A `List` or `*List`; its items are objects of their own.
    List {
        /// Its `kind`.
        kind: String,
    },
    /// Another Kubernetes object.
    Other {
        /// Its `kind`.
        kind: String,
    },
    /// `kind` or `apiVersion` is encrypted: unknown without a key.
    Hidden,
    /// Not a Kubernetes object (no cleartext `kind` string).
    NotKubernetes,
}

/// Where an object sits: its document, and the `items` indices that lead
/// to it through Lists (empty for a document itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 0-based document of the file.
    pub document: usize,
    /// Indices into `items` of the enclosing Lists, outermost first.
    pub items: Vec<usize>,
}

impl Location {
    /// `items[2].items[0]`, or empty for a document.
    pub fn item_path(&self) -> String {
        self.items
            .iter()
            .map(|i| format!("items[{i}]"))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// One object found in a manifest.
#[derive(Clone, Debug)]
pub struct Object<'a> {
    /// Where it is.
    pub location: Location,
    /// What it is.
    pub kind: ObjectKind,
    /// Its fields, merges applied.
    pub fields: Mapping<'a>,
}

impl Object<'_> {
    /// Whether it is a core Secret.
    pub fn is_secret(&self) -> bool {
        self.kind == ObjectKind::Secret
    }

    /// `metadata.name` when it is a cleartext string.
    pub fn name(&self) -> Option<&str> {
        match self.fields.mapping("metadata")?.text("name") {
            Text::Clear(name) => Some(name),
            _ => None,
        }
    }

    /// How a report names it: `document 2, items[0], Secret "db"`, leaving
    /// out the document when the file has only one.
    pub fn describe(&self, documents: usize) -> String {
        let mut parts = Vec::new();
        if documents > 1 {
            parts.push(format!("document {}", self.location.document + 1));
        }
        if !self.location.items.is_empty() {
            parts.push(self.location.item_path());
        }
        let what = match &self.kind {
            ObjectKind::Secret => "Secret".to_owned(),
            ObjectKind::List { kind } | ObjectKind::Other { kind } => kind.clone(),
            ObjectKind::Hidden => "object with an encrypted kind".to_owned(),
            ObjectKind::NotKubernetes => "document".to_owned(),
        };
        parts.push(match self.name() {
            Some(name) => format!("{what} {name:?}"),
            None => what,
        });
        parts.join(", ")
    }
}

/// Classifies one mapping.
pub fn classify(fields: Mapping<'_>) -> ObjectKind {
    match (fields.text("kind"), fields.text("apiVersion")) {
        (Text::Encrypted, _) | (_, Text::Encrypted) => ObjectKind::Hidden,
        (Text::Clear("Secret"), Text::Clear("v1") | Text::Missing) => ObjectKind::Secret,
        (Text::Clear(kind), _) if is_list_kind(kind) && fields.get("items").is_some() => {
            ObjectKind::List {
                kind: kind.to_owned(),
            }
        }
        (Text::Clear(kind), _) => ObjectKind::Other {
            kind: kind.to_owned(),
        },
        _ => ObjectKind::NotKubernetes,
    }
}

/// `List` and the typed list kinds (`SecretList`, `ConfigMapList`, …),
/// which kubectl and kustomize flatten into their items.
fn is_list_kind(kind: &str) -> bool {
    kind.ends_with("List")
}

/// Every object of a file, in order: each document, and within a List the
/// List itself followed by its items (depth first).
pub fn objects(documents: &[Branch]) -> Vec<Object<'_>> {
    let mut out = Vec::new();
    for (document, branch) in documents.iter().enumerate() {
        let location = Location {
            document,
            items: Vec::new(),
        };
        visit(Mapping::new(branch), location, &mut out);
    }
    out
}

fn visit<'a>(fields: Mapping<'a>, location: Location, out: &mut Vec<Object<'a>>) {
    let kind = classify(fields);
    let items = match (&kind, fields.get("items")) {
        (ObjectKind::List { .. }, Some(Value::List(items))) => Some(items),
        _ => None,
    };
    let depth = location.items.len();
    out.push(Object {
        location: location.clone(),
        kind,
        fields,
    });
    let Some(items) = items else { return };
    if depth >= MAX_NESTING {
        return;
    }
    let mappings = items.iter().filter_map(|e| match e {
        ListElement::Value(Value::Branch(b)) => Some(b),
        _ => None,
    });
    for (index, item) in mappings.enumerate() {
        let mut inner = location.clone();
        inner.items.push(index);
        visit(Mapping::new(item), inner, out);
    }
}

/// Whether any object of the file is a Secret.
pub fn holds_secret(documents: &[Branch]) -> bool {
    objects(documents).iter().any(Object::is_secret)
}

/// A value of a Secret's `data` or `stringData`.
#[derive(Clone, Copy, Debug)]
pub struct SecretValue<'a> {
    /// `data` or `stringData`.
    pub field: &'static str,
    /// The key under it.
    pub key: &'a str,
    /// The value.
    pub value: &'a Value,
}

/// Every value under a Secret's `data` then `stringData`, merges applied.
/// A field that is not a mapping yields nothing here; callers that need it
/// to be one check [`Mapping::get`] themselves.
pub fn secret_values<'a>(secret: &Object<'a>) -> Vec<SecretValue<'a>> {
    let mut out = Vec::new();
    for field in SECRET_VALUE_FIELDS {
        if let Some(values) = secret.fields.mapping(field) {
            for (key, value) in values.entries() {
                out.push(SecretValue { field, key, value });
            }
        }
    }
    out
}

/// The state of one leaf of a Secret value, without a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealing {
    /// An `ENC[…]` value.
    Encrypted,
    /// Empty or null: sops never encrypts those, and there is nothing to hide.
    Empty,
    /// In cleartext.
    Clear,
}

/// Whether every leaf of `value` is encrypted (a Secret value is a string;
/// a nested one is checked leaf by leaf so nothing hides in it).
pub fn sealing(value: &Value) -> Sealing {
    match value {
        Value::Str(s) if s.is_empty() => Sealing::Empty,
        Value::Str(s) if is_encrypted_text(s.expose_secret()) => Sealing::Encrypted,
        Value::Null => Sealing::Empty,
        Value::Branch(b) => combine(b.items.iter().filter_map(|i| match i {
            Item::Entry { value, .. } => Some(sealing(value)),
            Item::Comment(_) => None,
        })),
        Value::List(l) => combine(l.iter().filter_map(|e| match e {
            ListElement::Value(v) => Some(sealing(v)),
            ListElement::Comment(_) => None,
        })),
        _ => Sealing::Clear,
    }
}

fn combine(leaves: impl Iterator<Item = Sealing>) -> Sealing {
    let mut state = Sealing::Empty;
    for leaf in leaves {
        match leaf {
            Sealing::Clear => return Sealing::Clear,
            Sealing::Encrypted => state = Sealing::Encrypted,
            Sealing::Empty => {}
        }
    }
    state
}

/// A name Kubernetes would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {shown:?} is not allowed: {rule}")]
pub struct NameError {
    /// What kind of name.
    pub what: &'static str,
    /// The name, cut to 80 characters.
    pub shown: String,
    /// The rule it breaks.
    pub rule: &'static str,
}

fn name_error(what: &'static str, text: &str, rule: &'static str) -> NameError {
    NameError {
        what,
        shown: text.chars().take(80).collect(),
        rule,
    }
}

fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A namespace: an RFC 1123 DNS label.
pub fn check_namespace(text: &str) -> Result<(), NameError> {
    if is_dns_label(text) {
        Ok(())
    } else {
        Err(name_error(
            "namespace",
            text,
            "a DNS-1123 label: lower-case letters, digits and '-', at most 63",
        ))
    }
}

/// An object name: an RFC 1123 DNS subdomain.
pub fn check_name(text: &str) -> Result<(), NameError> {
    if text.len() <= 253 && text.split('.').all(is_dns_label) {
        Ok(())
    } else {
        Err(name_error(
            "name",
            text,
            "a DNS-1123 subdomain: lower-case letters, digits, '.' and '-', at most 253",
        ))
    }
}

/// A Secret key: `[-._a-zA-Z0-9]+`, at most 253 bytes, not `.` or `..`.
pub fn check_secret_key(key: &str) -> Result<(), NameError> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(name_error(
            "Secret key",
            key,
            "letters, digits, '.', '_' and '-', at most 253, not '.' or '..'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::Format;
    use crate::sops::stores;

    fn parse(format: Format, text: &str) -> Vec<Branch> {
        stores::load_plain(format, text.as_bytes()).unwrap()
    }

    fn kinds(format: Format, text: &str) -> Vec<(String, ObjectKind)> {
        let docs = parse(format, text);
        objects(&docs)
            .into_iter()
            .map(|o| (o.location.item_path(), o.kind))
            .collect()
    }

    fn clear_secret_values(format: Format, text: &str) -> Vec<String> {
        let docs = parse(format, text);
        objects(&docs)
            .iter()
            .filter(|o| o.is_secret())
            .flat_map(|o| secret_values(o))
            .filter(|v| sealing(v.value) == Sealing::Clear)
            .map(|v| format!("{}:{}", v.field, v.key))
            .collect()
    }

    #[test]
    fn documents_of_every_kind() {
        let got = kinds(
            Format::Yaml,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  a: b\n---\n\
             apiVersion: v1\nkind: ConfigMap\n---\nfoo: bar\n---\napiVersion: example.com/v1\nkind: Secret\n",
        );
        assert_eq!(
            got,
            vec![
                (String::new(), ObjectKind::Secret),
                (
                    String::new(),
                    ObjectKind::Other {
                        kind: "ConfigMap".into()
                    }
                ),
                (String::new(), ObjectKind::NotKubernetes),
                (
                    String::new(),
                    ObjectKind::Other {
                        kind: "Secret".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn secrets_inside_lists_are_found_at_any_depth() {
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n\
                    - apiVersion: v1\n  kind: SecretList\n  items:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: inner\n    stringData:\n      token: clear\n";
        let got = kinds(Format::Yaml, yaml);
        assert_eq!(got.len(), 4);
        assert_eq!(got[3], ("items[1].items[0]".into(), ObjectKind::Secret));
        assert_eq!(
            clear_secret_values(Format::Yaml, yaml),
            vec!["stringData:token"]
        );
    }

    #[test]
    fn a_json_list_is_a_list() {
        let json = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"j"},"data":{"k":"dg=="}}]}"#;
        assert_eq!(clear_secret_values(Format::Json, json), vec!["data:k"]);
    }

    #[test]
    fn merge_keys_give_kind_and_values() {
        let yaml = "base: &b\n  apiVersion: v1\n  kind: Secret\n---\n\
                    <<: {apiVersion: v1, kind: Secret}\nmetadata: {name: m}\nstringData:\n  <<: {password: hunter2}\n  user: admin\n";
        let docs = parse(Format::Yaml, yaml);
        let found = objects(&docs);
        assert_eq!(found[1].kind, ObjectKind::Secret);
        assert_eq!(found[1].name(), Some("m"));
        assert_eq!(
            clear_secret_values(Format::Yaml, yaml),
            vec!["stringData:user", "stringData:password"]
        );
        // Explicit keys win over merged ones.
        let yaml = "<<: {kind: Secret, apiVersion: v1}\nkind: ConfigMap\n";
        assert_eq!(
            kinds(Format::Yaml, yaml)[0].1,
            ObjectKind::Other {
                kind: "ConfigMap".into()
            }
        );
        // A list of merged mappings: the first that has the key wins.
        let yaml = "<<: [{kind: Secret}, {kind: ConfigMap}]\napiVersion: v1\n";
        assert_eq!(kinds(Format::Yaml, yaml)[0].1, ObjectKind::Secret);
    }

    #[test]
    fn an_encrypted_kind_is_hidden_and_encrypted_values_are_sealed() {
        let enc = "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]";
        let yaml = format!("apiVersion: v1\nkind: {enc}\n");
        assert_eq!(kinds(Format::Yaml, &yaml)[0].1, ObjectKind::Hidden);
        let yaml = format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  a: {enc}\n  b: \"\"\n  c: null\n  d:\n    nested: clear\n"
        );
        assert_eq!(clear_secret_values(Format::Yaml, &yaml), vec!["data:d"]);
    }

    #[test]
    fn kubernetes_names() {
        assert!(check_namespace("flux-system").is_ok());
        assert!(check_namespace("Flux").is_err());
        assert!(check_name("a.b-c").is_ok());
        assert!(check_name("a..b").is_err());
        assert!(check_secret_key("tls.crt").is_ok());
        assert!(check_secret_key("..").is_err());
        assert!(check_secret_key("a: b").is_err());
        let long = "x".repeat(100_000);
        let err = check_name(&long).unwrap_err();
        assert!(err.to_string().len() < 300, "a long name is cut in errors");
    }
}
