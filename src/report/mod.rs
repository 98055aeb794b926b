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
use crate::results::{write_atomic, RunDocument};
use crate::scheduler::{metrics, Unit};
use crate::units::{format_bytes, format_seconds};

/// A value of a metric in its unit: `1.234 ms`, `4.8 MiB`, `73` (a mean count keeps one decimal).
pub fn format_value(metric: &str, value: f64) -> String {
    match metrics::unit_of(metric) {
        Some(Unit::Seconds) => format_seconds(value),
        Some(Unit::Bytes) => format_bytes(value),
        _ if value.fract() == 0.0 => format!("{value:.0}"),
        _ => format!("{value:.1}"),
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
