//! Instruction counts (`--measure instructions`): a start run again under
//! `valgrind --tool=callgrind`, whose count of executed instructions (`Ir`) is nearly the same on
//! every run, so that a change of a fraction of a percent can be seen on a machine whose wall
//! times vary by ten. What it does not see: waiting (I/O, the page cache, the scheduler), the
//! kernel's work (system calls, page faults), and how fast the instructions run (caches, branch
//! prediction, frequency). Callgrind serialises threads and runs the program some 50× slower.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ProcessSpec;
use crate::results::{Better, Location, MetricDesc, Unit};

/// The metric's name.
pub const METRIC: &str = "instructions";

/// Runs under valgrind per side; the median is the side's count.
pub const RUNS: usize = 3;

/// The default `instructions-noise`: counts within ±0.5% are the same.
pub const DEFAULT_TOLERANCE: f64 = 0.005;

/// The metric: a count compared exactly, up to `tolerance`, lower is better, gating.
pub fn metric(tolerance: f64) -> MetricDesc {
    MetricDesc {
        gates: true,
        compare: Location::Exact,
        label: "instructions".into(),
        column: Some("instructions".into()),
        compact: true,
        tolerance: Some(tolerance),
        ..MetricDesc::new(Unit::Count, Better::Lower)
    }
}

/// Where valgrind is, or how to get it.
pub fn find_valgrind() -> Result<PathBuf, String> {
    which::which("valgrind").map_err(|_| "valgrind was not found on PATH".to_string())
}

/// `spec` run under callgrind: the same program, arguments, environment and end event, with time
/// for callgrind's slowdown, and stderr kept for its summary. With `profile_to`, callgrind writes
/// its profile there (`--measure profile`), else nowhere.
pub fn under_callgrind(spec: &ProcessSpec, valgrind: &Path, profile_to: Option<&Path>) -> ProcessSpec {
    let mut args = vec!["--tool=callgrind".to_string()];
    match profile_to {
        Some(file) => {
            args.push(format!("--callgrind-out-file={}", file.display()));
            args.extend(super::profile::OPTIONS.iter().map(|o| o.to_string()));
        }
        None => args.push("--callgrind-out-file=/dev/null".to_string()),
    }
    args.extend(["--".to_string(), spec.program.display().to_string()]);
    args.extend(spec.args.iter().cloned());
    ProcessSpec {
        program: valgrind.to_path_buf(),
        args,
        timeout: (spec.timeout * 50).max(Duration::from_secs(60)),
        capture_stderr: true,
        cache: Default::default(),
        evict_first: None,
        ..spec.clone()
    }
}

/// The instruction count in callgrind's summary (`==123== Collected : 18126485`).
pub fn collected(stderr: &str) -> Option<u64> {
    stderr.lines().rev().find_map(|line| {
        let (_, rest) = line.split_once("Collected :")?;
        rest.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_gives_the_count_and_the_spec_wraps_the_program() {
        let stderr = "==1== Callgrind\n==1== Events    : Ir\n==1== Collected : 18126485\n==1==\n==1== I   refs:      18,126,485\n";
        assert_eq!(collected(stderr), Some(18_126_485));
        assert_eq!(collected("==1== error"), None);
        let spec = ProcessSpec {
            program: "/bin/app".into(),
            args: vec!["--x".into()],
            env: Default::default(),
            cwd: "/tmp".into(),
            readiness: crate::results::Readiness::Exit,
            timeout: Duration::from_secs(2),
            capture_stdout: false,
            capture_stderr: false,
            cache: Default::default(),
            evict_first: None,
            cpu: None,
        };
        let wrapped = under_callgrind(&spec, Path::new("/usr/bin/valgrind"), None);
        assert_eq!(wrapped.args[1..], ["--callgrind-out-file=/dev/null", "--", "/bin/app", "--x"]);
        assert!(wrapped.capture_stderr && wrapped.timeout == Duration::from_secs(100));
        let profiled = under_callgrind(&spec, Path::new("/usr/bin/valgrind"), Some(Path::new("/tmp/p/cg.out")));
        assert_eq!(profiled.args[1], "--callgrind-out-file=/tmp/p/cg.out");
        assert!(profiled.args.contains(&"--demangle=no".to_string()));
        assert_eq!(profiled.args[profiled.args.len() - 3..], ["--", "/bin/app", "--x"]);
    }
}
