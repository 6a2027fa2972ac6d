//! Deployed-float semantics against the test kit's exact emulation of the
//! runtimes' recipes (every operation a rational rounded by a reference rounding function):
//! every emulated output, at the box endpoints and at interior floats, lies inside the
//! deployed bounds, and so does the exact real image. Layers and boxes of every rank, f32
//! and f64, biased to hard values (±0, subnormals, powers of two, near overflow, γ = 0,
//! σ² = 0, cancellation).

#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

use bnbound::{BatchNorm, Bounds, Error, Float, Kernel, Runtime, Shape, TensorBox};
use bnbound_testkit::emulate::{
    pytorch_fallback16, pytorch_fallback16_flush, recipe_outputs, recipe_outputs_flush, Format,
    BF16, F16, F32, F64,
};
use bnbound_testkit::{
    channels_of, check_element, hard_f32, hard_f64, intervals, shaped_case, shaped_layer, Ch,
    ShapedCase,
};
use proptest::prelude::*;

fn format<T: Float>() -> Format {
    match T::DTYPE {
        bnbound::Dtype::F32 => F32,
        bnbound::Dtype::F64 => F64,
    }
}

/// The `k`-th of `n + 1` floats spread between `l` and `h` (by ordinal).
fn between<T: Float>(l: T, h: T, k: u64, n: u64) -> T {
    let (a, b) = (ordinal(l), ordinal(h));
    let t = a as i128 + (b as i128 - a as i128) * k as i128 / n as i128;
    from_ordinal(t as i64)
}

fn ordinal<T: Float>(x: T) -> i64 {
    let x = x.to_f64_exact();
    let bits = match T::DTYPE {
        bnbound::Dtype::F32 => (x as f32).to_bits() as i64,
        bnbound::Dtype::F64 => x.to_bits() as i64,
    };
    let sign = match T::DTYPE {
        bnbound::Dtype::F32 => 1i64 << 31,
        bnbound::Dtype::F64 => i64::MIN,
    };
    if bits & sign != 0 {
        -(bits & !sign)
    } else {
        bits
    }
}

fn from_ordinal<T: Float>(k: i64) -> T {
    match T::DTYPE {
        bnbound::Dtype::F32 => {
            let b = if k < 0 {
                (-k) as u32 | (1 << 31)
            } else {
                k as u32
            };
            T::from_f64_down(f32::from_bits(b) as f64)
        }
        bnbound::Dtype::F64 => {
            let b = if k < 0 {
                (-k) as u64 | (1 << 63)
            } else {
                k as u64
            };
            T::from_f64_down(f64::from_bits(b))
        }
    }
}

/// A case's layer, its channels for the oracle, and a one-sample box of its shape.
fn layer_and_box<T: Float>(
    case: &ShapedCase<T>,
) -> (BatchNorm<T>, Vec<bnbound_testkit::oracle::Ch>, TensorBox<T>) {
    let (bn, _) = shaped_layer(case);
    let chs = channels_of(&bn);
    let mut dims = vec![1];
    dims.extend(&case.sample);
    let shape = Shape::new(&dims).unwrap();
    let (lo, hi) = intervals(&case.entries[..shape.len()], false);
    (bn, chs, TensorBox::new(shape, lo, hi).unwrap())
}

/// The kernel a case runs on: every path (AVX-512, AVX2+FMA, no FMA) in turn.
fn kernel_of<T: Float>(case: &ShapedCase<T>) -> Kernel {
    Kernel::ALL[case.entries.first().map_or(0, |e| e.2 as usize) % Kernel::ALL.len()]
}

