//! The comparison part of a view: rows with their formatted values, changes and verdict words,
//! the one-line summaries of gating rows and the bars of the change chart.

use super::profile::{self, ProfileDiff};
use crate::measure::process::instructions;
use crate::report::format::{
    self, change_percent, compared_metric, p_text, signed_percent, verdict_class, verdict_word,
};
use crate::results::{
    BenchmarkResult, Better, Compared, Comparison, ComparisonRow, MetricDesc, Multiplicity, RunDocument, Side,
    SkippedBench, Thresholds, Unit, Verdict,
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
    /// How the rows' p-values were adjusted for their number.
    pub family: Option<Multiplicity>,
    /// Gating rows too noisy to judge: they could not have detected a change of their `fail`
    /// threshold. Per row: its label, what it could detect and that threshold (fractions).
    pub too_noisy: Vec<(String, f64, f64)>,
    /// Lines under a benchmark's rows: how a run to a precision ended, the shares of two modes.
    pub lines: Vec<BenchLine>,
}

/// A line said under a benchmark of a comparison.
pub struct BenchLine {
    /// The benchmark.
    pub id: String,
    /// What is said.
    pub text: String,
    /// Whether it is a warning (a precision not reached, modes whose shares changed).
    pub warn: bool,
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
        let row = compare_row(r, desc_of(&r.id, &r.metric));
        match groups.iter_mut().find(|(id, _)| *id == r.id) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((r.id.clone(), vec![row])),
        }
    }
    let profiles: Vec<ProfileDiff> =
        candidate.iter().filter_map(|c| profile::diff(baseline.iter().find(|b| b.id == c.id)?, c)).collect();
    let thresholds_of = |id: &str| candidate.iter().find(|b| b.id == id).map(|b| b.config.thresholds);
    let family = cmp.multiplicity.filter(|m| m.gating > 1).map(|m| m.gating);
    let summaries = cmp
        .rows
        .iter()
        .filter(|r| r.gating)
        .map(|r| {
            let headline = r.metric == headline_of(candidate, &r.id);
            let mut line = summary_line(r, desc_of(&r.id, &r.metric), headline, thresholds_of(&r.id), family);
            if r.metric == instructions::METRIC {
                if let Some(p) = profiles.iter().find(|p| p.id == r.id) {
                    line.push_str(&profile_note(p));
                }
            }
            (line, r)
        })
        .collect();
    let too_noisy = cmp
        .rows
        .iter()
        .filter(|r| r.gating && !r.verdict.is_regression())
        .filter_map(|r| {
            let fail = thresholds_of(&r.id)?.fail;
            let detectable = r.detectable.filter(|d| *d > fail)?;
            Some((row_label(candidate, r), detectable, fail))
        })
        .collect();
    let changes = changes(cmp, candidate);
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
        family: cmp.multiplicity,
        too_noisy,
        lines: bench_lines(candidate, &cmp.rows),
    }
}

/// One row of the comparison table: both values, the change in the metric's unit and in percent,
/// the interval, the p-value and the verdict.
fn compare_row(r: &ComparisonRow, desc: Option<&MetricDesc>) -> CompareRow {
    let fmt = |v: f64| format::metric_value(desc, v);
    let values = r.baseline.zip(r.candidate).map(|(b, c)| [fmt(b), fmt(c)]);
    // A shift row's change is the shift applied to the baseline, not the medians' difference.
    let shifted = r.location == Some(Compared::Shift);
    let moved = |b: f64, c: f64| if shifted { r.ratio.map_or(c, |ratio| b * ratio) } else { c };
    let delta = r.baseline.zip(r.candidate).map(|(b, c)| {
        let c = moved(b, c);
        let sign = if c > b {
            "+"
        } else if c < b {
            "−"
        } else {
            ""
        };
        format!("{sign}{}", fmt((c - b).abs()))
    });
    CompareRow {
        metric: compared_metric(r),
        values,
        delta,
        percent: change_percent(r, desc),
        ci: r.ci95.map(|[a, b]| {
            let level = r.ci_level.map(|l| format!(" ({})", level_text(l))).unwrap_or_default();
            format!("{:+.1}% … {:+.1}%{level}", (a - 1.0) * 100.0, (b - 1.0) * 100.0)
        }),
        p: p_text(r),
        word: verdict_word(r),
        class: verdict_class(r),
        notable: r.gating || !matches!(r.verdict, Verdict::NoChange | Verdict::WithinNoise),
        better: desc.map_or(Better::Lower, |d| d.better),
        row: r.clone(),
    }
}

