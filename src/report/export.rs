//! Exports for continuous-benchmarking services: Bencher Metric Format and
//! github-action-benchmark's `customSmallerIsBetter`.

use serde_json::{json, Map, Value};

use crate::results::{RunDocument, Status};

/// Bencher Metric Format: `{ "<benchmark>": { "<measure>": { "value", "lower_value", "upper_value" } } }`.
///
/// One measure per metric of every successful benchmark: the median, bounded by the bootstrap 95%
/// CI of the median. Times are in nanoseconds (Bencher's `latency` unit), sizes in bytes, counts
/// as they are; `_` in metric names becomes `-` (Bencher measure slugs).
pub fn bmf(doc: &RunDocument) -> Value {
    let mut out = Map::new();
    for b in doc.benchmarks.iter().filter(|b| b.status == Status::Ok) {
        let mut measures = Map::new();
        for (metric, s) in &b.summary {
            let scale = if super::is_time(metric) { 1e9 } else { 1.0 };
            let [lo, hi] = s.median_ci95.unwrap_or([s.median, s.median]);
            measures.insert(
                metric.replace('_', "-"),
                json!({ "value": s.median * scale, "lower_value": lo * scale, "upper_value": hi * scale }),
            );
        }
        out.insert(b.id.clone(), Value::Object(measures));
    }
    Value::Object(out)
}

/// github-action-benchmark `customSmallerIsBetter`: `[{ "name", "unit", "value", "range", "extra" }]`.
///
/// The headline time of each successful benchmark (wall; load and import where they exist) in
/// milliseconds, and its peak RSS in MiB.
pub fn gab(doc: &RunDocument) -> Value {
    let mut out = Vec::new();
    for b in doc.benchmarks.iter().filter(|b| b.status == Status::Ok) {
        for metric in ["wall", "load", "import", "max_rss"] {
            let Some(s) = b.summary.get(metric) else { continue };
            let (unit, scale, value) =
                if metric == "max_rss" { ("MiB", 1.0 / (1024.0 * 1024.0), s.max) } else { ("ms", 1e3, s.median) };
            let range = match (metric, s.median_ci95) {
                ("max_rss", _) | (_, None) => format!("± {:.3}", s.stddev * scale),
                (_, Some([lo, hi])) => format!("± {:.3}", (hi - lo) / 2.0 * scale),
            };
            out.push(json!({
                "name": format!("{} - {}", b.id, metric),
                "unit": unit,
                "value": value * scale,
                "range": range,
                "extra": format!(
                    "{} of {} runs; p5={:.3} p95={:.3} {unit}",
                    if metric == "max_rss" { "largest" } else { "median" },
                    s.n,
                    s.p5 * scale,
                    s.p95 * scale
                ),
            }));
        }
    }
    Value::Array(out)
}
