//! The suites: benchmark kinds that measure what crosses a process boundary (ZeroMQ, RPC) rather
//! than a process start. Each is a folder with one `impl Bench`; they share the long-running
//! processes ([`server`]) and the built-in workers ([`worker`]).

pub mod rpc;
pub mod server;
pub mod worker;
pub mod zmq;

/// What a user's server or worker runs.
#[derive(Debug, Clone, PartialEq)]
pub enum UserProgram {
    /// A binary of the package (its fresh copy runs).
    Bin(crate::build::ArtifactRef),
    /// A program on PATH.
    Path(std::path::PathBuf),
}

impl UserProgram {
    /// The file to run (a built binary's fresh copy) and the one to name in results (what cargo
    /// built, or the program found).
    pub fn resolve(
        &self,
        staged: &crate::build::stage::Staged,
    ) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
        match self {
            UserProgram::Bin(a) => crate::measure::process::core::staged_file(staged, a),
            UserProgram::Path(p) => Ok((p.clone(), p.clone())),
        }
    }

    /// The same program on the other side of a comparison, and its working directory there.
    pub fn rebind(
        &mut self,
        cwd: &mut std::path::PathBuf,
        other: &crate::measure::bench::SideMap,
    ) -> Result<(), String> {
        match self {
            UserProgram::Bin(a) => {
                let side = other.package(&a.package)?;
                if !side.bins.contains(&a.target) {
                    return Err(format!("package `{}` has no binary `{}` {}", a.package, a.target, other.at));
                }
                *cwd = side.dir.clone();
            }
            UserProgram::Path(p) => {
                *p = other.reroot(p);
                *cwd = other.reroot(cwd);
            }
        }
        Ok(())
    }
}

/// The scenario groups `--scenario` picks from; each belongs to one suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Group {
    /// ZeroMQ: throughput by payload size (REQ/REP, DEALER/ROUTER, PUSH/PULL) and by client count.
    Throughput,
    /// ZeroMQ: latency under load (open loop), latency by payload size, tail latency.
    Latency,
    /// ZeroMQ: compression and CURVE.
    Features,
    /// ZeroMQ: chains of PUSH/PULL stages.
    Pipeline,
    /// RPC: each call through a worker against the same function in-process.
    Calls,
    /// RPC: nested call chains, a proxied singleton, calls to several workers at once.
    Patterns,
    /// RPC: memory and start-up time per worker count.
    Scaling,
}

impl Group {
    /// The group's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Throughput => "throughput",
            Group::Latency => "latency",
            Group::Features => "features",
            Group::Pipeline => "pipeline",
            Group::Calls => "calls",
            Group::Patterns => "patterns",
            Group::Scaling => "scaling",
        }
    }

    /// The suite (its result kind) the group belongs to.
    pub fn suite(self) -> &'static str {
        match self {
            Group::Throughput | Group::Latency | Group::Features | Group::Pipeline => zmq::KIND,
            Group::Calls | Group::Patterns | Group::Scaling => rpc::KIND,
        }
    }

    /// The group of a row, from its kind and name.
    pub fn of(kind: &str, name: &str) -> Group {
        match (kind, name) {
            (rpc::KIND, "call") => Group::Calls,
            (rpc::KIND, "workers") => Group::Scaling,
            (rpc::KIND, _) => Group::Patterns,
            (_, "throughput" | "clients") => Group::Throughput,
            (_, "latency" | "latency-payload" | "tail") => Group::Latency,
            (_, "compression" | "handshake") => Group::Features,
            _ => Group::Pipeline,
        }
    }
}
