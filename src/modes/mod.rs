//! Modes beyond the fast enclosure: the exact checker of claimed bounds ([`check`]) and the
//! tightest floating-point enclosure through MPFR (`tight`, feature `mpfr`).

pub mod check;
#[cfg(feature = "mpfr")]
pub(crate) mod tight;
