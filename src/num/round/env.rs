//! The floating-point environment every bound is computed in.
//!
//! Every rule of this module's parent assumes IEEE 754's default environment: rounding to
//! nearest, subnormal operands and results kept (gradual underflow), no trap. Rust and
//! LLVM assume the same for all the code they compile. A caller's thread may run under
//! another: flush-to-zero and denormals-are-zero (`torch.set_flush_denormal(True)`, any
//! library built with `-ffast-math`), a directed rounding mode (`fesetround`), or an
//! unmasked exception. Under FTZ/DAZ a subnormal parameter reads as zero and a step below
//! a rounded result is no longer a bound (`f32` γ = 10⁻⁴⁰, β = ½ on `[1, ∞)` would give
//! `[½, ½]`); under rounding upward "one step below round-to-nearest" is not below the
//! exact value.
//!
//! So every public entry point that computes a bound opens a [`DefaultEnv`] first: it
//! reads the thread's control register, and only when the control bits differ from the
//! default it loads the default (keeping the status flags) and puts the caller's value
//! back when it is dropped — on return, on an error return (`?`) and while a panic
//! unwinds alike, since it is a guard. Reading costs one `stmxcsr` (x86-64) or `mrs`
//! (aarch64) per call; the write happens only for callers that changed the environment.
//!
//! * x86-64: MXCSR. The default control bits are `0x1F80` (all exceptions masked, DAZ
//!   bit 6 and FTZ bit 15 clear, rounding control bits 13–14 = nearest); status flags
//!   (bits 0–5) are kept while the guard is open and the caller's whole register is
//!   restored after. The x87 control word is not touched: Rust uses SSE for `f32`/`f64`
//!   on x86-64, and bnbound has no x87 code.
//! * aarch64: FPCR, whose default (the Linux and macOS ABI's, and Rust's) is `0`:
//!   rounding to nearest (RMode 22–23), FZ (24), FZ16 (19), DN (25), AH/FIZ and the trap
//!   enables all clear.
//! * Other targets: no guard; the default environment is assumed (documented in the
//!   soundness page).
//!
//! Ordering. The switch is an `asm!` block that may read and write any memory, so the
//! compiler keeps every load and store of the computation between the two switches (the
//! inputs are read through references and the results written to memory). A value that
//! arrives or leaves in a register — a scalar argument or a scalar result — is passed
//! through [`launder`], an empty `asm!` block that takes and returns it in a register
//! and is ordered with the switches, so no arithmetic on it can move across them.
#![allow(unsafe_code)]

/// IEEE 754's default floating-point environment on this thread, for as long as the
/// guard lives: round to nearest, no flush-to-zero, no denormals-are-zero, every exception
/// masked. Dropping it puts the caller's control register (MXCSR on x86-64, FPCR on
/// aarch64) back exactly, status flags included — on return, on an error return and while
/// a panic unwinds. Every bnbound entry point that computes a bound opens one itself;
/// open one around your own code when it converts or compares floats on bnbound's behalf
/// (bindings, readers) in a thread whose environment you do not control. On other targets
/// it does nothing (the default environment is assumed).
///
/// ```
/// let _env = bnbound::DefaultFpEnv::enter();
/// // A subnormal f32 survives conversion whatever the caller's FTZ/DAZ bits were.
/// let tiny = std::hint::black_box(f32::from_bits(1));
/// assert_eq!(tiny as f64, 2f64.powi(-149));
/// ```
#[must_use = "the default environment lasts as long as the guard"]
#[derive(Debug)]
pub struct DefaultFpEnv {
    /// The caller's control register, when it had to be changed.
    saved: Option<Control>,
}

impl DefaultFpEnv {
    /// Opens the default environment on this thread until the guard is dropped (see
    /// [`DefaultFpEnv`]); costs one read of the control register when the thread is
    /// already in it.
    ///
    /// ```
    /// let env = bnbound::DefaultFpEnv::enter();
    /// drop(env); // the caller's environment is back
    /// ```
    #[inline]
    pub fn enter() -> DefaultFpEnv {
        enter()
    }
}

/// The crate-internal name of [`DefaultFpEnv`].
pub(crate) type DefaultEnv = DefaultFpEnv;

#[cfg(target_arch = "x86_64")]
type Control = u32;
#[cfg(target_arch = "aarch64")]
type Control = u64;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
type Control = ();

/// MXCSR's control bits (6–15): DAZ, the six exception masks, rounding control, FTZ.
#[cfg(target_arch = "x86_64")]
const CONTROL_BITS: u32 = 0xFFC0;
/// MXCSR's default control bits: every exception masked, nearest, no DAZ, no FTZ.
#[cfg(target_arch = "x86_64")]
const DEFAULT_CONTROL: u32 = 0x1F80;

