//! Running until a comparison is precise enough (`--precision`) without inflating false alarms.
//!
//! The two sides run interleaved, and the data are looked at only at pre-set checkpoints: 10, 20,
//! 40, … runs per side (at most [`LOOKS`] looks). Each look spends part of the significance level
//! by a Pocock-type Lan-DeMets spending function, `α*(t) = α · ln(1 + (e − 1) · t)` at information
//! fraction `t = k / LOOKS`, and look `k` uses only its own share `α*(t_k) − α*(t_{k−1})`: its
//! interval is at that level, its test at that significance. The shares sum to at most `α`, so
//! whichever look the run stops at, the chance of a false alarm over the whole run stays at or
//! below `α` (Bonferroni over the looks). The run stops at the first look whose interval of the
//! ratio is narrower than ±precision, or when time is up; the verdict is made at that look.
//! Pocock rather than O'Brien-Fleming spending: the run stops as soon as it is precise, so the
//! early looks must be able to end it.

use statrs::distribution::{ContinuousCDF, Normal};

/// Looks at most.
pub const LOOKS: u32 = 8;
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
    /// Runs per side at it.
    pub runs: u64,
    /// The significance level this look spends.
    pub alpha: f64,
    /// The ratio (candidate / baseline) of the sides' geometric means, and its interval at level
    /// `1 − alpha`.
    pub ratio: f64,
    /// The interval.
    pub ci: [f64; 2],
    /// Whether the interval is within ±precision of the ratio: the run can stop.
    pub precise: bool,
}

impl Plan {
    /// Runs per side at look `k` (1-based): 10, 20, 40, …
    pub fn runs_at(k: u32) -> u64 {
        FIRST_LOOK << (k.clamp(1, LOOKS) - 1)
    }

    /// The significance level spent by the time of look `k`.
    pub fn spent(&self, k: u32) -> f64 {
        let t = f64::from(k.min(LOOKS)) / f64::from(LOOKS);
        self.alpha * (1.0 + (std::f64::consts::E - 1.0) * t).ln()
    }

    /// The significance level look `k` may use.
    pub fn alpha_at(&self, k: u32) -> f64 {
        self.spent(k) - self.spent(k.saturating_sub(1))
    }

    /// Looks at the two sides' runs (positive values, the same count each) as look `k`.
    pub fn look(&self, k: u32, baseline: &[f64], candidate: &[f64]) -> Look {
        let alpha = self.alpha_at(k);
        let logs = |v: &[f64]| v.iter().filter(|x| **x > 0.0).map(|x| x.ln()).collect::<Vec<f64>>();
        let (a, b) = (logs(baseline), logs(candidate));
        let stats = |v: &[f64]| {
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0) / n)
        };
        let ((ma, va), (mb, vb)) = (stats(&a), stats(&b));
        let z = Normal::new(0.0, 1.0).expect("standard normal").inverse_cdf(1.0 - alpha / 2.0);
        let (d, half) = (mb - ma, z * (va + vb).sqrt());
        let ci = [(d - half).exp(), (d + half).exp()];
        let ratio = d.exp();
        let precise = a.len() >= 2 && b.len() >= 2 && ci[1] / ratio - 1.0 <= self.precision;
        Look { k, runs: baseline.len().min(candidate.len()) as u64, alpha, ratio, ci, precise }
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::analysis::verdict::verdict;
    use crate::results::{Better, Thresholds, Verdict};

    use crate::analysis::standard_normal as normal;

    #[test]
    fn the_looks_spend_no_more_than_alpha_and_the_runs_double() {
        let plan = Plan { alpha: 0.05, precision: 0.01 };
        let total: f64 = (1..=LOOKS).map(|k| plan.alpha_at(k)).sum();
        assert!((total - 0.05).abs() < 1e-12, "{total}");
        assert!((1..=LOOKS).all(|k| plan.alpha_at(k) > 0.0));
        assert_eq!((Plan::runs_at(1), Plan::runs_at(2), Plan::runs_at(LOOKS)), (10, 20, 1280));
    }

    /// One simulated `--precision` compare of a ~10 ms benchmark with log-normal noise `sd` whose
    /// candidate is `factor` times slower: its verdict, and the runs per side it took.
    fn simulate(plan: Plan, thresholds: &Thresholds, sd: f64, factor: f64, rng: &mut StdRng) -> (Verdict, u64) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for k in 1..=LOOKS {
            while (a.len() as u64) < Plan::runs_at(k) {
                a.push(0.010 * (sd * normal(rng)).exp());
                b.push(0.010 * factor * (sd * normal(rng)).exp());
            }
            let look = plan.look(k, &a, &b);
            if look.precise || k == LOOKS {
                let p = crate::analysis::hypothesis::welch_p_value(
                    &a.iter().map(|x| x.ln()).collect::<Vec<_>>(),
                    &b.iter().map(|x| x.ln()).collect::<Vec<_>>(),
                );
                let at_look = Thresholds { significance: look.alpha, ..*thresholds };
                return (verdict(p, look.ci, look.ratio, &at_look, Better::Lower), look.runs);
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
            let aa: Vec<(Verdict, u64)> = (0..500).map(|_| simulate(plan, &thresholds, sd, 1.0, &mut rng)).collect();
            let false_alarms = aa.iter().filter(|(v, _)| alarm(*v)).count();
            assert!(false_alarms <= 25, "σ {sd}: {false_alarms} false alarms in 500 A/A compares");
            let real: Vec<(Verdict, u64)> = (0..500).map(|_| simulate(plan, &thresholds, sd, 1.03, &mut rng)).collect();
            let detected = real.iter().filter(|(v, _)| found(*v)).count();
            assert!(detected >= 475, "σ {sd}: a 3% change found in {detected} of 500 compares");
        }
    }
}
