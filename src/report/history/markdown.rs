//! A history as GitHub-flavoured Markdown: per benchmark its steps, and the commits without a
//! measurement.

use std::fmt::Write;

use super::{change_text, step_span};
use crate::results::{short_sha, History};

/// The Markdown of a history.
pub fn render(history: &History) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## cargo-coldbench history\n\n{} commits against `{}` \"{}\" (the anchor) · {}\n",
        history.commits.len(),
        short_sha(&history.anchor.sha),
        cell(&history.anchor.subject),
        history.timestamp
    );
    for s in &history.series {
        let _ = writeln!(out, "### `{}` · {}\n", s.id, s.metric);
        if s.steps.is_empty() {
            let measured = s.points.iter().filter(|p| p.ratio.is_some()).count();
            let _ = writeln!(out, "No step larger than ±{:.1}% in {measured} measured commits.\n", s.noise * 100.0);
            continue;
        }
        let _ = writeln!(out, "| Commit | Subject | Change | Commits it may be in |\n|---|---|--:|--:|");
        for st in &s.steps {
            let commit = &history.commits[st.index].commit;
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                short_sha(&commit.sha),
                cell(&commit.subject),
                change_text(st.change, st.ci95),
                step_span(history, st)
            );
        }
        out.push('\n');
    }
    let gaps: Vec<_> = history.commits.iter().filter(|c| c.gap.is_some()).collect();
    if !gaps.is_empty() {
        let _ = writeln!(out, "Not measured:\n");
        for c in gaps {
            let _ = writeln!(
                out,
                "- `{}` {}: {}",
                short_sha(&c.commit.sha),
                cell(&c.commit.subject),
                cell(c.gap.as_deref().unwrap_or_default())
            );
        }
    }
    out
}

/// Text that cannot break a table row: pipes escaped, newlines as spaces.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
