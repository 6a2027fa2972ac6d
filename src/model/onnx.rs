//! ONNX models (feature `onnx`): every `BatchNormalization` node with its statistics.
//!
//! The protobuf messages below are the subset of `onnx.proto` (IR version 3 and later) that
//! BatchNorm needs, declared with `prost` field tags; every other field is skipped. Tensor
//! data may be `raw_data` (little-endian), the typed fields (`float_data`, `double_data`,
//! `int32_data` holding float16/bfloat16 bits) or an external data file next to the model.

use super::{build, decode_le, ElemKind, ModelLayer, Stat};
use crate::error::{Error, Result};
use prost::Message;
use std::path::{Component, Path};

/// `onnx.ModelProto` (subset).
#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

/// `onnx.GraphProto` (subset).
#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfoProto>,
}

/// `onnx.NodeProto` (subset).
#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
    #[prost(string, tag = "7")]
    domain: String,
}

/// `onnx.AttributeProto` (subset).
#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(float, tag = "2")]
    f: f32,
    #[prost(int64, tag = "3")]
    i: i64,
    #[prost(int32, tag = "20")]
    r#type: i32,
}

/// `onnx.ValueInfoProto` (subset).
#[derive(Clone, PartialEq, Message)]
struct ValueInfoProto {
    #[prost(string, tag = "1")]
    name: String,
}

/// `onnx.StringStringEntryProto`.
#[derive(Clone, PartialEq, Message)]
struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// `onnx.TensorProto` (subset).
#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    int32_data: Vec<i32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
    #[prost(double, repeated, tag = "10")]
    double_data: Vec<f64>,
    #[prost(message, repeated, tag = "13")]
    external_data: Vec<StringStringEntryProto>,
    #[prost(int32, tag = "14")]
    data_location: i32,
}

/// ONNX `AttributeProto.AttributeType` values used here.
const ATTR_FLOAT: i32 = 1;
const ATTR_INT: i32 = 2;

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

/// Reads every BatchNormalization layer of the ONNX model at `path` (external data files
/// are looked up next to it).
///
/// ```
/// let layers = bnbound::model::onnx::load_file("tests/data/conv_bn_relu_f32.onnx")?;
/// assert_eq!(layers.len(), 1);
/// assert_eq!(layers[0].consumers, vec!["relu1".to_string()]);
/// assert_eq!(layers[0].bn.channels(), 6);
/// # Ok::<(), bnbound::Error>(())
/// ```
pub fn load_file(path: impl AsRef<Path>) -> Result<Vec<ModelLayer>> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| Error::ModelFormat(format!("{}: {e}", path.display())))?;
    load_bytes(&bytes, path.parent())
}

/// Reads every BatchNormalization layer of an ONNX model held in memory; `base_dir` is
/// where external data files are (`None`: external data is an error).
///
/// Errors: [`Error::ModelFormat`] (not a protobuf model, no graph, unreadable external
/// data), [`Error::UnsupportedNode`] (`training_mode = 1`, a statistic that is a graph input
/// or the output of another node, fewer than five inputs), [`Error::MissingTensor`],
/// [`Error::UnsupportedTensorType`], [`Error::TensorLength`], and the parameter errors of
/// [`crate::BatchNorm::new`].
///
/// ```
/// let e = bnbound::model::onnx::load_bytes(b"\x0a\xff", None).unwrap_err();
/// assert!(matches!(e, bnbound::Error::ModelFormat(_)));
/// ```
pub fn load_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<Vec<ModelLayer>> {
    let model = ModelProto::decode(bytes)
        .map_err(|e| Error::ModelFormat(format!("not an ONNX model: {e}")))?;
    let graph = model
        .graph
        .ok_or_else(|| Error::ModelFormat("the model has no graph".to_string()))?;
    let mut layers = Vec::new();
    for node in graph.node.iter().filter(|n| is_batchnorm(n)) {
        layers.push(layer(&graph, node, base_dir)?);
    }
    Ok(layers)
}

fn is_batchnorm(n: &NodeProto) -> bool {
    n.op_type == "BatchNormalization" && (n.domain.is_empty() || n.domain == "ai.onnx")
}

fn node_name(n: &NodeProto) -> String {
    if n.name.is_empty() {
        n.output.first().cloned().unwrap_or_default()
    } else {
        n.name.clone()
    }
}

