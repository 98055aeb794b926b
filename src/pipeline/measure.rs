//! Measuring with a progress bar: a plan (each benchmark with those measured against it), one
//! benchmark, or the sides of a comparison; each result checked against its budget.

use std::path::Path;

use crate::analysis::reference;
use crate::build::stage::Staged;
use crate::measure::bench::{Bench, SideRef};
use crate::measure::policy::{Pace, Progress};
use crate::measure::{references, session};
use crate::results::BenchmarkResult;
use crate::ui::Ui;

/// Measures every benchmark of a plan, in order. A benchmark whose reference is in the plan runs
/// interleaved with it (and with everything else measured against the same implementation, down
/// a chain of references), and its result says how it compares with the reference.
pub(crate) fn measure_plan(
    benches: &mut [Box<dyn Bench>],
    staged: &Staged,
    self_exe: &Path,
    ui: &Ui,
) -> Vec<BenchmarkResult> {
    let reference_of = references::references_in(benches);
    let mut results: Vec<Option<BenchmarkResult>> = benches.iter().map(|_| None).collect();
    for members in references::reference_groups(&reference_of) {
        let mut picked: Vec<(usize, &mut Box<dyn Bench>)> =
            benches.iter_mut().enumerate().filter(|(j, _)| members.contains(j)).collect();
        picked.sort_by_key(|(j, _)| members.iter().position(|m| m == j));
        let mut sides: Vec<SideRef> = picked.iter_mut().map(|(_, b)| (&mut ***b as &mut dyn Bench, staged)).collect();
        let measured = if sides.len() == 1 {
            measure_sides(&mut sides, self_exe, ui)
        } else {
            measure_group(&mut sides, self_exe, ui)
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
pub(crate) fn measure_alone(bench: &mut dyn Bench, staged: &Staged, self_exe: &Path, ui: &Ui) -> BenchmarkResult {
    measure_sides(&mut [(bench, staged)], self_exe, ui).remove(0)
}

/// Measures the same benchmark on several sides, interleaved, with a progress bar.
pub(crate) fn measure_sides(sides: &mut [SideRef], self_exe: &Path, ui: &Ui) -> Vec<BenchmarkResult> {
    let last = &sides[sides.len() - 1].0;
    let id = last.id().render();
    let bar =
        ui.bar(last.settings().policy.runs.planned(Pace::default(), std::time::Duration::ZERO) as u64, "Measuring");
    bar.set_message(id.clone());
    if !ui.quiet && bar.is_hidden() {
        ui.status("Measuring", &id);
    }
    let mut results = session::measure(sides, self_exe, &mut BarProgress { bar: &bar, ui });
    bar.finish_and_clear();
    attach_budgets(&mut results, sides);
    results
}

/// Measures a benchmark and those measured against it, interleaved, each on its own terms.
fn measure_group(sides: &mut [SideRef], self_exe: &Path, ui: &Ui) -> Vec<BenchmarkResult> {
    let ids: Vec<String> = sides.iter().map(|(b, _)| b.id().render()).collect();
    let bar = ui
        .bar(sides[0].0.settings().policy.runs.planned(Pace::default(), std::time::Duration::ZERO) as u64, "Measuring");
    bar.set_message(ids.join(" + "));
    if !ui.quiet && bar.is_hidden() {
        for id in &ids {
            ui.status("Measuring", id);
        }
    }
    let mut results = session::measure_side_by_side(sides, self_exe, &mut BarProgress { bar: &bar, ui });
    bar.finish_and_clear();
    attach_budgets(&mut results, sides);
    results
}

/// Checks each side's result against the budget its benchmark was given.
fn attach_budgets(results: &mut [BenchmarkResult], sides: &[SideRef]) {
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
