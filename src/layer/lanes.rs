//! How a layer's enclosure is laid out for the per-element kernels: the kernel choice
//! ([`Kernel`], resolved at run time) and the per-channel arrays ([`Lanes`]) the row kernel
//! and back-substitution read. The kernels themselves are in `crate::transfer::kernel`;
//! this module depends on nothing of theirs.

use crate::layer::channel::{ChannelEnclosure, ScaleSign};

/// Which per-element kernel the transfer functions use. All are sound; they may differ in
/// the last bit. This is the *kernel* (how products and sums are evaluated per element);
/// the [`crate::Backend`] (how each channel's `s` and `o` are enclosed) is chosen
/// independently.
///
/// | kernel | instructions | each bound |
/// |---|---|---|
/// | AVX-512 (x86-64) | AVX-512F, VL and DQ, 8 `f64` lanes | one FMA with embedded directed rounding (`{rd-sae}`, `{ru-sae}`), narrowed to `f32` by a directed conversion: the tightest bound of `ŝ·x + o` |
/// | FMA, x86-64 | AVX2+FMA, 4 `f64` lanes | IBP, scaling and the back-substitution dot: one FMA (and one narrowing) under MXCSR's rounding toward `−∞`, set and restored inside one `asm!` block, as with AVX-512; CNN block sums and tails: one FMA rounded to nearest, then one outward step |
/// | FMA, aarch64 | the base ISA | one FMA rounded to nearest, then one outward step (`f32`: narrowed to nearest, then one `f32` step) |
/// | two roundings | any | product and sum each rounded to nearest and stepped outward |
///
/// ```
/// use bnbound::Kernel;
/// println!("this CPU runs the {} kernel", Kernel::Auto.resolved());
/// assert_eq!(Kernel::TwoRoundings.resolved(), "two roundings (no FMA)");
/// assert_eq!(Kernel::default(), Kernel::Auto);
/// assert_eq!(Kernel::ALL.len(), 3);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kernel {
    /// The fastest kernel the running CPU supports (chosen at run time): AVX-512 if the CPU
    /// has AVX-512F, VL and DQ, else FMA if it has one, else two roundings.
    #[default]
    Auto,
    /// The FMA kernel even where AVX-512 is available (two roundings on a CPU without an
    /// FMA). Tests and fuzzers use it to cover that path on AVX-512 machines.
    Fma,
    /// The kernel every CPU has: no FMA, each product and sum rounded and widened
    /// separately.
    TwoRoundings,
}

impl Kernel {
    /// Every kernel choice, for tests that cover all paths.
    ///
    /// ```
    /// assert!(bnbound::Kernel::ALL.contains(&bnbound::Kernel::Fma));
    /// ```
    pub const ALL: [Kernel; 3] = [Kernel::Auto, Kernel::Fma, Kernel::TwoRoundings];

    /// A short description of the kernel this choice runs on this CPU.
    ///
    /// ```
    /// assert!(!bnbound::Kernel::Auto.resolved().is_empty());
    /// ```
    pub fn resolved(self) -> &'static str {
        match self.path() {
            Path::Avx512 => "x86-64 AVX-512 directed rounding",
            Path::Fma if cfg!(target_arch = "x86_64") => "x86-64 AVX2+FMA",
            Path::Fma => "aarch64 FMA",
            Path::TwoRoundings => "two roundings (no FMA)",
        }
    }

    /// The instruction path this choice runs on the running CPU.
    pub(crate) fn path(self) -> Path {
        match self {
            Kernel::TwoRoundings => Path::TwoRoundings,
            _ if !fma_available() => Path::TwoRoundings,
            Kernel::Auto if avx512_available() => Path::Avx512,
            _ => Path::Fma,
        }
    }
}

/// A [`Kernel`] resolved on the running CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// AVX-512F embedded rounding (x86-64 only).
    Avx512,
    /// A hardware FMA (AVX2+FMA on x86-64, the base ISA on aarch64).
    Fma,
    /// No FMA.
    TwoRoundings,
}

