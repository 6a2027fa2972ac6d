//! ONNX Runtime's Conv→BatchNorm fusion (`onnxruntime/core/optimizer/conv_bn_fusion.cc`),
//! replayed: the runtime's own float weights and bias, each with a rigorous bound on its
//! distance to the exact real composition.

use super::Runtime;
use crate::error::{Error, Result};
use crate::layer::enclosure::Enclosure;
use crate::layer::params::BatchNorm;
use crate::num::float::Float;
use crate::transfer::fold::{radii, FloatFolded, LinearLayer};

/// The fused layer ONNX Runtime computes for `BN(W·x + b)` (every step rounded to nearest
/// in `T`): `s = RN(γ / RN(√RN(σ² + ε)))`, `W' = RN(W·s_o)`, `b' = RN(RN(RN(b − μ)·s) + β)`,
/// or without a conv bias `RN(β − RN(μ·s))` (bit for bit, zero signs included); radii from
/// the sound fold of `enc` (the enclosure of `bn`). See `Bounds::fold_into_preceding`.
pub(crate) fn fold_into_preceding<T: Float>(
    bn: &BatchNorm<T>,
    enc: &Enclosure,
    runtime: Runtime,
    layer: &LinearLayer<T>,
) -> Result<FloatFolded<T>> {
    if runtime != Runtime::OnnxruntimeCpu {
        return Err(Error::NoDeployedFold(runtime.name()));
    }
    let sound = enc.fold_into_preceding(layer)?;
    let out = layer.out_channels();
    let per = layer.weight().len().checked_div(out).unwrap_or(0);
    // ONNX Runtime's arithmetic, each step rounded to nearest in T (replayed, not bounds).
    let s: Vec<T> = (0..out)
        .map(|c| bn.gamma()[c] / (bn.running_var()[c] + bn.eps()).sqrt())
        .collect();
    let weight: Vec<T> = layer
        .weight()
        .iter()
        .enumerate()
        .map(|(k, &w)| w * s[k / per.max(1)])
        .collect();
    // With a conv bias: RN(RN(RN(b − μ)·s) + β); without one ONNX Runtime computes
    // RN(β − RN(μ·s)) — the same value except for the sign of a zero.
    let bias: Vec<T> = (0..out)
        .map(|c| {
            let (m, b) = (bn.running_mean()[c], bn.beta()[c]);
            if layer.has_bias() {
                (layer.bias()[c] - m) * s[c] + b
            } else {
                b - m * s[c]
            }
        })
        .collect();
    // The runtime's fused layer computes NaN where a fused entry is NaN: no bound.
    for (what, v) in [("weight", &weight), ("bias", &bias)] {
        if let Some(index) = v.iter().position(|x| x.is_nan()) {
            let channel = if what == "bias" {
                index
            } else {
                index / per.max(1)
            };
            return Err(Error::DeployedFoldNan {
                what,
                index,
                channel,
            });
        }
    }
    let weight_radius = radii(&weight, sound.weight());
    let bias_radius = radii(&bias, sound.bias());
    Ok(FloatFolded::from_parts(
        layer.dims().to_vec(),
        (weight, weight_radius),
        (bias, bias_radius),
    ))
}
