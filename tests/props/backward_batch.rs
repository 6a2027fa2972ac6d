//! `Bounds::backward_batch` (CROWN's back-substitution as verifiers call it: point `Λ`,
//! several boxes, float coefficients and two constants per row) against exact rationals:
//! for every row `r`, at points `x` of box `r mod B`, `M_r·x + lower_r ≤ Λ_r·y ≤
//! M_r·x + upper_r`, with `y` the exact real output (decided by refining enclosures of
//! `γ/√(σ²+ε)` until the sign is known) or, under deployed semantics, every output the test
//! kit's emulation of the runtime computes at `x` (flush-to-zero on and off; for `any`,
//! forms with random K-ulp errors too). Layers and
//! boxes of every rank, f32 and f64, biased to hard values.

use crate::emulated::{ordinary_case, outputs, points};
use bnbound::{BatchNorm, Error, Float, Mode, Runtime, Semantics, Shape, TensorBox};
use bnbound_testkit::{
    hard_f32, hard_f64, intervals, rat, shaped_case, shaped_layer, sign_of, Ch, Memo, ShapedCase,
    Q, RI,
};
use proptest::prelude::*;
use std::cmp::Ordering;

fn q(x: f64) -> Q {
    rat(x)
}

/// `M·x` exactly, or `None` if a coefficient is not finite.
fn dot<T: Float>(m: &[T], x: &[T]) -> Option<Q> {
    let mut acc = q(0.0);
    for (&a, &v) in m.iter().zip(x) {
        let a = a.to_f64_exact();
        if !a.is_finite() {
            return None;
        }
        acc = acc + q(a) * q(v.to_f64_exact());
    }
    Some(acc)
}

/// Whether `mx + lower ≤ Σ_j λ_j·y_j ≤ mx + upper` for the exact real outputs `y_j` of
/// channel `ch[c(j)]` at `x_j` (infinite constants hold trivially).
fn real_holds(
    memo: &Memo,
    chans: &[usize],
    lam: &[f64],
    x: &[f64],
    mx: &Q,
    lower: f64,
    upper: f64,
) -> bool {
    let value = |k: usize| {
        let mut acc = RI::point(q(0.0));
        for j in 0..lam.len() {
            let (s, o) = memo.at(chans[j], k);
            let y = s.scale(&q(x[j])).add(&o);
            acc = acc.add(&y.scale(&q(lam[j])));
        }
        acc
    };
    let shift = |v: RI, by: &Q, neg: bool| {
        let (lo, hi) = (&v.lo - by, &v.hi - by);
        if neg {
            RI { lo: -hi, hi: -lo }
        } else {
            RI { lo, hi }
        }
    };
    let low_ok = !lower.is_finite() || {
        let b = mx + q(lower);
        sign_of(|k| shift(value(k), &b, false)) != Ordering::Less
    };
    let high_ok = !upper.is_finite() || {
        let b = mx + q(upper);
        sign_of(|k| shift(value(k), &b, true)) != Ordering::Less
    };
    low_ok && high_ok
}

/// Whether `mx + lower ≤ Σ_j λ_j·y_j ≤ mx + upper` for every choice of `y_j` in `ys[j]`.
fn deployed_holds(lam: &[f64], ys: &[Vec<f64>], mx: &Q, lower: f64, upper: f64) -> bool {
    let (mut low, mut high) = (q(0.0), q(0.0));
    for (l, y) in lam.iter().zip(ys) {
        let t: Vec<Q> = y.iter().map(|&v| q(*l) * q(v)).collect();
        low = low + t.iter().min().unwrap().clone();
        high = high + t.iter().max().unwrap().clone();
    }
    (!lower.is_finite() || mx.clone() + q(lower) <= low)
        && (!upper.is_finite() || high <= mx.clone() + q(upper))
}

