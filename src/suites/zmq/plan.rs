//! The ZeroMQ suite to the plan: its `[package.metadata.bench.zmq]` table and its rows.

use std::sync::Arc;

use super::bench::ZmqBench;
use super::row::UserServer;
use super::rows::{self, RowsInput, Sizes, UserRows};
use super::scenarios::{Group, GROUPS};
use super::KIND;
use crate::discover::config::{Ready, Site};
use crate::error::UserError;
use crate::measure::bench::Bench;
use crate::measure::kind::{config_of, Kind, KindConfig, KindInfo};
use crate::measure::package::PackageContext;
use crate::results::Readiness;
use crate::suites::zmq::config::{self as config, ServerConfig, ZmqConfig};
use crate::suites::{user_command, Scenarios};

/// The ZeroMQ suite.
pub struct Zmq;

static INFO: KindInfo = KindInfo::suite(KIND, "The ZeroMQ suite", GROUPS).with_roles(super::roles::ROLES);

impl Kind for Zmq {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError> {
        Ok(Box::new(config::parse(value, site.manifest, site.package_dir, site.bins)?))
    }

    /// The rows of the ZeroMQ suite. Rounds are long, so a row makes `iterations` of them (3
    /// unless said) after one warmup, `--quick` or not; `--runs` and `--warmup` still rule.
    fn plan(&self, config: Option<&KindConfig>, package: &PackageContext) -> Result<Vec<Box<dyn Bench>>, UserError> {
        let Some(cfg) = config_of::<ZmqConfig>(config) else { return Ok(Vec::new()) };
        let settings = package.suite_settings(cfg.iterations, 1, package.timeout);
        let users = cfg
            .servers
            .iter()
            .map(|server| {
                Ok(UserRows {
                    name: server.program.name.clone(),
                    pattern: server.pattern,
                    server: user_server(package, server)?,
                })
            })
            .collect::<Result<_, UserError>>()?;
        let groups = Group::named(&package.plan_options.scenarios);
        let input = RowsInput {
            package: &package.member.name,
            sizes: Sizes::new(cfg, package.plan_options.quick),
            groups: &groups,
            settings,
            users,
            no_curve: super::curve_missing(),
        };
        Ok(rows::rows(&input).into_iter().map(|row| Box::new(ZmqBench::new(row)) as Box<dyn Bench>).collect())
    }
}

fn user_server(package: &PackageContext, server: &ServerConfig) -> Result<UserServer, UserError> {
    let command = user_command(package, &server.program)?;
    let key = &server.program.key;
    // Without a `ready`, the server is ready when its endpoint takes connections.
    let ready = match &server.ready {
        Some(ready) => package.readiness(ready.clone(), key)?,
        None => match server.endpoint.strip_prefix("ipc://") {
            Some(path) => Readiness::File { path: path.into() },
            None => {
                let addr = server.endpoint.trim_start_matches("tcp://").replace("localhost", "127.0.0.1");
                package.readiness(Ready::Tcp { addr }, key)?
            }
        },
    };
    Ok(UserServer {
        command,
        endpoint: server.endpoint.clone(),
        ready,
        timeout: server.timeout.unwrap_or(package.timeout),
        request: server.request.clone().map(Arc::new),
        reply: server.reply.clone().map(Arc::new),
    })
}
