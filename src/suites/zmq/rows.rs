//! The rows of the ZeroMQ suite, from `[package.metadata.bench.zmq]` and the command line: every
//! scenario against the built-in echo worker (the floor), and the same scenarios against the
//! user's server, each user row naming the built-in row it is measured against.

use std::time::Duration;

use super::codec::{Codec, Data};
use super::metrics::Shape;
use super::row::{Client, Scenario, ServerDef, UserServer, ZmqRow};
pub use super::scenarios::Group;
use crate::measure::bench::{BenchId, Param, ParamValue, Settings};
use crate::results::{Bound, Limit, Stat, Unit};
use crate::suites::zmq::config::message::RequestFrame;
use crate::suites::zmq::config::{ServerPattern, Transport, ZmqConfig};
use crate::suites::zmq::echo::Pattern;

/// The sizes of every scenario: the configuration's, else the defaults (smaller with `--quick`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sizes {
    /// Payload sizes of the throughput rows.
    pub payloads: Vec<u64>,
    /// Client counts.
    pub clients: Vec<u32>,
    /// Rates of the latency rows.
    pub rates: Vec<f64>,
    /// How long a latency round sends.
    pub duration: Duration,
    /// How long a throughput round sends.
    pub round: Duration,
    /// DEALER's outstanding requests.
    pub window: u32,
    /// Rate of the latency-by-payload rows.
    pub latency_rate: f64,
    /// Payload sizes of the latency-by-payload rows.
    pub latency_payloads: Vec<u64>,
    /// Requests of the tail row.
    pub tail: u32,
    /// Stage counts of the pipelines.
    pub stages: Vec<u32>,
    /// Codecs.
    pub codecs: Vec<Codec>,
    /// What compressed payloads hold.
    pub data: Data,
    /// Transports of the built-in worker.
    pub transports: Vec<Transport>,
    /// Whether CURVE rows are planned.
    pub curve: bool,
    /// Connections per handshake round.
    pub handshakes: u32,
}

/// Payload sizes of the compression × CURVE matrix.
pub const MATRIX_PAYLOADS: [u64; 2] = [1024, 100 * 1024];

impl Sizes {
    /// The configured sizes, with defaults for what it leaves out.
    pub fn new(cfg: &ZmqConfig, quick: bool) -> Sizes {
        let pick = |full: Duration, short: Duration| if quick { short } else { full };
        Sizes {
            payloads: cfg.payload_sizes.clone().unwrap_or_else(|| {
                if quick {
                    vec![64, 16 << 10, 1 << 20]
                } else {
                    vec![64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20]
                }
            }),
            clients: cfg.clients.clone().unwrap_or_else(|| {
                if quick {
                    vec![1, 10, 100]
                } else {
                    vec![1, 2, 5, 10, 20, 50, 100]
                }
            }),
            rates: cfg.rates.clone().unwrap_or_else(|| {
                if quick {
                    vec![100.0, 1000.0, 5000.0]
                } else {
                    vec![100.0, 500.0, 1000.0, 2000.0, 5000.0]
                }
            }),
            // Short rounds against many fresh servers: a server process's own quirks move a row
            // more than a longer round steadies it (BENCHMARKS.md, "Suite comparisons you can
            // gate on"), so the time goes to more processes (`processes`).
            duration: cfg.duration.unwrap_or(pick(Duration::from_millis(500), Duration::from_millis(200))),
            round: cfg.round.unwrap_or(pick(Duration::from_millis(200), Duration::from_millis(60))),
            window: cfg.window.unwrap_or(100),
            latency_rate: cfg.latency_rate.unwrap_or(500.0),
            latency_payloads: cfg.latency_payload_sizes.clone().unwrap_or_else(|| {
                if quick {
                    vec![64, 16 << 10]
                } else {
                    vec![64, 1 << 10, 16 << 10, 256 << 10]
                }
            }),
            tail: cfg.tail_requests.unwrap_or(if quick { 2000 } else { 10_000 }),
            stages: cfg.pipeline_stages.clone().unwrap_or_else(|| vec![3, 10]),
            codecs: cfg
                .compression
                .clone()
                .unwrap_or_else(|| vec![Codec::None, Codec::Snappy, Codec::Lz4, Codec::Zstd]),
            data: cfg.payload.unwrap_or(Data::Text),
            // `--quick` leaves out inproc: a thread of coldbench itself, which no change of
            // yours can move, and a pre-push hook has no time for.
            transports: cfg.transports.clone().unwrap_or_else(|| {
                if quick {
                    vec![Transport::Tcp, Transport::Ipc]
                } else {
                    vec![Transport::Tcp, Transport::Ipc, Transport::Inproc]
                }
            }),
            curve: cfg.curve.unwrap_or(true),
            handshakes: if quick { 20 } else { 100 },
        }
    }
}

