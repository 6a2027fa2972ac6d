//! `bnbound.Enclosure`: the layer's transfer functions on numpy arrays (IBP, derivatives,
//! forward composition, back-substitution), in fast or tight mode, real or deployed
//! semantics. Every number is computed by the library; this module converts, checks
//! shapes and releases the GIL around the work.

use std::sync::{Arc, Mutex};

use bnbound::{
    AffineForm, AnyBatchNorm, Bounds, BoxView, Mode, Semantics, Shape, Storage, TensorBox,
};
use numpy::{PyArray1, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::arrays::{input, out_array, output, same_dims, torch_out, Elem, Input};
use crate::errors::{core, err, located, opt_dims, opt_str, opt_u64};

/// Above this many elements, fast IBP runs on rayon's threads.
const PARALLEL_FROM: usize = 1 << 16;

fn ulps_text(u: Option<&Bound<'_, PyAny>>) -> String {
    u.and_then(|u| u.repr().ok())
        .map(|r| r.to_string())
        .unwrap_or_default()
}

/// The semantics named by the keyword arguments `semantics`, `runtime`, `ulps` (each
/// None when not given), by the library's rules (`Semantics::from_options`).
pub(crate) fn semantics(
    semantics: Option<&Bound<'_, PyAny>>,
    runtime: Option<&Bound<'_, PyAny>>,
    ulps: Option<&Bound<'_, PyAny>>,
) -> PyResult<Semantics> {
    let semantics = opt_str(semantics, "semantics")?;
    let runtime = opt_str(runtime, "runtime")?;
    // Any size of Python int: the message then names the value given, not a saturated one.
    let given = ulps_text(ulps);
    let ulps = match opt_u64(ulps, "ulps") {
        Ok(k) => k,
        Err(_)
            if ulps.is_some_and(|u| {
                u.is_instance_of::<pyo3::types::PyInt>() && u.gt(0).unwrap_or(false)
            }) =>
        {
            Some(u64::MAX)
        }
        Err(e) => return Err(e),
    };
    Semantics::from_options(semantics.as_deref(), runtime.as_deref(), ulps).map_err(|e| match e {
        bnbound::Error::UlpsOutOfRange { max, .. } => err(format!(
            "ulps = {given}: more than the {max} ulps the error model accepts"
        )),
        e => core(e),
    })
}

/// A layer's bounds of either dtype (the library's `Bounds`).
enum AnyBounds {
    F32(Bounds<f32>),
    F64(Bounds<f64>),
}

impl AnyBounds {
    fn enclosure(&self) -> &bnbound::Enclosure {
        match self {
            AnyBounds::F32(b) => b.enclosure(),
            AnyBounds::F64(b) => b.enclosure(),
        }
    }

    fn mode(&self) -> Mode {
        match self {
            AnyBounds::F32(b) => b.mode(),
            AnyBounds::F64(b) => b.mode(),
        }
    }
}

/// The message when tight mode is asked of a build without MPFR.
const MISSING: &str = "mode=\"tight\" needs bnbound built with MPFR: pip install \
     ./python --config-settings=build-args=\"--features mpfr\" (needs m4; builds GMP once)";

/// A BatchNorm layer's sound enclosure, from `BatchNorm.enclose(mode)`: the scale `s` and
/// offset `o` of `y = s·x + o` as intervals, and the operations built on them.
#[pyclass(module = "bnbound", name = "Enclosure", frozen)]
pub(crate) struct Enclosure {
    /// Real semantics in the enclosure's mode, built once; deployed semantics reuse its
    /// enclosure (`Bounds::with_semantics`).
    bounds: AnyBounds,
    storage: Option<Storage>,
    x_type_unknown: bool,
    /// The bounds under each deployed semantics used so far (the runtime's per-channel
    /// constants computed once, not per call), the last few kept.
    deployed: Mutex<Vec<(Semantics, Arc<dyn std::any::Any + Send + Sync>)>>,
}

impl Enclosure {
    pub(crate) fn new(
        bn: Arc<AnyBatchNorm>,
        mode: &str,
        storage: Option<Storage>,
        x_type_unknown: bool,
    ) -> PyResult<Self> {
        let mode = mode.parse::<Mode>().map_err(core)?;
        let real = |e: bnbound::Error| match e {
            bnbound::Error::TightNeedsMpfr => err(MISSING),
            e => core(e),
        };
        let bounds = match &*bn {
            AnyBatchNorm::F32(b) => AnyBounds::F32(b.bounds(mode, Semantics::Real).map_err(real)?),
            AnyBatchNorm::F64(b) => AnyBounds::F64(b.bounds(mode, Semantics::Real).map_err(real)?),
        };
        Ok(Enclosure {
            bounds,
            storage,
            x_type_unknown,
            deployed: Mutex::new(Vec::new()),
        })
    }

    /// `bounds` (this enclosure's, of type `T`) under `sem`: built by
    /// `Bounds::with_semantics` the first time a semantics is asked for, then reused.
    fn under<T: Elem>(
        &self,
        bounds: &Bounds<T>,
        sem: Semantics,
    ) -> bnbound::Result<Arc<Bounds<T>>> {
        /// How many semantics are kept.
        const KEEP: usize = 8;
        let mut cache = self.deployed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = cache.iter().find(|(s, _)| *s == sem) {
            if let Ok(b) = b.clone().downcast::<Bounds<T>>() {
                return Ok(b);
            }
        }
        let b = Arc::new(bounds.with_semantics(sem)?);
        if cache.len() >= KEEP {
            cache.remove(0);
        }
        cache.push((sem, b.clone()));
        Ok(b)
    }
}

/// For a layer stored as f16, a numpy float16 array widened to float32 (exact: every f16
/// is an f32); anything else as it is.
fn widened<'py>(obj: &Bound<'py, PyAny>, storage: Option<Storage>) -> PyResult<Bound<'py, PyAny>> {
    if storage == Some(Storage::F16) {
        if let Ok(u) = obj.cast::<PyUntypedArray>() {
            if u.dtype().kind() == b'f' && u.dtype().itemsize() == 2 {
                return obj.call_method1("astype", ("float32",));
            }
        }
    }
    Ok(obj.clone())
}

