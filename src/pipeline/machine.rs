//! The machine, watched for a moment before measuring: what makes timings unsteady, and its fix.

use crate::host;
use crate::results::MachineState;
use crate::ui::Ui;

/// Watches the machine for a moment before measuring and warns of each thing that makes timings
/// unsteady, with its fix; none stops the run. The result's host facts keep what was seen.
pub(crate) fn check_machine(ui: &Ui) -> MachineState {
    let state = machine_state();
    warn_of(&state, ui);
    state
}

/// The machine watched for a moment, without warnings: for `history`, which warns once, not at
/// every commit.
pub(crate) fn machine_state() -> MachineState {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    host::check::check(&host::state::Source::from_env(), host::check::WINDOW, cores)
}

/// Prints one warning per problem of the machine, each with its fix.
pub fn warn_of(state: &MachineState, ui: &Ui) {
    for p in &state.problems {
        ui.warn(format!("{}\n  {}: {}", p.problem, console::style("help").cyan().bold().for_stderr(), p.fix));
    }
}
