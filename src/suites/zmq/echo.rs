//! The built-in echo server: answers every request with what it got. As `rep` and `router` it is
//! the floor of request/reply (its cost is libzmq's); as `pull` it counts messages and tells the
//! sender how many arrived when asked (`FIN`). With a codec it decompresses each request and
//! compresses the reply again, as a service that reads its input would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::suites::zmq::codec::Codec;

/// The message a PUSH client sends last; the PULL server answers it with the count it received.
pub const FIN: &[u8] = b"\0coldbench-fin";

/// The socket pattern a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// REP: one request at a time, answered in order.
    Rep,
    /// ROUTER: many outstanding requests, each answered with its routing id.
    Router,
    /// PULL: one-way; answers only `FIN`.
    Pull,
}

impl Pattern {
    /// `rep`, `router`, `pull`: as the worker's `--pattern` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::Rep => "rep",
            Pattern::Router => "router",
            Pattern::Pull => "pull",
        }
    }
}

/// How the echo server behaves.
#[derive(Debug, Clone)]
pub struct EchoConfig {
    /// Its socket.
    pub pattern: Pattern,
    /// Decompress requests and compress replies with this.
    pub codec: Codec,
    /// Time spent on each request before answering (a slow server for tests).
    pub delay: Duration,
    /// The server's CURVE secret key (Z85); plain when absent.
    pub curve_secret: Option<String>,
}

/// A bound echo server.
pub struct EchoServer {
    socket: zmq::Socket,
    ack: Option<zmq::Socket>,
}

impl EchoServer {
    /// Binds the server's socket (and, for `pull`, the socket that answers `FIN`).
    pub fn bind(ctx: &zmq::Context, cfg: &EchoConfig, endpoint: &str, ack: Option<&str>) -> Result<EchoServer, String> {
        let kind = match cfg.pattern {
            Pattern::Rep => zmq::REP,
            Pattern::Router => zmq::ROUTER,
            Pattern::Pull => zmq::PULL,
        };
        let socket = ctx.socket(kind).map_err(|e| e.to_string())?;
        socket.set_linger(0).map_err(|e| e.to_string())?;
        socket.set_rcvtimeo(100).map_err(|e| e.to_string())?;
        if let Some(secret) = &cfg.curve_secret {
            let key = zmq::z85_decode(secret).map_err(|_| "the CURVE secret key is not Z85")?;
            socket.set_curve_server(true).map_err(|e| format!("CURVE: {e}"))?;
            socket.set_curve_secretkey(&key).map_err(|e| format!("CURVE: {e}"))?;
        }
        socket.bind(endpoint).map_err(|e| format!("could not bind {endpoint}: {e}"))?;
        let ack = match (cfg.pattern, ack) {
            (Pattern::Pull, endpoint) => {
                let s = ctx.socket(zmq::PUSH).map_err(|e| e.to_string())?;
                s.set_linger(0).map_err(|e| e.to_string())?;
                s.set_sndtimeo(1000).map_err(|e| e.to_string())?;
                let endpoint = endpoint.unwrap_or("tcp://127.0.0.1:*");
                s.bind(endpoint).map_err(|e| format!("could not bind {endpoint}: {e}"))?;
                Some(s)
            }
            _ => None,
        };
        Ok(EchoServer { socket, ack })
    }

    /// The endpoints it bound: the server's, and for `pull` the one that answers `FIN`.
    pub fn endpoints(&self) -> Vec<String> {
        std::iter::once(&self.socket)
            .chain(&self.ack)
            .filter_map(|s| crate::suites::role::last_endpoint(s).ok())
            .collect()
    }

