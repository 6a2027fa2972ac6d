//! The per-element loops and their run-time dispatch.
//!
//! The transfer functions spend their time in one operation per bound: the image of an
//! interval endpoint `x` under a scale interval `[s̲, s̄]` whose sign is known, plus an
//! offset. For the lower bound that is `ŝ·x + o̲` with `ŝ = s̲` if `x ≥ 0` else `s̄` (the same
//! formula for either sign of `s`; only *which* endpoint `x` is depends on the sign). The
//! kernels here evaluate it without branches, so the compiler vectorises the loops:
//!
//! * **block kernel** — one channel's contiguous spatial block (`inner ≥ BLOCK_MIN`),
//!   scale and offset hoisted out of the loop, the endpoint swap decided once per block;
//! * **row kernel** — one row across all channels (`inner = 1`, e.g. `(N, C)` boxes and
//!   back-substitution), scale and offset read from per-channel arrays ([`Lanes`]).
//!
//! Every rounding is a scalar rule of [`crate::num::round`] or, on the AVX-512 and MXCSR
//! paths, its vector form (`super::avx512::round`, `super::mxcsr`). Three paths ([`Path`]):
//!
//! * **AVX-512** (`super::avx512`): eight `f64` lanes, the bound is `RD(ŝ·x + o̲)` by one FMA
//!   with embedded rounding, narrowed to `f32` by a conversion rounded the same way — the
//!   tightest bound of `ŝ·x + o̲` in `T`. Tails shorter than eight lanes take the FMA path.
//! * **FMA**: on x86-64 the block and row loops (IBP and the scaling map) and the
//!   back-substitution dot product run four `f64` lanes in one `asm!` block each under
//!   MXCSR's rounding toward `−∞` (`super::mxcsr`): the same bounds as AVX-512, with no
//!   outward step. Elsewhere (tails shorter than four lanes, CNN block sums, aarch64): `below(RN(ŝ·x + o̲))`, one rounding and
//!   one outward step (`f32`: narrowed to nearest, then one `f32` step,
//!   [`round::f32_below_nearest`]).
//! * **two roundings**: `below(RN(below(RN(ŝ·x)) + o̲))`, two roundings, two outward steps.
//!
//! Channels whose enclosure the fast formula does not cover (scale sign zero, a scale
//! endpoint that is zero or infinite, an infinite offset) go through the channel's scalar
//! image ([`Channel::image`], the layer's), which handles `0·∞` and `∞ − ∞` explicitly.
//!
//! Dispatch: [`Kernel::Auto`] runs AVX-512 when the running CPU has AVX-512F, VL and DQ,
//! else the FMA path (AVX2+FMA on x86-64, detected with `is_x86_feature_detected!`; the base
//! ISA on aarch64), else two roundings; [`Kernel::Fma`] and [`Kernel::TwoRoundings`] force the
//! other paths (tests and fuzzers run all three).
#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
use super::avx512::{self, round::Avx512};
use super::choice::{Kernel, Path};
use super::lanes::{is_fast, Channel, Lanes};
#[cfg(target_arch = "x86_64")]
use super::mxcsr;
use crate::num::float::lanes::LaneRound;
use crate::num::float::Float;
use crate::num::round;
use std::cmp::Ordering;

/// The proof that the AVX-512 lanes may be used, if they may.
#[cfg(target_arch = "x86_64")]
pub(crate) type Wide = Option<Avx512>;
/// Never present off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) type Wide = Option<core::convert::Infallible>;

