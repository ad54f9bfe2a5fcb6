//! Receipts signed by the real OpenBao transit engine (OpenBao 2.7.2, `bao
//! server` on 127.0.0.1, [`Bao`]): every supported key type and marshaling,
//! the TRUSTFILE line made by `handover trust from-transit` from `bao read
//! -format=json transit/keys/NAME`, and the refusals (another key version,
//! a JWS signature where the line expects DER, another key, a tampered
//! receipt, RSA keys).
//!
//! The runtime side's steps are the documented ones: `handover receipt
//! --unsigned`, `bao write -field=signature transit/sign/NAME
//! input=$(base64 -w0 receipt.json.pae) …`, `handover attach-signature
//! --scheme transit`; the operator's are `handover trust from-transit` and
//! `handover verify`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::util::Run;
use crate::util::handover::{AUTHORITY, Handover, failed_lines};
use crate::util::openbao::Bao;

/// A handover with an unsigned receipt and a transit engine at `transit/`.
struct Transit {
    h: Handover,
    bao: Bao,
}

impl Transit {
    fn new() -> Self {
        let h = Handover::new();
        h.receipt("receipt.json", &["--unsigned"]).success();
        let bao = Bao::start_unsealed(&h.s.path("bao"));
        bao.ok(&["secrets", "enable", "transit"]);
        Self { h, bao }
    }

    /// Makes transit key `name` of `key_type`.
    fn key(&self, name: &str, key_type: &str) {
        self.bao.ok(&[
            "write",
            "-f",
            &format!("transit/keys/{name}"),
            &format!("type={key_type}"),
        ]);
    }

    /// `bao read -format=json transit/keys/NAME` saved to `NAME.json`, then
    /// `handover trust from-transit` with `extra`; returns the run.
    fn run_from_transit(&self, name: &str, extra: &[&str]) -> Run {
        let json = self
            .bao
            .ok(&["read", "-format=json", &format!("transit/keys/{name}")]);
        let file = format!("{name}.json");
        self.h.s.write(&file, json);
        let mut args = vec![
            "handover",
            "trust",
            "from-transit",
            file.as_str(),
            "--authority",
            AUTHORITY,
        ];
        args.extend_from_slice(extra);
        self.h.s.ceremony(&args)
    }

    /// Writes the TRUSTFILE line for `name` to `TRUST`.
    fn trust(&self, trust: &str, name: &str, extra: &[&str]) -> String {
        let line = self.run_from_transit(name, extra).success().stdout_text();
        self.h.s.write(trust, &line);
        line
    }

    /// transit's signature over the receipt's PAE (`vault:v<N>:…`).
    fn sign(&self, name: &str, params: &[&str]) -> String {
        let input = format!(
            "input={}",
            STANDARD.encode(self.h.s.read("receipt.json.pae"))
        );
        let path = format!("transit/sign/{name}");
        let mut args = vec!["write", "-field=signature", path.as_str(), input.as_str()];
        args.extend_from_slice(params);
        self.bao.ok(&args).trim().to_owned()
    }

    /// transit itself accepts `signature` over the PAE.
    fn transit_verifies(&self, name: &str, signature: &str, params: &[&str]) -> bool {
        let input = format!(
            "input={}",
            STANDARD.encode(self.h.s.read("receipt.json.pae"))
        );
        let path = format!("transit/verify/{name}");
        let sig = format!("signature={signature}");
        let mut args = vec![
            "write",
            "-field=valid",
            path.as_str(),
            input.as_str(),
            sig.as_str(),
        ];
        args.extend_from_slice(params);
        self.bao.ok(&args).trim() == "true"
    }

    /// A copy of the unsigned receipt as `CASE.json` with `signature`
    /// attached as a transit signature.
    fn attached(&self, case: &str, signature: &str) -> String {
        let receipt = format!("{case}.json");
        let sig = format!("{case}.sig");
        self.h.s.write(&receipt, self.h.s.read("receipt.json"));
        self.h.s.write(&sig, format!("{signature}\n"));
        self.h
            .s
            .ceremony(&[
                "handover",
                "attach-signature",
                &receipt,
                "--scheme",
                "transit",
                "--signature",
                &sig,
            ])
            .success();
        receipt
    }
}

