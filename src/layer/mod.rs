//! The layer and its enclosure: validated parameters ([`params`]), one channel's enclosure
//! of the exact scale and offset with its scalar image ([`channel`]), and the whole
//! layer's enclosure with its backends and its layout for the kernels ([`enclosure`]).
//! Dependencies run `params`, `channel` → `enclosure`.

pub(crate) mod channel;
pub(crate) mod enclosure;
pub(crate) mod params;
