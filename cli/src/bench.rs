//! `bnbound bench`: the IBP speed comparison on this machine, without criterion.

use crate::baseline;
use bnbound::{BoxView, Float, Kernel, Shape};
use std::fmt::Write;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Median wall time of `reps` runs of `f` (after one warm-up run).
fn median(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut t: Vec<Duration> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[t.len() / 2]
}

/// The shapes `bnbound bench` measures when no `--shape` is given: out of every cache
/// (128 MB of `f32` boxes), larger than L2, and rows of channels in cache.
pub const DEFAULT_SHAPES: [&[usize]; 3] = [&[8, 64, 128, 128], &[1, 64, 128, 128], &[256, 512]];

/// The most memory the benchmark may allocate: its four boxes (input and output, two ends
/// each) and everything it holds per channel ([`bytes_needed`]).
pub const MEMORY_BUDGET: usize = 4 << 30;

/// An upper bound on the bytes one channel costs the benchmark: the layer's four
/// parameters and the plain loop's nearest `s`, `o` (six `T`); three enclosures (the
/// default, FMA and portable kernels), each a `ChannelEnclosure` and its row-kernel lanes
/// (eight `f64`, two flags and up to two special-channel indices); all of it counted twice
/// for the temporaries of construction (a layer's columns while they are collected, an
/// enclosure's channels before they are laid out as lanes).
pub fn per_channel_bytes<T: Float>() -> usize {
    let lanes = 8 * 8 + 2 + 2 * std::mem::size_of::<usize>();
    let enclosure = std::mem::size_of::<bnbound::ChannelEnclosure>() + lanes;
    2 * (6 * std::mem::size_of::<T>() + 3 * enclosure)
}

/// The bytes the benchmark allocates for a box of `n` elements over `channels` channels
/// (an upper bound), or `None` when that overflows `usize`.
pub fn bytes_needed<T: Float>(n: usize, channels: usize) -> Option<usize> {
    n.checked_mul(4 * std::mem::size_of::<T>())?
        .checked_add(channels.checked_mul(per_channel_bytes::<T>())?)
}

/// Runs the comparison on `dims` with element type `T` and returns the report. A shape
/// with no channels or whose allocations ([`bytes_needed`]) exceed [`MEMORY_BUDGET`] is an
/// error, before anything is allocated.
pub fn report<T: Float>(dims: &[usize], reps: usize) -> Result<String, String> {
    let shape = Shape::new(dims).map_err(|e| e.to_string())?;
    let n = shape.len();
    if shape.channels() == 0 {
        return Err(format!("shape {dims:?} has no channels"));
    }
    let bytes = bytes_needed::<T>(n, shape.channels());
    if bytes.is_none_or(|b| b > MEMORY_BUDGET) {
        return Err(format!(
            "shape {dims:?} needs four boxes of {n} elements and {} channels of up to {} \
             bytes each, over the benchmark's memory budget of {} GiB",
            shape.channels(),
            per_channel_bytes::<T>(),
            MEMORY_BUDGET >> 30
        ));
    }
    report_checked::<T>(shape, dims, reps).map_err(|e| e.to_string())
}

fn report_checked<T: Float>(
    shape: Shape,
    dims: &[usize],
    reps: usize,
) -> Result<String, bnbound::Error> {
    let n = shape.len();
    let bn = baseline::layer::<T>(shape.channels());
    let enc = bn.enclose();
    let fma = bn.enclose().with_kernel(Kernel::Fma);
    let portable = bn.enclose().with_kernel(Kernel::TwoRoundings);
    let (lo, hi) = baseline::input_box::<T>(n);
    let view = BoxView::new(shape, &lo, &hi)?;
    let (s, o) = baseline::nearest_scale_offset(&bn);
    let (mut ylo, mut yhi) = (vec![T::zero(); n], vec![T::zero(); n]);
    let inner = shape.inner();

    let plain = median(reps, || {
        baseline::plain(
            &s,
            &o,
            inner,
            black_box(&lo),
            black_box(&hi),
            &mut ylo,
            &mut yhi,
        );
        black_box((&ylo, &yhi));
    });
    let mut rows = vec![("plain s·x + o (unsound)".to_string(), plain)];
    // Times one sound variant (an IBP call into the shared output buffers).
    type Ibp<'a, T> =
        dyn Fn(&BoxView<'_, T>, &mut [T], &mut [T]) -> Result<(), bnbound::Error> + 'a;
    let mut run = |name: String, ibp: &Ibp<'_, T>| -> Result<(), bnbound::Error> {
        let mut err = Ok(());
        let t = median(reps, || {
            if let Err(e) = ibp(black_box(&view), &mut ylo, &mut yhi) {
                err = Err(e);
            }
            black_box((&ylo, &yhi));
        });
        rows.push((name, t));
        err
    };
    run(
        format!("bnbound sound, {}", Kernel::Auto.resolved()),
        &|v, a, b| enc.ibp_into(v, a, b),
    )?;
    run(
        format!("bnbound sound, {} (Kernel::Fma)", Kernel::Fma.resolved()),
        &|v, a, b| fma.ibp_into(v, a, b),
    )?;
    run("bnbound sound, portable kernel".to_string(), &|v, a, b| {
        portable.ibp_into(v, a, b)
    })?;
    #[cfg(feature = "rayon")]
    run(
        format!(
            "bnbound sound, rayon ({} threads)",
            rayon::current_num_threads()
        ),
        &|v, a, b| enc.par_ibp_into(v, a, b),
    )?;
    let t = median(reps, || {
        baseline::per_op_steps(
            &enc,
            inner,
            black_box(&lo),
            black_box(&hi),
            &mut ylo,
            &mut yhi,
        );
        black_box((&ylo, &yhi));
    });
    rows.push((
        "per-operation next_down/next_up (sound, naive)".to_string(),
        t,
    ));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "IBP, {} box of shape {:?} ({} elements), median of {} runs",
        T::DTYPE,
        dims,
        n,
        reps
    );
    let _ = writeln!(
        out,
        "{:<48} {:>12} {:>10} {:>8}",
        "", "time", "ns/elem", "ratio"
    );
    for (name, t) in rows {
        let _ = writeln!(
            out,
            "{:<48} {:>9.3} ms {:>10.3} {:>7.2}x",
            name,
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e9 / n.max(1) as f64,
            t.as_secs_f64() / plain.as_secs_f64().max(1e-12)
        );
    }
    Ok(out)
}
