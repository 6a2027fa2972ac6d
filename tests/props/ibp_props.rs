//! Property tests: IBP output boxes contain the exact real image (decided by the rational
//! oracle of `bnbound-testkit`), for random layers and boxes of every rank, in f32 and f64.

#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

use bnbound::{BatchNorm, BoxView, Enclosure, Error, Float, Kernel, Shape};
use bnbound_testkit::{check_element, hard_f32, hard_f64, Ch};
use proptest::prelude::*;

/// A random layer and a raw box description; endpoints are post-processed per element by
/// `kind` so that cancellation points and unbounded endpoints are common.
#[derive(Clone, Debug)]
struct Case<T> {
    params: Vec<[T; 4]>,
    eps: T,
    eps_zero: bool,
    dims: Vec<usize>,
    raw: Vec<(T, T, u8)>,
}

/// Boxes of rank 1 to 5 with 1 to 3 channels and other dimensions up to 3 (channel
/// blocks of up to 27 elements: the block kernel, its 8-lane body and its tail).
fn case<T: Float, S: Strategy<Value = T> + Clone + 'static>(
    x: S,
) -> impl Strategy<Value = Case<T>> {
    case_in(x, 1..=3, 1..=5)
}

/// Rows of 8 to 27 channels (rank 1 or 2, so `inner = 1`): the row kernel, its 8-lane
/// body and its tail.
fn rows_case<T: Float, S: Strategy<Value = T> + Clone + 'static>(
    x: S,
) -> impl Strategy<Value = Case<T>> {
    case_in(x, 8..=27, 1..=2)
}

fn case_in<T: Float, S: Strategy<Value = T> + Clone + 'static>(
    x: S,
    channels: std::ops::RangeInclusive<usize>,
    ranks: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Case<T>> {
    (channels, ranks, any::<bool>()).prop_flat_map(move |(c, rank, eps_zero)| {
        let dims = proptest::collection::vec(0usize..=3, rank - 1).prop_map(move |rest| {
            let mut d = rest;
            if rank == 1 {
                vec![c]
            } else {
                d.insert(1.min(d.len()), c);
                d
            }
        });
        let x2 = x.clone();
        (
            proptest::collection::vec([x.clone(), x.clone(), x.clone(), x.clone()], c),
            x.clone(),
            Just(eps_zero),
            dims,
        )
            .prop_flat_map(move |(params, eps, eps_zero, dims)| {
                let n: usize = dims.iter().product();
                (
                    Just(params),
                    Just(eps),
                    Just(eps_zero),
                    Just(dims),
                    proptest::collection::vec((x2.clone(), x2.clone(), 0u8..8), n),
                )
            })
            .prop_map(|(params, eps, eps_zero, dims, raw)| Case {
                params,
                eps,
                eps_zero,
                dims,
                raw,
            })
    })
}

/// Which transfer function a run checks.
#[derive(Clone, Copy)]
enum Op {
    /// `s·x + o` over the box.
    Ibp,
    /// `s·[dlo, dhi]` (chain rule, first derivative).
    Deriv1,
    /// `s·[d2lo, d2hi]` (chain rule, second derivative).
    Deriv2,
}

/// Runs one case through `enclose` and the oracle; returns the number of elements checked.
fn run<T: Float>(case: &Case<T>, enclose: impl Fn(&BatchNorm<T>) -> Enclosure) -> usize {
    run_op(case, enclose, Op::Ibp)
}

