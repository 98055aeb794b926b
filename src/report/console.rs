//! The console: one table per kind of benchmark, notes under each row, and the comparison —
//! colours through `console` (off when not a terminal, or by `--color`/`NO_COLOR`).

use console::{pad_str, style, Alignment, StyledObject};

use super::view::profile::{grouped, ProfileDiff};
use super::view::{Candidates, CompareRow, ComparisonView, Row, Table, Tally, View};
use super::Detail;
use crate::results::Side;

/// Renders the tables and, when there is one, the comparison; `detail` adds each benchmark's
/// command line and facts, and every metric of a comparison, and the slowest imports of every
/// Python import row.
pub fn render(view: &View, detail: Detail) -> String {
    let mut out = String::new();
    for (i, table) in view.tables.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_table(table, detail));
    }
    out.push_str(&tally(&view.tally));
    out.push('\n');
    for line in &view.highlights {
        out.push_str(&format!("{} {line}\n", style("→").cyan()));
    }
    if let Some(h2h) = &view.head_to_head {
        out.push_str(&format!(
            "\n{}\n",
            style(format!("Head-to-head ({} against their references)", pairs(h2h.pairs.len()))).bold()
        ));
        for line in &h2h.summary {
            out.push_str(&format!("{} {line}\n", style("→").cyan()));
        }
    }
    if let Some(several) = &view.candidates {
        out.push('\n');
        out.push_str(&render_candidates(several, detail.verbose));
    } else if let Some(cmp) = &view.comparison {
        out.push('\n');
        out.push_str(&render_comparison(cmp, detail.verbose));
    }
    out
}

fn render_table(table: &Table, detail: Detail) -> String {
    // A group's table names the group above it and shows each row's parameters.
    let mut headers: Vec<String> =
        if table.params.is_empty() { vec!["benchmark".to_string()] } else { table.params.clone() };
    headers.extend(["runs", "median", "mean ± σ", "min … max"].iter().map(|s| s.to_string()));
    headers.extend(table.columns.iter().cloned());
    headers.push("status".into());
    let rows: Vec<(Vec<String>, Vec<String>)> =
        table.rows.iter().map(|r| (cells(r, &table.columns), notes(r, detail))).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| console::measure_text_width(h)).collect();
    for (cells, _) in &rows {
        for (w, cell) in widths.iter_mut().zip(cells) {
            *w = (*w).max(console::measure_text_width(cell));
        }
    }
    let last = headers.len() - 1;
    let labels = table.params.len().max(1);
    let align = |i: usize| if i < labels || i == last { Alignment::Left } else { Alignment::Right };
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| pad_str(c, *w, align(i), None).into_owned())
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = String::new();
    if !table.params.is_empty() {
        out.push_str(&format!("{}\n", style(&table.kind).bold().underlined()));
    }
    out.push_str(&line(&headers.iter().map(|h| style(h).bold().to_string()).collect::<Vec<_>>()));
    for (cells, notes) in &rows {
        out.push_str(&line(cells));
        for note in notes {
            out.push_str("    ");
            out.push_str(note);
            out.push('\n');
        }
    }
    out
}

fn cells(r: &Row, columns: &[String]) -> Vec<String> {
    let mut cells = if r.params.is_empty() { vec![r.id.clone()] } else { r.params.clone() };
    cells.push(r.runs.to_string());
    match &r.headline {
        Some(h) => {
            let [median, mean, stddev, min, max] = &h.text;
            cells.push(paint(median.clone(), r.headline_over, |s| s.red().bold()));
            cells.push(format!("{mean} ± {stddev}"));
            cells.push(format!("{min} … {max}"));
        }
        None => cells.extend(std::iter::repeat_n("-".to_string(), 3)),
    }
    for (title, cell) in columns.iter().zip(&r.cells) {
        cells.push(paint(cell.clone(), r.columns_over.contains(title), |s| s.red().bold()));
    }
    cells.push(match r.status_class {
        "ok" => style(r.status.clone()).green().to_string(),
        "skipped" => style(r.status.clone()).yellow().to_string(),
        _ => style(r.status.clone()).red().bold().to_string(),
    });
    cells
}

