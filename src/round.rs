//! Directed rounding: the only module of bnbound that rounds.
//!
//! Every function here returns an `f64` that is a *bound* of the exact real result of one
//! operation on its (exact) `f64` operands: a `_down` function returns a value `≤` the exact
//! result, an `_up` function a value `≥` it. Nothing else in the crate is allowed to use a
//! rounded-to-nearest float operation as a bound.
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
//! Conventions for the operands (callers guarantee them; the functions never see NaN):
//! operands are bounds of *finite* reals, so an infinite operand means "unbounded" and a
//! product with an exact zero factor is zero (`0 · ∞ = 0`, as in IEEE 1788 interval
//! arithmetic). When a sum of bounds is `∞ − ∞` (undetermined), the result is the trivially
//! sound bound `−∞` (down) or `+∞` (up).

/// `2⁻⁹⁶⁸`: below this magnitude the residual of a product, quotient or square root may
/// underflow; there a zero residual does not prove exactness and the result is widened.
#[inline]
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

/// Lower bound of `a + b`.
#[inline]
pub(crate) fn add_down(a: f64, b: f64) -> f64 {
    let s = a + b;
    if s.is_nan() {
        return f64::NEG_INFINITY;
    }
    match add_residual_sign(a, b, s) {
        Some(e) if e >= 0.0 => s,
        _ => step_down(s),
    }
}

/// Upper bound of `a + b`.
#[inline]
pub(crate) fn add_up(a: f64, b: f64) -> f64 {
    let s = a + b;
    if s.is_nan() {
        return f64::INFINITY;
    }
    match add_residual_sign(a, b, s) {
        Some(e) if e <= 0.0 => s,
        _ => step_up(s),
    }
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
    match mul_residual(a, b, p) {
        Some(e) if e >= 0.0 => p,
        _ => step_down(p),
    }
}

/// Upper bound of `a · b` (with `0 · ∞ = 0`).
#[inline]
pub(crate) fn mul_up(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        return 0.0;
    }
    let p = a * b;
    match mul_residual(a, b, p) {
        Some(e) if e <= 0.0 => p,
        _ => step_up(p),
    }
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
    match div_residual(a, b, r) {
        Some(e) if e >= 0.0 => r,
        _ => step_down(r),
    }
}

/// Upper bound of `a / b` for `b ≠ 0` finite or infinite, `a` finite.
#[inline]
pub(crate) fn div_up(a: f64, b: f64) -> f64 {
    let r = a / b;
    match div_residual(a, b, r) {
        Some(e) if e <= 0.0 => r,
        _ => step_up(r),
    }
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

/// Lower bound of `√q` for `q ≥ 0`.
#[inline]
pub(crate) fn sqrt_down(q: f64) -> f64 {
    let r = q.sqrt();
    match sqrt_residual(q, r) {
        Some(e) if e >= 0.0 => r,
        _ => step_down(r).max(0.0),
    }
}

/// Upper bound of `√q` for `q ≥ 0`.
#[inline]
pub(crate) fn sqrt_up(q: f64) -> f64 {
    let r = q.sqrt();
    match sqrt_residual(q, r) {
        Some(e) if e <= 0.0 => r,
        _ => step_up(r),
    }
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

/// Upper bound of `a·b + c` (one rounding, one outward step; `0 · ∞ = 0`).
#[inline]
pub(crate) fn fma_up(a: f64, b: f64, c: f64) -> f64 {
    let r = if a == 0.0 || b == 0.0 {
        return c;
    } else {
        a.mul_add(b, c)
    };
    if r.is_nan() {
        f64::INFINITY
    } else {
        step_up(r)
    }
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

/// The smallest `f32` that is `≥ x` (`x` not NaN).
#[inline]
pub(crate) fn f32_up(x: f64) -> f32 {
    let r = x as f32;
    if (r as f64) < x {
        r.next_up()
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residual_threshold_is_two_to_minus_968() {
        assert_eq!(residual_safe(), 2f64.powi(-968));
    }

    #[test]
    fn exact_operations_are_not_widened() {
        assert_eq!(add_down(1.0, 2.0), 3.0);
        assert_eq!(add_up(1.0, 2.0), 3.0);
        assert_eq!(mul_down(3.0, 0.5), 1.5);
        assert_eq!(div_up(1.0, 4.0), 0.25);
        assert_eq!(sqrt_down(16.0), 4.0);
        assert_eq!(sqrt_up(16.0), 4.0);
    }

    #[test]
    fn inexact_operations_bracket() {
        // 1/3 is not representable: the two bounds are adjacent floats.
        let (lo, hi) = (div_down(1.0, 3.0), div_up(1.0, 3.0));
        assert_eq!(lo.next_up(), hi);
        // 3·lo < 1 < 3·hi decided exactly with an FMA residual.
        assert!(3f64.mul_add(lo, -1.0) < 0.0 && 3f64.mul_add(hi, -1.0) > 0.0);
        let (lo, hi) = (sqrt_down(2.0), sqrt_up(2.0));
        assert_eq!(lo.next_up(), hi);
        assert!(lo.mul_add(lo, -2.0) < 0.0 && hi.mul_add(hi, -2.0) > 0.0);
        // 1 + 2^-60 rounds to 1.
        let t = 2f64.powi(-60);
        assert_eq!(add_down(1.0, t), 1.0);
        assert_eq!(add_up(1.0, t), 1f64.next_up());
    }

    #[test]
    fn overflow_and_underflow_stay_sound() {
        assert_eq!(mul_down(f64::MAX, 2.0), f64::MAX);
        assert_eq!(mul_up(f64::MAX, 2.0), f64::INFINITY);
        let tiny = f64::from_bits(1);
        assert_eq!(mul_down(tiny, 0.5), 0.0f64.next_down());
        assert_eq!(mul_up(tiny, 0.5), tiny);
        assert_eq!(fma_down(0.0, f64::INFINITY, 1.0), 1.0);
        assert_eq!(
            fma_down(f64::INFINITY, 1.0, f64::NEG_INFINITY),
            f64::NEG_INFINITY
        );
        assert_eq!(f32_down(1e300), f32::MAX);
        assert_eq!(f32_up(1e300), f32::INFINITY);
        assert_eq!(f32_up(1e-300), f32::from_bits(1));
        assert_eq!(f32_down(1e-300), 0.0);
    }
}
