//! `.sops.yaml`: finding it and choosing the creation rule for a file
//! (sops: `config/config.go`, `LookupConfigFile`, `parseCreationRuleForFile`,
//! `getKeyGroupsFromCreationRule`, `configFromRule`).
//!
//! What matches sops:
//! * the file is called `.sops.yaml`; the first one found walking up at most
//!   100 directories wins (`.sops.yml` is ignored, as sops ignores it);
//! * `creation_rules` are tried in order; the first whose `path_regex`
//!   matches, or that has no `path_regex`, applies. The regex is an
//!   unanchored search (Go `regexp.MatchString`; the `regex` crate has the
//!   same RE2 syntax and semantics for what rules use) against the file's
//!   absolute path with the configuration's directory and a `/` trimmed
//!   from the front, so a file below the configuration is matched by its
//!   relative path (`apps/db/secret.yaml`) and any other by its absolute path;
//! * `stores:` sets the YAML and JSON indents ([`SopsConfig::stores`]);
//! * `age` is a comma-separated string or a list; each entry may itself hold
//!   several comma-separated recipients; `key_groups` hold `age` lists and
//!   `merge`; duplicates in a group are dropped; `shamir_threshold`; the six
//!   crypt-rule options (at most one) and `mac_only_encrypted`;
//! * a file with no `creation_rules` counts as no configuration.
//!
//! Where we are stricter, on purpose:
//! * where the search starts: sops starts in the **working directory**; we
//!   start in the **file's directory** (see [`find_for_file`]);
//! * a rule listing non-age keys (`pgp`, `kms`, …), or a key group with no
//!   key, is an error naming the rule when that rule is the one that
//!   matches (sops reads every rule but only uses the matching one, so
//!   other rules are not in the way): ceremony seals only to age, and
//!   silently dropping a key group would change who can decrypt;
//! * an unknown field in a rule is an error (sops ignores it): a misspelt
//!   `encrypted_regexp` would otherwise seal with the wrong rule;
//! * a rule with both `age` and `key_groups` is an error (sops silently
//!   ignores `age` then).
//!
//! The file is parsed with the engine's own YAML store, never `serde_yaml`.

use std::path::{Component, Path, PathBuf};

use regex::Regex;

use super::recipient::{KeyGroups, Recipient};
use super::rules::CryptRule;
use super::stores;
use super::tree::{Branch, Item, Value};
use super::{Error, Format, StoreOptions};

/// The configuration file's name.
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";

/// How many directories sops climbs looking for it (`maxDepth`).
const MAX_DEPTH: usize = 100;

/// The six crypt-rule fields, in sops' order.
const CRYPT_FIELDS: [&str; 6] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
];

/// Master-key fields sops knows and this engine cannot seal to.
const FOREIGN_KEY_FIELDS: [&str; 8] = [
    "pgp",
    "kms",
    "gcp_kms",
    "hckms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "hc_vault",
    "plugins",
];

/// Rule fields sops reads that only matter to other key types; accepted and
/// ignored.
const IGNORED_FIELDS: [&str; 2] = ["timeout", "aws_profile"];

