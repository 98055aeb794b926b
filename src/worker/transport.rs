//! How messages travel: a ZeroMQ DEALER socket (one multipart message per protocol message), or
//! a byte stream — the worker's stdin and stdout — with each message written as a frame count
//! (`u32`, little-endian) and, per frame, its length (`u64`, little-endian) and bytes.

use std::ffi::c_void;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::fd::RawFd;
use std::time::Duration;

use super::frame::{emit_call, show, Arg, BadFrame, Message, Out, Payload, CALL_FRAMES};
use super::shared::{Segment, View, FEATURE};

/// From this size on, a frame that can be shared is sent from where it lies: below it, ZeroMQ's
/// own copy costs less than the reference it would keep (pyzmq draws the same line).
pub const SHARE_FROM: usize = 64 << 10;

/// More frames than any message has: a stream that says so is not the protocol.
const MAX_FRAMES: u32 = 4096;
/// A frame longer than this (1 TiB) is not the protocol either.
const MAX_FRAME: u64 = 1 << 40;

/// Why nothing could be received.
#[derive(Debug)]
pub enum RecvError {
    /// The other side closed the connection (end of the stream).
    Closed,
    /// Reading failed.
    Io(io::Error),
    /// What arrived is not the protocol.
    Bad(BadFrame),
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecvError::Closed => f.write_str("the other side closed the connection"),
            RecvError::Io(e) => write!(f, "{e}"),
            RecvError::Bad(b) => write!(f, "{b}"),
        }
    }
}

/// One side's end of the connection, and the shared segment when there is one.
pub struct Connection {
    link: Link,
    shared: Shared,
}

/// How the bytes travel.
enum Link {
    /// A DEALER socket with one peer.
    Zmq {
        /// The socket.
        socket: zmq::Socket,
        /// The receive timeout now set on it, in milliseconds (-1: none).
        timeout_ms: i32,
    },
    /// A pair of byte streams.
    Stream {
        /// Where messages come from.
        reader: BufReader<Box<dyn Read + Send>>,
        /// Where they go.
        writer: BufWriter<Box<dyn Write + Send>>,
        /// The reader's descriptor, for waiting with a timeout.
        fd: RawFd,
    },
}

/// The shared-memory segment of large arguments ([`super::shared`]): the host writes it, the
/// worker reads it.
enum Shared {
    None,
    Host(Segment),
    Worker(View),
}

fn zmq_io(e: zmq::Error) -> io::Error {
    io::Error::other(e.to_string())
}

impl Connection {
    /// A connection over ZeroMQ.
    pub fn zmq(socket: zmq::Socket) -> Connection {
        Connection { link: Link::Zmq { socket, timeout_ms: -1 }, shared: Shared::None }
    }

    /// A connection over two streams; `fd` is the reader's descriptor.
    pub fn stream(reader: Box<dyn Read + Send>, writer: Box<dyn Write + Send>, fd: RawFd) -> Connection {
        // Large buffers: a call may carry tens of MiB, and pipes move 64 KiB at a time anyway.
        let link = Link::Stream {
            reader: BufReader::with_capacity(1 << 16, reader),
            writer: BufWriter::with_capacity(1 << 16, writer),
            fd,
        };
        Connection { link, shared: Shared::None }
    }

    /// The host's side: `segment` is offered to the worker (its path in [`super::shared::SHARED_ENV`]);
    /// large arguments go through it once the worker's `HELLO` accepts it.
    pub fn offering(mut self, segment: Segment) -> Connection {
        self.shared = Shared::Host(segment);
        self
    }

    /// The worker's side: the host's segment, mapped; large arguments are read from it.
    pub fn mapping(mut self, view: View) -> Connection {
        self.shared = Shared::Worker(view);
        self
    }

    /// Whether large arguments go through shared memory: the host's offer was accepted, or the
    /// worker mapped the host's segment.
    pub fn shares_memory(&self) -> bool {
        match &self.shared {
            Shared::None => false,
            Shared::Host(segment) => segment.accepted(),
            Shared::Worker(_) => true,
        }
    }

    /// What this side adds to its `HELLO`: the worker says it mapped the segment.
    pub fn features(&self) -> Vec<String> {
        match self.shared {
            Shared::Worker(_) => vec![FEATURE.to_string()],
            _ => Vec::new(),
        }
    }

