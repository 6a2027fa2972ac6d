//! Exact decisions in rational arithmetic — no floating point is involved in any answer.
//!
//! Every value bnbound handles is a float, i.e. a dyadic rational `m·2ᵉ`. BatchNorm's
//! output, scale and offset all have the form `A + B/√q` with dyadic `A`, `B` and `q > 0`;
//! comparing a dyadic `c` with it reduces, after a sign analysis, to comparing the
//! integers `(c−A)²·q` and `B²` (big integers from `num-bigint`, pure Rust).

mod decimal;
mod sum;

pub(crate) use decimal::{distance, float_distance, Ratio};
pub use decimal::{Decimal, Excess, Format, Rounding, MAX_NUMBER_LEN};
pub(crate) use sum::BiasSum;

use crate::{BatchNorm, Float, Side};
use num_bigint::BigInt;
use std::cmp::Ordering;

/// An exact dyadic rational `m · 2^e`.
#[derive(Clone, Debug)]
pub(super) struct Dyadic {
    m: BigInt,
    e: i64,
}

impl Dyadic {
    /// The exact value of a finite `f64`.
    fn from_f64(x: f64) -> Dyadic {
        debug_assert!(x.is_finite());
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i64;
        let frac = (bits & ((1u64 << 52) - 1)) as i64;
        let (mant, e) = if exp == 0 {
            (frac, -1074)
        } else {
            (frac | (1i64 << 52), exp - 1075)
        };
        let m = BigInt::from(if x < 0.0 { -mant } else { mant });
        Dyadic { m, e }
    }

    /// Both mantissas over the common exponent `min(e₁, e₂)`.
    fn aligned(&self, other: &Dyadic) -> (BigInt, BigInt, i64) {
        let e = self.e.min(other.e);
        (
            &self.m << (self.e - e) as usize,
            &other.m << (other.e - e) as usize,
            e,
        )
    }

    fn sub(&self, other: &Dyadic) -> Dyadic {
        let (a, b, e) = self.aligned(other);
        Dyadic { m: a - b, e }
    }

    fn add(&self, other: &Dyadic) -> Dyadic {
        let (a, b, e) = self.aligned(other);
        Dyadic { m: a + b, e }
    }

    fn mul(&self, other: &Dyadic) -> Dyadic {
        Dyadic {
            m: &self.m * &other.m,
            e: self.e + other.e,
        }
    }

    fn cmp(&self, other: &Dyadic) -> Ordering {
        let (a, b, _) = self.aligned(other);
        a.cmp(&b)
    }

    fn neg(&self) -> Dyadic {
        Dyadic {
            m: -&self.m,
            e: self.e,
        }
    }

    fn signum(&self) -> Ordering {
        self.m.sign().cmp(&num_bigint::Sign::NoSign)
    }
}

/// The ordering of `c` against `A + B/√q` (`q > 0`), decided exactly.
fn cmp_affine_sqrt(c: &Dyadic, a: &Dyadic, b: &Dyadic, q: &Dyadic) -> Ordering {
    use Ordering::*;
    let d = c.sub(a); // compare d with B/√q
    match (d.signum(), b.signum()) {
        (ds, Equal) => ds,
        (Less | Equal, Greater) => Less,
        (Greater | Equal, Less) => Greater,
        (Greater, Greater) => d.mul(&d).mul(q).cmp(&b.mul(b)),
        (Less, Less) => b.mul(b).cmp(&d.mul(&d).mul(q)),
    }
}

/// The exact `(γ, β, μ, σ²+ε)` of a channel given as exact `f64` `(γ, β, μ, σ², ε)`.
fn exact_params(p: [f64; 5]) -> [Dyadic; 4] {
    let [g, b, m, v, e] = p.map(Dyadic::from_f64);
    [g, b, m, v.add(&e)]
}

/// The exact `(γ, β, μ, σ²+ε)` of a channel.
fn channel<T: Float>(bn: &BatchNorm<T>, c: usize) -> [Dyadic; 4] {
    exact_params(bn.channel_f64(c))
}

/// Ordering of finite `y` against `β + γ(x−μ)/√(σ²+ε)` for exact `f64` parameters `p` and
/// finite `x`.
pub(crate) fn cmp_affine_params(p: [f64; 5], x: f64, y: f64) -> Ordering {
    let [g, b, m, q] = exact_params(p);
    let numer = g.mul(&Dyadic::from_f64(x).sub(&m));
    cmp_affine_sqrt(&Dyadic::from_f64(y), &b, &numer, &q)
}