/// One case: two boxes `[2, C, …]`, `other` spec rows per box, Λ dyadic in [−4, 4].
/// Returns (rows decided, rows the real-semantics bounds miss at runtime outputs).
fn run<T: Float>(case: &ShapedCase<T>, semantics: Semantics, seed: u64) -> (usize, usize) {
    let (bn, chs): (BatchNorm<T>, Vec<Ch>) = shaped_layer(case);
    let sample = case.sample.clone();
    let n: usize = sample.iter().product();
    let mut dims = vec![2];
    dims.extend(&sample);
    let (lo, hi) = intervals(&case.entries[..2 * n], false);
    let input = TensorBox::new(Shape::new(&dims).unwrap(), lo, hi).unwrap();
    let rows = case.other * 2;
    let mut s = seed | 1;
    // Λ dyadic in [−4, 4], times 1 or (one case in eight each) a power of two that makes
    // the products `λ·s` subnormal or near overflow, where rounding a coefficient to
    // nearest errs most.
    let scale = match seed % 8 {
        1 => T::zero().step_up().to_f64_exact() * 8.0,
        2 => T::max_value().to_f64_exact() / 16.0,
        _ => 1.0,
    };
    let lam_t: Vec<T> = (0..rows * n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            T::from_f64_down(((s % 65) as f64 - 32.0) / 8.0 * scale)
        })
        .collect();
    let lam: Vec<f64> = lam_t.iter().map(|v| v.to_f64_exact()).collect();
    let bounds = bn.bounds(Mode::Fast, semantics).unwrap();
    let got = match bounds.backward_batch(&lam_t, &sample, &input) {
        Err(Error::DeployedNan { .. }) => return (0, 0), // decided by the IBP tests
        r => r.unwrap(),
    };
    assert_eq!((got.rows(), got.cols()), (rows, n));
    let real = bn
        .bounds(Mode::Fast, Semantics::Real)
        .unwrap()
        .backward_batch(&lam_t, &sample, &input)
        .unwrap();
    let memo = Memo::new(&chs);
    let shape = *input.shape();
    let chans: Vec<usize> = (0..n).map(|j| shape.channel_of(j)).collect();
    let (mut decided, mut missed) = (0, 0);
    for r in 0..rows {
        let b = r % 2;
        let (bl, bh) = (
            &input.lo()[b * n..(b + 1) * n],
            &input.hi()[b * n..(b + 1) * n],
        );
        let row = r * n..(r + 1) * n;
        let lam_r = &lam[row.clone()];
        for x in points(bl, bh) {
            let xf: Vec<f64> = x.iter().map(|v| v.to_f64_exact()).collect();
            let Some(mx) = dot(&got.coef()[row.clone()], &x) else {
                continue;
            };
            let (l, u) = (got.lower()[r].to_f64_exact(), got.upper()[r].to_f64_exact());
            match semantics {
                Semantics::Real => {
                    assert!(
                        real_holds(&memo, &chans, lam_r, &xf, &mx, l, u),
                        "row {r}: Λ·y escapes [M·x + {l}, M·x + {u}] at x = {x:?}"
                    );
                    decided += 1;
                }
                Semantics::Deployed(rt) => {
                    let ys: Option<Vec<Vec<f64>>> =
                        (0..n).map(|j| outputs(&bn, chans[j], x[j], rt)).collect();
                    let Some(ys) = ys else { continue };
                    assert!(
                        deployed_holds(lam_r, &ys, &mx, l, u),
                        "row {r}: {rt} outputs escape [M·x + {l}, M·x + {u}] at x = {x:?}"
                    );
                    decided += 1;
                    if let Some(mr) = dot(&real.coef()[row.clone()], &x) {
                        let (rl, ru) = (
                            real.lower()[r].to_f64_exact(),
                            real.upper()[r].to_f64_exact(),
                        );
                        if !deployed_holds(lam_r, &ys, &mr, rl, ru) {
                            missed += 1;
                        }
                    }
                }
            }
        }
    }
    (decided, missed)
}

const SEMANTICS: [Semantics; 3] = [
    Semantics::Real,
    Semantics::Deployed(Runtime::PytorchCpu),
    Semantics::Deployed(Runtime::OnnxruntimeCpu),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn backward_batch_f32_contains(case in shaped_case(hard_f32()), seed in any::<u64>()) {
        for sem in SEMANTICS {
            run(&case, sem, seed);
        }
    }

    #[test]
    fn backward_batch_f64_contains(case in shaped_case(hard_f64()), seed in any::<u64>()) {
        for sem in SEMANTICS {
            run(&case, sem, seed);
        }
    }
}

