//! BatchNorm layers read from model files: ONNX (feature `onnx`) and PyTorch state_dicts in
//! safetensors (feature `safetensors`).
//!
//! Semantics: the layer is the real-number BatchNorm of the stored values, converted
//! exactly. `float16`/`bfloat16` and `float` statistics become an `f32` layer (every such
//! value is an `f32`); `double` statistics, or an ε that is not an `f32`, make an `f64` layer.
//! ONNX's `epsilon` attribute is an `f32`, default `1e-5f` (= 9.999999747378752e-06).

#[cfg(feature = "onnx")]
pub mod onnx;
#[cfg(feature = "safetensors")]
pub mod safetensors;

mod error;

use crate::error::short;
use crate::layer::params::{AnyBatchNorm, BatchNorm};
use crate::num::float::Dtype;
use crate::num::round::storage::Storage;
pub use error::{Error, Result};
use std::path::Path;

/// Reads a model file, refusing anything that is not a regular file (a folder, a device,
/// a FIFO) with a clear [`Error::Format`] before reading.
pub(crate) fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::Format(format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(Error::Format(format!(
            "{}: not a regular file (a folder or a device)",
            path.display()
        )));
    }
    std::fs::read(path).map_err(io)
}

/// [`Error::UnknownLayer`] for `name`, listing at most the first 20 of `names`.
pub(crate) fn unknown_layer<'a>(
    name: &str,
    names: impl ExactSizeIterator<Item = &'a str>,
) -> Error {
    let total = names.len();
    let mut available: Vec<String> = names.take(20).map(short).collect();
    if total > 20 {
        available.push(format!("… {} more", total - 20));
    }
    if available.is_empty() {
        available.push("none".to_string());
    }
    Error::UnknownLayer {
        name: short(name),
        available: available.join(", "),
    }
}

/// One BatchNorm layer found in a model file.
///
/// ```
/// # #[cfg(feature = "onnx")] {
/// use bnbound::model::{Model, Options};
/// let l = Model::open_layer("tests/data/conv_bn_relu_f32.onnx", "bn1", &Options::default())?;
/// assert_eq!(l.name, "bn1");
/// assert_eq!(l.producer.as_deref(), Some("conv1"));
/// # }
/// # Ok::<(), bnbound::model::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ModelLayer {
    /// The node name (ONNX; the first output's name if the node has none) or the tensor
    /// prefix (safetensors).
    pub name: String,
    /// The node that produces the layer's input (ONNX), if any.
    pub producer: Option<String>,
    /// What that node is (ONNX; [`ProducerOp::GraphInput`] when no node produces the
    /// input), which fixes the layout of its weight; `None` for safetensors (a state_dict
    /// has no graph). See [`ModelLayer::check_preceding_dims`].
    pub producer_op: Option<ProducerOp>,
    /// The dims of the producer's weight (its second input) when an initializer holds it
    /// (ONNX), as stored: `[O, I/group, k…]` for Conv, `[O, I]` or `[I, O]` for Gemm
    /// (`transB` 1 or 0), `[I, O]` for MatMul.
    pub producer_weight_dims: Option<Vec<u64>>,
    /// The nodes that consume the layer's output (ONNX).
    pub consumers: Vec<String>,
    /// The element types of the statistics as stored, e.g. `"float16"`.
    pub stored_as: String,
    /// The 16-bit type the layer's statistics are stored in, if any (`None` for `float`
    /// and `double`); for ONNX, float16/bfloat16 when the graph declares the node's input
    /// X so and the layer is `f32` (BatchNormalization-15: 16-bit X and outputs with `f32`
    /// statistics). Deployed semantics for such a layer is 16-bit arithmetic, not
    /// `f32`'s: use [`crate::Bounds::ibp_stored`] with it.
    pub storage: Option<Storage>,
    /// Whether the element type of the layer's input X is known (ONNX): declared, inferred
    /// through the graph, or (before opset 15) the statistics' type. When it is not, the
    /// layer's arithmetic type is unknown (X may be 16-bit with `f32` statistics), and
    /// deployed semantics for it is refused. Always `true` for safetensors.
    pub x_type_known: bool,
    /// Whether a statistic can be overridden at run time (ONNX): it is, or is computed
    /// from, an initializer that is also listed as a graph input. Such a statistic is read
    /// as the constant the file holds, as onnxruntime does unless a feed overrides it
    /// (IR versions before 4 *require* initializers to be listed as inputs, and
    /// `keep_initializers_as_inputs=True` exports do it too). The bounds hold for the
    /// stored values only: refuse such layers with [`Options::strict_initializers`] if a
    /// deployment may feed other statistics. Always `false` for safetensors.
    pub overridable: bool,
    /// Whether the producer's weight or bias (ONNX) is an initializer also listed as a
    /// graph input: a feed can override it, and onnxruntime does not fold into it.
    pub producer_weight_overridable: bool,
    /// Why onnxruntime's Conv→BatchNormalization fusion (`ConvBNFusion`) does not apply to
    /// this layer (ONNX), from the graph: the producer is not a Conv, its output has other
    /// consumers or is a graph output, a weight, bias or statistic is
    /// not a constant initializer of one float/double type, `epsilon` is not a FLOAT
    /// attribute... `None` when every condition holds, and for safetensors (no graph).
    pub ort_unfused: Option<String>,
    /// The parameters, converted exactly.
    pub bn: AnyBatchNorm,
}

