//! ONNX models (feature `onnx`): the `BatchNormalization` nodes of a model, indexed once
//! and materialised one layer at a time.
//!
//! [`OnnxModel`] reads a model (`.onnx`, or gzip-compressed such as VNN-COMP's `.onnx.gz`)
//! in one pass over the graph and keeps, per BatchNorm node, only its name, neighbours,
//! ε and where its four statistics are. A layer's tensors are decoded only when the layer
//! is asked for ([`OnnxModel::layer`]), so asking for one layer costs the same whatever
//! the rest of the graph holds, and an invalid layer never blocks a valid one.
//!
//! The protobuf messages below are the subset of `onnx.proto` (IR version 3 and later)
//! that BatchNorm needs, declared with `prost` field tags; every other field is skipped.
//! Tensor data may be `raw_data` (little-endian), the typed fields (`float_data`,
//! `double_data`, `int32_data` holding float16/bfloat16 bits) or external data in a file
//! inside the model's folder.
//!
//! What is an inference BatchNorm here (anything else is a typed error for that layer):
//! - the four statistics `scale`, `B`, `input_mean`, `input_var` are initializers, each
//!   defined once and not also a graph input (a graph input with a default initializer can
//!   be overridden at run time, so it is not a constant);
//! - `training_mode` is absent or `0` (opset 14+); no output besides `Y` is used (the
//!   training form of opsets 9–14 has up to five outputs); no sixth input (the opset-12
//!   draft's `training_mode` input); `is_test = 1` when the model's opset is 6 or older
//!   (`is_test` defaults to `0`, training, there); `spatial` is absent or `1`.
//!
//! A node without a name is named by its first output tensor.

use super::error::{Error, Result};
mod node;
mod proto;
mod tensor;

use node::{entry, is_batchnorm, node_name, Entry};
use proto::{ModelProto, NodeProto, TensorName, TensorProto, ValueInfoProto};
use tensor::tensor_values;

use super::{build, ModelLayer, Stat};
use crate::short;
use prost::bytes::Bytes;
use prost::Message;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A gzip stream may expand to at most this many times its size plus [`GZIP_SLACK`]
/// before it is rejected: model weights compress far less, a "zip bomb" far more.
const GZIP_RATIO: u64 = 64;
const GZIP_SLACK: u64 = 16 << 20;

/// ONNX `TensorProto.DataType` names, for error messages.
fn type_name(t: i32) -> String {
    const NAMES: [&str; 17] = [
        "undefined",
        "float",
        "uint8",
        "int8",
        "uint16",
        "int16",
        "int32",
        "int64",
        "string",
        "bool",
        "float16",
        "double",
        "uint32",
        "uint64",
        "complex64",
        "complex128",
        "bfloat16",
    ];
    usize::try_from(t)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("data type {t}"), |s| s.to_string())
}

/// An ONNX model's BatchNorm layers, indexed in one pass and loaded one at a time.
///
/// ```
/// use bnbound::model::onnx::OnnxModel;
/// let m = OnnxModel::open("tests/data/conv_bn_relu_f32.onnx")?;
/// assert_eq!(m.names().collect::<Vec<_>>(), ["bn1"]);
/// let layer = m.layer("bn1")?;
/// assert_eq!((layer.producer.as_deref(), layer.bn.channels()), (Some("conv1"), 6));
/// # Ok::<(), bnbound::model::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OnnxModel {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    /// The model's folder, canonical; external data must resolve inside it.
    base_dir: Option<PathBuf>,
}

