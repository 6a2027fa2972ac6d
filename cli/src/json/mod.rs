//! The JSON contract of the `bnbound` command-line tool.
//!
//! - PARAMS: `{"dtype": "f32"|"f64", "eps": N, "gamma": [..], "beta": [..],
//!   "running_mean": [..], "running_var": [..]}`.
//! - BOX: `{"shape": [..], "lo": [..], "hi": [..]}`, flat row-major data of the params'
//!   dtype; an endpoint may be the string `"inf"` or `"-inf"`.
//! - Output box: `{"dtype": .., "shape": [..], "lo": [..], "hi": [..]}`.
//! - Affine form (`affine`): `{"A": {"lo": [[..], ..], "hi": [[..], ..]}, "c": {"lo": [..],
//!   "hi": [..]}}`; linear bound (`backward`): the same with keys `"L"` and `"d"`. Either
//!   may carry `"shape": [C, d1, ...]`, the layer's per-sample input shape (CNN layout).
//!   Output forms have the input's structure (without `"shape"`).
//!
//! Every number is converted straight from its decimal text to the dtype, correctly
//! rounded (never through `f64` for `f32`); a decimal whose magnitude rounds to infinity
//! in the dtype is rejected (write `"inf"` for an unbounded endpoint). Numbers are written
//! in the shortest decimal that reads back to the same value of the dtype; infinities as
//! `"inf"`/`"-inf"`. Unknown fields are rejected.

mod form;
mod storage;
mod write;

pub use form::{parse_form, parse_shaped_form, FormKind};
pub use storage::{parse_stored_box, parse_stored_params, stored_dtype, write_stored_box};
pub use write::{write_box, write_deployed_fold, write_form, write_report};

use bnbound::{AnyBatchNorm, BatchNorm, Dtype, Float, Shape, TensorBox};
use serde::Deserialize;
use serde_json::value::RawValue;

/// What is wrong with a document of the contract. Every message is one line that names
/// the key and position of the offending entry.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed JSON, a missing or unknown field, or a value of the wrong kind (serde's
    /// message, at most 160 characters, with its line and column).
    #[error("{0}")]
    Syntax(String),
    /// A number that cannot be used: not a number, out of range of the dtype, or a nonzero
    /// parameter that underflows to zero.
    #[error("{at}: {reason}")]
    Number {
        /// The key and position, e.g. `gamma[3]` or `A.lo[0][2]`.
        at: String,
        /// Why (quoting at most 80 characters of the number).
        reason: String,
    },
    /// Rows, columns or entries whose counts do not fit together.
    #[error("{what} has {found} {unit}, expected {expected}")]
    Mismatch {
        /// The key, e.g. `A.hi` or `A.lo[2]`.
        what: String,
        /// `"rows"` or `"entries"`.
        unit: &'static str,
        /// The count that fits the rest of the document.
        expected: usize,
        /// The count found.
        found: usize,
    },
    /// The document's `"dtype"` is not the one the caller asked for.
    #[error("dtype is {found:?} but the parameters are {expected}")]
    WrongDtype {
        /// The dtype expected.
        expected: Dtype,
        /// The dtype written (at most 80 characters).
        found: String,
    },
    /// The document is well formed, but the library rejects its content (invalid
    /// parameters, a bad shape or box, a form that does not fit).
    #[error("{}{source}", context.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    Invalid {
        /// The key the content came from, when it helps (`"A"`, `"c"`).
        context: Option<String>,
        /// The library's error.
        source: bnbound::Error,
    },
}

impl From<bnbound::Error> for Error {
    fn from(source: bnbound::Error) -> Self {
        Error::Invalid {
            context: None,
            source,
        }
    }
}

/// `Result` with the JSON contract's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
#[serde(deny_unknown_fields, bound(deserialize = "T: Float"))]
struct RawBox<T> {
    shape: Vec<usize>,
    lo: Numbers<T>,
    hi: Numbers<T>,
}

/// A JSON array of contract numbers converted to `T` while it is parsed, so a large box
/// never holds a second copy of its numbers as raw text slices. The first invalid entry
/// is kept (index and text) and reported by [`Numbers::into_vec`] with its field name.
struct Numbers<T> {
    values: Vec<T>,
    first_bad: Option<(usize, Box<RawValue>)>,
}

