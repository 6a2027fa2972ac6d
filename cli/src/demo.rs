//! `bnbound demo`: a realistic BatchNorm2d layer, generated deterministically, its sound
//! IBP bounds, and the naive float bounds verifiers compute, checked exactly.

use bnbound::{check, ulps_between, BatchNorm, ScaleSign, Shape, Side, TensorBox};
use std::fmt::Write;

/// SplitMix64: a tiny deterministic generator (no dependency, same stream everywhere).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1), from basic IEEE operations only (reproducible bit for bit).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately normal (Irwin–Hall of 4), mean 0, variance 1.
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.uniform()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// A BatchNorm2d(64) with PyTorch-like trained statistics and the default eps = 1e-5.
pub fn layer() -> BatchNorm<f32> {
    let mut r = Rng(2015);
    let c = 64;
    let mut gamma: Vec<f32> = (0..c).map(|_| (1.0 + 0.25 * r.normal()) as f32).collect();
    gamma[7] = -0.37; // a negative scale, as trained networks have
    gamma[21] = 0.0; // a pruned channel
    let beta = (0..c).map(|_| (0.1 * r.normal()) as f32).collect();
    let mean = (0..c).map(|_| (0.5 * r.normal()) as f32).collect();
    let var: Vec<f32> = (0..c)
        .map(|_| (0.05 + r.uniform() * r.uniform() * 2.0) as f32)
        .collect();
    BatchNorm::new(gamma, beta, mean, var, 1e-5).expect("valid demo layer")
}

/// An L∞ ball of radius 2/255 around a deterministic input of shape (1, 64, 16, 16).
pub fn input() -> TensorBox<f32> {
    let mut r = Rng(2021);
    let shape = Shape::new(&[1, 64, 16, 16]).expect("valid shape");
    let eps = 2.0f32 / 255.0;
    let center: Vec<f32> = (0..shape.len())
        .map(|_| (2.0 * r.normal()) as f32)
        .collect();
    let lo = center.iter().map(|&x| x - eps).collect();
    let hi = center.iter().map(|&x| x + eps).collect();
    TensorBox::new(shape, lo, hi).expect("valid demo box")
}

/// Naive bounds as a typical verifier computes them (auto_LiRPA's IBP form, all f32,
/// round-to-nearest): `center = s·mid + o`, `dev = |s|·rad`.
fn naive(bn: &BatchNorm<f32>, input: &TensorBox<f32>) -> (Vec<f32>, Vec<f32>) {
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for (i, (&l, &h)) in input.lo().iter().zip(input.hi()).enumerate() {
        let k = input.shape().channel_of(i);
        let s = bn.gamma()[k] / (bn.running_var()[k] + bn.eps()).sqrt();
        let o = bn.beta()[k] - bn.running_mean()[k] * s;
        let (mid, rad) = ((l + h) / 2.0, (h - l) / 2.0);
        let center = s * mid + o;
        let dev = s.abs() * rad;
        lo.push(center - dev);
        hi.push(center + dev);
    }
    (lo, hi)
}

/// Percentage `a/b` with one decimal.
fn pct(a: usize, b: usize) -> f64 {
    (1000.0 * a as f64 / b.max(1) as f64).round() / 10.0
}

/// Exact check of bounds `(lo, hi)` on `input`: (#unsound bounds, worst excess in f32 ulps).
fn audit(bn: &BatchNorm<f32>, input: &TensorBox<f32>, lo: &[f32], hi: &[f32]) -> (usize, u64) {
    let enc = bn.enclose();
    let (mut bad, mut worst) = (0, 0);
    for i in 0..lo.len() {
        let c = input.shape().channel_of(i);
        let (xl, xh) = (input.lo()[i] as f64, input.hi()[i] as f64);
        // The exact minimum is at xl for s ≥ 0 and at xh for s < 0; the maximum opposite.
        let (at_min, at_max) = match enc.channel(c).scale_sign() {
            ScaleSign::Negative => (xh, xl),
            _ => (xl, xh),
        };
        for (x, y, side) in [(at_min, lo[i], Side::Lo), (at_max, hi[i], Side::Hi)] {
            let steps = check::violation_steps(bn, c, x, y, side).expect("finite");
            if steps > 0 {
                bad += 1;
                worst = worst.max(steps);
            }
        }
    }
    (bad, worst)
}

