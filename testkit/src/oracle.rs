//! The reference oracle of the tests and fuzz targets (not part of the public API: it is
//! compiled into the library only with the `fuzzing` feature, and included by path into
//! the integration tests).
//!
//! It is deliberately *not* the library's formulation: it decides `y` against
//! `β + γ(x−μ)/√q` by enclosing `√q` between consecutive integer square roots at
//! increasing precision (exact when `√q` is rational), with rationals that are never
//! normalized, instead of squaring as `bnbound::exact` does. Both agree
//! (tests/exact_agrees.rs); neither uses floating point.
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
            "undecided sign at {k} bits: [{}, {}]",
            r.lo,
            r.hi
        );
        k *= 2;
    }
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

// ---------------------------------------------------------------- sums over extended reals

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ext {
    NegInf,
    Fin(Q),
    PosInf,
}

pub fn ext(x: f64) -> Ext {
    if x == f64::NEG_INFINITY {
        Ext::NegInf
    } else if x == f64::INFINITY {
        Ext::PosInf
    } else {
        Ext::Fin(rat(x))
    }
}

/// Product of extended reals with 0·∞ = 0 (intervals of reals).
pub fn emul(a: &Ext, b: &Ext) -> Ext {
    let sign = |e: &Ext| match e {
        Ext::NegInf => Ordering::Less,
        Ext::PosInf => Ordering::Greater,
        Ext::Fin(r) => r.cmp(&Q::zero()),
    };
    match (a, b) {
        (Ext::Fin(x), Ext::Fin(y)) => Ext::Fin(x * y),
        _ => match (sign(a), sign(b)) {
            (Ordering::Equal, _) | (_, Ordering::Equal) => Ext::Fin(Q::zero()),
            (sa, sb) if sa == sb => Ext::PosInf,
            _ => Ext::NegInf,
        },
    }
}

pub fn eadd(a: &Ext, b: &Ext) -> Ext {
    match (a, b) {
        (Ext::Fin(x), Ext::Fin(y)) => Ext::Fin(x + y),
        (Ext::NegInf, Ext::PosInf) | (Ext::PosInf, Ext::NegInf) => panic!("∞ − ∞ in an oracle sum"),
        (Ext::NegInf, _) | (_, Ext::NegInf) => Ext::NegInf,
        _ => Ext::PosInf,
    }
}

/// Exact [min, max] of Σ_j A_j·X_j + c over real A_j ∈ [al, ah], X_j ∈ [xl, xh], c ∈ [cl, ch].
pub fn exact_dot(a: &[(f64, f64)], x: &[(f64, f64)], c: (f64, f64)) -> (Ext, Ext) {
    let (mut lo, mut hi) = (ext(c.0), ext(c.1));
    for (&(al, ah), &(xl, xh)) in a.iter().zip(x) {
        let corners = [(al, xl), (al, xh), (ah, xl), (ah, xh)].map(|(p, q)| emul(&ext(p), &ext(q)));
        lo = eadd(&lo, corners.iter().min().unwrap());
        hi = eadd(&hi, corners.iter().max().unwrap());
    }
    (lo, hi)
}

/// Exact check of d' bounds: d'_lo ≤ min_Λ Σ_j Λ_ij·o_j + d_lo (and the max for hi).
pub fn check_bias(memo: &Memo, lam: &[(f64, f64)], d: (f64, f64), got: (f64, f64), what: &str) {
    let identity: Vec<usize> = (0..lam.len()).collect();
    check_bias_grouped(memo, lam, &identity, d, got, what);
}

