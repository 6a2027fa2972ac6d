//! `Runtime::Any` IBP at the cost of real IBP: for each channel, an interval scale `S` and
//! offset `O` such that every output of every form the model allows at every float input
//! `x` with `|x| ≤ X_c` lies in `S·x + O`, and so does the exact `s·x + o`. The channel's
//! box image is then the kernels' interval-scale image (`kernel::loops`), as for real IBP.
//! Elements with an endpoint beyond `X_c` (infinite ones included), channels with no
//! envelope, and boxes whose outputs are near 0 (where the envelope's absolute terms would
//! dominate) take the exact path (`Replay::widen_one`). The statement and its proof are on
//! the soundness page (`bnbound::docs::soundness`, "`--runtime any`", "The affine
//! envelope").

use super::any::{self, Consts, Model, Op, Value, X};
use super::Replay;
use crate::error::{Error, Result};
use crate::layer::channel::ChannelEnclosure;
use crate::layer::enclosure::Enclosure;
use crate::layer::params::BatchNorm;
use crate::num::float::Float;
use crate::num::interval::Interval;
use crate::num::round::{add_down, add_up, div_down, mul_down, mul_up};
use crate::tensor::BoxView;

/// The set `{ c₁·x + c₀ : c₁ ∈ C₁, c₀ ∈ C₀ }` of values a form's operation may hold at the
/// input `x`, for every float `x` with `|x| ≤ xmax` (below which no operation so far can
/// overflow).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Aff {
    c1: X,
    c0: X,
    xmax: f64,
    /// Bookkeeping for tightness only (no bound rests on it): an estimate of the part of
    /// `C₀`'s spread due to the absolute terms (`η` and flush-to-zero), which dominates the
    /// envelope where the output is near 0.
    abs: f64,
}

/// The largest magnitude in `a` (`∞` for a NaN end).
fn mag(a: X) -> f64 {
    if a.lo.is_nan() || a.hi.is_nan() {
        f64::INFINITY
    } else {
        a.lo.abs().max(a.hi.abs())
    }
}

/// `[lo − e, hi + e]`, outward.
fn spread(a: X, e: f64) -> X {
    X {
        lo: add_down(a.lo, -e),
        hi: add_up(a.hi, e),
        nan: a.nan,
    }
}

impl Aff {
    /// The input as an operand: `x`, or `0` for a subnormal `x` read under
    /// denormals-are-zero, so `x + δ` with `|δ| ≤` the least normal: `1·x + [−m, m]`.
    fn input(m: &Model) -> Aff {
        Aff {
            c1: any::point(1.0),
            c0: X {
                lo: -m.min_normal,
                hi: m.min_normal,
                nan: false,
            },
            xmax: m.max,
            abs: m.min_normal,
        }
    }
}

