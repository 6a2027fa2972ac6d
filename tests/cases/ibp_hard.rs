//! Named hard cases for the enclosure and IBP, each checked against the rational oracle.

#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

use bnbound::{check, BatchNorm, Float, ScaleSign, Shape, TensorBox};
use bnbound_testkit::{check_element, cmp_output, cmp_scale, Ch};
use std::cmp::Ordering;

/// Builds a one-channel layer, runs IBP on `boxes` (shape `(n, 1)`), checks every element
/// with the oracle and returns the output box.
fn ibp1<T: Float>(g: T, b: T, m: T, v: T, e: T, boxes: &[(T, T)]) -> TensorBox<T> {
    let bn = BatchNorm::new(vec![g], vec![b], vec![m], vec![v], e).unwrap();
    let shape = Shape::new(&[boxes.len(), 1]).unwrap();
    let (lo, hi): (Vec<T>, Vec<T>) = boxes.iter().copied().unzip();
    let input = TensorBox::new(shape, lo, hi).unwrap();
    let out = bn.enclose().ibp(&input).unwrap();
    let ch = Ch {
        g: g.to_f64_exact(),
        b: b.to_f64_exact(),
        m: m.to_f64_exact(),
        v: v.to_f64_exact(),
        e: e.to_f64_exact(),
    };
    for i in 0..boxes.len() {
        let (l, h) = (input.lo()[i].to_f64_exact(), input.hi()[i].to_f64_exact());
        let (yl, yh) = (out.lo()[i].to_f64_exact(), out.hi()[i].to_f64_exact());
        check_element(ch, l, h, yl, yh).unwrap_or_else(|m| panic!("box {i}: {m}"));
    }
    out
}

#[test]
fn zero_gamma_maps_every_box_to_beta() {
    let inf = f64::INFINITY;
    let out = ibp1(
        0.0,
        0.75,
        3.0,
        2.0,
        1e-5,
        &[(-inf, inf), (1.0, 2.0), (inf, inf)],
    );
    assert!(out.lo().iter().all(|&y| y == 0.75) && out.hi().iter().all(|&y| y == 0.75));
    let out = ibp1(
        -0.0f32,
        -1.5,
        3.0,
        2.0,
        1e-5,
        &[(f32::NEG_INFINITY, f32::INFINITY)],
    );
    assert_eq!((out.lo()[0], out.hi()[0]), (-1.5, -1.5));
}

#[test]
fn negative_gamma_swaps_endpoints() {
    // y = −2x + 1 exactly (γ = −2, σ²+ε = 1).
    let out = ibp1(-2.0f64, 1.0, 0.0, 1.0, 0.0, &[(-1.0, 3.0)]);
    assert!(out.lo()[0] <= -5.0 && out.hi()[0] >= 3.0);
    assert!(out.lo()[0] >= (-5.0f64).next_down() && out.hi()[0] <= 3.0f64.next_up());
    ibp1(
        -0.3f32,
        0.2,
        -0.7,
        0.01,
        1e-5,
        &[(-1.0, 3.0), (0.5, 0.5), (-2.0, -1.0)],
    );
}

#[test]
fn tiny_gamma_scale_near_underflow() {
    // s = 2^-1074 / 2^60 underflows: the scale interval is [0, 2^-1074] but its sign is exact.
    let tiny = f64::from_bits(1);
    let bn = BatchNorm::new(vec![tiny], vec![0.0], vec![0.0], vec![2f64.powi(120)], 0.0).unwrap();
    let ch = bn.enclose().channel(0);
    assert_eq!(ch.scale_sign(), ScaleSign::Positive);
    assert_eq!((ch.scale().lo(), ch.scale().hi()), (0.0, tiny));
    let inf = f64::INFINITY;
    let out = ibp1(
        tiny,
        0.0,
        0.0,
        2f64.powi(120),
        0.0,
        &[(1.0, 1e300), (-inf, 1.0), (1.0, inf)],
    );
    assert_eq!(out.lo()[1], -inf);
    assert_eq!(out.hi()[2], inf);
    ibp1(
        -f32::from_bits(1),
        0.0,
        1.0,
        1e30,
        0.0,
        &[(-1e30, 1e30), (f32::NEG_INFINITY, 0.0)],
    );
}

#[test]
fn zero_variance() {
    ibp1(1.5f32, 0.25, 0.1, 0.0, 1e-5, &[(-1.0, 1.0), (0.1, 0.1)]);
    ibp1(1.5f64, 0.25, 0.1, -0.0, 1e-5, &[(-1.0, 1.0), (0.1, 0.1)]);
}

