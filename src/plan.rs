//! What to run: benchmark specs resolved from the configuration and the command line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::compare::Thresholds;
use crate::config::{self, Budget, Settings, StartEntry, StartTarget};
use crate::error::UserError;
use crate::measure::process::Readiness;
use crate::scheduler::{RunCount, RunPolicy};
use crate::workspace::{BinRef, Workspace};

/// Warmup runs when neither the command line nor the configuration says.
pub const DEFAULT_WARMUP: u32 = 1;
/// Per-run timeout when neither the command line nor the configuration says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Command-line values that override the configuration.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--runs`.
    pub runs: Option<u32>,
    /// `--warmup`.
    pub warmup: Option<u32>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--bin` (may repeat).
    pub bins: Vec<String>,
    /// `--noise`, as a fraction.
    pub noise: Option<f64>,
    /// `--quick`: [`QUICK_RUNS`] measured runs and one warmup, unless `--runs`/`--warmup` say otherwise.
    pub quick: bool,
    /// Skip `--bin` names and packages this side does not have instead of failing (the baseline
    /// side of a comparison may predate them).
    pub lenient: bool,
}

/// Measured runs with `--quick`.
pub const QUICK_RUNS: u32 = 10;

impl Overrides {
    fn policy(&self, settings: &Settings) -> RunPolicy {
        let quick_runs = self.quick.then_some(QUICK_RUNS);
        let quick_warmup = self.quick.then_some(1);
        RunPolicy {
            warmup: self.warmup.or(quick_warmup).or(settings.warmup).unwrap_or(DEFAULT_WARMUP),
            runs: self.runs.or(quick_runs).or(settings.runs).map(RunCount::Exactly).unwrap_or(RunCount::DEFAULT),
        }
    }

    fn thresholds(&self, settings: &Settings) -> Thresholds {
        let d = Thresholds::DEFAULT;
        Thresholds {
            noise: self.noise.or(settings.noise).unwrap_or(d.noise),
            warn: settings.warn.unwrap_or(d.warn),
            fail: settings.fail.unwrap_or(d.fail),
            significance: d.significance,
        }
    }
}

/// What a start benchmark executes.
#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    /// A binary that cargo builds.
    Bin(BinRef),
    /// An executable at a known path.
    Path(PathBuf),
}

/// One start benchmark, fully resolved but for the built executable's path.
#[derive(Debug, Clone, PartialEq)]
pub struct StartPlan {
    /// `start/<package>/<name>`.
    pub id: String,
    /// What to execute.
    pub program: Program,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Working directory: the package's folder.
    pub cwd: PathBuf,
    /// End event.
    pub readiness: Readiness,
    /// Per-run timeout.
    pub timeout: Duration,
    /// Warmups and run count.
    pub policy: RunPolicy,
    /// Limits.
    pub budget: Budget,
    /// Thresholds for comparisons.
    pub thresholds: Thresholds,
}

/// Everything a run will do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Start benchmarks, in workspace and configuration order.
    pub start: Vec<StartPlan>,
}

impl Plan {
    /// The binaries cargo must build for this plan, without repeats.
    pub fn bins_to_build(&self) -> Vec<BinRef> {
        let mut bins: Vec<BinRef> = self
            .start
            .iter()
            .filter_map(|s| match &s.program {
                Program::Bin(b) => Some(b.clone()),
                Program::Path(_) => None,
            })
            .collect();
        bins.sort();
        bins.dedup();
        bins
    }
}

/// Reads every selected package's configuration and builds the plan.
pub fn plan(ws: &Workspace, overrides: &Overrides) -> Result<Plan> {
    let all_bins: Vec<&String> = ws.members.iter().flat_map(|m| &m.bins).collect();
    for wanted in &overrides.bins {
        if !all_bins.contains(&wanted) && !overrides.lenient {
            let mut available: Vec<String> = all_bins.iter().map(|s| s.to_string()).collect();
            available.sort();
            available.dedup();
            return Err(UserError::UnknownBin { name: wanted.clone(), available }.into());
        }
    }
    let defaults = config::workspace_defaults(&ws.metadata, &ws.root_manifest)?;
    let mut plan = Plan::default();
    for member in &ws.members {
        let cfg = config::package_config(&member.metadata, &member.manifest, &member.bins, &defaults)?;
        let mut entries: Vec<StartEntry> = cfg.start.clone().unwrap_or_else(|| {
            member.bins.iter().map(|b| default_entry(b, cfg.start.as_ref().map_or(0, Vec::len))).collect()
        });
        if !overrides.bins.is_empty() {
            entries.retain(|e| matches!(&e.target, StartTarget::Bin(b) if overrides.bins.contains(b)));
            // An explicitly requested bin without an entry of its own is run the default way.
            for wanted in overrides.bins.iter().filter(|b| member.bins.contains(b)) {
                if !entries.iter().any(|e| e.target == StartTarget::Bin(wanted.clone())) {
                    entries.push(default_entry(wanted, 0));
                }
            }
        }
        let timeout = overrides.timeout.or(cfg.settings.timeout).unwrap_or(DEFAULT_TIMEOUT);
        let policy = overrides.policy(&cfg.settings);
        let thresholds = overrides.thresholds(&cfg.settings);
        for entry in entries {
            let (program, mut args) = match entry.target {
                StartTarget::Bin(bin) => (Program::Bin(BinRef { package: member.name.clone(), bin }), vec![]),
                StartTarget::Command { program, args } => (Program::Path(program), args),
            };
            args.extend(entry.args);
            plan.start.push(StartPlan {
                id: format!("start/{}/{}", member.name, entry.name),
                program,
                args,
                env: entry.env,
                cwd: member.dir().to_path_buf(),
                readiness: entry.readiness,
                timeout,
                policy,
                budget: entry.budget,
                thresholds,
            });
        }
    }
    if plan.start.is_empty() && !overrides.lenient {
        let names: Vec<&str> = ws.members.iter().map(|m| m.name.as_str()).collect();
        return Err(UserError::NothingToRun {
            detail: format!("the selected packages ({}) have no binaries and no start entries", names.join(", ")),
        }
        .into());
    }
    Ok(plan)
}

fn default_entry(bin: &str, index: usize) -> StartEntry {
    StartEntry {
        key: format!("package.metadata.bench.start[{index}]"),
        target: StartTarget::Bin(bin.to_string()),
        name: bin.to_string(),
        args: vec!["--help".to_string()],
        env: BTreeMap::new(),
        readiness: Readiness::Exit,
        budget: Budget::default(),
    }
}
