//! Test oracle and generators shared by the integration tests.
//!
//! The oracle is deliberately *not* the library's formulation: it works in `BigRational`
//! and decides `y` against `β + γ(x−μ)/√q` by enclosing `√q` between consecutive integer
//! square roots at increasing precision (exact when `q` is a perfect square), instead of
//! squaring as `bnbound::exact` does. Both agree (tests/exact_agrees.rs), and neither uses
//! floating point.
#![allow(dead_code)]

use num_bigint::{BigInt, BigUint};
use num_rational::BigRational;
use num_traits::{Signed, Zero};
use proptest::prelude::*;
use std::cmp::Ordering;

/// The exact value of a finite float.
pub fn rat(x: f64) -> BigRational {
    BigRational::from_float(x).expect("finite")
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

/// The ordering of `t` against `u/√q` (q > 0), by integer-square-root refinement.
pub fn cmp_ratio_sqrt(t: &BigRational, u: &BigRational, q: &BigRational) -> Ordering {
    if u.is_zero() {
        return t.cmp(&BigRational::zero());
    }
    // √q = √(n·d)/d with n·d a positive integer.
    let nd: BigUint = (q.numer() * q.denom()).to_biguint().expect("q > 0");
    let d = q.denom().clone();
    let mut k = 64usize;
    loop {
        let scaled = &nd << (2 * k);
        let r = scaled.sqrt();
        let den = BigRational::from_integer(&d << k);
        let r_lo = BigRational::from_integer(BigInt::from(r.clone())) / &den;
        if &r * &r == scaled {
            return t.cmp(&(u / r_lo));
        }
        let r_hi = BigRational::from_integer(BigInt::from(r + 1u32)) / &den;
        // √q ∈ (r_lo, r_hi), so u/√q lies strictly between u/r_hi and u/r_lo.
        let (a, b) = if u.is_positive() {
            (u / &r_hi, u / &r_lo)
        } else {
            (u / &r_lo, u / &r_hi)
        };
        if *t <= a {
            return Ordering::Less;
        }
        if *t >= b {
            return Ordering::Greater;
        }
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

// ---------------------------------------------------------------- generators

/// An f64 drawn to hit the hard cases often: ±0, subnormals, powers of two, values near
/// the overflow threshold, values near 1, and ordinary magnitudes.
pub fn hard_f64() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        3 => -1e3f64..1e3,
        2 => -4f64..4.0,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => (1u64..(1u64 << 52)).prop_map(f64::from_bits),
        1 => (1u64..(1u64 << 52)).prop_map(|b| -f64::from_bits(b)),
        1 => (-1074i32..1024, any::<bool>()).prop_map(|(e, neg)| {
            let x = 2f64.powi(e);
            if neg { -x } else { x }
        }),
        1 => (any::<bool>(), 0u64..1000).prop_map(|(neg, k)| {
            let x = f64::from_bits(f64::MAX.to_bits() - k);
            if neg { -x } else { x }
        }),
        1 => any::<u64>().prop_map(|b| {
            let x = f64::from_bits(b);
            if x.is_finite() { x } else { 1.0 }
        }),
        1 => (0i64..64).prop_map(|k| 1.0 + k as f64 * f64::EPSILON),
    ]
}

/// An f32 drawn like [`hard_f64`].
pub fn hard_f32() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        3 => -1e3f32..1e3,
        2 => -4f32..4.0,
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => (1u32..(1u32 << 23)).prop_map(f32::from_bits),
        1 => (1u32..(1u32 << 23)).prop_map(|b| -f32::from_bits(b)),
        1 => (-149i32..128, any::<bool>()).prop_map(|(e, neg)| {
            let x = 2f64.powi(e) as f32;
            if neg { -x } else { x }
        }),
        1 => (any::<bool>(), 0u32..1000).prop_map(|(neg, k)| {
            let x = f32::from_bits(f32::MAX.to_bits() - k);
            if neg { -x } else { x }
        }),
        1 => any::<u32>().prop_map(|b| {
            let x = f32::from_bits(b);
            if x.is_finite() { x } else { 1.0 }
        }),
        1 => (0i32..64).prop_map(|k| 1.0 + k as f32 * f32::EPSILON),
    ]
}

/// A non-negative variance-like value, often zero or tiny.
pub fn var_of(x: f64) -> f64 {
    x.abs()
}