/// [`check_bias`] where column `j` belongs to channel `channel_of[j]` of `memo` (CNN layout:
/// many columns per channel). Terms of one channel are summed exactly before they meet
/// that channel's offset enclosure, so an exactly cancelling channel (Σ Λ = 0) contributes
/// exactly 0 and the sign of an exact zero gap stays decidable.
pub fn check_bias_grouped(
    memo: &Memo,
    lam: &[(f64, f64)],
    channel_of: &[usize],
    d: (f64, f64),
    got: (f64, f64),
    what: &str,
) {
    assert!(
        !got.0.is_nan() && !got.1.is_nan() && got.0 <= got.1,
        "{what}: invalid"
    );
    for lower in [true, false] {
        let claimed = if lower { got.0 } else { got.1 };
        if claimed.is_infinite() {
            assert!(
                if lower { claimed < 0.0 } else { claimed > 0.0 },
                "{what}: wrong infinity"
            );
            continue;
        }
        // Choose the extreme λ per channel from the exact sign of o_j.
        let mut picks = Vec::new();
        let mut unbounded = false;
        for (&(l, h), &c) in lam.iter().zip(channel_of) {
            let so = memo.offset_sign(c);
            let pick = match (so, lower) {
                (Ordering::Equal, _) => 0.0,
                (Ordering::Greater, true) | (Ordering::Less, false) => l,
                _ => h,
            };
            if pick.is_infinite() {
                unbounded = true;
            }
            picks.push(pick);
        }
        assert!(
            !unbounded,
            "{what}: exact bias is unbounded but the bound is {claimed}"
        );
        let dd = if lower { d.0 } else { d.1 };
        // Σ_j p_j·o_{c(j)} = Σ_c (Σ_{j ∈ c} p_j)·o_c, the inner sums exact.
        let mut per_channel: Vec<(usize, Q)> = Vec::new();
        for (&p, &c) in picks.iter().zip(channel_of) {
            match per_channel.iter_mut().find(|(cc, _)| *cc == c) {
                Some((_, acc)) => *acc = &*acc + &rat(p),
                None => per_channel.push((c, rat(p))),
            }
        }
        let sgn = sign_of(|k| {
            let mut sum = RI::point(rat(dd) - rat(claimed));
            for (c, coef) in &per_channel {
                if !coef.is_zero() {
                    sum = sum.add(&memo.at(*c, k).1.scale(coef));
                }
            }
            sum
        });
        let ok = if lower {
            sgn != Ordering::Less
        } else {
            sgn != Ordering::Greater
        };
        assert!(
            ok,
            "{what}: {} bound {claimed:e} is unsound",
            if lower { "lower" } else { "upper" }
        );
    }
}

/// The sign of the smallest gap between the exact function `Σ_j Λ_j·BN_j(x_j) + d` and a
/// float-coefficient bound `Σ_j coef_j·x_j + cst`, over every `Λ_j ∈ lam[j]` and
/// `x_j ∈ x[j]` (finite intervals): `lower` asks `exact − bound ≥ 0`, otherwise
/// `bound − exact ≥ 0`. The gap is affine in each `(Λ_j, x_j)` separately, so its minimum
/// is attained at the four corners of each pair. `Less` means the bound is crossed.
pub fn float_form_gap(
    memo: &Memo,
    lam: &[(f64, f64)],
    x: &[(f64, f64)],
    coef: &[f64],
    d: f64,
    cst: f64,
    lower: bool,
) -> Ordering {
    let minus_one = -Q::from_integer(BigInt::from(1));
    sign_of(|k| {
        let mut sum = RI::point(if lower {
            rat(d) - rat(cst)
        } else {
            rat(cst) - rat(d)
        });
        for j in 0..lam.len() {
            let (s, o) = memo.at(j, k);
            let c = rat(coef[j]);
            let mut best: Option<RI> = None;
            for l in [lam[j].0, lam[j].1] {
                for xv in [x[j].0, x[j].1] {
                    let (l, xv) = (rat(l), rat(xv));
                    // λ·s·x + λ·o − coef·x, negated for an upper bound
                    let v = s
                        .scale(&(&l * &xv))
                        .add(&o.scale(&l))
                        .add(&RI::point(-(&c * &xv)));
                    let v = if lower { v } else { v.scale(&minus_one) };
                    best = Some(match best {
                        None => v,
                        Some(b) => b.min(&v),
                    });
                }
            }
            sum = sum.add(&best.expect("four corners"));
        }
        sum
    })
}

