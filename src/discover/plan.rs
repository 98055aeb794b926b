//! What to run: benchmarks made from the configuration and the command line, one [`Bench`] per
//! entry. This is where the machine is looked at (programs found, interpreters asked, addresses
//! resolved) and budgets read against each kind's metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;

use super::config::{
    self, LoadEntry, PackageConfig, ProgramConfig, PythonEntry, Ready, Settings as Configured, StartEntry, Target,
};
use super::limits::limits;
use super::probe;
use super::workspace::{Member, Workspace};
use crate::build::ArtifactRef;
use crate::error::UserError;
use crate::measure::bench::{Bench, BenchId, PackageSide, Precision, ReferenceSpec, Settings, SideMap};
use crate::measure::load::{self, LoadBench, LoadDef};
use crate::measure::policy::{RunCount, RunPolicy};
use crate::measure::process::cache::CacheMode;
use crate::measure::process::core::Program;
use crate::measure::python::{self, PythonBench, PythonDef};
use crate::measure::start::{self, StartBench, StartDef};
use crate::results::{MetricDesc, OrderedMap, Readiness, Thresholds};
use crate::suites::rpc::bench::RpcBench;
use crate::suites::rpc::rows::{self as rpc_rows, ScalingArgs};
use crate::suites::rpc::{self as rpc_suite};
use crate::suites::tensor::{self as tensor_suite};
use crate::suites::zmq::bench::ZmqBench;
use crate::suites::zmq::row::UserServer;
use crate::suites::zmq::rows::{self as zmq_rows, RowsInput, Sizes, UserRows};
use crate::suites::zmq::{self as zmq_suite};
use crate::suites::Group;
use crate::suites::UserCommand;

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
    /// Only these kinds (the `start`, `load` subcommands); empty means every kind.
    pub kinds: Vec<&'static str>,
    /// `--cache`.
    pub cache: Option<CacheMode>,
    /// `--scenario` of `suite`: only these groups of rows; all when empty.
    pub scenarios: Vec<Group>,
    /// `--counts`, `--max-workers`, `--large` of `suite rpc`.
    pub scaling: ScalingArgs,
    /// `--mode`, `--devices`, `--no-gpu`, `--large-tensors` of `suite tensor`.
    pub tensor: crate::suites::tensor::rows::TensorArgs,
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

