//! The element type of a tensor the graph does not declare, inferred the way ONNX's type
//! constraints fix it: through ops whose output type is one of their inputs' type
//! (elementwise ops, Conv, Gemm, pooling, reshaping...), up to a `Cast` (its `to`), a
//! `Constant` or an initializer (their own type), or a declared tensor (graph input,
//! `value_info`, graph output). At most [`MAX_STEPS`] tensors are visited per query, each
//! once (cycles in a hostile graph end there too); the search is iterative.

use super::proto::{GraphProto, NodeProto, TensorHead, TensorName, ValueInfoProto};
use prost::Message;
use std::collections::{HashMap, HashSet, VecDeque};

/// Tensors visited per query, at most.
pub(super) const MAX_STEPS: usize = 256;

/// ONNX `TensorProto.DataType.FLOAT` (a `Constant`'s `value_float(s)`).
const FLOAT: i32 = 1;

/// The inputs of `node` (default domain) whose element type its first output has, by ONNX's
/// type constraints (`T` shared by these inputs and the output); `None` for other ops.
fn same_type_inputs(node: &NodeProto) -> Option<Vec<usize>> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return None;
    }
    let all = || (0..node.input.len()).collect::<Vec<_>>();
    Some(match node.op_type.as_str() {
        "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "Neg" | "Abs" | "Identity" | "Dropout"
        | "Elu" | "Selu" | "Softplus" | "Softsign" | "HardSigmoid" | "HardSwish" | "Exp"
        | "Log" | "Sqrt" | "Reciprocal" | "Floor" | "Ceil" | "Round" | "Erf" | "Softmax"
        | "LogSoftmax" | "Pow" | "BatchNormalization" | "LayerNormalization" | "MaxPool"
        | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" | "LpPool" | "Pad" | "Reshape"
        | "Flatten" | "Transpose" | "Squeeze" | "Unsqueeze" | "Resize" | "Upsample" | "Slice"
        | "Expand" | "Tile" | "Gather" | "Split" | "DepthToSpace" | "SpaceToDepth"
        | "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "Clip" => vec![0],
        "Add"
        | "Sub"
        | "Mul"
        | "Div"
        | "Max"
        | "Min"
        | "Sum"
        | "Mean"
        | "Concat"
        | "PRelu"
        | "Conv"
        | "ConvTranspose"
        | "Gemm"
        | "MatMul"
        | "InstanceNormalization" => all(),
        _ => return None,
    })
}

/// What a producer says about its output's type: the type itself, or inputs to look at.
enum Step {
    Type(i32),
    Inputs(Vec<String>),
    Unknown,
}

fn step(node: &NodeProto, output: &str) -> Step {
    let default_domain = node.domain.is_empty() || node.domain == "ai.onnx";
    let position = node.output.iter().position(|o| o == output);
    // Only the first output has the type T (MaxPool's Indices, Dropout's mask, the
    // training outputs of BatchNormalization do not); every output of Split does.
    let first = position == Some(0) || (position.is_some() && node.op_type == "Split");
    if !default_domain || !first {
        return Step::Unknown;
    }
    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
    match node.op_type.as_str() {
        "Cast" => attr("to")
            .and_then(|a| i32::try_from(a.i).ok())
            .map_or(Step::Unknown, Step::Type),
        "CastLike" => Step::Inputs(node.input.get(1).cloned().into_iter().collect()),
        "Constant" => {
            if let Some(t) = attr("value").and_then(|a| a.t.clone()) {
                match TensorHead::decode(t) {
                    Ok(h) if h.data_type != 0 => Step::Type(h.data_type),
                    _ => Step::Unknown,
                }
            } else if attr("value_float").is_some() || attr("value_floats").is_some() {
                Step::Type(FLOAT)
            } else {
                Step::Unknown
            }
        }
        _ => match same_type_inputs(node) {
            Some(ix) => Step::Inputs(
                ix.into_iter()
                    .filter_map(|k| node.input.get(k))
                    .filter(|n| !n.is_empty())
                    .cloned()
                    .collect(),
            ),
            None => Step::Unknown,
        },
    }
}

/// The graph's tensors as the search needs them: declared and initializer types, and the
/// node producing each tensor (`None` when several nodes claim it).
pub(super) struct Types<'g> {
    graph: &'g GraphProto,
    declared: HashMap<String, i32>,
    producer: HashMap<String, Option<usize>>,
}

impl<'g> Types<'g> {
    /// Indexes `graph` (one pass over its nodes, initializers and declarations; memory
    /// bounded by the file's size). Malformed entries are skipped: the loader reports them.
    pub(super) fn new(graph: &'g GraphProto) -> Types<'g> {
        let mut declared = HashMap::new();
        for raw in &graph.initializer {
            if let (Ok(h), Ok(n)) = (
                TensorHead::decode(raw.clone()),
                TensorName::decode(raw.clone()),
            ) {
                if h.data_type != 0 {
                    declared.insert(n.name, h.data_type);
                }
            }
        }
        for raw in graph
            .input
            .iter()
            .chain(&graph.value_info)
            .chain(&graph.output)
        {
            if let Ok(v) = ValueInfoProto::decode(raw.clone()) {
                let elem = v.r#type.and_then(|t| t.tensor_type).map(|t| t.elem_type);
                if let Some(t) = elem.filter(|&t| t != 0) {
                    declared.insert(v.name, t);
                }
            }
        }
        let mut producer: HashMap<String, Option<usize>> = HashMap::new();
        for (k, raw) in graph.node.iter().enumerate() {
            if let Ok(node) = NodeProto::decode(raw.clone()) {
                for o in node.output.into_iter().filter(|o| !o.is_empty()) {
                    producer
                        .entry(o)
                        .and_modify(|p| *p = None)
                        .or_insert(Some(k));
                }
            }
        }
        Types {
            graph,
            declared,
            producer,
        }
    }

    /// The element type of tensor `name`: declared, an initializer's, or inferred through
    /// at most [`MAX_STEPS`] tensors; `None` if it cannot be told.
    pub(super) fn of(&self, name: &str) -> Option<i32> {
        let mut queue = VecDeque::from([name.to_string()]);
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(t) = queue.pop_front() {
            if seen.len() >= MAX_STEPS {
                return None;
            }
            if !seen.insert(t.clone()) {
                continue;
            }
            if let Some(&ty) = self.declared.get(&t) {
                return Some(ty);
            }
            let Some(&Some(k)) = self.producer.get(&t) else {
                continue;
            };
            let Ok(node) = NodeProto::decode(self.graph.node[k].clone()) else {
                continue;
            };
            match step(&node, &t) {
                Step::Type(ty) => return Some(ty),
                Step::Inputs(v) => queue.extend(v),
                Step::Unknown => {}
            }
        }
        None
    }
}
