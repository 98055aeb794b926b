//! `--compare REF` / `--against REF2`: build the sides and run them interleaved.
//!
//! The baseline (and each `--against` ref) is checked out under
//! `target/coldbench/worktrees/<sha>/` and built into `target/coldbench/build/`; built files of a
//! commit are cached under `target/coldbench/artifacts/<sha>/`. The working tree is built by the
//! same `cargo build` as a plain run, in the user's own target directory, so a compare costs one
//! extra build (the baseline's), and none when the baseline is cached. The user's working tree,
//! index, HEAD, branches, stash and hooks are only read.
//!
//! By default the benchmark definitions come from the candidate (the first, with several) and
//! are applied to every side (`--config-from`), so an old ref is measured with today's benchmarks.
//! Several candidates run in turn with the baseline, and each is judged against it as a pair.

mod candidates;
mod entries;
mod sides;
mod warnings;

pub(crate) use candidates::measure_entries;
pub(crate) use entries::{needs, Entry};
pub(crate) use sides::{SideContext, Source};
pub(crate) use warnings::report_cache_size;

use anyhow::{Context, Result};

use super::machine::check_machine;
use super::store::{document, lock_store, now, open_store};
use super::{ConfigFrom, RunOptions, RunOutcome};
use crate::build::git::{self, ResolvedRef};
use crate::build::stage::Staged;
use crate::build::ArtifactRef;
use crate::discover::workspace;
use crate::error::UserError;
use crate::plan;
use crate::results::Candidate;
use crate::ui::Ui;
use candidates::measure_candidates;
use entries::{check_something_compares, dedup};
use sides::working_tree;
use warnings::{warn_of_shared_pythonpath, warn_of_too_few_runs};

/// Compares the working tree (or the refs of `against`, where `.` is the working tree) with
/// `baseline_ref`, interleaved, and saves the run. Several candidates run in turn with the
/// baseline (A B C A B C ...) and are each judged against it.
pub fn compare(opts: &RunOptions, baseline_ref: &str, against: &[String], ui: &Ui) -> Result<RunOutcome> {
    refuse_options(opts, against)?;
    let ws = workspace::load(&opts.cargo)?;
    let repo = git::open(&ws.root).map_err(ref_error)?;
    let working_root = ws.root.clone();
    let baseline = git::resolve(&repo, baseline_ref).map_err(ref_error)?;
    let candidate_refs = candidate_refs(&repo, against)?;
    let manifest_in_repo = git::relative_to_workdir(&repo, &ws.root_manifest).ok_or_else(|| {
        UserError::Invalid(format!("{} is not inside the repository's working folder", ws.root_manifest.display()))
    })?;
    // The working tree's configuration, when it is used, is checked before anything is written.
    let working_tree_at = candidate_refs.iter().position(Option::is_none);
    let mut local_plan = match (working_tree_at, opts.config_from) {
        (Some(0), ConfigFrom::Candidate) | (Some(_), ConfigFrom::Each) => {
            Some(plan::plan(&ws, &opts.registry, &opts.plan_options)?)
        }
        _ => None,
    };

    let store = open_store(opts, &ws.target_dir);
    let lock = lock_store(&store, ui)?;
    let ctx = SideContext {
        opts,
        user_target_dir: ws.target_dir.clone(),
        store: &store,
        repo: &repo,
        manifest_in_repo: &manifest_in_repo,
        ui,
    };

    let base = ctx.checkout("baseline", &baseline)?;
    let mut ws = Some(ws);
    let mut cands = Vec::new();
    for r in &candidate_refs {
        cands.push(match r {
            Some(r) => ctx.checkout("candidate", r)?,
            None => working_tree(ws.take().expect("the working tree is one candidate"), opts),
        });
    }
    let mut lists = Vec::new();
    for (j, cand) in cands.iter().enumerate() {
        let local = if Some(j) == working_tree_at { local_plan.take() } else { None };
        let entries = match opts.config_from {
            // Every candidate is measured with the first one's definitions.
            ConfigFrom::Candidate if j > 0 => ctx.entries_from(&cands[0], &base, cand)?,
            _ => ctx.entries(&base, cand, local)?,
        };
        check_something_compares(&entries, &base, cand, opts.config_from)?;
        lists.push(entries);
    }
    warn_of_definitions(&lists, &working_root, ui);
    let (base_staged, cand_staged) = build_and_stage(&ctx, &base, &cands, &lists)?;

    warn_of_too_few_runs(&store, lists[0].iter().filter_map(|e| e.cand.as_deref()), ui);

    let machine = check_machine(ui);
    let timestamp = now();
    let mut slices: Vec<&mut [Entry]> = lists.iter_mut().map(Vec::as_mut_slice).collect();
    let staged: Vec<&Staged> = cand_staged.iter().collect();
    let sides = cands.iter().map(|c| c.side.clone()).collect();
    let mut judged =
        measure_candidates(&mut slices, (&base_staged, base.side.clone()), &staged, sides, opts, &store, ui)
            .into_iter();
    let (cand_results, comparison) = judged.next().expect("a candidate");
    let mut document = document(opts, timestamp, cands[0].git.clone(), Some(machine), cand_results, Some(comparison));
    document.other_candidates = judged
        .map(|(benchmarks, mut comparison)| {
            // The baseline's results are those of the document's comparison.
            comparison.baseline_benchmarks.clear();
            Candidate { comparison, benchmarks }
        })
        .collect();
    let saved = store.save_run(&document, &lock).context("saving the results")?;
    Ok(RunOutcome { document, saved, store })
}

