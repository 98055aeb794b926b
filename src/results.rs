//! The result schema (`coldbench/1`, DESIGN §9) and its storage under `target/coldbench/`.
//!
//! Writes are atomic (a temporary file renamed into place) and a lock file keeps two runs from
//! measuring and writing at the same time.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::budget::BudgetCheck;
use crate::git::GitFacts;
use crate::host::HostFacts;
use crate::stats::Summary;

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
    /// The comparison with a baseline, when the run made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// What the user named (`main`, `working tree`, `baseline nightly`, a file).
    pub label: String,
    /// The commit, when known.
    pub sha: Option<String>,
    /// Whether it had uncommitted changes.
    #[serde(default)]
    pub dirty: bool,
}

impl Side {
    /// `label (sha), dirty`, with the short sha between `mark`s (a backtick for Markdown).
    pub fn describe(&self, mark: &str) -> String {
        let sha = self.sha.as_deref().map(|s| format!(" ({mark}{}{mark})", crate::git::short(s))).unwrap_or_default();
        format!("{}{sha}{}", self.label, if self.dirty { ", dirty" } else { "" })
    }
}

/// A comparison of two sides, per benchmark and metric (DESIGN §5, §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The side compared against.
    pub baseline: Side,
    /// The side being judged (the benchmarks of this document).
    pub candidate: Side,
    /// Whether the two sides ran interleaved in one session (false for `diff` and saved baselines).
    pub interleaved: bool,
    /// One row per benchmark and metric.
    pub rows: Vec<ComparisonRow>,
    /// Benchmarks only the candidate has.
    #[serde(default)]
    pub added: Vec<String>,
    /// Benchmarks only the baseline has.
    #[serde(default)]
    pub removed: Vec<String>,
    /// The baseline side's own results.
    #[serde(default)]
    pub baseline_benchmarks: Vec<BenchmarkResult>,
    /// Benchmarks that one side could not run (its binary or library does not exist there), so
    /// they were not compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedBench>,
}

/// A benchmark of a comparison that one side could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedBench {
    /// Benchmark id.
    pub id: String,
    /// `baseline` or `candidate`: the side that lacks it.
    pub side: String,
    /// Why: "bin `fd` does not exist at v10.2.0".
    pub reason: String,
}

/// The comparison of one metric (or of the status) of one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// Benchmark id.
    pub id: String,
    /// Metric name, or `status` for a benchmark that failed on one side.
    pub metric: String,
    /// Which location was compared: `median` or `mean` (`None` for exact facts and status rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Baseline value at that location.
    pub baseline: Option<f64>,
    /// Candidate value at that location.
    pub candidate: Option<f64>,
    /// Candidate / baseline at that location.
    pub ratio: Option<f64>,
    /// Bootstrap 95% CI of `ratio`.
    pub ci95: Option<[f64; 2]>,
    /// Candidate mean / baseline mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_of_means: Option<f64>,
    /// Bootstrap 95% CI of the ratio of means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_of_means_ci95: Option<[f64; 2]>,
    /// The p-value the verdict used: Mann-Whitney's for medians, Welch's for means (see `test`).
    pub p_value: Option<f64>,
    /// The test that gave `p_value`: `mann_whitney` or `welch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// Welch's t-test p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welch_p: Option<f64>,
    /// Mann-Whitney U p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mann_whitney_p: Option<f64>,
    /// The verdict.
    pub verdict: crate::compare::Verdict,
    /// Whether this row can fail the gate (`wall` and `status`; the others explain).
    pub gating: bool,
    /// Explanation for rows without statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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

/// The kind of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Process start.
    Start,
    /// Library load.
    Load,
    /// Python import.
    Python,
}

impl Kind {
    /// `start`, `load`, `python`: the first part of a benchmark id.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Load => "load",
            Kind::Python => "python",
        }
    }
}

/// Outcome of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every run completed.
    Ok,
    /// A run crashed, exited non-zero or timed out.
    Failed,
    /// Not run (the reason says why).
    Skipped,
}

