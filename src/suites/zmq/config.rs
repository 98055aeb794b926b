//! `[package.metadata.bench.zmq]`: the ZeroMQ suite's shape. Every key is optional; an empty table
//! runs every scenario against the built-in echo worker. `server` is one table or an array of
//! them; each server's own message format (`request`, `reply`) is read in [`message`].

pub mod message;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::discover::config::{
    check_count, check_duration, config_error, parse_value, program, validate_ready, ProgramConfig, RawProgram,
    RawReady, Ready,
};
use crate::error::UserError;
use crate::suites::zmq::codec::{Codec, Data};
use crate::units::{Bytes, UserDuration};
use message::{ReplyConfig, RequestFrame};

const PREFIX: &str = "package.metadata.bench.zmq";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawZmq {
    /// One server table or an array of them: read in [`servers`].
    server: Option<serde_json::Value>,
    payload_sizes: Option<Vec<Bytes>>,
    clients: Option<Vec<u32>>,
    rates: Option<Vec<f64>>,
    duration: Option<UserDuration>,
    round: Option<UserDuration>,
    window: Option<u32>,
    iterations: Option<u32>,
    latency_rate: Option<f64>,
    latency_payload_sizes: Option<Vec<Bytes>>,
    tail_requests: Option<u32>,
    pipeline_stages: Option<Vec<u32>>,
    compression: Option<Vec<Codec>>,
    payload: Option<Data>,
    transports: Option<Vec<Transport>>,
    curve: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawServer {
    bin: Option<String>,
    command: Option<Vec<String>>,
    name: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    endpoint: String,
    ready: Option<RawReady>,
    pattern: Option<ServerPattern>,
    timeout: Option<UserDuration>,
    request: Option<Vec<serde_json::Value>>,
    reply: Option<serde_json::Value>,
}

/// A transport the built-in worker is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// TCP on the loopback interface.
    Tcp,
    /// A Unix domain socket.
    Ipc,
    /// Within one process (the built-in worker runs as a thread).
    Inproc,
}

impl Transport {
    /// `tcp`, `ipc`, `inproc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }
}

/// The socket a user's server binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerPattern {
    /// REP: request/reply, one at a time.
    Rep,
    /// ROUTER: request/reply with many outstanding.
    Router,
    /// PULL: one-way.
    Pull,
}

/// A user's server, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// What runs, and its name in ids (`server=NAME`).
    pub program: ProgramConfig,
    /// Where it listens: `tcp://127.0.0.1:PORT` (or `localhost`, `[::1]`) or `ipc://PATH`.
    pub endpoint: String,
    /// What says it is ready; without it, a connection to the endpoint.
    pub ready: Option<Ready>,
    /// Its socket.
    pub pattern: ServerPattern,
    /// How long it may take to get ready.
    pub timeout: Option<Duration>,
    /// The frames of one request in its own format; without it, the payload as one frame, and
    /// the reply must echo it.
    pub request: Option<Vec<RequestFrame>>,
    /// What a good reply looks like; without it, any reply (or, without `request`, an echo).
    pub reply: Option<ReplyConfig>,
}

/// The validated table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZmqConfig {
    /// Users' servers, measured beside the built-in worker and each other.
    pub servers: Vec<ServerConfig>,
    /// Payload sizes of the throughput scenario, in bytes.
    pub payload_sizes: Option<Vec<u64>>,
    /// Client counts of the clients scenario.
    pub clients: Option<Vec<u32>>,
    /// Request rates of the latency-under-load scenario, per second.
    pub rates: Option<Vec<f64>>,
    /// How long each latency round sends.
    pub duration: Option<Duration>,
    /// How long each throughput round sends.
    pub round: Option<Duration>,
    /// Outstanding requests of DEALER/ROUTER.
    pub window: Option<u32>,
    /// Measured rounds per row.
    pub iterations: Option<u32>,
    /// The rate of the latency-by-payload scenario, per second.
    pub latency_rate: Option<f64>,
    /// Payload sizes of the latency-by-payload scenario.
    pub latency_payload_sizes: Option<Vec<u64>>,
    /// Requests of the tail-latency scenario.
    pub tail_requests: Option<u32>,
    /// Stage counts of the pipeline scenario.
    pub pipeline_stages: Option<Vec<u32>>,
    /// Codecs of the compression scenario.
    pub compression: Option<Vec<Codec>>,
    /// What the compressed payloads hold.
    pub payload: Option<Data>,
    /// Transports of the built-in worker.
    pub transports: Option<Vec<Transport>>,
    /// Whether to measure CURVE (when libzmq has it).
    pub curve: Option<bool>,
}

