//! Deployed-float semantics: what a named runtime computes in floats. The recipes
//! replayed (with the runtimes' sources), why a box's endpoints bound its outputs, the
//! flush-to-zero model and `any`'s error model are stated once, on the soundness page
//! (`bnbound::docs::soundness`, "Deployed-float semantics"); this module implements them:
//!
//! - `recipe`: the table of recipes per runtime and compute type, and one channel's
//!   constants as the runtime computes them;
//! - `flush`: the flush-to-zero model every replayed operation runs under;
//! - `any`: [`Runtime::Any`]'s error model, beside the replayed recipes;
//! - `stored`: data stored as f16/bf16 (PyTorch's 16-bit paths);
//! - `fold`: ONNX Runtime's Conv→BatchNorm fusion, replayed.
//!
//! [`Replay`] holds a layer's per-channel constants for one runtime, computed once; the
//! public face is [`crate::modes::bounds::Bounds`].

pub(crate) mod any;
mod envelope;
mod flush;
mod fold;
mod recipe;
mod replay;
mod stored;

use crate::error::{Error, Result, Side};
use crate::exact::{cmp_affine_params, tighten};
use crate::layer::params::BatchNorm;
use crate::num::float::Float;
use crate::num::interval::mul_bounds;
use crate::tensor::{BoxView, TensorBox};
pub(crate) use envelope::Envelope;
pub(crate) use fold::fold_into_preceding;
use recipe::{Consts, Lanes, Recipe, Table};
use std::cmp::Ordering;

/// A CPU runtime whose BatchNorm recipe bnbound replays exactly, or [`Runtime::Any`]'s
/// error model (the recipes and the model: `bnbound::docs::soundness`).
///
/// ```
/// use bnbound::Runtime;
/// assert_eq!("onnxruntime-cpu".parse::<Runtime>()?, Runtime::OnnxruntimeCpu);
/// assert_eq!(Runtime::PytorchCpu.to_string(), "pytorch-cpu");
/// assert_eq!("any:4".parse::<Runtime>()?, Runtime::Any { ulps: 4 });
/// assert!("cuda".parse::<Runtime>().is_err());
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Runtime {
    /// PyTorch's CPU kernels (fast path, with and without FMA contraction, and the
    /// non-contiguous fallback).
    PytorchCpu,
    /// ONNX Runtime's CPU execution provider (with and without FMA contraction, and its
    /// NCHWc rewrite of `f32` layers).
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

    /// The name used on the command line (without `any`'s ulps).
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

    /// `Ok` unless the runtime is [`Runtime::Any`] with more than [`Runtime::MAX_ULPS`].
    pub(crate) fn valid(self) -> Result<()> {
        match self {
            Runtime::Any { ulps } if ulps > Runtime::MAX_ULPS => Err(Error::UlpsOutOfRange {
                ulps: ulps.into(),
                max: Runtime::MAX_ULPS,
            }),
            _ => Ok(()),
        }
    }
}

/// `pytorch-cpu`, `onnxruntime-cpu`, `any` (2 ulps) or `any:K`.
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
            other => match other.strip_prefix("any:").map(str::parse::<u64>) {
                Some(Ok(k)) => Semantics::any(k).map(|_| Runtime::Any { ulps: k as u32 }),
                _ => Err(Error::UnknownRuntime(crate::error::short(other))),
            },
        }
    }
}

/// Which function a bound encloses.
///
/// ```
/// use bnbound::{Runtime, Semantics};
/// assert_eq!(Semantics::default(), Semantics::Real);
/// assert_eq!("pytorch-cpu".parse::<Semantics>()?, Semantics::Deployed(Runtime::PytorchCpu));
/// assert_eq!("real".parse::<Semantics>()?, Semantics::Real);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Semantics {
    /// The real-number function of the stored parameters.
    #[default]
    Real,
    /// The real function and every output the runtime computes for float inputs.
    Deployed(Runtime),
}

