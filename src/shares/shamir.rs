//! Shamir's secret sharing over GF(2^8), byte by byte, compatible with
//! Vault/OpenBao `shamir` and with sops key groups.
//!
//! Each secret byte is the constant term of its own random polynomial of degree
//! `k - 1`; share `i` holds the polynomial values at a non-zero x coordinate. Any
//! `k` shares interpolate the constant term at x = 0; `k - 1` shares are
//! consistent with every possible secret and so reveal nothing.
//!
//! Two details matter for security and are easy to get wrong:
//! - coefficients are drawn uniformly from all 256 field elements, zero
//!   included. Excluding zero (as the `sharks` crate did, RUSTSEC-2024-0398)
//!   biases the polynomial and leaks information about the secret.
//! - x coordinates are public, distinct and non-zero (x = 0 would be the secret
//!   itself). By default they are a random subset of 1..=255, as Vault draws
//!   them, so a share does not reveal how many shares were made.
//!
//! Vault's wire layout of a share is the y bytes followed by one x byte; see
//! [`ShamirShare::to_vault_bytes`].

use std::collections::BTreeSet;

use rand::{CryptoRng, RngCore, seq::SliceRandom};
use subtle::ConstantTimeEq;

use super::gf256;
use crate::secret::SecretBytes;

/// Smallest and largest thresholds and share counts the field allows.
pub const MIN_THRESHOLD: u8 = 2;

/// A validated pair (k, n): any `k` of `n` shares rebuild the secret.
///
/// It cannot be built with `k < 2` (one share would be the secret itself) or
/// `k > n` (the secret could never be rebuilt). `n ≤ 255` is enforced by the
/// type: x coordinates are non-zero bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    k: u8,
    n: u8,
}

impl Threshold {
    /// Validates `k` of `n`.
    pub fn new(k: usize, n: usize) -> Result<Self, ShamirError> {
        if n > 255 {
            return Err(ShamirError::TooManyShares { n });
        }
        if k < MIN_THRESHOLD as usize || k > n {
            return Err(ShamirError::InvalidThreshold { k, n });
        }
        Ok(Self {
            k: k as u8,
            n: n as u8,
        })
    }

    /// Shares needed to rebuild the secret.
    pub fn k(self) -> usize {
        self.k as usize
    }

    /// Shares made.
    pub fn n(self) -> usize {
        self.n as usize
    }
}

/// One point of the sharing polynomials: a public x coordinate and one secret y
/// byte per secret byte.
#[derive(Clone, Debug)]
pub struct ShamirShare {
    x: u8,
    y: SecretBytes,
}

impl ShamirShare {
    /// Builds a share from its parts; `x` must be non-zero and `y` non-empty.
    pub fn new(x: u8, y: SecretBytes) -> Result<Self, ShamirError> {
        if x == 0 {
            return Err(ShamirError::ZeroX);
        }
        if y.is_empty() {
            return Err(ShamirError::EmptySecret);
        }
        Ok(Self { x, y })
    }

    /// The public x coordinate.
    pub fn x(&self) -> u8 {
        self.x
    }

    /// The secret y bytes.
    pub fn y(&self) -> &SecretBytes {
        &self.y
    }

    /// Vault/OpenBao and sops layout: y bytes, then the x byte
    /// (hashicorp/vault `shamir/shamir.go`, `Split`).
    pub fn to_vault_bytes(&self) -> SecretBytes {
        let mut bytes = Vec::with_capacity(self.y.len() + 1);
        bytes.extend_from_slice(self.y.expose_secret());
        bytes.push(self.x);
        SecretBytes::new(bytes)
    }

    /// Parses Vault's layout (y bytes ‖ x byte). Needs at least two bytes.
    pub fn from_vault_bytes(bytes: &[u8]) -> Result<Self, ShamirError> {
        match bytes.split_last() {
            Some((&x, y)) if !y.is_empty() => Self::new(x, SecretBytes::from_slice(y)),
            _ => Err(ShamirError::ShareTooShort { len: bytes.len() }),
        }
    }
}

