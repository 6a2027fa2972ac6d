//! Data stored as f16 or bf16 and computed in `f32`: PyTorch's 16-bit paths replayed
//! (its contiguous/channels-last kernels: the `f32` recipes, one rounding to the storage
//! type; its strided fallback: every operation rounded to the storage type), and `any`'s
//! error model on the storage grid for runtimes whose 16-bit kernels are not replayed.
//! The paths and their sources: `bnbound::docs::soundness`, "16-bit data".

use super::{Replay, Runtime};
use crate::error::{Error, Result};
use crate::layer::enclosure::Enclosure;
use crate::layer::params::BatchNorm;
use crate::num::round::storage::Storage;
use crate::tensor::TensorBox;

/// PyTorch's 16-bit fallback for one channel: the constants of
/// `aten/src/ATen/native/Normalization.cpp`, `batch_norm_cpu_transform_input_template`, for
/// an input that is neither contiguous nor channels-last, with f16/bf16 parameters. There
/// `invstd = 1 / at::sqrt(running_var + eps)` is three tensor operations in the storage
/// type (ε converted to it first) and the element-wise lambda
/// `((input - mean) * invstd) * weight + bias` runs on `c10::Half` / `c10::BFloat16`
/// values, whose operators compute in `f32` and convert the result back: every operation
/// is `RN_s(RN_f32(a ∘ b))`.
///
/// `at::sqrt` computes in `f32`; it is replayed as faithful there (the `f32`/`f64` kernels
/// use MKL's faithful `vsSqrt` on MKL builds), so one `Fallback16` per float around `√q`.
#[derive(Clone, Copy, Debug)]
struct Fallback16 {
    m: f32,
    inv: f32,
    g: f32,
    b: f32,
    storage: Storage,
}

impl Fallback16 {
    /// `RN_s(RN_f32(·))`: the f32 operation (Rust's `f32` arithmetic is correctly rounded
    /// and never contracted), then the conversion to the storage type.
    fn rs(&self, y: f32) -> f32 {
        if y.is_nan() {
            y
        } else {
            crate::num::round::storage_nearest(y, self.storage)
        }
    }

    /// The channel's constants with ε already in the storage type (`es`), for both `f32`
    /// floats around `√q` (`at::sqrt` in `f32`, faithful), and for every `invstd` of the
    /// flush model (module `flush`: bf16 subnormals are `f32` subnormals).
    fn new(g: f32, b: f32, m: f32, v: f32, es: f32, storage: Storage) -> Vec<Self> {
        let k = Fallback16 {
            m,
            inv: 0.0,
            g,
            b,
            storage,
        };
        let rs = |y: f32| k.rs(y);
        let q = super::flush::op2(&[v], &[es], |a, b| a + b, &rs);
        let mut out = Vec::new();
        for q in super::flush::reads(&q) {
            for r in super::recipe::faithful_sqrt(q) {
                for inv in super::flush::op2(&[1.0], &[k.rs(r)], |a, b| a / b, &rs) {
                    out.push(Fallback16 { inv, ..k });
                }
            }
        }
        out
    }

    /// `x − μ` as the kernel computes it (non-decreasing in `x`): every value of the flush
    /// model.
    fn centred(&self, x: f32) -> Vec<f32> {
        super::flush::op2(&[x], &[self.m], |a, b| a - b, &|y| self.rs(y))
    }

    /// The outputs at `x` under the flush model. Each step is monotone in the previous one
    /// with the constants fixed: `x ↦ RN_s(RN(x − μ))` is non-decreasing;
    /// `t ↦ RN_s(RN(t·invstd))` is non-decreasing (`invstd ≥ 0`); `t ↦ RN_s(RN(t·γ))` is
    /// monotone in the direction of `γ`'s sign; `t ↦ RN_s(RN(t + β))` is non-decreasing
    /// (both roundings are monotone, and so are the least and greatest choice of a flush).
    /// So the least and greatest output are monotone in `x` and the endpoints bound them,
    /// as for the other recipes.
    fn outputs(&self, x: f32) -> Vec<f32> {
        let rs = |y: f32| self.rs(y);
        let t = super::flush::op2(&self.centred(x), &[self.inv], |a, b| a * b, &rs);
        let t = super::flush::op2(&t, &[self.g], |a, b| a * b, &rs);
        super::flush::op2(&t, &[self.b], |a, b| a + b, &rs)
    }

    /// The least and greatest output over the storage values of `[l, h]`; `None` when the
    /// kernel produces NaN for one of them. NaN needs `0·∞` (`∞ − ∞` cannot occur: `β` is
    /// finite): `(x − μ)·invstd` with an infinite `invstd` (σ² + ε stored as 0) and
    /// `x − μ` read as 0 inside the box (tested here), or with `invstd = 0` and an infinite
    /// `x − μ`, or `t·γ` with `γ` read as 0 and an infinite `t` — infinities that, by
    /// monotonicity, an endpoint reaches first (NaN there).
    fn image(&self, l: f32, h: f32) -> Option<(f32, f32)> {
        if self.inv.is_infinite() {
            let lo = self.centred(l).into_iter().fold(f32::INFINITY, f32::min);
            let hi = self
                .centred(h)
                .into_iter()
                .fold(f32::NEG_INFINITY, f32::max);
            if lo <= 0.0 && 0.0 <= hi {
                return None;
            }
        }
        let ys: Vec<f32> = [l, h].into_iter().flat_map(|x| self.outputs(x)).collect();
        if ys.iter().any(|y| y.is_nan()) {
            return None;
        }
        let a = ys.iter().copied().fold(f32::INFINITY, f32::min);
        let b = ys.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        Some((a, b))
    }
}

