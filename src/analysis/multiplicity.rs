//! Many rows judged at once: a comparison of 100 rows at α = 0.05 each flags about five of them on
//! identical code. The rows' p-values are adjusted as one family, so that the gate's error holds
//! across the whole comparison, not per row.
//!
//! Two adjustments: Holm's (the family-wise error: the chance that any row is flagged falsely is
//! at most α, whatever the other rows do) and Benjamini–Hochberg's (the false discovery rate: of
//! the rows flagged, at most a share α is expected to be false; when no row changed, that is again
//! the chance of any flag). Each is applied per direction of change — the rows that got worse form
//! one family, the rows that got better another — on one-sided p-values: rows that improved do not
//! make a chance regression easier to flag, and one-sided tests of positively related rows (one
//! machine, one server) are what Benjamini–Hochberg is proven for. A row's adjusted p-value is
//! twice its one-sided adjusted value, so that it reads on the same scale as the two-sided
//! p-value it replaces.

use crate::results::{Better, ComparisonRow, Verdict};

pub use crate::results::Adjustment as Method;

impl Method {
    /// `bh`, `holm`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Bh => "bh",
            Method::Holm => "holm",
            Method::None => "none",
        }
    }

    /// The name for people.
    pub fn name(self) -> &'static str {
        match self {
            Method::Bh => "Benjamini–Hochberg",
            Method::Holm => "Holm",
            Method::None => "no adjustment",
        }
    }

    /// The adjusted p-values of a family, in the order given.
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        match self {
            Method::Bh => benjamini_hochberg(p),
            Method::Holm => holm(p),
            Method::None => p.to_vec(),
        }
    }
}

/// Holm's step-down adjusted p-values: the i-th smallest of m is multiplied by m − i + 1, made
/// non-decreasing in that order, and capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let order = ascending(p);
    let mut out = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg's step-up adjusted p-values: the i-th smallest of m is multiplied by m / i,
/// made non-increasing from the largest down, and capped at 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let order = ascending(p);
    let mut out = vec![1.0; m];
    let mut running: f64 = 1.0;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64).min(1.0);
        out[i] = running;
    }
    out
}

/// Indices of `p` from the smallest value up; NaN counts as 1 (no evidence).
fn ascending(p: &[f64]) -> Vec<usize> {
    let key = |x: f64| if x.is_nan() { 1.0 } else { x };
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| key(p[a]).total_cmp(&key(p[b])));
    order
}

/// Whether a row's change points the worse way for its metric (a time that rose, a rate that
/// fell; for a metric with no direction, a rise).
fn worse_way(ratio: f64, better: Better) -> bool {
    match better {
        Better::Higher => ratio < 1.0,
        Better::Lower | Better::Neither => ratio > 1.0,
    }
}

/// One row of a family: its two-sided p-value, the way it moved and its significance level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    /// The two-sided p-value of the row's test.
    pub p: f64,
    /// Whether its change points the worse way for its metric.
    pub worse: bool,
}

impl Member {
    /// A row's member, from its ratio (`None`: no change either way) and its metric's direction.
    pub fn new(p: f64, ratio: Option<f64>, better: Better) -> Member {
        Member { p, worse: ratio.is_some_and(|r| worse_way(r, better)) }
    }

    /// The one-sided p-value for a change in the direction `worse` (true: the worse way).
    fn one_sided(&self, worse: bool) -> f64 {
        let half = (self.p / 2.0).clamp(0.0, 0.5);
        if self.worse == worse {
            half
        } else {
            1.0 - half
        }
    }
}

/// The adjusted two-sided p-values of a family of rows: each direction adjusted on its own
/// one-sided p-values, and each row given twice the adjusted value of the direction it moved in
/// (at most 1).
pub fn adjust_family(members: &[Member], method: Method) -> Vec<f64> {
    if method == Method::None {
        return members.iter().map(|m| m.p).collect();
    }
    let per_direction = |worse: bool| -> Vec<f64> {
        let one_sided: Vec<f64> = members.iter().map(|m| m.one_sided(worse)).collect();
        method.adjust(&one_sided)
    };
    let (worse, better) = (per_direction(true), per_direction(false));
    members.iter().enumerate().map(|(i, m)| (2.0 * if m.worse { worse[i] } else { better[i] }).min(1.0)).collect()
}

/// A row's verdict once its adjusted p-value is known: a change whose adjusted p-value is not
/// below the row's significance level is no change; any other verdict stands (it was reached on a
/// p-value at least as small).
pub fn adjusted_verdict(verdict: Verdict, adjusted_p: f64, significance: f64) -> Verdict {
    if adjusted_p.is_nan() || adjusted_p >= significance {
        match verdict {
            Verdict::Improved | Verdict::Changed | Verdict::Regressed | Verdict::Warning | Verdict::Failure => {
                Verdict::NoChange
            }
            // Within noise is itself "no change that matters": leave it as measured.
            v => v,
        }
    } else {
        verdict
    }
}

