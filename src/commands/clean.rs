//! `cargo coldbench clean [--keep N]`: removes the checkouts, builds and cached files of compared
//! refs, and the Python environments of Python import rows. Results, baselines and reports stay.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::store_for;
use crate::cli::RunArgs;
use crate::measure::python::venv::{self, VENVS_DIR};
use crate::results::STAGE_DIR;
use crate::results::{Store, StoreLock};
use crate::ui::Ui;

/// `clean [--keep N]`.
pub fn command(keep: Option<usize>, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let store = store_for(args)?;
    if !store.dir().exists() {
        ui.status("Clean", format!("nothing to clean: {} does not exist", store.dir().display()));
        return Ok(0);
    }
    let lock = crate::pipeline::store::lock_store(&store, ui)?;
    let cleaned = clean(&store, keep, &lock)?;
    ui.status("Removed", describe(&cleaned, store.dir()));
    Ok(0)
}

/// What [`clean`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Checkouts removed (`worktrees/<sha>/`).
    pub checkouts: usize,
    /// Cached builds removed (`artifacts/<sha>/`).
    pub artifact_sets: usize,
    /// Whether the shared build folder (`build/`) was removed.
    pub build_dir: bool,
    /// Python environments removed (`venvs/<key>/`).
    pub envs: usize,
    /// Refs kept with `--keep`.
    pub kept: usize,
    /// Bytes of disk freed.
    pub freed: u64,
}

/// Removes the cached checkouts, builds and artifacts of compared refs, keeping the `keep` most
/// recently compared ones (and then the shared build folder, which holds their dependencies, and
/// the Python environments of the package folders that are left).
pub fn clean(store: &Store, keep: Option<usize>, _lock: &StoreLock) -> Result<Cleaned> {
    let dir = store.dir();
    let mut refs = compared_refs(dir);
    refs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kept = keep.unwrap_or(0).min(refs.len());
    let mut out = Cleaned { kept, ..Cleaned::default() };
    for (sha, _) in refs.into_iter().skip(kept) {
        let checkout = dir.join("worktrees").join(&sha);
        if checkout.exists() {
            out.freed += remove(&checkout)?;
            out.checkouts += 1;
        }
        let _ = std::fs::remove_file(checkout.with_extension("complete"));
        let artifacts = dir.join("artifacts").join(&sha);
        if artifacts.exists() {
            out.freed += remove(&artifacts)?;
            out.artifact_sets += 1;
        }
    }
    if kept == 0 {
        for leftover in ["build", "worktrees", "artifacts"] {
            let path = dir.join(leftover);
            if path.exists() {
                out.freed += remove(&path)?;
                out.build_dir |= leftover == "build";
            }
        }
    }
    out.envs = clean_envs(&dir.join(VENVS_DIR), keep.unwrap_or(0) == 0, &mut out.freed)?;
    let stage = dir.join(STAGE_DIR);
    if stage.exists() {
        out.freed += remove(&stage)?;
    }
    Ok(out)
}

/// One line for the user: what went and how much disk that freed.
pub fn describe(c: &Cleaned, dir: &Path) -> String {
    if c.freed == 0 && c.checkouts == 0 && c.artifact_sets == 0 && !c.build_dir && c.envs == 0 {
        return format!(
            "nothing: {} holds no checkouts or builds of compared refs, nor Python environments",
            dir.display()
        );
    }
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts =
        vec![plural(c.checkouts, "checkout", "checkouts"), plural(c.artifact_sets, "cached build", "cached builds")];
    if c.build_dir {
        parts.push("the shared build folder".into());
    }
    if c.envs > 0 {
        parts.push(plural(c.envs, "Python environment", "Python environments"));
    }
    let kept = if c.kept > 0 {
        format!("; kept the {} most recently compared", plural(c.kept, "ref", "refs"))
    } else {
        String::new()
    };
    format!("{}: {} freed{kept}", parts.join(", "), crate::units::format_bytes(c.freed as f64))
}

