//! Measuring one benchmark on one or more sides, for any [`Bench`]: prepare each side, take its
//! facts outside the timed runs, run the sides interleaved, tear down, and assemble the results.

use std::path::Path;

use super::assemble;
use super::bench::{Bench, FactsReport, Precision, PrepareEnv, RunFailure, SideRef};
use super::policy::Progress;
use super::process::RunnerSlot;
use super::scheduler::{self, Measured, PrecisionOutcome};
use super::watch::Watching;
use crate::host::state::Source;
use crate::results::Location;
use crate::results::{BenchmarkResult, PrecisionFacts};
use crate::stats::sequential::Plan;

/// Measures the same benchmark on every side, interleaved, with the last side's (the
/// candidate's) run policy, and returns a result per side in order. A benchmark that runs
/// against several processes per side (`Settings::processes`) is measured block by block
/// ([`super::replicated`]).
///
/// The sides share one runner process (and so one peak-RSS floor). A side that cannot be prepared
/// fails them all; a broken baseline stops the interleaving, and each candidate is then measured
/// on its own. A run to a precision needs exactly two sides; more run by the run count.
pub fn measure(sides: &mut [SideRef], self_exe: &Path, progress: &mut dyn Progress) -> Vec<BenchmarkResult> {
    if let Some(reason) = sides.iter().find_map(|(bench, _)| bench.skip()) {
        return sides.iter().map(|(bench, _)| assemble::skipped(&**bench, reason.clone())).collect();
    }
    let processes = sides[sides.len() - 1].0.settings().processes;
    if processes > 1 {
        return super::replicated::measure(sides, self_exe, progress, processes);
    }
    let slot = RunnerSlot::new();
    let mut prepared = Ok(());
    for (bench, staged) in sides.iter_mut() {
        let env = PrepareEnv { staged, self_exe, runner: &slot, progress: &*progress };
        if let Err(e) = bench.prepare(&env) {
            prepared = Err(e);
            break;
        }
    }
    // Preparing may show that a side cannot run here after all (a worker without the method).
    if let Some(reason) = prepared.as_ref().ok().and_then(|_| sides.iter().find_map(|(bench, _)| bench.skip())) {
        return sides
            .iter_mut()
            .map(|(bench, _)| {
                bench.teardown(&mut FactsReport::default());
                assemble::skipped(&**bench, reason.clone())
            })
            .collect();
    }
    if let Err(reason) = prepared {
        return sides
            .iter_mut()
            .map(|(bench, _)| {
                let measured = Measured { failure: Some(reason.clone()), ..Measured::default() };
                let mut report = FactsReport::default();
                bench.teardown(&mut report);
                assemble::result(&**bench, &measured, report)
            })
            .collect();
    }
    let mut reports: Vec<FactsReport> = sides.iter_mut().map(|(bench, _)| bench.facts()).collect();
    let settings = sides[sides.len() - 1].0.settings().clone();
    let policy = settings.policy;
    let headline = sides[sides.len() - 1]
        .0
        .metrics()
        .iter()
        .find(|(_, d)| d.compare != Location::Exact)
        .map(|(n, _)| n.to_string());
    let mut precision = None;
    let mut drift = None;
    let mut measured = {
        let mut benches: Vec<&mut dyn Bench> = sides.iter_mut().map(|(b, _)| &mut **b as &mut dyn Bench).collect();
        let compared = benches.len() == 2;
        let mut watching = Watching::new(progress, Source::from_env());
        let progress: &mut dyn Progress = if compared { &mut watching } else { watching.inner() };
        let measured = match (settings.precision, &headline, compared) {
            (Some(p), Some(metric), true) => {
                let plan = Plan { alpha: settings.thresholds.significance, precision: p.within };
                let (measured, outcome) =
                    scheduler::run_to_precision(&mut benches, policy.warmup, metric, plan, p.max_time, progress);
                precision = outcome.map(|o| (p, o));
                measured
            }
            _ => scheduler::run_interleaved(&mut benches, policy, progress),
        };
        if compared {
            drift = watching.drift();
        }
        measured
    };
    // A broken baseline stopped every candidate: each is measured on its own.
    if measured[0].failure.is_some() {
        for (side, m) in sides.iter_mut().zip(measured.iter_mut()).skip(1).filter(|(_, m)| m.stopped.is_some()) {
            let candidate: &mut dyn Bench = &mut *side.0;
            *m = scheduler::run_interleaved(&mut [candidate], policy, progress).remove(0);
        }
    }
    let mut results: Vec<BenchmarkResult> = sides
        .iter_mut()
        .zip(measured)
        .zip(reports.iter_mut())
        .map(|(((bench, _), m), report)| {
            bench.teardown(report);
            assemble::result(&**bench, &m, std::mem::take(report))
        })
        .collect();
    if let (Some((p, outcome)), Some(metric)) = (precision, headline) {
        for r in results.iter_mut() {
            record_precision(r, &metric, p, outcome);
        }
    }
    for r in results.iter_mut() {
        r.facts.machine_drift = drift.clone();
    }
    results
}