/// The values of one metric over the runs: integers for bytes and counts, floats for seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Series {
    /// Bytes or counts.
    Int(Vec<u64>),
    /// Seconds.
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

/// Facts about what was measured, outside the timed runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The executable that was started (for a built target: the file cargo wrote; what ran was
    /// a fresh copy of it, see `run_copy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The library that was loaded (load benchmarks), named as for `program`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// The fresh copy of the built file that was actually spawned or loaded (and evicted); it is
    /// removed after the run. Copies are what is measured so that both sides of a comparison run
    /// files written the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_copy: Option<String>,
    /// Size of the executable (or library) in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_bytes: Option<u64>,
    /// Shared objects mapped at the end event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped_objects: Option<Vec<String>>,
    /// How many shared objects were mapped at the end event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped_libs: Option<u64>,
    /// Mapped shared objects that `forbid-loaded` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden_loaded: Option<Vec<String>>,
    /// Threads alive at the end event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u64>,
    /// `DT_NEEDED` entries of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed: Option<Vec<String>>,
    /// Dynamic relocation counts of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relocations: Option<Relocations>,
    /// Whether the file has no symbol table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripped: Option<bool>,
    /// glibc's loader statistics of one start under `LD_DEBUG=statistics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader: Option<crate::measure::facts::LoaderStats>,
    /// Modules a Python import pulled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_modules: Option<u64>,
    /// Imported modules that `forbid-imported` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden_imported: Option<Vec<String>>,
    /// With a cold cache: per file, the largest resident fraction seen right after eviction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Vec<crate::measure::cache::Residency>>,
    /// Facts that could not be collected, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Dynamic relocations of an ELF file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Relocations {
    /// Relative relocations (no symbol lookup).
    pub relative: u64,
    /// Relocations that need a symbol lookup.
    pub symbolic: u64,
    /// PLT relocations.
    pub plt: u64,
}

impl ComparisonRow {
    /// The p-value the verdict used. Files written before rows named their test held Welch's
    /// p in `p_value` and judged medians by Mann-Whitney's.
    pub fn deciding_p(&self) -> Option<f64> {
        match (&self.test, self.location()) {
            (Some(_), _) | (None, Some("mean")) => self.p_value,
            (None, _) => self.mann_whitney_p.or(self.p_value),
        }
    }

    /// The location compared: `median` or `mean`, or `None` for exact facts and status rows.
    pub fn location(&self) -> Option<&str> {
        match &self.location {
            Some(l) => Some(l),
            None if self.metric == "status" || self.metric.starts_with("facts.") => None,
            None if crate::comparison::MEAN_METRICS.contains(&self.metric.as_str()) => Some("mean"),
            None => Some("median"),
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
    pub args: Vec<String>,
    /// Environment variables added.
    pub env: BTreeMap<String, String>,
    /// The end event (`exit`, `stdout`, `tcp`, `file`).
    pub ready: crate::measure::process::Readiness,
    /// Warmup runs.
    pub warmup: u32,
    /// Measured runs: a number, or `"adaptive"` (at least 10 runs and 3 s).
    pub runs: serde_json::Value,
    /// Per-run timeout in seconds.
    pub timeout: f64,
    /// Thresholds for comparisons (so that `diff` judges with the configuration of the run).
    #[serde(default = "default_thresholds")]
    pub thresholds: crate::compare::Thresholds,
}

fn default_thresholds() -> crate::compare::Thresholds {
    crate::compare::Thresholds::DEFAULT
}

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkResult {
    /// `kind/package/name`.
    pub id: String,
    /// What was measured.
    pub kind: Kind,
    /// ok, failed or skipped.
    pub status: Status,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// More about a failure (the last lines of stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Raw values of the measured runs, per metric.
    pub samples: BTreeMap<String, Series>,
    /// Raw values of the warmup runs (not part of the statistics).
    #[serde(default)]
    pub warmup_samples: BTreeMap<String, Series>,
    /// Statistics per metric.
    pub summary: BTreeMap<String, Summary>,
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
}

/// Reads a result file, refusing other schemas with a message that says what to do.
pub fn read(path: &Path) -> Result<RunDocument> {
    let text = fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a coldbench result (not JSON)", path.display()))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => bail!(
            "{} has schema `{other}`, but this cargo-coldbench ({}) reads only `{SCHEMA}`; \
             use the cargo-coldbench version that wrote it",
            path.display(),
            env!("CARGO_PKG_VERSION")
        ),
        None => bail!("{} is not a coldbench result (no \"schema\" field)", path.display()),
    }
    serde_json::from_value(value).with_context(|| format!("{} is a damaged coldbench result", path.display()))
}

