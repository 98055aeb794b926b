//! Summaries of samples: location, spread, a confidence interval of the mean, and outliers.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::statistics::{Data, Distribution, Max, Min, OrderStatistics};

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

/// The summary of one metric of one benchmark (DESIGN §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of measured runs.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// Sample standard deviation (0 for one sample).
    pub stddev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// 95% confidence interval of the mean (Student's t); `None` with fewer than two samples.
    pub ci95: Option<[f64; 2]>,
    /// 95% confidence interval of the median (percentile bootstrap); `None` with fewer than two samples.
    #[serde(default)]
    pub median_ci95: Option<[f64; 2]>,
    /// Number of outliers by modified z-score above [`OUTLIER_Z`].
    pub outliers: usize,
}

/// The modified z-score above which a sample is an outlier (Iglewicz and Hoaglin, as hyperfine).
pub const OUTLIER_Z: f64 = 3.5;

/// Modified z-scores of the samples: 0.6745 · (x − median) / MAD; all zero when MAD is zero.
pub fn modified_z_scores(samples: &Samples) -> Vec<f64> {
    let mut data = Data::new(samples.values().to_vec());
    let median = data.median();
    let mad = mad(samples.values(), median);
    samples.values().iter().map(|x| if mad > 0.0 { 0.6745 * (x - median) / mad } else { 0.0 }).collect()
}

fn mad(values: &[f64], median: f64) -> f64 {
    let mut deviations = Data::new(values.iter().map(|x| (x - median).abs()).collect::<Vec<_>>());
    deviations.median()
}

impl Summary {
    /// Summarises validated samples.
    pub fn of(samples: &Samples) -> Summary {
        let values = samples.values();
        let n = values.len();
        let mut data = Data::new(values.to_vec());
        let mean = data.mean().expect("non-empty");
        let stddev = if n > 1 { data.std_dev().expect("n > 1") } else { 0.0 };
        let median = data.median();
        let ci95 = (n > 1).then(|| {
            let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("n - 1 > 0 degrees of freedom");
            let half = t.inverse_cdf(0.975) * stddev / (n as f64).sqrt();
            [mean - half, mean + half]
        });
        let outliers = modified_z_scores(samples).iter().filter(|z| z.abs() > OUTLIER_Z).count();
        let median_ci95 = (n > 1).then(|| bootstrap_median_ci(values));
        Summary {
            n,
            mean,
            median,
            stddev,
            min: data.min(),
            max: data.max(),
            p5: data.quantile(0.05),
            p95: data.quantile(0.95),
            mad: mad(values, median),
            ci95,
            median_ci95,
            outliers,
        }
    }

    /// Coefficient of variation (σ / mean), or 0 when the mean is 0.
    pub fn cv(&self) -> f64 {
        if self.mean == 0.0 {
            0.0
        } else {
            self.stddev / self.mean
        }
    }
}

/// Resamples for the bootstrap CI of the median.
const BOOTSTRAP_RESAMPLES: usize = 1000;

/// Percentile-bootstrap 95% CI of the median, with a fixed seed so that a result file is
/// reproducible from its samples.
fn bootstrap_median_ci(values: &[f64]) -> [f64; 2] {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x00c0_1dbe_4c40);
    let n = values.len();
    let mut buf = vec![0.0; n];
    let mut medians = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for slot in buf.iter_mut() {
            *slot = values[rng.gen_range(0..n)];
        }
        medians.push(median_in_place(&mut buf));
    }
    medians.sort_by(f64::total_cmp);
    let at = |q: f64| medians[((q * (BOOTSTRAP_RESAMPLES - 1) as f64).round() as usize).min(BOOTSTRAP_RESAMPLES - 1)];
    [at(0.025), at(0.975)]
}

/// The median of the values, reordering them (selection, not a full sort); the slice must not be empty.
pub(crate) fn median_in_place(buf: &mut [f64]) -> f64 {
    let odd = buf.len() % 2 == 1;
    let mid = buf.len() / 2;
    let (lower, upper, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
    if odd {
        *upper
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below + *upper) / 2.0
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
                "{count} of {runs} runs were statistical outliers: other programs may have been busy; \
                 close them or use more --runs"
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
                write!(f, "the wall time varies a lot (coefficient of variation {percent}%): results are noisy")
            }
        }
    }
}

