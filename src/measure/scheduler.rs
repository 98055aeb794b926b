//! Warmups, run counts and the order of runs, generic over [`Bench`].
//!
//! The scheduler knows nothing about processes: it counts runs and the time they report taking
//! ([`Observation::elapsed`]), which a test can script. Several
//! sides (the two refs of a comparison) are run interleaved, A B A B ..., so that drift hits each
//! side alike.

use std::time::Duration;

use super::bench::{Bench, Observation, RunFailure};
use super::policy::{Pace, Progress, RunPolicy};
use crate::results::PrecisionStop;
use crate::stats::sequential::{Look, Plan};

/// Everything one side of a benchmark produced.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Warmup runs (kept, but not part of the statistics).
    pub warmups: Vec<Observation>,
    /// Measured runs.
    pub runs: Vec<Observation>,
    /// The failure that ended the benchmark, if any.
    pub failure: Option<RunFailure>,
    /// Why this side stopped early without failing itself (another side failed).
    pub stopped: Option<String>,
    /// Per measured run, the process (block) it ran against, when the side ran against several
    /// (see [`super::replicated`]); empty otherwise.
    pub processes: Vec<u32>,
}

/// The pace of these runs.
fn pace(runs: &[Observation]) -> Pace {
    Pace::of(runs.iter().map(|o| o.elapsed))
}

/// Runs every side's warmups and then its measured runs, interleaved side by side.
///
/// Every side makes the same number of runs: rounds go on until every side's count is
/// satisfied, so with the adaptive count the slower side's time decides for both. The first
/// failure on any side ends the benchmark on every side (one hanging binary costs one timeout,
/// and a comparison with a broken side means nothing); the other sides are marked as stopped.
/// With more than two sides (a baseline, first, and several candidates) a candidate that fails
/// drops out and the others go on, until the baseline or the last candidate fails.
pub fn run_interleaved(sides: &mut [&mut dyn Bench], policy: RunPolicy, progress: &mut dyn Progress) -> Vec<Measured> {
    interleave(sides, policy, progress, true)
}

/// Like [`run_interleaved`], for benchmarks that only share the machine's time (a user's server
/// and the built-in one it is measured against): a side that fails drops out, and the others go on.
pub fn run_side_by_side(sides: &mut [&mut dyn Bench], policy: RunPolicy, progress: &mut dyn Progress) -> Vec<Measured> {
    interleave(sides, policy, progress, false)
}

fn interleave(
    sides: &mut [&mut dyn Bench],
    policy: RunPolicy,
    progress: &mut dyn Progress,
    linked: bool,
) -> Vec<Measured> {
    let mut out: Vec<Measured> = sides.iter().map(|_| Measured::default()).collect();
    promise(sides, &out, policy.warmup);
    for _ in 0..policy.warmup {
        if !round(sides, &mut out, Phase::Warmup, linked, progress, &|_| {
            policy.runs.planned(Pace::default(), Duration::ZERO)
        }) {
            return out;
        }
    }
    let first = std::time::Instant::now();
    let mut promised = 0;
    while out.iter().any(|m| m.active() && !policy.runs.satisfied(m.pace(), first.elapsed())) {
        if promised == 0 {
            let ahead = out.iter().filter(|m| m.active()).map(|m| policy.runs.rounds_ahead(m.pace(), first.elapsed()));
            promised = ahead.max().unwrap_or(1).max(1);
            promise(sides, &out, promised);
        }
        promised -= 1;
        let planned = |runs: &[Observation]| policy.runs.planned(pace(runs), first.elapsed());
        if !round(sides, &mut out, Phase::Measured, linked, progress, &planned) {
            return out;
        }
    }
    out
}

impl Measured {
    /// The pace of its measured runs.
    fn pace(&self) -> Pace {
        pace(&self.runs)
    }

