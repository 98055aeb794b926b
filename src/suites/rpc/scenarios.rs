//! The RPC suite's scenario groups (`--scenario`).

use crate::measure::kind::ScenarioGroup;
use crate::suites::Scenarios;

/// A group of the RPC suite's scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Each call through a worker against the same function in-process.
    Calls,
    /// Nested call chains, a proxied singleton, calls to several workers at once.
    Patterns,
    /// Memory and start-up time per worker count.
    Scaling,
}

/// The groups' names and what they hold, in the order of [`Group`].
pub const GROUPS: &[ScenarioGroup] = &[
    ScenarioGroup { name: "calls", about: "RPC: each call through a worker against the same function in-process" },
    ScenarioGroup {
        name: "patterns",
        about: "RPC: nested call chains, a proxied singleton, calls to several workers at once",
    },
    ScenarioGroup { name: "scaling", about: "RPC: memory and start-up time per worker count" },
];

impl Scenarios for Group {
    const ALL: &'static [Group] = &[Group::Calls, Group::Patterns, Group::Scaling];

    fn group(self) -> ScenarioGroup {
        GROUPS[self as usize]
    }
}
