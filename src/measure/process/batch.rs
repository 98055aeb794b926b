//! Runs the runner makes back to back, in one request.
//!
//! Between two runs asked for one at a time, the runner wakes this process with the record, this
//! process wakes the runner with the next request, and both go back to sleep: on a small machine
//! that round trip, not the spawn, was most of the harness's own cost per start (`BENCHMARKS.md`,
//! "Harness floor"). The scheduler knows how many rounds come next
//! ([`crate::measure::bench::Bench::expect_rounds`]); here those promises become one batch: the specs interleaved round by round as the scheduler
//! will ask for them, their records kept until it does. See docs/ARCHITECTURE.md, "The runner".

use std::collections::VecDeque;
use std::time::Duration;

use super::spec::RunRecord;

/// The most runs in one batch: the runner keeps their records until it answers, in memory it
/// touches before the first run so that the peak-RSS floor every measured program shares
/// (`runner.rs`) is the same for all of them; more runs per batch would raise that floor.
pub const MAX_RUNS: usize = 128;

/// About how long one batch may take, so that progress is drawn and `--max-time` is looked at
/// a few times a second.
pub const MAX_TIME: Duration = Duration::from_millis(250);

/// The promised rounds, and the records of a batch made ahead and not yet asked for.
#[derive(Debug, Default)]
pub struct Batches {
    /// Per spec, in the order the sides promised: the rounds still to come.
    expected: Vec<(usize, u32)>,
    /// Records made ahead, in the order they ran; a run that could not start is its error.
    pending: VecDeque<(usize, Result<RunRecord, String>)>,
    /// The mean wall time of the last batch's runs, which sizes the next.
    mean_wall: Option<Duration>,
}

impl Batches {
    /// Spec `index` will be run once in each of the next `rounds` rounds. A promise starts a new
    /// block: records made ahead of the last one and never asked for (its time ran out) are
    /// dropped.
    pub fn expect(&mut self, index: usize, rounds: u32) {
        self.pending.clear();
        self.expected.retain(|(i, _)| *i != index);
        if rounds > 0 {
            self.expected.push((index, rounds));
        }
    }

    /// The record made ahead for this run of `index`, when it is the next one made.
    pub fn take(&mut self, index: usize) -> Option<Result<RunRecord, String>> {
        match self.pending.front() {
            Some((i, _)) if *i == index => self.pending.pop_front().map(|(_, made)| made),
            _ => {
                // Asked out of the order the batch ran in: the rest would be attributed to the
                // wrong moments, so none of it is used. A spec outside the batch (a traced run)
                // leaves it alone.
                if self.pending.iter().any(|(i, _)| *i == index) {
                    self.pending.clear();
                    self.expected.clear();
                }
                None
            }
        }
    }

    /// The runs to make now, in order, when `index` is asked for with nothing made ahead: the
    /// promised specs round by round, as many rounds as fit in [`MAX_RUNS`] and about
    /// [`MAX_TIME`]; the rounds left stay promised. Empty (run `index` alone) when `index` was
    /// not promised, which ends the promise, or when the batch would hold a single run.
    pub fn schedule(&mut self, index: usize) -> Vec<usize> {
        // What was promised before `index` and not asked for first belongs to a block that ended
        // early (a side that failed where only its bench could see it).
        match self.expected.iter().position(|(i, _)| *i == index) {
            Some(at) => drop(self.expected.drain(..at)),
            None => {
                self.expected.clear();
                return Vec::new();
            }
        }
        let per_round = self.expected.len();
        let by_count = (MAX_RUNS / per_round).max(1);
        let by_time = match self.mean_wall {
            Some(mean) if !mean.is_zero() => {
                let runs = MAX_TIME.as_secs_f64() / mean.as_secs_f64();
                ((runs / per_round as f64) as usize).max(1)
            }
            // Before any batch: two rounds, to learn how long a run takes.
            _ => 2,
        };
        let most = self.expected.iter().map(|(_, n)| *n as usize).max().unwrap_or(0);
        let rounds = most.min(by_count).min(by_time);
        let mut order = Vec::with_capacity(rounds * per_round);
        for round in 0..rounds {
            order.extend(self.expected.iter().filter(|(_, n)| round < *n as usize).map(|(i, _)| *i));
        }
        for (_, n) in &mut self.expected {
            *n = n.saturating_sub(rounds as u32);
        }
        self.expected.retain(|(_, n)| *n > 0);
        if order.len() < 2 {
            self.expected.clear();
            return Vec::new();
        }
        order
    }

