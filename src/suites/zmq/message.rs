//! What a row's client sends and what counts as an answer: the frames of one request, built from
//! a template prepared once per row (only counters change from request to request), and the check
//! of each reply. The envelope of REQ, DEALER and ROUTER is added and removed by the client code
//! ([`super::load`]), never written by the user.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::measure::bench::RunFailure;
use crate::suites::zmq::config::message::{
    ExpectedSize, FrameOrigin, FrameTest, ReplyConfig, RequestFrame, PAYLOAD, SEQ,
};

/// How long a client waits for any one reply before the round fails.
pub const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How a reply is judged.
#[derive(Debug, Clone)]
enum Judge {
    /// The reply echoes the request: one frame as long as the payload sent. Anything else fails
    /// the round (the built-in server, and a user's echo server).
    Echo,
    /// Any reply counts.
    Any,
    /// The user's `reply`: a reply that fails it is counted as an error, not a round trip.
    Checked(ReplyConfig),
}

/// The request of a row and the judge of its replies. Shared by the threads of a many-clients
/// row; the counter behind `{seq}` is the row's, so ids stay unique across clients and rounds.
#[derive(Debug)]
pub struct Exchange {
    frames: Vec<RequestFrame>,
    judge: Judge,
    /// Whether a silent server may not understand the request: a user's server sent the bare
    /// payload because it has no `request`.
    hint: bool,
    /// Whether any frame changes per request.
    counted: bool,
    seq: AtomicU64,
}

/// Why a reply is not a good one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReply(pub String);

impl Exchange {
    /// The built-in server's: the payload as one frame, echoed.
    pub fn echo() -> Exchange {
        Exchange::new(vec![RequestFrame::Payload], Judge::Echo, false)
    }

    /// A user's server: its `request` and `reply`, or, without `request`, the payload echoed.
    pub fn user(request: Option<&[RequestFrame]>, reply: Option<&ReplyConfig>) -> Exchange {
        let judge = match (reply, request) {
            (Some(r), _) => Judge::Checked(r.clone()),
            (None, Some(_)) => Judge::Any,
            (None, None) => Judge::Echo,
        };
        let frames = request.map_or_else(|| vec![RequestFrame::Payload], <[RequestFrame]>::to_vec);
        Exchange::new(frames, judge, request.is_none())
    }

    fn new(frames: Vec<RequestFrame>, judge: Judge, hint: bool) -> Exchange {
        let counted = frames.iter().any(|f| matches!(f, RequestFrame::Counter { .. } | RequestFrame::Seq(_)));
        Exchange { frames, judge, hint, counted, seq: AtomicU64::new(0) }
    }

    /// Whether replies are checked against the user's `reply`, and bad ones counted as `errors`.
    pub fn counts_errors(&self) -> bool {
        matches!(self.judge, Judge::Checked(_))
    }

    /// Whether replies echo the request (and so carry what the request carried).
    pub fn echoes(&self) -> bool {
        matches!(self.judge, Judge::Echo)
    }

    /// Whether the request carries the row's payload.
    pub fn carries_payload(&self) -> bool {
        self.frames.contains(&RequestFrame::Payload)
    }

    /// Whether the request is the payload alone, one frame.
    pub fn is_bare(&self) -> bool {
        matches!(self.frames[..], [RequestFrame::Payload])
    }

