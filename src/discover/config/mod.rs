//! `[package.metadata.bench]` and `[workspace.metadata.bench]`: schema, merging and validation of
//! shapes. Nothing here looks at the machine: programs are found, interpreters asked and
//! addresses resolved when the plan is made (`plan`).
//!
//! Each kind reads its own key (`measure::kind::Kind::parse`) in its own folder, with the helpers
//! here (programs, readiness, counts, messages that name the key); `start` and `load` entries,
//! which share the program and target checks, are read here.
//!
//! Parsing goes through `serde_path_to_error` so that every message names the exact key
//! (`package.metadata.bench.start[0].ready`) and the manifest it is in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub mod cache;
mod program;
mod references;

pub use program::ProgramConfig;
pub(crate) use program::{check_count, check_duration, program, target, RawProgram};
pub use references::{check_references, entry_names, min_speedups, MIN_SPEEDUP};

use crate::error::UserError;
use crate::units::{Percent, UserDuration};
use cache::CacheMode;

/// A `budget` table as written: keys and values are checked against the benchmark kind's metrics
/// when the plan is made.
pub type RawBudget = BTreeMap<String, serde_json::Value>;

/// The settings of `[package.metadata.bench]` and `[workspace.metadata.bench]`; the other keys of
/// a package's table belong to the kinds (see [`PackageTable`]).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackage {
    runs: Option<u32>,
    warmup: Option<u32>,
    timeout: Option<UserDuration>,
    noise: Option<Percent>,
    precision: Option<Percent>,
    instructions_noise: Option<Percent>,
    warn: Option<Percent>,
    fail: Option<Percent>,
    cache: Option<CacheMode>,
    processes: Option<u32>,
}

/// The keys of [`RawPackage`], in its order: what a table may hold besides the kinds' keys.
const SETTING_KEYS: &[&str] =
    &["runs", "warmup", "timeout", "noise", "precision", "instructions-noise", "warn", "fail", "cache", "processes"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLoad {
    lib: String,
    symbol: Option<String>,
    name: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    budget: Option<RawBudget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStart {
    bin: Option<String>,
    command: Option<Vec<String>>,
    name: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    ready: Option<RawReady>,
    #[serde(default)]
    forbid_loaded: Vec<String>,
    reference: Option<String>,
    budget: Option<RawBudget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReady {
    stdout: Option<String>,
    tcp: Option<String>,
    file: Option<String>,
}

/// Settings shared by every benchmark of a package (after merging workspace defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageSettings {
    /// Measured runs per benchmark; `None` means the adaptive default.
    pub runs: Option<u32>,
    /// Warmup runs per benchmark.
    pub warmup: Option<u32>,
    /// Per-run timeout.
    pub timeout: Option<Duration>,
    /// Changes inside ±noise are "within noise" even when significant.
    pub noise: Option<f64>,
    /// A comparison runs until the interval of its ratio is this narrow (`--precision`).
    pub precision: Option<f64>,
    /// Instruction counts within this are the same (`--measure instructions`).
    pub instructions_noise: Option<f64>,
    /// A significant slowdown beyond this is a warning.
    pub warn: Option<f64>,
    /// A significant slowdown beyond this is a failure.
    pub fail: Option<f64>,
    /// The page cache before each run.
    pub cache: Option<CacheMode>,
    /// Suite rows: fresh server or worker processes per side.
    pub processes: Option<u32>,
}

/// What a start entry, a server or a worker runs, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A `[[bin]]` target of the package, built by cargo.
    Bin(String),
    /// An arbitrary command: the program as written (found when the plan is made) and its
    /// leading arguments.
    Command { program: String, args: Vec<String> },
}

/// The end event of a start entry, as configured.
#[derive(Debug, Clone, PartialEq)]
pub enum Ready {
    /// Process exit.
    Exit,
    /// A stdout line matching the regular expression.
    Stdout { pattern: String },
    /// A TCP connection to the address (resolved when the plan is made).
    Tcp { addr: String },
    /// The file appears.
    File { path: PathBuf },
}

/// One validated `[[package.metadata.bench.start]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StartEntry {
    /// Key path for messages (`package.metadata.bench.start[1]`).
    pub key: String,
    /// What to run.
    pub target: Target,
    /// Name used in the benchmark id.
    pub name: String,
    /// Extra arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// The end event of a run.
    pub ready: Ready,
    /// Shared objects (matched by file name) that must not be mapped at the end event.
    pub forbid_loaded: Vec<String>,
    /// The name of the entry of the same package it runs against (`reference`).
    pub reference: Option<String>,
    /// Absolute limits, as written.
    pub budget: RawBudget,
}

