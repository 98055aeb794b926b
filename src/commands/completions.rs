//! `cargo coldbench completions SHELL`: shell completions for `cargo coldbench`.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

/// Prints the completions of `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut cmd = Cli::command();
    // Generated into memory: clap_complete panics on a write error of its own.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cargo", &mut script);
    super::write_stdout(&script)?;
    Ok(0)
}
