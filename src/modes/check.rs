//! The exact checker: decides, with rational arithmetic only, whether somebody else's
//! claimed bounds contain the exact real image, and gives a witness for each violation.
//!
//! Every decision is made by [`crate::exact`] (big-integer comparisons after a sign
//! analysis); no floating-point operation takes part in a verdict. Because BatchNorm is
//! affine per channel, the exact minimum and maximum over an element's interval are
//! attained at its endpoints, chosen by the exact sign of γ.

use crate::error::{Error, Result, Side};
pub use crate::exact::excess::Excess;
use crate::exact::{cmp_affine_params, cmp_offset_params, distance, float_distance, BiasSum};
use crate::layer::params::BatchNorm;
use crate::modes::deployed::{Runtime, Semantics};
use crate::num::float::Float;
use crate::tensor::TensorBox;
use crate::transfer::form::sample_inner;
use crate::transfer::form::AffineForm;
pub use decide::{cmp_offset, cmp_output, cmp_scale, violation_steps};
use std::cmp::Ordering;

/// One unsound bound.
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, Side, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // y = x/√2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
/// let claimed = TensorBox::new(Shape::new(&[1])?, vec![0.5], vec![0.7])?; // 0.7 < 1/√2
/// let v = &bn.checker().ibp(&x, &claimed)?.violations[0];
/// assert_eq!((v.index, v.side, v.witness), (0, Side::Hi, 1.0));
/// // 1/√2 − fl(0.7), where fl(0.7) = 0.69999999999999995559…, correctly rounded:
/// assert_eq!(v.excess.to_string(), "7.1067811865475688e-3");
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The flat row-major index of the element (for forms: `A` entries first, then `c`).
    pub index: usize,
    /// Which bound is unsound.
    pub side: Side,
    /// An input value (exact, of the box's type) at which the exact output lies outside the
    /// claimed bound; `±∞` when the image is unbounded on that side.
    pub witness: f64,
    /// How far the exact output lies outside the claimed bound, correctly rounded to 17
    /// significant decimal digits, or [`Excess::Infinite`] when the exact image is
    /// unbounded or the claimed bound is infinite on the wrong side.
    pub excess: Excess,
    /// Which output escapes: the exact real one, or one a runtime computes (deployed
    /// semantics, [`Checker::ibp_in`]).
    pub source: Source,
}

/// Which function a violated bound fails to contain.
///
/// ```
/// use bnbound::check::Source;
/// assert_ne!(Source::Real, Source::Runtime(bnbound::Runtime::PytorchCpu));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The exact real image of the stored parameters.
    Real,
    /// An output the runtime computes in floats for an input of the box.
    Runtime(Runtime),
}

/// The checker's verdict on a claimed box or form.
///
/// ```
/// use bnbound::{check, BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![1.0])?;
/// let ok = TensorBox::new(Shape::new(&[1])?, vec![0.0], vec![0.5])?;
/// let r = bn.checker().ibp(&x, &ok)?;
/// assert!(r.sound() && r.checked == 1);
/// // Under deployed semantics a claimed side can fail twice: above the exact image and
/// // above PyTorch's output. `unsound_elements` counts the element once.
/// let bad = TensorBox::new(Shape::new(&[1])?, vec![0.75], vec![1.0])?;
/// let torch = bnbound::Semantics::Deployed(bnbound::Runtime::PytorchCpu);
/// let r = bn.checker().ibp_in(torch, &x, &bad)?;
/// assert_eq!((r.checked, r.unsound, r.unsound_elements), (1, 2, 1));
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CheckReport {
    /// The number of elements (or form entries) checked.
    pub checked: usize,
    /// The number of unsound bounds found (all of them, also those not kept): each claimed
    /// side counts once per way it fails (under deployed semantics a side can escape both
    /// the real image and the runtime's outputs), so it is not a count of elements.
    pub unsound: usize,
    /// The number of elements (or form entries) with at least one unsound bound: the
    /// count comparable with `checked`.
    pub unsound_elements: usize,
    /// Which elements are counted in `unsound_elements` (one bit each).
    flagged: Vec<u64>,
    /// The first violations, in element order (lower bound before upper bound): all of
    /// them from `check_*`, at most `keep` from `check_*_keeping`.
    pub violations: Vec<Violation>,
    /// How many violations to keep in `violations`.
    keep: usize,
}

