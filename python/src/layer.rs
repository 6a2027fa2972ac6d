//! `bnbound.BatchNorm`: a layer's parameters, validated by the library.

use std::sync::Arc;

use bnbound::{AnyBatchNorm, BatchNorm, Storage};
use numpy::{PyArray1, PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};

use crate::arrays::{input, Elem};
use crate::enclosure::Enclosure;
use crate::errors::{core, err, opt_str};

/// An inference BatchNorm layer `y = γ(x − μ)/√(σ² + ε) + β` with float32 or float64
/// parameters. Construction validates them (finite, `σ² ≥ 0`, `σ² + ε > 0`, equal lengths)
/// and raises `bnbound.Error` naming the field and channel otherwise.
#[pyclass(module = "bnbound", name = "BatchNorm", frozen)]
pub(crate) struct PyBatchNorm {
    pub(crate) bn: Arc<AnyBatchNorm>,
    stored_as: Option<String>,
    /// The 16-bit type a loaded layer's statistics are stored in: deployed semantics is
    /// then that type's arithmetic (`ibp_stored`), never f32's.
    pub(crate) storage: Option<Storage>,
    /// A loaded layer whose input's element type is neither declared nor inferable:
    /// deployed semantics is refused (its arithmetic is unknown).
    pub(crate) x_type_unknown: bool,
}

impl PyBatchNorm {
    /// Parameter vector `k` (γ, β, μ, σ²) as a new array of the layer's dtype.
    fn column<'py>(&self, py: Python<'py>, k: usize) -> Bound<'py, PyAny> {
        fn pick<T: Elem>(b: &BatchNorm<T>, k: usize) -> &[T] {
            [b.gamma(), b.beta(), b.running_mean(), b.running_var()][k]
        }
        match &*self.bn {
            AnyBatchNorm::F32(b) => to_array(py, pick(b, k)),
            AnyBatchNorm::F64(b) => to_array(py, pick(b, k)),
        }
    }

    pub(crate) fn loaded(l: bnbound::model::ModelLayer) -> Self {
        let (bn, stored_as, storage) = (l.bn, l.stored_as, l.storage);
        // 16-bit statistics give an f32 layer unless ε is read as an f64 that is not an f32
        // value; the storage is kept either way, so deployed semantics on such an f64
        // layer is refused (the library's StoredLayerNotF32), never f64 arithmetic.
        PyBatchNorm {
            bn: Arc::new(bn),
            stored_as: Some(stored_as),
            storage,
            x_type_unknown: !l.x_type_known,
        }
    }
}

