//! The kernels' vector operations and loops against exact rationals (x86-64): AVX-512's
//! embedded rounding and the MXCSR loops give the tightest bounds and leave the caller's
//! MXCSR as it was.

use crate::num::round::tests::{finite_probes, q};

/// `r` is the largest `f64` `≤ e` (over the extended reals: `−∞` only below `−MAX`, `MAX`
/// at or above it).
fn is_down(r: f64, e: &num_rational::BigRational) -> bool {
    match r {
        f64::NEG_INFINITY => *e < q(-f64::MAX),
        f64::MAX => *e >= q(f64::MAX),
        _ if r.is_finite() => q(r) <= *e && *e < q(r.next_up()),
        _ => false,
    }
}

/// `r` is the largest `f32` `≤ e`.
fn is_down32(r: f32, e: &num_rational::BigRational) -> bool {
    match r {
        f32::NEG_INFINITY => *e < q(-f32::MAX as f64),
        f32::MAX => *e >= q(f32::MAX as f64),
        _ if r.is_finite() => q(r as f64) <= *e && *e < q(r.next_up() as f64),
        _ => false,
    }
}

/// AVX-512's embedded rounding, checked exactly: on values around every binade boundary,
/// subnormals and `±MAX`, and on pseudo-random triples, `fma_down`, `mul_down` and
/// `add_down` return the largest `f64` not above the exact rational result, the `_up`
/// functions the smallest not below, and `store_down`/`store_up` narrow to the largest and
/// smallest `f32` on their side. Runs where the CPU has AVX-512 (the kernels use these
/// functions nowhere else).
#[cfg(target_arch = "x86_64")]
mod avx512_exact {
    #![allow(unsafe_code)]
    use super::finite_probes;
    use super::{is_down, is_down32, q};
    use crate::kernel::avx512::round::{self as avx512, Avx512, F64x8};

    /// All results for one chunk of eight triples, as `[fma, mul, add]` down and up, plus
    /// the `f32` narrowing of the operand `a` down and up.
    #[target_feature(enable = "avx512f,avx512vl,avx512dq")]
    fn eval(a: &[f64], b: &[f64], c: &[f64]) -> ([[f64; 8]; 6], [[f32; 8]; 2]) {
        let (va, vb, vc): (F64x8, F64x8, F64x8) =
            (avx512::load(a), avx512::load(b), avx512::load(c));
        let l = avx512::lanes;
        let f = [
            l(avx512::fma_down(va, vb, vc)),
            l(avx512::mul_down(va, vb)),
            l(avx512::add_down(va, vc)),
            l(avx512::fma_up(va, vb, vc)),
            l(avx512::mul_up(va, vb)),
            l(avx512::add_up(va, vc)),
        ];
        let (mut d, mut u) = ([0f32; 8], [0f32; 8]);
        avx512::store_down(va, &mut d);
        avx512::store_up(va, &mut u);
        (f, [d, u])
    }

