//! Exact decisions on sums of square-root terms `R + Σₖ Bₖ/√qₖ` (rational `R`, `Bₖ`;
//! dyadic `qₖ > 0`): the bias of a back-substituted bound `d + Σⱼ λⱼ·o_{c(j)}` is one.
//!
//! **Sign, exactly.** Terms whose `qₖ` is the square of a rational are rational and join
//! `R`. The others are grouped into classes in which `qᵢ·qⱼ` is a rational square; within a
//! class `1/√qⱼ = (√(qᵢqⱼ)/qⱼ)·(1/√qᵢ)` with a rational factor, so the class is one term
//! `Cᵢ/√qᵢ`. Square roots of positive rationals that are pairwise independent in this
//! sense are linearly independent over ℚ together with 1 (Besicovitch, 1940), so the sum
//! is zero exactly when `R = 0` and every `Cᵢ = 0`. Otherwise it is not zero, and rational
//! enclosures of each `1/√qᵢ` (integer square roots with `k` bits, `k` doubling) exclude
//! zero after finitely many refinements: the decision always terminates and is exact.

use super::dyadic::{exact_params, Dyadic};
use super::excess::{decimal17, dyadic_ratio, Excess, Ratio};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use std::cmp::Ordering;

/// `R + Σₖ Bₖ/√qₖ`.
#[derive(Clone, Debug)]
pub(super) struct RootSum {
    r: BigRational,
    terms: Vec<(BigRational, Dyadic)>,
}

/// `m·2ᵉ` with `m` odd and positive (for `q > 0`).
fn odd_part(q: &Dyadic) -> (BigInt, i64) {
    let tz = q.m.trailing_zeros().unwrap_or(0);
    (&q.m >> tz as usize, q.e + tz as i64)
}

/// `√n` when the nonnegative integer `n` is a perfect square.
fn exact_isqrt(n: &BigInt) -> Option<BigInt> {
    let r = n.sqrt();
    (&r * &r == *n).then_some(r)
}

/// `2ᵏ` as a rational, for any sign of `k`.
fn pow2(k: i64) -> BigRational {
    let p = BigInt::one() << k.unsigned_abs() as usize;
    if k >= 0 {
        BigRational::from_integer(p)
    } else {
        BigRational::new(BigInt::one(), p)
    }
}

impl RootSum {
    /// The rational constant `r` and no term.
    pub(super) fn new(r: BigRational) -> RootSum {
        RootSum {
            r,
            terms: Vec::new(),
        }
    }

    /// Adds `b/√q` for dyadic `b` and `q > 0`.
    pub(super) fn add_term(&mut self, b: &Dyadic, q: &Dyadic) {
        debug_assert!(q.signum() == Ordering::Greater);
        if b.signum() != Ordering::Equal {
            self.terms.push((dyadic_ratio(b), q.clone()));
        }
    }

    /// A rational enclosure `[lo, hi]` of the sum with `k` bits of every square root.
    fn enclose(&self, k: usize) -> (BigRational, BigRational) {
        let (mut lo, mut hi) = (self.r.clone(), self.r.clone());
        for (b, q) in &self.terms {
            // q = Q·2^e with e even; √Q ∈ [r, r+1]/2^k with r = ⌊√(Q·4^k)⌋ ≥ 1 (Q ≥ 1).
            let (qm, qe) = if q.e % 2 == 0 {
                (q.m.clone(), q.e)
            } else {
                (&q.m << 1usize, q.e - 1)
            };
            let scaled = &qm << (2 * k);
            let r = scaled.sqrt();
            // 1/√q ∈ [2^(k−e/2)/(r+1), 2^(k−e/2)/r] (a point when r² = Q·4^k).
            let scale = pow2(k as i64 - qe / 2);
            let inv_hi = &scale / BigRational::from_integer(r.clone());
            let inv_lo = if &r * &r == scaled {
                inv_hi.clone()
            } else {
                &scale / BigRational::from_integer(r + 1u32)
            };
            if b.is_positive() {
                lo += b * &inv_lo;
                hi += b * &inv_hi;
            } else {
                lo += b * &inv_hi;
                hi += b * &inv_lo;
            }
        }
        (lo, hi)
    }

