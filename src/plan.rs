//! What to run: benchmark specs resolved from the configuration and the command line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::compare::Thresholds;
use crate::config::{self, Budget, LoadEntry, PackageConfig, PythonEntry, Settings, StartEntry, StartTarget};
use crate::error::UserError;
use crate::measure::cache::CacheMode;
use crate::measure::process::Readiness;
use crate::results::Kind;
use crate::scheduler::{RunCount, RunPolicy};
use crate::workspace::{ArtifactRef, Member, Workspace};

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
    /// `--lib` (may repeat).
    pub libs: Vec<String>,
    /// Only these kinds (`start`, `load` subcommands); empty means every kind.
    pub kinds: Vec<Kind>,
    /// `--cache`.
    pub cache: Option<CacheMode>,
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

/// What a benchmark executes.
#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    /// A binary that cargo builds.
    Bin(ArtifactRef),
    /// An executable at a known path.
    Path(PathBuf),
    /// This executable's hidden load helper, which `dlopen`s a built library.
    LoadHelper(ArtifactRef),
}

/// How a run's record is read into metrics, per kind of benchmark.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// Process start: timing and rusage.
    Start {
        /// Shared objects that must not be mapped at the end event.
        forbid_loaded: Vec<String>,
    },
    /// `dlopen` of a library, timed inside the helper process, with an optional init symbol.
    Load {
        /// The `extern "C" fn()` to call after loading.
        symbol: Option<String>,
    },
    /// `python -X importtime -c "import MODULE"`.
    Python {
        /// The module.
        module: String,
        /// A built `cdylib` placed on `PYTHONPATH` as the module.
        lib: Option<ArtifactRef>,
        /// Modules that must not be imported.
        forbid_imported: Vec<String>,
    },
}

/// One benchmark, fully resolved but for the paths of built targets.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchPlan {
    /// `<kind>/<package>/<name>`.
    pub id: String,
    /// The package whose configuration defines it.
    pub package: String,
    /// Whether no configuration entry asked for it (a binary run with `--help`, a library loaded
    /// with no symbol), so that reports can say what was timed.
    pub default_entry: bool,
    /// The kind of benchmark.
    pub kind: Kind,
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
    /// How runs are read.
    pub probe: Probe,
    /// The page cache before each run.
    pub cache: CacheMode,
}

/// Everything a run will do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Benchmarks in workspace order: per package its start, load and python entries.
    pub benches: Vec<BenchPlan>,
    /// Things in the manifests worth a warning (a table under a near-miss name).
    pub warnings: Vec<String>,
}

