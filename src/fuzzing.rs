//! Fuzz harnesses (feature `fuzzing`; not a stable API). Each function takes the fuzzer's
//! bytes, builds a structured case biased towards the hard cases (±0, subnormals, powers
//! of two, values near overflow, γ = 0, σ² = 0, constructed cancellation `s·x ≈ −o`),
//! runs one part of bnbound and checks it against the reference oracle (`src/oracle.rs`:
//! exact rationals, a different formulation from `bnbound::exact`). Any failure panics.
//! Used by the `fuzz/` targets and by `tests/fuzz_corpus.rs`.
#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

use crate::oracle::{
    check_bias, check_bias_grouped, check_element, cmp_output, exact_dot, ext, Ch, Memo,
};
use crate::{check, AffineForm, BatchNorm, Enclosure, Float, Kernel, Shape, Side, TensorBox};
use arbitrary::Unstructured;
use std::cmp::Ordering;

/// A layer, its channels' exact parameters, a box over it, and each element's channel.
type Case<T> = (BatchNorm<T>, Vec<Ch>, TensorBox<T>, Vec<usize>);

/// A float of type `T` from the fuzzer, biased to hard values.
fn value<T: Float>(u: &mut Unstructured<'_>) -> T {
    let pick = u.int_in_range(0u8..=11).unwrap_or(0);
    let raw = u.arbitrary::<u64>().unwrap_or(0);
    let sign = if raw & 1 == 0 { 1.0 } else { -1.0 };
    let x: f64 = match pick {
        0 => 0.0,
        1 => -0.0,
        // subnormals of T
        2 => match T::DTYPE {
            crate::Dtype::F64 => sign * f64::from_bits(raw % (1 << 52)),
            crate::Dtype::F32 => sign * f32::from_bits((raw % (1 << 23)) as u32) as f64,
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
fn layer<T: Float>(u: &mut Unstructured<'_>, c: usize) -> Option<(BatchNorm<T>, Vec<Ch>)> {
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
    let chs = (0..c)
        .map(|k| {
            let [g, b, m, v, e] = bn.channel_f64(k);
            Ch { g, b, m, v, e }
        })
        .collect();
    Some((bn, chs))
}

/// An interval for channel `ch`: arbitrary, unbounded, a point, or around the
/// cancellation point `x ≈ μ − β√q/γ`.
fn interval<T: Float>(u: &mut Unstructured<'_>, ch: Ch) -> Option<(T, T)> {
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
fn shape(u: &mut Unstructured<'_>, c: usize) -> Option<Shape> {
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

fn f(x: impl Float) -> f64 {
    x.to_f64_exact()
}

/// A layer, a box over it (any rank), and each element's channel.
fn case<T: Float>(u: &mut Unstructured<'_>) -> Option<Case<T>> {
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

fn both_types(data: &[u8], run: fn(&mut Unstructured<'_>, bool) -> Option<()>) {
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

/// The layer's enclosure on a fuzzer-chosen kernel (dispatched or portable), so both
/// kernel paths are fuzzed.
fn enclosure<T: Float>(u: &mut Unstructured<'_>, bn: &BatchNorm<T>) -> Option<Enclosure> {
    let portable = u.arbitrary::<bool>().ok()?;
    Some(bn.enclose().with_kernel(if portable {
        Kernel::Portable
    } else {
        Kernel::Auto
    }))
}

fn ibp_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let (bn, chs, input, chan) = case::<T>(u)?;
    let out = enclosure(u, &bn)?.ibp(&input).expect("valid input");
    for (i, &k) in chan.iter().enumerate() {
        let (l, h) = (f(input.lo()[i]), f(input.hi()[i]));
        let (yl, yh) = (f(out.lo()[i]), f(out.hi()[i]));
        if let Err(m) = check_element(chs[k], l, h, yl, yh) {
            panic!(
                "IBP element {i}, channel {:?}, box [{l:e}, {h:e}] -> [{yl:e}, {yh:e}]: {m}",
                chs[k]
            );
        }
        // A fuzzer-chosen interior point.
        if l.is_finite() && h.is_finite() && yl.is_finite() && yh.is_finite() {
            let t = u.int_in_range(0u32..=1024).ok()? as f64 / 1024.0;
            let x = (l + (h - l) * t).clamp(l, h);
            if x.is_finite() {
                assert_ne!(
                    cmp_output(chs[k], x, yl),
                    Ordering::Greater,
                    "lo above the image of interior x = {x:e}"
                );
                assert_ne!(
                    cmp_output(chs[k], x, yh),
                    Ordering::Less,
                    "hi below the image of interior x = {x:e}"
                );
            }
        }
    }
    Some(())
}

/// `ibp_contains`: the IBP box contains the exact image at the extreme points and at an
/// interior point; the output is valid.
pub fn ibp_contains(data: &[u8]) {
    both_types(data, typed!(ibp_case));
}

fn deriv_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let (bn, chs, input, chan) = case::<T>(u)?;
    let enc = enclosure(u, &bn)?;
    let order2 = u.arbitrary::<bool>().ok()?;
    let out = if order2 {
        enc.second_derivative_chain(&input)
    } else {
        enc.derivative_chain(&input)
    }
    .expect("valid");
    for (i, &k) in chan.iter().enumerate() {
        let (l, h) = (f(input.lo()[i]), f(input.hi()[i]));
        check_element(chs[k].scale_only(), l, h, f(out.lo()[i]), f(out.hi()[i]))
            .unwrap_or_else(|m| panic!("derivative element {i}: {m}"));
    }
    let own = enc
        .own_second_derivative::<T>(*input.shape())
        .expect("valid");
    assert!(own.lo().iter().chain(own.hi()).all(|v| *v == T::zero()));
    Some(())
}

/// `deriv_contains`: chain-rule first and second derivative boxes contain `s·[lo, hi]`;
/// BatchNorm's own second derivative is zero.
pub fn deriv_contains(data: &[u8]) {
    both_types(data, typed!(deriv_case));
}

/// An interval form with `rows × cols` entries for the given channels (row channel or
/// column channel chosen by the caller through `ch_of`).
fn form<T: Float>(
    u: &mut Unstructured<'_>,
    rows: usize,
    cols: usize,
    bounded: bool,
) -> Option<AffineForm<T>> {
    let entry = |u: &mut Unstructured<'_>| -> Option<(T, T)> {
        let (a, b) = (value::<T>(u), value::<T>(u));
        let (l, h) = (a.min(b), a.max(b));
        Some(match u.int_in_range(0u8..=5).ok()? {
            0 | 1 => (a, a),
            2 if !bounded => (T::neg_infinity(), h),
            3 if !bounded => (l, T::infinity()),
            _ => (l, h),
        })
    };
    let (mut alo, mut ahi, mut clo, mut chi) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rows * cols {
        let (l, h) = entry(u)?;
        alo.push(l);
        ahi.push(h);
    }
    for _ in 0..rows {
        let (l, h) = entry(u)?;
        clo.push(l);
        chi.push(h);
    }
    AffineForm::new(
        TensorBox::new(Shape::new(&[rows, cols]).ok()?, alo, ahi).ok()?,
        TensorBox::new(Shape::new(&[rows]).ok()?, clo, chi).ok()?,
    )
    .ok()
}

fn affine_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let c = u.int_in_range(1usize..=3).ok()?;
    let (bn, chs) = layer::<T>(u, c)?;
    let cols = u.int_in_range(0usize..=12).ok()?;
    let fm = form::<T>(u, c, cols, false)?;
    let g = enclosure(u, &bn)?.compose(&fm).expect("valid");
    for k in 0..c * cols {
        let (i, ch) = (k / cols, chs[k / cols]);
        check_element(
            ch.scale_only(),
            f(fm.a().lo()[k]),
            f(fm.a().hi()[k]),
            f(g.a().lo()[k]),
            f(g.a().hi()[k]),
        )
        .unwrap_or_else(|m| panic!("A'[{i}][{}]: {m}", k % cols));
    }
    for i in 0..c {
        check_element(
            chs[i],
            f(fm.c().lo()[i]),
            f(fm.c().hi()[i]),
            f(g.c().lo()[i]),
            f(g.c().hi()[i]),
        )
        .unwrap_or_else(|m| panic!("c'[{i}]: {m}"));
    }
    // Concretization of the composed form over a box.
    let mut xs = vec![];
    for _ in 0..cols {
        let (a, b) = (value::<T>(u), value::<T>(u));
        xs.push((a.min(b), a.max(b)));
    }
    let x = TensorBox::new(
        Shape::new(&[cols]).ok()?,
        xs.iter().map(|p| p.0).collect(),
        xs.iter().map(|p| p.1).collect(),
    )
    .ok()?;
    let y = g.concretize(&x).expect("valid");
    let xf: Vec<(f64, f64)> = xs.iter().map(|&(l, h)| (f(l), f(h))).collect();
    for i in 0..c {
        let row = i * cols..(i + 1) * cols;
        let a: Vec<(f64, f64)> = g.a().lo()[row.clone()]
            .iter()
            .zip(&g.a().hi()[row])
            .map(|(&l, &h)| (f(l), f(h)))
            .collect();
        let (lo, hi) = exact_dot(&a, &xf, (f(g.c().lo()[i]), f(g.c().hi()[i])));
        assert!(
            ext(f(y.lo()[i])) <= lo && ext(f(y.hi()[i])) >= hi,
            "concretize row {i} is not sound"
        );
    }
    Some(())
}

/// `affine_contains`: composition and concretization contain the exact values.
pub fn affine_contains(data: &[u8]) {
    both_types(data, typed!(affine_case));
}

fn backward_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let c = u.int_in_range(1usize..=20).ok()?;
    let (bn, chs) = layer::<T>(u, c)?;
    let k = u.int_in_range(1usize..=3).ok()?;
    let fm = form::<T>(u, k, c, false)?;
    let enc = enclosure(u, &bn)?;
    let g = enc.backward(&fm).expect("valid");
    let memo = Memo::new(&chs);
    for r in 0..k {
        for j in 0..c {
            let q = r * c + j;
            check_element(
                chs[j].scale_only(),
                f(fm.a().lo()[q]),
                f(fm.a().hi()[q]),
                f(g.a().lo()[q]),
                f(g.a().hi()[q]),
            )
            .unwrap_or_else(|m| panic!("L'[{r}][{j}]: {m}"));
        }
        let lam: Vec<(f64, f64)> = (0..c)
            .map(|j| (f(fm.a().lo()[r * c + j]), f(fm.a().hi()[r * c + j])))
            .collect();
        check_bias(
            &memo,
            &lam,
            (f(fm.c().lo()[r]), f(fm.c().hi()[r])),
            (f(g.c().lo()[r]), f(g.c().hi()[r])),
            "d'",
        );
    }
    // CNN layout: Λ of k × (c·inner), column j in channel j / inner (backward_shaped).
    let inner = u.int_in_range(1usize..=12).ok()?;
    let fm = form::<T>(u, k, c * inner, false)?;
    let g = enc.backward_shaped(&fm, &[c, inner]).expect("valid");
    let channel_of: Vec<usize> = (0..c * inner).map(|j| j / inner).collect();
    for r in 0..k {
        let row = r * c * inner..(r + 1) * c * inner;
        for (j, q) in row.clone().enumerate() {
            check_element(
                chs[channel_of[j]].scale_only(),
                f(fm.a().lo()[q]),
                f(fm.a().hi()[q]),
                f(g.a().lo()[q]),
                f(g.a().hi()[q]),
            )
            .unwrap_or_else(|m| panic!("CNN L'[{r}][{j}]: {m}"));
        }
        let lam: Vec<(f64, f64)> = row
            .map(|q| (f(fm.a().lo()[q]), f(fm.a().hi()[q])))
            .collect();
        check_bias_grouped(
            &memo,
            &lam,
            &channel_of,
            (f(fm.c().lo()[r]), f(fm.c().hi()[r])),
            (f(g.c().lo()[r]), f(g.c().hi()[r])),
            "CNN d'",
        );
    }
    // Float-coefficient forms at the corners of a box (bounded Λ and box).
    let fb = form::<T>(u, 1, c, true)?;
    let gb = enc.backward(&fb).expect("valid");
    let mut xs = vec![];
    for _ in 0..c {
        let (a, b) = (value::<T>(u), value::<T>(u));
        xs.push((a.min(b), a.max(b)));
    }
    let x = TensorBox::new(
        Shape::new(&[c]).ok()?,
        xs.iter().map(|p| p.0).collect(),
        xs.iter().map(|p| p.1).collect(),
    )
    .ok()?;
    for lower in [true, false] {
        let ff = if lower {
            gb.lower_bound_on(&x)
        } else {
            gb.upper_bound_on(&x)
        }
        .expect("valid");
        let cst = f(ff.constant()[0]);
        if cst.is_infinite() {
            assert_eq!(
                cst < 0.0,
                lower,
                "float form constant infinite on the wrong side"
            );
            continue;
        }
        // At every corner x of the box and Λ of [Λ]: lower(x) ≤ Λ·BN(x) + d ≤ upper(x).
        // The gap is affine in each (Λ_j, x_j) separately, so the corners decide.
        let d = f(if lower {
            fb.c().lo()[0]
        } else {
            fb.c().hi()[0]
        });
        let lam: Vec<(f64, f64)> = (0..c)
            .map(|j| (f(fb.a().lo()[j]), f(fb.a().hi()[j])))
            .collect();
        let xf: Vec<(f64, f64)> = xs.iter().map(|&(l, h)| (f(l), f(h))).collect();
        let coef: Vec<f64> = ff.coef().iter().map(|&v| f(v)).collect();
        let gap = crate::oracle::float_form_gap(&memo, &lam, &xf, &coef, d, cst, lower);
        assert_ne!(
            gap,
            Ordering::Less,
            "the {} float-coefficient bound is crossed",
            if lower { "lower" } else { "upper" }
        );
    }
    Some(())
}

/// `backward_contains`: back-substitution (interval form) and the float-coefficient forms
/// contain the exact function.
pub fn backward_contains(data: &[u8]) {
    both_types(data, typed!(backward_case));
}

fn checker_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let (bn, chs, input, chan) = case::<T>(u)?;
    // A claim: bnbound's own box, with each side maybe moved inward by a few steps.
    let fast = bn.enclose().ibp(&input).expect("valid");
    let (mut lo, mut hi) = (fast.lo().to_vec(), fast.hi().to_vec());
    for i in 0..lo.len() {
        for _ in 0..u.int_in_range(0u8..=3).ok()? {
            lo[i] = lo[i].step_up();
        }
        for _ in 0..u.int_in_range(0u8..=3).ok()? {
            hi[i] = hi[i].step_down();
        }
        if lo[i] > hi[i] || lo[i].is_nan() || hi[i].is_nan() {
            (lo[i], hi[i]) = (fast.lo()[i], fast.hi()[i]);
        }
    }
    let claimed = TensorBox::new(*input.shape(), lo.clone(), hi.clone()).ok()?;
    let report = check::check_ibp(&bn, &input, &claimed).expect("valid");
    // Independent decision per element and side.
    for (i, &k) in chan.iter().enumerate() {
        let (l, h) = (f(input.lo()[i]), f(input.hi()[i]));
        let ch = chs[k];
        for side in [Side::Lo, Side::Hi] {
            let y = f(if side == Side::Lo { lo[i] } else { hi[i] });
            let (yl, yh) = if side == Side::Lo {
                (y, f64::INFINITY)
            } else {
                (f64::NEG_INFINITY, y)
            };
            let oracle_bad = check_element(ch, l, h, yl, yh).is_err();
            let flagged = report
                .violations
                .iter()
                .find(|v| v.index == i && v.side == side);
            assert_eq!(
                flagged.is_some(),
                oracle_bad,
                "checker and oracle disagree on element {i} {side}"
            );
            if let Some(v) = flagged {
                // The witness must violate when re-evaluated exactly.
                if v.witness.is_finite() && y.is_finite() {
                    let o = cmp_output(ch, v.witness, y);
                    let violates = if side == Side::Lo {
                        o == Ordering::Greater
                    } else {
                        o == Ordering::Less
                    };
                    assert!(violates, "witness {} does not violate", v.witness);
                }
            }
        }
    }
    Some(())
}

/// `checker_agrees`: the exact checker's verdicts match the independent oracle, and every
/// witness really violates.
pub fn checker_agrees(data: &[u8]) {
    both_types(data, typed!(checker_case));
}

#[cfg(feature = "mpfr")]
fn tight_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let (bn, chs, input, chan) = case::<T>(u)?;
    let out = bn.ibp_tight(&input).expect("valid");
    for (i, &k) in chan.iter().enumerate() {
        let (l, h) = (f(input.lo()[i]), f(input.hi()[i]));
        let (yl, yh) = (out.lo()[i], out.hi()[i]);
        check_element(chs[k], l, h, f(yl), f(yh))
            .unwrap_or_else(|m| panic!("tight element {i}: {m}"));
        // One step inward is unsound wherever the exact side is finite.
        let g = chs[k].g;
        let (xmin, xmax) = if g == 0.0 {
            (0.0, 0.0)
        } else if g > 0.0 {
            (l, h)
        } else {
            (h, l)
        };
        if xmin.is_finite() && yl.is_finite() && yl.step_up().is_finite() {
            assert_eq!(
                cmp_output(chs[k], xmin, f(yl.step_up())),
                Ordering::Greater,
                "tight lo is not the tightest"
            );
        }
        if xmax.is_finite() && yh.is_finite() && yh.step_down().is_finite() {
            assert_eq!(
                cmp_output(chs[k], xmax, f(yh.step_down())),
                Ordering::Less,
                "tight hi is not the tightest"
            );
        }
    }
    Some(())
}

/// `tight_is_tightest` (feature `mpfr`): tight bounds are sound and one step inward is not.
#[cfg(feature = "mpfr")]
pub fn tight_is_tightest(data: &[u8]) {
    both_types(data, typed!(tight_case));
}

/// `parse_no_panic`: arbitrary bytes through the CLI's parsers give a value or a typed
/// error, never a panic. Inputs are bounded by the fuzzer's maximum length.
pub fn parse_no_panic(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::json::parse_params(text);
    let _ = crate::json::parse_box::<f32>(text);
    let _ = crate::json::parse_box::<f64>(text);
    let _ = crate::json::parse_output_box::<f64>(text);
    let _ = crate::json::parse_form::<f32>(text, crate::json::FormKind::Affine);
    let _ = crate::json::parse_form::<f64>(text, crate::json::FormKind::Linear);
}

/// `model_no_panic`: arbitrary bytes through the ONNX and safetensors loaders give layers
/// or typed errors, never a panic. The first byte chooses the loader; every layer is
/// loaded on its own, and loaded layers are enclosed and summarised (valid parameters must
/// not panic there either).
pub fn model_no_panic(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let layers: Vec<crate::model::ModelLayer> = if which % 2 == 0 {
        // External data is looked up nowhere: a relative path must not reach the disk.
        match crate::model::onnx::OnnxModel::from_bytes(bytes.to_vec(), None) {
            Ok(m) => m.layers().filter_map(|(_, l)| l.ok()).collect(),
            Err(_) => Vec::new(),
        }
    } else {
        let eps = crate::model::safetensors::Eps::F32(f32::from_bits(u32::from(which) << 20));
        match crate::model::safetensors::StateDict::from_bytes(bytes.to_vec(), eps) {
            Ok(sd) => sd.layers().filter_map(|(_, l)| l.ok()).collect(),
            Err(_) => Vec::new(),
        }
    };
    for l in layers {
        summarise(&l);
    }
}

fn summarise(l: &crate::model::ModelLayer) {
    let s = crate::model::Summary::of(&l.bn);
    assert_eq!(s.channels, l.bn.channels());
    assert!(s.scale_min <= s.scale_max);
}

/// The exact values of every parameter vector of a layer, as `f64` bits.
fn layer_vectors(bn: &crate::AnyBatchNorm) -> Vec<Vec<u64>> {
    fn rows<T: Float>(b: &BatchNorm<T>) -> Vec<Vec<u64>> {
        [b.gamma(), b.beta(), b.running_mean(), b.running_var()]
            .iter()
            .map(|v| v.iter().map(|x| x.to_f64_exact().to_bits()).collect())
            .collect()
    }
    match bn {
        crate::AnyBatchNorm::F32(b) => rows(b),
        crate::AnyBatchNorm::F64(b) => rows(b),
    }
}

/// A valid-looking ONNX model built from the fuzzer's bytes: nodes (many BatchNorms,
/// shared and duplicate names, training attributes of every type), initializers of every
/// storage (raw, typed, external with hostile locations, offsets and lengths), graph
/// inputs, an opset. `vectors` holds every initializer's values exactly (as `f64` bits):
/// a loaded layer's parameters must be among them (or γ = 1 / β = 0 never occur here).
struct GraphSpec {
    bytes: Vec<u8>,
    vectors: Vec<Vec<u64>>,
    /// External data files to write next to the model: (relative name, contents).
    files: Vec<(&'static str, Vec<u8>)>,
}

/// Values written outside the model's folder; no loaded layer may contain them.
const SECRET: f32 = 7777.25;

/// One initializer of `graph_spec`: stored as raw data, typed data or external data (in
/// `file`, with hostile locations, offsets and lengths sometimes); its exact values are
/// pushed to `vectors`.
fn init_tensor(
    u: &mut Unstructured<'_>,
    name: &str,
    data_type: i32,
    dims: Vec<i64>,
    values: Vec<f32>,
    file: &mut Vec<u8>,
    vectors: &mut Vec<Vec<u64>>,
) -> Option<prost::bytes::Bytes> {
    use crate::model::onnx::{StringStringEntryProto, TensorProto};
    use prost::bytes::Bytes;
    use prost::Message;
    const LOCATIONS: [&str; 8] = [
        "w.data",
        "w.data",
        "sub/w.data",
        "../w.data",
        "/etc/hostname",
        "ln/w.data",
        "lnk.data",
        "",
    ];
    let values: Vec<f32> = values
        .into_iter()
        .map(|x| if x == SECRET { 0.0 } else { x })
        .collect();
    let mut t = TensorProto {
        dims,
        data_type,
        name: name.to_string(),
        ..Default::default()
    };
    let raw: Vec<u8> = match data_type {
        11 => values
            .iter()
            .flat_map(|&x| (x as f64).to_le_bytes())
            .collect(),
        10 => values
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect(),
        16 => values
            .iter()
            .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
            .collect(),
        _ => values.iter().flat_map(|&x| x.to_le_bytes()).collect(),
    };
    // The exact values a correct loader reads back.
    vectors.push(match data_type {
        10 => values
            .iter()
            .map(|&x| half::f16::from_f32(x).to_f64().to_bits())
            .collect(),
        16 => values
            .iter()
            .map(|&x| half::bf16::from_f32(x).to_f64().to_bits())
            .collect(),
        _ => values.iter().map(|&x| (x as f64).to_bits()).collect(),
    });
    match u.int_in_range(0..=3u8).ok()? {
        0 if data_type == 1 => t.float_data = values,
        1 => {
            let offset = file.len();
            file.extend_from_slice(&raw);
            let mut kv = vec![("location", u.choose(&LOCATIONS).ok()?.to_string())];
            match u.int_in_range(0..=5u8).ok()? {
                0 => kv.push(("offset", "18446744073709551615".to_string())),
                1 => kv.push(("length", "-1".to_string())),
                2 => kv.push(("length", (raw.len() + 1).to_string())),
                _ => {
                    kv.push(("offset", offset.to_string()));
                    kv.push(("length", raw.len().to_string()));
                }
            }
            t.external_data = kv
                .into_iter()
                .map(|(k, v)| StringStringEntryProto {
                    key: k.to_string(),
                    value: v,
                })
                .collect();
            t.data_location = 1;
        }
        _ => t.raw_data = Bytes::from(raw),
    }
    Some(Bytes::from(t.encode_to_vec()))
}

fn graph_spec(u: &mut Unstructured<'_>) -> Option<GraphSpec> {
    use crate::model::onnx::{
        AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, ValueInfoProto,
    };
    use prost::bytes::Bytes;
    use prost::Message;
    const TENSORS: [&str; 10] = ["x", "y", "s", "b", "m", "v", "t0", "t1", "", "z"];
    const NODES: [&str; 6] = ["bn", "bn2", "", "conv", "x", "y"];
    const OPS: [&str; 6] = [
        "BatchNormalization",
        "BatchNormalization",
        "BatchNormalization",
        "Relu",
        "Constant",
        "Conv",
    ];
    const ATTRS: [&str; 6] = [
        "epsilon",
        "training_mode",
        "is_test",
        "spatial",
        "momentum",
        "foo",
    ];
    let name = |u: &mut Unstructured<'_>, pool: &[&str]| -> Option<String> {
        Some(u.choose(pool).ok()?.to_string())
    };
    let mut nodes = Vec::new();
    for _ in 0..u.int_in_range(0..=12u8).ok()? {
        let mut attribute = Vec::new();
        for _ in 0..u.int_in_range(0..=3u8).ok()? {
            attribute.push(AttributeProto {
                name: name(u, &ATTRS)?,
                f: u.arbitrary().ok()?,
                i: *u.choose(&[0i64, 0, 1, 1, -1, 2, i64::MAX]).ok()?,
                r#type: *u.choose(&[0, 1, 2, 2, 3, 7]).ok()?,
            });
        }
        let node = NodeProto {
            input: (0..u.int_in_range(0..=7u8).ok()?)
                .map(|_| name(u, &TENSORS))
                .collect::<Option<_>>()?,
            output: (0..u.int_in_range(0..=5u8).ok()?)
                .map(|_| name(u, &TENSORS))
                .collect::<Option<_>>()?,
            name: name(u, &NODES)?,
            op_type: name(u, &OPS)?,
            attribute,
            domain: String::new(),
        };
        nodes.push(Bytes::from(node.encode_to_vec()));
    }
    let mut vectors = Vec::new();
    let mut file = Vec::new();
    let mut initializer = Vec::new();
    // Well-formed BatchNorm blocks (so that many layers do load), named "k0.s", ... .
    const BLOCKS: [[&str; 4]; 3] = [
        ["k0.s", "k0.b", "k0.m", "k0.v"],
        ["k1.s", "k1.b", "k1.m", "k1.v"],
        ["k2.s", "k2.b", "k2.m", "k2.v"],
    ];
    for stats in BLOCKS.iter().take(u.int_in_range(0..=3usize).ok()?) {
        let n = u.int_in_range(1..=4usize).ok()?;
        let data_type = *u.choose(&[1, 1, 11, 10, 16]).ok()?;
        for (k, stat) in stats.iter().enumerate() {
            let values: Vec<f32> = (0..n)
                .map(|_| value::<f32>(u))
                .map(|x| if k == 3 { x.abs() + 1.0 } else { x })
                .collect();
            let dims = vec![n as i64];
            initializer.push(init_tensor(
                u,
                stat,
                data_type,
                dims,
                values,
                &mut file,
                &mut vectors,
            )?);
        }
        let mut attribute = Vec::new();
        if u.ratio(1u8, 2).ok()? {
            attribute.push(AttributeProto {
                name: "epsilon".into(),
                f: 1e-5,
                i: 0,
                r#type: 1,
            });
        }
        let node = NodeProto {
            input: ["x", stats[0], stats[1], stats[2], stats[3]]
                .map(String::from)
                .to_vec(),
            output: vec![name(u, &TENSORS)?],
            name: name(u, &NODES)?,
            op_type: "BatchNormalization".into(),
            attribute,
            domain: String::new(),
        };
        let at = u.int_in_range(0..=nodes.len()).ok()?;
        nodes.insert(at, Bytes::from(node.encode_to_vec()));
    }
    for _ in 0..u.int_in_range(0..=10u8).ok()? {
        let data_type = *u.choose(&[1, 1, 1, 11, 10, 16, 7]).ok()?;
        let n = u.int_in_range(0..=5usize).ok()?;
        let dims: Vec<i64> = match u.int_in_range(0..=9u8).ok()? {
            0 => vec![-1],
            1 => vec![i64::MAX, 2],
            2 => vec![],
            _ => vec![n as i64],
        };
        let values: Vec<f32> = (0..n).map(|_| value(u)).collect();
        let stat = name(u, &TENSORS)?;
        initializer.push(init_tensor(
            u,
            &stat,
            data_type,
            dims,
            values,
            &mut file,
            &mut vectors,
        )?);
    }
    let input = (0..u.int_in_range(0..=2u8).ok()?)
        .map(|_| {
            let v = ValueInfoProto {
                name: name(u, &TENSORS)?,
            };
            Some(Bytes::from(v.encode_to_vec()))
        })
        .collect::<Option<_>>()?;
    let opset_import = match u.int_in_range(0..=20i64).ok()? {
        0 => Vec::new(),
        v => vec![OperatorSetIdProto {
            domain: String::new(),
            version: v,
        }],
    };
    let model = ModelProto {
        graph: Some(GraphProto {
            node: nodes,
            initializer,
            input,
        }),
        opset_import,
    };
    let mut bytes = model.encode_to_vec();
    if u.ratio(1u8, 8).ok()? {
        // Compressed, as VNN-COMP ships models.
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).ok()?;
        bytes = gz.finish().ok()?;
    }
    Some(GraphSpec {
        bytes,
        vectors,
        files: vec![("w.data", file.clone()), ("sub/w.data", file)],
    })
}