impl<'de, T: Float> Deserialize<'de> for Numbers<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Seq<T>(std::marker::PhantomData<T>);
        impl<'de, T: Float> serde::de::Visitor<'de> for Seq<T> {
            type Value = Numbers<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of numbers")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Numbers<T>, A::Error> {
                let mut out = Numbers {
                    values: Vec::new(),
                    first_bad: None,
                };
                let mut i = 0;
                while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                    if out.first_bad.is_none() {
                        match number::<T>(raw, "", None) {
                            Ok(x) => out.values.push(x),
                            Err(_) => out.first_bad = Some((i, raw.to_owned())),
                        }
                    }
                    i += 1;
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Seq(std::marker::PhantomData))
    }
}

impl<T: Float> Numbers<T> {
    /// The values, or the error of the first invalid entry, named `what[index]`.
    fn into_vec(self, what: &str) -> Result<Vec<T>> {
        match self.first_bad {
            Some((i, raw)) => match number::<T>(&raw, what, Some(i)) {
                Err(e) => Err(e),
                Ok(_) => Err(Error::Number {
                    at: format!("{what}[{i}]"),
                    reason: "invalid number".to_string(),
                }),
            },
            None => Ok(self.values),
        }
    }
}

/// A JSON syntax or structure error; serde's message may quote a token from the input, so
/// a long message keeps its start and its position ("at line L column C").
fn syntax(what: &str, e: serde_json::Error) -> Error {
    let msg = e.to_string();
    let n = msg.chars().count();
    let msg = if n <= 160 {
        msg
    } else {
        let head: String = msg.chars().take(100).collect();
        let tail: String = msg.chars().skip(n - 40).collect();
        format!("{head}…{tail}")
    };
    Error::Syntax(format!("{what}: {msg}"))
}

/// Whether a decimal number's significand has no nonzero digit, i.e. it denotes zero
/// exactly (so that rounding it to zero loses nothing).
///
/// ```
/// use bnbound_cli::json::is_zero_decimal;
/// assert!(is_zero_decimal("-0.000e-5") && is_zero_decimal("0"));
/// assert!(!is_zero_decimal("1e-50") && !is_zero_decimal("0.0001"));
/// ```
pub fn is_zero_decimal(text: &str) -> bool {
    let significand = text.trim().split(['e', 'E']).next().unwrap_or("");
    !significand.chars().any(|c| c.is_ascii_digit() && c != '0')
}

/// Whether `what` names a layer parameter (which must be finite) rather than an interval
/// endpoint (which may be `"inf"`).
fn is_parameter(what: &str) -> bool {
    matches!(
        what,
        "gamma" | "beta" | "running_mean" | "running_var" | "eps"
    )
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
            _ => Err(Error::Number {
                at: at(),
                reason: format!(
                    "expected a number, \"inf\" or \"-inf\", found the string {:?}",
                    bnbound::short(&s)
                ),
            }),
        };
    }
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(Error::Number {
            at: at(),
            reason: format!(
                "expected a number, \"inf\" or \"-inf\", found {}",
                bnbound::short(text)
            ),
        });
    }
    // A JSON number is valid Rust float syntax; Rust's parser rounds correctly.
    let x: T = text.parse().map_err(|_| Error::Number {
        at: at(),
        reason: format!("cannot read the number {}", bnbound::short(text)),
    })?;
    if x.is_zero() && is_parameter(what) && !is_zero_decimal(text) {
        return Err(Error::Number {
            at: at(),
            reason: format!(
                "{} underflows to 0 in {} (a nonzero parameter would silently become 0)",
                bnbound::short(text),
                T::DTYPE
            ),
        });
    }
    if x.is_infinite() {
        let hint = if is_parameter(what) {
            "parameters must be finite"
        } else {
            "write \"inf\" or \"-inf\" for an unbounded endpoint"
        };
        return Err(Error::Number {
            at: at(),
            reason: format!(
                "{} is out of range for {} ({hint})",
                bnbound::short(text),
                T::DTYPE
            ),
        });
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
    .map_err(Error::from)
}

