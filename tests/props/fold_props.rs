//! Property tests: folded interval weights contain the exact real composition of the
//! BatchNorm (exact `s`, `o`) and the neighbouring layer, decided by the rational oracle;
//! the float helper's radii bound the distance to the folded intervals exactly.

#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

use bnbound::fold::{Folded, LinearLayer};
use bnbound::{BatchNorm, Float, Kernel};
use bnbound_testkit::{check_bias, check_element, hard_f32, hard_f64, Ch, Memo};
use num_rational::BigRational;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Case<T> {
    params: Vec<[T; 4]>,
    eps: T,
    outs: usize,
    k: usize,
    weight: Vec<T>,
    bias: Vec<T>,
}

fn case<T: Float, S: Strategy<Value = T> + Clone + 'static>(
    v: S,
) -> impl Strategy<Value = Case<T>> {
    (1usize..=6, 1usize..=4, 1usize..=4).prop_flat_map(move |(c, outs, k)| {
        (
            proptest::collection::vec([v.clone(), v.clone(), v.clone(), v.clone()], c),
            v.clone(),
            // Enough weights for both directions: (C·k) per row, max(C, outs) rows.
            proptest::collection::vec(v.clone(), c.max(outs) * c.max(outs) * k),
            proptest::collection::vec(v.clone(), c.max(outs)),
        )
            .prop_map(move |(params, eps, weight, bias)| Case {
                params,
                eps,
                outs,
                k,
                weight,
                bias,
            })
    })
}

fn layer<T: Float>(case: &Case<T>) -> (BatchNorm<T>, Vec<Ch>) {
    let eps = case.eps.abs();
    let var: Vec<T> = case
        .params
        .iter()
        .map(|p| {
            if eps == T::zero() && p[3] == T::zero() {
                T::one()
            } else {
                p[3].abs()
            }
        })
        .collect();
    let col = |i: usize| case.params.iter().map(|p| p[i]).collect::<Vec<T>>();
    let bn = BatchNorm::new(col(0), col(1), col(2), var.clone(), eps).unwrap();
    let f = |x: T| x.to_f64_exact();
    let chs = (0..bn.channels())
        .map(|c| Ch {
            g: f(bn.gamma()[c]),
            b: f(bn.beta()[c]),
            m: f(bn.running_mean()[c]),
            v: f(var[c]),
            e: f(eps),
        })
        .collect();
    (bn, chs)
}

fn q(x: f64) -> BigRational {
    BigRational::from_float(x).unwrap()
}

/// `[m − r, m + r] ⊇ [lo, hi]` exactly for every entry of the float helper.
fn check_float_helper<T: Float>(f: &Folded<T>) {
    let p = f.to_float();
    let pairs = [
        (p.weight(), p.weight_radius(), f.weight()),
        (p.bias(), p.bias_radius(), f.bias()),
    ];
    for (mid, rad, b) in pairs {
        for i in 0..mid.len() {
            let (m, r) = (mid[i].to_f64_exact(), rad[i].to_f64_exact());
            let (lo, hi) = (b.lo()[i].to_f64_exact(), b.hi()[i].to_f64_exact());
            assert!(lo <= m && m <= hi, "midpoint outside [{lo:e}, {hi:e}]");
            if r.is_finite() && lo.is_finite() && hi.is_finite() {
                assert!(
                    q(m) - q(r) <= q(lo) && q(m) + q(r) >= q(hi),
                    "radius {r:e} too small"
                );
            } else {
                assert!(r == f64::INFINITY || (lo.is_finite() && hi.is_finite()));
            }
        }
    }
}

fn run<T: Float>(case: &Case<T>) {
    let (bn, chs) = layer(case);
    let c = bn.channels();
    let f = |x: T| x.to_f64_exact();
    for enc in Kernel::ALL.map(|k| bn.enclose().with_kernel(k)) {
        // BatchNorm after the layer: O = C rows of (outs·k) weights.
        let cols = case.outs * case.k;
        let pre = LinearLayer::new(
            &[c, case.outs, case.k],
            case.weight[..c * cols].to_vec(),
            Some(case.bias[..c].to_vec()),
        )
        .unwrap();
        let g = enc.fold_into_preceding(&pre).unwrap();
        for o in 0..c {
            for j in 0..cols {
                let (w, i) = (f(pre.weight()[o * cols + j]), o * cols + j);
                check_element(
                    chs[o].scale_only(),
                    w,
                    w,
                    f(g.weight().lo()[i]),
                    f(g.weight().hi()[i]),
                )
                .unwrap_or_else(|m| panic!("preceding W'[{o}][{j}]: {m}"));
            }
            let b = f(pre.bias()[o]);
            check_element(chs[o], b, b, f(g.bias().lo()[o]), f(g.bias().hi()[o]))
                .unwrap_or_else(|m| panic!("preceding b'[{o}]: {m}"));
        }
        check_float_helper(&g);

        // BatchNorm before the layer: `outs` rows of (C·k) weights, channel c per block.
        let cols = c * case.k;
        let next = LinearLayer::new(
            &[case.outs, c, case.k],
            case.weight[..case.outs * cols].to_vec(),
            Some(case.bias[..case.outs].to_vec()),
        )
        .unwrap();
        let g = enc.fold_into_following(&next).unwrap();
        let expanded: Vec<Ch> = (0..cols).map(|j| chs[j / case.k]).collect();
        let memo = Memo::new(&expanded);
        for o in 0..case.outs {
            let row: Vec<(f64, f64)> = (0..cols)
                .map(|j| {
                    let w = f(next.weight()[o * cols + j]);
                    (w, w)
                })
                .collect();
            for (j, &(w, _)) in row.iter().enumerate() {
                let i = o * cols + j;
                check_element(
                    expanded[j].scale_only(),
                    w,
                    w,
                    f(g.weight().lo()[i]),
                    f(g.weight().hi()[i]),
                )
                .unwrap_or_else(|m| panic!("following W'[{o}][{j}]: {m}"));
            }
            let b = f(next.bias()[o]);
            check_bias(
                &memo,
                &row,
                (b, b),
                (f(g.bias().lo()[o]), f(g.bias().hi()[o])),
                "b'",
            );
        }
        check_float_helper(&g);
    }
}

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 3_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg())]
    #[test]
    fn fold_f64_contains_exact(case in case(hard_f64())) { run(&case); }
    #[test]
    fn fold_f32_contains_exact(case in case(hard_f32())) { run(&case); }
}

