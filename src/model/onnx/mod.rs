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
//! - the four statistics `scale`, `B`, `input_mean`, `input_var` are constants of rank 1:
//!   initializers (each defined once), or computed from constants by `Constant` (`value`,
//!   `value_floats`), `ConstantOfShape` of a constant one-element shape (`value` defaults
//!   to float 0; its length must equal the stored statistics', or be at most 2²⁰ when all
//!   four are such fills: nothing is allocated from a shape before that check) and
//!   `Identity`, at most 16 steps deep;
//! - an initializer also listed as a graph input (IR versions before 4 require it,
//!   `keep_initializers_as_inputs=True` exports do it) is read as the constant it holds,
//!   as onnxruntime does unless a feed overrides it, and the layer is marked
//!   [`ModelLayer::overridable`]; [`Options::strict_initializers`] refuses it instead. A
//!   graph input without an initializer has no value: an error;
//! - `training_mode` is absent or `0` (opset 14+); no output besides `Y` is used (the
//!   training form of opsets 9–14 has up to five outputs); no sixth input (the opset-12
//!   draft's `training_mode` input); `is_test = 1` when the model's opset is 6 or older
//!   (`is_test` defaults to `0`, training, there); `spatial` is absent or `1`;
//! - what onnxruntime refuses is refused, not guessed: an attribute given twice,
//!   float16/bfloat16 `int32_data` outside `0..=0xffff`, statistics not of rank 1; and two
//!   different opset versions of the default domain (onnxruntime follows the last one).
//!
//! A node without a name is named by its first output tensor.
//!
//! [`ModelLayer::storage`] is the statistics' 16-bit type, unless the node's input X is
//! float16 or bfloat16 and the layer is `f32` (its statistics and ε are `f32` values):
//! BatchNormalization-15 allows X to differ from the statistics, and the layer's outputs
//! then have X's 16-bit type. (A `double` layer keeps `None`.) X's type is the declared one
//! (a graph input, a `value_info`, a graph output), else the one ONNX's type constraints
//! give it through the nodes that compute it (`types.rs`: elementwise ops, Conv, Gemm,
//! pooling, reshaping... up to a `Cast`, a `Constant`, an initializer or a declaration; at
//! most 256 tensors visited). If neither tells it at opset 15 or later,
//! [`ModelLayer::x_type_known`] is `false`: the layer's arithmetic type is unknown.
//!
//! [`ModelLayer::ort_unfused`] says which condition of onnxruntime's ConvBNFusion the graph
//! breaks, if any (`fold --runtime onnxruntime-cpu` claims its fused weights only where
//! none is broken).

use super::error::{Error, Result};
mod node;
mod proto;
mod resolve;
mod tensor;
mod types;

use node::{entry, is_batchnorm, node_name, Entry};
use proto::{ModelProto, NodeProto, TensorHead, TensorName, ValueInfoProto};
use resolve::{resolve, Ctx, Kind, Producer, Source, FILL_BUDGET, MAX_DEPTH};
use tensor::tensor_values;

use super::{build, ModelLayer, Options, ProducerOp, Stat};
use crate::error::short;
use crate::num::round::storage::Storage;
use prost::bytes::Bytes;
use prost::Message;
use std::collections::{HashMap, HashSet};
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

/// An ONNX model's BatchNorm layers, indexed in one pass and loaded one at a time: what
/// [`crate::model::Model::open`] gives for an ONNX model ([`crate::model::Model::Onnx`]).
///
/// ```
/// use bnbound::model::{Model, Options};
/// let Model::Onnx(m) = Model::open("tests/data/conv_bn_relu_f32.onnx", &Options::default())? else {
///     unreachable!("an .onnx file is read as ONNX")
/// };
/// assert_eq!(m.names().collect::<Vec<_>>(), ["bn1"]);
/// let layer = m.layer("bn1")?;
/// assert_eq!((layer.producer.as_deref(), layer.bn.channels()), (Some("conv1"), 6));
/// # Ok::<(), bnbound::model::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OnnxModel {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    /// How each tensor a layer needs is defined (initializers, graph inputs, producers).
    sources: HashMap<String, Source>,
    options: Options,
    /// The model's folder, canonical; external data must resolve inside it.
    base_dir: Option<PathBuf>,
}

