//! The command line's run options, as the pipeline takes them.

use anyhow::{Context, Result};

use crate::cli::{ConfigFrom, Measure, RunArgs};
use crate::error::UserError;
use crate::measure::package::PlanOptions;
use crate::pipeline::RunOptions;

/// The run options of the command line, for the kinds asked for (all when empty).
pub fn run_options(args: &RunArgs, kinds: &[&'static str]) -> Result<RunOptions> {
    Ok(RunOptions {
        cargo: args.cargo.to_options(),
        plan_options: PlanOptions {
            runs: args.runs,
            warmup: args.warmup,
            timeout: args.timeout,
            bins: args.bins.clone(),
            noise: args.noise,
            quick: args.quick,
            lenient: false,
            libs: args.libs.clone(),
            kinds: kinds.to_vec(),
            cache: args.cache,
            scenarios: Vec::new(),
            kind_args: Default::default(),
            min_time: None,
            processes: args.processes,
            multiplicity: args.multiplicity.into(),
            precision: args.precision,
            // `profile` comes from the callgrind runs that count instructions.
            instructions: args.measure.iter().any(|m| matches!(m, Measure::Instructions | Measure::Profile)),
            profile: args.measure.contains(&Measure::Profile),
            top: args.top,
            max_time: args.max_time,
        },
        no_build: args.no_build,
        output_dir: args.output_dir.clone(),
        self_exe: std::env::current_exe()
            .context("could not find this executable (needed for the runner and the helpers)")?,
        baseline: args.baseline.clone(),
        config_from: args.config_from,
        config: None,
        registry: crate::plan::Registry::builtin(),
    })
}

/// The options of a plain run that mean nothing here.
pub(crate) fn refuse_run_options(args: &RunArgs, command: &str) -> Result<()> {
    let given = [
        (args.compare.is_some(), "--compare"),
        (!args.against.is_empty(), "--against"),
        (args.baseline.is_some(), "--baseline"),
        (args.save_baseline.is_some(), "--save-baseline"),
        (args.no_build, "--no-build"),
        (args.config_from != ConfigFrom::Candidate, "--config-from"),
    ];
    match given.iter().find(|(on, _)| *on) {
        Some((_, option)) => Err(UserError::Invalid(format!(
            "{option} cannot be used with `{command}`: every commit is compared with one anchor, built in its own \
             checkout, with today's benchmark definitions"
        ))
        .into()),
        None => Ok(()),
    }
}