/// The dtype of the four arrays: `dtype=` if given, else the one float dtype of those that
/// are numpy arrays, else float64 (lists of Python floats).
fn layer_dtype(
    arrays: [(&str, &Bound<'_, PyAny>); 4],
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<&'static str> {
    let name_of = |d: &Bound<'_, PyAny>| -> PyResult<String> {
        let np = d.py().import("numpy")?;
        let dt = np
            .getattr("dtype")?
            .call1((d,))
            .map_err(|e| err(format!("dtype: {e}")))?;
        dt.getattr("name")?.extract::<String>()
    };
    let pick = |name: &str, what: &str| -> PyResult<&'static str> {
        match name {
            "float32" => Ok("float32"),
            "float64" => Ok("float64"),
            "float16" => Err(err(format!(
                "{what} is float16: bnbound's Python layers are float32 or float64; \
                 float16 converts exactly with .astype(numpy.float32)"
            ))),
            other => Err(err(format!(
                "{what}: expected float32 or float64, got {other}"
            ))),
        }
    };
    if let Some(d) = dtype {
        return pick(&name_of(d)?, "dtype");
    }
    let mut found: Option<(&str, &'static str)> = None;
    for (what, a) in arrays {
        if let Ok(u) = a.cast::<PyUntypedArray>() {
            if u.dtype().kind() != b'f' {
                continue; // integer arrays convert exactly or fail later, naming the element
            }
            let name: String = u.dtype().getattr("name")?.extract()?;
            let d = pick(&name, what)?;
            match found {
                Some((first, f)) if f != d => {
                    return Err(err(format!(
                        "{first} is {f} but {what} is {d}: the four arrays share one dtype"
                    )))
                }
                None => found = Some((what, d)),
                _ => {}
            }
        }
    }
    Ok(found.map_or("float64", |(_, d)| d))
}

/// ε for a layer of dtype `T`: a numpy scalar of dtype `T` as it is; a Python float (or a
/// numpy float64) rounded to nearest, as PyTorch's `(float)eps`; an int only if exact.
fn eps_of<T: Elem>(eps: &Bound<'_, PyAny>) -> PyResult<T> {
    let np = eps.py().import("numpy")?;
    // A 0-d array is its one element (a numpy scalar), as everywhere in the package.
    let zero_d;
    let eps = match eps.cast::<PyUntypedArray>() {
        Ok(a) if a.ndim() == 0 => {
            zero_d = eps.get_item(())?;
            &zero_d
        }
        _ => eps,
    };
    if eps.is_instance_of::<PyBool>() {
        return Err(err("eps: expected a float, got a bool"));
    }
    if eps.is_instance(&np.getattr("generic")?)? && !eps.is_instance_of::<PyFloat>() {
        let name: String = eps.getattr("dtype")?.getattr("name")?.extract()?;
        if name != T::NAME {
            return Err(err(format!(
                "eps is a numpy {name} scalar but the layer is {}: pass a Python float \
                 (rounded to nearest like PyTorch's (float)eps) or a numpy {} scalar",
                T::NAME,
                T::NAME
            )));
        }
        // A float32 scalar is exact in f64; a float64 one is itself.
        let v: f64 = eps.extract()?;
        return Ok(T::from_f64_nearest(v));
    }
    let v: f64 = if eps.is_instance_of::<PyInt>() {
        // Exactly a float64 or refused, whatever its size (2**60 and 2**128 are floats).
        let Ok(f) = eps.py().get_type::<PyFloat>().call1((eps,)) else {
            return Err(err(format!(
                "eps = {} is too large for a float",
                eps.repr()?
            )));
        };
        if !f.call_method0("__int__")?.eq(eps)? {
            return Err(err(format!("eps = {} is not exactly a float", eps.repr()?)));
        }
        f.extract()?
    } else {
        let ty = eps.get_type().name()?.to_string();
        eps.extract()
            .map_err(|_| err(format!("eps: expected a float, got {ty}")))?
    };
    let t = T::from_f64_nearest(v);
    if v != 0.0 && v.is_finite() && (t == T::zero() || !t.is_finite()) {
        return Err(err(format!(
            "eps = {v:e} becomes {} in {}",
            t.to_f64_exact(),
            T::NAME
        )));
    }
    Ok(t)
}

fn build<T: Elem>(
    arrays: [(&str, &Bound<'_, PyAny>); 4],
    eps: &Bound<'_, PyAny>,
) -> PyResult<BatchNorm<T>> {
    let mut v: Vec<Vec<T>> = Vec::with_capacity(4);
    let np = eps.py().import("numpy")?;
    for (what, a) in arrays {
        // One rule for Python numbers, numpy scalars and 0-d arrays: not a vector.
        if np
            .call_method1("ndim", (a,))
            .and_then(|d| d.extract::<usize>())
            .is_ok_and(|d| d == 0)
        {
            return Err(err(format!(
                "{what}: expected a 1-D array (one value per channel), got a scalar ({})",
                a.get_type().name()?
            )));
        }
        let x = input::<T>(a, what)?;
        if x.dims().len() != 1 {
            return Err(err(format!(
                "{what}: expected a 1-D array, got shape {:?}",
                x.dims()
            )));
        }
        v.push(x.into_vec());
    }
    let eps = eps_of::<T>(eps)?;
    let var = v.pop().unwrap_or_default();
    let mean = v.pop().unwrap_or_default();
    let beta = v.pop().unwrap_or_default();
    let gamma = v.pop().unwrap_or_default();
    BatchNorm::new(gamma, beta, mean, var, eps).map_err(core)
}

fn to_array<'py, T: Elem>(py: Python<'py>, v: &[T]) -> Bound<'py, PyAny> {
    PyArray1::from_slice(py, v).into_any()
}

#[pymethods]
impl PyBatchNorm {
    /// BatchNorm(gamma, beta, running_mean, running_var, eps, *, dtype=None)
    #[new]
    #[pyo3(signature = (gamma, beta, running_mean, running_var, eps, *, dtype = None))]
    fn new(
        gamma: &Bound<'_, PyAny>,
        beta: &Bound<'_, PyAny>,
        running_mean: &Bound<'_, PyAny>,
        running_var: &Bound<'_, PyAny>,
        eps: &Bound<'_, PyAny>,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let arrays = [
            ("gamma", gamma),
            ("beta", beta),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ];
        let bn = match layer_dtype(arrays, dtype)? {
            "float32" => AnyBatchNorm::F32(build::<f32>(arrays, eps)?),
            _ => AnyBatchNorm::F64(build::<f64>(arrays, eps)?),
        };
        Ok(PyBatchNorm {
            bn: Arc::new(bn),
            stored_as: None,
            storage: None,
            x_type_unknown: false,
        })
    }

    /// The number of channels.
    #[getter]
    fn channels(&self) -> usize {
        self.bn.channels()
    }

    /// The layer's numpy dtype (float32 or float64).
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDescr> {
        match &*self.bn {
            AnyBatchNorm::F32(_) => numpy::dtype::<f32>(py),
            AnyBatchNorm::F64(_) => numpy::dtype::<f64>(py),
        }
    }

    /// γ, a new array of the layer's dtype.
    #[getter]
    fn gamma<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.column(py, 0)
    }

    /// β, a new array of the layer's dtype.
    #[getter]
    fn beta<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.column(py, 1)
    }

    /// μ (running_mean), a new array of the layer's dtype.
    #[getter]
    fn running_mean<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.column(py, 2)
    }

    /// σ² (running_var), a new array of the layer's dtype.
    #[getter]
    fn running_var<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.column(py, 3)
    }

    /// ε as the layer holds it (a value of its dtype), as a Python float (exact).
    #[getter]
    fn eps(&self) -> f64 {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        match &*self.bn {
            AnyBatchNorm::F32(b) => b.eps() as f64,
            AnyBatchNorm::F64(b) => b.eps(),
        }
    }

    /// For a layer loaded from a model file, the element types as stored (e.g.
    /// "float16"); None otherwise.
    #[getter]
    fn stored_as(&self) -> Option<String> {
        self.stored_as.clone()
    }

    /// For a layer loaded from a model whose statistics are 16-bit, "f16" or "bf16" (the
    /// layer itself is float32, converted exactly); None otherwise. Deployed semantics on
    /// such a layer bounds that type's arithmetic: bounds are values of it.
    #[getter]
    fn storage(&self) -> Option<&'static str> {
        self.storage.map(Storage::name)
    }

    /// enclose(mode="fast") -> Enclosure
    #[pyo3(signature = (mode = None))]
    fn enclose(&self, mode: Option<&Bound<'_, PyAny>>) -> PyResult<Enclosure> {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let mode = opt_str(mode, "mode")?;
        Enclosure::new(
            self.bn.clone(),
            mode.as_deref().unwrap_or("fast"),
            self.storage,
            self.x_type_unknown,
        )
    }

    fn __repr__(&self) -> String {
        let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
        let (dtype, eps) = match &*self.bn {
            AnyBatchNorm::F32(b) => ("float32", b.eps() as f64),
            AnyBatchNorm::F64(b) => ("float64", b.eps()),
        };
        let storage = self
            .storage
            .map(|s| format!(", storage={:?}", s.name()))
            .unwrap_or_default();
        format!(
            "BatchNorm(channels={}, dtype={dtype}, eps={eps:?}{storage})",
            self.bn.channels()
        )
    }
}
