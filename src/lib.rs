//! cargo-coldbench: how fast Rust programs start, and whether a change made it better or worse.
//!
//! The binary is a thin shell over [`main_entry`]; the stages (configuration, planning, building,
//! measuring, statistics, results) are modules that tests can drive without a process.

pub mod assemble;
pub mod budget;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod git;
pub mod host;
pub mod measure;
pub mod plan;
pub mod report;
pub mod results;
pub mod scheduler;
pub mod stats;
pub mod ui;
pub mod units;
pub mod workspace;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command, Format, RunArgs};
use crate::commands::run::{RunOptions, RunOutcome};
use crate::ui::Ui;

/// Exit status for an error (bad configuration, build failure, I/O).
pub const EXIT_ERROR: u8 = 1;

/// Runs the command line and returns the process exit status (DESIGN §2).
pub fn main_entry() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == measure::runner::RUNNER_ARG) {
        measure::process::kill_active_group_on_interrupt();
        // If coldbench itself dies, the runner must not go on (nor leave its child behind).
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        }
        let stdin = std::io::stdin().lock();
        let stdout = std::io::stdout().lock();
        return match measure::runner::serve(stdin, stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(EXIT_ERROR),
        };
    }
    // clap exits with 2 on usage errors and 0 for --help and --version.
    let Cli::Coldbench(args) = Cli::parse_from(args);
    let run = &args.run;
    // Ui::new sets the colour choice, which error messages follow too.
    let ui = Ui::new(run.display.color, run.display.quiet, run.display.verbose);
    let result = match args.command {
        Some(Command::Env) => env_command(run.format),
        // Only start benchmarks exist so far, so the default run and `start` are the same.
        Some(Command::Start) | None => run_command(run, &ui),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            ui::print_error(&err);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run_command(args: &RunArgs, ui: &Ui) -> Result<u8> {
    let opts = RunOptions {
        cargo: args.cargo.to_options(),
        overrides: plan::Overrides {
            runs: args.runs,
            warmup: args.warmup,
            timeout: args.timeout,
            bins: args.bins.clone(),
        },
        no_build: args.no_build,
        output_dir: args.output_dir.clone(),
        runner_exe: std::env::current_exe().context("could not find this executable (needed as the runner)")?,
    };
    let outcome = commands::run::run(&opts, ui)?;
    print_outcome(&outcome, args.format, ui)?;
    Ok(outcome.exit_code(args.fail_on))
}

fn print_outcome(outcome: &RunOutcome, format: Format, ui: &Ui) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &outcome.document)?;
            writeln!(stdout)?;
        }
        Format::Human => write!(stdout, "{}", report::console::render(&outcome.document))?,
    }
    stdout.flush()?;
    ui.status("Saved", outcome.saved.display());
    Ok(())
}

fn env_command(format: Format) -> Result<u8> {
    let facts = host::collect();
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &facts)?;
            writeln!(stdout)?;
        }
        Format::Human => write!(stdout, "{}", commands::env::render(&facts))?,
    }
    Ok(0)
}
