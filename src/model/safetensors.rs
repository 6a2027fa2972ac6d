//! PyTorch state_dicts in safetensors files (feature `safetensors`).
//!
//! A BatchNorm layer with prefix `P` is `P.weight` (γ), `P.bias` (β), `P.running_mean`,
//! `P.running_var` (F32, F64, F16 or BF16). A layer built with `affine=False` has no
//! `P.weight`/`P.bias`; then γ = 1 and β = 0. ε is not in a state_dict: pass it ([`Eps`]).

use super::{build, decode_le, ElemKind, ModelLayer, Stat};
use crate::error::{Error, Result};
use safetensors::{tensor::TensorView, Dtype as StDtype, SafeTensors};
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

/// The BatchNorm prefixes of a state_dict: every `P` with both `P.running_mean` and
/// `P.running_var`, sorted.
///
/// ```
/// let bytes = std::fs::read("tests/data/state.safetensors").unwrap();
/// let p = bnbound::model::safetensors::prefixes(&bytes)?;
/// assert_eq!(p, ["bhalf", "features.1", "half", "layer2.bn", "noaffine"]);
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn prefixes(bytes: &[u8]) -> Result<Vec<String>> {
    let st = SafeTensors::deserialize(bytes).map_err(format_err)?;
    let names = st.names();
    let mut out: Vec<String> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".running_mean"))
        .filter(|p| names.iter().any(|n| **n == format!("{p}.running_var")))
        .map(str::to_string)
        .collect();
    out.sort();
    Ok(out)
}

/// Reads the BatchNorm layer with prefix `prefix` from a state_dict held in memory.
///
/// Errors: [`Error::ModelFormat`], [`Error::MissingTensor`] (no running statistics, or only
/// one of weight/bias), [`Error::UnsupportedTensorType`], [`Error::TensorLength`], and the
/// parameter errors of [`crate::BatchNorm::new`].
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
    let st = SafeTensors::deserialize(bytes).map_err(format_err)?;
    let get = |suffix: &str| -> Result<Option<Stat>> {
        let name = format!("{prefix}.{suffix}");
        match st.tensor(&name) {
            Ok(t) => Ok(Some(values(&t, &name)?)),
            Err(safetensors::SafeTensorError::TensorNotFound(_)) => Ok(None),
            Err(e) => Err(format_err(e)),
        }
    };
    let need =
        |s: &str, v: Option<Stat>| v.ok_or_else(|| Error::MissingTensor(format!("{prefix}.{s}")));
    let mean = need("running_mean", get("running_mean")?)?;
    let var = need("running_var", get("running_var")?)?;
    let c = mean.values.len();
    let (gamma, beta) = match (get("weight")?, get("bias")?) {
        (Some(g), Some(b)) => (g, b),
        (None, None) => (
            ElemKind::F32.stat(vec![1.0; c]),
            ElemKind::F32.stat(vec![0.0; c]),
        ),
        (Some(_), None) => return Err(Error::MissingTensor(format!("{prefix}.bias"))),
        (None, Some(_)) => return Err(Error::MissingTensor(format!("{prefix}.weight"))),
    };
    let names = ["weight", "bias", "running_mean", "running_var"].map(|s| format!("{prefix}.{s}"));
    let (bn, stored_as) = build(
        [gamma, beta, mean, var],
        eps.value(),
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

/// Reads the layer `prefix` of the state_dict file at `path`, or every BatchNorm layer
/// ([`prefixes`]) when `prefix` is `None`.
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
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| Error::ModelFormat(format!("{}: {e}", path.display())))?;
    match prefix {
        Some(p) => Ok(vec![load_bytes(&bytes, p, eps)?]),
        None => prefixes(&bytes)?
            .iter()
            .map(|p| load_bytes(&bytes, p, eps))
            .collect(),
    }
}

fn values(t: &TensorView<'_>, name: &str) -> Result<Stat> {
    let kind = match t.dtype() {
        StDtype::F32 => ElemKind::F32,
        StDtype::F64 => ElemKind::F64,
        StDtype::F16 => ElemKind::F16,
        StDtype::BF16 => ElemKind::Bf16,
        other => {
            return Err(Error::UnsupportedTensorType {
                tensor: name.to_string(),
                dtype: format!("{other:?}"),
            })
        }
    };
    decode_le(t.data(), kind, name)
}