impl Runtime {
    /// Whether [`crate::Bounds::ibp_stored`] replays this runtime's own kernels for data stored
    /// as `storage`. `false` means the bounds are those of [`Runtime::Any`] with 2 ulps on
    /// the storage grid (every evaluation order and every f32/storage mixture): sound for
    /// the runtime, but not its recipe, so wider. A front end can say so (the CLI prints a
    /// note on standard error). [`Runtime::Any`] replays nothing.
    ///
    /// ```
    /// use bnbound::{Runtime, Storage};
    /// assert!(Runtime::PytorchCpu.replays(Storage::F16));
    /// assert!(!Runtime::OnnxruntimeCpu.replays(Storage::Bf16));
    /// assert!(!Runtime::Any { ulps: 2 }.replays(Storage::F16));
    /// ```
    pub fn replays(self, storage: Storage) -> bool {
        match (self, storage) {
            (Runtime::PytorchCpu, Storage::F16 | Storage::Bf16) => true,
            (Runtime::OnnxruntimeCpu | Runtime::Any { .. }, _) => false,
        }
    }
}

impl Replay<f32> {
    /// IBP for data stored as `storage`; see `Bounds::ibp_stored` (the contract) — `enc`
    /// is the enclosure of `bn`.
    pub(crate) fn ibp_stored(
        &self,
        bn: &BatchNorm<f32>,
        enc: &Enclosure,
        input: &TensorBox<f32>,
        storage: Storage,
    ) -> Result<TensorBox<f32>> {
        let any = match self.runtime {
            Runtime::PytorchCpu => None,
            // Not replayed: every order and mixture, on the storage grid.
            Runtime::OnnxruntimeCpu => Some(super::any::Model::storage(storage, 2)),
            Runtime::Any { ulps } => {
                let m = super::any::Model::storage(storage, ulps);
                if ulps > m.max_ulps() {
                    return Err(Error::UlpsOutOfRange {
                        ulps: ulps.into(),
                        max: m.max_ulps(),
                    });
                }
                Some(m)
            }
        };
        // ε is not checked: the kernels use an f32 ε (PyTorch's static_cast<float>(eps),
        // ONNX's float attribute), or round it to the storage type (replayed both ways).
        let params = [bn.gamma(), bn.beta(), bn.running_mean(), bn.running_var()];
        for (what, v) in ["gamma", "beta", "running_mean", "running_var"]
            .into_iter()
            .zip(params)
        {
            if let Some(i) = v.iter().position(|&x| !storage.holds(x)) {
                return Err(Error::NotInStorage { what, index: i });
            }
        }
        for (what, v) in [("lo", input.lo()), ("hi", input.hi())] {
            if let Some(i) = v.iter().position(|&x| !storage.holds(x)) {
                return Err(Error::NotInStorage { what, index: i });
            }
        }
        let real = enc.ibp(input)?;
        let shape = *input.shape();
        let channels = self.consts.len();
        // PyTorch's 16-bit fallback, per channel, for ε rounded down and up to the storage
        // type: PyTorch converts its double ε, whose f32 rounding is bnbound's ε, so its
        // storage value is one of the two neighbours of the f32 ε (both ε when it is one).
        let fallback: Vec<Vec<Fallback16>> = match any {
            Some(_) => Vec::new(),
            None => (0..channels)
                .map(|c| {
                    let e = bn.eps();
                    [storage.down(e), storage.up(e)]
                        .into_iter()
                        .flat_map(|es| {
                            Fallback16::new(
                                bn.gamma()[c],
                                bn.beta()[c],
                                bn.running_mean()[c],
                                bn.running_var()[c],
                                es,
                                storage,
                            )
                        })
                        .collect()
                })
                .collect(),
        };
        let mut lo = Vec::with_capacity(shape.len());
        let mut hi = Vec::with_capacity(shape.len());
        for (i, (&l, &h)) in input.lo().iter().zip(input.hi()).enumerate() {
            let c = shape.channel_of(i);
            let nan = Error::DeployedNan {
                index: i,
                channel: c,
            };
            let (a, b) = match &any {
                // Every order and precision mixture: an interval, rounded outward.
                Some(m) => {
                    let p = self.params[c];
                    let (a, b) = super::any::image(m, p, l as f64, h as f64).ok_or(nan)?;
                    (
                        storage.down(crate::num::round::f32_down(a)),
                        storage.up(crate::num::round::f32_up(b)),
                    )
                }
                // PyTorch: the f32 recipes' outputs (fast path and mixed-type fallback),
                // each rounded once to the storage type, and the 16-bit fallback's.
                None => {
                    let (a, b) = self.image(c, l, h).ok_or(nan.clone())?;
                    let rn = |y: f32| crate::num::round::storage_nearest(y, storage);
                    let (mut a, mut b) = (rn(a), rn(b));
                    for k in &fallback[c] {
                        let (p, q) = k.image(l, h).ok_or(nan.clone())?;
                        a = a.min(p);
                        b = b.max(q);
                    }
                    (a, b)
                }
            };
            lo.push(storage.down(real.lo()[i]).min(a));
            hi.push(storage.up(real.hi()[i]).max(b));
        }
        TensorBox::new(shape, lo, hi)
    }
}
