//! The sides of a comparison: a ref checked out under `worktrees/` and built in the shared build
//! folder (or taken from the artifact cache), or the working tree built as a plain run builds it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::super::store::mark_used;
use super::super::RunOptions;
use crate::build::artifacts::{ArtifactCache, BuildKey};
use crate::build::git::{self, CheckoutState, GitFacts, ResolvedRef};
use crate::build::outside::{self, Outside};
use crate::build::{cargo, ArtifactRef, Executables};
use crate::discover::workspace::{self, CargoOptions, Workspace};
use crate::error::UserError;
use crate::host;
use crate::plan::{self, Plan};
use crate::results::{Side, Store};
use crate::ui::Ui;

/// One side of a comparison, checked out and read, not yet built.
pub(crate) struct Source {
    /// `baseline` or `candidate`.
    pub(crate) role: &'static str,
    pub(crate) ws: Workspace,
    /// The cargo options its build uses.
    pub(crate) cargo: CargoOptions,
    /// The commit, for a ref; `None` for the working tree.
    pub(crate) reference: Option<ResolvedRef>,
    pub(crate) side: Side,
    pub(crate) git: Option<GitFacts>,
    /// Completes "bin `x` does not exist ...": "at v10.2.0", "in the working tree".
    pub(crate) at: String,
    /// Path dependencies of a ref that lie outside the repository: no commit pins them, so the
    /// side builds them as they are on disk now, and its executables are never taken from the cache.
    pub(crate) outside: Vec<Outside>,
}

impl Source {
    pub(crate) fn name(&self) -> String {
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

/// The working tree as a side: built by the same `cargo build` as a plain run, in the user's
/// target directory.
pub(crate) fn working_tree(ws: Workspace, opts: &RunOptions) -> Source {
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

pub(crate) struct SideContext<'a> {
    pub(crate) opts: &'a RunOptions,
    /// The user's own target directory, whose dependencies seed the build folder of refs.
    pub(crate) user_target_dir: PathBuf,
    pub(crate) store: &'a Store,
    pub(crate) repo: &'a git2::Repository,
    pub(crate) manifest_in_repo: &'a Path,
    pub(crate) ui: &'a Ui,
}

impl SideContext<'_> {
    pub(crate) fn build_dir(&self) -> PathBuf {
        self.store.dir().join("build")
    }

    /// Checks out a commit and reads its workspace.
    pub(crate) fn checkout(&self, role: &'static str, r: &ResolvedRef) -> Result<Source> {
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
        mark_used(self.store.dir(), &r.sha);
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
    pub(crate) fn plan_side(&self, source: &Source, local: Option<Plan>) -> Result<Plan> {
        if let Some(plan) = local {
            return Ok(plan);
        }
        let plan_options = crate::measure::package::PlanOptions { lenient: true, ..self.opts.plan_options.clone() };
        let plan = plan::plan(&source.ws, &self.opts.registry, &plan_options)
            .with_context(|| format!("planning {}", source.name()))?;
        if plan.benches.is_empty() {
            return Err(UserError::NothingToRun {
                detail: format!("{} has nothing of the kind asked for", source.name()),
            }
            .into());
        }
        Ok(plan)
    }

    /// Builds what a side's benchmarks need; says whether a build ran (rather than a cache hit).
    ///
    /// The working tree builds in the user's target directory, exactly as a plain run does. A ref
    /// builds in `target/coldbench/build/`, shared by all refs so that dependencies compile once;
    /// its path packages are cleaned first, because cargo fingerprints them relative to the
    /// workspace root and would take another checkout's output as fresh.
    pub(crate) fn build(&self, source: &Source, needs: &[ArtifactRef]) -> Result<(Executables, bool)> {
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
