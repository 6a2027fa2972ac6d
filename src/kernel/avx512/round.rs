//! Directed rounding in hardware: AVX-512's embedded rounding (x86-64, detected at run time),
//! the vector forms of [`crate::num::round`]'s scalar rules. Each operation names the rule it
//! mirrors; where the scalar rule rounds to nearest and steps outward, the vector form rounds
//! once in the bound's direction, which gives the tightest bound (never looser than the
//! scalar rule's).
//!
//! An AVX-512F instruction on 512-bit registers may carry its own rounding direction
//! (`{rd-sae}`, `{ru-sae}`), which overrides the rounding control of MXCSR for that
//! instruction alone and suppresses floating-point exceptions. So:
//!
//! * [`fma_down`]`(a, b, c)` is `RD(a·b + c)`, the largest `f64` `≤ a·b + c`: the tightest
//!   `f64` lower bound, in one instruction, with no outward step to add;
//! * [`store_down`] narrows to `f32` rounding toward `−∞`: `RD₃₂(RD₆₄(w)) = RD₃₂(w)`, because
//!   every `f32` is an `f64` (the largest `f32 ≤ w` is `≤ RD₆₄(w)`, and the largest `f32`
//!   `≤ RD₆₄(w)` is `≤ w`). So an `f32` bound computed as an `f64` lane and stored through
//!   this module is the tightest `f32` bound of the exact value.
//!
//! Overflow rounds the way the direction says (`RD(w) = f64::MAX` for `MAX < w < ∞`,
//! `RU(w) = +∞`), which are bounds; infinite operands give the exact infinite result.
//! Callers guarantee the operands are not NaN and that no `0·∞` or `∞ − ∞` occurs (the same
//! conventions as [`crate::num::round`]). The `_up` functions are written
//! directly with `{ru-sae}` (no mirror is needed: the hardware rounds in either direction).
//!
//! Subnormals are handled by the hardware as IEEE 754 requires, as long as the process has
//! not turned on flush-to-zero or denormals-are-zero in MXCSR (Rust never does; the rest of
//! bnbound assumes the same default environment).
//!
//! Every function here needs AVX-512F (the loads and sign masks also VL and DQ); [`Avx512`]
//! is the proof that the running CPU has them.
#![allow(unsafe_code)]

use crate::num::float::{Dtype, Float};
use core::arch::x86_64::*;

/// Eight `f64` lanes.
pub(crate) type F64x8 = __m512d;

const RD: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
const RU: i32 = _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC;

/// Proof that the running CPU has AVX-512F, VL and DQ, AVX2 and FMA: the only constructor,
/// [`Avx512::detect`], checks at run time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// `Some` if this CPU has AVX-512F, VL and DQ, AVX2 and FMA.
    pub(crate) fn detect() -> Option<Avx512> {
        let has = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        has.then_some(Avx512(()))
    }
}

/// `RD(a·b + c)` lane-wise: the largest `f64 ≤ a·b + c` (the vector form of
/// [`crate::num::round::fma_down`]).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn fma_down(a: F64x8, b: F64x8, c: F64x8) -> F64x8 {
    _mm512_fmadd_round_pd::<RD>(a, b, c)
}

/// `RU(a·b + c)` lane-wise: the smallest `f64 ≥ a·b + c` (the vector form of
/// [`crate::num::round::fma_up`]).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn fma_up(a: F64x8, b: F64x8, c: F64x8) -> F64x8 {
    _mm512_fmadd_round_pd::<RU>(a, b, c)
}

/// `RD(a·b)` lane-wise (the vector form of [`crate::num::round::mul_down`]).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn mul_down(a: F64x8, b: F64x8) -> F64x8 {
    _mm512_mul_round_pd::<RD>(a, b)
}

/// `RU(a·b)` lane-wise (the vector form of [`crate::num::round::mul_up`]).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn mul_up(a: F64x8, b: F64x8) -> F64x8 {
    _mm512_mul_round_pd::<RU>(a, b)
}

/// `RD(a + b)` lane-wise (the vector form of [`crate::num::round::add_down`]).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn add_down(a: F64x8, b: F64x8) -> F64x8 {
    _mm512_add_round_pd::<RD>(a, b)
}

/// `RU(a + b)` lane-wise (the vector form of [`crate::num::round::add_up`]).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn add_up(a: F64x8, b: F64x8) -> F64x8 {
    _mm512_add_round_pd::<RU>(a, b)
}

