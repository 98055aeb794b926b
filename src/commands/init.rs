//! `cargo coldbench init`: a commented `[package.metadata.bench]` example with every key.

use anyhow::Result;

/// The commented example configuration printed by `cargo coldbench init`.
pub const INIT_TEMPLATE: &str = include_str!("../../templates/init.toml");

/// Prints the example.
pub fn init() -> Result<u8> {
    super::write_stdout(INIT_TEMPLATE.as_bytes())?;
    Ok(0)
}
