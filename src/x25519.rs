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

use curve25519_dalek::montgomery::MontgomeryPoint;
use subtle::ConstantTimeEq;

/// A recipient whose public key is a point of small order: nothing sealed
/// to it is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "its public key is a point of small order, which no private key protects: whatever is sealed to it can be opened by anyone. It is not a key age-keygen or ssh-keygen makes; find out where it came from"
)]
pub struct SmallOrder;

/// Whether the Montgomery u-coordinate `u` is a point of small order, on
/// the curve or on its twist.
///
/// A clamped scalar is a multiple of the cofactor 8 and smaller than both
/// prime subgroup orders, so multiplying by it sends exactly the points of
/// small order to zero; which clamped scalar does not matter.
fn is_small_order(u: [u8; 32]) -> bool {
    let product = MontgomeryPoint(u).mul_clamped([0x5a; 32]);
    product.as_bytes().ct_eq(&[0; 32]).into()
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
        age::ssh::Recipient::SshEd25519(_, point) => {
            if is_small_order(point.to_montgomery().to_bytes()) {
                return Err(SmallOrder);
            }
            Ok(())
        }
        age::ssh::Recipient::SshRsa(..) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::ToBase32;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use std::str::FromStr;

    /// The u-coordinates of Curve25519's points of small order (the list
    /// libsodium and the Go x/crypto refuse), and encodings of some of them
    /// plus p.
    const SMALL_ORDER: [[u8; 32]; 7] = [
        [0; 32],
        {
            let mut one = [0; 32];
            one[0] = 1;
            one
        },
        [
            0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f,
            0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16,
            0x5f, 0x49, 0xb8, 0x00,
        ],
        [
            0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83,
            0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd,
            0xd0, 0x9f, 0x11, 0x57,
        ],
        // p - 1
        [
            0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x7f,
        ],
        // p, which is 0
        [
            0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x7f,
        ],
        // p + 1, which is 1
        [
            0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x7f,
        ],
    ];

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
    fn every_point_of_small_order_is_refused_as_an_age_recipient() {
        for u in SMALL_ORDER {
            assert_eq!(check_age(&age_recipient(u)), Err(SmallOrder), "{u:02x?}");
        }
        // And the high bit, which X25519 ignores, does not hide one.
        let mut zero_high = [0; 32];
        zero_high[31] = 0x80;
        assert_eq!(check_age(&age_recipient(zero_high)), Err(SmallOrder));
    }

    #[test]
    fn the_keys_age_makes_pass() {
        for _ in 0..20 {
            let r = age::x25519::Identity::generate().to_public();
            assert_eq!(check_age(&r), Ok(()));
        }
        // A point on the twist that is not of small order: age seals to
        // it (nobody holds its key, but nothing sealed to it is exposed).
        let twist = age_recipient({
            let mut u = [0; 32];
            u[0] = 2;
            u
        });
        assert_eq!(check_age(&twist), Ok(()));
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
            assert!(
                CompressedEdwardsY(point)
                    .decompress()
                    .unwrap()
                    .is_small_order()
            );
            assert_eq!(check_ssh(&ssh_recipient(point)), Err(SmallOrder));
        }
        let good = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(check_ssh(&ssh_recipient(good.to_bytes())), Ok(()));
    }
}
