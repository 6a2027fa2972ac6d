//! Transfer functions of the enclosed layer: IBP ([`ibp`]), chain-rule derivatives
//! ([`deriv`]), affine forms ([`form`]), composition and back-substitution ([`affine`]),
//! sound folding ([`fold`]),
//! all running on the per-element kernels (`crate::kernel`).

pub(crate) mod affine;
#[cfg(feature = "ndarray")]
mod array;
pub(crate) mod deriv;
pub mod fold;
pub(crate) mod form;
pub(crate) mod ibp;
