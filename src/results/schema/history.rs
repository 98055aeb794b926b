//! `history` and `bisect`: what a result measured against an anchor carries (`HistoryMark`), and
//! the summary of a history — its commits, and per benchmark the series of ratios to the anchor
//! with its levels and steps — that `history --format json` prints.

use serde::{Deserialize, Serialize};

use super::{Unit, Verdict};

/// The schema id of a history summary (`history --format json`).
pub const HISTORY_SCHEMA: &str = "coldbench-history/1";

/// A commit as git describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// The full sha.
    pub sha: String,
    /// The first line of its message.
    pub subject: String,
    /// `Name <email>` of its author.
    pub author: String,
    /// When it was committed, RFC 3339 (UTC).
    pub time: String,
}

impl CommitInfo {
    /// `a1b2c3d "Parse args lazily"`.
    pub fn describe(&self) -> String {
        format!("{} \"{}\"", super::short_sha(&self.sha), self.subject)
    }
}

/// What makes a result one point of a history: the commit measured, the anchor it was measured
/// against (interleaved), and the key of the benchmark definitions and settings it was measured
/// with, so that a later `history` or `bisect` can tell whether it may reuse it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryMark {
    /// The commit measured (the candidate of the comparison).
    pub commit: CommitInfo,
    /// The anchor's full sha (the baseline of the comparison).
    pub anchor: String,
    /// A digest of the definitions, options, compiler and tool version.
    pub key: String,
    /// Why this commit is a gap in the series (it does not build); `None` when it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
}

/// A history: every commit measured against one anchor, and per benchmark its series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Always [`HISTORY_SCHEMA`].
    pub schema: String,
    /// Version of cargo-coldbench that made it.
    pub tool_version: String,
    /// UTC time it was made, RFC 3339.
    pub timestamp: String,
    /// The commit every point was measured against.
    pub anchor: CommitInfo,
    /// The commits, oldest first.
    pub commits: Vec<HistoryCommit>,
    /// Per benchmark and metric, in the order the benchmarks were defined.
    pub series: Vec<HistorySeries>,
}

/// One commit of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryCommit {
    /// The commit.
    #[serde(flatten)]
    pub commit: CommitInfo,
    /// Why it has no measurement (it does not build); `None` when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
    /// Its result file (`history/<sha>.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<std::path::PathBuf>,
    /// Whether this run took it from an earlier one instead of measuring it.
    #[serde(default)]
    pub reused: bool,
    /// First-parent commits between the previous commit of the history and this one that the
    /// history left out (`--every`).
    #[serde(default)]
    pub left_out: usize,
}

/// The series of one benchmark's metric over a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistorySeries {
    /// The benchmark id.
    pub id: String,
    /// The metric (the benchmark's headline).
    pub metric: String,
    /// The metric's unit (of `value`).
    pub unit: Unit,
    /// Changes within ±noise (a fraction) are not marked as steps.
    pub noise: f64,
    /// One point per commit of the history, in its order.
    pub points: Vec<SeriesPoint>,
    /// Runs of points at one level.
    pub levels: Vec<SeriesLevel>,
    /// Where the ratio to the anchor changed level by more than the noise.
    pub steps: Vec<SeriesStep>,
    /// Where the absolute values changed level but the ratio to the anchor did not: the machine
    /// got faster or slower during the run, which measuring against the anchor cancelled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<SeriesStep>,
}

/// One commit's point of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// The commit's sha.
    pub sha: String,
    /// Commit / anchor at the compared location, with its bootstrap 95% CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// The 95% CI of `ratio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<[f64; 2]>,
    /// The commit's own value at the compared location (its median or mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The 95% CI of the commit's own median, when the median is compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_ci95: Option<[f64; 2]>,
    /// The verdict of the comparison with the anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Why there is no ratio (the commit does not build, the benchmark failed there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
}

/// A run of commits at one level of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesLevel {
    /// Position of its first commit in the history.
    pub from: usize,
    /// Position of its last commit.
    pub to: usize,
    /// The level (ratio to the anchor) and its 95% CI.
    pub ratio: f64,
    /// The 95% CI of `ratio`.
    pub ci95: [f64; 2],
}

/// A change of level in a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesStep {
    /// The first commit at the new level.
    pub sha: String,
    /// Its position in the history.
    pub index: usize,
    /// The position of the last measured commit at the old level; the change happened in one of
    /// the commits after it up to `index`.
    pub after: usize,
    /// New level / old level − 1 (`0.10`: 10% higher).
    pub change: f64,
    /// The 95% CI of `change`.
    pub ci95: [f64; 2],
}
