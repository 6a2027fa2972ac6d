//! PyTorch state_dicts in safetensors files (feature `safetensors`).
//!
//! A BatchNorm layer with prefix `P` is `P.weight` (γ), `P.bias` (β), `P.running_mean`,
//! `P.running_var` (F32, F64, F16 or BF16). A layer built with `affine=False` has no
//! `P.weight`/`P.bias`; then γ = 1 and β = 0. ε is not in a state_dict: pass it ([`Eps`]).

use super::{build, decode_le, ElemKind, ModelLayer, Stat};
use crate::error::{short, Error, Result};
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::{Dtype as StDtype, SafeTensors};
use std::path::Path;

/// ε of a state_dict's layers, with the precision it is stated in: PyTorch's default is
/// `1e-5` as a Python float (f64) passed to an `f32` kernel, i.e. `Eps::F32(1e-5)` for an
/// `f32` model.
///
/// ```
/// use bnbound::model::safetensors::Eps;
/// assert_eq!(Eps::default(), Eps::F32(1e-5));
/// assert_eq!(Eps::F32(1e-5).value(), 9.999999747378752e-6);
/// assert_eq!(Eps::F64(1e-5).value(), 1e-5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Eps {
    /// An `f32` ε (the layer stays `f32` if its statistics are).
    F32(f32),
    /// An `f64` ε (an `f32` layer becomes `f64` unless ε is an `f32` value).
    F64(f64),
}

impl Default for Eps {
    fn default() -> Self {
        Eps::F32(1e-5)
    }
}

impl Eps {
    /// The exact value.
    ///
    /// ```
    /// assert_eq!(bnbound::model::safetensors::Eps::F32(0.5).value(), 0.5);
    /// ```
    pub fn value(self) -> f64 {
        match self {
            Eps::F32(e) => e as f64,
            Eps::F64(e) => e,
        }
    }
}

fn format_err(e: impl std::fmt::Display) -> Error {
    Error::ModelFormat(format!("not a safetensors file: {e}"))
}

/// A state_dict's BatchNorm layers: the header is parsed once, a layer's tensors are
/// decoded only when it is asked for.
///
/// ```
/// use bnbound::model::safetensors::{Eps, StateDict};
/// let sd = StateDict::open("tests/data/state.safetensors", Eps::default())?;
/// assert_eq!(sd.names().count(), 5);
/// assert_eq!(sd.layer("half")?.bn.channels(), 4);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Debug)]
pub struct StateDict {
    bytes: Vec<u8>,
    /// Where the data section starts (after the 8-byte length and the header).
    data_start: usize,
    meta: Metadata,
    prefixes: Vec<String>,
    eps: Eps,
}

impl StateDict {
    /// Reads and indexes the state_dict file at `path`; `eps` is the layers' ε.
    ///
    /// Errors: [`Error::ModelFormat`] (not a regular file, unreadable, not safetensors).
    ///
    /// ```
    /// use bnbound::model::safetensors::{Eps, StateDict};
    /// assert!(StateDict::open("tests/data", Eps::default()).is_err()); // a folder
    /// ```
    pub fn open(path: impl AsRef<Path>, eps: Eps) -> Result<StateDict> {
        Self::from_bytes(super::read_regular_file(path.as_ref())?, eps)
    }

    /// Indexes a state_dict held in memory.
    ///
    /// Errors: [`Error::ModelFormat`] (not safetensors).
    ///
    /// ```
    /// use bnbound::model::safetensors::{Eps, StateDict};
    /// assert!(StateDict::from_bytes(b"nonsense".to_vec(), Eps::default()).is_err());
    /// ```
    pub fn from_bytes(bytes: Vec<u8>, eps: Eps) -> Result<StateDict> {
        let (n, meta) = SafeTensors::read_metadata(&bytes).map_err(format_err)?;
        // One hash lookup per name: linear in the number of tensors.
        let tensors = meta.tensors();
        let mut prefixes: Vec<String> = tensors
            .keys()
            .filter_map(|n| n.strip_suffix(".running_mean"))
            .filter(|p| tensors.contains_key(&format!("{p}.running_var")))
            .map(str::to_string)
            .collect();
        drop(tensors);
        prefixes.sort();
        Ok(StateDict {
            data_start: 8 + n,
            bytes,
            meta,
            prefixes,
            eps,
        })
    }

