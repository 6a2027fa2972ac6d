//! The numeric harnesses: every transfer function and the checker against the oracle.

use super::{both_types, case, enclosure, f, layer, value};
use crate::oracle::{
    bias_bound_sound, check_bias, check_bias_grouped, check_element, cmp_output, exact_dot, ext,
    Memo,
};
use arbitrary::Unstructured;
use bnbound::{AffineForm, Float, Shape, Side, TensorBox};
use std::cmp::Ordering;
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

fn deployed_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    use crate::emulate::{F32, F64};
    let (bn, chs, input, chan) = case::<T>(u)?;
    let runtime = match u.int_in_range(0u8..=2).ok()? {
        0 => bnbound::Runtime::PytorchCpu,
        1 => bnbound::Runtime::OnnxruntimeCpu,
        _ => bnbound::Runtime::Any {
            ulps: u.int_in_range(0u32..=8).ok()?,
        },
    };
    let seed = u.arbitrary::<u64>().ok()?;
    let fallback = runtime == bnbound::Runtime::PytorchCpu;
    let fmt = match T::DTYPE {
        bnbound::Dtype::F32 => F32,
        bnbound::Dtype::F64 => F64,
    };
    let kernel = bnbound::Kernel::ALL[u.int_in_range(0..=2).ok()?];
    let bounds = bn.deployed(runtime).with_kernel(kernel);
    let got = bounds.ibp(&input);
    // `ibp_into`: the same bounds, or the same error with the buffers left alone.
    let n = input.lo().len();
    let (mut ylo, mut yhi) = (vec![T::one(); n], vec![T::one(); n]);
    match (bounds.ibp_into(&input.view(), &mut ylo, &mut yhi), &got) {
        (Ok(()), Ok(b)) => assert!(ylo == b.lo() && yhi == b.hi(), "ibp_into differs"),
        (Err(e), Err(g)) => {
            assert_eq!(&e, g);
            assert!(
                ylo.iter().chain(&yhi).all(|&v| v == T::one()),
                "written on error"
            );
        }
        (a, b) => panic!("ibp_into {a:?} but ibp {:?}", b.as_ref().err()),
    }
    for (i, &k) in chan.iter().enumerate() {
        let ch = chs[k];
        let p = [ch.g, ch.b, ch.m, ch.v, ch.e];
        let (l, h) = (input.lo()[i], input.hi()[i]);
        // The endpoints and a fuzzer-chosen float in between.
        let t = u.int_in_range(0u32..=1024).ok()? as f64 / 1024.0;
        let mid = T::from_f64_down((f(l) + (f(h) - f(l)) * t).clamp(f(l), f(h)));
        let mid = if mid < l || mid > h || mid.is_nan() {
            l
        } else {
            mid
        };
        let mut ys = Vec::new();
        for x in [l, h, mid] {
            // Flush-to-zero off and on (every choice of the flush model).
            ys.extend(crate::emulate::recipe_outputs_flush(p, f(x), fmt, fallback));
            if let bnbound::Runtime::Any { ulps } = runtime {
                ys.extend(crate::emulate::any_outputs(
                    p,
                    f(x),
                    fmt,
                    ulps,
                    seed ^ i as u64,
                ));
            }
        }
        match &got {
            Err(bnbound::Error::DeployedNan { .. }) => return Some(()),
            Err(e) => panic!("unexpected error {e}"),
            Ok(b) => {
                assert!(
                    ys.iter().all(|y| !y.is_nan()),
                    "element {i}: the runtime gives NaN but no error was reported"
                );
                let (dl, dh) = (f(b.lo()[i]), f(b.hi()[i]));
                for y in ys {
                    assert!(
                        dl <= y && y <= dh,
                        "element {i} ({runtime}): runtime output {y:e} outside [{dl:e}, {dh:e}]"
                    );
                }
                if let Err(m) = check_element(ch, f(l), f(h), dl, dh) {
                    panic!("element {i}: real image not in the deployed bound: {m}");
                }
            }
        }
    }
    Some(())
}

