//! Interval affine forms `A·x + c`, their concretization over a box, and float-coefficient
//! bounds (the coefficient uncertainty moved into the constant).

use crate::error::{Error, Result};
use crate::num::float::Float;
use crate::num::interval::dot_bounds;
use crate::num::round;
use crate::tensor::{Shape, TensorBox};

/// An affine form `x ↦ A·x + c` with interval coefficients: `A` has `rows × cols` entries
/// (row-major), `c` has `rows`; a point form has `lo = hi`. It denotes the set of affine
/// maps with real coefficients `a_ij ∈ A_ij`, `c_i ∈ c_i`. Endpoints may be infinite
/// (unbounded coefficients), never NaN, `lo ≤ hi`.
///
/// Used both as a form *feeding* BatchNorm (`rows = C`, see [`Enclosure::compose`](crate::Enclosure::compose)) and as
/// a linear function *of* BatchNorm's output (`cols = C`, see [`Enclosure::backward`](crate::Enclosure::backward)).
///
/// ```
/// use bnbound::{AffineForm, Shape, TensorBox};
/// let a = TensorBox::new(Shape::new(&[2, 3])?, vec![1.0f64; 6], vec![1.0; 6])?;
/// let c = TensorBox::new(Shape::new(&[2])?, vec![0.0, -1.0], vec![0.5, -1.0])?;
/// let f = AffineForm::new(a, c)?;
/// assert_eq!((f.rows(), f.cols()), (2, 3));
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AffineForm<T: Float> {
    a: TensorBox<T>,
    c: TensorBox<T>,
}

/// A linear function with float coefficients, `x ↦ coef·x + constant` (`coef` row-major,
/// `rows × cols`), as returned by [`AffineForm::lower_bound_on`] and
/// [`AffineForm::upper_bound_on`].
///
/// ```
/// use bnbound::{AffineForm, Shape, TensorBox};
/// let a = TensorBox::new(Shape::new(&[1, 1])?, vec![1.0f64], vec![3.0])?;
/// let c = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![0.0])?;
/// let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
/// let low = AffineForm::new(a, c)?.lower_bound_on(&x)?;
/// assert_eq!(low.coef(), &[2.0]);     // the midpoint of [1, 3]
/// assert_eq!(low.constant(), &[-1.0]); // (a − 2)·x ≥ −1 on x ∈ [0, 1]
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FloatForm<T: Float> {
    rows: usize,
    cols: usize,
    coef: Vec<T>,
    constant: Vec<T>,
}

impl<T: Float> FloatForm<T> {
    /// The number of rows (outputs).
    ///
    /// ```
    /// # use bnbound::{AffineForm, Shape, TensorBox};
    /// # let f = AffineForm::new(TensorBox::new(Shape::new(&[1, 1])?, vec![1.0f64], vec![1.0])?,
    /// #     TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![0.0])?)?;
    /// # let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
    /// assert_eq!(f.lower_bound_on(&x)?.rows(), 1);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// The number of columns (inputs).
    ///
    /// ```
    /// # use bnbound::{AffineForm, Shape, TensorBox};
    /// # let f = AffineForm::new(TensorBox::new(Shape::new(&[1, 1])?, vec![1.0f64], vec![1.0])?,
    /// #     TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![0.0])?)?;
    /// # let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
    /// assert_eq!(f.upper_bound_on(&x)?.cols(), 1);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// The coefficients, row-major.
    ///
    /// ```
    /// # use bnbound::{AffineForm, Shape, TensorBox};
    /// # let f = AffineForm::new(TensorBox::new(Shape::new(&[1, 1])?, vec![1.0f64], vec![1.0])?,
    /// #     TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![0.0])?)?;
    /// # let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
    /// assert_eq!(f.lower_bound_on(&x)?.coef(), &[1.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn coef(&self) -> &[T] {
        &self.coef
    }
    /// The constants, one per row.
    ///
    /// ```
    /// # use bnbound::{AffineForm, Shape, TensorBox};
    /// # let f = AffineForm::new(TensorBox::new(Shape::new(&[1, 1])?, vec![1.0f64], vec![1.0])?,
    /// #     TensorBox::new(Shape::new(&[1])?, vec![0.5], vec![0.5])?)?;
    /// # let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
    /// assert_eq!(f.upper_bound_on(&x)?.constant(), &[0.5]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn constant(&self) -> &[T] {
        &self.constant
    }
}