impl CheckReport {
    /// Whether no claimed bound is unsound.
    ///
    /// ```
    /// assert!(bnbound::check::CheckReport::default().sound());
    /// ```
    pub fn sound(&self) -> bool {
        self.unsound == 0
    }

    /// Counts one unsound bound of element `index`.
    fn count(&mut self, index: usize) {
        self.unsound += 1;
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if self.flagged.len() <= word {
            self.flagged.resize(word + 1, 0);
        }
        if self.flagged[word] & bit == 0 {
            self.flagged[word] |= bit;
            self.unsound_elements += 1;
        }
    }

    /// An empty report that keeps the first `keep` violations.
    fn keeping(keep: usize) -> Self {
        CheckReport {
            keep,
            ..CheckReport::default()
        }
    }

    /// Checks one element: channel parameters `p` (exact `f64` γ, β, μ, σ², ε) describe
    /// `y(x) = β + γ(x−μ)/√(σ²+ε)`, the input interval is `[l, h]`, the claim `[yl, yh]`.
    fn element(
        &mut self,
        p: crate::num::params::Params,
        l: f64,
        h: f64,
        yl: f64,
        yh: f64,
        index: usize,
    ) {
        self.checked += 1;
        let g = p.gamma;
        // Where the exact minimum and maximum are attained.
        let (at_min, at_max) = if g > 0.0 {
            (l, h)
        } else if g < 0.0 {
            (h, l)
        } else {
            // Constant β: any point of the box witnesses.
            let any = [l, h].into_iter().find(|x| x.is_finite()).unwrap_or(0.0);
            (any, any)
        };
        for (x, y, side) in [(at_min, yl, Side::Lo), (at_max, yh, Side::Hi)] {
            let lower = side == Side::Lo;
            // `Some(true)`: unsound with an infinite excess; `Some(false)`: a finite one.
            let unsound = if g != 0.0 && x.is_infinite() {
                // The exact value is +∞ when γ and x have one sign, else −∞; a lower bound
                // is only constrained by −∞, an upper bound only by +∞.
                let plus = (g > 0.0) == (x > 0.0);
                let ok = if lower {
                    plus || y == f64::NEG_INFINITY
                } else {
                    !plus || y == f64::INFINITY
                };
                (!ok).then_some(true)
            } else if (lower && y == f64::NEG_INFINITY) || (!lower && y == f64::INFINITY) {
                None
            } else if y.is_infinite() {
                Some(true)
            } else {
                let bad = if lower {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                (cmp_affine_params(p, x, y) == bad).then_some(false)
            };
            let Some(infinite) = unsound else { continue };
            self.count(index);
            // The decimal excess costs big-integer work: only for the violations kept.
            if self.violations.len() < self.keep {
                self.violations.push(Violation {
                    index,
                    side,
                    witness: x,
                    excess: if infinite {
                        Excess::Infinite
                    } else {
                        distance(p, x, y)
                    },
                    source: Source::Real,
                });
            }
        }
    }
}

impl CheckReport {
    /// Checks one claimed bias bound `y` against the exact extreme `dv + Σ λ·o` of its side
    /// (`sum` holds the finite terms; `toward`/`away`: an infinite term toward the side's
    /// infinity, i.e. the extreme is unbounded, or away from it).
    #[allow(clippy::too_many_arguments)]
    fn bias(
        &mut self,
        sum: &BiasSum,
        side: Side,
        dv: f64,
        y: f64,
        toward: bool,
        away: bool,
        index: usize,
    ) {
        self.checked += usize::from(side == Side::Lo);
        let lower = side == Side::Lo;
        let unbounded_side = if lower {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        // `Some(true)`: unsound with an infinite excess; `Some(false)`: a finite one.
        let unsound = if y == unbounded_side {
            None
        } else if toward {
            Some(true)
        } else if away {
            None // the extreme is +∞ (lower) or −∞ (upper): every claim holds
        } else if y.is_infinite() {
            Some(true)
        } else {
            let bad = if lower {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            (sum.signum_at(dv, y) == bad).then_some(false)
        };
        let Some(infinite) = unsound else { return };
        self.count(index);
        if self.violations.len() < self.keep {
            self.violations.push(Violation {
                index,
                side,
                witness: dv,
                excess: if infinite {
                    Excess::Infinite
                } else {
                    sum.magnitude_at(dv, y)
                },
                source: Source::Real,
            });
        }
    }
}

impl CheckReport {
    /// Checks one claimed bound against a runtime's extreme output `y` over an element
    /// (attained at the input `x`): a lower bound must be `≤ y`, an upper bound `≥ y`.
    fn runtime_side(
        &mut self,
        index: usize,
        side: Side,
        claim: f64,
        (y, x): (f64, f64),
        rt: Runtime,
    ) {
        let bad = match side {
            Side::Lo => claim > y,
            Side::Hi => claim < y,
        };
        if !bad {
            return;
        }
        self.count(index);
        if self.violations.len() < self.keep {
            self.violations.push(Violation {
                index,
                side,
                witness: x,
                excess: if y.is_infinite() || claim.is_infinite() {
                    Excess::Infinite
                } else {
                    float_distance(claim, y)
                },
                source: Source::Runtime(rt),
            });
        }
    }
}

fn same_shape<T: Float>(input: &TensorBox<T>, claimed: &TensorBox<T>) -> Result<()> {
    if input.shape() != claimed.shape() {
        return Err(Error::ShapeMismatch {
            what: "the claimed result",
            expected: input.shape().dims().to_vec(),
            found: claimed.shape().dims().to_vec(),
        });
    }
    Ok(())
}

fn check_boxes<T: Float>(
    bn: &BatchNorm<T>,
    input: &TensorBox<T>,
    claimed: &TensorBox<T>,
    with_offset: bool,
    keep: usize,
) -> Result<CheckReport> {
    same_shape(input, claimed)?;
    let shape = input.shape();
    if shape.channels() != bn.channels() {
        return Err(Error::ChannelMismatch {
            expected: bn.channels(),
            found: shape.channels(),
        });
    }
    let mut report = CheckReport::keeping(keep);
    for i in 0..shape.len() {
        let mut p = bn.channel_f64(shape.channel_of(i));
        if !with_offset {
            p = p.scale_only();
        }
        let f = |v: &[T]| v[i].to_f64_raw();
        report.element(
            p,
            f(input.lo()),
            f(input.hi()),
            f(claimed.lo()),
            f(claimed.hi()),
            i,
        );
    }
    Ok(report)
}

/// The exact checker of one layer, with the same operations as the fast mode
/// ([`crate::Enclosure`]) and tight mode: each method takes the operation's input and a
/// *claimed* result (from any tool) and decides exactly whether every claimed bound
/// contains the exact real result. Get one with [`BatchNorm::checker`].
///
/// ```
/// use bnbound::{BatchNorm, Shape, TensorBox};
/// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // y = x/√2
/// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
/// assert!(bn.checker().ibp(&x, &bn.enclose().ibp(&x)?)?.sound());
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Checker<'a, T: Float> {
    bn: &'a BatchNorm<T>,
    keep: usize,
}

impl<T: Float> BatchNorm<T> {
    /// The exact checker of this layer ([`Checker`]), keeping every violation.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// let _checker = bn.checker().keeping(10);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn checker(&self) -> Checker<'_, T> {
        let _env = crate::num::round::env::enter();
        Checker {
            bn: self,
            keep: usize::MAX,
        }
    }
}

impl<T: Float> Checker<'_, T> {
    /// The same checker counting every violation but keeping only the first `keep` in
    /// [`CheckReport::violations`] (memory and time for the excess stay bounded on large
    /// unsound claims).
    ///
    /// ```
    /// use bnbound::{BatchNorm, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?; // y = x/2
    /// let x = TensorBox::new(Shape::new(&[3, 1])?, vec![1.0; 3], vec![1.0; 3])?;
    /// let wrong = TensorBox::new(Shape::new(&[3, 1])?, vec![0.0; 3], vec![0.25; 3])?;
    /// let r = bn.checker().keeping(1).ibp(&x, &wrong)?;
    /// assert_eq!((r.unsound, r.violations.len()), (3, 1));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn keeping(self, keep: usize) -> Self {
        Checker { keep, ..self }
    }

    /// Checks a claimed IBP output box: is `{ s_c·x + o_c : x ∈ input }` contained in
    /// `claimed` element by element, for the exact real scale and offset? Decided exactly.
    ///
    /// Errors: shape or channel mismatch ([`Error::ShapeMismatch`], [`Error::ChannelMismatch`]).
    ///
    /// ```
    /// use bnbound::{BatchNorm, Shape, TensorBox};
    /// // The f32 cancellation anchor: naive fl(fl(3·s) − 3) = 2⁻²¹ above the exact 3·2⁻²³.
    /// let bn = BatchNorm::new(vec![1.0f32 + f32::EPSILON], vec![-3.0], vec![0.0], vec![1.0], 0.0)?;
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![3.0f32], vec![3.0])?;
    /// let naive = (3.0f32 * (1.0 + f32::EPSILON)) - 3.0;
    /// let claimed = TensorBox::new(Shape::new(&[1])?, vec![naive], vec![naive])?;
    /// let r = bn.checker().ibp(&x, &claimed)?;
    /// assert_eq!(r.violations.len(), 1);
    /// assert_eq!(r.violations[0].excess.to_string(), "1.1920928955078125e-7"); // exactly 2⁻²³
    /// // bnbound's own bounds pass.
    /// assert!(bn.checker().ibp(&x, &bn.enclose().ibp(&x)?)?.sound());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp(&self, input: &TensorBox<T>, claimed: &TensorBox<T>) -> Result<CheckReport> {
        let _env = crate::num::round::env::enter();
        check_boxes(self.bn, input, claimed, true, self.keep)
    }

    /// Checks a claimed IBP box in the given semantics: [`Checker::ibp`] for
    /// [`Semantics::Real`]; for a runtime, every claimed bound must also contain every
    /// output the runtime computes for a float input of the element's interval (replayed
    /// exactly, see [`crate::Bounds`]), with flush-to-zero off *and on*: the outputs of
    /// the flush model (subnormal operands read as 0, tiny results flushed; the deployed
    /// bounds claim to cover them, so a claim must too). A runtime violation has
    /// [`Source::Runtime`], the endpoint where the escaping output is computed as its
    /// witness, and the exact distance as its excess. Violations are listed real ones
    /// first, each group in element order. Errors: those of [`Checker::ibp`] and
    /// [`Error::DeployedNan`].
    ///
    /// ```
    /// use bnbound::{check::Source, BatchNorm, Mode, Runtime, Semantics, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![2.0], 0.0)?; // x/√2
    /// let x = TensorBox::new(Shape::new(&[1])?, vec![1.0f32], vec![1.0])?;
    /// let real = bn.enclose().ibp(&x)?;
    /// let ort = Semantics::Deployed(Runtime::OnnxruntimeCpu);
    /// // Real bounds may miss the runtime's output; deployed bounds never do.
    /// let r = bn.checker().ibp_in(ort, &x, &bn.bounds(Mode::Fast, ort)?.ibp(&x)?)?;
    /// assert!(r.sound());
    /// let r = bn.checker().ibp_in(ort, &x, &real)?;
    /// assert!(r.violations.iter().all(|v| v.source == Source::Runtime(Runtime::OnnxruntimeCpu)));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn ibp_in(
        &self,
        semantics: Semantics,
        input: &TensorBox<T>,
        claimed: &TensorBox<T>,
    ) -> Result<CheckReport> {
        let _env = crate::num::round::env::enter();
        let mut report = self.ibp(input, claimed)?;
        let Semantics::Deployed(rt) = semantics else {
            return Ok(report);
        };
        if let Runtime::Any { .. } = rt {
            return Err(Error::NotDecidable(
                "runtime any: its bounds over-approximate every order, so claims are not decided against them",
            ));
        }
        let d = crate::modes::deployed::Replay::new(self.bn, rt);
        let f = |x: T| x.to_f64_raw();
        for i in 0..input.shape().len() {
            let c = input.shape().channel_of(i);
            let (l, h) = (input.lo()[i], input.hi()[i]);
            let nan = Error::DeployedNan {
                index: i,
                channel: c,
            };
            let ((a0, z0), (a1, z1)) = d.endpoint_outputs(c, l, h).ok_or(nan)?;
            let low = if a0 <= a1 {
                (f(a0), f(l))
            } else {
                (f(a1), f(h))
            };
            let high = if z0 >= z1 {
                (f(z0), f(l))
            } else {
                (f(z1), f(h))
            };
            report.runtime_side(i, Side::Lo, f(claimed.lo()[i]), low, rt);
            report.runtime_side(i, Side::Hi, f(claimed.hi()[i]), high, rt);
        }
        Ok(report)
    }

    /// Checks a claimed chain-rule derivative box (first or second derivative alike): does
    /// `claimed` contain `s_c·[lo, hi]` element by element, for the exact scale?
    ///
    /// ```
    /// use bnbound::{BatchNorm, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![1.0f64], vec![5.0], vec![2.0], vec![2.0], 0.0)?; // s = 1/√2
    /// let d = TensorBox::new(Shape::new(&[1])?, vec![1.0], vec![1.0])?;
    /// let naive = TensorBox::new(Shape::new(&[1])?, vec![std::f64::consts::FRAC_1_SQRT_2; 1], vec![std::f64::consts::FRAC_1_SQRT_2; 1])?;
    /// assert!(!bn.checker().derivative_chain(&d, &naive)?.sound()); // a point can't contain 1/√2
    /// assert!(bn.checker().derivative_chain(&d, &bn.enclose().derivative_chain(&d)?)?.sound());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn derivative_chain(
        &self,
        dbox: &TensorBox<T>,
        claimed: &TensorBox<T>,
    ) -> Result<CheckReport> {
        let _env = crate::num::round::env::enter();
        check_boxes(self.bn, dbox, claimed, false, self.keep)
    }

    /// Checks a claimed composition `diag(s)·A + (s∘c + o)` of a form `A·x + c` (one row
    /// per channel): every claimed interval must contain the exact `s_i·a_ij` for all
    /// `a_ij ∈ A_ij`, and `s_i·c_i + o_i` for all `c_i ∈ c_i`. Violation indices run over
    /// `A` row-major, then over `c` (offset `rows·cols`); the witness is the coefficient.
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0; 2], vec![0.0; 2], vec![3.0, 4.0], 0.0)?;
    /// let f = AffineForm::point(2, 1, vec![1.0, 1.0], vec![0.0, 0.0])?;
    /// let naive = AffineForm::point(2, 1, vec![1.0 / 3f64.sqrt(), 1.0], vec![0.0, 0.0])?;
    /// let r = bn.checker().compose(&f, &naive)?;
    /// assert_eq!((r.checked, r.violations.len()), (4, 1)); // 1/√3 is irrational; s₂ = 1 exactly
    /// assert!(bn.checker().compose(&f, &bn.enclose().compose(&f)?)?.sound());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose(&self, form: &AffineForm<T>, claimed: &AffineForm<T>) -> Result<CheckReport> {
        let _env = crate::num::round::env::enter();
        self.compose_shaped(form, &[self.bn.channels()], claimed)
    }

    /// [`Checker::compose`] for a per-sample input shape `[C, d1, …]`: row `r` of the
    /// form belongs to channel `r / inner` (as in `Enclosure::compose_shaped`).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0, 1.0], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let f = AffineForm::point(4, 1, vec![1.0; 4], vec![0.0; 4])?;
    /// let g = bn.enclose().compose_shaped(&f, &[2, 2])?;
    /// assert!(bn.checker().compose_shaped(&f, &[2, 2], &g)?.sound());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn compose_shaped(
        &self,
        form: &AffineForm<T>,
        sample: &[usize],
        claimed: &AffineForm<T>,
    ) -> Result<CheckReport> {
        let _env = crate::num::round::env::enter();
        let bn = self.bn;
        let inner = sample_inner(bn.channels(), sample, form.rows(), "rows")?;
        let (rows, cols) = (form.rows(), form.cols());
        let f = |v: &[T], k: usize| v[k].to_f64_raw();
        let mut report = self.scaled_entries(form, claimed, |k| k / cols / inner)?;
        let (c, y) = (form.c(), claimed.c());
        for i in 0..rows {
            let p = bn.channel_f64(i / inner);
            let (l, h) = (f(c.lo(), i), f(c.hi(), i));
            report.element(p, l, h, f(y.lo(), i), f(y.hi(), i), rows * cols + i);
        }
        Ok(report)
    }

    /// Checks a claimed back-substitution `Λ'·x + d'` of a linear function `Λ·y + d` of
    /// the layer's output (`Λ`: `k × C`): every claimed `Λ'_ij` must contain the exact
    /// `Λ_ij·s_j` for all `Λ_ij ∈ Λ_ij`, and every `d'_i` the exact range of
    /// `d_i + Σ_j Λ_ij·o_j` over all `Λ_ij ∈ Λ_ij`, `d_i ∈ d_i`. Violation indices run
    /// over `Λ` row-major, then over `d`; the witness of a `d'` violation is the endpoint
    /// of `d_i` (the `Λ_ij` are the endpoints chosen by the exact signs of the offsets).
    ///
    /// The bias is a sum of square roots; its sign is decided exactly (rational roots
    /// folded, rationally dependent roots grouped, then refinement, which terminates
    /// because the remaining roots are linearly independent over ℚ).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// // o = (β − γμ/√q) = (1 − 1/√2, 1 − 1/√2): the two terms share a root.
    /// let bn = BatchNorm::new(vec![1.0f64; 2], vec![1.0; 2], vec![1.0; 2], vec![2.0; 2], 0.0)?;
    /// let lam = AffineForm::point(1, 2, vec![1.0, -1.0], vec![0.0])?; // d' = o₁ − o₂ = 0 exactly
    /// let exact_zero = AffineForm::point(1, 2, vec![1.0 / 2f64.sqrt(), -1.0 / 2f64.sqrt()], vec![0.0])?;
    /// let r = bn.checker().backward(&lam, &exact_zero)?;
    /// assert_eq!(r.violations.iter().filter(|v| v.index == 2).count(), 0); // d' = [0, 0] is exact
    /// assert!(bn.checker().backward(&lam, &bn.enclose().backward(&lam)?)?.sound());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward(&self, form: &AffineForm<T>, claimed: &AffineForm<T>) -> Result<CheckReport> {
        let _env = crate::num::round::env::enter();
        self.backward_shaped(form, &[self.bn.channels()], claimed)
    }

    /// [`Checker::backward`] for a per-sample input shape `[C, d1, …]`: column `j` of `Λ`
    /// belongs to channel `j / inner` (as in `Enclosure::backward_shaped`).
    ///
    /// ```
    /// use bnbound::{AffineForm, BatchNorm};
    /// let bn = BatchNorm::new(vec![1.0f64, 2.0], vec![0.0, 1.0], vec![0.0; 2], vec![4.0, 1.0], 0.0)?;
    /// let lam = AffineForm::point(1, 4, vec![1.0; 4], vec![0.0])?;
    /// let g = bn.enclose().backward_shaped(&lam, &[2, 2])?;
    /// assert!(bn.checker().backward_shaped(&lam, &[2, 2], &g)?.sound());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn backward_shaped(
        &self,
        form: &AffineForm<T>,
        sample: &[usize],
        claimed: &AffineForm<T>,
    ) -> Result<CheckReport> {
        let _env = crate::num::round::env::enter();
        let bn = self.bn;
        let channels = bn.channels();
        let inner = sample_inner(channels, sample, form.cols(), "columns")?;
        let (rows, cols) = (form.rows(), form.cols());
        let f = |v: &[T], k: usize| v[k].to_f64_raw();
        let mut report = self.scaled_entries(form, claimed, |k| (k % cols) / inner)?;
        let a = form.a();
        // The exact sign of every offset picks the extreme Λ endpoint of each term.
        let params: Vec<crate::num::params::Params> =
            (0..channels).map(|c| bn.channel_f64(c)).collect();
        let signs: Vec<Ordering> = params
            .iter()
            .map(|&p| cmp_offset_params(p, 0.0).reverse())
            .collect();
        let (d, y) = (form.c(), claimed.c());
        for i in 0..rows {
            let row = i * cols..(i + 1) * cols;
            let (lam_lo, lam_hi) = (&a.lo()[row.clone()], &a.hi()[row]);
            for side in [Side::Lo, Side::Hi] {
                let lower = side == Side::Lo;
                let (dv, yv) = if lower {
                    (f(d.lo(), i), f(y.lo(), i))
                } else {
                    (f(d.hi(), i), f(y.hi(), i))
                };
                let mut sum = BiasSum::new(channels);
                // Infinite contributions toward (−∞ for lower) and away from the bound.
                let (mut toward, mut away) = (false, false);
                let mut note = |v: f64| {
                    if v == f64::INFINITY {
                        *if lower { &mut away } else { &mut toward } = true;
                    } else if v == f64::NEG_INFINITY {
                        *if lower { &mut toward } else { &mut away } = true;
                    }
                };
                note(dv);
                for j in 0..cols {
                    let c = j / inner;
                    // The λ minimizing (lower) or maximizing λ·o_c.
                    let pick_lo = (signs[c] == Ordering::Greater) == lower;
                    let l = if pick_lo { lam_lo[j] } else { lam_hi[j] }.to_f64_raw();
                    match signs[c] {
                        Ordering::Equal => {}
                        s if l.is_infinite() => note(if (l > 0.0) == (s == Ordering::Greater) {
                            f64::INFINITY
                        } else {
                            f64::NEG_INFINITY
                        }),
                        _ => sum.add(l, c, params[c]),
                    }
                }
                report.bias(&sum, side, dv, yv, toward, away, rows * cols + i);
            }
        }
        Ok(report)
    }
}

