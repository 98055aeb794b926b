//! The self-contained HTML report, rendered from `templates/report.html` with minijinja.
//!
//! Everything is inline (styles, SVG charts, a few lines of script, the raw data), so the file
//! opens offline and makes no network request.

use anyhow::{anyhow, Result};
use minijinja::Environment;
use serde::Serialize;

use super::chart::{self, Strip};
use super::icicle;
use super::markdown::verdict_mark;
use super::view::profile::{grouped, ProfileDiff};
use super::view::{Candidates, Change, Row, View};
use crate::results::RunDocument;

/// The built-in template.
pub const TEMPLATE: &str = include_str!("../../templates/report.html");

#[derive(Serialize)]
struct Git {
    short: String,
    branch: Option<String>,
    dirty: bool,
}

/// A cell with its text and the raw value it sorts by.
#[derive(Serialize)]
struct Cell {
    text: String,
    sort: f64,
}

#[derive(Serialize)]
struct SummaryRow {
    id: String,
    params: Vec<String>,
    status: String,
    status_class: &'static str,
    runs: usize,
    stats: Vec<Cell>,
    compact: Vec<String>,
}

#[derive(Serialize)]
struct SummaryTable {
    kind: String,
    params: Vec<String>,
    headline: String,
    compact: Vec<String>,
    rows: Vec<SummaryRow>,
}

#[derive(Serialize)]
struct Detail {
    id: String,
    anchor: String,
    status: String,
    status_class: &'static str,
    notes: Vec<String>,
    chart: String,
    facts: Vec<(String, String)>,
    /// `--measure profile`: the group shares and the top functions (self, share, name, place, group).
    profile: Option<(String, Vec<[String; 5]>)>,
}

/// What changed in a compared row's profile.
#[derive(Serialize)]
struct ProfileChanges {
    id: String,
    noise: String,
    /// Δ, Δ%, baseline → candidate, function, place, group, class (`regressed`/`improved`).
    functions: Vec<[String; 7]>,
    /// `By object: …`, by crate, by group.
    totals: Vec<String>,
    loader: Option<String>,
}

#[derive(Serialize)]
struct CompareRow {
    id: String,
    metric: String,
    baseline: String,
    candidate: String,
    delta: String,
    delta_raw: f64,
    ci: String,
    p: String,
    p_raw: f64,
    verdict: String,
    verdict_class: &'static str,
}