/// Ordering of finite `y` against the exact scale of the channel with parameters `p`.
pub(crate) fn cmp_scale_params(p: [f64; 5], y: f64) -> Ordering {
    let [g, _, _, q] = exact_params(p);
    cmp_affine_sqrt(&Dyadic::from_f64(y), &Dyadic::from_f64(0.0), &g, &q)
}

/// Ordering of finite `y` against the exact offset of the channel with parameters `p`.
pub(crate) fn cmp_offset_params(p: [f64; 5], y: f64) -> Ordering {
    let [g, b, m, q] = exact_params(p);
    let numer = g.mul(&m);
    // o = β − γμ/√q = β + (−γμ)/√q
    let neg = Dyadic {
        m: -numer.m,
        e: numer.e,
    };
    cmp_affine_sqrt(&Dyadic::from_f64(y), &b, &neg, &q)
}

/// Shrinks a sound enclosure `[lo, hi]` of a real `r` to the tightest one in `f64`:
/// `lo` becomes the largest float `≤ r`, `hi` the smallest `≥ r`. `cmp(y)` must be the
/// exact ordering of `y` against `r`. Infinite endpoints are kept as they are (the
/// enclosure is then already as tight as the finite side allows or needs no work).
/// Every step is decided exactly, so the result is sound whatever the input width.
pub(crate) fn tighten(lo: f64, hi: f64, cmp: impl Fn(f64) -> Ordering) -> (f64, f64) {
    use crate::num::float::{from_ordinal_f64, ordinal};
    use crate::Dtype;
    use Ordering::*;
    if !lo.is_finite() || !hi.is_finite() || lo == hi {
        return (lo, hi);
    }
    // Invariant: a ≤ r ≤ b. The ordinals span more than i64 when lo ≈ −MAX and hi ≈ MAX,
    // so the search runs in i128.
    let (mut a, mut b) = (
        ordinal(lo, Dtype::F64) as i128,
        ordinal(hi, Dtype::F64) as i128,
    );
    while b - a > 1 {
        let mid = a + (b - a) / 2;
        let y = from_ordinal_f64(mid as i64);
        match cmp(y) {
            Less => a = mid,
            Greater => b = mid,
            Equal => return (y, y),
        }
    }
    let (fa, fb) = (from_ordinal_f64(a as i64), from_ordinal_f64(b as i64));
    if cmp(fa) == Equal {
        (fa, fa)
    } else if cmp(fb) == Equal {
        (fb, fb)
    } else {
        (fa, fb)
    }
}

/// The tightest `f64` bound on one side of a *finite* real `r`, given a sound enclosure
/// `lo ≤ r ≤ hi` (possibly infinite) and the exact ordering `cmp(y)` of `y` against `r`:
/// the largest float `≤ r` (`Side::Lo`; `−∞` when `r < −MAX`) or the smallest `≥ r`.
#[cfg(feature = "mpfr")]
pub(crate) fn tightest(lo: f64, hi: f64, cmp: impl Fn(f64) -> Ordering, side: Side) -> f64 {
    let (a, b) = (lo.max(-f64::MAX), hi.min(f64::MAX));
    let lower = side == Side::Lo;
    if cmp(a) == Ordering::Greater {
        // Only when a = −MAX > r.
        return if lower { f64::NEG_INFINITY } else { a };
    }
    if cmp(b) == Ordering::Less {
        // Only when b = MAX < r.
        return if lower { b } else { f64::INFINITY };
    }
    let (t_lo, t_hi) = tighten(a, b, cmp);
    if lower {
        t_lo
    } else {
        t_hi
    }
}

