//! `decimal_reads_exactly`: the CLI's number reader ([`bnbound_cli::json::read_number`],
//! the function every document number goes through) on long and exotic decimals, against
//! an exact oracle written here: the decimal's value as a rational from its text (big
//! integers, its own parser), and the result checked by its neighbours in the format —
//! `Down` gives `r ≤ x < succ(r)`, `Up` its mirror, `Nearest` lies within half a gap of
//! `x` on both sides with ties to even, `Exact` succeeds exactly when `x` is a value. No
//! division or quantum is computed here, unlike the reader.

use crate::oracle::{rat, Q};
use arbitrary::Unstructured;
use bnbound::exact::{Format, MAX_NUMBER_LEN};
use bnbound_cli::json::{read_number, Rule};
use num_bigint::BigInt;
use num_traits::{Signed, Zero};

const FORMATS: [Format; 4] = [Format::F16, Format::Bf16, Format::F32, Format::F64];
const RULES: [Rule; 4] = [Rule::Down, Rule::Up, Rule::Nearest, Rule::Exact];

/// The format's bits of a value of it (held exactly in `f64`), as a sign-magnitude
/// ordinal: `(negative, magnitude bits)`.
fn bits(x: f64, fmt: Format) -> (bool, u64) {
    let neg = x.is_sign_negative();
    let a = x.abs();
    let m = match fmt {
        Format::F64 => a.to_bits(),
        Format::F32 => u64::from((a as f32).to_bits()),
        Format::F16 => u64::from(half::f16::from_f64(a).to_bits()),
        Format::Bf16 => u64::from(half::bf16::from_f64(a).to_bits()),
    };
    (neg, m)
}

fn value(mag: u64, neg: bool, fmt: Format) -> f64 {
    let a = match fmt {
        Format::F64 => f64::from_bits(mag),
        Format::F32 => f64::from(f32::from_bits(mag as u32)),
        Format::F16 => half::f16::from_bits(mag as u16).to_f64(),
        Format::Bf16 => half::bf16::from_bits(mag as u16).to_f64(),
    };
    if neg {
        -a
    } else {
        a
    }
}

/// The next value of the format above `x` (`x` a value of it, not `+∞`).
fn succ(x: f64, fmt: Format) -> f64 {
    let (neg, m) = bits(x, fmt);
    if m == 0 {
        value(1, false, fmt)
    } else if neg {
        value(m - 1, true, fmt)
    } else {
        value(m + 1, false, fmt)
    }
}

fn pred(x: f64, fmt: Format) -> f64 {
    -succ(-x, fmt)
}

fn max_finite(fmt: Format) -> f64 {
    pred(f64::INFINITY, fmt)
}

/// Whether `x` is a value of the format (its bits read back to it).
fn holds(x: f64, fmt: Format) -> bool {
    let (neg, m) = bits(x, fmt);
    value(m, neg, fmt) == x
}

/// The value of a JSON number text, exactly, when its exponent is moderate; else the
/// decimal order of magnitude `E` (`10^E ≤ |x| < 10^(E+1)`) of a nonzero value.
enum Exact {
    Value(Q),
    Huge { negative: bool, order: BigInt },
}

/// Parses a JSON number the oracle's own way (digits and exponent as big integers).
fn exact(text: &str) -> Option<Exact> {
    let (negative, t) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mant, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<BigInt>().ok()?),
        None => (t, BigInt::zero()),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = format!("{int}{frac}");
    let n: BigInt = digits.parse().ok()?;
    let k = exp - BigInt::from(frac.len());
    if n.is_zero() {
        return Some(Exact::Value(Q::zero()));
    }
    let order = &k + BigInt::from(n.to_string().len() - 1);
    if order.abs() > BigInt::from(6000) {
        return Some(Exact::Huge { negative, order });
    }
    let k = i64::try_from(&k).ok()?;
    let ten = |e: u64| num_traits::pow(BigInt::from(10), e as usize);
    let n = if negative { -n } else { n };
    Some(Exact::Value(if k >= 0 {
        Q::from_integer(n * ten(k as u64))
    } else {
        Q::from_integer(n) / Q::from_integer(ten(k.unsigned_abs()))
    }))
}

