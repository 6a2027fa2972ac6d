//! How tight f32 IBP bounds are, measured against the rational oracle: the README's claim
//! is that every f32 bound is the tightest f32 bound or one f32 step outside it, except
//! where cancellation leaves an output much smaller than its terms
//! (`|y| < 2⁻²⁴·(|s·x| + |o|)`), where the f64 computation's absolute error dominates.

use bnbound::{BatchNorm, Kernel, Shape, TensorBox};
use bnbound_testkit::{cmp_output, Ch};
use std::cmp::Ordering;

/// A small deterministic generator (xorshift64*), so the measured figures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f32 {
        (lo + (hi - lo) * self.unit()) as f32
    }
}

/// Whether the lower bound `yl` of the exact `y(x)` is within one f32 step of the tightest
/// f32 lower bound: two steps inward must already be above the exact value.
fn lower_within_one_step(ch: Ch, x: f64, yl: f32) -> bool {
    let two_in = yl.next_up().next_up();
    !two_in.is_finite() || cmp_output(ch, x, two_in as f64) == Ordering::Greater
}

/// Whether `yl` is the tightest f32 lower bound: one step inward is above the exact value.
fn lower_tightest(ch: Ch, x: f64, yl: f32) -> bool {
    let in1 = yl.next_up();
    !in1.is_finite() || cmp_output(ch, x, in1 as f64) == Ordering::Greater
}

fn upper_tightest(ch: Ch, x: f64, yh: f32) -> bool {
    let in1 = yh.next_down();
    !in1.is_finite() || cmp_output(ch, x, in1 as f64) == Ordering::Less
}

fn upper_within_one_step(ch: Ch, x: f64, yh: f32) -> bool {
    let two_in = yh.next_down().next_down();
    !two_in.is_finite() || cmp_output(ch, x, two_in as f64) == Ordering::Less
}

#[test]
fn f32_bounds_are_within_one_step_of_the_tightest() {
    let mut rng = Rng(0x5eed_0f32);
    let (mut bounds, mut one_step, mut cancelled, mut cancelled_ok) = (0usize, 0, 0, 0);
    // Per kernel (`Kernel::ALL` order): bounds outside heavy cancellation that are the
    // tightest f32 bound.
    let mut tightest = [0usize; 3];
    for layer in 0..400 {
        // PyTorch-like parameters, with a share of negative and tiny γ and tiny variances.
        let g = rng.range(-2.0, 2.0) * if layer % 7 == 0 { 1e-3 } else { 1.0 };
        let b = rng.range(-1.0, 1.0);
        let m = rng.range(-1.0, 1.0);
        let v = rng.range(0.0, 3.0) * if layer % 5 == 0 { 1e-6 } else { 1.0 };
        let e = 1e-5f32;
        let bn = BatchNorm::new(vec![g], vec![b], vec![m], vec![v], e).unwrap();
        let enc = bn.enclose();
        let (s, o) = (enc.channel(0).scale().hi(), enc.channel(0).offset().hi());
        // Points: random, and the cancellation point x ≈ μ − β/s where y ≈ 0.
        let mut xs: Vec<f32> = (0..30).map(|_| rng.range(-4.0, 4.0)).collect();
        let zero = (m as f64 - b as f64 / s) as f32;
        xs.extend([zero, zero.next_up(), zero.next_down()]);
        let n = xs.len();
        let input =
            TensorBox::new(Shape::new(&[1, 1, n]).unwrap(), xs.clone(), xs.clone()).unwrap();
        let ch = Ch {
            g: g as f64,
            b: b as f64,
            m: m as f64,
            v: v as f64,
            e: e as f64,
        };
        for (kind, kernel) in Kernel::ALL.into_iter().enumerate() {
            let out = enc.clone().with_kernel(kernel).ibp(&input).unwrap();
            for (i, &x) in xs.iter().enumerate() {
                let x = x as f64;
                let terms = (s * x).abs() + o.abs();
                let (yl, yh) = (out.lo()[i], out.hi()[i]);
                let small = (yl as f64).abs().max((yh as f64).abs()) < terms * 2f64.powi(-24);
                if !small {
                    tightest[kind] += lower_tightest(ch, x, yl) as usize;
                    tightest[kind] += upper_tightest(ch, x, yh) as usize;
                }
                for ok in [
                    lower_within_one_step(ch, x, yl),
                    upper_within_one_step(ch, x, yh),
                ] {
                    bounds += 1;
                    if small {
                        cancelled += 1;
                        cancelled_ok += ok as usize;
                    } else {
                        assert!(
                            ok,
                            "layer {layer}, x = {x}: [{yl}, {yh}] is more than one step loose"
                        );
                        one_step += 1;
                    }
                }
            }
        }
    }
    println!(
        "f32 IBP: {one_step} of {} bounds outside heavy cancellation are within one step \
         of the tightest; under heavy cancellation {cancelled_ok} of {cancelled}",
        bounds - cancelled
    );
    for (kind, kernel) in Kernel::ALL.into_iter().enumerate() {
        println!(
            "  {:?} ({}): {} of {} bounds outside heavy cancellation are the tightest",
            kernel,
            kernel.resolved(),
            tightest[kind],
            (bounds - cancelled) / Kernel::ALL.len()
        );
    }
    assert!(
        one_step > 20_000 && cancelled > 100,
        "the sample reaches both regimes"
    );
}
