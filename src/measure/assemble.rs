//! Turns what the scheduler measured into a result record, for any [`Bench`]: samples per
//! declared metric (percentiles derived from histograms), summaries, distributions, warnings about
//! the samples, and the checks a kind makes itself. The configured budget is checked on the
//! result afterwards (`analysis::budget::attach`).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::bench::{Bench, FactsReport, Observation, PERCENTILES};
use super::policy::RunCount;
use super::scheduler::Measured;
use crate::results::{
    BenchConfig, BenchmarkResult, Better, Distribution, Location, MetricDesc, Modes, OrderedMap, RunsAsked, Series,
    Status, Summary,
};
use crate::stats::summary::{self, Samples};

/// Percentiles kept of a merged histogram.
const DISTRIBUTION_PERCENTILES: [f64; 8] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0];

/// Each run's values with the percentiles of its histograms added (in seconds, from nanoseconds).
fn with_percentiles(obs: &Observation) -> Vec<(String, f64)> {
    let mut values: Vec<(String, f64)> = obs.values.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    for (name, histogram) in &obs.histograms {
        for (suffix, q) in PERCENTILES {
            values.push((format!("{name}_{suffix}"), histogram.value_at_quantile(q) as f64 * 1e-9));
        }
    }
    values
}

/// The series of every declared metric over the observations, in run order. A metric that some
/// runs reported and others did not is named in the error.
pub fn series(
    metrics: &OrderedMap<MetricDesc>,
    observations: &[Observation],
) -> Result<BTreeMap<String, Series>, String> {
    let runs: Vec<Vec<(String, f64)>> = observations.iter().map(with_percentiles).collect();
    let mut out = BTreeMap::new();
    for (name, desc) in metrics.iter().filter(|(_, d)| d.compare != Location::Exact) {
        let values: Vec<Option<f64>> =
            runs.iter().map(|run| run.iter().find(|(n, _)| n == name).map(|(_, v)| *v)).collect();
        let present = values.iter().filter(|v| v.is_some()).count();
        if present == 0 {
            continue;
        }
        if present < values.len() {
            let missing: Vec<String> =
                values.iter().enumerate().filter(|(_, v)| v.is_none()).map(|(i, _)| (i + 1).to_string()).collect();
            return Err(format!(
                "metric `{name}` was reported by {present} of {} runs (not by run {})",
                values.len(),
                missing.join(", ")
            ));
        }
        let values = values.into_iter().flatten();
        let series = if desc.unit.is_integer() {
            Series::Int(values.map(|v| v.max(0.0).round() as u64).collect())
        } else {
            Series::Float(values.collect())
        };
        out.insert(name.to_string(), series);
    }
    Ok(out)
}

