//! cargo-coldbench: how fast Rust programs start, and whether a change made it better or worse.
//!
//! The binary is a thin shell over [`main_entry`]; the stages (configuration, planning, building,
//! measuring, statistics, comparison, results) are modules that tests can drive without a process.

pub mod artifacts;
pub mod assemble;
pub mod budget;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod comparison;
pub mod config;
pub mod error;
pub mod git;
pub mod host;
pub mod measure;
pub mod plan;
pub mod report;
pub mod results;
pub mod scheduler;
pub mod stage;
pub mod stats;
pub mod ui;
pub mod units;
pub mod workspace;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{BaselineAction, Cli, Command, Format, HookAction, RunArgs};
use crate::commands::run::RunOptions;
use crate::results::{RunDocument, Store};
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
    if args.get(1).is_some_and(|a| a == measure::load_helper::LOAD_HELPER_ARG) {
        return ExitCode::from(measure::load_helper::helper_main(&args[2..]));
    }
    // clap exits with 2 on usage errors and 0 for --help and --version.
    let Cli::Coldbench(args) = Cli::parse_from(args);
    let run = &args.run;
    // Ui::new sets the colour choice, which error messages follow too.
    let ui = Ui::new(run.display.color, run.display.quiet, run.display.verbose);
    let result = match &args.command {
        Some(Command::Env) => env_command(run.format),
        Some(Command::Clean { keep }) => clean_command(*keep, run, &ui),
        Some(Command::Report { result, output, template }) => {
            report_command(result.as_deref(), output.as_deref(), template.as_deref(), run, &ui)
        }
        Some(Command::Init) => init_command(),
        Some(Command::Completions { shell }) => completions_command(*shell),
        Some(Command::Diff { base, new }) => diff_command(base, new, run, &ui),
        Some(Command::Baseline { action }) => baseline_command(action, run, &ui),
        Some(Command::Hook { action }) => hook_command(action, run, &ui),
        Some(Command::Start) => run_command(run, &[results::Kind::Start], &ui),
        Some(Command::Load) => run_command(run, &[results::Kind::Load], &ui),
        None => run_command(run, &[], &ui),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            ui::print_error(&err);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run_options(args: &RunArgs, kinds: &[results::Kind]) -> Result<RunOptions> {
    if args.cache == Some(measure::cache::CacheMode::Drop) {
        measure::cache::check_drop_allowed().map_err(error::UserError::Invalid)?;
    }
    Ok(RunOptions {
        cargo: args.cargo.to_options(),
        overrides: plan::Overrides {
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
        },
        no_build: args.no_build,
        output_dir: args.output_dir.clone(),
        runner_exe: std::env::current_exe().context("could not find this executable (needed as the runner)")?,
        baseline: args.baseline.clone(),
        config_from: args.config_from,
    })
}

fn run_command(args: &RunArgs, kinds: &[results::Kind], ui: &Ui) -> Result<u8> {
    let opts = run_options(args, kinds)?;
    let outcome = match &args.compare {
        Some(reference) => commands::compare::compare(&opts, reference, args.against.as_deref(), ui)?,
        None => commands::run::run(&opts, ui)?,
    };
    print_document(&outcome.document, args.format, ui)?;
    ui.status("Saved", outcome.saved.display());
    let [html, md] = report::write_standard(&outcome.document, outcome.store.dir())?;
    ui.status("Reports", format!("{} and {}", html.display(), md.display()));
    if let Some(name) = &args.save_baseline {
        let path = outcome.store.save_baseline(name, &outcome.document)?;
        ui.status("Saved", format!("baseline `{name}` ({})", path.display()));
    }
    Ok(commands::run::exit_code(&outcome.document, args.fail_on))
}

fn print_document(doc: &RunDocument, format: Format, ui: &Ui) -> Result<()> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(doc)? + "\n",
        Format::Human => report::console::render_all(doc, ui.verbose),
        other => report::render(doc, other, None)?,
    };
    write_stdout(text.as_bytes())
}

/// Writes results to stdout. A reader that has gone away (`| head`) ends the output quietly, as
/// cargo and ripgrep do: the work is done and saved either way.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

fn diff_command(base: &std::path::Path, new: &std::path::Path, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let doc = commands::diff::diff(base, new, args.noise)?;
    print_document(&doc, args.format, ui)?;
    Ok(commands::run::exit_code(&doc, args.fail_on))
}