/// The kind of node that produces a BatchNorm layer's input (ONNX), as far as folding the
/// layer into it is concerned: which axis of its weight holds the layer's channels.
///
/// ```
/// use bnbound::model::ProducerOp;
/// assert_eq!(ProducerOp::Conv.output_axis(), Some(0));
/// assert_eq!(ProducerOp::Gemm { trans_b: false }.output_axis(), Some(1));
/// assert_eq!(ProducerOp::Other("ConvTranspose".into()).output_axis(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProducerOp {
    /// `Conv`: weight `[O, I/group, k…]`, output channels on axis 0.
    Conv,
    /// `Gemm`: weight `B` is `[O, I]` with `transB = 1`, `[I, O]` with `transB = 0`.
    Gemm {
        /// The node's `transB` attribute is nonzero.
        trans_b: bool,
    },
    /// `MatMul` (`X·W`): weight `W` (second input) `[I, O]`.
    MatMul,
    /// Any other node, named by its op type (e.g. `ConvTranspose`, whose weight is
    /// `[I, O/group, k…]`): not a layout bnbound folds into.
    Other(String),
    /// No node produces the layer's input: it is a graph input.
    GraphInput,
}

impl ProducerOp {
    /// The axis of the producer's stored weight that holds its output channels (the
    /// layer's channels), for Conv, Gemm and MatMul; `None` otherwise.
    ///
    /// ```
    /// assert_eq!(bnbound::model::ProducerOp::MatMul.output_axis(), Some(1));
    /// ```
    pub fn output_axis(&self) -> Option<usize> {
        match self {
            ProducerOp::Conv | ProducerOp::Gemm { trans_b: true } => Some(0),
            ProducerOp::Gemm { trans_b: false } | ProducerOp::MatMul => Some(1),
            ProducerOp::Other(_) | ProducerOp::GraphInput => None,
        }
    }

    /// The op type, as ONNX names it (`"graph input"` for [`ProducerOp::GraphInput`]).
    ///
    /// ```
    /// assert_eq!(bnbound::model::ProducerOp::Gemm { trans_b: true }.op_type(), "Gemm");
    /// ```
    pub fn op_type(&self) -> &str {
        match self {
            ProducerOp::Conv => "Conv",
            ProducerOp::Gemm { .. } => "Gemm",
            ProducerOp::MatMul => "MatMul",
            ProducerOp::Other(op) => op,
            ProducerOp::GraphInput => "graph input",
        }
    }
}

