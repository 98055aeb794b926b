//! Pairs the benchmarks of two sides by id and compares them metric by metric.

use std::collections::BTreeMap;

use crate::compare::{self, Thresholds, Verdict};
use crate::results::{BenchmarkResult, ComparisonRow, Status};
use crate::stats::Samples;

/// Metrics whose verdicts can fail the gate (the headline time of each kind, and the status); the
/// others are shown to explain a change.
pub const GATING_METRICS: [&str; 4] = ["wall", "load", "import", "status"];

/// Metrics compared by their means rather than medians: CPU times are sampled in scheduler ticks
/// and counts are small integers, so a median flips between a few values while the mean is
/// unbiased.
pub const MEAN_METRICS: [&str; 7] = ["user", "sys", "minor_faults", "major_faults", "vcsw", "ivcsw", "modules"];

/// Rows for every benchmark present on both sides, and the ids present on one side only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Comparison rows, in the candidate's order.
    pub rows: Vec<ComparisonRow>,
    /// Only in the candidate.
    pub added: Vec<String>,
    /// Only in the baseline.
    pub removed: Vec<String>,
}

/// Compares each candidate benchmark with the baseline benchmark of the same id.
///
/// `thresholds` gives the thresholds of a benchmark id (from its package's configuration).
pub fn compare_results(
    baseline: &[BenchmarkResult],
    candidate: &[BenchmarkResult],
    thresholds: &dyn Fn(&str) -> Thresholds,
) -> Rows {
    let base_by_id: BTreeMap<&str, &BenchmarkResult> = baseline.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut out = Rows::default();
    for cand in candidate {
        let Some(base) = base_by_id.get(cand.id.as_str()) else {
            out.added.push(cand.id.clone());
            continue;
        };
        out.rows.extend(compare_one(base, cand, &thresholds(&cand.id)));
    }
    let cand_ids: Vec<&str> = candidate.iter().map(|c| c.id.as_str()).collect();
    out.removed = baseline.iter().filter(|b| !cand_ids.contains(&b.id.as_str())).map(|b| b.id.clone()).collect();
    out
}

fn compare_one(base: &BenchmarkResult, cand: &BenchmarkResult, thresholds: &Thresholds) -> Vec<ComparisonRow> {
    if base.status != Status::Ok || cand.status != Status::Ok {
        return vec![status_row(base, cand)];
    }
    let mut rows = Vec::new();
    for (metric, cand_series) in &cand.samples {
        let Some(base_series) = base.samples.get(metric) else { continue };
        let (Some(b), Some(c)) = (Samples::new(base_series.as_f64()), Samples::new(cand_series.as_f64())) else {
            continue;
        };
        let seed = seed_for(&cand.id, metric);
        let m = compare::compare(&b, &c, thresholds, seed);
        let by_mean = MEAN_METRICS.contains(&metric.as_str());
        let gating = GATING_METRICS.contains(&metric.as_str());
        // Each location is judged by the test that suits it, and that test's p-value is the one
        // reported beside the verdict.
        let (location, test, p, base_value, cand_value, ratio, ci95) = if by_mean {
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            ("mean", "welch", m.p_value, mean(b.values()), mean(c.values()), m.ratio_of_means, m.ratio_of_means_ci95)
        } else {
            // Medians are judged with the rank test: one stray slow run inflates the variance that
            // Welch's test divides by, and would hide a large shift of the median.
            ("median", "mann_whitney", m.mann_whitney_p, m.baseline_median, m.candidate_median, m.ratio, m.ci95)
        };
        let verdict = explaining(compare::verdict(p, ci95, ratio, thresholds), gating);
        // A ratio over a zero baseline is infinite, which JSON cannot hold: leave it out.
        let finite = ratio.is_finite() && ci95.iter().all(|x| x.is_finite());
        rows.push(ComparisonRow {
            id: cand.id.clone(),
            metric: metric.clone(),
            location: Some(location.into()),
            baseline: Some(base_value),
            candidate: Some(cand_value),
            ratio: finite.then_some(ratio),
            ci95: finite.then_some(ci95),
            ratio_of_means: m.ratio_of_means.is_finite().then_some(m.ratio_of_means),
            ratio_of_means_ci95: m.ratio_of_means_ci95.iter().all(|x| x.is_finite()).then_some(m.ratio_of_means_ci95),
            p_value: Some(p),
            test: Some(test.into()),
            welch_p: Some(m.p_value),
            mann_whitney_p: Some(m.mann_whitney_p),
            verdict,
            gating,
            note: (!finite).then(|| format!("the baseline's {location} is 0, so there is no ratio")),
        });
    }
    rows.sort_by_key(|r| metric_rank(&r.metric));
    rows.extend(fact_rows(base, cand));
    rows
}