    /// The BatchNorm prefixes: every `P` with both `P.running_mean` and `P.running_var`,
    /// sorted.
    ///
    /// ```
    /// use bnbound::model::safetensors::{Eps, StateDict};
    /// let sd = StateDict::open("tests/data/state.safetensors", Eps::default())?;
    /// assert_eq!(sd.names().next(), Some("bhalf"));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.prefixes.iter().map(String::as_str)
    }

    /// Loads the layer with prefix `prefix`.
    ///
    /// Errors: [`Error::MissingTensor`] (no running statistics under that prefix, or only
    /// one of weight/bias), [`Error::UnsupportedTensorType`],
    /// [`Error::TensorLength`], and the parameter errors of [`crate::BatchNorm::new`].
    ///
    /// ```
    /// use bnbound::model::safetensors::{Eps, StateDict};
    /// let sd = StateDict::open("tests/data/state.safetensors", Eps::F64(1e-3))?;
    /// assert_eq!(sd.layer("layer2.bn")?.bn.dtype(), bnbound::Dtype::F64);
    /// assert!(matches!(sd.layer("nope"), Err(bnbound::Error::MissingTensor(_))));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn layer(&self, prefix: &str) -> Result<ModelLayer> {
        let get = |suffix: &str| -> Result<Option<Stat>> {
            let name = format!("{prefix}.{suffix}");
            self.meta
                .info(&name)
                .map(|info| self.values(info, &name))
                .transpose()
        };
        let need = |s: &str, v: Option<Stat>| {
            v.ok_or_else(|| Error::MissingTensor(short(&format!("{prefix}.{s}"))))
        };
        let mean = need("running_mean", get("running_mean")?)?;
        let var = need("running_var", get("running_var")?)?;
        let c = mean.values.len();
        let (gamma, beta) = match (get("weight")?, get("bias")?) {
            (Some(g), Some(b)) => (g, b),
            (None, None) => (
                ElemKind::F32.stat(vec![1.0; c]),
                ElemKind::F32.stat(vec![0.0; c]),
            ),
            (Some(_), None) => return Err(Error::MissingTensor(short(&format!("{prefix}.bias")))),
            (None, Some(_)) => {
                return Err(Error::MissingTensor(short(&format!("{prefix}.weight"))))
            }
        };
        let names =
            ["weight", "bias", "running_mean", "running_var"].map(|s| format!("{prefix}.{s}"));
        let (bn, stored_as) = build(
            [gamma, beta, mean, var],
            self.eps.value(),
            [&names[0], &names[1], &names[2], &names[3]].map(String::as_str),
        )?;
        Ok(ModelLayer {
            name: prefix.to_string(),
            producer: None,
            consumers: Vec::new(),
            stored_as,
            bn,
        })
    }

    /// Every layer, each loaded when the iterator reaches it, with its own result.
    ///
    /// ```
    /// use bnbound::model::safetensors::{Eps, StateDict};
    /// let sd = StateDict::open("tests/data/state.safetensors", Eps::default())?;
    /// assert!(sd.layers().all(|(_, l)| l.is_ok()));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn layers(&self) -> impl Iterator<Item = (&str, Result<ModelLayer>)> + '_ {
        self.names().map(|p| (p, self.layer(p)))
    }

    fn values(&self, info: &TensorInfo, name: &str) -> Result<Stat> {
        let kind = match info.dtype {
            StDtype::F32 => ElemKind::F32,
            StDtype::F64 => ElemKind::F64,
            StDtype::F16 => ElemKind::F16,
            StDtype::BF16 => ElemKind::Bf16,
            other => {
                return Err(Error::UnsupportedTensorType {
                    tensor: short(name),
                    dtype: format!("{other:?}"),
                })
            }
        };
        // `read_metadata` has checked every tensor's offsets against the buffer.
        let (a, b) = info.data_offsets;
        let data = self
            .bytes
            .get(self.data_start + a..self.data_start + b)
            .ok_or_else(|| format_err(format!("tensor {:?} is out of range", short(name))))?;
        decode_le(data, kind, name)
    }
}

/// The BatchNorm prefixes of a state_dict held in memory ([`StateDict::names`]).
///
/// ```
/// let bytes = std::fs::read("tests/data/state.safetensors").unwrap();
/// let p = bnbound::model::safetensors::prefixes(&bytes)?;
/// assert_eq!(p, ["bhalf", "features.1", "half", "layer2.bn", "noaffine"]);
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn prefixes(bytes: &[u8]) -> Result<Vec<String>> {
    Ok(StateDict::from_bytes(bytes.to_vec(), Eps::default())?.prefixes)
}

/// Reads the BatchNorm layer with prefix `prefix` from a state_dict held in memory
/// ([`StateDict::layer`]).
///
/// ```
/// use bnbound::model::safetensors::{load_bytes, Eps};
/// let bytes = std::fs::read("tests/data/state.safetensors").unwrap();
/// let l = load_bytes(&bytes, "half", Eps::default())?;
/// assert_eq!((l.name.as_str(), l.stored_as.as_str(), l.bn.channels()), ("half", "float16", 4));
/// assert!(load_bytes(&bytes, "nope", Eps::default()).is_err());
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn load_bytes(bytes: &[u8], prefix: &str, eps: Eps) -> Result<ModelLayer> {
    StateDict::from_bytes(bytes.to_vec(), eps)?.layer(prefix)
}

/// Reads the layer `prefix` of the state_dict file at `path`, or every BatchNorm layer
/// when `prefix` is `None` (the first invalid one is an error; [`StateDict`] loads them one
/// at a time instead).
///
/// ```
/// use bnbound::model::safetensors::{load_file, Eps};
/// let all = load_file("tests/data/state.safetensors", None, Eps::default())?;
/// assert_eq!(all.len(), 5);
/// let one = load_file("tests/data/state.safetensors", Some("layer2.bn"), Eps::F64(1e-3))?;
/// assert_eq!(one[0].bn.dtype(), bnbound::Dtype::F64);
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn load_file(
    path: impl AsRef<Path>,
    prefix: Option<&str>,
    eps: Eps,
) -> Result<Vec<ModelLayer>> {
    let sd = StateDict::open(path, eps)?;
    match prefix {
        Some(p) => Ok(vec![sd.layer(p)?]),
        None => sd.layers().map(|(_, l)| l).collect(),
    }
}
