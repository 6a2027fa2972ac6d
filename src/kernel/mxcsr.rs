//! Directed rounding in hardware without AVX-512: the rounding control of MXCSR, set and
//! restored inside one `asm!` block (x86-64 with AVX2 and FMA, detected at run time).
//!
//! Rust (like LLVM) assumes the default floating-point environment everywhere it compiles
//! floating-point code, so the rounding mode may not be changed around ordinary Rust code
//! (`_mm_setcsr` is deprecated for that reason). Here the whole loop is one `asm!` block:
//! it saves MXCSR, loads `0x3F80` — every exception masked, flush-to-zero and
//! denormals-are-zero *off*, rounding toward `−∞` — runs, and restores the saved value
//! (exception flags included) before it ends. No Rust or LLVM code ever runs under the
//! changed mode, and the caller's environment is unchanged afterwards.
//!
//! Under that mode, for four lanes at a time:
//!
//! * `vfmadd` gives `RD(ŝ·x + o̲)`, the largest `f64 ≤ ŝ·x + o̲`, in one rounding;
//! * `vcvtpd2ps` narrows rounding toward `−∞` too, and `RD₃₂(RD₆₄(w)) = RD₃₂(w)` (every `f32`
//!   is an `f64`; see `super::avx512::round`), so an `f32` bound is the tightest of `ŝ·x + o̲`;
//! * the upper bound is the mirror `−RD(−ŝ'·x − ō) = RU(ŝ'·x + ō)` (a sign flip is exact),
//!   so both sides are the tightest bounds in `T`, bit for bit what the AVX-512 path gives.
//!
//! The scale endpoint is chosen per lane from the sign bit of `x` (`vblendvpd`): `s̲` where
//! `x ≥ 0`, `s̄` where the sign bit is set (at `x = −0` either end gives the exact `0`).
//! Overflow rounds as the direction says (`RD(w) = MAX` for `MAX < w < ∞`); infinite `x`
//! gives the exact infinite result. Callers guarantee no NaN, no `0·∞` and no `∞ − ∞`
//! (finite nonzero scale endpoints, finite offsets: [`super::lanes::is_fast`]).
//!
//! These loops are the vector forms of [`crate::num::round`]'s rules: [`block`] and [`row`]
//! of the kernels' lower bound `below_nearest(lane_fma_for_below(ŝ, x, o̲))`
//! ([`crate::num::round::lane_fma_for_below`], with `LaneRound::below_nearest` narrowing)
//! and of its mirror for the upper bound; [`dot`] of the partial sums
//! `lane_below(lane_fma_for_below(q, a, acc))` ([`crate::num::round::lane_below`]). Each
//! rounds once toward `−∞` where the scalar rule rounds to nearest and steps outward: the
//! tightest bound, never looser than the rule's.
#![allow(unsafe_code)]

use crate::num::float::{Dtype, Float};
use core::arch::asm;

/// MXCSR while a loop runs: exceptions masked (`0x1F80`), rounding toward `−∞` (`RC = 01`,
/// bit 13), FTZ and DAZ clear whatever the caller had.
const MXCSR_DOWN: u32 = 0x1F80 | (1 << 13);

/// The scratch words every loop reads through `{aux}`: `[saved MXCSR, MXCSR_DOWN]`, then
/// the `f64` sign bit (bytes 8..16, little-endian), whose high half (bytes 12..16) is the
/// `f32` sign bit.
fn aux() -> [u32; 4] {
    [0, MXCSR_DOWN, 0, 0x8000_0000]
}

/// One `asm!` loop under rounding toward `−∞`: saves MXCSR to `[aux]`, loads `MXCSR_DOWN`
/// from `[aux + 4]`, runs the `setup` lines, the `body` for `i = 0, 4, …` while `i < n`,
/// the `end` lines, and restores MXCSR last. The operands (`aux`, `i`, `n` and the body's)
/// and options are the caller's.
macro_rules! round_down_loop {
    (setup: [$($setup:literal),*], body: [$($body:literal),+], end: [$($end:literal),*], $($operands:tt)+) => {
        asm!(
            "vstmxcsr dword ptr [{aux}]",
            "vldmxcsr dword ptr [{aux} + 4]",
            $($setup,)*
            "xor {i}, {i}",
            "2:",
            $($body,)+
            "add {i}, 4",
            "cmp {i}, {n}",
            "jb 2b",
            $($end,)*
            "vldmxcsr dword ptr [{aux}]",
            $($operands)+
        )
    };
}

