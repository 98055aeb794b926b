//! The comparison part of a view: rows with their formatted values, changes and verdict words,
//! the one-line summaries of gating rows and the bars of the change chart.

use super::profile::{self, ProfileDiff};
use crate::measure::process::instructions;
use crate::report::format::{
    self, change_percent, compared_metric, p_text, signed_percent, verdict_class, verdict_word,
};
use crate::results::{
    BenchmarkResult, Better, Comparison, ComparisonRow, MetricDesc, RunDocument, Side, SkippedBench, Unit, Verdict,
};

/// A comparison, ready to render.
pub struct ComparisonView<'a> {
    /// The side compared against.
    pub baseline: &'a Side,
    /// The side judged.
    pub candidate: &'a Side,
    /// Whether the sides ran interleaved.
    pub interleaved: bool,
    /// Rows per benchmark, in order.
    pub groups: Vec<(String, Vec<CompareRow>)>,
    /// One line per gating row: `start/app/x: median 12.4% slower (CI …, Mann-Whitney p < 0.001)`.
    pub summaries: Vec<(String, &'a ComparisonRow)>,
    /// The gating rows with a ratio, for the change chart.
    pub changes: Vec<Change>,
    /// Benchmarks one side could not run.
    pub skipped: &'a [SkippedBench],
    /// Only in the candidate.
    pub added: &'a [String],
    /// Only in the baseline.
    pub removed: &'a [String],
    /// Watched or forbidden modules whose loading changed between the sides.
    pub imports: Vec<ImportChange>,
    /// Per benchmark profiled on both sides (`--measure profile`), what changed by function.
    pub profiles: Vec<ProfileDiff>,
}

/// A watched or forbidden module that one side loads and the other does not.
pub struct ImportChange {
    /// The benchmark.
    pub id: String,
    /// The module.
    pub module: String,
    /// Whether the candidate loads it (the baseline does the opposite).
    pub now_loaded: bool,
}

impl ImportChange {
    /// `paramiko: loaded → not loaded (now lazy)`.
    pub fn text(&self) -> String {
        if self.now_loaded {
            format!("{}: not loaded → loaded (now eager)", self.module)
        } else {
            format!("{}: loaded → not loaded (now lazy)", self.module)
        }
    }

    /// The verdict class it reads as: lazy is better.
    pub fn class(&self) -> &'static str {
        if self.now_loaded {
            "regressed"
        } else {
            "improved"
        }
    }
}

/// Per benchmark on both sides, the watched modules whose loading changed.
fn import_changes(candidate: &[BenchmarkResult], baseline: &[BenchmarkResult]) -> Vec<ImportChange> {
    let mut out = Vec::new();
    for cand in candidate {
        let Some(now) = &cand.facts.watched_imports else { continue };
        let Some(before) = baseline.iter().find(|b| b.id == cand.id).and_then(|b| b.facts.watched_imports.as_ref())
        else {
            continue;
        };
        for (module, loaded) in now {
            if before.get(module).is_some_and(|was| was != loaded) {
                out.push(ImportChange { id: cand.id.clone(), module: module.clone(), now_loaded: *loaded });
            }
        }
    }
    out
}

/// One row of a comparison.
#[derive(Clone)]
pub struct CompareRow {
    /// The row.
    pub row: ComparisonRow,
    /// The metric with its location (`wall (median)`).
    pub metric: String,
    /// Baseline and candidate values, formatted.
    pub values: Option<[String; 2]>,
    /// Candidate − baseline, formatted with a sign.
    pub delta: Option<String>,
    /// The change in percent, when one means something.
    pub percent: Option<f64>,
    /// The CI of the change, formatted.
    pub ci: Option<String>,
    /// The deciding p-value with its test.
    pub p: Option<String>,
    /// The verdict's word (`failure`, or `higher` for a row that only explains).
    pub word: &'static str,
    /// Its class (`failure`, `neutral`).
    pub class: &'static str,
    /// Whether it is shown without `-v`: gating, or changed.
    pub notable: bool,
    /// The metric's direction.
    pub better: Better,
}