#[derive(Serialize)]
struct CompareView {
    baseline: String,
    candidate: String,
    interleaved: bool,
    chart: String,
    rows: Vec<CompareRow>,
    added: Vec<String>,
    removed: Vec<String>,
    skipped: Vec<(String, String)>,
    /// Watched imports that changed: benchmark, text, class.
    imports: Vec<(String, String, &'static str)>,
    profiles: Vec<ProfileChanges>,
    /// Lines under benchmarks (precision, modes, the machine): benchmark, text, whether a warning.
    lines: Vec<(String, String, bool)>,
}

/// Several candidates against one baseline.
#[derive(Serialize)]
struct CandidatesView {
    baseline: String,
    /// Each candidate, described.
    sides: Vec<String>,
    /// Each candidate's label, a column group of the table.
    labels: Vec<String>,
    interleaved: bool,
    chart: String,
    rows: Vec<CandidatesRow>,
    /// `start/app/x wall (median): feature-b −0.3% (⚪ within noise), then …`.
    best: Vec<String>,
    /// Per candidate with any: its label and lines (imports that changed, skipped, added, removed).
    notes: Vec<(String, Vec<String>)>,
}

/// One metric of one benchmark across the candidates.
#[derive(Serialize)]
struct CandidatesRow {
    id: String,
    metric: String,
    baseline: String,
    /// Per candidate: value, Δ%, Δ% raw (for sorting), CI, verdict, verdict class.
    cells: Vec<(String, String, f64, String, String, &'static str)>,
}

#[derive(Serialize)]
struct Page {
    title: String,
    timestamp: String,
    tool_version: String,
    schema: String,
    git: Option<Git>,
    host: Vec<(String, String)>,
    tables: Vec<SummaryTable>,
    details: Vec<Detail>,
    sweeps: Vec<String>,
    head_to_head: Option<HeadToHeadView>,
    comparison: Option<CompareView>,
    candidates: Option<CandidatesView>,
    raw: String,
}

/// Benchmarks against their references: the speedup chart and the summary lines.
#[derive(Serialize)]
struct HeadToHeadView {
    chart: String,
    summary: Vec<String>,
    notes: Vec<(String, String)>,
}

/// Renders the report with `template` (the built-in one unless `--template` gave another);
/// `template_name` names it in error messages.
pub fn render(view: &View, template: &str, template_name: &str) -> Result<String> {
    let mut env = Environment::new();
    // Escape HTML whatever the template file is called (minijinja decides by extension).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template(template_name, template).map_err(|e| template_error(template_name, &e))?;
    let page = page(view)?;
    env.get_template(template_name).and_then(|t| t.render(&page)).map_err(|e| template_error(template_name, &e))
}

fn template_error(name: &str, e: &minijinja::Error) -> anyhow::Error {
    match e.line() {
        Some(line) => anyhow!("template {name}, line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => anyhow!("template {name}: {e}"),
    }
}

fn host(doc: &RunDocument) -> Vec<(String, String)> {
    let h = &doc.host;
    vec![
        ("machine".to_string(), format!("{} · {} cores · {}", h.cpu, h.cores, h.os)),
        ("kernel".to_string(), h.kernel.clone()),
        ("governor".to_string(), h.governor.clone().unwrap_or_else(|| "not readable".into())),
        ("rustc".to_string(), h.rustc.clone().unwrap_or_else(|| "unknown".into())),
        ("libzmq".to_string(), format!("{}{}", h.libzmq, if h.curve { " with CURVE" } else { " without CURVE" })),
        ("profile".to_string(), doc.config.profile.clone()),
    ]
}

fn summary_row(r: &Row, compact: &[usize]) -> SummaryRow {
    let stats = match &r.headline {
        Some(h) => [0, 1, 2, 3, 4].map(|i| Cell { text: h.text[i].clone(), sort: h.raw[i] }).into(),
        None => (0..5).map(|_| Cell { text: "–".into(), sort: f64::NAN }).collect(),
    };
    SummaryRow {
        id: r.id.clone(),
        params: r.params.clone(),
        status: r.status.clone(),
        status_class: r.status_class,
        runs: r.runs,
        stats,
        compact: compact.iter().map(|&c| if r.cells[c] == "-" { "–".into() } else { r.cells[c].clone() }).collect(),
    }
}

fn detail(view: &View, r: &Row) -> Detail {
    let doc = view.doc;
    let b = doc.benchmarks.iter().find(|b| b.id == r.id).expect("a row per benchmark");
    let base = doc.comparison.as_ref().and_then(|c| c.baseline_benchmarks.iter().find(|x| x.id == r.id));
    let headline = b.headline().map(|(n, _)| n.to_string()).unwrap_or_default();
    let values = |x: &crate::results::BenchmarkResult, warmup: bool| {
        let samples = if warmup { &x.warmup_samples } else { &x.samples };
        samples.get(&headline).map(|s| s.as_f64()).unwrap_or_default()
    };
    let (runs, warmups) = (values(b, false), values(b, true));
    let (base_runs, base_warmups) = base.map(|x| (values(x, false), values(x, true))).unwrap_or_default();
    let modes_of = |x: &'_ crate::results::BenchmarkResult| -> Vec<crate::results::Mode> {
        x.facts.modes.as_ref().filter(|m| m.metric == headline).map(|m| m.modes.clone()).unwrap_or_default()
    };
    let (modes, base_modes) = (modes_of(b), base.map(modes_of).unwrap_or_default());
    let mut strips = Vec::new();
    if base.is_some() {
        strips.push(Strip { label: "baseline", runs: &base_runs, warmups: &base_warmups, modes: &base_modes });
    }
    strips.push(Strip {
        label: if base.is_some() { "candidate" } else { headline.as_str() },
        runs: &runs,
        warmups: &warmups,
        modes: &modes,
    });
    let unit = b.headline().map_or(crate::results::Unit::Seconds, |(_, d)| d.unit);
    let label = b.headline().map_or(headline.as_str(), |(n, d)| d.label_or(n));
    let mut notes: Vec<String> = r.default_note.iter().cloned().collect();
    notes.extend(r.line.iter().cloned());
    notes.extend(r.modes.iter().cloned());
    notes.extend(r.warnings.iter().cloned());
    notes.extend(r.budget_notes.iter().cloned());
    notes.extend(r.residency_note.iter().cloned());
    if !r.detail.is_empty() {
        notes.push(format!("stderr: {}", r.detail.join("\n")));
    }
    let mut facts = Vec::new();
    if let Some(command) = &r.command {
        facts.push(("command".to_string(), command.clone()));
    }
    facts.extend(r.facts.iter().cloned());
    notes.extend(r.reference.iter().cloned());
    let mut charts = chart::strip_plot(&format!("{label} of {}", r.id), unit, &strips);
    // A Python import: the tree of its representative run, from the module down; in a comparison
    // the baseline's too, whatever the verdict, to see what became lazy.
    let sides = match base {
        Some(base) => vec![(base, " (baseline)"), (b, " (candidate)")],
        None => vec![(b, "")],
    };
    for (side, which) in sides {
        if let Some(root) = import_root(side) {
            charts.push_str(&chart::import_tree_chart(&format!("import tree of {}{which}", r.id), root));
        }
    }
    // A profiled start: its call tree, coloured by change when the baseline was profiled too.
    if let Some(profile) = &b.facts.profile {
        let compared = view.comparison.as_ref().and_then(|c| c.profiles.iter().find(|p| p.id == r.id));
        let against = base.and_then(|x| x.facts.profile.as_ref()).zip(compared.map(|c| c.noise));
        let title = format!("call tree of {}", r.id);
        charts.push_str(&icicle::call_tree_chart(&title, profile, against));
    }
    // Series kept of the last run (each request's latency, in order).
    for (name, values) in &b.series {
        let desc = b.metrics.iter().find(|(n, _)| n.starts_with(name.as_str())).map(|(_, d)| d);
        let unit = desc.map_or(crate::results::Unit::Seconds, |d| d.unit);
        let title = format!("{name} of each request, in order (last run)");
        charts.push_str(&super::line_chart::series_chart(&title, unit, values));
    }
    Detail {
        id: r.id.clone(),
        anchor: r.id.replace(['/', '[', ']', ',', '=', ' '], "-"),
        status: r.status.clone(),
        status_class: r.status_class,
        notes,
        chart: charts,
        facts,
        profile: r.profile.as_ref().map(|p| {
            let rows = p
                .functions
                .iter()
                .map(|f| {
                    [
                        f.instructions.clone(),
                        format!("{:.1}%", f.share),
                        f.name.clone(),
                        f.place.clone(),
                        f.group.into(),
                    ]
                })
                .collect();
            (p.summary.clone(), rows)
        }),
    }
}

fn profile_changes(p: &ProfileDiff) -> ProfileChanges {
    let functions = p
        .functions
        .iter()
        .map(|f| {
            let class = if f.delta > 0 { "regressed" } else { "improved" };
            [
                grouped(f.delta, true),
                f.percent_text(),
                f.sides_text(),
                f.name.clone(),
                f.place.clone(),
                f.group.label().into(),
                class.into(),
            ]
        })
        .collect();
    let totals = [("By object", &p.objects), ("By crate", &p.crates), ("By group", &p.groups)]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(what, list)| format!("{what}: {}", list.iter().map(|t| t.text()).collect::<Vec<_>>().join(", ")))
        .collect();
    ProfileChanges {
        id: p.id.clone(),
        noise: grouped(p.noise as i64, false),
        functions,
        totals,
        loader: p.loader.clone(),
    }
}

/// The imported module's node in a Python import's tree (the last top-level node when it is not
/// there).
fn import_root(b: &crate::results::BenchmarkResult) -> Option<&crate::results::ImportNode> {
    let tree = b.facts.import_tree.as_ref()?;
    let command = b.config.command.last();
    let module = command.and_then(|c| crate::measure::python::importtime::imported_by(c)).unwrap_or_default();
    tree.iter().rev().find(|n| n.module == module).or(tree.last())
}

fn page(view: &View) -> Result<Page> {
    let doc = view.doc;
    let title = match &doc.git {
        Some(g) => format!("{}{}", g.short_sha(), if g.dirty { " (dirty)" } else { "" }),
        None => doc.timestamp.clone(),
    };
    let tables = view
        .tables
        .iter()
        .map(|t| {
            let compact: Vec<usize> = (0..t.columns.len()).filter(|&c| t.compact[c]).collect();
            let headline = t
                .rows
                .iter()
                .find_map(|r| r.headline.as_ref())
                .map_or(String::new(), |h| h.desc.label_or(&h.metric).to_string());
            SummaryTable {
                kind: t.kind.clone(),
                params: t.params.clone(),
                headline,
                compact: compact.iter().map(|&c| t.columns[c].clone()).collect(),
                rows: t.rows.iter().map(|r| summary_row(r, &compact)).collect(),
            }
        })
        .collect();
    let details = view.tables.iter().flat_map(|t| &t.rows).map(|r| detail(view, r)).collect();
    let comparison = view.comparison.as_ref().map(|c| CompareView {
        baseline: c.baseline.describe(""),
        candidate: c.candidate.describe(""),
        interleaved: c.interleaved,
        chart: chart::change_chart(&c.changes),
        rows: c
            .groups
            .iter()
            .flat_map(|(id, rows)| rows.iter().map(move |r| (id, r)))
            .map(|(id, r)| {
                let dash = || "–".to_string();
                let [baseline, candidate] = r.values.clone().unwrap_or_else(|| [dash(), dash()]);
                CompareRow {
                    id: id.clone(),
                    metric: r.metric.clone(),
                    baseline,
                    candidate,
                    delta: r.percent.map(|p| format!("{p:+.1}%")).unwrap_or_else(dash),
                    delta_raw: r.percent.unwrap_or(0.0),
                    ci: r.ci.clone().unwrap_or_else(dash),
                    p: r.p.clone().unwrap_or_else(dash),
                    p_raw: r.row.deciding_p().unwrap_or(1.0),
                    verdict: verdict_mark(r.word, r.class),
                    verdict_class: r.class,
                }
            })
            .collect(),
        added: c.added.to_vec(),
        removed: c.removed.to_vec(),
        skipped: c.skipped.iter().map(|s| (s.id.clone(), s.reason.clone())).collect(),
        imports: c.imports.iter().map(|i| (i.id.clone(), i.text(), i.class())).collect(),
        profiles: c.profiles.iter().map(profile_changes).collect(),
        lines: c.lines.iter().map(|l| (l.id.clone(), l.text.clone(), l.warn)).collect(),
    });
    // The data sits inside a <script> element: no `<` may appear raw (`</script>` would end it,
    // `<!--<script` would swallow the rest of the page). JSON reads \u003c as the same `<`.
    let raw = serde_json::to_string(doc)?.replace('<', "\\u003c");
    Ok(Page {
        title,
        timestamp: doc.timestamp.clone(),
        tool_version: doc.tool_version.clone(),
        schema: doc.schema.clone(),
        git: doc.git.as_ref().map(|g| Git {
            short: g.short_sha().to_string(),
            branch: g.branch.clone(),
            dirty: g.dirty,
        }),
        host: host(doc),
        tables,
        details,
        sweeps: view.sweeps.iter().map(super::line_chart::sweep_chart).collect(),
        head_to_head: view.head_to_head.as_ref().map(|h| HeadToHeadView {
            chart: chart::speedup_chart(&h.pairs),
            summary: h.summary.clone(),
            notes: h.pairs.iter().map(|p| (p.id.clone(), crate::report::view::head_to_head::note(p))).collect(),
        }),
        comparison,
        candidates: view.candidates.as_ref().map(candidates),
        raw,
    })
}

fn candidates(several: &Candidates) -> CandidatesView {
    let dash = || "–".to_string();
    let rows = several
        .groups
        .iter()
        .flat_map(|(id, lines)| lines.iter().map(move |l| (id, l)))
        .map(|(id, l)| CandidatesRow {
            id: id.clone(),
            metric: l.metric.clone(),
            baseline: l.baseline.clone().unwrap_or_else(dash),
            cells: l
                .cells
                .iter()
                .map(|c| match c {
                    Some(r) => (
                        r.values.as_ref().map_or_else(dash, |[_, c]| c.clone()),
                        r.percent.map(|p| format!("{p:+.1}%")).unwrap_or_else(dash),
                        r.percent.unwrap_or(0.0),
                        r.ci.clone().unwrap_or_else(dash),
                        verdict_mark(r.word, r.class),
                        r.class,
                    ),
                    None => (dash(), dash(), 0.0, dash(), dash(), "neutral"),
                })
                .collect(),
        })
        .collect();
    let changes: Vec<Change> = several
        .each
        .iter()
        .flat_map(|c| {
            c.changes.iter().map(|ch| Change {
                label: format!("{}: {}", c.candidate.label, ch.label),
                percent: ch.percent,
                ci: ch.ci,
                verdict: ch.verdict,
                noise: ch.noise,
            })
        })
        .collect();
    let best = several
        .best
        .iter()
        .map(|r| {
            let order: Vec<String> = r
                .order
                .iter()
                .map(|(label, row)| {
                    format!(
                        "{label} {} ({})",
                        crate::report::view::percent_text(row),
                        verdict_mark(row.word, row.class)
                    )
                })
                .collect();
            let tie = match (r.overlap, r.order.get(1)) {
                (true, Some((next, _))) => format!(" — {} and {next} overlap: not told apart", r.order[0].0),
                _ => String::new(),
            };
            format!("{} {}: {}{tie}", r.id, r.metric, order.join(", then "))
        })
        .collect();
    let notes = several
        .each
        .iter()
        .map(|c| {
            let mut lines: Vec<String> = c.imports.iter().map(|i| format!("{}: {}", i.id, i.text())).collect();
            lines.extend(c.skipped.iter().map(|s| format!("skipped (not compared): {}: {}", s.id, s.reason)));
            lines.extend(c.added.iter().map(|a| format!("added (not compared): {a}")));
            lines.extend(c.removed.iter().map(|r| format!("removed (not compared): {r}")));
            (c.candidate.label.clone(), lines)
        })
        .filter(|(_, lines)| !lines.is_empty())
        .collect();
    CandidatesView {
        baseline: several.baseline.describe(""),
        sides: several.each.iter().map(|c| c.candidate.describe("")).collect(),
        labels: several.each.iter().map(|c| c.candidate.label.clone()).collect(),
        interleaved: several.interleaved,
        chart: chart::change_chart(&changes),
        rows,
        best,
        notes,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_from_programs_cannot_break_out_of_the_page() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json");
        let mut doc = crate::results::read(&path).unwrap();
        crate::plan::old_results::upgrade(&mut doc, &crate::plan::Registry::builtin());
        doc.benchmarks[0].detail = Some("</script><!--<script>alert(1)".into());
        let view = crate::report::view::build(&doc);
        let html = super::render(&view, super::TEMPLATE, "x.tpl").unwrap();
        let data = html.split("id=\"coldbench-data\">").nth(1).unwrap().split("</script>").next().unwrap();
        assert!(!data.contains('<'), "raw `<` in the embedded JSON");
        assert!(
            html.contains("&lt;!--&lt;script&gt;"),
            "the text is escaped in the page, whatever the template's name"
        );
        assert!(!html.contains("<!--<script>alert"));
    }
}
