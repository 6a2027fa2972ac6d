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

// ---------------------------------------------------------------------------------------
// Lane-wise outward steps for the vectorised kernels (`crate::transfer::kernel`).
//
// The kernels need an outward step that compiles to a few branch-free vector instructions.
// `lane_below(c)` returns `RN(c − e)` with `e = RN(φ·|c| + η)`, `φ = 2⁻⁵³ + 2⁻¹⁰⁵`,
// `η = 2⁻¹⁰⁷⁴` (the predecessor algorithm of Rump, Zimmermann, Boldo and Melquiond,
// BIT 49, 2009). Claim: for every `c` that is not NaN, `lane_below(c) ≤ pred(c)`, the
// largest float below `c`; so `lane_below(RN(w)) ≤ w` for every real `w`.
//
// Proof. For `c = +∞` the result is `f64::MAX` (sound: `RN(w) = +∞` means `w > MAX`); for
// `c = −∞`, `e = +∞` and `c − e = −∞`. For finite `c` let `g` be the gap from `pred(c)` to
// `c`. `RN(c − e) ≤ pred(c)` holds as soon as `e > g/2` (then `c − e` lies strictly below the
// midpoint of `pred(c)` and `c`). (i) `|c|` in the subnormal range or `c = 0`: `g = η` and
// `e ≥ η` by monotonicity of rounding. (ii) `|c| ∈ [2^k, 2^(k+1))` with `c` not a positive
// power of two: `g = 2^(k−52)` and `φ·|c| ≥ 2^(k−53) + 2^(k−105)`; if `2^(k−53)` is normal that
// sum is a float and `e ≥` it `> g/2`; otherwise floats there are spaced by `η`, and
// `φ·|c| + η ≥ 2^(k−53) + η`, a float, so `e > g/2`. (iii) `c = 2^k > 0`: `g = 2^(k−53)` (or
// `η`), and `e ≥ RN(φ·2^k) ≥ 2^(k−53)` (or `≥ η`) `> g/2`. Without an FMA, `e` is rounded twice
// (`RN(RN(φ·|c|) + η)`); each bound above is a float, so monotonicity still gives it.
// The same proof with `p = 24`, `φ = 2⁻²⁴ + 2⁻⁴⁷`, `η = 2⁻¹⁴⁹` covers the `f32` versions.
// `lane_above(c) = −lane_below(−c)`, as the mirror. Tested exhaustively near every binade
// boundary, at zero, subnormals, `±MAX` and `±∞` below.

/// `φ = 2⁻⁵³·(1 + 2⁻⁵²)`.
const PHI64: f64 = f64::from_bits(((1023 - 53) << 52) | 1);
/// `η = 2⁻¹⁰⁷⁴`, the smallest positive subnormal.
const ETA64: f64 = f64::from_bits(1);
/// `φ = 2⁻²⁴·(1 + 2⁻²³)`.
const PHI32: f32 = f32::from_bits(((127 - 24) << 23) | 1);
/// `η = 2⁻¹⁴⁹`.
const ETA32: f32 = f32::from_bits(1);

/// Defines the lane steps of one precision: `$below(c) ≤ pred(c)` and `$above(c) ≥ succ(c)`
/// (`c` not NaN; `∓∞` stays `∓∞`; `±∞` on the other side becomes `±MAX`, a bound because
/// rounding to nearest gives `±∞` only beyond `±MAX`). `FMA` says whether `mul_add` is a
/// hardware instruction here. One definition for both precisions, so the two cannot drift.
macro_rules! lane_steps {
    ($below:ident, $above:ident, $t:ty, $phi:expr, $eta:expr) => {
        /// A value `≤ pred(c)`: branch-free, vectorisable (see the section comment).
        #[inline(always)]
        pub(crate) fn $below<const FMA: bool>(c: $t) -> $t {
            let e = lane_error::<FMA, $t>(c, $phi, $eta);
            // c = +∞ (then c − e is NaN): the exact value exceeds MAX, so MAX is a bound.
            if c > <$t>::MAX {
                <$t>::MAX
            } else {
                c - e
            }
        }

        /// A value `≥ succ(c)`: the mirror `−below(−c)`. (The `f32` kernels step up
        /// through `f32_above_*`, which mirror the whole conversion; the exhaustive test
        /// checks this function on all 2³² inputs.)
        #[inline(always)]
        #[cfg_attr(not(test), allow(dead_code))]
        pub(crate) fn $above<const FMA: bool>(c: $t) -> $t {
            -$below::<FMA>(-c)
        }
    };
}

/// `e = RN(φ·|c| + η)`, fused or in two roundings.
#[inline(always)]
fn lane_error<const FMA: bool, T: num_traits::Float>(c: T, phi: T, eta: T) -> T {
    if FMA {
        phi.mul_add(c.abs(), eta)
    } else {
        phi * c.abs() + eta
    }
}

lane_steps!(lane_below, lane_above, f64, PHI64, ETA64);
lane_steps!(lane_below32, lane_above32, f32, PHI32, ETA32);