/// The `.sops.yaml` that governs `file`: the first one found in the file's
/// directory or above it.
///
/// sops itself starts in the working directory (`LookupConfigFile(".")` in
/// `cmd/sops/main.go`). We start at the file, so that a tree sealed from
/// elsewhere (`ceremony bootstrap seal --in-place ../repo/bootstrap`) uses
/// that repository's rules, not those of wherever the operator stands. Run
/// from the repository's top with the configuration there, both find the
/// same file.
pub fn find_for_file(file: &Path) -> Option<PathBuf> {
    let absolute = absolute_clean(file);
    let start = absolute.parent()?;
    start
        .ancestors()
        .take(MAX_DEPTH)
        .map(|dir| dir.join(CONFIG_FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// An absolute path with `.` and `..` resolved lexically, like Go's
/// `filepath.Abs` (which does not follow symbolic links either).
pub fn absolute_clean(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A parsed `.sops.yaml`.
#[derive(Clone, Debug)]
pub struct SopsConfig {
    file: PathBuf,
    dir: String,
    /// `None` when the file has no `creation_rules` (sops then behaves as if
    /// there were no configuration).
    rules: Option<Vec<CreationRule>>,
    /// The `stores:` block.
    stores: StoreOptions,
}

/// One entry of `creation_rules`, validated.
#[derive(Clone, Debug)]
pub struct CreationRule {
    /// 0-based position in `creation_rules`.
    pub index: usize,
    /// The `path_regex`, if any (none matches every file).
    pub path_regex: Option<Regex>,
    /// Who files under the rule are sealed to; `None` if the rule names no
    /// key.
    pub key_groups: Option<KeyGroups>,
    /// The crypt rule, if the rule sets one.
    pub crypt_rule: Option<CryptRule>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// Why this rule cannot be used to seal, if it cannot (it names keys of
    /// another type, or a key group with no key). sops reads every rule but
    /// uses only the one that matches, so this is an error only when this
    /// rule is the one chosen.
    unusable: Option<Unusable>,
}

/// Why a creation rule cannot seal (see [`CreationRule`]).
#[derive(Clone, Debug)]
enum Unusable {
    /// It lists master keys of this type (`pgp`, `kms`, …).
    KeyType(String),
    /// This field holds no usable key.
    Field { field: String, reason: String },
}

impl CreationRule {
    /// Every age recipient of the rule, all groups together, in order.
    pub fn recipients(&self) -> Vec<&Recipient> {
        self.key_groups
            .as_ref()
            .map(KeyGroups::recipients)
            .unwrap_or_default()
    }

    /// How the rule is named in messages: its index and `path_regex`.
    pub fn describe(&self) -> String {
        match &self.path_regex {
            Some(re) => format!(
                "creation_rules[{}] (path_regex {:?})",
                self.index,
                re.as_str()
            ),
            None => format!("creation_rules[{}] (no path_regex)", self.index),
        }
    }
}

impl SopsConfig {
    /// Reads and validates `file` (its path is needed to match paths
    /// relative to it).
    pub fn parse(file: &Path, bytes: &[u8]) -> Result<Self, Error> {
        let name = file.display().to_string();
        // A private key pasted anywhere (a field name, a path_regex) is
        // refused by line first: later errors quote what they found.
        if let Some(index) = String::from_utf8_lossy(bytes)
            .lines()
            .position(super::recipient::looks_private)
        {
            return Err(Error::ConfigSyntax {
                file: name,
                reason: format!(
                    "line {} holds a private key; .sops.yaml lists public recipients only: remove it, and treat the key as exposed if the file was shared",
                    index + 1
                ),
            });
        }
        let absolute = absolute_clean(file);
        let dir = absolute
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let branches = match stores::load_plain(Format::Yaml, bytes) {
            // An empty file, or one of comments only, holds no rules.
            Err(Error::NoDocument) => Ok(vec![Branch::new()]),
            other => other,
        };
        let branches = branches.map_err(|e| match e {
            Error::NotAMapping { .. } => Error::ConfigSyntax {
                file: name.clone(),
                reason: "the top level must be a mapping with `creation_rules`".into(),
            },
            other => Error::ConfigSyntax {
                file: name.clone(),
                reason: other.to_string(),
            },
        })?;
        // go-yaml's Unmarshal reads the first document only.
        let rules = match branches.first().and_then(|b| b.get("creation_rules")) {
            None | Some(Value::Null) => None,
            Some(Value::List(items)) => {
                let mut rules = Vec::new();
                for (index, element) in items
                    .iter()
                    .filter_map(|e| match e {
                        super::tree::ListElement::Value(v) => Some(v),
                        super::tree::ListElement::Comment(_) => None,
                    })
                    .enumerate()
                {
                    match element {
                        Value::Branch(b) => rules.push(parse_rule(&name, index, b)?),
                        _ => {
                            return Err(Error::ConfigField {
                                file: name,
                                rule: index,
                                field: "creation_rules".into(),
                                reason: "each rule must be a mapping".into(),
                            });
                        }
                    }
                }
                Some(rules)
            }
            Some(_) => {
                return Err(Error::ConfigSyntax {
                    file: name,
                    reason: "`creation_rules` must be a list of rules".into(),
                });
            }
        };
        let stores = match branches.first().and_then(|b| b.get("stores")) {
            None | Some(Value::Null) => StoreOptions::default(),
            Some(v) => parse_stores(&name, v)?,
        };
        Ok(Self {
            file: file.to_owned(),
            dir,
            rules,
            stores,
        })
    }

    /// How the stores lay out what they write (`stores:`; sops's defaults
    /// when there is none).
    pub fn stores(&self) -> StoreOptions {
        self.stores
    }

    /// The file this was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Whether the file has `creation_rules` at all.
    pub fn has_rules(&self) -> bool {
        self.rules.is_some()
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[CreationRule] {
        self.rules.as_deref().unwrap_or(&[])
    }

    /// The path as sops matches it against `path_regex`.
    pub fn match_path(&self, file: &Path) -> String {
        let absolute = absolute_clean(file).to_string_lossy().into_owned();
        let prefix = format!("{}/", self.dir);
        match absolute.strip_prefix(&prefix) {
            Some(relative) => relative.to_owned(),
            None => absolute,
        }
    }

    /// The first rule that applies to `file`. `Ok(None)` when the
    /// configuration has no `creation_rules`; [`Error::NoMatchingRule`] when
    /// it has some and none applies (sops refuses such a file too).
    pub fn rule_for(&self, file: &Path) -> Result<Option<&CreationRule>, Error> {
        let Some(rules) = &self.rules else {
            return Ok(None);
        };
        let path = self.match_path(file);
        let rule = rules
            .iter()
            .find(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(&path)))
            .ok_or_else(|| Error::NoMatchingRule {
                file: self.file.display().to_string(),
                path,
            })?;
        match &rule.unusable {
            None => Ok(Some(rule)),
            Some(Unusable::KeyType(key_type)) => Err(Error::ConfigKeyType {
                file: self.file.display().to_string(),
                rule: rule.index,
                key_type: key_type.clone(),
            }),
            Some(Unusable::Field { field, reason }) => Err(field_error(
                &self.file.display().to_string(),
                rule.index,
                field,
                reason.clone(),
            )),
        }
    }
}

/// The `stores:` block (sops `StoresConfig`): `yaml.indent` (0 or absent
/// for 4, negative refused), `json.indent` and `json_binary.indent` (-1 or
/// absent for a tab, below -1 refused). Other stores and fields are ignored,
/// as sops ignores them.
fn parse_stores(file: &str, value: &Value) -> Result<StoreOptions, Error> {
    let bad = |reason: &str| Error::ConfigSyntax {
        file: file.to_owned(),
        reason: format!("stores: {reason}"),
    };
    let Value::Branch(stores) = value else {
        return Err(bad("expected a mapping"));
    };
    let indent = |store: &str| -> Result<Option<i64>, Error> {
        match stores.get(store) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Branch(b)) => match b.get("indent") {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Int(i)) => Ok(Some(*i)),
                Some(_) => Err(bad(&format!("{store}.indent: expected an integer"))),
            },
            Some(_) => Err(bad(&format!("{store}: expected a mapping"))),
        }
    };
    let mut out = StoreOptions::default();
    match indent("yaml")? {
        Some(i) if i < 0 => {
            return Err(bad(
                "yaml.indent: a negative indent is not accepted (sops refuses it too)",
            ));
        }
        Some(i) if i > 0 => {
            out.yaml_indent = usize::try_from(i).map_err(|_| bad("yaml.indent: out of range"))?;
        }
        _ => {}
    }
    let json = |store: &str| -> Result<Option<usize>, Error> {
        match indent(store)? {
            None | Some(-1) => Ok(None),
            Some(i) if i < -1 => Err(bad(&format!(
                "{store}.indent: below -1 is not accepted (sops refuses it too)"
            ))),
            Some(i) => usize::try_from(i)
                .map(Some)
                .map_err(|_| bad(&format!("{store}.indent: out of range"))),
        }
    };
    out.json_indent = json("json")?;
    out.json_binary_indent = json("json_binary")?;
    Ok(out)
}

fn field_error(file: &str, rule: usize, field: &str, reason: impl Into<String>) -> Error {
    Error::ConfigField {
        file: file.to_owned(),
        rule,
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A scalar as text: `.sops.yaml` values are configuration, not secrets.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) => std::str::from_utf8(s.expose_secret())
            .ok()
            .map(str::to_owned),
        _ => None,
    }
}