/// One validated `[[package.metadata.bench.load]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadEntry {
    /// Key path for messages.
    pub key: String,
    /// The `cdylib`/`dylib` target.
    pub lib: String,
    /// An `extern "C" fn()` called after `dlopen`, timed separately.
    pub symbol: Option<String>,
    /// Name used in the benchmark id.
    pub name: String,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Absolute limits, as written.
    pub budget: RawBudget,
}

/// One package's table: its settings, validated and merged with the workspace's, and each kind's
/// key as written (each kind parses its own, see `measure::kind::Kind::parse`).
#[derive(Debug, Clone)]
pub struct PackageTable {
    /// The package's manifest, named in messages.
    pub manifest: PathBuf,
    /// Merged settings.
    pub settings: PackageSettings,
    /// The kinds' keys, by kind name.
    pub kinds: BTreeMap<String, serde_json::Value>,
}

/// Where a kind's key was found, for its messages and for what it may refer to.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The kind's name, the last part of its key path.
    pub kind: &'a str,
    /// The manifest the key is in.
    pub manifest: &'a Path,
    /// Where relative paths resolve: the package's folder.
    pub package_dir: &'a Path,
    /// The package's binary targets.
    pub bins: &'a [String],
    /// The package's `cdylib`/`dylib` targets.
    pub libs: &'a [String],
}

impl Site<'_> {
    /// The kind's key path: `package.metadata.bench.start`.
    pub fn key(&self) -> String {
        format!("{PACKAGE_PREFIX}.{}", self.kind)
    }
}

const PACKAGE_PREFIX: &str = "package.metadata.bench";
const WORKSPACE_PREFIX: &str = "workspace.metadata.bench";

/// Reads `[workspace.metadata.bench]` from the workspace metadata value. `kinds` are the names of
/// the kinds' keys; those in `package_only` hold entries of a package and are refused here (the
/// other kinds' keys are accepted and not read at this level).
pub fn workspace_defaults(
    metadata: &serde_json::Value,
    manifest: &Path,
    kinds: &[&str],
    package_only: &[&str],
) -> Result<PackageSettings, UserError> {
    let (raw, tables) = split_table(metadata, WORKSPACE_PREFIX, manifest, kinds)?;
    if let Some(name) = package_only.iter().find(|k| tables.contains_key(**k)) {
        return Err(config_error(
            format!("{WORKSPACE_PREFIX}.{name}"),
            manifest,
            format!("`{name}` entries belong to a package: put them in its [package.metadata.bench]"),
        ));
    }
    let settings = raw.settings(&PackageSettings::default());
    check_settings(&settings, WORKSPACE_PREFIX, manifest)?;
    Ok(settings)
}

/// A table's settings and its kinds' keys, apart; a key that is neither is an error that lists
/// both, with the nearest as a suggestion.
fn split_table(
    metadata: &serde_json::Value,
    prefix: &str,
    manifest: &Path,
    kinds: &[&str],
) -> Result<(RawPackage, BTreeMap<String, serde_json::Value>), UserError> {
    let Some(table) = metadata.get("bench") else { return Ok(Default::default()) };
    let Some(object) = table.as_object() else {
        // Not a table: serde says what it is instead.
        return Ok((parse_value(table, prefix, manifest)?, BTreeMap::new()));
    };
    let mut settings = serde_json::Map::new();
    let mut tables = BTreeMap::new();
    for (key, value) in object {
        if kinds.contains(&key.as_str()) {
            tables.insert(key.clone(), value.clone());
        } else if SETTING_KEYS.contains(&key.as_str()) {
            settings.insert(key.clone(), value.clone());
        } else {
            let expected: Vec<String> = SETTING_KEYS.iter().chain(kinds).map(|k| format!("`{k}`")).collect();
            let mut message = format!("unknown field `{key}`, expected one of {}", expected.join(", "));
            if let Some(hint) = did_you_mean(&message) {
                message.push_str(&hint);
            }
            return Err(config_error(format!("{prefix}.{key}"), manifest, message));
        }
    }
    Ok((parse_value(&serde_json::Value::Object(settings), prefix, manifest)?, tables))
}

