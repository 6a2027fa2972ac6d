//! Rounding an exact decimal `±sig · 10^exp10` to a binary format (f16, bf16, f32, f64)
//! downward, upward or to nearest (ties to even), decided in integer arithmetic: the
//! rational is scaled by a power of two to the format's quantum at its binade, divided
//! once, and the quotient is rounded by its remainder. No floating-point operation takes
//! part; the result is assembled from its bits and is exact (every value of the four
//! formats is an `f64`).
//!
//! Cost: a decimal whose exponent puts it far outside every format's range
//! (`|x| ≥ 10^399` or `|x| < 10^-399`) is decided from its digit count alone; otherwise the
//! integers have at most `3.33·(digits + |exp10|) + 1100` bits, with `|exp10| ≤ 399 +
//! digits` there. Callers bound the digit count (the JSON contract: 4096 characters).

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};

/// A binary floating-point format: precision `p` (significand bits, the hidden one
/// included), the exponent `emin` of its least normal binade and `emax` of its greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Binary {
    pub(crate) p: u32,
    pub(crate) emin: i64,
    pub(crate) emax: i64,
}

/// IEEE binary64.
pub(crate) const F64: Binary = Binary {
    p: 53,
    emin: -1022,
    emax: 1023,
};
/// IEEE binary32.
pub(crate) const F32: Binary = Binary {
    p: 24,
    emin: -126,
    emax: 127,
};
/// IEEE binary16.
pub(crate) const F16: Binary = Binary {
    p: 11,
    emin: -14,
    emax: 15,
};
/// bfloat16.
pub(crate) const BF16: Binary = Binary {
    p: 8,
    emin: -126,
    emax: 127,
};

/// How to round the magnitude (the sign is applied after): the signed directions map to
/// these by the sign (downward is toward zero for a positive value, away for a negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Magnitude {
    TowardZero,
    AwayFromZero,
    NearestEven,
}

/// Decimal digit counts beyond which a decimal is outside every format's range: `10^399`
/// exceeds every format's largest value (`< 2^1024 < 10^309`), and `10^-399` is below half
/// of every format's least subnormal (`2^-1075 > 10^-324`).
const FAR: i64 = 399;

/// `m · 2^q` as an `f64`, exactly (`m ≤ 2^53`, and the value is zero or an `f64` value:
/// `q ≥ −1074` and `m·2^q < 2^1024`).
fn assemble(m: u64, q: i64) -> f64 {
    if m == 0 {
        return 0.0;
    }
    let bits = 64 - i64::from(m.leading_zeros()); // m < 2^bits
    let top = q + bits - 1; // 2^top ≤ m·2^q < 2^(top+1)
    if top >= -1022 {
        // Normal: a 53-bit significand (shifting right drops only zeros: m ≤ 2^53 and
        // m·2^q is an f64 value).
        let sig = if bits <= 53 {
            m << (53 - bits)
        } else {
            m >> (bits - 53)
        };
        let biased = (top + 1023) as u64;
        f64::from_bits((biased << 52) | (sig & ((1u64 << 52) - 1)))
    } else {
        // Subnormal: m·2^q = (m·2^(q+1074))·2^-1074, with q + 1074 ≥ 0.
        f64::from_bits(m << (q + 1074))
    }
}

/// The largest finite value of `fmt`, as an `f64`.
fn max_finite(fmt: Binary) -> f64 {
    assemble((1u64 << fmt.p) - 1, fmt.emax - i64::from(fmt.p) + 1)
}

/// The least positive (subnormal) value of `fmt`, as an `f64`.
fn least(fmt: Binary) -> f64 {
    assemble(1, fmt.emin - i64::from(fmt.p) + 1)
}

/// Where the remainder of `x / 2^q` lies in `[0, 1)` (`q` the quantum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rem {
    Zero,
    BelowHalf,
    Half,
    AboveHalf,
}

/// `x = sig·10^exp10` split at its quantum: `e = ⌊log2 x⌋`, and `m = ⌊x / 2^q⌋` with the
/// remainder's place, for `q = max(e, emin) − p + 1` (so `m < 2^p`). Meaningful for
/// `e ≤ emax` only (the caller checks `e` first).
struct Scaled {
    e: i64,
    m: u64,
    rem: Rem,
}

fn rem_class(r_zero: bool, twice_r: std::cmp::Ordering) -> Rem {
    use std::cmp::Ordering::*;
    match (r_zero, twice_r) {
        (true, _) => Rem::Zero,
        (false, Less) => Rem::BelowHalf,
        (false, Equal) => Rem::Half,
        (false, Greater) => Rem::AboveHalf,
    }
}

