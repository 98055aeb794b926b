//! `bisect`: the first commit of the first-parent line from good to bad at which a benchmark got
//! slower. Each probe is a comparison with good, interleaved, judged by the usual verdict —
//! measured again, the runs pooled, while it is unsure; the points of `history` against good and
//! earlier probes are used before anything is built. `commands::bisect` reads the command line
//! and prints what [`bisect`] returns.

mod assess;
mod report;

use std::collections::BTreeMap;

use anyhow::Result;

use self::assess::{assess, followed_rows, may_regress, pooled_row, row_text, Assessed};
use super::anchored::{unknown_metric, Anchored, Point, Setup};
use crate::analysis::bisection::{self, Found, Probe};
use crate::build::git;
use crate::build::range;
use crate::error::UserError;
use crate::results::{CommitInfo, ComparisonRow};
use crate::ui::Ui;

/// Sessions a probe may take to be sure of its call, their runs pooled.
const MAX_SESSIONS: usize = 4;

/// What a bisection is asked.
#[derive(Debug, Clone)]
pub struct Request {
    /// The fast commit (`--good`).
    pub good: String,
    /// The slow commit (`--bad`), a descendant of good.
    pub bad: String,
    /// The benchmarks followed (`--bench`); all when empty.
    pub benches: Vec<String>,
    /// The metric followed (`--metric`); the gating ones when `None`.
    pub metric: Option<String>,
}

/// How a bisection ended.
pub enum Outcome {
    /// The search ran for every benchmark that regressed.
    Searched(Bisection),
    /// There was nothing to search: why, and what to print first (the rows followed).
    CouldNot {
        /// One line: "nothing regressed between good and bad".
        why: String,
        /// For stdout; empty when there is nothing to show.
        text: String,
    },
    /// The request does not fit the repository or the definitions (a usage error).
    Usage(anyhow::Error),
}

/// A benchmark's metric that regressed between good and bad, and the ratio bad was measured at.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    id: String,
    metric: String,
    bad_ratio: f64,
}

/// Every session of each commit measured against good, by position on the line.
type Sessions = BTreeMap<usize, Vec<Point>>;

/// What the search found, per benchmark that regressed, and what it was found from.
pub struct Bisection {
    line: Vec<CommitInfo>,
    found: Vec<(Target, Found)>,
    sessions: Sessions,
    noise: Option<f64>,
}

impl Bisection {
    /// Whether a first slower commit was found for every benchmark that regressed.
    pub fn all_found(&self) -> bool {
        self.found.iter().all(|(_, f)| matches!(f, Found::First { .. }))
    }
}

/// Bisects the line from `request.good` to `request.bad`.
pub(crate) fn bisect(setup: &Setup, request: &Request, ui: &Ui) -> Result<Outcome> {
    let line = match line(setup, request) {
        Ok(line) => line,
        Err(e) => return Ok(Outcome::Usage(e)),
    };
    let n = line.len();
    let good = git::ResolvedRef { name: request.good.clone(), sha: line[0].sha.clone() };
    let mut anchored = Anchored::new(setup, good, ui)?;
    let noise = setup.opts.plan_options.noise;

    // Everything at hand: points measured earlier against good with these settings (of bad,
    // only one that has every benchmark followed).
    let ids = if request.benches.is_empty() { setup.ids() } else { request.benches.clone() };
    let mut sessions: Sessions =
        (1..n - 1).filter_map(|i| anchored.stored(&line[i], &[]).map(|p| (i, vec![p]))).collect();
    ui.status("Checking", format!("{} against {} (good)", line[n - 1].describe(), line[0].describe()));
    let bad = match anchored.stored(&line[n - 1], &ids) {
        Some(point) => point,
        None => anchored.measure(&line[n - 1], (!request.benches.is_empty()).then_some(request.benches.as_slice()))?,
    };
    if let Some(gap) = bad.gap() {
        ui.warn(format!("{}: {gap}", line[n - 1].describe()));
        let why = format!("the bad commit {} could not be measured", line[n - 1].describe());
        return Ok(Outcome::CouldNot { why, text: String::new() });
    }
    let followed: Vec<(String, String)> =
        followed_rows(&bad, request).map(|r| (r.id.clone(), r.metric.clone())).collect();
    if let (Some(metric), true) = (&request.metric, followed.is_empty()) {
        let unknown = unknown_metric(metric, std::iter::once(&bad.doc));
        return Ok(Outcome::Usage(UserError::Invalid(unknown).into()));
    }
    let (bad, rows) = settle_bad(&mut anchored, &line[n - 1], bad, &followed, noise, ui)?;
    let targets: Vec<Target> = rows
        .iter()
        .filter(|r| r.verdict.is_regression())
        .filter_map(|r| Some(Target { id: r.id.clone(), metric: r.metric.clone(), bad_ratio: r.ratio? }))
        .collect();
    if targets.is_empty() {
        let mut text = format!(
            "{} is not slower than {} in any benchmark followed:\n",
            line[n - 1].describe(),
            line[0].describe()
        );
        for row in &rows {
            text.push_str(&format!("  {} · {}: {}\n", row.id, row.metric, row_text(row)));
        }
        return Ok(Outcome::CouldNot { why: "nothing regressed between good and bad".into(), text });
    }
    sessions.insert(n - 1, bad);

    let wanted: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    let mut probed = 0;
    let mut found = Vec::new();
    for target in &targets {
        let (outcome, probes) = search(&mut anchored, &line, &mut sessions, target, &wanted, noise, ui)?;
        probed += probes;
        found.push((target.clone(), outcome));
    }
    anchored.report_cache();
    ui.status(
        "Bisected",
        format!("{} commits after good: {probed} probed, {} built by cargo (good included)", n - 1, anchored.built),
    );
    Ok(Outcome::Searched(Bisection { line, found, sessions, noise }))
}

