//! Property tests for forward composition, concretization, back-substitution (interval and
//! float-coefficient forms), against exact rational oracles (`bnbound-testkit`).

#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

use bnbound::{AffineForm, BatchNorm, Enclosure, Float, Kernel, Shape, TensorBox};
use bnbound_testkit::{
    channels_of, check_backsubstituted, check_composed, exact_dot, ext, float_form_gap, hard_f32,
    hard_f64, intervals, Ch, Ext, Memo,
};
use proptest::prelude::*;
use std::cmp::Ordering;

/// A random layer (C channels) plus raw interval entries.
#[derive(Clone, Debug)]
struct Case<T> {
    params: Vec<[T; 5]>,
    rows: usize,
    cols: usize,
    a: Vec<(T, T, u8)>,
    c: Vec<(T, T, u8)>,
    x: Vec<(T, T, u8)>,
}

fn case<T: Float, S: Strategy<Value = T> + Clone + 'static>(
    v: S,
    forward: bool,
) -> impl Strategy<Value = Case<T>> {
    (1usize..=10, 0usize..=10).prop_flat_map(move |(c, other)| {
        let (rows, cols) = if forward {
            (c, other)
        } else {
            (other.max(1), c)
        };
        let e = (v.clone(), v.clone(), 0u8..10);
        (
            proptest::collection::vec([v.clone(), v.clone(), v.clone(), v.clone(), v.clone()], c),
            proptest::collection::vec(e.clone(), rows * cols),
            proptest::collection::vec(e.clone(), rows),
            proptest::collection::vec(e, cols),
        )
            .prop_map(move |(params, a, cc, x)| Case {
                params,
                rows,
                cols,
                a,
                c: cc,
                x,
            })
    })
}

fn layer<T: Float>(case: &Case<T>) -> (BatchNorm<T>, Vec<Ch>) {
    let eps = case.params[0][4].abs();
    let mut var: Vec<T> = case.params.iter().map(|p| p[3].abs()).collect();
    if eps == T::zero() {
        for v in var.iter_mut().filter(|v| **v == T::zero()) {
            *v = T::one();
        }
    }
    let col = |i: usize| case.params.iter().map(move |p| p[i]).collect::<Vec<T>>();
    let bn = BatchNorm::new(col(0), col(1), col(2), var.clone(), eps).unwrap();
    let chs = channels_of(&bn);
    (bn, chs)
}

fn form<T: Float>(case: &Case<T>, allow_inf: bool) -> AffineForm<T> {
    let (alo, ahi) = intervals(&case.a, allow_inf);
    let (clo, chi) = intervals(&case.c, allow_inf);
    AffineForm::new(
        TensorBox::new(Shape::new(&[case.rows, case.cols]).unwrap(), alo, ahi).unwrap(),
        TensorBox::new(Shape::new(&[case.rows]).unwrap(), clo, chi).unwrap(),
    )
    .unwrap()
}

/// The layer's enclosure on every kernel (`Kernel::ALL`: the dispatched one, FMA and
/// the portable one).
fn kernels<T: Float>(bn: &BatchNorm<T>) -> [Enclosure; 3] {
    Kernel::ALL.map(|k| bn.enclose().with_kernel(k))
}

fn f(x: impl Float) -> f64 {
    x.to_f64_exact()
}

// ------------------------------------------------------------ runs

fn run_compose<T: Float>(case: &Case<T>) {
    let (bn, chs) = layer(case);
    let fm = form(case, true);
    for enc in kernels(&bn) {
        check_composed(&chs, &fm, &enc.compose(&fm).unwrap());
    }
}

fn assert_dot_sound(y: (f64, f64), exact: (Ext, Ext), what: &str) {
    assert!(
        !y.0.is_nan() && !y.1.is_nan() && y.0 <= y.1,
        "{what}: invalid [{}, {}]",
        y.0,
        y.1
    );
    assert!(
        ext(y.0) <= exact.0,
        "{what}: lo {:e} above the exact minimum {:?}",
        y.0,
        exact.0
    );
    assert!(
        ext(y.1) >= exact.1,
        "{what}: hi {:e} below the exact maximum {:?}",
        y.1,
        exact.1
    );
}

