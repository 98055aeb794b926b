//! Facts about what was measured, taken outside the timed runs: plain data, as written to results.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The names under which the process kinds also report some [`Facts`] as metrics (a count that a
/// budget can limit and a comparison can show), each declared once: `facts.` and the field.
pub mod fact_metrics {
    /// [`super::Facts::mapped_libs`].
    pub const MAPPED_LIBS: &str = "facts.mapped_libs";
    /// [`super::Facts::binary_bytes`].
    pub const BINARY_BYTES: &str = "facts.binary_bytes";
    /// The relocations of [`super::Facts::relocations`], all kinds together.
    pub const RELOCATIONS: &str = "facts.relocations";
    /// [`super::Facts::imported_modules`].
    pub const IMPORTED_MODULES: &str = "facts.imported_modules";
    /// How many of [`super::Facts::forbidden_loaded`].
    pub const FORBIDDEN_LOADED: &str = "facts.forbidden_loaded";
    /// How many of [`super::Facts::forbidden_imported`].
    pub const FORBIDDEN_IMPORTED: &str = "facts.forbidden_imported";
    /// What every one of these names starts with.
    pub const PREFIX: &str = "facts.";
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
    pub loader: Option<LoaderStats>,
    /// Modules a Python import pulled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_modules: Option<u64>,
    /// Imported modules that `forbid-imported` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden_imported: Option<Vec<String>>,
    /// Per module that `watch-imported` or `forbid-imported` names: whether the import loaded it
    /// (or one of its submodules), so that a comparison can say which became lazy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watched_imports: Option<BTreeMap<String, bool>>,
    /// The import tree of one representative run of a Python import (the run whose import time
    /// was the median), as `-X importtime` reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_tree: Option<Vec<ImportNode>>,
    /// The slowest imports of that run by cumulative time (`--top`), the measured module aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowest_imports: Option<Vec<SlowImport>>,
    /// `--measure profile`: instructions by function of the callgrind run whose count was the
    /// median, with their objects, crates and groups, and the call tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<super::profile::Profile>,
    /// With a cold cache: per file, the largest resident fraction seen right after eviction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Vec<Residency>>,
    /// The modes of the headline metric's runs, when it has two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<Modes>,
    /// How a run to a precision (`--precision`) ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionFacts>,
    /// With two sides interleaved: how the machine's load and steal changed between the first
    /// and the second half of the pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_drift: Option<super::MachineDrift>,
    /// Facts that could not be collected, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Facts of other benchmark kinds, by name.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, serde_json::Value>,
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

/// glibc's runtime linker statistics of a process start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoaderStats {
    /// Total startup time in the dynamic loader, in CPU cycles.
    pub startup_cycles: u64,
    /// Cycles spent relocating.
    pub relocation_cycles: u64,
    /// Share of the startup spent relocating, in percent.
    pub relocation_percent: f64,
    /// Relocations processed.
    pub relocations: u64,
    /// Relative relocations among them.
    pub relative_relocations: u64,
    /// Share of the startup spent loading objects, in percent.
    pub load_objects_percent: f64,
}

/// How much of a file was in the page cache right after eviction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Residency {
    /// The file.
    pub file: PathBuf,
    /// Resident fraction, 0 to 1.
    pub resident: f64,
}

/// One module of an import tree: its own and cumulative import time, and what it imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportNode {
    /// The module.
    pub module: String,
    /// Its own import time, in seconds.
    pub own: f64,
    /// With everything it imported, in seconds.
    pub cumulative: f64,
    /// The modules its import imported, in the order they finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ImportNode>,
}

/// A slow import and the chain of imports that pulled it in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowImport {
    /// The module.
    pub module: String,
    /// With everything it imported, in seconds.
    pub cumulative: f64,
    /// Its own import time, in seconds.
    pub own: f64,
    /// The modules whose import pulled it in, outermost first (empty for a top-level import).
    pub chain: Vec<String>,
}

/// A mode of a metric's runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mode {
    /// Where it is: the median of the runs in it.
    pub at: f64,
    /// The share of the runs in it, 0 to 1.
    pub share: f64,
}

/// The modes of a benchmark's headline metric, lower first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Modes {
    /// The metric.
    pub metric: String,
    /// The modes, lower first.
    pub modes: Vec<Mode>,
    /// How they were found.
    pub method: String,
}

/// Why a run to a precision stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrecisionStop {
    /// Its interval was within the precision.
    Precise,
    /// `--max-time` was up.
    MaxTime,
    /// The last look the schedule allows was made.
    Looks,
}

/// How a run to a precision ended, at its last look; the verdict uses this look's interval and
/// significance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionFacts {
    /// The metric it ran for (the headline).
    pub metric: String,
    /// The precision asked for: the interval's half-width as a fraction of the ratio.
    pub within: f64,
    /// Whether it was reached.
    pub reached: bool,
    /// Why it stopped (absent in files written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<PrecisionStop>,
    /// The last look (1-based).
    pub look: u32,
    /// The looks the schedule planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looks: Option<u32>,
    /// Runs per side at it.
    pub runs: u64,
    /// The significance level this look used.
    pub alpha: f64,
    /// The significance level spent by the end of this look, of the overall level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent: Option<f64>,
    /// The ratio candidate / baseline at the look.
    pub ratio: f64,
    /// Its interval at level `1 − alpha`.
    pub ci: [f64; 2],
    /// The half-width reached, as a fraction of the ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_width: Option<f64>,
    /// The rule, in words.
    pub rule: String,
}