/// Checks the reader's answer `got` for `text` by `rule` in `fmt`; panics on a wrong one.
fn check(text: &str, fmt: Format, rule: Rule, got: Result<f64, String>) {
    let negative = text.starts_with('-');
    if text.len() > MAX_NUMBER_LEN {
        assert!(got.is_err(), "{text:.60}…: longer than the limit, yet read");
        return;
    }
    let x = exact(text).unwrap_or_else(|| panic!("{text:.200}: the harness writes JSON numbers"));
    let r = match (got, &x, rule) {
        (Err(e), Exact::Value(v), Rule::Exact) => {
            // Refused: the decimal must not be a value of the format.
            let near = read_number(text, fmt, Rule::Nearest).expect("a valid number");
            assert!(
                !near.is_finite() || rat(near) != *v,
                "{text}: exact, yet refused: {e}"
            );
            return;
        }
        (Err(_), Exact::Huge { .. }, Rule::Exact) => return,
        (Err(e), _, _) => panic!("{text}: {e}"),
        (Ok(r), _, _) => r,
    };
    assert!(
        !r.is_nan() && (r.is_infinite() || holds(r, fmt)),
        "{text}: {r} is not a value"
    );
    if r == 0.0 {
        assert_eq!(r.is_sign_negative(), negative, "{text}: the sign of zero");
    }
    let v = match x {
        Exact::Huge { negative, order } => {
            // Far beyond every format: overflow or underflow, by direction.
            let big = order.is_positive();
            let toward_zero = matches!((rule, negative), (Rule::Down, false) | (Rule::Up, true));
            let want = match (big, toward_zero, rule) {
                (true, true, _) => max_finite(fmt),
                (true, false, _) => f64::INFINITY,
                (false, _, Rule::Nearest | Rule::Exact) | (false, true, _) => 0.0,
                (false, false, _) => value(1, false, fmt),
            };
            let want = if negative { -want } else { want };
            assert!(rule != Rule::Exact, "{text}: read as exact {r}");
            assert_eq!(r, want, "{text} {rule:?} {fmt:?}");
            return;
        }
        Exact::Value(v) => v,
    };
    let q = |y: f64| rat(y);
    match rule {
        Rule::Down => {
            if r == f64::NEG_INFINITY {
                assert!(v < q(-max_finite(fmt)), "{text}: −∞ for a value ≥ −MAX");
            } else {
                assert!(q(r) <= v, "{text}: down {r} above the value");
                let s = succ(r, fmt);
                assert!(
                    s.is_infinite() || v < q(s),
                    "{text}: down {r} not the greatest"
                );
            }
        }
        Rule::Up => {
            if r == f64::INFINITY {
                assert!(v > q(max_finite(fmt)), "{text}: +∞ for a value ≤ MAX");
            } else {
                assert!(q(r) >= v, "{text}: up {r} below the value");
                let p = pred(r, fmt);
                assert!(p.is_infinite() || v > q(p), "{text}: up {r} not the least");
            }
        }
        Rule::Nearest | Rule::Exact => {
            let max = max_finite(fmt);
            // IEEE: ±∞ from MAX + ulp(MAX)/2 on (a tie goes to ∞: MAX's significand is odd).
            let half_gap = (q(max) - q(pred(max, fmt))) / Q::from_integer(2.into());
            let limit = q(max) + half_gap;
            if r.is_infinite() {
                let a = if r > 0.0 { v.clone() } else { -v.clone() };
                assert!(a >= limit, "{text}: ∞ below the overflow threshold");
            } else {
                let d = |y: f64| {
                    let e = q(y) - v.clone();
                    if e.is_positive() {
                        e
                    } else {
                        -e
                    }
                };
                let (lo, hi) = (pred(r, fmt), succ(r, fmt));
                let mine = d(r);
                for n in [lo, hi] {
                    if n.is_finite() {
                        let other = d(n);
                        assert!(
                            mine <= other,
                            "{text}: {r} is not the nearest ({n} is nearer)"
                        );
                        if mine == other {
                            assert_eq!(bits(r, fmt).1 % 2, 0, "{text}: a tie not to even");
                        }
                    } else {
                        let a = if r > 0.0 { v.clone() } else { -v.clone() };
                        assert!(
                            r.abs() != max || a < limit,
                            "{text}: MAX at/after the threshold"
                        );
                    }
                }
            }
            if rule == Rule::Exact {
                assert!(
                    r.is_finite() && q(r) == v,
                    "{text}: read as exact, but inexact"
                );
            }
        }
    }
}

