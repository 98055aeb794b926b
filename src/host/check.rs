//! Whether the machine is fit to measure: its state read twice a moment apart, and one problem,
//! with its fix, for each thing that makes timings unsteady — a frequency governor other than
//! `performance`, turbo boost, ASLR off, other processes using the CPU, threads queueing for it,
//! a hypervisor stealing CPU time, swap in use, thermal throttling, a battery. None stops a run:
//! they are warnings before measuring, facts in the result, and `env --check`'s exit status.

use std::time::{Duration, Instant};

use super::state::{Snapshot, Source};
use crate::results::{BusyProcess, MachineProblem, MachineState};

/// How long a check watches the machine.
pub const WINDOW: Duration = Duration::from_millis(200);
/// A process using this share of a CPU during the check is named.
const BUSY: f64 = 0.10;
/// Other processes using this many CPUs together make the machine busy.
const BUSY_TOTAL: f64 = 0.25;
/// Steal during the check, or since boot, above these shares is a problem.
const STEAL_NOW: f64 = 0.02;
const STEAL_SINCE_BOOT: f64 = 0.05;
/// Swap in use beyond this is a problem.
const SWAP: u64 = 1 << 20;
/// How many of the busiest processes are kept.
const BUSIEST: usize = 5;

/// Watches the machine of `source` for `window` and judges it; `cores` CPUs are usable.
pub fn check(source: &Source, window: Duration, cores: usize) -> MachineState {
    let before = source.snapshot();
    let started = Instant::now();
    std::thread::sleep(window);
    let after = source.later().snapshot();
    assess(&before, &after, started.elapsed(), cores, std::process::id(), super::state::ticks_per_second())
}

/// Judges the machine from two readings `elapsed` apart. `own` is this process: it and what it
/// started are not "other processes".
pub fn assess(before: &Snapshot, after: &Snapshot, elapsed: Duration, cores: usize, own: u32, hz: f64) -> MachineState {
    let mut state = MachineState {
        governors: after.governors.clone(),
        boost: after.boost,
        aslr: after.aslr,
        load: after.load,
        // This process reads /proc/stat while it runs.
        runnable: after.running.map(|r| r.saturating_sub(1)),
        steal_since_boot: after.cpu.filter(|c| c.total > 0).map(|c| c.steal as f64 / c.total as f64),
        steal: before.cpu.zip(after.cpu).and_then(|(b, a)| {
            let total = a.total.checked_sub(b.total).filter(|t| *t > 0)?;
            Some(a.steal.saturating_sub(b.steal) as f64 / total as f64)
        }),
        swap_used: after.swap_used,
        throttled: after.throttled,
        throttled_now: before.throttled.zip(after.throttled).map(|(b, a)| a.saturating_sub(b)),
        on_battery: after.on_battery,
        window: elapsed.as_secs_f64(),
        ..MachineState::default()
    };
    let (busiest, others) = busiest(before, after, elapsed, own, hz);
    state.busiest = busiest;
    state.problems = problems(&state, others, cores);
    state
}

/// The other processes by CPU used during the check, busiest first, and what they used together
/// (in CPUs). Kernel threads count in the total but are not named: they cannot be closed.
fn busiest(before: &Snapshot, after: &Snapshot, elapsed: Duration, own: u32, hz: f64) -> (Vec<BusyProcess>, f64) {
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let ours = descendants(after, own);
    let mut used: Vec<(BusyProcess, bool)> = after
        .processes
        .iter()
        .filter(|p| !ours.contains(&p.pid))
        .filter_map(|p| {
            let was = before.processes.iter().find(|b| b.pid == p.pid && b.name == p.name).map_or(0, |b| b.ticks);
            let cpu = p.ticks.saturating_sub(was) as f64 / hz / seconds;
            let kernel = p.pid == 2 || p.ppid == 2;
            (cpu > 0.0).then(|| (BusyProcess { pid: p.pid, name: p.name.clone(), cpu }, kernel))
        })
        .collect();
    used.sort_by(|a, b| b.0.cpu.total_cmp(&a.0.cpu));
    let total = used.iter().map(|(p, _)| p.cpu).sum();
    (used.into_iter().filter(|(_, kernel)| !kernel).map(|(p, _)| p).take(BUSIEST).collect(), total)
}

