//! `bnbound`: sound BatchNorm bounds from the command line. See `src/docs/cli.md` for the
//! JSON contract. Exit status: 0 success, 2 invalid input, 3 `check` found an unsound
//! bound, 1 any other failure (an unreadable input, an unwritable output).

mod args;
// The unsound plain-float loops `bench` compares against: the test kit's file, compiled
// into the binary (not part of any crate's public API).
#[path = "../../testkit/src/baseline.rs"]
#[allow(dead_code)]
mod baseline;
mod bench;
mod cmd;
mod demo;
mod files;
mod layer;
mod models;

use args::{EpsArgs, LayerSource, Mode, SemanticsArgs};
use bnbound_cli::json::FormKind;
use clap::{Parser, Subcommand};
use cmd::boxes::Op;
use cmd::check::What;
use files::{write_to, Failure};
use models::inspect;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bnbound",
    version,
    about = "Sound bounds for inference-time BatchNorm"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Interval bound propagation: an output box containing the exact real image of BOX.
    Ibp {
        #[command(flatten)]
        layer: LayerSource,
        /// Input box (BOX JSON, numbers of the params' dtype).
        #[arg(long, value_name = "BOX.json")]
        input: PathBuf,
        /// Enclosure mode.
        #[arg(long, value_enum, default_value_t = Mode::Fast)]
        mode: Mode,
        #[command(flatten)]
        semantics: SemanticsArgs,
        /// Write the output box here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Forward composition: the form diag(s)·A·x + (s∘c + o) for a form A·x + c with one row
    /// per channel (F.json: {"A": {"lo", "hi"}, "c": {"lo", "hi"}}), or C·d1·… rows with
    /// "shape": [C, d1, ...] (CNN layout, channel first).
    Affine {
        #[command(flatten)]
        layer: LayerSource,
        /// The form feeding the layer.
        #[arg(long, value_name = "F.json")]
        input: PathBuf,
        /// Enclosure mode.
        #[arg(long, value_enum, default_value_t = Mode::Fast)]
        mode: Mode,
        #[command(flatten)]
        semantics: SemanticsArgs,
        /// The layer's input box (BOX JSON, one element per row, shape [1, C, ...] or [C]):
        /// required by --semantics deployed.
        #[arg(long = "box", value_name = "BOX.json")]
        input_box: Option<PathBuf>,
        /// Write the output here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Back-substitution: the function L'·x + d' of the layer's input for a linear function
    /// L·y + d of its output (L.json: {"L": {"lo", "hi"}, "d": {"lo", "hi"}}, C columns, or
    /// C·d1·… columns with "shape": [C, d1, ...], CNN layout).
    Backward {
        #[command(flatten)]
        layer: LayerSource,
        /// The linear function of the layer's output.
        #[arg(long, value_name = "L.json")]
        input: PathBuf,
        /// Enclosure mode.
        #[arg(long, value_enum, default_value_t = Mode::Fast)]
        mode: Mode,
        #[command(flatten)]
        semantics: SemanticsArgs,
        /// The layer's input box (BOX JSON, one element per column, shape [1, C, ...] or
        /// [C]): required by --semantics deployed.
        #[arg(long = "box", value_name = "BOX.json")]
        input_box: Option<PathBuf>,
        /// Write the output here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Derivative bounds through the chain rule: s·[dlo, dhi] (order 1) or s·[d2lo, d2hi]
    /// (order 2) for bounds on the derivatives of the layer's input (BOX JSON).
    Deriv {
        #[command(flatten)]
        layer: LayerSource,
        /// Bounds on df/dt (order 1) or d²f/dt² (order 2) of each input element.
        #[arg(long, value_name = "BOX.json")]
        input: PathBuf,
        /// 1 or 2.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        order: u8,
        /// Enclosure mode.
        #[arg(long, value_enum, default_value_t = Mode::Fast)]
        mode: Mode,
        #[command(flatten)]
        semantics: SemanticsArgs,
        /// Write the output box here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Decides exactly whether another tool's claimed result contains the exact one: an
    /// IBP box (default), a derivative box, a composed form or a back-substituted form.
    /// Exit status 0 when sound, 3 when unsound, 2 for invalid input.
    Check {
        #[command(flatten)]
        layer: LayerSource,
        /// The operation's input: BOX.json (ibp, deriv), F.json (affine) or L.json
        /// (backward), with the optional "shape" of CNN-shaped forms.
        #[arg(long, value_name = "IN.json")]
        input: PathBuf,
        /// The claimed result, as the operation's subcommand writes it (an output box
        /// {"dtype", "shape", "lo", "hi"}, or a form without "shape").
        #[arg(long, value_name = "CLAIMED.json")]
        claimed: PathBuf,
        /// Which operation produced the claim.
        #[arg(long, value_enum, default_value_t = What::Ibp)]
        what: What,
        #[command(flatten)]
        semantics: SemanticsArgs,
    },
    /// Folds the layer into the preceding convolution or linear layer (LAYER.json: {"dims":
    /// [O, I, k...], "weight": [..], "bias": [..]}) the way --runtime's graph optimiser
    /// does (onnxruntime-cpu: conv_bn_fusion): its float weights and bias bit for bit, and
    /// for each a bound on the distance to the exact real composition.
    Fold {
        #[command(flatten)]
        layer: LayerSource,
        /// The preceding layer.
        #[arg(long, value_name = "LAYER.json")]
        input: PathBuf,
        /// The runtime whose fusion to replay (onnxruntime-cpu).
        #[arg(long, value_name = "RUNTIME")]
        runtime: String,
        /// Write the output here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Runs IBP on a built-in BatchNorm2d layer and compares with the naive float bounds.
    Demo,
    /// Lists the BatchNorm layers of an ONNX model or a safetensors state_dict (JSON):
    /// name, channels, dtype, ε, scale range, channels with γ = 0 or tiny σ² + ε.
    Inspect {
        /// MODEL.onnx or STATE.safetensors.
        #[arg(value_name = "MODEL")]
        model: PathBuf,
        /// safetensors: only the layer with this tensor prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// ONNX: refuse statistics that are initializers also listed as graph inputs
        /// (a feed could override them at run time). By default they are read as the
        /// constants in the file, as onnxruntime does, and inspect reports "overridable".
        #[arg(long)]
        strict_initializers: bool,
        #[command(flatten)]
        eps: EpsArgs,
    },
    /// Measures sound IBP against the unsound plain-float loop on this machine and prints
    /// the ratios (median of REPS runs each).
    Bench {
        /// Box shape, comma-separated (channel axis 1). Default: three shapes,
        /// (8,64,128,128) (out of every cache), (1,64,128,128) and (256,512) (rows of
        /// channels, in cache).
        #[arg(long, value_delimiter = ',')]
        shape: Option<Vec<usize>>,
        /// Element type: f32 or f64.
        #[arg(long, default_value = "f32")]
        dtype: String,
        /// Timed runs per variant.
        #[arg(long, default_value_t = 21, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        reps: u32,
    },
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Ibp {
            layer,
            input,
            mode,
            semantics,
            output,
        } => cmd::boxes::run(&layer, &input, output.as_deref(), Op::Ibp, mode, &semantics),
        // Order 1 and 2 alike: BatchNorm is affine, (BN∘f)'' = s·f''.
        Command::Deriv {
            layer,
            input,
            order: _,
            mode,
            semantics,
            output,
        } => cmd::boxes::run(
            &layer,
            &input,
            output.as_deref(),
            Op::Deriv,
            mode,
            &semantics,
        ),
        Command::Affine {
            layer,
            input,
            mode,
            semantics,
            input_box,
            output,
        } => cmd::forms::run(
            &layer,
            &input,
            output.as_deref(),
            FormKind::Affine,
            mode,
            &semantics,
            input_box.as_deref(),
        ),
        Command::Backward {
            layer,
            input,
            mode,
            semantics,
            input_box,
            output,
        } => cmd::forms::run(
            &layer,
            &input,
            output.as_deref(),
            FormKind::Linear,
            mode,
            &semantics,
            input_box.as_deref(),
        ),
        Command::Check {
            layer,
            input,
            claimed,
            what,
            semantics,
        } => cmd::check::run(&layer, &input, &claimed, what, &semantics),
        Command::Fold {
            layer,
            input,
            runtime,
            output,
        } => cmd::fold::run(&layer, &input, output.as_deref(), &runtime),
        Command::Inspect {
            model,
            prefix,
            strict_initializers,
            eps,
        } => inspect(&model, prefix.as_deref(), strict_initializers, &eps),
        Command::Demo => write_to(None, |w| w.write_all(demo::report().as_bytes())),
        Command::Bench { shape, dtype, reps } => {
            let dtype: bnbound::Dtype = dtype
                .parse()
                .map_err(|e: bnbound::Error| Failure::Invalid(e.to_string()))?;
            let shapes = match shape {
                Some(s) => vec![s],
                None => bench::DEFAULT_SHAPES.iter().map(|s| s.to_vec()).collect(),
            };
            let mut text = String::new();
            for (k, shape) in shapes.into_iter().enumerate() {
                if k > 0 {
                    text.push('\n');
                }
                let report = match dtype {
                    bnbound::Dtype::F32 => bench::report::<f32>(&shape, reps as usize),
                    bnbound::Dtype::F64 => bench::report::<f64>(&shape, reps as usize),
                };
                text += &report.map_err(Failure::Invalid)?;
            }
            write_to(None, |w| w.write_all(text.as_bytes()))
        }
    }
}

/// One line on standard error; a failure to write it is ignored (the exit status still
/// tells), never a panic.
fn complain(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "bnbound: {}", msg.replace('\n', " "));
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(msg)) => {
            complain(&format!("invalid input: {msg}"));
            ExitCode::from(2)
        }
        Err(Failure::Other(msg)) => {
            complain(&msg);
            ExitCode::from(1)
        }
        Err(Failure::Unsound) => ExitCode::from(3),
    }
}
