//! `bnbound.check_*`: the library's exact checker on another tool's claimed bounds.

use bnbound::check::{self, Source};
use bnbound::{AffineForm, AnyBatchNorm, BatchNorm, Checker, TensorBox};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::arrays::{input, same_dims, Elem};
use crate::enclosure::{form_of, semantics};
use crate::errors::{core, err, located, opt_dims, opt_u64};
use crate::layer::PyBatchNorm;

/// One unsound claimed bound.
#[pyclass(module = "bnbound", name = "Violation", frozen, get_all)]
#[derive(Clone)]
pub(crate) struct Violation {
    /// The flat row-major index of the element (forms: the entries of A, then of c).
    index: usize,
    /// "lo" or "hi": which claimed bound is unsound.
    side: &'static str,
    /// An input (of the box's dtype, or ±inf) at which the exact output escapes.
    witness: f64,
    /// How far the exact output lies outside the claimed bound (the decimal `excess_text`
    /// as a float), or inf when the exact image is unbounded on that side.
    excess: f64,
    /// The excess correctly rounded to 17 significant digits, or "inf".
    excess_text: String,
    /// "real" (the exact real image) or the runtime whose output escapes.
    source: &'static str,
}

#[pymethods]
impl Violation {
    fn __repr__(&self) -> String {
        format!(
            "Violation(index={}, side={:?}, witness={:?}, excess={}, source={:?})",
            self.index, self.side, self.witness, self.excess_text, self.source
        )
    }
}

/// The verdict of an exact check.
#[pyclass(module = "bnbound", name = "CheckReport", frozen, get_all)]
pub(crate) struct CheckReport {
    /// True when no claimed bound is unsound.
    sound: bool,
    /// How many elements (or form entries) were checked.
    checked: usize,
    /// How many claimed bounds are unsound (all of them, also those not kept; a side may
    /// fail twice under deployed semantics).
    unsound: usize,
    /// How many elements (or form entries) have an unsound bound: comparable with
    /// `checked`.
    unsound_elements: usize,
    /// The first `keep` violations, in element order.
    violations: Vec<Violation>,
}

#[pymethods]
impl CheckReport {
    fn __repr__(&self) -> String {
        format!(
            "CheckReport(sound={}, checked={}, unsound={}, unsound_elements={})",
            if self.sound { "True" } else { "False" },
            self.checked,
            self.unsound,
            self.unsound_elements
        )
    }
}

fn report(r: check::CheckReport) -> CheckReport {
    CheckReport {
        sound: r.sound(),
        checked: r.checked,
        unsound: r.unsound,
        unsound_elements: r.unsound_elements,
        violations: r
            .violations
            .iter()
            .map(|v| Violation {
                index: v.index,
                side: match v.side {
                    bnbound::Side::Lo => "lo",
                    bnbound::Side::Hi => "hi",
                },
                witness: v.witness,
                excess: v.excess.to_f64(),
                excess_text: v.excess.to_string(),
                source: match v.source {
                    Source::Real => "real",
                    Source::Runtime(rt) => rt.name(),
                },
            })
            .collect(),
    }
}

fn layer<'a>(bn: &'a Bound<'_, PyAny>) -> PyResult<PyRef<'a, PyBatchNorm>> {
    bn.extract::<PyRef<'a, PyBatchNorm>>()
        .map_err(|_| err("bn: expected a bnbound.BatchNorm"))
}

fn keep(k: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    Ok(opt_u64(k, "keep")?.map_or(100, |k| usize::try_from(k).unwrap_or(usize::MAX)))
}

/// Two arrays as an owned box.
fn tensor<T: Elem>(
    l: &Bound<'_, PyAny>,
    h: &Bound<'_, PyAny>,
    names: [&str; 2],
) -> PyResult<TensorBox<T>> {
    let (a, b) = (input::<T>(l, names[0])?, input::<T>(h, names[1])?);
    same_dims(a.dims(), b.dims(), names[0], names[1])?;
    let shape = bnbound::Shape::new(a.dims()).map_err(core)?;
    let dims = a.dims().to_vec();
    TensorBox::new(shape, a.into_vec(), b.into_vec()).map_err(|e| located(e, &dims, names))
}