impl OnnxModel {
    /// Reads and indexes the model at `path` with `options` ([`crate::model::Model::open`]
    /// documents the format and the errors): an ONNX protobuf, or one compressed with gzip
    /// (recognised by its magic bytes). External data files are looked up in the model's
    /// folder and must resolve inside it.
    pub(crate) fn open(path: &Path, options: &Options) -> Result<OnnxModel> {
        let (bytes, base) = read_model(path)?;
        Ok(Self::index(bytes, Some(base), None)?.with_options(options))
    }

    /// The model read with `options` from now on (they take effect when a layer loads).
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let p = "tests/data/multi_initializer_is_input.onnx";
    /// let Model::Onnx(m) = Model::open(p, &Options::default())? else { unreachable!() };
    /// assert!(m.layer("other").is_ok());
    /// let m = m.with_options(&Options::default().strict_initializers(true));
    /// assert!(m.layer("other").is_err());
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn with_options(mut self, options: &Options) -> OnnxModel {
        let _env = crate::num::round::env::enter();
        self.options = *options;
        self
    }

    /// Loads the one layer `name` of the model at `path`, keeping no state for the other
    /// layers ([`crate::model::Model::open_layer`]): the graph is scanned for that node
    /// alone, so memory is the file's bytes plus that layer.
    pub(crate) fn open_layer(path: &Path, name: &str, options: &Options) -> Result<ModelLayer> {
        let (bytes, base) = read_model(path)?;
        let one = Self::index(bytes, Some(base), Some(name))?.with_options(options);
        match one.entries.first() {
            Some(_) => one.layer(name),
            // Only now list the model's layers, for the message.
            None => Self::open(path, options)?.layer(name),
        }
    }

    /// Indexes a model held in memory (plain or gzip-compressed); `base_dir` is the folder
    /// external data files are in (`None`: external data is an error).
    pub(crate) fn from_bytes(bytes: Vec<u8>, base_dir: Option<&Path>) -> Result<OnnxModel> {
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
    /// the graph, plus one per Identity/ConstantOfShape step when a statistic is computed;
    /// the state kept is per indexed node and tensor it needs, except when an X's type is
    /// declared nowhere: inferring it indexes each tensor's producer and declared type
    /// (bounded by the file's size, not by any count it states).
    fn index(bytes: Vec<u8>, base_dir: Option<PathBuf>, only: Option<&str>) -> Result<OnnxModel> {
        let bytes = gunzip_if_compressed(bytes)?;
        let model = ModelProto::decode(Bytes::from(bytes))
            .map_err(|e| Error::Format(format!("not an ONNX model: {e}")))?;
        let graph = model
            .graph
            .ok_or_else(|| Error::Format("the model has no graph".to_string()))?;
        let default_opsets: Vec<i64> = model
            .opset_import
            .iter()
            .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version)
            .collect();
        let opset = default_opsets.iter().copied().max();
        // Two different versions of the default domain: which one a runtime uses is a
        // guess (onnxruntime 1.32 takes the last listed), and BatchNormalization's meaning
        // depends on it (is_test before opset 7, training outputs before 14).
        let opset_problem = match default_opsets.as_slice() {
            [first, rest @ ..] if rest.iter().any(|v| v != first) => Some(format!(
                "the model imports the default ONNX domain {} times, at opsets {:?}: which \
                 one the node follows is ambiguous",
                default_opsets.len(),
                default_opsets
            )),
            _ => None,
        };
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
                let mut e = entry(&node, opset);
                if let Some(p) = &opset_problem {
                    e.problem = Some(Error::UnsupportedNode {
                        node: short(&e.name),
                        reason: p.clone(),
                    });
                }
                entries.push(e);
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
        // Every tensor name a layer needs, and how it is defined.
        let mut sources: HashMap<String, Source> = HashMap::new();
        let mut inputs_of: HashMap<String, Vec<usize>> = HashMap::new();
        let mut outputs_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (_, x, y)) in bn_nodes.iter_mut().enumerate() {
            for s in &entries[i].stats {
                sources.entry(s.clone()).or_default();
            }
            if let Some(x) = x.take() {
                inputs_of.entry(x).or_default().push(i);
            }
            if let Some(y) = y.take() {
                outputs_of.entry(y).or_default().push(i);
            }
        }
        let mut frontier: HashSet<String> = sources.keys().cloned().collect();
        let mut next: HashSet<String> = HashSet::new();

