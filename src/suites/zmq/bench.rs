//! One row of the ZeroMQ suite as a [`Bench`]: `prepare` starts its server (the built-in worker
//! or the user's), each run is one round of its scenario, and `teardown` stops the server and says
//! how its memory went.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::codec::Codec;
use super::load::{self, Bad, Round};
use super::memory;
use super::message::Exchange;
use super::metrics;
use super::pipeline;
use super::row::{Client, Scenario, ServerDef, ZmqRow};
use super::runtime::Runtime;
use crate::build::ArtifactRef;
use crate::measure::bench::{
    Bench, BenchId, Described, FactsReport, MetricName, Observation, PrepareEnv, ReferenceSpec, RunFailure, Settings,
    SideMap,
};
use crate::results::{MetricDesc, OrderedMap, Readiness};

/// What one round measured, before the server's share is added.
#[derive(Default)]
struct RoundOut {
    values: Vec<(MetricName, f64)>,
    histograms: Vec<(MetricName, hdrhistogram::Histogram<u64>)>,
    series: Vec<(MetricName, Vec<f64>)>,
    /// Requests the server handled, for its CPU time per request.
    requests: Option<u64>,
    /// Replies that failed the `reply` check.
    bad: Bad,
}

/// Owners of fixed endpoints: one per bench, so that the two sides of a comparison take turns.
static OWNERS: AtomicU64 = AtomicU64::new(1);

/// A row of the ZeroMQ suite.
pub struct ZmqBench {
    row: ZmqRow,
    owner: u64,
    /// What its client sends and how replies are judged.
    exchange: Exchange,
    /// Bad replies over the measured rounds (warmups included).
    bad: Bad,
    runtime: Option<Runtime>,
    /// The server's resident memory once ready, then after each round (warmups included) with
    /// the requests of that round, for as long as the same process served.
    rss: Vec<(u64, u64)>,
    command: Vec<String>,
    /// Per open-loop round: the rate achieved and the sends that left late, out of those sent.
    schedule: Vec<(f64, f64, f64)>,
}

impl ZmqBench {
    /// A bench for this row.
    pub fn new(row: ZmqRow) -> ZmqBench {
        let exchange = match &row.server {
            ServerDef::User(u) => Exchange::user(u.request.as_deref().map(Vec::as_slice), u.reply.as_deref()),
            _ => Exchange::echo(),
        };
        ZmqBench {
            row,
            owner: OWNERS.fetch_add(1, Ordering::Relaxed),
            exchange,
            bad: Bad::default(),
            runtime: None,
            rss: Vec::new(),
            command: Vec::new(),
            schedule: Vec::new(),
        }
    }