/// The names of values a kind emitted without a descriptor: they would be dropped from the
/// result in silence (a misspelt key), so debug builds and the tests stop on them.
fn undeclared(metrics: &OrderedMap<MetricDesc>, measured: &Measured, report: &FactsReport) -> Vec<String> {
    let emitted = measured.runs.iter().chain(&measured.warmups).flat_map(with_percentiles).map(|(name, _)| name);
    let mut out: Vec<String> = emitted
        .chain(report.values.iter().map(|(name, _)| name.to_string()))
        .filter(|name| !metrics.contains_key(name))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Merged histograms of the measured runs, as percentiles (in seconds).
fn distributions(observations: &[Observation]) -> BTreeMap<String, Distribution> {
    let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for obs in observations {
        for (name, h) in &obs.histograms {
            match merged.get_mut(name.as_ref()) {
                Some(m) => {
                    let _ = m.add(h);
                }
                None => {
                    merged.insert(name.to_string(), h.clone());
                }
            }
        }
    }
    merged
        .into_iter()
        .map(|(name, h)| {
            let percentiles =
                DISTRIBUTION_PERCENTILES.iter().map(|&p| [p, h.value_at_percentile(p) as f64 * 1e-9]).collect();
            (name, Distribution { count: h.len(), percentiles })
        })
        .collect()
}

/// The modes of a metric's runs, when it has two.
fn modes_of(metric: &str, series: &Series) -> Option<Modes> {
    let modes = crate::stats::modes::detect(&series.as_f64())?;
    Some(Modes { metric: metric.to_string(), modes: modes.to_vec(), method: crate::stats::modes::METHOD.into() })
}

/// The result of a benchmark that was not run on this side, and why.
pub fn skipped(bench: &dyn Bench, reason: String) -> BenchmarkResult {
    let measured = Measured { stopped: Some(reason), ..Measured::default() };
    result(bench, &measured, FactsReport::default())
}

/// Builds the result of a benchmark from what the scheduler measured and what it knew besides.
pub fn result(bench: &dyn Bench, measured: &Measured, report: FactsReport) -> BenchmarkResult {
    let metrics = bench.metrics();
    debug_assert_eq!(undeclared(&metrics, measured, &report), Vec::<String>::new(), "{}", bench.id().render());
    let settings = bench.settings();
    let (samples, inconsistent) = match series(&metrics, &measured.runs) {
        Ok(s) => (s, None),
        Err(e) => (BTreeMap::new(), Some(e)),
    };
    let warmup_samples = series(&metrics, &measured.warmups).unwrap_or_default();
    let summary: BTreeMap<String, Summary> = samples
        .iter()
        .filter_map(|(name, s)| Samples::new(s.as_f64()).map(|v| (name.clone(), summary::summarize(&v))))
        .collect();
    let (status, reason, detail) = match (&measured.failure, &inconsistent, &measured.stopped) {
        (Some(f), _, _) => (Status::Failed, Some(f.reason.clone()), f.detail.clone()),
        (None, Some(why), _) => (Status::Failed, Some(why.clone()), None),
        (None, None, Some(why)) => (Status::Skipped, Some(why.clone()), None),
        (None, None, None) => (Status::Ok, None, None),
    };
    let ok = status == Status::Ok;
    let values: BTreeMap<String, f64> = report.values.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let headline = metrics.iter().find(|(_, m)| m.compare != Location::Exact);
    let mut warnings: Vec<String> =
        match headline.and_then(|(name, desc)| Some((samples.get(name)?, summary.get(name)?, desc))) {
            Some((series, sum, desc)) if ok => match Samples::new(series.as_f64()) {
                Some(s) => summary::warnings(&s, sum, measured.warmups.len(), desc.better != Better::Higher)
                    .iter()
                    .map(|w| w.to_string())
                    .collect(),
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
    warnings.extend(report.warnings);
    let budget = if ok { report.checks } else { Vec::new() };
    let mut facts = report.facts;
    if ok {
        facts.modes = headline.and_then(|(name, _)| modes_of(name, samples.get(name)?));
    }
    let id = bench.id();
    let described = bench.described();
    BenchmarkResult {
        id: id.render(),
        kind: id.kind.to_string(),
        params: id.params.iter().map(|p| (p.name.clone(), p.json())).collect(),
        param_units: id.params.iter().filter_map(|p| Some((p.name.clone(), p.unit?))).collect(),
        metrics,
        status,
        reason,
        detail,
        samples,
        processes: if inconsistent.is_none() { measured.processes.clone() } else { Vec::new() },
        warmup_samples,
        summary,
        values,
        distributions: distributions(&measured.runs),
        series: measured
            .runs
            .last()
            .map(|run| run.series.iter().map(|(n, v)| (n.to_string(), v.clone())).collect())
            .unwrap_or_default(),
        reference: None,
        facts,
        budget,
        warnings,
        config: BenchConfig {
            command: described.command,
            default_entry: settings.default_entry,
            args: described.args,
            env: described.env,
            ready: described.ready,
            warmup: settings.policy.warmup,
            runs: match settings.policy.runs {
                RunCount::Exactly(n) => RunsAsked::Exactly(n.into()),
                RunCount::Adaptive { .. } => RunsAsked::Adaptive,
                RunCount::For { wall, .. } => RunsAsked::For(wall),
            },
            timeout: settings.timeout.as_secs_f64(),
            thresholds: settings.thresholds,
            processes: (settings.processes > 1).then_some(settings.processes),
            calibrated_noise: BTreeMap::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::bench::MetricName;
    use crate::results::Unit;

    #[test]
    fn a_value_without_a_descriptor_is_named() {
        let mut metrics = OrderedMap::new();
        metrics.insert("wall", MetricDesc::new(Unit::Seconds, Better::Lower));
        metrics.insert("facts.mapped_libs", MetricDesc::new(Unit::Count, Better::Lower));
        let run = |names: &[&'static str]| Observation {
            values: names.iter().map(|n| (MetricName::from(*n), 1.0)).collect(),
            ..Observation::default()
        };
        let measured = Measured { runs: vec![run(&["wall"]), run(&["wall", "walll"])], ..Measured::default() };
        let report = FactsReport {
            values: vec![("facts.mapped_libs".into(), 3.0), ("facts.maped_libs".into(), 3.0)],
            ..FactsReport::default()
        };
        assert_eq!(undeclared(&metrics, &measured, &report), vec!["facts.maped_libs", "walll"]);
        let clean = Measured { runs: vec![run(&["wall"])], ..Measured::default() };
        assert!(undeclared(&metrics, &clean, &FactsReport::default()).is_empty());
    }
}