    /// The same value with rational-root terms folded into `r` and the other terms grouped
    /// into classes of rationally dependent roots (see the module documentation).
    fn reduced(&self) -> RootSum {
        let mut r = self.r.clone();
        // (coefficient, q, odd part, exponent) of each class representative.
        let mut classes: Vec<(BigRational, Dyadic, BigInt, i64)> = Vec::new();
        for (b, q) in &self.terms {
            let (m, e) = odd_part(q);
            if e % 2 == 0 {
                if let Some(s) = exact_isqrt(&m) {
                    // √q = s·2^(e/2)
                    r += b / (BigRational::from_integer(s) * pow2(e / 2));
                    continue;
                }
            }
            let found = classes.iter_mut().find_map(|(c, _, mi, ei)| {
                if (*ei + e) % 2 != 0 {
                    return None;
                }
                let root = exact_isqrt(&(&*mi * &m))?;
                // 1/√q = (√(qᵢq)/q)·(1/√qᵢ), √(qᵢq) = root·2^((eᵢ+e)/2).
                let factor =
                    BigRational::from_integer(root) * pow2((*ei + e) / 2) / dyadic_ratio(q);
                Some((c, factor))
            });
            match found {
                Some((c, factor)) => *c += b * factor,
                None => classes.push((b.clone(), q.clone(), m, e)),
            }
        }
        RootSum {
            r,
            terms: classes
                .into_iter()
                .filter(|(c, ..)| !c.is_zero())
                .map(|(c, q, ..)| (c, q))
                .collect(),
        }
    }

    /// The exact sign of a sum returned by [`RootSum::reduced`].
    fn signum_reduced(&self) -> Ordering {
        if self.terms.is_empty() {
            return self.r.cmp(&BigRational::zero());
        }
        // Not zero (linear independence): refine until the enclosure excludes zero.
        let zero = BigRational::zero();
        let mut k = 64;
        loop {
            let (lo, hi) = self.enclose(k);
            if lo > zero {
                return Ordering::Greater;
            }
            if hi < zero {
                return Ordering::Less;
            }
            k *= 2;
        }
    }

    /// `|sum|` correctly rounded to 17 significant decimal digits, for a sum returned by
    /// [`RootSum::reduced`].
    fn magnitude_reduced(&self) -> Excess {
        let ratio = |x: &BigRational| Ratio {
            n: x.numer().abs(),
            d: x.denom().clone(),
        };
        if self.terms.is_empty() {
            return Excess::of_ratio(&ratio(&self.r));
        }
        let zero = BigRational::zero();
        let mut k = 128;
        loop {
            let (lo, hi) = self.enclose(k);
            // A sign-definite enclosure: |·| maps it to [|lo|, |hi|] in some order.
            if lo > zero || hi < zero {
                let (a, b) = (decimal17(&ratio(&lo)), decimal17(&ratio(&hi)));
                if a == b {
                    return Excess::from_digits(&a.0, a.1);
                }
            }
            k *= 2;
        }
    }

    /// `|sum|` correctly rounded to 17 significant decimal digits.
    pub(super) fn magnitude(&self) -> Excess {
        self.reduced().magnitude_reduced()
    }

    /// The reduced sum plus the rational `x` (still reduced).
    fn shifted(&self, x: BigRational) -> RootSum {
        RootSum {
            r: &self.r + x,
            terms: self.terms.clone(),
        }
    }
}

/// `d + Σⱼ λⱼ·o_{c(j)} − y`, exactly: the distance of a claimed back-substituted bias `y`
/// from the exact bias for chosen coefficients `λⱼ`, where `o_c = β_c − γ_c μ_c/√q_c` is
/// channel `c`'s exact offset. Terms are accumulated per channel (one square root each).
pub(crate) struct BiasSum {
    /// Per channel: `(Σⱼ λⱼ, exact (γ, β, μ, q))`.
    channels: Vec<Option<(Dyadic, [Dyadic; 4])>>,
    /// `Σ λ·o` reduced, computed on first use.
    reduced: std::cell::OnceCell<RootSum>,
}

impl BiasSum {
    /// No term yet, for a layer of `channels` channels.
    pub(crate) fn new(channels: usize) -> BiasSum {
        BiasSum {
            channels: vec![None; channels],
            reduced: std::cell::OnceCell::new(),
        }
    }