impl Semantics {
    /// The semantics named by a front end's three options, with their rules: `semantics`
    /// is `"real"` (the default when `None`) or `"deployed"`; `runtime` (a
    /// [`Runtime`] name) is required by `"deployed"` and refused by `"real"`; `ulps` only
    /// goes with the runtime `any` and is at most [`Runtime::MAX_ULPS`]. The CLI's
    /// `--semantics/--runtime/--ulps` and Python's `semantics=/runtime=/ulps=` both come
    /// here.
    ///
    /// Errors: [`Error::UnknownSemantics`], [`Error::UnknownRuntime`],
    /// [`Error::RuntimeWithoutDeployed`], [`Error::DeployedWithoutRuntime`],
    /// [`Error::UlpsWithoutAny`], [`Error::UlpsOutOfRange`].
    ///
    /// ```
    /// use bnbound::{Runtime, Semantics};
    /// assert_eq!(Semantics::from_options(None, None, None)?, Semantics::Real);
    /// let any = Semantics::from_options(Some("deployed"), Some("any"), Some(4))?;
    /// assert_eq!(any, Semantics::Deployed(Runtime::Any { ulps: 4 }));
    /// assert!(Semantics::from_options(Some("real"), Some("pytorch-cpu"), None).is_err());
    /// assert!(Semantics::from_options(Some("deployed"), Some("pytorch-cpu"), Some(2)).is_err());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn from_options(
        semantics: Option<&str>,
        runtime: Option<&str>,
        ulps: Option<u64>,
    ) -> Result<Semantics> {
        let _env = crate::num::round::env::enter();
        let s = match (semantics.unwrap_or("real"), runtime) {
            ("real", None) => Semantics::Real,
            ("real", Some(_)) => return Err(Error::RuntimeWithoutDeployed),
            ("deployed", None) => return Err(Error::DeployedWithoutRuntime),
            ("deployed", Some(r)) => Semantics::Deployed(r.parse()?),
            (other, _) => return Err(Error::UnknownSemantics(crate::error::short(other))),
        };
        match (s, ulps) {
            (s, None) => Ok(s),
            (Semantics::Deployed(Runtime::Any { .. }), Some(k)) => Semantics::any(k),
            _ => Err(Error::UlpsWithoutAny),
        }
    }

    /// `Deployed(Any { ulps: k })`, or [`Error::UlpsOutOfRange`].
    fn any(k: u64) -> Result<Semantics> {
        match u32::try_from(k) {
            Ok(ulps) if ulps <= Runtime::MAX_ULPS => Ok(Semantics::Deployed(Runtime::Any { ulps })),
            _ => Err(Error::UlpsOutOfRange {
                ulps: k,
                max: Runtime::MAX_ULPS,
            }),
        }
    }
}

/// `real`, or the runtime's name (`pytorch-cpu`, …, `any:K`).
impl std::fmt::Display for Semantics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Semantics::Real => f.write_str("real"),
            Semantics::Deployed(Runtime::Any { ulps }) => write!(f, "any:{ulps}"),
            Semantics::Deployed(rt) => f.write_str(rt.name()),
        }
    }
}

/// `real`, or a runtime name ([`Runtime`]'s `from_str`): deployed semantics in it.
impl std::str::FromStr for Semantics {
    type Err = Error;
    fn from_str(s: &str) -> Result<Semantics> {
        match s {
            "real" => Ok(Semantics::Real),
            other => Ok(Semantics::Deployed(other.parse()?)),
        }
    }
}

/// A layer's constants for one runtime, computed once: the recipes the runtime runs on
/// `T` and each channel's constants as it computes them, or `any`'s error model.
#[derive(Clone, Debug)]
pub(crate) struct Replay<T: Float> {
    runtime: Runtime,
    recipes: &'static [Recipe],
    consts: Vec<Consts<T>>,
    /// Each channel's parameters as exact `f64` values.
    params: Vec<crate::num::params::Params>,
    /// The recipes as the vectorised replay runs them (`None` for `any`), and each
    /// channel's constants laid out for it.
    table: Option<Table>,
    lanes: Lanes<Vec<T>>,
    /// Whether no input can make the runtime compute NaN (see [`Replay::infallible`]).
    infallible: bool,
}

