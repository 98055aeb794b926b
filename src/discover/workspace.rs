//! The workspace as `cargo metadata` describes it, and package selection the way cargo does it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cargo_metadata::{Metadata, MetadataCommand, Package, TargetKind};

use crate::error::UserError;

/// Cargo's own options, forwarded to `cargo metadata` and `cargo build`.
#[derive(Debug, Clone, Default)]
pub struct CargoOptions {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `-p/--package`.
    pub packages: Vec<String>,
    /// `--workspace`.
    pub workspace: bool,
    /// `--exclude`.
    pub exclude: Vec<String>,
    /// `--features`.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--profile` (`release` unless given).
    pub profile: String,
    /// `--target-dir`.
    pub target_dir: Option<PathBuf>,
    /// `--locked`.
    pub locked: bool,
    /// `--offline`.
    pub offline: bool,
    /// `--frozen`.
    pub frozen: bool,
    /// Skip `-p`/`--exclude` names this workspace lacks instead of failing (a comparison's other side).
    pub lenient: bool,
}

impl CargoOptions {
    /// `--locked`, `--offline`, `--frozen` as given.
    pub fn lock_flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.locked {
            flags.push("--locked");
        }
        if self.offline {
            flags.push("--offline");
        }
        if self.frozen {
            flags.push("--frozen");
        }
        flags
    }

    /// The folder under the target directory that holds this profile's output.
    pub fn profile_dir(&self) -> &str {
        match self.profile.as_str() {
            "dev" | "test" => "debug",
            "release" | "bench" => "release",
            other => other,
        }
    }
}

/// A selected workspace member and what coldbench needs of it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Cargo's id of the package (matches the ids in build messages).
    pub id: cargo_metadata::PackageId,
    /// Package name.
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest: PathBuf,
    /// Names of its binary targets, in manifest order.
    pub bins: Vec<String>,
    /// Names of its `cdylib`/`dylib` targets.
    pub libs: Vec<String>,
    /// Whether it depends on PyO3 (its libraries are Python extensions that load only in Python).
    pub python_extension: bool,
    /// Its `package.metadata` value.
    pub metadata: serde_json::Value,
}

impl Member {
    /// The package's folder (where commands run).
    pub fn dir(&self) -> &Path {
        self.manifest.parent().unwrap_or(Path::new("."))
    }
}

/// The workspace as `cargo metadata` describes it, with the selected members.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Workspace root folder.
    pub root: PathBuf,
    /// The root `Cargo.toml`.
    pub root_manifest: PathBuf,
    /// The effective target directory (`--target-dir`, `CARGO_TARGET_DIR`, or cargo's default).
    pub target_dir: PathBuf,
    /// `[workspace.metadata]`.
    pub metadata: serde_json::Value,
    /// Selected members, in workspace order.
    pub members: Vec<Member>,
    /// Every member, selected or not (the other side of a comparison is matched against these).
    pub all_members: Vec<Member>,
}

/// Runs `cargo metadata` and selects packages the way cargo does.
pub fn load(opts: &CargoOptions) -> Result<Workspace> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(path) = &opts.manifest_path {
        cmd.manifest_path(path);
    }
    cmd.other_options(opts.lock_flags().iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let metadata = cmd.exec().map_err(metadata_error)?;
    let members = select(&metadata, opts)?;
    let all_members = metadata.workspace_packages().into_iter().map(member).collect();
    let target_dir = match &opts.target_dir {
        Some(dir) => std::path::absolute(dir).context("resolving --target-dir")?,
        None => metadata.target_directory.clone().into_std_path_buf(),
    };
    let root = metadata.workspace_root.clone().into_std_path_buf();
    Ok(Workspace {
        root_manifest: root.join("Cargo.toml"),
        root,
        target_dir,
        metadata: metadata.workspace_metadata.clone(),
        members,
        all_members,
    })
}

pub(crate) fn metadata_error(err: cargo_metadata::Error) -> anyhow::Error {
    match err {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            let message = stderr
                .lines()
                .find(|l| l.starts_with("error:"))
                .map(|l| l.trim_start_matches("error:").trim().to_string())
                .unwrap_or_else(|| stderr.trim().to_string());
            if message.contains("could not find `Cargo.toml`") || message.contains("does not exist") {
                UserError::NotACargoProject { detail: message }.into()
            } else {
                anyhow::anyhow!("`cargo metadata` failed:\n{}", stderr.trim_end())
            }
        }
        other => anyhow::Error::new(other).context("running `cargo metadata`"),
    }
}

fn select(metadata: &Metadata, opts: &CargoOptions) -> Result<Vec<Member>> {
    let members: Vec<&Package> = metadata.workspace_packages();
    let names: Vec<String> = members.iter().map(|p| p.name.to_string()).collect();
    if !opts.exclude.is_empty() && !opts.workspace {
        return Err(UserError::Invalid("--exclude can only be used together with --workspace".into()).into());
    }
    for name in opts.packages.iter().chain(&opts.exclude) {
        if !names.contains(name) && !opts.lenient {
            return Err(UserError::UnknownPackage { name: name.clone(), available: names.clone() }.into());
        }
    }
    let chosen: Vec<&Package> = if opts.workspace {
        members.into_iter().filter(|p| !opts.exclude.iter().any(|e| e == p.name.as_str())).collect()
    } else if !opts.packages.is_empty() {
        members.into_iter().filter(|p| opts.packages.iter().any(|n| n == p.name.as_str())).collect()
    } else if let Some(root) = metadata.root_package() {
        vec![root]
    } else if metadata.workspace_default_members.is_available() {
        let defaults = &metadata.workspace_default_members;
        members.into_iter().filter(|p| defaults.contains(&p.id)).collect()
    } else {
        members
    };
    Ok(chosen.into_iter().map(member).collect())
}

fn member(p: &Package) -> Member {
    Member {
        id: p.id.clone(),
        name: p.name.to_string(),
        manifest: p.manifest_path.clone().into_std_path_buf(),
        bins: p.targets.iter().filter(|t| t.kind.contains(&TargetKind::Bin)).map(|t| t.name.clone()).collect(),
        libs: p.targets.iter().filter(|t| is_shared_lib(&t.kind)).map(|t| t.name.clone()).collect(),
        python_extension: p.dependencies.iter().any(|d| d.name == "pyo3"),
        metadata: p.metadata.clone(),
    }
}

pub(crate) fn is_shared_lib(kinds: &[TargetKind]) -> bool {
    kinds.iter().any(|k| matches!(k, TargetKind::CDyLib | TargetKind::DyLib))
}
