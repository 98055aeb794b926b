//! Finding out what to run: the workspace (`workspace`: `cargo metadata`, package selection), the
//! configuration's shape (`config`), budgets read against each kind's metrics (`limits`), what the
//! machine offers (`probe`); a configuration file that stands in for a workspace (`standalone`:
//! `suite --config FILE`). The benchmarks themselves are made by the kinds, in `plan`.

pub mod config;
pub mod limits;
pub mod probe;
pub mod standalone;
pub mod workspace;
