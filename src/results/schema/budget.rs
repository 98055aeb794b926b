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

fn max_bound() -> Bound {
    Bound::Max
}

/// One limit checked against one statistic of one metric (or against a fact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetCheck {
    /// The metric (`wall`, `max_rss`).
    pub metric: String,
    /// Which statistic was compared (`median`, `max`).
    pub stat: String,
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