/// Runs one case for one runtime on the case's kernel; returns (outputs checked, outside
/// the real bounds).
fn run<T: Float>(case: &ShapedCase<T>, runtime: Runtime) -> (usize, usize) {
    let (bn, chs, input) = layer_and_box(case);
    let n = input.shape().len();
    let inner = n / case.sample[0];
    let fallback = runtime == Runtime::PytorchCpu;
    let p = |c: usize| {
        let ch = chs[c];
        [ch.g, ch.b, ch.m, ch.v, ch.e]
    };
    let deployed = bn.deployed(runtime).with_kernel(kernel_of(case));
    let real = bn.enclose().ibp(&input).unwrap();
    let got = deployed.ibp(&input);
    // `ibp_into` gives the same bounds, or the same error and leaves the buffers alone.
    let (mut ylo, mut yhi) = (vec![T::one(); n], vec![T::one(); n]);
    match (deployed.ibp_into(&input.view(), &mut ylo, &mut yhi), &got) {
        (Ok(()), Ok(b)) => assert!(ylo == b.lo() && yhi == b.hi(), "ibp_into differs from ibp"),
        (Err(e), Err(f)) => {
            assert_eq!(e, *f);
            assert!(
                ylo.iter().chain(&yhi).all(|&v| v == T::one()),
                "ibp_into wrote on error"
            );
        }
        (a, b) => panic!("ibp_into gives {a:?}, ibp {:?}", b.as_ref().err()),
    }
    let (mut checked, mut outside) = (0, 0);
    for i in 0..n {
        let c = i / inner;
        let (l, h) = (input.lo()[i], input.hi()[i]);
        let mut xs = vec![l, h];
        let k = case.entries[i].2 as u64;
        xs.push(between(l, h, k % 7 + 1, 8));
        xs.push(between(l, h, 1, 2));
        let mut nan = false;
        let mut outs = Vec::new();
        for &x in &xs {
            // With flush-to-zero off and on (every choice of the flush model).
            let ys = recipe_outputs_flush(p(c), x.to_f64_exact(), format::<T>(), fallback);
            nan |= ys.iter().any(|y| y.is_nan());
            outs.extend(ys);
        }
        let b = match &got {
            Err(Error::DeployedNan { .. }) => {
                // Only when the runtime really computes NaN somewhere in some box.
                continue;
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(b) => b,
        };
        assert!(
            !nan,
            "element {i}: the runtime gives NaN but no error was reported"
        );
        let (dl, dh) = (b.lo()[i].to_f64_exact(), b.hi()[i].to_f64_exact());
        // The library's replay of the recipe equals the reference emulation, exactly.
        for &x in &[l, h] {
            let ys = recipe_outputs_flush(p(c), x.to_f64_exact(), format::<T>(), fallback);
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (a, z) = deployed.outputs_at(c, x).unwrap();
            assert_eq!(
                (a.to_f64_exact(), z.to_f64_exact()),
                (lo, hi),
                "x = {x:?} p = {:?} ys = {ys:?}",
                p(c)
            );
        }
        for &y in &outs {
            checked += 1;
            assert!(
                dl <= y && y <= dh,
                "element {i}: runtime output {y:e} outside the deployed bound [{dl:e}, {dh:e}]"
            );
            let (rl, rh) = (real.lo()[i].to_f64_exact(), real.hi()[i].to_f64_exact());
            outside += usize::from(y < rl || y > rh);
        }
        // The exact real image is inside too.
        check_element(chs[c], l.to_f64_exact(), h.to_f64_exact(), dl, dh)
            .unwrap_or_else(|m| panic!("element {i}: real image not enclosed: {m}"));
    }
    // A NaN error must come from a real NaN of the runtime.
    if let Err(Error::DeployedNan { index, channel }) = got {
        let (l, h) = (input.lo()[index], input.hi()[index]);
        let nan_at = |x: T| {
            recipe_outputs_flush(p(channel), x.to_f64_exact(), format::<T>(), fallback)
                .iter()
                .any(|y| y.is_nan())
        };
        // Under the flush model: an infinite α (some choice) times a float of the box read
        // as 0, or an infinite fallback invstd times an x − μ that may be read as 0.
        let fl = bnbound_testkit::emulate::Flush(format::<T>());
        let id = |v: f64| v;
        let [g, _, m, v, e] = p(channel);
        let q = fl.op2(&[v], &[e], |a, x, y| a.add(x, y), &id);
        let inv = fl.op2(
            &[1.0],
            &fl.op1(&q, |a, x| a.sqrt(x), &id),
            |a, x, y| a.div(x, y),
            &id,
        );
        let alpha_inf = fl
            .op2(&inv, &[g], |a, x, y| a.mul(x, y), &id)
            .iter()
            .any(|a| a.is_infinite());
        let mn = T::min_positive_value();
        let zero_inside = l < mn && h > -mn;
        let inv_inf = fallback
            && fl
                .reads(&q)
                .iter()
                .any(|&q| bnbound_testkit::emulate::faithful_sqrt(q, format::<T>()).contains(&0.0));
        let d = |x: T| fl.op2(&[x.to_f64_exact()], &[m], |a, x, y| a.sub(x, y), &id);
        let d_zero = d(l).iter().copied().fold(f64::INFINITY, f64::min) <= 0.0
            && d(h).iter().copied().fold(f64::NEG_INFINITY, f64::max) >= 0.0;
        assert!(
            nan_at(l) || nan_at(h) || (alpha_inf && zero_inside) || (inv_inf && d_zero),
            "DeployedNan reported for element {index} without a NaN of the runtime"
        );
    }
    (checked, outside)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deployed_f32_contains_runtime_and_real(case in shaped_case(hard_f32())) {
        run(&case, Runtime::PytorchCpu);
        run(&case, Runtime::OnnxruntimeCpu);
    }

    #[test]
    fn deployed_f64_contains_runtime_and_real(case in shaped_case(hard_f64())) {
        run(&case, Runtime::PytorchCpu);
        run(&case, Runtime::OnnxruntimeCpu);
    }
}

/// The vectorised replay's chunks (64 elements: part of one channel's run, or of a row's
/// channels): boxes that cross chunk and row ends; channels the lanes skip (σ² + ε small
/// enough for the flush model to change the constants, γ = 0); elements the lanes send to
/// the scalar path (subnormal inputs, tiny products and outputs) beside ordinary ones;
/// both signs of γ; every kernel. `run` checks each bound against the emulation at the
/// ends and inside, the exact real image, and `ibp_into` against `ibp`.
#[test]
fn deployed_replay_chunks_and_scalar_elements() {
    fn cases<T: Float>() -> Vec<ShapedCase<T>> {
        let t = |v: f64| T::from_f64_down(v);
        let mn = T::min_positive_value();
        let sub = mn / (T::one() + T::one() + T::one());
        let mut out = Vec::new();
        for (eps, sample) in [
            (1e-5, vec![70]),
            (0.0, vec![70]),
            (1e-5, vec![3, 130]),
            (0.0, vec![2, 65]),
        ] {
            let c = sample[0];
            let n: usize = sample.iter().product();
            let params: Vec<[T; 5]> = (0..c)
                .map(|j| {
                    let e = t(eps);
                    match j % 7 {
                        0 => [t(-1.5), t(0.25), t(0.1), t(2.0), e],
                        // y = α·x with α ≥ 316: a subnormal input read as 0 under DAZ
                        // changes a normal output.
                        1 => [t(1.0), T::zero(), T::zero(), t(1e-20), e],
                        // σ² subnormal: with ε = 0 the flush model changes the constants.
                        2 => [t(0.5), t(-0.75), t(0.3), sub, e],
                        3 if j % 2 == 1 => [T::zero(), t(1.0), t(0.5), t(1.0), e],
                        // A tiny negative γ, a huge σ²: α underflows to −0 (f32).
                        3 => [-(mn + mn), t(1e-3), t(0.5), t(1e35), e],
                        4 => [t(3.0), t(-2.0), t(-1.0), t(0.01), e],
                        5 => [t(-0.25), t(1e-3), t(-7.0), t(50.0), e],
                        // With ε = 0, y = x − 1.5·m: tiny positive outputs, flushed to 0.
                        _ => [
                            t(1.0),
                            -(mn + mn / (T::one() + T::one())),
                            T::zero(),
                            t(1.0),
                            e,
                        ],
                    }
                })
                .collect();
            for tag in [6u8, 4, 2] {
                let entries = (0..n)
                    .map(|i| match i % 7 {
                        0 => (sub, sub + sub, tag),
                        6 => {
                            // 1.5·m + 3 and + 5 subnormal steps.
                            let (m15, step) = (mn + mn / (T::one() + T::one()), mn * T::epsilon());
                            let three = step + step + step;
                            (m15 + three, m15 + three + step + step, tag)
                        }
                        1 => (t(-1.0), t(2.0), tag),
                        2 => (mn, mn + mn, tag),
                        3 => (t(0.3), t(0.3), tag),
                        4 => (t(-1e30), t(3.0), tag),
                        _ => (
                            t(0.5) + t(i as f64 / 64.0),
                            t(0.75) + t(i as f64 / 64.0),
                            tag,
                        ),
                    })
                    .collect();
                out.push(ShapedCase {
                    params: params.clone(),
                    sample: sample.clone(),
                    other: 1,
                    entries,
                });
            }
        }
        out
    }
    let mut checked = 0;
    for case in cases::<f32>() {
        for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
            checked += run(&case, rt).0;
        }
    }
    for case in cases::<f64>() {
        for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
            checked += run(&case, rt).0;
        }
    }
    assert!(checked > 100_000, "{checked}");
}

