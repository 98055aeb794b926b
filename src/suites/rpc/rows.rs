//! The rows of the RPC suite, from `[package.metadata.bench.rpc]` and the command line: every
//! built-in call, pattern and scaling row against the built-in worker, then the user's calls and
//! scaling rows against the user's worker.

use std::time::Duration;

use super::bench::{RpcRow, Scenario, WorkerDef};
use super::metrics::Shape;
use super::scenarios::Group;
use crate::measure::bench::{BenchId, Param, ParamValue, Settings};
use crate::results::Unit;
use crate::suites::rpc::config::{RpcConfig, RpcTransport};
use crate::worker::builtin::Call;

/// The command line's say over the scaling rows (`suite`'s options for rpc; each field's doc
/// comment is its help).
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct ScalingArgs {
    /// rpc: the worker counts of the scaling rows (replacing the configured ones).
    #[arg(long, value_delimiter = ',', value_name = "N,N,...", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub counts: Vec<u32>,
    /// rpc: no scaling row with more workers than this.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_workers: Option<u32>,
    /// rpc: add 50 and 100 workers to the default scaling rows.
    #[arg(long)]
    pub large: bool,
}

/// The sizes of every row: the configuration's, else the defaults (smaller with `--quick`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sizes {
    /// Calls per measured round.
    pub count: u32,
    /// Calls before the first round.
    pub warmup: u32,
    /// The deepest chain.
    pub depth: u32,
    /// Worker counts of the scaling rows.
    pub workers: Vec<u32>,
    /// Workers called at once.
    pub fan_out: u32,
    /// Transports of the calls and patterns.
    pub transports: Vec<RpcTransport>,
    /// Bytes a round may move in all: large payloads get fewer calls.
    pub round_bytes: u64,
}

/// Per-test timeout when the table does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Sizes {
    /// The configured sizes, with defaults for what it leaves out.
    pub fn new(cfg: &RpcConfig, quick: bool, scaling: &ScalingArgs) -> Sizes {
        let mut workers = if !scaling.counts.is_empty() {
            scaling.counts.clone()
        } else if let Some(w) = &cfg.workers {
            w.clone()
        } else {
            let mut w = vec![1, 5, 10, 20];
            if scaling.large {
                w.extend([50, 100]);
            }
            w
        };
        if let Some(max) = scaling.max_workers {
            workers.retain(|n| *n <= max);
        }
        workers.sort_unstable();
        workers.dedup();
        Sizes {
            count: cfg.count.unwrap_or(if quick { 100 } else { 1000 }),
            warmup: cfg.warmup.unwrap_or(if quick { 2 } else { 5 }),
            depth: cfg.depth.unwrap_or(4),
            workers,
            fan_out: cfg.fan_out.unwrap_or(4),
            transports: cfg.transports.clone().unwrap_or_else(|| vec![RpcTransport::Ipc]),
            round_bytes: if quick { 256 << 20 } else { 1 << 30 },
        }
    }

    /// Calls per round for a payload: the configured count, fewer for payloads so large that
    /// the round would move more than [`Sizes::round_bytes`] (at least 5).
    pub fn calls_for(&self, payload: u64) -> u32 {
        crate::suites::per_round(self.count, payload, self.round_bytes, 5)
    }
}

/// The user's worker as the rows need it.
pub struct UserRows {
    /// Its name in ids.
    pub name: String,
    /// How to start it.
    pub worker: crate::suites::UserCommand,
    /// The calls to make: method and payload size.
    pub calls: Vec<(String, u64)>,
}

/// What the rows are made from.
pub struct RowsInput<'a> {
    /// The package.
    pub package: &'a str,
    /// The sizes.
    pub sizes: Sizes,
    /// `--scenario`: only these groups; all when empty.
    pub groups: &'a [Group],
    /// Run policy and thresholds.
    pub settings: Settings,
    /// The user's worker.
    pub user: Option<UserRows>,
    /// Memory available now, for skipping payloads that cannot fit.
    pub mem_available: Option<u64>,
}

fn text(name: &str, v: &str) -> Param {
    Param { name: name.into(), value: ParamValue::Text(v.into()), unit: None }
}

fn number(name: &str, v: f64, unit: Unit) -> Param {
    Param { name: name.into(), value: ParamValue::Number(v), unit: Some(unit) }
}

/// Why a call of this payload cannot run here: the host holds the payload and the message it
/// sends, the worker the message it receives.
fn too_big(payload: u64, available: Option<u64>) -> Option<String> {
    let need = payload.saturating_mul(3);
    let available = available?;
    (need > available).then(|| {
        format!(
            "a {} payload needs about {} of memory (the payload three times), and {} is available",
            crate::units::format_size(payload as f64),
            crate::units::format_size(need as f64),
            crate::units::format_size(available as f64)
        )
    })
}

