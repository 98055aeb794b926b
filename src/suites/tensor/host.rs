//! The host's side of a tensor worker: start it, wait for `ready`, send a tensor (its bytes or a
//! segment's handle) and wait for the checksum, with a time limit, while watching that it runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::tensors::Payload;
use super::worker::ENDPOINT_ENV;
use crate::results::Readiness;
use crate::suites::role::WORKER_ARG;
use crate::suites::server::{Server, ServerSpec};

/// A running worker and the host's socket to it.
pub struct TensorWorker {
    socket: zmq::Socket,
    server: Server,
    timeout: Duration,
    _ctx: zmq::Context,
}

/// What crosses with a request: nothing more, a tensor's bytes, or a segment's handle.
pub enum Body<'a> {
    /// No tensor.
    None,
    /// `HEADER DEVICE DATA`, the data sent from where it lies.
    Bytes(&'a str, &'a str, Payload),
    /// `HEADER DEVICE HANDLE`.
    Handle(&'a str, &'a str, &'a str),
}

impl TensorWorker {
    /// Starts the built-in worker (`exe`, this program) with its socket in `ipc_dir`.
    pub fn start(exe: &Path, ipc_dir: &Path, n: usize, timeout: Duration) -> Result<TensorWorker, String> {
        let ctx = zmq::Context::new();
        let socket = ctx.socket(zmq::DEALER).map_err(|e| format!("socket: {e}"))?;
        socket.set_linger(0).map_err(|e| format!("socket: {e}"))?;
        socket.set_sndtimeo(timeout.as_millis().min(i32::MAX as u128) as i32).map_err(|e| format!("socket: {e}"))?;
        let endpoint = format!("ipc://{}/t{n}", ipc_dir.display());
        socket.bind(&endpoint).map_err(|e| format!("could not bind {endpoint}: {e}"))?;
        let spec = ServerSpec {
            program: exe.to_path_buf(),
            args: vec![WORKER_ARG.into(), "tensor".into()],
            env: BTreeMap::from([
                (ENDPOINT_ENV.to_string(), endpoint),
                ("GLIBC_TUNABLES".to_string(), super::worker::allocator_tunables()),
            ]),
            cwd: std::env::temp_dir(),
            ready: Readiness::Exit,
            timeout,
            pipes: false,
            role: "worker",
        };
        let server = Server::start(&spec).map_err(|e| format!("the worker did not start: {e}"))?;
        let mut w = TensorWorker { socket, server, timeout, _ctx: ctx };
        let frames = w.recv("start")?;
        if frames.first().map(Vec::as_slice) != Some(b"ready") {
            return Err("the worker did not say `ready`".into());
        }
        Ok(w)
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Why it no longer runs, or `None` while it does.
    pub fn exit_reason(&mut self) -> Option<String> {
        self.server.exit_reason()
    }

    /// Sends a request without waiting.
    pub fn send(&mut self, op: &str, body: Body) -> Result<(), String> {
        let err = |e: zmq::Error| format!("could not send `{op}`: {e}");
        let (header, device) = match &body {
            Body::None => return self.socket.send(op, 0).map_err(err),
            Body::Bytes(header, device, _) | Body::Handle(header, device, _) => (*header, *device),
        };
        self.socket.send(op, zmq::SNDMORE).map_err(err)?;
        self.socket.send(header, zmq::SNDMORE).map_err(err)?;
        self.socket.send(device, zmq::SNDMORE).map_err(err)?;
        match body {
            Body::Bytes(_, _, data) => send_without_copy(&mut self.socket, data).map_err(err),
            Body::Handle(_, _, handle) => self.socket.send(handle, 0).map_err(err),
            Body::None => unreachable!("sent above"),
        }
    }

    /// Waits for the answer to `what`: the checksum.
    pub fn answer(&mut self, what: &str) -> Result<u64, String> {
        let frames = self.recv(what)?;
        match (frames.first().map(Vec::as_slice), frames.get(1)) {
            (Some(b"ok"), Some(sum)) if sum.len() == 8 => Ok(u64::from_le_bytes(sum[..8].try_into().expect("8 bytes"))),
            (Some(b"error"), Some(text)) => {
                Err(format!("the worker failed `{what}`: {}", String::from_utf8_lossy(text)))
            }
            _ => Err(format!("the worker answered `{what}` with something that is not a reply")),
        }
    }

    /// Sends a request and waits for its checksum.
    pub fn request(&mut self, op: &str, body: Body) -> Result<u64, String> {
        self.send(op, body)?;
        self.answer(op)
    }

    fn recv(&mut self, what: &str) -> Result<Vec<Vec<u8>>, String> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let slice = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(100));
            let ready = self.socket.poll(zmq::POLLIN, slice.as_millis() as i64).map_err(|e| e.to_string())?;
            if ready > 0 {
                return self.socket.recv_multipart(0).map_err(|e| e.to_string());
            }
            if let Some(why) = self.server.exit_reason() {
                return Err(self.with_stderr(format!("the worker {why} during `{what}`")));
            }
            if Instant::now() >= deadline {
                return Err(self.with_stderr(format!(
                    "no answer to `{what}` within {}",
                    humantime::format_duration(self.timeout)
                )));
            }
        }
    }

    fn with_stderr(&mut self, why: String) -> String {
        match self.server.stderr_tail() {
            Some(tail) => format!("{why}; its stderr ends with:\n{tail}"),
            None => why,
        }
    }

    /// Says goodbye, gives it a moment to exit, then stops it.
    pub fn stop(&mut self) {
        if self.server.exit_reason().is_none() {
            let _ = self.socket.send("bye", zmq::DONTWAIT);
            let deadline = Instant::now() + Duration::from_millis(200);
            while self.server.exit_reason().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.server.stop();
    }
}

/// Sends `data` as the last frame from where it lies: `zmq::Socket::send` would first copy it
/// into a new message, a whole extra pass over the tensor (and, for a fresh message, a page fault
/// per 4 KiB) that is the sender's choice, not a cost of the transport.
fn send_without_copy(socket: &mut zmq::Socket, data: Payload) -> Result<(), zmq::Error> {
    crate::worker::transport::send_bytes(socket, data, 0)
}

impl Drop for TensorWorker {
    fn drop(&mut self) {
        self.stop();
    }
}
