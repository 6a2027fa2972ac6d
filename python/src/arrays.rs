//! numpy arrays in and out, without a cast that rounds and without reading wrong elements.
//!
//! An input is always copied, under the GIL, into memory of bnbound's own before anything
//! reads it: the work runs without the GIL, when another Python thread may write the
//! caller's array, so validating the caller's memory and then computing on it could
//! validate one state and compute on another (NaN results, lo > hi). Every check and every
//! bound is computed on the one snapshot. A numpy array of the layer's dtype is copied in
//! logical (row-major) order (C order with one memcpy; numpy's strides, Fortran order,
//! negative steps element by element). A numpy array of another float dtype is an error
//! that names the expected dtype. Anything else (lists, tuples, integer arrays, scalars)
//! goes through `bnbound._convert.exact_array`, which converts it only where every element
//! is exactly a value of the layer's dtype.

use std::cell::RefCell;

use bnbound::{Bounds, Storage, TensorBox};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyReadwriteArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::err;

/// The two dtypes of a layer.
pub(crate) trait Elem: bnbound::Float + Element + Send + Sync {
    /// numpy's name of the dtype.
    const NAME: &'static str;
    /// `x` rounded to nearest (ties to even), as C's `(float)x` and PyTorch's `(float)eps`.
    fn from_f64_nearest(x: f64) -> Self;
    /// This thread's spare snapshot buffers of this dtype (see [`Input`]).
    fn pool() -> &'static std::thread::LocalKey<RefCell<Vec<Vec<Self>>>>;
    /// Deployed IBP of a layer whose data is stored as `storage` (f16/bf16, computed in
    /// f32): the library's `ibp_stored`. Only f32 layers are stored so; f64 is refused.
    fn ibp_stored(
        bounds: &Bounds<Self>,
        x: &TensorBox<Self>,
        storage: Storage,
    ) -> bnbound::Result<TensorBox<Self>>;
}

impl Elem for f32 {
    const NAME: &'static str = "float32";
    fn pool() -> &'static std::thread::LocalKey<RefCell<Vec<Vec<f32>>>> {
        thread_local!(static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) });
        &POOL
    }
    fn from_f64_nearest(x: f64) -> f32 {
        x as f32 // Rust's `as` from f64 to f32 rounds to nearest, ties to even
    }
    fn ibp_stored(
        bounds: &Bounds<f32>,
        x: &TensorBox<f32>,
        storage: Storage,
    ) -> bnbound::Result<TensorBox<f32>> {
        bounds.ibp_stored(x, storage)
    }
}

impl Elem for f64 {
    const NAME: &'static str = "float64";
    fn pool() -> &'static std::thread::LocalKey<RefCell<Vec<Vec<f64>>>> {
        thread_local!(static POOL: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) });
        &POOL
    }
    fn from_f64_nearest(x: f64) -> f64 {
        x
    }
    fn ibp_stored(
        _: &Bounds<f64>,
        _: &TensorBox<f64>,
        storage: Storage,
    ) -> bnbound::Result<TensorBox<f64>> {
        // A 16-bit layer whose ε is an f64 that is not an f32 value: no 16-bit recipe.
        Err(bnbound::Error::StoredLayerNotF32(storage.name()))
    }
}

/// Spare snapshot buffers a thread keeps (per dtype), and the largest one it keeps, in
/// bytes: a snapshot in fresh memory costs a page fault per 4 KiB on every call (glibc
/// returns the freed memory to the system), which doubled the time of a (64, 16, 10, 10)
/// f32 IBP; a reused buffer is only the memcpy. At most 2 × 8 MiB per dtype per thread.
const POOL_BUFFERS: usize = 2;
const POOL_MAX_BYTES: usize = 8 << 20;

fn take_buffer<T: Elem>(n: usize) -> Vec<T> {
    let v = T::pool()
        .try_with(|p| p.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default();
    if v.capacity() >= n {
        v
    } else {
        Vec::with_capacity(n)
    }
}

fn give_back<T: Elem>(mut v: Vec<T>) {
    if v.capacity() == 0 || v.capacity() * std::mem::size_of::<T>() > POOL_MAX_BYTES {
        return;
    }
    v.clear();
    let _ = T::pool().try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_BUFFERS {
            p.push(v);
        }
    });
}

/// An input array of dtype `T`: a row-major snapshot of its elements, taken under the GIL.
pub(crate) struct Input<'py, T: Elem> {
    dims: Vec<usize>,
    /// The snapshot (a buffer from this thread's pool, returned on drop).
    data: Vec<T>,
    /// The read-only borrow of the caller's array, held for the call, so that an `out=`
    /// array that is this input is refused (as before the snapshot existed).
    _borrow: PyReadonlyArrayDyn<'py, T>,
}

