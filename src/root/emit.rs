//! Phase 2 emitters: the Kubernetes Secrets the cluster needs, formatted from
//! a rebuilt secret. The text is returned in a wiping string; the command
//! line decides where it goes (stdout only, never a terminal unless asked).

use zeroize::Zeroizing;

use crate::secret::{SecretBytes, SecretText};

/// The Secret that Flux's kustomize-controller reads age identities from:
/// `spec.decryption.secretRef.name` names it, and entries ending in
/// `.agekey` hold identity files.
pub fn flux_age_secret(
    identity: &SecretText,
    name: &str,
    namespace: &str,
    key: &str,
) -> Zeroizing<String> {
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
    out
}

/// The Secret holding OpenBao's static seal key, with the `seal "static"`
/// stanza that reads it as a comment.
pub fn openbao_static_seal(
    key: &SecretBytes,
    key_id: &str,
    name: &str,
    namespace: &str,
) -> Zeroizing<String> {
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
    out
}
