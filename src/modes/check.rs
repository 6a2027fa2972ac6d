//! The exact checker: decides, with rational arithmetic only, whether somebody else's
//! claimed bounds contain the exact real image, and gives a witness for each violation.
//!
//! Every decision is made by [`crate::exact`] (big-integer comparisons after a sign
//! analysis); no floating-point operation takes part in a verdict. Because BatchNorm is
//! affine per channel, the exact minimum and maximum over an element's interval are
//! attained at its endpoints, chosen by the exact sign of γ.

use crate::error::{Error, Result, Side};
use crate::exact::{cmp_affine_params, distance_decimal};
use crate::{AffineForm, BatchNorm, Float, TensorBox};
use std::cmp::Ordering;

/// One unsound bound.
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, Side, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // y = x/√2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
/// let claimed = TensorBox::new(Shape::new(&[1])?, vec![0.5], vec![0.7])?; // 0.7 < 1/√2
/// let v = &check::check_ibp(&bn, &x, &claimed)?.violations[0];
/// assert_eq!((v.index, v.side, v.witness), (0, Side::Hi, 1.0));
/// // 1/√2 − fl(0.7), where fl(0.7) = 0.69999999999999995559…, correctly rounded:
/// assert_eq!(v.excess, "7.1067811865475688e-3");
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The flat row-major index of the element (for forms: `A` entries first, then `c`).
    pub index: usize,
    /// Which bound is unsound.
    pub side: Side,
    /// An input value (exact, of the box's type) at which the exact output lies outside the
    /// claimed bound; `±∞` when the image is unbounded on that side.
    pub witness: f64,
    /// How far the exact output lies outside the claimed bound, correctly rounded to 17
    /// significant decimal digits, or `"inf"` when the exact image is unbounded or the
    /// claimed bound is infinite on the wrong side.
    pub excess: String,
}

/// The checker's verdict on a claimed box or form.
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
/// let ok = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![0.5])?;
/// let r = check::check_ibp(&bn, &x, &ok)?;
/// assert!(r.sound() && r.checked == 1);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CheckReport {
    /// The number of elements (or form entries) checked.
    pub checked: usize,
    /// The number of unsound bounds found (all of them, also those not kept).
    pub unsound: usize,
    /// The first violations, in element order (lower bound before upper bound): all of
    /// them from `check_*`, at most `keep` from `check_*_keeping`.
    pub violations: Vec<Violation>,
    /// How many violations to keep in `violations`.
    keep: usize,
}

impl CheckReport {
    /// Whether no claimed bound is unsound.
    ///
    /// ```
    /// assert!(bnbound::check::CheckReport::default().sound());
    /// ```
    pub fn sound(&self) -> bool {
        self.unsound == 0
    }

    /// An empty report that keeps the first `keep` violations.
    fn keeping(keep: usize) -> Self {
        CheckReport {
            keep,
            ..CheckReport::default()
        }
    }

