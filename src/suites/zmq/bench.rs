//! One row of the ZeroMQ suite as a [`Bench`]: `prepare` starts its server (the built-in worker
//! or the user's), each run is one round of its scenario, and `teardown` stops the server and says
//! how its memory went.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::codec::{Codec, Data};
use super::load::{self, Round};
use super::metrics::{self, Shape};
use super::pipeline;
use super::runtime::Runtime;
use crate::build::ArtifactRef;
use crate::discover::config::zmq::Transport;
use crate::measure::bench::{
    Bench, BenchId, Described, FactsReport, MetricName, Observation, PrepareEnv, RunFailure, Settings, SideMap,
};
use crate::results::{MetricDesc, OrderedMap, Readiness};
use crate::suites::worker::echo::Pattern;
use crate::suites::UserCommand;

/// The client side of a throughput row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Client {
    /// One REQ socket, one request at a time.
    ReqRep,
    /// One DEALER socket with this many requests outstanding.
    Dealer(u32),
    /// One PUSH socket, one-way.
    Push,
    /// This many REQ sockets on threads of their own.
    Many(u32),
}

/// What one round of a row does.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Closed-loop messages per second.
    Throughput { client: Client, payload: usize, codec: Codec, data: Data },
    /// Open-loop latency at a rate.
    Latency { rate: f64, payload: usize, duration: Duration },
    /// Sequential requests, kept as a time series.
    Tail { requests: u32, payload: usize },
    /// A chain of built-in stage workers.
    Pipeline { stages: u32 },
    /// Fresh connections timed to their first answer.
    Handshake { connections: u32 },
}

/// A user's server, as a row starts it.
#[derive(Debug, Clone)]
pub struct UserServer {
    /// What runs.
    pub command: UserCommand,
    /// Where it listens.
    pub endpoint: String,
    /// What says it is ready.
    pub ready: Readiness,
    /// How long it may take.
    pub timeout: Duration,
}

/// The server a row measures.
#[derive(Debug, Clone)]
pub enum ServerDef {
    /// The built-in echo worker.
    Builtin { pattern: Pattern, transport: Transport, codec: Codec, curve: bool },
    /// The user's server.
    User(UserServer),
    /// None: the row starts its own workers (pipelines).
    None,
}

/// A row of the suite, as planned.
#[derive(Debug, Clone)]
pub struct ZmqRow {
    /// Its id.
    pub id: BenchId,
    /// How it runs and is judged.
    pub settings: Settings,
    /// What a round does.
    pub scenario: Scenario,
    /// Its server.
    pub server: ServerDef,
    /// How long a closed-loop round sends.
    pub round: Duration,
    /// The built-in row a user's row is measured against.
    pub reference: Option<String>,
    /// Which metrics it has.
    pub shape: Shape,
    /// Why it cannot run here (CURVE without a libzmq that has it).
    pub skip: Option<String>,
}

/// What one round measured, before the server's share is added.
#[derive(Default)]
struct RoundOut {
    values: Vec<(MetricName, f64)>,
    histograms: Vec<(MetricName, hdrhistogram::Histogram<u64>)>,
    series: Vec<(MetricName, Vec<f64>)>,
    /// Requests the server handled, for its CPU time per request.
    requests: Option<u64>,
}

/// Owners of fixed endpoints: one per bench, so that the two sides of a comparison take turns.
static OWNERS: AtomicU64 = AtomicU64::new(1);

