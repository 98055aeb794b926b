//! Commits measured against one anchor, interleaved: `--compare`'s machinery — checkouts under
//! `worktrees/`, seeded builds, the artifact cache, interleaved pairs and their verdicts — applied
//! to one commit after another, each result kept as a point under `history/<sha>.json`. Today's
//! benchmark definitions (the working tree's) are applied to every commit and to the anchor, as
//! asv does, so that every point measures the same thing. `history` and `bisect` wire it.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::compare::{measure_entries, needs, report_cache_size, Entry, SideContext, Source};
use super::machine::{check_machine, machine_state};
use super::store::{document, lock_store, now, open_store};
use super::RunOptions;
use crate::build::artifacts::BuildKey;
use crate::build::git::{self, GitFacts, ResolvedRef};
use crate::build::range;
use crate::build::stage::Staged;
use crate::discover::workspace::{self, Workspace};
use crate::error::UserError;
use crate::host;
use crate::plan::{self, Plan};
use crate::results::history::HistoryStore;
use crate::results::{CommitInfo, HistoryMark, RunDocument, SkippedBench, Store, StoreLock};
use crate::ui::Ui;

/// What every point of a run shares: the options, today's definitions, the repository and the
/// locked results folder.
pub(crate) struct Setup {
    pub(crate) opts: RunOptions,
    pub(crate) working: Workspace,
    pub(crate) repo: git2::Repository,
    pub(crate) store: Store,
    lock: StoreLock,
    manifest_in_repo: PathBuf,
    defs: Plan,
    /// The digest of the definitions and settings a point must have been measured with to be
    /// reused.
    key: String,
}

impl Setup {
    /// Reads the workspace and its definitions (checked before anything is written), opens the
    /// repository and takes the results folder's lock. `command` names the subcommand in errors.
    pub(crate) fn new(opts: RunOptions, ui: &Ui) -> Result<Setup> {
        let working = workspace::load(&opts.cargo)?;
        let repo = git::open(&working.root).map_err(UserError::from)?;
        let manifest_in_repo = git::relative_to_workdir(&repo, &working.root_manifest).ok_or_else(|| {
            UserError::Invalid(format!(
                "{} is not inside the repository's working folder",
                working.root_manifest.display()
            ))
        })?;
        let defs = plan::plan(&working, &opts.registry, &opts.plan_options)?;
        for warning in &defs.warnings {
            ui.warn(warning);
        }
        let key = settings_key(&working, &opts);
        let store = open_store(&opts, &working.target_dir);
        let lock = lock_store(&store, ui)?;
        // Warned of once; every point keeps the state it was measured in.
        check_machine(ui);
        Ok(Setup { opts, working, repo, store, lock, manifest_in_repo, defs, key })
    }

    /// The ids of today's benchmarks.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.defs.benches.iter().map(|b| b.id().render()).collect()
    }

    /// The results folder of the points.
    pub(crate) fn points(&self) -> HistoryStore {
        HistoryStore::new(self.store.dir())
    }
}

/// A digest of what decides whether two measurements of a commit are interchangeable: the tool (its
/// version and the sources it was built from), the build (profile, features, compiler, the
/// environment that changes cargo's output), the command-line overrides (the noise threshold
/// aside: it only judges), and today's definitions (every selected package's targets and metadata,
/// and the workspace's).
fn settings_key(working: &Workspace, opts: &RunOptions) -> String {
    let members: Vec<serde_json::Value> = working
        .members
        .iter()
        .map(|m| serde_json::json!({ "name": m.name, "bins": m.bins, "libs": m.libs, "metadata": m.metadata }))
        .collect();
    let plan_options = crate::measure::package::PlanOptions { noise: None, ..opts.plan_options.clone() };
    let text = serde_json::json!({
        // The sources, not just the version: a change to the harness can move what it measures.
        "tool": [env!("CARGO_PKG_VERSION"), crate::SOURCE_ID],
        "build": BuildKey::new("", &opts.cargo, host::rustc_version()),
        "plan_options": format!("{plan_options:?}"),
        "workspace": working.metadata,
        "members": members,
    })
    .to_string();
    git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes()).map(|oid| oid.to_string()).unwrap_or(text)
}

