//! The load kind to the plan: its key of `[package.metadata.bench]` (`[[…load]]` entries, or
//! every `cdylib`/`dylib` when there is none) and its benchmarks.

use std::collections::BTreeMap;

use super::{all_metrics, LoadBench, LoadDef, KIND};
use crate::build::ArtifactRef;
use crate::discover::config::{self, LoadEntry, Site};
use crate::discover::workspace::Member;
use crate::error::UserError;
use crate::measure::bench::{Bench, BenchId};
use crate::measure::kind::{config_of, Family, Kind, KindConfig, KindInfo, Selector};
use crate::measure::package::{PackageContext, PlanOptions};
use crate::results::{MetricDesc, OrderedMap};

/// The load kind.
pub struct Load;

static INFO: KindInfo = KindInfo {
    name: KIND,
    family: Family::Process,
    selector: Selector::Libs,
    about: "Run only the library load benchmarks (cdylib/dylib targets and [[load]] entries)",
    has_subcommand: true,
    calibrated_by_time: true,
    groups: &[],
    roles: &[],
};

impl Kind for Load {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError> {
        Ok(Box::new(config::load_entries(value, site)?))
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

fn entries(member: &Member, configured: Option<&Vec<LoadEntry>>, plan_options: &PlanOptions) -> Vec<LoadEntry> {
    let mut entries: Vec<LoadEntry> = configured.cloned().unwrap_or_else(|| {
        // A Python extension only loads inside Python: measure it with [[python]] instead.
        if member.python_extension {
            Vec::new()
        } else {
            member.libs.iter().map(|l| default_load(l)).collect()
        }
    });
    if !plan_options.libs.is_empty() {
        let wanted: Vec<String> = plan_options.libs.iter().map(|l| l.replace('-', "_")).collect();
        entries.retain(|e| wanted.contains(&e.lib.replace('-', "_")));
        for lib in member.libs.iter().filter(|l| wanted.contains(&l.replace('-', "_"))) {
            if !entries.iter().any(|e| &e.lib == lib) {
                entries.push(default_load(lib));
            }
        }
    }
    entries
}

fn bench(package: &PackageContext, entry: LoadEntry) -> Result<Box<dyn Bench>, UserError> {
    let def = LoadDef {
        id: BenchId::new(KIND, &package.member.name, &entry.name),
        settings: package.settings(KIND, &entry.key, &entry.budget, all_metrics())?,
        lib: ArtifactRef::lib(&package.member.name, &entry.lib),
        symbol: entry.symbol,
        env: entry.env,
        cwd: package.member.dir().to_path_buf(),
        cache: package.cache,
    };
    Ok(Box::new(LoadBench::new(def)))
}

fn default_load(lib: &str) -> LoadEntry {
    LoadEntry {
        key: String::new(),
        lib: lib.to_string(),
        symbol: None,
        name: lib.to_string(),
        env: BTreeMap::new(),
        budget: BTreeMap::new(),
    }
}
