//! The named runtimes' outputs over a box, hulled with the real bounds, in vectorised
//! loops: the deployed half of [`crate::Bounds::ibp`].
//!
//! For each element the runtime's least output over its interval `[l, h]` is its least
//! output at one end (every recipe, with every flush choice, is monotone in `x`, in the
//! direction of the sign of `γ`: the soundness page, "Deployed-float semantics"), and its
//! greatest output the greatest at the other end. [`Lane::least`] computes the least
//! output of every recipe variant at a point branch-free, and says whether the flush model
//! could change it; the greatest is `−least` of the mirrored channel. The hull with the
//! real bound is the outer of the two on each side, as `hull_side` (module `super`) takes
//! it. An element the lane cannot vouch for (a flush may change the extreme, NaN), of a
//! channel without a lane, or (`f64` data) whose real bound is more than 4 steps outside
//! the runtime's output, which `hull_side` tightens exactly, marks its chunk, and the caller redoes marked chunks element by
//! element with the scalar path, which gives the same result on the elements already
//! hulled (taking the hull twice changes nothing).
//!
//! The loops run through [`crate::kernel::loops::dispatch`], so they are compiled with the
//! running CPU's instruction set (AVX2+FMA, AVX-512); the runtime's fused multiply-adds are
//! `mul_add`, one instruction there and the correctly rounded library call elsewhere.

use super::recipe::{Lane, Lanes, Table};
use crate::kernel::loops::{Job, Wide};
use crate::num::float::Float;

/// Elements per chunk: the unit a lane that cannot vouch sends to the scalar path.
const CHUNK: usize = 64;

/// The hull of the real bounds in `out_lo`/`out_hi` and the runtime's outputs over
/// `[lo, hi]`, in place; the run's result is the element ranges to redo by the scalar
/// path (empty in the common case).
pub(crate) struct HullJob<'a, T> {
    lanes: &'a Lanes<Vec<T>>,
    table: Table,
    inner: usize,
    first_block: usize,
    lo: &'a [T],
    hi: &'a [T],
    out_lo: &'a mut [T],
    out_hi: &'a mut [T],
}

impl<'a, T: Float> HullJob<'a, T> {
    /// The job over whole blocks of `inner` elements of a box laid out as `(…, C, inner)`
    /// with `C = lanes.len()` channels, the first being block `first_block` of the box.
    pub(crate) fn new(
        (lanes, table): (&'a Lanes<Vec<T>>, Table),
        (inner, first_block): (usize, usize),
        (lo, hi): (&'a [T], &'a [T]),
        (out_lo, out_hi): (&'a mut [T], &'a mut [T]),
    ) -> Self {
        HullJob {
            lanes,
            table,
            inner,
            first_block,
            lo,
            hi,
            out_lo,
            out_hi,
        }
    }

    #[inline(always)]
    fn go<const CENTRED: bool, const DIVIDED: bool>(self) -> Vec<std::ops::Range<usize>> {
        let mut redo = Vec::new();
        let c = self.lanes.ok.len();
        let n = self.out_lo.len();
        if c == 0 || n == 0 {
            return redo;
        }
        let inner = self.inner.max(1);
        let mut start = 0;
        while start < n {
            let ch = (self.first_block + start / inner) % c;
            // A chunk: one channel's run (inner > 1) or consecutive channels of a row.
            let end = if inner > 1 {
                (start + CHUNK).min((start / inner + 1) * inner)
            } else {
                (start + CHUNK).min(start + (c - ch))
            }
            .min(n);
            let (lo, hi) = (&self.lo[start..end], &self.hi[start..end]);
            let out_lo = &mut self.out_lo[start..end];
            let out_hi = &mut self.out_hi[start..end];
            let clean = if inner > 1 {
                self.lanes.ok[ch]
                    && block::<T, CENTRED, DIVIDED>(
                        self.lanes.at(ch),
                        self.lanes.neg[ch],
                        (lo, hi),
                        (out_lo, out_hi),
                    )
            } else {
                row::<T, CENTRED, DIVIDED>(self.lanes, ch, (lo, hi), (out_lo, out_hi))
            };
            if !clean {
                redo.push(start..end);
            }
            start = end;
        }
        redo
    }
}

impl<T: Float> Job for HullJob<'_, T> {
    type Out = Vec<std::ops::Range<usize>>;