/// `own` and every process started under it.
fn descendants(snapshot: &Snapshot, own: u32) -> Vec<u32> {
    let mut out = vec![own];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(snapshot.processes.iter().filter(|p| p.ppid == parent && p.pid != parent).map(|p| p.pid));
        i += 1;
    }
    out
}

fn problem(problem: String, fix: impl Into<String>) -> MachineProblem {
    MachineProblem { problem, fix: fix.into() }
}

/// One problem per thing that makes timings unsteady, each with its fix.
fn problems(state: &MachineState, others: f64, cores: usize) -> Vec<MachineProblem> {
    let mut out = Vec::new();
    let slow: Vec<&String> = state.governors.iter().filter(|g| g.as_str() != "performance").collect();
    if let Some(first) = slow.first() {
        out.push(problem(
            format!(
                "the CPU frequency governor is `{first}` on {} of {} CPUs: the clock speed follows the load, so a \
                 run's time depends on what ran before it",
                slow.len(),
                state.governors.len()
            ),
            "sudo cpupower frequency-set -g performance",
        ));
    }
    if state.boost == Some(true) {
        out.push(problem(
            "turbo boost is on: the clock rises and falls with temperature and how many cores are busy".into(),
            "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost (intel_pstate: echo 1 | sudo tee \
             /sys/devices/system/cpu/intel_pstate/no_turbo)",
        ));
    }
    if state.aslr == Some(0) {
        out.push(problem(
            "ASLR is off (kernel.randomize_va_space = 0): every run gets the same address layout, so a comparison \
             can read a lucky or unlucky layout as a change"
                .into(),
            "sudo sysctl kernel.randomize_va_space=2",
        ));
    }
    let percent = |cpu: f64| format!("{:.0}%", cpu * 100.0);
    let named: Vec<&BusyProcess> = state.busiest.iter().filter(|p| p.cpu >= BUSY).take(3).collect();
    if others >= BUSY_TOTAL {
        for p in &named {
            out.push(problem(
                format!("`{}` (pid {}) used {} of a CPU while coldbench looked", p.name, p.pid, percent(p.cpu)),
                format!("close `{}` (or wait for it to finish) before measuring", p.name),
            ));
        }
        if named.is_empty() {
            out.push(problem(
                format!("other processes used {} of a CPU together while coldbench looked", percent(others)),
                "close what you can (`top` shows them) before measuring",
            ));
        }
    }
    if let Some(runnable) = state.runnable.filter(|r| *r as usize >= cores.max(1)) {
        out.push(problem(
            format!("{runnable} other threads were ready to run on {cores} CPUs: the runs would queue behind them"),
            "wait for the machine to be idle, or close what keeps it busy",
        ));
    }
    let steal_now = state.steal.filter(|s| *s >= STEAL_NOW);
    let steal_long = state.steal_since_boot.filter(|s| *s >= STEAL_SINCE_BOOT);
    if steal_now.is_some() || steal_long.is_some() {
        let now = state.steal.map(|s| format!("{} while coldbench looked, ", percent(s))).unwrap_or_default();
        let long = state.steal_since_boot.map(|s| format!("{} since boot", percent(s))).unwrap_or_default();
        out.push(problem(
            format!(
                "the hypervisor took CPU time from this virtual machine ({now}{long}): its timings move with what \
                 other guests do"
            ),
            "measure on a dedicated host or instance (or one with dedicated CPUs)",
        ));
    }
    if let Some(swap) = state.swap_used.filter(|s| *s >= SWAP) {
        out.push(problem(
            format!(
                "{} of swap in use: pages of the measured program may have to come back from disk",
                crate::units::format_bytes(swap as f64)
            ),
            "free memory by closing programs, then empty the swap: sudo swapoff -a && sudo swapon -a",
        ));
    }
    if let Some(n) = state.throttled_now.filter(|n| *n > 0) {
        out.push(problem(
            format!("the CPU was thermally throttled {n} times while coldbench looked: it is running slower to cool"),
            "let the machine cool, improve its cooling, or lower its load",
        ));
    }
    if state.on_battery == Some(true) {
        out.push(problem(
            "the machine runs on battery: laptops slow the CPU to save power".into(),
            "plug in the charger",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::state::{CpuTicks, ProcessTicks};

    fn snapshot(steal: u64, total: u64, busy_ticks: u64) -> Snapshot {
        Snapshot {
            cpu: Some(CpuTicks { total, steal }),
            running: Some(1),
            load: Some([0.1, 0.1, 0.1]),
            processes: vec![
                ProcessTicks { pid: 1, ppid: 0, name: "init".into(), ticks: 5 },
                ProcessTicks { pid: 2, ppid: 0, name: "kthreadd".into(), ticks: 0 },
                ProcessTicks { pid: 40, ppid: 2, name: "kworker/0:1".into(), ticks: busy_ticks },
                ProcessTicks { pid: 77, ppid: 1, name: "rustc".into(), ticks: busy_ticks },
                ProcessTicks { pid: 100, ppid: 1, name: "cargo-coldbench".into(), ticks: busy_ticks },
                ProcessTicks { pid: 101, ppid: 100, name: "hello".into(), ticks: busy_ticks },
            ],
            swap_used: Some(0),
            governors: vec!["performance".into(); 2],
            boost: None,
            aslr: Some(2),
            throttled: None,
            on_battery: None,
        }
    }

    #[test]
    fn a_quiet_tuned_machine_has_no_problem() {
        let state = assess(&snapshot(0, 1000, 10), &snapshot(0, 1040, 10), Duration::from_millis(200), 2, 100, 100.0);
        assert!(state.problems.is_empty(), "{:?}", state.problems);
        assert_eq!((state.steal, state.steal_since_boot, state.runnable), (Some(0.0), Some(0.0), Some(0)));
    }

    #[test]
    fn other_busy_processes_are_named_and_this_process_and_its_children_are_not() {
        // 17 ticks in 0.2 s at 100 Hz: 85% of a CPU each.
        let state = assess(&snapshot(0, 1000, 10), &snapshot(0, 1040, 27), Duration::from_millis(200), 2, 100, 100.0);
        let names: Vec<&str> = state.busiest.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["rustc"], "kernel threads and this process's tree are not named");
        assert!((state.busiest[0].cpu - 0.85).abs() < 1e-9);
        assert_eq!(state.problems.len(), 1, "{:?}", state.problems);
        assert!(state.problems[0].problem.contains("`rustc` (pid 77) used 85% of a CPU"), "{:?}", state.problems);
        assert!(state.problems[0].fix.contains("close `rustc`"));
    }

    #[test]
    fn steal_governors_boost_aslr_swap_heat_and_battery_each_say_their_fix() {
        let mut before = snapshot(50, 1000, 10);
        let mut after = snapshot(54, 1040, 10);
        for s in [&mut before, &mut after] {
            s.governors = vec!["powersave".into(), "performance".into()];
            s.boost = Some(true);
            s.aslr = Some(0);
            s.swap_used = Some(512 << 20);
            s.on_battery = Some(true);
        }
        before.throttled = Some(3);
        after.throttled = Some(5);
        after.running = Some(4);
        let state = assess(&before, &after, Duration::from_millis(200), 2, 100, 100.0);
        let fixes: Vec<&str> = state.problems.iter().map(|p| p.fix.as_str()).collect();
        for expected in [
            "sudo cpupower frequency-set -g performance",
            "/sys/devices/system/cpu/cpufreq/boost",
            "sudo sysctl kernel.randomize_va_space=2",
            "wait for the machine to be idle",
            "dedicated host",
            "sudo swapoff -a && sudo swapon -a",
            "let the machine cool",
            "plug in the charger",
        ] {
            assert!(fixes.iter().any(|f| f.contains(expected)), "no fix {expected:?} in {fixes:?}");
        }
        assert_eq!(state.problems.len(), 8, "one problem each: {:?}", state.problems);
        assert!(state.problems[0].problem.contains("`powersave` on 1 of 2 CPUs"));
        assert_eq!((state.steal, state.throttled_now), (Some(0.1), Some(2)));
    }
}
