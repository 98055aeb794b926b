//! Ranges of commits for `history` and `bisect`: what the user wrote (`v1.2.0..HEAD`, `main`),
//! resolved to the first-parent line of commits it means, oldest first, read with git2 without
//! changing anything.

use anyhow::{Context, Result};

use super::git::{self, RefError, ResolvedRef};
use crate::results::CommitInfo;

/// The commits `history` measures when no range or `--last` says.
pub const DEFAULT_LAST: usize = 20;

/// A range as written: `A..B`, `A..`, `..B`, or `B`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSpec {
    /// The commit the range starts from (`A`), included in the line.
    pub base: Option<String>,
    /// The newest commit (`B`; `HEAD` when left out).
    pub tip: String,
}

impl RangeSpec {
    /// Reads a range; no text means `HEAD`.
    pub fn parse(text: Option<&str>) -> Result<RangeSpec, RefError> {
        let Some(text) = text.map(str::trim) else {
            return Ok(RangeSpec { base: None, tip: "HEAD".into() });
        };
        if text.contains("...") {
            return Err(RefError::BadRange { text: text.into() });
        }
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        match text.split_once("..") {
            Some((base, tip)) => {
                Ok(RangeSpec { base: nonempty(base), tip: nonempty(tip).unwrap_or_else(|| "HEAD".into()) })
            }
            None if text.is_empty() => Err(RefError::BadRange { text: text.into() }),
            None => Ok(RangeSpec { base: None, tip: text.into() }),
        }
    }
}

/// A first-parent line of commits, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The commits.
    pub commits: Vec<CommitInfo>,
    /// When the base is not on the tip's first-parent line: the base as written, and the line
    /// starts at the commit where the base's history left it (their fork point).
    pub forked_base: Option<String>,
    /// The walk stopped at a commit whose parent this shallow clone does not have.
    pub shallow: bool,
}

/// Resolves a range: the first-parent line from its tip back to its base (included), or the
/// newest `last` commits of it ([`DEFAULT_LAST`] without a base).
pub fn resolve(repo: &git2::Repository, spec: &RangeSpec, last: Option<usize>) -> Result<Line> {
    let tip = git::resolve(repo, &spec.tip).map_err(crate::error::UserError::from)?;
    let base =
        spec.base.as_deref().map(|b| git::resolve(repo, b)).transpose().map_err(crate::error::UserError::from)?;
    let limit = if base.is_some() { None } else { Some(last.unwrap_or(DEFAULT_LAST)) };
    let mut line = first_parent_line(repo, &tip, base.as_ref(), limit)?;
    if let Some(last) = last {
        let cut = line.commits.len().saturating_sub(last);
        line.commits.drain(..cut);
    }
    Ok(line)
}

/// The first-parent line from `tip` back: to `base` when it is on the line; to the newest commit
/// on the line that `base` descends from when it is not (a tag on a release branch); or to
/// `limit` commits; or to the first commit. Oldest first.
pub fn first_parent_line(
    repo: &git2::Repository,
    tip: &ResolvedRef,
    base: Option<&ResolvedRef>,
    limit: Option<usize>,
) -> Result<Line> {
    let base_oid = base.map(|b| git2::Oid::from_str(&b.sha)).transpose()?;
    let tip_oid = git2::Oid::from_str(&tip.sha)?;
    if let (Some(b), Some(oid)) = (base, base_oid) {
        if oid != tip_oid && !repo.graph_descendant_of(tip_oid, oid).unwrap_or(false) {
            return Err(crate::error::UserError::from(RefError::NotAncestor {
                base: b.name.clone(),
                tip: tip.name.clone(),
            })
            .into());
        }
    }
    let mut commits = Vec::new();
    let mut forked_base = None;
    let mut shallow = false;
    let mut at = repo.find_commit(tip_oid).with_context(|| format!("reading commit {}", tip.sha))?;
    loop {
        commits.push(info(&at));
        let id = at.id();
        if let (Some(b), Some(oid)) = (base, base_oid) {
            if id == oid {
                break;
            }
            if repo.graph_descendant_of(oid, id).unwrap_or(false) {
                forked_base = Some(b.name.clone());
                break;
            }
        }
        if limit.is_some_and(|l| commits.len() >= l) || at.parent_count() == 0 {
            break;
        }
        match at.parent(0) {
            Ok(parent) => at = parent,
            Err(_) => {
                shallow = true;
                break;
            }
        }
    }
    commits.reverse();
    Ok(Line { commits, forked_base, shallow })
}

/// A commit's sha, subject, author and time.
pub fn info(commit: &git2::Commit) -> CommitInfo {
    let author = commit.author();
    let name = author.name().unwrap_or("unknown");
    let author = match author.email() {
        Some(email) if !email.is_empty() => format!("{name} <{email}>"),
        _ => name.to_string(),
    };
    let seconds = u64::try_from(commit.time().seconds()).unwrap_or(0);
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    CommitInfo {
        sha: commit.id().to_string(),
        subject: commit.summary().unwrap_or("").to_string(),
        author,
        time: humantime::format_rfc3339_seconds(time).to_string(),
    }
}

/// The commit a resolved ref names.
pub fn commit_info(repo: &git2::Repository, r: &ResolvedRef) -> Result<CommitInfo> {
    let commit = repo.find_commit(git2::Oid::from_str(&r.sha)?).with_context(|| format!("reading commit {}", r.sha))?;
    Ok(info(&commit))
}

/// The positions of `n` commits (oldest first) that are kept when only every `every`-th is,
/// counting back from the newest; the oldest is always kept.
pub fn every(n: usize, every: usize) -> Vec<usize> {
    let every = every.max(1);
    (0..n).filter(|&i| i == 0 || (n - 1 - i).is_multiple_of(every)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_git_writes_them() {
        let spec = |t| RangeSpec::parse(t).unwrap();
        assert_eq!(spec(None), RangeSpec { base: None, tip: "HEAD".into() });
        assert_eq!(spec(Some("v1.0..main")), RangeSpec { base: Some("v1.0".into()), tip: "main".into() });
        assert_eq!(spec(Some("v1.0..")), RangeSpec { base: Some("v1.0".into()), tip: "HEAD".into() });
        assert_eq!(spec(Some("..main")), RangeSpec { base: None, tip: "main".into() });
        assert_eq!(spec(Some("HEAD~3")), RangeSpec { base: None, tip: "HEAD~3".into() });
        assert!(matches!(RangeSpec::parse(Some("a...b")), Err(RefError::BadRange { .. })));
        assert!(matches!(RangeSpec::parse(Some("")), Err(RefError::BadRange { .. })));
    }

    #[test]
    fn thinning_keeps_the_newest_every_kth_and_the_oldest() {
        assert_eq!(every(10, 3), [0, 3, 6, 9]);
        assert_eq!(every(10, 4), [0, 1, 5, 9]);
        assert_eq!(every(4, 1), [0, 1, 2, 3]);
        assert_eq!(every(1, 5), [0]);
        assert!(every(0, 2).is_empty());
    }
}
