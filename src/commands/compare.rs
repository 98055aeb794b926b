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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::run::{self, RunOptions, RunOutcome};
use crate::analysis::{pairing, reference};
use crate::build::artifacts::{ArtifactCache, BuildKey};
use crate::build::git::{self, CheckoutState, GitFacts, ResolvedRef};
use crate::build::outside::{self, Outside};
use crate::build::stage::Staged;
use crate::build::{cargo, ArtifactRef, Executables};
use crate::cli::ConfigFrom;
use crate::discover::plan::{self, Plan};
use crate::discover::workspace::{self, CargoOptions, Workspace};
use crate::error::UserError;
use crate::host;
use crate::measure::assemble;
use crate::measure::bench::{Bench, ReferenceSpec};
use crate::measure::policy::RunCount;
use crate::measure::references;
use crate::results::calibration::Calibration;
use crate::results::{BenchmarkResult, Candidate, Comparison, Side, SkippedBench, Store};
use crate::ui::Ui;

/// One side of a comparison, checked out and read, not yet built.
pub(super) struct Source {
    /// `baseline` or `candidate`.
    pub(super) role: &'static str,
    pub(super) ws: Workspace,
    /// The cargo options its build uses.
    cargo: CargoOptions,
    /// The commit, for a ref; `None` for the working tree.
    reference: Option<ResolvedRef>,
    pub(super) side: Side,
    pub(super) git: Option<GitFacts>,
    /// Completes "bin `x` does not exist ...": "at v10.2.0", "in the working tree".
    pub(super) at: String,
    /// Path dependencies of a ref that lie outside the repository: no commit pins them, so the
    /// side builds them as they are on disk now, and its executables are never taken from the cache.
    outside: Vec<Outside>,
}

impl Source {
    fn name(&self) -> String {
        side_name(self.role, self.reference.as_ref())
    }
}

/// "the baseline side (main abc1234)", or "the working tree".
fn side_name(role: &str, reference: Option<&ResolvedRef>) -> String {
    match reference {
        Some(r) => format!("the {role} side ({} {})", r.name, git::short(&r.sha)),
        None => "the working tree".to_string(),
    }
}

/// A benchmark of the comparison: on both sides, on one side only, or defined for both but
/// runnable on one.
pub(super) struct Entry {
    pub(super) base: Option<Box<dyn Bench>>,
    pub(super) cand: Option<Box<dyn Bench>>,
    /// The side that could not run a benchmark defined for both, and why.
    pub(super) skipped: Option<(&'static str, String)>,
}

/// Compares the working tree (or the refs of `against`, where `.` is the working tree) with
/// `baseline_ref`, interleaved, and saves the run. Several candidates run in turn with the
/// baseline (A B C A B C ...) and are each judged against it.
pub fn compare(opts: &RunOptions, baseline_ref: &str, against: &[String], ui: &Ui) -> Result<RunOutcome> {
    if opts.no_build {
        return Err(
            UserError::Invalid("--no-build cannot be used with --compare: both sides must be built".into()).into()
        );
    }
    if against.len() > 1 && opts.overrides.precision.is_some() {
        return Err(UserError::Invalid(
            "--precision cannot be used with several --against: a run to a precision follows the interval of one \
             pair; compare the candidates one at a time, or drop --precision"
                .into(),
        )
        .into());
    }
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
        (Some(0), ConfigFrom::Candidate) | (Some(_), ConfigFrom::Each) => Some(plan::plan(&ws, &opts.overrides)?),
        _ => None,
    };

    let store = run::open_store(opts, &ws.target_dir);
    let lock = run::lock_store(&store, ui)?;
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
    let benches = || lists.iter().flatten().filter_map(|e| e.cand.as_ref().or(e.base.as_ref()));
    if benches().any(|b| b.id().kind == crate::measure::python::KIND) {
        warn_of_shared_pythonpath(&working_root, std::env::var_os("PYTHONPATH"), ui);
    }
    if cands.len() > 1 {
        if let Some(b) = benches().find(|b| b.settings().precision.is_some()) {
            ui.warn(format!(
                "{} asks for a precision, which a run with several candidates cannot follow: it runs by the run count",
                b.id().render()
            ));
        }
    }

    let base_needs: Vec<ArtifactRef> = lists.iter().flat_map(|l| needs(l, |e| e.base.as_ref())).collect();
    let (base_built, mut fresh) = ctx.build(&base, &dedup(base_needs))?;
    let mut cand_built = Vec::new();
    for (cand, entries) in cands.iter().zip(&lists) {
        let (built, built_fresh) = ctx.build(cand, &needs(entries, |e| e.cand.as_ref()))?;
        fresh |= built_fresh;
        cand_built.push(built);
    }
    if fresh {
        report_cache_size(&store, ui);
    }
    let base_staged = Staged::new(store.dir(), "baseline", base_built).context("copying the baseline's files")?;
    let cand_staged = cand_built
        .into_iter()
        .map(|built| Staged::new(store.dir(), "candidate", built).context("copying the candidate's files"))
        .collect::<Result<Vec<Staged>>>()?;

