//! The host's side of a worker process: start it (the built-in worker or the user's program),
//! connect over ipc, tcp or its stdin/stdout, wait for its `HELLO`, call it with a time limit
//! while watching that it still runs, and stop it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::results::Readiness;
use crate::suites::rpc::config::RpcTransport;
use crate::suites::server::{Server, ServerSpec};
use crate::worker::shared::{Segment, SHARED_ENV};
use crate::worker::transport::Connection;
use crate::worker::{CallError, Method, Peer, ENDPOINT_ENV};

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct Spawn {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment added.
    pub env: BTreeMap<String, String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// How the host talks to it.
    pub transport: RpcTransport,
    /// How long it may take to say HELLO, and a call to reply.
    pub timeout: Duration,
}

/// A running worker and the host's connection to it.
pub struct WorkerProc {
    /// The connection.
    pub peer: Peer,
    /// The methods its HELLO listed.
    pub methods: Vec<String>,
    server: Rc<RefCell<Server>>,
    _ctx: Option<zmq::Context>,
}

/// A worker that was started and has not said HELLO yet.
pub struct Starting {
    peer: Peer,
    server: Rc<RefCell<Server>>,
    ctx: Option<zmq::Context>,
}

impl Starting {
    /// Waits for its HELLO.
    pub fn ready(mut self) -> Result<WorkerProc, String> {
        match self.peer.await_hello() {
            Ok(methods) => Ok(WorkerProc { peer: self.peer, methods, server: self.server, _ctx: self.ctx }),
            Err(e) => {
                let tail = self.server.borrow_mut().stderr_tail();
                let why = match e {
                    CallError::Timeout(t) => format!(
                        "the worker did not say HELLO within {} (is it a coldbench RPC worker? see docs/PROTOCOL.md)",
                        humantime::format_duration(t)
                    ),
                    other => format!("the worker did not start: {other}"),
                };
                self.server.borrow_mut().stop();
                Err(match tail {
                    Some(tail) => format!("{why}; its stderr ends with:\n{tail}"),
                    None => why,
                })
            }
        }
    }
}

/// Starts a worker and returns at once; [`Starting::ready`] waits for it. `ipc_dir` holds the
/// sockets of ipc workers, `n` makes each one's name unique; `host_methods` are what the worker
/// may call back.
pub fn spawn(
    spawn: &Spawn,
    ipc_dir: &Path,
    n: usize,
    host_methods: &HashMap<String, Method>,
) -> Result<Starting, String> {
    let mut env = spawn.env.clone();
    // Large arguments through shared memory, where the system gives a segment (it always does on
    // Linux), unless the worker's `env` sets the variable itself (empty: every byte goes over the
    // connection, to measure that).
    let segment = (!spawn.env.contains_key(SHARED_ENV)).then(Segment::create).and_then(Result::ok);
    if let Some(segment) = &segment {
        env.insert(SHARED_ENV.into(), segment.path());
    }
    let (ctx, socket) = match spawn.transport {
        RpcTransport::Stdio => {
            env.insert(ENDPOINT_ENV.into(), "stdio".into());
            (None, None)
        }
        RpcTransport::Ipc | RpcTransport::Tcp => {
            let ctx = zmq::Context::new();
            let socket = ctx.socket(zmq::DEALER).map_err(|e| format!("socket: {e}"))?;
            socket.set_linger(0).map_err(|e| format!("socket: {e}"))?;
            // A DEALER whose worker is gone holds a send forever; the limit turns that into an error.
            socket
                .set_sndtimeo(spawn.timeout.as_millis().min(i32::MAX as u128) as i32)
                .map_err(|e| format!("socket: {e}"))?;
            let bind = match spawn.transport {
                RpcTransport::Ipc => format!("ipc://{}/w{n}", ipc_dir.display()),
                _ => "tcp://127.0.0.1:*".to_string(),
            };
            socket.bind(&bind).map_err(|e| format!("could not bind {bind}: {e}"))?;
            let endpoint = crate::suites::role::last_endpoint(&socket)?;
            env.insert(ENDPOINT_ENV.into(), endpoint);
            (Some(ctx), Some(socket))
        }
    };
    let spec = ServerSpec {
        program: spawn.program.clone(),
        args: spawn.args.clone(),
        env,
        cwd: spawn.cwd.clone(),
        ready: Readiness::Exit,
        timeout: spawn.timeout,
        pipes: spawn.transport == RpcTransport::Stdio,
        role: "worker",
    };
    let mut server = Server::start(&spec).map_err(|e| format!("the worker did not start: {e}"))?;
    let conn = match socket {
        Some(socket) => Connection::zmq(socket),
        None => {
            let (stdin, stdout) = server.take_pipes().ok_or("the worker's stdin and stdout are not pipes")?;
            widen_pipe(stdin.as_fd());
            widen_pipe(stdout.as_fd());
            let fd = stdout.as_raw_fd();
            Connection::stream(Box::new(stdout), Box::new(stdin), fd)
        }
    };
    let conn = match segment {
        Some(segment) => conn.offering(segment),
        None => conn,
    };
    let server = Rc::new(RefCell::new(server));
    let watched = server.clone();
    let watch = Box::new(move || watched.borrow_mut().exit_reason());
    let peer = Peer::new(conn, host_methods.clone()).with_limit(spawn.timeout, watch);
    Ok(Starting { peer, server, ctx })
}

/// A pipe's buffer, as large as an unprivileged process may make it (`/proc/sys/fs/pipe-max-size`,
/// 1 MiB by default) instead of 64 KiB: a large message then crosses in a sixteenth of the
/// wake-ups of writer and reader. Where the system refuses, the pipe stays as it is.
fn widen_pipe(fd: BorrowedFd<'_>) {
    const WIDE: libc::c_int = 1 << 20;
    let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(WIDE));
}

impl WorkerProc {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.server.borrow().pid()
    }

    /// The last lines it wrote to stderr.
    pub fn stderr_tail(&self) -> Option<String> {
        self.server.borrow_mut().stderr_tail()
    }

    /// Why it no longer runs, or `None` while it does.
    pub fn exit_reason(&self) -> Option<String> {
        self.server.borrow_mut().exit_reason()
    }

    /// Says goodbye, gives it a moment to exit by itself, then stops its process group.
    pub fn stop(&mut self) {
        if self.exit_reason().is_none() {
            self.peer.bye();
            let deadline = Instant::now() + Duration::from_millis(200);
            while self.exit_reason().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.server.borrow_mut().stop();
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        self.stop();
    }
}
