//! One channel's enclosure: intervals around its exact scale `s = γ/√(σ²+ε)` and offset
//! `o = β − γμ/√(σ²+ε)`, the exact sign of `s`, and the scalar image `s·[l, h] + o` that
//! every transfer function falls back on (with direct evaluation where `s` or `o`
//! overflows).

use crate::kernel::lanes::{Bounds, Channel};
use crate::num::interval::Interval;
use crate::num::round;
use std::cmp::Ordering;

/// The exact sign of a channel's scale `s`, which is the sign of γ (`√(σ²+ε) > 0`).
///
/// ```
/// use bnbound::{BatchNorm, ScaleSign};
/// let bn = BatchNorm::new(vec![-1.0f32, 0.0], vec![0.0; 2], vec![0.0; 2], vec![1.0; 2], 1e-5)?;
/// let enc = bn.enclose();
/// assert_eq!(enc.channel(0).scale_sign(), ScaleSign::Negative);
/// assert_eq!(enc.channel(1).scale_sign(), ScaleSign::Zero);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleSign {
    /// `s < 0` (γ < 0).
    Negative,
    /// `s = 0` exactly (γ = ±0): the channel's output is the constant `β`.
    Zero,
    /// `s > 0` (γ > 0).
    Positive,
}

/// One channel's enclosure: intervals that contain the exact real scale and offset.
///
/// Invariants (checked when built): `scale` contains `s`, `offset` contains `o`; for
/// [`ScaleSign::Positive`] `0 ≤ scale.lo() ≤ scale.hi()` and `scale.hi() > 0`; for
/// [`ScaleSign::Negative`] `scale.lo() < 0` and `scale.hi() ≤ 0`; for [`ScaleSign::Zero`] the
/// scale is `[0, 0]` and the offset encloses `β` exactly.
///
/// ```
/// use bnbound::BatchNorm;
/// // γ = 3, σ² + ε = 4: s = 1.5 and o = β − 1.5·μ = 1 − 1.5·2 = −2, all exact.
/// let bn = BatchNorm::new(vec![3.0f64], vec![1.0], vec![2.0], vec![4.0], 0.0)?;
/// let ch = bn.enclose().channel(0);
/// assert_eq!((ch.scale().lo(), ch.scale().hi()), (1.5, 1.5));
/// assert_eq!((ch.offset().lo(), ch.offset().hi()), (-2.0, -2.0));
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelEnclosure {
    scale: Interval,
    offset: Interval,
    sign: ScaleSign,
    direct: Option<Direct>,
}

/// What a channel whose scale or offset enclosure is not finite (`γ/√q` or `γμ/√q`
/// beyond the `f64` range) needs to evaluate `γ(x − μ)/√q + β` directly, in an order
/// that overflows only when the result does: the exact `γ`, `β`, `μ` and an enclosure
/// `0 < r_lo ≤ √q ≤ r_hi < ∞`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Direct {
    pub(crate) g: f64,
    pub(crate) b: f64,
    pub(crate) m: f64,
    pub(crate) r_lo: f64,
    pub(crate) r_hi: f64,
}

impl Direct {
    /// `Some` for a channel whose `(s, o)` enclosure has an infinite end (and whose `√q`
    /// enclosure is finite and positive, which holds for every valid layer).
    fn for_channel(
        p: crate::num::params::Params,
        scale: Interval,
        offset: Interval,
    ) -> Option<Direct> {
        let finite = [scale.lo(), scale.hi(), offset.lo(), offset.hi()]
            .iter()
            .all(|x| x.is_finite());
        if finite || p.gamma == 0.0 {
            return None;
        }
        let r_lo = round::sqrt_down(round::add_down(p.var, p.eps));
        let r_hi = match round::add_up(p.var, p.eps) {
            q if q.is_finite() => round::sqrt_up(q),
            // σ² + ε beyond MAX (by less than MAX): √q = 2·√(q/4).
            _ => {
                let quarter = round::add_up(round::mul_up(p.var, 0.25), round::mul_up(p.eps, 0.25));
                round::mul_up(2.0, round::sqrt_up(quarter))
            }
        };
        (r_lo > 0.0 && r_hi.is_finite()).then_some(Direct {
            g: p.gamma,
            b: p.beta,
            m: p.mean,
            r_lo,
            r_hi,
        })
    }
}

