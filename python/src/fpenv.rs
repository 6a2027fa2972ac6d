//! The floating-point environment of the calling thread. A caller may have set MXCSR's
//! flush-to-zero and denormals-are-zero bits (`torch.set_flush_denormal(True)`, a library
//! built with `-ffast-math`), or another rounding mode; every conversion this package does
//! (numpy casts in `bnbound._convert`, ε and scalar extraction) and every bound the library
//! computes assume IEEE defaults. Each entry point therefore runs under the default
//! environment (round to nearest, no FTZ/DAZ, exceptions masked) and restores the caller's
//! MXCSR, exactly, when it returns or raises. MXCSR is per thread: this changes nothing in
//! any other thread.

/// Restores the saved MXCSR when dropped.
pub(crate) struct Guard {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

/// MXCSR at power-on: all exceptions masked, round to nearest, no FTZ/DAZ.
#[cfg(target_arch = "x86_64")]
const DEFAULT: u32 = 0x1F80;

#[cfg(target_arch = "x86_64")]
fn get() -> u32 {
    let mut c: u32 = 0;
    // SAFETY: stmxcsr stores the 32-bit register to the address given, which is `c`.
    unsafe {
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut c, options(nostack, preserves_flags));
    }
    c
}

#[cfg(target_arch = "x86_64")]
fn set(c: u32) {
    // SAFETY: ldmxcsr loads a valid MXCSR value (a saved one, or DEFAULT) from `c`.
    unsafe {
        std::arch::asm!("ldmxcsr [{}]", in(reg) &c, options(nostack, preserves_flags, readonly));
    }
}

impl Guard {
    /// Saves the caller's environment and switches this thread to the default one.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn new() -> Guard {
        let saved = get();
        if saved != DEFAULT {
            set(DEFAULT);
        }
        Guard { saved }
    }

    /// Other architectures: nothing is changed (their flush-to-zero controls are not
    /// handled yet; the library's own guard is what protects the kernels there).
    #[cfg(not(target_arch = "x86_64"))]
    pub(crate) fn new() -> Guard {
        Guard {}
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if get() != self.saved {
            set(self.saved);
        }
    }
}
