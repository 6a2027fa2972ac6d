//! Lane-wise outward steps for the vectorised kernels (`crate::kernel`).
//!
//! The kernels need an outward step that compiles to a few branch-free vector instructions.
//! `lane_below(c)` returns `RN(c − e)` with `e = RN(φ·|c| + η)`, `φ = 2⁻⁵³ + 2⁻¹⁰⁵`,
//! `η = 2⁻¹⁰⁷⁴` (the predecessor algorithm of Rump, Zimmermann, Boldo and Melquiond,
//! BIT 49, 2009). Claim: for every `c` that is not NaN, `lane_below(c) ≤ pred(c)`, the
//! largest float below `c`; so `lane_below(RN(w)) ≤ w` for every real `w`.
//!
//! Proof. For `c = +∞` the result is `f64::MAX` (sound: `RN(w) = +∞` means `w > MAX`); for
//! `c = −∞`, `e = +∞` and `c − e = −∞`. For finite `c` let `g` be the gap from `pred(c)` to
//! `c`. `RN(c − e) ≤ pred(c)` holds as soon as `e > g/2` (then `c − e` lies strictly below the
//! midpoint of `pred(c)` and `c`). (i) `|c|` in the subnormal range or `c = 0`: `g = η` and
//! `e ≥ η` by monotonicity of rounding. (ii) `|c| ∈ [2^k, 2^(k+1))` with `c` not a positive
//! power of two: `g = 2^(k−52)` and `φ·|c| ≥ 2^(k−53) + 2^(k−105)`; if `2^(k−53)` is normal that
//! sum is a float and `e ≥` it `> g/2`; otherwise floats there are spaced by `η`, and
//! `φ·|c| + η ≥ 2^(k−53) + η`, a float, so `e > g/2`. (iii) `c = 2^k > 0`: `g = 2^(k−53)` (or
//! `η`), and `e ≥ RN(φ·2^k) ≥ 2^(k−53)` (or `≥ η`) `> g/2`. Without an FMA, `e` is rounded twice
//! (`RN(RN(φ·|c|) + η)`); each bound above is a float, so monotonicity still gives it.
//! The same proof with `p = 24`, `φ = 2⁻²⁴ + 2⁻⁴⁷`, `η = 2⁻¹⁴⁹` covers the `f32` versions.
//! `lane_above(c) = −lane_below(−c)`, as the mirror. Tested exhaustively near every binade
//! boundary, at zero, subnormals, `±MAX` and `±∞` (`round/tests.rs`).
//!
//! **No subnormal operand where `c` is not tiny.** An arithmetic operation with a subnormal
//! operand takes a microcode assist on many x86-64 CPUs (measured here: 40–50 ns a scalar
//! step, 50× a vector one), so `η` is added only where `|c| < t`, `t = 2⁻⁹⁶⁹` (`f32`:
//! `2⁻¹⁰²`), and `e = RN(φ·|c| + 0) = RN(φ·|c|)` elsewhere. Proof for `|c| ≥ t` (cases (ii)
//! and (iii), `k ≥ −969`): `2^(k−53)` is then normal, so `2^(k−53)·(1 + 2⁻⁵²)` is a float
//! (normal, 53-bit significand) `≤ φ·|c|`, and `e ≥` it `> 2^(k−53) ≥ g/2` by monotonicity,
//! with or without an FMA; `|c| = ∞` is as above. Below `t` the formula and proof are the
//! ones above. The two formulas give the same `e`'s effect: one step, bit for bit the same
//! result (`RN(c − e)` is `pred(c)` in both wherever `|c| ≥ t`, since `g/2 < e ≤ g`).
//! Machine-checked for the guarded form in `proofs/Lanes.v` (`err_gt_half_ulp_big`,
//! `lane_below_guarded_le_pred_gen` and its binary64/binary32 instances).

use super::residual_safe;

/// `φ = 2⁻⁵³·(1 + 2⁻⁵²)`.
const PHI64: f64 = f64::from_bits(((1023 - 53) << 52) | 1);
/// `η = 2⁻¹⁰⁷⁴`, the smallest positive subnormal.
const ETA64: f64 = f64::from_bits(1);
/// `φ = 2⁻²⁴·(1 + 2⁻²³)`.
const PHI32: f32 = f32::from_bits(((127 - 24) << 23) | 1);
/// `η = 2⁻¹⁴⁹`.
const ETA32: f32 = f32::from_bits(1);
/// `t = 2⁻⁹⁶⁹`: at and above it `η` is not added (see the section comment).
const TINY64: f64 = f64::from_bits((1023 - 969) << 52);
/// `t = 2⁻¹⁰²`.
const TINY32: f32 = f32::from_bits((127 - 102) << 23);

