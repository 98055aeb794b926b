//! Head-to-head: how many times better a benchmark is than its reference, per metric and in the
//! metric's direction, with the interval of the ratio it comes from; the `min-speedup` gate on the
//! lower end of that interval; and the summary over several pairs.

use crate::results::{
    Better, BudgetCheck, Checked, ComparisonRow, Location, MetricDesc, OrderedMap, Speedup, SpeedupLimit, Status, Unit,
};

/// The speedup of one comparison row (the benchmark as candidate, its reference as baseline):
/// the inverse ratio for a metric that is better lower, the ratio for one better higher.
pub fn of_row(row: &ComparisonRow, desc: &MetricDesc) -> Option<Speedup> {
    let (ratio, [lo, hi]) = (row.ratio?, row.ci95?);
    if !(ratio > 0.0 && lo > 0.0 && hi.is_finite()) {
        return None;
    }
    match desc.better {
        Better::Lower => Some(Speedup { factor: 1.0 / ratio, ci95: [1.0 / hi, 1.0 / lo] }),
        Better::Higher => Some(Speedup { factor: ratio, ci95: [lo, hi] }),
        Better::Neither => None,
    }
}

/// Whether a metric gets a speedup: measured per run, with a direction, and gating or shown in
/// compact tables (the wall time, the peak RSS, what the program reported).
pub fn applies(desc: &MetricDesc) -> bool {
    desc.compare != Location::Exact && desc.better != Better::Neither && (desc.gates || desc.compact)
}

/// The speedups of a benchmark over its reference, in the benchmark's metric order.
pub fn speedups(metrics: &OrderedMap<MetricDesc>, rows: &[ComparisonRow]) -> OrderedMap<Speedup> {
    let mut out = OrderedMap::new();
    for (name, desc) in metrics.iter().filter(|(_, d)| applies(d)) {
        if let Some(s) = rows.iter().find(|r| r.metric == name).and_then(|r| of_row(r, desc)) {
            out.insert(name, s);
        }
    }
    out
}

/// The `min-speedup` checks of a benchmark against its reference: each limit passes when the
/// lower end of the speedup's 95% CI reaches it. A limit that cannot be checked (the reference
/// failed, the metric was not measured) fails, saying why: a gate must not pass unseen.
pub fn check(
    limits: &[SpeedupLimit],
    headline: Option<&str>,
    speedups: &OrderedMap<Speedup>,
    reference: (&str, Status),
) -> Vec<BudgetCheck> {
    limits
        .iter()
        .map(|limit| {
            let metric = limit.metric.as_deref().or(headline).unwrap_or("wall").to_string();
            let unchecked = |why: String| BudgetCheck {
                metric: format!("speedup of {metric}"),
                stat: Checked::Unchecked,
                bound: crate::results::Bound::Min,
                limit: limit.min,
                value: f64::NAN,
                ok: false,
                found: vec![why],
            };
            if reference.1 != Status::Ok {
                return unchecked(format!("its reference {} did not run to the end", reference.0));
            }
            match speedups.get(&metric) {
                Some(s) => BudgetCheck {
                    metric: metric.clone(),
                    stat: Checked::Speedup,
                    bound: crate::results::Bound::Min,
                    limit: limit.min,
                    value: s.ci95[0],
                    ok: s.ci95[0] >= limit.min,
                    found: Vec::new(),
                },
                None => unchecked(format!(
                    "no speedup in `{metric}` against {} (measured: {})",
                    reference.0,
                    speedups.keys().collect::<Vec<_>>().join(", ")
                )),
            }
        })
        .collect()
}

/// The geometric mean of several speedups (of different pairs in one metric). Its interval is
/// the geometric mean of the pairs' bounds: wider than an interval that assumed the pairs
/// independent, so it does not overstate what is known.
pub fn geometric_mean(items: &[Speedup]) -> Option<Speedup> {
    if items.is_empty() {
        return None;
    }
    let n = items.len() as f64;
    let gm = |f: &dyn Fn(&Speedup) -> f64| (items.iter().map(|s| f(s).ln()).sum::<f64>() / n).exp();
    Some(Speedup { factor: gm(&|s| s.factor), ci95: [gm(&|s| s.ci95[0]), gm(&|s| s.ci95[1])] })
}

/// A factor for people: `12×` from 10 up, else two decimals without a bare `.00` (`2.35×`, `2×`).
pub fn times(f: f64) -> String {
    if f.abs() >= 10.0 {
        format!("{f:.0}×")
    } else {
        format!("{f:.2}×").replace(".00×", "×")
    }
}

/// How a factor above 1 reads for a metric: a time is `faster`, anything else `better`.
pub fn better_word(desc: &MetricDesc) -> &'static str {
    if desc.unit == Unit::Seconds {
        "faster"
    } else {
        "better"
    }
}

