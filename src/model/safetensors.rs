//! PyTorch state_dicts in safetensors files (feature `safetensors`).
//!
//! A BatchNorm layer with prefix `P` is `P.weight` (γ), `P.bias` (β), `P.running_mean`,
//! `P.running_var` (F32, F64, F16 or BF16). A layer built with `affine=False` has no
//! `P.weight`/`P.bias`; then γ = 1 and β = 0. ε is not in a state_dict: give it with
//! [`Options::eps`](crate::model::Options::eps).

use super::error::{Error, Result};
use super::{build, decode_le, ElemKind, Eps, ModelLayer, Stat};
use crate::error::short;
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::{Dtype as StDtype, SafeTensors};
use std::path::Path;

fn format_err(e: impl std::fmt::Display) -> Error {
    Error::Format(format!("not a safetensors file: {e}"))
}

/// A state_dict's BatchNorm layers: the header is parsed once, a layer's tensors are
/// decoded only when it is asked for. What [`crate::model::Model::open`] gives for a
/// safetensors file ([`crate::model::Model::Safetensors`]).
///
/// ```
/// use bnbound::model::{Model, Options};
/// let p = "tests/data/state.safetensors";
/// let Model::Safetensors(sd) = Model::open(p, &Options::default())? else { unreachable!() };
/// assert_eq!(sd.names().count(), 5);
/// assert_eq!(sd.layer("half")?.bn.channels(), 4);
/// # Ok::<(), bnbound::model::Error>(())
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
    /// Errors: [`Error::Format`] (not a regular file, unreadable, not safetensors).
    pub(crate) fn open(path: &Path, eps: Eps) -> Result<StateDict> {
        Self::from_bytes(super::read_regular_file(path)?, eps)
    }

    /// Indexes a state_dict held in memory.
    ///
    /// Errors: [`Error::Format`] (not safetensors).
    pub(crate) fn from_bytes(bytes: Vec<u8>, eps: Eps) -> Result<StateDict> {
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
    /// use bnbound::model::{Model, Options};
    /// let p = "tests/data/state.safetensors";
    /// let Model::Safetensors(sd) = Model::open(p, &Options::default())? else { unreachable!() };
    /// assert_eq!(sd.names().next(), Some("bhalf"));
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.prefixes.iter().map(String::as_str)
    }

    /// Whether `prefix` is one of [`StateDict::names`] (a binary search).
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let p = "tests/data/state.safetensors";
    /// let Model::Safetensors(sd) = Model::open(p, &Options::default())? else { unreachable!() };
    /// assert!(sd.contains("half") && !sd.contains("conv"));
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn contains(&self, prefix: &str) -> bool {
        self.prefixes
            .binary_search_by(|p| p.as_str().cmp(prefix))
            .is_ok()
    }

    /// Loads the layer with prefix `prefix`.
    ///
    /// Errors, wrapped in [`Error::Layer`] naming the prefix: [`Error::MissingTensor`] (no
    /// running statistics under that prefix, or only
    /// one of weight/bias), [`Error::UnsupportedTensorType`],
    /// [`Error::TensorLength`], and the parameter errors of [`crate::BatchNorm::new`].
    ///
    /// ```
    /// use bnbound::model::{Eps, Model, Options};
    /// let o = Options::default().eps(Eps::F64(1e-3));
    /// let Model::Safetensors(sd) = Model::open("tests/data/state.safetensors", &o)? else { unreachable!() };
    /// assert_eq!(sd.layer("layer2.bn")?.bn.dtype(), bnbound::Dtype::F64);
    /// let e = sd.layer("nope").unwrap_err();
    /// assert!(matches!(e.inner(), bnbound::model::Error::MissingTensor(_)));
    /// assert_eq!(e.layer(), Some("nope"));
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn layer(&self, prefix: &str) -> Result<ModelLayer> {
        let _env = crate::num::round::env::enter();
        assemble(prefix, self.eps, |name| {
            self.meta
                .info(name)
                .map(|info| self.values(info, name))
                .transpose()
        })
        .map_err(|e| e.in_layer(prefix))
    }

    /// Loads the one layer `prefix` of the state_dict file at `path`, reading from the
    /// header only that layer's entries (the rest of the header is parsed as JSON and
    /// skipped, not stored), so memory is the file's bytes plus that layer.
    ///
    /// Errors: [`Error::Format`] (not a regular file, not safetensors, a tensor's
    /// offsets outside the data or not matching its shape), and those of
    /// [`StateDict::layer`].
    pub(crate) fn open_layer(path: &Path, prefix: &str, eps: Eps) -> Result<ModelLayer> {
        let bytes = super::read_regular_file(path)?;
        let (header, data) = split_header(&bytes)?;
        let suffixes = ["weight", "bias", "running_mean", "running_var"];
        let wanted: Vec<String> = suffixes.iter().map(|s| format!("{prefix}.{s}")).collect();
        let found = wanted_entries(header, &wanted)?;
        assemble(prefix, eps, |name| {
            let Some(k) = wanted.iter().position(|w| w == name) else {
                return Ok(None);
            };
            found[k]
                .as_ref()
                .map(|e| entry_values(e, data, name))
                .transpose()
        })
        .map_err(|e| e.in_layer(prefix))
    }

    /// Every layer, each loaded when the iterator reaches it, with its own result.
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let p = "tests/data/state.safetensors";
    /// let Model::Safetensors(sd) = Model::open(p, &Options::default())? else { unreachable!() };
    /// assert!(sd.layers().all(|(_, l)| l.is_ok()));
    /// # Ok::<(), bnbound::model::Error>(())
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

