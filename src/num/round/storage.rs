//! Rounding from `f32` to the 16-bit storage types (f16, bf16): to nearest (the runtimes'
//! conversion, replayed) and downward; upward is the mirror `−down(−x)`.
//!
//! Both formats are sign-magnitude with 16 bits, so consecutive values have consecutive
//! magnitudes: one step down from a value is one ordinal down, across ±0 and up to `±∞`.

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
        crate::num::round::env::launder(x.is_nan() || storage_nearest(x, self) == x)
    }

    /// The largest value of this type `≤ x` (outward rounding of a lower bound).
    ///
    /// ```
    /// use bnbound::Storage;
    /// assert!(Storage::F16.down(0.1) < 0.1 && Storage::F16.holds(Storage::F16.down(0.1)));
    /// ```
    pub fn down(self, x: f32) -> f32 {
        let _env = crate::num::round::env::enter();
        crate::num::round::env::launder(storage_down(crate::num::round::env::launder(x), self))
    }

    /// The smallest value of this type `≥ x`: the mirror of [`Storage::down`].
    ///
    /// ```
    /// use bnbound::Storage;
    /// assert!(Storage::Bf16.up(0.1) > 0.1 && Storage::Bf16.up(1.0) == 1.0);
    /// ```
    pub fn up(self, x: f32) -> f32 {
        let _env = crate::num::round::env::enter();
        crate::num::round::env::launder(-storage_down(-crate::num::round::env::launder(x), self))
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

/// The 16 bits of `RN(x)` in `storage` (ties to even, overflow to `±∞`), for `x` not NaN.
fn nearest_bits(x: f32, storage: Storage) -> u16 {
    match storage {
        Storage::F16 => half::f16::from_f32(x).to_bits(),
        Storage::Bf16 => half::bf16::from_f32(x).to_bits(),
    }
}

fn value(bits: u16, storage: Storage) -> f32 {
    match storage {
        Storage::F16 => half::f16::from_bits(bits).to_f32(),
        Storage::Bf16 => half::bf16::from_bits(bits).to_f32(),
    }
}

/// `RN(x)` in `storage`, as the `f32` holding it exactly (`x` not NaN): the conversion a
/// runtime applies when it stores an `f32` result as f16 or bf16.
pub(crate) fn storage_nearest(x: f32, storage: Storage) -> f32 {
    value(nearest_bits(x, storage), storage)
}

/// The largest value of `storage` that is `≤ x` (`x` not NaN), as an `f32`.
pub(crate) fn storage_down(x: f32, storage: Storage) -> f32 {
    let b = nearest_bits(x, storage);
    let v = value(b, storage);
    if v <= x {
        return v;
    }
    // One step down from v: the magnitude grows for negatives and shrinks for positives;
    // +0 steps to the negative least subnormal. v > x ≥ −∞, so v is not −∞.
    let down = if b & 0x8000 != 0 {
        b + 1
    } else if b == 0 {
        0x8001
    } else {
        b - 1
    };
    value(down, storage)
}
