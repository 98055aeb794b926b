//! Comparison of two sides of a metric (baseline and candidate), in the style of criterion: ratios of
//! medians and of means with bootstrap confidence intervals, Welch's t-test, a Mann-Whitney U test as a
//! check that does not assume normality, and a verdict.

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::stats::Samples;

/// Number of bootstrap resamples: enough for stable 2.5th/97.5th percentiles, few enough to stay cheap
/// when every metric of every benchmark is compared.
const BOOTSTRAP_RESAMPLES: usize = 5000;

/// Thresholds of a comparison, as fractions (0.02 = 2%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Changes whose whole confidence interval stays within ±noise are not reported as changes.
    pub noise: f64,
    /// A regression larger than this is a warning.
    pub warn: f64,
    /// A regression larger than this is a failure.
    pub fail: f64,
    /// p-values at or above this mean the difference may be chance.
    pub significance: f64,
}

impl Thresholds {
    /// criterion's noise threshold and significance level, with warn and fail levels for start times.
    pub const DEFAULT: Thresholds = Thresholds { noise: 0.02, warn: 0.10, fail: 0.25, significance: 0.05 };
}

/// The outcome of a comparison, ordered from best to worst so that the worst of several is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly faster, by more than the noise threshold.
    Improved,
    /// The difference is not statistically significant.
    NoChange,
    /// Significant, but the confidence interval does not clear the noise threshold.
    WithinNoise,
    /// Significantly slower, by at most the warn threshold.
    Regressed,
    /// Significantly slower, by more than the warn threshold.
    Warning,
    /// Significantly slower, by more than the fail threshold.
    Failure,
}

impl Verdict {
    /// `improved`, `no_change`, ... as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::NoChange => "no_change",
            Verdict::WithinNoise => "within_noise",
            Verdict::Regressed => "regressed",
            Verdict::Warning => "warning",
            Verdict::Failure => "failure",
        }
    }

    /// Whether this verdict is a slowdown of any degree (Regressed, Warning, Failure).
    pub fn is_regression(self) -> bool {
        matches!(self, Verdict::Regressed | Verdict::Warning | Verdict::Failure)
    }
}

/// The comparison of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// Median of the baseline samples.
    pub baseline_median: f64,
    /// Median of the candidate samples.
    pub candidate_median: f64,
    /// candidate median / baseline median
    pub ratio: f64,
    /// bootstrap 95% CI of `ratio` (percentile method)
    pub ci95: [f64; 2],
    /// candidate mean / baseline mean
    pub ratio_of_means: f64,
    /// bootstrap 95% CI of ratio_of_means
    pub ratio_of_means_ci95: [f64; 2],
    /// Welch's two-sided t-test p-value on the raw samples
    pub p_value: f64,
    /// Mann-Whitney U two-sided p-value (normal approximation with tie correction and continuity correction)
    pub mann_whitney_p: f64,
    /// Decided from `p_value`, `ratio` and `ci95`; see [`verdict`].
    pub verdict: Verdict,
}

/// Compares candidate against baseline. `seed` makes the bootstrap reproducible.
///
/// The verdict uses the ratio of medians, which outliers (a busy machine, a cold cache) barely move,
/// with Welch's p-value as the significance gate.
pub fn compare(baseline: &Samples, candidate: &Samples, thresholds: &Thresholds, seed: u64) -> MetricComparison {
    let base = baseline.values();
    let cand = candidate.values();

    let mut buf = base.to_vec();
    let baseline_median = median_in_place(&mut buf);
    buf.clear();
    buf.extend_from_slice(cand);
    let candidate_median = median_in_place(&mut buf);
    let ratio = safe_ratio(candidate_median, baseline_median);
    let ratio_of_means = safe_ratio(mean(cand), mean(base));

    let mut rng = StdRng::seed_from_u64(seed);
    let Bootstrap { mut medians, mut means } = bootstrap(base, cand, BOOTSTRAP_RESAMPLES, &mut rng);
    let ci95 = percentile_interval(&mut medians, ratio);
    let ratio_of_means_ci95 = percentile_interval(&mut means, ratio_of_means);

    let p_value = welch_p_value(base, cand);
    let mann_whitney_p = mann_whitney_p_value(base, cand);
    MetricComparison {
        baseline_median,
        candidate_median,
        ratio,
        ci95,
        ratio_of_means,
        ratio_of_means_ci95,
        p_value,
        mann_whitney_p,
        verdict: verdict(p_value, ci95, ratio, thresholds),
    }
}

