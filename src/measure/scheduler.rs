//! Warmups, run counts and the order of runs, generic over [`Bench`].
//!
//! The scheduler knows nothing about processes: it counts runs and the time they report taking
//! ([`Observation::elapsed`]), which a test can script. Several
//! sides (the two refs of a comparison) are run interleaved, A B A B ..., so that drift hits each
//! side alike.

use std::time::Duration;

use super::bench::{Bench, Observation, RunFailure};

/// How many measured runs to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunCount {
    /// Exactly this many.
    Exactly(u32),
    /// hyperfine's rule: at least `min_runs` and at least `min_time` of measured wall time,
    /// never more than `max_runs`.
    Adaptive { min_runs: u32, min_time: Duration, max_runs: u32 },
}

impl RunCount {
    /// The default: at least 10 runs and at least 3 s.
    pub const DEFAULT: RunCount =
        RunCount::Adaptive { min_runs: 10, min_time: Duration::from_secs(3), max_runs: 10_000 };

    fn satisfied(&self, runs: &[Observation]) -> bool {
        let n = runs.len() as u32;
        match *self {
            RunCount::Exactly(want) => n >= want,
            RunCount::Adaptive { min_runs, min_time, max_runs } => {
                n >= max_runs || (n >= min_runs && runs.iter().map(|o| o.elapsed).sum::<Duration>() >= min_time)
            }
        }
    }

    /// The expected total, estimated from the runs so far (for progress bars).
    pub fn planned(&self, runs: &[Observation]) -> u32 {
        match *self {
            RunCount::Exactly(want) => want,
            RunCount::Adaptive { min_runs, min_time, max_runs } => {
                if runs.is_empty() {
                    return min_runs;
                }
                let mean = runs.iter().map(|o| o.elapsed).sum::<Duration>().as_secs_f64() / runs.len() as f64;
                let by_time = if mean > 0.0 { (min_time.as_secs_f64() / mean).ceil() as u32 } else { max_runs };
                by_time.clamp(min_runs, max_runs).max(runs.len() as u32)
            }
        }
    }
}

/// Warmups and run count of one benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPolicy {
    /// Runs made first and excluded from statistics.
    pub warmup: u32,
    /// Measured runs.
    pub runs: RunCount,
}

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
}

/// Told about every finished run, to draw progress.
pub trait Progress {
    /// A run of `side` (of `sides`) finished; `done` of an estimated `planned` measured runs are done.
    fn run_finished(&mut self, side: usize, sides: usize, warmup: bool, done: u32, planned: u32);
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn run_finished(&mut self, _: usize, _: usize, _: bool, _: u32, _: u32) {}
}