impl Value for Aff {
    fn mul_l(self, k: X) -> Aff {
        Aff {
            c1: any::mul(k, self.c1),
            c0: any::mul(k, self.c0),
            abs: self.abs * mag(k),
            ..self
        }
    }
    fn mul_r(self, k: X) -> Aff {
        Aff {
            c1: any::mul(self.c1, k),
            c0: any::mul(self.c0, k),
            abs: self.abs * mag(k),
            ..self
        }
    }
    fn div_by(self, r: X) -> Aff {
        Aff {
            c1: any::div(self.c1, r),
            c0: any::div(self.c0, r),
            abs: self.abs / r.lo,
            ..self
        }
    }
    fn add_c(self, k: X) -> Aff {
        Aff {
            c0: any::add(self.c0, k),
            ..self
        }
    }
    /// The exact result `v ∈ C₁·x + C₀` has `|v| ≤ m₁·|x| + m₀` (`m` the magnitudes). The
    /// operation returns `v + e`, `|e| ≤ ρ|v| + η`, or (flush-to-zero, or its result read
    /// as 0 by the next operation) 0 when that is at most the least normal `μ` in
    /// magnitude: in all `|e| ≤ ρ·m₁·|x| + (ρ·m₀ + η + μ)`, and `±E·|x|` is `[−E, E]·x`.
    /// It cannot overflow while `m₁·|x| + m₀ ≤ L = (MAX − η)/(1 + ρ)` (the model's rule:
    /// a result overflows only where `|v|(1 + ρ) + η` passes `MAX`), i.e. for
    /// `|x| ≤ (L − m₀)/m₁`, each step rounded down.
    fn round(self, m: &Model, op: Op) -> Aff {
        let (rho, eta) = any::error(m, op);
        let (m1, m0) = (mag(self.c1), mag(self.c0));
        let lim = div_down(add_down(m.max, -eta), add_up(1.0, rho));
        let room = add_down(lim, -m0);
        // `room` NaN or negative: no such `X` (NaN is not `≥ 0`).
        let xi = if room.is_nan() || room < 0.0 {
            0.0
        } else if m1 == 0.0 {
            f64::INFINITY
        } else {
            div_down(room, m1)
        };
        let xi = if xi.is_nan() { 0.0 } else { xi };
        let e1 = mul_up(rho, m1);
        let e0 = add_up(add_up(mul_up(rho, m0), eta), m.min_normal);
        Aff {
            c1: spread(self.c1, e1),
            c0: spread(self.c0, e0),
            xmax: self.xmax.min(xi),
            abs: self.abs * (1.0 + rho) + eta + m.min_normal,
        }
    }
    fn hull(self, other: Aff) -> Aff {
        Aff {
            c1: any::hull(self.c1, other.c1),
            c0: any::hull(self.c0, other.c0),
            xmax: self.xmax.min(other.xmax),
            abs: self.abs.max(other.abs),
        }
    }
}

/// One channel's envelope: every output of every form at every float `x`, `|x| ≤ X_c`,
/// lies in `S·x + O`, `S ∋ s` and `O ∋ o` (`scale`, `offset`: the layer's enclosures of the
/// exact `s`, `o`), and `S` has `γ`'s strict sign; `None` where no such envelope is derived
/// (16-bit grid, `σ² + ε` possibly 0, a constant not finite, `γ = 0` or `S` meeting 0, an
/// infinite coefficient).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChannelEnvelope {
    /// `S`.
    pub(crate) scale: Interval,
    /// `O`.
    pub(crate) offset: Interval,
    /// `X_c`.
    pub(crate) xc: f64,
    /// Inputs whose outputs are near 0, where the envelope's absolute terms (flush-to-zero's
    /// least normal, `η`) are not small beside the exact path's width: a box inside
    /// `[zero.0, zero.1]` takes the exact path, for tightness only (either path is sound
    /// for every element). Empty (`(+∞, −∞)`) when not finite.
    pub(crate) zero: (f64, f64),
}

