//! Sums over channels: extended-real dot products, back-substituted biases and
//! float-coefficient gaps, decided with the rational enclosures of `super`.
#![allow(missing_docs, clippy::needless_range_loop)]

use super::*;
use num_bigint::BigInt;
use num_traits::Signed;
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ext {
    NegInf,
    Fin(Q),
    PosInf,
}

pub fn ext(x: f64) -> Ext {
    if x == f64::NEG_INFINITY {
        Ext::NegInf
    } else if x == f64::INFINITY {
        Ext::PosInf
    } else {
        Ext::Fin(rat(x))
    }
}

/// Product of extended reals with 0·∞ = 0 (intervals of reals).
pub fn emul(a: &Ext, b: &Ext) -> Ext {
    let sign = |e: &Ext| match e {
        Ext::NegInf => Ordering::Less,
        Ext::PosInf => Ordering::Greater,
        Ext::Fin(r) => r.cmp(&Q::zero()),
    };
    match (a, b) {
        (Ext::Fin(x), Ext::Fin(y)) => Ext::Fin(x * y),
        _ => match (sign(a), sign(b)) {
            (Ordering::Equal, _) | (_, Ordering::Equal) => Ext::Fin(Q::zero()),
            (sa, sb) if sa == sb => Ext::PosInf,
            _ => Ext::NegInf,
        },
    }
}

pub fn eadd(a: &Ext, b: &Ext) -> Ext {
    match (a, b) {
        (Ext::Fin(x), Ext::Fin(y)) => Ext::Fin(x + y),
        (Ext::NegInf, Ext::PosInf) | (Ext::PosInf, Ext::NegInf) => panic!("∞ − ∞ in an oracle sum"),
        (Ext::NegInf, _) | (_, Ext::NegInf) => Ext::NegInf,
        _ => Ext::PosInf,
    }
}

/// Exact [min, max] of Σ_j A_j·X_j + c over real A_j ∈ [al, ah], X_j ∈ [xl, xh], c ∈ [cl, ch].
pub fn exact_dot(a: &[(f64, f64)], x: &[(f64, f64)], c: (f64, f64)) -> (Ext, Ext) {
    let (mut lo, mut hi) = (ext(c.0), ext(c.1));
    for (&(al, ah), &(xl, xh)) in a.iter().zip(x) {
        let corners = [(al, xl), (al, xh), (ah, xl), (ah, xh)].map(|(p, q)| emul(&ext(p), &ext(q)));
        lo = eadd(&lo, corners.iter().min().unwrap());
        hi = eadd(&hi, corners.iter().max().unwrap());
    }
    (lo, hi)
}

/// Exact check of d' bounds: d'_lo ≤ min_Λ Σ_j Λ_ij·o_j + d_lo (and the max for hi).
pub fn check_bias(memo: &Memo, lam: &[(f64, f64)], d: (f64, f64), got: (f64, f64), what: &str) {
    let identity: Vec<usize> = (0..lam.len()).collect();
    check_bias_grouped(memo, lam, &identity, d, got, what);
}

/// [`check_bias`] where column `j` belongs to channel `channel_of[j]` of `memo` (CNN layout:
/// many columns per channel). Terms of one channel are summed exactly, and terms of
/// channels whose `σ²+ε` differ by a rational square share one square root
/// ([`bias_sign`]), so an exactly cancelling sum collapses to a point and the sign of an
/// exact zero gap stays decidable.
pub fn check_bias_grouped(
    memo: &Memo,
    lam: &[(f64, f64)],
    channel_of: &[usize],
    d: (f64, f64),
    got: (f64, f64),
    what: &str,
) {
    assert!(
        !got.0.is_nan() && !got.1.is_nan() && got.0 <= got.1,
        "{what}: invalid"
    );
    for lower in [true, false] {
        let claimed = if lower { got.0 } else { got.1 };
        if claimed.is_infinite() {
            assert!(
                if lower { claimed < 0.0 } else { claimed > 0.0 },
                "{what}: wrong infinity"
            );
            continue;
        }
        // Choose the extreme λ per channel from the exact sign of o_j.
        let mut picks = Vec::new();
        let mut unbounded = false;
        for (&(l, h), &c) in lam.iter().zip(channel_of) {
            let so = memo.offset_sign(c);
            let pick = match (so, lower) {
                (Ordering::Equal, _) => 0.0,
                (Ordering::Greater, true) | (Ordering::Less, false) => l,
                _ => h,
            };
            if pick.is_infinite() {
                unbounded = true;
            }
            picks.push(pick);
        }
        assert!(
            !unbounded,
            "{what}: exact bias is unbounded but the bound is {claimed}"
        );
        let dd = if lower { d.0 } else { d.1 };
        // Σ_j p_j·o_{c(j)} = Σ_c (Σ_{j ∈ c} p_j)·o_c, the inner sums exact.
        let mut per_channel: Vec<(usize, Q)> = Vec::new();
        for (&p, &c) in picks.iter().zip(channel_of) {
            match per_channel.iter_mut().find(|(cc, _)| *cc == c) {
                Some((_, acc)) => *acc = &*acc + &rat(p),
                None => per_channel.push((c, rat(p))),
            }
        }
        // Terms whose square roots agree up to a rational factor (the same channel in
        // several memo slots, or channels with equal σ²+ε) are merged before refinement,
        // so an exactly zero gap collapses to a point and is decided.
        let sgn = bias_sign(memo.chs, &per_channel, dd, claimed);
        let ok = if lower {
            sgn != Ordering::Less
        } else {
            sgn != Ordering::Greater
        };
        assert!(
            ok,
            "{what}: {} bound {claimed:e} is unsound",
            if lower { "lower" } else { "upper" }
        );
    }
}

