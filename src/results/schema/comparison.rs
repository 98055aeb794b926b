//! A comparison in the result file: two sides, one row per metric judged, and a benchmark's
//! comparison with its reference in the same run.

use serde::{Deserialize, Serialize};

use super::{short_sha, BenchmarkResult, OrderedMap, Verdict};

/// A benchmark compared with its reference in the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The reference benchmark's id.
    pub id: String,
    /// Whether the two ran interleaved.
    pub interleaved: bool,
    /// Per metric: this benchmark (candidate) against the reference (baseline).
    pub rows: Vec<ComparisonRow>,
    /// A start entry against its reference (a head-to-head): per metric that gates or that
    /// compact tables show, how many times better it is in the metric's direction.
    #[serde(default, skip_serializing_if = "OrderedMap::is_empty")]
    pub speedups: OrderedMap<Speedup>,
}

/// How many times better a benchmark is than its reference in one metric, in the metric's
/// direction: reference / benchmark for a time or a size, benchmark / reference for a rate; above
/// 1 is better.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Speedup {
    /// The factor, from the ratio of medians.
    pub factor: f64,
    /// Its bootstrap 95% CI.
    pub ci95: [f64; 2],
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// What the user named (`main`, `working tree`, `baseline nightly`, a file).
    pub label: String,
    /// The commit, when known.
    pub sha: Option<String>,
    /// Whether it had uncommitted changes.
    #[serde(default)]
    pub dirty: bool,
}

impl Side {
    /// `label (sha), dirty`, with the short sha between `mark`s (a backtick for Markdown).
    pub fn describe(&self, mark: &str) -> String {
        let sha = self.sha.as_deref().map(|s| format!(" ({mark}{}{mark})", short_sha(s))).unwrap_or_default();
        format!("{}{sha}{}", self.label, if self.dirty { ", dirty" } else { "" })
    }
}

/// A comparison of two sides, per benchmark and metric (README "Comparisons", "Results").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The side compared against.
    pub baseline: Side,
    /// The side being judged (the benchmarks of this document).
    pub candidate: Side,
    /// Whether the two sides ran interleaved in one session (false for `diff` and saved baselines).
    pub interleaved: bool,
    /// One row per benchmark and metric.
    pub rows: Vec<ComparisonRow>,
    /// Benchmarks only the candidate has.
    #[serde(default)]
    pub added: Vec<String>,
    /// Benchmarks only the baseline has.
    #[serde(default)]
    pub removed: Vec<String>,
    /// The baseline side's own results.
    #[serde(default)]
    pub baseline_benchmarks: Vec<BenchmarkResult>,
    /// Benchmarks that one side could not run (its binary or library does not exist there), so
    /// they were not compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedBench>,
    /// How the rows' p-values were adjusted for being many; absent in files written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplicity: Option<Multiplicity>,
}

/// How a comparison's p-values are adjusted for its number of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// Benjamini–Hochberg: the false discovery rate, per direction of change.
    #[default]
    Bh,
    /// Holm: the family-wise error rate, per direction of change.
    Holm,
    /// None: every row at its own level.
    None,
}

/// The adjustment of a comparison's p-values for its number of rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Multiplicity {
    /// `bh` (Benjamini–Hochberg, the false discovery rate) or `holm` (the family-wise error), each
    /// per direction of change; `none`.
    pub method: Adjustment,
    /// Rows in the gate's family: the gating rows with a p-value.
    pub gating: usize,
    /// Rows in the other family: the explaining rows with a p-value.
    pub explaining: usize,
}

/// A benchmark of a comparison that one side could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedBench {
    /// Benchmark id.
    pub id: String,
    /// `baseline` or `candidate`: the side that lacks it.
    pub side: String,
    /// Why: "bin `fd` does not exist at v10.2.0".
    pub reason: String,
}

