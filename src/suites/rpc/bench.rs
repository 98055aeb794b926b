//! One row of the RPC suite as a [`Bench`]: `prepare` starts its worker(s) and makes the warmup
//! calls, each run is one round of calls (or, for a scaling row, a start of N workers), and
//! `teardown` stops them. A call that fails — the worker crashed, hung, or does not know the
//! method — fails the row with the reason; the next row starts a worker of its own.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::host::{self, Spawn, WorkerProc};
use super::metrics::{self, Shape};
use crate::build::ArtifactRef;
use crate::measure::bench::{
    Bench, BenchId, Described, FactsReport, MetricName, Observation, PrepareEnv, ReferenceSpec, RunFailure, Settings,
    SideMap,
};
use crate::measure::process::core::Program;
use crate::results::{MetricDesc, OrderedMap};
use crate::suites::role::{tunables_after, REUSE_LARGE_BLOCKS, WORKER_ARG};
use crate::suites::rpc::config::RpcTransport;
use crate::suites::server::rss_pss;
use crate::suites::UserCommand;
use crate::worker::builtin::{self, Call};
use crate::worker::{CallError, Method};

/// The worker a row measures.
#[derive(Debug, Clone)]
pub enum WorkerDef {
    /// The built-in worker (a hidden subcommand of this binary).
    Builtin,
    /// The user's.
    User(UserCommand),
}

/// What one round of a row does.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Calls of one method, timed one by one.
    Call {
        /// The method.
        method: String,
        /// Its payload's size.
        payload: usize,
        /// The built-in call, whose function is also called in-process.
        builtin: Option<Call>,
    },
    /// Chains of this depth.
    Chain {
        /// Calls in the chain, host → worker → host → …
        depth: u32,
    },
    /// Calls from the worker to the host's counter.
    Singleton,
    /// A call to each of this many workers at once.
    FanOut {
        /// Workers.
        workers: u32,
    },
    /// This many workers started together.
    Workers {
        /// Workers.
        count: u32,
    },
}

/// A row of the suite, as planned.
#[derive(Debug, Clone)]
pub struct RpcRow {
    /// Its id.
    pub id: BenchId,
    /// How it runs and is judged.
    pub settings: Settings,
    /// What a round does.
    pub scenario: Scenario,
    /// Its worker.
    pub worker: WorkerDef,
    /// How the host talks to it.
    pub transport: RpcTransport,
    /// Calls (chains, fan-outs) per round.
    pub calls: u32,
    /// Calls before the first round.
    pub warmup: u32,
    /// Which metrics it has.
    pub shape: Shape,
    /// Why it cannot run here (a payload larger than free memory).
    pub skip: Option<String>,
    /// The id of the built-in worker's row it is measured against, interleaved.
    pub reference: Option<String>,
    /// The scenario group it was made for (`--scenario`), set when the rows are made.
    pub group: Option<super::scenarios::Group>,
}

/// Names for ipc sockets, unique within this process.
static SOCKETS: AtomicUsize = AtomicUsize::new(0);

/// A row of the RPC suite.
pub struct RpcBench {
    row: RpcRow,
    spawn: Option<Spawn>,
    ipc_dir: Option<tempfile::TempDir>,
    workers: Vec<WorkerProc>,
    /// The argument of a call row: shared with the transport, which sends it without a copy.
    payload: Arc<[u8]>,
    /// What the built-in function returns for the payload: every reply must be it.
    expected: Option<Vec<u8>>,
    host_methods: HashMap<String, Method>,
    counter: Rc<Cell<u64>>,
    command: Vec<String>,
    /// Why the row cannot run, learnt when its worker said HELLO: a user's worker without the
    /// built-in method the row calls.
    missing: Option<String>,
}

/// The host's object that `singleton` calls: a counter.
fn counter_add(counter: &Cell<u64>, arg: &[u8]) -> Result<Vec<u8>, String> {
    let n: [u8; 8] = arg.try_into().map_err(|_| "counter.add takes 8 bytes".to_string())?;
    counter.set(counter.get().wrapping_add(u64::from_le_bytes(n)));
    Ok(counter.get().to_le_bytes().to_vec())
}

