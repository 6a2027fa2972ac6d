//! The typed errors of bnbound.

/// Which parameter vector (or scalar) an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// γ, the learned scale (`weight` in PyTorch, `scale` in ONNX).
    Gamma,
    /// β, the learned bias (`bias` in PyTorch, `B` in ONNX).
    Beta,
    /// μ, the running mean.
    RunningMean,
    /// σ², the running variance.
    RunningVar,
    /// ε.
    Eps,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Gamma => "gamma",
            Field::Beta => "beta",
            Field::RunningMean => "running_mean",
            Field::RunningVar => "running_var",
            Field::Eps => "eps",
        })
    }
}

/// Which endpoint of a box an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The lower endpoint.
    Lo,
    /// The upper endpoint.
    Hi,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Lo => "lo",
            Side::Hi => "hi",
        })
    }
}

/// Everything that can be wrong with the numbers a caller passes to bnbound's core:
/// parameters, shapes, boxes and forms. Model files have their own error type
/// (`bnbound::model::Error`, features `onnx`/`safetensors`); the CLI's JSON contract has
/// `bnbound_cli::json::Error`.
///
/// Every message is a single line that names the offending field, channel or element.
/// No function of bnbound modifies anything the caller passed when it returns an error.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The layer has no channels.
    #[error("gamma is empty: a BatchNorm layer needs at least one channel")]
    NoChannels,
    /// A parameter vector's length differs from gamma's.
    #[error("{field} has {found} entries but gamma has {expected}")]
    ParamLength {
        /// The vector with the wrong length.
        field: Field,
        /// gamma's length.
        expected: usize,
        /// This vector's length.
        found: usize,
    },
    /// A parameter is NaN or infinite.
    #[error("{field}[{channel}] is {value}: parameters must be finite")]
    NonFiniteParam {
        /// The vector.
        field: Field,
        /// The channel (0 for `eps`).
        channel: usize,
        /// The value, as `f64`.
        value: f64,
    },
    /// A running variance is negative (a corrupt model; bnbound never clamps).
    #[error("running_var[{channel}] = {value} is negative")]
    NegativeVariance {
        /// The channel.
        channel: usize,
        /// The value, as `f64`.
        value: f64,
    },
    /// ε is negative.
    #[error("eps = {0} is negative")]
    NegativeEps(f64),
    /// `var + ε` is zero in exact arithmetic: the layer divides by zero.
    #[error("running_var[{channel}] + eps = 0: the layer divides by zero")]
    ZeroDenominator {
        /// The channel.
        channel: usize,
    },
    /// The shape is not `(C)`, `(N,C)`, `(N,C,L)`, `(N,C,H,W)` or `(N,C,D,H,W)`.
    #[error("shape {0:?} has rank {len}, expected 1 to 5", len = .0.len())]
    BadRank(Vec<usize>),
    /// The number of elements of the shape does not fit in `usize`.
    #[error("shape {0:?} has too many elements")]
    ShapeOverflow(Vec<usize>),
    /// The shape's channel dimension differs from the layer's channel count.
    #[error("shape has {found} channels on the channel axis but the layer has {expected}")]
    ChannelMismatch {
        /// The layer's channel count.
        expected: usize,
        /// The shape's channel dimension.
        found: usize,
    },
    /// A data vector's length differs from the number of elements of its shape.
    #[error("{what} has {found} elements but the shape needs {expected}")]
    DataLength {
        /// Which vector (`"lo"`, `"hi"`, an output buffer, ...).
        what: &'static str,
        /// The number of elements of the shape.
        expected: usize,
        /// The vector's length.
        found: usize,
    },
    /// A box endpoint is NaN.
    #[error("{side}[{index}] is NaN")]
    NanBound {
        /// The flat row-major element index.
        index: usize,
        /// The endpoint.
        side: Side,
    },
    /// A box has `lo > hi` at some element.
    #[error("lo[{index}] = {lo} > hi[{index}] = {hi}")]
    InvertedBound {
        /// The flat row-major element index.
        index: usize,
        /// The lower endpoint, as `f64`.
        lo: f64,
        /// The upper endpoint, as `f64`.
        hi: f64,
    },
    /// Text that is not an excess as `check::Excess` writes it.
    #[error("{0:?} is not an excess (expected \"inf\", \"0\" or d.ddde±x with at most 17 digits)")]
    UnknownExcess(String),
    /// Two shapes that must agree do not (a claimed result and the operation's input, an
    /// output view and the input, a form's constant and its matrix).
    #[error("{what} has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// What has the wrong shape.
        what: &'static str,
        /// The shape it must have.
        expected: Vec<usize>,
        /// Its shape.
        found: Vec<usize>,
    },
    /// An array of the wrong rank (a form's matrix is `[rows, cols]`, a folded layer's
    /// weight `[out, in, kernel…]`).
    #[error("{what} has shape {found:?}, expected {expected}")]
    WrongRank {
        /// The array.
        what: &'static str,
        /// The expected layout.
        expected: &'static str,
        /// Its shape.
        found: Vec<usize>,
    },
    /// A vector whose length does not fit the rest (a weight against its dims, a bias
    /// against the outputs).
    #[error("{what} has {found} entries, expected {expected}")]
    LengthMismatch {
        /// The vector.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// Its length.
        found: usize,
    },
    /// A form whose rows (compose) or columns (back-substitution) do not match the layer's
    /// per-sample input shape `[C, d1, …]`.
    #[error("the form has {found} {axis} but the layer's input shape {sample:?} has {expected} elements")]
    FormShape {
        /// `"rows"` or `"columns"`.
        axis: &'static str,
        /// The number of elements of `sample`.
        expected: usize,
        /// The form's rows or columns.
        found: usize,
        /// The per-sample shape.
        sample: Vec<usize>,
    },
    /// An `ndarray` view that is not contiguous row-major.
    #[error("{what} is not a contiguous row-major (standard layout) array; pass a copy made with .as_standard_layout()")]
    NotStandardLayout {
        /// Which view.
        what: &'static str,
    },
    /// A weight or bias entry of a layer to fold, or a coefficient of a point form, is NaN or
    /// infinite.
    #[error("{what}[{index}] = {value} is not finite")]
    NonFiniteWeight {
        /// `"weight"`, `"bias"` or `"Λ"`.
        what: &'static str,
        /// The flat index.
        index: usize,
        /// The value, as `f64`.
        value: f64,
    },
    /// A runtime name other than `"pytorch-cpu"` or `"onnxruntime-cpu"`.
    #[error("unknown runtime {0:?}: expected \"pytorch-cpu\", \"onnxruntime-cpu\" or \"any\"")]
    UnknownRuntime(String),
    /// Under deployed semantics, the runtime computes NaN for some input of the box
    /// (`0·∞` or `∞ − ∞` in its float recipe), which no bound can contain.
    #[error("element {index} (channel {channel}): the runtime computes NaN for some input of this box (0·∞ or ∞−∞ in its float recipe)")]
    DeployedNan {
        /// The flat row-major element index.
        index: usize,
        /// The element's channel.
        channel: usize,
    },
    /// The runtime's fused weights or bias contain NaN (`0·∞` or `∞ − ∞` in its float
    /// fusion, e.g. a zero weight times a scale that overflowed): the folded layer the
    /// runtime would execute computes NaN, which no bound can contain.
    #[error("{what}[{index}] (channel {channel}): the runtime's fusion computes NaN (0·∞ or ∞−∞ in its float arithmetic)")]
    DeployedFoldNan {
        /// `"weight"`, `"bias"` or `"Λ"`.
        what: &'static str,
        /// The flat row-major index in it.
        index: usize,
        /// The output channel.
        channel: usize,
    },
    /// The runtime does not fold BatchNorm into the preceding layer at inference time, so
    /// there is no deployed fold to replay.
    #[error("{0} does not fold BatchNorm into the preceding layer at inference time")]
    NoDeployedFold(&'static str),
    /// Deployed semantics of a layer stored in a 16-bit type needs an `f32` layer (the
    /// 16-bit kernels compute in `f32` with an `f32` ε); this one is `f64` (e.g. a
    /// safetensors ε read as `f64` that is not an `f32` value).
    #[error("the layer is stored as {0} but its eps is not an f32 value (an f64 layer): the {0} kernels compute with an f32 eps; read eps as f32 (--eps-dtype f32, eps_dtype=\"f32\") for deployed semantics")]
    StoredLayerNotF32(&'static str),
    /// A value that must be of the 16-bit storage type is not.
    #[error("{what}[{index}] is not a value of the storage type")]
    NotInStorage {
        /// The vector (`"gamma"`, …, `"lo"`, `"hi"`).
        what: &'static str,
        /// The index in it.
        index: usize,
    },
    /// `Runtime::Any { ulps }` with `ulps` above `Runtime::MAX_ULPS`.
    #[error("runtime any: {ulps} ulps is more than the {max} the error model accepts")]
    UlpsOutOfRange {
        /// The requested ulps.
        ulps: u64,
        /// The largest accepted.
        max: u32,
    },
    /// A semantics name other than `"real"` or `"deployed"`
    /// (`Semantics::from_options`).
    #[error("unknown semantics {0:?}: expected \"real\" or \"deployed\"")]
    UnknownSemantics(String),
    /// A mode name other than `"fast"` or `"tight"` (`Mode`'s `from_str`).
    #[error("unknown mode {0:?}: expected \"fast\" or \"tight\"")]
    UnknownMode(String),
    /// A runtime given with real semantics.
    #[error("a runtime applies to deployed semantics only")]
    RuntimeWithoutDeployed,
    /// Deployed semantics without a runtime.
    #[error("deployed semantics needs a runtime: pytorch-cpu, onnxruntime-cpu or any")]
    DeployedWithoutRuntime,
    /// An ulps count given for a runtime other than `any`.
    #[error("ulps applies to the runtime any only")]
    UlpsWithoutAny,
    /// Tight mode asked of a build without the `mpfr` feature.
    #[error(
        "tight mode needs bnbound built with the `mpfr` feature (GMP/MPFR through rug; needs m4)"
    )]
    TightNeedsMpfr,
    /// An operation that this semantics or mode does not offer (e.g. a runtime's outputs
    /// under real semantics, linear forms under deployed semantics).
    #[error("{op} is not available in {context}")]
    NotAvailable {
        /// The operation.
        op: &'static str,
        /// The semantics and mode asked for, as text.
        context: String,
    },
    /// The exact checker cannot decide this question.
    #[error("{0}")]
    NotDecidable(&'static str),
    /// A dtype name other than `"f32"` or `"f64"` ([`crate::Dtype`]'s `from_str`).
    #[error("unknown dtype {0:?}: expected \"f32\" or \"f64\"")]
    UnknownDtype(String),
    /// A number's text is longer than [`crate::exact::MAX_NUMBER_LEN`] bytes.
    #[error("a number of {len} characters is longer than the {max} read (write at most {max} characters per number)")]
    NumberTooLong {
        /// The text's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A text that is not a JSON number (at most 80 characters of it).
    #[error("{0} is not a number")]
    NotANumber(String),
    /// A storage type name other than `"f16"` or `"bf16"` ([`crate::Storage`]'s `from_str`).
    #[error("unknown storage type {0:?}: expected \"f16\" or \"bf16\"")]
    UnknownStorage(String),
}

/// At most 80 characters of `s` (a name or token quoted in an error message), with `…`
/// marking a cut, so that a hostile file cannot make a message arbitrarily long.
pub(crate) fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX - 1).collect();
        t.push('…');
        t
    }
}

/// `Result` with bnbound's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
