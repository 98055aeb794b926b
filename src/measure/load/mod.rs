//! Library load: the `dlopen` of a `cdylib`/`dylib` in a fresh helper process (`helper`), timed
//! from inside, with an optional init symbol timed apart, beside an empty helper run so that the
//! process cost of loading can be told from the helper's own.

pub mod helper;
mod plan;

pub use plan::Load;

use std::collections::BTreeMap;
use std::path::PathBuf;

use helper::{LoadReport, LOAD_HELPER_ARG};

use crate::build::ArtifactRef;
use crate::measure::bench::{
    Bench, BenchId, Described, FactsReport, Observation, PrepareEnv, RunFailure, Settings, SideMap,
};
use crate::measure::process::cache::CacheMode;
use crate::measure::process::core::{elf_facts, elf_values, staged_file, ProcessCore};
use crate::measure::process::usage::{self, exact_count};
use crate::measure::process::ProcessSpec;
use crate::results::{fact_metrics, Facts, MetricDesc, OrderedMap, Readiness, Unit};

/// The kind's name: the first part of its ids.
pub const KIND: &str = "load";

/// A load benchmark as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadDef {
    /// Its id.
    pub id: BenchId,
    /// How it runs and is judged.
    pub settings: Settings,
    /// The library target.
    pub lib: ArtifactRef,
    /// An `extern "C" fn()` called after `dlopen`, timed as `init`.
    pub symbol: Option<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Working directory: the package's folder.
    pub cwd: PathBuf,
    /// The page cache before each run.
    pub cache: CacheMode,
}

/// The metrics of a load, in report order.
pub fn all_metrics() -> OrderedMap<MetricDesc> {
    let time = usage::timed;
    let mut out: OrderedMap<MetricDesc> = std::iter::once(usage::wall()).collect();
    out.insert("load", time(true, "dlopen"));
    out.insert("init", time(false, "init"));
    out.insert("process", MetricDesc { line: false, ..time(false, "helper process") });
    out.insert("process_minus_empty", time(false, "process − empty helper"));
    for (name, desc) in usage::usage() {
        out.insert(name, desc);
    }
    out.insert(fact_metrics::MAPPED_LIBS, exact_count("shared objects mapped by loading", Unit::Count, false));
    out.insert(fact_metrics::BINARY_BYTES, exact_count("file size", Unit::Bytes, false));
    out.insert(fact_metrics::RELOCATIONS, exact_count("relocations", Unit::Count, false));
    out
}

/// A load benchmark.
pub struct LoadBench {
    def: LoadDef,
    core: Option<ProcessCore>,
    empty: Option<usize>,
    facts: Facts,
}

impl LoadBench {
    /// A benchmark of this definition.
    pub fn new(def: LoadDef) -> LoadBench {
        LoadBench { def, core: None, empty: None, facts: Facts::default() }
    }
}

impl Bench for LoadBench {
    fn id(&self) -> &BenchId {
        &self.def.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        all_metrics()
    }

    fn settings(&self) -> &Settings {
        &self.def.settings
    }

    fn described(&self) -> Described {
        let lib = self.facts.library.clone().unwrap_or_else(|| self.def.lib.file_name());
        let mut command = vec!["dlopen".to_string(), lib];
        if let Some(symbol) = &self.def.symbol {
            command.push(format!("+ {symbol}()"));
        }
        Described { command, args: Vec::new(), env: self.def.env.clone(), ready: Readiness::Exit }
    }

    fn needs(&self) -> Vec<ArtifactRef> {
        vec![self.def.lib.clone()]
    }

