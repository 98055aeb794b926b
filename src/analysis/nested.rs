//! Two sides whose runs are nested in processes (a suite row's rounds against fresh servers,
//! block by block): the process is the unit. Each process contributes the mean of its rounds, and
//! the sides are compared on those means — block by block when both sides ran the same blocks
//! interleaved (a paired t-test on the blocks' log ratios: what the machine did during a block
//! hits both sides and cancels), else as two groups (Welch's t-test on the processes' log means).
//! With a handful of processes the t distribution's few degrees of freedom widen the interval as
//! much as the data demand; the rounds within a process only make its mean steadier.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::stats::summary::{mean, variance};

/// One side's processes: their numbers and the mean of the metric over each one's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Units {
    /// The process numbers, ascending.
    pub ids: Vec<u32>,
    /// The mean value over each process's runs, in the order of `ids`.
    pub means: Vec<f64>,
}

impl Units {
    /// Groups `values` by the process each ran against; `None` when the lengths differ or there
    /// are fewer than two processes.
    pub fn new(values: &[f64], processes: &[u32]) -> Option<Units> {
        if values.len() != processes.len() {
            return None;
        }
        let mut ids: Vec<u32> = processes.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() < 2 {
            return None;
        }
        let means = ids
            .iter()
            .map(|id| {
                let mine: Vec<f64> = values.iter().zip(processes).filter(|(_, p)| *p == id).map(|(v, _)| *v).collect();
                mean(&mine)
            })
            .collect();
        Some(Units { ids, means })
    }

    fn positive(&self) -> bool {
        self.means.iter().all(|m| m.is_finite() && *m > 0.0)
    }
}

/// Two sides compared process by process.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedComparison {
    /// Candidate / baseline: the geometric mean of the blocks' ratios (paired), the ratio of the
    /// processes' geometric means (two groups), or the ratio of means when a mean is not positive.
    pub ratio: f64,
    /// Its 95% interval from Student's t.
    pub ci95: [f64; 2],
    /// The two-sided p-value of the t-test.
    pub p: f64,
    /// Degrees of freedom of the test.
    pub df: f64,
    /// The standard error of the compared difference (of log values when `log`).
    pub se: f64,
    /// Whether the test was on log values (ratios) rather than on the values.
    pub log: bool,
    /// Whether the sides were paired block by block.
    pub paired: bool,
    /// Processes per side (baseline, candidate).
    pub processes: [usize; 2],
    /// The mean of the processes' means, per side (baseline, candidate).
    pub means: [f64; 2],
}

/// Compares the candidate's processes with the baseline's: paired when both ran the same blocks.
pub fn compare(base: &Units, cand: &Units) -> NestedComparison {
    let log = base.positive() && cand.positive();
    let scale = |u: &Units| -> Vec<f64> { u.means.iter().map(|m| if log { m.ln() } else { *m }).collect() };
    let (b, c) = (scale(base), scale(cand));
    let paired = base.ids == cand.ids;
    let (diff, se, df) = if paired {
        let d: Vec<f64> = c.iter().zip(&b).map(|(c, b)| c - b).collect();
        let m = mean(&d);
        (m, (variance(&d, m) / d.len() as f64).sqrt(), (d.len() - 1) as f64)
    } else {
        let (mb, mc) = (mean(&b), mean(&c));
        let (vb, vc) = (variance(&b, mb) / b.len() as f64, variance(&c, mc) / c.len() as f64);
        let df = if vb + vc > 0.0 {
            (vb + vc).powi(2) / (vb * vb / (b.len() - 1) as f64 + vc * vc / (c.len() - 1) as f64)
        } else {
            (b.len() + c.len() - 2) as f64
        };
        (mc - mb, (vb + vc).sqrt(), df)
    };
    let means = [mean(&base.means), mean(&cand.means)];
    let (p, half) = t_test(diff, se, df);
    let (ratio, ci95) = if log {
        (diff.exp(), [(diff - half).exp(), (diff + half).exp()])
    } else if means[0] > 0.0 {
        (means[1] / means[0], [1.0 + (diff - half) / means[0], 1.0 + (diff + half) / means[0]])
    } else {
        let r = if means[1] == 0.0 { 1.0 } else { f64::INFINITY };
        (r, [r, r])
    };
    NestedComparison { ratio, ci95, p, df, se, log, paired, processes: [base.ids.len(), cand.ids.len()], means }
}

/// The two-sided p-value of `diff` with standard error `se` on `df` degrees of freedom, and the
/// half-width of its 95% interval. A zero standard error is certainty: p is 0 for a difference
/// and 1 for none.
fn t_test(diff: f64, se: f64, df: f64) -> (f64, f64) {
    if se.is_nan() || se <= 0.0 || se.is_infinite() {
        return (if diff == 0.0 { 1.0 } else { 0.0 }, 0.0);
    }
    match StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(t) => ((2.0 * t.sf((diff / se).abs())).clamp(0.0, 1.0), t.inverse_cdf(0.975) * se),
        Err(_) => (1.0, f64::INFINITY),
    }
}

/// The quantile of Student's t with `df` degrees of freedom (the normal's for many).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df.max(1.0)).map_or(f64::INFINITY, |t| t.inverse_cdf(p))
}