impl OnnxModel {
    /// Reads and indexes the model at `path`: an ONNX protobuf, or one compressed with
    /// gzip (recognised by its magic bytes, e.g. `.onnx.gz`). External data files are
    /// looked up in the model's folder and must resolve inside it.
    ///
    /// Errors: [`Error::Format`] (not a regular file, unreadable, not a model, a gzip
    /// stream that is corrupt or expands more than 64× its size plus 16 MiB). Problems of
    /// single layers are reported by [`OnnxModel::layer`], not here.
    ///
    /// ```
    /// let m = bnbound::model::onnx::OnnxModel::open("tests/data/bn_external.onnx")?;
    /// assert_eq!(m.layer("bnext")?.bn.channels(), 3);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<OnnxModel> {
        let (bytes, base) = read_model(path.as_ref())?;
        Self::index(bytes, Some(base), None)
    }

    /// Loads the one layer `name` of the model at `path`, keeping no state for the other
    /// layers: the graph is scanned for that node alone, so memory is the file's bytes plus
    /// that layer, however many other layers the model has.
    ///
    /// Errors: those of [`OnnxModel::open`] and [`OnnxModel::layer`].
    ///
    /// ```
    /// let l = bnbound::model::onnx::OnnxModel::open_layer("tests/data/conv_bn_relu_f32.onnx", "bn1")?;
    /// assert_eq!(l.consumers, ["relu1"]);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn open_layer(path: impl AsRef<Path>, name: &str) -> Result<ModelLayer> {
        let (bytes, base) = read_model(path.as_ref())?;
        let one = Self::index(bytes, Some(base), Some(name))?;
        match one.entries.first() {
            Some(_) => one.layer(name),
            // Only now list the model's layers, for the message.
            None => Self::open(path)?.layer(name),
        }
    }

    /// Indexes a model held in memory (plain or gzip-compressed); `base_dir` is the folder
    /// external data files are in (`None`: external data is an error).
    ///
    /// ```
    /// let e = bnbound::model::onnx::OnnxModel::from_bytes(b"\x0a\xff".to_vec(), None).unwrap_err();
    /// assert!(matches!(e, bnbound::model::Error::Format(_)));
    /// ```
    pub fn from_bytes(bytes: Vec<u8>, base_dir: Option<&Path>) -> Result<OnnxModel> {
        let base = base_dir
            .map(|d| {
                std::fs::canonicalize(d).map_err(|e| {
                    Error::Format(format!("cannot resolve folder {}: {e}", d.display()))
                })
            })
            .transpose()?;
        Self::index(bytes, base, None)
    }

    /// Indexes the BatchNorm nodes (only those named `only`, if given) in two passes over
    /// the graph; the state kept is per indexed node, never per graph node.
    fn index(bytes: Vec<u8>, base_dir: Option<PathBuf>, only: Option<&str>) -> Result<OnnxModel> {
        let bytes = gunzip_if_compressed(bytes)?;
        let model = ModelProto::decode(Bytes::from(bytes))
            .map_err(|e| Error::Format(format!("not an ONNX model: {e}")))?;
        let graph = model
            .graph
            .ok_or_else(|| Error::Format("the model has no graph".to_string()))?;
        let opset = model
            .opset_import
            .iter()
            .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version)
            .max();
        let format = |what: &str, e: prost::DecodeError| {
            Error::Format(format!("not an ONNX model: a {what} is malformed: {e}"))
        };

        // Pass 1: the BatchNorm nodes.
        let mut entries = Vec::new();
        // Per indexed node: its position in the graph, its input X and its output Y.
        let mut bn_nodes: Vec<(usize, Option<String>, Option<String>)> = Vec::new();
        for (k, raw) in graph.node.iter().enumerate() {
            let node = NodeProto::decode(raw.clone()).map_err(|e| format("node", e))?;
            if is_batchnorm(&node) && only.is_none_or(|n| node_name(&node) == n) {
                entries.push(entry(&node, opset));
                let first = |v: &[String]| v.first().filter(|t| !t.is_empty()).cloned();
                bn_nodes.push((k, first(&node.input), first(&node.output)));
            }
        }

        // What pass 2 looks for: layer names, statistics, and the layers' input and output.
        let mut by_name: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        for i in 0..entries.len() {
            let name = entries[i].name.clone();
            match by_name.get(&name) {
                Some(&j) => {
                    for k in [i, j] {
                        entries[k]
                            .problem
                            .get_or_insert_with(|| duplicate("node name", &name));
                    }
                }
                None => {
                    by_name.insert(name, i);
                }
            }
        }
        let mut stat_use: HashMap<String, StatUse> = HashMap::new();
        let mut inputs_of: HashMap<String, Vec<usize>> = HashMap::new();
        let mut outputs_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (_, x, y)) in bn_nodes.iter_mut().enumerate() {
            for s in entries[i].stats.iter().map(|(s, _)| s) {
                stat_use.entry(s.clone()).or_default();
            }
            if let Some(x) = x.take() {
                inputs_of.entry(x).or_default().push(i);
            }
            if let Some(y) = y.take() {
                outputs_of.entry(y).or_default().push(i);
            }
        }

        // Pass 2: every node's name, inputs and outputs; initializer and input names.
        let mut bn_at = bn_nodes.iter().map(|(k, _, _)| *k).peekable();
        for (k, raw) in graph.node.iter().enumerate() {
            let is_bn = bn_at.peek() == Some(&k);
            if is_bn {
                bn_at.next();
            }
            let node = NodeProto::decode(raw.clone()).map_err(|e| format("node", e))?;
            let name = node_name(&node);
            if !is_bn && !name.is_empty() {
                if let Some(&i) = by_name.get(&name) {
                    entries[i]
                        .problem
                        .get_or_insert_with(|| duplicate("node name", &name));
                }
            }
            for out in &node.output {
                if let Some(u) = stat_use.get_mut(out) {
                    u.produced = true;
                }
                for &i in inputs_of.get(out).into_iter().flatten() {
                    entries[i].producer.get_or_insert_with(|| name.clone());
                }
            }
            for inp in &node.input {
                for &i in outputs_of.get(inp).into_iter().flatten() {
                    entries[i].consumers.push(name.clone());
                }
            }
        }
        for raw in &graph.initializer {
            let t = TensorName::decode(raw.clone()).map_err(|e| format("initializer", e))?;
            if let Some(u) = stat_use.get_mut(&t.name) {
                u.count += 1;
                u.tensor = Some(raw.clone());
            }
        }
        for raw in &graph.input {
            let v = ValueInfoProto::decode(raw.clone()).map_err(|e| format("graph input", e))?;
            if let Some(u) = stat_use.get_mut(&v.name) {
                u.input = true;
            }
        }

        for e in &mut entries {
            for (s, slot) in &mut e.stats {
                let u = &stat_use[s.as_str()];
                let problem = match (u.count, u.input, u.produced) {
                    (1, false, _) => {
                        *slot = u.tensor.clone();
                        continue;
                    }
                    (c, _, _) if c > 1 => duplicate("initializer name", s),
                    (1, true, _) => Error::UnsupportedNode {
                        node: short(&e.name),
                        reason: format!(
                            "statistic {:?} is an initializer and also a graph input: it can be \
                             overridden at run time, so it is not a constant",
                            short(s)
                        ),
                    },
                    (_, true, _) => Error::UnsupportedNode {
                        node: short(&e.name),
                        reason: format!(
                            "statistic {:?} is a graph input, not an initializer: its value is \
                             not in the model",
                            short(s)
                        ),
                    },
                    (_, _, true) => Error::UnsupportedNode {
                        node: short(&e.name),
                        reason: format!(
                            "statistic {:?} is computed by another node, not an initializer",
                            short(s)
                        ),
                    },
                    _ => Error::MissingTensor(short(s)),
                };
                e.problem.get_or_insert(problem);
            }
        }
        Ok(OnnxModel {
            entries,
            by_name,
            base_dir,
        })
    }

    /// The names of the model's BatchNorm layers, in graph order (valid or not).
    ///
    /// ```
    /// let m = bnbound::model::onnx::OnnxModel::open("tests/data/bn_training_mode.onnx")?;
    /// assert_eq!(m.names().collect::<Vec<_>>(), ["bntrain"]);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// Loads the layer named `name`: its statistics are decoded (and read from external
    /// data) now, exactly.
    ///
    /// Errors: [`Error::UnknownLayer`]; for that layer only: [`Error::UnsupportedNode`]
    /// (training forms, statistics that are graph inputs or node outputs, missing inputs,
    /// `spatial = 0`), [`Error::DuplicateName`], [`Error::MissingTensor`],
    /// [`Error::UnsupportedTensorType`], [`Error::TensorLength`], [`Error::Format`]
    /// (malformed tensor, unreadable external data), [`Error::ExternalDataOutside`], and
    /// the parameter errors of [`crate::BatchNorm::new`].
    ///
    /// ```
    /// let m = bnbound::model::onnx::OnnxModel::open("tests/data/bn_training_mode.onnx")?;
    /// assert!(matches!(m.layer("bntrain"), Err(bnbound::model::Error::UnsupportedNode { .. })));
    /// assert!(matches!(m.layer("nope"), Err(bnbound::model::Error::UnknownLayer { .. })));
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn layer(&self, name: &str) -> Result<ModelLayer> {
        match self.by_name.get(name) {
            Some(&i) => self.load(&self.entries[i]),
            None => Err(super::unknown_layer(name, self.names())),
        }
    }

    /// Every layer in graph order, each loaded when the iterator reaches it, with its own
    /// result (an invalid layer does not stop the others).
    ///
    /// ```
    /// let m = bnbound::model::onnx::OnnxModel::open("tests/data/conv_bn_relu_f32.onnx")?;
    /// let all: Vec<_> = m.layers().collect();
    /// assert!(all.len() == 1 && all[0].1.is_ok());
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn layers(&self) -> impl Iterator<Item = (&str, Result<ModelLayer>)> + '_ {
        self.entries.iter().map(|e| (e.name.as_str(), self.load(e)))
    }

    fn load(&self, e: &Entry) -> Result<ModelLayer> {
        if let Some(p) = &e.problem {
            return Err(p.clone());
        }
        let mut stats = Vec::with_capacity(4);
        for (name, raw) in &e.stats {
            let raw = raw
                .clone()
                .ok_or_else(|| Error::MissingTensor(short(name)))?;
            let t = TensorProto::decode(raw).map_err(|err| {
                Error::Format(format!("tensor {:?}: malformed: {err}", short(name)))
            })?;
            stats.push(tensor_values(&t, self.base_dir.as_deref())?);
        }
        let stats: [Stat; 4] = stats
            .try_into()
            .map_err(|_| Error::Format("a BatchNorm layer needs four statistics".into()))?;
        let names = [0, 1, 2, 3].map(|k| e.stats[k].0.as_str());
        let (bn, stored_as, storage) = build(stats, e.eps, names)?;
        Ok(ModelLayer {
            name: e.name.clone(),
            producer: e.producer.clone(),
            consumers: e.consumers.clone(),
            stored_as,
            storage,
            bn,
        })
    }
}

