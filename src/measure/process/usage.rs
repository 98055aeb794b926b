//! The metrics every process start yields: its wall time to the end event and its own resource
//! usage from `wait4`, declared once for the kinds that start processes (start, load, python).

use super::spec::RunRecord;
use crate::measure::bench::MetricName;
use crate::results::{Better, Location, MetricDesc, Stat, Unit};

/// Time from just before spawn to the end event (exit or readiness).
pub const WALL: &str = "wall";

/// The headline metric of a process start.
pub fn wall() -> (String, MetricDesc) {
    let desc = MetricDesc { gates: true, label: "wall time".into(), ..MetricDesc::new(Unit::Seconds, Better::Lower) };
    (WALL.to_string(), desc)
}

/// The resource usage metrics, in report order. CPU times and counts are compared by their means:
/// the kernel samples CPU time in ticks and counts are small integers, so a median flips between
/// a few values while the mean is unbiased. They explain a change; they do not gate.
pub fn usage() -> Vec<(String, MetricDesc)> {
    let mean = |unit, label: &str, column: Option<&str>| MetricDesc {
        compare: Location::Mean,
        label: label.into(),
        column: column.map(str::to_string),
        ..MetricDesc::new(unit, Better::Lower)
    };
    vec![
        ("user".into(), mean(Unit::Seconds, "user time", Some("user (mean)"))),
        ("sys".into(), mean(Unit::Seconds, "system time", Some("sys (mean)"))),
        (
            "max_rss".into(),
            MetricDesc {
                label: "peak RSS".into(),
                stat: Some(Stat::Max),
                column: Some("max RSS".into()),
                compact: true,
                ..MetricDesc::new(Unit::Bytes, Better::Lower)
            },
        ),
        ("minor_faults".into(), mean(Unit::Count, "minor page faults", Some("faults (mean)"))),
        ("major_faults".into(), mean(Unit::Count, "major page faults", Some("faults (mean)"))),
        ("vcsw".into(), mean(Unit::Count, "voluntary context switches", None)),
        ("ivcsw".into(), mean(Unit::Count, "involuntary context switches", None)),
    ]
}

/// The values of [`usage`] for one run.
pub fn usage_values(record: &RunRecord) -> Vec<(MetricName, f64)> {
    let u = &record.usage;
    vec![
        ("user".into(), u.user.as_secs_f64()),
        ("sys".into(), u.sys.as_secs_f64()),
        ("max_rss".into(), u.max_rss as f64),
        ("minor_faults".into(), u.minor_faults as f64),
        ("major_faults".into(), u.major_faults as f64),
        ("vcsw".into(), u.vcsw as f64),
        ("ivcsw".into(), u.ivcsw as f64),
    ]
}

/// A time listed in the line under a row (`dlopen 1.2 ms`), lower is better.
pub fn timed(gates: bool, label: &str) -> MetricDesc {
    MetricDesc { gates, label: label.into(), line: true, ..MetricDesc::new(Unit::Seconds, Better::Lower) }
}

/// A fact compared exactly: more is worse; it gates only when `gates` (a forbidden load).
pub fn exact_count(label: &str, unit: Unit, gates: bool) -> MetricDesc {
    MetricDesc { gates, compare: Location::Exact, label: label.into(), ..MetricDesc::new(unit, Better::Lower) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_usage_metric_has_a_value() {
        let names: Vec<String> = super::usage().into_iter().map(|(n, _)| n).collect();
        let values: Vec<String> =
            super::usage_values(&Default::default()).into_iter().map(|(n, _)| n.into_owned()).collect();
        assert_eq!(names, values);
    }
}
