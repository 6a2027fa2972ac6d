//! The caller's floating-point environment cannot change a bound.
//!
//! Each public entry point runs with the test thread's MXCSR set to a hostile value —
//! flush-to-zero and denormals-are-zero (what `torch.set_flush_denormal(True)` and
//! `-ffast-math` libraries set), directed rounding modes, an unmasked invalid-operation
//! exception — and must (1) give bit for bit the bounds it gives under the default
//! environment, which the other property tests check against the exact oracle, (2) give
//! bounds the exact oracle finds sound, and (3) leave MXCSR exactly as the caller set it,
//! on success and on error. Everything but the call itself runs under the default
//! environment (the oracle's own conversions would flush subnormals too).
#![cfg(target_arch = "x86_64")]
#![allow(clippy::needless_range_loop)]

use bnbound::{
    AffineForm, BatchNorm, BoxView, Error, Float, Kernel, Mode, Runtime, Semantics, Shape,
    TensorBox,
};
use bnbound_testkit::{check_element, hard_f32, hard_f64, shaped_case, shaped_form, shaped_layer};
use proptest::prelude::*;

fn get_csr() -> u32 {
    let mut csr = 0u32;
    // SAFETY: stores MXCSR into a live local.
    unsafe { std::arch::asm!("stmxcsr dword ptr [{p}]", p = in(reg) &mut csr, options(nostack)) };
    csr
}

fn set_csr(csr: u32) {
    // SAFETY: loads MXCSR from a live local holding a valid value (no reserved bit).
    unsafe { std::arch::asm!("ldmxcsr dword ptr [{p}]", p = in(reg) &csr, options(nostack)) };
}

const FTZ: u32 = 1 << 15;
const DAZ: u32 = 1 << 6;
const DEFAULT: u32 = 0x1F80;

/// Hostile environments: name and MXCSR.
const HOSTILE: [(&str, u32); 6] = [
    ("ftz+daz", DEFAULT | FTZ | DAZ),
    ("ftz", DEFAULT | FTZ),
    ("daz+round-up", DEFAULT | DAZ | (2 << 13)),
    ("round-down", DEFAULT | (1 << 13)),
    ("round-to-zero+ftz+daz", DEFAULT | (3 << 13) | FTZ | DAZ),
    ("invalid unmasked", DEFAULT & !(1 << 7)),
];

/// Runs `f` with MXCSR = `csr` and returns its result; asserts MXCSR is `csr` afterwards
/// (status flags included: the library restores the caller's whole register).
fn under<R>(name: &str, csr: u32, f: impl FnOnce() -> R) -> R {
    let before = get_csr();
    set_csr(csr);
    let r = std::hint::black_box(f());
    let after = get_csr();
    set_csr(before);
    assert_eq!(
        after, csr,
        "{name}: MXCSR changed from {csr:#x} to {after:#x}"
    );
    r
}

fn bits<T: Float>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64_exact()).collect()
}

/// f32 γ = 10⁻⁴⁰ (subnormal), β = ½, box [1, ∞): the image is [½ + 10⁻⁴⁰, ∞); a kernel
/// computing under FTZ/DAZ would answer [½, ½].
#[test]
fn subnormal_gamma_under_ftz_daz() {
    let bn = BatchNorm::new(vec![1e-40f32], vec![0.5], vec![0.0], vec![1.0], 0.0).unwrap();
    let x = TensorBox::new(
        Shape::new(&[1, 1, 9]).unwrap(),
        vec![1.0f32; 9],
        vec![f32::INFINITY; 9],
    )
    .unwrap();
    let ch = bnbound_testkit::Ch {
        g: 1e-40f32 as f64,
        b: 0.5,
        m: 0.0,
        v: 1.0,
        e: 0.0,
    };
    for (name, csr) in HOSTILE {
        for k in Kernel::ALL {
            let y = under(name, csr, || bn.enclose().with_kernel(k).ibp(&x).unwrap());
            for i in 0..9 {
                let (l, h) = (y.lo()[i] as f64, y.hi()[i] as f64);
                check_element(ch, 1.0, f64::INFINITY, l, h)
                    .unwrap_or_else(|e| panic!("{name}, {k:?}: {e}"));
            }
        }
    }
}

/// Errors leave the caller's environment as it was, and are the same errors.
#[test]
fn errors_restore_the_environment() {
    for (name, csr) in HOSTILE {
        let e = under(name, csr, || {
            BatchNorm::new(vec![f32::NAN], vec![0.0], vec![0.0], vec![1.0], 0.0).unwrap_err()
        });
        assert!(matches!(e, Error::NonFiniteParam { .. }), "{name}: {e}");
        // A subnormal variance is positive: DAZ must not turn it into a zero denominator.
        let bn = under(name, csr, || {
            BatchNorm::new(vec![1.0f32], vec![0.0], vec![0.0], vec![1e-45], 0.0)
        });
        assert!(bn.is_ok(), "{name}: {bn:?}");
        let bn = bn.unwrap();
        let x = TensorBox::new(Shape::new(&[2]).unwrap(), vec![0.0f32; 2], vec![1.0; 2]).unwrap();
        let e = under(name, csr, || bn.enclose().ibp(&x).unwrap_err());
        assert!(matches!(e, Error::ChannelMismatch { .. }), "{name}: {e}");
        // lo > hi by a subnormal: DAZ would read both as 0 and accept the box.
        let e = under(name, csr, || {
            TensorBox::new(
                Shape::new(&[1]).unwrap(),
                vec![f32::from_bits(2)],
                vec![f32::from_bits(1)],
            )
            .unwrap_err()
        });
        assert!(matches!(e, Error::InvertedBound { .. }), "{name}: {e}");
    }
}

