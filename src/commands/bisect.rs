//! `cargo coldbench bisect --good REF --bad REF [--bench ID] [--metric NAME]`: reads the command
//! line, runs `pipeline::bisect` and prints what it found.

use anyhow::Result;

use super::options::{refuse_run_options, run_options};
use crate::cli::{BisectArgs, Format, RunArgs};
use crate::pipeline::anchored::Setup;
use crate::pipeline::bisect::{bisect, Outcome, Request};
use crate::ui::Ui;

/// `bisect`: returns the exit status (0 found, 1 could not, 2 usage).
pub fn command(args: &BisectArgs, run: &RunArgs, ui: &Ui) -> Result<u8> {
    crate::suites::server::stop_servers_on_interrupt();
    crate::build::interrupt::defer_interrupts();
    refuse_run_options(run, "bisect")?;
    let setup = Setup::new(run_options(run, &[])?, ui)?;
    let request = Request {
        good: args.good.clone(),
        bad: args.bad.clone(),
        benches: args.benches.clone(),
        metric: args.metric.clone(),
    };
    match bisect(&setup, &request, ui)? {
        Outcome::Searched(found) => {
            let text = match run.format {
                Format::Json => serde_json::to_string_pretty(&found.json())? + "\n",
                _ => found.human(),
            };
            super::write_stdout(text.as_bytes())?;
            Ok(if found.all_found() { 0 } else { crate::EXIT_ERROR })
        }
        Outcome::CouldNot { why, text } => {
            if !text.is_empty() {
                super::write_stdout(text.as_bytes())?;
            }
            crate::ui::print_error(&anyhow::anyhow!("could not find the commit: {why}"));
            Ok(crate::EXIT_ERROR)
        }
        Outcome::Usage(e) => {
            crate::ui::print_error(&e);
            Ok(crate::exit::USAGE)
        }
    }
}
