//! The `bnbound` command-line tool's library part: its JSON contract ([`json`]) and the
//! unsound plain-float baselines its `bench` subcommand (and the library's benchmarks)
//! compare against ([`baseline`]). The tool itself is `src/main.rs`.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod baseline;
pub mod json;
