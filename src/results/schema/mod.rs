//! The result schema (`coldbench/1`, README "Results"): plain serde types, importing nothing of the code
//! that measures, so that the file format changes only when these types do.

mod budget;
mod comparison;
mod facts;
mod history;
mod machine;
mod metric;
mod ordered;
mod profile;
mod runs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use budget::{Bound, BudgetCheck, Checked, Limit, SpeedupLimit};
pub use comparison::{
    Adjustment, Compared, Comparison, ComparisonRow, ModeShares, Multiplicity, Reference, Side, SkippedBench, Speedup,
};
pub use facts::{
    fact_metrics, Facts, ImportNode, LoaderStats, Mode, Modes, PrecisionFacts, PrecisionStop, Relocations, Residency,
    SlowImport,
};
pub use history::{
    CommitInfo, History, HistoryCommit, HistoryMark, HistorySeries, SeriesLevel, SeriesPoint, SeriesStep,
    HISTORY_SCHEMA,
};
pub use machine::{BusyProcess, MachineDrift, MachineProblem, MachineState};
pub use metric::{Better, Location, MetricDesc, Stat, Thresholds, Unit, Verdict};
pub use ordered::OrderedMap;
pub use profile::{CallNode, Folded, FunctionGroup, GroupShare, Profile, ProfiledFunction, Share};
pub use runs::RunsAsked;

/// The schema id written into, and required of, every result file.
pub const SCHEMA: &str = "coldbench/1";

/// One run of `cargo coldbench`: the whole result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDocument {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Version of cargo-coldbench that wrote it.
    pub tool_version: String,
    /// UTC time of the run, RFC 3339.
    pub timestamp: String,
    /// Repository state; `null` outside git.
    pub git: Option<GitFacts>,
    /// Machine facts.
    pub host: HostFacts,
    /// Options the run was made with.
    pub config: RunConfig,
    /// Every benchmark, in run order.
    pub benchmarks: Vec<BenchmarkResult>,
    /// The comparison with a baseline, when the run made one (with several candidates, the
    /// first candidate's: `benchmarks` are its results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// For a point of `history` or a probe of `bisect`: the commit, its anchor and the key of
    /// the settings it was measured with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryMark>,
    /// With several candidates (`--against` repeated, `diff` with several NEW files): the second
    /// and later, each compared with the same baseline as `comparison`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_candidates: Vec<Candidate>,
}

impl RunDocument {
    /// A document of this tool's schema and version.
    pub fn new(
        timestamp: String,
        git: Option<GitFacts>,
        host: HostFacts,
        config: RunConfig,
        benchmarks: Vec<BenchmarkResult>,
        comparison: Option<Comparison>,
    ) -> RunDocument {
        RunDocument {
            schema: SCHEMA.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            timestamp,
            git,
            host,
            config,
            benchmarks,
            comparison,
            history: None,
            other_candidates: Vec::new(),
        }
    }

    /// Every candidate's results with its comparison: the document's own, then the others.
    pub fn candidates(&self) -> impl Iterator<Item = (&[BenchmarkResult], Option<&Comparison>)> {
        std::iter::once((self.benchmarks.as_slice(), self.comparison.as_ref()))
            .chain(self.other_candidates.iter().map(|c| (c.benchmarks.as_slice(), Some(&c.comparison))))
    }

    /// The baseline's own results of the document's comparison (which later candidates share).
    pub fn baseline_benchmarks(&self) -> &[BenchmarkResult] {
        self.comparison.as_ref().map_or(&[], |c| c.baseline_benchmarks.as_slice())
    }
}

/// A second or later candidate of a run with several: its results and its comparison with the
/// baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The comparison; its `baseline_benchmarks` are left empty, since the baseline is the one of
    /// the document's `comparison`, which holds its results.
    pub comparison: Comparison,
    /// The candidate's results.
    pub benchmarks: Vec<BenchmarkResult>,
}