fn run_concretize<T: Float>(case: &Case<T>) {
    let fm = form(case, true);
    let (xlo, xhi) = intervals(&case.x, true);
    let x = TensorBox::new(Shape::new(&[case.cols]).unwrap(), xlo, xhi).unwrap();
    let y = fm.concretize(&x).unwrap();
    let xs: Vec<(f64, f64)> = x
        .lo()
        .iter()
        .zip(x.hi())
        .map(|(&l, &h)| (f(l), f(h)))
        .collect();
    for i in 0..case.rows {
        let row = i * case.cols..(i + 1) * case.cols;
        let a: Vec<(f64, f64)> = fm.a().lo()[row.clone()]
            .iter()
            .zip(&fm.a().hi()[row])
            .map(|(&l, &h)| (f(l), f(h)))
            .collect();
        let exact = exact_dot(&a, &xs, (f(fm.c().lo()[i]), f(fm.c().hi()[i])));
        assert_dot_sound((f(y.lo()[i]), f(y.hi()[i])), exact, &format!("row {i}"));
    }
}

fn run_backward<T: Float>(case: &Case<T>) {
    let (bn, chs) = layer(case);
    let fm = form(case, true);
    for enc in kernels(&bn) {
        check_backsubstituted(&chs, &fm, &enc.backward(&fm).unwrap());
    }
}

/// lower(x) ≤ Λ·BN(x) + d ≤ upper(x) for every x in the box and Λ ∈ [Λ], d ∈ [d]: the
/// exact minimum over the box corners and Λ corners of the gap is ≥ 0.
fn run_float_forms<T: Float>(case: &Case<T>) {
    let (bn, chs) = layer(case);
    let fm = form(case, false);
    let (xlo, xhi) = intervals(&case.x, false);
    let x = TensorBox::new(Shape::new(&[case.cols]).unwrap(), xlo, xhi).unwrap();
    let memo = Memo::new(&chs);
    for (enc, lower) in kernels(&bn)
        .into_iter()
        .flat_map(|e| [(e.clone(), true), (e, false)])
    {
        let back = enc.backward(&fm).unwrap();
        let ff = if lower {
            back.lower_bound_on(&x).unwrap()
        } else {
            back.upper_bound_on(&x).unwrap()
        };
        for i in 0..case.rows {
            let cst = f(ff.constant()[i]);
            if cst.is_infinite() {
                assert!(if lower { cst < 0.0 } else { cst > 0.0 });
                continue;
            }
            let d = if lower {
                f(fm.c().lo()[i])
            } else {
                f(fm.c().hi()[i])
            };
            let cols = case.cols;
            let row = i * cols..(i + 1) * cols;
            let lam: Vec<(f64, f64)> = fm.a().lo()[row.clone()]
                .iter()
                .zip(&fm.a().hi()[row.clone()])
                .map(|(&l, &h)| (f(l), f(h)))
                .collect();
            let xs: Vec<(f64, f64)> = x
                .lo()
                .iter()
                .zip(x.hi())
                .map(|(&l, &h)| (f(l), f(h)))
                .collect();
            let coef: Vec<f64> = ff.coef()[row].iter().map(|&c| f(c)).collect();
            let sgn = float_form_gap(&memo, &lam, &xs, &coef, d, cst, lower);
            assert_ne!(
                sgn,
                Ordering::Less,
                "row {i}: the {} float bound is crossed",
                if lower { "lower" } else { "upper" }
            );
        }
    }
}

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn compose_f64_contains_exact(case in case(hard_f64(), true)) { run_compose(&case); }
    #[test]
    fn compose_f32_contains_exact(case in case(hard_f32(), true)) { run_compose(&case); }
    #[test]
    fn concretize_f64_contains_exact(case in case(hard_f64(), true)) { run_concretize(&case); }
    #[test]
    fn concretize_f32_contains_exact(case in case(hard_f32(), true)) { run_concretize(&case); }
    #[test]
    fn backward_f64_contains_exact(case in case(hard_f64(), false)) { run_backward(&case); }
    #[test]
    fn backward_f32_contains_exact(case in case(hard_f32(), false)) { run_backward(&case); }
    #[test]
    fn float_forms_f64_bound_exact(case in case(-8.0f64..8.0, false)) { run_float_forms(&case); }
    #[test]
    fn float_forms_f32_bound_exact(case in case(hard_f32().prop_map(|x| if x.abs() < 1e30 { x } else { 1.5 }), false)) { run_float_forms(&case); }
}
