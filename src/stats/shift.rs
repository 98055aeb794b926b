//! The shift between two sides as a ratio that stays put when runs move between modes: the
//! Hodges–Lehmann estimate on the log scale, with the distribution-free interval and the p-value of
//! the rank test it belongs to.
//!
//! Why not the ratio of medians: when a start has two modes of about equal mass, the median sits in
//! the valley between them and jumps by a large part of the gap when a few runs move from one mode
//! to the other, which copies of identical code do (BENCHMARKS.md). The Hodges–Lehmann estimate is
//! the median of the differences between the two sides' log values: with two modes, most of those
//! fall in a cluster around the true shift whose width is the noise *within* a mode, so moving a
//! little mass between modes moves the estimate by a fraction of that noise, not of the gap. On
//! one mode it is as efficient as the mean (95% of it for normal noise) and keeps the median's
//! indifference to a stray slow run. Its interval is the rank test's inverted, so the interval
//! excludes 1 exactly when the test is significant at the interval's level, and the "could
//! detect" line derived from the interval agrees with both.
//!
//! Sides that ran interleaved are compared within blocks of [`BLOCK`] consecutive pairs (the
//! differences of runs of the same block only, and the Mann-Whitney statistics of the blocks
//! summed: van Elteren's stratified test), so that what the machine did for a while — a level
//! that both sides shared — cancels, as it does in a pair; sides measured apart are compared as
//! wholes (Mann-Whitney). Blocks rather than single pairs: a pair's log ratio of a two-mode start
//! lands half the time a whole gap away from the shift, which costs the signed-rank test on pairs
//! much of its power, while the differences within a block keep the two-sample test's central
//! cluster. The simulated verdicts behind this choice are in BENCHMARKS.md (`tests/estimator.rs`).

use statrs::distribution::{ContinuousCDF, Normal};

/// The shift of the candidate against the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// The ratio candidate / baseline: `exp` of the Hodges–Lehmann estimate of the log shift.
    pub ratio: f64,
    /// Its interval at level `1 − alpha`.
    pub ci: [f64; 2],
    /// The two-sided p-value of the rank test the interval inverts.
    pub p_value: f64,
    /// The test the interval inverts.
    pub test: RankTest,
}

/// The rank test behind a [`Shift`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankTest {
    /// Mann-Whitney's, summed over blocks of interleaved pairs (van Elteren's).
    Blocks,
    /// Mann-Whitney's, on the sides as wholes.
    Sides,
    /// Wilcoxon's signed-rank test on single pairs (not used by verdicts: BENCHMARKS.md compares it).
    Pairs,
}

impl Shift {
    /// The name of the test in results: `van_elteren`, `mann_whitney` or `wilcoxon`.
    pub fn test(&self) -> &'static str {
        match self.test {
            RankTest::Blocks => "van_elteren",
            RankTest::Sides => "mann_whitney",
            RankTest::Pairs => "wilcoxon",
        }
    }
}

/// Interleaved pairs per block.
pub const BLOCK: usize = 16;

/// The shift of `candidate` against `baseline` with its interval at level `1 − alpha`: within
/// blocks of [`BLOCK`] pairs when the sides have as many runs (interleaved A B A B …), else of the
/// sides as wholes. `None` when a value is not positive and finite or a side has fewer than 2
/// runs: there is no log scale then.
pub fn shift(baseline: &[f64], candidate: &[f64], alpha: f64) -> Option<Shift> {
    if baseline.len() == candidate.len() {
        blocked(baseline, candidate, alpha, BLOCK)
    } else {
        unpaired(baseline, candidate, alpha)
    }
}

/// The shift of run-by-run pairs (the same count each side): the one-sample Hodges–Lehmann
/// estimate of the pairs' log ratios and Wilcoxon's signed-rank test. Verdicts do not use it; it
/// is the alternative BENCHMARKS.md measures blocks against.
pub fn paired(baseline: &[f64], candidate: &[f64], alpha: f64) -> Option<Shift> {
    let (a, b) = (logs(baseline)?, logs(candidate)?);
    if a.len() != b.len() {
        return None;
    }
    let mut d: Vec<f64> = b.iter().zip(&a).map(|(y, x)| y - x).collect();
    d.sort_unstable_by(f64::total_cmp);
    Some(estimate(&Walsh(&d), alpha, RankTest::Pairs))
}

