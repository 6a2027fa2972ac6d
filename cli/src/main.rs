//! `bnbound`: sound BatchNorm bounds from the command line. See `src/docs/cli.md` for the
//! JSON contract. Exit status: 0 success, 2 invalid input, 3 `check` found an unsound
//! bound, 1 any other failure (an unreadable input, an unwritable output).

mod bench;
mod demo;
mod files;
mod models;

use bnbound::{AnyBatchNorm, BatchNorm, Float, Runtime, Semantics, TensorBox};
use bnbound_cli::json::{self, FormKind};
use clap::{Parser, Subcommand, ValueEnum};
use files::{invalid, read, write_to, Failure};
use models::inspect;
use std::path::{Path, PathBuf};
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

/// Where a subcommand's layer comes from: a PARAMS file, or a layer of a model file.
#[derive(clap::Args)]
struct LayerSource {
    /// Layer parameters (PARAMS JSON).
    #[arg(
        long,
        value_name = "PARAMS.json",
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    params: Option<PathBuf>,
    /// A model file (.onnx or .safetensors) to take the layer from, with --layer.
    #[arg(long, value_name = "MODEL", requires = "layer")]
    model: Option<PathBuf>,
    /// The layer's name in --model (ONNX node name, or safetensors tensor prefix).
    #[arg(long, value_name = "NAME", requires = "model")]
    layer: Option<String>,
    /// ONNX: refuse statistics that are initializers also listed as graph inputs
    /// (a feed could override them at run time). By default they are read as the
    /// constants in the file, as onnxruntime does, and inspect reports "overridable".
    #[arg(long)]
    strict_initializers: bool,
    #[command(flatten)]
    eps: EpsArgs,
}

/// ε for safetensors state_dicts (which do not store it).
#[derive(clap::Args)]
struct EpsArgs {
    /// ε of a safetensors layer (ONNX models carry their own). Default 1e-5.
    #[arg(long, value_name = "EPS")]
    eps: Option<String>,
    /// The precision ε is stated in: f32 (PyTorch's default for f32 models) or f64.
    #[arg(long, value_name = "DTYPE", default_value = "f32")]
    eps_dtype: String,
}

