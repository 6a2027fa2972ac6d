//! Input and output formats: the CLI's JSON contract ([`json`], feature `json`). Model
//! files are read by `crate::model`.

#[cfg(feature = "json")]
pub mod json;