impl<T: Float> Replay<T> {
    /// The constants of `bn` under `runtime` (the caller holds the default environment).
    pub(crate) fn new(bn: &BatchNorm<T>, runtime: Runtime) -> Self {
        let consts: Vec<Consts<T>> = (0..bn.channels())
            .map(|c| {
                Consts::new(
                    bn.gamma()[c],
                    bn.beta()[c],
                    bn.running_mean()[c],
                    bn.running_var()[c],
                    bn.eps(),
                )
            })
            .collect();
        let recipes = recipe::recipes(runtime, T::DTYPE);
        let lanes: Vec<_> = consts.iter().map(|k| k.lane(recipes)).collect();
        let infallible = !recipes.is_empty()
            && consts
                .iter()
                .zip(&lanes)
                .all(|(k, l)| l.is_some() && k.nonzero_slopes(recipes));
        Replay {
            runtime,
            recipes,
            consts,
            params: (0..bn.channels()).map(|c| bn.channel_f64(c)).collect(),
            table: Table::of(recipes),
            lanes: Lanes::new(&lanes, bn.gamma()),
            infallible,
        }
    }

    /// Whether the runtime computes no NaN for any input (finite or infinite): a named
    /// runtime whose every channel has a lane (finite constants the flush model cannot
    /// change) and nonzero factors `α`, `s'`, `invstd` and `γ` in its recipes. Then
    /// `0·∞` needs a zero factor, which none of the finite or flushed operands is, and
    /// `∞ − ∞` an infinite constant: [`Replay::widen_in_place`] cannot fail.
    pub(crate) fn infallible(&self) -> bool {
        self.infallible
    }

    /// The runtime.
    pub(crate) fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// The least and greatest output the runtime can produce for the input `x` of channel
    /// `c`; see `Bounds::outputs_at`.
    pub(crate) fn outputs_at(&self, c: usize, x: T) -> Result<(T, T)> {
        let k = self.consts.get(c).ok_or(Error::ChannelMismatch {
            expected: self.consts.len(),
            found: c + 1,
        })?;
        let nan = Error::DeployedNan {
            index: 0,
            channel: c,
        };
        if let Runtime::Any { .. } = self.runtime {
            self.runtime.valid()?;
            return self.image(c, x, x).ok_or(nan);
        }
        k.outputs(x, self.recipes).ok_or(nan)
    }

    /// The runtime's outputs at both endpoints of `[l, h]` for channel `c` (each the least
    /// and greatest over the recipes), or `None` when the runtime produces NaN somewhere
    /// in the box. By monotonicity they bound every output in the box.
    pub(crate) fn endpoint_outputs(&self, c: usize, l: T, h: T) -> Option<((T, T), (T, T))> {
        if let Runtime::Any { ulps } = self.runtime {
            // An over-approximation of the whole box's outputs, at both "endpoints".
            let m = any::Model::of::<T>(ulps);
            let (a, b) = any::image(&m, self.params[c], l.to_f64_raw(), h.to_f64_raw())?;
            let (a, b) = (T::from_f64_down_raw(a), T::from_f64_up_raw(b));
            return Some(((a, b), (a, b)));
        }
        let k = &self.consts[c];
        if k.nan_inside(l, h, self.recipes) {
            return None;
        }
        Some((k.outputs(l, self.recipes)?, k.outputs(h, self.recipes)?))
    }

    /// The runtime's outputs over the floats of `[l, h]` for channel `c`: the hull at both
    /// endpoints.
    pub(crate) fn image(&self, c: usize, l: T, h: T) -> Option<(T, T)> {
        let ((a, b), (p, q)) = self.endpoint_outputs(c, l, h)?;
        Some((a.min(p), b.max(q)))
    }