/// What the rows of one package are made from.
pub struct RowsInput<'a> {
    /// The package.
    pub package: &'a str,
    /// Sizes of the scenarios.
    pub sizes: Sizes,
    /// The groups asked for; all when empty.
    pub groups: &'a [Group],
    /// How every row runs and is judged.
    pub settings: Settings,
    /// The users' servers, in configuration order.
    pub users: Vec<UserRows>,
    /// Why CURVE rows cannot run here, when they cannot.
    pub no_curve: Option<String>,
}

/// A user's server, as its rows need it.
pub struct UserRows {
    /// Its name in ids (`server=NAME`).
    pub name: String,
    /// Its socket.
    pub pattern: ServerPattern,
    /// How it is started, and what it is sent.
    pub server: UserServer,
}

fn text(name: &str, v: &str) -> Param {
    Param { name: name.into(), value: ParamValue::Text(v.into()), unit: None }
}

fn number(name: &str, v: f64, unit: Unit) -> Param {
    Param { name: name.into(), value: ParamValue::Number(v), unit: Some(unit) }
}

fn client_name(c: Client) -> &'static str {
    match c {
        Client::ReqRep | Client::Many(_) => "req-rep",
        Client::Dealer(_) => "dealer-router",
        Client::Push => "push-pull",
    }
}

/// The built-in server a client pattern talks to.
fn builtin_pattern(c: Client) -> Pattern {
    match c {
        Client::ReqRep | Client::Many(_) => Pattern::Rep,
        Client::Dealer(_) => Pattern::Router,
        Client::Push => Pattern::Pull,
    }
}

/// Who serves a row, as its first parameters say.
struct Who<'a> {
    name: &'a str,
    transport: Transport,
}

/// A user's server as its rows are made: who it is in ids, its socket, how it is started.
type User<'a> = (Who<'a>, ServerPattern, &'a UserServer);

/// The rows, in report order: per scenario the built-in rows, then the user's.
pub fn rows(input: &RowsInput) -> Vec<ZmqRow> {
    let users: Vec<User> = input
        .users
        .iter()
        .map(|u| (Who { name: &u.name, transport: transport_of(&u.server.endpoint) }, u.pattern, &u.server))
        .collect();
    let make = Maker { input };
    type Part = fn(&Maker, &[User], &mut Vec<ZmqRow>);
    let parts: [(Group, Part); 4] = [
        (Group::Throughput, throughput_rows),
        (Group::Latency, latency_rows),
        (Group::Features, feature_rows),
        (Group::Pipeline, pipeline_rows),
    ];
    let mut out: Vec<ZmqRow> = Vec::new();
    for (group, part) in parts {
        if input.groups.is_empty() || input.groups.contains(&group) {
            let made = out.len();
            part(&make, &users, &mut out);
            tag(&mut out[made..], group);
        }
    }
    link_servers(&mut out, &input.users);
    out
}

/// Makes the rows of one package: ids with their parameters in one order, the package's settings.
struct Maker<'a> {
    input: &'a RowsInput<'a>,
}

impl Maker<'_> {
    fn sizes(&self) -> &Sizes {
        &self.input.sizes
    }

    fn row(
        &self,
        name: &str,
        who: &Who,
        mut params: Vec<Param>,
        scenario: Scenario,
        server: ServerDef,
        shape: Shape,
    ) -> ZmqRow {
        let mut id = BenchId::new(super::KIND, self.input.package, name);
        id.params.push(text("server", who.name));
        // Parameters in one order everywhere: pattern, transport, then the scenario's.
        let pattern_first = params.iter().position(|p| p.name == "pattern");
        if let Some(i) = pattern_first {
            id.params.push(params.remove(i));
        }
        id.params.push(text("transport", who.transport.as_str()));
        id.params.extend(params);
        ZmqRow {
            id,
            settings: self.input.settings.clone(),
            scenario,
            server,
            round: self.sizes().round,
            reference: None,
            shape,
            skip: None,
            group: None,
        }
    }
}

const BUILTIN_TCP: Who<'static> = Who { name: "builtin", transport: Transport::Tcp };

fn builtin(pattern: Pattern, transport: Transport, codec: Codec, curve: bool) -> ServerDef {
    ServerDef::Builtin { pattern, transport, codec, curve }
}

fn user_def(server: &UserServer) -> ServerDef {
    ServerDef::User(Box::new(server.clone()))
}

fn payload(bytes: u64) -> Param {
    number("payload", bytes as f64, Unit::Bytes)
}

