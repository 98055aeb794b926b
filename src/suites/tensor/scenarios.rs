//! The tensor suite's scenario groups (`--scenario`).

use crate::measure::kind::ScenarioGroup;
use crate::suites::Scenarios;

/// A group of the tensor suite's scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Round trips per shape, device and mode (copy or shared memory).
    Transfer,
    /// Memory of workers holding the same tensor, copied or shared.
    Memory,
}

/// The groups' names and what they hold, in the order of [`Group`].
pub const GROUPS: &[ScenarioGroup] = &[
    ScenarioGroup { name: "transfer", about: "Tensor: round trips per shape, device and mode (copy or shared memory)" },
    ScenarioGroup { name: "memory", about: "Tensor: memory of workers holding the same tensor, copied or shared" },
];

impl Scenarios for Group {
    const ALL: &'static [Group] = &[Group::Transfer, Group::Memory];

    fn group(self) -> ScenarioGroup {
        GROUPS[self as usize]
    }
}
