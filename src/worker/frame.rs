//! The messages of the RPC protocol (`docs/PROTOCOL.md`) and their frames. A message is a list
//! of frames: one ZeroMQ multipart message, or one length-prefixed record on stdin/stdout.

use std::fmt;
use std::sync::Arc;

use super::shared::SharedBytes;

/// The protocol a worker announces in its `HELLO`.
pub const PROTOCOL: &str = "coldbench-rpc/1";

/// Why a call did not produce a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The method ran and returned its result.
    Ok = 0,
    /// The peer has no method of that name.
    UnknownMethod = 1,
    /// The method ran and failed; the payload is its message.
    Failed = 2,
}

impl Status {
    fn from_byte(b: u8) -> Option<Status> {
        match b {
            0 => Some(Status::Ok),
            1 => Some(Status::UnknownMethod),
            2 => Some(Status::Failed),
            _ => None,
        }
    }
}

/// A frame's bytes: read from ZeroMQ without a copy, or owned.
pub struct Payload(Repr);

enum Repr {
    Owned(Vec<u8>),
    Zmq(zmq::Message),
    Mapped(SharedBytes),
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(v) => v,
            Repr::Zmq(m) => m,
            Repr::Mapped(b) => b.as_ref(),
        }
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Payload {
        Payload(Repr::Owned(v))
    }
}

impl From<&[u8]> for Payload {
    fn from(v: &[u8]) -> Payload {
        Payload(Repr::Owned(v.to_vec()))
    }
}

impl Payload {
    /// An argument that lies in the host's shared segment.
    pub(crate) fn from_shared(bytes: SharedBytes) -> Payload {
        Payload(Repr::Mapped(bytes))
    }
}

impl From<zmq::Message> for Payload {
    fn from(m: zmq::Message) -> Payload {
        Payload(Repr::Zmq(m))
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes)", self.len())
    }
}

/// One message of the protocol.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// A worker's first message: the protocol it speaks and the methods it has.
    Hello {
        /// The protocol, [`PROTOCOL`].
        protocol: String,
        /// What it offers beyond the protocol, written after it in the same frame
        /// (`coldbench-rpc/1 shm`): [`super::shared::FEATURE`] when it mapped the host's segment.
        features: Vec<String>,
        /// Its methods.
        methods: Vec<String>,
    },
    /// A call, from either side.
    Call {
        /// Chosen by the caller, echoed in the reply.
        id: u64,
        /// The method's name.
        method: String,
        /// Its argument.
        payload: Payload,
    },
    /// The answer to a call.
    Reply {
        /// The call's id.
        id: u64,
        /// Whether it worked.
        status: Status,
        /// The result, or the error's text.
        payload: Payload,
        /// How long the method ran where it ran, in nanoseconds (its in-process cost).
        method_ns: u64,
    },
    /// The host is done: the worker exits.
    Bye,
}

/// A message that is not the protocol, naming the first frame that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame(pub String);

impl fmt::Display for BadFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadFrame {}

/// A frame as people read it: text when it is printable, else its first bytes in hex.
pub fn show(frame: &[u8]) -> String {
    let head = &frame[..frame.len().min(32)];
    let more = if frame.len() > head.len() { "…" } else { "" };
    match std::str::from_utf8(head) {
        Ok(text) if text.chars().all(|c| !c.is_control() || c.is_whitespace()) => {
            format!("`{}{more}`", text.escape_debug())
        }
        _ => {
            let hex: Vec<String> = head.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("bytes {}{}", hex.join(" "), if frame.len() > 16 { " …" } else { "" })
        }
    }
}