/// The refusal of deployed semantics for a loaded layer whose input's element type the
/// model neither declares nor lets infer (BatchNormalization-15 allows an input type other
/// than the statistics'): the runtime's arithmetic is unknown.
pub(crate) fn unknown_input_type() -> PyErr {
    err(
        "semantics=\"deployed\" on a layer whose input element type the model neither \
         declares nor lets infer (BatchNormalization-15 allows it to differ from the \
         statistics'): the runtime's arithmetic is unknown; declare it with value_info or \
         use semantics=\"real\"",
    )
}

/// The refusal of deployed semantics where the library has no 16-bit recipe.
pub(crate) fn no_stored_recipe(what: &str, s: Storage) -> String {
    format!(
        "{what} with semantics=\"deployed\" on a layer stored as {}: bnbound has no recipe \
         for this operation in 16-bit arithmetic (f32's would not bound it); deployed ibp and \
         semantics=\"real\" are available",
        s.name()
    )
}

/// Two input arrays of one shape (their snapshots), as a box.
fn boxed<'a, T: Elem>(
    l: &'a Input<'_, T>,
    h: &'a Input<'_, T>,
    names: [&str; 2],
) -> PyResult<BoxView<'a, T>> {
    same_dims(l.dims(), h.dims(), names[0], names[1])?;
    let shape = Shape::new(l.dims()).map_err(core)?;
    BoxView::new(shape, l.slice(), h.slice()).map_err(|e| located(e, l.dims(), names))
}

fn owned<T: Elem>(v: &BoxView<'_, T>) -> bnbound::Result<TensorBox<T>> {
    TensorBox::new(*v.shape(), v.lo().to_vec(), v.hi().to_vec())
}