#[test]
fn zero_eps() {
    let out = ibp1(1.0f64, 0.0, 0.0, 2.0, 0.0, &[(1.0, 1.0)]);
    // 1/√2 is irrational: the f64 bounds are distinct and near.
    assert!(out.lo()[0] < out.hi()[0]);
    assert!(bnbound::ulps_between(out.lo()[0], out.hi()[0]) <= 4);
    ibp1(0.9f32, -0.1, 0.3, 0.5, 0.0, &[(-1.0, 1.0)]);
}

#[test]
fn tiny_denominator_huge_scale() {
    // σ² = 0, ε = 2^-1074: √ε = 2^-537, s = γ·2^537.
    let tiny = f64::from_bits(1);
    ibp1(
        1.0,
        0.0,
        0.0,
        0.0,
        tiny,
        &[(-1.0, 1.0), (1e-300, 2e-300), (0.0, 0.0)],
    );
    ibp1(
        1.0f32,
        0.0,
        0.0,
        0.0,
        f32::from_bits(1),
        &[(-1.0, 1.0), (1e-30, 1e-30)],
    );
}

#[test]
fn huge_gamma_overflows_to_infinite_bounds_not_nan() {
    let tiny = f64::from_bits(1);
    // s = MAX · 2^537 is far beyond f64: the scale interval is [MAX, +∞].
    let bn = BatchNorm::new(vec![f64::MAX], vec![1.0], vec![0.0], vec![0.0], tiny).unwrap();
    let ch = bn.enclose().channel(0);
    assert_eq!(
        (ch.scale().lo(), ch.scale().hi()),
        (f64::MAX, f64::INFINITY)
    );
    let out = ibp1(
        f64::MAX,
        1.0,
        0.0,
        0.0,
        tiny,
        &[(1.0, 2.0), (0.0, 0.0), (-1.0, 1.0)],
    );
    assert!(out.lo()[0] >= f64::MAX.next_down() && out.hi()[0] == f64::INFINITY);
    assert!(out.lo()[1] <= 1.0 && out.hi()[1] >= 1.0 && out.hi()[1].is_finite());
    ibp1(
        -f64::MAX,
        f64::MAX,
        -f64::MAX,
        0.0,
        tiny,
        &[(-1.0, 1.0), (0.0, 0.0)],
    );
    // f32: huge γ and tiny ε: the f64 result exceeds f32 range and rounds outward to ±∞/MAX.
    let out = ibp1(f32::MAX, 0.0, 0.0, 0.0, f32::from_bits(1), &[(1.0, 1.0)]);
    assert_eq!((out.lo()[0], out.hi()[0]), (f32::MAX, f32::INFINITY));
}

#[test]
fn large_mean_small_variance() {
    ibp1(
        1.0f32,
        0.0,
        1e6,
        1e-8,
        1e-5,
        &[(1e6, 1e6 + 0.5), (999_999.94, 1e6)],
    );
    ibp1(
        1.0f64,
        0.0,
        1e15,
        1e-12,
        1e-5,
        &[(1e15, 1e15 + 1.0), (1e15, 1e15)],
    );
}

#[test]
fn point_boxes() {
    ibp1(
        0.7f32,
        0.1,
        0.2,
        0.3,
        1e-5,
        &[(0.0, 0.0), (1.0, 1.0), (-3.5, -3.5)],
    );
    ibp1(
        0.7f64,
        0.1,
        0.2,
        0.3,
        1e-5,
        &[(0.0, 0.0), (1.0, 1.0), (-3.5, -3.5)],
    );
}

#[test]
fn unbounded_boxes() {
    let inf = f64::INFINITY;
    let out = ibp1(
        2.0f64,
        1.0,
        0.0,
        1.0,
        0.0,
        &[(-inf, inf), (-inf, 0.0), (0.0, inf), (inf, inf)],
    );
    assert_eq!((out.lo()[0], out.hi()[0]), (-inf, inf));
    assert_eq!(out.lo()[1], -inf);
    assert_eq!(out.hi()[2], inf);
    // [∞, ∞] contains no real number: any lo ≤ hi is sound; the kernel gives [MAX, ∞].
    assert!(out.lo()[3] >= f64::MAX && out.hi()[3] == inf);
    let out = ibp1(-2.0f32, 1.0, 0.0, 1.0, 0.0, &[(f32::NEG_INFINITY, 0.0)]);
    assert_eq!(out.hi()[0], f32::INFINITY);
}

#[test]
fn negative_zero_endpoints_and_parameters() {
    ibp1(
        -0.5f64,
        -0.0,
        -0.0,
        -0.0,
        1e-5,
        &[(-0.0, -0.0), (-0.0, 0.0), (-1.0, -0.0)],
    );
    ibp1(0.5f32, -0.0, -0.0, 1.0, -0.0, &[(-0.0, -0.0), (-0.0, 0.0)]);
}