/// Linear bounds with one float coefficient matrix and two constants per row: for the
/// function `f` they bound and every `x` of the box they were made for,
/// `coef·x + lower ≤ f(x) ≤ coef·x + upper` in exact arithmetic (`coef` row-major,
/// `rows × cols`). Returned by [`crate::Bounds::backward_batch`], CROWN's back-substitution
/// as verifiers call it (auto_LiRPA's `lA`/`uA` and biases).
///
/// ```
/// use bnbound::{BatchNorm, Mode, Semantics, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![2.0f64], vec![1.0], vec![0.0], vec![4.0], 0.0)?; // y = x + 1
/// let x = TensorBox::new(Shape::new(&[1, 1])?, vec![0.0], vec![1.0])?;
/// let b = bn.bounds(Mode::Fast, Semantics::Real)?.backward_batch(&[3.0], &[1], &x)?;
/// assert_eq!((b.rows(), b.cols()), (1, 1));
/// assert_eq!((b.coef(), b.lower(), b.upper()), (&[3.0][..], &[3.0][..], &[3.0][..]));
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearBounds<T: Float> {
    rows: usize,
    cols: usize,
    coef: Vec<T>,
    lower: Vec<T>,
    upper: Vec<T>,
}

impl<T: Float> LinearBounds<T> {
    /// The number of rows (bounded functions).
    ///
    /// ```
    /// # use bnbound::{BatchNorm, Mode, Semantics, Shape, TensorBox};
    /// # let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// # let x = TensorBox::new(Shape::new(&[1, 1])?, vec![0.0], vec![1.0])?;
    /// let b = bn.bounds(Mode::Fast, Semantics::Real)?.backward_batch(&[1.0, 2.0], &[1], &x)?;
    /// assert_eq!(b.rows(), 2);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns (inputs per row).
    ///
    /// ```
    /// # use bnbound::{BatchNorm, Mode, Semantics, Shape, TensorBox};
    /// # let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// # let x = TensorBox::new(Shape::new(&[1, 1])?, vec![0.0], vec![1.0])?;
    /// let b = bn.bounds(Mode::Fast, Semantics::Real)?.backward_batch(&[1.0, 2.0], &[1], &x)?;
    /// assert_eq!(b.cols(), 1);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The coefficients, row-major `rows × cols`.
    ///
    /// ```
    /// # use bnbound::{BatchNorm, Mode, Semantics, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2
    /// # let x = TensorBox::new(Shape::new(&[1, 1])?, vec![0.0], vec![1.0])?;
    /// let b = bn.bounds(Mode::Fast, Semantics::Real)?.backward_batch(&[1.0], &[1], &x)?;
    /// assert_eq!(b.coef(), &[0.5]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn coef(&self) -> &[T] {
        &self.coef
    }

    /// The lower constants, one per row.
    ///
    /// ```
    /// # use bnbound::{BatchNorm, Mode, Semantics, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![5.0], vec![0.0], vec![1.0], 0.0)?; // y = x + 5
    /// # let x = TensorBox::new(Shape::new(&[1, 1])?, vec![0.0], vec![1.0])?;
    /// let b = bn.bounds(Mode::Fast, Semantics::Real)?.backward_batch(&[-1.0], &[1], &x)?;
    /// assert_eq!(b.lower(), &[-5.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn lower(&self) -> &[T] {
        &self.lower
    }

    /// The upper constants, one per row.
    ///
    /// ```
    /// # use bnbound::{BatchNorm, Mode, Semantics, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![5.0], vec![0.0], vec![1.0], 0.0)?; // y = x + 5
    /// # let x = TensorBox::new(Shape::new(&[1, 1])?, vec![0.0], vec![1.0])?;
    /// let b = bn.bounds(Mode::Fast, Semantics::Real)?.backward_batch(&[-1.0], &[1], &x)?;
    /// assert_eq!(b.upper(), &[-5.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn upper(&self) -> &[T] {
        &self.upper
    }

    /// No rows of `cols` columns.
    pub(crate) fn empty(cols: usize) -> Self {
        LinearBounds {
            rows: 0,
            cols,
            coef: Vec::new(),
            lower: Vec::new(),
            upper: Vec::new(),
        }
    }

    /// Rows of `cols` columns from their parts (lengths checked by the caller).
    pub(crate) fn from_parts(cols: usize, coef: Vec<T>, lower: Vec<T>, upper: Vec<T>) -> Self {
        debug_assert!(lower.len() == upper.len() && coef.len() == lower.len() * cols);
        LinearBounds {
            rows: lower.len(),
            cols,
            coef,
            lower,
            upper,
        }
    }

    /// `(coef, lower, upper)`, without copying.
    ///
    /// ```
    /// # use bnbound::{BatchNorm, Mode, Semantics, Shape, TensorBox};
    /// # let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// # let x = TensorBox::new(Shape::new(&[1, 1])?, vec![0.0], vec![1.0])?;
    /// let b = bn.bounds(Mode::Fast, Semantics::Real)?.backward_batch(&[2.0], &[1], &x)?;
    /// let (coef, lower, upper) = b.into_parts();
    /// assert_eq!((coef, lower, upper), (vec![2.0], vec![0.0], vec![0.0]));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn into_parts(self) -> (Vec<T>, Vec<T>, Vec<T>) {
        (self.coef, self.lower, self.upper)
    }
}

