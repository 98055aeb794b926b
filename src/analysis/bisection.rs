//! The search of `bisect`: along a first-parent line of commits whose first is good and whose last
//! is bad, the first commit judged bad whose parent is judged good, probing no more commits than a
//! binary search needs; commits that cannot be judged are skipped as `git bisect skip` does.

use std::collections::BTreeMap;

use super::pairing;
use crate::results::{BenchmarkResult, ComparisonRow, Series, Thresholds, Verdict};

/// What a probe of one commit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Judged regressed against the good side.
    Bad,
    /// Judged not regressed.
    Good,
    /// Could not be judged: it does not build, or the benchmark failed there.
    Skip,
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// `first` is bad and `parent`, the commit before it, is good.
    First {
        /// The first bad commit.
        first: usize,
        /// Its parent on the line.
        parent: usize,
    },
    /// The first bad commit is one of these (skipped commits, then the first one known bad):
    /// nothing between the last good one and them could be judged.
    Among(Vec<usize>),
}

/// Searches commits `0..n` (0 good, `n − 1` bad). `known` holds verdicts already at hand
/// (earlier probes, a history's points), which narrow the range before anything is probed;
/// `probe(i)` judges commit `i`. Without skips it probes at most `⌈log₂(n − 1)⌉` commits.
pub fn search(n: usize, known: &BTreeMap<usize, Probe>, mut probe: impl FnMut(usize) -> Probe) -> Found {
    assert!(n >= 2, "a search needs its good and its bad commit");
    let mut verdicts = known.clone();
    verdicts.insert(0, Probe::Good);
    verdicts.insert(n - 1, Probe::Bad);
    loop {
        // The first commit known bad, and the last known good before it.
        let hi = *verdicts.iter().find(|(_, v)| **v == Probe::Bad).map(|(i, _)| i).expect("the last is bad");
        let lo =
            *verdicts.range(..hi).rev().find(|(_, v)| **v == Probe::Good).map(|(i, _)| i).expect("the first is good");
        if hi - lo == 1 {
            return Found::First { first: hi, parent: lo };
        }
        let untested: Vec<usize> = (lo + 1..hi).filter(|i| !verdicts.contains_key(i)).collect();
        if untested.is_empty() {
            return Found::Among((lo + 1..=hi).collect());
        }
        let middle = (lo + hi) / 2;
        let next = *untested.iter().min_by_key(|i| (i.abs_diff(middle), **i)).expect("not empty");
        verdicts.insert(next, probe(next));
    }
}

/// How sure the measurements of a commit against good are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Slower: the usual verdict is a regression.
    Bad,
    /// Not slower, and clearly not at the level bad was measured at: the whole CI stays on
    /// good's side of the middle between good and bad.
    Good,
    /// Not judged a regression, but the CI reaches the middle: measure more.
    Unsure,
}

/// The call of a commit's comparison with good, its `verdict` and the CI of its ratio, when bad
/// was measured at `bad_ratio`. Without a CI nothing is sure.
pub fn call(verdict: Verdict, ci95: Option<[f64; 2]>, bad_ratio: f64) -> Call {
    if verdict.is_regression() {
        return Call::Bad;
    }
    let Some([lo, hi]) = ci95 else { return Call::Unsure };
    let middle = (1.0 + bad_ratio) / 2.0;
    let clear = if bad_ratio >= 1.0 { hi < middle } else { lo > middle };
    if clear {
        Call::Good
    } else {
        Call::Unsure
    }
}

/// One benchmark of one commit measured against good in several sessions (good's result and
/// the commit's, per session): the runs of each side put together and compared again, with
/// `thresholds`. Sessions alternate the two sides alike, so pooling keeps them on equal footing.
pub fn pooled(sessions: &[(&BenchmarkResult, &BenchmarkResult)], thresholds: &Thresholds) -> Vec<ComparisonRow> {
    let Some(((base, cand), more)) = sessions.split_first() else { return Vec::new() };
    let (mut base, mut cand) = ((*base).clone(), (*cand).clone());
    for (b, c) in more {
        extend(&mut base, b);
        extend(&mut cand, c);
    }
    pairing::compare_pair(&base, &cand, thresholds)
}

