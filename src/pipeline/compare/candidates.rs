//! Measuring a baseline against one or more candidates, interleaved, and judging each pair.

use std::collections::BTreeMap;

use super::super::measure::{measure_alone, measure_sides};
use super::super::RunOptions;
use super::entries::Entry;
use crate::analysis::{pairing, reference};
use crate::build::stage::Staged;
use crate::measure::assemble;
use crate::measure::bench::{Bench, ReferenceSpec, SideRef};
use crate::measure::references;
use crate::results::{BenchmarkResult, Comparison, Side, SkippedBench, Store};
use crate::ui::Ui;

/// Measures the entries — interleaved, baseline first in every pair, where both sides have a
/// benchmark — and judges the pairs: the candidate's results and the comparison. One candidate
/// of [`measure_candidates`], the pair that `history` and `bisect` measure per commit.
pub(crate) fn measure_entries(
    entries: &mut [Entry],
    [base_staged, cand_staged]: [&Staged; 2],
    [base_side, cand_side]: [Side; 2],
    opts: &RunOptions,
    store: &Store,
    ui: &Ui,
) -> (Vec<BenchmarkResult>, Comparison) {
    let judged =
        measure_candidates(&mut [entries], (base_staged, base_side), &[cand_staged], vec![cand_side], opts, store, ui);
    judged.into_iter().next().expect("one candidate")
}

/// What one candidate's entries gave, before they are judged.
#[derive(Default)]
struct Collected {
    cand_results: Vec<BenchmarkResult>,
    paired_base: Vec<BenchmarkResult>,
    paired_cand: Vec<BenchmarkResult>,
    added: Vec<String>,
    removed: Vec<String>,
    skipped: Vec<SkippedBench>,
}

/// Measures a baseline against several candidates: `lists` holds each candidate's entries against
/// the baseline. A benchmark runs interleaved on the baseline and every candidate that has it
/// (A B C A B C ...), the baseline measured once for all; each candidate is then judged against
/// it as a pair would be. Returns per candidate its results and its comparison, whose
/// `baseline_benchmarks` are the baseline's results, the same for all.
pub(crate) fn measure_candidates(
    lists: &mut [&mut [Entry]],
    (base_staged, base_side): (&Staged, Side),
    cand_staged: &[&Staged],
    cand_sides: Vec<Side>,
    opts: &RunOptions,
    store: &Store,
    ui: &Ui,
) -> Vec<(Vec<BenchmarkResult>, Comparison)> {
    let self_exe = opts.self_exe.as_path();
    let mut collected: Vec<Collected> = lists.iter().map(|_| Collected::default()).collect();
    let mut base_results = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for id in lists
        .iter()
        .flat_map(|list| list.iter())
        .filter_map(|e| e.cand.as_ref().or(e.base.as_ref()).map(|b| b.id().render()))
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    for id in &ids {
        // Each candidate's entry of this benchmark, and the first baseline bench among them.
        let mut at: Vec<Option<&mut Entry>> = lists
            .iter_mut()
            .map(|list| {
                list.iter_mut().find(|e| e.cand.as_ref().or(e.base.as_ref()).is_some_and(|b| b.id().render() == *id))
            })
            .collect();
        let paired: Vec<usize> =
            (0..at.len()).filter(|&j| at[j].as_ref().is_some_and(|e| e.base.is_some() && e.cand.is_some())).collect();
        if let Some(&first) = paired.first() {
            let (base, cands) = split_sides(&mut at, first, &paired);
            let mut sides: Vec<SideRef> = std::iter::once((base, base_staged))
                .chain(cands.into_iter().zip(&paired).map(|(c, &j)| (c, cand_staged[j])))
                .collect();
            // Baseline first in every round; the last candidate's run policy for all.
            let mut measured = measure_sides(&mut sides, self_exe, ui).into_iter();
            let b = measured.next().expect("the baseline's result");
            for (&j, c) in paired.iter().zip(measured) {
                collected[j].paired_base.push(b.clone());
                collected[j].paired_cand.push(c.clone());
                collected[j].cand_results.push(c);
            }
            base_results.push(b);
        }
        for (j, entry) in at.into_iter().enumerate() {
            let Some(entry) = entry else { continue };
            let got = &mut collected[j];
            match (entry.base.as_deref_mut(), entry.cand.as_deref_mut()) {
                (Some(_), Some(_)) | (None, None) => {}
                (None, Some(c)) => {
                    match &entry.skipped {
                        Some((side, reason)) => {
                            if !base_results.iter().any(|r| r.id == *id) {
                                base_results.push(assemble::skipped(c, reason.clone()));
                            }
                            got.skipped.push(SkippedBench {
                                id: id.clone(),
                                side: side.to_string(),
                                reason: reason.clone(),
                            });
                        }
                        None => got.added.push(id.clone()),
                    }
                    got.cand_results.push(measure_alone(c, cand_staged[j], self_exe, ui));
                }
                (Some(b), None) => match &entry.skipped {
                    Some((side, reason)) => {
                        got.cand_results.push(assemble::skipped(b, reason.clone()));
                        got.skipped.push(SkippedBench {
                            id: id.clone(),
                            side: side.to_string(),
                            reason: reason.clone(),
                        });
                    }
                    None => got.removed.push(id.clone()),
                },
            }
        }
    }
    lists
        .iter()
        .zip(collected)
        .zip(cand_sides)
        .map(|((entries, got), cand_side)| {
            judge(entries, got, base_results.clone(), [base_side.clone(), cand_side], opts, store)
        })
        .collect()
}