/// Welch's two-sided t-test p-value.
///
/// Welch rather than Student because a change to a program often changes its spread as well as its
/// location. Never NaN: degenerate inputs give 1.0 (no evidence of a difference), or 0.0 when both sides
/// are constant and differ.
pub fn welch_p_value(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < 2 || b.len() < 2 {
        return 1.0;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mean_a, mean_b) = (mean(a), mean(b));
    let (se2_a, se2_b) = (variance(a, mean_a) / na, variance(b, mean_b) / nb);
    if se2_a == 0.0 && se2_b == 0.0 {
        return if mean_a == mean_b { 1.0 } else { 0.0 };
    }
    let t = (mean_b - mean_a) / (se2_a + se2_b).sqrt();
    // Welch–Satterthwaite; scaling by the larger term keeps tiny variances from underflowing to 0/0.
    let scale = se2_a.max(se2_b);
    let (x, y) = (se2_a / scale, se2_b / scale);
    let df = (x + y).powi(2) / (x * x / (na - 1.0) + y * y / (nb - 1.0));
    let p = match StudentsT::new(0.0, 1.0, df) {
        // sf rather than 1 - cdf, so that tiny p-values keep their precision.
        Ok(dist) => 2.0 * dist.sf(t.abs()),
        Err(_) => f64::NAN,
    };
    finite_p(p)
}

/// Mann-Whitney U two-sided p-value.
///
/// A rank test, so it still means something when start times are skewed or bimodal and the t-test's
/// assumptions fail. Normal approximation with tie-corrected variance and a continuity correction of 0.5,
/// as `scipy.stats.mannwhitneyu(..., method="asymptotic")`. Never NaN: all values identical gives 1.0.
pub fn mann_whitney_p_value(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let n = n1 + n2;
    let mut pooled: Vec<(f64, bool)> = a.iter().map(|&v| (v, true)).chain(b.iter().map(|&v| (v, false))).collect();
    pooled.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));

    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i + 1;
        while j < pooled.len() && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        // Ranks are 1-based: the group i..j holds ranks i+1..=j, whose average is (i + 1 + j) / 2.
        let average_rank = (i + 1 + j) as f64 / 2.0;
        let in_a = pooled[i..j].iter().filter(|(_, from_a)| *from_a).count();
        rank_sum_a += average_rank * in_a as f64;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }

    let u1 = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let u2 = n1 * n2 - u1;
    let mu = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if variance.is_nan() || variance <= 0.0 {
        return 1.0;
    }
    let z = (u1.max(u2) - mu - 0.5) / variance.sqrt();
    let p = match Normal::new(0.0, 1.0) {
        Ok(normal) => 2.0 * normal.sf(z),
        Err(_) => f64::NAN,
    };
    finite_p(p)
}

