//! Numbers and rounding: the float types bnbound works in ([`float`]), the one owner of the
//! scalar rounding rules ([`round`]: directed operations, branch-free outward lane steps,
//! each with its proof; the kernels' hardware paths are their vector forms), and closed
//! intervals of `f64` ([`interval`]). Everything above builds on these and never rounds by
//! hand.

pub(crate) mod float;
pub(crate) mod interval;
pub(crate) mod params;
pub(crate) mod round;