impl ChannelEnvelope {
    /// The envelope of the channel `p` (see the type).
    pub(crate) fn new(
        m: &Model,
        p: crate::num::params::Params,
        scale: Interval,
        offset: Interval,
    ) -> Option<ChannelEnvelope> {
        if m.grid.is_some() {
            return None;
        }
        let k = Consts::new(m, p)?;
        if !k.finite() {
            return None;
        }
        let y = any::forms(m, &k, Aff::input(m));
        let ends = [y.c1.lo, y.c1.hi, y.c0.lo, y.c0.hi];
        if y.c1.nan || y.c0.nan || !ends.iter().all(|v| v.is_finite()) {
            return None;
        }
        let (s_lo, s_hi) = (y.c1.lo.min(scale.lo()), y.c1.hi.max(scale.hi()));
        let (o_lo, o_hi) = (y.c0.lo.min(offset.lo()), y.c0.hi.max(offset.hi()));
        let signed = match p.gamma {
            g if g > 0.0 => s_lo > 0.0,
            g if g < 0.0 => s_hi < 0.0,
            _ => false,
        };
        // Half the bound the overflow rule gives: the exact path's intervals, a little
        // wider than these forms', stay finite up to it too.
        // And no further than where `|S·x + O|` stays below half the range (else the
        // kernel's bound, one outward step from a rounded value, may be infinite where the
        // exact path's is not).
        let (ms, mo) = (s_lo.abs().max(s_hi.abs()), o_lo.abs().max(o_hi.abs()));
        let in_range = div_down(add_down(m.max * 0.5, -mo), ms);
        let xc = mul_down(y.xmax, 0.5).min(if in_range >= 0.0 { in_range } else { 0.0 });
        let finite = [s_lo, s_hi, o_lo, o_hi].iter().all(|v| v.is_finite());
        if !(signed && finite && xc > 0.0) {
            return None;
        }
        // Where |y| ≤ τ = 2·abs/u the absolute terms exceed half of the last rounding's
        // u·|y| (which the exact path's width has): the inputs mapped there, estimated with
        // the midpoints (a choice of path, not a bound).
        let tau = y.abs * 2.0 / m.u;
        let (sm, om) = (0.5 * s_lo + 0.5 * s_hi, 0.5 * o_lo + 0.5 * o_hi);
        let (a, b) = ((-tau - om) / sm, (tau - om) / sm);
        let zero = match (a.min(b), a.max(b)) {
            (a, b) if a.is_finite() && b.is_finite() => (a, b),
            _ => (f64::INFINITY, f64::NEG_INFINITY),
        };
        Some(ChannelEnvelope {
            scale: Interval::new(s_lo, s_hi)?,
            offset: Interval::new(o_lo, o_hi)?,
            xc,
            zero,
        })
    }
}

/// A layer's envelopes under [`super::Runtime::Any`] (fast mode), computed once: the
/// channels laid out for the kernels (a channel with no envelope holds the real enclosure
/// as a placeholder; its elements take the exact path), and each channel's `X_c` as a
/// value of `T` (rounded down; `−∞` for a channel with no envelope, whose bounds `[+∞, −∞]`
/// no element meets).
#[derive(Clone, Debug)]
pub(crate) struct Envelope<T: Float> {
    enc: Enclosure,
    /// `−X_c` and `X_c` per channel.
    neg_xc: Vec<T>,
    xc: Vec<T>,
    /// The ends of each channel's zone near 0 (`ChannelEnvelope::zero`).
    zero_lo: Vec<T>,
    zero_hi: Vec<T>,
}

impl<T: Float> Envelope<T> {
    /// The envelopes of `bn` (whose real enclosure is `real`) for `K = ulps`
    /// (`ulps ≤ Runtime::MAX_ULPS`, checked by the caller).
    pub(crate) fn new(bn: &BatchNorm<T>, real: &Enclosure, ulps: u32) -> Self {
        let m = Model::of::<T>(ulps);
        let mut e = Envelope {
            enc: real.clone(),
            neg_xc: vec![],
            xc: vec![],
            zero_lo: vec![],
            zero_hi: vec![],
        };
        let mut ch = vec![];
        for c in 0..bn.channels() {
            let p = bn.channel_f64(c);
            let r = real.channel(c);
            match ChannelEnvelope::new(&m, p, r.scale(), r.offset()) {
                Some(v) => {
                    let x = T::from_f64_down_raw(v.xc);
                    ch.push(ChannelEnclosure::new(p, v.scale, v.offset));
                    e.neg_xc.push(-x);
                    e.xc.push(x);
                    e.zero_lo.push(T::from_f64_down_raw(v.zero.0));
                    e.zero_hi.push(T::from_f64_up_raw(v.zero.1));
                }
                None => {
                    ch.push(r);
                    e.neg_xc.push(T::infinity());
                    e.xc.push(T::neg_infinity());
                    e.zero_lo.push(T::infinity());
                    e.zero_hi.push(T::neg_infinity());
                }
            }
        }
        e.enc = Enclosure::from_channels(ch).with_kernel(real.kernel());
        e
    }

    /// The same envelopes run on another per-element kernel (`Bounds::with_kernel`).
    pub(crate) fn with_kernel(mut self, kernel: crate::kernel::choice::Kernel) -> Self {
        self.enc = self.enc.with_kernel(kernel);
        self
    }