/// The rows, in report order.
pub fn rows(input: &RowsInput) -> Vec<RpcRow> {
    let wants = |g: Group| input.groups.is_empty() || input.groups.contains(&g);
    let builtin = WorkerDef::Builtin;
    let user = input.user.as_ref().map(|u| (u, WorkerDef::User(u.worker.clone())));
    // The built-in worker, then the user's: the same built-in calls and patterns (a worker that
    // lacks one of those methods skips its row), then its own calls.
    let workers: Vec<(&str, &WorkerDef)> =
        std::iter::once(("builtin", &builtin)).chain(user.iter().map(|(u, def)| (u.name.as_str(), def))).collect();
    let maker = |group: Group| Maker { input, group };
    let mut out = Vec::new();
    if wants(Group::Calls) {
        let user_calls = user.as_ref().map(|(u, def)| (def, *u));
        out.extend(call_rows(&maker(Group::Calls), &workers, user_calls));
    }
    if wants(Group::Patterns) {
        out.extend(pattern_rows(&maker(Group::Patterns), &workers));
    }
    if wants(Group::Scaling) {
        out.extend(scaling_rows(&maker(Group::Scaling), &workers));
    }
    link_to_builtin(&mut out);
    out
}

/// Makes the ids and rows of one scenario group.
struct Maker<'a> {
    input: &'a RowsInput<'a>,
    group: Group,
}

impl Maker<'_> {
    /// `rpc/<package>/<name>[worker=…,transport=…,<params>]`.
    fn id(&self, name: &str, worker_name: &str, transport: Option<RpcTransport>, params: Vec<Param>) -> BenchId {
        let mut id = BenchId::new(super::KIND, self.input.package, name);
        id.params.push(text("worker", worker_name));
        if let Some(t) = transport {
            id.params.push(text("transport", t.as_str()));
        }
        id.params.extend(params);
        id
    }

    fn row(
        &self,
        id: BenchId,
        scenario: Scenario,
        worker: &WorkerDef,
        transport: RpcTransport,
        calls: u32,
        shape: Shape,
    ) -> RpcRow {
        RpcRow {
            id,
            settings: self.input.settings.clone(),
            scenario,
            worker: worker.clone(),
            transport,
            calls,
            warmup: self.input.sizes.warmup,
            shape,
            skip: None,
            reference: None,
            group: Some(self.group),
        }
    }
}

/// Calls of one method, timed one by one: every built-in call on every worker, then the user's
/// own calls on the user's worker; a payload that cannot fit in memory is skipped.
fn call_rows(m: &Maker, workers: &[(&str, &WorkerDef)], user: Option<(&WorkerDef, &UserRows)>) -> Vec<RpcRow> {
    let s = &m.input.sizes;
    let mut out = Vec::new();
    for &t in &s.transports {
        for &(name, def) in workers {
            for call in Call::ALL {
                let size = call.payload_size() as u64;
                let params = vec![text("method", call.method()), number("payload", size as f64, Unit::Bytes)];
                let scenario =
                    Scenario::Call { method: call.method().into(), payload: size as usize, builtin: Some(call) };
                let id = m.id("call", name, Some(t), params);
                let mut r = m.row(id, scenario, def, t, s.calls_for(size), Shape::Call);
                r.skip = too_big(size, m.input.mem_available);
                out.push(r);
            }
        }
        if let Some((def, rows)) = user {
            let name = rows.name.as_str();
            for (method, size) in &rows.calls {
                let params = vec![text("method", method), number("payload", *size as f64, Unit::Bytes)];
                let scenario = Scenario::Call { method: method.clone(), payload: *size as usize, builtin: None };
                let id = m.id("call", name, Some(t), params);
                let mut r = m.row(id, scenario, def, t, s.calls_for(*size), Shape::Call);
                r.skip = too_big(*size, m.input.mem_available);
                out.push(r);
            }
        }
    }
    out
}

/// Chains of each depth, the singleton counter and the fan-out, per transport and worker.
fn pattern_rows(m: &Maker, workers: &[(&str, &WorkerDef)]) -> Vec<RpcRow> {
    let s = &m.input.sizes;
    let mut out = Vec::new();
    for &t in &s.transports {
        for &(name, def) in workers {
            for depth in 1..=s.depth {
                let id = m.id("chain", name, Some(t), vec![number("depth", depth as f64, Unit::Count)]);
                out.push(m.row(id, Scenario::Chain { depth }, def, t, s.count, Shape::Chain));
            }
            let id = m.id("singleton", name, Some(t), Vec::new());
            out.push(m.row(id, Scenario::Singleton, def, t, s.count, Shape::Singleton));
            let n = s.fan_out;
            let id = m.id("fan-out", name, Some(t), vec![number("workers", n as f64, Unit::Count)]);
            out.push(m.row(id, Scenario::FanOut { workers: n }, def, t, s.count, Shape::FanOut));
        }
    }
    out
}

/// Each count of workers started together, per worker.
fn scaling_rows(m: &Maker, workers: &[(&str, &WorkerDef)]) -> Vec<RpcRow> {
    let s = &m.input.sizes;
    // Memory does not depend on the transport much: the first one is used.
    let t = s.transports[0];
    let mut out = Vec::new();
    for &(name, def) in workers {
        for &n in &s.workers {
            let id = m.id("workers", name, None, vec![number("count", n as f64, Unit::Count)]);
            out.push(m.row(id, Scenario::Workers { count: n }, def, t, 1, Shape::Workers));
        }
    }
    out
}

