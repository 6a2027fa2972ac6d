//! The subset of `onnx.proto` bnbound reads, as prost messages. The graph's repeated
//! fields stay undecoded byte slices of the file (zero-copy) and are decoded one at a time
//! while indexing.

use prost::bytes::Bytes;
use prost::Message;

/// `onnx.ModelProto` (subset): the graph's repeated fields stay undecoded byte slices of
/// the file (zero-copy), decoded one at a time while indexing.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ModelProto {
    #[prost(message, optional, tag = "7")]
    pub(crate) graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub(crate) opset_import: Vec<OperatorSetIdProto>,
}

/// `onnx.OperatorSetIdProto`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub(crate) domain: String,
    #[prost(int64, tag = "2")]
    pub(crate) version: i64,
}

/// `onnx.GraphProto` (subset, undecoded entries).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct GraphProto {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    pub(crate) node: Vec<Bytes>,
    #[prost(bytes = "bytes", repeated, tag = "5")]
    pub(crate) initializer: Vec<Bytes>,
    #[prost(bytes = "bytes", repeated, tag = "11")]
    pub(crate) input: Vec<Bytes>,
    #[prost(bytes = "bytes", repeated, tag = "12")]
    pub(crate) output: Vec<Bytes>,
    #[prost(bytes = "bytes", repeated, tag = "13")]
    pub(crate) value_info: Vec<Bytes>,
}

/// `onnx.NodeProto` (subset).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub(crate) input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub(crate) output: Vec<String>,
    #[prost(string, tag = "3")]
    pub(crate) name: String,
    #[prost(string, tag = "4")]
    pub(crate) op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub(crate) attribute: Vec<AttributeProto>,
    #[prost(string, tag = "7")]
    pub(crate) domain: String,
}

/// `onnx.AttributeProto` (subset).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct AttributeProto {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(float, tag = "2")]
    pub(crate) f: f32,
    #[prost(int64, tag = "3")]
    pub(crate) i: i64,
    /// A TENSOR attribute's `TensorProto`, undecoded (zero-copy).
    #[prost(bytes = "bytes", optional, tag = "5")]
    pub(crate) t: Option<Bytes>,
    #[prost(float, repeated, tag = "7")]
    pub(crate) floats: Vec<f32>,
    #[prost(int32, tag = "20")]
    pub(crate) r#type: i32,
}

/// `onnx.ValueInfoProto` (subset).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(message, optional, tag = "2")]
    pub(crate) r#type: Option<TypeProto>,
}

/// `onnx.TypeProto`: only its `tensor_type` (field 1 of the `value` oneof).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub(crate) tensor_type: Option<TensorTypeProto>,
}

/// `onnx.TypeProto.Tensor`: only its element type.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    pub(crate) elem_type: i32,
}

/// `onnx.TensorProto`, only its name (the data is skipped without being copied).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct TensorName {
    #[prost(string, tag = "8")]
    pub(crate) name: String,
}

/// `onnx.TensorProto`, only its dims, element type and name (the data is skipped without being copied).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct TensorHead {
    #[prost(int64, repeated, tag = "1")]
    pub(crate) dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub(crate) data_type: i32,
    #[prost(string, tag = "8")]
    pub(crate) name: String,
}

/// `onnx.StringStringEntryProto`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub(crate) key: String,
    #[prost(string, tag = "2")]
    pub(crate) value: String,
}

/// `onnx.TensorProto` (subset).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub(crate) dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub(crate) data_type: i32,
    #[prost(float, repeated, tag = "4")]
    pub(crate) float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    pub(crate) int32_data: Vec<i32>,
    #[prost(int64, repeated, tag = "7")]
    pub(crate) int64_data: Vec<i64>,
    #[prost(string, tag = "8")]
    pub(crate) name: String,
    #[prost(bytes = "bytes", tag = "9")]
    pub(crate) raw_data: Bytes,
    #[prost(double, repeated, tag = "10")]
    pub(crate) double_data: Vec<f64>,
    #[prost(message, repeated, tag = "13")]
    pub(crate) external_data: Vec<StringStringEntryProto>,
    #[prost(int32, tag = "14")]
    pub(crate) data_location: i32,
}