/// The verdict from a p-value and the CI of the ratio (criterion's rule, below).
///
/// With `change = ratio - 1`, `lo = ci95[0] - 1`, `hi = ci95[1] - 1`: a p-value at or above the
/// significance level is [`Verdict::NoChange`]; otherwise a CI wholly above `+noise` is a regression
/// graded by `change` against `fail` and `warn`, a CI wholly below `-noise` is [`Verdict::Improved`], and
/// anything else is [`Verdict::WithinNoise`]. Requiring the whole CI past the noise threshold keeps small
/// but "significant" shifts (common with many runs) from being reported as changes.
pub fn verdict(p_value: f64, ci95: [f64; 2], ratio: f64, thresholds: &Thresholds) -> Verdict {
    let change = ratio - 1.0;
    let (lo, hi) = (ci95[0] - 1.0, ci95[1] - 1.0);
    // A NaN p-value is no evidence of a difference.
    if p_value.is_nan() || p_value >= thresholds.significance {
        Verdict::NoChange
    } else if lo > thresholds.noise {
        if change > thresholds.fail {
            Verdict::Failure
        } else if change > thresholds.warn {
            Verdict::Warning
        } else {
            Verdict::Regressed
        }
    } else if hi < -thresholds.noise {
        Verdict::Improved
    } else {
        Verdict::WithinNoise
    }
}

/// The bootstrap distributions of the two ratios.
struct Bootstrap {
    medians: Vec<f64>,
    means: Vec<f64>,
}

/// Resamples both sides independently `resamples` times; each buffer is allocated once.
fn bootstrap(base: &[f64], cand: &[f64], resamples: usize, rng: &mut StdRng) -> Bootstrap {
    let mut out = Bootstrap { medians: Vec::with_capacity(resamples), means: Vec::with_capacity(resamples) };
    let mut base_buf = Vec::with_capacity(base.len());
    let mut cand_buf = Vec::with_capacity(cand.len());
    for _ in 0..resamples {
        let base_mean = resample(base, rng, &mut base_buf);
        let cand_mean = resample(cand, rng, &mut cand_buf);
        let base_median = median_in_place(&mut base_buf);
        let cand_median = median_in_place(&mut cand_buf);
        out.medians.push(safe_ratio(cand_median, base_median));
        out.means.push(safe_ratio(cand_mean, base_mean));
    }
    out
}

/// Fills `buf` with `values.len()` draws with replacement and returns their mean.
///
/// Each 64-bit draw gives two indices by multiply-shift (Lemire) without rejection: the bias is at most
/// n / 2³² per index, far below the bootstrap's own sampling error, and it halves the generator's work
/// compared with `Uniform<usize>`, which is most of the bootstrap's time.
fn resample(values: &[f64], rng: &mut StdRng, buf: &mut Vec<f64>) -> f64 {
    let n = values.len() as u128;
    let pick = |bits32: u64| values[((u128::from(bits32) * n) >> 32) as usize];
    buf.clear();
    let mut sum = 0.0;
    for _ in 0..values.len() / 2 {
        let bits = rng.next_u64();
        for v in [pick(bits & 0xFFFF_FFFF), pick(bits >> 32)] {
            sum += v;
            buf.push(v);
        }
    }
    if values.len() % 2 == 1 {
        let v = pick(rng.next_u64() >> 32);
        sum += v;
        buf.push(v);
    }
    sum / values.len() as f64
}

/// `num / den`, defined when `den` is 0 so that a metric that was 0 on the baseline still compares:
/// 1.0 when both are 0 (nothing changed) and +∞ when only the baseline is 0 (it grew from nothing).
fn safe_ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        if num == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    } else {
        num / den
    }
}

/// The median, reordering `values` (selection is O(n), where a sort would be O(n log n) per resample).
/// The median of an even count is the mean of the two middle values. NaN for an empty slice.
fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (lower, &mut upper_middle, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        upper_middle
    } else {
        // After the selection the lower middle value is the largest of the lower half.
        let lower_middle = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower_middle + upper_middle) / 2.0
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample variance (n − 1), two-pass for accuracy when the spread is small next to the mean.
fn variance(values: &[f64], mean: f64) -> f64 {
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() as f64 - 1.0)
}

