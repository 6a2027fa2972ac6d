//! The options several subcommands share: where the layer comes from, ε for
//! state_dicts, the mode and the semantics.

use crate::files::Failure;
use clap::ValueEnum;
use std::path::PathBuf;

/// Where a subcommand's layer comes from: a PARAMS file, or a layer of a model file.
#[derive(clap::Args)]
pub(crate) struct LayerSource {
    /// Layer parameters (PARAMS JSON).
    #[arg(
        long,
        value_name = "PARAMS.json",
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    pub(crate) params: Option<PathBuf>,
    /// A model file (.onnx or .safetensors) to take the layer from, with --layer.
    #[arg(long, value_name = "MODEL", requires = "layer")]
    pub(crate) model: Option<PathBuf>,
    /// The layer's name in --model (ONNX node name, or safetensors tensor prefix).
    #[arg(long, value_name = "NAME", requires = "model")]
    pub(crate) layer: Option<String>,
    /// ONNX: refuse statistics that are initializers also listed as graph inputs
    /// (a feed could override them at run time). By default they are read as the
    /// constants in the file, as onnxruntime does, and inspect reports "overridable".
    #[arg(long)]
    pub(crate) strict_initializers: bool,
    #[command(flatten)]
    pub(crate) eps: EpsArgs,
}

/// ε for safetensors state_dicts (which do not store it).
#[derive(clap::Args)]
pub(crate) struct EpsArgs {
    /// ε of a safetensors layer (ONNX models carry their own). Default 1e-5.
    #[arg(long, value_name = "EPS")]
    pub(crate) eps: Option<String>,
    /// The precision ε is stated in: f32 (PyTorch's default for f32 models) or f64.
    #[arg(long, value_name = "DTYPE", default_value = "f32")]
    pub(crate) eps_dtype: String,
}

/// `--semantics` and `--runtime` of `ibp`, `deriv` and `check`.
#[derive(clap::Args)]
pub(crate) struct SemanticsArgs {
    /// real: bounds contain the exact real function of the stored parameters. deployed:
    /// also every output the runtime (--runtime) computes in floats.
    #[arg(long, value_name = "SEMANTICS", default_value = "real")]
    semantics: String,
    /// The runtime for --semantics deployed: pytorch-cpu, onnxruntime-cpu, or any (every
    /// evaluation order, with --ulps).
    #[arg(long, value_name = "RUNTIME")]
    runtime: Option<String>,
    /// With --runtime any: how many ulps √, 1/√ and ÷ may be off (default 2).
    #[arg(long, value_name = "K")]
    ulps: Option<u64>,
}

impl SemanticsArgs {
    /// The semantics, by the library's rules ([`bnbound::Semantics::from_options`]).
    pub(crate) fn resolve(&self) -> Result<bnbound::Semantics, Failure> {
        bnbound::Semantics::from_options(Some(&self.semantics), self.runtime.as_deref(), self.ulps)
            .map_err(|e| Failure::Invalid(format!("--semantics/--runtime/--ulps: {e}")))
    }
}

/// `--mode`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Mode {
    /// Outward-rounded f64 enclosure (portable, fast).
    Fast,
    /// Tightest floating-point enclosure via MPFR (needs the `mpfr` feature).
    Tight,
}

impl Mode {
    /// The library's mode, if this build offers it.
    pub(crate) fn resolve(self) -> Result<bnbound::Mode, Failure> {
        let mode = match self {
            Mode::Fast => bnbound::Mode::Fast,
            Mode::Tight => bnbound::Mode::Tight,
        };
        if !mode.available() {
            return Err(Failure::Invalid(
                "--mode tight needs the `mpfr` feature: build with \
                 cargo build --release -p bnbound-cli --features mpfr (needs m4 for GMP)"
                    .into(),
            ));
        }
        Ok(mode)
    }
}
