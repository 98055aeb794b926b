//! The cargo side: workspace discovery with `cargo metadata`, package selection, and building
//! with `--message-format=json-render-diagnostics` so artifact paths come from cargo itself.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use cargo_metadata::{Message, Metadata, MetadataCommand, Package, TargetKind};

use crate::error::UserError;
use crate::ui::Ui;

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
    fn lock_flags(&self) -> Vec<&'static str> {
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

fn metadata_error(err: cargo_metadata::Error) -> anyhow::Error {
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

fn is_shared_lib(kinds: &[TargetKind]) -> bool {
    kinds.iter().any(|k| matches!(k, TargetKind::CDyLib | TargetKind::DyLib))
}

/// What kind of file a built target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// An executable (`[[bin]]`).
    Bin,
    /// A shared library (`cdylib` or `dylib`).
    SharedLib,
}

/// A target to build: package, target name and kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ArtifactRef {
    /// Package name.
    pub package: String,
    /// Target name.
    pub target: String,
    /// Executable or shared library.
    pub kind: ArtifactKind,
}

impl ArtifactRef {
    /// A `[[bin]]` target.
    pub fn bin(package: &str, target: &str) -> Self {
        ArtifactRef { package: package.into(), target: target.into(), kind: ArtifactKind::Bin }
    }

    /// A `cdylib`/`dylib` target.
    pub fn lib(package: &str, target: &str) -> Self {
        ArtifactRef { package: package.into(), target: target.into(), kind: ArtifactKind::SharedLib }
    }

    /// The file name cargo gives the output (`app`, `libapp.so`).
    pub fn file_name(&self) -> String {
        match self.kind {
            ArtifactKind::Bin => self.target.clone(),
            ArtifactKind::SharedLib => format!("lib{}.so", self.target),
        }
    }
}

impl std::fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.package, self.target)
    }
}

/// Built executables and libraries by package and target.
pub type Executables = BTreeMap<ArtifactRef, PathBuf>;

/// Builds the targets with cargo and returns their paths from cargo's artifact messages.
///
/// A spinner shows what cargo is compiling; cargo's diagnostics are shown as cargo rendered them
/// when the build fails (and always with `-v`). Binaries and libraries are built by separate cargo
/// invocations, since `--lib` fails for a selected package that has no library.
pub fn build(ws: &Workspace, opts: &CargoOptions, wanted: &[ArtifactRef], ui: &Ui) -> Result<Executables> {
    let mut found = Executables::new();
    for kind in [ArtifactKind::Bin, ArtifactKind::SharedLib] {
        let group: Vec<&ArtifactRef> = wanted.iter().filter(|a| a.kind == kind).collect();
        if !group.is_empty() {
            build_group(ws, opts, &group, ui, &mut found)?;
        }
    }
    let missing: Vec<String> = wanted.iter().filter(|a| !found.contains_key(a)).map(|a| a.to_string()).collect();
    if !missing.is_empty() {
        anyhow::bail!("cargo built successfully but reported no output for {}", missing.join(", "));
    }
    Ok(found)
}

