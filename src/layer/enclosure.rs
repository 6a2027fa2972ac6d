//! Rigorous enclosures of each channel's scale `s = γ/√(σ²+ε)` and offset
//! `o = β − γμ/√(σ²+ε)`, computed by a pluggable [`Backend`].

use crate::exact;
use crate::kernel::choice::Kernel;
use crate::kernel::lanes::Lanes;
use crate::layer::channel::ChannelEnclosure;
use crate::layer::params::{AnyBatchNorm, BatchNorm};
use crate::num::float::Float;
use crate::num::interval::Interval;
use crate::num::round;

/// The enclosures of every channel of one layer, ready for the transfer functions
/// ([`Enclosure::ibp`], ...).
///
/// ```
/// let bn = bnbound::BatchNorm::new(vec![1.0f32; 4], vec![0.0; 4], vec![0.0; 4], vec![1.0; 4], 1e-5)?;
/// let enc = bn.enclose();
/// assert_eq!(enc.channels(), 4);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Enclosure {
    ch: Vec<ChannelEnclosure>,
    /// The same enclosures as arrays, for the row kernel.
    lanes: Lanes,
    /// The per-element kernel of the transfer functions.
    kernel: Kernel,
}

impl Enclosure {
    /// Every channel's enclosure, in channel order (for the kernels and scalar paths).
    pub(crate) fn channel_slice(&self) -> &[ChannelEnclosure] {
        &self.ch
    }

    /// The channels and their layout as arrays, as the kernels' jobs take them.
    pub(crate) fn laid_out(&self) -> (&[ChannelEnclosure], &Lanes) {
        (&self.ch, &self.lanes)
    }

    /// Wraps per-channel enclosures (and lays them out for the kernels).
    pub(crate) fn from_channels(ch: Vec<ChannelEnclosure>) -> Self {
        let lanes = Lanes::new(&ch);
        Enclosure {
            ch,
            lanes,
            kernel: Kernel::Auto,
        }
    }

    /// The same enclosure with its transfer functions (IBP, derivatives, composition,
    /// back-substitution) running on `kernel`. Every kernel keeps the soundness contract;
    /// results may differ in the last bit ([`Kernel::TwoRoundings`] rounds twice where the
    /// dispatched kernel fuses). The default is [`Kernel::Auto`].
    ///
    /// ```
    /// use bnbound::{BatchNorm, Kernel, Shape, TensorBox};
    /// let bn = BatchNorm::new(vec![0.5f64, -3.0], vec![0.1, 0.2], vec![0.0, 1.0], vec![2.0, 3.0], 1e-5)?;
    /// let x = TensorBox::new(Shape::new(&[1, 2])?, vec![-1.0f64, 0.5], vec![1.0, 2.0])?;
    /// let fast = bn.enclose().ibp(&x)?;
    /// let portable = bn.enclose().with_kernel(Kernel::TwoRoundings).ibp(&x)?;
    /// for i in 0..2 {
    ///     // Both contain the exact image; they differ by at most a few steps.
    ///     assert!(fast.lo()[i].max(portable.lo()[i]) <= fast.hi()[i].min(portable.hi()[i]));
    ///     let (a, b) = (fast.lo()[i], portable.lo()[i]);
    ///     assert!(bnbound::ulps_between(a.min(b), a.max(b)) <= 4);
    /// }
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// The kernel the transfer functions run on (see [`Enclosure::with_kernel`]).
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.enclose().kernel(), bnbound::Kernel::Auto);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The number of channels.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.enclose().channels(), 1);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn channels(&self) -> usize {
        self.ch.len()
    }

    /// Channel `c`'s enclosure. Panics if `c ≥ channels()`.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0)?;
    /// assert_eq!(bn.enclose().channel(0).scale().lo(), 1.0);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn channel(&self, c: usize) -> ChannelEnclosure {
        self.ch[c]
    }

    /// All channels' enclosures, in channel order.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64, 2.0], vec![0.0; 2], vec![0.0; 2], vec![1.0; 2], 0.0)?;
    /// assert_eq!(bn.enclose().iter().count(), 2);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ChannelEnclosure> + '_ {
        self.ch.iter().copied()
    }
}

/// A way of computing a channel's enclosure (crate-private):
///
/// - [`Portable`] (always used): round-to-nearest with outward correction, see the
///   crate's rounding module, then exact tightening;
/// - `InariBackend` (feature `inari`): hardware directed rounding through `inari`, looser;
///   kept as a cross-check of `Portable` (the unit test below).
pub(crate) trait Backend {
    /// Enclosures of `s = γ/√(σ²+ε)` and `o = β − γμ/√(σ²+ε)` for exact `f64` parameters
    /// that satisfy [`BatchNorm`]'s invariants.
    fn scale_offset(gamma: f64, beta: f64, mean: f64, var: f64, eps: f64) -> (Interval, Interval);
}