/// A row of the ZeroMQ suite.
pub struct ZmqBench {
    row: ZmqRow,
    owner: u64,
    ctx: zmq::Context,
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
        ZmqBench {
            row,
            owner: OWNERS.fetch_add(1, Ordering::Relaxed),
            ctx: zmq::Context::new(),
            runtime: None,
            rss: Vec::new(),
            command: Vec::new(),
            schedule: Vec::new(),
        }
    }

    fn round(&mut self) -> Result<RoundOut, RunFailure> {
        let rt = self.runtime.as_ref().ok_or_else(|| RunFailure::new("the benchmark was not prepared"))?;
        let ctx = &self.ctx;
        let round = self.row.round;
        let client = || rt.client.as_ref().ok_or_else(|| RunFailure::new("no client socket"));
        let mut out = RoundOut::default();
        match &self.row.scenario {
            Scenario::Throughput { client: kind, payload, codec, data } => {
                let bytes = data.generate(*payload);
                let cpu_before = thread_cpu();
                let r: Round = match kind {
                    Client::ReqRep => load::req_rep(client()?, &bytes, *codec, round)?,
                    Client::Dealer(window) => load::dealer(client()?, &bytes, *window, round)?,
                    Client::Push => load::push(client()?, rt.ack_socket.as_ref(), &bytes, round)?,
                    Client::Many(n) => {
                        load::many_clients(ctx, &rt.endpoint, &mut rt.clients.borrow_mut(), &bytes, *n, round)?
                    }
                };
                let cpu = thread_cpu().saturating_sub(cpu_before);
                if r.messages == 0 {
                    return Err(RunFailure::new("no message went through in the round"));
                }
                let secs = r.elapsed.as_secs_f64();
                out.values.push(("throughput".into(), r.messages as f64 / secs));
                out.values.push(("bandwidth".into(), r.bytes as f64 / secs));
                if *codec != Codec::None {
                    out.values.push(("compression_ratio".into(), r.bytes as f64 / r.wire_bytes.max(1) as f64));
                    out.values.push(("client_cpu".into(), cpu.as_secs_f64() / r.messages as f64));
                }
                out.requests = Some(r.messages);
            }
            Scenario::Latency { rate, payload, duration } => {
                // Answers may trail the last send by as long as the server is behind.
                let drain = self.row.settings.timeout.max(Duration::from_secs(2));
                let o = load::open_loop(client()?, *payload, *rate, *duration, drain)?;
                out.histograms.push(("latency".into(), o.latency));
                out.values.push(("achieved_rate".into(), o.achieved_rate));
                out.values.push(("late".into(), o.late as f64));
                out.values.push(("lost".into(), (o.sent - o.answered) as f64));
                out.requests = Some(o.answered);
            }
            Scenario::Tail { requests, payload } => {
                let (series, hist) = load::sequential(client()?, &vec![0x5a; *payload], *requests)?;
                out.requests = Some(series.len() as u64);
                out.histograms.push(("latency".into(), hist));
                out.series.push(("latency".into(), series));
            }
            Scenario::Pipeline { stages } => {
                let r = pipeline::round(ctx, &rt.runner_exe, *stages, &[0x5a; 64], round, self.row.settings.timeout)?;
                out.values.push(("throughput".into(), r.items as f64 / r.elapsed.as_secs_f64()));
                out.values.push(("ready_time".into(), r.ready.as_secs_f64()));
                out.values.push(("stages_cpu".into(), r.cpu.as_secs_f64() / r.items.max(1) as f64));
            }
            Scenario::Handshake { connections } => {
                let times = load::handshakes(ctx, &rt.endpoint, rt.curve.as_ref(), *connections)?;
                let mean = times.iter().sum::<Duration>().as_secs_f64() / times.len().max(1) as f64;
                out.values.push(("handshake".into(), mean));
                out.requests = Some(times.len() as u64);
            }
        }
        Ok(out)
    }
}

