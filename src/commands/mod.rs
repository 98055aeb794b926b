//! One module per subcommand; each wires the stages together and measures or prints nothing itself
//! beyond handing its result to a report.

pub mod baseline;
pub mod bisect;
pub mod calibrate;
pub mod clean;
pub mod completions;
pub mod diff;
pub mod env;
pub mod history;
pub mod hook;
pub mod init;
pub mod options;
pub mod report;
pub mod run;
pub mod suite;
pub mod worker;

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::{ColdbenchArgs, Command, RunArgs};
use crate::results::{RunDocument, Store};
use crate::ui::Ui;

/// Runs the subcommand (or the default run) and returns the exit status.
pub fn dispatch(args: &ColdbenchArgs, ui: &Ui) -> Result<u8> {
    let run = &args.run;
    // Every runner this command starts, and every program it measures, runs on the CPUs chosen.
    if let Some(pin) = run.pin {
        crate::measure::process::pin::set(pin).map_err(crate::error::UserError::Invalid)?;
    }
    match &args.command {
        Some(Command::Env { check }) => env::env(run.format, *check, ui),
        Some(Command::Calibrate { time, detect, suite, scenario }) => {
            calibrate::command(*time, *detect, suite.as_deref().map(|s| (s, scenario.as_slice())), run, ui)
        }
        Some(Command::Clean { keep }) => clean::command(*keep, run, ui),
        Some(Command::History(history)) => history::command(history, run, ui),
        Some(Command::Bisect(bisect)) => bisect::command(bisect, run, ui),
        Some(Command::Report { result, output, template }) => {
            report::report(result.as_deref(), output.as_deref(), template.as_deref(), run, ui)
        }
        Some(Command::Init) => init::init(),
        Some(Command::Worker { language }) => worker::print(*language),
        Some(Command::Completions { shell }) => completions::completions(*shell),
        Some(Command::Diff { base, new }) => diff::command(base, new, run, ui),
        Some(Command::Baseline { action }) => baseline::baseline(action, run, ui),
        Some(Command::Hook { action }) => hook::command(action, run, ui),
        Some(Command::Kind(only)) => run::command(run, &[only.kind], ui),
        Some(Command::Suite { suite: which, scenario, list, config, scaling, tensor }) => {
            let suite_args = suite::SuiteArgs { scaling, tensor, config: config.as_deref() };
            suite::command(run, which, scenario, &suite_args, *list, ui)
        }
        None => run::command(run, &[], ui),
    }
}

/// Writes results to stdout. A reader that has gone away (`| head`) ends the output quietly, as
/// cargo and ripgrep do: the work is done and saved either way.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

/// Prints a document in the `--format` asked for, with the detail `-v` and `--top` ask for.
pub fn print_document(doc: &RunDocument, args: &RunArgs, ui: &Ui) -> Result<()> {
    let detail = crate::report::Detail::new(ui.verbose, args.top);
    write_stdout(crate::report::render(doc, args.format, None, detail)?.as_bytes())
}

/// The results folder of the workspace selected by the cargo options.
pub fn store_for(args: &RunArgs) -> Result<Store> {
    let ws = crate::discover::workspace::load(&args.cargo.to_options())?;
    Ok(Store::new(args.output_dir.clone().unwrap_or_else(|| ws.target_dir.join("coldbench"))))
}

/// Reads a result file, describing the metrics of files written before descriptors.
pub fn read_result(path: &Path) -> Result<RunDocument> {
    let mut doc = crate::results::read(path)?;
    crate::plan::old_results::upgrade(&mut doc, &crate::plan::Registry::builtin());
    Ok(doc)
}
