//! Turn a program into a worker of `cargo coldbench suite rpc`: a process that the suite starts,
//! calls methods of, and measures. The protocol is in `docs/PROTOCOL.md`; this module speaks it.
//!
//! ```no_run
//! use coldbench::worker::Worker;
//!
//! fn main() -> std::process::ExitCode {
//!     Worker::new()
//!         .method("resize", |image, _host| Ok(image.iter().step_by(2).copied().collect()))
//!         .run()
//! }
//! ```
//!
//! Add the library without its command line (`cargo-coldbench = { version = "…",
//! default-features = false, features = ["worker"] }`): then it needs only `zmq` and `libc`.
//!
//! Every worker also has the built-in methods the suite measures (`small_int`, `small_string`,
//! `array_f64`, `bytes`, `echo`, `chain`, `singleton`); a method of the same name replaces one.
//! A method may call back into the host while it runs ([`Peer::call`]); the host's calls that
//! arrive meanwhile are served, so chains host → worker → host → … nest to any depth.

pub mod builtin;
pub mod frame;
pub mod shared;
pub mod transport;

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{FromRawFd, RawFd};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub use frame::{Arg, Message, Payload, Status, PROTOCOL};
use transport::{Connection, RecvError};

/// The worker in Python (one file, `cargo coldbench worker python`): the protocol with the
/// standard library over stdio and with pyzmq over ZeroMQ, the built-in methods, and a way to
/// register one's own.
pub const PYTHON_WORKER: &str = include_str!("coldbench_worker.py");

/// The environment variable that tells a worker where the host is: a ZeroMQ endpoint to connect
/// a DEALER socket to (`ipc://…`, `tcp://127.0.0.1:…`), or `stdio`.
pub const ENDPOINT_ENV: &str = "COLDBENCH_RPC";

/// A method: the argument's bytes and the connection (to call the other side back) in, the
/// result's bytes or an error message out.
pub type Method = Rc<dyn Fn(&[u8], &mut Peer) -> Result<Vec<u8>, String>>;

/// Why a call has no result.
#[derive(Debug)]
pub enum CallError {
    /// The other side has no such method.
    UnknownMethod(String),
    /// The method failed with this message.
    Failed(String),
    /// No reply within the time allowed.
    Timeout(Duration),
    /// The other side is gone (it exited, it was killed), as its watcher says.
    Gone(String),
    /// The connection closed.
    Closed,
    /// Sending or receiving failed.
    Io(std::io::Error),
    /// The other side does not speak the protocol.
    Protocol(frame::BadFrame),
    /// The host said goodbye while the call waited.
    Bye,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::UnknownMethod(m) => write!(f, "the worker has no method `{m}`"),
            CallError::Failed(why) => write!(f, "the method failed: {why}"),
            CallError::Timeout(t) => write!(f, "no reply within {}", humanize(*t)),
            CallError::Gone(why) => f.write_str(why),
            CallError::Closed => f.write_str("the connection closed before the reply"),
            CallError::Io(e) => write!(f, "{e}"),
            CallError::Protocol(bad) => write!(f, "not the coldbench RPC protocol: {bad}"),
            CallError::Bye => f.write_str("the host ended the session during the call"),
        }
    }
}

impl std::error::Error for CallError {}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A call's result.
#[derive(Debug)]
pub struct Reply {
    /// What the method returned.
    pub payload: Payload,
    /// How long the method ran where it ran (its in-process cost).
    pub method_time: Duration,
}

/// Checks, while a call waits, that the other side still runs: `Some(why)` when it does not.
pub type Watch = Box<dyn FnMut() -> Option<String>>;

/// One end of a connection: calls the other side and serves its calls.
pub struct Peer {
    conn: Connection,
    methods: HashMap<String, Method>,
    next_id: u64,
    /// How long a call may wait for its reply; forever when `None`.
    limit: Option<Duration>,
    watch: Option<Watch>,
}

/// While waiting with a limit, look at the other side this often.
const SLICE: Duration = Duration::from_millis(100);

impl Peer {
    /// A peer on `conn` serving `methods`.
    pub fn new(conn: Connection, methods: HashMap<String, Method>) -> Peer {
        Peer { conn, methods, next_id: 1, limit: None, watch: None }
    }

    /// Calls wait at most `limit` for their reply, and `watch` says when the other side is gone.
    pub fn with_limit(mut self, limit: Duration, watch: Watch) -> Peer {
        self.limit = Some(limit);
        self.watch = Some(watch);
        self
    }

