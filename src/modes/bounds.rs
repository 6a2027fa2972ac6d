//! The one entry point for mode × semantics: [`Bounds`], built once per layer by
//! [`BatchNorm::bounds`], holding the layer's enclosure and, under deployed semantics,
//! the runtime's per-channel constants. The CLI and the Python package call it.

use crate::error::{Error, Result};
use crate::layer::enclosure::Enclosure;
use crate::layer::params::BatchNorm;
use crate::modes::deployed::{Envelope, Replay, Runtime, Semantics};
use crate::num::float::Float;
use crate::num::round::storage::Storage;
use crate::tensor::{BoxView, TensorBox};
use crate::transfer::fold::{FloatFolded, LinearLayer};
use crate::transfer::form::AffineForm;

/// The real part of an operation in the bounds' mode: `$e` is the fast enclosure or the
/// tight mode (same method names).
macro_rules! real {
    ($b:expr, $e:ident => $call:expr) => {
        match $b.mode {
            Mode::Fast => {
                let $e = &$b.enc;
                $call
            }
            #[cfg(feature = "mpfr")]
            Mode::Tight => {
                let $e = &crate::modes::tight::Tight::with_enclosure(&$b.bn, &$b.enc);
                $call
            }
            #[cfg(not(feature = "mpfr"))]
            Mode::Tight => Err(Error::TightNeedsMpfr),
        }
    };
}

/// How the real image is enclosed.
///
/// ```
/// use bnbound::Mode;
/// assert_eq!("tight".parse::<Mode>()?, Mode::Tight);
/// assert_eq!(Mode::default().to_string(), "fast");
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The outward-rounded enclosure of `s` and `o` (`BatchNorm::enclose`): fast,
    /// bounds within a few ulps of the tightest.
    #[default]
    Fast,
    /// The tightest floating-point enclosure of each result, through MPFR (feature
    /// `mpfr`; without it [`BatchNorm::bounds`] returns [`Error::TightNeedsMpfr`]).
    Tight,
}

impl Mode {
    /// The name used by the CLI and Python (`"fast"`, `"tight"`).
    ///
    /// ```
    /// assert_eq!(bnbound::Mode::Tight.name(), "tight");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fast => "fast",
            Mode::Tight => "tight",
        }
    }

    /// Whether this build offers the mode (tight needs the `mpfr` feature).
    ///
    /// ```
    /// assert!(bnbound::Mode::Fast.available());
    /// ```
    pub fn available(self) -> bool {
        self == Mode::Fast || cfg!(feature = "mpfr")
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "fast" => Ok(Mode::Fast),
            "tight" => Ok(Mode::Tight),
            other => Err(Error::UnknownMode(crate::error::short(other))),
        }
    }
}

/// A layer's bounds in one mode and one semantics, built once ([`BatchNorm::bounds`]):
/// the layer's enclosure (computed once, exact bisection included) and, under deployed
/// semantics, the runtime's per-channel constants. Every method returns bounds that
/// contain the exact real result *and*, under [`Semantics::Deployed`], every output the
/// runtime computes in floats for inputs in the box; [`Mode::Tight`] makes the real part
/// the tightest floating-point enclosure.
///
/// ```
/// use bnbound::{BatchNorm, Mode, Runtime, Semantics, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![3.0f32], vec![-1.0], vec![0.5], vec![0.1], 1e-5)?;
/// let x = TensorBox::new(Shape::new(&[2, 1])?, vec![-1.0f32, 0.0], vec![1.0, 0.25])?;
/// let real = bn.bounds(Mode::Fast, Semantics::Real)?.ibp(&x)?;
/// let torch = bn.bounds(Mode::Fast, Semantics::Deployed(Runtime::PytorchCpu))?.ibp(&x)?;
/// assert!(torch.lo()[0] <= real.lo()[0] && real.hi()[1] <= torch.hi()[1]);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Bounds<T: Float> {
    bn: BatchNorm<T>,
    mode: Mode,
    enc: Enclosure,
    replay: Option<Replay<T>>,
    /// Fast mode under [`Runtime::Any`]: the per-channel envelopes IBP runs on.
    envelope: Option<Envelope<T>>,
}

