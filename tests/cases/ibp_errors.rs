//! Every error path of the parameters and of IBP: a typed error naming the field, channel
//! or element, and nothing the caller passed written on error.

use bnbound::{BatchNorm, BoxView, Error, Field, Shape, Side, TensorBox};

#[test]
fn parameter_errors_name_field_and_channel() {
    let ok = || {
        (
            vec![1.0f32, 1.0],
            vec![0.0f32, 0.0],
            vec![0.0f32, 0.0],
            vec![1.0f32, 1.0],
        )
    };
    let (g, b, m, v) = ok();
    assert_eq!(
        BatchNorm::new(vec![], vec![], vec![], vec![], 1e-5f32).unwrap_err(),
        Error::NoChannels
    );
    assert_eq!(
        BatchNorm::new(g.clone(), vec![0.0], m.clone(), v.clone(), 1e-5).unwrap_err(),
        Error::ParamLength {
            field: Field::Beta,
            expected: 2,
            found: 1
        }
    );
    let e = BatchNorm::new(g.clone(), b.clone(), vec![0.0, f32::NAN], v.clone(), 1e-5).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFiniteParam {
                field: Field::RunningMean,
                channel: 1,
                ..
            }
        ),
        "{e}"
    );
    let e = BatchNorm::new(
        vec![1.0, f32::INFINITY],
        b.clone(),
        m.clone(),
        v.clone(),
        1e-5,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::NonFiniteParam {
            field: Field::Gamma,
            channel: 1,
            ..
        }
    ));
    let e = BatchNorm::new(g.clone(), b.clone(), m.clone(), v.clone(), f32::NAN).unwrap_err();
    assert!(matches!(
        e,
        Error::NonFiniteParam {
            field: Field::Eps,
            ..
        }
    ));
    assert_eq!(
        BatchNorm::new(g.clone(), b.clone(), m.clone(), vec![1.0, -1e-30], 1e-5).unwrap_err(),
        Error::NegativeVariance {
            channel: 1,
            value: -1e-30f32 as f64
        }
    );
    assert_eq!(
        BatchNorm::new(g.clone(), b.clone(), m.clone(), v.clone(), -1e-5).unwrap_err(),
        Error::NegativeEps(-1e-5f32 as f64)
    );
    assert_eq!(
        BatchNorm::new(g, b, m, vec![1.0, -0.0], 0.0).unwrap_err(),
        Error::ZeroDenominator { channel: 1 }
    );
    // −0.0 variance with positive ε is fine.
    BatchNorm::new(vec![1.0f64], vec![0.0], vec![0.0], vec![-0.0], 1e-5).unwrap();
}

#[test]
fn box_errors_and_nothing_written_on_error() {
    let s = Shape::new(&[1, 2]).unwrap();
    assert_eq!(
        TensorBox::new(s, vec![0.0f64, 2.0], vec![1.0, 1.0]).unwrap_err(),
        Error::InvertedBound {
            index: 1,
            lo: 2.0,
            hi: 1.0
        }
    );
    assert_eq!(
        TensorBox::new(s, vec![0.0f64, 0.0], vec![1.0, f64::NAN]).unwrap_err(),
        Error::NanBound {
            index: 1,
            side: Side::Hi
        }
    );
    assert!(matches!(
        TensorBox::new(s, vec![0.0f64], vec![1.0, 1.0]),
        Err(Error::DataLength { what: "lo", .. })
    ));
    assert!(matches!(Shape::new(&[]), Err(Error::BadRank(_))));
    assert!(matches!(
        Shape::new(&[usize::MAX, 2]),
        Err(Error::ShapeOverflow(_))
    ));

    let bn = BatchNorm::new(
        vec![1.0f64; 3],
        vec![0.0; 3],
        vec![0.0; 3],
        vec![1.0; 3],
        0.0,
    )
    .unwrap();
    let enc = bn.enclose();
    let (lo, hi) = ([0.0f64; 2], [1.0f64; 2]);
    let view = BoxView::new(s, &lo, &hi).unwrap();
    let (mut a, mut b) = ([7.0f64; 2], [7.0f64; 2]);
    assert_eq!(
        enc.ibp_into(&view, &mut a, &mut b).unwrap_err(),
        Error::ChannelMismatch {
            expected: 3,
            found: 2
        }
    );
    assert_eq!((a, b), ([7.0; 2], [7.0; 2]));
    let bn2 = BatchNorm::new(
        vec![1.0f64; 2],
        vec![0.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let (mut a, mut b) = ([7.0f64; 2], [7.0f64; 3]);
    assert!(matches!(
        bn2.enclose().ibp_into(&view, &mut a, &mut b),
        Err(Error::DataLength { what: "out_hi", .. })
    ));
    assert_eq!(a, [7.0; 2]);
}
