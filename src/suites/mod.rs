//! The suites: benchmark kinds that measure what crosses a process boundary (ZeroMQ, RPC) rather
//! than a process start. Each is a folder with one `impl Bench`; they share the long-running
//! processes ([`server`]) and the built-in workers ([`worker`]).

pub mod metric;
pub mod role;
pub mod rpc;
pub mod server;
pub mod tensor;
pub mod zmq;

use crate::measure::kind::ScenarioGroup;

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

/// A suite's scenario groups, an enum in the suite's folder whose names and descriptions are the
/// [`ScenarioGroup`]s its kind declares (`--scenario` takes them from the registry).
pub trait Scenarios: Copy + PartialEq + Sized + 'static {
    /// Every group, in report order.
    const ALL: &'static [Self];

    /// Its name and what it holds.
    fn group(self) -> ScenarioGroup;

    /// Its name on the command line.
    fn as_str(self) -> &'static str {
        self.group().name
    }

    /// The groups of these names (`--scenario`); names of no group of this suite are left out.
    fn named(names: &[&str]) -> Vec<Self> {
        Self::ALL.iter().copied().filter(|g| names.contains(&g.as_str())).collect()
    }
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
