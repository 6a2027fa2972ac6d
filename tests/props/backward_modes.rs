//! Back-substitution in the exact checker and in tight mode, on CNN-shaped forms
//! of every rank, against the rational oracle (`bnbound_testkit::bias_bound_sound`, which
//! merges square roots that differ by a rational factor in its own way).
//!
//! - The checker's verdict on every claimed bias bound equals the oracle's, for bounds
//!   nudged inward from sound ones by 0 to 3 steps (half of them become unsound).
//! - Tight bounds are sound, and one step inward from a finite tight bound is unsound.

use bnbound::{AffineForm, Float, Shape, Side, TensorBox};
use bnbound_testkit::{
    bias_bound_sound, check_backsubstituted_grouped, check_element, hard_f32, hard_f64,
    shaped_case, shaped_form, shaped_layer, ShapedCase,
};
use proptest::prelude::*;

/// `x` moved `k` steps inward (up for a lower bound), staying finite.
fn inward<T: Float>(x: T, k: u8, lower: bool) -> T {
    let mut y = x;
    for _ in 0..k {
        if y.is_infinite() {
            return y;
        }
        y = if lower { y.step_up() } else { y.step_down() };
    }
    y
}

/// The columns of `lam` as `(lo, hi)` pairs of row `i`.
fn row<T: Float>(lam: &AffineForm<T>, i: usize) -> Vec<(f64, f64)> {
    let cols = lam.cols();
    (i * cols..(i + 1) * cols)
        .map(|k| {
            (
                lam.a().lo()[k].to_f64_exact(),
                lam.a().hi()[k].to_f64_exact(),
            )
        })
        .collect()
}

fn run_checker<T: Float>(case: &ShapedCase<T>) {
    let (bn, chs) = shaped_layer(case);
    let n: usize = case.sample.iter().product();
    let inner = n / case.sample[0];
    let channel_of: Vec<usize> = (0..n).map(|j| j / inner).collect();
    let lam = shaped_form(case, case.other, n);
    let fast = bn.enclose().backward_shaped(&lam, &case.sample).unwrap();
    check_backsubstituted_grouped(&chs, &channel_of, &lam, &fast);
    let rows = lam.rows();
    // Nudge entries inward by 0..=3 steps (from the case's spare bits).
    let steps = |k: usize| case.entries[k % case.entries.len()].2 % 4;
    let nudge = |b: &TensorBox<T>, base: usize| {
        let lo: Vec<T> = (0..b.lo().len())
            .map(|k| inward(b.lo()[k], steps(base + 2 * k), true))
            .collect();
        let hi: Vec<T> = (0..b.hi().len())
            .map(|k| inward(b.hi()[k], steps(base + 2 * k + 1), false))
            .collect();
        // Inward nudges may cross: keep a valid box by ordering each pair.
        let (lo, hi): (Vec<T>, Vec<T>) = lo
            .into_iter()
            .zip(hi)
            .map(|(l, h)| if l <= h { (l, h) } else { (h, l) })
            .unzip();
        TensorBox::new(*b.shape(), lo, hi).unwrap()
    };
    let claimed = AffineForm::new(nudge(fast.a(), 0), nudge(fast.c(), 7)).unwrap();
    let report = bn
        .checker()
        .backward_shaped(&lam, &case.sample, &claimed)
        .unwrap();
    assert_eq!(report.unsound, report.violations.len());
    let flagged = |index: usize, side: Side| {
        report
            .violations
            .iter()
            .any(|v| v.index == index && v.side == side)
    };
    // Λ' entries: any violation exactly when the oracle rejects the pair.
    let f = |x: T| x.to_f64_exact();
    for k in 0..rows * n {
        let ch = chs[channel_of[k % n]].scale_only();
        let (a, y) = (lam.a(), claimed.a());
        let ok = check_element(ch, f(a.lo()[k]), f(a.hi()[k]), f(y.lo()[k]), f(y.hi()[k]));
        let any = flagged(k, Side::Lo) || flagged(k, Side::Hi);
        assert_eq!(ok.is_err(), any, "L'[{k}]: oracle {ok:?}");
    }
    // Bias bounds: side by side.
    for i in 0..rows {
        let d = (f(lam.c().lo()[i]), f(lam.c().hi()[i]));
        for (side, y) in [
            (Side::Lo, claimed.c().lo()[i]),
            (Side::Hi, claimed.c().hi()[i]),
        ] {
            let sound =
                bias_bound_sound(&chs, &row(&lam, i), &channel_of, d, f(y), side == Side::Lo);
            assert_eq!(
                !sound,
                flagged(rows * n + i, side),
                "d'[{i}] {side}: claimed {y:?}, oracle sound = {sound}"
            );
        }
    }
}