/// Whether the running CPU has AVX-512F, VL and DQ (and AVX2 and FMA).
fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::num::round::avx512::Avx512::detect().is_some()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the running CPU has a hardware FMA the kernels can use.
pub(crate) fn fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Per-channel scale and offset endpoints as plain arrays (structure of arrays) for the row
/// kernel, with the channels the fast formula does not cover listed in `special` (their
/// array entries are harmless finite placeholders; their results are recomputed).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Lanes {
    pub(crate) s_lo: Vec<f64>,
    pub(crate) s_hi: Vec<f64>,
    pub(crate) o_lo: Vec<f64>,
    pub(crate) o_hi: Vec<f64>,
    /// Whether the scale is negative; `neg[j] ⇔ s_hi[j] < 0` (the AVX-512 kernel reads the
    /// sign from `s_hi`).
    pub(crate) neg: Vec<bool>,
    pub(crate) special: Vec<usize>,
    /// The offset `[o̲, ō]` used as a *scale* (back-substitution's `Σ Λ_ij·o_j`): channels
    /// whose offset has a known nonzero sign and finite ends; the others are in
    /// `q_special` and have `[0, 0]` here.
    pub(crate) q_lo: Vec<f64>,
    pub(crate) q_hi: Vec<f64>,
    /// `q_neg[j] ⇔ q_hi[j] < 0`, as for `neg`.
    pub(crate) q_neg: Vec<bool>,
    pub(crate) q_special: Vec<usize>,
}

/// Whether the block/row kernels may evaluate channel `ch` (scale of known nonzero sign,
/// finite nonzero scale endpoints, finite offset): then no `0·∞` or `∞ − ∞` can occur.
pub(crate) fn is_fast(ch: &ChannelEnclosure) -> bool {
    let (s, o) = (ch.scale(), ch.offset());
    let sign_ok = match ch.scale_sign() {
        ScaleSign::Zero => false,
        ScaleSign::Positive => s.lo() > 0.0,
        ScaleSign::Negative => s.hi() < 0.0,
    };
    sign_ok && s.lo().is_finite() && s.hi().is_finite() && o.lo().is_finite() && o.hi().is_finite()
}

impl Lanes {
    /// The arrays of scale `[s̲, s̄]` and offset `[o̲, ō]` per channel.
    pub(crate) fn new(ch: &[ChannelEnclosure]) -> Self {
        let mut l = Lanes {
            s_lo: Vec::with_capacity(ch.len()),
            s_hi: Vec::with_capacity(ch.len()),
            o_lo: Vec::with_capacity(ch.len()),
            o_hi: Vec::with_capacity(ch.len()),
            neg: Vec::with_capacity(ch.len()),
            special: Vec::new(),
            q_lo: Vec::with_capacity(ch.len()),
            q_hi: Vec::with_capacity(ch.len()),
            q_neg: Vec::with_capacity(ch.len()),
            q_special: Vec::new(),
        };
        for (c, e) in ch.iter().enumerate() {
            let fast = is_fast(e);
            if !fast {
                l.special.push(c);
            }
            let (s, o) = (e.scale(), e.offset());
            l.s_lo.push(if fast { s.lo() } else { 1.0 });
            l.s_hi.push(if fast { s.hi() } else { 1.0 });
            l.o_lo.push(if fast { o.lo() } else { 0.0 });
            l.o_hi.push(if fast { o.hi() } else { 0.0 });
            l.neg.push(fast && e.scale_sign() == ScaleSign::Negative);
            let finite = o.lo().is_finite() && o.hi().is_finite();
            let q_fast = finite && (o.lo() > 0.0 || o.hi() < 0.0);
            if !q_fast {
                l.q_special.push(c);
            }
            l.q_lo.push(if q_fast { o.lo() } else { 0.0 });
            l.q_hi.push(if q_fast { o.hi() } else { 0.0 });
            l.q_neg.push(q_fast && o.hi() < 0.0);
        }
        l
    }
}