fn notes(r: &Row, detail: Detail) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(note) = &r.default_note {
        notes.push(style(note).dim().to_string());
    }
    if detail.verbose {
        if let Some(command) = &r.command {
            notes.push(style(format!("command: {command}")).dim().to_string());
        }
    }
    if let Some(line) = &r.line {
        notes.push(line.clone());
    }
    if let Some(modes) = &r.modes {
        notes.push(format!("{} {modes}", style("note:").cyan()));
    }
    if let Some(note) = &r.reference {
        notes.push(note.clone());
    }
    notes.extend(r.budget_notes.iter().map(|n| style(n).red().to_string()));
    // Which imports make it slow: with -v or --top, or when a budget failed and the question is asked.
    if !r.slowest_imports.is_empty() && (detail.imports || !r.budget_notes.is_empty()) {
        notes.push(style("slowest imports (cumulative, own, imported by):").dim().to_string());
        notes.extend(r.slowest_imports.iter().map(|l| style(format!("  {l}")).dim().to_string()));
    }
    if let Some(p) = &r.profile {
        notes.push(format!("{} {}", style("profile:").cyan(), p.summary));
        let width = p.functions.iter().map(|f| f.instructions.len()).max().unwrap_or(0);
        notes.extend(p.functions.iter().map(|f| format!("  {}", f.text(width))));
    }
    if detail.verbose {
        notes.extend(r.facts.iter().map(|(k, v)| style(format!("{k}: {v}")).dim().to_string()));
    }
    if let Some(note) = &r.residency_note {
        notes.push(format!("{} {note}", style("note:").cyan()));
    }
    notes.extend(r.detail.iter().map(|l| style(format!("│ {l}")).dim().to_string()));
    notes.extend(r.warnings.iter().map(|w| format!("{} {w}", style("warning:").yellow())));
    notes
}

fn pairs(n: usize) -> String {
    if n == 1 {
        "1 benchmark".into()
    } else {
        format!("{n} benchmarks")
    }
}

/// `5 benchmarks: 3 ok, 1 over budget, 1 failed`.
fn tally(t: &Tally) -> String {
    let mut parts = vec![style(format!("{} ok", t.ok)).green().to_string()];
    if t.over > 0 {
        parts.push(style(format!("{} over budget", t.over)).red().bold().to_string());
    }
    if t.failed > 0 {
        parts.push(style(format!("{} failed", t.failed)).red().bold().to_string());
    }
    if t.skipped > 0 {
        parts.push(style(format!("{} skipped", t.skipped)).yellow().to_string());
    }
    format!("{} benchmark{}: {}", t.total, if t.total == 1 { "" } else { "s" }, parts.join(", "))
}

fn paint(text: String, on: bool, f: impl FnOnce(StyledObject<String>) -> StyledObject<String>) -> String {
    if on {
        f(style(text)).to_string()
    } else {
        text
    }
}

fn describe(side: &Side) -> String {
    side.describe("")
}

/// The verdict of a row in its colour; a row that only explains reads neutrally (`↑ higher`).
fn verdict_label(word: &str, class: &str) -> String {
    match (class, word) {
        ("neutral", "lower") => "↓ lower".to_string(),
        ("neutral", _) => "↑ higher".to_string(),
        ("improved", _) => style("▼ improved").green().bold().to_string(),
        ("no_change", _) => style("= no change").dim().to_string(),
        ("within_noise", _) => style("≈ within noise").dim().to_string(),
        ("regressed", _) => style("▲ regressed").red().to_string(),
        ("warning", _) => style("▲ warning").yellow().bold().to_string(),
        ("failure", _) => style("▲ failure").red().bold().to_string(),
        (_, word) => word.to_string(),
    }
}

