//! The command line (clap derive). Cargo runs `cargo-coldbench coldbench ...`, so the top level is
//! `cargo` with a `coldbench` subcommand; `cargo-coldbench coldbench ...` works the same way.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::pipeline::{ConfigFrom, FailOn};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::discover::workspace::CargoOptions;
use crate::measure::kind::Family;
use crate::plan::Registry;
use crate::ui::ColorChoice;
use crate::units::UserDuration;

pub use crate::report::Format;

/// `cargo` as seen by a cargo subcommand.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo_styles())]
pub enum Cli {
    /// Time the cold start of every binary in a workspace.
    #[command(name = "coldbench", version, about, long_about = None)]
    Coldbench(ColdbenchArgs),
}

/// `cargo coldbench [OPTIONS] [COMMAND]`.
#[derive(Debug, Args)]
pub struct ColdbenchArgs {
    /// What to run; without a command every benchmark kind runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options; they may stand before or after the subcommand.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// `start`, `load`: only one kind's benchmarks (the kinds that have a subcommand).
    #[command(flatten)]
    Kind(KindCommand),
    /// Run only the suites configured in [package.metadata.bench.zmq], [...rpc] and [...tensor].
    Suite {
        /// Which suite: `zmq`, `rpc`, `tensor`, or `all` of them.
        #[arg(value_parser = suite_names())]
        suite: String,
        /// Only this group of scenarios (may repeat): zmq has throughput, latency, features,
        /// pipeline; rpc has calls, patterns, scaling; tensor has transfer, memory.
        #[arg(long, value_parser = scenario_names(), value_name = "GROUP")]
        scenario: Vec<String>,
        /// List the scenarios and their rows without running them.
        #[arg(long)]
        list: bool,
        /// Run from this configuration file instead of a workspace: what [package.metadata.bench]
        /// holds, at the top level ([tensor], [zmq], [rpc], runs, ...). Needs no cargo: a copied
        /// binary benchmarks a machine without a Rust toolchain.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// rpc's options: its scaling rows.
        #[command(flatten)]
        scaling: crate::suites::rpc::rows::ScalingArgs,
        /// tensor's options: its modes, devices and sizes.
        #[command(flatten)]
        tensor: crate::suites::tensor::rows::TensorArgs,
    },
    /// Compare saved result files with a baseline file (not interleaved: they were measured at
    /// different times).
    Diff {
        /// The baseline result file.
        base: PathBuf,
        /// The candidate result file; several are several candidates against BASE, one table (the
        /// exit status gates on any).
        #[arg(required = true, num_args = 1..)]
        new: Vec<PathBuf>,
    },
    /// Manage saved baselines (target/coldbench/baselines/).
    Baseline {
        /// What to do.
        #[command(subcommand)]
        action: BaselineAction,
    },
    /// Install or remove the git pre-push hook that blocks pushes that regress.
    Hook {
        /// What to do.
        #[command(subcommand)]
        action: HookAction,
    },
    /// Render a saved result (default: latest.json) as Markdown, HTML, JSON or an export.
    Report {
        /// The result file [default: <output-dir>/latest.json].
        result: Option<PathBuf>,
        /// Write to this file instead of stdout (its folder must exist).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Render HTML with this template instead of the built-in one.
        #[arg(long, value_name = "FILE")]
        template: Option<PathBuf>,
    },
    /// Print a commented [package.metadata.bench] example with every key.
    Init,
    /// Print the RPC suite's worker in another language, to save and add your methods to
    /// (`python`: stdio with the standard library, ipc and tcp with pyzmq).
    Worker {
        /// The language.
        #[arg(value_enum)]
        language: WorkerLanguage,
    },
    /// Print shell completions for `cargo coldbench`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Show what this machine offers: the facts recorded with every result.
    Env {
        /// Also watch the machine for a moment and judge whether it is fit to measure (governor,
        /// boost, ASLR, other busy processes, steal, swap, heat, battery); exit 1 when it is not.
        #[arg(long)]
        check: bool,
    },
    /// Measure how noisy each start and load benchmark (or, with --suite, each suite row) is
    /// here, and so how many runs a comparison needs to see a change (saved per host under
    /// calibration/; a suite row's noise also sets the noise band of its comparisons).
    Calibrate {
        /// How long to run each start or load benchmark as interleaved A/A pairs.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
        time: Duration,
        /// The change to find the run (or process) count for [default: the configured noise threshold].
        #[arg(long, value_name = "PCT", value_parser = parse_percent)]
        detect: Option<f64>,
        /// Calibrate the rows of this suite instead: each as A/A pairs of fresh processes
        /// (--processes of them per side [default: 12]), with the rounds a comparison makes.
        #[arg(long, value_parser = suite_names(), value_name = "SUITE")]
        suite: Option<String>,
        /// With --suite: only this group of scenarios (may repeat).
        #[arg(long, value_parser = scenario_names(), value_name = "GROUP", requires = "suite")]
        scenario: Vec<String>,
    },
    /// Remove the checkouts, builds and cached files of compared refs (results are kept).
    Clean {
        /// Keep the N most recently compared refs (and the shared build folder).
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
    },
    /// Measure every first-parent commit of a range against one anchor, interleaved, and mark where
    /// each benchmark's level changed.
    History(HistoryArgs),
    /// Find the first commit between a good and a bad ref that made a benchmark slower.
    Bisect(BisectArgs),
}

