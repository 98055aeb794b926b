//! How a metric is read and judged: its unit, its direction, whether it gates, and how two sides
//! of it are compared. Declared once by the benchmark kind that measures it and written into
//! every result, so that verdicts, budgets, reports and exports of any file — written by any
//! kind — read the same facts.

use serde::{Deserialize, Serialize};

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Seconds (a float).
    Seconds,
    /// Bytes (an integer).
    Bytes,
    /// A count (an integer; means of counts are floats).
    Count,
    /// Events per second: messages, requests, items.
    PerSecond,
    /// Bytes per second.
    BytesPerSecond,
    /// A plain ratio.
    Ratio,
    /// A share of a whole (0.95), shown as a percentage.
    Fraction,
}

/// The units a measured program reports in (`crate::self_report`, which has no dependencies)
/// are these units, one for one.
impl From<crate::self_report::Unit> for Unit {
    fn from(u: crate::self_report::Unit) -> Unit {
        use crate::self_report::Unit as R;
        match u {
            R::Seconds => Unit::Seconds,
            R::Bytes => Unit::Bytes,
            R::Count => Unit::Count,
            R::PerSecond => Unit::PerSecond,
            R::BytesPerSecond => Unit::BytesPerSecond,
            R::Ratio => Unit::Ratio,
            R::Fraction => Unit::Fraction,
        }
    }
}

impl From<Unit> for crate::self_report::Unit {
    fn from(u: Unit) -> crate::self_report::Unit {
        use crate::self_report::Unit as R;
        match u {
            Unit::Seconds => R::Seconds,
            Unit::Bytes => R::Bytes,
            Unit::Count => R::Count,
            Unit::PerSecond => R::PerSecond,
            Unit::BytesPerSecond => R::BytesPerSecond,
            Unit::Ratio => R::Ratio,
            Unit::Fraction => R::Fraction,
        }
    }
}

impl Unit {
    /// Whether samples of this unit are integers.
    pub fn is_integer(self) -> bool {
        matches!(self, Unit::Bytes | Unit::Count)
    }
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Lower is better: times, memory, counts of work.
    Lower,
    /// Higher is better: throughput.
    Higher,
    /// Neither: a fact that is neither good nor bad.
    Neither,
}

/// What is compared between two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// The medians (judged with the Mann-Whitney U test).
    Median,
    /// The means (judged with Welch's t-test): for values the kernel samples in ticks and small
    /// counts, whose medians flip between a few values.
    Mean,
    /// One deterministic value per side, compared exactly (facts: mapped objects, file size).
    Exact,
}

impl Location {
    /// `median`, `mean`, `exact`.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Median => "median",
            Location::Mean => "mean",
            Location::Exact => "exact",
        }
    }
}

/// A statistic of a metric's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// The median.
    Median,
    /// The mean.
    Mean,
    /// The largest value (peak memory: the worst run counts).
    Max,
    /// The smallest value.
    Min,
}

impl Stat {
    /// `median`, `mean`, `max`, `min`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Median => "median",
            Stat::Mean => "mean",
            Stat::Max => "max",
            Stat::Min => "min",
        }
    }
}

/// The descriptor of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDesc {
    /// Its unit.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
    /// Whether a verdict on it can fail the gate (`--fail-on`); the others explain.
    pub gates: bool,
    /// What is compared between two sides.
    pub compare: Location,
    /// A name for people ("wall time", "peak RSS"); the metric's name when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The statistic tables and budgets show; the compared location when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<Stat>,
    /// The title of the table column that shows it (metrics sharing a title share the column,
    /// as `minor/major`); none for metrics outside the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Whether its column is also shown in compact tables (Markdown, the HTML summary).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compact: bool,
    /// Whether it is listed in the line under its benchmark's row.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub line: bool,
    /// Whether the console ends with the best row of its table in this metric (the fastest
    /// call through a worker, with its overhead beside it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub best: bool,
    /// Whether it is drawn, beside the other metrics so marked, in a chart of its own against
    /// the group's varying parameter (a worker's memory in each mode against the worker count).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chart: bool,
    /// For a metric compared exactly: a relative difference within this is no change (an
    /// instruction count, nearly but not quite deterministic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Whether the measured program reported it about itself (`COLDBENCH_METRICS`) rather than
    /// cargo-coldbench measuring it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reported: bool,
    /// The noise band of the metric's family, as a fraction, where it is wider than the configured
    /// `noise` (a suite's throughput varies more than a start time): changes within it are within
    /// noise. A calibration of the host (`calibrate`) replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
}

impl MetricDesc {
    /// A metric with no label, column or line, compared by its median.
    pub fn new(unit: Unit, better: Better) -> MetricDesc {
        MetricDesc {
            unit,
            better,
            gates: false,
            compare: Location::Median,
            label: String::new(),
            stat: None,
            column: None,
            compact: false,
            line: false,
            best: false,
            chart: false,
            tolerance: None,
            reported: false,
            noise: None,
        }
    }

    /// `higher`, `lower` or `neither`: which way is better, as one word.
    pub fn better_word(&self) -> &'static str {
        match self.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
            Better::Neither => "neither",
        }
    }

    /// The statistic shown and budgeted.
    pub fn shown_stat(&self) -> Stat {
        self.stat.unwrap_or(match self.compare {
            Location::Mean => Stat::Mean,
            Location::Median | Location::Exact => Stat::Median,
        })
    }

    /// The label, or `name` when there is none.
    pub fn label_or<'a>(&'a self, name: &'a str) -> &'a str {
        if self.label.is_empty() {
            name
        } else {
            &self.label
        }
    }
}

/// The outcome of comparing one metric, ordered from best to worst so that the worst of several
/// is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly better in the metric's direction, by more than the noise threshold.
    Improved,
    /// The difference is not statistically significant.
    NoChange,
    /// Significant, but the confidence interval does not clear the noise threshold.
    WithinNoise,
    /// Significantly different, for a metric with no better direction.
    Changed,
    /// Significantly worse, by at most the warn threshold.
    Regressed,
    /// Significantly worse, by more than the warn threshold.
    Warning,
    /// Significantly worse, by more than the fail threshold.
    Failure,
}

impl Verdict {
    /// `improved`, `no_change`, ... as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::NoChange => "no_change",
            Verdict::WithinNoise => "within_noise",
            Verdict::Changed => "changed",
            Verdict::Regressed => "regressed",
            Verdict::Warning => "warning",
            Verdict::Failure => "failure",
        }
    }

    /// Whether this verdict is worse in the metric's direction (Regressed, Warning, Failure).
    pub fn is_regression(self) -> bool {
        matches!(self, Verdict::Regressed | Verdict::Warning | Verdict::Failure)
    }
}

/// Thresholds of a comparison, as fractions (0.02 = 2%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Changes whose whole confidence interval stays within ±noise are not reported as changes.
    pub noise: f64,
    /// A regression larger than this is a warning.
    pub warn: f64,
    /// A regression larger than this is a failure.
    pub fail: f64,
    /// p-values at or above this mean the difference may be chance.
    pub significance: f64,
}

impl Thresholds {
    /// criterion's noise threshold and significance level, with warn and fail levels for start times.
    pub const DEFAULT: Thresholds = Thresholds { noise: 0.02, warn: 0.10, fail: 0.25, significance: 0.05 };
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::DEFAULT
    }
}
