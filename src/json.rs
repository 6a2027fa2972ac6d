//! The JSON contract of the `bnbound` command-line tool (feature `json`).
//!
//! - PARAMS: `{"dtype": "f32"|"f64", "eps": N, "gamma": [..], "beta": [..],
//!   "running_mean": [..], "running_var": [..]}`.
//! - BOX: `{"shape": [..], "lo": [..], "hi": [..]}`, flat row-major data of the params'
//!   dtype; an endpoint may be the string `"inf"` or `"-inf"`.
//! - Output box: `{"dtype": .., "shape": [..], "lo": [..], "hi": [..]}`.
//!
//! Every number is converted straight from its decimal text to the dtype, correctly
//! rounded (never through `f64` for `f32`); a decimal whose magnitude rounds to infinity
//! in the dtype is rejected (write `"inf"` for an unbounded endpoint). Numbers are written
//! in the shortest decimal that reads back to the same value of the dtype; infinities as
//! `"inf"`/`"-inf"`. Unknown fields are rejected.

use crate::error::{Error, Result};
use crate::{BatchNorm, Dtype, Float, Shape, TensorBox};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use std::io::Write;

/// Layer parameters of either dtype, as read from a PARAMS file.
///
/// ```
/// use bnbound::json::{parse_params, AnyBatchNorm};
/// let p = parse_params(r#"{"dtype": "f32", "eps": 1e-5, "gamma": [0.1], "beta": [0],
///                          "running_mean": [0], "running_var": [1]}"#)?;
/// match p {
///     AnyBatchNorm::F32(bn) => assert_eq!(bn.gamma(), &[0.1f32]),
///     AnyBatchNorm::F64(_) => unreachable!(),
/// }
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum AnyBatchNorm {
    /// `"dtype": "f32"`.
    F32(BatchNorm<f32>),
    /// `"dtype": "f64"`.
    F64(BatchNorm<f64>),
}

impl AnyBatchNorm {
    /// The dtype.
    ///
    /// ```
    /// let p = bnbound::json::parse_params(r#"{"dtype": "f64", "eps": 0, "gamma": [1],
    ///     "beta": [0], "running_mean": [0], "running_var": [1]}"#)?;
    /// assert_eq!(p.dtype(), bnbound::Dtype::F64);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn dtype(&self) -> Dtype {
        match self {
            AnyBatchNorm::F32(_) => Dtype::F32,
            AnyBatchNorm::F64(_) => Dtype::F64,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams<'a> {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBox<'a> {
    shape: Vec<usize>,
    #[serde(borrow)]
    lo: Vec<&'a RawValue>,
    #[serde(borrow)]
    hi: Vec<&'a RawValue>,
}

fn syntax(what: &str, e: serde_json::Error) -> Error {
    Error::Parse(format!("{what}: {e}"))
}

/// One number of the contract: a JSON number, correctly rounded to `T`, or `"inf"`/`"-inf"`.
fn number<T: Float>(raw: &RawValue, what: &str, index: Option<usize>) -> Result<T> {
    let at = || match index {
        Some(i) => format!("{what}[{i}]"),
        None => what.to_string(),
    };
    let text = raw.get().trim();
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|e| syntax(&at(), e))?;
        return match s.as_str() {
            "inf" => Ok(T::infinity()),
            "-inf" => Ok(T::neg_infinity()),
            _ => Err(Error::Parse(format!(
                "{}: expected a number, \"inf\" or \"-inf\", found the string {s:?}",
                at()
            ))),
        };
    }
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(Error::Parse(format!(
            "{}: expected a number, \"inf\" or \"-inf\", found {text}",
            at()
        )));
    }
    // A JSON number is valid Rust float syntax; Rust's parser rounds correctly.
    let x: T = text
        .parse()
        .map_err(|_| Error::Parse(format!("{}: cannot read the number {text}", at())))?;
    if x.is_infinite() {
        return Err(Error::Parse(format!(
            "{}: {text} is out of range for {} (write \"inf\" or \"-inf\" for an unbounded endpoint)",
            at(),
            T::DTYPE
        )));
    }
    Ok(x)
}

fn numbers<T: Float>(raw: &[&RawValue], what: &str) -> Result<Vec<T>> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| number(r, what, Some(i)))
        .collect()
}

