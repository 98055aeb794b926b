//! The ZeroMQ suite's built-in processes (`suites::role`): the echo server, the floor every user
//! server is shown beside, and a pipeline stage.

use super::codec::Codec;
use super::echo::{EchoConfig, EchoServer, Pattern};
use super::stage::Stage;
use crate::measure::kind::Role;
use crate::suites::role::{announce, option};

/// `echo` and `stage`.
pub const ROLES: &[Role] = &[Role { name: "echo", main: echo }, Role { name: "stage", main: stage }];

/// Where a role binds unless `--bind` says.
const DEFAULT_BIND: &str = "tcp://127.0.0.1:*";

/// A REP, ROUTER or PULL server that answers with what it got (`--pattern`), optionally
/// decompressing and compressing again (`--codec`), after a delay (`--delay-us`), over CURVE
/// (`--curve-secret`).
fn echo(args: &[String]) -> Result<(), String> {
    let pattern = match option(args, "--pattern").unwrap_or("rep") {
        "rep" => Pattern::Rep,
        "router" => Pattern::Router,
        "pull" => Pattern::Pull,
        other => return Err(format!("unknown pattern `{other}`")),
    };
    let codec = match option(args, "--codec") {
        Some(name) => Codec::parse(name).ok_or_else(|| format!("unknown codec `{name}`"))?,
        None => Codec::None,
    };
    let delay_us: u64 =
        option(args, "--delay-us").map(|d| d.parse().map_err(|_| "bad --delay-us")).transpose()?.unwrap_or(0);
    let cfg = EchoConfig {
        pattern,
        codec,
        delay: std::time::Duration::from_micros(delay_us),
        curve_secret: option(args, "--curve-secret").map(str::to_string),
    };
    let ctx = zmq::Context::new();
    let bind = option(args, "--bind").unwrap_or(DEFAULT_BIND);
    let server = EchoServer::bind(&ctx, &cfg, bind, option(args, "--ack"))?;
    announce(&server.endpoints())?;
    server.serve(&cfg, None)
}

/// A PUSH/PULL pipeline stage that forwards to `--connect NEXT`.
fn stage(args: &[String]) -> Result<(), String> {
    let next = option(args, "--connect").ok_or("a stage needs --connect NEXT")?;
    let ctx = zmq::Context::new();
    let stage = Stage::bind(&ctx, option(args, "--bind").unwrap_or(DEFAULT_BIND), next)?;
    announce(std::slice::from_ref(&stage.endpoint))?;
    stage.forward()
}
