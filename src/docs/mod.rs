//! Long-form documentation, as inari keeps it: the README covers what a user needs first;
//! these pages hold the arguments, the contracts in full, the test inventory and the
//! measured figures. Their Rust examples are compiled and run as doctests.

#[doc = include_str!("soundness.md")]
pub mod soundness {}

#[doc = include_str!("guide.md")]
pub mod guide {}

#[doc = include_str!("cli.md")]
pub mod cli {}

#[doc = include_str!("testing.md")]
pub mod testing {}

#[doc = include_str!("performance.md")]
pub mod performance {}
