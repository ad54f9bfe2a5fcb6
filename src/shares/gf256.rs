//! Arithmetic in GF(2^8) with the AES reduction polynomial
//! x^8 + x^4 + x^3 + x + 1 (0x11b).
//!
//! This is the field of HashiCorp Vault's and OpenBao's `shamir` package and of
//! sops key groups, so shares made here combine with theirs and back.
//!
//! Every operation runs in constant time: no lookup table indexed by a secret,
//! no branch on a secret. Vault (and sops before 3.10) used log/exp tables with
//! generator 0xE5; those give the same results but leak through cache timing.
//! The shift-and-reduce loop below is the one sops adopted in 3.10.

/// Adds (and subtracts: the field has characteristic 2) two elements.
#[inline]
pub fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// Multiplies two elements with a fixed eight-round shift-and-add loop.
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    let mut product = 0u8;
    let mut a = a;
    let mut b = b;
    for _ in 0..8 {
        // All-ones when the low bit of b is set, zero otherwise: a mask, not a branch.
        let take = 0u8.wrapping_sub(b & 1);
        product ^= a & take;
        // Multiply a by x; reduce by 0x11b when the high bit falls off.
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    product
}

/// The multiplicative inverse, computed as a^254 (Fermat: a^255 = 1 for a ≠ 0).
/// The inverse of 0 comes out as 0; callers never divide by a zero they did not
/// check for publicly.
#[inline]
pub fn inv(a: u8) -> u8 {
    // 254 = 0b1111_1110. The exponent is a public constant, so the loop shape
    // depends on nothing secret.
    let mut result = 1u8;
    let mut power = a;
    let mut exponent = 254u8;
    for _ in 0..8 {
        let take = 0u8.wrapping_sub(exponent & 1);
        let multiplied = mul(result, power);
        result = (multiplied & take) | (result & !take);
        power = mul(power, power);
        exponent >>= 1;
    }
    result
}

/// Divides `a` by `b` (b must be non-zero; checked by callers on public data).
#[inline]
pub fn div(a: u8, b: u8) -> u8 {
    mul(a, inv(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference multiply: carry-less product, then polynomial reduction, with
    /// branches. Fine for a test, never for secrets.
    fn slow_mul(a: u8, b: u8) -> u8 {
        let mut wide: u16 = 0;
        for bit in 0..8 {
            if b & (1 << bit) != 0 {
                wide ^= (a as u16) << bit;
            }
        }
        for bit in (8..16).rev() {
            if wide & (1 << bit) != 0 {
                wide ^= 0x11b << (bit - 8);
            }
        }
        wide as u8
    }

    #[test]
    fn multiplication_matches_the_reference_for_every_pair() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow_mul(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn known_aes_products() {
        // FIPS-197 section 4.2: {57} • {83} = {c1}, {57} • {13} = {fe}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
    }

    #[test]
    fn every_non_zero_element_has_an_inverse() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "inverse of {a}");
            assert_eq!(div(mul(a, 0x53), a), 0x53);
        }
        assert_eq!(inv(0), 0);
        // FIPS-197 section 4.2.1 (the S-box's inverse): {53}^-1 = {ca}.
        assert_eq!(inv(0x53), 0xca);
    }
}