fn entries(branch: &Branch) -> impl Iterator<Item = (&str, &Value)> {
    branch.items.iter().filter_map(|i| match i {
        Item::Entry { key, value } => Some((key.as_str(), value)),
        Item::Comment(_) => None,
    })
}

/// Whether a key field holds anything (sops ignores an empty string or list).
fn names_keys(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Str(s) => !s.expose_secret().iter().all(u8::is_ascii_whitespace),
        Value::List(l) => !l.is_empty(),
        Value::Branch(b) => !b.items.is_empty(),
        _ => true,
    }
}

/// Splits recipients the way sops does (`strings.Split(…, ",")`, trimmed,
/// empties dropped) and appends the new ones to `out`.
fn push_recipients(out: &mut Vec<String>, text: &str) {
    for part in text.split(',') {
        let part = part.trim();
        if !part.is_empty() && !out.iter().any(|r| r == part) {
            out.push(part.to_owned());
        }
    }
}

/// `age:` of a rule: a string or a list of strings.
fn age_field(file: &str, rule: usize, field: &str, value: &Value) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    match value {
        Value::Null => {}
        Value::Str(_) => push_recipients(&mut out, &scalar_text(value).unwrap_or_default()),
        Value::List(items) => {
            for item in items {
                match item {
                    super::tree::ListElement::Value(v) => match scalar_text(v) {
                        Some(t) => push_recipients(&mut out, &t),
                        None => {
                            return Err(field_error(
                                file,
                                rule,
                                field,
                                format!(
                                    "expected a recipient string in the list, found {}",
                                    v.kind()
                                ),
                            ));
                        }
                    },
                    super::tree::ListElement::Comment(_) => {}
                }
            }
        }
        other => {
            return Err(field_error(
                file,
                rule,
                field,
                format!(
                    "expected a comma-separated string or a list of recipients, found {}",
                    other.kind()
                ),
            ));
        }
    }
    Ok(out)
}