    /// Whether this side still runs.
    fn active(&self) -> bool {
        self.failure.is_none() && self.stopped.is_none()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Warmup,
    Measured,
}

/// Tells every active side, in the order of the rounds, that each of the next `rounds` rounds
/// runs it once.
fn promise(sides: &mut [&mut dyn Bench], out: &[Measured], rounds: u32) {
    for (side, m) in sides.iter_mut().zip(out) {
        if m.active() && rounds > 0 {
            side.expect_rounds(rounds);
        }
    }
}

/// One run of every active side, in order. Returns `false` when the benchmark is over: with
/// linked sides, the first failure stops the others.
fn round(
    sides: &mut [&mut dyn Bench],
    out: &mut [Measured],
    phase: Phase,
    linked: bool,
    progress: &mut dyn Progress,
    planned: &dyn Fn(&[Observation]) -> u32,
) -> bool {
    let n = sides.len();
    for (i, side) in sides.iter_mut().enumerate() {
        if !out[i].active() {
            continue;
        }
        match side.run() {
            Ok(obs) if phase == Phase::Warmup => out[i].warmups.push(obs),
            Ok(obs) => out[i].runs.push(obs),
            Err(failure) => {
                out[i].failure = Some(failure);
                // With several candidates, one that fails drops out and the others go on against
                // the baseline; the baseline's failure, or the last candidate's, ends them all.
                let candidates_left = out.iter().enumerate().skip(1).any(|(j, m)| j != i && m.active());
                if linked && n > 1 && (i == 0 || !candidates_left) {
                    let why = match (n, i) {
                        (2, _) => "stopped because the other side of the comparison failed",
                        (_, 0) => "stopped because the baseline failed",
                        _ => "stopped because every candidate failed",
                    };
                    for (j, m) in out.iter_mut().enumerate() {
                        if j != i && m.active() {
                            m.stopped = Some(why.into());
                        }
                    }
                    return false;
                }
                continue;
            }
        }
        let done = if phase == Phase::Warmup { 0 } else { out[i].runs.len() as u32 };
        progress.run_finished(i, n, phase == Phase::Warmup, done, planned(&out[i].runs));
    }
    true
}

/// How a run to a precision ended: at which look, with what interval, and whether it was
/// precise enough or ran out of time (or looks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionOutcome {
    /// The last look.
    pub look: Look,
    /// Whether its interval was within the precision.
    pub reached: bool,
    /// Why the run stopped there.
    pub stopped: PrecisionStop,
}

/// Runs two linked sides interleaved until the interval of the ratio of their `metric` is
/// within `plan.precision`, looking only at the checkpoints of [`Plan::runs_at`], or until
/// `max_time` has passed; the number of looks is planned at the first look from its pace
/// ([`Plan::looks_within`]). The outcome's look says which interval and significance the
/// verdict uses. `None` when a side failed before a look, or the metric has no shift to judge.
pub fn run_to_precision(
    sides: &mut [&mut dyn Bench],
    warmup: u32,
    metric: &str,
    plan: Plan,
    max_time: Duration,
    progress: &mut dyn Progress,
) -> (Vec<Measured>, Option<PrecisionOutcome>) {
    let mut out: Vec<Measured> = sides.iter().map(|_| Measured::default()).collect();
    let values = |m: &Measured| -> Vec<f64> {
        m.runs.iter().filter_map(|o| o.values.iter().find(|(n, _)| n == metric).map(|(_, v)| *v)).collect()
    };
    promise(sides, &out, warmup);
    for _ in 0..warmup {
        if !round(sides, &mut out, Phase::Warmup, true, progress, &|_| Plan::runs_at(1) as u32) {
            return (out, None);
        }
    }
    let first = std::time::Instant::now();
    let mut looks = None;
    let mut k = 1;
    loop {
        let target = Plan::runs_at(k);
        let planned = |_: &[Observation]| target as u32;
        // Two runs a side at least, out of time or not: an interval needs them.
        let short = |m: &Measured, of: u64| (m.runs.len() as u64) < of;
        let ahead = out.iter().map(|m| target.saturating_sub(m.runs.len() as u64)).max().unwrap_or(0);
        promise(sides, &out, u32::try_from(ahead).unwrap_or(u32::MAX));
        while out.iter().any(|m| short(m, target)) && (first.elapsed() < max_time || out.iter().any(|m| short(m, 2))) {
            if !round(sides, &mut out, Phase::Measured, true, progress, &planned) {
                return (out, None);
            }
        }
        let looks = *looks.get_or_insert_with(|| Plan::looks_within(first.elapsed(), max_time));
        let out_of_time = first.elapsed() >= max_time;
        let Some(look) = plan.look(k, looks, out_of_time, &values(&out[0]), &values(&out[1])) else {
            return (out, None);
        };
        let stopped = if look.precise {
            PrecisionStop::Precise
        } else if out_of_time {
            PrecisionStop::MaxTime
        } else if k >= looks {
            PrecisionStop::Looks
        } else {
            k += 1;
            continue;
        };
        return (out, Some(PrecisionOutcome { look, reached: look.precise, stopped }));
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
