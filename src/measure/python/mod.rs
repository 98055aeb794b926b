//! Python import: `python -X importtime -c "import MODULE; ..."` per run, read by `importtime`:
//! the module's cumulative and own import time, the time of all imports, the number of modules
//! (those the import-time log shows, and `len(sys.modules)` after the import, which the command
//! prints), and the lazy-loading check (`forbid-imported`). A PyO3 `cdylib` of the package is
//! placed on `PYTHONPATH` as the module, so a maturin project needs no install step. With
//! `install`, each side imports from its own virtual environment (`venv`).

pub mod config;
pub mod importtime;
mod plan;
pub mod venv;

pub use plan::Python;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::build::ArtifactRef;
use crate::measure::bench::{
    Bench, BenchId, Described, FactsReport, Observation, PrepareEnv, RunFailure, Settings, SideMap,
};
use crate::measure::process::cache::CacheMode;
use crate::measure::process::core::{forbidden_check, staged_file, ProcessCore};
use crate::measure::process::usage::{self, exact_count};
use crate::measure::process::ProcessSpec;
use crate::results::{
    fact_metrics, Better, Facts, ImportNode, Location, MetricDesc, OrderedMap, Readiness, Stat, Unit,
};

/// The kind's name: the first part of its ids.
pub const KIND: &str = "python";

/// A Python import benchmark as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonDef {
    /// Its id.
    pub id: BenchId,
    /// How it runs and is judged.
    pub settings: Settings,
    /// The interpreter (the real one, not a version manager's shim).
    pub python: PathBuf,
    /// The module to import.
    pub module: String,
    /// A built `cdylib` placed on `PYTHONPATH` as the module.
    pub lib: Option<ArtifactRef>,
    /// Modules that must not be imported.
    pub forbid_imported: Vec<String>,
    /// The package's own top-level packages: modules under them count as its own.
    pub own_prefix: Vec<String>,
    /// Modules whose loading is reported (`watch-imported`), beside the forbidden ones.
    pub watch_imported: Vec<String>,
    /// How many of the slowest imports to list (`--top`).
    pub top: usize,
    /// Folders relative to `cwd` (the package) put first on `PYTHONPATH`, after the extension
    /// module's: on each side of a comparison, that side's checkout.
    pub python_path: Vec<PathBuf>,
    /// Installs the dependencies into a virtual environment of this side, made with `python`,
    /// whose interpreter then imports the module.
    pub install: Option<venv::Install>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Working directory: the package's folder.
    pub cwd: PathBuf,
    /// The page cache before each run.
    pub cache: CacheMode,
}

/// Every metric an import benchmark can have, in report order.
pub fn all_metrics() -> OrderedMap<MetricDesc> {
    metrics_with(true)
}

fn metrics_with(forbidden: bool) -> OrderedMap<MetricDesc> {
    let time = usage::timed;
    let mut out: OrderedMap<MetricDesc> = std::iter::once(usage::wall()).collect();
    out.insert("import", time(true, "import"));
    out.insert("import_self", time(false, "self"));
    out.insert("import_total", time(false, "all imports"));
    out.insert(
        "modules",
        MetricDesc {
            compare: Location::Mean,
            // A budget on modules holds for every run: one that imports more fails it.
            stat: Some(Stat::Max),
            label: "modules".into(),
            line: true,
            ..MetricDesc::new(Unit::Count, Better::Lower)
        },
    );
    // `len(sys.modules)` after the import, the count that scripts built on `sys.modules` report
    // and budget: with the modules the interpreter had before the import-time log starts
    // (builtin and frozen ones), without the imports that failed (optional dependencies tried).
    out.insert(
        "modules_total",
        MetricDesc {
            compare: Location::Mean,
            stat: Some(Stat::Max),
            label: "sys.modules".into(),
            line: true,
            ..MetricDesc::new(Unit::Count, Better::Lower)
        },
    );
    // The modules of the package itself, under `own-prefix` (its top-level package by default):
    // the part of the module count the package's authors decide.
    out.insert(
        "own_modules",
        MetricDesc {
            compare: Location::Mean,
            stat: Some(Stat::Max),
            label: "own modules".into(),
            line: true,
            ..MetricDesc::new(Unit::Count, Better::Lower)
        },
    );
    for (name, desc) in usage::usage() {
        out.insert(name, desc);
    }
    out.insert(fact_metrics::MAPPED_LIBS, exact_count("mapped shared objects", Unit::Count, false));
    out.insert(fact_metrics::IMPORTED_MODULES, exact_count("modules imported", Unit::Count, false));
    if forbidden {
        out.insert(fact_metrics::FORBIDDEN_IMPORTED, exact_count("forbidden modules", Unit::Count, true));
    }
    out
}

