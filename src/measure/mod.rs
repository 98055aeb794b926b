//! Measuring: the seam every kind implements (`bench`), the order and number of runs
//! (`scheduler`), one benchmark measured on its sides (`session`) with the machine watched while
//! two sides run (`watch`), against several server processes per side (`replicated`), results
//! assembled from any kind (`assemble`), what the kinds that start processes share (`process`),
//! and the three kinds of process benchmark: `start`, `load` and `python`.

pub mod assemble;
pub mod bench;
pub mod kind;
pub mod load;
pub mod package;
pub mod policy;
pub mod process;
pub mod python;
pub mod references;
pub mod replicated;
pub mod scheduler;
pub mod session;
pub mod start;
pub mod watch;

pub use process::runner;