    warn_of_too_few_runs(&store, lists[0].iter().filter_map(|e| e.cand.as_deref()), ui);

    let machine = run::check_machine(ui);
    let timestamp = run::now();
    let mut slices: Vec<&mut [Entry]> = lists.iter_mut().map(Vec::as_mut_slice).collect();
    let staged: Vec<&Staged> = cand_staged.iter().collect();
    let sides = cands.iter().map(|c| c.side.clone()).collect();
    let mut judged =
        measure_candidates(&mut slices, (&base_staged, base.side.clone()), &staged, sides, opts, &store, ui)
            .into_iter();
    let (cand_results, comparison) = judged.next().expect("a candidate");
    let mut document =
        run::document(opts, timestamp, cands[0].git.clone(), Some(machine), cand_results, Some(comparison));
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

/// What one side of the entries needs built, `pick` choosing the side.
pub(super) fn needs(entries: &[Entry], pick: fn(&Entry) -> Option<&Box<dyn Bench>>) -> Vec<ArtifactRef> {
    dedup(entries.iter().filter_map(pick).flat_map(|b| b.needs()).collect())
}

fn dedup(mut out: Vec<ArtifactRef>) -> Vec<ArtifactRef> {
    out.sort();
    out.dedup();
    out
}

/// Measures the entries — interleaved, baseline first in every pair, where both sides have a
/// benchmark — and judges the pairs: the candidate's results and the comparison. One candidate
/// of [`measure_candidates`], the pair that `history` and `bisect` measure per commit.
pub(super) fn measure_entries(
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
pub(super) fn measure_candidates(
    lists: &mut [&mut [Entry]],
    (base_staged, base_side): (&Staged, Side),
    cand_staged: &[&Staged],
    cand_sides: Vec<Side>,
    opts: &RunOptions,
    store: &Store,
    ui: &Ui,
) -> Vec<(Vec<BenchmarkResult>, Comparison)> {
    let runner_exe = opts.runner_exe.as_path();
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
            let mut sides: Vec<crate::measure::bench::SideRef> = std::iter::once((base, base_staged))
                .chain(cands.into_iter().zip(&paired).map(|(c, &j)| (c, cand_staged[j])))
                .collect();
            // Baseline first in every round; the last candidate's run policy for all.
            let mut measured = run::measure_sides(&mut sides, runner_exe, ui).into_iter();
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
                    got.cand_results.push(run::measure_alone(c, cand_staged[j], runner_exe, ui));
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
        crate::results::calibration::attach_noise(store.dir(), results, opts.overrides.quick);
    }
    let rows = pairing::compare_results_with(
        &paired_base,
        &paired_cand,
        &|id| thresholds.get(id).copied().unwrap_or_default(),
        opts.overrides.multiplicity,
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

/// Entries for definitions made on `from`, bound to `to`; `make` places the definition and its
/// binding on their sides.
/// A `PYTHONPATH` inherited from the user that points into the working tree makes both sides of
/// a comparison import the working tree's Python code: the comparison cannot see a change in it.
fn warn_of_shared_pythonpath(working_root: &Path, pythonpath: Option<std::ffi::OsString>, ui: &Ui) {
    let root = std::fs::canonicalize(working_root).unwrap_or_else(|_| working_root.to_path_buf());
    for entry in std::env::split_paths(&pythonpath.unwrap_or_default()) {
        let full = std::fs::canonicalize(&entry).unwrap_or(entry.clone());
        if !entry.as_os_str().is_empty() && full.starts_with(&root) {
            ui.warn(format!(
                "PYTHONPATH points into the working tree ({}): both sides of this comparison import the Python code \
                 found there, so a change in it cannot show; name the folders in the entry's `python-path` (relative \
                 to the package, resolved in each side's checkout) and unset PYTHONPATH",
                entry.display()
            ));
        }
    }
}

/// Before measuring: each benchmark whose calibration on this host (`calibrate`) says that its
/// planned run count cannot see its noise threshold, with the count that would.
fn warn_of_too_few_runs<'a>(store: &Store, benches: impl Iterator<Item = &'a dyn Bench>, ui: &Ui) {
    let host = crate::results::calibration::host_name();
    let Some(cal) = Calibration::load(&Calibration::path(store.dir(), &host)) else { return };
    for bench in benches {
        let id = bench.id().render();
        let Some(c) = cal.bench(&id) else { continue };
        let settings = bench.settings();
        // With a precision the runs go on until the interval is narrow enough: no count to judge.
        if settings.precision.is_some() {
            continue;
        }
        let noise = crate::stats::power::Noise {
            pairs: c.pairs,
            log_ratio_sd: c.log_ratio_sd,
            lag1: c.lag1,
            drift_per_100: c.drift_per_100,
        };
        let threshold = settings.thresholds.noise;
        let needed = noise.runs_for(threshold);
        let per_run = c.seconds / (2 * c.pairs.max(1)) as f64;
        let planned = match settings.policy.runs {
            RunCount::Exactly(n) => u64::from(n),
            RunCount::Adaptive { min_runs, min_time, max_runs } => {
                ((min_time.as_secs_f64() / per_run.max(1e-9)) as u64).clamp(u64::from(min_runs), u64::from(max_runs))
            }
            RunCount::For { min_runs, wall } => {
                ((wall.as_secs_f64() / 2.0 / per_run.max(1e-9)) as u64).max(u64::from(min_runs))
            }
        };
        if planned < needed {
            ui.warn(format!(
                "{id}: about {planned} runs per side cannot see a {:.1}% change on this host: its calibration \
                 ({}) says it takes {needed} (α = 0.05, 95% power); use `--runs {needed}` or a larger `--noise`",
                threshold * 100.0,
                cal.timestamp
            ));
        }
    }
}

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
            Err(reason) => Entry { skipped: Some((to.role, reason)), ..make(def, None) },
        })
        .collect()
}

