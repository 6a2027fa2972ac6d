//! IBP throughput: bnbound's sound `ibp_into` against an unsound plain-float loop of the
//! same layout (`s·x + o` with the endpoint swap for negative `s`, `s`, `o` rounded to
//! nearest), measured side by side in one run. Report the ratio of the medians.

use bnbound::{BatchNorm, BoxView, Float, Shape};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn layer<T: Float>(c: usize) -> BatchNorm<T> {
    let f = |i: usize, a: f64, b: f64| T::from_f64_down(a + b * ((i * 7919 % 997) as f64 / 997.0));
    BatchNorm::new(
        (0..c)
            .map(|i| f(i, if i % 5 == 0 { -1.2 } else { 0.5 }, 1.0))
            .collect(),
        (0..c).map(|i| f(i, -0.1, 0.2)).collect(),
        (0..c).map(|i| f(i, -0.5, 1.0)).collect(),
        (0..c).map(|i| f(i, 0.05, 2.0)).collect(),
        T::from_f64_down(1e-5),
    )
    .unwrap()
}

/// The unsound baseline: what verifiers do today.
fn plain<T: Float>(
    s: &[T],
    o: &[T],
    inner: usize,
    lo: &[T],
    hi: &[T],
    ylo: &mut [T],
    yhi: &mut [T],
) {
    let c = s.len();
    for (k, ((l, h), (a, b))) in lo
        .chunks_exact(inner)
        .zip(hi.chunks_exact(inner))
        .zip(ylo.chunks_exact_mut(inner).zip(yhi.chunks_exact_mut(inner)))
        .enumerate()
    {
        let (s, o) = (s[k % c], o[k % c]);
        if s >= T::zero() {
            for i in 0..inner {
                a[i] = s * l[i] + o;
                b[i] = s * h[i] + o;
            }
        } else {
            for i in 0..inner {
                a[i] = s * h[i] + o;
                b[i] = s * l[i] + o;
            }
        }
    }
}

fn bench_shape<T: Float>(cr: &mut Criterion, dims: &[usize]) {
    let shape = Shape::new(dims).unwrap();
    let bn = layer::<T>(shape.channels());
    let enc = bn.enclose();
    let n = shape.len();
    let lo: Vec<T> = (0..n)
        .map(|i| T::from_f64_down((i % 1000) as f64 / 500.0 - 1.0))
        .collect();
    let hi: Vec<T> = lo.iter().map(|&x| x + T::from_f64_down(0.01)).collect();
    let view = BoxView::new(shape, &lo, &hi).unwrap();
    let (mut ylo, mut yhi) = (vec![T::zero(); n], vec![T::zero(); n]);
    // Round-to-nearest s and o, as an unsound verifier would compute them.
    let s: Vec<T> = (0..shape.channels())
        .map(|c| bn.gamma()[c] / (bn.running_var()[c] + bn.eps()).sqrt())
        .collect();
    let o: Vec<T> = (0..shape.channels())
        .map(|c| bn.beta()[c] - bn.running_mean()[c] * s[c])
        .collect();

    let name = format!("ibp_{}_{:?}", T::DTYPE, dims);
    let mut g = cr.benchmark_group(name);
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::from_parameter("plain_unsound"), |b| {
        b.iter(|| {
            plain(
                &s,
                &o,
                shape.inner(),
                black_box(&lo),
                black_box(&hi),
                &mut ylo,
                &mut yhi,
            )
        })
    });
    g.bench_function(BenchmarkId::from_parameter("bnbound_sound"), |b| {
        b.iter(|| enc.ibp_into(black_box(&view), &mut ylo, &mut yhi).unwrap())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_shape::<f32>(c, &[1, 64, 128, 128]);
    bench_shape::<f64>(c, &[1, 64, 128, 128]);
    bench_shape::<f32>(c, &[256, 512]);
    bench_shape::<f64>(c, &[256, 512]);
}

criterion_group!(ibp, benches);
criterion_main!(ibp);
