//! Where a statistic's value comes from: an initializer (also one listed as a graph input,
//! which is a constant unless a feed overrides it), or a constant the graph computes from
//! constants: `Constant`, `ConstantOfShape` of a constant shape, `Identity` of a constant.
//!
//! The index records, per tensor name a layer needs (statistics, and what they are
//! computed from), its initializers, whether it is a graph input and the node producing
//! it; [`resolve`] follows that record at load time, at most [`MAX_DEPTH`] nodes deep.

use super::proto::{NodeProto, TensorProto};
use super::type_name;
use crate::error::short;
use crate::model::error::{Error, Result};
use crate::model::{ElemKind, Stat};
use prost::bytes::Bytes;
use prost::Message;

/// How many `Identity`/`ConstantOfShape` steps a statistic may be from its constant (the
/// index makes one pass over the nodes per step).
pub(super) const MAX_DEPTH: usize = 16;

/// The most elements a `ConstantOfShape` statistic may have when no other statistic of
/// its layer is stored (and so gives the channel count): the shape comes from the file,
/// and nothing is allocated from it beyond this budget (8 MiB as `f64`).
pub(super) const FILL_BUDGET: usize = 1 << 20;

/// ONNX `AttributeProto.AttributeType` values used here.
const ATTR_UNDEFINED: i32 = 0;
const ATTR_FLOAT: i32 = 1;
const ATTR_TENSOR: i32 = 4;
const ATTR_FLOATS: i32 = 6;

/// How one tensor name is defined in the graph.
#[derive(Clone, Debug, Default)]
pub(super) struct Source {
    /// Initializers of that name, and the last one.
    pub(super) inits: usize,
    pub(super) tensor: Option<Bytes>,
    /// A graph input of that name.
    pub(super) input: bool,
    /// Nodes that output that name, and the first one.
    pub(super) producers: usize,
    pub(super) node: Option<Producer>,
}

/// The node that outputs a tensor a layer needs.
#[derive(Clone, Debug)]
pub(super) enum Producer {
    /// `Constant`: its value attribute.
    Constant { node: String, value: ConstAttr },
    /// `ConstantOfShape`: the shape tensor's name and the `value` tensor (default: float 0).
    ConstantOfShape {
        node: String,
        shape: String,
        value: Option<Bytes>,
    },
    /// `Identity` of `input`.
    Identity { input: String },
    /// Any other node: not folded.
    Other { node: String, op: String },
}

/// A `Constant` node's value.
#[derive(Clone, Debug)]
pub(super) enum ConstAttr {
    Tensor(Bytes),
    Float(f32),
    Floats(Vec<f32>),
    /// No value attribute, several, or one bnbound does not read (named).
    Unread(String),
}

impl Producer {
    /// What `node` is as the producer of a tensor, and the tensor name it reads (to be
    /// resolved in turn), if any.
    pub(super) fn of(node: &NodeProto, name: String) -> (Producer, Option<String>) {
        let default_domain = node.domain.is_empty() || node.domain == "ai.onnx";
        let first = node.input.first().filter(|s| !s.is_empty()).cloned();
        let other = |name: String| Producer::Other {
            node: name,
            op: node.op_type.clone(),
        };
        match node.op_type.as_str() {
            _ if !default_domain => (other(name), None),
            "Constant" => {
                let value = match node.attribute.as_slice() {
                    [a] => match (a.name.as_str(), a.r#type) {
                        ("value", ATTR_TENSOR | ATTR_UNDEFINED) if a.t.is_some() => {
                            ConstAttr::Tensor(a.t.clone().unwrap_or_default())
                        }
                        ("value_float", ATTR_FLOAT | ATTR_UNDEFINED) => ConstAttr::Float(a.f),
                        ("value_floats", ATTR_FLOATS | ATTR_UNDEFINED) => {
                            ConstAttr::Floats(a.floats.clone())
                        }
                        (n, _) => ConstAttr::Unread(format!("attribute {:?}", short(n))),
                    },
                    [] => ConstAttr::Unread("no value attribute".into()),
                    _ => ConstAttr::Unread(format!("{} attributes", node.attribute.len())),
                };
                (Producer::Constant { node: name, value }, None)
            }
            "Identity" => match first {
                Some(input) => (
                    Producer::Identity {
                        input: input.clone(),
                    },
                    Some(input),
                ),
                None => (other(name), None),
            },
            "ConstantOfShape" => match first {
                Some(shape) => {
                    let value = node
                        .attribute
                        .iter()
                        .find(|a| a.name == "value")
                        .and_then(|a| a.t.clone());
                    (
                        Producer::ConstantOfShape {
                            node: name,
                            shape: shape.clone(),
                            value,
                        },
                        Some(shape),
                    )
                }
                None => (other(name), None),
            },
            _ => (other(name), None),
        }
    }
}

/// A statistic's value as resolved, before it is decoded.
#[derive(Clone, Debug)]
pub(super) enum Kind {
    /// A tensor (an initializer or a `Constant`'s `value`).
    Tensor(TensorProto),
    /// A `Constant`'s `value_float` (rank 0) or `value_floats` (rank 1).
    Floats(Vec<f32>, usize),
    /// `ConstantOfShape`: `count` copies of `value` (one element).
    Fill { count: usize, value: Stat },
}

/// A resolved statistic, and whether a feed can override it (it is, or is computed from,
/// an initializer that is also a graph input).
#[derive(Clone, Debug)]
pub(super) struct Resolved {
    pub(super) kind: Kind,
    pub(super) overridable: bool,
}

/// What resolution needs besides the sources: the layer's name (every error names it),
/// the model folder, and whether overridable initializers are refused.
pub(super) struct Ctx<'a> {
    pub(super) layer: &'a str,
    pub(super) strict: bool,
    pub(super) base_dir: Option<&'a std::path::Path>,
}