/// The ordering of `y` against the exact real output `γ_c(x−μ_c)/√(σ²_c+ε) + β_c` of
/// channel `c` at the input `x`: `Less` means `y` is a sound lower bound that is not exact.
/// `None` if `c` is out of range or `x`, `y` are not finite.
///
/// ```
/// use bnbound::{exact, BatchNorm};
/// use std::cmp::Ordering;
/// // f32 cancellation case: s = 1 + 2⁻²³, β = −3, x = 3: exact y = 3·2⁻²³.
/// let bn = BatchNorm::new(vec![1.0f32 + f32::EPSILON], vec![-3.0], vec![0.0], vec![1.0], 0.0)?;
/// let exact_y = 3.0 * f32::EPSILON as f64;
/// assert_eq!(exact::cmp_output(&bn, 0, 3.0, exact_y), Some(Ordering::Equal));
/// // The naive float evaluation fl(fl(3·s) − 3) is above it:
/// let naive = ((3.0f32 * (1.0 + f32::EPSILON)) - 3.0) as f64;
/// assert_eq!(exact::cmp_output(&bn, 0, 3.0, naive), Some(Ordering::Greater));
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn cmp_output<T: Float>(bn: &BatchNorm<T>, c: usize, x: f64, y: f64) -> Option<Ordering> {
    let _env = crate::num::round::env::enter();
    if c >= bn.channels() || !x.is_finite() || !y.is_finite() {
        return None;
    }
    let [g, b, m, q] = channel(bn, c);
    let numer = g.mul(&Dyadic::from_f64(x).sub(&m));
    Some(cmp_affine_sqrt(&Dyadic::from_f64(y), &b, &numer, &q))
}

/// The ordering of `y` against channel `c`'s exact scale `γ_c/√(σ²_c+ε)`; `None` if `c` is
/// out of range or `y` is not finite.
///
/// ```
/// use bnbound::{exact, BatchNorm};
/// use std::cmp::Ordering;
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?;
/// let s = bn.enclose().channel(0).scale();
/// assert_eq!(exact::cmp_scale(&bn, 0, s.lo()), Some(Ordering::Less));
/// assert_eq!(exact::cmp_scale(&bn, 0, s.hi()), Some(Ordering::Greater));
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn cmp_scale<T: Float>(bn: &BatchNorm<T>, c: usize, y: f64) -> Option<Ordering> {
    let _env = crate::num::round::env::enter();
    if c >= bn.channels() || !y.is_finite() {
        return None;
    }
    let [g, _, _, q] = channel(bn, c);
    let zero = Dyadic::from_f64(0.0);
    Some(cmp_affine_sqrt(&Dyadic::from_f64(y), &zero, &g, &q))
}

/// The ordering of `y` against channel `c`'s exact offset `β_c − γ_c μ_c/√(σ²_c+ε)`; `None`
/// if `c` is out of range or `y` is not finite.
///
/// ```
/// use bnbound::{exact, BatchNorm};
/// use std::cmp::Ordering;
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.5], vec![1.0], vec![4.0], 0.0)?; // o = 0
/// assert_eq!(exact::cmp_offset(&bn, 0, 0.0), Some(Ordering::Equal));
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn cmp_offset<T: Float>(bn: &BatchNorm<T>, c: usize, y: f64) -> Option<Ordering> {
    let _env = crate::num::round::env::enter();
    cmp_output(bn, c, 0.0, y)
}

