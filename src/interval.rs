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
        (lo <= hi).then_some(Interval { lo, hi })
    }

    /// The point interval `[x, x]` (`x` not NaN).
    ///
    /// ```
    /// assert_eq!(bnbound::Interval::point(3.0).hi(), 3.0);
    /// ```
    pub fn point(x: f64) -> Self {
        assert!(!x.is_nan(), "Interval::point(NaN)");
        Interval { lo: x, hi: x }
    }

    /// The lower endpoint.
    ///
    /// ```
    /// assert_eq!(bnbound::Interval::point(3.0).lo(), 3.0);
    /// ```
    pub fn lo(&self) -> f64 {
        self.lo
    }

    /// The upper endpoint.
    ///
    /// ```
    /// assert_eq!(bnbound::Interval::point(3.0).hi(), 3.0);
    /// ```
    pub fn hi(&self) -> f64 {
        self.hi
    }

    /// Whether `lo ≤ x ≤ hi`.
    ///
    /// ```
    /// assert!(!bnbound::Interval::point(3.0).contains(3.5));
    /// ```
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }

    /// An unchecked constructor for code that has established `lo ≤ hi`, no NaN.
    pub(crate) fn from_bounds(lo: f64, hi: f64) -> Self {
        debug_assert!(lo <= hi, "invalid interval [{lo}, {hi}]");
        Interval { lo, hi }
    }
}