/// The 2.5th and 97.5th percentiles of `ratios`, which it reorders. NaNs are dropped rather than allowed
/// to panic or poison the interval; with nothing left, the interval collapses to `fallback`.
fn percentile_interval(ratios: &mut Vec<f64>, fallback: f64) -> [f64; 2] {
    ratios.retain(|r| !r.is_nan());
    if ratios.is_empty() {
        return [fallback, fallback];
    }
    ratios.sort_unstable_by(f64::total_cmp);
    [percentile(ratios, 0.025), percentile(ratios, 0.975)]
}

/// Percentile of sorted values with linear interpolation between closest ranks (numpy's default), written
/// so that infinite values do not produce NaN.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let below = pos.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let frac = pos - below as f64;
    let (lo, hi) = (sorted[below], sorted[above]);
    if frac == 0.0 || lo == hi {
        return lo;
    }
    let value = lo * (1.0 - frac) + hi * frac;
    if value.is_nan() {
        if frac < 0.5 {
            lo
        } else {
            hi
        }
    } else {
        value
    }
}

/// Keeps a p-value in [0, 1] and never NaN (NaN becomes 1.0: no evidence of a difference).
fn finite_p(p: f64) -> f64 {
    if p.is_nan() {
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn s(values: &[f64]) -> Samples {
        Samples::new(values.to_vec()).unwrap()
    }

    fn assert_rel(actual: f64, expected: f64, tol: f64) {
        let rel = ((actual - expected) / expected).abs();
        assert!(rel < tol, "actual {actual}, expected {expected}, relative error {rel}");
    }

    /// Normal draws (Box–Muller) from a fixed seed, so that the synthetic tests are deterministic.
    fn normal_samples(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let u1: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1], so ln is finite
                let u2: f64 = rng.gen();
                mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect()
    }

    // Reference values: scipy 1.17.1, `scipy.stats.ttest_ind(a, b, equal_var=False).pvalue`.
    #[test]
    fn welch_matches_scipy() {
        let cases: [(&[f64], &[f64], f64); 5] = [
            (&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2.5, 3.1, 4.7, 5.2, 6.8, 7.1, 8.0], 0.12049279251446346),
            (&[10.2, 10.5, 9.9, 10.1, 10.3], &[10.9, 11.4, 10.8, 11.9, 11.1, 12.0, 10.7, 11.3], 0.0002843460927764187),
            // One side constant: the degrees of freedom come from the other side alone.
            (&[5.0, 5.0, 5.0, 5.0], &[4.0, 6.5, 5.5, 5.8], 0.45575866721875136),
            (&[1.0, 2.0], &[1.5, 9.0, 4.0], 0.26745954401628047),
            (
                &[0.98, 1.01, 1.03, 0.99, 1.00, 1.02, 0.97, 1.05, 1.01, 0.96],
                &[1.04, 1.07, 1.02, 1.09, 1.06, 1.01, 1.08, 1.05, 1.10, 1.03, 1.06, 1.04],
                0.00031012256077865986,
            ),
        ];
        for (a, b, expected) in cases {
            assert_rel(welch_p_value(a, b), expected, 1e-6);
            assert_rel(welch_p_value(b, a), expected, 1e-6);
        }
    }

    // Reference values: scipy 1.17.1,
    // `scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True).pvalue`.
    #[test]
    fn mann_whitney_matches_scipy() {
        let cases: [(&[f64], &[f64], f64); 4] = [
            // Ties within and across the sides.
            (
                &[1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0],
                &[3.0, 4.0, 5.0, 5.0, 6.0, 6.0, 7.0, 8.0, 9.0],
                0.007490965982002552,
            ),
            (&[1.1, 2.3, 0.7, 3.9, 2.8], &[4.4, 3.2, 5.6, 6.1, 2.9, 7.3], 0.022478873366125265),
            // Only two distinct values: the tie correction matters most here.
            (&[1.0, 1.0, 1.0, 2.0], &[1.0, 2.0, 2.0, 2.0, 2.0], 0.15729920705028516),
            (
                &[0.98, 1.01, 1.03, 0.99, 1.00, 1.02, 0.97, 1.05, 1.01, 0.96],
                &[1.04, 1.07, 1.02, 1.09, 1.06, 1.01, 1.08, 1.05, 1.10, 1.03, 1.06, 1.04],
                0.0011986321152151484,
            ),
        ];
        for (a, b, expected) in cases {
            assert_rel(mann_whitney_p_value(a, b), expected, 1e-6);
            assert_rel(mann_whitney_p_value(b, a), expected, 1e-6);
        }
    }

    #[test]
    fn welch_edge_cases() {
        // Fewer than two samples on a side: no variance, no test.
        assert_eq!(welch_p_value(&[1.0], &[2.0, 3.0, 4.0]), 1.0);
        assert_eq!(welch_p_value(&[1.0, 2.0, 3.0], &[9.0]), 1.0);
        assert_eq!(welch_p_value(&[], &[]), 1.0);
        // Both sides constant.
        assert_eq!(welch_p_value(&[2.0, 2.0, 2.0], &[2.0, 2.0]), 1.0);
        assert_eq!(welch_p_value(&[2.0, 2.0, 2.0], &[3.0, 3.0]), 0.0);
        // Variances so small that their squares underflow must still give a p-value.
        let p = welch_p_value(&[1.0, 1.0 + 1e-200, 1.0], &[1.0 + 2e-200, 1.0, 1.0 + 3e-200]);
        assert!((0.0..=1.0).contains(&p), "{p}");
        // Far apart: p tiny but not NaN and not negative.
        let p = welch_p_value(&[1.0, 1.001, 0.999], &[1000.0, 1000.001, 999.999]);
        assert!((0.0..1e-6).contains(&p), "{p}");
    }

    #[test]
    fn mann_whitney_edge_cases() {
        assert_eq!(mann_whitney_p_value(&[3.0, 3.0, 3.0], &[3.0, 3.0]), 1.0);
        assert_eq!(mann_whitney_p_value(&[], &[1.0]), 1.0);
        // One value a side: the continuity correction brings z to 0.
        assert_eq!(mann_whitney_p_value(&[1.0], &[2.0]), 1.0);
        // Complete separation, the most extreme U there is. Reference: scipy 1.17.1,
        // `mannwhitneyu([1,2,3,4,5], [6,7,8,9,10], alternative="two-sided", method="asymptotic",
        // use_continuity=True).pvalue`.
        let p = mann_whitney_p_value(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_rel(p, 0.012185780355344813, 1e-6);
    }

    #[test]
    fn verdict_table() {
        let t = Thresholds::DEFAULT;
        let v = |p: f64, lo: f64, hi: f64, ratio: f64| verdict(p, [lo, hi], ratio, &t);
        // Not significant, however large the change looks.
        assert_eq!(v(0.05, 1.5, 2.5, 2.0), Verdict::NoChange);
        assert_eq!(v(0.30, 0.98, 1.02, 1.0), Verdict::NoChange);
        assert_eq!(v(f64::NAN, 1.5, 2.5, 2.0), Verdict::NoChange);
        // Significant but the CI reaches into ±2%.
        assert_eq!(v(0.01, 1.01, 1.06, 1.03), Verdict::WithinNoise);
        assert_eq!(v(0.01, 0.95, 0.99, 0.97), Verdict::WithinNoise);
        // Whole CI above +2%, graded by the point change.
        assert_eq!(v(0.01, 1.03, 1.07, 1.05), Verdict::Regressed);
        assert_eq!(v(0.01, 1.10, 1.20, 1.15), Verdict::Warning);
        assert_eq!(v(0.01, 1.20, 1.40, 1.30), Verdict::Failure);
        assert_eq!(v(0.01, 1.03, f64::INFINITY, f64::INFINITY), Verdict::Failure);
        // Whole CI below −2%.
        assert_eq!(v(0.01, 0.85, 0.95, 0.90), Verdict::Improved);
        assert_eq!(v(0.01, 0.10, 0.30, 0.20), Verdict::Improved);

        // At the thresholds exactly (binary fractions, so that `ratio - 1` is exact): comparisons are strict.
        let t = Thresholds { noise: 0.25, warn: 0.5, fail: 1.0, significance: 0.125 };
        assert_eq!(verdict(0.125, [3.0, 4.0], 3.5, &t), Verdict::NoChange);
        assert_eq!(verdict(0.0625, [1.25, 2.0], 1.5, &t), Verdict::WithinNoise);
        assert_eq!(verdict(0.0625, [0.5, 0.75], 0.625, &t), Verdict::WithinNoise);
        assert_eq!(verdict(0.0625, [1.375, 2.0], 1.5, &t), Verdict::Regressed);
        assert_eq!(verdict(0.0625, [1.375, 2.5], 2.0, &t), Verdict::Warning);
        assert_eq!(verdict(0.0625, [1.375, 2.5], 2.25, &t), Verdict::Failure);
        assert_eq!(verdict(0.0625, [0.5, 0.625], 0.5625, &t), Verdict::Improved);
    }

    #[test]
    fn verdict_names_and_regressions() {
        let all = [
            Verdict::Improved,
            Verdict::NoChange,
            Verdict::WithinNoise,
            Verdict::Regressed,
            Verdict::Warning,
            Verdict::Failure,
        ];
        for v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(v.as_str()));
        }
        let regressions: Vec<_> = all.into_iter().filter(|v| v.is_regression()).collect();
        assert_eq!(regressions, [Verdict::Regressed, Verdict::Warning, Verdict::Failure]);
        assert_eq!(Verdict::NoChange.max(Verdict::Failure), Verdict::Failure);
    }

    #[test]
    fn median_by_selection_matches_sorting() {
        assert_eq!(median_in_place(&mut [3.0]), 3.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0]), 2.5);
        assert_eq!(median_in_place(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median_in_place(&mut [7.0, 1.0, 3.0, 5.0]), 4.0);
        assert!(median_in_place(&mut []).is_nan());
        for (seed, n) in [(1, 10), (2, 11), (3, 300), (4, 301)] {
            let mut values = normal_samples(seed, n, 0.0, 1.0);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let expected = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
            assert_eq!(median_in_place(&mut values), expected, "n = {n}");
        }
    }

    #[test]
    fn percentiles_interpolate_and_survive_nan_and_infinity() {
        let mut values: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(percentile_interval(&mut values, 0.0), [2.5, 97.5]);
        let mut with_nan = vec![f64::NAN, 1.0, 2.0, f64::NAN, 3.0];
        let [lo, hi] = percentile_interval(&mut with_nan, 0.0);
        assert!((lo - 1.05).abs() < 1e-12 && (hi - 2.95).abs() < 1e-12, "{lo} {hi}");
        let mut all_nan = vec![f64::NAN; 4];
        assert_eq!(percentile_interval(&mut all_nan, 1.5), [1.5, 1.5]);
        let mut infinite = vec![f64::INFINITY; 10];
        assert_eq!(percentile_interval(&mut infinite, 0.0), [f64::INFINITY, f64::INFINITY]);
        let mut mixed = vec![1.0, 2.0, f64::INFINITY, f64::INFINITY];
        let [lo, hi] = percentile_interval(&mut mixed, 0.0);
        assert!((lo - 1.075).abs() < 1e-12 && hi == f64::INFINITY, "{lo} {hi}");
    }

    #[test]
    fn identical_constant_samples_are_no_change() {
        let c = compare(&s(&[2.0; 8]), &s(&[2.0; 8]), &Thresholds::DEFAULT, 7);
        assert_eq!((c.ratio, c.ci95, c.ratio_of_means, c.ratio_of_means_ci95), (1.0, [1.0, 1.0], 1.0, [1.0, 1.0]));
        assert_eq!((c.p_value, c.mann_whitney_p), (1.0, 1.0));
        assert_eq!(c.verdict, Verdict::NoChange);
    }

    #[test]
    fn constant_samples_that_differ_are_a_certain_change() {
        let c = compare(&s(&[1.0; 5]), &s(&[2.0; 6]), &Thresholds::DEFAULT, 7);
        assert_eq!((c.ratio, c.ci95, c.ratio_of_means_ci95), (2.0, [2.0, 2.0], [2.0, 2.0]));
        assert_eq!(c.p_value, 0.0);
        assert_eq!(c.verdict, Verdict::Failure);
        let c = compare(&s(&[2.0; 5]), &s(&[1.0; 6]), &Thresholds::DEFAULT, 7);
        assert_eq!(c.verdict, Verdict::Improved);
    }

    #[test]
    fn tiny_samples_are_never_significant_by_welch() {
        let c = compare(&s(&[1.0]), &s(&[5.0]), &Thresholds::DEFAULT, 1);
        assert_eq!((c.ratio, c.ci95), (5.0, [5.0, 5.0]));
        assert_eq!((c.p_value, c.mann_whitney_p), (1.0, 1.0));
        assert_eq!(c.verdict, Verdict::NoChange);
        let c = compare(&s(&[1.0, 1.1]), &s(&[3.0]), &Thresholds::DEFAULT, 1);
        assert_eq!(c.p_value, 1.0);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert!(c.ci95.iter().all(|v| v.is_finite()), "{:?}", c.ci95);
    }

    #[test]
    fn zero_baselines_give_defined_ratios() {
        let c = compare(&s(&[0.0; 4]), &s(&[0.0; 3]), &Thresholds::DEFAULT, 3);
        assert_eq!((c.ratio, c.ci95, c.ratio_of_means, c.ratio_of_means_ci95), (1.0, [1.0, 1.0], 1.0, [1.0, 1.0]));
        assert_eq!(c.verdict, Verdict::NoChange);

        // The baseline median is 0 but its mean is not; resamples mix zero and non-zero medians.
        let c = compare(&s(&[0.0, 0.0, 0.0, 1.0]), &s(&[1.0; 4]), &Thresholds::DEFAULT, 3);
        assert_eq!((c.baseline_median, c.ratio), (0.0, f64::INFINITY));
        assert_eq!(c.ratio_of_means, 4.0);
        assert!(c.ci95[0] >= 1.0 && c.ci95[1] == f64::INFINITY, "{:?}", c.ci95);
        assert!(c.ratio_of_means_ci95[1] == f64::INFINITY, "a resample of all zeros: {:?}", c.ratio_of_means_ci95);
        let all = [c.ci95, c.ratio_of_means_ci95].concat();
        assert!(all.iter().all(|v| !v.is_nan()) && !c.p_value.is_nan() && !c.mann_whitney_p.is_nan());
    }

    #[test]
    fn three_times_slower_is_a_failure() {
        let base = normal_samples(11, 50, 1.0, 0.03);
        let cand = normal_samples(12, 50, 3.0, 0.09);
        let c = compare(&s(&base), &s(&cand), &Thresholds::DEFAULT, 42);
        assert_eq!(c.verdict, Verdict::Failure, "{c:?}");
        assert!(c.ci95[0] > 1.0 && c.ci95[0] <= c.ratio && c.ratio <= c.ci95[1], "{c:?}");
        assert!((c.ratio - 3.0).abs() < 0.1 && (c.ratio_of_means - 3.0).abs() < 0.1, "{c:?}");
        assert!(c.ratio_of_means_ci95[0] > 1.0 && c.ratio_of_means_ci95[0] <= c.ratio_of_means, "{c:?}");
        assert!(c.p_value < 1e-10 && c.mann_whitney_p < 1e-10, "{c:?}");
    }

    #[test]
    fn graded_slowdowns() {
        let base = normal_samples(21, 50, 1.0, 0.03);
        for (factor, expected) in [(1.06, Verdict::Regressed), (1.17, Verdict::Warning), (1.40, Verdict::Failure)] {
            let cand = normal_samples(22, 50, factor, 0.03 * factor);
            let c = compare(&s(&base), &s(&cand), &Thresholds::DEFAULT, 5);
            assert_eq!(c.verdict, expected, "{factor}: {c:?}");
        }
    }

    #[test]
    fn same_distribution_is_not_a_regression() {
        for seed in 0..20 {
            let base = normal_samples(100 + seed, 50, 1.0, 0.03);
            let cand = normal_samples(200 + seed, 50, 1.0, 0.03);
            let c = compare(&s(&base), &s(&cand), &Thresholds::DEFAULT, seed);
            assert!(matches!(c.verdict, Verdict::NoChange | Verdict::WithinNoise), "seed {seed}: {c:?}");
            assert!(c.ci95[0] < 1.0 && c.ci95[1] > 1.0 || c.p_value < 0.05, "seed {seed}: {c:?}");
        }
    }

    #[test]
    fn ten_percent_faster_is_improved() {
        let base = normal_samples(31, 50, 1.0, 0.03);
        let cand = normal_samples(32, 50, 0.9, 0.027);
        let c = compare(&s(&base), &s(&cand), &Thresholds::DEFAULT, 9);
        assert_eq!(c.verdict, Verdict::Improved, "{c:?}");
        assert!(c.ci95[1] < 0.98 && (c.ratio - 0.9).abs() < 0.03, "{c:?}");
    }

    #[test]
    fn bootstrap_is_reproducible_by_seed() {
        let base = s(&normal_samples(41, 40, 1.0, 0.05));
        let cand = s(&normal_samples(42, 35, 1.02, 0.05));
        let a = compare(&base, &cand, &Thresholds::DEFAULT, 1234);
        let b = compare(&base, &cand, &Thresholds::DEFAULT, 1234);
        assert_eq!(a, b);
        let c = compare(&base, &cand, &Thresholds::DEFAULT, 4321);
        assert_ne!(a.ci95, c.ci95, "another seed draws other resamples");
        assert_eq!((a.ratio, a.p_value, a.mann_whitney_p), (c.ratio, c.p_value, c.mann_whitney_p));
    }

    #[test]
    fn comparison_round_trips_through_json() {
        let c = compare(&s(&[1.0, 1.1, 0.9, 1.05]), &s(&[1.2, 1.3, 1.25]), &Thresholds::DEFAULT, 0);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["verdict"], "warning", "{json}");
        assert_eq!(json["ci95"].as_array().map(Vec::len), Some(2), "{json}");
        // serde_json may round the last bit of a float, so the values are compared with a tolerance.
        let back: MetricComparison = serde_json::from_value(json).unwrap();
        let numbers = |m: &MetricComparison| {
            [m.baseline_median, m.candidate_median, m.ratio, m.ratio_of_means, m.p_value, m.mann_whitney_p]
                .into_iter()
                .chain(m.ci95)
                .chain(m.ratio_of_means_ci95)
                .collect::<Vec<_>>()
        };
        for (x, y) in numbers(&back).into_iter().zip(numbers(&c)) {
            assert!((x - y).abs() <= 1e-15 * y.abs(), "{x} {y}");
        }
        assert_eq!(back.verdict, c.verdict);
        let t: Thresholds =
            serde_json::from_str(r#"{"noise":0.01,"warn":0.05,"fail":0.2,"significance":0.01}"#).unwrap();
        assert_eq!(t, Thresholds { noise: 0.01, warn: 0.05, fail: 0.2, significance: 0.01 });
    }
}
