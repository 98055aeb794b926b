//! `server.request` and `server.reply` of `[package.metadata.bench.zmq]`: the frames of one
//! request in a user's own message format, and what a good reply looks like. Read and resolved
//! here, before anything starts: frame files are read, hex decoded, regexes compiled, and every
//! `{payload}` placeholder checked against what the request sends.

use std::path::Path;

use serde::Deserialize;

use crate::discover::config::{config_error, parse_value};
use crate::error::UserError;
use crate::units::Bytes;

/// The placeholder that stands for the row's payload bytes, a frame of its own.
pub const PAYLOAD: &str = "{payload}";
/// The placeholder replaced by an increasing decimal counter inside a string frame.
pub const SEQ: &str = "{seq}";

/// One frame of a request, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestFrame {
    /// The same bytes in every request: a string without `{seq}`, `{ hex }`, or a file's content.
    Fixed {
        /// The bytes.
        bytes: Vec<u8>,
        /// Where they came from, for `--list` and messages: `"PING"`, `frames/header.bin`, `hex`.
        origin: FrameOrigin,
    },
    /// A string with `{seq}`: the text around each placeholder (one more piece than placeholders).
    Counter {
        /// The text between placeholders.
        pieces: Vec<String>,
    },
    /// The row's payload.
    Payload,
    /// A binary counter.
    Seq(SeqFormat),
}

/// Where the bytes of a fixed frame came from.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameOrigin {
    /// A UTF-8 string.
    Text,
    /// `{ hex = "…" }`.
    Hex,
    /// `{ file = "…" }`, as written.
    File(String),
}

/// The encoding of a binary counter frame (`{ seq = "u32le" }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeqFormat {
    /// 4 bytes, little-endian.
    U32le,
    /// 4 bytes, big-endian.
    U32be,
    /// 8 bytes, little-endian.
    U64le,
    /// 8 bytes, big-endian.
    U64be,
}

impl SeqFormat {
    /// The frame's size in bytes.
    pub fn size(self) -> usize {
        match self {
            SeqFormat::U32le | SeqFormat::U32be => 4,
            SeqFormat::U64le | SeqFormat::U64be => 8,
        }
    }

    /// `u32le`, …
    pub fn as_str(self) -> &'static str {
        match self {
            SeqFormat::U32le => "u32le",
            SeqFormat::U32be => "u32be",
            SeqFormat::U64le => "u64le",
            SeqFormat::U64be => "u64be",
        }
    }

    /// `n` in this encoding, into `out` (which holds [`SeqFormat::size`] bytes); a 32-bit counter wraps.
    pub fn write(self, n: u64, out: &mut [u8]) {
        match self {
            SeqFormat::U32le => out.copy_from_slice(&(n as u32).to_le_bytes()),
            SeqFormat::U32be => out.copy_from_slice(&(n as u32).to_be_bytes()),
            SeqFormat::U64le => out.copy_from_slice(&n.to_le_bytes()),
            SeqFormat::U64be => out.copy_from_slice(&n.to_be_bytes()),
        }
    }
}

/// What a good reply looks like.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplyConfig {
    /// How many frames it has (after the envelope).
    pub frames: Option<usize>,
    /// Checks of single frames, in order.
    pub checks: Vec<FrameCheck>,
}

/// A check of one frame of a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameCheck {
    /// Which frame, from 0.
    pub frame: usize,
    /// What it must be.
    pub test: FrameTest,
}

/// What a frame of a reply must be.
#[derive(Debug, Clone)]
pub enum FrameTest {
    /// Exactly these bytes.
    Equals(Vec<u8>),
    /// Bytes the regular expression matches.
    Matches(regex::bytes::Regex),
    /// This many bytes.
    Size(ExpectedSize),
}

impl PartialEq for FrameTest {
    fn eq(&self, other: &FrameTest) -> bool {
        match (self, other) {
            (FrameTest::Equals(a), FrameTest::Equals(b)) => a == b,
            (FrameTest::Matches(a), FrameTest::Matches(b)) => a.as_str() == b.as_str(),
            (FrameTest::Size(a), FrameTest::Size(b)) => a == b,
            _ => false,
        }
    }
}

