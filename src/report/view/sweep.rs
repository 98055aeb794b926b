//! Sweeps: a numeric parameter varied across the benchmarks of a group (payload size, clients,
//! workers), drawn as lines of a metric against it.

use super::param_text;
use crate::results::{BenchmarkResult, MetricDesc, RunDocument, Status, Unit};

/// A metric plotted against a parameter: the rows of one group (`kind/package/name`) that differ
/// in a numeric parameter, one line per value of the other parameters that vary.
pub struct Sweep {
    /// The group.
    pub group: String,
    /// The metric's label.
    pub metric: String,
    /// Its unit.
    pub unit: Unit,
    /// The parameter on the x axis.
    pub param: String,
    /// Its unit, when it has one.
    pub param_unit: Option<Unit>,
    /// Lines: a label (the other parameters) and points `[x, median, CI low, CI high]`.
    pub lines: Vec<(String, Vec<[f64; 4]>)>,
}

/// The sweeps of a document: groups of two or more successful benchmarks in which a numeric
/// parameter varies.
pub(super) fn sweeps(doc: &RunDocument) -> Vec<Sweep> {
    let mut groups: Vec<(&str, Vec<&BenchmarkResult>)> = Vec::new();
    for b in doc.benchmarks.iter().filter(|b| b.status == Status::Ok && !b.params.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == b.group()) {
            Some((_, members)) => members.push(b),
            None => groups.push((b.group(), vec![b])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .flat_map(|(group, members)| {
            let charted: Vec<(&str, &str)> =
                members[0].metrics.iter().filter(|(_, d)| d.chart).map(|(name, d)| (name, d.label_or(name))).collect();
            let together = (!charted.is_empty()).then(|| sweep(group, &members, Some(charted))).flatten();
            sweep(group, &members, None).into_iter().chain(together)
        })
        .collect()
}

/// The sweep of a group's headline metric (its percentiles together, for a latency), or of the
/// `charted` metrics (name, label) together: labels that share a stem before `, ` ("PSS per
/// worker, copy") title the chart with the stem and label its lines with the rest.
fn sweep(group: &str, members: &[&BenchmarkResult], charted: Option<Vec<(&str, &str)>>) -> Option<Sweep> {
    let first = members[0];
    let varies = |name: &str| members.iter().any(|b| b.params.get(name) != first.params.get(name));
    let param = first.params.iter().find(|(name, value)| value.is_number() && varies(name)).map(|(n, _)| n)?;
    // A parameter that the x value decides (a tensor's shape, given its size) names points, not
    // lines: it would make a line of every point.
    let follows_x = |name: &str| {
        members.iter().all(|a| {
            members
                .iter()
                .all(|b| a.params.get(param) != b.params.get(param) || a.params.get(name) == b.params.get(name))
        })
    };
    let varies = |name: &str| varies(name) && !follows_x(name);
    let (headline, desc) = first.headline()?;
    // A latency's percentiles are drawn together: how the tail grows with the load is the point.
    // With several lines per percentile (a user's server beside the floor), p50 and p99 only.
    let others_vary = first.params.iter().any(|(name, _)| name != param && varies(name));
    let quantiles: &[&str] = if others_vary { &["p50", "p99"] } else { &["p50", "p95", "p99", "p99_9"] };
    let together = charted.as_ref().map(|charted| {
        let stems: Vec<Option<(&str, &str)>> = charted.iter().map(|(_, label)| label.rsplit_once(", ")).collect();
        match stems.first() {
            Some(Some((stem, _))) if stems.iter().all(|s| s.map(|(x, _)| x) == Some(*stem)) => {
                (stem.to_string(), stems.iter().map(|s| s.expect("checked").1.to_string()).collect::<Vec<_>>())
            }
            _ => {
                let labels: Vec<String> = charted.iter().map(|(_, l)| l.to_string()).collect();
                (labels.join(" and "), labels)
            }
        }
    });
    let plotted: Vec<(&str, String)> = match (&charted, headline.strip_suffix("_p50")) {
        (Some(charted), _) => {
            let lines = &together.as_ref().expect("charted").1;
            charted.iter().zip(lines).map(|((name, _), line)| (*name, line.clone())).collect()
        }
        (None, Some(stem)) => quantiles
            .iter()
            .filter_map(|q| {
                let (name, d) = first.metrics.iter().find(|(n, _)| *n == format!("{stem}_{q}"))?;
                Some((name, d.label_or(name).rsplit(' ').next().unwrap_or(q).to_string()))
            })
            .collect(),
        (None, None) => vec![(headline, String::new())],
    };
    // Metrics drawn together share the first one's unit; a chart mixing units would mislead.
    let unit_of = |name: &str| first.metrics.get(name).map(|d| d.unit);
    if together.is_some() && plotted.iter().any(|(name, _)| unit_of(name) != unit_of(plotted[0].0)) {
        return None;
    }
    let mut lines: Vec<(String, Vec<[f64; 4]>)> = Vec::new();
    for b in members {
        let Some(x) = b.params.get(param).and_then(|v| v.as_f64()) else { continue };
        let others: Vec<String> = b
            .params
            .iter()
            .filter(|(name, _)| *name != param && varies(name))
            .map(|(name, value)| format!("{name}={}", param_text(b, name, value)))
            .collect();
        for (metric, suffix) in &plotted {
            let Some(s) = b.summary.get(*metric) else { continue };
            let shown = b.metrics.get(metric).map_or(crate::results::Stat::Median, MetricDesc::shown_stat);
            let (value, ci) = match shown {
                crate::results::Stat::Mean => (s.mean, s.ci95),
                _ => (s.median, s.median_ci95),
            };
            let [lo, hi] = ci.unwrap_or([value, value]);
            // A t interval of three samples can reach below zero; times and rates cannot.
            let lo = if value >= 0.0 { lo.max(0.0) } else { lo };
            let mut label = others.join(", ");
            if !suffix.is_empty() {
                label = if label.is_empty() { suffix.clone() } else { format!("{label} {suffix}") };
            }
            if label.is_empty() {
                label = desc.label_or(headline).to_string();
            }
            match lines.iter_mut().find(|(l, _)| *l == label) {
                Some((_, points)) => points.push([x, value, lo, hi]),
                None => lines.push((label, vec![[x, value, lo, hi]])),
            }
        }
    }
    for (_, points) in lines.iter_mut() {
        points.sort_by(|a, b| a[0].total_cmp(&b[0]));
    }
    let (metric, unit) = if let Some((title, _)) = together {
        (title, first.metrics.get(plotted[0].0)?.unit)
    } else {
        let metric = desc.label_or(headline);
        let metric = if plotted.len() > 1 { metric.trim_end_matches(" p50") } else { metric };
        (metric.to_string(), desc.unit)
    };
    Some(Sweep {
        group: group.to_string(),
        metric,
        unit,
        param: param.to_string(),
        param_unit: first.param_units.get(param).copied(),
        lines,
    })
}
