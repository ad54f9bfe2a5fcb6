//! Interop and rejection tests for handover receipt signatures.
//!
//! Signatures are made by the real tools (`ssh-keygen`, `minisign`) and by an
//! independent Ed25519 implementation (Python `cryptography`, standing in for
//! Vault transit), and checked by ours; our own signatures are checked by the
//! real tools. No mocks: a missing tool fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ceremony::handover::scheme::Malformed;
use ceremony::handover::statement::{Sha256Digest, Subject};
use ceremony::handover::{
    Ed25519SigningKey, Envelope, RECEIPT_NAMESPACE, Scheme, Statement, TrustFile, VerifyError,
    VerifyPolicy, attach_signature, sign_ed25519, sign_sshsig, verify, verify_with_policy,
};
use ceremony::secret::SecretBytes;
use ssh_encoding::Decode;

use crate::util::handover::{minisign_keygen, python_transit_sign};
use crate::util::{require_python_module, run, ssh_keygen};

// ---------------------------------------------------------------- helpers

fn receipt() -> Envelope {
    Statement {
        subjects: vec![
            Subject {
                name: "bootstrap/openbao-unseal.enc.yaml".into(),
                sha256: Sha256Digest([0x11; 32]),
            },
            Subject {
                name: "bootstrap/flux-sops-age.enc.yaml".into(),
                sha256: Sha256Digest([0x22; 32]),
            },
        ],
        predicate_type: "https://example.invalid/ceremony/handover-receipt/v1".into(),
        predicate: serde_json::json!({"challengeId": "c-1", "authority": "openbao"}),
    }
    .to_envelope()
    .unwrap()
}

fn trust(text: &str) -> TrustFile {
    TrustFile::parse("TRUSTFILE", text.as_bytes()).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An SSH Ed25519 key made by `ssh-keygen -t ed25519 -N ''`.
struct SshKey {
    private: PathBuf,
    /// `ssh-ed25519 AAAA… comment`
    public_line: String,
}

impl SshKey {
    fn generate(dir: &Path, name: &str) -> Self {
        let public_line = ssh_keygen(dir, name, &format!("{name}@example.org"));
        Self {
            private: dir.join(name),
            public_line,
        }
    }

    /// The raw 32-byte public key in base64, taken from the `.pub` file: the
    /// wire blob is string "ssh-ed25519" ‖ string key, so the key is its last
    /// 32 bytes.
    fn raw_public_b64(&self) -> String {
        let blob_b64 = self.public_line.split(' ').nth(1).unwrap();
        let blob = STANDARD.decode(blob_b64).unwrap();
        STANDARD.encode(&blob[blob.len() - 32..])
    }

    fn signing_key(&self) -> Ed25519SigningKey {
        let bytes = std::fs::read(&self.private).unwrap();
        Ed25519SigningKey::from_openssh(&SecretBytes::new(bytes)).unwrap()
    }

    /// `ssh-keygen -Y sign -f key -n ns file` over the envelope's PAE.
    fn sign_pae(&self, dir: &Path, envelope: &Envelope, namespace: &str) -> Vec<u8> {
        self.sign_pae_with(dir, envelope, namespace, &[])
    }

    fn sign_pae_with(
        &self,
        dir: &Path,
        envelope: &Envelope,
        namespace: &str,
        extra: &[&str],
    ) -> Vec<u8> {
        let pae = write(dir, "pae.bin", &envelope.pae());
        let sig = dir.join("pae.bin.sig");
        let _ = std::fs::remove_file(&sig);
        run(Command::new("ssh-keygen")
            .args(["-Y", "sign"])
            .args(extra)
            .arg("-f")
            .arg(&self.private)
            .args(["-n", namespace])
            .arg(&pae));
        std::fs::read(sig).unwrap()
    }
}

fn sshsig_trust_line(principal: &str, namespaces: Option<&str>, key: &SshKey) -> String {
    match namespaces {
        Some(ns) => format!(
            "sshsig {principal} namespaces=\"{ns}\" {}\n",
            key.public_line
        ),
        None => format!("sshsig {principal} {}\n", key.public_line),
    }
}

/// Re-armors a stored SSHSIG blob and asks `ssh-keygen -Y verify` about it.
fn ssh_keygen_verifies(
    dir: &Path,
    envelope: &Envelope,
    index: usize,
    principal: &str,
    key: &SshKey,
    namespace: &str,
) -> bool {
    let mut blob = envelope.signatures[index].sig.as_slice();
    let sig = ssh_key::SshSig::decode(&mut blob).unwrap();
    let armored = sig.to_pem(ssh_key::LineEnding::LF).unwrap();
    let sig_path = write(dir, "check.sig", armored.as_bytes());
    let allowed = write(
        dir,
        "allowed_signers",
        format!(
            "{principal} namespaces=\"{namespace}\" {}\n",
            key.public_line
        )
        .as_bytes(),
    );
    let pae = std::fs::File::open(write(dir, "check.pae", &envelope.pae())).unwrap();
    let status = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&allowed)
        .args(["-I", principal, "-n", namespace, "-s"])
        .arg(&sig_path)
        .stdin(pae)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    status.success()
}