fn mean(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() / n.max(1) as f64
}

impl RpcBench {
    /// A bench for this row.
    pub fn new(row: RpcRow) -> RpcBench {
        let counter = Rc::new(Cell::new(0));
        let mut host_methods: HashMap<String, Method> = HashMap::new();
        host_methods.insert("chain".into(), Rc::new(crate::worker::chain));
        let c = counter.clone();
        host_methods
            .insert("counter.add".into(), Rc::new(move |arg: &[u8], _: &mut crate::worker::Peer| counter_add(&c, arg)));
        RpcBench {
            row,
            spawn: None,
            ipc_dir: None,
            workers: Vec::new(),
            payload: Arc::from(Vec::new()),
            expected: None,
            host_methods,
            counter,
            command: Vec::new(),
            missing: None,
        }
    }

    /// Starts `n` workers together and waits until each has said HELLO.
    fn start_workers(&self, n: u32) -> Result<Vec<WorkerProc>, String> {
        let spawn = self.spawn.as_ref().ok_or("the benchmark was not prepared")?;
        let dir = self.ipc_dir.as_ref().map_or_else(std::env::temp_dir, |d| d.path().to_path_buf());
        let mut starting = Vec::with_capacity(n as usize);
        for _ in 0..n {
            starting.push(host::spawn(spawn, &dir, SOCKETS.fetch_add(1, Ordering::Relaxed), &self.host_methods)?);
        }
        starting.into_iter().map(host::Starting::ready).collect()
    }

    /// A failed call as the row's failure: what was called, why it failed, the worker's stderr.
    fn failure(&self, worker: usize, what: &str, e: CallError) -> RunFailure {
        let reason = match e {
            CallError::Gone(why) => format!("{why} during `{what}`"),
            CallError::Timeout(t) => {
                format!("no reply to `{what}` within {} (the worker hangs?)", humantime::format_duration(t))
            }
            CallError::UnknownMethod(m) => format!("the worker has no method `{m}`"),
            other => format!("`{what}`: {other}"),
        };
        RunFailure { reason, detail: self.workers.get(worker).and_then(WorkerProc::stderr_tail) }
    }

    fn builtin_worker(&self) -> bool {
        matches!(self.row.worker, WorkerDef::Builtin)
    }

    fn needs_method(&self, method: &str) -> Result<(), String> {
        let Some(w) = self.workers.first() else { return Ok(()) };
        if w.methods.iter().any(|m| m == method) {
            return Ok(());
        }
        Err(format!("the worker has no method `{method}` (its methods: {})", w.methods.join(", ")))
    }

    /// One round of `calls` calls (chains, fan-outs).
    fn round(&mut self, calls: u32) -> Result<Vec<(MetricName, f64)>, RunFailure> {
        match self.row.scenario.clone() {
            Scenario::Call { method, builtin, .. } => self.call_round(&method, builtin, calls),
            Scenario::Chain { depth } => self.chain_round(depth, calls),
            Scenario::Singleton => self.singleton_round(calls),
            Scenario::FanOut { workers } => self.fan_out_round(workers, calls),
            Scenario::Workers { count } => self.scaling_round(count),
        }
    }

