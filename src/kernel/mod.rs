//! The per-element kernels, in one place: the kernel choice and CPU detection
//! ([`choice`]: [`Kernel`]), the layout of a layer's channels for the kernels ([`lanes`]),
//! the loops and their run-time dispatch ([`loops`]), and the instruction-set bodies:
//! AVX-512's embedded directed rounding (`avx512`, its vector operations in
//! `avx512::round`) and the AVX2+FMA loops under MXCSR's rounding toward `−∞` (`mxcsr`,
//! whole `asm!` loops); both x86-64 only.
//!
//! A soundness review reads two places: the scalar rules in [`crate::num::round`] (every
//! rounding of the portable lanes is one of them) and this folder, where every `unsafe` of
//! the crate lives apart from the floating-point environment's guard
//! ([`crate::num::round::env`], a precondition of the scalar rules themselves). Each
//! vector operation names the scalar rule it is the vector form of.
//!
//! This folder uses only [`crate::num`]; the layer plugs its channels in through
//! [`lanes::Channel`], and the transfer functions run the jobs of [`loops`].

#[cfg(target_arch = "x86_64")]
mod avx512;
pub(crate) mod choice;
pub(crate) mod lanes;
pub(crate) mod loops;
#[cfg(target_arch = "x86_64")]
mod mxcsr;

#[cfg(all(test, target_arch = "x86_64"))]
mod tests;