/// Runs `f` (which fills two slices of `n` elements) without the GIL, into `out` (two
/// arrays, returned as they are) or into two new arrays of dims `dims`; an error about an
/// element names it in the input arrays `names`.
fn into_outputs<'py, T: Elem>(
    py: Python<'py>,
    dims: &[usize],
    names: [&str; 2],
    out: Option<&Bound<'py, PyAny>>,
    f: impl FnOnce(&mut [T], &mut [T]) -> bnbound::Result<()> + Send,
) -> PyResult<Bound<'py, PyTuple>> {
    match out {
        Some(o) => {
            let pair = o
                .cast::<PyTuple>()
                .ok()
                .filter(|t| t.len() == 2)
                .ok_or_else(|| err("out: expected a tuple of two arrays (lo, hi)"))?;
            let (a, b) = (pair.get_item(0)?, pair.get_item(1)?);
            let mut wa = out_array::<T>(&a, dims, "out[0]")?;
            let mut wb = out_array::<T>(&b, dims, "out[1]")?;
            let (sa, sb) = (
                wa.as_slice_mut().map_err(|e| err(format!("out[0]: {e}")))?,
                wb.as_slice_mut().map_err(|e| err(format!("out[1]: {e}")))?,
            );
            py.detach(|| f(sa, sb))
                .map_err(|e| located(e, dims, names))?;
            drop((wa, wb));
            PyTuple::new(py, [a, b])
        }
        None => {
            let n: usize = dims.iter().product();
            let (mut lo, mut hi) = (vec![T::zero(); n], vec![T::zero(); n]);
            py.detach(|| f(&mut lo, &mut hi))
                .map_err(|e| located(e, dims, names))?;
            PyTuple::new(
                py,
                [
                    output(py, dims, lo)?.into_any(),
                    output(py, dims, hi)?.into_any(),
                ],
            )
        }
    }
}

fn copy_into<T: Elem>(b: &TensorBox<T>, lo: &mut [T], hi: &mut [T]) {
    lo.copy_from_slice(b.lo());
    hi.copy_from_slice(b.hi());
}

/// The sample shape of a CNN-shaped form, `[C]` by default.
fn sample(shape: Option<Vec<usize>>, channels: usize) -> Vec<usize> {
    shape.unwrap_or_else(|| vec![channels])
}

/// Two input arrays of one shape, moved into an owned box.
fn tensor<T: Elem>(l: Input<'_, T>, h: Input<'_, T>, names: [&str; 2]) -> PyResult<TensorBox<T>> {
    same_dims(l.dims(), h.dims(), names[0], names[1])?;
    let shape = Shape::new(l.dims()).map_err(core)?;
    let dims = l.dims().to_vec();
    TensorBox::new(shape, l.into_vec(), h.into_vec()).map_err(|e| located(e, &dims, names))
}

/// A form `A·x + c` from four arrays (`A` 2-D, `c` 1-D).
pub(crate) fn form_of<T: Elem>(
    arrays: [&Bound<'_, PyAny>; 4],
    names: [&str; 4],
) -> PyResult<AffineForm<T>> {
    let [al, ah, cl, ch] = [0, 1, 2, 3].map(|i| (arrays[i], names[i]));
    let (al, ah) = (input::<T>(al.0, al.1)?, input::<T>(ah.0, ah.1)?);
    let (cl, ch) = (input::<T>(cl.0, cl.1)?, input::<T>(ch.0, ch.1)?);
    let a_dims = al.dims().to_vec();
    let a = tensor(al, ah, [names[0], names[1]])?;
    let c = tensor(cl, ch, [names[2], names[3]])?;
    if a.shape().rank() != 2 {
        return Err(err(format!(
            "{}: expected a 2-D array, got shape {a_dims:?}",
            names[0]
        )));
    }
    AffineForm::new(a, c).map_err(core)
}

/// `(A_lo, A_hi, c_lo, c_hi)` of a form as new arrays.
fn form_out<'py, T: Elem>(py: Python<'py>, f: AffineForm<T>) -> PyResult<Bound<'py, PyTuple>> {
    let (a, c) = (f.a(), f.c());
    let ad = a.shape().dims().to_vec();
    let cd = c.shape().dims().to_vec();
    PyTuple::new(
        py,
        [
            output(py, &ad, a.lo().to_vec())?.into_any(),
            output(py, &ad, a.hi().to_vec())?.into_any(),
            output(py, &cd, c.lo().to_vec())?.into_any(),
            output(py, &cd, c.hi().to_vec())?.into_any(),
        ],
    )
}