/// An import benchmark.
pub struct PythonBench {
    def: PythonDef,
    /// The interpreter that imports: `def.python`, or its environment's once prepared.
    python: PathBuf,
    core: Option<ProcessCore>,
    facts: Facts,
    /// The folder put first on `PYTHONPATH`, holding the extension module; lives as long as the runs.
    staging: Option<tempfile::TempDir>,
    /// Per module, in how many measured runs it was imported; and the runs.
    imported_in: BTreeMap<String, usize>,
    runs: usize,
    /// The import trees of the first [`KEPT_TREES`] runs, with the module's import time.
    trees: Vec<(f64, Vec<ImportNode>)>,
}

/// Runs whose import trees are kept to pick the representative (median) one from.
const KEPT_TREES: usize = 101;

impl PythonBench {
    /// A benchmark of this definition.
    pub fn new(def: PythonDef) -> PythonBench {
        PythonBench {
            python: def.python.clone(),
            def,
            core: None,
            facts: Facts::default(),
            staging: None,
            imported_in: BTreeMap::new(),
            runs: 0,
            trees: Vec::new(),
        }
    }

    fn args(&self) -> Vec<String> {
        vec!["-X".into(), "importtime".into(), "-c".into(), importtime::import_code(&self.def.module)]
    }

    /// This side's environment: reused when its key is there, else made (and said so); the facts
    /// name it.
    fn environment(&mut self, install: &venv::Install, env: &PrepareEnv) -> Result<venv::Env, venv::EnvFailure> {
        let venvs = env.staged.store_dir.join(venv::VENVS_DIR);
        let key = venv::key(&self.def.python, install, &self.def.cwd)?;
        let id = self.def.id.render();
        let made = match venv::existing(&venvs, &key) {
            Some(found) => {
                env.progress.note(&format!(
                    "{id}: reusing the Python environment {} of {}",
                    found.dir.display(),
                    self.def.cwd.display()
                ));
                found
            }
            None => {
                let command = shlex::try_join(install.command.iter().map(String::as_str)).unwrap_or_default();
                env.progress.status(
                    "Installing",
                    &format!("{id}: a Python environment with `{command}` in {}", self.def.cwd.display()),
                );
                venv::make(&venvs, &key, &self.def.python, install, &self.def.cwd)?
            }
        };
        let how = match made.made {
            Some(took) => format!("made in {:.1} s", took.as_secs_f64()),
            None => "reused".to_string(),
        };
        self.facts.other.insert("python_env".into(), serde_json::json!(format!("{} ({how})", made.dir.display())));
        Ok(made)
    }
}

impl Bench for PythonBench {
    fn id(&self) -> &BenchId {
        &self.def.id
    }

    fn reads_pythonpath(&self) -> bool {
        true
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        metrics_with(!self.def.forbid_imported.is_empty())
    }

    fn settings(&self) -> &Settings {
        &self.def.settings
    }

    fn described(&self) -> Described {
        let args = self.args();
        Described {
            command: std::iter::once(self.python.display().to_string()).chain(args.iter().cloned()).collect(),
            args,
            env: self.def.env.clone(),
            ready: Readiness::Exit,
        }
    }