/// A loop to run under the chosen instruction set: `run::<true>` may use `f64::mul_add` as
/// a single instruction, `run::<false>` must not; `wide` is `Some` when the loop may use the
/// AVX-512 lanes (then `FMA` is `true`).
pub(crate) trait Job {
    /// The loop's result.
    type Out;
    /// Runs the loop. Implementations are `#[inline(always)]`, so that they are compiled
    /// with the target features of the caller.
    fn run<const FMA: bool>(self, wide: Wide) -> Self::Out;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2_fma<J: Job>(job: J) -> J::Out {
    job.run::<true>(None)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn run_avx512<J: Job>(job: J, wide: Avx512) -> J::Out {
    job.run::<true>(Some(wide))
}

/// Runs `job` on the path `kernel` resolves to on this CPU.
pub(crate) fn dispatch<J: Job>(kernel: Kernel, job: J) -> J::Out {
    match kernel.path() {
        Path::TwoRoundings => job.run::<false>(None),
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => match Avx512::detect() {
            // SAFETY: `run_avx512` requires AVX-512F, VL and DQ, AVX2 and FMA, and the proof `w`
            // exists only because `detect` has just found all five on this CPU.
            Some(w) => unsafe { run_avx512(job, w) },
            None => job.run::<false>(None),
        },
        #[cfg(target_arch = "x86_64")]
        Path::Fma => {
            // SAFETY: `run_avx2_fma` only requires the `avx2` and `fma` target features,
            // and `Path::Fma` is only resolved after `fma_available()` has checked at run
            // time that this CPU has both.
            unsafe { run_avx2_fma(job) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        // aarch64: FMA is part of the base instruction set (no AVX-512 path here).
        Path::Fma | Path::Avx512 => job.run::<true>(None),
    }
}

/// Blocks shorter than this go element by element through [`Channel::image`].
pub(crate) const BLOCK_MIN: usize = 8;

/// Lower bound, in `T`, of `s·x + o` over `s ∈ [s_lo, s_hi]` (sign known, nonzero),
/// `o ≥ o_lo` (`OFFSET = false`: of `s·x`), for `x` not NaN.
#[inline(always)]
fn lower<T: Float, const OFFSET: bool, const FMA: bool>(
    s_lo: f64,
    s_hi: f64,
    o_lo: f64,
    x: f64,
) -> T {
    let s = if x >= 0.0 { s_lo } else { s_hi };
    if OFFSET {
        <T as LaneRound>::below_nearest::<FMA>(round::lane_fma_for_below::<FMA>(s, x, o_lo))
    } else {
        <T as LaneRound>::below_product::<FMA>(s, x)
    }
}

/// Upper bound, in `T`, of `s·x + o` over `s ∈ [s_lo, s_hi]`, `o ≤ o_hi`: the mirror
/// `−lower(−s, x, −o)` (`−s ∈ [−s_hi, −s_lo]`), bit for bit what the mirrored rule gives.
#[inline(always)]
fn upper<T: Float, const OFFSET: bool, const FMA: bool>(
    s_lo: f64,
    s_hi: f64,
    o_hi: f64,
    x: f64,
) -> T {
    -lower::<T, OFFSET, FMA>(-s_hi, -s_lo, -o_hi, x)
}

/// One channel's block: `out ⊇ image(ch, [lo, hi])` element by element.
#[inline(always)]
fn block<T: Float, const OFFSET: bool, const FMA: bool, C: Channel>(
    ch: &C,
    lo: &[T],
    hi: &[T],
    out_lo: &mut [T],
    out_hi: &mut [T],
    wide: Wide,
) {
    let b = ch.bounds();
    if !is_fast(&b) {
        return scalar_block::<T, OFFSET, C>(ch, lo, hi, out_lo, out_hi);
    }
    let (s_lo, s_hi) = (b.s_lo, b.s_hi);
    let (o_lo, o_hi) = if OFFSET { (b.o_lo, b.o_hi) } else { (0.0, 0.0) };
    // For s < 0 the lower bound comes from the upper input endpoint and vice versa.
    let (from_lo, from_hi) = if b.sign == Ordering::Less {
        (hi, lo)
    } else {
        (lo, hi)
    };
    let n = out_lo.len();
    let (from_lo, from_hi, out_hi) = (&from_lo[..n], &from_hi[..n], &mut out_hi[..n]);
    let done = match wide {
        #[cfg(target_arch = "x86_64")]
        Some(w) => {
            let p = [s_lo, s_hi, o_lo, o_hi];
            // SAFETY: `avx512::block` requires AVX-512F, VL and DQ, AVX2 and FMA; `w`
            // proves them.
            unsafe { avx512::block::<T, OFFSET>(w, p, from_lo, from_hi, out_lo, out_hi) }
        }
        // The FMA path on x86-64: four lanes under MXCSR's rounding toward −∞, the same
        // tightest bounds as AVX-512 (`OFFSET = false` passes `o = 0`: `RD(ŝ·x + 0)` is
        // `RD(ŝ·x)`). `detect` is a cached flag test; it holds whenever `FMA` does here.
        #[cfg(target_arch = "x86_64")]
        None if FMA => match mxcsr::Avx2Fma::detect() {
            Some(proof) => mxcsr::block(
                proof,
                [s_lo, s_hi, o_lo, o_hi],
                from_lo,
                from_hi,
                out_lo,
                out_hi,
            ),
            None => 0,
        },
        _ => 0,
    };
    for i in done..n {
        out_lo[i] = lower::<T, OFFSET, FMA>(s_lo, s_hi, o_lo, from_lo[i].to_f64_raw());
        out_hi[i] = upper::<T, OFFSET, FMA>(s_lo, s_hi, o_hi, from_hi[i].to_f64_raw());
    }
}

/// [`block`] through the scalar [`Channel::image`] (special channels and short blocks).
#[inline]
fn scalar_block<T: Float, const OFFSET: bool, C: Channel>(
    ch: &C,
    lo: &[T],
    hi: &[T],
    out_lo: &mut [T],
    out_hi: &mut [T],
) {
    for (((&l, &h), yl), yh) in lo.iter().zip(hi).zip(out_lo).zip(out_hi) {
        let (a, b) = ch.image::<OFFSET>(l.to_f64_raw(), h.to_f64_raw());
        *yl = T::from_f64_down_raw(a);
        *yh = T::from_f64_up_raw(b);
    }
}

/// `rows` consecutive rows, each across the channels `first..first + n` (no wrap-around;
/// the slices hold `rows·n` elements): `out_j ⊇ image(ch_j, [lo_j, hi_j])`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rows<T: Float, const OFFSET: bool, const FMA: bool, C: Channel>(
    ch: &[C],
    lanes: &Lanes,
    first: usize,
    rows: usize,
    lo: &[T],
    hi: &[T],
    out_lo: &mut [T],
    out_hi: &mut [T],
    wide: Wide,
) {
    let n = out_lo.len() / rows.max(1);
    let range = first..first + n;
    let (s_lo, s_hi) = (&lanes.s_lo[range.clone()], &lanes.s_hi[range.clone()]);
    let (o_lo, o_hi) = (&lanes.o_lo[range.clone()], &lanes.o_hi[range.clone()]);
    let neg = &lanes.neg[range];
    let done = match wide {
        #[cfg(target_arch = "x86_64")]
        Some(w) => {
            let p = [s_lo, s_hi, o_lo, o_hi];
            // SAFETY: `avx512::rows` requires AVX-512F, VL and DQ, AVX2 and FMA; `w`
            // proves them.
            unsafe { avx512::rows::<T, OFFSET>(w, p, lo, hi, out_lo, out_hi) }
        }
        // The FMA path on x86-64: four lanes under MXCSR's rounding toward −∞, row by row,
        // the same tightest bounds as AVX-512. Special channels hold the placeholder
        // `s = 1`, `o = 0` and are overwritten below.
        #[cfg(target_arch = "x86_64")]
        None if FMA => match mxcsr::Avx2Fma::detect() {
            Some(proof) => {
                let p = [s_lo, s_hi, o_lo, o_hi];
                let it = lo
                    .chunks_exact(n)
                    .zip(hi.chunks_exact(n))
                    .zip(out_lo.chunks_exact_mut(n).zip(out_hi.chunks_exact_mut(n)));
                let mut done = 0;
                for ((lo, hi), (yl, yh)) in it {
                    done = mxcsr::row::<T, OFFSET>(proof, p, lo, hi, yl, yh);
                }
                done
            }
            None => 0,
        },
        _ => 0,
    };
    let it = lo
        .chunks_exact(n)
        .zip(hi.chunks_exact(n))
        .zip(out_lo.chunks_exact_mut(n).zip(out_hi.chunks_exact_mut(n)));
    for ((lo, hi), (out_lo, out_hi)) in it {
        let params = s_lo[done..]
            .iter()
            .zip(&s_hi[done..])
            .zip(o_lo[done..].iter().zip(&o_hi[done..]))
            .zip(&neg[done..]);
        let data = lo[done..]
            .iter()
            .zip(&hi[done..])
            .zip(out_lo[done..].iter_mut().zip(out_hi[done..].iter_mut()));
        for ((((&sl, &sh), (&ol, &oh)), &neg), ((l, h), (yl, yh))) in params.zip(data) {
            let (l, h) = (l.to_f64_raw(), h.to_f64_raw());
            let (a, b) = if neg { (h, l) } else { (l, h) };
            let (ol, oh) = if OFFSET { (ol, oh) } else { (0.0, 0.0) };
            *yl = lower::<T, OFFSET, FMA>(sl, sh, ol, a);
            *yh = upper::<T, OFFSET, FMA>(sl, sh, oh, b);
        }
        for &c in &lanes.special {
            if range_contains(first, n, c) {
                let j = c - first;
                let (a, b) = ch[c].image::<OFFSET>(lo[j].to_f64_raw(), hi[j].to_f64_raw());
                out_lo[j] = T::from_f64_down_raw(a);
                out_hi[j] = T::from_f64_up_raw(b);
            }
        }
    }
}

/// Rows handed to [`rows`] at once when whole rows remain.
const ROWS: usize = 8;

#[inline(always)]
fn range_contains(first: usize, n: usize, c: usize) -> bool {
    c >= first && c - first < n
}

/// The per-element map of IBP (`OFFSET = true`) or of the scaling `x ↦ s·x`
/// (`OFFSET = false`) over a run of whole elements of a `(…, C, inner)` layout that starts
/// at block `first_block` (block `k` belongs to channel `k mod C`). Lengths are checked by
/// the caller: all four slices have the same length, a multiple of `inner`.
pub(crate) struct MapJob<'a, T, const OFFSET: bool, C> {
    ch: &'a [C],
    lanes: &'a Lanes,
    inner: usize,
    first_block: usize,
    lo: &'a [T],
    hi: &'a [T],
    out_lo: &'a mut [T],
    out_hi: &'a mut [T],
}

impl<'a, T, const OFFSET: bool, C> MapJob<'a, T, OFFSET, C> {
    /// The map over `[lo, hi]` (blocks of `inner` elements, the first being block
    /// `first_block` of the whole box) into the outputs, with the channels `ch` laid out
    /// as `lanes`.
    pub(crate) fn new(
        (ch, lanes): (&'a [C], &'a Lanes),
        inner: usize,
        first_block: usize,
        (lo, hi): (&'a [T], &'a [T]),
        (out_lo, out_hi): (&'a mut [T], &'a mut [T]),
    ) -> Self {
        MapJob {
            ch,
            lanes,
            inner,
            first_block,
            lo,
            hi,
            out_lo,
            out_hi,
        }
    }
}

impl<T: Float, const OFFSET: bool, C: Channel> Job for MapJob<'_, T, OFFSET, C> {
    type Out = ();

    #[inline(always)]
    fn run<const FMA: bool>(self, wide: Wide) {
        let c = self.ch.len();
        let inner = self.inner;
        if inner == 0 || c == 0 {
            return;
        }
        if inner == 1 {
            // Rows of channels: split at the channel wrap-around.
            let (mut lo, mut hi) = (self.lo, self.hi);
            let (mut out_lo, mut out_hi) = (self.out_lo, self.out_hi);
            let mut first = self.first_block % c;
            while !lo.is_empty() {
                // A partial row, or up to `ROWS` whole rows.
                let (k, n) = match first {
                    0 if lo.len() >= c => ((lo.len() / c).min(ROWS), c),
                    _ => (1, (c - first).min(lo.len())),
                };
                let (l, lr) = lo.split_at(k * n);
                let (h, hr) = hi.split_at(k * n);
                let (yl, ylr) = out_lo.split_at_mut(k * n);
                let (yh, yhr) = out_hi.split_at_mut(k * n);
                rows::<T, OFFSET, FMA, C>(self.ch, self.lanes, first, k, l, h, yl, yh, wide);
                (lo, hi, out_lo, out_hi) = (lr, hr, ylr, yhr);
                first = 0;
            }
            return;
        }
        let blocks = self
            .lo
            .chunks_exact(inner)
            .zip(self.hi.chunks_exact(inner))
            .zip(
                self.out_lo
                    .chunks_exact_mut(inner)
                    .zip(self.out_hi.chunks_exact_mut(inner)),
            );
        for (k, ((l, h), (yl, yh))) in blocks.enumerate() {
            let ch = &self.ch[(self.first_block + k) % c];
            if inner >= BLOCK_MIN {
                block::<T, OFFSET, FMA, C>(ch, l, h, yl, yh, wide);
            } else {
                scalar_block::<T, OFFSET, C>(ch, l, h, yl, yh);
            }
        }
    }
}

/// Number of independent partial sums in [`OffsetDotJob`] (one vector register of `f64`
/// on AVX2, two on 128-bit ISAs); each is rounded outward at every step.
const ACC: usize = 8;

/// Bounds of `Σ_j Λ_j·o_j + d` over `Λ_j ∈ [lo_j, hi_j]`, the exact offsets `o_j` and
/// `d ∈ [d_lo, d_hi]`, as `f64` (one back-substitution bias). Every product-and-add is
/// rounded once and stepped outward ([`round::lane_fma_for_below`], [`round::lane_below`]);
/// the partial sums are combined with [`round::add_down`]/[`round::add_up`].
pub(crate) struct OffsetDotJob<'a, T, C> {
    ch: &'a [C],
    lanes: &'a Lanes,
    lo: &'a [T],
    hi: &'a [T],
    d_lo: f64,
    d_hi: f64,
}

