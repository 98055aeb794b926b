//! The self-contained HTML report, rendered from `templates/report.html` with minijinja.
//!
//! Everything is inline (styles, SVG charts, a few lines of script, the raw data), so the file
//! opens offline and makes no network request.

use anyhow::{anyhow, Result};
use minijinja::Environment;
use serde::Serialize;

use super::chart::{self, Change, Strip};
use super::markdown::verdict_cell;
use crate::compare::Verdict;
use crate::results::{BenchmarkResult, RunDocument, Status};
use crate::units::{format_bytes, format_seconds};

/// The built-in template.
pub const TEMPLATE: &str = include_str!("../../templates/report.html");

#[derive(Serialize)]
struct Git {
    short: String,
    branch: Option<String>,
    dirty: bool,
}

#[derive(Serialize)]
struct SummaryRow {
    id: String,
    status: String,
    status_class: &'static str,
    runs: usize,
    median: String,
    median_raw: f64,
    mean: String,
    mean_raw: f64,
    stddev: String,
    stddev_raw: f64,
    min: String,
    min_raw: f64,
    max: String,
    max_raw: f64,
    rss: String,
    rss_raw: f64,
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
}

#[derive(Serialize)]
struct View {
    title: String,
    timestamp: String,
    tool_version: String,
    schema: String,
    git: Option<Git>,
    host: Vec<(String, String)>,
    summary: Vec<SummaryRow>,
    details: Vec<Detail>,
    comparison: Option<CompareView>,
    raw: String,
}

/// Renders the report with `template` (the built-in one unless `--template` gave another);
/// `template_name` names it in error messages.
pub fn render(doc: &RunDocument, template: &str, template_name: &str) -> Result<String> {
    let mut env = Environment::new();
    // Escape HTML whatever the template file is called (minijinja decides by extension).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template(template_name, template).map_err(|e| template_error(template_name, &e))?;
    let view = view(doc)?;
    env.get_template(template_name).and_then(|t| t.render(&view)).map_err(|e| template_error(template_name, &e))
}

fn template_error(name: &str, e: &minijinja::Error) -> anyhow::Error {
    match e.line() {
        Some(line) => anyhow!("template {name}, line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => anyhow!("template {name}: {e}"),
    }
}

fn status_of(b: &BenchmarkResult) -> (String, &'static str) {
    match b.status {
        Status::Ok if b.over_budget() => ("over budget".into(), "over-budget"),
        Status::Ok => ("ok".into(), "ok"),
        Status::Failed => (format!("failed: {}", b.reason.as_deref().unwrap_or("unknown")), "failed"),
        Status::Skipped => (format!("skipped: {}", b.reason.as_deref().unwrap_or("unknown")), "skipped"),
    }
}

fn verdict_class(v: Verdict) -> &'static str {
    v.as_str()
}

