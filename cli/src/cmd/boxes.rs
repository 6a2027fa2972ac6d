//! `ibp` and `deriv`: a box in, a box out, in the asked mode and semantics.

use super::{request, typed};
use crate::args::{LayerSource, Mode, SemanticsArgs};
use crate::files::{invalid, read, write_to, Failure};
use crate::layer::{Layer, Use};
use bnbound::{BatchNorm, Float, Runtime, Semantics, Storage};
use bnbound_cli::json;
use std::path::Path;

/// Which box operation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// IBP.
    Ibp,
    /// Chain-rule derivative (first or second order alike).
    Deriv,
}

/// `ibp` or `deriv` on the layer of `src`.
pub(crate) fn run(
    src: &LayerSource,
    input: &Path,
    output: Option<&Path>,
    op: Op,
    mode: Mode,
    semantics: &SemanticsArgs,
) -> Result<(), Failure> {
    let mode = mode.resolve()?;
    let semantics = semantics.resolve()?;
    let usage = if op == Op::Ibp && mode == bnbound::Mode::Fast {
        Use::FastIbp
    } else {
        Use::Other
    };
    match src.load()?.for_use(semantics, usage)? {
        Layer::Stored { bn, storage, .. } => stored(&bn, storage, semantics, input, output),
        Layer::Plain { bn, .. } => typed!(&bn, bn => plain(bn, op, mode, semantics, input, output)),
    }
}

fn plain<T: Float>(
    bn: &BatchNorm<T>,
    op: Op,
    mode: bnbound::Mode,
    semantics: Semantics,
    input: &Path,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let bounds = bn.bounds(mode, semantics).map_err(request)?;
    let b = json::parse_box::<T>(&read(input, "input")?).map_err(invalid(input))?;
    let out = match op {
        Op::Ibp => bounds.ibp(&b),
        Op::Deriv => bounds.derivative_chain(&b),
    }
    .map_err(invalid(input))?;
    write_to(output, |w| json::write_box(&out, w))
}

/// `ibp` of a layer whose values are of a 16-bit storage type (f16/bf16 PARAMS or a
/// 16-bit model layer) on a BOX read onto the storage grid.
fn stored(
    bn: &BatchNorm<f32>,
    storage: Storage,
    semantics: Semantics,
    input: &Path,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let b = json::parse_stored_box(&read(input, "input")?, storage).map_err(invalid(input))?;
    if let Semantics::Deployed(rt) = semantics {
        if !matches!(rt, Runtime::Any { .. }) && !rt.replays(storage) {
            eprintln!(
                "note: {rt}'s {} kernels are not replayed; these are --runtime any's \
                 bounds (2 ulps, every order and f32/{} mixture)",
                storage.name(),
                storage.name()
            );
        }
    }
    let out = bn
        .bounds(bnbound::Mode::Fast, semantics)
        .map_err(request)?
        .ibp_stored(&b, storage)
        .map_err(invalid(input))?;
    write_to(output, |w| json::write_stored_box(&out, storage, w))
}
