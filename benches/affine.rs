//! Affine composition and back-substitution against their unsound plain-float baselines,
//! side by side in one run (`bnbound_sound`: the dispatched kernel, AVX-512 where the CPU
//! has it; `bnbound_fma`: `Kernel::Fma`, what CPUs without AVX-512 run):
//! - compose: a 512 × 3072 interval form `[A]·x + [c]` through a BatchNorm over 512
//!   channels, vs plain `diag(s)·A` (endpoint swap for negative `s`) plus `s∘c + o`;
//! - backward: `Λ` of 10 × 512 through the same layer, vs plain `Λ·diag(s)` and the bias
//!   dot products `Λ·o + d`;
//! - backward_cnn: CROWN's `Λ` of 10 × (512·16·16) through a BatchNorm2d(512) over 16 × 16
//!   (`backward_shaped`), vs the plain loop `Λ_ij·s_c` and `Σ_j Λ_ij·o_c + d_i`;
//! - backward_batch: auto_LiRPA's point `A` of 64 spec rows × batch 4 × (64·8·8) over four
//!   boxes (`Bounds::backward_batch`, real and `pytorch-cpu` semantics), vs what auto_LiRPA
//!   computes: `A·s` and `Σ_j A_j·o_c` in round-to-nearest.

use bnbound_testkit::baseline;

use bnbound::{AffineForm, Float, Kernel, Mode, Runtime, Semantics, Shape, TensorBox};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn interval_form<T: Float>(rows: usize, cols: usize) -> AffineForm<T> {
    let (alo, ahi) = baseline::input_box::<T>(rows * cols);
    let (clo, chi) = baseline::input_box::<T>(rows);
    AffineForm::new(
        TensorBox::new(Shape::new(&[rows, cols]).unwrap(), alo, ahi).unwrap(),
        TensorBox::new(Shape::new(&[rows]).unwrap(), clo, chi).unwrap(),
    )
    .unwrap()
}

