//! `Runtime::Any`: an interval evaluation of every form of the formula, each operation
//! widened by its error model. The forms, the model and the proof are on the soundness
//! page (`bnbound::docs::soundness`, "`--runtime any`").

use crate::num::float::Float;
use crate::num::round::{add_down, add_up, div_down, div_up, mul_up, sqrt_down, sqrt_up};

/// An interval of possible computed values, and whether NaN is possible.
#[derive(Clone, Copy, Debug)]
pub(crate) struct X {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) nan: bool,
}

/// The error model of the compute type and of `K`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Model {
    pub(super) u: f64,
    eta: f64,
    k: f64,
    pub(super) max: f64,
    min_sub: f64,
    /// The least normal of the compute type (`f32`'s for 16-bit data): under flush-to-zero
    /// (FTZ/DAZ, see `flush`) a value of magnitude up to it may be read or written as 0.
    pub(super) min_normal: f64,
    /// For 16-bit data: every interval is also rounded outward to the storage type, so
    /// an intermediate the runtime stores in that type stays inside.
    pub(super) grid: Option<crate::num::round::storage::Storage>,
}

impl Model {
    /// The model of data stored as f16 or bf16 and computed in any mixture of `f32` and
    /// the storage type: each operation widened by the storage type's `u` and `η` (which
    /// bound `f32`'s too), and each interval rounded outward to the storage grid.
    pub(crate) fn storage(storage: crate::num::round::storage::Storage, ulps: u32) -> Model {
        let (p, emin, max) = match storage {
            crate::num::round::storage::Storage::F16 => (11, -14, 65504.0),
            // bf16's largest value, (2 − 2⁻⁷)·2¹²⁷.
            crate::num::round::storage::Storage::Bf16 => {
                (8, -126, (2.0 - 2f64.powi(-7)) * 2f64.powi(127))
            }
        };
        let two = |e: i32| 2f64.powi(e);
        Model {
            u: two(-p),
            eta: two(emin - p),
            k: ulps as f64,
            max,
            min_sub: two(emin - p + 1),
            // Computed in f32 (bf16's subnormals are f32's; f16's are normal f32 values,
            // and F16C conversions ignore FTZ).
            min_normal: two(-126),
            grid: Some(storage),
        }
    }

    /// The largest `K` this model accepts: `2^(p−4)` keeps `ρ = u(1 + 4K) ≤ 1/4 + u`, so a
    /// positive result stays positive (`Runtime::MAX_ULPS` for `f32`).
    pub(crate) fn max_ulps(&self) -> u32 {
        let p = -self.u.log2() as i32;
        (1u64 << (p - 4).clamp(0, 31)).min(super::Runtime::MAX_ULPS as u64) as u32
    }

    pub(crate) fn of<T: Float>(ulps: u32) -> Model {
        let (p, emin, max) = match T::DTYPE {
            crate::num::float::Dtype::F32 => (24, -126, f32::MAX as f64),
            crate::num::float::Dtype::F64 => (53, -1022, f64::MAX),
        };
        let two = |e: i32| 2f64.powi(e); // exact powers of two, all normal in f64
        Model {
            u: two(-p),
            // Half the subnormal spacing; for f64 2^-1075 is not an f64: use 2^-1074.
            eta: if T::DTYPE == crate::num::float::Dtype::F64 {
                f64::from_bits(1)
            } else {
                two(emin - p)
            },
            k: ulps as f64,
            max,
            min_sub: if T::DTYPE == crate::num::float::Dtype::F64 {
                f64::from_bits(1)
            } else {
                two(emin - p + 1)
            },
            min_normal: two(emin),
            grid: None,
        }
    }
}

pub(super) fn point(v: f64) -> X {
    X {
        lo: v,
        hi: v,
        nan: v.is_nan(),
    }
}

pub(super) fn hull(a: X, b: X) -> X {
    X {
        lo: a.lo.min(b.lo),
        hi: a.hi.max(b.hi),
        nan: a.nan || b.nan,
    }
}

