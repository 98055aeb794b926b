//! A benchmark that runs against long-lived processes (a suite row's server or worker), measured
//! against several of them per side: the process, not the round, is the unit of replication.
//!
//! Rounds against one server process are not independent: where its threads landed, its socket
//! buffers and its allocator stay with it, so three rounds of one process are nearly one sample
//! (see `BENCHMARKS.md`, "Suite comparisons you can gate on"). Each *block* here gives every side
//! a fresh process in turn: it prepares the side (starts its server), runs its warmups and rounds,
//! and tears it down, then does the same for the next side. Blocks alternate which side goes first
//! (A B, B A, A B, …), so that whatever going first or second does cancels, and a block is short,
//! so that what the machine did meanwhile hits both of its sides. Every measured run records its
//! block, and the analysis compares the sides block by block (`analysis::nested`). One side's
//! server at a time also means that two sides never fight over an endpoint a user's server must
//! bind, and that a server is warmed by its own warmup round.

use std::path::Path;

use super::assemble;
use super::bench::{Bench, FactsReport, PrepareEnv, SideRef};
use super::policy::{Progress, RunPolicy};
use super::process::RunnerSlot;
use super::scheduler::{self, Measured};
use crate::results::BenchmarkResult;

/// Shows one side's runs of a block as that side's, counted on top of its blocks before.
struct Offset<'a> {
    inner: &'a mut dyn Progress,
    side: usize,
    sides: usize,
    done: u32,
    blocks: u32,
}

impl Progress for Offset<'_> {
    fn run_finished(&mut self, _: usize, _: usize, warmup: bool, done: u32, planned: u32) {
        self.inner.run_finished(self.side, self.sides, warmup, self.done + done, planned * self.blocks);
    }
}