    /// Sends a message; a large payload goes from where it lies.
    pub fn send(&mut self, message: Message) -> io::Result<()> {
        self.link.send_frames(message.frame_count(), 0, |emit| message.emit(emit))
    }

    /// Sends a message if it can go at once (a goodbye to a peer that may be gone already).
    pub fn send_now(&mut self, message: Message) -> io::Result<()> {
        self.link.send_frames(message.frame_count(), zmq::DONTWAIT, |emit| message.emit(emit))
    }

    /// Sends a CALL straight from the caller's argument; a large one goes through the shared
    /// segment when the worker has accepted it.
    pub fn send_call(&mut self, id: u64, method: &str, arg: Arg) -> io::Result<()> {
        let bytes = match arg {
            Arg::Bytes(b) => b,
            Arg::Shared(b) => &b[..],
        };
        if let Shared::Host(segment) = &mut self.shared {
            if segment.takes(bytes.len()) {
                let reference = segment.place(id, bytes)?;
                return self.link.send_frames(CALL_FRAMES + 1, 0, |emit| {
                    emit_call(id, method, Arg::Bytes(&[]), |frame, _| emit(frame, true))?;
                    emit(Out::Bytes(&reference), false)
                });
            }
        }
        self.link.send_frames(CALL_FRAMES, 0, |emit| emit_call(id, method, arg, emit))
    }

    /// Receives a message, waiting at most `wait` (forever when `None`); `Ok(None)` when nothing
    /// came in that time.
    pub fn recv(&mut self, wait: Option<Duration>) -> Result<Option<Message>, RecvError> {
        let Some(mut frames) = self.link.recv_frames(wait)? else {
            return Ok(None);
        };
        // A CALL with one frame more: its argument lies in the host's segment, the last frame
        // says where.
        if frames.len() == CALL_FRAMES + 1 && *frames[0] == *b"CALL" {
            let Shared::Worker(view) = &mut self.shared else {
                return Err(RecvError::Bad(BadFrame(
                    "a CALL whose argument is in shared memory, which this side did not map".into(),
                )));
            };
            let reference = frames.pop().expect("counted above");
            if !frames[3].is_empty() {
                return Err(RecvError::Bad(BadFrame(format!(
                    "a CALL with both an argument ({} bytes) and a shared-memory reference",
                    frames[3].len()
                ))));
            }
            let argument = view.payload(&reference).map_err(|e| RecvError::Bad(BadFrame(e.0)))?;
            frames[3] = Payload::from_shared(argument);
        }
        let message = Message::decode(frames).map_err(RecvError::Bad)?;
        if let Shared::Host(segment) = &mut self.shared {
            match &message {
                Message::Hello { features, .. } if features.iter().any(|f| f == FEATURE) => segment.accept(),
                Message::Reply { id, .. } => segment.replied(*id),
                _ => {}
            }
        }
        Ok(Some(message))
    }
}

impl Link {
    /// Sends the `count` frames that `frames` hands to the emitter it is given.
    fn send_frames(
        &mut self,
        count: usize,
        flags: i32,
        frames: impl FnOnce(&mut dyn FnMut(Out, bool) -> io::Result<()>) -> io::Result<()>,
    ) -> io::Result<()> {
        match self {
            Link::Zmq { socket, .. } => frames(&mut |frame, more| {
                let flags = flags | if more { zmq::SNDMORE } else { 0 };
                match frame {
                    Out::Owned(owner) if (*owner).as_ref().len() >= SHARE_FROM => send_owned(socket, owner, flags),
                    frame => socket.send(frame.bytes(), flags),
                }
                .map_err(|e| match e {
                    zmq::Error::EAGAIN => io::Error::new(io::ErrorKind::TimedOut, "the other side takes no messages"),
                    e => zmq_io(e),
                })
            }),
            // A frame larger than the buffer is written from where it lies (`BufWriter` does).
            Link::Stream { writer, .. } => {
                writer.write_all(&(count as u32).to_le_bytes())?;
                frames(&mut |frame, _| {
                    let bytes = frame.bytes();
                    writer.write_all(&(bytes.len() as u64).to_le_bytes())?;
                    writer.write_all(bytes)
                })?;
                writer.flush()
            }
        }
    }

