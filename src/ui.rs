//! Terminal output: colour choice, cargo-style status lines, warnings, spinners and bars.
//!
//! Everything here writes to stderr; stdout is reserved for results (the table, or JSON).

use std::io::IsTerminal;
use std::time::Duration;

use console::{style, Term};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `--color`: when to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Resolves the choice from the flag, then `CARGO_TERM_COLOR`, then `NO_COLOR`.
    pub fn resolve(flag: Option<ColorChoice>) -> ColorChoice {
        if let Some(choice) = flag {
            return choice;
        }
        match std::env::var("CARGO_TERM_COLOR").ok().as_deref() {
            Some("always") => return ColorChoice::Always,
            Some("never") => return ColorChoice::Never,
            _ => {}
        }
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorChoice::Never;
        }
        ColorChoice::Auto
    }
}

/// How chatty to be, and whether to draw progress.
#[derive(Debug, Clone)]
pub struct Ui {
    /// `-q`: only results and errors.
    pub quiet: bool,
    /// `-v`: show cargo's output and details.
    pub verbose: bool,
    progress: bool,
}

impl Ui {
    /// Sets up colours for both streams and decides whether progress is drawn.
    pub fn new(color: Option<ColorChoice>, quiet: bool, verbose: bool) -> Ui {
        match ColorChoice::resolve(color) {
            ColorChoice::Always => {
                console::set_colors_enabled(true);
                console::set_colors_enabled_stderr(true);
            }
            ColorChoice::Never => {
                console::set_colors_enabled(false);
                console::set_colors_enabled_stderr(false);
            }
            ColorChoice::Auto => {}
        }
        let progress = !quiet && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Ui { quiet, verbose, progress }
    }

    /// Whether stderr gets colours (passed on to cargo).
    pub fn stderr_colored(&self) -> bool {
        console::colors_enabled_stderr()
    }

    /// A cargo-style status line: `   Measuring start/app/server`.
    pub fn status(&self, verb: &str, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{:>12} {message}", style(verb).green().bold().for_stderr());
        }
    }

    /// `warning: ...`
    pub fn warn(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{}: {message}", style("warning").yellow().bold().for_stderr());
        }
    }

    /// `note: ...`, shown with `-v` only.
    pub fn note(&self, message: impl std::fmt::Display) {
        if self.verbose && !self.quiet {
            eprintln!("{}: {message}", style("note").cyan().bold().for_stderr());
        }
    }

    /// A spinner on stderr (hidden when progress is off).
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        let pb = ProgressBar::with_draw_target(None, self.target());
        pb.set_style(ProgressStyle::with_template("{spinner:.green} {msg}").expect("valid template"));
        pb.set_message(message.into());
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    }

    /// A progress bar on stderr (hidden when progress is off).
    pub fn bar(&self, len: u64, prefix: impl Into<String>) -> ProgressBar {
        let pb = ProgressBar::with_draw_target(Some(len), self.target());
        pb.set_style(
            ProgressStyle::with_template("{prefix:>12.cyan.bold} [{bar:30.green/dim}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        pb.set_prefix(prefix.into());
        pb
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.progress {
            ProgressDrawTarget::term(Term::stderr(), 15)
        } else {
            ProgressDrawTarget::hidden()
        }
    }
}

/// Prints an error the way cargo does: `error: ...`, its causes, and a `help:` line.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("{}: {err}", style("error").red().bold().for_stderr());
    for cause in err.chain().skip(1) {
        eprintln!("  {} {cause}", style("caused by:").dim().for_stderr());
    }
    if let Some(help) = err.chain().find_map(|e| e.downcast_ref::<crate::error::UserError>()).and_then(|e| e.help()) {
        eprintln!("  {}: {help}", style("help").cyan().bold().for_stderr());
    }
}
