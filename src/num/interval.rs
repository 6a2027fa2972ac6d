//! A closed interval of reals with `f64` endpoints.

/// A closed interval `[lo, hi]` of real numbers with `f64` endpoints, `lo ≤ hi`, neither
/// NaN. An infinite endpoint means the interval is unbounded on that side.
///
/// In bnbound an `Interval` is always an *enclosure*: it contains some exact real value
/// (a scale, an offset), and its documentation says which.
///
/// ```
/// use bnbound::Interval;
/// let i = Interval::new(-1.0, 2.0).unwrap();
/// assert_eq!((i.lo(), i.hi()), (-1.0, 2.0));
/// assert!(i.contains(0.5));
/// assert!(Interval::new(2.0, 1.0).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    lo: f64,
    hi: f64,
}

impl Interval {
    /// `[lo, hi]`, or `None` if `lo > hi` or either is NaN.
    ///
    /// ```
    /// assert!(bnbound::Interval::new(f64::NAN, 1.0).is_none());
    /// ```
    pub fn new(lo: f64, hi: f64) -> Option<Self> {
        let _env = crate::num::round::env::enter();
        let (lo, hi) = (
            crate::num::round::env::launder(lo),
            crate::num::round::env::launder(hi),
        );
        crate::num::round::env::launder(lo <= hi).then_some(Interval { lo, hi })
    }

    /// The point interval `[x, x]`, or `None` if `x` is NaN.
    ///
    /// ```
    /// assert_eq!(bnbound::Interval::point(3.0).unwrap().hi(), 3.0);
    /// assert!(bnbound::Interval::point(f64::NAN).is_none());
    /// ```
    pub fn point(x: f64) -> Option<Self> {
        let _env = crate::num::round::env::enter();
        Interval::new(x, x)
    }

    /// The lower endpoint.
    ///
    /// ```
    /// assert_eq!(bnbound::Interval::point(3.0).unwrap().lo(), 3.0);
    /// ```
    pub fn lo(&self) -> f64 {
        self.lo
    }

    /// The upper endpoint.
    ///
    /// ```
    /// assert_eq!(bnbound::Interval::point(3.0).unwrap().hi(), 3.0);
    /// ```
    pub fn hi(&self) -> f64 {
        self.hi
    }

    /// Whether `lo ≤ x ≤ hi`.
    ///
    /// ```
    /// assert!(!bnbound::Interval::point(3.0).unwrap().contains(3.5));
    /// ```
    pub fn contains(&self, x: f64) -> bool {
        let _env = crate::num::round::env::enter();
        let x = crate::num::round::env::launder(x);
        crate::num::round::env::launder(self.lo <= x && x <= self.hi)
    }

    /// An unchecked constructor for code that has established `lo ≤ hi`, no NaN.
    pub(crate) fn from_bounds(lo: f64, hi: f64) -> Self {
        debug_assert!(lo <= hi, "invalid interval [{lo}, {hi}]");
        Interval { lo, hi }
    }
}

/// Bounds of the product set `{ a·x : a ∈ [al, ah], x ∈ [xl, xh] }` (endpoints may be
/// infinite; `0 · ∞ = 0`, as for intervals of reals). Each corner product is rounded in
/// the outward direction by [`crate::num::round`].
#[inline]
pub(crate) fn mul_bounds(al: f64, ah: f64, xl: f64, xh: f64) -> (f64, f64) {
    use crate::num::round::{mul_down, mul_up};
    let lo = mul_down(al, xl)
        .min(mul_down(al, xh))
        .min(mul_down(ah, xl))
        .min(mul_down(ah, xh));
    let hi = mul_up(al, xl)
        .max(mul_up(al, xh))
        .max(mul_up(ah, xl))
        .max(mul_up(ah, xh));
    (lo, hi)
}

/// Bounds of `Σ_j a_j·x_j + c` over `a_j ∈ [a_lo_j, a_hi_j]`, `x_j ∈ x(j)`, `c ∈ [c_lo, c_hi]`:
/// every product and every partial sum rounded outward.
pub(crate) fn dot_bounds(
    a_lo: impl Iterator<Item = f64>,
    a_hi: impl Iterator<Item = f64>,
    x: impl Iterator<Item = (f64, f64)>,
    c_lo: f64,
    c_hi: f64,
) -> (f64, f64) {
    use crate::num::round::{add_down, add_up};
    let (mut lo, mut hi) = (c_lo, c_hi);
    for ((al, ah), (xl, xh)) in a_lo.zip(a_hi).zip(x) {
        let (pl, ph) = mul_bounds(al, ah, xl, xh);
        lo = add_down(lo, pl);
        hi = add_up(hi, ph);
    }
    (lo, hi)
}
