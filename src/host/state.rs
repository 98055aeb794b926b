//! What `/proc` and `/sys` say about the machine at one moment: CPU time (steal included), load,
//! every process's CPU time, swap, the frequency governors, boost, ASLR, thermal throttling and
//! the power supply.
//!
//! Everything is read under a root folder, `/` unless `COLDBENCH_HOST_ROOT` names another: a test
//! hook, so that a fake `proc/` and `sys/` tree stands for a machine in any state. A check
//! watches the machine for a moment between two readings; the second is read from `ROOT/later/`
//! when a fake tree has one (a machine that changed), else from `ROOT` again.

use std::path::{Path, PathBuf};

/// The test hook: a folder that stands for `/`.
pub const ROOT_ENV: &str = "COLDBENCH_HOST_ROOT";

/// Where the machine's state is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    root: PathBuf,
}

impl Source {
    /// The real machine, or the fake one `COLDBENCH_HOST_ROOT` names.
    pub fn from_env() -> Source {
        Source { root: std::env::var_os(ROOT_ENV).map_or_else(|| PathBuf::from("/"), PathBuf::from) }
    }

    /// A machine whose `proc/` and `sys/` are under `root`.
    pub fn at(root: impl Into<PathBuf>) -> Source {
        Source { root: root.into() }
    }

    /// Where the second reading of a check comes from.
    pub fn later(&self) -> Source {
        let later = self.root.join("later");
        if self.root != Path::new("/") && later.is_dir() {
            Source { root: later }
        } else {
            self.clone()
        }
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path.trim_start_matches('/'))).ok()
    }

    fn read_trimmed(&self, path: &str) -> Option<String> {
        self.read(path).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    fn list(&self, dir: &str) -> Vec<(String, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(self.root.join(dir.trim_start_matches('/'))) else { return Vec::new() };
        let mut out: Vec<(String, PathBuf)> =
            entries.flatten().map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect();
        out.sort();
        out
    }
}

/// CPU time of the whole machine, in clock ticks, from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Every state together.
    pub total: u64,
    /// Stolen by the hypervisor.
    pub steal: u64,
}

/// A process's CPU time, from `/proc/PID/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessTicks {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub ppid: u32,
    /// Its name.
    pub name: String,
    /// User and system time, in clock ticks.
    pub ticks: u64,
}

/// The machine at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// CPU time so far.
    pub cpu: Option<CpuTicks>,
    /// Threads runnable right now (`procs_running`).
    pub running: Option<u32>,
    /// Load averages.
    pub load: Option<[f64; 3]>,
    /// Every process's CPU time.
    pub processes: Vec<ProcessTicks>,
    /// Swap in use, in bytes.
    pub swap_used: Option<u64>,
    /// Frequency governor per CPU.
    pub governors: Vec<String>,
    /// Turbo boost on.
    pub boost: Option<bool>,
    /// `kernel.randomize_va_space`.
    pub aslr: Option<u8>,
    /// Thermal throttling events since boot.
    pub throttled: Option<u64>,
    /// On battery power.
    pub on_battery: Option<bool>,
}

impl Source {
    /// Reads the machine's state now.
    pub fn snapshot(&self) -> Snapshot {
        let stat = self.read("proc/stat").unwrap_or_default();
        Snapshot {
            cpu: cpu_ticks(&stat),
            running: running(&stat),
            load: self.read("proc/loadavg").and_then(|text| {
                let mut numbers = text.split_whitespace().map(|w| w.parse::<f64>());
                Some([numbers.next()?.ok()?, numbers.next()?.ok()?, numbers.next()?.ok()?])
            }),
            processes: self.processes(),
            swap_used: self.read("proc/meminfo").and_then(|text| {
                let kib = |name: &str| -> Option<u64> {
                    text.lines().find_map(|l| l.strip_prefix(name))?.split_whitespace().next()?.parse().ok()
                };
                Some(kib("SwapTotal:")?.saturating_sub(kib("SwapFree:")?) * 1024)
            }),
            governors: self
                .cpus()
                .iter()
                .filter_map(|cpu| self.read_trimmed(&format!("sys/devices/system/cpu/{cpu}/cpufreq/scaling_governor")))
                .collect(),
            boost: self.boost(),
            aslr: self.read_trimmed("proc/sys/kernel/randomize_va_space").and_then(|v| v.parse().ok()),
            throttled: self.throttled(),
            on_battery: self.on_battery(),
        }
    }

