//! # bnbound — sound bounds for inference-time BatchNorm
//!
//! Inference BatchNorm is the affine map `y = γ(x−μ)/√(σ²+ε) + β = s·x + o` per channel.
//! bnbound never treats a rounded-to-nearest `s` or `o` as exact: it encloses the *exact
//! real* scale and offset of the given float parameters in intervals with outward
//! rounding ([`BatchNorm::enclose`]) and propagates boxes through the layer
//! ([`Enclosure::ibp`]) so that every returned bound contains the exact real image.
//!
//! ```
//! use bnbound::{BatchNorm, Shape, TensorBox};
//! // One BatchNorm1d layer over 2 channels, f32 parameters as PyTorch stores them.
//! let bn = BatchNorm::new(
//!     vec![0.9f32, -1.1],   // gamma (weight)
//!     vec![0.1, 0.0],       // beta (bias)
//!     vec![0.5, -0.2],      // running_mean
//!     vec![2.0, 0.3],       // running_var
//!     1e-5,                 // eps
//! )?;
//! let input = TensorBox::new(Shape::new(&[1, 2])?, vec![-1.0, 0.0], vec![1.0, 0.25])?;
//! let out = bn.enclose().ibp(&input)?;
//! assert!(out.lo()[0] < out.hi()[0]);
//! # Ok::<(), bnbound::Error>(())
//! ```
//!
//! Semantics: every bound encloses the real-number function of the float parameters as
//! given (`f32` or `f64`, converted exactly), not the float computation any framework
//! performs, and not the decimal text they were printed from.
#![deny(missing_docs)]
#![deny(unsafe_code)]

// Layers, bottom up: errors → numbers and rounding → tensors → exact decisions → the
// per-element kernels → the layer's enclosure → transfer functions → modes → I/O (see
// ARCHITECTURE.md; tests/cases/layering.rs checks it). This file only assembles the public API.
pub mod docs;
mod error;
pub mod exact;
mod kernel;
mod layer;
#[cfg(any(feature = "onnx", feature = "safetensors"))]
pub mod model;
mod modes;
mod num;
mod tensor;
mod transfer;

pub use modes::bounds::{Bounds, Mode};
pub use modes::check;
pub use modes::check::Checker;
pub use modes::deployed::{Runtime, Semantics};
#[cfg(feature = "mpfr")]
pub use modes::tight::Tight;
pub use transfer::fold;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use error::{Error, Field, Result, Side};
pub use kernel::choice::Kernel;
pub use layer::channel::{ChannelEnclosure, ScaleSign};
pub use layer::enclosure::Enclosure;
pub use layer::params::{AnyBatchNorm, BatchNorm};
pub use num::float::{ulps_between, Dtype, Float};
pub use num::interval::Interval;
pub use num::round::env::DefaultFpEnv;
pub use num::round::storage::Storage;
pub use tensor::{BoxView, Shape, TensorBox};
pub use transfer::form::{AffineForm, FloatForm, LinearBounds};
