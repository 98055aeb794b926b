//! What a comparison can see: the noise of a benchmark estimated from interleaved A/A pairs, and
//! from it the smallest change a comparison of `n` runs per side detects (α = 0.05, 95% power)
//! and the runs it takes to detect a given change.
//!
//! The model: each run's value is `exp(μ + ε)`, and a comparison judges the ratio of the two
//! sides' locations. With `d = ln(b) − ln(a)` the log ratio of an A/A pair, whose spread `σ_d`
//! holds the noise of both runs, the log ratio of two sides' means of `n` runs has a standard
//! error of `σ_d · √(f / n)`, where `f ≥ 1` inflates it for pairs that are not independent (a
//! positive lag-1 autocorrelation ρ of the pairs' log ratios: `f = (1 + ρ) / (1 − ρ)`). Noise
//! that both sides share — a machine that slows down for a while — cancels in a pair and does not
//! count; noise that stays with one side for several runs does. A change `δ` is
//! detected with power `1 − β` at two-sided level `α` when `ln(1 + δ) ≥ (z₁₋α/₂ + z₁₋β) · SE`.

use statrs::distribution::{ContinuousCDF, Normal};

use super::summary::{mean, median_in_place, variance};

/// The median absolute deviation times this estimates a normal distribution's standard deviation.
const MAD_TO_SD: f64 = 1.4826;

/// The significance level of a comparison.
pub const ALPHA: f64 = 0.05;
/// The power the detectable change is stated at.
pub const POWER: f64 = 0.95;
/// The run counts per side the calibration reports.
pub const RUN_COUNTS: [u64; 4] = [10, 30, 100, 300];

/// The noise of one benchmark, from interleaved A/A pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// Pairs it was estimated from.
    pub pairs: usize,
    /// Standard deviation of the log ratio of a pair's two runs, estimated robustly (1.4826 × the
    /// median absolute deviation).
    pub log_ratio_sd: f64,
    /// Lag-1 autocorrelation of the pairs' log ratios, in run order, trend removed.
    pub lag1: f64,
    /// Drift of the level over the session: the fitted change per 100 runs, as a fraction.
    pub drift_per_100: f64,
}

/// A standard normal quantile.
fn z(p: f64) -> f64 {
    Normal::new(0.0, 1.0).expect("standard normal").inverse_cdf(p)
}

impl Noise {
    /// The noise of interleaved pairs `(a, b)` of positive values, in run order; `None` with
    /// fewer than 3 usable pairs.
    pub fn from_pairs(pairs: &[(f64, f64)]) -> Option<Noise> {
        let pairs: Vec<(f64, f64)> =
            pairs.iter().copied().filter(|(a, b)| *a > 0.0 && *b > 0.0 && a.is_finite() && b.is_finite()).collect();
        if pairs.len() < 3 {
            return None;
        }
        let d: Vec<f64> = pairs.iter().map(|(a, b)| b.ln() - a.ln()).collect();
        // Robustly: start times have long tails (a run the machine interrupted), which the
        // comparison of medians by ranks shrugs off; the standard deviation would not.
        let center = median_in_place(&mut d.clone());
        let log_ratio_sd = MAD_TO_SD * median_in_place(&mut d.iter().map(|x| (x - center).abs()).collect::<Vec<_>>());
        // The dependence is read from ratios clipped at ±3σ, so that one stray pair does not set it.
        let clipped: Vec<f64> =
            d.iter().map(|x| x.clamp(center - 3.0 * log_ratio_sd, center + 3.0 * log_ratio_sd)).collect();
        // The level's drift, from the run series as it happened: a, b, a, b, ...
        let series: Vec<f64> = pairs.iter().flat_map(|(a, b)| [a.ln(), b.ln()]).collect();
        let (slope, _) = detrend(&series);
        let (_, ratios) = detrend(&clipped);
        Some(Noise {
            pairs: pairs.len(),
            log_ratio_sd,
            lag1: lag1(&ratios),
            drift_per_100: (slope * 100.0).exp() - 1.0,
        })
    }

    /// How much dependence between pairs widens a comparison's interval: 1 for independent ones.
    pub fn inflation(&self) -> f64 {
        let rho = self.lag1.clamp(0.0, 0.9);
        (1.0 + rho) / (1.0 - rho)
    }

    /// The standard error of a comparison's log ratio with `n` runs per side.
    pub fn standard_error(&self, n: u64) -> f64 {
        self.log_ratio_sd * (self.inflation() / n.max(1) as f64).sqrt()
    }

    /// The smallest change (a fraction: 0.024 for 2.4%) that `n` runs per side detect at level
    /// `ALPHA` with power `POWER`.
    pub fn detectable(&self, n: u64) -> f64 {
        ((z(1.0 - ALPHA / 2.0) + z(POWER)) * self.standard_error(n)).exp() - 1.0
    }