/// Why a split or a combination was refused. Messages carry x coordinates and
/// counts, which are public, never share or secret bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShamirError {
    /// k out of range.
    #[error("threshold {k} of {n} is not allowed: need 2 <= threshold <= shares")]
    InvalidThreshold {
        /// Requested threshold.
        k: usize,
        /// Requested number of shares.
        n: usize,
    },
    /// More than 255 shares asked for.
    #[error("{n} shares asked for, but at most 255 can exist (x is a non-zero byte)")]
    TooManyShares {
        /// Requested number of shares.
        n: usize,
    },
    /// The secret to split is empty.
    #[error("the secret is empty; there is nothing to split")]
    EmptySecret,
    /// A share has x = 0, which would be the secret itself.
    #[error("a share has x = 0, which no valid share has")]
    ZeroX,
    /// Shorter than one y byte plus the x byte.
    #[error("a share of {len} bytes is too short (need at least one y byte and the x byte)")]
    ShareTooShort {
        /// Its length.
        len: usize,
    },
    /// The wrong number of x coordinates was given to [`split_at`].
    #[error("{given} x coordinates given for {n} shares")]
    WrongXCount {
        /// How many were given.
        given: usize,
        /// How many shares are made.
        n: usize,
    },
    /// Two shares with one x.
    #[error("two shares have the same x = {x}; each share may be used once")]
    DuplicateX {
        /// The repeated coordinate.
        x: u8,
    },
    /// Shares of different lengths cannot belong together.
    #[error(
        "the share with x = {x} has {len} bytes, the others {expected}: they come from different secrets"
    )]
    LengthMismatch {
        /// The share that differs.
        x: u8,
        /// Its length.
        len: usize,
        /// The first share's length.
        expected: usize,
    },
    /// Fewer shares than needed.
    #[error("{have} share(s) given, {need} needed")]
    NotEnoughShares {
        /// Shares available.
        have: usize,
        /// Shares needed.
        need: usize,
    },
    /// A share beyond the threshold does not lie on the polynomial of the others.
    #[error(
        "the share with x = {x} does not agree with the other shares: one of them is corrupted or from another set"
    )]
    Inconsistent {
        /// The share that disagrees.
        x: u8,
    },
}

/// Splits `secret` into `threshold.n()` shares at random distinct non-zero x
/// coordinates, any `threshold.k()` of which rebuild it.
pub fn split<R: RngCore + CryptoRng>(
    secret: &SecretBytes,
    threshold: Threshold,
    rng: &mut R,
) -> Result<Vec<ShamirShare>, ShamirError> {
    let mut xs: Vec<u8> = (1..=255u8).collect();
    xs.shuffle(rng);
    xs.truncate(threshold.n());
    split_at(secret, threshold, &xs, rng)
}

/// Splits `secret` at the given x coordinates (sops key groups use 1, 2, 3, …).
pub fn split_at<R: RngCore + CryptoRng>(
    secret: &SecretBytes,
    threshold: Threshold,
    xs: &[u8],
    rng: &mut R,
) -> Result<Vec<ShamirShare>, ShamirError> {
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }
    if xs.len() != threshold.n() {
        return Err(ShamirError::WrongXCount {
            given: xs.len(),
            n: threshold.n(),
        });
    }
    check_distinct_non_zero(xs.iter().copied())?;

    let degree = threshold.k() - 1;
    // One buffer per share, each sized up front: a clone of an empty Vec has
    // no capacity, and growing would leave unwiped copies of y bytes behind.
    let mut ys: Vec<Vec<u8>> = (0..xs.len())
        .map(|_| Vec::with_capacity(secret.len()))
        .collect();
    // One polynomial per secret byte: coefficient 0 is the byte, the others are
    // uniform over the whole field.
    // All random coefficients in one draw; `degree` of them per secret byte.
    let mut random = SecretBytes::new(vec![0u8; degree * secret.len()]);
    rng.fill_bytes(random.expose_secret_mut());
    let mut poly = SecretBytes::new(vec![0u8; degree + 1]);
    for (&byte, fresh) in secret
        .expose_secret()
        .iter()
        .zip(random.expose_secret().chunks_exact(degree))
    {
        // The constant term is the secret byte; the others are fresh.
        if let Some((constant, rest)) = poly.expose_secret_mut().split_first_mut() {
            *constant = byte;
            rest.copy_from_slice(fresh);
        }
        for (x, y) in xs.iter().zip(ys.iter_mut()) {
            y.push(evaluate(poly.expose_secret(), *x));
        }
    }

    xs.iter()
        .zip(ys)
        .map(|(&x, y)| ShamirShare::new(x, SecretBytes::new(y)))
        .collect()
}

/// Rebuilds the secret from exactly the given shares, all of which are used
/// (as Vault and sops do). At least two are needed; x coordinates must be
/// distinct and lengths equal.
///
/// With exactly k shares, a corrupted share cannot be told apart from a
/// different secret: callers check the result against a key check value.
pub fn combine(shares: &[ShamirShare]) -> Result<SecretBytes, ShamirError> {
    validate_set(shares, MIN_THRESHOLD as usize)?;
    Ok(interpolate(shares, 0))
}

