//! Shapes and boxes (element-wise intervals) of tensors with the channel on axis 1.

use crate::error::{Error, Result, Side};
use crate::num::float::Float;

/// A tensor shape `(C)`, `(N,C)`, `(N,C,L)`, `(N,C,H,W)` or `(N,C,D,H,W)`, row-major, with
/// the channel on axis 1 (axis 0 for rank 1), as in PyTorch and ONNX.
///
/// ```
/// use bnbound::Shape;
/// let s = Shape::new(&[2, 3, 4, 5])?;
/// assert_eq!((s.batch(), s.channels(), s.inner(), s.len()), (2, 3, 20, 120));
/// assert!(Shape::new(&[1, 2, 3, 4, 5, 6]).is_err());
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [usize; 5],
    rank: u8,
    len: usize,
}

impl Shape {
    /// Validates a shape: rank 1 to 5, element count fits in `usize`. Zero-sized
    /// dimensions are allowed (an empty box).
    ///
    /// ```
    /// assert_eq!(bnbound::Shape::new(&[7])?.channels(), 7);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn new(dims: &[usize]) -> Result<Self> {
        let _env = crate::num::round::env::enter();
        if dims.is_empty() || dims.len() > 5 {
            return Err(Error::BadRank(dims.to_vec()));
        }
        let len = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::ShapeOverflow(dims.to_vec()))?;
        let mut d = [0usize; 5];
        d[..dims.len()].copy_from_slice(dims);
        Ok(Shape {
            dims: d,
            rank: dims.len() as u8,
            len,
        })
    }

    /// The dimensions.
    ///
    /// ```
    /// assert_eq!(bnbound::Shape::new(&[2, 3])?.dims(), &[2, 3]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }

    /// The rank (1 to 5).
    ///
    /// ```
    /// assert_eq!(bnbound::Shape::new(&[2, 3, 4])?.rank(), 3);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// The number of elements.
    ///
    /// ```
    /// assert_eq!(bnbound::Shape::new(&[2, 3, 4])?.len(), 24);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the shape has no elements.
    ///
    /// ```
    /// assert!(bnbound::Shape::new(&[0, 3])?.is_empty());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The channel count: dimension 1, or dimension 0 for rank 1.
    ///
    /// ```
    /// assert_eq!(bnbound::Shape::new(&[8, 3, 32, 32])?.channels(), 3);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn channels(&self) -> usize {
        if self.rank == 1 {
            self.dims[0]
        } else {
            self.dims[1]
        }
    }

    /// The batch size `N` (1 for rank 1).
    ///
    /// ```
    /// assert_eq!(bnbound::Shape::new(&[8, 3, 32, 32])?.batch(), 8);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn batch(&self) -> usize {
        if self.rank == 1 {
            1
        } else {
            self.dims[0]
        }
    }

    /// The number of elements per (batch, channel) pair: the product of the dimensions
    /// after the channel axis (1 for rank ≤ 2). These elements are contiguous.
    ///
    /// ```
    /// assert_eq!(bnbound::Shape::new(&[8, 3, 32, 32])?.inner(), 1024);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn inner(&self) -> usize {
        self.dims[2..self.rank.max(2) as usize].iter().product()
    }

    /// The channel of the element at flat row-major index `i` (`i < len()`).
    ///
    /// ```
    /// let s = bnbound::Shape::new(&[2, 3, 4])?;
    /// assert_eq!((s.channel_of(0), s.channel_of(4), s.channel_of(12)), (0, 1, 0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn channel_of(&self, i: usize) -> usize {
        (i / self.inner().max(1)) % self.channels().max(1)
    }
}

/// Checks a box: lengths match the shape, no NaN, `lo ≤ hi` element-wise.
fn validate<T: Float>(shape: &Shape, lo: &[T], hi: &[T]) -> Result<()> {
    for (what, v) in [("lo", lo), ("hi", hi)] {
        if v.len() != shape.len() {
            return Err(Error::DataLength {
                what,
                expected: shape.len(),
                found: v.len(),
            });
        }
    }
    for (index, (&l, &h)) in lo.iter().zip(hi).enumerate() {
        if l.is_nan() {
            return Err(Error::NanBound {
                index,
                side: Side::Lo,
            });
        }
        if h.is_nan() {
            return Err(Error::NanBound {
                index,
                side: Side::Hi,
            });
        }
        if l > h {
            return Err(Error::InvertedBound {
                index,
                lo: l.to_f64_raw(),
                hi: h.to_f64_raw(),
            });
        }
    }
    Ok(())
}

/// An owned box: for every element of a tensor of the given shape, a closed interval
/// `[lo_i, hi_i]` with `lo_i ≤ hi_i`, no NaN; endpoints may be `±∞` (unbounded).
///
/// The box denotes the set of real tensors `x` with `lo_i ≤ x_i ≤ hi_i` (an infinite
/// endpoint imposes no bound).
///
/// ```
/// use bnbound::{Shape, TensorBox};
/// let b = TensorBox::new(Shape::new(&[1, 2])?, vec![0.0f32, -1.0], vec![1.0, f32::INFINITY])?;
/// assert_eq!(b.hi()[1], f32::INFINITY);
/// assert!(TensorBox::new(Shape::new(&[1])?, vec![2.0f32], vec![1.0]).is_err());
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TensorBox<T: Float> {
    shape: Shape,
    lo: Vec<T>,
    hi: Vec<T>,
}

