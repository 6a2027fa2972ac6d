//! `bnbound`: sound BatchNorm bounds from the command line. See README.md for the JSON
//! contract. Exit status: 0 success, 2 invalid input, 1 any other failure.

mod demo;

use bnbound::json::{self, AnyBatchNorm};
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
    /// Runs IBP on a built-in BatchNorm2d layer and compares with the naive float bounds.
    Demo,
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

fn write_output<T: Float>(out: &bnbound::TensorBox<T>, path: Option<&Path>) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::Other(format!("cannot write the output: {e}"));
    match path {
        Some(p) => {
            let f = std::fs::File::create(p)
                .map_err(|e| Failure::Other(format!("cannot create {}: {e}", p.display())))?;
            json::write_box(out, std::io::BufWriter::new(f)).map_err(io)
        }
        None => json::write_box(out, std::io::BufWriter::new(std::io::stdout().lock())).map_err(io),
    }
}

fn ibp_typed<T: Float>(
    bn: &BatchNorm<T>,
    input_text: &str,
    input_path: &Path,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let input = json::parse_box::<T>(input_text).map_err(invalid(input_path))?;
    let out = bn.enclose().ibp(&input).map_err(invalid(input_path))?;
    write_output(&out, output)
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
            let bn = json::parse_params(&read(&params, "params")?).map_err(invalid(&params))?;
            let text = read(&input, "input")?;
            match &bn {
                AnyBatchNorm::F32(bn) => ibp_typed(bn, &text, &input, output.as_deref()),
                AnyBatchNorm::F64(bn) => ibp_typed(bn, &text, &input, output.as_deref()),
            }
        }
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
