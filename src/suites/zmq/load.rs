//! The client side of the ZeroMQ suite, in this process: closed-loop throughput (REQ/REP, a
//! DEALER with a window of outstanding requests, PUSH), many clients at once, an open-loop
//! latency generator, sequential requests kept as a time series, and CURVE handshakes. Every loop
//! is bounded in time; every socket has a linger of 0 and receive timeouts.

use std::time::{Duration, Instant};

use std::borrow::Cow;

use hdrhistogram::Histogram;

use super::codec::Codec;
use super::message::{Builder, Exchange, REPLY_TIMEOUT};
use super::monitor::Monitor;
use crate::measure::bench::RunFailure;
use crate::suites::zmq::echo::FIN;

/// The CURVE keys a client uses: the server's public key, and its own pair.
#[derive(Debug, Clone)]
pub struct CurveClient {
    /// The server's public key.
    pub server_public: Vec<u8>,
}

/// A connected client socket and, when asked for, the monitor of its connection.
pub struct Conn {
    socket: zmq::Socket,
    monitor: Option<Monitor>,
}

impl std::ops::Deref for Conn {
    type Target = zmq::Socket;

    fn deref(&self) -> &zmq::Socket {
        &self.socket
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The monitor stops before the socket closes (see `Monitor::detach`).
        if let Some(monitor) = &self.monitor {
            monitor.detach(&mut self.socket);
        }
    }
}

impl Conn {
    /// How the connection ended, when the monitor saw it end.
    fn closed(&self) -> Option<String> {
        self.monitor.as_ref().and_then(Monitor::closed)
    }
}

/// What one closed-loop round did.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// Messages answered with a good reply (or, one-way, received by the server).
    pub messages: u64,
    /// Their payload bytes before compression.
    pub bytes: u64,
    /// Their payload bytes as sent (compressed).
    pub wire_bytes: u64,
    /// From the first send to the last answer.
    pub elapsed: Duration,
    /// Replies that failed the `reply` check, and the first of them.
    pub bad: Bad,
}

/// Replies that failed the `reply` check: not round trips, but counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bad {
    /// How many.
    pub count: u64,
    /// Why the first failed, and what it was.
    pub first: Option<String>,
}

impl Bad {
    /// Judges `reply` (its frames after the envelope): whether it is a good one; a bad one is
    /// counted, a failure ends the round.
    fn judge(&mut self, ex: &Exchange, reply: &[Vec<u8>], payload_len: usize) -> Result<bool, RunFailure> {
        match ex.judge(reply, payload_len)? {
            Ok(()) => Ok(true),
            Err(bad) => {
                self.count += 1;
                self.first.get_or_insert(bad.0);
                Ok(false)
            }
        }
    }

    /// Adds the bad replies of another round (or client).
    pub fn add(&mut self, other: Bad) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

fn failure(what: &str, e: impl std::fmt::Display) -> RunFailure {
    RunFailure::new(format!("{what}: {e}"))
}

/// A connected client socket with a linger of 0 and timeouts; `watch` attaches a monitor that
/// tells a closed connection from a silent server.
pub fn socket(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    endpoint: &str,
    curve: Option<&CurveClient>,
    watch: bool,
) -> Result<Conn, RunFailure> {
    let s = ctx.socket(kind).map_err(|e| failure("socket", e))?;
    s.set_linger(0).map_err(|e| failure("socket", e))?;
    s.set_rcvtimeo(REPLY_TIMEOUT.as_millis() as i32).map_err(|e| failure("socket", e))?;
    s.set_sndtimeo(REPLY_TIMEOUT.as_millis() as i32).map_err(|e| failure("socket", e))?;
    if let Some(c) = curve {
        let pair = zmq::CurveKeyPair::new().map_err(|e| failure("CURVE keys", e))?;
        s.set_curve_serverkey(&c.server_public).map_err(|e| failure("CURVE", e))?;
        s.set_curve_publickey(&pair.public_key).map_err(|e| failure("CURVE", e))?;
        s.set_curve_secretkey(&pair.secret_key).map_err(|e| failure("CURVE", e))?;
    }
    let monitor = watch.then(|| Monitor::attach(ctx, &s)).transpose().map_err(|e| failure("socket monitor", e))?;
    s.connect(endpoint).map_err(|e| failure(&format!("connect to {endpoint}"), e))?;
    Ok(Conn { socket: s, monitor })
}

/// Sends one request: for a DEALER the empty delimiter a REQ would add (so that REP and ROUTER
/// servers see the same envelope from every client), then the frames.
fn send_frames<'a>(
    s: &zmq::Socket,
    delimiter: bool,
    frames: impl ExactSizeIterator<Item = &'a [u8]>,
    flags: i32,
) -> Result<(), zmq::Error> {
    if delimiter {
        s.send(&b""[..], flags | zmq::SNDMORE)?;
    }
    let last = frames.len().saturating_sub(1);
    for (i, frame) in frames.enumerate() {
        s.send(frame, if i < last { flags | zmq::SNDMORE } else { flags })?;
    }
    Ok(())
}

