//! The state of the machine a run measured on, checked before measuring (`env --check`), and how
//! it changed while a comparison ran: plain data, as written to results.

use serde::{Deserialize, Serialize};

/// What the machine looked like just before measuring, and what in it makes timings unsteady.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineState {
    /// The frequency governor of each CPU that has one (`performance`, `powersave`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub governors: Vec<String>,
    /// Whether turbo boost is on, where the kernel says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boost: Option<bool>,
    /// `kernel.randomize_va_space`: 0 off, 1 partial, 2 full address-space layout randomisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aslr: Option<u8>,
    /// The 1, 5 and 15 minute load averages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<[f64; 3]>,
    /// Threads that were runnable at the end of the check, this one aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runnable: Option<u32>,
    /// The other processes that used the most CPU during the check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub busiest: Vec<BusyProcess>,
    /// CPU time stolen by the hypervisor, as a share of all CPU time: since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal_since_boot: Option<f64>,
    /// The same, during the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal: Option<f64>,
    /// Swap in use, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_used: Option<u64>,
    /// Thermal throttling events since boot, where the kernel counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled: Option<u64>,
    /// Thermal throttling events during the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_now: Option<u64>,
    /// Whether the machine runs on battery, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_battery: Option<bool>,
    /// How long the check watched the machine, in seconds.
    pub window: f64,
    /// What is wrong, each with its fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<MachineProblem>,
}

/// A process that used CPU during the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusyProcess {
    /// Its pid.
    pub pid: u32,
    /// Its name (`comm`).
    pub name: String,
    /// The share of one CPU it used, 0 to the number of CPUs.
    pub cpu: f64,
}

/// Something about the machine that makes timings unsteady, and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineProblem {
    /// What is wrong.
    pub problem: String,
    /// What fixes it.
    pub fix: String,
}

/// How the machine's load and steal changed between the first and the second half of a
/// comparison's interleaved pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineDrift {
    /// Mean runnable threads (other than the runs) in the first and the second half.
    pub runnable: [f64; 2],
    /// CPU time stolen by the hypervisor, as a share, in each half.
    pub steal: [f64; 2],
    /// Whether the change is large enough to say so under the comparison.
    pub changed: bool,
}
