//! IBP on `ndarray` views (feature `ndarray`): the same contract as
//! [`Enclosure::ibp_into`](crate::Enclosure::ibp_into), for arrays of rank 1 to 5 with the
//! channel axis 1 (0 for rank 1).

use crate::error::{Error, Result};
use crate::layer::enclosure::Enclosure;
use crate::num::float::Float;
use crate::tensor::{BoxView, Shape};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

/// The array's elements as one row-major slice, or an error naming it: bnbound reads the
/// elements in row-major order and never guesses another layout.
fn contiguous<'b, T>(a: &'b ArrayViewD<'_, T>, what: &'static str) -> Result<&'b [T]> {
    a.as_slice().ok_or(Error::NotStandardLayout { what })
}

impl Enclosure {
    /// IBP of the box `[lo, hi]` given as two `ndarray` views of the same shape (rank 1 to
    /// 5, channel axis 1, or 0 for rank 1, standard layout): returns new arrays `(ylo, yhi)`
    /// of that shape containing the exact real image element by element, with the contract
    /// of [`Enclosure::ibp_into`].
    ///
    /// Errors: [`Error::ShapeMismatch`], [`Error::NotStandardLayout`],
    /// and those of [`Shape::new`], [`BoxView::new`] and [`Enclosure::ibp_into`].
    ///
    /// ```
    /// use bnbound::BatchNorm;
    /// use ndarray::ArrayD;
    /// let bn = BatchNorm::new(vec![2.0f32, -1.0], vec![0.0; 2], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let lo = ArrayD::from_shape_vec(vec![1, 2, 2], vec![0.0f32, 1.0, 0.0, 1.0]).unwrap();
    /// let hi = lo.mapv(|x| x + 1.0);
    /// let (ylo, yhi) = bn.enclose().ibp_array(lo.view(), hi.view())?;
    /// // Channel 0: y = x, channel 1: y = −x; exact images [0,1], [1,2], [−1,0], [−2,−1],
    /// // each enclosed (the kernel may widen a bound by a step).
    /// let exact = [(0.0, 1.0), (1.0, 2.0), (-1.0, 0.0), (-2.0, -1.0)];
    /// for (i, (l, h)) in exact.into_iter().enumerate() {
    ///     assert!(ylo.as_slice().unwrap()[i] <= l && yhi.as_slice().unwrap()[i] >= h);
    /// }
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp_array<T: Float>(
        &self,
        lo: ArrayViewD<'_, T>,
        hi: ArrayViewD<'_, T>,
    ) -> Result<(ArrayD<T>, ArrayD<T>)> {
        let _env = crate::num::round::env::enter();
        let (mut ylo, mut yhi) = (ArrayD::zeros(lo.raw_dim()), ArrayD::zeros(lo.raw_dim()));
        self.ibp_array_into(lo, hi, ylo.view_mut(), yhi.view_mut())?;
        Ok((ylo, yhi))
    }

    /// [`Enclosure::ibp_array`] into caller arrays of the same shape (standard layout);
    /// nothing is written on error.
    ///
    /// ```
    /// use bnbound::BatchNorm;
    /// use ndarray::ArrayD;
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.5], vec![0.0], vec![1.0], 0.0)?; // y = x + 0.5
    /// let x = ArrayD::from_elem(vec![3], 1.0f64);
    /// let (mut a, mut b) = (ArrayD::zeros(vec![3]), ArrayD::zeros(vec![3]));
    /// // Rank 1: the single axis is the channel axis, so 3 channels are expected.
    /// assert!(bn.enclose().ibp_array_into(x.view(), x.view(), a.view_mut(), b.view_mut()).is_err());
    /// let x = ArrayD::from_elem(vec![3, 1], 1.0f64);
    /// let (mut a, mut b) = (ArrayD::zeros(vec![3, 1]), ArrayD::zeros(vec![3, 1]));
    /// bn.enclose().ibp_array_into(x.view(), x.view(), a.view_mut(), b.view_mut())?;
    /// assert!(a.iter().all(|&y| y <= 1.5) && b.iter().all(|&y| y >= 1.5));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp_array_into<T: Float>(
        &self,
        lo: ArrayViewD<'_, T>,
        hi: ArrayViewD<'_, T>,
        mut out_lo: ArrayViewMutD<'_, T>,
        mut out_hi: ArrayViewMutD<'_, T>,
    ) -> Result<()> {
        let _env = crate::num::round::env::enter();
        let dims = lo.shape().to_vec();
        for (what, s) in [
            ("hi", hi.shape()),
            ("out_lo", out_lo.shape()),
            ("out_hi", out_hi.shape()),
        ] {
            if s != dims.as_slice() {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: dims.clone(),
                    found: s.to_vec(),
                });
            }
        }
        let shape = Shape::new(&dims)?;
        let view = BoxView::new(shape, contiguous(&lo, "lo")?, contiguous(&hi, "hi")?)?;
        let not_standard = |what: &'static str| Error::NotStandardLayout { what };
        let ylo = out_lo
            .as_slice_mut()
            .ok_or_else(|| not_standard("out_lo"))?;
        let yhi = out_hi
            .as_slice_mut()
            .ok_or_else(|| not_standard("out_hi"))?;
        self.ibp_into(&view, ylo, yhi)
    }
}