/// The default backend: pure Rust, portable, no CPU features required; gives the
/// *tightest* `f64` enclosures of `s` and `o`.
///
/// First a float enclosure: `σ²+ε`, `√·` and `γ/·` are each rounded in the outward
/// direction (correctly, where an error-free residual proves the direction; otherwise by
/// one extra step), and the offset is one fused multiply-add `β − μ·s` widened by one step.
/// That enclosure is a few ulps wide; it is then shrunk by a binary search over the floats
/// inside it in which every step is decided *exactly* with rational arithmetic
/// ([`crate::exact`]). The result: `scale.lo()` is the largest `f64 ≤ s`, `scale.hi()` the
/// smallest `f64 ≥ s` (equal when `s` is a float), likewise for the offset. This costs a
/// few big-integer comparisons per channel, once per layer.
///
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Portable;

impl Backend for Portable {
    fn scale_offset(g: f64, b: f64, m: f64, v: f64, e: f64) -> (Interval, Interval) {
        let (q_lo, q_hi) = (round::add_down(v, e), round::add_up(v, e));
        let (r_lo, r_hi) = (round::sqrt_down(q_lo), round::sqrt_up(q_hi));
        let (s_lo, s_hi) = if g > 0.0 {
            (round::div_down(g, r_hi), round::div_up(g, r_lo))
        } else if g < 0.0 {
            (round::div_down(g, r_lo), round::div_up(g, r_hi))
        } else {
            (0.0, 0.0)
        };
        let (s_lo, s_hi) = clamp_to_sign(g, s_lo, s_hi);
        // o = β − μ·s is decreasing in s when μ ≥ 0.
        let (s_for_lo, s_for_hi) = if m >= 0.0 { (s_hi, s_lo) } else { (s_lo, s_hi) };
        let o_lo = round::fma_down(-m, s_for_lo, b);
        let o_hi = round::fma_up(-m, s_for_hi, b);
        let p = crate::num::params::Params::from_array([g, b, m, v, e]);
        let (s_lo, s_hi) = exact::tighten(s_lo, s_hi, |y| exact::cmp_scale_params(p, y));
        let (o_lo, o_hi) = exact::tighten(o_lo, o_hi, |y| exact::cmp_offset_params(p, y));
        (
            Interval::from_bounds(s_lo, s_hi),
            Interval::from_bounds(o_lo, o_hi),
        )
    }
}

/// The exact scale has the sign of γ; a bound on the wrong side of zero (possible only
/// through underflow or an infinite divisor bound) is replaced by zero, which is sound.
fn clamp_to_sign(g: f64, lo: f64, hi: f64) -> (f64, f64) {
    if g > 0.0 {
        (lo.max(0.0), hi)
    } else if g < 0.0 {
        (lo, hi.min(0.0))
    } else {
        (0.0, 0.0)
    }
}

#[cfg(all(feature = "inari", test))]
mod inari_backend {
    use super::{clamp_to_sign, Backend};
    use crate::num::interval::Interval;
    use inari::Interval as I;

    /// Backend using `inari`'s hardware directed rounding (feature `inari`). `inari`
    /// requires AVX and FMA at compile time: build with
    /// `RUSTFLAGS="-C target-cpu=x86-64-v3"` (or `-C target-feature=+avx,+fma`).
    #[derive(Clone, Copy, Debug, Default)]
    pub(crate) struct InariBackend;

    impl Backend for InariBackend {
        fn scale_offset(g: f64, b: f64, m: f64, v: f64, e: f64) -> (Interval, Interval) {
            let pt = |x: f64| I::try_from((x, x)).expect("finite parameter");
            let r = (pt(v) + pt(e)).sqrt();
            let s = if g == 0.0 { pt(0.0) } else { pt(g) / r };
            let o = pt(b) - s * pt(m);
            let (s_lo, s_hi) = clamp_to_sign(g, s.inf(), s.sup());
            (
                Interval::from_bounds(s_lo, s_hi),
                Interval::from_bounds(o.inf(), o.sup()),
            )
        }
    }
}

// Only the cross-check test uses it.
#[cfg(all(feature = "inari", test))]
pub(crate) use inari_backend::InariBackend;

