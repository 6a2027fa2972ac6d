//! The runtimes' recipes as data: which evaluations of inference BatchNorm each runtime
//! performs ([`recipes`]), and one channel's constants as the runtime computes them
//! ([`Consts`]), replayed operation by operation. The sources each recipe is read from,
//! and why the outputs at a box's endpoints bound the outputs inside it, are on the
//! soundness page (`bnbound::docs::soundness`, "Deployed-float semantics").

use super::Runtime;
use crate::num::float::{Dtype, Float};

/// One evaluation of inference BatchNorm, every operation rounded to nearest in the compute
/// type `T`; each is replayed with and without FMA contraction of `a·b + c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recipe {
    /// `α = RN(RN(1/RN(√RN(σ² + ε)))·γ)`, `β' = RN(β − RN(μ·α))`, `y = RN(RN(x·α) + β')`:
    /// PyTorch's contiguous and channels-last kernels, ONNX Runtime's CPU kernel.
    Affine,
    /// `invstd = RN(1/r)` for every faithful `r ≈ √RN(σ² + ε)`,
    /// `y = RN(RN(RN(RN(x − μ)·invstd)·γ) + β)`: PyTorch's non-contiguous fallback.
    Centred,
    /// `s' = RN(γ/RN(√RN(σ² + ε)))`, `b' = RN(β − RN(μ·s'))`, `y = RN(RN(x·s') + b')`:
    /// ONNX Runtime's NCHWc rewrite into a depthwise 1×1 convolution (`f32` only).
    Divided,
}

/// The table: the recipes `runtime` may run on data of type `dtype` (`f32` or `f64`).
/// [`Runtime::Any`] replays none: its bounds come from its error model (module `any`).
pub(crate) fn recipes(runtime: Runtime, dtype: Dtype) -> &'static [Recipe] {
    match (runtime, dtype) {
        (Runtime::PytorchCpu, _) => &[Recipe::Affine, Recipe::Centred],
        (Runtime::OnnxruntimeCpu, Dtype::F32) => &[Recipe::Affine, Recipe::Divided],
        (Runtime::OnnxruntimeCpu, _) => &[Recipe::Affine],
        (Runtime::Any { .. }, _) => &[],
    }
}

/// A runtime's recipe table as the replay's lanes run it: [`Recipe::Affine`] alone, or
/// with [`Recipe::Centred`] (PyTorch) or [`Recipe::Divided`] (ONNX Runtime, `f32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    /// `[Affine]`.
    Affine,
    /// `[Affine, Centred]`.
    Centred,
    /// `[Affine, Divided]`.
    Divided,
}

impl Table {
    /// The table of `recipes`, or `None` for a table the lanes do not run (`any`'s, empty).
    pub(crate) fn of(recipes: &[Recipe]) -> Option<Table> {
        match recipes {
            [Recipe::Affine] => Some(Table::Affine),
            [Recipe::Affine, Recipe::Centred] => Some(Table::Centred),
            [Recipe::Affine, Recipe::Divided] => Some(Table::Divided),
            _ => None,
        }
    }
}

/// One channel's float constants as the replay reads them (from [`Consts::lane`], so all
/// finite and none the flush model can change).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lane<T> {
    alpha: T,
    /// The two `β'` (rounded twice, fused), least first.
    betas: [T; 2],
    m: T,
    /// The two fallback `invstd`, least first.
    invs: [T; 2],
    g: T,
    b: T,
    div: (T, T),
}