    /// `Bounds::ibp_into` under `any` in fast mode (the caller has checked the output
    /// lengths): the kernels on the envelopes, and the exact path (`Replay::widen_one` on
    /// the real kernel's bounds) for the elements beyond `X_c`, computed first so that
    /// nothing is written on error. The same errors, in the same order, as the exact path.
    pub(crate) fn ibp_into(
        &self,
        replay: &Replay<T>,
        real: &Enclosure,
        input: &BoxView<'_, T>,
        out_lo: &mut [T],
        out_hi: &mut [T],
    ) -> Result<()> {
        let shape = *input.shape();
        if shape.channels() != self.xc.len() {
            return Err(Error::ChannelMismatch {
                expected: self.xc.len(),
                found: shape.channels(),
            });
        }
        replay.runtime().valid()?;
        let (lo, hi) = (input.lo(), input.hi());
        let outside = self.outside(input);
        let mut exact = Vec::with_capacity(outside.len());
        if !outside.is_empty() {
            let n = shape.len();
            let (mut rl, mut rh) = (vec![T::zero(); n], vec![T::zero(); n]);
            crate::transfer::ibp::per_channel::<T, true>(real, input, &mut rl, &mut rh)?;
            for &i in &outside {
                let c = shape.channel_of(i);
                exact.push(replay.widen_one(i, c, (lo[i], hi[i]), (rl[i], rh[i]))?);
            }
        }
        crate::transfer::ibp::per_channel::<T, true>(&self.enc, input, out_lo, out_hi)?;
        for (&i, (a, b)) in outside.iter().zip(exact) {
            out_lo[i] = a;
            out_hi[i] = b;
        }
        Ok(())
    }

