//! Deployed-float semantics: bounds that contain what a named runtime computes in floats,
//! as well as the exact real image.
//!
//! # The recipes replayed
//!
//! Both runtimes evaluate inference BatchNorm in the data's own type `T` (`f32` or `f64`),
//! each operation correctly rounded to nearest (`RN`):
//!
//! ```text
//! q = RN(σ² + ε)     r = RN(√q)     inv = RN(1 / r)     α = RN(inv · γ)
//! β' = RN(β − RN(μ · α))    or, contracted to one FMA,   β' = RN(β − μ · α)
//! y  = RN(RN(x · α) + β')   or, contracted to one FMA,   y  = RN(x · α + β')
//! ```
//!
//! - `pytorch-cpu`: `aten/src/ATen/native/cpu/batch_norm_kernel.cpp`,
//!   `batch_norm_cpu_collect_linear_and_constant_terms` (`invstd = 1 / std::sqrt(var +
//!   static_cast<opmath_t>(eps))`, `alpha = invstd * weight`, `beta = bias - mean * alpha`)
//!   and `batch_norm_cpu_contiguous_impl` (`data_vec * alpha_vec + beta_vec`). ATen's CPU
//!   kernels are compiled for AVX2 with FMA and GCC contracts `a*b + c` by default, so both
//!   forms of each line are enclosed. The non-contiguous fallback
//!   (`aten/src/ATen/native/Normalization.cpp`, `batch_norm_cpu_transform_input_template`)
//!   computes `((x − μ) · invstd) · γ + β`, four roundings (or three and an FMA): enclosed
//!   too.
//! - `onnxruntime-cpu`: `onnxruntime/core/providers/cpu/nn/batch_norm.h`, `BatchNorm::Compute`:
//!   `inv_std = (var + epsilon_).sqrt().inverse()`, `new_scale = inv_std * scale`,
//!   `new_bias = bias - mean * new_scale`, `Y = X * new_scale + new_bias`: the same
//!   sequence as PyTorch's fast path, with or without contraction. At the default
//!   optimisation level, an f32 BatchNorm whose input is in NCHWc layout (after a Conv,
//!   pooling, Add, Concat or Relu) is rewritten into a depthwise 1×1 convolution
//!   (`onnxruntime/core/optimizer/nchwc_transformer.cc`, `TransformBatchNormalization`):
//!   weight `s' = RN(γ / RN(√q))`, bias `b' = RN(β − RN(μ·s'))`, output
//!   `RN(RN(x·s') + b')` or `RN(x·s' + b')`: enclosed too.
//!
//! ε is the layer's stored ε, which is the value the kernels use: ONNX stores an `f32`
//! attribute (exact in `f64`), and PyTorch casts its double ε to the compute type
//! (`static_cast<opmath_t>(eps)`), which is what an f32 layer's ε is.
//!
//! # Why the endpoints suffice
//!
//! For fixed constants (`α`, `β'`, `inv`, `γ`, `β`, `μ`), every recipe is a composition of
//! maps each monotone in `x` on the extended reals: `x ↦ x·α` (non-decreasing if `α ≥ 0`,
//! else non-increasing), `x ↦ x − μ`, `RN` (monotone, `RN(−0) = −0`, overflow to `±∞`
//! preserves order), `+ β'` and the FMA `x ↦ RN(x·α + β')`. A composition of monotone maps
//! is monotone, so over the floats of `[l, h]` each recipe's outputs lie between its values
//! at `l` and at `h`. ±0 compare equal, subnormals are ordinary floats, and an overflow to
//! `±∞` is attained at an endpoint first. So the deployed image of a box is the hull of
//! the recipes' values at the two endpoints.
//!
//! Monotonicity needs every value to be a number. A runtime produces NaN from `0·∞` or
//! `∞ − ∞`: when `α` (or `inv·γ`) overflows and `x = 0` is in the box, when `α = 0` (or
//! `γ = 0`) and `x = ±∞` or `x − μ` overflows, or when `x·α` and `β'` overflow to opposite
//! infinities. These are caught at the endpoints (NaN there) or by the explicit `0 ∈ box`
//! test, and reported as [`Error::DeployedNan`]: no box can contain NaN.
//!
//! The returned bound is the hull of the exact real image (the fast mode's sound enclosure)
//! and the runtime's outputs, so one bound serves both semantics.
//!
//! # Flush-to-zero
//!
//! The runtime's thread may run with x86 FTZ and DAZ set (`torch.set_flush_denormal(True)`,
//! `-ffast-math` builds, a host application): subnormal operands are read as 0 and tiny
//! results flushed. Every recipe is replayed under the flush model of the module `flush`
//! below (each operation may read a subnormal operand as ±0 and return ±0 for a result of
//! magnitude at most the least normal), so the outputs of a point input form a small set;
//! its least and greatest elements are still monotone in `x`, and the endpoint argument
//! holds. Without subnormal operands and tiny results no choice exists and the replay is
//! the ordinary one, bit for bit. The checker ([`crate::check::Checker::ibp_in`]) requires
//! the flushed outputs too.

use crate::error::{Error, Result, Side};
use crate::exact::{cmp_affine_params, tighten};
use crate::num::interval::mul_bounds;
use crate::num::round::add_up;
use crate::{BatchNorm, Float, TensorBox};
use std::cmp::Ordering;

/// A CPU runtime whose BatchNorm recipe bnbound replays exactly (see the module docs).
///
/// ```
/// use bnbound::Runtime;
/// assert_eq!("onnxruntime-cpu".parse::<Runtime>()?, Runtime::OnnxruntimeCpu);
/// assert_eq!(Runtime::PytorchCpu.to_string(), "pytorch-cpu");
/// assert!("cuda".parse::<Runtime>().is_err());
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Runtime {
    /// PyTorch's CPU kernels (fast path, with and without FMA contraction, and the
    /// non-contiguous fallback).
    PytorchCpu,
    /// ONNX Runtime's CPU execution provider (with and without FMA contraction).
    OnnxruntimeCpu,
    /// Any runtime: every evaluation order of the formula (factored or expanded), `+ − ×`
    /// correctly rounded, `√`, `1/√` and `÷` within `ulps` ulps, with or without FMA (GPUs,
    /// unknown runtimes). Bounds over-approximate; see `bnbound::docs::soundness`.
    Any {
        /// How many ulps `√`, `1/√` and `÷` may be off (CUDA documents `rsqrtf` at 2).
        ulps: u32,
    },
}