impl<'a, T, C> OffsetDotJob<'a, T, C> {
    /// The bias sum over the channels `ch` (laid out as `lanes`) with coefficients
    /// `[lo, hi]` and `d ∈ [d_lo, d_hi]`.
    pub(crate) fn new(
        (ch, lanes): (&'a [C], &'a Lanes),
        (lo, hi): (&'a [T], &'a [T]),
        d_lo: f64,
        d_hi: f64,
    ) -> Self {
        OffsetDotJob {
            ch,
            lanes,
            lo,
            hi,
            d_lo,
            d_hi,
        }
    }
}

impl<T: Float, C: Channel> Job for OffsetDotJob<'_, T, C> {
    type Out = (f64, f64);

    #[inline(always)]
    fn run<const FMA: bool>(self, wide: Wide) -> (f64, f64) {
        let n = self.ch.len();
        let (lo, hi) = (&self.lo[..n], &self.hi[..n]);
        let l = self.lanes;
        let (q_lo, q_hi, q_neg) = (&l.q_lo[..n], &l.q_hi[..n], &l.q_neg[..n]);
        // An infinite coefficient would meet a zero placeholder (0·∞): scalar path.
        let max_abs = |v: &[T]| {
            v.iter().fold(T::zero(), |m, &x| {
                let a = x.abs();
                if a > m {
                    a
                } else {
                    m
                }
            })
        };
        if max_abs(lo) == T::infinity() || max_abs(hi) == T::infinity() {
            return crate::num::interval::dot_bounds(
                lo.iter().map(|v| v.to_f64_raw()),
                hi.iter().map(|v| v.to_f64_raw()),
                self.ch.iter().map(|c| {
                    let b = c.bounds();
                    (b.o_lo, b.o_hi)
                }),
                self.d_lo,
                self.d_hi,
            );
        }
        let body = n - n % ACC;
        let (acc_lo, acc_hi) = dot_partials::<T, FMA>(
            wide,
            [&q_lo[..body], &q_hi[..body]],
            &q_neg[..body],
            (&lo[..body], &hi[..body]),
        );
        let (mut s_lo, mut s_hi) = (self.d_lo, self.d_hi);
        for k in 0..ACC {
            s_lo = round::add_down(s_lo, acc_lo[k]);
            s_hi = round::add_up(s_hi, acc_hi[k]);
        }
        // The tail and the channels whose offset may be zero, one scalar term each.
        let tail = (body..n).filter(|j| !l.q_special.contains(j));
        for j in tail.chain(l.q_special.iter().copied()) {
            let o = self.ch[j].bounds();
            let (pl, ph) = crate::num::interval::mul_bounds(
                lo[j].to_f64_raw(),
                hi[j].to_f64_raw(),
                o.o_lo,
                o.o_hi,
            );
            s_lo = round::add_down(s_lo, pl);
            s_hi = round::add_up(s_hi, ph);
        }
        (s_lo, s_hi)
    }
}

