//! `cargo coldbench` and `cargo coldbench start`: plan, build, measure, save.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::assemble;
use crate::cli::FailOn;
use crate::compare::Verdict;
use crate::comparison;
use crate::git::{self, GitFacts};
use crate::host;
use std::collections::BTreeMap;

use crate::measure::bench::ProcessBench;
use crate::measure::elf;
use crate::measure::facts::ProcessFacts;
use crate::measure::load_helper::LOAD_HELPER_ARG;
use crate::measure::process::{ProcessSpec, Readiness, RunRecord};
use crate::plan::{self, BenchPlan, Overrides, Probe, Program};
use crate::results::{BenchmarkResult, Comparison, Facts, Kind, RunConfig, RunDocument, Status, Store, SCHEMA};
use crate::scheduler::{self, Bench, Measured, Progress, RunFailure};
use crate::stage::Staged;
use crate::ui::Ui;
use crate::workspace::{self, CargoOptions};

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cargo's options.
    pub cargo: CargoOptions,
    /// Command-line overrides of the configuration.
    pub overrides: Overrides,
    /// `--no-build`.
    pub no_build: bool,
    /// `--output-dir`.
    pub output_dir: Option<PathBuf>,
    /// The program that serves as the runner (normally this executable).
    pub runner_exe: PathBuf,
    /// `--baseline NAME`: compare with this saved baseline.
    pub baseline: Option<String>,
    /// `--config-from`: whose definitions a comparison applies.
    pub config_from: crate::cli::ConfigFrom,
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

/// The exit status of DESIGN §2 for a document: 4 when a benchmark failed, 3 when the gate
/// failed, else 0.
pub fn exit_code(document: &RunDocument, fail_on: FailOn) -> u8 {
    let benches = &document.benchmarks;
    if benches.iter().any(|b| b.status == Status::Failed) {
        return 4;
    }
    if fail_on == FailOn::Never {
        return 0;
    }
    if benches.iter().any(BenchmarkResult::over_budget) {
        return 3;
    }
    let worst = document.comparison.as_ref().and_then(|c| comparison::worst_gating_verdict(&c.rows));
    let gate = match fail_on {
        FailOn::Regression => matches!(worst, Some(Verdict::Failure)),
        FailOn::Warning => matches!(worst, Some(Verdict::Failure | Verdict::Warning)),
        FailOn::Budget | FailOn::Never => false,
    };
    if gate {
        3
    } else {
        0
    }
}

/// Plans, builds, measures every start benchmark and saves the result.
pub fn run(opts: &RunOptions, ui: &Ui) -> Result<RunOutcome> {
    let ws = workspace::load(&opts.cargo)?;
    let plan = plan::plan(&ws, &opts.overrides)?;
    let store = open_store(opts, &ws.target_dir);
    let baseline = opts.baseline.as_ref().map(|name| store.load_baseline(name).map(|doc| (name, doc))).transpose()?;
    let lock = lock_store(&store, ui)?;

    for warning in &plan.warnings {
        ui.warn(warning);
    }
    let targets = plan.to_build();
    let executables = if opts.no_build {
        workspace::find_built(&ws, &opts.cargo, &targets)?
    } else {
        workspace::build(&ws, &opts.cargo, &targets, ui)?
    };
    let staged = Staged::new(store.dir(), "run", executables).context("copying the built files to measure them")?;

    let timestamp = now();
    let benchmarks: Vec<BenchmarkResult> =
        plan.benches.iter().map(|b| measure_alone(b, &staged, &opts.runner_exe, ui)).collect();
    let git = git::facts(&ws.root);
    let comparison = baseline.map(|(name, doc)| {
        let side = crate::results::Side {
            label: "working tree".into(),
            sha: git.as_ref().map(|g| g.sha.clone()),
            dirty: git.as_ref().is_some_and(|g| g.dirty),
        };
        comparison::against_document(&doc, format!("baseline {name}"), &benchmarks, side, opts.overrides.noise)
    });
    let document = document(opts, timestamp, git, benchmarks, comparison);
    let saved = store.save_run(&document, &lock).context("saving the results")?;
    Ok(RunOutcome { document, saved, store })
}

/// The results folder for a run.
pub(crate) fn open_store(opts: &RunOptions, target_dir: &Path) -> Store {
    Store::new(opts.output_dir.clone().unwrap_or_else(|| target_dir.join("coldbench")))
}

/// Takes the store's lock, saying so when another run holds it.
pub(crate) fn lock_store(store: &Store, ui: &Ui) -> Result<crate::results::StoreLock> {
    store.lock(|path| {
        ui.status("Blocking", format!("waiting for another coldbench run to finish (lock: {})", path.display()))
    })
}