/// The line under a comparison's heading: whether the sides ran interleaved.
fn interleaving(interleaved: bool, sides: &str) -> String {
    if interleaved {
        let them = if sides == "two sides" { "both" } else { "them" };
        style(format!("the {sides} ran interleaved, so drift on the machine hit {them} alike\n")).dim().to_string()
    } else {
        style(format!(
            "not interleaved: the {sides} were measured at different times, so a change of the machine's state \
             between them shows up as a change\n"
        ))
        .yellow()
        .to_string()
    }
}

/// A table of `cells` under `head`, indented; the columns in `left` are aligned left.
fn compare_table(head: &[String], cells: &[(Vec<String>, Option<String>)], left: &dyn Fn(usize) -> bool) -> String {
    let mut widths: Vec<usize> = head.iter().map(|h| console::measure_text_width(h)).collect();
    for (c, _) in cells {
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
                pad_str(c, *w, if left(i) { Alignment::Left } else { Alignment::Right }, None).into_owned()
            })
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&head.iter().map(|h| style(h).dim().to_string()).collect::<Vec<_>>());
    for (c, note) in cells {
        out.push_str(&line(c));
        if let Some(note) = note {
            out.push_str(&format!("    {}\n", style(note).dim()));
        }
    }
    out
}

/// Renders a comparison: a table per benchmark and a summary line per gating row. Without
/// `detail`, only gating rows and what changed are listed.
pub fn render_comparison(cmp: &ComparisonView, detail: bool) -> String {
    let mut out = format!("{} {} → {}\n", style("Comparison:").bold(), describe(cmp.baseline), describe(cmp.candidate));
    out.push_str(&interleaving(cmp.interleaved, "two sides"));
    if let Some(line) = family_line(cmp) {
        out.push_str(&style(line).dim().to_string());
        out.push('\n');
    }
    let head: Vec<String> = ["metric", "baseline", "candidate", "Δ", "Δ%", "verdict"].map(String::from).into();
    for (id, rows) in &cmp.groups {
        let cells: Vec<(Vec<String>, Option<String>)> =
            rows.iter().filter(|r| detail || r.notable).map(|r| (compare_cells(r), r.row.note.clone())).collect();
        out.push_str(&format!("\n{}\n", style(id).bold()));
        out.push_str(&compare_table(&head, &cells, &|i| i == 0 || i == 5));
        if let Some(p) = cmp.profiles.iter().find(|p| p.id == *id) {
            out.push_str(&profile_diff(p));
        }
        for said in cmp.lines.iter().filter(|l| l.id == *id) {
            let text = if said.warn {
                format!("{} {}", style("warning:").yellow(), said.text)
            } else {
                style(&said.text).dim().to_string()
            };
            out.push_str(&format!("  {text}\n"));
        }
    }
    out.push_str(&comparison_notes(cmp, ""));
    if !cmp.summaries.is_empty() {
        out.push('\n');
        out.push_str(&summaries(cmp, ""));
    }
    out
}

