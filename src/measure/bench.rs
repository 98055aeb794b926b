//! The seam every benchmark kind implements: [`Bench`]. The scheduler, the assembly of results,
//! comparisons and every report work on any `Bench` without naming a kind; a kind is a folder
//! under `measure/` (or `suites/`) with one `impl Bench`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::build::stage::Staged;
use crate::build::ArtifactRef;
use crate::measure::policy::RunPolicy;
use crate::measure::process::RunnerSlot;
use crate::results::{BudgetCheck, Facts, Limit, MetricDesc, OrderedMap, Readiness, Thresholds, Unit};

/// A metric's name: static for the metrics a kind declares, owned for names read at run time.
pub type MetricName = Cow<'static, str>;

/// The value of a benchmark parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A number (a payload size in bytes, a client count).
    Number(f64),
    /// A word (a pattern, a transport).
    Text(String),
}

/// One parameter of a benchmark: payload = 64 B, clients = 10.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: ParamValue,
    /// The unit of a number (bytes, a count), for display.
    pub unit: Option<Unit>,
}

impl Param {
    /// The value for people: `64 B`, `10`, `req-rep`.
    pub fn display(&self) -> String {
        match (&self.value, self.unit) {
            (ParamValue::Text(t), _) => t.clone(),
            (ParamValue::Number(n), Some(Unit::Bytes)) => crate::units::format_size(*n),
            (ParamValue::Number(n), _) if n.fract() == 0.0 => format!("{n:.0}"),
            (ParamValue::Number(n), _) => n.to_string(),
        }
    }

    /// The value as JSON (a number or a string).
    pub fn json(&self) -> serde_json::Value {
        match &self.value {
            ParamValue::Text(t) => t.clone().into(),
            ParamValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => (*n as i64).into(),
            ParamValue::Number(n) => (*n).into(),
        }
    }
}

/// Who a benchmark is: `kind/package/name`, plus ordered parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchId {
    /// The kind (`start`, `load`, `python`, a suite).
    pub kind: &'static str,
    /// The package whose configuration defines it.
    pub package: String,
    /// Its name within the package.
    pub name: String,
    /// Its parameters, in order.
    pub params: Vec<Param>,
}

impl BenchId {
    /// An id without parameters.
    pub fn new(kind: &'static str, package: &str, name: &str) -> BenchId {
        BenchId { kind, package: package.to_string(), name: name.to_string(), params: Vec::new() }
    }

    /// The id as written in results: `kind/package/name`, or `kind/package/name[payload=64 B,clients=10]`.
    pub fn render(&self) -> String {
        let base = format!("{}/{}/{}", self.kind, self.package, self.name);
        if self.params.is_empty() {
            return base;
        }
        let params: Vec<String> = self.params.iter().map(|p| format!("{}={}", p.name, p.display())).collect();
        format!("{base}[{}]", params.join(","))
    }
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// How long the run took: what the adaptive run count adds up.
    pub elapsed: Duration,
    /// A value per metric, by name.
    pub values: Vec<(MetricName, f64)>,
    /// Durations recorded one by one (request latencies), in nanoseconds, per metric; their
    /// percentiles become the metrics `<name>_p50` … `<name>_max` (see [`percentile_metrics`]).
    pub histograms: Vec<(MetricName, hdrhistogram::Histogram<u64>)>,
    /// Values in the order they happened (the latency of each of 10 000 requests), kept from the
    /// last measured run for reports to draw.
    pub series: Vec<(MetricName, Vec<f64>)>,
}

/// Why a benchmark cannot go on, the one error of the [`Bench`] seam: a run that failed (which
/// ends its benchmark), a preparation that failed, a definition that cannot move to the other side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RunFailure {
    /// One line: "killed by signal 6 (SIGABRT)", "timed out after 3s".
    pub reason: String,
    /// More context, such as the last lines of stderr.
    pub detail: Option<String>,
}

impl RunFailure {
    /// A failure with a reason only.
    pub fn new(reason: impl Into<String>) -> RunFailure {
        RunFailure { reason: reason.into(), detail: None }
    }

    /// A failure with a reason and the context to show under it (the end of a command's output).
    pub fn with_detail(reason: impl Into<String>, detail: impl Into<String>) -> RunFailure {
        RunFailure { reason: reason.into(), detail: Some(detail.into()) }
    }
}

/// The helpers below the seam say why in a sentence; `?` makes it the reason.
impl From<String> for RunFailure {
    fn from(reason: String) -> RunFailure {
        RunFailure::new(reason)
    }
}

impl From<&str> for RunFailure {
    fn from(reason: &str) -> RunFailure {
        RunFailure::new(reason)
    }
}