/// The [`ACC`] partial sums of `Σ_j Λ_j·q_j` over whole chunks of `ACC` terms (`lo`, `hi`
/// finite), on the path `wide` and `FMA` select: lane `k` of the first result is `≤` the
/// minimum over `Λ_j ∈ [lo_j, hi_j]`, `q_j ∈ [q̲_j, q̄_j]` of the sum of terms `k, k + ACC, …`,
/// lane `k` of the second `≥` its maximum. Each `q_j` is of known sign (`q_neg[j] ⇔ q̄_j < 0`)
/// or `[0, 0]`; or `Λ_j` is a point (`lo_j = hi_j`), for which `q_j` may take any sign: every
/// path takes `q̲_j` for the minimum where `Λ_j` is positive and `q̄_j` where it is negative
/// (the maximum the other way round), the extremes of `Λ_j·q_j` over `q_j`; for `Λ_j = ±0`
/// (AVX-512 and MXCSR choose by the sign bit, the lanes by `Λ_j ≥ 0`) either end gives a
/// zero product; and the swap `q_neg` makes is of two equal ends.
#[inline(always)]
fn dot_partials<T: Float, const FMA: bool>(
    wide: Wide,
    [q_lo, q_hi]: [&[f64]; 2],
    q_neg: &[bool],
    (lo, hi): (&[T], &[T]),
) -> ([f64; ACC], [f64; ACC]) {
    match wide {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `avx512::dot` requires AVX-512F, VL and DQ, AVX2 and FMA; `w` proves them.
        Some(w) => unsafe { avx512::dot(w, [q_lo, q_hi], lo, hi) },
        _ => mxcsr_dot::<T, FMA>((q_lo, q_hi), lo, hi)
            .unwrap_or_else(|| partial_dot::<T, FMA>((lo, hi), (q_lo, q_hi), q_neg)),
    }
}