/// A minisign key pair made by `minisign -G -W` (no password).
struct MinisignKey {
    secret: PathBuf,
    public: PathBuf,
}

impl MinisignKey {
    fn generate(dir: &Path, name: &str) -> Self {
        minisign_keygen(dir, name);
        Self {
            secret: dir.join(format!("{name}.key")),
            public: dir.join(format!("{name}.pub")),
        }
    }

    /// The base64 line of the public key file.
    fn public_b64(&self) -> String {
        std::fs::read_to_string(&self.public)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_owned()
    }

    /// `minisign -S` over the envelope's PAE; `legacy` adds `-l`.
    fn sign_pae(&self, dir: &Path, envelope: &Envelope, legacy: bool) -> Vec<u8> {
        let pae = write(dir, "pae.bin", &envelope.pae());
        let sig = dir.join("pae.bin.minisig");
        let _ = std::fs::remove_file(&sig);
        let mut cmd = Command::new("minisign");
        cmd.arg("-S");
        if legacy {
            cmd.arg("-l");
        }
        run(cmd
            .arg("-s")
            .arg(&self.secret)
            .args(["-t", "ceremony receipt c-1", "-m"])
            .arg(&pae)
            .arg("-x")
            .arg(&sig)
            .stdin(Stdio::null()));
        std::fs::read(sig).unwrap()
    }
}

/// Python `cryptography` checks a raw Ed25519 signature.
fn python_ed25519_verifies(dir: &Path, public_b64: &str, sig: &[u8], message: &[u8]) -> bool {
    require_python_module("cryptography");
    let msg = write(dir, "py.msg", message);
    let sig_path = write(dir, "py.sig", sig);
    let script = r#"
import base64, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
key = Ed25519PublicKey.from_public_bytes(base64.b64decode(sys.argv[1]))
key.verify(open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read())
"#;
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(public_b64)
        .arg(&sig_path)
        .arg(&msg)
        .status()
        .unwrap()
        .success()
}

/// Flips one bit of every byte of the decoded payload and of every
/// signature's bytes (bit `pos % 8`, so all bit positions are exercised), and
/// requires each change to be rejected. Payload changes must be reported as
/// a bad signature: the key is still the trusted one, only the signed bytes
/// differ.
fn assert_every_flip_rejected(envelope: &Envelope, trust: &TrustFile, policy: &VerifyPolicy) {
    verify_with_policy(envelope, trust, policy).expect("the unmodified envelope verifies");
    for pos in 0..envelope.payload.len() {
        let mut bad = envelope.clone();
        bad.payload[pos] ^= 1 << (pos % 8);
        match verify_with_policy(&bad, trust, policy) {
            Err(VerifyError::BadSignature { .. }) => {}
            other => panic!("payload byte {pos}: expected BadSignature, got {other:?}"),
        }
    }
    for index in 0..envelope.signatures.len() {
        for pos in 0..envelope.signatures[index].sig.len() {
            let mut bad = envelope.clone();
            bad.signatures[index].sig[pos] ^= 1 << (pos % 8);
            assert!(
                verify_with_policy(&bad, trust, policy).is_err(),
                "signature {index} byte {pos}: change was accepted"
            );
        }
    }
    // And the envelope JSON as written to disk, byte by byte: either it no
    // longer parses or it no longer verifies. (This also covers `keyid` and
    // `payloadType`.)
    let json = envelope.to_json().unwrap().into_bytes();
    for pos in 0..json.len() {
        let mut bad = json.clone();
        bad[pos] ^= 0x01;
        if let Ok(parsed) = Envelope::from_json(&bad) {
            assert!(
                verify_with_policy(&parsed, trust, policy).is_err(),
                "envelope JSON byte {pos} ({:?}) flipped and still verified",
                json[pos] as char
            );
        }
    }
}

