//! What a benchmark kind is to the rest of the tool: its name, how the command line selects it,
//! how it reads its key of `[package.metadata.bench]` and how it makes benchmarks of a package.
//! Every kind implements [`Kind`] in its own folder; `plan::Registry` lists them, and nothing
//! else names one (docs/ARCHITECTURE.md, "Adding a kind").

use std::any::Any;

use super::bench::Bench;
use super::package::PackageContext;
use crate::discover::config::Site;
use crate::discover::workspace::Member;
use crate::error::UserError;
use crate::results::{HostFacts, MetricDesc, OrderedMap};

/// How a kind runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Each run is a process of its own (a start, a `dlopen`, a Python import).
    Process,
    /// Rows measured against long-lived servers or workers: a value of `suite NAME`, run against
    /// `--processes` fresh processes per side.
    Suite,
}

/// Which of the global target selectors (`--bin`, `--lib`) a kind answers; a kind sits out a
/// run given a selector it does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// `--bin` picks its benchmarks; it sits out a run given `--lib`.
    Bins,
    /// `--lib` picks its benchmarks; it sits out a run given `--bin`.
    Libs,
    /// Neither: it sits out a run given either.
    Neither,
}

/// A kind's configuration as its [`Kind::parse`] made it; only the same kind reads it back
/// ([`config_of`]).
pub type KindConfig = Box<dyn Any + Send + Sync>;

/// What a kind is, as data: its name, and how the command line and the plan treat it.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// The first part of its ids, its key of `[package.metadata.bench]`, the `kind` of its results
    /// and, for a suite, the name `suite NAME` takes.
    pub name: &'static str,
    /// How it runs.
    pub family: Family,
    /// Which target selector it answers.
    pub selector: Selector,
    /// What it measures, in a line: the help of its subcommand (`cargo coldbench start`), or of
    /// its value of `suite NAME`.
    pub about: &'static str,
    /// Whether `cargo coldbench NAME` runs only its benchmarks (a process kind with targets of
    /// its own to select).
    pub has_subcommand: bool,
    /// Whether `calibrate` (without `--suite`) measures its benchmarks' noise by time.
    pub calibrated_by_time: bool,
    /// Its scenario groups (`--scenario`), for a suite.
    pub groups: &'static [ScenarioGroup],
    /// The built-in servers and workers it starts as processes of this binary (`suites::role`).
    pub roles: &'static [Role],
}

/// A group of a suite's scenarios: its name for `--scenario`, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioGroup {
    /// The name on the command line (`throughput`).
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
}

/// A built-in server or worker a kind runs as a process of this binary:
/// `cargo-coldbench __coldbench-worker NAME ARGS...`.
#[derive(Debug, Clone, Copy)]
pub struct Role {
    /// The name after the hidden subcommand.
    pub name: &'static str,
    /// Runs it with the arguments after its name; an `Err` ends the process with the message and
    /// status 1.
    pub main: fn(&[String]) -> Result<(), String>,
}

impl KindInfo {
    /// A suite of these scenario groups: a value of `suite NAME`, answering no target selector.
    pub const fn suite(name: &'static str, about: &'static str, groups: &'static [ScenarioGroup]) -> KindInfo {
        KindInfo {
            name,
            family: Family::Suite,
            selector: Selector::Neither,
            about,
            has_subcommand: false,
            calibrated_by_time: false,
            groups,
            roles: &[],
        }
    }

    /// The same, with these built-in processes.
    pub const fn with_roles(self, roles: &'static [Role]) -> KindInfo {
        KindInfo { roles, ..self }
    }
}

/// A benchmark kind.
pub trait Kind: Sync + Send {
    /// What it is (see [`KindInfo`]).
    fn info(&self) -> &'static KindInfo;

    /// [`KindInfo::name`].
    fn name(&self) -> &'static str {
        self.info().name
    }

    /// [`KindInfo::family`].
    fn family(&self) -> Family {
        self.info().family
    }

    /// Its key of a package's table, checked for shape only (nothing looked up on the machine);
    /// errors name the key under `site.key`.
    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError>;

    /// Checks across the selected packages before anything is planned, each with its
    /// configuration of this kind when it has one (a start's `reference` to another package).
    fn check_workspace(&self, _packages: &[(&Member, Option<&KindConfig>)]) -> Result<(), UserError> {
        Ok(())
    }

    /// The benchmarks of one package; `config` is `None` when the package has no key of this
    /// kind (a start or load kind then plans the package's binaries or libraries).
    fn plan(&self, config: Option<&KindConfig>, package: &PackageContext) -> Result<Vec<Box<dyn Bench>>, UserError>;

    /// Adds what it knows of the machine to the facts every result carries (the tensor suite: the
    /// libtorch it was built with).
    fn host_facts(&self, _facts: &mut HostFacts) {}

    /// Its metric descriptors, for result files written before results carried them (the process
    /// kinds of the first releases); `None` for kinds that always wrote theirs.
    fn old_result_metrics(&self) -> Option<OrderedMap<MetricDesc>> {
        None
    }
}

/// A kind's configuration, read back by the kind that made it.
pub fn config_of<T: 'static>(config: Option<&KindConfig>) -> Option<&T> {
    config.map(|c| c.downcast_ref::<T>().expect("a kind reads only the configuration its own parse made"))
}