/// Measures bad again, its runs pooled, while a followed row may still be a regression that the
/// runs so far cannot call (at most [`MAX_SESSIONS`] sessions); returns bad's sessions and rows.
fn settle_bad(
    anchored: &mut Anchored,
    bad_commit: &CommitInfo,
    first: Point,
    followed: &[(String, String)],
    noise: Option<f64>,
    ui: &Ui,
) -> Result<(Vec<Point>, Vec<ComparisonRow>)> {
    let mut bad = vec![first];
    loop {
        let rows: Vec<ComparisonRow> =
            followed.iter().filter_map(|(id, metric)| pooled_row(&bad, id, metric, noise)).collect();
        let unsure: Vec<String> =
            rows.iter().filter(|r| may_regress(r, &bad[0], noise)).map(|r| r.id.clone()).collect();
        if unsure.is_empty() || bad.len() >= MAX_SESSIONS {
            return Ok((bad, rows));
        }
        ui.status("Again", format!("{}: not sure yet, measuring more", bad_commit.describe()));
        bad.push(anchored.measure(bad_commit, Some(&unsure))?);
    }
}

/// The binary search for one target over the line, measuring (and measuring again while unsure)
/// the commits it probes, which are kept in `sessions` for the next target and the report; returns
/// what it found and how many commits it probed.
fn search(
    anchored: &mut Anchored,
    line: &[CommitInfo],
    sessions: &mut Sessions,
    target: &Target,
    wanted: &[String],
    noise: Option<f64>,
    ui: &Ui,
) -> Result<(Found, usize)> {
    let n = line.len();
    let known: BTreeMap<usize, Probe> = sessions
        .iter()
        .filter_map(|(i, s)| match assess(s, target, noise) {
            Assessed::Known(probe) => Some((*i, probe)),
            _ => None,
        })
        .collect();
    let mut failure = None;
    let mut probed = 0;
    let outcome = bisection::search(n, &known, |i| {
        let commit = &line[i];
        let kept = sessions.entry(i).or_default();
        probed += 1;
        loop {
            match assess(kept, target, noise) {
                Assessed::Known(probe) => return probe,
                Assessed::Unsure(best) if kept.len() >= MAX_SESSIONS => return best,
                Assessed::Unsure(_) => {
                    ui.status("Again", format!("{}: not sure yet, measuring more", commit.describe()))
                }
                Assessed::Missing => {
                    ui.status("Probing", format!("{} ({i} of {} commits after good)", commit.describe(), n - 1))
                }
            }
            match anchored.measure(commit, Some(wanted)) {
                Ok(point) => {
                    if let Some(gap) = point.gap() {
                        ui.warn(format!("{}: {gap}; skipped", commit.describe()));
                    }
                    kept.push(point);
                }
                Err(e) => {
                    failure.get_or_insert(e);
                    return Probe::Skip;
                }
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok((outcome, probed)),
    }
}

/// The first-parent line from good to bad, and the benchmarks named checked against today's.
fn line(setup: &Setup, request: &Request) -> Result<Vec<CommitInfo>> {
    let (good_name, bad_name) = (&request.good, &request.bad);
    let good = git::resolve(&setup.repo, good_name).map_err(UserError::from)?;
    let bad = git::resolve(&setup.repo, bad_name).map_err(UserError::from)?;
    if good.sha == bad.sha {
        return Err(UserError::Invalid(format!("`{good_name}` and `{bad_name}` are the same commit")).into());
    }
    let oid = |sha: &str| git2::Oid::from_str(sha).ok();
    if let (Some(g), Some(b)) = (oid(&good.sha), oid(&bad.sha)) {
        if !setup.repo.graph_descendant_of(b, g).unwrap_or(true) {
            return Err(UserError::Invalid(format!(
                "`{good_name}` is not an ancestor of `{bad_name}`: good must be the older commit; if `{bad_name}` is \
                 the fast one, swap them: `--good {bad_name} --bad {good_name}`"
            ))
            .into());
        }
    }
    let line = range::first_parent_line(&setup.repo, &bad, Some(&good), None)?;
    if line.shallow {
        return Err(UserError::Invalid(format!(
            "this shallow clone does not reach `{good_name}` from `{bad_name}`: fetch the rest with `git fetch \
             --unshallow`"
        ))
        .into());
    }
    if line.forked_base.is_some() {
        return Err(UserError::Invalid(format!(
            "`{good_name}` is not on the first-parent line of `{bad_name}`: give the commit where that line left \
             good's history (`git merge-base {good_name} {bad_name}`)"
        ))
        .into());
    }
    let ids = setup.ids();
    if let Some(unknown) = request.benches.iter().find(|b| !ids.contains(b)) {
        return Err(UserError::Invalid(format!(
            "no benchmark `{unknown}` in today's definitions; they are: {}",
            ids.join(", ")
        ))
        .into());
    }
    Ok(line.commits)
}