/// The whole report as text.
pub fn report() -> String {
    let bn = layer();
    let input = input();
    let enc = bn.enclose();
    let out = enc.ibp(&input).expect("channels match");
    let mut s = String::new();
    let n = input.shape().len();
    let _ = writeln!(
        s,
        "bnbound demo: BatchNorm2d(64), f32 PyTorch-like statistics, eps = 1e-5f32"
    );
    let _ = writeln!(
        s,
        "input: L-inf ball of radius 2/255, shape {:?} ({n} elements)",
        input.shape().dims()
    );
    let _ = writeln!(s);

    let widths = |f: &dyn Fn(usize) -> (f64, f64)| {
        let mut h = [0usize; 3];
        for c in 0..bn.channels() {
            let (a, b) = f(c);
            h[(ulps_between(a, b) as usize).min(2)] += 1;
        }
        h
    };
    let sw = widths(&|c| (enc.channel(c).scale().lo(), enc.channel(c).scale().hi()));
    let ow = widths(&|c| (enc.channel(c).offset().lo(), enc.channel(c).offset().hi()));
    let _ = writeln!(
        s,
        "per-channel enclosures (f64), width in ulps: 0 (exact) / 1 / more"
    );
    let _ = writeln!(
        s,
        "  scale  s = gamma/sqrt(var+eps):        {:>3} / {:>3} / {:>3}",
        sw[0], sw[1], sw[2]
    );
    let _ = writeln!(
        s,
        "  offset o = beta - gamma*mean/sqrt(..): {:>3} / {:>3} / {:>3}",
        ow[0], ow[1], ow[2]
    );
    let _ = writeln!(s);

    let lo_min = out.lo().iter().copied().fold(f32::INFINITY, f32::min);
    let hi_max = out.hi().iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mean_w = out
        .lo()
        .iter()
        .zip(out.hi())
        .map(|(a, b)| (b - a) as f64)
        .sum::<f64>()
        / n as f64;
    let (bad, worst) = audit(&bn, &input, out.lo(), out.hi());
    let _ = writeln!(s, "bnbound IBP (fast mode, f32 output rounded outward):");
    let _ = writeln!(
        s,
        "  output range [{lo_min}, {hi_max}], mean width {mean_w:.6}"
    );
    let _ = writeln!(
        s,
        "  exact rational check: {bad} of {} bounds unsound",
        2 * n
    );

    let (nlo, nhi) = naive(&bn, &input);
    let (nbad, nworst) = audit(&bn, &input, &nlo, &nhi);
    let extra: u64 = (0..n)
        .map(|i| {
            ulps_between(out.lo()[i], nlo[i].max(out.lo()[i]))
                + ulps_between(nhi[i].min(out.hi()[i]), out.hi()[i])
        })
        .sum();
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "naive float bounds (s, o rounded to nearest in f32; center = s*mid + o, dev = |s|*rad):"
    );
    let _ = writeln!(
        s,
        "  exact rational check: {nbad} of {} bounds unsound ({}%), worst by {nworst} f32 ulp(s)",
        2 * n,
        pct(nbad, 2 * n)
    );
    let _ = writeln!(
        s,
        "  bnbound is wider than naive by {:.2} f32 ulps per bound on average",
        extra as f64 / (2 * n) as f64
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", tight_comparison(&bn, &input, &out));
    let _ = writeln!(s, "{}", deployed_comparison(&bn, &input));
    if worst == 0 && bad == 0 {
        let _ = writeln!(
            s,
            "every bnbound bound contains the exact real image; a verifier using the naive bounds"
        );
        let _ = writeln!(
            s,
            "would reason about boxes that miss real outputs by up to {nworst} ulp(s)."
        );
    }
    s
}

/// Deployed-float semantics on the same layer: ONNX Runtime's recipe replayed at every
/// element's midpoint (a point input), against the real bounds and the deployed bounds.
fn deployed_comparison(bn: &BatchNorm<f32>, input: &TensorBox<f32>) -> String {
    let mid: Vec<f32> = input
        .lo()
        .iter()
        .zip(input.hi())
        .map(|(&l, &h)| l + (h - l) / 2.0)
        .collect();
    let points = TensorBox::new(*input.shape(), mid.clone(), mid).expect("valid points");
    let real = bn.enclose().ibp(&points).expect("channels match");
    let runtime = bnbound::Runtime::OnnxruntimeCpu;
    let deployed = bn.deployed(runtime);
    let bounds = deployed.ibp(&points).expect("no NaN on this layer");
    let (mut outside, mut escaped, mut worst) = (0usize, 0usize, 0u64);
    for (i, &x) in points.lo().iter().enumerate() {
        let c = points.shape().channel_of(i);
        let (a, z) = deployed.outputs_at(c, x).expect("no NaN on this layer");
        let (rl, rh) = (real.lo()[i], real.hi()[i]);
        if a < rl || z > rh {
            outside += 1;
            worst = worst
                .max(if a < rl { ulps_between(a, rl) } else { 0 })
                .max(if z > rh { ulps_between(rh, z) } else { 0 });
        }
        escaped += usize::from(a < bounds.lo()[i] || z > bounds.hi()[i]);
    }
    let n = points.shape().len();
    format!(
        "deployed semantics ({runtime}, its float recipe replayed at the {n} box midpoints):\n  \
         {outside} of {n} runtime outputs ({:.1}%) lie outside the real bounds, by up to {worst} \
         ulps;\n  {escaped} lie outside the deployed bounds (--semantics deployed --runtime {runtime})",
        pct(outside, n)
    )
}

/// How many f32 ulps wider fast mode is than tight mode (MPFR) on the same layer.
#[cfg(feature = "mpfr")]
fn tight_comparison(bn: &BatchNorm<f32>, input: &TensorBox<f32>, fast: &TensorBox<f32>) -> String {
    let tight = bn.tight().ibp(input).expect("channels match");
    let mut w: Vec<u64> = (0..fast.lo().len())
        .flat_map(|i| {
            [
                ulps_between(fast.lo()[i], tight.lo()[i]),
                ulps_between(tight.hi()[i], fast.hi()[i]),
            ]
        })
        .collect();
    w.sort_unstable();
    let exact = w.iter().filter(|&&k| k == 0).count();
    format!(
        "tight mode (MPFR, tightest f32 enclosure): fast mode equals it on {} of {} bounds ({}%), worst {} ulp(s) wider",
        exact,
        w.len(),
        pct(exact, w.len()),
        w.last().copied().unwrap_or(0)
    )
}

#[cfg(not(feature = "mpfr"))]
fn tight_comparison(_: &BatchNorm<f32>, _: &TensorBox<f32>, _: &TensorBox<f32>) -> String {
    "tight mode: build with -p bnbound-cli --features mpfr to compare fast mode with the tightest enclosure"
        .into()
}