/// Where two sides' samples of a metric were compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    /// The Hodges–Lehmann shift between the sides (metrics declared `median` with positive values).
    Shift,
    /// The medians (a `median` metric with a value that is not positive, or files written before
    /// the shift).
    Median,
    /// The means.
    Mean,
}

impl Compared {
    /// `shift`, `median`, `mean`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compared::Shift => "shift",
            Compared::Median => "median",
            Compared::Mean => "mean",
        }
    }
}

/// The comparison of one metric (or of the status) of one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// Benchmark id.
    pub id: String,
    /// Metric name, or `status` for a benchmark that failed on one side.
    pub metric: String,
    /// Which location was compared: `shift` (the Hodges–Lehmann shift, for metrics declared
    /// `median`), `median` (the same metrics with a value that is not positive, or in files written
    /// before the shift) or `mean` (`None` for exact facts and status rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Compared>,
    /// Baseline value at that location.
    pub baseline: Option<f64>,
    /// Candidate value at that location.
    pub candidate: Option<f64>,
    /// Candidate / baseline at that location (for `shift`: the shift as a ratio, while
    /// `baseline` and `candidate` are the sides' medians).
    pub ratio: Option<f64>,
    /// The 95% CI of `ratio` (at `ci_level` when that is given): the rank test's for a shift,
    /// the bootstrap's for a median or a mean.
    pub ci95: Option<[f64; 2]>,
    /// Candidate mean / baseline mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_of_means: Option<f64>,
    /// Bootstrap 95% CI of the ratio of means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_of_means_ci95: Option<[f64; 2]>,
    /// The p-value the verdict used (see `test`).
    pub p_value: Option<f64>,
    /// The test that gave `p_value`: `van_elteren` (the shift of interleaved sides, by blocks of
    /// pairs), `mann_whitney` (sides measured apart, or medians) or `welch` (means).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// Welch's t-test p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welch_p: Option<f64>,
    /// Mann-Whitney U p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mann_whitney_p: Option<f64>,
    /// The smallest change (a fraction) this comparison could detect at α = 0.05 with 95%
    /// power, from the spread of the two sides' runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectable: Option<f64>,
    /// When `detectable` is larger than the noise threshold: the runs per side that would see a
    /// change of the threshold's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_to_see_noise: Option<u64>,
    /// The p-value after adjusting for the other rows of the comparison (see
    /// `Comparison::multiplicity`); the verdict uses it. `p_value` stays the row's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    /// The noise band the verdict used, as a fraction: the configured `noise`, or more for a metric
    /// whose default or calibrated band is wider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
    /// For a row compared process by process: the processes per side (baseline, candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<[usize; 2]>,
    /// The degrees of freedom of a process-by-process test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
    /// The verdict, in the metric's direction.
    pub verdict: Verdict,
    /// Whether this row can fail the gate (the others explain).
    pub gating: bool,
    /// Explanation for rows without statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The level of `ci95` when it is not 95%: a run to a precision judges at its last look's
    /// level (`0.992`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_level: Option<f64>,
    /// When both sides' runs together have two modes: the modes and each side's share of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<ModeShares>,
}

/// Two modes of a metric over both sides of a comparison, and each side's share of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModeShares {
    /// Where the lower and the upper mode are.
    pub at: [f64; 2],
    /// The baseline's share of runs in each.
    pub baseline: [f64; 2],
    /// The candidate's share of runs in each.
    pub candidate: [f64; 2],
    /// A two-proportion z-test of the shares.
    pub p_value: f64,
}

impl ComparisonRow {
    /// The p-value of the row's own test (the verdict uses `p_adjusted` when there is one). Files
    /// written before rows named their test held Welch's p in `p_value` and judged medians by
    /// Mann-Whitney's.
    pub fn deciding_p(&self) -> Option<f64> {
        match (&self.test, self.location) {
            (Some(_), _) | (None, Some(Compared::Mean)) => self.p_value,
            (None, _) => self.mann_whitney_p.or(self.p_value),
        }
    }
}
