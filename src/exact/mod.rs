//! Exact decisions in rational arithmetic — no floating point is involved in any answer.
//!
//! Every value bnbound handles is a float, i.e. a dyadic rational `m·2ᵉ`. BatchNorm's
//! output, scale and offset all have the form `A + B/√q` with dyadic `A`, `B` and `q > 0`;
//! comparing a dyadic `c` with it reduces, after a sign analysis, to comparing the
//! integers `(c−A)²·q` and `B²` (big integers from `num-bigint`, pure Rust).
//!
//! Bottom up: `dyadic` (the decisions on exact `f64` parameters and the tightest
//! enclosures), `excess` (distances as correctly rounded decimals), `sum` (sums of square
//! roots), and `decimal` (reading decimal text exactly: [`Decimal`], public for front ends
//! that read numbers). The questions about a channel of a `BatchNorm` are the checker's
//! (`bnbound::check::cmp_output`, …).

mod decimal;
mod dyadic;
pub(crate) mod excess;
mod sum;

pub use decimal::{Decimal, Format, Rounding, MAX_NUMBER_LEN};
#[cfg(feature = "mpfr")]
pub(crate) use dyadic::tightest;
pub(crate) use dyadic::{cmp_affine_params, cmp_offset_params, cmp_scale_params, tighten};
pub(crate) use sum::{distance, float_distance, BiasSum};