/// The results folder of the workspace selected by the cargo options.
fn store_for(args: &RunArgs) -> Result<Store> {
    let ws = workspace::load(&args.cargo.to_options())?;
    Ok(Store::new(args.output_dir.clone().unwrap_or_else(|| ws.target_dir.join("coldbench"))))
}

fn baseline_command(action: &BaselineAction, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let store = store_for(args)?;
    match action {
        BaselineAction::Save { name } => {
            let doc =
                results::read(&store.latest()).context("reading the newest result (run `cargo coldbench` first)")?;
            let path = store.save_baseline(name, &doc)?;
            ui.status("Saved", format!("baseline `{name}` ({})", path.display()));
        }
        BaselineAction::List => {
            let names: String = store.list_baselines()?.iter().map(|n| format!("{n}\n")).collect();
            write_stdout(names.as_bytes())?;
        }
        BaselineAction::Remove { name } => {
            store.remove_baseline(name)?;
            ui.status("Removed", format!("baseline `{name}`"));
        }
    }
    Ok(0)
}

fn hook_command(action: &HookAction, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let ws = workspace::load(&args.cargo.to_options())?;
    match action {
        HookAction::Install { force } => {
            let exe = std::env::current_exe().context("could not find this executable")?;
            match commands::hook::install(&ws.root_manifest, &exe, *force)? {
                commands::hook::Installed::Fresh(p) => ui.status("Installed", p.display()),
                commands::hook::Installed::Updated(p) => ui.status("Updated", p.display()),
                commands::hook::Installed::ReplacedWithBackup { hook, backup } => {
                    ui.status("Installed", format!("{} (the old hook is kept as {})", hook.display(), backup.display()))
                }
            }
        }
        HookAction::Uninstall => match commands::hook::uninstall(&ws.root_manifest)? {
            commands::hook::Uninstalled::NotInstalled => ui.status("Skipped", "no pre-push hook is installed"),
            commands::hook::Uninstalled::Removed(p) => ui.status("Removed", p.display()),
            commands::hook::Uninstalled::Restored(p) => {
                ui.status("Removed", format!("the coldbench hook; restored the earlier {}", p.display()))
            }
        },
    }
    Ok(0)
}

fn report_command(
    result: Option<&std::path::Path>,
    output: Option<&std::path::Path>,
    template: Option<&std::path::Path>,
    args: &RunArgs,
    ui: &Ui,
) -> Result<u8> {
    // A bad output path is reported before any work.
    if let Some(out) = output {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(error::UserError::Invalid(format!(
                "cannot write {}: the folder {} does not exist",
                out.display(),
                parent.display()
            ))
            .into());
        }
    }
    let path = match result {
        Some(p) => p.to_path_buf(),
        None => store_for(args)?.latest(),
    };
    let doc = results::read(&path)?;
    let format = if args.format == Format::Human && output.is_some() { Format::Html } else { args.format };
    let text = match format {
        Format::Human => report::console::render_all(&doc, ui.verbose),
        other => report::render(&doc, other, template)?,
    };
    match output {
        Some(out) => {
            results::write_atomic(out, text.as_bytes())?;
            ui.status("Wrote", out.display());
        }
        None => write_stdout(text.as_bytes())?,
    }
    Ok(0)
}

/// The commented example configuration printed by `cargo coldbench init`.
pub const INIT_TEMPLATE: &str = include_str!("../templates/init.toml");

fn init_command() -> Result<u8> {
    write_stdout(INIT_TEMPLATE.as_bytes())?;
    Ok(0)
}

fn completions_command(shell: clap_complete::Shell) -> Result<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    // Generated into memory: clap_complete panics on a write error of its own.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cargo", &mut script);
    write_stdout(&script)?;
    Ok(0)
}

fn env_command(format: Format) -> Result<u8> {
    let facts = host::collect();
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&facts)? + "\n",
        _ => commands::env::render(&facts),
    };
    write_stdout(text.as_bytes())?;
    Ok(0)
}

fn clean_command(keep: Option<usize>, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let store = store_for(args)?;
    if !store.dir().exists() {
        ui.status("Clean", format!("nothing to clean: {} does not exist", store.dir().display()));
        return Ok(0);
    }
    let lock = commands::run::lock_store(&store, ui)?;
    let cleaned = commands::clean::clean(&store, keep, &lock)?;
    ui.status("Removed", commands::clean::describe(&cleaned, store.dir()));
    Ok(0)
}
