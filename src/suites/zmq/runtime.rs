//! What a row runs against: its server (the built-in worker as a process or, for `inproc`, a
//! thread; the user's server; or nothing) and the client sockets connected to it.
//!
//! A user's server listens on the endpoint the user named, so two rows cannot run theirs at the
//! same time; when the two sides of a comparison interleave, each round takes the endpoint back
//! (see [`server::hold`]) and restarts its own server if the other side's had it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use super::codec::Codec;
use super::load::{self, Conn, CurveClient};
use super::row::{Client, Scenario, ServerDef, UserServer, ZmqRow};
use crate::measure::bench::{PrepareEnv, RunFailure};
use crate::results::Readiness;
use crate::suites::role::WORKER_ARG;
use crate::suites::server::{self, Held, Server, ServerSpec};
use crate::suites::zmq::config::Transport;
use crate::suites::zmq::echo::{EchoConfig, InprocServer, Pattern};

thread_local! {
    /// Per user server (program and endpoint): why it died, so that its later rows fail at once
    /// instead of waiting for a server that will not answer.
    static DEAD: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

enum Running {
    /// A built-in worker process.
    Process(Server),
    /// A built-in worker thread (inproc).
    Inproc(InprocServer),
    /// The user's server, held in [`server::hold`]'s registry under its endpoint.
    User { spec: ServerSpec, key: String },
    /// No server (pipelines start their own workers).
    Nothing,
}

/// A row's server and client sockets.
pub struct Runtime {
    /// The context of this block's sockets (and of an inproc server): made with the block and
    /// ended with it, so that its I/O thread — which handles every message the client sends and
    /// receives — is as new in every block as the server process is. A context kept for a whole
    /// side would carry one thread's state (its CPU, its allocator arena) through every block of
    /// that side, a difference between the sides that no number of blocks averages out.
    pub ctx: zmq::Context,
    server: Running,
    owner: u64,
    /// Where clients connect.
    pub endpoint: String,
    /// Where the built-in PULL server says how many messages arrived.
    ack: Option<String>,
    /// The server's CURVE key, when the row uses CURVE.
    pub curve: Option<CurveClient>,
    /// The row's client socket, when its scenario uses one.
    pub client: Option<Conn>,
    /// The socket that receives the PULL server's counts.
    pub ack_socket: Option<Conn>,
    /// The sockets of a many-clients row, kept from round to round.
    pub clients: std::cell::RefCell<Vec<Conn>>,
    /// This executable (the built-in workers).
    pub self_exe: PathBuf,
    /// The server's command line, for results.
    pub command: Vec<String>,
    /// Times the server was (re)started.
    pub starts: u32,
    _ipc_dir: Option<tempfile::TempDir>,
}

impl Runtime {
    /// Starts the row's server, in a new context, and connects its client.
    pub fn start(row: &ZmqRow, owner: u64, env: &PrepareEnv) -> Result<Runtime, String> {
        let mut rt = match &row.server {
            ServerDef::Builtin { pattern, transport, codec, curve } => {
                start_builtin(row, env, *pattern, *transport, *codec, *curve)?
            }
            ServerDef::User(user) => start_user(env, user, owner)?,
            ServerDef::None => bare(String::new(), env),
        };
        rt.owner = owner;
        rt.connect(&row.scenario).map_err(|f| f.reason)?;
        Ok(rt)
    }

    /// Connects the client socket the scenario uses (anew after a restart of the server).
    fn connect(&mut self, scenario: &Scenario) -> Result<(), RunFailure> {
        let ctx = &self.ctx;
        let kind = match scenario {
            Scenario::Throughput { client: Client::ReqRep, .. } | Scenario::Tail { .. } => Some(zmq::REQ),
            Scenario::Throughput { client: Client::Dealer(_), .. } | Scenario::Latency { .. } => Some(zmq::DEALER),
            Scenario::Throughput { client: Client::Push, .. } => Some(zmq::PUSH),
            _ => None,
        };
        let watch = self.watched();
        self.client = kind.map(|k| load::socket(ctx, k, &self.endpoint, self.curve.as_ref(), watch)).transpose()?;
        if let Some(client) = &self.client {
            // A PUSH that cannot deliver holds at most this many before the round waits.
            client.set_sndhwm(1000).map_err(|e| RunFailure::new(format!("socket: {e}")))?;
        }
        self.ack_socket = self.ack.as_ref().map(|a| load::socket(ctx, zmq::PULL, a, None, false)).transpose()?;
        self.clients.borrow_mut().clear();
        Ok(())
    }

    /// Makes sure the server is up before a round: a user's server whose endpoint the other side
    /// of a comparison took is started again; one that died fails the round with its own words.
    pub fn ensure(&mut self, scenario: &Scenario) -> Result<(), RunFailure> {
        let (spec, key) = match &mut self.server {
            Running::Process(server) => {
                return match server.exit_reason() {
                    Some(why) => Err(RunFailure { reason: why, detail: server.stderr_tail() }),
                    None => Ok(()),
                }
            }
            Running::User { spec, key } => (spec.clone(), key.clone()),
            Running::Inproc(_) | Running::Nothing => return Ok(()),
        };
        match server::held(&self.endpoint, self.owner) {
            Held::Running => Ok(()),
            Held::Ended { reason, stderr } => {
                mark_dead(&key, &reason);
                Err(RunFailure { reason, detail: stderr })
            }
            Held::Elsewhere => {
                server::hold(&self.endpoint, self.owner, &spec).map_err(|e| {
                    mark_dead(&key, &e);
                    RunFailure::new(e)
                })?;
                self.starts += 1;
                self.connect(scenario)
            }
        }
    }

    /// Whether client connections are watched, to tell a server that closes them from a silent
    /// one: a user's server (the built-in one answers).
    pub fn watched(&self) -> bool {
        matches!(self.server, Running::User { .. })
    }

    /// The server process, when it is one.
    pub fn pid(&self) -> Option<u32> {
        match &self.server {
            Running::Process(s) => Some(s.pid()),
            Running::User { .. } => server::held_pid(&self.endpoint, self.owner),
            Running::Inproc(_) | Running::Nothing => None,
        }
    }

    /// Why the server is gone, when it is, with its stderr; remembered for a user's server.
    pub fn gone(&mut self) -> Option<RunFailure> {
        match &mut self.server {
            Running::Process(s) => s.exit_reason().map(|reason| RunFailure { reason, detail: s.stderr_tail() }),
            Running::User { key, .. } => match server::held(&self.endpoint, self.owner) {
                Held::Ended { reason, stderr } => {
                    mark_dead(key, &reason);
                    Some(RunFailure { reason, detail: stderr })
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Closes the sockets and stops the server.
    pub fn stop(&mut self) {
        self.client = None;
        self.ack_socket = None;
        self.clients.borrow_mut().clear();
        match std::mem::replace(&mut self.server, Running::Nothing) {
            Running::Process(mut s) => s.stop(),
            Running::Inproc(s) => drop(s),
            Running::User { .. } => {
                server::release(&self.endpoint, self.owner);
                if let Some(path) = self.endpoint.strip_prefix("ipc://") {
                    remove_socket_file(path);
                }
            }
            Running::Nothing => {}
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bare(endpoint: String, env: &PrepareEnv) -> Runtime {
    Runtime {
        ctx: zmq::Context::new(),
        server: Running::Nothing,
        owner: 0,
        endpoint,
        ack: None,
        curve: None,
        client: None,
        ack_socket: None,
        clients: Default::default(),
        self_exe: env.self_exe.to_path_buf(),
        command: Vec::new(),
        starts: 0,
        _ipc_dir: None,
    }
}

fn mark_dead(key: &str, why: &str) {
    DEAD.with(|d| d.borrow_mut().insert(key.to_string(), why.to_string()));
}

/// Why a user's server was found dead in an earlier row of this run.
fn dead(key: &str) -> Option<String> {
    DEAD.with(|d| d.borrow().get(key).cloned())
}

fn start_builtin(
    row: &ZmqRow,
    env: &PrepareEnv,
    pattern: Pattern,
    transport: Transport,
    codec: Codec,
    curve: bool,
) -> Result<Runtime, String> {
    let (curve_client, curve_secret) = if curve {
        let pair = zmq::CurveKeyPair::new().map_err(|e| format!("CURVE keys: {e}"))?;
        let secret = zmq::z85_encode(&pair.secret_key).map_err(|e| format!("CURVE keys: {e}"))?;
        (Some(CurveClient { server_public: pair.public_key.to_vec() }), Some(secret))
    } else {
        (None, None)
    };
    let mut rt = bare(String::new(), env);
    rt.curve = curve_client;
    let bind = match transport {
        Transport::Tcp => "tcp://127.0.0.1:*".to_string(),
        Transport::Ipc => {
            let dir = super::ipc_dir()?;
            let endpoint = format!("ipc://{}/echo.ipc", dir.path().display());
            rt._ipc_dir = Some(dir);
            endpoint
        }
        Transport::Inproc => {
            let cfg = EchoConfig { pattern, codec, delay: Duration::ZERO, curve_secret };
            let name = format!("coldbench-echo-{}", row.id.render());
            let server = InprocServer::start(&rt.ctx, cfg, &name)?;
            rt.endpoint = server.endpoint.clone();
            rt.server = Running::Inproc(server);
            rt.command = vec!["(built-in echo worker, a thread of this process)".into()];
            return Ok(rt);
        }
    };
    let mut args =
        vec![WORKER_ARG.to_string(), "echo".into(), "--pattern".into(), pattern.as_str().into(), "--bind".into(), bind];
    if codec != Codec::None {
        args.extend(["--codec".into(), codec.as_str().into()]);
    }
    rt.command = std::iter::once(env.self_exe.display().to_string()).chain(args.iter().cloned()).collect();
    if let Some(secret) = curve_secret {
        args.extend(["--curve-secret".into(), secret]);
        rt.command.extend(["--curve-secret".into(), "(a new key)".into()]);
    }
    let spec = ServerSpec {
        program: env.self_exe.to_path_buf(),
        args,
        env: BTreeMap::new(),
        cwd: std::env::temp_dir(),
        ready: Readiness::Stdout { pattern: "^ready ".into() },
        timeout: row.settings.timeout,
        pipes: false,
        role: "server",
    };
    let server = Server::start(&spec).map_err(|e| format!("the built-in worker did not start: {e}"))?;
    rt.endpoint = server.announced.first().cloned().ok_or("the built-in worker announced no endpoint")?;
    rt.ack = server.announced.get(1).cloned();
    rt.server = Running::Process(server);
    rt.starts = 1;
    Ok(rt)
}

fn start_user(env: &PrepareEnv, user: &UserServer, owner: u64) -> Result<Runtime, String> {
    // A built server runs from its fresh copy; results name the file cargo built.
    let (program, shown) = user.command.program.resolve(env.staged)?;
    let key = format!("{} {}", program.display(), user.endpoint);
    if let Some(why) = dead(&key) {
        return Err(format!("not run: the server failed in an earlier row ({why})"));
    }
    let spec = ServerSpec {
        program,
        args: user.command.args.clone(),
        env: user.command.env.clone(),
        cwd: user.command.cwd.clone(),
        ready: user.ready.clone(),
        timeout: user.timeout,
        pipes: false,
        role: "server",
    };
    server::hold(&user.endpoint, owner, &spec).inspect_err(|e| mark_dead(&key, e))?;
    let mut rt = bare(user.endpoint.clone(), env);
    rt.command = std::iter::once(shown.display().to_string()).chain(spec.args.iter().cloned()).collect();
    rt.server = Running::User { spec, key };
    rt.starts = 1;
    Ok(rt)
}

/// Removes a Unix socket file a killed server left (nothing else).
fn remove_socket_file(path: &str) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}
