//! The `bnbound` binary and the CLI's JSON reader: the contract and exit statuses, every
//! mode, how numbers are read, and hostile model files and input, one module per theme.
//! `common` holds the shared helpers (scratch folders, running the binary, fixtures).

mod common;

mod cli;
mod cli_modes;
mod hostile;
mod hostile_cli;
mod numbers;