/// How many values of `T` the bound `y` lies on the wrong side of the exact output at `x`
/// (channel `c`): 0 if `y` is a sound bound of that `side` ([`Side::Lo`]: lower bound,
/// [`Side::Hi`]: upper bound), otherwise the number of steps through consecutive values of `T` needed to make it
/// sound. Found by exponential and binary search, every probe decided exactly. `None` for
/// out-of-range `c` or non-finite `x`, `y`.
///
/// ```
/// use bnbound::{exact, BatchNorm, Side};
/// let bn = BatchNorm::new(vec![1.0f32 + f32::EPSILON], vec![-3.0], vec![0.0], vec![1.0], 0.0)?;
/// // Naive f32: fl(fl(3·s) − 3) = 2⁻²¹, exact 3·2⁻²³. Near 2⁻²¹ the f32 spacing is 2⁻⁴⁵,
/// // so the naive lower bound is 2²² steps above the exact value.
/// let naive = (3.0f32 * (1.0 + f32::EPSILON)) - 3.0;
/// assert_eq!(naive, 2f32.powi(-21));
/// assert_eq!(exact::violation_steps(&bn, 0, 3.0, naive, Side::Lo), Some(1 << 22));
/// assert_eq!(exact::violation_steps(&bn, 0, 3.0, naive, Side::Hi), Some(0));
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn violation_steps<T: Float>(
    bn: &BatchNorm<T>,
    c: usize,
    x: f64,
    y: T,
    side: Side,
) -> Option<u64> {
    let _env = crate::num::round::env::enter();
    use crate::num::float::{from_ordinal, ordinal};
    let side_is_lower = side == Side::Lo;
    let bad = if side_is_lower {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    let dir: i64 = if side_is_lower { -1 } else { 1 };
    let k0 = ordinal(y.to_f64_raw(), T::DTYPE);
    let limit = ordinal(T::max_value().to_f64_raw(), T::DTYPE);
    // `is_bad(n)`: is the value n steps outward from y still on the wrong side?
    let is_bad = |n: i64| -> Option<bool> {
        let k = (k0 + dir * n).clamp(-limit, limit);
        let v: T = from_ordinal(k);
        Some(cmp_output(bn, c, x, v.to_f64_raw())? == bad)
    };
    if !is_bad(0)? {
        return Some(0);
    }
    // Exponential search for a sound n, then binary search for the first one.
    let (mut good, mut badn) = (1i64, 0i64);
    while is_bad(good)? {
        badn = good;
        good = good.saturating_mul(2).min(2 * limit);
    }
    while good - badn > 1 {
        let mid = badn + (good - badn) / 2;
        if is_bad(mid)? {
            badn = mid;
        } else {
            good = mid;
        }
    }
    Some(good as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_traits::Signed;

    #[test]
    fn decimal_distances_are_correctly_rounded() {
        // |0 − (0 + 1/√2)| = 0.70710678118654752440…
        assert_eq!(
            distance([1.0, 0.0, 0.0, 2.0, 0.0], 1.0, 0.0).to_string(),
            "7.0710678118654752e-1"
        );
        // |1 − (0 + 1·(3−0)/√4)| = 0.5 exactly.
        assert_eq!(
            distance([1.0, 0.0, 0.0, 4.0, 0.0], 3.0, 1.0).to_string(),
            "5e-1"
        );
        assert_eq!(
            distance([1.0, 0.0, 0.0, 4.0, 0.0], 3.0, 1.5).to_string(),
            "0"
        );
        // f32 anchor: naive 2^-21 vs exact 3·2^-23: excess 2^-23 = 1.1920928955078125e-7.
        let g = (1.0f32 + f32::EPSILON) as f64;
        assert_eq!(
            distance([g, -3.0, 0.0, 1.0, 0.0], 3.0, 2f64.powi(-21)).to_string(),
            "1.1920928955078125e-7"
        );
        // Tiny: 1e-300 − 0 through s = 1, exact 1e-300 − 2^-1074 distance.
        let d = distance([1.0, 0.0, 0.0, 1.0, 0.0], f64::from_bits(1), 1e-300).to_string();
        assert!(
            d.starts_with("1e-300") || d.starts_with("9.9999999999999"),
            "{d}"
        );
    }

    #[test]
    fn tighten_handles_enclosures_spanning_the_whole_range() {
        // r = 1/3: from [−MAX, MAX] down to the two floats around it.
        let third = |y: f64| {
            Dyadic::from_f64(y)
                .mul(&Dyadic::from_f64(3.0))
                .cmp(&Dyadic::from_f64(1.0))
        };
        let (lo, hi) = tighten(-f64::MAX, f64::MAX, third);
        assert_eq!((lo, hi), (1.0f64 / 3.0, (1.0f64 / 3.0).next_up()));
        assert_eq!(
            tighten(-f64::MAX, f64::MAX, |y| y.total_cmp(&0.0)),
            (0.0, 0.0)
        );
    }

    #[test]
    fn dyadic_decomposition_is_exact() {
        for x in [
            1.0,
            -0.1,
            f64::MAX,
            f64::from_bits(1),
            -f64::MIN_POSITIVE,
            0.0,
        ] {
            let d = Dyadic::from_f64(x);
            let back = if d.e >= 0 {
                d.m.clone() << d.e as usize
            } else {
                d.m.clone()
            };
            if d.e >= 0 {
                assert_eq!(back.to_string().parse::<f64>().unwrap(), x);
            }
            assert_eq!(d.cmp(&Dyadic::from_f64(x)), Ordering::Equal);
        }
        assert_eq!(Dyadic::from_f64(0.5).m, BigInt::from(1i64 << 52));
        assert!(Dyadic::from_f64(-1.0).m.is_negative());
    }
}