/// Parses and validates a PARAMS document.
///
/// Errors: [`Error::Syntax`] for malformed JSON and missing or unknown fields;
/// [`Error::Number`] for non-numbers and out-of-range decimals; [`Error::Syntax`] for an
/// unknown dtype (naming the four dtypes of the contract); [`Error::Invalid`] for every
/// [`BatchNorm::new`] error.
///
/// ```
/// let e = bnbound_cli::json::parse_params(r#"{"dtype": "f64", "eps": 0, "gamma": [1],
///     "beta": [0], "running_mean": [0], "running_var": [-1]}"#).unwrap_err();
/// assert_eq!(e.to_string(), "running_var[0] = -1 is negative");
/// ```
pub fn parse_params(text: &str) -> Result<AnyBatchNorm> {
    let p: RawParams<'_> = serde_json::from_str(text).map_err(|e| syntax("params", e))?;
    if let Ok(s) = p.dtype.parse::<bnbound::Storage>() {
        return Err(Error::Syntax(format!(
            "params: dtype {} is read by parse_stored_params (ibp only)",
            s.name()
        )));
    }
    let dtype = p.dtype.parse::<Dtype>().map_err(|_| {
        Error::Syntax(format!(
            "params: unknown dtype {:?}: expected \"f32\", \"f64\", \"f16\" or \"bf16\"",
            bnbound::short(&p.dtype)
        ))
    })?;
    Ok(match dtype {
        Dtype::F32 => AnyBatchNorm::F32(params_of(&p)?),
        Dtype::F64 => AnyBatchNorm::F64(params_of(&p)?),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "T: Float"))]
struct RawLayer<T> {
    dims: Vec<usize>,
    weight: Numbers<T>,
    #[serde(default)]
    bias: Option<Numbers<T>>,
}

/// Parses a LAYER document `{"dims": [O, I, k…], "weight": [..], "bias": [..]}` (bias
/// optional; row-major OIHW weights) for `fold`.
///
/// ```
/// let l = bnbound_cli::json::parse_layer::<f32>(r#"{"dims": [2, 1], "weight": [1, 2], "bias": [0, 0.5]}"#)?;
/// assert_eq!((l.out_channels(), l.bias()), (2, &[0.0f32, 0.5][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_layer<T: Float>(text: &str) -> Result<bnbound::fold::LinearLayer<T>> {
    let l: RawLayer<T> = serde_json::from_str(text).map_err(|e| syntax("layer", e))?;
    let bias = l.bias.map(|b| b.into_vec("bias")).transpose()?;
    Ok(bnbound::fold::LinearLayer::new(
        &l.dims,
        l.weight.into_vec("weight")?,
        bias,
    )?)
}

/// Parses and validates a BOX document whose numbers are of type `T`.
///
/// Errors: [`Error::Syntax`], [`Error::Number`], and (as [`Error::Invalid`]) every
/// [`Shape::new`] and [`TensorBox::new`] error.
///
/// ```
/// let b = bnbound_cli::json::parse_box::<f32>(r#"{"shape": [1, 2], "lo": [0.1, "-inf"], "hi": [0.2, 1]}"#)?;
/// assert_eq!(b.lo(), &[0.1f32, f32::NEG_INFINITY]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_box<T: Float>(text: &str) -> Result<TensorBox<T>> {
    let b: RawBox<T> = serde_json::from_str(text).map_err(|e| syntax("box", e))?;
    let shape = Shape::new(&b.shape)?;
    Ok(TensorBox::new(
        shape,
        b.lo.into_vec("lo")?,
        b.hi.into_vec("hi")?,
    )?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "T: Float"))]
struct RawOutBox<T> {
    dtype: String,
    shape: Vec<usize>,
    lo: Numbers<T>,
    hi: Numbers<T>,
}

/// Parses an output-box document (`{"dtype", "shape", "lo", "hi"}`, as `ibp` writes it),
/// for instance a claimed box to check. Its dtype must be `T`'s.
///
/// ```
/// let b = bnbound_cli::json::parse_output_box::<f64>(
///     r#"{"dtype": "f64", "shape": [1], "lo": ["-inf"], "hi": [2.5]}"#)?;
/// assert_eq!(b.hi(), &[2.5]);
/// assert!(bnbound_cli::json::parse_output_box::<f32>(
///     r#"{"dtype": "f64", "shape": [1], "lo": [0], "hi": [1]}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_output_box<T: Float>(text: &str) -> Result<TensorBox<T>> {
    let b: RawOutBox<T> = serde_json::from_str(text).map_err(|e| syntax("box", e))?;
    if b.dtype != T::DTYPE.name() {
        return Err(Error::WrongDtype {
            expected: T::DTYPE,
            found: bnbound::short(&b.dtype),
        });
    }
    Ok(TensorBox::new(
        Shape::new(&b.shape)?,
        b.lo.into_vec("lo")?,
        b.hi.into_vec("hi")?,
    )?)
}