    #[test]
    fn embedded_rounding_is_the_tightest() {
        let Some(_proof) = Avx512::detect() else {
            println!("no AVX-512 on this CPU: the AVX-512 path is never taken here");
            return;
        };
        let mut pick = finite_probes(0x9e37_79b9_7f4a_7c15);
        let n = 24_000;
        let mut draw = || (0..n).map(|_| pick()).collect::<Vec<f64>>();
        let (a, b, c) = (draw(), draw(), draw());
        for k in (0..n).step_by(8) {
            let r = k..k + 8;
            // SAFETY: `eval` needs AVX-512F, VL and DQ; `Avx512::detect` found those (and AVX2
            // and FMA, which `eval` does not use) on this CPU.
            let (f, [d, u]) = unsafe { eval(&a[r.clone()], &b[r.clone()], &c[r]) };
            for j in 0..8 {
                let (x, y, z) = (q(a[k + j]), q(b[k + j]), q(c[k + j]));
                let exact = [&x * &y + &z, &x * &y, &x + &z];
                for (op, e) in exact.iter().enumerate() {
                    let (lo, hi) = (f[op][j], f[op + 3][j]);
                    assert!(
                        is_down(lo, e),
                        "op {op} down: {:e} {:e} {:e} -> {lo:e}",
                        a[k + j],
                        b[k + j],
                        c[k + j]
                    );
                    assert!(
                        is_down(-hi, &-e),
                        "op {op} up: {:e} {:e} {:e} -> {hi:e}",
                        a[k + j],
                        b[k + j],
                        c[k + j]
                    );
                }
                assert!(
                    is_down32(d[j], &x),
                    "f32 down of {:e}: {:e}",
                    a[k + j],
                    d[j]
                );
                assert!(
                    is_down32(-u[j], &-&x),
                    "f32 up of {:e}: {:e}",
                    a[k + j],
                    u[j]
                );
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod mxcsr_exact {
    #![allow(unsafe_code)]
    use super::finite_probes;
    use super::{is_down as is_down64, is_down32, q};
    use crate::kernel::mxcsr::{self, Avx2Fma};

    fn read_mxcsr() -> u32 {
        let mut v = 0u32;
        // SAFETY: `stmxcsr` (SSE, part of x86-64) writes 4 bytes to `v`, nothing else.
        unsafe { core::arch::asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack)) };
        v
    }

    /// One channel's parameters: `s̲ ≤ s̄` nonzero finite of one sign, `o̲ ≤ ō` finite.
    fn params(pick: &mut impl FnMut() -> f64, negative: bool) -> [f64; 4] {
        let mut s = || loop {
            let v = pick().abs();
            if v != 0.0 {
                return if negative { -v } else { v };
            }
        };
        let (a, b) = (s(), s());
        let (c, d) = (pick(), pick());
        [a.min(b), a.max(b), c.min(d), c.max(d)]
    }

    /// The block loop under MXCSR's rounding gives, in both precisions, the tightest bounds
    /// of the exact `ŝ·x + o` (against exact rationals, on binade-boundary, subnormal and
    /// `±MAX` values, both scale signs, overflow included), covers exactly the 4-lane prefix,
    /// and leaves the caller's MXCSR as it was.
    #[test]
    fn block_bounds_are_the_tightest() {
        let Some(proof) = Avx2Fma::detect() else {
            println!("no AVX2+FMA on this CPU: the MXCSR path is never taken here");
            return;
        };
        let before = read_mxcsr();
        let mut pick = finite_probes(0x2545_f491_4f6c_dd1d);
        let mut pick32 = finite_probes(0x9e37_79b9_7f4a_7c15);
        let mut f32_pick = move || loop {
            let v = pick32() as f32;
            if v.is_finite() {
                return v;
            }
        };
        let mut checked = 0usize;
        for round in 0..600 {
            let p = params(&mut pick, round % 2 == 1);
            let n = 4 * (1 + round % 5) + round % 4; // prefix of 4..20 plus a tail of 0..3
            let exact = |x: f64, lower: bool| {
                let s = if (x.is_sign_negative()) == lower {
                    p[1]
                } else {
                    p[0]
                };
                q(s) * q(x) + q(if lower { p[2] } else { p[3] })
            };
            // f64
            let (lo, hi): (Vec<f64>, Vec<f64>) = (0..n).map(|_| (pick(), pick())).unzip();
            let (mut yl, mut yh) = (vec![7.0f64; n], vec![7.0f64; n]);
            let done = mxcsr::block(proof, p, &lo, &hi, &mut yl, &mut yh);
            assert_eq!(done, n / 4 * 4);
            for i in 0..n {
                if i < done {
                    assert!(
                        is_down64(yl[i], &exact(lo[i], true)),
                        "{p:?} x={:e} -> {:e}",
                        lo[i],
                        yl[i]
                    );
                    assert!(
                        is_down64(-yh[i], &-exact(hi[i], false)),
                        "{p:?} x={:e} -> {:e}",
                        hi[i],
                        yh[i]
                    );
                    checked += 2;
                } else {
                    assert_eq!((yl[i], yh[i]), (7.0, 7.0), "tail written");
                }
            }
            // f32
            let (lo, hi): (Vec<f32>, Vec<f32>) = (0..n).map(|_| (f32_pick(), f32_pick())).unzip();
            let (mut yl, mut yh) = (vec![7.0f32; n], vec![7.0f32; n]);
            let done = mxcsr::block(proof, p, &lo, &hi, &mut yl, &mut yh);
            assert_eq!(done, n / 4 * 4);
            for i in 0..n {
                if i < done {
                    let (l, h) = (lo[i] as f64, hi[i] as f64);
                    assert!(
                        is_down32(yl[i], &exact(l, true)),
                        "{p:?} x={l:e} -> {:e}",
                        yl[i]
                    );
                    assert!(
                        is_down32(-yh[i], &-exact(h, false)),
                        "{p:?} x={h:e} -> {:e}",
                        yh[i]
                    );
                    checked += 2;
                } else {
                    assert_eq!((yl[i], yh[i]), (7.0, 7.0), "tail written");
                }
            }
        }
        // Control bits (rounding, masks, FTZ, DAZ); the sticky flags (bits 0–5) are also set
        // by this test's own float code between the two reads.
        let control = |m: u32| m & !0x3F;
        assert_eq!(control(read_mxcsr()), control(before), "MXCSR changed");
        assert_eq!(control(before), 0x1F80, "not the default environment");
        assert!(checked > 10_000);
    }

    /// The row loop, with offsets (IBP) and without (the scaling map): per-channel
    /// parameters of both signs (and the placeholder `s = 1`, `o = 0`), the ends swapped for a negative scale, against exact rationals in both
    /// precisions, only the 4-lane prefix written, MXCSR's controls unchanged.
    #[test]
    fn row_bounds_are_the_tightest() {
        let Some(proof) = Avx2Fma::detect() else {
            println!("no AVX2+FMA on this CPU: the MXCSR path is never taken here");
            return;
        };
        let before = read_mxcsr() & !0x3F;
        let mut pick = finite_probes(0x5851_f42d_4c95_7f2d);
        let mut checked = 0usize;
        for round in 0..600 {
            // Even rounds: IBP (`s·x + o`); odd rounds: the scaling map (`s·x`).
            let offset = round % 2 == 0;
            let n = 4 * (1 + round % 6) + round / 2 % 4;
            let ps: Vec<[f64; 4]> = (0..n)
                .map(|j| match (round + j) % 5 {
                    0 => [1.0, 1.0, 0.0, 0.0],
                    k => params(&mut pick, k % 2 == 0),
                })
                .collect();
            let col = |k: usize| ps.iter().map(|p| p[k]).collect::<Vec<f64>>();
            let (sl, sh, ol, oh) = (col(0), col(1), col(2), col(3));
            let p = [&sl[..], &sh[..], &ol[..], &oh[..]];
            // The exact bound of channel j at input end x.
            let exact = |j: usize, x: f64, lower: bool| {
                let s = if x.is_sign_negative() == lower {
                    ps[j][1]
                } else {
                    ps[j][0]
                };
                let o = if lower { ps[j][2] } else { ps[j][3] };
                q(s) * q(x) + q(if offset { o } else { 0.0 })
            };
            let (l, h): (Vec<f64>, Vec<f64>) = (0..n)
                .map(|_| {
                    let (a, b) = (pick(), pick());
                    (a.min(b), a.max(b))
                })
                .unzip();
            // The ends each bound is taken from: swapped where the scale is negative.
            let ends = |j: usize, l: f64, h: f64| if ps[j][1] < 0.0 { (h, l) } else { (l, h) };
            let (mut yl, mut yh) = (vec![7.0f64; n], vec![7.0f64; n]);
            let done = if offset {
                mxcsr::row::<_, true>(proof, p, &l, &h, &mut yl, &mut yh)
            } else {
                mxcsr::row::<_, false>(proof, p, &l, &h, &mut yl, &mut yh)
            };
            assert_eq!(done, n / 4 * 4);
            for j in 0..n {
                if j < done {
                    let (a, b) = ends(j, l[j], h[j]);
                    assert!(
                        is_down64(yl[j], &exact(j, a, true)),
                        "{:?} {a:e} -> {:e}",
                        ps[j],
                        yl[j]
                    );
                    assert!(
                        is_down64(-yh[j], &-exact(j, b, false)),
                        "{:?} {b:e} -> {:e}",
                        ps[j],
                        yh[j]
                    );
                    checked += 2;
                } else {
                    assert_eq!((yl[j], yh[j]), (7.0, 7.0), "tail written");
                }
            }
            let (l32, h32): (Vec<f32>, Vec<f32>) = l
                .iter()
                .zip(&h)
                .map(|(&a, &b)| {
                    (
                        f32_down_finite(a),
                        f32_down_finite(b).max(f32_down_finite(a)),
                    )
                })
                .unzip();
            let (mut yl, mut yh) = (vec![7.0f32; n], vec![7.0f32; n]);
            let done = if offset {
                mxcsr::row::<_, true>(proof, p, &l32, &h32, &mut yl, &mut yh)
            } else {
                mxcsr::row::<_, false>(proof, p, &l32, &h32, &mut yl, &mut yh)
            };
            assert_eq!(done, n / 4 * 4);
            for j in 0..n {
                if j < done {
                    let (a, b) = ends(j, l32[j] as f64, h32[j] as f64);
                    assert!(
                        is_down32(yl[j], &exact(j, a, true)),
                        "{:?} {a:e} -> {:e}",
                        ps[j],
                        yl[j]
                    );
                    assert!(
                        is_down32(-yh[j], &-exact(j, b, false)),
                        "{:?} {b:e} -> {:e}",
                        ps[j],
                        yh[j]
                    );
                    checked += 2;
                } else {
                    assert_eq!((yl[j], yh[j]), (7.0, 7.0), "tail written");
                }
            }
        }
        assert_eq!(read_mxcsr() & !0x3F, before, "MXCSR changed");
        assert!(checked > 5_000);
    }

    /// A finite `f32` near `x` (clamped to `±MAX`).
    fn f32_down_finite(x: f64) -> f32 {
        (x as f32).clamp(-f32::MAX, f32::MAX)
    }

    /// The dot loop's four partial sums bound the exact minimum and maximum of
    /// `Σ Λ_j·q_j` over the intervals (exact rationals; `q` of both signs and the `[0, 0]`
    /// placeholder; sums that overflow), a single term per lane is the tightest bound, and
    /// MXCSR's controls are unchanged.
    #[test]
    fn dot_sums_bound_the_exact_extremes() {
        let Some(proof) = Avx2Fma::detect() else {
            println!("no AVX2+FMA on this CPU: the MXCSR path is never taken here");
            return;
        };
        let before = read_mxcsr() & !0x3F;
        let mut pick = finite_probes(0x0123_4567_89ab_cdef);
        let zero = || q(0.0);
        for round in 0..400 {
            let n = if round % 4 == 0 {
                4
            } else {
                4 * (1 + round % 7) + round % 3
            };
            let qs: Vec<(f64, f64)> = (0..n)
                .map(|j| match (round + j) % 5 {
                    0 => (0.0, 0.0),
                    k => {
                        let p = params(&mut pick, k % 2 == 0);
                        (p[0], p[1])
                    }
                })
                .collect();
            let lam: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    let (a, b) = (pick(), pick());
                    (a.min(b), a.max(b))
                })
                .collect();
            let (ql, qh): (Vec<f64>, Vec<f64>) = qs.iter().copied().unzip();
            let check = |lo: &[f64], hi: &[f64], (sl, sh): ([f64; 4], [f64; 4])| {
                for k in 0..4 {
                    let (mut min, mut max) = (zero(), zero());
                    for j in (k..n / 4 * 4).step_by(4) {
                        let c = [
                            q(lo[j]) * q(ql[j]),
                            q(lo[j]) * q(qh[j]),
                            q(hi[j]) * q(ql[j]),
                            q(hi[j]) * q(qh[j]),
                        ];
                        min += c.iter().min().unwrap();
                        max += c.iter().max().unwrap();
                    }
                    let ok_lo =
                        sl[k] == f64::NEG_INFINITY || (sl[k].is_finite() && q(sl[k]) <= min);
                    let ok_hi = sh[k] == f64::INFINITY || (sh[k].is_finite() && q(sh[k]) >= max);
                    assert!(ok_lo && ok_hi, "lane {k}: [{:e}, {:e}]", sl[k], sh[k]);
                    if n == 4 {
                        // One term: RD and RU of the exact extremes.
                        assert!(is_down64(sl[k], &min), "lane {k}: {:e}", sl[k]);
                        assert!(is_down64(-sh[k], &-max), "lane {k}: {:e}", sh[k]);
                    }
                }
            };
            let (lo, hi): (Vec<f64>, Vec<f64>) = lam.iter().copied().unzip();
            check(&lo, &hi, mxcsr::dot(proof, [&ql, &qh], &lo, &hi));
            let (lo32, hi32): (Vec<f32>, Vec<f32>) = lam
                .iter()
                .map(|&(a, b)| {
                    (
                        f32_down_finite(a),
                        f32_down_finite(b).max(f32_down_finite(a)),
                    )
                })
                .unzip();
            let (l64, h64): (Vec<f64>, Vec<f64>) = lo32
                .iter()
                .zip(&hi32)
                .map(|(&a, &b)| (a as f64, b as f64))
                .unzip();
            check(&l64, &h64, mxcsr::dot(proof, [&ql, &qh], &lo32, &hi32));
        }
        assert_eq!(read_mxcsr() & !0x3F, before, "MXCSR changed");
    }
}