fn params_of<T: Float>(p: &RawParams<'_>) -> Result<BatchNorm<T>> {
    BatchNorm::new(
        numbers(&p.gamma, "gamma")?,
        numbers(&p.beta, "beta")?,
        numbers(&p.running_mean, "running_mean")?,
        numbers(&p.running_var, "running_var")?,
        number(p.eps, "eps", None)?,
    )
}

/// Parses and validates a PARAMS document.
///
/// Errors: [`Error::Parse`] for malformed JSON, missing or unknown fields, non-numbers and
/// out-of-range decimals; [`Error::UnknownDtype`]; every [`BatchNorm::new`] error.
///
/// ```
/// let e = bnbound::json::parse_params(r#"{"dtype": "f64", "eps": 0, "gamma": [1],
///     "beta": [0], "running_mean": [0], "running_var": [-1]}"#).unwrap_err();
/// assert_eq!(e.to_string(), "running_var[0] = -1 is negative");
/// ```
pub fn parse_params(text: &str) -> Result<AnyBatchNorm> {
    let p: RawParams<'_> = serde_json::from_str(text).map_err(|e| syntax("params", e))?;
    Ok(match p.dtype.parse::<Dtype>()? {
        Dtype::F32 => AnyBatchNorm::F32(params_of(&p)?),
        Dtype::F64 => AnyBatchNorm::F64(params_of(&p)?),
    })
}

/// Parses and validates a BOX document whose numbers are of type `T`.
///
/// Errors: [`Error::Parse`], every [`Shape::new`] and [`TensorBox::new`] error.
///
/// ```
/// let b = bnbound::json::parse_box::<f32>(r#"{"shape": [1, 2], "lo": [0.1, "-inf"], "hi": [0.2, 1]}"#)?;
/// assert_eq!(b.lo(), &[0.1f32, f32::NEG_INFINITY]);
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn parse_box<T: Float>(text: &str) -> Result<TensorBox<T>> {
    let b: RawBox<'_> = serde_json::from_str(text).map_err(|e| syntax("box", e))?;
    let shape = Shape::new(&b.shape)?;
    TensorBox::new(shape, numbers(&b.lo, "lo")?, numbers(&b.hi, "hi")?)
}

/// One number of the output: shortest round-trip decimal of the dtype, or "inf"/"-inf".
struct Num<T>(T);

impl<T: Float> Serialize for Num<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let x = self.0.to_f64_exact();
        if x.is_infinite() {
            s.serialize_str(if x > 0.0 { "inf" } else { "-inf" })
        } else {
            match T::DTYPE {
                // Exact: x came from an f32.
                Dtype::F32 => s.serialize_f32(x as f32),
                Dtype::F64 => s.serialize_f64(x),
            }
        }
    }
}

struct Seq<'a, T>(&'a [T]);

impl<T: Float> Serialize for Seq<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &x in self.0 {
            seq.serialize_element(&Num(x))?;
        }
        seq.end()
    }
}

struct BoxOut<'a, T: Float>(&'a TensorBox<T>);

impl<T: Float> Serialize for BoxOut<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Box", 4)?;
        st.serialize_field("dtype", T::DTYPE.name())?;
        st.serialize_field("shape", self.0.shape().dims())?;
        st.serialize_field("lo", &Seq(self.0.lo()))?;
        st.serialize_field("hi", &Seq(self.0.hi()))?;
        st.end()
    }
}

/// Writes a box as an output document (one line, then a newline), streaming.
///
/// ```
/// use bnbound::{Shape, TensorBox};
/// let b = TensorBox::new(Shape::new(&[2])?, vec![0.1f32, f32::NEG_INFINITY], vec![0.2, 1.0])?;
/// let mut out = Vec::new();
/// bnbound::json::write_box(&b, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(),
///            "{\"dtype\":\"f32\",\"shape\":[2],\"lo\":[0.1,\"-inf\"],\"hi\":[0.2,1.0]}\n");
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn write_box<T: Float, W: Write>(b: &TensorBox<T>, mut w: W) -> std::io::Result<()> {
    serde_json::to_writer(&mut w, &BoxOut(b))?;
    w.write_all(b"\n")?;
    w.flush()
}
