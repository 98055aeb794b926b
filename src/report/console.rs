//! The console table: one row per benchmark, with warnings, failures and budgets under it.

use console::{pad_str, style, Alignment, StyledObject};

use crate::results::{BenchmarkResult, RunDocument, Status};
use crate::units::{format_bytes, format_seconds};

const HEADERS: [&str; 10] =
    ["benchmark", "runs", "median", "mean ± σ", "min … max", "user", "sys", "max RSS", "faults", "status"];

/// Renders the results table (colours follow `console`'s stdout setting).
pub fn render(doc: &RunDocument) -> String {
    let rows: Vec<Row> = doc.benchmarks.iter().map(row).collect();
    let mut widths: Vec<usize> = HEADERS.iter().map(|h| console::measure_text_width(h)).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(&r.cells) {
            *w = (*w).max(console::measure_text_width(cell));
        }
    }
    let mut out = String::new();
    let header: Vec<String> = HEADERS
        .iter()
        .zip(&widths)
        .enumerate()
        .map(|(i, (h, w))| pad_str(&style(h).bold().to_string(), *w, align(i), None).into_owned())
        .collect();
    out.push_str(header.join("  ").trim_end());
    out.push('\n');
    for r in &rows {
        let cells: Vec<String> = r
            .cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| pad_str(c, *w, align(i), None).into_owned())
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        for note in &r.notes {
            out.push_str("    ");
            out.push_str(note);
            out.push('\n');
        }
    }
    out.push_str(&tally(doc));
    out.push('\n');
    out
}

/// `5 benchmarks: 3 ok, 1 over budget, 1 failed`.
fn tally(doc: &RunDocument) -> String {
    let count = |f: &dyn Fn(&BenchmarkResult) -> bool| doc.benchmarks.iter().filter(|b| f(b)).count();
    let ok = count(&|b| b.status == Status::Ok && !b.over_budget());
    let over = count(&|b| b.status == Status::Ok && b.over_budget());
    let failed = count(&|b| b.status == Status::Failed);
    let skipped = count(&|b| b.status == Status::Skipped);
    let mut parts = vec![style(format!("{ok} ok")).green().to_string()];
    if over > 0 {
        parts.push(style(format!("{over} over budget")).red().bold().to_string());
    }
    if failed > 0 {
        parts.push(style(format!("{failed} failed")).red().bold().to_string());
    }
    if skipped > 0 {
        parts.push(style(format!("{skipped} skipped")).yellow().to_string());
    }
    let n = doc.benchmarks.len();
    format!("{n} benchmark{}: {}", if n == 1 { "" } else { "s" }, parts.join(", "))
}

fn align(column: usize) -> Alignment {
    match column {
        0 | 9 => Alignment::Left,
        _ => Alignment::Right,
    }
}

struct Row {
    cells: Vec<String>,
    notes: Vec<String>,
}

fn row(b: &BenchmarkResult) -> Row {
    let wall = b.summary.get("wall");
    let median_of = |m: &str| b.summary.get(m).map(|s| s.median);
    let over = b.over_budget();
    let dash = || "-".to_string();
    let mut cells = vec![b.id.clone(), b.samples.get("wall").map_or(0, |s| s.len()).to_string()];
    if b.status == Status::Ok {
        let w = wall.expect("ok results have wall samples");
        let median = format_seconds(w.median);
        let over_median = b.budget.iter().any(|c| c.metric == "wall" && !c.ok);
        cells.push(paint(median, over_median, |s| s.red().bold()));
        cells.push(format!("{} ± {}", format_seconds(w.mean), format_seconds(w.stddev)));
        cells.push(format!("{} … {}", format_seconds(w.min), format_seconds(w.max)));
        cells.push(median_of("user").map_or_else(dash, format_seconds));
        cells.push(median_of("sys").map_or_else(dash, format_seconds));
        let rss = b.summary.get("max_rss").map(|s| format_bytes(s.max)).unwrap_or_else(dash);
        let over_rss = b.budget.iter().any(|c| c.metric == "max_rss" && !c.ok);
        cells.push(paint(rss, over_rss, |s| s.red().bold()));
        cells.push(match (median_of("minor_faults"), median_of("major_faults")) {
            (Some(minor), Some(major)) => format!("{minor:.0}/{major:.0}"),
            _ => dash(),
        });
    } else {
        cells.extend(std::iter::repeat_with(dash).take(7));
    }
    let status = match b.status {
        Status::Ok if over => style("over budget".to_string()).red().bold().to_string(),
        Status::Ok => style("ok".to_string()).green().to_string(),
        Status::Failed => {
            style(format!("failed: {}", b.reason.as_deref().unwrap_or("unknown"))).red().bold().to_string()
        }
        Status::Skipped => style(format!("skipped: {}", b.reason.as_deref().unwrap_or("unknown"))).yellow().to_string(),
    };
    cells.push(status);

    let mut notes = Vec::new();
    for check in b.budget.iter().filter(|c| !c.ok) {
        let (what, value, limit) = match check.metric.as_str() {
            "max_rss" => ("peak RSS", format_bytes(check.value), format_bytes(check.limit)),
            "wall" => ("median wall time", format_seconds(check.value), format_seconds(check.limit)),
            other => (other, check.value.to_string(), check.limit.to_string()),
        };
        notes.push(style(format!("budget exceeded: {what} {value} is over the limit of {limit}")).red().to_string());
    }
    if let Some(detail) = &b.detail {
        for line in detail.lines() {
            notes.push(style(format!("│ {line}")).dim().to_string());
        }
    }
    for w in &b.warnings {
        notes.push(format!("{} {w}", style("warning:").yellow()));
    }
    Row { cells, notes }
}

fn paint(text: String, on: bool, f: impl FnOnce(StyledObject<String>) -> StyledObject<String>) -> String {
    if on {
        f(style(text)).to_string()
    } else {
        text
    }
}