fn ref_error(e: git::RefError) -> anyhow::Error {
    UserError::from(e).into()
}

/// The working tree as a side: built by the same `cargo build` as a plain run, in the user's
/// target directory.
fn working_tree(ws: Workspace, opts: &RunOptions) -> Source {
    let git = git::facts(&ws.root);
    let side = Side {
        label: "working tree".into(),
        sha: git.as_ref().map(|g| g.sha.clone()),
        dirty: git.as_ref().is_some_and(|g| g.dirty),
    };
    Source {
        role: "candidate",
        ws,
        cargo: opts.cargo.clone(),
        reference: None,
        side,
        git,
        at: "in the working tree".into(),
        outside: Vec::new(),
    }
}

/// "the baseline (main) has 1 path dependency outside the repository (…): no commit pins it, …".
fn describe_outside(role: &str, at: &str, outside: &[Outside]) -> String {
    let mut paths: Vec<&Path> = outside.iter().map(|o| o.path.as_path()).collect();
    paths.sort();
    paths.dedup();
    let shown: Vec<String> = paths.iter().take(3).map(|p| p.display().to_string()).collect();
    let more = if paths.len() > 3 { format!(" and {} more", paths.len() - 3) } else { String::new() };
    let (what, it) = if paths.len() == 1 { ("path dependency", "it") } else { ("path dependencies", "them") };
    format!(
        "the {role} ({at}) has {} {what} outside the repository ({}{more}): no commit pins {it}, so both sides \
         build {it} as on disk now and a change in {it} cannot show here; this side is built afresh each time",
        paths.len(),
        shown.join(", "),
    )
}

/// When no benchmark can run on both sides, a comparison would measure for minutes and judge
/// nothing: that is a usage problem, said before anything is built.
fn check_something_compares(entries: &[Entry], base: &Source, cand: &Source, from: ConfigFrom) -> Result<()> {
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

/// Prints how much disk the checkouts, builds and cached files of compared refs take.
pub(super) fn report_cache_size(store: &Store, ui: &Ui) {
    let used: u64 =
        ["worktrees", "build", "artifacts"].iter().map(|d| super::clean::disk_usage(&store.dir().join(d))).sum();
    ui.status(
        "Cache",
        format!(
            "{} in {} for the checkouts and builds of compared refs (`cargo coldbench clean` frees it)",
            crate::units::format_bytes(used as f64),
            store.dir().display()
        ),
    );
}

pub(super) struct SideContext<'a> {
    pub(super) opts: &'a RunOptions,
    /// The user's own target directory, whose dependencies seed the build folder of refs.
    pub(super) user_target_dir: PathBuf,
    pub(super) store: &'a Store,
    pub(super) repo: &'a git2::Repository,
    pub(super) manifest_in_repo: &'a Path,
    pub(super) ui: &'a Ui,
}

