//! Git facts about the workspace (sha, branch, dirty), read with git2 without changing anything.

use std::path::{Path, PathBuf};

pub use crate::error::RefError;
pub use crate::results::{short_sha as short, GitFacts};

/// Reads the facts of the repository containing `dir`; `None` outside git or before the first commit.
pub fn facts(dir: &Path) -> Option<GitFacts> {
    let repo = git2::Repository::discover(dir).ok()?;
    let head = repo.head().ok()?;
    let sha = head.peel_to_commit().ok()?.id().to_string();
    let branch = head.is_branch().then(|| head.shorthand().map(str::to_string)).flatten();
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(false).include_ignored(false).include_unmodified(false);
    let dirty = repo.statuses(Some(&mut opts)).map(|s| !s.is_empty()).unwrap_or(false);
    Some(GitFacts { sha, branch, dirty })
}

/// A ref resolved to a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRef {
    /// What the user wrote (`main`, `HEAD~3`).
    pub name: String,
    /// The commit's full sha.
    pub sha: String,
}

/// Opens the repository that contains `dir`.
pub fn open(dir: &Path) -> Result<git2::Repository, RefError> {
    git2::Repository::discover(dir).map_err(|_| RefError::NotARepository { dir: dir.to_path_buf() })
}

/// Resolves a branch, tag, sha or revision expression to a commit.
pub fn resolve(repo: &git2::Repository, name: &str) -> Result<ResolvedRef, RefError> {
    let shallow = repo.is_shallow();
    let object = repo.revparse_single(name).map_err(|_| RefError::Unknown {
        name: name.to_string(),
        close: close_names(repo, name),
        shallow,
    })?;
    match object.peel_to_commit() {
        Ok(commit) => {
            // In a shallow clone a ref can point at a commit whose tree was never fetched.
            if commit.tree().is_err() {
                return Err(RefError::NotFetched { name: name.to_string() });
            }
            Ok(ResolvedRef { name: name.to_string(), sha: commit.id().to_string() })
        }
        Err(_) if shallow => Err(RefError::NotFetched { name: name.to_string() }),
        Err(_) => Err(RefError::Unknown { name: name.to_string(), close: close_names(repo, name), shallow }),
    }
}

/// Branch and tag names that look like `name`, closest first.
fn close_names(repo: &git2::Repository, name: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Ok(branches) = repo.branches(None) {
        names.extend(branches.flatten().filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string)));
    }
    if let Ok(tags) = repo.tag_names(None) {
        names.extend(tags.iter().flatten().map(str::to_string));
    }
    let mut scored: Vec<(f64, String)> = names
        .into_iter()
        .map(|n| (strsim::jaro_winkler(name, &n), n))
        .filter(|(score, n)| *score >= 0.75 || n.contains(name))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(5).map(|(_, n)| n).collect()
}

/// Checks out `sha` into `dir` as a detached repository of its own, or reuses a complete one.
///
/// The checkout is a separate repository that borrows the user's objects through
/// `objects/info/alternates`, so nothing in the user's repository changes: no linked worktree is
/// registered, no branch is created, and the index, HEAD and stash are not touched. A marker file
/// beside the folder (`<sha>.complete`) is written last; a folder left half-written by an
/// interrupted run has none and is checked out afresh.
///
/// An interrupt (Ctrl-C) while the folder is written waits until it is whole (see
/// [`super::interrupt`]).
pub fn checkout(repo: &git2::Repository, sha: &str, dir: &Path) -> anyhow::Result<CheckoutState> {
    use anyhow::Context;
    let _whole = super::interrupt::hold();
    let marker = dir.with_extension("complete");
    if std::fs::read_to_string(&marker).is_ok_and(|s| s.trim() == sha) && dir.join(".git").is_dir() {
        return Ok(CheckoutState::Reused);
    }
    let _ = std::fs::remove_file(&marker);
    let state = if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("could not remove the broken checkout {}", dir.display()))?;
        CheckoutState::Repaired
    } else {
        CheckoutState::Created
    };
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let snapshot =
        git2::Repository::init(dir).with_context(|| format!("could not create a repository in {}", dir.display()))?;
    let objects = repo.commondir().join("objects");
    let alternates = snapshot.path().join("objects/info/alternates");
    std::fs::create_dir_all(alternates.parent().expect("has a parent"))?;
    std::fs::write(&alternates, format!("{}\n", objects.display()))
        .with_context(|| format!("could not write {}", alternates.display()))?;
    // Reopen so that libgit2 sees the alternates.
    let snapshot = git2::Repository::open(dir)?;
    let oid = git2::Oid::from_str(sha)?;
    snapshot.set_head_detached(oid).with_context(|| format!("could not find commit {sha}"))?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force();
    snapshot
        .checkout_head(Some(&mut checkout))
        .with_context(|| format!("could not check out {sha} into {}", dir.display()))?;
    std::fs::write(&marker, sha).with_context(|| format!("could not write {}", marker.display()))?;
    Ok(state)
}

/// What [`checkout`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutState {
    /// A complete checkout was there already.
    Reused,
    /// A new checkout was made.
    Created,
    /// An incomplete checkout was removed and made again.
    Repaired,
}

/// The path of `file` relative to the repository's working folder, for finding it in a checkout.
pub fn relative_to_workdir(repo: &git2::Repository, file: &Path) -> Option<PathBuf> {
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let file = file.canonicalize().ok()?;
    file.strip_prefix(&workdir).ok().map(Path::to_path_buf)
}
