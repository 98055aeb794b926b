//! `cargo coldbench bisect --good REF --bad REF [--bench ID] [--metric NAME]`: the first commit
//! of the first-parent line from good to bad at which a benchmark got slower. Each probe is a
//! comparison with good, interleaved, judged by the usual verdict; the points of `history` against
//! good and earlier probes are used before anything is built.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::json;

use super::anchored::{Anchored, Point, Setup};
use crate::analysis::bisection::{self, Found, Probe};
use crate::analysis::verdict;
use crate::build::git;
use crate::build::range;
use crate::cli::{BisectArgs, Format, RunArgs};
use crate::error::UserError;
use crate::report::history::change_text;
use crate::results::{short_sha, CommitInfo, ComparisonRow, Status, Verdict};
use crate::ui::Ui;

/// The exit status of a usage error.
const EXIT_USAGE: u8 = 2;

/// A benchmark's metric that regressed between good and bad.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    id: String,
    metric: String,
}

/// `bisect`: returns the exit status (0 found, 1 could not, 2 usage).
pub fn command(args: &BisectArgs, run: &RunArgs, ui: &Ui) -> Result<u8> {
    crate::suites::server::stop_servers_on_interrupt();
    crate::build::interrupt::defer_interrupts();
    let setup = Setup::new(run, "bisect", ui)?;
    let line = match line(&setup, args) {
        Ok(line) => line,
        Err(e) => return usage(&e),
    };
    let n = line.len();
    let good = git::ResolvedRef { name: args.good.clone(), sha: line[0].sha.clone() };
    let mut anchored = Anchored::new(&setup, good, ui)?;
    let noise = setup.opts.overrides.noise;

    // Everything at hand: points measured earlier against good with these settings (of bad,
    // only one that has every benchmark followed).
    let ids = if args.benches.is_empty() { setup.ids() } else { args.benches.clone() };
    let mut points: BTreeMap<usize, Point> =
        (1..n - 1).filter_map(|i| anchored.stored(&line[i], &[]).map(|p| (i, p))).collect();

    ui.status("Checking", format!("{} against {} (good)", line[n - 1].describe(), line[0].describe()));
    let bad = match anchored.stored(&line[n - 1], &ids) {
        Some(point) => point,
        None => anchored.measure(&line[n - 1], (!args.benches.is_empty()).then_some(args.benches.as_slice()))?,
    };
    points.insert(n - 1, bad);
    let bad = &points[&(n - 1)];
    if let Some(gap) = bad.gap() {
        ui.warn(format!("{}: {gap}", line[n - 1].describe()));
        return could_not(format!("the bad commit {} could not be measured", line[n - 1].describe()));
    }
    let targets = regressions(bad, args, noise);
    if targets.is_empty() {
        let mut text = format!(
            "{} is not slower than {} in any benchmark followed:\n",
            line[n - 1].describe(),
            line[0].describe()
        );
        for row in followed_rows(bad, args) {
            text.push_str(&format!("  {} · {}: {}\n", row.id, row.metric, row_text(row, noise, bad)));
        }
        super::write_stdout(text.as_bytes())?;
        return could_not("nothing regressed between good and bad".into());
    }

    let wanted: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    let mut probed = 0;
    let mut found = Vec::new();
    for target in &targets {
        let known: BTreeMap<usize, Probe> =
            points.iter().filter_map(|(i, p)| judge(p, target, noise).map(|v| (*i, v))).collect();
        let mut failure = None;
        let outcome = bisection::search(n, &known, |i| {
            let commit = &line[i];
            ui.status("Probing", format!("{} ({} of {} commits after good)", commit.describe(), i, n - 1));
            probed += 1;
            match anchored.measure(commit, Some(&wanted)) {
                Ok(point) => {
                    let probe = judge(&point, target, noise).unwrap_or(Probe::Skip);
                    if let Some(gap) = point.gap() {
                        ui.warn(format!("{}: {gap}; skipped", commit.describe()));
                    }
                    points.insert(i, point);
                    probe
                }
                Err(e) => {
                    failure.get_or_insert(e);
                    Probe::Skip
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
        Format::Json => serde_json::to_string_pretty(&json_report(&line, &found, &points, noise))? + "\n",
        _ => human_report(&line, &found, &points, noise),
    };
    super::write_stdout(text.as_bytes())?;
    Ok(if found.iter().all(|(_, f)| matches!(f, Found::First { .. })) { 0 } else { crate::EXIT_ERROR })
}

/// Prints a usage error and returns its status.
fn usage(e: &anyhow::Error) -> Result<u8> {
    crate::ui::print_error(e);
    Ok(EXIT_USAGE)
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
    let line = range::first_parent_line(&setup.repo, &bad, Some(&good), None)?;
    if line.forked_base.is_some() || line.shallow {
        return Err(UserError::Invalid(format!(
            "`{}` is not on the first-parent line of `{}`: give the commit where that line left good's history \
             (`git merge-base {} {}`)",
            args.good, args.bad, args.good, args.bad
        ))
        .into());
    }
    if let Some(metric) = &args.metric {
        setup.check_metric(metric)?;
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

/// The followed metrics that regressed between good and bad.
fn regressions(bad: &Point, args: &BisectArgs, noise: Option<f64>) -> Vec<Target> {
    followed_rows(bad, args)
        .filter(|row| verdict_of(row, bad, noise).is_some_and(Verdict::is_regression))
        .map(|row| Target { id: row.id.clone(), metric: row.metric.clone() })
        .collect()
}

/// A row's verdict, judged again when `--noise` changes the threshold it was judged with.
fn verdict_of(row: &ComparisonRow, point: &Point, noise: Option<f64>) -> Option<Verdict> {
    let Some(noise) = noise else { return Some(row.verdict) };
    let bench = point.doc.benchmarks.iter().find(|b| b.id == row.id)?;
    let desc = bench.metrics.get(&row.metric)?;
    let (Some(p), Some(ci), Some(ratio)) = (row.deciding_p(), row.ci95, row.ratio) else { return Some(row.verdict) };
    let thresholds = crate::results::Thresholds { noise, ..bench.config.thresholds };
    Some(verdict::explaining(verdict::verdict(p, ci, ratio, &thresholds, desc.better), desc.gates))
}

/// What a point says of a target: slower than good, not, or nothing to judge by (a gap, a
/// failed benchmark); `None` when the point did not measure the target at all.
fn judge(point: &Point, target: &Target, noise: Option<f64>) -> Option<Probe> {
    if point.gap().is_some() {
        return Some(Probe::Skip);
    }
    let bench = point.doc.benchmarks.iter().find(|b| b.id == target.id)?;
    let row = target_row(point, target).filter(|r| bench.status == Status::Ok && r.ratio.is_some());
    Some(match row.and_then(|r| verdict_of(r, point, noise)) {
        Some(v) if v.is_regression() => Probe::Bad,
        Some(_) => Probe::Good,
        None => Probe::Skip,
    })
}

/// `+10.3% (CI +9.2% … +11.4%), warning`.
fn row_text(row: &ComparisonRow, noise: Option<f64>, point: &Point) -> String {
    let verdict = verdict_of(row, point, noise).unwrap_or(row.verdict).as_str().replace('_', " ");
    match (row.ratio, row.ci95) {
        (Some(r), Some([lo, hi])) => format!("{}, {verdict}", change_text(r - 1.0, [lo - 1.0, hi - 1.0])),
        _ => verdict,
    }
}

fn target_row<'p>(point: &'p Point, target: &Target) -> Option<&'p ComparisonRow> {
    point.doc.comparison.iter().flat_map(|c| &c.rows).find(|r| r.id == target.id && r.metric == target.metric)
}

fn human_report(
    line: &[CommitInfo],
    found: &[(Target, Found)],
    points: &BTreeMap<usize, Point>,
    noise: Option<f64>,
) -> String {
    let mut out = String::new();
    for (target, outcome) in found {
        match outcome {
            Found::First { first, parent } => {
                let commit = &line[*first];
                let change = |i: usize| {
                    points
                        .get(&i)
                        .and_then(|p| target_row(p, target).map(|r| row_text(r, noise, p)))
                        .unwrap_or_default()
                };
                let parent_text = if *parent == 0 { "good itself".to_string() } else { change(*parent) };
                out.push_str(&format!(
                    "{} · {}: first slower at {}\n  by {}, {}\n  {} against good {}; its parent {}: {}\n",
                    target.id,
                    target.metric,
                    commit.describe(),
                    commit.author,
                    commit.time,
                    change(*first),
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
    points: &BTreeMap<usize, Point>,
    noise: Option<f64>,
) -> serde_json::Value {
    let results: Vec<serde_json::Value> = found
        .iter()
        .map(|(target, outcome)| {
            let row = |i: usize| points.get(&i).and_then(|p| target_row(p, target).map(|r| (r, p)));
            let described = |i: usize| {
                let (ratio, ci95, verdict) = match row(i) {
                    Some((r, p)) => (r.ratio, r.ci95, verdict_of(r, p, noise)),
                    None => (None, None, None),
                };
                json!({ "commit": line[i], "ratio": ratio, "ci95": ci95, "verdict": verdict })
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
