//! Limits and what checking them found: the `budget` of a benchmark in the results, and the
//! resolved limits (of the configuration's `budget` tables) that the analysis checks.

use serde::{Deserialize, Serialize};

use super::Stat;

/// Which side of a limit is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The value may not exceed the limit.
    Max,
    /// The value may not fall below the limit.
    Min,
}

/// What a budget check compared the limit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checked {
    /// The median of the samples.
    Median,
    /// Their mean.
    Mean,
    /// Their largest value.
    Max,
    /// Their smallest value.
    Min,
    /// A fact, compared as it is.
    Value,
    /// The items of a list that must stay empty (forbidden objects or modules).
    Count,
    /// A speedup over the reference (`min-speedup`).
    Speedup,
    /// Nothing: the check could not be made (`found` says why), and fails.
    Unchecked,
}

impl Checked {
    /// Its name in result files: `median`, `value`, `unchecked`...
    pub fn as_str(self) -> &'static str {
        match self {
            Checked::Median => "median",
            Checked::Mean => "mean",
            Checked::Max => "max",
            Checked::Min => "min",
            Checked::Value => "value",
            Checked::Count => "count",
            Checked::Speedup => "speedup",
            Checked::Unchecked => "unchecked",
        }
    }
}

impl From<Stat> for Checked {
    fn from(stat: Stat) -> Checked {
        match stat {
            Stat::Median => Checked::Median,
            Stat::Mean => Checked::Mean,
            Stat::Max => Checked::Max,
            Stat::Min => Checked::Min,
        }
    }
}

fn max_bound() -> Bound {
    Bound::Max
}

/// One limit checked against one statistic of one metric (or against a fact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetCheck {
    /// The metric (`wall`, `max_rss`).
    pub metric: String,
    /// What was compared (`median`, `max`, a fact's `value`...).
    pub stat: Checked,
    /// Whether the limit is a maximum or a minimum.
    #[serde(default = "max_bound")]
    pub bound: Bound,
    /// The limit, in the metric's unit (seconds, bytes).
    pub limit: f64,
    /// The measured value.
    pub value: f64,
    /// Whether the value is within the limit.
    pub ok: bool,
    /// What exceeded it, for checks of lists (the forbidden objects or modules found).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found: Vec<String>,
}

/// A limit on one statistic of one metric, resolved from a `budget` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// The metric.
    pub metric: String,
    /// The statistic compared (for a fact compared exactly: its value).
    pub stat: Stat,
    /// Maximum or minimum.
    pub bound: Bound,
    /// The limit, in the metric's unit.
    pub value: f64,
}

/// A minimum speedup over the reference (`budget = { min-speedup = 2.0 }`).
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedupLimit {
    /// The metric; `None` for the headline (the wall time of a start).
    pub metric: Option<String>,
    /// The factor the lower end of the speedup's 95% CI must reach.
    pub min: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checks_stat_is_written_as_the_plain_names_result_files_have_held() {
        let names = ["median", "mean", "max", "min", "value", "count", "speedup", "unchecked"];
        let all = [
            Checked::Median,
            Checked::Mean,
            Checked::Max,
            Checked::Min,
            Checked::Value,
            Checked::Count,
            Checked::Speedup,
            Checked::Unchecked,
        ];
        for (checked, name) in all.into_iter().zip(names) {
            assert_eq!(serde_json::to_value(checked).unwrap(), serde_json::json!(name));
            assert_eq!(serde_json::from_value::<Checked>(serde_json::json!(name)).unwrap(), checked);
            assert_eq!(checked.as_str(), name);
        }
        assert_eq!(Checked::from(Stat::Max), Checked::Max);
    }
}