/// `deployed_contains`: deployed bounds contain every output of the replayed runtime
/// recipes (the test kit's rational emulation) at the endpoints and at an interior float
/// (for `Runtime::Any`, also every form with fuzzer-seeded K-ulp errors),
/// and the exact real image; NaN of the runtime is reported as an error.
pub fn deployed_contains(data: &[u8]) {
    both_types(data, typed!(deployed_case));
}

fn deployed_forms_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    use crate::emulate::{any_outputs, recipe_outputs, recipe_outputs_flush, F32, F64};
    use crate::oracle::{rat, Q};
    let (bn, chs, input, _) = case::<T>(u)?;
    let runtime = match u.int_in_range(0u8..=2).ok()? {
        0 => bnbound::Runtime::PytorchCpu,
        1 => bnbound::Runtime::OnnxruntimeCpu,
        _ => bnbound::Runtime::Any {
            ulps: u.int_in_range(0u32..=4).ok()?,
        },
    };
    let fmt = match T::DTYPE {
        bnbound::Dtype::F32 => F32,
        bnbound::Dtype::F64 => F64,
    };
    // The first sample of the box, as [1, C, inner]: one element per row (column).
    let shape = *input.shape();
    let (c, inner) = (shape.channels(), shape.inner().max(1));
    let n = c * inner;
    if n == 0 || input.lo().len() < n {
        return Some(()); // an empty box has no first sample
    }
    let xbox = TensorBox::new(
        Shape::new(&[1, c, inner]).ok()?,
        input.lo()[..n].to_vec(),
        input.hi()[..n].to_vec(),
    )
    .ok()?;
    let sample = [c, inner];
    let kernel = bnbound::Kernel::ALL[u.int_in_range(0..=2).ok()?];
    let b = bn
        .bounds(bnbound::Mode::Fast, bnbound::Semantics::Deployed(runtime))
        .expect("a named runtime")
        .with_kernel(kernel);
    // Λ: one row of fuzzer-chosen small dyadics, times 1, a scale that makes `λ·s`
    // subnormal or one near overflow (each Λ then the `T` value it rounds to); d = 0.
    let scale = match u.int_in_range(0u8..=3).ok()? {
        0 => f(T::zero().step_up()) * 8.0,
        1 => f(T::max_value()) / 64.0,
        _ => 1.0,
    };
    let lam: Vec<f64> = (0..n)
        .map(|_| Some(u.int_in_range(-16i32..=16).ok()? as f64 / 4.0))
        .collect::<Option<Vec<f64>>>()?
        .into_iter()
        .map(|v| f(T::from_f64_down(v * scale)))
        .collect();
    let form = AffineForm::point(
        1,
        n,
        lam.iter().map(|&v| T::from_f64_down(v)).collect(),
        vec![T::zero()],
    )
    .expect("valid form");
    let back = match b.backward_over(&form, &sample, &xbox) {
        Err(bnbound::Error::DeployedNan { .. }) => return Some(()),
        r => r.expect("valid input"),
    };
    let ones = AffineForm::point(n, 1, vec![T::one(); n], vec![T::zero(); n]).expect("valid");
    let comp = b.compose_over(&ones, &sample, &xbox).expect("valid input");
    let q = |v: f64| rat(v);
    // A point: each element at its lower end, upper end or a fuzzer-chosen float inside.
    let mut x = Vec::with_capacity(n);
    for j in 0..n {
        let (l, h) = (xbox.lo()[j], xbox.hi()[j]);
        let t = u.int_in_range(0u32..=1024).ok()? as f64 / 1024.0;
        let m = T::from_f64_down((f(l) + (f(h) - f(l)) * t).clamp(f(l), f(h)));
        x.push(if m.is_nan() || m < l || m > h { l } else { m });
    }
    let mut ys = Vec::with_capacity(n);
    for (j, &xj) in x.iter().enumerate() {
        let ch = chs[xbox.shape().channel_of(j)];
        let p = [ch.g, ch.b, ch.m, ch.v, ch.e];
        let out = match runtime {
            // `any`: forms with K-ulp errors (fuzzer-seeded) and the named runtimes' outputs.
            bnbound::Runtime::Any { ulps } => {
                let mut ys = any_outputs(p, f(xj), fmt, ulps, u.arbitrary::<u64>().ok()?);
                ys.extend(recipe_outputs(p, f(xj), fmt, true));
                ys.extend(recipe_outputs_flush(p, f(xj), fmt, true));
                ys
            }
            _ => recipe_outputs_flush(p, f(xj), fmt, runtime == bnbound::Runtime::PytorchCpu),
        };
        if out.iter().any(|y| !y.is_finite()) || !f(xj).is_finite() {
            return Some(()); // no finite form holds an infinite output
        }
        ys.push(out);
    }
    // Row r of a form at x: [Σ min(a_lo·x, a_hi·x) + c_lo, Σ max(…) + c_hi], exactly;
    // None when an entry is infinite.
    let at = |g: &AffineForm<T>, r: usize, cols: &[usize]| -> Option<(Q, Q)> {
        let k = g.cols();
        let (cl, ch) = (f(g.c().lo()[r]), f(g.c().hi()[r]));
        if !cl.is_finite() || !ch.is_finite() {
            return None;
        }
        let (mut lo, mut hi) = (q(cl), q(ch));
        for (col, &j) in cols.iter().enumerate() {
            let (al, ah) = (f(g.a().lo()[r * k + col]), f(g.a().hi()[r * k + col]));
            if !al.is_finite() || !ah.is_finite() {
                return None;
            }
            let xj = q(f(x[j]));
            let (p, s) = (q(al) * xj.clone(), q(ah) * xj);
            lo = lo + p.clone().min(s.clone());
            hi = hi + p.max(s);
        }
        Some((lo, hi))
    };
    let all: Vec<usize> = (0..n).collect();
    if let Some((lo, hi)) = at(&back, 0, &all) {
        let (mut low, mut high) = (q(0.0), q(0.0));
        for j in 0..n {
            let t: Vec<Q> = ys[j].iter().map(|&y| q(lam[j]) * q(y)).collect();
            low = low + t.iter().min().expect("outputs").clone();
            high = high + t.iter().max().expect("outputs").clone();
        }
        assert!(
            lo <= low && high <= hi,
            "backward_over ({runtime}): Λ·y escapes the form at x = {x:?}"
        );
    }
    // The same Λ through backward_batch (point coefficients, two constants):
    // M·x + lower ≤ Λ·y ≤ M·x + upper at x, for every choice of runtime outputs.
    let lam_t: Vec<T> = lam.iter().map(|&v| T::from_f64_down(v)).collect();
    let batch = b
        .backward_batch(&lam_t, &sample, &xbox)
        .expect("valid input (NaN boxes returned above)");
    let (lower, upper) = (f(batch.lower()[0]), f(batch.upper()[0]));
    let mx: Option<Q> = batch
        .coef()
        .iter()
        .zip(&x)
        .try_fold(q(0.0), |acc, (&m, &xj)| {
            f(m).is_finite().then(|| acc + q(f(m)) * q(f(xj)))
        });
    if let Some(mx) = mx {
        let (mut low, mut high) = (q(0.0), q(0.0));
        for j in 0..n {
            let t: Vec<Q> = ys[j].iter().map(|&y| q(lam[j]) * q(y)).collect();
            low = low + t.iter().min().expect("outputs").clone();
            high = high + t.iter().max().expect("outputs").clone();
        }
        if lower.is_finite() {
            assert!(
                mx.clone() + q(lower) <= low,
                "backward_batch ({runtime}): M·x + lower > Λ·y at x = {x:?}"
            );
        }
        if upper.is_finite() {
            assert!(
                high <= mx + q(upper),
                "backward_batch ({runtime}): Λ·y > M·x + upper at x = {x:?}"
            );
        }
    }
    for i in 0..n {
        // Row i of the composed form: z = x_i.
        let col = [i];
        if let Some((lo, hi)) = at(&comp, i, &col) {
            for &y in &ys[i] {
                let y = q(y);
                assert!(
                    lo <= y && y <= hi,
                    "compose_over ({runtime}): row {i} misses {y} at x = {:?}",
                    x[i]
                );
            }
        }
    }
    Some(())
}

