//! The benchmarks of a comparison: each definition bound to both sides, or to the one side that
//! has it, and why the other cannot run it.

use std::collections::BTreeMap;

use anyhow::Result;

use super::super::ConfigFrom;
use super::sides::{SideContext, Source};
use crate::build::ArtifactRef;
use crate::error::UserError;
use crate::measure::bench::Bench;
use crate::plan::{self, Plan};

/// A benchmark of the comparison: on both sides, on one side only, or defined for both but
/// runnable on one.
pub(crate) struct Entry {
    pub(crate) base: Option<Box<dyn Bench>>,
    pub(crate) cand: Option<Box<dyn Bench>>,
    /// The side that could not run a benchmark defined for both, and why.
    pub(crate) skipped: Option<(&'static str, String)>,
}

/// What one side of the entries needs built, `pick` choosing the side.
pub(crate) fn needs(entries: &[Entry], pick: fn(&Entry) -> Option<&Box<dyn Bench>>) -> Vec<ArtifactRef> {
    dedup(entries.iter().filter_map(pick).flat_map(|b| b.needs()).collect())
}

pub(crate) fn dedup(mut out: Vec<ArtifactRef>) -> Vec<ArtifactRef> {
    out.sort();
    out.dedup();
    out
}

/// Entries for definitions made on `from`, bound to `to`; `make` places the definition and its
/// binding on their sides.
fn bound(
    defs: Plan,
    from: &Source,
    to: &Source,
    make: impl Fn(Box<dyn Bench>, Option<Box<dyn Bench>>) -> Entry,
) -> Vec<Entry> {
    let other = plan::side_map(&from.ws, &to.ws, &to.at);
    let bindings = plan::bind(&defs, &other);
    defs.benches
        .into_iter()
        .zip(bindings)
        .map(|(def, binding)| match binding {
            Ok(bound) => make(def, Some(bound)),
            Err(failure) => Entry { skipped: Some((to.role, failure.reason)), ..make(def, None) },
        })
        .collect()
}

/// When no benchmark can run on both sides, a comparison would measure for minutes and judge
/// nothing: that is a usage problem, said before anything is built.
pub(crate) fn check_something_compares(
    entries: &[Entry],
    base: &Source,
    cand: &Source,
    from: ConfigFrom,
) -> Result<()> {
    if entries.iter().any(|e| e.base.is_some() && e.cand.is_some()) {
        return Ok(());
    }
    let mut reasons: Vec<String> = entries.iter().filter_map(|e| e.skipped.as_ref().map(|(_, r)| r.clone())).collect();
    reasons.dedup();
    let detail = if reasons.is_empty() {
        format!("{} and {} have no benchmark in common", base.name(), cand.name())
    } else {
        let shown: Vec<String> = reasons.iter().take(5).cloned().collect();
        let more = if reasons.len() > 5 { format!(" and {} more", reasons.len() - 5) } else { String::new() };
        format!("no benchmark can run on both sides: {}{more}", shown.join("; "))
    };
    Err(UserError::NothingToCompare { detail, each: from == ConfigFrom::Each }.into())
}

impl SideContext<'_> {
    /// The benchmarks of the comparison, in the order of the definitions that are used.
    pub(crate) fn entries(&self, base: &Source, cand: &Source, local: Option<Plan>) -> Result<Vec<Entry>> {
        let mut warnings = Vec::new();
        let entries = match self.opts.config_from {
            ConfigFrom::Each => {
                let cand_plan = self.plan_side(cand, local)?;
                let base_plan = self.plan_side(base, None)?;
                warnings.extend(cand_plan.warnings.iter().cloned());
                let mut base_by_id: BTreeMap<String, Box<dyn Bench>> =
                    base_plan.benches.into_iter().map(|b| (b.id().render(), b)).collect();
                let mut entries: Vec<Entry> = cand_plan
                    .benches
                    .into_iter()
                    .map(|c| Entry { base: base_by_id.remove(&c.id().render()), cand: Some(c), skipped: None })
                    .collect();
                entries.extend(base_by_id.into_values().map(|b| Entry { base: Some(b), cand: None, skipped: None }));
                entries
            }
            ConfigFrom::Candidate => {
                let defs = self.plan_side(cand, local)?;
                warnings.extend(defs.warnings.iter().cloned());
                bound(defs, cand, base, |def, other| Entry { base: other, cand: Some(def), skipped: None })
            }
            ConfigFrom::Baseline => {
                let defs = self.plan_side(base, None)?;
                warnings.extend(defs.warnings.iter().cloned());
                bound(defs, base, cand, |def, other| Entry { base: Some(def), cand: other, skipped: None })
            }
        };
        for w in warnings {
            self.ui.warn(w);
        }
        Ok(entries)
    }

    /// The entries of a second or later candidate under `--config-from candidate`: the first
    /// candidate's definitions, bound to the baseline and to this candidate.
    pub(crate) fn entries_from(&self, first: &Source, base: &Source, cand: &Source) -> Result<Vec<Entry>> {
        let on = |to: &Source, place: fn(Option<Box<dyn Bench>>) -> Entry| -> Result<Vec<Entry>> {
            Ok(bound(self.plan_side(first, None)?, first, to, |_, other| place(other)))
        };
        let on_base = on(base, |b| Entry { base: b, cand: None, skipped: None })?;
        let on_cand = on(cand, |c| Entry { base: None, cand: c, skipped: None })?;
        Ok(on_base
            .into_iter()
            .zip(on_cand)
            .map(|(b, c)| Entry { base: b.base, cand: c.cand, skipped: b.skipped.or(c.skipped) })
            .collect())
    }
}
