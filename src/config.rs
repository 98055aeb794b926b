//! `[package.metadata.bench]` and `[workspace.metadata.bench]`: schema, merging and validation.
//!
//! Parsing goes through `serde_path_to_error` so that every message names the exact key
//! (`package.metadata.bench.start[0].ready`) and the manifest it is in.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::UserError;
use crate::measure::cache::CacheMode;
use crate::measure::process::Readiness;
use crate::units::{Bytes, Percent, UserDuration};

/// Keys allowed in `[workspace.metadata.bench]`: defaults for every package.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDefaults {
    runs: Option<u32>,
    warmup: Option<u32>,
    timeout: Option<UserDuration>,
    noise: Option<Percent>,
    warn: Option<Percent>,
    fail: Option<Percent>,
    cache: Option<CacheMode>,
}

/// Keys allowed in `[package.metadata.bench]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackage {
    runs: Option<u32>,
    warmup: Option<u32>,
    timeout: Option<UserDuration>,
    noise: Option<Percent>,
    warn: Option<Percent>,
    fail: Option<Percent>,
    cache: Option<CacheMode>,
    start: Option<Vec<RawStart>>,
    load: Option<Vec<RawLoad>>,
    python: Option<Vec<RawPython>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLoad {
    lib: String,
    symbol: Option<String>,
    name: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    budget: Option<Budget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPython {
    module: String,
    python: Option<String>,
    lib: Option<String>,
    name: Option<String>,
    #[serde(default)]
    forbid_imported: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    budget: Option<Budget>,
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
    budget: Option<Budget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReady {
    stdout: Option<String>,
    tcp: Option<String>,
    file: Option<String>,
}

/// Absolute limits on a benchmark; exceeding one fails the gate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Budget {
    /// Limit on the median wall time.
    pub median: Option<UserDuration>,
    /// Limit on the largest max RSS of any run.
    pub max_rss: Option<Bytes>,
    /// Limit on the number of shared objects mapped at the end event (start entries).
    pub mapped_libs: Option<u64>,
    /// Limit on the median `dlopen` time (load entries).
    pub load: Option<UserDuration>,
    /// Limit on the number of modules imported (python entries).
    pub modules: Option<u64>,
}

impl Budget {
    /// Fails when the budget uses a key that does not apply to this kind of entry.
    fn check_keys(&self, kind: &str, key: &str, manifest: &Path) -> Result<(), UserError> {
        let misplaced = match kind {
            "start" => [("load", self.load.is_some()), ("modules", self.modules.is_some())],
            "load" => [("mapped-libs", self.mapped_libs.is_some()), ("modules", self.modules.is_some())],
            _ => [("mapped-libs", self.mapped_libs.is_some()), ("load", self.load.is_some())],
        };
        if let Some((name, _)) = misplaced.iter().find(|(_, set)| *set) {
            let allowed = match kind {
                "start" => "median, max-rss, mapped-libs",
                "load" => "median, max-rss, load",
                _ => "median, max-rss, modules",
            };
            return Err(config_error(
                format!("{key}.budget.{name}"),
                manifest,
                format!("`{name}` is not a budget of [[{kind}]] entries; they take {allowed}"),
            ));
        }
        Ok(())
    }
}

/// Settings shared by every benchmark of a package (after merging workspace defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Measured runs per benchmark; `None` means the adaptive default.
    pub runs: Option<u32>,
    /// Warmup runs per benchmark.
    pub warmup: Option<u32>,
    /// Per-run timeout.
    pub timeout: Option<Duration>,
    /// Changes inside ±noise are "within noise" even when significant.
    pub noise: Option<f64>,
    /// A significant slowdown beyond this is a warning.
    pub warn: Option<f64>,
    /// A significant slowdown beyond this is a failure.
    pub fail: Option<f64>,
    /// The page cache before each run.
    pub cache: Option<CacheMode>,
}

/// What a start benchmark executes.
#[derive(Debug, Clone, PartialEq)]
pub enum StartTarget {
    /// A `[[bin]]` target of the package, built by cargo.
    Bin(String),
    /// An arbitrary command: the program (resolved to a path) and its leading arguments.
    Command { program: PathBuf, args: Vec<String> },
}