impl Plan {
    /// The targets cargo must build for this plan, without repeats.
    pub fn to_build(&self) -> Vec<ArtifactRef> {
        let mut out: Vec<ArtifactRef> = Vec::new();
        for b in &self.benches {
            match &b.program {
                Program::Bin(a) | Program::LoadHelper(a) => out.push(a.clone()),
                Program::Path(_) => {}
            }
            if let Probe::Python { lib: Some(a), .. } = &b.probe {
                out.push(a.clone());
            }
        }
        out.sort();
        out.dedup();
        out
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
    let all_libs: Vec<String> = ws.members.iter().flat_map(|m| &m.libs).map(|l| l.replace('-', "_")).collect();
    for wanted in &overrides.libs {
        if !all_libs.contains(&wanted.replace('-', "_")) && !overrides.lenient {
            let mut available = all_libs.clone();
            available.sort();
            available.dedup();
            return Err(UserError::UnknownLib { name: wanted.clone(), available }.into());
        }
    }
    let defaults = config::workspace_defaults(&ws.metadata, &ws.root_manifest)?;
    let mut plan = Plan {
        warnings: config::near_misses(&ws.metadata, "workspace.metadata", &ws.root_manifest),
        ..Plan::default()
    };
    let wants = |kind: Kind| overrides.kinds.is_empty() || overrides.kinds.contains(&kind);
    for member in &ws.members {
        plan.warnings.extend(config::near_misses(&member.metadata, "package.metadata", &member.manifest));
        let cfg = config::package_config(&member.metadata, &member.manifest, &member.bins, &member.libs, &defaults)?;
        let common = Common {
            cwd: member.dir().to_path_buf(),
            timeout: overrides.timeout.or(cfg.settings.timeout).unwrap_or(DEFAULT_TIMEOUT),
            policy: overrides.policy(&cfg.settings),
            thresholds: overrides.thresholds(&cfg.settings),
            cache: overrides.cache.or(cfg.settings.cache).unwrap_or_default(),
        };
        if wants(Kind::Start) && overrides.libs.is_empty() {
            for entry in start_entries(member, &cfg, overrides) {
                plan.benches.push(common.start(member, entry));
            }
        }
        if wants(Kind::Load) && overrides.bins.is_empty() {
            for entry in load_entries(member, &cfg, overrides) {
                plan.benches.push(common.load(member, entry));
            }
        }
        if overrides.kinds.is_empty() && overrides.bins.is_empty() && overrides.libs.is_empty() {
            for entry in &cfg.python {
                plan.benches.push(common.python(member, entry));
            }
        }
    }
    if plan.benches.iter().any(|b| b.cache == CacheMode::Drop) {
        crate::measure::cache::check_drop_allowed().map_err(UserError::Invalid)?;
    }
    if plan.benches.is_empty() && !overrides.lenient {
        let names: Vec<&str> = ws.members.iter().map(|m| m.name.as_str()).collect();
        return Err(UserError::NothingToRun {
            detail: format!("the selected packages ({}) have nothing of the kind asked for", names.join(", ")),
        }
        .into());
    }
    Ok(plan)
}

fn start_entries(member: &Member, cfg: &PackageConfig, overrides: &Overrides) -> Vec<StartEntry> {
    let mut entries: Vec<StartEntry> =
        cfg.start.clone().unwrap_or_else(|| member.bins.iter().map(|b| default_start(b)).collect());
    if !overrides.bins.is_empty() {
        entries.retain(|e| matches!(&e.target, StartTarget::Bin(b) if overrides.bins.contains(b)));
        // An explicitly requested bin without an entry of its own is run the default way.
        for wanted in overrides.bins.iter().filter(|b| member.bins.contains(b)) {
            if !entries.iter().any(|e| e.target == StartTarget::Bin(wanted.clone())) {
                entries.push(default_start(wanted));
            }
        }
    }
    entries
}

fn load_entries(member: &Member, cfg: &PackageConfig, overrides: &Overrides) -> Vec<LoadEntry> {
    let mut entries: Vec<LoadEntry> = cfg.load.clone().unwrap_or_else(|| {
        // A Python extension only loads inside Python: measure it with [[python]] instead.
        if member.python_extension {
            Vec::new()
        } else {
            member.libs.iter().map(|l| default_load(l)).collect()
        }
    });
    if !overrides.libs.is_empty() {
        let wanted: Vec<String> = overrides.libs.iter().map(|l| l.replace('-', "_")).collect();
        entries.retain(|e| wanted.contains(&e.lib.replace('-', "_")));
        for lib in member.libs.iter().filter(|l| wanted.contains(&l.replace('-', "_"))) {
            if !entries.iter().any(|e| &e.lib == lib) {
                entries.push(default_load(lib));
            }
        }
    }
    entries
}

struct Common {
    cwd: PathBuf,
    timeout: Duration,
    policy: RunPolicy,
    thresholds: Thresholds,
    cache: CacheMode,
}

impl Common {
    fn plan(&self, member: &Member, name: &str, kind: Kind, program: Program, args: Vec<String>) -> BenchPlan {
        BenchPlan {
            id: format!("{}/{}/{name}", kind.as_str(), member.name),
            package: member.name.clone(),
            default_entry: false,
            kind,
            program,
            args,
            env: BTreeMap::new(),
            cwd: self.cwd.clone(),
            readiness: Readiness::Exit,
            timeout: self.timeout,
            policy: self.policy,
            budget: Budget::default(),
            thresholds: self.thresholds,
            probe: Probe::Start { forbid_loaded: Vec::new() },
            cache: self.cache,
        }
    }

    fn start(&self, member: &Member, entry: StartEntry) -> BenchPlan {
        let (program, mut args) = match entry.target {
            StartTarget::Bin(bin) => (Program::Bin(ArtifactRef::bin(&member.name, &bin)), vec![]),
            StartTarget::Command { program, args } => (Program::Path(program), args),
        };
        args.extend(entry.args);
        let mut plan = self.plan(member, &entry.name, Kind::Start, program, args);
        plan.default_entry = entry.key.is_empty();
        plan.env = entry.env;
        plan.readiness = entry.readiness;
        plan.budget = entry.budget;
        plan.probe = Probe::Start { forbid_loaded: entry.forbid_loaded };
        plan
    }

    fn load(&self, member: &Member, entry: LoadEntry) -> BenchPlan {
        let lib = ArtifactRef::lib(&member.name, &entry.lib);
        let mut plan = self.plan(member, &entry.name, Kind::Load, Program::LoadHelper(lib), vec![]);
        plan.default_entry = entry.key.is_empty();
        plan.env = entry.env;
        plan.budget = entry.budget;
        plan.probe = Probe::Load { symbol: entry.symbol };
        plan
    }

