//! An ONNX *writer* for hostile and well-formed test models: the subset of `onnx.proto`
//! that bnbound's loader reads, as owned prost messages. It is written independently of
//! the library's reader (which decodes zero-copy and lazily), so a misread field number in
//! one is caught by the other.
#![allow(missing_docs)] // field names are those of onnx.proto

use prost::bytes::Bytes;
use prost::Message;

/// `onnx.ModelProto` (fields 1, 7 and 8).
#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    /// 0 (absent) for bnbound, which does not read it; onnxruntime needs one (3 to 10).
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
}

/// `onnx.OperatorSetIdProto`.
#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `onnx.GraphProto` (nodes, initializers, inputs, outputs, value_info).
#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// `onnx.NodeProto`.
#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    #[prost(string, tag = "7")]
    pub domain: String,
}

/// `onnx.AttributeProto` (FLOAT, INT, TENSOR, FLOATS and INTS attributes).
#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, tag = "2")]
    pub f: f32,
    #[prost(int64, tag = "3")]
    pub i: i64,
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

/// `onnx.ValueInfoProto` (name and tensor type).
#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// `onnx.TypeProto` (its `tensor_type`, field 1 of the `value` oneof).
#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// `onnx.TypeProto.Tensor` (the element type).
#[derive(Clone, PartialEq, Message)]
pub struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
}

/// `onnx.StringStringEntryProto`.
#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `onnx.TensorProto` (the data fields bnbound reads).
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(bytes = "bytes", tag = "9")]
    pub raw_data: Bytes,
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}

impl ModelProto {
    /// The encoded model (for crates that do not depend on `prost` themselves).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
}

// ------------------------------------------------------------------ fixture models

/// ONNX element types used by the fixtures.
pub const FLOAT: i32 = 1;
pub const FLOAT16: i32 = 10;
pub const DOUBLE: i32 = 11;

/// A tensor of element type `elem` (FLOAT, FLOAT16 or DOUBLE) holding `values` (exact in
/// that type: they are rounded to it).
pub fn tensor(name: &str, elem: i32, dims: &[i64], values: &[f64]) -> TensorProto {
    let mut t = TensorProto {
        dims: dims.to_vec(),
        data_type: elem,
        name: name.into(),
        ..Default::default()
    };
    match elem {
        FLOAT => t.float_data = values.iter().map(|&v| v as f32).collect(),
        DOUBLE => t.double_data = values.to_vec(),
        FLOAT16 => {
            t.raw_data = values
                .iter()
                .flat_map(|&v| half::f16::from_f64(v).to_le_bytes())
                .collect::<Vec<u8>>()
                .into()
        }
        _ => panic!("fixture element type {elem}"),
    }
    t
}

/// A node of the default domain.
pub fn node(op: &str, name: &str, input: &[&str], output: &[&str]) -> NodeProto {
    NodeProto {
        input: input.iter().map(|s| s.to_string()).collect(),
        output: output.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        ..Default::default()
    }
}

/// An INT attribute (`Cast`'s `to`, a `transB`).
pub fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: 2,
        ..Default::default()
    }
}

/// A FLOAT attribute (`epsilon`).
pub fn float_attr(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: 1,
        ..Default::default()
    }
}

/// A declared tensor of element type `elem` (no shape).
pub fn value_info(name: &str, elem: i32) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto { elem_type: elem }),
        }),
    }
}

/// A model (IR 8, default domain at `opset`).
pub fn model(graph: GraphProto, opset: i64) -> ModelProto {
    ModelProto {
        ir_version: 8,
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
    }
}

/// Values spread over `[lo, hi]` (deterministic), exactly representable in float16 so
/// that the same numbers can be stored in any of the fixture types.
fn spread(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    (0..n)
        .map(|k| {
            let u = ((k as u64 * 2654435761 + seed * 40503) % 1009) as f64 / 1008.0;
            half::f16::from_f64(lo + (hi - lo) * u).to_f64()
        })
        .collect()
}

/// The four statistics (`scale`, `B`, `mean`, `var`) of `c` channels, of type `elem`.
pub fn bn_stats(c: usize, elem: i32) -> Vec<TensorProto> {
    let d = [c as i64];
    vec![
        tensor("scale", elem, &d, &spread(c, 0.5, 2.0, 1)),
        tensor("B", elem, &d, &spread(c, -1.0, 1.0, 2)),
        tensor("mean", elem, &d, &spread(c, -1.0, 1.0, 3)),
        tensor("var", elem, &d, &spread(c, 0.05, 1.0, 4)),
    ]
}

/// A model whose BatchNorm "bn" reads X through a chain of nodes from the graph input `x`.
pub struct XTypeFixture {
    /// The fixture's file stem.
    pub name: &'static str,
    pub model: ModelProto,
    /// The element type of X as onnx's shape inference gives it (None: it cannot tell).
    pub x_type: Option<i32>,
}