    /// Adds `λ·o_c` for finite `λ` and channel `c` with exact `f64` parameters `p`.
    pub(crate) fn add(&mut self, lambda: f64, c: usize, p: crate::num::params::Params) {
        self.reduced = std::cell::OnceCell::new();
        let l = Dyadic::from_f64(lambda);
        match &mut self.channels[c] {
            Some((sum, _)) => *sum = sum.add(&l),
            slot => *slot = Some((l, exact_params(p))),
        }
    }

    fn at(&self, d: f64, y: f64) -> RootSum {
        let reduced = self.reduced.get_or_init(|| {
            let mut r = Dyadic::from_f64(0.0);
            let mut terms = Vec::new();
            for (l, [g, b, m, q]) in self.channels.iter().flatten() {
                // λ·o = λβ + (−λγμ)/√q
                r = r.add(&l.mul(b));
                terms.push((l.mul(g).mul(m).neg(), q));
            }
            let mut sum = RootSum::new(dyadic_ratio(&r));
            for (b, q) in terms {
                sum.add_term(&b, q);
            }
            sum.reduced()
        });
        reduced.shifted(dyadic_ratio(&Dyadic::from_f64(d).sub(&Dyadic::from_f64(y))))
    }

    /// The exact sign of `d − y + Σ λ·o` (finite `d`, `y`).
    pub(crate) fn signum_at(&self, d: f64, y: f64) -> Ordering {
        self.at(d, y).signum_reduced()
    }

    /// `|d − y + Σ λ·o|`, correctly rounded to 17 significant decimal digits.
    pub(crate) fn magnitude_at(&self, d: f64, y: f64) -> Excess {
        self.at(d, y).magnitude_reduced()
    }
}

/// `|a − b|` for finite `f64` values, correctly rounded to 17 significant decimal digits.
pub(crate) fn float_distance(a: f64, b: f64) -> Excess {
    RootSum::new(dyadic_ratio(&Dyadic::from_f64(a).sub(&Dyadic::from_f64(b)))).magnitude()
}

/// The distance `|y − (β + γ(x−μ)/√(σ²+ε))|` for exact `f64` parameters `p` and finite
/// `x`, `y`, correctly rounded to 17 significant decimal digits (zero when `y` is exact).
pub(crate) fn distance(p: crate::num::params::Params, x: f64, y: f64) -> Excess {
    let [g, b, m, q] = exact_params(p);
    let numer = g.mul(&Dyadic::from_f64(x).sub(&m));
    // y − β − numer/√q
    let mut sum = RootSum::new(dyadic_ratio(&Dyadic::from_f64(y).sub(&b)));
    sum.add_term(&numer.neg(), &q);
    sum.magnitude()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_distances_are_correctly_rounded() {
        // |0 − (0 + 1/√2)| = 0.70710678118654752440…
        assert_eq!(
            distance(
                crate::num::params::Params::from_array([1.0, 0.0, 0.0, 2.0, 0.0]),
                1.0,
                0.0
            )
            .to_string(),
            "7.0710678118654752e-1"
        );
        // |1 − (0 + 1·(3−0)/√4)| = 0.5 exactly.
        assert_eq!(
            distance(
                crate::num::params::Params::from_array([1.0, 0.0, 0.0, 4.0, 0.0]),
                3.0,
                1.0
            )
            .to_string(),
            "5e-1"
        );
        assert_eq!(
            distance(
                crate::num::params::Params::from_array([1.0, 0.0, 0.0, 4.0, 0.0]),
                3.0,
                1.5
            )
            .to_string(),
            "0"
        );
        // f32 anchor: naive 2^-21 vs exact 3·2^-23: excess 2^-23 = 1.1920928955078125e-7.
        let g = (1.0f32 + f32::EPSILON) as f64;
        assert_eq!(
            distance(
                crate::num::params::Params::from_array([g, -3.0, 0.0, 1.0, 0.0]),
                3.0,
                2f64.powi(-21)
            )
            .to_string(),
            "1.1920928955078125e-7"
        );
        // Tiny: 1e-300 − 0 through s = 1, exact 1e-300 − 2^-1074 distance.
        let d = distance(
            crate::num::params::Params::from_array([1.0, 0.0, 0.0, 1.0, 0.0]),
            f64::from_bits(1),
            1e-300,
        )
        .to_string();
        assert!(
            d.starts_with("1e-300") || d.starts_with("9.9999999999999"),
            "{d}"
        );
    }
}