// ---------------------------------------------------------------- ed25519

#[test]
fn ed25519_signature_from_openssh_key_verifies_here_and_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let key = alice.signing_key();
    let mut env = receipt();
    sign_ed25519(&mut env, &key).unwrap();

    let by = verify(
        &env,
        &trust(&format!(
            "ed25519 {} lead operator\n",
            alice.raw_public_b64()
        )),
    )
    .unwrap();
    assert_eq!(by.scheme, Scheme::Ed25519);
    assert_eq!(by.key_name, "lead operator");
    assert_eq!(by.signature_index, 0);
    // keyid carries the same fingerprint `ssh-keygen -l` shows.
    let fp = run(Command::new("ssh-keygen")
        .arg("-lf")
        .arg(alice.private.with_extension("pub")));
    let fp = String::from_utf8(fp.stdout).unwrap();
    let fp = fp.split(' ').nth(1).unwrap();
    assert_eq!(
        env.signatures[0].keyid.as_deref(),
        Some(format!("ed25519:{fp}").as_str())
    );
    assert_eq!(key.fingerprint(), fp);
    assert_eq!(
        key.ed25519_trust_line("openbao-prod", "x"),
        format!(
            "authorities=openbao-prod ed25519 {} x",
            alice.raw_public_b64()
        )
    );

    assert!(python_ed25519_verifies(
        dir.path(),
        &alice.raw_public_b64(),
        &env.signatures[0].sig,
        &env.pae()
    ));
}

#[test]
fn ed25519_attached_signature_from_python_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = receipt();
    let (transit_text, public) = python_transit_sign(dir.path(), [5; 32], 1, &env.pae());
    // The same independent signature, as a base64 file for the plain scheme.
    let b64 = transit_text.rsplit(':').next().unwrap();
    attach_signature(&mut env, Scheme::Ed25519, format!("{b64}\n").as_bytes()).unwrap();
    assert_eq!(env.signatures[0].keyid.as_deref(), Some("ed25519"));
    let by = verify(&env, &trust(&format!("ed25519 {public}\n"))).unwrap();
    assert_eq!(by.scheme, Scheme::Ed25519);
    assert!(by.key_name.starts_with("SHA256:"));
}

#[test]
fn ed25519_every_flipped_byte_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    sign_ed25519(&mut env, &alice.signing_key()).unwrap();
    let trust = trust(&format!("ed25519 {}\n", alice.raw_public_b64()));
    assert_every_flip_rejected(&env, &trust, &VerifyPolicy::default());
}

#[test]
fn ed25519_untrusted_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mallory = SshKey::generate(dir.path(), "mallory");
    let mut env = receipt();
    sign_ed25519(&mut env, &mallory.signing_key()).unwrap();
    let err = verify(
        &env,
        &trust(&format!("ed25519 {} alice\n", alice.raw_public_b64())),
    )
    .unwrap_err();
    let fp = mallory.signing_key().fingerprint();
    assert_eq!(
        err,
        VerifyError::UntrustedKey {
            index: 0,
            scheme: Scheme::Ed25519,
            signer: Some(fp.clone()),
        }
    );
    assert!(err.to_string().contains("untrusted key"), "{err}");
    assert!(err.to_string().contains(&fp), "{err}");
}

