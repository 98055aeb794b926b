//! The history chart of one benchmark, as inline SVG: its ratio to the anchor against the commits,
//! each point with its 95% CI as a whisker and its commit on hover, the levels, the noise band
//! around the anchor, the steps marked, and the commits without a measurement crossed.

use std::fmt::Write;

use super::change_text;
use crate::report::chart::{escape, nice_ticks};
use crate::report::format::{signed_percent, value};
use crate::results::{short_sha, History, HistorySeries};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const PLOT_H: f64 = 220.0;

/// The chart of `s`, one of `history`'s series.
pub fn history_chart(history: &History, s: &HistorySeries) -> String {
    let frame = Frame::of(s);
    let mut svg = String::new();
    background(&mut svg, &frame, history, s);
    levels(&mut svg, &frame, history, s);
    steps(&mut svg, &frame, history, s);
    points(&mut svg, &frame, history, s);
    commit_axis(&mut svg, &frame, history, s);
    svg.push_str("</svg>");
    svg
}

/// Where things go: the commits across, the change in percent up.
struct Frame {
    /// Commits (at least 1).
    n: usize,
    /// The lowest and highest percent shown.
    lo: f64,
    hi: f64,
    plot_w: f64,
    bottom: f64,
}

impl Frame {
    /// Fits every ratio, CI and level of `s`, the noise band and 0%.
    fn of(s: &HistorySeries) -> Frame {
        let noise = s.noise * 100.0;
        let values: Vec<f64> = s
            .points
            .iter()
            .flat_map(|p| p.ratio.into_iter().chain(p.ci95.into_iter().flatten()))
            .chain(s.levels.iter().map(|l| l.ratio))
            .map(pct)
            .filter(|v| v.is_finite())
            .chain([noise, -noise, 0.0])
            .collect();
        let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let pad = (hi - lo).max(1.0) * 0.08;
        Frame {
            n: s.points.len().max(1),
            lo: lo - pad,
            hi: hi + pad,
            plot_w: WIDTH - LEFT - RIGHT,
            bottom: TOP + PLOT_H,
        }
    }

    /// The centre of commit `i`.
    fn x(&self, i: usize) -> f64 {
        LEFT + (i as f64 + 0.5) / self.n as f64 * self.plot_w
    }

    /// The height of a change of `p` percent.
    fn y(&self, p: f64) -> f64 {
        TOP + (self.hi - p.clamp(self.lo, self.hi)) / (self.hi - self.lo) * PLOT_H
    }

    /// Half the width of one commit's slot.
    fn half(&self) -> f64 {
        self.plot_w / self.n as f64 / 2.0
    }
}

/// A ratio as a change in percent.
fn pct(r: f64) -> f64 {
    (r - 1.0) * 100.0
}

