//! The built-in workers: a hidden subcommand of this binary (`__coldbench-worker ROLE ...`), so
//! every report can show a user's server beside the bare transport. Roles: `echo` (a REP, ROUTER
//! or PULL server that answers with what it got, optionally decompressing and compressing again,
//! over CURVE when asked), `stage` (a PUSH/PULL pipeline stage), `rpc` (the RPC suite's worker:
//! [`crate::worker::Worker`] with its built-in methods), `tensor` (the tensor suite's worker,
//! [`crate::suites::tensor::worker`]) and `cuda-memcpy` (host ↔ device copies timed alone, the
//! floor under the suite's CUDA rows: [`crate::suites::tensor::memcpy`]).

pub mod echo;
pub mod stage;

use std::ffi::OsString;
use std::io::Write;

use echo::{EchoConfig, Pattern};

use crate::suites::zmq::codec::Codec;

/// The hidden subcommand.
pub const WORKER_ARG: &str = "__coldbench-worker";

/// Runs a worker with the arguments after the subcommand; returns the exit status.
pub fn worker_main(args: &[OsString]) -> u8 {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    match run(&args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("coldbench worker: {e}");
            1
        }
    }
}

fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn run(args: &[String]) -> Result<(), String> {
    let role = args.first().ok_or("no role given (echo, stage, rpc, tensor or cuda-memcpy)")?;
    if role == "rpc" {
        return crate::worker::Worker::new().serve_from_env();
    }
    if role == "tensor" {
        return crate::suites::tensor::worker::serve();
    }
    if role == "cuda-memcpy" {
        return crate::suites::tensor::memcpy::main(&args[1..]);
    }
    let ctx = zmq::Context::new();
    let bind = option(args, "--bind").unwrap_or("tcp://127.0.0.1:*");
    match role.as_str() {
        "echo" => {
            let pattern = match option(args, "--pattern").unwrap_or("rep") {
                "rep" => Pattern::Rep,
                "router" => Pattern::Router,
                "pull" => Pattern::Pull,
                other => return Err(format!("unknown pattern `{other}`")),
            };
            let codec = match option(args, "--codec") {
                Some(name) => Codec::parse(name).ok_or_else(|| format!("unknown codec `{name}`"))?,
                None => Codec::None,
            };
            let delay_us: u64 =
                option(args, "--delay-us").map(|d| d.parse().map_err(|_| "bad --delay-us")).transpose()?.unwrap_or(0);
            let cfg = EchoConfig {
                pattern,
                codec,
                delay: std::time::Duration::from_micros(delay_us),
                curve_secret: option(args, "--curve-secret").map(str::to_string),
            };
            let server = echo::EchoServer::bind(&ctx, &cfg, bind, option(args, "--ack"))?;
            announce(&server.endpoints())?;
            server.serve(&cfg, None)
        }
        "stage" => {
            let next = option(args, "--connect").ok_or("a stage needs --connect NEXT")?;
            let stage = stage::Stage::bind(&ctx, bind, next)?;
            announce(std::slice::from_ref(&stage.endpoint))?;
            stage.forward()
        }
        other => Err(format!("unknown role `{other}`")),
    }
}

/// Prints `ready ENDPOINT...`, the line the suite waits for.
fn announce(endpoints: &[String]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", endpoints.join(" ")).and_then(|()| out.flush()).map_err(|e| e.to_string())
}

/// A socket's bound endpoint after binding to `*` (the port the system chose).
pub fn last_endpoint(socket: &zmq::Socket) -> Result<String, String> {
    socket.get_last_endpoint().map_err(|e| e.to_string())?.map_err(|_| "the endpoint is not UTF-8".to_string())
}

/// glibc's allocator tunables for a worker that receives large messages, read when it starts:
/// keep and reuse the memory of the last one. By default glibc serves every block over 32 MiB
/// with a fresh `mmap` and unmaps it on free, so each large message would be received into pages
/// faulted in and zeroed one by one (twice the transport's own cost at 50 MiB) — a cost of the
/// allocator, which a long-lived server with a buffer pool does not pay, not of the transport.
/// The receive buffer is allocated by the transport (by libzmq, on its I/O thread), so the
/// allocator is the lever, for a worker in any language: no `mmap` for large blocks, one arena
/// (the I/O thread's buffer returns to where the next one is taken), no trimming.
pub const REUSE_LARGE_BLOCKS: &str =
    "glibc.malloc.mmap_max=0:glibc.malloc.arena_max=1:glibc.malloc.trim_threshold=4611686018427387904";

/// `GLIBC_TUNABLES` for a worker: `ours` after what the environment already sets, so that ours
/// win where both name one.
pub fn tunables_after(ours: &str, theirs: Option<&str>) -> String {
    match theirs {
        Some(theirs) if !theirs.is_empty() => format!("{theirs}:{ours}"),
        _ => ours.to_string(),
    }
}