impl ModelLayer {
    /// Checks that a preceding layer given in bnbound's fold layout, weight dims `[O, I,
    /// k…]` (`LinearLayer`, the CLI's LAYER.json), is this layer's producer as the model
    /// stores it, so that folding scales the right axis:
    /// - `O` must be the layer's channel count;
    /// - ONNX: the producer must be a Conv (weight `[O, I/group, k…]`), a Gemm or a
    ///   MatMul; anything else (ConvTranspose's `[I, O/group, k…]`, no producer at all) is
    ///   refused. When an initializer holds the producer's weight, `dims` must be its dims
    ///   (Conv, Gemm with `transB = 1`) or their transpose (MatMul, Gemm with `transB = 0`,
    ///   stored `[I, O]`); for those two a square or unknown weight is refused, since the
    ///   dims cannot tell whether it was transposed;
    /// - safetensors (no graph): only `O` is checked.
    ///
    /// Errors: [`Error::Fold`] naming the layer, the producer and its op type.
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let l = Model::open_layer("tests/data/conv_bn_relu_f32.onnx", "bn1", &Options::default())?;
    /// assert_eq!(l.producer_weight_dims, Some(vec![6, 6, 1, 1]));
    /// assert!(l.check_preceding_dims(&[6, 6, 1, 1]).is_ok());
    /// let e = l.check_preceding_dims(&[5, 6, 1, 1]).unwrap_err();
    /// assert!(e.to_string().contains("6 channels"), "{e}");
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn check_preceding_dims(&self, dims: &[usize]) -> Result<()> {
        let c = self.bn.channels();
        let fail = |reason: String| Error::Fold {
            layer: short(&self.name),
            producer: self.producer.as_deref().map(short),
            op: self.producer_op.as_ref().map(|o| short(o.op_type())),
            reason,
        };
        if dims.first() != Some(&c) {
            return Err(fail(format!(
                "the preceding layer's dims {dims:?} have {} output channels (dims[0]); the \
                 layer has {c} channels",
                dims.first()
                    .map_or_else(|| "no".to_string(), |o| o.to_string())
            )));
        }
        let Some(op) = &self.producer_op else {
            return Ok(());
        };
        let stored: Option<Vec<usize>> = self
            .producer_weight_dims
            .as_ref()
            .and_then(|d| d.iter().map(|&x| usize::try_from(x).ok()).collect());
        match (op, op.output_axis()) {
            (_, None) => Err(fail(format!(
                "a {} is not a layout bnbound folds into (Conv [O, I/group, k…], Gemm, MatMul)",
                op.op_type()
            ))),
            (_, Some(0)) => match stored {
                Some(w) if w != dims => Err(fail(format!(
                    "its weight is stored with dims {w:?}, the preceding layer has {dims:?}"
                ))),
                _ => Ok(()),
            },
            (_, Some(_)) => match stored.as_deref() {
                Some(&[i, o]) if i != o => {
                    if dims == [o, i] {
                        Ok(())
                    } else {
                        Err(fail(format!(
                            "its weight is stored [I, O] = [{i}, {o}]: the preceding layer must \
                             be its transpose [{o}, {i}], not {dims:?}"
                        )))
                    }
                }
                Some(w) => Err(fail(format!(
                    "its weight is stored [I, O] with dims {w:?}: from the dims alone, a \
                     transposed weight cannot be told from one that is not"
                ))),
                None => Err(fail(
                    "its weight [I, O] is not an initializer: the orientation of the preceding \
                     layer cannot be checked"
                        .to_string(),
                )),
            },
        }
    }
}

/// How model files are read: the format, the safetensors ε, and how ONNX constants are
/// read. The default picks the format by the file's name ([`Format::Auto`]), uses PyTorch's
/// default ε ([`Eps::default`]) and reads every constant the way onnxruntime does.
///
/// ```
/// use bnbound::model::{Eps, Format, Model, Options};
/// let strict = Options::default().strict_initializers(true);
/// assert!(strict.strict_initializers && !Options::default().strict_initializers);
/// let m = Model::open("tests/data/multi_initializer_is_input.onnx", &strict)?;
/// assert!(m.layer("other").is_err());
/// let o = Options::default().format(Format::Safetensors).eps(Eps::F64(1e-3));
/// assert_eq!((o.format, o.eps), (Format::Safetensors, Eps::F64(1e-3)));
/// # Ok::<(), bnbound::model::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// Refuse (ONNX) a statistic that is, or is computed from, an initializer also listed
    /// as a graph input ([`Error::UnsupportedNode`]): a feed may override it at run time.
    /// Default `false`: such a statistic is read as the constant in the file and the layer
    /// is marked [`ModelLayer::overridable`].
    pub strict_initializers: bool,
    /// The ε of a state_dict's layers (safetensors; an ONNX model carries its own).
    /// Default [`Eps::default`], PyTorch's `1e-5` for an `f32` model.
    pub eps: Eps,
    /// The file's format. Default [`Format::Auto`]: by the file's name
    /// ([`Format::of_path`]).
    pub format: Format,
}

impl Options {
    /// These options with [`Options::strict_initializers`] set to `yes`.
    ///
    /// ```
    /// assert!(bnbound::model::Options::default().strict_initializers(true).strict_initializers);
    /// ```
    pub fn strict_initializers(mut self, yes: bool) -> Options {
        self.strict_initializers = yes;
        self
    }