/// CROWN's back-substitution rows with point coefficients (the one-pass path of
/// `Bounds::backward_batch`): for row `r` of `lam` (row-major, `n` columns) and box
/// `b = r mod B` (`B = q̲.len() / n`), `coef_rj = RN(λ_rj·m_j)` in `T` and
/// `lower_r ≤ Σ_j λ_rj·q_j ≤ upper_r` for every `q_j ∈ [q̲_bj, q̄_bj]` (box `b`'s ends at
/// `b·n + j`, finite), as `f64` bounds: each product-and-add rounded once and outward by the
/// dispatched dot kernel ([`dot_partials`], point coefficients), the partial sums and the
/// tail by [`round::add_down`]/[`round::add_up`] and `interval::mul_bounds`.
pub(crate) struct PointRowsJob<'a, T> {
    n: usize,
    lam: &'a [T],
    m: &'a [T],
    q: [&'a [f64]; 2],
    coef: &'a mut [T],
    bounds: (&'a mut [f64], &'a mut [f64]),
}

impl<'a, T> PointRowsJob<'a, T> {
    /// The rows of `lam` (`n` columns, finite) with column multipliers `m` (finite, `n`
    /// entries) and per-box ends `q = [q̲, q̄]` (whole boxes of `n`) into `coef` (as `lam`)
    /// and `bounds` (one entry per row each).
    pub(crate) fn new(
        n: usize,
        (lam, m): (&'a [T], &'a [T]),
        q: [&'a [f64]; 2],
        coef: &'a mut [T],
        bounds: (&'a mut [f64], &'a mut [f64]),
    ) -> Self {
        PointRowsJob {
            n,
            lam,
            m,
            q,
            coef,
            bounds,
        }
    }
}

impl<T: Float> Job for PointRowsJob<'_, T> {
    /// Whether every coefficient `RN(λ·m)` is finite (if not, the bounds mean nothing).
    type Out = bool;

