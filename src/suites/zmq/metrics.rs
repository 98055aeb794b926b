//! What the rows of the ZeroMQ suite measure: one set of metric descriptors per shape of row,
//! every metric by its mean (see [`crate::suites::metric`]).

use crate::measure::bench::percentile_metrics;
use crate::results::{Better, Location, MetricDesc, OrderedMap, Stat, Unit};
use crate::suites::metric::{by_mean, column, gating, MEAN_NOISE, TAIL_NOISE};

/// The shape of a row, which decides its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Closed-loop throughput; `codec` adds the compression ratio and the client's CPU time.
    Throughput {
        /// Whether messages are compressed.
        codec: bool,
        /// Whether the server is a process of its own (its CPU time and memory are read).
        process: bool,
    },
    /// Open-loop latency at a rate.
    Latency,
    /// Sequential requests, kept as a time series.
    Tail,
    /// A chain of stage workers.
    Pipeline,
    /// Fresh connections timed to their first answer.
    Handshake,
}

/// The server's CPU time per request, its memory after each round, and how much that grew in the
/// round per 10 000 requests.
fn server_metrics(m: &mut OrderedMap<MetricDesc>) {
    m.insert(
        "server_cpu",
        column(by_mean(Unit::Seconds, Better::Lower, "server CPU per request"), "server CPU/req", true),
    );
    let rss = MetricDesc { stat: Some(Stat::Max), ..by_mean(Unit::Bytes, Better::Lower, "server RSS") };
    m.insert("server_rss", column(rss, "server RSS", false));
    m.insert("server_rss_growth", by_mean(Unit::Bytes, Better::Lower, "server RSS growth per 10k requests"));
}

/// Replies that failed the user's `reply` check, per round: lower is better, and it gates.
fn error_metric(m: &mut OrderedMap<MetricDesc>) {
    m.insert("errors", gating(column(by_mean(Unit::Count, Better::Lower, "bad replies"), "errors", true)));
}

/// Latency percentiles in milliseconds-scale columns: p50 is the headline; p99 gates too.
fn latency_metrics(m: &mut OrderedMap<MetricDesc>) {
    for (name, mut d) in percentile_metrics("latency", "latency", false) {
        d.compare = Location::Mean;
        d.noise = Some(if name == "latency_p50" { MEAN_NOISE } else { TAIL_NOISE });
        d.gates = name == "latency_p50" || name == "latency_p99";
        if name != "latency_p50" {
            d.column = Some(if name == "latency_max" { "max".into() } else { "p95/p99/p99.9".into() });
            d.compact = name == "latency_p99";
        }
        m.insert(name, d);
    }
}

/// The descriptors of a row of this shape, headline first; `errors` when its replies are checked
/// against the user's `reply`.
pub fn descriptors(shape: Shape, errors: bool) -> OrderedMap<MetricDesc> {
    let mut m = OrderedMap::new();
    match shape {
        Shape::Throughput { codec, process } => {
            m.insert("throughput", gating(by_mean(Unit::PerSecond, Better::Higher, "throughput")));
            m.insert(
                "bandwidth",
                column(by_mean(Unit::BytesPerSecond, Better::Higher, "bandwidth"), "bandwidth", true),
            );
            if codec {
                m.insert(
                    "compression_ratio",
                    column(by_mean(Unit::Ratio, Better::Higher, "compression ratio"), "ratio", true),
                );
                m.insert(
                    "client_cpu",
                    column(by_mean(Unit::Seconds, Better::Lower, "client CPU per request"), "client CPU/req", false),
                );
            }
            if process {
                server_metrics(&mut m);
            }
        }
        Shape::Latency => {
            latency_metrics(&mut m);
            m.insert(
                "achieved_rate",
                column(by_mean(Unit::PerSecond, Better::Higher, "achieved rate"), "achieved", true),
            );
            m.insert("late", column(by_mean(Unit::Count, Better::Lower, "sends behind schedule"), "late", false));
            m.insert("lost", column(by_mean(Unit::Count, Better::Lower, "requests never answered"), "lost", false));
            server_metrics(&mut m);
        }
        Shape::Tail => {
            latency_metrics(&mut m);
            server_metrics(&mut m);
        }
        Shape::Pipeline => {
            m.insert("throughput", gating(by_mean(Unit::PerSecond, Better::Higher, "items through the chain")));
            m.insert(
                "ready_time",
                gating(column(by_mean(Unit::Seconds, Better::Lower, "time to ready"), "ready", true)),
            );
            m.insert(
                "stages_cpu",
                column(by_mean(Unit::Seconds, Better::Lower, "stages' CPU per item"), "CPU/item", false),
            );
        }
        Shape::Handshake => {
            m.insert("handshake", gating(by_mean(Unit::Seconds, Better::Lower, "connect to first reply")));
            server_metrics(&mut m);
        }
    }
    if errors {
        error_metric(&mut m);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_is_higher_better_and_latency_lower_better_both_by_mean() {
        let t = descriptors(Shape::Throughput { codec: true, process: true }, false);
        assert_eq!(t.iter().next().unwrap().0, "throughput");
        let throughput = t.get("throughput").unwrap();
        assert_eq!((throughput.better, throughput.gates, throughput.compare), (Better::Higher, true, Location::Mean));
        assert!(t.get("compression_ratio").is_some() && t.get("server_cpu").is_some());
        let inproc = descriptors(Shape::Throughput { codec: false, process: false }, false);
        assert!(inproc.get("server_cpu").is_none() && inproc.get("compression_ratio").is_none());
        let l = descriptors(Shape::Latency, false);
        assert_eq!(l.iter().next().unwrap().0, "latency_p50");
        let p99 = l.get("latency_p99").unwrap();
        assert_eq!((p99.better, p99.gates, p99.compare), (Better::Lower, true, Location::Mean));
        assert!(!l.get("latency_max").unwrap().gates);
        assert!(l.get("errors").is_none());
        let checked = descriptors(Shape::Tail, true);
        let errors = checked.get("errors").unwrap();
        assert_eq!((errors.better, errors.gates, errors.unit), (Better::Lower, true, Unit::Count));
    }
}