/// The results folder: `target/coldbench/` unless `--output-dir` says otherwise.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Held while a run measures and writes; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// A store rooted at `dir` (created on first lock).
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `latest.json`.
    pub fn latest(&self) -> PathBuf {
        self.dir.join("latest.json")
    }

    /// Takes the lock, waiting (and saying so) while another run holds it.
    pub fn lock(&self, on_wait: impl FnOnce(&Path)) -> Result<StoreLock> {
        fs::create_dir_all(&self.dir).with_context(|| format!("could not create {}", self.dir.display()))?;
        let path = self.dir.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("could not open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                on_wait(&path);
                file.lock().with_context(|| format!("could not lock {}", path.display()))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("could not lock {}", path.display()));
            }
        }
        let lock = StoreLock { _file: file };
        self.sweep_leftovers(&lock);
        Ok(lock)
    }

    /// Removes what an interrupted run left behind: copies of measured files under `stage/`, and
    /// half-written artifact caches (`artifacts/<sha>.XXXXXX`). Only the lock holder may, since
    /// another run uses both while it runs.
    fn sweep_leftovers(&self, _lock: &StoreLock) {
        if let Ok(entries) = fs::read_dir(self.dir.join(crate::stage::STAGE_DIR)) {
            for entry in entries.flatten() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        if let Ok(entries) = fs::read_dir(self.dir.join("artifacts")) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let half_written = name
                    .split_once('.')
                    .is_some_and(|(sha, _)| sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
                if half_written {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
    }

    /// Saves a run under `runs/` (never overwriting) and as `latest.json`; returns the `runs/` path.
    pub fn save_run(&self, doc: &RunDocument, _lock: &StoreLock) -> Result<PathBuf> {
        let runs = self.dir.join("runs");
        fs::create_dir_all(&runs).with_context(|| format!("could not create {}", runs.display()))?;
        let json = serde_json::to_vec_pretty(doc).context("serialising the result")?;
        let stem = run_file_stem(doc);
        let mut attempt = 1;
        let path = loop {
            let name = if attempt == 1 { format!("{stem}.json") } else { format!("{stem}-{attempt}.json") };
            let path = runs.join(name);
            match write_new(&runs, &path, &json) {
                Ok(()) => break path,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(e).with_context(|| format!("could not write {}", path.display())),
            }
        };
        write_atomic(&self.latest(), &json)?;
        Ok(path)
    }
}

impl Store {
    fn baselines_dir(&self) -> PathBuf {
        self.dir.join("baselines")
    }

    /// Saves a document as the baseline `name`, replacing an older one of that name.
    pub fn save_baseline(&self, name: &str, doc: &RunDocument) -> Result<PathBuf> {
        check_baseline_name(name)?;
        let dir = self.baselines_dir();
        fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
        let path = dir.join(format!("{name}.json"));
        write_atomic(&path, &serde_json::to_vec_pretty(doc)?)?;
        Ok(path)
    }

    /// Reads the baseline `name`.
    pub fn load_baseline(&self, name: &str) -> Result<RunDocument> {
        check_baseline_name(name)?;
        let path = self.baselines_dir().join(format!("{name}.json"));
        if !path.exists() {
            return Err(crate::error::UserError::UnknownBaseline {
                name: name.to_string(),
                available: self.list_baselines()?,
            }
            .into());
        }
        read(&path)
    }

    /// Names of the saved baselines, sorted.
    pub fn list_baselines(&self) -> Result<Vec<String>> {
        let dir = self.baselines_dir();
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Removes the baseline `name`.
    pub fn remove_baseline(&self, name: &str) -> Result<()> {
        check_baseline_name(name)?;
        let path = self.baselines_dir().join(format!("{name}.json"));
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(crate::error::UserError::UnknownBaseline {
                name: name.to_string(),
                available: self.list_baselines()?,
            }
            .into()),
            Err(e) => Err(e).with_context(|| format!("could not remove {}", path.display())),
        }
    }
}

fn check_baseline_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(crate::error::UserError::Invalid(format!(
            "`{name}` is not a usable baseline name: use letters, digits, `-`, `_` and `.`"
        ))
        .into());
    }
    Ok(())
}

