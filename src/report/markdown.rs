//! GitHub-flavoured Markdown, sized for a PR comment or `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

use super::view::profile::{grouped, ProfileDiff, ProfileView};
use super::view::{Candidates, CompareRow, ComparisonView, View};

/// A verdict word with a mark that reads without colour.
pub fn verdict_mark(word: &str, class: &str) -> String {
    match (class, word) {
        ("neutral", "lower") => "↓ lower".into(),
        ("neutral", _) => "↑ higher".into(),
        ("improved", _) => "🟢 improved".into(),
        ("no_change", _) => "⚪ no change".into(),
        ("within_noise", _) => "⚪ within noise".into(),
        ("regressed", _) => "🟠 regressed".into(),
        ("warning", _) => "🟡 warning".into(),
        ("failure", _) => "🔴 failure".into(),
        (_, word) => word.into(),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Renders the summary tables and, when there is one, the comparison table.
pub fn render(view: &View) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## cargo-coldbench results\n");
    out.push_str(&context_line(view.doc));
    for (i, table) in view.tables.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&summary_table(table));
    }
    out.push_str(&row_notes(view));
    if let Some(h2h) = &view.head_to_head {
        let lines: Vec<String> = h2h.summary.iter().map(|l| format!("- {l}")).collect();
        let _ =
            writeln!(out, "\n**Head-to-head**, over every benchmark against its reference:\n\n{}", lines.join("\n"));
    }
    if let Some(several) = &view.candidates {
        out.push_str(&candidates(several));
    } else if let Some(cmp) = &view.comparison {
        out.push_str(&comparison(cmp));
    }
    out
}

/// `` `a1b2c3d` on `main` · 2025-01-01T00:00:00Z · CPU, 2 cores · Linux 6.18 ``.
fn context_line(doc: &crate::results::RunDocument) -> String {
    let git = match &doc.git {
        Some(g) => format!(
            "`{}`{}{} · ",
            g.short_sha(),
            g.branch.as_deref().map(|b| format!(" on `{b}`")).unwrap_or_default(),
            if g.dirty { " (dirty)" } else { "" }
        ),
        None => String::new(),
    };
    format!(
        "{git}{} · {}, {} cores · {} {}\n\n",
        doc.timestamp, doc.host.cpu, doc.host.cores, doc.host.os, doc.host.kernel
    )
}

/// One summary table: a benchmark (or a group's parameters) per row, its status, headline and the
/// compact columns.
fn summary_table(table: &super::view::Table) -> String {
    let mut out = String::new();
    let compact: Vec<usize> = (0..table.columns.len()).filter(|&c| table.compact[c]).collect();
    let titles: String = compact.iter().map(|&c| format!(" {} |", capitalized(&table.columns[c]))).collect();
    let aligns: String = compact.iter().map(|_| "--:|").collect();
    // A group's table is headed by the group and shows each row's parameters.
    let (first, first_align) = if table.params.is_empty() {
        (" Benchmark |".to_string(), "---|".to_string())
    } else {
        let _ = writeln!(out, "**`{}`**\n", table.kind);
        let names: String = table.params.iter().map(|p| format!(" {} |", capitalized(p))).collect();
        (names, table.params.iter().map(|_| "---|").collect())
    };
    let _ = writeln!(out, "|{first} Status | Median | Mean ± σ |{titles} Runs |");
    let _ = writeln!(out, "|{first_align}---|--:|--:|{aligns}--:|");
    for r in &table.rows {
        let status = match r.status_class {
            "ok" => "✅ ok".to_string(),
            "over-budget" => "❌ over budget".to_string(),
            "failed" => format!("❌ {}", r.status.replace('|', "\\|")),
            _ => format!("⏭️ {}", r.status.replace('|', "\\|")),
        };
        let (median, mean) = match &r.headline {
            Some(h) => (h.text[0].clone(), format!("{} ± {}", h.text[1], h.text[2])),
            None => ("–".into(), "–".into()),
        };
        let cells: String = compact
            .iter()
            .map(|&c| format!(" {} |", if r.cells[c] == "-" { "–" } else { r.cells[c].as_str() }))
            .collect();
        let label = if r.params.is_empty() {
            format!(" `{}` |", r.id)
        } else {
            r.params.iter().map(|p| format!(" {} |", p.replace('|', "\\|"))).collect()
        };
        let _ = writeln!(out, "|{label} {status} | {median} | {mean} |{cells} {} |", r.runs);
    }
    out
}