/// A speedup in words, for the metric's unit: `5.2× faster` (a time), `3.1× higher` (a rate),
/// `71% less` (a size: the saving reads better as a share); with `label` after it.
pub fn describe(s: &Speedup, desc: &MetricDesc, label: &str) -> String {
    match (desc.unit, s.factor >= 1.0) {
        (Unit::Bytes, _) => {
            // factor = reference / this: the share saved is 1 − 1/factor.
            let saved = |f: f64| (1.0 - 1.0 / f) * 100.0;
            let (point, lo, hi) = (saved(s.factor), saved(s.ci95[0]), saved(s.ci95[1]));
            if point >= 0.0 {
                format!("{point:.0}% less {label} ({lo:.0}–{hi:.0}%)")
            } else {
                format!("{:.0}% more {label} ({:.0}–{:.0}%)", -point, -hi, -lo)
            }
        }
        (Unit::Seconds, true) => {
            format!("{} faster {label} ({}–{})", times(s.factor), times(s.ci95[0]), times(s.ci95[1]))
        }
        (Unit::Seconds, false) => {
            format!("{} slower {label} ({}–{})", times(1.0 / s.factor), times(1.0 / s.ci95[1]), times(1.0 / s.ci95[0]))
        }
        (_, true) => format!("{} better {label} ({}–{})", times(s.factor), times(s.ci95[0]), times(s.ci95[1])),
        (_, false) => {
            format!("{} worse {label} ({}–{})", times(1.0 / s.factor), times(1.0 / s.ci95[1]), times(1.0 / s.ci95[0]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Compared, Verdict};

    fn row(metric: &str, ratio: f64, ci: [f64; 2]) -> ComparisonRow {
        ComparisonRow {
            id: "start/p/rust".into(),
            metric: metric.into(),
            location: Some(Compared::Median),
            baseline: Some(1.0),
            candidate: Some(ratio),
            ratio: Some(ratio),
            ci95: Some(ci),
            ratio_of_means: None,
            ratio_of_means_ci95: None,
            p_value: Some(0.001),
            test: None,
            welch_p: None,
            mann_whitney_p: None,
            detectable: None,
            runs_to_see_noise: None,
            p_adjusted: None,
            noise: None,
            processes: None,
            df: None,
            verdict: Verdict::Improved,
            gating: false,
            note: None,
            ci_level: None,
            modes: None,
        }
    }

    fn metrics() -> OrderedMap<MetricDesc> {
        let mut m = OrderedMap::new();
        m.insert("wall", MetricDesc { gates: true, ..MetricDesc::new(Unit::Seconds, Better::Lower) });
        m.insert("user", MetricDesc { compare: Location::Mean, ..MetricDesc::new(Unit::Seconds, Better::Lower) });
        m.insert("max_rss", MetricDesc { compact: true, ..MetricDesc::new(Unit::Bytes, Better::Lower) });
        m.insert("items", MetricDesc { gates: true, ..MetricDesc::new(Unit::PerSecond, Better::Higher) });
        m
    }

    #[test]
    fn speedups_follow_each_metric_s_direction() {
        let rows = [
            row("wall", 0.2, [0.18, 0.25]),
            row("user", 0.5, [0.4, 0.6]),
            row("max_rss", 0.29, [0.25, 0.33]),
            row("items", 5.0, [4.0, 6.0]),
        ];
        let s = speedups(&metrics(), &rows);
        assert_eq!(
            s.keys().collect::<Vec<_>>(),
            ["wall", "max_rss", "items"],
            "user time explains, it is not a speedup"
        );
        let wall = s.get("wall").unwrap();
        assert!(
            (wall.factor - 5.0).abs() < 1e-12
                && (wall.ci95[0] - 4.0).abs() < 1e-12
                && (wall.ci95[1] - 1.0 / 0.18).abs() < 1e-12
        );
        assert_eq!(s.get("items").unwrap().ci95, [4.0, 6.0]);
        let m = metrics();
        assert_eq!(describe(wall, m.get("wall").unwrap(), "wall time"), "5× faster wall time (4×–5.56×)");
        assert_eq!(
            describe(s.get("max_rss").unwrap(), m.get("max_rss").unwrap(), "peak RSS"),
            "71% less peak RSS (67–75%)"
        );
        assert_eq!(describe(s.get("items").unwrap(), m.get("items").unwrap(), "items"), "5× better items (4×–6×)");
        let slower = Speedup { factor: 0.5, ci95: [0.4, 0.625] };
        assert_eq!(describe(&slower, m.get("wall").unwrap(), "wall time"), "2× slower wall time (1.60×–2.50×)");
    }

    #[test]
    fn the_gate_reads_the_lower_end_of_the_interval() {
        let s = speedups(&metrics(), &[row("wall", 0.5, [0.45, 0.56]), row("items", 3.0, [2.5, 3.5])]);
        let limits = [SpeedupLimit { metric: None, min: 2.0 }, SpeedupLimit { metric: Some("items".into()), min: 2.6 }];
        let checks = check(&limits, Some("wall"), &s, ("start/p/py", Status::Ok));
        // 1/0.56 = 1.79: the point estimate (2.0) reaches the limit, the interval does not.
        assert!(!checks[0].ok && (checks[0].value - 1.0 / 0.56).abs() < 1e-12, "{:?}", checks[0]);
        assert!(!checks[1].ok && checks[1].value == 2.5);
        let passing = check(&[SpeedupLimit { metric: None, min: 1.5 }], Some("wall"), &s, ("start/p/py", Status::Ok));
        assert!(passing[0].ok);
        let unseen =
            check(&[SpeedupLimit { metric: Some("nope".into()), min: 1.0 }], Some("wall"), &s, ("r", Status::Ok));
        assert!(
            !unseen[0].ok
                && unseen[0].stat == Checked::Unchecked
                && unseen[0].found[0].contains("no speedup in `nope`")
        );
        let failed = check(&limits[..1], Some("wall"), &s, ("start/p/py", Status::Failed));
        assert!(!failed[0].ok && failed[0].found[0].contains("did not run to the end"));
    }

    #[test]
    fn the_summary_is_a_geometric_mean() {
        let gm =
            geometric_mean(&[Speedup { factor: 2.0, ci95: [1.0, 4.0] }, Speedup { factor: 8.0, ci95: [4.0, 16.0] }])
                .unwrap();
        assert!(
            (gm.factor - 4.0).abs() < 1e-12 && (gm.ci95[0] - 2.0).abs() < 1e-12 && (gm.ci95[1] - 8.0).abs() < 1e-12
        );
        assert!(geometric_mean(&[]).is_none());
    }
}