impl Runtime {
    /// The largest `ulps` of [`Runtime::Any`] bnbound accepts (`2^20`): beyond it, a
    /// `K`-ulp `√` of a tiny `f32` could reach 0 and the error model says nothing useful.
    /// Larger values give [`Error::UlpsOutOfRange`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![0.0f32], vec![1.0])?;
    /// assert!(bn.deployed(Runtime::Any { ulps: Runtime::MAX_ULPS }).ibp(&x).is_ok());
    /// assert!(bn.deployed(Runtime::Any { ulps: Runtime::MAX_ULPS + 1 }).ibp(&x).is_err());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub const MAX_ULPS: u32 = 1 << 20;

    /// The name used on the command line.
    ///
    /// ```
    /// assert_eq!(bnbound::Runtime::OnnxruntimeCpu.name(), "onnxruntime-cpu");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Runtime::PytorchCpu => "pytorch-cpu",
            Runtime::OnnxruntimeCpu => "onnxruntime-cpu",
            Runtime::Any { .. } => "any",
        }
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Runtime {
    type Err = Error;
    fn from_str(s: &str) -> Result<Runtime> {
        match s {
            "pytorch-cpu" => Ok(Runtime::PytorchCpu),
            "onnxruntime-cpu" => Ok(Runtime::OnnxruntimeCpu),
            "any" => Ok(Runtime::Any { ulps: 2 }),
            other => Err(Error::UnknownRuntime(crate::short(other))),
        }
    }
}

/// A 16-bit storage type: data stored as f16 or bf16, computed in `f32` (PyTorch's
/// `opmath_t`), each result rounded once to the storage type.
///
/// ```
/// assert_eq!("bf16".parse::<bnbound::Storage>()?, bnbound::Storage::Bf16);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
}

impl Storage {
    /// The name used in documents (`"f16"`, `"bf16"`).
    ///
    /// ```
    /// assert_eq!(bnbound::Storage::F16.name(), "f16");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Storage::F16 => "f16",
            Storage::Bf16 => "bf16",
        }
    }

    /// Whether `x` is a value of this type.
    ///
    /// ```
    /// assert!(bnbound::Storage::F16.holds(0.5) && !bnbound::Storage::F16.holds(0.1));
    /// ```
    pub fn holds(self, x: f32) -> bool {
        let _env = crate::num::round::env::enter();
        let x = crate::num::round::env::launder(x);
        crate::num::round::env::launder(
            x.is_nan() || crate::num::round::storage_nearest(x, self) == x,
        )
    }

    /// The largest value of this type `≤ x` (outward rounding of a lower bound).
    ///
    /// ```
    /// use bnbound::Storage;
    /// assert!(Storage::F16.down(0.1) < 0.1 && Storage::F16.holds(Storage::F16.down(0.1)));
    /// ```
    pub fn down(self, x: f32) -> f32 {
        let _env = crate::num::round::env::enter();
        crate::num::round::env::launder(crate::num::round::storage_down(
            crate::num::round::env::launder(x),
            self,
        ))
    }

    /// The smallest value of this type `≥ x`: the mirror of [`Storage::down`].
    ///
    /// ```
    /// use bnbound::Storage;
    /// assert!(Storage::Bf16.up(0.1) > 0.1 && Storage::Bf16.up(1.0) == 1.0);
    /// ```
    pub fn up(self, x: f32) -> f32 {
        let _env = crate::num::round::env::enter();
        crate::num::round::env::launder(-crate::num::round::storage_down(
            -crate::num::round::env::launder(x),
            self,
        ))
    }
}

impl std::str::FromStr for Storage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Storage> {
        match s {
            "f16" => Ok(Storage::F16),
            "bf16" => Ok(Storage::Bf16),
            other => Err(Error::UnknownStorage(crate::short(other))),
        }
    }
}

/// Which function a bound encloses.
///
/// ```
/// use bnbound::{Runtime, Semantics};
/// assert_eq!(Semantics::default(), Semantics::Real);
/// let _deployed = Semantics::Deployed(Runtime::PytorchCpu);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Semantics {
    /// The real-number function of the stored parameters.
    #[default]
    Real,
    /// The real function and every output the runtime computes for float inputs.
    Deployed(Runtime),
}

/// The flush-to-zero model (x86 MXCSR FTZ + DAZ: `torch.set_flush_denormal(True)`, code
/// built with `-ffast-math`, any host that sets them in the runtime's thread). Every
/// operation of a replayed recipe may read an operand that is subnormal as itself or as a
/// zero of its sign (DAZ), and may return, for a result whose rounded magnitude is at most
/// the least normal, that result or a zero of its sign (FTZ: x86 decides tininess after
/// rounding with an unbounded exponent, so a result that rounds to ±least normal can still
/// be flushed). Each choice is independent, so the model contains the runtime with the flags
/// off, on, or changed mid-run. A point input gives a small finite set of outputs; its
/// least and greatest are monotone in `x` (each operation's least and greatest choice is a
/// monotone function of the exact result, and a subnormal operand's too), so the endpoint
/// argument still holds.
mod flush {
    use crate::Float;

    /// A zero with the sign of `y`.
    fn zero_of<T: Float>(y: T) -> T {
        if y.is_sign_negative() {
            -T::zero()
        } else {
            T::zero()
        }
    }

    /// Whether `x` is subnormal (nonzero, below the least normal).
    pub(super) fn subnormal<T: Float>(x: T) -> bool {
        x != T::zero() && x.abs() < T::min_positive_value()
    }

    /// Whether a rounded result `y` may be flushed (nonzero, at most the least normal).
    pub(super) fn tiny<T: Float>(y: T) -> bool {
        y != T::zero() && y.abs() <= T::min_positive_value()
    }

    fn push<T: Float>(out: &mut Vec<T>, y: T) {
        let same = |z: &T| {
            (y.is_nan() && z.is_nan()) || (*z == y && z.is_sign_negative() == y.is_sign_negative())
        };
        if !out.iter().any(same) {
            out.push(y);
        }
    }

    /// The values an operation may read for the operands `a`.
    pub(super) fn reads<T: Float>(a: &[T]) -> Vec<T> {
        let mut out = Vec::with_capacity(a.len() * 2);
        for &x in a {
            push(&mut out, x);
            if subnormal(x) {
                push(&mut out, zero_of(x));
            }
        }
        out
    }

