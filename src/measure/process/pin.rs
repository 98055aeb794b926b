//! `--pin CPU[,CPU]`: the runner and the measured child on chosen CPUs (`sched_setaffinity`), so
//! that the scheduler does not move them between CPUs whose caches and clock differ. One CPU pins
//! both there; two pin the runner to the first and the child to the second. Set once per command,
//! before any runner starts; the runner is pinned as it starts and each child pins itself before
//! it execs (`spawn`).

use std::io;
use std::str::FromStr;
use std::sync::OnceLock;

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Where the runner and the measured child run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// The runner's CPU.
    pub runner: usize,
    /// The measured child's CPU.
    pub child: usize,
}

impl FromStr for Pin {
    type Err = String;

    fn from_str(s: &str) -> Result<Pin, String> {
        let cpu = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{t}` is not a CPU number (expected CPU or CPU,CPU, like 1 or 0,1)"))
        };
        match s.split_once(',') {
            None => cpu(s).map(|c| Pin { runner: c, child: c }),
            Some((runner, child)) => Ok(Pin { runner: cpu(runner)?, child: cpu(child)? }),
        }
    }
}

static PIN: OnceLock<Pin> = OnceLock::new();

/// Pins the runners and children this process starts from now on, once the CPUs are known to be
/// ones it may run on.
pub fn set(pin: Pin) -> Result<(), String> {
    let allowed =
        sched_getaffinity(Pid::from_raw(0)).map_err(|e| format!("could not read this process's CPUs: {e}"))?;
    let usable: Vec<usize> = (0..CpuSet::count()).filter(|c| allowed.is_set(*c).unwrap_or(false)).collect();
    for cpu in [pin.runner, pin.child] {
        if !usable.contains(&cpu) {
            return Err(format!(
                "--pin: CPU {cpu} is not one this process may run on; it may use {}",
                usable.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    PIN.set(pin).map_err(|_| "--pin was set twice".to_string())
}

/// The pin, when `--pin` asked for one.
pub fn get() -> Option<Pin> {
    PIN.get().copied()
}

/// Pins process `pid` to `cpu`.
pub(super) fn pin_process(pid: u32, cpu: usize) -> io::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(io::Error::from)?;
    sched_setaffinity(Pid::from_raw(pid as i32), &set).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cpu_pins_both_and_two_split_them() {
        assert_eq!("1".parse::<Pin>(), Ok(Pin { runner: 1, child: 1 }));
        assert_eq!("0, 3".parse::<Pin>(), Ok(Pin { runner: 0, child: 3 }));
        assert!("x".parse::<Pin>().unwrap_err().contains("`x` is not a CPU number"));
        assert!("1,".parse::<Pin>().is_err());
    }

    #[test]
    fn a_pinned_process_runs_on_its_cpu_only() {
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        pin_process(child.id(), 0).unwrap();
        let set = sched_getaffinity(Pid::from_raw(child.id() as i32)).unwrap();
        let on: Vec<usize> = (0..CpuSet::count()).filter(|c| set.is_set(*c).unwrap()).collect();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(on, [0]);
    }
}
