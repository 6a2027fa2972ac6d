//! Channels whose scale `γ/√q` or offset `β − γμ/√q` is beyond the `f64` range although
//! the layer's output `γ(x − μ)/√q + β` is not: the bounds must be
//! finite and contain the exact image (rational oracle).

use bnbound::{BatchNorm, Kernel, Shape, TensorBox};
use bnbound_testkit::{check_element, cmp_output, Ch};
use proptest::prelude::*;
use std::cmp::Ordering;

/// IBP of one f64 channel over point or interval boxes, checked with the oracle on both
/// kernels; returns the bounds of the dispatched kernel.
fn ibp(p: [f64; 5], boxes: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let [g, b, m, v, e] = p;
    let bn = BatchNorm::new(vec![g], vec![b], vec![m], vec![v], e).unwrap();
    let shape = Shape::new(&[boxes.len(), 1]).unwrap();
    let (lo, hi): (Vec<f64>, Vec<f64>) = boxes.iter().copied().unzip();
    let input = TensorBox::new(shape, lo, hi).unwrap();
    let ch = Ch { g, b, m, v, e };
    let mut first = Vec::new();
    for kernel in Kernel::ALL {
        let out = bn.enclose().with_kernel(kernel).ibp(&input).unwrap();
        for (i, &(l, h)) in boxes.iter().enumerate() {
            let (yl, yh) = (out.lo()[i], out.hi()[i]);
            check_element(ch, l, h, yl, yh).unwrap_or_else(|m| panic!("box {i}: {m}"));
            if kernel == Kernel::Auto {
                first.push((yl, yh));
            }
        }
    }
    first
}

/// Whether the exact `y(x)` lies strictly inside `(−MAX/4, MAX/4)`.
fn comfortably_finite(ch: Ch, x: f64) -> bool {
    let lim = f64::MAX / 4.0;
    cmp_output(ch, x, lim) == Ordering::Greater && cmp_output(ch, x, -lim) == Ordering::Less
}

#[test]
fn offset_overflow_at_the_mean_gives_beta() {
    // o = β − γμ/√q = 1e600 overflows; at x = μ the exact output is β = 0.
    let out = ibp([-1e300, 0.0, 1e300, 1.0, 0.0], &[(1e300, 1e300)]);
    assert_eq!(out[0], (0.0, 0.0));
    // An interval around the mean: the bounds are the exact images of its ends (±1e300·ulp
    // overflows), so only the point case is finite; soundness is checked by the oracle.
    ibp(
        [-1e300, 0.0, 1e300, 1.0, 0.0],
        &[(1e300f64.next_down(), 1e300f64.next_up())],
    );
}

#[test]
fn scale_overflow_with_tiny_input_is_finite() {
    // s = 1.7e308/√(5e-324) ≈ 7.6e469 overflows; y(5e-324) = 1.7e308·√(5e-324) ≈ 3.78e146.
    let tiny = f64::from_bits(1);
    let out = ibp([1.7e308, 0.0, 0.0, tiny, 0.0], &[(tiny, tiny)]);
    let (lo, hi) = out[0];
    assert!(lo > 3.7e146 && hi < 3.8e146, "{lo} {hi}");
    assert!(bnbound::ulps_between(lo, hi) <= 8, "{lo} {hi}");
}

#[test]
fn overflowing_difference_x_minus_mean_stays_sound() {
    // x − μ = 1.5e308 − (−1.5e308) exceeds MAX; the direct path halves it (exactly, then
    // doubles through the exponent) and the oracle checks the bounds.
    ibp(
        [0.5, -1.7e308, -1.5e308, 1e-300, 0.0],
        &[(1.5e308, 1.5e308), (-1.5e308, 1e308)],
    );
}

#[test]
fn truly_overflowing_output_still_reaches_infinity() {
    // y(MAX) = 1e300·MAX: beyond the range; the upper bound must be +∞.
    let out = ibp([1e300, 0.0, 0.0, 1.0, 0.0], &[(1.0, f64::MAX)]);
    assert_eq!(out[0].1, f64::INFINITY);
    assert!(out[0].0 >= 9.9e299);
}