    fn needs(&self) -> Vec<ArtifactRef> {
        self.def.lib.iter().cloned().collect()
    }

    fn rebind(&self, other: &SideMap) -> Result<Box<dyn Bench>, RunFailure> {
        let package = other.package(&self.def.id.package)?;
        let mut def = self.def.clone();
        if let Some(lib) = &self.def.lib {
            let wanted = lib.target.replace('-', "_");
            if !package.libs.iter().any(|l| l.replace('-', "_") == wanted) {
                return Err(format!("library `{}` does not exist {}", lib.target, other.at).into());
            }
        }
        for folder in &self.def.python_path {
            if !package.dir.join(folder).is_dir() {
                return Err(format!("python-path folder `{}` does not exist {}", folder.display(), other.at).into());
            }
        }
        def.python = other.reroot(&self.def.python);
        def.cwd = package.dir.clone();
        Ok(Box::new(PythonBench::new(def)))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), RunFailure> {
        if let Some(install) = self.def.install.clone() {
            let made = self.environment(&install, env).map_err(|e| e.failure())?;
            self.python = made.python;
        }
        let mut vars = self.def.env.clone();
        self.facts.program = Some(self.python.display().to_string());
        // PYTHONPATH: the extension module's folder, the configured source folders of this side,
        // then whatever the user had.
        let mut path: Vec<String> = Vec::new();
        if let Some(a) = &self.def.lib {
            let (lib, built) = staged_file(env.staged, a)?;
            let dir = tempfile::tempdir().map_err(|e| format!("could not create a folder for the module: {e}"))?;
            // Python finds an extension module `a.b` as a/b.so under a folder on PYTHONPATH.
            let module = &self.def.module;
            let target = dir.path().join(format!("{}.so", module.replace('.', "/")));
            let mut parent = target.parent().expect("inside the folder").to_path_buf();
            std::fs::create_dir_all(&parent).map_err(|e| e.to_string())?;
            while parent != dir.path() {
                std::fs::write(parent.join("__init__.py"), "").map_err(|e| e.to_string())?;
                parent.pop();
            }
            crate::build::stage::fresh_copy(&lib, &target)
                .map_err(|e| format!("could not place {} as {}: {e:#}", lib.display(), target.display()))?;
            path.push(dir.path().display().to_string());
            self.facts.library = Some(built.display().to_string());
            self.facts.run_copy = Some(target.display().to_string());
            self.staging = Some(dir);
        }
        for folder in &self.def.python_path {
            let full = self.def.cwd.join(folder);
            if !full.is_dir() {
                return Err(format!("python-path folder {} does not exist", full.display()).into());
            }
            path.push(full.display().to_string());
        }
        if !path.is_empty() {
            if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
                path.push(old.to_string_lossy().into_owned());
            }
            vars.insert("PYTHONPATH".into(), path.join(":"));
        }
        let spec = ProcessSpec {
            program: self.python.clone(),
            args: self.args(),
            env: vars,
            cwd: self.def.cwd.clone(),
            readiness: Readiness::Exit,
            timeout: self.def.settings.timeout,
            capture_stdout: false,
            capture_stderr: true,
            cache: self.def.cache,
            evict_first: None,
            cpu: None,
        };
        self.core = Some(ProcessCore::start(env, spec)?);
        Ok(())
    }

    fn facts(&mut self) -> FactsReport {
        let mut facts = self.facts.clone();
        let mut values = Vec::new();
        let mut checks = Vec::new();
        let record = self.core.as_mut().and_then(|core| core.take_facts(&mut facts, &mut values));
        if let Some(record) = record {
            let stderr = record.stderr.as_deref().unwrap_or("");
            match importtime::parse_importtime(stderr, &self.def.module) {
                Ok(times) => {
                    values.push((fact_metrics::IMPORTED_MODULES.into(), times.modules.len() as f64));
                    facts.imported_modules = Some(times.modules.len() as u64);
                    let watched: BTreeMap<String, bool> = self
                        .def
                        .watch_imported
                        .iter()
                        .chain(&self.def.forbid_imported)
                        .map(|m| {
                            (
                                m.clone(),
                                !importtime::forbidden_imports(&times.modules, std::slice::from_ref(m)).is_empty(),
                            )
                        })
                        .collect();
                    if !watched.is_empty() {
                        facts.watched_imports = Some(watched);
                    }
                    if !self.def.forbid_imported.is_empty() {
                        let found = importtime::forbidden_imports(&times.modules, &self.def.forbid_imported);
                        values.push((fact_metrics::FORBIDDEN_IMPORTED.into(), found.len() as f64));
                        facts.forbidden_imported = Some(found);
                    }
                }
                Err(e) => facts.problems.push(format!("the facts run's import times: {e}")),
            }
        }
        if !self.def.forbid_imported.is_empty() {
            checks.push(forbidden_check("forbidden_imported", facts.forbidden_imported.clone(), &facts.problems));
        }
        FactsReport { facts, values, checks, warnings: Vec::new() }
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        let core = self.core.as_mut().ok_or_else(|| RunFailure::new("the benchmark was not prepared"))?;
        let record = core.run()?;
        let module = &self.def.module;
        let stderr = record.stderr.as_deref().unwrap_or("");
        if let Some(failure) = record.failure(&Readiness::Exit, core.spec().timeout) {
            let why = importtime::failure_line(stderr).unwrap_or(failure);
            return Err(RunFailure::new(format!("import {module} failed: {why}")));
        }
        let times = importtime::parse_importtime(stderr, module)
            .map_err(|e| RunFailure::new(format!("could not read the import times: {e}")))?;
        self.runs += 1;
        for m in &times.modules {
            *self.imported_in.entry(m.clone()).or_default() += 1;
        }
        if self.trees.len() < KEPT_TREES {
            self.trees.push((times.cumulative_secs, importtime::import_tree(stderr)));
        }
        let mut values = vec![
            (usage::WALL.into(), record.wall.as_secs_f64()),
            ("import".into(), times.cumulative_secs),
            ("import_self".into(), times.self_secs),
            ("import_total".into(), times.total_secs),
            ("modules".into(), times.modules.len() as f64),
            ("modules_total".into(), times.modules_total as f64),
            ("own_modules".into(), importtime::own_modules(&times.modules, &self.def.own_prefix) as f64),
        ];
        values.extend(usage::usage_values(&record));
        Ok(Observation { elapsed: record.wall, values, ..Observation::default() })
    }

    fn teardown(&mut self, report: &mut FactsReport) {
        if let Some(core) = self.core.take() {
            report.facts.residency = core.residency();
        }
        self.staging = None;
        // The tree of the run whose import time is the median: one real run, not an average.
        if !self.trees.is_empty() {
            self.trees.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (_, tree) = self.trees.swap_remove(self.trees.len() / 2);
            report.facts.slowest_imports = Some(importtime::slowest(&tree, &self.def.module, self.def.top));
            report.facts.import_tree = Some(tree);
            self.trees.clear();
        }
        // A module that some runs import and others do not (a race, a plugin scan) makes the
        // module count vary: say which, rather than let a mean of counts hide it.
        let unstable: BTreeMap<String, usize> =
            self.imported_in.iter().filter(|(_, n)| **n < self.runs).map(|(m, n)| (m.clone(), *n)).collect();
        if !unstable.is_empty() {
            let listed: Vec<String> =
                unstable.iter().take(5).map(|(m, n)| format!("`{m}` in {n} of {}", self.runs)).collect();
            let more = if unstable.len() > 5 { format!(" and {} more", unstable.len() - 5) } else { String::new() };
            report.warnings.push(format!(
                "the modules imported differ from run to run ({}{more}): the module count is not one number",
                listed.join(", ")
            ));
            report.facts.other.insert("unstable_imports".into(), serde_json::json!(unstable));
        }
    }
}
