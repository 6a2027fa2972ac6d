//! Named hard cases for affine composition, back-substitution, concretization and
//! derivatives, plus wide forms and tightness, against the exact oracle.

#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

use bnbound::{AffineForm, BatchNorm, Error, Float, Shape, TensorBox};
use bnbound_testkit::{
    channels_of as chs, check_backsubstituted, check_composed, check_element, cmp_output, Ch,
};
use std::cmp::Ordering;

/// Checks a composed form entry by entry against the oracle.
fn check_compose<T: Float>(bn: &BatchNorm<T>, fm: &AffineForm<T>, g: &AffineForm<T>) {
    check_composed(&chs(bn), fm, g);
}

/// Checks a back-substituted form against the oracle (finite Λ).
fn check_backward<T: Float>(bn: &BatchNorm<T>, fm: &AffineForm<T>, g: &AffineForm<T>) {
    check_backsubstituted(&chs(bn), fm, g);
}

fn bn64(c: usize) -> BatchNorm<f64> {
    let g = |i: usize| {
        ((i * 37 % 101) as f64 / 50.0 - 1.0) * if i.is_multiple_of(7) { 1e-3 } else { 1.0 }
    };
    BatchNorm::new(
        (0..c).map(g).collect(),
        (0..c).map(|i| (i % 13) as f64 / 13.0 - 0.5).collect(),
        (0..c).map(|i| (i % 17) as f64 / 7.0 - 1.0).collect(),
        (0..c).map(|i| (i % 11) as f64 / 5.0).collect(),
        1e-5,
    )
    .unwrap()
}

#[test]
fn compose_zero_negative_tiny_and_huge_scales() {
    let tiny = f64::from_bits(1);
    let bn = BatchNorm::new(
        vec![0.0, -1.5, tiny, f64::MAX],
        vec![1.0, 2.0, 0.0, 1.0],
        vec![0.5, -1.0, 0.0, 0.0],
        vec![1.0, 3.0, 1e300, 0.0],
        if cfg!(any()) { 0.0 } else { tiny },
    )
    .unwrap();
    let inf = f64::INFINITY;
    let a_lo = vec![
        -inf, 1.0, -2.0, 0.5, -1.0, -inf, 3.0, 0.0, 1.0, 2.0, -3.0, 0.0,
    ];
    let a_hi = vec![inf, 1.0, 2.0, 0.5, 1.0, 4.0, 3.0, inf, 1.0, 2.0, 3.0, 0.0];
    let fm = AffineForm::new(
        TensorBox::new(Shape::new(&[4, 3]).unwrap(), a_lo, a_hi).unwrap(),
        TensorBox::new(
            Shape::new(&[4]).unwrap(),
            vec![-1.0, 0.0, -inf, 1.0],
            vec![1.0, 0.0, inf, 1.0],
        )
        .unwrap(),
    )
    .unwrap();
    let g = bn.enclose().compose(&fm).unwrap();
    check_compose(&bn, &fm, &g);
    // γ = 0: the whole row is exactly zero and the constant is exactly β, even for
    // unbounded coefficients.
    assert_eq!(
        (&g.a().lo()[..3], &g.a().hi()[..3]),
        (&[0.0; 3][..], &[0.0; 3][..])
    );
    assert_eq!((g.c().lo()[0], g.c().hi()[0]), (1.0, 1.0));
    // Huge scale: the coefficient 1·s with s > MAX becomes [MAX, ∞], never NaN.
    assert_eq!(g.a().hi()[9], inf);
    assert!(g.a().lo()[9] >= f64::MAX.next_down());
}

#[test]
fn compose_cancellation_f32_anchor() {
    // Row constant c = 3 through s = 1 + 2^-23, β = −3: exact 3·2^-23.
    let bn = BatchNorm::new(
        vec![1.0f32 + f32::EPSILON],
        vec![-3.0],
        vec![0.0],
        vec![1.0],
        0.0,
    )
    .unwrap();
    let fm = AffineForm::point(1, 1, vec![1.0f32], vec![3.0]).unwrap();
    let g = bn.enclose().compose(&fm).unwrap();
    check_compose(&bn, &fm, &g);
    let exact = 3.0 * f32::EPSILON;
    assert!(g.c().lo()[0] <= exact && exact <= g.c().hi()[0]);
}

#[test]
fn compose_subnormal_coefficients() {
    let d = f64::from_bits(1);
    let bn = BatchNorm::new(
        vec![0.3, -0.7],
        vec![0.0, d],
        vec![d, -d],
        vec![3.0, 0.5],
        0.0,
    )
    .unwrap();
    let fm = AffineForm::point(2, 2, vec![d, -d, 3.0 * d, f64::MIN_POSITIVE], vec![d, -d]).unwrap();
    check_compose(&bn, &fm, &bn.enclose().compose(&fm).unwrap());
}