    /// The results an operation may return for the rounded result `y`, after `post` (the
    /// rounding to a storage type, which does not flush: conversions are integer code or
    /// F16C, which ignores FTZ).
    fn results<T: Float>(out: &mut Vec<T>, y: T, post: &dyn Fn(T) -> T) {
        push(out, post(y));
        if tiny(y) {
            push(out, post(zero_of(y)));
        }
    }

    /// Every result of the rounded unary operation `f` on the values `a`.
    pub(super) fn op1<T: Float>(a: &[T], f: impl Fn(T) -> T, post: &dyn Fn(T) -> T) -> Vec<T> {
        let mut out = Vec::new();
        for x in reads(a) {
            results(&mut out, f(x), post);
        }
        out
    }

    /// Every result of the rounded binary operation `f` on the values `a`, `b`.
    pub(super) fn op2<T: Float>(
        a: &[T],
        b: &[T],
        f: impl Fn(T, T) -> T,
        post: &dyn Fn(T) -> T,
    ) -> Vec<T> {
        let mut out = Vec::new();
        let rb = reads(b);
        for x in reads(a) {
            for &y in &rb {
                results(&mut out, f(x, y), post);
            }
        }
        out
    }

    /// Every result of the fused `a·b + c`.
    pub(super) fn fma<T: Float>(a: &[T], b: &[T], c: &[T]) -> Vec<T> {
        let mut out = Vec::new();
        let (rb, rc) = (reads(b), reads(c));
        for x in reads(a) {
            for &y in &rb {
                for &z in &rc {
                    results(&mut out, x.mul_add(y, z), &|v| v);
                }
            }
        }
        out
    }

    /// The identity `post`.
    pub(super) fn id<T: Float>(y: T) -> T {
        y
    }
}

/// One channel's constants in the compute type, as the runtime computes them.
#[derive(Clone, Copy, Debug)]
struct Consts<T> {
    alpha: T,
    /// `β'` rounded twice and fused.
    betas: [T; 2],
    /// The fallback's `invstd = RN(1/r)` for both floats `r` around `√q`: the fallback's
    /// `at::sqrt` is a tensor operation, on MKL builds `vsSqrt`/`vdSqrt`, which is only
    /// faithful (measured with PyTorch 2.8: one ulp below `RN(√q)` for 0.65% of inputs).
    invs: [T; 2],
    /// ONNX Runtime's NCHWc rewrite (`nchwc_transformer.cc`,
    /// `TransformBatchNormalization`): BatchNorm as a depthwise 1×1 convolution with
    /// weight `s' = RN(γ / RN(√q))` (a division) and bias `RN(β − RN(μ·s'))`.
    div: (T, T),
    g: T,
    b: T,
    m: T,
    v: T,
    e: T,
    /// Whether a constant's computation meets a subnormal operand or a tiny result, so the
    /// flush model (module `flush`) can change the constants: every output is then
    /// enumerated under it.
    tiny: bool,
    /// Whether some `α` of the flush model is infinite (`σ² + ε` flushed to 0, or overflow).
    alpha_inf: bool,
    /// Whether some fallback `invstd` of the flush model is infinite.
    inv_inf: bool,
}

impl<T: Float> Consts<T> {
    fn new(g: T, b: T, m: T, v: T, e: T) -> Self {
        // The runtime's own arithmetic, each operation rounded to nearest in T: this is
        // the semantics being replayed, not a bound.
        let q = v + e;
        let inv = T::one() / q.sqrt();
        let alpha = inv * g;
        let betas = [b - m * alpha, (-m).mul_add(alpha, b)];
        let invs = faithful_sqrt(q).map(|r| T::one() / r);
        let div = {
            let s = g / q.sqrt();
            (s, b - m * s)
        };
        let tiny = [g, b, m, v, e].into_iter().any(flush::subnormal)
            || [q, q.sqrt(), inv, alpha, m * alpha, betas[0], betas[1]]
                .into_iter()
                .chain(invs)
                .chain([div.0, m * div.0, div.1])
                .any(flush::tiny);
        // The flush model's constants (singletons unless `tiny`); an infinite NCHWc weight
        // counts as an infinite α (conservative for the runtimes that never use it).
        let (mut alphas, fallback_invs) = Self::flushed_consts(g, v, e);
        alphas.extend(Self::flushed_div_scales(g, v, e));
        Consts {
            alpha,
            betas,
            invs,
            div,
            g,
            b,
            m,
            v,
            e,
            tiny,
            alpha_inf: alphas.iter().any(|a| a.is_infinite()),
            inv_inf: fallback_invs.iter().any(|a| a.is_infinite()),
        }
    }

    /// Under the flush model: every `α = RN(RN(1/RN(√RN(σ² + ε)))·γ)`, and every fallback
    /// `invstd = RN(1/r)` for the faithful `r` of every `σ² + ε`.
    fn flushed_consts(g: T, v: T, e: T) -> (Vec<T>, Vec<T>) {
        use flush::{id, op1, op2};
        let q = op2(&[v], &[e], |a, b| a + b, &id);
        let inv = op2(&[T::one()], &op1(&q, |a| a.sqrt(), &id), |a, b| a / b, &id);
        let alphas = op2(&inv, &[g], |a, b| a * b, &id);
        let mut invs = Vec::new();
        for q in flush::reads(&q) {
            for r in faithful_sqrt(q) {
                invs.extend(op2(&[T::one()], &[r], |a, b| a / b, &id));
            }
        }
        (alphas, invs)
    }

    /// Under the flush model: every NCHWc weight `s' = RN(γ / RN(√RN(σ² + ε)))`.
    fn flushed_div_scales(g: T, v: T, e: T) -> Vec<T> {
        use flush::{id, op1, op2};
        let q = op2(&[v], &[e], |a, b| a + b, &id);
        op2(&[g], &op1(&q, |a| a.sqrt(), &id), |a, b| a / b, &id)
    }

