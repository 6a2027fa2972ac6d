//! `fold`: a runtime's Conv→BatchNorm fusion, replayed, with each entry's distance to the
//! exact real composition.

use super::typed;
use crate::args::LayerSource;
use crate::files::{invalid, read, write_to, Failure};
use crate::layer::{Layer, Use};
use bnbound::model::ModelLayer;
use bnbound::{BatchNorm, Float, Runtime, Semantics};
use bnbound_cli::json;
use std::path::Path;

/// `fold --runtime RUNTIME` on the layer of `src`.
pub(crate) fn run(
    src: &LayerSource,
    input: &Path,
    output: Option<&Path>,
    runtime: &str,
) -> Result<(), Failure> {
    let rt = runtime
        .parse::<Runtime>()
        .map_err(|e| Failure::Invalid(format!("--runtime: {e}")))?;
    match src.load()?.for_use(Semantics::Deployed(rt), Use::Fold)? {
        Layer::Plain { bn, model } => {
            let model = model.as_deref();
            typed!(&bn, bn => typed(bn, rt, model, src, input, output))
        }
        Layer::Stored { .. } => Err(Failure::Invalid("16-bit layers: ibp only".into())),
    }
}

fn typed<T: Float>(
    bn: &BatchNorm<T>,
    rt: Runtime,
    model: Option<&ModelLayer>,
    src: &LayerSource,
    input: &Path,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let l = json::parse_layer::<T>(&read(input, "input")?).map_err(invalid(input))?;
    if let Some(m) = model {
        crate::models::check_fold(m, l.dims(), src, rt)?;
    }
    let f = bn
        .deployed(rt)
        .fold_into_preceding(&l)
        .map_err(invalid(input))?;
    write_to(output, |w| json::write_deployed_fold(&f, w))
}