    #[inline(always)]
    fn run<const FMA: bool>(self, wide: Wide) -> bool {
        let n = self.n;
        if n == 0 {
            return true;
        }
        let [q_lo, q_hi] = self.q;
        let boxes = q_lo.len() / n;
        let m = &self.m[..n];
        let body = n - n % ACC;
        // Point coefficients: the swap `q_neg` would make exchanges two equal ends.
        let none = vec![false; body];
        let mut finite = true;
        let (lower, upper) = self.bounds;
        let rows = self
            .lam
            .chunks_exact(n)
            .zip(self.coef.chunks_exact_mut(n))
            .zip(lower.iter_mut().zip(upper.iter_mut()));
        for (r, ((row, out), (low, high))) in rows.enumerate() {
            let b = r % boxes;
            let (ql, qh) = (&q_lo[b * n..(b + 1) * n], &q_hi[b * n..(b + 1) * n]);
            for ((c, &l), &k) in out.iter_mut().zip(row).zip(m) {
                *c = l * k;
                finite &= c.is_finite();
            }
            let (acc_lo, acc_hi) = dot_partials::<T, FMA>(
                wide,
                [&ql[..body], &qh[..body]],
                &none,
                (&row[..body], &row[..body]),
            );
            let (mut s_lo, mut s_hi) = (0.0f64, 0.0f64);
            for k in 0..ACC {
                s_lo = round::add_down(s_lo, acc_lo[k]);
                s_hi = round::add_up(s_hi, acc_hi[k]);
            }
            for j in body..n {
                let x = row[j].to_f64_raw();
                let (pl, ph) = crate::num::interval::mul_bounds(x, x, ql[j], qh[j]);
                s_lo = round::add_down(s_lo, pl);
                s_hi = round::add_up(s_hi, ph);
            }
            (*low, *high) = (s_lo, s_hi);
        }
        finite
    }
}

