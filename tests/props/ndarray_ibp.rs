//! IBP on `ndarray` views (feature `ndarray`): identical to the slice API and exactly
//! checked sound, for every rank; non-standard layouts and shape mismatches are errors.
#![cfg(feature = "ndarray")]

use bnbound::{BatchNorm, Error, Shape, TensorBox};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

fn layer(c: usize) -> BatchNorm<f32> {
    let g: Vec<f32> = (0..c).map(|i| [0.7, -1.3, 0.0, 2.5][i % 4]).collect();
    let b: Vec<f32> = (0..c).map(|i| i as f32 * 0.25 - 0.5).collect();
    let m: Vec<f32> = (0..c).map(|i| 0.1 * i as f32).collect();
    let v: Vec<f32> = (0..c).map(|i| 0.5 + i as f32).collect();
    BatchNorm::new(g, b, m, v, 1e-5).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ibp_array_matches_the_slice_api_and_is_exactly_sound(
        c in 1usize..=4,
        rest in proptest::collection::vec(1usize..=3, 0..=4),
        seed in proptest::collection::vec(-4.0f32..4.0, 400),
    ) {
        let dims: Vec<usize> = if rest.is_empty() {
            vec![c]
        } else {
            let mut d = rest.clone();
            d.insert(1, c);
            d
        };
        let n: usize = dims.iter().product();
        let lo: Vec<f32> = (0..n).map(|i| seed[i % seed.len()]).collect();
        let hi: Vec<f32> = lo.iter().enumerate().map(|(i, &x)| x + seed[(i + 7) % seed.len()].abs()).collect();
        let bn = layer(c);
        let enc = bn.enclose();
        let (alo, ahi) = (
            ArrayD::from_shape_vec(IxDyn(&dims), lo.clone()).unwrap(),
            ArrayD::from_shape_vec(IxDyn(&dims), hi.clone()).unwrap(),
        );
        let (ylo, yhi) = enc.ibp_array(alo.view(), ahi.view()).unwrap();
        prop_assert_eq!(ylo.shape(), &dims[..]);
        let x = TensorBox::new(Shape::new(&dims).unwrap(), lo, hi).unwrap();
        let y = enc.ibp(&x).unwrap();
        prop_assert_eq!(ylo.as_slice().unwrap(), y.lo());
        prop_assert_eq!(yhi.as_slice().unwrap(), y.hi());
        let report = bn.checker().ibp(&x, &y).unwrap();
        prop_assert!(report.sound());
    }
}

#[test]
fn non_standard_layouts_and_mismatched_shapes_are_errors() {
    let bn = layer(2);
    let enc = bn.enclose();
    let a = ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![0.0f32; 6]).unwrap();
    assert!(enc.ibp_array(a.view(), a.view()).is_ok());
    // A transposed view (2 × 3, column-major underneath): refused, never read wrongly.
    let t = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.0f32; 6]).unwrap();
    let tv = t.view().reversed_axes();
    let e = enc.ibp_array(tv.clone(), tv).unwrap_err();
    assert!(matches!(e, Error::NotStandardLayout { .. }), "{e}");
    let b = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.0f32; 6]).unwrap();
    assert!(matches!(
        enc.ibp_array(a.view(), b.view()),
        Err(Error::ShapeMismatch { .. })
    ));
    let wrong_c = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.0f32; 6]).unwrap();
    assert!(matches!(
        enc.ibp_array(wrong_c.view(), wrong_c.view()),
        Err(Error::ChannelMismatch { .. })
    ));
}
