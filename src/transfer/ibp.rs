//! Interval bound propagation (IBP) through the layer.
//!
//! For exact scale `s` and offset `o` of channel `c`, the image of `[l, h]` under
//! `x ↦ s·x + o` is `[s·l + o, s·h + o]` for `s > 0`, `[s·h + o, s·l + o]` for `s < 0` and
//! `{o}` for `s = 0`. With `s ∈ [s̲, s̄]` and `o ∈ [o̲, ō]`, the lower bound at an endpoint
//! `x` is `min(s̲·x, s̄·x) + o̲` (the smaller product is the one with `s̲` when `x ≥ 0`).
//! The per-element loops are `crate::kernel`'s, on the path the enclosure's
//! [`crate::Kernel`] resolves to: one FMA with AVX-512's embedded rounding toward `−∞`
//! (`+∞` for the upper bound), narrowed to `f32` by a directed conversion; the AVX2+FMA loop
//! under MXCSR's rounding toward `−∞`; one round-to-nearest FMA and one outward step
//! (short tails, other CPUs); or two roundings with two outward steps. Every rounding is
//! [`crate::num::round`]'s. Channels the fast formula does not cover (`s = 0`, a scale
//! endpoint that is zero or infinite, an infinite offset) take the scalar
//! `layer::channel::image`: infinite endpoints use the exact sign of `s`, and `s = 0`
//! ignores `x` entirely, so an unbounded box maps to `{o}`.

use crate::error::{Error, Result};
use crate::kernel::loops::{self, MapJob};
use crate::layer::enclosure::Enclosure;
use crate::num::float::Float;
use crate::tensor::{BoxView, TensorBox};

/// Applies the per-element map (IBP for `OFFSET = true`) to every (batch, channel) block of
/// a box through the enclosure's [`crate::Kernel`], after checking the channel count
/// and the output lengths (nothing is written on error).
pub(crate) fn per_channel<T: Float, const OFFSET: bool>(
    enc: &Enclosure,
    input: &BoxView<'_, T>,
    out_lo: &mut [T],
    out_hi: &mut [T],
) -> Result<()> {
    check_lengths(enc, input, out_lo, out_hi)?;
    let inner = input.shape().inner();
    let job = MapJob::<T, OFFSET, _>::new(
        enc.laid_out(),
        inner,
        0,
        (input.lo(), input.hi()),
        (out_lo, out_hi),
    );
    loops::dispatch(enc.kernel(), job);
    Ok(())
}

/// IBP over a piece of a box: whole blocks of `inner` elements of a `(…, C, inner)`
/// layout, the first being block `first_block` of the box, through the enclosure's
/// kernel. Unchecked: the caller has checked the box with [`check_lengths`], and the four
/// slices are the same piece of the input and the outputs.
pub(crate) fn ibp_blocks<T: Float>(
    enc: &Enclosure,
    inner: usize,
    first_block: usize,
    input: (&[T], &[T]),
    out: (&mut [T], &mut [T]),
) {
    let job = MapJob::<T, true, _>::new(enc.laid_out(), inner, first_block, input, out);
    loops::dispatch(enc.kernel(), job);
}

/// The channel count of `input` is the layer's, and both outputs have its element count.
pub(crate) fn check_lengths<T: Float>(
    enc: &Enclosure,
    input: &BoxView<'_, T>,
    out_lo: &[T],
    out_hi: &[T],
) -> Result<()> {
    let shape = input.shape();
    if shape.channels() != enc.channels() {
        return Err(Error::ChannelMismatch {
            expected: enc.channels(),
            found: shape.channels(),
        });
    }
    for (what, v) in [("out_lo", out_lo), ("out_hi", out_hi)] {
        if v.len() != shape.len() {
            return Err(Error::DataLength {
                what,
                expected: shape.len(),
                found: v.len(),
            });
        }
    }
    Ok(())
}