/// A bar of the change chart.
pub struct Change {
    /// Benchmark id.
    pub label: String,
    /// Change in percent.
    pub percent: f64,
    /// Its CI in percent.
    pub ci: [f64; 2],
    /// The verdict.
    pub verdict: Verdict,
    /// The noise band in percent.
    pub noise: f64,
}

pub(super) fn comparison(doc: &RunDocument) -> Option<ComparisonView<'_>> {
    let cmp = doc.comparison.as_ref()?;
    Some(comparison_of(cmp, &doc.benchmarks, &cmp.baseline_benchmarks))
}

/// The view of one candidate's comparison, from its results and the baseline's.
pub(super) fn comparison_of<'a>(
    cmp: &'a Comparison,
    candidate: &'a [BenchmarkResult],
    baseline: &'a [BenchmarkResult],
) -> ComparisonView<'a> {
    let desc_of = |id: &str, metric: &str| -> Option<&'a MetricDesc> {
        let find =
            |list: &'a [BenchmarkResult]| list.iter().find(|b| b.id == id).and_then(move |b| b.metrics.get(metric));
        find(candidate).or_else(|| find(baseline))
    };
    let mut groups: Vec<(String, Vec<CompareRow>)> = Vec::new();
    for r in &cmp.rows {
        let desc = desc_of(&r.id, &r.metric);
        let fmt = |v: f64| format::metric_value(desc, v);
        let values = r.baseline.zip(r.candidate).map(|(b, c)| [fmt(b), fmt(c)]);
        let delta = r.baseline.zip(r.candidate).map(|(b, c)| {
            let sign = if c > b {
                "+"
            } else if c < b {
                "−"
            } else {
                ""
            };
            format!("{sign}{}", fmt((c - b).abs()))
        });
        let row = CompareRow {
            metric: compared_metric(r),
            values,
            delta,
            percent: change_percent(r, desc),
            ci: r.ci95.map(|[a, b]| format!("{:+.1}% … {:+.1}%", (a - 1.0) * 100.0, (b - 1.0) * 100.0)),
            p: p_text(r),
            word: verdict_word(r),
            class: verdict_class(r),
            notable: r.gating || !matches!(r.verdict, Verdict::NoChange | Verdict::WithinNoise),
            better: desc.map_or(Better::Lower, |d| d.better),
            row: r.clone(),
        };
        match groups.iter_mut().find(|(id, _)| *id == r.id) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((r.id.clone(), vec![row])),
        }
    }
    let profiles: Vec<ProfileDiff> =
        candidate.iter().filter_map(|c| profile::diff(baseline.iter().find(|b| b.id == c.id)?, c)).collect();
    let summaries = cmp
        .rows
        .iter()
        .filter(|r| r.gating)
        .map(|r| {
            let mut line = summary_line(r, desc_of(&r.id, &r.metric), r.metric == headline_of(candidate, &r.id));
            if r.metric == instructions::METRIC {
                if let Some(p) = profiles.iter().find(|p| p.id == r.id) {
                    line.push_str(&profile_note(p));
                }
            }
            (line, r)
        })
        .collect();
    let changes = cmp
        .rows
        .iter()
        .filter(|r| r.gating && r.metric != "status" && r.location.is_some())
        .filter_map(|r| {
            let ratio = r.ratio?;
            let [lo, hi] = r.ci95?;
            let noise = candidate.iter().find(|b| b.id == r.id).map_or(2.0, |b| b.config.thresholds.noise * 100.0);
            Some(Change {
                label: if r.metric == headline_of(candidate, &r.id) {
                    r.id.clone()
                } else {
                    format!("{} ({})", r.id, r.metric)
                },
                percent: (ratio - 1.0) * 100.0,
                ci: [(lo - 1.0) * 100.0, (hi - 1.0) * 100.0],
                verdict: r.verdict,
                noise,
            })
        })
        .collect();
    ComparisonView {
        baseline: &cmp.baseline,
        candidate: &cmp.candidate,
        interleaved: cmp.interleaved,
        groups,
        summaries,
        changes,
        skipped: &cmp.skipped,
        added: &cmp.added,
        removed: &cmp.removed,
        imports: import_changes(candidate, baseline),
        profiles,
    }
}