    /// A builder of this exchange's requests, for one client.
    pub fn builder(&self) -> Builder<'_> {
        let bufs = self
            .frames
            .iter()
            .map(|f| match f {
                RequestFrame::Seq(format) => vec![0; format.size()],
                RequestFrame::Counter { pieces } => {
                    Vec::with_capacity(pieces.iter().map(String::len).sum::<usize>() + 20)
                }
                _ => Vec::new(),
            })
            .collect();
        Builder { exchange: self, bufs }
    }

    /// Judges a reply (its frames after the envelope) to a request that carried `payload_len`
    /// payload bytes: `Err(failure)` ends the round, `Ok(Err(bad))` is an error to count.
    pub fn judge(&self, frames: &[Vec<u8>], payload_len: usize) -> Result<Result<(), BadReply>, RunFailure> {
        match &self.judge {
            Judge::Echo => echo_check(frames, payload_len).map(Ok),
            Judge::Any => Ok(Ok(())),
            Judge::Checked(cfg) => Ok(checked(cfg, frames, payload_len)),
        }
    }

    /// The frames of a request, for people: `3 frames: "PING", 1 B, 64 B` (strings shown when
    /// short and printable, every other frame by its size; `payload_len` for `{payload}`).
    pub fn describe(&self, payload_len: usize) -> String {
        let shown: Vec<String> = self
            .frames
            .iter()
            .map(|f| match f {
                RequestFrame::Fixed { bytes, origin } => match origin {
                    FrameOrigin::Text if is_short_text(bytes) => format!("\"{}\"", String::from_utf8_lossy(bytes)),
                    FrameOrigin::File(path) => format!("{} ({path})", size(bytes.len())),
                    _ => size(bytes.len()),
                },
                RequestFrame::Counter { pieces } => {
                    let text = pieces.join(SEQ);
                    if is_short_text(text.as_bytes()) {
                        format!("\"{text}\"")
                    } else {
                        format!("{} + {SEQ}", size(pieces.iter().map(String::len).sum()))
                    }
                }
                RequestFrame::Payload => format!("{} ({PAYLOAD})", size(payload_len)),
                RequestFrame::Seq(format) => format!("{} ({})", size(format.size()), format.as_str()),
            })
            .collect();
        format!("{} frame{}: {}", shown.len(), if shown.len() == 1 { "" } else { "s" }, shown.join(", "))
    }

    /// What counts as a good reply, for people: `an echo`, `any reply`, or the user's checks.
    pub fn describe_judge(&self) -> String {
        let Judge::Checked(cfg) = &self.judge else {
            return if self.echoes() { "an echo of the request".into() } else { "any reply".into() };
        };
        let mut parts: Vec<String> = cfg.frames.iter().map(|n| count_frames(*n)).collect();
        parts.extend(cfg.checks.iter().map(|c| format!("frame {} {}", c.frame, expectation(&c.test, None))));
        parts.join(", ")
    }

    /// Why a round got no reply, as one line: what was sent, the silence (or the connection's
    /// end, when the monitor saw one), and, when a user's server got the bare payload, the fix.
    pub fn silence(&self, payload_len: usize, closed: Option<String>) -> RunFailure {
        let what = closed.unwrap_or_else(|| format!("no reply within {}", humantime::format_duration(REPLY_TIMEOUT)));
        let mut reason = format!("sent {}; {what}", self.describe(payload_len));
        if self.hint {
            reason.push_str(
                ": a server with its own message format needs `request` (the frames of one request) in its \
                 `[package.metadata.bench.zmq]` server table",
            );
        }
        RunFailure::new(reason)
    }
}

/// The frames of one client's requests: fixed frames are borrowed from the template; counters are
/// written into buffers made once.
pub struct Builder<'a> {
    exchange: &'a Exchange,
    bufs: Vec<Vec<u8>>,
}

impl Builder<'_> {
    /// The next request's frames, with `payload` for `{payload}`; counters take the next number.
    pub fn next<'s>(&'s mut self, payload: &'s [u8]) -> impl ExactSizeIterator<Item = &'s [u8]> + 's {
        if self.exchange.counted {
            let n = self.exchange.seq.fetch_add(1, Ordering::Relaxed);
            for (frame, buf) in self.exchange.frames.iter().zip(self.bufs.iter_mut()) {
                match frame {
                    RequestFrame::Seq(format) => format.write(n, buf),
                    RequestFrame::Counter { pieces } => {
                        buf.clear();
                        for (i, piece) in pieces.iter().enumerate() {
                            if i > 0 {
                                let _ = write!(buf, "{n}");
                            }
                            buf.extend_from_slice(piece.as_bytes());
                        }
                    }
                    _ => {}
                }
            }
        }
        self.exchange.frames.iter().zip(self.bufs.iter()).map(move |(frame, buf)| match frame {
            RequestFrame::Fixed { bytes, .. } => bytes.as_slice(),
            RequestFrame::Payload => payload,
            RequestFrame::Counter { .. } | RequestFrame::Seq(_) => buf.as_slice(),
        })
    }
}

fn is_short_text(bytes: &[u8]) -> bool {
    bytes.len() <= 24 && std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(|c| !c.is_control()))
}

fn size(n: usize) -> String {
    crate::units::format_size(n as f64)
}

