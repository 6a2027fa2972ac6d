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

use bnbound::{AffineForm, AnyBatchNorm, BatchNorm, Dtype, Float, Shape, TensorBox};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use std::io::Write;

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
/// [`Error::Number`] for non-numbers and out-of-range decimals; [`Error::Invalid`] for an
/// unknown dtype and every [`BatchNorm::new`] error.
///
/// ```
/// let e = bnbound_cli::json::parse_params(r#"{"dtype": "f64", "eps": 0, "gamma": [1],
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

/// Writes a checker report: `{"sound": bool, "checked": n, "unsound": k, "violations":
/// [{"index": i, "side": "lo"|"hi", "witness": x, "excess": "decimal"}]}`, where `k`
/// counts every unsound bound and at most the first `limit` violations are listed;
/// witnesses are numbers of `T` (or `"inf"`/`"-inf"`).
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
/// let claimed = TensorBox::new(Shape::new(&[1])?, vec![0.25f32], vec![0.25])?;
/// let mut out = Vec::new();
/// bnbound_cli::json::write_report::<f32, _>(&bn.checker().ibp(&x, &claimed)?, 100, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "{\"sound\":false,\"checked\":1,\"unsound\":1,\"violations\":\
/// [{\"index\":0,\"side\":\"hi\",\"witness\":1.0,\"excess\":\"2.5e-1\"}]}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_report<T: Float, W: Write>(
    r: &bnbound::check::CheckReport,
    limit: usize,
    mut w: W,
) -> std::io::Result<()> {
    struct V<'a, T>(&'a bnbound::check::Violation, std::marker::PhantomData<T>);
    impl<T: Float> Serialize for V<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Violation", 4)?;
            st.serialize_field("index", &self.0.index)?;
            st.serialize_field("side", &self.0.side.to_string())?;
            st.serialize_field("witness", &Num(T::from_f64_down(self.0.witness)))?;
            st.serialize_field("excess", &self.0.excess.to_string())?;
            st.end()
        }
    }
    struct R<'a, T>(
        &'a bnbound::check::CheckReport,
        usize,
        std::marker::PhantomData<T>,
    );
    impl<T: Float> Serialize for R<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Report", 4)?;
            st.serialize_field("sound", &self.0.sound())?;
            st.serialize_field("checked", &self.0.checked)?;
            st.serialize_field("unsound", &self.0.unsound)?;
            let vs: Vec<V<'_, T>> = self
                .0
                .violations
                .iter()
                .take(self.1)
                .map(|v| V(v, std::marker::PhantomData))
                .collect();
            st.serialize_field("violations", &vs)?;
            st.end()
        }
    }
    serde_json::to_writer(&mut w, &R::<T>(r, limit, std::marker::PhantomData))?;
    w.write_all(b"\n")?;
    w.flush()
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
/// bnbound_cli::json::write_box(&b, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(),
///            "{\"dtype\":\"f32\",\"shape\":[2],\"lo\":[0.1,\"-inf\"],\"hi\":[0.2,1.0]}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_box<T: Float, W: Write>(b: &TensorBox<T>, mut w: W) -> std::io::Result<()> {
    serde_json::to_writer(&mut w, &BoxOut(b))?;
    w.write_all(b"\n")?;
    w.flush()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix<'a> {
    #[serde(borrow)]
    lo: Vec<Vec<&'a RawValue>>,
    #[serde(borrow)]
    hi: Vec<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVector<'a> {
    #[serde(borrow)]
    lo: Vec<&'a RawValue>,
    #[serde(borrow)]
    hi: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAffine<'a> {
    #[serde(borrow, rename = "A")]
    m: RawMatrix<'a>,
    #[serde(borrow)]
    c: RawVector<'a>,
    #[serde(default)]
    shape: Option<Vec<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinear<'a> {
    #[serde(borrow, rename = "L")]
    m: RawMatrix<'a>,
    #[serde(borrow)]
    d: RawVector<'a>,
    #[serde(default)]
    shape: Option<Vec<usize>>,
}

/// The key names of a form document: `("A", "c")` for affine forms, `("L", "d")` for
/// linear bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    /// `{"A": .., "c": ..}`: a form feeding the layer (`bnbound affine`).
    Affine,
    /// `{"L": .., "d": ..}`: a linear function of the layer's output (`bnbound backward`).
    Linear,
}

impl FormKind {
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            FormKind::Affine => ("A", "c"),
            FormKind::Linear => ("L", "d"),
        }
    }
}

fn matrix<T: Float>(m: &RawMatrix<'_>, key: &str) -> Result<TensorBox<T>> {
    let rows = m.lo.len();
    let cols = m.lo.first().map_or(0, Vec::len);
    // Every row is checked before anything is reserved, so the reservation is the number of
    // entries actually present in the document (never rows × the first row's length).
    for (name, v) in [("lo", &m.lo), ("hi", &m.hi)] {
        if v.len() != rows {
            return Err(Error::Mismatch {
                what: format!("{key}.{name}"),
                unit: "rows",
                expected: rows,
                found: v.len(),
            });
        }
        if let Some((i, row)) = v.iter().enumerate().find(|(_, r)| r.len() != cols) {
            return Err(Error::Mismatch {
                what: format!("{key}.{name}[{i}]"),
                unit: "entries",
                expected: cols,
                found: row.len(),
            });
        }
    }
    let mut flat = [
        Vec::with_capacity(rows * cols),
        Vec::with_capacity(rows * cols),
    ];
    for (side, (name, v)) in [("lo", &m.lo), ("hi", &m.hi)].into_iter().enumerate() {
        for (i, row) in v.iter().enumerate() {
            for (j, r) in row.iter().enumerate() {
                flat[side].push(number(r, &format!("{key}.{name}[{i}]"), Some(j))?);
            }
        }
    }
    let [lo, hi] = flat;
    TensorBox::new(Shape::new(&[rows, cols])?, lo, hi).map_err(|source| Error::Invalid {
        context: Some(key.to_string()),
        source,
    })
}

