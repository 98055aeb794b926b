//! The suites: benchmark kinds that measure what crosses a process boundary (ZeroMQ, RPC) rather
//! than a process start. Each is a folder with one `impl Bench`; they share the long-running
//! processes ([`server`]) and the built-in workers ([`worker`]).

pub mod metric;
pub mod role;
pub mod rpc;
pub mod server;
pub mod tensor;
pub mod zmq;

/// What a user's server or worker runs: the program, its arguments, environment and folder.
#[derive(Debug, Clone, PartialEq)]
pub struct UserCommand {
    /// The program.
    pub program: crate::measure::process::core::Program,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment added.
    pub env: std::collections::BTreeMap<String, String>,
    /// Its package's folder.
    pub cwd: std::path::PathBuf,
}

impl UserCommand {
    /// The same command on the other side of a comparison, for a benchmark of `package`.
    pub fn rebind(&self, package: &str, other: &crate::measure::bench::SideMap) -> Result<UserCommand, String> {
        let side = other.package(package)?;
        Ok(UserCommand { program: self.program.rebind(side, other)?, cwd: side.dir.clone(), ..self.clone() })
    }
}

/// Operations a round makes with `payload` bytes each: `count`, fewer when the round would move
/// more than `round_bytes`, and never fewer than `at_least`.
pub fn per_round(count: u32, payload: u64, round_bytes: u64, at_least: u64) -> u32 {
    if payload == 0 {
        return count;
    }
    let fit = (round_bytes / payload).max(at_least);
    count.min(fit.min(u32::MAX as u64) as u32)
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
    /// Tensor: round trips per shape, device and mode (copy or shared memory).
    Transfer,
    /// Tensor: memory of workers holding the same tensor, copied or shared.
    Memory,
}

/// What a user's server or worker runs, in the package's folder.
pub fn user_command(
    package: &crate::measure::package::PackageContext,
    p: &crate::discover::config::ProgramConfig,
) -> Result<UserCommand, crate::error::UserError> {
    let (program, mut args) = package.program(&p.target, &p.key)?;
    args.extend(p.args.iter().cloned());
    Ok(UserCommand { program, args, env: p.env.clone(), cwd: package.member.dir().to_path_buf() })
}

impl Group {
    /// The groups of these names (`--scenario`); names of no group are left out.
    pub fn named(names: &[&str]) -> Vec<Group> {
        use clap::ValueEnum;
        Group::value_variants().iter().copied().filter(|g| names.contains(&g.as_str())).collect()
    }

    /// The group's name on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Group::Throughput => "throughput",
            Group::Latency => "latency",
            Group::Features => "features",
            Group::Pipeline => "pipeline",
            Group::Calls => "calls",
            Group::Patterns => "patterns",
            Group::Scaling => "scaling",
            Group::Transfer => "transfer",
            Group::Memory => "memory",
        }
    }
}
