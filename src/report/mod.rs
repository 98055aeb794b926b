//! Presenting results: a view of a result built once (`view`), rendered by one [`Exporter`] per
//! format — the console table (`console`), Markdown (`markdown`), the HTML report (`html`, with
//! its SVG `chart`s and `icicle`s), the result JSON, and the exports for benchmark trackers
//! (`export`).

pub mod chart;
pub mod console;
pub mod export;
pub mod facts;
pub mod format;
pub mod history;
pub mod html;
pub mod icicle;
pub mod line_chart;
pub mod markdown;
pub mod view;

use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;

use crate::results::{write_atomic, RunDocument};
use view::View;

/// `--format`: how results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Human,
    /// The result document (the same JSON as `latest.json`), and nothing else.
    Json,
    /// GitHub-flavoured Markdown (for PR comments and $GITHUB_STEP_SUMMARY).
    Md,
    /// The self-contained HTML report.
    Html,
    /// Bencher Metric Format.
    Bmf,
    /// github-action-benchmark's customSmallerIsBetter (metrics where lower is better).
    Gab,
    /// github-action-benchmark's customBiggerIsBetter (metrics where higher is better).
    GabBigger,
}

/// A format a result can be written in.
pub trait Exporter {
    /// The text of the result in this format.
    fn export(&self, view: &View) -> Result<String>;
}

/// How much the console shows beyond the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    /// `-v`: each benchmark's command line and facts, and every metric of a comparison.
    pub verbose: bool,
    /// `-v` or `--top`: the slowest imports of every Python import row, not only of one over budget.
    pub imports: bool,
}

impl Detail {
    /// What `-v` (`verbose`) and `--top` (`top`) ask for.
    pub fn new(verbose: bool, top: Option<usize>) -> Detail {
        Detail { verbose, imports: verbose || top.is_some() }
    }
}

/// The console table, with more under its rows as `detail` asks.
pub struct Console {
    /// `-v`, `--top`.
    pub detail: Detail,
}

impl Exporter for Console {
    fn export(&self, view: &View) -> Result<String> {
        Ok(console::render(view, self.detail))
    }
}

/// GitHub-flavoured Markdown.
pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, view: &View) -> Result<String> {
        Ok(markdown::render(view))
    }
}

/// The HTML report, from the built-in template or a user's.
pub struct Html {
    /// The template's text.
    pub template: String,
    /// Its name, for error messages.
    pub name: String,
}

impl Html {
    /// The built-in template.
    pub fn builtin() -> Html {
        Html { template: html::TEMPLATE.to_string(), name: "report.html".into() }
    }

    /// The template in `path`.
    pub fn from_file(path: &Path) -> Result<Html> {
        let template =
            std::fs::read_to_string(path).with_context(|| format!("could not read the template {}", path.display()))?;
        Ok(Html { template, name: path.display().to_string() })
    }
}

impl Exporter for Html {
    fn export(&self, view: &View) -> Result<String> {
        html::render(view, &self.template, &self.name)
    }
}

/// The result document itself.
pub struct Json;

impl Exporter for Json {
    fn export(&self, view: &View) -> Result<String> {
        Ok(serde_json::to_string_pretty(view.doc)? + "\n")
    }
}

/// The exporter of a format.
pub fn exporter(format: Format, template: Option<&Path>, detail: Detail) -> Result<Box<dyn Exporter>> {
    Ok(match format {
        Format::Human => Box::new(Console { detail }),
        Format::Json => Box::new(Json),
        Format::Md => Box::new(Markdown),
        Format::Html => Box::new(match template {
            Some(path) => Html::from_file(path)?,
            None => Html::builtin(),
        }),
        Format::Bmf => Box::new(export::bmf::Bmf),
        Format::Gab => Box::new(export::gab::Gab { bigger: false }),
        Format::GabBigger => Box::new(export::gab::Gab { bigger: true }),
    })
}

/// Renders a document in a format.
pub fn render(doc: &RunDocument, format: Format, template: Option<&Path>, detail: Detail) -> Result<String> {
    exporter(format, template, detail)?.export(&view::build(doc))
}

/// Writes `report.md` and `report.html` next to the results; returns their paths.
pub fn write_standard(doc: &RunDocument, dir: &Path) -> Result<[std::path::PathBuf; 2]> {
    let view = view::build(doc);
    let md = dir.join("report.md");
    let html = dir.join("report.html");
    write_atomic(&md, Markdown.export(&view)?.as_bytes())?;
    write_atomic(&html, Html::builtin().export(&view)?.as_bytes())?;
    Ok([html, md])
}
