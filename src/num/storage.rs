//! The 16-bit storage types (f16, bf16): data stored in 16 bits and computed in `f32`.
//! Their rounding rules are `round::storage`'s.

use crate::error::{Error, Result};

/// A 16-bit storage type: data stored as f16 or bf16, computed in `f32` (PyTorch's
/// `opmath_t`), each result rounded once to the storage type.
///
/// ```
/// assert_eq!("bf16".parse::<bnbound::Storage>()?, bnbound::Storage::Bf16);
/// # Ok::<(), bnbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
}

impl Storage {
    /// The name used in documents (`"f16"`, `"bf16"`).
    ///
    /// ```
    /// assert_eq!(bnbound::Storage::F16.name(), "f16");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Storage::F16 => "f16",
            Storage::Bf16 => "bf16",
        }
    }

    /// Whether `x` is a value of this type.
    ///
    /// ```
    /// assert!(bnbound::Storage::F16.holds(0.5) && !bnbound::Storage::F16.holds(0.1));
    /// ```
    pub fn holds(self, x: f32) -> bool {
        let _env = crate::num::round::env::enter();
        let x = crate::num::round::env::launder(x);
        crate::num::round::env::launder(
            x.is_nan() || crate::num::round::storage_nearest(x, self) == x,
        )
    }

    /// The largest value of this type `≤ x` (outward rounding of a lower bound).
    ///
    /// ```
    /// use bnbound::Storage;
    /// assert!(Storage::F16.down(0.1) < 0.1 && Storage::F16.holds(Storage::F16.down(0.1)));
    /// ```
    pub fn down(self, x: f32) -> f32 {
        let _env = crate::num::round::env::enter();
        crate::num::round::env::launder(crate::num::round::storage_down(
            crate::num::round::env::launder(x),
            self,
        ))
    }

    /// The smallest value of this type `≥ x`: the mirror of [`Storage::down`].
    ///
    /// ```
    /// use bnbound::Storage;
    /// assert!(Storage::Bf16.up(0.1) > 0.1 && Storage::Bf16.up(1.0) == 1.0);
    /// ```
    pub fn up(self, x: f32) -> f32 {
        let _env = crate::num::round::env::enter();
        crate::num::round::env::launder(-crate::num::round::storage_down(
            -crate::num::round::env::launder(x),
            self,
        ))
    }
}

impl std::str::FromStr for Storage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Storage> {
        match s {
            "f16" => Ok(Storage::F16),
            "bf16" => Ok(Storage::Bf16),
            other => Err(Error::UnknownStorage(crate::error::short(other))),
        }
    }
}
