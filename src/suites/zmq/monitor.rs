//! What happened to a client's connection, from libzmq's socket monitor: ZeroMQ reconnects
//! silently, so without it a server that closes the connection (or is no ZeroMQ server at all)
//! looks the same as one that never answers. Events arrive on an inproc socket only when the
//! connection changes; nothing is read on the request path.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use zmq::SocketEvent;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The monitor of one client socket.
pub struct Monitor {
    events: zmq::Socket,
    /// Disconnections and failed handshakes seen so far.
    closed: Cell<u32>,
    handshake_failed: Cell<u32>,
}

impl Monitor {
    /// Watches `socket` (before it connects, so that no event is missed).
    pub fn attach(ctx: &zmq::Context, socket: &zmq::Socket) -> Result<Monitor, zmq::Error> {
        let endpoint =
            format!("inproc://coldbench-monitor-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let wanted = SocketEvent::DISCONNECTED as i32
            | SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as i32
            | SocketEvent::HANDSHAKE_FAILED_PROTOCOL as i32
            | SocketEvent::HANDSHAKE_FAILED_AUTH as i32;
        socket.monitor(&endpoint, wanted)?;
        let events = ctx.socket(zmq::PAIR)?;
        events.set_linger(0)?;
        events.connect(&endpoint)?;
        Ok(Monitor { events, closed: Cell::new(0), handshake_failed: Cell::new(0) })
    }

    /// Stops watching `socket`; call it before `socket` closes. libzmq sends its events with a
    /// blocking send from the context's I/O thread, and a closed socket is torn down later, on
    /// that thread: a connection that ends in between (the server stopped right after its
    /// client closed) would be reported to a monitor nobody reads any more, and that send would
    /// block the I/O thread for good, so that no later socket of the context ever connects.
    pub fn detach(&self, socket: &mut zmq::Socket) {
        crate::sys::zmq::stop_monitor(socket);
    }

    /// How the connection ended since the socket was made, when it did: `the server closed the
    /// connection (twice)`, or that the other end does not speak ZeroMQ.
    pub fn closed(&self) -> Option<String> {
        while let Ok(frames) = self.events.recv_multipart(zmq::DONTWAIT) {
            // The first frame is the event (u16, native order) and its value (u32).
            let Some(raw) = frames.first().and_then(|f| f.get(..2)) else { continue };
            match SocketEvent::from_raw(u16::from_ne_bytes([raw[0], raw[1]])) {
                SocketEvent::DISCONNECTED => self.closed.set(self.closed.get() + 1),
                SocketEvent::HANDSHAKE_FAILED_NO_DETAIL
                | SocketEvent::HANDSHAKE_FAILED_PROTOCOL
                | SocketEvent::HANDSHAKE_FAILED_AUTH => self.handshake_failed.set(self.handshake_failed.get() + 1),
                _ => {}
            }
        }
        let times = |n: u32| match n {
            1 => "once".to_string(),
            2 => "twice".to_string(),
            n => format!("{n} times"),
        };
        let (closed, handshake_failed) = (self.closed.get(), self.handshake_failed.get());
        if handshake_failed > 0 {
            Some(format!(
                "the ZeroMQ handshake with the server failed ({}): is a ZeroMQ server listening on the endpoint?",
                times(handshake_failed)
            ))
        } else if closed > 0 {
            Some(format!("the server closed the connection ({}) and never answered", times(closed)))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_that_closes_the_connection_is_seen() {
        let ctx = zmq::Context::new();
        // Not a ZeroMQ server: a TCP listener that accepts and closes.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = ctx.socket(zmq::REQ).unwrap();
        client.set_linger(0).unwrap();
        let monitor = Monitor::attach(&ctx, &client).unwrap();
        assert_eq!(monitor.closed(), None);
        client.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        let (stream, _) = listener.accept().unwrap();
        drop(stream);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let seen = loop {
            if let Some(seen) = monitor.closed() {
                break seen;
            }
            assert!(std::time::Instant::now() < deadline, "no event within 5 s");
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert!(seen.contains("handshake") || seen.contains("closed the connection"), "{seen}");
    }

    #[test]
    fn a_server_that_stops_right_after_its_watched_client_closes_leaves_the_context_working() {
        // A suite row stops its client and then its server once per process; the next client of
        // the same context must still connect and be answered.
        let ctx = zmq::Context::new();
        for i in 0..20 {
            let server_ctx = zmq::Context::new();
            let server = server_ctx.socket(zmq::REP).unwrap();
            server.set_linger(0).unwrap();
            server.set_rcvtimeo(5000).unwrap();
            server.bind("tcp://127.0.0.1:*").unwrap();
            let endpoint = server.get_last_endpoint().unwrap().unwrap();
            let client = crate::suites::zmq::load::socket(&ctx, zmq::REQ, &endpoint, None, true).unwrap();
            client.send(&b"ping"[..], 0).unwrap();
            let request = server.recv_bytes(0).map_err(|e| format!("server {i}: {e}")).unwrap();
            server.send(request, 0).unwrap();
            assert_eq!(client.recv_bytes(0).map_err(|e| format!("client {i}: {e}")).unwrap(), b"ping");
            drop(client);
            drop(server);
        }
    }
}