impl<T: Float> Lane<T> {
    /// The least output at `x` of [`Recipe::Affine`] (both `β'`, with and without FMA),
    /// with `CENTRED` also of [`Recipe::Centred`] (both `invstd`, with and without FMA),
    /// with `DIVIDED` also of [`Recipe::Divided`], every operation rounded to nearest in
    /// `T` as the runtime computes it; and whether that least value is the least under the
    /// flush model too (module `flush`) and no output is NaN.
    ///
    /// Rounding to nearest is monotone, so of the two `β'` the least output takes the
    /// lesser (`betas` is sorted), and of the two `invstd` the one that makes
    /// `t = RN(RN(x − μ)·invstd)` least when `γ ≥ 0`, greatest when `γ < 0`: the lesser
    /// when `x − μ` and `γ` have the same sign (`invs` is sorted). The other variants are
    /// not evaluated; what they could do under the flush model is covered by margins.
    ///
    /// The result is vouched for when `x` is not subnormal (no operand read as 0), none of
    /// `x·α`, `x − μ`, `x·s'` is tiny or NaN (no result flushed), `t` and `RN(t·γ)` are 0
    /// or have magnitudes in `(2m, MAX/2)` (`m` the least normal) — the other `invstd`
    /// differs by a few ulps, so its `t` and `RN(t·γ)` are within a factor `1 + 16u` of
    /// these: neither tiny nor overflowing, or zeros and flushes of the same sign — and the
    /// least output is not a tiny positive value: a flushed output is a zero, never below
    /// a least output `≤ 0`, and a least output `> m` leaves no output tiny. With the
    /// lane's finite constants an output is NaN only through `∞·0` in one of those
    /// products (the last addition adds a finite constant), which the checks catch.
    /// Branch-free, so the replay's loops vectorise.
    #[inline(always)]
    // `!(a > b)` on purpose: true for NaN.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    pub(crate) fn least<const CENTRED: bool, const DIVIDED: bool>(&self, x: T) -> (T, bool) {
        let mn = T::min_positive_value();
        let two = T::one() + T::one();
        let (low, high) = (mn * two, T::max_value() / two);
        // Tiny (a flush may change it) or NaN.
        let odd = |v: T| (v != T::zero()) & !(v.abs() > mn);
        // Nonzero and not in (2m, MAX/2): tiny, near tiny, near overflow, ∞ or NaN.
        let near = |v: T| (v != T::zero()) & !((v.abs() > low) & (v.abs() < high));
        let mut unsure = (x != T::zero()) & (x.abs() < mn);
        let mut y = T::infinity();
        let mut take = |v: T| y = if v < y { v } else { y };
        // The runtimes' own arithmetic, each operation rounded to nearest in T: this is
        // the semantics being replayed, not a bound.
        let p = x * self.alpha;
        unsure |= odd(p);
        take(p + self.betas[0]);
        take(x.mul_add(self.alpha, self.betas[0]));
        if CENTRED {
            let d = x - self.m;
            unsure |= odd(d);
            let lesser = (d >= T::zero()) == (self.g >= T::zero());
            let inv = if lesser { self.invs[0] } else { self.invs[1] };
            let t = d * inv;
            let tg = t * self.g;
            unsure |= near(t) | near(tg);
            take(tg + self.b);
            take(t.mul_add(self.g, self.b));
        }
        if DIVIDED {
            let (s, b) = self.div;
            let xs = x * s;
            unsure |= odd(xs);
            take(xs + b);
            take(x.mul_add(s, b));
        }
        unsure |= (y > T::zero()) & (y <= mn);
        (y, !unsure)
    }

    /// The channel with `γ`, `β` and every constant derived from them negated: each
    /// output is the negation of the original's (rounding to nearest is odd), so
    /// `−mirrored().least(x)` is the greatest output at `x`.
    #[inline(always)]
    pub(crate) fn mirrored(&self) -> Self {
        Lane {
            alpha: -self.alpha,
            betas: [-self.betas[1], -self.betas[0]],
            m: self.m,
            invs: self.invs,
            g: -self.g,
            b: -self.b,
            div: (-self.div.0, -self.div.1),
        }
    }
}

