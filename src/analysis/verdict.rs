//! The verdict policy, in the metric's direction: criterion's rule on the confidence interval of
//! the ratio candidate / baseline, read so that a throughput that rose is an improvement and a
//! latency that rose is a regression.

use crate::results::{Better, ComparisonRow, Thresholds, Verdict};

/// The verdict from a p-value and the CI of the ratio candidate / baseline.
///
/// A p-value at or above the significance level is [`Verdict::NoChange`]. Otherwise, with the
/// change counted in the worse direction (`ratio − 1` when lower is better, `1 − ratio` when
/// higher is better): a CI whose whole extent is worse by more than `noise` is a regression,
/// graded by the point change against `fail` and `warn`; a CI wholly better by more than `noise`
/// is [`Verdict::Improved`]; anything else is [`Verdict::WithinNoise`]. Requiring the whole CI past
/// the noise threshold keeps small but "significant" shifts (common with many runs) from being
/// reported as changes. A metric with no better direction that changed is [`Verdict::Changed`].
pub fn verdict(p_value: f64, ci95: [f64; 2], ratio: f64, thresholds: &Thresholds, better: Better) -> Verdict {
    // A NaN p-value is no evidence of a difference.
    if p_value.is_nan() || p_value >= thresholds.significance {
        return Verdict::NoChange;
    }
    let (lo, hi) = (ci95[0] - 1.0, ci95[1] - 1.0);
    let rose = lo > thresholds.noise;
    let fell = hi < -thresholds.noise;
    let (worse, better_, worse_by) = match better {
        Better::Lower => (rose, fell, ratio - 1.0),
        Better::Higher => (fell, rose, 1.0 - ratio),
        Better::Neither => {
            return if rose || fell { Verdict::Changed } else { Verdict::WithinNoise };
        }
    };
    if worse {
        if worse_by > thresholds.fail {
            Verdict::Failure
        } else if worse_by > thresholds.warn {
            Verdict::Warning
        } else {
            Verdict::Regressed
        }
    } else if better_ {
        Verdict::Improved
    } else {
        Verdict::WithinNoise
    }
}

/// The verdict of a value compared exactly (a fact): equal is no change; worse in the metric's
/// direction is a regression — a failure when the metric gates (a forbidden object that appears);
/// better is an improvement.
pub fn exact(baseline: f64, candidate: f64, better: Better, gates: bool) -> Verdict {
    if candidate == baseline {
        return Verdict::NoChange;
    }
    let worse = match better {
        Better::Lower => candidate > baseline,
        Better::Higher => candidate < baseline,
        Better::Neither => return Verdict::Changed,
    };
    match (worse, gates) {
        (true, true) => Verdict::Failure,
        (true, false) => Verdict::Regressed,
        (false, _) => Verdict::Improved,
    }
}

/// The verdict of a value compared exactly up to a relative `tolerance`: within it, no change
/// (or within noise when it moved at all); beyond it, worse is graded like a measured change
/// (regressed, then warning past `warn`, failure past `fail`) and better is an improvement.
pub fn exact_within(baseline: f64, candidate: f64, tolerance: f64, thresholds: &Thresholds, better: Better) -> Verdict {
    if candidate == baseline {
        return Verdict::NoChange;
    }
    if baseline == 0.0 {
        return exact(baseline, candidate, better, true);
    }
    let ratio = candidate / baseline;
    if (ratio - 1.0).abs() <= tolerance {
        return Verdict::WithinNoise;
    }
    let worse_by = match better {
        Better::Lower => ratio - 1.0,
        Better::Higher => 1.0 - ratio,
        Better::Neither => return Verdict::Changed,
    };
    if worse_by <= 0.0 {
        Verdict::Improved
    } else if worse_by > thresholds.fail {
        Verdict::Failure
    } else if worse_by > thresholds.warn {
        Verdict::Warning
    } else {
        Verdict::Regressed
    }
}

/// A metric that does not gate explains a change and does not grade it: its verdict stops at
/// `regressed` (the words *warning* and *failure* belong to what can fail the gate).
pub fn explaining(verdict: Verdict, gating: bool) -> Verdict {
    match verdict {
        Verdict::Warning | Verdict::Failure if !gating => Verdict::Regressed,
        v => v,
    }
}