/// Removes every Python environment (`all`), or those whose package folder is gone (a checkout
/// removed) or that were never completed; returns how many, adding their size to `freed`.
fn clean_envs(venvs: &Path, all: bool, freed: &mut u64) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(venvs) else { return Ok(0) };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if all || venv::package_of(&path).is_none_or(|package| !package.is_dir()) {
            *freed += remove(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The refs with a checkout or cached build, and when each was last compared.
fn compared_refs(dir: &Path) -> Vec<(String, SystemTime)> {
    let mut found: Vec<(String, SystemTime)> = Vec::new();
    for folder in ["worktrees", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_sha = name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if !is_sha || !entry.path().is_dir() || found.iter().any(|(s, _)| *s == name) {
                continue;
            }
            // The checkout's marker is touched at every use; a cached build alone tells its age.
            let marker = dir.join("worktrees").join(&name).with_extension("complete");
            let used = std::fs::metadata(&marker)
                .or_else(|_| std::fs::metadata(entry.path()))
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            found.push((name, used));
        }
    }
    found
}

fn remove(path: &PathBuf) -> Result<u64> {
    let size = crate::pipeline::store::disk_usage(path);
    std::fs::remove_dir_all(path).with_context(|| format!("could not remove {}", path.display()))?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::store::mark_used;

    fn fake_ref(dir: &Path, sha: &str, age_secs: u64) {
        let checkout = dir.join("worktrees").join(sha);
        std::fs::create_dir_all(&checkout).unwrap();
        std::fs::write(checkout.join("Cargo.toml"), vec![b'x'; 10_000]).unwrap();
        let marker = checkout.with_extension("complete");
        std::fs::write(&marker, sha).unwrap();
        let when = SystemTime::now() - std::time::Duration::from_secs(age_secs);
        std::fs::File::options().write(true).open(&marker).unwrap().set_modified(when).unwrap();
        std::fs::create_dir_all(dir.join("artifacts").join(sha)).unwrap();
    }

    #[test]
    fn keeps_the_most_recent_refs_and_never_touches_results() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        let (old, mid, new) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
        fake_ref(dir.path(), &old, 300);
        fake_ref(dir.path(), &mid, 200);
        fake_ref(dir.path(), &new, 100);
        std::fs::create_dir_all(dir.path().join("build/release")).unwrap();
        std::fs::create_dir_all(dir.path().join("runs")).unwrap();
        std::fs::write(dir.path().join("runs/x.json"), "{}").unwrap();
        std::fs::write(dir.path().join("latest.json"), "{}").unwrap();
        let lock = store.lock(|_| {}).unwrap();

        mark_used(dir.path(), &old);
        let cleaned = clean(&store, Some(2), &lock).unwrap();
        assert_eq!((cleaned.checkouts, cleaned.artifact_sets, cleaned.build_dir, cleaned.kept), (1, 1, false, 2));
        assert!(cleaned.freed >= 10_000, "{cleaned:?}");
        assert!(dir.path().join("worktrees").join(&old).exists(), "just used: kept");
        assert!(!dir.path().join("worktrees").join(&mid).exists(), "the least recently used goes");
        assert!(dir.path().join("build").exists());

        let cleaned = clean(&store, None, &lock).unwrap();
        assert_eq!((cleaned.checkouts, cleaned.build_dir), (2, true));
        for gone in ["worktrees", "artifacts", "build"] {
            assert!(!dir.path().join(gone).exists(), "{gone}");
        }
        assert!(dir.path().join("runs/x.json").exists() && dir.path().join("latest.json").exists());
        assert_eq!(clean(&store, None, &lock).unwrap().freed, 0);
    }

    #[test]
    fn python_environments_go_with_their_package_folder_or_all_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        let lock = store.lock(|_| {}).unwrap();
        let package = dir.path().join("pkg");
        std::fs::create_dir_all(&package).unwrap();
        let env = |key: &str, package: &Path| {
            let env = dir.path().join(VENVS_DIR).join(key);
            std::fs::create_dir_all(env.join("bin")).unwrap();
            let marker = serde_json::json!({ "package": package });
            std::fs::write(env.join(venv::MARKER), marker.to_string()).unwrap();
            env
        };
        let kept = env("aaaa", &package);
        let orphan = env("bbbb", &dir.path().join("worktrees/gone/pkg"));
        let incomplete = dir.path().join(VENVS_DIR).join("cccc");
        std::fs::create_dir_all(&incomplete).unwrap();
        let cleaned = clean(&store, Some(1), &lock).unwrap();
        assert_eq!(cleaned.envs, 2, "{cleaned:?}");
        assert!(kept.exists() && !orphan.exists() && !incomplete.exists());
        assert!(describe(&cleaned, dir.path()).contains("2 Python environments"));
        assert_eq!(clean(&store, None, &lock).unwrap().envs, 1);
        assert!(!kept.exists());
    }
}
