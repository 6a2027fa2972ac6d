//! The floating-point element types bnbound accepts: `f32` and `f64`.

use crate::num::round;
use std::fmt::{Debug, Display};
use std::str::FromStr;

pub(crate) mod lanes {
    use crate::num::round;

    /// The element types' lane roundings (from an `f64` lane result to the type, outward),
    /// used by the vectorised kernels. Public in a private module, so it also seals
    /// [`Float`](super::Float).
    pub trait LaneRound: Copy {
        /// A value of this type `≤ w`, from `r = RN₆₄(w)` (`r` not NaN).
        fn below_nearest<const FMA: bool>(r: f64) -> Self;
        /// A value of this type `≤ a·b` (`a`, `b` not NaN, no `0·∞`): exact when `a·b` is a
        /// value of this type and `|a·b| ≥ 2⁻⁹⁶⁸` or a factor is zero.
        fn below_product<const FMA: bool>(a: f64, b: f64) -> Self;
        /// [`Float::to_f64_exact`] in the environment the caller has (inside bnbound,
        /// always the default one: see [`round::env`]).
        fn to_f64_raw(self) -> f64;
        /// [`Float::from_f64_down`] in the caller's environment (as above).
        fn from_f64_down_raw(x: f64) -> Self;
        /// [`Float::from_f64_up`] in the caller's environment (as above).
        fn from_f64_up_raw(x: f64) -> Self;
        /// A monotone integer numbering of this type's values, zeros sharing 0 (not NaN):
        /// consecutive values differ by one (see [`super::ulps_between`]).
        fn ordinal(self) -> i64;
    }

    impl LaneRound for f32 {
        #[inline(always)]
        fn below_nearest<const FMA: bool>(r: f64) -> Self {
            round::f32_below_nearest::<FMA>(r)
        }
        #[inline(always)]
        fn below_product<const FMA: bool>(a: f64, b: f64) -> Self {
            round::f32_mul_below::<FMA>(a, b)
        }
        #[inline(always)]
        fn to_f64_raw(self) -> f64 {
            self as f64
        }
        #[inline(always)]
        fn from_f64_down_raw(x: f64) -> Self {
            round::f32_down(x)
        }
        #[inline(always)]
        fn from_f64_up_raw(x: f64) -> Self {
            round::f32_up(x)
        }
        #[inline(always)]
        fn ordinal(self) -> i64 {
            let bits = (self.to_bits() & 0x7fff_ffff) as i64;
            if self < 0.0 {
                -bits
            } else {
                bits
            }
        }
    }

    impl LaneRound for f64 {
        #[inline(always)]
        fn below_nearest<const FMA: bool>(r: f64) -> Self {
            round::lane_below::<FMA>(r)
        }
        #[inline(always)]
        fn below_product<const FMA: bool>(a: f64, b: f64) -> Self {
            round::lane_mul_below::<FMA>(a, b)
        }
        #[inline(always)]
        fn to_f64_raw(self) -> f64 {
            self
        }
        #[inline(always)]
        fn from_f64_down_raw(x: f64) -> Self {
            x
        }
        #[inline(always)]
        fn from_f64_up_raw(x: f64) -> Self {
            x
        }
        #[inline(always)]
        fn ordinal(self) -> i64 {
            let bits = (self.to_bits() & i64::MAX as u64) as i64;
            if self < 0.0 {
                -bits
            } else {
                bits
            }
        }
    }
}

/// The name of an element type, as used in the JSON contract (`"f32"` or `"f64"`).
///
/// ```
/// use bnbound::Dtype;
/// assert_eq!(Dtype::F32.name(), "f32");
/// assert_eq!("f64".parse::<Dtype>().unwrap(), Dtype::F64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
}

impl Dtype {
    /// The contract name: `"f32"` or `"f64"`.
    ///
    /// ```
    /// assert_eq!(bnbound::Dtype::F64.name(), "f64");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
        }
    }
}

impl Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dtype {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" => Ok(Dtype::F32),
            "f64" => Ok(Dtype::F64),
            other => Err(crate::error::Error::UnknownDtype(crate::error::short(
                other,
            ))),
        }
    }
}