/// CPU time of the calling thread (the client of a single-socket round).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Memory that grew in every measured round, and steadily (a leak grows with the work; buffers
/// filling up as load peaks grow by ever smaller steps), by at least 1 MiB in all: `(before the
/// first measured round, after the last)`. Each sample is the server's RSS and the requests it
/// handled in the round before (the first, when it was ready, has none); warmup rounds first.
pub fn growth(samples: &[(u64, u64)], warmups: usize) -> Option<(u64, u64)> {
    let measured = samples.get(warmups..)?;
    if measured.len() < 3 {
        return None;
    }
    let (first, last) = (measured[0].0, measured.last()?.0);
    if measured.windows(2).any(|w| w[1].0 <= w[0].0) || last - first < 1 << 20 {
        return None;
    }
    // Growth per request in each round: steady when no round's is under half the largest, and
    // the last is not much under the first.
    let rates: Vec<f64> = measured.windows(2).map(|w| (w[1].0 - w[0].0) as f64 / w[1].1.max(1) as f64).collect();
    let most = rates.iter().copied().fold(0.0, f64::max);
    let steady = rates.iter().all(|r| r * 2.0 >= most) && rates[rates.len() - 1] * 4.0 >= rates[0] * 3.0;
    steady.then_some((first, last))
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
    let rate_text = |r: f64| crate::report::format::value(crate::results::Unit::PerSecond, r);
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
        metrics::descriptors(self.row.shape)
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

    fn needs(&self) -> Vec<ArtifactRef> {
        match &self.row.server {
            ServerDef::User(u) => u.command.program.artifact().cloned().into_iter().collect(),
            _ => Vec::new(),
        }
    }

    fn skip(&self) -> Option<String> {
        self.row.skip.clone()
    }

    fn reference(&self) -> Option<String> {
        self.row.reference.clone()
    }

    fn rebind(&self, other: &SideMap) -> Result<Box<dyn Bench>, String> {
        let mut row = self.row.clone();
        if let ServerDef::User(user) = &mut row.server {
            user.command = user.command.rebind(&self.row.id.package, other)?;
        }
        Ok(Box::new(ZmqBench::new(row)))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), String> {
        let rt = Runtime::start(&self.ctx, &self.row, self.owner, env)?;
        self.command = rt.command.clone();
        self.rss = rt.pid().and_then(crate::suites::server::rss).map(|r| (r, 0)).into_iter().collect();
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
        rt.ensure(&self.ctx, &self.row.scenario)?;
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
        if let Some(pid) = pid {
            let cpu_after = crate::suites::server::cpu_time(pid);
            if let (Some(before), Some(after), Some(n)) = (cpu_before, cpu_after, out.requests.filter(|n| *n > 0)) {
                out.values.push(("server_cpu".into(), after.saturating_sub(before).as_secs_f64() / n as f64));
            }
            if let Some(rss) = crate::suites::server::rss(pid) {
                out.values.push(("server_rss".into(), rss as f64));
                self.rss.push((rss, out.requests.unwrap_or(0)));
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
        if let (Some((first, _)), Some((last, _))) = (self.rss.first(), self.rss.last()) {
            report.facts.other.insert("server_rss_when_ready_bytes".into(), (*first).into());
            report.facts.other.insert("server_rss_after_last_round_bytes".into(), (*last).into());
        }
        if let Scenario::Latency { rate, .. } = &self.row.scenario {
            report.warnings.extend(shortfall(*rate, &self.schedule));
        }
        if let Some((first, last)) = growth(&self.rss, self.row.settings.policy.warmup as usize) {
            let (a, b) = (crate::units::format_size(first as f64), crate::units::format_size(last as f64));
            report.warnings.push(format!(
                "the server's memory grew after every round ({a} → {b}): a possible leak; run more rounds (`iterations`) to be sure"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::growth;

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

    #[test]
    fn memory_that_grows_every_round_is_flagged() {
        const MIB: u64 = 1 << 20;
        // The same number of requests in every round.
        let even = |rss: &[u64]| -> Vec<(u64, u64)> {
            rss.iter().enumerate().map(|(i, r)| (*r, if i == 0 { 0 } else { 1000 })).collect()
        };
        // Ready, a warmup, three measured rounds.
        assert_eq!(growth(&even(&[6 * MIB, 10 * MIB, 11 * MIB, 12 * MIB, 13 * MIB]), 1), Some((10 * MIB, 13 * MIB)));
        // The warmup's growth is not counted: steady afterwards.
        assert_eq!(growth(&even(&[6 * MIB, 12 * MIB, 12 * MIB, 12 * MIB, 12 * MIB]), 1), None);
        // Buffers warming up: growth that dies away, fast or slowly.
        assert_eq!(growth(&even(&[6 * MIB, 8 * MIB, 11 * MIB, 11 * MIB + 4096, 11 * MIB + 8192]), 1), None);
        assert_eq!(growth(&even(&[6 * MIB, 10_461_184, 11_177_984, 11_583_488, 11_935_744]), 1), None);
        // Growing, but by a few pages only.
        assert_eq!(growth(&even(&[6 * MIB, 10 * MIB, 10 * MIB + 4096, 10 * MIB + 8192, 10 * MIB + 12288]), 1), None);
        // A leak in a round that did less work grew less: per request it is as steady as ever.
        let uneven = [(6 * MIB, 0), (10 * MIB, 1000), (12 * MIB, 1000), (13 * MIB, 500), (15 * MIB, 1000)];
        assert_eq!(growth(&uneven, 1), Some((10 * MIB, 15 * MIB)));
        // Too few rounds to tell.
        assert_eq!(growth(&even(&[6 * MIB, 10 * MIB, 20 * MIB]), 1), None);
    }
}
