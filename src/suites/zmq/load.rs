//! The client side of the ZeroMQ suite, in this process: closed-loop throughput (REQ/REP, a
//! DEALER with a window of outstanding requests, PUSH), many clients at once, an open-loop
//! latency generator, sequential requests kept as a time series, and CURVE handshakes. Every loop
//! is bounded in time; every socket has a linger of 0 and receive timeouts.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::codec::Codec;
use crate::measure::bench::RunFailure;
use crate::suites::worker::echo::FIN;

/// How long a client waits for any one reply before the round fails.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The CURVE keys a client uses: the server's public key, and its own pair.
#[derive(Debug, Clone)]
pub struct CurveClient {
    /// The server's public key.
    pub server_public: Vec<u8>,
}

/// What one closed-loop round did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Round {
    /// Messages answered (or, one-way, received by the server).
    pub messages: u64,
    /// Their payload bytes before compression.
    pub bytes: u64,
    /// Their payload bytes as sent (compressed).
    pub wire_bytes: u64,
    /// From the first send to the last answer.
    pub elapsed: Duration,
}

impl Round {
    /// A round of `messages` uncompressed payloads of `size` bytes.
    fn uncompressed(messages: u64, size: usize, elapsed: Duration) -> Round {
        let bytes = messages * size as u64;
        Round { messages, bytes, wire_bytes: bytes, elapsed }
    }
}

fn failure(what: &str, e: impl std::fmt::Display) -> RunFailure {
    RunFailure::new(format!("{what}: {e}"))
}

/// A connected client socket with a linger of 0 and timeouts.
pub fn socket(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    endpoint: &str,
    curve: Option<&CurveClient>,
) -> Result<zmq::Socket, RunFailure> {
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
    s.connect(endpoint).map_err(|e| failure(&format!("connect to {endpoint}"), e))?;
    Ok(s)
}

/// A reply that is not the echo of the request fails the round with what came back.
fn check_reply(frames: &[Vec<u8>], expected_frames: usize, expected_len: usize) -> Result<(), RunFailure> {
    if frames.len() != expected_frames {
        let shown: Vec<String> = frames.iter().take(4).map(|f| describe_frame(f)).collect();
        return Err(RunFailure::new(format!(
            "the server answered with {} frame{} where {expected_frames} {} expected: [{}]",
            frames.len(),
            if frames.len() == 1 { "" } else { "s" },
            if expected_frames == 1 { "was" } else { "were" },
            shown.join(", ")
        )));
    }
    let got = frames.last().map_or(0, Vec::len);
    if got != expected_len {
        return Err(RunFailure::new(format!("the server answered {got} bytes to a request of {expected_len}")));
    }
    Ok(())
}

fn describe_frame(frame: &[u8]) -> String {
    let shown: String = String::from_utf8_lossy(&frame[..frame.len().min(24)]).escape_debug().collect();
    if frame.len() > 24 {
        format!("{} bytes \"{shown}…\"", frame.len())
    } else {
        format!("\"{shown}\"")
    }
}

fn receive(s: &zmq::Socket) -> Result<Vec<Vec<u8>>, RunFailure> {
    match s.recv_multipart(0) {
        Ok(frames) => Ok(frames),
        Err(zmq::Error::EAGAIN) => {
            Err(RunFailure::new(format!("no reply within {}", humantime::format_duration(REPLY_TIMEOUT))))
        }
        Err(e) => Err(failure("receive", e)),
    }
}

fn send(s: &zmq::Socket, frames: &[&[u8]]) -> Result<(), RunFailure> {
    match s.send_multipart(frames, 0) {
        Ok(()) => Ok(()),
        Err(zmq::Error::EAGAIN) => {
            Err(RunFailure::new(format!("could not send within {}", humantime::format_duration(REPLY_TIMEOUT))))
        }
        Err(e) => Err(failure("send", e)),
    }
}

/// REQ/REP for `round`: one request at a time, each compressed with `codec` and checked.
pub fn req_rep(s: &zmq::Socket, payload: &[u8], codec: Codec, round: Duration) -> Result<Round, RunFailure> {
    // One exchange before the clock starts: the connection (and a CURVE handshake) is not the round.
    exchange(s, payload, codec)?;
    let start = Instant::now();
    let mut out = Round::default();
    while start.elapsed() < round {
        out.wire_bytes += exchange(s, payload, codec)? as u64;
        out.messages += 1;
    }
    out.elapsed = start.elapsed();
    out.bytes = out.messages * payload.len() as u64;
    Ok(out)
}

fn exchange(s: &zmq::Socket, payload: &[u8], codec: Codec) -> Result<usize, RunFailure> {
    let wire = codec.compress(payload);
    send(s, &[&wire])?;
    let frames = receive(s)?;
    check_reply(&frames, 1, wire.len())?;
    if codec != Codec::None {
        codec
            .decompress(&frames[0], payload.len())
            .map_err(|e| RunFailure::new(format!("the reply does not decompress: {e}")))?;
    }
    Ok(wire.len())
}

