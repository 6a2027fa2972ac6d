//! Modes: the one entry point for mode × semantics ([`bounds`]), the exact checker of
//! claimed bounds ([`check`]), the tightest floating-point enclosure through MPFR
//! (`tight`, feature `mpfr`), and deployed-float semantics (`deployed`: what a named
//! runtime computes).

pub(crate) mod bounds;
pub mod check;
pub(crate) mod deployed;
#[cfg(feature = "mpfr")]
pub(crate) mod tight;
