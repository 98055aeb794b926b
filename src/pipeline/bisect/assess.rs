//! What the sessions of a commit say of a regression: the rows followed, the runs of every session
//! pooled, and the call (bad, good, unsure, skip) a probe makes of them.

use super::{Request, Target};
use crate::analysis::bisection::{self, Call, Probe};
use crate::pipeline::anchored::Point;
use crate::report::history::change_text;
use crate::results::{ComparisonRow, Status, Thresholds};

/// The rows of a point that bisect follows: the `--bench` benchmarks (else all), and the
/// `--metric` (else the gating metrics).
pub(super) fn followed_rows<'p>(point: &'p Point, request: &'p Request) -> impl Iterator<Item = &'p ComparisonRow> {
    let rows = point.doc.comparison.iter().flat_map(|c| &c.rows);
    rows.filter(move |r| request.benches.is_empty() || request.benches.contains(&r.id))
        .filter(move |r| r.metric != "status" && request.metric.as_ref().map_or(r.gating, |m| &r.metric == m))
}

/// The thresholds a benchmark of a point is judged with: its own, `--noise` replacing its noise.
fn thresholds(point: &Point, id: &str, noise: Option<f64>) -> Thresholds {
    let own = point.doc.benchmarks.iter().find(|b| b.id == id).map(|b| b.config.thresholds).unwrap_or_default();
    Thresholds { noise: noise.unwrap_or(own.noise), ..own }
}

/// Whether a row not judged a regression may still be one: its interval reaches past the noise
/// band in the worse direction (more runs would tell).
pub(super) fn may_regress(row: &ComparisonRow, point: &Point, noise: Option<f64>) -> bool {
    let better = point.doc.benchmarks.iter().find(|b| b.id == row.id).and_then(|b| b.metrics.get(&row.metric));
    let (Some(desc), Some([lo, hi])) = (better, row.ci95) else { return false };
    let band = thresholds(point, &row.id, noise).noise;
    !row.verdict.is_regression()
        && match desc.better {
            crate::results::Better::Lower => hi > 1.0 + band,
            crate::results::Better::Higher => lo < 1.0 - band,
            crate::results::Better::Neither => false,
        }
}

/// What the sessions of one commit say of a target.
pub(super) enum Assessed {
    /// A call, or a skip (a gap, a failed benchmark).
    Known(Probe),
    /// Not sure yet; the usual verdict of the runs so far as the best guess.
    Unsure(Probe),
    /// The target was not measured there.
    Missing,
}

pub(super) fn assess(sessions: &[Point], target: &Target, noise: Option<f64>) -> Assessed {
    if sessions.iter().any(|s| s.gap().is_some()) {
        return Assessed::Known(Probe::Skip);
    }
    let Some(row) = pooled_row(sessions, &target.id, &target.metric, noise) else { return Assessed::Missing };
    if row.ratio.is_none() || row.metric == "status" {
        return Assessed::Known(Probe::Skip);
    }
    match bisection::call(row.verdict, row.ci95, target.bad_ratio) {
        Call::Bad => Assessed::Known(Probe::Bad),
        Call::Good => Assessed::Known(Probe::Good),
        Call::Unsure => Assessed::Unsure(if row.verdict.is_regression() { Probe::Bad } else { Probe::Good }),
    }
}

/// The target's row over every session of a commit, their runs pooled; the status row when the
/// benchmark failed in one; `None` when no session measured it.
pub(super) fn pooled_row(sessions: &[Point], id: &str, metric: &str, noise: Option<f64>) -> Option<ComparisonRow> {
    let mut pairs = Vec::new();
    for s in sessions {
        let base = s.doc.comparison.iter().flat_map(|c| &c.baseline_benchmarks).find(|b| b.id == id);
        let (Some(cand), Some(base)) = (s.doc.benchmarks.iter().find(|b| b.id == id), base) else { continue };
        if cand.status != Status::Ok || base.status != Status::Ok {
            return s.doc.comparison.iter().flat_map(|c| &c.rows).find(|r| r.id == id).cloned();
        }
        pairs.push((base, cand));
    }
    let first = sessions.iter().find(|s| s.doc.benchmarks.iter().any(|b| b.id == id))?;
    let rows = bisection::pooled(&pairs, &thresholds(first, id, noise));
    rows.into_iter().find(|r| r.metric == metric)
}

/// `+10.3% (CI +9.2% … +11.4%), warning`.
pub(super) fn row_text(row: &ComparisonRow) -> String {
    let verdict = row.verdict.as_str().replace('_', " ");
    match (row.ratio, row.ci95) {
        (Some(r), Some([lo, hi])) => format!("{}, {verdict}", change_text(r - 1.0, [lo - 1.0, hi - 1.0])),
        _ => verdict,
    }
}
