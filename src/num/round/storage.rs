//! Rounding from `f32` to the 16-bit storage types (f16, bf16): to nearest (the runtimes'
//! conversion, replayed) and downward; upward is the mirror `−down(−x)`.
//!
//! Both formats are sign-magnitude with 16 bits, so consecutive values have consecutive
//! magnitudes: one step down from a value is one ordinal down, across ±0 and up to `±∞`.

use crate::num::storage::Storage;

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