/// A reply that is not the echo of the request fails the round with what came back.
fn echo_check(frames: &[Vec<u8>], expected_len: usize) -> Result<(), RunFailure> {
    if frames.len() != 1 {
        return Err(RunFailure::new(format!(
            "the server answered with {} where 1 was expected: {}",
            count_frames(frames.len()),
            describe_reply(frames)
        )));
    }
    let got = frames[0].len();
    if got != expected_len {
        return Err(RunFailure::new(format!("the server answered {got} bytes to a request of {expected_len}")));
    }
    Ok(())
}

fn checked(cfg: &ReplyConfig, frames: &[Vec<u8>], payload_len: usize) -> Result<(), BadReply> {
    let bad = |why: String| Err(BadReply(format!("{why}; the reply: {}", describe_reply(frames))));
    if let Some(n) = cfg.frames.filter(|n| *n != frames.len()) {
        return bad(format!(
            "{} where {n} {} expected",
            count_frames(frames.len()),
            if n == 1 { "was" } else { "were" }
        ));
    }
    for check in &cfg.checks {
        let Some(frame) = frames.get(check.frame) else {
            return bad(format!("no frame {} (the reply has {})", check.frame, count_frames(frames.len())));
        };
        let passes = match &check.test {
            FrameTest::Equals(want) => frame == want,
            FrameTest::Matches(re) => re.is_match(frame),
            FrameTest::Size(ExpectedSize::Bytes(n)) => frame.len() as u64 == *n,
            FrameTest::Size(ExpectedSize::Payload) => frame.len() == payload_len,
        };
        let failed = (!passes).then(|| expectation(&check.test, Some(payload_len)));
        if let Some(expected) = failed {
            return bad(format!("frame {} fails the check that it {expected}", check.frame));
        }
    }
    Ok(())
}

/// What a check expects of a frame: `equals "PONG"`, `matches `^P`, `has 64 B` (`has the
/// payload's size` when no payload is at hand).
fn expectation(test: &FrameTest, payload_len: Option<usize>) -> String {
    match (test, payload_len) {
        (FrameTest::Equals(want), _) => format!("equals {}", escaped(want, 24)),
        (FrameTest::Matches(re), _) => format!("matches `{}`", re.as_str()),
        (FrameTest::Size(ExpectedSize::Bytes(n)), _) => format!("has {}", size(*n as usize)),
        (FrameTest::Size(ExpectedSize::Payload), Some(n)) => format!("has {}", size(n)),
        (FrameTest::Size(ExpectedSize::Payload), None) => "has the payload's size".into(),
    }
}

fn count_frames(n: usize) -> String {
    format!("{n} frame{}", if n == 1 { "" } else { "s" })
}

/// A reply for people: its frame count and the first bytes of each frame, escaped.
pub fn describe_reply(frames: &[Vec<u8>]) -> String {
    let mut shown: Vec<String> = frames.iter().take(6).map(|f| escaped(f, 24)).collect();
    if frames.len() > 6 {
        shown.push(format!("… {} more", frames.len() - 6));
    }
    format!("[{}]", shown.join(", "))
}

