//! The Python import kind to the plan: its `[[…python]]` entries and their benchmarks.

use super::config::{self, PythonEntry};
use super::{all_metrics, venv, PythonBench, PythonDef, KIND};
use crate::build::ArtifactRef;
use crate::discover::config::{config_error, Site};
use crate::discover::probe;
use crate::error::UserError;
use crate::measure::bench::{Bench, BenchId};
use crate::measure::kind::{config_of, Family, Kind, KindConfig, KindInfo, Selector};
use crate::measure::package::PackageContext;
use crate::results::{MetricDesc, OrderedMap};

/// The Python import kind.
pub struct Python;

static INFO: KindInfo = KindInfo {
    name: KIND,
    family: Family::Process,
    selector: Selector::Neither,
    about: "Run only the Python import benchmarks ([[python]] entries)",
    has_subcommand: false,
    calibrated_by_time: false,
    groups: &[],
    roles: &[],
};

impl Kind for Python {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError> {
        Ok(Box::new(config::python_entries(value, site)?))
    }

    fn old_result_metrics(&self) -> Option<OrderedMap<MetricDesc>> {
        Some(all_metrics())
    }

    fn plan(&self, config: Option<&KindConfig>, package: &PackageContext) -> Result<Vec<Box<dyn Bench>>, UserError> {
        let entries = config_of::<Vec<PythonEntry>>(config).map(Vec::as_slice).unwrap_or_default();
        entries.iter().map(|e| bench(package, e)).collect()
    }
}

fn bench(package: &PackageContext, entry: &PythonEntry) -> Result<Box<dyn Bench>, UserError> {
    let key = format!("{}.python", entry.key);
    let found = probe::program(&entry.python, &key, package.member.dir(), package.manifest)?;
    let python = probe::real_interpreter(&found).map_err(|e| config_error(key, package.manifest, e))?;
    let def = PythonDef {
        id: BenchId::new(KIND, &package.member.name, &entry.name),
        settings: package.settings(KIND, &entry.key, &entry.budget, all_metrics())?,
        python,
        module: entry.module.clone(),
        lib: entry.lib.as_ref().map(|l| ArtifactRef::lib(&package.member.name, l)),
        forbid_imported: entry.forbid_imported.clone(),
        watch_imported: entry.watch_imported.clone(),
        top: package.top,
        python_path: entry.python_path.clone(),
        install: entry.install.clone().map(|command| venv::Install { command, inputs: entry.install_inputs.clone() }),
        own_prefix: if entry.own_prefix.is_empty() {
            vec![entry.module.split('.').next().unwrap_or(&entry.module).to_string()]
        } else {
            entry.own_prefix.clone()
        },
        env: entry.env.clone(),
        cwd: package.member.dir().to_path_buf(),
        cache: package.cache,
    };
    Ok(Box::new(PythonBench::new(def)))
}
