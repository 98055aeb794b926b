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
    if let Some(cmp) = &doc.comparison {
        let _ = writeln!(out, "\n### Comparison: {} → {}\n", cmp.baseline.describe("`"), cmp.candidate.describe("`"));
        if !cmp.interleaved {
            let _ = writeln!(out, "> Not interleaved: the two sides were measured at different times.\n");
        }
        let _ = writeln!(out, "| Benchmark | Metric | Baseline | Candidate | Δ% | 95% CI | p | Verdict |");
        let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|---|");
        for r in cmp.rows.iter().filter(|r| r.gating || !matches!(r.verdict, Verdict::NoChange | Verdict::WithinNoise))
        {
            let value = |v: Option<f64>| v.map(|v| super::format_value(&r.metric, v)).unwrap_or_else(|| "–".into());
            let delta = r.ratio.map(|x| format!("{:+.1}%", (x - 1.0) * 100.0)).unwrap_or_else(|| "–".into());
            let ci = r
                .ci95
                .map(|[a, b]| format!("{:+.1}% … {:+.1}%", (a - 1.0) * 100.0, (b - 1.0) * 100.0))
                .unwrap_or_else(|| "–".into());
            let p = match r.p_value {
                Some(p) if p < 0.001 => "<0.001".to_string(),
                Some(p) => format!("{p:.3}"),
                None => "–".into(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {delta} | {ci} | {p} | {} |",
                r.id,
                r.metric,
                value(r.baseline),
                value(r.candidate),
                verdict_mark(r.verdict)
            );
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