    /// The hull of `real` (a sound enclosure of the real image of `input`, of its shape)
    /// and the runtime's outputs over `input`.
    pub(crate) fn widen(
        &self,
        kernel: crate::kernel::choice::Kernel,
        input: &BoxView<'_, T>,
        real: TensorBox<T>,
    ) -> Result<TensorBox<T>> {
        self.runtime.valid()?;
        let shape = *input.shape();
        if real.shape() != input.shape() {
            return Err(Error::ShapeMismatch {
                what: "the real enclosure",
                expected: shape.dims().to_vec(),
                found: real.shape().dims().to_vec(),
            });
        }
        let (_, mut lo, mut hi) = real.into_parts();
        self.widen_in_place(kernel, input, &mut lo, &mut hi)?;
        Ok(TensorBox::from_valid(shape, lo, hi))
    }

    /// [`Replay::widen`] in place: `lo`, `hi` hold a sound enclosure of the real image of
    /// `input` (its length) and become the hull. On error the buffers hold a mixture of
    /// both (callers that promise "nothing written" use [`Replay::infallible`] or their
    /// own buffers).
    pub(crate) fn widen_in_place(
        &self,
        kernel: crate::kernel::choice::Kernel,
        input: &BoxView<'_, T>,
        lo: &mut [T],
        hi: &mut [T],
    ) -> Result<()> {
        self.check(input)?;
        let inner = input.shape().inner();
        self.hull_blocks(kernel, input, (inner, 0, 0..input.shape().len()), (lo, hi))
    }

    /// Fast-mode deployed IBP into `lo`, `hi` (the box's length): the real IBP of `enc`
    /// (the layer's enclosure) and the hull with the runtime's outputs, piece by piece so
    /// that the replay reads the real bounds while they are in cache. Errors as
    /// [`Replay::widen_in_place`], which this equals.
    pub(crate) fn ibp_into(
        &self,
        enc: &crate::layer::enclosure::Enclosure,
        input: &BoxView<'_, T>,
        lo: &mut [T],
        hi: &mut [T],
    ) -> Result<()> {
        crate::transfer::ibp::check_lengths(enc, input, lo, hi)?;
        self.check(input)?;
        /// Elements per piece (four `f32` buffers of it fit in a 256 KB cache).
        const PIECE: usize = 16 * 1024;
        let n = input.shape().len();
        let inner = input.shape().inner();
        if inner == 0 || n == 0 {
            return Ok(());
        }
        // Whole blocks, and for rows of channels (`inner = 1`) whole rows: the real IBP of
        // a piece is then bit for bit that of the whole box.
        let unit = if inner == 1 {
            self.consts.len().max(1)
        } else {
            inner
        };
        let piece = (PIECE / unit).max(1) * unit;
        for start in (0..n).step_by(piece) {
            let r = start..(start + piece).min(n);
            crate::transfer::ibp::ibp_blocks(
                enc,
                inner,
                start / inner,
                (&input.lo()[r.clone()], &input.hi()[r.clone()]),
                (&mut lo[r.clone()], &mut hi[r.clone()]),
            );
            let (l, h) = (&mut lo[r.clone()], &mut hi[r.clone()]);
            self.hull_blocks(enc.kernel(), input, (inner, start / inner, r), (l, h))?;
        }
        Ok(())
    }

    /// The runtime is valid and `input` has the layer's channel count.
    fn check(&self, input: &BoxView<'_, T>) -> Result<()> {
        self.runtime.valid()?;
        if input.shape().channels() != self.consts.len() {
            return Err(Error::ChannelMismatch {
                expected: self.consts.len(),
                found: input.shape().channels(),
            });
        }
        Ok(())
    }

