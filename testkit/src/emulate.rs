//! Reference emulation of the runtimes' BatchNorm recipes in exact rational arithmetic.
//!
//! Every operation is computed exactly (big rationals) and then rounded to nearest-even
//! in the compute format by [`round`], written here from the definition of IEEE 754
//! binary formats (precision `p`, minimum exponent `emin`, overflow to `±∞`), independently
//! of the hardware and of bnbound. `√` is rounded exactly too (an integer square root and
//! an exact comparison with the midpoint); an FMA is one rounding of the exact `a·b + c`.
//! Infinities and NaN follow IEEE 754 (`0·∞`, `∞ − ∞` are NaN).
#![allow(missing_docs)]

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, Zero};
use std::cmp::Ordering;

/// A binary floating-point format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// Precision in bits (including the hidden bit).
    pub p: u32,
    /// Exponent of the least normal power of two.
    pub emin: i64,
    /// Exponent of the greatest finite power of two.
    pub emax: i64,
}

pub const F64: Format = Format {
    p: 53,
    emin: -1022,
    emax: 1023,
};
pub const F32: Format = Format {
    p: 24,
    emin: -126,
    emax: 127,
};
pub const F16: Format = Format {
    p: 11,
    emin: -14,
    emax: 15,
};
pub const BF16: Format = Format {
    p: 8,
    emin: -126,
    emax: 127,
};

/// An extended value: a rational `n/d` (`d > 0`), a signed infinity, or NaN.
#[derive(Clone, Debug)]
pub enum V {
    Fin(BigInt, BigInt),
    Inf(bool),
    NaN,
}

impl V {
    /// The exact value of an `f64`.
    pub fn of(x: f64) -> V {
        if x.is_nan() {
            return V::NaN;
        }
        if x.is_infinite() {
            return V::Inf(x < 0.0);
        }
        let q = crate::oracle::rat(x);
        V::Fin(q.numer().clone(), q.denom().clone())
    }