    /// CPU time and threads running only (`/proc/stat`): cheap enough to read between rounds.
    pub fn snapshot_load(&self) -> Snapshot {
        let stat = self.read("proc/stat").unwrap_or_default();
        Snapshot { cpu: cpu_ticks(&stat), running: running(&stat), ..Snapshot::default() }
    }

    /// `cpu0`, `cpu1`, … of `/sys/devices/system/cpu`.
    fn cpus(&self) -> Vec<String> {
        self.list("sys/devices/system/cpu")
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| {
                name.strip_prefix("cpu").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .collect()
    }

    fn processes(&self) -> Vec<ProcessTicks> {
        self.list("proc")
            .into_iter()
            .filter_map(|(name, path)| {
                let pid: u32 = name.parse().ok()?;
                let text = std::fs::read_to_string(path.join("stat")).ok()?;
                // The name may hold spaces and parentheses: the fields count from after the last `)`.
                let (head, rest) = text.rsplit_once(')')?;
                let name = head.split_once('(')?.1.to_string();
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let field = |i: usize| fields.get(i)?.parse::<u64>().ok();
                Some(ProcessTicks { pid, ppid: field(1)? as u32, name, ticks: field(11)? + field(12)? })
            })
            .collect()
    }

    /// `cpufreq/boost` (acpi-cpufreq, amd-pstate) or the opposite of `intel_pstate/no_turbo`.
    fn boost(&self) -> Option<bool> {
        if let Some(v) = self.read_trimmed("sys/devices/system/cpu/cpufreq/boost") {
            return Some(v == "1");
        }
        self.read_trimmed("sys/devices/system/cpu/intel_pstate/no_turbo").map(|v| v == "0")
    }

    /// The sum of the per-CPU core and package throttle counters (Intel's `thermal_throttle`).
    fn throttled(&self) -> Option<u64> {
        let counts: Vec<u64> = self
            .cpus()
            .iter()
            .flat_map(|cpu| {
                ["core_throttle_count", "package_throttle_count"].map(|f| {
                    self.read_trimmed(&format!("sys/devices/system/cpu/{cpu}/thermal_throttle/{f}"))
                        .and_then(|v| v.parse::<u64>().ok())
                })
            })
            .flatten()
            .collect();
        (!counts.is_empty()).then(|| counts.iter().sum())
    }

    /// On battery: a battery that discharges, and no mains supply online.
    fn on_battery(&self) -> Option<bool> {
        let supplies = self.list("sys/class/power_supply");
        let kind = |path: &Path| std::fs::read_to_string(path.join("type")).ok().map(|t| t.trim().to_string());
        let value = |path: &Path, f: &str| std::fs::read_to_string(path.join(f)).ok().map(|t| t.trim().to_string());
        let batteries: Vec<&PathBuf> =
            supplies.iter().filter(|(_, p)| kind(p).as_deref() == Some("Battery")).map(|(_, p)| p).collect();
        if batteries.is_empty() {
            return None;
        }
        let mains_online = supplies
            .iter()
            .any(|(_, p)| kind(p).as_deref() == Some("Mains") && value(p, "online").as_deref() == Some("1"));
        let discharging = batteries.iter().any(|p| value(p, "status").as_deref() == Some("Discharging"));
        Some(discharging && !mains_online)
    }
}

/// The first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal guest
/// guest_nice` (guest time is already counted in user and nice).
fn cpu_ticks(stat: &str) -> Option<CpuTicks> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total = values.iter().take(8).sum();
    Some(CpuTicks { total, steal: values.get(7).copied().unwrap_or(0) })
}

/// `procs_running` of `/proc/stat`.
fn running(stat: &str) -> Option<u32> {
    stat.lines().find_map(|l| l.strip_prefix("procs_running ")?.trim().parse().ok())
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as f64,
        _ => 100.0,
    }
}