    /// Every output of every recipe variant at `x` under the flush model (module `flush`):
    /// each operation of the recipes below may read a subnormal operand as zero and flush
    /// a tiny result. Contains the ordinary outputs (no operation flushes).
    fn flushed_outputs(&self, x: T, fallback: bool, nchwc: bool) -> Vec<T> {
        use flush::{fma, id, op1, op2};
        let (xs, g, b, m) = ([x], [self.g], [self.b], [self.m]);
        let mul = |a: T, b: T| a * b;
        let add = |a: T, b: T| a + b;
        let sub = |a: T, b: T| a - b;
        let q = op2(&[self.v], &[self.e], add, &id);
        let inv = op2(&[T::one()], &op1(&q, |a| a.sqrt(), &id), |a, b| a / b, &id);
        let mut ys = Vec::new();
        for a in op2(&inv, &g, mul, &id) {
            let a = [a];
            let mut betas = op2(&b, &op2(&m, &a, mul, &id), sub, &id);
            betas.extend(fma(&[-self.m], &a, &b));
            ys.extend(op2(&op2(&xs, &a, mul, &id), &betas, add, &id));
            ys.extend(fma(&xs, &a, &betas));
        }
        if fallback {
            let d = op2(&xs, &m, sub, &id);
            for q in flush::reads(&q) {
                for r in faithful_sqrt(q) {
                    let t = op2(&d, &op2(&[T::one()], &[r], |a, b| a / b, &id), mul, &id);
                    ys.extend(op2(&op2(&t, &g, mul, &id), &b, add, &id));
                    ys.extend(fma(&t, &g, &b));
                }
            }
        }
        if nchwc {
            for s in Self::flushed_div_scales(self.g, self.v, self.e) {
                let s = [s];
                let bias = op2(&b, &op2(&m, &s, mul, &id), sub, &id);
                ys.extend(op2(&op2(&xs, &s, mul, &id), &bias, add, &id));
                ys.extend(fma(&xs, &s, &bias));
            }
        }
        ys
    }

    /// The least and greatest output of every recipe variant at the input `x` (`None`
    /// when a variant gives NaN): the fast path's four, with `fallback` PyTorch's
    /// fallback's four, with `nchwc` ONNX Runtime's NCHWc convolution's two (its MLAS
    /// kernel adds the bias after the product, or fuses both: `RN(RN(x·s') + b')`,
    /// `RN(x·s' + b')`).
    ///
    /// Under the flush model (module `flush`): when no operand is subnormal and no result
    /// tiny, no operation can flush and the outputs are the ordinary ones, computed
    /// directly; otherwise every choice is enumerated.
    fn outputs(&self, x: T, fallback: bool, nchwc: bool) -> Option<(T, T)> {
        let p = x * self.alpha;
        let mut ys = [T::zero(); 10];
        for (k, &b) in self.betas.iter().enumerate() {
            ys[2 * k] = p + b;
            ys[2 * k + 1] = x.mul_add(self.alpha, b);
        }
        let mut tiny = self.tiny || flush::subnormal(x) || flush::tiny(p);
        let mut n = 4;
        if fallback {
            let d = x - self.m;
            tiny |= flush::tiny(d);
            for &inv in &self.invs {
                let t = d * inv;
                let tg = t * self.g;
                tiny |= flush::tiny(t) || flush::tiny(tg);
                ys[n] = tg + self.b;
                ys[n + 1] = t.mul_add(self.g, self.b);
                n += 2;
            }
        }
        if nchwc {
            let (s, b) = self.div;
            let xs = x * s;
            tiny |= flush::tiny(xs);
            ys[n] = xs + b;
            ys[n + 1] = x.mul_add(s, b);
            n += 2;
        }
        let ys = &ys[..n];
        tiny |= ys.iter().any(|&y| flush::tiny(y));
        if tiny {
            return Self::extremes(&self.flushed_outputs(x, fallback, nchwc));
        }
        Self::extremes(ys)
    }

    /// The least and greatest of `ys`, or `None` when one is NaN.
    fn extremes(ys: &[T]) -> Option<(T, T)> {
        if ys.iter().any(|y| y.is_nan()) {
            return None;
        }
        let lo = ys.iter().copied().fold(T::infinity(), T::min);
        let hi = ys.iter().copied().fold(T::neg_infinity(), T::max);
        Some((lo, hi))
    }
}

/// The floats around `√q` (`q ≥ 0`): every faithful square root. `RN(√q)` and, unless it
/// is exact, its neighbour on the other side of `√q`, decided by the exact sign of
/// `RN(√q)² − q`: an FMA in `f64` rounds that exact value once, so its sign is right
/// unless it underflows, which powers of two rule out (`f32` values square exactly in
/// `f64`; an `f64` `q` below `2^−900` is scaled by `2^1200` first, exactly). `0` and `∞`
/// are exact square roots.
fn faithful_sqrt<T: Float>(q: T) -> [T; 2] {
    let r = q.sqrt();
    if r == T::zero() || !r.is_finite() {
        return [r; 2];
    }
    let (mut r64, mut q64) = (r.to_f64_raw(), q.to_f64_raw());
    if q64 < 2f64.powi(-900) {
        let k = 2f64.powi(600);
        r64 *= k;
        q64 = q64 * k * k; // 2^1200 is not an f64
    }
    let e = r64.mul_add(r64, -q64);
    if e > 0.0 {
        [r, r.step_down()]
    } else if e < 0.0 {
        [r, r.step_up()]
    } else {
        [r; 2]
    }
}

/// One side of `hull(real image, runtime outputs)` from a sound real bound `real` and the
/// runtime's extreme output `y` on that side. When `real` is within 4 steps of `y` (or
/// beyond it), the hull side is between them and `min`/`max` is within 4 ulps of it;
/// otherwise the exact real extreme `r` decides: if `y` is beyond `r`, `y` is the hull
/// side exactly; else the tightest float on the outer side of `r`, found by exact
/// bisection between `real` and `y`.
fn hull_side<T: Float>(real: T, y: T, p: [f64; 5], (l, h): (T, T), side: Side) -> T {
    let lower = side == Side::Lo;
    let outer = if lower { real.min(y) } else { real.max(y) };
    let gap_inward = if lower { real < y } else { real > y };
    if !gap_inward || !real.is_finite() || !y.is_finite() || crate::ulps_between(real, y) <= 4 {
        return outer;
    }
    // The real extreme is attained at the endpoint chosen by the exact sign of γ.
    let g = p[0];
    let x = if (g >= 0.0) == lower { l } else { h };
    if !x.is_finite() {
        return outer;
    }
    let x = x.to_f64_raw();
    let cmp = |v: f64| cmp_affine_params(p, x, v);
    let yv = y.to_f64_raw();
    let beyond = if lower {
        cmp(yv) != Ordering::Greater
    } else {
        cmp(yv) != Ordering::Less
    };
    if beyond {
        return y;
    }
    let (a, b) = if lower {
        tighten(real.to_f64_raw(), yv, cmp)
    } else {
        tighten(yv, real.to_f64_raw(), cmp)
    };
    if lower {
        T::from_f64_down_raw(a)
    } else {
        T::from_f64_up_raw(b)
    }
}