/// A metric that does not gate explains a change and does not grade it: its verdict stops at
/// `regressed` (the words *warning* and *failure* belong to what can fail the gate).
fn explaining(verdict: Verdict, gating: bool) -> Verdict {
    match verdict {
        Verdict::Warning | Verdict::Failure if !gating => Verdict::Regressed,
        v => v,
    }
}

/// Deterministic facts compare exactly: more is a regression (that does not gate), fewer an
/// improvement, and a forbidden object or module that appears is always a gating failure.
fn fact_rows(base: &BenchmarkResult, cand: &BenchmarkResult) -> Vec<ComparisonRow> {
    let count = |v: &Option<Vec<String>>| v.as_ref().map(|l| l.len() as u64);
    let relocations = |f: &crate::results::Facts| f.relocations.as_ref().map(|r| r.relative + r.symbolic + r.plt);
    let (b, c) = (&base.facts, &cand.facts);
    let facts: [(&str, Option<u64>, Option<u64>, bool); 6] = [
        ("facts.mapped_libs", b.mapped_libs, c.mapped_libs, false),
        ("facts.binary_bytes", b.binary_bytes, c.binary_bytes, false),
        ("facts.relocations", relocations(b), relocations(c), false),
        ("facts.imported_modules", b.imported_modules, c.imported_modules, false),
        ("facts.forbidden_loaded", count(&b.forbidden_loaded), count(&c.forbidden_loaded), true),
        ("facts.forbidden_imported", count(&b.forbidden_imported), count(&c.forbidden_imported), true),
    ];
    facts
        .into_iter()
        .filter_map(|(metric, b, c, forbidden)| {
            let (b, c) = (b?, c?);
            let verdict = match c.cmp(&b) {
                std::cmp::Ordering::Equal => Verdict::NoChange,
                std::cmp::Ordering::Less => Verdict::Improved,
                std::cmp::Ordering::Greater if forbidden => Verdict::Failure,
                std::cmp::Ordering::Greater => Verdict::Regressed,
            };
            let ratio = (b > 0).then(|| c as f64 / b as f64);
            Some(ComparisonRow {
                id: cand.id.clone(),
                metric: metric.into(),
                location: None,
                baseline: Some(b as f64),
                candidate: Some(c as f64),
                ratio,
                ci95: ratio.map(|r| [r, r]),
                ratio_of_means: None,
                ratio_of_means_ci95: None,
                p_value: None,
                test: None,
                welch_p: None,
                mann_whitney_p: None,
                verdict,
                gating: forbidden,
                note: None,
            })
        })
        .collect()
}

fn metric_rank(metric: &str) -> usize {
    let all = &crate::scheduler::metrics::ALL;
    all.iter().position(|m| m.name == metric).unwrap_or(all.len())
}

/// A benchmark that failed on either side compares exactly, by status.
fn status_row(base: &BenchmarkResult, cand: &BenchmarkResult) -> ComparisonRow {
    let describe = |b: &BenchmarkResult| match b.status {
        Status::Ok => "ok".to_string(),
        Status::Failed => format!("failed ({})", b.reason.as_deref().unwrap_or("unknown")),
        Status::Skipped => format!("skipped ({})", b.reason.as_deref().unwrap_or("unknown")),
    };
    let verdict = match (base.status, cand.status) {
        (Status::Failed, Status::Failed) => Verdict::NoChange,
        (_, Status::Failed) => Verdict::Failure,
        (Status::Failed, Status::Ok) => Verdict::Improved,
        _ => Verdict::NoChange,
    };
    ComparisonRow {
        id: cand.id.clone(),
        metric: "status".into(),
        location: None,
        baseline: None,
        candidate: None,
        ratio: None,
        ci95: None,
        ratio_of_means: None,
        ratio_of_means_ci95: None,
        p_value: None,
        test: None,
        welch_p: None,
        mann_whitney_p: None,
        verdict,
        gating: true,
        note: Some(format!("baseline {}, candidate {}", describe(base), describe(cand))),
    }
}