    /// Checks one element: channel parameters `p` (exact `f64` γ, β, μ, σ², ε) describe
    /// `y(x) = β + γ(x−μ)/√(σ²+ε)`, the input interval is `[l, h]`, the claim `[yl, yh]`.
    fn element(&mut self, p: [f64; 5], l: f64, h: f64, yl: f64, yh: f64, index: usize) {
        self.checked += 1;
        let g = p[0];
        // Where the exact minimum and maximum are attained.
        let (at_min, at_max) = if g > 0.0 {
            (l, h)
        } else if g < 0.0 {
            (h, l)
        } else {
            // Constant β: any point of the box witnesses.
            let any = [l, h].into_iter().find(|x| x.is_finite()).unwrap_or(0.0);
            (any, any)
        };
        for (x, y, side) in [(at_min, yl, Side::Lo), (at_max, yh, Side::Hi)] {
            let lower = side == Side::Lo;
            // `Some(true)`: unsound with an infinite excess; `Some(false)`: a finite one.
            let unsound = if g != 0.0 && x.is_infinite() {
                // The exact value is +∞ when γ and x have one sign, else −∞; a lower bound
                // is only constrained by −∞, an upper bound only by +∞.
                let plus = (g > 0.0) == (x > 0.0);
                let ok = if lower {
                    plus || y == f64::NEG_INFINITY
                } else {
                    !plus || y == f64::INFINITY
                };
                (!ok).then_some(true)
            } else if (lower && y == f64::NEG_INFINITY) || (!lower && y == f64::INFINITY) {
                None
            } else if y.is_infinite() {
                Some(true)
            } else {
                let bad = if lower {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                (cmp_affine_params(p, x, y) == bad).then_some(false)
            };
            let Some(infinite) = unsound else { continue };
            self.unsound += 1;
            // The decimal excess costs big-integer work: only for the violations kept.
            if self.violations.len() < self.keep {
                self.violations.push(Violation {
                    index,
                    side,
                    witness: x,
                    excess: if infinite {
                        "inf".to_string()
                    } else {
                        distance_decimal(p, x, y)
                    },
                });
            }
        }
    }
}

fn same_shape<T: Float>(input: &TensorBox<T>, claimed: &TensorBox<T>) -> Result<()> {
    if input.shape() != claimed.shape() {
        return Err(Error::Dimension(format!(
            "the claimed box has shape {:?} but the input has {:?}",
            claimed.shape().dims(),
            input.shape().dims()
        )));
    }
    Ok(())
}

fn check_boxes<T: Float>(
    bn: &BatchNorm<T>,
    input: &TensorBox<T>,
    claimed: &TensorBox<T>,
    with_offset: bool,
    keep: usize,
) -> Result<CheckReport> {
    same_shape(input, claimed)?;
    let shape = input.shape();
    if shape.channels() != bn.channels() {
        return Err(Error::ChannelMismatch {
            expected: bn.channels(),
            found: shape.channels(),
        });
    }
    let inner = shape.inner().max(1);
    let mut report = CheckReport::keeping(keep);
    for i in 0..shape.len() {
        let mut p = bn.channel_f64((i / inner) % bn.channels());
        if !with_offset {
            (p[1], p[2]) = (0.0, 0.0);
        }
        let f = |v: &[T]| v[i].to_f64_exact();
        report.element(
            p,
            f(input.lo()),
            f(input.hi()),
            f(claimed.lo()),
            f(claimed.hi()),
            i,
        );
    }
    Ok(report)
}

/// Checks a claimed IBP output box: is `{ s_c·x + o_c : x ∈ input }` contained in `claimed`
/// element by element, for the exact real scale and offset? Decided exactly.
///
/// Errors: shape or channel mismatch ([`Error::Dimension`], [`Error::ChannelMismatch`]).
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, TensorBox};
/// // The f32 cancellation anchor: naive fl(fl(3·s) − 3) = 2⁻²¹ above the exact 3·2⁻²³.
/// let bn = BatchNorm::new(vec![1.0f32 + f32::EPSILON], vec![-3.0], vec![0.0], vec![1.0], 0.0)?;
/// let x = TensorBox::new(Shape::new(&[1])?, vec![3.0f32], vec![3.0])?;
/// let naive = (3.0f32 * (1.0 + f32::EPSILON)) - 3.0;
/// let claimed = TensorBox::new(Shape::new(&[1])?, vec![naive], vec![naive])?;
/// let r = check::check_ibp(&bn, &x, &claimed)?;
/// assert_eq!(r.violations.len(), 1);
/// assert_eq!(r.violations[0].excess, "1.1920928955078125e-7"); // exactly 2⁻²³
/// // bnbound's own bounds pass.
/// assert!(check::check_ibp(&bn, &x, &bn.enclose().ibp(&x)?)?.sound());
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn check_ibp<T: Float>(
    bn: &BatchNorm<T>,
    input: &TensorBox<T>,
    claimed: &TensorBox<T>,
) -> Result<CheckReport> {
    check_boxes(bn, input, claimed, true, usize::MAX)
}

