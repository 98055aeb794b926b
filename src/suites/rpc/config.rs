//! `[package.metadata.bench.rpc]`: the RPC suite's shape. Every key is optional; an empty table
//! runs every call, pattern and scaling row against the built-in worker.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::discover::config::{
    check_count, check_duration, config_error, parse_value, program, ProgramConfig, RawProgram,
};
use crate::error::UserError;
use crate::units::{Bytes, UserDuration};

const PREFIX: &str = "package.metadata.bench.rpc";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRpc {
    worker: Option<RawProgram>,
    calls: Option<Vec<RawCall>>,
    transport: Option<OneOrMany<String>>,
    count: Option<u32>,
    warmup: Option<u32>,
    iterations: Option<u32>,
    depth: Option<u32>,
    workers: Option<Vec<u32>>,
    fan_out: Option<u32>,
    timeout: Option<UserDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCall {
    method: String,
    payload: Option<Bytes>,
}

/// How the host talks to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RpcTransport {
    /// A ZeroMQ DEALER pair over a Unix domain socket.
    Ipc,
    /// A ZeroMQ DEALER pair over loopback TCP.
    Tcp,
    /// The worker's stdin and stdout.
    Stdio,
}

impl RpcTransport {
    const ALL: [RpcTransport; 3] = [RpcTransport::Ipc, RpcTransport::Tcp, RpcTransport::Stdio];

    /// `ipc`, `tcp`, `stdio`.
    pub fn as_str(self) -> &'static str {
        match self {
            RpcTransport::Ipc => "ipc",
            RpcTransport::Tcp => "tcp",
            RpcTransport::Stdio => "stdio",
        }
    }
}

/// A method of the user's worker to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct CallConfig {
    /// The method's name.
    pub method: String,
    /// The size of the argument sent (zero bytes when not given).
    pub payload: u64,
}

/// The validated table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RpcConfig {
    /// The user's worker, measured beside the built-in one.
    pub worker: Option<ProgramConfig>,
    /// The user's methods to call.
    pub calls: Vec<CallConfig>,
    /// Transports, in order; `ipc` when not given.
    pub transports: Option<Vec<RpcTransport>>,
    /// Calls per measured round.
    pub count: Option<u32>,
    /// Calls before the first round.
    pub warmup: Option<u32>,
    /// Measured rounds per row.
    pub iterations: Option<u32>,
    /// The deepest chain.
    pub depth: Option<u32>,
    /// Worker counts of the scaling rows.
    pub workers: Option<Vec<u32>>,
    /// Workers called at once.
    pub fan_out: Option<u32>,
    /// How long a call may wait for its reply (and a worker to start).
    pub timeout: Option<Duration>,
}