/// `deployed_forms_contain`: deployed linear bounds (`Bounds::backward_over`,
/// `compose_over`, `backward_batch`) contain, at a fuzzer-chosen point of the input box, every output of
/// the emulated runtime recipes (flush-to-zero on and off), decided in exact rationals; the
/// kernel is drawn, and `Λ` is drawn at three scales (ordinary, subnormal products, near
/// overflow).
pub fn deployed_forms_contain(data: &[u8]) {
    both_types(data, typed!(deployed_forms_case));
}

fn deriv_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let (bn, chs, input, chan) = case::<T>(u)?;
    let enc = enclosure(u, &bn)?;
    // Through the enclosure, or through the one entry point (mode × semantics).
    let entry = u.arbitrary::<bool>().ok()?;
    let out = if entry {
        bn.bounds(bnbound::Mode::Fast, bnbound::Semantics::Real)
            .expect("fast mode")
            .derivative_chain(&input)
    } else {
        enc.derivative_chain(&input)
    }
    .expect("valid");
    for (i, &k) in chan.iter().enumerate() {
        let (l, h) = (f(input.lo()[i]), f(input.hi()[i]));
        check_element(chs[k].scale_only(), l, h, f(out.lo()[i]), f(out.hi()[i]))
            .unwrap_or_else(|m| panic!("derivative element {i}: {m}"));
    }
    Some(())
}

