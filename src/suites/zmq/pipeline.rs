//! Pipelines of built-in stage workers: coldbench PUSHes into the first stage and PULLs from the
//! last; a round times how long the chain takes to pass its first item, then how many items per
//! second go through it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::measure::bench::RunFailure;
use crate::results::Readiness;
use crate::suites::role::WORKER_ARG;
use crate::suites::server::{Server, ServerSpec};

/// What one pipeline round measured.
pub struct PipelineRound {
    /// From the first worker's spawn to the first item out of the chain.
    pub ready: Duration,
    /// Items that went through while the round sent.
    pub items: u64,
    /// From the first item sent to the last one out.
    pub elapsed: Duration,
    /// CPU time of all stages together.
    pub cpu: Duration,
}

/// Starts `stages` workers, measures the chain for `round`, and stops them.
pub fn round(
    ctx: &zmq::Context,
    self_exe: &Path,
    stages: u32,
    payload: &[u8],
    round: Duration,
    timeout: Duration,
) -> Result<PipelineRound, RunFailure> {
    let fail = |what: &str, e: zmq::Error| RunFailure::new(format!("{what}: {e}"));
    let sink = ctx.socket(zmq::PULL).map_err(|e| fail("socket", e))?;
    sink.set_linger(0).map_err(|e| fail("socket", e))?;
    sink.set_rcvtimeo(timeout.as_millis() as i32).map_err(|e| fail("socket", e))?;
    sink.bind("tcp://127.0.0.1:*").map_err(|e| fail("bind", e))?;
    let mut next = crate::suites::role::last_endpoint(&sink).map_err(RunFailure::new)?;
    let start = Instant::now();
    // The last stage first: each stage is told where to send before it is started.
    let mut workers: Vec<Server> = Vec::with_capacity(stages as usize);
    for _ in 0..stages {
        let spec = ServerSpec {
            program: self_exe.to_path_buf(),
            args: vec![WORKER_ARG.into(), "stage".into(), "--connect".into(), next.clone()],
            env: Default::default(),
            cwd: std::env::temp_dir(),
            ready: Readiness::Stdout { pattern: "^ready ".into() },
            timeout,
            pipes: false,
            role: "pipeline stage",
        };
        let worker =
            Server::start(&spec).map_err(|e| RunFailure::new(format!("a pipeline stage did not start: {e}")))?;
        next = worker.announced.first().cloned().ok_or_else(|| RunFailure::new("a stage announced no endpoint"))?;
        workers.push(worker);
    }
    let source = ctx.socket(zmq::PUSH).map_err(|e| fail("socket", e))?;
    source.set_linger(0).map_err(|e| fail("socket", e))?;
    source.set_sndtimeo(timeout.as_millis() as i32).map_err(|e| fail("socket", e))?;
    source.connect(&next).map_err(|e| fail("connect", e))?;
    let receive = || match sink.recv_bytes(0) {
        Ok(_) => Ok(()),
        Err(zmq::Error::EAGAIN) => Err(RunFailure::new(format!(
            "nothing came out of the {stages}-stage pipeline within {}",
            humantime::format_duration(timeout)
        ))),
        Err(e) => Err(fail("receive", e)),
    };
    source.send(payload, 0).map_err(|e| fail("send", e))?;
    receive()?;
    let ready = start.elapsed();
    let cpu_before: Duration = workers.iter().filter_map(Server::cpu_time).sum();
    let sending = Instant::now();
    let mut sent = 0u64;
    // Keep a bounded number in flight so that the round measures the chain, not the queues.
    let mut arrived = 0u64;
    while sending.elapsed() < round {
        while sent - arrived < 1000 && sending.elapsed() < round {
            source.send(payload, 0).map_err(|e| fail("send", e))?;
            sent += 1;
        }
        receive()?;
        arrived += 1;
    }
    while arrived < sent {
        receive()?;
        arrived += 1;
    }
    let elapsed = sending.elapsed();
    let cpu_after: Duration = workers.iter().filter_map(Server::cpu_time).sum();
    Ok(PipelineRound { ready, items: arrived, elapsed, cpu: cpu_after.saturating_sub(cpu_before) })
}
