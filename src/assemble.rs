//! Turns measured runs into result records: samples, statistics, warnings and budget checks.

use std::collections::BTreeMap;

use crate::budget;
use crate::measure::facts::ProcessFacts;
use crate::measure::load_helper::LoadReport;
use crate::measure::process::RunRecord;
use crate::measure::python;
use crate::plan::BenchPlan;
use crate::plan::Probe;
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

/// Adds what the untimed facts run saw to the facts known beforehand.
fn merge_facts(plan: &BenchPlan, facts: &mut Facts, facts_run: Option<Result<(ProcessFacts, RunRecord), String>>) {
    let (seen, record) = match facts_run {
        None => return,
        Some(Err(e)) => {
            facts.problems.push(format!("the facts run failed: {e}"));
            return;
        }
        Some(Ok(run)) => run,
    };
    if plan.kind == Kind::Load {
        // The helper's own libraries are not the library's: it reports what loading added.
        let report = LoadReport::from_stdout(record.stdout.as_deref());
        if let Some(mapped) = report.and_then(|r| r.mapped) {
            facts.mapped_libs = Some(mapped.len() as u64);
            facts.mapped_objects = Some(mapped);
        }
        return;
    }
    if let Some(problem) = &seen.problem {
        facts.problems.push(format!("the facts run saw no end event: {problem}"));
    } else {
        facts.mapped_libs = Some(seen.mapped_objects.len() as u64);
        if let Probe::Start { forbid_loaded } = &plan.probe {
            if !forbid_loaded.is_empty() {
                facts.forbidden_loaded = Some(forbidden_objects(&seen.mapped_objects, forbid_loaded));
            }
        }
        facts.mapped_objects = Some(seen.mapped_objects);
        facts.threads = seen.threads;
    }
    facts.loader = seen.loader;
    if let Probe::Python { module, forbid_imported, .. } = &plan.probe {
        match python::parse_importtime(record.stderr.as_deref().unwrap_or(""), module) {
            Ok(times) => {
                facts.imported_modules = Some(times.modules.len() as u64);
                if !forbid_imported.is_empty() {
                    facts.forbidden_imported = Some(python::forbidden_imports(&times.modules, forbid_imported));
                }
            }
            Err(e) => facts.problems.push(format!("the facts run's import times: {e}")),
        }
    }
}

/// A lazy-loading check that could not be made (the facts run failed) fails the gate rather
/// than passing unseen.
fn unchecked_forbids(plan: &BenchPlan, facts: &Facts) -> Vec<crate::budget::BudgetCheck> {
    let (metric, wanted, seen) = match &plan.probe {
        Probe::Start { forbid_loaded } => {
            ("forbidden_loaded", !forbid_loaded.is_empty(), facts.forbidden_loaded.is_some())
        }
        Probe::Python { forbid_imported, .. } => {
            ("forbidden_imported", !forbid_imported.is_empty(), facts.forbidden_imported.is_some())
        }
        Probe::Load { .. } => return Vec::new(),
    };
    if !wanted || seen {
        return Vec::new();
    }
    let why =
        if facts.problems.is_empty() { "the facts run saw nothing".to_string() } else { facts.problems.join("; ") };
    vec![crate::budget::BudgetCheck {
        metric: metric.into(),
        stat: "unchecked".into(),
        limit: 0.0,
        value: 0.0,
        ok: false,
        found: vec![why],
    }]
}

/// Mapped objects whose file name starts with one of the forbidden names (`libssl` matches
/// `/usr/lib/x86_64-linux-gnu/libssl.so.3`).
pub fn forbidden_objects(mapped: &[String], forbidden: &[String]) -> Vec<String> {
    mapped
        .iter()
        .filter(|path| {
            let name = std::path::Path::new(path).file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            forbidden.iter().any(|f| name.starts_with(f.as_str()))
        })
        .cloned()
        .collect()
}

/// The command line of a benchmark as the user would type it: the program as built (not the
/// fresh copy that ran) and its arguments; a load names the library.
fn command_line(plan: &BenchPlan, facts: &Facts) -> Vec<String> {
    let program = match (&plan.program, &facts.program) {
        (crate::plan::Program::Path(p), _) => p.display().to_string(),
        (crate::plan::Program::LoadHelper(_), _) => {
            let mut out = vec!["dlopen".to_string(), facts.library.clone().unwrap_or_default()];
            if let Probe::Load { symbol: Some(symbol) } = &plan.probe {
                out.push(format!("+ {symbol}()"));
            }
            return out;
        }
        (_, Some(p)) => p.clone(),
        (crate::plan::Program::Bin(a), None) => a.target.clone(),
    };
    std::iter::once(program).chain(plan.args.iter().cloned()).collect()
}