impl<T: Float> Checker<'_, T> {
    /// A report on the matrix entries of a claimed form: each must contain `s_c·a` over
    /// the input entry `a`, entry `k` belonging to channel `channel(k)`. Checks that the
    /// claimed form has the input's shape first.
    fn scaled_entries(
        &self,
        form: &AffineForm<T>,
        claimed: &AffineForm<T>,
        channel: impl Fn(usize) -> usize,
    ) -> Result<CheckReport> {
        same_shape(form.a(), claimed.a())?;
        same_shape(form.c(), claimed.c())?;
        let f = |v: &[T], k: usize| v[k].to_f64_raw();
        let mut report = CheckReport::keeping(self.keep);
        let (a, y) = (form.a(), claimed.a());
        for k in 0..a.lo().len() {
            let p = self.bn.channel_f64(channel(k)).scale_only();
            report.element(p, f(a.lo(), k), f(a.hi(), k), f(y.lo(), k), f(y.hi(), k), k);
        }
        Ok(report)
    }
}

/// The exact decisions about one channel of a layer, public as `bnbound::check::cmp_output`,
/// `cmp_scale`, `cmp_offset` and `violation_steps`: each takes a [`BatchNorm`] and asks
/// [`crate::exact`] about its channel's exact `f64` parameters.
mod decide {
    use crate::error::Side;
    use crate::exact::{cmp_affine_params, cmp_scale_params};
    use crate::layer::params::BatchNorm;
    use crate::num::float::Float;
    use std::cmp::Ordering;

