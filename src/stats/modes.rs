//! Whether a benchmark's runs fall into two modes, where they are and how many runs each holds,
//! and whether those shares differ between the sides of a comparison.
//!
//! The method: a mixture of two normal distributions fitted to the log values by expectation
//! maximisation, accepted over one normal when all of these hold — the Bayesian information
//! criterion prefers it by more than 10 (very strong evidence, Kass and Raftery), each component
//! holds at least 10% of the runs (a few slow runs are outliers, not a mode), and the components
//! are separated (Ashman's D > 2: the means are more than twice their pooled spread apart, so that
//! a skewed or long-tailed single mode is not split in two). Why a mixture rather than a dip test
//! or a valley of a kernel density: it says where the modes are and how much of the mass each
//! holds — what a report shows and what a comparison of the sides' shares needs — without a
//! bandwidth to choose; the dip test only says "not unimodal". Two components only: a start with
//! three modes shows as two, the nearer ones merged.

use statrs::distribution::{ContinuousCDF, Normal};

use super::summary::median_in_place;
use crate::results::{Mode, ModeShares};

/// Fewer runs than this say too little about their shape.
pub const MIN_RUNS: usize = 30;
/// The smallest share of runs a mode holds.
const MIN_SHARE: f64 = 0.10;
/// How much lower the two-component fit's BIC must be.
const MIN_BIC_GAIN: f64 = 10.0;
/// The least separation of the components (Ashman's D).
const MIN_SEPARATION: f64 = 2.0;
/// How high the fitted density may stay between the modes, as a fraction of the lower peak.
const MAX_VALLEY: f64 = 0.8;
/// A change of a mode's share smaller than this is not reported, however significant.
pub const MIN_SHARE_CHANGE: f64 = 0.05;

/// How modes are found, for the facts of a result.
pub const METHOD: &str =
    "two-component normal mixture of the log values (EM); BIC gain > 10, each mode ≥ 10% of runs, \
                          Ashman's D > 2, a dip to ≤ 80% of the lower peak";

/// A two-component fit of log values.
#[derive(Debug, Clone, Copy)]
struct Fit {
    weight: [f64; 2],
    mean: [f64; 2],
    var: [f64; 2],
    loglik: f64,
}

fn log_density(x: f64, mean: f64, var: f64) -> f64 {
    -0.5 * ((x - mean).powi(2) / var + var.ln() + (2.0 * std::f64::consts::PI).ln())
}

impl Fit {
    /// Which component `x` belongs to (the larger posterior).
    fn component(&self, x: f64) -> usize {
        let score = |j: usize| self.weight[j].ln() + log_density(x, self.mean[j], self.var[j]);
        usize::from(score(1) > score(0))
    }

    fn separation(&self) -> f64 {
        2f64.sqrt() * (self.mean[1] - self.mean[0]).abs() / (self.var[0] + self.var[1]).sqrt()
    }

    /// The fitted density's lowest point between the two means, as a fraction of its lower peak
    /// there: near 0 for two clean modes, 1 when the density has no dip at all.
    fn valley(&self) -> f64 {
        let density =
            |x: f64| (0..2).map(|j| self.weight[j] * log_density(x, self.mean[j], self.var[j]).exp()).sum::<f64>();
        let (a, b) = (self.mean[0].min(self.mean[1]), self.mean[0].max(self.mean[1]));
        let lowest = (1..100).map(|i| density(a + (b - a) * f64::from(i) / 100.0)).fold(f64::INFINITY, f64::min);
        lowest / density(a).min(density(b))
    }
}

