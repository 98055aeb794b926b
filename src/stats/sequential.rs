//! Running until a comparison is precise enough (`--precision`) without inflating false alarms.
//!
//! The two sides run interleaved, and the data are looked at only at pre-set checkpoints: 10, 20,
//! 40, … runs per side. How many looks there can be is set once, at the first look, from the time
//! its runs took and `--max-time` (the doublings that fit, at most [`MAX_LOOKS`]): the run goes on
//! until it is precise or time is up, and no fixed look count stops it early. Each look spends part
//! of the significance level by a Pocock-type Lan-DeMets spending function,
//! `α*(t) = α · ln(1 + (e − 1) · t)` at information fraction `t = k / K` of `K` planned looks, and
//! look `k` uses only its own share `α*(t_k) − α*(t_{k−1})`: its interval is at that level, its
//! test at that significance. The look at which time is up is the last one and may use all that is
//! left, `α − α*(t_{k−1})`. The shares sum to at most `α`, so whichever look the run stops at, the
//! chance of a false alarm over the whole run stays at or below `α` (Bonferroni over the looks).
//! The run stops at the first look whose interval of the ratio is narrower than ±precision, or
//! when time is up; the verdict is made at that look, with its interval and its significance
//! (`analysis::pairing`). Each look judges the Hodges–Lehmann shift of the interleaved pairs
//! (`analysis::shift`), the estimate every comparison of medians uses, so the look that stops
//! the run and the verdict read the same numbers. Pocock rather than O'Brien-Fleming spending: the
//! run stops as soon as it is precise, so the early looks must be able to end it.

use std::time::Duration;

use super::shift::shift;

/// Looks at most (10 × 2¹⁹ runs per side at the last).
pub const MAX_LOOKS: u32 = 20;
/// Runs per side at the first look.
pub const FIRST_LOOK: u64 = 10;

/// The plan of a run to a precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The overall significance level.
    pub alpha: f64,
    /// The half-width of the ratio's interval to reach, as a fraction (0.01 for ±1%).
    pub precision: f64,
}

/// What a look concluded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// Which look (1-based).
    pub k: u32,
    /// The looks planned.
    pub looks: u32,
    /// Runs per side at it.
    pub runs: u64,
    /// The significance level this look uses.
    pub alpha: f64,
    /// The significance level spent by the end of this look.
    pub spent: f64,
    /// The ratio (candidate / baseline): the Hodges–Lehmann shift of the pairs.
    pub ratio: f64,
    /// Its interval at level `1 − alpha`.
    pub ci: [f64; 2],
    /// The half-width of the interval as a fraction of the ratio (the larger side).
    pub half_width: f64,
    /// Whether the interval is within ±precision of the ratio: the run can stop.
    pub precise: bool,
}

impl Plan {
    /// Runs per side at look `k` (1-based): 10, 20, 40, …
    pub fn runs_at(k: u32) -> u64 {
        FIRST_LOOK << (k.clamp(1, MAX_LOOKS) - 1)
    }

    /// The looks to plan when the first look's runs took `first` and the run may take `max_time`:
    /// enough for the last checkpoint to lie at or past what fits in the time.
    pub fn looks_within(first: Duration, max_time: Duration) -> u32 {
        let fits = FIRST_LOOK as f64 * max_time.as_secs_f64() / first.as_secs_f64().max(1e-9);
        let mut looks = 1;
        while looks < MAX_LOOKS && (Plan::runs_at(looks) as f64) < fits {
            looks += 1;
        }
        looks
    }

    /// The significance level spent by the end of look `k` of `looks`.
    pub fn spent(&self, k: u32, looks: u32) -> f64 {
        let t = f64::from(k.min(looks)) / f64::from(looks.max(1));
        self.alpha * (1.0 + (std::f64::consts::E - 1.0) * t).ln()
    }

    /// The significance level look `k` of `looks` may use: its share, or, when it is the `last`
    /// (time is up, or the last planned look), all that is left.
    pub fn alpha_at(&self, k: u32, looks: u32, last: bool) -> f64 {
        let before = self.spent(k.saturating_sub(1), looks);
        if last || k >= looks {
            self.alpha - before
        } else {
            self.spent(k, looks) - before
        }
    }