/// An element type of parameters and boxes: implemented for `f32` and `f64` only (sealed).
///
/// Every value of either type converts *exactly* to `f64` ([`Float::to_f64_exact`]); bnbound
/// computes in `f64` and rounds results back outward ([`Float::from_f64_down`],
/// [`Float::from_f64_up`]).
///
/// ```
/// use bnbound::Float;
/// let x = 0.1f64; // not an f32
/// assert!((f32::from_f64_down(x) as f64) < x && (f32::from_f64_up(x) as f64) > x);
/// ```
pub trait Float:
    num_traits::Float + Debug + Display + FromStr + Default + Send + Sync + 'static + lanes::LaneRound
{
    /// The contract name of this type.
    const DTYPE: Dtype;
    /// The value as an `f64`; exact for both types, whatever the caller's floating-point
    /// environment (a subnormal `f32` stays itself under denormals-are-zero).
    fn to_f64_exact(self) -> f64;
    /// The largest value of this type that is `≤ x` (`x` not NaN; `−∞` stays `−∞`),
    /// whatever the caller's floating-point environment.
    fn from_f64_down(x: f64) -> Self;
    /// The smallest value of this type that is `≥ x` (`x` not NaN; `+∞` stays `+∞`),
    /// whatever the caller's floating-point environment.
    fn from_f64_up(x: f64) -> Self;
    /// The next value of this type above `self` (`+∞` for `MAX`).
    fn step_up(self) -> Self;
    /// The next value of this type below `self` (`−∞` for `−MAX`).
    fn step_down(self) -> Self;
}

impl Float for f64 {
    const DTYPE: Dtype = Dtype::F64;
    #[inline]
    fn to_f64_exact(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64_down(x: f64) -> Self {
        x
    }
    #[inline]
    fn from_f64_up(x: f64) -> Self {
        x
    }
    #[inline]
    fn step_up(self) -> Self {
        self.next_up()
    }
    #[inline]
    fn step_down(self) -> Self {
        self.next_down()
    }
}

impl Float for f32 {
    const DTYPE: Dtype = Dtype::F32;
    #[inline]
    fn to_f64_exact(self) -> f64 {
        let _env = round::env::enter();
        round::env::launder(round::env::launder(self) as f64)
    }
    #[inline]
    fn from_f64_down(x: f64) -> Self {
        let _env = round::env::enter();
        round::env::launder(round::f32_down(round::env::launder(x)))
    }
    #[inline]
    fn from_f64_up(x: f64) -> Self {
        let _env = round::env::enter();
        round::env::launder(round::f32_up(round::env::launder(x)))
    }
    #[inline]
    fn step_up(self) -> Self {
        self.next_up()
    }
    #[inline]
    fn step_down(self) -> Self {
        self.next_down()
    }
}

/// The number of steps from `a` up to `b` through consecutive values of `T` (`a ≤ b`, both
/// not NaN; `−0.0` and `+0.0` count as one value). Used to report widths "in ulps".
///
/// ```
/// use bnbound::ulps_between;
/// assert_eq!(ulps_between(1.0f64, 1.0f64.next_up().next_up()), 2);
/// assert_eq!(ulps_between(-f32::from_bits(1), f32::from_bits(1)), 2);
/// ```
pub fn ulps_between<T: Float>(a: T, b: T) -> u64 {
    let _env = crate::num::round::env::enter();
    let (a, b) = (
        ordinal(a.to_f64_exact(), T::DTYPE),
        ordinal(b.to_f64_exact(), T::DTYPE),
    );
    b.abs_diff(a)
}

/// A monotone integer numbering of the values of the dtype (zeros share one number).
pub(crate) fn ordinal(x: f64, dtype: Dtype) -> i64 {
    use lanes::LaneRound;
    match dtype {
        Dtype::F64 => x.ordinal(),
        Dtype::F32 => (x as f32).ordinal(),
    }
}

/// The value of `T` with [`ordinal`] `k` (zero is `+0.0`).
pub(crate) fn from_ordinal<T: Float>(k: i64) -> T {
    let x = match T::DTYPE {
        Dtype::F64 => from_ordinal_f64(k),
        Dtype::F32 => {
            let m = f32::from_bits(k.unsigned_abs() as u32) as f64;
            if k < 0 {
                -m
            } else {
                m
            }
        }
    };
    T::from_f64_down(x)
}

/// The `f64` with [`ordinal`] `k` (the inverse of `ordinal(·, Dtype::F64)`; zero is `+0.0`).
pub(crate) fn from_ordinal_f64(k: i64) -> f64 {
    if k >= 0 {
        f64::from_bits(k as u64)
    } else {
        -f64::from_bits(k.unsigned_abs())
    }
}
