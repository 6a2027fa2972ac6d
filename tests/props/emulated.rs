//! Helpers shared by the linear-bound property tests: what the emulated runtimes compute,
//! and ordinary layers on which real-semantics bounds miss those outputs.

use bnbound::{BatchNorm, Float, Runtime};
use bnbound_testkit::emulate::{
    any_outputs, recipe_outputs, recipe_outputs_flush, Format, F32, F64,
};
use bnbound_testkit::ShapedCase;

/// The test kit's format of `T`.
pub fn format<T: Float>() -> Format {
    match T::DTYPE {
        bnbound::Dtype::F32 => F32,
        bnbound::Dtype::F64 => F64,
    }
}

/// Every output the emulated runtime computes at `x` in channel `c` (exact f64 values,
/// flush-to-zero on and off), or `None` when one is not finite (no finite bound holds
/// it). For `any`: outputs of forms with random K-ulp errors (seeded by `x` and `c`), and
/// the named runtimes'.
pub fn outputs<T: Float>(bn: &BatchNorm<T>, c: usize, x: T, runtime: Runtime) -> Option<Vec<f64>> {
    let f = |v: T| v.to_f64_exact();
    let p = [
        f(bn.gamma()[c]),
        f(bn.beta()[c]),
        f(bn.running_mean()[c]),
        f(bn.running_var()[c]),
        f(bn.eps()),
    ];
    let ys = match runtime {
        Runtime::Any { ulps } => {
            let seed = f(x).to_bits() ^ (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut ys = any_outputs(p, f(x), format::<T>(), ulps, seed);
            ys.extend(any_outputs(p, f(x), format::<T>(), ulps, seed ^ 1));
            ys.extend(recipe_outputs(p, f(x), format::<T>(), true));
            ys.extend(recipe_outputs_flush(p, f(x), format::<T>(), true));
            ys
        }
        _ => recipe_outputs_flush(p, f(x), format::<T>(), runtime == Runtime::PytorchCpu),
    };
    ys.iter().all(|y| y.is_finite()).then_some(ys)
}

/// An ordinary 3-channel layer (index `k` varies it) over `[C, 4]` with `boxes` boxes of
/// width 0.75 and `other` as the case's other dimension.
pub fn ordinary_case(k: u64, boxes: usize, other: usize) -> ShapedCase<f32> {
    let c = 3;
    let params: Vec<[f32; 5]> = (0..c)
        .map(|i| {
            let t = (k * 7 + i as u64) as f32;
            [
                0.3 + t / 17.0,
                -1.1 + t / 29.0,
                0.7 - t / 13.0,
                0.01 + t / 31.0,
                1e-5,
            ]
        })
        .collect();
    ShapedCase {
        params,
        sample: vec![c, 4],
        other,
        entries: (0..boxes * c * 4)
            .map(|j| {
                let a = -2.0 + (j as f32 + k as f32) / 7.0;
                (a, a + 0.75, j as u8)
            })
            .collect(),
    }
}

/// Points of one box (`lo`, `hi` element by element): its lower ends, upper ends,
/// midpoints and a mixture of the three.
pub fn points<T: Float>(lo: &[T], hi: &[T]) -> Vec<Vec<T>> {
    let two = T::one() + T::one();
    let mid: Vec<T> = lo
        .iter()
        .zip(hi)
        .map(|(&l, &h)| l / two + h / two)
        .collect();
    let mixed: Vec<T> = (0..lo.len())
        .map(|j| match j % 3 {
            0 => lo[j],
            1 => hi[j],
            _ => mid[j],
        })
        .collect();
    vec![lo.to_vec(), hi.to_vec(), mid, mixed]
}
