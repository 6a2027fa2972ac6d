//! The reference oracle of the tests and fuzz targets (not part of the public API: it is
//! compiled into the library only with the `fuzzing` feature, and included by path into
//! the integration tests).
//!
//! It is deliberately *not* the library's formulation: it decides `y` against
//! `β + γ(x−μ)/√q` by enclosing `√q` between consecutive integer square roots at
//! increasing precision (exact when `√q` is rational), with rationals that are never
//! normalized, instead of squaring as `bnbound::exact` does. Both agree
//! (tests/props/exact_agrees.rs); neither uses floating point.
#![allow(dead_code, missing_docs, clippy::needless_range_loop)]

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{Signed, Zero};
use std::cmp::Ordering;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// An exact rational `n/d` (`d > 0`), deliberately *not* normalized: no gcd is ever
/// computed (normalizing dominated the oracle's run time), comparisons cross-multiply.
#[derive(Clone, Debug)]
pub struct Q {
    n: BigInt,
    d: BigInt,
}

pub type BigRational = Q;

impl Q {
    pub fn from_integer(n: BigInt) -> Q {
        Q {
            n,
            d: BigInt::from(1),
        }
    }
    pub fn zero() -> Q {
        Q::from_integer(BigInt::zero())
    }
    pub fn is_zero(&self) -> bool {
        self.n.is_zero()
    }
    pub fn is_positive(&self) -> bool {
        self.n.is_positive()
    }
    pub fn numer(&self) -> &BigInt {
        &self.n
    }
    pub fn denom(&self) -> &BigInt {
        &self.d
    }
}

impl PartialEq for Q {
    fn eq(&self, o: &Q) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Q {}
impl PartialOrd for Q {
    fn partial_cmp(&self, o: &Q) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Q {
    fn cmp(&self, o: &Q) -> Ordering {
        (&self.n * &o.d).cmp(&(&o.n * &self.d))
    }
}
impl std::fmt::Display for Q {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.n, self.d)
    }
}

macro_rules! q_ops {
    ($($l:ty, $r:ty);*) => {$(
        impl Add<$r> for $l {
            type Output = Q;
            fn add(self, o: $r) -> Q {
                let (a, b, d) = common_denominator(&self, &o);
                Q { n: a + b, d }
            }
        }
        impl Sub<$r> for $l {
            type Output = Q;
            fn sub(self, o: $r) -> Q {
                let (a, b, d) = common_denominator(&self, &o);
                Q { n: a - b, d }
            }
        }
        impl Mul<$r> for $l {
            type Output = Q;
            fn mul(self, o: $r) -> Q {
                Q { n: &self.n * &o.n, d: &self.d * &o.d }
            }
        }
        impl Div<$r> for $l {
            type Output = Q;
            fn div(self, o: $r) -> Q {
                assert!(!o.n.is_zero(), "division by zero");
                let (n, d) = (&self.n * &o.d, &self.d * &o.n);
                if d.sign() == Sign::Minus { Q { n: -n, d: -d } } else { Q { n, d } }
            }
        }
    )*};
}
q_ops!(Q, Q; &Q, Q; Q, &Q; &Q, &Q);

/// `Some(e)` when `d = 2^e`.
fn log2_exact(d: &BigInt) -> Option<u64> {
    let t = d.trailing_zeros()?;
    (d.bits() == t + 1).then_some(t)
}

/// Both numerators over one denominator; powers of two are aligned by shifting (so sums of
/// dyadic values do not grow their denominators multiplicatively).
fn common_denominator(x: &Q, y: &Q) -> (BigInt, BigInt, BigInt) {
    if x.d == y.d {
        return (x.n.clone(), y.n.clone(), x.d.clone());
    }
    if let (Some(a), Some(b)) = (log2_exact(&x.d), log2_exact(&y.d)) {
        return if a >= b {
            (x.n.clone(), &y.n << (a - b) as usize, x.d.clone())
        } else {
            (&x.n << (b - a) as usize, y.n.clone(), y.d.clone())
        };
    }
    (&x.n * &y.d, &y.n * &x.d, &x.d * &y.d)
}

/// Rounds `x` down (`up = false`) or up onto the grid of multiples of `2^-p`.
fn to_grid(x: &Q, p: usize, up: bool) -> Q {
    use num_integer::Integer;
    let scaled = &x.n << p;
    let (q, r) = scaled.div_mod_floor(&x.d);
    let q = if up && !r.is_zero() { q + 1 } else { q };
    Q {
        n: q,
        d: BigInt::from(1) << p,
    }
}

impl Neg for Q {
    type Output = Q;
    fn neg(self) -> Q {
        Q {
            n: -self.n,
            d: self.d,
        }
    }
}

/// The exact value of a finite float.
pub fn rat(x: f64) -> Q {
    assert!(x.is_finite());
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), exp - 1075)
    };
    let m = if x < 0.0 {
        -BigInt::from(m)
    } else {
        BigInt::from(m)
    };
    if e >= 0 {
        Q::from_integer(m << e as usize)
    } else {
        Q {
            n: m,
            d: BigInt::from(1) << (-e) as usize,
        }
    }
}