impl<T: Float> BatchNorm<T> {
    /// This layer's bounds in `mode` and `semantics` ([`Bounds`]): encloses the layer once.
    /// Errors: [`Error::TightNeedsMpfr`] for [`Mode::Tight`] without the `mpfr` feature;
    /// [`Error::UlpsOutOfRange`] for [`Runtime::Any`] above [`Runtime::MAX_ULPS`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Mode, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let b = bn.bounds(Mode::Fast, Semantics::Real)?;
    /// assert_eq!((b.mode(), b.semantics()), (Mode::Fast, Semantics::Real));
    /// assert_eq!(bn.bounds(Mode::Tight, Semantics::Real).is_ok(), Mode::Tight.available());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn bounds(&self, mode: Mode, semantics: Semantics) -> Result<Bounds<T>> {
        let _env = crate::num::round::env::enter();
        if !mode.available() {
            return Err(Error::TightNeedsMpfr);
        }
        if let Semantics::Deployed(rt) = semantics {
            rt.valid()?;
        }
        Ok(self.bounds_unchecked(mode, semantics))
    }

    /// Fast-mode bounds under deployed semantics for `runtime`: shorthand for
    /// `bounds(Mode::Fast, Semantics::Deployed(runtime))` that never fails (an
    /// out-of-range [`Runtime::Any`] is reported by each method instead).
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.deployed(Runtime::PytorchCpu).runtime(), Some(Runtime::PytorchCpu));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn deployed(&self, runtime: Runtime) -> Bounds<T> {
        let _env = crate::num::round::env::enter();
        self.bounds_unchecked(Mode::Fast, Semantics::Deployed(runtime))
    }

    fn bounds_unchecked(&self, mode: Mode, semantics: Semantics) -> Bounds<T> {
        let enc = self.enclose();
        Bounds {
            bn: self.clone(),
            mode,
            envelope: envelope(self, &enc, mode, semantics),
            enc,
            replay: match semantics {
                Semantics::Real => None,
                Semantics::Deployed(rt) => Some(Replay::new(self, rt)),
            },
        }
    }
}

/// The envelopes `any`'s fast-mode IBP runs on (`None` otherwise, and for `ulps` out of
/// range, which the methods report).
fn envelope<T: Float>(
    bn: &BatchNorm<T>,
    enc: &Enclosure,
    mode: Mode,
    semantics: Semantics,
) -> Option<Envelope<T>> {
    match (mode, semantics) {
        (Mode::Fast, Semantics::Deployed(rt @ Runtime::Any { ulps })) if rt.valid().is_ok() => {
            Some(Envelope::new(bn, enc, ulps))
        }
        _ => None,
    }
}