fn view(doc: &RunDocument) -> Result<View> {
    let title = match &doc.git {
        Some(g) => format!("{}{}", g.short_sha(), if g.dirty { " (dirty)" } else { "" }),
        None => doc.timestamp.clone(),
    };
    let h = &doc.host;
    let host = vec![
        ("machine".to_string(), format!("{} · {} cores · {}", h.cpu, h.cores, h.os)),
        ("kernel".to_string(), h.kernel.clone()),
        ("governor".to_string(), h.governor.clone().unwrap_or_else(|| "not readable".into())),
        ("rustc".to_string(), h.rustc.clone().unwrap_or_else(|| "unknown".into())),
        ("libzmq".to_string(), format!("{}{}", h.libzmq, if h.curve { " with CURVE" } else { " without CURVE" })),
        ("profile".to_string(), doc.config.profile.clone()),
    ];
    let summary = doc
        .benchmarks
        .iter()
        .map(|b| {
            let (status, status_class) = status_of(b);
            let w = b.summary.get("wall").filter(|_| b.status == Status::Ok);
            let get = |f: fn(&crate::stats::Summary) -> f64| w.map(f).unwrap_or(f64::NAN);
            let fmt = |v: f64| if v.is_nan() { "–".to_string() } else { format_seconds(v) };
            let rss = b.summary.get("max_rss").filter(|_| b.status == Status::Ok).map(|s| s.max).unwrap_or(f64::NAN);
            SummaryRow {
                id: b.id.clone(),
                status,
                status_class,
                runs: b.samples.get("wall").map_or(0, |s| s.len()),
                median: fmt(get(|s| s.median)),
                median_raw: get(|s| s.median),
                mean: fmt(get(|s| s.mean)),
                mean_raw: get(|s| s.mean),
                stddev: fmt(get(|s| s.stddev)),
                stddev_raw: get(|s| s.stddev),
                min: fmt(get(|s| s.min)),
                min_raw: get(|s| s.min),
                max: fmt(get(|s| s.max)),
                max_raw: get(|s| s.max),
                rss: if rss.is_nan() { "–".into() } else { format_bytes(rss) },
                rss_raw: rss,
            }
        })
        .collect();
    let baseline_of =
        |id: &str| doc.comparison.as_ref().and_then(|c| c.baseline_benchmarks.iter().find(|b| b.id == id));
    let details = doc
        .benchmarks
        .iter()
        .map(|b| {
            let (status, status_class) = status_of(b);
            let runs = b.samples.get("wall").map(|s| s.as_f64()).unwrap_or_default();
            let warmups = b.warmup_samples.get("wall").map(|s| s.as_f64()).unwrap_or_default();
            let base = baseline_of(&b.id);
            let base_runs = base.and_then(|x| x.samples.get("wall")).map(|s| s.as_f64()).unwrap_or_default();
            let base_warmups = base.and_then(|x| x.warmup_samples.get("wall")).map(|s| s.as_f64()).unwrap_or_default();
            let mut strips = Vec::new();
            if base.is_some() {
                strips.push(Strip { label: "baseline", runs: &base_runs, warmups: &base_warmups });
            }
            strips.push(Strip {
                label: if base.is_some() { "candidate" } else { "wall" },
                runs: &runs,
                warmups: &warmups,
            });
            let mut notes: Vec<String> = Vec::new();
            if b.config.default_entry {
                notes.push(super::console::default_entry_note(b));
            }
            notes.extend(b.warnings.iter().cloned());
            notes.extend(b.budget.iter().filter(|c| !c.ok).map(|c| {
                if c.found.is_empty() {
                    format!("budget exceeded: {} {} is {} (limit {})", c.stat, c.metric, c.value, c.limit)
                } else {
                    format!("forbidden: {}", c.found.join(", "))
                }
            }));
            if let Some(d) = &b.detail {
                notes.push(format!("stderr: {d}"));
            }
            Detail {
                id: b.id.clone(),
                anchor: b.id.replace('/', "-"),
                status,
                status_class,
                notes,
                chart: chart::strip_plot(&format!("run times of {}", b.id), &strips),
                facts: facts(b),
            }
        })
        .collect();
    let comparison = doc.comparison.as_ref().map(|c| {
        let changes: Vec<Change> = c
            .rows
            .iter()
            .filter(|r| r.metric == "wall" || r.metric == "load" || r.metric == "import")
            .filter_map(|r| {
                let ratio = r.ratio?;
                let [lo, hi] = r.ci95?;
                let noise = doc
                    .benchmarks
                    .iter()
                    .find(|b| b.id == r.id)
                    .map(|b| b.config.thresholds.noise * 100.0)
                    .unwrap_or(2.0);
                Some(Change {
                    label: &r.id,
                    percent: (ratio - 1.0) * 100.0,
                    ci: [(lo - 1.0) * 100.0, (hi - 1.0) * 100.0],
                    verdict: r.verdict,
                    noise,
                })
            })
            .collect();
        CompareView {
            baseline: c.baseline.describe(""),
            candidate: c.candidate.describe(""),
            interleaved: c.interleaved,
            chart: chart::change_chart(&changes),
            rows: c
                .rows
                .iter()
                .map(|r| {
                    let value =
                        |v: Option<f64>| v.map(|v| super::format_value(&r.metric, v)).unwrap_or_else(|| "–".into());
                    CompareRow {
                        id: r.id.clone(),
                        metric: super::compared_metric(r),
                        baseline: value(r.baseline),
                        candidate: value(r.candidate),
                        delta: super::change_percent(r).map(|p| format!("{p:+.1}%")).unwrap_or_else(|| "–".into()),
                        delta_raw: super::change_percent(r).unwrap_or(0.0),
                        ci: r
                            .ci95
                            .map(|[a, b]| format!("{:+.1}% … {:+.1}%", (a - 1.0) * 100.0, (b - 1.0) * 100.0))
                            .unwrap_or_else(|| "–".into()),
                        p: super::p_text(r).unwrap_or_else(|| "–".into()),
                        p_raw: r.deciding_p().unwrap_or(1.0),
                        verdict: verdict_cell(r),
                        verdict_class: if r.gating { verdict_class(r.verdict) } else { "neutral" },
                    }
                })
                .collect(),
            added: c.added.clone(),
            removed: c.removed.clone(),
            skipped: c.skipped.iter().map(|s| (s.id.clone(), s.reason.clone())).collect(),
        }
    });
    // The data sits inside a <script> element: no `<` may appear raw (`</script>` would end it,
    // `<!--<script` would swallow the rest of the page). JSON reads \u003c as the same `<`.
    let raw = serde_json::to_string(doc)?.replace('<', "\\u003c");
    Ok(View {
        title,
        timestamp: doc.timestamp.clone(),
        tool_version: doc.tool_version.clone(),
        schema: doc.schema.clone(),
        git: doc.git.as_ref().map(|g| Git {
            short: g.short_sha().to_string(),
            branch: g.branch.clone(),
            dirty: g.dirty,
        }),
        host,
        summary,
        details,
        comparison,
        raw,
    })
}

