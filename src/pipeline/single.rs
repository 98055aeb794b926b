//! A run: plan, build, stage, measure every benchmark, save.

use anyhow::{Context, Result};

use super::machine::check_machine;
use super::measure::measure_plan;
use super::store::{document, lock_store, now, open_store};
use super::{RunOptions, RunOutcome};
use crate::analysis::pairing;
use crate::build::cargo;
use crate::build::git;
use crate::build::stage::Staged;
use crate::discover::standalone;
use crate::discover::workspace;
use crate::plan;
use crate::results::{Side, Store};
use crate::ui::Ui;

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
    let mut benchmarks = measure_plan(&mut plan.benches, &staged, &opts.self_exe, ui);
    crate::results::calibration::attach_noise(store.dir(), &mut benchmarks, opts.plan_options.quick);
    let git = git::facts(&ws.root);
    let comparison = baseline.map(|(name, mut doc)| {
        crate::plan::old_results::upgrade(&mut doc, &opts.registry);
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
            opts.plan_options.noise,
            opts.plan_options.multiplicity,
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
            let ws = standalone::load(file, opts.cargo.target_dir.as_deref(), &opts.registry.names())?;
            let plan = plan::plan(&ws, &opts.registry, &opts.plan_options).map_err(standalone::keys_in_file)?;
            Ok((ws, plan))
        }
        None => {
            let ws = workspace::load(&opts.cargo)?;
            let plan = plan::plan(&ws, &opts.registry, &opts.plan_options)?;
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
