//! Parsing form documents (`{"A", "c"}` / `{"L", "d"}`, optional `"shape"`); ragged rows
//! are rejected before anything is reserved.

use super::{number, numbers, rules, syntax, Error, Result, Rule, Untyped};
use bnbound::{AffineForm, Float, Shape, TensorBox};
use serde::Deserialize;
use serde_json::value::RawValue;

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
    #[serde(default)]
    #[allow(dead_code)] // checked by `rules` before this pass
    dtype: Option<String>,
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
    #[serde(default)]
    #[allow(dead_code)] // checked by `rules` before this pass
    dtype: Option<String>,
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
    pub(super) fn keys(self) -> (&'static str, &'static str) {
        match self {
            FormKind::Affine => ("A", "c"),
            FormKind::Linear => ("L", "d"),
        }
    }
}

fn matrix<T: Float>(m: &RawMatrix<'_>, key: &str, (lo, hi): (Rule, Rule)) -> Result<TensorBox<T>> {
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
    for (side, (name, v, rule)) in [("lo", &m.lo, lo), ("hi", &m.hi, hi)]
        .into_iter()
        .enumerate()
    {
        for (i, row) in v.iter().enumerate() {
            for (j, r) in row.iter().enumerate() {
                flat[side].push(number(r, &format!("{key}.{name}[{i}]"), Some(j), rule)?);
            }
        }
    }
    let [lo, hi] = flat;
    TensorBox::new(Shape::new(&[rows, cols])?, lo, hi).map_err(|source| Error::Invalid {
        context: Some(key.to_string()),
        source,
    })
}

fn vector<T: Float>(v: &RawVector<'_>, key: &str, (lo, hi): (Rule, Rule)) -> Result<TensorBox<T>> {
    let lo = numbers(&v.lo, &format!("{key}.lo"), lo)?;
    let hi = numbers(&v.hi, &format!("{key}.hi"), hi)?;
    TensorBox::new(Shape::new(&[lo.len()])?, lo, hi).map_err(|source| Error::Invalid {
        context: Some(key.to_string()),
        source,
    })
}

/// Parses and validates a form document of the given kind with numbers of type `T`: with
/// `"dtype"` (which must be `T`'s) its numbers name floats of `T` (read to nearest);
/// without, real numbers, read outward (`lo` down, `hi` up, so the form read contains the
/// one named).
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
    parse_form_by(text, kind, Untyped::Outward)
}

/// Parses a form that `check` decides (a claimed form, or the form a check's claim was
/// computed from), with its optional `"shape"`: with `"dtype"` (which must be `T`'s) its
/// numbers name the nearest floats of `T`; without, they must be values of `T` exactly.
///
/// ```
/// use bnbound_cli::json::{parse_claimed_form, FormKind};
/// let ok = r#"{"A": {"lo": [[0.5]], "hi": [[0.5]]}, "c": {"lo": [0], "hi": [0]}}"#;
/// assert!(parse_claimed_form::<f32>(ok, FormKind::Affine).is_ok());
/// let inexact = ok.replace("0.5", "0.1");
/// assert!(parse_claimed_form::<f32>(&inexact, FormKind::Affine).is_err());
/// let typed = inexact.replacen('{', r#"{"dtype": "f32", "#, 1);
/// assert!(parse_claimed_form::<f32>(&typed, FormKind::Affine).is_ok());
/// ```
pub fn parse_claimed_form<T: Float>(
    text: &str,
    kind: FormKind,
) -> Result<(AffineForm<T>, Option<Vec<usize>>)> {
    parse_form_by(text, kind, Untyped::Exact)
}

fn parse_form_by<T: Float>(
    text: &str,
    kind: FormKind,
    untyped: Untyped,
) -> Result<(AffineForm<T>, Option<Vec<usize>>)> {
    let (mk, vk) = kind.keys();
    let r = rules(text, T::DTYPE.name(), untyped)?;
    let (m, v, shape) = match kind {
        FormKind::Affine => {
            let f: RawAffine<'_> = serde_json::from_str(text).map_err(|e| syntax("form", e))?;
            (matrix(&f.m, mk, r)?, vector(&f.c, vk, r)?, f.shape)
        }
        FormKind::Linear => {
            let f: RawLinear<'_> = serde_json::from_str(text).map_err(|e| syntax("form", e))?;
            (matrix(&f.m, mk, r)?, vector(&f.d, vk, r)?, f.shape)
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
