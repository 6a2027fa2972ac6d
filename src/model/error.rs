//! The typed errors of model loading.

/// Everything that can be wrong with a model file or one of its BatchNorm layers. Every
/// message is one line; names quoted from the file are cut to 80 characters.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model file that cannot be read or decoded (I/O error, truncated or malformed
    /// protobuf or safetensors data, an external data file out of range).
    #[error("{0}")]
    Format(String),
    /// A tensor a layer needs is not in the model.
    #[error("tensor {0:?} is not in the model")]
    MissingTensor(String),
    /// A tensor with an element type bnbound does not read (it reads f32, f64, f16, bf16).
    #[error(
        "tensor {tensor:?} has element type {dtype}: expected float, double, float16 or bfloat16"
    )]
    UnsupportedTensorType {
        /// The tensor's name.
        tensor: String,
        /// The element type, as the file names it.
        dtype: String,
    },
    /// A tensor whose element count does not match the layer.
    #[error("tensor {tensor:?} has {found} elements, expected {expected}")]
    TensorLength {
        /// The tensor's name.
        tensor: String,
        /// The number of channels.
        expected: usize,
        /// The number of elements found.
        found: usize,
    },
    /// A BatchNormalization node that is not inference-time BatchNorm.
    #[error("node {node:?}: {reason}")]
    UnsupportedNode {
        /// The node's name.
        node: String,
        /// Why (training mode, statistics that are graph inputs, a missing input, ...).
        reason: String,
    },
    /// Two nodes (or initializers) of a model share a name that a layer needs.
    #[error("{kind} {name:?} is defined more than once")]
    DuplicateName {
        /// What is duplicated: `"node name"` or `"initializer name"`.
        kind: &'static str,
        /// The name (at most 80 characters).
        name: String,
    },
    /// An external-data `location` that is not a plain relative path, resolves (links
    /// followed) outside the model's folder, or is not a regular file.
    #[error("tensor {tensor:?}: external data location {location:?} is refused: {reason}")]
    ExternalDataOutside {
        /// The tensor's name.
        tensor: String,
        /// The location as written in the model.
        location: String,
        /// Why it is refused.
        reason: String,
    },
    /// No BatchNorm layer of that name in the model.
    #[error("no BatchNorm layer named {name:?} (layers: {available})")]
    UnknownLayer {
        /// The name asked for.
        name: String,
        /// The layers the model has, comma-separated.
        available: String,
    },
    /// The layer's parameters, read correctly, are not a valid BatchNorm (NaN, negative
    /// variance, `var + eps = 0`, ...).
    #[error(transparent)]
    Invalid(#[from] crate::error::Error),
    /// The layer cannot be folded into the preceding layer given for it: a producer whose
    /// weight layout bnbound does not fold into (e.g. ConvTranspose), or dims that do not
    /// match the layer's channel count or the producer's stored weight.
    #[error(
        "layer {layer:?}: cannot fold into the preceding layer{}: {reason}",
        producer_text(producer.as_deref(), op.as_deref())
    )]
    Fold {
        /// The layer's name.
        layer: String,
        /// The node producing the layer's input (ONNX), if any.
        producer: Option<String>,
        /// That node's op type (ONNX), if known.
        op: Option<String>,
        /// Why.
        reason: String,
    },
    /// The file's format is not built into this bnbound: its feature (`onnx`,
    /// `safetensors`) is off.
    ///
    /// ```
    /// let e = bnbound::model::Error::FormatNotBuilt { format: bnbound::model::Format::Onnx };
    /// assert_eq!(e.to_string(), "onnx model files are not supported by this build (bnbound's feature `onnx` is off)");
    /// ```
    #[error(
        "{format} model files are not supported by this build (bnbound's feature `{format}` is off)"
    )]
    FormatNotBuilt {
        /// The format asked for (or told by the file's name).
        format: super::Format,
    },
    /// Bytes in memory were given [`crate::model::Format::Auto`]: without a file name,
    /// the format must be named (`Onnx` or `Safetensors`).
    #[error("the format of a model held in memory must be given: onnx or safetensors, not auto")]
    FormatNeeded,
    /// An error of one layer, naming it: every error of loading a named layer
    /// (`Model::layer`/`layers`/`open_layer`, and the `layer`/`layers` of the formats'
    /// own types) comes wrapped in this, except [`Error::UnknownLayer`] (there is no such
    /// layer). [`Error::inner`] is the error
    /// itself; the message is `layer "NAME": ...` (or only the inner message when it
    /// already starts with that node's name).
    ///
    /// ```
    /// # #[cfg(feature = "onnx")] {
    /// use bnbound::model::{Error, Model, Options};
    /// let m = Model::open("tests/data/bn_missing_initializer.onnx", &Options::default())?;
    /// let e = m.layer("bnmissing").unwrap_err();
    /// assert_eq!(e.layer(), Some("bnmissing"));
    /// assert_eq!(e.inner(), &Error::MissingTensor("bnmissing.B".into()));
    /// assert_eq!(e.to_string(), r#"layer "bnmissing": tensor "bnmissing.B" is not in the model"#);
    /// # }
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    #[error("{}", layer_message(name, source))]
    Layer {
        /// The layer's name (at most 80 characters).
        name: String,
        /// What is wrong with it.
        source: Box<Error>,
    },
}

fn producer_text(producer: Option<&str>, op: Option<&str>) -> String {
    match (producer, op) {
        (Some(p), Some(op)) => format!(" ({op} node {p:?})"),
        (None, Some(op)) => format!(" ({op})"),
        _ => String::new(),
    }
}

fn layer_message(name: &str, source: &Error) -> String {
    match source {
        Error::UnsupportedNode { node, .. } if node == name => source.to_string(),
        _ => format!("layer {name:?}: {source}"),
    }
}

impl Error {
    /// The error without the layer that wraps it: the source of [`Error::Layer`], else
    /// `self`.
    ///
    /// ```
    /// use bnbound::model::Error;
    /// let e = Error::MissingTensor("t".into());
    /// assert_eq!(e.inner(), &e);
    /// ```
    pub fn inner(&self) -> &Error {
        match self {
            Error::Layer { source, .. } => source.inner(),
            other => other,
        }
    }

    /// The name of the layer the error is about ([`Error::Layer`]), if any.
    ///
    /// ```
    /// assert_eq!(bnbound::model::Error::Format("x".into()).layer(), None);
    /// ```
    pub fn layer(&self) -> Option<&str> {
        match self {
            Error::Layer { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Wraps `self` as an error of layer `name` (unless it is one already, or says there
    /// is no such layer).
    pub(crate) fn in_layer(self, name: &str) -> Error {
        match self {
            Error::Layer { .. } | Error::UnknownLayer { .. } => self,
            e => Error::Layer {
                name: crate::error::short(name),
                source: Box::new(e),
            },
        }
    }
}

/// `Result` with the model [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