/// The first eight elements of `src`, exactly, as `f64` lanes (no rounding: every `f32`
/// is an `f64`). Panics if `src` is shorter than eight.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn load<T: Float>(src: &[T]) -> F64x8 {
    let src = &src[..8];
    match T::DTYPE {
        // SAFETY: `Float` is sealed to `f32` and `f64`, and `DTYPE` names which one `T`
        // is, so `src` is eight readable `f32`; the load is unaligned.
        Dtype::F32 => _mm512_cvtps_pd(unsafe { _mm256_loadu_ps(src.as_ptr().cast::<f32>()) }),
        // SAFETY: as above, eight readable `f64`.
        Dtype::F64 => unsafe { _mm512_loadu_pd(src.as_ptr().cast::<f64>()) },
    }
}

/// The first eight elements of `src`, exactly, as `f64` lanes, and the mask of the lanes
/// whose sign bit is set (`x < 0` or `x = −0`), read from the elements themselves.
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx512dq")]
pub(crate) fn load_signed<T: Float>(src: &[T]) -> (F64x8, __mmask8) {
    // The blend with an empty mask is folded away by the compiler.
    load_select_signed(0, src, src)
}

/// Lane `k` is `b[k]` where bit `k` of `m` is set, else `a[k]`, widened exactly to `f64`
/// (for `f32` the choice is made before widening, on half-width registers), with the mask
/// of the chosen lanes whose sign bit is set. Panics if `a` or `b` is shorter than eight.
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx512dq")]
pub(crate) fn load_select_signed<T: Float>(m: __mmask8, a: &[T], b: &[T]) -> (F64x8, __mmask8) {
    let (a, b) = (&a[..8], &b[..8]);
    match T::DTYPE {
        Dtype::F32 => {
            // SAFETY: `T` is `f32` (sealed `Float`, told apart by `DTYPE`), so `a` and `b`
            // are eight readable `f32` each; the loads are unaligned.
            let (a, b) = unsafe {
                (
                    _mm256_loadu_ps(a.as_ptr().cast::<f32>()),
                    _mm256_loadu_ps(b.as_ptr().cast::<f32>()),
                )
            };
            let v = _mm256_mask_blend_ps(m, a, b);
            (
                _mm512_cvtps_pd(v),
                _mm256_movepi32_mask(_mm256_castps_si256(v)),
            )
        }
        Dtype::F64 => {
            let v = _mm512_mask_blend_pd(m, load(a), load(b));
            (v, _mm512_movepi64_mask(_mm512_castpd_si512(v)))
        }
    }
}

/// Writes each lane of `v`, rounded toward `−∞` to `T`, to the first eight elements of
/// `dst`: each written value is the largest `T` `≤` its lane (for `f32` the vector form of
/// [`crate::num::round::f32_down`]). Panics if `dst` is shorter.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn store_down<T: Float>(v: F64x8, dst: &mut [T]) {
    let dst = &mut dst[..8];
    match T::DTYPE {
        Dtype::F32 => {
            let y = _mm512_cvt_roundpd_ps::<RD>(v);
            // SAFETY: `T` is `f32` (sealed `Float`, told apart by `DTYPE`), so `dst` is
            // eight writable `f32`; the store is unaligned.
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr().cast::<f32>(), y) }
        }
        // SAFETY: eight writable `f64`; an `f64` lane is its own rounding to `f64`.
        Dtype::F64 => unsafe { _mm512_storeu_pd(dst.as_mut_ptr().cast::<f64>(), v) },
    }
}

/// Writes each lane of `v`, rounded toward `+∞` to `T`, to the first eight elements of
/// `dst`: each written value is the smallest `T` `≥` its lane (for `f32` the vector form of
/// [`crate::num::round::f32_up`]).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn store_up<T: Float>(v: F64x8, dst: &mut [T]) {
    let dst = &mut dst[..8];
    match T::DTYPE {
        Dtype::F32 => {
            let y = _mm512_cvt_roundpd_ps::<RU>(v);
            // SAFETY: as in `store_down`.
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr().cast::<f32>(), y) }
        }
        // SAFETY: as in `store_down`.
        Dtype::F64 => unsafe { _mm512_storeu_pd(dst.as_mut_ptr().cast::<f64>(), v) },
    }
}

/// The eight lanes of `v` (no rounding).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn lanes(v: F64x8) -> [f64; 8] {
    let mut out = [0.0; 8];
    // SAFETY: `out` is eight writable `f64`; the store is unaligned.
    unsafe { _mm512_storeu_pd(out.as_mut_ptr(), v) };
    out
}