        // Pass 2: every node's name, inputs and outputs; the statistics' producers.
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
            record_producer(&node, &name, &frontier, &mut sources, &mut next);
            for out in &node.output {
                for &i in inputs_of.get(out).into_iter().flatten() {
                    if entries[i].producer.is_none() {
                        entries[i].producer = Some(name.clone());
                        entries[i].x_type = cast_to(&node);
                        entries[i].producer_op = Some(producer_op(&node));
                        entries[i].weight = node.input.get(1).filter(|w| !w.is_empty()).cloned();
                        entries[i].producer_inputs = node.input.clone();
                    }
                }
            }
            for inp in &node.input {
                for &i in outputs_of.get(inp).into_iter().flatten() {
                    entries[i].consumers.push(name.clone());
                }
                for &i in inputs_of.get(inp).into_iter().flatten() {
                    entries[i].x_uses += 1;
                }
            }
        }
        // One more pass per Identity/ConstantOfShape step, only while there are steps.
        for _ in 0..MAX_DEPTH {
            if next.is_empty() {
                break;
            }
            for n in &next {
                sources.entry(n.clone()).or_default();
            }
            frontier = std::mem::take(&mut next);
            for raw in &graph.node {
                let node = NodeProto::decode(raw.clone()).map_err(|e| format("node", e))?;
                record_producer(&node, &node_name(&node), &frontier, &mut sources, &mut next);
            }
        }
        // The producers' weights: only their dims are read.
        let mut weights: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter_mut().enumerate() {
            e.producer_op.get_or_insert(ProducerOp::GraphInput);
            if let Some(w) = &e.weight {
                weights.entry(w.clone()).or_default().push(i);
            }
        }
        let mut weight_inits: HashMap<&str, usize> = HashMap::new();
        // The producers' weights and biases as onnxruntime's ConvBNFusion reads them.
        let mut producer_consts: HashMap<String, Vec<TensorHead>> = HashMap::new();
        for e in &entries {
            for w in e.producer_inputs.iter().skip(1).take(2) {
                producer_consts.insert(w.clone(), Vec::new());
            }
        }
        for raw in &graph.initializer {
            let t = TensorName::decode(raw.clone()).map_err(|e| format("initializer", e))?;
            if let Some(v) = producer_consts.get_mut(&t.name) {
                // At most two are kept: a second one already makes the name ambiguous.
                if v.len() < 2 {
                    v.push(TensorHead::decode(raw.clone()).map_err(|e| format("initializer", e))?);
                }
            }
            if let Some(u) = sources.get_mut(&t.name) {
                u.inits += 1;
                u.tensor = Some(raw.clone());
            }
            if let Some((w, users)) = weights.get_key_value(&t.name) {
                let head = TensorHead::decode(raw.clone()).map_err(|e| format("initializer", e))?;
                let n = weight_inits.entry(w.as_str()).or_default();
                *n += 1;
                for &i in users {
                    // A weight defined twice has no dims to trust.
                    entries[i].weight_dims = (*n == 1).then(|| head.dims.clone());
                }
            }
        }
        // Declared element types of the layers' inputs X (a declaration beats a Cast).
        let mut graph_inputs: HashSet<String> = HashSet::new();
        let declared = graph
            .input
            .iter()
            .chain(&graph.value_info)
            .chain(&graph.output);
        let first_output = graph.input.len() + graph.value_info.len();
        for (k, raw) in declared.enumerate() {
            let v = ValueInfoProto::decode(raw.clone()).map_err(|e| format("value info", e))?;
            if k < graph.input.len() {
                if let Some(u) = sources.get_mut(&v.name) {
                    u.input = true;
                }
                graph_inputs.insert(v.name.clone());
            }
            if k >= first_output {
                for &i in inputs_of.get(&v.name).into_iter().flatten() {
                    entries[i].x_is_output = true;
                }
            }
            let elem = v.r#type.and_then(|t| t.tensor_type).map(|t| t.elem_type);
            for &i in inputs_of.get(&v.name).into_iter().flatten() {
                if let Some(t) = elem.filter(|&t| t != 0) {
                    entries[i].x_type = Some(t);
                }
            }
        }
        // X's element type where the graph does not declare it: inferred through the ops
        // whose output type is an input's.
        if entries.iter().any(|e| e.x_type.is_none() && e.x.is_some()) {
            let types = types::Types::new(&graph);
            for e in entries.iter_mut().filter(|e| e.x_type.is_none()) {
                e.x_type = e.x.as_deref().and_then(|x| types.of(x));
            }
        }
        for e in entries.iter_mut() {
            e.fusion = conv_bn_fusion(e, &producer_consts, &graph_inputs);
            e.weight_overridable = e.producer_inputs.iter().skip(1).take(2).any(|w| {
                graph_inputs.contains(w) && producer_consts.get(w).is_some_and(|v| !v.is_empty())
            });
        }
        Ok(OnnxModel {
            entries,
            by_name,
            sources,
            base_dir,
            options: Options::default(),
        })
    }

    /// The names of the model's BatchNorm layers, in graph order (valid or not).
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let p = "tests/data/bn_training_mode.onnx";
    /// let Model::Onnx(m) = Model::open(p, &Options::default())? else { unreachable!() };
    /// assert_eq!(m.names().collect::<Vec<_>>(), ["bntrain"]);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// Loads the layer named `name`: its statistics are decoded (and read from external
    /// data) now, exactly.
    ///
    /// Errors: [`Error::UnknownLayer`]; for that layer only, wrapped in [`Error::Layer`]
    /// naming it: [`Error::UnsupportedNode`]
    /// (training forms, statistics that are graph inputs without an initializer or outputs
    /// of non-constant nodes, overridable statistics under strict initializers, statistics
    /// not of rank 1, missing inputs, `spatial = 0`), [`Error::DuplicateName`], [`Error::MissingTensor`],
    /// [`Error::UnsupportedTensorType`], [`Error::TensorLength`], [`Error::Format`]
    /// (malformed tensor, unreadable external data), [`Error::ExternalDataOutside`], and
    /// the parameter errors of [`crate::BatchNorm::new`].
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let p = "tests/data/bn_training_mode.onnx";
    /// let Model::Onnx(m) = Model::open(p, &Options::default())? else { unreachable!() };
    /// let e = m.layer("bntrain").unwrap_err();
    /// assert!(matches!(e.inner(), bnbound::model::Error::UnsupportedNode { .. }));
    /// assert_eq!(e.layer(), Some("bntrain"));
    /// assert!(matches!(m.layer("nope"), Err(bnbound::model::Error::UnknownLayer { .. })));
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn layer(&self, name: &str) -> Result<ModelLayer> {
        let _env = crate::num::round::env::enter();
        match self.by_name.get(name) {
            Some(&i) => self.load(&self.entries[i]),
            None => Err(super::unknown_layer(name, self.names())),
        }
    }

    /// Every layer in graph order, each loaded when the iterator reaches it, with its own
    /// result (an invalid layer does not stop the others).
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let p = "tests/data/conv_bn_relu_f32.onnx";
    /// let Model::Onnx(m) = Model::open(p, &Options::default())? else { unreachable!() };
    /// let all: Vec<_> = m.layers().collect();
    /// assert!(all.len() == 1 && all[0].1.is_ok());
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn layers(&self) -> impl Iterator<Item = (&str, Result<ModelLayer>)> + '_ {
        self.entries.iter().map(|e| (e.name.as_str(), self.load(e)))
    }

    /// Loads entry `e`; every error names the layer.
    fn load(&self, e: &Entry) -> Result<ModelLayer> {
        let _env = crate::num::round::env::enter();
        self.load_unnamed(e).map_err(|err| err.in_layer(&e.name))
    }

    /// The rest of onnxruntime's ConvBNFusion conditions, on the statistics: each is an
    /// initializer itself (not a node's output, not a graph input), all of one type, float
    /// or double, the Conv weight's type, and the weight has the layer's channel count.
    fn stats_fusion(
        &self,
        e: &Entry,
        types: &[i32],
        channels: usize,
    ) -> std::result::Result<(), String> {
        let (dims, wtype) = e.fusion.clone()?;
        for name in &e.stats {
            match self.sources.get(name) {
                Some(s) if s.inits == 1 && s.producers == 0 && !s.input => {}
                Some(s) if s.inits == 1 && s.input => {
                    return Err(format!(
                        "statistic {:?} is an initializer also listed as a graph input                          (overridable): not a constant to ONNX Runtime's optimizer",
                        short(name)
                    ))
                }
                _ => {
                    return Err(format!(
                        "statistic {:?} is not an initializer (a node computes it; whether ONNX \
                         Runtime folds that node before fusing is not replayed)",
                        short(name)
                    ))
                }
            }
        }
        if types.iter().any(|&t| t != wtype) {
            return Err(format!(
                "the statistics' element types {types:?} are not all the Conv weight's ({wtype})"
            ));
        }
        if usize::try_from(dims[0]).ok() != Some(channels) {
            return Err(format!(
                "the Conv's weight has {} output channels, the layer {channels}",
                dims[0]
            ));
        }
        Ok(())
    }

    fn load_unnamed(&self, e: &Entry) -> Result<ModelLayer> {
        if let Some(p) = &e.problem {
            return Err(p.clone());
        }
        let ctx = Ctx {
            layer: &e.name,
            strict: self.options.strict_initializers,
            base_dir: self.base_dir.as_deref(),
        };
        let mut resolved = Vec::with_capacity(4);
        for name in &e.stats {
            let r = resolve(&self.sources, name, &ctx, 0)?;
            let rank = match &r.kind {
                Kind::Tensor(t) => t.dims.len(),
                Kind::Floats(_, rank) => *rank,
                Kind::Fill { .. } => 1,
            };
            if rank != 1 {
                return Err(Error::UnsupportedNode {
                    node: short(&e.name),
                    reason: format!(
                        "statistic {:?} has rank {rank}: BatchNormalization's statistics have \
                         rank 1 (one value per channel)",
                        short(name)
                    ),
                });
            }
            resolved.push(r);
        }
        let overridable = resolved.iter().any(|r| r.overridable);
        // Stored statistics first: their lengths are bounded by the file; a
        // ConstantOfShape's count (from the file, unbounded) must then equal theirs.
        let mut stats: Vec<Option<Stat>> = vec![None; resolved.len()];
        for (k, r) in resolved.iter().enumerate() {
            stats[k] = match &r.kind {
                Kind::Tensor(t) => Some(tensor_values(t, self.base_dir.as_deref())?),
                Kind::Floats(v, _) => {
                    Some(super::ElemKind::F32.stat(v.iter().map(|&x| x as f64).collect()))
                }
                Kind::Fill { .. } => None,
            };
        }
        let known = stats.iter().flatten().next().map(|s| s.values.len());
        for (k, r) in resolved.iter().enumerate() {
            if let Kind::Fill { count, value } = &r.kind {
                let channels = known.unwrap_or(*count);
                if *count != channels {
                    return Err(Error::TensorLength {
                        tensor: short(&e.stats[k]),
                        expected: channels,
                        found: *count,
                    });
                }
                if channels > FILL_BUDGET {
                    return Err(Error::UnsupportedNode {
                        node: short(&e.name),
                        reason: format!(
                            "statistic {:?} is a ConstantOfShape of {count} elements and no \
                             statistic of the layer is stored to confirm that channel count \
                             (at most {FILL_BUDGET} are built from a shape alone)",
                            short(&e.stats[k])
                        ),
                    });
                }
                let v = value.values[0];
                stats[k] = Some(Stat {
                    values: vec![v; channels],
                    ..value.clone()
                });
            }
        }
        let stats: [Stat; 4] = stats
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| Error::Format("a BatchNorm layer needs four statistics".into()))?;
        let names = [0, 1, 2, 3].map(|k| e.stats[k].as_str());
        let stat_types: Vec<i32> = resolved
            .iter()
            .map(|r| match &r.kind {
                Kind::Tensor(t) => t.data_type,
                _ => 0,
            })
            .collect();
        let (bn, stored_as, storage) = build(stats, e.eps, names)?;
        let ort_unfused = self.stats_fusion(e, &stat_types, bn.channels()).err();
        // BatchNormalization-15 lets X (and Y) have another type than the statistics: a
        // 16-bit X makes an f32 layer's outputs 16-bit whatever the statistics' type.
        let f32_layer = matches!(bn, crate::layer::params::AnyBatchNorm::F32(_));
        let storage = match e.x_type {
            Some(10) if f32_layer => Some(Storage::F16),
            Some(16) if f32_layer => Some(Storage::Bf16),
            _ => storage,
        };
        Ok(ModelLayer {
            name: e.name.clone(),
            producer: e.producer.clone(),
            producer_op: e.producer_op.clone(),
            producer_weight_dims: e
                .weight_dims
                .as_ref()
                .and_then(|d| d.iter().map(|&x| u64::try_from(x).ok()).collect()),
            consumers: e.consumers.clone(),
            stored_as,
            storage,
            x_type_known: e.x_type.is_some() || !e.x_may_differ,
            overridable,
            producer_weight_overridable: e.weight_overridable,
            ort_unfused,
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

/// Records `node` as the producer of each of its outputs in `frontier`; the tensor it
/// reads (Identity, ConstantOfShape) goes to `next` if it is not indexed yet.
fn record_producer(
    node: &NodeProto,
    name: &str,
    frontier: &HashSet<String>,
    sources: &mut HashMap<String, Source>,
    next: &mut HashSet<String>,
) {
    for out in node.output.iter().filter(|o| frontier.contains(*o)) {
        let Some(src) = sources.get_mut(out) else {
            continue;
        };
        src.producers += 1;
        if src.node.is_none() {
            let (p, reads) = Producer::of(node, name.to_string());
            src.node = Some(p);
            if let Some(r) = reads.filter(|r| !sources.contains_key(r)) {
                next.insert(r);
            }
        }
    }
}

/// What a layer's producer is, for folding the layer into it.
fn producer_op(node: &NodeProto) -> ProducerOp {
    let default_domain = node.domain.is_empty() || node.domain == "ai.onnx";
    let int = |name: &str| node.attribute.iter().find(|a| a.name == name).map(|a| a.i);
    match node.op_type.as_str() {
        "Conv" if default_domain => ProducerOp::Conv,
        "Gemm" if default_domain => ProducerOp::Gemm {
            trans_b: int("transB").unwrap_or(0) != 0,
        },
        "MatMul" if default_domain => ProducerOp::MatMul,
        _ if default_domain => ProducerOp::Other(short(&node.op_type)),
        _ => ProducerOp::Other(format!("{}::{}", short(&node.domain), short(&node.op_type))),
    }
}

/// Whether onnxruntime's ConvBNFusion (`conv_bn_fusion.cc`) can apply to the layer, from
/// the graph's structure and the producer's weight and bias: `Err(reason)` if it does not,
/// `Ok(weight)` (the weight's dims and element type) to be checked against the statistics
/// when the layer is loaded.
fn conv_bn_fusion(
    e: &Entry,
    consts: &HashMap<String, Vec<TensorHead>>,
    graph_inputs: &HashSet<String>,
) -> std::result::Result<(Vec<i64>, i32), String> {
    if e.producer_op != Some(ProducerOp::Conv) {
        return Err(format!(
            "the producer is {}, not a Conv: bnbound checks only ONNX Runtime's              Conv→BatchNormalization fusion (conv_bn_fusion), not its MatMul/Gemm one",
            e.producer_op
                .as_ref()
                .map_or("unknown".to_string(), |o| format!("a {}", short(o.op_type())))
        ));
    }
    if e.x_uses != 1 {
        return Err(format!(
            "the Conv output has {} consumers (node inputs reading it)",
            e.x_uses
        ));
    }
    if e.x_is_output {
        return Err("the Conv output is also a graph output".to_string());
    }
    if !e.eps_typed_float {
        return Err("the epsilon attribute is not typed FLOAT".to_string());
    }
    let constant = |what: &str, name: &str| -> std::result::Result<&TensorHead, String> {
        match consts.get(name).map(Vec::as_slice) {
            _ if name.is_empty() => Err(format!("the Conv's {what} input is empty")),
            Some([_]) if graph_inputs.contains(name) => Err(format!(
                    "the Conv's {what} {:?} is an initializer also listed as a graph input                      (overridable): not a constant to ONNX Runtime's optimizer",
                short(name)
            )),
            Some([t]) => Ok(t),
            Some([]) | None => Err(format!(
                "the Conv's {what} {:?} is not an initializer (whether ONNX Runtime folds \
                 the node computing it before fusing is not replayed)",
                short(name)
            )),
            Some(_) => Err(format!(
                "the Conv's {what} {:?} is defined by several initializers",
                short(name)
            )),
        }
    };
    let w = constant(
        "weight",
        e.producer_inputs.get(1).map_or("", String::as_str),
    )?;
    if !matches!(w.data_type, 1 | 11) {
        return Err(format!(
            "the Conv's weight has element type {} (ONNX Runtime fuses float and double only)",
            w.data_type
        ));
    }
    if w.dims.len() <= 2 {
        return Err(format!(
            "the Conv's weight has rank {} (ONNX Runtime fuses rank > 2 only)",
            w.dims.len()
        ));
    }
    if e.producer_inputs.len() >= 3 {
        let b = constant("bias", &e.producer_inputs[2])?;
        if b.data_type != w.data_type || b.dims.len() != 1 || b.dims[0] != w.dims[0] {
            return Err(format!(
                "the Conv's bias (element type {}, dims {:?}) does not match its weight                  (element type {}, {} output channels)",
                b.data_type, b.dims, w.data_type, w.dims[0]
            ));
        }
    }
    Ok((w.dims.clone(), w.data_type))
}

/// The element type a `Cast` node converts to.
fn cast_to(node: &NodeProto) -> Option<i32> {
    let default_domain = node.domain.is_empty() || node.domain == "ai.onnx";
    (node.op_type == "Cast" && default_domain)
        .then(|| node.attribute.iter().find(|a| a.name == "to"))
        .flatten()
        .and_then(|a| i32::try_from(a.i).ok())
}

fn duplicate(kind: &'static str, name: &str) -> Error {
    Error::DuplicateName {
        kind,
        name: short(name),
    }
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
