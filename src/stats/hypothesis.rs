//! Hypothesis tests on two samples: Welch's t-test (means) and the Mann-Whitney U test
//! (medians, and any distribution shape). Each returns a two-sided p-value that is never NaN.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::summary::{mean, variance};

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

    fn assert_rel(actual: f64, expected: f64, tol: f64) {
        let rel = ((actual - expected) / expected).abs();
        assert!(rel < tol, "actual {actual}, expected {expected}, relative error {rel}");
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
}