#[test]
fn backward_cancelling_offsets_and_overflow() {
    // o = (β₁ − s₁μ₁, β₂ − s₂μ₂) nearly cancel under Λ = [1, 1].
    let bn = BatchNorm::new(
        vec![1.0, 1.0],
        vec![1e16, -1e16],
        vec![0.1, -0.1],
        vec![2.0, 2.0],
        0.0,
    )
    .unwrap();
    let fm = AffineForm::point(2, 2, vec![1.0, 1.0, 1.0, -1.0], vec![0.0, 0.5]).unwrap();
    check_backward(&bn, &fm, &bn.enclose().backward(&fm).unwrap());
    // Overflow: Λ·o beyond f64 gives an infinite bound of the right sign, never NaN.
    let bn = BatchNorm::new(
        vec![-1.0, 2.0],
        vec![f64::MAX, f64::MAX],
        vec![0.0, 0.0],
        vec![1.0, 1.0],
        0.0,
    )
    .unwrap();
    let fm = AffineForm::point(1, 2, vec![f64::MAX, f64::MAX], vec![0.0]).unwrap();
    let g = bn.enclose().backward(&fm).unwrap();
    assert_eq!(g.c().hi()[0], f64::INFINITY);
    assert!(!g.c().lo()[0].is_nan());
    check_backward(&bn, &fm, &g);
}

#[test]
fn backward_zero_and_negative_scales_interval_lambda() {
    let bn = BatchNorm::new(
        vec![0.0, -2.0, 0.5],
        vec![3.0, -1.0, 0.25],
        vec![1.0, 2.0, -4.0],
        vec![1.0, 0.3, 7.0],
        1e-5,
    )
    .unwrap();
    let fm = AffineForm::new(
        TensorBox::new(
            Shape::new(&[2, 3]).unwrap(),
            vec![-1.0, 0.5, -2.0, 0.0, 0.0, 1.0],
            vec![1.0, 0.75, -1.0, 0.0, 0.0, 1.0],
        )
        .unwrap(),
        TensorBox::new(Shape::new(&[2]).unwrap(), vec![0.0, -1.0], vec![0.1, 1.0]).unwrap(),
    )
    .unwrap();
    let g = bn.enclose().backward(&fm).unwrap();
    check_backward(&bn, &fm, &g);
    // The γ = 0 column is exactly zero whatever Λ is.
    assert_eq!(
        (g.a().lo()[0], g.a().hi()[0], g.a().lo()[3], g.a().hi()[3]),
        (0.0, 0.0, 0.0, 0.0)
    );
}

#[test]
fn concretize_overflow_and_cancellation() {
    let fm = AffineForm::point(2, 2, vec![f64::MAX, f64::MAX, 1.0, -1.0], vec![0.0, 0.0]).unwrap();
    let x = TensorBox::new(
        Shape::new(&[2]).unwrap(),
        vec![1.0, 1.0],
        vec![2.0, 1.0 + f64::EPSILON],
    )
    .unwrap();
    let y = fm.concretize(&x).unwrap();
    assert_eq!(y.hi()[0], f64::INFINITY);
    assert!(y.lo()[0] <= f64::MAX && !y.lo()[0].is_nan());
    // x₁ − x₂ over [1, 2] × [1, 1 + 2⁻⁵²]: exact range [−2⁻⁵², 1].
    assert!(y.lo()[1] <= -f64::EPSILON && y.hi()[1] >= 1.0);
}

#[test]
fn derivatives_of_hard_scales() {
    let tiny = f64::from_bits(1);
    let bn = BatchNorm::new(
        vec![0.0, -3.0, tiny, f64::MAX],
        vec![1.0; 4],
        vec![1.0; 4],
        vec![1.0, 2.0, 1e300, 0.0],
        tiny,
    )
    .unwrap();
    let d = TensorBox::new(
        Shape::new(&[1, 4]).unwrap(),
        vec![f64::NEG_INFINITY, -1.0, 1.0, 1.0],
        vec![f64::INFINITY, 2.0, 2.0, 1.0],
    )
    .unwrap();
    let enc = bn.enclose();
    for out in [
        enc.derivative_chain(&d).unwrap(),
        bn.bounds(bnbound::Mode::Fast, bnbound::Semantics::Real)
            .unwrap()
            .derivative_chain(&d)
            .unwrap(),
    ] {
        let ch = chs(&bn);
        for c in 0..4 {
            check_element(
                ch[c].scale_only(),
                d.lo()[c],
                d.hi()[c],
                out.lo()[c],
                out.hi()[c],
            )
            .unwrap_or_else(|m| panic!("channel {c}: {m}"));
        }
        assert_eq!((out.lo()[0], out.hi()[0]), (0.0, 0.0)); // s = 0 even for an unbounded f'
        assert_eq!(out.hi()[3], f64::INFINITY); // s > MAX
    }
}

