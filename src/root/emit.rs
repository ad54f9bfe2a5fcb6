//! Phase 2 emitters: the Kubernetes Secrets the cluster needs, formatted from
//! a rebuilt secret. The text is returned in a wiping string; the command
//! line decides where it goes (stdout only, never a terminal unless asked).

use zeroize::Zeroizing;

use crate::secret::{SecretBytes, SecretText};

/// A field of an emitted manifest that would not be safe or valid YAML
/// there. Values are interpolated into YAML text, so anything outside these
/// character sets could inject fields into a manifest piped to kubectl.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field} {value:?} is not allowed: {rule}")]
pub struct FieldError {
    /// Which field.
    pub field: &'static str,
    /// The value given (public: names and ids).
    pub value: String,
    /// What is allowed.
    pub rule: &'static str,
}

fn check(
    field: &'static str,
    value: &str,
    max: usize,
    allowed: fn(char) -> bool,
    rule: &'static str,
) -> Result<(), FieldError> {
    let edge_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if value.is_empty() || value.len() > max || !edge_ok || !value.chars().all(allowed) {
        return Err(FieldError {
            field,
            value: value.chars().take(80).collect(),
            rule,
        });
    }
    Ok(())
}

/// A key id (OpenBao `current_key_id`): 1-64 of `A-Z a-z 0-9 . _ -`.
pub fn check_key_id(key_id: &str) -> Result<(), FieldError> {
    check(
        "key id",
        key_id,
        64,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
        "1-64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
    )
}

/// A Kubernetes object name (DNS-1123 subdomain).
pub fn check_name(name: &str) -> Result<(), FieldError> {
    check(
        "name",
        name,
        253,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'),
        "a DNS-1123 subdomain: lower-case letters, digits, '.' and '-', at most 253",
    )
}

/// A Kubernetes namespace (DNS-1123 label).
pub fn check_namespace(namespace: &str) -> Result<(), FieldError> {
    check(
        "namespace",
        namespace,
        63,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        "a DNS-1123 label: lower-case letters, digits and '-', at most 63",
    )
}

/// A Secret data key.
pub fn check_data_key(key: &str) -> Result<(), FieldError> {
    check(
        "data key",
        key,
        253,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
        "letters, digits, '.', '_' and '-'",
    )
}

/// The Secret that Flux's kustomize-controller reads age identities from:
/// `spec.decryption.secretRef.name` names it, and entries ending in
/// `.agekey` hold identity files.
pub fn flux_age_secret(
    identity: &SecretText,
    name: &str,
    namespace: &str,
    key: &str,
) -> Result<Zeroizing<String>, FieldError> {
    check_name(name)?;
    check_namespace(namespace)?;
    check_data_key(key)?;
    let file = Zeroizing::new(format!("{}\n", identity.expose_secret()));
    let encoded = SecretBytes::from_slice(file.as_bytes()).to_base64();
    let mut out = Zeroizing::new(String::with_capacity(512));
    out.push_str(&format!(
        "# Flux SOPS decryption key. Reference it from a Kustomization:\n\
         #   spec.decryption: {{provider: sops, secretRef: {{name: {name}}}}}\n\
         apiVersion: v1\n\
         kind: Secret\n\
         metadata:\n  name: {name}\n  namespace: {namespace}\n\
         type: Opaque\n\
         data:\n  {key}: "
    ));
    out.push_str(&encoded);
    out.push('\n');
    Ok(out)
}

/// The Secret holding OpenBao's static seal key, with the `seal "static"`
/// stanza that reads it as a comment.
pub fn openbao_static_seal(
    key: &SecretBytes,
    key_id: &str,
    name: &str,
    namespace: &str,
) -> Result<Zeroizing<String>, FieldError> {
    check_key_id(key_id)?;
    check_name(name)?;
    check_namespace(namespace)?;
    let file = "unseal.key";
    let mut out = Zeroizing::new(String::with_capacity(1024));
    out.push_str(&format!(
        "# OpenBao static seal key {key_id:?}. Mount this Secret at /openbao/static-seal and configure:\n\
         #   seal \"static\" {{\n\
         #     current_key_id = \"{key_id}\"\n\
         #     current_key    = \"file:///openbao/static-seal/{file}\"\n\
         #   }}\n\
         apiVersion: v1\n\
         kind: Secret\n\
         metadata:\n  name: {name}\n  namespace: {namespace}\n\
         type: Opaque\n\
         stringData:\n  key-id: \"{key_id}\"\n\
         data:\n  {file}: "
    ));
    out.push_str(&key.to_base64());
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_could_inject_yaml_are_refused() {
        let key = SecretBytes::random(32);
        assert!(openbao_static_seal(&key, "20260101-ab", "openbao-static-seal", "openbao").is_ok());
        for bad in ["x\"\n  evil: 1", "", "a b", "-lead", &"k".repeat(65)] {
            assert!(
                openbao_static_seal(&key, bad, "n", "ns").is_err(),
                "{bad:?}"
            );
        }
        assert!(openbao_static_seal(&key, "id", "Upper", "ns").is_err());
        assert!(openbao_static_seal(&key, "id", "n", "ns\nkind: Pod").is_err());
        let id = SecretText::new("AGE-SECRET-KEY-1X".into());
        assert!(flux_age_secret(&id, "sops-age", "flux-system", "age.agekey").is_ok());
        assert!(flux_age_secret(&id, "sops-age", "flux-system", "a: b").is_err());
    }
}