#[test]
fn subnormal_endpoints() {
    let d = f64::from_bits(1);
    ibp1(
        1.0f64,
        0.0,
        0.0,
        1.0,
        0.0,
        &[(d, d), (-d, d), (d, f64::MIN_POSITIVE)],
    );
    ibp1(0.3f64, 0.0, 0.0, 3.0, 0.0, &[(d, d), (-d, 3.0 * d)]);
    let d = f32::from_bits(1);
    ibp1(0.3f32, 0.0, 0.0, 3.0, 0.0, &[(d, d), (-d, 3.0 * d)]);
}

#[test]
fn cancellation_f32_anchor() {
    // s = 1 + 2^-23 (γ = 1 + 2^-23, σ²+ε = 1), μ = 0, β = −3, x = 3: exact y = 3·2^-23.
    let g = 1.0f32 + f32::EPSILON;
    let out = ibp1(g, -3.0, 0.0, 1.0, 0.0, &[(3.0, 3.0)]);
    let exact_y = 3.0 * f32::EPSILON;
    assert!(out.lo()[0] <= exact_y && exact_y <= out.hi()[0]);
    // The naive evaluation lands above the exact value; bnbound's lower bound does not.
    let naive = g * 3.0 + -3.0;
    assert!(naive > exact_y);
    let ch = Ch {
        g: g as f64,
        b: -3.0,
        m: 0.0,
        v: 1.0,
        e: 0.0,
    };
    assert_eq!(cmp_output(ch, 3.0, naive as f64), Ordering::Greater);
}

#[test]
fn cancellation_f64_anchor() {
    // scale 3, bias −3, x = 1 + 2^-52: exact 3·2^-52 ≈ 6.66e-16.
    let x = 1.0 + f64::EPSILON;
    let out = ibp1(3.0f64, -3.0, 0.0, 1.0, 0.0, &[(x, x)]);
    let exact_y = 3.0 * f64::EPSILON;
    assert!(out.lo()[0] <= exact_y && exact_y <= out.hi()[0]);
    assert!(
        3.0 * x - 3.0 > exact_y,
        "the naive evaluation is above the exact value"
    );
}

#[test]
fn many_channels_all_ranks() {
    let c = 3;
    let bn = BatchNorm::new(
        vec![0.5f32, -2.0, 0.0],
        vec![0.1, 0.2, 0.3],
        vec![1.0, -1.0, 0.0],
        vec![0.5, 2.0, 1.0],
        1e-5,
    )
    .unwrap();
    for dims in [
        vec![c],
        vec![2, c],
        vec![2, c, 3],
        vec![1, c, 2, 2],
        vec![2, c, 1, 2, 3],
    ] {
        let shape = Shape::new(&dims).unwrap();
        let n = shape.len();
        let lo: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 1.0).collect();
        let hi: Vec<f32> = lo.iter().map(|x| x + 0.5).collect();
        let input = TensorBox::new(shape, lo.clone(), hi.clone()).unwrap();
        let out = bn.enclose().ibp(&input).unwrap();
        assert_eq!(out.shape(), &shape);
        for i in 0..n {
            let chan = (i / shape.inner()) % c;
            let ch = Ch {
                g: bn.gamma()[chan] as f64,
                b: bn.beta()[chan] as f64,
                m: bn.running_mean()[chan] as f64,
                v: bn.running_var()[chan] as f64,
                e: bn.eps() as f64,
            };
            check_element(
                ch,
                lo[i] as f64,
                hi[i] as f64,
                out.lo()[i] as f64,
                out.hi()[i] as f64,
            )
            .unwrap_or_else(|m| panic!("{dims:?} element {i}: {m}"));
        }
    }
}

