//! Proptest generators biased to the hard cases, and form checks built on the oracle,
//! shared by the integration tests.

use crate::oracle::*;

use bnbound::{AffineForm, BatchNorm, Float, Shape, TensorBox};
use proptest::prelude::*;

/// Checks a back-substituted form `g = backward(fm)` with the oracle: every `Λ'_ij` must
/// contain `Λ_ij·s_j` and every `d'_i` must contain `Σ_j Λ_ij·o_j + d_i` (column `j` is
/// channel `chs[j]`). Panics naming the first failing entry.
pub fn check_backsubstituted<T: Float>(chs: &[Ch], fm: &AffineForm<T>, g: &AffineForm<T>) {
    let identity: Vec<usize> = (0..chs.len()).collect();
    check_backsubstituted_grouped(chs, &identity, fm, g);
}

/// [`check_backsubstituted`] where column `j` belongs to channel `channel_of[j]` of `chs`
/// (CNN layout).
pub fn check_backsubstituted_grouped<T: Float>(
    chs: &[Ch],
    channel_of: &[usize],
    fm: &AffineForm<T>,
    g: &AffineForm<T>,
) {
    let f = |x: T| x.to_f64_exact();
    let memo = Memo::new(chs);
    let cols = fm.cols();
    for k in 0..fm.rows() * cols {
        let (a, b) = (fm.a(), g.a());
        check_element(
            chs[channel_of[k % cols]].scale_only(),
            f(a.lo()[k]),
            f(a.hi()[k]),
            f(b.lo()[k]),
            f(b.hi()[k]),
        )
        .unwrap_or_else(|m| panic!("L'[{}][{}]: {m}", k / cols, k % cols));
    }
    for i in 0..fm.rows() {
        let row = i * cols..(i + 1) * cols;
        let lam: Vec<(f64, f64)> = fm.a().lo()[row.clone()]
            .iter()
            .zip(&fm.a().hi()[row])
            .map(|(&l, &h)| (f(l), f(h)))
            .collect();
        let (d, e) = (fm.c(), g.c());
        check_bias_grouped(
            &memo,
            &lam,
            channel_of,
            (f(d.lo()[i]), f(d.hi()[i])),
            (f(e.lo()[i]), f(e.hi()[i])),
            &format!("d'[{i}]"),
        );
    }
}

/// Checks a composed form `g = compose(fm)` entry by entry with the oracle: every `A'_ij`
/// must contain `s_i·a` over `A_ij` and every `c'_i` must contain `s_i·c + o_i` over `c_i`
/// (row `i` is channel `chs[i]`). Panics naming the first failing entry.
pub fn check_composed<T: Float>(chs: &[Ch], fm: &AffineForm<T>, g: &AffineForm<T>) {
    let f = |x: T| x.to_f64_exact();
    assert_eq!(
        (g.rows(), g.cols()),
        (fm.rows(), fm.cols()),
        "shape not kept"
    );
    let cols = fm.cols();
    for k in 0..fm.rows() * cols {
        let (a, b) = (fm.a(), g.a());
        check_element(
            chs[k / cols].scale_only(),
            f(a.lo()[k]),
            f(a.hi()[k]),
            f(b.lo()[k]),
            f(b.hi()[k]),
        )
        .unwrap_or_else(|m| panic!("A'[{}][{}]: {m}", k / cols, k % cols));
    }
    for (i, &ch) in chs.iter().enumerate().take(fm.rows()) {
        let (c, d) = (fm.c(), g.c());
        check_element(ch, f(c.lo()[i]), f(c.hi()[i]), f(d.lo()[i]), f(d.hi()[i]))
            .unwrap_or_else(|m| panic!("c'[{i}]: {m}"));
    }
}

// ---------------------------------------------------------------- generators

/// An f64 drawn to hit the hard cases often: ±0, subnormals, powers of two, values near
/// the overflow threshold, values near 1, and ordinary magnitudes.
pub fn hard_f64() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        3 => -1e3f64..1e3,
        2 => -4f64..4.0,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => (1u64..(1u64 << 52)).prop_map(f64::from_bits),
        1 => (1u64..(1u64 << 52)).prop_map(|b| -f64::from_bits(b)),
        1 => (-1074i32..1024, any::<bool>()).prop_map(|(e, neg)| {
            let x = 2f64.powi(e);
            if neg { -x } else { x }
        }),
        1 => (any::<bool>(), 0u64..1000).prop_map(|(neg, k)| {
            let x = f64::from_bits(f64::MAX.to_bits() - k);
            if neg { -x } else { x }
        }),
        1 => any::<u64>().prop_map(|b| {
            let x = f64::from_bits(b);
            if x.is_finite() { x } else { 1.0 }
        }),
        1 => (0i64..64).prop_map(|k| 1.0 + k as f64 * f64::EPSILON),
    ]
}

