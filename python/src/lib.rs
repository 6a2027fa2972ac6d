//! The Python extension `bnbound._native`: bnbound's sound BatchNorm bounds on numpy
//! arrays. Thin by design: every bound is computed by the `bnbound` library; this crate
//! converts arrays (never with a cast that rounds), validates, maps errors to
//! `bnbound.Error` and releases the GIL around the work.
#![deny(missing_docs)]

use pyo3::prelude::*;

mod arrays;
mod check;
mod enclosure;
mod errors;
mod layer;
mod models;

/// The module `bnbound._native` (re-exported by the `bnbound` package).
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("HAS_TIGHT", bnbound::Mode::Tight.available())?;
    m.add("MAX_ULPS", bnbound::Runtime::MAX_ULPS)?;
    m.add_class::<layer::PyBatchNorm>()?;
    m.add_class::<enclosure::Enclosure>()?;
    m.add_class::<check::CheckReport>()?;
    m.add_class::<check::Violation>()?;
    m.add_function(wrap_pyfunction!(check::check_ibp, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_derivative, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_compose, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_backward, m)?)?;
    m.add_function(wrap_pyfunction!(models::load_onnx, m)?)?;
    m.add_function(wrap_pyfunction!(models::load_safetensors, m)?)?;
    m.add_function(wrap_pyfunction!(models::inspect_onnx, m)?)?;
    m.add_function(wrap_pyfunction!(models::inspect_safetensors, m)?)?;
    m.add_class::<models::LayerInfo>()?;
    Ok(())
}