    /// These options with the safetensors ε [`Options::eps`] set to `eps`.
    ///
    /// ```
    /// use bnbound::model::{Eps, Options};
    /// assert_eq!(Options::default().eps(Eps::F32(1e-3)).eps, Eps::F32(1e-3));
    /// ```
    pub fn eps(mut self, eps: Eps) -> Options {
        self.eps = eps;
        self
    }

    /// These options with the file format [`Options::format`] set to `format`.
    ///
    /// ```
    /// use bnbound::model::{Format, Options};
    /// assert_eq!(Options::default().format(Format::Onnx).format, Format::Onnx);
    /// ```
    pub fn format(mut self, format: Format) -> Options {
        self.format = format;
        self
    }
}

/// ε of a state_dict's layers, with the precision it is stated in: PyTorch's default is
/// `1e-5` as a Python float (f64) passed to an `f32` kernel, i.e. `Eps::F32(1e-5)` for an
/// `f32` model. A state_dict does not store ε: give it with [`Options::eps`].
///
/// ```
/// use bnbound::model::Eps;
/// assert_eq!(Eps::default(), Eps::F32(1e-5));
/// assert_eq!(Eps::F32(1e-5).value(), 9.999999747378752e-6);
/// assert_eq!(Eps::F64(1e-5).value(), 1e-5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Eps {
    /// An `f32` ε (the layer stays `f32` if its statistics are).
    F32(f32),
    /// An `f64` ε (an `f32` layer becomes `f64` unless ε is an `f32` value).
    F64(f64),
}

impl Default for Eps {
    fn default() -> Self {
        Eps::F32(1e-5)
    }
}

impl Eps {
    /// The exact value.
    ///
    /// ```
    /// assert_eq!(bnbound::model::Eps::F32(0.5).value(), 0.5);
    /// ```
    pub fn value(self) -> f64 {
        use crate::num::round::env::launder;
        let _env = crate::num::round::env::enter();
        launder(match self {
            Eps::F32(e) => launder(e) as f64,
            Eps::F64(e) => e,
        })
    }
}

/// A model file's format ([`Options::format`]).
///
/// ```
/// use bnbound::model::Format;
/// assert_eq!(Format::default(), Format::Auto);
/// assert_eq!(Format::of_path("net.onnx.gz".as_ref()), Format::Onnx);
/// assert_eq!(Format::Safetensors.to_string(), "safetensors");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// By the file's name ([`Format::of_path`]).
    #[default]
    Auto,
    /// An ONNX model, plain or gzip-compressed (feature `onnx`).
    Onnx,
    /// A PyTorch state_dict in safetensors (feature `safetensors`).
    Safetensors,
}

impl Format {
    /// The format a file's name says: [`Format::Onnx`] when it ends in `.onnx`,
    /// `.onnx.gz` or `.gz` (any case), else [`Format::Safetensors`].
    ///
    /// ```
    /// use bnbound::model::Format;
    /// assert_eq!(Format::of_path("A.ONNX".as_ref()), Format::Onnx);
    /// assert_eq!(Format::of_path("model.safetensors".as_ref()), Format::Safetensors);
    /// ```
    pub fn of_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".onnx") || name.ends_with(".gz") {
            Format::Onnx
        } else {
            Format::Safetensors
        }
    }

    /// The format's name: `"auto"`, `"onnx"` or `"safetensors"`.
    ///
    /// ```
    /// assert_eq!(bnbound::model::Format::Onnx.name(), "onnx");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Onnx => "onnx",
            Format::Safetensors => "safetensors",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `bnbound inspect` reports about one layer.
///
/// ```
/// use bnbound::{model::Summary, AnyBatchNorm, BatchNorm};
/// let bn = BatchNorm::new(vec![0.0f32, 2.0], vec![0.0; 2], vec![0.0; 2], vec![4.0, 1e-9], 0.0)?;
/// let s = Summary::of(&AnyBatchNorm::F32(bn));
/// assert_eq!((s.zero_gamma.clone(), s.tiny_denominator.clone()), (vec![0], vec![1]));
/// assert!(s.scale_min <= 0.0 && s.scale_max >= 2.0 / 1e-9f32.sqrt() as f64 * 0.99);
/// # Ok::<(), bnbound::model::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Number of channels.
    pub channels: usize,
    /// The layer's dtype.
    pub dtype: Dtype,
    /// ε, exactly.
    pub eps: f64,
    /// A lower bound of the smallest exact scale `s_c`.
    pub scale_min: f64,
    /// An upper bound of the largest exact scale `s_c`.
    pub scale_max: f64,
    /// Channels with `γ = 0` (scale exactly zero).
    pub zero_gamma: Vec<usize>,
    /// Channels with `σ² + ε` (rounded up) `< 2⁻²⁰` (≈ 9.5·10⁻⁷): huge scales, where
    /// rounding matters most.
    pub tiny_denominator: Vec<usize>,
}