/// The [`ACC`] partial sums of [`OffsetDotJob`] by the MXCSR loop (x86-64 FMA path; four
/// sums, the other lanes zeros, which add exactly), or `None` where it does not run.
#[inline(always)]
#[allow(unused_variables)]
fn mxcsr_dot<T: Float, const FMA: bool>(
    (q_lo, q_hi): (&[f64], &[f64]),
    lo: &[T],
    hi: &[T],
) -> Option<([f64; ACC], [f64; ACC])> {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        let proof = mxcsr::Avx2Fma::detect()?;
        let (l, h) = mxcsr::dot(proof, [q_lo, q_hi], lo, hi);
        let (mut acc_lo, mut acc_hi) = ([0.0; ACC], [0.0; ACC]);
        acc_lo[..4].copy_from_slice(&l);
        acc_hi[..4].copy_from_slice(&h);
        return Some((acc_lo, acc_hi));
    }
    None
}

/// The [`ACC`] partial sums of [`OffsetDotJob`] on the FMA or two-rounding lanes, over
/// whole chunks of `ACC` terms.
#[inline(always)]
fn partial_dot<T: Float, const FMA: bool>(
    (lo, hi): (&[T], &[T]),
    (q_lo, q_hi): (&[f64], &[f64]),
    q_neg: &[bool],
) -> ([f64; ACC], [f64; ACC]) {
    let (mut acc_lo, mut acc_hi) = ([0.0f64; ACC], [0.0f64; ACC]);
    let body = lo.len();
    let chunks = lo[..body]
        .chunks_exact(ACC)
        .zip(hi[..body].chunks_exact(ACC))
        .zip(
            q_lo[..body]
                .chunks_exact(ACC)
                .zip(q_hi[..body].chunks_exact(ACC)),
        )
        .zip(q_neg[..body].chunks_exact(ACC));
    for (((lo, hi), (q_lo, q_hi)), q_neg) in chunks {
        let (lo, hi, q_lo, q_hi, q_neg) = (
            &lo[..ACC],
            &hi[..ACC],
            &q_lo[..ACC],
            &q_hi[..ACC],
            &q_neg[..ACC],
        );
        for k in 0..ACC {
            let (x_l, x_h) = (lo[k].to_f64_raw(), hi[k].to_f64_raw());
            let (a, b) = if q_neg[k] { (x_h, x_l) } else { (x_l, x_h) };
            let qa = if a >= 0.0 { q_lo[k] } else { q_hi[k] };
            let qb = if b >= 0.0 { q_hi[k] } else { q_lo[k] };
            acc_lo[k] =
                round::lane_below::<FMA>(round::lane_fma_for_below::<FMA>(qa, a, acc_lo[k]));
            acc_hi[k] =
                round::lane_above::<FMA>(round::lane_fma_for_above::<FMA>(qb, b, acc_hi[k]));
        }
    }
    (acc_lo, acc_hi)
}