/// A tiny negative γ and a huge σ²: `α = RN(RN(1/√q)·γ)` underflows to −0, yet PyTorch's
/// fallback output `RN(RN(t·γ) + β)` still decreases with `x` (its `t` is huge). The least
/// output is at the box's upper end, as the sign of γ says (found by a review: the row loop
/// once took the end from the sign of α). Rows (`[1, 1]`) and blocks (`[1, 1, 2]`), every
/// kernel, f32 and f64; every emulated output at both ends must be inside.
#[test]
#[allow(clippy::excessive_precision)] // the reproducers' values as printed in f64, exact
fn row_end_follows_gamma_when_alpha_underflows() {
    fn one<T: Float>(p: [T; 5], l: T, h: T) {
        let bn = BatchNorm::new(vec![p[0]], vec![p[1]], vec![p[2]], vec![p[3]], p[4]).unwrap();
        let q = |v: T| v.to_f64_exact();
        let params = [q(p[0]), q(p[1]), q(p[2]), q(p[3]), q(p[4])];
        for dims in [&[1usize, 1][..], &[1, 1, 2]] {
            let shape = Shape::new(dims).unwrap();
            let n = shape.len();
            let x = TensorBox::new(shape, vec![l; n], vec![h; n]).unwrap();
            for kernel in Kernel::ALL {
                for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
                    let y = bn.deployed(rt).with_kernel(kernel).ibp(&x).unwrap();
                    for end in [l, h] {
                        let fallback = rt == Runtime::PytorchCpu;
                        for v in recipe_outputs_flush(params, q(end), format::<T>(), fallback) {
                            for i in 0..n {
                                assert!(
                                    q(y.lo()[i]) <= v && v <= q(y.hi()[i]),
                                    "{dims:?} {kernel:?} {rt}: output {v:e} at {end:?} outside [{:e}, {:e}]",
                                    q(y.lo()[i]),
                                    q(y.hi()[i])
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    let f = f32::from_bits;
    one(
        [
            f(0x80f2_4ba9),
            1.009_741_958_682_895_1e-28,
            1.136_868_377_216_160_3e-13,
            f(0x79f5_e1ca),
            0.0,
        ],
        f(0x29ff_fffd),
        f(0x6cbb_70b3),
    );
    one([f(0x80af_5c29), 0.0, 0.0, f(0x5d74_3fc3), 0.0], 1e20, 3e37);
    one(
        [
            -9.615_264_858_183_187e-308,
            -0.0,
            -4.412_521_810_481_59e217,
            3.238_961_982_257_962_6e199,
            0.999_999_999_999_999_9,
        ],
        -4.412_521_810_481_592e217,
        -0.0,
    );
}

/// Deployed IBP contains the real IBP bounds of the same mode and kernel, element by
/// element, also where its pieces (16K elements) would cut a row of channels: `[300, 70]`
/// and `[6000, 3]` (a review found one ulp of difference at a cut before pieces were made
/// of whole rows).
#[test]
fn deployed_contains_the_real_bounds_across_pieces() {
    for dims in [[300usize, 70], [6000, 3]] {
        let shape = Shape::new(&dims).unwrap();
        let c = dims[1];
        let t = |i: usize, a: f32, b: f32| a + b * ((i * 7919 % 997) as f32 / 997.0);
        let mut p: Vec<[f32; 4]> = (0..c)
            .map(|i| {
                [
                    t(i, -1.0, 2.0),
                    t(i, -0.5, 1.0),
                    t(i, -2.0, 4.0),
                    t(i, 1e-3, 0.5),
                ]
            })
            .collect();
        let mut lo: Vec<f32> = (0..shape.len()).map(|i| t(i, -3.0, 6.0)).collect();
        let mut hi: Vec<f32> = lo
            .iter()
            .enumerate()
            .map(|(i, &l)| l + t(i, 0.0, 0.5))
            .collect();
        if c == 70 {
            // The review's element: 16,444 (channel 64), in the row the first piece cut.
            p[64] = [0.142_899_14, -0.225_528_75, 1.985_232, 0.006_242_434_5];
            (lo[16_444], hi[16_444]) = (1.985_231_8, 4.182_294);
        }
        let col = |k: usize| p.iter().map(|v| v[k]).collect::<Vec<f32>>();
        let bn = BatchNorm::new(col(0), col(1), col(2), col(3), 1e-5).unwrap();
        let x = TensorBox::new(shape, lo, hi).unwrap();
        for kernel in Kernel::ALL {
            let real = bn.enclose().with_kernel(kernel).ibp(&x).unwrap();
            for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
                let y = bn.deployed(rt).with_kernel(kernel).ibp(&x).unwrap();
                for i in 0..shape.len() {
                    assert!(
                        y.lo()[i] <= real.lo()[i] && real.hi()[i] <= y.hi()[i],
                        "{dims:?} {kernel:?} {rt} element {i}"
                    );
                }
            }
        }
    }
}

/// Named hard cases: NaN of the runtime is a typed error; overflow gives infinite bounds.
#[test]
fn runtime_nan_and_overflow_cases() {
    let one = |g: f32, b: f32, m: f32, v: f32, e: f32, l: f32, h: f32| {
        let bn = BatchNorm::new(vec![g], vec![b], vec![m], vec![v], e).unwrap();
        let x = TensorBox::new(Shape::new(&[1]).unwrap(), vec![l], vec![h]).unwrap();
        bn.deployed(Runtime::OnnxruntimeCpu).ibp(&x)
    };
    // γ = 0, x = ∞: 0·∞.
    assert!(matches!(
        one(0.0, 1.0, 0.0, 1.0, 0.0, 1.0, f32::INFINITY),
        Err(Error::DeployedNan { .. })
    ));
    // α = γ/√q overflows (γ = MAX, q = 2⁻¹⁴⁹): x = 0 gives 0·∞ = NaN.
    let tiny = f32::from_bits(1);
    assert!(matches!(
        one(f32::MAX, 0.0, 0.0, tiny, 0.0, -1.0, 1.0),
        Err(Error::DeployedNan { .. })
    ));
    // The same layer on a box away from 0: every output is ±∞ (β' = 0 − 0·∞... μ = 0
    // gives NaN in β', so use μ = 1: β' = −∞ and x·α = +∞ at x ≥ 1 is ∞ − ∞ = NaN).
    assert!(one(f32::MAX, 0.0, 1.0, tiny, 0.0, 1.0, 2.0).is_err());
    // Finite α, x·α overflowing: the runtime returns +∞, so the bound's upper end is +∞.
    let y = one(2.0, 0.0, 0.0, 1.0, 0.0, 1.0, f32::MAX).unwrap();
    assert_eq!(y.hi()[0], f32::INFINITY);
    // Exact recipe values at ±MAX with α = 1, β' = 0 are ±MAX; the bound contains them.
    let y = one(1.0, 0.0, 0.0, 1.0, 0.0, -f32::MAX, f32::MAX).unwrap();
    assert!(y.lo()[0] <= -f32::MAX && f32::MAX <= y.hi()[0]);
}

/// Typical PyTorch-like BatchNorm2d(64) statistics (f32, a fifth of the scales negative)
/// and 4,096 point inputs spread over [−4, 4], as `(layer, n, c, xs)`.
fn typical_layer() -> (BatchNorm<f32>, usize, usize, Vec<f32>) {
    let c = 64;
    let f = |i: usize, a: f32, b: f32| a + b * ((i * 7919 % 997) as f32 / 997.0);
    let bn = BatchNorm::new(
        (0..c)
            .map(|i| f(i, 0.5, 1.0) * if i % 5 == 0 { -1.0 } else { 1.0 })
            .collect(),
        (0..c).map(|i| f(i, -0.3, 0.6)).collect(),
        (0..c).map(|i| f(i, -1.0, 2.0)).collect(),
        (0..c).map(|i| f(i, 0.001, 0.3)).collect(),
        1e-5,
    )
    .unwrap();
    let n = 4096 / c;
    let xs: Vec<f32> = (0..n * c)
        .map(|k| ((k * 2654435761usize % 1_000_003) as f32 / 1_000_003.0) * 8.0 - 4.0)
        .collect();
    (bn, n, c, xs)
}

/// The gap the deployed mode closes, measured: how many runtime outputs fall outside the
/// real bounds, by how many ulps, and how much wider the deployed bounds are (typical
/// PyTorch-like BatchNorm2d(64) statistics, f32, 4,096 point inputs).
#[test]
fn deployed_gap_on_a_typical_layer() {
    let (bn, n, c, xs) = typical_layer();
    let shape = Shape::new(&[n, c]).unwrap();
    let x = TensorBox::new(shape, xs.clone(), xs).unwrap();
    let real = bn.enclose().ibp(&x).unwrap();
    for runtime in [Runtime::OnnxruntimeCpu, Runtime::PytorchCpu] {
        let d = bn.deployed(runtime).ibp(&x).unwrap();
        let (mut outside, mut worst, mut widths) = (0, 0u64, Vec::new());
        for i in 0..n * c {
            let (a, z) = bn.deployed(runtime).outputs_at(i % c, x.lo()[i]).unwrap();
            let (rl, rh) = (real.lo()[i], real.hi()[i]);
            if a < rl || z > rh {
                outside += 1;
                worst = worst
                    .max(if a < rl {
                        bnbound::ulps_between(a, rl)
                    } else {
                        0
                    })
                    .max(if z > rh {
                        bnbound::ulps_between(rh, z)
                    } else {
                        0
                    });
            }
            widths
                .push(bnbound::ulps_between(d.lo()[i], d.hi()[i]) - bnbound::ulps_between(rl, rh));
        }
        widths.sort_unstable();
        println!(
            "{runtime}: {outside} of {} point outputs outside the real bounds (worst {worst} ulps); \
             deployed bounds wider by median {} / p99 {} / max {} ulps",
            n * c,
            widths[widths.len() / 2],
            widths[widths.len() * 99 / 100],
            widths[widths.len() - 1]
        );
        assert!(outside > 0, "the typical layer should show the gap");
    }
}

/// The checker under deployed semantics: claims are the deployed bounds moved 0 to 3 steps
/// inward; a side is flagged exactly when the oracle finds the real image or an emulated
/// runtime output beyond it.
fn run_checker<T: Float>(case: &ShapedCase<T>, runtime: Runtime) {
    let (bn, chs, input) = layer_and_box(case);
    let n = input.shape().len();
    let semantics = bnbound::Semantics::Deployed(runtime);
    let Ok(d) = bn.deployed(runtime).ibp(&input) else {
        return; // the runtime computes NaN here (checked in `run`)
    };
    let inward = |x: T, k: u8, up: bool| {
        let mut y = x;
        for _ in 0..k % 4 {
            if y.is_finite() {
                y = if up { y.step_up() } else { y.step_down() };
            }
        }
        y
    };
    let (mut cl, mut ch) = (Vec::new(), Vec::new());
    for i in 0..n {
        let k = case.entries[i].2;
        let (a, b) = (inward(d.lo()[i], k, true), inward(d.hi()[i], k / 4, false));
        let (a, b) = if a <= b {
            (a, b)
        } else {
            (d.lo()[i], d.hi()[i])
        };
        cl.push(a);
        ch.push(b);
    }
    let claimed = TensorBox::new(*input.shape(), cl, ch).unwrap();
    let report = bn.checker().ibp_in(semantics, &input, &claimed).unwrap();
    let inner = n / case.sample[0];
    let fallback = runtime == Runtime::PytorchCpu;
    for i in 0..n {
        let c = i / inner;
        let ch_ = chs[c];
        let p = [ch_.g, ch_.b, ch_.m, ch_.v, ch_.e];
        let (l, h) = (input.lo()[i].to_f64_exact(), input.hi()[i].to_f64_exact());
        // The checker requires the flush model's outputs too (flush-to-zero on and off).
        let mut ys = recipe_outputs_flush(p, l, format::<T>(), fallback);
        ys.extend(recipe_outputs_flush(p, h, format::<T>(), fallback));
        let ymin = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let ymax = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (yl, yh) = (
            claimed.lo()[i].to_f64_exact(),
            claimed.hi()[i].to_f64_exact(),
        );
        for side in [bnbound::Side::Lo, bnbound::Side::Hi] {
            let (real_bad, rt_bad) = if side == bnbound::Side::Lo {
                (
                    check_element(ch_, l, h, yl, f64::INFINITY).is_err(),
                    yl > ymin,
                )
            } else {
                (
                    check_element(ch_, l, h, f64::NEG_INFINITY, yh).is_err(),
                    yh < ymax,
                )
            };
            let flagged = report
                .violations
                .iter()
                .any(|v| v.index == i && v.side == side);
            assert_eq!(
                flagged,
                real_bad || rt_bad,
                "element {i} {side}: real {real_bad}, runtime {rt_bad}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 800, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deployed_checker_agrees_with_oracle_f32(case in shaped_case(hard_f32())) {
        run_checker(&case, Runtime::PytorchCpu);
        run_checker(&case, Runtime::OnnxruntimeCpu);
    }

    #[test]
    fn deployed_checker_agrees_with_oracle_f64(case in shaped_case(hard_f64())) {
        run_checker(&case, Runtime::OnnxruntimeCpu);
    }
}

/// Tightness of the deployed bounds: distance in ulps from each bound to the hull of the
/// tightest real bound (tight mode) and the runtime's outputs, over random typical layers
/// and boxes (f32 and f64). The target: within 4 ulps on 99% of bounds.
#[cfg(feature = "mpfr")]
#[test]
fn deployed_bounds_are_within_a_few_ulps_of_the_hull() {
    fn measure<T: Float>(seed: u64) -> Vec<u64> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut dists = Vec::new();
        for _ in 0..300 {
            let c = 4;
            let mut col = |a: f64, b: f64| -> Vec<T> {
                (0..c).map(|_| T::from_f64_down(a + b * next())).collect()
            };
            let g = col(-2.0, 4.0);
            let (b, m, v) = (col(-1.0, 2.0), col(-3.0, 6.0), col(0.0, 2.0));
            let bn = BatchNorm::new(g, b, m, v, T::from_f64_down(1e-5)).unwrap();
            let n = 16;
            let mut lo = Vec::new();
            let mut hi = Vec::new();
            for _ in 0..n * c {
                let x = T::from_f64_down(8.0 * next() - 4.0);
                let r = if next() < 0.5 {
                    T::zero()
                } else {
                    T::from_f64_down(next())
                };
                lo.push(x);
                hi.push(x + r);
            }
            let x = TensorBox::new(Shape::new(&[n, c]).unwrap(), lo, hi).unwrap();
            for rt in [Runtime::PytorchCpu, Runtime::OnnxruntimeCpu] {
                let got = bn.deployed(rt).ibp(&x).unwrap();
                // Tight mode under deployed semantics: the hull of the tightest real
                // enclosure and the runtime's outputs.
                let best = bn
                    .bounds(bnbound::Mode::Tight, bnbound::Semantics::Deployed(rt))
                    .unwrap()
                    .ibp(&x)
                    .unwrap();
                for i in 0..n * c {
                    dists.push(bnbound::ulps_between(got.lo()[i], best.lo()[i]));
                    dists.push(bnbound::ulps_between(got.hi()[i], best.hi()[i]));
                }
            }
        }
        dists
    }
    for (name, mut d) in [("f32", measure::<f32>(1)), ("f64", measure::<f64>(2))] {
        d.sort_unstable();
        let within4 = d.iter().filter(|&&u| u <= 4).count();
        println!(
            "{name}: {} bounds; distance to hull(tight real, runtime) in ulps: median {}, p99 {}, max {}; within 4 ulps: {:.2}%",
            d.len(),
            d[d.len() / 2],
            d[d.len() * 99 / 100],
            d[d.len() - 1],
            100.0 * within4 as f64 / d.len() as f64
        );
        assert!(
            within4 * 100 >= d.len() * 99,
            "{name}: fewer than 99% within 4 ulps"
        );
    }
}

/// ONNX Runtime's Conv→BatchNorm fusion, replayed: bnbound's folded floats equal the
/// reference emulation bit for bit, and each radius covers the distance to the sound
/// interval fold (which contains the exact composition).
fn run_fold<T: Float>(case: &ShapedCase<T>) {
    let (bn, _) = shaped_layer(case);
    let chs = channels_of(&bn);
    let c = bn.channels();
    let k = case.sample.iter().product::<usize>() / c;
    let n = c * k;
    let (w, _) = intervals(&case.entries[..n], false);
    let (b, _) = intervals(&case.entries[n..n + c], false);
    let Ok(conv) = bnbound::fold::LinearLayer::new(&[c, 1, k], w.clone(), Some(b.clone())) else {
        return;
    };
    let Ok(f) = bn
        .deployed(Runtime::OnnxruntimeCpu)
        .fold_into_preceding(&conv)
    else {
        return;
    };
    let sound = bn.enclose().fold_into_preceding(&conv).unwrap();
    for o in 0..c {
        let ch = chs[o];
        let p = [ch.g, ch.b, ch.m, ch.v, ch.e];
        let wo: Vec<f64> = w[o * k..(o + 1) * k]
            .iter()
            .map(|x| x.to_f64_exact())
            .collect();
        let (ew, eb) =
            bnbound_testkit::emulate::ort_fold(p, &wo, b[o].to_f64_exact(), format::<T>());
        for j in 0..k {
            let got = f.weight()[o * k + j].to_f64_exact();
            assert!(
                got == ew[j] || (got.is_nan() && ew[j].is_nan()),
                "W'[{o}][{j}]: {got:e} vs {:e}",
                ew[j]
            );
        }
        let got = f.bias()[o].to_f64_exact();
        assert!(
            got == eb || (got.is_nan() && eb.is_nan()),
            "b'[{o}]: {got:e} vs {eb:e}"
        );
    }
    let check = |v: &[T], r: &[T], bx: &TensorBox<T>| {
        for i in 0..v.len() {
            let (x, r) = (v[i].to_f64_exact(), r[i].to_f64_exact());
            let (l, h) = (bx.lo()[i].to_f64_exact(), bx.hi()[i].to_f64_exact());
            if x.is_finite() && l.is_finite() && h.is_finite() {
                assert!(
                    x - l <= r && h - x <= r,
                    "radius {r:e} does not cover [{l:e}, {h:e}] from {x:e}"
                );
            }
        }
    };
    check(f.weight(), f.weight_radius(), sound.weight());
    check(f.bias(), f.bias_radius(), sound.bias());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ort_fold_replays_exactly_f32(case in shaped_case(hard_f32())) {
        run_fold(&case);
    }

    #[test]
    fn ort_fold_replays_exactly_f64(case in shaped_case(hard_f64())) {
        run_fold(&case);
    }
}

/// f16/bf16 data (PyTorch computes in f32, then rounds once to the storage type): the
/// bounds are values of the storage type and contain every emulated output (each f32
/// operation rounded by the reference, then one reference rounding to f16/bf16) and the
/// exact real image.
fn run_stored(case: &ShapedCase<f32>, storage: bnbound::Storage, runtime: Runtime) {
    use bnbound_testkit::emulate::{round, BF16, F16, V};
    let fmt = match storage {
        bnbound::Storage::F16 => F16,
        bnbound::Storage::Bf16 => BF16,
    };
    let rn = |x: f32| round(&V::of(x as f64), fmt) as f32;
    // The case's values, rounded to the storage type (finite ones only).
    let st = |x: f32| {
        let y = rn(x);
        if y.is_finite() {
            y
        } else {
            0.0
        }
    };
    let params: Vec<[f32; 5]> = case.params.iter().map(|p| p.map(st)).collect();
    // ε is an f32 value (what the kernels use): of the storage type or not.
    let raw_eps = case.params[0][4].abs();
    let eps = if raw_eps.to_bits() & 1 == 0 && raw_eps.is_finite() {
        raw_eps
    } else {
        st(raw_eps)
    };
    let var: Vec<f32> = params
        .iter()
        .map(|p| match p[3].abs() {
            v if v == 0.0 && eps == 0.0 => 1.0,
            v => v,
        })
        .collect();
    let col = |i: usize| params.iter().map(|p| p[i]).collect::<Vec<f32>>();
    let Ok(bn) = BatchNorm::new(col(0), col(1), col(2), var, eps) else {
        return;
    };
    let chs = channels_of(&bn);
    let mut dims = vec![1];
    dims.extend(&case.sample);
    let shape = Shape::new(&dims).unwrap();
    let n = shape.len();
    let (lo, hi): (Vec<f32>, Vec<f32>) = case.entries[..n]
        .iter()
        .map(|&(a, b, _)| {
            let (a, b) = (st(a), st(b));
            if a <= b {
                (a, b)
            } else {
                (b, a)
            }
        })
        .unzip();
    let input = TensorBox::new(shape, lo, hi).unwrap();
    let got = bn.deployed(runtime).ibp_stored(&input, storage);
    // ONNX Runtime's 16-bit kernel is not replayed: its bounds are any's with 2 ulps.
    let any_ulps = match runtime {
        Runtime::Any { ulps } => Some(ulps),
        Runtime::OnnxruntimeCpu => {
            let any = bn
                .deployed(Runtime::Any { ulps: 2 })
                .ibp_stored(&input, storage);
            assert_eq!(got, any, "onnxruntime-cpu f16/bf16 bounds are not any's");
            Some(2)
        }
        _ => None,
    };
    assert_eq!(runtime.replays(storage), any_ulps.is_none());
    let Ok(b) = got else {
        assert!(matches!(got, Err(Error::DeployedNan { .. })), "{got:?}");
        return;
    };
    let inner = n / case.sample[0];
    for i in 0..n {
        let c = i / inner;
        let ch = chs[c];
        let p = [ch.g, ch.b, ch.m, ch.v, ch.e];
        let (l, h) = (input.lo()[i], input.hi()[i]);
        let (dl, dh) = (b.lo()[i], b.hi()[i]);
        assert!(
            storage.holds(dl) && storage.holds(dh),
            "bounds not of the storage type"
        );
        let mid = rn(between(l, h, 1, 2)).clamp(l, h);
        for (k, x) in [l, h, mid].into_iter().enumerate() {
            let mut ys: Vec<f64> = recipe_outputs(p, x as f64, F32, true);
            // With flush-to-zero on (every choice of the flush model) too.
            ys.extend(recipe_outputs_flush(p, x as f64, F32, true));
            // PyTorch's 16-bit fallback (strided inputs): every operation in the storage
            // type. `any` (and ONNX Runtime, bounded by it) must contain it too.
            ys.extend(pytorch_fallback16(p, x as f64, fmt));
            ys.extend(pytorch_fallback16_flush(p, x as f64, fmt));
            if let Some(ulps) = any_ulps {
                // Every form computed in the storage type, and in f32 then rounded once.
                let seed = (i * 3 + k) as u64 ^ case.entries[i].2 as u64;
                ys.extend(bnbound_testkit::emulate::any_outputs(
                    p, x as f64, fmt, ulps, seed,
                ));
                ys.extend(bnbound_testkit::emulate::any_outputs(
                    p, x as f64, F32, ulps, seed,
                ));
                if ys.iter().any(|y| y.is_nan()) {
                    panic!("element {i}: some order gives NaN but no error was reported");
                }
            }
            for y in ys {
                let y = rn(y as f32);
                assert!(!y.is_nan());
                assert!(
                    dl <= y && y <= dh,
                    "element {i}: stored output {y:e} outside [{dl:e}, {dh:e}]"
                );
            }
        }
        check_element(ch, l as f64, h as f64, dl as f64, dh as f64)
            .unwrap_or_else(|m| panic!("element {i}: real image not enclosed: {m}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deployed_f16_contains_runtime_and_real(case in shaped_case(hard_f32())) {
        run_stored(&case, bnbound::Storage::F16, Runtime::PytorchCpu);
    }

    #[test]
    fn deployed_bf16_contains_runtime_and_real(case in shaped_case(hard_f32())) {
        run_stored(&case, bnbound::Storage::Bf16, Runtime::PytorchCpu);
    }
}

proptest! {
    // Each case also computes any's bounds, and emulates ~25 forms in two formats.
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ort_f16_is_any_on_the_storage_grid(case in shaped_case(hard_f32())) {
        run_stored(&case, bnbound::Storage::F16, Runtime::OnnxruntimeCpu);
    }

    #[test]
    fn ort_bf16_is_any_on_the_storage_grid(case in shaped_case(hard_f32())) {
        run_stored(&case, bnbound::Storage::Bf16, Runtime::OnnxruntimeCpu);
    }
}

/// σ² = 0, ε = 1e-7 (f32), x = 1, f16. PyTorch's fallback
/// for strided inputs stores ε in f16 (1.19e-7, a subnormal), so `1/√` gives 2896, where
/// f32 compute gives 3162: the bounds [3162, 3164] of "f32 compute, one rounding" would
/// miss it. The expected value is the real kernel's output (PyTorch 2.8,
/// `tests/engine/torch_deployed.py`) and the rational emulation's.
#[test]
fn pytorch_f16_fallback_stores_eps_in_f16() {
    use bnbound::Storage;
    let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![0.0], 1e-7).unwrap();
    let x = TensorBox::new(Shape::new(&[1]).unwrap(), vec![1.0f32], vec![1.0]).unwrap();
    let emulated = pytorch_fallback16([1.0, 0.0, 0.0, 0.0, 1e-7f32 as f64], 1.0, F16);
    assert!(emulated.iter().all(|&y| y == 2896.0), "{emulated:?}");
    let y = bn
        .deployed(Runtime::PytorchCpu)
        .ibp_stored(&x, Storage::F16)
        .unwrap();
    assert!(y.lo()[0] <= 2896.0, "lower bound {} above 2896", y.lo()[0]);
    // The contiguous path's f32 compute is still covered: RN_f16(1/√(1e-7)) = 3162.
    assert!(3162.0 <= y.hi()[0], "upper bound {} below 3162", y.hi()[0]);
    // bf16: 1e-7 is a normal bf16 neighbourhood; the fallback's result is inside too.
    let emulated = pytorch_fallback16([1.0, 0.0, 0.0, 0.0, 1e-7f32 as f64], 1.0, BF16);
    let y = bn
        .deployed(Runtime::PytorchCpu)
        .ibp_stored(&x, Storage::Bf16)
        .unwrap();
    for e in emulated {
        assert!(
            y.lo()[0] as f64 <= e && e <= y.hi()[0] as f64,
            "{e} outside {y:?}"
        );
    }
}

proptest! {
    // Rational emulation of ~25 forms in two formats per point: fewer cases.
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_f16_contains_every_order_and_mixture(case in shaped_case(hard_f32()), ulps in 0u32..=4) {
        run_stored(&case, bnbound::Storage::F16, Runtime::Any { ulps });
    }

    #[test]
    fn any_bf16_contains_every_order_and_mixture(case in shaped_case(hard_f32()), ulps in 0u32..=4) {
        run_stored(&case, bnbound::Storage::Bf16, Runtime::Any { ulps });
    }
}

/// The storage conversion bnbound replays (round to nearest, ties to even) equals the
/// reference rounding on every f32 near every f16 and bf16 midpoint and on spread samples.
#[test]
fn storage_rounding_matches_the_reference() {
    use bnbound_testkit::emulate::{round, BF16, F16, V};
    let mut xs: Vec<f32> = Vec::new();
    for bits in 0u16..=0x7BFF {
        let v = half::f16::from_bits(bits).to_f32();
        let w = half::f16::from_bits(bits + 1).to_f32();
        let m = v + (w - v) / 2.0; // exact in f32
        xs.extend([m, m.next_down(), m.next_up(), v, -m, -m.next_up()]);
    }
    for bits in (0u16..0x7F7F).step_by(7) {
        let v = half::bf16::from_bits(bits).to_f32();
        let w = half::bf16::from_bits(bits + 1).to_f32();
        let m = v + (w - v) / 2.0;
        xs.extend([m, m.next_down(), m.next_up(), -m]);
    }
    xs.extend(
        (0..200_000u32)
            .map(|k| f32::from_bits(k.wrapping_mul(2654435761)))
            .filter(|x| !x.is_nan()),
    );
    for x in xs {
        for (s, fmt) in [(bnbound::Storage::F16, F16), (bnbound::Storage::Bf16, BF16)] {
            let want = round(&V::of(x as f64), fmt) as f32;
            let lo = s.down(x);
            let hi = s.up(x);
            assert!(
                lo <= x && x <= hi && s.holds(lo) && s.holds(hi),
                "{x:e}: [{lo:e}, {hi:e}]"
            );
            assert!(
                want == lo || want == hi,
                "{x:e}: RN {want:e} not a neighbour"
            );
            // RN is the nearer neighbour (ties to even are checked by the reference).
            let h = half_rn(x, s);
            assert_eq!(h.to_bits(), want.to_bits(), "{x:e} ({s:?})");
        }
    }
}

fn half_rn(x: f32, s: bnbound::Storage) -> f32 {
    match s {
        bnbound::Storage::F16 => half::f16::from_f32(x).to_f32(),
        bnbound::Storage::Bf16 => half::bf16::from_f32(x).to_f32(),
    }
}

/// The f16 deployed gap, measured: PyTorch's f16 outputs (f32 compute, one rounding to f16)
/// against the real bounds rounded outward to f16, on a typical layer and on a layer with
/// cancellation (outputs near zero: inputs near μ and β ≈ 0), 4,096 point inputs each.
#[test]
fn deployed_f16_gap() {
    let st = |x: f32| half::f16::from_f32(x).to_f32();
    let c = 64;
    let f = |i: usize, a: f32, b: f32| st(a + b * ((i * 7919 % 997) as f32 / 997.0));
    for (name, cancel) in [("typical", false), ("cancellation", true)] {
        let mean: Vec<f32> = (0..c).map(|i| f(i, -1.0, 2.0)).collect();
        let beta: Vec<f32> = if cancel {
            vec![0.0; c]
        } else {
            (0..c).map(|i| f(i, -0.3, 0.6)).collect()
        };
        let bn = BatchNorm::new(
            (0..c).map(|i| f(i, 0.5, 1.0)).collect(),
            beta,
            mean.clone(),
            (0..c).map(|i| f(i, 0.001, 0.3)).collect(),
            st(1e-5),
        )
        .unwrap();
        let n = 4096 / c;
        let xs: Vec<f32> = (0..n * c)
            .map(|k| {
                let u = (k * 2654435761usize % 1_000_003) as f32 / 1_000_003.0;
                if cancel {
                    st(mean[k % c] + (u - 0.5) * 0.01)
                } else {
                    st(u * 8.0 - 4.0)
                }
            })
            .collect();
        let x = TensorBox::new(Shape::new(&[n, c]).unwrap(), xs.clone(), xs).unwrap();
        let real = bn.enclose().ibp(&x).unwrap();
        let d = bn.deployed(Runtime::PytorchCpu);
        let b = d.ibp_stored(&x, bnbound::Storage::F16).unwrap();
        let s16 = bnbound::Storage::F16;
        let (mut outside, mut worst) = (0, 0i32);
        for i in 0..n * c {
            let (a, z) = d.outputs_at(i % c, x.lo()[i]).unwrap();
            let (a, z) = (st(a), st(z));
            let (rl, rh) = (s16.down(real.lo()[i]), s16.up(real.hi()[i]));
            assert!(b.lo()[i] <= a && z <= b.hi()[i]);
            if a < rl || z > rh {
                outside += 1;
                let steps = |p: f32, q: f32| {
                    (half::f16::from_f32(p).to_bits() as i32
                        - half::f16::from_f32(q).to_bits() as i32)
                        .abs()
                };
                worst = worst
                    .max(if a < rl { steps(a, rl) } else { 0 })
                    .max(if z > rh { steps(z, rh) } else { 0 });
            }
        }
        println!("f16 {name}: {outside} of {} PyTorch outputs outside the real f16 bounds (worst {worst} f16 steps); all inside the deployed bounds", n * c);
    }
}

/// Every output the emulation gives at `x` under `--runtime any` (every form with the K-ulp
/// errors of each seed, and the named recipes with flush-to-zero off and on) lies in
/// `[dl, dh]`; an output that is NaN is skipped (an order that gives NaN there must not
/// have got a bound, which the caller's `Err` arm covers).
fn any_inside<T: Float>(
    p: [f64; 5],
    x: f64,
    ulps: u32,
    seeds: impl IntoIterator<Item = u64>,
    (dl, dh): (f64, f64),
    what: impl Fn() -> String,
) {
    let mut ys = Vec::new();
    for seed in seeds {
        ys.extend(bnbound_testkit::emulate::any_outputs(
            p,
            x,
            format::<T>(),
            ulps,
            seed,
        ));
    }
    ys.extend(recipe_outputs(p, x, format::<T>(), true));
    ys.extend(recipe_outputs_flush(p, x, format::<T>(), true));
    for y in ys.into_iter().filter(|y| !y.is_nan()) {
        assert!(
            dl <= y && y <= dh,
            "{}: output {y:e} at x = {x:e} outside [{dl:e}, {dh:e}]; p = {p:?}, K = {ulps}",
            what()
        );
    }
}

/// `--runtime any`: its bounds contain the emulated outputs of every form it covers with
/// random K-ulp errors of `√`, `1/√`, `÷` (and FMA variants), the named runtimes' outputs,
/// and the real image.
fn run_any<T: Float>(case: &ShapedCase<T>, ulps: u32) {
    let (bn, chs, input) = layer_and_box(case);
    let any = bn
        .deployed(Runtime::Any { ulps })
        .with_kernel(kernel_of(case));
    any_elements(&any, &input, &chs, |i, p, (l, h), (dl, dh)| {
        let mid = between(l, h, 1, 2);
        for (s, x) in [l, h, mid].into_iter().enumerate() {
            let seed = (i * 3 + s) as u64 + case.entries[i].2 as u64;
            any_inside::<T>(p, x.to_f64_exact(), ulps, [seed], (dl, dh), || {
                format!("element {i}, box [{l:?}, {h:?}]")
            });
        }
    });
}

/// Each element of `input` with its channel's parameters, its ends and its bounds from
/// `any` (`--runtime any`), after checking them against the exact real image; nothing
/// when `any` refuses the box (NaN possible somewhere in it under some order).
fn any_elements<T: Float>(
    any: &Bounds<T>,
    input: &TensorBox<T>,
    chs: &[Ch],
    mut each: impl FnMut(usize, [f64; 5], (T, T), (f64, f64)),
) {
    let Ok(b) = any.ibp(input) else {
        return;
    };
    let n = input.shape().len();
    let inner = n / input.shape().channels();
    for i in 0..n {
        let ch = chs[i / inner];
        let (l, h) = (input.lo()[i], input.hi()[i]);
        let (dl, dh) = (b.lo()[i].to_f64_exact(), b.hi()[i].to_f64_exact());
        check_element(ch, l.to_f64_exact(), h.to_f64_exact(), dl, dh)
            .unwrap_or_else(|m| panic!("element {i}: real image not enclosed: {m}"));
        each(i, [ch.g, ch.b, ch.m, ch.v, ch.e], (l, h), (dl, dh));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 800, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_contains_every_order_f32(case in shaped_case(hard_f32()), ulps in 0u32..=4) {
        run_any(&case, ulps);
    }

    #[test]
    fn any_contains_every_order_f64(case in shaped_case(hard_f64()), ulps in 0u32..=4) {
        run_any(&case, ulps);
    }
}

/// `--runtime any` through its envelope path (fast mode): boxes of many widths (points, a
/// few ulps, relative widths up to wide spans across magnitudes, infinite ends, elements
/// near overflow that take the exact path), every bound checked against the exact real
/// image and the emulated outputs of every form (random K-ulp errors, several seeds) and
/// of the named recipes with and without flush-to-zero, at 9 floats of each box spread by
/// ordinal (so both ends, the middle, and points across the magnitudes between).
fn run_any_points<T: Float>(case: &ShapedCase<T>, widths: &[u8], ulps: u32) {
    let (bn, chs) = shaped_layer(case);
    let mut dims = vec![1];
    dims.extend(&case.sample);
    let shape = Shape::new(&dims).unwrap();
    let n = shape.len();
    let (mut lo, mut hi) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, &(a, b, k)) in case.entries[..n].iter().enumerate() {
        let w = widths[i % widths.len()];
        let (l, h) = match w % 8 {
            0 => (a, a),
            1 => (a, from_ordinal(ordinal(a) + 3)),
            2 => (a, a + a.abs() * T::from_f64_down(1e-3)),
            3 => (a - T::one(), a + T::one()),
            4 => (a.min(b), a.max(b)),
            5 => (a.min(-a.abs()), a.abs()),
            6 if k % 2 == 0 => (T::neg_infinity(), a),
            6 => (a, T::infinity()),
            _ => (
                a.min(b) * T::from_f64_down(0.5),
                a.max(b) * T::from_f64_down(0.5),
            ),
        };
        let (l, h) = if l.is_nan() || h.is_nan() || l > h {
            (a, a)
        } else {
            (l, h)
        };
        lo.push(l);
        hi.push(h);
    }
    let input = TensorBox::new(shape, lo, hi).unwrap();
    let any = bn.deployed(Runtime::Any { ulps });
    any_elements(&any, &input, &chs, |i, p, (l, h), (dl, dh)| {
        let (fl, fh) = (
            if l.is_finite() {
                l
            } else {
                T::from_f64_down(-f64::MAX).max(-T::max_value())
            },
            if h.is_finite() { h } else { T::max_value() },
        );
        for k in 0..=8 {
            let x = between(fl, fh, k, 8).to_f64_exact();
            let seeds = (0..3u64).map(|seed| seed * 977 + (i * 9 + k as usize) as u64);
            any_inside::<T>(p, x, ulps, seeds, (dl, dh), || {
                format!("element {i}, box [{l:?}, {h:?}]")
            });
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_envelope_contains_every_order_at_many_points_f32(
        case in shaped_case(hard_f32()),
        widths in proptest::collection::vec(any::<u8>(), 1..16),
        ulps in prop_oneof![0u32..=4, Just(64u32), Just(Runtime::MAX_ULPS)],
    ) {
        run_any_points(&case, &widths, ulps);
    }
}

proptest! {
    // f64's rational emulation is slower: fewer cases.
    #![proptest_config(ProptestConfig { cases: 30, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_envelope_contains_every_order_at_many_points_f64(
        case in shaped_case(hard_f64()),
        widths in proptest::collection::vec(any::<u8>(), 1..16),
        ulps in prop_oneof![0u32..=4, Just(64u32), Just(Runtime::MAX_ULPS)],
    ) {
        run_any_points(&case, &widths, ulps);
    }
}

/// How much wider `any` (K = 2) is than the named runtimes on the typical layer.
#[test]
fn any_width_on_a_typical_layer() {
    let (bn, n, c, xs) = typical_layer();
    let x = TensorBox::new(Shape::new(&[n, c]).unwrap(), xs.clone(), xs).unwrap();
    let any = bn.deployed(Runtime::Any { ulps: 2 }).ibp(&x).unwrap();
    for rt in [Runtime::OnnxruntimeCpu, Runtime::PytorchCpu] {
        let d = bn.deployed(rt).ibp(&x).unwrap();
        let mut extra: Vec<u64> = (0..n * c)
            .map(|i| {
                assert!(
                    any.lo()[i] <= d.lo()[i] && d.hi()[i] <= any.hi()[i],
                    "any does not contain {rt}"
                );
                bnbound::ulps_between(any.lo()[i], any.hi()[i])
                    - bnbound::ulps_between(d.lo()[i], d.hi()[i])
            })
            .collect();
        extra.sort_unstable();
        println!(
            "any (K = 2) vs {rt}: wider by median {} / p99 {} / max {} f32 ulps per box",
            extra[extra.len() / 2],
            extra[extra.len() * 99 / 100],
            extra[extra.len() - 1]
        );
    }
}

/// Named hard cases of `any`: `σ² + ε` overflows (`r = ∞`, the exact `1/r` is 0, and a
/// K-ulp reciprocal may be a subnormal of either sign — found by the property test), and
/// the largest accepted `K`.
#[test]
fn any_hard_cases() {
    let check = |p: [f32; 5], x: f32, ulps: u32, seeds: u64| {
        let bn = BatchNorm::new(vec![p[0]], vec![p[1]], vec![p[2]], vec![p[3]], p[4]).unwrap();
        let d = bn.deployed(Runtime::Any { ulps });
        let (lo, hi) = d.outputs_at(0, x).unwrap();
        let pf = p.map(|v| v as f64);
        for seed in 0..seeds {
            for y in bnbound_testkit::emulate::any_outputs(pf, x as f64, F32, ulps, seed) {
                assert!(
                    lo as f64 <= y && y <= hi as f64,
                    "{y:e} outside [{lo:e}, {hi:e}] for K = {ulps}"
                );
            }
        }
    };
    let overflow = [
        968.67035,
        -8.931536e-39,
        120.65722,
        3.4027214e38,
        3.4027555e38,
    ];
    check(overflow, -1.982962e-39, 2, 200);
    // σ² + ε = 10⁻⁴⁵ (subnormal) is read as 0 under denormals-are-zero: 1/√0 = ∞, and
    // (x − μ)·∞ − μ·∞ is NaN for every x: no bound (the flush model).
    let bn = BatchNorm::new(vec![1.5f32], vec![-0.25], vec![0.5], vec![1e-45], 0.0).unwrap();
    assert!(matches!(
        bn.deployed(Runtime::Any { ulps: 2 }).outputs_at(0, 3.0),
        Err(Error::DeployedNan { .. })
    ));
    check([1.5, -0.25, 0.5, 1.5e-38, 0.0], 3.0, Runtime::MAX_ULPS, 3);
    check([-1e30, 1e-40, -2.0, 2.0, 1e-5], 1e8, Runtime::MAX_ULPS, 3);
    let bn = BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1.0], 0.0).unwrap();
    assert!(matches!(
        bn.deployed(Runtime::Any {
            ulps: Runtime::MAX_ULPS + 1
        })
        .outputs_at(0, 1.0),
        Err(Error::UlpsOutOfRange { .. })
    ));
}

/// Deployed derivative bounds (`any` with K ∈ 0..4 and the named runtimes): each contains
/// the exact real `s·d` (oracle), and `any`'s contains the named runtimes' slopes times `d`.
fn run_deriv<T: Float>(case: &ShapedCase<T>, ulps: u32) {
    let (bn, chs, input) = layer_and_box(case);
    let n = input.shape().len();
    let inner = n / case.sample[0];
    let boxes: Vec<TensorBox<T>> = [
        Runtime::Any { ulps },
        Runtime::OnnxruntimeCpu,
        Runtime::PytorchCpu,
    ]
    .into_iter()
    .map(|rt| bn.deployed(rt).derivative_chain(&input).unwrap())
    .collect();
    for b in &boxes {
        for i in 0..n {
            let (l, h) = (input.lo()[i].to_f64_exact(), input.hi()[i].to_f64_exact());
            let (dl, dh) = (b.lo()[i].to_f64_exact(), b.hi()[i].to_f64_exact());
            check_element(chs[i / inner].scale_only(), l, h, dl, dh)
                .unwrap_or_else(|m| panic!("element {i}: s·d not enclosed: {m}"));
        }
    }
    for named in &boxes[1..] {
        for i in 0..n {
            assert!(boxes[0].lo()[i] <= named.lo()[i] && named.hi()[i] <= boxes[0].hi()[i]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deployed_derivative_contains_real_and_named_f32(case in shaped_case(hard_f32()), ulps in 0u32..=4) {
        run_deriv(&case, ulps);
    }

    #[test]
    fn deployed_derivative_contains_real_and_named_f64(case in shaped_case(hard_f64()), ulps in 0u32..=4) {
        run_deriv(&case, ulps);
    }
}

/// ONNX Runtime rewrites an f32 BatchNorm whose input is in NCHWc
/// layout into a depthwise convolution with weight γ/√q (a division) and bias β − μ·s'
/// (`nchwc_transformer.cc`). A layer and input where onnxruntime 1.32 outputs
/// −0.10788780450820923 (6 ulps below the bounds of the plain recipe) must be inside, and the replay must
/// agree with the emulation exactly.
#[test]
fn onnxruntime_nchwc_rewrite_is_enclosed() {
    // The printed values are f32 values (checked: exact conversions).
    let f = |x: f64| {
        let y = x as f32;
        assert_eq!(y as f64, x);
        y
    };
    let (g, b, m, v) = (
        f(0.5430335402488708),
        f(0.6044053435325623),
        f(-0.062183674424886703),
        f(0.5262821316719055),
    );
    let bn = BatchNorm::new(vec![g], vec![b], vec![m], vec![v], 1e-5f32).unwrap();
    let x = f(-1.0137641429901123);
    let ort_output = f(-0.10788780450820923);
    let input = TensorBox::new(Shape::new(&[1]).unwrap(), vec![x], vec![x]).unwrap();
    let y = bn.deployed(Runtime::OnnxruntimeCpu).ibp(&input).unwrap();
    assert!(y.lo()[0] <= ort_output && ort_output <= y.hi()[0], "{y:?}");
    let p = [g, b, m, v, 1e-5f32].map(|t| t as f64);
    let ys = recipe_outputs(p, x as f64, F32, false);
    assert!(ys.contains(&(ort_output as f64)), "{ys:?}");
    // The checker judges the plain recipe's narrower bound unsound under deployed semantics.
    let old = TensorBox::new(
        Shape::new(&[1]).unwrap(),
        vec![f(-0.10788775980472565)],
        vec![f(-0.10788774490356445)],
    )
    .unwrap();
    let semantics = bnbound::Semantics::Deployed(Runtime::OnnxruntimeCpu);
    assert!(!bn
        .checker()
        .ibp_in(semantics, &input, &old)
        .unwrap()
        .sound());
}

/// Under `torch.set_flush_denormal(True)` (x86 FTZ + DAZ) the runtime
/// reads subnormal inputs and parameters as 0 and flushes tiny results. The cases measured
/// with torch 2.8.0 (an f32 layer with x = 10⁻⁴⁰, γ = 1, σ² = 10⁻³⁰, ε = 0 outputs 0 there,
/// not ≈ 10⁻²⁵; likewise f64 with x = 10⁻³¹⁰ and bf16 with x ≈ 10⁻³⁹) must be inside
/// pytorch-cpu's, onnxruntime-cpu's and any's bounds, and the checker must require them.
/// Without the flush model every bound would exclude 0 here.
#[test]
fn flush_to_zero_outputs_are_inside() {
    fn case<T: Float>(x: T, v: T) {
        let bn = BatchNorm::new(
            vec![T::one()],
            vec![T::zero()],
            vec![T::zero()],
            vec![v],
            T::zero(),
        )
        .unwrap();
        let input = TensorBox::new(Shape::new(&[1]).unwrap(), vec![x], vec![x]).unwrap();
        let p = [1.0, 0.0, 0.0, v.to_f64_exact(), 0.0];
        for rt in [
            Runtime::PytorchCpu,
            Runtime::OnnxruntimeCpu,
            Runtime::Any { ulps: 2 },
        ] {
            let b = bn.deployed(rt).ibp(&input).unwrap();
            let (lo, hi) = (b.lo()[0].to_f64_exact(), b.hi()[0].to_f64_exact());
            // The flushed output (0) and the unflushed one (x/√σ², ≈ 10⁻²⁵) are both inside.
            assert!(
                lo <= 0.0 && 0.0 <= hi,
                "{rt}: flushed output 0 outside [{lo:e}, {hi:e}]"
            );
            let fallback = rt != Runtime::OnnxruntimeCpu; // any covers the fallback too
            for y in recipe_outputs_flush(p, x.to_f64_exact(), format::<T>(), fallback) {
                assert!(lo <= y && y <= hi, "{rt}: {y:e} outside [{lo:e}, {hi:e}]");
            }
            assert!(hi > 0.0);
        }
        // The checker judges claims against the flushed outputs too: a claim that holds
        // only the unflushed output is unsound, the deployed bound is sound.
        let ort = bnbound::Semantics::Deployed(Runtime::OnnxruntimeCpu);
        let d = bn.deployed(Runtime::OnnxruntimeCpu).ibp(&input).unwrap();
        assert!(bn.checker().ibp_in(ort, &input, &d).unwrap().sound());
        let (_, y) = bn
            .deployed(Runtime::OnnxruntimeCpu)
            .outputs_at(0, x)
            .unwrap();
        let real = bn.enclose().ibp(&input).unwrap();
        let only_unflushed = TensorBox::new(
            *input.shape(),
            vec![real.lo()[0].min(y)],
            vec![real.hi()[0].max(y)],
        )
        .unwrap();
        assert!(only_unflushed.lo()[0] > T::zero());
        let r = bn.checker().ibp_in(ort, &input, &only_unflushed).unwrap();
        assert!(!r.sound(), "a claim without the flushed 0 was judged sound");
    }
    case(1e-40f32, 1e-30f32);
    case(1e-310f64, 1e-30f64);
    // bf16: x = 2⁻¹²⁹ ≈ 1.5·10⁻³⁹ is a bf16 subnormal (an f32 subnormal too).
    let x = 2f32.powi(-129);
    let bn = BatchNorm::new(
        vec![1.0f32],
        vec![0.0],
        vec![0.0],
        vec![2f32.powi(-100)],
        0.0,
    )
    .unwrap();
    let input = TensorBox::new(Shape::new(&[1]).unwrap(), vec![x], vec![x]).unwrap();
    for rt in [
        Runtime::PytorchCpu,
        Runtime::OnnxruntimeCpu,
        Runtime::Any { ulps: 2 },
    ] {
        let b = bn
            .deployed(rt)
            .ibp_stored(&input, bnbound::Storage::Bf16)
            .unwrap();
        assert!(
            b.lo()[0] <= 0.0 && 0.0 <= b.hi()[0] && b.hi()[0] > 0.0,
            "{rt}: {b:?}"
        );
    }
}

/// Inputs, parameters and intermediates without subnormals or tiny results: the flush
/// model changes nothing, the bounds are the ordinary replay's bit for bit (here compared
/// with the values of the ordinary emulation's hull at the endpoints).
#[test]
fn flush_model_leaves_normal_cases_unchanged() {
    let bn = BatchNorm::new(
        vec![0.7f32, -1.3],
        vec![0.1, 0.2],
        vec![0.5, -0.25],
        vec![0.3, 2.0],
        1e-5,
    )
    .unwrap();
    let d = bn.deployed(Runtime::PytorchCpu);
    for x in [-3.0f32, -0.5, 0.0, 0.25, 7.0] {
        for c in 0..2 {
            let p = [
                bn.gamma()[c] as f64,
                bn.beta()[c] as f64,
                bn.running_mean()[c] as f64,
                bn.running_var()[c] as f64,
                bn.eps() as f64,
            ];
            let ys = recipe_outputs(p, x as f64, F32, true);
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (a, b) = d.outputs_at(c, x).unwrap();
            assert_eq!((a as f64, b as f64), (lo, hi));
        }
    }
}
