//! PARAMS and BOX documents of the 16-bit storage types (`"dtype": "f16"|"bf16"`), for
//! `ibp`: numbers correctly rounded from their decimal text to the storage type, held in
//! `f32` (every f16 and bf16 value is an f32 value), and output boxes written in the
//! shortest decimal that reads back to the same storage value.

use super::{syntax, Error, Result};
use bnbound::{BatchNorm, Shape, Storage, TensorBox};
use num_bigint::BigInt;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::cmp::Ordering;
use std::io::Write;

/// The storage type a PARAMS document names, if it names one.
///
/// ```
/// use bnbound_cli::json::stored_dtype;
/// assert_eq!(stored_dtype(r#"{"dtype": "bf16", "eps": 0}"#), Some(bnbound::Storage::Bf16));
/// assert_eq!(stored_dtype(r#"{"dtype": "f32"}"#), None);
/// ```
pub fn stored_dtype(text: &str) -> Option<Storage> {
    #[derive(Deserialize)]
    struct D {
        dtype: String,
    }
    let d: D = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())?;
    d.dtype.parse().ok()
}

/// `d` vs `m·2^e` exactly, for a decimal `d` given by its text.
fn cmp_decimal_dyadic(text: &str, x: f64) -> Option<Ordering> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (mant, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits: BigInt = format!("{int}{frac}").parse().ok()?;
    let k = exp - frac.len() as i64; // d = digits · 10^k
    let d = if neg { -digits } else { digits };
    // x = m · 2^e exactly.
    let bits = x.to_bits();
    let raw_e = ((bits >> 52) & 0x7ff) as i64;
    let frac_bits = (bits & ((1u64 << 52) - 1)) as i64;
    let (m, e) = if raw_e == 0 {
        (frac_bits, -1074)
    } else {
        (frac_bits | (1 << 52), raw_e - 1075)
    };
    let m = if x < 0.0 {
        -BigInt::from(m)
    } else {
        BigInt::from(m)
    };
    // Compare d·10^max(k,0)·2^max(−e,0)... over a common scale.
    let ten = |n: i64| num_traits::pow(BigInt::from(10), n as usize);
    let two = |n: i64| BigInt::from(1) << n as usize;
    let (mut l, mut r) = (d, m);
    if k >= 0 {
        l *= ten(k);
    } else {
        r *= ten(-k);
    }
    if e >= 0 {
        r *= two(e);
    } else {
        l *= two(-e);
    }
    Some(l.cmp(&r))
}

/// The value of `storage` nearest to the decimal `text` (ties to even), as an `f32`.
fn storage_number(text: &str, storage: Storage) -> Option<f32> {
    let v: f64 = text.trim().parse().ok()?; // RN₆₄ of the decimal
    if !v.is_finite() {
        return Some(v as f32);
    }
    // The storage values around v (both are f32 values, so f32 bounds of v suffice).
    let f = v as f32;
    let f_lo = if (f as f64) > v { f.next_down() } else { f };
    let f_hi = if (f as f64) < v { f.next_up() } else { f };
    let (lo, hi) = (storage.down(f_lo), storage.up(f_hi));
    if lo == hi {
        return Some(lo);
    }
    // The midpoint needs one bit more than the storage type: an f32, exact in f64. Beyond
    // the largest finite value the threshold of rounding to infinity plays its part:
    // MAX + ulp(MAX)/2, i.e. MAX + (MAX − pred(MAX))/2.
    let mid = if hi.is_infinite() {
        let below = storage.down(lo.next_down());
        lo as f64 + (lo as f64 - below as f64) / 2.0
    } else if lo.is_infinite() {
        let above = storage.up(hi.next_up());
        hi as f64 - (above as f64 - hi as f64) / 2.0
    } else {
        (lo as f64 + hi as f64) / 2.0
    };
    let side = match v.partial_cmp(&mid)? {
        // RN₆₄ is monotone and mid is an f64: v ≠ mid fixes the decimal's side.
        Ordering::Equal => cmp_decimal_dyadic(text, mid)?,
        o => o,
    };
    Some(match side {
        Ordering::Less => lo,
        Ordering::Greater => hi,
        // A tie: to even, as the storage type's own conversion of the midpoint does.
        Ordering::Equal => {
            if storage_is_even(lo, storage) {
                lo
            } else {
                hi
            }
        }
    })
}

fn storage_is_even(x: f32, storage: Storage) -> bool {
    let bits = match storage {
        Storage::F16 => half::f16::from_f32(x).to_bits(),
        Storage::Bf16 => half::bf16::from_f32(x).to_bits(),
    };
    bits & 1 == 0
}

/// One number of a storage document: a JSON number correctly rounded to the storage type,
/// or `"inf"`/`"-inf"` where `allow_inf`.
fn number(raw: &RawValue, storage: Storage, at: String, allow_inf: bool) -> Result<f32> {
    let text = raw.get().trim();
    let bad = |reason: String| Error::Number {
        at: at.clone(),
        reason,
    };
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|e| syntax(&at, e))?;
        return match (s.as_str(), allow_inf) {
            ("inf", true) => Ok(f32::INFINITY),
            ("-inf", true) => Ok(f32::NEG_INFINITY),
            _ => Err(bad(format!(
                "expected a number, found the string {:?}",
                bnbound::short(&s)
            ))),
        };
    }
    let x = storage_number(text, storage)
        .ok_or_else(|| bad(format!("cannot read the number {}", bnbound::short(text))))?;
    if x.is_infinite() {
        return Err(bad(format!(
            "{} is out of range for {}",
            bnbound::short(text),
            storage.name()
        )));
    }
    if x == 0.0 && !allow_inf && !super::is_zero_decimal(text) {
        return Err(bad(format!(
            "{} underflows to 0 in {} (a nonzero parameter would silently become 0)",
            bnbound::short(text),
            storage.name()
        )));
    }
    Ok(x)
}

