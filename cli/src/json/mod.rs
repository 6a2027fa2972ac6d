//! The JSON contract of the `bnbound` command-line tool.
//!
//! - PARAMS: `{"dtype": "f32"|"f64", "eps": N, "gamma": [..], "beta": [..],
//!   "running_mean": [..], "running_var": [..]}`.
//! - BOX: `{"shape": [..], "lo": [..], "hi": [..]}` with an optional `"dtype"` (which must
//!   be the layer's), flat row-major data; an endpoint may be the string `"inf"` or `"-inf"`.
//! - Output box: `{"dtype": .., "shape": [..], "lo": [..], "hi": [..]}`, itself a BOX.
//! - Affine form (`affine`): `{"A": {"lo": [[..], ..], "hi": [[..], ..]}, "c": {"lo": [..],
//!   "hi": [..]}}`; linear bound (`backward`): the same with keys `"L"` and `"d"`. Either
//!   may carry `"shape": [C, d1, ...]`, the layer's per-sample input shape (CNN layout).
//!   Output forms have the input's structure (without `"shape"`, with `"dtype"`).
//!
//! Every number is read exactly from its decimal text (at most
//! [`bnbound::exact::MAX_NUMBER_LEN`] characters) and rounded once to the dtype, in the
//! direction its document's rule names ([`Rule`]): parameters and the numbers of a
//! document that states `"dtype"` to nearest (they name floats of that type); a BOX or
//! form without `"dtype"` names real numbers and is read outward (`lo` down, `hi` up), or,
//! for `check`, must hold values of the dtype exactly. A decimal whose rounding is
//! infinite is rejected (write `"inf"` for an unbounded endpoint). Numbers are written in
//! the shortest decimal that reads back (to nearest) to the same value of the dtype;
//! infinities as `"inf"`/`"-inf"`. Unknown fields are rejected.

mod form;
mod number;
mod storage;
mod write;

pub use form::{parse_claimed_form, parse_form, parse_shaped_form, FormKind};
pub use number::{read_number, Rule};
pub use storage::{parse_stored_box, parse_stored_params, stored_dtype, write_stored_box};
pub use write::{write_box, write_deployed_fold, write_form, write_report};

use bnbound::exact::Format;
use bnbound::{AnyBatchNorm, BatchNorm, Dtype, Float, Shape, TensorBox};
use number::{number_at, Role};
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

/// A BOX document whose `lo` and `hi` are read by the rules coded `LO` and `HI`
/// ([`Rule::code`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "T: Float"))]
struct RawBox<T, const LO: u8, const HI: u8> {
    #[serde(default)]
    #[allow(dead_code)] // checked by `doc_dtype` before this pass
    dtype: Option<String>,
    shape: Vec<usize>,
    lo: Numbers<T, LO>,
    hi: Numbers<T, HI>,
}

/// The `"dtype"` a document states, if any (a first, allocation-free pass over the text:
/// the numbers' rule depends on it, and it may come after them). Malformed JSON is left
/// to the second pass, which reports it.
pub(crate) fn doc_dtype(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct D {
        #[serde(default)]
        dtype: Option<String>,
    }
    serde_json::from_str::<D>(text).ok().and_then(|d| d.dtype)
}

/// How a document without `"dtype"` is read: outward (inputs of `ibp`, `deriv`, `affine`,
/// `backward`) or exactly (what `check` decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Untyped {
    /// `lo` down, `hi` up: the document names real numbers, and the box read contains them.
    Outward,
    /// Every number must be a value of the dtype ([`Rule::Exact`]).
    Exact,
}