/// Several candidates against one baseline: a table per benchmark with a column per candidate,
/// each candidate's notes, the ranking per gating metric and each candidate's summary lines.
pub fn render_candidates(several: &Candidates, detail: bool) -> String {
    let labels: Vec<String> = several.each.iter().map(|c| describe(c.candidate)).collect();
    let mut out = format!("{} {} → {}\n", style("Comparison:").bold(), describe(several.baseline), labels.join(", "));
    out.push_str(&interleaving(several.interleaved, "baseline and the candidates"));
    let mut head: Vec<String> = vec!["metric".into(), "baseline".into()];
    for c in &several.each {
        head.extend([c.candidate.label.clone(), "CI".into(), "verdict".into()]);
    }
    for (id, lines) in &several.groups {
        let cells: Vec<(Vec<String>, Option<String>)> = lines
            .iter()
            .filter(|l| detail || l.notable)
            .map(|l| {
                let mut cells = vec![l.metric.clone(), l.baseline.clone().unwrap_or_else(|| "-".into())];
                for cell in &l.cells {
                    cells.extend(match cell {
                        Some(r) => {
                            let value = r.values.as_ref().map(|[_, c]| format!("{c} {}", super::view::percent_text(r)));
                            [
                                value.unwrap_or_else(|| "-".into()),
                                r.ci.clone().unwrap_or_else(|| "-".into()),
                                verdict_label(r.word, r.class),
                            ]
                        }
                        None => ["-".to_string(), "-".to_string(), "-".to_string()],
                    });
                }
                (cells, None)
            })
            .collect();
        out.push_str(&format!("\n{}\n", style(id).bold()));
        out.push_str(&compare_table(&head, &cells, &|i| i == 0 || (i >= 4 && (i - 4) % 3 == 0)));
        for c in &several.each {
            if let Some(p) = c.profiles.iter().find(|p| p.id == *id) {
                out.push_str(&format!("  {}\n{}", style(&c.candidate.label).bold(), profile_diff(p)));
            }
        }
    }
    for c in &several.each {
        out.push_str(&comparison_notes(c, &format!("{}: ", c.candidate.label)));
    }
    if !several.best.is_empty() {
        out.push_str(&format!("\n{}\n", style("best candidate per gating metric:").bold()));
        for r in &several.best {
            let order: Vec<String> = r
                .order
                .iter()
                .map(|(label, row)| {
                    format!("{label} {} ({})", super::view::percent_text(row), verdict_label(row.word, row.class))
                })
                .collect();
            let tie = match (r.overlap, r.order.get(1)) {
                (true, Some((next, _))) => {
                    style(format!(" — {} and {next} overlap: not told apart", r.order[0].0)).dim().to_string()
                }
                _ => String::new(),
            };
            out.push_str(&format!("  {} {}: {}{tie}\n", r.id, r.metric, order.join(", then ")));
        }
    }
    for c in several.each.iter().filter(|c| !c.summaries.is_empty()) {
        out.push('\n');
        out.push_str(&summaries(c, &format!("{}: ", c.candidate.label)));
    }
    out
}

/// A summary line per gating row, each after `prefix`.
fn summaries(cmp: &ComparisonView, prefix: &str) -> String {
    let mut out = String::new();
    for (text, row) in &cmp.summaries {
        let class = super::format::verdict_class(row);
        let word = super::format::verdict_word(row);
        out.push_str(&format!("{prefix}{text} — {}\n", verdict_label(word, class)));
    }
    out
}

/// Imports that changed, benchmarks skipped, added and removed, each heading after `prefix`.
fn comparison_notes(cmp: &ComparisonView, prefix: &str) -> String {
    let mut out = String::new();
    if !cmp.imports.is_empty() {
        out.push_str(&format!("\n{}\n", style(format!("{prefix}imports that changed:")).bold()));
        for change in &cmp.imports {
            let text = change.text();
            let text = if change.now_loaded { style(text).red() } else { style(text).green() };
            out.push_str(&format!("  {}: {text}\n", change.id));
        }
    }
    if !cmp.skipped.is_empty() {
        out.push_str(&format!("\n{}\n", style(format!("{prefix}skipped (not compared):")).yellow()));
        for s in cmp.skipped {
            out.push_str(&format!("  {}: {}\n", s.id, s.reason));
        }
    }
    if !cmp.added.is_empty() {
        out.push_str(&format!(
            "\n{} {}\n",
            style(format!("{prefix}added (not compared):")).cyan(),
            cmp.added.join(", ")
        ));
    }
    if !cmp.removed.is_empty() {
        out.push_str(&format!(
            "{} {}\n",
            style(format!("{prefix}removed (not compared):")).cyan(),
            cmp.removed.join(", ")
        ));
    }
    if !cmp.too_noisy.is_empty() {
        out.push_str(&format!(
            "\n{} {} of the gating rows could not have seen a regression of their `fail` threshold on this machine, \
             so their verdict says little: more processes (`--processes`) or longer rounds (`round`, `iterations`) \
             would; `calibrate --suite` measures what it takes\n",
            style("too noisy to judge:").yellow().bold(),
            cmp.too_noisy.len(),
        ));
        for (label, detectable, fail) in &cmp.too_noisy {
            out.push_str(&format!(
                "  {label}: could detect ≥ {:.0}%, fail is {:.0}%\n",
                detectable * 100.0,
                fail * 100.0
            ));
        }
    }
    out
}