fn send<'a>(
    s: &zmq::Socket,
    delimiter: bool,
    frames: impl ExactSizeIterator<Item = &'a [u8]>,
) -> Result<(), RunFailure> {
    match send_frames(s, delimiter, frames, 0) {
        Ok(()) => Ok(()),
        Err(zmq::Error::EAGAIN) => {
            Err(RunFailure::new(format!("could not send within {}", humantime::format_duration(REPLY_TIMEOUT))))
        }
        Err(e) => Err(failure("send", e)),
    }
}

fn send_one(s: &zmq::Socket, frame: &[u8]) -> Result<(), RunFailure> {
    send(s, false, std::iter::once(frame))
}

/// The next reply; its silence says what was sent.
fn receive(c: &Conn, ex: &Exchange, payload_len: usize) -> Result<Vec<Vec<u8>>, RunFailure> {
    match c.recv_multipart(0) {
        Ok(frames) => Ok(frames),
        Err(zmq::Error::EAGAIN) => Err(ex.silence(payload_len, c.closed())),
        Err(e) => Err(failure("receive", e)),
    }
}

/// A DEALER's reply without the envelope's delimiter, when the server sent one.
fn body(frames: &[Vec<u8>]) -> &[Vec<u8>] {
    match frames.split_first() {
        Some((first, rest)) if first.is_empty() => rest,
        _ => frames,
    }
}

/// REQ/REP for `round`: one request at a time, each compressed with `codec` and judged.
pub fn req_rep(c: &Conn, ex: &Exchange, payload: &[u8], codec: Codec, round: Duration) -> Result<Round, RunFailure> {
    let mut requests = ex.builder();
    // One exchange before the clock starts: the connection (and a CURVE handshake) is not the round.
    exchange(c, ex, &mut requests, payload, codec, &mut Bad::default())?;
    let start = Instant::now();
    let mut out = Round::default();
    while start.elapsed() < round {
        let (wire, good) = exchange(c, ex, &mut requests, payload, codec, &mut out.bad)?;
        out.wire_bytes += wire as u64;
        out.messages += u64::from(good);
    }
    out.elapsed = start.elapsed();
    out.bytes = out.messages * payload.len() as u64;
    Ok(out)
}

/// One request and its reply: the bytes sent as payload, and whether the reply was good.
fn exchange(
    c: &Conn,
    ex: &Exchange,
    requests: &mut Builder,
    payload: &[u8],
    codec: Codec,
    bad: &mut Bad,
) -> Result<(usize, bool), RunFailure> {
    let wire: Cow<[u8]> =
        if codec == Codec::None { Cow::Borrowed(payload) } else { Cow::Owned(codec.compress(payload)) };
    send(c, false, requests.next(&wire))?;
    let frames = receive(c, ex, wire.len())?;
    let good = bad.judge(ex, &frames, wire.len())?;
    if good && codec != Codec::None {
        codec
            .decompress(&frames[0], payload.len())
            .map_err(|e| RunFailure::new(format!("the reply does not decompress: {e}")))?;
    }
    Ok((wire.len(), good))
}

/// A DEALER with up to `window` requests outstanding, for `round` (then the outstanding ones are
/// awaited).
pub fn dealer(c: &Conn, ex: &Exchange, payload: &[u8], window: u32, round: Duration) -> Result<Round, RunFailure> {
    let mut requests = ex.builder();
    send(c, true, requests.next(payload))?;
    Bad::default().judge(ex, body(&receive(c, ex, payload.len())?), payload.len())?;
    let start = Instant::now();
    let (mut sent, mut answered) = (0u64, 0u64);
    let mut out = Round::default();
    while start.elapsed() < round || answered < sent {
        while sent - answered < u64::from(window) && start.elapsed() < round {
            send(c, true, requests.next(payload))?;
            sent += 1;
        }
        let good = out.bad.judge(ex, body(&receive(c, ex, payload.len())?), payload.len())?;
        out.messages += u64::from(good);
        answered += 1;
    }
    out.elapsed = start.elapsed();
    out.bytes = out.messages * payload.len() as u64;
    out.wire_bytes = out.bytes;
    Ok(out)
}