/// Every channel's [`Lane`] as arrays (structure of arrays), for the row loop where each
/// element has its own channel; `ok[c]` is false where [`Consts::lane`] gives none: the
/// entry is then all NaN, so [`Lane::least`] never vouches for it (its `x·α` is NaN) and
/// the element goes the scalar way.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lanes<V, B = Vec<bool>> {
    alpha: V,
    beta0: V,
    beta1: V,
    m: V,
    inv0: V,
    inv1: V,
    g: V,
    b: V,
    div_s: V,
    div_b: V,
    /// Whether the channel's `γ` is negative: its least output is at the box's upper end
    /// (the sign of `α` would not do: `α` may underflow to a zero while the fallback's
    /// `RN(t·γ)` still depends on `x`).
    pub(crate) neg: B,
    pub(crate) ok: B,
}

impl<T: Float> Lanes<Vec<T>> {
    /// The lanes of `lanes` (one per channel, `None` where the scalar way is needed) and
    /// the signs of the channels' `γ`.
    pub(crate) fn new(lanes: &[Option<Lane<T>>], gammas: &[T]) -> Self {
        let mut l: Self = Lanes::default();
        let nan = T::nan();
        let none = Lane {
            alpha: nan,
            betas: [nan; 2],
            m: nan,
            invs: [nan; 2],
            g: nan,
            b: nan,
            div: (nan, nan),
        };
        for (k, &g) in lanes.iter().zip(gammas) {
            let v = k.unwrap_or(none);
            l.alpha.push(v.alpha);
            l.beta0.push(v.betas[0]);
            l.beta1.push(v.betas[1]);
            l.m.push(v.m);
            l.inv0.push(v.invs[0]);
            l.inv1.push(v.invs[1]);
            l.g.push(v.g);
            l.b.push(v.b);
            l.div_s.push(v.div.0);
            l.div_b.push(v.div.1);
            l.neg.push(g < T::zero());
            l.ok.push(k.is_some());
        }
        l
    }

    /// The lanes of the channels `first..first + n` (in range), as slices of length `n`.
    #[inline(always)]
    pub(crate) fn run(&self, first: usize, n: usize) -> Lanes<&[T], &[bool]> {
        let r = first..first + n;
        Lanes {
            alpha: &self.alpha[r.clone()],
            beta0: &self.beta0[r.clone()],
            beta1: &self.beta1[r.clone()],
            m: &self.m[r.clone()],
            inv0: &self.inv0[r.clone()],
            inv1: &self.inv1[r.clone()],
            g: &self.g[r.clone()],
            b: &self.b[r.clone()],
            div_s: &self.div_s[r.clone()],
            div_b: &self.div_b[r.clone()],
            neg: &self.neg[r.clone()],
            ok: &self.ok[r],
        }
    }

    /// Channel `c`'s lane (`c` in range).
    #[inline(always)]
    pub(crate) fn at(&self, c: usize) -> Lane<T> {
        self.run(c, 1).at(0)
    }
}

impl<T: Float> Lanes<&[T], &[bool]> {
    /// The `j`-th lane of a run (`j` in range).
    #[inline(always)]
    pub(crate) fn at(&self, j: usize) -> Lane<T> {
        Lane {
            alpha: self.alpha[j],
            betas: [self.beta0[j], self.beta1[j]],
            m: self.m[j],
            invs: [self.inv0[j], self.inv1[j]],
            g: self.g[j],
            b: self.b[j],
            div: (self.div_s[j], self.div_b[j]),
        }
    }
}