/// Defines the lane steps of one precision: `$below(c) ≤ pred(c)` and `$above(c) ≥ succ(c)`
/// (`c` not NaN; `∓∞` stays `∓∞`; `±∞` on the other side becomes `±MAX`, a bound because
/// rounding to nearest gives `±∞` only beyond `±MAX`). `FMA` says whether `mul_add` is a
/// hardware instruction here. One definition for both precisions, so the two cannot drift.
macro_rules! lane_steps {
    ($below:ident, $above:ident, $t:ty, $phi:expr, $eta:expr, $tiny:expr) => {
        /// A value `≤ pred(c)`: branch-free, vectorisable (see the section comment).
        #[inline(always)]
        pub(crate) fn $below<const FMA: bool>(c: $t) -> $t {
            let e = lane_error::<FMA, $t>(c, $phi, $eta, $tiny);
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

/// `e = RN(φ·|c| + η)` where `|c| < tiny`, else `RN(φ·|c| + 0)`, fused or in two roundings
/// (a select, not a branch: no subnormal operand unless `c` is tiny).
#[inline(always)]
fn lane_error<const FMA: bool, T: num_traits::Float>(c: T, phi: T, eta: T, tiny: T) -> T {
    let a = c.abs();
    let add = if a >= tiny { T::zero() } else { eta };
    if FMA {
        phi.mul_add(a, add)
    } else {
        phi * a + add
    }
}

lane_steps!(lane_below, lane_above, f64, PHI64, ETA64, TINY64);
lane_steps!(lane_below32, lane_above32, f32, PHI32, ETA32, TINY32);

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

/// An `f32` `≤ a·b` (`a`, `b` not NaN, no `0·∞`). With `FMA`: `y = RN₃₂(RN₆₄(a·b))` is
/// kept when the residual `d = RN₆₄(a·b − y)` (one FMA) is `≥ 0` and `|RN₆₄(a·b)| ≥ 2⁻⁹⁶⁸`
/// — then `a·b − y` is zero or at least `2⁻¹⁰⁷⁴` in magnitude, so `d` has its sign and
/// `y ≤ a·b` ([`residual_safe`]) — or when a factor is zero; otherwise one `f32` step below
/// `y`, which is `≤ a·b` as in [`f32_below_nearest`] (`y` is `RN₃₂` of `RN₆₄(a·b)`). So the
/// bound is the largest `f32 ≤ a·b` wherever `|a·b| ≥ 2⁻¹⁰⁰` (there one `f32` step is
/// exact), `f32` products with `|a·b| ≥ 2⁻⁹⁶⁸` stay exact, and overflow gives `f32::MAX`
/// (`y = +∞`, `d = −∞`) or `−∞`; `tests.rs` checks this against exact rationals. Without
/// `FMA`: the `f64` product stepped down, then narrowed ([`f32_below_bound`]).
#[inline(always)]
pub(crate) fn f32_mul_below<const FMA: bool>(a: f64, b: f64) -> f32 {
    if FMA {
        let p = a * b;
        let y = p as f32;
        let d = a.mul_add(b, -(y as f64));
        let kept = (d >= 0.0 && p.abs() >= residual_safe()) || a == 0.0 || b == 0.0;
        if kept {
            y
        } else {
            lane_below32::<true>(y)
        }
    } else {
        f32_below_bound::<false>(lane_mul_below::<false>(a, b))
    }
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

/// An `f32` `≤ w` from `r = RN₆₄(w)` (`r` not NaN): one step below `y = RN₃₂(r)`,
/// without a test. Proof: every `f32` is an `f64`. If `y < r`, the step is `< y ≤ pred₆₄(r)`.
/// If `y ≥ r`, the `f32` just below `y` is `< r` (`y` is the `f32` nearest `r`, so `r` is
/// not below the midpoint of that `f32` and `y`), hence `≤ pred₆₄(r)`. And `pred₆₄(r) ≤ w`
/// because `r` is the nearest `f64` to `w`. Result: the tightest `f32` bound of the
/// neighbourhood of `r` or one step below it ([`lane_below32`] is exactly one step for
/// `|y| ≥ 2⁻¹⁰⁰`, at most two below that). Branch-free: one narrowing and one step, where
/// testing `y < r` first would cost a widening, a compare and a blend per lane.
#[inline(always)]
pub(crate) fn f32_below_nearest<const FMA: bool>(r: f64) -> f32 {
    lane_below32::<FMA>(r as f32)
}