/// Checks every layer of a model built from `spec`: loaded or a typed error, and a loaded
/// layer's parameter vectors are initializers of the spec (never bytes from elsewhere).
fn check_graph_layers(spec: &GraphSpec, model: &crate::model::onnx::OnnxModel) {
    let names: Vec<&str> = model.names().collect();
    for (name, l) in model.layers() {
        assert!(names.contains(&name));
        if let Ok(l) = l {
            summarise(&l);
            for v in layer_vectors(&l.bn).iter() {
                // f16/bf16/f32 statistics may be widened to an f64 layer: compare values.
                assert!(
                    spec.vectors.contains(v),
                    "layer {name}: parameters {v:?} are not an initializer of the model"
                );
                assert!(
                    !v.contains(&(SECRET as f64).to_bits()),
                    "layer {name} read data from outside the model's folder"
                );
            }
        }
    }
}

/// `model_graph_no_panic`: valid-looking ONNX graphs (many nodes, shared and duplicate
/// names, training attributes, initializers stored every way) load layer by layer into
/// layers whose parameters are the model's initializers, or typed errors; never a panic.
/// External data has no folder here (it must be refused, not looked up).
pub fn model_graph_no_panic(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(spec) = graph_spec(&mut u) else {
        return;
    };
    if let Ok(m) = crate::model::onnx::OnnxModel::from_bytes(spec.bytes.clone(), None) {
        check_graph_layers(&spec, &m);
    }
}

