//! The kernel choice: [`Kernel`] (public), resolved on the running CPU to a [`Path`] by
//! run-time feature detection.

/// Which per-element kernel the transfer functions use. All are sound; they may differ in
/// the last bit. This is the *kernel* (how products and sums are evaluated per element);
/// the enclosure of each channel's `s` and `o` ([`crate::Enclosure`]) is computed
/// independently of it.
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
        super::avx512::round::Avx512::detect().is_some()
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