/// Models where the type of X (the BatchNorm's input "t") is declared nowhere and follows
/// from the graph: x (declared) → ops → t → BatchNormalization (f32 statistics) → y.
pub fn x_type_fixtures() -> Vec<XTypeFixture> {
    const C: usize = 8;
    let bn = || {
        let mut n = node(
            "BatchNormalization",
            "bn",
            &["t", "scale", "B", "mean", "var"],
            &["y"],
        );
        n.attribute.push(float_attr("epsilon", 1e-5));
        n
    };
    let build = |x_elem: Option<i32>, mut nodes: Vec<NodeProto>, extra: Vec<TensorProto>| {
        nodes.push(bn());
        let mut init = bn_stats(C, FLOAT);
        init.extend(extra);
        let input = match x_elem {
            Some(e) => vec![value_info("x", e)],
            None => vec![ValueInfoProto {
                name: "x".into(),
                r#type: None,
            }],
        };
        GraphProto {
            node: nodes,
            initializer: init,
            input,
            // y declared without a type: onnxruntime infers it.
            output: vec![ValueInfoProto {
                name: "y".into(),
                r#type: None,
            }],
            ..Default::default()
        }
    };
    let mut cast = node("Cast", "cast", &["x"], &["c"]);
    cast.attribute.push(int_attr("to", FLOAT16 as i64));
    vec![
        // A reproducer: f16 x → Relu → t.
        XTypeFixture {
            name: "xtype_relu_f16",
            model: model(
                build(
                    Some(FLOAT16),
                    vec![node("Relu", "relu", &["x"], &["t"])],
                    vec![],
                ),
                15,
            ),
            x_type: Some(FLOAT16),
        },
        // Through a binary op with an f16 initializer, a Reshape and a Transpose.
        XTypeFixture {
            name: "xtype_chain_f16",
            model: model(
                build(
                    Some(FLOAT16),
                    vec![
                        node("Add", "add", &["x", "k"], &["a"]),
                        node("Reshape", "reshape", &["a", "shape"], &["r"]),
                        node("Sigmoid", "sig", &["r"], &["t"]),
                    ],
                    vec![
                        tensor("k", FLOAT16, &[C as i64], &spread(C, -0.5, 0.5, 5)),
                        TensorProto {
                            dims: vec![2],
                            data_type: 7,
                            name: "shape".into(),
                            int64_data: vec![1, C as i64],
                            ..Default::default()
                        },
                    ],
                ),
                15,
            ),
            x_type: Some(FLOAT16),
        },
        // A Cast to f16 two nodes up.
        XTypeFixture {
            name: "xtype_cast_then_relu",
            model: model(
                build(
                    Some(FLOAT),
                    vec![cast.clone(), node("Relu", "relu", &["c"], &["t"])],
                    vec![],
                ),
                15,
            ),
            x_type: Some(FLOAT16),
        },
        // f32 all along: f32 arithmetic, known.
        XTypeFixture {
            name: "xtype_relu_f32",
            model: model(
                build(
                    Some(FLOAT),
                    vec![node("Relu", "relu", &["x"], &["t"])],
                    vec![],
                ),
                15,
            ),
            x_type: Some(FLOAT),
        },
        // x's type declared nowhere: unknown at opset 15.
        XTypeFixture {
            name: "xtype_untyped_input",
            model: model(
                build(None, vec![node("Relu", "relu", &["x"], &["t"])], vec![]),
                15,
            ),
            x_type: None,
        },
        // An op whose output type is not an input's (Shape → int64... here a custom
        // domain op): unknown at opset 15.
        XTypeFixture {
            name: "xtype_custom_op",
            model: model(
                build(
                    Some(FLOAT16),
                    vec![NodeProto {
                        domain: "com.example".into(),
                        ..node("Mystery", "mystery", &["x"], &["t"])
                    }],
                    vec![],
                ),
                15,
            ),
            x_type: None,
        },
        // A cycle (Relu reads its own output): no type, and no endless search.
        XTypeFixture {
            name: "xtype_cycle",
            model: model(
                build(
                    Some(FLOAT16),
                    vec![
                        node("Add", "a1", &["t2", "t2"], &["t"]),
                        node("Relu", "a2", &["t"], &["t2"]),
                    ],
                    vec![],
                ),
                15,
            ),
            x_type: None,
        },
    ]
}

