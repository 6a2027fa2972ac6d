//! Decimal renderings of exact distances: [`Excess`], a distance correctly rounded to 17
//! significant digits, and the rational arithmetic behind it.

use super::dyadic::Dyadic;
use crate::error::{short, Error, Result};
use num_bigint::BigInt;
use num_rational::BigRational;
use std::cmp::Ordering;

/// How far an exact value lies outside a claimed bound: the distance correctly rounded to
/// 17 significant decimal digits (round half to even), or infinite. It is a number: two
/// excesses compare by value (`Ord`), [`Excess::to_f64`] converts it, and `Display` writes
/// the decimal (`"7.1067811865475688e-3"`, `"inf"`).
///
/// ```
/// use bnbound::check::Excess;
/// let a: Excess = "7.1067811865475688e-3".parse().unwrap();
/// let b: Excess = "2.5e-1".parse().unwrap();
/// assert!(a < b && b < Excess::Infinite);
/// assert_eq!((a.to_string(), b.to_f64()), ("7.1067811865475688e-3".to_string(), 0.25));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Excess {
    /// `digits · 10^(exp10 − 16)` with `10¹⁶ ≤ digits < 10¹⁷`, or zero (`digits = 0`,
    /// `exp10 = 0`).
    Finite {
        /// The 17 significant digits (trailing zeros included), or 0.
        digits: u64,
        /// The decimal exponent of the first digit.
        exp10: i64,
    },
    /// The exact image is unbounded on the violated side, or the claimed bound is infinite
    /// on the wrong side.
    Infinite,
}

impl Excess {
    /// The distance as the nearest `f64` (`f64::INFINITY` for [`Excess::Infinite`]).
    ///
    /// ```
    /// assert_eq!(bnbound::check::Excess::Infinite.to_f64(), f64::INFINITY);
    /// ```
    pub fn to_f64(&self) -> f64 {
        // The parser's fast path multiplies in hardware: nearest needs the default env.
        let _env = crate::num::round::env::enter();
        crate::num::round::env::launder(match self {
            Excess::Infinite => f64::INFINITY,
            // Rust's parser is correctly rounded.
            Excess::Finite { .. } => self.to_string().parse().unwrap_or(f64::INFINITY),
        })
    }

    pub(super) fn from_digits(digits: &BigInt, exp10: i64) -> Excess {
        let digits = u64::try_from(digits).unwrap_or(0);
        if digits == 0 {
            Excess::Finite {
                digits: 0,
                exp10: 0,
            }
        } else {
            Excess::Finite { digits, exp10 }
        }
    }

    pub(super) fn of_ratio(x: &Ratio) -> Excess {
        if x.n == BigInt::from(0) {
            return Excess::Finite {
                digits: 0,
                exp10: 0,
            };
        }
        let (d, e) = decimal17(x);
        Excess::from_digits(&d, e)
    }
}

impl Ord for Excess {
    fn cmp(&self, other: &Self) -> Ordering {
        use Excess::*;
        match (self, other) {
            (Infinite, Infinite) => Ordering::Equal,
            (Infinite, _) => Ordering::Greater,
            (_, Infinite) => Ordering::Less,
            (
                Finite {
                    digits: a,
                    exp10: x,
                },
                Finite {
                    digits: b,
                    exp10: y,
                },
            ) => match (*a == 0, *b == 0) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => (x, a).cmp(&(y, b)),
            },
        }
    }
}

impl PartialOrd for Excess {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Excess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Excess::Infinite => f.write_str("inf"),
            Excess::Finite { digits: 0, .. } => f.write_str("0"),
            Excess::Finite { digits, exp10 } => {
                f.write_str(&format_decimal(&BigInt::from(*digits), *exp10))
            }
        }
    }
}

/// Parses what `Display` writes: `"inf"`, `"0"` or `d.ddd…e±x` with at most 17 digits.
impl std::str::FromStr for Excess {
    type Err = Error;
    fn from_str(s: &str) -> Result<Excess> {
        let bad = || Error::UnknownExcess(short(s));
        match s {
            "inf" => return Ok(Excess::Infinite),
            "0" => {
                return Ok(Excess::Finite {
                    digits: 0,
                    exp10: 0,
                })
            }
            _ => {}
        }
        let (mant, exp) = s.split_once('e').ok_or_else(bad)?;
        let exp10: i64 = exp.parse().map_err(|_| bad())?;
        let (head, tail) = mant.split_once('.').unwrap_or((mant, ""));
        if head.len() != 1 || tail.len() > 16 || head == "0" {
            return Err(bad());
        }
        let all = format!("{head}{tail:0<16}");
        let digits: u64 = all.parse().map_err(|_| bad())?;
        Ok(Excess::Finite { digits, exp10 })
    }
}

pub(super) fn dyadic_ratio(x: &Dyadic) -> BigRational {
    let Ratio { n, d } = Ratio::of(x);
    BigRational::new(n, d)
}

/// A nonnegative rational `n/d` (`d > 0`), not normalized.
#[derive(Clone, Debug)]
pub(crate) struct Ratio {
    pub(crate) n: BigInt,
    pub(crate) d: BigInt,
}

impl Ratio {
    pub(super) fn of(x: &Dyadic) -> Ratio {
        if x.e >= 0 {
            Ratio {
                n: &x.m << x.e as usize,
                d: BigInt::from(1),
            }
        } else {
            Ratio {
                n: x.m.clone(),
                d: BigInt::from(1) << (-x.e) as usize,
            }
        }
    }
}

/// A positive rational rounded to 17 significant decimal digits (round half to even), as
/// `(digits, exponent)` meaning `d.dddd…·10^exponent`.
pub(super) fn decimal17(x: &Ratio) -> (BigInt, i64) {
    let ten = BigInt::from(10);
    // Estimate the decimal exponent from the bit lengths, then correct it.
    let mut e =
        ((x.n.bits() as f64 - x.d.bits() as f64) * std::f64::consts::LOG10_2).floor() as i64;
    let pow = |k: i64| num_traits::pow(ten.clone(), k.unsigned_abs() as usize);
    // cmp(x, 10^e)
    let ge = |e: i64| -> bool {
        if e >= 0 {
            x.n >= &x.d * pow(e)
        } else {
            &x.n * pow(e) >= x.d
        }
    };
    while !ge(e) {
        e -= 1;
    }
    while ge(e + 1) {
        e += 1;
    }
    // digits = round(x · 10^(16 − e))
    let k = 16 - e;
    let (num, den) = if k >= 0 {
        (&x.n * pow(k), x.d.clone())
    } else {
        (x.n.clone(), &x.d * pow(k))
    };
    let (q, r) = num_integer::Integer::div_rem(&num, &den);
    let twice = &r * 2u32;
    let mut digits = if twice > den || (twice == den && num_integer::Integer::is_odd(&q)) {
        q + 1u32
    } else {
        q
    };
    if digits == pow(17) {
        digits = pow(16);
        e += 1;
    }
    (digits, e)
}

fn format_decimal(digits: &BigInt, e: i64) -> String {
    let s = digits.to_string();
    let (head, tail) = s.split_at(1);
    let tail = tail.trim_end_matches('0');
    if tail.is_empty() {
        format!("{head}e{e}")
    } else {
        format!("{head}.{tail}e{e}")
    }
}
