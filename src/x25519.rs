//! age's X25519 recipient type: `age1…` recipients, `AGE-SECRET-KEY-1…`
//! identities and the `X25519` stanza between them (c2sp.org/age), with
//! the exchange done by AWS-LC; and the check on public keys that the age
//! crate leaves out.
//!
//! **Points of small order.** A point of small order (on Curve25519 or on
//! its twist, in any of its encodings) shares one and the same secret, all
//! zeroes, with every ephemeral key: whatever is sealed to it is sealed
//! with a key anyone can work out. The Go age refuses such a recipient
//! ("low order point"). The age crate panics on an `age1…` one, and seals
//! to an `ssh-ed25519` one with a wrapping key derived from public values
//! alone: a Secret sealed so would be as good as in clear, and `bootstrap
//! verify` would see a recipient like any other. So ceremony refuses both wherever
//! it reads a recipient (`--recipient`, `.sops.yaml`, a sealed file's
//! `sops:` block, a custodians file, a share set, `root.json`), before
//! anything is sealed.
//!
//! **Why not the age crate's own X25519 types.** Speed, where a tree is
//! rewritten: rotating or re-keying a file takes two exchanges, and with
//! the age crate's types (curve25519-dalek's serial Montgomery ladder, and
//! the identity's public key worked out again for every stanza it tries)
//! they were 53% of the CPU of `bootstrap rotate`. AWS-LC's X25519 (the
//! formally verified s2n-bignum code, constant time) takes about half as
//! long as the ladder (`docs/decisions/x25519.md`). Everything else stays the
//! age crate's: it parses and checks every key text first (this module
//! reads the 32 bytes back from its Bech32 form, and checks an identity's
//! public key against the one age works out), it reads and writes the
//! header, and the stanza's HKDF and ChaCha20-Poly1305 are age-core's
//! primitives. Both directions are tested against the age crate and, in
//! `tests/`, against the Go age and sops.

use std::collections::HashSet;

use age_core::format::{FileKey, Stanza};
use age_core::primitives::{aead_decrypt, aead_encrypt, hkdf};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use base64::Engine;
use base64::prelude::BASE64_STANDARD_NO_PAD;
use secrecy::ExposeSecret;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

/// The stanza's tag, and its HKDF label (c2sp.org/age, "X25519 recipient
/// stanza").
const TAG: &str = "X25519";
const LABEL: &[u8] = b"age-encryption.org/v1/X25519";
/// A file key, and the stanza body that wraps it (with its Poly1305 tag).
const FILE_KEY_BYTES: usize = 16;
const WRAPPED_FILE_KEY_BYTES: usize = FILE_KEY_BYTES + 16;

/// A key that cannot be sealed to, or loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A recipient whose public key is a point of small order: nothing
    /// sealed to it is secret.
    #[error(
        "its public key is a point of small order, which no private key protects: whatever is sealed to it can be opened by anyone. It is not a key age-keygen or ssh-keygen makes; find out where it came from"
    )]
    SmallOrder,
    /// The 32 bytes could not be read back from the age crate's form of
    /// the key, or gave another public key than the age crate's: a guard
    /// on this module's decoding, never seen.
    #[error(
        "its key could not be read back from the age library's form of it; this is a bug in ceremony, nothing was sealed or opened with it"
    )]
    Unreadable,
}

/// The environment variables AWS-LC reads, once, to choose the CPU
/// instructions its code runs (crypto/fipsmodule/cpucap/): on x86, Arm and
/// POWER.
pub const CPU_OVERRIDES: [&str; 3] = ["OPENSSL_ia32cap", "OPENSSL_armcap", "OPENSSL_ppccap"];

/// A variable of [`CPU_OVERRIDES`] is set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{variable} is set: it would choose which CPU instructions the X25519 code (AWS-LC) runs, and one the processor lacks would kill ceremony in the middle of a command; unset it"
)]
pub struct CpuOverride {
    /// The variable.
    pub variable: &'static str,
}

