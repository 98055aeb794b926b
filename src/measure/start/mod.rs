//! Process start: the time from spawn to exit (or to "ready") of a binary or command, its own
//! resource usage, and the facts behind it — what it maps at the end event, what the loader did,
//! what its ELF file says, and whether a forbidden shared object was loaded.

mod plan;
pub mod reported;

pub use plan::Start;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::build::ArtifactRef;
use crate::measure::bench::{
    Bench, BenchId, Described, FactsReport, Observation, PrepareEnv, ReferenceSpec, RunFailure, Settings, SideMap,
};
use crate::measure::process::cache::CacheMode;
use crate::measure::process::core::{
    elf_facts, elf_values, forbidden_check, forbidden_objects, staged_file, ProcessCore,
};
use crate::measure::process::usage::{self, exact_count};
use crate::measure::process::ProcessSpec;
use crate::measure::process::{instructions, profile};
use crate::results::{fact_metrics, Facts, MetricDesc, OrderedMap, Readiness, Unit};

/// The kind's name: the first part of its ids.
pub const KIND: &str = "start";

/// The file callgrind writes a profile into, renamed after each run.
const PROFILE_FILE: &str = "callgrind.out";

pub use crate::measure::process::core::Program;

/// A start benchmark as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct StartDef {
    /// Its id.
    pub id: BenchId,
    /// How it runs and is judged.
    pub settings: Settings,
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
    /// The page cache before each run.
    pub cache: CacheMode,
    /// Shared objects that must not be mapped at the end event.
    pub forbid_loaded: Vec<String>,
    /// `--measure instructions`: also count instructions under callgrind, compared up to this
    /// relative tolerance (`instructions-noise`).
    pub instructions: Option<f64>,
    /// `--measure profile`: keep the profile of the callgrind run whose count was the median,
    /// whose reports list this many functions (`--top`).
    pub profile: Option<usize>,
    /// The start benchmark it runs against, interleaved (`reference`): a head-to-head.
    pub reference: Option<ReferenceSpec>,
}

/// Every metric a start benchmark can have, in report order (for files written without
/// descriptors).
pub fn all_metrics() -> OrderedMap<MetricDesc> {
    metrics_with(true)
}

fn metrics_with(forbidden: bool) -> OrderedMap<MetricDesc> {
    let mut out: OrderedMap<MetricDesc> = std::iter::once(usage::wall()).chain(usage::usage()).collect();
    out.insert(fact_metrics::MAPPED_LIBS, exact_count("mapped shared objects", Unit::Count, false));
    out.insert(fact_metrics::BINARY_BYTES, exact_count("file size", Unit::Bytes, false));
    out.insert(fact_metrics::RELOCATIONS, exact_count("relocations", Unit::Count, false));
    if forbidden {
        out.insert(fact_metrics::FORBIDDEN_LOADED, exact_count("forbidden shared objects", Unit::Count, true));
    }
    out
}

/// A start benchmark: configured, then prepared with the side's built files.
pub struct StartBench {
    def: StartDef,
    core: Option<ProcessCore>,
    facts: Facts,
    /// The runner's index of the callgrind run, or why there is none.
    callgrind: Option<Result<usize, String>>,
    /// With `--measure profile`: the folder callgrind writes its profiles into.
    profiles: Option<tempfile::TempDir>,
    /// What the program reports about itself (`COLDBENCH_METRICS`).
    reported: reported::ReportedMetrics,
}

impl StartBench {
    /// A benchmark of this definition.
    pub fn new(def: StartDef) -> StartBench {
        StartBench {
            def,
            core: None,
            facts: Facts::default(),
            callgrind: None,
            profiles: None,
            reported: Default::default(),
        }
    }

