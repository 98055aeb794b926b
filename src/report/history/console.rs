//! A history on the console: per benchmark a sparkline of its ratio to the anchor over the
//! commits, and its steps, one line each: `a1b2c3d "Parse args lazily"  −8.1% (CI −9.0% … −7.2%)`.

use std::fmt::Write;

use super::{change_text, step_place, step_span};
use crate::report::format::signed_percent;
use crate::results::{short_sha, History, HistorySeries};

/// The blocks of a sparkline, lowest first.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// A commit without a point.
const GAP: char = '·';

/// The console text of a history.
pub fn render(history: &History) -> String {
    let mut out = String::new();
    let gaps = history.commits.iter().filter(|c| c.gap.is_some()).count();
    let _ = writeln!(
        out,
        "History of {} commit{} against {} (the anchor){}",
        history.commits.len(),
        if history.commits.len() == 1 { "" } else { "s" },
        history.anchor.describe(),
        if gaps > 0 { format!(", {gaps} without a measurement") } else { String::new() }
    );
    for s in &history.series {
        let _ = writeln!(out);
        series(&mut out, history, s);
    }
    if gaps > 0 {
        let _ = writeln!(out, "\nNot measured:");
        for c in history.commits.iter().filter(|c| c.gap.is_some()) {
            let _ = writeln!(out, "  {}: {}", c.commit.describe(), c.gap.as_deref().unwrap_or_default());
        }
    }
    out
}

fn series(out: &mut String, history: &History, s: &HistorySeries) {
    let _ = writeln!(out, "{} · {} against the anchor", s.id, s.metric);
    let ratios: Vec<f64> = s.points.iter().filter_map(|p| p.ratio).collect();
    let range = match (ratios.iter().copied().reduce(f64::min), ratios.iter().copied().reduce(f64::max)) {
        (Some(lo), Some(hi)) => {
            format!("   {} … {}", signed_percent((lo - 1.0) * 100.0), signed_percent((hi - 1.0) * 100.0))
        }
        _ => String::new(),
    };
    let _ = writeln!(out, "  {}{range}", sparkline(s));
    if s.steps.is_empty() {
        let measured = s.points.iter().filter(|p| p.ratio.is_some()).count();
        let _ = writeln!(out, "  no step larger than ±{:.1}% in {measured} measured commits", s.noise * 100.0);
    }
    let places: Vec<String> = s.steps.iter().map(|st| step_place(history, st)).collect();
    let width = places.iter().map(|p| p.chars().count()).max().unwrap_or(0);
    for (st, place) in s.steps.iter().zip(&places) {
        let _ = writeln!(out, "  {place:<width$}  {}", change_text(st.change, st.ci95));
        if step_span(history, st) > 1 {
            let _ = writeln!(
                out,
                "    find the commit: cargo coldbench bisect --good {} --bad {}",
                short_sha(&history.commits[st.after].commit.sha),
                short_sha(&st.sha)
            );
        }
    }
    for d in &s.drift {
        let _ = writeln!(
            out,
            "  note: from {} on, the commits' own {} moved {} while their ratio to the anchor did not: the machine \
             changed speed during the run, and measuring against the anchor cancelled it",
            short_sha(&d.sha),
            s.metric,
            change_text(d.change, d.ci95)
        );
    }
}

/// One block per commit, scaled over the series' range, widened to the noise band so that noise
/// alone does not fill the height; a gap is `·`.
fn sparkline(s: &HistorySeries) -> String {
    let ratios: Vec<f64> = s.points.iter().filter_map(|p| p.ratio).collect();
    let lo = ratios.iter().copied().fold(1.0 - s.noise, f64::min);
    let hi = ratios.iter().copied().fold(1.0 + s.noise, f64::max);
    s.points
        .iter()
        .map(|p| match p.ratio {
            Some(r) if hi > lo => {
                let level = ((r - lo) / (hi - lo) * (BLOCKS.len() - 1) as f64).round() as usize;
                BLOCKS[level.min(BLOCKS.len() - 1)]
            }
            Some(_) => BLOCKS[BLOCKS.len() / 2],
            None => GAP,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CommitInfo, HistoryCommit, SeriesPoint, SeriesStep, Unit};

    pub(crate) fn commit(i: usize) -> HistoryCommit {
        HistoryCommit {
            commit: CommitInfo {
                sha: format!("{i:07}{}", "0".repeat(33)),
                subject: format!("commit {i}"),
                author: "a <a@b>".into(),
                time: "2025-01-01T00:00:00Z".into(),
            },
            gap: None,
            file: None,
            reused: false,
            left_out: 0,
        }
    }

    #[test]
    fn a_series_is_a_sparkline_with_its_steps_and_gaps() {
        let mut commits: Vec<HistoryCommit> = (0..6).map(commit).collect();
        commits[2].gap = Some("does not build".into());
        commits[5].left_out = 3;
        let point = |i: usize, r: Option<f64>| SeriesPoint {
            sha: commits[i].commit.sha.clone(),
            ratio: r,
            ci95: r.map(|r| [r * 0.99, r * 1.01]),
            value: None,
            value_ci95: None,
            verdict: None,
            gap: None,
        };
        let ratios = [Some(1.0), Some(1.0), None, Some(1.0), Some(1.2), Some(1.0)];
        let points = ratios.iter().enumerate().map(|(i, r)| point(i, *r)).collect();
        let step = |index: usize, after: usize, change: f64| SeriesStep {
            sha: commits[index].commit.sha.clone(),
            index,
            after,
            change,
            ci95: [change - 0.01, change + 0.01],
        };
        let history = History {
            schema: crate::results::HISTORY_SCHEMA.into(),
            tool_version: "0".into(),
            timestamp: "t".into(),
            anchor: commits[0].commit.clone(),
            series: vec![HistorySeries {
                id: "start/p/app".into(),
                metric: "wall".into(),
                unit: Unit::Seconds,
                noise: 0.02,
                points,
                levels: vec![],
                steps: vec![step(4, 3, 0.2), step(5, 4, -1.0 / 6.0)],
                drift: vec![],
            }],
            commits,
        };
        let text = render(&history);
        assert!(text.contains("History of 6 commits against 0000000 \"commit 0\" (the anchor), 1 without"), "{text}");
        assert!(text.contains("  ▂▂·▂█▂   0.0% … +20.0%"), "{text}");
        assert!(text.contains("0000004 \"commit 4\""), "{text}");
        assert!(text.contains("+20.0% (CI +19.0% … +21.0%)"), "{text}");
        assert!(text.contains("one of the 4 commits after 0000004 up to 0000005 \"commit 5\""), "{text}");
        assert!(text.contains("cargo coldbench bisect --good 0000004 --bad 0000005"), "{text}");
        assert!(text.contains("Not measured:\n  0000002 \"commit 2\": does not build"), "{text}");
    }
}
