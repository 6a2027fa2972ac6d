//! bnbound's test kit (`publish = false`): everything that checks bnbound without being
//! bnbound, used by `tests/`, `benches/` and `fuzz/` through bnbound's public API only.
//!
//! - [`oracle`]: the reference oracle, exact rationals in a different formulation from
//!   `bnbound::exact` (integer square-root refinement instead of squared comparisons).
//! - [`gen`]: proptest generators biased to hard values, and form checks on the oracle.
//! - [`fuzz`]: the fuzz harnesses (one function per `fuzz/` target; the committed corpus
//!   is replayed by `tests/cases/fuzz_corpus.rs`).
//! - [`onnx`]: an independent ONNX writer for generated and hostile models.
//! - [`baseline`]: the unsound plain-float loops the benchmarks compare against (the same
//!   code `bnbound bench` runs).
#![deny(unsafe_code)]
#![allow(clippy::needless_range_loop)] // parallel arrays indexed together read clearer

pub mod emulate;
pub mod fuzz;
pub mod gen;
pub mod onnx;
pub mod oracle;

pub mod baseline;
pub use gen::*;
pub use oracle::*;
