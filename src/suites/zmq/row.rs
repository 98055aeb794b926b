//! A row of the ZeroMQ suite as planned: what its rounds do, the server it measures, and how it
//! runs and is judged. The rows are made from the configuration in `rows`, run by `bench`
//! against what `runtime` starts.

use std::sync::Arc;
use std::time::Duration;

use super::codec::{Codec, Data};
use super::metrics::Shape;
use crate::measure::bench::{BenchId, Settings};
use crate::results::Readiness;
use crate::suites::zmq::config::message::{ReplyConfig, RequestFrame};
use crate::suites::zmq::config::Transport;
use crate::suites::zmq::echo::Pattern;
use crate::suites::UserCommand;

/// The client side of a throughput row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Client {
    /// One REQ socket, one request at a time.
    ReqRep,
    /// One DEALER socket with this many requests outstanding.
    Dealer(u32),
    /// One PUSH socket, one-way.
    Push,
    /// This many REQ sockets on threads of their own.
    Many(u32),
}

/// What one round of a row does.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Closed-loop messages per second.
    Throughput { client: Client, payload: usize, codec: Codec, data: Data },
    /// Open-loop latency at a rate.
    Latency { rate: f64, payload: usize, duration: Duration },
    /// Sequential requests, kept as a time series.
    Tail { requests: u32, payload: usize },
    /// A chain of built-in stage workers.
    Pipeline { stages: u32 },
    /// Fresh connections timed to their first answer.
    Handshake { connections: u32 },
}

/// A user's server, as a row starts it.
#[derive(Debug, Clone)]
pub struct UserServer {
    /// What runs.
    pub command: UserCommand,
    /// Where it listens.
    pub endpoint: String,
    /// What says it is ready.
    pub ready: Readiness,
    /// How long it may take.
    pub timeout: Duration,
    /// The frames of one request in its own format (`request`), when it has one.
    pub request: Option<Arc<Vec<RequestFrame>>>,
    /// What a good reply looks like (`reply`), when said.
    pub reply: Option<Arc<ReplyConfig>>,
}

/// The server a row measures.
#[derive(Debug, Clone)]
pub enum ServerDef {
    /// The built-in echo worker.
    Builtin { pattern: Pattern, transport: Transport, codec: Codec, curve: bool },
    /// The user's server.
    User(Box<UserServer>),
    /// None: the row starts its own workers (pipelines).
    None,
}

/// A row of the suite, as planned.
#[derive(Debug, Clone)]
pub struct ZmqRow {
    /// Its id.
    pub id: BenchId,
    /// How it runs and is judged.
    pub settings: Settings,
    /// What a round does.
    pub scenario: Scenario,
    /// Its server.
    pub server: ServerDef,
    /// How long a closed-loop round sends.
    pub round: Duration,
    /// The built-in row a user's row is measured against.
    pub reference: Option<String>,
    /// Which metrics it has.
    pub shape: Shape,
    /// Why it cannot run here (CURVE without a libzmq that has it).
    pub skip: Option<String>,
    /// The scenario group it was made for (`--scenario`), set when the rows are made.
    pub group: Option<super::scenarios::Group>,
}
