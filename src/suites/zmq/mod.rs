//! The ZeroMQ suite (`[package.metadata.bench.zmq]`, README "The ZeroMQ suite"): throughput by payload size and
//! client count, latency under load from an open-loop generator, tail latency, pipelines,
//! compression and CURVE — against the built-in echo worker (the floor) and the user's server.

pub mod bench;
pub mod codec;
pub mod config;
pub mod echo;
pub mod load;
pub mod memory;
pub mod message;
pub mod metrics;
pub mod monitor;
pub mod pipeline;
mod plan;
mod roles;
pub mod row;
pub mod rows;
pub mod runtime;
pub mod scenarios;
pub mod stage;

pub use plan::Zmq;

use std::path::Path;

/// The kind of the suite's results.
pub const KIND: &str = "zmq";

/// Folders for ipc sockets are named `coldbench-ipc-PID-…` in the temporary folder.
pub const IPC_PREFIX: &str = "coldbench-ipc-";

/// Why CURVE rows cannot run with this build's libzmq, or `None` when they can.
pub fn curve_missing() -> Option<String> {
    if zmq::has("curve").unwrap_or(false) {
        return None;
    }
    let (major, minor, patch) = zmq::version();
    Some(format!(
        "libzmq {major}.{minor}.{patch} was built without CURVE; build cargo-coldbench against the system libzmq \
         (see README, \"CURVE\") to measure it"
    ))
}

/// A short folder for ipc sockets (their paths are limited to about 100 bytes), named after this
/// process so that a later run can remove what an interrupted one left, and removed on Ctrl-C.
pub fn ipc_dir() -> Result<tempfile::TempDir, String> {
    sweep_ipc_dirs(&std::env::temp_dir());
    let dir = tempfile::Builder::new()
        .prefix(&format!("{IPC_PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| format!("could not create a folder for ipc sockets: {e}"))?;
    crate::suites::server::remove_on_interrupt(dir.path());
    Ok(dir)
}

/// Removes ipc folders left by runs whose process is gone (killed before it could clean up).
pub fn sweep_ipc_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(IPC_PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_dead_runs_are_swept_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // A pid far above pid_max's default is never alive.
        let dead = tmp.path().join(format!("{IPC_PREFIX}999999999-abc"));
        let live = tmp.path().join(format!("{IPC_PREFIX}{}-abc", std::process::id()));
        let other = tmp.path().join("something-else");
        for d in [&dead, &live, &other] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(dead.join("echo.ipc"), b"").unwrap();
        sweep_ipc_dirs(tmp.path());
        assert!(!dead.exists() && live.exists() && other.exists());
    }
}