fn magnitude() -> impl Strategy<Value = f64> {
    prop_oneof![
        // 2^k for k in -1074..=-1000, exactly (subnormal and normal).
        (-1074i64..=-1000).prop_map(|k| if k < -1022 {
            f64::from_bits(1u64 << (k + 1074))
        } else {
            f64::from_bits(((k + 1023) as u64) << 52)
        }),
        (250i32..=1023).prop_map(|k| 2f64.powi(k)),
        (-2.0f64..2.0),
        Just(f64::MAX),
        Just(f64::from_bits(1)),
    ]
}

fn signed() -> impl Strategy<Value = f64> {
    (magnitude(), any::<bool>(), 1.0f64..2.0).prop_map(|(m, neg, f)| {
        let x = if m.abs() < 1.0 || m == f64::MAX {
            m
        } else {
            m * f
        };
        let x = if x.is_finite() { x } else { f64::MAX };
        if neg {
            -x
        } else {
            x
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Huge γ and μ, tiny σ²+ε: sound always, finite where the exact output is.
    #[test]
    fn overflowing_channels_are_sound_and_finite(
        g in signed(), b in signed(), m in signed(),
        v in magnitude().prop_map(f64::abs), e in prop_oneof![Just(0.0), Just(1e-5)],
        xs in proptest::collection::vec(signed(), 1..6),
    ) {
        prop_assume!(g != 0.0 && v + e > 0.0);
        // The mean itself and subnormal inputs are where an overflowing (s, o) hides a
        // finite output.
        let mut xs = xs;
        xs.extend([m, f64::from_bits(1), -f64::from_bits(3), m.next_up().min(f64::MAX)]);
        let boxes: Vec<(f64, f64)> = xs.iter().map(|&x| (x, x)).collect();
        let out = ibp([g, b, m, v, e], &boxes);
        let ch = Ch { g, b, m, v, e };
        for (i, &x) in xs.iter().enumerate() {
            if comfortably_finite(ch, x) {
                prop_assert!(out[i].0.is_finite() && out[i].1.is_finite(),
                    "x = {x}: exact output is finite but the bounds are {:?}", out[i]);
            }
        }
    }
}

#[test]
fn f32_layers_never_overflow_the_f64_enclosure() {
    // An f32 layer's scale is at most MAX_f32/√(2⁻¹⁴⁹) ≈ 2^203: the f64 path stays finite.
    let tiny = f32::from_bits(1);
    let bn = BatchNorm::new(vec![f32::MAX], vec![0.0], vec![0.0], vec![tiny], 0.0).unwrap();
    let s = bn.enclose().channel(0).scale();
    assert!(s.hi().is_finite());
    let x = TensorBox::new(Shape::new(&[1]).unwrap(), vec![tiny], vec![tiny]).unwrap();
    let y = bn.enclose().ibp(&x).unwrap();
    // Exact: MAX·2⁻¹⁴⁹/2^-74.5 ≈ 1.3e16, well inside the f32 range.
    assert!(y.lo()[0].is_finite() && y.hi()[0].is_finite());
}

#[test]
fn derivative_with_overflowing_scale_is_finite_and_sound() {
    // s ≈ 7.6e469 overflows; s·d for d = 2^-1074 is ≈ 3.78e146.
    let tiny = f64::from_bits(1);
    let p = [1.7e308, 0.0, 0.0, tiny, 0.0];
    let bn = BatchNorm::new(vec![p[0]], vec![p[1]], vec![p[2]], vec![p[3]], p[4]).unwrap();
    let shape = Shape::new(&[1, 1, 2]).unwrap();
    let d = TensorBox::new(shape, vec![tiny, -tiny], vec![tiny, tiny]).unwrap();
    let out = bn.enclose().derivative_chain(&d).unwrap();
    let ch = Ch {
        g: p[0],
        b: p[1],
        m: p[2],
        v: p[3],
        e: p[4],
    }
    .scale_only();
    for i in 0..2 {
        let (yl, yh) = (out.lo()[i], out.hi()[i]);
        check_element(ch, d.lo()[i], d.hi()[i], yl, yh).unwrap();
        assert!(yl.is_finite() && yh.is_finite(), "{yl} {yh}");
    }
}