/// `cargo coldbench history [RANGE] ...`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The commits: `A..B` (A and the first-parent commits after it up to B), `A..` (up to HEAD),
    /// or a ref (the commits up to it) [default: the last 20 commits of HEAD]
    #[arg(value_name = "RANGE")]
    pub range: Option<String>,
    /// Only the newest N commits of the range
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub last: Option<u32>,
    /// Only every K-th commit, counting back from the newest (the oldest is kept)
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub every: Option<u32>,
    /// Measure every commit against this ref [default: the range's first commit]
    #[arg(long, value_name = "REF")]
    pub anchor: Option<String>,
    /// The metric whose series is drawn and searched for steps [default: each benchmark's
    /// headline, `wall` for a start]
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// Take the commits already measured against the anchor with the same definitions and
    /// settings from earlier runs (the default)
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Measure every commit again
    #[arg(long)]
    pub force: bool,
}

/// `cargo coldbench bisect --good REF --bad REF ...`.
#[derive(Debug, Args)]
pub struct BisectArgs {
    /// A commit where the benchmark was fast
    #[arg(long, value_name = "REF")]
    pub good: String,
    /// A later commit where it is slow (on the first-parent line of `good`'s descendants)
    #[arg(long, value_name = "REF")]
    pub bad: String,
    /// The benchmark to follow, by id (`start/app/server`; may repeat) [default: every gating
    /// benchmark that regressed between good and bad]
    #[arg(long = "bench", value_name = "ID")]
    pub benches: Vec<String>,
    /// The metric to follow [default: every gating metric that regressed]
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
}

/// What `--measure` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Measure {
    /// Instructions executed, counted by `valgrind --tool=callgrind`.
    Instructions,
    /// `instructions`, and the profile by function of the median callgrind run of each start
    /// (differential under `--compare`).
    Profile,
}

/// The value of `suite NAME` (and `calibrate --suite`) that runs every suite.
pub const ALL_SUITES: &str = "all";

/// The suites of the registry, and `all`, as `suite` takes them.
fn suite_names() -> clap::builder::PossibleValuesParser {
    let kinds = Registry::builtin();
    let suites = kinds.iter().filter(|k| k.family() == Family::Suite);
    let values = suites.map(|k| clap::builder::PossibleValue::new(k.name()).help(k.info().about));
    values.chain([clap::builder::PossibleValue::new(ALL_SUITES).help("Every suite")]).collect::<Vec<_>>().into()
}

/// The values of `--scenario`: every suite's scenario groups, from the registry.
fn scenario_names() -> clap::builder::PossibleValuesParser {
    let kinds = Registry::builtin();
    let values = kinds.scenario_groups().map(|g| clap::builder::PossibleValue::new(g.name).help(g.about));
    values.collect::<Vec<_>>().into()
}

/// A subcommand a kind adds (`start`, `load`): run only that kind's benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindCommand {
    /// The kind's name.
    pub kind: &'static str,
}

impl KindCommand {
    /// The kinds that have a subcommand.
    fn kinds() -> impl Iterator<Item = &'static dyn crate::measure::kind::Kind> {
        Registry::builtin().iter().filter(|k| k.info().has_subcommand).collect::<Vec<_>>().into_iter()
    }
}

