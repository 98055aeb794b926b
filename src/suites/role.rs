//! The built-in servers and workers a suite measures against, run as processes of this binary:
//! the hidden subcommand `__coldbench-worker ROLE ...`, so every report can show a user's server
//! beside the bare transport. Each kind names its roles in its `KindInfo::roles` (the ZeroMQ
//! suite's `echo` and `stage`, the RPC suite's `rpc`, the tensor suite's `tensor` and
//! `cuda-memcpy`); this module runs the one asked for and holds what they share.

use std::ffi::OsString;
use std::io::Write;

use crate::measure::kind::Role;

/// The hidden subcommand.
pub const WORKER_ARG: &str = "__coldbench-worker";

/// Runs the role named first in `args` (the arguments after the subcommand) among `roles`;
/// returns the exit status.
pub fn worker_main(roles: &[Role], args: &[OsString]) -> u8 {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    match run(roles, &args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("coldbench worker: {e}");
            1
        }
    }
}

fn run(roles: &[Role], args: &[String]) -> Result<(), String> {
    let Some(name) = args.first() else {
        let names: Vec<&str> = roles.iter().map(|r| r.name).collect();
        let listed = match names.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "none".to_string(),
        };
        return Err(format!("no role given ({listed})"));
    };
    let role = roles.iter().find(|r| r.name == name).ok_or_else(|| format!("unknown role `{name}`"))?;
    (role.main)(&args[1..])
}

/// The value after `name` in a role's arguments.
pub fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

/// Prints `ready ENDPOINT...`, the line the suite waits for.
pub fn announce(endpoints: &[String]) -> Result<(), String> {
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