/// The bytes of the model file at `path` and its canonical folder.
fn read_model(path: &Path) -> Result<(Vec<u8>, PathBuf)> {
    let bytes = super::read_regular_file(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let base = std::fs::canonicalize(dir).map_err(|e| {
        Error::Format(format!(
            "cannot resolve the folder of {}: {e}",
            path.display()
        ))
    })?;
    Ok((bytes, base))
}

/// How a statistic's tensor name is used in the graph.
#[derive(Clone, Debug, Default)]
struct StatUse {
    /// Initializers of that name, and the last one.
    count: usize,
    tensor: Option<Bytes>,
    /// A graph input of that name.
    input: bool,
    /// A node output of that name.
    produced: bool,
}

fn duplicate(kind: &'static str, name: &str) -> Error {
    Error::DuplicateName {
        kind,
        name: short(name),
    }
}

/// Reads every BatchNormalization layer of the ONNX model at `path` (external data files
/// are looked up next to it); the first invalid layer is an error. [`OnnxModel`] loads
/// layers one at a time instead.
///
/// ```
/// let layers = bnbound::model::onnx::load_file("tests/data/conv_bn_relu_f32.onnx")?;
/// assert_eq!(layers.len(), 1);
/// assert_eq!(layers[0].consumers, vec!["relu1".to_string()]);
/// assert_eq!(layers[0].bn.channels(), 6);
/// # Ok::<(), bnbound::model::Error>(())
/// ```
pub fn load_file(path: impl AsRef<Path>) -> Result<Vec<ModelLayer>> {
    OnnxModel::open(path)?.layers().map(|(_, l)| l).collect()
}

/// Reads every BatchNormalization layer of an ONNX model held in memory; `base_dir` is
/// where external data files are (`None`: external data is an error). The first invalid
/// layer is an error; see [`OnnxModel::layer`] for the errors.
///
/// ```
/// let e = bnbound::model::onnx::load_bytes(b"\x0a\xff", None).unwrap_err();
/// assert!(matches!(e, bnbound::model::Error::Format(_)));
/// ```
pub fn load_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<Vec<ModelLayer>> {
    OnnxModel::from_bytes(bytes.to_vec(), base_dir)?
        .layers()
        .map(|(_, l)| l)
        .collect()
}

/// Decompresses a gzip stream (magic bytes `1f 8b`) within the expansion limit; other
/// bytes are returned as they are.
fn gunzip_if_compressed(bytes: Vec<u8>) -> Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let limit = (bytes.len() as u64)
        .saturating_mul(GZIP_RATIO)
        .saturating_add(GZIP_SLACK);
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Format(format!("corrupt gzip stream: {e}")))?;
    if out.len() as u64 > limit {
        return Err(Error::Format(format!(
            "the gzip stream expands beyond {limit} bytes ({GZIP_RATIO}× its size plus 16 MiB)"
        )));
    }
    Ok(out)
}