impl RawPackage {
    /// The table's settings on top of `defaults`, key by key.
    fn settings(&self, defaults: &PackageSettings) -> PackageSettings {
        PackageSettings {
            runs: self.runs.or(defaults.runs),
            warmup: self.warmup.or(defaults.warmup),
            timeout: self.timeout.map(|d| d.0).or(defaults.timeout),
            noise: self.noise.map(|p| p.0).or(defaults.noise),
            precision: self.precision.map(|p| p.0).or(defaults.precision),
            instructions_noise: self.instructions_noise.map(|p| p.0).or(defaults.instructions_noise),
            warn: self.warn.map(|p| p.0).or(defaults.warn),
            fail: self.fail.map(|p| p.0).or(defaults.fail),
            cache: self.cache.or(defaults.cache),
            processes: self.processes.or(defaults.processes),
        }
    }
}

/// Reads a package's `[package.metadata.bench]`: its settings, validated, on top of the workspace
/// defaults, and the keys of the kinds named `kinds`, as written.
pub fn package_config(
    metadata: &serde_json::Value,
    manifest: &Path,
    defaults: &PackageSettings,
    kinds: &[&str],
) -> Result<PackageTable, UserError> {
    let (raw, tables) = split_table(metadata, PACKAGE_PREFIX, manifest, kinds)?;
    let settings = raw.settings(defaults);
    check_settings(&settings, PACKAGE_PREFIX, manifest)?;
    Ok(PackageTable { manifest: manifest.to_path_buf(), settings, kinds: tables })
}

/// A package's `start` entries, validated; their names are unique.
pub fn start_entries(value: &serde_json::Value, site: &Site) -> Result<Vec<StartEntry>, UserError> {
    let key = site.key();
    let raw: Vec<RawStart> = parse_value(value, &key, site.manifest)?;
    let mut out = Vec::with_capacity(raw.len());
    for (i, entry) in raw.into_iter().enumerate() {
        out.push(validate_start(entry, format!("{key}[{i}]"), site.manifest, site.package_dir, site.bins)?);
    }
    check_unique_names(out.iter().map(|e| (e.name.as_str(), e.key.as_str())), site.manifest)?;
    Ok(out)
}

/// A package's `load` entries, validated; their names are unique.
pub fn load_entries(value: &serde_json::Value, site: &Site) -> Result<Vec<LoadEntry>, UserError> {
    let key = site.key();
    let raw: Vec<RawLoad> = parse_value(value, &key, site.manifest)?;
    let mut out = Vec::with_capacity(raw.len());
    for (i, entry) in raw.into_iter().enumerate() {
        out.push(validate_load(entry, format!("{key}[{i}]"), site.manifest, site.libs)?);
    }
    check_unique_names(out.iter().map(|e| (e.name.as_str(), e.key.as_str())), site.manifest)?;
    Ok(out)
}

/// Cargo names library targets with `_` where the package has `-`; accept either spelling.
pub(crate) fn find_lib<'a>(libs: &'a [String], wanted: &str) -> Option<&'a String> {
    let normal = wanted.replace('-', "_");
    libs.iter().find(|l| l.replace('-', "_") == normal)
}

pub(crate) fn check_name(name: &str, key: &str, manifest: &Path) -> Result<(), UserError> {
    if name.is_empty() || name.contains('/') || name.chars().any(char::is_whitespace) {
        return Err(config_error(
            format!("{key}.name"),
            manifest,
            format!("`{name}` is not a usable name: use letters, digits, `-`, `_` or `.`"),
        ));
    }
    Ok(())
}

