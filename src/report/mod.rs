//! Presenting results: the console table, Markdown, the HTML report, and exports for
//! benchmark trackers.

pub mod chart;
pub mod console;
pub mod export;
pub mod html;
pub mod markdown;

use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::Format;
use crate::compare::Verdict;
use crate::results::{write_atomic, ComparisonRow, RunDocument};
use crate::scheduler::{metrics, Unit};
use crate::units::{format_bytes, format_seconds};

/// A value of a metric in its unit: `1.234 ms`, `4.8 MiB`, `73`; a mean count keeps one decimal,
/// or two below 1 (`0.02`), so that a rare event does not print as `0.0`.
pub fn format_value(metric: &str, value: f64) -> String {
    match metrics::unit_of(metric) {
        Some(Unit::Seconds) => format_seconds(value),
        Some(Unit::Bytes) => format_bytes(value),
        _ => format_count(value),
    }
}

/// A count, or the mean of counts.
pub fn format_count(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else if value.abs() < 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

/// The metric of a comparison row with the location that was compared: `wall (median)`,
/// `sys (mean)`; facts and status as they are.
pub fn compared_metric(row: &ComparisonRow) -> String {
    match row.location() {
        Some(location) => format!("{} ({location})", row.metric),
        None => row.metric.clone(),
    }
}

/// The change in percent, or `None` where a percentage means nothing: no ratio, or a count whose
/// baseline averages below one event per run (0.02 → 0 is not "−100%").
pub fn change_percent(row: &ComparisonRow) -> Option<f64> {
    let ratio = row.ratio?;
    let rare = metrics::unit_of(&row.metric) == Some(Unit::Count) && row.baseline.is_some_and(|b| b.abs() < 1.0);
    (!rare).then_some((ratio - 1.0) * 100.0)
}

/// `p < 0.001`, `p = 0.042` with the name of the test that decided (`Mann-Whitney`, `Welch`).
pub fn p_text(row: &ComparisonRow) -> Option<String> {
    let p = row.deciding_p()?;
    let value = if p < 0.001 { "p < 0.001".to_string() } else { format!("p = {p:.3}") };
    Some(match row.test.as_deref() {
        Some("mann_whitney") => format!("Mann-Whitney {value}"),
        Some("welch") => format!("Welch {value}"),
        _ => value,
    })
}

/// How a row reads without judging, for metrics that do not gate: a significant change is only
/// `higher` or `lower`; the words *warning* and *failure* are kept for what gates.
pub fn neutral_change(row: &ComparisonRow) -> &'static str {
    match row.verdict {
        Verdict::NoChange => "no change",
        Verdict::WithinNoise => "within noise",
        _ => match (row.baseline, row.candidate) {
            (Some(b), Some(c)) if c < b => "lower",
            _ => "higher",
        },
    }
}

/// Whether a metric is a time.
pub fn is_time(metric: &str) -> bool {
    metrics::unit_of(metric) == Some(Unit::Seconds)
}

/// Renders a document in one of the file formats (everything but the console table).
pub fn render(doc: &RunDocument, format: Format, template: Option<&Path>) -> Result<String> {
    Ok(match format {
        Format::Human => console::render_all(doc, false),
        Format::Json => serde_json::to_string_pretty(doc)? + "\n",
        Format::Md => markdown::render(doc),
        Format::Html => match template {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("could not read the template {}", path.display()))?;
                html::render(doc, &text, &path.display().to_string())?
            }
            None => html::render(doc, html::TEMPLATE, "report.html")?,
        },
        Format::Bmf => serde_json::to_string_pretty(&export::bmf(doc))? + "\n",
        Format::Gab => serde_json::to_string_pretty(&export::gab(doc))? + "\n",
    })
}

/// Writes `report.md` and `report.html` next to the results; returns their paths.
pub fn write_standard(doc: &RunDocument, dir: &Path) -> Result<[std::path::PathBuf; 2]> {
    let md = dir.join("report.md");
    let html = dir.join("report.html");
    write_atomic(&md, markdown::render(doc).as_bytes())?;
    write_atomic(&html, html::render(doc, html::TEMPLATE, "report.html")?.as_bytes())?;
    Ok([html, md])
}
