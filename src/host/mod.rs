//! Facts about the machine that go into every result and into `cargo coldbench env`: what it is
//! (here), what state it is in (`state`), and whether that state is fit to measure (`check`).

pub mod check;
pub mod state;

use std::process::Command;

pub use crate::results::HostFacts;

/// Collects the host facts (about 20 ms: most of it is `rustc --version`); the kinds add theirs
/// (`plan::Registry::host_facts`).
pub fn collect() -> HostFacts {
    let (major, minor, patch) = zmq::version();
    let gpus = crate::gpu::list();
    HostFacts {
        kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        cpu: cpu_model().unwrap_or_else(|| "unknown".into()),
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        governor: read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        rustc: rustc_version(),
        libzmq: format!("{major}.{minor}.{patch}"),
        curve: zmq::has("curve").unwrap_or(false),
        gpus: gpus.gpus,
        gpu_note: gpus.note,
        torch: None,
        machine: None,
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// `rustc --version` (of `$RUSTC` when set), or `None` when rustc cannot be run.
pub fn rustc_version() -> Option<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn facts_are_filled_in_on_linux() {
        let facts = super::collect();
        assert!(facts.cores >= 1);
        assert_ne!(facts.kernel, "unknown");
        assert!(facts.libzmq.split('.').count() == 3, "{}", facts.libzmq);
    }
}