/// Widens by `ρ|t| + η` on each side; beyond `±max` the side becomes infinite.
fn widen(m: &Model, a: X, rho: f64, eta: f64) -> X {
    let lo = add_down(add_down(a.lo, -mul_up(rho, a.lo.abs())), -eta);
    let hi = add_up(add_up(a.hi, mul_up(rho, a.hi.abs())), eta);
    let (lo, hi) = match m.grid {
        // Outward to the storage grid (f32 first: both roundings downward, or upward).
        Some(s) => (
            s.down(crate::num::round::f32_down(lo)) as f64,
            s.up(crate::num::round::f32_up(hi)) as f64,
        ),
        None => (lo, hi),
    };
    X {
        lo: if lo < -m.max { f64::NEG_INFINITY } else { lo },
        hi: if hi > m.max { f64::INFINITY } else { hi },
        nan: a.nan,
    }
}

/// Flush-to-zero and denormals-are-zero (x86 MXCSR FTZ + DAZ: `torch.set_flush_denormal`,
/// `-ffast-math`): a value of magnitude at most the least normal may also be 0 (an operand
/// read as 0, or a tiny result flushed). Applied to every input and every operation's
/// result, so every operand of every operation has been through it.
fn flush(m: &Model, a: X) -> X {
    if a.lo <= m.min_normal && -m.min_normal <= a.hi {
        hull(a, point(0.0))
    } else {
        a
    }
}

/// Which error an operation of a form may make: correctly rounded (`+ − ×`), or within
/// `K` ulps of it (`√`, `1/√`, `÷`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Correctly rounded.
    Rn,
    /// Within `K` ulps of correctly rounded.
    Kulp,
}

/// The model's error of one operation of kind `op`: `(ρ, η)` with
/// `|computed − v| ≤ ρ·|v| + η` for the exact result `v` (before flush-to-zero, which
/// moves a result of magnitude at most the least normal to 0). The one statement of the
/// per-operation rule: `rn`, `kop` and the envelope (`envelope.rs`) all take it from here.
pub(crate) fn error(m: &Model, op: Op) -> (f64, f64) {
    match op {
        Op::Rn => (m.u, m.eta),
        Op::Kulp => (
            add_up(m.u, mul_up(4.0 * m.k, m.u)),
            mul_up(2.0 * m.k + 1.0, m.eta),
        ),
    }
}

/// A correctly rounded operation's possible results (with flush-to-zero or without).
fn rn(m: &Model, a: X) -> X {
    let (rho, eta) = error(m, Op::Rn);
    flush(m, widen(m, a, rho, eta))
}

/// A `K`-ulp operation's possible results (with flush-to-zero or without).
fn kop(m: &Model, a: X) -> X {
    let (rho, eta) = error(m, Op::Kulp);
    flush(m, widen(m, a, rho, eta))
}

pub(super) fn add(a: X, b: X) -> X {
    let inf_clash = (a.hi == f64::INFINITY && b.lo == f64::NEG_INFINITY)
        || (a.lo == f64::NEG_INFINITY && b.hi == f64::INFINITY);
    X {
        lo: add_down(a.lo, b.lo),
        hi: add_up(a.hi, b.hi),
        nan: a.nan || b.nan || inf_clash,
    }
}

pub(super) fn neg(a: X) -> X {
    X {
        lo: -a.hi,
        hi: -a.lo,
        nan: a.nan,
    }
}

fn has_zero(a: X) -> bool {
    a.lo <= 0.0 && 0.0 <= a.hi
}

fn has_inf(a: X) -> bool {
    a.lo.is_infinite() || a.hi.is_infinite()
}

pub(super) fn mul(a: X, b: X) -> X {
    let (lo, hi) = crate::num::interval::mul_bounds(a.lo, a.hi, b.lo, b.hi);
    X {
        lo,
        hi,
        nan: a.nan || b.nan || (has_zero(a) && has_inf(b)) || (has_inf(a) && has_zero(b)),
    }
}

/// `a / b` for `b > 0` (`b.lo > 0`).
pub(super) fn div(a: X, b: X) -> X {
    debug_assert!(b.lo > 0.0);
    let c = [
        (div_down(a.lo, b.lo), div_up(a.lo, b.lo)),
        (div_down(a.lo, b.hi), div_up(a.lo, b.hi)),
        (div_down(a.hi, b.lo), div_up(a.hi, b.lo)),
        (div_down(a.hi, b.hi), div_up(a.hi, b.hi)),
    ];
    let lo = c.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let hi = c.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    X {
        lo,
        hi,
        nan: a.nan || b.nan || (has_inf(a) && b.hi == f64::INFINITY),
    }
}

