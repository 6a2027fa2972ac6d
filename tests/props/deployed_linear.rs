//! Deployed linear bounds (`Bounds::backward_over`, `Bounds::compose_over`) against the
//! test kit's exact emulation of the runtimes' recipes (and, for `any`, of forms with random
//! K-ulp errors): at points `x` of the layer's input
//! box (endpoints, midpoints, mixtures), for every output the emulated runtime computes at
//! each `x_j` (flush-to-zero on and off), the form's bounds at `x` contain `Λ·y + d`,
//! decided in exact rationals. Layers and boxes of every rank, f32 and f64, biased to hard
//! values. The same checks on the real forms find runtime outputs outside (the test has
//! teeth).

use crate::emulated::{ordinary_case, outputs, points};
use bnbound::{AffineForm, BatchNorm, Error, Float, Mode, Runtime, Semantics, Shape, TensorBox};
use bnbound_testkit::{hard_f32, hard_f64, intervals, shaped_case, shaped_layer, ShapedCase};
use num_rational::BigRational;
use proptest::prelude::*;

fn q(x: f64) -> BigRational {
    BigRational::from_float(x).expect("finite")
}

/// A case's layer and a one-sample box `[1, C, …]` of its shape.
fn layer_and_box<T: Float>(case: &ShapedCase<T>) -> (BatchNorm<T>, TensorBox<T>) {
    let (bn, _) = shaped_layer(case);
    let mut dims = vec![1];
    dims.extend(&case.sample);
    let shape = Shape::new(&dims).unwrap();
    let (lo, hi) = intervals(&case.entries[..shape.len()], false);
    (bn, TensorBox::new(shape, lo, hi).unwrap())
}

/// Whether the form `g` (rows of `cols` coefficients over `x`) contains, at the point `x`,
/// `Σ_j λ_j·y_j + d` for every choice of `y_j` among `ys[j]`; `None` when the form has an
/// infinite entry in that row (nothing to decide).
fn row_holds<T: Float>(
    g: &AffineForm<T>,
    r: usize,
    x: &[T],
    lam: &[f64],
    d: f64,
    ys: &[Vec<f64>],
) -> Option<bool> {
    let cols = g.cols();
    let f = |v: T| v.to_f64_exact();
    let (alo, ahi) = (g.a().lo(), g.a().hi());
    let (clo, chi) = (f(g.c().lo()[r]), f(g.c().hi()[r]));
    if !clo.is_finite() || !chi.is_finite() {
        return None;
    }
    let (mut lower, mut upper) = (q(clo), q(chi));
    let (mut low, mut high) = (q(d), q(d));
    for j in 0..cols {
        let (al, ah) = (f(alo[r * cols + j]), f(ahi[r * cols + j]));
        if !al.is_finite() || !ah.is_finite() {
            return None;
        }
        let xj = q(f(x[j]));
        let (p, s) = (q(al) * &xj, q(ah) * &xj);
        lower += p.clone().min(s.clone());
        upper += p.max(s);
        let terms: Vec<BigRational> = ys[j].iter().map(|&y| q(lam[j]) * q(y)).collect();
        low += terms.iter().min().unwrap().clone();
        high += terms.iter().max().unwrap().clone();
    }
    Some(lower <= low && high <= upper)
}

/// One case, one runtime: `backward_over` with a one-row `Λ` and `compose_over` with the
/// identity form. Returns (rows decided, rows the real form misses).
fn run<T: Float>(case: &ShapedCase<T>, runtime: Runtime, lam_seed: u64) -> (usize, usize) {
    let (bn, input) = layer_and_box(case);
    let n = input.shape().len();
    let sample = case.sample.clone();
    let deployed = bn.bounds(Mode::Fast, Semantics::Deployed(runtime)).unwrap();
    let real = bn.bounds(Mode::Fast, Semantics::Real).unwrap();
    // Λ: dyadic coefficients in [−4, 4] (some zero), d = 1/4.
    let mut s = lam_seed | 1;
    let lam: Vec<f64> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s % 65) as f64 - 32.0) / 8.0
        })
        .collect();
    let d = 0.25;
    let form = AffineForm::point(
        1,
        n,
        lam.iter().map(|&v| T::from_f64_down(v)).collect(),
        vec![T::from_f64_down(d)],
    )
    .unwrap();
    let back = match deployed.backward_over(&form, &sample, &input) {
        Err(Error::DeployedNan { .. }) => return (0, 0), // decided by the IBP tests
        r => r.unwrap(),
    };
    let back_real = real.backward_over(&form, &sample, &input).unwrap();
    // The identity form x = z, composed.
    let mut eye = vec![T::zero(); n * n];
    for j in 0..n {
        eye[j * n + j] = T::one();
    }
    let id = AffineForm::point(n, n, eye, vec![T::zero(); n]).unwrap();
    let comp = deployed.compose_over(&id, &sample, &input).unwrap();
    let comp_real = real.compose_over(&id, &sample, &input).unwrap();
    let (mut decided, mut missed) = (0, 0);
    for x in points(input.lo(), input.hi()) {
        let ys: Option<Vec<Vec<f64>>> = (0..n)
            .map(|j| outputs(&bn, input.shape().channel_of(j), x[j], runtime))
            .collect();
        let Some(ys) = ys else { continue };
        if let Some(ok) = row_holds(&back, 0, &x, &lam, d, &ys) {
            assert!(
                ok,
                "backward_over: Λ·y + d escapes the deployed form at x = {x:?}"
            );
            decided += 1;
            if row_holds(&back_real, 0, &x, &lam, d, &ys) == Some(false) {
                missed += 1;
            }
        }
        for i in 0..n {
            let mut unit = vec![0.0; n];
            unit[i] = 1.0;
            if let Some(ok) = row_holds(&comp, i, &x, &unit, 0.0, &ys) {
                assert!(
                    ok,
                    "compose_over: row {i} escapes the deployed form at x = {x:?}"
                );
                decided += 1;
                if row_holds(&comp_real, i, &x, &unit, 0.0, &ys) == Some(false) {
                    missed += 1;
                }
            }
        }
    }
    (decided, missed)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deployed_forms_f32_contain_runtime(case in shaped_case(hard_f32()), seed in any::<u64>()) {
        for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
            run(&case, rt, seed);
        }
    }

    #[test]
    fn deployed_forms_f64_contain_runtime(case in shaped_case(hard_f64()), seed in any::<u64>()) {
        for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
            run(&case, rt, seed);
        }
    }
}