/// A decimal's digits for the exact value of `x` (finite): `(digits, exp10)` with
/// `x = ±digits·10^exp10`.
fn decimal_of(x: f64) -> (bool, String, i64) {
    let v = rat(x);
    let n = v.numer().abs();
    let d = v.denom().clone();
    // d is a power of two 2^k: x = n·5^k / 10^k.
    let k = d.bits() as i64 - 1;
    let digits = n * num_traits::pow(BigInt::from(5), k as usize);
    (x < 0.0, digits.to_string(), -k)
}

/// Writes `±digits·10^exp10` as `0.` + `lead` zeros + the digits + `trail` zeros with a
/// compensating exponent (styles: `e7`, `E+007`, `e+7`), or (style bit 4, no leading
/// zeros) as integer digits and an exponent.
fn write(neg: bool, digits: &str, exp10: i64, lead: usize, trail: usize, style: u8) -> String {
    let digits = format!("{digits}{}", "0".repeat(trail));
    let exp = exp10 - trail as i64 + (lead + digits.len()) as i64;
    let sign = if neg { "-" } else { "" };
    if style & 0x10 != 0 && lead == 0 {
        // Integer digits and an exponent: `123000e-7`.
        let d = digits.trim_start_matches('0');
        let d = if d.is_empty() { "0" } else { d };
        return format!("{sign}{d}e{}", exp10 - trail as i64);
    }
    let e = match style % 4 {
        0 => format!("e{exp}"),
        1 => format!("E{}{:03}", if exp < 0 { "-" } else { "+" }, exp.abs()),
        2 if exp >= 0 => format!("e+{exp}"),
        _ => format!("e{exp}"),
    };
    format!("{sign}0.{}{digits}{e}", "0".repeat(lead))
}

/// The harness: a decimal built from the fuzzer's bytes (random digit strings of any
/// length, leading and trailing zeros, exponents from 0 to beyond `i64`, and values at,
/// just above and just below a format value or a midpoint between two), read in every
/// format by every rule, each answer checked against the exact oracle. The same text in
/// a BOX document (typed and untyped) must give the same values: the documents use the
/// reader.
pub fn decimal_reads_exactly(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(text) = decimal_text(&mut u) else {
        return;
    };
    for fmt in FORMATS {
        for rule in RULES {
            let got = read_number(&text, fmt, rule).map_err(|e| e.to_string());
            check(&text, fmt, rule, got);
        }
    }
    // Through a document: untyped BOX endpoints are read outward, typed ones to nearest.
    let one = |doc: String| bnbound_cli::json::parse_box::<f32>(&doc).map(|b| b.lo()[0]);
    let down = read_number(&text, Format::F32, Rule::Down);
    let nearest = read_number(&text, Format::F32, Rule::Nearest);
    if let (Ok(d), Ok(n)) = (&down, &nearest) {
        let untyped = one(format!(
            r#"{{"shape": [1], "lo": [{text}], "hi": ["inf"]}}"#
        ));
        let typed = one(format!(
            r#"{{"dtype": "f32", "shape": [1], "lo": [{text}], "hi": ["inf"]}}"#
        ));
        if d.is_finite() {
            assert_eq!(untyped.map(f64::from).ok(), Some(*d), "{text}: BOX lo");
        }
        if n.is_finite() {
            assert_eq!(typed.map(f64::from).ok(), Some(*n), "{text}: typed BOX lo");
        }
    }
}

