//! The gate: the exit status a finished run earns (README "Exit status").

use super::FailOn;
use crate::analysis::verdict;
use crate::results::{BenchmarkResult, RunDocument, Status, Verdict};

/// The exit status (README "Exit status") for a document: 4 when a benchmark failed, 3 when the gate
/// failed, else 0 — on any candidate, when the document has several.
pub fn exit_status(document: &RunDocument, fail_on: FailOn) -> u8 {
    let benches = || document.candidates().flat_map(|(benches, _)| benches);
    if benches().any(|b| b.status == Status::Failed) {
        return crate::exit::BENCH_FAILED;
    }
    if fail_on == FailOn::Never {
        return crate::exit::OK;
    }
    if benches().any(BenchmarkResult::over_budget) {
        return crate::exit::GATE;
    }
    let worst = document.candidates().filter_map(|(_, c)| verdict::worst_gating(&c?.rows)).max();
    let gate = match fail_on {
        FailOn::Regression => matches!(worst, Some(Verdict::Failure)),
        FailOn::Warning => matches!(worst, Some(Verdict::Failure | Verdict::Warning)),
        FailOn::Budget | FailOn::Never => false,
    };
    if gate {
        crate::exit::GATE
    } else {
        crate::exit::OK
    }
}