    fn python(&self, member: &Member, entry: &PythonEntry) -> BenchPlan {
        let args = vec!["-X".into(), "importtime".into(), "-c".into(), format!("import {}", entry.module)];
        let mut plan = self.plan(member, &entry.name, Kind::Python, Program::Path(entry.python.clone()), args);
        plan.env = entry.env.clone();
        plan.budget = entry.budget.clone();
        plan.probe = Probe::Python {
            module: entry.module.clone(),
            lib: entry.lib.as_ref().map(|l| ArtifactRef::lib(&member.name, l)),
            forbid_imported: entry.forbid_imported.clone(),
        };
        plan
    }
}

fn default_start(bin: &str) -> StartEntry {
    StartEntry {
        key: String::new(),
        target: StartTarget::Bin(bin.to_string()),
        name: bin.to_string(),
        args: vec!["--help".to_string()],
        env: BTreeMap::new(),
        readiness: Readiness::Exit,
        forbid_loaded: Vec::new(),
        budget: Budget::default(),
    }
}

fn default_load(lib: &str) -> LoadEntry {
    LoadEntry {
        key: String::new(),
        lib: lib.to_string(),
        symbol: None,
        name: lib.to_string(),
        env: BTreeMap::new(),
        budget: Budget::default(),
    }
}

/// A benchmark of one side's definitions that the other side cannot run, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unbound {
    /// The benchmark as defined.
    pub plan: BenchPlan,
    /// "bin `fd` does not exist at v10.2.0".
    pub reason: String,
}

/// Applies benchmark definitions made for the workspace `from` to the workspace `to` (the other
/// side of a comparison), matching packages, binaries and libraries by name.
///
/// Each bound benchmark runs in its package's folder on `to`; a program or readiness file inside
/// `from`'s workspace is taken from `to`'s. `at` completes the reasons of benchmarks that cannot
/// be bound: "at v10.2.0", "in the working tree".
pub fn bind(defs: &Plan, from: &Workspace, to: &Workspace, at: &str) -> (Plan, Vec<Unbound>) {
    let mut bound = Plan { benches: Vec::new(), warnings: Vec::new() };
    let mut unbound = Vec::new();
    for def in &defs.benches {
        match bind_one(def, from, to, at) {
            Ok(plan) => bound.benches.push(plan),
            Err(reason) => unbound.push(Unbound { plan: def.clone(), reason }),
        }
    }
    (bound, unbound)
}

fn bind_one(def: &BenchPlan, from: &Workspace, to: &Workspace, at: &str) -> Result<BenchPlan, String> {
    let member = to
        .all_members
        .iter()
        .find(|m| m.name == def.package)
        .ok_or_else(|| format!("package `{}` does not exist {at}", def.package))?;
    let from_dir = from.all_members.iter().find(|m| m.name == def.package).map(|m| m.dir().to_path_buf());
    let find_lib = |a: &ArtifactRef| {
        let wanted = a.target.replace('-', "_");
        member
            .libs
            .iter()
            .find(|l| l.replace('-', "_") == wanted)
            .map(|l| ArtifactRef::lib(&member.name, l))
            .ok_or_else(|| format!("library `{}` does not exist {at}", a.target))
    };
    // A script of the workspace runs from the other side's checkout when it is there;
    // anything else (an interpreter, a virtualenv, a build output) is shared by both sides.
    let reroot = |path: &std::path::Path| -> PathBuf {
        path.strip_prefix(&from.root)
            .ok()
            .filter(|_| !path.starts_with(&from.target_dir))
            .map(|rel| to.root.join(rel))
            .filter(|moved| moved.exists())
            .unwrap_or_else(|| path.to_path_buf())
    };
    let mut plan = def.clone();
    plan.program = match &def.program {
        Program::Bin(a) if member.bins.contains(&a.target) => Program::Bin(ArtifactRef::bin(&member.name, &a.target)),
        Program::Bin(a) => return Err(format!("bin `{}` does not exist {at}", a.target)),
        Program::LoadHelper(a) => Program::LoadHelper(find_lib(a)?),
        Program::Path(p) => Program::Path(reroot(p)),
    };
    if let Probe::Python { lib: Some(a), module, forbid_imported } = &def.probe {
        plan.probe =
            Probe::Python { lib: Some(find_lib(a)?), module: module.clone(), forbid_imported: forbid_imported.clone() };
    }
    plan.cwd = member.dir().to_path_buf();
    if let (Readiness::File { path }, Some(from_dir)) = (&def.readiness, &from_dir) {
        if let Ok(rel) = path.strip_prefix(from_dir) {
            plan.readiness = Readiness::File { path: member.dir().join(rel) };
        }
    }
    Ok(plan)
}