    #[inline(always)]
    fn run<const FMA: bool>(self, _wide: Wide) -> Self::Out {
        match self.table {
            Table::Affine => self.go::<false, false>(),
            Table::Centred => self.go::<true, false>(),
            Table::Divided => self.go::<false, true>(),
        }
    }
}

/// One element's hull: the real bounds `r_lo`, `r_hi` and the runtime's least and greatest
/// outputs `y_lo`, `y_hi` (`sure`: the lanes vouch for them). Returns the new bounds and
/// whether the element needs the scalar path; then the real bounds are kept.
#[inline(always)]
fn hull<T: Float>(r_lo: T, r_hi: T, y_lo: T, y_hi: T, sure: bool) -> (T, T, bool) {
    // For `f64` data a real bound more than 4 steps outside the runtime's output goes to
    // the scalar path, which tightens it exactly (`hull_side`); `f32` real bounds are
    // within a step of the tightest already.
    let far = |a: T, b: T| a.is_finite() & b.is_finite() & (b.ordinal().abs_diff(a.ordinal()) > 4);
    let loose = (T::DTYPE == crate::num::float::Dtype::F64)
        & (((r_lo < y_lo) & far(r_lo, y_lo)) | ((y_hi < r_hi) & far(y_hi, r_hi)));
    let bad = !sure | loose;
    let lo = if bad | (r_lo < y_lo) { r_lo } else { y_lo };
    let hi = if bad | (r_hi > y_hi) { r_hi } else { y_hi };
    (lo, hi, bad)
}

/// A run of one channel's elements; `true` when every element is done.
#[inline(always)]
fn block<T: Float, const CENTRED: bool, const DIVIDED: bool>(
    k: Lane<T>,
    neg: bool,
    (lo, hi): (&[T], &[T]),
    (out_lo, out_hi): (&mut [T], &mut [T]),
) -> bool {
    let km = k.mirrored();
    let (from_lo, from_hi) = if neg { (hi, lo) } else { (lo, hi) };
    let n = out_lo.len();
    let (from_lo, from_hi, out_hi) = (&from_lo[..n], &from_hi[..n], &mut out_hi[..n]);
    let mut bad = false;
    for j in 0..n {
        let (y_lo, a) = k.least::<CENTRED, DIVIDED>(from_lo[j]);
        let (m_hi, b) = km.least::<CENTRED, DIVIDED>(from_hi[j]);
        let (l, h, e) = hull(out_lo[j], out_hi[j], y_lo, -m_hi, a & b);
        out_lo[j] = l;
        out_hi[j] = h;
        bad |= e;
    }
    !bad
}

/// Consecutive channels `first..` of one row, one element each; `true` when every element
/// is done.
#[inline(always)]
fn row<T: Float, const CENTRED: bool, const DIVIDED: bool>(
    lanes: &Lanes<Vec<T>>,
    first: usize,
    (lo, hi): (&[T], &[T]),
    (out_lo, out_hi): (&mut [T], &mut [T]),
) -> bool {
    let n = out_lo.len();
    let (lo, hi, out_hi) = (&lo[..n], &hi[..n], &mut out_hi[..n]);
    let run = lanes.run(first, n);
    let neg = run.neg;
    let mut bad = false;
    for j in 0..n {
        // A channel without a lane holds NaN, which `least` never vouches for. The end
        // comes from the sign of γ, not of α: α may underflow to a zero while the
        // fallback's `RN(t·γ)` still decreases with x.
        let k = run.at(j);
        let (a, b) = if neg[j] {
            (hi[j], lo[j])
        } else {
            (lo[j], hi[j])
        };
        let (y_lo, s) = k.least::<CENTRED, DIVIDED>(a);
        let (m_hi, t) = k.mirrored().least::<CENTRED, DIVIDED>(b);
        let (l, h, e) = hull(out_lo[j], out_hi[j], y_lo, -m_hi, s & t);
        out_lo[j] = l;
        out_hi[j] = h;
        bad |= e;
    }
    !bad
}