/// Every operation of a random hard layer: the hostile environments give bit for bit the
/// default environment's results (which the other property tests check exactly), and the
/// IBP results are checked against the exact oracle here too.
fn run_case<T: Float>(case: &bnbound_testkit::ShapedCase<T>) {
    let (bn, chs) = shaped_layer(case);
    let other = case.other;
    let sample: Vec<usize> = case.sample.clone();
    let per: usize = sample.iter().product();
    let cols = per;
    // A box of `other` samples of the per-sample shape, from the same entries.
    let mut dims = vec![other];
    dims.extend(&sample);
    let n = other * per;
    let (lo, hi) = bnbound_testkit::intervals(&case.entries[..n], true);
    let shape = Shape::new(&dims).unwrap();
    let xbox = TensorBox::new(shape, lo.clone(), hi.clone()).unwrap();
    let form = shaped_form(case, other, cols);
    let inner = shape.inner().max(1);
    let deployed = [
        Runtime::PytorchCpu,
        Runtime::OnnxruntimeCpu,
        Runtime::Any { ulps: 2 },
    ];
    type Run = Vec<Option<Vec<f64>>>;
    let all = |k: Kernel| -> Run {
        let enc = bn.enclose().with_kernel(k);
        let mut out: Run = Vec::new();
        let flat = |r: bnbound::Result<TensorBox<T>>| {
            r.ok().map(|b| {
                let mut v = bits(b.lo());
                v.extend(bits(b.hi()));
                v
            })
        };
        let form_bits = |r: bnbound::Result<AffineForm<T>>| {
            r.ok().map(|f| {
                let mut v = bits(f.a().lo());
                v.extend(bits(f.a().hi()));
                v.extend(bits(f.c().lo()));
                v.extend(bits(f.c().hi()));
                v
            })
        };
        out.push(flat(enc.ibp(&xbox)));
        let (mut a, mut b) = (vec![T::zero(); n], vec![T::zero(); n]);
        let view = BoxView::new(shape, &lo, &hi).unwrap();
        out.push(enc.ibp_into(&view, &mut a, &mut b).ok().map(|_| {
            let mut v = bits(&a);
            v.extend(bits(&b));
            v
        }));
        out.push(flat(enc.derivative_chain(&xbox)));
        out.push(form_bits(enc.compose_shaped(&form, &sample)));
        out.push(form_bits(enc.backward_shaped(&form, &sample)));
        for rt in deployed {
            out.push(flat(
                bn.bounds(Mode::Fast, Semantics::Deployed(rt))
                    .and_then(|b| b.ibp(&xbox)),
            ));
            out.push(flat(bn.deployed(rt).derivative_chain(&xbox)));
        }
        // The verdict's count, carried as bits (an integer-to-float conversion would
        // itself round by the test thread's mode).
        out.push(
            bn.checker()
                .ibp(&xbox, &enc.ibp(&xbox).unwrap())
                .ok()
                .map(|r| vec![f64::from_bits(r.unsound as u64)]),
        );
        out
    };
    let kernels = Kernel::ALL;
    for k in kernels {
        let reference = all(k);
        // The oracle on the default environment's IBP.
        if let Some(v) = &reference[0] {
            for i in 0..n {
                let c = (i / inner) % chs.len();
                check_element(
                    chs[c],
                    lo[i].to_f64_exact(),
                    hi[i].to_f64_exact(),
                    v[i],
                    v[n + i],
                )
                .unwrap_or_else(|e| panic!("default env, {k:?}, element {i}: {e}"));
            }
        }
        for (name, csr) in HOSTILE {
            let got = under(name, csr, || all(k));
            for (j, (g, r)) in got.iter().zip(&reference).enumerate() {
                let same = match (g, r) {
                    (Some(g), Some(r)) => {
                        g.len() == r.len()
                            && g.iter().zip(r).all(|(a, b)| a.to_bits() == b.to_bits())
                    }
                    (None, None) => true,
                    _ => false,
                };
                assert!(
                    same,
                    "{name}, {k:?}: operation {j} differs from the default env: {g:?} vs {r:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn hostile_env_f32(case in shaped_case(hard_f32())) {
        run_case(&case);
    }

    #[test]
    fn hostile_env_f64(case in shaped_case(hard_f64())) {
        run_case(&case);
    }
}