    /// `calls` calls of `method`, timed one by one, against the function called in-process (the
    /// built-in's) or the time the worker says its method ran.
    fn call_round(
        &mut self,
        method: &str,
        builtin: Option<Call>,
        calls: u32,
    ) -> Result<Vec<(MetricName, f64)>, RunFailure> {
        let mut times = Vec::with_capacity(calls as usize);
        let mut in_worker = Duration::ZERO;
        for _ in 0..calls {
            let start = Instant::now();
            let reply = self.workers[0].peer.call(method, &self.payload);
            let took = start.elapsed();
            let reply = reply.map_err(|e| self.failure(0, method, e))?;
            if let Some(expected) = self.expected.as_deref().filter(|e| **e != *reply.payload) {
                return Err(RunFailure::new(format!(
                    "`{method}` answered {}, the function gives {}",
                    crate::worker::frame::show(&reply.payload),
                    crate::worker::frame::show(expected)
                )));
            }
            times.push(took.as_secs_f64());
            in_worker += reply.method_time;
        }
        // The built-in worker's function is called here too; a user's worker reports how
        // long its method ran.
        let local = match builtin.filter(|_| self.builtin_worker()) {
            Some(call) => {
                let f = call.function();
                let start = Instant::now();
                for _ in 0..calls {
                    let _ = black_box(f(black_box(&self.payload)));
                }
                mean(start.elapsed(), calls)
            }
            None => mean(in_worker, calls),
        };
        let Spread { avg, sd, min, max } = Spread::of(&times);
        Ok(vec![
            ("call".into(), avg),
            ("local".into(), local),
            ("overhead".into(), avg - local),
            ("call_sd".into(), sd),
            ("call_min".into(), min),
            ("call_max".into(), max),
        ])
    }

    /// `calls` chains of `depth` calls, host → worker → host → …
    fn chain_round(&mut self, depth: u32, calls: u32) -> Result<Vec<(MetricName, f64)>, RunFailure> {
        let arg = depth.to_le_bytes();
        let start = Instant::now();
        for _ in 0..calls {
            let reply = self.workers[0].peer.call("chain", &arg).map_err(|e| self.failure(0, "chain", e))?;
            // Each level calls the next with one less: a chain that went all the way
            // down answers with the last level's 1.
            if *reply.payload != 1u32.to_le_bytes() {
                return Err(RunFailure::new(format!(
                    "a chain of depth {depth} answered {}, not the innermost call's 1",
                    crate::worker::frame::show(&reply.payload)
                )));
            }
        }
        let chain = mean(start.elapsed(), calls);
        Ok(vec![("chain".into(), chain), ("per_hop".into(), chain / depth as f64)])
    }

    /// One call from which the worker calls the host's counter `calls` times.
    fn singleton_round(&mut self, calls: u32) -> Result<Vec<(MetricName, f64)>, RunFailure> {
        self.counter.set(0);
        let start = Instant::now();
        let reply = self.workers[0]
            .peer
            .call("singleton", &calls.to_le_bytes())
            .map_err(|e| self.failure(0, "singleton", e))?;
        let call = mean(start.elapsed(), calls);
        if *reply.payload != (calls as u64).to_le_bytes() || self.counter.get() != calls as u64 {
            return Err(RunFailure::new(format!(
                "`singleton` made {} calls to the host's counter, not {calls}",
                self.counter.get()
            )));
        }
        let local_counter = Cell::new(0);
        let one = 1u64.to_le_bytes();
        let start = Instant::now();
        for _ in 0..calls {
            let _ = black_box(counter_add(&local_counter, black_box(&one)));
        }
        let local = mean(start.elapsed(), calls);
        Ok(vec![("call".into(), call), ("local".into(), local), ("overhead".into(), call - local)])
    }

    /// `calls` times, a call to each of the `workers` workers at once.
    fn fan_out_round(&mut self, workers: u32, calls: u32) -> Result<Vec<(MetricName, f64)>, RunFailure> {
        let arg = Call::SmallInt.payload();
        let mut in_workers = Duration::ZERO;
        let start = Instant::now();
        for _ in 0..calls {
            let mut ids = Vec::with_capacity(self.workers.len());
            for (i, w) in self.workers.iter_mut().enumerate() {
                ids.push((i, w.peer.send_call("small_int", &arg)));
            }
            for (i, id) in ids {
                let id = id.map_err(|e| self.failure(i, "small_int", e))?;
                let reply = self.workers[i].peer.wait_reply(id).map_err(|e| self.failure(i, "small_int", e))?;
                in_workers += reply.method_time;
            }
        }
        let call = mean(start.elapsed(), calls);
        let local = if self.builtin_worker() {
            let start = Instant::now();
            for _ in 0..calls * workers {
                let _ = black_box(builtin::small_int(black_box(&arg)));
            }
            mean(start.elapsed(), calls)
        } else {
            mean(in_workers, calls)
        };
        Ok(vec![("call".into(), call), ("local".into(), local), ("overhead".into(), call - local)])
    }

