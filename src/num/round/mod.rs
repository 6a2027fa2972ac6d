//! Directed rounding: the only owner of bnbound's scalar rounding rules.
//!
//! Every function here returns an `f64` that is a *bound* of the exact real result of one
//! operation on its (exact) `f64` operands: a `_down` function returns a value `≤` the exact
//! result, an `_up` function a value `≥` it. Nothing else in the crate is allowed to use a
//! rounded-to-nearest float operation as a bound. The kernels' AVX-512 and MXCSR paths
//! (`crate::kernel`) are the vector forms of these rules, each naming the rule it mirrors.
//!
//! The implementation is portable: the hardware's round-to-nearest result `r` is corrected
//! by one step (`next_up`/`next_down`) in the outward direction. Round-to-nearest is off by
//! at most half a gap between neighbouring floats, so one step is always enough — also for
//! subnormal results (the gap is `2⁻¹⁰⁷⁴`) and for overflow (`+∞` from round-to-nearest
//! means the exact value exceeds `f64::MAX`, and `next_down(+∞) = f64::MAX`).
//!
//! For `+ × ÷ √` (used once per channel) an error-free transformation (2Sum, an FMA
//! residual) decides whether `r` already lies on the correct side; then `r` is returned
//! unchanged, which makes those four operations *correctly* directed-rounded (at most one
//! ulp from the exact value) wherever the residual is exact. Where it might not be exact
//! (results near the underflow threshold) the code widens unconditionally.
//!
//! `fma_down`/`fma_up` (the per-element operation) always widen: one rounding, one step.
//!
//! **Each rule is written once.** Every upper bound is the mirror of a lower bound:
//! rounding to nearest is symmetric (`RN(−x) = −RN(x)`) and so are the steps
//! (`next_up(−x) = −next_down(x)`), so `up(a, …) = −down(−a, …)` with the operands negated
//! as the operation requires (`a + b ↦ (−a) + (−b)`, `a·b ↦ (−a)·b`, `a/b ↦ (−a)/b`,
//! `a·b + c ↦ (−a)·b + (−c)`). A reviewer checks the `_down` rule and the one-line mirror.
//! Scalar mirrors are written `0 − x` ([`mirror`]), which is `−x` except that an exact zero
//! comes out `+0` as the hardware's sum does; the branch-free lane mirrors use `−x`, which
//! is bit for bit the result the mirrored code would compute. Only `√` (defined for `q ≥ 0`)
//! has no mirror: it is written once with its direction as a value ([`Dir`]).
//!
//! Conventions for the operands (callers guarantee them; the functions never see NaN):
//! operands are bounds of *finite* reals, so an infinite operand means "unbounded" and a
//! product with an exact zero factor is zero (`0 · ∞ = 0`, as in IEEE 1788 interval
//! arithmetic). When a sum of bounds is `∞ − ∞` (undetermined), the result is the trivially
//! sound bound `−∞` (down) or `+∞` (up).

/// `2⁻⁹⁶⁸`: below this magnitude the residual of a product, quotient or square root may
/// underflow; there a zero residual does not prove exactness and the result is widened.
#[inline(always)]
fn residual_safe() -> f64 {
    // 2^-968 built exactly from powers of two (no decimal literal to round wrongly).
    f64::from_bits(((1023 - 968) as u64) << 52)
}

#[inline]
fn step_down(r: f64) -> f64 {
    r.next_down()
}

#[inline]
fn step_up(r: f64) -> f64 {
    r.next_up()
}

/// `−x`, with an exact zero as `+0` (`0 − x`): the upper bound from a mirrored lower bound.
#[inline(always)]
fn mirror(x: f64) -> f64 {
    0.0 - x
}

/// A rounding direction as a value, for the one operation without a mirror (`√`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Down,
    Up,
}

impl Dir {
    /// `r` with the exact result's residual `e = exact − r`: `r` itself when `e` proves it
    /// lies on this direction's side, else one step outward.
    #[inline(always)]
    fn settle(self, r: f64, e: Option<f64>) -> f64 {
        match (self, e) {
            (Dir::Down, Some(e)) if e >= 0.0 => r,
            (Dir::Up, Some(e)) if e <= 0.0 => r,
            (Dir::Down, _) => step_down(r),
            (Dir::Up, _) => step_up(r),
        }
    }
}

/// Lower bound of `a + b`.
#[inline]
pub(crate) fn add_down(a: f64, b: f64) -> f64 {
    let s = a + b;
    if s.is_nan() {
        return f64::NEG_INFINITY;
    }
    Dir::Down.settle(s, add_residual_sign(a, b, s))
}

/// Upper bound of `a + b`: the mirror of [`add_down`].
#[inline]
pub(crate) fn add_up(a: f64, b: f64) -> f64 {
    mirror(add_down(-a, -b))
}

