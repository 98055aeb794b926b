//! What every benchmark of one package shares when the plan is made: what the command line tells
//! the plan ([`PlanOptions`]), the package's settings resolved against it, and the lookups every kind makes
//! (programs found, addresses resolved, budgets read against a kind's metrics).

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::bench::{Precision, Settings};
use super::policy::{RunCount, RunPolicy};
use super::process::cache::CacheMode;
use super::process::core::Program;
use crate::build::ArtifactRef;
use crate::discover::config::{config_error, PackageSettings, RawBudget, Ready, Target};
use crate::discover::limits::limits;
use crate::discover::probe;
use crate::discover::workspace::Member;
use crate::error::UserError;
use crate::results::{MetricDesc, OrderedMap, Readiness, Thresholds};

/// Warmup runs when neither the command line nor the configuration says.
pub const DEFAULT_WARMUP: u32 = 1;

/// Per-run timeout when neither the command line nor the configuration says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Measured runs with `--quick`.
pub const QUICK_RUNS: u32 = 10;

/// The slowest imports listed per Python import row when `--top` does not say.
pub const DEFAULT_TOP: usize = 10;

/// How long a comparison with `--precision` may run per benchmark when `--max-time` does not say.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(300);

/// Fresh server or worker processes per side of a suite row, unless said: the process is the
/// unit a suite row's comparison counts (see `measure::replicated`).
pub const DEFAULT_PROCESSES: u32 = 6;

/// Processes per side of a suite row with `--quick`: more of them, with shorter rounds.
pub const QUICK_PROCESSES: u32 = 8;

/// Measured rounds per process of a suite row, unless `iterations` or `--runs` say: rounds of
/// one process share its quirks, so a second one adds less than another process does.
pub const DEFAULT_ROUNDS: u32 = 1;

/// What the command line tells the plan: the selection (`--bin`, `--lib`, the kind's subcommand,
/// `--scenario`) and the values that override the configuration (`--runs`, `--noise`, …).
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
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
    /// `--lib` (may repeat).
    pub libs: Vec<String>,
    /// Only these kinds (the `start`, `load` subcommands); empty means every kind.
    pub kinds: Vec<&'static str>,
    /// `--cache`.
    pub cache: Option<CacheMode>,
    /// `--scenario` of `suite`: only the groups of rows of these names; all when empty.
    pub scenarios: Vec<&'static str>,
    /// The options kinds add to the command line (`suite rpc --counts`, `suite tensor --mode`).
    pub kind_args: KindArgs,
    /// `--precision`, as a fraction.
    pub precision: Option<f64>,
    /// `--measure instructions` (or `profile`, which implies it).
    pub instructions: bool,
    /// `--measure profile`: keep the profile of the median callgrind run of each start.
    pub profile: bool,
    /// `--top`: the slowest imports listed per Python import row.
    pub top: Option<usize>,
    /// `--max-time`.
    pub max_time: Option<Duration>,
    /// Run until this much time has passed on the clock (at least [`QUICK_RUNS`] runs per side),
    /// whatever the configuration says: `calibrate --time`.
    pub min_time: Option<Duration>,
    /// `--processes`: fresh server or worker processes per side of a suite row.
    pub processes: Option<u32>,
    /// `--multiplicity`: how a comparison's rows are adjusted for their number.
    pub multiplicity: crate::results::Adjustment,
}

impl PlanOptions {
    /// The run policy of a process kind's benchmarks.
    pub fn policy(&self, settings: &PackageSettings) -> RunPolicy {
        let quick_runs = self.quick.then_some(QUICK_RUNS);
        let quick_warmup = self.quick.then_some(1);
        if let Some(min_time) = self.min_time {
            return RunPolicy {
                warmup: self.warmup.or(settings.warmup).unwrap_or(DEFAULT_WARMUP),
                runs: RunCount::For { min_runs: QUICK_RUNS, wall: min_time },
            };
        }
        RunPolicy {
            warmup: self.warmup.or(quick_warmup).or(settings.warmup).unwrap_or(DEFAULT_WARMUP),
            runs: self.runs.or(quick_runs).or(settings.runs).map(RunCount::Exactly).unwrap_or(RunCount::DEFAULT),
        }
    }

    /// The thresholds of a comparison.
    pub fn thresholds(&self, settings: &PackageSettings) -> Thresholds {
        let d = Thresholds::DEFAULT;
        Thresholds {
            noise: self.noise.or(settings.noise).unwrap_or(d.noise),
            warn: settings.warn.unwrap_or(d.warn),
            fail: settings.fail.unwrap_or(d.fail),
            significance: d.significance,
        }
    }

    /// Whether the kind of this name is among those asked for.
    pub fn wants(&self, kind: &str) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// One package as its kinds plan it.
pub struct PackageContext<'a> {
    /// The package.
    pub member: &'a Member,
    /// Its manifest, named in messages.
    pub manifest: &'a Path,
    /// Its settings, merged with the workspace's.
    pub configured: &'a PackageSettings,
    /// What the command line tells the plan.
    pub plan_options: &'a PlanOptions,
    /// Per-run timeout.
    pub timeout: Duration,
    /// Warmups and runs of a process kind's benchmark.
    pub policy: RunPolicy,
    /// Thresholds of a comparison.
    pub thresholds: Thresholds,
    /// The page cache before each run.
    pub cache: CacheMode,
    /// `--precision`, with its time limit.
    pub precision: Option<Precision>,
    /// `--measure instructions`: the tolerance of instruction counts.
    pub instructions: Option<f64>,
    /// `--measure profile`.
    pub profile: bool,
    /// `--top`.
    pub top: usize,
}

