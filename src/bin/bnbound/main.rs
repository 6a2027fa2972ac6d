//! `bnbound`: sound BatchNorm bounds from the command line. See README.md for the JSON
//! contract. Exit status: 0 success, 2 invalid input, 1 any other failure.

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
        /// Write the output box here instead of standard output.
        #[arg(long, value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
    /// Runs IBP on a built-in BatchNorm2d layer and compares with the naive float bounds.
    Demo,
}

/// Which per-layer operation a subcommand runs.
#[derive(Clone, Copy)]
enum Op {
    Ibp,
    /// Chain-rule derivative of order 1 or 2.
    Deriv(u8),
    Affine,
    Backward,
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
) -> Result<(), Failure> {
    let enc = bn.enclose();
    match op {
        Op::Ibp | Op::Deriv(_) => {
            let b = json::parse_box::<T>(text).map_err(invalid(input))?;
            let out = match op {
                Op::Ibp => enc.ibp(&b),
                Op::Deriv(1) => enc.derivative_chain(&b),
                _ => enc.second_derivative_chain(&b),
            }
            .map_err(invalid(input))?;
            write_to(output, |w| json::write_box(&out, w))
        }
        Op::Affine | Op::Backward => {
            let kind = match op {
                Op::Affine => FormKind::Affine,
                _ => FormKind::Linear,
            };
            let f = json::parse_form::<T>(text, kind).map_err(invalid(input))?;
            let out = match op {
                Op::Affine => enc.compose(&f),
                _ => enc.backward(&f),
            }
            .map_err(invalid(input))?;
            write_to(output, |w| json::write_form(&out, kind, w))
        }
    }
}

fn run_op(params: &Path, input: &Path, output: Option<&Path>, op: Op) -> Result<(), Failure> {
    let bn = json::parse_params(&read(params, "params")?).map_err(invalid(params))?;
    let text = read(input, "input")?;
    match &bn {
        AnyBatchNorm::F32(bn) => run_typed(bn, op, &text, input, output),
        AnyBatchNorm::F64(bn) => run_typed(bn, op, &text, input, output),
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
            if let Mode::Tight = mode {
                return Err(Failure::Invalid(
                    "--mode tight is not available in this build: it needs the `mpfr` feature \
                     (cargo build --features cli,mpfr), which this version does not provide yet"
                        .into(),
                ));
            }
            run_op(&params, &input, output.as_deref(), Op::Ibp)
        }
        Command::Deriv {
            params,
            input,
            order,
            output,
        } => run_op(&params, &input, output.as_deref(), Op::Deriv(order)),
        Command::Affine {
            params,
            input,
            output,
        } => run_op(&params, &input, output.as_deref(), Op::Affine),
        Command::Backward {
            params,
            input,
            output,
        } => run_op(&params, &input, output.as_deref(), Op::Backward),
        Command::Demo => {
            print!("{}", demo::report());
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
    }
}