/// Reads and validates `[package.metadata.bench.zmq]`; `package_dir` is where relative paths resolve.
pub fn parse(
    value: &serde_json::Value,
    manifest: &Path,
    package_dir: &Path,
    bins: &[String],
) -> Result<ZmqConfig, UserError> {
    let raw: RawZmq = parse_value(value, PREFIX, manifest)?;
    let err = |key: &str, message: String| config_error(format!("{PREFIX}.{key}"), manifest, message);
    let positive =
        |key: &str, v: Option<u32>, min: u32, max: u32| check_count(&format!("{PREFIX}.{key}"), v, min, max, manifest);
    positive("window", raw.window, 1, 100_000)?;
    positive("iterations", raw.iterations, 1, 1000)?;
    positive("tail-requests", raw.tail_requests, 10, 10_000_000)?;
    for (i, c) in raw.clients.iter().flatten().enumerate() {
        positive(&format!("clients[{i}]"), Some(*c), 1, 1000)?;
    }
    for (i, s) in raw.pipeline_stages.iter().flatten().enumerate() {
        positive(&format!("pipeline-stages[{i}]"), Some(*s), 1, 64)?;
    }
    for (i, r) in raw.rates.iter().flatten().chain(raw.latency_rate.iter()).enumerate() {
        if !(r.is_finite() && *r > 0.0 && *r <= 10_000_000.0) {
            let key =
                if i < raw.rates.as_ref().map_or(0, Vec::len) { format!("rates[{i}]") } else { "latency-rate".into() };
            return Err(err(&key, format!("{r} is not a rate per second above 0")));
        }
    }
    let sizes = |key: &str, v: Option<Vec<Bytes>>| -> Result<Option<Vec<u64>>, UserError> {
        let Some(v) = v else { return Ok(None) };
        for (i, b) in v.iter().enumerate() {
            if b.0 == 0 || b.0 > 256 << 20 {
                return Err(err(&format!("{key}[{i}]"), format!("{} bytes is out of range: use 1 B to 256 MiB", b.0)));
            }
        }
        Ok(Some(v.into_iter().map(|b| b.0).collect()))
    };
    for (key, d) in [("duration", raw.duration), ("round", raw.round)] {
        check_duration(&format!("{PREFIX}.{key}"), d.map(|d| d.0), Duration::from_secs(600), manifest)?;
    }
    let servers = match &raw.server {
        Some(value) => servers(value, manifest, package_dir, bins)?,
        None => Vec::new(),
    };
    Ok(ZmqConfig {
        servers,
        payload_sizes: sizes("payload-sizes", raw.payload_sizes)?,
        clients: raw.clients,
        rates: raw.rates,
        duration: raw.duration.map(|d| d.0),
        round: raw.round.map(|d| d.0),
        window: raw.window,
        iterations: raw.iterations,
        latency_rate: raw.latency_rate,
        latency_payload_sizes: sizes("latency-payload-sizes", raw.latency_payload_sizes)?,
        tail_requests: raw.tail_requests,
        pipeline_stages: raw.pipeline_stages,
        compression: raw.compression,
        payload: raw.payload,
        transports: raw.transports,
        curve: raw.curve,
    })
}