impl<'a> PackageContext<'a> {
    /// The package's settings resolved against the command line.
    pub fn new(
        member: &'a Member,
        manifest: &'a Path,
        configured: &'a PackageSettings,
        plan_options: &'a PlanOptions,
    ) -> Self {
        PackageContext {
            member,
            manifest,
            configured,
            plan_options,
            timeout: plan_options.timeout.or(configured.timeout).unwrap_or(DEFAULT_TIMEOUT),
            policy: plan_options.policy(configured),
            thresholds: plan_options.thresholds(configured),
            cache: plan_options.cache.or(configured.cache).unwrap_or_default(),
            top: plan_options.top.unwrap_or(DEFAULT_TOP),
            profile: plan_options.profile,
            instructions: plan_options
                .instructions
                .then(|| configured.instructions_noise.unwrap_or(super::process::instructions::DEFAULT_TOLERANCE)),
            precision: plan_options
                .precision
                .or(configured.precision)
                .map(|within| Precision { within, max_time: plan_options.max_time.unwrap_or(DEFAULT_MAX_TIME) }),
        }
    }

    /// The options of a kind, of its own type, when the command line gave them.
    pub fn args<T: 'static>(&self) -> Option<&T> {
        self.plan_options.kind_args.get()
    }

    /// The settings of a process kind's benchmark: its budget read against its metrics.
    pub fn settings(
        &self,
        kind: &str,
        key: &str,
        budget: &RawBudget,
        metrics: OrderedMap<MetricDesc>,
    ) -> Result<Settings, UserError> {
        Ok(Settings {
            policy: self.policy,
            thresholds: self.thresholds,
            limits: limits(budget, &metrics, key, kind, self.manifest)?,
            timeout: self.timeout,
            // Entries made up without a configuration have no key path.
            default_entry: key.is_empty(),
            precision: self.precision,
            processes: 1,
        })
    }

    /// A configured readiness, with its address resolved.
    pub fn readiness(&self, ready: Ready, key: &str) -> Result<Readiness, UserError> {
        Ok(match ready {
            Ready::Exit => Readiness::Exit,
            Ready::Stdout { pattern } => Readiness::Stdout { pattern },
            Ready::File { path } => Readiness::File { path },
            Ready::Tcp { addr } => Readiness::Tcp {
                addr: probe::address(&addr).ok_or_else(|| {
                    config_error(
                        format!("{key}.ready.tcp"),
                        self.manifest,
                        format!("`{addr}` does not resolve to an address"),
                    )
                })?,
            },
        })
    }

    /// What an entry runs: a binary of the package, or a program found now, with the command's
    /// own arguments.
    pub fn program(&self, target: &Target, key: &str) -> Result<(Program, Vec<String>), UserError> {
        Ok(match target {
            Target::Bin(bin) => (Program::Bin(ArtifactRef::bin(&self.member.name, bin)), Vec::new()),
            Target::Command { program, args } => {
                let found = probe::program(program, &format!("{key}.command"), self.member.dir(), self.manifest)?;
                (Program::Path(found), args.clone())
            }
        })
    }

    /// How a suite's rows run: against `--processes` (or `processes`) fresh servers or workers per
    /// side ([`DEFAULT_PROCESSES`], [`QUICK_PROCESSES`] with `--quick`), each for `iterations`
    /// rounds ([`DEFAULT_ROUNDS`] unless said) after `warmup` rounds; `--runs` and `--warmup`
    /// still rule.
    pub fn suite_settings(&self, iterations: Option<u32>, warmup: u32, timeout: Duration) -> Settings {
        let plan_options = self.plan_options;
        Settings {
            policy: RunPolicy {
                warmup: plan_options.warmup.unwrap_or(warmup),
                runs: RunCount::Exactly(plan_options.runs.or(iterations).unwrap_or(DEFAULT_ROUNDS).max(1)),
            },
            thresholds: self.thresholds,
            limits: Vec::new(),
            timeout,
            default_entry: false,
            precision: None,
            processes: plan_options.processes.or(self.configured.processes).unwrap_or(if plan_options.quick {
                QUICK_PROCESSES
            } else {
                DEFAULT_PROCESSES
            }),
        }
    }
}

/// The options kinds add to the command line (`suite rpc --counts`, `suite tensor --mode`), each a
/// type of its kind's own, found by that type ([`KindArgs::get`]).
#[derive(Clone, Default)]
pub struct KindArgs(BTreeMap<TypeId, (Arc<dyn Any + Send + Sync>, String)>);

impl KindArgs {
    /// Sets the options of one kind.
    pub fn set<T: Any + Send + Sync + std::fmt::Debug>(&mut self, args: T) {
        let shown = format!("{args:?}");
        self.0.insert(TypeId::of::<T>(), (Arc::new(args), shown));
    }

    /// The options of the kind whose type they are, when the command line gave them.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>()).and_then(|(args, _)| args.downcast_ref::<T>())
    }
}

impl std::fmt::Debug for KindArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.values().map(|(_, shown)| shown)).finish()
    }
}