impl Summary {
    /// Summarises a layer (enclosing its scales soundly).
    ///
    /// ```
    /// use bnbound::{model::Summary, AnyBatchNorm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(Summary::of(&AnyBatchNorm::F64(bn)).scale_max, 1.0);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn of(bn: &AnyBatchNorm) -> Summary {
        let _env = crate::num::round::env::enter();
        let enc = bn.enclose();
        let (scale_min, scale_max) = enc
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), c| {
                (a.min(c.scale().lo()), b.max(c.scale().hi()))
            });
        let rows: Vec<crate::num::params::Params> = match bn {
            AnyBatchNorm::F32(b) => (0..b.channels()).map(|c| b.channel_f64(c)).collect(),
            AnyBatchNorm::F64(b) => (0..b.channels()).map(|c| b.channel_f64(c)).collect(),
        };
        let tiny = f64::from_bits((1023 - 20) << 52);
        Summary {
            channels: rows.len(),
            dtype: bn.dtype(),
            eps: rows.first().map_or(0.0, |r| r.eps),
            scale_min,
            scale_max,
            zero_gamma: (0..rows.len()).filter(|&c| rows[c].gamma == 0.0).collect(),
            // σ² + ε, rounded up, below 2⁻²⁰ (a borderline sum may go unreported).
            tiny_denominator: (0..rows.len())
                .filter(|&c| crate::num::round::add_up(rows[c].var, rows[c].eps) < tiny)
                .collect(),
        }
    }
}

/// A statistic read from a file: its values (exactly, as `f64`) and the element type it
/// was stored in.
#[derive(Clone, Debug)]
pub(crate) struct Stat {
    pub(crate) values: Vec<f64>,
    /// Whether the stored type is `double` (else it fits `f32` exactly).
    pub(crate) wide: bool,
    pub(crate) stored_as: &'static str,
}

/// What [`build`] returns: the layer, the stored element types joined by `/`, the
/// 16-bit storage type if any.
pub(crate) type Built = (AnyBatchNorm, String, Option<Storage>);

/// Builds the layer: `f32` when every statistic and ε are `f32` values, else `f64`. A
/// statistic stored in a 16-bit type makes that type the layer's storage; two different
/// 16-bit types in one layer are refused ([`Error::Format`]).
pub(crate) fn build(stats: [Stat; 4], eps: f64, names: [&str; 4]) -> Result<Built> {
    let c = stats[0].values.len();
    for (s, name) in stats.iter().zip(names) {
        if s.values.len() != c {
            return Err(Error::TensorLength {
                tensor: short(name),
                expected: c,
                found: s.values.len(),
            });
        }
    }
    let mut kinds: Vec<&str> = stats.iter().map(|s| s.stored_as).collect();
    kinds.dedup();
    let stored_as = kinds.join("/");
    let mut storage = None;
    for s in &stats {
        let this = match s.stored_as {
            "float16" => Storage::F16,
            "bfloat16" => Storage::Bf16,
            _ => continue,
        };
        if storage.is_some_and(|t| t != this) {
            return Err(Error::Format(format!(
                "statistics mix float16 and bfloat16 ({stored_as}): no runtime computes that"
            )));
        }
        storage = Some(this);
    }
    let eps_is_f32 = (eps as f32) as f64 == eps;
    let [g, b, m, v] = stats;
    let bn = if g.wide || b.wide || m.wide || v.wide || !eps_is_f32 {
        AnyBatchNorm::F64(BatchNorm::new(g.values, b.values, m.values, v.values, eps)?)
    } else {
        let f = |s: Stat| s.values.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        AnyBatchNorm::F32(BatchNorm::new(f(g), f(b), f(m), f(v), eps as f32)?)
    };
    Ok((bn, stored_as, storage))
}