impl ChannelEnclosure {
    /// An interval containing the exact `s = γ/√(σ²+ε)`.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![2.0], 0.0)?;
    /// let s = bn.enclose().channel(0).scale(); // 1/√2 is irrational: two adjacent floats
    /// assert_eq!(s.lo().next_up(), s.hi());
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn scale(&self) -> Interval {
        self.scale
    }

    /// An interval containing the exact `o = β − γμ/√(σ²+ε)`.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1.0f64], vec![0.5], vec![0.0], vec![2.0], 0.0)?;
    /// assert_eq!(Some(bn.enclose().channel(0).offset()), bnbound::Interval::point(0.5));
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn offset(&self) -> Interval {
        self.offset
    }

    /// The exact sign of the scale.
    ///
    /// ```
    /// let bn = bnbound::BatchNorm::new(vec![1e-30f32], vec![0.0], vec![0.0], vec![1e30], 0.0)?;
    /// assert_eq!(bn.enclose().channel(0).scale_sign(), bnbound::ScaleSign::Positive);
    /// # Ok::<(), bnbound::Error>(())
    /// ```
    pub fn scale_sign(&self) -> ScaleSign {
        self.sign
    }

    /// The direct-evaluation data of a channel whose scale or offset overflows.
    pub(crate) fn direct(&self) -> Option<&Direct> {
        self.direct.as_ref()
    }
}

impl ChannelEnclosure {
    /// The enclosure of a channel with exact parameters `p = (γ, β, μ, σ², ε)` from a
    /// backend's `scale ∋ s` and `offset ∋ o`.
    pub(crate) fn new(p: crate::num::params::Params, scale: Interval, offset: Interval) -> Self {
        let sign = if p.gamma > 0.0 {
            ScaleSign::Positive
        } else if p.gamma < 0.0 {
            ScaleSign::Negative
        } else {
            ScaleSign::Zero
        };
        ChannelEnclosure {
            scale,
            offset,
            sign,
            direct: Direct::for_channel(p, scale, offset),
        }
    }
}

/// The channel as the kernels read it; special channels go through [`image`].
impl Channel for ChannelEnclosure {
    #[inline(always)]
    fn bounds(&self) -> Bounds {
        Bounds {
            s_lo: self.scale.lo(),
            s_hi: self.scale.hi(),
            o_lo: self.offset.lo(),
            o_hi: self.offset.hi(),
            sign: match self.sign {
                ScaleSign::Negative => Ordering::Less,
                ScaleSign::Zero => Ordering::Equal,
                ScaleSign::Positive => Ordering::Greater,
            },
        }
    }

    #[inline(always)]
    fn image<const OFFSET: bool>(&self, l: f64, h: f64) -> (f64, f64) {
        image::<OFFSET>(self, l, h)
    }
}

// ---------------------------------------------------------------------------------------
// The scalar image of one channel (the per-element path of every transfer function).

/// Lower bound of `s·x + o` over `s ∈ [s_lo, s_hi]`, `o ≥ o_lo`, for a finite `x`
/// (`OFFSET = false`: of `s·x`, with an exactly directed product).
#[inline(always)]
fn lower_at<const OFFSET: bool>(s_lo: f64, s_hi: f64, o_lo: f64, x: f64) -> f64 {
    let s = if x >= 0.0 { s_lo } else { s_hi };
    if OFFSET {
        round::fma_down(s, x, o_lo)
    } else {
        round::mul_down(s, x)
    }
}

/// Upper bound of `s·x + o` over `s ∈ [s_lo, s_hi]`, `o ≤ o_hi`, for a finite `x`
/// (`OFFSET = false`: of `s·x`): the mirror `−lower_at(−s, x, −o)`.
#[inline(always)]
fn upper_at<const OFFSET: bool>(s_lo: f64, s_hi: f64, o_hi: f64, x: f64) -> f64 {
    0.0 - lower_at::<OFFSET>(-s_hi, -s_lo, -o_hi, x)
}