    fn round(&mut self) -> Result<RoundOut, RunFailure> {
        let rt = self.runtime.as_ref().ok_or_else(|| RunFailure::new("the benchmark was not prepared"))?;
        let ctx = &rt.ctx;
        let ex = &self.exchange;
        let round = self.row.round;
        let client = || rt.client.as_ref().ok_or_else(|| RunFailure::new("no client socket"));
        let mut out = RoundOut::default();
        match &self.row.scenario {
            Scenario::Throughput { client: kind, payload, codec, data } => {
                let bytes = data.generate(*payload);
                let cpu_before = thread_cpu();
                let r: Round = match kind {
                    Client::ReqRep => load::req_rep(client()?, ex, &bytes, *codec, round)?,
                    Client::Dealer(window) => load::dealer(client()?, ex, &bytes, *window, round)?,
                    Client::Push => load::push(client()?, rt.ack_socket.as_ref(), ex, &bytes, round)?,
                    Client::Many(n) => {
                        let mut sockets = rt.clients.borrow_mut();
                        load::many_clients(ctx, &rt.endpoint, &mut sockets, ex, &bytes, *n, round, rt.watched())?
                    }
                };
                let cpu = thread_cpu().saturating_sub(cpu_before);
                // A round of bad replies only is measured (its errors fail the gate), not lost.
                if r.messages == 0 && r.bad.count == 0 {
                    return Err(RunFailure::new("no message went through in the round"));
                }
                let secs = r.elapsed.as_secs_f64();
                out.values.push(("throughput".into(), r.messages as f64 / secs));
                // Payload bytes per second: none for a request without `{payload}`.
                if self.exchange.carries_payload() {
                    out.values.push(("bandwidth".into(), r.bytes as f64 / secs));
                }
                if *codec != Codec::None {
                    out.values.push(("compression_ratio".into(), r.bytes as f64 / r.wire_bytes.max(1) as f64));
                    out.values.push(("client_cpu".into(), cpu.as_secs_f64() / r.messages as f64));
                }
                out.requests = Some(r.messages + r.bad.count);
                out.bad = r.bad;
            }
            Scenario::Latency { rate, payload, duration } => {
                // Answers may trail the last send by as long as the server is behind.
                let drain = self.row.settings.timeout.max(Duration::from_secs(2));
                let o = load::open_loop(client()?, ex, *payload, *rate, *duration, drain)?;
                // Without one good reply there is no latency to report (the errors say why).
                if !o.latency.is_empty() {
                    out.histograms.push(("latency".into(), o.latency));
                }
                out.values.push(("achieved_rate".into(), o.achieved_rate));
                out.values.push(("late".into(), o.late as f64));
                out.values.push(("lost".into(), (o.sent - o.answered) as f64));
                out.requests = Some(o.answered);
                out.bad = o.bad;
            }
            Scenario::Tail { requests, payload } => {
                let (series, hist, bad) = load::sequential(client()?, ex, &vec![0x5a; *payload], *requests)?;
                out.requests = Some(u64::from(*requests));
                if !hist.is_empty() {
                    out.histograms.push(("latency".into(), hist));
                    out.series.push(("latency".into(), series));
                }
                out.bad = bad;
            }
            Scenario::Pipeline { stages } => {
                let r = pipeline::round(ctx, &rt.self_exe, *stages, &[0x5a; 64], round, self.row.settings.timeout)?;
                out.values.push(("throughput".into(), r.items as f64 / r.elapsed.as_secs_f64()));
                out.values.push(("ready_time".into(), r.ready.as_secs_f64()));
                out.values.push(("stages_cpu".into(), r.cpu.as_secs_f64() / r.items.max(1) as f64));
            }
            Scenario::Handshake { connections } => {
                let times = load::handshakes(ctx, &rt.endpoint, rt.curve.as_ref(), ex, *connections)?;
                let mean = times.iter().sum::<Duration>().as_secs_f64() / times.len().max(1) as f64;
                out.values.push(("handshake".into(), mean));
                out.requests = Some(times.len() as u64);
            }
        }
        if self.exchange.counts_errors() {
            out.values.push(("errors".into(), out.bad.count as f64));
        }
        Ok(out)
    }
}

