//! cargo-coldbench: how fast Rust programs start, and whether a change made it better or worse.
//!
//! The pipeline, stage by stage (see `docs/ARCHITECTURE.md`): [`discover`] finds the workspace and
//! reads the configuration's shape; [`build`] builds (and compared refs) and stages fresh copies;
//! [`measure`] runs any [`measure::bench::Bench`], and each kind (`measure::kind::Kind`, in
//! [`measure`] and [`suites`]) makes its benchmarks; [`plan`] holds the registry of kinds and makes
//! the plan; [`stats`] and [`analysis`] summarise and judge; [`results`] holds the file format and
//! its storage; [`report`] renders. [`pipeline`] runs and compares, [`commands`] wires each
//! subcommand to it; the binary is a thin shell over [`main_entry`].
//!
//! Without the default feature `cli`, the library is [`self_report`] (no dependencies: what a
//! measured program needs to report metrics about its own work) and, with the feature `worker`,
//! [`worker`]: what a program needs to become a worker of the RPC suite.

#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "cli")]
pub mod analysis;
#[cfg(feature = "cli")]
pub mod build;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod commands;
#[cfg(feature = "cli")]
pub mod discover;
#[cfg(feature = "cli")]
pub mod error;
#[cfg(feature = "cli")]
pub mod exit;
#[cfg(feature = "cli")]
pub mod gpu;
#[cfg(feature = "cli")]
pub mod host;
#[cfg(feature = "cli")]
pub mod measure;
#[cfg(feature = "cli")]
pub mod pipeline;
#[cfg(feature = "cli")]
pub mod plan;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod results;
pub mod self_report;
#[cfg(feature = "cli")]
pub mod stats;
#[cfg(feature = "cli")]
pub mod suites;
#[cfg(feature = "cli")]
pub mod sys;
#[cfg(all(test, feature = "cli"))]
mod testing;
#[cfg(feature = "cli")]
pub mod ui;
#[cfg(feature = "cli")]
pub mod units;
#[cfg(feature = "worker")]
pub mod worker;

/// The identity of the sources this binary was built from (a hash of `src/`, by `build.rs`): the
/// runner binary serves only a `cargo-coldbench` built from the same sources, and a history point
/// is reused only by the build that measured it (docs/ARCHITECTURE.md, "The runner").
pub const SOURCE_ID: &str = env!("COLDBENCH_SOURCE_ID");

#[cfg(feature = "cli")]
pub use discover::config;

#[cfg(feature = "cli")]
use std::process::ExitCode;

#[cfg(feature = "cli")]
use clap::Parser;

/// Exit status for an error (bad configuration, build failure, I/O).
#[cfg(feature = "cli")]
pub use exit::ERROR as EXIT_ERROR;

#[cfg(feature = "cli")]
/// Runs the command line and returns the process exit status (README "Exit status").
pub fn main_entry() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == measure::runner::RUNNER_ARG) {
        return ExitCode::from(measure::runner::runner_main(&args[2..]));
    }
    if args.get(1).is_some_and(|a| a == suites::role::WORKER_ARG) {
        return ExitCode::from(suites::role::worker_main(&plan::Registry::builtin().roles(), &args[2..]));
    }
    if args.get(1).is_some_and(|a| a == measure::load::helper::LOAD_HELPER_ARG) {
        return ExitCode::from(measure::load::helper::helper_main(&args[2..]));
    }
    // clap exits with 2 on usage errors and 0 for --help and --version.
    let cli::Cli::Coldbench(args) = cli::Cli::parse_from(args);
    // Ui::new sets the colour choice, which error messages follow too.
    let display = &args.run.display;
    let ui = ui::Ui::new(display.color, display.quiet, display.verbose);
    match commands::dispatch(&args, &ui) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            ui::print_error(&err);
            ExitCode::from(EXIT_ERROR)
        }
    }
}