/// The most severe verdict among the gating rows, if any row gates (`Verdict` is ordered from
/// improved to failure).
pub fn worst_gating(rows: &[ComparisonRow]) -> Option<Verdict> {
    rows.iter().filter(|r| r.gating).map(|r| r.verdict).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_is_better_table() {
        let t = Thresholds::DEFAULT;
        let v = |p: f64, lo: f64, hi: f64, ratio: f64| verdict(p, [lo, hi], ratio, &t, Better::Lower);
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

        // At the thresholds exactly (binary fractions, so that `ratio - 1` is exact): comparisons are strict.
        let t = Thresholds { noise: 0.25, warn: 0.5, fail: 1.0, significance: 0.125 };
        let v = |p: f64, ci: [f64; 2], ratio: f64| verdict(p, ci, ratio, &t, Better::Lower);
        assert_eq!(v(0.125, [3.0, 4.0], 3.5), Verdict::NoChange);
        assert_eq!(v(0.0625, [1.25, 2.0], 1.5), Verdict::WithinNoise);
        assert_eq!(v(0.0625, [0.5, 0.75], 0.625), Verdict::WithinNoise);
        assert_eq!(v(0.0625, [1.375, 2.0], 1.5), Verdict::Regressed);
        assert_eq!(v(0.0625, [1.375, 2.5], 2.0), Verdict::Warning);
        assert_eq!(v(0.0625, [1.375, 2.5], 2.25), Verdict::Failure);
        assert_eq!(v(0.0625, [0.5, 0.625], 0.5625), Verdict::Improved);
    }

    #[test]
    fn an_exact_count_within_its_tolerance_is_the_same_and_beyond_it_is_graded() {
        let t = Thresholds::DEFAULT;
        let v = |b: f64, c: f64| exact_within(b, c, 0.005, &t, Better::Lower);
        assert_eq!(v(1000.0, 1000.0), Verdict::NoChange);
        assert_eq!(v(1000.0, 1004.0), Verdict::WithinNoise);
        assert_eq!(v(1000.0, 1030.0), Verdict::Regressed);
        assert_eq!(v(1000.0, 1150.0), Verdict::Warning);
        assert_eq!(v(1000.0, 1300.0), Verdict::Failure);
        assert_eq!(v(1000.0, 970.0), Verdict::Improved);
    }

    #[test]
    fn higher_is_better_reads_the_other_way() {
        let t = Thresholds::DEFAULT;
        let v = |lo: f64, hi: f64, ratio: f64| verdict(0.001, [lo, hi], ratio, &t, Better::Higher);
        // A throughput that rose is an improvement, not a failure.
        assert_eq!(v(1.20, 1.40, 1.30), Verdict::Improved);
        // One that fell by 30% is a failure; by 15% a warning; by 5% a regression.
        assert_eq!(v(0.65, 0.75, 0.70), Verdict::Failure);
        assert_eq!(v(0.80, 0.90, 0.85), Verdict::Warning);
        assert_eq!(v(0.93, 0.97, 0.95), Verdict::Regressed);
        assert_eq!(v(0.97, 1.03, 1.00), Verdict::WithinNoise);
    }

    #[test]
    fn no_direction_only_changes() {
        let t = Thresholds::DEFAULT;
        assert_eq!(verdict(0.001, [1.2, 1.4], 1.3, &t, Better::Neither), Verdict::Changed);
        assert_eq!(verdict(0.001, [0.6, 0.8], 0.7, &t, Better::Neither), Verdict::Changed);
        assert_eq!(verdict(0.5, [0.6, 0.8], 0.7, &t, Better::Neither), Verdict::NoChange);
    }

    #[test]
    fn exact_facts() {
        assert_eq!(exact(3.0, 3.0, Better::Lower, false), Verdict::NoChange);
        assert_eq!(exact(3.0, 4.0, Better::Lower, false), Verdict::Regressed);
        assert_eq!(exact(0.0, 1.0, Better::Lower, true), Verdict::Failure);
        assert_eq!(exact(4.0, 3.0, Better::Lower, true), Verdict::Improved);
        assert_eq!(exact(4.0, 3.0, Better::Higher, false), Verdict::Regressed);
        assert_eq!(exact(4.0, 3.0, Better::Neither, false), Verdict::Changed);
    }

    #[test]
    fn verdicts_are_ordered_and_named_as_in_the_json() {
        let all = [
            Verdict::Improved,
            Verdict::NoChange,
            Verdict::WithinNoise,
            Verdict::Changed,
            Verdict::Regressed,
            Verdict::Warning,
            Verdict::Failure,
        ];
        for v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(v.as_str()));
        }
        let regressions: Vec<_> = all.into_iter().filter(|v| v.is_regression()).collect();
        assert_eq!(regressions, [Verdict::Regressed, Verdict::Warning, Verdict::Failure]);
        assert_eq!(explaining(Verdict::Failure, false), Verdict::Regressed);
        assert_eq!(explaining(Verdict::Failure, true), Verdict::Failure);
    }
}