/// Point coefficients and constants for `Λ_r·y` over box rows, the rows' elements in runs
/// of `inner` of one channel: `a` is an interval form (`rows × cols`) with
/// `Λ_r·y ∈ [a_r]·x + [c_r] + Σ_j λ_rj·δ_j` for every `x` of box `b = r mod B` and some
/// `δ_j ∈ extra[b·C + run]` (an extra term per run: a deployed runtime's distance to the
/// real map), and `xmax[b·C + run] ≥ |x_j|` over the run's elements.
/// Each row's coefficients are the midpoints `m` of `[a_r]` (so `|a − m| ≤ a_hi − a_lo`);
/// the constants bound `([a_r] − m)·x` by `± Σ_runs xmax·(Σ a_hi − Σ a_lo)`, add `[c_r]`,
/// and `Σ_j λ_j·δ_j` as `[0, P]·δ + [N, 0]·δ` over each run (`P ≥` the sum of its positive
/// `λ`, `N ≤` the sum of its negative ones), every sum and product rounded outward (the
/// block sums by the dispatched kernel). Where a run's extra term is unbounded and one of
/// its `λ` is 0 (the runtime computes `0·∞ = NaN`) the row's constants are `∓∞`.
pub(crate) fn concretize_rows<T: Float>(
    kernel: crate::kernel::choice::Kernel,
    a: &AffineForm<T>,
    lam: &[T],
    inner: usize,
    xmax: &[f64],
    extra: Option<&[(f64, f64)]>,
) -> LinearBounds<T> {
    use crate::kernel::loops::{self, BlockSumJob};
    use crate::num::interval::mul_bounds;
    let (rows, cols) = (a.rows(), a.cols());
    let inner = inner.max(1);
    let runs = cols / inner;
    let boxes = xmax.len() / runs.max(1);
    let (alo, ahi) = (a.a().lo(), a.a().hi());
    let coef: Vec<T> = alo.iter().zip(ahi).map(|(&l, &h)| midpoint(l, h)).collect();
    // Per run: outward sums of the coefficient intervals' ends (their difference bounds
    // the widths' sum) and of the negative and positive parts of Λ.
    let blocks = rows * runs;
    let (mut w_lo, mut w_hi) = (vec![0.0f64; blocks], vec![0.0f64; blocks]);
    loops::dispatch(
        kernel,
        BlockSumJob::new(inner, (alo, ahi), (&mut w_lo, &mut w_hi)),
    );
    let (mut neg, mut pos) = (vec![0.0f64; blocks], vec![0.0f64; blocks]);
    if extra.is_some() {
        let zero = T::zero();
        let below: Vec<T> = lam.iter().map(|&l| l.min(zero)).collect();
        let above: Vec<T> = lam.iter().map(|&l| l.max(zero)).collect();
        loops::dispatch(
            kernel,
            BlockSumJob::new(inner, (&below, &above), (&mut neg, &mut pos)),
        );
    }
    let (mut lower, mut upper) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for r in 0..rows {
        let b = if boxes == 0 { 0 } else { r % boxes };
        let (mut lo, mut hi) = (a.c().lo()[r].to_f64_raw(), a.c().hi()[r].to_f64_raw());
        let (mut spread, mut nan) = (0.0f64, false);
        for k in 0..runs {
            let q = r * runs + k;
            let width = round::add_up(w_hi[q], -w_lo[q]);
            spread = round::add_up(spread, round::mul_up(width, xmax[b * runs + k]));
            let Some(extra) = extra else { continue };
            let (dl, dh) = extra[b * runs + k];
            if !(dl.is_finite() && dh.is_finite()) {
                let run = r * cols + k * inner..r * cols + (k + 1) * inner;
                if lam[run].iter().any(|&l| l == T::zero()) {
                    nan = true;
                    break;
                }
            }
            for (sl, sh) in [(neg[q], 0.0), (0.0, pos[q])] {
                if sl == 0.0 && sh == 0.0 {
                    continue;
                }
                let (pl, ph) = mul_bounds(sl, sh, dl, dh);
                lo = round::add_down(lo, pl);
                hi = round::add_up(hi, ph);
            }
        }
        if nan {
            lower.push(T::neg_infinity());
            upper.push(T::infinity());
        } else {
            lower.push(T::from_f64_down_raw(round::add_down(lo, -spread)));
            upper.push(T::from_f64_up_raw(round::add_up(hi, spread)));
        }
    }
    LinearBounds {
        rows,
        cols,
        coef,
        lower,
        upper,
    }
}