impl Enclosure {
    /// IBP into caller buffers: writes an output box that contains
    /// `{ s_c·x + o_c : x ∈ input }` element by element, where `s_c`, `o_c` are the *exact*
    /// real scale and offset of the element's channel (the real-number BatchNorm of the
    /// given float parameters). For `f32` the bounds are rounded outward to `f32`.
    ///
    /// Guarantees: every output element has `lo ≤ hi` and no NaN; a bound may be `±∞` when
    /// the exact image is unbounded or exceeds the type's range. No allocation.
    ///
    /// Errors (nothing is written): [`Error::ChannelMismatch`], [`Error::DataLength`] when an
    /// output buffer's length differs from the shape's element count.
    ///
    /// ```
    /// use bnbound::{BatchNorm, BoxView, Shape};
    /// let bn = BatchNorm::new(vec![-2.0f32], vec![1.0], vec![0.0], vec![4.0], 0.0)?; // y = 1 − x
    /// let (lo, hi) = ([0.0f32, 2.0], [1.0f32, f32::INFINITY]);
    /// let input = BoxView::new(Shape::new(&[2, 1])?, &lo, &hi)?;
    /// let (mut ylo, mut yhi) = ([0.0f32; 2], [0.0f32; 2]);
    /// bn.enclose().ibp_into(&input, &mut ylo, &mut yhi)?;
    /// // Exact images: [0, 1] and (−∞, −1]; the bounds contain them, at most a step wider.
    /// assert!(ylo[0] <= 0.0 && ylo[0] >= -f32::from_bits(1));
    /// assert!(yhi[0] >= 1.0 && yhi[0] <= 1f32.next_up());
    /// assert!(ylo[1] == f32::NEG_INFINITY && yhi[1] >= -1.0 && yhi[1] <= (-1.0f32).next_up());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp_into<T: Float>(
        &self,
        input: &BoxView<'_, T>,
        out_lo: &mut [T],
        out_hi: &mut [T],
    ) -> Result<()> {
        let _env = crate::num::round::env::enter();
        per_channel::<T, true>(self, input, out_lo, out_hi)
    }

    /// [`Enclosure::ibp_into`] with the box split into runs of whole (batch, channel)
    /// blocks (of whole rows for `(N, C)` boxes) processed in parallel on rayon's thread
    /// pool (feature `rayon`). Same contract, and bit-for-bit the same output, as
    /// [`Enclosure::ibp_into`]; nothing is written on error.
    ///
    /// ```
    /// use bnbound::{BatchNorm, BoxView, Shape};
    /// let bn = BatchNorm::new(vec![0.5f32, -2.0], vec![0.0; 2], vec![0.0; 2], vec![1.0; 2], 1e-5)?;
    /// let (lo, hi) = (vec![-1.0f32; 2 * 4096], vec![1.0f32; 2 * 4096]);
    /// let input = BoxView::new(Shape::new(&[1, 2, 64, 64])?, &lo, &hi)?;
    /// let (mut a, mut b) = (vec![0.0f32; lo.len()], vec![0.0f32; lo.len()]);
    /// let (mut c, mut d) = (a.clone(), b.clone());
    /// let enc = bn.enclose();
    /// enc.par_ibp_into(&input, &mut a, &mut b)?;
    /// enc.ibp_into(&input, &mut c, &mut d)?;
    /// assert!(a == c && b == d);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    #[cfg(feature = "rayon")]
    pub fn par_ibp_into<T: Float>(
        &self,
        input: &BoxView<'_, T>,
        out_lo: &mut [T],
        out_hi: &mut [T],
    ) -> Result<()> {
        let _env = crate::num::round::env::enter();
        use rayon::prelude::*;
        check_lengths(self, input, out_lo, out_hi)?;
        let inner = input.shape().inner();
        if inner == 0 || self.channels() == 0 {
            return Ok(());
        }
        // A task is a whole number of blocks (rows when inner = 1), about 64 Ki elements.
        let unit = if inner == 1 { self.channels() } else { inner };
        let per_task = unit * (65_536 / unit).max(1);
        let outs = out_lo
            .par_chunks_mut(per_task)
            .zip(out_hi.par_chunks_mut(per_task));
        let ins = input
            .lo()
            .par_chunks(per_task)
            .zip(input.hi().par_chunks(per_task));
        outs.zip(ins)
            .enumerate()
            .for_each(|(t, ((yl, yh), (l, h)))| {
                // A pool thread has its own control register (inherited from whichever
                // thread created it): each task opens the default environment too.
                let _env = crate::num::round::env::enter();
                let job = MapJob::<T, true, _>::new(
                    self.laid_out(),
                    inner,
                    t * per_task / inner,
                    (l, h),
                    (yl, yh),
                );
                loops::dispatch(self.kernel(), job);
            });
        Ok(())
    }

    /// IBP returning a new box; same contract as [`Enclosure::ibp_into`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Shape, TensorBox};
    /// // f64, γ = 1, σ² + ε = 1, μ = 0, β = 0.5: y = x + 0.5 exactly.
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.5], vec![0.0], vec![1.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1, 1, 2])?, vec![-1.0, 0.0], vec![1.0, 0.0])?;
    /// let y = bn.enclose().ibp(&x)?;
    /// assert!(y.lo()[0] <= -0.5 && y.hi()[0] >= 1.5);
    /// assert!(y.lo()[1] <= 0.5 && 0.5 <= y.hi()[1]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp<T: Float>(&self, input: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        let n = input.shape().len();
        let (mut lo, mut hi) = (vec![T::zero(); n], vec![T::zero(); n]);
        self.ibp_into(&input.view(), &mut lo, &mut hi)?;
        Ok(TensorBox::from_valid(*input.shape(), lo, hi))
    }
}
