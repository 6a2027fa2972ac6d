//! Fuzz harnesses (always built; not a stable API). Each function takes the fuzzer's
//! bytes, builds a structured case biased towards the hard cases (±0, subnormals, powers
//! of two, values near overflow, γ = 0, σ² = 0, constructed cancellation `s·x ≈ −o`),
//! runs one part of bnbound and checks it against the reference oracle (`src/oracle.rs`:
//! exact rationals, a different formulation from `bnbound::exact`). Any failure panics.
//! Used by the `fuzz/` targets and by `tests/cases/fuzz_corpus.rs`.

pub use files::{model_files_no_escape, model_graph_no_panic, model_no_panic, parse_no_panic};
pub use numbers::decimal_reads_exactly;
#[cfg(feature = "mpfr")]
pub use numeric::tight_is_tightest;
pub use numeric::{
    affine_contains, backward_contains, checker_agrees, deployed_contains, deployed_forms_contain,
    deriv_contains, ibp_contains,
};

use crate::oracle::Ch;
use arbitrary::Unstructured;
use bnbound::{BatchNorm, Enclosure, Float, Kernel, Shape, TensorBox};

/// A layer, its channels' exact parameters, a box over it, and each element's channel.
pub(crate) type Case<T> = (BatchNorm<T>, Vec<Ch>, TensorBox<T>, Vec<usize>);

/// A float of type `T` from the fuzzer, biased to hard values.
pub(crate) fn value<T: Float>(u: &mut Unstructured<'_>) -> T {
    let pick = u.int_in_range(0u8..=11).unwrap_or(0);
    let raw = u.arbitrary::<u64>().unwrap_or(0);
    let sign = if raw & 1 == 0 { 1.0 } else { -1.0 };
    let x: f64 = match pick {
        0 => 0.0,
        1 => -0.0,
        // subnormals of T
        2 => match T::DTYPE {
            bnbound::Dtype::F64 => sign * f64::from_bits(raw % (1 << 52)),
            bnbound::Dtype::F32 => sign * f32::from_bits((raw % (1 << 23)) as u32) as f64,
        },
        // powers of two across the range
        3 => sign * 2f64.powi((raw % 2098) as i32 - 1074),
        // near the overflow threshold
        4 => sign * T::max_value().to_f64_exact() * (1.0 - (raw % 64) as f64 * f64::EPSILON),
        // small integers and simple fractions
        5 => sign * ((raw % 17) as f64) / (1 + (raw >> 8) % 4) as f64,
        // near 1 (cancellation-prone scales)
        6 => 1.0 + sign * ((raw % 8) as f64) * f64::EPSILON,
        // ordinary magnitudes
        7 | 8 => {
            sign * ((raw >> 11) as f64 / (1u64 << 53) as f64) * 2f64.powi((raw % 21) as i32 - 10)
        }
        // any bit pattern
        _ => f64::from_bits(raw),
    };
    let t = T::from_f64_down(x);
    if t.is_finite() {
        t
    } else {
        T::one()
    }
}

/// A valid layer of `c` channels (or `None` when the bytes run out).
pub(crate) fn layer<T: Float>(
    u: &mut Unstructured<'_>,
    c: usize,
) -> Option<(BatchNorm<T>, Vec<Ch>)> {
    let mut cols: [Vec<T>; 4] = Default::default();
    for _ in 0..c {
        let zero_gamma = u.ratio(1u8, 8).ok()?;
        let zero_var = u.ratio(1u8, 6).ok()?;
        let g = if zero_gamma { T::zero() } else { value(u) };
        let v = if zero_var {
            T::zero()
        } else {
            value::<T>(u).abs()
        };
        cols[0].push(g);
        cols[1].push(value(u));
        cols[2].push(value(u));
        cols[3].push(v);
    }
    let mut e = if u.ratio(1u8, 4).ok()? {
        T::zero()
    } else {
        value::<T>(u).abs()
    };
    if e == T::zero() && cols[3].iter().any(|v| *v == T::zero()) {
        e = T::from_f64_down(1e-5);
    }
    let [g, b, m, v] = cols;
    let bn = BatchNorm::new(g, b, m, v, e).ok()?;
    let chs = crate::gen::channels_of(&bn);
    Some((bn, chs))
}