/// One channel's constants in the compute type, as the runtime computes them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Consts<T> {
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
    pub(crate) fn new(g: T, b: T, m: T, v: T, e: T) -> Self {
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
        let tiny = [g, b, m, v, e].into_iter().any(super::flush::subnormal)
            || [q, q.sqrt(), inv, alpha, m * alpha, betas[0], betas[1]]
                .into_iter()
                .chain(invs)
                .chain([div.0, m * div.0, div.1])
                .any(super::flush::tiny);
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
        use super::flush::{id, op1, op2};
        let q = op2(&[v], &[e], |a, b| a + b, &id);
        let inv = op2(&[T::one()], &op1(&q, |a| a.sqrt(), &id), |a, b| a / b, &id);
        let alphas = op2(&inv, &[g], |a, b| a * b, &id);
        let mut invs = Vec::new();
        for q in super::flush::reads(&q) {
            for r in faithful_sqrt(q) {
                invs.extend(op2(&[T::one()], &[r], |a, b| a / b, &id));
            }
        }
        (alphas, invs)
    }

    /// Under the flush model: every NCHWc weight `s' = RN(γ / RN(√RN(σ² + ε)))`.
    fn flushed_div_scales(g: T, v: T, e: T) -> Vec<T> {
        use super::flush::{id, op1, op2};
        let q = op2(&[v], &[e], |a, b| a + b, &id);
        op2(&[g], &op1(&q, |a| a.sqrt(), &id), |a, b| a / b, &id)
    }

    /// Every output of every recipe of `recipes` at `x` under the flush model (module
    /// `flush`): each operation may read a subnormal operand as zero and flush a tiny
    /// result. Contains the ordinary outputs (no operation flushes).
    fn flushed_outputs(&self, x: T, recipes: &[Recipe]) -> Vec<T> {
        use super::flush::{fma, id, op1, op2};
        let (xs, g, b, m) = ([x], [self.g], [self.b], [self.m]);
        let mul = |a: T, b: T| a * b;
        let add = |a: T, b: T| a + b;
        let sub = |a: T, b: T| a - b;
        let q = op2(&[self.v], &[self.e], add, &id);
        let mut ys = Vec::new();
        for recipe in recipes {
            match recipe {
                Recipe::Affine => {
                    let inv = op2(&[T::one()], &op1(&q, |a| a.sqrt(), &id), |a, b| a / b, &id);
                    for a in op2(&inv, &g, mul, &id) {
                        let a = [a];
                        let mut betas = op2(&b, &op2(&m, &a, mul, &id), sub, &id);
                        betas.extend(fma(&[-self.m], &a, &b));
                        ys.extend(op2(&op2(&xs, &a, mul, &id), &betas, add, &id));
                        ys.extend(fma(&xs, &a, &betas));
                    }
                }
                Recipe::Centred => {
                    let d = op2(&xs, &m, sub, &id);
                    for q in super::flush::reads(&q) {
                        for r in faithful_sqrt(q) {
                            let t = op2(&d, &op2(&[T::one()], &[r], |a, b| a / b, &id), mul, &id);
                            ys.extend(op2(&op2(&t, &g, mul, &id), &b, add, &id));
                            ys.extend(fma(&t, &g, &b));
                        }
                    }
                }
                Recipe::Divided => {
                    for s in Self::flushed_div_scales(self.g, self.v, self.e) {
                        let s = [s];
                        let bias = op2(&b, &op2(&m, &s, mul, &id), sub, &id);
                        ys.extend(op2(&op2(&xs, &s, mul, &id), &bias, add, &id));
                        ys.extend(fma(&xs, &s, &bias));
                    }
                }
            }
        }
        ys
    }

    /// The least and greatest output of the recipes of `recipes` at the input `x` (`None`
    /// when one gives NaN), each with and without FMA contraction: [`Recipe::Affine`]'s
    /// four, [`Recipe::Centred`]'s four, [`Recipe::Divided`]'s two (its MLAS kernel adds
    /// the bias after the product, or fuses both).
    ///
    /// Under the flush model (module `flush`): where [`Lane::least`] vouches for its result
    /// at `x` on both sides (no flush can change an extreme), that is the answer; otherwise
    /// every choice is enumerated.
    pub(crate) fn outputs(&self, x: T, recipes: &[Recipe]) -> Option<(T, T)> {
        if let (Some(lane), Some(table)) = (self.lane(recipes), Table::of(recipes)) {
            let ((a, lo_ok), (b, hi_ok)) = match table {
                Table::Affine => (
                    lane.least::<false, false>(x),
                    lane.mirrored().least::<false, false>(x),
                ),
                Table::Centred => (
                    lane.least::<true, false>(x),
                    lane.mirrored().least::<true, false>(x),
                ),
                Table::Divided => (
                    lane.least::<false, true>(x),
                    lane.mirrored().least::<false, true>(x),
                ),
            };
            if lo_ok && hi_ok {
                return Some((a, -b));
            }
        }
        Self::extremes(&self.flushed_outputs(x, recipes))
    }

    /// Whether every factor the recipes multiply by is nonzero: `α`, and `s'`
    /// ([`Recipe::Divided`]) or `invstd` and `γ` ([`Recipe::Centred`]).
    pub(crate) fn nonzero_slopes(&self, recipes: &[Recipe]) -> bool {
        let z = T::zero();
        self.alpha != z
            && recipes.iter().all(|r| match r {
                Recipe::Affine => true,
                Recipe::Centred => self.g != z && self.invs.iter().all(|&v| v != z),
                Recipe::Divided => self.div.0 != z,
            })
    }

    /// The channel's constants as the replay's lanes read them, or `None` where a lane
    /// cannot vouch for any output: constants the flush model can change (`tiny`), an
    /// infinite `α` or fallback `invstd` under it, or a constant of the recipes that is
    /// not finite.
    pub(crate) fn lane(&self, recipes: &[Recipe]) -> Option<Lane<T>> {
        let divided = recipes.contains(&Recipe::Divided);
        let centred = recipes.contains(&Recipe::Centred);
        let finite = [self.alpha, self.betas[0], self.betas[1]]
            .into_iter()
            .chain(if centred {
                [self.m, self.g, self.b, self.invs[0], self.invs[1]]
            } else {
                [T::zero(); 5]
            })
            .chain(if divided {
                [self.div.0, self.div.1]
            } else {
                [T::zero(); 2]
            })
            .all(|v| v.is_finite());
        if self.tiny || self.alpha_inf || self.inv_inf || !finite {
            return None;
        }
        let sorted = |[a, b]: [T; 2]| if b < a { [b, a] } else { [a, b] };
        Some(Lane {
            alpha: self.alpha,
            betas: sorted(self.betas),
            m: self.m,
            invs: sorted(self.invs),
            g: self.g,
            b: self.b,
            div: self.div,
        })
    }

    /// Whether the runtime may compute NaN for some input of `[l, h]` that the endpoints
    /// do not show: a float of the box read as 0 (0 itself, or a subnormal under DAZ)
    /// times an infinite `α`, or (with [`Recipe::Centred`]) an infinite `invstd` times an
    /// `x − μ` that may be read as 0 somewhere in the box (its least choice is monotone in
    /// `x`, so the endpoints decide).
    pub(crate) fn nan_inside(&self, l: T, h: T, recipes: &[Recipe]) -> bool {
        let mn = T::min_positive_value();
        if self.alpha_inf && l < mn && h > -mn {
            return true;
        }
        if recipes.contains(&Recipe::Centred) && self.inv_inf {
            use super::flush::{id, op2};
            let sub = |x: T| op2(&[x], &[self.m], |a, b| a - b, &id);
            let lo = sub(l).into_iter().fold(T::infinity(), T::min);
            let hi = sub(h).into_iter().fold(T::neg_infinity(), T::max);
            if lo <= T::zero() && T::zero() <= hi {
                return true;
            }
        }
        false
    }

    /// The slopes the recipes apply to `x`, as `f64` intervals: the float `α`, for
    /// [`Recipe::Divided`] its weight `s'`, for [`Recipe::Centred`] the product `invstd·γ`
    /// of its float constants (rounded outward).
    pub(crate) fn slopes(&self, recipes: &[Recipe]) -> Vec<(f64, f64)> {
        let a = self.alpha.to_f64_raw();
        let mut v = vec![(a, a)];
        for recipe in recipes {
            match recipe {
                Recipe::Affine => {}
                Recipe::Divided => {
                    let s = self.div.0.to_f64_raw();
                    v.push((s, s));
                }
                Recipe::Centred => {
                    let g = self.g.to_f64_raw();
                    for inv in self.invs {
                        let inv = inv.to_f64_raw();
                        v.push(crate::num::interval::mul_bounds(inv, inv, g, g));
                    }
                }
            }
        }
        v
    }

    /// An interval containing `y − (s·x + o)` for every float `x` of `[l, h]` (finite),
    /// every output `y` the recipes of `recipes` compute at `x` (with and without FMA,
    /// flush-to-zero on or off) and the exact real `s ∈ s_iv`, `o ∈ o_iv`; `None` when no
    /// finite bound is derived (an infinite endpoint, constants the flush model can
    /// change, an intermediate that may overflow).
    ///
    /// Each recipe is a short chain of operations on `x` and the runtime's float constants
    /// (known exactly here). Write every rounded result as the exact result plus an error
    /// `e`: to nearest `|e| ≤ u·|v| + 2m` (`u = 2^−p`, `m` the least normal: subnormal
    /// results and a flush of a result of magnitude `≤ m` included), and an operand read as
    /// 0 under DAZ adds at most `m·|k|` for a product by `k`, `m` for a sum. Unrolled,
    /// `y = k·x + c + E` with `k`, `c` the exact products of the constants (`α` and `β'`;
    /// `invstd·γ` and `β − μ·invstd·γ`; `s'` and `b'`) and `|E|` bounded from the largest
    /// magnitudes over the box, every step rounded up. So
    /// `y − (s·x + o) ∈ (k − s)·[l, h] + (c − o) ± E`, every product and sum rounded
    /// outward.
    pub(crate) fn deviation(
        &self,
        recipes: &[Recipe],
        s_iv: (f64, f64),
        o_iv: (f64, f64),
        l: T,
        h: T,
    ) -> Option<(f64, f64)> {
        use crate::num::interval::mul_bounds;
        use crate::num::round::{add_down, add_up, mul_up};
        let (l, h) = (l.to_f64_raw(), h.to_f64_raw());
        if self.tiny || !l.is_finite() || !h.is_finite() {
            return None;
        }
        let f = |v: T| v.to_f64_raw();
        let u = f(T::epsilon()) / 2.0;
        let mn = f(T::min_positive_value());
        let max = f(T::max_value());
        // An upper bound on |RN(v') − v| for |v| ≤ vmax and an operand read as 0 under DAZ
        // changing v by at most m (v' ∈ [v − m, v + m]): u·(vmax + m) + 2m ≤ u·vmax + 3m.
        let rn = |vmax: f64| add_up(mul_up(u, vmax), 3.0 * mn);
        let mag = |(a, b): (f64, f64)| a.abs().max(b.abs());
        // Below the type's largest finite value (false for NaN and ∞).
        let fits = |v: f64| v < max;
        let big_x = mag((l, h));
        // x itself may be a subnormal read as 0.
        let x_small = l < mn && h > -mn;
        // (k − s)·[l, h] + (c − o) ± e, outward.
        let linear = |k: (f64, f64), c: (f64, f64), e: f64| -> Option<(f64, f64)> {
            let ks = (add_down(k.0, -s_iv.1), add_up(k.1, -s_iv.0));
            let (pl, ph) = mul_bounds(ks.0, ks.1, l, h);
            let lo = add_down(add_down(pl, add_down(c.0, -o_iv.1)), -e);
            let hi = add_up(add_up(ph, add_up(c.1, -o_iv.0)), e);
            (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
        };
        // `RN(RN(x·a) + b)` and `RN(x·a + b)` for float constants `a`, `b`.
        let affine = |a: f64, b: f64| -> Option<[(f64, f64); 2]> {
            let (pl, ph) = mul_bounds(a, a, l, h);
            let ymax = mag((add_down(pl, b), add_up(ph, b)));
            let daz = if x_small { mul_up(mn, a.abs()) } else { 0.0 };
            let e1 = add_up(rn(mul_up(big_x, a.abs())), daz);
            // The sum reads RN(x·a), which may be a subnormal read as 0.
            let e2 = add_up(rn(add_up(ymax, e1)), mn);
            let fused = add_up(rn(add_up(ymax, daz)), daz);
            // No intermediate or output may overflow (an infinite output has no bound).
            if !fits(add_up(mul_up(big_x, a.abs()), e1)) || !fits(add_up(add_up(ymax, e1), e2)) {
                return None;
            }
            let (k, c) = ((a, a), (b, b));
            Some([linear(k, c, add_up(e1, e2))?, linear(k, c, fused)?])
        };
        // `RN(RN(RN(RN(x − μ)·inv)·γ) + β)` and its FMA form `RN(t·γ + β)`.
        let centred = |inv: f64| -> Option<[(f64, f64); 2]> {
            let (g, b, m) = (f(self.g), f(self.b), f(self.m));
            let (dl, dh) = (add_down(l, -m), add_up(h, -m));
            let e1 = add_up(rn(mag((dl, dh))), if x_small { mn } else { 0.0 });
            let t_max = mul_up(add_up(mag((dl, dh)), e1), inv);
            let e2 = add_up(rn(t_max), mul_up(mn, inv));
            let tg_max = mul_up(add_up(t_max, e2), g.abs());
            // t read as 0 under DAZ: at most m·|γ|.
            let e3 = add_up(rn(tg_max), mul_up(mn, g.abs()));
            // k = inv·γ (exact real product), z = (x − μ)·k + β.
            let k = (mul_bounds(inv, inv, g, g).0, mul_bounds(inv, inv, g, g).1);
            let (zl, zh) = mul_bounds(k.0, k.1, dl, dh);
            let z_max = mag((add_down(zl, b), add_up(zh, b)));
            // What the earlier errors carry into the last operand: e1·inv·|γ| + e2·|γ|.
            let carried = mul_up(add_up(mul_up(e1, inv), e2), g.abs());
            let e4 = add_up(rn(add_up(add_up(z_max, carried), e3)), mn);
            let daz_t = mul_up(mn, g.abs());
            let fused = add_up(rn(add_up(add_up(z_max, carried), daz_t)), daz_t);
            // No intermediate or output may overflow (an infinite output has no bound).
            let sizes = [
                add_up(mag((dl, dh)), e1),
                add_up(t_max, e2),
                add_up(tg_max, e3),
                add_up(add_up(add_up(z_max, carried), e3), e4),
                add_up(add_up(z_max, carried), fused),
            ];
            if !fits(inv) || sizes.iter().any(|&v| !fits(v)) {
                return None;
            }
            let (mkl, mkh) = mul_bounds(m, m, k.0, k.1);
            let c = (add_down(b, -mkh), add_up(b, -mkl));
            Some([
                linear(k, c, add_up(add_up(carried, e3), e4))?,
                linear(k, c, add_up(carried, fused))?,
            ])
        };
        let mut out = (f64::INFINITY, f64::NEG_INFINITY);
        let mut take = |d: [(f64, f64); 2]| {
            for (a, b) in d {
                out = (out.0.min(a), out.1.max(b));
            }
        };
        let alpha = f(self.alpha);
        if !alpha.is_finite() {
            return None;
        }
        for recipe in recipes {
            match recipe {
                Recipe::Affine => {
                    for &b in &self.betas {
                        take(affine(alpha, f(b))?);
                    }
                }
                Recipe::Centred => {
                    for &inv in &self.invs {
                        take(centred(f(inv))?);
                    }
                }
                Recipe::Divided => {
                    let (a, b) = (f(self.div.0), f(self.div.1));
                    if !a.is_finite() {
                        return None;
                    }
                    take(affine(a, b)?);
                }
            }
        }
        (out.0 <= out.1).then_some(out)
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
pub(crate) fn faithful_sqrt<T: Float>(q: T) -> [T; 2] {
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