/// What is common to every benchmark: how it runs and is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Warmups and run count.
    pub policy: RunPolicy,
    /// Thresholds for comparisons.
    pub thresholds: Thresholds,
    /// Budget limits.
    pub limits: Vec<Limit>,
    /// Per-run timeout.
    pub timeout: Duration,
    /// Whether no configuration entry asked for it (a binary run with `--help`).
    pub default_entry: bool,
    /// `--precision`: two sides run until their headline is this precise (or time is up).
    pub precision: Option<Precision>,
    /// How many fresh processes (a suite row's server or worker) each side runs against, each for
    /// the policy's warmups and runs (see [`crate::measure::replicated`]); 1 for kinds whose every
    /// run is a process of its own.
    pub processes: u32,
}

/// What a benchmark is measured against in the same run, and what that comparison decides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReferenceSpec {
    /// The rendered id of the reference.
    pub id: String,
    /// A head-to-head (a start against another implementation of it): the result gets speedups
    /// and `min_speedup` is checked with the budget. Otherwise the rows only explain.
    pub head_to_head: bool,
    /// The speedups over the reference it must keep (`min-speedup`), for a head-to-head.
    pub min_speedup: Vec<crate::results::SpeedupLimit>,
}

impl ReferenceSpec {
    /// A reference whose rows only explain (a user's server against the built-in one).
    pub fn explaining(id: String) -> ReferenceSpec {
        ReferenceSpec { id, head_to_head: false, min_speedup: Vec::new() }
    }
}

/// How precise a comparison must be before it stops (`--precision`, `precision = "1%"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Precision {
    /// The half-width of the ratio's interval to reach, as a fraction.
    pub within: f64,
    /// When to stop anyway, per benchmark (`--max-time`).
    pub max_time: Duration,
}

/// How a benchmark ran, as echoed in its results.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    /// The command line (program as built, and arguments); empty when there is none.
    pub command: Vec<String>,
    /// Arguments passed.
    pub args: Vec<String>,
    /// Environment added.
    pub env: BTreeMap<String, String>,
    /// The end event of a run.
    pub ready: Readiness,
}

impl Default for Described {
    fn default() -> Self {
        Described { command: Vec::new(), args: Vec::new(), env: BTreeMap::new(), ready: Readiness::Exit }
    }
}

/// What a benchmark knows about itself outside the timed runs.
#[derive(Debug, Clone, Default)]
pub struct FactsReport {
    /// Facts for the report.
    pub facts: Facts,
    /// Values compared exactly between two sides, per metric declared with `compare: exact`.
    pub values: Vec<(MetricName, f64)>,
    /// Checks the kind makes itself (a forbidden object that is loaded), beside the budget limits.
    pub checks: Vec<BudgetCheck>,
    /// Warnings the kind has (a server whose memory kept growing).
    pub warnings: Vec<String>,
}

/// The other side of a comparison, for moving a benchmark definition there: its packages by
/// name, and the workspace roots to move paths between.
#[derive(Debug, Clone, Default)]
pub struct SideMap {
    /// Per package: its folder, binaries and `cdylib`/`dylib` targets on the other side.
    pub packages: BTreeMap<String, PackageSide>,
    /// The workspace root the definitions were made in.
    pub from_root: PathBuf,
    /// The target directory there (build outputs are not moved).
    pub from_target_dir: PathBuf,
    /// The workspace root of the other side.
    pub to_root: PathBuf,
    /// Completes a reason: "at v10.2.0", "in the working tree".
    pub at: String,
}

/// A package as one side of a comparison has it.
#[derive(Debug, Clone, Default)]
pub struct PackageSide {
    /// Its folder.
    pub dir: PathBuf,
    /// Its binary targets.
    pub bins: Vec<String>,
    /// Its `cdylib`/`dylib` targets.
    pub libs: Vec<String>,
}

impl SideMap {
    /// The package, or why it is not there.
    pub fn package(&self, name: &str) -> Result<&PackageSide, String> {
        self.packages.get(name).ok_or_else(|| format!("package `{name}` does not exist {}", self.at))
    }

    /// A path of the workspace as the other side has it, when it has it: a script of the
    /// workspace runs from that side's checkout; anything else (an interpreter, a virtualenv,
    /// a build output) is shared by both sides.
    pub fn reroot(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.from_root)
            .ok()
            .filter(|_| !path.starts_with(&self.from_target_dir))
            .map(|rel| self.to_root.join(rel))
            .filter(|moved| moved.exists())
            .unwrap_or_else(|| path.to_path_buf())
    }
}

/// One side: its benchmark and its built files.
pub type SideRef<'a> = (&'a mut dyn Bench, &'a Staged);

/// What a benchmark gets to prepare its runs: the side's built files (fresh copies) and the
/// resources the sides of one comparison share.
pub struct PrepareEnv<'a> {
    /// This side's built files.
    pub staged: &'a Staged,
    /// This executable (`cargo-coldbench`), which serves the roles, the load helper and, where no
    /// runner binary sits beside it, the runner.
    pub self_exe: &'a Path,
    /// The runner process the sides share (one peak-RSS floor for both).
    pub runner: &'a RunnerSlot,
    /// Where slow preparation (a Python environment made) is told.
    pub progress: &'a dyn crate::measure::policy::Progress,
}