impl Overrides {
    fn policy(&self, settings: &Configured) -> RunPolicy {
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

    fn thresholds(&self, settings: &Configured) -> Thresholds {
        let d = Thresholds::DEFAULT;
        Thresholds {
            noise: self.noise.or(settings.noise).unwrap_or(d.noise),
            warn: settings.warn.unwrap_or(d.warn),
            fail: settings.fail.unwrap_or(d.fail),
            significance: d.significance,
        }
    }

    fn wants(&self, kind: &str) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// Everything a run will do.
#[derive(Default)]
pub struct Plan {
    /// Benchmarks in workspace order: per package its start, load and python entries.
    pub benches: Vec<Box<dyn Bench>>,
    /// Things in the manifests worth a warning (a table under a near-miss name).
    pub warnings: Vec<String>,
}

impl Plan {
    /// The targets cargo must build for this plan, without repeats.
    pub fn to_build(&self) -> Vec<ArtifactRef> {
        let mut out: Vec<ArtifactRef> = self.benches.iter().flat_map(|b| b.needs()).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Reads every selected package's configuration and makes the plan.
pub fn plan(ws: &Workspace, overrides: &Overrides) -> Result<Plan> {
    check_selection(ws, overrides)?;
    if overrides.instructions {
        crate::measure::process::instructions::find_valgrind().map_err(|what| UserError::MissingTool {
            what,
            hint: "`--measure instructions` and `--measure profile` run the starts under valgrind: install \
                   it (`apt-get install valgrind` on Debian and Ubuntu, `dnf install valgrind` on Fedora) or \
                   leave the option out"
                .into(),
        })?;
    }
    let defaults = config::workspace_defaults(&ws.metadata, &ws.root_manifest)?;
    let mut plan = Plan {
        warnings: config::near_misses(&ws.metadata, "workspace.metadata", &ws.root_manifest),
        ..Plan::default()
    };
    let mut configs = Vec::with_capacity(ws.members.len());
    for member in &ws.members {
        plan.warnings.extend(config::near_misses(&member.metadata, "package.metadata", &member.manifest));
        configs.push(config::package_config(
            &member.metadata,
            &member.manifest,
            &member.bins,
            &member.libs,
            &defaults,
        )?);
    }
    let entry_names: Vec<(String, Vec<String>)> = ws
        .members
        .iter()
        .zip(&configs)
        .map(|(m, cfg)| (m.name.clone(), config::entry_names(cfg.start.as_deref(), &m.bins)))
        .collect();
    for (member, cfg) in ws.members.iter().zip(&configs) {
        if let Some(entries) = &cfg.start {
            let elsewhere: Vec<(String, Vec<String>)> =
                entry_names.iter().filter(|(name, _)| *name != member.name).cloned().collect();
            config::check_references(entries, &cfg.manifest, &elsewhere)?;
        }
    }
    for (member, cfg) in ws.members.iter().zip(configs) {
        let common = Common {
            member,
            manifest: &cfg.manifest,
            timeout: overrides.timeout.or(cfg.settings.timeout).unwrap_or(DEFAULT_TIMEOUT),
            policy: overrides.policy(&cfg.settings),
            thresholds: overrides.thresholds(&cfg.settings),
            cache: overrides.cache.or(cfg.settings.cache).unwrap_or_default(),
            top: overrides.top.unwrap_or(DEFAULT_TOP),
            profile: overrides.profile,
            instructions: overrides.instructions.then(|| {
                cfg.settings.instructions_noise.unwrap_or(crate::measure::process::instructions::DEFAULT_TOLERANCE)
            }),
            precision: overrides
                .precision
                .or(cfg.settings.precision)
                .map(|within| Precision { within, max_time: overrides.max_time.unwrap_or(DEFAULT_MAX_TIME) }),
        };
        if overrides.wants(start::KIND) && overrides.libs.is_empty() {
            for entry in start_entries(member, &cfg, overrides) {
                plan.benches.push(common.start(entry)?);
            }
        }
        if overrides.wants(load::KIND) && overrides.bins.is_empty() {
            for entry in load_entries(member, &cfg, overrides) {
                plan.benches.push(common.load(entry)?);
            }
        }
        if overrides.kinds.is_empty() && overrides.bins.is_empty() && overrides.libs.is_empty() {
            for entry in &cfg.python {
                plan.benches.push(common.python(entry)?);
            }
        }
        if let Some(zmq) = cfg.zmq.as_ref().filter(|_| overrides.wants(zmq_suite::KIND)) {
            if overrides.bins.is_empty() && overrides.libs.is_empty() {
                plan.benches.extend(common.zmq(zmq, &cfg.settings, overrides)?);
            }
        }
        if let Some(rpc) = cfg.rpc.as_ref().filter(|_| overrides.wants(rpc_suite::KIND)) {
            if overrides.bins.is_empty() && overrides.libs.is_empty() {
                plan.benches.extend(common.rpc(rpc, &cfg.settings, overrides)?);
            }
        }
        if let Some(tensor) = cfg.tensor.as_ref().filter(|_| overrides.wants(tensor_suite::KIND)) {
            if overrides.bins.is_empty() && overrides.libs.is_empty() {
                plan.benches.extend(common.tensor(tensor, &cfg.settings, overrides));
            }
        }
    }
    if plan.benches.is_empty() && !overrides.lenient {
        if let [suite] = overrides.kinds[..] {
            if [zmq_suite::KIND, rpc_suite::KIND, tensor_suite::KIND].contains(&suite) {
                return Err(UserError::NoSuite { suite }.into());
            }
        }
        let names: Vec<&str> = ws.members.iter().map(|m| m.name.as_str()).collect();
        return Err(UserError::NothingToRun {
            detail: format!("the selected packages ({}) have nothing of the kind asked for", names.join(", ")),
        }
        .into());
    }
    Ok(plan)
}

fn check_selection(ws: &Workspace, overrides: &Overrides) -> Result<()> {
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
    if overrides.cache == Some(CacheMode::Drop) {
        crate::measure::process::cache::check_drop_allowed().map_err(UserError::Invalid)?;
    }
    Ok(())
}

fn start_entries(member: &Member, cfg: &PackageConfig, overrides: &Overrides) -> Vec<StartEntry> {
    let mut entries: Vec<StartEntry> =
        cfg.start.clone().unwrap_or_else(|| member.bins.iter().map(|b| default_start(b)).collect());
    if !overrides.bins.is_empty() {
        let all = entries.clone();
        entries.retain(|e| matches!(&e.target, Target::Bin(b) if overrides.bins.contains(b)));
        // An explicitly requested bin without an entry of its own is run the default way.
        for wanted in overrides.bins.iter().filter(|b| member.bins.contains(b)) {
            if !entries.iter().any(|e| e.target == Target::Bin(wanted.clone())) {
                entries.push(default_start(wanted));
            }
        }
        // A selected entry runs against its reference: bring in the references it needs, in
        // configuration order.
        let mut wanted: Vec<String> = Vec::new();
        let mut queue: Vec<String> = entries.iter().filter_map(|e| e.reference.clone()).collect();
        while let Some(name) = queue.pop() {
            if wanted.contains(&name) || entries.iter().any(|e| e.name == name) {
                continue;
            }
            if let Some(r) = all.iter().find(|e| e.name == name) {
                queue.extend(r.reference.clone());
            }
            wanted.push(name);
        }
        let position = |name: &str| all.iter().position(|e| e.name == name).unwrap_or(usize::MAX);
        entries.extend(all.iter().filter(|e| wanted.contains(&e.name)).cloned());
        entries.sort_by_key(|e| position(&e.name));
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

/// What every benchmark of one package shares.
struct Common<'a> {
    member: &'a Member,
    manifest: &'a std::path::Path,
    timeout: Duration,
    policy: RunPolicy,
    thresholds: Thresholds,
    cache: CacheMode,
    precision: Option<Precision>,
    instructions: Option<f64>,
    profile: bool,
    top: usize,
}

impl Common<'_> {
    fn settings(
        &self,
        kind: &str,
        key: &str,
        budget: &config::RawBudget,
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

    fn start(&self, mut entry: StartEntry) -> Result<Box<dyn Bench>, UserError> {
        let dir = self.member.dir();
        let (program, mut args) = self.program(&entry.target, &entry.key)?;
        args.extend(entry.args);
        let readiness = self.readiness(entry.ready, &entry.key)?;
        let min_speedup = config::min_speedups(&entry.budget, &entry.key, self.manifest)?;
        entry.budget.remove(config::MIN_SPEEDUP);
        let settings = self.settings(start::KIND, &entry.key, &entry.budget, start::all_metrics())?;
        let def = StartDef {
            id: BenchId::new(start::KIND, &self.member.name, &entry.name),
            reference: entry.reference.map(|r| ReferenceSpec {
                id: BenchId::new(start::KIND, &self.member.name, &r).render(),
                head_to_head: true,
                min_speedup,
            }),
            settings,
            program,
            args,
            env: entry.env,
            cwd: dir.to_path_buf(),
            readiness,
            cache: self.cache,
            forbid_loaded: entry.forbid_loaded,
            instructions: self.instructions,
            profile: (self.profile && self.instructions.is_some()).then_some(self.top),
        };
        Ok(Box::new(StartBench::new(def)))
    }

    /// A configured readiness, with its address resolved.
    fn readiness(&self, ready: Ready, key: &str) -> Result<Readiness, UserError> {
        Ok(match ready {
            Ready::Exit => Readiness::Exit,
            Ready::Stdout { pattern } => Readiness::Stdout { pattern },
            Ready::File { path } => Readiness::File { path },
            Ready::Tcp { addr } => Readiness::Tcp {
                addr: probe::address(&addr).ok_or_else(|| {
                    config::config_error(
                        format!("{key}.ready.tcp"),
                        self.manifest,
                        format!("`{addr}` does not resolve to an address"),
                    )
                })?,
            },
        })
    }

    /// The rows of the ZeroMQ suite. Rounds are long, so a row makes `iterations` of them (3
    /// unless said) after one warmup, `--quick` or not; `--runs` and `--warmup` still rule.
    fn zmq(
        &self,
        cfg: &config::zmq::ZmqConfig,
        configured: &Configured,
        overrides: &Overrides,
    ) -> Result<Vec<Box<dyn Bench>>, UserError> {
        let settings = self.suite_settings(configured, overrides, cfg.iterations, 1, self.timeout);
        let users = cfg
            .servers
            .iter()
            .map(|server| {
                Ok(UserRows {
                    name: server.program.name.clone(),
                    pattern: server.pattern,
                    server: self.user_server(server)?,
                })
            })
            .collect::<Result<_, UserError>>()?;
        let input = RowsInput {
            package: &self.member.name,
            sizes: Sizes::new(cfg, overrides.quick),
            groups: &overrides.scenarios,
            settings,
            users,
            no_curve: zmq_suite::curve_missing(),
        };
        Ok(zmq_rows::rows(&input).into_iter().map(|row| Box::new(ZmqBench::new(row)) as Box<dyn Bench>).collect())
    }

    /// The rows of the RPC suite: `iterations` rounds (3 unless said), no warmup round (the
    /// warmup calls are made when a row's worker starts); `--runs` and `--warmup` still rule.
    fn rpc(
        &self,
        cfg: &config::rpc::RpcConfig,
        configured: &Configured,
        overrides: &Overrides,
    ) -> Result<Vec<Box<dyn Bench>>, UserError> {
        let timeout = cfg.timeout.unwrap_or(rpc_rows::DEFAULT_TIMEOUT);
        let settings = self.suite_settings(configured, overrides, cfg.iterations, 0, timeout);
        let user = match &cfg.worker {
            Some(w) => Some(rpc_rows::UserRows {
                name: w.name.clone(),
                worker: self.user_command(w)?,
                calls: cfg.calls.iter().map(|c| (c.method.clone(), c.payload)).collect(),
            }),
            None => None,
        };
        let input = rpc_rows::RowsInput {
            package: &self.member.name,
            sizes: rpc_rows::Sizes::new(cfg, overrides.quick, &overrides.scaling),
            groups: &overrides.scenarios,
            settings,
            user,
            mem_available: crate::suites::server::mem_available(),
        };
        Ok(rpc_rows::rows(&input).into_iter().map(|row| Box::new(RpcBench::new(row)) as Box<dyn Bench>).collect())
    }

    /// The rows of the tensor suite: `iterations` rounds (3 unless said) after the warm round
    /// trip each row makes when it starts; `--runs` and `--warmup` still rule.
    fn tensor(
        &self,
        cfg: &config::tensor::TensorConfig,
        configured: &Configured,
        overrides: &Overrides,
    ) -> Vec<Box<dyn Bench>> {
        use crate::suites::tensor::rows as tensor_rows;
        let timeout = cfg.timeout.unwrap_or(tensor_rows::DEFAULT_TIMEOUT);
        let settings = self.suite_settings(configured, overrides, cfg.iterations, 0, timeout);
        let wants_cuda = overrides.tensor.devices.contains(&config::tensor::Device::Cuda)
            || (overrides.tensor.devices.is_empty()
                && cfg.devices.as_ref().is_none_or(|d| d.contains(&config::tensor::Device::Cuda)));
        let no_cuda = (wants_cuda && !overrides.tensor.no_gpu).then(tensor_suite::no_cuda).flatten();
        let machine = tensor_rows::Machine { no_cuda };
        let input = tensor_rows::RowsInput {
            package: &self.member.name,
            cfg,
            args: &overrides.tensor,
            quick: overrides.quick,
            groups: &overrides.scenarios,
            settings,
            machine,
        };
        tensor_rows::rows(&input)
            .into_iter()
            .map(|row| Box::new(crate::suites::tensor::bench::TensorBench::new(row)) as Box<dyn Bench>)
            .collect()
    }

    /// What an entry runs: a binary of the package, or a program found now, with the command's
    /// own arguments.
    fn program(&self, target: &Target, key: &str) -> Result<(Program, Vec<String>), UserError> {
        Ok(match target {
            Target::Bin(bin) => (Program::Bin(ArtifactRef::bin(&self.member.name, bin)), Vec::new()),
            Target::Command { program, args } => {
                let found = probe::program(program, &format!("{key}.command"), self.member.dir(), self.manifest)?;
                (Program::Path(found), args.clone())
            }
        })
    }

    /// What a user's server or worker runs, in the package's folder.
    fn user_command(&self, p: &ProgramConfig) -> Result<UserCommand, UserError> {
        let (program, mut args) = self.program(&p.target, &p.key)?;
        args.extend(p.args.iter().cloned());
        Ok(UserCommand { program, args, env: p.env.clone(), cwd: self.member.dir().to_path_buf() })
    }

    /// How a suite's rows run: against `--processes` (or `processes`) fresh servers or workers per
    /// side ([`DEFAULT_PROCESSES`], [`QUICK_PROCESSES`] with `--quick`), each for `iterations`
    /// rounds ([`DEFAULT_ROUNDS`] unless said) after `warmup` rounds; `--runs` and `--warmup`
    /// still rule.
    fn suite_settings(
        &self,
        configured: &Configured,
        overrides: &Overrides,
        iterations: Option<u32>,
        warmup: u32,
        timeout: Duration,
    ) -> Settings {
        Settings {
            policy: RunPolicy {
                warmup: overrides.warmup.unwrap_or(warmup),
                runs: RunCount::Exactly(overrides.runs.or(iterations).unwrap_or(DEFAULT_ROUNDS).max(1)),
            },
            thresholds: overrides.thresholds(configured),
            limits: Vec::new(),
            timeout,
            default_entry: false,
            precision: None,
            processes: overrides.processes.or(configured.processes).unwrap_or(if overrides.quick {
                QUICK_PROCESSES
            } else {
                DEFAULT_PROCESSES
            }),
        }
    }

    fn user_server(&self, server: &config::zmq::ServerConfig) -> Result<UserServer, UserError> {
        let command = self.user_command(&server.program)?;
        let key = &server.program.key;
        // Without a `ready`, the server is ready when its endpoint takes connections.
        let ready = match &server.ready {
            Some(ready) => self.readiness(ready.clone(), key)?,
            None => match server.endpoint.strip_prefix("ipc://") {
                Some(path) => Readiness::File { path: path.into() },
                None => {
                    let addr = server.endpoint.trim_start_matches("tcp://").replace("localhost", "127.0.0.1");
                    self.readiness(Ready::Tcp { addr }, key)?
                }
            },
        };
        Ok(UserServer {
            command,
            endpoint: server.endpoint.clone(),
            ready,
            timeout: server.timeout.unwrap_or(self.timeout),
            request: server.request.clone().map(std::sync::Arc::new),
            reply: server.reply.clone().map(std::sync::Arc::new),
        })
    }

    fn load(&self, entry: LoadEntry) -> Result<Box<dyn Bench>, UserError> {
        let def = LoadDef {
            id: BenchId::new(load::KIND, &self.member.name, &entry.name),
            settings: self.settings(load::KIND, &entry.key, &entry.budget, load::all_metrics())?,
            lib: ArtifactRef::lib(&self.member.name, &entry.lib),
            symbol: entry.symbol,
            env: entry.env,
            cwd: self.member.dir().to_path_buf(),
            cache: self.cache,
        };
        Ok(Box::new(LoadBench::new(def)))
    }

    fn python(&self, entry: &PythonEntry) -> Result<Box<dyn Bench>, UserError> {
        let key = format!("{}.python", entry.key);
        let found = probe::program(&entry.python, &key, self.member.dir(), self.manifest)?;
        let python = probe::real_interpreter(&found).map_err(|e| config::config_error(key, self.manifest, e))?;
        let def = PythonDef {
            id: BenchId::new(python::KIND, &self.member.name, &entry.name),
            settings: self.settings(python::KIND, &entry.key, &entry.budget, python::all_metrics())?,
            python,
            module: entry.module.clone(),
            lib: entry.lib.as_ref().map(|l| ArtifactRef::lib(&self.member.name, l)),
            forbid_imported: entry.forbid_imported.clone(),
            watch_imported: entry.watch_imported.clone(),
            top: self.top,
            python_path: entry.python_path.clone(),
            install: entry
                .install
                .clone()
                .map(|command| python::venv::Install { command, inputs: entry.install_inputs.clone() }),
            own_prefix: if entry.own_prefix.is_empty() {
                vec![entry.module.split('.').next().unwrap_or(&entry.module).to_string()]
            } else {
                entry.own_prefix.clone()
            },
            env: entry.env.clone(),
            cwd: self.member.dir().to_path_buf(),
            cache: self.cache,
        };
        Ok(Box::new(PythonBench::new(def)))
    }
}

fn default_start(bin: &str) -> StartEntry {
    StartEntry {
        key: String::new(),
        target: Target::Bin(bin.to_string()),
        name: bin.to_string(),
        args: vec!["--help".to_string()],
        env: BTreeMap::new(),
        ready: Ready::Exit,
        forbid_loaded: Vec::new(),
        reference: None,
        budget: BTreeMap::new(),
    }
}

fn default_load(lib: &str) -> LoadEntry {
    LoadEntry {
        key: String::new(),
        lib: lib.to_string(),
        symbol: None,
        name: lib.to_string(),
        env: BTreeMap::new(),
        budget: BTreeMap::new(),
    }
}

/// The other side of a comparison as the definitions made on `from` see it.
pub fn side_map(from: &Workspace, to: &Workspace, at: &str) -> SideMap {
    SideMap {
        packages: to
            .all_members
            .iter()
            .map(|m| {
                let side = PackageSide { dir: m.dir().to_path_buf(), bins: m.bins.clone(), libs: m.libs.clone() };
                (m.name.clone(), side)
            })
            .collect(),
        from_root: from.root.clone(),
        from_target_dir: from.target_dir.clone(),
        to_root: to.root.clone(),
        at: at.to_string(),
    }
}

/// Applies a plan's definitions to the other side of a comparison: each benchmark bound there,
/// or why it cannot be.
pub fn bind(defs: &Plan, other: &SideMap) -> Vec<Result<Box<dyn Bench>, String>> {
    defs.benches.iter().map(|b| b.rebind(other)).collect()
}