/// The options a comparison cannot follow, refused before anything is read or written.
fn refuse_options(opts: &RunOptions, against: &[String]) -> Result<()> {
    if opts.no_build {
        return Err(
            UserError::Invalid("--no-build cannot be used with --compare: both sides must be built".into()).into()
        );
    }
    if against.len() > 1 && opts.plan_options.precision.is_some() {
        return Err(UserError::Invalid(
            "--precision cannot be used with several --against: a run to a precision follows the interval of one \
             pair; compare the candidates one at a time, or drop --precision"
                .into(),
        )
        .into());
    }
    Ok(())
}

/// What the definitions of every side call for a warning about, before anything is built: Python
/// code that both sides would import from the working tree, a precision that several candidates
/// cannot follow.
fn warn_of_definitions(lists: &[Vec<Entry>], working_root: &std::path::Path, ui: &Ui) {
    let benches = || lists.iter().flatten().filter_map(|e| e.cand.as_ref().or(e.base.as_ref()));
    if benches().any(|b| b.reads_pythonpath()) {
        warn_of_shared_pythonpath(working_root, std::env::var_os("PYTHONPATH"), ui);
    }
    if lists.len() > 1 {
        if let Some(b) = benches().find(|b| b.settings().precision.is_some()) {
            ui.warn(format!(
                "{} asks for a precision, which a run with several candidates cannot follow: it runs by the run count",
                b.id().render()
            ));
        }
    }
}

/// Builds what the entries need on the baseline and on each candidate, and copies the built files
/// into the results folder's stage, as a plain run measures them.
fn build_and_stage(
    ctx: &SideContext,
    base: &Source,
    cands: &[Source],
    lists: &[Vec<Entry>],
) -> Result<(Staged, Vec<Staged>)> {
    let base_needs: Vec<ArtifactRef> = lists.iter().flat_map(|l| needs(l, |e| e.base.as_ref())).collect();
    let (base_built, mut fresh) = ctx.build(base, &dedup(base_needs))?;
    let mut cand_built = Vec::new();
    for (cand, entries) in cands.iter().zip(lists) {
        let (built, built_fresh) = ctx.build(cand, &needs(entries, |e| e.cand.as_ref()))?;
        fresh |= built_fresh;
        cand_built.push(built);
    }
    if fresh {
        report_cache_size(ctx.store, ctx.ui);
    }
    let dir = ctx.store.dir();
    let base_staged = Staged::new(dir, "baseline", base_built).context("copying the baseline's files")?;
    let cand_staged = cand_built
        .into_iter()
        .map(|built| Staged::new(dir, "candidate", built).context("copying the candidate's files"))
        .collect::<Result<Vec<Staged>>>()?;
    Ok((base_staged, cand_staged))
}

/// The candidates `against` names, in order: `None` for the working tree (`.`, or no `--against`).
fn candidate_refs(repo: &git2::Repository, against: &[String]) -> Result<Vec<Option<ResolvedRef>>> {
    if against.is_empty() {
        return Ok(vec![None]);
    }
    if let Some((_, name)) = against.iter().enumerate().find(|(i, a)| against[..*i].contains(a)) {
        let what = if name == "." { "the working tree (`.`)".to_string() } else { format!("`{name}`") };
        return Err(UserError::Invalid(format!(
            "--against names {what} twice: each candidate is measured once, so name it once"
        ))
        .into());
    }
    against
        .iter()
        .map(|a| if a == "." { Ok(None) } else { git::resolve(repo, a).map(Some).map_err(ref_error) })
        .collect()
}

pub(crate) fn ref_error(e: git::RefError) -> anyhow::Error {
    UserError::from(e).into()
}