proptest! {
    // `any` evaluates its model and the emulated orders per element: fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_forms_contain_every_order_f32(case in shaped_case(hard_f32()), seed in any::<u64>(), ulps in 0u32..=4) {
        run(&case, Runtime::Any { ulps }, seed);
    }

    #[test]
    fn any_forms_contain_every_order_f64(case in shaped_case(hard_f64()), seed in any::<u64>(), ulps in 0u32..=4) {
        run(&case, Runtime::Any { ulps }, seed);
    }
}

/// The check has teeth: on ordinary layers the real forms miss runtime outputs that the
/// deployed forms hold, and most rows are decided (finite).
#[test]
fn real_forms_miss_runtime_outputs() {
    let (mut decided, mut missed) = (0, 0);
    for k in 0..40u64 {
        let case = ordinary_case(k, 1, 1);
        for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
            let (d, m) = run(&case, rt, k);
            decided += d;
            missed += m;
        }
    }
    assert!(decided > 1000, "only {decided} rows decided");
    assert!(
        missed > 0,
        "the real forms never missed a runtime output ({decided} rows)"
    );
}

/// `any`: forms exist (the model's image minus the real image per element) and hold the
/// outputs of PyTorch's recipe, exactly on a point box (where the deviation is tight); an
/// input box that is not one element per column is refused.
#[test]
fn any_forms_hold_and_wrong_boxes_are_refused() {
    let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![3.0], 0.0).unwrap();
    let x = TensorBox::new(Shape::new(&[1]).unwrap(), vec![1.0f32], vec![1.0]).unwrap();
    let lam = AffineForm::point(1, 1, vec![1.0f32], vec![0.0]).unwrap();
    let b = bn
        .bounds(Mode::Fast, Semantics::Deployed(Runtime::Any { ulps: 2 }))
        .unwrap();
    let back = b.backward_over(&lam, &[1], &x).unwrap();
    let torch = bn.deployed(Runtime::PytorchCpu).outputs_at(0, 1.0).unwrap();
    let (a, c) = (back.a(), back.c());
    assert!(a.lo()[0] + c.lo()[0] <= torch.0 && torch.1 <= a.hi()[0] + c.hi()[0]);
    // A point box: the constant's width is a few ulps of the output.
    assert!(c.hi()[0] - c.lo()[0] < 1e-5, "{:?}", (c.lo()[0], c.hi()[0]));
    let wrong = TensorBox::new(Shape::new(&[2]).unwrap(), vec![0.0f32; 2], vec![1.0; 2]).unwrap();
    let ort = bn.deployed(Runtime::OnnxruntimeCpu);
    assert!(ort.backward_over(&lam, &[1], &wrong).is_err());
    assert!(b.backward_over(&lam, &[1], &wrong).is_err());
}

/// A zero coefficient on an element whose runtime output is infinite: the deployed network
/// computes 0·∞ = NaN there, so the row's constant is unbounded, never the 0 of reals
/// (the case a soundness review raised: γ = 2, σ² = 1, x = f32::MAX gives +∞ in f32).
#[test]
fn zero_coefficient_times_an_infinite_output_is_unbounded() {
    let bn = BatchNorm::new(vec![2.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0).unwrap();
    let x = TensorBox::new(Shape::new(&[1]).unwrap(), vec![f32::MAX], vec![f32::MAX]).unwrap();
    let torch = bn.deployed(Runtime::PytorchCpu);
    assert_eq!(torch.outputs_at(0, f32::MAX).unwrap().1, f32::INFINITY);
    let zero = AffineForm::point(1, 1, vec![0.0f32], vec![0.0]).unwrap();
    let back = torch.backward_over(&zero, &[1], &x).unwrap();
    assert_eq!(
        (back.c().lo()[0], back.c().hi()[0]),
        (f32::NEG_INFINITY, f32::INFINITY)
    );
    // A nonzero coefficient gives an infinite constant on the side of the infinite output.
    let one = AffineForm::point(1, 1, vec![1.0f32], vec![0.0]).unwrap();
    let back = torch.backward_over(&one, &[1], &x).unwrap();
    assert_eq!(back.c().hi()[0], f32::INFINITY);
}