/// An f32 drawn like [`hard_f64`].
pub fn hard_f32() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        3 => -1e3f32..1e3,
        2 => -4f32..4.0,
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => (1u32..(1u32 << 23)).prop_map(f32::from_bits),
        1 => (1u32..(1u32 << 23)).prop_map(|b| -f32::from_bits(b)),
        1 => (-149i32..128, any::<bool>()).prop_map(|(e, neg)| {
            let x = 2f64.powi(e) as f32;
            if neg { -x } else { x }
        }),
        1 => (any::<bool>(), 0u32..1000).prop_map(|(neg, k)| {
            let x = f32::from_bits(f32::MAX.to_bits() - k);
            if neg { -x } else { x }
        }),
        1 => any::<u32>().prop_map(|b| {
            let x = f32::from_bits(b);
            if x.is_finite() { x } else { 1.0 }
        }),
        1 => (0i32..64).prop_map(|k| 1.0 + k as f32 * f32::EPSILON),
    ]
}

/// A non-negative variance-like value, often zero or tiny.
pub fn var_of(x: f64) -> f64 {
    x.abs()
}

/// The exact parameters of every channel of `bn`, for the oracle.
pub fn channels_of<T: Float>(bn: &BatchNorm<T>) -> Vec<Ch> {
    (0..bn.channels())
        .map(|c| Ch {
            g: bn.gamma()[c].to_f64_exact(),
            b: bn.beta()[c].to_f64_exact(),
            m: bn.running_mean()[c].to_f64_exact(),
            v: bn.running_var()[c].to_f64_exact(),
            e: bn.eps().to_f64_exact(),
        })
        .collect()
}

/// Turns raw draws into proper intervals (lo < +∞, hi > −∞), sometimes points and, with
/// `allow_inf`, sometimes unbounded on one side.
pub fn intervals<T: Float>(raw: &[(T, T, u8)], allow_inf: bool) -> (Vec<T>, Vec<T>) {
    raw.iter()
        .map(|&(a, b, k)| {
            let (l, h) = (a.min(b), a.max(b));
            match k {
                0 | 1 => (a, a),
                2 if allow_inf => (T::neg_infinity(), h),
                3 if allow_inf => (l, T::infinity()),
                _ => (l, h),
            }
        })
        .unzip()
}

/// A CNN-shaped case: a layer, a per-sample shape `[C, d1, …]`, the other dimension of the form, and raw
/// interval entries.
#[derive(Clone, Debug)]
pub struct ShapedCase<T> {
    pub params: Vec<[T; 5]>,
    pub sample: Vec<usize>,
    pub other: usize,
    pub entries: Vec<(T, T, u8)>,
}

pub fn shaped_case<T: Float, S: Strategy<Value = T> + Clone + 'static>(
    v: S,
) -> impl Strategy<Value = ShapedCase<T>> {
    // Trailing dims include blocks of 8 and more (the 8-lane block sums) and odd tails.
    let dim = prop_oneof![1usize..=4, Just(8usize), Just(9usize), Just(16usize)];
    // At most 72 positions per channel: the rational oracle checks every entry.
    let trailing = proptest::collection::vec(dim, 0..=3).prop_filter("at most 72 positions", |t| {
        t.iter().product::<usize>() <= 72
    });
    (1usize..=4, trailing, 1usize..=3).prop_flat_map(move |(c, trailing, other)| {
        let mut sample = vec![c];
        sample.extend(trailing);
        let n: usize = sample.iter().product::<usize>() * other; // coefficients
        let e = (v.clone(), v.clone(), 0u8..10);
        (
            proptest::collection::vec([v.clone(), v.clone(), v.clone(), v.clone(), v.clone()], c),
            Just(sample),
            Just(other),
            // Coefficients, then the constant column (one per row).
            proptest::collection::vec(e, n + n / other + other),
        )
            .prop_map(|(params, sample, other, entries)| ShapedCase {
                params,
                sample,
                other,
                entries,
            })
    })
}

/// The case's layer (zero `var + eps` replaced by 1) and its exact channels.
pub fn shaped_layer<T: Float>(case: &ShapedCase<T>) -> (BatchNorm<T>, Vec<Ch>) {
    let eps = case.params[0][4].abs();
    let var: Vec<T> = case
        .params
        .iter()
        .map(|p| match p[3].abs() {
            v if v == T::zero() && eps == T::zero() => T::one(),
            v => v,
        })
        .collect();
    let col = |i: usize| case.params.iter().map(|p| p[i]).collect::<Vec<T>>();
    let bn = BatchNorm::new(col(0), col(1), col(2), var.clone(), eps).unwrap();
    let chs = channels_of(&bn);
    (bn, chs)
}

/// A `rows × cols` form from the case's entries.
pub fn shaped_form<T: Float>(case: &ShapedCase<T>, rows: usize, cols: usize) -> AffineForm<T> {
    let (alo, ahi) = intervals(&case.entries[..rows * cols], true);
    let (clo, chi) = intervals(&case.entries[rows * cols..rows * cols + rows], true);
    AffineForm::new(
        TensorBox::new(Shape::new(&[rows, cols]).unwrap(), alo, ahi).unwrap(),
        TensorBox::new(Shape::new(&[rows]).unwrap(), clo, chi).unwrap(),
    )
    .unwrap()
}