/// Runs every side's warmups and then its measured runs, interleaved side by side.
///
/// Every side makes the same number of runs: rounds go on until every side's count is
/// satisfied, so with the adaptive count the slower side's time decides for both. The first
/// failure on any side ends the benchmark on every side (one hanging binary costs one timeout,
/// and a comparison with a broken side means nothing); the other sides are marked as stopped.
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
    let n = sides.len();
    let mut out: Vec<Measured> = sides.iter().map(|_| Measured::default()).collect();
    // Whether a side failed: with linked sides, the others are stopped and the benchmark ends.
    let fail = |out: &mut Vec<Measured>, failed: usize, failure: RunFailure| -> bool {
        out[failed].failure = Some(failure);
        if linked && n > 1 {
            for (j, m) in out.iter_mut().enumerate() {
                if j != failed {
                    m.stopped = Some("stopped because the other side of the comparison failed".into());
                }
            }
        }
        linked
    };
    let active = |m: &Measured| m.failure.is_none() && m.stopped.is_none();
    for _ in 0..policy.warmup {
        for (i, side) in sides.iter_mut().enumerate() {
            if !active(&out[i]) {
                continue;
            }
            match side.run() {
                Ok(obs) => out[i].warmups.push(obs),
                Err(failure) => {
                    if fail(&mut out, i, failure) {
                        return out;
                    }
                    continue;
                }
            }
            let planned = policy.runs.planned(&out[i].runs);
            progress.run_finished(i, n, true, 0, planned);
        }
    }
    while out.iter().any(|m| active(m) && !policy.runs.satisfied(&m.runs)) {
        for (i, side) in sides.iter_mut().enumerate() {
            if !active(&out[i]) {
                continue;
            }
            match side.run() {
                Ok(obs) => out[i].runs.push(obs),
                Err(failure) => {
                    if fail(&mut out, i, failure) {
                        return out;
                    }
                    continue;
                }
            }
            let planned = policy.runs.planned(&out[i].runs);
            progress.run_finished(i, n, false, out[i].runs.len() as u32, planned);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::measure::bench::{BenchId, Settings};
    use crate::results::{MetricDesc, OrderedMap};

    /// A bench whose runs take scripted times, with an optional failure at a given run.
    struct Scripted {
        wall: Duration,
        fail_at: Option<usize>,
        calls: usize,
        log: std::rc::Rc<std::cell::RefCell<Vec<char>>>,
        tag: char,
        id: BenchId,
        settings: Settings,
    }

    impl Bench for Scripted {
        fn id(&self) -> &BenchId {
            &self.id
        }
        fn metrics(&self) -> OrderedMap<MetricDesc> {
            OrderedMap::new()
        }
        fn settings(&self) -> &Settings {
            &self.settings
        }
        fn run(&mut self) -> Result<Observation, RunFailure> {
            self.calls += 1;
            self.log.borrow_mut().push(self.tag);
            if Some(self.calls) == self.fail_at {
                return Err(RunFailure::new("boom"));
            }
            Ok(Observation { elapsed: self.wall, ..Observation::default() })
        }
    }

    fn scripted(
        ms: u64,
        fail_at: Option<usize>,
        tag: char,
        log: &std::rc::Rc<std::cell::RefCell<Vec<char>>>,
    ) -> Scripted {
        let settings = Settings {
            policy: RunPolicy { warmup: 0, runs: RunCount::DEFAULT },
            thresholds: Default::default(),
            limits: vec![],
            timeout: Duration::from_secs(1),
            default_entry: false,
        };
        let id = BenchId::new("scripted", "p", "b");
        Scripted { wall: Duration::from_millis(ms), fail_at, calls: 0, log: log.clone(), tag, id, settings }
    }

    #[test]
    fn fixed_count_runs_warmups_then_exactly_n() {
        let log = Default::default();
        let mut b = scripted(1, None, 'a', &log);
        let out = run_interleaved(&mut [&mut b], RunPolicy { warmup: 2, runs: RunCount::Exactly(5) }, &mut NoProgress);
        assert_eq!(out[0].warmups.len(), 2);
        assert_eq!(out[0].runs.len(), 5);
        assert_eq!(b.calls, 7);
    }

    #[test]
    fn adaptive_count_needs_ten_runs_and_three_seconds() {
        let log = Default::default();
        // 100 ms runs: 3 s needs 30 runs.
        let mut slowish = scripted(100, None, 'a', &log);
        let out =
            run_interleaved(&mut [&mut slowish], RunPolicy { warmup: 0, runs: RunCount::DEFAULT }, &mut NoProgress);
        assert_eq!(out[0].runs.len(), 30);
        // 1 s runs: the 10-run minimum rules.
        let mut slow = scripted(1000, None, 'a', &log);
        let out = run_interleaved(&mut [&mut slow], RunPolicy { warmup: 0, runs: RunCount::DEFAULT }, &mut NoProgress);
        assert_eq!(out[0].runs.len(), 10);
    }

    #[test]
    fn adaptive_count_is_capped() {
        let log = Default::default();
        let mut instant = scripted(0, None, 'a', &log);
        let policy = RunPolicy {
            warmup: 0,
            runs: RunCount::Adaptive { min_runs: 10, min_time: Duration::from_secs(3), max_runs: 50 },
        };
        let out = run_interleaved(&mut [&mut instant], policy, &mut NoProgress);
        assert_eq!(out[0].runs.len(), 50);
    }

    #[test]
    fn the_first_failure_ends_the_benchmark() {
        let log = Default::default();
        let mut b = scripted(1, Some(3), 'a', &log);
        let out = run_interleaved(&mut [&mut b], RunPolicy { warmup: 1, runs: RunCount::Exactly(10) }, &mut NoProgress);
        assert_eq!(b.calls, 3);
        assert_eq!(out[0].runs.len(), 1);
        assert_eq!(out[0].failure.as_ref().unwrap().reason, "boom");
    }

    #[test]
    fn two_sides_alternate() {
        let log: std::rc::Rc<std::cell::RefCell<Vec<char>>> = Default::default();
        let mut a = scripted(1, None, 'a', &log);
        let mut b = scripted(1, None, 'b', &log);
        run_interleaved(&mut [&mut a, &mut b], RunPolicy { warmup: 1, runs: RunCount::Exactly(3) }, &mut NoProgress);
        assert_eq!(log.borrow().iter().collect::<String>(), "abababab");
    }

    #[test]
    fn sides_make_the_same_number_of_runs_and_a_failure_stops_the_others() {
        let log: std::rc::Rc<std::cell::RefCell<Vec<char>>> = Default::default();
        let mut fast = scripted(10, None, 'a', &log);
        let mut slow = scripted(200, None, 'b', &log);
        let out = run_interleaved(
            &mut [&mut fast, &mut slow],
            RunPolicy { warmup: 0, runs: RunCount::DEFAULT },
            &mut NoProgress,
        );
        assert_eq!(out[0].runs.len(), out[1].runs.len(), "the fast side does not stop on its own");
        assert_eq!(out[0].runs.len(), 300, "3 s of the fast side's 10 ms runs");

        let mut ok = scripted(1, None, 'a', &log);
        let mut broken = scripted(1, Some(2), 'b', &log);
        let out = run_interleaved(
            &mut [&mut ok, &mut broken],
            RunPolicy { warmup: 0, runs: RunCount::Exactly(5) },
            &mut NoProgress,
        );
        assert!(out[1].failure.is_some());
        assert!(out[0].failure.is_none() && out[0].stopped.is_some());
    }

    #[test]
    fn side_by_side_a_failing_side_drops_out_and_the_others_finish() {
        let log: std::rc::Rc<std::cell::RefCell<Vec<char>>> = Default::default();
        let mut floor = scripted(1, None, 'a', &log);
        let mut broken = scripted(1, Some(2), 'b', &log);
        let out = run_side_by_side(
            &mut [&mut floor, &mut broken],
            RunPolicy { warmup: 1, runs: RunCount::Exactly(4) },
            &mut NoProgress,
        );
        assert!(out[1].failure.is_some() && out[1].warmups.len() == 1 && out[1].runs.is_empty());
        assert!(out[0].failure.is_none() && out[0].stopped.is_none() && out[0].runs.len() == 4);
        assert_eq!(
            log.borrow().iter().collect::<String>(),
            "ababaaa",
            "b's second call fails and it is not called again"
        );
    }

    #[test]
    fn planned_estimates_from_mean_wall() {
        let runs = vec![Observation { elapsed: Duration::from_millis(200), ..Observation::default() }];
        assert_eq!(RunCount::DEFAULT.planned(&runs), 15);
        assert_eq!(RunCount::Exactly(7).planned(&runs), 7);
    }
}