/// The detail of the one `signature` line of a report (after the mark and
/// the check's name).
fn signature_line(out: &Run) -> String {
    out.stdout_text()
        .lines()
        .find_map(|l| {
            let mut words = l.splitn(3, ' ');
            let (mark, check, detail) = (words.next()?, words.next()?, words.next()?);
            (check == "signature").then(|| format!("{mark} {}", detail.trim_start()))
        })
        .unwrap_or_default()
}

/// Whether a DER ECDSA P-256 signature (transit's `vault:v<N>:<base64>`)
/// has S > n/2.
fn p256_high_s(signature: &str) -> bool {
    let der = STANDARD
        .decode(signature.rsplit(':').next().unwrap())
        .unwrap();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    sig.normalize_s().is_some()
}

#[test]
fn transit_receipts_of_every_supported_key_type_verify() {
    let t = Transit::new();
    t.key("r-ed25519", "ed25519");
    t.key("r-p256", "ecdsa-p256");
    t.key("r-p384", "ecdsa-p384");
    // (case, key, from-transit flags, transit/sign parameters)
    let cases: [(&str, &str, &[&str], &[&str]); 6] = [
        ("ed25519", "r-ed25519", &[], &[]),
        ("p256-der", "r-p256", &[], &[]),
        (
            "p256-jws",
            "r-p256",
            &["--marshaling", "jws"],
            &["marshaling_algorithm=jws"],
        ),
        ("p384-der", "r-p384", &[], &[]),
        (
            "p384-jws",
            "r-p384",
            &["--marshaling", "jws"],
            &["marshaling_algorithm=jws"],
        ),
        (
            "p384-sha384",
            "r-p384",
            &["--hash", "sha2-384"],
            &["hash_algorithm=sha2-384"],
        ),
    ];
    for (case, key, flags, params) in cases {
        let trust = format!("trust-{case}.txt");
        let line = t.trust(&trust, key, flags);
        assert!(
            line.starts_with(&format!("authorities={AUTHORITY} transit {key} v1 ")),
            "{case}: {line}"
        );
        let signature = t.sign(key, params);
        assert!(signature.starts_with("vault:v1:"), "{case}: {signature}");
        assert!(t.transit_verifies(key, &signature, params), "{case}");
        let receipt = t.attached(case, &signature);
        let out =
            t.h.verify(&receipt, &trust, &["--bootstrap", "bootstrap"])
                .success();
        let text = out.stdout_text();
        assert!(failed_lines(&text).is_empty(), "{case}: {text}");
        let line = signature_line(&out);
        assert!(
            line.starts_with(&format!("✓ transit signature by {key} v1 (v1 ")),
            "{case}: {line}"
        );
    }
    // The ECDSA lines say what they pin.
    let p384 = String::from_utf8(t.h.s.read("trust-p384-jws.txt")).unwrap();
    assert!(p384.contains(" v1 ecdsa-p384 MHYw"), "{p384}");
    assert!(
        p384.trim_end().ends_with(" marshaling=jws hash=sha2-256"),
        "{p384}"
    );
    let ed = String::from_utf8(t.h.s.read("trust-ed25519.txt")).unwrap();
    assert_eq!(
        ed.split_whitespace().count(),
        5,
        "the short ed25519 form: {ed}"
    );
}

/// transit (Go's `ecdsa.Sign`) does not normalise S: about half its ECDSA
/// signatures are high-S, and ceremony accepts them (docs §4).
#[test]
fn transit_high_s_signatures_verify() {
    let t = Transit::new();
    t.key("r-p256", "ecdsa-p256");
    t.trust("trust.txt", "r-p256", &[]);
    // 64 tries: the chance that none is high-S is 2^-64.
    let (high, low): (Vec<String>, Vec<String>) = (0..64)
        .map(|_| t.sign("r-p256", &[]))
        .partition(|s| p256_high_s(s));
    assert!(!high.is_empty() && !low.is_empty(), "{high:?} {low:?}");
    for (case, signature) in [("high", &high[0]), ("low", &low[0])] {
        let receipt = t.attached(case, signature);
        t.h.verify(&receipt, "trust.txt", &[]).success();
    }
}