/// [`check_ibp`] that counts every violation but keeps only the first `keep` (memory and
/// time for the decimal excess stay bounded on large unsound claims).
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2
/// let x = TensorBox::new(Shape::new(&[3, 1])?, vec![1.0; 3], vec![1.0; 3])?;
/// let wrong = TensorBox::new(Shape::new(&[3, 1])?, vec![0.0; 3], vec![0.25; 3])?;
/// let r = check::check_ibp_keeping(&bn, &x, &wrong, 1)?;
/// assert_eq!((r.unsound, r.violations.len()), (3, 1));
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn check_ibp_keeping<T: Float>(
    bn: &BatchNorm<T>,
    input: &TensorBox<T>,
    claimed: &TensorBox<T>,
    keep: usize,
) -> Result<CheckReport> {
    check_boxes(bn, input, claimed, true, keep)
}

/// Checks a claimed first- or second-derivative box: does `claimed` contain `s_c·[lo, hi]`
/// element by element (chain rule), for the exact scale? Decided exactly.
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![5.0], vec![2.0], vec![2.0], 0.0)?; // s = 1/√2
/// let d = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
/// let naive = TensorBox::new(Shape::new(&[1])?, vec![std::f64::consts::FRAC_1_SQRT_2; 1], vec![std::f64::consts::FRAC_1_SQRT_2; 1])?;
/// assert!(!check::check_derivative(&bn, &d, &naive)?.sound()); // a point can't contain 1/√2
/// assert!(check::check_derivative(&bn, &d, &bn.enclose().derivative_chain(&d)?)?.sound());
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn check_derivative<T: Float>(
    bn: &BatchNorm<T>,
    dbox: &TensorBox<T>,
    claimed: &TensorBox<T>,
) -> Result<CheckReport> {
    check_boxes(bn, dbox, claimed, false, usize::MAX)
}

/// Checks a claimed composition `diag(s)·A + (s∘c + o)` of a form `A·x + c` (one row per
/// channel; point or interval coefficients): every claimed interval must contain the
/// exact `s_i·a_ij` for all `a_ij ∈ A_ij`, and `s_i·c_i + o_i` for all `c_i ∈ c_i`.
/// Violation indices run over `A` row-major, then over `c` (offset `rows·cols`).
///
/// ```
/// use bnbound::{check, AffineForm, BatchNorm};
/// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0; 2], vec![0.0; 2], vec![3.0, 4.0], 0.0)?;
/// let f = AffineForm::point(2, 1, vec![1.0, 1.0], vec![0.0, 0.0])?;
/// let naive = AffineForm::point(2, 1, vec![1.0 / 3f64.sqrt(), 1.0], vec![0.0, 0.0])?;
/// let r = check::check_compose(&bn, &f, &naive)?;
/// assert_eq!((r.checked, r.violations.len()), (4, 1)); // 1/√3 is irrational; s₂ = 1 exactly
/// assert!(check::check_compose(&bn, &f, &bn.enclose().compose(&f)?)?.sound());
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn check_compose<T: Float>(
    bn: &BatchNorm<T>,
    form: &AffineForm<T>,
    claimed: &AffineForm<T>,
) -> Result<CheckReport> {
    compose_keeping(bn, form, claimed, usize::MAX)
}

fn compose_keeping<T: Float>(
    bn: &BatchNorm<T>,
    form: &AffineForm<T>,
    claimed: &AffineForm<T>,
    keep: usize,
) -> Result<CheckReport> {
    if form.rows() != bn.channels() {
        return Err(Error::ChannelMismatch {
            expected: bn.channels(),
            found: form.rows(),
        });
    }
    same_shape(form.a(), claimed.a())?;
    same_shape(form.c(), claimed.c())?;
    let (rows, cols) = (form.rows(), form.cols());
    let f = |v: &[T], k: usize| v[k].to_f64_exact();
    let mut report = CheckReport::keeping(keep);
    for k in 0..rows * cols {
        let mut p = bn.channel_f64(k / cols);
        (p[1], p[2]) = (0.0, 0.0);
        let (a, y) = (form.a(), claimed.a());
        report.element(p, f(a.lo(), k), f(a.hi(), k), f(y.lo(), k), f(y.hi(), k), k);
    }
    for i in 0..rows {
        let (c, y) = (form.c(), claimed.c());
        let p = bn.channel_f64(i);
        report.element(
            p,
            f(c.lo(), i),
            f(c.hi(), i),
            f(y.lo(), i),
            f(y.hi(), i),
            rows * cols + i,
        );
    }
    Ok(report)
}
