//! A history, from its points to what people read: per benchmark the series of ratios to the
//! anchor with its levels, steps and drift, built once (`build`), then rendered for the console
//! (`console`), as Markdown (`markdown`), as an HTML page with a chart per benchmark (`html`,
//! `chart`), as JSON (the [`History`] itself), and as tracker exports with one entry per commit.

pub mod chart;
pub mod console;
pub mod html;
pub mod markdown;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::analysis::steps::{self, Estimate, Segmentation};
use crate::report::Format;
use crate::results::{
    write_atomic, BenchmarkResult, CommitInfo, Compared, History, HistoryCommit, HistorySeries, RunDocument,
    SeriesLevel, SeriesPoint, SeriesStep, Status, HISTORY_SCHEMA,
};

/// One commit of a history and its result (a gap's result has no benchmarks).
pub struct PointDoc<'a> {
    /// The commit.
    pub commit: &'a CommitInfo,
    /// Its result against the anchor.
    pub doc: &'a RunDocument,
    /// Where the result is kept.
    pub file: Option<PathBuf>,
    /// Whether it was taken from an earlier run.
    pub reused: bool,
    /// First-parent commits left out between the previous point and this one (`--every`).
    pub left_out: usize,
}

impl PointDoc<'_> {
    fn gap(&self) -> Option<&str> {
        self.doc.history.as_ref().and_then(|m| m.gap.as_deref())
    }
}

/// The history of `points` (oldest first) against `anchor`: per benchmark the series of
/// `metric` (each benchmark's headline when `None`; benchmarks without it have none). Steps
/// smaller than `noise` (a fraction) are not marked; without it, each benchmark's own noise
/// threshold applies.
pub fn build(
    anchor: &CommitInfo,
    points: &[PointDoc],
    metric: Option<&str>,
    noise: Option<f64>,
    timestamp: String,
) -> History {
    let commits = points
        .iter()
        .map(|p| HistoryCommit {
            commit: p.commit.clone(),
            gap: p.gap().map(str::to_string),
            file: p.file.clone(),
            reused: p.reused,
            left_out: p.left_out,
        })
        .collect();
    // Every benchmark's metric, in the order they first appear.
    let mut keys: Vec<(String, String)> = Vec::new();
    for b in points.iter().flat_map(|p| &p.doc.benchmarks) {
        let name = match metric {
            Some(m) => b.metrics.contains_key(m).then_some(m),
            None => b.headline().map(|(name, _)| name),
        };
        if let Some(name) = name.filter(|_| !keys.iter().any(|(id, _)| id == &b.id)) {
            keys.push((b.id.clone(), name.to_string()));
        }
    }
    let series = keys.iter().map(|(id, metric)| series(id, metric, points, noise)).collect();
    History {
        schema: HISTORY_SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp,
        anchor: anchor.clone(),
        commits,
        series,
    }
}

/// Takes a point's estimate and its 95% CI, when it has them.
type PickEstimate = fn(&SeriesPoint) -> Option<(f64, [f64; 2])>;

fn series(id: &str, metric: &str, points: &[PointDoc], noise: Option<f64>) -> HistorySeries {
    let found: Vec<Option<&BenchmarkResult>> =
        points.iter().map(|p| p.doc.benchmarks.iter().find(|b| b.id == id)).collect();
    let first = found.iter().flatten().next().expect("the series of a benchmark that exists");
    let unit = first.metrics.get(metric).map_or(crate::results::Unit::Seconds, |d| d.unit);
    let noise = noise.unwrap_or(first.config.thresholds.noise);
    let series_points: Vec<SeriesPoint> = points.iter().zip(&found).map(|(p, b)| point(p, *b, id, metric)).collect();
    let estimates = |pick: PickEstimate| -> Vec<Option<Estimate>> {
        series_points.iter().map(|p| pick(p).map(|(value, ci95)| Estimate { value, ci95 })).collect()
    };
    let ratios = steps::detect(&estimates(|p| p.ratio.zip(p.ci95)), noise);
    let absolute = steps::detect(&estimates(|p| p.value.zip(p.value_ci95)), noise);
    let steps_of = |s: &Segmentation| -> Vec<SeriesStep> {
        s.steps
            .iter()
            .map(|st| SeriesStep {
                sha: points[st.at].commit.sha.clone(),
                index: st.at,
                after: st.after,
                change: st.change,
                ci95: st.ci95,
            })
            .collect()
    };
    let steps = steps_of(&ratios);
    let drift = steps_of(&absolute).into_iter().filter(|d| !steps.iter().any(|s| s.index == d.index)).collect();
    HistorySeries {
        id: id.to_string(),
        metric: metric.to_string(),
        unit,
        noise,
        points: series_points,
        levels: ratios
            .levels
            .iter()
            .map(|l| SeriesLevel { from: l.from, to: l.to, ratio: l.value, ci95: l.ci95 })
            .collect(),
        steps,
        drift,
    }
}

