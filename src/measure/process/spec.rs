//! What a process run is (`ProcessSpec`) and what it gave (`RunRecord`): plain data that the
//! runner process and its parent exchange as JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cache::CacheMode;
use crate::results::{Readiness, Residency};

/// Everything needed to start one process the same way every time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// Path of the executable (no shell, no PATH lookup at run time).
    pub program: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Variables added to the inherited environment.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The end event.
    pub readiness: Readiness,
    /// A run that has not reached its end event by then is killed and fails.
    pub timeout: Duration,
    /// Keep stdout (when readiness does not read it) in [`RunRecord::stdout`].
    #[serde(default)]
    pub capture_stdout: bool,
    /// Keep all of stderr in [`RunRecord::stderr`].
    #[serde(default)]
    pub capture_stderr: bool,
    /// The page cache before each run.
    #[serde(default)]
    pub cache: CacheMode,
    /// Files to evict with a cold cache instead of the program and what it maps.
    #[serde(default)]
    pub evict_first: Option<Vec<PathBuf>>,
    /// The CPU the process runs on (`--pin`), or any.
    #[serde(default)]
    pub cpu: Option<usize>,
}

/// The child's own resource usage, from `wait4`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// User CPU time.
    pub user: Duration,
    /// System CPU time.
    pub sys: Duration,
    /// Peak resident set size in bytes.
    pub max_rss: u64,
    /// Page faults served without I/O.
    pub minor_faults: u64,
    /// Page faults that needed I/O.
    pub major_faults: u64,
    /// Voluntary context switches.
    pub vcsw: u64,
    /// Involuntary context switches.
    pub ivcsw: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ending {
    /// The process exited by itself with this status (end event: exit, or exited before ready).
    Exited { code: i32 },
    /// The process was killed by a signal it did not ask for.
    Signaled { signal: i32 },
    /// The readiness event happened; the process was then terminated.
    #[default]
    Ready,
    /// The end event did not happen before the timeout; the process was killed.
    TimedOut,
    /// Readiness could not even be attempted.
    Blocked { reason: String },
}

/// The record of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Time from just before spawn to the end event.
    pub wall: Duration,
    /// The child's own rusage (covers its whole life, termination after readiness included).
    pub usage: Usage,
    /// How it ended.
    pub ending: Ending,
    /// The last lines of stderr, kept when the run failed.
    pub stderr_tail: Option<String>,
    /// All of stdout, with `capture_stdout`.
    #[serde(default)]
    pub stdout: Option<String>,
    /// All of stderr, with `capture_stderr`.
    #[serde(default)]
    pub stderr: Option<String>,
    /// With a cold cache: how much of each file stayed resident right after eviction.
    #[serde(default)]
    pub residency: Vec<Residency>,
    /// The child's pid.
    #[serde(default)]
    pub pid: Option<u32>,
    /// What a timed run wrote to the file its environment names in `COLDBENCH_METRICS` (its own
    /// metrics), or why that file could not be read; `None` when the spec names no such file or
    /// the run wrote none.
    #[serde(default)]
    pub reported: Option<Result<String, String>>,
}

impl RunRecord {
    pub(super) fn blocked(reason: String) -> RunRecord {
        RunRecord { ending: Ending::Blocked { reason }, ..RunRecord::default() }
    }
}

impl RunRecord {
    /// Why this run counts as failed, or `None` when it succeeded.
    pub fn failure(&self, readiness: &Readiness, timeout: Duration) -> Option<String> {
        let waiting_for_ready = *readiness != Readiness::Exit;
        let before_ready = if waiting_for_ready { " before it was ready" } else { "" };
        match &self.ending {
            Ending::Ready => None,
            Ending::Exited { code: 0 } if !waiting_for_ready => None,
            Ending::Exited { code } => Some(format!("exited with status {code}{before_ready}")),
            Ending::Signaled { signal } => {
                Some(format!("killed by signal {signal} ({}){before_ready}", signal_name(*signal)))
            }
            Ending::TimedOut if waiting_for_ready => Some(format!(
                "not ready after {} (waited for {})",
                humantime::format_duration(timeout),
                readiness.describe()
            )),
            Ending::TimedOut => Some(format!("timed out after {}", humantime::format_duration(timeout))),
            Ending::Blocked { reason } => Some(reason.clone()),
        }
    }
}

/// The conventional name of a signal number (`SIGABRT`).
pub fn signal_name(signal: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(signal).map(|s| s.as_str()).unwrap_or("unknown signal")
}