/// The exact error `a + b − s` of `s = fl(a + b)` (Knuth's 2Sum), or `None` when it cannot
/// be trusted (infinite operands or result).
#[inline]
fn add_residual_sign(a: f64, b: f64, s: f64) -> Option<f64> {
    if !s.is_finite() {
        // Both operands infinite of one sign: exact. Otherwise overflow or an infinite
        // operand: let the caller step (stepping from ±∞ towards the finite side is sound,
        // stepping away from ±∞ stays ±∞).
        return if a.is_infinite() || b.is_infinite() {
            Some(0.0)
        } else {
            None
        };
    }
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    e.is_finite().then_some(e)
}

/// Lower bound of `a · b` (with `0 · ∞ = 0`).
#[inline]
pub(crate) fn mul_down(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        return 0.0;
    }
    let p = a * b;
    Dir::Down.settle(p, mul_residual(a, b, p))
}

/// Upper bound of `a · b` (with `0 · ∞ = 0`): the mirror of [`mul_down`].
#[inline]
pub(crate) fn mul_up(a: f64, b: f64) -> f64 {
    mirror(mul_down(-a, b))
}

/// `a·b − p` when its sign is trustworthy (`Some(0)` only when the product is exact).
#[inline]
fn mul_residual(a: f64, b: f64, p: f64) -> Option<f64> {
    if !p.is_finite() {
        return if a.is_infinite() || b.is_infinite() {
            Some(0.0)
        } else {
            None
        };
    }
    let e = a.mul_add(b, -p);
    trusted_residual(e, p.abs())
}

/// A residual computed with one FMA is exact when the magnitude it is measured against is
/// at least `2⁻⁹⁶⁸`; below that only a *nonzero* residual carries a trustworthy sign
/// (round-to-nearest never flips a sign).
#[inline]
fn trusted_residual(e: f64, magnitude: f64) -> Option<f64> {
    if e.is_nan() {
        None
    } else if e != 0.0 || magnitude >= residual_safe() {
        Some(e)
    } else {
        None
    }
}

/// Lower bound of `a / b` for `b ≠ 0` finite or infinite, `a` finite.
#[inline]
pub(crate) fn div_down(a: f64, b: f64) -> f64 {
    let r = a / b;
    Dir::Down.settle(r, div_residual(a, b, r))
}

/// Upper bound of `a / b` for `b ≠ 0` finite or infinite, `a` finite: the mirror of
/// [`div_down`].
#[inline]
pub(crate) fn div_up(a: f64, b: f64) -> f64 {
    mirror(div_down(-a, b))
}

/// The sign of `a/b − r` as a float whose sign is trustworthy, or `None`.
#[inline]
fn div_residual(a: f64, b: f64, r: f64) -> Option<f64> {
    if a == 0.0 {
        return Some(0.0);
    }
    if !r.is_finite() || b.is_infinite() {
        return None;
    }
    // a − r·b is exactly representable when no underflow happens (Boldo–Daumas);
    // its sign times the sign of b is the sign of a/b − r.
    let rem = (-r).mul_add(b, a);
    trusted_residual(rem, a.abs()).map(|e| if b > 0.0 { e } else { -e })
}

/// A bound of `√q` for `q ≥ 0` in direction `dir` (a lower bound is never below 0).
#[inline]
fn sqrt_dir(q: f64, dir: Dir) -> f64 {
    let r = q.sqrt();
    dir.settle(r, sqrt_residual(q, r)).max(0.0)
}

/// Lower bound of `√q` for `q ≥ 0`.
#[inline]
pub(crate) fn sqrt_down(q: f64) -> f64 {
    sqrt_dir(q, Dir::Down)
}

/// Upper bound of `√q` for `q ≥ 0`.
#[inline]
pub(crate) fn sqrt_up(q: f64) -> f64 {
    sqrt_dir(q, Dir::Up)
}

#[inline]
fn sqrt_residual(q: f64, r: f64) -> Option<f64> {
    if q == 0.0 || q.is_infinite() {
        return Some(0.0);
    }
    // q − r² is exactly representable without underflow; its sign is that of √q − r.
    let rem = (-r).mul_add(r, q);
    trusted_residual(rem, q)
}

/// Lower bound of `a·b + c` (one rounding, one outward step; `0 · ∞ = 0`).
#[inline]
pub(crate) fn fma_down(a: f64, b: f64, c: f64) -> f64 {
    let r = if a == 0.0 || b == 0.0 {
        return c;
    } else {
        a.mul_add(b, c)
    };
    if r.is_nan() {
        f64::NEG_INFINITY
    } else {
        step_down(r)
    }
}

/// Upper bound of `a·b + c` (one rounding, one outward step; `0 · ∞ = 0`): the mirror of
/// [`fma_down`].
#[inline]
pub(crate) fn fma_up(a: f64, b: f64, c: f64) -> f64 {
    mirror(fma_down(-a, b, -c))
}

