//! What a bisection found, for people (the commit, its author and time, the change against good
//! and against its parent) and as JSON.

use serde_json::json;

use super::assess::{pooled_row, row_text};
use super::Bisection;
use crate::analysis::bisection::Found;
use crate::results::short_sha;

impl Bisection {
    /// Per benchmark followed: the first slower commit, or the commits it is among.
    pub fn human(&self) -> String {
        let line = &self.line;
        let mut out = String::new();
        for (target, outcome) in &self.found {
            let text = |i: usize| {
                let s = self.sessions.get(&i).map(Vec::as_slice).unwrap_or_default();
                let row =
                    pooled_row(s, &target.id, &target.metric, self.noise).map(|r| row_text(&r)).unwrap_or_default();
                if s.len() > 1 {
                    format!("{row} ({} sessions pooled)", s.len())
                } else {
                    row
                }
            };
            match outcome {
                Found::First { first, parent } => {
                    let commit = &line[*first];
                    let parent_text = if *parent == 0 { "good itself".to_string() } else { text(*parent) };
                    out.push_str(&format!(
                        "{} · {}: first slower at {}\n  by {}, {}\n  {} against good {}; its parent {}: {}\n",
                        target.id,
                        target.metric,
                        commit.describe(),
                        commit.author,
                        commit.time,
                        text(*first),
                        short_sha(&line[0].sha),
                        short_sha(&line[*parent].sha),
                        parent_text
                    ));
                }
                Found::Among(candidates) => {
                    let names: Vec<String> = candidates.iter().map(|&i| line[i].describe()).collect();
                    out.push_str(&format!(
                        "{} · {}: the first slower commit is one of these (the others could not be measured): {}\n",
                        target.id,
                        target.metric,
                        names.join(", ")
                    ));
                }
            }
        }
        out
    }

    /// `{good, bad, results: [{id, metric, first, parent} | {id, metric, among}]}`.
    pub fn json(&self) -> serde_json::Value {
        let line = &self.line;
        let results: Vec<serde_json::Value> = self
            .found
            .iter()
            .map(|(target, outcome)| {
                let described = |i: usize| {
                    let s = self.sessions.get(&i).map(Vec::as_slice).unwrap_or_default();
                    let row = pooled_row(s, &target.id, &target.metric, self.noise);
                    json!({
                        "commit": line[i],
                        "ratio": row.as_ref().and_then(|r| r.ratio),
                        "ci95": row.as_ref().and_then(|r| r.ci95),
                        "verdict": row.as_ref().map(|r| r.verdict),
                        "sessions": s.len(),
                    })
                };
                match outcome {
                    Found::First { first, parent } => json!({
                        "id": target.id, "metric": target.metric,
                        "first": described(*first), "parent": described(*parent),
                    }),
                    Found::Among(candidates) => json!({
                        "id": target.id, "metric": target.metric,
                        "among": candidates.iter().map(|&i| &line[i]).collect::<Vec<_>>(),
                    }),
                }
            })
            .collect();
        json!({ "good": line[0], "bad": line[line.len() - 1], "results": results })
    }
}