impl clap::FromArgMatches for KindCommand {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let name = matches.subcommand_name().unwrap_or_default();
        KindCommand::kinds()
            .find(|k| k.name() == name)
            .map(|k| KindCommand { kind: k.name() })
            .ok_or_else(|| clap::Error::raw(clap::error::ErrorKind::InvalidSubcommand, format!("no kind `{name}`")))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = KindCommand::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for KindCommand {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        KindCommand::kinds().fold(cmd, |cmd, k| cmd.subcommand(clap::Command::new(k.name()).about(k.info().about)))
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        KindCommand::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        KindCommand::kinds().any(|k| k.name() == name)
    }
}

/// The languages `cargo coldbench worker` prints a worker in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkerLanguage {
    /// One file of Python 3 (`coldbench_worker.py`).
    Python,
}

/// `cargo coldbench baseline ...`.
#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Save the newest result (latest.json) as a baseline.
    Save {
        /// Baseline name (letters, digits, `-`, `_`, `.`).
        name: String,
    },
    /// List the saved baselines.
    List,
    /// Remove a saved baseline.
    Remove {
        /// Baseline name.
        name: String,
    },
}

/// `cargo coldbench hook ...`.
#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Write .git/hooks/pre-push (refuses to replace a hook it did not write, unless --force).
    Install {
        /// Replace an existing hook, keeping it as pre-push.coldbench-backup.
        #[arg(long)]
        force: bool,
    },
    /// Remove the pre-push hook if cargo-coldbench wrote it (and restore a backup).
    Uninstall,
}

/// `--multiplicity`: how a comparison's rows are adjusted for their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Multiplicity {
    /// Benjamini–Hochberg: of the rows flagged, at most 5% expected to be false.
    Bh,
    /// Holm: at most a 5% chance that any row is flagged falsely.
    Holm,
    /// Every row at its own level of 5%.
    None,
}

impl From<Multiplicity> for crate::results::Adjustment {
    fn from(m: Multiplicity) -> Self {
        match m {
            Multiplicity::Bh => crate::results::Adjustment::Bh,
            Multiplicity::Holm => crate::results::Adjustment::Holm,
            Multiplicity::None => crate::results::Adjustment::None,
        }
    }
}