impl<T: Float> Bounds<T> {
    /// The same layer and mode in another semantics, reusing the enclosure (no second
    /// enclosure of the layer; the runtime's constants are computed for `semantics`).
    /// Errors: [`Error::UlpsOutOfRange`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Mode, Runtime, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let real = bn.bounds(Mode::Fast, Semantics::Real)?;
    /// let ort = real.with_semantics(Semantics::Deployed(Runtime::OnnxruntimeCpu))?;
    /// assert_eq!(ort.runtime(), Some(Runtime::OnnxruntimeCpu));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn with_semantics(&self, semantics: Semantics) -> Result<Bounds<T>> {
        let _env = crate::num::round::env::enter();
        let replay = match semantics {
            Semantics::Real => None,
            Semantics::Deployed(rt) => {
                rt.valid()?;
                match &self.replay {
                    Some(r) if r.runtime() == rt => Some(r.clone()),
                    _ => Some(Replay::new(&self.bn, rt)),
                }
            }
        };
        let envelope = match &self.envelope {
            Some(e) if self.semantics() == semantics => Some(e.clone()),
            _ => envelope(&self.bn, &self.enc, self.mode, semantics),
        };
        Ok(Bounds {
            bn: self.bn.clone(),
            mode: self.mode,
            enc: self.enc.clone(),
            replay,
            envelope,
        })
    }

    /// The same bounds on another per-element kernel ([`crate::Kernel`]): the real
    /// enclosure's loops, under a named runtime the replay of its recipes, and under `any`
    /// the loops on its envelopes run on that kernel's instruction set. Every kernel is sound; tests and fuzzers use this to
    /// cover the paths a CPU without AVX-512 or without FMA takes.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Kernel, Runtime, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.5f32], vec![0.25], vec![0.1], vec![2.0], 1e-5)?;
    /// let x = TensorBox::new(Shape::new(&[1, 1, 70])?, vec![-1.0f32; 70], vec![1.0; 70])?;
    /// let torch = bn.deployed(Runtime::PytorchCpu);
    /// for k in Kernel::ALL {
    ///     let y = torch.clone().with_kernel(k).ibp(&x)?;
    ///     let (a, b) = torch.outputs_at(0, 1.0)?;
    ///     assert!(y.lo()[0] <= a && b <= y.hi()[0]);
    /// }
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn with_kernel(mut self, kernel: crate::kernel::choice::Kernel) -> Self {
        self.enc = self.enc.with_kernel(kernel);
        self.envelope = self.envelope.map(|e| e.with_kernel(kernel));
        self
    }

    /// The mode.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Mode, Runtime};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.deployed(Runtime::OnnxruntimeCpu).mode(), Mode::Fast);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The semantics.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let d = bn.deployed(Runtime::OnnxruntimeCpu);
    /// assert_eq!(d.semantics(), Semantics::Deployed(Runtime::OnnxruntimeCpu));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn semantics(&self) -> Semantics {
        match &self.replay {
            None => Semantics::Real,
            Some(r) => Semantics::Deployed(r.runtime()),
        }
    }

    /// The runtime under deployed semantics, `None` under real semantics.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Mode, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.bounds(Mode::Fast, Semantics::Real)?.runtime(), None);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn runtime(&self) -> Option<Runtime> {
        self.replay.as_ref().map(Replay::runtime)
    }

    /// The layer's enclosure of the exact real `s` and `o` (fast mode's), computed once;
    /// its operations are those of real semantics in fast mode.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime};
    /// let bn = BatchNorm::new(vec![1.0f32, 2.0], vec![0.0; 2], vec![0.0; 2], vec![1.0; 2], 0.0)?;
    /// assert_eq!(bn.deployed(Runtime::PytorchCpu).enclosure().channels(), 2);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn enclosure(&self) -> &Enclosure {
        &self.enc
    }

    fn context(&self) -> String {
        format!("{} semantics, {} mode", self.semantics(), self.mode)
    }

    /// IBP: for every element, a bound containing `{ s·x + o : x ∈ [l, h] }` for the exact
    /// real `s`, `o` and, under deployed semantics, every output the runtime computes for
    /// a float `x` in `[l, h]` (all its recipe variants, flush-to-zero on or off; for
    /// [`Runtime::Any`] every evaluation order within its ulps). Tight mode gives the
    /// tightest float enclosure of the real image (and the runtime's outputs).
    ///
    /// Errors: [`Error::ChannelMismatch`]; under deployed semantics
    /// [`Error::DeployedNan`] when the runtime computes NaN for an input of the box (no
    /// bound contains NaN), [`Error::UlpsOutOfRange`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime, Shape, TensorBox};
    /// // γ = 0: the runtime computes 0·∞ = NaN at an infinite input.
    /// let bn = BatchNorm::new(vec![0.0f32], vec![1.0], vec![0.0], vec![1.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![0.0f32], vec![f32::INFINITY])?;
    /// assert!(bn.deployed(Runtime::PytorchCpu).ibp(&x).is_err());
    /// assert_eq!(bn.enclose().ibp(&x)?.lo(), &[1.0]); // the real image is {β}
    /// // y = x/√2: ONNX Runtime's output at 1 and the exact 1/√2 are both inside.
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![2.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
    /// let y = bn.deployed(Runtime::OnnxruntimeCpu).ibp(&x)?;
    /// let (out, _) = bn.deployed(Runtime::OnnxruntimeCpu).outputs_at(0, 1.0)?;
    /// assert!(y.lo()[0] <= out && out <= y.hi()[0]);
    /// assert!((y.lo()[0] as f64) < 0.5f64.sqrt() && 0.5f64.sqrt() < y.hi()[0] as f64);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp(&self, input: &TensorBox<T>) -> Result<TensorBox<T>> {
        let _env = crate::num::round::env::enter();
        self.ibp_view(&input.view())
    }

    /// [`Bounds::ibp`] of a view, into fresh buffers.
    fn ibp_view(&self, input: &BoxView<'_, T>) -> Result<TensorBox<T>> {
        if let Some((env, r)) = self.any_fast() {
            let n = input.shape().len();
            let (mut lo, mut hi) = (vec![T::zero(); n], vec![T::zero(); n]);
            env.ibp_into(r, &self.enc, input, &mut lo, &mut hi)?;
            return Ok(TensorBox::from_valid(*input.shape(), lo, hi));
        }
        let real = match (self.mode, &self.replay) {
            (Mode::Fast, replay) => {
                let n = input.shape().len();
                let (mut lo, mut hi) = (vec![T::zero(); n], vec![T::zero(); n]);
                match replay {
                    None => self.enc.ibp_into(input, &mut lo, &mut hi)?,
                    Some(r) => r.ibp_into(&self.enc, input, &mut lo, &mut hi)?,
                }
                return Ok(TensorBox::from_valid(*input.shape(), lo, hi));
            }
            _ => {
                let (lo, hi) = (input.lo().to_vec(), input.hi().to_vec());
                let owned = TensorBox::from_valid(*input.shape(), lo, hi);
                real!(self, e => e.ibp(&owned))?
            }
        };
        match &self.replay {
            None => Ok(real),
            Some(r) => r.widen(self.enc.kernel(), input, real),
        }
    }

    /// Fast mode under [`Runtime::Any`]: the envelopes and the runtime's replay.
    fn any_fast(&self) -> Option<(&Envelope<T>, &Replay<T>)> {
        match (self.mode, &self.envelope, &self.replay) {
            (Mode::Fast, Some(e), Some(r)) => Some((e, r)),
            _ => None,
        }
    }

    /// [`Bounds::ibp`] into caller buffers (each of the box's length). Nothing is written
    /// on error; [`Error::DataLength`] when a buffer's length differs from the box's.
    /// In fast mode under real semantics, and under a named runtime whose layer cannot
    /// make it compute NaN (the usual case), the bounds are computed in the buffers
    /// directly; otherwise in fresh buffers, then copied.
    ///
    /// ```
    /// use bnbound::{BatchNorm, BoxView, Runtime, Shape};
    /// let bn = BatchNorm::new(vec![2.0f32], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x
    /// let (lo, hi) = ([0.5f32], [1.5f32]);
    /// let x = BoxView::new(Shape::new(&[1])?, &lo, &hi)?;
    /// let (mut ylo, mut yhi) = ([0.0f32], [0.0f32]);
    /// bn.deployed(Runtime::OnnxruntimeCpu).ibp_into(&x, &mut ylo, &mut yhi)?;
    /// assert!(ylo[0] <= 0.5 && 1.5 <= yhi[0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp_into(
        &self,
        input: &BoxView<'_, T>,
        out_lo: &mut [T],
        out_hi: &mut [T],
    ) -> Result<()> {
        let _env = crate::num::round::env::enter();
        if self.mode == Mode::Fast {
            match &self.replay {
                None => return self.enc.ibp_into(input, out_lo, out_hi),
                Some(r) if r.infallible() => return r.ibp_into(&self.enc, input, out_lo, out_hi),
                Some(_) => {}
            }
        }
        for (what, v) in [("out_lo", out_lo.len()), ("out_hi", out_hi.len())] {
            if v != input.shape().len() {
                return Err(Error::DataLength {
                    what,
                    expected: input.shape().len(),
                    found: v,
                });
            }
        }
        if let Some((env, r)) = self.any_fast() {
            return env.ibp_into(r, &self.enc, input, out_lo, out_hi);
        }
        let out = self.ibp_view(input)?;
        out_lo.copy_from_slice(out.lo());
        out_hi.copy_from_slice(out.hi());
        Ok(())
    }

    /// Chain-rule derivative bounds (first or second derivative alike: BatchNorm's own
    /// second derivative is zero): a box containing `s·d` for the exact real `s` and every
    /// `d` in `dbox`; under deployed semantics also the slopes the runtime applies to `x`
    /// (its float `α`; for PyTorch's fallback the product `invstd·γ` of its float
    /// constants; for ONNX Runtime's NCHWc convolution its weight; for `any` every slope a
    /// form may use) times `d`. A verifier that linearises the deployed network uses these.
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
        let real = real!(self, e => e.derivative_chain(dbox))?;
        match &self.replay {
            None => Ok(real),
            // The runtime's slopes include the float α, which the fast real enclosure
            // need not contain; hulled with the real bound of this mode.
            Some(r) => r.derivative(dbox, real),
        }
    }

    /// Forward composition through the layer (one row per channel): a form whose every
    /// coefficient and constant interval contains `s·a` and `s·c + o` for the exact real
    /// `s`, `o` and every `a`, `c` of `form`'s intervals. Real semantics.
    ///
    /// Errors: [`Error::ChannelMismatch`]; [`Error::NotAvailable`] under deployed
    /// semantics.
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm, Mode, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // s = 1/2
    /// let g = bn.bounds(Mode::Fast, Semantics::Real)?.compose(&AffineForm::point(1, 1, vec![2.0], vec![2.0])?)?;
    /// assert!(g.a().lo()[0] <= 1.0 && 1.0 <= g.a().hi()[0]); // s·2 = 1
    /// assert!(g.c().lo()[0] <= 1.0 && 1.0 <= g.c().hi()[0]); // s·2 + o = 1
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose(&self, form: &AffineForm<T>) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.real_only("compose")?;
        real!(self, e => e.compose(form))
    }

    /// Forward composition on CNN-shaped forms (rows = `C·inner` for the `sample` shape
    /// `[C, …]`); see [`Bounds::compose`].
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm, Mode, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0, 1.0], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let f = AffineForm::point(4, 1, vec![1.0; 4], vec![0.0; 4])?;
    /// let g = bn.bounds(Mode::Fast, Semantics::Real)?.compose_shaped(&f, &[2, 2])?;
    /// assert_eq!(g.a().lo(), &[0.5, 0.5, 2.0, 2.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose_shaped(&self, form: &AffineForm<T>, sample: &[usize]) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.real_only("compose")?;
        real!(self, e => e.compose_shaped(form, sample))
    }

    /// Back-substitution through the layer (one column per channel): a form whose
    /// coefficients contain `a·s` and whose constant contains `c + Σ a·o` for the exact
    /// real `s`, `o`. Real semantics.
    ///
    /// Errors: [`Error::ChannelMismatch`]; [`Error::NotAvailable`] under deployed
    /// semantics.
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm, Mode, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![1.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2 + 1
    /// let g = bn.bounds(Mode::Fast, Semantics::Real)?.backward(&AffineForm::point(1, 1, vec![2.0], vec![0.0])?)?;
    /// assert_eq!((g.a().lo(), g.c().lo()), (&[1.0][..], &[2.0][..]));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward(&self, form: &AffineForm<T>) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.real_only("backward")?;
        real!(self, e => e.backward(form))
    }

    /// Back-substitution on CNN-shaped forms (columns = `C·inner` for the `sample` shape
    /// `[C, …]`); see [`Bounds::backward`].
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm, Mode, Semantics};
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0; 2], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let f = AffineForm::point(1, 4, vec![1.0; 4], vec![0.0])?;
    /// let g = bn.bounds(Mode::Fast, Semantics::Real)?.backward_shaped(&f, &[2, 2])?;
    /// assert_eq!(g.a().lo(), &[0.5, 0.5, 2.0, 2.0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward_shaped(&self, form: &AffineForm<T>, sample: &[usize]) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        self.real_only("backward")?;
        real!(self, e => e.backward_shaped(form, sample))
    }

    /// Back-substitution through the layer given its input box, in this semantics: for a
    /// linear function `Λ·y + d` of the layer's output (`form`, columns `C·inner` for the
    /// per-sample input shape `sample = [C, …]`) and the box `input` of the layer's input
    /// (shape `[1, C, …]` or `[C]`, one element per column), a form `Λ'·x + d'` such that
    /// for every `x` in the box, `Λ'·x + d'` contains `Λ·y + d` for the exact real output
    /// `y` and, under [`Semantics::Deployed`], for every output the runtime computes at
    /// (float) `x`: `Λ' ∋ Λ·diag(s)` as in [`Bounds::backward_shaped`], and `d'` widened
    /// by `Σ_j Λ_j·Δ_j`, where `Δ_j` contains the runtime's distance to the exact map
    /// `s·x + o` over element `j`'s interval (for the named runtimes each recipe's rounding
    /// errors bounded from its float constants and the box's largest magnitudes, every step
    /// rounded outward; for [`Runtime::Any`] the model's image of the interval minus its
    /// real image, which is about twice the real image's width: tight only for narrow
    /// intervals; `Δ_j` is infinite where no finite bound exists, e.g. an infinite
    /// endpoint; a row whose coefficient interval for such an element holds 0 gets an
    /// unbounded constant, since the deployed network computes `0·∞ = NaN` there).
    ///
    /// Errors: [`Error::ChannelMismatch`], [`Error::FormShape`], [`Error::ShapeMismatch`]
    /// (an input box that is not one element per column); [`Error::DeployedNan`] when the
    /// runtime computes NaN for an input of the box; [`Error::UlpsOutOfRange`].
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm, Mode, Runtime, Semantics, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![3.0], 0.0)?; // y = x/√3
    /// let lam = AffineForm::point(1, 1, vec![1.0], vec![0.0])?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![-1.0f32], vec![1.0])?;
    /// let torch = bn.bounds(Mode::Fast, Semantics::Deployed(Runtime::PytorchCpu))?;
    /// let back = torch.backward_over(&lam, &[1], &x)?;
    /// // At x = 1 the form's bounds contain PyTorch's output.
    /// let (y, _) = torch.outputs_at(0, 1.0)?;
    /// let (a, c) = (back.a(), back.c());
    /// assert!(a.lo()[0] + c.lo()[0] <= y && y <= a.hi()[0] + c.hi()[0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward_over(
        &self,
        form: &AffineForm<T>,
        sample: &[usize],
        input: &TensorBox<T>,
    ) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        let real = real!(self, e => e.backward_shaped(form, sample))?;
        self.input_per(input, form.cols(), sample, "columns")?;
        let Some(dev) = self.deviations(input, 1)? else {
            return Ok(real);
        };
        // Row k's constant: d'_k + Σ_j Λ_kj·Δ_j (Λ the given form's coefficients).
        let cols = form.cols();
        let (a, c) = (form.a(), real.c());
        let (mut lo, mut hi) = (
            Vec::with_capacity(form.rows()),
            Vec::with_capacity(form.rows()),
        );
        for k in 0..form.rows() {
            let row = k * cols..(k + 1) * cols;
            // Where the runtime's output may be infinite (Δ_j not finite), a coefficient
            // interval holding 0 gives the deployed network 0·∞ = NaN, which no bound
            // contains: the row's constant is unbounded (never the 0·∞ = 0 of reals).
            let nan = row.clone().any(|j| {
                let (dl, dh) = dev[j - k * cols];
                let (al, ah) = (a.lo()[j], a.hi()[j]);
                !(dl.is_finite() && dh.is_finite()) && al <= T::zero() && T::zero() <= ah
            });
            if nan {
                lo.push(T::neg_infinity());
                hi.push(T::infinity());
                continue;
            }
            let (l, h) = crate::num::interval::dot_bounds(
                a.lo()[row.clone()].iter().map(|v| v.to_f64_raw()),
                a.hi()[row].iter().map(|v| v.to_f64_raw()),
                dev.iter().copied(),
                c.lo()[k].to_f64_raw(),
                c.hi()[k].to_f64_raw(),
            );
            lo.push(widened_lo::<T>(l));
            hi.push(widened_hi::<T>(h));
        }
        let c = TensorBox::new(*c.shape(), lo, hi)?;
        AffineForm::new(real.a().clone(), c)
    }

    /// Back-substitution as verifiers call it (auto_LiRPA's `bound_backward`, batched):
    /// point coefficients `Λ` (`lam`, row-major `rows × n` with `n` the elements of
    /// `sample = [C, …]`, e.g. auto_LiRPA's `A` of shape `spec × batch × C × H × W`) and the
    /// layer's input box `input` of shape `[B, C, …]` (`B` boxes; row `r` of `Λ` belongs to
    /// box `r mod B`, so `spec × batch` rows over `batch` boxes, or the unfolded patches of a
    /// convolution over `batch·out_h·out_w` unfolded boxes). Returns float coefficients
    /// `M` and constants with, for every row `r` and every real `x` in box `r mod B`,
    ///
    /// `M_r·x + lower_r ≤ Λ_r·y ≤ M_r·x + upper_r`
    ///
    /// in exact arithmetic, for `y` the exact real output at `x` and, under
    /// [`Semantics::Deployed`], every output the runtime computes at (float) `x`. `M_rj` is
    /// a float near `Λ_rj·s_c`: for `f32` in fast mode `RN(Λ_rj·m_c)` for a float `m_c`
    /// near `s_c`, in one pass per row whose constants also cover that rounding
    /// (`|Λ·s − M| ≤ |Λ|·κ_c + η`); otherwise (`f64`, tight mode, infinite ends) the midpoint
    /// of its outward-rounded enclosure. The
    /// constants bound `Σ_j (Λ_rj·s_c − M_rj)·x_j + Λ_rj·o_c (+ Λ_rj·Δ_j)` over the box,
    /// every product and sum rounded outward (`Δ_j` as in [`Bounds::backward_over`], derived
    /// once per channel of each box for the hull of that channel's intervals, element by
    /// element for [`Runtime::Any`]; where
    /// `Δ_j` is unbounded and `Λ_rj = 0` the runtime computes `0·∞ = NaN`, and that row's
    /// constants are `∓∞`). The rows of `M` are what a verifier multiplies by the next
    /// layer's input; that product is the verifier's to round.
    ///
    /// Errors: [`Error::NonFiniteWeight`] for a NaN or infinite `Λ` entry; [`Error::BadRank`],
    /// [`Error::ChannelMismatch`], [`Error::ShapeOverflow`] for `sample`;
    /// [`Error::ShapeMismatch`] when `input` is not `[B, sample…]`; [`Error::LengthMismatch`]
    /// when `lam` is not a whole number of `B·n` blocks; [`Error::DeployedNan`];
    /// [`Error::UlpsOutOfRange`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Mode, Runtime, Semantics, Shape, TensorBox};
    /// // y = x/√3 on a 1-channel, 2-position layer; two boxes (batch 2), one spec row.
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![3.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[2, 1, 2])?, vec![-1.0, 0.0, 2.0, 2.0], vec![1.0, 0.5, 2.0, 3.0])?;
    /// let lam = [1.0f32, -2.0, 0.5, 0.5]; // spec 1 × batch 2 × (C·2)
    /// let torch = bn.bounds(Mode::Fast, Semantics::Deployed(Runtime::PytorchCpu))?;
    /// let b = torch.backward_batch(&lam, &[1, 2], &x)?;
    /// // Row 1 (box 1) at x = (2, 3): PyTorch's outputs lie between the two linear bounds.
    /// let (y0, y1) = (torch.outputs_at(0, 2.0)?.0 as f64, torch.outputs_at(0, 3.0)?.0 as f64);
    /// let (m, l, u) = (b.coef(), b.lower()[1] as f64, b.upper()[1] as f64);
    /// let mx = m[2] as f64 * 2.0 + m[3] as f64 * 3.0;
    /// assert!(mx + l <= 0.5 * y0 + 0.5 * y1 && 0.5 * y0 + 0.5 * y1 <= mx + u);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward_batch(
        &self,
        lam: &[T],
        sample: &[usize],
        input: &TensorBox<T>,
    ) -> Result<crate::transfer::form::LinearBounds<T>> {
        let _env = crate::num::round::env::enter();
        let channels = self.enc.channels();
        let n: usize = sample
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::ShapeOverflow(sample.to_vec()))?;
        crate::transfer::form::sample_inner(channels, sample, n, "columns")?;
        let dims = input.shape().dims();
        if dims.len() != sample.len() + 1 || dims[1..] != *sample {
            let mut expected = vec![dims.first().copied().unwrap_or(1)];
            expected.extend_from_slice(sample);
            return Err(Error::ShapeMismatch {
                what: "the layer's input boxes ([B, C, …])",
                expected,
                found: dims.to_vec(),
            });
        }
        let block = input.lo().len();
        if block == 0 && lam.is_empty() {
            // No boxes (batch 0): no rows.
            return Ok(crate::transfer::form::LinearBounds::empty(n));
        }
        if block == 0 || !lam.len().is_multiple_of(block) {
            return Err(Error::LengthMismatch {
                what: "Λ (a whole number of B·C·… blocks)",
                expected: lam.len().div_ceil(block.max(1)) * block,
                found: lam.len(),
            });
        }
        if let Some(index) = lam.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteWeight {
                what: "Λ",
                index,
                value: lam[index].to_f64_raw(),
            });
        }
        // Per run (one channel of one box, `inner` elements): the largest |x| and, under
        // deployed semantics, an interval holding every element's deviation (derived once
        // for the run's hull unless that hull has no verdict).
        let inner = n / channels;
        let run_of = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
            v.chunks(inner.max(1))
                .map(|c| {
                    c.iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(l, h)| {
                            (a.min(l), b.max(h))
                        })
                })
                .collect()
        };
        let dev = self.deviations(input, inner)?.map(|d| run_of(&d));
        let xmax: Vec<f64> = input
            .lo()
            .chunks(inner.max(1))
            .zip(input.hi().chunks(inner.max(1)))
            .map(|(l, h)| {
                l.iter()
                    .chain(h)
                    .fold(0.0f64, |m, &v| m.max(v.to_f64_raw().abs()))
            })
            .collect();
        // Fast mode: one pass per row where every end is finite; else (and in tight mode,
        // whose real part is MPFR's) the interval form below.
        if self.mode == Mode::Fast {
            if let Some(b) = self
                .enc
                .backward_points(lam, (n, inner), &xmax, dev.as_deref())
            {
                return Ok(b);
            }
        }
        let rows = lam.len() / n;
        // Λ as a point form: every entry finite (checked above), so no further validation.
        let form = AffineForm::from_valid(
            TensorBox::from_valid(
                crate::tensor::Shape::new(&[rows, n])?,
                lam.to_vec(),
                lam.to_vec(),
            ),
            TensorBox::from_valid(
                crate::tensor::Shape::new(&[rows])?,
                vec![T::zero(); rows],
                vec![T::zero(); rows],
            ),
        );
        let real = real!(self, e => e.backward_shaped(&form, sample))?;
        Ok(crate::transfer::form::concretize_rows(
            self.enc.kernel(),
            &real,
            lam,
            inner,
            &xmax,
            dev.as_deref(),
        ))
    }

    /// Forward composition through the layer given its input box, in this semantics: for
    /// a form `A·z + c` feeding the layer (rows `C·inner` for `sample = [C, …]`) and the
    /// box `input` of the layer's input (one element per row, shape `[1, C, …]` or `[C]`),
    /// a form that contains, for every `z` with `A·z + c` in the box, the exact real output
    /// and, under [`Semantics::Deployed`], every output the runtime computes: the real
    /// composition ([`Bounds::compose_shaped`]) with each row's constant widened by that
    /// element's `Δ` (see [`Bounds::backward_over`]).
    ///
    /// Errors: those of [`Bounds::backward_over`], with rows for columns.
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm, Mode, Runtime, Semantics, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![3.0], 0.0)?; // y = x/√3
    /// let f = AffineForm::point(1, 1, vec![1.0], vec![0.0])?; // x = z
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![-1.0f32], vec![1.0])?;
    /// let ort = bn.bounds(Mode::Fast, Semantics::Deployed(Runtime::OnnxruntimeCpu))?;
    /// let g = ort.compose_over(&f, &[1], &x)?;
    /// let (y, _) = ort.outputs_at(0, 1.0)?; // at z = 1
    /// assert!(g.a().lo()[0] + g.c().lo()[0] <= y && y <= g.a().hi()[0] + g.c().hi()[0]);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose_over(
        &self,
        form: &AffineForm<T>,
        sample: &[usize],
        input: &TensorBox<T>,
    ) -> Result<AffineForm<T>> {
        let _env = crate::num::round::env::enter();
        let real = real!(self, e => e.compose_shaped(form, sample))?;
        self.input_per(input, form.rows(), sample, "rows")?;
        let Some(dev) = self.deviations(input, 1)? else {
            return Ok(real);
        };
        let c = real.c();
        let (mut lo, mut hi) = (
            Vec::with_capacity(form.rows()),
            Vec::with_capacity(form.rows()),
        );
        for (i, &(dl, dh)) in dev.iter().enumerate() {
            let (l, h) = (c.lo()[i].to_f64_raw(), c.hi()[i].to_f64_raw());
            lo.push(widened_lo::<T>(crate::num::round::add_down(l, dl)));
            hi.push(widened_hi::<T>(crate::num::round::add_up(h, dh)));
        }
        let c = TensorBox::new(*c.shape(), lo, hi)?;
        AffineForm::new(real.a().clone(), c)
    }

    /// `input` must hold one element per row (column) of the form, in the layer's layout.
    fn input_per(
        &self,
        input: &TensorBox<T>,
        n: usize,
        sample: &[usize],
        what: &'static str,
    ) -> Result<()> {
        let channels = self.enc.channels();
        let inner = crate::transfer::form::sample_inner(channels, sample, n, what)?;
        let s = input.shape();
        if s.len() != n || s.channels() != channels || s.inner().max(1) != inner {
            let mut expected = vec![1];
            expected.extend_from_slice(sample);
            return Err(Error::ShapeMismatch {
                what: "the layer's input box",
                expected,
                found: s.dims().to_vec(),
            });
        }
        Ok(())
    }

    /// Under deployed semantics, the runtime's deviations over `input` (`None` under real
    /// semantics).
    fn deviations(&self, input: &TensorBox<T>, block: usize) -> Result<Option<Vec<(f64, f64)>>> {
        match &self.replay {
            None => Ok(None),
            Some(r) => r.deviations(&self.enc, input, block).map(Some),
        }
    }

    fn real_only(&self, op: &'static str) -> Result<()> {
        match self.replay {
            None => Ok(()),
            Some(_) => Err(Error::NotAvailable {
                op,
                context: self.context(),
            }),
        }
    }

    /// Under deployed semantics, the least and greatest output the runtime can produce
    /// for the input `x` of channel `c` (over its recipe variants and the flush model; for
    /// [`Runtime::Any`] an interval containing them). Errors: [`Error::DeployedNan`] when
    /// a variant gives NaN; [`Error::ChannelMismatch`] for a channel out of range;
    /// [`Error::UlpsOutOfRange`]; [`Error::NotAvailable`] under real semantics.
    ///
    /// ```
    /// use bnbound::{BatchNorm, Runtime};
    /// let bn = BatchNorm::new(vec![2.0f64], vec![1.0], vec![0.0], vec![4.0], 0.0)?; // y = x + 1
    /// assert_eq!(bn.deployed(Runtime::OnnxruntimeCpu).outputs_at(0, 3.0)?, (4.0, 4.0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn outputs_at(&self, c: usize, x: T) -> Result<(T, T)> {
        let _env = crate::num::round::env::enter();
        match &self.replay {
            Some(r) => r.outputs_at(c, x),
            None => Err(Error::NotAvailable {
                op: "a runtime's outputs",
                context: self.context(),
            }),
        }
    }

    /// Folds this BatchNorm into the preceding layer (`BN(W·x + b)`, one output channel per
    /// BatchNorm channel): the float weights and bias the semantics executes, each with a
    /// rigorous bound on its distance to the exact real composition `diag(s)·W`,
    /// `s∘(b − μ) + β`. Under real semantics the floats are midpoints of the sound fold
    /// ([`crate::fold::Folded::to_float`]); under `onnxruntime-cpu` they are ONNX Runtime's
    /// own fusion (`conv_bn_fusion.cc`, every step rounded to nearest:
    /// `s = RN(γ / RN(√RN(σ² + ε)))`, `W' = RN(W·s_o)`, `b' = RN(RN(RN(b − μ)·s) + β)`,
    /// without a conv bias `RN(β − RN(μ·s))`, bit for bit, zero signs included), so a
    /// verifier can verify the network the runtime really executes.
    ///
    /// Errors: [`Error::ChannelMismatch`]; [`Error::DeployedFoldNan`] where the runtime's
    /// fused weight or bias is NaN; [`Error::NoDeployedFold`] for runtimes that do not
    /// fold (PyTorch's eager CPU inference, `any`).
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
    pub fn fold_into_preceding(&self, layer: &LinearLayer<T>) -> Result<FloatFolded<T>> {
        let _env = crate::num::round::env::enter();
        match &self.replay {
            None => Ok(self.enc.fold_into_preceding(layer)?.to_float()),
            Some(r) => {
                crate::modes::deployed::fold_into_preceding(&self.bn, &self.enc, r.runtime(), layer)
            }
        }
    }
}

