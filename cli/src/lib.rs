//! The `bnbound` command-line tool's library part: its JSON contract ([`json`]). The tool
//! itself is `src/main.rs`.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod json;