/// `deriv_contains`: chain-rule derivative boxes (first and second order alike) contain
/// `s·[lo, hi]`, through the enclosure and through `Bounds`.
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
    let report = bn.checker().ibp(&input, &claimed).expect("valid");
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

/// The checker on back-substituted biases: bnbound's own bias bounds moved inward by 0 to
/// 3 steps; every verdict must equal the oracle's (`bias_bound_sound`).
fn checker_backward_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let c = u.int_in_range(1usize..=8).ok()?;
    let (bn, chs) = layer::<T>(u, c)?;
    let k = u.int_in_range(1usize..=3).ok()?;
    let fm = form::<T>(u, k, c, false)?;
    let g = bn.enclose().backward(&fm).expect("valid");
    let (mut lo, mut hi) = (g.c().lo().to_vec(), g.c().hi().to_vec());
    for i in 0..k {
        for _ in 0..u.int_in_range(0u8..=3).ok()? {
            lo[i] = lo[i].step_up();
        }
        for _ in 0..u.int_in_range(0u8..=3).ok()? {
            hi[i] = hi[i].step_down();
        }
        if lo[i] > hi[i] || lo[i].is_nan() || hi[i].is_nan() {
            (lo[i], hi[i]) = (g.c().lo()[i], g.c().hi()[i]);
        }
    }
    let claimed = AffineForm::new(
        g.a().clone(),
        TensorBox::new(*g.c().shape(), lo.clone(), hi.clone()).ok()?,
    )
    .ok()?;
    let report = bn.checker().backward(&fm, &claimed).expect("valid");
    let identity: Vec<usize> = (0..c).collect();
    for r in 0..k {
        let lam: Vec<(f64, f64)> = (0..c)
            .map(|j| (f(fm.a().lo()[r * c + j]), f(fm.a().hi()[r * c + j])))
            .collect();
        let d = (f(fm.c().lo()[r]), f(fm.c().hi()[r]));
        for (side, y) in [(Side::Lo, lo[r]), (Side::Hi, hi[r])] {
            let sound = bias_bound_sound(&chs, &lam, &identity, d, f(y), side == Side::Lo);
            let flagged = report
                .violations
                .iter()
                .any(|v| v.index == k * c + r && v.side == side);
            assert_eq!(
                flagged, !sound,
                "checker and oracle disagree on d'[{r}] {side}"
            );
        }
    }
    // bnbound's own Λ' entries pass.
    assert!(report.violations.iter().all(|v| v.index >= k * c));
    Some(())
}

/// `checker_agrees`: the exact checker's verdicts match the independent oracle (IBP boxes
/// and back-substituted biases), and every witness really violates.
pub fn checker_agrees(data: &[u8]) {
    both_types(data, typed!(checker_case));
    both_types(data, typed!(checker_backward_case));
}

#[cfg(feature = "mpfr")]
fn tight_case<T: Float>(u: &mut Unstructured<'_>) -> Option<()> {
    let (bn, chs, input, chan) = case::<T>(u)?;
    let out = bn.tight().ibp(&input).expect("valid");
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