/// The current UTC time as RFC 3339.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Assembles a result document.
pub(crate) fn document(
    opts: &RunOptions,
    timestamp: String,
    git: Option<GitFacts>,
    benchmarks: Vec<BenchmarkResult>,
    comparison: Option<Comparison>,
) -> RunDocument {
    RunDocument {
        schema: SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp,
        git,
        host: host::collect(),
        config: RunConfig {
            profile: opts.cargo.profile.clone(),
            features: opts.cargo.features.clone(),
            all_features: opts.cargo.all_features,
            no_default_features: opts.cargo.no_default_features,
            no_build: opts.no_build,
        },
        benchmarks,
        comparison,
    }
}

/// Measures one start benchmark on its own.
pub(crate) fn measure_alone(start: &BenchPlan, staged: &Staged, runner_exe: &Path, ui: &Ui) -> BenchmarkResult {
    measure_sides(&[(start, staged)], runner_exe, ui).remove(0)
}

/// Measures the same benchmark on several sides, interleaved, with the last side's (the
/// candidate's) run policy.
///
/// Each side first gets one untimed facts run (mapped objects, loader statistics), then the
/// warmups and measured runs.
pub(crate) fn measure_sides(sides: &[(&BenchPlan, &Staged)], runner_exe: &Path, ui: &Ui) -> Vec<BenchmarkResult> {
    let (first, _) = sides[sides.len() - 1];
    let bar = ui.bar(first.policy.runs.planned(&[]) as u64, "Measuring");
    bar.set_message(first.id.clone());
    if !ui.quiet && bar.is_hidden() {
        ui.status("Measuring", &first.id);
    }
    let fail_all = |reason: String| -> Vec<BenchmarkResult> {
        let failure = RunFailure { reason, detail: None };
        sides
            .iter()
            .map(|(plan, _)| {
                let measured = Measured { failure: Some(failure.clone()), ..Measured::default() };
                assemble::result(plan, &measured, Facts::default(), None)
            })
            .collect()
    };
    let prepared: Vec<Prepared> = match sides.iter().map(|(plan, exes)| prepare(plan, exes, runner_exe)).collect() {
        Ok(p) => p,
        Err(e) => return fail_all(e),
    };
    let empty_helper = (first.kind == Kind::Load).then(|| ProcessSpec {
        program: runner_exe.to_path_buf(),
        args: vec![LOAD_HELPER_ARG.to_string()],
        env: BTreeMap::new(),
        cwd: first.cwd.clone(),
        readiness: Readiness::Exit,
        timeout: first.timeout,
        capture_stdout: true,
        capture_stderr: false,
        // The same page-cache treatment as the load runs, which do not evict the helper itself.
        cache: first.cache,
        evict_first: Some(Vec::new()),
    });
    let specs = sides.iter().zip(&prepared).map(|((plan, _), p)| (p.spec.clone(), plan.probe.clone())).collect();
    let mut benches = match ProcessBench::for_sides(runner_exe, specs, empty_helper) {
        Ok(b) => b,
        Err(e) => return fail_all(format!("could not start the runner: {e}")),
    };
    let facts_runs: Vec<Result<(ProcessFacts, RunRecord), String>> = benches.iter_mut().map(|b| b.facts()).collect();
    let mut measured = {
        let mut refs: Vec<&mut dyn Bench> = benches.iter_mut().map(|b| b as &mut dyn Bench).collect();
        let n = refs.len();
        let mut progress = BarProgress { bar: &bar, sides: n };
        scheduler::run_interleaved(&mut refs, first.policy, &mut progress)
    };
    // A broken baseline stops the interleaving, but the candidate still deserves its numbers.
    let last = measured.len() - 1;
    if last > 0 && measured[0].failure.is_some() && measured[last].stopped.is_some() {
        let mut progress = BarProgress { bar: &bar, sides: 1 };
        let candidate: &mut dyn Bench = &mut benches[last];
        measured[last] = scheduler::run_interleaved(&mut [candidate], first.policy, &mut progress).remove(0);
    }
    bar.finish_and_clear();
    sides
        .iter()
        .zip(measured)
        .zip(prepared)
        .zip(facts_runs)
        .zip(&benches)
        .map(|(((((plan, staged), m), p), facts_run), bench)| {
            let mut facts = p.facts;
            // Reports name the files as built, not the copies that were evicted.
            facts.residency = bench.residency().map(|files| {
                files
                    .into_iter()
                    .map(|mut r| {
                        if let Some(built) = staged.built_path_of(&r.file) {
                            r.file = built.clone();
                        }
                        r
                    })
                    .collect()
            });
            assemble::result(plan, &m, facts, Some(facts_run))
        })
        .collect()
}

