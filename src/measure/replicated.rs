//! A benchmark that runs against long-lived processes (a suite row's server or worker), measured
//! against several of them per side: the process, not the round, is the unit of replication.
//!
//! Rounds against one server process are not independent: where its threads landed, its socket
//! buffers and its allocator stay with it, so three rounds of one process are nearly one sample
//! (see `BENCHMARKS.md`, "Suite comparisons you can gate on"). Each *block* here prepares every
//! side anew — a fresh server per side —, runs the sides' rounds interleaved, and tears them down;
//! blocks alternate which side goes first (A B A B…, then B A B A…) so that whatever the first
//! round of a pair does to the second cancels. Every measured run records its block, and the
//! analysis compares the sides block by block (`analysis::nested`).

use std::path::Path;

use super::assemble;
use super::bench::{Bench, FactsReport, PrepareEnv, RunFailure};
use super::process::RunnerSlot;
use super::scheduler::{self, Measured, Progress, RunPolicy};
use super::session::SideRef;
use crate::results::BenchmarkResult;

/// Counts a block's runs on top of the blocks before it, for progress bars.
struct Offset<'a> {
    inner: &'a mut dyn Progress,
    done: u32,
    blocks: u32,
}

impl Progress for Offset<'_> {
    fn run_finished(&mut self, side: usize, sides: usize, warmup: bool, done: u32, planned: u32) {
        self.inner.run_finished(side, sides, warmup, self.done + done, planned * self.blocks);
    }
}

/// The order of `n` sides in block `block`: as given in even blocks, reversed in odd ones.
pub fn order(n: usize, block: u32) -> Vec<usize> {
    if block % 2 == 0 {
        (0..n).collect()
    } else {
        (0..n).rev().collect()
    }
}

/// Adds a block's runs to a side's, each marked with its block.
fn absorb(into: &mut Measured, from: Measured, block: u32) {
    into.processes.extend(std::iter::repeat_n(block, from.runs.len()));
    into.runs.extend(from.runs);
    into.warmups.extend(from.warmups);
    into.failure = from.failure;
    into.stopped = from.stopped;
}

/// Keeps the first of repeated lines: every block's teardown may say the same thing.
fn dedup(lines: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    lines.retain(|l| seen.insert(l.clone()));
}

/// Measures the same benchmark on every side (linked: a failure on one side stops the others)
/// against `processes` fresh processes per side, and returns a result per side in order.
///
/// A side that cannot be prepared fails them all. When the baseline (side 0) fails, the
/// candidate finishes its block alone, as [`super::session::measure`] does.
pub fn measure(
    sides: &mut [SideRef],
    runner_exe: &Path,
    progress: &mut dyn Progress,
    processes: u32,
) -> Vec<BenchmarkResult> {
    blocks(sides, runner_exe, progress, processes, true)
}

/// Measures different benchmarks interleaved, each against `processes` fresh processes and each
/// judged on its own (a user's server and the built-in one it is measured against): a side that is
/// skipped, cannot be prepared or fails drops out, and the others go on, as in
/// [`super::session::measure_side_by_side`].
pub fn measure_side_by_side(
    sides: &mut [SideRef],
    runner_exe: &Path,
    progress: &mut dyn Progress,
    processes: u32,
) -> Vec<BenchmarkResult> {
    blocks(sides, runner_exe, progress, processes, false)
}

