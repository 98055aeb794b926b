//! Charts as inline SVG, written directly: no script, no fonts or images from the network.

use std::fmt::Write;

use crate::compare::Verdict;
use crate::units::format_seconds;

/// One row of dots in a strip plot.
pub struct Strip<'a> {
    /// Label at the left.
    pub label: &'a str,
    /// Measured runs, in seconds.
    pub runs: &'a [f64],
    /// Warmup runs, in seconds (drawn hollow).
    pub warmups: &'a [f64],
}

const WIDTH: f64 = 640.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 20.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A strip plot of run times: one row per strip, dots per run, a tick at each median.
pub fn strip_plot(title: &str, strips: &[Strip]) -> String {
    let all: Vec<f64> =
        strips.iter().flat_map(|s| s.runs.iter().chain(s.warmups)).copied().filter(|v| v.is_finite()).collect();
    if all.is_empty() {
        return String::new();
    }
    let (mut lo, mut hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if hi <= lo {
        hi = lo * 1.01 + 1e-9;
        lo *= 0.99;
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let x = |v: f64| LEFT + (v - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
    let row_h = 28.0;
    let height = 30.0 + row_h * strips.len() as f64 + 22.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart strip" role="img" aria-label="{t}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    for (i, strip) in strips.iter().enumerate() {
        let y = 30.0 + row_h * i as f64 + row_h / 2.0;
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            y + 4.0,
            escape(strip.label)
        );
        let _ = write!(svg, r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{y}" y2="{y}"/>"#, WIDTH - RIGHT);
        for (class, values, radius) in [("warmup", strip.warmups, 3.0), ("run", strip.runs, 2.5)] {
            for (j, v) in values.iter().enumerate() {
                // A small fixed jitter keeps equal values from hiding each other.
                let jitter = ((j * 7) % 9) as f64 - 4.0;
                let _ = write!(
                    svg,
                    r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="{radius}"><title>{class} {}: {}</title></circle>"#,
                    x(*v),
                    y + jitter,
                    j + 1,
                    format_seconds(*v)
                );
            }
        }
        if let Some(m) = (!strip.runs.is_empty()).then(|| crate::stats::median_in_place(&mut strip.runs.to_vec())) {
            let _ = write!(
                svg,
                r#"<line class="median" x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}"><title>median {3}</title></line>"#,
                x(m),
                y - 10.0,
                y + 10.0,
                format_seconds(m)
            );
        }
    }
    let axis_y = 30.0 + row_h * strips.len() as f64 + 14.0;
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let anchor = match k {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{axis_y}" text-anchor="{anchor}">{}</text>"#,
            x(v),
            format_seconds(v)
        );
    }
    let _ = write!(svg, r#"<text class="legend" x="{LEFT}" y="16">● measured run   ○ warmup   │ median</text>"#);
    svg.push_str("</svg>");
    svg
}

/// One bar of the change chart.
pub struct Change<'a> {
    /// Benchmark id.
    pub label: &'a str,
    /// Change in percent (candidate / baseline − 1).
    pub percent: f64,
    /// CI of the change in percent.
    pub ci: [f64; 2],
    /// Verdict (the bar's colour).
    pub verdict: Verdict,
    /// The noise threshold in percent (the shaded band).
    pub noise: f64,
}

/// A bar chart of Δ% per benchmark with its CI as an error bar and the noise band shaded.
pub fn change_chart(changes: &[Change]) -> String {
    if changes.is_empty() {
        return String::new();
    }
    let extent = changes
        .iter()
        .flat_map(|c| [c.percent.abs(), c.ci[0].abs(), c.ci[1].abs(), c.noise])
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        * 1.1;
    let left = 220.0;
    let x = |p: f64| left + (p.clamp(-extent, extent) + extent) / (2.0 * extent) * (WIDTH - left - RIGHT);
    let row_h = 26.0;
    let height = 20.0 + row_h * changes.len() as f64 + 24.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart change" role="img" aria-label="change per benchmark" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>Change per benchmark (Δ%, 95% CI)</title>"#
    );
    let noise = changes[0].noise;
    let _ = write!(
        svg,
        r#"<rect class="noise" x="{:.1}" y="10" width="{:.1}" height="{}"><title>noise band ±{noise:.1}%</title></rect>"#,
        x(-noise),
        x(noise) - x(-noise),
        row_h * changes.len() as f64 + 10.0
    );
    let _ = write!(
        svg,
        r#"<line class="zero" x1="{0:.1}" x2="{0:.1}" y1="10" y2="{1}"/>"#,
        x(0.0),
        20.0 + row_h * changes.len() as f64
    );
    for (i, c) in changes.iter().enumerate() {
        let y = 20.0 + row_h * i as f64;
        let (a, b) = (x(0.0).min(x(c.percent)), x(0.0).max(x(c.percent)));
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 13.0,
            escape(c.label)
        );
        let _ = write!(
            svg,
            r#"<rect class="bar {}" x="{a:.1}" y="{}" width="{:.1}" height="14"><title>{}: {:+.1}% (CI {:+.1}% … {:+.1}%) — {}</title></rect>"#,
            c.verdict.as_str(),
            y + 2.0,
            (b - a).max(1.0),
            escape(c.label),
            c.percent,
            c.ci[0],
            c.ci[1],
            c.verdict.as_str()
        );
        let _ = write!(
            svg,
            r#"<line class="ci" x1="{:.1}" x2="{:.1}" y1="{2}" y2="{2}"/>"#,
            x(c.ci[0]),
            x(c.ci[1]),
            y + 9.0
        );
    }
    let axis_y = 20.0 + row_h * changes.len() as f64 + 16.0;
    for p in [-extent, -extent / 2.0, 0.0, extent / 2.0, extent] {
        let _ =
            write!(svg, r#"<text class="tick" x="{:.1}" y="{axis_y}" text-anchor="middle">{:+.0}%</text>"#, x(p), p);
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_plots_have_a_dot_per_run_and_mark_warmups() {
        let svg = strip_plot("t", &[Strip { label: "a<b", runs: &[0.001, 0.002, 0.003], warmups: &[0.01] }]);
        assert_eq!(svg.matches(r#"class="run""#).count(), 3);
        assert_eq!(svg.matches(r#"class="warmup""#).count(), 1);
        assert!(svg.contains("a&lt;b"), "labels are escaped");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(strip_plot("t", &[]), "");
    }

    #[test]
    fn change_charts_have_a_bar_per_benchmark_and_a_noise_band() {
        let svg = change_chart(&[
            Change { label: "x", percent: 12.0, ci: [9.0, 15.0], verdict: Verdict::Warning, noise: 2.0 },
            Change { label: "y", percent: -1.0, ci: [-3.0, 1.0], verdict: Verdict::NoChange, noise: 2.0 },
        ]);
        assert_eq!(svg.matches("<rect class=\"bar").count(), 2);
        assert!(svg.contains("class=\"bar warning\"") && svg.contains("class=\"noise\""));
    }
}
