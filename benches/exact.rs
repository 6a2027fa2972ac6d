//! Throughput of the exact checker (`Checker::ibp`, rational arithmetic) and of tight
//! mode (`ibp_tight`, MPFR; feature `mpfr`), in elements per second, on a
//! (1, 16, 32, 32) box (16,384 elements) of each precision.

use bnbound_testkit::baseline;

use bnbound::{Float, Shape, TensorBox};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench<T: Float>(cr: &mut Criterion) {
    let shape = Shape::new(&[1, 16, 32, 32]).unwrap();
    let bn = baseline::layer::<T>(shape.channels());
    let (lo, hi) = baseline::input_box::<T>(shape.len());
    let input = TensorBox::new(shape, lo, hi).unwrap();
    let claimed = bn.enclose().ibp(&input).unwrap();
    let mut g = cr.benchmark_group(format!("exact_{}_{:?}", T::DTYPE, shape.dims()));
    g.throughput(Throughput::Elements(shape.len() as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::from_parameter("checker"), |b| {
        b.iter(|| {
            let r = &bn
                .checker()
                .ibp(black_box(&input), black_box(&claimed))
                .unwrap();
            assert!(r.violations.is_empty());
        })
    });
    #[cfg(feature = "mpfr")]
    g.bench_function(BenchmarkId::from_parameter("tight_mode"), |b| {
        b.iter(|| bn.tight().ibp(black_box(&input)).unwrap())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench::<f32>(c);
    bench::<f64>(c);
}

criterion_group!(exact, benches);
criterion_main!(exact);