#[test]
fn ed25519_good_signature_by_another_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mallory = SshKey::generate(dir.path(), "mallory");
    let mut env = receipt();
    sign_ed25519(&mut env, &mallory.signing_key()).unwrap();
    // Mallory's valid signature, relabelled as Alice's: keyid is not
    // authenticated, so this is the forgery a verifier must catch.
    env.signatures[0].keyid = Some(format!("ed25519:{}", alice.signing_key().fingerprint()));
    let err = verify(
        &env,
        &trust(&format!("ed25519 {} alice\n", alice.raw_public_b64())),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VerifyError::BadSignature {
            index: 0,
            scheme: Scheme::Ed25519,
            key_name: "alice".into(),
        }
    );
    assert!(err.to_string().contains("made by another key"), "{err}");
}

#[test]
fn ed25519_keyid_naming_another_trusted_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let bob = SshKey::generate(dir.path(), "bob");
    let mut env = receipt();
    sign_ed25519(&mut env, &alice.signing_key()).unwrap();
    env.signatures[0].keyid = Some(format!("ed25519:{}", bob.signing_key().fingerprint()));
    let trust = trust(&format!(
        "ed25519 {} alice\ned25519 {} bob\n",
        alice.raw_public_b64(),
        bob.raw_public_b64()
    ));
    assert!(matches!(
        verify(&env, &trust),
        Err(VerifyError::KeyIdMismatch { index: 0, .. })
    ));
}

#[test]
fn encrypted_openssh_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&path));
    let bytes = SecretBytes::new(std::fs::read(&path).unwrap());
    let err = Ed25519SigningKey::from_openssh(&bytes).unwrap_err();
    assert!(
        matches!(err, ceremony::handover::sign::SignError::EncryptedKey),
        "{err}"
    );
}

#[test]
fn signing_key_debug_is_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let key = alice.signing_key();
    let shown = format!("{key:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(shown.contains("SHA256:"), "{shown}");
    // The public half as OpenSSH writes it, comment included.
    assert_eq!(key.openssh_public_key().unwrap(), alice.public_line);
}

// ---------------------------------------------------------------- sshsig

#[test]
fn sshsig_from_ssh_keygen_verifies_and_ssh_keygen_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    let armored = alice.sign_pae(dir.path(), &env, RECEIPT_NAMESPACE);
    assert!(armored.starts_with(b"-----BEGIN SSH SIGNATURE-----"));
    attach_signature(&mut env, Scheme::Sshsig, &armored).unwrap();
    assert!(env.signatures[0].sig.starts_with(b"SSHSIG"));
    let trust = trust(&sshsig_trust_line(
        "alice@example.org",
        Some(RECEIPT_NAMESPACE),
        &alice,
    ));
    let by = verify(&env, &trust).unwrap();
    assert_eq!(by.scheme, Scheme::Sshsig);
    assert_eq!(by.key_name, "alice@example.org");
    assert!(ssh_keygen_verifies(
        dir.path(),
        &env,
        0,
        "alice@example.org",
        &alice,
        RECEIPT_NAMESPACE
    ));

    // Reading back what we stored and what we write gives the same bytes.
    let again = Envelope::from_json(env.to_json().unwrap().as_bytes()).unwrap();
    assert_eq!(again, env);
}

#[test]
fn sshsig_with_sha256_hash_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    let armored = alice.sign_pae_with(
        dir.path(),
        &env,
        RECEIPT_NAMESPACE,
        &["-O", "hashalg=sha256"],
    );
    attach_signature(&mut env, Scheme::Sshsig, &armored).unwrap();
    let trust = trust(&sshsig_trust_line("alice@example.org", None, &alice));
    assert_eq!(verify(&env, &trust).unwrap().scheme, Scheme::Sshsig);
}

#[test]
fn sshsig_made_here_verifies_with_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    sign_sshsig(&mut env, &alice.signing_key(), RECEIPT_NAMESPACE).unwrap();
    assert!(ssh_keygen_verifies(
        dir.path(),
        &env,
        0,
        "alice@example.org",
        &alice,
        RECEIPT_NAMESPACE
    ));
    let trust = trust(&sshsig_trust_line("alice@example.org", None, &alice));
    assert_eq!(verify(&env, &trust).unwrap().scheme, Scheme::Sshsig);
}