#[test]
fn mismatched_channels_are_typed_errors() {
    let bn = BatchNorm::new(
        vec![1.0f32; 2],
        vec![0.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let l = LinearLayer::new(&[3, 3], vec![1.0; 9], None).unwrap();
    assert!(matches!(
        bn.enclose().fold_into_preceding(&l),
        Err(bnbound::Error::ChannelMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        bn.enclose().fold_into_following(&l),
        Err(bnbound::Error::ChannelMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(LinearLayer::new(&[2], vec![1.0f32; 2], None).is_err());
    assert!(LinearLayer::new(&[1, 1], vec![f32::INFINITY], None).is_err());
    assert!(LinearLayer::new(&[1, 1], vec![1.0f32], Some(vec![1.0, 2.0])).is_err());
}

/// CI found this: one channel (σ² = 0, ε = 2^-1073, so √(σ²+ε) is irrational) feeding two
/// columns of a following row with weights +MAX and −MAX. The exact folded bias is
/// `MAX·o − MAX·o + 0 = 0`; an oracle that enclosed the two columns' offsets separately
/// could never decide the sign of that zero gap and gave up. Both kernels' bounds must be
/// judged exactly here.
#[test]
fn exactly_cancelling_columns_of_one_channel() {
    let m = f64::MAX;
    let mut weight = vec![0.0; 18];
    weight[2] = m;
    weight[3] = -m;
    run(&Case {
        params: vec![[354.47307005548686, 0.0, -436.4066565463073, 0.0]],
        eps: 1e-323,
        outs: 3,
        k: 2,
        weight,
        bias: vec![0.0; 3],
    });
}

/// Where ONNX Runtime's own fusion computes NaN (γ = 3·10³⁸ over
/// √(σ² = 10⁻⁴⁵) overflows f32, times a zero weight), the deployed fold is a typed error,
/// not a NaN weight (which the CLI would write as `null` with exit 0).
#[test]
fn deployed_fold_nan_is_a_typed_error() {
    use bnbound::{Error, Runtime};
    let tiny = f32::from_bits(1); // 1.4e-45
    let bn = BatchNorm::new(
        vec![3e38f32, 1.0],
        vec![0.0; 2],
        vec![0.0; 2],
        vec![tiny, 1.0],
        0.0,
    )
    .unwrap();
    let conv = LinearLayer::new(&[2, 1], vec![0.0f32, 1.0], None).unwrap();
    let e = bn
        .deployed(Runtime::OnnxruntimeCpu)
        .fold_into_preceding(&conv)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::DeployedFoldNan {
                what: "weight",
                index: 0,
                channel: 0
            }
        ),
        "{e}"
    );
    // The real fold of the same layer is finite and sound: 0·s = 0 exactly.
    let real = bn.enclose().fold_into_preceding(&conv).unwrap();
    assert_eq!((real.weight().lo()[0], real.weight().hi()[0]), (0.0, 0.0));
}

/// Without a conv bias ONNX Runtime computes the fused bias as
/// `β − μ·s`, not `(0 − μ)·s + β`: the two differ in the sign of a zero (β = −0, μ = 0:
/// ORT −0, the other formula +0). The fused initializer must match bit for bit.
#[test]
fn deployed_fold_zero_signs_match_onnxruntime() {
    use bnbound::Runtime;
    // Written out by IEEE 754's rules (s = 2/√4 = 1 exactly, μ·s = μ):
    // −0 − (+0) = −0; +0 − (+0) = +0; −0 − (−0) = −0 + (+0) = +0; +0 − (−0) = +0.
    for (beta, mean, want) in [
        (-0.0f32, 0.0f32, -0.0f32),
        (0.0, 0.0, 0.0),
        (-0.0, -0.0, 0.0),
        (0.0, -0.0, 0.0),
    ] {
        let bn = BatchNorm::new(vec![2.0f32], vec![beta], vec![mean], vec![4.0], 0.0).unwrap();
        let conv = LinearLayer::new(&[1, 1], vec![1.0f32], None).unwrap();
        let f = bn
            .deployed(Runtime::OnnxruntimeCpu)
            .fold_into_preceding(&conv)
            .unwrap();
        assert_eq!(
            f.bias()[0].to_bits(),
            want.to_bits(),
            "β = {beta:?}, μ = {mean:?}"
        );
    }
}
