//! The start kind to the plan: its key of `[package.metadata.bench]` (`[[…start]]` entries, or
//! every binary run with `--help` when there is none) and its benchmarks.

use std::collections::BTreeMap;

use super::{all_metrics, StartBench, StartDef, KIND};
use crate::discover::config::{self, Ready, Site, StartEntry, Target};
use crate::discover::workspace::Member;
use crate::error::UserError;
use crate::measure::bench::{Bench, BenchId, ReferenceSpec};
use crate::measure::kind::{config_of, Family, Kind, KindConfig, KindInfo, Selector};
use crate::measure::package::{PackageContext, PlanOptions};
use crate::results::{MetricDesc, OrderedMap};

/// The start kind.
pub struct Start;

static INFO: KindInfo = KindInfo {
    name: KIND,
    family: Family::Process,
    selector: Selector::Bins,
    about: "Run only the start benchmarks (binaries and commands)",
    has_subcommand: true,
    calibrated_by_time: true,
    groups: &[],
    roles: &[],
};

impl Kind for Start {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError> {
        Ok(Box::new(config::start_entries(value, site)?))
    }

    /// A `reference` names an entry of the same package; naming one of another package, or
    /// nothing, is an error that says where the name lives.
    fn check_workspace(&self, packages: &[(&Member, Option<&KindConfig>)]) -> Result<(), UserError> {
        let names: Vec<(String, Vec<String>)> = packages
            .iter()
            .map(|(m, c)| {
                let entries = config_of::<Vec<StartEntry>>(*c);
                (m.name.clone(), config::entry_names(entries.map(Vec::as_slice), &m.bins))
            })
            .collect();
        for (member, c) in packages {
            if let Some(entries) = config_of::<Vec<StartEntry>>(*c) {
                let elsewhere: Vec<(String, Vec<String>)> =
                    names.iter().filter(|(name, _)| *name != member.name).cloned().collect();
                config::check_references(entries, &member.manifest, &elsewhere)?;
            }
        }
        Ok(())
    }

    fn old_result_metrics(&self) -> Option<OrderedMap<MetricDesc>> {
        Some(all_metrics())
    }

    fn plan(&self, config: Option<&KindConfig>, package: &PackageContext) -> Result<Vec<Box<dyn Bench>>, UserError> {
        entries(package.member, config_of(config), package.plan_options)
            .into_iter()
            .map(|e| bench(package, e))
            .collect()
    }
}

fn entries(member: &Member, configured: Option<&Vec<StartEntry>>, plan_options: &PlanOptions) -> Vec<StartEntry> {
    let mut entries: Vec<StartEntry> =
        configured.cloned().unwrap_or_else(|| member.bins.iter().map(|b| default_start(b)).collect());
    if !plan_options.bins.is_empty() {
        let all = entries.clone();
        entries.retain(|e| matches!(&e.target, Target::Bin(b) if plan_options.bins.contains(b)));
        // An explicitly requested bin without an entry of its own is run the default way.
        for wanted in plan_options.bins.iter().filter(|b| member.bins.contains(b)) {
            if !entries.iter().any(|e| e.target == Target::Bin(wanted.clone())) {
                entries.push(default_start(wanted));
            }
        }
        // A selected entry runs against its reference: bring in the references it needs, in
        // configuration order.
        let mut wanted: Vec<String> = Vec::new();
        let mut queue: Vec<String> = entries.iter().filter_map(|e| e.reference.clone()).collect();
        while let Some(name) = queue.pop() {
            if wanted.contains(&name) || entries.iter().any(|e| e.name == name) {
                continue;
            }
            if let Some(r) = all.iter().find(|e| e.name == name) {
                queue.extend(r.reference.clone());
            }
            wanted.push(name);
        }
        let position = |name: &str| all.iter().position(|e| e.name == name).unwrap_or(usize::MAX);
        entries.extend(all.iter().filter(|e| wanted.contains(&e.name)).cloned());
        entries.sort_by_key(|e| position(&e.name));
    }
    entries
}

fn bench(package: &PackageContext, mut entry: StartEntry) -> Result<Box<dyn Bench>, UserError> {
    let dir = package.member.dir();
    let (program, mut args) = package.program(&entry.target, &entry.key)?;
    args.extend(entry.args);
    let readiness = package.readiness(entry.ready, &entry.key)?;
    let min_speedup = config::min_speedups(&entry.budget, &entry.key, package.manifest)?;
    entry.budget.remove(config::MIN_SPEEDUP);
    let settings = package.settings(KIND, &entry.key, &entry.budget, all_metrics())?;
    let def = StartDef {
        id: BenchId::new(KIND, &package.member.name, &entry.name),
        reference: entry.reference.map(|r| ReferenceSpec {
            id: BenchId::new(KIND, &package.member.name, &r).render(),
            head_to_head: true,
            min_speedup,
        }),
        settings,
        program,
        args,
        env: entry.env,
        cwd: dir.to_path_buf(),
        readiness,
        cache: package.cache,
        forbid_loaded: entry.forbid_loaded,
        instructions: package.instructions,
        profile: (package.profile && package.instructions.is_some()).then_some(package.top),
    };
    Ok(Box::new(StartBench::new(def)))
}

fn default_start(bin: &str) -> StartEntry {
    StartEntry {
        key: String::new(),
        target: Target::Bin(bin.to_string()),
        name: bin.to_string(),
        args: vec!["--help".to_string()],
        env: BTreeMap::new(),
        ready: Ready::Exit,
        forbid_loaded: Vec::new(),
        reference: None,
        budget: BTreeMap::new(),
    }
}