/// A DEALER with up to `window` requests outstanding, for `round` (then the outstanding ones are
/// awaited). Requests carry the empty delimiter frame, so REP and ROUTER servers both answer.
pub fn dealer(s: &zmq::Socket, payload: &[u8], window: u32, round: Duration) -> Result<Round, RunFailure> {
    send(s, &[b"", payload])?;
    check_reply(&receive(s)?, 2, payload.len())?;
    let start = Instant::now();
    let (mut sent, mut answered) = (0u64, 0u64);
    while start.elapsed() < round || answered < sent {
        while sent - answered < u64::from(window) && start.elapsed() < round {
            send(s, &[b"", payload])?;
            sent += 1;
        }
        check_reply(&receive(s)?, 2, payload.len())?;
        answered += 1;
    }
    let elapsed = start.elapsed();
    Ok(Round::uncompressed(answered, payload.len(), elapsed))
}

/// PUSH for `round`. With an `ack` socket (the built-in PULL server) the round ends when the
/// server says how many arrived; without one (a user's PULL server) it is the rate at which
/// messages could be sent, held back by a send high-water mark of 1000.
pub fn push(s: &zmq::Socket, ack: Option<&zmq::Socket>, payload: &[u8], round: Duration) -> Result<Round, RunFailure> {
    if let Some(ack) = ack {
        // Both connections up before the clock starts: a FIN answered with 0.
        send(s, &[FIN])?;
        receive(ack)?;
    }
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < round {
        for _ in 0..64 {
            match s.send(payload, 0) {
                Ok(()) => sent += 1,
                Err(zmq::Error::EAGAIN) => {
                    return Err(RunFailure::new(format!(
                        "could not send within {}",
                        humantime::format_duration(REPLY_TIMEOUT)
                    )))
                }
                Err(e) => return Err(failure("send", e)),
            }
        }
    }
    let arrived = match ack {
        Some(ack) => {
            send(s, &[FIN])?;
            let frames = receive(ack)?;
            let count: [u8; 8] = frames
                .first()
                .and_then(|f| f.as_slice().try_into().ok())
                .ok_or_else(|| RunFailure::new("the server's count is not 8 bytes"))?;
            u64::from_le_bytes(count)
        }
        None => sent,
    };
    let elapsed = start.elapsed();
    Ok(Round::uncompressed(arrived, payload.len(), elapsed))
}

/// `clients` REQ sockets on threads of their own, each in a closed loop for `round`. The sockets
/// are made on the first round and kept in `sockets` for the next ones: a round measures requests,
/// not connections (whose churn would also grow the server's memory from round to round).
pub fn many_clients(
    ctx: &zmq::Context,
    endpoint: &str,
    sockets: &mut Vec<zmq::Socket>,
    payload: &[u8],
    clients: u32,
    round: Duration,
) -> Result<Round, RunFailure> {
    if sockets.len() != clients as usize {
        *sockets = (0..clients).map(|_| socket(ctx, zmq::REQ, endpoint, None)).collect::<Result<_, _>>()?;
    }
    let start = Instant::now();
    let rounds: Vec<Result<Round, RunFailure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = std::mem::take(sockets)
            .into_iter()
            .map(|s| scope.spawn(move || (req_rep(&s, payload, Codec::None, round), s)))
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
    }
    Ok(out)
}

/// What one open-loop round measured.
pub struct OpenLoop {
    /// Latency of each answered request from its *scheduled* send time, in nanoseconds.
    pub latency: Histogram<u64>,
    /// Requests sent.
    pub sent: u64,
    /// Requests answered.
    pub answered: u64,
    /// Sends that left more than a millisecond after their scheduled time.
    pub late: u64,
    /// Answered requests per second, over the time from the first send to the last answer.
    pub achieved_rate: f64,
}

/// Lateness past which a send counts as behind schedule.
const LATE: Duration = Duration::from_millis(1);

/// Waits until `s` has a message or `until` comes, whichever is first, to the microsecond:
/// `zmq_poll` counts in milliseconds, which would make every send up to 1 ms late (and every
/// latency counted from its scheduled time as much too long). The socket's `ZMQ_FD` only says
/// that something happened, so `ZMQ_EVENTS` is asked before and after each wait.
fn wait_readable(s: &zmq::Socket, until: Instant) -> Result<(), RunFailure> {
    let fd = s.get_fd().map_err(|e| failure("socket", e))?;
    loop {
        if s.get_events().map_err(|e| failure("socket", e))?.contains(zmq::POLLIN) {
            return Ok(());
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        let timeout =
            libc::timespec { tv_sec: left.as_secs() as libc::time_t, tv_nsec: left.subsec_nanos() as libc::c_long };
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd and a valid timespec; no signal mask change.
        let r = unsafe { libc::ppoll(&mut pfd, 1, &timeout, std::ptr::null()) };
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(failure("poll", std::io::Error::last_os_error()));
        }
    }
}