/// The shift of two sides taken as wholes: the two-sample Hodges–Lehmann estimate of the log
/// values and the Mann-Whitney test.
pub fn unpaired(baseline: &[f64], candidate: &[f64], alpha: f64) -> Option<Shift> {
    let (mut x, mut y) = (logs(baseline)?, logs(candidate)?);
    x.sort_unstable_by(f64::total_cmp);
    y.sort_unstable_by(f64::total_cmp);
    Some(estimate(&Differences { x: &x, y: &y }, alpha, RankTest::Sides))
}

/// The shift of interleaved sides (the same count each, in run order) judged within blocks of
/// `block` consecutive pairs: the Hodges–Lehmann estimate of the differences between the two
/// sides' log values of the same block, and the stratified Mann-Whitney test (van Elteren's) that
/// sums the blocks' statistics.
pub fn blocked(baseline: &[f64], candidate: &[f64], alpha: f64, block: usize) -> Option<Shift> {
    let (a, b) = (logs(baseline)?, logs(candidate)?);
    if a.len() != b.len() || block == 0 {
        return None;
    }
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let halves: Vec<(Vec<f64>, Vec<f64>)> =
        a.chunks(block).zip(b.chunks(block)).map(|(x, y)| (sorted(x), sorted(y))).collect();
    let blocks: Vec<Differences> = halves.iter().map(|(x, y)| Differences { x, y }).collect();
    Some(estimate(&Blocks(&blocks), alpha, RankTest::Blocks))
}

/// The logs of at least 2 positive, finite values.
fn logs(v: &[f64]) -> Option<Vec<f64>> {
    (v.len() >= 2 && v.iter().all(|x| x.is_finite() && *x > 0.0)).then(|| v.iter().map(|x| x.ln()).collect())
}

fn estimate(set: &dyn Pairwise, alpha: f64, test: RankTest) -> Shift {
    let z = Normal::new(0.0, 1.0).expect("standard normal").inverse_cdf(1.0 - alpha / 2.0);
    let (estimate, lo, hi, p_value) = rank_interval(set, z);
    Shift { ratio: estimate.exp(), ci: [lo.exp(), hi.exp()], p_value, test }
}

/// A set of pairwise values that can be counted below a threshold without listing them.
trait Pairwise {
    /// How many there are.
    fn total(&self) -> u64;
    /// How many are `<= t` (or `< t` when `strict`).
    fn count(&self, t: f64, strict: bool) -> u64;
    /// The smallest and the largest.
    fn range(&self) -> (f64, f64);
    /// The variance of the rank statistic (the count of positive values) when there is no shift.
    fn null_variance(&self) -> f64;
}

/// The Walsh averages `(d_i + d_j) / 2`, `i ≤ j`, of sorted paired differences: their count above
/// zero is Wilcoxon's signed-rank statistic.
struct Walsh<'a>(&'a [f64]);

impl Pairwise for Walsh<'_> {
    fn total(&self) -> u64 {
        let n = self.0.len() as u64;
        n * (n + 1) / 2
    }

    fn count(&self, t: f64, strict: bool) -> u64 {
        let d = self.0;
        let within = |s: f64| if strict { s < 2.0 * t } else { s <= 2.0 * t };
        // For each i, the j ≥ i with d_i + d_j within the bound form a prefix of i..n that only
        // shrinks as i grows.
        let (mut count, mut end) = (0, d.len());
        for i in 0..d.len() {
            while end > i && !within(d[i] + d[end - 1]) {
                end -= 1;
            }
            if end <= i {
                break;
            }
            count += (end - i) as u64;
        }
        count
    }

    fn range(&self) -> (f64, f64) {
        (self.0[0], self.0[self.0.len() - 1])
    }

    fn null_variance(&self) -> f64 {
        let n = self.0.len() as f64;
        n * (n + 1.0) * (2.0 * n + 1.0) / 24.0
    }
}

/// The differences `y_j − x_i` of two sorted samples: their count above zero is Mann-Whitney's U.
struct Differences<'a> {
    x: &'a [f64],
    y: &'a [f64],
}

impl Pairwise for Differences<'_> {
    fn total(&self) -> u64 {
        (self.x.len() * self.y.len()) as u64
    }

    fn count(&self, t: f64, strict: bool) -> u64 {
        // y_j − x_i ≤ t ⟺ x_i ≥ y_j − t: the first such i only moves right as y_j grows.
        let (x, n) = (self.x, self.x.len());
        let (mut count, mut first) = (0, 0);
        for &y in self.y {
            while first < n && !(if strict { y - x[first] < t } else { y - x[first] <= t }) {
                first += 1;
            }
            count += (n - first) as u64;
        }
        count
    }

    fn range(&self) -> (f64, f64) {
        let (x, y) = (self.x, self.y);
        (y[0] - x[x.len() - 1], y[y.len() - 1] - x[0])
    }

    fn null_variance(&self) -> f64 {
        let (n, m) = (self.x.len() as f64, self.y.len() as f64);
        n * m * (n + m + 1.0) / 12.0
    }
}