#[test]
fn transit_signatures_that_must_not_verify() {
    let t = Transit::new();
    t.key("r-p256", "ecdsa-p256");
    t.key("other", "ecdsa-p256");
    t.key("r-rsa", "rsa-2048");

    // RSA keys are refused with the reason and what to use instead.
    t.run_from_transit("r-rsa", &[]).fails_with(
        3,
        "transit key type \"rsa-2048\" is not supported for receipts (RSA receipt signatures are refused",
    );

    // A JWS signature where the line pins DER (transit's default).
    t.trust("trust-v1.txt", "r-p256", &[]);
    let jws = t.sign("r-p256", &["marshaling_algorithm=jws"]);
    let receipt = t.attached("jws-as-der", &jws);
    let out =
        t.h.verify(&receipt, "trust-v1.txt", &[])
            .fails_with(4, "NOT verified");
    let line = signature_line(&out);
    assert!(
        line.starts_with("✗ signature 0 (transit) for r-p256 v1 (line 1): not an ecdsa-p256 signature in ASN.1 DER")
            && line.contains("marshaling_algorithm=jws: sign without it, or put marshaling=jws on the line"),
        "{line}"
    );
    // ... and a DER signature where the line pins JWS.
    t.trust("trust-jws.txt", "r-p256", &["--marshaling", "jws"]);
    let der = t.sign("r-p256", &[]);
    let receipt = t.attached("der-as-jws", &der);
    let out =
        t.h.verify(&receipt, "trust-jws.txt", &[])
            .fails_with(4, "NOT verified");
    assert!(
        signature_line(&out)
            .contains("it is an ASN.1 DER signature (transit's default marshaling)"),
        "{}",
        signature_line(&out)
    );
    // The same DER signature verifies with the v1 line.
    let good = t.attached("good", &der);
    t.h.verify(&good, "trust-v1.txt", &[]).success();

    // A receipt changed after it was signed.
    let envelope: serde_json::Value = serde_json::from_slice(&t.h.s.read(&good)).unwrap();
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let changed = String::from_utf8(payload)
        .unwrap()
        .replace("\"version\":1", "\"version\":7");
    let mut tampered = envelope.clone();
    tampered["payload"] = STANDARD.encode(changed).into();
    t.h.s.write("tampered.json", tampered.to_string());
    let out =
        t.h.verify("tampered.json", "trust-v1.txt", &[])
            .fails_with(4, "NOT verified");
    assert!(
        signature_line(&out).contains(
            "bad signature: it does not verify with trusted key r-p256 v1; it was made by another key or the receipt was altered"
        ),
        "{}",
        signature_line(&out)
    );
    assert!(
        !out.stdout_text().contains("✓ item"),
        "nothing in it is trusted"
    );

    // Another transit key's signature, same version.
    let other = t.sign("other", &[]);
    let receipt = t.attached("other-key", &other);
    let out =
        t.h.verify(&receipt, "trust-v1.txt", &[])
            .fails_with(4, "NOT verified");
    assert!(
        signature_line(&out).contains("bad signature"),
        "{}",
        signature_line(&out)
    );

    // A signature by another version of the trusted key: rotate, sign with v2.
    t.bao.ok(&["write", "-f", "transit/keys/r-p256/rotate"]);
    let v2 = t.sign("r-p256", &[]);
    assert!(v2.starts_with("vault:v2:"), "{v2}");
    let receipt = t.attached("v2", &v2);
    let out =
        t.h.verify(&receipt, "trust-v1.txt", &[])
            .fails_with(4, "NOT verified");
    assert!(
        signature_line(&out).contains(
            "version mismatch: signed with key version v2, trusted transit keys are [r-p256 v1]"
        ),
        "{}",
        signature_line(&out)
    );
    // from-transit now trusts v2 (the latest) and not v1 ...
    let line = t.trust("trust-v2.txt", "r-p256", &[]);
    assert!(line.contains(" transit r-p256 v2 ecdsa-p256 "), "{line}");
    t.h.verify(&receipt, "trust-v2.txt", &[]).success();
    t.h.verify("good.json", "trust-v2.txt", &[])
        .fails_with(4, "NOT verified");
    // ... unless asked for v1, whose key is the one pinned before.
    let v1 = t
        .run_from_transit("r-p256", &["--key-version", "1"])
        .success()
        .stdout_text();
    assert_eq!(v1, String::from_utf8(t.h.s.read("trust-v1.txt")).unwrap());
}