/// PUSH for `round`. With an `ack` socket (the built-in PULL server) the round ends when the
/// server says how many arrived; without one (a user's PULL server) it is the rate at which
/// messages could be sent, held back by a send high-water mark of 1000.
pub fn push(c: &Conn, ack: Option<&Conn>, ex: &Exchange, payload: &[u8], round: Duration) -> Result<Round, RunFailure> {
    let fin = || std::iter::once(FIN);
    // The built-in server's count of what arrived, asked for with a FIN.
    let count = |ack: &Conn| -> Result<u64, RunFailure> {
        send(c, false, fin())?;
        let frames = match ack.recv_multipart(0) {
            Ok(frames) => frames,
            Err(zmq::Error::EAGAIN) => {
                return Err(RunFailure::new(format!(
                    "the server did not count within {}",
                    humantime::format_duration(REPLY_TIMEOUT)
                )))
            }
            Err(e) => return Err(failure("receive", e)),
        };
        let count: [u8; 8] = frames
            .first()
            .and_then(|f| f.as_slice().try_into().ok())
            .ok_or_else(|| RunFailure::new("the server's count is not 8 bytes"))?;
        Ok(u64::from_le_bytes(count))
    };
    if let Some(ack) = ack {
        // Both connections up before the clock starts: a FIN answered with 0.
        count(ack)?;
    }
    let mut requests = ex.builder();
    let start = Instant::now();
    let mut sent = 0u64;
    // The payload alone (the built-in server's floor, millions a second) goes out as it is.
    let bare = ex.is_bare();
    while start.elapsed() < round {
        for _ in 0..64 {
            if bare {
                send_one(c, payload)?;
            } else {
                send(c, false, requests.next(payload))?;
            }
            sent += 1;
        }
    }
    let arrived = match ack {
        Some(ack) => count(ack)?,
        None => sent,
    };
    let elapsed = start.elapsed();
    let bytes = arrived * payload.len() as u64;
    Ok(Round { messages: arrived, bytes, wire_bytes: bytes, elapsed, bad: Bad::default() })
}

/// `clients` REQ sockets on threads of their own, each in a closed loop for `round`. The sockets
/// are made on the first round and kept in `sockets` for the next ones: a round measures requests,
/// not connections (whose churn would also grow the server's memory from round to round).
#[allow(clippy::too_many_arguments)]
pub fn many_clients(
    ctx: &zmq::Context,
    endpoint: &str,
    sockets: &mut Vec<Conn>,
    ex: &Exchange,
    payload: &[u8],
    clients: u32,
    round: Duration,
    watch: bool,
) -> Result<Round, RunFailure> {
    if sockets.len() != clients as usize {
        *sockets = (0..clients).map(|_| socket(ctx, zmq::REQ, endpoint, None, watch)).collect::<Result<_, _>>()?;
    }
    let start = Instant::now();
    let rounds: Vec<Result<Round, RunFailure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = std::mem::take(sockets)
            .into_iter()
            .map(|s| scope.spawn(move || (req_rep(&s, ex, payload, Codec::None, round), s)))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok((result, s)) => {
                    sockets.push(s);
                    result
                }
                Err(_) => Err(RunFailure::new("a client thread panicked")),
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let mut out = Round { elapsed, ..Round::default() };
    for (i, r) in rounds.into_iter().enumerate() {
        let r = r.map_err(|f| RunFailure {
            reason: format!("client {} of {clients}: {}", i + 1, f.reason),
            detail: f.detail,
        })?;
        out.messages += r.messages;
        out.bytes += r.bytes;
        out.wire_bytes += r.wire_bytes;
        out.bad.add(r.bad);
    }
    Ok(out)
}

