//! A history as a self-contained HTML page (`templates/history.html`): a chart per benchmark,
//! the steps, the commits, and the history's JSON; styled like the report, whose styles it shares.

use anyhow::{anyhow, Result};
use minijinja::Environment;
use serde::Serialize;

use super::{change_text, chart::history_chart, step_place};
use crate::results::{short_sha, History};

/// The built-in template.
pub const TEMPLATE: &str = include_str!("../../../templates/history.html");

#[derive(Serialize)]
struct SeriesView {
    id: String,
    metric: String,
    chart: String,
    steps: Vec<(String, String)>,
    noise: String,
    drift: Vec<String>,
}

#[derive(Serialize)]
struct CommitView {
    short: String,
    subject: String,
    author: String,
    time: String,
    gap: Option<String>,
}

#[derive(Serialize)]
struct Page {
    style: &'static str,
    anchor: String,
    timestamp: String,
    tool_version: String,
    schema: String,
    series: Vec<SeriesView>,
    commits: Vec<CommitView>,
    raw: String,
}

/// The report's styles, so that both pages look alike without two copies to keep in step.
fn report_style() -> &'static str {
    let template = crate::report::html::TEMPLATE;
    template.split_once("<style>").and_then(|(_, rest)| rest.split_once("</style>")).map_or("", |(style, _)| style)
}

/// The page.
pub fn render(history: &History) -> Result<String> {
    let series = history
        .series
        .iter()
        .map(|s| SeriesView {
            id: s.id.clone(),
            metric: s.metric.clone(),
            chart: history_chart(history, s),
            steps: s.steps.iter().map(|st| (step_place(history, st), change_text(st.change, st.ci95))).collect(),
            noise: format!("±{:.1}%", s.noise * 100.0),
            drift: s
                .drift
                .iter()
                .map(|d| {
                    format!(
                        "From {} on, the commits' own {} moved {} while their ratio to the anchor did not: the machine \
                         changed speed during the run, and measuring against the anchor cancelled it.",
                        short_sha(&d.sha),
                        s.metric,
                        change_text(d.change, d.ci95)
                    )
                })
                .collect(),
        })
        .collect();
    let page = Page {
        style: report_style(),
        anchor: history.anchor.describe(),
        timestamp: history.timestamp.clone(),
        tool_version: history.tool_version.clone(),
        schema: history.schema.clone(),
        series,
        commits: history
            .commits
            .iter()
            .map(|c| CommitView {
                short: short_sha(&c.commit.sha).to_string(),
                subject: c.commit.subject.clone(),
                author: c.commit.author.clone(),
                time: c.commit.time.clone(),
                gap: c.gap.clone(),
            })
            .collect(),
        // Inside a <script> element no `<` may appear raw; JSON reads \u003c as the same `<`.
        raw: serde_json::to_string(history)?.replace('<', "\\u003c"),
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("history.html", TEMPLATE).map_err(|e| anyhow!("template history.html: {e}"))?;
    env.get_template("history.html").and_then(|t| t.render(&page)).map_err(|e| anyhow!("template history.html: {e}"))
}