/// Options of a benchmark run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Measured runs per benchmark [default: at least 10 runs and at least 3 s]
    #[arg(global = true, long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..), help_heading = "Measuring")]
    pub runs: Option<u32>,
    /// Warmup runs per benchmark, excluded from statistics [default: 1]
    #[arg(global = true, long, value_name = "N", help_heading = "Measuring")]
    pub warmup: Option<u32>,
    /// Per-run timeout; a run past it is killed and fails its benchmark [default: 10s]
    #[arg(global = true, long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Measuring")]
    pub timeout: Option<Duration>,
    /// What makes the exit status 3
    #[arg(global = true, long, value_enum, value_name = "WHEN", default_value = "budget", help_heading = "Measuring")]
    pub fail_on: FailOn,
    /// Compare with this git ref (branch, tag, sha, HEAD~3, origin/main), built in a checkout of its own
    #[arg(global = true, long, value_name = "REF", help_heading = "Comparing", conflicts_with = "baseline")]
    pub compare: Option<String>,
    /// With --compare: measure this ref as the candidate instead of the working tree (`.` is the
    /// working tree). Repeat it to measure several candidates against the baseline in one
    /// interleaved run, one table; the exit status then gates on any candidate
    #[arg(global = true, long, value_name = "REF", requires = "compare", help_heading = "Comparing")]
    pub against: Vec<String>,
    /// With --compare: whose benchmark definitions apply to both sides
    #[arg(
        global = true,
        long,
        value_enum,
        value_name = "SIDE",
        default_value = "candidate",
        help_heading = "Comparing"
    )]
    pub config_from: ConfigFrom,
    /// Compare with a saved baseline (not interleaved)
    #[arg(global = true, long, value_name = "NAME", help_heading = "Comparing")]
    pub baseline: Option<String>,
    /// Save this run as a baseline
    #[arg(global = true, long, value_name = "NAME", help_heading = "Comparing")]
    pub save_baseline: Option<String>,
    /// Changes within ±PCT count as no change even when significant [default: 2%]
    #[arg(global = true, long, value_name = "PCT", value_parser = parse_percent, help_heading = "Comparing")]
    pub noise: Option<f64>,
    /// Compare until the 95% interval of each ratio is within ±PCT (sequential, at checkpoints
    /// with alpha spending), or `--max-time` is up.
    #[arg(global = true, long, value_name = "PCT", value_parser = parse_percent, help_heading = "Comparing")]
    pub precision: Option<f64>,
    /// Also measure this (may repeat): `instructions` counts each start's instructions under
    /// valgrind's callgrind, a nearly deterministic metric compared up to `instructions-noise`;
    /// `profile` also keeps those runs' instructions by function (which functions changed, under
    /// `--compare`).
    #[arg(global = true, long, value_enum, value_name = "WHAT", help_heading = "Measuring")]
    pub measure: Vec<Measure>,
    /// With a precision (`--precision` or `precision` in the configuration): how long a
    /// benchmark may run at most [default: 5m].
    #[arg(global = true, long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Comparing")]
    pub max_time: Option<Duration>,
    /// Pin the runner and the measured programs to CPUs: one CPU for both, or the runner's and the
    /// program's (`0,1`)
    #[arg(global = true, long, value_name = "CPU[,CPU]", help_heading = "Measuring")]
    pub pin: Option<crate::measure::process::pin::Pin>,
    /// Fewer runs, for git hooks: 10 measured runs and 1 warmup (unless --runs/--warmup say otherwise)
    #[arg(global = true, long, help_heading = "Measuring")]
    pub quick: bool,
    /// Suite rows: fresh server or worker processes per side, each measured for its rounds
    /// (`iterations`, or --runs) [default: 6; --quick: 8, of fewer and shorter rounds]
    #[arg(global = true, long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=1000), help_heading = "Measuring")]
    pub processes: Option<u32>,
    /// How the p-values of a comparison's many rows are adjusted for their number: `bh`
    /// (Benjamini–Hochberg, the false discovery rate), `holm` (the family-wise error), each per
    /// direction of change, or `none`
    #[arg(global = true, long, value_enum, value_name = "METHOD", default_value = "bh", help_heading = "Comparing")]
    pub multiplicity: Multiplicity,
    /// Use the executables already built instead of running cargo build
    #[arg(global = true, long, help_heading = "Measuring")]
    pub no_build: bool,
    /// Benchmark only this binary (may repeat)
    #[arg(global = true, long = "bin", value_name = "NAME", help_heading = "Target selection")]
    pub bins: Vec<String>,
    /// Benchmark only the load of this cdylib/dylib target (may repeat)
    #[arg(global = true, long = "lib", value_name = "NAME", help_heading = "Target selection")]
    pub libs: Vec<String>,
    /// Page cache before each run: warm, cold (evict the executable and its libraries), drop (all; root) [default: warm]
    #[arg(global = true, long, value_enum, value_name = "MODE", help_heading = "Measuring")]
    pub cache: Option<crate::measure::process::cache::CacheMode>,
    /// Output format on stdout
    #[arg(global = true, long, value_enum, default_value = "human", help_heading = "Output")]
    pub format: Format,
    /// Folder for result files [default: <target-dir>/coldbench]
    #[arg(global = true, long, value_name = "DIR", help_heading = "Output")]
    pub output_dir: Option<PathBuf>,
    /// How many of the slowest imports each Python import row lists, and of the functions each
    /// profiled start lists (`--measure profile`) [default: 10].
    #[arg(global = true, long, value_name = "N", help_heading = "Output")]
    pub top: Option<usize>,
    /// Cargo's options.
    #[command(flatten)]
    pub cargo: CargoArgs,
    /// Verbosity and colour.
    #[command(flatten)]
    pub display: DisplayArgs,
}