/// Proof that the running CPU has AVX2 and FMA: the only constructor, [`Avx2Fma::detect`],
/// checks at run time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Fma(());

impl Avx2Fma {
    /// `Some` if this CPU has AVX2 and FMA (a cached flag test after the first call).
    #[inline]
    pub(crate) fn detect() -> Option<Avx2Fma> {
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        has.then_some(Avx2Fma(()))
    }
}

/// One channel's block in four-lane steps: `out_lo[i] = RD_T(ŝ·from_lo[i] + o̲)` and
/// `out_hi[i] = RU_T(ŝ'·from_hi[i] + ō)` for the longest prefix that is a multiple of
/// four; returns its length (the caller finishes the tail). `p = [s̲, s̄, o̲, ō]` with
/// `s̲ ≤ s̄` finite and nonzero and of one sign, `o̲ ≤ ō` finite; `ŝ` is `s̲` where the
/// input is `≥ 0` (sign bit clear) and `s̄` elsewhere, `ŝ'` the other end. Inputs are not
/// NaN. All four slices have at least `out_lo.len()` elements.
pub(crate) fn block<T: Float>(
    _proof: Avx2Fma,
    p: [f64; 4],
    from_lo: &[T],
    from_hi: &[T],
    out_lo: &mut [T],
    out_hi: &mut [T],
) -> usize {
    let n = out_lo.len() / 4 * 4;
    assert!(from_lo.len() >= n && from_hi.len() >= n && out_hi.len() >= n);
    if n == 0 {
        return 0;
    }
    let [s_lo, s_hi, o_lo, o_hi] = p;
    // Lower bound: s̲ / s̄ and o̲; upper bound as the mirror: −s̄ / −s̲ and −ō.
    let consts: [f64; 6] = [s_lo, s_hi, o_lo, -s_hi, -s_lo, -o_hi];
    let mut aux = aux();
    macro_rules! run {
        ($setup:literal, $($body:literal),+) => {
            // SAFETY: the instructions need AVX (ymm loads, conversions, blends) and FMA,
            // which `_proof` shows this CPU has. Memory: `i` runs over `0..n` in steps of 4
            // (`n > 0`, a multiple of 4, checked above) and each access reads or writes the
            // 4 elements of `T` at index `i`, inside every slice (`len ≥ n`, asserted above);
            // `consts` is 6 `f64`s read at byte offsets 0..48; `aux` is read and written
            // within its 16 bytes. Every register the block writes is declared as an
            // output. MXCSR is saved first and restored last (`round_down_loop`), so no
            // code outside this block runs under the changed mode. No stack is used.
            unsafe {
                round_down_loop!(
                    setup: [
                        "vbroadcastsd ymm10, qword ptr [{c}]",
                        "vbroadcastsd ymm11, qword ptr [{c} + 8]",
                        "vbroadcastsd ymm12, qword ptr [{c} + 16]",
                        "vbroadcastsd ymm13, qword ptr [{c} + 24]",
                        "vbroadcastsd ymm14, qword ptr [{c} + 32]",
                        "vbroadcastsd ymm15, qword ptr [{c} + 40]",
                        $setup
                    ],
                    body: [$($body),+],
                    end: [],
                    aux = in(reg) aux.as_mut_ptr(),
                    c = in(reg) consts.as_ptr(),
                    lo = in(reg) from_lo.as_ptr(),
                    hi = in(reg) from_hi.as_ptr(),
                    ol = in(reg) out_lo.as_mut_ptr(),
                    oh = in(reg) out_hi.as_mut_ptr(),
                    n = in(reg) n,
                    i = out(reg) _,
                    out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                    out("ymm9") _, out("ymm10") _, out("ymm11") _, out("ymm12") _,
                    out("ymm13") _, out("ymm14") _, out("ymm15") _,
                    options(nostack),
                );
            }
        };
    }
    match T::DTYPE {
        // f32: 4 inputs widened exactly, each bound narrowed toward −∞; the upper one is
        // negated after narrowing (−RD₃₂(−w) = RU₃₂(w)).
        Dtype::F32 => run!(
            "vbroadcastss xmm9, dword ptr [{aux} + 12]",
            "vcvtps2pd ymm0, xmmword ptr [{lo} + {i}*4]",
            "vblendvpd ymm1, ymm10, ymm11, ymm0",
            "vfmadd213pd ymm1, ymm0, ymm12",
            "vcvtpd2ps xmm1, ymm1",
            "vmovups xmmword ptr [{ol} + {i}*4], xmm1",
            "vcvtps2pd ymm2, xmmword ptr [{hi} + {i}*4]",
            "vblendvpd ymm3, ymm13, ymm14, ymm2",
            "vfmadd213pd ymm3, ymm2, ymm15",
            "vcvtpd2ps xmm3, ymm3",
            "vxorps xmm3, xmm3, xmm9",
            "vmovups xmmword ptr [{oh} + {i}*4], xmm3"
        ),
        Dtype::F64 => run!(
            "vbroadcastsd ymm9, qword ptr [{aux} + 8]",
            "vmovupd ymm0, ymmword ptr [{lo} + {i}*8]",
            "vblendvpd ymm1, ymm10, ymm11, ymm0",
            "vfmadd213pd ymm1, ymm0, ymm12",
            "vmovupd ymmword ptr [{ol} + {i}*8], ymm1",
            "vmovupd ymm2, ymmword ptr [{hi} + {i}*8]",
            "vblendvpd ymm3, ymm13, ymm14, ymm2",
            "vfmadd213pd ymm3, ymm2, ymm15",
            "vxorpd ymm3, ymm3, ymm9",
            "vmovupd ymmword ptr [{oh} + {i}*8], ymm3"
        ),
    }
    n
}