/// The differences within each of several blocks, taken together.
struct Blocks<'a>(&'a [Differences<'a>]);

impl Pairwise for Blocks<'_> {
    fn total(&self) -> u64 {
        self.0.iter().map(|b| b.total()).sum()
    }

    fn count(&self, t: f64, strict: bool) -> u64 {
        self.0.iter().map(|b| b.count(t, strict)).sum()
    }

    fn range(&self) -> (f64, f64) {
        self.0
            .iter()
            .map(|b| b.range())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)))
    }

    fn null_variance(&self) -> f64 {
        self.0.iter().map(|b| b.null_variance()).sum()
    }
}

/// The `k`-th smallest (1-based) pairwise value, found by bisecting on the value with counts.
fn kth(set: &dyn Pairwise, k: u64) -> f64 {
    let (mut lo, mut hi) = set.range();
    if set.count(lo, false) >= k {
        return lo;
    }
    // count(lo) < k ≤ count(hi) throughout.
    for _ in 0..200 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if set.count(mid, false) >= k {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The Hodges–Lehmann estimate (the median of the pairwise values), the interval of the rank test
/// at the level whose normal quantile is `z`, and the test's two-sided p-value.
fn rank_interval(set: &dyn Pairwise, z: f64) -> (f64, f64, f64, f64) {
    let total = set.total();
    let estimate =
        if total % 2 == 1 { kth(set, total / 2 + 1) } else { (kth(set, total / 2) + kth(set, total / 2 + 1)) / 2.0 };
    let sd = set.null_variance().sqrt();
    let half = total as f64 / 2.0;
    // The k smallest and k largest pairwise values lie outside the interval.
    let k = (half - z * sd).floor();
    let (lo, hi) = if k >= 1.0 { (kth(set, k as u64), kth(set, total + 1 - k as u64)) } else { set.range() };
    // The count of positive values, zeros counted half.
    let positive = (total - set.count(0.0, false)) as f64 + (set.count(0.0, false) - set.count(0.0, true)) as f64 / 2.0;
    let p = if sd > 0.0 {
        let normal = Normal::new(0.0, 1.0).expect("standard normal");
        (2.0 * normal.sf((positive - half).abs() / sd)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    (estimate, lo, hi, p)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::stats::standard_normal as normal;

    /// Every pairwise value, listed: what the counting must agree with.
    fn listed(set: &dyn Pairwise, values: &[f64], paired: Option<&[f64]>) -> Vec<f64> {
        let mut out = Vec::new();
        match paired {
            None => {
                for i in 0..values.len() {
                    for j in i..values.len() {
                        out.push((values[i] + values[j]) / 2.0);
                    }
                }
            }
            Some(y) => {
                for &yj in y {
                    for &xi in values {
                        out.push(yj - xi);
                    }
                }
            }
        }
        out.sort_unstable_by(f64::total_cmp);
        assert_eq!(out.len() as u64, set.total());
        out
    }

    #[test]
    fn counting_and_selection_agree_with_listing_every_pairwise_value() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut d: Vec<f64> = (0..37).map(|_| (normal(&mut rng) * 4.0).round() / 4.0).collect();
        d.sort_unstable_by(f64::total_cmp);
        let walsh = Walsh(&d);
        let all = listed(&walsh, &d, None);
        let mut x: Vec<f64> = (0..23).map(|_| normal(&mut rng)).collect();
        let mut y: Vec<f64> = (0..31).map(|_| (normal(&mut rng) * 2.0).round() / 2.0).collect();
        x.sort_unstable_by(f64::total_cmp);
        y.sort_unstable_by(f64::total_cmp);
        let diffs = Differences { x: &x, y: &y };
        let all_d = listed(&diffs, &x, Some(&y));
        // Two blocks (slices of sorted values are sorted): their differences, listed together.
        let parts = [Differences { x: &x[..9], y: &y[..14] }, Differences { x: &x[9..], y: &y[14..] }];
        let blocks = Blocks(&parts);
        let mut all_b = listed(&parts[0], &x[..9], Some(&y[..14]));
        all_b.extend(listed(&parts[1], &x[9..], Some(&y[14..])));
        all_b.sort_unstable_by(f64::total_cmp);
        assert_eq!(blocks.total(), all_b.len() as u64);
        let sets =
            [(&walsh as &dyn Pairwise, &all), (&diffs as &dyn Pairwise, &all_d), (&blocks as &dyn Pairwise, &all_b)];
        for (set, all) in sets {
            for t in [-3.0, -0.5, 0.0, 0.25, 1.0, 9.0] {
                assert_eq!(set.count(t, false), all.iter().filter(|v| **v <= t).count() as u64, "≤ {t}");
                assert_eq!(set.count(t, true), all.iter().filter(|v| **v < t).count() as u64, "< {t}");
            }
            for k in [1, 2, all.len() as u64 / 3, all.len() as u64 / 2, all.len() as u64] {
                assert_eq!(kth(set, k), all[k as usize - 1], "k = {k}");
            }
        }
    }

    #[test]
    fn a_known_shift_is_found_and_the_interval_matches_the_test() {
        let mut rng = StdRng::seed_from_u64(5);
        let base: Vec<f64> = (0..200).map(|_| 0.010 * (0.02 * normal(&mut rng)).exp()).collect();
        let cand: Vec<f64> = (0..200).map(|_| 0.0103 * (0.02 * normal(&mut rng)).exp()).collect();
        let all = [shift(&base, &cand, 0.05), shift(&base, &cand[..150], 0.05), paired(&base, &cand, 0.05)];
        for s in all.map(Option::unwrap) {
            assert!((s.ratio - 1.03).abs() < 0.006, "{s:?}");
            assert!(s.ci[0] < s.ratio && s.ratio < s.ci[1] && s.ci[0] > 1.0, "{s:?}");
            assert!(s.p_value < 1e-6, "{s:?}");
        }
        assert_eq!(all.map(|s| s.unwrap().test), [RankTest::Blocks, RankTest::Sides, RankTest::Pairs]);
        // No shift: the interval holds 1 exactly when p ≥ alpha, at any level.
        for seed in 0..40 {
            let mut rng = StdRng::seed_from_u64(100 + seed);
            let a: Vec<f64> = (0..60).map(|_| (0.03 * normal(&mut rng)).exp()).collect();
            let b: Vec<f64> = (0..60).map(|_| (0.03 * normal(&mut rng)).exp()).collect();
            for (alpha, s) in [0.05, 0.2, 0.5].into_iter().flat_map(|alpha| {
                [shift(&a, &b, alpha), unpaired(&a, &b, alpha), paired(&a, &b, alpha)].map(|s| (alpha, s.unwrap()))
            }) {
                let holds_one = s.ci[0] <= 1.0 && 1.0 <= s.ci[1];
                // At the boundary the discrete interval and the continuous p may differ by a rank.
                let near = (s.p_value - alpha).abs() < 0.02;
                assert!(near || holds_one == (s.p_value >= alpha), "seed {seed}, α {alpha}: {s:?}");
            }
        }
    }

    #[test]
    fn identical_sides_and_bad_values() {
        let s = shift(&[2.0; 8], &[2.0; 8], 0.05).unwrap();
        assert_eq!((s.ratio, s.ci, s.p_value), (1.0, [1.0, 1.0], 1.0));
        assert!(shift(&[0.0, 1.0], &[1.0, 1.0], 0.05).is_none());
        assert!(shift(&[1.0], &[1.0, 1.0], 0.05).is_none());
    }

    #[test]
    fn moving_a_little_mass_between_two_modes_barely_moves_the_shift_but_moves_the_median() {
        // Modes at 1.02 and 1.32 ms with 1% noise each; the candidate has 6% more runs in the slow one.
        let mut rng = StdRng::seed_from_u64(9);
        let draw = |slow: f64, rng: &mut StdRng| {
            let at = if rand::Rng::gen::<f64>(rng) < slow { 1.32e-3 } else { 1.02e-3 };
            at * (0.01 * normal(rng)).exp()
        };
        let base: Vec<f64> = (0..1280).map(|_| draw(0.47, &mut rng)).collect();
        let cand: Vec<f64> = (0..1280).map(|_| draw(0.53, &mut rng)).collect();
        let median = |v: &[f64]| crate::stats::summary::median_in_place(&mut v.to_vec());
        let medians = median(&cand) / median(&base);
        let s = shift(&base, &cand, 0.05).unwrap();
        assert!(medians > 1.05, "the ratio of medians jumps: {medians}");
        assert!((s.ratio - 1.0).abs() < 0.006 && s.ci[1] < 1.01, "{s:?}");
    }
}