/// The baseline bench of entry `first` and the candidate benches of the entries `paired`, each
/// borrowed once.
fn split_sides<'a>(
    at: &'a mut [Option<&mut Entry>],
    first: usize,
    paired: &[usize],
) -> (&'a mut dyn Bench, Vec<&'a mut dyn Bench>) {
    let mut base = None;
    let mut cands = Vec::new();
    for (j, entry) in at.iter_mut().enumerate() {
        let Some(entry) = entry.as_deref_mut() else { continue };
        if !paired.contains(&j) {
            continue;
        }
        let Entry { base: b, cand: c, .. } = entry;
        if j == first {
            base = b.as_deref_mut();
        }
        cands.push(&mut **c.as_mut().expect("a paired entry has a candidate") as &mut dyn Bench);
    }
    (base.expect("the first paired entry has a baseline"), cands)
}

/// Judges one candidate's pairs: its results with their references attached, and its comparison.
fn judge(
    entries: &[Entry],
    got: Collected,
    base_results: Vec<BenchmarkResult>,
    [base_side, cand_side]: [Side; 2],
    opts: &RunOptions,
    store: &Store,
) -> (Vec<BenchmarkResult>, Comparison) {
    let Collected { mut cand_results, paired_base, mut paired_cand, added, removed, skipped } = got;
    // The candidate's head-to-head entries against their references: measured in different
    // pairs, so "measured apart"; their `min-speedup` gates the candidate.
    let by_id: BTreeMap<String, ReferenceSpec> = entries
        .iter()
        .filter_map(|e| e.cand.as_ref())
        .filter_map(|b| Some((b.id().render(), b.reference()?)))
        .collect();
    let ids: Vec<String> = cand_results.iter().map(|r| r.id.clone()).collect();
    let specs: Vec<Option<ReferenceSpec>> = ids.iter().map(|id| by_id.get(id).cloned()).collect();
    let references: Vec<Option<String>> = specs.iter().map(|s| s.as_ref().map(|s| s.id.clone())).collect();
    let reference_of = references::reference_indices(&ids, &references);
    reference::attach(&mut cand_results, &reference_of, &specs, false);
    // The thresholds each measured pair recorded: a run to a precision records the significance
    // its last look may use.
    let thresholds: BTreeMap<String, crate::results::Thresholds> = entries
        .iter()
        .filter_map(|e| e.cand.as_ref().or(e.base.as_ref()))
        .map(|s| (s.id().render(), s.settings().thresholds))
        .chain(paired_cand.iter().map(|r| (r.id.clone(), r.config.thresholds)))
        .collect();
    for results in [&mut paired_cand, &mut cand_results] {
        crate::results::calibration::attach_noise(store.dir(), results, opts.plan_options.quick);
    }
    let rows = pairing::compare_results_with(
        &paired_base,
        &paired_cand,
        &|id| thresholds.get(id).copied().unwrap_or_default(),
        opts.plan_options.multiplicity,
    );
    let comparison = Comparison {
        baseline: base_side,
        candidate: cand_side,
        interleaved: true,
        rows: rows.rows,
        added,
        removed,
        baseline_benchmarks: base_results,
        skipped,
        multiplicity: rows.multiplicity,
    };
    (cand_results, comparison)
}