#[test]
fn sshsig_wrong_namespace_is_rejected_by_us_and_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    let armored = alice.sign_pae(dir.path(), &env, "file");
    attach_signature(&mut env, Scheme::Sshsig, &armored).unwrap();
    let trust = trust(&sshsig_trust_line("alice@example.org", None, &alice));
    let err = verify(&env, &trust).unwrap_err();
    assert_eq!(
        err,
        VerifyError::SshsigNamespaceMismatch {
            index: 0,
            key_name: "alice@example.org".into(),
            expected: RECEIPT_NAMESPACE.into(),
            found: "file".into(),
        }
    );
    let shown = err.to_string();
    assert!(
        shown.contains("wrong namespace")
            && shown.contains("\"ceremony-handover-receipt\"")
            && shown.contains("\"file\""),
        "{shown}"
    );
    assert!(!ssh_keygen_verifies(
        dir.path(),
        &env,
        0,
        "alice@example.org",
        &alice,
        RECEIPT_NAMESPACE
    ));
}

#[test]
fn sshsig_key_limited_to_other_namespaces_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    let armored = alice.sign_pae(dir.path(), &env, RECEIPT_NAMESPACE);
    attach_signature(&mut env, Scheme::Sshsig, &armored).unwrap();
    let trust = trust(&sshsig_trust_line(
        "alice@example.org",
        Some("git,file"),
        &alice,
    ));
    assert_eq!(
        verify(&env, &trust).unwrap_err(),
        VerifyError::SshsigNamespaceNotAllowed {
            index: 0,
            key_name: "alice@example.org".into(),
            namespace: RECEIPT_NAMESPACE.into(),
            allowed: vec!["git".into(), "file".into()],
        }
    );
}

#[test]
fn sshsig_untrusted_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mallory = SshKey::generate(dir.path(), "mallory");
    let mut env = receipt();
    let armored = mallory.sign_pae(dir.path(), &env, RECEIPT_NAMESPACE);
    attach_signature(&mut env, Scheme::Sshsig, &armored).unwrap();
    let trust = trust(&sshsig_trust_line("alice@example.org", None, &alice));
    let err = verify(&env, &trust).unwrap_err();
    assert!(
        matches!(&err, VerifyError::UntrustedKey { scheme: Scheme::Sshsig, signer: Some(fp), .. } if fp.starts_with("SHA256:")),
        "{err:?}"
    );
}

#[test]
fn sshsig_good_signature_by_another_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mallory = SshKey::generate(dir.path(), "mallory");
    let mut env = receipt();
    let armored = mallory.sign_pae(dir.path(), &env, RECEIPT_NAMESPACE);
    // Mallory's genuine SSHSIG with Alice's public key put in its place
    // (and keyid to match), so the blob claims a trusted signer.
    let real = ssh_key::SshSig::from_pem(&armored).unwrap();
    let alice_key = ssh_key::PublicKey::from_openssh(&alice.public_line).unwrap();
    let forged = ssh_key::SshSig::new(
        alice_key.key_data().clone(),
        RECEIPT_NAMESPACE,
        real.hash_alg(),
        real.signature().clone(),
    )
    .unwrap();
    attach_signature(
        &mut env,
        Scheme::Sshsig,
        forged.to_pem(ssh_key::LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let trust = trust(&sshsig_trust_line("alice@example.org", None, &alice));
    assert_eq!(
        verify(&env, &trust).unwrap_err(),
        VerifyError::BadSignature {
            index: 0,
            scheme: Scheme::Sshsig,
            key_name: "alice@example.org".into(),
        }
    );
}

#[test]
fn sshsig_every_flipped_byte_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    let armored = alice.sign_pae(dir.path(), &env, RECEIPT_NAMESPACE);
    attach_signature(&mut env, Scheme::Sshsig, &armored).unwrap();
    let trust = trust(&sshsig_trust_line("alice@example.org", None, &alice));
    assert_every_flip_rejected(&env, &trust, &VerifyPolicy::default());
}

// ---------------------------------------------------------------- minisign