/// What one open-loop round measured.
pub struct OpenLoop {
    /// Latency of each request answered with a good reply, from its *scheduled* send time, in
    /// nanoseconds.
    pub latency: Histogram<u64>,
    /// Requests sent.
    pub sent: u64,
    /// Requests answered, well or badly.
    pub answered: u64,
    /// Sends that left more than a millisecond after their scheduled time.
    pub late: u64,
    /// Answers per second, over the time from the first send to the last answer.
    pub achieved_rate: f64,
    /// Replies that failed the `reply` check.
    pub bad: Bad,
}

/// Lateness past which a send counts as behind schedule.
const LATE: Duration = Duration::from_millis(1);

/// Waits until `s` has a message or `until` comes, whichever is first, to the microsecond:
/// `zmq_poll` counts in milliseconds, which would make every send up to 1 ms late (and every
/// latency counted from its scheduled time as much too long). The socket's `ZMQ_FD` only says
/// that something happened, so `ZMQ_EVENTS` is asked before and after each wait.
fn wait_readable(s: &zmq::Socket, until: Instant) -> Result<(), RunFailure> {
    use nix::poll::{ppoll, PollFd, PollFlags};
    let fd = crate::sys::zmq::socket_fd(s).map_err(|e| failure("socket", e))?;
    loop {
        if s.get_events().map_err(|e| failure("socket", e))?.contains(zmq::POLLIN) {
            return Ok(());
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        // No signal mask change.
        match ppoll(&mut [PollFd::new(fd, PollFlags::POLLIN)], Some(left.into()), None) {
            Err(e) if e != nix::errno::Errno::EINTR => return Err(failure("poll", std::io::Error::from(e))),
            _ => {}
        }
    }
}

/// Sets this thread's timer slack (how late the kernel may end its sleeps) and puts it back
/// when dropped: the default 50 µs would make a schedule of sends late by that much.
struct TimerSlack(libc::c_ulong);

impl TimerSlack {
    fn tight() -> TimerSlack {
        use nix::sys::prctl;
        // Where the slack cannot be read, 1 ns is put back.
        let old = prctl::get_timerslack().map_or(1, |old| old.max(1));
        let _ = prctl::set_timerslack(1);
        TimerSlack(old as libc::c_ulong)
    }
}

impl Drop for TimerSlack {
    fn drop(&mut self) {
        let _ = nix::sys::prctl::set_timerslack(self.0);
    }
}

/// An open-loop generator: requests go out on a fixed schedule (`rate` per second, for
/// `duration`) whatever the answers do, and each latency is counted from the time its request was
/// *scheduled*, so a server that falls behind shows its queueing (coordinated omission
/// corrected). Answers are awaited up to `drain` after the last send; what is still missing then
/// is lost. An echo carries the request's number in its first 8 bytes; any other reply is taken
/// as the answer to the oldest request not yet answered (a REP server answers in order).
pub fn open_loop(
    c: &Conn,
    ex: &Exchange,
    payload_size: usize,
    rate: f64,
    duration: Duration,
    drain: Duration,
) -> Result<OpenLoop, RunFailure> {
    let echo = ex.echoes();
    let size = if echo { payload_size.max(8) } else { payload_size };
    let mut payload = vec![0x5a; size];
    let total = ((duration.as_secs_f64() * rate).ceil() as u64).max(1);
    let mut latency = Histogram::<u64>::new(3).map_err(|e| failure("histogram", e))?;
    let _slack = TimerSlack::tight();
    let mut requests = ex.builder();
    // Warm the connection: one request before the schedule starts.
    send(c, true, requests.next(&payload))?;
    Bad::default().judge(ex, body(&receive(c, ex, size)?), size)?;
    let start = Instant::now();
    let mut scheduled: Vec<Instant> = Vec::with_capacity(total as usize);
    let (mut sent, mut answered, mut late) = (0u64, 0u64, 0u64);
    let mut bad = Bad::default();
    let mut last_answer = start;
    let due_at = |n: u64| start + Duration::from_secs_f64(n as f64 / rate);
    let mut drain_until: Option<Instant> = None;
    loop {
        // Send everything that is due (catching up after a stall, each at its own scheduled time).
        while sent < total {
            let due = due_at(sent);
            if due > Instant::now() {
                break;
            }
            if echo {
                payload[..8].copy_from_slice(&sent.to_le_bytes());
            }
            match send_frames(c, true, requests.next(&payload), zmq::DONTWAIT) {
                Ok(()) => {}
                // A full queue: the request waits, and is late when it goes.
                Err(zmq::Error::EAGAIN) => break,
                Err(e) => return Err(failure("send", e)),
            }
            if Instant::now().duration_since(due) > LATE {
                late += 1;
            }
            scheduled.push(due);
            sent += 1;
        }
        if sent == total && drain_until.is_none() {
            drain_until = Some(Instant::now() + drain);
        }
        while let Ok(frames) = c.recv_multipart(zmq::DONTWAIT) {
            let done = Instant::now();
            let reply = body(&frames);
            let good = bad.judge(ex, reply, size)?;
            let seq = if echo { u64::from_le_bytes(reply[0][..8].try_into().expect("8 bytes")) } else { answered };
            let Some(due) = scheduled.get(seq as usize) else {
                return Err(RunFailure::new(format!("the server answered request {seq}, which was never sent")));
            };
            if good {
                latency.record(done.duration_since(*due).as_nanos() as u64).map_err(|e| failure("histogram", e))?;
            }
            answered += 1;
            last_answer = done;
        }
        if answered == total || drain_until.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        // Wait for an answer until the next send is due.
        let next = if sent < total { due_at(sent) } else { drain_until.unwrap_or_else(Instant::now) };
        wait_readable(c, next)?;
    }
    let achieved_rate = achieved_rate(answered, total, rate, last_answer.duration_since(start));
    Ok(OpenLoop { latency, sent, answered, late, achieved_rate, bad })
}

/// Answers a second: over the schedule of `total` requests at `rate`, or over longer when the
/// answers trailed it (`answering`: from the start to the last answer). Never above `rate`.
fn achieved_rate(answered: u64, total: u64, rate: f64, answering: Duration) -> f64 {
    answered as f64 / answering.as_secs_f64().max(total as f64 / rate)
}

/// `requests` sequential REQ/REP round trips: the latencies of the good ones in order (seconds)
/// and as a histogram, and the bad replies.
pub fn sequential(
    c: &Conn,
    ex: &Exchange,
    payload: &[u8],
    requests: u32,
) -> Result<(Vec<f64>, Histogram<u64>, Bad), RunFailure> {
    let mut builder = ex.builder();
    exchange(c, ex, &mut builder, payload, Codec::None, &mut Bad::default())?;
    let mut hist = Histogram::<u64>::new(3).map_err(|e| failure("histogram", e))?;
    let mut series = Vec::with_capacity(requests as usize);
    let mut bad = Bad::default();
    for _ in 0..requests {
        let t = Instant::now();
        let (_, good) = exchange(c, ex, &mut builder, payload, Codec::None, &mut bad)?;
        let took = t.elapsed();
        if good {
            hist.record(took.as_nanos() as u64).map_err(|e| failure("histogram", e))?;
            series.push(took.as_secs_f64());
        }
    }
    Ok((series, hist, bad))
}

/// `count` fresh connections, each timed from `connect` to the answer of its first request (the
/// handshake, CURVE's included).
pub fn handshakes(
    ctx: &zmq::Context,
    endpoint: &str,
    curve: Option<&CurveClient>,
    ex: &Exchange,
    count: u32,
) -> Result<Vec<Duration>, RunFailure> {
    let mut requests = ex.builder();
    (0..count)
        .map(|_| {
            let start = Instant::now();
            let s = socket(ctx, zmq::REQ, endpoint, curve, false)?;
            exchange(&s, ex, &mut requests, b"hello", Codec::None, &mut Bad::default())?;
            Ok(start.elapsed())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_achieved_rate_counts_answers_over_the_schedule_or_the_answers_if_they_trail_it() {
        let ms = Duration::from_millis;
        // 200 requests at 1000/s are due over 200 ms: answers within it give the rate asked for.
        assert_eq!(achieved_rate(200, 200, 1000.0, ms(150)), 1000.0);
        // Answers that trail until 400 ms: half the rate.
        assert_eq!(achieved_rate(200, 200, 1000.0, ms(400)), 500.0);
        // Half the requests answered on schedule: half the rate.
        assert_eq!(achieved_rate(100, 200, 1000.0, ms(200)), 500.0);
    }

    #[test]
    fn a_dealer_s_reply_loses_the_delimiter_only() {
        let frames = vec![Vec::new(), b"PONG".to_vec()];
        assert_eq!(body(&frames), &frames[1..]);
        let bare = vec![b"PONG".to_vec(), Vec::new()];
        assert_eq!(body(&bare), &bare[..]);
        assert!(body(&[]).is_empty());
    }
}