/// Rebuilds the secret from the first `k` shares and checks that every further
/// share lies on the same polynomials, so a corrupted or foreign share among
/// more than `k` is reported instead of being silently used.
pub fn combine_checked(shares: &[ShamirShare], k: usize) -> Result<SecretBytes, ShamirError> {
    let k = k.max(MIN_THRESHOLD as usize);
    validate_set(shares, k)?;
    let (basis, extra) = shares.split_at(k);
    for share in extra {
        let predicted = interpolate(basis, share.x);
        if !bool::from(predicted.expose_secret().ct_eq(share.y.expose_secret())) {
            return Err(ShamirError::Inconsistent { x: share.x });
        }
    }
    Ok(interpolate(basis, 0))
}

fn validate_set(shares: &[ShamirShare], need: usize) -> Result<(), ShamirError> {
    if shares.len() < need {
        return Err(ShamirError::NotEnoughShares {
            have: shares.len(),
            need,
        });
    }
    check_distinct_non_zero(shares.iter().map(|s| s.x))?;
    let expected = shares.first().map_or(0, |s| s.y.len());
    for share in shares {
        if share.y.len() != expected {
            return Err(ShamirError::LengthMismatch {
                x: share.x,
                len: share.y.len(),
                expected,
            });
        }
    }
    Ok(())
}

fn check_distinct_non_zero(xs: impl Iterator<Item = u8>) -> Result<(), ShamirError> {
    let mut seen = BTreeSet::new();
    for x in xs {
        if x == 0 {
            return Err(ShamirError::ZeroX);
        }
        if !seen.insert(x) {
            return Err(ShamirError::DuplicateX { x });
        }
    }
    Ok(())
}

/// Horner evaluation of `coefficients` (constant term first) at `x`.
fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients
        .iter()
        .rev()
        .fold(0u8, |acc, &c| gf256::add(gf256::mul(acc, x), c))
}

