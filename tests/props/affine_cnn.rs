//! CNN-shaped forms: composition and back-substitution through a layer whose
//! per-sample input is `[C, d1, …]` (full tensors of rank 2 to 5), on both kernels, checked
//! entry by entry against the exact rational oracle (`bnbound-testkit`).

use bnbound::{AffineForm, BatchNorm, Error, Float, Kernel};
use bnbound_testkit::{
    channels_of, check_backsubstituted_grouped, check_composed, hard_f32, hard_f64, shaped_case,
    shaped_form, shaped_layer, Ch, ShapedCase,
};
use proptest::prelude::*;

fn run<T: Float>(case: &ShapedCase<T>) {
    let (bn, chs) = shaped_layer(case);
    let n: usize = case.sample.iter().product();
    let inner = n / case.sample[0];
    // Row (compose) or column (backward) r belongs to channel r / inner.
    let channel_of: Vec<usize> = (0..n).map(|r| r / inner).collect();
    let per_element: Vec<Ch> = channel_of.iter().map(|&c| chs[c]).collect();
    let forward = shaped_form(case, n, case.other);
    let lam = shaped_form(case, case.other, n);
    for kernel in Kernel::ALL {
        let enc = bn.enclose().with_kernel(kernel);
        let g = enc.compose_shaped(&forward, &case.sample).unwrap();
        check_composed(&per_element, &forward, &g);
        let g = enc.backward_shaped(&lam, &case.sample).unwrap();
        check_backsubstituted_grouped(&chs, &channel_of, &lam, &g);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn cnn_shaped_forms_f64_contain_exact(case in shaped_case(hard_f64())) {
        run(&case);
    }

    #[test]
    fn cnn_shaped_forms_f32_contain_exact(case in shaped_case(hard_f32())) {
        run(&case);
    }
}

#[test]
fn shaped_forms_agree_with_the_flat_ones_for_one_row_per_channel() {
    let bn = BatchNorm::new(
        vec![0.3f64, -2.0],
        vec![1.0, 0.5],
        vec![0.1, -0.2],
        vec![2.0, 0.7],
        1e-5,
    )
    .unwrap();
    let enc = bn.enclose();
    let f =
        AffineForm::point(2, 3, vec![1.0, -2.0, 0.5, 3.0, 0.25, -1.0], vec![0.5, -0.5]).unwrap();
    assert_eq!(
        enc.compose(&f).unwrap(),
        enc.compose_shaped(&f, &[2]).unwrap()
    );
    let l = AffineForm::point(
        3,
        2,
        vec![1.0, -2.0, 0.5, 3.0, 0.25, -1.0],
        vec![0.5, -0.5, 2.0],
    )
    .unwrap();
    assert_eq!(
        enc.backward(&l).unwrap(),
        enc.backward_shaped(&l, &[2]).unwrap()
    );
}

#[test]
fn shape_mismatches_are_typed_errors() {
    let bn = BatchNorm::new(
        vec![1.0f32; 2],
        vec![0.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let enc = bn.enclose();
    let lam = AffineForm::point(1, 8, vec![1.0f32; 8], vec![0.0]).unwrap();
    assert!(enc.backward_shaped(&lam, &[2, 2, 2]).is_ok());
    for (sample, want) in [
        (vec![3, 2, 2], "channel"),
        (vec![2, 3], "Dimension"),
        (vec![2, 1, 1, 1, 1, 8], "BadRank"),
        (vec![2, usize::MAX, 2], "ShapeOverflow"),
    ] {
        let e = enc.backward_shaped(&lam, &sample).unwrap_err();
        let ok = match want {
            "channel" => matches!(e, Error::ChannelMismatch { .. }),
            "Dimension" => matches!(e, Error::FormShape { .. }),
            "BadRank" => matches!(e, Error::BadRank(_)),
            _ => matches!(e, Error::ShapeOverflow(_)),
        };
        assert!(ok, "{sample:?}: {e:?}");
    }
}

#[test]
fn exactly_cancelling_channel_blocks_are_decided() {
    // Λ = [0.3, −0.3 | 1, 2]: channel 0's coefficients sum to exactly 0, so its irrational
    // offset contributes exactly nothing; the oracle sums per channel before enclosing.
    let bn = BatchNorm::new(
        vec![1.0f64, 2.0],
        vec![0.5, 1.0],
        vec![0.1, 0.0],
        vec![2.0, 3.0],
        0.0,
    )
    .unwrap();
    let chs = channels_of(&bn);
    let lam = AffineForm::point(1, 4, vec![0.3, -0.3, 1.0, 2.0], vec![0.0]).unwrap();
    for kernel in Kernel::ALL {
        let g = bn
            .enclose()
            .with_kernel(kernel)
            .backward_shaped(&lam, &[2, 2])
            .unwrap();
        check_backsubstituted_grouped(&chs, &[0, 0, 1, 1], &lam, &g);
    }
}

#[test]
fn block_sums_of_coefficients_are_widened() {
    // s = o = 1 exactly in both channels. Channel 0's 16 coefficients hold 1 and 2⁻⁶⁰ in
    // the same accumulator lane (positions 0 and 8); channel 1's hold −1. The exact bias
    // is 1·(1 + 2⁻⁶⁰) − 1 = 2⁻⁶⁰: a block sum rounded to nearest (1) without its outward
    // step would give the bias 0 ± a subnormal step, which the oracle rejects.
    let bn = BatchNorm::new(
        vec![1.0f64; 2],
        vec![1.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let chs = channels_of(&bn);
    let channel_of: Vec<usize> = (0..32).map(|j| j / 16).collect();
    // Both signs: the upper and the lower accumulators must each be widened.
    let signs_and_kernels = [1.0, -1.0]
        .into_iter()
        .flat_map(|s| Kernel::ALL.map(|k| (s, k)));
    for (sign, kernel) in signs_and_kernels {
        let mut lam = vec![0.0f64; 32];
        (lam[0], lam[8], lam[16]) = (sign, sign * 2f64.powi(-60), -sign);
        let form = AffineForm::point(1, 32, lam, vec![0.0]).unwrap();
        let g = bn
            .enclose()
            .with_kernel(kernel)
            .backward_shaped(&form, &[2, 16])
            .unwrap();
        check_backsubstituted_grouped(&chs, &channel_of, &form, &g);
    }
    // The same for f32 coefficients: 1 and 2⁻³⁰ (below half an f32 ulp of 1).
    let bn = BatchNorm::new(
        vec![1.0f32; 2],
        vec![1.0; 2],
        vec![0.0; 2],
        vec![1.0; 2],
        0.0,
    )
    .unwrap();
    let signs_and_kernels = [1.0, -1.0]
        .into_iter()
        .flat_map(|s| Kernel::ALL.map(|k| (s, k)));
    for (sign, kernel) in signs_and_kernels {
        let mut lam = vec![0.0f32; 32];
        (lam[0], lam[8], lam[16]) = (sign, sign * 2f32.powi(-30), -sign);
        let form = AffineForm::point(1, 32, lam, vec![0.0]).unwrap();
        let g = bn
            .enclose()
            .with_kernel(kernel)
            .backward_shaped(&form, &[2, 16])
            .unwrap();
        check_backsubstituted_grouped(&chs, &channel_of, &form, &g);
    }
}
