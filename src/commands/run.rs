//! `cargo coldbench`, `start` and `load`: a run (or a comparison), printed, saved and reported.

use anyhow::Result;

use super::options::run_options;
use crate::cli::RunArgs;
use crate::pipeline::{self, RunOptions};
use crate::ui::Ui;

/// A run (or a comparison), printed, saved and reported; returns the exit status.
pub fn command(args: &RunArgs, kinds: &[&'static str], ui: &Ui) -> Result<u8> {
    execute(&run_options(args, kinds)?, args, ui)
}

/// Runs (or compares) with these options, prints, saves and reports; returns the exit status.
pub fn execute(opts: &RunOptions, args: &RunArgs, ui: &Ui) -> Result<u8> {
    // Servers a suite starts run in process groups of their own: Ctrl-C must stop them too.
    crate::suites::server::stop_servers_on_interrupt();
    crate::build::interrupt::defer_interrupts();
    let opts = opts.clone();
    let outcome = match &args.compare {
        Some(reference) => pipeline::compare::compare(&opts, reference, &args.against, ui)?,
        None => pipeline::run(&opts, ui)?,
    };
    super::print_document(&outcome.document, args, ui)?;
    ui.status("Saved", outcome.saved.display());
    let [html, md] = crate::report::write_standard(&outcome.document, outcome.store.dir())?;
    ui.status("Reports", format!("{} and {}", html.display(), md.display()));
    if let Some(name) = &args.save_baseline {
        let path = outcome.store.save_baseline(name, &outcome.document)?;
        ui.status("Saved", format!("baseline `{name}` ({})", path.display()));
    }
    Ok(pipeline::exit_status(&outcome.document, args.fail_on))
}