/// `20261122T100000Z-abc1234-dirty`.
fn run_file_stem(doc: &RunDocument) -> String {
    let ts: String = doc.timestamp.chars().filter(|c| *c != '-' && *c != ':').collect();
    match &doc.git {
        Some(g) if g.dirty => format!("{ts}-{}-dirty", g.short_sha()),
        Some(g) => format!("{ts}-{}", g.short_sha()),
        None => ts,
    }
}

fn write_new(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map(|_| ()).map_err(|e| e.error)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("could not write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(dirty: bool) -> RunDocument {
        RunDocument {
            schema: SCHEMA.into(),
            tool_version: "0.1.0".into(),
            timestamp: "2026-11-22T10:00:00Z".into(),
            git: Some(GitFacts { sha: "0123456789abcdef".into(), branch: Some("main".into()), dirty }),
            host: crate::host::HostFacts {
                kernel: "6".into(),
                os: "linux x86_64".into(),
                cpu: "cpu".into(),
                cores: 2,
                governor: None,
                rustc: None,
                libzmq: "4.3.5".into(),
                curve: false,
                gpus: vec![],
            },
            config: RunConfig {
                profile: "release".into(),
                features: vec![],
                all_features: false,
                no_default_features: false,
                no_build: false,
            },
            benchmarks: vec![],
            comparison: None,
        }
    }

    #[test]
    fn run_files_are_named_by_time_and_sha_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("coldbench"));
        let lock = store.lock(|_| {}).unwrap();
        let first = store.save_run(&doc(true), &lock).unwrap();
        let second = store.save_run(&doc(true), &lock).unwrap();
        assert_eq!(first.file_name().unwrap(), "20261122T100000Z-0123456-dirty.json");
        assert_eq!(second.file_name().unwrap(), "20261122T100000Z-0123456-dirty-2.json");
        assert_eq!(read(&store.latest()).unwrap(), doc(true));
    }

    #[test]
    fn other_schemas_and_non_json_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(&path, r#"{"schema":"coldbench/2"}"#).unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("has schema `coldbench/2`"));
        fs::write(&path, "not json").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("not JSON"));
    }

    #[test]
    fn integer_series_stay_integers() {
        let json = serde_json::to_string(&Series::Int(vec![1, 2])).unwrap();
        assert_eq!(json, "[1,2]");
        let back: Series = serde_json::from_str("[0.5,1.0]").unwrap();
        assert_eq!(back, Series::Float(vec![0.5, 1.0]));
    }

    #[test]
    fn baselines_are_saved_listed_and_removed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        store.save_baseline("main", &doc(false)).unwrap();
        store.save_baseline("v1.2", &doc(true)).unwrap();
        assert_eq!(store.list_baselines().unwrap(), ["main", "v1.2"]);
        assert_eq!(store.load_baseline("v1.2").unwrap(), doc(true));
        store.remove_baseline("main").unwrap();
        let err = store.load_baseline("main").unwrap_err();
        assert!(err.to_string().contains("no saved baseline named `main`"), "{err}");
        assert!(store.save_baseline("../escape", &doc(false)).is_err());
    }

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        let held = store.lock(|_| {}).unwrap();
        let store2 = store.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _lock = store2.lock(|_| tx.send("waiting").unwrap()).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), "waiting");
        drop(held);
        t.join().unwrap();
    }
}