/// Checks that `b` is a vector (rank 1) of length `n`.
fn vector_of_len<T: Float>(b: &TensorBox<T>, what: &'static str, n: usize) -> Result<()> {
    let dims = b.shape().dims();
    if dims.len() != 1 || dims[0] != n {
        return Err(Error::ShapeMismatch {
            what,
            expected: vec![n],
            found: dims.to_vec(),
        });
    }
    Ok(())
}

/// `inner = d1·…` of a per-sample shape `[C, d1, …]` whose element count must be
/// `found` (the form's rows or columns, named `what`).
pub(crate) fn sample_inner(
    channels: usize,
    sample: &[usize],
    found: usize,
    axis: &'static str,
) -> Result<usize> {
    if sample.is_empty() || sample.len() > 5 {
        return Err(Error::BadRank(sample.to_vec()));
    }
    if sample[0] != channels {
        return Err(Error::ChannelMismatch {
            expected: channels,
            found: sample[0],
        });
    }
    let inner = sample[1..]
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::ShapeOverflow(sample.to_vec()))?;
    match inner.checked_mul(sample[0]) {
        None => Err(Error::ShapeOverflow(sample.to_vec())),
        Some(n) if n != found || inner == 0 => {
            // Without trailing dims the form has one row (column) per channel.
            if sample.len() == 1 {
                Err(Error::ChannelMismatch {
                    expected: channels,
                    found,
                })
            } else {
                Err(Error::FormShape {
                    axis,
                    expected: n,
                    found,
                    sample: sample.to_vec(),
                })
            }
        }
        Some(_) => Ok(inner),
    }
}

impl<T: Float> AffineForm<T> {
    /// A form from parts known to fit (`a` of shape `[rows, cols]`, `c` of `[rows]`).
    pub(crate) fn from_valid(a: TensorBox<T>, c: TensorBox<T>) -> Self {
        AffineForm { a, c }
    }

