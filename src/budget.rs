//! Budgets: absolute limits on a benchmark's statistics; exceeding one fails the gate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Budget;
use crate::stats::Summary;

/// One limit checked against one statistic of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetCheck {
    /// The metric (`wall`, `max_rss`).
    pub metric: String,
    /// Which statistic was compared (`median`, `max`).
    pub stat: String,
    /// The limit, in the metric's unit (seconds, bytes).
    pub limit: f64,
    /// The measured value.
    pub value: f64,
    /// Whether the value is within the limit.
    pub ok: bool,
}

/// Checks a budget against the summaries of a benchmark's metrics.
pub fn check(budget: &Budget, summaries: &BTreeMap<String, Summary>) -> Vec<BudgetCheck> {
    let mut out = Vec::new();
    let mut push = |metric: &str, stat: &str, limit: f64, value: Option<f64>| {
        if let Some(value) = value {
            out.push(BudgetCheck { metric: metric.into(), stat: stat.into(), limit, value, ok: value <= limit });
        }
    };
    if let Some(limit) = budget.median {
        push("wall", "median", limit.0.as_secs_f64(), summaries.get("wall").map(|s| s.median));
    }
    if let Some(limit) = budget.max_rss {
        push("max_rss", "max", limit.0 as f64, summaries.get("max_rss").map(|s| s.max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Samples, Summary};
    use crate::units::{Bytes, UserDuration};
    use std::time::Duration;

    #[test]
    fn median_and_max_rss_limits() {
        let mut summaries = BTreeMap::new();
        summaries.insert("wall".to_string(), Summary::of(&Samples::new(vec![0.1, 0.2, 0.4]).unwrap()));
        summaries.insert("max_rss".to_string(), Summary::of(&Samples::new(vec![1e6, 3e6]).unwrap()));
        let budget = Budget { median: Some(UserDuration(Duration::from_millis(150))), max_rss: Some(Bytes(4_000_000)) };
        let checks = check(&budget, &summaries);
        assert_eq!(checks.len(), 2);
        assert!(!checks[0].ok, "median 0.2 s is over 150 ms");
        assert_eq!(checks[0].value, 0.2);
        assert!(checks[1].ok, "max 3 MB is under 4 MB");
        assert_eq!(checks[1].value, 3e6);
    }
}
