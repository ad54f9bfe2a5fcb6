//! Shared set-up of the handover tests: a root made offline by the real
//! binary, bootstrap Secrets sealed to its recipient by `bootstrap seal`
//! (and resealed by the library, [`seal`], where a test needs another
//! sealing), a challenge, helpers to build, tamper with and sign receipts,
//! and the signers that stand in for a runtime authority (minisign, Python
//! `cryptography` as Vault transit).

use std::path::Path;
use std::process::Command;

use ceremony::clock::SystemClock;
use ceremony::handover::{Envelope, Statement, sign};
use ceremony::secret::SecretBytes;
use ceremony::sops::{self, CryptRule, EncryptOptions, Format};

use super::custodians::{offline_root, root_manifest};
use super::{Run, Scratch, hermetic, require, require_python_module, run};

/// The SSHSIG namespace receipts are signed under.
pub const NAMESPACE: &str = "ceremony-handover-receipt";

/// Two manifests, three Secrets, four items, one ConfigMap that is not
/// handed over. `hunter2` is `aHVudGVyMg==`.
pub const DB_YAML: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
type: Opaque
data:
  password: aHVudGVyMg==
stringData:
  user: admin
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: apps
data:
  mode: production
---
apiVersion: v1
kind: Secret
metadata:
  name: api-token
data:
  token: c2VjcmV0LXRva2Vu
";

/// The second manifest.
pub const GIT_YAML: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: git-credentials
  namespace: flux-system
stringData:
  identity: ssh-private-key-text
";

/// Every item id of the challenge, in challenge order.
pub const ITEMS: [&str; 4] = [
    "apps/db/password",
    "apps/db/user",
    "default/api-token/token",
    "flux-system/git-credentials/identity",
];

/// The runtime authority every test challenge names.
pub const AUTHORITY: &str = "openbao-prod";

/// A test set-up: root, sealed files, plaintext values, challenge.
pub struct Handover {
    pub s: Scratch,
    pub system: String,
}

/// Seals a plaintext manifest to `recipient` the way `bootstrap seal` does:
/// only `data` and `stringData` values are encrypted.
pub fn seal(recipient: &str, plain: &str) -> Vec<u8> {
    let mut opts = EncryptOptions::for_recipients([recipient]).unwrap();
    opts.rule = Some(CryptRule::from_field("encrypted_regex", "^(data|stringData)$").unwrap());
    sops::encrypt(plain.as_bytes(), Format::Yaml, &opts, &SystemClock).unwrap()
}

impl Handover {
    /// Root init (offline, fake system root), values/ and bootstrap/ with
    /// the two manifests, and challenge.json for `openbao-prod`.
    pub fn new() -> Self {
        let s = Scratch::new();
        let system = offline_root(&s, &[]).to_str().unwrap().to_owned();
        let h = Self { s, system };
        for dir in [
            "values/apps",
            "values/flux",
            "bootstrap/apps",
            "bootstrap/flux",
        ] {
            std::fs::create_dir_all(h.s.path(dir)).unwrap();
        }
        h.write_values("apps/db.yaml", DB_YAML);
        h.write_values("flux/git.yaml", GIT_YAML);
        // Phase 1 as an operator runs it: copy the manifests, seal them in
        // place to the root's recipient.
        for rel in ["apps/db.yaml", "flux/git.yaml"] {
            h.s.write(
                &format!("bootstrap/{rel}"),
                h.s.read(&format!("values/{rel}")),
            );
        }
        h.s.ceremony(&[
            "bootstrap",
            "seal",
            "--root",
            "root",
            "--in-place",
            "bootstrap",
        ])
        .success();
        // A sops config beside the sealed files is skipped, not handed over.
        h.s.write("bootstrap/.sops.yaml", "creation_rules: []\n");
        h.s.ceremony(&[
            "handover",
            "challenge",
            "--root",
            "root",
            "--bootstrap",
            "bootstrap",
            "--authority",
            "openbao-prod",
            "--out",
            "challenge.json",
        ])
        .success();
        h
    }

    pub fn recipient(&self) -> String {
        root_manifest(&self.s, "root").body.bootstrap_recipient
    }

    /// Writes a plaintext manifest under values/.
    pub fn write_values(&self, rel: &str, text: &str) {
        self.s.write(&format!("values/{rel}"), text);
    }