/// Refuses an environment that would choose AWS-LC's code paths: what runs
/// on a root key should not depend on a variable left over in a shell.
/// Checked before any command runs, so before AWS-LC reads it.
pub fn check_environment() -> Result<(), CpuOverride> {
    match CPU_OVERRIDES
        .into_iter()
        .find(|variable| std::env::var_os(variable).is_some())
    {
        Some(variable) => Err(CpuOverride { variable }),
        None => Ok(()),
    }
}

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
        .fold(Choice::from(0), |found, bad| found | u.ct_eq(bad))
        .into()
}

/// Checks an `age1…` recipient.
pub fn check_age(recipient: &age::x25519::Recipient) -> Result<(), KeyError> {
    Recipient::new(recipient).map(drop)
}

/// Checks an OpenSSH recipient: age seals to an `ssh-ed25519` key through
/// the X25519 form of its point (an `ssh-rsa` key has nothing to check
/// here).
pub fn check_ssh(recipient: &age::ssh::Recipient) -> Result<(), KeyError> {
    match recipient {
        // Of small order as an Edwards point exactly when its X25519 form
        // is (the map between them keeps the order).
        age::ssh::Recipient::SshEd25519(_, point) if point.is_small_order() => {
            Err(KeyError::SmallOrder)
        }
        age::ssh::Recipient::SshEd25519(..) => Ok(()),
        age::ssh::Recipient::SshRsa(..) => Ok(()),
    }
}

/// An `age1…` recipient, sealed to with AWS-LC's X25519: checked, and
/// read back from the age crate's own parse of it.
pub struct Recipient {
    public: [u8; 32],
}

impl Recipient {
    /// The recipient `recipient` is, unless it is of small order.
    pub fn new(recipient: &age::x25519::Recipient) -> Result<Self, KeyError> {
        // The crate keeps the key private; its Bech32 form, which it has
        // already checked, carries the 32 bytes.
        let text = recipient.to_string();
        let public = bech32::decode(&text)
            .ok()
            .and_then(|(_, data, _)| bech32::FromBase32::from_base32(&data).ok())
            .and_then(|bytes: Vec<u8>| <[u8; 32]>::try_from(bytes).ok())
            .ok_or(KeyError::Unreadable)?;
        Self::from_bytes(public)
    }

    /// The recipient of these 32 bytes (the u-coordinate an `age1…` text
    /// carries), unless it is of small order.
    pub fn from_bytes(public: [u8; 32]) -> Result<Self, KeyError> {
        if is_small_order(public) {
            return Err(KeyError::SmallOrder);
        }
        Ok(Self { public })
    }

    /// Its 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.public
    }
}

/// The stanza's wrapping key: HKDF over the shared secret of `secret` and
/// `peer`, salted with both public keys. `None` when the exchange fails or
/// gives the all-zero secret (a peer of small order), as age refuses it.
fn wrapping_key(
    secret: &PrivateKey,
    peer: &[u8; 32],
    salt: &[u8; 64],
) -> Option<Zeroizing<[u8; 32]>> {
    agreement::agree(
        secret,
        UnparsedPublicKey::new(&agreement::X25519, peer),
        (),
        |shared| {
            if bool::from(shared.ct_eq(&[0; 32])) {
                return Err(());
            }
            Ok(Zeroizing::new(hkdf(salt, LABEL, shared)))
        },
    )
    .ok()
}

/// `ephemeral_share || recipient`, the HKDF salt.
fn salt(ephemeral_share: &[u8; 32], recipient: &[u8; 32]) -> [u8; 64] {
    let mut salt = [0; 64];
    let (first, second) = salt.split_at_mut(32);
    first.copy_from_slice(ephemeral_share);
    second.copy_from_slice(recipient);
    salt
}

