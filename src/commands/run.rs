//! `cargo coldbench`, `start` and `load`: plan, build, stage, measure, save, report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::analysis::{pairing, reference, verdict};
use crate::build::cargo;
use crate::build::git::{self, GitFacts};
use crate::build::stage::Staged;
use crate::cli::{ConfigFrom, FailOn, Measure, RunArgs};
use crate::discover::plan::{self, Overrides};
use crate::discover::standalone;
use crate::discover::workspace::{self, CargoOptions};
use crate::host;
use crate::measure::bench::Bench;
use crate::measure::policy::Progress;
use crate::measure::references;
use crate::measure::session;
use crate::results::{
    BenchmarkResult, Comparison, MachineState, RunConfig, RunDocument, Side, Status, Store, StoreLock, Verdict,
};
use crate::ui::Ui;

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
    pub config_from: ConfigFrom,
    /// `suite --config FILE`: a configuration file instead of a workspace.
    pub config: Option<PathBuf>,
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

/// The run options of the command line, for the kinds asked for (all when empty).
pub fn options(args: &RunArgs, kinds: &[&'static str]) -> Result<RunOptions> {
    Ok(RunOptions {
        cargo: args.cargo.to_options(),
        overrides: Overrides {
            runs: args.runs,
            warmup: args.warmup,
            timeout: args.timeout,
            bins: args.bins.clone(),
            noise: args.noise,
            quick: args.quick,
            lenient: false,
            libs: args.libs.clone(),
            kinds: kinds.to_vec(),
            cache: args.cache,
            scenarios: Vec::new(),
            scaling: Default::default(),
            tensor: Default::default(),
            min_time: None,
            processes: args.processes,
            multiplicity: args.multiplicity.into(),
            precision: args.precision,
            // `profile` comes from the callgrind runs that count instructions.
            instructions: args.measure.iter().any(|m| matches!(m, Measure::Instructions | Measure::Profile)),
            profile: args.measure.contains(&Measure::Profile),
            top: args.top,
            max_time: args.max_time,
        },
        no_build: args.no_build,
        output_dir: args.output_dir.clone(),
        runner_exe: std::env::current_exe().context("could not find this executable (needed as the runner)")?,
        baseline: args.baseline.clone(),
        config_from: args.config_from,
        config: None,
    })
}

/// A run (or a comparison), printed, saved and reported; returns the exit status.
pub fn command(args: &RunArgs, kinds: &[&'static str], ui: &Ui) -> Result<u8> {
    execute(&options(args, kinds)?, args, ui)
}

/// Runs (or compares) with these options, prints, saves and reports; returns the exit status.
pub fn execute(opts: &RunOptions, args: &RunArgs, ui: &Ui) -> Result<u8> {
    // Servers a suite starts run in process groups of their own: Ctrl-C must stop them too.
    crate::suites::server::stop_servers_on_interrupt();
    crate::build::interrupt::defer_interrupts();
    let opts = opts.clone();
    let outcome = match &args.compare {
        Some(reference) => super::compare::compare(&opts, reference, &args.against, ui)?,
        None => run(&opts, ui)?,
    };
    super::print_document(&outcome.document, args, ui)?;
    ui.status("Saved", outcome.saved.display());
    let [html, md] = crate::report::write_standard(&outcome.document, outcome.store.dir())?;
    ui.status("Reports", format!("{} and {}", html.display(), md.display()));
    if let Some(name) = &args.save_baseline {
        let path = outcome.store.save_baseline(name, &outcome.document)?;
        ui.status("Saved", format!("baseline `{name}` ({})", path.display()));
    }
    Ok(exit_code(&outcome.document, args.fail_on))
}

/// The exit status (README "Exit status") for a document: 4 when a benchmark failed, 3 when the gate
/// failed, else 0 — on any candidate, when the document has several.
pub fn exit_code(document: &RunDocument, fail_on: FailOn) -> u8 {
    let benches = || document.candidates().flat_map(|(benches, _)| benches);
    if benches().any(|b| b.status == Status::Failed) {
        return 4;
    }
    if fail_on == FailOn::Never {
        return 0;
    }
    if benches().any(BenchmarkResult::over_budget) {
        return 3;
    }
    let worst = document.candidates().filter_map(|(_, c)| verdict::worst_gating(&c?.rows)).max();
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

/// Plans, builds, measures every benchmark and saves the result.
pub fn run(opts: &RunOptions, ui: &Ui) -> Result<RunOutcome> {
    let (ws, mut plan) = load_and_plan(opts)?;
    let store = open_store(opts, &ws.target_dir);
    let baseline = opts.baseline.as_ref().map(|name| store.load_baseline(name).map(|doc| (name, doc))).transpose()?;
    let lock = lock_store(&store, ui)?;
    for warning in &plan.warnings {
        ui.warn(warning);
    }
    let staged = build_and_stage(opts, &ws, &plan, &store, ui)?;

    let machine = check_machine(ui);
    let timestamp = now();
    let mut benchmarks = measure_plan(&mut plan.benches, &staged, &opts.runner_exe, ui);
    crate::results::calibration::attach_noise(store.dir(), &mut benchmarks, opts.overrides.quick);
    let git = git::facts(&ws.root);
    let comparison = baseline.map(|(name, mut doc)| {
        crate::measure::legacy::upgrade(&mut doc);
        let side = Side {
            label: "working tree".into(),
            sha: git.as_ref().map(|g| g.sha.clone()),
            dirty: git.as_ref().is_some_and(|g| g.dirty),
        };
        pairing::against_document(
            &doc,
            format!("baseline {name}"),
            &benchmarks,
            side,
            opts.overrides.noise,
            opts.overrides.multiplicity,
        )
    });
    let document = document(opts, timestamp, git, Some(machine), benchmarks, comparison);
    let saved = store.save_run(&document, &lock).context("saving the results")?;
    Ok(RunOutcome { document, saved, store })
}

/// The workspace, or the configuration file of `suite --config` standing in for one, and its plan.
pub(crate) fn load_and_plan(opts: &RunOptions) -> Result<(workspace::Workspace, plan::Plan)> {
    match &opts.config {
        Some(file) => {
            let ws = standalone::load(file, opts.cargo.target_dir.as_deref())?;
            let plan = plan::plan(&ws, &opts.overrides).map_err(standalone::keys_in_file)?;
            Ok((ws, plan))
        }
        None => {
            let ws = workspace::load(&opts.cargo)?;
            let plan = plan::plan(&ws, &opts.overrides)?;
            Ok((ws, plan))
        }
    }
}

/// Builds what `plan` needs (or finds it, with `--no-build`) and stages fresh copies to measure.
pub(crate) fn build_and_stage(
    opts: &RunOptions,
    ws: &workspace::Workspace,
    plan: &plan::Plan,
    store: &Store,
    ui: &Ui,
) -> Result<Staged> {
    let targets = plan.to_build();
    let built = if opts.no_build {
        cargo::find_built(ws, &opts.cargo, &targets)?
    } else {
        cargo::build(ws, &opts.cargo, &targets, ui)?
    };
    Staged::new(store.dir(), "run", built).context("copying the built files to measure them")
}

/// The results folder for a run.
pub(crate) fn open_store(opts: &RunOptions, target_dir: &Path) -> Store {
    Store::new(opts.output_dir.clone().unwrap_or_else(|| target_dir.join("coldbench")))
}

/// Takes the store's lock, saying so when another run holds it.
pub(crate) fn lock_store(store: &Store, ui: &Ui) -> Result<StoreLock> {
    store.lock(|path| {
        ui.status("Blocking", format!("waiting for another coldbench run to finish (lock: {})", path.display()))
    })
}

/// The current UTC time as RFC 3339.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Watches the machine for a moment before measuring and warns of each thing that makes timings
/// unsteady, with its fix; none stops the run. The result's host facts keep what was seen.
pub(crate) fn check_machine(ui: &Ui) -> MachineState {
    let state = machine_state();
    super::env::warn_of(&state, ui);
    state
}

/// The machine watched for a moment, without warnings: for `history`, which warns once, not at
/// every commit.
pub(crate) fn machine_state() -> MachineState {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    host::check::check(&host::state::Source::from_env(), host::check::WINDOW, cores)
}

/// Assembles a result document.
pub(crate) fn document(
    opts: &RunOptions,
    timestamp: String,
    git: Option<GitFacts>,
    machine: Option<MachineState>,
    benchmarks: Vec<BenchmarkResult>,
    comparison: Option<Comparison>,
) -> RunDocument {
    let config = RunConfig {
        profile: opts.cargo.profile.clone(),
        features: opts.cargo.features.clone(),
        all_features: opts.cargo.all_features,
        no_default_features: opts.cargo.no_default_features,
        no_build: opts.no_build,
    };
    let host = host::HostFacts { machine, ..host::collect() };
    RunDocument::new(timestamp, git, host, config, benchmarks, comparison)
}

/// Measures every benchmark of a plan, in order. A benchmark whose reference is in the plan runs
/// interleaved with it (and with everything else measured against the same implementation, down
/// a chain of references), and its result says how it compares with the reference.
pub(crate) fn measure_plan(
    benches: &mut [Box<dyn Bench>],
    staged: &Staged,
    runner_exe: &Path,
    ui: &Ui,
) -> Vec<BenchmarkResult> {
    let reference_of = references::references_in(benches);
    let mut results: Vec<Option<BenchmarkResult>> = benches.iter().map(|_| None).collect();
    for members in references::reference_groups(&reference_of) {
        let mut picked: Vec<(usize, &mut Box<dyn Bench>)> =
            benches.iter_mut().enumerate().filter(|(j, _)| members.contains(j)).collect();
        picked.sort_by_key(|(j, _)| members.iter().position(|m| m == j));
        let mut sides: Vec<crate::measure::bench::SideRef> =
            picked.iter_mut().map(|(_, b)| (&mut ***b as &mut dyn Bench, staged)).collect();
        let measured = if sides.len() == 1 {
            measure_sides(&mut sides, runner_exe, ui)
        } else {
            measure_group(&mut sides, runner_exe, ui)
        };
        for (j, result) in members.iter().zip(measured) {
            results[*j] = Some(result);
        }
    }
    let mut results: Vec<BenchmarkResult> = results.into_iter().map(|r| r.expect("every benchmark measured")).collect();
    let specs: Vec<_> = benches.iter().map(|b| b.reference()).collect();
    reference::attach(&mut results, &reference_of, &specs, true);
    results
}

/// Measures one benchmark on its own.
pub(crate) fn measure_alone(bench: &mut dyn Bench, staged: &Staged, runner_exe: &Path, ui: &Ui) -> BenchmarkResult {
    measure_sides(&mut [(bench, staged)], runner_exe, ui).remove(0)
}

/// Measures the same benchmark on several sides, interleaved, with a progress bar.
pub(crate) fn measure_sides(
    sides: &mut [crate::measure::bench::SideRef],
    runner_exe: &Path,
    ui: &Ui,
) -> Vec<BenchmarkResult> {
    let last = &sides[sides.len() - 1].0;
    let id = last.id().render();
    let bar = ui.bar(
        last.settings().policy.runs.planned(crate::measure::policy::Pace::default(), std::time::Duration::ZERO) as u64,
        "Measuring",
    );
    bar.set_message(id.clone());
    if !ui.quiet && bar.is_hidden() {
        ui.status("Measuring", &id);
    }
    let mut results = session::measure(sides, runner_exe, &mut BarProgress { bar: &bar, ui });
    bar.finish_and_clear();
    attach_budgets(&mut results, sides);
    results
}

/// Measures a benchmark and those measured against it, interleaved, each on its own terms.
fn measure_group(sides: &mut [crate::measure::bench::SideRef], runner_exe: &Path, ui: &Ui) -> Vec<BenchmarkResult> {
    let ids: Vec<String> = sides.iter().map(|(b, _)| b.id().render()).collect();
    let bar = ui.bar(
        sides[0].0.settings().policy.runs.planned(crate::measure::policy::Pace::default(), std::time::Duration::ZERO)
            as u64,
        "Measuring",
    );
    bar.set_message(ids.join(" + "));
    if !ui.quiet && bar.is_hidden() {
        for id in &ids {
            ui.status("Measuring", id);
        }
    }
    let mut results = session::measure_side_by_side(sides, runner_exe, &mut BarProgress { bar: &bar, ui });
    bar.finish_and_clear();
    attach_budgets(&mut results, sides);
    results
}

/// Checks each side's result against the budget its benchmark was given.
fn attach_budgets(results: &mut [BenchmarkResult], sides: &[crate::measure::bench::SideRef]) {
    for (result, (bench, _)) in results.iter_mut().zip(sides) {
        crate::analysis::budget::attach(result, &bench.settings().limits);
    }
}

struct BarProgress<'a> {
    bar: &'a indicatif::ProgressBar,
    ui: &'a Ui,
}

impl Progress for BarProgress<'_> {
    fn run_finished(&mut self, side: usize, sides: usize, warmup: bool, done: u32, planned: u32) {
        // With two sides the bar follows the last one; both advance together.
        if side + 1 == sides {
            self.bar.set_length(planned as u64);
            self.bar.set_position(done as u64);
        }
        if warmup {
            self.bar.tick();
        }
    }

    fn status(&self, verb: &str, message: &str) {
        self.bar.suspend(|| self.ui.status(verb, message));
    }

    fn note(&self, message: &str) {
        self.bar.suspend(|| self.ui.note(message));
    }
}