    /// Starts `count` workers, waits until all are ready, makes one call to each (so that each
    /// has done some work), reads their memory, and stops them.
    fn scaling_round(&mut self, count: u32) -> Result<Vec<(MetricName, f64)>, RunFailure> {
        let start = Instant::now();
        let mut procs = self.start_workers(count).map_err(RunFailure::new)?;
        let ready = start.elapsed();
        let arg = Call::SmallInt.payload();
        for w in procs.iter_mut().filter(|w| w.methods.iter().any(|m| m == "small_int")) {
            w.peer.call("small_int", &arg).map_err(|e| RunFailure {
                reason: format!("a worker failed its first call: {e}"),
                detail: w.stderr_tail(),
            })?;
        }
        let (mut rss, mut pss) = (0u64, 0u64);
        for w in &procs {
            let (r, p) = rss_pss(w.pid()).ok_or_else(|| RunFailure::new("could not read a worker's smaps_rollup"))?;
            rss += r;
            pss += p;
        }
        let host_pss = rss_pss(std::process::id()).map_or(0, |(_, p)| p);
        // Goodbyes first, so that the workers exit together rather than one after another.
        for w in &mut procs {
            w.peer.bye();
        }
        drop(procs);
        let n = count.max(1) as f64;
        Ok(vec![
            ("ready_time".into(), ready.as_secs_f64()),
            ("worker_pss".into(), pss as f64 / n),
            ("worker_rss".into(), rss as f64 / n),
            ("total_pss".into(), pss as f64),
            ("host_pss".into(), host_pss as f64),
        ])
    }
}