/// `--semantics` and `--runtime` of `ibp`, `deriv` and `check`.
#[derive(clap::Args)]
struct SemanticsArgs {
    /// real: bounds contain the exact real function of the stored parameters. deployed:
    /// also every output the runtime (--runtime) computes in floats.
    #[arg(long, value_enum, default_value_t = SemanticsKind::Real)]
    semantics: SemanticsKind,
    /// The runtime for --semantics deployed: pytorch-cpu, onnxruntime-cpu, or any (every
    /// evaluation order, with --ulps).
    #[arg(long, value_name = "RUNTIME")]
    runtime: Option<String>,
    /// With --runtime any: how many ulps √, 1/√ and ÷ may be off (default 2).
    #[arg(long, value_name = "K")]
    ulps: Option<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SemanticsKind {
    Real,
    Deployed,
}

impl SemanticsArgs {
    fn resolve(&self) -> Result<Semantics, Failure> {
        let bad = |m: String| Failure::Invalid(m);
        match (self.semantics, &self.runtime) {
            (SemanticsKind::Real, None) => Ok(Semantics::Real),
            (SemanticsKind::Real, Some(_)) => {
                Err(bad("--runtime applies to --semantics deployed".into()))
            }
            (SemanticsKind::Deployed, None) => Err(bad(
                "--semantics deployed needs --runtime pytorch-cpu|onnxruntime-cpu".into(),
            )),
            (SemanticsKind::Deployed, Some(r)) => {
                let rt = r
                    .parse::<Runtime>()
                    .map_err(|e| bad(format!("--runtime: {e}")))?;
                match (rt, self.ulps) {
                    (Runtime::Any { .. }, Some(k)) => {
                        Ok(Semantics::Deployed(Runtime::Any { ulps: k }))
                    }
                    (_, Some(_)) => Err(bad("--ulps applies to --runtime any".into())),
                    (rt, None) => Ok(Semantics::Deployed(rt)),
                }
            }
        }
        .and_then(|s| match (s, self.ulps, self.semantics) {
            (Semantics::Real, Some(_), _) => Err(bad("--ulps applies to --runtime any".into())),
            (s, _, _) => Ok(s),
        })
    }
}

/// Which per-layer operation a subcommand runs.
#[derive(Clone, Copy)]
// Without MPFR the mode is validated (`require_mode`) but never dispatched on.
#[cfg_attr(not(feature = "mpfr"), allow(dead_code))]
enum Op {
    Ibp(Mode, Semantics),
    /// Chain-rule derivative of order 1 or 2.
    Deriv(u8, Mode, Semantics),
    Affine(Mode),
    Backward(Mode),
    /// The exact checker of one operation.
    Check(What, Semantics),
    /// A runtime's fold into the preceding layer.
    Fold(Runtime),
}

/// The operation whose result `check` decides.
#[derive(Clone, Copy, ValueEnum)]
enum What {
    /// IBP output boxes.
    Ibp,
    /// Chain-rule derivative boxes (order 1 or 2 alike).
    Deriv,
    /// Composed forms (`affine`).
    Affine,
    /// Back-substituted forms (`backward`).
    Backward,
}

/// The element-wise hull of two boxes of one shape.
fn hull<T: Float>(a: &TensorBox<T>, b: &TensorBox<T>) -> Result<TensorBox<T>, bnbound::Error> {
    let lo = a.lo().iter().zip(b.lo()).map(|(&x, &y)| x.min(y)).collect();
    let hi = a.hi().iter().zip(b.hi()).map(|(&x, &y)| x.max(y)).collect();
    TensorBox::new(*a.shape(), lo, hi)
}

/// Rejects tight mode in builds without MPFR.
fn require_mode(mode: Mode) -> Result<(), Failure> {
    if matches!(mode, Mode::Tight) && !cfg!(feature = "mpfr") {
        return Err(Failure::Invalid(
            "--mode tight needs the `mpfr` feature: build with \
             cargo build --release -p bnbound-cli --features mpfr (needs m4 for GMP)"
                .into(),
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// Outward-rounded f64 enclosure (portable, fast).
    Fast,
    /// Tightest floating-point enclosure via MPFR (needs the `mpfr` feature).
    Tight,
}

#[allow(clippy::too_many_arguments)]
fn run_typed<T: Float>(
    bn: &BatchNorm<T>,
    op: Op,
    text: &str,
    input: &Path,
    output: Option<&Path>,
    claimed: Option<(&str, &Path)>,
    source: &LayerSource,
    model_layer: Option<&bnbound::model::ModelLayer>,
) -> Result<(), Failure> {
    let enc = bn.enclose();
    match op {
        Op::Ibp(..) | Op::Deriv(..) => {
            let b = json::parse_box::<T>(text).map_err(invalid(input))?;
            // Without MPFR, `require_mode` has already rejected tight mode.
            let out = match op {
                #[cfg(feature = "mpfr")]
                Op::Ibp(Mode::Tight, _) => bn.tight().ibp(&b),
                #[cfg(feature = "mpfr")]
                Op::Deriv(_, Mode::Tight, _) => bn.tight().derivative_chain(&b),
                Op::Ibp(..) => enc.ibp(&b),
                Op::Deriv(1, ..) => enc.derivative_chain(&b),
                _ => enc.second_derivative_chain(&b),
            }
            .map_err(invalid(input))?;
            // Deployed semantics widens the real enclosure of either mode.
            let out = match op {
                Op::Ibp(_, Semantics::Deployed(rt)) => bn.deployed(rt).widen(&b, out),
                Op::Deriv(_, _, Semantics::Deployed(rt)) => bn
                    .deployed(rt)
                    .derivative_chain(&b)
                    .and_then(|d| hull(&out, &d)),
                _ => Ok(out),
            }
            .map_err(invalid(input))?;
            write_to(output, |w| json::write_box(&out, w))
        }
        Op::Affine(_) | Op::Backward(_) => {
            let kind = match op {
                Op::Affine(_) => FormKind::Affine,
                _ => FormKind::Linear,
            };
            let (f, shape) = json::parse_shaped_form::<T>(text, kind).map_err(invalid(input))?;
            // Without "shape" the form has one row (column) per channel.
            let sample = shape.unwrap_or_else(|| vec![bn.channels()]);
            let out = match op {
                #[cfg(feature = "mpfr")]
                Op::Affine(Mode::Tight) => bn.tight().compose_shaped(&f, &sample),
                #[cfg(feature = "mpfr")]
                Op::Backward(Mode::Tight) => bn.tight().backward_shaped(&f, &sample),
                Op::Affine(_) => enc.compose_shaped(&f, &sample),
                _ => enc.backward_shaped(&f, &sample),
            }
            .map_err(invalid(input))?;
            write_to(output, |w| json::write_form(&out, kind, w))
        }
        Op::Fold(runtime) => {
            let l = json::parse_layer::<T>(text).map_err(invalid(input))?;
            if let Some(m) = model_layer {
                models::check_fold(m, l.dims(), source, runtime)?;
            }
            let f = bn
                .deployed(runtime)
                .fold_into_preceding(&l)
                .map_err(invalid(input))?;
            write_to(output, |w| json::write_deployed_fold(&f, w))
        }
        Op::Check(what, semantics) => {
            let (ctext, cpath) = claimed.expect("check has a claimed result");
            let checker = bn.checker().keeping(100);
            let report = match what {
                What::Ibp | What::Deriv => {
                    // The checker decides on the box named: exact values (or a typed box).
                    let b = json::parse_output_box::<T>(text).map_err(invalid(input))?;
                    let c = json::parse_output_box::<T>(ctext).map_err(invalid(cpath))?;
                    match (what, semantics) {
                        (What::Ibp, _) => checker.ibp_in(semantics, &b, &c),
                        (_, Semantics::Real) => checker.derivative_chain(&b, &c),
                        _ => {
                            return Err(Failure::Invalid(
                                "check --semantics deployed decides IBP boxes (--what ibp)".into(),
                            ))
                        }
                    }
                }
                What::Affine | What::Backward if semantics != Semantics::Real => {
                    return Err(Failure::Invalid(
                        "check --semantics deployed decides IBP boxes (--what ibp)".into(),
                    ))
                }
                What::Affine | What::Backward => {
                    let kind = match what {
                        What::Affine => FormKind::Affine,
                        _ => FormKind::Linear,
                    };
                    let (f, shape) =
                        json::parse_claimed_form::<T>(text, kind).map_err(invalid(input))?;
                    let (c, _) =
                        json::parse_claimed_form::<T>(ctext, kind).map_err(invalid(cpath))?;
                    let sample = shape.unwrap_or_else(|| vec![bn.channels()]);
                    match what {
                        What::Affine => checker.compose_shaped(&f, &sample, &c),
                        _ => checker.backward_shaped(&f, &sample, &c),
                    }
                }
            }
            .map_err(invalid(cpath))?;
            let with_source = semantics != Semantics::Real;
            write_to(output, |w| {
                json::write_report::<T, _>(&report, 100, with_source, w)
            })?;
            if report.sound() {
                Ok(())
            } else {
                Err(Failure::Unsound)
            }
        }
    }
}

fn run_op(
    layer: &LayerSource,
    input: &Path,
    output: Option<&Path>,
    op: Op,
    claimed: Option<&Path>,
) -> Result<(), Failure> {
    // PARAMS of a 16-bit storage type (f16, bf16): IBP only.
    if let Some(p) = &layer.params {
        let ptext = read(p, "params")?;
        if let Some(storage) = json::stored_dtype(&ptext) {
            return run_stored(&ptext, p, storage, op, input, output);
        }
    }
    let (bn, model_layer) = layer.load()?;
    let model_layer = model_layer.as_ref();
    let storage = model_layer.and_then(|l| l.storage);
    if let Some(l) = model_layer {
        let deployed = matches!(
            op,
            Op::Ibp(_, Semantics::Deployed(_))
                | Op::Deriv(_, _, Semantics::Deployed(_))
                | Op::Check(_, Semantics::Deployed(_))
        );
        if deployed && !l.x_type_known {
            return Err(Failure::Invalid(format!(
                "layer {:?}: the element type of the layer's input is not declared and cannot \
                 be inferred (BatchNormalization-15 lets it differ from the statistics'), so \
                 the deployed arithmetic is unknown; declare it with value_info or use \
                 --semantics real",
                bnbound::short(&l.name)
            )));
        }
    }
    // A model stored in a 16-bit type runs 16-bit arithmetic: deployed semantics is its
    // 16-bit recipe, never the f32 one. Real semantics is the f32 layer of the same values.
    if let (Some(storage), AnyBatchNorm::F64(_)) = (storage, &bn) {
        let deployed = matches!(
            op,
            Op::Ibp(_, Semantics::Deployed(_))
                | Op::Deriv(_, _, Semantics::Deployed(_))
                | Op::Check(_, Semantics::Deployed(_))
                | Op::Fold(_)
        );
        if deployed {
            let e = bnbound::Error::StoredLayerNotF32(storage.name());
            return Err(Failure::Invalid(format!(
                "layer {:?}: {e}",
                bnbound::short(layer.layer.as_deref().unwrap_or(""))
            )));
        }
    }
    if let (Some(storage), AnyBatchNorm::F32(bn)) = (storage, &bn) {
        let name = layer.layer.as_deref().unwrap_or("");
        match op {
            Op::Ibp(Mode::Fast, Semantics::Deployed(_)) => {
                // BatchNormalization-15 with a 16-bit X and f32 statistics that are not
                // values of X's type: the 16-bit recipe takes storage-type statistics.
                let off_grid = [bn.gamma(), bn.beta(), bn.running_mean(), bn.running_var()]
                    .iter()
                    .any(|v| v.iter().any(|&x| !storage.holds(x)));
                if off_grid {
                    return Err(Failure::Invalid(format!(
                        "layer {:?}: its input is {} and its statistics are f32 values that \
                         are not all {} values (BatchNormalization-15 with mixed types): \
                         deployed {} arithmetic with such statistics is not replayed; use \
                         --semantics real",
                        bnbound::short(name),
                        storage.name(),
                        storage.name(),
                        storage.name()
                    )));
                }
                return run_stored_layer(bn, storage, op, input, output);
            }
            Op::Ibp(_, Semantics::Real)
            | Op::Deriv(_, _, Semantics::Real)
            | Op::Affine(_)
            | Op::Backward(_)
            | Op::Check(_, Semantics::Real) => {}
            Op::Fold(rt) => {
                return Err(Failure::Invalid(format!(
                    "layer {:?} is stored as {}: {} does not fold 16-bit layers \
                     (its Conv→BatchNorm fusion takes float and double only)",
                    bnbound::short(name),
                    storage.name(),
                    rt.name()
                )))
            }
            _ => {
                return Err(Failure::Invalid(format!(
                    "layer {:?} is stored as {}: deployed semantics of 16-bit arithmetic \
                     is replayed for ibp (fast mode); use --semantics real for this command",
                    bnbound::short(name),
                    storage.name()
                )))
            }
        }
    }
    let text = read(input, "input")?;
    let ctext = claimed.map(|c| read(c, "claimed")).transpose()?;
    let claimed = ctext.as_deref().zip(claimed);
    match &bn {
        AnyBatchNorm::F32(bn) => {
            run_typed(bn, op, &text, input, output, claimed, layer, model_layer)
        }
        AnyBatchNorm::F64(bn) => {
            run_typed(bn, op, &text, input, output, claimed, layer, model_layer)
        }
    }
}

/// `ibp` on f16/bf16 PARAMS and BOX: the layer computed in f32 from the storage values;
/// real bounds rounded outward to the storage type, or PyTorch's deployed f16/bf16 path.
fn run_stored(
    ptext: &str,
    ppath: &Path,
    storage: bnbound::Storage,
    op: Op,
    input: &Path,
    output: Option<&Path>,
) -> Result<(), Failure> {
    if !matches!(op, Op::Ibp(Mode::Fast, _)) {
        return Err(Failure::Invalid(format!(
            "{}: dtype {} is supported by ibp (fast mode, real or deployed semantics)",
            ppath.display(),
            storage.name()
        )));
    }
    let bn = json::parse_stored_params(ptext, storage).map_err(invalid(ppath))?;
    run_stored_layer(&bn, storage, op, input, output)
}

/// `ibp` of a layer whose values are of a 16-bit storage type (from f16/bf16 PARAMS or a
/// 16-bit model file) on a BOX read onto the storage grid.
fn run_stored_layer(
    bn: &BatchNorm<f32>,
    storage: bnbound::Storage,
    op: Op,
    input: &Path,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let Op::Ibp(Mode::Fast, semantics) = op else {
        return Err(Failure::Invalid(
            "16-bit layers: ibp (fast mode) only".into(),
        ));
    };
    let b = json::parse_stored_box(&read(input, "input")?, storage).map_err(invalid(input))?;
    let out = match semantics {
        Semantics::Real => bn.enclose().ibp(&b).and_then(|r| {
            let lo = r.lo().iter().map(|&x| storage.down(x)).collect();
            let hi = r.hi().iter().map(|&x| storage.up(x)).collect();
            TensorBox::new(*r.shape(), lo, hi)
        }),
        Semantics::Deployed(rt) => {
            if !matches!(rt, bnbound::Runtime::Any { .. }) && !rt.replays(storage) {
                eprintln!(
                    "note: {rt}'s {} kernels are not replayed; these are --runtime any's \
                     bounds (2 ulps, every order and f32/{} mixture)",
                    storage.name(),
                    storage.name()
                );
            }
            bn.deployed(rt).ibp_stored(&b, storage)
        }
    }
    .map_err(invalid(input))?;
    write_to(output, |w| json::write_stored_box(&out, storage, w))
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Ibp {
            layer,
            input,
            mode,
            semantics,
            output,
        } => {
            require_mode(mode)?;
            let op = Op::Ibp(mode, semantics.resolve()?);
            run_op(&layer, &input, output.as_deref(), op, None)
        }
        Command::Deriv {
            layer,
            input,
            order,
            mode,
            semantics,
            output,
        } => {
            require_mode(mode)?;
            let op = Op::Deriv(order, mode, semantics.resolve()?);
            run_op(&layer, &input, output.as_deref(), op, None)
        }
        Command::Affine {
            layer,
            input,
            mode,
            output,
        } => {
            require_mode(mode)?;
            run_op(&layer, &input, output.as_deref(), Op::Affine(mode), None)
        }
        Command::Backward {
            layer,
            input,
            mode,
            output,
        } => {
            require_mode(mode)?;
            run_op(&layer, &input, output.as_deref(), Op::Backward(mode), None)
        }
        Command::Check {
            layer,
            input,
            claimed,
            what,
            semantics,
        } => {
            let op = Op::Check(what, semantics.resolve()?);
            run_op(&layer, &input, None, op, Some(&claimed))
        }
        Command::Fold {
            layer,
            input,
            runtime,
            output,
        } => {
            let rt = runtime
                .parse::<Runtime>()
                .map_err(|e| Failure::Invalid(format!("--runtime: {e}")))?;
            run_op(&layer, &input, output.as_deref(), Op::Fold(rt), None)
        }
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
