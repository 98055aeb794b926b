//! `--compare REF` / `--against REF2`: build two sides and run them interleaved.
//!
//! The baseline (and with `--against`, the candidate) is checked out under
//! `target/coldbench/worktrees/<sha>/`; both sides build into `target/coldbench/build/` so that
//! dependencies compile once; built executables of a commit are cached under
//! `target/coldbench/artifacts/<sha>/`. The user's working tree, index, HEAD, branches, stash and
//! hooks are only read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::run::{self, RunOptions, RunOutcome};
use crate::artifacts::{ArtifactCache, BuildKey};
use crate::comparison;
use crate::error::UserError;
use crate::git::{self, CheckoutState, GitFacts, ResolvedRef};
use crate::host;
use crate::plan::{self, BenchPlan, Plan};
use crate::results::{Comparison, Side, Store};
use crate::ui::Ui;
use crate::workspace::{self, Executables, Workspace};

/// One side of a comparison, planned and built.
struct PreparedSide {
    plan: Plan,
    executables: Executables,
    side: Side,
    git: Option<GitFacts>,
}

/// Compares the working tree (or `against`) with `baseline_ref`, interleaved, and saves the run.
pub fn compare(opts: &RunOptions, baseline_ref: &str, against: Option<&str>, ui: &Ui) -> Result<RunOutcome> {
    if opts.no_build {
        return Err(
            UserError::Invalid("--no-build cannot be used with --compare: both sides must be built".into()).into()
        );
    }
    let ws = workspace::load(&opts.cargo)?;
    let repo = git::open(&ws.root).map_err(ref_error)?;
    let baseline = git::resolve(&repo, baseline_ref).map_err(ref_error)?;
    let candidate_ref = against.map(|r| git::resolve(&repo, r).map_err(ref_error)).transpose()?;
    let manifest_in_repo = git::relative_to_workdir(&repo, &ws.root_manifest).ok_or_else(|| {
        UserError::Invalid(format!("{} is not inside the repository's working folder", ws.root_manifest.display()))
    })?;
    // Check the working tree's configuration before anything is written.
    let local_plan = match candidate_ref {
        None => Some(plan::plan(&ws, &opts.overrides)?),
        Some(_) => None,
    };

    let store = run::open_store(opts, &ws.target_dir);
    let lock = run::lock_store(&store, ui)?;
    let ctx = SideContext { opts, store: &store, repo: &repo, manifest_in_repo: &manifest_in_repo, ui };

    let base = ctx.prepare_ref("baseline", &baseline)?;
    let cand = match (&candidate_ref, local_plan) {
        (Some(r), _) => ctx.prepare_ref("candidate", r)?,
        (None, Some(plan)) => ctx.prepare_working_tree(&ws, plan)?,
        (None, None) => unreachable!("the working tree is planned when there is no --against"),
    };

    let timestamp = run::now();
    let base_by_id: BTreeMap<&str, &BenchPlan> = base.plan.benches.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut cand_results = Vec::new();
    let mut base_results = Vec::new();
    for start in &cand.plan.benches {
        match base_by_id.get(start.id.as_str()) {
            Some(base_start) => {
                // Baseline first in every pair; the candidate's run policy for both.
                let mut pair = run::measure_sides(
                    &[(base_start, &base.executables), (start, &cand.executables)],
                    &opts.runner_exe,
                    ui,
                );
                let c = pair.pop().expect("two sides");
                base_results.push(pair.pop().expect("two sides"));
                cand_results.push(c);
            }
            None => cand_results.push(run::measure_alone(start, &cand.executables, &opts.runner_exe, ui)),
        }
    }
    let thresholds: BTreeMap<&str, crate::compare::Thresholds> =
        cand.plan.benches.iter().map(|s| (s.id.as_str(), s.thresholds)).collect();
    let mut rows = comparison::compare_results(&base_results, &cand_results, &|id| {
        thresholds.get(id).copied().unwrap_or(crate::compare::Thresholds::DEFAULT)
    });
    // Benchmarks of the baseline that the candidate lacks were never measured: still list them.
    rows.removed =
        base.plan.benches.iter().filter(|b| !thresholds.contains_key(b.id.as_str())).map(|b| b.id.clone()).collect();
    let comparison = Comparison {
        baseline: base.side,
        candidate: cand.side,
        interleaved: true,
        rows: rows.rows,
        added: rows.added,
        removed: rows.removed,
        baseline_benchmarks: base_results,
    };
    let document = run::document(opts, timestamp, cand.git, cand_results, Some(comparison));
    let saved = store.save_run(&document, &lock).context("saving the results")?;
    Ok(RunOutcome { document, saved, store })
}