fn validate_load(raw: RawLoad, key: String, manifest: &Path, libs: &[String]) -> Result<LoadEntry, UserError> {
    let Some(lib) = find_lib(libs, &raw.lib) else {
        let available = if libs.is_empty() { "none".to_string() } else { libs.join(", ") };
        return Err(config_error(
            format!("{key}.lib"),
            manifest,
            format!("the package has no cdylib or dylib target named `{}` (its libraries: {available})", raw.lib),
        ));
    };
    let name = raw.name.unwrap_or_else(|| lib.clone());
    check_name(&name, &key, manifest)?;
    if raw.symbol.as_deref() == Some("") {
        return Err(config_error(format!("{key}.symbol"), manifest, "the symbol name is empty"));
    }
    let budget = raw.budget.unwrap_or_default();
    Ok(LoadEntry { key, lib: lib.clone(), symbol: raw.symbol, name, env: raw.env, budget })
}

/// Warnings for tables under `prefix` (`package.metadata`, `workspace.metadata`) whose names come
/// close to `bench` (`coldbench`, `benchmark`, `benches`) and that cargo-coldbench therefore
/// ignores: a configuration under a near-miss name must not be dropped without a word.
pub fn near_misses(metadata: &serde_json::Value, prefix: &str, manifest: &Path) -> Vec<String> {
    let Some(table) = metadata.as_object() else { return Vec::new() };
    table
        .keys()
        .filter(|k| k.as_str() != "bench")
        .filter(|k| {
            let lower = k.to_ascii_lowercase();
            lower.contains("bench") || strsim::jaro_winkler(&lower, "bench") >= 0.85
        })
        .map(|k| {
            format!(
                "`[{prefix}.{k}]` in {} is not read by cargo-coldbench; its configuration goes in `[{prefix}.bench]`",
                manifest.display()
            )
        })
        .collect()
}

