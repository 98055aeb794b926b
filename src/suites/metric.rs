//! How the suites declare metrics. Their rows are a few long rounds against a few server
//! processes, so every metric is compared by its mean (process by process, see
//! `analysis::nested`), and each metric family carries the noise band it needs on a shared
//! machine when the host has no calibration.

use crate::results::{Better, Location, MetricDesc, Unit};

/// The noise band of a suite metric's mean (a throughput, a call time, a median latency, a
/// memory size) without a calibration: on the shared 2-core machine of `BENCHMARKS.md`, one
/// server process's throughput differs from the next one's by about 7% (a median latency's by
/// about 4%), so a smaller change is not worth a verdict there.
pub const MEAN_NOISE: f64 = 0.05;

/// The noise band of a tail latency (p95 and beyond) without a calibration: a few slow requests
/// decide it, and it differs from one server process to the next by about 14% there.
pub const TAIL_NOISE: f64 = 0.10;

/// A metric compared by its mean, with a label, and the band of [`MEAN_NOISE`].
pub fn by_mean(unit: Unit, better: Better, label: &str) -> MetricDesc {
    MetricDesc {
        compare: Location::Mean,
        label: label.to_string(),
        noise: Some(MEAN_NOISE),
        ..MetricDesc::new(unit, better)
    }
}

/// The metric shown in a table column (also in compact tables when `compact`).
pub fn column(mut d: MetricDesc, title: &str, compact: bool) -> MetricDesc {
    d.column = Some(title.to_string());
    d.compact = compact;
    d
}

/// The metric can fail the gate.
pub fn gating(mut d: MetricDesc) -> MetricDesc {
    d.gates = true;
    d
}