    /// The hull over the elements `range` of `input` (whole blocks of `inner`, the first
    /// being block `first_block`), whose real bounds `lo`, `hi` (of the range's length)
    /// hold: the named runtimes run the vectorised replay (module `replay`) on `kernel`'s
    /// instruction set and redo the chunks it marks element by element; `any` goes
    /// element by element.
    fn hull_blocks(
        &self,
        kernel: crate::kernel::choice::Kernel,
        input: &BoxView<'_, T>,
        (inner, first_block, range): (usize, usize, std::ops::Range<usize>),
        (lo, hi): (&mut [T], &mut [T]),
    ) -> Result<()> {
        let shape = *input.shape();
        let (x_lo, x_hi) = (&input.lo()[range.clone()], &input.hi()[range.clone()]);
        let redo = match self.table {
            Some(table) => crate::kernel::loops::dispatch(
                kernel,
                replay::HullJob::new(
                    (&self.lanes, table),
                    (inner, first_block),
                    (x_lo, x_hi),
                    (&mut *lo, &mut *hi),
                ),
            ),
            None => std::iter::once(0..range.len()).collect(),
        };
        for j in redo.into_iter().flatten() {
            let i = range.start + j;
            let c = shape.channel_of(i);
            (lo[j], hi[j]) = self.widen_one(i, c, (x_lo[j], x_hi[j]), (lo[j], hi[j]))?;
        }
        Ok(())
    }

    /// [`Replay::widen`] of element `i` (channel `c`, input `[l, h]`, real bounds `real`).
    pub(crate) fn widen_one(
        &self,
        i: usize,
        c: usize,
        (l, h): (T, T),
        (real_lo, real_hi): (T, T),
    ) -> Result<(T, T)> {
        let (a, b) = self.image(c, l, h).ok_or(Error::DeployedNan {
            index: i,
            channel: c,
        })?;
        let p = self.params[c];
        Ok((
            hull_side(real_lo, a, p, (l, h), Side::Lo),
            hull_side(real_hi, b, p, (l, h), Side::Hi),
        ))
    }

    /// For each element of `input`, an interval containing `y − (s·x + o)` for every float
    /// `x` of the element's interval, every output `y` the runtime computes at `x`, and the
    /// exact real `s`, `o` of its channel (from `enc`, the layer's enclosure); `(−∞, +∞)`
    /// where no finite bound is derived. Errors: [`Error::DeployedNan`] when the runtime
    /// computes NaN for an input of the box. For [`Runtime::Any`] the interval is the
    /// model's image of the element's interval minus its real image (sound, and as wide as
    /// about twice the real image's width: exact only for narrow intervals).
    ///
    /// With `block > 1` the elements go in runs of `block` (row-major runs of one channel:
    /// `block` divides the shape's inner size) and each run shares the interval derived for
    /// the hull of its elements' intervals (which holds for every element of the run, since
    /// each lies in the hull): one derivation per run instead of per element, a little
    /// wider where the run's magnitudes differ. A run whose hull gives no verdict (NaN for
    /// some input of the hull) is derived element by element.
    pub(crate) fn deviations(
        &self,
        enc: &crate::layer::enclosure::Enclosure,
        input: &TensorBox<T>,
        block: usize,
    ) -> Result<Vec<(f64, f64)>> {
        self.runtime.valid()?;
        let shape = *input.shape();
        let any = matches!(self.runtime, Runtime::Any { .. });
        // `any`'s deviation below grows with the interval's width: element by element.
        let block = if !any && block > 1 && shape.inner().max(1).is_multiple_of(block) {
            block
        } else {
            1
        };
        let one = |c: usize, l: T, h: T| -> Option<(f64, f64)> {
            let (y_lo, y_hi) = self.image(c, l, h)?;
            let ch = enc.channel(c);
            let (s, o) = (ch.scale(), ch.offset());
            if any {
                // Every output over [l, h] lies in the model's image Y, the exact s·x + o in
                // R = [s]·[l, h] + [o]: their difference lies in Y − R.
                use crate::num::round::{add_down, add_up};
                let (pl, ph) = crate::num::interval::mul_bounds(
                    s.lo(),
                    s.hi(),
                    l.to_f64_raw(),
                    h.to_f64_raw(),
                );
                let (rl, rh) = (add_down(pl, o.lo()), add_up(ph, o.hi()));
                let (yl, yh) = (y_lo.to_f64_raw(), y_hi.to_f64_raw());
                let finite = [yl, yh, rl, rh].iter().all(|v| v.is_finite());
                return Some(if finite {
                    (add_down(yl, -rh), add_up(yh, -rl))
                } else {
                    (f64::NEG_INFINITY, f64::INFINITY)
                });
            }
            Some(
                self.consts[c]
                    .deviation(self.recipes, (s.lo(), s.hi()), (o.lo(), o.hi()), l, h)
                    .unwrap_or((f64::NEG_INFINITY, f64::INFINITY)),
            )
        };
        let (lo, hi) = (input.lo(), input.hi());
        let mut out = Vec::with_capacity(shape.len());
        for start in (0..lo.len()).step_by(block) {
            let run = start..start + block;
            let c = shape.channel_of(start);
            if block > 1 {
                let l = lo[run.clone()].iter().copied().fold(T::infinity(), T::min);
                let h = hi[run.clone()]
                    .iter()
                    .copied()
                    .fold(T::neg_infinity(), T::max);
                if let Some(d) = one(c, l, h) {
                    out.extend(std::iter::repeat_n(d, block));
                    continue;
                }
            }
            for i in run {
                out.push(one(c, lo[i], hi[i]).ok_or(Error::DeployedNan {
                    index: i,
                    channel: c,
                })?);
            }
        }
        Ok(out)
    }