fn decimal_text(u: &mut Unstructured<'_>) -> Option<String> {
    let kind = u.int_in_range(0u8..=5).ok()?;
    let neg = u.arbitrary::<bool>().ok()?;
    let lead = match u.int_in_range(0u8..=3).ok()? {
        0 => 0,
        1 => u.int_in_range(0usize..=20).ok()?,
        2 => u.int_in_range(0usize..=3000).ok()?,
        _ => u.int_in_range(0usize..=4200).ok()?,
    };
    let most = u.int_in_range(0usize..=600).ok()?;
    let trail = u.int_in_range(0usize..=most).ok()?;
    let style = u.arbitrary::<u8>().ok()?;
    if kind <= 2 {
        // A value of a format, or a midpoint between two, exactly or just off it.
        let fmt = FORMATS[u.int_in_range(0usize..=3).ok()?];
        let raw = u.arbitrary::<u64>().ok()?;
        let mag = match fmt {
            Format::F64 => raw % 0x7FF0_0000_0000_0000,
            Format::F32 => raw % 0x7F80_0000,
            Format::F16 => raw % 0x7C00,
            Format::Bf16 => raw % 0x7F80,
        };
        let x = value(mag, false, fmt);
        let y = succ(x, fmt);
        let (_, mut digits, mut exp10) = decimal_of(x);
        if kind >= 1 {
            // The exact midpoint (x + y)/2 = (digits_x·10^a + digits_y·10^b)/2.
            let (_, dy, ey) = decimal_of(if y.is_infinite() { x } else { y });
            let e = exp10.min(ey) - 1;
            let scale = |d: &str, k: i64| {
                d.parse::<BigInt>().unwrap() * num_traits::pow(BigInt::from(10), (k - e) as usize)
            };
            let sum: BigInt = scale(&digits, exp10) + scale(&dy, ey);
            // (sum·10^e)/2 = (sum·5)·10^(e−1)
            digits = (sum * 5u32).to_string();
            exp10 = e - 1;
        }
        // Nudge by one unit far below the last digit: just above or below the point.
        let nudge = u.int_in_range(0u8..=2).ok()?;
        if nudge > 0 {
            let far = u.int_in_range(1usize..=400).ok()?;
            let n: BigInt =
                digits.parse::<BigInt>().unwrap() * num_traits::pow(BigInt::from(10), far);
            // (Below zero is not a digit string: from zero, nudge up.)
            let n = if nudge == 1 || n.is_zero() {
                n + 1u32
            } else {
                n - 1u32
            };
            digits = n.to_string();
            exp10 -= far as i64;
        }
        let digits = digits.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        return Some(write(neg, digits, exp10, lead, trail, style));
    }
    // Random digits and an exponent of any size.
    let len = match u.int_in_range(0u8..=3).ok()? {
        0 => u.int_in_range(1usize..=20).ok()?,
        1 => u.int_in_range(1usize..=800).ok()?,
        _ => u.int_in_range(1usize..=4000).ok()?,
    };
    let mut digits = String::with_capacity(len);
    for _ in 0..len {
        digits.push(char::from(b'0' + u.int_in_range(0u8..=9).ok()?));
    }
    let exp10: i64 = match u.int_in_range(0u8..=4).ok()? {
        0 => u.int_in_range(-40i64..=40).ok()?,
        1 => u.int_in_range(-400i64..=400).ok()?,
        2 => u.int_in_range(-5000i64..=5000).ok()?,
        3 => u.arbitrary::<i64>().ok()? / 2,
        _ => u.int_in_range(-330i64..=330).ok()? - len as i64,
    };
    if kind == 5 && exp10.unsigned_abs() < 1 << 40 {
        // An exponent of more digits than an i64 holds.
        let sign = if exp10 < 0 { "-" } else { "" };
        let d = if neg { "-" } else { "" };
        return Some(format!(
            "{d}0.{digits}e{sign}99999999999999999999999{}",
            exp10.abs()
        ));
    }
    Some(write(neg, &digits, exp10, lead, trail, style))
}
