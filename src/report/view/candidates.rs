//! Several candidates against one baseline: one table per benchmark with a column per candidate
//! (its value, change, CI and verdict), and per metric that gates the candidates ranked from best
//! to worst in the metric's direction.

use super::comparison::{comparison_of, CompareRow, ComparisonView};
use crate::results::{Better, RunDocument, Side};

/// Every candidate of a document with several, ready to render.
pub struct Candidates<'a> {
    /// The side every candidate is compared against.
    pub baseline: &'a Side,
    /// Whether the sides ran interleaved.
    pub interleaved: bool,
    /// Each candidate's own comparison, in order (its summaries, imports, skipped rows).
    pub each: Vec<ComparisonView<'a>>,
    /// Per benchmark, one line per metric.
    pub groups: Vec<(String, Vec<MetricLine>)>,
    /// Per benchmark and gating metric that some candidate has a ratio for, the ranking.
    pub best: Vec<Ranking>,
}

/// One metric of one benchmark across the candidates.
pub struct MetricLine {
    /// The metric's name (`wall`).
    pub name: String,
    /// The metric with its location (`wall (median)`).
    pub metric: String,
    /// The baseline's value, formatted.
    pub baseline: Option<String>,
    /// Per candidate, its row (none where the candidate does not have it).
    pub cells: Vec<Option<CompareRow>>,
    /// Whether it is shown without `-v`: gating, or changed on some candidate.
    pub notable: bool,
}

/// The candidates of one metric, best first.
pub struct Ranking {
    /// Benchmark id.
    pub id: String,
    /// The metric with its location.
    pub metric: String,
    /// Best first: the candidate's label and its row.
    pub order: Vec<(String, CompareRow)>,
    /// Whether the intervals of the best and the next overlap: the runs do not tell them apart.
    pub overlap: bool,
}

impl Ranking {
    /// `feature-b −0.3%`, the best candidate and its change.
    pub fn best(&self) -> String {
        let (label, row) = &self.order[0];
        format!("{label} {}", super::percent_text(row))
    }
}

/// The view of a document with several candidates; `None` with one.
pub(super) fn candidates(doc: &RunDocument) -> Option<Candidates<'_>> {
    if doc.other_candidates.is_empty() {
        return None;
    }
    let cmp = doc.comparison.as_ref()?;
    let baseline = doc.baseline_benchmarks();
    let each: Vec<ComparisonView> =
        doc.candidates().filter_map(|(benches, c)| Some(comparison_of(c?, benches, baseline))).collect();
    let mut groups: Vec<(String, Vec<MetricLine>)> = Vec::new();
    for (j, view) in each.iter().enumerate() {
        for (id, rows) in &view.groups {
            let at = match groups.iter().position(|(g, _)| g == id) {
                Some(at) => at,
                None => {
                    groups.push((id.clone(), Vec::new()));
                    groups.len() - 1
                }
            };
            let lines = &mut groups[at].1;
            for row in rows {
                let line = match lines.iter().position(|l| l.name == row.row.metric) {
                    Some(i) => &mut lines[i],
                    None => {
                        lines.push(MetricLine {
                            name: row.row.metric.clone(),
                            metric: row.metric.clone(),
                            baseline: None,
                            cells: vec![None; each.len()],
                            notable: false,
                        });
                        lines.last_mut().expect("just pushed")
                    }
                };
                line.baseline = line.baseline.take().or_else(|| row.values.as_ref().map(|[b, _]| b.clone()));
                line.notable |= row.notable;
                line.cells[j] = Some(row.clone());
            }
        }
    }
    let each_ref = &each;
    let best =
        groups.iter().flat_map(|(id, lines)| lines.iter().filter_map(move |l| ranking(id, l, each_ref))).collect();
    Some(Candidates { baseline: &cmp.baseline, interleaved: cmp.interleaved, each, groups, best })
}

/// The candidates of a gating metric with a direction, ranked by their ratio to the baseline.
fn ranking(id: &str, line: &MetricLine, each: &[ComparisonView]) -> Option<Ranking> {
    let mut order: Vec<(String, CompareRow)> = line
        .cells
        .iter()
        .zip(each)
        .filter_map(|(cell, view)| {
            let row = cell.as_ref().filter(|r| r.row.gating && r.better != Better::Neither && r.row.ratio.is_some())?;
            Some((view.candidate.label.clone(), row.clone()))
        })
        .collect();
    if order.is_empty() {
        return None;
    }
    // Worse in the metric's direction sorts later.
    let worse_by = |row: &CompareRow| {
        let ratio = row.row.ratio.unwrap_or(1.0);
        if row.better == Better::Higher {
            -ratio
        } else {
            ratio
        }
    };
    order.sort_by(|a, b| worse_by(&a.1).total_cmp(&worse_by(&b.1)));
    let overlap = match (order.first().and_then(|b| b.1.row.ci95), order.get(1).and_then(|n| n.1.row.ci95)) {
        (Some([a_lo, a_hi]), Some([b_lo, b_hi])) => a_lo <= b_hi && b_lo <= a_hi,
        _ => false,
    };
    Some(Ranking { id: id.to_string(), metric: line.metric.clone(), order, overlap })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Candidate;

    /// The fixture's comparison, and copies of it as further candidates with the wall ratio and
    /// its interval scaled.
    fn document(scales: &[f64]) -> RunDocument {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json");
        let mut doc = crate::results::read(&path).unwrap();
        crate::plan::old_results::upgrade(&mut doc, &crate::plan::Registry::builtin());
        let first = doc.comparison.clone().unwrap();
        for (i, scale) in scales.iter().enumerate() {
            let mut comparison = first.clone();
            comparison.candidate.label = format!("feature-{i}");
            comparison.baseline_benchmarks.clear();
            for row in comparison.rows.iter_mut() {
                row.ratio = row.ratio.map(|r| r * scale);
                row.ci95 = row.ci95.map(|[lo, hi]| [lo * scale, hi * scale]);
            }
            doc.other_candidates.push(Candidate { comparison, benchmarks: doc.benchmarks.clone() });
        }
        doc
    }

    #[test]
    fn one_line_per_metric_with_a_cell_per_candidate_and_the_best_first() {
        let doc = document(&[0.5, 2.0]);
        let view = candidates(&doc).unwrap();
        assert_eq!(view.each.len(), 3);
        let first = doc.comparison.as_ref().unwrap();
        let ids: Vec<&str> = view.groups.iter().map(|(id, _)| id.as_str()).collect();
        let mut expected: Vec<&str> = first.rows.iter().map(|r| r.id.as_str()).collect();
        expected.dedup();
        assert_eq!(ids, expected);
        for (_, lines) in &view.groups {
            assert!(lines.iter().all(|l| l.cells.iter().all(Option::is_some)), "every candidate has every metric");
        }
        // Lower is better for every gating metric of the fixture: the halved ratio wins, the doubled loses.
        assert!(!view.best.is_empty());
        for r in &view.best {
            let labels: Vec<&str> = r.order.iter().map(|(l, _)| l.as_str()).collect();
            let first_label = first.candidate.label.as_str();
            assert_eq!(labels, ["feature-0", first_label, "feature-1"], "{}", r.metric);
        }
        assert!(candidates(&document(&[])).is_none(), "one candidate: the single comparison");
    }
}
