//! Our Shamir engine against other implementations of the same field:
//! sops key groups (the fixture made by the real sops 3.11, whose shares are
//! opened here with the real `age`), Vault's layout, and the vsss-rs crate.

use ceremony::secret::SecretBytes;
use ceremony::shares::shamir::{self, ShamirShare, Threshold};
use rand::rngs::OsRng;

use crate::util::sops::{sops_expected, sops_vector};
use crate::util::{Scratch, require};

/// Every `-----BEGIN AGE ENCRYPTED FILE-----` block of a YAML file, unindented.
fn armored_blocks(yaml: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in yaml.lines() {
        let line = line.trim();
        if line == "-----BEGIN AGE ENCRYPTED FILE-----" {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line == "-----END AGE ENCRYPTED FILE-----" {
            blocks.extend(current.take());
        }
    }
    blocks
}

#[test]
fn sops_key_group_shares_combine_to_the_data_key() {
    let expected = &sops_expected()["shamir.enc.yaml"];
    let shares: Vec<ShamirShare> = expected["shamir_shares_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| ShamirShare::from_vault_bytes(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    assert_eq!(shares.len(), 2);
    assert_eq!(shares[0].y().len(), 32);
    let key = shamir::combine(&shares).unwrap();
    assert_eq!(
        hex::encode(key.expose_secret()),
        expected["data_key_hex"].as_str().unwrap()
    );
}

#[test]
fn shares_opened_by_real_age_from_the_sops_file_combine() {
    require("age");
    let s = Scratch::new();
    let yaml = std::fs::read_to_string(sops_vector("shamir.enc.yaml")).unwrap();
    let blocks = armored_blocks(&yaml);
    assert_eq!(blocks.len(), 2, "two key groups");
    let mut shares = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let file = format!("group{i}.age");
        s.write(&file, block);
        let key = sops_vector(&format!("key{}.agekey", i + 1));
        let out = s
            .tool("age", &["-d", "-i", key.to_str().unwrap(), &file])
            .success();
        assert_eq!(out.output.stdout.len(), 33, "32 y bytes and the x byte");
        shares.push(ShamirShare::from_vault_bytes(&out.output.stdout).unwrap());
    }
    // sops 3.10+ numbers its groups x = 1, 2, … ; we read x from the share.
    assert_eq!(shares.iter().map(|s| s.x()).collect::<Vec<_>>(), vec![1, 2]);
    let key = shamir::combine(&shares).unwrap();
    assert_eq!(
        hex::encode(key.expose_secret()),
        sops_expected()["shamir.enc.yaml"]["data_key_hex"]
            .as_str()
            .unwrap()
    );
    // One group alone is one share: not enough, as sops says (exit 128).
    assert!(shamir::combine_checked(&shares[..1], 2).is_err());
}

#[test]
fn our_shares_in_sops_layout_are_what_sops_reads() {
    // sops splits at x = 1..n and appends x; our split_at does the same, and
    // combining reverses it whatever the x values.
    let secret = SecretBytes::random(32);
    let shares = shamir::split_at(
        &secret,
        Threshold::new(2, 3).unwrap(),
        &[1, 2, 3],
        &mut OsRng,
    )
    .unwrap();
    for (i, share) in shares.iter().enumerate() {
        let bytes = share.to_vault_bytes();
        assert_eq!(bytes.len(), 33);
        assert_eq!(bytes.expose_secret()[32], i as u8 + 1);
    }
    assert!(shamir::combine(&shares[1..]).unwrap().ct_eq(&secret));
}

/// OsRng (rand 0.8) for vsss-rs, which speaks rand_core 0.10.
struct Os;

impl rand_core_010::TryRng for Os {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand::RngCore::next_u32(&mut OsRng))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand::RngCore::next_u64(&mut OsRng))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::RngCore::fill_bytes(&mut OsRng, dst);
        Ok(())
    }
}

impl rand_core_010::TryCryptoRng for Os {}

#[test]
fn vsss_rs_and_ours_agree_both_ways() {
    use vsss_rs::Gf256;
    for (k, n, len) in [(2, 2, 1), (2, 3, 32), (3, 5, 17), (5, 9, 64), (10, 20, 33)] {
        let secret = SecretBytes::random(len);

        // vsss-rs splits (layout: x byte first), we combine.
        let theirs = Gf256::split_array(k, n, secret.expose_secret(), Os).unwrap();
        let as_ours: Vec<ShamirShare> = theirs[..k]
            .iter()
            .map(|s| ShamirShare::new(s[0], SecretBytes::from_slice(&s[1..])).unwrap())
            .collect();
        assert!(
            shamir::combine(&as_ours).unwrap().ct_eq(&secret),
            "vsss→ours k={k} n={n}"
        );
        let all_ours: Vec<ShamirShare> = theirs
            .iter()
            .map(|s| ShamirShare::new(s[0], SecretBytes::from_slice(&s[1..])).unwrap())
            .collect();
        assert!(
            shamir::combine_checked(&all_ours, k)
                .unwrap()
                .ct_eq(&secret)
        );

        // We split, vsss-rs combines.
        let ours = shamir::split(&secret, Threshold::new(k, n).unwrap(), &mut OsRng).unwrap();
        let as_theirs: Vec<Vec<u8>> = ours[n - k..]
            .iter()
            .map(|s| {
                let mut v = vec![s.x()];
                v.extend_from_slice(s.y().expose_secret());
                v
            })
            .collect();
        let combined = Gf256::combine_array(&as_theirs).unwrap();
        assert_eq!(combined, secret.expose_secret(), "ours→vsss k={k} n={n}");
    }
}

#[test]
fn vault_split_by_an_independent_port_combines_with_ours() {
    require("python3");
    let s = Scratch::new();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/vault_shamir.py");
    for (n, k) in [(5, 3), (255, 200), (2, 2)] {
        let secret = SecretBytes::random(32);
        let out = s
            .tool(
                "python3",
                &[
                    script.to_str().unwrap(),
                    &secret.to_hex(),
                    &n.to_string(),
                    &k.to_string(),
                ],
            )
            .success();
        let init: serde_json::Value = serde_json::from_slice(&out.output.stdout).unwrap();
        use base64::Engine;
        let shares: Vec<ShamirShare> = init["unseal_keys_b64"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b.as_str().unwrap())
                    .unwrap();
                assert_eq!(raw.len(), 33, "Vault shares of a 32-byte key are 33 bytes");
                ShamirShare::from_vault_bytes(&raw).unwrap()
            })
            .collect();
        assert!(shamir::combine(&shares[..k]).unwrap().ct_eq(&secret));
        assert!(shamir::combine(&shares[n - k..]).unwrap().ct_eq(&secret));
        assert!(shamir::combine_checked(&shares, k).unwrap().ct_eq(&secret));
    }
}
