//! X25519 public keys as age recipients: the check the age crate leaves
//! out.
//!
//! A point of small order (on Curve25519 or on its twist, in any of its
//! encodings) shares one and the same secret, all zeroes, with every
//! ephemeral key: whatever is sealed to it is sealed with a key anyone can
//! work out. The Go age refuses such a recipient ("low order point"). The
//! age crate panics on an `age1…` one, and seals to an `ssh-ed25519` one,
//! its file key wrapped with that public key: a Secret sealed so would be
//! as good as in clear, and `bootstrap verify` would see a recipient like
//! any other. So ceremony refuses both wherever it reads a recipient
//! (`--recipient`, `.sops.yaml`, a sealed file's `sops:` block, a
//! custodians file, `root.json`), before anything is sealed.

use subtle::ConstantTimeEq;

/// A recipient whose public key is a point of small order: nothing sealed
/// to it is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "its public key is a point of small order, which no private key protects: whatever is sealed to it can be opened by anyone. It is not a key age-keygen or ssh-keygen makes; find out where it came from"
)]
pub struct SmallOrder;

/// The u-coordinates of every point of small order on Curve25519 or its
/// twist, as libsodium lists them: 0, 1, the two of order 8, p - 1, and
/// p and p + 1 (0 and 1 again: the only such values that fit in 255 bits
/// twice).
const SMALL_ORDER: [[u8; 32]; 7] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Whether the Montgomery u-coordinate `u` is a point of small order, on
/// the curve or on its twist. X25519 ignores the top bit, so this does
/// too. (A table, not a multiplication: every file's recipients are
/// checked as they are read, and a ladder costs as much as sealing.)
fn is_small_order(mut u: [u8; 32]) -> bool {
    if let Some(top) = u.last_mut() {
        *top &= 0x7f;
    }
    SMALL_ORDER
        .iter()
        .fold(subtle::Choice::from(0), |found, bad| found | u.ct_eq(bad))
        .into()
}

/// Checks an `age1…` recipient.
pub fn check_age(recipient: &age::x25519::Recipient) -> Result<(), SmallOrder> {
    // The crate keeps the key private; its Bech32 form, which it has
    // already checked, carries the 32 bytes.
    let text = recipient.to_string();
    let bytes = bech32::decode(&text)
        .ok()
        .and_then(|(_, data, _)| bech32::FromBase32::from_base32(&data).ok())
        .and_then(|bytes: Vec<u8>| <[u8; 32]>::try_from(bytes).ok())
        .ok_or(SmallOrder)?;
    if is_small_order(bytes) {
        return Err(SmallOrder);
    }
    Ok(())
}

/// Checks an OpenSSH recipient: age seals to an `ssh-ed25519` key through
/// the X25519 form of its point (an `ssh-rsa` key has nothing to check
/// here).
pub fn check_ssh(recipient: &age::ssh::Recipient) -> Result<(), SmallOrder> {
    match recipient {
        // Of small order as an Edwards point exactly when its X25519 form
        // is (the map between them keeps the order).
        age::ssh::Recipient::SshEd25519(_, point) if point.is_small_order() => Err(SmallOrder),
        age::ssh::Recipient::SshEd25519(..) => Ok(()),
        age::ssh::Recipient::SshRsa(..) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::ToBase32;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::montgomery::MontgomeryPoint;
    use std::str::FromStr;

    /// What the table stands for: a clamped scalar is a multiple of the
    /// cofactor 8 and smaller than both prime subgroup orders, so it sends
    /// exactly the points of small order to zero.
    fn killed_by_the_cofactor(u: [u8; 32]) -> bool {
        MontgomeryPoint(u).mul_clamped([0x5a; 32]) == MontgomeryPoint([0; 32])
    }

    fn age_recipient(u: [u8; 32]) -> age::x25519::Recipient {
        let text = bech32::encode("age", u.to_base32(), bech32::Variant::Bech32).unwrap();
        age::x25519::Recipient::from_str(&text).unwrap()
    }

    fn ssh_recipient(point: [u8; 32]) -> age::ssh::Recipient {
        let key = ssh_key::PublicKey::from(ssh_key::public::KeyData::Ed25519(
            ssh_key::public::Ed25519PublicKey(point),
        ));
        age::ssh::Recipient::from_str(&key.to_openssh().unwrap()).unwrap()
    }

    #[test]
    fn the_table_is_the_points_the_cofactor_kills() {
        for u in SMALL_ORDER {
            assert!(killed_by_the_cofactor(u), "{u:02x?}");
            let mut high = u;
            high[31] |= 0x80;
            assert!(is_small_order(high) && killed_by_the_cofactor(high));
            assert_eq!(check_age(&age_recipient(u)), Err(SmallOrder), "{u:02x?}");
        }
        // Every other value the ladder sees agrees with the table: the
        // small ones and their neighbours, and random ones.
        let mut values: Vec<[u8; 32]> = (0u8..=40)
            .map(|n| {
                let mut u = [0; 32];
                u[0] = n;
                u
            })
            .collect();
        for bad in SMALL_ORDER {
            for delta in [1u8, 2] {
                let (mut up, mut down) = (bad, bad);
                up[0] = up[0].wrapping_add(delta);
                down[0] = down[0].wrapping_sub(delta);
                values.extend([up, down]);
            }
        }
        values.extend((0..200).map(|_| rand::random::<[u8; 32]>()));
        for u in values {
            assert_eq!(is_small_order(u), killed_by_the_cofactor(u), "{u:02x?}");
        }
    }

    #[test]
    fn the_keys_age_makes_pass() {
        for _ in 0..20 {
            let r = age::x25519::Identity::generate().to_public();
            assert_eq!(check_age(&r), Ok(()));
        }
    }

    #[test]
    fn an_ssh_ed25519_key_of_small_order_is_refused() {
        // The identity point, of order 1, and the point of order 2.
        let mut identity = [0; 32];
        identity[0] = 1;
        let mut order_two = [0xff; 32];
        order_two[0] = 0xec;
        order_two[31] = 0x7f;
        for point in [identity, order_two] {
            let montgomery = CompressedEdwardsY(point)
                .decompress()
                .unwrap()
                .to_montgomery();
            assert!(killed_by_the_cofactor(montgomery.to_bytes()));
            assert_eq!(check_ssh(&ssh_recipient(point)), Err(SmallOrder));
        }
        let good = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(check_ssh(&ssh_recipient(good.to_bytes())), Ok(()));
    }
}