fn run_op<T: Float>(case: &Case<T>, enclose: impl Fn(&BatchNorm<T>) -> Enclosure, op: Op) -> usize {
    let gamma: Vec<T> = case.params.iter().map(|p| p[0]).collect();
    let beta: Vec<T> = case.params.iter().map(|p| p[1]).collect();
    let mean: Vec<T> = case.params.iter().map(|p| p[2]).collect();
    let var: Vec<T> = case.params.iter().map(|p| p[3].abs()).collect();
    let eps = if case.eps_zero {
        T::zero()
    } else {
        case.eps.abs()
    };
    let bn = match BatchNorm::new(gamma, beta, mean, var.clone(), eps) {
        Ok(bn) => bn,
        Err(Error::ZeroDenominator { channel }) => {
            assert!(var[channel] == T::zero() && eps == T::zero());
            return 0;
        }
        Err(e) => panic!("unexpected error {e}"),
    };
    let shape = Shape::new(&case.dims).unwrap();
    let inner = shape.inner();
    let chan = |i: usize| (i / inner.max(1)) % shape.channels();
    let ch_of = |c: usize| {
        let p = &case.params[c];
        Ch {
            g: p[0].to_f64_exact(),
            b: p[1].to_f64_exact(),
            m: p[2].to_f64_exact(),
            v: p[3].abs().to_f64_exact(),
            e: eps.to_f64_exact(),
        }
    };
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for (i, &(a, b, kind)) in case.raw.iter().enumerate() {
        let ch = ch_of(chan(i));
        // x with s·x ≈ −o, i.e. x ≈ μ − β·√q/γ, rounded to T.
        let cancel = || {
            let x = ch.m - ch.b * (ch.v + ch.e).sqrt() / ch.g;
            let x = T::from_f64_down(x);
            if x.is_finite() {
                x
            } else {
                a
            }
        };
        let (l, h) = match kind {
            0 => (cancel(), cancel()),
            1 => (cancel(), cancel().step_up()),
            2 => (T::neg_infinity(), a),
            3 => (a, T::infinity()),
            4 => (a, a),
            5 => (T::neg_infinity(), T::infinity()),
            _ => (a.min(b), a.max(b)),
        };
        let (l, h) = if l <= h { (l, h) } else { (h, l) };
        lo.push(l);
        hi.push(h);
    }
    let input = BoxView::new(shape, &lo, &hi).unwrap();
    let enc = enclose(&bn);
    let (mut ylo, mut yhi) = (vec![T::zero(); lo.len()], vec![T::zero(); lo.len()]);
    match op {
        Op::Ibp => enc.ibp_into(&input, &mut ylo, &mut yhi).unwrap(),
        Op::Deriv1 => enc
            .derivative_chain_into(&input, &mut ylo, &mut yhi)
            .unwrap(),
        Op::Deriv2 => {
            let b = bnbound::TensorBox::new(shape, lo.clone(), hi.clone()).unwrap();
            // Second order through the one entry point: the same chain rule, s·f''.
            let out = bn
                .bounds(bnbound::Mode::Fast, bnbound::Semantics::Real)
                .unwrap()
                .derivative_chain(&b)
                .unwrap();
            assert_eq!(out.shape(), &shape);
            ylo.copy_from_slice(out.lo());
            yhi.copy_from_slice(out.hi());
        }
    }
    for i in 0..lo.len() {
        let ch = ch_of(chan(i));
        // Derivatives are s·x: the same oracle with β = μ = 0.
        let ch = if matches!(op, Op::Ibp) {
            ch
        } else {
            ch.scale_only()
        };
        let (l, h) = (lo[i].to_f64_exact(), hi[i].to_f64_exact());
        if let Err(msg) = check_element(ch, l, h, ylo[i].to_f64_exact(), yhi[i].to_f64_exact()) {
            panic!(
                "element {i} of {:?}, channel {ch:?}, box [{l:e}, {h:e}]: {msg}",
                case.dims
            );
        }
    }
    lo.len()
}

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn ibp_f64_contains_exact_image(case in case(hard_f64())) {
        for k in Kernel::ALL {
            run(&case, |bn| bn.enclose().with_kernel(k));
        }
    }

    #[test]
    fn ibp_f32_contains_exact_image(case in case(hard_f32())) {
        for k in Kernel::ALL {
            run(&case, |bn| bn.enclose().with_kernel(k));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..cases() })]

    #[test]
    fn ibp_rows_f64_contain_exact_image(case in rows_case(hard_f64())) {
        for k in Kernel::ALL {
            run(&case, |bn| bn.enclose().with_kernel(k));
        }
    }

    #[test]
    fn ibp_rows_f32_contain_exact_image(case in rows_case(hard_f32())) {
        for k in Kernel::ALL {
            run(&case, |bn| bn.enclose().with_kernel(k));
        }
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn derivative_chain_f64_contains_exact(case in case(hard_f64())) {
        for k in Kernel::ALL {
            run_op(&case, |bn| bn.enclose().with_kernel(k), Op::Deriv1);
        }
    }

    #[test]
    fn derivative_chain_f32_contains_exact(case in case(hard_f32())) {
        for k in Kernel::ALL {
            run_op(&case, |bn| bn.enclose().with_kernel(k), Op::Deriv1);
        }
    }

    #[test]
    fn second_derivative_chain_f64_contains_exact(case in case(hard_f64())) {
        for k in Kernel::ALL {
            run_op(&case, |bn| bn.enclose().with_kernel(k), Op::Deriv2);
        }
    }

    #[test]
    fn second_derivative_chain_f32_contains_exact(case in case(hard_f32())) {
        for k in Kernel::ALL {
            run_op(&case, |bn| bn.enclose().with_kernel(k), Op::Deriv2);
        }
    }
}
