//! `affine` and `backward`: a linear form in, a form out; under deployed semantics given
//! the layer's input box.

use super::{request, typed};
use crate::args::{LayerSource, Mode, SemanticsArgs};
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
    semantics: &SemanticsArgs,
    input_box: Option<&Path>,
) -> Result<(), Failure> {
    let mode = mode.resolve()?;
    let semantics = semantics.resolve()?;
    if semantics != Semantics::Real && input_box.is_none() {
        return Err(Failure::Invalid(
            "--semantics deployed forms need the layer's input box: --box BOX.json".into(),
        ));
    }
    match src.load()?.for_use(semantics, Use::Other)? {
        Layer::Plain { bn, .. } => {
            typed!(&bn, bn => typed(bn, kind, mode, semantics, input, input_box, output))
        }
        Layer::Stored { .. } => Err(Failure::Invalid("16-bit layers: ibp only".into())),
    }
}

fn typed<T: Float>(
    bn: &BatchNorm<T>,
    kind: FormKind,
    mode: bnbound::Mode,
    semantics: Semantics,
    input: &Path,
    input_box: Option<&Path>,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let bounds = bn.bounds(mode, semantics).map_err(request)?;
    let text = read(input, "input")?;
    let (f, shape) = json::parse_shaped_form::<T>(&text, kind).map_err(invalid(input))?;
    // Without "shape" the form has one row (column) per channel.
    let sample = shape.unwrap_or_else(|| vec![bn.channels()]);
    let x = match input_box {
        Some(p) => Some(json::parse_box::<T>(&read(p, "box")?).map_err(invalid(p))?),
        None => None,
    };
    let out = match (kind, &x) {
        (FormKind::Affine, None) => bounds.compose_shaped(&f, &sample),
        (FormKind::Linear, None) => bounds.backward_shaped(&f, &sample),
        (FormKind::Affine, Some(x)) => bounds.compose_over(&f, &sample, x),
        (FormKind::Linear, Some(x)) => bounds.backward_over(&f, &sample, x),
    }
    .map_err(invalid(input))?;
    write_to(output, |w| json::write_form(&out, kind, w))
}