/// `√x` when the positive rational `x = n/d` is the square of a rational: `x = n·d/d²`,
/// so exactly when the integer `n·d` is a perfect square.
fn rational_sqrt(x: &Q) -> Option<Q> {
    let nd = (x.numer() * x.denom()).to_biguint()?;
    let r = nd.sqrt();
    (&r * &r == nd).then(|| Q {
        n: BigInt::from(r),
        d: x.denom().abs(),
    })
}

/// The exact sign of `dd − y + Σ coef_c·o_c` over `(channel, coef)` pairs, `o_c` the exact
/// offset `β − γμ/√q` of `chs[c]`. Channels whose `q` differ by a rational square factor
/// share one square root (`u/√q = u·√(q₀/q)/√q₀`) and are merged before refinement, so a
/// sum that is exactly zero collapses to a point and is decided too.
pub fn bias_sign(chs: &[Ch], per_channel: &[(usize, Q)], dd: f64, y: f64) -> Ordering {
    let mut r = rat(dd) - rat(y);
    let mut groups: Vec<(Q, Q)> = Vec::new(); // (u, q): the term u/√q
    for (c, coef) in per_channel {
        let ch = chs[*c];
        r = r + coef.clone() * rat(ch.b);
        let u = -(coef.clone() * rat(ch.g) * rat(ch.m));
        if u.is_zero() {
            continue;
        }
        let q = ch.q();
        let merged = groups
            .iter_mut()
            .find_map(|(gu, gq)| rational_sqrt(&(gq.clone() / q.clone())).map(|f| (gu, f)));
        match merged {
            Some((gu, f)) => *gu = gu.clone() + u * f,
            None => groups.push((u, q)),
        }
    }
    sign_of(|k| {
        groups.iter().fold(RI::point(r.clone()), |acc, (u, q)| {
            acc.add(&grid(enclose_ratio_sqrt(u, q, k), k))
        })
    })
}

/// Whether a claimed back-substituted bias bound is sound: `claimed ≤ min` (`lower`) or
/// `claimed ≥ max` of `d + Σ_j λ_j·o_{c(j)}` over `λ_j ∈ lam[j]`, `d ∈ [d.0, d.1]`,
/// decided exactly with [`bias_sign`]. Column `j` is channel `channel_of[j]`.
pub fn bias_bound_sound(
    chs: &[Ch],
    lam: &[(f64, f64)],
    channel_of: &[usize],
    d: (f64, f64),
    claimed: f64,
    lower: bool,
) -> bool {
    let memo = Memo::new(chs);
    let toward = if lower {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    if claimed == toward {
        return true;
    }
    let dd = if lower { d.0 } else { d.1 };
    // Infinite contributions toward the side's infinity (the extreme is unbounded) or
    // away from it (the extreme is infinite on the safe side).
    let (mut unbounded, mut away) = (dd == toward, dd == -toward);
    let mut per_channel: Vec<(usize, Q)> = Vec::new();
    for (&(l, h), &c) in lam.iter().zip(channel_of) {
        let so = memo.offset_sign(c);
        if so == Ordering::Equal {
            continue;
        }
        let pick = if (so == Ordering::Greater) == lower {
            l
        } else {
            h
        };
        if pick.is_infinite() {
            let plus = (pick > 0.0) == (so == Ordering::Greater);
            if plus == (toward > 0.0) {
                unbounded = true;
            } else {
                away = true;
            }
            continue;
        }
        match per_channel.iter_mut().find(|(cc, _)| *cc == c) {
            Some((_, acc)) => *acc = acc.clone() + rat(pick),
            None => per_channel.push((c, rat(pick))),
        }
    }
    if unbounded {
        return false;
    }
    if away {
        return true;
    }
    if claimed.is_infinite() {
        return false;
    }
    let s = bias_sign(chs, &per_channel, dd, claimed);
    if lower {
        s != Ordering::Less
    } else {
        s != Ordering::Greater
    }
}
