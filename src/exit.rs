//! The exit statuses of `cargo coldbench` (README "Exit status"), named once.

/// Everything ran, and the gate (`--fail-on`) passed.
pub const OK: u8 = 0;
/// An error: bad configuration, a build that failed, I/O.
pub const ERROR: u8 = 1;
/// The command line itself is wrong (clap's own status for usage errors).
pub const USAGE: u8 = 2;
/// The gate failed: a budget exceeded, or a comparison verdict at or past `--fail-on`.
pub const GATE: u8 = 3;
/// A benchmark failed to run.
pub const BENCH_FAILED: u8 = 4;