proptest! {
    // `any`: its model and the emulated K-ulp orders per element cost more; fewer cases.
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn backward_batch_any_contains(case in shaped_case(hard_f32()), case64 in shaped_case(hard_f64()), seed in any::<u64>(), ulps in 0u32..=4) {
        run(&case, Semantics::Deployed(Runtime::Any { ulps }), seed);
        run(&case64, Semantics::Deployed(Runtime::Any { ulps }), seed);
    }
}

/// The checks have teeth: the real-semantics bounds miss runtime outputs that the deployed
/// ones hold; and the real check refuses a lower constant raised past the exact value.
#[test]
fn backward_batch_checks_have_teeth() {
    let (mut decided, mut missed) = (0, 0);
    for k in 0..40u64 {
        let case = ordinary_case(k, 2, 2);
        for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
            let (d, m) = run(&case, Semantics::Deployed(rt), k);
            decided += d;
            missed += m;
        }
    }
    assert!(decided > 500, "only {decided} rows decided");
    assert!(missed > 0, "the real bounds never missed ({decided} rows)");
    // y = x/√3 at x = 1: Λ·y = 1/√3 ≈ 0.577; a lower constant of 0.578 (M = 0) fails.
    let ch = Ch {
        g: 1.0,
        b: 0.0,
        m: 0.0,
        v: 3.0,
        e: 0.0,
    };
    let memo = Memo::new(std::slice::from_ref(&ch));
    let zero = q(0.0);
    assert!(real_holds(&memo, &[0], &[1.0], &[1.0], &zero, 0.577, 0.578));
    assert!(!real_holds(
        &memo,
        &[0],
        &[1.0],
        &[1.0],
        &zero,
        0.578,
        0.579
    ));
    assert!(!real_holds(
        &memo,
        &[0],
        &[1.0],
        &[1.0],
        &zero,
        0.576,
        0.577
    ));
}

/// `Λ·y − M·x` at one point `x` of a layer with an exact scale `s` and offset 0, exactly,
/// against the constants `backward_batch` returns for the point box `[x, x]`.
fn point_gap_holds(s: f32, lam: f32, x: f32) -> bool {
    let bn = BatchNorm::new(vec![s], vec![0.0], vec![0.0], vec![1.0], 0.0).unwrap();
    let b = bn.bounds(Mode::Fast, Semantics::Real).unwrap();
    let input = TensorBox::new(Shape::new(&[1, 1]).unwrap(), vec![x], vec![x]).unwrap();
    let r = b.backward_batch(&[lam], &[1], &input).unwrap();
    let (m, l, u) = (r.coef()[0], r.lower()[0], r.upper()[0]);
    assert!(m.is_finite());
    let gap = q(lam as f64) * q(s as f64) * q(x as f64) - q(m as f64) * q(x as f64);
    (l == f32::NEG_INFINITY || q(l as f64) <= gap) && (u == f32::INFINITY || gap <= q(u as f64))
}

/// The coefficient `M = RN(λ·m)` errs by up to half an ulp; the constants must cover that
/// error times `|x|`, in the normal range (`λ·s = 0.75·(1 + 2⁻²³)`, a tie) and below it
/// (`λ·s = 0.75·2⁻¹⁴⁹` rounds to `2⁻¹⁴⁹`), at `x` far from 0, for either sign.
#[test]
fn backward_batch_covers_the_rounded_coefficient() {
    let tiny = f32::from_bits(1);
    for (lam, x) in [
        (1.0 + f32::EPSILON, 1048576.0f32),
        (tiny, 2f32.powi(100)),
        (-tiny, -(2f32.powi(100))),
        (3.0 * tiny, 2f32.powi(120)),
    ] {
        assert!(point_gap_holds(0.75, lam, x), "λ = {lam:e}, x = {x:e}");
        assert!(point_gap_holds(-0.75, lam, -x), "λ = {lam:e}, x = {x:e}");
    }
    // λ·s beyond f32::MAX: the coefficient path that does not round λ·m.
    assert!(point_gap_holds(4.0, f32::MAX / 2.0, 1.0));
    assert!(point_gap_holds(4.0, -f32::MAX / 2.0, 0.5));
}

