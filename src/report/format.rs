//! Values in their units, for people: `1.234 ms`, `4.8 MiB`, `12.3k/s`, `73.2`; and the words of a
//! comparison row: its change, its p-value, its verdict.

use crate::results::{ComparisonRow, MetricDesc, Unit, Verdict};
pub use crate::units::{format_count as count, format_value as value};

/// A value of a described metric; a metric without a descriptor prints as a count.
pub fn metric_value(desc: Option<&MetricDesc>, v: f64) -> String {
    value(desc.map_or(Unit::Count, |d| d.unit), v)
}

/// The compared metric with its location: `wall (median)`, `sys (mean)`; facts and status as they are.
pub fn compared_metric(row: &ComparisonRow) -> String {
    match row.location {
        Some(location) => format!("{} ({})", row.metric, location.as_str()),
        None => row.metric.clone(),
    }
}

/// The change in percent, or `None` where a percentage means nothing: no ratio, or a count whose
/// baseline averages below one event per run (0.02 → 0 is not "−100%").
pub fn change_percent(row: &ComparisonRow, desc: Option<&MetricDesc>) -> Option<f64> {
    let ratio = row.ratio?;
    let rare = desc.is_some_and(|d| d.unit == Unit::Count) && row.baseline.is_some_and(|b| b.abs() < 1.0);
    (!rare).then_some((ratio - 1.0) * 100.0)
}

/// A signed percentage: `+12.4%`, `−3.0%`.
pub fn signed_percent(p: f64) -> String {
    let sign = if p > 0.0 {
        "+"
    } else if p < 0.0 {
        "−"
    } else {
        ""
    };
    format!("{sign}{:.1}%", p.abs())
}

/// `p < 0.001`, `p = 0.042`.
pub fn p_value_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_string()
    } else {
        format!("p = {p:.3}")
    }
}

/// A significance level: `0.05`, `0.0081`.
pub fn alpha_text(alpha: f64) -> String {
    if alpha >= 0.01 {
        format!("{alpha:.3}").trim_end_matches('0').to_string()
    } else {
        format!("{alpha:.2e}").parse::<f64>().map_or_else(|_| alpha.to_string(), |a| a.to_string())
    }
}

/// `Mann-Whitney p < 0.001`, `Welch p = 0.042`: the p-value the verdict used, with its test.
pub fn p_text(row: &ComparisonRow) -> Option<String> {
    let p = row.deciding_p()?;
    let value = p_value_text(p);
    let test = match (row.test.as_deref(), row.processes) {
        (Some("mann_whitney"), _) => format!("Mann-Whitney {value}"),
        (Some("van_elteren"), _) => format!("van Elteren {value}"),
        (Some("wilcoxon"), _) => format!("Wilcoxon {value}"),
        (Some("welch"), _) => format!("Welch {value}"),
        (Some("paired_t"), Some([n, _])) => format!("paired t over {n} processes, {value}"),
        (Some("welch_processes"), Some([a, b])) => format!("Welch over {a} and {b} processes, {value}"),
        _ => value,
    };
    // The adjusted p-value decides; it is shown where the family changed it.
    Some(match row.p_adjusted.filter(|a| (a - p).abs() > 1e-12) {
        Some(a) if a < 0.001 => format!("{test}, adjusted p < 0.001"),
        Some(a) => format!("{test}, adjusted {a:.3}"),
        None => test,
    })
}

/// How a row reads: a gating row's verdict, or — for a metric that only explains — a neutral
/// `higher`/`lower` (the words *warning* and *failure* are kept for what gates).
pub fn verdict_word(row: &ComparisonRow) -> &'static str {
    match (row.gating, row.verdict) {
        (_, Verdict::NoChange) => "no change",
        (_, Verdict::WithinNoise) => "within noise",
        (true, Verdict::Improved) => "improved",
        (true, Verdict::Regressed) => "regressed",
        (true, Verdict::Warning) => "warning",
        (true, Verdict::Failure) => "failure",
        _ => match (row.baseline, row.candidate) {
            (Some(b), Some(c)) if c < b => "lower",
            _ => "higher",
        },
    }
}

/// The CSS class and the style family of a row's verdict: `neutral` for rows that only explain.
pub fn verdict_class(row: &ComparisonRow) -> &'static str {
    match (row.gating, row.verdict) {
        (_, Verdict::NoChange) => "no_change",
        (_, Verdict::WithinNoise) => "within_noise",
        (true, v) => v.as_str(),
        (false, _) => "neutral",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_units() {
        assert_eq!(value(Unit::Seconds, 0.0008123), "812.3 µs");
        assert_eq!(value(Unit::Bytes, 2.0 * 1024.0 * 1024.0), "2.0 MiB");
        assert_eq!(value(Unit::Count, 0.02), "0.02");
        assert_eq!(value(Unit::Count, 275.66), "275.7");
        assert_eq!(value(Unit::Count, 3.0), "3");
        assert_eq!(value(Unit::PerSecond, 12_345.0), "12.3k/s");
        assert_eq!(value(Unit::PerSecond, 950.0), "950/s");
        assert_eq!(value(Unit::PerSecond, 1_260_000.0), "1.3M/s");
        assert_eq!(value(Unit::BytesPerSecond, 1024.0 * 1024.0 * 3.0), "3.0 MiB/s");
        assert_eq!(value(Unit::Ratio, 2.5), "2.50×");
        assert_eq!(value(Unit::Fraction, 0.8234), "82.3%");
        assert_eq!(signed_percent(-3.04), "−3.0%");
    }
}
