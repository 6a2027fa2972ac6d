//! Exact decimal numbers as text: [`Decimal`] reads one (at most [`MAX_NUMBER_LEN`] bytes)
//! and rounds it to a binary [`Format`] in a [`Rounding`] direction.

use crate::error::{short, Error, Result};
use crate::num::float::Dtype;
use crate::num::round::storage::Storage;

/// The longest number text [`Decimal::parse`] reads, in bytes: 4096. Every `f64` value
/// written out in full positional notation fits (the longest, such as `−2⁻¹⁰⁷⁴` with its
/// 1074 decimals, take 1077 characters), as does anything bnbound writes (at most 25). The cap bounds the cost
/// of one number: a fraction of a millisecond of big-integer arithmetic at worst
/// ([`Decimal::round`]; 20,000 numbers of 4094 significant digits read in 3.3 s on the
/// development machine, a short decimal in well under a microsecond), where a
/// multi-megabyte digit string would take seconds.
///
/// ```
/// use bnbound::exact::{Decimal, MAX_NUMBER_LEN};
/// let longest = format!("0.{}", "1".repeat(MAX_NUMBER_LEN - 2));
/// assert!(Decimal::parse(&longest).is_ok() && Decimal::parse(&format!("{longest}1")).is_err());
/// ```
pub const MAX_NUMBER_LEN: usize = 4096;

/// A binary floating-point format a [`Decimal`] is rounded to.
///
/// ```
/// use bnbound::exact::Format;
/// assert_eq!(Format::from(bnbound::Dtype::F32), Format::F32);
/// assert_eq!(Format::from(bnbound::Storage::Bf16), Format::Bf16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

impl Format {
    fn binary(self) -> crate::num::round::decimal::Binary {
        use crate::num::round::decimal as d;
        match self {
            Format::F16 => d::F16,
            Format::Bf16 => d::BF16,
            Format::F32 => d::F32,
            Format::F64 => d::F64,
        }
    }
}

impl From<Dtype> for Format {
    fn from(d: Dtype) -> Format {
        match d {
            Dtype::F32 => Format::F32,
            Dtype::F64 => Format::F64,
        }
    }
}

impl From<Storage> for Format {
    fn from(s: Storage) -> Format {
        match s {
            Storage::F16 => Format::F16,
            Storage::Bf16 => Format::Bf16,
        }
    }
}

/// A direction of rounding for [`Decimal::round`].
///
/// ```
/// assert_ne!(bnbound::exact::Rounding::Down, bnbound::exact::Rounding::Up);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// The largest value of the format `≤` the decimal (`−∞` below `−MAX`).
    Down,
    /// The smallest value of the format `≥` the decimal (`+∞` above `MAX`).
    Up,
    /// The nearest value of the format, ties to the even significand; `±∞` from
    /// `MAX + ulp(MAX)/2` on (IEEE 754's rule).
    Nearest,
}

/// A decimal number read exactly from its JSON text: `±sig · 10^exp10`, with the text's
/// leading and trailing zeros folded away. No digit is dropped and nothing is rounded
/// until [`Decimal::round`].
///
/// ```
/// use bnbound::exact::{Decimal, Format, Rounding};
/// // 1, written with 4000 zeros after the point, is still exactly 1 (655,359 are refused).
/// let one = format!("0.{}1e4001", "0".repeat(4000));
/// assert_eq!(Decimal::parse(&one)?.round(Format::F32, Rounding::Down), (1.0, true));
/// let d = Decimal::parse("0.7")?;
/// let (lo, hi) = (d.round(Format::F32, Rounding::Down).0, d.round(Format::F32, Rounding::Up).0);
/// assert!(lo < 0.7 && hi > 0.7 && (lo as f32).next_up() == hi as f32);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// The significant digits, without leading or trailing zeros (zero: `0`).
    sig: num_bigint::BigUint,
    /// The number of decimal digits of `sig` (0 for zero).
    digits: i64,
    /// The exponent of the last significant digit (saturated at `±10^18`, far beyond
    /// anything [`Decimal::round`] tells apart).
    exp10: i64,
}

/// Exponents are saturated here: with at most [`MAX_NUMBER_LEN`] digits, a decimal exponent
/// beyond `10^17` in magnitude puts the value outside every format's range either way.
const EXP_SATURATION: i64 = 1_000_000_000_000_000_000;