/// One entry of `key_groups` (and, recursively, of `merge`).
fn key_group(
    file: &str,
    rule: usize,
    field: &str,
    value: &Value,
    out: &mut Vec<String>,
    foreign: &mut Option<String>,
) -> Result<(), Error> {
    let Value::Branch(group) = value else {
        return Err(field_error(
            file,
            rule,
            field,
            "a key group must be a mapping",
        ));
    };
    for (key, v) in entries(group) {
        match key {
            "age" => {
                if !matches!(v, Value::List(_) | Value::Null) {
                    return Err(field_error(
                        file,
                        rule,
                        &format!("{field}.age"),
                        "expected a list of recipients",
                    ));
                }
                for r in age_field(file, rule, &format!("{field}.age"), v)? {
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
            "merge" => match v {
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let super::tree::ListElement::Value(inner) = item {
                            key_group(
                                file,
                                rule,
                                &format!("{field}.merge[{i}]"),
                                inner,
                                out,
                                foreign,
                            )?;
                        }
                    }
                }
                Value::Null => {}
                _ => {
                    return Err(field_error(
                        file,
                        rule,
                        &format!("{field}.merge"),
                        "expected a list of key groups",
                    ));
                }
            },
            k if FOREIGN_KEY_FIELDS.contains(&k) => {
                if names_keys(v) && foreign.is_none() {
                    *foreign = Some(k.to_owned());
                }
            }
            other => {
                return Err(field_error(
                    file,
                    rule,
                    &format!("{field}.{other}"),
                    "unknown key group field",
                ));
            }
        }
    }
    Ok(())
}