/// Each row of the user's worker is measured against the built-in worker's row with the same
/// parameters, interleaved, when there is one.
fn link_to_builtin(out: &mut [RpcRow]) {
    let ids: Vec<String> = out.iter().map(|r| r.id.render()).collect();
    for row in out.iter_mut().filter(|r| matches!(r.worker, WorkerDef::User(_))) {
        let mut floor = row.id.clone();
        floor.params[0] = text("worker", "builtin");
        let floor = floor.render();
        if ids.contains(&floor) {
            row.reference = Some(floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::policy::{RunCount, RunPolicy};
    use crate::results::{Limit, Thresholds};

    fn settings() -> Settings {
        Settings {
            policy: RunPolicy { warmup: 0, runs: RunCount::Exactly(3) },
            thresholds: Thresholds::DEFAULT,
            limits: Vec::<Limit>::new(),
            timeout: DEFAULT_TIMEOUT,
            default_entry: false,
            precision: None,
            processes: 2,
        }
    }

    #[test]
    fn every_call_pattern_and_count_is_a_row_and_large_payloads_make_fewer_calls() {
        let sizes = Sizes::new(&RpcConfig::default(), false, &ScalingArgs::default());
        assert_eq!((sizes.count, sizes.warmup, sizes.workers.clone()), (1000, 5, vec![1, 5, 10, 20]));
        assert_eq!(sizes.calls_for(8), 1000);
        assert_eq!(sizes.calls_for(8 << 20), 128);
        assert_eq!(sizes.calls_for(50 << 20), 20);
        let input = RowsInput {
            package: "p",
            sizes,
            groups: &[],
            settings: settings(),
            user: None,
            mem_available: Some(1 << 40),
        };
        let ids: Vec<String> = rows(&input).iter().map(|r| r.id.render()).collect();
        assert_eq!(ids[0], "rpc/p/call[worker=builtin,transport=ipc,method=small_int,payload=8 B]");
        assert!(ids.contains(&"rpc/p/chain[worker=builtin,transport=ipc,depth=4]".to_string()));
        assert!(ids.contains(&"rpc/p/workers[worker=builtin,count=20]".to_string()));
        assert_eq!(ids.len(), 4 + 4 + 2 + 4);
    }

    #[test]
    fn a_users_worker_gets_every_builtin_row_too_each_against_the_builtin_workers() {
        let user = UserRows {
            name: "py".into(),
            worker: crate::suites::UserCommand {
                program: crate::measure::process::core::Program::Path("python3".into()),
                args: vec!["worker.py".into()],
                env: Default::default(),
                cwd: "/p".into(),
            },
            calls: vec![("shout".into(), 64)],
        };
        let cfg = RpcConfig { depth: Some(2), workers: Some(vec![1]), ..RpcConfig::default() };
        let input = RowsInput {
            package: "p",
            sizes: Sizes::new(&cfg, true, &ScalingArgs::default()),
            groups: &[],
            settings: settings(),
            user: Some(user),
            mem_available: Some(1 << 40),
        };
        let rows = rows(&input);
        let builtin: Vec<&RpcRow> = rows.iter().filter(|r| matches!(r.worker, WorkerDef::Builtin)).collect();
        let users: Vec<&RpcRow> = rows.iter().filter(|r| matches!(r.worker, WorkerDef::User(_))).collect();
        // 4 calls, chains of depth 1 and 2, singleton, fan-out, 1 scaling row each; and `shout`.
        assert_eq!((builtin.len(), users.len()), (9, 10));
        for r in &users {
            let own = r.id.render().contains("method=shout");
            let floor = r.id.render().replace("[worker=py,", "[worker=builtin,");
            assert_eq!(r.reference.as_deref(), (!own).then_some(floor.as_str()), "{}", r.id.render());
            assert!(builtin.iter().any(|b| b.id.render() == floor) != own);
        }
        assert!(builtin.iter().all(|r| r.reference.is_none()));
    }

    #[test]
    fn the_command_line_picks_worker_counts_and_payloads_too_big_are_skipped() {
        let scaling = ScalingArgs { counts: vec![], max_workers: Some(10), large: true };
        assert_eq!(Sizes::new(&RpcConfig::default(), true, &scaling).workers, vec![1, 5, 10]);
        let counts = ScalingArgs { counts: vec![3, 1], ..ScalingArgs::default() };
        assert_eq!(Sizes::new(&RpcConfig::default(), true, &counts).workers, vec![1, 3]);
        let input = RowsInput {
            package: "p",
            sizes: Sizes::new(&RpcConfig::default(), true, &ScalingArgs::default()),
            groups: &[Group::Calls],
            settings: settings(),
            user: None,
            mem_available: Some(100 << 20),
        };
        let rows = rows(&input);
        assert_eq!(rows.iter().filter(|r| r.skip.is_some()).count(), 1, "only the 50 MiB call");
        assert!(rows[3].skip.as_deref().unwrap().contains("needs about 150 MiB"), "{:?}", rows[3].skip);
    }
}