/// `; biggest mover: +38 412 instructions in fd::cli::Opts::parse [fd, crate fd] (+41.0%)`, and
/// the loader's facts when its relocation and symbol lookup grew.
fn profile_note(p: &ProfileDiff) -> String {
    let mut note = match p.functions.first() {
        Some(f) => format!("; biggest mover: {}", f.mover()),
        None => format!("; no function changed by more than ±{} instructions", profile::grouped(p.noise as i64, false)),
    };
    if let Some(loader) = &p.loader {
        note.push_str(&format!("; {loader}"));
    }
    note
}

fn headline_of(candidate: &[BenchmarkResult], id: &str) -> String {
    candidate.iter().find(|b| b.id == id).and_then(|b| b.headline().map(|(n, _)| n.to_string())).unwrap_or_default()
}

/// `median 12.4% slower (CI +9.8% … +15.1%, Mann-Whitney p < 0.001)` for a time; `higher` and
/// `lower` for other units; the metric named unless it is the benchmark's headline; the note of a
/// status row.
fn summary_line(r: &ComparisonRow, desc: Option<&MetricDesc>, headline: bool) -> String {
    let what = match (r.ratio, r.ci95, p_text(r)) {
        (Some(ratio), Some([lo, hi]), Some(p)) => {
            let change = (ratio - 1.0) * 100.0;
            let time = desc.is_none_or(|d| d.unit == Unit::Seconds);
            let direction = match (time, change >= 0.0) {
                (true, true) => "slower",
                (true, false) => "faster",
                (false, true) => "higher",
                (false, false) => "lower",
            };
            let (a, b) = ((lo - 1.0) * 100.0, (hi - 1.0) * 100.0);
            let location = r.location.as_deref().unwrap_or("median");
            let label = if headline { String::new() } else { format!(" ({})", r.metric) };
            let power = match (r.detectable, r.runs_to_see_noise) {
                (Some(d), Some(runs)) => {
                    format!(
                        "; could detect ≥ {:.1}% (95% power), {runs} runs per side would see the noise threshold",
                        d * 100.0
                    )
                }
                (Some(d), None) => format!("; could detect ≥ {:.1}% (95% power)", d * 100.0),
                _ => String::new(),
            };
            format!("{location} {:.1}% {direction}{label} (CI {a:+.1}% … {b:+.1}%, {p}{power})", change.abs())
        }
        // A value compared exactly (an instruction count): the change and both values.
        (Some(ratio), _, None) if r.metric != "status" && ratio != 1.0 => {
            let fmt = |v: f64| format::metric_value(desc, v);
            let direction = if ratio > 1.0 { "higher" } else { "lower" };
            let within = desc.and_then(|d| d.tolerance).map(|t| format!(", the same within ±{}%", t * 100.0));
            format!(
                "{} {:.1}% {direction} ({} → {}{})",
                r.metric,
                (ratio - 1.0).abs() * 100.0,
                r.baseline.map_or_else(String::new, fmt),
                r.candidate.map_or_else(String::new, fmt),
                within.unwrap_or_default()
            )
        }
        _ => r.note.clone().unwrap_or_else(|| r.metric.clone()),
    };
    format!("{}: {what}", r.id)
}

/// The signed percentage of a comparison row, or `-`.
pub fn percent_text(row: &CompareRow) -> String {
    row.percent.map_or_else(|| "-".to_string(), signed_percent)
}