impl<T: Float> TensorBox<T> {
    /// Validates and builds a box. Errors: [`Error::DataLength`], [`Error::NanBound`],
    /// [`Error::InvertedBound`] (the first offending element, in row-major order).
    ///
    /// ```
    /// use bnbound::{Shape, TensorBox};
    /// let e = TensorBox::new(Shape::new(&[2])?, vec![0.0f64, f64::NAN], vec![1.0, 1.0]).unwrap_err();
    /// assert_eq!(e.to_string(), "lo[1] is NaN");
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn new(shape: Shape, lo: Vec<T>, hi: Vec<T>) -> Result<Self> {
        let _env = crate::num::round::env::enter();
        validate(&shape, &lo, &hi)?;
        Ok(TensorBox { shape, lo, hi })
    }

    /// Builds a box without validation, for results this crate has proved valid.
    pub(crate) fn from_valid(shape: Shape, lo: Vec<T>, hi: Vec<T>) -> Self {
        debug_assert!(validate(&shape, &lo, &hi).is_ok());
        TensorBox { shape, lo, hi }
    }

    /// The shape.
    ///
    /// ```
    /// use bnbound::{Shape, TensorBox};
    /// let b = TensorBox::new(Shape::new(&[1])?, vec![0.0f64], vec![1.0])?;
    /// assert_eq!(b.shape().dims(), &[1]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The lower endpoints, row-major.
    ///
    /// ```
    /// use bnbound::{Shape, TensorBox};
    /// let b = TensorBox::new(Shape::new(&[1])?, vec![0.0f64], vec![1.0])?;
    /// assert_eq!(b.lo(), &[0.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn lo(&self) -> &[T] {
        &self.lo
    }

    /// The upper endpoints, row-major.
    ///
    /// ```
    /// use bnbound::{Shape, TensorBox};
    /// let b = TensorBox::new(Shape::new(&[1])?, vec![0.0f64], vec![1.0])?;
    /// assert_eq!(b.hi(), &[1.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn hi(&self) -> &[T] {
        &self.hi
    }

    /// A borrowed view of this box (no copy, no re-validation).
    ///
    /// ```
    /// use bnbound::{Shape, TensorBox};
    /// let b = TensorBox::new(Shape::new(&[1])?, vec![0.0f64], vec![1.0])?;
    /// assert_eq!(b.view().lo(), b.lo());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn view(&self) -> BoxView<'_, T> {
        BoxView {
            shape: self.shape,
            lo: &self.lo,
            hi: &self.hi,
        }
    }

    /// Takes the box apart into `(shape, lo, hi)`.
    ///
    /// ```
    /// use bnbound::{Shape, TensorBox};
    /// let (shape, lo, hi) = TensorBox::new(Shape::new(&[1])?, vec![0.0f64], vec![1.0])?.into_parts();
    /// assert_eq!((shape.len(), lo, hi), (1, vec![0.0], vec![1.0]));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn into_parts(self) -> (Shape, Vec<T>, Vec<T>) {
        (self.shape, self.lo, self.hi)
    }
}

/// A borrowed, validated box over caller-owned slices; see [`TensorBox`] for the meaning.
///
/// ```
/// use bnbound::{BoxView, Shape};
/// let (lo, hi) = ([0.0f32, 1.0], [0.5f32, 2.0]);
/// let v = BoxView::new(Shape::new(&[2])?, &lo, &hi)?;
/// assert_eq!(v.shape().len(), 2);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BoxView<'a, T: Float> {
    shape: Shape,
    lo: &'a [T],
    hi: &'a [T],
}

impl<'a, T: Float> BoxView<'a, T> {
    /// Validates the slices as a box of `shape` (same checks as [`TensorBox::new`]).
    ///
    /// ```
    /// use bnbound::{BoxView, Shape};
    /// assert!(BoxView::new(Shape::new(&[2])?, &[0.0f64], &[1.0]).is_err());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn new(shape: Shape, lo: &'a [T], hi: &'a [T]) -> Result<Self> {
        let _env = crate::num::round::env::enter();
        validate(&shape, lo, hi)?;
        Ok(BoxView { shape, lo, hi })
    }

    /// The shape.
    ///
    /// ```
    /// use bnbound::{BoxView, Shape};
    /// assert_eq!(BoxView::new(Shape::new(&[1])?, &[0.0f64], &[1.0])?.shape().rank(), 1);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The lower endpoints, row-major.
    ///
    /// ```
    /// use bnbound::{BoxView, Shape};
    /// assert_eq!(BoxView::new(Shape::new(&[1])?, &[0.0f64], &[1.0])?.lo(), &[0.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn lo(&self) -> &'a [T] {
        self.lo
    }

    /// The upper endpoints, row-major.
    ///
    /// ```
    /// use bnbound::{BoxView, Shape};
    /// assert_eq!(BoxView::new(Shape::new(&[1])?, &[0.0f64], &[1.0])?.hi(), &[1.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn hi(&self) -> &'a [T] {
        self.hi
    }
}