/// A layer as a named runtime evaluates it. Get one with [`BatchNorm::deployed`].
///
/// ```
/// use bnbound::{BatchNorm, Runtime, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // y = x/√2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
/// let y = bn.deployed(Runtime::OnnxruntimeCpu).ibp(&x)?;
/// // The runtime's own output at x = 1 and the exact 1/√2 are both inside.
/// let (out, _) = bn.deployed(Runtime::OnnxruntimeCpu).outputs_at(0, 1.0)?;
/// assert!(y.lo()[0] <= out && out <= y.hi()[0]);
/// assert!((y.lo()[0] as f64) < 0.5f64.sqrt() && 0.5f64.sqrt() < y.hi()[0] as f64);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Deployed<'a, T: Float> {
    bn: &'a BatchNorm<T>,
    runtime: Runtime,
    consts: Vec<Consts<T>>,
}

impl<T: Float> BatchNorm<T> {
    /// This layer under deployed-float semantics for `runtime` ([`Deployed`]).
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let _d = bn.deployed(bnbound::Runtime::PytorchCpu);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn deployed(&self, runtime: Runtime) -> Deployed<'_, T> {
        let _env = crate::num::round::env::enter();
        let consts = (0..self.channels())
            .map(|c| {
                Consts::new(
                    self.gamma()[c],
                    self.beta()[c],
                    self.running_mean()[c],
                    self.running_var()[c],
                    self.eps(),
                )
            })
            .collect();
        Deployed {
            bn: self,
            runtime,
            consts,
        }
    }

    /// IBP in the given semantics: [`crate::Enclosure::ibp`] for [`Semantics::Real`],
    /// [`Deployed::ibp`] for a runtime.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Semantics, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![3.0f32], vec![-1.0], vec![0.5], vec![0.1], 1e-5)?;
    /// let x = TensorBox::new(Shape::new(&[2, 1])?, vec![-1.0f32, 0.0], vec![1.0, 0.25])?;
    /// let real = bn.ibp_in(Semantics::Real, &x)?;
    /// let deployed = bn.ibp_in(Semantics::Deployed(Runtime::PytorchCpu), &x)?;
    /// assert!(deployed.lo()[0] <= real.lo()[0] && real.hi()[1] <= deployed.hi()[1]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp_in(&self, semantics: Semantics, input: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        match semantics {
            Semantics::Real => self.enclose().ibp(input),
            Semantics::Deployed(runtime) => self.deployed(runtime).ibp(input),
        }
    }
}

