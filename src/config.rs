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
    start: Option<Vec<RawStart>>,
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
    budget: Option<Budget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReady {
    stdout: Option<String>,
    tcp: Option<String>,
    file: Option<String>,
}

/// Absolute limits on a start benchmark; exceeding one fails the gate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Budget {
    /// Limit on the median wall time.
    pub median: Option<UserDuration>,
    /// Limit on the largest max RSS of any run.
    pub max_rss: Option<Bytes>,
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
            check_unique_names(&out, manifest)?;
            Some(out)
        }
    };
    Ok(PackageConfig { manifest: manifest.to_path_buf(), settings, start })
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
        UserError::Config { key, manifest: manifest.to_path_buf(), message: e.into_inner().to_string() }
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
    Ok(StartEntry {
        key,
        target,
        name,
        args: raw.args,
        env: raw.env,
        readiness,
        budget: raw.budget.unwrap_or_default(),
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

fn resolve_addr(addr: &str) -> Option<SocketAddr> {
    if let Ok(parsed) = addr.parse() {
        return Some(parsed);
    }
    addr.to_socket_addrs().ok()?.next()
}

fn check_unique_names(entries: &[StartEntry], manifest: &Path) -> Result<(), UserError> {
    let mut seen = BTreeMap::new();
    for entry in entries {
        if let Some(first) = seen.insert(entry.name.as_str(), entry.key.as_str()) {
            return Err(config_error(
                entry.key.clone(),
                manifest,
                format!("the name `{}` is already used by {first}; give one of them another `name`", entry.name),
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
        let cfg =
            package_config(&serde_json::Value::Null, Path::new("/x/Cargo.toml"), &[], &Settings::default()).unwrap();
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
    fn duplicate_names_are_rejected() {
        let err = parse(json!({ "start": [{ "bin": "server" }, { "bin": "server" }] })).unwrap_err();
        assert!(err.to_string().contains("already used"), "{err}");
    }
}