    /// The ordering of `y` against the exact real output `γ_c(x−μ_c)/√(σ²_c+ε) + β_c` of
    /// channel `c` at the input `x`: `Less` means `y` is a sound lower bound that is not exact.
    /// `None` if `c` is out of range or `x`, `y` are not finite.
    ///
    /// ```
    /// use bnbound::{check, BatchNorm};
    /// use std::cmp::Ordering;
    /// // f32 cancellation case: s = 1 + 2⁻²³, β = −3, x = 3: exact y = 3·2⁻²³.
    /// let bn = BatchNorm::new(vec![1.0f32 + f32::EPSILON], vec![-3.0], vec![0.0], vec![1.0], 0.0)?;
    /// let exact_y = 3.0 * f32::EPSILON as f64;
    /// assert_eq!(check::cmp_output(&bn, 0, 3.0, exact_y), Some(Ordering::Equal));
    /// // The naive float evaluation fl(fl(3·s) − 3) is above it:
    /// let naive = ((3.0f32 * (1.0 + f32::EPSILON)) - 3.0) as f64;
    /// assert_eq!(check::cmp_output(&bn, 0, 3.0, naive), Some(Ordering::Greater));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn cmp_output<T: Float>(bn: &BatchNorm<T>, c: usize, x: f64, y: f64) -> Option<Ordering> {
        let _env = crate::num::round::env::enter();
        if c >= bn.channels() || !x.is_finite() || !y.is_finite() {
            return None;
        }
        Some(cmp_affine_params(bn.channel_f64(c), x, y))
    }

    /// The ordering of `y` against channel `c`'s exact scale `γ_c/√(σ²_c+ε)`; `None` if `c` is
    /// out of range or `y` is not finite.
    ///
    /// ```
    /// use bnbound::{check, BatchNorm};
    /// use std::cmp::Ordering;
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?;
    /// let s = bn.enclose().channel(0).scale();
    /// assert_eq!(check::cmp_scale(&bn, 0, s.lo()), Some(Ordering::Less));
    /// assert_eq!(check::cmp_scale(&bn, 0, s.hi()), Some(Ordering::Greater));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn cmp_scale<T: Float>(bn: &BatchNorm<T>, c: usize, y: f64) -> Option<Ordering> {
        let _env = crate::num::round::env::enter();
        if c >= bn.channels() || !y.is_finite() {
            return None;
        }
        Some(cmp_scale_params(bn.channel_f64(c), y))
    }

    /// The ordering of `y` against channel `c`'s exact offset `β_c − γ_c μ_c/√(σ²_c+ε)`; `None`
    /// if `c` is out of range or `y` is not finite.
    ///
    /// ```
    /// use bnbound::{check, BatchNorm};
    /// use std::cmp::Ordering;
    /// let bn = BatchNorm::new(vec![1.0f64], vec![0.5], vec![1.0], vec![4.0], 0.0)?; // o = 0
    /// assert_eq!(check::cmp_offset(&bn, 0, 0.0), Some(Ordering::Equal));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn cmp_offset<T: Float>(bn: &BatchNorm<T>, c: usize, y: f64) -> Option<Ordering> {
        let _env = crate::num::round::env::enter();
        cmp_output(bn, c, 0.0, y)
    }

    /// How many values of `T` the bound `y` lies on the wrong side of the exact output at `x`
    /// (channel `c`): 0 if `y` is a sound bound of that `side` ([`Side::Lo`]: lower bound,
    /// [`Side::Hi`]: upper bound), otherwise the number of steps through consecutive values of `T` needed to make it
    /// sound. Found by exponential and binary search, every probe decided exactly. `None` for
    /// out-of-range `c` or non-finite `x`, `y`.
    ///
    /// ```
    /// use bnbound::{check, BatchNorm, Side};
    /// let bn = BatchNorm::new(vec![1.0f32 + f32::EPSILON], vec![-3.0], vec![0.0], vec![1.0], 0.0)?;
    /// // Naive f32: fl(fl(3·s) − 3) = 2⁻²¹, exact 3·2⁻²³. Near 2⁻²¹ the f32 spacing is 2⁻⁴⁵,
    /// // so the naive lower bound is 2²² steps above the exact value.
    /// let naive = (3.0f32 * (1.0 + f32::EPSILON)) - 3.0;
    /// assert_eq!(naive, 2f32.powi(-21));
    /// assert_eq!(check::violation_steps(&bn, 0, 3.0, naive, Side::Lo), Some(1 << 22));
    /// assert_eq!(check::violation_steps(&bn, 0, 3.0, naive, Side::Hi), Some(0));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn violation_steps<T: Float>(
        bn: &BatchNorm<T>,
        c: usize,
        x: f64,
        y: T,
        side: Side,
    ) -> Option<u64> {
        let _env = crate::num::round::env::enter();
        use crate::num::float::{from_ordinal, ordinal};
        let side_is_lower = side == Side::Lo;
        let bad = if side_is_lower {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        let dir: i64 = if side_is_lower { -1 } else { 1 };
        let k0 = ordinal(y.to_f64_raw(), T::DTYPE);
        let limit = ordinal(T::max_value().to_f64_raw(), T::DTYPE);
        // `is_bad(n)`: is the value n steps outward from y still on the wrong side?
        let is_bad = |n: i64| -> Option<bool> {
            let k = (k0 + dir * n).clamp(-limit, limit);
            let v: T = from_ordinal(k);
            Some(cmp_output(bn, c, x, v.to_f64_raw())? == bad)
        };
        if !is_bad(0)? {
            return Some(0);
        }
        // Exponential search for a sound n, then binary search for the first one.
        let (mut good, mut badn) = (1i64, 0i64);
        while is_bad(good)? {
            badn = good;
            good = good.saturating_mul(2).min(2 * limit);
        }
        while good - badn > 1 {
            let mid = badn + (good - badn) / 2;
            if is_bad(mid)? {
                badn = mid;
            } else {
                good = mid;
            }
        }
        Some(good as u64)
    }
}