fn facts(b: &BenchmarkResult) -> Vec<(String, String)> {
    let f = &b.facts;
    let mut out = Vec::new();
    if !b.config.command.is_empty() {
        out.push(("command".into(), super::console::command_text(b)));
    }
    if let Some(p) = &f.program {
        out.push(("program".into(), p.clone()));
    }
    if let Some(l) = &f.library {
        out.push(("library".into(), l.clone()));
    }
    if let Some(n) = f.binary_bytes {
        out.push(("file size".into(), format_bytes(n as f64)));
    }
    if let Some(objects) = &f.mapped_objects {
        out.push((format!("mapped objects ({})", objects.len()), objects.join(", ")));
    }
    if let Some(n) = &f.needed {
        out.push(("DT_NEEDED".into(), n.join(", ")));
    }
    if let Some(r) = &f.relocations {
        out.push(("relocations".into(), format!("{} relative, {} symbolic, {} PLT", r.relative, r.symbolic, r.plt)));
    }
    if let Some(l) = &f.loader {
        out.push((
            "loader statistics".into(),
            format!(
                "{} cycles at startup; {:.1}% relocating ({} relocations, {} relative); {:.1}% loading objects",
                l.startup_cycles, l.relocation_percent, l.relocations, l.relative_relocations, l.load_objects_percent
            ),
        ));
    }
    if let Some(t) = f.threads {
        out.push(("threads at the end".into(), t.to_string()));
    }
    if let Some(n) = f.imported_modules {
        out.push(("modules imported".into(), n.to_string()));
    }
    if let Some(r) = &f.residency {
        let parts: Vec<String> = r.iter().map(|x| format!("{} {:.0}%", x.file.display(), x.resident * 100.0)).collect();
        out.push(("resident after eviction".into(), parts.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_from_programs_cannot_break_out_of_the_page() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json");
        let mut doc = crate::results::read(&path).unwrap();
        doc.benchmarks[0].detail = Some("</script><!--<script>alert(1)".into());
        let html = super::render(&doc, super::TEMPLATE, "x.tpl").unwrap();
        let data = html.split("id=\"coldbench-data\">").nth(1).unwrap().split("</script>").next().unwrap();
        assert!(!data.contains('<'), "raw `<` in the embedded JSON");
        assert!(
            html.contains("&lt;!--&lt;script&gt;"),
            "the text is escaped in the page, whatever the template's name"
        );
        assert!(!html.contains("<!--<script>alert"));
    }
}