/// A lower bound in `T` of an `f64` lower bound (`NaN`, from `∞ − ∞`, becomes `−∞`).
fn widened_lo<T: Float>(v: f64) -> T {
    if v.is_nan() {
        T::neg_infinity()
    } else {
        T::from_f64_down_raw(v)
    }
}

/// An upper bound in `T` of an `f64` upper bound (`NaN` becomes `+∞`).
fn widened_hi<T: Float>(v: f64) -> T {
    if v.is_nan() {
        T::infinity()
    } else {
        T::from_f64_up_raw(v)
    }
}

impl Bounds<f32> {
    /// IBP for data stored as f16 or bf16 (the layer's γ, β, μ, σ² and the box's endpoints
    /// are values of `storage`, held in `f32`; ε is the `f32` value the kernels use):
    /// bounds that are values of `storage` and contain the exact real image and, under
    /// deployed semantics, every output the runtime's CPU kernels produce for storage
    /// values in the box. The real part is the fast enclosure's, rounded outward to
    /// `storage`, in either mode.
    ///
    /// `pytorch-cpu` is the hull of PyTorch's 16-bit paths (contiguous and channels-last:
    /// the `f32` recipes, one rounding to the storage type; strided inputs: every
    /// operation rounded to the storage type, ε too; `f32` statistics: the `f32` recipes);
    /// `onnxruntime-cpu`'s 16-bit kernels are **not replayed**: its bounds are
    /// [`Runtime::Any`]'s with 2 ulps on the storage grid ([`Runtime::replays`] says so);
    /// [`Runtime::Any`] covers every form computed in any mixture of `f32` and the storage
    /// type. The paths and their sources: `bnbound::docs::soundness`, "f16 and bf16 data".
    ///
    /// Errors: those of [`Bounds::ibp`] ([`Error::DeployedNan`] also when the fallback's
    /// `σ² + ε` can be stored as 0 and `x = μ` is in the box); [`Error::NotInStorage`] for an
    /// endpoint or (under deployed semantics) a parameter that is not a value of `storage`;
    /// [`Error::UlpsOutOfRange`] above `2^(p−4)` ulps (16 for bf16, 128 for f16).
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
        match &self.replay {
            Some(r) => r.ibp_stored(&self.bn, &self.enc, input, storage),
            None => {
                for (what, v) in [("lo", input.lo()), ("hi", input.hi())] {
                    if let Some(index) = v.iter().position(|&x| !storage.holds(x)) {
                        return Err(Error::NotInStorage { what, index });
                    }
                }
                let r = self.enc.ibp(input)?;
                let lo = r.lo().iter().map(|&x| storage.down(x)).collect();
                let hi = r.hi().iter().map(|&x| storage.up(x)).collect();
                TensorBox::new(*r.shape(), lo, hi)
            }
        }
    }
}