    /// The hull of `real` (a sound enclosure of `s·d` over `dbox`, of its shape) and the
    /// slopes the runtime applies to `x` times `d` (see `Bounds::derivative_chain`).
    pub(crate) fn derivative(
        &self,
        dbox: &TensorBox<T>,
        real: TensorBox<T>,
    ) -> Result<TensorBox<T>> {
        self.runtime.valid()?;
        let shape = *dbox.shape();
        let any = match self.runtime {
            Runtime::Any { ulps } => Some(any::Model::of::<T>(ulps)),
            _ => None,
        };
        // Each channel's slopes, once.
        let slopes: Vec<Vec<(f64, f64)>> = self
            .consts
            .iter()
            .zip(&self.params)
            .map(|(k, &p)| {
                let mut v = k.slopes(self.recipes);
                if let Some(m) = &any {
                    v.push(any::slopes(m, p));
                }
                v
            })
            .collect();
        let (mut lo, mut hi) = (real.lo().to_vec(), real.hi().to_vec());
        for (i, (&l, &h)) in dbox.lo().iter().zip(dbox.hi()).enumerate() {
            let (l, h) = (l.to_f64_raw(), h.to_f64_raw());
            for &(sl, sh) in &slopes[shape.channel_of(i)] {
                let (a, b) = mul_bounds(sl, sh, l, h);
                lo[i] = lo[i].min(T::from_f64_down_raw(a));
                hi[i] = hi[i].max(T::from_f64_up_raw(b));
            }
        }
        TensorBox::new(shape, lo, hi)
    }
}

/// One side of `hull(real image, runtime outputs)` from a sound real bound `real` and the
/// runtime's extreme output `y` on that side: the outer of the two, except for `f64` data
/// where `real` is more than 4 steps outside `y`: there the exact real extreme `r`
/// decides (`y` itself if `y` is beyond `r`, else the tightest float on the outer side of
/// `r`, by exact bisection between `real` and `y`). `f32` bounds come from `f64` lanes and
/// are within a step of the tightest already; an `f64` real bound near cancellation can
/// be thousands of steps loose (measured against tight mode).
fn hull_side<T: Float>(
    real: T,
    y: T,
    p: crate::num::params::Params,
    (l, h): (T, T),
    side: Side,
) -> T {
    let lower = side == Side::Lo;
    let outer = if lower { real.min(y) } else { real.max(y) };
    let gap_inward = if lower { real < y } else { real > y };
    if !gap_inward
        || T::DTYPE == crate::num::float::Dtype::F32
        || !real.is_finite()
        || !y.is_finite()
        || crate::num::float::ulps_between(real, y) <= 4
    {
        return outer;
    }
    // The real extreme is attained at the endpoint chosen by the exact sign of γ.
    let g = p.gamma;
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
