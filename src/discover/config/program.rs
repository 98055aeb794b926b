//! The program a benchmark runs: `bin` or `command` of a start entry, and the program table of a
//! suite's server or worker; with the range checks every suite table shares.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{config_error, Target};
use crate::error::UserError;

/// Reads `bin` or `command` of the entry at `key`: exactly one of the two, a binary the package
/// has, a command with a program.
pub(crate) fn target(
    bin: Option<String>,
    command: Option<Vec<String>>,
    key: &str,
    manifest: &Path,
    bins: &[String],
) -> Result<Target, UserError> {
    match (bin, command) {
        (Some(_), Some(_)) | (None, None) => Err(config_error(key, manifest, "set exactly one of `bin` or `command`")),
        (Some(bin), None) => {
            if !bins.contains(&bin) {
                let available = if bins.is_empty() { "none".to_string() } else { bins.join(", ") };
                return Err(config_error(
                    format!("{key}.bin"),
                    manifest,
                    format!("the package has no binary named `{bin}` (its binaries: {available})"),
                ));
            }
            Ok(Target::Bin(bin))
        }
        (None, Some(command)) => {
            let Some((program, args)) = command.split_first() else {
                return Err(config_error(format!("{key}.command"), manifest, "the command is empty"));
            };
            if program.is_empty() {
                return Err(config_error(format!("{key}.command"), manifest, "the program is empty"));
            }
            Ok(Target::Command { program: program.clone(), args: args.to_vec() })
        }
    }
}

/// A long-running program a suite starts (a user's server or worker), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramConfig {
    /// Key path for messages (`package.metadata.bench.zmq.server`).
    pub key: String,
    /// What to run.
    pub target: Target,
    /// Its name in ids (`server=NAME`, `worker=NAME`): `name`, or the bin's or program's name.
    pub name: String,
    /// Arguments after those of `command`.
    pub args: Vec<String>,
    /// Environment added.
    pub env: BTreeMap<String, String>,
}

/// The fields a server or worker table has for its program: a worker's whole table. (A server's
/// table repeats them beside its own: `serde(flatten)` cannot be combined with
/// `deny_unknown_fields`, which names a misspelt key.)
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawProgram {
    pub bin: Option<String>,
    pub command: Option<Vec<String>>,
    pub name: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Reads the program of the table at `key` (a server, a worker): its target, and a name usable
/// in ids (default the bin's or program's file name; never `builtin`, the suites' own).
pub(crate) fn program(
    raw: RawProgram,
    key: &str,
    manifest: &Path,
    bins: &[String],
) -> Result<ProgramConfig, UserError> {
    let target = target(raw.bin, raw.command, key, manifest, bins)?;
    let name = raw.name.unwrap_or_else(|| match &target {
        Target::Bin(bin) => bin.clone(),
        Target::Command { program, .. } => {
            Path::new(program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        }
    });
    if name.is_empty() || name == "builtin" || !name.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) {
        return Err(config_error(
            format!("{key}.name"),
            manifest,
            format!("`{name}` is not a usable name: use letters, digits, `-`, `_` or `.`, and not `builtin`"),
        ));
    }
    Ok(ProgramConfig { key: key.to_string(), target, name, args: raw.args, env: raw.env })
}

/// A count at `key` outside `min..=max`, named with its range.
pub(crate) fn check_count(key: &str, value: Option<u32>, min: u32, max: u32, manifest: &Path) -> Result<(), UserError> {
    match value {
        Some(n) if n < min || n > max => {
            Err(config_error(key, manifest, format!("{n} is out of range: use {min} to {max}")))
        }
        _ => Ok(()),
    }
}

/// A duration at `key` that is zero or longer than `max`.
pub(crate) fn check_duration(
    key: &str,
    value: Option<Duration>,
    max: Duration,
    manifest: &Path,
) -> Result<(), UserError> {
    match value {
        Some(d) if d.is_zero() || d > max => Err(config_error(
            key,
            manifest,
            format!(
                "{} is out of range: use more than 0 and at most {}",
                humantime::format_duration(d),
                humantime::format_duration(max)
            ),
        )),
        _ => Ok(()),
    }
}