/// Bounds of `{ s·x + o : x ∈ [l, h] }` (`OFFSET = false`: of `{ s·x }`) for the exact
/// scale and offset of channel `ch`, as `f64`. `l ≤ h`, not NaN, possibly infinite.
#[inline(always)]
pub(crate) fn image<const OFFSET: bool>(ch: &ChannelEnclosure, l: f64, h: f64) -> (f64, f64) {
    let (s_lo, s_hi) = (ch.scale().lo(), ch.scale().hi());
    let (o_lo, o_hi) = if OFFSET {
        (ch.offset().lo(), ch.offset().hi())
    } else {
        (0.0, 0.0)
    };
    let (lo, hi) = match ch.scale_sign() {
        ScaleSign::Zero => (o_lo, o_hi),
        ScaleSign::Positive => (
            if l.is_infinite() {
                l
            } else {
                lower_at::<OFFSET>(s_lo, s_hi, o_lo, l)
            },
            if h.is_infinite() {
                h
            } else {
                upper_at::<OFFSET>(s_lo, s_hi, o_hi, h)
            },
        ),
        ScaleSign::Negative => (
            if h.is_infinite() {
                -h
            } else {
                lower_at::<OFFSET>(s_lo, s_hi, o_lo, h)
            },
            if l.is_infinite() {
                -l
            } else {
                upper_at::<OFFSET>(s_lo, s_hi, o_hi, l)
            },
        ),
    };
    match ch.direct() {
        // Both bounds are sound, so their intersection is too.
        Some(d) => {
            let (at_lo, at_hi) = match ch.scale_sign() {
                ScaleSign::Negative => (h, l),
                _ => (l, h),
            };
            (
                if at_lo.is_finite() {
                    lo.max(direct_at::<OFFSET, false>(d, at_lo))
                } else {
                    lo
                },
                if at_hi.is_finite() {
                    hi.min(direct_at::<OFFSET, true>(d, at_hi))
                } else {
                    hi
                },
            )
        }
        None => (lo, hi),
    }
}

/// A bound (`UP`: upper, else lower) of `γ(x − μ)/√q + β` (`OFFSET = false`: of `γx/√q`)
/// at a finite `x`, for a channel whose `(s, o)` enclosure overflows. `x − μ` is enclosed
/// outward (as `(x/2 − μ/2)·2` when it exceeds the range), then `γ·t/r` is formed on
/// significands and exponents ([`round::quot_scaled`]), with the end of `r ∈ [r_lo, r_hi]`
/// that makes the bound extreme, then `β` is added outward. Overflows only when the exact
/// value is within a step of the range's end.
fn direct_at<const OFFSET: bool, const UP: bool>(d: &Direct, x: f64) -> f64 {
    // The value increases with t = x − μ exactly when γ > 0.
    let t_up = (d.g > 0.0) == UP;
    let sub = |a: f64, b: f64| {
        if t_up {
            round::add_up(a, -b)
        } else {
            round::add_down(a, -b)
        }
    };
    let half = |a: f64, up: bool| {
        if up {
            round::mul_up(a, 0.5)
        } else {
            round::mul_down(a, 0.5)
        }
    };
    let (t, k) = if !OFFSET {
        (x, 0)
    } else {
        match sub(x, d.m) {
            t if t.is_finite() => (t, 0),
            _ => (sub(half(x, t_up), half(d.m, !t_up)), 1),
        }
    };
    if !t.is_finite() {
        return if UP { f64::INFINITY } else { f64::NEG_INFINITY };
    }
    // γ·t/r is largest in magnitude at r_lo: that end bounds a positive value from above
    // and a negative one from below.
    let positive = (d.g > 0.0) == (t > 0.0);
    let r = if positive == UP { d.r_lo } else { d.r_hi };
    let add = |a: f64, b: f64| {
        if UP {
            round::add_up(a, b)
        } else {
            round::add_down(a, b)
        }
    };
    let p = round::quot_scaled::<UP>(d.g, t, k, r);
    if !OFFSET {
        p
    } else if p.is_finite() {
        add(p, d.b)
    } else {
        // γ·t/r beyond the range but possibly not γ·t/r + β: (γ·t/(2r) + β/2)·2.
        let p_half = round::quot_scaled::<UP>(d.g, t, k - 1, r);
        let sum = add(p_half, half(d.b, UP));
        if UP {
            round::mul_up(sum, 2.0)
        } else {
            round::mul_down(sum, 2.0)
        }
    }
}
