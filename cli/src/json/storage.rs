//! PARAMS and BOX documents of the 16-bit storage types (`"dtype": "f16"|"bf16"`), for
//! `ibp`: numbers read from their decimal text by the contract's rules (parameters and
//! typed boxes to nearest, untyped boxes outward) to the storage type, held in `f32`
//! (every f16 and bf16 value is an f32 value), and output boxes written in the shortest
//! decimal that reads back to the same storage value.

use super::number::{number_at, Role};
use super::{read_number, rules, syntax, Result, Rule, Untyped};
use bnbound::exact::Format;
use bnbound::{BatchNorm, Float, Shape, Storage, TensorBox};
use serde::Deserialize;
use serde_json::value::RawValue;
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

/// One number of a storage document, read by `rule` (see [`super::number::number_at`]):
/// an endpoint may be `"inf"`/`"-inf"`, a parameter must be finite.
fn number(raw: &RawValue, storage: Storage, at: String, rule: Rule, role: Role) -> Result<f32> {
    let x = number_at(raw, Format::from(storage), rule, role, &|| at.clone())?;
    // Exact: a value of the storage type is an f32 value.
    Ok(f32::from_f64_down(x))
}

fn numbers(
    raw: &[&RawValue],
    storage: Storage,
    what: &str,
    rule: Rule,
    role: Role,
) -> Result<Vec<f32>> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| number(r, storage, format!("{what}[{i}]"), rule, role))
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
        numbers(&p.gamma, storage, "gamma", Rule::Nearest, Role::Parameter)?,
        numbers(&p.beta, storage, "beta", Rule::Nearest, Role::Parameter)?,
        numbers(
            &p.running_mean,
            storage,
            "running_mean",
            Rule::Nearest,
            Role::Parameter,
        )?,
        numbers(
            &p.running_var,
            storage,
            "running_var",
            Rule::Nearest,
            Role::Parameter,
        )?,
        // ε is the f32 value the kernels use (PyTorch's static_cast<float>(eps), ONNX's
        // float attribute), not a value of the storage type.
        super::number::<f32>(p.eps, "eps", None, Rule::Nearest)?,
    )?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStoredBox<'a> {
    #[serde(default)]
    #[allow(dead_code)] // checked by `rules` before this pass
    dtype: Option<String>,
    shape: Vec<usize>,
    #[serde(borrow)]
    lo: Vec<&'a RawValue>,
    #[serde(borrow)]
    hi: Vec<&'a RawValue>,
}

/// Parses a BOX document whose numbers are of a storage type, by the BOX rule: without
/// `"dtype"` it names real numbers, read outward to the storage type (`lo` down, `hi`
/// up); with `"dtype"` (which must be `storage`'s name) it names values of the storage
/// type, read to nearest (so an output box read back is the same box).
///
/// ```
/// use bnbound::Storage;
/// let b = bnbound_cli::json::parse_stored_box(r#"{"shape": [1], "lo": [0.1], "hi": ["inf"]}"#,
///     Storage::Bf16)?;
/// assert_eq!((b.lo()[0], b.hi()[0]), (Storage::Bf16.down(0.1), f32::INFINITY));
/// let t = bnbound_cli::json::parse_stored_box(
///     r#"{"dtype": "bf16", "shape": [1], "lo": [0.1], "hi": [0.1]}"#, Storage::Bf16)?;
/// assert_eq!(t.lo()[0], half::bf16::from_f64(0.1).to_f32());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_stored_box(text: &str, storage: Storage) -> Result<TensorBox<f32>> {
    let (lo, hi) = rules(text, storage.name(), Untyped::Outward)?;
    let b: RawStoredBox<'_> = serde_json::from_str(text).map_err(|e| syntax("box", e))?;
    Ok(TensorBox::new(
        Shape::new(&b.shape)?,
        numbers(&b.lo, storage, "lo", lo, Role::Endpoint)?,
        numbers(&b.hi, storage, "hi", hi, Role::Endpoint)?,
    )?)
}

/// The shortest decimal that reads back (correctly rounded) to the storage value `x`.
fn shortest(x: f32, storage: Storage) -> String {
    for p in 0..9 {
        let s = format!("{:.*e}", p, x);
        if read_number(&s, Format::from(storage), Rule::Nearest).ok() == Some(f64::from(x)) {
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
