//! `cargo coldbench` and `cargo coldbench start`: plan, build, measure, save.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::assemble;
use crate::cli::FailOn;
use crate::compare::Verdict;
use crate::comparison;
use crate::git::{self, GitFacts};
use crate::host;
use crate::measure::process::ProcessSpec;
use crate::measure::start::StartBench;
use crate::plan::{self, Overrides, Program, StartPlan};
use crate::results::{BenchmarkResult, Comparison, Facts, RunConfig, RunDocument, Status, Store, SCHEMA};
use crate::scheduler::{self, Bench, Measured, Progress, RunFailure};
use crate::ui::Ui;
use crate::workspace::{self, CargoOptions, Executables};

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

    let bins = plan.bins_to_build();
    let executables = if opts.no_build {
        workspace::find_built(&ws, &opts.cargo, &bins)?
    } else {
        workspace::build(&ws, &opts.cargo, &bins, ui)?
    };

    let timestamp = now();
    let benchmarks: Vec<BenchmarkResult> =
        plan.start.iter().map(|s| measure_alone(s, &executables, &opts.runner_exe, ui)).collect();
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
pub(crate) fn measure_alone(
    start: &StartPlan,
    executables: &Executables,
    runner_exe: &Path,
    ui: &Ui,
) -> BenchmarkResult {
    measure_sides(&[(start, executables)], runner_exe, ui).remove(0)
}

/// Measures the same benchmark on several sides, interleaved, with the first side's run policy.
pub(crate) fn measure_sides(sides: &[(&StartPlan, &Executables)], runner_exe: &Path, ui: &Ui) -> Vec<BenchmarkResult> {
    let (first, _) = sides[0];
    let specs: Vec<(ProcessSpec, Facts)> = sides.iter().map(|(start, exes)| spec_of(start, exes)).collect();
    let bar = ui.bar(first.policy.runs.planned(&[]) as u64, "Measuring");
    bar.set_message(first.id.clone());
    if !ui.quiet && bar.is_hidden() {
        ui.status("Measuring", &first.id);
    }
    let measured: Vec<Measured> =
        match StartBench::for_sides(runner_exe, specs.iter().map(|(s, _)| s.clone()).collect()) {
            Err(e) => {
                let failure = RunFailure { reason: format!("could not start the runner: {e}"), detail: None };
                sides.iter().map(|_| Measured { failure: Some(failure.clone()), ..Measured::default() }).collect()
            }
            Ok(mut benches) => {
                let mut refs: Vec<&mut dyn Bench> = benches.iter_mut().map(|b| b as &mut dyn Bench).collect();
                let n = refs.len();
                let mut progress = BarProgress { bar: &bar, sides: n };
                scheduler::run_interleaved(&mut refs, first.policy, &mut progress)
            }
        };
    bar.finish_and_clear();
    sides
        .iter()
        .zip(measured)
        .zip(specs)
        .map(|(((start, _), m), (_, facts))| assemble::start_result(start, &m, facts))
        .collect()
}

fn spec_of(start: &StartPlan, executables: &Executables) -> (ProcessSpec, Facts) {
    let program = match &start.program {
        Program::Bin(bin) => executables[bin].clone(),
        Program::Path(path) => path.clone(),
    };
    let facts = Facts {
        program: Some(program.display().to_string()),
        binary_bytes: std::fs::metadata(&program).ok().map(|m| m.len()),
    };
    let spec = ProcessSpec {
        program,
        args: start.args.clone(),
        env: start.env.clone(),
        cwd: start.cwd.clone(),
        readiness: start.readiness.clone(),
        timeout: start.timeout,
    };
    (spec, facts)
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