/// [`Scaled`] in `u128` arithmetic when every integer fits (the common case: at most 19
/// digits, `10^-38 ≤ 10^exp10 ≤ 1`), else `None`. The same computation as [`scaled`].
fn scaled_small(sig: &BigUint, exp10: i64, fmt: Binary) -> Option<Scaled> {
    let sig = u64::try_from(sig).ok()?;
    if !(-38..=0).contains(&exp10) {
        return None;
    }
    let (num, den) = (u128::from(sig), 10u128.pow(exp10.unsigned_abs() as u32));
    let bits = |v: u128| 128 - i64::from(v.leading_zeros());
    let e0 = bits(num) - bits(den);
    // x ≥ 2^k, for |k| < 128 with the shifted side fitting.
    let ge = |k: i64| -> Option<bool> {
        if k >= 0 {
            (bits(den) + k <= 127).then(|| num >= den << k)
        } else {
            (bits(num) - k <= 127).then(|| num << -k >= den)
        }
    };
    let e = if ge(e0)? { e0 } else { e0 - 1 };
    if e > fmt.emax {
        return Some(Scaled {
            e,
            m: 0,
            rem: Rem::Zero,
        });
    }
    let q = e.max(fmt.emin) - i64::from(fmt.p) + 1;
    let (n, d) = if q <= 0 {
        (bits(num) - q <= 127).then(|| (num << -q, den))?
    } else {
        (bits(den) + q <= 127).then(|| (num, den << q))?
    };
    let (m, r) = (n / d, n % d);
    // 2r vs d without overflow: r vs d − r.
    Some(Scaled {
        e,
        m: u64::try_from(m).ok()?,
        rem: rem_class(r == 0, r.cmp(&(d - r))),
    })
}

/// [`Scaled`] in big integers (`|exp10| < FAR + digits`).
fn scaled(sig: &BigUint, exp10: i64, fmt: Binary) -> Scaled {
    let ten = BigUint::from(10u32);
    let (num, den) = if exp10 >= 0 {
        (sig * num_traits::pow(ten, exp10 as usize), BigUint::one())
    } else {
        (
            sig.clone(),
            num_traits::pow(ten, exp10.unsigned_abs() as usize),
        )
    };
    // e = ⌊log2 x⌋: x ∈ (2^(e0−1), 2^(e0+1)) for e0 = bits(num) − bits(den).
    let e0 = num.bits() as i64 - den.bits() as i64;
    let ge = |k: i64| -> bool {
        // x ≥ 2^k
        if k >= 0 {
            num >= (&den << k as usize)
        } else {
            (&num << (-k) as usize) >= den
        }
    };
    let e = if ge(e0) { e0 } else { e0 - 1 };
    if e > fmt.emax {
        return Scaled {
            e,
            m: 0,
            rem: Rem::Zero,
        };
    }
    // The quantum at x's binade (subnormal range: the least one).
    let q = e.max(fmt.emin) - i64::from(fmt.p) + 1;
    let (n, d) = if q <= 0 {
        (num << (-q) as usize, den)
    } else {
        (num, den << q as usize)
    };
    let (m, r) = n.div_rem(&d); // m < 2^p
    let twice: BigUint = &r << 1usize;
    Scaled {
        e,
        m: u64::try_from(&m).unwrap_or(u64::MAX),
        rem: rem_class(r.is_zero(), twice.cmp(&d)),
    }
}