/// One validated `[[package.metadata.bench.start]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StartEntry {
    /// Key path for messages (`package.metadata.bench.start[1]`).
    pub key: String,
    /// What to run.
    pub target: StartTarget,
    /// Name used in the benchmark id.
    pub name: String,
    /// Extra arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// The end event of a run.
    pub readiness: Readiness,
    /// Shared objects (matched by file name) that must not be mapped at the end event.
    pub forbid_loaded: Vec<String>,
    /// Absolute limits.
    pub budget: Budget,
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
    /// Absolute limits.
    pub budget: Budget,
}

/// One validated `[[package.metadata.bench.python]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonEntry {
    /// Key path for messages.
    pub key: String,
    /// The module to import.
    pub module: String,
    /// The interpreter, resolved to a path.
    pub python: PathBuf,
    /// A `cdylib` of the package to place on `PYTHONPATH` as the module (a PyO3 extension).
    pub lib: Option<String>,
    /// Name used in the benchmark id.
    pub name: String,
    /// Modules that must not be imported.
    pub forbid_imported: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Absolute limits.
    pub budget: Budget,
}

/// The configuration of one package, validated.
#[derive(Debug, Clone)]
pub struct PackageConfig {
    /// The package's manifest, named in messages.
    pub manifest: PathBuf,
    /// Merged settings.
    pub settings: Settings,
    /// Explicit start entries; `None` when the package has no `start` key.
    pub start: Option<Vec<StartEntry>>,
    /// Explicit load entries; `None` when the package has no `load` key.
    pub load: Option<Vec<LoadEntry>>,
    /// Python import entries.
    pub python: Vec<PythonEntry>,
}

const PACKAGE_PREFIX: &str = "package.metadata.bench";
const WORKSPACE_PREFIX: &str = "workspace.metadata.bench";

/// Reads `[workspace.metadata.bench]` from the workspace metadata value.
pub fn workspace_defaults(metadata: &serde_json::Value, manifest: &Path) -> Result<Settings, UserError> {
    let raw: RawDefaults = parse_table(metadata, WORKSPACE_PREFIX, manifest)?;
    let settings = Settings {
        runs: raw.runs,
        warmup: raw.warmup,
        timeout: raw.timeout.map(|d| d.0),
        noise: raw.noise.map(|p| p.0),
        warn: raw.warn.map(|p| p.0),
        fail: raw.fail.map(|p| p.0),
        cache: raw.cache,
    };
    check_settings(&settings, WORKSPACE_PREFIX, manifest)?;
    Ok(settings)
}

/// Reads and validates a package's `[package.metadata.bench]`, on top of the workspace defaults.
///
/// `bins` are the package's binary targets; `package_dir` is where relative paths resolve.
pub fn package_config(
    metadata: &serde_json::Value,
    manifest: &Path,
    bins: &[String],
    libs: &[String],
    defaults: &Settings,
) -> Result<PackageConfig, UserError> {
    let raw: RawPackage = parse_table(metadata, PACKAGE_PREFIX, manifest)?;
    let settings = Settings {
        runs: raw.runs.or(defaults.runs),
        warmup: raw.warmup.or(defaults.warmup),
        timeout: raw.timeout.map(|d| d.0).or(defaults.timeout),
        noise: raw.noise.map(|p| p.0).or(defaults.noise),
        warn: raw.warn.map(|p| p.0).or(defaults.warn),
        fail: raw.fail.map(|p| p.0).or(defaults.fail),
        cache: raw.cache.or(defaults.cache),
    };
    check_settings(&settings, PACKAGE_PREFIX, manifest)?;
    let package_dir = manifest.parent().unwrap_or(Path::new("."));
    let start = match raw.start {
        None => None,
        Some(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (i, entry) in entries.into_iter().enumerate() {
                let key = format!("{PACKAGE_PREFIX}.start[{i}]");
                out.push(validate_start(entry, key, manifest, package_dir, bins)?);
            }
            check_unique_names(out.iter().map(|e| (e.name.as_str(), e.key.as_str())), manifest)?;
            Some(out)
        }
    };
    let load = match raw.load {
        None => None,
        Some(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (i, entry) in entries.into_iter().enumerate() {
                out.push(validate_load(entry, format!("{PACKAGE_PREFIX}.load[{i}]"), manifest, libs)?);
            }
            check_unique_names(out.iter().map(|e| (e.name.as_str(), e.key.as_str())), manifest)?;
            Some(out)
        }
    };
    let mut python = Vec::new();
    for (i, entry) in raw.python.unwrap_or_default().into_iter().enumerate() {
        python.push(validate_python(entry, format!("{PACKAGE_PREFIX}.python[{i}]"), manifest, package_dir, libs)?);
    }
    check_unique_names(python.iter().map(|e| (e.name.as_str(), e.key.as_str())), manifest)?;
    Ok(PackageConfig { manifest: manifest.to_path_buf(), settings, start, load, python })
}

