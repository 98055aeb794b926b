//! Charts as inline SVG, written directly: no script, no fonts or images from the network.

use std::fmt::Write;

use super::format;
use super::view::Change;
use crate::results::Unit;

/// One row of dots in a strip plot.
pub struct Strip<'a> {
    /// Label at the left.
    pub label: &'a str,
    /// Measured runs.
    pub runs: &'a [f64],
    /// Warmup runs (drawn hollow).
    pub warmups: &'a [f64],
    /// Its modes, when its runs have two (drawn as dashed ticks with their shares).
    pub modes: &'a [crate::results::Mode],
}

pub(crate) const WIDTH: f64 = 640.0;
pub(crate) const LEFT: f64 = 110.0;
pub(crate) const RIGHT: f64 = 20.0;

/// Text as SVG and HTML may hold it.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The width of a character of an 11 px label, on the generous side: labels are laid out before
/// the browser picks a font.
const LABEL_CHAR: f64 = 6.6;

/// Above this many runs in a strip, dots would hide each other: the strip becomes a histogram.
const DENSE_RUNS: usize = 300;
/// Bins of a dense strip.
const DENSE_BINS: usize = 100;

/// A strip plot of run times: one row per strip, a dot per run (or, past [`DENSE_RUNS`], a
/// histogram whose bars are as tall as the runs in them), a tick at each median, and an axis whose
/// ticks sit at round values.
pub fn strip_plot(title: &str, unit: Unit, strips: &[Strip]) -> String {
    let fmt = |v: f64| format::value(unit, v);
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
    // Each label, and under it a dense strip's run count: the strips start right of the widest.
    let labels: Vec<(&str, Option<String>)> = strips
        .iter()
        .map(|s| (s.label, (s.runs.len() > DENSE_RUNS).then(|| format!("{} runs", s.runs.len()))))
        .collect();
    let widest = labels.iter().flat_map(|(l, n)| std::iter::once(*l).chain(n.as_deref())).map(|t| t.chars().count());
    let left = (widest.max().unwrap_or(0) as f64 * LABEL_CHAR + 16.0).clamp(LEFT, WIDTH / 2.0);
    let x = |v: f64| left + (v - lo) / (hi - lo) * (WIDTH - left - RIGHT);
    let row_h = 28.0;
    let height = 30.0 + row_h * strips.len() as f64 + 26.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart strip" role="img" aria-label="{t}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    let mut dense_any = false;
    for (i, (strip, (label, count))) in strips.iter().zip(&labels).enumerate() {
        let y = 30.0 + row_h * i as f64 + row_h / 2.0;
        let dense = count.is_some();
        dense_any |= dense;
        let label_x = left - 8.0;
        let count = count
            .as_ref()
            .map_or(String::new(), |n| format!(r#"<tspan class="tick" x="{label_x}" dy="12">{}</tspan>"#, escape(n)));
        let _ = write!(
            svg,
            r#"<text class="label" x="{label_x}" y="{}" text-anchor="end">{}{count}</text>"#,
            if dense { y - 2.0 } else { y + 4.0 },
            escape(label)
        );
        let _ = write!(svg, r#"<line class="axis" x1="{left}" x2="{}" y1="{y}" y2="{y}"/>"#, WIDTH - RIGHT);
        if dense {
            density(&mut svg, strip.runs, lo, hi, y, &x, unit);
        }
        let dots: [(&str, &[f64], f64); 2] =
            [("warmup", strip.warmups, 3.0), ("run", if dense { &[] } else { strip.runs }, 2.5)];
        for (class, values, radius) in dots {
            for (j, v) in values.iter().enumerate() {
                // A small fixed jitter keeps equal values from hiding each other.
                let jitter = ((j * 7) % 9) as f64 - 4.0;
                let _ = write!(
                    svg,
                    r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="{radius}"><title>{class} {}: {}</title></circle>"#,
                    x(*v),
                    y + jitter,
                    j + 1,
                    fmt(*v)
                );
            }
        }
        if let Some(m) =
            (!strip.runs.is_empty()).then(|| crate::stats::summary::median_in_place(&mut strip.runs.to_vec()))
        {
            let _ = write!(
                svg,
                r#"<line class="median" x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}"><title>median {3}</title></line>"#,
                x(m),
                y - 10.0,
                y + 10.0,
                fmt(m)
            );
        }
        for mode in strip.modes {
            let text = format!("mode {} ({:.0}%)", fmt(mode.at), mode.share * 100.0);
            let _ = write!(
                svg,
                r#"<line class="mode" x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}"><title>{3}</title></line><text class="mode-label" x="{0:.1}" y="{4}" text-anchor="middle">{5:.0}%</text>"#,
                x(mode.at),
                y - 12.0,
                y + 12.0,
                escape(&text),
                y - 14.0,
                mode.share * 100.0
            );
        }
    }
    let axis_y = 30.0 + row_h * strips.len() as f64;
    let _ = write!(svg, r#"<line class="axis" x1="{left}" x2="{}" y1="{axis_y}" y2="{axis_y}"/>"#, WIDTH - RIGHT);
    for v in nice_ticks(lo, hi) {
        x_tick(&mut svg, x(v), axis_y, &fmt(v));
    }
    let legend = match (dense_any, strips.iter().any(|s| !s.modes.is_empty())) {
        (true, false) => "● measured run   ▮ runs per bin   ○ warmup   │ median",
        (false, false) => "● measured run   ○ warmup   │ median",
        (true, true) => "● measured run   ▮ runs per bin   ○ warmup   │ median   ┆ mode (share of runs)",
        (false, true) => "● measured run   ○ warmup   │ median   ┆ mode (share of runs)",
    };
    let _ = write!(svg, r#"<text class="legend" x="{left}" y="16">{legend}</text>"#);
    svg.push_str("</svg>");
    svg
}

/// A histogram strip: [`DENSE_BINS`] bins over the axis, each bar centred on the strip's line and
/// as tall as its share of the fullest bin.
fn density(svg: &mut String, runs: &[f64], lo: f64, hi: f64, y: f64, x: &dyn Fn(f64) -> f64, unit: Unit) {
    let fmt = |v: f64| format::value(unit, v);
    let mut counts = [0usize; DENSE_BINS];
    let width = (hi - lo) / DENSE_BINS as f64;
    for v in runs.iter().filter(|v| v.is_finite()) {
        let bin = (((v - lo) / width) as usize).min(DENSE_BINS - 1);
        counts[bin] += 1;
    }
    let fullest = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    for (bin, &count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
        let (a, b) = (lo + width * bin as f64, lo + width * (bin + 1) as f64);
        let h = 2.0 + 20.0 * count as f64 / fullest;
        let _ = write!(
            svg,
            r#"<rect class="run bin" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{count} runs from {} to {}</title></rect>"#,
            x(a),
            y - h / 2.0,
            (x(b) - x(a)).max(1.0),
            fmt(a),
            fmt(b)
        );
    }
}

/// A tick under the x axis at `axis_y`, its label centred under it.
pub(crate) fn x_tick(svg: &mut String, x: f64, axis_y: f64, label: &str) {
    let _ = write!(
        svg,
        r#"<line class="axis tickmark" x1="{x:.1}" x2="{x:.1}" y1="{axis_y}" y2="{}"/><text class="tick" x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
        axis_y + 4.0,
        axis_y + 16.0,
        escape(label)
    );
}

/// Round values (1, 2 or 5 times a power of ten apart) between `lo` and `hi`, three to seven.
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return Vec::new();
    }
    let raw = (hi - lo) / 4.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Multiplying the index (not adding steps) keeps the values round.
    (first..=last).map(|k| k as f64 * step).collect()
}

/// One bar of a horizontal bar chart.
struct Bar<'a> {
    /// Its label, left of the bar.
    label: &'a str,
    /// Where the bar ends (it starts at the chart's zero).
    value: f64,
    /// The whisker.
    ci: [f64; 2],
    /// Its CSS class (a verdict).
    class: &'a str,
    /// The text shown on hover.
    tooltip: String,
}

/// The vertical line at no change (0% on a change chart, 1× on a speedup chart), from the top of
/// the bars to `rows_height` below them.
fn reference_line(svg: &mut String, x: f64, rows_height: f64) {
    let _ = write!(svg, r#"<line class="zero" x1="{x:.1}" x2="{x:.1}" y1="10" y2="{}"/>"#, 20.0 + rows_height);
}

/// The rows of a horizontal bar chart, [`BAR_ROW`] apart from y = 20: a label right-aligned left
/// of `left`, a bar from `zero` to the value, and the CI as a whisker; `x` maps values to x.
fn bar_rows(svg: &mut String, bars: &[Bar], left: f64, zero: f64, x: &dyn Fn(f64) -> f64) {
    for (i, bar) in bars.iter().enumerate() {
        let y = 20.0 + BAR_ROW * i as f64;
        let (a, b) = (x(zero).min(x(bar.value)), x(zero).max(x(bar.value)));
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 13.0,
            escape(bar.label)
        );
        let _ = write!(
            svg,
            r#"<rect class="bar {}" x="{a:.1}" y="{}" width="{:.1}" height="14"><title>{}</title></rect>"#,
            bar.class,
            y + 2.0,
            (b - a).max(1.0),
            escape(&bar.tooltip)
        );
        let _ = write!(
            svg,
            r#"<line class="ci" x1="{:.1}" x2="{:.1}" y1="{2}" y2="{2}"/>"#,
            x(bar.ci[0]),
            x(bar.ci[1]),
            y + 9.0
        );
    }
}

/// The height of a row of a bar chart.
const BAR_ROW: f64 = 26.0;

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
    let row_h = BAR_ROW;
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
    reference_line(&mut svg, x(0.0), row_h * changes.len() as f64);
    let bars: Vec<Bar> = changes
        .iter()
        .map(|c| Bar {
            label: &c.label,
            value: c.percent,
            ci: c.ci,
            class: c.verdict.as_str(),
            tooltip: format!(
                "{}: {:+.1}% (CI {:+.1}% … {:+.1}%) — {}",
                c.label,
                c.percent,
                c.ci[0],
                c.ci[1],
                c.verdict.as_str()
            ),
        })
        .collect();
    bar_rows(&mut svg, &bars, left, 0.0, &x);
    let axis_y = 20.0 + row_h * changes.len() as f64 + 16.0;
    for p in [-extent, -extent / 2.0, 0.0, extent / 2.0, extent] {
        let _ =
            write!(svg, r#"<text class="tick" x="{:.1}" y="{axis_y}" text-anchor="middle">{:+.0}%</text>"#, x(p), p);
    }
    svg.push_str("</svg>");
    svg
}

/// An import tree: boxes of class `import`, 8 levels at most.
const IMPORTS: super::icicle::Shape =
    super::icicle::Shape { chart: "imports", node: "import", row: 22.0, levels: 8, legend_below: false };

/// An icicle chart of an import tree: `root` across the top, each level below it, every module a
/// box as wide as its share of its parent's cumulative time, labelled where there is room and
/// titled with its times.
pub fn import_tree_chart(title: &str, root: &crate::results::ImportNode) -> String {
    fn block(n: &crate::results::ImportNode, level: usize) -> super::icicle::Block {
        super::icicle::Block {
            label: n.module.clone(),
            title: format!(
                "{}: {} (own {})",
                n.module,
                format::value(Unit::Seconds, n.cumulative),
                format::value(Unit::Seconds, n.own)
            ),
            class: format!("l{}", level % 4),
            value: n.cumulative,
            children: n.children.iter().map(|c| block(c, level + 1)).collect(),
        }
    }
    let root = block(root, 0);
    let total = root.value;
    super::icicle::icicle(&IMPORTS, title, "(width: cumulative time)", &[root], total)
}

/// A bar chart of each head-to-head benchmark's speedups over its reference, one bar per metric
/// with its 95% CI as a whisker, on a log axis with a line at 1× (no faster than the reference).
pub fn speedup_chart(pairs: &[super::view::head_to_head::Pair]) -> String {
    let bars: Vec<(String, String, &crate::results::Speedup)> = pairs
        .iter()
        .flat_map(|p| {
            let name = p.id.rsplit_once('/').map_or(p.id.as_str(), |(_, n)| n).to_string();
            p.speedups.iter().map(move |(metric, desc, s)| {
                (format!("{name} · {}", desc.label_or(metric)), format!("over {}", p.reference_name()), s)
            })
        })
        .collect();
    if bars.is_empty() {
        return String::new();
    }
    // Decades around every interval and 1×, so that a slowdown shows on the left of the line.
    let lo = bars.iter().map(|(_, _, s)| s.ci95[0]).fold(1.0f64, f64::min).max(1e-3);
    let hi = bars.iter().map(|(_, _, s)| s.ci95[1]).fold(1.0f64, f64::max).min(1e6);
    let (lo, hi) = (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)));
    let left = 250.0;
    let x = |f: f64| left + (f.clamp(lo, hi).log10() - lo.log10()) / (hi.log10() - lo.log10()) * (WIDTH - left - RIGHT);
    let row_h = BAR_ROW;
    let height = 20.0 + row_h * bars.len() as f64 + 24.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart speedup" role="img" aria-label="speedup over the reference" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>Speedup over the reference (×, 95% CI, log scale)</title>"#
    );
    reference_line(&mut svg, x(1.0), row_h * bars.len() as f64);
    let rows: Vec<Bar> = bars
        .iter()
        .map(|(label, than, s)| Bar {
            label,
            value: s.factor,
            ci: s.ci95,
            class: if s.ci95[0] > 1.0 {
                "improved"
            } else if s.ci95[1] < 1.0 {
                "regressed"
            } else {
                "no_change"
            },
            tooltip: format!("{label}: speedup {:.2}× {than} (CI {:.2}× … {:.2}×)", s.factor, s.ci95[0], s.ci95[1]),
        })
        .collect();
    bar_rows(&mut svg, &rows, left, 1.0, &x);
    let axis_y = 20.0 + row_h * bars.len() as f64 + 16.0;
    let mut decade = lo;
    while decade <= hi * 1.0001 {
        let text = if decade >= 1.0 { format!("{decade:.0}×") } else { format!("{decade}×") };
        let _ =
            write!(svg, r#"<text class="tick" x="{:.1}" y="{axis_y}" text-anchor="middle">{text}</text>"#, x(decade));
        decade *= 10.0;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Verdict;

    #[test]
    fn strip_plots_have_a_dot_per_run_and_mark_warmups() {
        let svg = strip_plot(
            "t",
            Unit::Seconds,
            &[Strip { label: "a<b", runs: &[0.001, 0.002, 0.003], warmups: &[0.01], modes: &[] }],
        );
        assert_eq!(svg.matches(r#"class="run""#).count(), 3);
        assert_eq!(svg.matches(r#"class="warmup""#).count(), 1);
        assert!(svg.contains("a&lt;b"), "labels are escaped");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(strip_plot("t", Unit::Seconds, &[]), "");
    }

    #[test]
    fn modes_are_marked_with_their_shares() {
        use crate::results::Mode;
        let modes = [Mode { at: 0.00102, share: 0.52 }, Mode { at: 0.00132, share: 0.48 }];
        let runs = [0.00101, 0.00103, 0.00131, 0.00133];
        let svg = strip_plot("t", Unit::Seconds, &[Strip { label: "a", runs: &runs, warmups: &[], modes: &modes }]);
        assert_eq!(svg.matches(r#"<line class="mode""#).count(), 2);
        assert!(svg.contains("<title>mode 1.020 ms (52%)</title>") && svg.contains(">48%</text>"), "{svg}");
        assert!(svg.contains("┆ mode"));
    }

    #[test]
    fn thousands_of_runs_become_a_histogram_that_states_the_count() {
        let runs: Vec<f64> = (0..2000).map(|i| 0.001 + (i % 100) as f64 * 1e-6).collect();
        let svg =
            strip_plot("t", Unit::Seconds, &[Strip { label: "candidate", runs: &runs, warmups: &[0.002], modes: &[] }]);
        assert_eq!(svg.matches("<circle class=\"run\"").count(), 0, "no dot per run");
        let bins = svg.matches("class=\"run bin\"").count();
        assert!(bins > 0 && bins <= DENSE_BINS, "{bins}");
        // The run count goes on a line of its own under the label, both left of the strip.
        assert!(svg.contains(r#"text-anchor="end">candidate<tspan class="tick" x="102" dy="12">2000 runs</tspan>"#));
        let long = strip_plot(
            "t",
            Unit::Seconds,
            &[Strip { label: "a rather long label", runs: &runs, warmups: &[], modes: &[] }],
        );
        let left: f64 =
            long.split(r#"<line class="axis" x1=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(left >= 19.0 * LABEL_CHAR + 8.0, "the strips start right of the label: {left}");
        let total: usize = svg
            .split("<title>")
            .filter_map(|t| t.split(" runs from ").next().filter(|n| n.len() < 6)?.parse::<usize>().ok())
            .sum();
        assert_eq!(total, 2000, "every run is in a bin");
    }

    #[test]
    fn ticks_are_round_values_drawn_where_their_labels_say() {
        assert_eq!(nice_ticks(0.0012, 0.0031), vec![0.0015, 0.002, 0.0025, 0.003]);
        let t = nice_ticks(0.95, 1.07);
        assert!(t.len() >= 3 && t.len() <= 7, "{t:?}");
        assert!(t.iter().all(|v| (v * 100.0 - (v * 100.0).round()).abs() < 1e-9), "{t:?}");
        assert!(nice_ticks(1.0, 1.0).is_empty());
        // A tick mark and its centred label share one x.
        let svg =
            strip_plot("t", Unit::Seconds, &[Strip { label: "a", runs: &[0.0012, 0.0031], warmups: &[], modes: &[] }]);
        let marks: Vec<&str> = svg.split("tickmark\" x1=\"").skip(1).map(|r| r.split('"').next().unwrap()).collect();
        let labels: Vec<&str> =
            svg.split("class=\"tick\" x=\"").skip(1).map(|r| r.split('"').next().unwrap()).collect();
        assert!(!marks.is_empty());
        assert_eq!(marks, labels);
        assert!(svg.contains(">2.000 ms</text>"), "{svg}");
    }

    #[test]
    fn an_import_tree_is_an_icicle_of_boxes_as_wide_as_their_share() {
        use crate::results::ImportNode;
        let leaf = |m: &str, t: f64| ImportNode { module: m.into(), own: t, cumulative: t, children: vec![] };
        let root = ImportNode {
            module: "pkg".into(),
            own: 0.001,
            cumulative: 0.010,
            children: vec![
                ImportNode {
                    module: "pkg.heavy".into(),
                    own: 0.001,
                    cumulative: 0.006,
                    children: vec![leaf("json", 0.005)],
                },
                leaf("pkg.light", 0.003),
            ],
        };
        let svg = import_tree_chart("import tree of python/p/pkg", &root);
        assert_eq!(svg.matches("<rect class=\"import").count(), 4);
        // pkg.heavy takes 60% of the width below pkg, and json all of pkg.heavy's.
        assert!(svg.contains("<title>pkg.heavy: 6.000 ms (own 1.000 ms)</title>"), "{svg}");
        assert!(svg.contains(r#"x="10.0" y="46.0" width="371.0""#), "{svg}");
        assert!(svg.contains(r#"x="382.0" y="46.0" width="185.0""#), "{svg}");
        assert!(svg.contains(">json</text>"));
    }

    #[test]
    fn change_charts_have_a_bar_per_benchmark_and_a_noise_band() {
        let svg = change_chart(&[
            Change { label: "x".into(), percent: 12.0, ci: [9.0, 15.0], verdict: Verdict::Warning, noise: 2.0 },
            Change { label: "y".into(), percent: -1.0, ci: [-3.0, 1.0], verdict: Verdict::NoChange, noise: 2.0 },
        ]);
        assert_eq!(svg.matches("<rect class=\"bar").count(), 2);
        assert!(svg.contains("class=\"bar warning\"") && svg.contains("class=\"noise\""));
    }
}