/// The rules of a document's `lo` and `hi`: to nearest when it states `"dtype"` (which
/// must be `expected`), else by `untyped`.
pub(crate) fn rules(text: &str, expected: &str, untyped: Untyped) -> Result<(Rule, Rule)> {
    match doc_dtype(text) {
        Some(d) if d == expected => Ok((Rule::Nearest, Rule::Nearest)),
        Some(d) => Err(match expected.parse::<Dtype>() {
            Ok(expected) => Error::WrongDtype {
                expected,
                found: short(&d),
            },
            Err(_) => Error::Syntax(format!(
                "dtype is {:?} but the parameters are {expected}",
                short(&d)
            )),
        }),
        None => Ok(match untyped {
            Untyped::Outward => (Rule::Down, Rule::Up),
            Untyped::Exact => (Rule::Exact, Rule::Exact),
        }),
    }
}

/// A JSON array of contract numbers converted to `T` (by the rule coded `R`) while it is
/// parsed, so a large box never holds a second copy of its numbers as raw text slices. The
/// first invalid entry is kept (index and text) and reported by [`Numbers::into_vec`] with
/// its field name.
struct Numbers<T, const R: u8> {
    values: Vec<T>,
    first_bad: Option<(usize, Box<RawValue>)>,
}

impl<'de, T: Float, const R: u8> Deserialize<'de> for Numbers<T, R> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Seq<T, const R: u8>(std::marker::PhantomData<T>);
        impl<'de, T: Float, const R: u8> serde::de::Visitor<'de> for Seq<T, R> {
            type Value = Numbers<T, R>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of numbers")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Numbers<T, R>, A::Error> {
                let mut out = Numbers {
                    values: Vec::new(),
                    first_bad: None,
                };
                let mut i = 0;
                while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                    if out.first_bad.is_none() {
                        match number::<T>(raw, "", None, Rule::of_code(R)) {
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

impl<T: Float, const R: u8> Numbers<T, R> {
    /// The values, or the error of the first invalid entry, named `what[index]`.
    fn into_vec(self, what: &str) -> Result<Vec<T>> {
        match self.first_bad {
            Some((i, raw)) => match number::<T>(&raw, what, Some(i), Rule::of_code(R)) {
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
/// At most 80 characters of `s` (text quoted from a document or a model in a message),
/// with `…` marking a cut, so a hostile file cannot make a message arbitrarily long.
///
/// ```
/// use bnbound_cli::json::short;
/// assert_eq!(short(&"x".repeat(1000)).chars().count(), 80);
/// assert_eq!(short("bn1"), "bn1");
/// ```
pub fn short(s: &str) -> String {
    // The 80th character's start, if a character follows it (more than 80 in all).
    match s.char_indices().nth(79) {
        Some((i, _)) if s[i..].chars().nth(1).is_some() => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
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
    bnbound::exact::Decimal::parse(text.trim()).is_ok_and(|d| d.is_zero())
}

/// Whether `what` names a layer parameter (which must be finite) rather than an interval
/// endpoint (which may be `"inf"`).
fn is_parameter(what: &str) -> bool {
    matches!(
        what,
        "gamma" | "beta" | "running_mean" | "running_var" | "eps"
    )
}

/// One number of the contract read by `rule` as a value of `T` (see [`number_at`]), or
/// `"inf"`/`"-inf"` for an endpoint; named `what[index]` in errors.
fn number<T: Float>(raw: &RawValue, what: &str, index: Option<usize>, rule: Rule) -> Result<T> {
    let at = || match index {
        Some(i) => format!("{what}[{i}]"),
        None => what.to_string(),
    };
    let role = if is_parameter(what) {
        Role::Parameter
    } else {
        Role::Endpoint
    };
    let x = number_at(raw, Format::from(T::DTYPE), rule, role, &at)?;
    // Exact: x is a value of T.
    Ok(T::from_f64_down(x))
}

fn numbers<T: Float>(raw: &[&RawValue], what: &str, rule: Rule) -> Result<Vec<T>> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| number(r, what, Some(i), rule))
        .collect()
}

fn params_of<T: Float>(p: &RawParams<'_>) -> Result<BatchNorm<T>> {
    BatchNorm::new(
        numbers(&p.gamma, "gamma", Rule::Nearest)?,
        numbers(&p.beta, "beta", Rule::Nearest)?,
        numbers(&p.running_mean, "running_mean", Rule::Nearest)?,
        numbers(&p.running_var, "running_var", Rule::Nearest)?,
        number(p.eps, "eps", None, Rule::Nearest)?,
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
            short(&p.dtype)
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
    weight: Numbers<T, { Rule::Nearest.code() }>,
    #[serde(default)]
    bias: Option<Numbers<T, { Rule::Nearest.code() }>>,
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

/// Parses and validates a BOX document whose numbers are of type `T`, for `ibp` and
/// `deriv`: without `"dtype"` it names real numbers and is read outward (`lo` down, `hi`
/// up, so the box read contains the one named); with `"dtype"` (which must be `T`'s) it
/// names floats of `T`, read to nearest, so an output box read back is the same box.
///
/// Errors: [`Error::Syntax`] (also for a `"dtype"` that is not `T`'s), [`Error::Number`],
/// and (as [`Error::Invalid`]) every [`Shape::new`] and [`TensorBox::new`] error.
///
/// ```
/// let b = bnbound_cli::json::parse_box::<f32>(r#"{"shape": [1, 2], "lo": [0.7, "-inf"], "hi": [0.7, 1]}"#)?;
/// assert!((b.lo()[0] as f64) < 0.7 && (b.hi()[0] as f64) > 0.7); // contains 0.7
/// let t = bnbound_cli::json::parse_box::<f32>(r#"{"dtype": "f32", "shape": [1], "lo": [0.7], "hi": [0.7]}"#)?;
/// assert_eq!(t.lo(), &[0.7f32]); // the f32 nearest 0.7
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_box<T: Float>(text: &str) -> Result<TensorBox<T>> {
    parse_box_by(text, Untyped::Outward)
}

/// A BOX document read by the rules for its `"dtype"` (or its absence: `untyped`).
fn parse_box_by<T: Float>(text: &str, untyped: Untyped) -> Result<TensorBox<T>> {
    const N: u8 = Rule::Nearest.code();
    const D: u8 = Rule::Down.code();
    const U: u8 = Rule::Up.code();
    const E: u8 = Rule::Exact.code();
    fn read<T: Float, const LO: u8, const HI: u8>(text: &str) -> Result<TensorBox<T>> {
        let b: RawBox<T, LO, HI> = serde_json::from_str(text).map_err(|e| syntax("box", e))?;
        Ok(TensorBox::new(
            Shape::new(&b.shape)?,
            b.lo.into_vec("lo")?,
            b.hi.into_vec("hi")?,
        )?)
    }
    match rules(text, T::DTYPE.name(), untyped)? {
        (Rule::Down, _) => read::<T, D, U>(text),
        (Rule::Exact, _) => read::<T, E, E>(text),
        _ => read::<T, N, N>(text),
    }
}

/// Parses a box that `check` decides: a claimed output box (`{"dtype", "shape", "lo",
/// "hi"}`, as `ibp` writes it), or the input box of a check. With `"dtype"` (which must be
/// `T`'s) its numbers name the nearest floats of `T`; without it they name real numbers,
/// which must then be values of `T` exactly (the checker decides on floats; an inexact
/// decimal is an error, never rounded in a direction that could change the verdict).
///
/// ```
/// let b = bnbound_cli::json::parse_output_box::<f64>(
///     r#"{"dtype": "f64", "shape": [1], "lo": ["-inf"], "hi": [2.5]}"#)?;
/// assert_eq!(b.hi(), &[2.5]);
/// assert!(bnbound_cli::json::parse_output_box::<f32>(
///     r#"{"dtype": "f64", "shape": [1], "lo": [0], "hi": [1]}"#).is_err());
/// assert!(bnbound_cli::json::parse_output_box::<f32>(
///     r#"{"shape": [1], "lo": [0.1], "hi": [1]}"#).is_err()); // 0.1 is not an f32
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_output_box<T: Float>(text: &str) -> Result<TensorBox<T>> {
    parse_box_by(text, Untyped::Exact)
}