/// Cargo names library targets with `_` where the package has `-`; accept either spelling.
fn find_lib<'a>(libs: &'a [String], wanted: &str) -> Option<&'a String> {
    let normal = wanted.replace('-', "_");
    libs.iter().find(|l| l.replace('-', "_") == normal)
}

fn check_name(name: &str, key: &str, manifest: &Path) -> Result<(), UserError> {
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
    budget.check_keys("load", &key, manifest)?;
    Ok(LoadEntry { key, lib: lib.clone(), symbol: raw.symbol, name, env: raw.env, budget })
}

fn validate_python(
    raw: RawPython,
    key: String,
    manifest: &Path,
    package_dir: &Path,
    libs: &[String],
) -> Result<PythonEntry, UserError> {
    let valid_module = !raw.module.is_empty()
        && raw.module.split('.').all(|part| {
            !part.is_empty()
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
    if !valid_module {
        return Err(config_error(
            format!("{key}.module"),
            manifest,
            format!("`{}` is not a Python module name", raw.module),
        ));
    }
    let program = raw.python.unwrap_or_else(|| "python3".to_string());
    let found =
        which::which_in(&program, std::env::var_os("PATH"), package_dir).map_err(|_| UserError::ProgramNotFound {
            program: program.clone(),
            key: format!("{key}.python"),
            manifest: manifest.to_path_buf(),
        })?;
    let python = real_interpreter(&found).map_err(|e| config_error(format!("{key}.python"), manifest, e))?;
    let lib = match raw.lib {
        None => None,
        Some(wanted) => Some(
            find_lib(libs, &wanted)
                .ok_or_else(|| {
                    config_error(
                        format!("{key}.lib"),
                        manifest,
                        format!("the package has no cdylib target named `{wanted}` to import as `{}`", raw.module),
                    )
                })?
                .clone(),
        ),
    };
    let name = raw.name.unwrap_or_else(|| raw.module.clone());
    check_name(&name, &key, manifest)?;
    let budget = raw.budget.unwrap_or_default();
    budget.check_keys("python", &key, manifest)?;
    Ok(PythonEntry {
        key,
        module: raw.module,
        python,
        lib,
        name,
        forbid_imported: raw.forbid_imported,
        env: raw.env,
        budget,
    })
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

fn parse_table<T: DeserializeOwned + Default>(
    metadata: &serde_json::Value,
    prefix: &str,
    manifest: &Path,
) -> Result<T, UserError> {
    let Some(table) = metadata.get("bench") else {
        return Ok(T::default());
    };
    serde_path_to_error::deserialize(table.clone()).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." { prefix.to_string() } else { format!("{prefix}.{path}") };
        let mut message = e.into_inner().to_string();
        if let Some(hint) = did_you_mean(&message) {
            message.push_str(&hint);
        }
        UserError::Config { key, manifest: manifest.to_path_buf(), message }
    })
}

fn config_error(key: impl Into<String>, manifest: &Path, message: impl Into<String>) -> UserError {
    UserError::Config { key: key.into(), manifest: manifest.to_path_buf(), message: message.into() }
}

fn check_settings(settings: &Settings, prefix: &str, manifest: &Path) -> Result<(), UserError> {
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
    let target = match (raw.bin, raw.command) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(config_error(key, manifest, "set exactly one of `bin` or `command`"));
        }
        (Some(bin), None) => {
            if !bins.contains(&bin) {
                let available = if bins.is_empty() { "none".to_string() } else { bins.join(", ") };
                return Err(config_error(
                    format!("{key}.bin"),
                    manifest,
                    format!("the package has no binary named `{bin}` (its binaries: {available})"),
                ));
            }
            StartTarget::Bin(bin)
        }
        (None, Some(command)) => {
            let Some((program, args)) = command.split_first() else {
                return Err(config_error(format!("{key}.command"), manifest, "the command is empty"));
            };
            let path = which::which_in(program, std::env::var_os("PATH"), package_dir).map_err(|_| {
                UserError::ProgramNotFound {
                    program: program.clone(),
                    key: format!("{key}.command"),
                    manifest: manifest.to_path_buf(),
                }
            })?;
            StartTarget::Command { program: path, args: args.to_vec() }
        }
    };
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
        (None, StartTarget::Bin(bin)) => bin.clone(),
        (None, StartTarget::Command { program, .. }) => {
            return Err(config_error(
                format!("{key}.name"),
                manifest,
                format!(
                    "a `command` entry needs a `name` (for example name = \"{}\")",
                    program.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
                ),
            ));
        }
    };
    let readiness = match raw.ready {
        None => Readiness::Exit,
        Some(ready) => validate_ready(ready, &format!("{key}.ready"), manifest, package_dir)?,
    };
    let budget = raw.budget.unwrap_or_default();
    budget.check_keys("start", &key, manifest)?;
    Ok(StartEntry {
        key,
        target,
        name,
        args: raw.args,
        env: raw.env,
        readiness,
        forbid_loaded: raw.forbid_loaded,
        budget,
    })
}

