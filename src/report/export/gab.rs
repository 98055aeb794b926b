//! github-action-benchmark: `customSmallerIsBetter` and `customBiggerIsBetter`,
//! `[{ "name", "unit", "value", "range", "extra" }]`.

use anyhow::Result;
use serde_json::{json, Value};

use crate::report::view::View;
use crate::report::Exporter;
use crate::results::{Better, Location, MetricDesc, Stat, Status, Unit};

/// The metrics of every successful benchmark that gate, or that compact tables show (peak
/// memory), whose better direction is the export's: lower for `customSmallerIsBetter`
/// (`bigger: false`), higher for `customBiggerIsBetter`. github-action-benchmark takes one tool per
/// file, so a run with both kinds of metric needs both exports.
pub struct Gab {
    /// `customBiggerIsBetter` instead of `customSmallerIsBetter`.
    pub bigger: bool,
}

/// The unit name and the factor from the metric's unit.
fn scaled(unit: Unit) -> (&'static str, f64) {
    match unit {
        Unit::Seconds => ("ms", 1e3),
        Unit::Bytes => ("MiB", 1.0 / (1024.0 * 1024.0)),
        Unit::Count => ("count", 1.0),
        Unit::PerSecond => ("/s", 1.0),
        Unit::BytesPerSecond => ("MiB/s", 1.0 / (1024.0 * 1024.0)),
        Unit::Ratio => ("×", 1.0),
        Unit::Fraction => ("%", 100.0),
    }
}

fn exported(desc: &MetricDesc, bigger: bool) -> bool {
    let direction = if bigger { Better::Higher } else { Better::Lower };
    desc.better == direction && desc.compare != Location::Exact && (desc.gates || desc.compact)
}

impl Exporter for Gab {
    fn export(&self, view: &View) -> Result<String> {
        let mut out = Vec::new();
        for b in view.doc.benchmarks.iter().filter(|b| b.status == Status::Ok) {
            for (metric, desc) in b.metrics.iter().filter(|(_, d)| exported(d, self.bigger)) {
                let Some(s) = b.summary.get(metric) else { continue };
                let (unit, scale) = scaled(desc.unit);
                let stat = desc.shown_stat();
                let range = match (stat, s.median_ci95) {
                    (Stat::Median, Some([lo, hi])) => format!("± {:.3}", (hi - lo) / 2.0 * scale),
                    _ => format!("± {:.3}", s.stddev * scale),
                };
                let which = match stat {
                    Stat::Median => "median",
                    Stat::Mean => "mean",
                    Stat::Max => "largest",
                    Stat::Min => "smallest",
                };
                out.push(json!({
                    "name": format!("{} - {}", b.id, metric),
                    "unit": unit,
                    "value": s.stat(stat) * scale,
                    "range": range,
                    "extra": format!("{which} of {} runs; p5={:.3} p95={:.3} {unit}", s.n, s.p5 * scale, s.p95 * scale),
                }));
            }
        }
        Ok(serde_json::to_string_pretty(&Value::Array(out))? + "\n")
    }
}