/// `model_files_no_escape`: the CLI's file paths. A generated model is written into a
/// folder with its external data, a symlinked folder and a symlinked file that lead to a
/// folder outside holding `SECRET` values, then opened by path ([`crate::model::Model`])
/// and every layer loaded: typed errors or the model's own initializers, never a panic and
/// never a value from outside the folder.
pub fn model_files_no_escape(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(spec) = graph_spec(&mut u) else {
        return;
    };
    let root = std::env::temp_dir().join(format!("bnbound-fuzz-files-{}", std::process::id()));
    let (inside, outside) = (root.join("model"), root.join("outside"));
    let _ = std::fs::remove_dir_all(&root);
    let setup = || -> std::io::Result<()> {
        std::fs::create_dir_all(inside.join("sub"))?;
        std::fs::create_dir_all(&outside)?;
        let secret: Vec<u8> = std::iter::repeat_n(SECRET.to_le_bytes(), 1024)
            .flatten()
            .collect();
        std::fs::write(outside.join("w.data"), &secret)?;
        std::fs::write(root.join("w.data"), &secret)?;
        for (name, bytes) in &spec.files {
            std::fs::write(inside.join(name), bytes)?;
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, inside.join("ln"))?;
            std::os::unix::fs::symlink(outside.join("w.data"), inside.join("lnk.data"))?;
        }
        std::fs::write(inside.join("model.onnx"), &spec.bytes)
    };
    if setup().is_err() {
        return;
    }
    let eps = crate::model::safetensors::Eps::default();
    if let Ok(crate::model::Model::Onnx(m)) =
        crate::model::Model::open(inside.join("model.onnx"), eps)
    {
        check_graph_layers(&spec, &m);
    }
}