/// One row across channels with per-channel `[s̲_j, s̄_j]`, `[o̲_j, ō_j]` (the `Lanes` arrays,
/// `p[k].len() = n`): for the longest prefix that is a multiple of four,
/// `out_lo[j] = RD_T(ŝ_j·a_j + o̲_j)` and `out_hi[j] = RU_T(ŝ'_j·b_j + ō_j)`, where a negative
/// scale (`s̄_j < 0`, its sign bit) swaps the ends (`a_j = hi[j]`, `b_j = lo[j]`, else
/// `a_j = lo[j]`, `b_j = hi[j]`) and `ŝ_j` is `s̲_j` where `a_j ≥ 0`, `s̄_j` elsewhere (`ŝ'_j`
/// the other end, by `b_j`'s sign); with `OFFSET = false` the offsets are taken as `0`
/// (`RD(ŝ·a + 0) = RD(ŝ·a)`: the scaling map `x ↦ s·x`). Returns the prefix length. Each channel's scale is
/// finite, nonzero and of one sign, its offset finite (or the placeholder `s = 1`, `o = 0`
/// the caller overwrites); inputs are not NaN; every slice has at least `n` elements.
pub(crate) fn row<T: Float, const OFFSET: bool>(
    _proof: Avx2Fma,
    [s_lo, s_hi, o_lo, o_hi]: [&[f64]; 4],
    lo: &[T],
    hi: &[T],
    out_lo: &mut [T],
    out_hi: &mut [T],
) -> usize {
    let n = s_lo.len() / 4 * 4;
    let lens = [
        s_hi.len(),
        o_lo.len(),
        o_hi.len(),
        lo.len(),
        hi.len(),
        out_lo.len(),
        out_hi.len(),
    ];
    assert!(lens.iter().all(|&l| l >= n));
    if n == 0 {
        return 0;
    }
    let mut aux = aux();
    // The offsets advance 32 bytes (4 lanes) per step, or stay on four zeros.
    static ZEROS: [f64; 4] = [0.0; 4];
    let (o_lo, o_hi, o_step): (*const f64, *const f64, usize) = if OFFSET {
        (o_lo.as_ptr(), o_hi.as_ptr(), 32)
    } else {
        (ZEROS.as_ptr(), ZEROS.as_ptr(), 0)
    };
    macro_rules! run {
        ($setup:literal, $($body:literal),+) => {
            // SAFETY: the instructions need AVX and FMA, which `_proof` shows this CPU has.
            // Memory: `i` runs over `0..n` in steps of 4 (`n > 0`, a multiple of 4, checked
            // above); each access reads or writes the 4 elements at index `i` of a slice
            // with at least `n` elements (asserted above) — the offsets at byte `j`, which is
            // `8·i` (`o_step = 32`) or always 0 on `ZEROS` (`o_step = 0`); `aux` is read and written within
            // its 16 bytes. Every register the block writes is declared as an output. MXCSR
            // is saved first and restored last, so no code outside this block runs under
            // the changed mode (`round_down_loop`). The block does not use the stack.
            unsafe {
                round_down_loop!(
                    setup: [$setup, "xor {j}, {j}"],
                    body: [$($body,)+ "add {j}, {step}"],
                    end: [],
                    aux = in(reg) aux.as_mut_ptr(),
                    sl = in(reg) s_lo.as_ptr(),
                    sh = in(reg) s_hi.as_ptr(),
                    ol = in(reg) o_lo,
                    oh = in(reg) o_hi,
                    step = in(reg) o_step,
                    lo = in(reg) lo.as_ptr(),
                    hi = in(reg) hi.as_ptr(),
                    yl = in(reg) out_lo.as_mut_ptr(),
                    yh = in(reg) out_hi.as_mut_ptr(),
                    n = in(reg) n,
                    i = out(reg) _,
                    j = out(reg) _,
                    out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                    out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
                    out("ymm9") _,
                    options(nostack),
                );
            }
        };
    }
    // ymm0 = l, ymm1 = h, ymm4 = s̲, ymm5 = s̄ (its sign bit: a negative scale);
    // ymm2 = a, ymm3 = b; ymm6 = ŝ then RD(ŝ·a + o̲); ymm7 = ŝ' then RD(−ŝ'·b − ō), whose
    // negation is RU(ŝ'·b + ō).
    match T::DTYPE {
        Dtype::F32 => run!(
            "vbroadcastss xmm9, dword ptr [{aux} + 12]",
            "vcvtps2pd ymm0, xmmword ptr [{lo} + {i}*4]",
            "vcvtps2pd ymm1, xmmword ptr [{hi} + {i}*4]",
            "vmovupd ymm4, ymmword ptr [{sl} + {i}*8]",
            "vmovupd ymm5, ymmword ptr [{sh} + {i}*8]",
            "vblendvpd ymm2, ymm0, ymm1, ymm5",
            "vblendvpd ymm3, ymm1, ymm0, ymm5",
            "vblendvpd ymm6, ymm4, ymm5, ymm2",
            "vfmadd213pd ymm6, ymm2, ymmword ptr [{ol} + {j}]",
            "vcvtpd2ps xmm6, ymm6",
            "vmovups xmmword ptr [{yl} + {i}*4], xmm6",
            "vblendvpd ymm7, ymm5, ymm4, ymm3",
            "vfnmsub213pd ymm7, ymm3, ymmword ptr [{oh} + {j}]",
            "vcvtpd2ps xmm7, ymm7",
            "vxorps xmm7, xmm7, xmm9",
            "vmovups xmmword ptr [{yh} + {i}*4], xmm7"
        ),
        Dtype::F64 => run!(
            "vbroadcastsd ymm9, qword ptr [{aux} + 8]",
            "vmovupd ymm0, ymmword ptr [{lo} + {i}*8]",
            "vmovupd ymm1, ymmword ptr [{hi} + {i}*8]",
            "vmovupd ymm4, ymmword ptr [{sl} + {i}*8]",
            "vmovupd ymm5, ymmword ptr [{sh} + {i}*8]",
            "vblendvpd ymm2, ymm0, ymm1, ymm5",
            "vblendvpd ymm3, ymm1, ymm0, ymm5",
            "vblendvpd ymm6, ymm4, ymm5, ymm2",
            "vfmadd213pd ymm6, ymm2, ymmword ptr [{ol} + {j}]",
            "vmovupd ymmword ptr [{yl} + {i}*8], ymm6",
            "vblendvpd ymm7, ymm5, ymm4, ymm3",
            "vfnmsub213pd ymm7, ymm3, ymmword ptr [{oh} + {j}]",
            "vxorpd ymm7, ymm7, ymm9",
            "vmovupd ymmword ptr [{yh} + {i}*8], ymm7"
        ),
    }
    n
}