/// The order of `n` sides in block `block`: as given in even blocks, reversed in odd ones.
pub fn order(n: usize, block: u32) -> Vec<usize> {
    if block.is_multiple_of(2) {
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
}

/// Keeps the first of repeated lines: every block's teardown may say the same thing.
fn dedup(lines: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    lines.retain(|l| seen.insert(l.clone()));
}

/// Measures the same benchmark on every side (linked: a failure on one side stops the others)
/// against `processes` fresh processes per side, and returns a result per side in order.
///
/// A side that cannot be prepared or fails ends the blocks; the sides still to run in that block
/// are stopped, except that a candidate whose baseline (side 0) failed still runs its block, as
/// [`super::session::measure`] measures it alone.
pub fn measure(
    sides: &mut [SideRef],
    self_exe: &Path,
    progress: &mut dyn Progress,
    processes: u32,
) -> Vec<BenchmarkResult> {
    blocks(sides, self_exe, progress, processes, true)
}

/// Measures different benchmarks in turn, each against `processes` fresh processes and each
/// judged on its own (a user's server and the built-in one it is measured against): a side that
/// is skipped, cannot be prepared or fails drops out, and the others go on, as in
/// [`super::session::measure_side_by_side`].
pub fn measure_side_by_side(
    sides: &mut [SideRef],
    self_exe: &Path,
    progress: &mut dyn Progress,
    processes: u32,
) -> Vec<BenchmarkResult> {
    blocks(sides, self_exe, progress, processes, false)
}

fn blocks(
    sides: &mut [SideRef],
    self_exe: &Path,
    progress: &mut dyn Progress,
    processes: u32,
    linked: bool,
) -> Vec<BenchmarkResult> {
    let slot = RunnerSlot::new();
    let n = sides.len();
    let policy: RunPolicy = sides[n - 1].0.settings().policy;
    let mut measured: Vec<Measured> = (0..n).map(|_| Measured::default()).collect();
    let mut reports: Vec<FactsReport> = (0..n).map(|_| FactsReport::default()).collect();
    let mut seen = vec![false; n];
    // Unlinked sides that will not run at all: skipped, with the reason.
    let mut skipped: Vec<Option<String>> =
        sides.iter().map(|(bench, _)| if linked { None } else { bench.skip() }).collect();
    let mut ended = false;
    for block in 0..processes {
        for side in order(n, block) {
            let baseline_failed = measured[0].failure.is_some();
            if skipped[side].is_some()
                || measured[side].failure.is_some()
                || (ended && !(side == n - 1 && baseline_failed))
            {
                continue;
            }
            let (bench, staged) = &mut sides[side];
            let env = PrepareEnv { staged, self_exe, runner: &slot, progress: &*progress };
            let got = match bench.prepare(&env) {
                // Preparing may show that a side cannot run here after all (a worker without
                // the method): linked sides are then all skipped, as in one process.
                Ok(()) if bench.skip().is_some() => {
                    let reason = bench.skip().unwrap_or_default();
                    bench.teardown(&mut FactsReport::default());
                    if linked {
                        skipped.iter_mut().for_each(|s| *s = Some(reason.clone()));
                        break;
                    }
                    skipped[side] = Some(reason);
                    continue;
                }
                Ok(()) => {
                    if !seen[side] {
                        reports[side] = bench.facts();
                        seen[side] = true;
                    }
                    let done = measured[side].runs.len() as u32;
                    let mut offset = Offset { inner: &mut *progress, side, sides: n, done, blocks: processes };
                    let only: &mut dyn Bench = &mut **bench;
                    scheduler::run_interleaved(&mut [only], policy, &mut offset).remove(0)
                }
                Err(failure) => Measured { failure: Some(failure), ..Measured::default() },
            };
            let failed = got.failure.is_some();
            absorb(&mut measured[side], got, block);
            let report = &mut reports[side];
            if failed || block + 1 == processes {
                bench.teardown(report);
                dedup(&mut report.facts.problems);
                dedup(&mut report.warnings);
            } else {
                let mut scratch = FactsReport::default();
                bench.teardown(&mut scratch);
                report.facts.problems.extend(scratch.facts.problems);
                report.warnings.extend(scratch.warnings);
            }
            ended |= linked && failed;
        }
        if ended {
            break;
        }
    }
    if ended {
        // The sides that did not fail were stopped by the one that did.
        for m in measured.iter_mut().filter(|m| m.failure.is_none()) {
            m.stopped = Some("stopped because the other side of the comparison failed".into());
        }
        // A candidate whose baseline failed has its own result.
        if n > 1 && measured[0].failure.is_some() && measured[n - 1].failure.is_none() {
            measured[n - 1].stopped = None;
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
    use crate::measure::bench::RunFailure;
    use crate::measure::bench::{BenchId, Observation, Settings};
    use crate::measure::policy::{NoProgress, RunCount};
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
        fn skip(&self) -> Option<String> {
            (self.tag == 's').then(|| "not here".to_string())
        }
        fn prepare(&mut self, _env: &PrepareEnv) -> Result<(), RunFailure> {
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
            processes: 1,
        };
        let id = BenchId::new("fake", "p", "row");
        Logged { tag, log: log.clone(), prepared: 0, fail_prepare_at: None, fail_run_at: None, runs: 0, id, settings }
    }

    fn run(a: &mut Logged, b: &mut Logged, processes: u32, linked: bool) -> Vec<BenchmarkResult> {
        let dir = tempfile::tempdir().unwrap();
        let staged = Staged::new(dir.path(), "t", crate::build::Executables::new()).unwrap();
        let mut sides: [SideRef; 2] = [(a, &staged), (b, &staged)];
        let exe = Path::new("/bin/true");
        if linked {
            measure(&mut sides, exe, &mut NoProgress, processes)
        } else {
            measure_side_by_side(&mut sides, exe, &mut NoProgress, processes)
        }
    }

    #[test]
    fn each_block_gives_each_side_a_fresh_process_in_turn_and_alternates_who_goes_first() {
        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 2), logged('b', &log, 2));
        let results = run(&mut a, &mut b, 3, true);
        // Per side and block: started, a warmup round and two measured rounds, stopped; the
        // second block starts with b.
        assert_eq!(*log.borrow(), "PaaaTPbbbTPbbbTPaaaTPaaaTPbbbT");
        for r in &results {
            assert_eq!(r.status, Status::Ok);
            assert_eq!(r.processes, [0, 0, 1, 1, 2, 2], "two rounds per process");
            // Each run says which start (process) it ran against.
            assert_eq!(r.samples["value"].as_f64(), [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
            assert_eq!(r.warmup_samples["value"].as_f64().len(), 3, "a warmup per fresh process");
        }
        // What a teardown taught is kept once, whichever block taught it.
        assert_eq!(results[0].warnings.iter().filter(|w| *w == "a stopped").count(), 1);
    }

    #[test]
    fn a_side_that_fails_ends_the_blocks_and_stops_the_other() {
        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 1), logged('b', &log, 1));
        b.fail_prepare_at = Some(2);
        let results = run(&mut a, &mut b, 3, true);
        assert_eq!(*log.borrow(), "PaaTPbbTPT", "block 1 starts with b, which cannot start: no block more");
        assert_eq!((results[1].status, results[1].reason.as_deref()), (Status::Failed, Some("no server")));
        assert_eq!(results[0].status, Status::Skipped, "the baseline is stopped");

        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 2), logged('b', &log, 2));
        b.fail_run_at = Some(4);
        let results = run(&mut a, &mut b, 3, true);
        assert_eq!(*log.borrow(), "PaaaTPbbbTPbT");
        assert_eq!(results[1].status, Status::Failed);
        assert_eq!(results[0].status, Status::Skipped);
    }

    #[test]
    fn when_the_baseline_fails_the_candidate_still_runs_its_block() {
        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 2), logged('b', &log, 2));
        a.fail_run_at = Some(7);
        let results = run(&mut a, &mut b, 4, true);
        // Block 2 starts with a, which fails on its first round there; b runs that block, no more.
        assert_eq!(*log.borrow(), "PaaaTPbbbTPbbbTPaaaTPaTPbbbT");
        assert_eq!(results[0].status, Status::Failed);
        assert_eq!(results[1].status, Status::Ok);
        assert_eq!(results[1].processes, [0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn side_by_side_a_skipped_or_failing_side_drops_out_and_the_other_goes_on() {
        let log = Rc::new(RefCell::new(String::new()));
        let (mut a, mut b) = (logged('a', &log, 1), logged('b', &log, 1));
        b.fail_run_at = Some(3);
        let results = run(&mut a, &mut b, 3, false);
        assert_eq!(*log.borrow(), "PaaTPbbTPbTPaaTPaaT");
        assert_eq!((results[0].status, results[1].status), (Status::Ok, Status::Failed));
        assert_eq!(results[0].processes, [0, 1, 2]);

        let log = Rc::new(RefCell::new(String::new()));
        let (mut s, mut b) = (logged('s', &log, 1), logged('b', &log, 1));
        let results = run(&mut s, &mut b, 2, false);
        assert_eq!(*log.borrow(), "PbbTPbbT");
        assert_eq!((results[0].status, results[1].status), (Status::Skipped, Status::Ok));
    }
}