fn validate_ready(raw: RawReady, key: &str, manifest: &Path, package_dir: &Path) -> Result<Readiness, UserError> {
    match (raw.stdout, raw.tcp, raw.file) {
        (Some(pattern), None, None) => {
            regex::Regex::new(&pattern).map_err(|e| {
                config_error(format!("{key}.stdout"), manifest, format!("invalid regular expression: {e}"))
            })?;
            Ok(Readiness::Stdout { pattern })
        }
        (None, Some(addr), None) => {
            let resolved = resolve_addr(&addr).ok_or_else(|| {
                config_error(
                    format!("{key}.tcp"),
                    manifest,
                    format!("`{addr}` is not an address with a port, such as \"127.0.0.1:7000\""),
                )
            })?;
            Ok(Readiness::Tcp { addr: resolved })
        }
        (None, None, Some(file)) => {
            if file.is_empty() {
                return Err(config_error(format!("{key}.file"), manifest, "the file path is empty"));
            }
            Ok(Readiness::File { path: package_dir.join(file) })
        }
        _ => Err(config_error(key, manifest, "set exactly one of `stdout`, `tcp` or `file`")),
    }
}

/// The interpreter behind `python`: version managers (pyenv, asdf) put shell-script shims on
/// PATH whose own start-up would be measured with every import.
fn real_interpreter(python: &Path) -> Result<PathBuf, String> {
    let out = std::process::Command::new(python)
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || text.is_empty() {
        return Err(format!(
            "{} did not run as a Python interpreter: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(text))
}

fn resolve_addr(addr: &str) -> Option<SocketAddr> {
    if let Ok(parsed) = addr.parse() {
        return Some(parsed);
    }
    // `localhost` resolves to ::1 and 127.0.0.1; servers most often listen on the IPv4 one.
    let all: Vec<SocketAddr> = addr.to_socket_addrs().ok()?.collect();
    all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
}

fn check_unique_names<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>, manifest: &Path) -> Result<(), UserError> {
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
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<PackageConfig, UserError> {
        package_config(
            &json!({ "bench": value }),
            Path::new("/ws/app/Cargo.toml"),
            &["server".to_string(), "cli".to_string()],
            &["fastlib".to_string()],
            &Settings::default(),
        )
    }

    fn key_of(err: UserError) -> String {
        match err {
            UserError::Config { key, .. } => key,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn absent_table_means_defaults() {
        let cfg = package_config(&serde_json::Value::Null, Path::new("/x/Cargo.toml"), &[], &[], &Settings::default())
            .unwrap();
        assert!(cfg.start.is_none());
        assert_eq!(cfg.settings, Settings::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let err = parse(json!({ "start": [{ "bin": "server", "ready": { "stdot": "x" } }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[0].ready.stdot");
        let err = parse(json!({ "runz": 3 })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.runz");
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let err = parse(json!({ "start": [{ "bin": "server" }, { "bin": "cli", "args": [1] }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[1].args[0]");
    }

    #[test]
    fn durations_sizes_and_regexes_are_validated() {
        let err = parse(json!({ "timeout": "ten seconds" })).unwrap_err();
        assert!(err.to_string().contains("invalid duration"), "{err}");
        let err = parse(json!({ "start": [{ "bin": "cli", "budget": { "max-rss": "huge" } }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[0].budget.max-rss");
        let err = parse(json!({ "start": [{ "bin": "cli", "ready": { "stdout": "(" } }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[0].ready.stdout");
    }

    #[test]
    fn package_overrides_workspace_key_by_key() {
        let defaults = Settings {
            runs: Some(7),
            warmup: Some(2),
            timeout: Some(Duration::from_secs(4)),
            noise: Some(0.05),
            ..Settings::default()
        };
        let cfg = package_config(
            &json!({ "bench": { "warmup": 0, "fail": "30%" } }),
            Path::new("/ws/a/Cargo.toml"),
            &[],
            &[],
            &defaults,
        )
        .unwrap();
        assert_eq!(cfg.settings.runs, Some(7));
        assert_eq!(cfg.settings.warmup, Some(0));
        assert_eq!(cfg.settings.timeout, Some(Duration::from_secs(4)));
        assert_eq!(cfg.settings.noise, Some(0.05));
        assert_eq!(cfg.settings.fail, Some(0.3));
    }

    #[test]
    fn thresholds_are_percentages_in_order() {
        let err = parse(json!({ "noise": 2 })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.noise");
        let err = parse(json!({ "warn": "30%", "fail": "20%" })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.warn");
    }

    #[test]
    fn start_entries_need_one_target_and_a_known_bin() {
        let err = parse(json!({ "start": [{ "name": "x" }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[0]");
        let err = parse(json!({ "start": [{ "bin": "nope" }] })).unwrap_err();
        assert!(err.to_string().contains("its binaries: server, cli"), "{err}");
    }

    #[test]
    fn commands_resolve_on_path_and_missing_programs_are_reported() {
        let cfg = parse(json!({ "start": [{ "command": ["sh", "-c", "true"], "name": "sh" }] })).unwrap();
        let entry = &cfg.start.unwrap()[0];
        assert!(matches!(&entry.target, StartTarget::Command { program, .. } if program.is_absolute()));
        let err = parse(json!({ "start": [{ "command": ["no-such-program-xyz"], "name": "x" }] })).unwrap_err();
        assert!(matches!(err, UserError::ProgramNotFound { .. }), "{err:?}");
    }

    #[test]
    fn readiness_variants_are_exclusive() {
        let cfg = parse(json!({ "start": [{ "bin": "server", "ready": { "tcp": "127.0.0.1:7000" } }] })).unwrap();
        assert_eq!(cfg.start.unwrap()[0].readiness, Readiness::Tcp { addr: "127.0.0.1:7000".parse().unwrap() });
        let err = parse(json!({ "start": [{ "bin": "server", "ready": { "tcp": "127.0.0.1:1", "file": "x" } }] }))
            .unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[0].ready");
    }

    #[test]
    fn load_and_python_entries_are_validated() {
        let cfg =
            parse(json!({ "load": [{ "lib": "fastlib", "symbol": "init" }], "python": [{ "module": "pkg.sub" }] }))
                .unwrap();
        assert_eq!(cfg.load.unwrap()[0].name, "fastlib");
        assert_eq!(cfg.python[0].module, "pkg.sub");
        assert!(cfg.python[0].python.is_absolute());
        let err = parse(json!({ "load": [{ "lib": "nolib" }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.load[0].lib");
        let err = parse(json!({ "python": [{ "module": "x", "python": "no-such-python-xyz" }] })).unwrap_err();
        assert!(matches!(err, UserError::ProgramNotFound { .. }), "{err:?}");
        let err = parse(json!({ "python": [{ "module": "1bad" }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.python[0].module");
    }

    #[test]
    fn budgets_only_take_keys_of_their_kind() {
        let err = parse(json!({ "start": [{ "bin": "cli", "budget": { "modules": 3 } }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.start[0].budget.modules");
        parse(json!({ "start": [{ "bin": "cli", "budget": { "mapped-libs": 3 }, "forbid-loaded": ["libssl"] }] }))
            .unwrap();
    }

    #[test]
    fn near_miss_table_names_are_named_with_the_right_one() {
        let metadata = json!({ "coldbench": {}, "benchmark": {}, "bench": {}, "docs": {}, "release": {} });
        let warnings = near_misses(&metadata, "package.metadata", Path::new("/ws/Cargo.toml"));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("`[package.metadata.benchmark]`"), "{warnings:?}");
        assert!(
            warnings[1].contains("`[package.metadata.coldbench]`")
                && warnings[1].contains("`[package.metadata.bench]`")
        );
        let err = parse(json!({ "starts": [{ "bin": "server" }] })).unwrap_err();
        assert!(err.to_string().contains("did you mean `start`?"), "{err}");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let err = parse(json!({ "start": [{ "bin": "server" }, { "bin": "server" }] })).unwrap_err();
        assert!(err.to_string().contains("already used"), "{err}");
    }
}
