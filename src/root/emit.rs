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
/// `spec.decryption.secretRef.name` names it, and every entry ending in
/// `.agekey` holds an identity file. During a rotation of the bootstrap
/// identity the retiring one is a second entry, so Flux decrypts files
/// sealed to either while Git is moved to the new one.
pub fn flux_age_secret(
    key: &BootstrapKey,
    retiring: Option<&BootstrapKey>,
    fields: &FluxFields,
) -> Result<Zeroizing<String>, EncodingError> {
    let (name, namespace, data_key) = (&fields.secret.name, &fields.secret.namespace, &fields.key);
    let mut out = Zeroizing::new(String::with_capacity(1024));
    out.push_str(&format!(
        "# Flux SOPS decryption key. Reference it from a Kustomization:\n\
         #   spec.decryption: {{provider: sops, secretRef: {{name: {name}}}}}\n"
    ));
    if retiring.is_some() {
        out.push_str(&format!(
            "# It also holds the retiring identity ({}), until every file in Git is sealed to the new one.\n",
            fields.retiring_key()
        ));
    }
    out.push_str(&format!(
        "apiVersion: v1\n\
         kind: Secret\n\
         metadata:\n  name: {name}\n  namespace: {namespace}\n\
         type: Opaque\n\
         data:\n"
    ));
    for (entry, key) in
        std::iter::once((data_key.clone(), key)).chain(retiring.map(|k| (fields.retiring_key(), k)))
    {
        let identity = key.identity_text()?;
        let file = Zeroizing::new(format!("{}\n", identity.expose_secret()));
        out.push_str(&format!("  {entry}: "));
        out.push_str(&SecretBytes::from_slice(file.as_bytes()).to_base64());
        out.push('\n');
    }
    Ok(out)
}

impl FluxFields {
    /// The entry of the retiring identity: `age.agekey` gives
    /// `age.previous.agekey`, which Flux reads too (it ends in `.agekey`).
    fn retiring_key(&self) -> String {
        let stem = self.key.strip_suffix(".agekey").unwrap_or(&self.key);
        format!("{stem}.previous.agekey")
    }
}

/// One static-seal key and its id.
pub struct SealKey<'a> {
    /// The 32 bytes.
    pub key: &'a SecretArray<ROOT_KEY_LEN>,
    /// Its key id.
    pub key_id: &'a KeyId,
}

/// The Secret holding OpenBao's static seal key, with the `seal "static"`
/// stanza that reads it as a comment. During a rotation the retiring key
/// is there too, as `previous_key`: OpenBao unseals with it once and
/// rewraps what it stored under the current key (docs/runtime-openbao.md).
pub fn openbao_static_seal(
    current: SealKey<'_>,
    previous: Option<SealKey<'_>>,
    fields: &SecretFields,
) -> Zeroizing<String> {
    let (name, namespace) = (&fields.name, &fields.namespace);
    let (file, previous_file) = ("unseal.key", "previous-unseal.key");
    let key_id = current.key_id.as_str();
    let mut out = Zeroizing::new(String::with_capacity(1024));
    out.push_str(&format!(
        "# OpenBao static seal key {key_id:?}. Mount this Secret at /openbao/static-seal and configure:\n\
         #   seal \"static\" {{\n\
         #     current_key_id = \"{key_id}\"\n\
         #     current_key    = \"file:///openbao/static-seal/{file}\"\n"
    ));
    if let Some(previous) = &previous {
        out.push_str(&format!(
            "#     previous_key_id = \"{}\"\n\
             #     previous_key    = \"file:///openbao/static-seal/{previous_file}\"\n",
            previous.key_id.as_str()
        ));
    }
    out.push_str("#   }\n");
    if previous.is_some() {
        out.push_str(
            "# Restart OpenBao with both keys; once it is active (its log says \"upgrading stored keys\"), the previous key can be retired.\n",
        );
    }
    out.push_str(&format!(
        "apiVersion: v1\n\
         kind: Secret\n\
         metadata:\n  name: {name}\n  namespace: {namespace}\n\
         type: Opaque\n\
         stringData:\n  key-id: \"{key_id}\"\n"
    ));
    if let Some(previous) = &previous {
        out.push_str(&format!(
            "  previous-key-id: \"{}\"\n",
            previous.key_id.as_str()
        ));
    }
    out.push_str(&format!("data:\n  {file}: "));
    out.push_str(&current.key.to_base64());
    out.push('\n');
    if let Some(previous) = &previous {
        out.push_str(&format!("  {previous_file}: "));
        out.push_str(&previous.key.to_base64());
        out.push('\n');
    }
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
        let key = SecretArray::random();
        let text = openbao_static_seal(
            SealKey {
                key: &key,
                key_id: &id,
            },
            None,
            &fields,
        );
        assert!(text.contains("current_key_id = \"20260101-ab\""));
        assert!(text.contains("key-id: \"20260101-ab\""));
        assert!(!text.contains("previous"));
        let old_id = KeyId::parse("20250101-cd").unwrap();
        let old = SecretArray::random();
        let both = openbao_static_seal(
            SealKey {
                key: &key,
                key_id: &id,
            },
            Some(SealKey {
                key: &old,
                key_id: &old_id,
            }),
            &fields,
        );
        assert!(both.contains("previous_key_id = \"20250101-cd\""));
        assert!(both.contains("previous-key-id: \"20250101-cd\""));
        assert!(both.contains(&format!("previous-unseal.key: {}", &*old.to_base64())));
        assert!(both.contains(&format!("  unseal.key: {}", &*key.to_base64())));
    }
}
