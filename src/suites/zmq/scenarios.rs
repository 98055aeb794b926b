//! The ZeroMQ suite's scenario groups (`--scenario`).

use crate::measure::kind::ScenarioGroup;
use crate::suites::Scenarios;

/// A group of the ZeroMQ suite's scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Throughput by payload size (REQ/REP, DEALER/ROUTER, PUSH/PULL) and by client count.
    Throughput,
    /// Latency under load (open loop), latency by payload size, tail latency.
    Latency,
    /// Compression and CURVE.
    Features,
    /// Chains of PUSH/PULL stages.
    Pipeline,
}

/// The groups' names and what they hold, in the order of [`Group`].
pub const GROUPS: &[ScenarioGroup] = &[
    ScenarioGroup {
        name: "throughput",
        about: "ZeroMQ: throughput by payload size (REQ/REP, DEALER/ROUTER, PUSH/PULL) and by client count",
    },
    ScenarioGroup {
        name: "latency",
        about: "ZeroMQ: latency under load (open loop), latency by payload size, tail latency",
    },
    ScenarioGroup { name: "features", about: "ZeroMQ: compression and CURVE" },
    ScenarioGroup { name: "pipeline", about: "ZeroMQ: chains of PUSH/PULL stages" },
];

impl Scenarios for Group {
    const ALL: &'static [Group] = &[Group::Throughput, Group::Latency, Group::Features, Group::Pipeline];

    fn group(self) -> ScenarioGroup {
        GROUPS[self as usize]
    }
}