/// Throughput by pattern, transport and payload, then by client count; the built-in server's rows
/// first, then each user server's.
fn throughput_rows(make: &Maker, users: &[User], out: &mut Vec<ZmqRow>) {
    let s = make.sizes();
    let clients = [Client::ReqRep, Client::Dealer(s.window), Client::Push];
    for transport in &s.transports {
        let who = Who { name: "builtin", transport: *transport };
        for client in clients {
            for &size in &s.payloads {
                let process = *transport != Transport::Inproc;
                out.push(make.row(
                    "throughput",
                    &who,
                    vec![text("pattern", client_name(client)), payload(size)],
                    Scenario::Throughput { client, payload: size as usize, codec: Codec::None, data: Data::Random },
                    builtin(builtin_pattern(client), *transport, Codec::None, false),
                    Shape::Throughput { codec: false, process },
                ));
            }
        }
    }
    for (who, pattern, server) in users {
        let mine: &[Client] = match pattern {
            ServerPattern::Pull => &[Client::Push],
            _ => &[Client::ReqRep, Client::Dealer(s.window)],
        };
        for &client in mine {
            for &size in &s.payloads {
                out.push(make.row(
                    "throughput",
                    who,
                    vec![text("pattern", client_name(client)), payload(size)],
                    Scenario::Throughput { client, payload: size as usize, codec: Codec::None, data: Data::Random },
                    user_def(server),
                    Shape::Throughput { codec: false, process: true },
                ));
            }
        }
    }
    let count = |n: u32| number("clients", n as f64, Unit::Count);
    let many = |n: u32| Scenario::Throughput {
        client: Client::Many(n),
        payload: 1024,
        codec: Codec::None,
        data: Data::Random,
    };
    for &n in &s.clients {
        out.push(make.row(
            "clients",
            &BUILTIN_TCP,
            vec![count(n), payload(1024)],
            many(n),
            builtin(Pattern::Rep, Transport::Tcp, Codec::None, false),
            Shape::Throughput { codec: false, process: true },
        ));
    }
    for (who, pattern, server) in users {
        if *pattern != ServerPattern::Pull {
            for &n in &s.clients {
                out.push(make.row(
                    "clients",
                    who,
                    vec![count(n), payload(1024)],
                    many(n),
                    user_def(server),
                    Shape::Throughput { codec: false, process: true },
                ));
            }
        }
    }
}

/// Open-loop latency by rate and by payload, and tail latency: against the built-in server, then
/// against each user server that answers (not a PULL).
fn latency_rows(make: &Maker, users: &[User], out: &mut Vec<ZmqRow>) {
    let s = make.sizes();
    let rate = |r: f64| number("rate", r, Unit::PerSecond);
    let by_rate = |who: &Who, server: &ServerDef, out: &mut Vec<ZmqRow>| {
        for &r in &s.rates {
            out.push(make.row(
                "latency",
                who,
                vec![payload(64), rate(r)],
                Scenario::Latency { rate: r, payload: 64, duration: s.duration },
                server.clone(),
                Shape::Latency,
            ));
        }
    };
    let by_payload = |who: &Who, server: &ServerDef, out: &mut Vec<ZmqRow>| {
        for &size in &s.latency_payloads {
            out.push(make.row(
                "latency-payload",
                who,
                vec![payload(size), rate(s.latency_rate)],
                Scenario::Latency { rate: s.latency_rate, payload: size as usize, duration: s.duration },
                server.clone(),
                Shape::Latency,
            ));
        }
    };
    let tail = |who: &Who, server: &ServerDef, out: &mut Vec<ZmqRow>| {
        out.push(make.row(
            "tail",
            who,
            vec![payload(64), number("requests", s.tail as f64, Unit::Count)],
            Scenario::Tail { requests: s.tail, payload: 64 },
            server.clone(),
            Shape::Tail,
        ));
    };
    let router = builtin(Pattern::Router, Transport::Tcp, Codec::None, false);
    let rep = builtin(Pattern::Rep, Transport::Tcp, Codec::None, false);
    let answering: Vec<&User> = users.iter().filter(|(_, p, _)| *p != ServerPattern::Pull).collect();
    by_rate(&BUILTIN_TCP, &router, out);
    for (who, _, server) in &answering {
        by_rate(who, &user_def(server), out);
    }
    by_payload(&BUILTIN_TCP, &router, out);
    for (who, _, server) in &answering {
        by_payload(who, &user_def(server), out);
    }
    tail(&BUILTIN_TCP, &rep, out);
    for (who, _, server) in &answering {
        tail(who, &user_def(server), out);
    }
}