#[test]
fn empty_boxes() {
    let bn = BatchNorm::new(
        vec![1.0f64; 2],
        vec![0.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let input = TensorBox::<f64>::new(Shape::new(&[0, 2, 5]).unwrap(), vec![], vec![]).unwrap();
    assert_eq!(bn.enclose().ibp(&input).unwrap().lo().len(), 0);
    let input = TensorBox::<f64>::new(Shape::new(&[3, 2, 0]).unwrap(), vec![], vec![]).unwrap();
    assert_eq!(bn.enclose().ibp(&input).unwrap().lo().len(), 0);
}

// ------------------------------------------------------------------ the enclosure itself

#[test]
fn scale_enclosure_is_sound_and_one_ulp_wide_on_typical_layers() {
    let mut worst = 0;
    for i in 1..2000u32 {
        let g = (i as f64 * 0.37).sin() * 2.0;
        let v = (i as f64 * 0.11).cos().abs() * 3.0;
        let bn = BatchNorm::new(vec![g], vec![0.0], vec![0.0], vec![v], 1e-5).unwrap();
        let s = bn.enclose().channel(0).scale();
        let ch = Ch {
            g,
            b: 0.0,
            m: 0.0,
            v,
            e: 1e-5,
        };
        assert_ne!(cmp_scale(ch, s.lo()), Ordering::Greater, "case {i}");
        assert_ne!(cmp_scale(ch, s.hi()), Ordering::Less, "case {i}");
        worst = worst.max(bnbound::ulps_between(s.lo(), s.hi()));
    }
    println!("worst scale enclosure width: {worst} ulps");
    assert!(worst <= 3, "scale enclosure {worst} ulps wide");
}

#[test]
fn exact_scale_and_offset_are_points() {
    // γ = 3, σ²+ε = 2.25 (a perfect square): s = 2 exactly, o = 1 − 2·0.5 = 0.
    let bn = BatchNorm::new(vec![3.0f64], vec![1.0], vec![0.5], vec![2.0], 0.25).unwrap();
    let ch = bn.enclose().channel(0);
    assert_eq!((ch.scale().lo(), ch.scale().hi()), (2.0, 2.0));
    assert_eq!((ch.offset().lo(), ch.offset().hi()), (0.0, 0.0));
    assert_eq!(check::cmp_scale(&bn, 0, 2.0), Some(Ordering::Equal));
}

// ------------------------------------------------------------------ tightness

/// Steps from `y` towards the exact value `ord` measures while staying sound.
fn slack(ch: Ch, x: f64, y: f64, lower: bool) -> u32 {
    let mut k = 0;
    let mut z = y;
    loop {
        let next = if lower { z.next_up() } else { z.next_down() };
        let ok = match cmp_output(ch, x, next) {
            Ordering::Equal => true,
            Ordering::Less => lower,
            Ordering::Greater => !lower,
        };
        if !ok || k > 64 {
            return k;
        }
        z = next;
        k += 1;
    }
}

#[test]
fn f64_bounds_within_4_ulps_without_cancellation() {
    // All terms of β + s·x − s·μ share one sign: no cancellation.
    let mut worst = 0;
    for i in 1..3000u32 {
        let t = i as f64;
        let g = 0.1 + (t * 0.37).sin().abs() * 2.0;
        let v = (t * 0.11).cos().abs() * 3.0;
        let m = -(t * 0.53).sin().abs() * 5.0;
        let b = (t * 0.29).cos().abs();
        let x = 0.01 + (t * 0.71).sin().abs() * 10.0;
        let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
        let (g, b) = (sign * g, sign * b);
        let out = ibp1(g, b, m, v, 1e-5, &[(x, x)]);
        let ch = Ch {
            g,
            b,
            m,
            v,
            e: 1e-5,
        };
        worst = worst
            .max(slack(ch, x, out.lo()[0], true))
            .max(slack(ch, x, out.hi()[0], false));
    }
    println!("worst f64 IBP bound: {worst} steps inside it are still sound");
    // `worst` sound floats lie between the bound and the exact value: the bound is within
    // worst + 1 ulps of it.
    assert!(
        worst < 4,
        "a bound is {} ulps from the exact value",
        worst + 1
    );
}

// ------------------------------------------------------------------ errors

/// The parallel IBP is decided sound element by element by the exact checker, on boxes
/// large enough to be split into many tasks, for both layouts and both precisions.
#[cfg(feature = "rayon")]
#[test]
fn parallel_ibp_is_exactly_checked_sound() {
    fn run<T: Float>(dims: &[usize]) {
        let shape = Shape::new(dims).unwrap();
        let c = shape.channels();
        let v = |i: usize, a: f64| T::from_f64_down(a + (i * 37 % 11) as f64 / 7.0);
        let bn = BatchNorm::new(
            (0..c)
                .map(|i| v(i, if i % 3 == 0 { -1.3 } else { 0.3 }))
                .collect(),
            (0..c).map(|i| v(i, -0.7)).collect(),
            (0..c).map(|i| v(i, 0.1)).collect(),
            (0..c).map(|i| v(i, 0.2)).collect(),
            T::from_f64_down(1e-5),
        )
        .unwrap();
        let n = shape.len();
        let lo: Vec<T> = (0..n).map(|i| v(i, -1.0)).collect();
        let hi: Vec<T> = lo.iter().map(|&x| x + T::from_f64_down(0.5)).collect();
        let input = TensorBox::new(shape, lo, hi).unwrap();
        let (mut a, mut b) = (vec![T::zero(); n], vec![T::zero(); n]);
        bn.enclose()
            .par_ibp_into(&input.view(), &mut a, &mut b)
            .unwrap();
        let claimed = TensorBox::new(shape, a, b).unwrap();
        let report = bn.checker().ibp(&input, &claimed).unwrap();
        assert_eq!(report.checked, n);
        assert!(
            report.violations.is_empty(),
            "{:?}",
            report.violations.first()
        );
    }
    run::<f32>(&[3, 5, 100, 200]);
    run::<f64>(&[1000, 131]);
}