    /// Calls `method` on the other side and waits for its reply, serving the calls the other
    /// side makes meanwhile.
    pub fn call<'a>(&mut self, method: &str, arg: impl Into<Arg<'a>>) -> Result<Reply, CallError> {
        let id = self.send_call(method, arg)?;
        self.wait_reply(id)
    }

    /// Sends a call without waiting; [`Peer::wait_reply`] waits for it. Calls to several peers
    /// at once are sent to each, then awaited from each.
    pub fn send_call<'a>(&mut self, method: &str, arg: impl Into<Arg<'a>>) -> Result<u64, CallError> {
        let id = self.next_id;
        self.next_id += 1;
        // Borrowed bytes are copied into the transport's message, as any RPC serialising its
        // argument does; shared ones go from where they lie.
        self.conn.send_call(id, method, arg.into()).map_err(CallError::Io)?;
        Ok(id)
    }

    /// Waits for the reply to call `id`, serving the calls that arrive meanwhile.
    pub fn wait_reply(&mut self, id: u64) -> Result<Reply, CallError> {
        let start = Instant::now();
        loop {
            match self.next(start)? {
                Message::Reply { id: got, status, payload, method_ns } if got == id => {
                    return match status {
                        Status::Ok => Ok(Reply { payload, method_time: Duration::from_nanos(method_ns) }),
                        Status::UnknownMethod => Err(CallError::UnknownMethod(text(&payload))),
                        Status::Failed => Err(CallError::Failed(text(&payload))),
                    };
                }
                Message::Reply { id: got, .. } => {
                    return Err(CallError::Protocol(frame::BadFrame(format!(
                        "a reply to call {got} while call {id} waited"
                    ))))
                }
                Message::Call { id, method, payload } => self.serve_call(id, &method, &payload)?,
                Message::Bye => return Err(CallError::Bye),
                Message::Hello { .. } => return Err(CallError::Protocol(frame::BadFrame("a second HELLO".into()))),
            }
        }
    }

    /// The next message. With a limit, waits in slices, asking the watcher between them whether
    /// the other side still runs, and gives up `limit` after `start`; without one, blocks.
    fn next(&mut self, start: Instant) -> Result<Message, CallError> {
        loop {
            match self.conn.recv(self.limit.map(|limit| SLICE.min(limit))) {
                Ok(Some(message)) => return Ok(message),
                Ok(None) => {
                    if let Some(why) = self.watch.as_mut().and_then(|w| w()) {
                        return Err(CallError::Gone(why));
                    }
                    if let Some(limit) = self.limit.filter(|l| start.elapsed() >= *l) {
                        return Err(CallError::Timeout(limit));
                    }
                }
                Err(e) => return Err(self.recv_failed(e)),
            }
        }
    }

    /// A closed connection is explained by the watcher when it can (the process died).
    fn recv_failed(&mut self, e: RecvError) -> CallError {
        match e {
            RecvError::Bad(bad) => CallError::Protocol(bad),
            RecvError::Closed | RecvError::Io(_) => {
                // Give a dying process a moment to be reaped, so its exit status is the reason.
                let deadline = Instant::now() + Duration::from_millis(500);
                while let Some(watch) = self.watch.as_mut() {
                    if let Some(why) = watch() {
                        return CallError::Gone(why);
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                match e {
                    RecvError::Io(io) => CallError::Io(io),
                    _ => CallError::Closed,
                }
            }
        }
    }

    fn serve_call(&mut self, id: u64, method: &str, payload: &[u8]) -> Result<(), CallError> {
        let reply = match self.methods.get(method).cloned() {
            None => Message::Reply {
                id,
                status: Status::UnknownMethod,
                payload: method.as_bytes().to_vec().into(),
                method_ns: 0,
            },
            Some(f) => {
                let start = Instant::now();
                let result = f(payload, self);
                let method_ns = start.elapsed().as_nanos() as u64;
                match result {
                    Ok(out) => Message::Reply { id, status: Status::Ok, payload: out.into(), method_ns },
                    Err(why) => {
                        Message::Reply { id, status: Status::Failed, payload: why.into_bytes().into(), method_ns }
                    }
                }
            }
        };
        self.conn.send(reply).map_err(CallError::Io)
    }

    /// Serves calls until the other side says goodbye or closes the connection.
    pub fn serve(&mut self) -> Result<(), CallError> {
        let start = Instant::now();
        loop {
            match self.next(start) {
                Ok(Message::Call { id, method, payload }) => self.serve_call(id, &method, &payload)?,
                Ok(Message::Bye) | Err(CallError::Closed) => return Ok(()),
                Ok(Message::Hello { .. }) => return Err(unexpected("HELLO")),
                Ok(Message::Reply { .. }) => return Err(unexpected("REPLY")),
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether large arguments of calls go through shared memory (docs/PROTOCOL.md, "Shared
    /// memory"): on the host, once the worker's `HELLO` accepted the offer.
    pub fn shares_memory(&self) -> bool {
        self.conn.shares_memory()
    }

    /// Waits for the worker's `HELLO` and returns the methods it has.
    pub fn await_hello(&mut self) -> Result<Vec<String>, CallError> {
        match self.next(Instant::now())? {
            Message::Hello { methods, .. } => Ok(methods),
            _ => Err(CallError::Protocol(frame::BadFrame("the first message is not HELLO".into()))),
        }
    }

    /// Tells the other side to exit.
    pub fn bye(&mut self) {
        let _ = self.conn.send_now(Message::Bye);
    }

    /// Sends the `HELLO` that starts a worker's session.
    fn hello(&mut self) -> std::io::Result<()> {
        let mut methods: Vec<String> = self.methods.keys().cloned().collect();
        methods.sort();
        let features = self.conn.features();
        self.conn.send(Message::Hello { protocol: PROTOCOL.to_string(), features, methods })
    }
}

fn unexpected(kind: &str) -> CallError {
    CallError::Protocol(frame::BadFrame(format!("a {kind} message where a CALL or BYE was expected")))
}

fn text(payload: &[u8]) -> String {
    String::from_utf8_lossy(payload).into_owned()
}

/// `chain`: a call of depth N makes a call of depth N − 1 back to the caller, down to 1.
pub fn chain(arg: &[u8], peer: &mut Peer) -> Result<Vec<u8>, String> {
    let depth = builtin::count_arg(arg)?;
    if depth <= 1 {
        return Ok(arg.to_vec());
    }
    peer.call("chain", &(depth - 1).to_le_bytes()).map(|r| r.payload.to_vec()).map_err(|e| e.to_string())
}

/// `singleton`: N calls to the caller's `counter.add` (an object living in the caller).
pub fn singleton(arg: &[u8], peer: &mut Peer) -> Result<Vec<u8>, String> {
    let calls = builtin::count_arg(arg)?;
    let mut last = Vec::new();
    for _ in 0..calls {
        last = peer.call("counter.add", &1u64.to_le_bytes()).map_err(|e| e.to_string())?.payload.to_vec();
    }
    Ok(last)
}

/// A program becoming a worker: its methods, then [`Worker::run`].
pub struct Worker {
    methods: HashMap<String, Method>,
}

impl Default for Worker {
    fn default() -> Self {
        Worker::new()
    }
}

impl Worker {
    /// A worker with the built-in methods.
    pub fn new() -> Worker {
        let mut w = Worker { methods: HashMap::new() };
        for call in builtin::Call::ALL {
            let f = call.function();
            w = w.method(call.method(), move |arg, _| f(arg));
        }
        w.method("echo", |arg, _| builtin::echo(arg)).method("chain", chain).method("singleton", singleton)
    }

    /// Adds (or replaces) a method. It gets the argument's bytes and the connection, through
    /// which it may call the host back.
    pub fn method(mut self, name: &str, f: impl Fn(&[u8], &mut Peer) -> Result<Vec<u8>, String> + 'static) -> Worker {
        self.methods.insert(name.to_string(), Rc::new(f));
        self
    }

    /// Connects to the host named in `COLDBENCH_RPC`, serves its calls until it says goodbye,
    /// and returns the exit status (1, with the reason on stderr, when something went wrong).
    pub fn run(self) -> ExitCode {
        match self.serve_from_env() {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("coldbench worker: {why}");
                ExitCode::FAILURE
            }
        }
    }

    /// What [`Worker::run`] does, with the error returned.
    pub fn serve_from_env(self) -> Result<(), String> {
        let endpoint = std::env::var(ENDPOINT_ENV).map_err(|_| {
            format!(
                "{ENDPOINT_ENV} is not set: this program is a worker of `cargo coldbench suite rpc`, which starts it"
            )
        })?;
        let (conn, _ctx) = connect(&endpoint)?;
        let conn = match std::env::var(shared::SHARED_ENV) {
            Ok(path) if !path.is_empty() => match shared::View::open(&path) {
                Ok(view) => conn.mapping(view),
                Err(e) => {
                    // The connection carries every byte instead: slower, not wrong.
                    eprintln!("coldbench worker: could not open the host's shared memory {path}: {e}; large arguments come over the connection");
                    conn
                }
            },
            _ => conn,
        };
        let mut peer = Peer::new(conn, self.methods);
        peer.hello().map_err(|e| format!("could not greet the host: {e}"))?;
        peer.serve().map_err(|e| e.to_string())
    }
}

/// The worker's end of the connection; the context lives as long as the socket.
fn connect(endpoint: &str) -> Result<(Connection, Option<zmq::Context>), String> {
    if endpoint == "stdio" {
        // The protocol owns the real stdout; what the program prints goes to stderr instead,
        // so a stray `println!` cannot break a message.
        // SAFETY: each `dup` returns a new descriptor or -1, checked before a `File` takes it, so
        // every `File` made here is the only owner of its descriptor. `dup2(2, 1)` only points
        // descriptor 1 at stderr's file; no Rust object owns descriptor 1 (std's stdout writes to
        // it by number and never closes it).
        let (protocol_out, stdin) = unsafe {
            let out = libc::dup(1);
            if out < 0 || libc::dup2(2, 1) < 0 {
                return Err(format!("could not set up stdout: {}", std::io::Error::last_os_error()));
            }
            let input = libc::dup(0);
            if input < 0 {
                return Err(format!("could not set up stdin: {}", std::io::Error::last_os_error()));
            }
            (std::fs::File::from_raw_fd(out), std::fs::File::from_raw_fd(input as RawFd))
        };
        return Ok((Connection::stream(Box::new(stdin), Box::new(protocol_out), 0), None));
    }
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::DEALER).map_err(|e| e.to_string())?;
    socket.set_linger(0).map_err(|e| e.to_string())?;
    socket.connect(endpoint).map_err(|e| format!("could not connect to {endpoint}: {e}"))?;
    Ok((Connection::zmq(socket), Some(ctx)))
}