/// Compression by codec and payload, with and without CURVE, and the handshake: the built-in
/// server's only (CURVE rows skipped, with the reason, where libzmq has no CURVE).
fn feature_rows(make: &Maker, _users: &[User], out: &mut Vec<ZmqRow>) {
    let s = make.sizes();
    let no_curve = &make.input.no_curve;
    let on_off = |curve: bool| text("curve", if curve { "on" } else { "off" });
    let curves: Vec<bool> = if s.curve { vec![false, true] } else { vec![false] };
    for &curve in &curves {
        for codec in &s.codecs {
            for size in MATRIX_PAYLOADS {
                let mut row = make.row(
                    "compression",
                    &BUILTIN_TCP,
                    vec![
                        text("pattern", "req-rep"),
                        payload(size),
                        text("codec", codec.as_str()),
                        on_off(curve),
                        text("data", s.data.as_str()),
                    ],
                    Scenario::Throughput {
                        client: Client::ReqRep,
                        payload: size as usize,
                        codec: *codec,
                        data: s.data,
                    },
                    builtin(Pattern::Rep, Transport::Tcp, *codec, curve),
                    Shape::Throughput { codec: *codec != Codec::None, process: true },
                );
                if curve {
                    row.skip = no_curve.clone();
                }
                out.push(row);
            }
        }
    }
    for &curve in &curves {
        let mut row = make.row(
            "handshake",
            &BUILTIN_TCP,
            vec![on_off(curve)],
            Scenario::Handshake { connections: s.handshakes },
            builtin(Pattern::Rep, Transport::Tcp, Codec::None, curve),
            Shape::Handshake,
        );
        if curve {
            row.skip = no_curve.clone();
        }
        out.push(row);
    }
}

/// PUSH/PULL pipelines of the built-in stages, by stage count.
fn pipeline_rows(make: &Maker, _users: &[User], out: &mut Vec<ZmqRow>) {
    for &stages in &make.sizes().stages {
        out.push(make.row(
            "pipeline",
            &BUILTIN_TCP,
            vec![number("stages", stages as f64, Unit::Count)],
            Scenario::Pipeline { stages },
            ServerDef::None,
            Shape::Pipeline,
        ));
    }
}

/// Links each user row to the row it is measured against, with the same parameters: the first
/// server's rows against the built-in server, every later server's against the first's (so two
/// servers run side by side, interleaved), else against the built-in one. Then the rows of a
/// request that sends no payload lose the payload parameter (it would not change what is sent)
/// and are kept once per scenario; rows whose replies are checked fail the gate on any error.
fn link_servers(rows: &mut Vec<ZmqRow>, users: &[UserRows]) {
    let strips = |name: &str| {
        users
            .iter()
            .any(|u| u.name == name && u.server.request.as_ref().is_some_and(|f| !f.contains(&RequestFrame::Payload)))
    };
    // A row's id as the rows of `server` have it.
    let id_for = |id: &BenchId, server: &str| {
        let mut id = id.clone();
        id.params[0] = text("server", server);
        if strips(server) {
            id.params.retain(|p| p.name != "payload");
        }
        id.render()
    };
    let ids: std::collections::BTreeSet<String> =
        rows.iter().map(|r| id_for(&r.id, &r.id.params[0].display())).collect();
    let first = users.first().map(|u| u.name.as_str());
    let mut seen = std::collections::BTreeSet::new();
    rows.retain_mut(|row| {
        let ServerDef::User(server) = &row.server else { return true };
        let own = row.id.params[0].display();
        let find = |server: &str| Some(id_for(&row.id, server)).filter(|id| ids.contains(id));
        let reference = first.filter(|f| *f != own).and_then(find).or_else(|| find("builtin"));
        let errors_gate = server.reply.is_some();
        row.reference = reference;
        if errors_gate {
            row.settings.limits.push(Limit { metric: "errors".into(), stat: Stat::Max, bound: Bound::Max, value: 0.0 });
        }
        if strips(&own) {
            row.id.params.retain(|p| p.name != "payload");
            return seen.insert(row.id.render());
        }
        true
    });
}

/// The transport of an endpoint the configuration accepted (`tcp://` or `ipc://`).
pub fn transport_of(endpoint: &str) -> Transport {
    if endpoint.starts_with("ipc://") {
        Transport::Ipc
    } else {
        Transport::Tcp
    }
}

/// Marks the rows just made with the scenario group they were made for.
fn tag(rows: &mut [ZmqRow], group: Group) {
    for row in rows {
        row.group = Some(group);
    }
}

#[cfg(test)]
#[path = "rows_tests.rs"]
pub(super) mod tests;
