//! The machine watched while the sides of a comparison run interleaved: CPU steal and threads
//! ready to run, read between rounds, so that a comparison whose first and second half ran on a
//! differently loaded machine says so. Interleaving makes drift hit both sides alike, but a
//! machine that got much busier halfway also got much noisier, and what a comparison could see
//! was then set by its worst half.

use std::time::{Duration, Instant};

use super::policy::Progress;
use crate::host::state::{CpuTicks, Source};
use crate::results::MachineDrift;

/// Readings at most this often: reading `/proc/stat` is not free, and rounds can be 1 ms apart.
const EVERY: Duration = Duration::from_millis(20);
/// A change of steal by this share of CPU time, or of threads ready to run by this many, is said.
const STEAL_CHANGE: f64 = 0.02;
const RUNNABLE_CHANGE: f64 = 0.5;

/// A [`Progress`] that also reads the machine after measured rounds.
pub struct Watching<'a> {
    inner: &'a mut dyn Progress,
    source: Source,
    last: Option<Instant>,
    /// CPU time so far and threads running (this one aside), per reading.
    readings: Vec<(CpuTicks, f64)>,
}

impl<'a> Watching<'a> {
    /// Watches the machine of `source` while passing progress on to `inner`.
    pub fn new(inner: &'a mut dyn Progress, source: Source) -> Self {
        Watching { inner, source, last: None, readings: Vec::new() }
    }

    fn read(&mut self) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < EVERY) {
            return;
        }
        self.last = Some(now);
        let s = self.source.snapshot_load();
        if let (Some(cpu), Some(running)) = (s.cpu, s.running) {
            self.readings.push((cpu, f64::from(running.saturating_sub(1))));
        }
    }

    /// The progress it passes on to, for a measurement that is not watched.
    pub fn inner(&mut self) -> &mut dyn Progress {
        &mut *self.inner
    }

    /// How steal and runnable threads changed from the first half of the readings to the second;
    /// `None` with fewer than 4 readings.
    pub fn drift(&self) -> Option<MachineDrift> {
        drift(&self.readings)
    }
}

impl Progress for Watching<'_> {
    fn run_finished(&mut self, side: usize, sides: usize, warmup: bool, done: u32, planned: u32) {
        if !warmup && side + 1 == sides {
            self.read();
        }
        self.inner.run_finished(side, sides, warmup, done, planned);
    }
}

/// The drift of readings in time order.
fn drift(readings: &[(CpuTicks, f64)]) -> Option<MachineDrift> {
    if readings.len() < 4 {
        return None;
    }
    let mid = readings.len() / 2;
    let halves = [&readings[..=mid], &readings[mid..]];
    let steal = halves.map(|h| {
        let (first, last) = (h[0].0, h[h.len() - 1].0);
        let total = last.total.saturating_sub(first.total);
        if total == 0 {
            0.0
        } else {
            last.steal.saturating_sub(first.steal) as f64 / total as f64
        }
    });
    let runnable = halves.map(|h| h.iter().map(|(_, r)| r).sum::<f64>() / h.len() as f64);
    let changed = (steal[1] - steal[0]).abs() >= STEAL_CHANGE || (runnable[1] - runnable[0]).abs() >= RUNNABLE_CHANGE;
    Some(MachineDrift { runnable, steal, changed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(steal_per_step: [u64; 2], running: [f64; 2]) -> Vec<(CpuTicks, f64)> {
        let (mut total, mut steal) = (1000, 0);
        (0..20)
            .map(|i| {
                let half = usize::from(i >= 10);
                total += 100;
                steal += steal_per_step[half];
                (CpuTicks { total, steal }, running[half])
            })
            .collect()
    }

    #[test]
    fn a_machine_that_got_busier_or_lost_cpu_halfway_is_told_and_a_steady_one_is_not() {
        let steady = drift(&readings([1, 1], [0.2, 0.2])).unwrap();
        assert!(!steady.changed, "{steady:?}");
        let stolen = drift(&readings([0, 8], [0.0, 0.0])).unwrap();
        assert!(stolen.changed && stolen.steal[0] < 0.01 && stolen.steal[1] > 0.06, "{stolen:?}");
        let busier = drift(&readings([0, 0], [0.0, 1.5])).unwrap();
        assert!(busier.changed && busier.runnable[1] > 1.0, "{busier:?}");
        assert!(drift(&readings([0, 0], [0.0, 0.0])[..3]).is_none());
    }
}