/// Channel parameters as exact f64 values.
#[derive(Clone, Copy, Debug)]
pub struct Ch {
    pub g: f64,
    pub b: f64,
    pub m: f64,
    pub v: f64,
    pub e: f64,
}

/// Rational bounds `lo ≤ u/√q ≤ hi` (q > 0) from integer square roots at `k` extra bits;
/// `exact` when `√q` is rational (then `lo = hi = u/√q`).
pub fn enclose_ratio_sqrt(
    u: &BigRational,
    q: &BigRational,
    k: usize,
) -> (BigRational, BigRational, bool) {
    if u.is_zero() {
        return (BigRational::zero(), BigRational::zero(), true);
    }
    // √q = √(n·d)/d with n·d a positive integer.
    let nd: BigUint = (q.numer() * q.denom()).to_biguint().expect("q > 0");
    debug_assert!(q.denom().is_positive());
    let scaled = &nd << (2 * k);
    let r = scaled.sqrt();
    let den = BigRational::from_integer(q.denom() << k);
    let r_lo = BigRational::from_integer(BigInt::from(r.clone())) / &den;
    if &r * &r == scaled {
        let v = u / r_lo;
        return (v.clone(), v, true);
    }
    let r_hi = BigRational::from_integer(BigInt::from(r + 1u32)) / &den;
    // √q ∈ (r_lo, r_hi), so u/√q lies strictly between u/r_hi and u/r_lo.
    if u.is_positive() {
        (u / &r_hi, u / &r_lo, false)
    } else {
        (u / &r_lo, u / &r_hi, false)
    }
}

/// The ordering of `t` against `u/√q` (q > 0), by integer-square-root refinement.
pub fn cmp_ratio_sqrt(t: &BigRational, u: &BigRational, q: &BigRational) -> Ordering {
    let mut k = 64usize;
    loop {
        let (a, b, exact) = enclose_ratio_sqrt(u, q, k);
        if exact {
            return t.cmp(&a);
        }
        if *t <= a {
            return Ordering::Less;
        }
        if *t >= b {
            return Ordering::Greater;
        }
        k *= 2;
    }
}

/// A closed interval of rationals.
#[derive(Clone, Debug)]
pub struct RI {
    pub lo: BigRational,
    pub hi: BigRational,
}

impl RI {
    pub fn point(x: BigRational) -> RI {
        RI {
            lo: x.clone(),
            hi: x,
        }
    }
    pub fn add(&self, o: &RI) -> RI {
        RI {
            lo: &self.lo + &o.lo,
            hi: &self.hi + &o.hi,
        }
    }
    pub fn scale(&self, c: &Q) -> RI {
        let (a, b) = (&self.lo * c, &self.hi * c);
        if a <= b {
            RI { lo: a, hi: b }
        } else {
            RI { lo: b, hi: a }
        }
    }
    pub fn min(&self, o: &RI) -> RI {
        RI {
            lo: self.lo.clone().min(o.lo.clone()),
            hi: self.hi.clone().min(o.hi.clone()),
        }
    }
    pub fn max(&self, o: &RI) -> RI {
        RI {
            lo: self.lo.clone().max(o.lo.clone()),
            hi: self.hi.clone().max(o.hi.clone()),
        }
    }
}

/// An enclosure `(lo, hi, exact)` as an interval, rounded outward onto the grid `2^-(k+1100)`
/// unless exact (the grid is fine enough for subnormal magnitudes).
fn grid((lo, hi, exact): (Q, Q, bool), k: usize) -> RI {
    if exact {
        RI { lo, hi }
    } else {
        RI {
            lo: to_grid(&lo, k + 1100, false),
            hi: to_grid(&hi, k + 1100, true),
        }
    }
}

impl Ch {
    fn q(&self) -> BigRational {
        rat(self.v) + rat(self.e)
    }
    /// The exact scale `γ/√q` enclosed at precision `k` (on a power-of-two grid unless
    /// exact, so that sums of many enclosures stay small).
    pub fn scale_at(&self, k: usize) -> RI {
        grid(enclose_ratio_sqrt(&rat(self.g), &self.q(), k), k)
    }
    /// The exact offset `β − γμ/√q` enclosed at precision `k`.
    pub fn offset_at(&self, k: usize) -> RI {
        let u = -(rat(self.g) * rat(self.m));
        grid(enclose_ratio_sqrt(&u, &self.q(), k), k).add(&RI::point(rat(self.b)))
    }
    /// The same channel with β = μ = 0: its output is `s·x`.
    pub fn scale_only(&self) -> Ch {
        Ch {
            b: 0.0,
            m: 0.0,
            ..*self
        }
    }
}

/// Per-channel enclosures of `s` and `o` at each precision, computed once per case.
pub struct Memo<'a> {
    chs: &'a [Ch],
    cache: std::cell::RefCell<std::collections::HashMap<(usize, usize), (RI, RI)>>,
    signs: std::cell::RefCell<std::collections::HashMap<usize, Ordering>>,
}