    /// The frames of the next message, waiting at most `wait` (forever when `None`).
    fn recv_frames(&mut self, wait: Option<Duration>) -> Result<Option<Vec<Payload>>, RecvError> {
        match self {
            Link::Zmq { socket, timeout_ms } => {
                let want = wait.map_or(-1, |w| w.as_millis().min(i32::MAX as u128) as i32);
                if want != *timeout_ms {
                    socket.set_rcvtimeo(want).map_err(|e| RecvError::Io(zmq_io(e)))?;
                    *timeout_ms = want;
                }
                let first = match socket.recv_msg(0) {
                    Ok(m) => m,
                    Err(zmq::Error::EAGAIN) => return Ok(None),
                    Err(e) => return Err(RecvError::Io(zmq_io(e))),
                };
                let mut frames = vec![Payload::from(first)];
                // The rest of a multipart message has arrived with its first frame.
                while socket.get_rcvmore().map_err(|e| RecvError::Io(zmq_io(e)))? {
                    frames.push(Payload::from(socket.recv_msg(0).map_err(|e| RecvError::Io(zmq_io(e)))?));
                }
                Ok(Some(frames))
            }
            Link::Stream { reader, fd, .. } => {
                if let Some(wait) = wait {
                    if reader.buffer().is_empty() && !readable(*fd, wait).map_err(RecvError::Io)? {
                        return Ok(None);
                    }
                }
                read_record(reader).map(Some)
            }
        }
    }
}

/// Sends `owner`'s bytes as one frame without copying them: `zmq::Socket::send` would first copy
/// them into a message of their own — for a large frame a whole extra pass over it, into fresh
/// memory faulted in page by page — a cost of the sender's choice, not of the transport.
fn send_owned(socket: &mut zmq::Socket, owner: Box<dyn AsRef<[u8]> + Send>, flags: i32) -> Result<(), zmq::Error> {
    let bytes = (*owner).as_ref();
    let (ptr, len) = (bytes.as_ptr(), bytes.len());
    // SAFETY: the bytes are `owner`'s; it is boxed, so they stay where they are, and nothing
    // else can change them while ZeroMQ holds it.
    unsafe { send_from(socket, ptr, len, Box::new(owner), flags) }
}

/// Bytes in memory, ready to be sent without a copy ([`send_bytes`]): what owns them comes with
/// them and keeps them alive for as long as the transport holds the message, however long that is.
pub struct OwnedBytes {
    ptr: *const u8,
    len: usize,
    owner: Box<dyn Send>,
}

impl OwnedBytes {
    /// The bytes `owner` holds. It is boxed before they are looked at, so that they stay where
    /// they are even when they lie in `owner` itself, and nothing touches it again until it is
    /// dropped (on ZeroMQ's I/O thread, once ZeroMQ lets go of the message).
    pub fn new<T: AsRef<[u8]> + Send + 'static>(owner: T) -> OwnedBytes {
        let owner = Box::new(owner);
        let bytes = (*owner).as_ref();
        OwnedBytes { ptr: bytes.as_ptr(), len: bytes.len(), owner }
    }

    /// Bytes owned by a vector.
    pub fn from_vec(bytes: Vec<u8>) -> OwnedBytes {
        OwnedBytes::new(bytes)
    }

    /// Bytes shared with their other owners.
    pub fn from_arc(bytes: std::sync::Arc<Vec<u8>>) -> OwnedBytes {
        /// The bytes of a shared vector (an `Arc` lends only the vector).
        struct Shared(std::sync::Arc<Vec<u8>>);
        impl AsRef<[u8]> for Shared {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
        OwnedBytes::new(Shared(bytes))
    }
}

/// Sends `bytes` as one frame from where they lie: `zmq::Socket::send` would first copy them into
/// a message of their own.
pub fn send_bytes(socket: &mut zmq::Socket, bytes: OwnedBytes, flags: i32) -> Result<(), zmq::Error> {
    let OwnedBytes { ptr, len, owner } = bytes;
    // SAFETY: `ptr` and `len` are the bytes `owner` held when it was boxed (`OwnedBytes::new`);
    // nothing has touched it since, so they are still there, alive and unchanged while it lives.
    unsafe { send_from(socket, ptr, len, owner, flags) }
}

