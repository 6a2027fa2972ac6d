//! Exact dyadic rationals and the decisions on them: the ordering of a float against
//! `A + B/√q` (BatchNorm's output, scale and offset of exact `f64` parameters), decided by
//! comparing the integers `(c−A)²·q` and `B²` after a sign analysis, and the tightest `f64`
//! enclosures found by binary search on those decisions.

#[cfg(feature = "mpfr")]
use crate::error::Side;
use num_bigint::BigInt;
use std::cmp::Ordering;

/// An exact dyadic rational `m · 2^e`.
#[derive(Clone, Debug)]
pub(super) struct Dyadic {
    pub(super) m: BigInt,
    pub(super) e: i64,
}

impl Dyadic {
    /// The exact value of a finite `f64`.
    pub(super) fn from_f64(x: f64) -> Dyadic {
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
    pub(super) fn aligned(&self, other: &Dyadic) -> (BigInt, BigInt, i64) {
        let e = self.e.min(other.e);
        (
            &self.m << (self.e - e) as usize,
            &other.m << (other.e - e) as usize,
            e,
        )
    }

    pub(super) fn sub(&self, other: &Dyadic) -> Dyadic {
        let (a, b, e) = self.aligned(other);
        Dyadic { m: a - b, e }
    }

    pub(super) fn add(&self, other: &Dyadic) -> Dyadic {
        let (a, b, e) = self.aligned(other);
        Dyadic { m: a + b, e }
    }

    pub(super) fn mul(&self, other: &Dyadic) -> Dyadic {
        Dyadic {
            m: &self.m * &other.m,
            e: self.e + other.e,
        }
    }

    pub(super) fn cmp(&self, other: &Dyadic) -> Ordering {
        let (a, b, _) = self.aligned(other);
        a.cmp(&b)
    }

    pub(super) fn neg(&self) -> Dyadic {
        Dyadic {
            m: -&self.m,
            e: self.e,
        }
    }

    pub(super) fn signum(&self) -> Ordering {
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
pub(super) fn exact_params(p: crate::num::params::Params) -> [Dyadic; 4] {
    let [g, b, m, v, e] = p.array().map(Dyadic::from_f64);
    [g, b, m, v.add(&e)]
}

/// Ordering of finite `y` against `β + γ(x−μ)/√(σ²+ε)` for exact `f64` parameters `p` and
/// finite `x`.
pub(crate) fn cmp_affine_params(p: crate::num::params::Params, x: f64, y: f64) -> Ordering {
    let [g, b, m, q] = exact_params(p);
    let numer = g.mul(&Dyadic::from_f64(x).sub(&m));
    cmp_affine_sqrt(&Dyadic::from_f64(y), &b, &numer, &q)
}

/// Ordering of finite `y` against the exact scale of the channel with parameters `p`.
pub(crate) fn cmp_scale_params(p: crate::num::params::Params, y: f64) -> Ordering {
    let [g, _, _, q] = exact_params(p);
    cmp_affine_sqrt(&Dyadic::from_f64(y), &Dyadic::from_f64(0.0), &g, &q)
}

/// Ordering of finite `y` against the exact offset of the channel with parameters `p`.
pub(crate) fn cmp_offset_params(p: crate::num::params::Params, y: f64) -> Ordering {
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
    use crate::num::float::{from_ordinal_f64, ordinal, Dtype};
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

#[cfg(test)]
mod tests {
    use super::*;
    use num_traits::Signed;

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