    /// The runs per side that detect a change of `change` (a fraction) at level `ALPHA` with
    /// power `POWER`; at least 2.
    pub fn runs_for(&self, change: f64) -> u64 {
        let effect = (1.0 + change.abs()).ln();
        if effect <= 0.0 || !effect.is_finite() {
            return u64::MAX;
        }
        let k = (z(1.0 - ALPHA / 2.0) + z(POWER)) * self.log_ratio_sd / effect;
        ((k * k * self.inflation()).ceil() as u64).max(2)
    }
}

/// The smallest change (a fraction) that a comparison of these two samples could detect at level
/// `ALPHA` with power `POWER`, from their own spread (on the log scale); `None` when a value is
/// not positive or a side has fewer than 2 runs.
pub fn detectable_between(a: &[f64], b: &[f64]) -> Option<f64> {
    detectable_between_at(a, b, ALPHA)
}

/// [`detectable_between`] at two-sided level `alpha`: the level a row of a family of `m` rows is
/// judged at when it alone changed is about `ALPHA / m`.
pub fn detectable_between_at(a: &[f64], b: &[f64], alpha: f64) -> Option<f64> {
    let log_var_of_mean = |v: &[f64]| -> Option<f64> {
        if v.len() < 2 || !v.iter().all(|x| x.is_finite() && *x > 0.0) {
            return None;
        }
        let logs: Vec<f64> = v.iter().map(|x| x.ln()).collect();
        Some(variance(&logs, mean(&logs)) / logs.len() as f64)
    };
    let se = (log_var_of_mean(a)? + log_var_of_mean(b)?).sqrt();
    Some(((z(1.0 - alpha / 2.0) + z(POWER)) * se).exp() - 1.0)
}

/// The smallest change (a fraction) that a comparison detects with power `POWER` at two-sided
/// level `alpha` when its interval of the ratio at level `1 − interval_alpha` is `ci`: the
/// interval's half-width on the log scale is `z₁₋interval_alpha/₂ · SE`, and a change is seen when
/// it lies `(z₁₋α/₂ + z_power) · SE` away. Derived from the interval the verdict reads, so the two
/// never disagree. `None` for an interval that is not positive and finite.
pub fn detectable_from_interval(ci: [f64; 2], interval_alpha: f64, alpha: f64) -> Option<f64> {
    let [lo, hi] = ci;
    if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
        return None;
    }
    let se = (hi.ln() - lo.ln()) / (2.0 * z(1.0 - interval_alpha / 2.0));
    Some(((z(1.0 - alpha / 2.0) + z(POWER)) * se).exp() - 1.0)
}

/// The runs per side that would make a comparison of `n` runs, which can detect `detectable`,
/// detect `target` instead: the standard error falls with the square root of the runs.
pub fn runs_to_see(n: u64, detectable: f64, target: f64) -> u64 {
    let ratio = (1.0 + detectable).ln() / (1.0 + target).ln();
    if !ratio.is_finite() || target <= 0.0 {
        return u64::MAX;
    }
    ((n.max(1) as f64) * ratio * ratio).ceil() as u64
}

/// The least-squares slope of `y` against its index, and what is left around the line.
fn detrend(y: &[f64]) -> (f64, Vec<f64>) {
    let n = y.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = mean(y);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (v - mean_y);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let residuals = y.iter().enumerate().map(|(i, v)| v - mean_y - slope * (i as f64 - mean_x)).collect();
    (slope, residuals)
}