/// The change of every gating row that has one, with its interval and noise band in percent.
fn changes(cmp: &Comparison, candidate: &[BenchmarkResult]) -> Vec<Change> {
    let thresholds_of = |id: &str| candidate.iter().find(|b| b.id == id).map(|b| b.config.thresholds);
    cmp.rows
        .iter()
        .filter(|r| r.gating && r.metric != "status" && r.location.is_some())
        .filter_map(|r| {
            let ratio = r.ratio?;
            let [lo, hi] = r.ci95?;
            let configured = || thresholds_of(&r.id).map_or(0.02, |t| t.noise);
            let noise = r.noise.unwrap_or_else(configured) * 100.0;
            Some(Change {
                label: row_label(candidate, r),
                percent: (ratio - 1.0) * 100.0,
                ci: [(lo - 1.0) * 100.0, (hi - 1.0) * 100.0],
                verdict: r.verdict,
                noise,
            })
        })
        .collect()
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

/// A gating row's name: its benchmark, with the metric unless it is the headline.
fn row_label(candidate: &[BenchmarkResult], r: &ComparisonRow) -> String {
    if r.metric == headline_of(candidate, &r.id) {
        r.id.clone()
    } else {
        format!("{} ({})", r.id, r.metric)
    }
}

/// `99.2%`, `95%`.
pub fn level_text(level: f64) -> String {
    let percent = level * 100.0;
    if (percent - percent.round()).abs() < 0.05 {
        format!("{percent:.0}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// Per benchmark of the candidate: how its run to a precision ended, and the shares of its modes.
fn bench_lines(candidate: &[BenchmarkResult], rows: &[ComparisonRow]) -> Vec<BenchLine> {
    let mut out = Vec::new();
    for b in candidate {
        if let Some(p) = &b.facts.precision {
            out.push(BenchLine { id: b.id.clone(), text: precision_text(p), warn: !p.reached });
        }
        if let Some(d) = b.facts.machine_drift.as_ref().filter(|d| d.changed) {
            out.push(BenchLine {
                id: b.id.clone(),
                text: format!(
                    "the machine changed while this ran: CPU steal {:.1}% → {:.1}%, other threads ready to run {:.1} → \
                     {:.1}, from the first half of the interleaved pairs to the second; what this comparison could see \
                     was set by its noisier half — rerun it on a quiet machine (`cargo coldbench env --check`)",
                    d.steal[0] * 100.0,
                    d.steal[1] * 100.0,
                    d.runnable[0],
                    d.runnable[1]
                ),
                warn: true,
            });
        }
        let modes = rows.iter().filter(|r| r.id == b.id).find_map(|r| Some((r, r.modes?)));
        if let Some((row, m)) = modes {
            let desc = b.metrics.get(&row.metric);
            let fmt = |v: f64| format::metric_value(desc, v);
            let share = |s: [f64; 2]| format!("{:.0}% / {:.0}%", s[0] * 100.0, s[1] * 100.0);
            let changed = m.changed(b.config.thresholds.significance);
            let how = if changed {
                format!("changed ({})", format::p_value_text(m.p_value))
            } else {
                "the same within chance".to_string()
            };
            out.push(BenchLine {
                id: b.id.clone(),
                text: format!(
                    "two modes, {} and {}: their shares of the runs {} → {}, {how}",
                    fmt(m.at[0]),
                    fmt(m.at[1]),
                    share(m.baseline),
                    share(m.candidate)
                ),
                warn: changed,
            });
        }
    }
    out
}

/// `precision ±0.8% reached after 640 runs a side (asked ±1%) …` or, when it was not,
/// `precision not reached: ±3.4% after 1280 runs a side; asked ±1% …`.
fn precision_text(p: &crate::results::PrecisionFacts) -> String {
    use crate::results::PrecisionStop;
    let half = p.half_width.unwrap_or_else(|| (p.ci[1] / p.ratio).max(p.ratio / p.ci[0]) - 1.0);
    let look = match p.looks {
        Some(looks) => format!("look {} of {looks}", p.look),
        None => format!("look {}", p.look),
    };
    let spent = p.spent.map(|s| format!(", {} spent over the run", format::alpha_text(s))).unwrap_or_default();
    let judged = format!(
        "judged at {look} on its {} interval (α {} at this look{spent})",
        level_text(1.0 - p.alpha),
        format::alpha_text(p.alpha)
    );
    if p.reached {
        return format!(
            "precision ±{:.1}% reached after {} runs a side (asked ±{:.1}%); {judged}",
            half * 100.0,
            p.runs,
            p.within * 100.0
        );
    }
    let why = match p.stopped {
        Some(PrecisionStop::MaxTime) => "--max-time was up",
        Some(PrecisionStop::Looks) => "the last look of the schedule was made",
        _ => "it stopped",
    };
    format!(
        "precision not reached: ±{:.1}% after {} runs a side; asked ±{:.1}% ({why}); the verdict is {judged}, \
         not a fixed-sample test",
        half * 100.0,
        p.runs,
        p.within * 100.0
    )
}

fn headline_of(candidate: &[BenchmarkResult], id: &str) -> String {
    candidate.iter().find(|b| b.id == id).and_then(|b| b.headline().map(|(n, _)| n.to_string())).unwrap_or_default()
}

/// `median 12.4% slower (CI +9.8% … +15.1%, Mann-Whitney p < 0.001)` for a time; `higher` and
/// `lower` for other units; the metric named unless it is the benchmark's headline; the note of a
/// status row. The power is stated for a change in this row alone among the `family` rows of the
/// gate; a row that could not see a change of its `fail` threshold says it is too noisy to judge.
fn summary_line(
    r: &ComparisonRow,
    desc: Option<&MetricDesc>,
    headline: bool,
    thresholds: Option<Thresholds>,
    family: Option<usize>,
) -> String {
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
            let location = r.location.map_or("median", Compared::as_str);
            let label = if headline { String::new() } else { format!(" ({})", r.metric) };
            let among = family.map(|m| format!(", as one of {m} rows")).unwrap_or_default();
            let unit = if r.processes.is_some() { "processes" } else { "runs" };
            let power = match (r.detectable, r.runs_to_see_noise) {
                (Some(d), Some(runs)) => {
                    format!(
                        "; could detect ≥ {:.1}% (95% power{among}), {runs} {unit} per side would see the noise band",
                        d * 100.0
                    )
                }
                (Some(d), None) => format!("; could detect ≥ {:.1}% (95% power{among})", d * 100.0),
                _ => String::new(),
            };
            let noisy = match (r.detectable, thresholds) {
                (Some(d), Some(t)) if d > t.fail && !r.verdict.is_regression() => {
                    format!("; too noisy to judge: a {:.0}% regression (fail) could go unseen", t.fail * 100.0)
                }
                _ => String::new(),
            };
            let power = format!("{power}{noisy}");
            let level = r.ci_level.map(|l| format!("{} ", level_text(l))).unwrap_or_default();
            format!("{location} {:.1}% {direction}{label} ({level}CI {a:+.1}% … {b:+.1}%, {p}{power})", change.abs())
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