/// Fits two components to sorted log values: started from the best split into a lower and an upper
/// group (the one that maximises the variance between them), then improved by EM.
fn fit_two(sorted: &[f64]) -> Fit {
    let n = sorted.len();
    let total: f64 = sorted.iter().sum();
    let pooled_var = sorted.iter().map(|x| (x - total / n as f64).powi(2)).sum::<f64>() / n as f64;
    // A floor keeps a component of identical values from collapsing to a point of infinite density.
    let floor = (pooled_var * 1e-6).max(1e-12);
    let (mut best, mut split) = (f64::NEG_INFINITY, 1);
    let mut below = 0.0;
    for k in 1..n {
        below += sorted[k - 1];
        let (m0, m1) = (below / k as f64, (total - below) / (n - k) as f64);
        let between = k as f64 * (n - k) as f64 * (m1 - m0).powi(2);
        if between > best {
            best = between;
            split = k;
        }
    }
    let moments = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).max(floor))
    };
    let ((m0, v0), (m1, v1)) = (moments(&sorted[..split]), moments(&sorted[split..]));
    let mut fit = Fit {
        weight: [split as f64 / n as f64, (n - split) as f64 / n as f64],
        mean: [m0, m1],
        var: [v0, v1],
        loglik: f64::NEG_INFINITY,
    };
    let mut resp = vec![0.0; n];
    for _ in 0..500 {
        // E step: the second component's responsibility for each value, and the log likelihood.
        let mut loglik = 0.0;
        for (x, r) in sorted.iter().zip(resp.iter_mut()) {
            let a = fit.weight[0].ln() + log_density(*x, fit.mean[0], fit.var[0]);
            let b = fit.weight[1].ln() + log_density(*x, fit.mean[1], fit.var[1]);
            let top = a.max(b);
            let sum = top + ((a - top).exp() + (b - top).exp()).ln();
            loglik += sum;
            *r = (b - sum).exp();
        }
        let converged = (loglik - fit.loglik).abs() <= 1e-10 * loglik.abs().max(1.0);
        fit.loglik = loglik;
        if converged {
            break;
        }
        // M step.
        let r1: f64 = resp.iter().sum();
        let r0 = n as f64 - r1;
        if r0 < 1.0 || r1 < 1.0 {
            break;
        }
        let m1 = sorted.iter().zip(&resp).map(|(x, r)| x * r).sum::<f64>() / r1;
        let m0 = sorted.iter().zip(&resp).map(|(x, r)| x * (1.0 - r)).sum::<f64>() / r0;
        let v1 = sorted.iter().zip(&resp).map(|(x, r)| r * (x - m1).powi(2)).sum::<f64>() / r1;
        let v0 = sorted.iter().zip(&resp).map(|(x, r)| (1.0 - r) * (x - m0).powi(2)).sum::<f64>() / r0;
        fit =
            Fit { weight: [r0 / n as f64, r1 / n as f64], mean: [m0, m1], var: [v0.max(floor), v1.max(floor)], loglik };
    }
    fit
}

/// The fit when the values have two modes by the rules above, else `None`.
fn two_modes(sorted_logs: &[f64]) -> Option<Fit> {
    let n = sorted_logs.len();
    if n < MIN_RUNS {
        return None;
    }
    let mean = sorted_logs.iter().sum::<f64>() / n as f64;
    let var = sorted_logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
    if var <= 0.0 {
        return None;
    }
    let one = sorted_logs.iter().map(|x| log_density(*x, mean, var)).sum::<f64>();
    let fit = fit_two(sorted_logs);
    let ln_n = (n as f64).ln();
    let gain = (-2.0 * one + 2.0 * ln_n) - (-2.0 * fit.loglik + 5.0 * ln_n);
    let members = sorted_logs.iter().filter(|x| fit.component(**x) == 1).count();
    let share = members as f64 / n as f64;
    let accepted = gain > MIN_BIC_GAIN
        && share.min(1.0 - share) >= MIN_SHARE
        && fit.separation() > MIN_SEPARATION
        && fit.valley() <= MAX_VALLEY;
    accepted.then_some(fit)
}

fn sorted_logs(values: &[f64]) -> Option<Vec<f64>> {
    if !values.iter().all(|v| v.is_finite() && *v > 0.0) {
        return None;
    }
    let mut logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    logs.sort_unstable_by(f64::total_cmp);
    Some(logs)
}

/// The lower and the upper mode of positive values (each the median of its runs, with its share
/// of the runs), or `None` when they have one mode, too few runs, or a value that is not positive.
pub fn detect(values: &[f64]) -> Option<[Mode; 2]> {
    let logs = sorted_logs(values)?;
    let fit = two_modes(&logs)?;
    let lower = usize::from(fit.mean[1] < fit.mean[0]);
    let mut groups: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for v in values {
        groups[usize::from(fit.component(v.ln()) != lower)].push(*v);
    }
    let n = values.len() as f64;
    Some(groups.map(|mut g| Mode { share: g.len() as f64 / n, at: median_in_place(&mut g) }))
}