    fn rebind(&self, other: &SideMap) -> Result<Box<dyn Bench>, RunFailure> {
        let package = other.package(&self.def.id.package)?;
        let wanted = self.def.lib.target.replace('-', "_");
        if !package.libs.iter().any(|l| l.replace('-', "_") == wanted) {
            return Err(format!("library `{}` does not exist {}", self.def.lib.target, other.at).into());
        }
        let mut def = self.def.clone();
        def.cwd = package.dir.clone();
        Ok(Box::new(LoadBench::new(def)))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), RunFailure> {
        let (lib, built) = staged_file(env.staged, &self.def.lib)?;
        self.facts.library = Some(built.display().to_string());
        self.facts.run_copy = Some(lib.display().to_string());
        self.facts.program = Some(env.self_exe.display().to_string());
        elf_facts(&lib, &mut self.facts);
        let mut args = vec![LOAD_HELPER_ARG.to_string(), lib.display().to_string()];
        args.extend(self.def.symbol.iter().cloned());
        let helper = |args: Vec<String>, evict: Vec<PathBuf>| ProcessSpec {
            program: env.self_exe.to_path_buf(),
            args,
            env: self.def.env.clone(),
            cwd: self.def.cwd.clone(),
            readiness: Readiness::Exit,
            timeout: self.def.settings.timeout,
            capture_stdout: true,
            capture_stderr: false,
            cache: self.def.cache,
            // A load evicts the library, not the helper (this program, which the runner maps).
            evict_first: Some(evict),
            cpu: None,
        };
        let core = ProcessCore::start(env, helper(args, vec![lib]))?;
        // The same page-cache treatment as the load runs, which do not evict the helper itself.
        self.empty = Some(core.add(&helper(vec![LOAD_HELPER_ARG.to_string()], Vec::new()))?);
        self.core = Some(core);
        Ok(())
    }

    fn facts(&mut self) -> FactsReport {
        let mut facts = self.facts.clone();
        let mut values = elf_values(&facts);
        if let Some(core) = self.core.as_mut() {
            match core.facts_run() {
                Err(e) => facts.problems.push(format!("the facts run failed: {e}")),
                // The helper's own libraries are not the library's: it reports what loading added.
                Ok((_, record)) => {
                    if let Some(mapped) = LoadReport::from_stdout(record.stdout.as_deref()).and_then(|r| r.mapped) {
                        values.push((fact_metrics::MAPPED_LIBS.into(), mapped.len() as f64));
                        facts.mapped_libs = Some(mapped.len() as u64);
                        facts.mapped_objects = Some(mapped);
                    }
                }
            }
        }
        FactsReport { facts, values, checks: Vec::new(), warnings: Vec::new() }
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        let core = self.core.as_mut().ok_or_else(|| RunFailure::new("the benchmark was not prepared"))?;
        let timeout = core.spec().timeout;
        let empty = match self.empty {
            Some(i) => Some(core.run_spec(i)?),
            None => None,
        };
        let record = core.run()?;
        let report = LoadReport::from_stdout(record.stdout.as_deref());
        if let Some(error) = report.as_ref().and_then(|r| r.error.clone()) {
            return Err(RunFailure::new(format!("could not load: {error}")));
        }
        if let Some(reason) = record.failure(&Readiness::Exit, timeout) {
            return Err(RunFailure { reason: format!("the load helper {reason}"), detail: record.stderr_tail.clone() });
        }
        let report = report.ok_or_else(|| RunFailure {
            reason: "the load helper printed no report".into(),
            detail: record.stderr_tail.clone(),
        })?;
        let wall = record.wall.as_secs_f64();
        let mut values = vec![(usage::WALL.into(), wall), ("load".into(), report.load.unwrap_or(0.0))];
        if let Some(init) = report.init {
            values.push(("init".into(), init));
        }
        values.push(("process".into(), wall));
        if let Some(empty) = empty {
            if let Some(reason) = empty.failure(&Readiness::Exit, timeout) {
                return Err(RunFailure::new(format!("the empty helper run {reason}")));
            }
            values.push(("process_minus_empty".into(), wall - empty.wall.as_secs_f64()));
        }
        values.extend(usage::usage_values(&record));
        Ok(Observation { elapsed: record.wall, values, ..Observation::default() })
    }

    fn teardown(&mut self, report: &mut FactsReport) {
        if let Some(core) = self.core.take() {
            report.facts.residency = core.residency();
        }
    }
}