/// A commit's point: its result against the anchor (or its gap), and where it is kept.
pub(crate) struct Point {
    /// The commit.
    pub(crate) commit: CommitInfo,
    /// Its result, with its history mark.
    pub(crate) doc: RunDocument,
    /// `history/<sha>.json`.
    pub(crate) file: PathBuf,
    /// Taken from an earlier run instead of measured.
    pub(crate) reused: bool,
}

impl Point {
    /// Why the commit has no measurement.
    pub(crate) fn gap(&self) -> Option<&str> {
        self.doc.history.as_ref().and_then(|m| m.gap.as_deref())
    }
}

/// The anchor, and commits measured against it one after another.
pub(crate) struct Anchored<'s> {
    setup: &'s Setup,
    ctx: SideContext<'s>,
    anchor_ref: ResolvedRef,
    anchor: CommitInfo,
    /// Checked out at the first point that is measured, not reused.
    anchor_side: Option<Source>,
    /// Commits cargo built (not taken from the cache), the anchor included.
    pub(crate) built: usize,
}

impl<'s> Anchored<'s> {
    /// Points measured against `anchor`.
    pub(crate) fn new(setup: &'s Setup, anchor: ResolvedRef, ui: &'s Ui) -> Result<Anchored<'s>> {
        let info = range::commit_info(&setup.repo, &anchor)?;
        let ctx = SideContext {
            opts: &setup.opts,
            user_target_dir: setup.working.target_dir.clone(),
            store: &setup.store,
            repo: &setup.repo,
            manifest_in_repo: &setup.manifest_in_repo,
            ui,
        };
        Ok(Anchored { setup, ctx, anchor_ref: anchor, anchor: info, anchor_side: None, built: 0 })
    }

    /// The anchor commit.
    pub(crate) fn anchor(&self) -> &CommitInfo {
        &self.anchor
    }

    /// The point of `commit` kept from an earlier run against this anchor with these settings,
    /// when it has every benchmark of `ids` (or is a gap).
    pub(crate) fn stored(&self, commit: &CommitInfo, ids: &[String]) -> Option<Point> {
        let points = self.setup.points();
        let doc = points.find(&commit.sha, &self.anchor.sha, &self.setup.key)?;
        let has = |id: &String| {
            doc.benchmarks.iter().any(|b| &b.id == id)
                || doc.comparison.as_ref().is_some_and(|c| c.skipped.iter().any(|s| &s.id == id))
        };
        let gap = doc.history.as_ref().is_some_and(|m| m.gap.is_some());
        (gap || ids.iter().all(has)).then(|| Point {
            commit: commit.clone(),
            file: points.path(&commit.sha),
            doc,
            reused: true,
        })
    }

    /// Measures `commit` against the anchor, interleaved — only the benchmarks of `only` when
    /// given — and keeps the point. A commit that cannot be checked out, read or built is a gap
    /// with its reason; an anchor that cannot is an error.
    pub(crate) fn measure(&mut self, commit: &CommitInfo, only: Option<&[String]>) -> Result<Point> {
        let r = ResolvedRef { name: git::short(&commit.sha).to_string(), sha: commit.sha.clone() };
        let source = match self.ctx.checkout("commit", &r) {
            Ok(source) => source,
            Err(e) => return self.gap(commit, format!("could not be read: {e:#}")),
        };
        if self.anchor_side.is_none() {
            let side = self.ctx.checkout("anchor", &self.anchor_ref).context("the anchor could not be read")?;
            self.anchor_side = Some(side);
        }
        let anchor = self.anchor_side.as_ref().expect("checked out");
        let (mut entries, skipped) = self.entries(anchor, &source, only);
        if entries.is_empty() {
            let mut reasons: Vec<String> = skipped.iter().take(3).map(|s| s.reason.clone()).collect();
            if skipped.len() > 3 {
                reasons.push(format!("and {} more", skipped.len() - 3));
            }
            return self
                .gap(commit, format!("no benchmark can run at this commit and at the anchor: {}", reasons.join("; ")));
        }
        let (anchor_built, fresh) = self.ctx.build(anchor, &needs(&entries, |e| e.base.as_ref()))?;
        self.built += usize::from(fresh);
        let built = match self.ctx.build(&source, &needs(&entries, |e| e.cand.as_ref())) {
            Ok((built, fresh)) => {
                self.built += usize::from(fresh);
                built
            }
            Err(e) => return self.gap(commit, format!("does not build: {e:#}")),
        };
        let dir = self.setup.store.dir();
        let anchor_staged = Staged::new(dir, "anchor", anchor_built).context("copying the anchor's files")?;
        let staged = Staged::new(dir, "commit", built).context("copying the commit's files")?;
        let machine = machine_state();
        let timestamp = now();
        let sides = [anchor.side.clone(), source.side.clone()];
        let ui = self.ctx.ui;
        let (results, mut comparison) =
            measure_entries(&mut entries, [&anchor_staged, &staged], sides, &self.setup.opts, &self.setup.store, ui);
        comparison.skipped.extend(skipped);
        let mut doc =
            document(&self.setup.opts, timestamp, source.git.clone(), Some(machine), results, Some(comparison));
        doc.history = Some(self.mark(commit, None));
        self.keep(commit, doc)
    }

    /// Entries for today's definitions bound to the anchor and to the commit. A benchmark that one
    /// side cannot run is not measured (with nothing to compare it with, it has no point): it is
    /// listed with why.
    fn entries(&self, anchor: &Source, commit: &Source, only: Option<&[String]>) -> (Vec<Entry>, Vec<SkippedBench>) {
        let defs = &self.setup.defs;
        let bind = |to: &Source| plan::bind(defs, &plan::side_map(&self.setup.working, &to.ws, &to.at));
        let mut entries = Vec::new();
        let mut skipped = Vec::new();
        for (def, pair) in defs.benches.iter().zip(bind(anchor).into_iter().zip(bind(commit))) {
            let id = def.id().render();
            if only.is_some_and(|ids| !ids.contains(&id)) {
                continue;
            }
            let (side, reason) = match pair {
                (Ok(base), Ok(cand)) => {
                    entries.push(Entry { base: Some(base), cand: Some(cand), skipped: None });
                    continue;
                }
                (Err(failure), _) => (anchor.role, failure.reason),
                (_, Err(failure)) => (commit.role, failure.reason),
            };
            skipped.push(SkippedBench { id, side: side.to_string(), reason });
        }
        (entries, skipped)
    }

    fn mark(&self, commit: &CommitInfo, gap: Option<String>) -> HistoryMark {
        HistoryMark { commit: commit.clone(), anchor: self.anchor.sha.clone(), key: self.setup.key.clone(), gap }
    }

    /// Keeps a commit that could not be measured as a gap with its reason.
    fn gap(&self, commit: &CommitInfo, reason: String) -> Result<Point> {
        let git = Some(GitFacts { sha: commit.sha.clone(), branch: None, dirty: false });
        let mut doc = document(&self.setup.opts, now(), git, None, Vec::new(), None);
        doc.history = Some(self.mark(commit, Some(reason)));
        self.keep(commit, doc)
    }

    fn keep(&self, commit: &CommitInfo, doc: RunDocument) -> Result<Point> {
        let file = {
            let _whole = crate::build::interrupt::hold();
            self.setup.points().save(&doc, &self.setup.lock).context("saving the results")?
        };
        Ok(Point { commit: commit.clone(), doc, file, reused: false })
    }

    /// Says how much disk the checkouts and builds take, when this run built something.
    pub(crate) fn report_cache(&self) {
        if self.built > 0 {
            report_cache_size(&self.setup.store, self.ctx.ui);
        }
    }
}

/// "no benchmark has a metric `x`; they have: wall, user, ...", from the results measured.
pub(crate) fn unknown_metric<'a>(name: &str, docs: impl Iterator<Item = &'a crate::results::RunDocument>) -> String {
    let mut names: Vec<&str> = docs.flat_map(|d| &d.benchmarks).flat_map(|b| b.metrics.keys()).collect();
    names.sort_unstable();
    names.dedup();
    format!("no benchmark has a metric `{name}`; they have: {}", names.join(", "))
}