#[test]
fn wide_forms_64_by_3072() {
    let (rows, cols) = (64, 3072);
    let bn = bn64(rows);
    let a: Vec<f64> = (0..rows * cols)
        .map(|k| (k * 7919 % 2003) as f64 / 1001.0 - 1.0)
        .collect();
    let fm = AffineForm::point(
        rows,
        cols,
        a.clone(),
        (0..rows).map(|i| i as f64 / 9.0 - 3.0).collect(),
    )
    .unwrap();
    let g = bn.enclose().compose(&fm).unwrap();
    check_compose(&bn, &fm, &g);
    let x = TensorBox::new(
        Shape::new(&[cols]).unwrap(),
        vec![-0.01; cols],
        vec![0.02; cols],
    )
    .unwrap();
    let y = g.concretize(&x).unwrap();
    assert_eq!(y.shape().dims(), &[rows]);
    assert!(y.lo().iter().zip(y.hi()).all(|(l, h)| l <= h));

    // Back-substitution through a 3072-channel layer with a 64-row Λ.
    let bnw = bn64(cols);
    let lam = AffineForm::point(rows, cols, a, vec![0.0; rows]).unwrap();
    let back = bnw.enclose().backward(&lam).unwrap();
    check_backward(&bnw, &lam, &back);
}

#[test]
fn composed_coefficients_within_4_ulps_without_cancellation() {
    // Point forms, positive everything: s·a has no cancellation.
    let mut worst = 0u32;
    for i in 1..400u32 {
        let t = i as f64;
        let g = 0.1 + (t * 0.37).sin().abs() * 2.0;
        let v = (t * 0.11).cos().abs() * 3.0;
        let bn = BatchNorm::new(vec![g], vec![0.0], vec![0.0], vec![v], 1e-5).unwrap();
        let a: Vec<f64> = (0..8)
            .map(|j| 0.01 + ((t + j as f64) * 0.71).sin().abs() * 10.0)
            .collect();
        let fm = AffineForm::point(1, 8, a.clone(), vec![0.0]).unwrap();
        let out = bn.enclose().compose(&fm).unwrap();
        let ch = Ch {
            g,
            b: 0.0,
            m: 0.0,
            v,
            e: 1e-5,
        };
        for j in 0..8 {
            for (y, lower) in [(out.a().lo()[j], true), (out.a().hi()[j], false)] {
                let mut k = 0;
                let mut z = y;
                loop {
                    let next = if lower { z.next_up() } else { z.next_down() };
                    let o = cmp_output(ch, a[j], next);
                    let still_sound = o == Ordering::Equal || (o == Ordering::Less) == lower;
                    if !still_sound {
                        break;
                    }
                    z = next;
                    k += 1;
                }
                worst = worst.max(k);
            }
        }
    }
    println!("worst composed coefficient: {worst} sound floats between it and the exact value");
    assert!(worst < 4, "a coefficient is {} ulps from exact", worst + 1);
}

#[test]
fn dimension_errors() {
    let bn = bn64(3);
    let enc = bn.enclose();
    let fm = AffineForm::point(2, 3, vec![0.0; 6], vec![0.0; 2]).unwrap();
    assert_eq!(
        enc.compose(&fm).unwrap_err(),
        Error::ChannelMismatch {
            expected: 3,
            found: 2
        }
    );
    let fm = AffineForm::point(3, 2, vec![0.0; 6], vec![0.0; 3]).unwrap();
    assert_eq!(
        enc.backward(&fm).unwrap_err(),
        Error::ChannelMismatch {
            expected: 3,
            found: 2
        }
    );
    let x = TensorBox::new(Shape::new(&[3]).unwrap(), vec![0.0; 3], vec![0.0; 3]).unwrap();
    assert!(matches!(
        fm.concretize(&x),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        fm.lower_bound_on(&x),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        AffineForm::point(2, 2, vec![f64::NAN; 4], vec![0.0; 2]),
        Err(Error::NanBound { .. })
    ));
    assert!(matches!(
        AffineForm::point(2, 2, vec![0.0; 3], vec![0.0; 2]),
        Err(Error::DataLength { .. })
    ));
    let d = TensorBox::new(Shape::new(&[1, 2]).unwrap(), vec![0.0; 2], vec![0.0; 2]).unwrap();
    assert!(matches!(
        enc.derivative_chain(&d),
        Err(Error::ChannelMismatch { .. })
    ));
    assert!(matches!(
        bn.bounds(bnbound::Mode::Fast, bnbound::Semantics::Real)
            .unwrap()
            .derivative_chain(&d),
        Err(Error::ChannelMismatch { .. })
    ));
}
