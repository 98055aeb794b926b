//! The RPC suite to the plan: its `[package.metadata.bench.rpc]` table and its rows.

use super::bench::RpcBench;
use super::rows::{self, RowsInput, ScalingArgs, Sizes, UserRows};
use super::scenarios::{Group, GROUPS};
use super::KIND;
use crate::discover::config::Site;
use crate::error::UserError;
use crate::measure::bench::Bench;
use crate::measure::kind::{config_of, Kind, KindConfig, KindInfo, Role};
use crate::measure::package::PackageContext;
use crate::suites::rpc::config::{self as config, RpcConfig};
use crate::suites::{user_command, Scenarios};

/// The RPC suite.
pub struct Rpc;

static INFO: KindInfo =
    KindInfo::suite(KIND, "The RPC suite", GROUPS).with_roles(&[Role { name: "rpc", main: worker }]);

/// The suite's built-in worker: [`crate::worker::Worker`] with its built-in methods, on the
/// transport its environment names.
fn worker(_args: &[String]) -> Result<(), String> {
    crate::worker::Worker::new().serve_from_env()
}

impl Kind for Rpc {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError> {
        Ok(Box::new(config::parse(value, site.manifest, site.bins)?))
    }

    /// The rows of the RPC suite: `iterations` rounds (3 unless said), no warmup round (the
    /// warmup calls are made when a row's worker starts); `--runs` and `--warmup` still rule.
    fn plan(&self, config: Option<&KindConfig>, package: &PackageContext) -> Result<Vec<Box<dyn Bench>>, UserError> {
        let Some(cfg) = config_of::<RpcConfig>(config) else { return Ok(Vec::new()) };
        let timeout = cfg.timeout.unwrap_or(rows::DEFAULT_TIMEOUT);
        let settings = package.suite_settings(cfg.iterations, 0, timeout);
        let user = match &cfg.worker {
            Some(w) => Some(UserRows {
                name: w.name.clone(),
                worker: user_command(package, w)?,
                calls: cfg.calls.iter().map(|c| (c.method.clone(), c.payload)).collect(),
            }),
            None => None,
        };
        let scaling = package.args::<ScalingArgs>().cloned().unwrap_or_default();
        let groups = Group::named(&package.plan_options.scenarios);
        let input = RowsInput {
            package: &package.member.name,
            sizes: Sizes::new(cfg, package.plan_options.quick, &scaling),
            groups: &groups,
            settings,
            user,
            mem_available: crate::suites::server::mem_available(),
        };
        Ok(rows::rows(&input).into_iter().map(|row| Box::new(RpcBench::new(row)) as Box<dyn Bench>).collect())
    }
}
