//! `affine` and `backward`: a linear form in, a form out (real semantics).

use super::{request, typed};
use crate::args::{LayerSource, Mode};
use crate::files::{invalid, read, write_to, Failure};
use crate::layer::{Layer, Use};
use bnbound::{BatchNorm, Float, Semantics};
use bnbound_cli::json::{self, FormKind};
use std::path::Path;

/// `affine` (forward composition, [`FormKind::Affine`]) or `backward`
/// (back-substitution, [`FormKind::Linear`]) on the layer of `src`.
pub(crate) fn run(
    src: &LayerSource,
    input: &Path,
    output: Option<&Path>,
    kind: FormKind,
    mode: Mode,
) -> Result<(), Failure> {
    let mode = mode.resolve()?;
    match src.load()?.for_use(Semantics::Real, Use::Other)? {
        Layer::Plain { bn, .. } => typed!(&bn, bn => typed(bn, kind, mode, input, output)),
        Layer::Stored { .. } => Err(Failure::Invalid("16-bit layers: ibp only".into())),
    }
}

fn typed<T: Float>(
    bn: &BatchNorm<T>,
    kind: FormKind,
    mode: bnbound::Mode,
    input: &Path,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let bounds = bn.bounds(mode, Semantics::Real).map_err(request)?;
    let text = read(input, "input")?;
    let (f, shape) = json::parse_shaped_form::<T>(&text, kind).map_err(invalid(input))?;
    // Without "shape" the form has one row (column) per channel.
    let sample = shape.unwrap_or_else(|| vec![bn.channels()]);
    let out = match kind {
        FormKind::Affine => bounds.compose_shaped(&f, &sample),
        FormKind::Linear => bounds.backward_shaped(&f, &sample),
    }
    .map_err(invalid(input))?;
    write_to(output, |w| json::write_form(&out, kind, w))
}