/// Sends the `len` bytes at `ptr` as one frame without copying them; `owner` is dropped (on
/// ZeroMQ's I/O thread) when ZeroMQ lets go of them.
///
/// # Safety
///
/// `ptr` points at `len` bytes that `owner` keeps alive and unchanged while it lives.
pub unsafe fn send_from(
    socket: &mut zmq::Socket,
    ptr: *const u8,
    len: usize,
    owner: Box<dyn Send>,
    flags: i32,
) -> Result<(), zmq::Error> {
    unsafe extern "C" fn release(_data: *mut c_void, hint: *mut c_void) {
        // SAFETY: `hint` is the box made below, and ZeroMQ calls this once, when it lets go.
        drop(unsafe { Box::from_raw(hint as *mut Box<dyn Send>) });
    }
    if len == 0 {
        return socket.send(&[][..], flags);
    }
    let hint = Box::into_raw(Box::new(owner)) as *mut c_void;
    let mut msg = zmq_sys::zmq_msg_t::default();
    // SAFETY: the caller promises that `ptr` points at `len` bytes that `owner` keeps alive and
    // unchanged; ZeroMQ only reads them and calls `release` once when done (also when sending
    // fails and the message is closed), which frees `owner`.
    unsafe {
        if zmq_sys::zmq_msg_init_data(&mut msg, ptr as *mut c_void, len, Some(release), hint) != 0 {
            drop(Box::from_raw(hint as *mut Box<dyn Send>));
            return Err(zmq::Error::from_raw(zmq_sys::zmq_errno()));
        }
        if zmq_sys::zmq_msg_send(&mut msg, socket.as_mut_ptr(), flags) == -1 {
            let e = zmq::Error::from_raw(zmq_sys::zmq_errno());
            zmq_sys::zmq_msg_close(&mut msg);
            return Err(e);
        }
    }
    Ok(())
}

/// Whether `fd` has something to read (or its end) within `wait`.
fn readable(fd: RawFd, wait: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: `pfd` is one live `pollfd`, the count given; `poll` only writes its `revents`.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n >= 0 {
            return Ok(n > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn read_record(reader: &mut BufReader<Box<dyn Read + Send>>) -> Result<Vec<Payload>, RecvError> {
    // What the stream held before it went wrong, to show someone who wrote text to it.
    let head = reader.fill_buf().map_err(RecvError::Io)?.iter().take(32).copied().collect::<Vec<u8>>();
    if head.is_empty() {
        return Err(RecvError::Closed);
    }
    let not_protocol = |what: String| {
        RecvError::Bad(BadFrame(format!("{what}: the stream is not coldbench-rpc/1 (it starts with {})", show(&head))))
    };
    let mut count = [0u8; 4];
    read_exact(reader, &mut count)?;
    let count = u32::from_le_bytes(count);
    if count == 0 || count > MAX_FRAMES {
        return Err(not_protocol(format!("a message of {count} frames")));
    }
    let mut frames = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut len = [0u8; 8];
        read_exact(reader, &mut len)?;
        let len = u64::from_le_bytes(len);
        if len > MAX_FRAME {
            return Err(not_protocol(format!("frame {i} of {len} bytes")));
        }
        // Read into the new buffer as it is: zeroing it first would be one more pass over a
        // large frame.
        let mut frame = Vec::with_capacity(len as usize);
        if reader.by_ref().take(len).read_to_end(&mut frame).map_err(RecvError::Io)? < len as usize {
            return Err(RecvError::Closed);
        }
        frames.push(Payload::from(frame));
    }
    Ok(frames)
}

fn read_exact(reader: &mut impl Read, buf: &mut [u8]) -> Result<(), RecvError> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => RecvError::Closed,
        _ => RecvError::Io(e),
    })
}

#[cfg(test)]
mod tests {
    use super::super::frame::{Status, PROTOCOL};
    use super::*;
    use std::os::fd::{FromRawFd, IntoRawFd};