/// The sign of the smallest gap between the exact function `Σ_j Λ_j·BN_j(x_j) + d` and a
/// float-coefficient bound `Σ_j coef_j·x_j + cst`, over every `Λ_j ∈ lam[j]` and
/// `x_j ∈ x[j]` (finite intervals): `lower` asks `exact − bound ≥ 0`, otherwise
/// `bound − exact ≥ 0`. The gap is affine in each `(Λ_j, x_j)` separately, so its minimum
/// is attained at one of the four corners of each pair; each corner is `r + u/√q_j` with
/// rational `r`, `u`, the minimising corner is chosen by an exact comparison, and the sum
/// is decided by [`Surds::sign_plus`] (exact even when it is exactly zero). `Less` means the bound
/// is crossed.
pub fn float_form_gap(
    memo: &Memo,
    lam: &[(f64, f64)],
    x: &[(f64, f64)],
    coef: &[f64],
    d: f64,
    cst: f64,
    lower: bool,
) -> Ordering {
    let flip = |v: Q| if lower { v } else { -v };
    let mut r = flip(rat(d) - rat(cst));
    let mut terms = Surds::default();
    for j in 0..lam.len() {
        let ch = memo.chs[j];
        let q = ch.q();
        let c = rat(coef[j]);
        // λ·(β + γ(x−μ)/√q) − coef·x = (λβ − coef·x) + λγ(x−μ)/√q, negated for an upper bound.
        let mut best: Option<(Q, Q)> = None;
        for l in [lam[j].0, lam[j].1] {
            for xv in [x[j].0, x[j].1] {
                let (l, xv) = (rat(l), rat(xv));
                let rc = flip(&l * &rat(ch.b) - &c * &xv);
                let uc = flip(&l * &rat(ch.g) * (&xv - &rat(ch.m)));
                best = Some(match best {
                    None => (rc, uc),
                    // (rc − rb) + (uc − ub)/√q < 0 ⟺ rc − rb < (ub − uc)/√q
                    Some((rb, ub)) => {
                        if cmp_ratio_sqrt(&(&rc - &rb), &(&ub - &uc), &q) == Ordering::Less {
                            (rc, uc)
                        } else {
                            (rb, ub)
                        }
                    }
                });
            }
        }
        let (rb, ub) = best.expect("four corners");
        r = r + rb;
        terms.add(ub, q);
    }
    terms.sign_plus(&r)
}

/// `√x` when the positive rational `x = n/d` is the square of a rational: `x = n·d/d²`,
/// so exactly when the integer `n·d` is a perfect square.
fn rational_sqrt(x: &Q) -> Option<Q> {
    let nd = (x.numer() * x.denom()).to_biguint()?;
    let r = nd.sqrt();
    (&r * &r == nd).then(|| Q {
        n: BigInt::from(r),
        d: x.denom().abs(),
    })
}

/// A sum `Σ u_i/√q_i` (`q_i > 0`) kept in groups whose `q` differ by rational square
/// factors: `u/√q = u·√(q₀/q)/√q₀`, so terms of one group are added exactly and a sum
/// that is exactly zero collapses to a point.
#[derive(Default)]
pub struct Surds {
    groups: Vec<(Q, Q)>,
}

impl Surds {
    /// Adds the term `u/√q`.
    pub fn add(&mut self, u: Q, q: Q) {
        if u.is_zero() {
            return;
        }
        let merged = self
            .groups
            .iter_mut()
            .find_map(|(gu, gq)| rational_sqrt(&(gq.clone() / q.clone())).map(|f| (gu, f)));
        match merged {
            Some((gu, f)) => *gu = gu.clone() + u * f,
            None => self.groups.push((u, q)),
        }
    }
    /// The exact sign of `r + Σ u_i/√q_i`.
    pub fn sign_plus(&self, r: &Q) -> Ordering {
        sign_of(|k| {
            self.groups
                .iter()
                .fold(RI::point(r.clone()), |acc, (u, q)| {
                    acc.add(&grid(enclose_ratio_sqrt(u, q, k), k))
                })
        })
    }
}