impl Enclosure {
    fn ibp_t<'py, T: Elem>(
        &self,
        py: Python<'py>,
        bounds: &Bounds<T>,
        lo: &Bound<'py, PyAny>,
        hi: &Bound<'py, PyAny>,
        out: Option<&Bound<'py, PyAny>>,
        sem: Semantics,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (l, h) = (input::<T>(lo, "lo")?, input::<T>(hi, "hi")?);
        let view = boxed(&l, &h, ["lo", "hi"])?;
        let storage = self.storage;
        into_outputs(py, l.dims(), ["lo", "hi"], out, |ylo, yhi| {
            if sem == Semantics::Real && bounds.mode() == Mode::Fast {
                let enc = bounds.enclosure();
                return if view.shape().len() >= PARALLEL_FROM {
                    enc.par_ibp_into(&view, ylo, yhi)
                } else {
                    enc.ibp_into(&view, ylo, yhi)
                };
            }
            let b = self.under(bounds, sem)?;
            if let (Semantics::Deployed(_), Some(s)) = (sem, storage) {
                // 16-bit data: that type's arithmetic (its own real enclosure included).
                let y = T::ibp_stored(&b, &owned(&view)?, s)?;
                copy_into(&y, ylo, yhi);
                return Ok(());
            }
            b.ibp_into(&view, ylo, yhi)
        })
    }

    fn derivative_t<'py, T: Elem>(
        &self,
        py: Python<'py>,
        bounds: &Bounds<T>,
        dlo: &Bound<'py, PyAny>,
        dhi: &Bound<'py, PyAny>,
        out: Option<&Bound<'py, PyAny>>,
        sem: Semantics,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if let (Semantics::Deployed(_), Some(s)) = (sem, self.storage) {
            return Err(err(no_stored_recipe("derivative", s)));
        }
        let (l, h) = (input::<T>(dlo, "dlo")?, input::<T>(dhi, "dhi")?);
        let view = boxed(&l, &h, ["dlo", "dhi"])?;
        into_outputs(py, l.dims(), ["dlo", "dhi"], out, |ylo, yhi| {
            // (BN∘f)' = s·f' and (BN∘f)'' = s·f'': one operation for both orders.
            if sem == Semantics::Real && bounds.mode() == Mode::Fast {
                return bounds.enclosure().derivative_chain_into(&view, ylo, yhi);
            }
            let b = self.under(bounds, sem)?.derivative_chain(&owned(&view)?)?;
            copy_into(&b, ylo, yhi);
            Ok(())
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn form_op<'py, T: Elem>(
        &self,
        py: Python<'py>,
        bounds: &Bounds<T>,
        arrays: [&Bound<'py, PyAny>; 4],
        names: [&str; 4],
        shape: Option<Vec<usize>>,
        backward: bool,
        sem: Semantics,
        x_box: Option<[&Bound<'py, PyAny>; 2]>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let f = form_of::<T>(arrays, names)?;
        let channels = bounds.enclosure().channels();
        let sample = sample(shape, channels);
        let x = match x_box {
            None if sem == Semantics::Real => None,
            None => {
                return Err(err(
                    "semantics=\"deployed\" forms need the layer's input box: x_lo=, x_hi=",
                ))
            }
            Some([lo, hi]) => {
                let (l, h) = (input::<T>(lo, "x_lo")?, input::<T>(hi, "x_hi")?);
                // One element per row (compose) or column (backward), in the layer's
                // layout: the box of one sample, [1, C, …].
                let mut dims = vec![1];
                dims.extend(&sample);
                let v = boxed(&l, &h, ["x_lo", "x_hi"])?;
                if v.shape().len() != dims.iter().product::<usize>() {
                    return Err(err(format!(
                        "x_lo, x_hi: {} elements, the form has {} {}",
                        v.shape().len(),
                        dims.iter().product::<usize>(),
                        if backward { "columns" } else { "rows" }
                    )));
                }
                let shape = Shape::new(&dims).map_err(core)?;
                Some(TensorBox::new(shape, v.lo().to_vec(), v.hi().to_vec()).map_err(core)?)
            }
        };
        let b = self.under(bounds, sem).map_err(core)?;
        let r = py
            .detach(|| match (&x, backward) {
                (Some(x), true) => b.backward_over(&f, &sample, x),
                (Some(x), false) => b.compose_over(&f, &sample, x),
                (None, true) => b.backward_shaped(&f, &sample),
                (None, false) => b.compose_shaped(&f, &sample),
            })
            .map_err(core)?;
        form_out(py, r)
    }
}

impl Enclosure {
    /// `backward_batch` for dtype `T`: `lam` (dims ending in the box's dims), the box
    /// `[x_lo, x_hi]` (dims ending in `sample`).
    #[allow(clippy::too_many_arguments)]
    fn batch_op<'py, T: Elem>(
        &self,
        py: Python<'py>,
        bounds: &Bounds<T>,
        lam: &Bound<'py, PyAny>,
        x_lo: &Bound<'py, PyAny>,
        x_hi: &Bound<'py, PyAny>,
        sample: Option<Vec<usize>>,
        sem: Semantics,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let lam = input::<T>(lam, "lam")?;
        let (l, h) = (input::<T>(x_lo, "x_lo")?, input::<T>(x_hi, "x_hi")?);
        same_dims(l.dims(), h.dims(), "x_lo", "x_hi")?;
        let xd = l.dims().to_vec();
        let sample = match sample {
            Some(s) => s,
            None if xd.len() >= 2 => xd[1..].to_vec(),
            None => {
                return Err(err(format!(
                    "x_lo has shape {xd:?}: give it a batch axis ([B, C, …]) or pass sample="
                )))
            }
        };
        if sample.is_empty()
            || sample.len() > xd.len()
            || xd[xd.len() - sample.len()..] != sample[..]
        {
            return Err(err(format!(
                "x_lo has shape {xd:?}, which does not end in sample = {sample:?}"
            )));
        }
        let ld = lam.dims().to_vec();
        if ld.len() < xd.len() || ld[ld.len() - xd.len()..] != xd[..] {
            return Err(err(format!(
                "lam has shape {ld:?}, which does not end in the box's shape {xd:?}"
            )));
        }
        let n: usize = sample.iter().product();
        let boxes = l.slice().len().checked_div(n).unwrap_or(0);
        let mut dims = vec![boxes];
        dims.extend(&sample);
        let x = TensorBox::new(Shape::new(&dims).map_err(core)?, l.into_vec(), h.into_vec())
            .map_err(|e| located(e, &xd, ["x_lo", "x_hi"]))?;
        let lam_v = lam.slice();
        let b = self.under(bounds, sem).map_err(core)?;
        let r = py
            .detach(|| b.backward_batch(lam_v, &sample, &x))
            .map_err(|e| match e {
                // An element of the boxes: located in x_lo's shape.
                bnbound::Error::DeployedNan { .. } => located(e, &xd, ["x_lo", "x_hi"]),
                e => located(e, &ld, ["lam", "lam"]),
            })?;
        let (coef, lower, upper) = r.into_parts();
        let rows = &ld[..ld.len() - sample.len()];
        PyTuple::new(
            py,
            [
                output(py, &ld, coef)?.into_any(),
                output(py, rows, lower)?.into_any(),
                output(py, rows, upper)?.into_any(),
            ],
        )
    }
}

impl Enclosure {
    /// Linear forms under deployed semantics need the input's element type and an f32/f64
    /// recipe: refused on a layer whose input type is unknown or that is stored as 16-bit.
    fn forms_allowed(&self, sem: Semantics, op: &str) -> PyResult<()> {
        if let Semantics::Deployed(_) = sem {
            if self.x_type_unknown {
                return Err(unknown_input_type());
            }
            if let Some(s) = self.storage {
                return Err(err(no_stored_recipe(op, s)));
            }
        }
        Ok(())
    }
}

/// Dispatches on the layer's dtype: `$f::<f32>` or `$f::<f64>` with the typed bounds.
macro_rules! typed {
    ($self:ident, $f:ident, $py:expr, $($arg:expr),*) => {
        match &$self.bounds {
            AnyBounds::F32(b) => $self.$f::<f32>($py, b, $($arg),*),
            AnyBounds::F64(b) => $self.$f::<f64>($py, b, $($arg),*),
        }
    };
}

#[pymethods]
impl Enclosure {
    /// "fast" or "tight".
    #[getter]
    fn mode(&self) -> &'static str {
        self.bounds.mode().name()
    }

    /// The number of channels.
    #[getter]
    fn channels(&self) -> usize {
        self.bounds.enclosure().channels()
    }

    /// (lo, hi): float64 arrays of length C with lo[c] <= s_c <= hi[c] for the exact scale
    /// s_c = γ_c/√(σ²_c + ε) of the stored parameters.
    #[getter]
    fn scale<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let (lo, hi): (Vec<f64>, Vec<f64>) = self
            .bounds
            .enclosure()
            .iter()
            .map(|c| (c.scale().lo(), c.scale().hi()))
            .unzip();
        PyTuple::new(py, [PyArray1::from_vec(py, lo), PyArray1::from_vec(py, hi)])
    }

    /// (lo, hi): float64 arrays of length C with lo[c] <= o_c <= hi[c] for the exact offset
    /// o_c = β_c − μ_c·s_c.
    #[getter]
    fn offset<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let (lo, hi): (Vec<f64>, Vec<f64>) = self
            .bounds
            .enclosure()
            .iter()
            .map(|c| (c.offset().lo(), c.offset().hi()))
            .unzip();
        PyTuple::new(py, [PyArray1::from_vec(py, lo), PyArray1::from_vec(py, hi)])
    }

    /// ibp(lo, hi, *, out=None, semantics="real", runtime=None, ulps=None) -> (ylo, yhi)
    #[pyo3(signature = (lo, hi, *, out = None, semantics = None, runtime = None, ulps = None))]
    #[allow(clippy::too_many_arguments)]
    fn ibp<'py>(
        &self,
        py: Python<'py>,
        lo: &Bound<'py, PyAny>,
        hi: &Bound<'py, PyAny>,
        out: Option<&Bound<'py, PyAny>>,
        semantics: Option<&Bound<'py, PyAny>>,
        runtime: Option<&Bound<'py, PyAny>>,
        ulps: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let sem = self::semantics(semantics, runtime, ulps)?;
        let (lo, hi) = (widened(lo, self.storage)?, widened(hi, self.storage)?);
        if self.x_type_unknown && matches!(sem, Semantics::Deployed(_)) {
            return Err(unknown_input_type());
        }
        let r = typed!(self, ibp_t, py, &lo, &hi, out, sem)?;
        torch_out(py, r, &[&lo, &hi])
    }

    /// derivative(dlo, dhi, order=1, *, out=None, semantics="real", runtime=None, ulps=None)
    #[pyo3(signature = (dlo, dhi, order = None, *, out = None, semantics = None, runtime = None, ulps = None))]
    #[allow(clippy::too_many_arguments)]
    fn derivative<'py>(
        &self,
        py: Python<'py>,
        dlo: &Bound<'py, PyAny>,
        dhi: &Bound<'py, PyAny>,
        order: Option<&Bound<'py, PyAny>>,
        out: Option<&Bound<'py, PyAny>>,
        semantics: Option<&Bound<'py, PyAny>>,
        runtime: Option<&Bound<'py, PyAny>>,
        ulps: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        match opt_u64(order, "order")? {
            None | Some(1) | Some(2) => {}
            Some(k) => return Err(err(format!("order: expected 1 or 2, got {k}"))),
        }
        let sem = self::semantics(semantics, runtime, ulps)?;
        let (dlo, dhi) = (widened(dlo, self.storage)?, widened(dhi, self.storage)?);
        if self.x_type_unknown && matches!(sem, Semantics::Deployed(_)) {
            return Err(unknown_input_type());
        }
        let r = typed!(self, derivative_t, py, &dlo, &dhi, out, sem)?;
        torch_out(py, r, &[&dlo, &dhi])
    }

    /// compose(A_lo, A_hi, c_lo, c_hi, shape=None, *, semantics="real", runtime=None,
    /// ulps=None, x_lo=None, x_hi=None) -> (A_lo, A_hi, c_lo, c_hi)
    #[pyo3(signature = (A_lo, A_hi, c_lo, c_hi, shape = None, *, semantics = None, runtime = None, ulps = None, x_lo = None, x_hi = None))]
    #[allow(non_snake_case, clippy::too_many_arguments)] // the documented keyword names
    fn compose<'py>(
        &self,
        py: Python<'py>,
        A_lo: &Bound<'py, PyAny>,
        A_hi: &Bound<'py, PyAny>,
        c_lo: &Bound<'py, PyAny>,
        c_hi: &Bound<'py, PyAny>,
        shape: Option<&Bound<'py, PyAny>>,
        semantics: Option<&Bound<'py, PyAny>>,
        runtime: Option<&Bound<'py, PyAny>>,
        ulps: Option<&Bound<'py, PyAny>>,
        x_lo: Option<&Bound<'py, PyAny>>,
        x_hi: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let shape = opt_dims(shape, "shape")?;
        let sem = self::semantics(semantics, runtime, ulps)?;
        self.forms_allowed(sem, "compose")?;
        let input = match (x_lo, x_hi) {
            (Some(l), Some(h)) => Some([l, h]),
            (None, None) => None,
            _ => return Err(err("x_lo and x_hi go together")),
        };
        let names = ["A_lo", "A_hi", "c_lo", "c_hi"];
        let r = typed!(
            self,
            form_op,
            py,
            [A_lo, A_hi, c_lo, c_hi],
            names,
            shape,
            false,
            sem,
            input
        )?;
        let mut args = vec![A_lo, A_hi, c_lo, c_hi];
        args.extend(x_lo.into_iter().chain(x_hi));
        torch_out(py, r, &args)
    }

    /// backward(L_lo, L_hi, d_lo, d_hi, shape=None, *, semantics="real", runtime=None,
    /// ulps=None, x_lo=None, x_hi=None) -> (L_lo, L_hi, d_lo, d_hi)
    #[pyo3(signature = (L_lo, L_hi, d_lo, d_hi, shape = None, *, semantics = None, runtime = None, ulps = None, x_lo = None, x_hi = None))]
    #[allow(non_snake_case, clippy::too_many_arguments)] // the documented keyword names
    fn backward<'py>(
        &self,
        py: Python<'py>,
        L_lo: &Bound<'py, PyAny>,
        L_hi: &Bound<'py, PyAny>,
        d_lo: &Bound<'py, PyAny>,
        d_hi: &Bound<'py, PyAny>,
        shape: Option<&Bound<'py, PyAny>>,
        semantics: Option<&Bound<'py, PyAny>>,
        runtime: Option<&Bound<'py, PyAny>>,
        ulps: Option<&Bound<'py, PyAny>>,
        x_lo: Option<&Bound<'py, PyAny>>,
        x_hi: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let shape = opt_dims(shape, "shape")?;
        let sem = self::semantics(semantics, runtime, ulps)?;
        self.forms_allowed(sem, "backward")?;
        let input = match (x_lo, x_hi) {
            (Some(l), Some(h)) => Some([l, h]),
            (None, None) => None,
            _ => return Err(err("x_lo and x_hi go together")),
        };
        let names = ["L_lo", "L_hi", "d_lo", "d_hi"];
        let r = typed!(
            self,
            form_op,
            py,
            [L_lo, L_hi, d_lo, d_hi],
            names,
            shape,
            true,
            sem,
            input
        )?;
        let mut args = vec![L_lo, L_hi, d_lo, d_hi];
        args.extend(x_lo.into_iter().chain(x_hi));
        torch_out(py, r, &args)
    }

    /// backward_batch(lam, x_lo, x_hi, sample=None, *, semantics="real", runtime=None,
    /// ulps=None) -> (M, lower, upper)
    #[pyo3(signature = (lam, x_lo, x_hi, sample = None, *, semantics = None, runtime = None, ulps = None))]
    #[allow(clippy::too_many_arguments)] // the documented keyword names
    fn backward_batch<'py>(
        &self,
        py: Python<'py>,
        lam: &Bound<'py, PyAny>,
        x_lo: &Bound<'py, PyAny>,
        x_hi: &Bound<'py, PyAny>,
        sample: Option<&Bound<'py, PyAny>>,
        semantics: Option<&Bound<'py, PyAny>>,
        runtime: Option<&Bound<'py, PyAny>>,
        ulps: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let sample = opt_dims(sample, "sample")?;
        let sem = self::semantics(semantics, runtime, ulps)?;
        self.forms_allowed(sem, "backward_batch")?;
        let r = typed!(self, batch_op, py, lam, x_lo, x_hi, sample, sem)?;
        torch_out(py, r, &[lam, x_lo, x_hi])
    }

    fn __repr__(&self) -> String {
        format!(
            "Enclosure(channels={}, mode={})",
            self.bounds.enclosure().channels(),
            self.mode()
        )
    }
}