#[test]
fn minisign_signature_verifies_with_trusted_comment() {
    let dir = tempfile::tempdir().unwrap();
    let key = MinisignKey::generate(dir.path(), "ops");
    let mut env = receipt();
    let file = key.sign_pae(dir.path(), &env, false);
    attach_signature(&mut env, Scheme::Minisign, &file).unwrap();
    let by = verify(
        &env,
        &trust(&format!("minisign {} ops team\n", key.public_b64())),
    )
    .unwrap();
    assert_eq!(by.scheme, Scheme::Minisign);
    assert_eq!(by.key_name, "ops team");
    assert_eq!(by.trusted_comment.as_deref(), Some("ceremony receipt c-1"));

    // The stored (normalised) file still verifies with minisign itself.
    let stored = write(dir.path(), "stored.minisig", &env.signatures[0].sig);
    let pae = write(dir.path(), "stored.pae", &env.pae());
    run(Command::new("minisign")
        .args(["-V", "-q", "-p"])
        .arg(&key.public)
        .arg("-x")
        .arg(&stored)
        .arg("-m")
        .arg(&pae));
}

#[test]
fn minisign_unsigned_parts_are_normalised_on_attach() {
    let dir = tempfile::tempdir().unwrap();
    let key = MinisignKey::generate(dir.path(), "ops");
    let env = receipt();
    let file = key.sign_pae(dir.path(), &env, false);
    let text = String::from_utf8(file.clone()).unwrap();
    // Another untrusted comment and CRLF line ends: neither is signed.
    let edited = text
        .replacen("signature from minisign secret key", "anything at all", 1)
        .replace('\n', "\r\n");
    let mut a = env.clone();
    let mut b = env.clone();
    attach_signature(&mut a, Scheme::Minisign, &file).unwrap();
    attach_signature(&mut b, Scheme::Minisign, edited.as_bytes()).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.signatures[0].sig, file,
        "minisign's default file is stored as is"
    );
}

#[test]
fn minisign_legacy_signature_needs_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let key = MinisignKey::generate(dir.path(), "ops");
    let mut env = receipt();
    let file = key.sign_pae(dir.path(), &env, true);
    attach_signature(&mut env, Scheme::Minisign, &file).unwrap();
    let trust = trust(&format!("minisign {} ops\n", key.public_b64()));
    assert_eq!(
        verify(&env, &trust).unwrap_err(),
        VerifyError::MinisignLegacy {
            index: 0,
            key_name: "ops".into()
        }
    );
    let policy = VerifyPolicy {
        allow_legacy_minisign: true,
        ..VerifyPolicy::default()
    };
    let by = verify_with_policy(&env, &trust, &policy).unwrap();
    assert_eq!(by.scheme, Scheme::Minisign);
    assert_every_flip_rejected(&env, &trust, &policy);
}

#[test]
fn minisign_key_id_mismatch_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let ops = MinisignKey::generate(dir.path(), "ops");
    let other = MinisignKey::generate(dir.path(), "other");
    let mut env = receipt();
    let file = other.sign_pae(dir.path(), &env, false);
    attach_signature(&mut env, Scheme::Minisign, &file).unwrap();
    let err = verify(
        &env,
        &trust(&format!("minisign {} ops\n", ops.public_b64())),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VerifyError::MinisignKeyIdMismatch { index: 0, trusted, .. } if trusted.len() == 1),
        "{err:?}"
    );
    assert!(err.to_string().contains("key id mismatch"), "{err}");
}

#[test]
fn minisign_every_flipped_byte_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let key = MinisignKey::generate(dir.path(), "ops");
    let mut env = receipt();
    let file = key.sign_pae(dir.path(), &env, false);
    attach_signature(&mut env, Scheme::Minisign, &file).unwrap();
    let trust = trust(&format!("minisign {} ops\n", key.public_b64()));
    assert_every_flip_rejected(&env, &trust, &VerifyPolicy::default());
}

// ---------------------------------------------------------------- transit

