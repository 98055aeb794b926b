//! GitHub-flavoured Markdown, sized for a PR comment or `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

use crate::compare::Verdict;
use crate::results::{RunDocument, Status};
use crate::units::{format_bytes, format_seconds};

/// A verdict with a mark that reads without colour.
pub fn verdict_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Improved => "🟢 improved",
        Verdict::NoChange => "⚪ no change",
        Verdict::WithinNoise => "⚪ within noise",
        Verdict::Regressed => "🟠 regressed",
        Verdict::Warning => "🟡 warning",
        Verdict::Failure => "🔴 failure",
    }
}

/// The verdict cell of a comparison row: a mark for gating rows, a neutral word for the others.
pub fn verdict_cell(r: &crate::results::ComparisonRow) -> String {
    if r.gating {
        verdict_mark(r.verdict).to_string()
    } else {
        match super::neutral_change(r) {
            "higher" => "↑ higher".into(),
            "lower" => "↓ lower".into(),
            other => other.into(),
        }
    }
}

/// Renders the summary table and, when there is one, the comparison table.
pub fn render(doc: &RunDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## cargo-coldbench results\n");
    let git = match &doc.git {
        Some(g) => format!(
            "`{}`{}{} · ",
            g.short_sha(),
            g.branch.as_deref().map(|b| format!(" on `{b}`")).unwrap_or_default(),
            if g.dirty { " (dirty)" } else { "" }
        ),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "{git}{} · {}, {} cores · {} {}\n",
        doc.timestamp, doc.host.cpu, doc.host.cores, doc.host.os, doc.host.kernel
    );
    let _ = writeln!(out, "| Benchmark | Status | Median | Mean ± σ | Max RSS | Runs |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|");
    for b in &doc.benchmarks {
        let status = match b.status {
            Status::Ok if b.over_budget() => "❌ over budget".to_string(),
            Status::Ok => "✅ ok".to_string(),
            Status::Failed => format!("❌ failed: {}", b.reason.as_deref().unwrap_or("unknown").replace('|', "\\|")),
            Status::Skipped => format!("⏭️ skipped: {}", b.reason.as_deref().unwrap_or("unknown").replace('|', "\\|")),
        };
        let (median, mean, rss) = match b.summary.get("wall") {
            Some(w) if b.status == Status::Ok => (
                format_seconds(w.median),
                format!("{} ± {}", format_seconds(w.mean), format_seconds(w.stddev)),
                b.summary.get("max_rss").map(|s| format_bytes(s.max)).unwrap_or_else(|| "–".into()),
            ),
            _ => ("–".into(), "–".into(), "–".into()),
        };
        let runs = b.samples.get("wall").map_or(0, |s| s.len());
        let _ = writeln!(out, "| `{}` | {status} | {median} | {mean} | {rss} | {runs} |", b.id);
    }
    let defaults: Vec<String> = doc
        .benchmarks
        .iter()
        .filter(|b| b.config.default_entry)
        .map(|b| format!("- `{}`: {}", b.id, super::console::default_entry_note(b).replace('[', "\\[")))
        .collect();
    if !defaults.is_empty() {
        let _ = writeln!(out, "\nWhat ran without a configuration entry:\n\n{}", defaults.join("\n"));
    }
    if let Some(cmp) = &doc.comparison {
        let _ = writeln!(out, "\n### Comparison: {} → {}\n", cmp.baseline.describe("`"), cmp.candidate.describe("`"));
        if !cmp.interleaved {
            let _ = writeln!(out, "> Not interleaved: the two sides were measured at different times.\n");
        }
        let _ = writeln!(out, "| Benchmark | Metric | Baseline | Candidate | Δ% | 95% CI | p-value | Verdict |");
        let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|---|");
        for r in cmp.rows.iter().filter(|r| r.gating || !matches!(r.verdict, Verdict::NoChange | Verdict::WithinNoise))
        {
            let value = |v: Option<f64>| v.map(|v| super::format_value(&r.metric, v)).unwrap_or_else(|| "–".into());
            let delta = super::change_percent(r).map(|p| format!("{p:+.1}%")).unwrap_or_else(|| "–".into());
            let ci = r
                .ci95
                .map(|[a, b]| format!("{:+.1}% … {:+.1}%", (a - 1.0) * 100.0, (b - 1.0) * 100.0))
                .unwrap_or_else(|| "–".into());
            let p = super::p_text(r).unwrap_or_else(|| "–".into());
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {delta} | {ci} | {p} | {} |",
                r.id,
                super::compared_metric(r),
                value(r.baseline),
                value(r.candidate),
                verdict_cell(r)
            );
        }
        if !cmp.skipped.is_empty() {
            let _ = writeln!(out, "\nSkipped (not compared):\n");
            for sk in &cmp.skipped {
                let _ = writeln!(out, "- `{}`: {}", sk.id, sk.reason);
            }
        }
        if !cmp.added.is_empty() {
            let _ = writeln!(
                out,
                "\nAdded (not compared): {}",
                cmp.added.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
            );
        }
        if !cmp.removed.is_empty() {
            let _ = writeln!(
                out,
                "\nRemoved (not compared): {}",
                cmp.removed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
            );
        }
    }
    out
}