/// The result of a benchmark that was not run on this side, and why.
pub fn skipped(plan: &BenchPlan, reason: String) -> BenchmarkResult {
    let measured = Measured { stopped: Some(reason), ..Measured::default() };
    result(plan, &measured, Facts::default(), None)
}

/// Builds the result of a benchmark from what the scheduler measured and the facts run saw.
pub fn result(
    plan: &BenchPlan,
    measured: &Measured,
    mut facts: Facts,
    facts_run: Option<Result<(ProcessFacts, RunRecord), String>>,
) -> BenchmarkResult {
    merge_facts(plan, &mut facts, facts_run);
    let samples = series(&measured.runs);
    let summary: BTreeMap<String, Summary> = samples
        .iter()
        .filter_map(|(name, s)| Samples::new(s.as_f64()).map(|v| (name.clone(), Summary::of(&v))))
        .collect();
    let (status, reason, detail) = match (&measured.failure, &measured.stopped) {
        (Some(f), _) => (Status::Failed, Some(f.reason.clone()), f.detail.clone()),
        (None, Some(why)) => (Status::Skipped, Some(why.clone()), None),
        (None, None) => (Status::Ok, None, None),
    };
    let ok = status == Status::Ok;
    let warnings = match (ok, samples.get("wall").and_then(|s| Samples::new(s.as_f64())), summary.get("wall")) {
        (true, Some(wall), Some(sum)) => {
            stats::warnings(&wall, sum, measured.warmups.len()).iter().map(|w| w.to_string()).collect()
        }
        _ => Vec::new(),
    };
    let mut budget = if ok { budget::check(&plan.budget, &summary, &facts) } else { Vec::new() };
    if ok {
        budget.extend(unchecked_forbids(plan, &facts));
    }
    let command = command_line(plan, &facts);
    BenchmarkResult {
        id: plan.id.clone(),
        kind: plan.kind,
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
            command,
            default_entry: plan.default_entry,
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

    fn plan() -> BenchPlan {
        BenchPlan {
            id: "start/app/hello".into(),
            package: "app".into(),
            default_entry: false,
            program: Program::Path("/bin/true".into()),
            args: vec![],
            env: BTreeMap::new(),
            cwd: "/".into(),
            readiness: Readiness::Exit,
            timeout: Duration::from_secs(1),
            policy: RunPolicy { warmup: 1, runs: RunCount::Exactly(3) },
            budget: Budget { median: Some(UserDuration(Duration::from_millis(15))), ..Budget::default() },
            thresholds: crate::compare::Thresholds::DEFAULT,
            kind: crate::results::Kind::Start,
            probe: Probe::Start { forbid_loaded: vec![] },
            cache: Default::default(),
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
            stopped: None,
        };
        let r = result(&plan(), &measured, Facts::default(), None);
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.samples["wall"], Series::Float(vec![0.01, 0.02, 0.03]));
        assert_eq!(r.samples["max_rss"], Series::Int(vec![4096, 8192, 4096]));
        assert_eq!(r.warmup_samples["wall"], Series::Float(vec![0.1]));
        assert_eq!(r.summary["wall"].median, 0.02);
        assert!(r.over_budget(), "median 20 ms is over the 15 ms budget");
    }

    #[test]
    fn forbidden_objects_match_by_file_name_prefix() {
        let mapped = vec!["/usr/lib/libssl.so.3".to_string(), "/opt/notlibssl/libc.so.6".to_string()];
        assert_eq!(forbidden_objects(&mapped, &["libssl".into()]), ["/usr/lib/libssl.so.3"]);
        assert!(forbidden_objects(&mapped, &["libz".into()]).is_empty());
    }

    #[test]
    fn a_failure_marks_the_result_and_skips_the_budget() {
        let measured = Measured {
            warmups: vec![],
            runs: vec![obs(10, 1.0)],
            failure: Some(RunFailure { reason: "timed out after 1s".into(), detail: Some("last words".into()) }),
            stopped: None,
        };
        let r = result(&plan(), &measured, Facts::default(), None);
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.reason.as_deref(), Some("timed out after 1s"));
        assert_eq!(r.detail.as_deref(), Some("last words"));
        assert!(r.budget.is_empty());
    }
}