/// For 16-bit data, ε (an `f32` value) or ε rounded to the storage type by a kernel that
/// converts it first: the hull of the two.
fn storage_eps(m: &Model, e: X) -> X {
    match m.grid {
        Some(s) => X {
            lo: (s.down(e.lo as f32) as f64).min(e.lo),
            hi: (s.up(e.hi as f32) as f64).max(e.hi),
            nan: e.nan,
        },
        None => e,
    }
}

/// The values every form computes once, whatever `x`: the parameters as read (each
/// possibly flushed), `r = √q` and `inv` (`1/r` or `rsqrt(q)`), as intervals.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Consts {
    g: X,
    b: X,
    mu: X,
    r: X,
    inv: X,
}

impl Consts {
    /// The constants of the channel `p` (`(γ, β, μ, σ², ε)`, values of the compute type);
    /// `None` when `σ² + ε` may be 0 (then `1/√q = ∞`: no bound).
    pub(crate) fn new(m: &Model, p: crate::num::params::Params) -> Option<Consts> {
        let [g, b, mu, v, e] = p.array().map(|v| flush(m, point(v)));
        let e = flush(m, storage_eps(m, e));
        let mut q = rn(m, add(v, e));
        if m.grid.is_some() || q.lo <= 0.0 {
            // 16-bit data: a kernel may store q in the storage type (or add an ε rounded
            // to it), where a tiny σ² + ε can become 0; and under flush-to-zero a σ² + ε
            // below the least normal can be 0 in any type: 1/√0 = ∞, not boundable.
            if q.lo <= 0.0 {
                return None;
            }
        } else {
            // q = fl(σ² + ε) of floats whose exact sum is positive (checked by
            // BatchNorm::new) is at least the least subnormal: an addition never
            // underflows to 0.
            q.lo = q.lo.max(m.min_sub);
        }
        // √q and 1/√q, K ulps each; both stay positive (√ of the least subnormal is normal).
        let sq = X {
            lo: sqrt_down(q.lo),
            hi: sqrt_up(q.hi),
            nan: q.nan,
        };
        let r = kop(m, sq);
        // √q ≥ √(least subnormal) is normal, and K ≤ Runtime::MAX_ULPS moves it by at
        // most a quarter of itself (checked by the callers): r stays positive, the
        // divisions are defined. Unreachable otherwise; refuse rather than divide by an
        // interval holding 0.
        if r.lo <= 0.0 {
            return None;
        }
        let one = point(1.0);
        let inv_div = kop(m, div(one, r));
        let inv_rsqrt = kop(
            m,
            X {
                lo: div_down(1.0, sq.hi),
                hi: div_up(1.0, sq.lo),
                nan: q.nan,
            },
        );
        // No clamp at 0: where q overflows, r = ∞ and the exact 1/r is 0, and a K-ulp
        // result may be any float within K ulps of 0, of either sign.
        let inv = hull(inv_div, inv_rsqrt);
        Some(Consts { g, b, mu, r, inv })
    }

    /// Whether every constant is finite and NaN-free (the envelope needs it).
    pub(crate) fn finite(&self) -> bool {
        [self.g, self.b, self.mu, self.r, self.inv]
            .iter()
            .all(|a| !a.nan && a.lo.is_finite() && a.hi.is_finite())
    }
}

/// What a form's operations act on: the interval of a value that depends on `x` (here,
/// `X`), or an affine form in `x` (the envelope's). The constants are intervals.
pub(crate) trait Value: Copy {
    /// `k · self`.
    fn mul_l(self, k: X) -> Self;
    /// `self · k`.
    fn mul_r(self, k: X) -> Self;
    /// `self / r` for `r > 0`.
    fn div_by(self, r: X) -> Self;
    /// `self + k`.
    fn add_c(self, k: X) -> Self;
    /// The possible results of the operation `op` whose exact result is `self`.
    fn round(self, m: &Model, op: Op) -> Self;
    /// A value containing both.
    fn hull(self, other: Self) -> Self;
}

