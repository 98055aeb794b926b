//! The console table: one row per benchmark, with warnings, failures and budgets under it.

use console::{pad_str, style, Alignment, StyledObject};

use crate::compare::Verdict;
use crate::results::{BenchmarkResult, Comparison, ComparisonRow, Kind, RunDocument, Side, Status};
use crate::units::{format_bytes, format_seconds};

// CPU times and faults are means: the kernel counts CPU time in ticks, so their medians of short
// runs are often 0, and comparisons compare their means too.
const HEADERS: [&str; 10] = [
    "benchmark",
    "runs",
    "median",
    "mean ± σ",
    "min … max",
    "user (mean)",
    "sys (mean)",
    "max RSS",
    "faults (mean)",
    "status",
];

/// Renders the results table (colours follow `console`'s stdout setting); `detail` adds the facts
/// under each row.
pub fn render(doc: &RunDocument, detail: bool) -> String {
    let rows: Vec<Row> = doc.benchmarks.iter().map(|b| row(b, detail)).collect();
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

fn row(b: &BenchmarkResult, detail: bool) -> Row {
    let wall = b.summary.get("wall");
    let mean_of = |m: &str| b.summary.get(m).map(|s| s.mean);
    let over = b.over_budget();
    let dash = || "-".to_string();
    let mut cells = vec![b.id.clone(), b.samples.get("wall").map_or(0, |s| s.len()).to_string()];
    if let (Status::Ok, Some(w)) = (b.status, wall) {
        let median = format_seconds(w.median);
        let over_median = b.budget.iter().any(|c| c.metric == "wall" && !c.ok);
        cells.push(paint(median, over_median, |s| s.red().bold()));
        cells.push(format!("{} ± {}", format_seconds(w.mean), format_seconds(w.stddev)));
        cells.push(format!("{} … {}", format_seconds(w.min), format_seconds(w.max)));
        cells.push(mean_of("user").map_or_else(dash, format_seconds));
        cells.push(mean_of("sys").map_or_else(dash, format_seconds));
        let rss = b.summary.get("max_rss").map(|s| format_bytes(s.max)).unwrap_or_else(dash);
        let over_rss = b.budget.iter().any(|c| c.metric == "max_rss" && !c.ok);
        cells.push(paint(rss, over_rss, |s| s.red().bold()));
        cells.push(match (mean_of("minor_faults"), mean_of("major_faults")) {
            (Some(minor), Some(major)) => format!("{}/{}", super::format_count(minor), super::format_count(major)),
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
    if b.config.default_entry {
        notes.push(style(default_entry_note(b)).dim().to_string());
    }
    if detail && !b.config.command.is_empty() {
        notes.push(style(format!("command: {}", command_text(b))).dim().to_string());
    }
    if b.status == Status::Ok {
        if let Some(line) = kind_line(b) {
            notes.push(line);
        }
    }
    for check in b.budget.iter().filter(|c| !c.ok) {
        let line = match check.metric.as_str() {
            _ if check.stat == "unchecked" => format!("could not check {}: {}", check.metric, check.found.join(", ")),
            "forbidden_loaded" => format!("forbidden shared object loaded: {}", check.found.join(", ")),
            "forbidden_imported" => format!("forbidden module imported: {}", check.found.join(", ")),
            metric => {
                let (what, value, limit) = match metric {
                    "max_rss" => ("peak RSS", format_bytes(check.value), format_bytes(check.limit)),
                    "wall" => ("median wall time", format_seconds(check.value), format_seconds(check.limit)),
                    "load" => ("median load time", format_seconds(check.value), format_seconds(check.limit)),
                    "mapped_libs" => ("mapped shared objects", check.value.to_string(), check.limit.to_string()),
                    "modules" => ("modules imported", check.value.to_string(), check.limit.to_string()),
                    other => (other, check.value.to_string(), check.limit.to_string()),
                };
                format!("budget exceeded: {what} {value} is over the limit of {limit}")
            }
        };
        notes.push(style(line).red().to_string());
    }
    if detail {
        notes.extend(fact_lines(b).into_iter().map(|l| style(l).dim().to_string()));
    }
    if let Some(r) = &b.facts.residency {
        let stuck: Vec<String> = r
            .iter()
            .filter(|x| x.resident > 0.5)
            .map(|x| format!("{} ({:.0}%)", x.file.display(), x.resident * 100.0))
            .collect();
        if !stuck.is_empty() {
            notes.push(format!(
                "{} stayed in the page cache (mapped by other processes?): {}",
                style("note:").cyan(),
                stuck.join(", ")
            ));
        }
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

/// `fd --help (default: no [[package.metadata.bench.start]] entry)`: what a benchmark that no
/// configuration asked for ran, so that nobody takes `--help` for the program's real start.
pub fn default_entry_note(b: &BenchmarkResult) -> String {
    let (what, table) = match b.kind {
        Kind::Load => (format!("dlopen {}", b.config.command.get(1).map(|l| file_name(l)).unwrap_or_default()), "load"),
        _ => {
            let mut words = b.config.command.clone();
            if let Some(program) = words.first_mut() {
                *program = file_name(program);
            }
            (words.join(" "), b.kind.as_str())
        }
    };
    format!("{what} (default: no [[package.metadata.bench.{table}]] entry)")
}

/// The full command line of a benchmark, shell-quoted, with the environment it added.
pub fn command_text(b: &BenchmarkResult) -> String {
    let env = b.config.env.iter().map(|(k, v)| format!("{k}={}", shell_quote(v)));
    let words = b.config.command.iter().map(|w| shell_quote(w));
    env.chain(words).collect::<Vec<_>>().join(" ")
}

fn shell_quote(word: &str) -> String {
    shlex::try_quote(word).map(|q| q.into_owned()).unwrap_or_else(|_| format!("{word:?}"))
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.into())
}

/// The metrics that matter for a load or python row, which the table's columns do not show.
fn kind_line(b: &BenchmarkResult) -> Option<String> {
    let med = |m: &str| b.summary.get(m).map(|s| s.median);
    match b.kind {
        Kind::Start => None,
        Kind::Load => {
            let mut parts = vec![format!("dlopen {}", format_seconds(med("load")?))];
            if let Some(init) = med("init") {
                parts.push(format!("init {}", format_seconds(init)));
            }
            if let Some(net) = med("process_minus_empty") {
                parts.push(format!("process − empty helper {}", format_seconds(net)));
            }
            Some(parts.join(", "))
        }
        Kind::Python => Some(format!(
            "import {} (self {}), {} modules, all imports {}",
            format_seconds(med("import")?),
            format_seconds(med("import_self")?),
            med("modules")?,
            format_seconds(med("import_total")?)
        )),
    }
}

/// The facts behind a row, shown with `-v`.
fn fact_lines(b: &BenchmarkResult) -> Vec<String> {
    let f = &b.facts;
    let mut out = Vec::new();
    if let Some(objects) = &f.mapped_objects {
        let names: Vec<String> = objects
            .iter()
            .map(|o| std::path::Path::new(o).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            .collect();
        let what = if b.kind == Kind::Load { "mapped by loading" } else { "mapped at the end" };
        let plural = if objects.len() == 1 { "" } else { "s" };
        out.push(format!("{what}: {} shared object{plural} ({})", objects.len(), names.join(", ")));
    }
    if let Some(needed) = &f.needed {
        out.push(format!("DT_NEEDED: {}", if needed.is_empty() { "none".into() } else { needed.join(", ") }));
    }
    if let Some(r) = &f.relocations {
        out.push(format!("relocations: {} relative, {} symbolic, {} PLT", r.relative, r.symbolic, r.plt));
    }
    if let Some(l) = &f.loader {
        out.push(format!(
            "loader: {} cycles at startup, {:.1}% relocating ({} relocations), {:.1}% loading objects",
            l.startup_cycles, l.relocation_percent, l.relocations, l.load_objects_percent
        ));
    }
    let mut misc = Vec::new();
    if let Some(bytes) = f.binary_bytes {
        misc.push(format!("file {}", format_bytes(bytes as f64)));
    }
    if let Some(stripped) = f.stripped {
        misc.push(if stripped { "stripped".to_string() } else { "not stripped".to_string() });
    }
    if let Some(t) = f.threads {
        misc.push(format!("{t} thread{} at the end", if t == 1 { "" } else { "s" }));
    }
    if let Some(n) = f.imported_modules {
        misc.push(format!("{n} modules imported"));
    }
    if !misc.is_empty() {
        out.push(misc.join(", "));
    }
    if let Some(r) = &f.residency {
        let parts: Vec<String> = r
            .iter()
            .map(|x| {
                let name = x.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                format!("{name} {:.0}%", x.resident * 100.0)
            })
            .collect();
        out.push(format!("resident after eviction: {}", parts.join(", ")));
    }
    for p in &f.problems {
        out.push(format!("facts: {p}"));
    }
    out
}

fn paint(text: String, on: bool, f: impl FnOnce(StyledObject<String>) -> StyledObject<String>) -> String {
    if on {
        f(style(text)).to_string()
    } else {
        text
    }
}

/// The whole console output of a result: the table and, when there is one, the comparison.
pub fn render_all(doc: &RunDocument, detail: bool) -> String {
    let mut out = render(doc, detail);
    if let Some(cmp) = &doc.comparison {
        out.push('\n');
        out.push_str(&render_comparison(cmp, detail));
    }
    out
}

/// Renders a comparison: a table per benchmark and a summary line per benchmark.
///
/// Without `detail`, only the wall time, status rows and metrics that changed are listed.
pub fn render_comparison(cmp: &Comparison, detail: bool) -> String {
    let mut out = String::new();
    let describe = |side: &Side| {
        let sha = side.sha.as_deref().map(crate::git::short);
        match (sha, side.dirty) {
            (Some(sha), true) => format!("{} ({sha}, dirty)", side.label),
            (Some(sha), false) => format!("{} ({sha})", side.label),
            (None, _) => side.label.clone(),
        }
    };
    out.push_str(&format!(
        "{} {} → {}\n",
        style("Comparison:").bold(),
        describe(&cmp.baseline),
        describe(&cmp.candidate)
    ));
    if cmp.interleaved {
        out.push_str(
            &style("the two sides ran interleaved, so drift on the machine hit both alike\n").dim().to_string(),
        );
    } else {
        out.push_str(
            &style(
                "not interleaved: the two sides were measured at different times, so a change of the machine's \
                 state between them shows up as a change\n",
            )
            .yellow()
            .to_string(),
        );
    }
    let mut ids: Vec<&str> = Vec::new();
    for row in &cmp.rows {
        if !ids.contains(&row.id.as_str()) {
            ids.push(&row.id);
        }
    }
    const HEAD: [&str; 6] = ["metric", "baseline", "candidate", "Δ", "Δ%", "verdict"];
    for id in &ids {
        let rows: Vec<&ComparisonRow> = cmp
            .rows
            .iter()
            .filter(|r| r.id == *id)
            .filter(|r| detail || r.gating || !matches!(r.verdict, Verdict::NoChange | Verdict::WithinNoise))
            .collect();
        out.push('\n');
        out.push_str(&style(id).bold().to_string());
        out.push('\n');
        let cells: Vec<Vec<String>> = rows.iter().map(|r| comparison_cells(r)).collect();
        let mut widths: Vec<usize> = HEAD.iter().map(|h| console::measure_text_width(h)).collect();
        for c in &cells {
            for (w, cell) in widths.iter_mut().zip(c) {
                *w = (*w).max(console::measure_text_width(cell));
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    let a = if i == 0 || i == 5 { Alignment::Left } else { Alignment::Right };
                    pad_str(c, *w, a, None).into_owned()
                })
                .collect();
            format!("  {}\n", padded.join("  ").trim_end())
        };
        let head: Vec<String> = HEAD.iter().map(|h| style(h).dim().to_string()).collect();
        out.push_str(&line(&head));
        for (row, c) in rows.iter().zip(&cells) {
            out.push_str(&line(c));
            if let Some(note) = &row.note {
                out.push_str(&format!("    {}\n", style(note).dim()));
            }
        }
    }
    if !cmp.skipped.is_empty() {
        out.push_str(&format!("\n{}\n", style("skipped (not compared):").yellow()));
        for s in &cmp.skipped {
            out.push_str(&format!("  {}: {}\n", s.id, s.reason));
        }
    }
    if !cmp.added.is_empty() {
        out.push_str(&format!("\n{} {}\n", style("added (not compared):").cyan(), cmp.added.join(", ")));
    }
    if !cmp.removed.is_empty() {
        out.push_str(&format!("{} {}\n", style("removed (not compared):").cyan(), cmp.removed.join(", ")));
    }
    let summaries: Vec<String> = cmp.rows.iter().filter(|r| r.gating).map(summary_line).collect();
    if !summaries.is_empty() {
        out.push('\n');
        for s in summaries {
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

fn format_metric(metric: &str, value: f64) -> String {
    super::format_value(metric, value)
}

fn format_delta(metric: &str, delta: f64) -> String {
    let sign = if delta > 0.0 {
        "+"
    } else if delta < 0.0 {
        "−"
    } else {
        ""
    };
    format!("{sign}{}", format_metric(metric, delta.abs()))
}

fn percent(p: f64) -> String {
    let sign = if p > 0.0 {
        "+"
    } else if p < 0.0 {
        "−"
    } else {
        ""
    };
    format!("{sign}{:.1}%", p.abs())
}

/// The verdict of a gating row; a row that only explains reads neutrally (`↑ higher`).
fn verdict_label(r: &ComparisonRow) -> String {
    if !r.gating {
        return match r.verdict {
            Verdict::NoChange => style("= no change").dim().to_string(),
            Verdict::WithinNoise => style("≈ within noise").dim().to_string(),
            _ if super::neutral_change(r) == "lower" => "↓ lower".to_string(),
            _ => "↑ higher".to_string(),
        };
    }
    match r.verdict {
        Verdict::Improved => style("▼ improved").green().bold().to_string(),
        Verdict::NoChange => style("= no change").dim().to_string(),
        Verdict::WithinNoise => style("≈ within noise").dim().to_string(),
        Verdict::Regressed => style("▲ regressed").red().to_string(),
        Verdict::Warning => style("▲ warning").yellow().bold().to_string(),
        Verdict::Failure => style("▲ failure").red().bold().to_string(),
    }
}

fn comparison_cells(r: &ComparisonRow) -> Vec<String> {
    let dash = || "-".to_string();
    match (r.baseline, r.candidate) {
        (Some(b), Some(c)) => vec![
            super::compared_metric(r),
            format_metric(&r.metric, b),
            format_metric(&r.metric, c),
            format_delta(&r.metric, c - b),
            super::change_percent(r).map_or_else(dash, percent),
            verdict_label(r),
        ],
        _ => vec![r.metric.clone(), dash(), dash(), dash(), dash(), verdict_label(r)],
    }
}

fn summary_line(r: &ComparisonRow) -> String {
    let what = match (r.ratio, r.ci95, super::p_text(r)) {
        (Some(ratio), Some([lo, hi]), Some(p)) => {
            let change = (ratio - 1.0) * 100.0;
            let direction = if change >= 0.0 { "slower" } else { "faster" };
            let (a, b) = ((lo - 1.0) * 100.0, (hi - 1.0) * 100.0);
            let location = r.location().unwrap_or("median");
            let label = if r.metric == "wall" { String::new() } else { format!(" ({})", r.metric) };
            format!("{location} {:.1}% {direction}{label} (CI {a:+.1}% … {b:+.1}%, {p})", change.abs())
        }
        _ => r.note.clone().unwrap_or_else(|| r.metric.clone()),
    };
    format!("{}: {what} — {}", r.id, verdict_label(r))
}