    /// The indexes, ascending, of the elements that take the exact path: an endpoint
    /// beyond `±X_c` of its channel (or a channel with no envelope), or a box inside the
    /// channel's zone near 0. A first pass checks whole blocks (rows for `inner = 1`)
    /// without branches; only blocks that fail are searched.
    fn outside(&self, input: &BoxView<'_, T>) -> Vec<usize> {
        let (lo, hi) = (input.lo(), input.hi());
        let c = self.xc.len();
        let inner = input.shape().inner();
        let mut out = Vec::new();
        if lo.is_empty() || c == 0 || inner == 0 {
            return out;
        }
        // The kernel takes `[l, h]` within `±X_c` and not inside the zone near 0.
        #[inline(always)]
        fn kernel<T: Float>(l: T, h: T, [n, x, zl, zh]: [T; 4]) -> bool {
            (l >= n) & (h <= x) & !((l >= zl) & (h <= zh))
        }
        let limits = |j: usize| [self.neg_xc[j], self.xc[j], self.zero_lo[j], self.zero_hi[j]];
        if inner == 1 {
            for (r, (l, h)) in lo.chunks(c).zip(hi.chunks(c)).enumerate() {
                let k = l.len();
                let (h, n, x) = (&h[..k], &self.neg_xc[..k], &self.xc[..k]);
                let (zl, zh) = (&self.zero_lo[..k], &self.zero_hi[..k]);
                let mut ok = true;
                for j in 0..k {
                    ok &= kernel(l[j], h[j], [n[j], x[j], zl[j], zh[j]]);
                }
                if !ok {
                    let bad = (0..k).filter(|&j| !kernel(l[j], h[j], limits(j)));
                    out.extend(bad.map(|j| r * c + j));
                }
            }
        } else {
            for (b, (l, h)) in lo.chunks(inner).zip(hi.chunks(inner)).enumerate() {
                let lim = limits(b % c);
                let mut ok = true;
                for (&a, &z) in l.iter().zip(h) {
                    ok &= kernel(a, z, lim);
                }
                if !ok {
                    let bad = (0..l.len()).filter(|&i| !kernel(l[i], h[i], lim));
                    out.extend(bad.map(|i| b * inner + i));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modes::deployed::Runtime;
    use crate::tensor::{Shape, TensorBox};

    /// The envelope path's bounds and the exact path's (`Replay::widen` on the real IBP,
    /// today's `any` IBP), both through the same `Bounds`.
    fn both<T: Float>(
        bn: &BatchNorm<T>,
        ulps: u32,
        x: &TensorBox<T>,
    ) -> (Result<TensorBox<T>>, Result<TensorBox<T>>) {
        // `deployed`: fast mode.
        let new = bn.deployed(Runtime::Any { ulps }).ibp(x);
        let replay = Replay::new(bn, Runtime::Any { ulps });
        let old = bn
            .enclose()
            .ibp(x)
            .and_then(|r| replay.widen(Default::default(), &x.view(), r));
        (new, old)
    }

    /// `w_new / w_old` for each element (widths `hi − lo` in `f64`; `None` where both
    /// are 0 or the old one is not finite), after checking both paths agree on errors.
    fn ratios<T: Float>(bn: &BatchNorm<T>, ulps: u32, x: &TensorBox<T>) -> Vec<(f64, usize)> {
        let (new, old) = both(bn, ulps, x);
        let (new, old) = match (new, old) {
            (Ok(n), Ok(o)) => (n, o),
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "the same error");
                return vec![];
            }
            (a, b) => panic!("paths disagree: {:?} vs {:?}", a.err(), b.err()),
        };
        let w = |b: &TensorBox<T>, i: usize| b.hi()[i].to_f64_raw() - b.lo()[i].to_f64_raw();
        (0..x.shape().len())
            .filter_map(|i| {
                let (a, b) = (w(&new, i), w(&old, i));
                (b.is_finite() && a > 0.0).then(|| (a / b, i))
            })
            .collect()
    }

    use proptest::prelude::*;

    /// A case: each channel's `(γ, β, μ, σ², ε)`, the box's raw draws, `K`.
    type Case<T> = (Vec<[T; 5]>, Vec<(T, T, u8)>, u32);

    fn case<T: Float>(
        v: impl Strategy<Value = T> + Clone + 'static,
    ) -> impl Strategy<Value = Case<T>> {
        (
            proptest::collection::vec(
                [v.clone(), v.clone(), v.clone(), v.clone(), v.clone()],
                1..4,
            ),
            proptest::collection::vec((v.clone(), v, 0u8..6), 1..40),
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(2),
                Just(4),
                Just(Runtime::MAX_ULPS)
            ],
        )
    }

    fn layer_and_box<T: Float>(
        params: &[[T; 5]],
        entries: &[(T, T, u8)],
    ) -> Option<(BatchNorm<T>, TensorBox<T>)> {
        let col = |k: usize| params.iter().map(|p| p[k]).collect::<Vec<T>>();
        let var = params.iter().map(|p| p[3].abs()).collect();
        let bn = BatchNorm::new(col(0), col(1), col(2), var, params[0][4].abs()).ok()?;
        let c = params.len();
        let n = entries.len() / c * c;
        if n == 0 {
            return None;
        }
        let (lo, hi): (Vec<T>, Vec<T>) = entries[..n]
            .iter()
            .map(|&(a, b, k)| match k {
                0 => (a, a),
                1 => (T::neg_infinity(), a.max(b)),
                2 => (a.min(b), T::infinity()),
                _ => (a.min(b), a.max(b)),
            })
            .unzip();
        let x = TensorBox::new(Shape::new(&[n / c, c]).ok()?, lo, hi).ok()?;
        Some((bn, x))
    }

    /// The stated factor: the envelope path's bound of an element is at most this many
    /// times as wide as the exact path's (measured: at most 5/3 over 40,000 cases of hard
    /// values, f32 and f64, K up to `Runtime::MAX_ULPS`; the excess is the envelope's use
    /// of `|x| + |μ|` where the exact path has `|x − μ|`, and ulp granularity).
    const FACTOR: f64 = 2.0;

    proptest! {
        // A fixed seed: the factor is a measured tightness property, not a proved one, so
        // the same 4,000 cases run every time (the soundness properties use fresh seeds).
        #![proptest_config(ProptestConfig {
            cases: 4000,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_2026),
            ..ProptestConfig::default()
        })]

        /// Both paths agree on errors (the same error, index included), and where both give
        /// bounds the envelope path's are at most `FACTOR` times as wide.
        #[test]
        fn envelope_is_at_most_twice_as_wide_as_the_exact_path(
            (p32, e32, k32) in case(bnbound_testkit::hard_f32()),
            (p64, e64, k64) in case(bnbound_testkit::hard_f64()),
        ) {
            if let Some((bn, x)) = layer_and_box(&p32, &e32) {
                for (r, i) in ratios(&bn, k32, &x) {
                    prop_assert!(r <= FACTOR, "f32 element {i}: {r} times as wide");
                }
            }
            if let Some((bn, x)) = layer_and_box(&p64, &e64) {
                for (r, i) in ratios(&bn, k64, &x) {
                    prop_assert!(r <= FACTOR, "f64 element {i}: {r} times as wide");
                }
            }
        }
    }

    /// Every output the oracle emulates (every form with random K-ulp errors, and the
    /// named recipes with and without flush-to-zero) at 9 floats of each element of `x`,
    /// against the bounds `y`: how many fall outside.
    fn escapes(bn: &BatchNorm<f32>, ulps: u32, x: &TensorBox<f32>, y: &TensorBox<f32>) -> usize {
        use bnbound_testkit::emulate::{any_outputs, recipe_outputs_flush, F32};
        let mut out = 0;
        for i in 0..x.shape().len() {
            let c = x.shape().channel_of(i);
            let p = bn.channel_f64(c).array();
            let (l, h) = (x.lo()[i] as f64, x.hi()[i] as f64);
            for k in 0..=8u32 {
                let t = l + (h - l) * k as f64 / 8.0;
                let t = (t as f32) as f64;
                for seed in 0..4 {
                    let mut ys = any_outputs(p, t, F32, ulps, seed);
                    ys.extend(recipe_outputs_flush(p, t, F32, true));
                    out += ys
                        .iter()
                        .filter(|&&v| !v.is_nan() && (v < y.lo()[i] as f64 || v > y.hi()[i] as f64))
                        .count();
                }
            }
        }
        out
    }

    /// Teeth: the same envelopes with the model's error terms dropped (`S`, `O` the exact
    /// `s`, `o`'s enclosures), or with `O` alone shrunk to `o`'s, miss emulated outputs
    /// that the envelope keeps.
    #[test]
    fn a_shrunk_envelope_is_caught() {
        let bn = BatchNorm::new(
            vec![1.7f32, -0.3, 2.5],
            vec![0.25, -1.0, 0.0],
            vec![40.0, -3.0, 0.5],
            vec![0.7, 2.0, 1e-3],
            1e-5,
        )
        .unwrap();
        let lo: Vec<f32> = (0..96).map(|i| i as f32 * 0.37 - 17.0).collect();
        let hi: Vec<f32> = lo
            .iter()
            .enumerate()
            .map(|(i, &l)| l + (i % 4) as f32 * 1e-3)
            .collect();
        let x = TensorBox::new(Shape::new(&[32, 3]).unwrap(), lo, hi).unwrap();
        let ulps = 2;
        let replay = Replay::new(&bn, Runtime::Any { ulps });
        let real = bn.enclose();
        let env = Envelope::new(&bn, &real, ulps);
        let run = |e: &Envelope<f32>| {
            let n = x.shape().len();
            let (mut lo, mut hi) = (vec![0.0; n], vec![0.0; n]);
            e.ibp_into(&replay, &real, &x.view(), &mut lo, &mut hi)
                .unwrap();
            TensorBox::new(*x.shape(), lo, hi).unwrap()
        };
        assert!(
            env.outside(&x.view()).is_empty(),
            "every element on the envelope"
        );
        assert_eq!(escapes(&bn, ulps, &x, &run(&env)), 0);
        let shrunk = Envelope {
            enc: real.clone(),
            ..env.clone()
        };
        let caught = escapes(&bn, ulps, &x, &run(&shrunk));
        assert!(caught > 0, "no error terms: not caught");
        let ch = (0..3)
            .map(|c| {
                let (e, r) = (env.enc.channel(c), real.channel(c));
                ChannelEnclosure::new(bn.channel_f64(c), e.scale(), r.offset())
            })
            .collect();
        let offset_only = Envelope {
            enc: Enclosure::from_channels(ch),
            ..env.clone()
        };
        let caught = escapes(&bn, ulps, &x, &run(&offset_only));
        assert!(caught > 0, "O shrunk to o: not caught");
    }

    /// Elements beyond `X_c`, infinite endpoints, a channel with no envelope (`γ = 0`) and
    /// boxes near an output of 0 take the exact path, bit for bit; the others the
    /// kernels on the envelopes.
    #[test]
    fn exact_path_elements_are_bit_for_bit_the_exact_path() {
        let bn = BatchNorm::new(
            vec![1.5f32, 0.0, -2.0],
            vec![0.0, 1.0, 3.0],
            vec![0.0, 0.0, 1.5],
            vec![1.0, 1.0, 1.0],
            0.0,
        )
        .unwrap();
        let ulps = 2;
        let real = bn.enclose();
        let env = Envelope::new(&bn, &real, ulps);
        assert!(env.xc[0] > 1e30 && env.xc[2] > 1e30 && env.xc[1] == f32::NEG_INFINITY);
        let big = f32::MAX;
        let lo = vec![0.0, 0.0, 3.0, -big, -1.0, 0.5, 1.0, 2.0, f32::NEG_INFINITY];
        let hi = vec![0.0, 1.0, 3.0, 1.0, 1.0, big, 2.0, 3.0, 0.0];
        let x = TensorBox::new(Shape::new(&[3, 3]).unwrap(), lo, hi).unwrap();
        // 0, 2: outputs exactly 0 (zone); 1, 4, 7: γ = 0; 3, 5, 8: beyond X_c.
        assert_eq!(env.outside(&x.view()), vec![0, 1, 2, 3, 4, 5, 7, 8]);
        let (new, old) = both(&bn, ulps, &x);
        let (new, old) = (new.unwrap(), old.unwrap());
        for i in env.outside(&x.view()) {
            assert_eq!(new.lo()[i].to_bits(), old.lo()[i].to_bits(), "element {i}");
            assert_eq!(new.hi()[i].to_bits(), old.hi()[i].to_bits(), "element {i}");
        }
    }

    /// Errors: the exact path's, with its index; nothing is written.
    #[test]
    fn errors_are_the_exact_paths_and_nothing_is_written() {
        // γ = 0: the runtime computes 0·∞ = NaN at an infinite input.
        let bn = BatchNorm::new(
            vec![1.0f32, 0.0],
            vec![0.0; 2],
            vec![0.0; 2],
            vec![1.0; 2],
            0.0,
        )
        .unwrap();
        let x = TensorBox::new(
            Shape::new(&[2, 2]).unwrap(),
            vec![0.0, 0.0, 0.0, 0.0],
            vec![1.0, 1.0, 1.0, f32::INFINITY],
        )
        .unwrap();
        let (new, old) = both(&bn, 2, &x);
        let err = new.unwrap_err();
        assert_eq!(err, old.unwrap_err());
        assert!(matches!(
            err,
            Error::DeployedNan {
                index: 3,
                channel: 1
            }
        ));
        let b = bn.deployed(Runtime::Any { ulps: 2 });
        let (mut lo, mut hi) = (vec![7.0f32; 4], vec![7.0f32; 4]);
        assert!(b.ibp_into(&x.view(), &mut lo, &mut hi).is_err());
        assert!(lo.iter().chain(&hi).all(|&v| v == 7.0));
        let wrong =
            TensorBox::new(Shape::new(&[1, 3]).unwrap(), vec![0.0; 3], vec![0.0; 3]).unwrap();
        let (new, old) = both(&bn, 2, &wrong);
        assert_eq!(new.unwrap_err(), old.unwrap_err());
    }
}