impl Value for X {
    fn mul_l(self, k: X) -> X {
        mul(k, self)
    }
    fn mul_r(self, k: X) -> X {
        mul(self, k)
    }
    fn div_by(self, r: X) -> X {
        div(self, r)
    }
    fn add_c(self, k: X) -> X {
        add(self, k)
    }
    fn round(self, m: &Model, op: Op) -> X {
        match op {
            Op::Rn => rn(m, self),
            Op::Kulp => kop(m, self),
        }
    }
    fn hull(self, other: X) -> X {
        hull(self, other)
    }
}

/// Every form of the formula at `x` (flushed already), hulled: the one list of the forms
/// (soundness page, "The forms covered").
pub(crate) fn forms<V: Value>(m: &Model, k: &Consts, x: V) -> V {
    use Op::{Kulp, Rn};
    let Consts { g, b, mu, r, inv } = *k;
    let d = x.add_c(neg(mu)).round(m, Rn);
    let g_inv = rn(m, mul(g, inv));
    let g_div = kop(m, div(g, r));
    // Factored forms: (product of γ, x − μ, 1/√q in every association) + β.
    let products = [
        d.mul_l(g).round(m, Rn).mul_r(inv).round(m, Rn),
        d.mul_r(inv).round(m, Rn).mul_r(g).round(m, Rn),
        d.mul_r(g_inv).round(m, Rn),
        d.mul_l(g).round(m, Rn).div_by(r).round(m, Kulp),
        d.mul_l(g_div).round(m, Rn),
        d.div_by(r).round(m, Kulp).mul_r(g).round(m, Rn),
    ];
    let mut out: Option<V> = None;
    let mut take = |y: V| out = Some(out.map_or(y, |o| o.hull(y)));
    for prod in products {
        take(prod.add_c(b).round(m, Rn));
    }
    // Expanded forms: x·α − μ·α + β in every order of the sum.
    let alpha = hull(g_inv, g_div);
    let xa = x.mul_r(alpha).round(m, Rn);
    let ma = rn(m, mul(mu, alpha));
    take(xa.add_c(b).round(m, Rn).add_c(neg(ma)).round(m, Rn));
    take(xa.add_c(rn(m, add(b, neg(ma)))).round(m, Rn));
    take(xa.add_c(neg(ma)).round(m, Rn).add_c(b).round(m, Rn));
    out.expect("forms")
}

/// Every value any form can compute for inputs in `[l, h]`, as `(lo, hi)`; `None` when a
/// NaN is possible. `p` is the channel's `(γ, β, μ, σ², ε)`, values of the compute type.
pub(crate) fn image(
    m: &Model,
    p: crate::num::params::Params,
    l: f64,
    h: f64,
) -> Option<(f64, f64)> {
    let k = Consts::new(m, p)?;
    let x = flush(
        m,
        X {
            lo: l,
            hi: h,
            nan: false,
        },
    );
    let y = forms(m, &k, x);
    (!y.nan).then_some((y.lo, y.hi))
}

/// The `K`-ulp slopes a runtime may apply to `x`: every `α` above and `γ·inv`.
pub(crate) fn slopes(m: &Model, p: crate::num::params::Params) -> (f64, f64) {
    let [g, _, _, v, e] = p.array().map(point);
    let e = storage_eps(m, e);
    let mut q = rn(m, add(v, e));
    debug_assert!(m.grid.is_none(), "slopes are taken in the compute type");
    q.lo = q.lo.max(m.min_sub);
    let sq = X {
        lo: sqrt_down(q.lo),
        hi: sqrt_up(q.hi),
        nan: false,
    };
    let r = kop(m, sq);
    debug_assert!(r.lo > 0.0, "K is at most Runtime::MAX_ULPS");
    let inv = hull(
        kop(m, div(point(1.0), r)),
        kop(
            m,
            X {
                lo: div_down(1.0, sq.hi),
                hi: div_up(1.0, sq.lo),
                nan: false,
            },
        ),
    );
    let a = hull(rn(m, mul(g, inv)), kop(m, div(g, r)));
    // The real slope γ·inv over inv's interval is inside a's hull of g·inv.
    let exact = mul(g, inv);
    let a = hull(a, exact);
    (a.lo, a.hi)
}
