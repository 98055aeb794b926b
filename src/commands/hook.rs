//! `cargo coldbench hook install|uninstall`: the git pre-push hook from `templates/pre-push`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::git;
use crate::cli::{HookAction, RunArgs};
use crate::error::UserError;
use crate::ui::Ui;

const TEMPLATE: &str = include_str!("../../templates/pre-push");
/// The line that identifies a hook written by cargo-coldbench.
pub const MARKER: &str = "# cargo-coldbench pre-push hook";
const BACKUP: &str = "pre-push.coldbench-backup";

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// A new hook.
    Fresh(PathBuf),
    /// Our older hook was rewritten.
    Updated(PathBuf),
    /// Someone else's hook was moved to the backup path first (`--force`).
    ReplacedWithBackup { hook: PathBuf, backup: PathBuf },
}

/// What `uninstall` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uninstalled {
    /// There was no pre-push hook.
    NotInstalled,
    /// Our hook was removed.
    Removed(PathBuf),
    /// Our hook was removed and the user's earlier hook put back.
    Restored(PathBuf),
}

/// The repository's hooks folder (`core.hooksPath` when set).
fn hooks_dir(repo: &git2::Repository) -> PathBuf {
    let configured = repo.config().ok().and_then(|c| c.get_path("core.hooksPath").ok());
    match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().unwrap_or(repo.path()).join(p),
        None => repo.commondir().join("hooks"),
    }
}

/// Writes the pre-push hook for the workspace whose root manifest is `manifest`.
///
/// `coldbench` is the executable the hook calls (this one); `manifest` is recorded relative to the
/// repository so that the hook works from any clone location.
pub fn install(manifest: &Path, coldbench: &Path, force: bool) -> Result<Installed> {
    let repo = git::open(manifest.parent().unwrap_or(Path::new("."))).map_err(UserError::from)?;
    let rel = git::relative_to_workdir(&repo, manifest)
        .ok_or_else(|| UserError::Invalid(format!("{} is not inside the repository", manifest.display())))?;
    let dir = hooks_dir(&repo);
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let hook = dir.join("pre-push");
    let text = TEMPLATE
        .replace("@COLDBENCH@", &shell_quote(&coldbench.to_string_lossy()))
        .replace("@MANIFEST@", &shell_quote(&rel.to_string_lossy()));
    let existing = std::fs::read_to_string(&hook).ok();
    let outcome = match existing {
        None if !hook.exists() => Installed::Fresh(hook.clone()),
        Some(text) if text.contains(MARKER) => Installed::Updated(hook.clone()),
        _ => {
            if !force {
                return Err(UserError::Invalid(format!(
                    "{} exists and was not written by cargo-coldbench; leaving it alone \
                     (use --force to replace it; it will be kept as {BACKUP})",
                    hook.display()
                ))
                .into());
            }
            let backup = dir.join(BACKUP);
            if backup.exists() {
                return Err(UserError::Invalid(format!(
                    "{} already exists; move it away before replacing the hook again",
                    backup.display()
                ))
                .into());
            }
            std::fs::rename(&hook, &backup).with_context(|| format!("could not back up {}", hook.display()))?;
            Installed::ReplacedWithBackup { hook: hook.clone(), backup }
        }
    };
    write_executable(&hook, &text)?;
    Ok(outcome)
}

/// Removes the pre-push hook if cargo-coldbench wrote it, restoring a backup made by `install --force`.
pub fn uninstall(manifest: &Path) -> Result<Uninstalled> {
    let repo = git::open(manifest.parent().unwrap_or(Path::new("."))).map_err(UserError::from)?;
    let dir = hooks_dir(&repo);
    let hook = dir.join("pre-push");
    let Ok(existing) = std::fs::read_to_string(&hook) else {
        return Ok(Uninstalled::NotInstalled);
    };
    if !existing.contains(MARKER) {
        return Err(UserError::Invalid(format!(
            "{} was not written by cargo-coldbench; leaving it alone",
            hook.display()
        ))
        .into());
    }
    std::fs::remove_file(&hook).with_context(|| format!("could not remove {}", hook.display()))?;
    let backup = dir.join(BACKUP);
    if backup.exists() {
        std::fs::rename(&backup, &hook).with_context(|| format!("could not restore {}", backup.display()))?;
        return Ok(Uninstalled::Restored(hook));
    }
    Ok(Uninstalled::Removed(hook))
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    crate::results::write_atomic(path, text.as_bytes())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("could not make {} executable", path.display()))
}

/// Quotes a string for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `hook install|uninstall`.
pub fn command(action: &HookAction, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let ws = crate::discover::workspace::load(&args.cargo.to_options())?;
    match action {
        HookAction::Install { force } => {
            let exe = std::env::current_exe().context("could not find this executable")?;
            match install(&ws.root_manifest, &exe, *force)? {
                Installed::Fresh(p) => ui.status("Installed", p.display()),
                Installed::Updated(p) => ui.status("Updated", p.display()),
                Installed::ReplacedWithBackup { hook, backup } => {
                    ui.status("Installed", format!("{} (the old hook is kept as {})", hook.display(), backup.display()))
                }
            }
        }
        HookAction::Uninstall => match uninstall(&ws.root_manifest)? {
            Uninstalled::NotInstalled => ui.status("Skipped", "no pre-push hook is installed"),
            Uninstalled::Removed(p) => ui.status("Removed", p.display()),
            Uninstalled::Restored(p) => {
                ui.status("Removed", format!("the coldbench hook; restored the earlier {}", p.display()))
            }
        },
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_carries_the_marker_and_placeholders() {
        assert!(super::TEMPLATE.contains(super::MARKER));
        assert!(super::TEMPLATE.contains("@COLDBENCH@") && super::TEMPLATE.contains("@MANIFEST@"));
        assert_eq!(super::shell_quote("it's"), r"'it'\''s'");
    }
}