/// `RN(w)` for some real `w ≤ a·b + c` (`a`, `b`, `c` not NaN, no `0·∞`, no `∞ − ∞`): one
/// fused rounding with `FMA`, else the product is rounded and stepped down before the sum.
/// Pass the result to [`lane_below`] or [`f32_below_nearest`] to get a bound.
#[inline(always)]
pub(crate) fn lane_fma_for_below<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        lane_below::<false>(a * b) + c
    }
}

/// `RN(w)` for some real `w ≥ a·b + c`: the mirror of [`lane_fma_for_below`].
#[inline(always)]
pub(crate) fn lane_fma_for_above<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    -lane_fma_for_below::<FMA>(-a, b, -c)
}

/// A value `≤ a·b` (`a`, `b` not NaN, no `0·∞`). With `FMA` the product is returned
/// unwidened when an exact FMA residual (`|a·b| ≥ 2⁻⁹⁶⁸`, see [`residual_safe`]) proves it is
/// not above `a·b`, or when a factor is zero; so exactly representable products stay exact.
/// Without `FMA` it is always one step below.
#[inline(always)]
pub(crate) fn lane_mul_below<const FMA: bool>(a: f64, b: f64) -> f64 {
    let p = a * b;
    if FMA {
        let e = a.mul_add(b, -p);
        let proven = (e >= 0.0 && p.abs() >= residual_safe()) || a == 0.0 || b == 0.0;
        if proven {
            p
        } else {
            lane_below::<true>(p)
        }
    } else {
        lane_below::<false>(p)
    }
}

/// A value `≥ a·b`: the mirror of [`lane_mul_below`].
#[inline(always)]
pub(crate) fn lane_mul_above<const FMA: bool>(a: f64, b: f64) -> f64 {
    -lane_mul_below::<FMA>(-a, b)
}

/// The largest `f32` `≤ b`, or one step further (`b` not NaN): branch-free
/// [`f32_down`]. If `y = RN₃₂(b) > b`, every `f32` below `y` is `≤ b`.
#[inline(always)]
pub(crate) fn f32_below_bound<const FMA: bool>(b: f64) -> f32 {
    let y = b as f32;
    if (y as f64) > b {
        lane_below32::<FMA>(y)
    } else {
        y
    }
}

/// The smallest `f32` `≥ b`, or one step further: the mirror of [`f32_below_bound`].
#[inline(always)]
pub(crate) fn f32_above_bound<const FMA: bool>(b: f64) -> f32 {
    -f32_below_bound::<FMA>(-b)
}

/// An `f32` `≤ w` from `r = RN₆₄(w)` (`r` not NaN). If `y = RN₃₂(r)` lies below `r`, then
/// `y ≤ pred₆₄(r) ≤ w` (every `f32` is an `f64`); otherwise one `f32` step below `y` is
/// `< r` and hence `≤ pred₆₄(r) ≤ w` as well.
#[inline(always)]
pub(crate) fn f32_below_nearest<const FMA: bool>(r: f64) -> f32 {
    let y = r as f32;
    if (y as f64) < r {
        y
    } else {
        lane_below32::<FMA>(y)
    }
}