/// CPU time of the calling thread (the client of a single-socket round).
fn thread_cpu() -> Duration {
    use nix::time::{clock_gettime, ClockId};
    // This thread's clock cannot fail to be read; were it to, the time reads 0.
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// Why an open-loop row did not get the load it asked for, when it did not: the generator fell
/// behind its own schedule (the machine could not generate the rate), or the answers came back
/// slower than asked (the server could not keep up). The latencies count from the schedule either
/// way, so they stay honest; the rate is what the row must not be read at.
pub fn shortfall(rate: f64, rounds: &[(f64, f64, f64)]) -> Option<String> {
    if rounds.is_empty() {
        return None;
    }
    let n = rounds.len() as f64;
    let achieved = rounds.iter().map(|r| r.0).sum::<f64>() / n;
    let late = rounds.iter().map(|r| r.1).sum::<f64>() / rounds.iter().map(|r| r.2).sum::<f64>().max(1.0);
    let rate_text = |r: f64| crate::units::format_value(crate::results::Unit::PerSecond, r);
    if late > 0.05 {
        Some(format!(
            "{:.0}% of the sends left more than 1 ms behind their schedule: this machine could not generate {} \
             (achieved {}); latencies still count from the schedule",
            late * 100.0,
            rate_text(rate),
            rate_text(achieved)
        ))
    } else if achieved < 0.9 * rate {
        Some(format!(
            "asked for {}, the server answered {}: it cannot keep up with this rate, and its latency is its queue",
            rate_text(rate),
            rate_text(achieved)
        ))
    } else {
        None
    }
}

impl Bench for ZmqBench {
    fn id(&self) -> &BenchId {
        &self.row.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        metrics::descriptors(self.row.shape, self.exchange.counts_errors())
    }

    fn settings(&self) -> &Settings {
        &self.row.settings
    }

    fn described(&self) -> Described {
        let (env, ready) = match &self.row.server {
            ServerDef::User(u) => (u.command.env.clone(), u.ready.clone()),
            _ => (BTreeMap::new(), Readiness::Stdout { pattern: "^ready ".into() }),
        };
        let args = self.command.iter().skip(1).cloned().collect();
        Described { command: self.command.clone(), args, env, ready }
    }

    fn listing(&self) -> Vec<String> {
        let payload = match &self.row.scenario {
            Scenario::Throughput { payload, .. } | Scenario::Tail { payload, .. } => *payload,
            Scenario::Latency { payload, .. } if self.exchange.echoes() => (*payload).max(8),
            Scenario::Latency { payload, .. } => *payload,
            Scenario::Handshake { .. } => b"hello".len(),
            Scenario::Pipeline { .. } => return Vec::new(),
        };
        let mut lines = vec![format!("request: {}", self.exchange.describe(payload))];
        if !matches!(self.row.scenario, Scenario::Throughput { client: Client::Push, .. }) {
            lines.push(format!("reply: {}", self.exchange.describe_judge()));
        }
        lines
    }

    fn needs(&self) -> Vec<ArtifactRef> {
        match &self.row.server {
            ServerDef::User(u) => u.command.program.artifact().cloned().into_iter().collect(),
            _ => Vec::new(),
        }
    }

    fn skip(&self) -> Option<String> {
        self.row.skip.clone()
    }

    fn reference(&self) -> Option<ReferenceSpec> {
        self.row.reference.clone().map(ReferenceSpec::explaining)
    }

    fn group(&self) -> Option<&'static str> {
        self.row.group.map(crate::suites::Scenarios::as_str)
    }

    fn rebind(&self, other: &SideMap) -> Result<Box<dyn Bench>, RunFailure> {
        let mut row = self.row.clone();
        if let ServerDef::User(user) = &mut row.server {
            user.command = user.command.rebind(&self.row.id.package, other)?;
        }
        Ok(Box::new(ZmqBench::new(row)))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), RunFailure> {
        let rt = Runtime::start(&self.row, self.owner, env)?;
        self.command = rt.command.clone();
        self.rss = rt.pid().and_then(crate::suites::server::rss).map(|r| (r, 0)).into_iter().collect();
        // Bad replies are counted per server process: each teardown says its own process's.
        self.bad = Bad::default();
        self.runtime = Some(rt);
        Ok(())
    }

    fn facts(&mut self) -> FactsReport {
        let mut report = FactsReport::default();
        let (major, minor, patch) = zmq::version();
        report.facts.other.insert("libzmq".into(), format!("{major}.{minor}.{patch}").into());
        if let Some(rt) = &self.runtime {
            report.facts.other.insert("endpoint".into(), rt.endpoint.clone().into());
        }
        report
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        let rt = self.runtime.as_mut().ok_or_else(|| RunFailure::new("the benchmark was not prepared"))?;
        let starts = rt.starts;
        rt.ensure(&self.row.scenario)?;
        if rt.starts != starts {
            // Another process now serves: its memory is a new series.
            self.rss = rt.pid().and_then(crate::suites::server::rss).map(|r| (r, 0)).into_iter().collect();
        }
        let pid = rt.pid();
        let cpu_before = pid.and_then(crate::suites::server::cpu_time);
        let start = Instant::now();
        let round = self.round();
        let elapsed = start.elapsed();
        let mut out = match round {
            Ok(out) => out,
            // A server that died explains the round's failure better than the timeout it caused.
            Err(failure) => return Err(self.runtime.as_mut().and_then(Runtime::gone).unwrap_or(failure)),
        };
        self.bad.add(std::mem::take(&mut out.bad));
        if let Some(pid) = pid {
            let cpu_after = crate::suites::server::cpu_time(pid);
            if let (Some(before), Some(after), Some(n)) = (cpu_before, cpu_after, out.requests.filter(|n| *n > 0)) {
                out.values.push(("server_cpu".into(), after.saturating_sub(before).as_secs_f64() / n as f64));
            }
            if let Some(rss) = crate::suites::server::rss(pid) {
                out.values.push(("server_rss".into(), rss as f64));
                let requests = out.requests.unwrap_or(0);
                if let Some(grown) = self.rss.last().and_then(|(before, _)| memory::per_10k(*before, rss, requests)) {
                    out.values.push(("server_rss_growth".into(), grown));
                }
                self.rss.push((rss, requests));
            }
        }
        if let Scenario::Latency { rate, duration, .. } = &self.row.scenario {
            let value = |name: &str| out.values.iter().find(|(n, _)| n == name).map_or(0.0, |(_, v)| *v);
            let sent = (duration.as_secs_f64() * rate).ceil();
            self.schedule.push((value("achieved_rate"), value("late"), sent));
        }
        Ok(Observation { elapsed, values: out.values, histograms: out.histograms, series: out.series })
    }

    fn teardown(&mut self, report: &mut FactsReport) {
        if let Some(mut rt) = self.runtime.take() {
            if let Some(gone) = rt.gone() {
                report.facts.problems.push(gone.reason);
            }
            rt.stop();
        }
        if let Scenario::Latency { rate, .. } = &self.row.scenario {
            report.warnings.extend(shortfall(*rate, &self.schedule));
        }
        memory::report(&self.rss, self.row.settings.policy.warmup as usize, report);
        if let Some(first) = &self.bad.first {
            report.warnings.push(format!(
                "{} repl{} failed the `reply` check over the rounds of a server process; the first: {first}",
                self.bad.count,
                if self.bad.count == 1 { "y" } else { "ies" }
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ZmqBench;
    use crate::build::stage::Staged;
    use crate::measure::bench::{Bench, FactsReport, PrepareEnv};
    use crate::measure::policy::NoProgress;
    use crate::measure::process::runner::RunnerSlot;
    use crate::suites::zmq::config::ZmqConfig;
    use crate::suites::zmq::rows::{self, RowsInput, Sizes};

    /// A context kept for a whole side gives every block of that side the same I/O thread: the
    /// blocks must each get their own, as they get their own server. An inproc name is bound in
    /// one context at a time, so a name still bound in the first block's context binds again in
    /// the second block's only when that is another context.
    #[test]
    fn every_block_connects_through_a_context_of_its_own() {
        let input = RowsInput {
            package: "svc",
            sizes: Sizes::new(&ZmqConfig::default(), false),
            groups: &[],
            settings: rows::tests::settings(),
            users: Vec::new(),
            no_curve: None,
        };
        let row = rows::rows(&input)
            .into_iter()
            .find(|r| r.id.name == "throughput" && r.id.render().contains("transport=inproc"))
            .expect("an inproc throughput row");
        let store = tempfile::tempdir().unwrap();
        let staged = Staged::new(store.path(), "t", Default::default()).unwrap();
        let runner = RunnerSlot::new();
        let exe = std::env::current_exe().unwrap();
        let env = PrepareEnv { staged: &staged, self_exe: &exe, runner: &runner, progress: &NoProgress };
        let mut bench = ZmqBench::new(row);
        let mut probes = Vec::new();
        for block in 0..2 {
            bench.prepare(&env).unwrap();
            bench.run().unwrap_or_else(|f| panic!("block {block}: {}", f.reason));
            let ctx = &bench.runtime.as_ref().unwrap().ctx;
            let probe = ctx.socket(zmq::PAIR).unwrap();
            probe.bind("inproc://coldbench-probe").unwrap_or_else(|e| panic!("block {block} shares a context: {e}"));
            probes.push(probe);
            bench.teardown(&mut FactsReport::default());
        }
    }

    #[test]
    fn a_rate_that_was_not_achieved_is_explained() {
        assert_eq!(super::shortfall(1000.0, &[(995.0, 2.0, 1000.0), (1001.0, 0.0, 1000.0)]), None);
        let slow = super::shortfall(400.0, &[(200.0, 0.0, 400.0)]).unwrap();
        assert!(slow.starts_with("asked for 400/s, the server answered 200/s"), "{slow}");
        let generator = super::shortfall(50_000.0, &[(30_000.0, 20_000.0, 50_000.0)]).unwrap();
        assert!(
            generator.starts_with("40% of the sends left more than 1 ms behind") && generator.contains("50.0k/s"),
            "{generator}"
        );
    }
}