/// Appends the samples of `more` to those of `into`, metric by metric.
fn extend(into: &mut BenchmarkResult, more: &BenchmarkResult) {
    for (metric, series) in into.samples.iter_mut() {
        let Some(extra) = more.samples.get(metric) else { continue };
        *series = match (&*series, extra) {
            (Series::Int(a), Series::Int(b)) => Series::Int(a.iter().chain(b).copied().collect()),
            (a, b) => Series::Float(a.as_f64().into_iter().chain(b.as_f64()).collect()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line whose commits from `first_bad` on are bad, probed through `probe`, counting probes.
    fn run(n: usize, first_bad: usize, skip: &[usize], known: &BTreeMap<usize, Probe>) -> (Found, Vec<usize>) {
        let mut probed = Vec::new();
        let found = search(n, known, |i| {
            probed.push(i);
            if skip.contains(&i) {
                Probe::Skip
            } else if i >= first_bad {
                Probe::Bad
            } else {
                Probe::Good
            }
        });
        (found, probed)
    }

    #[test]
    fn finds_every_first_bad_commit_within_the_binary_search_bound() {
        for n in 2..70 {
            let bound = ((n - 1) as f64).log2().ceil() as usize;
            for first_bad in 1..n {
                let (found, probed) = run(n, first_bad, &[], &BTreeMap::new());
                assert_eq!(found, Found::First { first: first_bad, parent: first_bad - 1 }, "n={n}");
                assert!(probed.len() <= bound, "n={n} first_bad={first_bad}: {probed:?} > {bound}");
                assert!(probed.iter().all(|&i| i > 0 && i < n - 1), "good and bad are not probed again");
            }
        }
        // 32 commits (good, 30 between, bad): at most 5 probes, so 7 builds with good and bad.
        let (found, probed) = run(32, 18, &[], &BTreeMap::new());
        assert_eq!(found, Found::First { first: 18, parent: 17 });
        assert!(probed.len() <= 5, "{probed:?}");
    }

    #[test]
    fn skipped_commits_are_stepped_around_or_named() {
        let (found, probed) = run(16, 9, &[11], &BTreeMap::new());
        assert_eq!(found, Found::First { first: 9, parent: 8 });
        assert!(probed.contains(&11) && probed.contains(&10), "a neighbour is probed instead: {probed:?}");
        // When the only commit between the last good and the first bad cannot be judged, both
        // are candidates, as git bisect says.
        let (found, _) = run(16, 9, &[8], &BTreeMap::new());
        assert_eq!(found, Found::Among(vec![8, 9]));
    }

    #[test]
    fn a_probe_is_sure_when_its_interval_stays_on_one_side_of_the_middle() {
        // Bad was 10% slower: the middle is +5%.
        assert_eq!(call(Verdict::Regressed, Some([1.03, 1.12]), 1.10), Call::Bad);
        assert_eq!(call(Verdict::WithinNoise, Some([0.99, 1.03]), 1.10), Call::Good);
        assert_eq!(call(Verdict::NoChange, Some([1.02, 1.15]), 1.10), Call::Unsure, "it may well be slower");
        assert_eq!(call(Verdict::NoChange, None, 1.10), Call::Unsure);
        // A throughput that fell 20%: the middle is −10%.
        assert_eq!(call(Verdict::NoChange, Some([0.93, 1.02]), 0.80), Call::Good);
        assert_eq!(call(Verdict::NoChange, Some([0.85, 1.02]), 0.80), Call::Unsure);
    }

    #[test]
    fn sessions_pooled_compare_all_their_runs() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json");
        let mut doc = crate::results::read(&path).unwrap();
        crate::plan::old_results::upgrade(&mut doc, &crate::plan::Registry::builtin());
        let cand = &doc.benchmarks[0];
        let base = doc.comparison.as_ref().unwrap().baseline_benchmarks.iter().find(|b| b.id == cand.id).unwrap();
        let runs = |b: &BenchmarkResult| b.samples["wall"].len();
        let one = pooled(&[(base, cand)], &Thresholds::DEFAULT);
        let two = pooled(&[(base, cand), (base, cand)], &Thresholds::DEFAULT);
        let wall = |rows: &[ComparisonRow]| rows.iter().find(|r| r.metric == "wall").cloned().unwrap();
        assert_eq!(wall(&one).ratio, wall(&two).ratio, "the same runs twice: the same medians");
        let width = |r: &ComparisonRow| r.ci95.map(|[a, b]| b - a).unwrap();
        assert!(width(&wall(&two)) <= width(&wall(&one)), "twice the runs: no wider an interval");
        assert!(runs(cand) > 1 && pooled(&[], &Thresholds::DEFAULT).is_empty());
    }

    #[test]
    fn known_verdicts_spare_probes() {
        let known: BTreeMap<usize, Probe> =
            [(4, Probe::Good), (8, Probe::Good), (12, Probe::Bad), (20, Probe::Bad)].into_iter().collect();
        let (found, probed) = run(32, 10, &[], &known);
        assert_eq!(found, Found::First { first: 10, parent: 9 });
        assert!(probed.len() <= 2 && probed.iter().all(|i| (9..12).contains(i)), "{probed:?}");
        // Everything known: no probe at all.
        let all: BTreeMap<usize, Probe> =
            (1..31).map(|i| (i, if i >= 10 { Probe::Bad } else { Probe::Good })).collect();
        let (found, probed) = run(32, 10, &[], &all);
        assert_eq!(found, Found::First { first: 10, parent: 9 });
        assert!(probed.is_empty());
    }
}