/// Little-endian element decoding shared by the loaders: `(values, wide, stored_as)`.
#[cfg(any(feature = "onnx", feature = "safetensors"))]
pub(crate) fn decode_le(bytes: &[u8], kind: ElemKind, tensor: &str) -> Result<Stat> {
    let size = kind.size();
    if !bytes.len().is_multiple_of(size) {
        return Err(Error::Format(format!(
            "tensor {:?}: {} data bytes is not a multiple of {size}",
            short(tensor),
            bytes.len()
        )));
    }
    let chunks = bytes.chunks_exact(size);
    let values: Vec<f64> = match kind {
        ElemKind::F32 => chunks
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        ElemKind::F64 => chunks
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        ElemKind::F16 => chunks
            .map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64())
            .collect(),
        ElemKind::Bf16 => chunks
            .map(|c| half::bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64())
            .collect(),
    };
    Ok(kind.stat(values))
}

/// The element types the loaders read.
#[cfg(any(feature = "onnx", feature = "safetensors"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ElemKind {
    F32,
    F64,
    F16,
    Bf16,
}

#[cfg(any(feature = "onnx", feature = "safetensors"))]
impl ElemKind {
    pub(crate) fn size(self) -> usize {
        match self {
            ElemKind::F32 => 4,
            ElemKind::F64 => 8,
            ElemKind::F16 | ElemKind::Bf16 => 2,
        }
    }

    pub(crate) fn stat(self, values: Vec<f64>) -> Stat {
        Stat {
            values,
            wide: self == ElemKind::F64,
            stored_as: match self {
                ElemKind::F32 => "float",
                ElemKind::F64 => "double",
                ElemKind::F16 => "float16",
                ElemKind::Bf16 => "bfloat16",
            },
        }
    }
}

/// A model file, indexed once; its layers are loaded one at a time. Open one with
/// [`Model::open`] (a file), [`Model::from_bytes`] (bytes in memory) or load a single
/// layer with [`Model::open_layer`]. A variant exists for each format built in (features
/// `onnx` and `safetensors`); its inner type has the format's own methods.
///
/// ```
/// use bnbound::model::{Model, Options};
/// let m = Model::open("tests/data/conv_bn_relu_f32.onnx", &Options::default())?;
/// assert_eq!(m.names(), ["bn1"]);
/// assert_eq!(m.layer("bn1")?.bn.channels(), 6);
/// let sd = Model::open("tests/data/state.safetensors", &Options::default())?;
/// assert_eq!(sd.names().len(), 5);
/// # Ok::<(), bnbound::model::Error>(())
/// ```
#[cfg(any(feature = "onnx", feature = "safetensors"))]
#[derive(Debug)]
#[non_exhaustive]
pub enum Model {
    /// An ONNX model.
    #[cfg(feature = "onnx")]
    Onnx(onnx::OnnxModel),
    /// A PyTorch state_dict in safetensors.
    #[cfg(feature = "safetensors")]
    Safetensors(safetensors::StateDict),
}

/// A format that is built in (its feature is on).
#[cfg(any(feature = "onnx", feature = "safetensors"))]
#[derive(Clone, Copy)]
enum Reader {
    #[cfg(feature = "onnx")]
    Onnx,
    #[cfg(feature = "safetensors")]
    Safetensors,
}

/// The built-in format `format` names (`Auto`: by `path`'s name); errors:
/// [`Error::FormatNeeded`] (`Auto` without a path), [`Error::FormatNotBuilt`].
#[cfg(any(feature = "onnx", feature = "safetensors"))]
fn reader(format: Format, path: Option<&Path>) -> Result<Reader> {
    let format = match (format, path) {
        (Format::Auto, Some(p)) => Format::of_path(p),
        (Format::Auto, None) => return Err(Error::FormatNeeded),
        (f, _) => f,
    };
    match format {
        #[cfg(feature = "onnx")]
        Format::Onnx => Ok(Reader::Onnx),
        #[cfg(feature = "safetensors")]
        Format::Safetensors => Ok(Reader::Safetensors),
        format => Err(Error::FormatNotBuilt { format }),
    }
}