/// The state of the repository a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitFacts {
    /// Full sha of HEAD.
    pub sha: String,
    /// Current branch, `None` on a detached HEAD.
    pub branch: Option<String>,
    /// Whether tracked files differ from HEAD (as `git describe --dirty`; untracked files do not count).
    pub dirty: bool,
}

impl GitFacts {
    /// The first 7 characters of the sha.
    pub fn short_sha(&self) -> &str {
        short_sha(&self.sha)
    }
}

/// The first 7 characters of a sha, as git abbreviates it.
pub fn short_sha(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// What this machine offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Operating system and architecture (`linux x86_64`).
    pub os: String,
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// CPU frequency governor of cpu0, when readable.
    pub governor: Option<String>,
    /// `rustc --version`, when rustc can be run.
    pub rustc: Option<String>,
    /// Version of the libzmq linked into this build.
    pub libzmq: String,
    /// Whether that libzmq supports CURVE security.
    pub curve: bool,
    /// GPUs seen through NVML.
    #[serde(default)]
    pub gpus: Vec<GpuFacts>,
    /// Why `gpus` is empty (no NVIDIA driver, NVML's error); absent when GPUs were listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
    /// The libtorch the tensor suite uses (`tch`, feature `torch`); absent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch: Option<String>,
    /// The machine's state just before measuring, and what in it makes timings unsteady.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineState>,
}

/// A GPU as NVML describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuFacts {
    /// Its NVML index.
    pub index: u32,
    /// Its name (`NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Its memory in bytes.
    pub memory: u64,
    /// Free memory in bytes when the facts were taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<u64>,
    /// The driver's version.
    pub driver: String,
}

/// The run-wide effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Cargo profile the binaries were built with.
    pub profile: String,
    /// `--features` as given.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// Whether the build was skipped (`--no-build`).
    pub no_build: bool,
}

/// Outcome of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every run succeeded.
    Ok,
    /// A run crashed, exited non-zero, or timed out.
    Failed,
    /// Not run (for example: the other side of a comparison failed).
    Skipped,
}

/// The values of one metric over the runs: integers for bytes and counts, floats otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Series {
    /// Bytes or counts.
    Int(Vec<u64>),
    /// Seconds, rates, ratios.
    Float(Vec<f64>),
}

