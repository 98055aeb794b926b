//! Bencher Metric Format: `{ "<benchmark>": { "<measure>": { "value", "lower_value", "upper_value" } } }`.

use anyhow::Result;
use serde_json::{json, Map, Value};

use crate::report::view::View;
use crate::report::Exporter;
use crate::results::{Location, Status, Unit};

/// One measure per measured metric of every successful benchmark: the median, bounded by the
/// bootstrap 95% CI of the median. Times are in nanoseconds (Bencher's `latency` unit), other
/// units as they are; `_` in metric names becomes `-` (Bencher measure slugs). Bencher keeps the
/// direction of a measure on its side: a measure of a higher-is-better metric needs its
/// threshold set to an upper boundary there. A metric the program reported about itself is named
/// with its unit and direction (`items-per-second (/s, higher is better)`): Bencher creates a
/// measure from the first report that names it, and nothing else would tell what it counts.
pub struct Bmf;

/// The measure a metric is exported as.
fn measure_name(metric: &str, desc: &crate::results::MetricDesc) -> String {
    let slug = metric.replace('_', "-");
    if !desc.reported {
        return slug;
    }
    let unit = match desc.unit {
        Unit::Seconds => "ns",
        Unit::Bytes => "B",
        Unit::Count => "count",
        Unit::PerSecond => "/s",
        Unit::BytesPerSecond => "B/s",
        Unit::Ratio => "×",
        Unit::Fraction => "fraction",
    };
    format!("{slug} ({unit}, {} is better)", desc.better_word())
}

impl Exporter for Bmf {
    fn export(&self, view: &View) -> Result<String> {
        let mut out = Map::new();
        for b in view.doc.benchmarks.iter().filter(|b| b.status == Status::Ok) {
            let mut measures = Map::new();
            for (metric, desc) in b.metrics.iter().filter(|(_, d)| d.compare != Location::Exact) {
                let Some(s) = b.summary.get(metric) else { continue };
                let scale = if desc.unit == Unit::Seconds { 1e9 } else { 1.0 };
                let [lo, hi] = s.median_ci95.unwrap_or([s.median, s.median]);
                measures.insert(
                    measure_name(metric, desc),
                    json!({ "value": s.median * scale, "lower_value": lo * scale, "upper_value": hi * scale }),
                );
            }
            out.insert(b.id.clone(), Value::Object(measures));
        }
        Ok(serde_json::to_string_pretty(&Value::Object(out))? + "\n")
    }
}
