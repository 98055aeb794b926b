//! The scheduler on scripted and noisy fake benches.

use super::*;

use crate::measure::bench::{BenchId, Settings};
use crate::measure::policy::{NoProgress, RunCount};
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
    /// Each promise: the rounds, and how many runs had been made when it came.
    promises: Vec<(u32, usize)>,
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
    fn expect_rounds(&mut self, rounds: u32) {
        self.promises.push((rounds, self.calls));
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

fn scripted(ms: u64, fail_at: Option<usize>, tag: char, log: &std::rc::Rc<std::cell::RefCell<Vec<char>>>) -> Scripted {
    let settings = Settings {
        policy: RunPolicy { warmup: 0, runs: RunCount::DEFAULT },
        thresholds: Default::default(),
        limits: vec![],
        timeout: Duration::from_secs(1),
        default_entry: false,
        precision: None,
        processes: 1,
    };
    let id = BenchId::new("scripted", "p", "b");
    Scripted {
        wall: Duration::from_millis(ms),
        fail_at,
        calls: 0,
        log: log.clone(),
        tag,
        id,
        settings,
        promises: Vec::new(),
    }
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
    let out = run_interleaved(&mut [&mut slowish], RunPolicy { warmup: 0, runs: RunCount::DEFAULT }, &mut NoProgress);
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
fn a_baseline_and_two_candidates_take_turns_and_a_failing_candidate_drops_out() {
    let log: std::rc::Rc<std::cell::RefCell<Vec<char>>> = Default::default();
    let (mut a, mut b, mut c) =
        (scripted(1, None, 'a', &log), scripted(1, None, 'b', &log), scripted(1, None, 'c', &log));
    let policy = RunPolicy { warmup: 1, runs: RunCount::Exactly(2) };
    run_interleaved(&mut [&mut a, &mut b, &mut c], policy, &mut NoProgress);
    assert_eq!(log.borrow().iter().collect::<String>(), "abcabcabc");

    log.borrow_mut().clear();
    let (mut a, mut b, mut c) =
        (scripted(1, None, 'a', &log), scripted(1, Some(2), 'b', &log), scripted(1, None, 'c', &log));
    let out = run_interleaved(
        &mut [&mut a, &mut b, &mut c],
        RunPolicy { warmup: 0, runs: RunCount::Exactly(3) },
        &mut NoProgress,
    );
    assert_eq!(log.borrow().iter().collect::<String>(), "abcabcac", "b fails at its second run and drops out");
    assert!(out[1].failure.is_some());
    assert!(out[0].stopped.is_none() && out[2].stopped.is_none() && out[0].runs.len() == 3 && out[2].runs.len() == 3);

    // The baseline's failure ends every candidate.
    let (mut a, mut b, mut c) =
        (scripted(1, Some(2), 'a', &log), scripted(1, None, 'b', &log), scripted(1, None, 'c', &log));
    let out = run_interleaved(
        &mut [&mut a, &mut b, &mut c],
        RunPolicy { warmup: 0, runs: RunCount::Exactly(3) },
        &mut NoProgress,
    );
    assert!(out[0].failure.is_some());
    assert_eq!(out[1].stopped.as_deref(), Some("stopped because the baseline failed"));
    assert!(out[2].stopped.is_some() && out[2].runs.len() == 1);
}

#[test]
fn sides_make_the_same_number_of_runs_and_a_failure_stops_the_others() {
    let log: std::rc::Rc<std::cell::RefCell<Vec<char>>> = Default::default();
    let mut fast = scripted(10, None, 'a', &log);
    let mut slow = scripted(200, None, 'b', &log);
    let out =
        run_interleaved(&mut [&mut fast, &mut slow], RunPolicy { warmup: 0, runs: RunCount::DEFAULT }, &mut NoProgress);
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
fn sides_are_promised_the_rounds_that_certainly_come() {
    let log: std::rc::Rc<std::cell::RefCell<Vec<char>>> = Default::default();
    let mut fixed = scripted(1, None, 'a', &log);
    run_interleaved(&mut [&mut fixed], RunPolicy { warmup: 2, runs: RunCount::Exactly(5) }, &mut NoProgress);
    assert_eq!(fixed.promises, [(2, 0), (5, 2)], "the warmups, then the runs");
    // The adaptive count: ten runs are certain; then the slowest-to-satisfy side's time rule
    // at the pace so far (a: 2.9 s left at 10 ms; b: 1 s left at 200 ms).
    let mut fast = scripted(10, None, 'a', &log);
    let mut slow = scripted(200, None, 'b', &log);
    let out =
        run_interleaved(&mut [&mut fast, &mut slow], RunPolicy { warmup: 0, runs: RunCount::DEFAULT }, &mut NoProgress);
    assert_eq!(fast.promises, [(10, 0), (290, 10)]);
    assert_eq!(slow.promises, fast.promises, "every side hears every promise");
    assert_eq!(out[0].runs.len(), 300, "and the promises were exactly what ran");
    // A failed side hears no more promises; the others do.
    let (mut a, mut b) = (scripted(100, None, 'a', &log), scripted(100, Some(2), 'b', &log));
    let mut c = scripted(100, None, 'c', &log);
    run_interleaved(&mut [&mut a, &mut b, &mut c], RunPolicy { warmup: 0, runs: RunCount::DEFAULT }, &mut NoProgress);
    assert_eq!(b.promises, [(10, 0)]);
    assert_eq!(a.promises, [(10, 0), (20, 10)]);
    assert_eq!(c.promises, a.promises);
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
    assert_eq!(log.borrow().iter().collect::<String>(), "ababaaa", "b's second call fails and it is not called again");
}

/// A bench whose runs report a `wall` of 10 ms × `factor` with seeded log-normal noise.
struct Noisy {
    rng: rand::rngs::StdRng,
    sd: f64,
    factor: f64,
    id: BenchId,
    settings: Settings,
}

impl Bench for Noisy {
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
        let z = crate::stats::standard_normal(&mut self.rng);
        let wall = 0.010 * self.factor * (self.sd * z).exp();
        Ok(Observation {
            elapsed: Duration::from_secs_f64(wall),
            values: vec![("wall".into(), wall)],
            ..Observation::default()
        })
    }
}

fn noisy(seed: u64, sd: f64, factor: f64) -> Noisy {
    use rand::SeedableRng;
    let settings = scripted(1, None, 'a', &Default::default()).settings;
    Noisy { rng: rand::rngs::StdRng::seed_from_u64(seed), sd, factor, id: BenchId::new("noisy", "p", "b"), settings }
}

#[test]
fn a_run_to_a_precision_stops_at_the_first_precise_checkpoint_or_when_time_is_up() {
    let plan = Plan { alpha: 0.05, precision: 0.01 };
    let (mut a, mut b) = (noisy(1, 0.02, 1.0), noisy(2, 0.02, 1.03));
    let (out, outcome) =
        run_to_precision(&mut [&mut a, &mut b], 1, "wall", plan, Duration::from_secs(3600), &mut NoProgress);
    let outcome = outcome.unwrap();
    assert!(outcome.reached, "{outcome:?}");
    // Only at checkpoints, both sides alike, after one warmup each.
    assert_eq!(out[0].runs.len() as u64, Plan::runs_at(outcome.look.k));
    assert_eq!(out[1].runs.len(), out[0].runs.len());
    assert_eq!(out[0].warmups.len(), 1);
    // σ 2% needs SE ≤ 1% / z of its look: more than the first checkpoint's 10 runs.
    assert!(outcome.look.k > 1 && outcome.look.alpha < 0.05, "{outcome:?}");
    assert!((outcome.look.ci[1] / outcome.look.ratio - 1.0) <= 0.01);
    assert!(outcome.look.ci[0] > 1.0, "the 3% change is inside the interval: {outcome:?}");
    // Out of time: the first look decides, and says it did not reach the precision.
    let (mut a, mut b) = (noisy(3, 0.5, 1.0), noisy(4, 0.5, 1.0));
    let (out, outcome) = run_to_precision(&mut [&mut a, &mut b], 0, "wall", plan, Duration::ZERO, &mut NoProgress);
    let outcome = outcome.unwrap();
    assert!(!outcome.reached && outcome.look.k == 1 && outcome.stopped == PrecisionStop::MaxTime, "{outcome:?}");
    assert_eq!(out[0].runs.len(), 2, "time was up, after the two runs an interval needs");
    assert_eq!(outcome.look.spent, 0.05, "the last look may use all of alpha");
}

/// 300 compares of two fake benches with seeded log-normal noise run to a precision of 1%
/// through [`run_to_precision`], each judged at its look's significance with the noise
/// threshold at 1%, as `analysis::pairing` judges them: how many are flagged (regressed or
/// worse) and how many are any change.
fn simulated_compares(sd: f64, factor: f64, seed: u64) -> (usize, usize) {
    use crate::analysis::verdict::verdict;
    use crate::results::{Better, Thresholds, Verdict};
    use crate::stats::shift::shift;
    let plan = Plan { alpha: 0.05, precision: 0.01 };
    let (mut flagged, mut changed) = (0, 0);
    for i in 0..300 {
        let (mut a, mut b) = (noisy(seed + 2 * i, sd, 1.0), noisy(seed + 2 * i + 1, sd, factor));
        let (out, outcome) =
            run_to_precision(&mut [&mut a, &mut b], 0, "wall", plan, Duration::from_secs(3600), &mut NoProgress);
        let look = outcome.expect("no side fails").look;
        let walls = |m: &Measured| m.runs.iter().map(|o| o.values[0].1).collect::<Vec<f64>>();
        let p = shift(&walls(&out[0]), &walls(&out[1]), look.alpha).unwrap().p_value;
        let thresholds = Thresholds { noise: 0.01, significance: look.alpha, ..Thresholds::DEFAULT };
        let v = verdict(p, look.ci, look.ratio, &thresholds, Better::Lower);
        flagged += usize::from(matches!(v, Verdict::Regressed | Verdict::Warning | Verdict::Failure));
        changed += usize::from(!matches!(v, Verdict::NoChange | Verdict::WithinNoise));
    }
    (flagged, changed)
}

#[test]
fn compares_to_a_precision_keep_false_alarms_at_5_percent_and_find_3_percent() {
    for sd in [0.01, 0.03] {
        let (_, false_alarms) = simulated_compares(sd, 1.0, 1000);
        assert!(false_alarms <= 15, "σ {sd}: {false_alarms} false alarms in 300 A/A compares");
        let (found, _) = simulated_compares(sd, 1.03, 5000);
        assert!(found >= 285, "σ {sd}: a 3% change flagged in {found} of 300 compares");
    }
}

#[test]
fn a_calibration_from_fake_benches_predicts_the_runs_their_compares_need_for_3_percent() {
    use crate::stats::hypothesis::mann_whitney_p_value;
    use crate::stats::power::Noise;
    let walls = |m: &Measured| m.runs.iter().map(|o| o.values[0].1).collect::<Vec<f64>>();
    for sd in [0.02, 0.04] {
        // calibrate: two identical sides, interleaved.
        let (mut a, mut b) = (noisy(7, sd, 1.0), noisy(8, sd, 1.0));
        let out = run_interleaved(
            &mut [&mut a, &mut b],
            RunPolicy { warmup: 0, runs: RunCount::Exactly(300) },
            &mut NoProgress,
        );
        let pairs: Vec<(f64, f64)> = walls(&out[0]).into_iter().zip(walls(&out[1])).collect();
        let predicted = Noise::from_pairs(&pairs).unwrap().runs_for(0.03) as f64;
        // What compares of a 3% slower side need to find it in 95% of 300 tries.
        let found = |n: u32, seed: u64| {
            (0..300u64)
                .filter(|i| {
                    let (mut a, mut b) = (noisy(seed + 2 * i, sd, 1.0), noisy(seed + 2 * i + 1, sd, 1.03));
                    let policy = RunPolicy { warmup: 0, runs: RunCount::Exactly(n) };
                    let out = run_interleaved(&mut [&mut a, &mut b], policy, &mut NoProgress);
                    let (x, y) = (walls(&out[0]), walls(&out[1]));
                    mann_whitney_p_value(&x, &y) < 0.05 && y.iter().sum::<f64>() > x.iter().sum::<f64>()
                })
                .count() as f64
                / 300.0
        };
        let mut n = 4;
        while found(n, 100_000 + u64::from(n) * 1000) < 0.95 {
            n = (f64::from(n) * 1.1).ceil() as u32;
        }
        let needed = f64::from(n);
        let factor = predicted.max(needed) / predicted.min(needed);
        assert!(factor <= 1.5, "σ {sd}: calibration predicted {predicted} runs, compares needed {needed}");
    }
}

#[test]
fn planned_estimates_from_mean_wall() {
    let runs = vec![Observation { elapsed: Duration::from_millis(200), ..Observation::default() }];
    let runs = pace(&runs);
    assert_eq!(RunCount::DEFAULT.planned(runs, Duration::ZERO), 15);
    assert_eq!(RunCount::Exactly(7).planned(runs, Duration::ZERO), 7);
    let timed = RunCount::For { min_runs: 1, wall: Duration::from_secs(60) };
    assert_eq!(timed.planned(runs, Duration::from_secs(20)), 3 * runs.runs);
    assert!(!timed.satisfied(runs, Duration::from_secs(59)) && timed.satisfied(runs, Duration::from_secs(60)));
}
