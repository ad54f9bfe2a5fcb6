//! Phase 2 emitters: the Kubernetes Secrets the cluster needs, formatted from
//! a rebuilt secret. The text is returned in a wiping string; the command
//! line decides where it goes (stdout only, never a terminal unless asked).
//!
//! Names, namespaces, data keys and key ids are interpolated into YAML, so
//! each is checked ([`crate::kube`], [`KeyId`]) before it gets there: a value
//! from `shareset.json` or the command line cannot inject a field into a
//! manifest piped to kubectl.

use zeroize::Zeroizing;

use super::secrets::{BootstrapKey, EncodingError, ROOT_KEY_LEN};
use crate::kube::{self, NameError};
use crate::secret::{SecretArray, SecretBytes};
use crate::shares::KeyId;

/// The name and namespace of an emitted Secret, checked.
#[derive(Clone, Debug)]
pub struct SecretFields {
    name: String,
    namespace: String,
}

impl SecretFields {
    /// Checks a name (DNS subdomain) and namespace (DNS label).
    pub fn new(name: &str, namespace: &str) -> Result<Self, NameError> {
        kube::check_name(name)?;
        kube::check_namespace(namespace)?;
        Ok(Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        })
    }
}

/// The fields of the Flux `sops-age` Secret, checked.
#[derive(Clone, Debug)]
pub struct FluxFields {
    secret: SecretFields,
    key: String,
}

impl FluxFields {
    /// Checks the Secret's name, namespace and data key (Flux reads entries
    /// ending in `.agekey`).
    pub fn new(name: &str, namespace: &str, key: &str) -> Result<Self, NameError> {
        kube::check_secret_key(key)?;
        Ok(Self {
            secret: SecretFields::new(name, namespace)?,
            key: key.to_owned(),
        })
    }
}

/// The Secret that Flux's kustomize-controller reads age identities from:
/// `spec.decryption.secretRef.name` names it, and entries ending in
/// `.agekey` hold identity files.
pub fn flux_age_secret(
    key: &BootstrapKey,
    fields: &FluxFields,
) -> Result<Zeroizing<String>, EncodingError> {
    let identity = key.identity_text()?;
    let file = Zeroizing::new(format!("{}\n", identity.expose_secret()));
    let encoded = SecretBytes::from_slice(file.as_bytes()).to_base64();
    let (name, namespace, data_key) = (&fields.secret.name, &fields.secret.namespace, &fields.key);
    let mut out = Zeroizing::new(String::with_capacity(512));
    out.push_str(&format!(
        "# Flux SOPS decryption key. Reference it from a Kustomization:\n\
         #   spec.decryption: {{provider: sops, secretRef: {{name: {name}}}}}\n\
         apiVersion: v1\n\
         kind: Secret\n\
         metadata:\n  name: {name}\n  namespace: {namespace}\n\
         type: Opaque\n\
         data:\n  {data_key}: "
    ));
    out.push_str(&encoded);
    out.push('\n');
    Ok(out)
}

/// The Secret holding OpenBao's static seal key, with the `seal "static"`
/// stanza that reads it as a comment.
pub fn openbao_static_seal(
    key: &SecretArray<ROOT_KEY_LEN>,
    key_id: &KeyId,
    fields: &SecretFields,
) -> Zeroizing<String> {
    let (name, namespace) = (&fields.name, &fields.namespace);
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
         data:\n  {file}: ",
        key_id = key_id.as_str()
    ));
    out.push_str(&key.to_base64());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_could_inject_yaml_are_refused() {
        assert!(SecretFields::new("openbao-static-seal", "openbao").is_ok());
        assert!(SecretFields::new("Upper", "ns").is_err());
        assert!(SecretFields::new("n", "ns\nkind: Pod").is_err());
        assert!(FluxFields::new("sops-age", "flux-system", "age.agekey").is_ok());
        assert!(FluxFields::new("sops-age", "flux-system", "a: b").is_err());
    }

    #[test]
    fn the_static_seal_secret_names_its_key_id() {
        let fields = SecretFields::new("openbao-static-seal", "openbao").unwrap();
        let id = KeyId::parse("20260101-ab").unwrap();
        let text = openbao_static_seal(&SecretArray::random(), &id, &fields);
        assert!(text.contains("current_key_id = \"20260101-ab\""));
        assert!(text.contains("key-id: \"20260101-ab\""));
    }
}