/// An interval for channel `ch`: arbitrary, unbounded, a point, or around the
/// cancellation point `x ≈ μ − β√q/γ`.
pub(crate) fn interval<T: Float>(u: &mut Unstructured<'_>, ch: Ch) -> Option<(T, T)> {
    let (a, b) = (value::<T>(u), value::<T>(u));
    let cancel = || {
        let x = T::from_f64_down(ch.m - ch.b * (ch.v + ch.e).sqrt() / ch.g);
        if x.is_finite() {
            x
        } else {
            a
        }
    };
    Some(match u.int_in_range(0u8..=7).ok()? {
        0 => (cancel(), cancel()),
        1 => (cancel(), cancel().step_up()),
        2 => (T::neg_infinity(), a),
        3 => (a, T::infinity()),
        4 => (a, a),
        _ => (a.min(b), a.max(b)),
    })
}

/// A random shape of rank 1 to 5 with `c` channels and at most a few dozen elements.
pub(crate) fn shape(u: &mut Unstructured<'_>, c: usize) -> Option<Shape> {
    let rank = u.int_in_range(1usize..=5).ok()?;
    let mut dims = vec![c];
    if rank > 1 {
        dims.insert(0, u.int_in_range(0usize..=2).ok()?);
        // Rank 3 reaches the block kernel (blocks of ≥ 8 elements) in one dimension.
        let max = if rank == 3 { 12 } else { 3 };
        for _ in 2..rank {
            dims.push(u.int_in_range(0usize..=max).ok()?);
        }
    }
    Shape::new(&dims).ok()
}

pub(crate) fn f(x: impl Float) -> f64 {
    x.to_f64_exact()
}

/// A layer, a box over it (any rank), and each element's channel.
pub(crate) fn case<T: Float>(u: &mut Unstructured<'_>) -> Option<Case<T>> {
    let c = u.int_in_range(1usize..=3).ok()?;
    let (bn, chs) = layer::<T>(u, c)?;
    let s = shape(u, c)?;
    let inner = s.inner().max(1);
    let chan: Vec<usize> = (0..s.len()).map(|i| (i / inner) % c).collect();
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for &k in &chan {
        let (l, h) = interval::<T>(u, chs[k])?;
        let (l, h) = if l <= h { (l, h) } else { (h, l) };
        lo.push(l);
        hi.push(h);
    }
    Some((bn, chs, TensorBox::new(s, lo, hi).ok()?, chan))
}

pub(crate) fn both_types(data: &[u8], run: fn(&mut Unstructured<'_>, bool) -> Option<()>) {
    let mut u = Unstructured::new(data);
    let is_f32 = u.arbitrary::<bool>().unwrap_or(false);
    let _ = run(&mut u, is_f32);
}

macro_rules! typed {
    ($name:ident) => {
        |u: &mut Unstructured<'_>, is_f32: bool| {
            if is_f32 {
                $name::<f32>(u)
            } else {
                $name::<f64>(u)
            }
        }
    };
}

/// The layer's enclosure on a fuzzer-chosen kernel (`Kernel::ALL`: dispatched, FMA or
/// portable), so every kernel path is fuzzed.
pub(crate) fn enclosure<T: Float>(
    u: &mut Unstructured<'_>,
    bn: &BatchNorm<T>,
) -> Option<Enclosure> {
    let kernel = *u.choose(&Kernel::ALL).ok()?;
    Some(bn.enclose().with_kernel(kernel))
}

// After `typed!`, which they use.
mod files;
mod numbers;
mod numeric;
