//! The tensor suite to the plan: its `[package.metadata.bench.tensor]` table and its rows.

use super::bench::TensorBench;
use super::config::{self, Device, TensorConfig};
use super::rows::{self, Machine, RowsInput, TensorArgs};
use super::scenarios::{Group, GROUPS};
use super::KIND;
use crate::discover::config::Site;
use crate::error::UserError;
use crate::measure::bench::Bench;
use crate::measure::kind::{config_of, Kind, KindConfig, KindInfo, Role};
use crate::measure::package::PackageContext;
use crate::results::HostFacts;
use crate::suites::Scenarios;

/// The tensor suite.
pub struct Tensor;

static INFO: KindInfo = KindInfo::suite(KIND, "The tensor suite", GROUPS)
    .with_roles(&[Role { name: "tensor", main: worker }, Role { name: "cuda-memcpy", main: super::memcpy::main }]);

/// The suite's built-in worker ([`super::worker`]).
fn worker(_args: &[String]) -> Result<(), String> {
    super::worker::serve()
}

impl Kind for Tensor {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError> {
        Ok(Box::new(config::parse(value, site.manifest)?))
    }

    fn host_facts(&self, facts: &mut HostFacts) {
        facts.torch = super::torch_facts();
    }

    /// The rows of the tensor suite: `iterations` rounds (3 unless said) after the warm round
    /// trip each row makes when it starts; `--runs` and `--warmup` still rule.
    fn plan(&self, config: Option<&KindConfig>, package: &PackageContext) -> Result<Vec<Box<dyn Bench>>, UserError> {
        let Some(cfg) = config_of::<TensorConfig>(config) else { return Ok(Vec::new()) };
        let args = package.args::<TensorArgs>().cloned().unwrap_or_default();
        let timeout = cfg.timeout.unwrap_or(rows::DEFAULT_TIMEOUT);
        let settings = package.suite_settings(cfg.iterations, 0, timeout);
        let wants_cuda = args.devices.contains(&Device::Cuda)
            || (args.devices.is_empty() && cfg.devices.as_ref().is_none_or(|d| d.contains(&Device::Cuda)));
        let no_cuda = (wants_cuda && !args.no_gpu).then(super::no_cuda).flatten();
        let groups = Group::named(&package.plan_options.scenarios);
        let input = RowsInput {
            package: &package.member.name,
            cfg,
            args: &args,
            quick: package.plan_options.quick,
            groups: &groups,
            settings,
            machine: Machine { no_cuda },
        };
        Ok(rows::rows(&input).into_iter().map(|row| Box::new(TensorBench::new(row)) as Box<dyn Bench>).collect())
    }
}
