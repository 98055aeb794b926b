//! How the suites declare metrics. Their rows are a few long rounds, so every metric is compared
//! by its mean (Welch's t-test): the rank test of medians cannot reach significance with three
//! samples a side.

use crate::results::{Better, Location, MetricDesc, Unit};

/// A metric compared by its mean, with a label.
pub fn by_mean(unit: Unit, better: Better, label: &str) -> MetricDesc {
    MetricDesc { compare: Location::Mean, label: label.to_string(), ..MetricDesc::new(unit, better) }
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