/// `server`: one table (`server = { … }`) or an array of tables (`[[….zmq.server]]`), each
/// with a name of its own.
fn servers(
    value: &serde_json::Value,
    manifest: &Path,
    package_dir: &Path,
    bins: &[String],
) -> Result<Vec<ServerConfig>, UserError> {
    let key = format!("{PREFIX}.server");
    let Some(tables) = value.as_array() else {
        return Ok(vec![validate_server(value, key, manifest, package_dir, bins)?]);
    };
    if tables.is_empty() {
        return Err(config_error(
            key,
            manifest,
            "the array of servers is empty: give at least one, or leave `server` out",
        ));
    }
    let servers = tables
        .iter()
        .enumerate()
        .map(|(i, t)| validate_server(t, format!("{key}[{i}]"), manifest, package_dir, bins))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, server) in servers.iter().enumerate() {
        if let Some(first) = servers[..i].iter().find(|s| s.program.name == server.program.name) {
            return Err(config_error(
                format!("{}.name", server.program.key),
                manifest,
                format!(
                    "`{}` is also the name of `{}`: every server needs a `name` of its own (it is `server=NAME` in ids)",
                    server.program.name, first.program.key
                ),
            ));
        }
    }
    Ok(servers)
}

fn validate_server(
    value: &serde_json::Value,
    key: String,
    manifest: &Path,
    package_dir: &Path,
    bins: &[String],
) -> Result<ServerConfig, UserError> {
    let raw: RawServer = parse_value(value, &key, manifest)?;
    let raw_program = RawProgram { bin: raw.bin, command: raw.command, name: raw.name, args: raw.args, env: raw.env };
    let program = program(raw_program, &key, manifest, bins)?;
    check_endpoint(&raw.endpoint).map_err(|why| config_error(format!("{key}.endpoint"), manifest, why))?;
    let ready = raw.ready.map(|r| validate_ready(r, &format!("{key}.ready"), manifest, package_dir)).transpose()?;
    let pattern = raw.pattern.unwrap_or(ServerPattern::Rep);
    let request =
        raw.request.map(|r| message::request(&r, &format!("{key}.request"), manifest, package_dir)).transpose()?;
    let reply = match raw.reply {
        Some(_) if pattern == ServerPattern::Pull => {
            return Err(config_error(
                format!("{key}.reply"),
                manifest,
                "a `pull` server never replies: leave `reply` out, or set `pattern` to \"rep\" or \"router\"",
            ))
        }
        Some(v) => Some(message::reply(&v, &format!("{key}.reply"), manifest, request.as_deref())?),
        None => None,
    };
    Ok(ServerConfig {
        program,
        endpoint: raw.endpoint,
        ready,
        pattern,
        timeout: raw.timeout.map(|d| d.0),
        request,
        reply,
    })
}