    fn pipe() -> (std::fs::File, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: `fds` is the array of two descriptors that `pipe` writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the two descriptors `pipe` just opened (it succeeded), owned by nothing else.
        unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) }
    }

    /// A writer that counts what goes through it.
    struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>, std::fs::File);

    impl Write for Counted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.1.write(buf)?;
            self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.1.flush()
        }
    }

    #[test]
    fn a_large_argument_goes_through_the_segment_once_the_worker_accepts_it() {
        use super::super::shared::{Segment, View, SHARED_FROM};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (r, w) = pipe();
        let (r2, w2) = pipe();
        let wire = std::sync::Arc::new(AtomicUsize::new(0));
        let fd = r.try_clone().unwrap().into_raw_fd();
        let segment = Segment::create().unwrap();
        let view = View::open(&segment.path()).unwrap();
        let mut host = Connection::stream(Box::new(r2), Box::new(Counted(wire.clone(), w)), -1).offering(segment);
        let mut worker = Connection::stream(Box::new(r), Box::new(w2), fd).mapping(view);
        let arg: Vec<u8> = (0..SHARED_FROM as u32 * 2).map(|i| (i % 241) as u8).collect();
        let sent = |host: &mut Connection, worker: &mut Connection, id: u64| {
            let before = wire.load(Ordering::Relaxed);
            // The argument fits no pipe: the worker's side reads while the host writes.
            std::thread::scope(|s| {
                s.spawn(|| host.send_call(id, "bytes", Arg::Bytes(&arg)).unwrap());
                match worker.recv(Some(Duration::from_secs(5))).unwrap().unwrap() {
                    Message::Call { id: got, payload, .. } => assert!(got == id && *payload == arg[..]),
                    _ => panic!("not a call"),
                }
            });
            wire.load(Ordering::Relaxed) - before
        };
        // Before the worker's HELLO accepted the offer, every byte crosses the pipe.
        assert!(!host.shares_memory());
        assert!(sent(&mut host, &mut worker, 1) > arg.len());
        let hello = Message::Hello { protocol: PROTOCOL.into(), features: worker.features(), methods: vec![] };
        worker.send(hello).unwrap();
        assert!(matches!(host.recv(None).unwrap(), Some(Message::Hello { .. })));
        assert!(host.shares_memory());
        let wired = sent(&mut host, &mut worker, 2);
        assert!(wired < 100, "{wired} bytes on the wire for a call through the segment");
        // Until call 2 has its reply, the segment is not written again: call 3 crosses the pipe.
        assert!(sent(&mut host, &mut worker, 3) > arg.len());
        let reply = Message::Reply { id: 2, status: Status::Ok, payload: vec![].into(), method_ns: 0 };
        worker.send(reply).unwrap();
        assert!(matches!(host.recv(None).unwrap(), Some(Message::Reply { id: 2, .. })));
        assert!(sent(&mut host, &mut worker, 4) < 100);
    }

    #[test]
    fn a_stream_carries_messages_and_says_when_it_is_not_the_protocol() {
        let (r, w) = pipe();
        let (r2, w2) = pipe();
        let fd = r.try_clone().unwrap().into_raw_fd();
        let mut a = Connection::stream(Box::new(r2), Box::new(w), -1);
        let mut b = Connection::stream(Box::new(r), Box::new(w2), fd);
        assert!(b.recv(Some(Duration::from_millis(10))).unwrap().is_none());
        let call = Message::Call { id: 3, method: "m".into(), payload: vec![9; 100_000].into() };
        let writer = std::thread::spawn(move || {
            a.send(call).unwrap();
            a
        });
        let got = b.recv(Some(Duration::from_secs(5))).unwrap().unwrap();
        assert!(matches!(got, Message::Call { id: 3, ref payload, .. } if payload.len() == 100_000));
        drop(writer.join().unwrap());

        let (r, mut w) = pipe();
        w.write_all(b"hello world\n").unwrap();
        let mut c = Connection::stream(Box::new(r), Box::new(io::sink()), -1);
        match c.recv(None) {
            Err(RecvError::Bad(b)) => {
                assert!(b.0.contains("not coldbench-rpc/1 (it starts with `hello world"), "{b}")
            }
            other => panic!("{:?}", other.map(|m| m.map(|m| m.frame_count()))),
        }
        drop(w);
        let (r, w) = pipe();
        drop(w);
        let mut d = Connection::stream(Box::new(r), Box::new(io::sink()), -1);
        assert!(matches!(d.recv(None), Err(RecvError::Closed)));
    }
}