/// A call's argument: bytes the transport copies, or bytes shared with it, which ZeroMQ sends
/// from where they lie (a large argument sent many times, as the suite's 50 MiB call is).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Copied into the transport's message.
    Bytes(&'a [u8]),
    /// Sent without a copy where the transport can; ZeroMQ keeps a reference until they are out.
    Shared(&'a Arc<[u8]>),
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(bytes: &'a [u8]) -> Arg<'a> {
        Arg::Bytes(bytes)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Arg<'a> {
    fn from(bytes: &'a [u8; N]) -> Arg<'a> {
        Arg::Bytes(bytes)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(bytes: &'a Vec<u8>) -> Arg<'a> {
        Arg::Bytes(bytes)
    }
}

impl<'a> From<&'a Arc<[u8]>> for Arg<'a> {
    fn from(bytes: &'a Arc<[u8]>) -> Arg<'a> {
        Arg::Shared(bytes)
    }
}

/// A frame on its way out: bytes the transport copies, or an owner of bytes that ZeroMQ sends
/// from where they lie and lets go of when they are out.
pub enum Out<'a> {
    /// Borrowed.
    Bytes(&'a [u8]),
    /// Owned (a reply's result) or shared (a call's argument).
    Owned(Box<dyn AsRef<[u8]> + Send>),
}

impl Out<'_> {
    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Out::Bytes(b) => b,
            Out::Owned(owner) => (**owner).as_ref(),
        }
    }
}

/// Hands the frames of a CALL to `emit`: the caller's argument goes to the transport without
/// first becoming a [`Message`].
pub fn emit_call<E>(
    id: u64,
    method: &str,
    arg: Arg,
    mut emit: impl FnMut(Out, bool) -> Result<(), E>,
) -> Result<(), E> {
    emit(Out::Bytes(b"CALL"), true)?;
    emit(Out::Bytes(&id.to_le_bytes()), true)?;
    emit(Out::Bytes(method.as_bytes()), true)?;
    match arg {
        Arg::Bytes(bytes) => emit(Out::Bytes(bytes), false),
        Arg::Shared(shared) => emit(Out::Owned(Box::new(Arc::clone(shared))), false),
    }
}

/// Frames in a CALL.
pub const CALL_FRAMES: usize = 4;

impl Message {
    /// Hands the message's frames to `emit` in order, each with whether more follow; the
    /// payload goes with its owner, not copied.
    pub fn emit<E>(self, mut emit: impl FnMut(Out, bool) -> Result<(), E>) -> Result<(), E> {
        match self {
            Message::Hello { protocol, features, methods } => {
                emit(Out::Bytes(b"HELLO"), true)?;
                let head = std::iter::once(protocol).chain(features).collect::<Vec<_>>().join(" ");
                emit(Out::Bytes(head.as_bytes()), !methods.is_empty())?;
                for (i, m) in methods.iter().enumerate() {
                    emit(Out::Bytes(m.as_bytes()), i + 1 < methods.len())?;
                }
                Ok(())
            }
            Message::Call { id, method, payload } => {
                emit(Out::Bytes(b"CALL"), true)?;
                emit(Out::Bytes(&id.to_le_bytes()), true)?;
                emit(Out::Bytes(method.as_bytes()), true)?;
                emit(Out::Owned(Box::new(payload)), false)
            }
            Message::Reply { id, status, payload, method_ns } => {
                emit(Out::Bytes(b"REPLY"), true)?;
                emit(Out::Bytes(&id.to_le_bytes()), true)?;
                emit(Out::Bytes(&[status as u8]), true)?;
                emit(Out::Owned(Box::new(payload)), true)?;
                emit(Out::Bytes(&method_ns.to_le_bytes()), false)
            }
            Message::Bye => emit(Out::Bytes(b"BYE"), false),
        }
    }

    /// The number of frames [`Message::emit`] gives.
    pub fn frame_count(&self) -> usize {
        match self {
            Message::Hello { methods, .. } => 2 + methods.len(),
            Message::Call { .. } => CALL_FRAMES,
            Message::Reply { .. } => 5,
            Message::Bye => 1,
        }
    }

    /// Reads a message from its frames; the payload frame is moved, not copied.
    pub fn decode(mut frames: Vec<Payload>) -> Result<Message, BadFrame> {
        let take_payload =
            |frames: &mut Vec<Payload>, i: usize| std::mem::replace(&mut frames[i], Payload::from(Vec::new()));
        let frame = |i: usize| frames.get(i).map(|f| &**f);
        let kind = frame(0).ok_or_else(|| BadFrame("an empty message (no frames)".into()))?;
        let count = |want: usize, name: &str| -> Result<(), BadFrame> {
            if frames.len() == want {
                Ok(())
            } else {
                Err(BadFrame(format!("{name} has {} frames, the protocol says {want}", frames.len())))
            }
        };
        let id = |i: usize| -> Result<u64, BadFrame> {
            let f = frame(i).unwrap_or_default();
            let bytes: [u8; 8] = f
                .try_into()
                .map_err(|_| BadFrame(format!("frame {i} (the call id) has {} bytes, the protocol says 8", f.len())))?;
            Ok(u64::from_le_bytes(bytes))
        };
        let text = |i: usize, what: &str| -> Result<String, BadFrame> {
            let f = frame(i).unwrap_or_default();
            String::from_utf8(f.to_vec()).map_err(|_| BadFrame(format!("frame {i} ({what}) is not UTF-8: {}", show(f))))
        };
        match kind {
            b"HELLO" => {
                if frames.len() < 2 {
                    return Err(BadFrame("HELLO has no protocol frame".into()));
                }
                let head = text(1, "the protocol")?;
                let mut words = head.split(' ');
                let protocol = words.next().unwrap_or_default().to_string();
                if protocol != PROTOCOL {
                    return Err(BadFrame(format!("frame 1 says protocol `{head}`, this host speaks `{PROTOCOL}`")));
                }
                let features = words.filter(|w| !w.is_empty()).map(str::to_string).collect();
                let methods = (2..frames.len()).map(|i| text(i, "a method name")).collect::<Result<_, _>>()?;
                Ok(Message::Hello { protocol, features, methods })
            }
            b"CALL" => {
                count(4, "CALL")?;
                let (id, method) = (id(1)?, text(2, "the method")?);
                Ok(Message::Call { id, method, payload: take_payload(&mut frames, 3) })
            }
            b"REPLY" => {
                count(5, "REPLY")?;
                let status_frame = frame(2).unwrap();
                let status = match status_frame {
                    [b] => Status::from_byte(*b),
                    _ => None,
                }
                .ok_or_else(|| {
                    BadFrame(format!("frame 2 (the status) is {}, not one byte 0, 1 or 2", show(status_frame)))
                })?;
                let ns = frame(4).unwrap();
                let method_ns = u64::from_le_bytes(ns.try_into().map_err(|_| {
                    BadFrame(format!("frame 4 (the method's time) has {} bytes, the protocol says 8", ns.len()))
                })?);
                let id = id(1)?;
                Ok(Message::Reply { id, status, payload: take_payload(&mut frames, 3), method_ns })
            }
            b"BYE" => Ok(Message::Bye),
            other => Err(BadFrame(format!("frame 0 is {}, not HELLO, CALL, REPLY or BYE", show(other)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(m: Message) -> Vec<Payload> {
        let mut out = Vec::new();
        let mut last_more = true;
        let count = m.frame_count();
        m.emit(|f, more| {
            assert!(last_more, "a frame after the last");
            last_more = more;
            out.push(Payload::from(f.bytes()));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(!last_more && out.len() == count);
        out
    }

    #[test]
    fn every_message_reads_back_as_written() {
        let messages = || {
            [
                Message::Hello { protocol: PROTOCOL.into(), features: vec![], methods: vec!["a".into(), "b".into()] },
                Message::Hello { protocol: PROTOCOL.into(), features: vec!["shm".into()], methods: vec![] },
                Message::Call { id: 7, method: "small_int".into(), payload: vec![1, 2, 3].into() },
                Message::Reply { id: 7, status: Status::Failed, payload: b"boom".to_vec().into(), method_ns: 12 },
                Message::Bye,
            ]
        };
        for (m, written) in messages().into_iter().zip(messages()) {
            assert_eq!(Message::decode(frames(written)).unwrap(), m);
        }
        // A CALL with a shared argument has the same frames.
        let shared: Arc<[u8]> = Arc::from(&[1u8, 2, 3][..]);
        let mut out = Vec::new();
        emit_call(7, "small_int", Arg::from(&shared), |f, _| {
            out.push(Payload::from(f.bytes()));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(Message::decode(out).unwrap(), messages()[2]);
    }

    #[test]
    fn a_bad_message_names_its_first_bad_frame() {
        let err = |frames: &[&[u8]]| Message::decode(frames.iter().map(|f| Payload::from(*f)).collect()).unwrap_err().0;
        assert_eq!(err(&[b"hello world"]), "frame 0 is `hello world`, not HELLO, CALL, REPLY or BYE");
        assert_eq!(err(&[b"CALL", b"1234", b"m", b""]), "frame 1 (the call id) has 4 bytes, the protocol says 8");
        assert_eq!(err(&[b"CALL", &[0; 8], b"m"]), "CALL has 3 frames, the protocol says 4");
        assert_eq!(
            err(&[b"HELLO", b"json-rpc"]),
            "frame 1 says protocol `json-rpc`, this host speaks `coldbench-rpc/1`"
        );
        assert!(err(&[b"\x01\x02"]).starts_with("frame 0 is bytes 01 02"));
        assert_eq!(err(&[]), "an empty message (no frames)");
    }
}