/// Opens the default environment on this thread until the guard is dropped.
#[inline]
pub(crate) fn enter() -> DefaultEnv {
    DefaultFpEnv { saved: switch() }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read() -> u32 {
    let mut csr: u32 = 0;
    // SAFETY: `stmxcsr` (SSE, part of x86-64's baseline) stores the 4-byte MXCSR at the
    // address of `csr`, a live local of 4 bytes; it changes no register, flag or other
    // memory.
    unsafe {
        core::arch::asm!(
            "stmxcsr dword ptr [{p}]",
            p = in(reg) &mut csr,
            options(nostack, preserves_flags)
        );
    }
    csr
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn write(csr: u32) {
    // SAFETY: `ldmxcsr` loads MXCSR from the 4 bytes of `csr`. Every value written here
    // is either the default control bits with the thread's own status flags, or the
    // value the same thread read before (so reserved bits are never set). Changing MXCSR
    // is what this module is for. The block is deliberately neither `nomem`, `pure` nor
    // `readonly`: declared as possibly writing any memory, it keeps every load and store
    // of the computation on its side (a `readonly` block would let loads, and arithmetic
    // on them, move above the switch into the caller's environment).
    unsafe {
        core::arch::asm!(
            "ldmxcsr dword ptr [{p}]",
            p = in(reg) &csr,
            options(nostack, preserves_flags)
        );
    }
}

/// Loads the default control bits if the thread's differ; returns the caller's value then.
#[cfg(target_arch = "x86_64")]
#[inline]
fn switch() -> Option<Control> {
    let csr = read();
    if csr & CONTROL_BITS == DEFAULT_CONTROL {
        return None;
    }
    write(DEFAULT_CONTROL | (csr & 0x3F));
    Some(csr)
}

#[cfg(target_arch = "aarch64")]
#[inline]
fn read() -> u64 {
    let fpcr: u64;
    // SAFETY: `mrs` reads FPCR into a general register; no memory, no flags.
    unsafe {
        core::arch::asm!("mrs {r}, fpcr", r = out(reg) fpcr, options(nostack, preserves_flags));
    }
    fpcr
}

#[cfg(target_arch = "aarch64")]
#[inline]
fn write(fpcr: u64) {
    // SAFETY: `msr` writes FPCR: either 0 (the ABI's default) or the value the same thread
    // read before. Not `nomem`, so the compiler keeps memory accesses on their side.
    unsafe {
        core::arch::asm!("msr fpcr, {r}", r = in(reg) fpcr, options(nostack, preserves_flags));
    }
}

#[cfg(target_arch = "aarch64")]
#[inline]
fn switch() -> Option<Control> {
    let fpcr = read();
    if fpcr == 0 {
        return None;
    }
    write(0);
    Some(fpcr)
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
fn switch() -> Option<Control> {
    None
}

impl Drop for DefaultFpEnv {
    #[inline]
    fn drop(&mut self) {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        if let Some(saved) = self.saved {
            write(saved);
        }
    }
}

/// A value the compiler must treat as produced here: an empty `asm!` block that takes and
/// returns `x` in a register. Scalar inputs pass through it after [`enter`] and scalar
/// results before the guard drops, so no arithmetic on them moves outside the default
/// environment.
#[inline(always)]
pub(crate) fn launder<T: Laundered>(x: T) -> T {
    x.launder()
}

/// The scalar types [`launder`] takes.
pub(crate) trait Laundered: Copy {
    /// See [`launder`].
    fn launder(self) -> Self;
}

macro_rules! laundered_float {
    ($t:ty) => {
        impl Laundered for $t {
            #[inline(always)]
            fn launder(self) -> Self {
                #[allow(unused_mut)]
                let mut x = self;
                // SAFETY: an empty block: it reads and writes nothing but the register
                // holding `x`, which it leaves unchanged.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    core::arch::asm!("/* {x} */", x = inout(xmm_reg) x, options(nostack, preserves_flags));
                }
                // SAFETY: as above, with a SIMD/FP register.
                #[cfg(target_arch = "aarch64")]
                unsafe {
                    core::arch::asm!("/* {x:v} */", x = inout(vreg) x, options(nostack, preserves_flags));
                }
                x
            }
        }
    };
}
laundered_float!(f32);
laundered_float!(f64);

impl Laundered for bool {
    #[inline(always)]
    fn launder(self) -> Self {
        let mut b = self as usize;
        // SAFETY: an empty block: it reads and writes nothing but the general register
        // holding `b`, which it leaves unchanged (so `b` is still 0 or 1).
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        unsafe {
            core::arch::asm!("/* {b} */", b = inout(reg) b, options(nostack, preserves_flags));
        }
        b != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guard loads the default control bits, keeps them while open and restores the
    /// caller's register exactly — on drop and while a panic unwinds.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn restores_caller_control() {
        let before = read();
        for caller in [
            0x1F80 | (1 << 15) | (1 << 6), // FTZ + DAZ
            0x1F80 | (2 << 13),            // rounding upward
            0x1F80 | (3 << 13) | (1 << 15),
            0x1F80 & !(1 << 7), // invalid operation unmasked
        ] {
            write(caller);
            {
                let _g = enter();
                assert_eq!(read() & CONTROL_BITS, DEFAULT_CONTROL);
                // A subnormal survives, as the default environment says.
                let tiny = launder(f64::from_bits(1));
                assert_eq!(launder(tiny * 1.0).to_bits(), 1);
            }
            assert_eq!(read() & CONTROL_BITS, caller & CONTROL_BITS);
            let r = std::panic::catch_unwind(|| {
                let _g = enter();
                panic!("unwinds through the guard");
            });
            assert!(r.is_err());
            assert_eq!(read() & CONTROL_BITS, caller & CONTROL_BITS);
        }
        write(before);
        // Already default: nothing saved, nothing written.
        assert!(enter().saved.is_none());
    }
}
