//! Git facts about the workspace (sha, branch, dirty), read with git2 without changing anything.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The state of the repository a run measured (DESIGN §9 `git`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitFacts {
    /// Full sha of HEAD.
    pub sha: String,
    /// Current branch, `None` on a detached HEAD.
    pub branch: Option<String>,
    /// Whether tracked files differ from HEAD (as `git describe --dirty`; untracked files do not count).
    pub dirty: bool,
}

impl GitFacts {
    /// The first 7 characters of the sha.
    pub fn short_sha(&self) -> &str {
        &self.sha[..self.sha.len().min(7)]
    }
}

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