impl<T: Float> BatchNorm<T> {
    /// Encloses every channel's scale and offset: outward-rounded operations, then an exact
    /// bisection to the tightest `f64` bounds (the portable backend, pure Rust).
    ///
    /// Soundness contract: for every channel `c`, `enclose().channel(c).scale()` contains the
    /// exact real `γ_c/√(σ²_c+ε)` and `.offset()` the exact real `β_c − γ_c μ_c/√(σ²_c+ε)`, of
    /// the stored float values.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 1e-5)?;
    /// let s = bn.enclose().channel(0).scale();
    /// assert!(s.lo() < 1.0 && s.hi() < 1.0); // 1/√(1 + 1e-5) < 1
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn enclose(&self) -> Enclosure {
        let _env = crate::num::round::env::enter();
        self.enclose_with::<Portable>()
    }

    /// Encloses every channel's scale and offset with backend `B`; same contract as
    /// [`BatchNorm::enclose`].
    pub(crate) fn enclose_with<B: Backend>(&self) -> Enclosure {
        let _env = crate::num::round::env::enter();
        let ch = (0..self.channels())
            .map(|c| {
                let p = self.channel_f64(c);
                let [g, b, m, v, e] = p.array();
                let (scale, offset) = B::scale_offset(g, b, m, v, e);
                ChannelEnclosure::new(p, scale, offset)
            })
            .collect();
        Enclosure::from_channels(ch)
    }
}

impl AnyBatchNorm {
    /// Encloses the layer's scales and offsets ([`BatchNorm::enclose`]).
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![2.0f64], vec![0.0], vec![0.0], vec![4.0], 0.0)?;
    /// assert_eq!(bnbound::AnyBatchNorm::F64(bn).enclose().channel(0).scale().lo(), 1.0);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn enclose(&self) -> Enclosure {
        let _env = crate::num::round::env::enter();
        match self {
            AnyBatchNorm::F32(b) => b.enclose(),
            AnyBatchNorm::F64(b) => b.enclose(),
        }
    }
}

/// The `inari` backend as a cross-check: on hard parameters (subnormals, powers of two,
/// huge and tiny values, both signs) its scale and offset intervals contain the exact real
/// values, decided in exact rationals, and so does `Portable`'s, which lies inside it.
#[cfg(all(test, feature = "inari"))]
mod inari_cross_check {
    use super::{Backend, InariBackend, Portable};
    use crate::exact::{cmp_offset_params, cmp_scale_params};
    use std::cmp::Ordering::{Greater, Less};

    fn values() -> Vec<f64> {
        let mut v = vec![
            0.0,
            1.0,
            0.1,
            3.0,
            1e-5,
            2f64.powi(-1074),
            2f64.powi(-1022),
            1e300,
            1e-300,
        ];
        v.extend([
            0.7,
            12.5,
            f32::MAX as f64,
            f32::MIN_POSITIVE as f64,
            1.0 + f64::EPSILON,
        ]);
        v
    }

    #[test]
    fn inari_and_portable_contain_the_exact_scale_and_offset() {
        let vals = values();
        let mut n = 0;
        for &g in &vals {
            for sg in [1.0, -1.0] {
                for &m in &vals {
                    for &v in &vals {
                        for &e in &[0.0, 1e-5, 2f64.powi(-1074)] {
                            if v + e == 0.0 {
                                continue;
                            }
                            let (g, b, m) = (sg * g, 0.25, -m);
                            let p = crate::num::params::Params::from_array([g, b, m, v, e]);
                            let (s, o) = InariBackend::scale_offset(g, b, m, v, e);
                            let (ps, po) = Portable::scale_offset(g, b, m, v, e);
                            if s.lo().is_finite() && s.hi().is_finite() {
                                assert_ne!(cmp_scale_params(p, s.lo()), Greater, "{p:?}");
                                assert_ne!(cmp_scale_params(p, s.hi()), Less, "{p:?}");
                            }
                            if o.lo().is_finite() && o.hi().is_finite() {
                                assert_ne!(cmp_offset_params(p, o.lo()), Greater, "{p:?}");
                                assert_ne!(cmp_offset_params(p, o.hi()), Less, "{p:?}");
                            }
                            // Finite enclosures: Portable's (the tightest) inside inari's.
                            let finite = [s, o, ps, po]
                                .iter()
                                .all(|i| i.lo().is_finite() && i.hi().is_finite());
                            if finite {
                                assert!(s.lo() <= ps.lo() && ps.hi() <= s.hi(), "{p:?}");
                                assert!(o.lo() <= po.lo() && po.hi() <= o.hi(), "{p:?}");
                            }
                            n += 1;
                        }
                    }
                }
            }
        }
        assert!(n > 1000);
    }
}