impl Decimal {
    /// Reads a JSON number (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`) exactly.
    ///
    /// Errors: [`crate::Error::NumberTooLong`] for a text longer than [`MAX_NUMBER_LEN`]
    /// bytes (decided before any digit is read), [`crate::Error::NotANumber`] for anything
    /// that is not a JSON number. The cost is linear in the text's length.
    ///
    /// ```
    /// use bnbound::exact::Decimal;
    /// assert!(Decimal::parse("-0.000e+5")?.is_zero());
    /// assert!(!Decimal::parse("-1e-99999999999999999999999")?.is_zero()); // saturated, not wrapped
    /// assert!(Decimal::parse("1.").is_err() && Decimal::parse("01").is_err());
    /// assert!(Decimal::parse(&"1".repeat(5000)).is_err());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Decimal> {
        if text.len() > MAX_NUMBER_LEN {
            return Err(Error::NumberTooLong {
                len: text.len(),
                max: MAX_NUMBER_LEN,
            });
        }
        let bad = || Error::NotANumber(short(text));
        let b = text.as_bytes();
        let mut i = 0;
        let negative = b.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits_at = |mut i: usize| {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        let int_end = digits_at(i);
        if int_end == i || (b[i] == b'0' && int_end > i + 1) {
            return Err(bad());
        }
        let int = &text[i..int_end];
        i = int_end;
        let mut frac = "";
        if i < b.len() && b[i] == b'.' {
            let end = digits_at(i + 1);
            if end == i + 1 {
                return Err(bad());
            }
            frac = &text[i + 1..end];
            i = end;
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let neg_exp = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let end = digits_at(i);
            if end == i {
                return Err(bad());
            }
            for &c in &b[i..end] {
                exp = exp
                    .saturating_mul(10)
                    .saturating_add(i64::from(c - b'0'))
                    .min(EXP_SATURATION);
            }
            if neg_exp {
                exp = -exp;
            }
            i = end;
        }
        if i != b.len() {
            return Err(bad());
        }
        // value = int.frac · 10^exp = (int frac as an integer) · 10^(exp − |frac|)
        let all = int.bytes().chain(frac.bytes());
        let lead = all.clone().take_while(|&c| c == b'0').count();
        let total = int.len() + frac.len();
        if lead == total {
            return Ok(Decimal {
                negative,
                sig: num_bigint::BigUint::from(0u32),
                digits: 0,
                exp10: 0,
            });
        }
        let trail = all.clone().rev().take_while(|&c| c == b'0').count();
        let sig_digits: Vec<u8> = all.skip(lead).take(total - lead - trail).collect();
        let sig = num_bigint::BigUint::parse_bytes(&sig_digits, 10).ok_or_else(bad)?;
        // |frac| and the trailing zeros are at most MAX_NUMBER_LEN: no overflow.
        let exp10 = exp - frac.len() as i64 + trail as i64;
        Ok(Decimal {
            negative,
            sig,
            digits: sig_digits.len() as i64,
            exp10,
        })
    }

    /// Whether the decimal is zero (`0`, `-0.000e7`, …).
    ///
    /// ```
    /// assert!(!bnbound::exact::Decimal::parse("1e-999999")?.is_zero());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn is_zero(&self) -> bool {
        self.digits == 0
    }

    /// Whether the text had a minus sign (also `-0`).
    ///
    /// ```
    /// assert!(bnbound::exact::Decimal::parse("-0")?.is_negative());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The decimal rounded to `format` in the direction `rounding`, as the `f64` holding
    /// that value exactly (every value of the four formats is an `f64`), and whether it
    /// is exact (the decimal *is* that value). Soundness contract: `Down` returns a value
    /// `≤` the decimal and `Up` one `≥` it, each the nearest such value of `format`
    /// (`±∞` beyond its range); `Nearest` is IEEE 754's correctly rounded conversion
    /// (ties to even). Zero keeps the text's sign; a negative decimal that rounds to zero
    /// gives `−0`.
    ///
    /// Decided in big-integer arithmetic (`num::round::decimal`); a decimal far outside
    /// the format's range is decided from its digit count and exponent alone.
    ///
    /// ```
    /// use bnbound::exact::{Decimal, Format, Rounding};
    /// let d = Decimal::parse("65520")?; // f16's overflow threshold: a tie, even is ∞
    /// assert_eq!(d.round(Format::F16, Rounding::Nearest), (f64::INFINITY, false));
    /// assert_eq!(d.round(Format::F16, Rounding::Down), (65504.0, false));
    /// let tiny = Decimal::parse("-1e-999999999")?;
    /// assert_eq!(tiny.round(Format::F64, Rounding::Down).0, -f64::from_bits(1));
    /// assert_eq!(tiny.round(Format::F64, Rounding::Up).0.to_bits(), (-0.0f64).to_bits());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn round(&self, format: Format, rounding: Rounding) -> (f64, bool) {
        use crate::num::round::decimal::{round_magnitude, Magnitude};
        let mode = match (rounding, self.negative) {
            (Rounding::Nearest, _) => Magnitude::NearestEven,
            (Rounding::Down, false) | (Rounding::Up, true) => Magnitude::TowardZero,
            (Rounding::Down, true) | (Rounding::Up, false) => Magnitude::AwayFromZero,
        };
        let (m, exact) = round_magnitude(&self.sig, self.digits, self.exp10, format.binary(), mode);
        (if self.negative { -m } else { m }, exact)
    }
}