/// "; did you mean `start`?" for serde's "unknown field `starts`, expected one of ..." message.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let candidates = expected.split('`').skip(1).step_by(2);
    let best = candidates
        .map(|c| (strsim::jaro_winkler(field, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(format!("; did you mean `{}`?", best.1))
}

/// Deserializes a table whose key path is `prefix`, naming the exact key of any error.
pub(crate) fn parse_value<T: DeserializeOwned>(
    table: &serde_json::Value,
    prefix: &str,
    manifest: &Path,
) -> Result<T, UserError> {
    serde_path_to_error::deserialize(table.clone()).map_err(|e| {
        let path = e.path().to_string();
        let key = match path.as_str() {
            "." => prefix.to_string(),
            // An element of a list at the top: `start[0]`, not `start.[0]`.
            p if p.starts_with('[') => format!("{prefix}{p}"),
            p => format!("{prefix}.{p}"),
        };
        let mut message = e.into_inner().to_string();
        if let Some(hint) = did_you_mean(&message) {
            message.push_str(&hint);
        }
        UserError::Config { key, manifest: manifest.to_path_buf(), message }
    })
}

pub(crate) fn config_error(key: impl Into<String>, manifest: &Path, message: impl Into<String>) -> UserError {
    UserError::Config { key: key.into(), manifest: manifest.to_path_buf(), message: message.into() }
}

fn check_settings(settings: &PackageSettings, prefix: &str, manifest: &Path) -> Result<(), UserError> {
    if let Some(runs) = settings.runs {
        if runs < 2 {
            return Err(config_error(
                format!("{prefix}.runs"),
                manifest,
                format!("{runs} runs are too few for statistics; use at least 2"),
            ));
        }
    }
    if settings.timeout == Some(Duration::ZERO) {
        return Err(config_error(format!("{prefix}.timeout"), manifest, "the timeout must be above zero"));
    }
    if let Some(processes) = settings.processes.filter(|p| !(2..=1000).contains(p)) {
        return Err(config_error(
            format!("{prefix}.processes"),
            manifest,
            format!(
                "{processes} processes per side cannot be compared: one process cannot tell its own quirks from a \
                 change, so use 2 to 1000"
            ),
        ));
    }
    if let (Some(warn), Some(fail)) = (settings.warn, settings.fail) {
        if warn > fail {
            return Err(config_error(
                format!("{prefix}.warn"),
                manifest,
                format!(
                    "`warn` ({}%) is above `fail` ({}%); a warning must come before a failure",
                    warn * 100.0,
                    fail * 100.0
                ),
            ));
        }
    }
    Ok(())
}

fn validate_start(
    raw: RawStart,
    key: String,
    manifest: &Path,
    package_dir: &Path,
    bins: &[String],
) -> Result<StartEntry, UserError> {
    let target = target(raw.bin, raw.command, &key, manifest, bins)?;
    let name = match (&raw.name, &target) {
        (Some(name), _) => {
            if name.is_empty() || name.contains('/') || name.chars().any(char::is_whitespace) {
                return Err(config_error(
                    format!("{key}.name"),
                    manifest,
                    format!("`{name}` is not a usable name: use letters, digits, `-`, `_` or `.`"),
                ));
            }
            name.clone()
        }
        (None, Target::Bin(bin)) => bin.clone(),
        (None, Target::Command { program, .. }) => {
            return Err(config_error(
                format!("{key}.name"),
                manifest,
                format!(
                    "a `command` entry needs a `name` (for example name = \"{}\")",
                    Path::new(program).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
                ),
            ));
        }
    };
    let ready = match raw.ready {
        None => Ready::Exit,
        Some(ready) => validate_ready(ready, &format!("{key}.ready"), manifest, package_dir)?,
    };
    let budget = raw.budget.unwrap_or_default();
    if budget.contains_key(MIN_SPEEDUP) && raw.reference.is_none() {
        return Err(config_error(
            format!("{key}.budget.{MIN_SPEEDUP}"),
            manifest,
            "a speedup is measured against a reference: name the entry to beat in `reference` (for example \
             reference = \"python-baseline\")",
        ));
    }
    Ok(StartEntry {
        key,
        target,
        name,
        args: raw.args,
        env: raw.env,
        ready,
        forbid_loaded: raw.forbid_loaded,
        reference: raw.reference,
        budget,
    })
}

pub(crate) fn validate_ready(
    raw: RawReady,
    key: &str,
    manifest: &Path,
    package_dir: &Path,
) -> Result<Ready, UserError> {
    match (raw.stdout, raw.tcp, raw.file) {
        (Some(pattern), None, None) => {
            regex::Regex::new(&pattern).map_err(|e| {
                config_error(format!("{key}.stdout"), manifest, format!("invalid regular expression: {e}"))
            })?;
            Ok(Ready::Stdout { pattern })
        }
        (None, Some(addr), None) => {
            // An address needs a port; whether it resolves is asked when the plan is made.
            if addr.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()) {
                return Err(config_error(
                    format!("{key}.tcp"),
                    manifest,
                    format!("`{addr}` is not an address with a port, such as \"127.0.0.1:7000\""),
                ));
            }
            Ok(Ready::Tcp { addr })
        }
        (None, None, Some(file)) => {
            if file.is_empty() {
                return Err(config_error(format!("{key}.file"), manifest, "the file path is empty"));
            }
            Ok(Ready::File { path: package_dir.join(file) })
        }
        _ => Err(config_error(key, manifest, "set exactly one of `stdout`, `tcp` or `file`")),
    }
}

pub(crate) fn check_unique_names<'a>(
    entries: impl Iterator<Item = (&'a str, &'a str)>,
    manifest: &Path,
) -> Result<(), UserError> {
    let mut seen = BTreeMap::new();
    for (name, key) in entries {
        if let Some(first) = seen.insert(name, key) {
            return Err(config_error(
                key,
                manifest,
                format!("the name `{name}` is already used by {first}; give one of them another `name`"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests.rs"]
pub(crate) mod tests;
