//! The search of `bisect`: along a first-parent line of commits whose first is good and whose last
//! is bad, the first commit judged bad whose parent is judged good, probing no more commits than a
//! binary search needs; commits that cannot be judged are skipped as `git bisect skip` does.

use std::collections::BTreeMap;

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
