//! `[[package.metadata.bench.python]]`: Python import entries, their shape only (the interpreter
//! is found and environments are made when the plan is made and the row is prepared).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::discover::config::{check_name, check_unique_names, config_error, find_lib, parse_value, RawBudget, Site};
use crate::error::UserError;

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
    own_prefix: Vec<String>,
    #[serde(default)]
    watch_imported: Vec<String>,
    #[serde(default)]
    python_path: Vec<String>,
    install: Option<Vec<String>>,
    install_inputs: Option<Vec<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    budget: Option<RawBudget>,
}

/// One validated `[[package.metadata.bench.python]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonEntry {
    /// Key path for messages.
    pub key: String,
    /// The module to import.
    pub module: String,
    /// The interpreter as written (found when the plan is made).
    pub python: String,
    /// A `cdylib` of the package to place on `PYTHONPATH` as the module (a PyO3 extension).
    pub lib: Option<String>,
    /// Name used in the benchmark id.
    pub name: String,
    /// Modules that must not be imported.
    pub forbid_imported: Vec<String>,
    /// The top-level packages that are the package's own (`own-prefix`); empty means the
    /// module's top-level package.
    pub own_prefix: Vec<String>,
    /// Modules whose loading is reported, not gated (`watch-imported`).
    pub watch_imported: Vec<String>,
    /// Folders, relative to the package, put first on `PYTHONPATH` (`python-path`): each side of
    /// a comparison imports its own checkout's sources.
    pub python_path: Vec<PathBuf>,
    /// The command that installs the dependencies into a virtual environment of each side
    /// (`install`); `None`: the interpreter's own packages.
    pub install: Option<Vec<String>>,
    /// Files and folders, relative to the package, that decide what `install` installs
    /// (`install-inputs`); `None`: the usual ones.
    pub install_inputs: Option<Vec<PathBuf>>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Absolute limits, as written.
    pub budget: RawBudget,
}

/// A package's `python` entries, validated; their names are unique.
pub fn python_entries(value: &serde_json::Value, site: &Site) -> Result<Vec<PythonEntry>, UserError> {
    let key = site.key();
    let raw: Vec<RawPython> = parse_value(value, &key, site.manifest)?;
    let mut out = Vec::with_capacity(raw.len());
    for (i, entry) in raw.into_iter().enumerate() {
        out.push(validate(entry, format!("{key}[{i}]"), site.manifest, site.libs)?);
    }
    check_unique_names(out.iter().map(|e| (e.name.as_str(), e.key.as_str())), site.manifest)?;
    Ok(out)
}

fn validate(raw: RawPython, key: String, manifest: &Path, libs: &[String]) -> Result<PythonEntry, UserError> {
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
    let python = raw.python.unwrap_or_else(|| "python3".to_string());
    if python.is_empty() {
        return Err(config_error(format!("{key}.python"), manifest, "the interpreter is empty"));
    }
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
    for (i, prefix) in raw.own_prefix.iter().enumerate() {
        if prefix.is_empty() || prefix.contains(char::is_whitespace) || prefix.starts_with('.') || prefix.ends_with('.')
        {
            return Err(config_error(
                format!("{key}.own-prefix[{i}]"),
                manifest,
                format!("`{prefix}` is not a module name (for example \"mypkg\" or \"_mypkg\")"),
            ));
        }
    }
    let python_path = inside_package(&raw.python_path, &format!("{key}.python-path"), manifest, "a folder", "src")?;
    check_install(raw.install.as_deref(), &key, manifest)?;
    let install_inputs = install_inputs(raw.install.is_some(), raw.install_inputs, &key, manifest)?;
    Ok(PythonEntry {
        key,
        module: raw.module,
        python,
        lib,
        name,
        forbid_imported: raw.forbid_imported,
        own_prefix: raw.own_prefix,
        watch_imported: raw.watch_imported,
        python_path,
        install: raw.install,
        install_inputs,
        env: raw.env,
        budget: raw.budget.unwrap_or_default(),
    })
}

/// `install`: a command names its program.
fn check_install(command: Option<&[String]>, key: &str, manifest: &Path) -> Result<(), UserError> {
    if command.is_some_and(|c| c.first().is_none_or(|program| program.is_empty())) {
        return Err(config_error(
            format!("{key}.install"),
            manifest,
            "the install command is empty: give the program and its arguments (for example [\"pip\", \"install\", \
             \"-r\", \"requirements.txt\"] or [\"uv\", \"sync\"])",
        ));
    }
    Ok(())
}

/// `install-inputs`: paths inside the package, and only beside an `install`.
fn install_inputs(
    install: bool,
    inputs: Option<Vec<String>>,
    key: &str,
    manifest: &Path,
) -> Result<Option<Vec<PathBuf>>, UserError> {
    match inputs {
        None => Ok(None),
        Some(_) if !install => Err(config_error(
            format!("{key}.install-inputs"),
            manifest,
            "`install-inputs` names the files an `install` command reads, and the entry has no `install`",
        )),
        Some(inputs) => {
            inside_package(&inputs, &format!("{key}.install-inputs"), manifest, "a file or folder", "requirements.txt")
                .map(Some)
        }
    }
}

/// Paths relative to the package, without `..`: each side of a comparison has its own.
fn inside_package(
    paths: &[String],
    key: &str,
    manifest: &Path,
    what: &str,
    example: &str,
) -> Result<Vec<PathBuf>, UserError> {
    let mut out = Vec::new();
    for (i, text) in paths.iter().enumerate() {
        let path = PathBuf::from(text);
        let inside = path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if text.is_empty() || !inside {
            return Err(config_error(
                format!("{key}[{i}]"),
                manifest,
                format!(
                    "`{text}` is not {what} inside the package: give it relative to the package, without `..` (for \
                     example \"{example}\")"
                ),
            ));
        }
        out.push(path);
    }
    Ok(out)
}