/// A frame size a reply check expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedSize {
    /// This many bytes.
    Bytes(u64),
    /// As many as the row's payload (`"{payload}"`).
    Payload,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawReply {
    frames: Option<u32>,
    #[serde(default)]
    check: Vec<RawCheck>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCheck {
    frame: u32,
    equals: Option<serde_json::Value>,
    matches: Option<String>,
    size: Option<serde_json::Value>,
}

/// The forms a request frame takes, for messages.
const FRAME_FORMS: &str =
    "a string (\"PING\", \"{payload}\", \"id-{seq}\"), { hex = \"00ff\" }, { file = \"frames/header.bin\" } \
                           or { seq = \"u32le\" } (also u32be, u64le, u64be)";

/// Reads `request` (at `key`, a list of frames) with files relative to `package_dir`.
pub fn request(
    frames: &[serde_json::Value],
    key: &str,
    manifest: &Path,
    package_dir: &Path,
) -> Result<Vec<RequestFrame>, UserError> {
    if frames.is_empty() {
        return Err(config_error(key, manifest, "the request has no frames: give at least one, such as [\"PING\"]"));
    }
    frames.iter().enumerate().map(|(i, v)| frame(v, &format!("{key}[{i}]"), manifest, package_dir)).collect()
}

fn frame(value: &serde_json::Value, key: &str, manifest: &Path, package_dir: &Path) -> Result<RequestFrame, UserError> {
    let err = |key: &str, message: String| config_error(key, manifest, message);
    match value {
        serde_json::Value::String(s) => text_frame(s).map_err(|m| err(key, m)),
        serde_json::Value::Object(table) if table.len() == 1 => {
            let (name, v) = table.iter().next().expect("one entry");
            let sub = format!("{key}.{name}");
            let text = || v.as_str().ok_or_else(|| err(&sub, format!("expected a string, not {v}")));
            match name.as_str() {
                "hex" => {
                    let bytes = decode_hex(text()?).map_err(|m| err(&sub, m))?;
                    if bytes.is_empty() {
                        return Err(err(&sub, "the hex string is empty; an empty frame is \"\"".into()));
                    }
                    Ok(RequestFrame::Fixed { bytes, origin: FrameOrigin::Hex })
                }
                "file" => {
                    let path = text()?;
                    let full = package_dir.join(path);
                    let bytes = std::fs::read(&full)
                        .map_err(|e| err(&sub, format!("cannot read the frame file {}: {e}", full.display())))?;
                    Ok(RequestFrame::Fixed { bytes, origin: FrameOrigin::File(path.to_string()) })
                }
                "seq" => serde_json::from_value::<SeqFormat>(v.clone()).map(RequestFrame::Seq).map_err(|_| {
                    err(
                        &sub,
                        format!("{v} is not a counter encoding: use \"u32le\", \"u32be\", \"u64le\" or \"u64be\""),
                    )
                }),
                other => Err(err(
                    &format!("{key}.{other}"),
                    format!("unknown frame form `{other}`: a frame is {FRAME_FORMS}"),
                )),
            }
        }
        other => Err(err(key, format!("{other} is not a frame: a frame is {FRAME_FORMS}"))),
    }
}

fn text_frame(s: &str) -> Result<RequestFrame, String> {
    if s == PAYLOAD {
        return Ok(RequestFrame::Payload);
    }
    if s.contains(PAYLOAD) {
        return Err(format!(
            "`{s}`: \"{PAYLOAD}\" stands for the payload as a frame of its own; put it in a frame by itself"
        ));
    }
    if s.contains(SEQ) {
        return Ok(RequestFrame::Counter { pieces: s.split(SEQ).map(str::to_string).collect() });
    }
    Ok(RequestFrame::Fixed { bytes: s.as_bytes().to_vec(), origin: FrameOrigin::Text })
}

/// Reads `reply` (at `key`); `request` is the request it answers, when configured: a size of
/// `{payload}` needs a request that sends one.
pub fn reply(
    value: &serde_json::Value,
    key: &str,
    manifest: &Path,
    request: Option<&[RequestFrame]>,
) -> Result<ReplyConfig, UserError> {
    let raw: RawReply = parse_value(value, key, manifest)?;
    let frames = raw.frames.map(|n| n as usize);
    if frames == Some(0) {
        return Err(config_error(format!("{key}.frames"), manifest, "a reply has at least one frame"));
    }
    if frames.is_none() && raw.check.is_empty() {
        return Err(config_error(
            key,
            manifest,
            "the reply checks nothing: give `frames = N` and/or `check = [{ frame = 0, equals = \"PONG\" }]`",
        ));
    }
    let checks = raw
        .check
        .into_iter()
        .enumerate()
        .map(|(i, c)| check(c, &format!("{key}.check[{i}]"), manifest, frames, request))
        .collect::<Result<_, _>>()?;
    Ok(ReplyConfig { frames, checks })
}

fn check(
    raw: RawCheck,
    key: &str,
    manifest: &Path,
    frames: Option<usize>,
    request: Option<&[RequestFrame]>,
) -> Result<FrameCheck, UserError> {
    let err = |sub: &str, message: String| config_error(format!("{key}{sub}"), manifest, message);
    let frame = raw.frame as usize;
    if let Some(n) = frames.filter(|n| frame >= *n) {
        return Err(err(
            ".frame",
            format!("frame {frame} cannot exist in a reply of {n} frame{} (frames count from 0)", plural(n)),
        ));
    }
    let test = match (raw.equals, raw.matches, raw.size) {
        (Some(v), None, None) => FrameTest::Equals(expected_bytes(&v).map_err(|m| err(".equals", m))?),
        (None, Some(pattern), None) => FrameTest::Matches(
            regex::bytes::Regex::new(&pattern)
                .map_err(|e| err(".matches", format!("invalid regular expression: {e}")))?,
        ),
        (None, None, Some(v)) => FrameTest::Size(expected_size(&v, request).map_err(|m| err(".size", m))?),
        _ => return Err(err("", "set exactly one of `equals`, `matches` or `size`".into())),
    };
    Ok(FrameCheck { frame, test })
}

/// The bytes of `equals`: a string or `{ hex = "…" }`.
fn expected_bytes(v: &serde_json::Value) -> Result<Vec<u8>, String> {
    match v {
        serde_json::Value::String(s) if s.contains(PAYLOAD) || s.contains(SEQ) => Err(format!(
            "`{s}`: placeholders are for requests; to check a frame's size against the payload use size = \"{PAYLOAD}\""
        )),
        serde_json::Value::String(s) => Ok(s.as_bytes().to_vec()),
        serde_json::Value::Object(t) if t.len() == 1 && t.get("hex").is_some_and(|h| h.is_string()) => {
            decode_hex(t["hex"].as_str().unwrap_or_default())
        }
        other => Err(format!("expected a string or {{ hex = \"…\" }}, not {other}")),
    }
}

/// Hex digits, two per byte; spaces and `_` may group them.
fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace() && *c != '_').collect();
    hex::decode(&digits).map_err(|e| format!("`{text}` is not hex: {e}; write two digits per byte, such as \"00ff\""))
}