impl Ctx<'_> {
    fn unsupported(&self, reason: String) -> Error {
        Error::UnsupportedNode {
            node: short(self.layer),
            reason,
        }
    }
}

fn decode(raw: &Bytes, name: &str) -> Result<TensorProto> {
    TensorProto::decode(raw.clone())
        .map_err(|err| Error::Format(format!("tensor {:?}: malformed: {err}", short(name))))
}

/// Follows `name` to its constant value.
pub(super) fn resolve(
    sources: &std::collections::HashMap<String, Source>,
    name: &str,
    ctx: &Ctx<'_>,
    depth: usize,
) -> Result<Resolved> {
    if depth > MAX_DEPTH {
        return Err(ctx.unsupported(format!(
            "tensor {:?} is more than {MAX_DEPTH} Identity/ConstantOfShape steps from a constant",
            short(name)
        )));
    }
    let Some(s) = sources.get(name) else {
        return Err(Error::MissingTensor(short(name)));
    };
    match (s.inits, s.producers) {
        (i, _) if i > 1 => Err(Error::DuplicateName {
            kind: "initializer name",
            name: short(name),
        }),
        (_, p) if p > 1 => Err(Error::DuplicateName {
            kind: "node output",
            name: short(name),
        }),
        (1, 1) => Err(ctx.unsupported(format!(
            "tensor {:?} is both an initializer and a node's output",
            short(name)
        ))),
        (1, 0) => {
            if s.input && ctx.strict {
                return Err(ctx.unsupported(format!(
                    "tensor {:?} is an initializer and also a graph input: a feed can override \
                     it at run time (refused with strict initializers)",
                    short(name)
                )));
            }
            let raw = s.tensor.clone().unwrap_or_default();
            Ok(Resolved {
                kind: Kind::Tensor(decode(&raw, name)?),
                overridable: s.input,
            })
        }
        (0, 1) => match s.node.as_ref() {
            Some(Producer::Constant { node, value }) => {
                let kind = match value {
                    ConstAttr::Tensor(raw) => Kind::Tensor(decode(raw, name)?),
                    ConstAttr::Float(f) => Kind::Floats(vec![*f], 0),
                    ConstAttr::Floats(v) => Kind::Floats(v.clone(), 1),
                    ConstAttr::Unread(what) => {
                        return Err(ctx.unsupported(format!(
                            "tensor {:?} comes from Constant node {:?} with {what}: expected \
                             one value, value_float or value_floats",
                            short(name),
                            short(node)
                        )))
                    }
                };
                Ok(Resolved {
                    kind,
                    overridable: false,
                })
            }
            Some(Producer::Identity { input, .. }) => resolve(sources, input, ctx, depth + 1),
            Some(Producer::ConstantOfShape { node, shape, value }) => {
                let r = resolve(sources, shape, ctx, depth + 1)?;
                let Kind::Tensor(t) = &r.kind else {
                    return Err(ctx.unsupported(format!(
                        "ConstantOfShape node {:?}: its shape {:?} is not an int64 tensor",
                        short(node),
                        short(shape)
                    )));
                };
                let count = fill_count(t, shape, node, ctx)?;
                let value = match value {
                    None => ElemKind::F32.stat(vec![0.0]),
                    Some(raw) => {
                        let v = super::tensor::tensor_values(&decode(raw, name)?, ctx.base_dir)?;
                        if v.values.len() != 1 {
                            return Err(ctx.unsupported(format!(
                                "ConstantOfShape node {:?}: its value has {} elements, expected 1",
                                short(node),
                                v.values.len()
                            )));
                        }
                        v
                    }
                };
                Ok(Resolved {
                    kind: Kind::Fill { count, value },
                    overridable: r.overridable,
                })
            }
            Some(Producer::Other { node, op }) => Err(ctx.unsupported(format!(
                "tensor {:?} is computed by another node ({op} node {:?}), not a constant",
                short(name),
                short(node)
            ))),
            None => Err(Error::MissingTensor(short(name))),
        },
        (_, _) if s.input => Err(ctx.unsupported(format!(
            "statistic {:?} is a graph input, not an initializer: its value is not in the model",
            short(name)
        ))),
        _ => Err(Error::MissingTensor(short(name))),
    }
}

/// The element count of a `ConstantOfShape` whose shape tensor is `t`: the shape must be
/// one non-negative int64 (the output then has rank 1, as a statistic must). Nothing is
/// allocated from the count here.
fn fill_count(t: &TensorProto, shape: &str, node: &str, ctx: &Ctx<'_>) -> Result<usize> {
    if t.data_type != 7 {
        return Err(Error::UnsupportedTensorType {
            tensor: short(shape),
            dtype: type_name(t.data_type),
        });
    }
    let bad = |why: String| {
        ctx.unsupported(format!(
            "ConstantOfShape node {:?}: shape {:?} {why}",
            short(node),
            short(shape)
        ))
    };
    if t.dims.as_slice() != [1] {
        return Err(bad(format!(
            "has dims {:?}: a statistic needs one dimension (shape dims [1])",
            t.dims
        )));
    }
    let v = if t.data_location == 1 {
        return Err(bad("is external data: not read for a shape".into()));
    } else if !t.raw_data.is_empty() {
        let b: [u8; 8] = t.raw_data[..]
            .try_into()
            .map_err(|_| bad(format!("has {} data bytes, expected 8", t.raw_data.len())))?;
        i64::from_le_bytes(b)
    } else {
        match t.int64_data.as_slice() {
            [v] => *v,
            other => return Err(bad(format!("has {} values, expected 1", other.len()))),
        }
    };
    usize::try_from(v).map_err(|_| bad(format!("is [{v}]: a negative length")))
}
