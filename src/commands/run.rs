//! `cargo coldbench` and `cargo coldbench start`: plan, build, measure, save.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::assemble;
use crate::cli::FailOn;
use crate::git;
use crate::host;
use crate::measure::process::ProcessSpec;
use crate::measure::start::StartBench;
use crate::plan::{self, Overrides, Program, StartPlan};
use crate::results::{BenchmarkResult, Facts, RunConfig, RunDocument, Status, Store, SCHEMA};
use crate::scheduler::{self, Measured, Progress, RunFailure};
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
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The result document, as saved.
    pub document: RunDocument,
    /// Where it was saved under `runs/`.
    pub saved: PathBuf,
    /// `latest.json`.
    pub latest: PathBuf,
}

impl RunOutcome {
    /// The exit status of DESIGN §2: 4 when a benchmark failed, 3 when the gate failed, else 0.
    pub fn exit_code(&self, fail_on: FailOn) -> u8 {
        let benches = &self.document.benchmarks;
        if benches.iter().any(|b| b.status == Status::Failed) {
            4
        } else if fail_on != FailOn::Never && benches.iter().any(BenchmarkResult::over_budget) {
            3
        } else {
            0
        }
    }
}

/// Plans, builds, measures every start benchmark and saves the result.
pub fn run(opts: &RunOptions, ui: &Ui) -> Result<RunOutcome> {
    let ws = workspace::load(&opts.cargo)?;
    let plan = plan::plan(&ws, &opts.overrides)?;
    let store = Store::new(opts.output_dir.clone().unwrap_or_else(|| ws.target_dir.join("coldbench")));
    let lock = store.lock(|path| {
        ui.status("Blocking", format!("waiting for another coldbench run to finish (lock: {})", path.display()))
    })?;

    let bins = plan.bins_to_build();
    let executables = if opts.no_build {
        workspace::find_built(&ws, &opts.cargo, &bins)?
    } else {
        workspace::build(&ws, &opts.cargo, &bins, ui)?
    };

    let timestamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let host = host::collect();
    let git = git::facts(&ws.root);
    let mut benchmarks = Vec::with_capacity(plan.start.len());
    for start in &plan.start {
        benchmarks.push(measure_start(start, &executables, &opts.runner_exe, ui));
    }
    let document = RunDocument {
        schema: SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp,
        git,
        host,
        config: RunConfig {
            profile: opts.cargo.profile.clone(),
            features: opts.cargo.features.clone(),
            all_features: opts.cargo.all_features,
            no_default_features: opts.cargo.no_default_features,
            no_build: opts.no_build,
        },
        benchmarks,
    };
    let saved = store.save_run(&document, &lock).context("saving the results")?;
    Ok(RunOutcome { document, saved, latest: store.latest() })
}

fn measure_start(start: &StartPlan, executables: &Executables, runner_exe: &Path, ui: &Ui) -> BenchmarkResult {
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
    let bar = ui.bar(start.policy.runs.planned(&[]) as u64, "Measuring");
    bar.set_message(start.id.clone());
    if !ui.quiet && bar.is_hidden() {
        ui.status("Measuring", &start.id);
    }
    let measured = match StartBench::new(runner_exe, spec) {
        Ok(mut bench) => {
            let mut progress = BarProgress(&bar);
            scheduler::run_interleaved(&mut [&mut bench], start.policy, &mut progress).remove(0)
        }
        Err(e) => Measured {
            failure: Some(RunFailure { reason: format!("could not start the runner: {e}"), detail: None }),
            ..Measured::default()
        },
    };
    bar.finish_and_clear();
    assemble::start_result(start, &measured, facts)
}

struct BarProgress<'a>(&'a indicatif::ProgressBar);

impl Progress for BarProgress<'_> {
    fn run_finished(&mut self, _side: usize, warmup: bool, done: u32, planned: u32) {
        self.0.set_length(planned as u64);
        self.0.set_position(done as u64);
        if warmup {
            self.0.tick();
        }
    }
}