/// A result measured to a precision records how it ended, and judges at the significance its
/// last look may spend (see [`crate::stats::sequential`]): `analysis::pairing` then computes
/// the look's interval again from the same runs, at that level.
fn record_precision(r: &mut BenchmarkResult, metric: &str, p: Precision, outcome: PrecisionOutcome) {
    r.config.thresholds.significance = outcome.look.alpha;
    let look = outcome.look;
    r.facts.precision = Some(PrecisionFacts {
        metric: metric.to_string(),
        within: p.within,
        reached: outcome.reached,
        stopped: Some(outcome.stopped),
        look: look.k,
        looks: Some(look.looks),
        runs: look.runs,
        alpha: look.alpha,
        spent: Some(look.spent),
        ratio: look.ratio,
        ci: look.ci,
        half_width: Some(look.half_width),
        rule: "Hodges-Lehmann shift of the interleaved pairs at checkpoints of 10, 20, 40, ... runs per side; \
               Pocock-type Lan-DeMets alpha spending over the looks that fit in --max-time"
            .into(),
    });
}

/// Measures different benchmarks interleaved, each judged on its own: a user's server and the
/// built-in one it is measured against. Unlike [`measure`], a side that is skipped, cannot be
/// prepared or fails leaves the others running.
pub fn measure_side_by_side(
    sides: &mut [SideRef],
    self_exe: &Path,
    progress: &mut dyn Progress,
) -> Vec<BenchmarkResult> {
    let processes = sides[sides.len() - 1].0.settings().processes;
    if processes > 1 {
        return super::replicated::measure_side_by_side(sides, self_exe, progress, processes);
    }
    let slot = RunnerSlot::new();
    // Per side: what ended it before its runs (skipped, or not prepared).
    let mut ended: Vec<Option<Result<String, RunFailure>>> = Vec::new();
    for (bench, staged) in sides.iter_mut() {
        if let Some(reason) = bench.skip() {
            ended.push(Some(Ok(reason)));
            continue;
        }
        let env = PrepareEnv { staged, self_exe, runner: &slot, progress: &*progress };
        ended.push(match bench.prepare(&env) {
            Err(reason) => Some(Err(reason)),
            Ok(()) => bench.skip().map(Ok),
        });
    }
    let mut reports: Vec<FactsReport> = sides
        .iter_mut()
        .zip(&ended)
        .map(|((bench, _), e)| if e.is_none() { bench.facts() } else { FactsReport::default() })
        .collect();
    let policy = sides[sides.len() - 1].0.settings().policy;
    let mut running: Vec<&mut dyn Bench> = sides
        .iter_mut()
        .zip(&ended)
        .filter(|(_, e)| e.is_none())
        .map(|((b, _), _)| &mut **b as &mut dyn Bench)
        .collect();
    let mut measured = scheduler::run_side_by_side(&mut running, policy, progress).into_iter();
    drop(running);
    sides
        .iter_mut()
        .zip(ended)
        .zip(reports.iter_mut())
        .map(|(((bench, _), ended), report)| match ended {
            Some(Ok(reason)) => assemble::skipped(&**bench, reason),
            Some(Err(failure)) => {
                let measured = Measured { failure: Some(failure), ..Measured::default() };
                bench.teardown(report);
                assemble::result(&**bench, &measured, std::mem::take(report))
            }
            None => {
                let m = measured.next().expect("a result per running side");
                bench.teardown(report);
                assemble::result(&**bench, &m, std::mem::take(report))
            }
        })
        .collect()
}
