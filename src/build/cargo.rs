//! Running cargo: `cargo build` with `--message-format=json-render-diagnostics` so that artifact
//! paths come from cargo itself, `cargo clean -p` of the path packages of a compared ref, and
//! the already built files of `--no-build`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use cargo_metadata::{Message, MetadataCommand, TargetKind};

use super::{ArtifactKind, ArtifactRef, Executables};
use crate::discover::workspace::{is_shared_lib, metadata_error, CargoOptions, Workspace};
use crate::error::UserError;
use crate::ui::Ui;

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

/// Copies a tree, keeping modification times. A file that disappears while it is copied (a
/// cargo build running in the user's target directory replaces its outputs) is left out: the
/// seed only spares work, and cargo rebuilds what it lacks.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        match copy_entry(&entry?, to) {
            Ok(n) => bytes += n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(bytes)
}

fn copy_entry(entry: &std::fs::DirEntry, to: &Path) -> std::io::Result<u64> {
    let kind = entry.file_type()?;
    let dest = to.join(entry.file_name());
    if kind.is_dir() {
        copy_tree(&entry.path(), &dest)
    } else if kind.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        Ok(0)
    } else {
        let modified = entry.metadata()?.modified()?;
        let bytes = std::fs::copy(entry.path(), &dest)?;
        std::fs::File::options().write(true).open(&dest)?.set_modified(modified)?;
        Ok(bytes)
    }
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
