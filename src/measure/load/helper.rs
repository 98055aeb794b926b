//! The load helper: a hidden subcommand of this binary, run as a fresh process per measurement,
//! that `dlopen`s a library and optionally calls an init symbol, timing both from inside.
//!
//! Without arguments it does nothing and exits: that is the "empty helper" run whose time is
//! subtracted from the process time.

use std::ffi::OsString;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The hidden subcommand.
pub const LOAD_HELPER_ARG: &str = "__coldbench-load";

/// What the helper prints on stdout (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Seconds spent in `dlopen`.
    pub load: Option<f64>,
    /// Seconds spent in the init symbol, when one was called.
    pub init: Option<f64>,
    /// Why loading or the symbol failed.
    pub error: Option<String>,
    /// In the facts run: the shared objects that loading added to the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped: Option<Vec<String>>,
}

impl LoadReport {
    /// The report in the helper's stdout: its last line (a library may print before it).
    pub fn from_stdout(stdout: Option<&str>) -> Option<LoadReport> {
        stdout?.lines().rev().find(|l| !l.trim().is_empty()).and_then(|l| serde_json::from_str(l.trim()).ok())
    }
}

/// Exit status of the helper when loading failed.
pub const LOAD_FAILED: u8 = 3;

/// Runs the helper with the arguments after the subcommand; returns the exit status. The report
/// is the last line of stdout, after anything the library itself printed.
pub fn helper_main(args: &[OsString]) -> u8 {
    let Some(path) = args.first() else { return 0 };
    let report = load(path, args.get(1));
    let failed = report.error.is_some();
    println!("{}", serde_json::to_string(&report).expect("serialisable"));
    if failed {
        LOAD_FAILED
    } else {
        0
    }
}

fn load(path: &OsString, symbol: Option<&OsString>) -> LoadReport {
    let facts_run = std::env::var_os(crate::measure::process::FACTS_RUN_ENV).is_some();
    let before = facts_run.then(self_mapped);
    let mut report = load_and_init(path, symbol);
    if let Some(before) = before {
        report.mapped = Some(self_mapped().into_iter().filter(|o| !before.contains(o)).collect());
    }
    report
}

fn self_mapped() -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    crate::measure::process::maps::mapped_objects(&maps, None)
}

fn load_and_init(path: &OsString, symbol: Option<&OsString>) -> LoadReport {
    use crate::sys::dl::{Library, RTLD_LOCAL, RTLD_NOW};
    let start = Instant::now();
    // Loading runs the library's initialisers: measuring that is the point, and this process
    // exists only to do it. The library is never unloaded: the facts run reads what it mapped
    // after this returns, and the process exits right after.
    let lib = match Library::open(path, RTLD_NOW | RTLD_LOCAL) {
        Ok(lib) => lib,
        Err(e) => {
            // libloading keeps the loader's own message (dlerror) as the error's source.
            let detail = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.to_string());
            return LoadReport { load: None, init: None, error: Some(detail), mapped: None };
        }
    };
    let load = start.elapsed().as_secs_f64();
    let Some(symbol) = symbol else {
        return LoadReport { load: Some(load), init: None, error: None, mapped: None };
    };
    let name = symbol.to_string_lossy().into_owned();
    // The configuration declares the symbol an `extern "C" fn()`.
    let init = match lib.init_symbol(&name) {
        Ok(f) => f,
        Err(_) => {
            return LoadReport {
                load: Some(load),
                init: None,
                error: Some(format!("symbol `{name}` is not exported by the library")),
                mapped: None,
            }
        }
    };
    let start = Instant::now();
    init.call();
    let init = start.elapsed().as_secs_f64();
    LoadReport { load: Some(load), init: Some(init), error: None, mapped: None }
}