/// A side ready to run: its process spec, the facts known without running it, and the staging
/// folder that must live as long as the runs (a Python extension placed on `PYTHONPATH`).
struct Prepared {
    spec: ProcessSpec,
    facts: Facts,
    _staging: Option<tempfile::TempDir>,
}

fn prepare(plan: &BenchPlan, staged: &Staged, runner_exe: &Path) -> Result<Prepared, String> {
    // The fresh copy runs; reports name the file as built.
    let built = |a: &crate::workspace::ArtifactRef| match (staged.copies.get(a), staged.built.get(a)) {
        (Some(copy), Some(original)) => Ok((copy.clone(), original.clone())),
        _ => Err(format!("{a} was not built")),
    };
    let mut facts = Facts::default();
    let (program, args, examined) = match &plan.program {
        Program::Bin(a) => {
            let (copy, original) = built(a)?;
            facts.program = Some(original.display().to_string());
            facts.run_copy = Some(copy.display().to_string());
            (copy.clone(), plan.args.clone(), Some(copy))
        }
        Program::Path(path) => (path.clone(), plan.args.clone(), (plan.kind == Kind::Start).then(|| path.clone())),
        Program::LoadHelper(a) => {
            let (lib, original) = built(a)?;
            let mut args = vec![LOAD_HELPER_ARG.to_string(), lib.display().to_string()];
            if let Probe::Load { symbol: Some(symbol) } = &plan.probe {
                args.push(symbol.clone());
            }
            facts.library = Some(original.display().to_string());
            facts.run_copy = Some(lib.display().to_string());
            (runner_exe.to_path_buf(), args, Some(lib))
        }
    };
    if facts.program.is_none() {
        facts.program = Some(program.display().to_string());
    }
    if let Some(file) = &examined {
        facts.binary_bytes = std::fs::metadata(file).ok().map(|m| m.len());
        match elf::read(file) {
            Ok(e) => {
                facts.needed = Some(e.needed);
                facts.relocations = Some(crate::results::Relocations {
                    relative: e.relative_relocations,
                    symbolic: e.symbolic_relocations,
                    plt: e.plt_relocations,
                });
                facts.stripped = Some(e.stripped);
            }
            Err(e) => facts.problems.push(e),
        }
    }
    let mut env = plan.env.clone();
    let mut staging = None;
    if let Probe::Python { module, lib: Some(a), .. } = &plan.probe {
        let dir = tempfile::tempdir().map_err(|e| format!("could not create a folder for the module: {e}"))?;
        let (lib, original) = built(a)?;
        // Python finds an extension module `a.b` as a/b.so under a folder on PYTHONPATH.
        let target = dir.path().join(format!("{}.so", module.replace('.', "/")));
        let mut parent = target.parent().expect("inside the folder").to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| e.to_string())?;
        while parent != dir.path() {
            std::fs::write(parent.join("__init__.py"), "").map_err(|e| e.to_string())?;
            parent.pop();
        }
        crate::stage::fresh_copy(&lib, &target)
            .map_err(|e| format!("could not place {} as {}: {e:#}", lib.display(), target.display()))?;
        let mut path = dir.path().display().to_string();
        if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
            path = format!("{path}:{}", old.to_string_lossy());
        }
        env.insert("PYTHONPATH".into(), path);
        facts.library = Some(original.display().to_string());
        facts.run_copy = Some(target.display().to_string());
        staging = Some(dir);
    }
    let spec = ProcessSpec {
        program,
        args,
        env,
        cwd: plan.cwd.clone(),
        readiness: plan.readiness.clone(),
        timeout: plan.timeout,
        capture_stdout: plan.kind == Kind::Load,
        capture_stderr: plan.kind == Kind::Python,
        cache: plan.cache,
        // A load evicts the library, not the helper (this program, which the runner maps).
        evict_first: (plan.kind == Kind::Load).then(|| examined.iter().cloned().collect()),
    };
    Ok(Prepared { spec, facts, _staging: staging })
}

struct BarProgress<'a> {
    bar: &'a indicatif::ProgressBar,
    sides: usize,
}

impl Progress for BarProgress<'_> {
    fn run_finished(&mut self, side: usize, warmup: bool, done: u32, planned: u32) {
        // With two sides the bar follows the last one; both advance together.
        if side + 1 == self.sides {
            self.bar.set_length(planned as u64);
            self.bar.set_position(done as u64);
        }
        if warmup {
            self.bar.tick();
        }
    }
}