impl<T: Float> Deployed<'_, T> {
    /// The runtime.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.deployed(bnbound::Runtime::PytorchCpu).runtime(), bnbound::Runtime::PytorchCpu);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// The least and greatest output the runtime can produce for the input `x` of channel
    /// `c` (over its recipe variants; for [`Runtime::Any`] an interval containing them).
    /// Errors: [`Error::DeployedNan`] when a variant gives NaN; [`Error::ChannelMismatch`]
    /// for a channel out of range; [`Error::UlpsOutOfRange`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime};
    /// let bn = BatchNorm::new(vec![2.0f64], vec![1.0], vec![0.0], vec![4.0], 0.0)?; // y = x + 1
    /// assert_eq!(bn.deployed(Runtime::OnnxruntimeCpu).outputs_at(0, 3.0)?, (4.0, 4.0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn outputs_at(&self, c: usize, x: T) -> Result<(T, T)> {
        let _env = crate::num::round::env::enter();
        let k = self.consts.get(c).ok_or(Error::ChannelMismatch {
            expected: self.consts.len(),
            found: c + 1,
        })?;
        if let Runtime::Any { .. } = self.runtime {
            self.valid()?;
            return self.image(c, x, x).ok_or(Error::DeployedNan {
                index: 0,
                channel: c,
            });
        }
        k.outputs(x, self.fallback(), self.nchwc())
            .ok_or(Error::DeployedNan {
                index: 0,
                channel: c,
            })
    }

    /// `Ok` unless the runtime is [`Runtime::Any`] with more than [`Runtime::MAX_ULPS`].
    fn valid(&self) -> Result<()> {
        match self.runtime {
            Runtime::Any { ulps } if ulps > Runtime::MAX_ULPS => Err(Error::UlpsOutOfRange {
                ulps,
                max: Runtime::MAX_ULPS,
            }),
            _ => Ok(()),
        }
    }

    fn fallback(&self) -> bool {
        self.runtime == Runtime::PytorchCpu
    }

    /// ONNX Runtime's NCHWc rewrite of an f32 BatchNorm whose input is in NCHWc layout
    /// (after a Conv, pooling, Add, Concat or Relu at the default optimisation level).
    fn nchwc(&self) -> bool {
        self.runtime == Runtime::OnnxruntimeCpu && T::DTYPE == crate::Dtype::F32
    }

    /// The runtime's outputs at both endpoints of `[l, h]` for channel `c` (each the least
    /// and greatest over the recipes), or `None` when the runtime produces NaN somewhere
    /// in the box. By monotonicity (module docs) they bound every output in the box.
    pub(crate) fn endpoint_outputs(&self, c: usize, l: T, h: T) -> Option<((T, T), (T, T))> {
        if let Runtime::Any { ulps } = self.runtime {
            // An over-approximation of the whole box's outputs, at both "endpoints".
            let m = crate::modes::any::Model::of::<T>(ulps);
            let (a, b) = crate::modes::any::image(
                &m,
                self.bn.channel_f64(c),
                l.to_f64_raw(),
                h.to_f64_raw(),
            )?;
            let (a, b) = (T::from_f64_down_raw(a), T::from_f64_up_raw(b));
            return Some(((a, b), (a, b)));
        }
        let k = &self.consts[c];
        // A float of the box read as 0 (0 itself, or a subnormal under DAZ) times an
        // infinite α.
        let mn = T::min_positive_value();
        if k.alpha_inf && l < mn && h > -mn {
            return None;
        }
        // An infinite fallback invstd times an x − μ that may be read as 0 somewhere in the
        // box (its least choice is monotone in x, so the endpoints decide).
        if self.fallback() && k.inv_inf {
            let sub = |x: T| flush::op2(&[x], &[k.m], |a, b| a - b, &flush::id);
            let lo = sub(l).into_iter().fold(T::infinity(), T::min);
            let hi = sub(h).into_iter().fold(T::neg_infinity(), T::max);
            if lo <= T::zero() && T::zero() <= hi {
                return None;
            }
        }
        Some((
            k.outputs(l, self.fallback(), self.nchwc())?,
            k.outputs(h, self.fallback(), self.nchwc())?,
        ))
    }

    /// The runtime's outputs over the floats of `[l, h]` for channel `c`: the hull at both
    /// endpoints.
    fn image(&self, c: usize, l: T, h: T) -> Option<(T, T)> {
        let ((a, b), (p, q)) = self.endpoint_outputs(c, l, h)?;
        Some((a.min(p), b.max(q)))
    }

    /// IBP under deployed semantics: for each element, a bound that contains the exact real
    /// image of its interval *and* every output the runtime computes for a float input in
    /// it. Errors: those of [`crate::Enclosure::ibp`], and [`Error::DeployedNan`] when the
    /// runtime produces NaN for some input of the box.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Shape, TensorBox};
    /// // γ = 0: the runtime computes 0·∞ = NaN at an infinite input.
    /// let bn = BatchNorm::new(vec![0.0f32], vec![1.0], vec![0.0], vec![1.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![0.0f32], vec![f32::INFINITY])?;
    /// assert!(bn.deployed(Runtime::PytorchCpu).ibp(&x).is_err());
    /// assert_eq!(bn.enclose().ibp(&x)?.lo(), &[1.0]); // the real image is {β}
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp(&self, input: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        self.widen(input, self.bn.enclose().ibp(input)?)
    }

    /// Chain-rule derivative bounds under deployed semantics: a box containing `s·d` for the
    /// exact real scale *and* the slopes the runtime applies to `x` (its float `α`, and
    /// for PyTorch's fallback the product `inv·γ` of its float constants), for every `d` in
    /// `dbox` (first or second derivative alike). The runtime's output is a step function
    /// of a real `x`; a verifier that linearises the deployed network uses these slopes.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![3.0], 0.0)?; // s = 1/√3
    /// let d = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
    /// let y = bn.deployed(Runtime::OnnxruntimeCpu).derivative_chain(&d)?;
    /// let alpha = 1.0f32 / 3.0f32.sqrt(); // the runtime's α
    /// assert!(y.lo()[0] <= alpha && alpha <= y.hi()[0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn derivative_chain(&self, dbox: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        self.valid()?;
        let real = self.bn.enclose().derivative_chain(dbox)?;
        let shape = *dbox.shape();
        let inner = shape.inner().max(1);
        let channels = self.consts.len();
        // Each channel's slopes, once: the float α, for `any` every α a form may use, for
        // ONNX Runtime's NCHWc convolution its weight s', for PyTorch's fallback the
        // product inv·γ of its float constants.
        let any = match self.runtime {
            Runtime::Any { ulps } => Some(crate::modes::any::Model::of::<T>(ulps)),
            _ => None,
        };
        let slopes: Vec<Vec<(f64, f64)>> = (0..channels)
            .map(|c| {
                let k = &self.consts[c];
                let mut v = vec![(k.alpha.to_f64_raw(), k.alpha.to_f64_raw())];
                if let Some(m) = &any {
                    v.push(crate::modes::any::slopes(m, self.bn.channel_f64(c)));
                }
                if self.nchwc() {
                    let s = k.div.0.to_f64_raw();
                    v.push((s, s));
                }
                if self.fallback() {
                    let g = k.g.to_f64_raw();
                    for inv in k.invs {
                        let inv = inv.to_f64_raw();
                        v.push(mul_bounds(inv, inv, g, g));
                    }
                }
                v
            })
            .collect();
        let (mut lo, mut hi) = (real.lo().to_vec(), real.hi().to_vec());
        for (i, (&l, &h)) in dbox.lo().iter().zip(dbox.hi()).enumerate() {
            let (l, h) = (l.to_f64_raw(), h.to_f64_raw());
            for &(sl, sh) in &slopes[(i / inner) % channels] {
                let (a, b) = mul_bounds(sl, sh, l, h);
                lo[i] = lo[i].min(T::from_f64_down_raw(a));
                hi[i] = hi[i].max(T::from_f64_up_raw(b));
            }
        }
        TensorBox::new(shape, lo, hi)
    }

    /// The hull of `real` and the runtime's outputs over `input`: use it with an enclosure
    /// of the real image from any mode, e.g. tight mode's, for deployed bounds as tight as
    /// that enclosure. `real` must have `input`'s shape and enclose the real image (as
    /// every bnbound IBP result does); its bounds are only ever widened.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![3.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
    /// let d = bn.deployed(Runtime::PytorchCpu);
    /// assert_eq!(d.widen(&x, bn.enclose().ibp(&x)?)?, d.ibp(&x)?);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn widen(&self, input: &TensorBox<T>, real: TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        self.valid()?;
        let shape = *input.shape();
        if real.shape() != input.shape() {
            return Err(Error::ShapeMismatch {
                what: "the real enclosure",
                expected: shape.dims().to_vec(),
                found: real.shape().dims().to_vec(),
            });
        }
        if shape.channels() != self.consts.len() {
            return Err(Error::ChannelMismatch {
                expected: self.consts.len(),
                found: shape.channels(),
            });
        }
        let inner = shape.inner().max(1);
        let channels = self.consts.len();
        let (mut lo, mut hi) = (real.lo().to_vec(), real.hi().to_vec());
        for (i, (&l, &h)) in input.lo().iter().zip(input.hi()).enumerate() {
            let c = (i / inner) % channels;
            let (a, b) = self.image(c, l, h).ok_or(Error::DeployedNan {
                index: i,
                channel: c,
            })?;
            let p = self.bn.channel_f64(c);
            lo[i] = hull_side(lo[i], a, p, (l, h), Side::Lo);
            hi[i] = hull_side(hi[i], b, p, (l, h), Side::Hi);
        }
        TensorBox::new(shape, lo, hi)
    }
}

/// A BatchNorm folded into the preceding layer the way a runtime's graph optimiser does
/// it: the runtime's own float weights and bias, and for each entry a rigorous bound on its
/// distance to the exact real composition `diag(s)·W`, `s∘(b − μ) + β`. Get one with
/// [`Deployed::fold_into_preceding`].
#[derive(Clone, Debug, PartialEq)]
pub struct DeployedFold<T: Float> {
    dims: Vec<usize>,
    weight: Vec<T>,
    bias: Vec<T>,
    weight_radius: Vec<T>,
    bias_radius: Vec<T>,
}

