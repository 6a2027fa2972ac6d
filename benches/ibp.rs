//! IBP throughput, measured side by side in one run on the same box:
//! - `plain_unsound`: `s·x + o` in round-to-nearest (what verifiers do today);
//! - `bnbound_auto`: bnbound's sound kernel as dispatched on this CPU (AVX-512 where the
//!   CPU has it);
//! - `bnbound_fma`: the FMA kernel (`Kernel::Fma`: AVX2+FMA on x86-64), what CPUs without
//!   AVX-512 run;
//! - `bnbound_portable`: bnbound's portable kernel (no FMA, two roundings, two widenings);
//! - `per_op_next_up_down`: naive sound code, every operation rounded then stepped with
//!   `next_down`/`next_up`;
//! - `inari_per_element` (feature `inari`): `s·x + o` in `inari` interval arithmetic.
//!
//! Shapes: (8, 64, 128, 128) (8 M elements, 128 MB of f32 boxes: out of every cache),
//! (1, 64, 128, 128) (≈1 M elements, larger than L2), (256, 512) (rows of channels, in
//! cache) and (64, 64, 7, 7) (a CNN's 7×7 maps: blocks of 49, each with a one-element tail
//! past the eight-lane body).
//! Report ratios of the medians to `plain_unsound` (README, "Performance").

use bnbound_testkit::baseline;

use bnbound::{BoxView, Enclosure, Float, Kernel, Shape};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// `s·x + o` per element in `inari` (directed rounding in hardware, one interval per op).
#[cfg(feature = "inari")]
fn inari_per_element<T: Float>(
    enc: &Enclosure,
    inner: usize,
    lo: &[T],
    hi: &[T],
    ylo: &mut [T],
    yhi: &mut [T],
) {
    use inari::Interval as I;
    baseline::per_element(enc, inner, lo, hi, ylo, yhi, |ch, l, h| {
        let s = I::try_from((ch.scale().lo(), ch.scale().hi())).unwrap();
        let o = I::try_from((ch.offset().lo(), ch.offset().hi())).unwrap();
        let y = s * I::try_from((l, h)).unwrap() + o;
        (y.inf(), y.sup())
    });
}

/// The baseline of every group: `s·x + o` per element in round-to-nearest with `s`, `o`
/// computed in round-to-nearest (what verifiers do today), unsound.
fn plain_unsound<T: Float>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    bn: &bnbound::BatchNorm<T>,
    inner: usize,
    (lo, hi): (&[T], &[T]),
    (ylo, yhi): (&mut [T], &mut [T]),
) {
    let (s, o) = baseline::nearest_scale_offset(bn);
    g.bench_function(BenchmarkId::from_parameter("plain_unsound"), |b| {
        b.iter(|| baseline::plain(&s, &o, inner, black_box(lo), black_box(hi), ylo, yhi))
    });
}

fn bench_shape<T: Float>(cr: &mut Criterion, dims: &[usize]) {
    let shape = Shape::new(dims).unwrap();
    let bn = baseline::layer::<T>(shape.channels());
    let enc = bn.enclose();
    let fma = bn.enclose().with_kernel(Kernel::Fma);
    let portable = bn.enclose().with_kernel(Kernel::TwoRoundings);
    let n = shape.len();
    let inner = shape.inner();
    let (lo, hi) = baseline::input_box::<T>(n);
    let view = BoxView::new(shape, &lo, &hi).unwrap();
    let (mut ylo, mut yhi) = (vec![T::zero(); n], vec![T::zero(); n]);

    let mut g = cr.benchmark_group(format!("ibp_{}_{:?}", T::DTYPE, dims));
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(30);
    plain_unsound(&mut g, &bn, inner, (&lo, &hi), (&mut ylo, &mut yhi));
    let sound = |e: &Enclosure, ylo: &mut [T], yhi: &mut [T]| {
        e.ibp_into(black_box(&view), ylo, yhi).unwrap()
    };
    g.bench_function(BenchmarkId::from_parameter("bnbound_auto"), |b| {
        b.iter(|| sound(&enc, &mut ylo, &mut yhi))
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_fma"), |b| {
        b.iter(|| sound(&fma, &mut ylo, &mut yhi))
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_portable"), |b| {
        b.iter(|| sound(&portable, &mut ylo, &mut yhi))
    });
    g.bench_function(BenchmarkId::from_parameter("per_op_next_up_down"), |b| {
        b.iter(|| {
            baseline::per_op_steps(
                &enc,
                inner,
                black_box(&lo),
                black_box(&hi),
                &mut ylo,
                &mut yhi,
            )
        })
    });
    #[cfg(feature = "inari")]
    g.bench_function(BenchmarkId::from_parameter("inari_per_element"), |b| {
        b.iter(|| {
            inari_per_element(
                &enc,
                inner,
                black_box(&lo),
                black_box(&hi),
                &mut ylo,
                &mut yhi,
            )
        })
    });
    g.finish();
}

/// Deployed-semantics IBP (`Bounds::ibp_into`) beside the same-call real IBP and the plain
/// unsound loop, on the two boxes: the ratios to `real` are the figures the
/// performance page reports.
fn bench_deployed<T: Float>(cr: &mut Criterion, dims: &[usize]) {
    use bnbound::{Runtime, Semantics};
    let shape = Shape::new(dims).unwrap();
    let bn = baseline::layer::<T>(shape.channels());
    let n = shape.len();
    let inner = shape.inner();
    let (lo, hi) = baseline::input_box::<T>(n);
    let view = BoxView::new(shape, &lo, &hi).unwrap();
    let (mut ylo, mut yhi) = (vec![T::zero(); n], vec![T::zero(); n]);
    let mut g = cr.benchmark_group(format!("deployed_ibp_{}_{:?}", T::DTYPE, dims));
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    plain_unsound(&mut g, &bn, inner, (&lo, &hi), (&mut ylo, &mut yhi));
    let semantics = [
        ("real", Semantics::Real),
        ("pytorch-cpu", Semantics::Deployed(Runtime::PytorchCpu)),
        (
            "onnxruntime-cpu",
            Semantics::Deployed(Runtime::OnnxruntimeCpu),
        ),
        ("any", Semantics::Deployed(Runtime::Any { ulps: 2 })),
    ];
    for (name, sem) in semantics {
        let bounds = bn.bounds(bnbound::Mode::Fast, sem).unwrap();
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                bounds
                    .ibp_into(black_box(&view), &mut ylo, &mut yhi)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_deployed::<f32>(c, &[1, 64, 64, 64]);
    bench_deployed::<f32>(c, &[256, 512]);
    bench_shape::<f32>(c, &[8, 64, 128, 128]);
    bench_shape::<f64>(c, &[8, 64, 128, 128]);
    bench_shape::<f32>(c, &[1, 64, 128, 128]);
    bench_shape::<f64>(c, &[1, 64, 128, 128]);
    bench_shape::<f32>(c, &[256, 512]);
    bench_shape::<f64>(c, &[256, 512]);
    bench_shape::<f32>(c, &[64, 64, 7, 7]);
}

criterion_group!(ibp, benches);
criterion_main!(ibp);
