//! The messages of the RPC protocol (`docs/PROTOCOL.md`) and their frames. A message is a list
//! of frames: one ZeroMQ multipart message, or one length-prefixed record on stdin/stdout.

use std::fmt;

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
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(v) => v,
            Repr::Zmq(m) => m,
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

impl From<zmq::Message> for Payload {
    fn from(m: zmq::Message) -> Payload {
        Payload(Repr::Zmq(m))
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

/// Hands the frames of a CALL to `emit`, the argument borrowed: the caller's bytes go to the
/// transport without first becoming a [`Message`].
pub fn emit_call<E>(
    id: u64,
    method: &str,
    payload: &[u8],
    mut emit: impl FnMut(&[u8], bool) -> Result<(), E>,
) -> Result<(), E> {
    emit(b"CALL", true)?;
    emit(&id.to_le_bytes(), true)?;
    emit(method.as_bytes(), true)?;
    emit(payload, false)
}

/// Frames in a CALL.
pub const CALL_FRAMES: usize = 4;

impl Message {
    /// Hands the message's frames to `emit` in order, each with whether more follow; the
    /// payload is not copied.
    pub fn emit<E>(&self, mut emit: impl FnMut(&[u8], bool) -> Result<(), E>) -> Result<(), E> {
        match self {
            Message::Hello { protocol, methods } => {
                emit(b"HELLO", true)?;
                emit(protocol.as_bytes(), !methods.is_empty())?;
                for (i, m) in methods.iter().enumerate() {
                    emit(m.as_bytes(), i + 1 < methods.len())?;
                }
                Ok(())
            }
            Message::Call { id, method, payload } => emit_call(*id, method, payload, emit),
            Message::Reply { id, status, payload, method_ns } => {
                emit(b"REPLY", true)?;
                emit(&id.to_le_bytes(), true)?;
                emit(&[*status as u8], true)?;
                emit(payload, true)?;
                emit(&method_ns.to_le_bytes(), false)
            }
            Message::Bye => emit(b"BYE", false),
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
                let protocol = text(1, "the protocol")?;
                if protocol != PROTOCOL {
                    return Err(BadFrame(format!("frame 1 says protocol `{protocol}`, this host speaks `{PROTOCOL}`")));
                }
                let methods = (2..frames.len()).map(|i| text(i, "a method name")).collect::<Result<_, _>>()?;
                Ok(Message::Hello { protocol, methods })
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

    fn frames(m: &Message) -> Vec<Payload> {
        let mut out = Vec::new();
        let mut last_more = true;
        m.emit(|f, more| {
            assert!(last_more, "a frame after the last");
            last_more = more;
            out.push(Payload::from(f));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(!last_more && out.len() == m.frame_count());
        out
    }

    #[test]
    fn every_message_reads_back_as_written() {
        let messages = [
            Message::Hello { protocol: PROTOCOL.into(), methods: vec!["a".into(), "b".into()] },
            Message::Hello { protocol: PROTOCOL.into(), methods: vec![] },
            Message::Call { id: 7, method: "small_int".into(), payload: vec![1, 2, 3].into() },
            Message::Reply { id: 7, status: Status::Failed, payload: b"boom".to_vec().into(), method_ns: 12 },
            Message::Bye,
        ];
        for m in messages {
            assert_eq!(Message::decode(frames(&m)).unwrap(), m);
        }
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