impl Bench for RpcBench {
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
        let env = match &self.row.worker {
            WorkerDef::User(u) => u.env.clone(),
            WorkerDef::Builtin => BTreeMap::new(),
        };
        let args = self.command.iter().skip(1).cloned().collect();
        Described { command: self.command.clone(), args, env, ..Described::default() }
    }

    fn needs(&self) -> Vec<ArtifactRef> {
        match &self.row.worker {
            WorkerDef::User(u) => u.program.artifact().cloned().into_iter().collect(),
            WorkerDef::Builtin => Vec::new(),
        }
    }

    fn skip(&self) -> Option<String> {
        self.row.skip.clone().or_else(|| self.missing.clone())
    }

    fn reference(&self) -> Option<ReferenceSpec> {
        self.row.reference.clone().map(ReferenceSpec::explaining)
    }

    fn group(&self) -> Option<&'static str> {
        self.row.group.map(crate::suites::Scenarios::as_str)
    }

    fn rebind(&self, other: &SideMap) -> Result<Box<dyn Bench>, RunFailure> {
        let mut row = self.row.clone();
        if let WorkerDef::User(user) = &mut row.worker {
            *user = user.rebind(&self.row.id.package, other)?;
        }
        Ok(Box::new(RpcBench::new(row)))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), RunFailure> {
        let command = match &self.row.worker {
            WorkerDef::Builtin => UserCommand {
                program: Program::Path(env.self_exe.to_path_buf()),
                args: vec![WORKER_ARG.to_string(), "rpc".into()],
                env: BTreeMap::new(),
                cwd: std::env::temp_dir(),
            },
            WorkerDef::User(u) => u.clone(),
        };
        let (program, shown) = command.program.resolve(env.staged)?;
        self.command = std::iter::once(shown.display().to_string()).chain(command.args.iter().cloned()).collect();
        if self.row.transport == RpcTransport::Ipc {
            let dir = crate::suites::zmq::ipc_dir()?;
            self.ipc_dir = Some(dir);
        }
        // Every worker, the user's too, reuses the memory of large messages, unless its `env`
        // sets the allocator's tunables itself.
        let mut env = command.env;
        env.entry("GLIBC_TUNABLES".to_string())
            .or_insert_with(|| tunables_after(REUSE_LARGE_BLOCKS, std::env::var("GLIBC_TUNABLES").ok().as_deref()));
        self.spawn = Some(Spawn {
            program,
            args: command.args,
            env,
            cwd: command.cwd,
            transport: self.row.transport,
            timeout: self.row.settings.timeout,
        });
        let (workers, method) = match &self.row.scenario {
            Scenario::Workers { .. } => return Ok(()),
            Scenario::FanOut { workers } => (*workers, "small_int".to_string()),
            Scenario::Call { method, .. } => (1, method.clone()),
            Scenario::Chain { .. } => (1, "chain".to_string()),
            Scenario::Singleton => (1, "singleton".to_string()),
        };
        self.workers = self.start_workers(workers)?;
        if let Err(why) = self.needs_method(&method) {
            // The user's own calls name methods it must have; a built-in row is skipped by a
            // worker that does not implement it (a port of the protocol with only its own methods).
            let builtin_row = !matches!(self.row.scenario, Scenario::Call { builtin: None, .. });
            if !builtin_row {
                return Err(why.into());
            }
            self.missing = Some(why);
            self.workers.clear();
            return Ok(());
        }
        if let Scenario::Call { payload, builtin, .. } = &self.row.scenario {
            self.payload = match builtin {
                Some(call) => call.payload().into(),
                None => (0..*payload).map(|i| (i % 251) as u8).collect(),
            };
            self.expected = builtin.map(|c| c.function()(&self.payload)).transpose()?;
        }
        // Warm both ends: the first calls fault in buffers and connect lazily.
        self.round(self.row.warmup.max(1)).map(drop)
    }

    fn facts(&mut self) -> FactsReport {
        let mut report = FactsReport::default();
        report.facts.other.insert("transport".into(), self.row.transport.as_str().into());
        report.facts.other.insert("calls_per_round".into(), (self.row.calls as u64).into());
        if self.row.transport != RpcTransport::Stdio {
            let (major, minor, patch) = zmq::version();
            report.facts.other.insert("libzmq".into(), format!("{major}.{minor}.{patch}").into());
        }
        if let Some(w) = self.workers.first() {
            report.facts.other.insert("worker_methods".into(), w.methods.join(", ").into());
            // Whether this row's large arguments crossed through shared memory (docs/PROTOCOL.md).
            report.facts.other.insert("shared_memory".into(), w.peer.shares_memory().into());
        }
        report
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        if let Some(w) = self.workers.iter().find(|w| w.exit_reason().is_some()) {
            return Err(RunFailure { reason: w.exit_reason().unwrap_or_default(), detail: w.stderr_tail() });
        }
        let start = Instant::now();
        let values = self.round(self.row.calls)?;
        Ok(Observation { elapsed: start.elapsed(), values, ..Observation::default() })
    }

    fn teardown(&mut self, report: &mut FactsReport) {
        for w in &mut self.workers {
            if let Some(why) = w.exit_reason() {
                report.facts.problems.push(why);
            }
        }
        self.workers.clear();
        self.ipc_dir = None;
        // Benches live until the run ends: a 50 MiB argument kept here would be counted in every
        // later row's host memory.
        self.payload = Arc::from(Vec::new());
        self.expected = None;
    }
}

/// The mean, standard deviation, least and greatest of a round's call times (seconds).
struct Spread {
    avg: f64,
    sd: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(times: &[f64]) -> Spread {
        let n = times.len() as f64;
        let avg = times.iter().sum::<f64>() / n;
        let sd = if times.len() > 1 {
            (times.iter().map(|t| (t - avg).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let max = times.iter().copied().fold(0.0, f64::max);
        Spread { avg, sd, min, max }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_counter_counts() {
        let c = Cell::new(0);
        counter_add(&c, &2u64.to_le_bytes()).unwrap();
        assert_eq!(counter_add(&c, &3u64.to_le_bytes()).unwrap(), 5u64.to_le_bytes());
        assert!(counter_add(&c, b"x").is_err());
    }
}
