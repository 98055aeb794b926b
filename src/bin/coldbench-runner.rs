//! `coldbench-runner`: the process that spawns what `cargo coldbench` measures. It is its own
//! binary so that its code is small and packed together: its working set is the peak-RSS floor of
//! every measured start (docs/ARCHITECTURE.md, "The runner").

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == coldbench::measure::runner::RUNNER_ARG) {
        return ExitCode::from(coldbench::measure::runner::runner_main(&args[2..]));
    }
    eprintln!("error: coldbench-runner is started by `cargo coldbench`, not by hand");
    eprintln!("\nhelp: run `cargo coldbench --help`");
    ExitCode::from(coldbench::EXIT_ERROR)
}
