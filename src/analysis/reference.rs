//! A benchmark against its reference in the same run: rows that explain, and for a head-to-head
//! the speedups and their `min-speedup` checks.

use super::{pairing, speedup, verdict};
use crate::measure::bench::ReferenceSpec;
use crate::results::{BenchmarkResult, OrderedMap, Reference, Status};

/// Adds to each result that has a reference (`reference_of`, indices into `results`) the
/// comparison with it; the rows explain and do not gate (a user's server is expected to cost more
/// than the bare transport). A head-to-head (`specs[i]`) also gets the speedups, and its
/// `min-speedup` limits are checked with its budget. `interleaved` says whether the two ran in
/// the same rounds.
pub fn attach(
    results: &mut [BenchmarkResult],
    reference_of: &[Option<usize>],
    specs: &[Option<ReferenceSpec>],
    interleaved: bool,
) {
    for (i, reference) in reference_of.iter().enumerate() {
        let Some(j) = *reference else { continue };
        let spec = specs.get(i).and_then(Option::as_ref);
        let thresholds = results[i].config.thresholds;
        let mut rows = pairing::compare_pair(&results[j], &results[i], &thresholds);
        for row in rows.iter_mut() {
            row.gating = false;
            row.verdict = verdict::explaining(row.verdict, false);
        }
        let head_to_head = spec.is_some_and(|s| s.head_to_head);
        let speedups = if head_to_head { speedup::speedups(&results[i].metrics, &rows) } else { OrderedMap::new() };
        if results[i].status == Status::Ok {
            let headline = results[i].headline().map(|(name, _)| name.to_string());
            let reference = (results[j].id.as_str(), results[j].status);
            let limits = spec.filter(|s| s.head_to_head).map(|s| s.min_speedup.as_slice()).unwrap_or_default();
            let checks = speedup::check(limits, headline.as_deref(), &speedups, reference);
            results[i].budget.extend(checks);
        }
        results[i].reference = Some(Reference { id: results[j].id.clone(), interleaved, rows, speedups });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::pairing::tests::{result, time};
    use crate::results::SpeedupLimit;

    /// A reference at 10 ms and a rewrite at 5 ms, the rewrite pointing at the reference.
    fn pair() -> Vec<BenchmarkResult> {
        let at = |ms: f64| (0..20).map(|i| ms / 1e3 * (1.0 + 0.001 * i as f64)).collect::<Vec<f64>>();
        vec![result("old", vec![("wall", time(true), at(10.0))]), result("new", vec![("wall", time(true), at(5.0))])]
    }

    #[test]
    fn speedups_and_their_limits_only_for_a_head_to_head() {
        let limit = SpeedupLimit { metric: None, min: 3.0 };
        let spec = |head_to_head| ReferenceSpec { id: "old".into(), head_to_head, min_speedup: vec![limit.clone()] };

        let mut results = pair();
        attach(&mut results, &[None, Some(0)], &[None, Some(spec(true))], true);
        let reference = results[1].reference.as_ref().expect("attached");
        assert_eq!(reference.id, "old");
        assert!(reference.interleaved);
        let wall = reference.speedups.get("wall").expect("a head-to-head has speedups");
        assert!((wall.factor - 2.0).abs() < 0.05, "{wall:?}");
        // 2× asked to be 3×: the check is there and fails.
        assert_eq!(results[1].budget.len(), 1);
        assert!(!results[1].budget[0].ok, "{:?}", results[1].budget);
        assert!(results[0].reference.is_none());

        let mut results = pair();
        attach(&mut results, &[None, Some(0)], &[None, Some(spec(false))], false);
        let reference = results[1].reference.as_ref().expect("attached");
        assert!(reference.speedups.is_empty());
        assert!(results[1].budget.is_empty());
        assert!(reference.rows.iter().all(|r| !r.gating), "a reference's rows explain, never gate");
    }
}