/// A fixed seed per benchmark and metric: the same samples always give the same verdict.
fn seed_for(id: &str, metric: &str) -> u64 {
    // FNV-1a: stable across Rust versions, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes().chain([0]).chain(metric.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The most severe verdict among the gating rows, if any row gates (`Verdict` is ordered from
/// improved to failure).
pub fn worst_gating_verdict(rows: &[ComparisonRow]) -> Option<Verdict> {
    rows.iter().filter(|r| r.gating).map(|r| r.verdict).max()
}

/// A comparison of `candidate` with a saved result document (`--baseline`, `diff`): not interleaved.
///
/// Thresholds come from each candidate benchmark's recorded configuration; `noise` overrides theirs.
pub fn against_document(
    base: &crate::results::RunDocument,
    base_label: String,
    candidate: &[BenchmarkResult],
    candidate_side: crate::results::Side,
    noise: Option<f64>,
) -> crate::results::Comparison {
    let thresholds: BTreeMap<&str, Thresholds> =
        candidate.iter().map(|b| (b.id.as_str(), b.config.thresholds)).collect();
    let rows = compare_results(&base.benchmarks, candidate, &|id| {
        let mut t = thresholds.get(id).copied().unwrap_or(Thresholds::DEFAULT);
        if let Some(noise) = noise {
            t.noise = noise;
        }
        t
    });
    crate::results::Comparison {
        baseline: crate::results::Side {
            label: base_label,
            sha: base.git.as_ref().map(|g| g.sha.clone()),
            dirty: base.git.as_ref().is_some_and(|g| g.dirty),
        },
        candidate: candidate_side,
        interleaved: false,
        rows: rows.rows,
        added: rows.added,
        removed: rows.removed,
        baseline_benchmarks: base.benchmarks.clone(),
        skipped: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble;
    use crate::config::Budget;
    use crate::measure::process::Readiness;
    use crate::plan::{BenchPlan, Program};
    use crate::results::Facts;
    use crate::scheduler::{metrics, Measured, Observation, RunCount, RunFailure, RunPolicy};
    use std::time::Duration;

    fn result(id: &str, walls_ms: &[f64], user: f64, failure: Option<&str>) -> BenchmarkResult {
        let plan = BenchPlan {
            id: id.into(),
            package: "p".into(),
            default_entry: false,
            program: Program::Path("/bin/true".into()),
            args: vec![],
            env: Default::default(),
            cwd: "/".into(),
            readiness: Readiness::Exit,
            timeout: Duration::from_secs(1),
            policy: RunPolicy { warmup: 0, runs: RunCount::Exactly(walls_ms.len() as u32) },
            budget: Budget::default(),
            thresholds: Thresholds::DEFAULT,
            kind: crate::results::Kind::Start,
            probe: crate::plan::Probe::Start { forbid_loaded: vec![] },
            cache: Default::default(),
        };
        let runs = walls_ms
            .iter()
            .enumerate()
            .map(|(i, ms)| Observation {
                wall: Duration::from_secs_f64(ms / 1e3),
                // Tick-like CPU time: mostly 0, sometimes one tick.
                values: vec![(metrics::USER, if i % 4 == 0 { user } else { 0.0 })],
            })
            .collect();
        let failure = failure.map(|r| RunFailure { reason: r.into(), detail: None });
        assemble::result(&plan, &Measured { warmups: vec![], runs, failure, stopped: None }, Facts::default(), None)
    }

    fn spread(center: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| center * (1.0 + 0.01 * ((i % 7) as f64 - 3.0))).collect()
    }

    #[test]
    fn pairs_by_id_and_lists_one_sided_benchmarks() {
        let base = vec![
            result("start/p/a", &spread(10.0, 20), 0.004, None),
            result("start/p/gone", &spread(1.0, 20), 0.0, None),
        ];
        let cand = vec![
            result("start/p/a", &spread(30.0, 20), 0.004, None),
            result("start/p/new", &spread(1.0, 20), 0.0, None),
        ];
        let rows = compare_results(&base, &cand, &|_| Thresholds::DEFAULT);
        assert_eq!(rows.added, ["start/p/new"]);
        assert_eq!(rows.removed, ["start/p/gone"]);
        let wall = rows.rows.iter().find(|r| r.metric == "wall").unwrap();
        assert_eq!(rows.rows[0].metric, "wall", "wall comes first");
        assert_eq!(wall.verdict, Verdict::Failure);
        assert!(wall.gating);
        assert_eq!(worst_gating_verdict(&rows.rows), Some(Verdict::Failure));
    }

    #[test]
    fn tick_sampled_metrics_are_compared_by_their_means_and_do_not_gate() {
        let base = vec![result("start/p/a", &spread(10.0, 40), 0.004, None)];
        let cand = vec![result("start/p/a", &spread(10.0, 40), 0.004, None)];
        let rows = compare_results(&base, &cand, &|_| Thresholds::DEFAULT);
        let user = rows.rows.iter().find(|r| r.metric == "user").unwrap();
        // Medians are 0 on both sides; the means are one tick in four.
        assert!((user.baseline.unwrap() - 0.001).abs() < 1e-12, "{user:?}");
        assert_eq!(user.ratio, Some(1.0));
        assert!(!user.gating);
        assert_eq!(user.verdict, Verdict::NoChange);
    }

    #[test]
    fn a_zero_baseline_has_no_ratio_rather_than_an_infinite_one() {
        let base = vec![result("start/p/a", &spread(10.0, 20), 0.0, None)];
        let cand = vec![result("start/p/a", &spread(10.0, 20), 0.004, None)];
        let rows = compare_results(&base, &cand, &|_| Thresholds::DEFAULT);
        let user = rows.rows.iter().find(|r| r.metric == "user").unwrap();
        assert_eq!(user.ratio, None);
        assert!(user.note.as_deref().unwrap().contains("is 0"));
        serde_json::to_string(&rows.rows).unwrap();
    }

    #[test]
    fn facts_compare_exactly_and_a_new_forbidden_load_is_a_failure() {
        let mut base = result("start/p/a", &spread(10.0, 20), 0.0, None);
        let mut cand = result("start/p/a", &spread(10.0, 20), 0.0, None);
        base.facts.mapped_libs = Some(3);
        cand.facts.mapped_libs = Some(4);
        base.facts.forbidden_loaded = Some(vec![]);
        cand.facts.forbidden_loaded = Some(vec!["/lib/libssl.so.3".into()]);
        let rows = compare_results(&[base], &[cand], &|_| Thresholds::DEFAULT).rows;
        let mapped = rows.iter().find(|r| r.metric == "facts.mapped_libs").unwrap();
        assert_eq!(mapped.verdict, Verdict::Regressed);
        assert!(!mapped.gating);
        let forbidden = rows.iter().find(|r| r.metric == "facts.forbidden_loaded").unwrap();
        assert_eq!(forbidden.verdict, Verdict::Failure);
        assert_eq!(worst_gating_verdict(&rows), Some(Verdict::Failure));
    }

    #[test]
    fn one_stray_slow_run_does_not_hide_a_tripled_median() {
        let mut slow = spread(90.0, 10);
        slow[9] = 1000.0;
        let mut fast_with_outlier = spread(30.0, 10);
        fast_with_outlier[3] = 1000.0;
        let base = [result("start/p/a", &fast_with_outlier, 0.0, None)];
        let cand = [result("start/p/a", &slow, 0.0, None)];
        let rows = compare_results(&base, &cand, &|_| Thresholds::DEFAULT).rows;
        let wall = rows.iter().find(|r| r.metric == "wall").unwrap();
        assert_eq!(wall.verdict, Verdict::Failure, "{wall:?}");
        assert!(wall.welch_p.unwrap() > 0.05, "Welch alone would have missed it: {wall:?}");
        assert_eq!((wall.test.as_deref(), wall.p_value), (Some("mann_whitney"), wall.mann_whitney_p), "{wall:?}");
    }

    #[test]
    fn a_side_that_failed_compares_by_status() {
        let base = vec![result("start/p/a", &spread(10.0, 5), 0.0, None)];
        let cand = vec![result("start/p/a", &[], 0.0, Some("timed out after 1s"))];
        let rows = compare_results(&base, &cand, &|_| Thresholds::DEFAULT);
        assert_eq!(rows.rows.len(), 1);
        assert_eq!(rows.rows[0].metric, "status");
        assert_eq!(rows.rows[0].verdict, Verdict::Failure);
        assert_eq!(rows.rows[0].note.as_deref(), Some("baseline ok, candidate failed (timed out after 1s)"));
    }
}