/// Bounds of the per-channel sums `S_c = Σ_{j ∈ block c} Λ_j` of one back-substitution row
/// whose `C·inner` columns come in channel blocks of `inner` (CNN layout): `out_lo[c] ≤ Σ lo`
/// and `out_hi[c] ≥ Σ hi`. Eight independent partial sums per block, each rounded to
/// nearest and stepped outward ([`round::lane_below`]), combined with
/// [`round::add_down`]/[`round::add_up`]; blocks holding an infinite coefficient are summed
/// by the scalar directed additions (which turn `∞ − ∞` into the trivial bound).
pub(crate) struct BlockSumJob<'a, T> {
    inner: usize,
    lo: &'a [T],
    hi: &'a [T],
    out_lo: &'a mut [f64],
    out_hi: &'a mut [f64],
}

impl<'a, T> BlockSumJob<'a, T> {
    /// Outward sums of each block of `inner` consecutive entries of `[lo, hi]` into
    /// `out_lo[k]`, `out_hi[k]` (block `k`).
    pub(crate) fn new(
        inner: usize,
        (lo, hi): (&'a [T], &'a [T]),
        (out_lo, out_hi): (&'a mut [f64], &'a mut [f64]),
    ) -> Self {
        BlockSumJob {
            inner,
            lo,
            hi,
            out_lo,
            out_hi,
        }
    }
}

impl<T: Float> Job for BlockSumJob<'_, T> {
    type Out = ();

    #[inline(always)]
    fn run<const FMA: bool>(self, wide: Wide) {
        let inner = self.inner;
        let blocks = self
            .lo
            .chunks_exact(inner)
            .zip(self.hi.chunks_exact(inner))
            .zip(self.out_lo.iter_mut().zip(self.out_hi.iter_mut()));
        for ((lo, hi), (s_lo, s_hi)) in blocks {
            let finite = lo.iter().chain(hi).all(|x| x.is_finite());
            let (mut l, mut h) = (0.0f64, 0.0f64);
            let mut tail = 0;
            if finite && inner >= ACC {
                let body = inner - inner % ACC;
                let (lo, hi) = (&lo[..body], &hi[..body]);
                let (acc_lo, acc_hi) = match wide {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `avx512::sum` requires AVX-512F, VL and DQ, AVX2 and FMA;
                    // `w` proves them.
                    Some(w) => unsafe { avx512::sum(w, lo, hi) },
                    _ => partial_sum::<T, FMA>(lo, hi),
                };
                for k in 0..ACC {
                    l = round::add_down(l, acc_lo[k]);
                    h = round::add_up(h, acc_hi[k]);
                }
                tail = body;
            }
            for (a, b) in lo[tail..].iter().zip(&hi[tail..]) {
                l = round::add_down(l, a.to_f64_raw());
                h = round::add_up(h, b.to_f64_raw());
            }
            (*s_lo, *s_hi) = (l, h);
        }
    }
}

/// The [`ACC`] partial sums of [`BlockSumJob`] on the FMA or two-rounding lanes, over
/// whole chunks of `ACC` entries (all finite).
#[inline(always)]
fn partial_sum<T: Float, const FMA: bool>(lo: &[T], hi: &[T]) -> ([f64; ACC], [f64; ACC]) {
    let (mut acc_lo, mut acc_hi) = ([0.0f64; ACC], [0.0f64; ACC]);
    for (a, b) in lo.chunks_exact(ACC).zip(hi.chunks_exact(ACC)) {
        for k in 0..ACC {
            acc_lo[k] = round::lane_below::<FMA>(acc_lo[k] + a[k].to_f64_raw());
            acc_hi[k] = round::lane_above::<FMA>(acc_hi[k] + b[k].to_f64_raw());
        }
    }
    (acc_lo, acc_hi)
}
