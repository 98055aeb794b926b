//! Turns measured runs into result records: samples, statistics, warnings and budget checks.

use std::collections::BTreeMap;

use crate::budget;
use crate::plan::StartPlan;
use crate::results::{BenchConfig, BenchmarkResult, Facts, Kind, Series, Status};
use crate::scheduler::{metrics, Measured, Observation, RunCount, Unit};
use crate::stats::{self, Samples, Summary};

/// Collects the values of every metric over the observations, in run order.
pub fn series(observations: &[Observation]) -> BTreeMap<String, Series> {
    let mut out: BTreeMap<String, Series> = BTreeMap::new();
    if observations.is_empty() {
        return out;
    }
    out.insert(metrics::WALL.name.into(), Series::Float(observations.iter().map(|o| o.wall.as_secs_f64()).collect()));
    for (i, (metric, _)) in observations[0].values.iter().enumerate() {
        let values = observations.iter().map(|o| o.values[i].1);
        let series = match metric.unit {
            Unit::Seconds => Series::Float(values.collect()),
            Unit::Bytes | Unit::Count => Series::Int(values.map(|v| v as u64).collect()),
        };
        out.insert(metric.name.into(), series);
    }
    out
}

/// Builds the result of a start benchmark from what the scheduler measured.
pub fn start_result(plan: &StartPlan, measured: &Measured, facts: Facts) -> BenchmarkResult {
    let samples = series(&measured.runs);
    let summary: BTreeMap<String, Summary> = samples
        .iter()
        .filter_map(|(name, s)| Samples::new(s.as_f64()).map(|v| (name.clone(), Summary::of(&v))))
        .collect();
    let (status, reason, detail) = match &measured.failure {
        Some(f) => (Status::Failed, Some(f.reason.clone()), f.detail.clone()),
        None => (Status::Ok, None, None),
    };
    let ok = status == Status::Ok;
    let warnings = match (ok, samples.get("wall").and_then(|s| Samples::new(s.as_f64())), summary.get("wall")) {
        (true, Some(wall), Some(sum)) => stats::warnings(&wall, sum).iter().map(|w| w.to_string()).collect(),
        _ => Vec::new(),
    };
    let budget = if ok { budget::check(&plan.budget, &summary) } else { Vec::new() };
    BenchmarkResult {
        id: plan.id.clone(),
        kind: Kind::Start,
        status,
        reason,
        detail,
        samples,
        warmup_samples: series(&measured.warmups),
        summary,
        facts,
        budget,
        warnings,
        config: BenchConfig {
            args: plan.args.clone(),
            env: plan.env.clone(),
            ready: plan.readiness.clone(),
            warmup: plan.policy.warmup,
            runs: match plan.policy.runs {
                RunCount::Exactly(n) => n.into(),
                RunCount::Adaptive { .. } => "adaptive".into(),
            },
            timeout: plan.timeout.as_secs_f64(),
            thresholds: plan.thresholds,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Budget;
    use crate::measure::process::Readiness;
    use crate::plan::Program;
    use crate::scheduler::{RunFailure, RunPolicy};
    use crate::units::UserDuration;
    use std::time::Duration;

    fn plan() -> StartPlan {
        StartPlan {
            id: "start/app/hello".into(),
            program: Program::Path("/bin/true".into()),
            args: vec![],
            env: BTreeMap::new(),
            cwd: "/".into(),
            readiness: Readiness::Exit,
            timeout: Duration::from_secs(1),
            policy: RunPolicy { warmup: 1, runs: RunCount::Exactly(3) },
            budget: Budget { median: Some(UserDuration(Duration::from_millis(15))), max_rss: None },
            thresholds: crate::compare::Thresholds::DEFAULT,
        }
    }

    fn obs(ms: u64, rss: f64) -> Observation {
        Observation { wall: Duration::from_millis(ms), values: vec![(metrics::MAX_RSS, rss)] }
    }

    #[test]
    fn samples_summaries_and_budget_come_from_measured_runs_only() {
        let measured = Measured {
            warmups: vec![obs(100, 1.0)],
            runs: vec![obs(10, 4096.0), obs(20, 8192.0), obs(30, 4096.0)],
            failure: None,
        };
        let r = start_result(&plan(), &measured, Facts::default());
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.samples["wall"], Series::Float(vec![0.01, 0.02, 0.03]));
        assert_eq!(r.samples["max_rss"], Series::Int(vec![4096, 8192, 4096]));
        assert_eq!(r.warmup_samples["wall"], Series::Float(vec![0.1]));
        assert_eq!(r.summary["wall"].median, 0.02);
        assert!(r.over_budget(), "median 20 ms is over the 15 ms budget");
    }

    #[test]
    fn a_failure_marks_the_result_and_skips_the_budget() {
        let measured = Measured {
            warmups: vec![],
            runs: vec![obs(10, 1.0)],
            failure: Some(RunFailure { reason: "timed out after 1s".into(), detail: Some("last words".into()) }),
        };
        let r = start_result(&plan(), &measured, Facts::default());
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.reason.as_deref(), Some("timed out after 1s"));
        assert_eq!(r.detail.as_deref(), Some("last words"));
        assert!(r.budget.is_empty());
    }
}
