//! Starting processes the same way every time: the spec of a run and its record (`spec`), one
//! timed start (`launcher`, `spawn`, `wait`), the helper process that spawns them (`runner`) and the
//! runs it makes back to back (`batch`), the page
//! cache (`cache`), what a process maps and the loader reports (`maps`), the CPUs runs are pinned to (`pin`), what an ELF file says
//! (`elf`), the metrics every start yields (`usage`), instruction counts under callgrind
//! (`instructions`) and the profile of those runs (`profile`: callgrind's file read by
//! `callgrind`, symbols by `symbols`), and what the kinds that start processes share (`core`).

mod batch;
pub mod cache;
pub mod callgrind;
pub mod core;
pub mod elf;
pub mod instructions;
pub mod launcher;
pub mod maps;
pub mod pin;
pub mod profile;
pub mod runner;
mod spawn;
pub mod spec;
pub mod symbols;
pub mod usage;
mod wait;

pub use crate::results::Readiness;
pub use launcher::{stderr_tail, Launcher, FACTS_RUN_ENV};
pub use runner::{Runner, RunnerSlot};
pub use spec::{signal_name, Ending, ProcessSpec, RunRecord, Usage};
pub use wait::TERMINATION_GRACE;