fn blocks(
    sides: &mut [SideRef],
    runner_exe: &Path,
    progress: &mut dyn Progress,
    processes: u32,
    linked: bool,
) -> Vec<BenchmarkResult> {
    let slot = RunnerSlot::new();
    let n = sides.len();
    let policy: RunPolicy = sides[n - 1].0.settings().policy;
    let mut measured: Vec<Measured> = (0..n).map(|_| Measured::default()).collect();
    let mut reports: Vec<FactsReport> = (0..n).map(|_| FactsReport::default()).collect();
    // Unlinked sides that will not run at all: skipped, with the reason.
    let skipped: Vec<Option<String>> =
        sides.iter().map(|(bench, _)| if linked { None } else { bench.skip() }).collect();
    for block in 0..processes {
        let active: Vec<usize> =
            (0..n).filter(|&i| skipped[i].is_none() && measured[i].failure.is_none()).collect();
        let mut running = Vec::new();
        for &i in &active {
            let (bench, staged) = &mut sides[i];
            let env = PrepareEnv { staged, runner_exe, runner: &slot };
            match bench.prepare(&env) {
                Ok(()) => running.push(i),
                Err(reason) => {
                    measured[i].failure = Some(RunFailure::new(reason));
                    bench.teardown(&mut reports[i]);
                    if linked {
                        break;
                    }
                }
            }
        }
        if linked && running.len() < n {
            // A side that cannot be prepared fails them all.
            let reason = measured.iter().find_map(|m| m.failure.clone()).expect("a side failed");
            for &i in &running {
                sides[i].0.teardown(&mut reports[i]);
            }
            for m in measured.iter_mut() {
                m.failure = Some(reason.clone());
            }
            break;
        }
        if running.is_empty() {
            break;
        }
        if block == 0 {
            for &i in &running {
                reports[i] = sides[i].0.facts();
            }
        }
        let order: Vec<usize> = order(running.len(), block).into_iter().map(|k| running[k]).collect();
        let done = running.iter().map(|&i| measured[i].runs.len() as u32).max().unwrap_or(0);
        let mut offset = Offset { inner: progress, done, blocks: processes };
        let got = {
            let mut slots: Vec<Option<&mut dyn Bench>> =
                sides.iter_mut().map(|(b, _)| Some(&mut **b as &mut dyn Bench)).collect();
            let mut ordered: Vec<&mut dyn Bench> =
                order.iter().map(|&i| slots[i].take().expect("each side once")).collect();
            if linked {
                scheduler::run_interleaved(&mut ordered, policy, &mut offset)
            } else {
                scheduler::run_side_by_side(&mut ordered, policy, &mut offset)
            }
        };
        let mut by_side: Vec<Option<Measured>> = (0..n).map(|_| None).collect();
        for (&side, m) in order.iter().zip(got) {
            by_side[side] = Some(m);
        }
        let last = n - 1;
        if linked && last > 0 {
            let baseline_failed = by_side[0].as_ref().is_some_and(|m| m.failure.is_some());
            if baseline_failed && by_side[last].as_ref().is_some_and(|m| m.stopped.is_some()) {
                let candidate: &mut dyn Bench = &mut *sides[last].0;
                by_side[last] = scheduler::run_interleaved(&mut [candidate], policy, &mut offset).pop();
            }
        }
        let ended = linked && by_side.iter().flatten().any(|m| m.failure.is_some() || m.stopped.is_some());
        for &i in &running {
            let got = by_side[i].take().expect("a result per running side");
            let last_block = ended || got.failure.is_some() || block + 1 == processes;
            absorb(&mut measured[i], got, block);
            let report = &mut reports[i];
            if last_block {
                sides[i].0.teardown(report);
                dedup(&mut report.facts.problems);
                dedup(&mut report.warnings);
            } else {
                let mut scratch = FactsReport::default();
                sides[i].0.teardown(&mut scratch);
                report.facts.problems.extend(scratch.facts.problems);
                report.warnings.extend(scratch.warnings);
            }
        }
        if ended {
            break;
        }
    }
    sides
        .iter()
        .zip(measured)
        .zip(reports)
        .zip(skipped)
        .map(|((((bench, _), m), report), skipped)| match skipped {
            Some(reason) => assemble::skipped(&**bench, reason),
            None => assemble::result(&**bench, &m, report),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use super::*;
    use crate::build::stage::Staged;
    use crate::measure::bench::{BenchId, Observation, Settings};
    use crate::measure::scheduler::{NoProgress, RunCount};
    use crate::results::{Better, MetricDesc, OrderedMap, Status, Unit};

    /// A bench that logs prepare (`P`), runs (its tag) and teardown (`T`), and reports as its value
    /// how many times it was prepared.
    struct Logged {
        tag: char,
        log: Rc<RefCell<String>>,
        prepared: u32,
        fail_prepare_at: Option<u32>,
        fail_run_at: Option<usize>,
        runs: usize,
        id: BenchId,
        settings: Settings,
    }

    impl Bench for Logged {
        fn id(&self) -> &BenchId {
            &self.id
        }
        fn metrics(&self) -> OrderedMap<MetricDesc> {
            let mut m = OrderedMap::new();
            m.insert("value", MetricDesc::new(Unit::Count, Better::Lower));
            m
        }
        fn settings(&self) -> &Settings {
            &self.settings
        }
        fn prepare(&mut self, _env: &PrepareEnv) -> Result<(), String> {
            self.prepared += 1;
            self.log.borrow_mut().push('P');
            if Some(self.prepared) == self.fail_prepare_at {
                return Err("no server".into());
            }
            Ok(())
        }
        fn run(&mut self) -> Result<Observation, RunFailure> {
            self.runs += 1;
            self.log.borrow_mut().push(self.tag);
            if Some(self.runs) == self.fail_run_at {
                return Err(RunFailure::new("boom"));
            }
            Ok(Observation {
                elapsed: Duration::from_millis(1),
                values: vec![("value".into(), f64::from(self.prepared))],
                ..Observation::default()
            })
        }
        fn teardown(&mut self, report: &mut FactsReport) {
            self.log.borrow_mut().push('T');
            report.warnings.push(format!("{} stopped", self.tag));
        }
    }

    fn logged(tag: char, log: &Rc<RefCell<String>>, rounds: u32) -> Logged {
        let settings = Settings {
            policy: RunPolicy { warmup: 1, runs: RunCount::Exactly(rounds) },
            thresholds: Default::default(),
            limits: vec![],
            timeout: Duration::from_secs(1),
            default_entry: false,
            precision: None,
            min_speedup: Vec::new(),
            processes: 1,
        };
        let id = BenchId::new("fake", "p", "row");
        Logged { tag, log: log.clone(), prepared: 0, fail_prepare_at: None, fail_run_at: None, runs: 0, id, settings }
    }

    fn run(a: &mut Logged, b: &mut Logged, processes: u32) -> Vec<BenchmarkResult> {
        let dir = tempfile::tempdir().unwrap();
        let staged = Staged::new(dir.path(), "t", crate::build::Executables::new()).unwrap();
        let mut sides: [SideRef; 2] = [(a, &staged), (b, &staged)];
        measure(&mut sides, Path::new("/bin/true"), &mut NoProgress, processes)
    }

    #[test]
    fn each_block_prepares_fresh_sides_and_alternates_which_goes_first() {
        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 2), logged('b', &log, 2));
        let results = run(&mut a, &mut b, 3);
        // Per block: prepare both, a warmup round and two measured rounds, interleaved, then both
        // torn down; the second block starts with b.
        assert_eq!(*log.borrow(), "PPabababTTPPbababaTTPPabababTT");
        for r in &results {
            assert_eq!(r.status, Status::Ok);
            assert_eq!(r.processes, [0, 0, 1, 1, 2, 2], "two rounds per process");
            // Each run says which preparation (process) it ran against.
            assert_eq!(r.samples["value"].as_f64(), [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
            assert_eq!(r.warmup_samples["value"].as_f64().len(), 3, "a warmup per fresh process");
        }
        // What a teardown taught is kept once, whichever block taught it.
        assert_eq!(results[0].warnings.iter().filter(|w| *w == "a stopped").count(), 1);
    }

    #[test]
    fn a_side_that_cannot_be_prepared_again_fails_both_and_a_failed_round_ends_the_blocks() {
        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 1), logged('b', &log, 1));
        b.fail_prepare_at = Some(2);
        let results = run(&mut a, &mut b, 3);
        assert!(results.iter().all(|r| r.status == Status::Failed && r.reason.as_deref() == Some("no server")));
        assert_eq!(*log.borrow(), "PPababTTPPTT", "every side is stopped, and no third block starts");

        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 2), logged('b', &log, 2));
        b.fail_run_at = Some(4);
        let results = run(&mut a, &mut b, 3);
        assert_eq!(results[1].status, Status::Failed);
        assert_eq!(results[0].status, Status::Skipped, "the other side is stopped");
        assert_eq!(*log.borrow(), "PPabababTTPPbTT");
    }

    #[test]
    fn when_the_baseline_fails_the_candidate_finishes_its_block_alone() {
        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 2), logged('b', &log, 2));
        a.fail_run_at = Some(4);
        let results = run(&mut a, &mut b, 3);
        assert_eq!(results[0].status, Status::Failed);
        assert_eq!(results[1].status, Status::Ok);
        // Block 1 starts with b; a fails on its first call there; b then runs a warmup and two rounds alone.
        assert_eq!(*log.borrow(), "PPabababTTPPbabbbTT");
        assert_eq!(results[1].processes, [0, 0, 1, 1]);
    }
}