#[test]
fn transit_vector_from_python_verifies_and_pins_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = receipt();
    let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
    let (sig_text, public) = python_transit_sign(dir.path(), seed, 3, &env.pae());
    assert!(sig_text.starts_with("vault:v3:"));
    attach_signature(
        &mut env,
        Scheme::Transit,
        format!("{sig_text}\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(env.signatures[0].sig, sig_text.as_bytes());
    assert_eq!(env.signatures[0].keyid.as_deref(), Some("transit:v3"));

    let by = verify(&env, &trust(&format!("transit receipts v3 {public}\n"))).unwrap();
    assert_eq!(by.scheme, Scheme::Transit);
    assert_eq!(by.key_name, "receipts v3");

    let err = verify(&env, &trust(&format!("transit receipts v2 {public}\n"))).unwrap_err();
    assert_eq!(
        err,
        VerifyError::TransitVersionMismatch {
            index: 0,
            found: 3,
            trusted: vec!["receipts v2".into()],
        }
    );
    assert!(err.to_string().contains("version mismatch"), "{err}");

    assert_every_flip_rejected(
        &env,
        &trust(&format!("transit receipts v3 {public}\n")),
        &VerifyPolicy::default(),
    );
}

#[test]
fn transit_good_signature_by_another_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = receipt();
    let (_, trusted_public) = python_transit_sign(dir.path(), [1; 32], 3, b"x");
    let (other_sig, _) = python_transit_sign(dir.path(), [2; 32], 3, &env.pae());
    attach_signature(&mut env, Scheme::Transit, other_sig.as_bytes()).unwrap();
    assert_eq!(
        verify(
            &env,
            &trust(&format!("transit receipts v3 {trusted_public}\n"))
        )
        .unwrap_err(),
        VerifyError::BadSignature {
            index: 0,
            scheme: Scheme::Transit,
            key_name: "receipts v3".into(),
        }
    );
}

// ---------------------------------------------------------------- envelope-level

#[test]
fn unsigned_envelope_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    assert_eq!(
        verify(
            &receipt(),
            &trust(&format!("ed25519 {}\n", alice.raw_public_b64()))
        )
        .unwrap_err(),
        VerifyError::NoSignatures
    );
}

#[test]
fn a_trusted_signature_beside_an_untrusted_one_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mallory = SshKey::generate(dir.path(), "mallory");
    let mut env = receipt();
    sign_ed25519(&mut env, &mallory.signing_key()).unwrap();
    sign_sshsig(&mut env, &alice.signing_key(), RECEIPT_NAMESPACE).unwrap();
    let trust = trust(&sshsig_trust_line("alice@example.org", None, &alice));
    let by = verify(&env, &trust).unwrap();
    assert_eq!(by.signature_index, 1);

    // With neither signer trusted, each signature's reason is reported.
    let bob = SshKey::generate(dir.path(), "bob");
    let only_bob = self::trust(&sshsig_trust_line("bob@example.org", None, &bob));
    match verify(&env, &only_bob).unwrap_err() {
        VerifyError::NoneVerified { failures } => {
            assert!(
                matches!(
                    failures.as_slice(),
                    [
                        VerifyError::UntrustedKey {
                            index: 0,
                            scheme: Scheme::Ed25519,
                            ..
                        },
                        VerifyError::UntrustedKey {
                            index: 1,
                            scheme: Scheme::Sshsig,
                            ..
                        },
                    ]
                ),
                "{failures:?}"
            );
        }
        other => panic!("expected NoneVerified, got {other:?}"),
    }
}

#[test]
fn malformed_signature_anywhere_rejects_the_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    sign_ed25519(&mut env, &alice.signing_key()).unwrap();
    env.signatures.push(ceremony::handover::dsse::Signature {
        keyid: Some("transit:v1".into()),
        sig: b"vault:v1:not-base64".to_vec(),
    });
    let trust = trust(&format!("ed25519 {}\n", alice.raw_public_b64()));
    assert!(matches!(
        verify(&env, &trust),
        Err(VerifyError::Malformed {
            index: 1,
            problem: Malformed::Transit { .. }
        })
    ));
}

#[test]
fn attach_refuses_a_file_of_the_wrong_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SshKey::generate(dir.path(), "alice");
    let mut env = receipt();
    let armored = alice.sign_pae(dir.path(), &env, RECEIPT_NAMESPACE);
    for scheme in [Scheme::Ed25519, Scheme::Minisign, Scheme::Transit] {
        assert!(
            attach_signature(&mut env, scheme, &armored).is_err(),
            "{scheme} accepted an SSHSIG file"
        );
    }
    attach_signature(&mut env, Scheme::Sshsig, &armored).unwrap();
    assert!(matches!(
        attach_signature(&mut env, Scheme::Sshsig, &armored),
        Err(ceremony::handover::sign::AttachError::Duplicate { index: 0 })
    ));
}