/// Only loopback TCP and IPC: the suite never sends traffic off this machine.
fn check_endpoint(endpoint: &str) -> Result<(), String> {
    if let Some(path) = endpoint.strip_prefix("ipc://") {
        return if path.is_empty() { Err("the ipc path is empty".into()) } else { Ok(()) };
    }
    let Some(rest) = endpoint.strip_prefix("tcp://") else {
        return Err(format!("`{endpoint}` is not a tcp:// or ipc:// endpoint, such as \"tcp://127.0.0.1:5555\""));
    };
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| format!("`{endpoint}` has no port"))?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{endpoint}` needs a port number (not 0 or *)"))?;
    if !["127.0.0.1", "localhost", "[::1]"].contains(&host) {
        return Err(format!("`{endpoint}` is not on this machine's loopback: use 127.0.0.1, localhost or [::1]"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::config::tests::key_of;
    use serde_json::json;

    fn parse_zmq(v: serde_json::Value) -> Result<ZmqConfig, UserError> {
        parse(&v, Path::new("/ws/Cargo.toml"), Path::new("/ws"), &["echo-server".to_string()])
    }

    #[test]
    fn an_empty_table_is_every_default() {
        assert_eq!(parse_zmq(json!({})).unwrap(), ZmqConfig::default());
    }

    #[test]
    fn servers_sizes_and_endpoints_are_checked_with_their_key() {
        let cfg = parse_zmq(json!({
            "server": { "bin": "echo-server", "endpoint": "tcp://127.0.0.1:5555", "pattern": "router" },
            "payload-sizes": [64, "1KiB"], "compression": ["none", "zstd"], "transports": ["tcp", "ipc"]
        }))
        .unwrap();
        let server = &cfg.servers[0];
        assert_eq!((server.program.name.as_str(), server.pattern), ("echo-server", ServerPattern::Router));
        assert_eq!((server.request.as_ref(), server.reply.as_ref()), (None, None));
        assert_eq!(cfg.payload_sizes, Some(vec![64, 1024]));
        let bad = |v| key_of(parse_zmq(v).unwrap_err());
        assert_eq!(
            bad(json!({ "server": { "bin": "nope", "endpoint": "tcp://127.0.0.1:1" } })),
            "package.metadata.bench.zmq.server.bin"
        );
        assert_eq!(
            bad(json!({ "server": { "command": ["x"], "endpoint": "tcp://10.0.0.1:5555" } })),
            "package.metadata.bench.zmq.server.endpoint"
        );
        assert_eq!(
            bad(json!({ "server": { "command": ["x"], "endpoint": "tcp://127.0.0.1:*" } })),
            "package.metadata.bench.zmq.server.endpoint"
        );
        assert_eq!(bad(json!({ "payload-sizes": [0] })), "package.metadata.bench.zmq.payload-sizes[0]");
        assert_eq!(bad(json!({ "compression": ["gzip"] })), "package.metadata.bench.zmq.compression[0]");
        assert_eq!(bad(json!({ "rates": [100, -5] })), "package.metadata.bench.zmq.rates[1]");
        assert_eq!(bad(json!({ "clients": [0] })), "package.metadata.bench.zmq.clients[0]");
        assert_eq!(bad(json!({ "iterations": 0 })), "package.metadata.bench.zmq.iterations");
        assert_eq!(bad(json!({ "servr": {} })), "package.metadata.bench.zmq.servr");
    }

    #[test]
    fn servers_may_be_an_array_with_a_name_each_and_their_own_messages() {
        let server = |name: &str, port: u16| {
            json!({ "command": ["python3", "rpc.py"], "name": name, "endpoint": format!("tcp://127.0.0.1:{port}"),
                    "pattern": "router", "request": ["PING", "{payload}"], "reply": { "frames": 1 } })
        };
        let cfg = parse_zmq(json!({ "server": [server("fast", 5555), server("slow", 5556)] })).unwrap();
        let names: Vec<&str> = cfg.servers.iter().map(|s| s.program.name.as_str()).collect();
        assert_eq!(names, ["fast", "slow"]);
        assert_eq!(cfg.servers[1].program.key, "package.metadata.bench.zmq.server[1]");
        assert_eq!(cfg.servers[1].request.as_ref().unwrap()[1], message::RequestFrame::Payload);
        let bad = |v| key_of(parse_zmq(v).unwrap_err());
        assert_eq!(
            bad(json!({ "server": [server("a", 5555), server("a", 5556)] })),
            "package.metadata.bench.zmq.server[1].name"
        );
        assert_eq!(bad(json!({ "server": [] })), "package.metadata.bench.zmq.server");
        let mut hex = server("a", 5555);
        hex["request"] = json!(["PING", { "hex": "zz" }]);
        assert_eq!(
            bad(json!({ "server": [server("b", 5556), hex] })),
            "package.metadata.bench.zmq.server[1].request[1].hex"
        );
        let pull =
            json!({ "command": ["x"], "endpoint": "tcp://127.0.0.1:1", "pattern": "pull", "reply": { "frames": 1 } });
        assert_eq!(bad(json!({ "server": pull })), "package.metadata.bench.zmq.server.reply");
        let typo = json!({ "command": ["x"], "endpoint": "tcp://127.0.0.1:1", "requests": [] });
        assert_eq!(bad(json!({ "server": typo })), "package.metadata.bench.zmq.server.requests");
    }
}