/// Applies the family adjustment to comparison rows: the gating rows with a p-value form one
/// family, the explaining rows another (so that explaining metrics do not dilute the gate's);
/// each row gets its adjusted p-value and the verdict it leads to. `better` gives a row's metric
/// direction and `significance` its level.
pub fn apply(
    rows: &mut [ComparisonRow],
    method: Method,
    better: &dyn Fn(&ComparisonRow) -> Better,
    significance: &dyn Fn(&ComparisonRow) -> f64,
) -> [usize; 2] {
    let mut sizes = [0; 2];
    for (slot, gating) in [true, false].into_iter().enumerate() {
        let family: Vec<usize> =
            (0..rows.len()).filter(|&i| rows[i].gating == gating && rows[i].deciding_p().is_some()).collect();
        sizes[slot] = family.len();
        let members: Vec<Member> = family
            .iter()
            .map(|&i| Member::new(rows[i].deciding_p().unwrap_or(1.0), rows[i].ratio, better(&rows[i])))
            .collect();
        let adjusted = adjust_family(&members, method);
        for (&i, p) in family.iter().zip(adjusted) {
            let alpha = significance(&rows[i]);
            let row = &mut rows[i];
            row.p_adjusted = Some(p);
            row.verdict = adjusted_verdict(row.verdict, p, alpha);
        }
    }
    sizes
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    // Reference values: statsmodels 0.15.0,
    // `multipletests([0.01, 0.04, 0.03, 0.005, 0.5], method="holm" | "fdr_bh")[1]`.
    #[test]
    fn holm_and_bh_match_r() {
        let p = [0.01, 0.04, 0.03, 0.005, 0.5];
        assert!(close(&holm(&p), &[0.04, 0.09, 0.09, 0.025, 0.5]), "{:?}", holm(&p));
        assert!(close(&benjamini_hochberg(&p), &[0.025, 0.05, 0.05, 0.025, 0.5]), "{:?}", benjamini_hochberg(&p));
        assert!(holm(&[]).is_empty() && benjamini_hochberg(&[]).is_empty());
        assert_eq!(holm(&[0.3]), [0.3]);
        assert_eq!(benjamini_hochberg(&[f64::NAN, 0.01]), [1.0, 0.02]);
    }

    /// 100 null rows with uniform p-values, moving either way at random, 2000 times over: how often
    /// any row is significant at 0.05 before and after adjustment.
    fn any_flag_rate(method: Method, seed: u64) -> f64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let trials = 2000;
        let flagged = (0..trials)
            .filter(|_| {
                let members: Vec<Member> =
                    (0..100).map(|_| Member { p: rng.gen::<f64>(), worse: rng.gen::<bool>() }).collect();
                adjust_family(&members, method).iter().any(|p| *p < 0.05)
            })
            .count();
        flagged as f64 / trials as f64
    }

    #[test]
    fn a_plan_of_100_null_rows_flags_one_compare_in_twenty_after_adjustment_and_nearly_every_one_before() {
        let raw = any_flag_rate(Method::None, 1);
        // 1 − 0.95¹⁰⁰ = 0.994.
        assert!(raw > 0.98, "without adjustment {raw}");
        for method in [Method::Bh, Method::Holm] {
            let rate = any_flag_rate(method, 2);
            // At most α: 100 of 2000 at the limit, with room for chance (sd ≈ 10).
            assert!(rate <= 0.065, "{method:?}: {rate}");
            assert!(rate >= 0.02, "{method:?} is not that conservative: {rate}");
        }
    }

    #[test]
    fn real_changes_among_null_rows_are_still_found_and_bh_finds_more_of_many() {
        let mut rng = StdRng::seed_from_u64(3);
        // 80 null rows and 20 that got worse with p = 0.0001 … 0.0039: each alone would be lost
        // among 100 (0.0039 × 100 > 0.05), together they stand out.
        let mut members: Vec<Member> =
            (0..80).map(|_| Member { p: rng.gen::<f64>(), worse: rng.gen::<bool>() }).collect();
        members.extend((0..20).map(|i| Member { p: 0.0001 + 0.0002 * f64::from(i), worse: true }));
        let found = |method| adjust_family(&members, method)[80..].iter().filter(|p| **p < 0.05).count();
        let (bh, holm) = (found(Method::Bh), found(Method::Holm));
        assert!(bh == 20, "BH found {bh} of 20");
        assert!(holm < bh && holm >= 1, "Holm found {holm}, BH {bh}");
    }

    #[test]
    fn improvements_do_not_loosen_the_regression_family() {
        // 50 rows that improved with tiny p-values and one row that got worse at p = 0.02.
        let mut members: Vec<Member> = (0..50).map(|_| Member { p: 1e-6, worse: false }).collect();
        members.push(Member { p: 0.02, worse: true });
        members.extend((0..49).map(|_| Member { p: 0.8, worse: true }));
        let adjusted = adjust_family(&members, Method::Bh);
        assert!(adjusted[..50].iter().all(|p| *p < 0.05), "the improvements stand");
        // One-sided 0.01 among 100 worse-way p-values: 0.01 × 100 / 1 = 1, twice that capped at 1.
        assert!(adjusted[50] >= 0.05, "a lone 0.02 among 100 rows is chance: {}", adjusted[50]);
        // Two-sided BH over all rows at once would have flagged it: 0.02 × 100 / 51 < 0.05.
        assert!(benjamini_hochberg(&members.iter().map(|m| m.p).collect::<Vec<_>>())[50] < 0.05);
    }

    #[test]
    fn verdicts_above_the_adjusted_level_become_no_change() {
        assert_eq!(adjusted_verdict(Verdict::Failure, 0.2, 0.05), Verdict::NoChange);
        assert_eq!(adjusted_verdict(Verdict::Improved, 0.05, 0.05), Verdict::NoChange);
        assert_eq!(adjusted_verdict(Verdict::Failure, 0.01, 0.05), Verdict::Failure);
        assert_eq!(adjusted_verdict(Verdict::WithinNoise, 0.9, 0.05), Verdict::WithinNoise);
    }
}
