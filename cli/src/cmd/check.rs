//! `check`: the exact checker's verdict on another tool's claimed result.

use super::typed;
use crate::args::{LayerSource, SemanticsArgs};
use crate::files::{invalid, read, write_to, Failure};
use crate::layer::{Layer, Use};
use bnbound::{BatchNorm, Float, Semantics};
use bnbound_cli::json::{self, FormKind};
use clap::ValueEnum;
use std::path::Path;

/// The operation whose result `check` decides.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum What {
    /// IBP output boxes.
    Ibp,
    /// Chain-rule derivative boxes (order 1 or 2 alike).
    Deriv,
    /// Composed forms (`affine`).
    Affine,
    /// Back-substituted forms (`backward`).
    Backward,
}

/// How many violations a report lists.
const KEEP: usize = 100;

/// `check` on the layer of `src`: exit status 0 when sound, 3 when unsound.
pub(crate) fn run(
    src: &LayerSource,
    input: &Path,
    claimed: &Path,
    what: What,
    semantics: &SemanticsArgs,
) -> Result<(), Failure> {
    let semantics = semantics.resolve()?;
    if semantics != Semantics::Real && !matches!(what, What::Ibp) {
        return Err(Failure::Invalid(
            "check --semantics deployed decides IBP boxes (--what ibp)".into(),
        ));
    }
    match src.load()?.for_use(semantics, Use::Other)? {
        Layer::Plain { bn, .. } => typed!(&bn, bn => typed(bn, what, semantics, input, claimed)),
        Layer::Stored { .. } => Err(Failure::Invalid("16-bit layers: ibp only".into())),
    }
}

fn typed<T: Float>(
    bn: &BatchNorm<T>,
    what: What,
    semantics: Semantics,
    input: &Path,
    cpath: &Path,
) -> Result<(), Failure> {
    let text = read(input, "input")?;
    let ctext = read(cpath, "claimed")?;
    let checker = bn.checker().keeping(KEEP);
    let report = match what {
        What::Ibp | What::Deriv => {
            // The checker decides on the box named: exact values (or a typed box).
            let b = json::parse_output_box::<T>(&text).map_err(invalid(input))?;
            let c = json::parse_output_box::<T>(&ctext).map_err(invalid(cpath))?;
            match what {
                What::Ibp => checker.ibp_in(semantics, &b, &c),
                _ => checker.derivative_chain(&b, &c),
            }
        }
        What::Affine | What::Backward => {
            let kind = match what {
                What::Affine => FormKind::Affine,
                _ => FormKind::Linear,
            };
            let (f, shape) = json::parse_claimed_form::<T>(&text, kind).map_err(invalid(input))?;
            let (c, _) = json::parse_claimed_form::<T>(&ctext, kind).map_err(invalid(cpath))?;
            let sample = shape.unwrap_or_else(|| vec![bn.channels()]);
            match what {
                What::Affine => checker.compose_shaped(&f, &sample, &c),
                _ => checker.backward_shaped(&f, &sample, &c),
            }
        }
    }
    .map_err(invalid(cpath))?;
    let with_source = semantics != Semantics::Real;
    write_to(None, |w| {
        json::write_report::<T, _>(&report, KEEP, with_source, w)
    })?;
    if report.sound() {
        Ok(())
    } else {
        Err(Failure::Unsound)
    }
}