fn layer(graph: &GraphProto, node: &NodeProto, base_dir: Option<&Path>) -> Result<ModelLayer> {
    let name = node_name(node);
    let unsupported = |reason: String| Error::UnsupportedNode {
        node: name.clone(),
        reason,
    };
    let mut eps = 1e-5f32 as f64;
    for a in &node.attribute {
        match (a.name.as_str(), a.r#type) {
            ("epsilon", ATTR_FLOAT | 0) => eps = a.f as f64,
            ("training_mode", ATTR_INT | 0) if a.i != 0 => {
                return Err(unsupported(
                    "training_mode = 1: batch statistics are not an affine map".to_string(),
                ))
            }
            ("epsilon", t) | ("training_mode", t) => {
                return Err(unsupported(format!("attribute {:?} has type {t}", a.name)))
            }
            _ => {}
        }
    }
    if node.input.len() < 5 {
        return Err(unsupported(format!(
            "{} inputs, expected X, scale, B, input_mean, input_var",
            node.input.len()
        )));
    }
    let stat_names = [
        &node.input[1],
        &node.input[2],
        &node.input[3],
        &node.input[4],
    ];
    let mut stats = Vec::with_capacity(4);
    for &s in &stat_names {
        let t = match graph.initializer.iter().find(|t| &t.name == s) {
            Some(t) => t,
            None if graph.input.iter().any(|i| &i.name == s) => {
                return Err(unsupported(format!(
                    "statistic {s:?} is a graph input, not an initializer: its value is not in the model"
                )))
            }
            None if graph.node.iter().any(|n| n.output.contains(s)) => {
                return Err(unsupported(format!(
                    "statistic {s:?} is computed by another node, not an initializer"
                )))
            }
            None => return Err(Error::MissingTensor(s.clone())),
        };
        stats.push(tensor_values(t, base_dir)?);
    }
    let stats: [Stat; 4] = stats.try_into().expect("four statistics");
    let names = stat_names.map(|s| s.as_str());
    let (bn, stored_as) = build(stats, eps, names)?;
    let producer = graph
        .node
        .iter()
        .find(|n| n.output.contains(&node.input[0]))
        .map(node_name);
    let consumers = match node.output.first() {
        Some(y) if !y.is_empty() => graph
            .node
            .iter()
            .filter(|n| n.input.contains(y))
            .map(node_name)
            .collect(),
        _ => Vec::new(),
    };
    Ok(ModelLayer {
        name,
        producer,
        consumers,
        stored_as,
        bn,
    })
}

/// The values of a float tensor, exactly.
fn tensor_values(t: &TensorProto, base_dir: Option<&Path>) -> Result<Stat> {
    let kind = match t.data_type {
        1 => ElemKind::F32,
        11 => ElemKind::F64,
        10 => ElemKind::F16,
        16 => ElemKind::Bf16,
        other => {
            return Err(Error::UnsupportedTensorType {
                tensor: t.name.clone(),
                dtype: type_name(other),
            })
        }
    };
    let stat = if t.data_location == 1 {
        decode_le(&external_bytes(t, base_dir)?, kind, &t.name)?
    } else if !t.raw_data.is_empty() {
        decode_le(&t.raw_data, kind, &t.name)?
    } else {
        let values: Vec<f64> = match kind {
            ElemKind::F32 => t.float_data.iter().map(|&x| x as f64).collect(),
            ElemKind::F64 => t.double_data.clone(),
            ElemKind::F16 => t
                .int32_data
                .iter()
                .map(|&b| half::f16::from_bits(b as u16).to_f64())
                .collect(),
            ElemKind::Bf16 => t
                .int32_data
                .iter()
                .map(|&b| half::bf16::from_bits(b as u16).to_f64())
                .collect(),
        };
        kind.stat(values)
    };
    let expected: Option<usize> = t.dims.iter().try_fold(1usize, |a, &d| {
        usize::try_from(d).ok().and_then(|d| a.checked_mul(d))
    });
    if expected != Some(stat.values.len()) {
        return Err(Error::ModelFormat(format!(
            "tensor {:?}: dims {:?} do not match its {} values",
            t.name,
            t.dims,
            stat.values.len()
        )));
    }
    Ok(stat)
}

/// The bytes of an external-data tensor: `location` (relative, inside `base_dir`),
/// optional `offset` and `length`.
fn external_bytes(t: &TensorProto, base_dir: Option<&Path>) -> Result<Vec<u8>> {
    let bad = |m: String| Error::ModelFormat(format!("tensor {:?}: external data {m}", t.name));
    let get = |k: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.as_str())
    };
    let location = get("location").ok_or_else(|| bad("without a location".to_string()))?;
    let rel = Path::new(location);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(bad(format!(
            "location {location:?} is not a plain relative path"
        )));
    }
    let dir = base_dir.ok_or_else(|| bad("but no model directory is known".to_string()))?;
    let num = |k: &str| -> Result<Option<u64>> {
        get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(format!("{k} {v:?} is not a number")))
            })
            .transpose()
    };
    let (offset, length) = (num("offset")?.unwrap_or(0), num("length")?);
    let path = dir.join(rel);
    let data = std::fs::read(&path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let start = usize::try_from(offset).map_err(|_| bad("offset too large".to_string()))?;
    let end = match length {
        Some(l) => usize::try_from(l)
            .ok()
            .and_then(|l| start.checked_add(l))
            .ok_or_else(|| bad("length too large".to_string()))?,
        None => data.len(),
    };
    data.get(start..end).map(<[u8]>::to_vec).ok_or_else(|| {
        bad(format!(
            "range {start}..{end} is outside {} ({} bytes)",
            path.display(),
            data.len()
        ))
    })
}
