//! Errors that users act on: each carries the problem and, where there is one, the fix.

use std::path::PathBuf;

/// An error caused by the user's input or environment, shown as `error: ...` plus a `help:` line.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// No `Cargo.toml` where one was looked for.
    #[error("could not find a cargo project: {detail}")]
    NotACargoProject { detail: String },

    /// The `[package.metadata.bench]` (or workspace) table is malformed.
    #[error("invalid `{key}` in {}: {message}", manifest.display())]
    Config { key: String, manifest: PathBuf, message: String },

    /// `--bin NAME` named no binary of the selected packages.
    #[error("no binary named `{name}` in the selected packages")]
    UnknownBin { name: String, available: Vec<String> },

    /// `--lib NAME` named no library of the selected packages.
    #[error("no cdylib or dylib named `{name}` in the selected packages")]
    UnknownLib { name: String, available: Vec<String> },

    /// `-p NAME` named no workspace member.
    #[error("package `{name}` is not a member of the workspace")]
    UnknownPackage { name: String, available: Vec<String> },

    /// A `command` entry names a program that cannot be found.
    #[error("program `{program}` of `{key}` in {} was not found", manifest.display())]
    ProgramNotFound { program: String, key: String, manifest: PathBuf },

    /// The workspace failed to build; cargo's own output has been shown already.
    #[error("could not build the benchmarked targets (cargo exited with {status})")]
    BuildFailed { status: String },

    /// `--no-build` was given but some executables are not built.
    #[error("--no-build: these executables are not built: {}", missing.join(", "))]
    NotBuilt { missing: Vec<String>, profile: String },

    /// Nothing to benchmark.
    #[error("nothing to benchmark: {detail}")]
    NothingToRun { detail: String },

    /// A suite was asked for, and no selected package configures it.
    #[error("nothing to benchmark: no selected package has a `[package.metadata.bench.{suite}]` table")]
    NoSuite { suite: &'static str },

    /// `--scenario` named a group of another suite.
    #[error("`{group}` is not a scenario of the {suite} suite")]
    ScenarioNotInSuite { group: String, suite: &'static str, available: Vec<&'static str> },

    /// A comparison whose two sides have no benchmark they can both run.
    #[error("nothing to compare: {detail}")]
    NothingToCompare { detail: String, each: bool },

    /// A git ref or repository problem.
    #[error(transparent)]
    Git(#[from] RefError),

    /// A saved baseline that does not exist.
    #[error("no saved baseline named `{name}`")]
    UnknownBaseline { name: String, available: Vec<String> },

    /// A command-line value is out of range.
    #[error("{0}")]
    Invalid(String),

    /// A tool an option needs is missing.
    #[error("{what}")]
    MissingTool { what: String, hint: String },
}

impl UserError {
    /// The `help:` line that tells the user how to fix the problem.
    pub fn help(&self) -> Option<String> {
        match self {
            UserError::NotACargoProject { .. } => {
                Some("run inside a cargo project or pass --manifest-path path/to/Cargo.toml".into())
            }
            UserError::Config { .. } => {
                Some("see the configuration reference in cargo-coldbench's README (`[package.metadata.bench]`)".into())
            }
            UserError::UnknownBin { available, .. } => Some(if available.is_empty() {
                "the selected packages have no binaries".into()
            } else {
                format!("available binaries: {}", available.join(", "))
            }),
            UserError::UnknownPackage { available, .. } => Some(format!("workspace members: {}", available.join(", "))),
            UserError::UnknownLib { available, .. } => Some(if available.is_empty() {
                "the selected packages have no cdylib or dylib targets".into()
            } else {
                format!("available libraries: {}", available.join(", "))
            }),
            UserError::ProgramNotFound { .. } => {
                Some("install the program, put it on PATH, or give its path relative to the package".into())
            }
            UserError::BuildFailed { .. } => Some("fix the errors above and run again".into()),
            UserError::MissingTool { hint, .. } => Some(hint.clone()),
            UserError::NotBuilt { profile, .. } => {
                Some(format!("build them first (cargo build --profile {profile}) or run without --no-build"))
            }
            UserError::ScenarioNotInSuite { available, .. } => {
                Some(format!("its scenarios are {}; `suite all` takes any", available.join(", ")))
            }
            UserError::NoSuite { suite } => Some(format!(
                "add `[package.metadata.bench.{suite}]` to a package's Cargo.toml (an empty table runs every scenario \
                 against the built-in worker; `cargo coldbench init` shows every key)"
            )),
            UserError::NothingToRun { .. } => {
                Some("add binaries to the selected packages or `[[package.metadata.bench.start]]` entries".into())
            }
            UserError::NothingToCompare { each: true, .. } => Some(
                "with --config-from candidate (the default) today's benchmark definitions are applied to both sides"
                    .into(),
            ),
            UserError::NothingToCompare { each: false, .. } => Some(
                "compare with a ref that has these binaries and libraries, or select others with -p, --bin or --lib"
                    .into(),
            ),
            UserError::Git(e) => Some(e.help()),
            UserError::UnknownBaseline { available, .. } => Some(if available.is_empty() {
                "no baselines are saved yet: save one with --save-baseline NAME".into()
            } else {
                format!("saved baselines: {}", available.join(", "))
            }),
            UserError::Invalid(_) => None,
        }
    }
}

/// Why a ref could not be used for a comparison.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    /// The workspace is not inside a git repository.
    #[error("{} is not in a git repository; comparing with a ref needs one", dir.display())]
    NotARepository { dir: PathBuf },
    /// The name resolves to nothing.
    #[error("unknown git ref `{name}`")]
    Unknown { name: String, close: Vec<String>, shallow: bool },
    /// The ref names a commit whose objects are not in this (shallow) clone.
    #[error("the commit of `{name}` is not in this shallow clone")]
    NotFetched { name: String },
    /// A range that is not `A..B`, `A..`, `..B` or a ref.
    #[error("`{text}` is not a range of commits")]
    BadRange { text: String },
    /// The start of a range is not in the history of its end.
    #[error("`{base}` is not an ancestor of `{tip}`")]
    NotAncestor { base: String, tip: String },
}

impl RefError {
    /// How to fix it.
    pub fn help(&self) -> String {
        match self {
            RefError::NotARepository { .. } => {
                "run `git init` and commit, or compare saved results with `cargo coldbench diff`".into()
            }
            RefError::Unknown { close, shallow, .. } => {
                let mut help = if close.is_empty() {
                    "give a branch, tag or commit (`main`, `v1.2.0`, `HEAD~3`, `origin/main`)".to_string()
                } else {
                    format!("did you mean {}?", close.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))
                };
                if *shallow {
                    help.push_str("; this is a shallow clone: `git fetch --unshallow` fetches the rest of the history");
                }
                help
            }
            RefError::NotFetched { .. } => "fetch it first: `git fetch --unshallow` (or `git fetch --deepen N`)".into(),
            RefError::BadRange { .. } => {
                "write `A..B` (A and the first-parent commits after it up to B), `A..` (up to HEAD) or a ref \
                 (the commits up to it); `A...B` is not supported"
                    .into()
            }
            RefError::NotAncestor { base, tip } => {
                format!("give an older commit of `{tip}`'s history as the start, or swap them: `{tip}..{base}`")
            }
        }
    }
}