/// An infinite box end under a zero scale (γ = 0): `Λ·y − M·x` is the constant `β`, and the
/// constants stay finite (a review found the one-pass path returning `±∞` there).
#[test]
fn backward_batch_zero_scale_with_an_infinite_end_stays_finite() {
    let bn = BatchNorm::new(
        vec![0.0f32, 1.0],
        vec![2.0, 0.0],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let b = bn.bounds(Mode::Fast, Semantics::Real).unwrap();
    let x = TensorBox::new(
        Shape::new(&[1, 2]).unwrap(),
        vec![f32::NEG_INFINITY, 1.0],
        vec![f32::INFINITY, 2.0],
    )
    .unwrap();
    let r = b.backward_batch(&[1.0, 1.0], &[2], &x).unwrap();
    assert_eq!(r.coef(), &[0.0, 1.0]);
    assert!(r.lower()[0] <= 2.0 && 2.0 <= r.upper()[0]);
    assert!(
        r.lower()[0].is_finite() && r.upper()[0].is_finite(),
        "{r:?}"
    );
}

/// Bad input: typed errors, never a panic.
#[test]
fn backward_batch_bad_input_is_typed() {
    let bn = BatchNorm::new(
        vec![1.0f32, 2.0],
        vec![0.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let b = bn.bounds(Mode::Fast, Semantics::Real).unwrap();
    let x = TensorBox::new(Shape::new(&[1, 2]).unwrap(), vec![0.0f32; 2], vec![1.0; 2]).unwrap();
    assert!(matches!(
        b.backward_batch(&[1.0, f32::NAN], &[2], &x),
        Err(Error::NonFiniteWeight { index: 1, .. })
    ));
    assert!(matches!(
        b.backward_batch(&[1.0, f32::INFINITY], &[2], &x),
        Err(Error::NonFiniteWeight { .. })
    ));
    assert!(matches!(
        b.backward_batch(&[1.0, 2.0, 3.0], &[2], &x),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        b.backward_batch(&[1.0, 2.0], &[3], &x),
        Err(Error::ChannelMismatch { .. })
    ));
    let flat = TensorBox::new(Shape::new(&[2]).unwrap(), vec![0.0f32; 2], vec![1.0; 2]).unwrap();
    assert!(matches!(
        b.backward_batch(&[1.0, 2.0], &[2], &flat),
        Err(Error::ShapeMismatch { .. })
    ));
    let any = bn
        .bounds(Mode::Fast, Semantics::Deployed(Runtime::Any { ulps: 1 }))
        .unwrap();
    assert!(any.backward_batch(&[1.0, 2.0], &[2], &x).is_ok());
    // A zero coefficient on an element whose runtime output is infinite: unbounded row.
    let big = TensorBox::new(
        Shape::new(&[1, 2]).unwrap(),
        vec![0.0, f32::MAX],
        vec![0.0, f32::MAX],
    )
    .unwrap();
    let torch = bn.deployed(Runtime::PytorchCpu);
    let r = torch.backward_batch(&[1.0, 0.0], &[2], &big).unwrap();
    assert_eq!(
        (r.lower()[0], r.upper()[0]),
        (f32::NEG_INFINITY, f32::INFINITY)
    );
}

/// A batch of zero boxes: no rows, no error.
#[test]
fn backward_batch_of_no_boxes_is_empty() {
    let bn = BatchNorm::new(
        vec![1.0f32, 2.0],
        vec![0.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let x = TensorBox::new(Shape::new(&[0, 2]).unwrap(), vec![], vec![]).unwrap();
    let b = bn
        .bounds(Mode::Fast, Semantics::Real)
        .unwrap()
        .backward_batch(&[], &[2], &x)
        .unwrap();
    assert_eq!(
        (b.rows(), b.cols(), b.coef().len(), b.lower().len()),
        (0, 2, 0, 0)
    );
}