#[cfg(feature = "mpfr")]
fn run_tight<T: Float>(case: &ShapedCase<T>) {
    let (bn, chs) = shaped_layer(case);
    let n: usize = case.sample.iter().product();
    let inner = n / case.sample[0];
    let channel_of: Vec<usize> = (0..n).map(|j| j / inner).collect();
    let lam = shaped_form(case, case.other, n);
    let t = bn.tight().backward_shaped(&lam, &case.sample).unwrap();
    check_backsubstituted_grouped(&chs, &channel_of, &lam, &t);
    let f = |x: T| x.to_f64_exact();
    for i in 0..lam.rows() {
        let d = (f(lam.c().lo()[i]), f(lam.c().hi()[i]));
        for (lower, y) in [(true, t.c().lo()[i]), (false, t.c().hi()[i])] {
            if y.is_finite() {
                let y1 = inward(y, 1, lower);
                assert!(
                    !bias_bound_sound(&chs, &row(&lam, i), &channel_of, d, f(y1), lower),
                    "d'[{i}] lower={lower}: {y:?} is not the tightest"
                );
            }
        }
    }
    // Λ' entries: one step inward on a finite side is rejected by the oracle.
    for k in 0..lam.rows() * n {
        let ch = chs[channel_of[k % n]].scale_only();
        let (a, y) = (lam.a(), t.a());
        let (al, ah, yl, yh) = (f(a.lo()[k]), f(a.hi()[k]), y.lo()[k], y.hi()[k]);
        if yl.is_finite() && yl < yh {
            let r = check_element(ch, al, ah, f(inward(yl, 1, true)), f(yh));
            assert!(r.is_err(), "L'[{k}] lower {yl:?} is not the tightest");
        }
        if yh.is_finite() && yl < yh {
            let r = check_element(ch, al, ah, f(yl), f(inward(yh, 1, false)));
            assert!(r.is_err(), "L'[{k}] upper {yh:?} is not the tightest");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn backward_checker_agrees_with_oracle_f64(case in shaped_case(hard_f64())) {
        run_checker(&case);
    }

    #[test]
    fn backward_checker_agrees_with_oracle_f32(case in shaped_case(hard_f32())) {
        run_checker(&case);
    }
}

#[cfg(feature = "mpfr")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn tight_backward_is_sound_and_tightest_f64(case in shaped_case(hard_f64())) {
        run_tight(&case);
    }

    #[test]
    fn tight_backward_is_sound_and_tightest_f32(case in shaped_case(hard_f32())) {
        run_tight(&case);
    }
}

/// Sums of square roots that are exactly zero or rational must be decided, not refined
/// forever: equal variances, variances in a square ratio (2 and 8: √8 = 2√2) and a
/// perfect-square variance.
#[test]
fn exactly_cancelling_root_sums_are_decided() {
    // o_c = β_c − γ_c μ_c/√q_c; channel 1: q = 8, γμ = 2 → o₁ = β₁ − 2/√8 = β₁ − 1/√2.
    let bn = bnbound::BatchNorm::new(
        vec![1.0f64, 1.0, 3.0],
        vec![0.0, 0.0, 0.0],
        vec![1.0, 2.0, 1.0],
        vec![2.0, 8.0, 9.0],
        0.0,
    )
    .unwrap();
    // o = (−1/√2, −1/√2, −1): λ = (1, −1, 0) gives exactly 0; λ = (1, −1, 1) exactly −1.
    for (lam, exact) in [([1.0, -1.0, 0.0], 0.0), ([1.0, -1.0, 1.0], -1.0)] {
        let form = AffineForm::point(1, 3, lam.to_vec(), vec![0.0]).unwrap();
        let g = bn.enclose().backward(&form).unwrap();
        let point = |v: f64| TensorBox::new(Shape::new(&[1]).unwrap(), vec![v], vec![v]).unwrap();
        let claim = AffineForm::new(g.a().clone(), point(exact)).unwrap();
        let r = bn.checker().backward(&form, &claim).unwrap();
        assert!(r.sound(), "{lam:?}: {:?}", r.violations);
        // One step off on either side is caught, with the exact excess.
        for (y, side) in [(exact.next_up(), Side::Lo), (exact.next_down(), Side::Hi)] {
            let claim = AffineForm::new(g.a().clone(), point(y)).unwrap();
            let r = bn.checker().backward(&form, &claim).unwrap();
            assert_eq!(r.violations.len(), 1);
            assert_eq!(r.violations[0].side, side);
            assert_eq!(r.violations[0].excess.to_f64(), (y - exact).abs());
        }
        #[cfg(feature = "mpfr")]
        {
            let t = bn.tight().backward(&form).unwrap();
            assert_eq!((t.c().lo()[0], t.c().hi()[0]), (exact, exact));
        }
    }
}