/// A Conv → BatchNormalization model and whether onnxruntime's ConvBNFusion applies.
pub struct FusionFixture {
    pub name: &'static str,
    pub model: ModelProto,
    /// Whether onnxruntime 1.32 fuses (its optimised graph has no BatchNormalization).
    pub fused: bool,
    /// `None`: bnbound claims the fusion; `Some(s)`: it refuses, with a reason containing
    /// s. Only where onnxruntime fuses may it be `None`; bnbound may refuse a fusion
    /// onnxruntime does (a statistic or weight through an Identity, which onnxruntime
    /// folds first): conservative, never a false claim.
    pub refused: Option<&'static str>,
}

/// x f32 [1, 2, 4, 4] → Conv (W [4, 2, 3, 3], bias) → t → BatchNormalization → y, and
/// variants that break one condition of onnxruntime's ConvBNFusion each.
pub fn fusion_fixtures() -> Vec<FusionFixture> {
    const C: usize = 4;
    let base = |elem: i32| {
        let mut conv = node("Conv", "conv", &["x", "W", "Bc"], &["t"]);
        conv.attribute.push(AttributeProto {
            name: "pads".into(),
            ints: vec![1, 1, 1, 1],
            r#type: 7,
            ..Default::default()
        });
        let mut bn = node(
            "BatchNormalization",
            "bn",
            &["t", "scale", "B", "mean", "var"],
            &["y"],
        );
        bn.attribute.push(float_attr("epsilon", 1e-5));
        let mut init = vec![
            tensor(
                "W",
                elem,
                &[C as i64, 2, 3, 3],
                &spread(C * 18, -0.5, 0.5, 6),
            ),
            tensor("Bc", elem, &[C as i64], &spread(C, -0.2, 0.2, 7)),
        ];
        init.extend(bn_stats(C, elem));
        GraphProto {
            node: vec![conv, bn],
            initializer: init,
            input: vec![value_info("x", elem)],
            output: vec![value_info("y", elem)],
            ..Default::default()
        }
    };
    let with = |f: &dyn Fn(&mut GraphProto)| {
        let mut g = base(FLOAT);
        f(&mut g);
        model(g, 15)
    };
    vec![
        FusionFixture {
            name: "fusion_fused",
            model: model(base(FLOAT), 15),
            fused: true,
            refused: None,
        },
        // No Conv bias: onnxruntime's bias is then B − mean·scale.
        FusionFixture {
            name: "fusion_fused_no_bias",
            model: with(&|g| {
                g.node[0].input.truncate(2);
                g.initializer.retain(|t| t.name != "Bc");
            }),
            fused: true,
            refused: None,
        },
        FusionFixture {
            name: "fusion_two_consumers",
            model: with(&|g| {
                g.node.push(node("Relu", "relu", &["t"], &["r"]));
                g.output.push(value_info("r", FLOAT));
            }),
            fused: false,
            refused: Some("2 consumers"),
        },
        FusionFixture {
            name: "fusion_conv_output_is_graph_output",
            model: with(&|g| g.output.push(value_info("t", FLOAT))),
            fused: false,
            refused: Some("graph output"),
        },
        FusionFixture {
            name: "fusion_weight_overridable",
            model: with(&|g| g.input.push(value_info("W", FLOAT))),
            fused: false,
            refused: Some("weight \"W\" is an initializer also listed as a graph input"),
        },
        FusionFixture {
            name: "fusion_bias_overridable",
            model: with(&|g| g.input.push(value_info("Bc", FLOAT))),
            fused: false,
            refused: Some("bias \"Bc\" is an initializer also listed as a graph input"),
        },
        FusionFixture {
            name: "fusion_stat_overridable",
            model: with(&|g| g.input.push(value_info("var", FLOAT))),
            fused: false,
            refused: Some("statistic \"var\" is an initializer also listed as a graph input"),
        },
        FusionFixture {
            name: "fusion_stat_identity",
            model: with(&|g| {
                g.node
                    .insert(0, node("Identity", "id", &["var0"], &["var"]));
                for t in g.initializer.iter_mut().filter(|t| t.name == "var") {
                    t.name = "var0".into();
                }
            }),
            fused: true,
            refused: Some("statistic \"var\" is not an initializer"),
        },
        FusionFixture {
            name: "fusion_weight_identity",
            model: with(&|g| {
                g.node.insert(0, node("Identity", "idw", &["W0"], &["W"]));
                for t in g.initializer.iter_mut().filter(|t| t.name == "W") {
                    t.name = "W0".into();
                }
            }),
            fused: true,
            refused: Some("weight \"W\" is not an initializer"),
        },
        FusionFixture {
            name: "fusion_mixed_types",
            model: with(&|g| {
                for t in g.initializer.iter_mut().filter(|t| t.name == "mean") {
                    *t = tensor("mean", DOUBLE, &t.dims, &spread(C, -1.0, 1.0, 3));
                }
            }),
            fused: false,
            refused: Some("element types"),
        },
    ]
}