/// What changed by function, object, crate and group, beyond the instruction noise.
fn profile_diff(p: &ProfileDiff) -> String {
    let noise = grouped(p.noise as i64, false);
    if p.functions.is_empty() {
        return format!(
            "  {}\n",
            style(format!("profile: no function changed by more than ±{noise} instructions (the noise)")).dim()
        );
    }
    let mut out = format!(
        "  {}\n",
        style(format!("profile: self instructions that changed by more than ±{noise} (the noise)")).bold()
    );
    let cells: Vec<[String; 4]> = p
        .functions
        .iter()
        .map(|f| {
            [
                grouped(f.delta, true),
                f.percent_text(),
                f.sides_text(),
                format!("{} [{}] · {}", f.name, f.place, f.group.label()),
            ]
        })
        .collect();
    let widths: Vec<usize> =
        (0..3).map(|i| cells.iter().map(|c| console::measure_text_width(&c[i])).max().unwrap_or(0)).collect();
    for (f, c) in p.functions.iter().zip(&cells) {
        let delta = pad_str(&c[0], widths[0], Alignment::Right, None);
        let delta = if f.delta > 0 { style(delta).red().to_string() } else { style(delta).green().to_string() };
        out.push_str(&format!(
            "    {delta}  {}  {}  {}\n",
            pad_str(&c[1], widths[1], Alignment::Right, None),
            pad_str(&c[2], widths[2], Alignment::Right, None),
            c[3]
        ));
    }
    for (what, list) in [("by object", &p.objects), ("by crate", &p.crates), ("by group", &p.groups)] {
        if !list.is_empty() {
            let parts: Vec<String> = list.iter().map(|t| t.text()).collect();
            out.push_str(&format!("    {} {}\n", style(format!("{what}:")).dim(), parts.join(", ")));
        }
    }
    if let Some(loader) = &p.loader {
        out.push_str(&format!("    {} {loader}\n", style("note:").cyan()));
    }
    out
}

/// How the rows were judged as a family: the adjustment and what it guarantees.
fn family_line(cmp: &ComparisonView) -> Option<String> {
    use crate::results::Adjustment;
    let family = cmp.family.filter(|f| f.gating + f.explaining > 1)?;
    Some(match family.method {
        Adjustment::None => format!(
            "p-values not adjusted for the {} gating rows (--multiplicity none): each may flag by chance 1 time in 20",
            family.gating
        ),
        method => format!(
            "p-values adjusted for the {} gating rows ({}, per direction of change): identical code fails the gate \
             at most 1 time in 20",
            family.gating,
            if method == Adjustment::Holm { "Holm" } else { "Benjamini–Hochberg" },
        ),
    })
}

fn compare_cells(r: &CompareRow) -> Vec<String> {
    let dash = || "-".to_string();
    let verdict = verdict_label(r.word, r.class);
    match (&r.values, &r.delta) {
        (Some([b, c]), Some(delta)) => {
            vec![r.metric.clone(), b.clone(), c.clone(), delta.clone(), super::view::percent_text(r), verdict]
        }
        _ => vec![r.metric.clone(), dash(), dash(), dash(), dash(), verdict],
    }
}