/// The exact sign of `dd − y + Σ coef_c·o_c` over `(channel, coef)` pairs, `o_c` the exact
/// offset `β − γμ/√q` of `chs[c]`, decided with [`Surds`] (so a sum that is exactly zero
/// is decided too).
pub fn bias_sign(chs: &[Ch], per_channel: &[(usize, Q)], dd: f64, y: f64) -> Ordering {
    let mut r = rat(dd) - rat(y);
    let mut terms = Surds::default();
    for (c, coef) in per_channel {
        let ch = chs[*c];
        r = r + coef.clone() * rat(ch.b);
        terms.add(-(coef.clone() * rat(ch.g) * rat(ch.m)), ch.q());
    }
    terms.sign_plus(&r)
}

/// Whether a claimed back-substituted bias bound is sound: `claimed ≤ min` (`lower`) or
/// `claimed ≥ max` of `d + Σ_j λ_j·o_{c(j)}` over `λ_j ∈ lam[j]`, `d ∈ [d.0, d.1]`,
/// decided exactly with [`bias_sign`]. Column `j` is channel `channel_of[j]`.
pub fn bias_bound_sound(
    chs: &[Ch],
    lam: &[(f64, f64)],
    channel_of: &[usize],
    d: (f64, f64),
    claimed: f64,
    lower: bool,
) -> bool {
    let memo = Memo::new(chs);
    let toward = if lower {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    if claimed == toward {
        return true;
    }
    let dd = if lower { d.0 } else { d.1 };
    // Infinite contributions toward the side's infinity (the extreme is unbounded) or
    // away from it (the extreme is infinite on the safe side).
    let (mut unbounded, mut away) = (dd == toward, dd == -toward);
    let mut per_channel: Vec<(usize, Q)> = Vec::new();
    for (&(l, h), &c) in lam.iter().zip(channel_of) {
        let so = memo.offset_sign(c);
        if so == Ordering::Equal {
            continue;
        }
        let pick = if (so == Ordering::Greater) == lower {
            l
        } else {
            h
        };
        if pick.is_infinite() {
            let plus = (pick > 0.0) == (so == Ordering::Greater);
            if plus == (toward > 0.0) {
                unbounded = true;
            } else {
                away = true;
            }
            continue;
        }
        match per_channel.iter_mut().find(|(cc, _)| *cc == c) {
            Some((_, acc)) => *acc = acc.clone() + rat(pick),
            None => per_channel.push((c, rat(pick))),
        }
    }
    if unbounded {
        return false;
    }
    if away {
        return true;
    }
    if claimed.is_infinite() {
        return false;
    }
    let s = bias_sign(chs, &per_channel, dd, claimed);
    if lower {
        s != Ordering::Less
    } else {
        s != Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two equal channels with an irrational `√(σ²+ε)` and weights `+w`, `−w`: the exact
    /// sums are exactly 0, which refinement alone could never decide.
    #[test]
    fn exactly_zero_sums_are_decided() {
        let ch = Ch {
            g: 3.0,
            b: 0.5,
            m: -2.0,
            v: 2.0,
            e: 0.0,
        };
        let chs = [ch, ch];
        let memo = Memo::new(&chs);
        let w = 1.0e300;
        let (lam, x) = ([(w, w), (-w, -w)], [(1.0, 1.0), (1.0, 1.0)]);
        for lower in [true, false] {
            let gap = float_form_gap(&memo, &lam, &x, &[0.0, 0.0], 0.0, 0.0, lower);
            assert_eq!(gap, Ordering::Equal);
            // One ulp of the constant toward the inside crosses the bound.
            let inside = if lower { 1e-300 } else { -1e-300 };
            let gap = float_form_gap(&memo, &lam, &x, &[0.0, 0.0], 0.0, inside, lower);
            assert_eq!(gap, Ordering::Less);
        }
        // Channels with σ²+ε = 2 and 8 share √2: 2·o(8) − o(2) = 2β − β = β exactly.
        let other = Ch { v: 8.0, ..ch };
        let chs = [ch, other];
        let terms = [(0, -rat(1.0)), (1, rat(2.0))];
        assert_eq!(bias_sign(&chs, &terms, 0.0, 0.5), Ordering::Equal);
        assert_eq!(bias_sign(&chs, &terms, 0.0, 0.25), Ordering::Greater);
        // Bounds of that sum, through the public checker.
        let lam = [(-1.0, -1.0), (2.0, 2.0)];
        let identity = [0, 1];
        // The exact sum is 0.5: sound as either bound, one float inward is not.
        for (claimed, lower, sound) in [
            (0.5, true, true),
            (0.5f64.next_up(), true, false),
            (0.5, false, true),
            (0.5f64.next_down(), false, false),
        ] {
            let got = bias_bound_sound(&chs, &lam, &identity, (0.0, 0.0), claimed, lower);
            assert_eq!(got, sound, "claimed {claimed:e}, lower {lower}");
        }
    }
}
