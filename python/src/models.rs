//! `bnbound.load_onnx` and `bnbound.load_safetensors`: the library's model loaders (every
//! check on hostile files is theirs: size limits, external data inside the model's folder).

use std::collections::BTreeMap;
use std::path::PathBuf;

use bnbound::model::onnx::OnnxModel;
use bnbound::model::safetensors::{Eps, StateDict};
use pyo3::prelude::*;

use crate::errors::{err, model, opt_str};
use crate::layer::PyBatchNorm;

fn path_of(p: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    p.extract::<PathBuf>()
        .map_err(|_| err("path: expected a str or os.PathLike"))
}

/// load_onnx(path, layer=None) -> dict[str, BatchNorm]
#[pyfunction]
#[pyo3(signature = (path, layer = None))]
pub(crate) fn load_onnx(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    layer: Option<&Bound<'_, PyAny>>,
) -> PyResult<BTreeMap<String, PyBatchNorm>> {
    let path = path_of(path)?;
    let layer = opt_str(layer, "layer")?;
    let layers = py
        .detach(|| match &layer {
            Some(name) => OnnxModel::open_layer(&path, name).map(|l| vec![l]),
            None => bnbound::model::onnx::load_file(&path),
        })
        .map_err(model)?;
    Ok(layers
        .into_iter()
        .map(|l| (l.name, PyBatchNorm::loaded(l.bn, l.stored_as, l.storage)))
        .collect())
}

/// load_safetensors(path, prefix, eps=1e-5, eps_dtype="f32") -> BatchNorm
#[pyfunction]
#[pyo3(signature = (path, prefix, eps = None, eps_dtype = None))]
pub(crate) fn load_safetensors(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    prefix: &Bound<'_, PyAny>,
    eps: Option<&Bound<'_, PyAny>>,
    eps_dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyBatchNorm> {
    let path = path_of(path)?;
    let prefix = opt_str(Some(prefix), "prefix")?.unwrap_or_default();
    let e: f64 = match eps.filter(|e| !e.is_none()) {
        None => 1e-5,
        Some(e) if e.is_instance_of::<pyo3::types::PyBool>() => {
            return Err(err("eps: expected a float, got a bool"))
        }
        Some(e) => e.extract().map_err(|_| err("eps: expected a float"))?,
    };
    let eps = match opt_str(eps_dtype, "eps_dtype")?.as_deref().unwrap_or("f32") {
        // Rounded to nearest, as PyTorch's (float)eps.
        "f32" | "float32" => {
            let r = e as f32;
            if e != 0.0 && e.is_finite() && (r == 0.0 || r.is_infinite()) {
                return Err(err(format!("eps = {e:e} becomes {r} in float32")));
            }
            Eps::F32(r)
        }
        "f64" | "float64" => Eps::F64(e),
        other => {
            return Err(err(format!(
                "eps_dtype: expected \"f32\" or \"f64\", got {other:?}"
            )))
        }
    };
    let l = py
        .detach(|| StateDict::open_layer(&path, &prefix, eps))
        .map_err(model)?;
    Ok(PyBatchNorm::loaded(l.bn, l.stored_as, l.storage))
}