/// Up to `max` bytes of a frame as an escaped string, with the frame's size when it is longer.
fn escaped(frame: &[u8], max: usize) -> String {
    let head = &frame[..frame.len().min(max)];
    let text: String = head.escape_ascii().to_string();
    if frame.len() > max {
        format!("{} \"{text}…\"", size(frame.len()))
    } else {
        format!("\"{text}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suites::zmq::config::message::{FrameCheck, SeqFormat};

    fn fixed(s: &str) -> RequestFrame {
        RequestFrame::Fixed { bytes: s.as_bytes().to_vec(), origin: FrameOrigin::Text }
    }

    #[test]
    fn requests_are_built_from_the_template_with_counters_that_advance() {
        let frames = vec![
            fixed("CALL"),
            RequestFrame::Counter { pieces: vec!["{\"id\":".into(), "}".into()] },
            RequestFrame::Seq(SeqFormat::U32be),
            RequestFrame::Payload,
        ];
        let ex = Exchange::user(Some(&frames), None);
        let mut b = ex.builder();
        let first: Vec<Vec<u8>> = b.next(b"xyz").map(<[u8]>::to_vec).collect();
        assert_eq!(first, [b"CALL".to_vec(), b"{\"id\":0}".to_vec(), vec![0, 0, 0, 0], b"xyz".to_vec()]);
        // Another client of the same row continues the same counter.
        let mut other = ex.builder();
        let second: Vec<Vec<u8>> = other.next(b"").map(<[u8]>::to_vec).collect();
        assert_eq!((&second[1][..], &second[2][..]), (&b"{\"id\":1}"[..], &[0, 0, 0, 1][..]));
        let third: Vec<Vec<u8>> = b.next(b"").map(<[u8]>::to_vec).collect();
        assert_eq!(third[1], b"{\"id\":2}");
        assert_eq!(ex.describe(64), "4 frames: \"CALL\", \"{\"id\":{seq}}\", 4 B (u32be), 64 B ({payload})");
        // A long string with a counter is shown by its size, as other long frames are.
        let header =
            RequestFrame::Counter { pieces: vec!["{\"msg_id\": \"".into(), format!("\"{}}}", " ".repeat(40))] };
        assert_eq!(Exchange::user(Some(&[header]), None).describe(0), "1 frame: 54 B + {seq}");
    }

    #[test]
    fn an_echo_is_one_frame_of_the_payload_s_size() {
        let ex = Exchange::echo();
        assert!(ex.echoes() && !ex.counts_errors() && ex.is_bare() && ex.carries_payload());
        assert_eq!(ex.judge(&[vec![7; 64]], 64), Ok(Ok(())));
        let err = ex.judge(&[b"a".to_vec(), b"b".to_vec()], 1).unwrap_err();
        assert_eq!(err.reason, "the server answered with 2 frames where 1 was expected: [\"a\", \"b\"]");
        let err = ex.judge(&[vec![0; 100]], 64).unwrap_err();
        assert!(err.reason.contains("100 bytes to a request of 64"), "{}", err.reason);
    }

    #[test]
    fn checked_replies_count_errors_with_what_came_back() {
        let cfg = ReplyConfig {
            frames: Some(2),
            checks: vec![
                FrameCheck { frame: 0, test: FrameTest::Matches(regex::bytes::Regex::new("^(PONG|ECHO)$").unwrap()) },
                FrameCheck { frame: 1, test: FrameTest::Size(ExpectedSize::Payload) },
            ],
        };
        let ex = Exchange::user(Some(&[fixed("PING"), RequestFrame::Payload]), Some(&cfg));
        assert!(ex.counts_errors() && !ex.echoes());
        assert_eq!(ex.judge(&[b"PONG".to_vec(), vec![1; 8]], 8), Ok(Ok(())));
        let bad = |frames: &[Vec<u8>]| ex.judge(frames, 8).unwrap().unwrap_err().0;
        assert_eq!(
            bad(&[b"PANG".to_vec(), vec![0xff; 8]]),
            "frame 0 fails the check that it matches `^(PONG|ECHO)$`; the reply: [\"PANG\", \"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\"]"
        );
        assert!(bad(&[b"PONG".to_vec(), vec![0; 9]]).starts_with("frame 1 fails the check that it has 8 B"));
        assert!(bad(&[b"PONG".to_vec()]).starts_with("1 frame where 2 were expected; the reply: [\"PONG\"]"));
        let long = bad(&[b"PONG".to_vec(), vec![b'x'; 100]]);
        assert!(long.ends_with("100 B \"xxxxxxxxxxxxxxxxxxxxxxxx…\"]"), "{long}");
        // Without `reply`, any reply counts.
        let any = Exchange::user(Some(&[fixed("PING")]), None);
        assert_eq!(any.judge(&[], 0), Ok(Ok(())));
        assert!(!any.carries_payload() && !any.is_bare());
    }

    #[test]
    fn silence_names_what_was_sent_and_the_fix_when_it_is_likely() {
        let bare = Exchange::user(None, None).silence(64, None);
        assert_eq!(
            bare.reason,
            "sent 1 frame: 64 B ({payload}); no reply within 5s: a server with its own message format needs \
             `request` (the frames of one request) in its `[package.metadata.bench.zmq]` server table"
        );
        let frames =
            [fixed("PING"), RequestFrame::Fixed { bytes: vec![1], origin: FrameOrigin::Hex }, RequestFrame::Payload];
        let own = Exchange::user(Some(&frames), None).silence(64, Some("the server closed the connection".into()));
        assert_eq!(own.reason, "sent 3 frames: \"PING\", 1 B, 64 B ({payload}); the server closed the connection");
    }
}