/// What the rows say under the tables: slowest imports, profiles, what ran without a configuration
/// entry, runs in two modes, and each benchmark against its reference.
fn row_notes(view: &View) -> String {
    let mut out = String::new();
    let rows = || view.tables.iter().flat_map(|t| &t.rows);
    for r in rows().filter(|r| !r.slowest_imports.is_empty()) {
        let _ = writeln!(out, "\nSlowest imports of `{}` (cumulative, own, imported by):\n", r.id);
        for line in &r.slowest_imports {
            let _ = writeln!(out, "1. {}", line.replace('|', "\\|"));
        }
    }
    for r in rows() {
        if let Some(p) = &r.profile {
            out.push_str(&profile(&r.id, p));
        }
    }
    let defaults: Vec<String> = rows()
        .filter_map(|r| Some(format!("- `{}`: {}", r.id, r.default_note.as_ref()?.replace('[', "\\["))))
        .collect();
    if !defaults.is_empty() {
        let _ = writeln!(out, "\nWhat ran without a configuration entry:\n\n{}", defaults.join("\n"));
    }
    let modes: Vec<String> = rows().filter_map(|r| Some(format!("- `{}`: {}", r.id, r.modes.as_ref()?))).collect();
    if !modes.is_empty() {
        let _ = writeln!(out, "\nRuns that fall into two modes:\n\n{}", modes.join("\n"));
    }
    let references: Vec<String> =
        rows().filter_map(|r| Some(format!("- `{}` {}", r.id, r.reference.as_ref()?))).collect();
    if !references.is_empty() {
        let _ = writeln!(
            out,
            "\nAgainst the benchmark each is measured against, in the same run:\n\n{}",
            references.join("\n")
        );
    }
    out
}

/// One candidate against the baseline: the notable rows, the profiles' changes and the notes.
fn comparison(cmp: &ComparisonView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n### Comparison: {} → {}\n", cmp.baseline.describe("`"), cmp.candidate.describe("`"));
    if !cmp.interleaved {
        let _ = writeln!(out, "> Not interleaved: the two sides were measured at different times.\n");
    }
    let _ = writeln!(out, "| Benchmark | Metric | Baseline | Candidate | Δ% | 95% CI | p-value | Verdict |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|---|");
    for (id, rows) in &cmp.groups {
        for r in rows.iter().filter(|r| r.notable) {
            let _ = writeln!(out, "{}", comparison_row(id, r));
        }
    }
    for p in &cmp.profiles {
        out.push_str(&profile_diff(p));
    }
    if !cmp.lines.is_empty() {
        let _ = writeln!(out);
        for said in &cmp.lines {
            let mark = if said.warn { "⚠️ " } else { "" };
            let _ = writeln!(out, "- {mark}`{}`: {}", said.id, said.text.replace('|', "\\|"));
        }
    }
    out.push_str(&comparison_notes(cmp, ""));
    out
}

/// Several candidates: one table with a value, change, CI and verdict per candidate, the
/// ranking per gating metric, and each candidate's notes.
fn candidates(several: &Candidates) -> String {
    let mut out = String::new();
    let sides: Vec<String> = several.each.iter().map(|c| c.candidate.describe("`")).collect();
    let _ = writeln!(out, "\n### Comparison: {} → {}\n", several.baseline.describe("`"), sides.join(", "));
    if !several.interleaved {
        let _ = writeln!(out, "> Not interleaved: the baseline and the candidates were measured at different times.\n");
    }
    let titles: String =
        several.each.iter().map(|c| format!(" {} | Δ% | 95% CI | Verdict |", cell(&c.candidate.label))).collect();
    let aligns: String = several.each.iter().map(|_| "--:|--:|--:|---|").collect();
    let _ = writeln!(out, "| Benchmark | Metric | Baseline |{titles}");
    let _ = writeln!(out, "|---|---|--:|{aligns}");
    for (id, lines) in &several.groups {
        for l in lines.iter().filter(|l| l.notable) {
            let dash = || "–".to_string();
            let cells: String = l
                .cells
                .iter()
                .map(|c| match c {
                    Some(r) => format!(
                        " {} | {} | {} | {} |",
                        r.values.as_ref().map_or_else(dash, |[_, c]| c.clone()),
                        r.percent.map_or_else(dash, |p| format!("{p:+.1}%")),
                        r.ci.clone().unwrap_or_else(dash),
                        verdict_mark(r.word, r.class)
                    ),
                    None => " – | – | – | – |".to_string(),
                })
                .collect();
            let _ = writeln!(out, "| `{id}` | {} | {} |{cells}", l.metric, l.baseline.clone().unwrap_or_else(dash));
        }
    }
    if !several.best.is_empty() {
        let _ = writeln!(out, "\nBest candidate per gating metric:\n");
        for r in &several.best {
            let order: Vec<String> = r
                .order
                .iter()
                .map(|(label, row)| {
                    format!(
                        "{} {} ({})",
                        cell(label),
                        super::view::percent_text(row),
                        verdict_mark(row.word, row.class)
                    )
                })
                .collect();
            let tie = match (r.overlap, r.order.get(1)) {
                (true, Some((next, _))) => format!(" — {} and {} overlap: not told apart", r.order[0].0, next),
                _ => String::new(),
            };
            let Some(best) = order.first() else { continue };
            // The best one in bold, the others after it.
            let rest: String = order.iter().skip(1).map(|o| format!(", then {o}")).collect();
            let _ = writeln!(out, "- `{}` {}: **{}**{rest}{tie}", r.id, r.metric, best);
        }
    }
    for c in &several.each {
        for p in &c.profiles {
            let _ = writeln!(out, "\n**{}**", cell(&c.candidate.label));
            out.push_str(&profile_diff(p));
        }
        out.push_str(&comparison_notes(c, &format!("{}: ", c.candidate.label)));
    }
    out
}