/// The smallest change (a fraction) that a t-test of this standard error (of log values) on `df`
/// degrees of freedom detects at two-sided level `alpha` with power `power`.
pub fn detectable(se: f64, df: f64, alpha: f64, power: f64) -> f64 {
    ((t_quantile(1.0 - alpha / 2.0, df) + t_quantile(power, df)) * se).exp() - 1.0
}

/// The processes per side that would make a comparison whose `processes` detect `detectable`
/// detect `target` instead (the standard error falls with their square root; the degrees of
/// freedom are taken as they are, so this is a floor).
pub fn processes_to_see(processes: usize, detectable: f64, target: f64) -> u64 {
    crate::stats::power::runs_to_see(processes as u64, detectable, target)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::stats::standard_normal as normal;

    #[test]
    fn units_are_process_means() {
        let u = Units::new(&[1.0, 3.0, 10.0, 20.0, 5.0], &[0, 0, 1, 1, 2]).unwrap();
        assert_eq!(u.ids, [0, 1, 2]);
        assert_eq!(u.means, [2.0, 15.0, 5.0]);
        assert!(Units::new(&[1.0, 2.0], &[0, 0]).is_none(), "one process is not a sample");
        assert!(Units::new(&[1.0, 2.0], &[0]).is_none());
    }

    // Reference values: scipy 1.17.1, `scipy.stats.ttest_rel(np.log(c), np.log(b))` and
    // `ttest_ind(np.log(c), np.log(b), equal_var=False)`.
    #[test]
    fn paired_blocks_and_two_groups() {
        let base = Units { ids: vec![0, 1, 2, 3], means: vec![100.0, 120.0, 90.0, 110.0] };
        let cand = Units { ids: vec![0, 1, 2, 3], means: vec![90.0, 115.0, 80.0, 100.0] };
        let paired = compare(&base, &cand);
        assert!(paired.paired && paired.log && paired.df == 3.0);
        let d: [f64; 4] = [0.9f64.ln(), (115.0f64 / 120.0).ln(), (80.0f64 / 90.0).ln(), (100.0f64 / 110.0).ln()];
        let m = d.iter().sum::<f64>() / 4.0;
        assert!((paired.ratio - m.exp()).abs() < 1e-12);
        assert!((paired.p - 0.012_110_637_606).abs() < 1e-9, "{paired:?}");
        assert!(paired.ci95[0] < paired.ratio && paired.ratio < paired.ci95[1] && paired.ci95[1] < 1.0);
        // The same means as two groups: the block structure is gone and the spread between
        // blocks swamps the difference.
        let other = Units { ids: vec![4, 5, 6, 7], ..cand.clone() };
        let groups = compare(&base, &other);
        assert!(!groups.paired && (groups.p - 0.398_525_037_527).abs() < 1e-9, "{groups:?}");
    }

    #[test]
    fn zeros_compare_on_the_values() {
        let base = Units { ids: vec![0, 1, 2], means: vec![0.0, 1.0, 0.0] };
        let cand = Units { ids: vec![0, 1, 2], means: vec![2.0, 3.5, 2.5] };
        let c = compare(&base, &cand);
        // Differences 2, 2.5, 2.5: t = 14 on 2 degrees of freedom.
        assert!(!c.log && (c.ratio - 8.0).abs() < 1e-9 && (0.001..0.01).contains(&c.p), "{c:?}");
        assert!(c.ci95[0] > 1.0, "{c:?}");
        let none = compare(&Units { means: vec![0.0; 3], ..base.clone() }, &Units { means: vec![0.0; 3], ..base });
        assert_eq!((none.ratio, none.p), (1.0, 1.0));
    }

    /// Intervals from processes cover the truth of an A/A comparison 95% of the time when each
    /// process has an effect of its own, where intervals from the runs do not.
    #[test]
    fn process_intervals_cover_where_run_intervals_do_not() {
        let mut rng = StdRng::seed_from_u64(5);
        let (trials, blocks, rounds) = (2000, 6, 3);
        let mut covered = 0;
        for _ in 0..trials {
            let side = |rng: &mut StdRng| -> (Vec<f64>, Vec<u32>) {
                let mut values = Vec::new();
                let mut ids = Vec::new();
                for b in 0..blocks {
                    let process = 0.10 * normal(rng);
                    for _ in 0..rounds {
                        values.push(1000.0 * (process + 0.03 * normal(rng)).exp());
                        ids.push(b);
                    }
                }
                (values, ids)
            };
            let (a, ia) = side(&mut rng);
            let (b, ib) = side(&mut rng);
            let c = compare(&Units::new(&a, &ia).unwrap(), &Units::new(&b, &ib).unwrap());
            covered += usize::from(c.ci95[0] <= 1.0 && 1.0 <= c.ci95[1]);
        }
        let rate = covered as f64 / trials as f64;
        assert!((0.93..0.97).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn detectable_grows_with_fewer_degrees_of_freedom_and_a_smaller_level() {
        let many = detectable(0.05, 1000.0, 0.05, 0.95);
        // (1.96 + 1.645) × 5% on the log scale.
        assert!((many - (0.05f64 * 3.605).exp_m1()).abs() < 0.002, "{many}");
        assert!(detectable(0.05, 4.0, 0.05, 0.95) > many * 1.3);
        assert!(detectable(0.05, 1000.0, 0.05 / 60.0, 0.95) > many * 1.3);
        // 5 × (ln 1.2 / ln 1.1)² = 18.3.
        assert_eq!(processes_to_see(5, 0.2, 0.1), 19);
    }
}