    fn sign(&self) -> Ordering {
        match self {
            V::Fin(n, _) => n.sign().cmp(&num_bigint::Sign::NoSign),
            V::Inf(neg) => {
                if *neg {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            V::NaN => Ordering::Equal,
        }
    }
}

/// `2^k` as a rational `(n, d)`.
fn pow2(k: i64) -> (BigInt, BigInt) {
    if k >= 0 {
        (BigInt::one() << k as usize, BigInt::one())
    } else {
        (BigInt::one(), BigInt::one() << (-k) as usize)
    }
}

/// `⌊log₂(a/b)⌋` for positive integers.
fn ilog2(a: &BigInt, b: &BigInt) -> i64 {
    let mut e = a.bits() as i64 - b.bits() as i64;
    // 2^e ≤ a/b < 2^(e+1) after at most one correction each way.
    let ge = |e: i64| {
        if e >= 0 {
            a >= &(b << e as usize)
        } else {
            (a << (-e) as usize) >= *b
        }
    };
    while !ge(e) {
        e -= 1;
    }
    while ge(e + 1) {
        e += 1;
    }
    e
}

/// `m·2^k` as an `f64` (exact: callers pass values of a format no wider than f64).
fn to_f64(m: &BigInt, k: i64) -> f64 {
    let m: f64 = m.to_string().parse().expect("integer");
    let two = |j: i64| f64::from_bits(((j + 1023) as u64) << 52);
    if k >= -1022 {
        let mut v = m;
        let mut j = k;
        while j > 1000 {
            v *= two(1000);
            j -= 1000;
        }
        v * two(j)
    } else {
        (m * two(-1022)) * two(k + 1022)
    }
}

/// The sign-magnitude result `m·2^k` (`m ≥ 0` an integer of at most `p + 1` bits) as a
/// value of the format: `±∞` beyond its range.
fn finish(neg: bool, m: BigInt, k: i64, fmt: Format) -> f64 {
    let v = if m.is_zero() {
        0.0
    } else if m.bits() as i64 + k - 1 > fmt.emax {
        f64::INFINITY
    } else {
        to_f64(&m, k)
    };
    if neg {
        -v
    } else {
        v
    }
}

/// Round to nearest, ties to even, of the rational `n/d` in `fmt`.
pub fn round(v: &V, fmt: Format) -> f64 {
    let (n, d) = match v {
        V::NaN => return f64::NAN,
        V::Inf(neg) => {
            return if *neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        V::Fin(n, d) => (n, d),
    };
    if n.is_zero() {
        return 0.0;
    }
    let neg = n.is_negative() != d.is_negative();
    let (a, b) = (n.abs(), d.abs());
    let e = ilog2(&a, &b).max(fmt.emin);
    let k = e - fmt.p as i64 + 1; // the quantum 2^k
    let (pn, pd) = pow2(k);
    let (num, den) = (&a * &pd, &b * &pn);
    let (q, r) = num.div_rem(&den);
    let twice = &r * 2u32;
    let m = match twice.cmp(&den) {
        Ordering::Greater => q + 1u32,
        Ordering::Equal if q.is_odd() => q + 1u32,
        _ => q,
    };
    finish(neg, m, k, fmt)
}

/// `RN(√x)` in `fmt`, for `x ≥ 0` (exact decision at the midpoint).
pub fn round_sqrt(v: &V, fmt: Format) -> f64 {
    let (n, d) = match v {
        V::NaN => return f64::NAN,
        V::Inf(false) => return f64::INFINITY,
        V::Inf(true) => return f64::NAN,
        V::Fin(n, d) => (n.clone(), d.clone()),
    };
    if n.is_zero() {
        return 0.0;
    }
    if n.is_negative() != d.is_negative() {
        return f64::NAN;
    }
    let (a, b) = (n.abs(), d.abs());
    let l = ilog2(&a, &b);
    let e = Integer::div_floor(&l, &2).max(fmt.emin);
    let k = e - fmt.p as i64 + 1;
    // t = x / 4^k = A/B; m0 = ⌊√t⌋ = isqrt(⌊A/B⌋).
    let (pn, pd) = pow2(2 * k);
    let (aa, bb) = (&a * &pd, &b * &pn);
    let m0 = (&aa / &bb).sqrt();
    // √t vs m0 + ½  ⟺  4A vs (2m0 + 1)²·B.
    let mid = &m0 * 2u32 + 1u32;
    let m = match (&aa * 4u32).cmp(&(&mid * &mid * &bb)) {
        Ordering::Greater => m0 + 1u32,
        Ordering::Equal if m0.is_odd() => m0 + 1u32,
        _ => m0,
    };
    finish(false, m, k, fmt)
}

fn add(x: &V, y: &V) -> V {
    match (x, y) {
        (V::NaN, _) | (_, V::NaN) => V::NaN,
        (V::Inf(a), V::Inf(b)) => {
            if a == b {
                V::Inf(*a)
            } else {
                V::NaN
            }
        }
        (V::Inf(a), _) | (_, V::Inf(a)) => V::Inf(*a),
        (V::Fin(a, b), V::Fin(c, d)) => V::Fin(a * d + c * b, b * d),
    }
}

fn mul(x: &V, y: &V) -> V {
    match (x, y) {
        (V::NaN, _) | (_, V::NaN) => V::NaN,
        (V::Fin(a, b), V::Fin(c, d)) => V::Fin(a * c, b * d),
        _ => match (x.sign(), y.sign()) {
            (Ordering::Equal, _) | (_, Ordering::Equal) => V::NaN, // 0·∞
            (s, t) => V::Inf(s != t),
        },
    }
}

fn neg(x: &V) -> V {
    match x {
        V::Fin(n, d) => V::Fin(-n, d.clone()),
        V::Inf(s) => V::Inf(!s),
        V::NaN => V::NaN,
    }
}

/// `RN(x ∘ y)` helpers in a format, on `f64`-held values of the format.
pub struct Arith(pub Format);

impl Arith {
    pub fn add(&self, x: f64, y: f64) -> f64 {
        round(&add(&V::of(x), &V::of(y)), self.0)
    }
    pub fn sub(&self, x: f64, y: f64) -> f64 {
        round(&add(&V::of(x), &neg(&V::of(y))), self.0)
    }
    pub fn mul(&self, x: f64, y: f64) -> f64 {
        round(&mul(&V::of(x), &V::of(y)), self.0)
    }
    pub fn div(&self, x: f64, y: f64) -> f64 {
        let (vx, vy) = (V::of(x), V::of(y));
        let neg = (vx.sign() == Ordering::Less) != (vy.sign() == Ordering::Less);
        match (vx, vy) {
            (V::Fin(a, b), V::Fin(c, d)) if !c.is_zero() => round(&V::Fin(a * d, b * c), self.0),
            (V::Fin(a, _), V::Fin(..)) if !a.is_zero() => {
                f64::INFINITY.copysign(if neg { -1.0 } else { 1.0 })
            }
            (V::Fin(..), V::Inf(_)) => 0.0,
            (V::Inf(_), V::Fin(..)) => f64::INFINITY.copysign(if neg { -1.0 } else { 1.0 }),
            _ => f64::NAN,
        }
    }
    pub fn sqrt(&self, x: f64) -> f64 {
        round_sqrt(&V::of(x), self.0)
    }
    /// One rounding of the exact `x·y + z`.
    pub fn fma(&self, x: f64, y: f64, z: f64) -> f64 {
        round(&add(&mul(&V::of(x), &V::of(y)), &V::of(z)), self.0)
    }
}

/// Every output of the runtimes' recipes (fast path twice-rounded and contracted, and, with
/// `fallback`, PyTorch's `((x − μ)·invstd)·γ + β` both ways; without `fallback` in `f32`,
/// ONNX Runtime's NCHWc depthwise convolution: `s' = γ/√q`, `b' = β − μ·s'`, `x·s' + b'`
/// twice-rounded and contracted) for the input `x`, each operation emulated in `fmt`.
/// `(g, b, m, v, e)` are values of `fmt`.
pub fn recipe_outputs(p: [f64; 5], x: f64, fmt: Format, fallback: bool) -> Vec<f64> {
    let a = Arith(fmt);
    let [g, b, m, v, e] = p;
    let inv = a.div(1.0, a.sqrt(a.add(v, e)));
    let alpha = a.mul(inv, g);
    let betas = [a.sub(b, a.mul(m, alpha)), a.fma(-m, alpha, b)];
    let mut out = Vec::new();
    for beta in betas {
        out.push(a.add(a.mul(x, alpha), beta));
        out.push(a.fma(x, alpha, beta));
    }
    if !fallback && fmt == F32 {
        let s = a.div(g, a.sqrt(a.add(v, e)));
        let bias = a.sub(b, a.mul(m, s));
        out.push(a.add(a.mul(x, s), bias));
        out.push(a.fma(x, s, bias));
    }
    if fallback {
        // The fallback's tensor `at::sqrt` is only faithful (MKL's vsSqrt/vdSqrt): both
        // floats around √q.
        for r in faithful_sqrt(a.add(v, e), fmt) {
            let t = a.mul(a.sub(x, m), a.div(1.0, r));
            out.push(a.add(a.mul(t, g), b));
            out.push(a.fma(t, g, b));
        }
    }
    out
}

/// The one or two values of `fmt` around `√q` (one when `√q` is one): every faithful
/// square root. Decided exactly: `RN(√q)` and, unless its square is `q`, its neighbour on
/// the other side of `√q`.
pub fn faithful_sqrt(q: f64, fmt: Format) -> Vec<f64> {
    let r = round_sqrt(&V::of(q), fmt);
    if !r.is_finite() || r == 0.0 {
        return vec![r];
    }
    let (V::Fin(n, d), V::Fin(qn, qd)) = (mul(&V::of(r), &V::of(r)), V::of(q)) else {
        return vec![r];
    };
    match (n * &qd).cmp(&(qn * d)) {
        Ordering::Equal => vec![r],
        Ordering::Greater => vec![r, neighbour(r, false, fmt)],
        Ordering::Less => vec![r, neighbour(r, true, fmt)],
    }
}

/// The next value of `fmt` above (`up`) or below `y` (finite).
fn neighbour(y: f64, up: bool, fmt: Format) -> f64 {
    match (fmt.p, up) {
        (24, true) => (y as f32).next_up() as f64,
        (24, false) => (y as f32).next_down() as f64,
        (53, true) => y.next_up(),
        (53, false) => y.next_down(),
        (_, up) => step_small(y, up, fmt),
    }
}

/// PyTorch's 16-bit fallback (`Normalization.cpp`, `batch_norm_cpu_transform_input_template`,
/// inputs neither contiguous nor channels-last, f16/bf16 parameters): `invstd =
/// 1 / sqrt(var + eps)` as three tensor operations of the storage format `fmt` (ε converted
/// to it first) and `((x − μ)·invstd)·γ + β` on `c10::Half`/`c10::BFloat16` values: every
/// operation exact, rounded to `f32`, then to `fmt`. PyTorch converts its double ε, which
/// bnbound only knows rounded to `f32` (`e`): the outputs for ε rounded to `fmt` from `e`
/// and from the rationals `e·(1 ± 2⁻²⁵)`, within half an `f32` ulp of `e` on either side,
/// all three. `(g, b, m, v)` are values of `fmt`.
pub fn pytorch_fallback16(p: [f64; 5], x: f64, fmt: Format) -> Vec<f64> {
    let [g, b, m, v, e] = p;
    let rs = |y: V| round(&V::of(round(&y, F32)), fmt);
    let (two, one) = (BigInt::one() << 25usize, BigInt::one());
    let near = |s: i64| match V::of(e) {
        V::Fin(n, d) => V::Fin(n * (&two + s * &one), d * &two),
        other => other,
    };
    let mut out = Vec::new();
    for eps in [near(-1), V::of(e), near(1)] {
        let es = round(&eps, fmt);
        let q = rs(add(&V::of(v), &V::of(es)));
        // `at::sqrt` in f32, faithful (as the f32 kernel's MKL vsSqrt).
        for r in faithful_sqrt(q, F32) {
            let r = round(&V::of(r), fmt);
            let inv = round(&V::of(Arith(F32).div(1.0, r)), fmt);
            let t = rs(add(&V::of(x), &neg(&V::of(m))));
            let t = rs(mul(&V::of(t), &V::of(inv)));
            let t = rs(mul(&V::of(t), &V::of(g)));
            out.push(rs(add(&V::of(t), &V::of(b))));
        }
    }
    out
}

/// The flush-to-zero model (x86 MXCSR FTZ + DAZ, `torch.set_flush_denormal(True)`), as
/// sets of possible values in `fmt`, the rules explicit:
/// - DAZ: an operand that is subnormal in `fmt` (nonzero, `|x| < 2^emin`) may be read as
///   itself or as a zero of its sign, independently in each operation;
/// - FTZ: a correctly rounded result `y` with `0 < |y| ≤ 2^emin` may be returned as itself
///   or as a zero of its sign (x86 decides tininess after rounding with an unbounded
///   exponent, so a result that rounds to the least normal can still be flushed; allowing
///   both covers flags on, off and either tininess rule);
/// - `post` (a conversion to a storage format) never flushes.
///
/// Every operation is emulated exactly by [`Arith`] and the choices are enumerated.
pub struct Flush(pub Format);

impl Flush {
    fn min_normal(&self) -> f64 {
        2f64.powi(self.0.emin as i32)
    }

    fn put(out: &mut Vec<f64>, y: f64) {
        if !out.iter().any(|&z| z == y || (z.is_nan() && y.is_nan())) {
            out.push(y);
        }
    }

    /// Every value an operation may read for the operands `a`.
    pub fn reads(&self, a: &[f64]) -> Vec<f64> {
        let mut out = Vec::new();
        for &x in a {
            Self::put(&mut out, x);
            if x != 0.0 && x.abs() < self.min_normal() {
                Self::put(&mut out, 0.0);
            }
        }
        out
    }

    fn results(&self, out: &mut Vec<f64>, y: f64, post: &dyn Fn(f64) -> f64) {
        Self::put(out, post(y));
        if y != 0.0 && y.abs() <= self.min_normal() {
            Self::put(out, post(0.0));
        }
    }

    /// Every result of the exactly emulated `f` (one rounding in `fmt`) on `a`.
    pub fn op1(
        &self,
        a: &[f64],
        f: impl Fn(&Arith, f64) -> f64,
        post: &dyn Fn(f64) -> f64,
    ) -> Vec<f64> {
        let mut out = Vec::new();
        for x in self.reads(a) {
            self.results(&mut out, f(&Arith(self.0), x), post);
        }
        out
    }

    /// Every result of the exactly emulated `f` on `a`, `b`.
    pub fn op2(
        &self,
        a: &[f64],
        b: &[f64],
        f: impl Fn(&Arith, f64, f64) -> f64,
        post: &dyn Fn(f64) -> f64,
    ) -> Vec<f64> {
        let mut out = Vec::new();
        let rb = self.reads(b);
        for x in self.reads(a) {
            for &y in &rb {
                self.results(&mut out, f(&Arith(self.0), x, y), post);
            }
        }
        out
    }

    /// Every result of the fused `a·b + c`.
    pub fn fma(&self, a: &[f64], b: &[f64], c: &[f64]) -> Vec<f64> {
        let mut out = Vec::new();
        let (rb, rc) = (self.reads(b), self.reads(c));
        for x in self.reads(a) {
            for &y in &rb {
                for &z in &rc {
                    self.results(&mut out, Arith(self.0).fma(x, y, z), &|v| v);
                }
            }
        }
        out
    }
}

/// [`recipe_outputs`] under the flush model ([`Flush`]): every output at `x` with any
/// operand read as zero and any tiny result flushed (the ordinary outputs included).
pub fn recipe_outputs_flush(p: [f64; 5], x: f64, fmt: Format, fallback: bool) -> Vec<f64> {
    let fl = Flush(fmt);
    let id = |v: f64| v;
    let [g, b, m, v, e] = p;
    let q = fl.op2(&[v], &[e], |a, x, y| a.add(x, y), &id);
    let r = fl.op1(&q, |a, x| a.sqrt(x), &id);
    let inv = fl.op2(&[1.0], &r, |a, x, y| a.div(x, y), &id);
    let mut out = Vec::new();
    for alpha in fl.op2(&inv, &[g], |a, x, y| a.mul(x, y), &id) {
        let ma = fl.op2(&[m], &[alpha], |a, x, y| a.mul(x, y), &id);
        let mut betas = fl.op2(&[b], &ma, |a, x, y| a.sub(x, y), &id);
        betas.extend(fl.fma(&[-m], &[alpha], &[b]));
        let xa = fl.op2(&[x], &[alpha], |a, x, y| a.mul(x, y), &id);
        out.extend(fl.op2(&xa, &betas, |a, x, y| a.add(x, y), &id));
        out.extend(fl.fma(&[x], &[alpha], &betas));
    }
    if fallback {
        let d = fl.op2(&[x], &[m], |a, x, y| a.sub(x, y), &id);
        for q in fl.reads(&q) {
            for r in faithful_sqrt(q, fmt) {
                let inv = fl.op2(&[1.0], &[r], |a, x, y| a.div(x, y), &id);
                let t = fl.op2(&d, &inv, |a, x, y| a.mul(x, y), &id);
                let tg = fl.op2(&t, &[g], |a, x, y| a.mul(x, y), &id);
                out.extend(fl.op2(&tg, &[b], |a, x, y| a.add(x, y), &id));
                out.extend(fl.fma(&t, &[g], &[b]));
            }
        }
    }
    if !fallback && fmt == F32 {
        // ONNX Runtime's NCHWc convolution (see `recipe_outputs`).
        for s in fl.op2(&[g], &r, |a, x, y| a.div(x, y), &id) {
            let ms = fl.op2(&[m], &[s], |a, x, y| a.mul(x, y), &id);
            let bias = fl.op2(&[b], &ms, |a, x, y| a.sub(x, y), &id);
            let xs = fl.op2(&[x], &[s], |a, x, y| a.mul(x, y), &id);
            out.extend(fl.op2(&xs, &bias, |a, x, y| a.add(x, y), &id));
            out.extend(fl.fma(&[x], &[s], &bias));
        }
    }
    out
}

/// [`pytorch_fallback16`] under the flush model: the `f32` operations flush (bf16's
/// subnormals are `f32` subnormals; f16's are normal `f32` values), the conversions to
/// `fmt` do not.
pub fn pytorch_fallback16_flush(p: [f64; 5], x: f64, fmt: Format) -> Vec<f64> {
    let [g, b, m, v, e] = p;
    let fl = Flush(F32);
    let post = |y: f64| round(&V::of(y), fmt);
    let (two, one) = (BigInt::one() << 25usize, BigInt::one());
    let near = |s: i64| match V::of(e) {
        V::Fin(n, d) => V::Fin(n * (&two + s * &one), d * &two),
        other => other,
    };
    let mut out = Vec::new();
    for eps in [near(-1), V::of(e), near(1)] {
        let es = round(&eps, fmt);
        let q = fl.op2(&[v], &[es], |a, x, y| a.add(x, y), &post);
        for q in fl.reads(&q) {
            for r in faithful_sqrt(q, F32) {
                let r = round(&V::of(r), fmt);
                let inv = fl.op2(&[1.0], &[r], |a, x, y| a.div(x, y), &post);
                let t = fl.op2(&[x], &[m], |a, x, y| a.sub(x, y), &post);
                let t = fl.op2(&t, &inv, |a, x, y| a.mul(x, y), &post);
                let t = fl.op2(&t, &[g], |a, x, y| a.mul(x, y), &post);
                out.extend(fl.op2(&t, &[b], |a, x, y| a.add(x, y), &post));
            }
        }
    }
    out
}

/// ONNX Runtime's Conv→BatchNorm fusion (`conv_bn_fusion.cc`) for one output channel
/// `(γ, β, μ, σ², ε)`, emulated in `fmt`: the folded weights of `w` and the folded bias of
/// the conv bias `b`.
pub fn ort_fold(p: [f64; 5], w: &[f64], b: f64, fmt: Format) -> (Vec<f64>, f64) {
    let a = Arith(fmt);
    let [g, beta, m, v, e] = p;
    let s = a.div(g, a.sqrt(a.add(v, e)));
    let ws = w.iter().map(|&x| a.mul(x, s)).collect();
    (ws, a.add(a.mul(a.sub(b, m), s), beta))
}

/// The neighbour of `y` (a finite value of a format narrower than `f32`) in `fmt`,
/// upward or downward; `±∞` past the largest finite value.
fn step_small(y: f64, up: bool, fmt: Format) -> f64 {
    if y < 0.0 || (y == 0.0 && !up) {
        return -step_small(-y, !up, fmt);
    }
    // y ≥ 0 here, and up unless y > 0.
    let quantum = |e: i64| 2f64.powi((e.max(fmt.emin) - fmt.p as i64 + 1) as i32);
    let e = if y == 0.0 {
        fmt.emin
    } else {
        y.log2().floor() as i64
    };
    let r = if up {
        y + quantum(e)
    } else if y == 2f64.powi(e as i32) && e > fmt.emin {
        y - quantum(e - 1) // the binade below is twice as fine
    } else {
        y - quantum(e)
    };
    let max = (2.0 - 2f64.powi(1 - fmt.p as i32)) * 2f64.powi(fmt.emax as i32);
    if r > max {
        f64::INFINITY
    } else {
        r
    }
}

/// Outputs of every form `--runtime any` covers (the factored product in its six
/// associations, the expanded `x·α − μ·α + β` in three summation orders, with and without
/// FMA), each `√`, `1/√` and `÷` moved by a pseudo-random number of ulps in `[−K, K]` after
/// correct rounding (`seed` chooses them).
pub fn any_outputs(p: [f64; 5], x: f64, fmt: Format, k: u32, seed: u64) -> Vec<f64> {
    let a = Arith(fmt);
    let mut state = seed | 1;
    let mut off = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % (2 * k as u64 + 1)) as i64 - k as i64
    };
    // An overflowed (infinite) or NaN result stays so: K ulps are counted from a finite
    // correctly rounded value.
    let step = |v: f64, n: i64| -> f64 {
        if !v.is_finite() {
            return v;
        }
        let mut y = v;
        for _ in 0..n.unsigned_abs() {
            y = match (fmt.p, n > 0) {
                (24, true) => (y as f32).next_up() as f64,
                (24, false) => (y as f32).next_down() as f64,
                (53, true) => y.next_up(),
                (53, false) => y.next_down(),
                (_, up) => step_small(y, up, fmt),
            };
        }
        y
    };
    let mut kop = |v: f64| step(v, off());
    let [g, b, m, v, e] = p;
    let q = a.add(v, e);
    let r = kop(a.sqrt(q));
    let inv_div = kop(a.div(1.0, r));
    let inv_rsqrt = kop(a.div(1.0, a.sqrt(q))); // a K-ulp rsqrt of q
    let d = a.sub(x, m);
    let mut out = Vec::new();
    for inv in [inv_div, inv_rsqrt] {
        let prods = [
            a.mul(a.mul(g, d), inv),
            a.mul(a.mul(d, inv), g),
            a.mul(d, a.mul(g, inv)),
        ];
        for pr in prods {
            out.push(a.add(pr, b));
        }
        // The last product fused with + β.
        out.push(a.fma(a.mul(g, d), inv, b));
        out.push(a.fma(a.mul(d, inv), g, b));
        out.push(a.fma(d, a.mul(g, inv), b));
        let alpha = a.mul(g, inv);
        let (xa, ma) = (a.mul(x, alpha), a.mul(m, alpha));
        out.push(a.sub(a.add(xa, b), ma));
        out.push(a.add(xa, a.sub(b, ma)));
        out.push(a.add(a.sub(xa, ma), b));
        out.push(a.fma(x, alpha, a.fma(-m, alpha, b)));
    }
    let gd = a.mul(g, d);
    out.push(a.add(kop(a.div(gd, r)), b));
    out.push(a.add(a.mul(kop(a.div(g, r)), d), b));
    out.push(a.add(a.mul(kop(a.div(d, r)), g), b));
    let alpha = kop(a.div(g, r));
    out.push(a.add(a.mul(x, alpha), a.sub(b, a.mul(m, alpha))));
    out.push(a.fma(x, alpha, a.fma(-m, alpha, b)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `step_small` against the bit patterns of `half`: every finite f16 and bf16 value.
    #[test]
    fn small_format_steps_are_the_neighbouring_bit_patterns() {
        let to_f64 = [
            |b: u16| half::f16::from_bits(b).to_f64(),
            |b: u16| half::bf16::from_bits(b).to_f64(),
        ];
        for (fmt, value) in [F16, BF16].into_iter().zip(to_f64) {
            for b in 0u16..=u16::MAX {
                let y = value(b);
                if !y.is_finite() || b == 0x8000 {
                    continue; // −0 steps like +0
                }
                let up = value(if y >= 0.0 { b + 1 } else { b - 1 });
                let down = value(match () {
                    _ if y > 0.0 => b - 1,
                    _ if y == 0.0 => 0x8001,
                    _ => b + 1,
                });
                assert_eq!(step_small(y, true, fmt), up, "{y} up");
                assert_eq!(step_small(y, false, fmt), down, "{y} down");
            }
        }
    }

    #[test]
    fn rounding_agrees_with_the_hardware_on_representative_values() {
        for &(x, y) in &[
            (0.1, 3.0),
            (1.0, 3.0),
            (1e308, 10.0),
            (f64::MIN_POSITIVE, 0.5),
            (5e-324, 0.5),
            (5e-324, 1.5),
            (1.0 + f64::EPSILON, 1.0 - f64::EPSILON / 2.0),
        ] {
            assert_eq!(Arith(F64).mul(x, y), x * y, "{x:e}·{y:e}");
            assert_eq!(Arith(F64).add(x, y), x + y);
            assert_eq!(Arith(F64).div(x, y), x / y);
            assert_eq!(Arith(F64).sqrt(x), x.sqrt());
            assert_eq!(Arith(F64).fma(x, y, -x), x.mul_add(y, -x));
            let (a, b) = (x as f32 as f64, y as f32 as f64);
            let same = |u: f64, r: f32| u == r as f64 || (u.is_nan() && r.is_nan());
            assert!(same(Arith(F32).mul(a, b), a as f32 * b as f32));
            assert!(same(Arith(F32).add(a, b), a as f32 + b as f32));
            assert!(same(Arith(F32).sqrt(a), (a as f32).sqrt()));
            assert!(same(
                Arith(F32).fma(a, b, -a),
                (a as f32).mul_add(b as f32, -(a as f32))
            ));
        }
        // Ties to even and overflow.
        assert_eq!(round(&V::of(1.0 + f64::EPSILON / 2.0), F64), 1.0);
        assert_eq!(Arith(F64).mul(f64::MAX, 2.0), f64::INFINITY);
        assert_eq!(round(&V::of(65520.0), F16), f64::INFINITY);
        assert_eq!(round(&V::of(65519.0), F16), 65504.0);
        assert!(Arith(F64).mul(0.0, f64::INFINITY).is_nan());
    }
}