/// One commit's point of a benchmark's series: the comparison row of its metric, or why there is
/// none.
fn point(p: &PointDoc, bench: Option<&BenchmarkResult>, id: &str, metric: &str) -> SeriesPoint {
    let empty = SeriesPoint {
        sha: p.commit.sha.clone(),
        ratio: None,
        ci95: None,
        value: None,
        value_ci95: None,
        verdict: None,
        gap: None,
    };
    if let Some(gap) = p.gap() {
        return SeriesPoint { gap: Some(gap.to_string()), ..empty };
    }
    let comparison = p.doc.comparison.as_ref();
    let Some(bench) = bench else {
        let skipped = comparison.and_then(|c| c.skipped.iter().find(|s| s.id == id)).map(|s| s.reason.clone());
        return SeriesPoint { gap: Some(skipped.unwrap_or_else(|| "not measured at this commit".into())), ..empty };
    };
    if bench.status != Status::Ok {
        let reason = bench.reason.as_deref().unwrap_or("unknown");
        return SeriesPoint { gap: Some(format!("{}: {reason}", status_word(bench.status))), ..empty };
    }
    let row = comparison.and_then(|c| c.rows.iter().find(|r| r.id == id && r.metric == metric));
    let Some(row) = row else {
        let note = comparison.and_then(|c| c.rows.iter().find(|r| r.id == id && r.metric == "status"));
        let why = note.and_then(|r| r.note.clone()).unwrap_or_else(|| "not compared with the anchor".into());
        return SeriesPoint { gap: Some(why), ..empty };
    };
    let summary = bench.summary.get(metric);
    let value_ci95 = match row.location {
        Some(Compared::Mean) => summary.and_then(|s| s.ci95),
        _ => summary.and_then(|s| s.median_ci95),
    };
    SeriesPoint {
        ratio: row.ratio,
        ci95: row.ci95,
        value: row.candidate,
        value_ci95,
        verdict: Some(row.verdict),
        gap: if row.ratio.is_none() { row.note.clone() } else { None },
        ..empty
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
    }
}

/// The history in `format` for stdout. The exports (`bmf`, `gab`, `gab-bigger`) are an object
/// keyed by commit sha, oldest first, whose values are that commit's result in the format.
pub fn render(history: &History, points: &[PointDoc], format: Format) -> Result<String> {
    Ok(match format {
        Format::Human => console::render(history),
        Format::Md => markdown::render(history),
        Format::Html => html::render(history)?,
        Format::Json => serde_json::to_string_pretty(history)? + "\n",
        Format::Bmf | Format::Gab | Format::GabBigger => {
            let mut out = serde_json::Map::new();
            for p in points.iter().filter(|p| p.gap().is_none()) {
                let text = crate::report::render(p.doc, format, None, crate::report::Detail::default())?;
                out.insert(p.commit.sha.clone(), serde_json::from_str(&text)?);
            }
            serde_json::to_string_pretty(&serde_json::Value::Object(out))? + "\n"
        }
    })
}

/// Writes `history.html` and `history.md` into the results folder; returns their paths.
pub fn write_standard(history: &History, dir: &Path) -> Result<[PathBuf; 2]> {
    let html = dir.join("history.html");
    let md = dir.join("history.md");
    write_atomic(&html, html::render(history)?.as_bytes())?;
    write_atomic(&md, markdown::render(history).as_bytes())?;
    Ok([html, md])
}

/// `+10.2% (CI +9.1% … +11.3%)`.
pub fn change_text(change: f64, ci95: [f64; 2]) -> String {
    use crate::report::format::signed_percent;
    format!(
        "{} (CI {} … {})",
        signed_percent(change * 100.0),
        signed_percent(ci95[0] * 100.0),
        signed_percent(ci95[1] * 100.0)
    )
}

/// The commits a step may lie in: the first-parent commits after the last one at the old level
/// up to the first at the new level (1 when they are neighbours).
pub fn step_span(history: &History, step: &SeriesStep) -> usize {
    history.commits[step.after + 1..=step.index].iter().map(|c| 1 + c.left_out).sum()
}

/// "a1b2c3d "subject"" for a step right after its previous commit; "one of the 3 commits after
/// a1b2c3d up to e4f5a6b "subject"" when commits in between were not measured.
pub fn step_place(history: &History, step: &SeriesStep) -> String {
    let span = step_span(history, step);
    let at = history.commits[step.index].commit.describe();
    if span == 1 {
        at
    } else {
        let after = crate::results::short_sha(&history.commits[step.after].commit.sha);
        format!("one of the {span} commits after {after} up to {at}")
    }
}
