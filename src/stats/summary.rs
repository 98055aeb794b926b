//! Descriptive statistics of samples: location, spread, percentiles (one definition, used
//! everywhere), confidence intervals, outliers, and warnings about the samples' quality.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::bootstrap;
pub use super::quantile::percentile;
use crate::results::Summary;

/// Samples that statistics can be computed on: at least one value, all finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// Validates raw values; `None` when there are none or one is NaN or infinite.
    pub fn new(values: Vec<f64>) -> Option<Self> {
        (!values.is_empty() && values.iter().all(|v| v.is_finite())).then_some(Samples(values))
    }

    /// The values in run order.
    pub fn values(&self) -> &[f64] {
        &self.0
    }
}

/// The modified z-score above which a sample is an outlier (Iglewicz and Hoaglin, as hyperfine).
pub const OUTLIER_Z: f64 = 3.5;

/// The median, reordering `values` (selection is O(n), where a sort would be O(n log n) per
/// resample). The median of an even count is the mean of the two middle values; NaN when empty.
pub fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (lower, &mut upper_middle, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        upper_middle
    } else {
        // After the selection the lower middle value is the largest of the lower half.
        let lower_middle = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower_middle + upper_middle) / 2.0
    }
}

/// The arithmetic mean (NaN when empty).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample variance (n − 1), two-pass for accuracy when the spread is small next to the mean.
pub fn variance(values: &[f64], mean: f64) -> f64 {
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() as f64 - 1.0)
}

fn mad(values: &[f64], median: f64) -> f64 {
    let mut deviations: Vec<f64> = values.iter().map(|x| (x - median).abs()).collect();
    median_in_place(&mut deviations)
}

/// Modified z-scores of the samples: 0.6745 · (x − median) / MAD; all zero when MAD is zero.
pub fn modified_z_scores(samples: &Samples) -> Vec<f64> {
    let median = median_in_place(&mut samples.values().to_vec());
    let mad = mad(samples.values(), median);
    samples.values().iter().map(|x| if mad > 0.0 { 0.6745 * (x - median) / mad } else { 0.0 }).collect()
}

/// Resamples for the bootstrap CI of a summary's median: a result file's summaries are many, and
/// this interval is for display.
const MEDIAN_CI_RESAMPLES: usize = 1000;
/// Fixed, so that a result file is reproducible from its samples.
const MEDIAN_CI_SEED: u64 = 0x00c0_1dbe_4c40;

/// Summarises validated samples.
pub fn summarize(samples: &Samples) -> Summary {
    let values = samples.values();
    let n = values.len();
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let mean = mean(values);
    let stddev = if n > 1 { variance(values, mean).sqrt() } else { 0.0 };
    let median = percentile(&sorted, 0.5);
    let ci95 = (n > 1).then(|| {
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("n - 1 > 0 degrees of freedom");
        let half = t.inverse_cdf(0.975) * stddev / (n as f64).sqrt();
        [mean - half, mean + half]
    });
    let median_ci95 = (n > 1).then(|| {
        let [ci] = bootstrap::intervals(&[values], MEDIAN_CI_RESAMPLES, MEDIAN_CI_SEED, [median], |bufs, _| {
            [median_in_place(&mut bufs[0])]
        });
        ci
    });
    let outliers = modified_z_scores(samples).iter().filter(|z| z.abs() > OUTLIER_Z).count();
    Summary {
        n,
        mean,
        median,
        stddev,
        min: sorted[0],
        max: sorted[n - 1],
        p5: percentile(&sorted, 0.05),
        p95: percentile(&sorted, 0.95),
        mad: mad(values, median),
        ci95,
        median_ci95,
        outliers,
    }
}

/// Coefficient of variation (σ / mean), or 0 when the mean is 0.
pub fn cv(summary: &Summary) -> f64 {
    if summary.mean == 0.0 {
        0.0
    } else {
        summary.stddev / summary.mean
    }
}

/// A warning about the quality of a benchmark's samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Warning {
    /// More than 10% of the runs were outliers.
    Outliers { count: usize, runs: usize },
    /// The first measured run was an outlier on the slow side, after this many warmups.
    SlowFirstRun { warmups: usize },
    /// The coefficient of variation is above 10%.
    HighVariation { percent: u32 },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Outliers { count, runs } => write!(
                f,
                "{count} of {runs} runs {} statistical outliers: other programs may have been busy; \
                 close them or use more --runs",
                if *count == 1 { "was" } else { "were" }
            ),
            Warning::SlowFirstRun { warmups: 0 } => {
                write!(f, "the first run was much slower than the rest: caches were probably cold; use --warmup")
            }
            Warning::SlowFirstRun { warmups } => write!(
                f,
                "the first measured run was much slower than the rest, after {warmups} warmup run{}: something \
                 else may have been busy, or the program warms up slowly; use more --warmup",
                if *warmups == 1 { "" } else { "s" }
            ),
            Warning::HighVariation { percent } => {
                write!(f, "the measurements vary a lot (coefficient of variation {percent}%): results are noisy")
            }
        }
    }
}

/// Below this many runs, outlier counts and variation say too little to warn about.
const MIN_RUNS_FOR_WARNINGS: usize = 5;

