//! The layer and its enclosure: validated parameters ([`params`]), one channel's enclosure
//! of the exact scale and offset with its scalar image ([`channel`]), its layout for the
//! kernels ([`lanes`]), and the whole layer's enclosure with its backends ([`enclosure`]).
//! Dependencies run `params`, `channel` → `lanes` → `enclosure`.

pub(crate) mod channel;
pub(crate) mod enclosure;
pub(crate) mod lanes;
pub(crate) mod params;