/// The magnitude `sig·10^exp10` (`sig` with `digits` decimal digits, `10^(digits−1) ≤ sig`)
/// rounded to `fmt` as `mode` says: `(value, exact)`, the value `+∞` when it overflows.
pub(crate) fn round_magnitude(
    sig: &BigUint,
    digits: i64,
    exp10: i64,
    fmt: Binary,
    mode: Magnitude,
) -> (f64, bool) {
    if sig.is_zero() {
        return (0.0, true);
    }
    let overflow = || match mode {
        Magnitude::TowardZero => (max_finite(fmt), false),
        _ => (f64::INFINITY, false),
    };
    // 10^(exp10 + digits − 1) ≤ x < 10^(exp10 + digits).
    if exp10.saturating_add(digits - 1) >= FAR {
        return overflow();
    }
    if exp10.saturating_add(digits) <= -FAR {
        return match mode {
            Magnitude::AwayFromZero => (least(fmt), false),
            _ => (0.0, false),
        };
    }
    let Scaled { e, m, rem } =
        scaled_small(sig, exp10, fmt).unwrap_or_else(|| scaled(sig, exp10, fmt));
    if e > fmt.emax {
        return overflow();
    }
    let q = e.max(fmt.emin) - i64::from(fmt.p) + 1;
    let exact = rem == Rem::Zero;
    let up = match mode {
        Magnitude::TowardZero => false,
        Magnitude::AwayFromZero => !exact,
        Magnitude::NearestEven => rem == Rem::AboveHalf || (rem == Rem::Half && m % 2 == 1),
    };
    let m = m + u64::from(up);
    if m >> fmt.p != 0 && q + i64::from(fmt.p) > fmt.emax {
        // Rounded up past the largest finite value.
        return (f64::INFINITY, false);
    }
    (assemble(m, q), exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(sig: u64, exp10: i64, fmt: Binary, mode: Magnitude) -> (f64, bool) {
        let digits = sig.to_string().len() as i64;
        round_magnitude(&BigUint::from(sig), digits, exp10, fmt, mode)
    }

    #[test]
    fn assemble_is_exact_at_the_edges() {
        assert_eq!(assemble(1, -1074), f64::from_bits(1));
        assert_eq!(assemble(1 << 52, -1074), f64::MIN_POSITIVE);
        assert_eq!(assemble((1 << 53) - 1, 971), f64::MAX);
        assert_eq!(assemble(1 << 53, -53), 1.0);
        assert_eq!(max_finite(F32), f32::MAX as f64);
        assert_eq!(max_finite(F16), 65504.0);
        assert_eq!(least(F32), f32::from_bits(1) as f64);
        assert_eq!(least(BF16), f32::from_bits(1 << 16) as f64);
    }

    #[test]
    fn u128_and_big_integer_paths_agree() {
        // Every case the u128 path takes must give the big-integer path's answer.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut taken = 0;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let sig = BigUint::from(x >> (i % 64));
            let exp10 = -((x % 41) as i64);
            for fmt in [F16, BF16, F32, F64] {
                if let Some(a) = scaled_small(&sig, exp10, fmt) {
                    taken += 1;
                    let b = scaled(&sig, exp10, fmt);
                    assert_eq!((a.e, a.rem), (b.e, b.rem), "{sig}e{exp10}");
                    if a.e <= fmt.emax {
                        assert_eq!(a.m, b.m, "{sig}e{exp10}");
                    }
                }
            }
        }
        assert!(taken > 40_000, "the u128 path was taken {taken} times");
    }

    #[test]
    fn ties_go_to_even_and_directions_bracket() {
        use Magnitude::*;
        // 0.5 in f16 is exact; 1 + 2^-11 (= 1.00048828125) is the f16 tie between 1 and
        // 1 + 2^-10: even is 1.
        assert_eq!(r(5, -1, F16, NearestEven), (0.5, true));
        assert_eq!(r(100048828125, -11, F16, NearestEven), (1.0, false));
        assert_eq!(
            r(100048828125, -11, F16, AwayFromZero).0,
            1.0 + 1.0 / 1024.0
        );
        assert_eq!(r(100048828125, -11, F16, TowardZero).0, 1.0);
        // 0.1 in f64 and f32.
        assert_eq!(r(1, -1, F64, NearestEven).0, 0.1);
        assert_eq!(r(1, -1, F32, NearestEven).0, 0.1f32 as f64);
        assert!(r(1, -1, F64, TowardZero).0 < 0.1 || r(1, -1, F64, AwayFromZero).0 > 0.1);
        // Overflow: 65520 is f16's rounding threshold (a tie, even is ∞).
        assert_eq!(r(65520, 0, F16, NearestEven).0, f64::INFINITY);
        assert_eq!(r(65519, 0, F16, NearestEven).0, 65504.0);
        assert_eq!(r(65519, 0, F16, AwayFromZero).0, f64::INFINITY);
        assert_eq!(r(1, 400, F64, TowardZero).0, f64::MAX);
        // Far below every format: zero, or the least subnormal away from zero.
        assert_eq!(r(1, -400, F64, NearestEven), (0.0, false));
        assert_eq!(r(1, -400, F64, AwayFromZero).0, f64::from_bits(1));
        // Half the least f64 subnormal is a tie to 0; above it rounds to the subnormal.
        // 2^-1075 = 5^1075 · 10^-1075.
        let half_least = num_traits::pow(BigUint::from(5u32), 1075).to_string();
        let sig: BigUint = half_least.parse().unwrap();
        let digits = half_least.len() as i64;
        let exp10 = -1075;
        assert_eq!(
            round_magnitude(&sig, digits, exp10, F64, NearestEven),
            (0.0, false)
        );
        let above = sig + 1u32;
        assert_eq!(
            round_magnitude(&above, digits, exp10, F64, NearestEven),
            (f64::from_bits(1), false)
        );
    }
}