impl<'py, T: Elem> Input<'py, T> {
    /// The dimensions.
    pub(crate) fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The elements in row-major order (the snapshot).
    pub(crate) fn slice(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, moved out.
    pub(crate) fn into_vec(mut self) -> Vec<T> {
        std::mem::take(&mut self.data)
    }
}

impl<T: Elem> Drop for Input<'_, T> {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.data));
    }
}

fn from_array<'py, T: Elem>(a: &Bound<'py, PyArrayDyn<T>>, what: &str) -> PyResult<Input<'py, T>> {
    // Fails only when the array is also an `out=` being written: not the case for inputs,
    // which are read before the outputs are borrowed.
    let ro = a
        .try_readonly()
        .map_err(|_| err(format!("{what} is being written by bnbound")))?;
    let dims = ro.shape().to_vec();
    let mut data = take_buffer::<T>(ro.len());
    // Under the GIL: no Python thread writes the array while it is copied.
    // `as_slice` also accepts Fortran order (memory order): only C order is copied whole.
    match ro.as_slice() {
        Ok(s) if a.is_c_contiguous() => data.extend_from_slice(s),
        _ => data.extend(ro.as_array().iter().copied()),
    }
    Ok(Input {
        dims,
        data,
        _borrow: ro,
    })
}

/// Reads `obj` as an array of dtype `T`; `what` names it in errors (`"lo"`, `"gamma"`).
pub(crate) fn input<'py, T: Elem>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Input<'py, T>> {
    if let Ok(a) = obj.cast::<PyArrayDyn<T>>() {
        return from_array(a, what);
    }
    if let Ok(u) = obj.cast::<PyUntypedArray>() {
        let kind = u.dtype().kind();
        if kind == b'f' || kind == b'c' {
            return Err(err(format!(
                "{what}: expected a {} array, got {} (convert it explicitly; bnbound never \
                 rounds an input silently)",
                T::NAME,
                u.dtype()
            )));
        }
    }
    let conv = obj
        .py()
        .import("bnbound._convert")?
        .getattr("exact_array")?
        .call1((obj, T::NAME, what))?;
    let a = conv
        .cast::<PyArrayDyn<T>>()
        .map_err(|_| err(format!("internal: {what} was not converted to {}", T::NAME)))?;
    from_array(a, what)
}

/// `result` as torch tensors on the device of the first torch tensor among `args`, or as
/// it is when none is one (numpy arrays are recognised here; anything else asks
/// `bnbound._convert.torch_device`, which never imports torch).
pub(crate) fn torch_out<'py>(
    py: Python<'py>,
    result: Bound<'py, PyTuple>,
    args: &[&Bound<'py, PyAny>],
) -> PyResult<Bound<'py, PyTuple>> {
    if args.iter().all(|a| a.cast::<PyUntypedArray>().is_ok()) {
        return Ok(result);
    }
    let conv = py.import("bnbound._convert")?;
    let device = conv
        .getattr("torch_device")?
        .call1(PyTuple::new(py, args.iter().copied())?)?;
    if device.is_none() {
        return Ok(result);
    }
    Ok(conv
        .getattr("to_torch")?
        .call1((result, device))?
        .cast_into::<PyTuple>()?)
}

/// Fails unless `b` has the dims of `a`.
pub(crate) fn same_dims(a: &[usize], b: &[usize], what_a: &str, what_b: &str) -> PyResult<()> {
    if a != b {
        return Err(err(format!(
            "{what_b} has shape {b:?} but {what_a} has shape {a:?}"
        )));
    }
    Ok(())
}

/// A new numpy array of dims `dims` holding `v` (moved, not copied).
pub(crate) fn output<'py, T: Elem>(
    py: Python<'py>,
    dims: &[usize],
    v: Vec<T>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let a = ArrayD::from_shape_vec(IxDyn(dims), v)
        .map_err(|e| err(format!("internal: output shape {dims:?}: {e}")))?;
    Ok(PyArrayDyn::from_owned_array(py, a))
}

/// An `out=` array: a writeable, C-contiguous numpy array of dtype `T` and dims `dims`
/// that shares no memory with an input.
pub(crate) fn out_array<'py, T: Elem>(
    obj: &Bound<'py, PyAny>,
    dims: &[usize],
    what: &str,
) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    let a = obj.cast::<PyArrayDyn<T>>().map_err(|_| {
        err(format!(
            "{what}: expected a {} numpy array of shape {dims:?}",
            T::NAME
        ))
    })?;
    if a.shape() != dims {
        return Err(err(format!(
            "{what} has shape {:?}, expected {dims:?}",
            a.shape()
        )));
    }
    if !a.is_c_contiguous() {
        return Err(err(format!("{what} must be C-contiguous")));
    }
    if !a
        .getattr("flags")?
        .getattr("writeable")?
        .extract::<bool>()?
    {
        return Err(err(format!("{what} is read-only")));
    }
    // numpy's borrow tracking refuses an array that overlaps a borrowed one.
    a.try_readwrite().map_err(|_| {
        err(format!(
            "{what} shares memory with an input or with the other output: pass separate arrays"
        ))
    })
}