    /// The instruction count: the median of [`instructions::RUNS`] runs under callgrind, with
    /// every count for the facts, and the index of the run whose count is the median.
    fn count_instructions(&mut self) -> Result<(f64, Vec<u64>, usize), String> {
        let index = match self.callgrind.clone() {
            Some(index) => index?,
            None => return Err("not prepared".into()),
        };
        let core = self.core.as_mut().ok_or("not prepared")?;
        let mut counts = Vec::new();
        for _ in 0..instructions::RUNS {
            let record = core.run_spec(index).map_err(|f| f.reason)?;
            let stderr = record.stderr.as_deref().unwrap_or_default();
            let Some(count) = instructions::collected(stderr) else {
                let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                let ending = record.failure(&Readiness::Exit, Duration::ZERO).unwrap_or_else(|| "it exited".into());
                return Err(format!(
                    "callgrind gave no instruction count ({ending}): {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                ));
            };
            if let Some(dir) = &self.profiles {
                let written = dir.path().join(PROFILE_FILE);
                std::fs::rename(&written, dir.path().join(format!("run-{}.out", counts.len())))
                    .map_err(|e| format!("callgrind wrote no profile at {}: {e}", written.display()))?;
            }
            counts.push(count);
        }
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        let run = counts.iter().position(|&c| c == median).unwrap_or(0);
        Ok((median as f64, counts, run))
    }

    /// The profile of the callgrind run `run` (`--measure profile`), listing `top` functions.
    fn read_profile(&self, run: usize, top: usize) -> Result<crate::results::Profile, String> {
        let dir = self.profiles.as_ref().ok_or("not prepared")?;
        let core = self.core.as_ref().ok_or("not prepared")?;
        profile::read(&dir.path().join(format!("run-{run}.out")), &core.spec().program, top)
    }
}

impl Bench for StartBench {
    fn id(&self) -> &BenchId {
        &self.def.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        let mut m = metrics_with(!self.def.forbid_loaded.is_empty());
        if let Some(tolerance) = self.def.instructions {
            m.insert(instructions::METRIC, instructions::metric(tolerance));
        }
        for (name, desc) in self.reported.metrics.iter() {
            m.insert(name.to_string(), desc.clone());
        }
        m
    }

    fn reference(&self) -> Option<ReferenceSpec> {
        self.def.reference.clone()
    }

    fn settings(&self) -> &Settings {
        &self.def.settings
    }

    fn described(&self) -> Described {
        let program = match (&self.def.program, &self.facts.program) {
            (Program::Path(p), _) => p.display().to_string(),
            (Program::Bin(_), Some(built)) => built.clone(),
            (Program::Bin(a), None) => a.target.clone(),
        };
        Described {
            command: std::iter::once(program).chain(self.def.args.iter().cloned()).collect(),
            args: self.def.args.clone(),
            env: self.def.env.clone(),
            ready: self.def.readiness.clone(),
        }
    }

    fn needs(&self) -> Vec<ArtifactRef> {
        self.def.program.artifact().cloned().into_iter().collect()
    }

    fn rebind(&self, other: &SideMap) -> Result<Box<dyn Bench>, RunFailure> {
        let package = other.package(&self.def.id.package)?;
        let mut def = self.def.clone();
        def.program = self.def.program.rebind(package, other)?;
        def.cwd = package.dir.clone();
        if let Readiness::File { path } = &self.def.readiness {
            if let Ok(rel) = path.strip_prefix(&self.def.cwd) {
                def.readiness = Readiness::File { path: package.dir.join(rel) };
            }
        }
        Ok(Box::new(StartBench::new(def)))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), RunFailure> {
        let program = match &self.def.program {
            Program::Bin(a) => {
                let (copy, built) = staged_file(env.staged, a)?;
                self.facts.program = Some(built.display().to_string());
                self.facts.run_copy = Some(copy.display().to_string());
                copy
            }
            Program::Path(path) => {
                self.facts.program = Some(path.display().to_string());
                path.clone()
            }
        };
        elf_facts(&program, &mut self.facts);
        let mut env_vars = self.def.env.clone();
        let metrics_file = self.reported.open(self.metrics().keys().map(str::to_string).collect())?;
        env_vars.insert(reported::ENV.into(), metrics_file.display().to_string());
        let spec = ProcessSpec {
            program,
            args: self.def.args.clone(),
            env: env_vars,
            cwd: self.def.cwd.clone(),
            readiness: self.def.readiness.clone(),
            timeout: self.def.settings.timeout,
            capture_stdout: false,
            capture_stderr: false,
            cache: self.def.cache,
            evict_first: None,
            cpu: None,
        };
        if self.def.instructions.is_some() {
            let valgrind = instructions::find_valgrind()?;
            if self.def.profile.is_some() {
                let dir = tempfile::Builder::new()
                    .prefix("coldbench-profile-")
                    .tempdir()
                    .map_err(|e| format!("could not make a folder for callgrind's profiles: {e}"))?;
                self.profiles = Some(dir);
            }
            let profile_to = self.profiles.as_ref().map(|d| d.path().join(PROFILE_FILE));
            let under = instructions::under_callgrind(&spec, &valgrind, profile_to.as_deref());
            self.core = Some(ProcessCore::start(env, spec)?);
            self.callgrind = Some(self.core.as_ref().expect("just started").add(&under));
        } else {
            self.core = Some(ProcessCore::start(env, spec)?);
        }
        Ok(())
    }

    fn facts(&mut self) -> FactsReport {
        let mut facts = std::mem::take(&mut self.facts);
        let mut values = elf_values(&facts);
        let mut checks = Vec::new();
        if let Some(core) = self.core.as_mut() {
            core.take_facts(&mut facts, &mut values);
        }
        if let (Some(mapped), false) = (&facts.mapped_objects, self.def.forbid_loaded.is_empty()) {
            facts.forbidden_loaded = Some(forbidden_objects(mapped, &self.def.forbid_loaded));
        }
        if !self.def.forbid_loaded.is_empty() {
            if let Some(found) = &facts.forbidden_loaded {
                values.push((fact_metrics::FORBIDDEN_LOADED.into(), found.len() as f64));
            }
            checks.push(forbidden_check("forbidden_loaded", facts.forbidden_loaded.clone(), &facts.problems));
        }
        if self.def.instructions.is_some() {
            match self.count_instructions() {
                Ok((median, counts, run)) => {
                    values.push((instructions::METRIC.into(), median));
                    facts.other.insert(
                        instructions::METRIC.into(),
                        serde_json::json!({ "counts": counts, "tool": "valgrind --tool=callgrind" }),
                    );
                    if let Some(top) = self.def.profile {
                        match self.read_profile(run, top) {
                            Ok(p) => facts.profile = Some(p),
                            Err(why) => facts.problems.push(format!("profile: {why}")),
                        }
                    }
                }
                Err(why) => facts.problems.push(format!("instructions: {why}")),
            }
        }
        self.facts.program = facts.program.clone();
        FactsReport { facts, values, checks, warnings: Vec::new() }
    }

    fn expect_rounds(&mut self, rounds: u32) {
        if let Some(core) = &self.core {
            core.expect_rounds(rounds);
        }
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        let core = self.core.as_mut().ok_or_else(|| RunFailure::new("the benchmark was not prepared"))?;
        let record = core.run()?;
        if let Some(reason) = record.failure(&core.spec().readiness, core.spec().timeout) {
            return Err(RunFailure { reason, detail: record.stderr_tail.clone() });
        }
        let mut values = vec![(usage::WALL.into(), record.wall.as_secs_f64())];
        values.extend(usage::usage_values(&record));
        let own = self.reported.take(record.reported.as_ref()).map_err(RunFailure::new)?;
        values.extend(own.into_iter().map(|(name, v)| (name.into(), v)));
        Ok(Observation { elapsed: record.wall, values, ..Observation::default() })
    }

    fn teardown(&mut self, report: &mut FactsReport) {
        if let Some(core) = self.core.take() {
            report.facts.residency = core.residency();
        }
        self.profiles = None;
        self.reported.close();
    }
}