/// Imports that changed, benchmarks skipped, added and removed, each heading after `prefix`.
fn comparison_notes(cmp: &ComparisonView, prefix: &str) -> String {
    let mut out = String::new();
    // A candidate's label keeps its case; a heading of its own starts with a capital.
    let heading = |text: &str| if prefix.is_empty() { capitalized(text) } else { format!("{prefix}{text}") };
    if !cmp.imports.is_empty() {
        let _ = writeln!(out, "\n{}:\n", heading("imports that changed"));
        for change in &cmp.imports {
            let mark = if change.now_loaded { "🔴" } else { "🟢" };
            let _ = writeln!(out, "- {mark} `{}`: {}", change.id, change.text());
        }
    }
    if !cmp.skipped.is_empty() {
        let _ = writeln!(out, "\n{}:\n", heading("skipped (not compared)"));
        for sk in cmp.skipped {
            let _ = writeln!(out, "- `{}`: {}", sk.id, sk.reason);
        }
    }
    let list = |ids: &[String]| ids.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
    if !cmp.added.is_empty() {
        let _ = writeln!(out, "\n{}: {}", heading("added (not compared)"), list(cmp.added));
    }
    if !cmp.removed.is_empty() {
        let _ = writeln!(out, "\n{}: {}", heading("removed (not compared)"), list(cmp.removed));
    }
    out
}

/// A table cell: `|` would end it.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A row's profile, folded away (it is long for a PR comment).
fn profile(id: &str, p: &ProfileView) -> String {
    let mut out = format!("\n<details><summary>Profile of <code>{id}</code>: {}</summary>\n\n", cell(&p.summary));
    out.push_str("| Self instructions | Share | Function | Object | Group |\n|--:|--:|---|---|---|\n");
    for f in &p.functions {
        let _ =
            writeln!(out, "| {} | {:.1}% | `{}` | {} | {} |", f.instructions, f.share, cell(&f.name), f.place, f.group);
    }
    out.push_str("\n</details>\n");
    out
}

/// What changed by function, object, crate and group in a compared row's profile.
fn profile_diff(p: &ProfileDiff) -> String {
    let noise = grouped(p.noise as i64, false);
    if p.functions.is_empty() {
        return format!(
            "\nProfile of `{}`: no function changed by more than ±{noise} instructions (the noise).\n",
            p.id
        );
    }
    let mut out =
        format!("\nProfile of `{}`: self instructions that changed by more than ±{noise} (the noise):\n\n", p.id);
    out.push_str("| Δ | Δ% | Baseline → candidate | Function | Object | Group |\n|--:|--:|--:|---|---|---|\n");
    for f in &p.functions {
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | {} | {} |",
            grouped(f.delta, true),
            f.percent_text(),
            f.sides_text(),
            cell(&f.name),
            f.place,
            f.group.label()
        );
    }
    for (what, list) in [("By object", &p.objects), ("By crate", &p.crates), ("By group", &p.groups)] {
        if !list.is_empty() {
            let parts: Vec<String> = list.iter().map(|t| t.text()).collect();
            let _ = writeln!(out, "\n{what}: {}", parts.join(", "));
        }
    }
    if let Some(loader) = &p.loader {
        let _ = writeln!(out, "\n> {}", capitalized(loader));
    }
    out
}

fn comparison_row(id: &str, r: &CompareRow) -> String {
    let dash = || "–".to_string();
    let [base, cand] = r.values.clone().unwrap_or_else(|| [dash(), dash()]);
    let delta = r.percent.map(|p| format!("{p:+.1}%")).unwrap_or_else(dash);
    let ci = r.ci.clone().unwrap_or_else(dash);
    let p = r.p.clone().unwrap_or_else(dash);
    format!("| `{id}` | {} | {base} | {cand} | {delta} | {ci} | {p} | {} |", r.metric, verdict_mark(r.word, r.class))
}
