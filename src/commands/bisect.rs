//! `cargo coldbench bisect --good REF --bad REF [--bench ID] [--metric NAME]`: the first commit
//! of the first-parent line from good to bad at which a benchmark got slower. Each probe is a
//! comparison with good, interleaved, judged by the usual verdict — measured again, the runs
//! pooled, while it is unsure; the points of `history` against good and earlier probes are used
//! before anything is built.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::json;

use super::options::{refuse_run_options, run_options};
use crate::analysis::bisection::{self, Call, Found, Probe};
use crate::build::git;
use crate::build::range;
use crate::cli::{BisectArgs, Format, RunArgs};
use crate::error::UserError;
use crate::pipeline::anchored::{Anchored, Point, Setup};
use crate::report::history::change_text;
use crate::results::{short_sha, CommitInfo, ComparisonRow, Status, Thresholds};
use crate::ui::Ui;

/// Sessions a probe may take to be sure of its call, their runs pooled.
const MAX_SESSIONS: usize = 4;

/// A benchmark's metric that regressed between good and bad, and the ratio bad was measured at.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    id: String,
    metric: String,
    bad_ratio: f64,
}

/// Every session of each commit measured against good, by position on the line.
type Sessions = BTreeMap<usize, Vec<Point>>;

/// `bisect`: returns the exit status (0 found, 1 could not, 2 usage).
pub fn command(args: &BisectArgs, run: &RunArgs, ui: &Ui) -> Result<u8> {
    crate::suites::server::stop_servers_on_interrupt();
    crate::build::interrupt::defer_interrupts();
    refuse_run_options(run, "bisect")?;
    let setup = Setup::new(run_options(run, &[])?, ui)?;
    let line = match line(&setup, args) {
        Ok(line) => line,
        Err(e) => return usage(&e),
    };
    let n = line.len();
    let good = git::ResolvedRef { name: args.good.clone(), sha: line[0].sha.clone() };
    let mut anchored = Anchored::new(&setup, good, ui)?;
    let noise = setup.opts.plan_options.noise;

    // Everything at hand: points measured earlier against good with these settings (of bad,
    // only one that has every benchmark followed).
    let ids = if args.benches.is_empty() { setup.ids() } else { args.benches.clone() };
    let mut sessions: Sessions =
        (1..n - 1).filter_map(|i| anchored.stored(&line[i], &[]).map(|p| (i, vec![p]))).collect();
    ui.status("Checking", format!("{} against {} (good)", line[n - 1].describe(), line[0].describe()));
    let bad = match anchored.stored(&line[n - 1], &ids) {
        Some(point) => point,
        None => anchored.measure(&line[n - 1], (!args.benches.is_empty()).then_some(args.benches.as_slice()))?,
    };
    if let Some(gap) = bad.gap() {
        ui.warn(format!("{}: {gap}", line[n - 1].describe()));
        return could_not(format!("the bad commit {} could not be measured", line[n - 1].describe()));
    }
    let followed: Vec<(String, String)> = followed_rows(&bad, args).map(|r| (r.id.clone(), r.metric.clone())).collect();
    if let (Some(metric), true) = (&args.metric, followed.is_empty()) {
        return usage(&UserError::Invalid(super::history::unknown_metric(metric, std::iter::once(&bad.doc))).into());
    }
    let mut bad = vec![bad];
    let rows = loop {
        let rows: Vec<ComparisonRow> =
            followed.iter().filter_map(|(id, metric)| pooled_row(&bad, id, metric, noise)).collect();
        let unsure: Vec<String> =
            rows.iter().filter(|r| may_regress(r, &bad[0], noise)).map(|r| r.id.clone()).collect();
        if unsure.is_empty() || bad.len() >= MAX_SESSIONS {
            break rows;
        }
        ui.status("Again", format!("{}: not sure yet, measuring more", line[n - 1].describe()));
        bad.push(anchored.measure(&line[n - 1], Some(&unsure))?);
    };
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
        super::write_stdout(text.as_bytes())?;
        return could_not("nothing regressed between good and bad".into());
    }
    sessions.insert(n - 1, bad);

    let wanted: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    let mut probed = 0;
    let mut found = Vec::new();
    for target in &targets {
        let known: BTreeMap<usize, Probe> = sessions
            .iter()
            .filter_map(|(i, s)| match assess(s, target, noise) {
                Assessed::Known(probe) => Some((*i, probe)),
                _ => None,
            })
            .collect();
        let mut failure = None;
        let outcome = bisection::search(n, &known, |i| {
            let commit = &line[i];
            let kept = sessions.entry(i).or_default();
            probed += 1;
            loop {
                let assessed = assess(kept, target, noise);
                match assessed {
                    Assessed::Known(probe) => return probe,
                    Assessed::Unsure(best) if kept.len() >= MAX_SESSIONS => return best,
                    Assessed::Unsure(_) => {
                        ui.status("Again", format!("{}: not sure yet, measuring more", commit.describe()))
                    }
                    Assessed::Missing => {
                        ui.status("Probing", format!("{} ({i} of {} commits after good)", commit.describe(), n - 1))
                    }
                }
                match anchored.measure(commit, Some(&wanted)) {
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
        if let Some(e) = failure {
            return Err(e);
        }
        found.push((target.clone(), outcome));
    }
    anchored.report_cache();
    ui.status(
        "Bisected",
        format!("{} commits after good: {probed} probed, {} built by cargo (good included)", n - 1, anchored.built),
    );
    let text = match run.format {
        Format::Json => serde_json::to_string_pretty(&json_report(&line, &found, &sessions, noise))? + "\n",
        _ => human_report(&line, &found, &sessions, noise),
    };
    super::write_stdout(text.as_bytes())?;
    Ok(if found.iter().all(|(_, f)| matches!(f, Found::First { .. })) { 0 } else { crate::EXIT_ERROR })
}

/// Prints a usage error and returns its status.
fn usage(e: &anyhow::Error) -> Result<u8> {
    crate::ui::print_error(e);
    Ok(crate::exit::USAGE)
}

/// Says why the search could not end, and returns its status.
fn could_not(why: String) -> Result<u8> {
    crate::ui::print_error(&anyhow::anyhow!("could not find the commit: {why}"));
    Ok(crate::EXIT_ERROR)
}

/// The first-parent line from good to bad, and the benchmarks named checked against today's.
fn line(setup: &Setup, args: &BisectArgs) -> Result<Vec<CommitInfo>> {
    let good = git::resolve(&setup.repo, &args.good).map_err(UserError::from)?;
    let bad = git::resolve(&setup.repo, &args.bad).map_err(UserError::from)?;
    if good.sha == bad.sha {
        return Err(UserError::Invalid(format!("`{}` and `{}` are the same commit", args.good, args.bad)).into());
    }
    let oid = |sha: &str| git2::Oid::from_str(sha).ok();
    if let (Some(g), Some(b)) = (oid(&good.sha), oid(&bad.sha)) {
        if !setup.repo.graph_descendant_of(b, g).unwrap_or(true) {
            return Err(UserError::Invalid(format!(
                "`{}` is not an ancestor of `{}`: good must be the older commit; if `{}` is the fast one, \
                 swap them: `--good {} --bad {}`",
                args.good, args.bad, args.bad, args.bad, args.good
            ))
            .into());
        }
    }
    let line = range::first_parent_line(&setup.repo, &bad, Some(&good), None)?;
    if line.shallow {
        return Err(UserError::Invalid(format!(
            "this shallow clone does not reach `{}` from `{}`: fetch the rest with `git fetch --unshallow`",
            args.good, args.bad
        ))
        .into());
    }
    if line.forked_base.is_some() {
        return Err(UserError::Invalid(format!(
            "`{}` is not on the first-parent line of `{}`: give the commit where that line left good's history \
             (`git merge-base {} {}`)",
            args.good, args.bad, args.good, args.bad
        ))
        .into());
    }
    let ids = setup.ids();
    if let Some(unknown) = args.benches.iter().find(|b| !ids.contains(b)) {
        return Err(UserError::Invalid(format!(
            "no benchmark `{unknown}` in today's definitions; they are: {}",
            ids.join(", ")
        ))
        .into());
    }
    Ok(line.commits)
}

/// The rows of a point that bisect follows: the `--bench` benchmarks (else all), and the
/// `--metric` (else the gating metrics).
fn followed_rows<'p>(point: &'p Point, args: &'p BisectArgs) -> impl Iterator<Item = &'p ComparisonRow> {
    let rows = point.doc.comparison.iter().flat_map(|c| &c.rows);
    rows.filter(move |r| args.benches.is_empty() || args.benches.contains(&r.id))
        .filter(move |r| r.metric != "status" && args.metric.as_ref().map_or(r.gating, |m| &r.metric == m))
}

/// The thresholds a benchmark of a point is judged with: its own, `--noise` replacing its noise.
fn thresholds(point: &Point, id: &str, noise: Option<f64>) -> Thresholds {
    let own = point.doc.benchmarks.iter().find(|b| b.id == id).map(|b| b.config.thresholds).unwrap_or_default();
    Thresholds { noise: noise.unwrap_or(own.noise), ..own }
}

/// Whether a row not judged a regression may still be one: its interval reaches past the noise
/// band in the worse direction (more runs would tell).
fn may_regress(row: &ComparisonRow, point: &Point, noise: Option<f64>) -> bool {
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
enum Assessed {
    /// A call, or a skip (a gap, a failed benchmark).
    Known(Probe),
    /// Not sure yet; the usual verdict of the runs so far as the best guess.
    Unsure(Probe),
    /// The target was not measured there.
    Missing,
}

fn assess(sessions: &[Point], target: &Target, noise: Option<f64>) -> Assessed {
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
fn pooled_row(sessions: &[Point], id: &str, metric: &str, noise: Option<f64>) -> Option<ComparisonRow> {
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
fn row_text(row: &ComparisonRow) -> String {
    let verdict = row.verdict.as_str().replace('_', " ");
    match (row.ratio, row.ci95) {
        (Some(r), Some([lo, hi])) => format!("{}, {verdict}", change_text(r - 1.0, [lo - 1.0, hi - 1.0])),
        _ => verdict,
    }
}

fn human_report(line: &[CommitInfo], found: &[(Target, Found)], sessions: &Sessions, noise: Option<f64>) -> String {
    let mut out = String::new();
    for (target, outcome) in found {
        let text = |i: usize| {
            let s = sessions.get(&i).map(Vec::as_slice).unwrap_or_default();
            let row = pooled_row(s, &target.id, &target.metric, noise).map(|r| row_text(&r)).unwrap_or_default();
            if s.len() > 1 {
                format!("{row} ({} sessions pooled)", s.len())
            } else {
                row
            }
        };
        match outcome {
            Found::First { first, parent } => {
                let commit = &line[*first];
                let parent_text = if *parent == 0 { "good itself".to_string() } else { text(*parent) };
                out.push_str(&format!(
                    "{} · {}: first slower at {}\n  by {}, {}\n  {} against good {}; its parent {}: {}\n",
                    target.id,
                    target.metric,
                    commit.describe(),
                    commit.author,
                    commit.time,
                    text(*first),
                    short_sha(&line[0].sha),
                    short_sha(&line[*parent].sha),
                    parent_text
                ));
            }
            Found::Among(candidates) => {
                let names: Vec<String> = candidates.iter().map(|&i| line[i].describe()).collect();
                out.push_str(&format!(
                    "{} · {}: the first slower commit is one of these (the others could not be measured): {}\n",
                    target.id,
                    target.metric,
                    names.join(", ")
                ));
            }
        }
    }
    out
}

fn json_report(
    line: &[CommitInfo],
    found: &[(Target, Found)],
    sessions: &Sessions,
    noise: Option<f64>,
) -> serde_json::Value {
    let results: Vec<serde_json::Value> = found
        .iter()
        .map(|(target, outcome)| {
            let described = |i: usize| {
                let s = sessions.get(&i).map(Vec::as_slice).unwrap_or_default();
                let row = pooled_row(s, &target.id, &target.metric, noise);
                json!({
                    "commit": line[i],
                    "ratio": row.as_ref().and_then(|r| r.ratio),
                    "ci95": row.as_ref().and_then(|r| r.ci95),
                    "verdict": row.as_ref().map(|r| r.verdict),
                    "sessions": s.len(),
                })
            };
            match outcome {
                Found::First { first, parent } => json!({
                    "id": target.id, "metric": target.metric,
                    "first": described(*first), "parent": described(*parent),
                }),
                Found::Among(candidates) => json!({
                    "id": target.id, "metric": target.metric,
                    "among": candidates.iter().map(|&i| &line[i]).collect::<Vec<_>>(),
                }),
            }
        })
        .collect();
    json!({ "good": line[0], "bad": line[line.len() - 1], "results": results })
}