impl age::Recipient for Recipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let failed = || age::EncryptError::Io(std::io::Error::other("the X25519 exchange failed"));
        // The ephemeral key straight from the kernel, as age takes it.
        let mut scalar = Zeroizing::new([0u8; 32]);
        rand::RngCore::try_fill_bytes(&mut rand::rngs::OsRng, scalar.as_mut())
            .map_err(|e| age::EncryptError::Io(std::io::Error::other(e)))?;
        let ephemeral = PrivateKey::from_private_key(&agreement::X25519, scalar.as_ref())
            .map_err(|_| failed())?;
        drop(scalar);
        let share: [u8; 32] = ephemeral
            .compute_public_key()
            .ok()
            .and_then(|public| public.as_ref().try_into().ok())
            .ok_or_else(failed)?;
        // Not of small order (checked when made), so all-zero here would
        // mean a broken random source: fail rather than seal.
        let key = wrapping_key(&ephemeral, &self.public, &salt(&share, &self.public))
            .ok_or_else(failed)?;
        Ok((
            vec![Stanza {
                tag: TAG.to_owned(),
                args: vec![BASE64_STANDARD_NO_PAD.encode(share)],
                body: aead_encrypt(&key, file_key.expose_secret()),
            }],
            HashSet::new(),
        ))
    }
}

/// An age X25519 identity, for AWS-LC's X25519, with its public key
/// worked out once.
pub struct Identity {
    secret: PrivateKey,
    public: [u8; 32],
}

/// Bech32's alphabet: the character at index `v` stands for the 5 bits
/// `v`.
const BECH32_ALPHABET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

impl Identity {
    /// The identity of these 32 secret bytes (the X25519 scalar, as an age
    /// identity's Bech32 text carries it).
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, KeyError> {
        let secret = PrivateKey::from_private_key(&agreement::X25519, secret)
            .map_err(|_| KeyError::Unreadable)?;
        let public = secret
            .compute_public_key()
            .ok()
            .and_then(|public| public.as_ref().try_into().ok())
            .ok_or(KeyError::Unreadable)?;
        Ok(Self { secret, public })
    }

    /// The identity of an `AGE-SECRET-KEY-1…` line, which the age crate
    /// has parsed and checked as `checked`: read from the line itself (no
    /// second copy of the text is made), and refused unless its public key
    /// is the one the age crate works out.
    pub fn from_line(line: &str, checked: &age::x25519::Identity) -> Result<Self, KeyError> {
        let secret = secret_bytes(line.trim().as_bytes()).ok_or(KeyError::Unreadable)?;
        let identity = Self::from_secret(&secret)?;
        let expected = Recipient::new(&checked.to_public())?;
        if !bool::from(expected.public.ct_eq(&identity.public)) {
            return Err(KeyError::Unreadable);
        }
        Ok(identity)
    }
}

impl Identity {
    /// Its recipient, `age1…`, as age-keygen -y prints it.
    pub fn recipient(&self) -> Result<String, KeyError> {
        use bech32::ToBase32;
        bech32::encode("age", self.public.to_base32(), bech32::Variant::Bech32)
            .map_err(|_| KeyError::Unreadable)
    }
}

/// The 32 bytes of an `AGE-SECRET-KEY-1…` text that the age crate has
/// already checked (prefix, characters, checksum), into memory that is
/// wiped. Read without a branch or a table lookup on the secret characters
/// (the age crate's own Bech32 decoding of the same text, just before,
/// makes no such promise: this keeps ceremony's part of it quiet).
fn secret_bytes(text: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let separator = text.iter().rposition(|&b| b == b'1')?;
    let data = text.get(separator + 1..)?;
    // 52 groups of 5 bits (256 bits and 4 of padding), then the checksum.
    let data = data.get(..52).filter(|_| data.len() == 52 + 6)?;
    let mut bytes = Zeroizing::new([0u8; 32]);
    let mut buffer = Zeroizing::new(0u32);
    let mut bits = 0;
    let mut out = bytes.iter_mut();
    for &c in data {
        // Lower case without a comparison: every Bech32 letter and digit
        // has 0x20 set in lower case.
        let c = c | 0x20;
        let mut value = 0u8;
        for (v, &letter) in (0u8..).zip(BECH32_ALPHABET) {
            value.conditional_assign(&v, letter.ct_eq(&c));
        }
        *buffer = (*buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // The 4 padding bits are left over at the end.
            *out.next()? = (*buffer >> bits) as u8;
        }
    }
    let mut leftover = *buffer & 0xf;
    let padded = leftover == 0 && out.next().is_none();
    leftover.zeroize();
    padded.then_some(bytes)
}