/// What a check compares: boxes or forms.
enum Claim<'py> {
    Ibp([Bound<'py, PyAny>; 4], bnbound::Semantics),
    Derivative([Bound<'py, PyAny>; 4]),
    Form(Bound<'py, PyAny>, Bound<'py, PyAny>, Vec<usize>, bool),
}

fn four<'py>(t: &Bound<'py, PyAny>, what: &str) -> PyResult<[Bound<'py, PyAny>; 4]> {
    let t = t
        .cast::<PyTuple>()
        .ok()
        .filter(|t| t.len() == 4)
        .ok_or_else(|| err(format!("{what}: expected a tuple of four arrays")))?;
    Ok([
        t.get_item(0)?,
        t.get_item(1)?,
        t.get_item(2)?,
        t.get_item(3)?,
    ])
}

fn run<T: Elem>(
    py: Python<'_>,
    bn: &BatchNorm<T>,
    claim: &Claim<'_>,
    keep: usize,
) -> PyResult<CheckReport> {
    let checker: Checker<'_, T> = bn.checker().keeping(keep);
    let r = match claim {
        Claim::Ibp([l, h, cl, ch], sem) => {
            let x = tensor::<T>(l, h, ["lo", "hi"])?;
            let c = tensor::<T>(cl, ch, ["claimed_lo", "claimed_hi"])?;
            py.detach(|| checker.ibp_in(*sem, &x, &c))
        }
        Claim::Derivative([l, h, cl, ch]) => {
            let x = tensor::<T>(l, h, ["dlo", "dhi"])?;
            let c = tensor::<T>(cl, ch, ["claimed_lo", "claimed_hi"])?;
            py.detach(|| checker.derivative_chain(&x, &c))
        }
        Claim::Form(form, claimed, sample, backward) => {
            let f4 = four(form, "form")?;
            let c4 = four(claimed, "claimed")?;
            let f: AffineForm<T> = form_of(f4.each_ref(), ["A_lo", "A_hi", "c_lo", "c_hi"])?;
            let c: AffineForm<T> = form_of(
                c4.each_ref(),
                [
                    "claimed A_lo",
                    "claimed A_hi",
                    "claimed c_lo",
                    "claimed c_hi",
                ],
            )?;
            if *backward {
                py.detach(|| checker.backward_shaped(&f, sample, &c))
            } else {
                py.detach(|| checker.compose_shaped(&f, sample, &c))
            }
        }
    };
    Ok(report(r.map_err(core)?))
}

fn dispatch(
    py: Python<'_>,
    bn: &Bound<'_, PyAny>,
    claim: Claim<'_>,
    k: usize,
) -> PyResult<CheckReport> {
    let bn = layer(bn)?;
    if bn.x_type_unknown && matches!(claim, Claim::Ibp(_, bnbound::Semantics::Deployed(_))) {
        return Err(crate::enclosure::unknown_input_type());
    }
    if let (Claim::Ibp(_, bnbound::Semantics::Deployed(_)), Some(s)) = (&claim, bn.storage) {
        return Err(err(crate::enclosure::no_stored_recipe("check_ibp", s)));
    }
    match &*bn.bn {
        AnyBatchNorm::F32(b) => run::<f32>(py, b, &claim, k),
        AnyBatchNorm::F64(b) => run::<f64>(py, b, &claim, k),
    }
}

/// check_ibp(bn, lo, hi, claimed_lo, claimed_hi, *, semantics=None, runtime=None, ulps=None, keep=100)
#[pyfunction]
#[pyo3(signature = (bn, lo, hi, claimed_lo, claimed_hi, *, semantics = None, runtime = None, ulps = None, keep = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_ibp<'py>(
    py: Python<'py>,
    bn: &Bound<'py, PyAny>,
    lo: Bound<'py, PyAny>,
    hi: Bound<'py, PyAny>,
    claimed_lo: Bound<'py, PyAny>,
    claimed_hi: Bound<'py, PyAny>,
    semantics: Option<&Bound<'py, PyAny>>,
    runtime: Option<&Bound<'py, PyAny>>,
    ulps: Option<&Bound<'py, PyAny>>,
    keep: Option<&Bound<'py, PyAny>>,
) -> PyResult<CheckReport> {
    let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
    let sem = self::semantics(semantics, runtime, ulps)?;
    let k = self::keep(keep)?;
    dispatch(py, bn, Claim::Ibp([lo, hi, claimed_lo, claimed_hi], sem), k)
}

/// check_derivative(bn, dlo, dhi, claimed_lo, claimed_hi, *, keep=100)
#[pyfunction]
#[pyo3(signature = (bn, dlo, dhi, claimed_lo, claimed_hi, *, keep = None))]
pub(crate) fn check_derivative<'py>(
    py: Python<'py>,
    bn: &Bound<'py, PyAny>,
    dlo: Bound<'py, PyAny>,
    dhi: Bound<'py, PyAny>,
    claimed_lo: Bound<'py, PyAny>,
    claimed_hi: Bound<'py, PyAny>,
    keep: Option<&Bound<'py, PyAny>>,
) -> PyResult<CheckReport> {
    let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
    let k = self::keep(keep)?;
    dispatch(
        py,
        bn,
        Claim::Derivative([dlo, dhi, claimed_lo, claimed_hi]),
        k,
    )
}

fn form_check<'py>(
    py: Python<'py>,
    bn: &Bound<'py, PyAny>,
    form: Bound<'py, PyAny>,
    claimed: Bound<'py, PyAny>,
    shape: Option<&Bound<'py, PyAny>>,
    keep: Option<&Bound<'py, PyAny>>,
    backward: bool,
) -> PyResult<CheckReport> {
    let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
    let k = self::keep(keep)?;
    let channels = layer(bn)?.bn.channels();
    let sample = opt_dims(shape, "shape")?.unwrap_or_else(|| vec![channels]);
    dispatch(py, bn, Claim::Form(form, claimed, sample, backward), k)
}

/// check_compose(bn, form, claimed, *, shape=None, keep=100)
#[pyfunction]
#[pyo3(signature = (bn, form, claimed, *, shape = None, keep = None))]
pub(crate) fn check_compose<'py>(
    py: Python<'py>,
    bn: &Bound<'py, PyAny>,
    form: Bound<'py, PyAny>,
    claimed: Bound<'py, PyAny>,
    shape: Option<&Bound<'py, PyAny>>,
    keep: Option<&Bound<'py, PyAny>>,
) -> PyResult<CheckReport> {
    form_check(py, bn, form, claimed, shape, keep, false)
}

/// check_backward(bn, form, claimed, *, shape=None, keep=100)
#[pyfunction]
#[pyo3(signature = (bn, form, claimed, *, shape = None, keep = None))]
pub(crate) fn check_backward<'py>(
    py: Python<'py>,
    bn: &Bound<'py, PyAny>,
    form: Bound<'py, PyAny>,
    claimed: Bound<'py, PyAny>,
    shape: Option<&Bound<'py, PyAny>>,
    keep: Option<&Bound<'py, PyAny>>,
) -> PyResult<CheckReport> {
    form_check(py, bn, form, claimed, shape, keep, true)
}