impl SideContext<'_> {
    fn build_dir(&self) -> PathBuf {
        self.store.dir().join("build")
    }

    /// Checks out a commit and reads its workspace.
    pub(super) fn checkout(&self, role: &'static str, r: &ResolvedRef) -> Result<Source> {
        let short = git::short(&r.sha);
        let dir = self.store.dir().join("worktrees").join(&r.sha);
        match git::checkout(self.repo, &r.sha, &dir)
            .with_context(|| format!("checking out the {role} ({} {short})", r.name))?
        {
            CheckoutState::Reused => self.ui.note(format!("{role}: reusing the checkout in {}", dir.display())),
            CheckoutState::Created => self.ui.note(format!("{role}: checked out {short} into {}", dir.display())),
            CheckoutState::Repaired => self
                .ui
                .warn(format!("the checkout in {} was incomplete (an interrupted run?); made it again", dir.display())),
        }
        super::clean::mark_used(self.store.dir(), &r.sha);
        let outside = match self.repo.workdir() {
            Some(root) => outside::anchor(&dir, root)
                .with_context(|| format!("reading the manifests of the {role} ({} {short})", r.name))?,
            None => Vec::new(),
        };
        if !outside.is_empty() {
            self.ui.warn(describe_outside(role, &r.name, &outside));
        }
        let mut cargo = self.opts.cargo.clone();
        cargo.manifest_path = Some(dir.join(self.manifest_in_repo));
        cargo.target_dir = Some(self.build_dir());
        cargo.lenient = true;
        let ws = workspace::load(&cargo).with_context(|| format!("reading {}", side_name(role, Some(r))))?;
        Ok(Source {
            role,
            ws,
            cargo,
            reference: Some(r.clone()),
            side: Side { label: r.name.clone(), sha: Some(r.sha.clone()), dirty: false },
            git: Some(GitFacts { sha: r.sha.clone(), branch: None, dirty: false }),
            at: format!("at {}", r.name),
            outside,
        })
    }

    /// Plans one side with its own configuration (`lenient` for a ref, which may predate
    /// packages and binaries named on the command line).
    fn plan_side(&self, source: &Source, local: Option<Plan>) -> Result<Plan> {
        if let Some(plan) = local {
            return Ok(plan);
        }
        let overrides = plan::Overrides { lenient: true, ..self.opts.overrides.clone() };
        let plan = plan::plan(&source.ws, &overrides).with_context(|| format!("planning {}", source.name()))?;
        if plan.benches.is_empty() {
            return Err(UserError::NothingToRun {
                detail: format!("{} has nothing of the kind asked for", source.name()),
            }
            .into());
        }
        Ok(plan)
    }

    /// The benchmarks of the comparison, in the order of the definitions that are used.
    fn entries(&self, base: &Source, cand: &Source, local: Option<Plan>) -> Result<Vec<Entry>> {
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
    fn entries_from(&self, first: &Source, base: &Source, cand: &Source) -> Result<Vec<Entry>> {
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

    /// Builds what a side's benchmarks need; says whether a build ran (rather than a cache hit).
    ///
    /// The working tree builds in the user's target directory, exactly as a plain run does. A ref
    /// builds in `target/coldbench/build/`, shared by all refs so that dependencies compile once;
    /// its path packages are cleaned first, because cargo fingerprints them relative to the
    /// workspace root and would take another checkout's output as fresh.
    pub(super) fn build(&self, source: &Source, needs: &[ArtifactRef]) -> Result<(Executables, bool)> {
        let bins = needs.to_vec();
        let Some(r) = &source.reference else {
            let built =
                cargo::build(&source.ws, &source.cargo, &bins, self.ui).context("the working tree failed to build")?;
            return Ok((built, false));
        };
        let short = git::short(&r.sha);
        let key = BuildKey::new(&r.sha, &source.cargo, host::rustc_version());
        let cache = ArtifactCache::new(self.store.dir().join("artifacts"));
        // The cache is keyed by commit, and a crate outside the repository changes without one.
        let found = if source.outside.is_empty() { cache.lookup(&key, &bins) } else { None };
        if let Some(found) = found {
            self.ui.note(format!("{}: reusing the executables built for {short} (no cargo build)", source.role));
            return Ok((found, false));
        }
        let side_name = source.name();
        let seeded = cargo::seed_target_dir(&self.user_target_dir, &self.build_dir(), self.opts.cargo.profile_dir())?;
        if seeded > 0 {
            self.ui.note(format!(
                "seeded {} with {} of your own build's dependencies",
                self.build_dir().display(),
                crate::units::format_bytes(seeded as f64)
            ));
        }
        self.ui.status("Building", &side_name);
        let local = cargo::path_packages(&source.ws, &source.cargo)?;
        let local: Vec<&str> = local.iter().map(String::as_str).collect();
        cargo::clean_members(&source.ws, &source.cargo, &local, self.ui)?;
        let built = cargo::build(&source.ws, &source.cargo, &bins, self.ui)
            .with_context(|| format!("{side_name} failed to build"))?;
        let cached = cache.store(&key, &built).context("caching the built executables")?;
        Ok((cached, true))
    }
}