impl age::Identity for Identity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != TAG {
            return None;
        }
        // A stanza of this type that is not well formed is an error, as
        // age has it, not someone else's.
        let invalid = Some(Err(age::DecryptError::InvalidHeader));
        let [arg] = stanza.args.as_slice() else {
            return invalid;
        };
        let mut share = [0u8; 33];
        match BASE64_STANDARD_NO_PAD.decode_slice(arg, &mut share) {
            Ok(32) => {}
            _ => return invalid,
        }
        let Some(share) = share.first_chunk::<32>() else {
            return invalid;
        };
        if stanza.body.len() != WRAPPED_FILE_KEY_BYTES {
            return invalid;
        }
        let Some(key) = wrapping_key(&self.secret, share, &salt(share, &self.public)) else {
            return invalid;
        };
        // A body that does not open is sealed to another key.
        let mut plain = aead_decrypt(&key, FILE_KEY_BYTES, &stanza.body).ok()?;
        let file_key = FileKey::try_init_with_mut(|k: &mut [u8; FILE_KEY_BYTES]| {
            k.copy_from_slice(plain.get(..FILE_KEY_BYTES).ok_or(())?);
            Ok::<(), ()>(())
        });
        plain.zeroize();
        file_key.ok().map(Ok)
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

    /// This module's identity for the age crate's.
    fn ours(identity: &age::x25519::Identity) -> Identity {
        Identity::from_line(identity.to_string().expose_secret(), identity).unwrap()
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

    /// The table, worked out afresh: the u-coordinates of the eight
    /// points of small order on the curve (0 for the two that map to it),
    /// the twist's point of order 4 (u = -1, p - 1), and the encodings of
    /// 0 and 1 plus p.
    #[test]
    fn the_table_is_every_small_order_u_coordinate() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let mut expected: Vec<[u8; 32]> = EIGHT_TORSION
            .iter()
            .map(|point| point.to_montgomery().to_bytes())
            .collect();
        let p_minus = |n: u8| {
            let mut u = [0xff; 32];
            u[0] = 0xed - n;
            u[31] = 0x7f;
            u
        };
        let p_plus = |n: u8| {
            let mut u = p_minus(0);
            u[0] += n;
            u
        };
        expected.extend([p_minus(1), p_plus(0), p_plus(1)]);
        expected.sort();
        expected.dedup();
        let mut table = SMALL_ORDER.to_vec();
        table.sort();
        assert_eq!(expected, table);
    }

    #[test]
    fn the_table_is_the_points_the_cofactor_kills() {
        for u in SMALL_ORDER {
            assert!(killed_by_the_cofactor(u), "{u:02x?}");
            let mut high = u;
            high[31] |= 0x80;
            assert!(is_small_order(high) && killed_by_the_cofactor(high));
            assert_eq!(
                check_age(&age_recipient(u)),
                Err(KeyError::SmallOrder),
                "{u:02x?}"
            );
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
            assert_eq!(check_ssh(&ssh_recipient(point)), Err(KeyError::SmallOrder));
        }
        let good = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(check_ssh(&ssh_recipient(good.to_bytes())), Ok(()));
    }

    /// What an identity makes of a stanza: not its own, its file key, or
    /// an error.
    #[derive(Debug, PartialEq)]
    enum Verdict {
        NotOurs,
        Opened([u8; FILE_KEY_BYTES]),
        Invalid,
    }

    fn verdict(identity: &dyn age::Identity, stanza: &Stanza) -> Verdict {
        match identity.unwrap_stanza(stanza) {
            None => Verdict::NotOurs,
            Some(Ok(key)) => Verdict::Opened(*key.expose_secret()),
            Some(Err(age::DecryptError::InvalidHeader)) => Verdict::Invalid,
            Some(Err(e)) => panic!("{e}"),
        }
    }

    fn wrap(recipient: &dyn age::Recipient, file_key: [u8; FILE_KEY_BYTES]) -> Stanza {
        let (mut stanzas, labels) = recipient
            .wrap_file_key(&FileKey::new(Box::new(file_key)))
            .unwrap();
        assert!(labels.is_empty());
        assert_eq!(stanzas.len(), 1);
        stanzas.pop().unwrap()
    }

    #[test]
    fn what_either_implementation_seals_the_other_opens() {
        for _ in 0..16 {
            let age_identity = age::x25519::Identity::generate();
            let age_recipient = age_identity.to_public();
            let stranger = ours(&age::x25519::Identity::generate());
            let ours = ours(&age_identity);
            let our_recipient = Recipient::new(&age_recipient).unwrap();
            let file_key: [u8; FILE_KEY_BYTES] = rand::random();
            for stanza in [
                wrap(&our_recipient, file_key),
                wrap(&age_recipient, file_key),
            ] {
                assert_eq!(verdict(&ours, &stanza), Verdict::Opened(file_key));
                assert_eq!(verdict(&age_identity, &stanza), Verdict::Opened(file_key));
                assert_eq!(verdict(&stranger, &stanza), Verdict::NotOurs);
            }
            // And through the whole age format.
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&our_recipient as _)).unwrap();
            let mut sealed = Vec::new();
            let mut writer = encryptor.wrap_output(&mut sealed).unwrap();
            std::io::Write::write_all(&mut writer, b"hunter2").unwrap();
            writer.finish().unwrap();
            let decryptor = age::Decryptor::new(&sealed[..]).unwrap();
            let mut reader = decryptor
                .decrypt(std::iter::once(&age_identity as &dyn age::Identity))
                .unwrap();
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut reader, &mut plain).unwrap();
            assert_eq!(plain, b"hunter2");
        }
    }

    /// Every way a stanza can be malformed gets the same verdict from this
    /// identity as from the age crate's.
    #[test]
    fn a_stanza_gets_the_verdict_age_gives_it() {
        let age_identity = age::x25519::Identity::generate();
        let ours = ours(&age_identity);
        let good = wrap(&age_identity.to_public(), [7; FILE_KEY_BYTES]);
        let with = |change: &dyn Fn(&mut Stanza)| {
            let mut stanza = Stanza {
                tag: good.tag.clone(),
                args: good.args.clone(),
                body: good.body.clone(),
            };
            change(&mut stanza);
            stanza
        };
        let share = good.args[0].clone();
        // The last character of a 32-byte share carries 2 unused bits.
        let mut loose = share.clone().into_bytes();
        let last = loose.pop().unwrap();
        let index = base64::alphabet::STANDARD
            .as_str()
            .find(last as char)
            .unwrap();
        loose.push(base64::alphabet::STANDARD.as_str().as_bytes()[index ^ 1]);
        let loose = String::from_utf8(loose).unwrap();
        let zero_share = BASE64_STANDARD_NO_PAD.encode([0u8; 32]);
        use Verdict::{Invalid, NotOurs, Opened};
        let cases: Vec<(&str, Stanza, Verdict)> = vec![
            ("as sealed", with(&|_| {}), Opened([7; FILE_KEY_BYTES])),
            ("another tag", with(&|s| s.tag = "scrypt".into()), NotOurs),
            ("no share", with(&|s| s.args.clear()), Invalid),
            ("two args", with(&|s| s.args.push(share.clone())), Invalid),
            (
                "share with its unused bits set",
                with(&|s| s.args[0] = loose.clone()),
                Invalid,
            ),
            (
                "share padded",
                with(&|s| s.args[0] = format!("{share}=")),
                Invalid,
            ),
            (
                "share too short",
                with(&|s| s.args[0] = share[..42].to_owned()),
                Invalid,
            ),
            (
                "share of small order",
                with(&|s| s.args[0] = zero_share.clone()),
                Invalid,
            ),
            ("body short", with(&|s| s.body.truncate(31)), Invalid),
            ("body long", with(&|s| s.body.push(0)), Invalid),
            ("body changed", with(&|s| s.body[0] ^= 1), NotOurs),
        ];
        for (name, stanza, expected) in cases {
            assert_eq!(verdict(&age_identity, &stanza), expected, "age: {name}");
            assert_eq!(verdict(&ours, &stanza), expected, "ours: {name}");
        }
    }

    /// AWS-LC's exchange is X25519 for every peer value, canonical or not,
    /// top bit set or not: what curve25519-dalek's ladder gives.
    #[test]
    fn the_exchange_is_the_ladder_for_every_encoding() {
        let mut peers: Vec<[u8; 32]> = (0..64).map(|_| rand::random()).collect();
        for small in 2u8..19 {
            // p + small: not canonical, and p + 2 is 2.
            let mut u = SMALL_ORDER[5];
            u[0] = u[0].wrapping_add(small);
            peers.push(u);
        }
        for mut u in peers.clone() {
            u[31] |= 0x80;
            peers.push(u);
        }
        for peer in peers {
            let scalar: [u8; 32] = rand::random();
            let secret = PrivateKey::from_private_key(&agreement::X25519, &scalar).unwrap();
            let expected = MontgomeryPoint(peer).mul_clamped(scalar).to_bytes();
            let got = agreement::agree(
                &secret,
                UnparsedPublicKey::new(&agreement::X25519, &peer),
                (),
                |shared| Ok(<[u8; 32]>::try_from(shared).unwrap()),
            );
            if expected == [0; 32] {
                assert!(got.is_err(), "{peer:02x?}");
            } else {
                assert_eq!(got, Ok(expected), "{peer:02x?}");
            }
        }
    }

    /// The salt takes the recipient's bytes as written: a recipient with
    /// the top bit set is the same point, but not the same key to age, so
    /// neither implementation's stanza for it opens with the identity of
    /// the point.
    #[test]
    fn a_recipient_with_the_top_bit_set_is_sealed_to_as_written() {
        let age_identity = age::x25519::Identity::generate();
        let mut u = Recipient::new(&age_identity.to_public()).unwrap().public;
        u[31] |= 0x80;
        let high = age_recipient(u);
        let our_high = Recipient::new(&high).unwrap();
        assert_eq!(our_high.public, u);
        for stanza in [
            wrap(&our_high, [3; FILE_KEY_BYTES]),
            wrap(&high, [3; FILE_KEY_BYTES]),
        ] {
            assert_eq!(verdict(&age_identity, &stanza), Verdict::NotOurs);
            assert_eq!(verdict(&ours(&age_identity), &stanza), Verdict::NotOurs);
        }
    }

    #[test]
    fn an_identity_is_read_back_as_age_wrote_it() {
        for _ in 0..32 {
            let bytes: [u8; 32] = rand::random();
            let text = bech32::encode(
                "age-secret-key-",
                bytes.to_base32(),
                bech32::Variant::Bech32,
            )
            .unwrap();
            for text in [text.to_uppercase(), text.clone()] {
                assert_eq!(*secret_bytes(text.as_bytes()).unwrap(), bytes);
            }
            let identity = age::x25519::Identity::from_str(&text.to_uppercase()).unwrap();
            let public = Recipient::new(&identity.to_public()).unwrap().public;
            assert_eq!(ours(&identity).public, public);
            assert_eq!(
                ours(&identity).recipient().unwrap(),
                identity.to_public().to_string()
            );
            assert_eq!(Identity::from_secret(&bytes).unwrap().public, public);
            // A line that is not the key the age crate checked is refused.
            let other = age::x25519::Identity::generate();
            assert!(matches!(
                Identity::from_line(&text, &other),
                Err(KeyError::Unreadable)
            ));
        }
        // Cut short, or with padding bits set: not read.
        let text = bech32::encode(
            "age-secret-key-",
            [9u8; 32].to_base32(),
            bech32::Variant::Bech32,
        )
        .unwrap();
        assert!(secret_bytes(&text.as_bytes()[..text.len() - 1]).is_none());
        let mut groups = [9u8; 32].to_base32();
        let last = groups.pop().unwrap().to_u8();
        groups.push(bech32::u5::try_from_u8(last | 1).unwrap());
        let padded = bech32::encode("age-secret-key-", groups, bech32::Variant::Bech32).unwrap();
        assert!(secret_bytes(padded.as_bytes()).is_none());
    }
}
