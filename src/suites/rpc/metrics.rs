//! What the rows of the RPC suite measure, every metric by its mean (see [`crate::suites::metric`]).

use crate::results::{Better, MetricDesc, OrderedMap, Stat, Unit};
use crate::suites::metric::{by_mean, column, gating};

/// The shape of a row, which decides its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Calls timed one by one, against the same function in-process.
    Call,
    /// Chains host → worker → host → … of a depth.
    Chain,
    /// Calls from the worker to an object living in the host.
    Singleton,
    /// One call to each of several workers at once.
    FanOut,
    /// Workers started together: their start-up time and memory.
    Workers,
}

/// The in-process time and the overhead above it: lower is better for both; overhead gates.
fn overhead(m: &mut OrderedMap<MetricDesc>, local_label: &str) {
    m.insert("local", column(by_mean(Unit::Seconds, Better::Lower, local_label), "in-process", true));
    m.insert("overhead", gating(column(by_mean(Unit::Seconds, Better::Lower, "overhead"), "overhead", true)));
}

/// The descriptors of a row of this shape, headline first.
pub fn descriptors(shape: Shape) -> OrderedMap<MetricDesc> {
    let mut m = OrderedMap::new();
    match shape {
        Shape::Call => {
            let call = gating(by_mean(Unit::Seconds, Better::Lower, "call through a worker"));
            m.insert("call", MetricDesc { best: true, ..call });
            overhead(&mut m, "the same function in-process");
            m.insert("call_sd", column(by_mean(Unit::Seconds, Better::Lower, "σ of one call"), "σ/call", false));
            m.insert("call_min", column(by_mean(Unit::Seconds, Better::Lower, "fastest call"), "fastest", false));
            m.insert("call_max", column(by_mean(Unit::Seconds, Better::Lower, "slowest call"), "slowest", false));
        }
        Shape::Chain => {
            m.insert("chain", gating(by_mean(Unit::Seconds, Better::Lower, "whole chain")));
            m.insert("per_hop", column(by_mean(Unit::Seconds, Better::Lower, "per hop"), "per hop", true));
        }
        Shape::Singleton => {
            m.insert("call", gating(by_mean(Unit::Seconds, Better::Lower, "proxied call to the host's object")));
            overhead(&mut m, "the object called in-process");
        }
        Shape::FanOut => {
            m.insert("call", gating(by_mean(Unit::Seconds, Better::Lower, "one call to every worker at once")));
            overhead(&mut m, "the same calls in-process, one after another");
        }
        Shape::Workers => {
            m.insert("ready_time", gating(by_mean(Unit::Seconds, Better::Lower, "start until every worker is ready")));
            let mem = |label: &str| MetricDesc { stat: Some(Stat::Mean), ..by_mean(Unit::Bytes, Better::Lower, label) };
            m.insert("worker_pss", gating(column(mem("PSS per worker"), "PSS/worker", true)));
            m.insert("worker_rss", column(mem("RSS per worker"), "RSS/worker", false));
            m.insert("total_pss", column(mem("PSS of all workers"), "all workers", true));
            m.insert("host_pss", column(mem("PSS of the host"), "host", false));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Location;

    #[test]
    fn calls_and_their_overhead_are_lower_better_and_gate() {
        let call = descriptors(Shape::Call);
        assert_eq!(call.iter().next().unwrap().0, "call");
        let overhead = call.get("overhead").unwrap();
        assert_eq!((overhead.better, overhead.gates, overhead.compare), (Better::Lower, true, Location::Mean));
        assert!(!call.get("local").unwrap().gates);
        let workers = descriptors(Shape::Workers);
        assert_eq!(workers.get("worker_pss").unwrap().unit, Unit::Bytes);
    }
}