/// `x = m·2^e` with `1 ≤ |m| < 2`, exactly, for a finite nonzero `x` (subnormals included).
#[inline]
fn split_pow2(x: f64) -> (f64, i64) {
    // 2^64, exact: scales a subnormal into the normal range without rounding.
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE {
        (x * f64::from_bits((1023 + 64) << 52), -64)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52));
    (m, e + bias)
}

/// `2^k` for `−1074 ≤ k ≤ 1023`, exactly.
#[inline]
fn pow2(k: i64) -> f64 {
    debug_assert!((-1074..=1023).contains(&k));
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1 << (k + 1074))
    }
}

/// A bound (`UP`: upper, else lower) of `m·2^k` for a finite nonzero `m` and any `k`:
/// exact when the result is normal; overflow gives `±∞` on the unbounded side and `±MAX`
/// on the other; a subnormal or underflowing result is rounded once to nearest and moved
/// one step outward.
fn ldexp_bound<const UP: bool>(m: f64, k: i64) -> f64 {
    let (mm, me) = split_pow2(m);
    let k = k.saturating_add(me);
    if k > 1023 {
        // |m·2^k| ≥ 2^1024 > MAX.
        return match (mm > 0.0, UP) {
            (true, true) => f64::INFINITY,
            (true, false) => f64::MAX,
            (false, true) => -f64::MAX,
            (false, false) => f64::NEG_INFINITY,
        };
    }
    if k >= -1022 {
        // Normal: a 53-bit significand times a power of two in range is exact.
        return mm * pow2(k);
    }
    // Subnormal or below: mm·2^-1022 is exact (normal); the second product rounds once to
    // nearest. Below 2^-1100 the value is replaced by mm·2^-1100, smaller than half the
    // least subnormal, which rounds to ±0 as the true value would; one outward step then
    // covers both.
    let r = (mm * pow2(-1022)) * pow2(k.max(-1100) + 1022);
    if UP {
        step_up(r)
    } else {
        step_down(r)
    }
}

/// A bound (`UP`: upper, else lower) of `g·t·2^k / r` for finite `g`, `t`, finite `r > 0`
/// and any `k`, computed without intermediate overflow or underflow: the significands'
/// product and quotient (each in `[½, 4)`) are rounded in the bound's direction, then
/// scaled by the exponents ([`ldexp_bound`]). Used where `γ/√q` or `γμ/√q` overflows
/// although `γ(x − μ)/√q` does not.
pub(crate) fn quot_scaled<const UP: bool>(g: f64, t: f64, k: i64, r: f64) -> f64 {
    if g == 0.0 || t == 0.0 {
        return 0.0;
    }
    let ((gm, ge), (tm, te), (rm, re)) = (split_pow2(g), split_pow2(t), split_pow2(r));
    // rm ≥ 1 > 0, so the quotient is increasing in the numerator.
    let q = if UP {
        div_up(mul_up(gm, tm), rm)
    } else {
        div_down(mul_down(gm, tm), rm)
    };
    ldexp_bound::<UP>(q, ge + te - re + k)
}

/// An upper bound `κ` of `|s − m| + u·|m|` over every real `s ∈ [s_lo, s_hi]` (finite ends),
/// for a finite float `m` of a format with unit roundoff `u` (`2⁻²⁴` for `f32`, `2⁻⁵³` for
/// `f64`): every operation is rounded up.
///
/// What it is for (a coefficient rounded to nearest, then treated as a bound): for every
/// float `λ` of that format whose product `M = RN(λ·m)` is finite,
/// `|λ·s − M| ≤ |λ|·κ + η`, with `η` the format's least positive subnormal. Proof:
/// `|λs − M| ≤ |λ|·|s − m| + |λm − RN(λm)|`, and rounding to nearest errs by at most half
/// an ulp: `≤ u·|λm|` where `|λm|` is at least the least normal (also between `MAX` and
/// the overflow threshold), `≤ η/2` below it, where floats are spaced by `η`. And
/// `|s − m| ≤ max(s_hi − m, m − s_lo)` for `s` in the interval, whichever side of `m` it is.
#[inline]
pub(crate) fn nearest_product_slack(m: f64, s_lo: f64, s_hi: f64, u: f64) -> f64 {
    let d = add_up(s_hi, -m).max(add_up(m, -s_lo));
    add_up(d, mul_up(u, m.abs()))
}

/// The largest `f32` that is `≤ x` (`x` not NaN).
#[inline]
pub(crate) fn f32_down(x: f64) -> f32 {
    let r = x as f32;
    if (r as f64) > x {
        r.next_down()
    } else {
        r
    }
}

/// The smallest `f32` that is `≥ x` (`x` not NaN): the mirror of [`f32_down`].
#[inline]
pub(crate) fn f32_up(x: f64) -> f32 {
    -f32_down(-x)
}

pub(crate) mod decimal;
pub(crate) mod env;
mod lanes;
pub(crate) mod storage;
pub(crate) use lanes::*;
pub(crate) use storage::storage_nearest;

#[cfg(test)]
pub(crate) mod tests;