/// Lagrange interpolation of every byte position at `at`. The x coordinates are
/// public, so computing the basis from them may branch; the y bytes only pass
/// through constant-time multiplication and addition.
fn interpolate(shares: &[ShamirShare], at: u8) -> SecretBytes {
    // l_i(at) = Π_{j≠i} (at - x_j) / (x_i - x_j), with one inversion per i.
    let basis: Vec<u8> = shares
        .iter()
        .enumerate()
        .map(|(i, si)| {
            let (numerator, denominator) = shares.iter().enumerate().filter(|(j, _)| *j != i).fold(
                (1u8, 1u8),
                |(num, den), (_, sj)| {
                    (
                        gf256::mul(num, gf256::add(at, sj.x)),
                        gf256::mul(den, gf256::add(si.x, sj.x)),
                    )
                },
            );
            gf256::div(numerator, denominator)
        })
        .collect();
    let len = shares.first().map_or(0, |s| s.y.len());
    let mut out = vec![0u8; len];
    for (share, &l) in shares.iter().zip(&basis) {
        for (acc, &y) in out.iter_mut().zip(share.y.expose_secret()) {
            *acc = gf256::add(*acc, gf256::mul(y, l));
        }
    }
    SecretBytes::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::OsRng;

    fn shares_of(secret: &[u8], k: usize, n: usize) -> Vec<ShamirShare> {
        let threshold = Threshold::new(k, n).expect("valid threshold");
        split(&SecretBytes::from_slice(secret), threshold, &mut OsRng).expect("split")
    }

    #[test]
    fn threshold_bounds() {
        assert!(Threshold::new(2, 2).is_ok());
        assert!(Threshold::new(255, 255).is_ok());
        assert_eq!(
            Threshold::new(1, 3),
            Err(ShamirError::InvalidThreshold { k: 1, n: 3 })
        );
        assert_eq!(
            Threshold::new(4, 3),
            Err(ShamirError::InvalidThreshold { k: 4, n: 3 })
        );
        assert_eq!(
            Threshold::new(2, 256),
            Err(ShamirError::TooManyShares { n: 256 })
        );
    }

    #[test]
    fn empty_secret_is_refused() {
        let threshold = Threshold::new(2, 3).unwrap();
        let err = split(&SecretBytes::new(vec![]), threshold, &mut OsRng).unwrap_err();
        assert_eq!(err, ShamirError::EmptySecret);
    }

    #[test]
    fn x_coordinates_are_distinct_non_zero_and_not_sequential() {
        let shares = shares_of(b"k", 2, 255);
        let xs: BTreeSet<u8> = shares.iter().map(|s| s.x()).collect();
        assert_eq!(xs.len(), 255);
        assert!(!xs.contains(&0));
        // With 3 shares out of 255 positions, 1,2,3 in order is a 1 in ~2.7M event.
        let small = shares_of(b"k", 2, 3);
        let small_xs: Vec<u8> = small.iter().map(|s| s.x()).collect();
        assert_ne!(small_xs, vec![1, 2, 3]);
    }

    #[test]
    fn duplicate_share_is_refused() {
        let shares = shares_of(b"secret", 2, 3);
        let doubled = vec![shares[0].clone(), shares[0].clone()];
        assert_eq!(
            combine(&doubled).unwrap_err(),
            ShamirError::DuplicateX { x: shares[0].x() }
        );
    }

    #[test]
    fn coefficients_cover_the_whole_field() {
        // With k = 2 the share at x is s + a·x; for a fixed secret byte the
        // y byte is uniform over all 256 values only if a is. Excluding a = 0
        // (the sharks bug) would make y == s impossible.
        let mut seen_equal_to_secret = false;
        for _ in 0..4096 {
            let shares = split_at(
                &SecretBytes::from_slice(&[0x42]),
                Threshold::new(2, 2).unwrap(),
                &[1, 2],
                &mut OsRng,
            )
            .unwrap();
            if shares[0].y().expose_secret() == [0x42] {
                seen_equal_to_secret = true;
                break;
            }
        }
        assert!(
            seen_equal_to_secret,
            "coefficient 0 never drawn in 4096 tries"
        );
    }

    proptest! {
        // Failing seeds are kept beside this file (`*.proptest-regressions`),
        // inside src/: the repository's top level is fixed.
        #![proptest_config(ProptestConfig {
            cases: 64,
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
            )),
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_k_of_n_rebuild_the_secret(
            secret in proptest::collection::vec(any::<u8>(), 1..48),
            k in 2usize..8,
            extra in 0usize..6,
            pick_seed in any::<u64>(),
        ) {
            let n = k + extra;
            let shares = shares_of(&secret, k, n);
            // A pseudo-random subset of size k chosen from the seed.
            let mut order: Vec<usize> = (0..n).collect();
            let mut s = pick_seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let subset: Vec<ShamirShare> = order[..k].iter().map(|&i| shares[i].clone()).collect();
            let from_subset = combine(&subset).unwrap();
            prop_assert_eq!(from_subset.expose_secret(), &secret[..]);
            let from_all = combine_checked(&shares, k).unwrap();
            prop_assert_eq!(from_all.expose_secret(), &secret[..]);
        }

        #[test]
        fn k_minus_one_shares_do_not_rebuild(
            secret in proptest::collection::vec(any::<u8>(), 16..33),
            k in 3usize..8,
        ) {
            let shares = shares_of(&secret, k, k + 1);
            // Interpolating k-1 shares gives some value, but (with 16+ random
            // bytes) never the secret; combine_checked refuses outright.
            let short = &shares[..k - 1];
            let wrong = combine(short).unwrap();
            prop_assert_ne!(wrong.expose_secret(), &secret[..]);
            prop_assert_eq!(
                combine_checked(short, k).unwrap_err(),
                ShamirError::NotEnoughShares { have: k - 1, need: k }
            );
        }

        #[test]
        fn corrupted_extra_share_is_detected(
            secret in proptest::collection::vec(any::<u8>(), 1..33),
            k in 2usize..6,
            flip in 1u8..=255,
            pos in any::<prop::sample::Index>(),
        ) {
            let mut shares = shares_of(&secret, k, k + 2);
            let victim = k + 1;
            let mut y = shares[victim].y().expose_secret().to_vec();
            let i = pos.index(y.len());
            y[i] ^= flip;
            let x = shares[victim].x();
            shares[victim] = ShamirShare::new(x, SecretBytes::new(y)).unwrap();
            prop_assert_eq!(combine_checked(&shares, k).unwrap_err(), ShamirError::Inconsistent { x });
        }

        #[test]
        fn shares_of_another_set_are_detected(
            secret in proptest::collection::vec(any::<u8>(), 8..33),
        ) {
            let ours = shares_of(&secret, 2, 3);
            let theirs = shares_of(&secret, 2, 3);
            // Same secret, different polynomials: mixing sets is caught when
            // more than k shares are given, unless x collides (then DuplicateX).
            let mixed = vec![ours[0].clone(), ours[1].clone(), theirs[2].clone()];
            let err = combine_checked(&mixed, 2).unwrap_err();
            prop_assert!(matches!(err, ShamirError::Inconsistent { .. } | ShamirError::DuplicateX { .. }), "{:?}", err);
        }

        #[test]
        fn vault_layout_round_trips(
            secret in proptest::collection::vec(any::<u8>(), 1..40),
        ) {
            for share in shares_of(&secret, 2, 2) {
                let bytes = share.to_vault_bytes();
                prop_assert_eq!(bytes.len(), secret.len() + 1);
                prop_assert_eq!(bytes.expose_secret()[secret.len()], share.x());
                let back = ShamirShare::from_vault_bytes(bytes.expose_secret()).unwrap();
                prop_assert_eq!(back.x(), share.x());
                prop_assert_eq!(back.y().expose_secret(), share.y().expose_secret());
            }
        }
    }
}