impl<T: Float> DeployedFold<T> {
    /// The weight dims `[O, I, k…]`.
    ///
    /// ```
    /// # use bnbound::{fold::LinearLayer, BatchNorm, Runtime};
    /// # let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// # let conv = LinearLayer::new(&[1, 1], vec![2.0f32], None)?;
    /// let f = bn.deployed(Runtime::OnnxruntimeCpu).fold_into_preceding(&conv)?;
    /// assert_eq!(f.dims(), &[1, 1]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The runtime's folded weights, bit for bit.
    ///
    /// ```
    /// # use bnbound::{fold::LinearLayer, BatchNorm, Runtime};
    /// # let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?;
    /// # let conv = LinearLayer::new(&[1, 1], vec![3.0f32], None)?;
    /// let f = bn.deployed(Runtime::OnnxruntimeCpu).fold_into_preceding(&conv)?;
    /// assert_eq!(f.weight(), &[1.5]); // 3 · (1 / √4)
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn weight(&self) -> &[T] {
        &self.weight
    }

    /// The runtime's folded bias, bit for bit.
    ///
    /// ```
    /// # use bnbound::{fold::LinearLayer, BatchNorm, Runtime};
    /// # let bn = BatchNorm::new(vec![1.0f32], vec![1.0], vec![2.0], vec![4.0], 0.0)?;
    /// # let conv = LinearLayer::new(&[1, 1], vec![3.0f32], Some(vec![4.0]))?;
    /// let f = bn.deployed(Runtime::OnnxruntimeCpu).fold_into_preceding(&conv)?;
    /// assert_eq!(f.bias(), &[2.0]); // (4 − 2) · ½ + 1
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn bias(&self) -> &[T] {
        &self.bias
    }

    /// For each weight, a bound `≥ |weight − exact|` (rounded up to `T`).
    ///
    /// ```
    /// # use bnbound::{fold::LinearLayer, BatchNorm, Runtime};
    /// # let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![3.0], 0.0)?;
    /// # let conv = LinearLayer::new(&[1, 1], vec![1.0f32], None)?;
    /// let f = bn.deployed(Runtime::OnnxruntimeCpu).fold_into_preceding(&conv)?;
    /// assert!(f.weight_radius()[0] > 0.0); // 1/√3 is irrational
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn weight_radius(&self) -> &[T] {
        &self.weight_radius
    }

    /// For each bias entry, a bound `≥ |bias − exact|` (rounded up to `T`).
    ///
    /// ```
    /// # use bnbound::{fold::LinearLayer, BatchNorm, Runtime};
    /// # let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?;
    /// # let conv = LinearLayer::new(&[1, 1], vec![1.0f32], Some(vec![2.0]))?;
    /// let f = bn.deployed(Runtime::OnnxruntimeCpu).fold_into_preceding(&conv)?;
    /// assert_eq!(f.bias(), &[1.0]); // 2 · ½, exact here
    /// assert!(f.bias_radius()[0] <= f32::EPSILON); // the sound enclosure's width
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn bias_radius(&self) -> &[T] {
        &self.bias_radius
    }
}

