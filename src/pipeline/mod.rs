//! What every measuring subcommand shares, stage after stage: a run (plan, build, stage, measure,
//! save) and a comparison (check out and build each side, measure them interleaved, judge), the
//! results folder, the machine check before measuring, and the exit status. `commands/` turns the
//! command line into [`RunOptions`] and prints what comes back (see docs/ARCHITECTURE.md).

pub mod anchored;
pub mod bisect;
pub mod compare;
pub mod gate;
pub mod machine;
pub mod measure;
pub mod single;
pub mod store;

use std::path::PathBuf;

use clap::ValueEnum;

use crate::discover::workspace::CargoOptions;
use crate::measure::package::PlanOptions;
use crate::results::{RunDocument, Store};

pub use gate::exit_status;
pub use single::run;

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cargo's options.
    pub cargo: CargoOptions,
    /// What the command line tells the plan.
    pub plan_options: PlanOptions,
    /// `--no-build`.
    pub no_build: bool,
    /// `--output-dir`.
    pub output_dir: Option<PathBuf>,
    /// This executable: the roles and the load helper run it, and the runner is found beside it.
    pub self_exe: PathBuf,
    /// `--baseline NAME`: compare with this saved baseline.
    pub baseline: Option<String>,
    /// `--config-from`: whose definitions a comparison applies.
    pub config_from: ConfigFrom,
    /// `suite --config FILE`: a configuration file instead of a workspace.
    pub config: Option<PathBuf>,
    /// The kinds a plan is made of.
    pub registry: crate::plan::Registry,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The result document, as saved.
    pub document: RunDocument,
    /// Where it was saved under `runs/`.
    pub saved: PathBuf,
    /// The results folder.
    pub store: Store,
}

/// `--fail-on`: what makes the exit status 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailOn {
    /// A benchmark over its budget (comparisons are shown, not gated).
    Budget,
    /// A budget, or a comparison verdict of `failure` (a significant slowdown past `fail`).
    Regression,
    /// A budget, or a verdict of `warning` or `failure` (a significant slowdown past `warn`).
    Warning,
    /// Nothing: exit 0 even when a budget is exceeded or a comparison fails.
    Never,
}

/// `--config-from`: whose benchmark definitions a comparison applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFrom {
    /// The candidate's (today's): applied to both sides, as asv does for old commits.
    Candidate,
    /// The baseline's: applied to both sides.
    Baseline,
    /// Each side its own; benchmarks on one side only are listed as added or removed.
    Each,
}
