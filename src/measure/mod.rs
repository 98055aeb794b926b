//! Measuring one run: a process start (`process`), the helper process that spawns it (`runner`),
//! and the start benchmark built on both (`start`).

pub mod process;
pub mod runner;
pub mod start;
