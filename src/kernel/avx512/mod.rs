//! The AVX-512 bodies of the kernels: eight `f64` lanes, every bound one instruction with
//! embedded directed rounding ([`round`]). Each function handles the
//! longest prefix that is a multiple of eight and returns its length; the caller finishes
//! the tail with the FMA lanes. Each function takes the [`Avx512`] proof and is compiled
//! for AVX-512F, VL and DQ, so callers need `unsafe` with the proof as the argument.
//!
//! The scale endpoint is chosen as in the portable kernels: for the lower bound of `s·x`
//! over `s ∈ [s̲, s̄]` it is `s̲` where `x ≥ 0` and `s̄` where `x < 0` (a blend on the mask of
//! the data's sign bits; at `x = −0` either end gives the exact `0`); for the upper bound the
//! other one. The endpoint swap of a negative scale (row kernel, offset sums) is a blend on
//! the mask `s̄ < 0` (see [`super::lanes::Lanes`]).
#![allow(unsafe_code)]

pub(super) mod round;

use crate::num::float::Float;
use core::arch::x86_64::*;
use round::{Avx512, F64x8};

/// Lanes where `x < 0`.
#[inline]
#[target_feature(enable = "avx512f")]
fn negative(x: F64x8) -> __mmask8 {
    _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, _mm512_setzero_pd())
}

/// `if m { b } else { a }` lane-wise.
#[inline]
#[target_feature(enable = "avx512f")]
fn select(m: __mmask8, a: F64x8, b: F64x8) -> F64x8 {
    _mm512_mask_blend_pd(m, a, b)
}

/// Lower bound of `s·x + o̲` (`OFFSET`) or of `s·x` over `s ∈ [s_lo, s_hi]`: `RD`, with `s̄`
/// in the lanes of `neg` (those where `x` has its sign bit set; for `x = −0` either end
/// gives the exact product `0`).
#[inline]
#[target_feature(enable = "avx512f")]
fn lower<const OFFSET: bool>(
    s_lo: F64x8,
    s_hi: F64x8,
    o_lo: F64x8,
    (x, neg): (F64x8, __mmask8),
) -> F64x8 {
    let s = select(neg, s_lo, s_hi);
    if OFFSET {
        round::fma_down(s, x, o_lo)
    } else {
        round::mul_down(s, x)
    }
}

/// Upper bound of `s·x + ō` or of `s·x`: `RU`, with `s̲` in the lanes of `neg`.
#[inline]
#[target_feature(enable = "avx512f")]
fn upper<const OFFSET: bool>(
    s_lo: F64x8,
    s_hi: F64x8,
    o_hi: F64x8,
    (x, neg): (F64x8, __mmask8),
) -> F64x8 {
    let s = select(neg, s_hi, s_lo);
    if OFFSET {
        round::fma_up(s, x, o_hi)
    } else {
        round::mul_up(s, x)
    }
}

/// One channel's block (scale `[s_lo, s_hi]` of known nonzero sign, finite offset
/// `[o_lo, o_hi]`, the inputs already swapped for a negative scale): the first
/// `8·⌊n/8⌋` elements. All four slices have length `n`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
pub(super) fn block<T: Float, const OFFSET: bool>(
    _: Avx512,
    [s_lo, s_hi, o_lo, o_hi]: [f64; 4],
    from_lo: &[T],
    from_hi: &[T],
    out_lo: &mut [T],
    out_hi: &mut [T],
) -> usize {
    let (s_lo, s_hi) = (_mm512_set1_pd(s_lo), _mm512_set1_pd(s_hi));
    let (o_lo, o_hi) = (_mm512_set1_pd(o_lo), _mm512_set1_pd(o_hi));
    let mut done = 0;
    let it = from_lo
        .chunks_exact(8)
        .zip(from_hi.chunks_exact(8))
        .zip(out_lo.chunks_exact_mut(8).zip(out_hi.chunks_exact_mut(8)));
    for ((l, h), (yl, yh)) in it {
        round::store_down(lower::<OFFSET>(s_lo, s_hi, o_lo, round::load_signed(l)), yl);
        round::store_up(upper::<OFFSET>(s_lo, s_hi, o_hi, round::load_signed(h)), yh);
        done += 8;
    }
    done
}