    /// Seals every values/ manifest again into bootstrap/ (same relative
    /// paths), replacing what is there: a fresh sealing of the same values.
    pub fn seal_values(&self) {
        let recipient = self.recipient();
        for rel in ["apps/db.yaml", "flux/git.yaml"] {
            let plain = String::from_utf8(self.s.read(&format!("values/{rel}"))).unwrap();
            self.s
                .write(&format!("bootstrap/{rel}"), seal(&recipient, &plain));
        }
    }

    /// `handover receipt` with extra arguments; returns the run.
    pub fn receipt(&self, out: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "handover",
            "receipt",
            "--challenge",
            "challenge.json",
            "--values",
            "values",
            "--authority",
            "openbao-prod",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        self.s.ceremony(&args)
    }

    /// `handover verify` against `trust`, with extra arguments.
    pub fn verify(&self, receipt: &str, trust: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "handover",
            "verify",
            "--challenge",
            "challenge.json",
            "--receipt",
            receipt,
            "--trust",
            trust,
        ];
        args.extend_from_slice(extra);
        self.s.ceremony(&args)
    }

    /// The `--deep` arguments: alice and bob rebuild the bootstrap key.
    pub fn deep_args(&self) -> Vec<String> {
        [
            "--bootstrap",
            "bootstrap",
            "--deep",
            "--root",
            "root",
            "root/shares/alice.age",
            "root/shares/bob.age",
            "-i",
            "alice.key",
            "-i",
            "bob.key",
            "--system-root",
            &self.system,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Makes an ssh-ed25519 key `name` and returns its plain-ed25519
    /// TRUSTFILE line.
    pub fn ed25519_key(&self, name: &str) -> String {
        self.s.ssh_key(name);
        self.signing_key(name).ed25519_trust_line(AUTHORITY, name)
    }

    pub fn signing_key(&self, name: &str) -> sign::Ed25519SigningKey {
        sign::Ed25519SigningKey::from_openssh(&SecretBytes::new(self.s.read(name))).unwrap()
    }

    /// Rewrites the statement of an unsigned receipt (predicate as JSON,
    /// subjects as a list), then signs it with the ssh key `key` as plain
    /// ed25519: a receipt that is genuinely signed but says something else.
    pub fn tamper_and_sign(
        &self,
        unsigned: &str,
        out: &str,
        key: &str,
        change: impl FnOnce(&mut serde_json::Value, &mut Vec<ceremony::handover::statement::Subject>),
    ) {
        let envelope = Envelope::from_json(&self.s.read(unsigned)).unwrap();
        let mut statement = Statement::from_envelope(&envelope).unwrap();
        change(&mut statement.predicate, &mut statement.subjects);
        let mut envelope = statement.to_envelope().unwrap();
        sign::sign_ed25519(&mut envelope, &self.signing_key(key)).unwrap();
        self.s.write(out, envelope.to_json().unwrap());
    }
}

/// The report lines that failed (`✗ …`).
pub fn failed_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with('✗'))
        .map(str::to_owned)
        .collect()
}

/// The report lines of checks that were not requested (`· …`): without
/// `--deep`, one `commitment` line per item. They do not fail the report.
pub fn not_checked_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with('·'))
        .map(str::to_owned)
        .collect()
}

/// Python `cryptography`, independent of our Ed25519 code, signs `message`
/// with the key from `seed` (32 bytes) and prints Vault's transit form.
/// Returns (`vault:v<version>:<b64>`, base64 public key). The message is
/// written to `DIR/transit.msg`.
pub fn python_transit_sign(
    dir: &Path,
    seed: [u8; 32],
    version: u32,
    message: &[u8],
) -> (String, String) {
    require_python_module("cryptography");
    let msg = dir.join("transit.msg");
    std::fs::write(&msg, message).unwrap();
    let script = r#"
import base64, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
seed = bytes.fromhex(sys.argv[1])
key = Ed25519PrivateKey.from_private_bytes(seed)
msg = open(sys.argv[2], 'rb').read()
sig = key.sign(msg)
pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
print("vault:v%s:%s" % (sys.argv[3], base64.b64encode(sig).decode()))
print(base64.b64encode(pub).decode())
"#;
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(hex::encode(seed))
        .arg(&msg)
        .arg(version.to_string()));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap().to_owned(),
    )
}

/// Makes a minisign key pair without a password, `DIR/NAME.key` and
/// `DIR/NAME.pub`, with the real `minisign -G -W`.
pub fn minisign_keygen(dir: &Path, name: &str) {
    require("minisign");
    let (secret, public) = (format!("{name}.key"), format!("{name}.pub"));
    run(hermetic(&mut Command::new("minisign"), dir)
        .args(["-G", "-W", "-p", &public, "-s", &secret]));
}