/// Sets this thread's timer slack (how late the kernel may end its sleeps) and puts it back
/// when dropped: the default 50 µs would make a schedule of sends late by that much.
struct TimerSlack(libc::c_ulong);

impl TimerSlack {
    fn tight() -> TimerSlack {
        // SAFETY: PR_GET/SET_TIMERSLACK take and return plain integers.
        let old = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK) };
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
        }
        TimerSlack(old.max(1) as libc::c_ulong)
    }
}

impl Drop for TimerSlack {
    fn drop(&mut self) {
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, self.0);
        }
    }
}

/// An open-loop generator: requests go out on a fixed schedule (`rate` per second, for
/// `duration`) whatever the answers do, and each latency is counted from the time its request was
/// *scheduled*, so a server that falls behind shows its queueing (coordinated omission
/// corrected). Answers are awaited up to `drain` after the last send; what is still missing then
/// is lost.
pub fn open_loop(
    s: &zmq::Socket,
    payload_size: usize,
    rate: f64,
    duration: Duration,
    drain: Duration,
) -> Result<OpenLoop, RunFailure> {
    let size = payload_size.max(8);
    let mut payload = vec![0x5a; size];
    let total = ((duration.as_secs_f64() * rate).ceil() as u64).max(1);
    let mut latency = Histogram::<u64>::new(3).map_err(|e| failure("histogram", e))?;
    let _slack = TimerSlack::tight();
    // Warm the connection: one request before the schedule starts.
    send(s, &[b"", &payload])?;
    check_reply(&receive(s)?, 2, size)?;
    let start = Instant::now();
    let mut scheduled: Vec<Instant> = Vec::with_capacity(total as usize);
    let (mut sent, mut answered, mut late) = (0u64, 0u64, 0u64);
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
            payload[..8].copy_from_slice(&sent.to_le_bytes());
            match s.send_multipart([&b""[..], &payload[..]], zmq::DONTWAIT) {
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
        while let Ok(frames) = s.recv_multipart(zmq::DONTWAIT) {
            let done = Instant::now();
            check_reply(&frames, 2, size)?;
            let seq = u64::from_le_bytes(frames[1][..8].try_into().expect("8 bytes"));
            let Some(due) = scheduled.get(seq as usize) else {
                return Err(RunFailure::new(format!("the server answered request {seq}, which was never sent")));
            };
            latency.record(done.duration_since(*due).as_nanos() as u64).map_err(|e| failure("histogram", e))?;
            answered += 1;
            last_answer = done;
        }
        if answered == total || drain_until.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        // Wait for an answer until the next send is due.
        let next = if sent < total { due_at(sent) } else { drain_until.unwrap_or_else(Instant::now) };
        wait_readable(s, next)?;
    }
    // Over the schedule, or longer when answers trailed it.
    let span = last_answer.duration_since(start).as_secs_f64().max(total as f64 / rate);
    Ok(OpenLoop { latency, sent, answered, late, achieved_rate: answered as f64 / span })
}

/// `requests` sequential REQ/REP round trips: their latencies in order (seconds) and as a histogram.
pub fn sequential(s: &zmq::Socket, payload: &[u8], requests: u32) -> Result<(Vec<f64>, Histogram<u64>), RunFailure> {
    exchange(s, payload, Codec::None)?;
    let mut hist = Histogram::<u64>::new(3).map_err(|e| failure("histogram", e))?;
    let mut series = Vec::with_capacity(requests as usize);
    for _ in 0..requests {
        let t = Instant::now();
        exchange(s, payload, Codec::None)?;
        let took = t.elapsed();
        hist.record(took.as_nanos() as u64).map_err(|e| failure("histogram", e))?;
        series.push(took.as_secs_f64());
    }
    Ok((series, hist))
}

/// `count` fresh connections, each timed from `connect` to the answer of its first request (the
/// handshake, CURVE's included).
pub fn handshakes(
    ctx: &zmq::Context,
    endpoint: &str,
    curve: Option<&CurveClient>,
    count: u32,
) -> Result<Vec<Duration>, RunFailure> {
    (0..count)
        .map(|_| {
            let start = Instant::now();
            let s = socket(ctx, zmq::REQ, endpoint, curve)?;
            exchange(&s, b"hello", Codec::None)?;
            Ok(start.elapsed())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_that_are_not_echoes_are_described() {
        let err = check_reply(&[b"a".to_vec(), b"b".to_vec()], 1, 1).unwrap_err();
        assert_eq!(err.reason, "the server answered with 2 frames where 1 was expected: [\"a\", \"b\"]");
        let err = check_reply(&[vec![0; 100]], 1, 64).unwrap_err();
        assert!(err.reason.contains("100 bytes to a request of 64"), "{}", err.reason);
    }
}
