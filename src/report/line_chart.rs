//! Charts of lines over an x axis, as inline SVG: a sweep (a metric against a parameter, with its
//! intervals) and the series a run kept in order.

use std::fmt::Write;

use super::chart::{escape, x_tick, LEFT, RIGHT, WIDTH};
use super::format;
use super::view::Sweep;
use crate::results::Unit;

/// A line chart of a metric against a parameter, one line per series, each point with its CI as a
/// whisker; an axis spanning more than a factor of 20 is logarithmic.
pub fn sweep_chart(sweep: &Sweep) -> String {
    let points: Vec<&[f64; 4]> = sweep.lines.iter().flat_map(|(_, p)| p).collect();
    if points.is_empty() {
        return String::new();
    }
    let range = |values: &mut dyn Iterator<Item = f64>| {
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)))
    };
    let (x_lo, x_hi) = range(&mut points.iter().map(|p| p[0]));
    let log_x = x_lo > 0.0 && x_hi / x_lo > 20.0;
    // The values decide whether the y axis is logarithmic, not their intervals: a wide interval
    // of three samples, cut at zero, must not flatten a chart that spans decades. On a log axis
    // a whisker that reaches below the lowest value ends at the axis.
    let (v_lo, v_hi) = range(&mut points.iter().map(|p| p[1]));
    let log_y = v_lo > 0.0 && v_hi / v_lo > 20.0;
    let (y_lo, y_hi) = range(&mut points.iter().flat_map(|p| [p[1], p[2], p[3]]).filter(|v| !log_y || *v > 0.0));
    let scale = |v: f64, lo: f64, hi: f64, log: bool| {
        let (v, lo, hi) =
            if log { (v.max(lo).ln(), lo.ln(), hi.ln()) } else { (v, if lo > 0.0 { 0.0 } else { lo }, hi) };
        if hi > lo {
            (v - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    let (left, top, plot_w, plot_h) = (LEFT, 24.0, WIDTH - LEFT - RIGHT, 180.0);
    let x = |v: f64| left + scale(v, x_lo, x_hi, log_x) * plot_w;
    let y = |v: f64| top + plot_h - scale(v, y_lo, y_hi * 1.05, log_y) * plot_h;
    let height = top + plot_h + 44.0 + 16.0 * sweep.lines.len() as f64;
    let title = format!("{} of {} by {}", sweep.metric, sweep.group, sweep.param);
    let x_text = |v: f64| match sweep.param_unit {
        Some(Unit::Bytes) => crate::units::format_size(v),
        Some(unit) => format::value(unit, v),
        None => format::count(v),
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart sweep" role="img" aria-label="{t}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(&title)
    );
    let bottom = top + plot_h;
    let _ = write!(svg, r#"<line class="axis" x1="{left}" x2="{}" y1="{bottom}" y2="{bottom}"/>"#, left + plot_w);
    let _ = write!(svg, r#"<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{bottom}"/>"#);
    let mut xs: Vec<f64> = points.iter().map(|p| p[0]).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    for v in xs {
        x_tick(&mut svg, x(v), bottom, &x_text(v));
    }
    let middle = if log_y { (y_lo * y_hi).sqrt() } else { (y_lo + y_hi) / 2.0 };
    for v in [y_lo, middle, y_hi] {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y(v) + 4.0,
            escape(&format::value(sweep.unit, v))
        );
    }
    for (i, (label, line)) in sweep.lines.iter().enumerate() {
        let class = format!("series s{}", i % 6);
        let path: Vec<String> = line.iter().map(|p| format!("{:.1},{:.1}", x(p[0]), y(p[1]))).collect();
        let _ = write!(svg, r#"<polyline class="{class}" fill="none" points="{}"/>"#, path.join(" "));
        for p in line {
            let _ = write!(
                svg,
                r#"<line class="ci" x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}"/><circle class="{class}" cx="{0:.1}" cy="{3:.1}" r="3"><title>{4}: {5} at {6} = {7} (CI {8} … {9})</title></circle>"#,
                x(p[0]),
                y(p[2]),
                y(p[3]),
                y(p[1]),
                escape(label),
                escape(&sweep.metric),
                escape(&x_text(p[0])),
                escape(&format::value(sweep.unit, p[1])),
                escape(&format::value(sweep.unit, p[2])),
                escape(&format::value(sweep.unit, p[3]))
            );
        }
        let ly = bottom + 34.0 + 16.0 * i as f64;
        let _ = write!(
            svg,
            r#"<line class="{class}" x1="{left}" x2="{}" y1="{ly}" y2="{ly}"/><text class="legend" x="{}" y="{}">{}</text>"#,
            left + 18.0,
            left + 24.0,
            ly + 4.0,
            escape(label)
        );
    }
    let axes = format!("{}{}", if log_x { " (log x)" } else { "" }, if log_y { " (log y)" } else { "" });
    let _ = write!(svg, r#"<text class="legend" x="{left}" y="14">{}{axes}</text>"#, escape(&title));
    svg.push_str("</svg>");
    svg
}

/// Points a series chart draws at most: longer series are cut into this many buckets, each
/// drawn as its median (the line) and its largest value (the spikes, which are what a tail
/// latency chart is for).
const SERIES_BUCKETS: usize = 500;

/// A line chart of values in the order they happened (each request's latency), on a log axis
/// when they span far.
pub fn series_chart(title: &str, unit: Unit, values: &[f64]) -> String {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if values.len() < 2 {
        return String::new();
    }
    let per = values.len().div_ceil(SERIES_BUCKETS);
    let buckets: Vec<(f64, f64, f64)> = values
        .chunks(per)
        .enumerate()
        .map(|(i, chunk)| {
            let mut sorted = chunk.to_vec();
            sorted.sort_by(f64::total_cmp);
            ((i * per) as f64, sorted[sorted.len() / 2], sorted[sorted.len() - 1])
        })
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log = lo > 0.0 && hi / lo > 20.0;
    let scale = |v: f64| {
        let (v, lo, hi) = if log { (v.ln(), lo.ln(), hi.ln()) } else { (v, 0.0, hi) };
        if hi > lo {
            (v - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    let (left, top, plot_w, plot_h) = (LEFT, 24.0, WIDTH - LEFT - RIGHT, 160.0);
    let n = values.len() as f64;
    let x = |i: f64| left + i / (n - 1.0).max(1.0) * plot_w;
    let y = |v: f64| top + plot_h - scale(v) * plot_h;
    let bottom = top + plot_h;
    let height = bottom + 56.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart series" role="img" aria-label="{t}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    let _ = write!(svg, r#"<line class="axis" x1="{left}" x2="{}" y1="{bottom}" y2="{bottom}"/>"#, left + plot_w);
    let _ = write!(svg, r#"<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{bottom}"/>"#);
    for v in [lo, if log { (lo * hi).sqrt() } else { (lo + hi) / 2.0 }, hi] {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y(v) + 4.0,
            escape(&format::value(unit, v))
        );
    }
    for i in [0.0, ((n - 1.0) / 2.0).round(), n - 1.0] {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(i),
            bottom + 16.0,
            format::count(i + 1.0)
        );
    }
    let line = |pick: &dyn Fn(&(f64, f64, f64)) -> f64| -> String {
        buckets.iter().map(|b| format!("{:.1},{:.1}", x(b.0), y(pick(b)))).collect::<Vec<_>>().join(" ")
    };
    let _ = write!(svg, r#"<polyline class="series s1 spikes" fill="none" points="{}"/>"#, line(&|b| b.2));
    let _ = write!(svg, r#"<polyline class="series s0" fill="none" points="{}"/>"#, line(&|b| b.1));
    let legend = if per > 1 {
        format!("{} values; each point is {per} of them: median (line) and largest (spikes)", values.len())
    } else {
        format!("{} values, in order", values.len())
    };
    let _ = write!(svg, r#"<text class="legend" x="{left}" y="{}">{}</text>"#, bottom + 36.0, escape(&legend));
    let _ = write!(
        svg,
        r#"<text class="legend" x="{left}" y="14">{}{}</text>"#,
        escape(title),
        if log { " (log y)" } else { "" }
    );
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_draw_a_line_per_series_on_a_log_axis_when_it_spans_far() {
        let sweep = crate::report::view::Sweep {
            group: "zmq/svc/throughput".into(),
            metric: "throughput".into(),
            unit: Unit::PerSecond,
            param: "payload".into(),
            param_unit: Some(Unit::Bytes),
            lines: vec![
                (
                    "pattern=req-rep".into(),
                    vec![[64.0, 50_000.0, 49_000.0, 51_000.0], [65536.0, 9_000.0, 8_800.0, 9_100.0]],
                ),
                ("pattern=push-pull".into(), vec![[64.0, 90_000.0, 88_000.0, 91_000.0]]),
            ],
        };
        let svg = sweep_chart(&sweep);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("(log x)") && svg.contains(">64 KiB</text>") && svg.contains("pattern=push-pull"));
    }

    #[test]
    fn an_interval_cut_at_zero_does_not_make_a_chart_that_spans_decades_linear() {
        let sweep = crate::report::view::Sweep {
            group: "tensor/p/transfer".into(),
            metric: "round trip".into(),
            unit: Unit::Seconds,
            param: "size".into(),
            param_unit: Some(Unit::Bytes),
            lines: vec![("mode=shared".into(), vec![[16384.0, 50e-6, 0.0, 90e-6], [16777216.0, 5e-3, 3e-3, 7e-3]])],
        };
        let svg = sweep_chart(&sweep);
        assert!(svg.contains("(log x) (log y)"), "{svg}");
        // The lowest tick is the lowest value above zero, and the cut whisker ends on the axis.
        assert!(svg.contains(">50.00 µs</text>"), "{svg}");
        assert!(svg.contains("y2=\"204.0\"") || svg.contains("y1=\"204.0\""), "{svg}");
    }

    #[test]
    fn series_charts_keep_the_spikes_of_long_series() {
        let mut values = vec![100e-6; 10_000];
        values[7_777] = 9e-3;
        let svg = series_chart("latency of each request", Unit::Seconds, &values);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("10000 values; each point is 20 of them"), "{svg}");
        assert!(
            svg.contains("(log y)") && svg.contains(">9.000 ms</text>"),
            "the spike sets the top of the axis: {svg}"
        );
        assert_eq!(series_chart("t", Unit::Seconds, &[1.0]), "");
    }
}