/// Options forwarded to cargo.
#[derive(Debug, Args)]
pub struct CargoArgs {
    /// Path to Cargo.toml
    #[arg(global = true, long, value_name = "PATH", help_heading = "Manifest options")]
    pub manifest_path: Option<PathBuf>,
    /// Package to benchmark (may repeat)
    #[arg(global = true, short = 'p', long = "package", value_name = "SPEC", help_heading = "Package selection")]
    pub packages: Vec<String>,
    /// Benchmark every package in the workspace
    #[arg(global = true, long, help_heading = "Package selection")]
    pub workspace: bool,
    /// Exclude a package (with --workspace)
    #[arg(global = true, long, value_name = "SPEC", help_heading = "Package selection")]
    pub exclude: Vec<String>,
    /// Space or comma separated list of features to activate
    #[arg(global = true, short = 'F', long, value_name = "FEATURES", help_heading = "Feature selection")]
    pub features: Vec<String>,
    /// Activate all available features
    #[arg(global = true, long, help_heading = "Feature selection")]
    pub all_features: bool,
    /// Do not activate the `default` feature
    #[arg(global = true, long, help_heading = "Feature selection")]
    pub no_default_features: bool,
    /// Build with this profile
    #[arg(
        global = true,
        long,
        value_name = "PROFILE-NAME",
        default_value = "release",
        help_heading = "Compilation options"
    )]
    pub profile: String,
    /// Directory for all generated artifacts
    #[arg(global = true, long, value_name = "DIRECTORY", help_heading = "Compilation options")]
    pub target_dir: Option<PathBuf>,
    /// Assert that `Cargo.lock` will remain unchanged
    #[arg(global = true, long, help_heading = "Manifest options")]
    pub locked: bool,
    /// Run without accessing the network
    #[arg(global = true, long, help_heading = "Manifest options")]
    pub offline: bool,
    /// Equivalent to specifying both --locked and --offline
    #[arg(global = true, long, help_heading = "Manifest options")]
    pub frozen: bool,
}

impl CargoArgs {
    /// The options in the form the workspace module takes.
    pub fn to_options(&self) -> CargoOptions {
        let CargoArgs {
            manifest_path,
            packages,
            workspace,
            exclude,
            features,
            all_features,
            no_default_features,
            profile,
            target_dir,
            locked,
            offline,
            frozen,
        } = self;
        CargoOptions {
            manifest_path: manifest_path.clone(),
            packages: packages.clone(),
            workspace: *workspace,
            exclude: exclude.clone(),
            features: features.clone(),
            all_features: *all_features,
            no_default_features: *no_default_features,
            profile: profile.clone(),
            target_dir: target_dir.clone(),
            locked: *locked,
            offline: *offline,
            frozen: *frozen,
            lenient: false,
        }
    }
}

/// `-v`, `-q`, `--color`.
#[derive(Debug, Args)]
pub struct DisplayArgs {
    /// Show cargo's output and more detail
    #[arg(global = true, short, long, conflicts_with = "quiet", help_heading = "Display options")]
    pub verbose: bool,
    /// Print only results and errors
    #[arg(global = true, short, long, help_heading = "Display options")]
    pub quiet: bool,
    /// Coloring [default: auto; also CARGO_TERM_COLOR and NO_COLOR]
    #[arg(global = true, long, value_enum, value_name = "WHEN", help_heading = "Display options")]
    pub color: Option<ColorChoice>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d: UserDuration = s.parse()?;
    if d.0.is_zero() {
        return Err("the timeout must be above zero".into());
    }
    Ok(d.0)
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let text = if s.trim_end().ends_with('%') { s.to_string() } else { format!("{s}%") };
    text.parse::<crate::units::Percent>().map(|p| p.0)
}

fn clap_cargo_styles() -> clap::builder::Styles {
    use clap::builder::styling::{AnsiColor, Effects};
    clap::builder::Styles::styled()
        .header(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .usage(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .literal(AnsiColor::Cyan.on_default().effects(Effects::BOLD))
        .placeholder(AnsiColor::Cyan.on_default())
        .error(AnsiColor::Red.on_default().effects(Effects::BOLD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_as_a_cargo_subcommand() {
        let Cli::Coldbench(args) =
            Cli::try_parse_from(["cargo-coldbench", "coldbench", "--runs", "5", "start", "--bin", "a"]).unwrap();
        assert!(matches!(args.command, Some(Command::Kind(KindCommand { kind: "start" }))));
        assert_eq!(args.run.bins, ["a"]);
        assert_eq!(args.run.runs, Some(5));
        assert_eq!(args.run.cargo.profile, "release");
    }

    #[test]
    fn rejects_too_few_runs_and_bad_durations() {
        assert!(Cli::try_parse_from(["cargo", "coldbench", "--runs", "1"]).is_err());
        assert!(Cli::try_parse_from(["cargo", "coldbench", "--timeout", "soon"]).is_err());
    }
}
