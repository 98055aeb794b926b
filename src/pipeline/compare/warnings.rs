//! What a comparison warns of before it measures, and the disk its refs take.

use std::path::Path;

use super::super::store::disk_usage;
use crate::measure::bench::Bench;
use crate::measure::policy::RunCount;
use crate::results::calibration::Calibration;
use crate::results::Store;
use crate::ui::Ui;

/// Entries for definitions made on `from`, bound to `to`; `make` places the definition and its
/// binding on their sides.
/// A `PYTHONPATH` inherited from the user that points into the working tree makes both sides of
/// a comparison import the working tree's Python code: the comparison cannot see a change in it.
pub(crate) fn warn_of_shared_pythonpath(working_root: &Path, pythonpath: Option<std::ffi::OsString>, ui: &Ui) {
    let root = std::fs::canonicalize(working_root).unwrap_or_else(|_| working_root.to_path_buf());
    for entry in std::env::split_paths(&pythonpath.unwrap_or_default()) {
        let full = std::fs::canonicalize(&entry).unwrap_or(entry.clone());
        if !entry.as_os_str().is_empty() && full.starts_with(&root) {
            ui.warn(format!(
                "PYTHONPATH points into the working tree ({}): both sides of this comparison import the Python code \
                 found there, so a change in it cannot show; name the folders in the entry's `python-path` (relative \
                 to the package, resolved in each side's checkout) and unset PYTHONPATH",
                entry.display()
            ));
        }
    }
}

/// Before measuring: each benchmark whose calibration on this host (`calibrate`) says that its
/// planned run count cannot see its noise threshold, with the count that would.
pub(crate) fn warn_of_too_few_runs<'a>(store: &Store, benches: impl Iterator<Item = &'a dyn Bench>, ui: &Ui) {
    let host = crate::results::calibration::host_name();
    let Some(cal) = Calibration::load(&Calibration::path(store.dir(), &host)) else { return };
    for bench in benches {
        let id = bench.id().render();
        let Some(c) = cal.bench(&id) else { continue };
        let settings = bench.settings();
        // With a precision the runs go on until the interval is narrow enough: no count to judge.
        if settings.precision.is_some() {
            continue;
        }
        let noise = crate::stats::power::Noise {
            pairs: c.pairs,
            log_ratio_sd: c.log_ratio_sd,
            lag1: c.lag1,
            drift_per_100: c.drift_per_100,
        };
        let threshold = settings.thresholds.noise;
        let needed = noise.runs_for(threshold);
        let per_run = c.seconds / (2 * c.pairs.max(1)) as f64;
        let planned = match settings.policy.runs {
            RunCount::Exactly(n) => u64::from(n),
            RunCount::Adaptive { min_runs, min_time, max_runs } => {
                ((min_time.as_secs_f64() / per_run.max(1e-9)) as u64).clamp(u64::from(min_runs), u64::from(max_runs))
            }
            RunCount::For { min_runs, wall } => {
                ((wall.as_secs_f64() / 2.0 / per_run.max(1e-9)) as u64).max(u64::from(min_runs))
            }
        };
        if planned < needed {
            ui.warn(format!(
                "{id}: about {planned} runs per side cannot see a {:.1}% change on this host: its calibration \
                 ({}) says it takes {needed} (α = 0.05, 95% power); use `--runs {needed}` or a larger `--noise`",
                threshold * 100.0,
                cal.timestamp
            ));
        }
    }
}

/// Prints how much disk the checkouts, builds and cached files of compared refs take.
pub(crate) fn report_cache_size(store: &Store, ui: &Ui) {
    let used: u64 = ["worktrees", "build", "artifacts"].iter().map(|d| disk_usage(&store.dir().join(d))).sum();
    ui.status(
        "Cache",
        format!(
            "{} in {} for the checkouts and builds of compared refs (`cargo coldbench clean` frees it)",
            crate::units::format_bytes(used as f64),
            store.dir().display()
        ),
    );
}