#[cfg(any(feature = "onnx", feature = "safetensors"))]
impl Model {
    /// Reads and indexes the model file at `path`, in the format [`Options::format`] says
    /// (by default by its name, [`Format::of_path`]).
    ///
    /// - ONNX: a protobuf, or one compressed with gzip (recognised by its magic bytes,
    ///   e.g. `.onnx.gz`); external data files are looked up in the model's folder and
    ///   must resolve inside it; [`Options::strict_initializers`] applies.
    /// - safetensors: a state_dict; [`Options::eps`] is its layers' ε.
    ///
    /// Errors: [`Error::Format`] (not a regular file, unreadable, not a model of that
    /// format, a gzip stream that is corrupt or expands more than 64× its size plus
    /// 16 MiB), [`Error::FormatNotBuilt`] (the format's feature is off). Problems of
    /// single layers are reported by [`Model::layer`], not here.
    ///
    /// ```
    /// use bnbound::model::{Error, Format, Model, Options};
    /// let m = Model::open("tests/data/bn_external.onnx", &Options::default())?;
    /// assert_eq!(m.layer("bnext")?.bn.channels(), 3);
    /// assert!(matches!(Model::open("tests/data", &Options::default()), Err(Error::Format(_)))); // a folder
    /// // The format by choice, not by name: an ONNX model is not a state_dict.
    /// let st = Options::default().format(Format::Safetensors);
    /// assert!(matches!(Model::open("tests/data/bn_f16.onnx", &st), Err(Error::Format(_))));
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, options: &Options) -> Result<Model> {
        let _env = crate::num::round::env::enter();
        let path = path.as_ref();
        Ok(match reader(options.format, Some(path))? {
            #[cfg(feature = "onnx")]
            Reader::Onnx => Model::Onnx(onnx::OnnxModel::open(path, options)?),
            #[cfg(feature = "safetensors")]
            Reader::Safetensors => {
                Model::Safetensors(safetensors::StateDict::open(path, options.eps)?)
            }
        })
    }

    /// Indexes a model held in memory, of format `format` (`Onnx` or `Safetensors`: bytes
    /// have no name to tell it by, so [`Format::Auto`] is [`Error::FormatNeeded`];
    /// [`Options::format`] is not consulted). `base_dir` is the folder an ONNX model's
    /// external data files are in (`None`: external data is an error); a state_dict has
    /// none.
    ///
    /// Errors: [`Error::Format`] (not a model of that format, a `base_dir` that cannot be
    /// resolved), [`Error::FormatNeeded`], [`Error::FormatNotBuilt`].
    ///
    /// ```
    /// use bnbound::model::{Error, Format, Model, Options};
    /// let o = Options::default();
    /// let e = Model::from_bytes(b"\x0a\xff".to_vec(), Format::Onnx, None, &o).unwrap_err();
    /// assert!(matches!(e, Error::Format(_)));
    /// let bytes = std::fs::read("tests/data/state.safetensors").unwrap();
    /// let sd = Model::from_bytes(bytes.clone(), Format::Safetensors, None, &o)?;
    /// assert_eq!(sd.layer("half")?.stored_as, "float16");
    /// assert_eq!(Model::from_bytes(bytes, Format::Auto, None, &o).unwrap_err(), Error::FormatNeeded);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn from_bytes(
        bytes: Vec<u8>,
        format: Format,
        base_dir: Option<&Path>,
        options: &Options,
    ) -> Result<Model> {
        let _env = crate::num::round::env::enter();
        let _ = base_dir; // used by ONNX only
        Ok(match reader(format, None)? {
            #[cfg(feature = "onnx")]
            Reader::Onnx => {
                Model::Onnx(onnx::OnnxModel::from_bytes(bytes, base_dir)?.with_options(options))
            }
            #[cfg(feature = "safetensors")]
            Reader::Safetensors => {
                Model::Safetensors(safetensors::StateDict::from_bytes(bytes, options.eps)?)
            }
        })
    }

    /// Loads the one layer `name` of the model file at `path`, keeping no state for the
    /// other layers (format and reading as [`Model::open`]): an ONNX graph is scanned for
    /// that node alone, a safetensors header is parsed keeping only that layer's entries,
    /// so memory is the file's bytes plus that layer, however many other layers the model
    /// has. Only when there is no such layer is the model indexed, to list its layers in
    /// the error.
    ///
    /// Errors: those of [`Model::open`] and [`Model::layer`]; a safetensors tensor whose
    /// offsets lie outside the data or do not match its shape is [`Error::Format`].
    ///
    /// ```
    /// use bnbound::model::{Error, Model, Options};
    /// let o = Options::default();
    /// let l = Model::open_layer("tests/data/state.safetensors", "half", &o)?;
    /// assert_eq!(l.bn.channels(), 4);
    /// let l = Model::open_layer("tests/data/conv_bn_relu_f32.onnx", "bn1", &o)?;
    /// assert_eq!(l.consumers, ["relu1"]);
    /// let e = Model::open_layer("tests/data/bn_f16.onnx", "nope", &o).unwrap_err();
    /// assert!(matches!(e, Error::UnknownLayer { .. }));
    /// let p = "tests/data/multi_initializer_is_input.onnx";
    /// assert!(Model::open_layer(p, "other", &o)?.overridable);
    /// let strict = o.strict_initializers(true);
    /// assert!(Model::open_layer(p, "other", &strict).is_err());
    /// assert!(!Model::open_layer(p, "good", &strict)?.overridable);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn open_layer(path: impl AsRef<Path>, name: &str, options: &Options) -> Result<ModelLayer> {
        let _env = crate::num::round::env::enter();
        let path = path.as_ref();
        match reader(options.format, Some(path))? {
            #[cfg(feature = "onnx")]
            Reader::Onnx => onnx::OnnxModel::open_layer(path, name, options),
            #[cfg(feature = "safetensors")]
            Reader::Safetensors => {
                match safetensors::StateDict::open_layer(path, name, options.eps) {
                    // Only now list the state_dict's layers, for the message.
                    Err(e) if matches!(e.inner(), Error::MissingTensor(_)) => {
                        Model::Safetensors(safetensors::StateDict::open(path, options.eps)?)
                            .layer(name)
                    }
                    other => other,
                }
            }
        }
    }

    /// The layers' names, in file order (ONNX) or sorted (safetensors).
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let m = Model::open("tests/data/bn_f16.onnx", &Options::default())?;
    /// assert_eq!(m.names(), ["bn16"]);
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn names(&self) -> Vec<&str> {
        match self {
            #[cfg(feature = "onnx")]
            Model::Onnx(m) => m.names().collect(),
            #[cfg(feature = "safetensors")]
            Model::Safetensors(m) => m.names().collect(),
        }
    }

    /// Loads one layer (the format's own `layer`: `OnnxModel::layer`, `StateDict::layer`);
    /// a name that is not a layer is [`Error::UnknownLayer`], every other error of the
    /// layer comes wrapped in [`Error::Layer`] naming it.
    ///
    /// ```
    /// use bnbound::model::{Error, Model, Options};
    /// let m = Model::open("tests/data/state.safetensors", &Options::default())?;
    /// assert!(m.layer("half").is_ok());
    /// assert!(matches!(m.layer("nope"), Err(Error::UnknownLayer { .. })));
    /// let e = Model::open("tests/data/bn_training_mode.onnx", &Options::default())?
    ///     .layer("bntrain")
    ///     .unwrap_err();
    /// assert!(matches!(e.inner(), Error::UnsupportedNode { .. }));
    /// assert_eq!(e.layer(), Some("bntrain"));
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn layer(&self, name: &str) -> Result<ModelLayer> {
        let _env = crate::num::round::env::enter();
        match self {
            #[cfg(feature = "onnx")]
            Model::Onnx(m) => m.layer(name),
            #[cfg(feature = "safetensors")]
            Model::Safetensors(m) if !m.contains(name) => Err(unknown_layer(name, m.names())),
            #[cfg(feature = "safetensors")]
            Model::Safetensors(m) => m.layer(name),
        }
    }

    /// Every layer in the order of [`Model::names`], each loaded when the iterator
    /// reaches it, with its own result (an invalid layer does not stop the others).
    ///
    /// ```
    /// use bnbound::model::{Model, Options};
    /// let sd = Model::open("tests/data/state.safetensors", &Options::default())?;
    /// assert!(sd.layers().all(|(_, l)| l.is_ok()));
    /// let m = Model::open("tests/data/conv_bn_relu_f32.onnx", &Options::default())?;
    /// let all: Vec<_> = m.layers().collect();
    /// assert!(all.len() == 1 && all[0].0 == "bn1" && all[0].1.is_ok());
    /// # Ok::<(), bnbound::model::Error>(())
    /// ```
    pub fn layers(&self) -> Box<dyn Iterator<Item = (&str, Result<ModelLayer>)> + '_> {
        match self {
            #[cfg(feature = "onnx")]
            Model::Onnx(m) => Box::new(m.layers()),
            #[cfg(feature = "safetensors")]
            Model::Safetensors(m) => Box::new(m.layers()),
        }
    }
}
