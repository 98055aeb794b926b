//! Budgets: absolute limits on a statistic of a metric — maxima, or minima for metrics where
//! higher is better; a value past one fails the gate.

use std::collections::BTreeMap;

use crate::results::{
    BenchmarkResult, Bound, BudgetCheck, Checked, Limit, Location, MetricDesc, OrderedMap, Status, Summary,
};

/// Checks a measured result against its limits: the checks go first in its budget, before those
/// its kind made itself. A result that did not measure is not checked.
pub fn attach(result: &mut BenchmarkResult, limits: &[Limit]) {
    if result.status != Status::Ok {
        return;
    }
    let checks = check(limits, &result.metrics, &result.summary, &result.values);
    result.budget.splice(0..0, checks);
}

/// Checks limits against a benchmark's summaries and exact values, in the order its metrics are
/// declared; a limit on a metric that was not measured is not checked.
pub fn check(
    limits: &[Limit],
    metrics: &OrderedMap<MetricDesc>,
    summaries: &BTreeMap<String, Summary>,
    values: &BTreeMap<String, f64>,
) -> Vec<BudgetCheck> {
    let position = |name: &str| metrics.keys().position(|k| k == name).unwrap_or(usize::MAX);
    let mut ordered: Vec<&Limit> = limits.iter().collect();
    ordered.sort_by_key(|l| position(&l.metric));
    ordered
        .into_iter()
        .filter_map(|limit| {
            let exact = metrics.get(&limit.metric).is_some_and(|m| m.compare == Location::Exact);
            let (stat, value) = if exact {
                (Checked::Value, *values.get(&limit.metric)?)
            } else {
                (Checked::from(limit.stat), summaries.get(&limit.metric)?.stat(limit.stat))
            };
            let ok = match limit.bound {
                Bound::Max => value <= limit.value,
                Bound::Min => value >= limit.value,
            };
            Some(BudgetCheck {
                metric: limit.metric.clone(),
                stat,
                bound: limit.bound,
                limit: limit.value,
                value,
                ok,
                found: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Better, Stat, Unit};
    use crate::stats::summary::{summarize, Samples};

    #[test]
    fn maxima_minima_and_exact_values_in_declared_order() {
        let mut metrics = OrderedMap::new();
        metrics.insert("time", MetricDesc::new(Unit::Seconds, Better::Lower));
        metrics.insert("rate", MetricDesc::new(Unit::PerSecond, Better::Higher));
        metrics
            .insert("mapped", MetricDesc { compare: Location::Exact, ..MetricDesc::new(Unit::Count, Better::Lower) });
        let mut summaries = BTreeMap::new();
        summaries.insert("time".to_string(), summarize(&Samples::new(vec![0.1, 0.2, 0.4]).unwrap()));
        summaries.insert("rate".to_string(), summarize(&Samples::new(vec![90.0, 95.0]).unwrap()));
        let values = BTreeMap::from([("mapped".to_string(), 4.0)]);
        let limits = vec![
            Limit { metric: "mapped".into(), stat: Stat::Median, bound: Bound::Max, value: 3.0 },
            Limit { metric: "rate".into(), stat: Stat::Median, bound: Bound::Min, value: 100.0 },
            Limit { metric: "time".into(), stat: Stat::Median, bound: Bound::Max, value: 0.25 },
            Limit { metric: "absent".into(), stat: Stat::Max, bound: Bound::Max, value: 1.0 },
        ];
        let checks = check(&limits, &metrics, &summaries, &values);
        let names: Vec<&str> = checks.iter().map(|c| c.metric.as_str()).collect();
        assert_eq!(names, ["time", "rate", "mapped"]);
        assert!(checks[0].ok && checks[0].value == 0.2 && checks[0].stat == Checked::Median);
        assert!(!checks[1].ok, "a median rate of 92.5/s is below the minimum of 100/s");
        assert!(!checks[2].ok && checks[2].stat == Checked::Value, "{:?}", checks[2]);
    }
}