/// The opening tag, the legend, the noise band, the zero line and the percent axis.
fn background(svg: &mut String, f: &Frame, history: &History, s: &HistorySeries) {
    let noise = s.noise * 100.0;
    let height = f.bottom + 44.0;
    let title = format!("{} of {}: ratio to the anchor {}", s.metric, s.id, short_sha(&history.anchor.sha));
    let _ = write!(
        svg,
        r#"<svg class="chart history" role="img" aria-label="{t}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(&title)
    );
    let _ = write!(
        svg,
        r#"<text class="legend" x="{LEFT}" y="14">{} (Δ% against the anchor; whiskers: 95% CI; dashed: steps; ×: not measured)</text>"#,
        escape(&title)
    );
    let _ = write!(
        svg,
        r#"<rect class="noise" x="{LEFT}" y="{:.1}" width="{}" height="{:.1}"><title>noise band ±{noise:.1}%: smaller steps are not marked</title></rect>"#,
        f.y(noise),
        f.plot_w,
        f.y(-noise) - f.y(noise)
    );
    let _ =
        write!(svg, r#"<line class="zero" x1="{LEFT}" x2="{}" y1="{1:.1}" y2="{1:.1}"/>"#, LEFT + f.plot_w, f.y(0.0));
    let _ = write!(svg, r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{}"/>"#, f.bottom);
    for t in nice_ticks(f.lo, f.hi) {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            f.y(t) + 4.0,
            escape(&signed_percent(t))
        );
    }
}

/// The levels between steps, each over the commits it spans.
fn levels(svg: &mut String, f: &Frame, history: &History, s: &HistorySeries) {
    for l in &s.levels {
        let _ = write!(
            svg,
            r#"<line class="level" x1="{:.1}" x2="{:.1}" y1="{2:.1}" y2="{2:.1}"><title>level {3} (CI {4} … {5}) from {6} to {7}</title></line>"#,
            f.x(l.from) - f.half(),
            f.x(l.to) + f.half(),
            f.y(pct(l.ratio)),
            signed_percent(pct(l.ratio)),
            signed_percent(pct(l.ci95[0])),
            signed_percent(pct(l.ci95[1])),
            short_sha(&history.commits[l.from].commit.sha),
            short_sha(&history.commits[l.to].commit.sha),
        );
    }
}

/// A dashed line between the two commits of each step, with its change.
fn steps(svg: &mut String, f: &Frame, history: &History, s: &HistorySeries) {
    for st in &s.steps {
        let at = (f.x(st.after) + f.x(st.index)) / 2.0;
        let commit = &history.commits[st.index].commit;
        let _ = write!(
            svg,
            r#"<g class="step {}"><line class="step" x1="{at:.1}" x2="{at:.1}" y1="{TOP}" y2="{}"/><text class="step" x="{:.1}" y="{}">{}</text><title>step at {}: {}</title></g>"#,
            if st.change > 0.0 { "up" } else { "down" },
            f.bottom,
            at + 3.0,
            TOP + 10.0,
            escape(&signed_percent(st.change * 100.0)),
            escape(&commit.describe()),
            escape(&change_text(st.change, st.ci95))
        );
    }
}

/// Each commit's point and whisker, or a cross where it was not measured.
fn points(svg: &mut String, f: &Frame, history: &History, s: &HistorySeries) {
    for (i, p) in s.points.iter().enumerate() {
        let commit = &history.commits[i].commit;
        let Some(r) = p.ratio else {
            let _ = write!(
                svg,
                r#"<text class="gap" x="{:.1}" y="{:.1}" text-anchor="middle">×<title>{}: {}</title></text>"#,
                f.x(i),
                f.bottom - 4.0,
                escape(&commit.describe()),
                escape(p.gap.as_deref().unwrap_or("not measured"))
            );
            continue;
        };
        if let Some([a, b]) = p.ci95 {
            let _ = write!(
                svg,
                r#"<line class="ci" x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}"/>"#,
                f.x(i),
                f.y(pct(a)),
                f.y(pct(b))
            );
        }
        let change = p.ci95.map_or_else(|| signed_percent(pct(r)), |ci| change_text(r - 1.0, ci.map(|c| c - 1.0)));
        let own = p.value.map(|v| format!("; {} {}", s.metric, value(s.unit, v))).unwrap_or_default();
        let verdict = p.verdict.map(|v| v.as_str()).unwrap_or("point");
        let _ = write!(
            svg,
            r#"<circle class="point {verdict}" cx="{:.1}" cy="{:.1}" r="3.5"><title>{} by {} on {}: {} against the anchor{}</title></circle>"#,
            f.x(i),
            f.y(pct(r)),
            escape(&commit.describe()),
            escape(&commit.author),
            escape(&commit.time),
            escape(&change),
            escape(&own)
        );
    }
}

/// The commit axis: the first and last commits and those where a step is, named under it.
fn commit_axis(svg: &mut String, f: &Frame, history: &History, s: &HistorySeries) {
    let _ = write!(svg, r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{1}" y2="{1}"/>"#, LEFT + f.plot_w, f.bottom);
    let mut named: Vec<usize> = vec![0, f.n - 1];
    named.extend(s.steps.iter().map(|st| st.index));
    named.sort_unstable();
    named.dedup();
    for i in named.into_iter().filter(|&i| i < history.commits.len()) {
        let _ = write!(
            svg,
            r#"<text class="tick sha" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            f.x(i),
            f.bottom + 16.0,
            short_sha(&history.commits[i].commit.sha)
        );
    }
    let _ = write!(
        svg,
        r#"<text class="legend" x="{LEFT}" y="{}">{} commits, oldest left</text>"#,
        f.bottom + 34.0,
        history.commits.len()
    );
}