impl<'a> Memo<'a> {
    pub fn new(chs: &'a [Ch]) -> Self {
        Memo {
            chs,
            cache: Default::default(),
            signs: Default::default(),
        }
    }
    /// (scale, offset) of channel `j` enclosed at precision `k`.
    pub fn at(&self, j: usize, k: usize) -> (RI, RI) {
        self.cache
            .borrow_mut()
            .entry((j, k))
            .or_insert_with(|| (self.chs[j].scale_at(k), self.chs[j].offset_at(k)))
            .clone()
    }
    /// The exact sign of channel `j`'s offset.
    pub fn offset_sign(&self, j: usize) -> Ordering {
        if let Some(&s) = self.signs.borrow().get(&j) {
            return s;
        }
        let s = sign_of(|k| self.at(j, k).1);
        self.signs.borrow_mut().insert(j, s);
        s
    }
}

/// Decides the sign of a real given by enclosures `f(k)` that shrink to it as `k` grows
/// (exact when they collapse to a point). Panics if undecided at 16384 bits, which only a
/// value equal to 0 with irrational parts could cause.
pub fn sign_of(f: impl Fn(usize) -> RI) -> Ordering {
    let zero = BigRational::zero();
    let mut k = 64;
    loop {
        let r = f(k);
        if r.lo > zero {
            return Ordering::Greater;
        }
        if r.hi < zero {
            return Ordering::Less;
        }
        if r.lo == r.hi {
            return Ordering::Equal;
        }
        assert!(
            k < 16384,
            "undecided sign at {k} bits: [{:e}, {:e}] (approximately)",
            approx(&r.lo),
            approx(&r.hi)
        );
        k *= 2;
    }
}

/// `x` rounded to an f64 somewhere near (for messages only: never a decision).
fn approx(x: &Q) -> f64 {
    use num_traits::ToPrimitive;
    // Each of n, d to about 60 significant bits, times the power of two taken off.
    let top = |v: &BigInt| {
        let e = v.bits() as i64 - 60;
        let m = if e > 0 {
            v >> e as usize
        } else {
            v << (-e) as usize
        };
        (m.to_f64().unwrap_or(f64::NAN), e)
    };
    let ((n, en), (d, ed)) = (top(&x.n), top(&x.d));
    n / d * 2f64.powi((en - ed).clamp(-2000, 2000) as i32)
}

/// The ordering of `y` against the exact `β + γ(x−μ)/√(σ²+ε)` (finite `x`, `y`).
pub fn cmp_output(ch: Ch, x: f64, y: f64) -> Ordering {
    let q = rat(ch.v) + rat(ch.e);
    let u = rat(ch.g) * (rat(x) - rat(ch.m));
    cmp_ratio_sqrt(&(rat(y) - rat(ch.b)), &u, &q)
}

/// The ordering of `y` against the exact scale `γ/√(σ²+ε)`.
pub fn cmp_scale(ch: Ch, y: f64) -> Ordering {
    let q = rat(ch.v) + rat(ch.e);
    cmp_ratio_sqrt(&rat(y), &rat(ch.g), &q)
}

/// Checks that `[yl, yh]` (f64 images of the output endpoints) is a valid box that
/// contains the exact image of `[l, h]` under channel `ch`. Returns a description of the
/// first failure.
pub fn check_element(ch: Ch, l: f64, h: f64, yl: f64, yh: f64) -> Result<(), String> {
    if yl.is_nan() || yh.is_nan() || yl > yh {
        return Err(format!("invalid output [{yl}, {yh}]"));
    }
    let sound_lo = |x: f64| {
        yl == f64::NEG_INFINITY || (yl.is_finite() && cmp_output(ch, x, yl) != Ordering::Greater)
    };
    let sound_hi =
        |x: f64| yh == f64::INFINITY || (yh.is_finite() && cmp_output(ch, x, yh) != Ordering::Less);
    if ch.g == 0.0 {
        // The image is {β} whatever the box, bounded or not.
        return if sound_lo(0.0) && sound_hi(0.0) {
            Ok(())
        } else {
            Err(format!("[{yl}, {yh}] misses beta = {}", ch.b))
        };
    }
    for x in [l, h] {
        if x.is_finite() {
            if !sound_lo(x) {
                return Err(format!("lo {yl} above the exact image of x = {x}"));
            }
            if !sound_hi(x) {
                return Err(format!("hi {yh} below the exact image of x = {x}"));
            }
        } else {
            // s·x is infinite with the sign of γ·x.
            let plus = (ch.g > 0.0) == (x > 0.0);
            if plus && yh != f64::INFINITY {
                return Err(format!("image unbounded above (x = {x}) but hi = {yh}"));
            }
            if !plus && yl != f64::NEG_INFINITY {
                return Err(format!("image unbounded below (x = {x}) but lo = {yl}"));
            }
        }
    }
    Ok(())
}

mod sums;
pub use sums::*;

#[cfg(test)]
mod approx_tests {
    use super::*;
    #[test]
    fn approx_is_near() {
        for x in [1.5, -3.0e-300, 7.0e300, 0.1] {
            let y = approx(&rat(x));
            assert!((y - x).abs() <= x.abs() * 1e-12, "{x} -> {y}");
        }
        assert_eq!(approx(&Q::zero()), 0.0);
    }
}