    /// Keeps the records of the batch `schedule` asked for, in its order; `failed` when the last
    /// of them is a failed run, and `error` when the batch stopped at a run that could not start.
    pub fn fill(&mut self, schedule: &[usize], records: Vec<RunRecord>, failed: bool, error: Option<String>) {
        if !records.is_empty() {
            let total: Duration = records.iter().map(|r| r.wall).sum();
            self.mean_wall = Some(total / records.len() as u32);
        }
        let made = records.len();
        // A failed run ends its benchmark: nothing promised after it is made, and its side must
        // not run again in a later batch.
        if failed || error.is_some() || made < schedule.len() {
            self.expected.clear();
        }
        self.pending.extend(schedule.iter().copied().zip(records.into_iter().map(Ok)));
        if let (Some(error), Some(&index)) = (error, schedule.get(made)) {
            self.pending.push_back((index, Err(error)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ms: u64) -> RunRecord {
        RunRecord { wall: Duration::from_millis(ms), ..RunRecord::default() }
    }

    #[test]
    fn promised_rounds_become_one_interleaved_batch_served_in_order() {
        let mut b = Batches::default();
        b.expect(3, 2);
        b.expect(5, 2);
        assert!(b.take(3).is_none(), "nothing made ahead yet");
        let order = b.schedule(3);
        assert_eq!(order, [3, 5, 3, 5]);
        b.fill(&order, vec![record(1), record(2), record(3), record(4)], false, None);
        let walls: Vec<u64> =
            [3, 5, 3, 5].iter().map(|&i| b.take(i).unwrap().unwrap().wall.as_millis() as u64).collect();
        assert_eq!(walls, [1, 2, 3, 4], "each run gets its own record, in the order they ran");
        assert!(b.take(3).is_none() && b.schedule(3).is_empty(), "the promise is used up");
    }

    #[test]
    fn a_batch_is_cut_to_its_size_and_the_rest_stays_promised() {
        let mut b = Batches::default();
        b.expect(0, 1000);
        b.expect(1, 1000);
        assert_eq!(b.schedule(0).len(), 4, "before any batch: 2 rounds, to learn a run's time");
        b.fill(&[0, 1], vec![record(4), record(4)], false, None);
        b.pending.clear();
        // 4 ms runs: 250 ms is 31 rounds of two.
        assert_eq!(b.schedule(0).len(), 62);
        b.fill(&[0, 1], vec![record(0), record(0)], false, None);
        b.pending.clear();
        b.mean_wall = Some(Duration::from_nanos(1));
        assert_eq!(b.schedule(0).len(), MAX_RUNS, "fast runs: the count caps it");
        let left: u32 = 1000 - 2 - 31 - (MAX_RUNS as u32 / 2);
        assert_eq!(b.expected, [(0, left), (1, left)]);
    }

    #[test]
    fn a_failed_run_ends_the_promise_even_as_the_last_of_its_batch() {
        let mut b = Batches::default();
        b.expect(0, 5);
        b.expect(1, 5);
        let order = b.schedule(0);
        assert_eq!(order, [0, 1, 0, 1]);
        b.fill(&order, vec![record(1), record(1), record(1), record(1)], true, None);
        for i in order {
            assert!(b.take(i).is_some());
        }
        assert!(b.schedule(0).is_empty(), "the failed side is not run again ahead of its bench");
    }

    #[test]
    fn a_promise_left_over_from_a_block_that_ended_early_does_not_stop_the_next() {
        let mut b = Batches::default();
        b.expect(0, 3);
        b.expect(1, 3);
        // Side 0's bench failed where only it could see; side 1 goes on alone.
        b.expect(1, 4);
        assert_eq!(b.schedule(1), [1, 1]);
        assert_eq!(b.expected, [(1, 2)]);
    }

    #[test]
    fn a_run_that_cannot_start_ends_the_batch_with_its_error() {
        let mut b = Batches::default();
        b.expect(0, 3);
        b.expect(1, 3);
        let order = b.schedule(0);
        assert_eq!(order, [0, 1, 0, 1]);
        b.fill(&order, vec![record(1), record(1)], false, Some("could not start x".into()));
        assert!(b.take(0).unwrap().is_ok());
        assert!(b.take(1).unwrap().is_ok());
        assert_eq!(b.take(0).unwrap().unwrap_err(), "could not start x");
        assert!(b.take(1).is_none() && b.schedule(1).is_empty(), "nothing after the failure was made or promised");
    }

    #[test]
    fn asking_out_of_order_drops_what_was_made_ahead_and_other_specs_run_alone() {
        let mut b = Batches::default();
        b.expect(0, 2);
        b.expect(1, 2);
        let order = b.schedule(0);
        b.fill(&order, vec![record(1), record(2), record(3), record(4)], false, None);
        assert!(b.take(7).is_none(), "a spec outside the batch");
        assert_eq!(b.take(0).unwrap().unwrap().wall, Duration::from_millis(1), "the batch is still there");
        assert!(b.take(0).is_none(), "0 again, before 1: out of order");
        assert!(b.take(1).is_none(), "so nothing made ahead is used");
        // A spec that was not promised runs alone, and ends the promise.
        b.expect(0, 2);
        b.expect(1, 2);
        assert!(b.schedule(7).is_empty() && b.schedule(0).is_empty());
        // A new promise drops records never asked for (the last block's time ran out).
        b.expect(0, 2);
        b.expect(1, 2);
        let order = b.schedule(0);
        b.fill(&order, vec![record(1), record(2), record(3), record(4)], false, None);
        b.expect(0, 1);
        assert!(b.take(0).is_none());
    }
}