    /// Serves until `stop` is set (never, in a worker process: it is killed).
    pub fn serve(&self, cfg: &EchoConfig, stop: Option<&AtomicBool>) -> Result<(), String> {
        if cfg.pattern == Pattern::Pull {
            return self.count(stop);
        }
        while !stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            let frames = match self.socket.recv_multipart(0) {
                Ok(frames) => frames,
                Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => continue,
                Err(zmq::Error::ETERM) => return Ok(()),
                Err(e) => return Err(format!("receive: {e}")),
            };
            if !cfg.delay.is_zero() {
                std::thread::sleep(cfg.delay);
            }
            let reply = answer(frames, cfg.codec)?;
            match self.socket.send_multipart(reply, 0) {
                Ok(()) | Err(zmq::Error::EHOSTUNREACH) => {}
                Err(zmq::Error::ETERM) => return Ok(()),
                Err(e) => return Err(format!("send: {e}")),
            }
        }
        Ok(())
    }

    /// PULL: counts messages until `FIN`, then says how many. One-way throughput is bounded by
    /// the receiver, so it receives into one reused message, as libzmq's `local_thr` does, rather
    /// than copying every frame out.
    fn count(&self, stop: Option<&AtomicBool>) -> Result<(), String> {
        let mut count: u64 = 0;
        let mut msg = zmq::Message::new();
        while !stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            match self.socket.recv(&mut msg, 0) {
                Ok(()) => {}
                Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => continue,
                Err(zmq::Error::ETERM) => return Ok(()),
                Err(e) => return Err(format!("receive: {e}")),
            }
            if msg.get_more() {
                // The rest of a multipart message: it counts once, at its last frame.
                continue;
            }
            if *msg != *FIN {
                count += 1;
                continue;
            }
            if let Some(ack) = &self.ack {
                // A client that went away before asking is no reason to stop serving.
                match ack.send(&count.to_le_bytes()[..], 0) {
                    Ok(()) | Err(zmq::Error::EAGAIN) => {}
                    Err(e) => return Err(format!("send: {e}")),
                }
            }
            count = 0;
        }
        Ok(())
    }
}

/// The reply to a request: the same frames, the last one decompressed and compressed again.
fn answer(mut frames: Vec<Vec<u8>>, codec: Codec) -> Result<Vec<Vec<u8>>, String> {
    if codec != Codec::None {
        if let Some(last) = frames.last_mut() {
            let data = codec.decompress(last, 64 << 20)?;
            *last = codec.compress(&data);
        }
    }
    Ok(frames)
}

/// An echo server in a thread of this process, for the `inproc` transport (which needs the
/// client's context); stopped and joined when dropped.
pub struct InprocServer {
    /// The endpoint it serves, `inproc://NAME-N`.
    pub endpoint: String,
    stop: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl InprocServer {
    /// Binds `inproc://NAME-N` in `ctx`, N new to this process, and serves it on a thread.
    ///
    /// A closed socket gives its inproc name back only when libzmq's reaper thread gets to it,
    /// after the close returns; binding the same name again for the next round would then fail
    /// with "Address already in use". A fresh N each time never waits on the reaper.
    pub fn start(ctx: &zmq::Context, cfg: EchoConfig, name: &str) -> Result<InprocServer, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let endpoint = format!("inproc://{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let server = EchoServer::bind(ctx, &cfg, &endpoint, None)?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || server.serve(&cfg, Some(&flag)));
        Ok(InprocServer { endpoint, stop, thread: Some(thread) })
    }
}

impl Drop for InprocServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ctx: &zmq::Context, endpoint: &str, payload: &[u8]) -> Vec<u8> {
        let client = ctx.socket(zmq::REQ).unwrap();
        client.set_linger(0).unwrap();
        client.set_rcvtimeo(5000).unwrap();
        client.connect(endpoint).unwrap();
        client.send(payload, 0).unwrap();
        client.recv_bytes(0).unwrap()
    }

    #[test]
    fn inproc_servers_of_one_row_never_share_a_name() {
        let ctx = zmq::Context::new();
        let cfg = EchoConfig { pattern: Pattern::Rep, codec: Codec::None, delay: Duration::ZERO, curve_secret: None };
        // Two at once (rows of several processes in one context) both bind and answer for
        // themselves.
        let a = InprocServer::start(&ctx, cfg.clone(), "row").unwrap();
        let b = InprocServer::start(&ctx, cfg.clone(), "row").unwrap();
        assert_ne!(a.endpoint, b.endpoint);
        assert!(a.endpoint.starts_with("inproc://row-"), "{}", a.endpoint);
        assert_eq!(round_trip(&ctx, &a.endpoint, b"a"), b"a");
        assert_eq!(round_trip(&ctx, &b.endpoint, b"b"), b"b");
        drop((a, b));
        // Round after round: each starts the moment the last one is dropped, before libzmq's
        // reaper has let go of the old name.
        for round in 0..50u32 {
            let s = InprocServer::start(&ctx, cfg.clone(), "row").unwrap_or_else(|e| panic!("round {round}: {e}"));
            let bytes = round.to_le_bytes();
            assert_eq!(round_trip(&ctx, &s.endpoint, &bytes), bytes);
        }
    }
}
