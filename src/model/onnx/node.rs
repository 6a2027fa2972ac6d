//! One `BatchNormalization` node: its name, its ε, its statistics' names, and why it is
//! not an inference BatchNorm when it is not.

use super::proto::NodeProto;
use crate::error::short;
use crate::model::error::Error;

/// ONNX `AttributeProto.AttributeType` values used here (0: written by old exporters that
/// leave the type out).
const ATTR_UNDEFINED: i32 = 0;
const ATTR_FLOAT: i32 = 1;
const ATTR_INT: i32 = 2;

/// One BatchNormalization node, as indexed.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) producer: Option<String>,
    /// The producer's kind, and its weight (second input) name and the dims of the
    /// initializer holding it.
    pub(super) producer_op: Option<crate::model::ProducerOp>,
    pub(super) weight: Option<String>,
    pub(super) weight_dims: Option<Vec<i64>>,
    pub(super) consumers: Vec<String>,
    pub(super) eps: f64,
    /// The statistics' tensor names (scale, B, mean, var).
    pub(super) stats: Vec<String>,
    /// The declared element type of the input X, if the graph declares it (a graph
    /// input, a `value_info`, a graph output, or the `to` of a `Cast` producer).
    pub(super) x_type: Option<i32>,
    /// Whether X may have another element type than the statistics (opset 15 and later,
    /// or no default-domain opset): then an unknown `x_type` is not the statistics' type.
    pub(super) x_may_differ: bool,
    /// The node's `epsilon` attribute is absent (onnxruntime fills in the default) or
    /// typed FLOAT (onnxruntime's ConvBNFusion requires it).
    pub(super) eps_typed_float: bool,
    /// The name of X.
    pub(super) x: Option<String>,
    /// How many node input slots read X (the node itself is one), whether X is a graph
    /// output.
    pub(super) x_uses: usize,
    pub(super) x_is_output: bool,
    /// The producer's inputs (names), its op type and whether it is in the default domain.
    pub(super) producer_inputs: Vec<String>,
    /// Whether onnxruntime's ConvBNFusion can apply (see `conv_bn_fusion`): the weight's
    /// dims and type, or why not.
    pub(super) fusion: Result<(Vec<i64>, i32), String>,
    /// The producer's weight or bias is an initializer also listed as a graph input.
    pub(super) weight_overridable: bool,
    /// Why this node is not an inference BatchNorm, if it is not.
    pub(super) problem: Option<Error>,
}

pub(super) fn is_batchnorm(n: &NodeProto) -> bool {
    n.op_type == "BatchNormalization" && (n.domain.is_empty() || n.domain == "ai.onnx")
}

pub(super) fn node_name(n: &NodeProto) -> String {
    if n.name.is_empty() {
        n.output.first().cloned().unwrap_or_default()
    } else {
        n.name.clone()
    }
}

/// The index entry of a BatchNormalization node: ε, statistics' names, and the first
/// reason (if any) it is not an inference-time BatchNorm at this opset.
pub(super) fn entry(node: &NodeProto, opset: Option<i64>) -> Entry {
    let name = node_name(node);
    let mut e = Entry {
        name: name.clone(),
        producer: None,
        producer_op: None,
        weight: None,
        weight_dims: None,
        consumers: Vec::new(),
        eps: 1e-5f32 as f64,
        stats: node.input.iter().skip(1).take(4).cloned().collect(),
        x_type: None,
        x_may_differ: opset.is_none_or(|v| v >= 15),
        eps_typed_float: true,
        x: node.input.first().filter(|t| !t.is_empty()).cloned(),
        x_uses: 0,
        x_is_output: false,
        producer_inputs: Vec::new(),
        fusion: Err("not indexed".to_string()),
        weight_overridable: false,
        problem: None,
    };
    let unsupported = |reason: String| Error::UnsupportedNode {
        node: short(&name),
        reason,
    };
    let mut is_test = None;
    let mut problem = None;
    // onnxruntime refuses a node with an attribute given twice; reading one of them
    // (the last, as a map would) is a guess.
    for (k, a) in node.attribute.iter().enumerate() {
        if node.attribute[..k].iter().any(|b| b.name == a.name) {
            problem = problem.or(Some(format!(
                "attribute {:?} appears more than once",
                short(&a.name)
            )));
        }
    }
    for a in &node.attribute {
        let int = matches!(a.r#type, ATTR_INT | ATTR_UNDEFINED);
        let float = matches!(a.r#type, ATTR_FLOAT | ATTR_UNDEFINED);
        let p = match a.name.as_str() {
            "epsilon" if float => {
                e.eps = a.f as f64;
                e.eps_typed_float = a.r#type == ATTR_FLOAT;
                None
            }
            "training_mode" if int && a.i == 0 => None,
            "training_mode" if int => Some(format!(
                "training_mode = {}: batch statistics are not an affine map",
                a.i
            )),
            "is_test" if int => {
                is_test = Some(a.i);
                None
            }
            "spatial" if int && a.i == 1 => None,
            "spatial" if int => Some(format!(
                "spatial = {}: per-activation statistics (opset 8 and older) are not read",
                a.i
            )),
            "epsilon" | "training_mode" | "is_test" | "spatial" => Some(format!(
                "attribute {:?} has type {}, expected {}",
                a.name,
                a.r#type,
                if a.name == "epsilon" { "float" } else { "int" }
            )),
            _ => None,
        };
        problem = problem.or(p);
    }
    let old = opset.is_some_and(|v| v <= 6);
    if is_test == Some(0) || (old && is_test != Some(1)) {
        problem = problem.or(Some(format!(
            "is_test = {} (opset {}): the node runs in training mode",
            is_test.unwrap_or(0),
            opset.map_or_else(|| "?".to_string(), |v| v.to_string())
        )));
    }
    let extra_outputs = node.output.iter().skip(1).filter(|o| !o.is_empty()).count();
    if extra_outputs > 0 {
        problem = problem.or(Some(format!(
            "{} outputs: the training form (running or saved statistics as outputs)",
            1 + extra_outputs
        )));
    }
    if node.input.iter().skip(5).any(|i| !i.is_empty()) {
        problem = problem.or(Some(
            "a sixth input (training_mode, opset-12 draft): training form".to_string(),
        ));
    }
    if e.stats.len() < 4 || e.stats.iter().any(|s| s.is_empty()) {
        problem = problem.or(Some(format!(
            "{} inputs, expected X, scale, B, input_mean, input_var",
            node.input.len()
        )));
    }
    e.problem = problem.map(unsupported);
    e
}