/// Whole rows across channels with per-channel `[s_lo, s_hi]`, `[o_lo, o_hi]` (the
/// `Lanes` arrays of those channels, length `n`; the data slices hold `rows·n` elements):
/// the first `8·⌊n/8⌋` elements of every row. Returns `8·⌊n/8⌋`. (Taking eight channels
/// through several rows per parameter load measured no faster.)
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
pub(super) fn rows<T: Float, const OFFSET: bool>(
    _: Avx512,
    [s_lo, s_hi, o_lo, o_hi]: [&[f64]; 4],
    lo: &[T],
    hi: &[T],
    out_lo: &mut [T],
    out_hi: &mut [T],
) -> usize {
    let n = s_lo.len();
    let body = n - n % 8;
    let it = lo
        .chunks_exact(n)
        .zip(hi.chunks_exact(n))
        .zip(out_lo.chunks_exact_mut(n).zip(out_hi.chunks_exact_mut(n)));
    for ((lo, hi), (out_lo, out_hi)) in it {
        let params = s_lo
            .chunks_exact(8)
            .zip(s_hi.chunks_exact(8))
            .zip(o_lo.chunks_exact(8).zip(o_hi.chunks_exact(8)));
        let data = lo
            .chunks_exact(8)
            .zip(hi.chunks_exact(8))
            .zip(out_lo.chunks_exact_mut(8).zip(out_hi.chunks_exact_mut(8)));
        for (((sl, sh), (ol, oh)), ((l, h), (yl, yh))) in params.zip(data) {
            let (sl, sh) = (round::load(sl), round::load(sh));
            // A negative scale takes its lower bound from the upper input end.
            let neg = negative(sh);
            let a = round::load_select_signed(neg, l, h);
            let b = round::load_select_signed(neg, h, l);
            round::store_down(lower::<OFFSET>(sl, sh, round::load(ol), a), yl);
            round::store_up(upper::<OFFSET>(sl, sh, round::load(oh), b), yh);
        }
    }
    body
}

/// Eight partial sums of `Σ_j Λ_j·q_j` over the first `8·⌊n/8⌋` terms, with coefficients
/// `Λ_j ∈ [lo_j, hi_j]` (finite) and `q_j ∈ [q_lo_j, q_hi_j]` of known sign (or `[0, 0]`):
/// lane `k` of the result bounds the sum of terms `k, k + 8, …`, each step rounded outward.
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
pub(super) fn dot<T: Float>(
    _: Avx512,
    [q_lo, q_hi]: [&[f64]; 2],
    lo: &[T],
    hi: &[T],
) -> ([f64; 8], [f64; 8]) {
    let (mut acc_lo, mut acc_hi) = (_mm512_setzero_pd(), _mm512_setzero_pd());
    let it = q_lo
        .chunks_exact(8)
        .zip(q_hi.chunks_exact(8))
        .zip(lo.chunks_exact(8).zip(hi.chunks_exact(8)));
    for ((ql, qh), (l, h)) in it {
        let (ql, qh) = (round::load(ql), round::load(qh));
        let neg = negative(qh);
        let (a, a_neg) = round::load_select_signed(neg, l, h);
        let (b, b_neg) = round::load_select_signed(neg, h, l);
        acc_lo = round::fma_down(select(a_neg, ql, qh), a, acc_lo);
        acc_hi = round::fma_up(select(b_neg, qh, ql), b, acc_hi);
    }
    (round::lanes(acc_lo), round::lanes(acc_hi))
}

/// Eight partial sums of `Σ lo_j` (rounded down) and `Σ hi_j` (rounded up) over the first
/// `8·⌊n/8⌋` entries (all finite).
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
pub(super) fn sum<T: Float>(_: Avx512, lo: &[T], hi: &[T]) -> ([f64; 8], [f64; 8]) {
    let (mut acc_lo, mut acc_hi) = (_mm512_setzero_pd(), _mm512_setzero_pd());
    for (l, h) in lo.chunks_exact(8).zip(hi.chunks_exact(8)) {
        acc_lo = round::add_down(acc_lo, round::load(l));
        acc_hi = round::add_up(acc_hi, round::load(h));
    }
    (round::lanes(acc_lo), round::lanes(acc_hi))
}
