//! What a benchmark's settings say about its runs — how many (`RunCount`), after how many warmups
//! (`RunPolicy`) — and who is told as they finish (`Progress`); the scheduler carries it out.

use std::time::Duration;

/// The measured runs of one side so far: how many, and the time they reported taking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    /// Measured runs.
    pub runs: u32,
    /// Their reported times, summed.
    pub spent: Duration,
}

impl Pace {
    /// The pace of runs that took these times.
    pub fn of(elapsed: impl IntoIterator<Item = Duration>) -> Pace {
        elapsed.into_iter().fold(Pace::default(), |p, e| Pace { runs: p.runs + 1, spent: p.spent + e })
    }

    /// Their mean time; zero before the first.
    fn mean(&self) -> Duration {
        if self.runs == 0 {
            Duration::ZERO
        } else {
            self.spent / self.runs
        }
    }
}

/// How many measured runs to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunCount {
    /// Exactly this many.
    Exactly(u32),
    /// hyperfine's rule: at least `min_runs` and at least `min_time` of measured wall time,
    /// never more than `max_runs`.
    Adaptive { min_runs: u32, min_time: Duration, max_runs: u32 },
    /// At least `min_runs`, and runs until `wall` has passed on the clock since the first
    /// measured run (harness time included): `calibrate --time`.
    For { min_runs: u32, wall: Duration },
}

impl RunCount {
    /// The default: at least 10 runs and at least 3 s.
    pub const DEFAULT: RunCount =
        RunCount::Adaptive { min_runs: 10, min_time: Duration::from_secs(3), max_runs: 10_000 };

    /// Whether the runs so far are enough, `since` the first of them began.
    pub fn satisfied(&self, pace: Pace, since: Duration) -> bool {
        let n = pace.runs;
        match *self {
            RunCount::Exactly(want) => n >= want,
            RunCount::Adaptive { min_runs, min_time, max_runs } => {
                n >= max_runs || (n >= min_runs && pace.spent >= min_time)
            }
            RunCount::For { min_runs, wall } => n >= min_runs && since >= wall,
        }
    }

    /// How many more rounds a side at this pace will at least need, as far as the runs so far
    /// tell (with a time rule, assuming the next runs take as long as these): what the scheduler
    /// promises the benches (`Bench::expect_rounds`). An estimate that comes out too high costs
    /// the runs made ahead and never used, nothing else.
    pub fn rounds_ahead(&self, pace: Pace, since: Duration) -> u32 {
        let n = pace.runs;
        let mean = pace.mean();
        let by_time = |left: Duration| -> u32 {
            if mean.is_zero() {
                0
            } else {
                u32::try_from(left.as_nanos().div_ceil(mean.as_nanos())).unwrap_or(u32::MAX)
            }
        };
        match *self {
            RunCount::Exactly(want) => want.saturating_sub(n),
            RunCount::Adaptive { min_runs, min_time, max_runs } => {
                let more = min_runs.saturating_sub(n).max(by_time(min_time.saturating_sub(pace.spent)));
                more.min(max_runs.saturating_sub(n))
            }
            // The harness's own time counts here too, so the time rule is only a guess.
            RunCount::For { min_runs, wall } => min_runs.saturating_sub(n).max(by_time(wall.saturating_sub(since))),
        }
    }

    /// The expected total, estimated from the runs so far and the time `since` the first began
    /// (for progress bars).
    pub fn planned(&self, pace: Pace, since: Duration) -> u32 {
        match *self {
            RunCount::Exactly(want) => want,
            RunCount::For { min_runs, wall } => {
                let n = pace.runs;
                if n == 0 || since.is_zero() {
                    return min_runs;
                }
                ((f64::from(n) * wall.as_secs_f64() / since.as_secs_f64()).ceil() as u32).max(min_runs).max(n)
            }
            RunCount::Adaptive { min_runs, min_time, max_runs } => {
                if pace.runs == 0 {
                    return min_runs;
                }
                let mean = pace.spent.as_secs_f64() / f64::from(pace.runs);
                let by_time = if mean > 0.0 { (min_time.as_secs_f64() / mean).ceil() as u32 } else { max_runs };
                by_time.clamp(min_runs, max_runs).max(pace.runs)
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

/// Told about every finished run, to draw progress.
pub trait Progress {
    /// A run of `side` (of `sides`) finished; `done` of an estimated `planned` measured runs are done.
    fn run_finished(&mut self, side: usize, sides: usize, warmup: bool, done: u32, planned: u32);

    /// Something slow outside the runs starts (a Python environment is made): a status line.
    fn status(&self, _verb: &str, _message: &str) {}

    /// Something worth a line with `-v` (a Python environment is reused).
    fn note(&self, _message: &str) {}
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn run_finished(&mut self, _: usize, _: usize, _: bool, _: u32, _: u32) {}
}
