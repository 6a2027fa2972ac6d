//! The comparison points of `cargo bench` and of `bnbound bench` (the CLI compiles this
//! file into its binary, so both measure the same code), plus the benchmark layer.
//!
//! None of these is a bnbound transfer function. `plain` is what verifiers do today
//! (unsound: `s`, `o` and every product rounded to nearest); `per_op_steps` is the naive
//! sound alternative (every operation rounded to nearest, then one `next_down`/`next_up`).

use bnbound::{BatchNorm, ChannelEnclosure, Enclosure, Float};

/// A deterministic BatchNorm layer with `c` channels (every fifth scale negative).
pub fn layer<T: Float>(c: usize) -> BatchNorm<T> {
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
    .expect("valid layer")
}

/// A deterministic input box of `n` elements, each of width 0.01.
pub fn input_box<T: Float>(n: usize) -> (Vec<T>, Vec<T>) {
    let lo: Vec<T> = (0..n)
        .map(|i| T::from_f64_down((i % 1000) as f64 / 500.0 - 1.0))
        .collect();
    let hi = lo.iter().map(|&x| x + T::from_f64_down(0.01)).collect();
    (lo, hi)
}

/// Round-to-nearest `s` and `o` per channel, as an unsound verifier computes them.
pub fn nearest_scale_offset<T: Float>(bn: &BatchNorm<T>) -> (Vec<T>, Vec<T>) {
    let s: Vec<T> = (0..bn.channels())
        .map(|c| bn.gamma()[c] / (bn.running_var()[c] + bn.eps()).sqrt())
        .collect();
    let o = (0..bn.channels())
        .map(|c| bn.beta()[c] - bn.running_mean()[c] * s[c])
        .collect();
    (s, o)
}

/// Unsound IBP: `s·x + o` in round-to-nearest with the endpoint swap for negative `s`, over
/// a `(…, C, inner)` layout. Rows of channels (`inner = 1`) are handled as rows, so the
/// compiler vectorises both layouts.
#[allow(clippy::too_many_arguments)]
pub fn plain<T: Float>(
    s: &[T],
    o: &[T],
    inner: usize,
    lo: &[T],
    hi: &[T],
    ylo: &mut [T],
    yhi: &mut [T],
) {
    let c = s.len();
    if inner == 1 {
        for (((l, h), a), b) in lo
            .chunks_exact(c)
            .zip(hi.chunks_exact(c))
            .zip(ylo.chunks_exact_mut(c))
            .zip(yhi.chunks_exact_mut(c))
        {
            let it = s
                .iter()
                .zip(o)
                .zip(l.iter().zip(h))
                .zip(a.iter_mut().zip(b));
            for (((&s, &o), (&l, &h)), (a, b)) in it {
                let neg = s < T::zero();
                let (x, y) = (if neg { h } else { l }, if neg { l } else { h });
                *a = s * x + o;
                *b = s * y + o;
            }
        }
        return;
    }
    for (k, ((l, h), (a, b))) in lo
        .chunks_exact(inner)
        .zip(hi.chunks_exact(inner))
        .zip(ylo.chunks_exact_mut(inner).zip(yhi.chunks_exact_mut(inner)))
        .enumerate()
    {
        let (s, o) = (s[k % c], o[k % c]);
        let (l, h) = if s >= T::zero() { (l, h) } else { (h, l) };
        for i in 0..inner {
            a[i] = s * l[i] + o;
            b[i] = s * h[i] + o;
        }
    }
}

/// Runs `f(channel, l, h) → (lo, hi)` (in `f64`) element by element over a `(…, C, inner)`
/// box, rounding the results outward to `T`: the shape of the naive baselines.
#[allow(clippy::too_many_arguments)]
pub fn per_element<T: Float>(
    enc: &Enclosure,
    inner: usize,
    lo: &[T],
    hi: &[T],
    ylo: &mut [T],
    yhi: &mut [T],
    f: impl Fn(&ChannelEnclosure, f64, f64) -> (f64, f64),
) {
    let c = enc.channels();
    let blocks = lo
        .chunks(inner)
        .zip(hi.chunks(inner))
        .zip(ylo.chunks_mut(inner).zip(yhi.chunks_mut(inner)));
    for (k, ((l, h), (a, b))) in blocks.enumerate() {
        let ch = enc.channel(k % c);
        for i in 0..l.len() {
            let (x, y) = f(&ch, l[i].to_f64_exact(), h[i].to_f64_exact());
            a[i] = T::from_f64_down(x);
            b[i] = T::from_f64_up(y);
        }
    }
}

/// Naive sound IBP: bnbound's enclosures of `s` and `o`, but each product and each sum
/// rounded to nearest and then moved one step with `f64::next_down`/`next_up`, per element.
pub fn per_op_steps<T: Float>(
    enc: &Enclosure,
    inner: usize,
    lo: &[T],
    hi: &[T],
    ylo: &mut [T],
    yhi: &mut [T],
) {
    per_element(enc, inner, lo, hi, ylo, yhi, |ch, l, h| {
        let (s, o) = (ch.scale(), ch.offset());
        let (x, y) = if s.lo() >= 0.0 { (l, h) } else { (h, l) };
        let sx = if x >= 0.0 { s.lo() } else { s.hi() };
        let sy = if y >= 0.0 { s.hi() } else { s.lo() };
        let p = (sx * x).next_down();
        let q = (sy * y).next_up();
        ((p + o.lo()).next_down(), (q + o.hi()).next_up())
    });
}