impl<T: Float> Deployed<'_, T> {
    /// Folds this BatchNorm into the preceding layer (`BN(W·x + b)`, one output channel per
    /// BatchNorm channel) exactly as ONNX Runtime's default graph optimisation does
    /// (`onnxruntime/core/optimizer/conv_bn_fusion.cc`, every step rounded to nearest in
    /// `T`): `s = RN(γ / RN(√RN(σ² + ε)))` (a division), `W' = RN(W·s_o)`, and
    /// `b' = RN(RN(RN(b − μ)·s) + β)`; without a conv bias ([`crate::fold::LinearLayer::has_bias`])
    /// `RN(β − RN(μ·s))`, as ONNX Runtime does (bit for bit, zero signs included). Each entry comes with a
    /// rigorous bound on its distance to the exact real composition (from
    /// [`crate::Enclosure::fold_into_preceding`]), so a verifier can verify the network the
    /// runtime really executes. Errors: [`Error::ChannelMismatch`];
    /// [`Error::DeployedFoldNan`] where the runtime's fused weight or bias is NaN;
    /// [`Error::NoDeployedFold`] for PyTorch, whose eager CPU inference does not fold.
    ///
    /// ```
    /// use bnbound::{fold::LinearLayer, BatchNorm, Runtime};
    /// let bn = BatchNorm::new(vec![0.9f32, -1.1], vec![0.1, 0.0], vec![0.5, -0.2], vec![2.0, 0.3], 1e-5)?;
    /// let conv = LinearLayer::new(&[2, 1, 1, 2], vec![1.0, 2.0, 3.0, 4.0], Some(vec![0.5, -0.5]))?;
    /// let f = bn.deployed(Runtime::OnnxruntimeCpu).fold_into_preceding(&conv)?;
    /// let sound = bn.enclose().fold_into_preceding(&conv)?;
    /// for (k, &w) in f.weight().iter().enumerate() {
    ///     let (lo, hi) = (sound.weight().lo()[k], sound.weight().hi()[k]);
    ///     assert!((w - lo).max(hi - w) <= f.weight_radius()[k]);
    /// }
    /// assert!(bn.deployed(Runtime::PytorchCpu).fold_into_preceding(&conv).is_err());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn fold_into_preceding(
        &self,
        layer: &crate::fold::LinearLayer<T>,
    ) -> Result<DeployedFold<T>> {
        let _env = crate::num::round::env::enter();
        if self.runtime != Runtime::OnnxruntimeCpu {
            return Err(Error::NoDeployedFold(self.runtime.name()));
        }
        let sound = self.bn.enclose().fold_into_preceding(layer)?;
        let bn = self.bn;
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
        let radius = |v: &[T], b: &TensorBox<T>| -> Vec<T> {
            v.iter()
                .zip(b.lo().iter().zip(b.hi()))
                .map(|(&x, (&l, &h))| {
                    let x = x.to_f64_raw();
                    let r = add_up(x, -l.to_f64_raw()).max(add_up(h.to_f64_raw(), -x));
                    T::from_f64_up_raw(r)
                })
                .collect()
        };
        Ok(DeployedFold {
            dims: layer.dims().to_vec(),
            weight_radius: radius(&weight, sound.weight()),
            bias_radius: radius(&bias, sound.bias()),
            weight,
            bias,
        })
    }
}

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
        let q = flush::op2(&[v], &[es], |a, b| a + b, &rs);
        let mut out = Vec::new();
        for q in flush::reads(&q) {
            for r in faithful_sqrt(q) {
                for inv in flush::op2(&[1.0], &[k.rs(r)], |a, b| a / b, &rs) {
                    out.push(Fallback16 { inv, ..k });
                }
            }
        }
        out
    }

    /// `x − μ` as the kernel computes it (non-decreasing in `x`): every value of the flush
    /// model.
    fn centred(&self, x: f32) -> Vec<f32> {
        flush::op2(&[x], &[self.m], |a, b| a - b, &|y| self.rs(y))
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
        let t = flush::op2(&self.centred(x), &[self.inv], |a, b| a * b, &rs);
        let t = flush::op2(&t, &[self.g], |a, b| a * b, &rs);
        flush::op2(&t, &[self.b], |a, b| a + b, &rs)
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
    /// Whether [`Deployed::ibp_stored`] replays this runtime's own kernels for data stored
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

impl Deployed<'_, f32> {
    /// IBP for data stored as f16 or bf16 (the layer's γ, β, μ, σ² and the box's endpoints
    /// are values of `storage`, held in `f32`; ε is the `f32` value PyTorch's fast path
    /// uses, `static_cast<float>(eps)`, and ONNX's float attribute): bounds that are values
    /// of `storage` and contain the exact real image and every output the runtime's CPU
    /// kernels produce for storage values in the box.
    ///
    /// `pytorch-cpu` (PyTorch 2.8, `aten/src/ATen/native/cpu/batch_norm_kernel.cpp` and
    /// `aten/src/ATen/native/Normalization.cpp`; checked bit for bit against the real
    /// kernels by `tests/engine/torch_deployed.py`): the hull of the paths PyTorch may take,
    /// since the memory format is not known here —
    /// - contiguous and channels-last inputs (`batch_norm_cpu_contiguous_impl` and
    ///   `batch_norm_cpu_channels_last_impl`, reduced-float overloads): `α`, `β'` in `f32`
    ///   (`opmath_t`), `x·α + β'` in `f32` with or without FMA, one rounding to the storage
    ///   type (`RN_s`, monotone, so the endpoint argument holds);
    /// - any other strides (a transposed or sliced view): the fallback of
    ///   `batch_norm_cpu_transform_input_template`, every operation of
    ///   `invstd = 1/√(σ² + ε)` and of `((x − μ)·invstd)·γ + β` rounded to the storage type
    ///   (ε too: a tiny ε can become 0 or a subnormal there, so `σ² = 0`, `ε = 10⁻⁷`, `x = 1`
    ///   gives 2896 in f16, not 1/√ε ≈ 3162). Replayed with ε rounded either way to the
    ///   storage type (PyTorch rounds its double ε, bnbound knows the `f32` one);
    /// - parameters held in `f32` (mixed types): the `f32` recipes, one rounding.
    ///
    /// `onnxruntime-cpu`: its 16-bit kernels are **not replayed**; the bounds are those of
    /// [`Runtime::Any`] with 2 ulps on the storage grid, never `f32` bounds for 16-bit
    /// arithmetic ([`Runtime::replays`] says so).
    ///
    /// With [`Runtime::Any`], every output of every form computed in any mixture of `f32`
    /// and the storage type (each operation correctly rounded in one of them, `√`, `1/√`,
    /// `÷` within `K` ulps of the storage type, intermediates stored in either).
    ///
    /// Errors: those of [`Deployed::ibp`] ([`Error::DeployedNan`] also when the fallback's
    /// `σ² + ε` can be stored as 0 and `x = μ` is in the box); [`Error::NotInStorage`] for an
    /// endpoint or parameter that is not a value of `storage`; [`Error::UlpsOutOfRange`]
    /// above `2^(p−4)` ulps (16 for bf16, 128 for f16).
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Shape, Storage, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![3.0], 0.0)?; // x/√3
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
    /// let y = bn.deployed(Runtime::PytorchCpu).ibp_stored(&x, Storage::F16)?;
    /// assert!(Storage::F16.holds(y.lo()[0]) && Storage::F16.holds(y.hi()[0]));
    /// assert!((y.lo()[0] as f64) < 3f64.sqrt().recip() && 3f64.sqrt().recip() < y.hi()[0] as f64);
    /// let any = bn.deployed(Runtime::Any { ulps: 2 }).ibp_stored(&x, Storage::F16)?;
    /// assert!(any.lo()[0] <= y.lo()[0] && y.hi()[0] <= any.hi()[0]);
    /// // ONNX Runtime's 16-bit kernel is not replayed: any's bounds.
    /// let ort = bn.deployed(Runtime::OnnxruntimeCpu).ibp_stored(&x, Storage::F16)?;
    /// assert_eq!(ort, any);
    /// // σ² = 0, ε = 1e-7: PyTorch's 16-bit fallback stores ε in f16 and gives 2896.
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![0.0], 1e-7)?;
    /// let y = bn.deployed(Runtime::PytorchCpu).ibp_stored(&x, Storage::F16)?;
    /// assert!(y.lo()[0] <= 2896.0 && 3162.0 <= y.hi()[0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp_stored(&self, input: &TensorBox<f32>, storage: Storage) -> Result<TensorBox<f32>> {
        let _env = crate::num::round::env::enter();
        let any = match self.runtime {
            Runtime::PytorchCpu => None,
            // Not replayed: every order and mixture, on the storage grid.
            Runtime::OnnxruntimeCpu => Some(crate::modes::any::Model::storage(storage, 2)),
            Runtime::Any { ulps } => {
                let m = crate::modes::any::Model::storage(storage, ulps);
                if ulps > m.max_ulps() {
                    return Err(Error::UlpsOutOfRange {
                        ulps,
                        max: m.max_ulps(),
                    });
                }
                Some(m)
            }
        };
        let bn = self.bn;
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
        let real = self.bn.enclose().ibp(input)?;
        let shape = *input.shape();
        let inner = shape.inner().max(1);
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
            let c = (i / inner) % channels;
            let nan = Error::DeployedNan {
                index: i,
                channel: c,
            };
            let (a, b) = match &any {
                // Every order and precision mixture: an interval, rounded outward.
                Some(m) => {
                    let p = self.bn.channel_f64(c);
                    let (a, b) = crate::modes::any::image(m, p, l as f64, h as f64).ok_or(nan)?;
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