    /// Builds a form from `A` (shape `[rows, cols]`) and `c` (shape `[rows]`).
    /// Errors: [`Error::WrongRank`], [`Error::ShapeMismatch`] when the shapes do not fit.
    ///
    /// ```
    /// use bnbound::{AffineForm, Shape, TensorBox};
    /// let a = TensorBox::new(Shape::new(&[2, 3])?, vec![0.0f32; 6], vec![0.0; 6])?;
    /// let c = TensorBox::new(Shape::new(&[3])?, vec![0.0f32; 3], vec![0.0; 3])?;
    /// assert!(AffineForm::new(a, c).is_err());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn new(a: TensorBox<T>, c: TensorBox<T>) -> Result<Self> {
        let _env = crate::num::round::env::enter();
        let dims = a.shape().dims();
        if dims.len() != 2 {
            return Err(Error::WrongRank {
                what: "A",
                expected: "[rows, cols]",
                found: dims.to_vec(),
            });
        }
        vector_of_len(&c, "c", dims[0])?;
        Ok(AffineForm { a, c })
    }

    /// A point form (`lo = hi`) from float coefficients: `a` row-major `rows × cols`, `c`
    /// of length `rows`. Errors: NaN ([`Error::NanBound`]), lengths ([`Error::DataLength`]).
    ///
    /// ```
    /// let f = bnbound::AffineForm::point(2, 1, vec![1.0f64, 2.0], vec![0.0, 0.0])?;
    /// assert_eq!(f.a().lo(), f.a().hi());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn point(rows: usize, cols: usize, a: Vec<T>, c: Vec<T>) -> Result<Self> {
        let _env = crate::num::round::env::enter();
        let a = TensorBox::new(Shape::new(&[rows, cols])?, a.clone(), a)?;
        let c = TensorBox::new(Shape::new(&[rows])?, c.clone(), c)?;
        AffineForm::new(a, c)
    }

    /// The number of rows (outputs).
    ///
    /// ```
    /// assert_eq!(bnbound::AffineForm::point(2, 1, vec![1.0f64, 2.0], vec![0.0; 2])?.rows(), 2);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.a.shape().dims()[0]
    }

    /// The number of columns (inputs).
    ///
    /// ```
    /// assert_eq!(bnbound::AffineForm::point(2, 1, vec![1.0f64, 2.0], vec![0.0; 2])?.cols(), 1);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn cols(&self) -> usize {
        self.a.shape().dims()[1]
    }

    /// The coefficient intervals `A`, shape `[rows, cols]`.
    ///
    /// ```
    /// let f = bnbound::AffineForm::point(1, 2, vec![1.0f64, 2.0], vec![0.0])?;
    /// assert_eq!(f.a().lo(), &[1.0, 2.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn a(&self) -> &TensorBox<T> {
        &self.a
    }

    /// The constant intervals `c`, shape `[rows]`.
    ///
    /// ```
    /// let f = bnbound::AffineForm::point(1, 2, vec![1.0f64, 2.0], vec![0.5])?;
    /// assert_eq!(f.c().hi(), &[0.5]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn c(&self) -> &TensorBox<T> {
        &self.c
    }

    /// Concretization over a box: returns a box `y` (shape `[rows]`) containing
    /// `{ A·x + c : x ∈ input, A ∈ [A], c ∈ [c] }`, each product and partial sum of the dot
    /// products rounded outward (then outward to `T`). `input` must have shape `[cols]`
    /// ([`Error::ShapeMismatch`]).
    ///
    /// ```
    /// use bnbound::{AffineForm, Shape, TensorBox};
    /// let f = AffineForm::point(1, 2, vec![1.0f64, -1.0], vec![0.5])?;
    /// let x = TensorBox::new(Shape::new(&[2])?, vec![0.0, 0.0], vec![1.0, 2.0])?;
    /// let y = f.concretize(&x)?;
    /// assert_eq!((y.lo()[0], y.hi()[0]), (-1.5, 1.5)); // exact: no rounding was needed
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn concretize(&self, input: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        vector_of_len(input, "input", self.cols())?;
        let (rows, cols) = (self.rows(), self.cols());
        let (mut lo, mut hi) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        let x = || {
            input
                .lo()
                .iter()
                .zip(input.hi())
                .map(|(&l, &h)| (l.to_f64_raw(), h.to_f64_raw()))
        };
        for i in 0..rows {
            let row = i * cols..(i + 1) * cols;
            let (l, h) = dot_bounds(
                self.a.lo()[row.clone()].iter().map(|v| v.to_f64_raw()),
                self.a.hi()[row].iter().map(|v| v.to_f64_raw()),
                x(),
                self.c.lo()[i].to_f64_raw(),
                self.c.hi()[i].to_f64_raw(),
            );
            lo.push(T::from_f64_down_raw(l));
            hi.push(T::from_f64_up_raw(h));
        }
        Ok(TensorBox::from_valid(Shape::new(&[rows])?, lo, hi))
    }

    /// A lower bound with float coefficients over a box: returns `coef`, `constant` such
    /// that `coef·x + constant ≤ A·x + c` for every `x ∈ input` and every `A ∈ [A]`,
    /// `c ∈ [c]` (real arithmetic). `coef` is the midpoint of each coefficient interval (a
    /// finite endpoint if the other is infinite, 0 if both are); the coefficient
    /// uncertainty `[A] − coef` is moved into the constant by outward-rounded
    /// concretization over `input` (shape `[cols]`).
    ///
    /// ```
    /// use bnbound::{AffineForm, Shape, TensorBox};
    /// let a = TensorBox::new(Shape::new(&[1, 2])?, vec![1.0f64, -1.0], vec![1.0, 1.0])?;
    /// let c = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
    /// let x = TensorBox::new(Shape::new(&[2])?, vec![-1.0, 0.0], vec![1.0, 2.0])?;
    /// let low = AffineForm::new(a, c)?.lower_bound_on(&x)?;
    /// assert_eq!(low.coef(), &[1.0, 0.0]);
    /// assert_eq!(low.constant(), &[-2.0]); // [−1, 1]·x₂ ≥ −2 on x₂ ∈ [0, 2]
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn lower_bound_on(&self, input: &TensorBox<T>) -> Result<FloatForm<T>> {
        let _env = crate::num::round::env::enter();
        self.float_bound_on(input, true)
    }

    /// An upper bound with float coefficients over a box: `coef·x + constant ≥ A·x + c`
    /// for every `x ∈ input`, `A ∈ [A]`, `c ∈ [c]`; see [`AffineForm::lower_bound_on`].
    ///
    /// ```
    /// use bnbound::{AffineForm, Shape, TensorBox};
    /// let a = TensorBox::new(Shape::new(&[1, 1])?, vec![-1.0f64], vec![1.0])?;
    /// let c = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![2.0])?;
    /// let up = AffineForm::new(a, c)?.upper_bound_on(&x)?;
    /// assert_eq!((up.coef(), up.constant()), (&[0.0][..], &[3.0][..]));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn upper_bound_on(&self, input: &TensorBox<T>) -> Result<FloatForm<T>> {
        let _env = crate::num::round::env::enter();
        self.float_bound_on(input, false)
    }

    fn float_bound_on(&self, input: &TensorBox<T>, lower: bool) -> Result<FloatForm<T>> {
        vector_of_len(input, "input", self.cols())?;
        let (rows, cols) = (self.rows(), self.cols());
        let coef: Vec<T> = self
            .a
            .lo()
            .iter()
            .zip(self.a.hi())
            .map(|(&l, &h)| midpoint(l, h))
            .collect();
        let x = input
            .lo()
            .iter()
            .zip(input.hi())
            .map(|(&l, &h)| (l.to_f64_raw(), h.to_f64_raw()))
            .collect::<Vec<_>>();
        let mut constant = Vec::with_capacity(rows);
        for i in 0..rows {
            let row = i * cols..(i + 1) * cols;
            // The residual coefficients [A_ij] − m_ij, rounded outward.
            let m = &coef[row.clone()];
            let d_lo = self.a.lo()[row.clone()]
                .iter()
                .zip(m)
                .map(|(&l, &m)| round::add_down(l.to_f64_raw(), -m.to_f64_raw()));
            let d_hi = self.a.hi()[row]
                .iter()
                .zip(m)
                .map(|(&h, &m)| round::add_up(h.to_f64_raw(), -m.to_f64_raw()));
            let (l, h) = dot_bounds(
                d_lo,
                d_hi,
                x.iter().copied(),
                self.c.lo()[i].to_f64_raw(),
                self.c.hi()[i].to_f64_raw(),
            );
            constant.push(if lower {
                T::from_f64_down_raw(l)
            } else {
                T::from_f64_up_raw(h)
            });
        }
        Ok(FloatForm {
            rows,
            cols,
            coef,
            constant,
        })
    }
}

/// A representative float coefficient of `[l, h]` (any value is sound; the midpoint keeps
/// the residual small).
pub(crate) fn midpoint<T: Float>(l: T, h: T) -> T {
    match (l.is_finite(), h.is_finite()) {
        (true, true) => {
            let two = T::one() + T::one();
            let m = l / two + h / two;
            m.max(l).min(h)
        }
        (true, false) => l,
        (false, true) => h,
        (false, false) => T::zero(),
    }
}