/// An `f32` `≥ w` from `r = RN₆₄(w)`: the mirror of [`f32_below_nearest`].
#[inline(always)]
pub(crate) fn f32_above_nearest<const FMA: bool>(r: f64) -> f32 {
    -f32_below_nearest::<FMA>(-r)
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

    /// Values around every binade boundary, zero, subnormals, `±MAX` and `±∞`.
    fn probes64() -> Vec<f64> {
        let mut v = vec![0.0, -0.0, f64::MAX, f64::INFINITY, f64::from_bits(1)];
        for e in -1074..=1023 {
            let p = 2f64.powi(e);
            v.extend([
                p,
                p.next_up(),
                p.next_down(),
                p * 1.5,
                p.next_up().next_up(),
            ]);
        }
        v.extend(v.clone().into_iter().map(|x| -x).collect::<Vec<_>>());
        v
    }

    #[test]
    fn lane_steps_are_strictly_outward_and_at_most_two_steps() {
        for c in probes64() {
            for (lo, hi) in [
                (lane_below::<true>(c), lane_above::<true>(c)),
                (lane_below::<false>(c), lane_above::<false>(c)),
            ] {
                if c == f64::NEG_INFINITY {
                    assert_eq!(lo, c);
                } else if c == f64::INFINITY {
                    assert_eq!(lo, f64::MAX);
                } else {
                    assert!(lo <= c.next_down(), "{c:e} {lo:e}");
                    assert!(lo >= c.next_down().next_down(), "{c:e} {lo:e}");
                }
                if c == f64::INFINITY {
                    assert_eq!(hi, c);
                } else if c == f64::NEG_INFINITY {
                    assert_eq!(hi, -f64::MAX);
                } else {
                    assert!(hi >= c.next_up(), "{c:e} {hi:e}");
                    assert!(hi <= c.next_up().next_up(), "{c:e} {hi:e}");
                }
            }
        }
    }

    #[test]
    fn lane_steps32_are_strictly_outward_and_at_most_two_steps() {
        let mut v = vec![0.0f32, -0.0, f32::MAX, f32::INFINITY, f32::from_bits(1)];
        for e in -149..=127 {
            let p = 2f32.powi(e);
            v.extend([
                p,
                p.next_up(),
                p.next_down(),
                p * 1.5,
                p.next_up().next_up(),
            ]);
        }
        v.extend(v.clone().into_iter().map(|x| -x).collect::<Vec<_>>());
        for c in v {
            for (lo, hi) in [
                (lane_below32::<true>(c), lane_above32::<true>(c)),
                (lane_below32::<false>(c), lane_above32::<false>(c)),
            ] {
                if c == f32::NEG_INFINITY {
                    assert_eq!(lo, c);
                } else if c == f32::INFINITY {
                    assert_eq!(lo, f32::MAX);
                } else {
                    assert!(
                        lo <= c.next_down() && lo >= c.next_down().next_down(),
                        "{c:e}"
                    );
                }
                if c == f32::INFINITY {
                    assert_eq!(hi, c);
                } else if c == f32::NEG_INFINITY {
                    assert_eq!(hi, -f32::MAX);
                } else {
                    assert!(hi >= c.next_up() && hi <= c.next_up().next_up(), "{c:e}");
                }
            }
        }
    }

    /// Every one of the 2³² `f32` bit patterns (ryu's exhaustive test): `lane_below32(c)`
    /// is `pred(c)` or `pred(pred(c))`, `lane_above32(c)` is `succ(c)` or `succ(succ(c))`,
    /// with and without a fused multiply-add; `±∞` as documented, NaN skipped. Ignored by
    /// default (about a minute on two cores); CI runs it once with `--ignored`.
    #[test]
    #[ignore = "exhaustive over 2^32 inputs; CI runs it with --ignored"]
    fn lane_steps32_exhaustive() {
        fn check<const FMA: bool>(c: f32) -> (bool, bool) {
            let (lo, hi) = (lane_below32::<FMA>(c), lane_above32::<FMA>(c));
            let lo_ok = match c {
                f32::NEG_INFINITY => lo == c,
                f32::INFINITY => lo == f32::MAX,
                _ => lo <= c.next_down() && lo >= c.next_down().next_down(),
            };
            let hi_ok = match c {
                f32::INFINITY => hi == c,
                f32::NEG_INFINITY => hi == -f32::MAX,
                _ => hi >= c.next_up() && hi <= c.next_up().next_up(),
            };
            assert!(lo_ok && hi_ok, "FMA = {FMA}, c = {c:e}: [{lo:e}, {hi:e}]");
            // Whether each step is the tightest (exactly one float outward).
            (
                !c.is_finite() || lo == c.next_down(),
                !c.is_finite() || hi == c.next_up(),
            )
        }
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let chunk = (1u64 << 32).div_ceil(threads);
        let loose: u64 = std::thread::scope(|scope| {
            (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut loose = 0u64;
                        let end = ((t + 1) * chunk).min(1 << 32);
                        for bits in t * chunk..end {
                            let c = f32::from_bits(bits as u32);
                            if c.is_nan() {
                                continue;
                            }
                            for (a, b) in [check::<true>(c), check::<false>(c)] {
                                loose += u64::from(!a) + u64::from(!b);
                            }
                        }
                        loose
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum()
        });
        println!(
            "f32 lane steps: every non-NaN input sound; {loose} of 2^34 steps are two floats wide"
        );
    }

    #[test]
    fn f32_from_nearest_is_a_bound_of_the_f64_neighbourhood() {
        // Whatever w rounded to r, w ≥ pred64(r) and w ≤ succ64(r).
        for r in probes64() {
            let (lo, hi) = (f32_below_nearest::<true>(r), f32_above_nearest::<true>(r));
            if r != f64::NEG_INFINITY {
                assert!((lo as f64) <= r.next_down(), "{r:e}");
            }
            if r != f64::INFINITY {
                assert!((hi as f64) >= r.next_up(), "{r:e}");
            }
            // At most one f32 step beyond the f32 rounding of the neighbourhood.
            assert!(lo >= f32_down(r.next_down()).next_down());
            assert!(hi <= f32_up(r.next_up()).next_up());
        }
    }

    #[test]
    fn lane_fma_without_hardware_fma_bounds_the_exact_value() {
        // 0.1·3 + 0: the two-rounding path must not lose the product's rounding error.
        let (a, b) = (0.1f64, 3.0f64);
        let lo = lane_below::<false>(lane_fma_for_below::<false>(a, b, 0.0));
        let hi = lane_above::<false>(lane_fma_for_above::<false>(a, b, 0.0));
        // a·b exactly: compare with the FMA residual.
        assert!(a.mul_add(b, -lo) > 0.0 && a.mul_add(b, -hi) < 0.0);
    }
}