/// Builds layer `prefix` from its tensors, `get(name)` giving each one's values if present
/// (`affine=False` layers have no weight and bias: γ = 1, β = 0).
fn assemble(
    prefix: &str,
    eps: Eps,
    get: impl Fn(&str) -> Result<Option<Stat>>,
) -> Result<ModelLayer> {
    let names = ["weight", "bias", "running_mean", "running_var"].map(|s| format!("{prefix}.{s}"));
    let need = |k: usize| -> Result<Stat> {
        get(&names[k])?.ok_or_else(|| Error::MissingTensor(short(&names[k])))
    };
    let mean = need(2)?;
    let var = need(3)?;
    let c = mean.values.len();
    let (gamma, beta) = match (get(&names[0])?, get(&names[1])?) {
        (Some(g), Some(b)) => (g, b),
        (None, None) => (
            ElemKind::F32.stat(vec![1.0; c]),
            ElemKind::F32.stat(vec![0.0; c]),
        ),
        (Some(_), None) => return Err(Error::MissingTensor(short(&names[1]))),
        (None, Some(_)) => return Err(Error::MissingTensor(short(&names[0]))),
    };
    let (bn, stored_as, storage) = build(
        [gamma, beta, mean, var],
        eps.value(),
        [&names[0], &names[1], &names[2], &names[3]].map(String::as_str),
    )?;
    Ok(ModelLayer {
        name: prefix.to_string(),
        producer: None,
        producer_op: None,
        producer_weight_dims: None,
        consumers: Vec::new(),
        stored_as,
        storage,
        x_type_known: true,
        overridable: false,
        producer_weight_overridable: false,
        ort_unfused: None,
        bn,
    })
}

/// The header text and the data section of a safetensors file (the format's 8-byte
/// little-endian header length, at most 100 MB of JSON, then the data).
fn split_header(bytes: &[u8]) -> Result<(&str, &[u8])> {
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .ok_or_else(|| format_err("shorter than its 8-byte header length"))?;
    let end = usize::try_from(len)
        .ok()
        .filter(|&n| n <= 100_000_000)
        .and_then(|n| n.checked_add(8))
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| format_err(format!("header length {len} is invalid")))?;
    let header = std::str::from_utf8(&bytes[8..end])
        .map_err(|e| format_err(format!("header is not UTF-8: {e}")))?;
    Ok((header, &bytes[end..]))
}

/// One header entry: `{"dtype", "shape", "data_offsets"}`.
#[derive(serde::Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// The entries named in `wanted` (in that order), reading the whole header as JSON but
/// keeping nothing of the other entries. A name given twice is an error.
fn wanted_entries(header: &str, wanted: &[String]) -> Result<Vec<Option<Entry>>> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct V<'w>(&'w [String]);
    impl<'de> Visitor<'de> for V<'_> {
        type Value = Vec<Option<Entry>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a safetensors header object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out: Vec<Option<Entry>> = self.0.iter().map(|_| None).collect();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match self.0.iter().position(|w| *w == key) {
                    Some(k) if out[k].is_some() => {
                        return Err(serde::de::Error::custom(format!(
                            "tensor {:?} is defined twice",
                            short(&key)
                        )))
                    }
                    Some(k) => out[k] = Some(map.next_value()?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(header);
    let out = de
        .deserialize_map(V(wanted))
        .and_then(|v| de.end().map(|_| v))
        .map_err(format_err)?;
    Ok(out)
}

/// The values of one entry: its dtype read, its offsets checked against the data section
/// and its shape.
fn entry_values(e: &Entry, data: &[u8], name: &str) -> Result<Stat> {
    let kind = match e.dtype.as_str() {
        "F32" => ElemKind::F32,
        "F64" => ElemKind::F64,
        "F16" => ElemKind::F16,
        "BF16" => ElemKind::Bf16,
        other => {
            return Err(Error::UnsupportedTensorType {
                tensor: short(name),
                dtype: short(other),
            })
        }
    };
    let (a, b) = e.data_offsets;
    let size = e
        .shape
        .iter()
        .try_fold(kind.size(), |n, &d| n.checked_mul(d));
    let bytes = data
        .get(a..b)
        .filter(|s| Some(s.len()) == size)
        .ok_or_else(|| {
            format_err(format!(
                "tensor {:?}: offsets {a}..{b} do not match its shape {:?} within {} data bytes",
                short(name),
                e.shape,
                data.len()
            ))
        })?;
    decode_le(bytes, kind, name)
}