fn ref_error(e: git::RefError) -> anyhow::Error {
    UserError::from(e).into()
}

struct SideContext<'a> {
    opts: &'a RunOptions,
    store: &'a Store,
    repo: &'a git2::Repository,
    manifest_in_repo: &'a Path,
    ui: &'a Ui,
}

impl SideContext<'_> {
    fn build_dir(&self) -> PathBuf {
        self.store.dir().join("build")
    }

    /// Checks out a commit, plans it with its own configuration, and builds it (or reuses its cache).
    fn prepare_ref(&self, role: &str, r: &ResolvedRef) -> Result<PreparedSide> {
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
        let mut cargo = self.opts.cargo.clone();
        cargo.manifest_path = Some(dir.join(self.manifest_in_repo));
        cargo.target_dir = Some(self.build_dir());
        cargo.lenient = true;
        let side_name = format!("the {role} side ({} {short})", r.name);
        let ws = workspace::load(&cargo).with_context(|| format!("reading {side_name}"))?;
        let overrides = plan::Overrides { lenient: true, ..self.opts.overrides.clone() };
        let plan = plan::plan(&ws, &overrides).with_context(|| format!("planning {side_name}"))?;
        let bins = plan.to_build();
        let key = BuildKey::new(&r.sha, &cargo, host::rustc_version());
        let cache = ArtifactCache::new(self.store.dir().join("artifacts"));
        let executables = match cache.lookup(&key, &bins) {
            Some(found) => {
                self.ui.note(format!("{role}: reusing the executables built for {short} (no cargo build)"));
                found
            }
            None => {
                self.ui.status("Building", &side_name);
                let local = workspace::path_packages(&ws, &cargo)?;
                let local: Vec<&str> = local.iter().map(String::as_str).collect();
                workspace::clean_members(&ws, &cargo, &local, self.ui)?;
                let built = workspace::build(&ws, &cargo, &bins, self.ui)
                    .with_context(|| format!("{side_name} failed to build"))?;
                cache.store(&key, &built).context("caching the built executables")?
            }
        };
        let side = Side { label: r.name.clone(), sha: Some(r.sha.clone()), dirty: false };
        let git = Some(GitFacts { sha: r.sha.clone(), branch: None, dirty: false });
        Ok(PreparedSide { plan, executables, side, git })
    }

    /// Builds the working tree as it is, uncommitted changes included.
    fn prepare_working_tree(&self, ws: &Workspace, plan: Plan) -> Result<PreparedSide> {
        let mut cargo = self.opts.cargo.clone();
        cargo.target_dir = Some(self.build_dir());
        self.ui.status("Building", "the working tree");
        let local = workspace::path_packages(ws, &cargo)?;
        let local: Vec<&str> = local.iter().map(String::as_str).collect();
        workspace::clean_members(ws, &cargo, &local, self.ui)?;
        let executables =
            workspace::build(ws, &cargo, &plan.to_build(), self.ui).context("the working tree failed to build")?;
        let git = git::facts(&ws.root);
        let side = Side {
            label: "working tree".into(),
            sha: git.as_ref().map(|g| g.sha.clone()),
            dirty: git.as_ref().is_some_and(|g| g.dirty),
        };
        Ok(PreparedSide { plan, executables, side, git })
    }
}