fn expected_size(v: &serde_json::Value, request: Option<&[RequestFrame]>) -> Result<ExpectedSize, String> {
    if v.as_str() == Some(PAYLOAD) {
        return match request {
            Some(frames) if !frames.contains(&RequestFrame::Payload) => Err(format!(
                "the request has no \"{PAYLOAD}\" frame, so no row sends a payload to compare with; add one to \
                 `request`, or give the size in bytes"
            )),
            _ => Ok(ExpectedSize::Payload),
        };
    }
    serde_json::from_value::<Bytes>(v.clone())
        .map(|b| ExpectedSize::Bytes(b.0))
        .map_err(|e| format!("{e}, or \"{PAYLOAD}\" for the row's payload size"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::config::tests::key_of;
    use serde_json::json;

    fn read(frames: serde_json::Value, dir: &Path) -> Result<Vec<RequestFrame>, UserError> {
        request(frames.as_array().unwrap(), "k.request", Path::new("/ws/Cargo.toml"), dir)
    }

    fn message(e: UserError) -> String {
        match e {
            UserError::Config { key, message, .. } => format!("{key}: {message}"),
            other => other.to_string(),
        }
    }

    #[test]
    fn frames_are_read_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("frames")).unwrap();
        std::fs::write(dir.path().join("frames/h.bin"), [0x81, 0xa1, b'v', 1]).unwrap();
        let frames = read(
            json!(["PING", { "hex": "00 ff" }, { "file": "frames/h.bin" }, "{payload}", "id-{seq}!", { "seq": "u64be" }]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            frames,
            vec![
                RequestFrame::Fixed { bytes: b"PING".to_vec(), origin: FrameOrigin::Text },
                RequestFrame::Fixed { bytes: vec![0, 255], origin: FrameOrigin::Hex },
                RequestFrame::Fixed {
                    bytes: vec![0x81, 0xa1, b'v', 1],
                    origin: FrameOrigin::File("frames/h.bin".into())
                },
                RequestFrame::Payload,
                RequestFrame::Counter { pieces: vec!["id-".into(), "!".into()] },
                RequestFrame::Seq(SeqFormat::U64be),
            ]
        );
    }

    #[test]
    fn bad_frames_name_their_key_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let bad = |v: serde_json::Value| message(read(v, dir.path()).unwrap_err());
        let missing = bad(json!(["PING", { "file": "frames/nope.bin" }]));
        assert!(missing.starts_with("k.request[1].file: cannot read the frame file "), "{missing}");
        assert!(missing.contains(&dir.path().join("frames/nope.bin").display().to_string()), "{missing}");
        let hex = bad(json!([{ "hex": "0g" }]));
        assert!(hex.starts_with("k.request[0].hex: `0g` is not hex: ") && hex.contains("two digits per byte"), "{hex}");
        assert!(bad(json!([{ "hex": "abc" }])).contains("is not hex"));
        assert!(bad(json!(["x{payload}"])).starts_with("k.request[0]: `x{payload}`: \"{payload}\" stands for"));
        assert!(bad(json!([{ "seq": "u16" }])).starts_with("k.request[0].seq: \"u16\" is not a counter encoding"));
        assert!(bad(json!([{ "hexx": "00" }])).starts_with("k.request[0].hexx: unknown frame form `hexx`"));
        assert!(bad(json!([1])).starts_with("k.request[0]: 1 is not a frame"));
        assert!(bad(json!([])).starts_with("k.request: the request has no frames"));
    }

    #[test]
    fn replies_are_checked_against_the_request_they_answer() {
        let m = Path::new("/ws/Cargo.toml");
        let with_payload = [RequestFrame::Payload];
        let ping = [RequestFrame::Fixed { bytes: b"PING".to_vec(), origin: FrameOrigin::Text }];
        let cfg = reply(
            &json!({ "frames": 3, "check": [
                { "frame": 0, "equals": "ECHO" }, { "frame": 1, "equals": { "hex": "81" } },
                { "frame": 0, "matches": "^(ECHO|PONG)$" }, { "frame": 2, "size": "{payload}" }, { "frame": 2, "size": "1KiB" }
            ] }),
            "k.reply",
            m,
            Some(&with_payload),
        )
        .unwrap();
        assert_eq!(cfg.frames, Some(3));
        assert_eq!(cfg.checks[1].test, FrameTest::Equals(vec![0x81]));
        assert_eq!(cfg.checks[3].test, FrameTest::Size(ExpectedSize::Payload));
        assert_eq!(cfg.checks[4].test, FrameTest::Size(ExpectedSize::Bytes(1024)));
        let bad = |v: serde_json::Value, request: &[RequestFrame]| {
            key_of(reply(&v, "k.reply", m, Some(request)).unwrap_err())
        };
        assert_eq!(bad(json!({ "frames": 2, "check": [{ "frame": 2, "size": 4 }] }), &ping), "k.reply.check[0].frame");
        assert_eq!(bad(json!({ "check": [{ "frame": 0, "matches": "(" }] }), &ping), "k.reply.check[0].matches");
        assert_eq!(bad(json!({ "check": [{ "frame": 0, "size": "{payload}" }] }), &ping), "k.reply.check[0].size");
        assert_eq!(
            bad(json!({ "check": [{ "frame": 0, "size": "{payload}", "equals": "x" }] }), &ping),
            "k.reply.check[0]"
        );
        assert_eq!(bad(json!({ "check": [{ "frame": 0, "equals": "{payload}" }] }), &ping), "k.reply.check[0].equals");
        assert_eq!(
            bad(json!({ "check": [{ "frame": 0, "equals": { "hex": "zz" } }] }), &ping),
            "k.reply.check[0].equals"
        );
        assert_eq!(bad(json!({ "frames": 0 }), &ping), "k.reply.frames");
        assert_eq!(bad(json!({}), &ping), "k.reply");
        assert_eq!(bad(json!({ "check": [{ "frame": 0, "equal": "x" }] }), &ping), "k.reply.check[0].equal");
        // Without a request, the payload is the request: its size can be checked.
        reply(&json!({ "check": [{ "frame": 0, "size": "{payload}" }] }), "k.reply", m, None).unwrap();
    }
}
