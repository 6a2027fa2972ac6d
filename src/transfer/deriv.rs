//! Derivative bounds. BatchNorm is affine per channel, `BN(x) = s·x + o`, so
//! `d BN(f(t))/dt = s·f'(t)` and `d² BN(f(t))/dt² = s·f''(t)`, while BatchNorm's own second
//! derivative (its Hessian in `x`) is exactly zero.

use crate::error::Result;
use crate::layer::enclosure::Enclosure;
use crate::num::float::Float;
use crate::tensor::{BoxView, TensorBox};
use crate::transfer::ibp::per_channel;

impl Enclosure {
    /// First derivative through the chain rule, into caller buffers: given bounds
    /// `[dlo, dhi]` on `df/dt` of each BatchNorm input element, writes a box containing
    /// `s_c·[dlo, dhi]` for the exact scale `s_c` of the element's channel. Any rank, f32 or
    /// f64; output valid (no NaN, `lo ≤ hi`); `s_c = 0` gives `{0}` even for unbounded input.
    ///
    /// Errors as [`Enclosure::ibp_into`]; nothing is written on error.
    ///
    /// ```
    /// use bnbound::{BatchNorm, BoxView, Shape};
    /// let bn = BatchNorm::new(vec![-2.0f64], vec![5.0], vec![1.0], vec![4.0], 0.0)?; // s = −1
    /// let d = BoxView::new(Shape::new(&[1])?, &[0.5], &[2.0])?;
    /// let (mut lo, mut hi) = ([0.0; 1], [0.0; 1]);
    /// bn.enclose().derivative_chain_into(&d, &mut lo, &mut hi)?;
    /// assert_eq!((lo[0], hi[0]), (-2.0, -0.5)); // exact products are not widened
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn derivative_chain_into<T: Float>(
        &self,
        dbox: &BoxView<'_, T>,
        out_lo: &mut [T],
        out_hi: &mut [T],
    ) -> Result<()> {
        let _env = crate::num::round::env::enter();
        per_channel::<T, false>(self, dbox, out_lo, out_hi)
    }

    /// First derivative through the chain rule: a box containing `s_c·[dlo, dhi]`
    /// element-wise; see [`Enclosure::derivative_chain_into`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f32, 0.0], vec![0.0; 2], vec![0.0; 2], vec![2.0; 2], 0.0)?;
    /// let d = TensorBox::new(Shape::new(&[1, 2])?, vec![1.0, f32::NEG_INFINITY], vec![1.0, 3.0])?;
    /// let out = bn.enclose().derivative_chain(&d)?;
    /// // 1/√2 lies between the two f32 bounds; the γ = 0 channel has derivative 0.
    /// let r = std::f64::consts::FRAC_1_SQRT_2; // within 2⁻⁵³ of 1/√2, far inside f32 ulps
    /// assert!((out.lo()[0] as f64) < r && r < out.hi()[0] as f64);
    /// assert_eq!((out.lo()[1], out.hi()[1]), (0.0, 0.0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn derivative_chain<T: Float>(&self, dbox: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        let n = dbox.shape().len();
        let (mut lo, mut hi) = (vec![T::zero(); n], vec![T::zero(); n]);
        self.derivative_chain_into(&dbox.view(), &mut lo, &mut hi)?;
        Ok(TensorBox::from_valid(*dbox.shape(), lo, hi))
    }
}