/// The lag-1 autocorrelation of a series with mean 0.
fn lag1(r: &[f64]) -> f64 {
    let denominator: f64 = r.iter().map(|v| v * v).sum();
    if r.len() < 3 || denominator == 0.0 {
        return 0.0;
    }
    r.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / denominator
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::stats::hypothesis::welch_p_value;

    use crate::stats::standard_normal as normal;

    /// A run of a 10 ms benchmark with log-normal noise of spread `sd`, times `factor`.
    fn run(rng: &mut StdRng, sd: f64, factor: f64) -> f64 {
        0.010 * factor * (sd * normal(rng)).exp()
    }

    #[test]
    fn independent_noise_is_measured_and_no_drift_or_dependence_is_invented() {
        let mut rng = StdRng::seed_from_u64(7);
        let pairs: Vec<(f64, f64)> = (0..2000).map(|_| (run(&mut rng, 0.02, 1.0), run(&mut rng, 0.02, 1.0))).collect();
        let noise = Noise::from_pairs(&pairs).unwrap();
        // The difference of two runs has √2 times one run's spread.
        assert!((noise.log_ratio_sd - 0.02 * 2f64.sqrt()).abs() < 0.002, "{noise:?}");
        assert!(noise.lag1.abs() < 0.06, "{noise:?}");
        assert!(noise.drift_per_100.abs() < 0.002, "{noise:?}");
        assert!(Noise::from_pairs(&pairs[..2]).is_none());
    }

    #[test]
    fn drift_cancels_in_pairs_and_one_sided_persistence_widens_what_it_takes() {
        let mut rng = StdRng::seed_from_u64(8);
        // The level rises 1% per 100 runs and wanders for both sides alike: the pairs cancel it.
        let mut shared = 0.0;
        let level = |i: usize, shared: f64| 0.010 * (i as f64 * 0.0001 + shared).exp();
        let pairs: Vec<(f64, f64)> = (0..1000)
            .map(|i| {
                shared = 0.9 * shared + 0.02 * normal(&mut rng);
                let noise = |rng: &mut StdRng| (0.01 * normal(rng)).exp();
                (level(2 * i, shared) * noise(&mut rng), level(2 * i + 1, shared) * noise(&mut rng))
            })
            .collect();
        let noise = Noise::from_pairs(&pairs).unwrap();
        assert!((noise.drift_per_100 - 0.01).abs() < 0.004, "{noise:?}");
        assert!(noise.lag1.abs() < 0.1 && (noise.log_ratio_sd - 0.0141).abs() < 0.002, "{noise:?}");
        // A disturbance that stays with one side for several runs does not cancel.
        let mut own = 0.0;
        let pairs: Vec<(f64, f64)> = (0..1000)
            .map(|_| {
                own = 0.8 * own + 0.01 * normal(&mut rng);
                (run(&mut rng, 0.01, 1.0), 0.010 * (own + 0.01 * normal(&mut rng)).exp())
            })
            .collect();
        let noise = Noise::from_pairs(&pairs).unwrap();
        assert!(noise.lag1 > 0.4, "{noise:?}");
        let independent = Noise { lag1: 0.0, ..noise };
        assert!(noise.runs_for(0.03) > 2 * independent.runs_for(0.03));
    }

    #[test]
    fn more_runs_see_smaller_changes_and_the_two_questions_agree() {
        let noise = Noise { pairs: 100, log_ratio_sd: 0.03, lag1: 0.0, drift_per_100: 0.0 };
        let seen: Vec<f64> = RUN_COUNTS.iter().map(|n| noise.detectable(*n)).collect();
        assert!(seen.windows(2).all(|w| w[1] < w[0]), "{seen:?}");
        // (1.96 + 1.645) × 0.03 / √100 = 1.08%.
        assert!((seen[2] - 0.0109).abs() < 0.0003, "{seen:?}");
        for n in [10, 30, 100, 300] {
            let needed = noise.runs_for(noise.detectable(n));
            assert!(needed.abs_diff(n) <= 1, "{n} runs see {}, which needs {needed}", noise.detectable(n));
        }
        assert_eq!(noise.runs_for(0.0), u64::MAX);
    }

    #[test]
    fn a_comparison_states_what_it_could_see_and_the_runs_that_would_see_more() {
        let mut rng = StdRng::seed_from_u64(10);
        let a: Vec<f64> = (0..30).map(|_| run(&mut rng, 0.03, 1.0)).collect();
        let b: Vec<f64> = (0..30).map(|_| run(&mut rng, 0.03, 1.0)).collect();
        let seen = detectable_between(&a, &b).unwrap();
        // (1.96 + 1.645) × 0.03 × √(2/30) ≈ 2.8%.
        assert!((0.02..0.036).contains(&seen), "{seen}");
        // Four times the runs halve what can be seen.
        assert_eq!(runs_to_see(30, seen, ((1.0 + seen).ln() / 2.0).exp() - 1.0), 120);
        assert!(detectable_between(&a[..1], &b).is_none());
        assert!(detectable_between(&[0.0, 1.0], &b).is_none());
    }

    /// The runs per side at which at least 95% of simulated comparisons of a true change find it
    /// (Welch's test on the runs, p < 0.05, in the right direction).
    fn simulated_runs_for(sd: f64, change: f64, rng: &mut StdRng) -> u64 {
        let detected = |n: u64, rng: &mut StdRng| {
            let trials = 400;
            let hits = (0..trials)
                .filter(|_| {
                    let a: Vec<f64> = (0..n).map(|_| run(rng, sd, 1.0)).collect();
                    let b: Vec<f64> = (0..n).map(|_| run(rng, sd, 1.0 + change)).collect();
                    welch_p_value(&a, &b) < ALPHA && mean(&b) > mean(&a)
                })
                .count();
            hits as f64 / trials as f64
        };
        let mut n = 4;
        while detected(n, rng) < POWER {
            n = (n as f64 * 1.1).ceil() as u64;
        }
        n
    }

    #[test]
    fn the_predicted_runs_for_a_3_percent_change_match_simulated_comparisons() {
        let mut rng = StdRng::seed_from_u64(9);
        for sd in [0.02, 0.04] {
            let pairs: Vec<(f64, f64)> = (0..300).map(|_| (run(&mut rng, sd, 1.0), run(&mut rng, sd, 1.0))).collect();
            let predicted = Noise::from_pairs(&pairs).unwrap().runs_for(0.03) as f64;
            let needed = simulated_runs_for(sd, 0.03, &mut rng) as f64;
            let factor = predicted.max(needed) / predicted.min(needed);
            assert!(factor <= 1.5, "σ {sd}: predicted {predicted} runs, the simulation needed {needed}");
        }
    }
}