fn parse_rule(file: &str, index: usize, branch: &Branch) -> Result<CreationRule, Error> {
    let mut path_regex = None;
    let mut age = None;
    let mut groups: Option<Vec<Vec<String>>> = None;
    let mut shamir_threshold = 0usize;
    let mut crypt: Vec<(String, CryptRule)> = Vec::new();
    let mut mac_only_encrypted = false;
    let mut foreign: Option<String> = None;
    for (key, value) in entries(branch) {
        match key {
            "path_regex" => {
                let text = scalar_text(value).ok_or_else(|| {
                    field_error(
                        file,
                        index,
                        key,
                        format!("expected a string, found {}", value.kind()),
                    )
                })?;
                if !text.is_empty() {
                    let re = Regex::new(&text).map_err(|e| {
                        field_error(file, index, key, format!("does not compile: {e}"))
                    })?;
                    path_regex = Some(re);
                }
            }
            "age" => age = Some(age_field(file, index, key, value)?),
            "key_groups" => {
                let Value::List(items) = value else {
                    return Err(field_error(
                        file,
                        index,
                        key,
                        "expected a list of key groups",
                    ));
                };
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let super::tree::ListElement::Value(v) = item {
                        let mut group = Vec::new();
                        key_group(
                            file,
                            index,
                            &format!("key_groups[{i}]"),
                            v,
                            &mut group,
                            &mut foreign,
                        )?;
                        out.push(group);
                    }
                }
                groups = Some(out);
            }
            "shamir_threshold" => match value {
                Value::Int(n) if *n >= 0 => {
                    shamir_threshold = usize::try_from(*n)
                        .map_err(|_| field_error(file, index, key, "out of range"))?;
                }
                _ => {
                    return Err(field_error(
                        file,
                        index,
                        key,
                        "expected a non-negative integer",
                    ));
                }
            },
            "mac_only_encrypted" => match value {
                Value::Bool(b) => mac_only_encrypted = *b,
                _ => return Err(field_error(file, index, key, "expected true or false")),
            },
            k if CRYPT_FIELDS.contains(&k) => {
                let text = scalar_text(value).ok_or_else(|| {
                    field_error(
                        file,
                        index,
                        k,
                        format!("expected a string, found {}", value.kind()),
                    )
                })?;
                // sops counts a rule only when its value is non-empty.
                if !text.is_empty() {
                    let rule = CryptRule::from_field(k, &text)
                        .map_err(|e| field_error(file, index, k, e.to_string()))?;
                    crypt.push((k.to_owned(), rule));
                }
            }
            k if FOREIGN_KEY_FIELDS.contains(&k) => {
                if names_keys(value) && foreign.is_none() {
                    foreign = Some(k.to_owned());
                }
            }
            k if IGNORED_FIELDS.contains(&k) => {}
            other => {
                return Err(field_error(
                    file,
                    index,
                    other,
                    "unknown field (sops would ignore it; ceremony refuses it so that a misspelt option cannot change what gets encrypted)",
                ));
            }
        }
    }
    if crypt.len() > 1 {
        let names: Vec<&str> = crypt.iter().map(|(f, _)| f.as_str()).collect();
        return Err(field_error(
            file,
            index,
            &names.join(", "),
            "use at most one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex",
        ));
    }
    let crypt_rule = crypt.pop().map(|(_, rule)| rule);
    let groups_given = groups.as_ref().is_some_and(|g| !g.is_empty());
    let key_groups = match (age, groups) {
        (Some(a), Some(g)) if !a.is_empty() && !g.is_empty() => {
            return Err(field_error(
                file,
                index,
                "age, key_groups",
                "give either age or key_groups, not both (sops would silently ignore age)",
            ));
        }
        (_, Some(g)) if !g.is_empty() => g,
        (Some(a), _) if !a.is_empty() => vec![a],
        _ => Vec::new(),
    };
    let mut parsed = Vec::with_capacity(key_groups.len());
    for (g, group) in key_groups.iter().enumerate() {
        let field = if groups_given {
            format!("key_groups[{g}].age")
        } else {
            "age".to_owned()
        };
        let recipients = group
            .iter()
            .map(|r| {
                Recipient::parse(r).map_err(|e| field_error(file, index, &field, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        parsed.push(recipients);
    }
    let mut unusable = foreign.map(Unusable::KeyType);
    let key_groups = if parsed.is_empty() {
        None
    } else {
        match KeyGroups::new(parsed, shamir_threshold) {
            Ok(groups) => Some(groups),
            // An empty key group (`key_groups: [{}]`): sops only fails when
            // it seals with this rule, so do we.
            Err(e) => {
                unusable.get_or_insert(Unusable::Field {
                    field: "key_groups".into(),
                    reason: e.to_string(),
                });
                None
            }
        }
    };
    Ok(CreationRule {
        index,
        path_regex,
        key_groups,
        crypt_rule,
        mac_only_encrypted,
        unusable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "age1hjhvchduync68mdzs6z3jfsaptfzlh8rnz6m3l05gurchg2rdqgqhr768q";
    const R2: &str = "age12a458a4jmra67m0zqq2hku42sklv57z02ga5n8zht3fegthlxp6qw2cx9n";

    fn parse(text: &str) -> Result<SopsConfig, Error> {
        SopsConfig::parse(Path::new("/repo/.sops.yaml"), text.as_bytes())
    }

    fn groups(rule: &CreationRule) -> Vec<Vec<String>> {
        rule.key_groups
            .as_ref()
            .map(|g| {
                g.groups()
                    .iter()
                    .map(|group| group.iter().map(|r| r.as_str().to_owned()).collect())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn first_matching_rule_relative_to_the_config_directory() {
        let c = parse(&format!(
            "creation_rules:\n  - path_regex: ^apps/.*\\.yaml$\n    age: {R1}\n    encrypted_regex: ^data$\n  - age: '{R1}, {R2},'\n"
        ))
        .unwrap();
        let r = c.rule_for(Path::new("/repo/apps/x.yaml")).unwrap().unwrap();
        assert_eq!(r.index, 0);
        assert_eq!(groups(r), vec![vec![R1.to_string()]]);
        assert_eq!(r.crypt_rule.as_ref().unwrap().field(), "encrypted_regex");
        let r = c
            .rule_for(Path::new("/repo/other/apps/x.yaml"))
            .unwrap()
            .unwrap();
        assert_eq!(r.index, 1);
        assert_eq!(groups(r), vec![vec![R1.to_string(), R2.to_string()]]);
        assert_eq!(
            c.match_path(Path::new("/elsewhere/x.yaml")),
            "/elsewhere/x.yaml"
        );
    }

    #[test]
    fn the_shared_shamir_fixture_config() {
        let c = parse(&format!(
            "creation_rules:\n    - path_regex: shamir\\.plain\\.yaml$\n      shamir_threshold: 2\n      key_groups:\n          - age:\n                - {R1}\n          - age:\n                - {R2}\n"
        ))
        .unwrap();
        let r = c
            .rule_for(Path::new("/repo/shamir.plain.yaml"))
            .unwrap()
            .unwrap();
        assert_eq!(r.key_groups.as_ref().unwrap().threshold(), 2);
        assert_eq!(groups(r), vec![vec![R1.to_string()], vec![R2.to_string()]]);
        assert!(matches!(
            c.rule_for(Path::new("/repo/other.yaml")),
            Err(Error::NoMatchingRule { .. })
        ));
    }

    #[test]
    fn merge_and_comma_lists_in_groups() {
        let c = parse(&format!(
            "creation_rules:\n  - key_groups:\n      - age: ['{R1},{R2}']\n        merge:\n          - age: [{R1}]\n"
        ))
        .unwrap();
        let r = &c.rules()[0];
        assert_eq!(groups(r), vec![vec![R1.to_string(), R2.to_string()]]);
    }

    #[test]
    fn foreign_key_types_are_refused_by_name() {
        let x = Path::new("/repo/x.yaml");
        let e = parse("creation_rules:\n  - pgp: ABCDEF\n")
            .unwrap()
            .rule_for(x)
            .unwrap_err();
        assert!(
            matches!(e, Error::ConfigKeyType { ref key_type, rule: 0, .. } if key_type == "pgp")
        );
        assert!(e.to_string().contains("only to age"));
        let e = parse(&format!(
            "creation_rules:\n  - key_groups:\n      - age: [{R1}]\n        kms:\n          - arn: x\n"
        ))
        .unwrap()
        .rule_for(x)
        .unwrap_err();
        assert!(matches!(e, Error::ConfigKeyType { ref key_type, .. } if key_type == "kms"));
        // A rule that does not match the file is not in the way, whatever
        // keys it lists (sops reads it and uses the rule that matches).
        let c = parse(&format!(
            "creation_rules:\n  - path_regex: \\.json$\n    pgp: ABCDEF\n  - path_regex: other\n    key_groups: [{{}}]\n  - age: {R1}\n"
        ))
        .unwrap();
        assert_eq!(c.rule_for(x).unwrap().unwrap().index, 2);
        let e = c.rule_for(Path::new("/repo/other.yaml")).unwrap_err();
        assert!(e.to_string().contains("creation_rules[1]"), "{e}");
        // An empty foreign field names no key and is harmless.
        parse(&format!("creation_rules:\n  - pgp: ''\n    age: {R1}\n")).unwrap();
    }

    #[test]
    fn typos_and_conflicts_are_refused() {
        let e = parse("creation_rules:\n  - encrypted_regexp: ^data$\n").unwrap_err();
        assert!(e.to_string().contains("encrypted_regexp"), "{e}");
        let e = parse("creation_rules:\n  - encrypted_regex: a\n    unencrypted_suffix: b\n")
            .unwrap_err();
        assert!(e.to_string().contains("at most one"), "{e}");
        let e = parse("creation_rules:\n  - path_regex: '('\n").unwrap_err();
        assert!(e.to_string().contains("path_regex"), "{e}");
        let e = parse(&format!(
            "creation_rules:\n  - age: {R1}\n    key_groups:\n      - age: [{R2}]\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
    }

    #[test]
    fn recipients_are_checked_when_the_file_is_read() {
        let e = parse("creation_rules:\n  - key_groups:\n      - age: [age1nope]\n").unwrap_err();
        assert!(e.to_string().contains("key_groups[0].age"), "{e}");
        assert!(e.to_string().contains("age1nope"), "{e}");
    }

    #[test]
    fn no_creation_rules_is_no_configuration() {
        let c = parse("stores:\n  yaml:\n    indent: 2\n  json:\n    indent: 0\n").unwrap();
        assert_eq!(c.stores().yaml_indent, 2);
        assert_eq!(c.stores().json_indent, Some(0));
        assert_eq!(c.stores().json_binary_indent, None);
        assert!(!parse("# nothing\n").unwrap().has_rules());
        assert!(!c.has_rules());
        assert!(c.rule_for(Path::new("/repo/x.yaml")).unwrap().is_none());
    }

    #[test]
    fn absolute_clean_resolves_dots_lexically() {
        assert_eq!(
            absolute_clean(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