/// Warnings about the headline samples of a benchmark that made `warmups` warmup runs first.
/// `slow_is_high`: whether a slow run is a high value (times) rather than a low one (rates).
pub fn warnings(samples: &Samples, summary: &Summary, warmups: usize, slow_is_high: bool) -> Vec<Warning> {
    let mut out = Vec::new();
    let z = modified_z_scores(samples);
    if summary.n >= MIN_RUNS_FOR_WARNINGS && summary.outliers * 10 > summary.n {
        out.push(Warning::Outliers { count: summary.outliers, runs: summary.n });
    }
    let first_slow = z.first().is_some_and(|&z0| if slow_is_high { z0 > OUTLIER_Z } else { z0 < -OUTLIER_Z });
    if summary.n >= MIN_RUNS_FOR_WARNINGS && first_slow {
        out.push(Warning::SlowFirstRun { warmups });
    }
    let cv = cv(summary);
    if summary.n >= MIN_RUNS_FOR_WARNINGS && cv > 0.10 {
        out.push(Warning::HighVariation { percent: (cv * 100.0).round() as u32 });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(values: &[f64]) -> Samples {
        Samples::new(values.to_vec()).unwrap()
    }

    #[test]
    fn rejects_empty_and_non_finite_samples() {
        assert!(Samples::new(vec![]).is_none());
        assert!(Samples::new(vec![1.0, f64::NAN]).is_none());
    }

    #[test]
    fn summary_of_known_values() {
        let sum = summarize(&s(&[1.0, 2.0, 3.0, 4.0, 5.0]));
        assert_eq!(sum.n, 5);
        assert_eq!(sum.mean, 3.0);
        assert_eq!(sum.median, 3.0);
        assert_eq!(sum.min, 1.0);
        assert_eq!(sum.max, 5.0);
        assert!((sum.stddev - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(sum.mad, 1.0);
        // numpy.percentile([1, 2, 3, 4, 5], [5, 95]) = 1.2, 4.8
        assert!((sum.p5 - 1.2).abs() < 1e-12 && (sum.p95 - 4.8).abs() < 1e-12, "{} {}", sum.p5, sum.p95);
        // t(0.975, 4) = 2.7764451
        let half = 2.776_445_105 * 2.5f64.sqrt() / 5f64.sqrt();
        let [lo, hi] = sum.ci95.unwrap();
        assert!((lo - (3.0 - half)).abs() < 1e-6 && (hi - (3.0 + half)).abs() < 1e-6, "{lo} {hi}");
        assert_eq!(sum.outliers, 0);
    }

    #[test]
    fn the_median_interval_brackets_the_median_and_is_reproducible() {
        let values: Vec<f64> = (0..101).map(|i| 10.0 + (i % 10) as f64).collect();
        let sum = summarize(&s(&values));
        let [lo, hi] = sum.median_ci95.unwrap();
        assert!(lo <= sum.median && sum.median <= hi, "{lo} {} {hi}", sum.median);
        assert!(lo >= 10.0 && hi <= 19.0);
        assert_eq!(summarize(&s(&values)).median_ci95, sum.median_ci95);
    }

    #[test]
    fn percentiles_interpolate_and_survive_infinity() {
        let sorted: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!((percentile(&sorted, 0.025), percentile(&sorted, 0.975)), (2.5, 97.5));
        assert_eq!(percentile(&[f64::INFINITY; 3], 0.5), f64::INFINITY);
        assert_eq!(percentile(&[1.0, 2.0, f64::INFINITY, f64::INFINITY], 0.975), f64::INFINITY);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn median_by_selection_matches_sorting() {
        assert_eq!(median_in_place(&mut [3.0]), 3.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0]), 2.5);
        assert_eq!(median_in_place(&mut [7.0, 1.0, 3.0, 5.0]), 4.0);
        assert!(median_in_place(&mut []).is_nan());
    }

    #[test]
    fn single_sample_has_no_interval() {
        let sum = summarize(&s(&[0.5]));
        assert_eq!(sum.stddev, 0.0);
        assert!(sum.ci95.is_none() && sum.median_ci95.is_none());
    }

    #[test]
    fn outliers_use_the_modified_z_score() {
        let sum = summarize(&s(&[10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 30.0]));
        assert_eq!(sum.outliers, 1);
    }

    #[test]
    fn warnings_for_slow_first_run_and_variation() {
        let samples = s(&[50.0, 10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 9.9]);
        let sum = summarize(&samples);
        let w = warnings(&samples, &sum, 0, true);
        assert!(w.contains(&Warning::SlowFirstRun { warmups: 0 }), "{w:?}");
        assert!(w[0].to_string().contains("use --warmup"), "{w:?}");
        assert!(w.iter().any(|w| matches!(w, Warning::HighVariation { .. })), "{w:?}");
        assert!(!w.iter().any(|w| matches!(w, Warning::Outliers { .. })), "1 of 10 is not more than 10%");
        let steady = s(&[10.0, 10.1, 9.9, 10.0]);
        assert!(warnings(&steady, &summarize(&steady), 0, true).is_empty());

        // After warmups, the advice is not to add warmups as if there had been none.
        let w = warnings(&samples, &sum, 2, true);
        let text = w[0].to_string();
        assert!(text.contains("first measured run") && text.contains("after 2 warmup runs"), "{text}");

        // For a rate, a slow run is a low one.
        let rates = s(&[2.0, 10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 9.9]);
        assert!(warnings(&rates, &summarize(&rates), 1, false).contains(&Warning::SlowFirstRun { warmups: 1 }));
        assert!(!warnings(&samples, &sum, 1, false).contains(&Warning::SlowFirstRun { warmups: 1 }));
    }

    #[test]
    fn many_outliers_warn() {
        let samples = s(&[10.0, 10.0, 10.1, 9.9, 10.0, 10.0, 10.1, 9.9, 40.0, 45.0]);
        let w = warnings(&samples, &summarize(&samples), 1, true);
        assert!(w.contains(&Warning::Outliers { count: 2, runs: 10 }), "{w:?}");
        assert!(Warning::Outliers { count: 2, runs: 10 }.to_string().starts_with("2 of 10 runs were statistical"));
        assert!(Warning::Outliers { count: 1, runs: 5 }.to_string().starts_with("1 of 5 runs was statistical"));
    }
}