fn vector<T: Float>(v: &RawVector<'_>, key: &str) -> Result<TensorBox<T>> {
    let lo = numbers(&v.lo, &format!("{key}.lo"))?;
    let hi = numbers(&v.hi, &format!("{key}.hi"))?;
    TensorBox::new(Shape::new(&[lo.len()])?, lo, hi).map_err(|source| Error::Invalid {
        context: Some(key.to_string()),
        source,
    })
}

/// Parses and validates a form document of the given kind with numbers of type `T`.
///
/// Errors: [`Error::Syntax`], [`Error::Number`] (named by key and position),
/// [`Error::Mismatch`] (ragged rows, row counts that differ), [`Error::Invalid`] (NaN or
/// `lo > hi` entries, with the key).
///
/// ```
/// use bnbound_cli::json::{parse_form, FormKind};
/// let f = parse_form::<f64>(r#"{"A": {"lo": [[1, 2]], "hi": [[1, "inf"]]},
///                               "c": {"lo": [0], "hi": [0.5]}}"#, FormKind::Affine)?;
/// assert_eq!((f.rows(), f.cols()), (1, 2));
/// assert!(parse_form::<f64>(r#"{"A": {"lo": [[1, 2], [3]], "hi": [[1, 2], [3]]},
///                              "c": {"lo": [0, 0], "hi": [0, 0]}}"#, FormKind::Affine).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_form<T: Float>(text: &str, kind: FormKind) -> Result<AffineForm<T>> {
    parse_shaped_form(text, kind).map(|(f, _)| f)
}

/// [`parse_form`] that also returns the document's optional `"shape": [C, d1, …]`, the
/// layer's per-sample input shape for CNN-shaped forms (`A` with `C·d1·…` rows, `L` with
/// `C·d1·…` columns; see `Enclosure::compose_shaped` and `backward_shaped`).
///
/// ```
/// use bnbound_cli::json::{parse_shaped_form, FormKind};
/// let (f, shape) = parse_shaped_form::<f32>(r#"{"L": {"lo": [[1, 2, 3, 4]], "hi": [[1, 2, 3, 4]]},
///     "d": {"lo": [0], "hi": [0]}, "shape": [2, 2]}"#, FormKind::Linear)?;
/// assert_eq!((f.cols(), shape), (4, Some(vec![2, 2])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_shaped_form<T: Float>(
    text: &str,
    kind: FormKind,
) -> Result<(AffineForm<T>, Option<Vec<usize>>)> {
    let (mk, vk) = kind.keys();
    let (m, v, shape) = match kind {
        FormKind::Affine => {
            let f: RawAffine<'_> = serde_json::from_str(text).map_err(|e| syntax("form", e))?;
            (matrix(&f.m, mk)?, vector(&f.c, vk)?, f.shape)
        }
        FormKind::Linear => {
            let f: RawLinear<'_> = serde_json::from_str(text).map_err(|e| syntax("form", e))?;
            (matrix(&f.m, mk)?, vector(&f.d, vk)?, f.shape)
        }
    };
    if v.shape().len() != m.shape().dims()[0] {
        return Err(Error::Mismatch {
            what: vk.to_string(),
            unit: "entries",
            expected: m.shape().dims()[0],
            found: v.shape().len(),
        });
    }
    Ok((AffineForm::new(m, v)?, shape))
}

struct Rows<'a, T>(&'a [T], usize);

impl<T: Float> Serialize for Rows<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let cols = self.1;
        let rows = self.0.len().checked_div(cols).unwrap_or(0);
        let mut seq = s.serialize_seq(Some(rows))?;
        for r in 0..rows {
            seq.serialize_element(&Seq(&self.0[r * cols..(r + 1) * cols]))?;
        }
        seq.end()
    }
}

struct Pair<S1, S2>(S1, S2);

impl<S1: Serialize, S2: Serialize> Serialize for Pair<S1, S2> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Pair", 2)?;
        st.serialize_field("lo", &self.0)?;
        st.serialize_field("hi", &self.1)?;
        st.end()
    }
}

/// Writes a form in the document structure of `kind` (one line, then a newline).
///
/// ```
/// use bnbound_cli::json::{write_form, FormKind};
/// let f = bnbound::AffineForm::point(1, 2, vec![1.0f32, 0.5], vec![-2.0])?;
/// let mut out = Vec::new();
/// write_form(&f, FormKind::Linear, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(),
///     "{\"L\":{\"lo\":[[1.0,0.5]],\"hi\":[[1.0,0.5]]},\"d\":{\"lo\":[-2.0],\"hi\":[-2.0]}}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_form<T: Float, W: Write>(
    f: &AffineForm<T>,
    kind: FormKind,
    mut w: W,
) -> std::io::Result<()> {
    struct Doc<'a, T: Float>(&'a AffineForm<T>, FormKind);
    impl<T: Float> Serialize for Doc<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let (mk, vk) = self.1.keys();
            let (m, v, cols) = (self.0.a(), self.0.c(), self.0.cols());
            let mut st = s.serialize_struct("Form", 2)?;
            st.serialize_field(mk, &Pair(Rows(m.lo(), cols), Rows(m.hi(), cols)))?;
            st.serialize_field(vk, &Pair(Seq(v.lo()), Seq(v.hi())))?;
            st.end()
        }
    }
    serde_json::to_writer(&mut w, &Doc(f, kind))?;
    w.write_all(b"\n")?;
    w.flush()
}