/// One benchmark that can be run repeatedly.
pub trait Bench {
    /// Who it is.
    fn id(&self) -> &BenchId;

    /// Its metric descriptors, in report order; the first measured one is the headline.
    fn metrics(&self) -> OrderedMap<MetricDesc>;

    /// How it runs and is judged.
    fn settings(&self) -> &Settings;

    /// How it runs, as echoed in results.
    fn described(&self) -> Described {
        Described::default()
    }

    /// Lines shown under its id by `suite --list`: what one run sends and expects (a ZeroMQ row's
    /// request frames, by size).
    fn listing(&self) -> Vec<String> {
        Vec::new()
    }

    /// The built targets it needs.
    fn needs(&self) -> Vec<ArtifactRef> {
        Vec::new()
    }

    /// The scenario group it belongs to (`--scenario`, `suite --list`), for a suite's row.
    fn group(&self) -> Option<&'static str> {
        None
    }

    /// Whether what it measures imports Python code found through `PYTHONPATH`: a comparison
    /// warns when that points into the working tree, where both sides would import the same code.
    fn reads_pythonpath(&self) -> bool {
        false
    }

    /// Why it cannot run here at all (CURVE without a libzmq that has it, a GPU row without a
    /// GPU); it is then a *skipped* result with this reason, and nothing is prepared. Asked again
    /// after `prepare`, which may learn it (a user's RPC worker without a built-in method); a
    /// bench that skips itself there has already let go of what it started.
    fn skip(&self) -> Option<String> {
        None
    }

    /// The benchmark it is compared with in the same run (the built-in server a user's server is
    /// measured against, the implementation a rewrite races); the two run interleaved and the
    /// result says by how much they differ.
    fn reference(&self) -> Option<ReferenceSpec> {
        None
    }

    /// The same definition on the other side of a comparison, or why it cannot run there.
    fn rebind(&self, _other: &SideMap) -> Result<Box<dyn Bench>, RunFailure> {
        Err(format!("{} cannot be moved to the other side", self.id().render()).into())
    }

    /// Gets ready to run (outside timing); an error fails the benchmark.
    fn prepare(&mut self, _env: &PrepareEnv) -> Result<(), RunFailure> {
        Ok(())
    }

    /// Facts taken outside the timed runs.
    fn facts(&mut self) -> FactsReport {
        FactsReport::default()
    }

    /// The scheduler's promise: each of the next `rounds` rounds calls [`Bench::run`] once on
    /// every side it was made to, in the order it was made (unless a run fails or time runs
    /// out first). A kind that starts processes passes it on to the runner, which then makes those
    /// runs back to back without waiting on this process between them (docs/ARCHITECTURE.md,
    /// "The runner"); others need not listen.
    fn expect_rounds(&mut self, _rounds: u32) {}

    /// Runs once.
    fn run(&mut self) -> Result<Observation, RunFailure>;

    /// Called after the last run: stops what `prepare` started, and adds to the report what the
    /// runs taught (how much of an evicted file stayed resident, a server's memory growth).
    fn teardown(&mut self, _report: &mut FactsReport) {}
}

/// Suffixes and quantiles of the metrics derived from a histogram.
pub const PERCENTILES: [(&str, f64); 5] = [("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("p99_9", 0.999), ("max", 1.0)];

/// The descriptors of the percentile metrics of a latency histogram named `name`: lower is better,
/// in seconds; `gates` for the ones that can fail the gate.
pub fn percentile_metrics(name: &str, label: &str, gates: bool) -> Vec<(String, MetricDesc)> {
    PERCENTILES
        .iter()
        .map(|(suffix, _)| {
            let desc = MetricDesc {
                gates,
                label: format!("{label} {}", suffix.replace('_', ".")),
                ..MetricDesc::new(Unit::Seconds, crate::results::Better::Lower)
            };
            (format!("{name}_{suffix}"), desc)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_with_their_parameters_in_order() {
        let mut id = BenchId::new("zmq", "svc", "throughput");
        assert_eq!(id.render(), "zmq/svc/throughput");
        id.params.push(Param { name: "payload".into(), value: ParamValue::Number(65536.0), unit: Some(Unit::Bytes) });
        id.params.push(Param { name: "clients".into(), value: ParamValue::Number(10.0), unit: Some(Unit::Count) });
        id.params.push(Param { name: "pattern".into(), value: ParamValue::Text("req-rep".into()), unit: None });
        assert_eq!(id.render(), "zmq/svc/throughput[payload=64 KiB,clients=10,pattern=req-rep]");
        assert_eq!(id.params[0].json(), serde_json::json!(65536));
    }

    #[test]
    fn percentile_metrics_are_latencies() {
        let m = percentile_metrics("latency", "latency", true);
        let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["latency_p50", "latency_p95", "latency_p99", "latency_p99_9", "latency_max"]);
        assert!(m.iter().all(|(_, d)| d.better == crate::results::Better::Lower && d.unit == Unit::Seconds));
        assert_eq!(m[3].1.label, "latency p99.9");
    }
}