/// Four partial sums of `Σ_j Λ_j·q_j` over the first `4·⌊n/4⌋` terms (`n = q_lo.len()`),
/// with coefficients `Λ_j ∈ [lo_j, hi_j]` (finite) and `q_j ∈ [q̲_j, q̄_j]` of known sign
/// (`q̲_j > 0` or `q̄_j < 0`, or the placeholder `[0, 0]`): lane `k` of the first result is
/// `≤` the minimum of the sum of terms `k, k + 4, …`, lane `k` of the second `≥` its maximum.
/// A negative `q` (`q̄_j`'s sign bit) takes the minimum at `Λ = hi_j`; the endpoint of `q`
/// is then chosen by the sign of that `Λ`, as in [`row`]. Each step is one FMA rounded
/// toward `−∞` into the lower accumulator, and one `−(q·b) + acc` rounded toward `−∞` into a
/// negated upper accumulator (`−RD(−w) = RU(w)`), so every partial sum is a bound.
pub(crate) fn dot<T: Float>(
    _proof: Avx2Fma,
    [q_lo, q_hi]: [&[f64]; 2],
    lo: &[T],
    hi: &[T],
) -> ([f64; 4], [f64; 4]) {
    let n = q_lo.len() / 4 * 4;
    assert!(q_hi.len() >= n && lo.len() >= n && hi.len() >= n);
    // Lanes 0..4: the lower sums; 4..8: the negated upper sums.
    let mut acc = [0.0f64; 8];
    if n == 0 {
        return ([0.0; 4], [0.0; 4]);
    }
    let mut aux = aux();
    macro_rules! run {
        ($($body:literal),+) => {
            // SAFETY: the instructions need AVX and FMA, which `_proof` shows this CPU has.
            // Memory: `i` runs over `0..n` in steps of 4 (`n > 0`, a multiple of 4, checked
            // above); each access reads the 4 elements at index `i` of a slice with at least
            // `n` elements (asserted above); `acc` is written within its 64 bytes, `aux`
            // within its 16. Every register the block writes is declared as an output. MXCSR
            // is saved first and restored last (`round_down_loop`), so no code outside this
            // block runs under the changed mode. The block does not use the stack.
            unsafe {
                round_down_loop!(
                    setup: ["vxorpd ymm6, ymm6, ymm6", "vxorpd ymm7, ymm7, ymm7"],
                    body: [$($body),+],
                    end: [
                        "vmovupd ymmword ptr [{acc}], ymm6",
                        "vmovupd ymmword ptr [{acc} + 32], ymm7"
                    ],
                    aux = in(reg) aux.as_mut_ptr(),
                    acc = in(reg) acc.as_mut_ptr(),
                    ql = in(reg) q_lo.as_ptr(),
                    qh = in(reg) q_hi.as_ptr(),
                    lo = in(reg) lo.as_ptr(),
                    hi = in(reg) hi.as_ptr(),
                    n = in(reg) n,
                    i = out(reg) _,
                    out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                    out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
                    out("ymm8") _,
                    options(nostack),
                );
            }
        };
    }
    // ymm0 = lo, ymm1 = hi, ymm4 = q̲, ymm5 = q̄ (its sign bit: a negative q); ymm2 = a,
    // ymm3 = b; ymm8 = the endpoint of q; ymm6 += q·a, ymm7 += −(q·b), both rounded down.
    match T::DTYPE {
        Dtype::F32 => run!(
            "vcvtps2pd ymm0, xmmword ptr [{lo} + {i}*4]",
            "vcvtps2pd ymm1, xmmword ptr [{hi} + {i}*4]",
            "vmovupd ymm4, ymmword ptr [{ql} + {i}*8]",
            "vmovupd ymm5, ymmword ptr [{qh} + {i}*8]",
            "vblendvpd ymm2, ymm0, ymm1, ymm5",
            "vblendvpd ymm3, ymm1, ymm0, ymm5",
            "vblendvpd ymm8, ymm4, ymm5, ymm2",
            "vfmadd231pd ymm6, ymm8, ymm2",
            "vblendvpd ymm8, ymm5, ymm4, ymm3",
            "vfnmadd231pd ymm7, ymm8, ymm3"
        ),
        Dtype::F64 => run!(
            "vmovupd ymm0, ymmword ptr [{lo} + {i}*8]",
            "vmovupd ymm1, ymmword ptr [{hi} + {i}*8]",
            "vmovupd ymm4, ymmword ptr [{ql} + {i}*8]",
            "vmovupd ymm5, ymmword ptr [{qh} + {i}*8]",
            "vblendvpd ymm2, ymm0, ymm1, ymm5",
            "vblendvpd ymm3, ymm1, ymm0, ymm5",
            "vblendvpd ymm8, ymm4, ymm5, ymm2",
            "vfmadd231pd ymm6, ymm8, ymm2",
            "vblendvpd ymm8, ymm5, ymm4, ymm3",
            "vfnmadd231pd ymm7, ymm8, ymm3"
        ),
    }
    let [a0, a1, a2, a3, b0, b1, b2, b3] = acc;
    ([a0, a1, a2, a3], [-b0, -b1, -b2, -b3])
}