/// The shares of the two modes on each side, when the two sides' runs taken together have two
/// modes: the modes are found once, on both sides' runs, so that the shares count the same modes;
/// a two-proportion z-test says whether they differ.
pub fn compare_shares(baseline: &[f64], candidate: &[f64]) -> Option<ModeShares> {
    let (a, b) = (sorted_logs(baseline)?, sorted_logs(candidate)?);
    let mut pooled: Vec<f64> = a.iter().chain(&b).copied().collect();
    pooled.sort_unstable_by(f64::total_cmp);
    let fit = two_modes(&pooled)?;
    let upper = usize::from(fit.mean[1] > fit.mean[0]);
    let upper_share =
        |logs: &[f64]| logs.iter().filter(|x| fit.component(**x) == upper).count() as f64 / logs.len() as f64;
    let (pa, pb) = (upper_share(&a), upper_share(&b));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let p = (pa * na + pb * nb) / (na + nb);
    let se = (p * (1.0 - p) * (1.0 / na + 1.0 / nb)).sqrt();
    let p_value = if se > 0.0 {
        (2.0 * Normal::new(0.0, 1.0).expect("standard normal").sf((pa - pb).abs() / se)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mut at = [fit.mean[1 - upper].exp(), fit.mean[upper].exp()];
    if at[0] > at[1] {
        at.swap(0, 1);
    }
    Some(ModeShares { at, baseline: [1.0 - pa, pa], candidate: [1.0 - pb, pb], p_value })
}

impl ModeShares {
    /// Whether the shares changed: significant at `alpha` and by at least
    /// [`MIN_SHARE_CHANGE`].
    pub fn changed(&self, alpha: f64) -> bool {
        self.p_value < alpha && (self.candidate[1] - self.baseline[1]).abs() >= MIN_SHARE_CHANGE
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::stats::standard_normal as normal;

    fn bimodal(rng: &mut StdRng, n: usize, slow: f64, noise: f64) -> Vec<f64> {
        (0..n).map(|_| if rng.gen::<f64>() < slow { 1.32e-3 } else { 1.02e-3 } * (noise * normal(rng)).exp()).collect()
    }

    #[test]
    fn two_modes_are_found_where_they_are_with_their_shares() {
        let mut rng = StdRng::seed_from_u64(1);
        let values = bimodal(&mut rng, 400, 0.48, 0.015);
        let [fast, slow] = detect(&values).expect("two modes");
        assert!((fast.at / 1.02e-3 - 1.0).abs() < 0.01 && (slow.at / 1.32e-3 - 1.0).abs() < 0.01, "{fast:?} {slow:?}");
        assert!((slow.share - 0.48).abs() < 0.06 && (fast.share + slow.share - 1.0).abs() < 1e-12);
    }

    #[test]
    fn one_mode_skewed_or_with_a_few_slow_runs_is_one_mode() {
        let mut rng = StdRng::seed_from_u64(2);
        let normal_logs: Vec<f64> = (0..2000).map(|_| 1e-3 * (0.03 * normal(&mut rng)).exp()).collect();
        assert!(detect(&normal_logs).is_none());
        // 4% of runs twice as slow: outliers, not a mode.
        let tail: Vec<f64> =
            (0..2000).map(|i| 1e-3 * (0.02 * normal(&mut rng)).exp() * if i % 25 == 0 { 2.0 } else { 1.0 }).collect();
        assert!(detect(&tail).is_none());
        // Right-skewed (exponential jitter on top of a floor): one mode with a long tail.
        let skewed: Vec<f64> = (0..2000).map(|_| 1e-3 + 1e-4 * -rng.gen_range(1e-9..1.0f64).ln()).collect();
        assert!(detect(&skewed).is_none());
        // Modes too close for their spread.
        let close = bimodal(&mut rng, 2000, 0.5, 0.15);
        assert!(detect(&close).is_none());
        assert!(detect(&bimodal(&mut rng, MIN_RUNS - 1, 0.5, 0.01)).is_none(), "too few runs");
    }

    #[test]
    fn a_change_of_the_shares_is_told_apart_from_chance() {
        let mut rng = StdRng::seed_from_u64(3);
        let moved = compare_shares(&bimodal(&mut rng, 640, 0.45, 0.015), &bimodal(&mut rng, 640, 0.62, 0.015)).unwrap();
        assert!(moved.changed(0.05), "{moved:?}");
        assert!((moved.at[0] / 1.02e-3 - 1.0).abs() < 0.02 && (moved.at[1] / 1.32e-3 - 1.0).abs() < 0.02, "{moved:?}");
        let changed = (0..40)
            .filter(|_| {
                let same = compare_shares(&bimodal(&mut rng, 320, 0.5, 0.015), &bimodal(&mut rng, 320, 0.5, 0.015));
                same.unwrap().changed(0.05)
            })
            .count();
        // 5% of them by chance, at α = 0.05.
        assert!(changed <= 5, "{changed} of 40 A/A comparisons saw the shares change");
    }
}