fn build_group(
    ws: &Workspace,
    opts: &CargoOptions,
    group: &[&ArtifactRef],
    ui: &Ui,
    found: &mut Executables,
) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .args(["--profile", &opts.profile])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&ws.root_manifest)
        .args(["--color", if ui.stderr_colored() { "always" } else { "never" }]);
    let mut packages: Vec<&str> = group.iter().map(|a| a.package.as_str()).collect();
    packages.sort();
    packages.dedup();
    for p in &packages {
        cmd.args(["-p", p]);
    }
    if group[0].kind == ArtifactKind::SharedLib {
        cmd.arg("--lib");
    } else {
        let mut names: Vec<&str> = group.iter().map(|a| a.target.as_str()).collect();
        names.sort();
        names.dedup();
        for b in &names {
            cmd.args(["--bin", b]);
        }
    }
    for f in &opts.features {
        cmd.args(["--features", f]);
    }
    if opts.all_features {
        cmd.arg("--all-features");
    }
    if opts.no_default_features {
        cmd.arg("--no-default-features");
    }
    if let Some(dir) = &opts.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    cmd.args(opts.lock_flags());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    ui.note(format!("running {cmd:?}"));

    let mut child = cmd.spawn().context("could not run cargo")?;
    let spinner = ui.spinner("Building");
    let stderr = child.stderr.take().expect("piped");
    let verbose = ui.verbose && !ui.quiet;
    let stderr_spinner = spinner.clone();
    let stderr_thread = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let plain = console::strip_ansi_codes(&line).trim_start().to_string();
            if verbose {
                stderr_spinner.suspend(|| eprintln!("{line}"));
            } else if let Some(rest) = plain.strip_prefix("Compiling ") {
                stderr_spinner.set_message(format!("Compiling {rest}"));
            } else {
                kept.push(line);
            }
        }
        kept
    });

    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    for message in Message::parse_stream(stdout) {
        let Message::CompilerArtifact(artifact) = message.context("reading cargo's JSON messages")? else { continue };
        let Some(member) = ws.members.iter().find(|m| m.id == artifact.package_id) else { continue };
        let kind = &artifact.target.kind;
        if kind.contains(&TargetKind::Bin) {
            if let Some(exe) = artifact.executable {
                found.insert(ArtifactRef::bin(&member.name, &artifact.target.name), exe.into_std_path_buf());
            }
        } else if is_shared_lib(kind) {
            if let Some(so) = artifact.filenames.iter().find(|f| f.as_str().ends_with(".so")) {
                found.insert(ArtifactRef::lib(&member.name, &artifact.target.name), so.clone().into_std_path_buf());
            }
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    spinner.finish_and_clear();
    let kept = stderr_thread.join().unwrap_or_default();
    if !status.success() {
        for line in &kept {
            eprintln!("{line}");
        }
        return Err(UserError::BuildFailed { status: status.to_string() }.into());
    }
    Ok(())
}

/// Names of every package built from a path (workspace members, selected or not, and path
/// dependencies): the ones whose outputs a comparison must not share between checkouts.
pub fn path_packages(ws: &Workspace, opts: &CargoOptions) -> Result<Vec<String>> {
    let mut cmd = MetadataCommand::new();
    cmd.manifest_path(&ws.root_manifest);
    cmd.other_options(opts.lock_flags().iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let metadata = cmd.exec().map_err(metadata_error)?;
    let mut names: Vec<String> =
        metadata.packages.iter().filter(|p| p.source.is_none()).map(|p| p.name.to_string()).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Removes the build outputs of the given path packages from the target directory, so that
/// the next build compiles them from this checkout's sources.
///
/// The sides of a comparison share one target directory so that dependencies compile once, but
/// cargo hashes a path package relative to its workspace root: the same member in two checkouts
/// gets the same fingerprint, and cargo would take one side's binary as fresh for the other.
pub fn clean_members(ws: &Workspace, opts: &CargoOptions, packages: &[&str], ui: &Ui) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("clean").args(["--profile", &opts.profile]).arg("--manifest-path").arg(&ws.root_manifest);
    if let Some(dir) = &opts.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.args(opts.lock_flags()).arg("--quiet").stdin(Stdio::null());
    ui.note(format!("running {cmd:?}"));
    let out = cmd.output().context("could not run cargo clean")?;
    if !out.status.success() {
        anyhow::bail!("`cargo clean -p` failed:\n{}", String::from_utf8_lossy(&out.stderr).trim_end());
    }
    Ok(())
}

/// Seeds an empty target directory for a profile with the build outputs of another (the user's
/// own), so that the first build of a compared ref compiles only what differs instead of every
/// dependency again. Returns the bytes copied; nothing when `to` has that profile already or
/// `from` does not.
///
/// Safe because cargo decides freshness itself: fingerprints do not depend on where the target
/// directory is, registry dependencies are fresh when their version, features and flags match,
/// and the path packages are cleaned before each ref's build (see [`clean_members`]). Copies keep
/// their modification times; `copy_file_range` shares extents where the file system can.
pub fn seed_target_dir(from: &Path, to: &Path, profile_dir: &str) -> Result<u64> {
    let (src, dest) = (from.join(profile_dir), to.join(profile_dir));
    if dest.exists() || !src.is_dir() {
        return Ok(0);
    }
    let staging = to.join(format!(".{profile_dir}.seeding"));
    let _ = std::fs::remove_dir_all(&staging);
    let mut copied = 0;
    // Executables at the top are the user's; dependencies, build-script output and fingerprints
    // are what spares a rebuild. Incremental caches belong to path packages, which rebuild anyway.
    for part in ["deps", "build", ".fingerprint"] {
        if src.join(part).is_dir() {
            copied += copy_tree(&src.join(part), &staging.join(part))
                .with_context(|| format!("seeding {} from {}", dest.display(), src.display()))?;
        }
    }
    std::fs::rename(&staging, &dest).with_context(|| format!("could not move the seed into {}", dest.display()))?;
    Ok(copied)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            bytes += copy_tree(&entry.path(), &dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            bytes += std::fs::copy(entry.path(), &dest)?;
            let modified = entry.metadata()?.modified()?;
            std::fs::File::options().write(true).open(&dest)?.set_modified(modified)?;
        }
    }
    Ok(bytes)
}

/// With `--no-build`: finds the already-built executables, naming every one that is missing.
pub fn find_built(ws: &Workspace, opts: &CargoOptions, bins: &[ArtifactRef]) -> Result<Executables> {
    let dir = ws.target_dir.join(opts.profile_dir());
    let mut found = Executables::new();
    let mut missing = Vec::new();
    for b in bins {
        let path = dir.join(b.file_name());
        if path.is_file() {
            found.insert(b.clone(), path);
        } else {
            missing.push(format!("{b} ({})", path.display()));
        }
    }
    if !missing.is_empty() {
        return Err(UserError::NotBuilt { missing, profile: opts.profile.clone() }.into());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_copies_dependencies_not_executables_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("user"), dir.path().join("build"));
        for file in ["release/deps/libdep.rlib", "release/.fingerprint/dep/lib", "release/build/dep/out", "release/app"]
        {
            std::fs::create_dir_all(from.join(file).parent().unwrap()).unwrap();
            std::fs::write(from.join(file), file).unwrap();
        }
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(from.join("release/deps/libdep.rlib"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let copied = seed_target_dir(&from, &to, "release").unwrap();
        assert!(copied > 0);
        assert!(to.join("release/deps/libdep.rlib").is_file() && to.join("release/build/dep/out").is_file());
        assert!(to.join("release/.fingerprint/dep/lib").is_file());
        assert!(!to.join("release/app").exists(), "the user's executables are not copied");
        let mtime = std::fs::metadata(to.join("release/deps/libdep.rlib")).unwrap().modified().unwrap();
        assert_eq!(mtime, old, "modification times are kept");
        assert_eq!(seed_target_dir(&from, &to, "release").unwrap(), 0, "a build folder with the profile is left alone");
        assert_eq!(seed_target_dir(&from, &to, "dev-fast").unwrap(), 0, "nothing to seed from");
    }
}
