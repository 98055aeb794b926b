//! What `cargo coldbench calibrate` saves per host (`calibration/<host>.json`): each benchmark's
//! noise from interleaved A/A pairs and what comparisons of it can detect — pairs of runs for
//! start and load benchmarks, pairs of fresh processes for suite rows, whose noise then sets the
//! noise band of their later comparisons on this host ([`attach_noise`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::store::write_atomic;
use super::BenchmarkResult;

/// The schema tag of a calibration file.
pub const SCHEMA: &str = "coldbench-calibration/1";

/// A host's calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// [`SCHEMA`].
    pub schema: String,
    /// The host's name.
    pub host: String,
    /// When it was made (RFC 3339).
    pub timestamp: String,
    /// Per benchmark.
    pub benchmarks: Vec<CalibratedBench>,
}

/// One benchmark's noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedBench {
    /// Its id.
    pub id: String,
    /// The metric calibrated (the benchmark's headline).
    pub metric: String,
    /// A/A pairs measured.
    pub pairs: usize,
    /// Seconds the pairs took.
    pub seconds: f64,
    /// Standard deviation of the log ratio of a pair's runs.
    pub log_ratio_sd: f64,
    /// Lag-1 autocorrelation of the run series.
    pub lag1: f64,
    /// Drift of the level per 100 runs, as a fraction.
    pub drift_per_100: f64,
    /// The smallest change detectable (α = 0.05, 95% power), as a fraction, per run count.
    pub detectable: Vec<(u64, f64)>,
    /// The change asked about (`--detect`, else the noise threshold), as a fraction.
    pub detect: f64,
    /// Runs per side that detect it (processes per side for a suite row).
    pub runs_for_detect: u64,
    /// For a suite row: its pairs are pairs of fresh processes, each the mean of `rounds` rounds,
    /// and `detectable` counts processes per side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<SuiteCalibration>,
}

/// How a suite row was calibrated: what its comparisons must share for the calibration to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteCalibration {
    /// Measured rounds per process.
    pub rounds: u32,
    /// Whether the rounds had `--quick` sizes (shorter).
    pub quick: bool,
}

impl Calibration {
    /// Where the calibration of `host` lives in a results folder.
    pub fn path(results_dir: &Path, host: &str) -> PathBuf {
        let safe: String =
            host.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        results_dir.join("calibration").join(format!("{safe}.json"))
    }

    /// Writes it, replacing an earlier one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().expect("a file in a folder");
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        write_atomic(path, &serde_json::to_vec_pretty(self)?)
    }

    /// Reads one, or `None` when there is none or it is not a calibration this version reads.
    pub fn load(path: &Path) -> Option<Calibration> {
        let text = std::fs::read(path).ok()?;
        serde_json::from_slice::<Calibration>(&text).ok().filter(|c| c.schema == SCHEMA)
    }

    /// The calibration of benchmark `id` by pairs of runs (a start or load benchmark).
    pub fn bench(&self, id: &str) -> Option<&CalibratedBench> {
        self.benchmarks.iter().find(|b| b.id == id && b.suite.is_none())
    }
}

/// The noise band a suite row's calibration gives a comparison of `processes` processes per
/// side: the standard deviation of such a comparison's ratio between two sides of identical code
/// on this host, `σ / √processes` of the log ratio of one process pair. A change smaller than
/// what identical code typically shows is within noise.
pub fn band(log_ratio_sd: f64, processes: u32) -> f64 {
    (log_ratio_sd / f64::from(processes.max(1)).sqrt()).exp_m1()
}

/// Records in each suite row measured against several processes the noise band this host's
/// calibration gives each calibrated metric (`config.calibrated_noise`), when the calibration was
/// made with the same rounds per process and the same `--quick` sizes.
pub fn attach_noise(results_dir: &Path, results: &mut [BenchmarkResult], quick: bool) {
    let Some(cal) = Calibration::load(&Calibration::path(results_dir, &host_name())) else { return };
    for r in results.iter_mut() {
        let (Some(processes), Some(rounds)) = (r.config.processes, r.config.runs.exactly()) else { continue };
        for b in &cal.benchmarks {
            let applies = b.suite.is_some_and(|s| u64::from(s.rounds) == rounds && s.quick == quick);
            if b.id == r.id && applies {
                r.config.calibrated_noise.insert(b.metric.clone(), band(b.log_ratio_sd, processes));
            }
        }
    }
}

/// This machine's name, for the calibration's file name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
