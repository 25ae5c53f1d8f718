//! Command-line entry points. `anyhow` lives here, at the binary's edge, and nowhere deeper.

pub mod check_registry;
pub mod serve;