fn numbers(raw: &[&RawValue], storage: Storage, what: &str, allow_inf: bool) -> Result<Vec<f32>> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| number(r, storage, format!("{what}[{i}]"), allow_inf))
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStored<'a> {
    #[allow(dead_code)]
    dtype: String,
    #[serde(borrow)]
    eps: &'a RawValue,
    #[serde(borrow)]
    gamma: Vec<&'a RawValue>,
    #[serde(borrow)]
    beta: Vec<&'a RawValue>,
    #[serde(borrow)]
    running_mean: Vec<&'a RawValue>,
    #[serde(borrow)]
    running_var: Vec<&'a RawValue>,
}

/// Parses a PARAMS document of a storage type: the layer (γ, β, μ, σ² values of `storage`,
/// ε an `f32` value, all held in `f32`).
///
/// ```
/// use bnbound_cli::json::parse_stored_params;
/// let bn = parse_stored_params(r#"{"dtype": "f16", "eps": 1e-5, "gamma": [0.1], "beta": [0],
///     "running_mean": [0], "running_var": [1]}"#, bnbound::Storage::F16)?;
/// assert_eq!(bn.gamma(), &[half::f16::from_f64(0.1).to_f32()]);
/// assert_eq!(bn.eps(), 1e-5f32); // ε stays an f32 value
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_stored_params(text: &str, storage: Storage) -> Result<BatchNorm<f32>> {
    let p: RawStored<'_> = serde_json::from_str(text).map_err(|e| syntax("params", e))?;
    Ok(BatchNorm::new(
        numbers(&p.gamma, storage, "gamma", false)?,
        numbers(&p.beta, storage, "beta", false)?,
        numbers(&p.running_mean, storage, "running_mean", false)?,
        numbers(&p.running_var, storage, "running_var", false)?,
        // ε is the f32 value the kernels use (PyTorch's static_cast<float>(eps), ONNX's
        // float attribute), not a value of the storage type.
        super::number::<f32>(p.eps, "eps", None)?,
    )?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStoredBox<'a> {
    shape: Vec<usize>,
    #[serde(borrow)]
    lo: Vec<&'a RawValue>,
    #[serde(borrow)]
    hi: Vec<&'a RawValue>,
}

/// Parses a BOX document whose numbers are of a storage type.
///
/// ```
/// let b = bnbound_cli::json::parse_stored_box(r#"{"shape": [1], "lo": [0.1], "hi": ["inf"]}"#,
///     bnbound::Storage::Bf16)?;
/// assert_eq!((b.lo()[0], b.hi()[0]), (half::bf16::from_f64(0.1).to_f32(), f32::INFINITY));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_stored_box(text: &str, storage: Storage) -> Result<TensorBox<f32>> {
    let b: RawStoredBox<'_> = serde_json::from_str(text).map_err(|e| syntax("box", e))?;
    Ok(TensorBox::new(
        Shape::new(&b.shape)?,
        numbers(&b.lo, storage, "lo", true)?,
        numbers(&b.hi, storage, "hi", true)?,
    )?)
}

/// The shortest decimal that reads back (correctly rounded) to the storage value `x`.
fn shortest(x: f32, storage: Storage) -> String {
    for p in 0..9 {
        let s = format!("{:.*e}", p, x);
        if storage_number(&s, storage) == Some(x) {
            return s;
        }
    }
    format!("{x:e}")
}

/// Writes an output box of a storage type: `{"dtype": "f16"|"bf16", "shape", "lo", "hi"}`.
///
/// ```
/// use bnbound::{Shape, Storage, TensorBox};
/// let b = TensorBox::new(Shape::new(&[1])?, vec![half::f16::from_f64(0.1).to_f32()], vec![f32::INFINITY])?;
/// let mut out = Vec::new();
/// bnbound_cli::json::write_stored_box(&b, Storage::F16, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "{\"dtype\":\"f16\",\"shape\":[1],\"lo\":[1e-1],\"hi\":[\"inf\"]}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_stored_box<W: Write>(
    b: &TensorBox<f32>,
    storage: Storage,
    mut w: W,
) -> std::io::Result<()> {
    let list = |v: &[f32]| -> String {
        v.iter()
            .map(|&x| match x {
                f32::INFINITY => "\"inf\"".to_string(),
                f32::NEG_INFINITY => "\"-inf\"".to_string(),
                _ => shortest(x, storage),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let shape: Vec<String> = b.shape().dims().iter().map(|d| d.to_string()).collect();
    writeln!(
        w,
        "{{\"dtype\":\"{}\",\"shape\":[{}],\"lo\":[{}],\"hi\":[{}]}}",
        storage.name(),
        shape.join(","),
        list(b.lo()),
        list(b.hi())
    )?;
    w.flush()
}