/// Below this many runs, outlier counts and variation say too little to warn about.
const MIN_RUNS_FOR_WARNINGS: usize = 5;

/// Warnings about the wall-time samples of a benchmark that made `warmups` warmup runs first.
pub fn warnings(samples: &Samples, summary: &Summary, warmups: usize) -> Vec<Warning> {
    let mut out = Vec::new();
    let z = modified_z_scores(samples);
    if summary.n >= MIN_RUNS_FOR_WARNINGS && summary.outliers * 10 > summary.n {
        out.push(Warning::Outliers { count: summary.outliers, runs: summary.n });
    }
    if summary.n >= MIN_RUNS_FOR_WARNINGS && z.first().is_some_and(|&z0| z0 > OUTLIER_Z) {
        out.push(Warning::SlowFirstRun { warmups });
    }
    let cv = summary.cv();
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
        let sum = Summary::of(&s(&[1.0, 2.0, 3.0, 4.0, 5.0]));
        assert_eq!(sum.n, 5);
        assert_eq!(sum.mean, 3.0);
        assert_eq!(sum.median, 3.0);
        assert_eq!(sum.min, 1.0);
        assert_eq!(sum.max, 5.0);
        assert!((sum.stddev - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(sum.mad, 1.0);
        // t(0.975, 4) = 2.7764451
        let half = 2.776_445_105 * 2.5f64.sqrt() / 5f64.sqrt();
        let [lo, hi] = sum.ci95.unwrap();
        assert!((lo - (3.0 - half)).abs() < 1e-6 && (hi - (3.0 + half)).abs() < 1e-6, "{lo} {hi}");
        assert_eq!(sum.outliers, 0);
    }

    #[test]
    fn the_median_interval_brackets_the_median() {
        let values: Vec<f64> = (0..101).map(|i| 10.0 + (i % 10) as f64).collect();
        let sum = Summary::of(&s(&values));
        let [lo, hi] = sum.median_ci95.unwrap();
        assert!(lo <= sum.median && sum.median <= hi, "{lo} {} {hi}", sum.median);
        assert!(lo >= 10.0 && hi <= 19.0);
        assert_eq!(Summary::of(&s(&values)).median_ci95, sum.median_ci95, "reproducible");
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0, 4.0]), 2.5);
    }

    #[test]
    fn single_sample_has_no_interval() {
        let sum = Summary::of(&s(&[0.5]));
        assert_eq!(sum.stddev, 0.0);
        assert!(sum.ci95.is_none());
    }

    #[test]
    fn outliers_use_the_modified_z_score() {
        let sum = Summary::of(&s(&[10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 30.0]));
        assert_eq!(sum.outliers, 1);
    }

    #[test]
    fn warnings_for_slow_first_run_and_variation() {
        let samples = s(&[50.0, 10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 9.9]);
        let sum = Summary::of(&samples);
        let w = warnings(&samples, &sum, 0);
        assert!(w.contains(&Warning::SlowFirstRun { warmups: 0 }), "{w:?}");
        assert!(w[0].to_string().contains("use --warmup"), "{w:?}");
        assert!(w.iter().any(|w| matches!(w, Warning::HighVariation { .. })), "{w:?}");
        assert!(!w.iter().any(|w| matches!(w, Warning::Outliers { .. })), "1 of 10 is not more than 10%");

        let steady = s(&[10.0, 10.1, 9.9, 10.0]);
        assert!(warnings(&steady, &Summary::of(&steady), 0).is_empty());

        // After warmups, the advice is not to add warmups as if there had been none.
        let w = warnings(&samples, &sum, 2);
        assert!(w.contains(&Warning::SlowFirstRun { warmups: 2 }), "{w:?}");
        let text = w[0].to_string();
        assert!(text.contains("first measured run") && text.contains("after 2 warmup runs"), "{text}");
    }

    #[test]
    fn many_outliers_warn() {
        let samples = s(&[10.0, 10.0, 10.1, 9.9, 10.0, 10.0, 10.1, 9.9, 40.0, 45.0]);
        let w = warnings(&samples, &Summary::of(&samples), 1);
        assert!(w.contains(&Warning::Outliers { count: 2, runs: 10 }), "{w:?}");
    }
}
