//! Budgets: absolute limits on a benchmark's statistics; exceeding one fails the gate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Budget;
use crate::results::Facts;
use crate::stats::Summary;

/// One limit checked against one statistic of one metric (or against a fact).
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
    /// What exceeded it, for checks of lists (the forbidden objects or modules found).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found: Vec<String>,
}

/// Checks a budget against the summaries of a benchmark's metrics and its facts.
///
/// Forbidden shared objects or modules that were found are checks with a limit of 0, so that
/// they fail the gate like any other exceeded limit.
pub fn check(budget: &Budget, summaries: &BTreeMap<String, Summary>, facts: &Facts) -> Vec<BudgetCheck> {
    let mut out = Vec::new();
    let mut push = |metric: &str, stat: &str, limit: f64, value: Option<f64>| {
        if let Some(value) = value {
            out.push(BudgetCheck {
                metric: metric.into(),
                stat: stat.into(),
                limit,
                value,
                ok: value <= limit,
                found: Vec::new(),
            });
        }
    };
    if let Some(limit) = budget.median {
        push("wall", "median", limit.0.as_secs_f64(), summaries.get("wall").map(|s| s.median));
    }
    if let Some(limit) = budget.max_rss {
        push("max_rss", "max", limit.0 as f64, summaries.get("max_rss").map(|s| s.max));
    }
    if let Some(limit) = budget.load {
        push("load", "median", limit.0.as_secs_f64(), summaries.get("load").map(|s| s.median));
    }
    if let Some(limit) = budget.modules {
        push("modules", "max", limit as f64, summaries.get("modules").map(|s| s.max));
    }
    if let Some(limit) = budget.mapped_libs {
        push("mapped_libs", "count", limit as f64, facts.mapped_libs.map(|n| n as f64));
    }
    for (metric, found) in
        [("forbidden_loaded", &facts.forbidden_loaded), ("forbidden_imported", &facts.forbidden_imported)]
    {
        if let Some(found) = found {
            out.push(BudgetCheck {
                metric: metric.into(),
                stat: "count".into(),
                limit: 0.0,
                value: found.len() as f64,
                ok: found.is_empty(),
                found: found.clone(),
            });
        }
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
        let budget = Budget {
            median: Some(UserDuration(Duration::from_millis(150))),
            max_rss: Some(Bytes(4_000_000)),
            mapped_libs: Some(3),
            ..Budget::default()
        };
        let facts = Facts {
            mapped_libs: Some(4),
            forbidden_loaded: Some(vec!["/usr/lib/libssl.so.3".into()]),
            ..Facts::default()
        };
        let checks = check(&budget, &summaries, &facts);
        assert_eq!(checks.len(), 4);
        assert!(!checks[2].ok, "4 mapped objects exceed 3");
        assert!(!checks[3].ok && checks[3].found == ["/usr/lib/libssl.so.3"], "{:?}", checks[3]);
        assert!(!checks[0].ok, "median 0.2 s is over 150 ms");
        assert_eq!(checks[0].value, 0.2);
        assert!(checks[1].ok, "max 3 MB is under 4 MB");
        assert_eq!(checks[1].value, 3e6);
    }
}