/// Reads and validates `[package.metadata.bench.rpc]`.
pub fn parse(value: &serde_json::Value, manifest: &Path, bins: &[String]) -> Result<RpcConfig, UserError> {
    let raw: RawRpc = parse_value(value, PREFIX, manifest)?;
    let err = |key: &str, message: String| config_error(format!("{PREFIX}.{key}"), manifest, message);
    let range =
        |key: &str, v: Option<u32>, min: u32, max: u32| check_count(&format!("{PREFIX}.{key}"), v, min, max, manifest);
    range("count", raw.count, 1, 10_000_000)?;
    range("warmup", raw.warmup, 0, 1_000_000)?;
    range("iterations", raw.iterations, 1, 1000)?;
    range("depth", raw.depth, 1, 64)?;
    range("fan-out", raw.fan_out, 1, 64)?;
    for (i, n) in raw.workers.iter().flatten().enumerate() {
        range(&format!("workers[{i}]"), Some(*n), 1, 1000)?;
    }
    check_duration(&format!("{PREFIX}.timeout"), raw.timeout.map(|t| t.0), Duration::from_secs(3600), manifest)?;
    let transports = raw
        .transport
        .map(|t| match t {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        })
        .map(|names| {
            if names.is_empty() {
                return Err(err(
                    "transport",
                    "the list is empty: name at least one of \"ipc\", \"tcp\", \"stdio\"".into(),
                ));
            }
            let known = |name: &String| RpcTransport::ALL.into_iter().find(|t| t.as_str() == name);
            names
                .iter()
                .map(|name| {
                    known(name).ok_or_else(|| {
                        err("transport", format!("unknown transport `{name}`: use \"ipc\", \"tcp\" or \"stdio\""))
                    })
                })
                .collect()
        })
        .transpose()?;
    let worker = raw.worker.map(|w| program(w, &format!("{PREFIX}.worker"), manifest, bins)).transpose()?;
    let calls: Vec<CallConfig> = raw
        .calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            if c.method.is_empty() || c.method.chars().any(char::is_control) {
                return Err(err(&format!("calls[{i}].method"), format!("`{}` is not a method name", c.method)));
            }
            let payload = c.payload.map_or(0, |b| b.0);
            if payload > 4 << 30 {
                return Err(err(
                    &format!("calls[{i}].payload"),
                    format!("{payload} bytes is over the 4 GiB a call may carry"),
                ));
            }
            Ok(CallConfig { method: c.method, payload })
        })
        .collect::<Result<_, _>>()?;
    if !calls.is_empty() && worker.is_none() {
        return Err(err(
            "calls",
            "calls name methods of your worker, and there is no `worker`: add `worker = { bin = \"NAME\" }`".into(),
        ));
    }
    Ok(RpcConfig {
        worker,
        calls,
        transports,
        count: raw.count,
        warmup: raw.warmup,
        iterations: raw.iterations,
        depth: raw.depth,
        workers: raw.workers,
        fan_out: raw.fan_out,
        timeout: raw.timeout.map(|t| t.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::config::tests::key_of;
    use serde_json::json;

    fn parse_rpc(v: serde_json::Value) -> Result<RpcConfig, UserError> {
        parse(&v, Path::new("/ws/Cargo.toml"), &["my-worker".to_string()])
    }

    #[test]
    fn an_empty_table_is_every_default() {
        assert_eq!(parse_rpc(json!({})).unwrap(), RpcConfig::default());
    }

    #[test]
    fn workers_calls_and_transports_are_checked_with_their_key() {
        let cfg = parse_rpc(json!({
            "worker": { "bin": "my-worker" },
            "calls": [{ "method": "resize", "payload": "1KiB" }, { "method": "ping" }],
            "transport": "stdio", "workers": [1, 4]
        }))
        .unwrap();
        assert_eq!(cfg.worker.unwrap().name, "my-worker");
        assert_eq!(cfg.calls[0], CallConfig { method: "resize".into(), payload: 1024 });
        assert_eq!(cfg.calls[1].payload, 0);
        assert_eq!(cfg.transports, Some(vec![RpcTransport::Stdio]));
        let both = parse_rpc(json!({ "transport": ["ipc", "tcp"] })).unwrap();
        assert_eq!(both.transports, Some(vec![RpcTransport::Ipc, RpcTransport::Tcp]));
        let bad = |v| key_of(parse_rpc(v).unwrap_err());
        assert_eq!(bad(json!({ "worker": { "bin": "nope" } })), "package.metadata.bench.rpc.worker.bin");
        assert_eq!(bad(json!({ "calls": [{ "method": "x" }] })), "package.metadata.bench.rpc.calls");
        assert_eq!(bad(json!({ "transport": "udp" })), "package.metadata.bench.rpc.transport");
        let unknown = parse_rpc(json!({ "transport": ["ipc", "udp"] })).unwrap_err().to_string();
        assert!(unknown.contains("unknown transport `udp`: use \"ipc\", \"tcp\" or \"stdio\""), "{unknown}");
        assert!(unknown.contains("/ws/Cargo.toml"), "{unknown}");
        assert_eq!(bad(json!({ "workers": [0] })), "package.metadata.bench.rpc.workers[0]");
        assert_eq!(bad(json!({ "depth": 100 })), "package.metadata.bench.rpc.depth");
        assert_eq!(bad(json!({ "wrkers": [1] })), "package.metadata.bench.rpc.wrkers");
    }
}
