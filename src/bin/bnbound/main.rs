//! `bnbound`: sound BatchNorm bounds from the command line. See README.md for the JSON
//! contract. Exit status: 0 success, 2 invalid input, 1 any other failure.

mod baseline;
mod bench;
mod demo;

use bnbound::json::{self, AnyBatchNorm, FormKind};
use bnbound::{BatchNorm, Float};
use clap::{Parser, Subcommand, ValueEnum};
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
        /// Layer parameters (PARAMS JSON).
        #[arg(long, value_name = "PARAMS.json")]
        params: PathBuf,
        /// Input box (BOX JSON, numbers of the params' dtype).
        #[arg(long, value_name = "BOX.json")]
        input: PathBuf,
        /// Enclosure mode.
        #[arg(long, value_enum, default_value_t = Mode::Fast)]
        mode: Mode,
        /// Write the output box here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Forward composition: the form diag(s)·A·x + (s∘c + o) for a form A·x + c with one row
    /// per channel (F.json: {"A": {"lo", "hi"}, "c": {"lo", "hi"}}).
    Affine {
        /// Layer parameters (PARAMS JSON).
        #[arg(long, value_name = "PARAMS.json")]
        params: PathBuf,
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
    /// L·y + d of its output (L.json: {"L": {"lo", "hi"}, "d": {"lo", "hi"}}, C columns).
    Backward {
        /// Layer parameters (PARAMS JSON).
        #[arg(long, value_name = "PARAMS.json")]
        params: PathBuf,
        /// The linear function of the layer's output.
        #[arg(long, value_name = "L.json")]
        input: PathBuf,
        /// Write the output here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Derivative bounds through the chain rule: s·[dlo, dhi] (order 1) or s·[d2lo, d2hi]
    /// (order 2) for bounds on the derivatives of the layer's input (BOX JSON).
    Deriv {
        /// Layer parameters (PARAMS JSON).
        #[arg(long, value_name = "PARAMS.json")]
        params: PathBuf,
        /// Bounds on df/dt (order 1) or d²f/dt² (order 2) of each input element.
        #[arg(long, value_name = "BOX.json")]
        input: PathBuf,
        /// 1 or 2.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        order: u8,
        /// Enclosure mode.
        #[arg(long, value_enum, default_value_t = Mode::Fast)]
        mode: Mode,
        /// Write the output box here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Decides exactly whether a claimed output box contains the exact image of BOX.
    /// Exit status 0 when sound, 3 when unsound, 2 for invalid input.
    Check {
        /// Layer parameters (PARAMS JSON).
        #[arg(long, value_name = "PARAMS.json")]
        params: PathBuf,
        /// The input box.
        #[arg(long, value_name = "BOX.json")]
        input: PathBuf,
        /// The claimed output box ({"dtype", "shape", "lo", "hi"}, as `ibp` writes it).
        #[arg(long, value_name = "OUT.json")]
        claimed: PathBuf,
    },
    /// Runs IBP on a built-in BatchNorm2d layer and compares with the naive float bounds.
    Demo,
    /// Measures sound IBP against the unsound plain-float loop on this machine and prints
    /// the ratios (median of REPS runs each).
    Bench {
        /// Box shape, comma-separated (channel axis 1).
        #[arg(long, default_value = "1,64,128,128", value_delimiter = ',')]
        shape: Vec<usize>,
        /// Element type: f32 or f64.
        #[arg(long, default_value = "f32")]
        dtype: String,
        /// Timed runs per variant.
        #[arg(long, default_value_t = 21, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        reps: u32,
    },
}

/// Which per-layer operation a subcommand runs.
#[derive(Clone, Copy)]
// Without MPFR the mode is validated (`require_mode`) but never dispatched on.
#[cfg_attr(not(feature = "mpfr"), allow(dead_code))]
enum Op {
    Ibp(Mode),
    /// Chain-rule derivative of order 1 or 2.
    Deriv(u8, Mode),
    Affine(Mode),
    Backward,
    /// The exact checker; the claimed box's text.
    Check,
}

/// Rejects tight mode in builds without MPFR.
fn require_mode(mode: Mode) -> Result<(), Failure> {
    if matches!(mode, Mode::Tight) && !cfg!(feature = "mpfr") {
        return Err(Failure::Invalid(
            "--mode tight needs the `mpfr` feature: build with \
             cargo build --release --features cli,mpfr (needs m4 for GMP)"
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

/// A failure with its exit status.
enum Failure {
    /// Status 2: something the caller passed is wrong.
    Invalid(String),
    /// Status 1: anything else (I/O).
    Other(String),
    /// Status 3: the checker found a violation (the report is already written).
    Unsound,
}

fn read(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Other(format!("cannot read {what} file {}: {e}", path.display())))
}

fn invalid(path: &Path) -> impl Fn(bnbound::Error) -> Failure + '_ {
    move |e| Failure::Invalid(format!("{}: {e}", path.display()))
}

/// Opens the destination (stdout or a file) and streams `write` into it; called only after
/// every input was validated, so no file is created for invalid input.
fn write_to(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::Other(format!("cannot write the output: {e}"));
    match path {
        Some(p) => {
            let f = std::fs::File::create(p)
                .map_err(|e| Failure::Other(format!("cannot create {}: {e}", p.display())))?;
            write(&mut std::io::BufWriter::new(f)).map_err(io)
        }
        None => write(&mut std::io::BufWriter::new(std::io::stdout().lock())).map_err(io),
    }
}

fn run_typed<T: Float>(
    bn: &BatchNorm<T>,
    op: Op,
    text: &str,
    input: &Path,
    output: Option<&Path>,
    claimed: Option<(&str, &Path)>,
) -> Result<(), Failure> {
    let enc = bn.enclose();
    match op {
        Op::Ibp(_) | Op::Deriv(..) => {
            let b = json::parse_box::<T>(text).map_err(invalid(input))?;
            // Without MPFR, `require_mode` has already rejected tight mode.
            let out = match op {
                #[cfg(feature = "mpfr")]
                Op::Ibp(Mode::Tight) => bn.ibp_tight(&b),
                #[cfg(feature = "mpfr")]
                Op::Deriv(_, Mode::Tight) => bn.derivative_chain_tight(&b),
                Op::Ibp(_) => enc.ibp(&b),
                Op::Deriv(1, _) => enc.derivative_chain(&b),
                _ => enc.second_derivative_chain(&b),
            }
            .map_err(invalid(input))?;
            write_to(output, |w| json::write_box(&out, w))
        }
        Op::Affine(_) | Op::Backward => {
            let kind = match op {
                Op::Affine(_) => FormKind::Affine,
                _ => FormKind::Linear,
            };
            let f = json::parse_form::<T>(text, kind).map_err(invalid(input))?;
            let out = match op {
                #[cfg(feature = "mpfr")]
                Op::Affine(Mode::Tight) => bn.compose_tight(&f),
                Op::Affine(_) => enc.compose(&f),
                _ => enc.backward(&f),
            }
            .map_err(invalid(input))?;
            write_to(output, |w| json::write_form(&out, kind, w))
        }
        Op::Check => {
            let b = json::parse_box::<T>(text).map_err(invalid(input))?;
            let (ctext, cpath) = claimed.expect("check has a claimed box");
            let c = json::parse_output_box::<T>(ctext).map_err(invalid(cpath))?;
            let report = bnbound::check::check_ibp(bn, &b, &c).map_err(invalid(cpath))?;
            write_to(output, |w| json::write_report::<T, _>(&report, 100, w))?;
            if report.sound() {
                Ok(())
            } else {
                Err(Failure::Unsound)
            }
        }
    }
}

fn run_op(
    params: &Path,
    input: &Path,
    output: Option<&Path>,
    op: Op,
    claimed: Option<&Path>,
) -> Result<(), Failure> {
    let bn = json::parse_params(&read(params, "params")?).map_err(invalid(params))?;
    let text = read(input, "input")?;
    let ctext = claimed.map(|c| read(c, "claimed")).transpose()?;
    let claimed = ctext.as_deref().zip(claimed);
    match &bn {
        AnyBatchNorm::F32(bn) => run_typed(bn, op, &text, input, output, claimed),
        AnyBatchNorm::F64(bn) => run_typed(bn, op, &text, input, output, claimed),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Ibp {
            params,
            input,
            mode,
            output,
        } => {
            require_mode(mode)?;
            run_op(&params, &input, output.as_deref(), Op::Ibp(mode), None)
        }
        Command::Deriv {
            params,
            input,
            order,
            mode,
            output,
        } => {
            require_mode(mode)?;
            run_op(
                &params,
                &input,
                output.as_deref(),
                Op::Deriv(order, mode),
                None,
            )
        }
        Command::Affine {
            params,
            input,
            mode,
            output,
        } => {
            require_mode(mode)?;
            run_op(&params, &input, output.as_deref(), Op::Affine(mode), None)
        }
        Command::Backward {
            params,
            input,
            output,
        } => run_op(&params, &input, output.as_deref(), Op::Backward, None),
        Command::Check {
            params,
            input,
            claimed,
        } => run_op(&params, &input, None, Op::Check, Some(&claimed)),
        Command::Demo => {
            print!("{}", demo::report());
            Ok(())
        }
        Command::Bench { shape, dtype, reps } => {
            let bad = |e: bnbound::Error| Failure::Invalid(e.to_string());
            let dtype: bnbound::Dtype = dtype.parse().map_err(bad)?;
            let text = match dtype {
                bnbound::Dtype::F32 => bench::report::<f32>(&shape, reps as usize),
                bnbound::Dtype::F64 => bench::report::<f64>(&shape, reps as usize),
            }
            .map_err(bad)?;
            print!("{text}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(msg)) => {
            eprintln!("bnbound: invalid input: {}", msg.replace('\n', " "));
            ExitCode::from(2)
        }
        Err(Failure::Other(msg)) => {
            eprintln!("bnbound: {}", msg.replace('\n', " "));
            ExitCode::from(1)
        }
        Err(Failure::Unsound) => ExitCode::from(3),
    }
}
