//! The exact checker agrees with the independent oracle on random claimed boxes (half of
//! them unsound by one step), every witness really violates; tight mode (feature `mpfr`)
//! is the tightest enclosure, including values that are exactly representable.

use bnbound::{BatchNorm, Float, Shape, Side, TensorBox};
use bnbound_testkit::{cmp_output, hard_f32, hard_f64, Ch};
use proptest::prelude::*;
use std::cmp::Ordering;

#[derive(Clone, Debug)]
struct Case<T> {
    p: [T; 5],
    exact_kind: u8,
    l: T,
    h: T,
    kind: u8,
    shrink: (bool, bool),
}

fn case<T: Float, S: Strategy<Value = T> + Clone + 'static>(
    v: S,
) -> impl Strategy<Value = Case<T>> {
    (
        [v.clone(), v.clone(), v.clone(), v.clone(), v.clone()],
        0u8..8,
        v.clone(),
        v,
        0u8..8,
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(|(p, exact_kind, l, h, kind, shrink)| Case {
            p,
            exact_kind,
            l,
            h,
            kind,
            shrink,
        })
}

/// The layer and box of a case. `exact_kind` makes σ²+ε a perfect square, γ = 0, or
/// x = μ often, so that exact values of T occur.
fn setup<T: Float>(c: &Case<T>) -> (BatchNorm<T>, Ch, T, T) {
    let [mut g, b, m, mut v, mut e] = c.p;
    v = v.abs();
    e = e.abs();
    match c.exact_kind {
        0 => (v, e) = (T::from_f64_down(2.25), T::zero()),
        1 => (v, e) = (T::from_f64_down(4.0), T::zero()),
        2 => g = T::zero(),
        _ => {}
    }
    if v == T::zero() && e == T::zero() {
        e = T::one();
    }
    let bn = BatchNorm::new(vec![g], vec![b], vec![m], vec![v], e).unwrap();
    let ch = Ch {
        g: g.to_f64_exact(),
        b: b.to_f64_exact(),
        m: m.to_f64_exact(),
        v: v.to_f64_exact(),
        e: e.to_f64_exact(),
    };
    let (l, h) = match c.kind {
        0 | 1 => (m, m), // x = μ: y = β exactly
        2 => (T::neg_infinity(), c.h),
        3 => (c.l, T::infinity()),
        4 => (c.l, c.l),
        _ => (c.l.min(c.h), c.l.max(c.h)),
    };
    (bn, ch, l, h)
}

/// Is `y` a sound lower (upper) bound of the exact output at finite `x`?
fn sound(ch: Ch, x: f64, y: f64, lower: bool) -> bool {
    if y.is_infinite() {
        return (y < 0.0) == lower;
    }
    let o = cmp_output(ch, x, y);
    o == Ordering::Equal || (o == Ordering::Less) == lower
}

/// A monotone integer numbering of the values of T (zeros share 0).
fn ord<T: Float>(x: T) -> i64 {
    let x = x.to_f64_exact();
    let mag = match T::DTYPE {
        bnbound::Dtype::F64 => (x.abs().to_bits()) as i64,
        bnbound::Dtype::F32 => ((x as f32).abs().to_bits()) as i64,
    };
    if x < 0.0 {
        -mag
    } else {
        mag
    }
}

fn unord<T: Float>(k: i64) -> T {
    let m = match T::DTYPE {
        bnbound::Dtype::F64 => f64::from_bits(k.unsigned_abs()),
        bnbound::Dtype::F32 => f32::from_bits(k.unsigned_abs() as u32) as f64,
    };
    T::from_f64_down(if k < 0 { -m } else { m })
}

/// The tightest bound of type T, by binary search with the oracle between a sound bound
/// `from` and a value `other` on the far side of the exact value.
fn tightest<T: Float>(ch: Ch, x: f64, from: T, other: T, lower: bool) -> T {
    let clamp = |v: T| {
        if v.is_infinite() {
            if v > T::zero() {
                T::max_value()
            } else {
                T::min_value()
            }
        } else {
            v
        }
    };
    // i128: the span from −MAX to MAX does not fit in i64.
    let (mut good, mut bad) = (ord(from) as i128, ord(clamp(other)) as i128);
    if sound(ch, x, unord::<T>(bad as i64).to_f64_exact(), lower) {
        return unord(bad as i64);
    }
    while (bad - good).abs() > 1 {
        let mid = good + (bad - good) / 2;
        if sound(ch, x, unord::<T>(mid as i64).to_f64_exact(), lower) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    unord(good as i64)
}

/// The endpoints where the exact minimum and maximum are attained.
fn extremes(ch: Ch, l: f64, h: f64) -> (f64, f64) {
    if ch.g >= 0.0 {
        (l, h)
    } else {
        (h, l)
    }
}

/// Which checker entry point a run exercises.
#[derive(Clone, Copy, PartialEq)]
enum What {
    Ibp,
    Derivative,
    /// A 1 × 1 form whose coefficient and constant are both the case's interval; the
    /// coefficient entry (index 0) is checked here, the constant in `Ibp`.
    Compose,
}

fn run_checker<T: Float>(c: &Case<T>) {
    run_checker_on(c, What::Ibp)
}

fn run_checker_on<T: Float>(c: &Case<T>, what: What) {
    let (bn, ch, l, h) = setup(c);
    let ch = if what == What::Ibp {
        ch
    } else {
        ch.scale_only()
    };
    let shape = Shape::new(&[1]).unwrap();
    let input = TensorBox::new(shape, vec![l], vec![h]).unwrap();
    let fast = match what {
        What::Ibp => bn.enclose().ibp(&input).unwrap(),
        _ => bn.enclose().derivative_chain(&input).unwrap(),
    };
    let (xmin, xmax) = extremes(ch, l.to_f64_exact(), h.to_f64_exact());
    let (xmin, xmax) = if ch.g == 0.0 {
        (0.0, 0.0)
    } else {
        (xmin, xmax)
    };
    // Tighten each finite side with the oracle, then maybe move it one step inward.
    let mut claimed = [fast.lo()[0], fast.hi()[0]];
    let mut expect_bad = [false, false];
    for (k, (x, lower, shrink)) in [(xmin, true, c.shrink.0), (xmax, false, c.shrink.1)]
        .into_iter()
        .enumerate()
    {
        if x.is_infinite() || claimed[k].is_infinite() {
            continue;
        }
        claimed[k] = tightest(ch, x, claimed[k], claimed[1 - k], lower);
        if shrink {
            claimed[k] = if lower {
                claimed[k].step_up()
            } else {
                claimed[k].step_down()
            };
            expect_bad[k] = true;
        }
    }
    if claimed[0] > claimed[1] {
        return; // a one-step shrink of a point box is not a box; skip
    }
    let cbox = TensorBox::new(shape, vec![claimed[0]], vec![claimed[1]]).unwrap();
    let r = match what {
        What::Ibp => bn.checker().ibp(&input, &cbox).unwrap(),
        What::Derivative => bn.checker().derivative_chain(&input, &cbox).unwrap(),
        What::Compose => {
            let s11 = Shape::new(&[1, 1]).unwrap();
            let form = |b: &TensorBox<T>| {
                bnbound::AffineForm::new(
                    TensorBox::new(s11, b.lo().to_vec(), b.hi().to_vec()).unwrap(),
                    TensorBox::new(shape, b.lo().to_vec(), b.hi().to_vec()).unwrap(),
                )
                .unwrap()
            };
            // The constant's claim is the (sound) fast IBP image, so only index 0 may fail.
            let claimed_form = bnbound::AffineForm::new(
                TensorBox::new(s11, cbox.lo().to_vec(), cbox.hi().to_vec()).unwrap(),
                bn.enclose().ibp(&input).unwrap(),
            )
            .unwrap();
            let mut r = bn.checker().compose(&form(&input), &claimed_form).unwrap();
            assert_eq!(r.checked, 2);
            assert!(
                r.violations.iter().all(|v| v.index == 0),
                "the sound constant was flagged"
            );
            r.checked = 1;
            r
        }
    };
    assert_eq!(r.checked, 1);
    let got = [Side::Lo, Side::Hi].map(|s| r.violations.iter().any(|v| v.side == s));
    assert_eq!(
        got, expect_bad,
        "verdict differs for {ch:?} box [{l}, {h}] claimed {claimed:?}"
    );
    for v in &r.violations {
        // Re-evaluate the witness exactly: it must violate the claimed bound.
        let y = if v.side == Side::Lo {
            claimed[0]
        } else {
            claimed[1]
        };
        assert!(
            !sound(ch, v.witness, y.to_f64_exact(), v.side == Side::Lo),
            "witness {} does not violate",
            v.witness
        );
        // A positive decimal d.ddd…e±N with a nonzero leading digit (it may be far below
        // the smallest subnormal, so it is not parsed as a float).
        let text = v.excess.to_string();
        let ok = text == "inf"
            || (text.starts_with(|c: char| ('1'..='9').contains(&c))
                && text
                    .split_once('e')
                    .is_some_and(|(m, e)| m.parse::<f64>().is_ok() && e.parse::<i64>().is_ok()));
        assert!(ok, "excess {text}");
        // The number type reads back what it writes and is positive.
        assert_eq!(text.parse::<bnbound::check::Excess>().unwrap(), v.excess);
        assert!(
            v.excess
                > bnbound::check::Excess::Finite {
                    digits: 0,
                    exp10: 0
                }
        );
    }
}

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn checker_agrees_with_oracle_f64(c in case(hard_f64())) { run_checker(&c); }

    #[test]
    fn checker_agrees_with_oracle_f32(c in case(hard_f32())) { run_checker(&c); }

    #[test]
    fn derivative_checker_agrees_with_oracle_f64(c in case(hard_f64())) { run_checker_on(&c, What::Derivative); }

    #[test]
    fn derivative_checker_agrees_with_oracle_f32(c in case(hard_f32())) { run_checker_on(&c, What::Derivative); }

    #[test]
    fn compose_checker_agrees_with_oracle_f64(c in case(hard_f64())) { run_checker_on(&c, What::Compose); }

    #[test]
    fn compose_checker_agrees_with_oracle_f32(c in case(hard_f32())) { run_checker_on(&c, What::Compose); }
}

#[test]
fn checker_reports_unbounded_and_infinite_claims() {
    let bn = BatchNorm::new(vec![2.0f64], vec![0.0], vec![0.0], vec![1.0], 0.0).unwrap();
    let s = Shape::new(&[2, 1]).unwrap();
    let x = TensorBox::new(s, vec![f64::NEG_INFINITY, 0.0], vec![1.0, 1.0]).unwrap();
    let claimed = TensorBox::new(s, vec![-1e300, f64::INFINITY], vec![2.0, f64::INFINITY]).unwrap();
    let r = bn.checker().ibp(&x, &claimed).unwrap();
    assert_eq!(r.violations.len(), 2);
    assert_eq!(
        (
            r.violations[0].index,
            r.violations[0].side,
            r.violations[0].excess.to_string().as_str()
        ),
        (0, Side::Lo, "inf")
    );
    assert_eq!(r.violations[0].witness, f64::NEG_INFINITY);
    assert_eq!(
        (
            r.violations[1].index,
            r.violations[1].side,
            r.violations[1].excess.to_string().as_str()
        ),
        (1, Side::Lo, "inf")
    );
    // Shape and channel mismatches are errors, not verdicts.
    let y = TensorBox::new(Shape::new(&[1]).unwrap(), vec![0.0], vec![0.0]).unwrap();
    assert!(bn.checker().ibp(&x, &y).is_err());
    let x3 = TensorBox::new(Shape::new(&[3]).unwrap(), vec![0.0; 3], vec![0.0; 3]).unwrap();
    assert!(bn.checker().ibp(&x3, &x3).is_err());
}

#[test]
fn naive_f32_bounds_on_batchnorm2d_layers_are_often_unsound() {
    // auto_LiRPA's IBP form in f32 on PyTorch-like layers, checked exactly.
    let (mut bad, mut total) = (0usize, 0usize);
    for seed in 0..4u32 {
        let c = 32;
        let f = |i: u32, k: u32| {
            ((i.wrapping_mul(2654435761).wrapping_add(k * 40503 + seed) >> 8) % 10000) as f32
                / 10000.0
        };
        let gamma: Vec<f32> = (0..c).map(|i| 0.5 + f(i, 1)).collect();
        let beta: Vec<f32> = (0..c).map(|i| f(i, 2) - 0.5).collect();
        let mean: Vec<f32> = (0..c).map(|i| 2.0 * f(i, 3) - 1.0).collect();
        let var: Vec<f32> = (0..c).map(|i| 0.05 + 2.0 * f(i, 4)).collect();
        let bn =
            BatchNorm::new(gamma.clone(), beta.clone(), mean.clone(), var.clone(), 1e-5).unwrap();
        let shape = Shape::new(&[1, c as usize, 4, 4]).unwrap();
        let lo: Vec<f32> = (0..shape.len() as u32)
            .map(|i| 4.0 * f(i, 5) - 2.0)
            .collect();
        let hi: Vec<f32> = lo.iter().map(|x| x + 2.0 / 255.0).collect();
        let (mut nlo, mut nhi) = (Vec::new(), Vec::new());
        for i in 0..shape.len() {
            let k = i / 16;
            let s = gamma[k] / (var[k] + 1e-5f32).sqrt();
            let o = beta[k] - mean[k] * s;
            let (mid, rad) = ((lo[i] + hi[i]) / 2.0, (hi[i] - lo[i]) / 2.0);
            nlo.push(s * mid + o - s.abs() * rad);
            nhi.push(s * mid + o + s.abs() * rad);
        }
        let input = TensorBox::new(shape, lo, hi).unwrap();
        let naive = TensorBox::new(shape, nlo, nhi).unwrap();
        let r = bn.checker().ibp(&input, &naive).unwrap();
        bad += r.violations.len();
        total += 2 * r.checked;
        assert!(&bn
            .checker()
            .ibp(&input, &bn.enclose().ibp(&input).unwrap())
            .unwrap()
            .sound());
    }
    println!(
        "naive f32 IBP: {bad} of {total} bounds unsound ({:.1}%)",
        100.0 * bad as f64 / total as f64
    );
    assert!(bad > 0, "the checker found no unsound naive bound");
}

#[cfg(feature = "mpfr")]
mod tight {
    use super::*;
    use bnbound_testkit::check_element;

    fn run_tight<T: Float>(c: &Case<T>) {
        let (bn, ch, l, h) = setup(c);
        let shape = Shape::new(&[1]).unwrap();
        let input = TensorBox::new(shape, vec![l], vec![h]).unwrap();
        let y = bn.tight().ibp(&input).unwrap();
        let (yl, yh) = (y.lo()[0], y.hi()[0]);
        check_element(
            ch,
            l.to_f64_exact(),
            h.to_f64_exact(),
            yl.to_f64_exact(),
            yh.to_f64_exact(),
        )
        .unwrap();
        let (xmin, xmax) = extremes(ch, l.to_f64_exact(), h.to_f64_exact());
        let (xmin, xmax) = if ch.g == 0.0 {
            (0.0, 0.0)
        } else {
            (xmin, xmax)
        };
        // One step inward is unsound (where the exact side is finite).
        if xmin.is_finite() && yl.is_finite() {
            let inner = yl.step_up();
            assert!(
                inner.is_infinite() || !sound(ch, xmin, inner.to_f64_exact(), true),
                "lo {yl:?} is not the tightest"
            );
        }
        if xmax.is_finite() && yh.is_finite() {
            let inner = yh.step_down();
            assert!(
                inner.is_infinite() || !sound(ch, xmax, inner.to_f64_exact(), false),
                "hi {yh:?} is not the tightest"
            );
        }
        // The derivative in tight mode is the same statement for s·x.
        let d = bn.tight().derivative_chain(&input).unwrap();
        let sc = ch.scale_only();
        check_element(
            sc,
            l.to_f64_exact(),
            h.to_f64_exact(),
            d.lo()[0].to_f64_exact(),
            d.hi()[0].to_f64_exact(),
        )
        .unwrap();
        if xmin.is_finite() && d.lo()[0].is_finite() {
            let inner = d.lo()[0].step_up();
            assert!(
                inner.is_infinite() || !sound(sc, xmin, inner.to_f64_exact(), true),
                "derivative lo is not the tightest"
            );
        }
    }

    proptest! {
        #![proptest_config(cfg())]

        #[test]
        fn tight_is_tightest_f64(c in case(hard_f64())) { run_tight(&c); }

        #[test]
        fn tight_is_tightest_f32(c in case(hard_f32())) { run_tight(&c); }
    }

    #[test]
    fn tight_keeps_every_bit_of_x_minus_mean() {
        // x − μ = 2⁶⁵ + 1.0000000000000018 needs 117 bits: rounding it to nearest at 64 bits
        // before the directed rounding (an owned-operand rug expression does) loses a step.
        let g = -4.403051770233099e-308f64;
        let bn = BatchNorm::new(
            vec![g],
            vec![0.0],
            vec![-3.6893488147419103e19],
            vec![4.0],
            0.0,
        )
        .unwrap();
        let x = 1.0000000000000018f64;
        let b = TensorBox::new(Shape::new(&[1]).unwrap(), vec![x], vec![x]).unwrap();
        let y = bn.tight().ibp(&b).unwrap();
        let ch = Ch {
            g,
            b: 0.0,
            m: -3.6893488147419103e19,
            v: 4.0,
            e: 0.0,
        };
        assert!(sound(ch, x, y.lo()[0], true) && sound(ch, x, y.hi()[0], false));
        assert_eq!(y.lo()[0].next_up(), y.hi()[0]);
    }

    #[test]
    fn tight_exact_values_do_not_loop() {
        // γ = 3, σ²+ε = 2.25: s = 2, o = β − 2μ: every output is a float.
        let bn = BatchNorm::new(vec![3.0f64], vec![0.5], vec![0.25], vec![2.0], 0.25).unwrap();
        let x = TensorBox::new(
            Shape::new(&[3, 1]).unwrap(),
            vec![0.25, 1.0, -7.5],
            vec![0.25, 2.0, 1e10],
        )
        .unwrap();
        let y = bn.tight().ibp(&x).unwrap();
        assert_eq!(y.lo(), &[0.5, 2.0, -15.0]);
        assert_eq!(y.hi(), &[0.5, 4.0, 2e10]);
    }

    #[test]
    fn fast_mode_width_over_tight_is_measured() {
        // Reported, not asserted beyond soundness: near-zero outputs (cancellation) make
        // the ulp count large there, since the ulp of a tiny result is tiny.
        let mut w: Vec<u64> = Vec::new();
        for i in 0..2000 {
            let t = i as f64;
            let bn = BatchNorm::new(
                vec![(t * 0.37).sin() * 2.0],
                vec![(t * 0.29).cos()],
                vec![(t * 0.53).sin()],
                vec![(t * 0.11).cos().abs() * 3.0],
                1e-5,
            )
            .unwrap();
            let x0 = (t * 0.71).sin() * 5.0;
            let x = TensorBox::new(Shape::new(&[1]).unwrap(), vec![x0], vec![x0 + 0.01]).unwrap();
            let (f, g) = (bn.enclose().ibp(&x).unwrap(), bn.tight().ibp(&x).unwrap());
            assert!(
                f.lo()[0] <= g.lo()[0] && g.hi()[0] <= f.hi()[0],
                "tight is inside fast"
            );
            w.push(bnbound::ulps_between(f.lo()[0], g.lo()[0]));
            w.push(bnbound::ulps_between(g.hi()[0], f.hi()[0]));
        }
        w.sort_unstable();
        let q = |p: f64| w[((w.len() - 1) as f64 * p) as usize];
        println!(
            "fast vs tight (f64 bounds): median {} ulps, 99th percentile {}, worst {}",
            q(0.5),
            q(0.99),
            q(1.0)
        );
    }
}

#[test]
fn check_counts_every_violation_but_keeps_the_first() {
    // 200,000 unsound elements: every one is counted, 100 are kept with their excess.
    let n = 200_000;
    let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![2.0], 0.0).unwrap();
    let shape = Shape::new(&[n, 1]).unwrap();
    let x = TensorBox::new(shape, vec![1.0f32; n], vec![1.0; n]).unwrap();
    let wrong = TensorBox::new(shape, vec![0.0f32; n], vec![0.5; n]).unwrap();
    let r = bn.checker().keeping(100).ibp(&x, &wrong).unwrap();
    assert_eq!((r.checked, r.unsound, r.violations.len()), (n, n, 100));
    assert!(!r.sound());
    assert_eq!(r.violations[99].index, 99);
}
