//! `bnbound.Error`: the one exception of the package, a `ValueError`.

use pyo3::prelude::*;

pyo3::create_exception!(
    bnbound,
    Error,
    pyo3::exceptions::PyValueError,
    "Invalid input to bnbound: bad parameters or boxes (NaN, lo > hi, negative variance, \
     var + eps <= 0), a wrong dtype, shape or length, a malformed or hostile model file. \
     The message names the field, channel or element. Nothing the caller passed is modified."
);

/// A `bnbound.Error` with this message.
pub(crate) fn err(msg: impl std::fmt::Display) -> PyErr {
    Error::new_err(msg.to_string())
}

/// The library's typed error as a `bnbound.Error`.
pub(crate) fn core(e: bnbound::Error) -> PyErr {
    err(e)
}

/// A flat row-major index as numpy writes a multi-dimensional one (`2, 0, 1`), the form
/// every message of the package uses.
pub(crate) fn index_text(flat: usize, dims: &[usize]) -> String {
    if dims.len() <= 1 {
        return flat.to_string();
    }
    let mut rest = flat;
    let mut idx = vec![0; dims.len()];
    for (k, &d) in dims.iter().enumerate().rev() {
        let d = d.max(1);
        idx[k] = rest % d;
        rest /= d;
    }
    idx.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The library's error about an element of the box `(names[0], names[1])` of dims `dims`,
/// with the caller's names and a numpy (multi-dimensional) index.
pub(crate) fn located(e: bnbound::Error, dims: &[usize], names: [&str; 2]) -> PyErr {
    use bnbound::Error as E;
    let at = |i: usize| index_text(i, dims);
    match e {
        E::NanBound { index, side } => {
            let name = match side {
                bnbound::Side::Lo => names[0],
                bnbound::Side::Hi => names[1],
            };
            err(format!("{name}[{}] is NaN", at(index)))
        }
        E::InvertedBound { index, lo, hi } => err(format!(
            "{}[{i}] = {lo:?} > {}[{i}] = {hi:?}",
            names[0],
            names[1],
            i = at(index)
        )),
        E::DeployedNan { index, channel } => err(format!(
            "element [{}] (channel {channel}): the runtime computes NaN for some input of this \
             box (0·∞ or ∞−∞ in its float recipe)",
            at(index)
        )),
        E::NotInStorage { what, index } if what == "lo" || what == "hi" => err(format!(
            "{}[{}] is not a value of the layer's 16-bit storage type",
            if what == "lo" { names[0] } else { names[1] },
            at(index)
        )),
        e => core(e),
    }
}

/// A model-loading error as a `bnbound.Error`.
pub(crate) fn model(e: bnbound::model::Error) -> PyErr {
    err(e)
}

fn type_name(o: &Bound<'_, PyAny>) -> String {
    o.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// An optional keyword argument (None = not given) as a string.
pub(crate) fn opt_str(o: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    o.filter(|o| !o.is_none())
        .map(|o| {
            o.extract::<String>()
                .map_err(|_| err(format!("{what}: expected a string, got {}", type_name(o))))
        })
        .transpose()
}

/// An optional keyword argument as a non-negative integer (bools refused).
pub(crate) fn opt_u64(o: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<u64>> {
    o.filter(|o| !o.is_none())
        .map(|o| {
            if o.is_instance_of::<pyo3::types::PyBool>() {
                return Err(err(format!("{what}: expected an integer, got a bool")));
            }
            let text = || {
                o.repr()
                    .map(|r| r.to_string())
                    .unwrap_or_else(|_| type_name(o))
            };
            o.extract::<u64>().map_err(|_| {
                // An int too large for u64 is not "not a non-negative integer".
                let big = o.is_instance_of::<pyo3::types::PyInt>() && o.gt(0).unwrap_or(false);
                if big {
                    err(format!(
                        "{what} = {} is too large (at most 2**64 - 1)",
                        text()
                    ))
                } else {
                    err(format!(
                        "{what}: expected a non-negative integer, got {}",
                        text()
                    ))
                }
            })
        })
        .transpose()
}

/// An optional keyword argument as a list of non-negative integers (a shape).
pub(crate) fn opt_dims(o: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Vec<usize>>> {
    o.filter(|o| !o.is_none())
        .map(|o| {
            if o.is_instance_of::<pyo3::types::PyString>() {
                return Err(err(format!(
                    "{what}: expected a sequence of integers, got a str"
                )));
            }
            o.extract::<Vec<usize>>().map_err(|_| {
                err(format!(
                    "{what}: expected a sequence of non-negative integers, got {}",
                    o.repr()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|_| type_name(o))
                ))
            })
        })
        .transpose()
}