fn bench<T: Float>(cr: &mut Criterion) {
    let (c, cols, k) = (512, 3072, 10);
    let bn = baseline::layer::<T>(c);
    let enc = bn.enclose();
    let fma = bn.enclose().with_kernel(Kernel::Fma);
    let (s, o) = baseline::nearest_scale_offset(&bn);

    let f = interval_form::<T>(c, cols);
    let zero = vec![T::zero(); c];
    let mut g = cr.benchmark_group(format!("compose_{}_{c}x{cols}", T::DTYPE));
    g.throughput(Throughput::Elements((c * cols) as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::from_parameter("plain_unsound"), |b| {
        b.iter(|| {
            let (mut lo, mut hi) = (vec![T::zero(); c * cols], vec![T::zero(); c * cols]);
            let (alo, ahi) = (black_box(f.a().lo()), black_box(f.a().hi()));
            baseline::plain(&s, &zero, cols, alo, ahi, &mut lo, &mut hi);
            let (mut cl, mut ch) = (vec![T::zero(); c], vec![T::zero(); c]);
            baseline::plain(&s, &o, 1, f.c().lo(), f.c().hi(), &mut cl, &mut ch);
            (lo, hi, cl, ch)
        })
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_sound"), |b| {
        b.iter(|| enc.compose(black_box(&f)).unwrap())
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_fma"), |b| {
        b.iter(|| fma.compose(black_box(&f)).unwrap())
    });
    g.finish();

    let lam = interval_form::<T>(k, c);
    let mut g = cr.benchmark_group(format!("backward_{}_{k}x{c}", T::DTYPE));
    g.throughput(Throughput::Elements((k * c) as u64));
    g.sample_size(50);
    g.bench_function(BenchmarkId::from_parameter("plain_unsound"), |b| {
        b.iter(|| {
            let (mut lo, mut hi) = (vec![T::zero(); k * c], vec![T::zero(); k * c]);
            baseline::plain(
                &s,
                &zero,
                1,
                black_box(lam.a().lo()),
                black_box(lam.a().hi()),
                &mut lo,
                &mut hi,
            );
            let (mut dl, mut dh) = (Vec::with_capacity(k), Vec::with_capacity(k));
            for i in 0..k {
                let row = i * c..(i + 1) * c;
                let dot = |a: &[T]| {
                    a.iter()
                        .zip(&o)
                        .fold(T::zero(), |acc, (&x, &y)| acc + x * y)
                };
                dl.push(dot(&lam.a().lo()[row.clone()]) + lam.c().lo()[i]);
                dh.push(dot(&lam.a().hi()[row]) + lam.c().hi()[i]);
            }
            (lo, hi, dl, dh)
        })
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_sound"), |b| {
        b.iter(|| enc.backward(black_box(&lam)).unwrap())
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_fma"), |b| {
        b.iter(|| fma.backward(black_box(&lam)).unwrap())
    });
    g.finish();

    let inner = 16 * 16;
    let lam = interval_form::<T>(k, c * inner);
    let mut g = cr.benchmark_group(format!("backward_cnn_{}_{k}x{c}x16x16", T::DTYPE));
    g.throughput(Throughput::Elements((k * c * inner) as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::from_parameter("plain_unsound"), |b| {
        b.iter(|| {
            let n = k * c * inner;
            let (mut lo, mut hi) = (vec![T::zero(); n], vec![T::zero(); n]);
            let (llo, lhi) = (black_box(lam.a().lo()), black_box(lam.a().hi()));
            baseline::plain(&s, &zero, inner, llo, lhi, &mut lo, &mut hi);
            let (mut dl, mut dh) = (Vec::with_capacity(k), Vec::with_capacity(k));
            for i in 0..k {
                let row = i * c * inner..(i + 1) * c * inner;
                let dot = |a: &[T]| {
                    a.chunks_exact(inner)
                        .zip(&o)
                        .fold(T::zero(), |acc, (blk, &y)| {
                            acc + blk.iter().fold(T::zero(), |t, &x| t + x) * y
                        })
                };
                dl.push(dot(&llo[row.clone()]) + lam.c().lo()[i]);
                dh.push(dot(&lhi[row]) + lam.c().hi()[i]);
            }
            (lo, hi, dl, dh)
        })
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_sound"), |b| {
        b.iter(|| enc.backward_shaped(black_box(&lam), &[c, 16, 16]).unwrap())
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_fma"), |b| {
        b.iter(|| fma.backward_shaped(black_box(&lam), &[c, 16, 16]).unwrap())
    });
    g.finish();
}

/// `Bounds::backward_batch` on auto_LiRPA's shapes against auto_LiRPA's own arithmetic.
fn bench_batch<T: Float>(cr: &mut Criterion) {
    let (c, inner, spec, batch) = (64usize, 64usize, 64usize, 4usize);
    let n = c * inner;
    let bn = baseline::layer::<T>(c);
    let (s, o) = baseline::nearest_scale_offset(&bn);
    let (lam, _) = baseline::input_box::<T>(spec * batch * n);
    let (xl, xh) = baseline::input_box::<T>(batch * n);
    let x = TensorBox::new(Shape::new(&[batch, c, 8, 8]).unwrap(), xl, xh).unwrap();
    let mut g = cr.benchmark_group(format!(
        "backward_batch_{}_{spec}x{batch}x{c}x8x8",
        T::DTYPE
    ));
    g.throughput(Throughput::Elements((spec * batch * n) as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::from_parameter("plain_unsound"), |b| {
        b.iter(|| {
            let lam = black_box(&lam);
            let mut m = vec![T::zero(); lam.len()];
            let mut bias = Vec::with_capacity(spec * batch);
            for (row, out) in lam.chunks_exact(n).zip(m.chunks_exact_mut(n)) {
                let mut acc = T::zero();
                for ((blk, oblk), (&sc, &oc)) in row
                    .chunks_exact(inner)
                    .zip(out.chunks_exact_mut(inner))
                    .zip(s.iter().zip(&o))
                {
                    let mut sum = T::zero();
                    for (&a, y) in blk.iter().zip(oblk) {
                        *y = a * sc;
                        sum = sum + a;
                    }
                    acc = acc + sum * oc;
                }
                bias.push(acc);
            }
            (m, bias)
        })
    });
    for (name, sem) in [
        ("bnbound_real", Semantics::Real),
        (
            "bnbound_pytorch_cpu",
            Semantics::Deployed(Runtime::PytorchCpu),
        ),
    ] {
        let bounds = bn.bounds(Mode::Fast, sem).unwrap();
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                bounds
                    .backward_batch(black_box(&lam), &[c, 8, 8], &x)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_batch::<f32>(c);
    bench::<f32>(c);
    bench::<f64>(c);
}

criterion_group!(affine, benches);
criterion_main!(affine);