    /// Looks at the two sides' runs (positive values in run order, paired run by run) as look `k`
    /// of `looks`. `None` when they have no shift to judge (a value that is not positive, or fewer
    /// than 2 runs a side).
    pub fn look(&self, k: u32, looks: u32, last: bool, baseline: &[f64], candidate: &[f64]) -> Option<Look> {
        let alpha = self.alpha_at(k, looks, last);
        let s = shift(baseline, candidate, alpha)?;
        let half_width = (s.ci[1] / s.ratio).max(s.ratio / s.ci[0]) - 1.0;
        Some(Look {
            k,
            looks,
            runs: baseline.len().min(candidate.len()) as u64,
            alpha,
            spent: if last || k >= looks { self.alpha } else { self.spent(k, looks) },
            ratio: s.ratio,
            ci: s.ci,
            half_width,
            precise: half_width <= self.precision,
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::analysis::verdict::verdict;
    use crate::results::{Better, Thresholds, Verdict};

    use crate::stats::standard_normal as normal;

    #[test]
    fn the_looks_spend_no_more_than_alpha_and_the_runs_double() {
        let plan = Plan { alpha: 0.05, precision: 0.01 };
        for looks in [1, 8, 13, MAX_LOOKS] {
            let total: f64 = (1..=looks).map(|k| plan.alpha_at(k, looks, false)).sum();
            assert!((total - 0.05).abs() < 1e-12, "{looks}: {total}");
            assert!((1..=looks).all(|k| plan.alpha_at(k, looks, false) > 0.0));
            // Stopped by time at any look: that look takes what is left, and no more.
            for last in 1..=looks {
                let spent: f64 =
                    (1..last).map(|k| plan.alpha_at(k, looks, false)).sum::<f64>() + plan.alpha_at(last, looks, true);
                assert!((spent - 0.05).abs() < 1e-12, "{looks}, last {last}: {spent}");
            }
        }
        assert_eq!((Plan::runs_at(1), Plan::runs_at(2), Plan::runs_at(8)), (10, 20, 1280));
    }

    #[test]
    fn the_looks_planned_reach_what_fits_in_the_time() {
        let looks =
            |first_ms: u64, max_s: u64| Plan::looks_within(Duration::from_millis(first_ms), Duration::from_secs(max_s));
        // 10 pairs of 1 ms starts in 20 ms; 60 s fit 30 000 runs a side: 10 × 2¹² = 40 960 is the 13th look.
        assert_eq!(looks(20, 60), 13);
        assert!(Plan::runs_at(looks(20, 60) - 1) < 30_000 && Plan::runs_at(looks(20, 60)) >= 30_000);
        assert_eq!(looks(20_000, 10), 1, "no time for a second look");
        assert_eq!(looks(1, 86_400), MAX_LOOKS);
    }

    /// One simulated `--precision` compare of a ~10 ms benchmark with log-normal noise `sd` whose
    /// candidate is `factor` times slower, judged at its last look as `analysis::pairing` does:
    /// its verdict, and the runs per side it took.
    fn simulate(plan: Plan, thresholds: &Thresholds, sd: f64, factor: f64, rng: &mut StdRng) -> (Verdict, u64) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let looks = 10;
        for k in 1..=looks {
            while (a.len() as u64) < Plan::runs_at(k) {
                a.push(0.010 * (sd * normal(rng)).exp());
                b.push(0.010 * factor * (sd * normal(rng)).exp());
            }
            let look = plan.look(k, looks, k == looks, &a, &b).unwrap();
            if look.precise || k == looks {
                let s = shift(&a, &b, look.alpha).unwrap();
                assert_eq!((s.ratio, s.ci), (look.ratio, look.ci), "the verdict reads the look's numbers");
                let at_look = Thresholds { significance: look.alpha, ..*thresholds };
                return (verdict(s.p_value, look.ci, look.ratio, &at_look, Better::Lower), look.runs);
            }
        }
        unreachable!("the last look decides")
    }

    #[test]
    fn a_precision_of_1_percent_keeps_false_alarms_nominal_and_finds_a_3_percent_change() {
        let plan = Plan { alpha: 0.05, precision: 0.01 };
        let thresholds = Thresholds { noise: 0.01, ..Thresholds::DEFAULT };
        let mut rng = StdRng::seed_from_u64(13);
        let alarm = |v: Verdict| !matches!(v, Verdict::NoChange | Verdict::WithinNoise);
        let found = |v: Verdict| matches!(v, Verdict::Regressed | Verdict::Warning | Verdict::Failure);
        for sd in [0.01, 0.03] {
            let aa: Vec<(Verdict, u64)> = (0..300).map(|_| simulate(plan, &thresholds, sd, 1.0, &mut rng)).collect();
            let false_alarms = aa.iter().filter(|(v, _)| alarm(*v)).count();
            assert!(false_alarms <= 15, "σ {sd}: {false_alarms} false alarms in 300 A/A compares");
            let real: Vec<(Verdict, u64)> = (0..300).map(|_| simulate(plan, &thresholds, sd, 1.03, &mut rng)).collect();
            let detected = real.iter().filter(|(v, _)| found(*v)).count();
            assert!(detected >= 285, "σ {sd}: a 3% change found in {detected} of 300 compares");
        }
    }
}