impl Series {
    /// The values as floats, for statistics.
    pub fn as_f64(&self) -> Vec<f64> {
        match self {
            Series::Int(v) => v.iter().map(|&x| x as f64).collect(),
            Series::Float(v) => v.clone(),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Series::Int(v) => v.len(),
            Series::Float(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The summary of one metric of one benchmark (README "Comparisons").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of measured runs.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// Sample standard deviation (0 for one sample).
    pub stddev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// 95% confidence interval of the mean (Student's t); `None` with fewer than two samples.
    pub ci95: Option<[f64; 2]>,
    /// 95% confidence interval of the median (percentile bootstrap); `None` with fewer than two samples.
    #[serde(default)]
    pub median_ci95: Option<[f64; 2]>,
    /// Number of outliers by modified z-score above 3.5.
    pub outliers: usize,
}

impl Summary {
    /// The value of one statistic.
    pub fn stat(&self, stat: Stat) -> f64 {
        match stat {
            Stat::Median => self.median,
            Stat::Mean => self.mean,
            Stat::Max => self.max,
            Stat::Min => self.min,
        }
    }
}

/// Percentiles of a metric's distribution over all measured runs (merged histograms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Number of recorded values.
    pub count: u64,
    /// `[percentile, value]` pairs, percentile in 0–100.
    pub percentiles: Vec<[f64; 2]>,
}

/// The end event of a process run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Readiness {
    /// The process exits (successfully).
    Exit,
    /// A line on stdout matches the regular expression.
    Stdout {
        /// The regular expression.
        pattern: String,
    },
    /// A TCP connection to the address succeeds.
    Tcp {
        /// The address.
        addr: SocketAddr,
    },
    /// The file appears (it is removed before each run).
    File {
        /// The file.
        path: PathBuf,
    },
}

impl Readiness {
    /// A short description for messages ("stdout matching `ready`").
    pub fn describe(&self) -> String {
        match self {
            Readiness::Exit => "exit".into(),
            Readiness::Stdout { pattern } => format!("a stdout line matching `{pattern}`"),
            Readiness::Tcp { addr } => format!("a TCP connection to {addr}"),
            Readiness::File { path } => format!("the file {}", path.display()),
        }
    }
}

/// The per-benchmark effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// The command line that was run: the program (as built, for a built target) and its
    /// arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Whether no configuration entry asked for this benchmark: a binary run with `--help`, or a
    /// library loaded with no symbol.
    #[serde(default)]
    pub default_entry: bool,
    /// Arguments passed.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables added.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The end event (`exit`, `stdout`, `tcp`, `file`).
    #[serde(default = "exit")]
    pub ready: Readiness,
    /// Warmup runs.
    pub warmup: u32,
    /// Measured runs: a count or a rule.
    pub runs: RunsAsked,
    /// Per-run timeout in seconds.
    pub timeout: f64,
    /// Thresholds for comparisons (so that `diff` judges with the configuration of the run).
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Fresh server or worker processes per side, each for `warmup` and `runs` (suite rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u32>,
    /// Per metric, the noise band this host's calibration (`calibrate`) gave it for this many
    /// processes: a comparison counts changes within it as within noise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calibrated_noise: BTreeMap<String, f64>,
}

fn exit() -> Readiness {
    Readiness::Exit
}

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkResult {
    /// `kind/package/name`, with `[param=value,...]` when it has parameters.
    pub id: String,
    /// What was measured: `start`, `load`, `python`, or a suite's kind.
    pub kind: String,
    /// Parameters of the benchmark, in declared order (`payload`, `clients`).
    #[serde(default, skip_serializing_if = "OrderedMap::is_empty")]
    pub params: OrderedMap<serde_json::Value>,
    /// Units of numeric parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub param_units: BTreeMap<String, Unit>,
    /// The descriptors of its metrics, in report order.
    #[serde(default, skip_serializing_if = "OrderedMap::is_empty")]
    pub metrics: OrderedMap<MetricDesc>,
    /// ok, failed or skipped.
    pub status: Status,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// More about a failure (the last lines of stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Raw values of the measured runs, per metric.
    pub samples: BTreeMap<String, Series>,
    /// Per measured run, the server or worker process it ran against (numbered from 0 in the
    /// order they ran), for a benchmark measured against several per side: the process, not the
    /// run, is the unit its comparison counts. Empty when every run is a process of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<u32>,
    /// Raw values of the warmup runs (not part of the statistics).
    #[serde(default)]
    pub warmup_samples: BTreeMap<String, Series>,
    /// Statistics per metric.
    pub summary: BTreeMap<String, Summary>,
    /// Values compared exactly (facts such as the number of mapped objects), per metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, f64>,
    /// Percentiles over all runs of metrics recorded as histograms.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distributions: BTreeMap<String, Distribution>,
    /// Values in the order they happened in the last measured run (each request's latency).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub series: BTreeMap<String, Vec<f64>>,
    /// The comparison with the benchmark it is measured against in the same run (a user's server
    /// against the built-in one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// Facts about the target.
    pub facts: Facts,
    /// Budget checks.
    pub budget: Vec<BudgetCheck>,
    /// Warnings about the quality of the samples.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The configuration it ran with.
    pub config: BenchConfig,
}

impl BenchmarkResult {
    /// Whether a budget was exceeded.
    pub fn over_budget(&self) -> bool {
        self.budget.iter().any(|b| !b.ok)
    }

    /// The headline metric: the first declared one that is measured per run.
    pub fn headline(&self) -> Option<(&str, &MetricDesc)> {
        self.metrics.iter().find(|(_, m)| m.compare != Location::Exact)
    }

    /// The id without parameters: `kind/package/name`, which groups parameterised rows.
    pub fn group(&self) -> &str {
        self.id.split_once('[').map_or(self.id.as_str(), |(g, _)| g)
    }
}
