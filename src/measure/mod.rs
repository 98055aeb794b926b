//! Measuring one run: a process start (`process`), the helper process that spawns it (`runner`),
//! the page cache (`cache`), facts observed outside the timed runs (`facts`, `elf`), the load
//! helper (`load_helper`), Python's import times (`python`), and the benchmarks built on them
//! (`bench`).

pub mod bench;
pub mod cache;
pub mod elf;
pub mod facts;
pub mod load_helper;
pub mod process;
pub mod python;
pub mod runner;
