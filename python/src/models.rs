//! `bnbound.load_onnx` and `bnbound.load_safetensors`: the library's model loaders (every
//! check on hostile files is theirs: size limits, external data inside the model's folder).

use std::collections::BTreeMap;
use std::path::PathBuf;

use bnbound::model::{Eps, Format, Model, ModelLayer, Options};
use pyo3::prelude::*;

use crate::errors::{err, model, opt_str};
use crate::layer::PyBatchNorm;

fn path_of(p: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    p.extract::<PathBuf>()
        .map_err(|_| err("path: expected a str or os.PathLike"))
}

/// One layer of a model as `inspect_onnx`/`inspect_safetensors` report it: either the
/// loaded layer or the reason it cannot be used (the other layers are unaffected).
#[pyclass(module = "bnbound", name = "LayerInfo", frozen, get_all)]
pub(crate) struct LayerInfo {
    /// The node name (ONNX) or the tensor prefix (safetensors).
    name: String,
    /// The layer, or None when it cannot be loaded.
    layer: Option<Py<PyBatchNorm>>,
    /// Why the layer cannot be loaded, or None.
    error: Option<String>,
    /// The node producing the layer's input (ONNX), if known.
    producer: Option<String>,
    /// The nodes consuming the layer's output (ONNX).
    consumers: Vec<String>,
}

#[pymethods]
impl LayerInfo {
    fn __repr__(&self) -> String {
        match &self.error {
            Some(e) => format!("LayerInfo(name={:?}, error={e:?})", self.name),
            None => format!("LayerInfo(name={:?}, ok)", self.name),
        }
    }
}

/// Reading options for `format`, whatever the file's name.
fn options(format: Format) -> Options {
    Options::default().format(format)
}

fn infos<'a>(
    py: Python<'_>,
    layers: impl Iterator<Item = (&'a str, Result<ModelLayer, bnbound::model::Error>)>,
) -> PyResult<Vec<LayerInfo>> {
    layers
        .map(|(name, r)| {
            Ok(match r {
                Ok(l) => LayerInfo {
                    name: l.name.clone(),
                    producer: l.producer.clone(),
                    consumers: l.consumers.clone(),
                    layer: Some(Py::new(py, PyBatchNorm::loaded(l))?),
                    error: None,
                },
                Err(e) => LayerInfo {
                    name: name.to_string(),
                    layer: None,
                    error: Some(e.to_string()),
                    producer: None,
                    consumers: Vec::new(),
                },
            })
        })
        .collect()
}

/// load_onnx(path, layer=None) -> dict[str, BatchNorm]
#[pyfunction]
#[pyo3(signature = (path, layer = None))]
pub(crate) fn load_onnx(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    layer: Option<&Bound<'_, PyAny>>,
) -> PyResult<BTreeMap<String, PyBatchNorm>> {
    let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
    let path = path_of(path)?;
    let layer = opt_str(layer, "layer")?;
    let layers = py.detach(|| -> Result<Vec<ModelLayer>, String> {
        if let Some(name) = &layer {
            return Model::open_layer(&path, name, &options(Format::Onnx))
                .map(|l| vec![l])
                .map_err(|e| e.to_string());
        }
        let m = Model::open(&path, &options(Format::Onnx)).map_err(|e| e.to_string())?;
        let names = m.names();
        m.layers()
            .map(|(name, r)| {
                r.map_err(|e| {
                    format!(
                        "layer {name:?}: {e} (the model's layers: {}; \
                         bnbound.inspect_onnx(path) loads each one on its own, \
                         load_onnx(path, layer=name) one of them)",
                        listing(&names)
                    )
                })
            })
            .collect()
    });
    Ok(layers
        .map_err(err)?
        .into_iter()
        .map(|l| (l.name.clone(), PyBatchNorm::loaded(l)))
        .collect())
}

/// At most 20 names, then how many more.
fn listing(names: &[&str]) -> String {
    let mut v: Vec<String> = names.iter().take(20).map(|n| format!("{n:?}")).collect();
    if names.len() > 20 {
        v.push(format!("… {} more", names.len() - 20));
    }
    v.join(", ")
}

/// inspect_onnx(path) -> list[LayerInfo]
#[pyfunction]
pub(crate) fn inspect_onnx(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Vec<LayerInfo>> {
    let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
    let path = path_of(path)?;
    let m = py
        .detach(|| Model::open(&path, &options(Format::Onnx)))
        .map_err(model)?;
    infos(py, m.layers())
}

fn eps_arg(eps: Option<&Bound<'_, PyAny>>, eps_dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Eps> {
    let e: f64 = match eps.filter(|e| !e.is_none()) {
        None => 1e-5,
        Some(e) if e.is_instance_of::<pyo3::types::PyBool>() => {
            return Err(err("eps: expected a float, got a bool"))
        }
        Some(e) => e.extract().map_err(|_| err("eps: expected a float"))?,
    };
    Ok(
        match opt_str(eps_dtype, "eps_dtype")?.as_deref().unwrap_or("f32") {
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
        },
    )
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
    let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
    let path = path_of(path)?;
    let prefix = opt_str(Some(prefix), "prefix")?.unwrap_or_default();
    let options = options(Format::Safetensors).eps(eps_arg(eps, eps_dtype)?);
    let l = py
        .detach(|| Model::open_layer(&path, &prefix, &options))
        .map_err(model)?;
    Ok(PyBatchNorm::loaded(l))
}

/// inspect_safetensors(path, eps=1e-5, eps_dtype="f32") -> list[LayerInfo]
#[pyfunction]
#[pyo3(signature = (path, eps = None, eps_dtype = None))]
pub(crate) fn inspect_safetensors(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    eps: Option<&Bound<'_, PyAny>>,
    eps_dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<LayerInfo>> {
    let _env = bnbound::DefaultFpEnv::enter(); // the caller's MXCSR back on return
    let path = path_of(path)?;
    let options = options(Format::Safetensors).eps(eps_arg(eps, eps_dtype)?);
    let sd = py.detach(|| Model::open(&path, &options)).map_err(model)?;
    infos(py, sd.layers())
}
