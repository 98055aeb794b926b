//! What to run: the benchmarks every registered kind makes of the selected packages, from the
//! configuration and the command line (docs/ARCHITECTURE.md, "Adding a kind").

pub mod old_results;
mod registry;

use anyhow::Result;

pub use registry::Registry;

use crate::build::ArtifactRef;
use crate::discover::config::{self, PackageTable, Site};
use crate::discover::workspace::{Member, Workspace};
use crate::error::UserError;
use crate::measure::bench::{Bench, PackageSide, RunFailure, SideMap};
use crate::measure::kind::{Family, Kind, KindConfig, Selector};
use crate::measure::package::{PackageContext, PlanOptions};
use crate::measure::process::cache::CacheMode;

/// Everything a run will do.
#[derive(Default)]
pub struct Plan {
    /// Benchmarks in workspace order: per package its start, load and python entries.
    pub benches: Vec<Box<dyn Bench>>,
    /// Things in the manifests worth a warning (a table under a near-miss name).
    pub warnings: Vec<String>,
}

impl Plan {
    /// The targets cargo must build for this plan, without repeats.
    pub fn to_build(&self) -> Vec<ArtifactRef> {
        let mut out: Vec<ArtifactRef> = self.benches.iter().flat_map(|b| b.needs()).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// One package's configuration, read by every kind of the registry.
pub struct PackageConfig {
    /// Its settings and the kinds' keys as written.
    pub table: PackageTable,
    /// Each kind's parsed key, by kind name (absent when the package has none).
    pub kinds: Vec<(&'static str, KindConfig)>,
}

impl PackageConfig {
    /// The configuration the kind `name` parsed.
    pub fn get(&self, name: &str) -> Option<&KindConfig> {
        self.kinds.iter().find(|(n, _)| *n == name).map(|(_, c)| c)
    }
}

/// Reads one package's table: its settings and every registered kind's key, each parsed by its
/// kind.
pub fn package_config(
    member: &Member,
    defaults: &config::PackageSettings,
    kinds: &Registry,
) -> Result<PackageConfig, UserError> {
    let table = config::package_config(&member.metadata, &member.manifest, defaults, &kinds.names())?;
    let mut parsed = Vec::new();
    for kind in kinds.iter() {
        let Some(value) = table.kinds.get(kind.name()) else { continue };
        let site = Site {
            kind: kind.name(),
            manifest: &member.manifest,
            package_dir: member.dir(),
            bins: &member.bins,
            libs: &member.libs,
        };
        parsed.push((kind.name(), kind.parse(value, &site)?));
    }
    Ok(PackageConfig { table, kinds: parsed })
}

/// Whether `kind` takes part in a run with these options: asked for (or no kind named), and
/// answering the target selector given, if any.
fn takes_part(kind: &dyn Kind, plan_options: &PlanOptions) -> bool {
    let answers = match kind.info().selector {
        Selector::Bins => plan_options.libs.is_empty(),
        Selector::Libs => plan_options.bins.is_empty(),
        Selector::Neither => plan_options.bins.is_empty() && plan_options.libs.is_empty(),
    };
    plan_options.wants(kind.name()) && answers
}

/// Reads every selected package's configuration and makes the plan: per package, the
/// benchmarks of each kind in the registry's order.
pub fn plan(ws: &Workspace, kinds: &Registry, plan_options: &PlanOptions) -> Result<Plan> {
    check_selection(ws, plan_options)?;
    if plan_options.instructions {
        crate::measure::process::instructions::find_valgrind().map_err(|what| UserError::MissingTool {
            what,
            hint: "`--measure instructions` and `--measure profile` run the starts under valgrind: install \
                   it (`apt-get install valgrind` on Debian and Ubuntu, `dnf install valgrind` on Fedora) or \
                   leave the option out"
                .into(),
        })?;
    }
    let defaults =
        config::workspace_defaults(&ws.metadata, &ws.root_manifest, &kinds.names(), &kinds.names_of(Family::Process))?;
    let mut plan = Plan {
        warnings: config::near_misses(&ws.metadata, "workspace.metadata", &ws.root_manifest),
        ..Plan::default()
    };
    let mut configs = Vec::with_capacity(ws.members.len());
    for member in &ws.members {
        plan.warnings.extend(config::near_misses(&member.metadata, "package.metadata", &member.manifest));
        configs.push(package_config(member, &defaults, kinds)?);
    }
    for kind in kinds.iter() {
        let packages: Vec<(&Member, Option<&KindConfig>)> =
            ws.members.iter().zip(&configs).map(|(m, c)| (m, c.get(kind.name()))).collect();
        kind.check_workspace(&packages)?;
    }
    for (member, cfg) in ws.members.iter().zip(&configs) {
        let package = PackageContext::new(member, &cfg.table.manifest, &cfg.table.settings, plan_options);
        for kind in kinds.iter().filter(|k| takes_part(*k, plan_options)) {
            plan.benches.extend(kind.plan(cfg.get(kind.name()), &package)?);
        }
    }
    if plan.benches.is_empty() && !plan_options.lenient {
        if let [only] = plan_options.kinds[..] {
            if kinds.get(only).is_some_and(|k| k.family() == Family::Suite) {
                return Err(UserError::NoSuite { suite: only }.into());
            }
        }
        let names: Vec<&str> = ws.members.iter().map(|m| m.name.as_str()).collect();
        return Err(UserError::NothingToRun {
            detail: format!("the selected packages ({}) have nothing of the kind asked for", names.join(", ")),
        }
        .into());
    }
    Ok(plan)
}

fn check_selection(ws: &Workspace, plan_options: &PlanOptions) -> Result<()> {
    let all_bins: Vec<&String> = ws.members.iter().flat_map(|m| &m.bins).collect();
    for wanted in &plan_options.bins {
        if !all_bins.contains(&wanted) && !plan_options.lenient {
            let mut available: Vec<String> = all_bins.iter().map(|s| s.to_string()).collect();
            available.sort();
            available.dedup();
            return Err(UserError::UnknownBin { name: wanted.clone(), available }.into());
        }
    }
    let all_libs: Vec<String> = ws.members.iter().flat_map(|m| &m.libs).map(|l| l.replace('-', "_")).collect();
    for wanted in &plan_options.libs {
        if !all_libs.contains(&wanted.replace('-', "_")) && !plan_options.lenient {
            let mut available = all_libs.clone();
            available.sort();
            available.dedup();
            return Err(UserError::UnknownLib { name: wanted.clone(), available }.into());
        }
    }
    if plan_options.cache == Some(CacheMode::Drop) {
        crate::measure::process::cache::check_drop_allowed().map_err(UserError::Invalid)?;
    }
    Ok(())
}

/// The other side of a comparison as the definitions made on `from` see it.
pub fn side_map(from: &Workspace, to: &Workspace, at: &str) -> SideMap {
    SideMap {
        packages: to
            .all_members
            .iter()
            .map(|m| {
                let side = PackageSide { dir: m.dir().to_path_buf(), bins: m.bins.clone(), libs: m.libs.clone() };
                (m.name.clone(), side)
            })
            .collect(),
        from_root: from.root.clone(),
        from_target_dir: from.target_dir.clone(),
        to_root: to.root.clone(),
        at: at.to_string(),
    }
}

/// Applies a plan's definitions to the other side of a comparison: each benchmark bound there,
/// or why it cannot be.
pub fn bind(defs: &Plan, other: &SideMap) -> Vec<Result<Box<dyn Bench>, RunFailure>> {
    defs.benches.iter().map(|b| b.rebind(other)).collect()
}
